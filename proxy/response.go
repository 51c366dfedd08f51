package proxy

import (
	"errors"

	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/rules"
)

// Interim (1xx) responses relayed per request, and accepted at all.
const (
	maxInterim     = 8
	maxInterimSeen = 100
)

// errInterimFlood reports a backend that sent more than maxInterimSeen
// interim responses to one request.
var errInterimFlood = errors.New("proxy: backend sent too many 1xx responses")

// errUnexpected101 reports a 101 answer to a request that asked for no
// protocol switch.
var errUnexpected101 = errors.New("proxy: backend switched protocols unasked")

// readHead parses the response head of the current try (after any 1xx)
// and starts relaying it.
func (ex *exchange) readHead() {
	cl := ex.cl
	l := cl.l
	be := ex.be
	for ex.phase == phaseRequest && ex.be == be {
		buf := be.input()
		if len(buf) == 0 {
			return
		}
		ex.gotBytes = true
		resp := &l.resp
		n, err := resp.Parse(buf, &respLimits)
		if err == http1.ErrNeedMore {
			return
		}
		if err != nil {
			ex.dropBackend()
			ex.tryFailed(failure{kind: failProtocol, cause: err})
			return
		}
		if ex.firstByte == 0 {
			ex.firstByte = l.now
		}
		if http1.Interim(resp.Status) {
			if resp.Status == http1.StatusSwitchingProtocols {
				if !ex.upgrade && !ex.pipe {
					ex.dropBackend()
					ex.tryFailed(failure{kind: failProtocol, cause: errUnexpected101})
					return
				}
				ex.observeHead(1)
				ex.startTunnelResponse(resp, n)
				return
			}
			// Interim responses go through (but never to HTTP/1.0 clients),
			// the first maxInterim of them: more are dropped, and a backend
			// that keeps sending them is failing.
			ex.interim++
			if ex.interim > maxInterimSeen {
				ex.dropBackend()
				ex.tryFailed(failure{kind: failProtocol, cause: errInterimFlood})
				return
			}
			if ex.minor > 0 && ex.interim <= maxInterim {
				out := http1.AppendInterim(l.out[:0], resp)
				ok := cl.write(out)
				l.out = out[:0]
				if !ok {
					return
				}
			}
			be.consume(n)
			continue
		}
		be.stopTimer()
		ex.observeHead(http1.StatusClass(resp.Status))
		if http1.StatusClass(resp.Status) == 5 {
			// Retry only if another backend is there; else relay the 5xx.
			if next := ex.nextTry(failure{kind: fail5xx}, be.b); next != nil {
				be.b.Stats.Responses[5].Add(1)
				be.b.Stats.Retries.Add(1)
				ex.dropBackend()
				ex.endTry(true)
				ex.retryWith(next)
				return
			}
		}
		ex.startBody(resp, n)
		return
	}
}

// startBody relays the response head and starts streaming the body.
func (ex *exchange) startBody(resp *http1.Response, n int) {
	cl := ex.cl
	l := cl.l
	be := ex.be
	ex.framing = resp.Framing(ex.isHead)
	ex.respLeft = resp.ContentLength
	ex.respKeepAlive = resp.KeepAlive && ex.framing != http1.FramingClose
	ex.dechunk = ex.framing == http1.FramingChunked && ex.minor == 0
	ex.respDec.Reset()
	closeClient := !ex.keepAlive || ex.framing == http1.FramingClose || ex.dechunk ||
		!ex.reqDone || l.srv.draining.Load()
	ex.closeAfter = closeClient
	ex.status = resp.Status
	ex.respStarted = true
	if c := http1.StatusClass(resp.Status); c > 0 {
		be.b.Stats.Responses[c].Add(1)
	}
	head := http1.AppendForwardResponse(l.out[:0], resp, &http1.ResponseOptions{
		Close:       closeClient,
		ClientMinor: ex.minor,
		Dechunk:     ex.dechunk,
		Edit:        ex.responseRules(resp.Status),
	})
	l.out = head[:0]
	be.consume(n)
	ex.phase = phaseResponse
	if !closeClient && !cl.batching() && cl.buffered() > 0 && ex.wholeBodyBuffered() {
		// More pipelined requests wait: batch their responses.
		cl.startBatch()
	}
	ex.pumpResponse(head)
}

