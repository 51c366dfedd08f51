package proxy

// pumpUpload forwards buffered request-body bytes to the backend
// connection, stopping (and pausing the client) when the backend has
// highWater bytes unsent.
func (ex *exchange) pumpUpload() {
	cl := ex.cl
	l := cl.l
	be := ex.be
	for !ex.reqDone && cl.state == clientBusy && ex.be == be {
		buf := cl.input()
		if len(buf) == 0 {
			cl.resume() // everything buffered went out; read more
			break
		}
		n, done, err := ex.frameBody(buf)
		if err != nil {
			// The backend got part of a broken body: drop it.
			ex.dropBackend()
			ex.endTry(false)
			ex.failBody(failure{kind: failBadRequest, cause: err})
			return
		}
		if ex.bodyOverLimit() {
			ex.dropBackend()
			ex.endTry(false)
			ex.failBody(failure{kind: failTooLarge})
			return
		}
		ex.bodyStarted = true
		ok := be.write(buf[:n])
		cl.consume(n)
		if !ok || ex.be != be {
			return // the backend connection failed; backendClosed took over
		}
		if done {
			ex.reqDone = true
			ex.requestSent()
			break
		}
		l.hw.note(&l.hw.clientIn, len(buf))
		if ex.throttleUpload() {
			break
		}
	}
	if cl.state != clientBusy {
		return
	}
	if !ex.reqDone {
		cl.armIdle() // upload stall detection
	} else {
		cl.stopTimer()
		cl.holdInput()
	}
}

// frameBody finds how much of buf belongs to the request body: n bytes,
// done when they end it.
func (ex *exchange) frameBody(buf []byte) (n int, done bool, err error) {
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
		k, data, fin, err := ex.reqDec.Decode(buf[n:])
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

// bodyOverLimit reports whether the request body is past
// limits.max_body_bytes, counting the rest of a chunk whose size line
// announced it: a chunk too large is refused before its data arrives.
func (ex *exchange) bodyOverLimit() bool {
	s := ex.cl.l.srv.opts.MaxBodyBytes
	if s <= 0 {
		return false
	}
	left := ex.reqDec.Left()
	return ex.reqBody > s || left > uint64(s) || ex.reqBody+int64(left) > s
}

// failBody answers a request whose body turned out bad (or too large)
// after its head went to a backend.
func (ex *exchange) failBody(f failure) {
	if ex.respStarted {
		ex.abort()
		return
	}
	ex.refuse(f)
}

// discardBody skips the body of a request answered locally.
func (ex *exchange) discardBody() {
	cl := ex.cl
	for ex.discard && cl.state == clientBusy {
		buf := cl.input()
		if len(buf) == 0 {
			return
		}
		n, done, err := ex.frameBody(buf)
		cl.consume(n)
		if err != nil || ex.bodyOverLimit() {
			ex.closeAfter = true
			ex.discard = false
			ex.done()
			return
		}
		if done {
			ex.discard = false
			ex.reqDone = true
			ex.done()
			return
		}
	}
}

// throttleUpload applies backpressure upstream: when the backend has more
// than highWater bytes unsent, the client stops being read until the
// backend's output drains (backendDrained). It reports whether it paused.
func (ex *exchange) throttleUpload() bool {
	ob := ex.be.outbound()
	ex.cl.l.hw.note(&ex.cl.l.hw.backendOut, ob)
	if ob <= highWater {
		return false
	}
	ex.cl.pause()
	ex.be.watchDrain()
	return true
}

// throttleDownload applies backpressure downstream: when the client has
// more than highWater bytes unsent, the backend stops being read (and its
// between-bytes timer stops: the stall is the client's, timed by its idle
// timeout) until the client's output drains (clientDrained). It reports
// whether it paused.
func (ex *exchange) throttleDownload() bool {
	cl, be := ex.cl, ex.be
	ob := cl.outbound()
	cl.l.hw.note(&cl.l.hw.clientOut, ob)
	if ob <= highWater {
		return false
	}
	be.pause()
	be.stopTimer()
	cl.armIdle()
	cl.watchDrain()
	return true
}
