package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/config"
)

// loadConfig is a random director over a and b; the admin API is on.
const loadConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "web"
shutdown_timeout = "5s"

[admin]
listen = "{ADMIN}"

[log]
access = ""

[backends.a]
address = "%s"

[backends.b]
address = "%s"

[directors.web]
type = "random"
members = ["a", "b"]
weights = { a = 1.0, b = 1.0 }
`

// load drives GETs through the proxy from a few goroutines until stop is
// closed, counting successes per backend and failures (a transport error
// or any status but 200).
type load struct {
	mu     sync.Mutex
	ok     map[string]int
	failed []string
	total  atomic.Int64
	wg     sync.WaitGroup
}

func startLoad(base string, workers int, stop <-chan struct{}) *load {
	l := &load{ok: map[string]int{}}
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func(w int) {
			defer l.wg.Done()
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
			defer c.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := "/"
				if i%4 == w%4 {
					path = "/sleep?ms=5" // keeps some requests in flight at every change
				}
				resp, err := c.Get(base + path)
				l.total.Add(1)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					l.fail(fmt.Sprintf("%d %q %v", resp.StatusCode, body, err))
					continue
				}
				l.mu.Lock()
				l.ok[string(body)]++
				l.mu.Unlock()
			}
		}(w)
	}
	return l
}

func (l *load) fail(why string) {
	l.mu.Lock()
	l.failed = append(l.failed, why)
	l.mu.Unlock()
}

// TestRunTimeChangesUnderLoad adds a backend, changes weights, removes a
// backend and reloads a changed file while four clients send requests for
// about three seconds: no request may fail, the removed backend must stop
// getting requests and its connections must close once its in-flight
// requests are done, and a backend replaced by the reload drains too.
func TestRunTimeChangesUnderLoad(t *testing.T) {
	a, b, c, d := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c"), startBackend(t, "d")
	ta := startApp(t, fmt.Sprintf(loadConfig, a.addr, b.addr))
	ac := ta.admin
	stop := make(chan struct{})
	l := startLoad(ta.proxy, 4, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		l.wg.Wait()
	}()
	step := func(at time.Duration, start time.Time) { time.Sleep(time.Until(start.Add(at))) }
	t0 := time.Now()

	// 0.5s: a new backend c, then into the director.
	step(500*time.Millisecond, t0)
	ac.must(201, "PUT", "/backends/c", fmt.Sprintf(`{"address":%q,"max_idle":8}`, c.addr))
	ac.must(200, "PUT", "/directors/web/members/c", `{"weight":1.0}`)

	// 1.0s: weights.
	step(1000*time.Millisecond, t0)
	ac.must(200, "PUT", "/directors/web/members/a", `{"weight":3}`)

	// 1.5s: remove b while requests are in flight on it.
	step(1500*time.Millisecond, t0)
	if b.requests.Load() == 0 {
		t.Error("b served nothing before its removal")
	}
	oldB := ta.Table().Backends["b"]
	ac.must(200, "DELETE", "/backends/b", "")
	removed := time.Now()
	// GET /config shows the run-time changes, and loads.
	running := ac.must(200, "GET", "/config", "")
	if strings.Contains(running, "[backends.b]") || !strings.Contains(running, "[backends.c]") ||
		!strings.Contains(running, `members = ["a", "c"]`) || !strings.Contains(running, "a = 3.0") {
		t.Errorf("GET /config after the run-time changes:\n%s", running)
	}
	if _, err := config.Parse("running", []byte(running)); err != nil {
		t.Errorf("GET /config does not load: %v", err)
	}

	// 2.0s: reload a changed file: b is gone from it too, a changes
	// (so it is replaced and the old one drains), d is new.
	step(2000*time.Millisecond, t0)
	bAfter := b.requests.Load() // b's in-flight requests (5ms at most) are done by now
	oldA := ta.Table().Backends["a"]
	text := fmt.Sprintf(`
[server]
listen = [%q]
default_director = "web"
shutdown_timeout = "5s"

[admin]
listen = %q

[log]
access = ""

[backends.a]
address = %q
max_idle = 16

[backends.c]
address = %q
max_idle = 8

[backends.d]
address = %q

