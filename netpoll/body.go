package netpoll

import (
	"github.com/shellac-lb/shellac/http1"
)

// pumpBody forwards buffered request-body bytes to the backend connection,
// stopping (and pausing the client) when the backend has highWater bytes
// unsent.
func (cc *clientConn) pumpBody() {
	ex := &cc.ex
	bc := ex.bc
	l := cc.l
	for !ex.reqDone && cc.state == csExchange && ex.bc == bc {
		buf, _ := cc.c.Peek(-1)
		if len(buf) == 0 {
			cc.resume() // everything buffered went out; read more
			break
		}
		n, done, err := cc.frameBody(buf)
		if err != nil {
			// The backend got part of a broken body: drop it.
			bc.abandon()
			cc.endTry(false)
			cc.failBody(statusOf(err))
			return
		}
		if s := l.srv.opts.MaxBodyBytes; s > 0 && ex.reqBody > s {
			bc.abandon()
			cc.endTry(false)
			cc.failBody(413)
			return
		}
		ex.bodyStarted = true
		ok := bc.write(buf[:n])
		discard(cc.c, n)
		if !ok || ex.bc != bc {
			return // the backend connection failed; its onClose took over
		}
		if done {
			ex.reqDone = true
			bc.requestSent()
			break
		}
		l.hw.note(&l.hw.clientIn, len(buf))
		ob := bc.c.OutboundBuffered()
		l.hw.note(&l.hw.backendOut, ob)
		if ob > highWater {
			cc.pause()
			l.addWatch(&cc.upWatch)
			break
		}
	}
	if cc.state != csExchange {
		return
	}
	if !ex.reqDone {
		// Upload stall detection.
		l.wheel.set(&cc.tm, l.now+int64(l.srv.opts.ClientIdleTimeout))
	} else {
		l.wheel.stop(&cc.tm)
		cc.holdInput()
	}
}

// frameBody finds how much of buf belongs to the request body: n bytes,
// done when they end it.
func (cc *clientConn) frameBody(buf []byte) (n int, done bool, err error) {
	ex := &cc.ex
	if ex.reqLeft > 0 {
		n = len(buf)
		if int64(n) > ex.reqLeft {
			n = int(ex.reqLeft)
		}
		ex.reqLeft -= int64(n)
		ex.reqBody += int64(n)
		return n, ex.reqLeft == 0, nil
	}
	for n < len(buf) {
		k, data, fin, err := ex.dec.Decode(buf[n:])
		n += k
		ex.reqBody += int64(len(data))
		if err != nil {
			return n, false, err
		}
		if fin {
			ex.reqLeft = 0
			return n, true, nil
		}
		if k == 0 {
			break
		}
	}
	return n, false, nil
}

// failBody answers a request whose body turned out bad (or too large)
// after its head went to a backend.
func (cc *clientConn) failBody(status int) {
	if cc.ex.respStarted {
		cc.abort()
		return
	}
	cc.reject(status)
}

// discardBody skips the body of a request answered locally.
func (cc *clientConn) discardBody() {
	ex := &cc.ex
	for ex.discard && cc.state == csExchange {
		buf, _ := cc.c.Peek(-1)
		if len(buf) == 0 {
			return
		}
		n, done, err := cc.frameBody(buf)
		discard(cc.c, n)
		if err != nil {
			cc.closeAfter = true
			ex.discard = false
			cc.exchangeDone()
			return
		}
		if s := cc.l.srv.opts.MaxBodyBytes; s > 0 && ex.reqBody > s {
			cc.closeAfter = true
			ex.discard = false
			cc.exchangeDone()
			return
		}
		if done {
			ex.discard = false
			ex.reqDone = true
			cc.exchangeDone()
			return
		}
	}
}

var _ = http1.ErrNeedMore
