package proxy

import (
	"errors"
	"io"
	"net"
	"net/netip"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"github.com/shellac-lb/shellac/http1"
)

// clientState is where a client connection is in its life.
type clientState uint8

const (
	clientHead   clientState = iota // waiting for a request head
	clientBusy                      // its exchange is serving a request
	clientTunnel                    // piped: bytes flow both ways unparsed
	clientLinger                    // last response sent; reading and dropping input until EOF
	clientClosed
)

// watchFor is why a connection's output is being watched.
type watchFor uint8

const (
	watchNone  watchFor = iota
	watchDrain          // until it falls below lowWater (its peer is paused meanwhile)
	watchFlush          // until it is empty, to close it (client only)
)

// clientConn is one accepted client connection: an I/O endpoint. It reads
// request heads and hands each to its exchange, which owns everything
// until the response is done; it reports to the exchange what happens to
// the connection (bytes in, output drained, timeout, close). It lives on
// one event loop and is touched only there.
type clientConn struct {
	c     gnet.Conn
	l     *loop
	tm    timer
	state clientState
	watch watchFor

	cnext, cprev *clientConn // loop's client list

	ip     netip.Addr
	ipText []byte
	// counted is the address counted against max_connections_per_ip.
	counted netip.Addr
	// proxyPending: a PROXY protocol header is expected first.
	proxyPending bool
	// headStart is when the first byte of the current head arrived.
	headStart int64
	paused    bool
	// quickClose: close without lingering once the output is flushed, if
	// nothing more came in (see linger).
	quickClose bool
	// written counts the bytes written to the connection, for the
	// exchanges' records.
	written int64
	// det, once the client half-closed with a response still owed, does
	// the connection's I/O instead of gnet (halfclose.go); nil before.
	det *detachedIO
	// tl is the TLS state of a connection accepted on a TLS listener
	// (tls.go); nil for cleartext.
	tl *tlsConn
	// tlsNext is the TLS listener of a connection whose PROXY protocol
	// header comes first, in cleartext: its handshake starts after it.
	tlsNext *tlsListener

	ex exchange

	// pend batches the responses to pipelined requests (see startBatch);
	// nil when nothing is held back.
	pend *bytebufferpool.ByteBuffer
	// pendQueued: the connection is in its loop's pendq.
	pendQueued bool
}

// maxBatch is the most response bytes held back for one client before
// they are written.
const maxBatch = 16 << 10

func newClientConn(l *loop, c gnet.Conn) *clientConn {
	cc := &clientConn{c: c, l: l, proxyPending: l.srv.opts.ProxyProtocol}
	cc.tm.h = cc
	cc.ex.cl = cc
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		cc.ip = a.AddrPort().Addr().Unmap()
		cc.ipText = cc.ip.AppendTo(nil)
	}
	c.SetContext(cc)
	l.clients.add(cc)
	cc.armIdle()
	return cc
}

// admit counts the connection against max_connections_per_ip for ip and
// reports whether it may stay.
func (cc *clientConn) admit(ip netip.Addr) bool {
	if !cc.l.srv.admitIP(ip) {
		return false
	}
	if cc.l.srv.opts.MaxConnectionsPerIP > 0 {
		cc.counted = ip
	}
	return true
}

// armIdle (re)starts the idle timeout: client_idle_timeout from now.
func (cc *clientConn) armIdle() {
	cc.l.wheel.set(&cc.tm, cc.l.now+int64(cc.l.srv.opts.ClientIdleTimeout))
}

// armHead starts the head timeout at the first byte of a request head.
func (cc *clientConn) armHead() {
	if cc.headStart == 0 {
		cc.headStart = cc.l.now
		cc.l.wheel.set(&cc.tm, cc.l.now+int64(cc.l.srv.opts.ClientHeaderTimeout))
	}
}

// stopTimer disarms the connection's timeout.
func (cc *clientConn) stopTimer() { cc.l.wheel.stop(&cc.tm) }

// onReadable handles readable bytes.
func (cc *clientConn) onReadable() {
	if t := cc.tl; t != nil {
		if t.hs != nil {
			cc.feedHandshake()
			return
		}
		t.fill()
		if t.failed() {
			cc.closeNow()
			return
		}
	}
	switch cc.state {
	case clientHead:
		cc.serveHeads()
	case clientBusy:
		cc.ex.clientReadable()
	case clientTunnel:
		cc.ex.pumpTunnelUp()
	default:
		cc.consume(discardAll)
	}
}

