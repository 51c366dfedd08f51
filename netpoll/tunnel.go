package netpoll

import (
	"github.com/shellac-lb/shellac/http1"
)

// Piped connections (route pipe = true, or an Upgrade answered 101): once
// the tunnel is up, bytes flow both ways unparsed, with the same
// backpressure as bodies, until either side closes. The client's idle
// timeout applies to the tunnel as a whole.

// startTunnel pipes the client to its backend connection after the
// request head went out (route pipe = true).
func (cc *clientConn) startTunnel() {
	bc := cc.ex.bc
	if !cc.flush() {
		return
	}
	cc.state = csTunnel
	bc.state = bsTunnel
	cc.ex.respStarted = true
	cc.closeAfter = true
	cc.touchTunnel()
	cc.pumpTunnel()
}

// startTunnelResponse forwards a 101 response head and pipes both sides.
func (bc *backendConn) startTunnelResponse(resp *http1.Response, n int) {
	l := bc.l
	cc := bc.cl
	ex := &cc.ex
	l.wheel.stop(&bc.tm)
	ex.status = resp.Status
	ex.respStarted = true
	cc.closeAfter = true
	head := http1.AppendForwardResponse(l.out[:0], resp, &http1.ResponseOptions{ClientMinor: ex.minor, KeepUpgrade: true})
	l.out = head[:0]
	discard(bc.c, n)
	if !cc.write(head) || !cc.flush() {
		return
	}
	cc.state = csTunnel
	bc.state = bsTunnel
	ex.reqDone = true
	cc.touchTunnel()
	bc.pumpTunnel()
	if cc.state == csTunnel {
		cc.pumpTunnel()
	}
}

func (cc *clientConn) touchTunnel() {
	cc.l.wheel.set(&cc.tm, cc.l.now+int64(cc.l.srv.opts.ClientIdleTimeout))
}

// pumpTunnel forwards the client's bytes to the backend.
func (cc *clientConn) pumpTunnel() {
	bc := cc.ex.bc
	if bc == nil || bc.c == nil || bc.closed {
		return
	}
	buf, _ := cc.c.Peek(-1)
	if len(buf) == 0 {
		return
	}
	cc.touchTunnel()
	ok := bc.write(buf)
	discard(cc.c, len(buf))
	if ok && bc.c.OutboundBuffered() > highWater {
		cc.pause()
		cc.l.addWatch(&cc.upWatch)
	}
}

// pumpTunnel forwards the backend's bytes to the client.
func (bc *backendConn) pumpTunnel() {
	cc := bc.cl
	if cc == nil {
		return
	}
	buf, _ := bc.c.Peek(-1)
	if len(buf) == 0 {
		return
	}
	cc.touchTunnel()
	ok := cc.write(buf)
	discard(bc.c, len(buf))
	if ok && cc.c.OutboundBuffered() > highWater {
		bc.pause()
		bc.l.addWatch(&bc.downWatch)
	}
}
