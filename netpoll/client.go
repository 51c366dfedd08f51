package netpoll

import (
	"errors"
	"net"
	"net/netip"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/topology"
)

// cstate is where a client connection is in its life.
type cstate uint8

const (
	csHead     cstate = iota // waiting for a request head
	csExchange               // a request is being served
	csTunnel                 // piped: bytes flow both ways unparsed
	csLinger                 // last response sent; reading and dropping input until EOF
	csClosed
)

// clientConn is the state of one accepted client connection. It lives on
// one event loop and is touched only there.
type clientConn struct {
	c     gnet.Conn
	l     *loop
	tm    timer
	state cstate

	cnext, cprev *clientConn // loop's client list

	ip     netip.Addr
	ipText []byte
	// proxyPending: a PROXY protocol header is expected first.
	proxyPending bool
	// headStart is when the first byte of the current head arrived.
	headStart int64
	paused    bool
	// closeAfter: close the connection once the current response is out.
	closeAfter bool

	dreq directors.Request
	ex   exchange

	upWatch    upstreamWatch // paused until the backend takes our upload
	flushWatch flushWatch    // closing once our output is flushed
	rec        Record

	// pend batches the responses to pipelined requests (see startBatch);
	// nil when nothing is held back.
	pend *bytebufferpool.ByteBuffer
	// pendQueued: cc is in its loop's pendq.
	pendQueued bool
}

// maxBatch is the most response bytes held back for one client before
// they are written.
const maxBatch = 16 << 10

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

// flush writes the held-back responses and reports whether the
// connection is still open.
func (cc *clientConn) flush() bool {
	pb := cc.pend
	if pb == nil {
		return cc.state != csClosed
	}
	cc.pend = nil
	if cc.state != csClosed && len(pb.B) > 0 {
		_, _ = cc.c.Write(pb.B)
	}
	bytebufferpool.Put(pb)
	return cc.state != csClosed
}

// exchange is one request/response on a client connection.
type exchange struct {
	route *topology.Route
	b     *directors.Backend // backend of the current try
	bc    *backendConn
	head  *bytebufferpool.ByteBuffer // head sent to the backend, kept for retries

	minor     int
	keepAlive bool
	// clientClose: the client asked to close after this request
	// (Connection: close, or HTTP/1.0 without keep-alive).
	clientClose bool
	isHead      bool
	idempotent  bool
	upgrade     bool // Upgrade request: tunnel on 101
	pipe        bool // the route pipes the connection

	reqLeft     int64 // Content-Length bytes left to forward; -1 for chunked
	reqBody     int64 // body bytes seen, for max_body_bytes
	dec         http1.ChunkDecoder
	headSent    bool
	bodyStarted bool // some request-body byte went to a backend
	reqDone     bool // head and body fully sent
	discard     bool // skipping the request body (answered locally)

	respStarted bool // some response byte went to the client
	status      int
	bytesOut    int64
	tries       int
	tryOpen     bool // ex.b.Begin was called and End not yet
	freeRetry   bool // the retry on a stale pooled connection was used
	fresh       bool // the next dispatch must dial a new connection
	start       int64
	firstByte   int64
}

func newClientConn(l *loop, c gnet.Conn) *clientConn {
	cc := &clientConn{c: c, l: l, proxyPending: l.srv.opts.ProxyProtocol}
	cc.tm.h = cc
	cc.upWatch.cc = cc
	cc.flushWatch.cc = cc
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		cc.ip = ap.Addr().Unmap()
		cc.ipText = cc.ip.AppendTo(nil)
	}
	c.SetContext(cc)
	l.clients.add(cc)
	cc.armIdle()
	return cc
}

func (cc *clientConn) armIdle() {
	cc.l.wheel.set(&cc.tm, cc.l.now+int64(cc.l.srv.opts.ClientIdleTimeout))
}

// onData handles readable bytes.
func (cc *clientConn) onData() {
	switch cc.state {
	case csHead:
		cc.serveHeads()
	case csExchange:
		switch {
		case cc.ex.discard:
			cc.discardBody()
		case cc.ex.headSent && !cc.ex.reqDone && cc.ex.bc != nil && cc.ex.bc.c != nil:
			cc.pumpBody()
		default:
			cc.holdInput()
		}
	case csTunnel:
		cc.pumpTunnel()
	default:
		discard(cc.c, discardAll)
	}
}

// holdInput leaves bytes we cannot consume yet in the connection's buffer,
// and stops reading once too many are waiting.
func (cc *clientConn) holdInput() {
	in := cc.c.InboundBuffered()
	cc.l.hw.note(&cc.l.hw.clientIn, in)
	if in > maxInbound {
		cc.pause()
	}
}

