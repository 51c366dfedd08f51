package netpoll

import (
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/topology"
)

// retryLimits parse our own forwarded heads (generous: they were already
// validated once).
var retryLimits = http1.Limits{MaxRequestLine: 1 << 20, MaxHeaderBytes: 1 << 21, MaxHeaders: 1 << 12}

// canRetry reports whether a failure of kind k on the current try may be
// retried on another backend: the route allows it, nothing of the response
// went to the client, no request-body byte went to a backend (so the
// request can be replayed from our buffers), and, except for connect
// failures where the backend never saw the request, the method is
// idempotent.
func (cc *clientConn) canRetry(k topology.RetryOn) bool {
	ex := &cc.ex
	rt := ex.route
	if rt == nil || ex.respStarted || ex.bodyStarted || ex.pipe {
		return false
	}
	if ex.tries > rt.Retries || !rt.RetryOn.Has(k) {
		return false
	}
	return k == topology.RetryConnect || ex.idempotent
}

// tryFailed handles a failed try before any response byte reached the
// client: one free retry on a fresh connection when a reused pooled
// connection turned out dead (stale), else a route retry on another
// backend, else the error status.
func (cc *clientConn) tryFailed(kind topology.RetryOn, status int, stale bool) {
	if cc.state == csClosed {
		return
	}
	ex := &cc.ex
	failed := ex.b
	cc.endTry(!stale)
	if ex.respStarted {
		cc.abort()
		return
	}
	if stale && ex.idempotent && !ex.bodyStarted && !ex.freeRetry && !ex.pipe {
		ex.freeRetry = true
		ex.fresh = true
		ex.tries--
		ex.headSent = false
		cc.dispatch(failed)
		return
	}
	cc.blacklist(kind, failed)
	if cc.canRetry(kind) {
		if next := cc.pickRetry(failed); next != nil {
			failed.Stats.Retries.Add(1)
			cc.retryWith(next)
			return
		}
	}
	cc.answerLocal(status)
}

// retryWith sends the exchange's request again, to next. The loop's scratch
// request still holds the head pickRetry parsed.
func (cc *clientConn) retryWith(next *directors.Backend) {
	ex := &cc.ex
	ex.headSent = false
	if rsp := next.Responder(); rsp != nil {
		ex.b = next
		cc.respondSynthetic(next, rsp, &cc.l.req)
		cc.finishLocal()
		return
	}
	cc.dispatch(next)
}

// blacklist reports a failure of kind k on b to every saintmode director
// on the request's resolution path, when the route blacklists (blacklist >
// 0) and k is one of its retry_on kinds — whether or not a retry follows,
// as Varnish users call saintmode.blacklist() before return(retry).
func (cc *clientConn) blacklist(k topology.RetryOn, b *directors.Backend) {
	rt := cc.ex.route
	if rt == nil || rt.Blacklist <= 0 || !rt.RetryOn.Has(k) {
		return
	}
	directors.Blacklist(&cc.dreq, b, rt.Blacklist, cc.l.now)
}

// pickRetry excludes the failed backend and resolves the route again. The request's
// own head is gone by now, so the head we forwarded is parsed again (into
// the loop's scratch request, which stays valid for the caller) to give
// hash and shard directors their keys.
func (cc *clientConn) pickRetry(failed *directors.Backend) *directors.Backend {
	l := cc.l
	ex := &cc.ex
	rt := ex.route
	cc.dreq.Exclude(failed)
	req := &l.req
	req.Reset()
	if _, err := req.Parse(ex.head.B, &retryLimits); err != nil {
		return nil
	}
	cc.dreq.Head = req
	cc.dreq.Now = l.now
	b := directors.Resolve(rt.Target, &cc.dreq)
	cc.dreq.Head = nil
	return b
}
