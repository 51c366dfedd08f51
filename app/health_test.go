package app

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// healthConfig is two probed backends a and b behind a round robin.
const healthConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "web"
shutdown_timeout = "5s"

[admin]
listen = "{ADMIN}"

[log]
access = ""

[probes.fast]
url = "/healthz"
interval = "%s"
timeout = "%s"
window = %d
threshold = %d
initial = %d

[backends.a]
address = "%s"
probe = "fast"

[backends.b]
address = "%s"
probe = "fast"

[directors.web]
type = "round_robin"
members = ["a", "b"]
`

// TestProbeKillAndRevive kills a probed backend and brings it back: it
// must turn sick within interval × (window - threshold + 1) plus the
// timeout, and healthy again within interval × threshold plus the
// timeout, as /status shows; meanwhile requests go to the other backend.
// The override healthy and auto are checked while it is down.
func TestProbeKillAndRevive(t *testing.T) {
	const (
		interval           = 200 * time.Millisecond
		timeout            = 100 * time.Millisecond
		window, threshold  = 5, 3
		slack              = 60 * time.Millisecond // /status polling (10ms) and scheduling
		sickBound          = interval*(window-threshold+1) + timeout + slack
		healthyBound       = interval*threshold + timeout + slack
		initialAtThreshold = threshold
	)
	a, b := startBackend(t, "a"), startBackend(t, "b")
	ta := startApp(t, fmt.Sprintf(healthConfig, interval, timeout, window, threshold, initialAtThreshold, a.addr, b.addr))
	ac := ta.admin

	// initial = threshold: healthy from the start, before any probe.
	if h := ac.health("a"); h != "healthy" {
		t.Fatalf("a at start: %s; want healthy (initial = threshold)", h)
	}
	if got := count(bodies(t, ta.proxy, "/", 4)); got["a"] != 2 || got["b"] != 2 {
		t.Fatalf("both healthy: %v; want a and b twice each", got)
	}
	// Let a few real probes fill the window, so the kill starts from a
	// window of good results.
	time.Sleep(interval * window)

	killed := time.Now()
	a.kill()
	took := ac.waitHealth("a", "sick", killed, 3*sickBound)
	t.Logf("sick %v after the kill (bound %v)", took, sickBound)
	if took > sickBound {
		t.Errorf("a turned sick after %v; want within interval × (window-threshold+1) + timeout = %v", took, sickBound)
	}
	st := ac.status().Backends["a"]
	if st.Probe == nil || st.Probe.Healthy || st.Probe.Name != "fast" || len(st.Probe.Window) != window {
		t.Errorf("a's probe in /status: %+v", st.Probe)
	}
	if got := count(bodies(t, ta.proxy, "/", 4)); got["b"] != 4 {
		t.Errorf("a sick: %v; want every request on b", got)
	}

	// The override wins over the probe; auto gives the probe its say back.
	ac.must(200, "POST", "/backends/a/health", `{"state":"healthy"}`)
	if st := ac.status().Backends["a"]; st.Health != "healthy" || st.AdminState != "healthy" {
		t.Errorf("a forced healthy: health %s admin_state %s", st.Health, st.AdminState)
	}
	ac.must(200, "POST", "/backends/a/health", `{"state":"auto"}`)
	if st := ac.status().Backends["a"]; st.Health != "sick" || st.AdminState != "auto" {
		t.Errorf("a back to auto while down: health %s admin_state %s; want sick, auto", st.Health, st.AdminState)
	}

	revived := time.Now()
	a.start()
	took = ac.waitHealth("a", "healthy", revived, 3*healthyBound)
	t.Logf("healthy %v after it came back (bound %v)", took, healthyBound)
	if took > healthyBound {
		t.Errorf("a turned healthy after %v; want within interval × threshold + timeout = %v", took, healthyBound)
	}
	if got := count(bodies(t, ta.proxy, "/", 4)); got["a"] != 2 || got["b"] != 2 {
		t.Errorf("a back: %v; want a and b twice each", got)
	}
}

// TestProbeInitialBelowThreshold starts with initial = 0 and threshold 2:
// the backend is sick from the start, takes no request until two probes
// were good, then takes its share.
func TestProbeInitialBelowThreshold(t *testing.T) {
	const interval = 500 * time.Millisecond
	a, b := startBackend(t, "a"), startBackend(t, "b")
	text := fmt.Sprintf(healthConfig, interval, 200*time.Millisecond, 3, 2, 0, a.addr, b.addr)
	// b without a probe: healthy.
	text = strings.Replace(text, "probe = \"fast\"\n\n[directors", "\n[directors", 1)
	start := time.Now()
	ta := startApp(t, text)
	ac := ta.admin
	// The second probe cannot end before one interval after the start:
	// until then a is sick (initial respected).
	if h := ac.health("a"); h != "sick" {
		t.Fatalf("a %v after start: %s; want sick (initial 0 < threshold 2)", time.Since(start), h)
	}
	if got := count(bodies(t, ta.proxy, "/", 4)); got["b"] != 4 && time.Since(start) < interval {
		t.Errorf("a sick at start: %v; want every request on b", got)
	}
	took := ac.waitHealth("a", "healthy", start, 4*interval)
	t.Logf("healthy %v after start", took)
	if got := count(bodies(t, ta.proxy, "/", 4)); got["a"] != 2 {
		t.Errorf("a healthy: %v; want a twice", got)
	}
}

// TestOverrideSick takes a healthy backend out at once with the sick
// override, and auto restores the probe's verdict (healthy).
func TestOverrideSick(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	ta := startApp(t, fmt.Sprintf(healthConfig, time.Second, 500*time.Millisecond, 3, 2, 2, a.addr, b.addr))
	ac := ta.admin
	before := a.requests.Load()
	ac.must(200, "POST", "/backends/a/health", `{"state":"sick"}`)
	if got := count(bodies(t, ta.proxy, "/", 6)); got["b"] != 6 {
		t.Errorf("a set sick: %v; want every request on b", got)
	}
	if n := a.requests.Load(); n != before {
		t.Errorf("a served %d requests while set sick", n-before)
	}
	st := ac.status().Backends["a"]
	if st.Health != "sick" || st.AdminState != "sick" || st.Probe == nil || !st.Probe.Healthy {
		t.Errorf("a set sick: %+v; want health sick, admin_state sick, probe healthy", st)
	}
	ac.must(200, "POST", "/backends/a/health", `{"state":"auto"}`)
	if got := count(bodies(t, ta.proxy, "/", 4)); got["a"] != 2 || got["b"] != 2 {
		t.Errorf("a back to auto: %v; want a and b twice each", got)
	}
	// Unknown backend and bad state.
	ac.must(404, "POST", "/backends/nope/health", `{"state":"sick"}`)
	ac.must(400, "POST", "/backends/a/health", `{"state":"dead"}`)
}