func (cc *clientConn) pause() {
	cc.paused = true
	_ = pauseRead(cc.l.epfd, cc.c.Fd(), cc.c.OutboundBuffered() > 0)
}

func (cc *clientConn) resume() {
	if cc.paused && cc.state != csClosed {
		cc.paused = false
		_ = resumeRead(cc.l.epfd, cc.c.Fd(), cc.c.OutboundBuffered() > 0)
	}
}

// serveHeads parses and serves every complete request head buffered.
func (cc *clientConn) serveHeads() {
	l := cc.l
	for cc.state == csHead {
		buf, _ := cc.c.Peek(-1)
		if len(buf) == 0 {
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
			continue
		}
		req := &l.req
		n, err := req.Parse(buf, &l.srv.opts.Limits)
		if err == http1.ErrNeedMore {
			if !cc.flush() {
				return
			}
			if cc.headStart == 0 {
				cc.headStart = l.now
				l.wheel.set(&cc.tm, l.now+int64(l.srv.opts.ClientHeaderTimeout))
			}
			return
		}
		if err != nil {
			cc.reject(statusOf(err))
			return
		}
		cc.startRequest(req, buf, n)
	}
}

// readProxyHeader consumes the PROXY protocol header; it reports false
// when it needs more bytes or rejected the connection.
func (cc *clientConn) readProxyHeader(buf []byte) bool {
	n, src, _, err := http1.ParseProxyHeader(buf)
	if err == http1.ErrNeedMore {
		if cc.headStart == 0 {
			cc.headStart = cc.l.now
			cc.l.wheel.set(&cc.tm, cc.l.now+int64(cc.l.srv.opts.ClientHeaderTimeout))
		}
		return false
	}
	if err != nil {
		cc.reject(400)
		return false
	}
	cc.proxyPending = false
	if src.IsValid() {
		cc.ip = src.Addr().Unmap()
		cc.ipText = cc.ip.AppendTo(cc.ipText[:0])
	}
	discard(cc.c, n)
	return true
}

// statusOf maps a parse error to the status to answer.
func statusOf(err error) int {
	var he *http1.Error
	if errors.As(err, &he) && he.Status != 0 {
		return he.Status
	}
	return 400
}

// startRequest serves the request whose head is buf[:n], parsed into req.
// req's slices alias the connection buffer: all that the exchange needs
// later is copied before the head is discarded.
func (cc *clientConn) startRequest(req *http1.Request, buf []byte, n int) {
	l, s := cc.l, cc.l.srv
	ex := &cc.ex
	*ex = exchange{head: ex.head, start: l.now}
	cc.headStart = 0
	cc.closeAfter = false
	l.wheel.stop(&cc.tm)
	cc.state = csExchange

	ex.minor = req.Minor
	ex.keepAlive = req.KeepAlive && !s.draining.Load()
	ex.clientClose = !req.KeepAlive
	ex.isHead = req.MethodID == http1.MethodHEAD
	ex.idempotent = req.MethodID.Idempotent()
	ex.upgrade = req.Upgrade
	switch {
	case req.Chunked:
		ex.reqLeft = -1
	case req.ContentLength > 0:
		ex.reqLeft = req.ContentLength
	}
	if s.opts.MaxBodyBytes > 0 && req.ContentLength > s.opts.MaxBodyBytes {
		cc.reject(413)
		return
	}
	if req.Chunked && !validChunkedPrefix(buf[n:]) {
		// A malformed chunked body that arrived with its head (the usual
		// shape of a smuggling attempt) is refused before any backend
		// sees the request. Later bytes are checked as they stream.
		cc.reject(400)
		return
	}

	t := s.table.Load()
	rt := t.Match(req.Host, req.Path)
	cc.dreq.Reset()
	cc.dreq.Head = req
	cc.dreq.ClientIP = cc.ip
	cc.dreq.Now = l.now
	var b *directors.Backend
	if rt != nil {
		b = directors.Resolve(rt.Target, &cc.dreq)
	}
	ex.route = rt
	if s.onRequest.Load() != nil {
		cc.rec.begin(req, rt)
	}
	if b == nil {
		cc.dreq.Head = nil
		discard(cc.c, n)
		cc.answerLocal(503)
		return
	}
	if rsp := b.Responder(); rsp != nil {
		ex.b = b
		cc.respondSynthetic(b, rsp, req)
		cc.dreq.Head = nil
		discard(cc.c, n)
		cc.finishLocal()
		return
	}
	ex.pipe = rt.Pipe
	if ex.head == nil {
		ex.head = bytebufferpool.Get()
	}
	ex.head.B = http1.AppendForwardRequest(ex.head.B[:0], req, &http1.ForwardOptions{
		ClientAddr:  cc.ipText,
		XForwarded:  s.opts.XForwardedFor,
		DefaultHost: s2b(b.Config().HostHeader),
		KeepUpgrade: ex.upgrade || ex.pipe,
	})
	if rt.Blacklist > 0 {
		cc.dreq.Digest() // the object hash, while the head is at hand
	}
	cc.dreq.Head = nil
	discard(cc.c, n)
	cc.dispatch(b)
}

