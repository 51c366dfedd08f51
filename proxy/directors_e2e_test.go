package proxy

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// stickyBackends starts three echo backends for the cookie tests.
func stickyBackends(t *testing.T) []directors.Member {
	var ms []directors.Member
	for i := 1; i <= 3; i++ {
		tb := newTestBackend(t, fmt.Sprint("app", i), nil)
		ms = append(ms, tb.backend(directors.BackendConfig{}))
	}
	return ms
}

// checkCookiesStick sends 5 requests for each of 20 sessions, on
// different paths, and checks each session stays on one backend while
// the sessions spread over several.
func checkCookiesStick(t *testing.T, target directors.Member) {
	p := startProxy(t, Options{}, tableOf(target, nil))
	c := newClient()
	used := map[string]bool{}
	for s := range 20 {
		first := ""
		for i := range 5 {
			req, _ := http.NewRequest("GET", p.url(fmt.Sprintf("/page/%d", i)), nil)
			req.Header.Set("Cookie", fmt.Sprintf("theme=%d; session=s%03d", i, s))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			bodyOf(t, resp)
			got := resp.Header.Get("X-Backend")
			if i == 0 {
				first = got
			} else if got != first {
				t.Fatalf("session %d went to %s, then %s", s, first, got)
			}
		}
		used[first] = true
	}
	if len(used) < 2 {
		t.Errorf("20 sessions all went to %v", used)
	}
}

func TestE2EHashCookieSticks(t *testing.T) {
	key, _ := directors.ParseKey([]string{"cookie:session"})
	d := directors.NewHash("sticky", key, directors.DigestSHA256)
	if err := d.Replace(stickyBackends(t), nil); err != nil {
		t.Fatal(err)
	}
	checkCookiesStick(t, d)
}

func TestE2EShardCookieSticks(t *testing.T) {
	key, _ := directors.ParseKey([]string{"cookie:session"})
	d, err := directors.NewShard("cache", directors.ShardOptions{By: directors.ByKey, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Replace(stickyBackends(t), nil); err != nil {
		t.Fatal(err)
	}
	checkCookiesStick(t, d)
}

// TestE2ESaintmodeBlacklist: s1 answers 503 for /bad only. The route
// retries 5xx and blacklists for 300ms: /bad is retried on s2, then goes
// straight to s2 while blacklisted, other objects stay on s1, and once
// the entry expires /bad is tried on s1 again.
func TestE2ESaintmodeBlacklist(t *testing.T) {
	tb1 := newTestBackend(t, "s1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "s1")
		if strings.HasPrefix(r.URL.Path, "/bad") {
			w.WriteHeader(503)
		}
	}))
	tb2 := newTestBackend(t, "s2", nil)
	sm1 := directors.NewSaintmode("sm1", tb1.backend(directors.BackendConfig{}), 5)
	sm2 := directors.NewSaintmode("sm2", tb2.backend(directors.BackendConfig{}), 5)
	fb := directors.NewFallback("fb", false)
	if err := fb.Replace([]directors.Member{sm1, sm2}, nil); err != nil {
		t.Fatal(err)
	}
	ttl := 300 * time.Millisecond
	p := startProxy(t, Options{}, tableOf(fb, &route.Route{
		Retry: route.RetryPolicy{Max: 1, On: route.Retry5xx, Blacklist: ttl},
	}))
	c := newClient()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(p.url(path))
		if err != nil {
			t.Fatal(err)
		}
		bodyOf(t, resp)
		return resp.StatusCode, resp.Header.Get("X-Backend")
	}
	start := time.Now()
	if st, be := get("/bad"); st != 200 || be != "s2" {
		t.Fatalf("/bad: %d from %s; want 200 from s2 after the retry", st, be)
	}
	if n := tb1.requests.Load(); n != 1 {
		t.Fatalf("s1 saw %d requests; want 1", n)
	}
	if n := sm1.Count(time.Now().UnixNano()); n != 1 {
		t.Errorf("sm1 blacklist count %d; want 1", n)
	}
	if st, be := get("/bad"); st != 200 || be != "s2" || tb1.requests.Load() != 1 {
		t.Errorf("/bad again: %d from %s, s1 saw %d; want s2 directly", st, be, tb1.requests.Load())
	}
	if st, be := get("/good"); st != 200 || be != "s1" {
		t.Errorf("/good: %d from %s; want s1", st, be)
	}
	if time.Since(start) > ttl {
		t.Skip("too slow to check the blacklist before it expires")
	}
	time.Sleep(ttl - time.Since(start) + 50*time.Millisecond)
	before := tb1.requests.Load()
	if st, be := get("/bad"); st != 200 || be != "s2" || tb1.requests.Load() != before+1 {
		t.Errorf("/bad after the TTL: %d from %s, s1 saw %d more; want s1 tried again, then s2",
			st, be, tb1.requests.Load()-before)
	}
}

// TestE2EBlacklistWithoutRetry checks that a route with blacklist but no
// retries still blacklists the failed (backend, object): the 5xx goes to
// the client, and the next request for that URL goes to the other member.
func TestE2EBlacklistWithoutRetry(t *testing.T) {
	tb1 := newTestBackend(t, "s1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "s1")
		if r.URL.Path == "/bad" {
			w.WriteHeader(503)
		}
	}))
	tb2 := newTestBackend(t, "s2", nil)
	sm1 := directors.NewSaintmode("sm1", tb1.backend(directors.BackendConfig{}), 5)
	sm2 := directors.NewSaintmode("sm2", tb2.backend(directors.BackendConfig{}), 5)
	fb := directors.NewFallback("fb", false)
	if err := fb.Replace([]directors.Member{sm1, sm2}, nil); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, Options{}, tableOf(fb, &route.Route{Retry: route.RetryPolicy{On: route.Retry5xx, Blacklist: time.Minute}}))
	c := newClient()
	want := []struct {
		path    string
		status  int
		backend string
	}{
		{"/bad", 503, "s1"}, // no retry: the 5xx is the answer, and s1 is blacklisted for /bad
		{"/bad", 200, "s2"},
		{"/good", 200, "s1"},
	}
	for _, w := range want {
		resp, err := c.Get(p.url(w.path))
		if err != nil {
			t.Fatal(err)
		}
		bodyOf(t, resp)
		if resp.StatusCode != w.status || resp.Header.Get("X-Backend") != w.backend {
			t.Errorf("%s: %d from %s; want %d from %s", w.path, resp.StatusCode, resp.Header.Get("X-Backend"), w.status, w.backend)
		}
	}
}
