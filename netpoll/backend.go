package netpoll

import (
	"context"
	"errors"
	"net/netip"

	"github.com/panjf2000/gnet/v2"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/pool"
	"github.com/shellac-lb/shellac/topology"
)

// bstate is where a backend connection is in its life.
type bstate uint8

const (
	bsDialing   bstate = iota // connecting
	bsIdle                    // in the loop's pool
	bsAwaitHead               // request sent (or being sent); waiting for the response head
	bsBody                    // streaming the response body
	bsTunnel                  // piped
	bsClosed
)

// maxResponseHead bounds a backend's response head.
const maxResponseHead = 64 << 10

var respLimits = http1.Limits{MaxRequestLine: 8192, MaxHeaderBytes: maxResponseHead, MaxHeaders: 200}

// backendConn is one connection to a backend, on the loop of the client
// using it. It is in the loop's pool while idle.
type backendConn struct {
	c      gnet.Conn // nil while dialing
	l      *loop
	b      *directors.Backend
	cl     *clientConn // the client it serves; nil when idle or orphaned
	tm     timer
	state  bstate
	closed bool

	reused   bool // served a request before this one
	gotBytes bool // some byte of the current response arrived
	paused   bool

	framing   http1.Framing
	left      int64 // body bytes left (FramingLength)
	dechunk   bool
	keepAlive bool
	dec       http1.ChunkDecoder

	downWatch downstreamWatch
}

func newBackendConn(l *loop, b *directors.Backend) *backendConn {
	bc := &backendConn{l: l, b: b}
	bc.tm.h = bc
	bc.downWatch.bc = bc
	return bc
}

// dial connects bc off the loop; the connection is then enrolled on bc's
// loop (OnOpen → onOpen), or dialFailed runs there.
func (l *loop) dial(bc *backendConn) {
	ctx := l.srv.ctx
	go func() {
		nc, err := pool.Dial(ctx, bc.b)
		if err == nil {
			var ch <-chan gnet.RegisteredResult
			ch, err = l.el.Enroll(gnet.NewContext(context.Background(), bc), nc)
			if err != nil {
				_ = nc.Close()
			} else if r := <-ch; r.Err != nil {
				err = r.Err
			}
		}
		if err != nil {
			_ = l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
				l.touch()
				l.beginDispatch()
				bc.dialFailed(err)
				l.checkWatch()
				l.endDispatch(nil)
				return nil
			}))
		}
	}()
}

// onOpen runs on the loop when the dialled connection is enrolled.
func (bc *backendConn) onOpen(c gnet.Conn) {
	bc.c = c
	bc.l.touch()
	bc.b.ConnOpened()
	if bc.closed {
		// Given up while dialing (the client timed out or left).
		_ = c.Close()
		return
	}
	if bc.cl == nil {
		// The client left while we were dialing: keep the connection warm.
		bc.toIdle()
		return
	}
	if n := bc.b.Config().ProxyHeader; n > 0 {
		bc.writeProxyHeader(n)
	}
	bc.send()
}

func (bc *backendConn) writeProxyHeader(version int) {
	cc := bc.cl
	var src, dst netip.AddrPort
	if cc.ip.IsValid() {
		src = netip.AddrPortFrom(cc.ip, portOf(cc.c.RemoteAddr()))
		if la := cc.c.LocalAddr(); la != nil {
			if ap, err := netip.ParseAddrPort(la.String()); err == nil {
				dst = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			}
		}
	}
	out := http1.AppendProxyHeader(bc.l.out[:0], version, src, dst)
	_, _ = bc.c.Write(out)
	bc.l.out = out[:0]
}

// dialFailed reports a failed connect to the waiting client.
func (bc *backendConn) dialFailed(err error) {
	bc.state = bsClosed
	bc.closed = true
	bc.b.Stats.ConnectErrors.Add(1)
	cc := bc.cl
	bc.cl = nil
	if cc == nil || cc.ex.bc != bc {
		return
	}
	cc.ex.bc = nil
	status := 502
	if errors.Is(err, pool.ErrConnectTimeout) {
		status = 504
	}
	cc.tryFailed(topology.RetryConnect, status, false)
}

// attach gives bc to cc's current exchange.
func (bc *backendConn) attach(cc *clientConn) {
	bc.cl = cc
	cc.ex.bc = bc
	bc.gotBytes = false
	bc.state = bsAwaitHead
	bc.framing = http1.FramingNone
}