// The connection's I/O primitives. Everything else in this file and in the
// exchange goes through them, so that a half-closed client (det) and,
// later, other transports slot in here.

// input returns the bytes buffered from the client, valid until the next
// consume or the end of the callback: do not retain, copy instead.
func (cc *clientConn) input() []byte {
	if cc.det != nil {
		return cc.det.in
	}
	if cc.tl != nil {
		return cc.tl.input()
	}
	buf, _ := cc.c.Peek(-1)
	return buf
}

// consume drops the first n buffered bytes (discardAll: every one).
func (cc *clientConn) consume(n int) {
	if d := cc.det; d != nil {
		if n == discardAll || n >= len(d.in) {
			d.in = d.in[:0]
		} else if n > 0 {
			d.in = d.in[n:]
		}
		return
	}
	if cc.tl != nil {
		cc.tl.consume(n)
		return
	}
	discard(cc.c, n)
}

// buffered returns how many input bytes are buffered.
func (cc *clientConn) buffered() int {
	if cc.det != nil {
		return len(cc.det.in)
	}
	if cc.tl != nil && cc.tl.c != nil {
		return cc.tl.buffered()
	}
	return cc.c.InboundBuffered()
}

// send writes p to the socket (what it cannot take now is kept and sent
// later, in order).
func (cc *clientConn) send(p []byte) {
	if cc.det != nil {
		cc.detachedSend(p, nil)
		return
	}
	if cc.tl != nil {
		cc.tl.send(p, nil)
		return
	}
	_, _ = cc.c.Write(p)
}

// sendv writes a then b.
func (cc *clientConn) sendv(a, b []byte) {
	if cc.det != nil {
		cc.detachedSend(a, b)
		return
	}
	if cc.tl != nil {
		cc.tl.send(a, b)
		return
	}
	iov := cc.l.iov[:]
	iov[0], iov[1] = a, b
	_, _ = cc.c.Writev(iov)
	iov[0], iov[1] = nil, nil
}

// outbound returns how many bytes wait to be sent to the client.
func (cc *clientConn) outbound() int {
	if cc.det != nil {
		return len(cc.det.out)
	}
	return cc.c.OutboundBuffered()
}

// closeNow closes the connection at once, through gnet's queued Close.
func (cc *clientConn) closeNow() {
	if cc.det != nil {
		cc.teardown()
		return
	}
	_ = cc.c.Close()
}

// serveHeads parses every complete request head buffered and serves it,
// one exchange at a time; it returns when it needs more bytes or an
// exchange is under way.
func (cc *clientConn) serveHeads() {
	l := cc.l
	for cc.state == clientHead {
		buf := cc.input()
		if len(buf) == 0 {
			if cc.det != nil {
				cc.closeGracefully(false) // a half-closed client sends nothing more
				return
			}
			cc.headStart = 0
			cc.armIdle()
			if cc.flush() {
				cc.resume()
			}
			return
		}
		if cc.proxyPending {
			if !cc.readProxyHeader(buf) {
				return
			}
			if tl := cc.tlsNext; tl != nil {
				cc.tlsNext = nil
				cc.headStart = 0
				cc.armIdle()
				if !cc.startTLS(tl) {
					cc.closeNow()
					return
				}
				cc.feedHandshake() // what came after the header
				return
			}
			continue
		}
		req := &l.req
		n, err := req.Parse(buf, &l.srv.opts.Limits)
		if err == http1.ErrNeedMore {
			if cc.det != nil {
				cc.closeGracefully(false) // the rest of the head will never come
				return
			}
			if cc.flush() {
				cc.armHead()
			}
			return
		}
		cc.headStart = 0
		cc.stopTimer()
		cc.state = clientBusy
		if err != nil {
			cc.ex.refuse(failure{kind: failBadRequest, cause: err})
			return
		}
		cc.ex.begin(req, n)
	}
}

// readProxyHeader consumes the PROXY protocol header; it reports false
// when it needs more bytes or refused the connection.
func (cc *clientConn) readProxyHeader(buf []byte) bool {
	n, src, _, err := http1.ParseProxyHeader(buf)
	if err == http1.ErrNeedMore {
		cc.armHead()
		return false
	}
	if err != nil {
		cc.state = clientBusy
		cc.ex.refuse(failure{kind: failBadRequest, cause: err})
		return false
	}
	cc.proxyPending = false
	if src.IsValid() {
		cc.ip = src.Addr().Unmap()
		cc.ipText = cc.ip.AppendTo(cc.ipText[:0])
	}
	if !cc.admit(cc.ip) {
		cc.closeNow()
		return false
	}
	cc.consume(n)
	return true
}

