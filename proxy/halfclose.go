package proxy

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// Half-closed clients. A client may shut down its sending side once its
// request is out (nc -N, some HTTP/1.0 tools and health checkers) and
// still read the response; HAProxy and nginx answer it. gnet cannot: on
// the EOF its read loop closes the connection, with no way for the
// handler to keep the write side. So when gnet reports that close with an
// EOF while a response is still owed, the client connection takes its
// socket over from gnet (detach): it duplicates the descriptor before gnet
// closes its own (gnet closes without shutting the socket down, so the
// duplicate keeps it open), keeps the input gnet had buffered (pipelined
// requests, the rest of a body), takes gnet's unsent output so none of it
// is lost or sent twice (takeOutbound, in gnetinternals.go), and from then
// on writes the socket itself. Nothing is read any more: the client sent
// everything it will send. Unsent output is retried by the loop's watch
// (every millisecond while there is some), the rare path's price for not
// registering the descriptor anywhere. Once the last response is out the
// socket is closed.

// detachedIO is the I/O state of a half-closed client connection.
type detachedIO struct {
	fd       int    // our duplicate of the socket
	in       []byte // input gnet had buffered at the EOF, not yet consumed
	out      []byte // output the socket did not take yet
	src, dst netip.AddrPort
}

// detach takes the socket of a client that half-closed over from gnet, if
// a response is still owed to it and all it sent was read; it reports
// whether it did. Called from gnet's OnClose for the connection, before
// gnet closes its descriptor.
func (cc *clientConn) detach() bool {
	ex := &cc.ex
	switch cc.state {
	case clientBusy:
		whole := ex.reqDone || ex.reqLeft == 0 || ex.discard && ex.reqLeft < 0 ||
			ex.reqLeft > 0 && int64(len(cc.input())) >= ex.reqLeft
		if !whole {
			return false // the rest of the body will never come
		}
	case clientTunnel:
		if ex.be == nil || !ex.be.open() {
			return false
		}
	default:
		return false
	}
	fd, err := unix.FcntlInt(uintptr(cc.c.Fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return false
	}
	d := &detachedIO{fd: fd}
	var ok bool
	if d.out, ok = takeOutbound(cc.c, nil); !ok {
		_ = unix.Close(fd)
		return false // gnet's output cannot be taken: it would be lost
	}
	d.in = append([]byte(nil), cc.input()...)
	if a := cc.c.RemoteAddr(); a != nil {
		d.src, _ = netip.ParseAddrPort(a.String())
	}
	if a := cc.c.LocalAddr(); a != nil {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			d.dst = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	}
	cc.det = d
	cc.paused = false
	cc.l.srv.halfCloses.Add(1)
	if len(d.out) > 0 {
		cc.l.addWatch(cc)
	}
	if cc.state == clientTunnel {
		cc.ex.tunnelClientDone()
	}
	return true
}

// detachedWrite writes p to a detached socket, or queues it behind what
// is queued already. A write error tears the connection down.
func (cc *clientConn) detachedWrite(p []byte) {
	d := cc.det
	if len(p) == 0 {
		return
	}
	if len(d.out) == 0 {
		n, err := unix.Write(d.fd, p)
		if n > 0 {
			p = p[n:]
		}
		if err != nil && err != unix.EAGAIN {
			cc.teardown()
			return
		}
		if len(p) == 0 {
			return
		}
	}
	d.out = append(d.out, p...)
	cc.l.addWatch(cc)
}

// detachedFlush writes what is queued for a detached socket, as far as it
// takes it; it reports false when the write failed and the connection was
// torn down.
func (cc *clientConn) detachedFlush() bool {
	d := cc.det
	for len(d.out) > 0 {
		n, err := unix.Write(d.fd, d.out)
		if n > 0 {
			d.out = d.out[:copy(d.out, d.out[n:])]
		}
		if err == unix.EAGAIN {
			return true
		}
		if err != nil {
			cc.teardown()
			return false
		}
	}
	return true
}

// detachedSend writes a then b to a detached socket; over TLS they are
// encrypted first (the record layer outlives the gnet connection).
func (cc *clientConn) detachedSend(a, b []byte) {
	if t := cc.tl; t != nil {
		out := t.seal(a, b)
		cc.detachedWrite(out)
		t.unseal(out)
		return
	}
	cc.detachedWrite(a)
	cc.detachedWrite(b)
}

// close closes the duplicate socket.
func (d *detachedIO) close() {
	if d.fd >= 0 {
		_ = unix.Close(d.fd)
		d.fd = -1
	}
	d.in, d.out = nil, nil
}

// tunnelClientDone forwards a tunnelled client's half-close: what it sent
// last goes to the backend, then (pumpTunnelUp) the backend's sending side
// is shut down, and the backend's answer keeps flowing to the client until
// the backend closes.
func (ex *exchange) tunnelClientDone() { ex.pumpTunnelUp() }