// send writes the request head, then whatever body is buffered.
func (bc *backendConn) send() {
	cc := bc.cl
	ex := &cc.ex
	bc.b.Stats.BytesOut.Add(uint64(len(ex.head.B)))
	if !bc.write(ex.head.B) {
		return
	}
	ex.headSent = true
	if ex.pipe {
		ex.reqDone = true
		cc.startTunnel()
		return
	}
	if ex.reqLeft == 0 {
		ex.reqDone = true
		bc.requestSent()
		return
	}
	cc.pumpBody()
}

// requestSent arms the first-byte timeout once the whole request is out.
func (bc *backendConn) requestSent() {
	if bc.state == bsAwaitHead {
		d := bc.b.Config().FirstByteTimeout
		if d > 0 {
			bc.l.wheel.set(&bc.tm, bc.l.now+int64(d))
		}
	}
}

// write sends p to the backend and reports whether bc is still usable.
func (bc *backendConn) write(p []byte) bool {
	if bc.closed {
		return false
	}
	_, _ = bc.c.Write(p)
	if bc.paused && !bc.closed {
		// gnet re-arms read interest when it starts buffering output.
		bc.pause()
	}
	return !bc.closed
}

func (bc *backendConn) pause() {
	bc.paused = true
	_ = pauseRead(bc.l.epfd, bc.c.Fd(), bc.c.OutboundBuffered() > 0)
}

func (bc *backendConn) resume() {
	if bc.paused && !bc.closed {
		bc.paused = false
		_ = resumeRead(bc.l.epfd, bc.c.Fd(), bc.c.OutboundBuffered() > 0)
	}
}

// onData handles readable bytes from the backend.
func (bc *backendConn) onData() {
	switch bc.state {
	case bsAwaitHead:
		bc.readHead()
	case bsBody:
		bc.pumpResponse(nil)
	case bsTunnel:
		bc.pumpTunnel()
	case bsIdle:
		// A backend must not talk on an idle connection.
		bc.closeIdle()
	default:
		discard(bc.c, discardAll)
	}
}

// readHead parses the response head (after any 1xx) and starts forwarding.
func (bc *backendConn) readHead() {
	l := bc.l
	for bc.state == bsAwaitHead {
		cc := bc.cl
		buf, _ := bc.c.Peek(-1)
		if len(buf) == 0 {
			return
		}
		bc.gotBytes = true
		resp := &l.resp
		n, err := resp.Parse(buf, &respLimits)
		if err == http1.ErrNeedMore {
			return
		}
		if err != nil {
			bc.abandon()
			cc.tryFailed(topology.RetryReset, 502, false)
			return
		}
		ex := &cc.ex
		if ex.firstByte == 0 {
			ex.firstByte = l.now
		}
		if resp.Status < 200 {
			if resp.Status == 101 {
				if !ex.upgrade && !ex.pipe {
					bc.abandon()
					cc.tryFailed(topology.RetryReset, 502, false)
					return
				}
				bc.startTunnelResponse(resp, n)
				return
			}
			// Interim responses go through (but never to HTTP/1.0 clients).
			if ex.minor > 0 {
				out := http1.AppendInterim(l.out[:0], resp)
				ok := cc.write(out)
				l.out = out[:0]
				if !ok {
					return
				}
			}
			discard(bc.c, n)
			continue
		}
		l.wheel.stop(&bc.tm)
		if resp.Status >= 500 {
			cc.blacklist(topology.Retry5xx, bc.b)
		}
		if resp.Status >= 500 && cc.canRetry(topology.Retry5xx) {
			// Retry only if another backend is there; else forward the 5xx.
			if next := cc.pickRetry(bc.b); next != nil {
				bc.b.Stats.Responses[5].Add(1)
				bc.b.Stats.Retries.Add(1)
				bc.abandon()
				cc.endTry(true)
				cc.retryWith(next)
				return
			}
		}
		bc.startBody(resp, n)
		return
	}
}