// next serves the next request once an exchange is done.
func (cc *clientConn) next() {
	cc.state = clientHead
	cc.resume()
	cc.serveHeads()
}

// startBatch holds back the client's responses in cc.pend instead of
// writing each at once: called when a complete response is about to go
// out and more pipelined input is buffered, so the next responses can
// share one write(2). Bytes are written, in order, when no complete
// request is buffered any more, when maxBatch bytes are held, before
// anything that waits (a dial, a streamed body, a tunnel, a close), and at
// the latest on the loop's next tick.
func (cc *clientConn) startBatch() {
	if cc.pend == nil {
		cc.pend = bytebufferpool.Get()
		cc.pend.B = cc.pend.B[:0]
	}
	if !cc.pendQueued {
		cc.pendQueued = true
		cc.l.pendq = append(cc.l.pendq, cc)
	}
}

// batching reports whether responses are being held back.
func (cc *clientConn) batching() bool { return cc.pend != nil }

// flush writes the held-back responses and reports whether the
// connection is still open.
func (cc *clientConn) flush() bool {
	pb := cc.pend
	if pb == nil {
		return cc.state != clientClosed
	}
	cc.pend = nil
	if cc.state != clientClosed && len(pb.B) > 0 {
		cc.send(pb.B)
	}
	bytebufferpool.Put(pb)
	return cc.state != clientClosed
}

// write sends p to the client and reports whether the connection is still
// open (a failed write closes it, running onClose before returning).
func (cc *clientConn) write(p []byte) bool {
	if cc.state == clientClosed {
		return false
	}
	cc.written += int64(len(p))
	if pb := cc.pend; pb != nil {
		pb.B = append(pb.B, p...)
		if len(pb.B) >= maxBatch {
			return cc.flush()
		}
		return true
	}
	cc.send(p)
	return cc.state != clientClosed
}

// writev sends a then b, in one system call where possible.
func (cc *clientConn) writev(a, b []byte) bool {
	if len(b) == 0 {
		return cc.write(a)
	}
	if len(a) == 0 {
		return cc.write(b)
	}
	if cc.state == clientClosed {
		return false
	}
	cc.written += int64(len(a) + len(b))
	if pb := cc.pend; pb != nil {
		pb.B = append(append(pb.B, a...), b...)
		if len(pb.B) >= maxBatch {
			return cc.flush()
		}
		return true
	}
	cc.sendv(a, b)
	return cc.state != clientClosed
}

// holdInput leaves bytes that cannot be consumed yet in the connection's
// buffer, and stops reading once too many are waiting.
func (cc *clientConn) holdInput() {
	in := cc.buffered()
	cc.l.hw.note(&cc.l.hw.clientIn, in)
	if in > maxInbound {
		cc.pause()
	}
}

func (cc *clientConn) pause() {
	if cc.det != nil {
		return // nothing is read any more
	}
	cc.paused = true
	_ = pauseRead(cc.l.epfd, cc.c.Fd(), cc.c.OutboundBuffered() > 0)
}

func (cc *clientConn) resume() {
	if cc.paused && cc.state != clientClosed && cc.det == nil {
		cc.paused = false
		_ = resumeRead(cc.l.epfd, cc.c.Fd(), cc.c.OutboundBuffered() > 0)
	}
}

// watchDrain reports to the exchange (clientDrained) once the client's
// output falls below lowWater.
func (cc *clientConn) watchDrain() {
	cc.watch = watchDrain
	cc.l.addWatch(cc)
}

// drained implements watcher.
func (cc *clientConn) drained() bool {
	if cc.state == clientClosed {
		return true
	}
	if cc.det != nil && !cc.detachedFlush() {
		return true // the write failed: torn down
	}
	switch cc.watch {
	case watchFlush:
		if cc.outbound() > 0 {
			return false
		}
		cc.watch = watchNone
		cc.linger()
	case watchDrain:
		if cc.outbound() >= lowWater {
			return false
		}
		cc.watch = watchNone
		cc.ex.clientDrained()
	}
	// A half-closed client's output is flushed by this watch alone.
	return cc.det == nil || cc.state == clientClosed || cc.outbound() == 0
}

