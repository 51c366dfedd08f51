package proxy

import (
	"github.com/shellac-lb/shellac/http1"
)

// Piped connections (route pipe = true, or an Upgrade answered 101): once
// the tunnel is up, bytes flow both ways unparsed, with the same
// backpressure as bodies, until either side closes. The client's idle
// timeout applies to the tunnel as a whole.

// startTunnel pipes the client to the backend once the request head went
// out (route pipe = true).
func (ex *exchange) startTunnel() {
	cl := ex.cl
	if !cl.flush() {
		return
	}
	cl.state = clientTunnel
	ex.phase = phaseTunnel
	ex.respStarted = true
	ex.closeAfter = true
	cl.armIdle()
	ex.pumpTunnelUp()
}

// startTunnelResponse relays a 101 response head and pipes both sides.
func (ex *exchange) startTunnelResponse(resp *http1.Response, n int) {
	cl := ex.cl
	l := cl.l
	be := ex.be
	be.stopTimer()
	ex.status = resp.Status
	ex.respStarted = true
	ex.closeAfter = true
	head := http1.AppendForwardResponse(l.out[:0], resp, &http1.ResponseOptions{ClientMinor: ex.minor, KeepUpgrade: true})
	l.out = head[:0]
	be.consume(n)
	if !cl.write(head) || !cl.flush() {
		return
	}
	cl.state = clientTunnel
	ex.phase = phaseTunnel
	ex.reqDone = true
	cl.armIdle()
	ex.pumpTunnelDown()
	if cl.state == clientTunnel {
		ex.pumpTunnelUp()
	}
}

// pumpTunnelUp forwards the client's bytes to the backend.
func (ex *exchange) pumpTunnelUp() {
	cl := ex.cl
	be := ex.be
	if be == nil || !be.open() {
		return
	}
	if buf := cl.input(); len(buf) > 0 {
		cl.armIdle()
		if be.write(buf) {
			ex.throttleUpload()
		}
		cl.consume(len(buf))
	}
	if cl.det != nil && cl.buffered() == 0 && be.open() {
		be.shutdownWrite() // the client half-closed: so does the tunnel
	}
}

// pumpTunnelDown forwards the backend's bytes to the client.
func (ex *exchange) pumpTunnelDown() {
	cl := ex.cl
	be := ex.be
	if be == nil {
		return
	}
	buf := be.input()
	if len(buf) == 0 {
		return
	}
	cl.armIdle()
	if cl.write(buf) {
		ex.throttleDownload()
	}
	be.consume(len(buf))
}
