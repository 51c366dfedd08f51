package app

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/admin"
	"github.com/shellac-lb/shellac/internal/testutil"
)

// waitLog waits up to 2s for a line of l holding every one of parts.
func waitLog(t *testing.T, l *testutil.LogBuffer, parts ...string) {
	t.Helper()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		for line := range strings.Lines(l.String()) {
			if all(line, parts) {
				return
			}
		}
	}
	t.Errorf("no log line with %q in:\n%s", parts, l.String())
}

func all(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// outlierOf returns backend name's passive health from /status.
func outlierOf(t *testing.T, ac *adminClient, name string) admin.OutlierStatus {
	t.Helper()
	o := ac.status().Backends[name].Outlier
	if o == nil {
		t.Fatalf("backend %s has no outlier status", name)
	}
	return *o
}

// uneject posts /backends/NAME/uneject and returns its answer.
func uneject(t *testing.T, ac *adminClient, name string) (bool, admin.OutlierStatus) {
	t.Helper()
	var out struct {
		WasEjected bool                `json:"was_ejected"`
		Outlier    admin.OutlierStatus `json:"outlier"`
	}
	if err := json.Unmarshal([]byte(ac.must(200, "POST", "/backends/"+name+"/uneject", "")), &out); err != nil {
		t.Fatal(err)
	}
	return out.WasEjected, out.Outlier
}

// TestOutlierAdmin: a dead backend of three is ejected on connect
// failures (the clients see none: the route retries them), which
// /status, /metrics and the log show; a reload keeps the ejection; the
// admin API's uneject and a "healthy" override end it.
func TestOutlierAdmin(t *testing.T) {
	a, b, c := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
	b.kill()
	var logs testutil.LogBuffer
	backends := ""
	for _, x := range []*testBackend{a, b, c} {
		backends += fmt.Sprintf(`
[backends.%s]
address = %q
outlier_consecutive = 2
outlier_on = ["connect", "5xx"]
outlier_base_ejection = "1m"
`, x.name, x.addr)
	}
	ta := startAppLogged(t, `
[server]
listen = ["{LISTEN}"]
[admin]
listen = "{ADMIN}"
[log]
access = ""
`+backends+`
[directors.web]
type = "round_robin"
members = ["a", "b", "c"]
[[routes]]
director = "web"
retries = 1
retry_on = ["connect"]
retry_budget_percent = 50.0
`, slog.New(slog.NewTextHandler(&logs, nil)))
	ac := ta.admin

	hc := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 12; i++ {
		if code, body := get(t, hc, ta.proxy+"/"); code != 200 {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	st := outlierOf(t, ac, "b")
	if !st.Ejected || st.Ejections != 1 || st.Until == "" {
		t.Fatalf("b after 12 requests: %+v; want ejected once", st)
	}
	for _, n := range []string{"a", "c"} {
		if o := outlierOf(t, ac, n); o.Ejected || o.Ejections != 0 {
			t.Errorf("backend %s: %+v", n, o)
		}
	}
	waitLog(t, &logs, `msg="backend ejected"`, "backend=b", "ejections=1", "duration=1m0s")

	metrics := ac.must(200, "GET", "/metrics", "")
	for _, want := range []string{
		`shellac_backend_ejected{backend="b"} 1`,
		`shellac_backend_ejected{backend="a"} 0`,
		`shellac_backend_ejections_total{backend="b"} 1`,
		"shellac_backends_ejected 1",
		"shellac_retries_total 2",
		"shellac_retry_budget_refused_total 0",
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics has no %q", want)
		}
	}
	if rb := ac.status().Routes[0].RetryBudget; rb == nil || rb.Percent != 50 || rb.Min != 3 {
		t.Errorf("/status routes[0].retry_budget = %+v; want 50%%, min 3", rb)
	}
	cfgText := ac.must(200, "GET", "/config", "")
	for _, want := range []string{"outlier_consecutive = 2", `outlier_max_ejection = "5m"`, "max_ejection_percent = 50", "retry_budget_percent = 50.0", "retry_budget_min = 3"} {
		if !strings.Contains(cfgText, want) {
			t.Errorf("/config has no %q", want)
		}
	}

	// A reload that does not change b keeps it, ejection included.
	ac.must(200, "POST", "/reload", "")
	if st := outlierOf(t, ac, "b"); !st.Ejected {
		t.Errorf("b after a reload: %+v; want still ejected", st)
	}

	if was, o := uneject(t, ac, "b"); !was || o.Ejected {
		t.Errorf("uneject: was_ejected %v, then %+v", was, o)
	}
	waitLog(t, &logs, `msg="backend returned from ejection"`, "backend=b")
	if was, _ := uneject(t, ac, "b"); was {
		t.Error("second uneject: was_ejected true")
	}
	ac.must(404, "POST", "/backends/nope/uneject", "")

	// Still dead: ejected again, for twice as long; then forced healthy.
	for i := 0; i < 12 && !outlierOf(t, ac, "b").Ejected; i++ {
		get(t, hc, ta.proxy+"/")
	}
	if st := outlierOf(t, ac, "b"); !st.Ejected || st.Ejections != 2 {
		t.Fatalf("b dead after its uneject: %+v; want ejected a second time", st)
	}
	ac.must(200, "POST", "/backends/b/health", `{"state":"healthy"}`)
	if st := outlierOf(t, ac, "b"); st.Ejected {
		t.Errorf("b forced healthy: %+v; want not ejected", st)
	}
	ac.must(200, "POST", "/backends/b/health", `{"state":"auto"}`)

	// Back up: b serves again.
	b.start()
	got := count(bodies(t, ta.proxy, "/", 6))
	if got["b"] == 0 {
		t.Errorf("b, alive and not ejected, served nothing: %v", got)
	}
}

// TestOutlierProbeGate: a probed backend's ejection time ends, but it
// stays out until its probe says healthy.
func TestOutlierProbeGate(t *testing.T) {
	x := startBackend(t, "x")
	ta := startApp(t, fmt.Sprintf(`
[server]
listen = ["{LISTEN}"]
default_director = "web"
[admin]
listen = "{ADMIN}"
[log]
access = ""
[probes.p]
url = "/healthz"
interval = "1s"
timeout = "500ms"
window = 1
threshold = 1
initial = 1
[backends.x]
address = %q
probe = "p"
outlier_consecutive = 2
outlier_on = ["5xx"]
outlier_base_ejection = "100ms"
[directors.web]
type = "round_robin"
members = ["x"]
max_ejection_percent = 100
`, x.addr))
	ac := ta.admin
	hc := &http.Client{Timeout: 5 * time.Second}
	for range 2 {
		if code, body := get(t, hc, ta.proxy+"/fail"); code != 503 || body != "x failed" {
			t.Fatalf("/fail answered %d %q; want the backend's 503", code, body)
		}
	}
	ejected := time.Now()
	probes := ac.status().Backends["x"].Probe.Probes
	if code, _ := get(t, hc, ta.proxy+"/"); code != 503 {
		t.Fatalf("GET / with x ejected: %d; want 503", code)
	}
	time.Sleep(150 * time.Millisecond)
	bs := ac.status().Backends["x"]
	if bs.Probe.Probes == probes && (!bs.Outlier.Ejected || !bs.Outlier.AwaitingProbe) {
		t.Errorf("after the ejection time, before a probe: %+v; want ejected, awaiting the probe", *bs.Outlier)
	}
	for time.Since(ejected) < 3*time.Second && outlierOf(t, ac, "x").Ejected {
		time.Sleep(10 * time.Millisecond)
	}
	bs = ac.status().Backends["x"]
	if bs.Outlier.Ejected || bs.Probe.Probes == probes {
		t.Fatalf("3s after a 100ms ejection: ejected %v, %d probes since; want back after a probe", bs.Outlier.Ejected, bs.Probe.Probes-probes)
	}
	t.Logf("ejection of 100ms; back after the next probe, %v after the ejection", time.Since(ejected).Round(time.Millisecond))
	if code, body := get(t, hc, ta.proxy+"/"); code != 200 || body != "x" {
		t.Errorf("GET / after the return: %d %q", code, body)
	}
}