// closeGracefully closes the connection once its output is flushed,
// lingering on input first so the peer does not get a reset that could
// destroy the response (RFC 9112 section 9.6). quick skips the lingering
// when the client asked to close and sent nothing more (see linger).
func (cc *clientConn) closeGracefully(quick bool) {
	if cc.state == clientClosed || cc.state == clientLinger {
		return
	}
	if !cc.flush() {
		return
	}
	cc.state = clientLinger
	cc.quickClose = quick
	cc.armIdle()
	if cc.outbound() > 0 {
		cc.watch = watchFlush
		cc.l.addWatch(cc)
		return
	}
	cc.linger()
}

// linger half-closes the connection once its output is flushed and drops
// input until EOF or lingerTime.
func (cc *clientConn) linger() {
	if cc.det != nil {
		if cc.tl != nil {
			// Best effort: the alert is tiny and the output was flushed.
			out := cc.tl.sealCloseNotify()
			_, _ = unix.Write(cc.det.fd, out)
			cc.tl.unseal(out)
		}
		cc.teardown() // it sent its FIN and everything was read: nothing to linger for
		return
	}
	if cc.tl != nil {
		cc.tl.closeNotify()
	}
	if cc.quickClose && cc.c.InboundBuffered() == 0 {
		// A client that asked to close, whose request was read whole and
		// that has sent nothing more, will send nothing that could turn
		// our close into a reset (nginx's lingering_close heuristic); the
		// half-close round trip would cost a syscall and an event.
		cc.l.closeConn(cc.c)
		return
	}
	_ = unix.Shutdown(cc.c.Fd(), unix.SHUT_WR)
	cc.resume()
	cc.consume(discardAll)
	cc.l.wheel.set(&cc.tm, cc.l.now+int64(lingerTime))
}

// abort closes the connection now: a response was cut short.
func (cc *clientConn) abort() {
	if cc.state == clientClosed {
		return
	}
	if !cc.flush() {
		return
	}
	cc.state = clientLinger // ignore input until gnet closes us
	cc.closeNow()
}

// closeIfIdle closes the connection when it waits for a new request with
// nothing buffered (server drain).
func (cc *clientConn) closeIfIdle() {
	if cc.state == clientHead && cc.headStart == 0 && cc.buffered() == 0 {
		// Half-close and drain rather than close: a request the client
		// sent just now, still in the kernel's buffer, would turn a close
		// into a reset; after a FIN the client sees its idle connection
		// closed, and an HTTP client retries the request on another.
		cc.closeGracefully(false)
	}
}

// onTimeout handles the connection's timer.
func (cc *clientConn) onTimeout(int64) {
	switch cc.state {
	case clientHead:
		if cc.headStart != 0 || cc.proxyPending && cc.buffered() > 0 {
			cc.state = clientBusy
			cc.ex.refuse(failure{kind: failClientTimeout})
			return
		}
		cc.closeNow()
	case clientBusy:
		cc.ex.clientTimedOut()
	default:
		cc.closeNow()
	}
}

// onClose is called by gnet when it closes the connection, for err. A
// client that half-closed while a response is still owed to it is kept
// (detach), the rest are torn down.
func (cc *clientConn) onClose(err error) {
	if cc.state == clientClosed || cc.det != nil {
		return
	}
	if errors.Is(err, io.EOF) && (cc.tl == nil || cc.tl.c != nil && !cc.tl.failed()) && cc.detach() {
		return
	}
	cc.teardown()
}

// teardown ends the connection: its exchange learns that the client is
// gone, and everything it holds is released.
func (cc *clientConn) teardown() {
	if cc.state == clientClosed {
		return
	}
	cc.state = clientClosed
	cc.l.srv.conns.Add(-1)
	if cc.counted.IsValid() {
		cc.l.srv.releaseIP(cc.counted)
		cc.counted = netip.Addr{}
	}
	if d := cc.det; d != nil {
		d.close()
	}
	if t := cc.tl; t != nil && t.hs != nil {
		t.hs.close()
	}
	l := cc.l
	l.clients.remove(cc)
	l.wheel.stop(&cc.tm)
	l.removeWatch(cc)
	cc.ex.clientGone()
	if cc.pend != nil {
		bytebufferpool.Put(cc.pend)
		cc.pend = nil
	}
}

var _ watcher = (*clientConn)(nil)