[directors.web]
type = "random"
members = ["a", "c", "d"]
weights = { a = 1.0, c = 2.0, d = 1.0 }
`, strings.TrimPrefix(ta.proxy, "http://"), strings.TrimPrefix(ac.base, "http://"), a.addr, c.addr, d.addr)
	if err := os.WriteFile(ta.path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ac.must(200, "POST", "/reload", "")
	keptC := ta.Table().Backends["c"]

	// 3.0s: stop.
	step(3000*time.Millisecond, t0)
	close(stop)
	l.wg.Wait()

	t.Logf("%d requests, %d failed; per backend: %v", l.total.Load(), len(l.failed), l.ok)
	if len(l.failed) > 0 {
		t.Errorf("%d failed requests, first: %s", len(l.failed), l.failed[0])
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		if l.ok[n] == 0 {
			t.Errorf("backend %s served no request", n)
		}
	}
	if n := b.requests.Load(); n != bAfter {
		t.Errorf("b served %d requests more than 500ms after its removal", n-bAfter)
	}
	if !oldB.Gone() || !oldA.Gone() {
		t.Errorf("gone: old b %v, old a %v; want both draining", oldB.Gone(), oldA.Gone())
	}
	if keptC == nil || keptC.Name() != "c" || keptC.Gone() {
		t.Errorf("c (same settings in the file as set at run time) was not kept by the reload")
	}
	// The drained backends' connections close once idle (the pools sweep
	// them about every second).
	deadline := time.Now().Add(5 * time.Second)
	for (b.open.Load() > 0 || oldB.OpenConns() > 0 || oldA.OpenConns() > 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := b.open.Load(); n > 0 {
		t.Errorf("b still has %d connections open %v after its removal", n, time.Since(removed))
	}
	if n := oldA.OpenConns(); n > 0 {
		t.Errorf("the replaced a still has %d connections open", n)
	}

	// The running configuration shows every change of the reload.
	cfgText := ac.must(200, "GET", "/config", "")
	if strings.Contains(cfgText, "[backends.b]") || !strings.Contains(cfgText, "[backends.d]") || !strings.Contains(cfgText, "c = 2.0") {
		t.Errorf("GET /config after the reload:\n%s", cfgText)
	}
}

// TestSIGHUPReloads: Run reloads the file on SIGHUP, and a run-time
// change made before is replaced by the file's content.
func TestSIGHUPReloads(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	ta := startApp(t, fmt.Sprintf(loadConfig, a.addr, b.addr))
	// Our own registration keeps a SIGHUP that arrives before Run's from
	// killing the test process.
	hup := make(chan os.Signal, 16)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ta.Run(ctx) }()

	ta.admin.must(200, "DELETE", "/directors/web/members/b", "")
	text, err := os.ReadFile(ta.path)
	if err != nil {
		t.Fatal(err)
	}
	text = []byte(strings.Replace(string(text), "weights = { a = 1.0, b = 1.0 }", "weights = { a = 1.0, b = 4.0 }", 1))
	if err := os.WriteFile(ta.path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	reloaded := func() bool { return strings.Contains(ta.admin.must(200, "GET", "/config", ""), "b = 4.0") }
	for i := 0; i < 100 && !reloaded(); i++ {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !reloaded() {
		t.Fatal("SIGHUP did not reload the file")
	}
	if m := ta.admin.status().Directors["web"].Members; len(m) != 2 || m[1].Name != "b" || m[1].Weight != 4 {
		t.Errorf("web after SIGHUP: %+v; want a and b (weight 4) from the file", m)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

// TestShardWeights: a shard director takes weights from the file and
// from PUT /directors/D/members/M, and a round_robin still refuses one.
func TestShardWeights(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	ta := startApp(t, fmt.Sprintf(`
[server]
listen = ["{LISTEN}"]
default_director = "ring"
[admin]
listen = "{ADMIN}"
[backends.a]
address = %q
[backends.b]
address = %q
[directors.ring]
type = "shard"
members = ["a", "b"]
weights = { b = 3.0 }
[directors.rr]
type = "round_robin"
members = ["a", "b"]
`, a.addr, b.addr))
	weight := func(member string) float64 {
		for _, m := range ta.admin.status().Directors["ring"].Members {
			if m.Name == member {
				return m.Weight
			}
		}
		t.Fatalf("%s not a member of ring", member)
		return 0
	}
	if w := weight("b"); w != 3 {
		t.Errorf("b's weight from the file: %v, want 3", w)
	}
	ta.admin.must(200, "PUT", "/directors/ring/members/a", `{"weight":2}`)
	if w := weight("a"); w != 2 {
		t.Errorf("a's weight after PUT: %v, want 2", w)
	}
	if !strings.Contains(ta.admin.must(200, "GET", "/config", ""), "a = 2.0") {
		t.Error("GET /config lacks the shard weight set at run time")
	}
	ta.admin.must(400, "PUT", "/directors/rr/members/a", `{"weight":2}`)
}
