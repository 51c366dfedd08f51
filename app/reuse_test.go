package app

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// reuseConfig: a round-robin over a, b and c (the default director), and
// on /fail a fallback whose first member is a saintmode over a: a's 503
// is retried on b and blacklists the object on a.
const reuseConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "rr"
shutdown_timeout = "5s"

[admin]
listen = "{ADMIN}"

[log]
access = ""

[backends.a]
address = %q

[backends.b]
address = %q

[backends.c]
address = %q

[directors.rr]
type = "round_robin"
members = ["a", "b", "c"]

[directors.sm_a]
type = "saintmode"
member = "a"
threshold = 10

[directors.web]
type = "fallback"
members = ["sm_a", "b"]

[[routes]]
path_prefix = "/fail"
director = "web"
retries = 1
retry_on = ["5xx"]
blacklist = "30s"
`

func startReuseApp(t *testing.T) *testApp {
	t.Helper()
	a, b, c := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
	return startApp(t, fmt.Sprintf(reuseConfig, a.addr, b.addr, c.addr))
}

func (ta *testApp) reload(t *testing.T) {
	t.Helper()
	if err := ta.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
}

// saintCount returns sm_a's blacklist count from GET /status.
func saintCount(t *testing.T, ta *testApp) int {
	t.Helper()
	for _, s := range ta.admin.status().Saintmode {
		if s.Name == "sm_a" {
			return s.Count
		}
	}
	t.Fatal("no sm_a in /status")
	return 0
}

// TestReloadKeepsSaintmodeBlacklist: an object blacklisted through a real
// failed request stays blacklisted across a reload of the unchanged file,
// in the very same director object.
func TestReloadKeepsSaintmodeBlacklist(t *testing.T) {
	ta := startReuseApp(t)
	sm := ta.Table().Directors["sm_a"]
	c := &http.Client{Timeout: 5 * time.Second}
	if code, body := get(t, c, ta.proxy+"/fail"); code != 503 || body != "b failed" {
		t.Fatalf("GET /fail: %d %q; want b's 503 after a's", code, body)
	}
	if n := saintCount(t, ta); n != 1 {
		t.Fatalf("sm_a count %d before reload; want 1", n)
	}
	ta.reload(t)
	if n := saintCount(t, ta); n != 1 {
		t.Errorf("sm_a count %d after reload; want 1", n)
	}
	if ta.Table().Directors["sm_a"] != sm {
		t.Error("sm_a rebuilt by a reload of the unchanged file")
	}
	// The blacklist still steers the object away from a.
	if code, body := get(t, c, ta.proxy+"/fail"); code != 503 || body != "b failed" {
		t.Errorf("GET /fail after reload: %d %q; want b's 503", code, body)
	}
}

// TestReloadContinuesRoundRobin: a reload of the unchanged file does not
// restart the round-robin sequence.
func TestReloadContinuesRoundRobin(t *testing.T) {
	ta := startReuseApp(t)
	before := bodies(t, ta.proxy, "/", 2)
	ta.reload(t)
	after := bodies(t, ta.proxy, "/", 4)
	seq := append(before, after...)
	for i := 1; i < len(seq); i++ {
		if seq[i] == seq[i-1] || (i >= 3 && seq[i] != seq[i-3]) {
			t.Fatalf("sequence %v across the reload (after %d); want a, b, c in turn", seq, len(before))
		}
	}
}

// TestReloadRebuildsRunTimeChanged: a director changed through the admin
// API is compared with the running configuration: reloading the file
// (which differs from the run-time state) rebuilds it and its parents,
// while a file that says what the run-time change did keeps it.
func TestReloadRebuildsRunTimeChanged(t *testing.T) {
	ta := startReuseApp(t)
	t0 := ta.Table()
	ta.admin.must(200, "DELETE", "/directors/rr/members/c", "")
	if t1 := ta.Table(); t1.Directors["rr"] != t0.Directors["rr"] {
		t.Fatal("the admin API replaced rr instead of changing it")
	}

	// The running state, written as the file: everything kept.
	running := ta.admin.must(200, "GET", "/config", "")
	file, err := os.ReadFile(ta.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ta.path, []byte(running), 0o644); err != nil {
		t.Fatal(err)
	}
	ta.reload(t)
	t1 := ta.Table()
	for name, d := range t0.Directors {
		if t1.Directors[name] != d {
			t.Errorf("file equal to the running state: %s rebuilt", name)
		}
	}

	// The original file: rr has c again, in a new object; the others kept.
	if err := os.WriteFile(ta.path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	ta.reload(t)
	t2 := ta.Table()
	if t2.Directors["rr"] == t0.Directors["rr"] {
		t.Error("rr kept although the file differs from its run-time state")
	}
	var names []string
	for _, m := range t2.Directors["rr"].(*directors.RoundRobin).Members() {
		names = append(names, m.Name())
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("rr members after reload %v; want a, b, c", names)
	}
	for _, name := range []string{"sm_a", "web"} {
		if t2.Directors[name] != t0.Directors[name] {
			t.Errorf("%s rebuilt; it did not change", name)
		}
	}
	if got := count(bodies(t, ta.proxy, "/", 6)); got["a"] != 2 || got["b"] != 2 || got["c"] != 2 {
		t.Errorf("rr after reload served %v; want 2 each", got)
	}
}
