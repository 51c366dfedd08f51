package proxy

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/directors/contrib"
)

// slowShare sends total requests through the director d builds, from
// workers concurrent clients, over one slow backend (delay per response)
// and two fast ones, and returns the slow backend's share of them.
func slowShare(t *testing.T, d directors.Cluster, delay time.Duration, workers, total int) float64 {
	t.Helper()
	slow := newTestBackend(t, "slow", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(delay)
		w.Header().Set("X-Backend", "slow")
	}))
	fast1 := newTestBackend(t, "fast1", nil)
	fast2 := newTestBackend(t, "fast2", nil)
	var ms []directors.Member
	for _, tb := range []*testBackend{slow, fast1, fast2} {
		ms = append(ms, tb.backend(directors.BackendConfig{}))
	}
	if err := d.Replace(ms, nil); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, Options{}, tableOf(d, nil))
	c := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true},
		Timeout:   10 * time.Second,
	}
	var slowN, n atomic.Int64
	err := parallel(workers, func(w int) error {
		for i := w; i < total; i += workers {
			resp, err := c.Get(p.url(fmt.Sprintf("/r/%d", i)))
			if err != nil {
				return err
			}
			if resp.StatusCode != 200 {
				return fmt.Errorf("request %d: status %d", i, resp.StatusCode)
			}
			if resp.Header.Get("X-Backend") == "slow" {
				slowN.Add(1)
			}
			n.Add(1)
			resp.Body.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := slow.requests.Load(); got != slowN.Load() {
		t.Errorf("slow backend served %d requests; responses say %d", got, slowN.Load())
	}
	return float64(slowN.Load()) / float64(n.Load())
}

// TestE2ELoadAwareAvoidSlowBackend: with one backend answering in 50ms
// and two at once, under 16 concurrent clients (600 requests), round_robin
// gives the slow one its third, while least_conn and p2c, which see its
// requests pile up in flight, give it far less: under 0.6 times that.
func TestE2ELoadAwareAvoidSlowBackend(t *testing.T) {
	const (
		delay   = 50 * time.Millisecond
		workers = 16
		total   = 600
	)
	rr := slowShare(t, directors.NewRoundRobin("rr"), delay, workers, total)
	lc := slowShare(t, contrib.NewLeastConn("lc"), delay, workers, total)
	p2 := slowShare(t, contrib.NewP2C("p2c"), delay, workers, total)
	t.Logf("slow backend share: round_robin %.3f, least_conn %.3f, p2c %.3f", rr, lc, p2)
	if rr < 0.3 {
		t.Errorf("round_robin gave the slow backend %.3f; want its third", rr)
	}
	if lc >= 0.6*rr {
		t.Errorf("least_conn gave the slow backend %.3f; want < 0.6 × round_robin's %.3f", lc, rr)
	}
	if p2 >= 0.6*rr {
		t.Errorf("p2c gave the slow backend %.3f; want < 0.6 × round_robin's %.3f", p2, rr)
	}
}
