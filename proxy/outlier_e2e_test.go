package proxy

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// statusHandler answers status to everything, after delay.
func statusHandler(status int, delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(delay)
		w.WriteHeader(status)
	})
}

// outlierFleet starts one backend per status (200 or 500), each ejecting
// after consecutive counted failures for base × n, and a round-robin
// director over them, capped at percent; the groups are set as app sets
// them.
func outlierFleet(t *testing.T, statuses []int, consecutive int, base time.Duration, percent int) ([]*testBackend, []*directors.Backend, *directors.RoundRobin) {
	t.Helper()
	var tbs []*testBackend
	var bs []*directors.Backend
	rr := directors.NewRoundRobin("web")
	for i, st := range statuses {
		tb := newTestBackend(t, fmt.Sprint("b", i+1), statusHandler(st, 0))
		b := tb.backend(directors.BackendConfig{Outlier: directors.OutlierPolicy{
			Consecutive: consecutive, On: directors.FailAny, BaseEjection: base, MaxEjection: 10 * base,
		}})
		tbs, bs = append(tbs, tb), append(bs, b)
		rr.Add(b, 1)
	}
	directors.SetEjectionGroups(bs, []*directors.EjectionGroup{directors.NewEjectionGroup("web", percent, bs)})
	return tbs, bs, rr
}

func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, resp)
	return resp.StatusCode
}

// TestE2EOutlierEjectsAndReturns: one backend of three answers 500. With
// outlier_consecutive = 3 it gets exactly 3 requests, none while it is
// ejected, and requests again once the ejection time is over.
func TestE2EOutlierEjectsAndReturns(t *testing.T) {
	const base = 400 * time.Millisecond
	tbs, bs, rr := outlierFleet(t, []int{200, 500, 200}, 3, base, 50)
	bad := tbs[1]
	p := startProxy(t, Options{}, tableOf(rr, nil))
	c := newClient()

	start := time.Now()
	var ejectedAfter int
	for i := 1; i <= 30 && !bs[1].Ejected(); i++ {
		get(t, c, p.url("/"))
		ejectedAfter = i
	}
	took := time.Since(start)
	if !bs[1].Ejected() {
		t.Fatalf("not ejected after 30 requests (%d reached it)", bad.requests.Load())
	}
	if n := bad.requests.Load(); n != 3 {
		t.Errorf("the failing backend got %d requests before its ejection; want 3", n)
	}
	t.Logf("ejected after %d requests, %v", ejectedAfter, took.Round(time.Millisecond))

	st := bs[1].OutlierStatus(0)
	if st.Ejections != 1 || !st.Ejected {
		t.Fatalf("status while ejected: %+v", st)
	}
	until := time.Unix(0, st.Until)

	// While ejected (up to 30 requests, while well inside the ejection
	// time): nothing reaches it, every answer is a 200.
	sent := 0
	for ; sent < 30 && time.Until(until) > 50*time.Millisecond; sent++ {
		if st := get(t, c, p.url("/")); st != 200 {
			t.Fatalf("request %d while ejected: %d", sent, st)
		}
	}
	if n := bad.requests.Load(); n != 3 || sent < 10 {
		t.Errorf("the ejected backend got %d requests of %d sent; want still 3 (of at least 10)", n, sent)
	}
	ejectedFor := time.Until(until)

	// After the ejection time it takes requests again: the first of the
	// next three (round robin) reaches it.
	time.Sleep(ejectedFor)
	for i := 0; i < 3 && bad.requests.Load() == 3; i++ {
		get(t, c, p.url("/"))
	}
	if n := bad.requests.Load(); n != 4 {
		t.Errorf("%d requests reached the backend after its ejection time; want 1 of the next 3", n-3)
	}
	t.Logf("ejection of %v (until %v): back %v after its end", base, ejectedFor.Round(time.Millisecond),
		time.Since(time.Unix(0, st.Until)).Round(time.Millisecond))
	// It still fails: the second ejection lasts twice as long.
	for i := 0; i < 12 && !bs[1].Ejected(); i++ {
		get(t, c, p.url("/"))
	}
	st = bs[1].OutlierStatus(0)
	if st.Ejections != 2 || st.Multiplier != 2 {
		t.Errorf("after failing again: %+v; want 2 ejections, multiplier 2", st)
	}
}

