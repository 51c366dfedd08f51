package discovery_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/shellac-lb/shellac/discovery"
	"github.com/shellac-lb/shellac/internal/dnstest"
	"github.com/shellac-lb/shellac/internal/testutil"
)

func TestParseTarget(t *testing.T) {
	cases := []struct {
		in   string
		want discovery.Target
		ok   bool
	}{
		{"dns+srv://_http._tcp.api.service.consul", discovery.Target{Kind: discovery.SRV, Name: "_http._tcp.api.service.consul."}, true},
		{"dns+a://api.internal:8080", discovery.Target{Kind: discovery.A, Name: "api.internal.", Port: 8080}, true},
		{"DNS+AAAA://api:80", discovery.Target{Kind: discovery.AAAA, Name: "api.", Port: 80}, true},
		{"dns+ip://api.:443", discovery.Target{Kind: discovery.AnyIP, Name: "api.", Port: 443}, true},
		{"dns+srv://api:80", discovery.Target{}, false},
		{"dns+a://api", discovery.Target{}, false},
		{"dns+a://api:0", discovery.Target{}, false},
		{"dns+a://api:70000", discovery.Target{}, false},
		{"http://api:80", discovery.Target{}, false},
		{"dns+a://bad name:80", discovery.Target{}, false},
		{"dns+srv://", discovery.Target{}, false},
	}
	for _, tc := range cases {
		got, err := discovery.ParseTarget(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, discovery.ErrTarget) {
			t.Errorf("ParseTarget(%q): %v is not ErrTarget", tc.in, err)
		}
	}
}

func lookup(t *testing.T, srv *dnstest.Server, target string) ([]discovery.Endpoint, time.Duration, error) {
	t.Helper()
	tg, err := discovery.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &discovery.Resolver{Servers: []string{srv.Addr}, Timeout: time.Second}
	return r.Lookup(context.Background(), tg)
}

// TestLookup resolves SRV (with glue, weights and the smallest TTL), A,
// AAAA and both, and reports failures as errors.
func TestLookup(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(t,
		"_http._tcp.api. 30 IN SRV 10 5 8081 a.api.",
		"_http._tcp.api. 20 IN SRV 10 7 8082 b.api.",
		"a.api. 60 IN A 127.0.0.11",
		"b.api. 60 IN A 127.0.0.12",
		"web. 15 IN A 127.0.0.21",
		"web. 10 IN A 127.0.0.20",
		"web. 40 IN AAAA ::1",
	)
	eps, ttl, err := lookup(t, srv, "dns+srv://_http._tcp.api")
	want := []discovery.Endpoint{{Address: "127.0.0.11:8081", Weight: 5}, {Address: "127.0.0.12:8082", Weight: 7}}
	if err != nil || !equal(eps, want) || ttl != 20*time.Second {
		t.Errorf("SRV: %v %v %v; want %v 20s", eps, ttl, err, want)
	}
	eps, ttl, err = lookup(t, srv, "dns+a://web:80")
	if err != nil || !equal(eps, []discovery.Endpoint{{Address: "127.0.0.20:80"}, {Address: "127.0.0.21:80"}}) || ttl != 10*time.Second {
		t.Errorf("A: %v %v %v", eps, ttl, err)
	}
	eps, _, err = lookup(t, srv, "dns+aaaa://web:80")
	if err != nil || !equal(eps, []discovery.Endpoint{{Address: "[::1]:80"}}) {
		t.Errorf("AAAA: %v %v", eps, err)
	}
	eps, _, err = lookup(t, srv, "dns+ip://web:80")
	if err != nil || len(eps) != 3 {
		t.Errorf("A+AAAA: %v %v", eps, err)
	}
	if _, _, err := lookup(t, srv, "dns+a://nothing:80"); !errors.Is(err, discovery.ErrEmpty) {
		t.Errorf("no records: %v; want ErrEmpty", err)
	}
	srv.Fail("web.", dns.RcodeServerFailure)
	if _, _, err := lookup(t, srv, "dns+a://web:80"); !errors.Is(err, discovery.ErrRcode) {
		t.Errorf("SERVFAIL: %v; want ErrRcode", err)
	}
	srv.Fail("web.", dns.RcodeNameError)
	if _, _, err := lookup(t, srv, "dns+a://web:80"); !errors.Is(err, discovery.ErrRcode) {
		t.Errorf("NXDOMAIN: %v; want ErrRcode", err)
	}
}

