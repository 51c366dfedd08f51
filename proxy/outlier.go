package proxy

import (
	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// This file connects the exchange to passive health and to retry
// budgets: it reports each try's outcome to its backend's outlier
// detection (directors/outlier.go), and holds the request's place in its
// route's retry budget (route/budget.go). Everything here runs on the
// client's event loop and allocates nothing.

// observeFailure reports a failed try on b to b's outlier detection. A
// reset of a stale pooled connection (the backend closed it while idle)
// says nothing of the backend and is not reported; failures that are not
// the backend's (the client's) have no kind and are not either.
func (ex *exchange) observeFailure(b *directors.Backend, f failure) {
	if f.stale || b == nil {
		return
	}
	if k := f.retryKind(); k != 0 {
		b.ObserveFailure(directors.FailKind(k), ex.cl.l.now)
	}
}

// observeHead reports the final response head of the current try, of
// status class class: a 5xx is a failure, anything else resets the
// backend's count of consecutive failures.
func (ex *exchange) observeHead(class int) {
	if class == 5 {
		ex.observeFailure(ex.b, failure{kind: fail5xx})
		return
	}
	ex.b.ObserveSuccess()
}

// enterBudget counts the request in its route's retry budget, if the
// route has one. Called once per request, when the route is known.
func (ex *exchange) enterBudget(rt *route.Route) {
	if rt != nil && rt.Retry.Budget != nil {
		ex.budget = rt.Retry.Budget
		ex.budget.Enter()
	}
}

// leaveBudget ends the request's place in its retry budget, and gives
// back the retry slot it holds. Called when the exchange ends, however it
// ends; calling it again does nothing.
func (ex *exchange) leaveBudget() {
	b := ex.budget
	if b == nil {
		return
	}
	ex.releaseRetry()
	ex.budget = nil
	b.Leave()
}

// takeRetry asks the route's retry budget for a retry and reports whether
// it may go ahead (always, without a budget). A request holds at most one
// slot: the one of a retry that failed in turn is given back first. A
// refusal is counted.
func (ex *exchange) takeRetry() bool {
	b := ex.budget
	if b == nil {
		return true
	}
	ex.releaseRetry()
	if !b.Acquire() {
		ex.cl.l.srv.budgetRefused.Add(1)
		return false
	}
	ex.retrySlot = true
	return true
}

// releaseRetry gives back the request's retry slot, if it holds one.
func (ex *exchange) releaseRetry() {
	if ex.retrySlot {
		ex.retrySlot = false
		ex.budget.Release()
	}
}
