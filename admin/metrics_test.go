package admin_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// saintConfig: a and b behind a fallback whose first member is a
// saintmode over a; a 5xx on a is retried on b and blacklists the object
// on a. a is probed.
const saintConfig = `
[server]
listen = ["{LISTEN}"]
shutdown_timeout = "5s"

[admin]
listen = "{ADMIN}"

[log]
access = ""

[probes.hz]
url = "/healthz"
interval = "50ms"
timeout = "50ms"
window = 4
threshold = 2
initial = 2

[backends.a]
address = %q
probe = "hz"

[backends.b]
address = %q

[directors.sm_a]
type = "saintmode"
member = "a"
threshold = 10

[directors.web]
type = "fallback"
members = ["sm_a", "b"]

[[routes]]
director = "web"
retries = 1
retry_on = ["5xx"]
blacklist = "30s"
`

// scrape fetches /metrics and parses it.
func scrape(t *testing.T, in *instance) map[string]*dto.MetricFamily {
	t.Helper()
	text := in.must(200, "GET", "/metrics", "")
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, text)
	}
	return mfs
}

// value returns the value of the sample of family name whose labels
// include want, and whether there is one.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics scrapes /metrics after known traffic and checks per-backend
// requests, responses by status class, health, connections, probe
// results and saintmode counts.
func TestMetrics(t *testing.T) {
	in := start(t, fmt.Sprintf(saintConfig, backend(t, "a"), backend(t, "b")))
	// a answers 503, the route retries on b (which fails too: its answer
	// is forwarded) and blacklists /fail on a. The connection to a that
	// answered 503 is closed.
	if code, body := in.get("/fail"); code != 503 || body != "b" {
		t.Fatalf("GET /fail: %d %q; want b's 503", code, body)
	}
	for i := 0; i < 5; i++ {
		if code, body := in.get("/ok"); code != 200 || body != "a" {
			t.Fatalf("GET /ok: %d %q", code, body)
		}
	}
	time.Sleep(300 * time.Millisecond) // a few probes
	mfs := scrape(t, in)

	type sample struct {
		name    string
		labels  map[string]string
		want    float64
		atLeast bool
	}
	a, b := map[string]string{"backend": "a"}, map[string]string{"backend": "b"}
	for _, s := range []sample{
		{"shellac_backend_requests_total", a, 6, false},
		{"shellac_backend_requests_total", b, 1, false},
		{"shellac_backend_responses_total", map[string]string{"backend": "a", "class": "2xx"}, 5, false},
		{"shellac_backend_responses_total", map[string]string{"backend": "a", "class": "5xx"}, 1, false},
		{"shellac_backend_responses_total", map[string]string{"backend": "b", "class": "5xx"}, 1, false},
		{"shellac_backend_responses_total", map[string]string{"backend": "b", "class": "2xx"}, 0, false},
		{"shellac_backend_retries_total", a, 1, false},
		{"shellac_backend_failures_total", a, 1, false},
		{"shellac_backend_healthy", a, 1, false},
		{"shellac_backend_admin_state", map[string]string{"backend": "a", "state": "auto"}, 1, false},
		{"shellac_backend_open_connections", a, 1, true},
		{"shellac_backend_idle_connections", a, 1, true},
		{"shellac_backend_idle_connections", b, 1, true},
		{"shellac_backend_inflight_requests", a, 0, false},
		{"shellac_probe_healthy", a, 1, false},
		{"shellac_probe_window_good", a, 2, true},
		{"shellac_probe_window_size", a, 4, false},
		{"shellac_probe_threshold", a, 2, false},
		{"shellac_probe_checks_total", a, 2, true},
		{"shellac_probe_last_success", a, 1, false},
		{"shellac_saintmode_blacklisted_objects", map[string]string{"director": "sm_a", "backend": "a"}, 1, false},
		{"shellac_saintmode_threshold", map[string]string{"director": "sm_a", "backend": "a"}, 10, false},
		{"shellac_director_healthy", map[string]string{"director": "web", "type": "fallback"}, 1, false},
		{"shellac_director_members", map[string]string{"director": "web"}, 2, false},
		{"shellac_client_connections", nil, 1, true},
		{"shellac_config_reloads_total", map[string]string{"result": "success"}, 0, false},
	} {
		got, ok := value(mfs, s.name, s.labels)
		switch {
		case !ok:
			t.Errorf("%s%v: missing", s.name, s.labels)
		case s.atLeast && got < s.want:
			t.Errorf("%s%v = %v; want at least %v", s.name, s.labels, got, s.want)
		case !s.atLeast && got != s.want:
			t.Errorf("%s%v = %v; want %v", s.name, s.labels, got, s.want)
		}
	}
	if _, ok := value(mfs, "shellac_probe_healthy", b); ok {
		t.Error("probe metrics for b, which has no probe")
	}
	if mfs["go_goroutines"] == nil {
		t.Error("no Go runtime metrics")
	}

	// Health flips show at the next scrape.
	in.must(200, "POST", "/backends/a/health", `{"state":"sick"}`)
	mfs = scrape(t, in)
	if v, _ := value(mfs, "shellac_backend_healthy", a); v != 0 {
		t.Errorf("a set sick: shellac_backend_healthy = %v", v)
	}
	if v, _ := value(mfs, "shellac_backend_admin_state", map[string]string{"backend": "a", "state": "sick"}); v != 1 {
		t.Errorf("a set sick: admin_state{state=sick} = %v", v)
	}
	if v, _ := value(mfs, "shellac_director_healthy", map[string]string{"director": "sm_a"}); v != 0 {
		t.Errorf("a set sick: director sm_a healthy = %v", v)
	}
	// /status agrees on the saintmode entry.
	if sm := in.status().Saintmode; len(sm) != 1 || sm[0].Name != "sm_a" || sm[0].Backend != "a" || sm[0].Count != 1 || sm[0].Threshold != 10 {
		t.Errorf("/status saintmode: %+v", sm)
	}
}