// TestLookupTruncatedFallsBackToTCP: a truncated UDP answer is asked
// again over TCP.
func TestLookupTruncatedFallsBackToTCP(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(t, "big. 30 IN A 127.0.0.5")
	srv.Truncate("big.", true)
	eps, _, err := lookup(t, srv, "dns+a://big:80")
	if err != nil || len(eps) != 1 || eps[0].Address != "127.0.0.5:80" {
		t.Fatalf("truncated: %v %v", eps, err)
	}
	if srv.Queries("tcp") != 1 {
		t.Errorf("%d TCP queries; want 1", srv.Queries("tcp"))
	}
}

func equal(a, b []discovery.Endpoint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// changes collects what a Watcher reports.
type changes struct {
	mu   sync.Mutex
	sets [][]discovery.Endpoint
	ch   chan struct{}
}

func (c *changes) on(eps []discovery.Endpoint) {
	c.mu.Lock()
	c.sets = append(c.sets, eps)
	c.mu.Unlock()
	c.ch <- struct{}{}
}

func (c *changes) wait(t *testing.T, d time.Duration) []discovery.Endpoint {
	t.Helper()
	select {
	case <-c.ch:
	case <-time.After(d):
		t.Fatalf("no change reported within %v", d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sets[len(c.sets)-1]
}

// TestWatcher follows a changing answer on its TTL (bounded by MinTTL),
// keeps the last good set through SERVFAIL and an empty answer, and drops
// it once the grace runs out.
func TestWatcher(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(t, "svc. 0 IN A 127.0.0.31", "svc. 0 IN A 127.0.0.32")
	tg, _ := discovery.ParseTarget("dns+a://svc:9000")
	c := &changes{ch: make(chan struct{}, 16)}
	w := discovery.Watch(discovery.Options{Target: tg, Resolver: &discovery.Resolver{Servers: []string{srv.Addr}, Timeout: time.Second},
		MinTTL: 50 * time.Millisecond, MaxTTL: time.Second, Grace: 600 * time.Millisecond, OnChange: c.on, Log: testutil.Quiet, Name: "svc"})
	defer w.Stop()
	if got := c.wait(t, 5*time.Second); len(got) != 2 {
		t.Fatalf("first set %v", got)
	}
	srv.Set(t, "svc. 0 IN A 127.0.0.32", "svc. 0 IN A 127.0.0.33")
	if got := c.wait(t, 5*time.Second); !equal(got, []discovery.Endpoint{{Address: "127.0.0.32:9000"}, {Address: "127.0.0.33:9000"}}) {
		t.Fatalf("after the change: %v", got)
	}
	srv.Fail("svc.", dns.RcodeServerFailure)
	time.Sleep(300 * time.Millisecond) // several failed lookups, within the grace
	srv.Fail("svc.", dns.RcodeSuccess)
	srv.Clear("svc.", dns.TypeA) // an empty answer now: still kept
	time.Sleep(200 * time.Millisecond)
	c.mu.Lock()
	n := len(c.sets)
	c.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d sets reported; a failure within the grace must report nothing", n)
	}
	st := w.Stats()
	if st.Failures < 3 || st.Empty < 1 || st.Endpoints != 2 {
		t.Fatalf("stats %+v: want failures counted and the 2 endpoints kept", st)
	}
	if got := c.wait(t, 5*time.Second); len(got) != 0 {
		t.Fatalf("past the grace: %v; want the set dropped", got)
	}
}