// responseRules runs the response rules on a response of this status and
// returns their header edits, or nil when there are none. The request's
// own head is gone by now: the rules see the head that was forwarded,
// parsed again into the loop's second scratch request.
func (ex *exchange) responseRules(status int) *http1.FieldEdit {
	if ex.respRules == [2]*rules.List{} || ex.head == nil {
		return nil
	}
	l := ex.cl.l
	req := &l.rreq
	if _, err := req.Parse(ex.head.B, &retryLimits); err != nil {
		return nil
	}
	rc := &ex.rc
	rc.Req = req
	rc.Now = l.now
	rc.ResetResponse(status, ex.b.Name())
	ex.respRules[0].Response(rc)
	ex.respRules[1].Response(rc)
	if rc.Edit.Empty() {
		return nil
	}
	return &rc.Edit
}

// pumpResponse relays buffered body bytes (after prefix, the response
// head, if any) to the client, pausing the backend when the client falls
// behind.
func (ex *exchange) pumpResponse(prefix []byte) {
	cl := ex.cl
	l := cl.l
	be := ex.be
	for ex.phase == phaseResponse && ex.be == be {
		buf := be.input()
		n, done, ok, err := ex.forward(prefix, buf)
		started := len(prefix) == 0
		prefix = nil
		be.b.Stats.BytesIn.Add(uint64(n))
		be.consume(n)
		if err != nil {
			ex.dropBackend()
			if !started {
				// Nothing of the response went out yet.
				ex.respStarted = false
				ex.tryFailed(failure{kind: failProtocol, cause: err})
				return
			}
			ex.observeFailure(ex.b, failure{kind: failProtocol})
			ex.endTry(true)
			ex.abort()
			return
		}
		if !ok || ex.be != be {
			return
		}
		if done {
			ex.finish()
			return
		}
		if cl.batching() && !cl.flush() {
			return // a streamed body is never held back
		}
		if n < len(buf) {
			continue
		}
		l.hw.note(&l.hw.backendIn, len(buf))
		if ex.throttleDownload() {
			return
		}
		be.armTimer(int64(be.b.Config().BetweenBytesTimeout))
		return
	}
}

// wholeBodyBuffered reports whether the rest of the response body is
// already buffered (no body, or a Content-Length body that arrived whole).
func (ex *exchange) wholeBodyBuffered() bool {
	switch ex.framing {
	case http1.FramingNone:
		return true
	case http1.FramingLength:
		return int64(ex.be.buffered()) >= ex.respLeft
	}
	return false
}

// forward writes prefix and the part of buf that belongs to the response
// body to the client: n bytes of buf consumed, done when they end the
// body, ok while the client is still there. A framing error is returned
// before anything is written.
func (ex *exchange) forward(prefix, buf []byte) (n int, done, ok bool, err error) {
	cl := ex.cl
	switch ex.framing {
	case http1.FramingNone:
		return 0, true, cl.write(prefix), nil
	case http1.FramingLength:
		n = len(buf)
		if int64(n) > ex.respLeft {
			n = int(ex.respLeft)
		}
		ex.respLeft -= int64(n)
		return n, ex.respLeft == 0, cl.writev(prefix, buf[:n]), nil
	case http1.FramingClose:
		return len(buf), false, cl.writev(prefix, buf), nil
	}
	if ex.dechunk {
		return ex.forwardDechunked(prefix, buf)
	}
	for n < len(buf) {
		k, _, fin, err := ex.respDec.Decode(buf[n:])
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
	return n, done, cl.writev(prefix, buf[:n]), nil
}

// forwardDechunked relays a chunked body to an HTTP/1.0 client as its
// bare payload (the connection's close ends it).
func (ex *exchange) forwardDechunked(prefix, buf []byte) (n int, done, ok bool, err error) {
	cl := ex.cl
	if len(prefix) > 0 && !cl.write(prefix) {
		return 0, false, false, nil
	}
	for n < len(buf) {
		k, data, fin, err := ex.respDec.Decode(buf[n:])
		n += k
		if err != nil {
			// The head already went out: cut the response short.
			ex.abort()
			return n, false, false, nil
		}
		if len(data) > 0 && !cl.write(data) {
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

// finish ends a complete response: the backend connection goes back to
// the pool or closes, and the client moves on.
func (ex *exchange) finish() {
	be := ex.be
	ex.be = nil
	ex.endTry(false)
	be.release(ex.respKeepAlive && ex.reqDone)
	ex.done()
}