// startBody forwards the response head and starts streaming the body.
func (bc *backendConn) startBody(resp *http1.Response, n int) {
	l := bc.l
	cc := bc.cl
	ex := &cc.ex
	s := l.srv
	bc.framing = resp.Framing(ex.isHead)
	bc.left = resp.ContentLength
	bc.keepAlive = resp.KeepAlive && bc.framing != http1.FramingClose
	bc.dechunk = bc.framing == http1.FramingChunked && ex.minor == 0
	bc.dec.Reset()
	closeClient := !ex.keepAlive || bc.framing == http1.FramingClose || bc.dechunk ||
		!ex.reqDone || s.draining.Load()
	cc.closeAfter = closeClient
	ex.status = resp.Status
	ex.respStarted = true
	if c := resp.Status / 100; c >= 1 && c <= 5 {
		bc.b.Stats.Responses[c].Add(1)
	}
	head := http1.AppendForwardResponse(l.out[:0], resp, &http1.ResponseOptions{
		Close:       closeClient,
		ClientMinor: ex.minor,
		Dechunk:     bc.dechunk,
	})
	l.out = head[:0]
	discard(bc.c, n)
	bc.state = bsBody
	if !closeClient && cc.pend == nil && cc.c.InboundBuffered() > 0 && bc.wholeBodyBuffered() {
		// More pipelined requests wait: batch their responses.
		cc.startBatch()
	}
	bc.pumpResponse(head)
}

// pumpResponse forwards buffered body bytes (after prefix, the response
// head, if any) to the client, pausing bc when the client falls behind.
func (bc *backendConn) pumpResponse(prefix []byte) {
	l := bc.l
	for bc.state == bsBody {
		cc := bc.cl
		buf, _ := bc.c.Peek(-1)
		n, done, ok, err := bc.forward(prefix, buf)
		started := len(prefix) == 0
		prefix = nil
		bc.b.Stats.BytesIn.Add(uint64(n))
		discard(bc.c, n)
		if err != nil {
			bc.abandon()
			if !started {
				// Nothing of the response went out yet.
				cc.ex.respStarted = false
				cc.tryFailed(topology.RetryReset, 502, false)
				return
			}
			cc.endTry(true)
			cc.abort()
			return
		}
		if !ok || bc.cl != cc {
			return
		}
		if done {
			bc.finish()
			return
		}
		if cc.pend != nil && !cc.flush() {
			return // a streamed body is never held back
		}
		if n < len(buf) {
			continue
		}
		l.hw.note(&l.hw.backendIn, len(buf))
		ob := cc.c.OutboundBuffered()
		l.hw.note(&l.hw.clientOut, ob)
		if ob > highWater {
			bc.pause()
			l.wheel.stop(&bc.tm)
			l.wheel.set(&cc.tm, l.now+int64(l.srv.opts.ClientIdleTimeout))
			l.addWatch(&bc.downWatch)
			return
		}
		if d := bc.b.Config().BetweenBytesTimeout; d > 0 {
			l.wheel.set(&bc.tm, l.now+int64(d))
		}
		return
	}
}

// wholeBodyBuffered reports whether the rest of the response body is
// already buffered (no body, or a Content-Length body that arrived whole).
func (bc *backendConn) wholeBodyBuffered() bool {
	switch bc.framing {
	case http1.FramingNone:
		return true
	case http1.FramingLength:
		return int64(bc.c.InboundBuffered()) >= bc.left
	}
	return false
}

// forward writes prefix and the part of buf that belongs to the response
// body to the client: n bytes of buf consumed, done when they end the
// body, ok while the client is still there. A framing error is returned
// before anything is written.
func (bc *backendConn) forward(prefix, buf []byte) (n int, done, ok bool, err error) {
	cc := bc.cl
	switch bc.framing {
	case http1.FramingNone:
		return 0, true, cc.write(prefix), nil
	case http1.FramingLength:
		n = len(buf)
		if int64(n) > bc.left {
			n = int(bc.left)
		}
		bc.left -= int64(n)
		return n, bc.left == 0, cc.writev(prefix, buf[:n]), nil
	case http1.FramingClose:
		return len(buf), false, cc.writev(prefix, buf), nil
	}
	if bc.dechunk {
		// HTTP/1.0 client: send only the payload.
		if len(prefix) > 0 && !cc.write(prefix) {
			return 0, false, false, nil
		}
		for n < len(buf) {
			k, data, fin, err := bc.dec.Decode(buf[n:])
			n += k
			if err != nil {
				// The head already went out: cut the response short.
				cc.abort()
				return n, false, false, nil
			}
			if len(data) > 0 && !cc.write(data) {
				return n, false, false, nil
			}
			if fin {
				return n, true, true, nil
			}
			if k == 0 {
				break
			}
		}
		return n, false, true, nil
	}
	for n < len(buf) {
		k, _, fin, err := bc.dec.Decode(buf[n:])
		n += k
		if err != nil {
			return n, false, true, err
		}
		if fin {
			done = true
			break
		}
		if k == 0 {
			break
		}
	}
	return n, done, cc.writev(prefix, buf[:n]), nil
}