// dispatch sends the exchange's request to b over a pooled or new
// connection.
func (cc *clientConn) dispatch(b *directors.Backend) {
	l := cc.l
	ex := &cc.ex
	ex.b = b
	ex.tries++
	ex.tryOpen = true
	b.Begin()
	cc.rec.Backend = b.Name()
	if !ex.fresh {
		if bc, ok := l.idle.Get(b); ok {
			bc.attach(cc)
			bc.send()
			return
		}
	}
	ex.fresh = false
	if !cc.flush() {
		return // closed: onClose ended the try
	}
	bc := newBackendConn(l, b)
	bc.attach(cc)
	l.dial(bc)
	// Until the connection is up, body bytes wait in our buffer.
	cc.holdInput()
}

// endTry records the end of the current try on its backend.
func (cc *clientConn) endTry(failed bool) {
	ex := &cc.ex
	if ex.tryOpen {
		ex.tryOpen = false
		ex.b.End(failed)
	}
}

// write sends p to the client and reports whether the connection is still
// open (a failed write closes it, running onClose before returning).
func (cc *clientConn) write(p []byte) bool {
	if cc.state == csClosed {
		return false
	}
	cc.ex.bytesOut += int64(len(p))
	if pb := cc.pend; pb != nil {
		pb.B = append(pb.B, p...)
		if len(pb.B) >= maxBatch {
			return cc.flush()
		}
		return true
	}
	_, _ = cc.c.Write(p)
	return cc.state != csClosed
}

// writev sends a then b in one system call where possible.
func (cc *clientConn) writev(a, b []byte) bool {
	if len(b) == 0 {
		return cc.write(a)
	}
	if len(a) == 0 {
		return cc.write(b)
	}
	if cc.state == csClosed {
		return false
	}
	if pb := cc.pend; pb != nil {
		cc.ex.bytesOut += int64(len(a) + len(b))
		pb.B = append(append(pb.B, a...), b...)
		if len(pb.B) >= maxBatch {
			return cc.flush()
		}
		return true
	}
	iov := cc.l.iov[:]
	iov[0], iov[1] = a, b
	_, _ = cc.c.Writev(iov)
	iov[0], iov[1] = nil, nil
	cc.ex.bytesOut += int64(len(a) + len(b))
	return cc.state != csClosed
}

// reject answers a request we refuse (malformed, too large…) and closes
// the connection: its remaining input cannot be trusted.
func (cc *clientConn) reject(status int) {
	cc.ex.keepAlive = false
	cc.ex.clientClose = false // its input cannot be trusted: always linger
	cc.ex.status = status
	if cc.rec.Method == nil {
		cc.rec.Status = status
	}
	out := http1.AppendError(cc.l.out[:0], status, true)
	cc.write(out)
	cc.l.out = out[:0]
	cc.logRecord()
	cc.closeGracefully()
}

// answerLocal answers status ourselves (no backend is involved), keeping
// the connection when the request has no body to skip.
func (cc *clientConn) answerLocal(status int) {
	ex := &cc.ex
	ex.status = status
	// An HTTP/1.0 client keeps the connection only when the response says
	// keep-alive; error answers do not, so they close it.
	closeConn := !ex.keepAlive || ex.reqLeft != 0 || ex.pipe || ex.minor == 0
	out := http1.AppendError(cc.l.out[:0], status, closeConn)
	ex.respStarted = true
	cc.write(out)
	cc.l.out = out[:0]
	cc.closeAfter = closeConn
	cc.exchangeDone()
}

// finishLocal ends an exchange answered locally: skip its body if any.
func (cc *clientConn) finishLocal() {
	if cc.ex.reqLeft != 0 {
		cc.ex.discard = true
		cc.discardBody()
		return
	}
	cc.exchangeDone()
}

// exchangeDone ends the current exchange and serves the next request.
func (cc *clientConn) exchangeDone() {
	if cc.state == csClosed {
		return
	}
	ex := &cc.ex
	cc.logRecord()
	if ex.head != nil {
		bytebufferpool.Put(ex.head)
		ex.head = nil
	}
	if cc.closeAfter || !ex.reqDone && ex.reqLeft != 0 && !ex.discard || cc.l.srv.draining.Load() {
		cc.closeGracefully()
		return
	}
	cc.state = csHead
	cc.resume()
	cc.serveHeads()
}

