package route

import "sync/atomic"

// DefaultRetryBudgetMin is retry_budget_min's default: Envoy's
// min_retry_concurrency.
const DefaultRetryBudgetMin = 3

// RetryBudget caps a route's concurrent retries, as Envoy's retry_budget:
// a retry may start only while the retries in flight through the route are
// fewer than Percent % of the requests in flight through it (the one
// asking included), or fewer than Min, whichever allows more. So when
// every backend fails, retries add at most Percent % to the load instead
// of multiplying it by retries + 1, and a quiet route still retries.
//
// A request is in flight from its route match to its last byte (Enter,
// Leave); a retry from the moment it is granted to the end of that try
// (Acquire, Release). The counts are atomics shared by the event loops,
// touched twice per request of a route with a budget, and never locked.
type RetryBudget struct {
	percent float64
	min     int64

	active  atomic.Int64 // requests in flight through the route
	retries atomic.Int64 // retries in flight
}

// NewRetryBudget returns a budget of percent % of the requests in flight,
// and at least min retries in flight.
func NewRetryBudget(percent float64, min int) *RetryBudget {
	return &RetryBudget{percent: percent, min: int64(min)}
}

// Percent returns the share of requests in flight that may be retries.
func (b *RetryBudget) Percent() float64 { return b.percent }

// Min returns how many retries may always be in flight.
func (b *RetryBudget) Min() int { return int(b.min) }

// Enter counts a request that starts on the route.
func (b *RetryBudget) Enter() { b.active.Add(1) }

// Leave counts a request that ended.
func (b *RetryBudget) Leave() { b.active.Add(-1) }

// Acquire takes a retry slot and reports whether the budget had one.
func (b *RetryBudget) Acquire() bool {
	limit := max(b.min, int64(b.percent*float64(b.active.Load())/100))
	for {
		n := b.retries.Load()
		if n >= limit {
			return false
		}
		if b.retries.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives back a slot Acquire took.
func (b *RetryBudget) Release() { b.retries.Add(-1) }

// InFlight returns the requests and the retries in flight now.
func (b *RetryBudget) InFlight() (requests, retries int64) {
	return b.active.Load(), b.retries.Load()
}
