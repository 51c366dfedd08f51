package app

import (
	"strings"
	"testing"
)

// TestPutMemberWeightOnRegisteredType sets a member's weight at run time
// on a director type from the registry (least_conn): accepted, applied,
// and written in the running configuration.
func TestPutMemberWeightOnRegisteredType(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	ta := startApp(t, `
[server]
listen = ["{LISTEN}"]
default_director = "lb"
[admin]
listen = "{ADMIN}"
[log]
access = ""
[backends.a]
address = "`+a.addr+`"
[backends.b]
address = "`+b.addr+`"
[directors.lb]
type = "least_conn"
members = ["a", "b"]
`)
	ta.admin.must(200, "PUT", "/directors/lb/members/b", `{"weight":3}`)
	cfg := ta.admin.must(200, "GET", "/config", "")
	if !strings.Contains(cfg, "b = 3.0") && !strings.Contains(cfg, "b = 3") {
		t.Errorf("running config lacks the new weight of b:\n%s", cfg)
	}
	if got := count(bodies(t, ta.proxy, "/", 8)); got["a"]+got["b"] != 8 {
		t.Errorf("after the weight change: %v; want 8 answers from a and b", got)
	}
}