// finish ends a complete response: bc goes back to the pool or closes,
// and the client moves on.
func (bc *backendConn) finish() {
	cc := bc.cl
	ex := &cc.ex
	l := bc.l
	l.wheel.stop(&bc.tm)
	cc.endTry(false)
	reusable := bc.keepAlive && ex.reqDone && bc.c.InboundBuffered() == 0 &&
		bc.b.Config().ProxyHeader == 0 && !bc.closed
	bc.cl = nil
	ex.bc = nil
	bc.reused = true
	if reusable {
		bc.toIdle()
	} else {
		bc.close()
	}
	cc.exchangeDone()
}

// toIdle puts bc in the loop's pool, or closes it when the pool is full.
func (bc *backendConn) toIdle() {
	bc.resume()
	bc.state = bsIdle
	bc.cl = nil
	if !bc.l.idle.Put(bc.b, bc, bc.l.now) {
		bc.close()
	}
}

// abandon drops bc mid-exchange: it is detached from its client and
// closed (its state is unknown).
func (bc *backendConn) abandon() {
	if cc := bc.cl; cc != nil && cc.ex.bc == bc {
		cc.ex.bc = nil
	}
	bc.cl = nil
	bc.close()
}

// close closes the connection.
func (bc *backendConn) close() {
	if bc.closed {
		return
	}
	bc.closed = true
	bc.state = bsClosed
	bc.l.wheel.stop(&bc.tm)
	bc.l.removeWatch(&bc.downWatch)
	if bc.c != nil {
		_ = bc.c.Close()
	}
}

// closeIdle closes an idle connection (expired, unexpected data, drain).
func (bc *backendConn) closeIdle() {
	if bc.state == bsIdle {
		bc.l.idle.Remove(bc.b, bc)
	}
	bc.close()
}

// clientGone is called when bc's client closes mid-exchange.
func (bc *backendConn) clientGone() {
	bc.cl = nil
	switch bc.state {
	case bsDialing:
		// onOpen pools the connection when it comes up.
	default:
		bc.close()
	}
}

// onTimeout handles bc's timer: first byte or between bytes.
func (bc *backendConn) onTimeout(now int64) {
	cc := bc.cl
	bc.b.Stats.Timeouts.Add(1)
	state := bc.state
	bc.abandon()
	if cc == nil {
		return
	}
	if state == bsAwaitHead && !cc.ex.respStarted {
		cc.tryFailed(topology.RetryTimeout, 504, false)
		return
	}
	cc.endTry(true)
	cc.abort()
}

// onClose runs when gnet closes the connection (by us or the peer).
func (bc *backendConn) onClose(error) {
	wasClosed := bc.closed
	state := bc.state
	bc.closed = true
	bc.state = bsClosed
	l := bc.l
	l.wheel.stop(&bc.tm)
	l.removeWatch(&bc.downWatch)
	if state == bsIdle {
		l.idle.Remove(bc.b, bc)
	}
	bc.b.ConnClosed()
	cc := bc.cl
	bc.cl = nil
	if cc == nil || wasClosed || cc.ex.bc != bc {
		return
	}
	cc.ex.bc = nil
	switch {
	case state == bsBody && bc.framing == http1.FramingClose:
		cc.endTry(false)
		cc.exchangeDone() // EOF ends a close-delimited body
	case state == bsTunnel:
		cc.endTry(false)
		cc.closeGracefully()
	case !cc.ex.respStarted:
		bc.b.Stats.Resets.Add(1)
		cc.tryFailed(topology.RetryReset, 502, bc.reused && !bc.gotBytes)
	default:
		cc.endTry(true)
		cc.abort()
	}
}

// downstreamWatch resumes a backend connection paused because its client
// had too much unsent response data.
type downstreamWatch struct{ bc *backendConn }

func (w *downstreamWatch) drained() bool {
	bc := w.bc
	cc := bc.cl
	if bc.closed || cc == nil || cc.state == csClosed {
		return true
	}
	if cc.c.OutboundBuffered() >= lowWater {
		return false
	}
	l := bc.l
	l.wheel.stop(&cc.tm)
	bc.resume()
	if d := bc.b.Config().BetweenBytesTimeout; d > 0 && bc.state == bsBody {
		l.wheel.set(&bc.tm, l.now+int64(d))
	}
	bc.onData()
	return true
}

func portOf(a interface{ String() string }) uint16 {
	if a == nil {
		return 0
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return 0
	}
	return ap.Port()
}