// TestE2EOutlierCapHolds: 4 backends of 5 answer 500 under concurrent
// load; with max_ejection_percent = 50 no more than 2 are ever ejected at
// once, and the healthy one never.
func TestE2EOutlierCapHolds(t *testing.T) {
	_, bs, rr := outlierFleet(t, []int{500, 500, 500, 500, 200}, 2, 150*time.Millisecond, 50)
	p := startProxy(t, Options{}, tableOf(rr, nil))

	stop := make(chan struct{})
	var most atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // sample the ejected count
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := int64(0)
			for _, b := range bs {
				if b.Ejected() {
					n++
				}
			}
			if n > most.Load() {
				most.Store(n)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	end := time.Now().Add(time.Second)
	err := parallel(8, func(int) error {
		c := newClient()
		for time.Now().Before(end) {
			resp, err := c.Get(p.url("/"))
			if err != nil {
				return err
			}
			resp.Body.Close()
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var ejections, refused uint64
	for _, b := range bs {
		st := b.OutlierStatus(0)
		ejections += st.Ejections
		refused += st.Refused
	}
	t.Logf("most ejected at once: %d of 5; ejections %d, refused by the cap %d", most.Load(), ejections, refused)
	if most.Load() > 2 {
		t.Errorf("%d backends ejected at once; max_ejection_percent 50 of 5 allows 2", most.Load())
	}
	if ejections < 3 || refused == 0 {
		t.Errorf("ejections %d, refused %d: the test did not press the cap", ejections, refused)
	}
	if st := bs[4].OutlierStatus(0); st.Ejections != 0 {
		t.Errorf("the healthy backend was ejected: %+v", st)
	}
}

// TestE2EOutlierKinds: connect failures eject when outlier_on counts
// them, and a retry hides them from the client.
func TestE2EOutlierConnectFailures(t *testing.T) {
	good := newTestBackend(t, "good", nil)
	dead := directors.NewBackend("dead", directors.BackendConfig{
		Network: "tcp", Address: "127.0.0.1:1", ConnectTimeout: time.Second,
		Outlier: directors.OutlierPolicy{Consecutive: 2, On: directors.FailConnect, BaseEjection: time.Minute, MaxEjection: time.Minute},
	})
	rr := directors.NewRoundRobin("web")
	rr.Add(dead, 1)
	rr.Add(good.backend(directors.BackendConfig{}), 1)
	p := startProxy(t, Options{}, tableOf(rr, &route.Route{Retry: route.RetryPolicy{Max: 1, On: route.RetryConnect}}))
	c := newClient()
	for i := 0; i < 10; i++ {
		if st := get(t, c, p.url("/")); st != 200 {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	if st := dead.OutlierStatus(0); !st.Ejected || st.Ejections != 1 {
		t.Errorf("the dead backend: %+v; want ejected once", st)
	}
	if n := dead.Stats.ConnectErrors.Load(); n != 2 {
		t.Errorf("%d connects to the dead backend; want 2 (then ejected)", n)
	}
}

// retryStorm sends n concurrent GETs through a route with retries = 3 to
// four backends that all answer 500 after delay, and returns the proxy's
// counters and the most retries the budget had in flight at once.
func retryStorm(t *testing.T, n int, budget *route.RetryBudget) (Stats, int64) {
	t.Helper()
	rr := directors.NewRoundRobin("web")
	for i := range 4 {
		tb := newTestBackend(t, fmt.Sprint("b", i+1), statusHandler(500, 50*time.Millisecond))
		rr.Add(tb.backend(directors.BackendConfig{}), 1)
	}
	rt := &route.Route{Retry: route.RetryPolicy{Max: 3, On: route.Retry5xx, Budget: budget}}
	p := startProxy(t, Options{}, tableOf(rr, rt))
	stop := make(chan struct{})
	var most atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if budget != nil {
				if _, r := budget.InFlight(); r > most.Load() {
					most.Store(r)
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	start := make(chan struct{})
	time.AfterFunc(50*time.Millisecond, func() { close(start) })
	err := parallel(n, func(int) error {
		c := newClient()
		<-start
		resp, err := c.Get(p.url("/"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			return fmt.Errorf("status %d; want the backends' 500", resp.StatusCode)
		}
		return nil
	})
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if budget != nil {
		// The loop leaves the budget just after it writes the response
		// the client may already have read: wait for it, briefly.
		waitFor(2*time.Second, func() bool { req, ret := budget.InFlight(); return req == 0 && ret == 0 })
		if req, ret := budget.InFlight(); req != 0 || ret != 0 {
			t.Errorf("after the storm the budget counts %d requests, %d retries in flight; want 0, 0", req, ret)
		}
	}
	return p.Stats(), most.Load()
}

// TestE2ERetryBudget: every backend answers 500 and the route retries 3
// times. Without a budget each of the 50 requests is retried 3 times;
// with 20 % and a floor of 3, no more than max(3, 20 % of 50) = 10
// retries are ever in flight, and most retries are refused.
func TestE2ERetryBudget(t *testing.T) {
	const n = 50
	free, _ := retryStorm(t, n, nil)
	if free.Retries != 3*n || free.RetryBudgetRefused != 0 {
		t.Errorf("without a budget: %d retries, %d refused; want %d, 0", free.Retries, free.RetryBudgetRefused, 3*n)
	}
	capped, most := retryStorm(t, n, route.NewRetryBudget(20, 3))
	t.Logf("without a budget %d retries; with 20%%/min 3: %d retries, %d refused, at most %d in flight",
		free.Retries, capped.Retries, capped.RetryBudgetRefused, most)
	if most > 10 {
		t.Errorf("%d retries in flight at once; the budget allows 10", most)
	}
	// When the 50 first tries fail together, at most 10 are retried,
	// then at most max(3, 20 % of the survivors) per wave: 10 + 3 + 3.
	// The waves overlap a little on a loaded machine; the bound leaves
	// room for that and is still a third of the unbudgeted 150.
	if capped.Retries > 50 || capped.RetryBudgetRefused == 0 {
		t.Errorf("with the budget: %d retries, %d refused; want ≤ 50 and some refused", capped.Retries, capped.RetryBudgetRefused)
	}
}
