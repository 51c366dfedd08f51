package proxy

import (
	"net/netip"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
)

// backendState is where a backend connection is in its life.
type backendState uint8

const (
	backendDialing backendState = iota // connecting (dial.go)
	backendIdle                        // in the loop's pool
	backendBusy                        // serving an exchange
	backendClosed
)

// backendConn is one connection to a backend, on the loop of the client
// using it: an I/O endpoint. While it serves an exchange it reports to it
// what happens (connected, bytes in, output drained, timeout, close); the
// exchange decides what that means. While idle it is in the loop's pool.
type backendConn struct {
	c     gnet.Conn   // nil while dialing
	tl    *backendTLS // TLS state of a TLS backend's connection; else nil
	l     *loop
	b     *directors.Backend
	ex    *exchange // the exchange it serves; nil when idle or orphaned
	tm    timer
	state backendState

	reused bool // served a request before this one
	paused bool
	watch  watchFor
	// finPending: shut the sending side down once the output is flushed.
	finPending bool
}

func newBackendConn(l *loop, b *directors.Backend) *backendConn {
	bc := &backendConn{l: l, b: b}
	bc.tm.h = bc
	if cfg := b.Config().TLS; cfg != nil {
		bc.tl = newBackendTLS(l, cfg)
	}
	return bc
}

// closed reports whether the connection is closed or failed to open.
func (bc *backendConn) closed() bool { return bc.state == backendClosed }

// open reports whether the connection is up and usable.
func (bc *backendConn) open() bool { return bc.c != nil && bc.state != backendClosed }

// onOpen runs on the loop when the dialled connection is enrolled.
func (bc *backendConn) onOpen(c gnet.Conn) {
	bc.c = c
	if bc.tl != nil {
		bc.tl.c = c // the loop drives the record layer from now on
		if bc.tl.resumed {
			bc.l.srv.tlsBackendResumed.Add(1)
		}
		bc.l.srv.tlsBackendHandshakes.Add(1)
	}
	bc.l.touch()
	bc.b.ConnOpened()
	switch {
	case bc.closed():
		// Given up while dialing (the client timed out or left).
		_ = c.Close()
	case bc.ex == nil:
		// The client left while we were dialing: keep the connection warm.
		bc.toIdle()
	default:
		bc.state = backendBusy
		bc.ex.backendReady(bc)
	}
}

// dialFailed runs on the loop when the connect failed.
func (bc *backendConn) dialFailed(err error) {
	bc.state = backendClosed
	ex := bc.ex
	bc.ex = nil
	if ex == nil || ex.be != bc {
		countFailure(bc.b, failConnect)
		return
	}
	ex.backendFailed(failure{kind: failConnect, cause: err})
}

// attach gives bc to the exchange ex.
func (bc *backendConn) attach(ex *exchange) {
	bc.ex = ex
	if bc.c != nil {
		bc.state = backendBusy
	}
}

// writeProxyHeader sends the PROXY protocol header for the client at src
// (its address as the client connection saw it) and dst.
func (bc *backendConn) writeProxyHeader(version int, src, dst netip.AddrPort) {
	out := http1.AppendProxyHeader(bc.l.out[:0], version, src, dst)
	_, _ = bc.c.Write(out)
	bc.l.out = out[:0]
}

// write sends p to the backend and reports whether bc is still usable (a
// failed write closes it, running onClose before returning).
func (bc *backendConn) write(p []byte) bool {
	if !bc.open() {
		return false
	}
	bc.b.Stats.BytesOut.Add(uint64(len(p)))
	if bc.tl != nil {
		bc.tl.send(p, nil)
	} else {
		_, _ = bc.c.Write(p)
	}
	if bc.paused && bc.open() {
		// gnet re-arms read interest when it starts buffering output.
		bc.pause()
	}
	return bc.open()
}

// input returns the bytes buffered from the backend, valid until the next
// consume or the end of the callback: do not retain, copy instead.
func (bc *backendConn) input() []byte {
	if bc.tl != nil {
		return bc.tl.input()
	}
	buf, _ := bc.c.Peek(-1)
	return buf
}

// consume drops the first n buffered bytes (discardAll: every one).
func (bc *backendConn) consume(n int) {
	if bc.tl != nil {
		bc.tl.consume(n)
		return
	}
	discard(bc.c, n)
}

// buffered returns how many input bytes are buffered.
func (bc *backendConn) buffered() int {
	if bc.tl != nil {
		return bc.tl.buffered()
	}
	return bc.c.InboundBuffered()
}

// outbound returns how many bytes wait to be sent to the backend.
func (bc *backendConn) outbound() int { return bc.c.OutboundBuffered() }

func (bc *backendConn) pause() {
	bc.paused = true
	_ = pauseRead(bc.l.epfd, bc.c.Fd(), bc.c.OutboundBuffered() > 0)
}

func (bc *backendConn) resume() {
	if bc.paused && bc.open() {
		bc.paused = false
		_ = resumeRead(bc.l.epfd, bc.c.Fd(), bc.c.OutboundBuffered() > 0)
	}
}