// closeGracefully closes the connection once its output is flushed,
// lingering on input first so the peer does not get a reset that could
// destroy the response (RFC 9112 9.6).
func (cc *clientConn) closeGracefully() {
	if cc.state == csClosed || cc.state == csLinger {
		return
	}
	if !cc.flush() {
		return
	}
	cc.state = csLinger
	cc.l.wheel.set(&cc.tm, cc.l.now+int64(cc.l.srv.opts.ClientIdleTimeout))
	if cc.c.OutboundBuffered() > 0 {
		cc.l.addWatch(&cc.flushWatch)
		return
	}
	cc.linger()
}

// linger half-closes the connection and drops input until EOF or timeout.
// A client that asked to close, whose request was read whole and that has
// sent nothing more, is closed at once: it will send nothing that could
// turn our close into a reset (nginx's lingering_close heuristic), and the
// half-close round trip would cost a syscall and an event per connection.
func (cc *clientConn) linger() {
	if ex := &cc.ex; ex.clientClose && ex.reqLeft == 0 && cc.c.InboundBuffered() == 0 {
		cc.l.closeConn(cc.c)
		return
	}
	_ = unix.Shutdown(cc.c.Fd(), unix.SHUT_WR)
	cc.resume()
	discard(cc.c, discardAll)
	cc.l.wheel.set(&cc.tm, cc.l.now+int64(lingerTime))
}

// abort closes the connection now (a response was cut short).
func (cc *clientConn) abort() {
	if cc.state == csClosed {
		return
	}
	if bc := cc.ex.bc; bc != nil {
		bc.abandon()
	}
	cc.endTry(false)
	cc.closeAfter = true
	if !cc.flush() {
		return
	}
	cc.state = csLinger // ignore input until gnet closes us
	_ = cc.c.Close()
}

// closeIfIdle closes the connection when it waits for a new request with
// nothing buffered (server drain).
func (cc *clientConn) closeIfIdle() {
	if cc.state == csHead && cc.headStart == 0 && cc.c.InboundBuffered() == 0 {
		_ = cc.c.Close()
	}
}

// onTimeout handles the connection's timer.
func (cc *clientConn) onTimeout(now int64) {
	switch cc.state {
	case csHead:
		if cc.headStart != 0 || cc.proxyPending && cc.c.InboundBuffered() > 0 {
			cc.reject(408)
			return
		}
		_ = cc.c.Close()
	case csExchange:
		// The client stalled: it stopped sending its body, or stopped
		// reading our response.
		if !cc.ex.respStarted {
			if bc := cc.ex.bc; bc != nil {
				bc.abandon()
			}
			cc.endTry(false)
			cc.reject(408)
			return
		}
		cc.abort()
	default:
		_ = cc.c.Close()
	}
}

// onClose tears the connection down. Called by gnet.
func (cc *clientConn) onClose(error) {
	if cc.state == csClosed {
		return
	}
	cc.state = csClosed
	l := cc.l
	l.clients.remove(cc)
	l.wheel.stop(&cc.tm)
	l.removeWatch(&cc.upWatch)
	l.removeWatch(&cc.flushWatch)
	ex := &cc.ex
	if bc := ex.bc; bc != nil {
		ex.bc = nil
		bc.clientGone()
	}
	cc.endTry(false)
	if ex.head != nil {
		bytebufferpool.Put(ex.head)
		ex.head = nil
	}
	if cc.pend != nil {
		bytebufferpool.Put(cc.pend)
		cc.pend = nil
	}
}

// upstreamWatch resumes a client paused because its backend connection had
// too much unsent request data.
type upstreamWatch struct{ cc *clientConn }

func (w *upstreamWatch) drained() bool {
	cc := w.cc
	bc := cc.ex.bc
	if cc.state == csClosed || bc == nil || bc.c == nil || bc.closed {
		return true
	}
	if bc.c.OutboundBuffered() >= lowWater {
		return false
	}
	cc.resume()
	cc.onData()
	return true
}

// flushWatch closes a client once its output is flushed.
type flushWatch struct{ cc *clientConn }

func (w *flushWatch) drained() bool {
	cc := w.cc
	if cc.state == csClosed {
		return true
	}
	if cc.c.OutboundBuffered() > 0 {
		return false
	}
	cc.linger()
	return true
}

// validChunkedPrefix reports whether p is a valid start of a chunked body.
func validChunkedPrefix(p []byte) bool {
	var d http1.ChunkDecoder
	for len(p) > 0 {
		k, _, done, err := d.Decode(p)
		if err != nil {
			return false
		}
		if done || k == 0 {
			return true
		}
		p = p[k:]
	}
	return true
}