// armTimer (re)starts bc's timeout: d from now; d <= 0 disarms it.
func (bc *backendConn) armTimer(d int64) {
	if d <= 0 {
		bc.stopTimer()
		return
	}
	bc.l.wheel.set(&bc.tm, bc.l.now+d)
}

// stopTimer disarms bc's timeout.
func (bc *backendConn) stopTimer() { bc.l.wheel.stop(&bc.tm) }

// watchDrain reports to the exchange (backendDrained) once the backend's
// output falls below lowWater.
func (bc *backendConn) watchDrain() {
	bc.watch = watchDrain
	bc.l.addWatch(bc)
}

// shutdownWrite shuts the connection's sending side down (a FIN to the
// backend) once what is buffered for it is sent.
func (bc *backendConn) shutdownWrite() {
	if bc.tl != nil {
		bc.tl.closeNotify() // once: later calls send nothing
	}
	if bc.c.OutboundBuffered() > 0 {
		bc.finPending = true
		bc.l.addWatch(bc)
		return
	}
	bc.finPending = false
	_ = unix.Shutdown(bc.c.Fd(), unix.SHUT_WR)
}

// drained implements watcher.
func (bc *backendConn) drained() bool {
	if !bc.open() || bc.ex == nil {
		return true
	}
	if bc.finPending {
		if bc.c.OutboundBuffered() > 0 {
			return false
		}
		bc.shutdownWrite()
		if bc.watch == watchNone {
			return true
		}
	}
	if bc.c.OutboundBuffered() >= lowWater {
		return false
	}
	bc.watch = watchNone
	bc.ex.backendDrained()
	return true
}

// onReadable handles readable bytes from the backend.
func (bc *backendConn) onReadable() {
	if t := bc.tl; t != nil {
		t.fill()
		if t.failed() {
			// A bad record or an alert: the exchange learns it in onClose.
			_ = bc.c.Close()
			return
		}
	}
	switch {
	case bc.state == backendBusy && bc.ex != nil:
		bc.ex.backendReadable()
	case bc.state == backendIdle:
		if t := bc.tl; t != nil && t.err == nil && t.buffered() == 0 {
			return // a session ticket or a key update: no data
		}
		// A backend must not talk on an idle connection.
		bc.closeIdle()
	default:
		bc.consume(discardAll)
	}
}

// release ends bc's part in an exchange: back to the pool when reusable,
// else closed.
func (bc *backendConn) release(reusable bool) {
	bc.stopTimer()
	bc.ex = nil
	bc.reused = true
	if reusable && bc.open() && bc.buffered() == 0 && bc.b.Config().ProxyHeader == 0 {
		bc.toIdle()
		return
	}
	bc.close()
}

// toIdle puts bc in the loop's pool, or closes it when the pool is full.
func (bc *backendConn) toIdle() {
	bc.resume()
	bc.state = backendIdle
	bc.ex = nil
	if !bc.l.idle.Put(bc.b, bc, bc.l.now) {
		bc.close()
	}
}

// abandon drops bc mid-exchange: it is detached and closed (its state is
// unknown). A connection still dialing is closed when it comes up.
func (bc *backendConn) abandon() {
	bc.ex = nil
	bc.close()
}

// orphan detaches bc from an exchange whose client went away: a
// connection still dialing is kept for the pool when it comes up, any
// other is closed.
func (bc *backendConn) orphan() {
	bc.ex = nil
	if bc.state != backendDialing {
		bc.close()
	}
}

// close closes the connection.
func (bc *backendConn) close() {
	if bc.closed() {
		return
	}
	bc.state = backendClosed
	bc.l.wheel.stop(&bc.tm)
	bc.l.removeWatch(bc)
	if bc.c != nil {
		if bc.tl != nil && bc.tl.err == nil {
			bc.tl.closeNotify()
		}
		_ = bc.c.Close()
	}
}

// closeIdle closes an idle connection (expired, unexpected data, drain).
func (bc *backendConn) closeIdle() {
	if bc.state == backendIdle {
		bc.l.idle.Remove(bc.b, bc)
	}
	bc.close()
}

// onTimeout handles bc's timer: first byte or between bytes.
func (bc *backendConn) onTimeout(int64) {
	ex := bc.ex
	if ex == nil {
		bc.close()
		return
	}
	ex.backendTimedOut()
}

// onClose runs when gnet closes the connection, by us or by the peer.
func (bc *backendConn) onClose() {
	state := bc.state
	bc.state = backendClosed
	l := bc.l
	l.wheel.stop(&bc.tm)
	l.removeWatch(bc)
	if state == backendIdle {
		l.idle.Remove(bc.b, bc)
	}
	bc.b.ConnClosed()
	ex := bc.ex
	bc.ex = nil
	if state == backendClosed || ex == nil || ex.be != bc {
		return // closed by us: the exchange knows already
	}
	ex.backendClosed(bc.reused)
}

var _ watcher = (*backendConn)(nil)
