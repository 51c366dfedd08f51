package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

func sec(n float64) Duration { return Duration{time.Duration(n * float64(time.Second))} }

// defaultBackend is a network backend at addr with every default.
func defaultBackend(name, addr string) *Backend {
	return &Backend{
		Name: name, Address: addr,
		ConnectTimeout: sec(3.5), FirstByteTimeout: sec(60), BetweenBytesTimeout: sec(60),
		MaxIdle: 64, IdleTimeout: sec(30),
	}
}

// specConfig is what testdata/spec.toml (the example of docs/spec.md section 2) means.
func specConfig() *Config {
	app1 := defaultBackend("app1", "127.0.0.1:9001")
	app1.Probe = "http_ok"
	return &Config{
		Server: Server{
			Listen: []string{"127.0.0.1:8080"}, DefaultDirector: "web",
			ShutdownTimeout: sec(30), XForwardedFor: true, TCPSmartAccept: true,
		},
		Limits: Limits{
			MaxConnections: 100000, MaxRequestLineBytes: 8192, MaxHeaderBytes: 65536, MaxHeaders: 100,
			ClientHeaderTimeout: sec(10), ClientIdleTimeout: sec(60), TLSHandshakeTimeout: sec(10), MaxTLSHandshakes: 1024,
		},
		Admin: Admin{Listen: "127.0.0.1:9091"},
		Log:   Log{Access: "stdout", Format: "json", Level: "info"},
		Probes: map[string]*Probe{
			"http_ok": {Name: "http_ok", URL: "/healthz", ExpectedStatus: 200, Interval: sec(2), Timeout: sec(1),
				Window: 8, Threshold: 3, Initial: 2},
		},
		Backends: map[string]*Backend{
			"app1": app1,
			"app2": defaultBackend("app2", "unix:/run/app2.sock"),
			"maintenance": {Name: "maintenance", Type: "synthetic", Options: map[string]any{
				"status": int64(503), "body": "down for maintenance\n",
				"headers": map[string]any{"Retry-After": "120"},
			}},
		},
		Directors: map[string]*Director{
			"web": {Name: "web", Type: "random", Members: []string{"app1", "app2"},
				Weights: map[string]float64{"app1": 2}, MaxEjectionPercent: 50},
			"sticky": {Name: "sticky", Type: "hash", Members: []string{"app1", "app2"}, Key: []string{"cookie:session"}, MaxEjectionPercent: 50},
			"cache": {Name: "cache", Type: "shard", Members: []string{"app1_sm", "app2_sm"},
				Idents: map[string]string{"app1_sm": "alpha"}, Replicas: 67, By: "key", Key: []string{"header:X-User"},
				Healthy: "chosen", Warmup: -1, Digest: "sha256", MaxEjectionPercent: 50},
			"app1_sm":  {Name: "app1_sm", Type: "saintmode", Member: "app1", Threshold: 10},
			"app2_sm":  {Name: "app2_sm", Type: "saintmode", Member: "app2", Threshold: 10},
			"failover": {Name: "failover", Type: "fallback", Members: []string{"web", "maintenance"}, MaxEjectionPercent: 50},
		},
		Routes: []*Route{{
			Host: "img.example.com", PathPrefix: "/", Director: "cache", Retries: 2,
			RetryOn: []string{"connect", "reset", "5xx", "timeout"}, Blacklist: sec(20),
		}},
	}
}

// clearPos zeroes every position in c, for comparisons.
func clearPos(c *Config) *Config {
	for _, p := range c.Probes {
		p.Pos = Pos{}
	}
	for _, b := range c.Backends {
		b.Pos = Pos{}
	}
	for _, d := range c.Directors {
		d.Pos = Pos{}
	}
	for _, r := range c.Routes {
		r.Pos = Pos{}
	}
	return c
}

func mustParse(t *testing.T, name, src string) *Config {
	t.Helper()
	c, err := Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("Parse(%s):\n%v", name, err)
	}
	return c
}

func TestParseSpecExample(t *testing.T) {
	c, err := Load("testdata/spec.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Backends["app1"].Pos, (Pos{File: "testdata/spec.toml", Line: 41, Col: 11}); got != want {
		t.Errorf("backends.app1 Pos = %v, want %v", got, want)
	}
	if got, want := c.Routes[0].Pos, (Pos{File: "testdata/spec.toml", Line: 101, Col: 1}); got != want {
		t.Errorf("routes[0] Pos = %v, want %v", got, want)
	}
	if got, want := clearPos(c), specConfig(); !reflect.DeepEqual(got, want) {
		gt, _ := got.TOML()
		wt, _ := want.TOML()
		t.Errorf("spec.toml parsed as\n%s\nwant\n%s", gt, wt)
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "empty.toml", "")
	want := &Config{
		Server: Server{Listen: []string{"127.0.0.1:8080"}, ShutdownTimeout: sec(30), XForwardedFor: true, TCPSmartAccept: true},
		Limits: Limits{
			MaxConnections: 100000, MaxRequestLineBytes: 8192, MaxHeaderBytes: 65536, MaxHeaders: 100,
			ClientHeaderTimeout: sec(10), ClientIdleTimeout: sec(60), TLSHandshakeTimeout: sec(10), MaxTLSHandshakes: 1024,
		},
		Admin: Admin{Listen: "127.0.0.1:9091"},
		Log:   Log{Access: "stdout", Format: "json", Level: "info"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("empty config = %+v, want %+v", c, want)
	}

	c = clearPos(mustParse(t, "t.toml", `
[probes.p]
[probes.q]
request = ["GET / HTTP/1.1", "Host: a"]
threshold = 5
[backends.a]
address = "127.0.0.1:80"
[backends.s]
type = "synthetic"
[directors.sh]
type = "shard"
members = ["a"]
[directors.shk]
type = "shard"
members = ["a"]
key = ["int:header:X-Key"]
[directors.sm]
type = "saintmode"
member = "a"
[directors.rr]
type = "round_robin"
members = ["a"]
[[routes]]
director = "rr"
`))
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"probe p", c.Probes["p"], &Probe{Name: "p", URL: "/", ExpectedStatus: 200, Interval: sec(5), Timeout: sec(2), Window: 8, Threshold: 3, Initial: 2}},
		{"probe q", c.Probes["q"], &Probe{Name: "q", Request: []string{"GET / HTTP/1.1", "Host: a"}, ExpectedStatus: 200, Interval: sec(5), Timeout: sec(2), Window: 8, Threshold: 5, Initial: 4}},
		{"backend a", c.Backends["a"], defaultBackend("a", "127.0.0.1:80")},
		{"backend s", c.Backends["s"], &Backend{Name: "s", Type: "synthetic"}},
		{"director sh", c.Directors["sh"], &Director{Name: "sh", Type: "shard", Members: []string{"a"}, Replicas: 67, By: "hash", Healthy: "chosen", Warmup: -1, Digest: "sha256", MaxEjectionPercent: 50}},
		{"director shk", c.Directors["shk"], &Director{Name: "shk", Type: "shard", Members: []string{"a"}, Key: []string{"int:header:X-Key"}, Replicas: 67, By: "key", Healthy: "chosen", Warmup: -1, Digest: "sha256", MaxEjectionPercent: 50}},
		{"director sm", c.Directors["sm"], &Director{Name: "sm", Type: "saintmode", Member: "a", Threshold: 10}},
		{"director rr", c.Directors["rr"], &Director{Name: "rr", Type: "round_robin", Members: []string{"a"}, MaxEjectionPercent: 50}},
		{"route", c.Routes[0], &Route{Director: "rr"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
}

// An explicit zero is kept, not replaced by the default.
func TestExplicitZeroes(t *testing.T) {
	c := mustParse(t, "t.toml", `
[server]
x_forwarded_for = false
shutdown_timeout = "0s"
[admin]
listen = ""
[log]
access = ""
[probes.p]
threshold = 2
initial = 0
[backends.a]
address = "127.0.0.1:80"
max_idle = 0
first_byte_timeout = "0s"
idle_timeout = "0s"
[directors.s]
type = "saintmode"
member = "a"
threshold = 0
[directors.sh]
type = "shard"
members = ["a"]
warmup = 0.0
`)
	checks := []struct {
		name      string
		got, want any
	}{
		{"x_forwarded_for", c.Server.XForwardedFor, false},
		{"shutdown_timeout", c.Server.ShutdownTimeout, Duration{}},
		{"admin.listen", c.Admin.Listen, ""},
		{"log.access", c.Log.Access, ""},
		{"probe initial", c.Probes["p"].Initial, 0},
		{"max_idle", c.Backends["a"].MaxIdle, 0},
		{"first_byte_timeout", c.Backends["a"].FirstByteTimeout, Duration{}},
		{"idle_timeout", c.Backends["a"].IdleTimeout, Duration{}},
		{"saintmode threshold", c.Directors["s"].Threshold, 0},
		{"warmup", c.Directors["sh"].Warmup, 0.0},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestBackendAddr(t *testing.T) {
	for _, tc := range []struct {
		b             Backend
		network, addr string
	}{
		{Backend{Address: "127.0.0.1:80"}, "tcp", "127.0.0.1:80"},
		{Backend{Address: "[::1]:80"}, "tcp", "[::1]:80"},
		{Backend{Address: "unix:/run/a.sock"}, "unix", "/run/a.sock"},
		{Backend{Type: "synthetic"}, "", ""},
	} {
		if n, a := tc.b.Network(), tc.b.Addr(); n != tc.network || a != tc.addr {
			t.Errorf("%q: Network, Addr = %q, %q; want %q, %q", tc.b.Address, n, a, tc.network, tc.addr)
		}
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr         string
		hostRequired bool
		ok           bool
	}{
		{"127.0.0.1:8080", true, true},
		{"[::1]:8080", true, true},
		{"[fe80::1%eth0]:80", true, false},
		{"app.internal:80", true, true},
		{"my_host.svc:80", true, true},
		{"localhost:65535", true, true},
		{":8080", false, true},
		{":8080", true, false},
		{"unix:/run/x.sock", true, true},
		{"unix:/", true, false},
		{"unix:", true, false},
		{"host:0", true, false},
		{"host:http", true, false},
		{"host", true, false},
		{"-bad.com:80", true, false},
		{"a..b:80", true, false},
		{"::1:80", true, false},
	} {
		if got := checkAddr(tc.addr, tc.hostRequired) == ""; got != tc.ok {
			t.Errorf("checkAddr(%q, %v) ok = %v, want %v (%s)", tc.addr, tc.hostRequired, got, tc.ok, checkAddr(tc.addr, tc.hostRequired))
		}
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:9091", true}, {"127.8.9.1:9091", true}, {"[::1]:9091", true}, {"localhost:9091", true},
		{"unix:/run/admin.sock", true}, {":9091", false}, {"0.0.0.0:9091", false}, {"10.0.0.1:9091", false},
		{"admin.example.com:9091", false},
	} {
		if got := isLoopback(tc.addr); got != tc.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestHostPatterns(t *testing.T) {
	for _, tc := range []struct {
		h  string
		ok bool
	}{
		{"example.com", true}, {"*.example.com", true}, {"example.com:8080", true}, {"*.example.com:8443", true},
		{"10.0.0.1", true}, {"[::1]", true}, {"[::1]:8080", true}, {"EXAMPLE.com", true},
		{"*", false}, {"*.", false}, {"a.*.com", false}, {"ex ample.com", false}, {"example.com:0", false},
	} {
		if got := validHostPattern(tc.h); got != tc.ok {
			t.Errorf("validHostPattern(%q) = %v, want %v", tc.h, got, tc.ok)
		}
	}
}

func TestKeySources(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"url", true}, {"host", true}, {"client_ip", true}, {"header:X-User", true}, {"cookie:session", true},
		{"query:id", true}, {"int:header:X-Key", true},
		{"URL", false}, {"header:", false}, {"header:X User", false}, {"query:a=b", false}, {"int:cookie:a", false},
		{"int:header:", false}, {"path", false}, {"body:x", false},
	} {
		if got := checkKeySource(tc.s) == ""; got != tc.ok {
			t.Errorf("checkKeySource(%q) ok = %v, want %v", tc.s, got, tc.ok)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		text string
		d    time.Duration
		out  string
	}{
		{"250ms", 250 * time.Millisecond, "250ms"},
		{"3.5s", 3500 * time.Millisecond, "3.5s"},
		{"60s", time.Minute, "1m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"2h", 2 * time.Hour, "2h"},
		{"1h0m1s", time.Hour + time.Second, "1h0m1s"},
		{"0", 0, "0s"},
	} {
		var d Duration
		if err := d.UnmarshalText([]byte(tc.text)); err != nil || d.Duration != tc.d {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tc.text, d.Duration, err, tc.d)
		}
		out, _ := d.MarshalText()
		if string(out) != tc.out {
			t.Errorf("MarshalText(%v) = %q, want %q", tc.d, out, tc.out)
		}
	}
	var d Duration
	for _, bad := range []string{"", "5", "-1s", "1 s", "soon"} {
		if err := d.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) succeeded", bad)
		}
	}
}

// roundTrip checks that Parse(c.TOML()) equals c.
func roundTrip(t *testing.T, name string, c *Config) {
	t.Helper()
	out, err := c.TOML()
	if err != nil {
		t.Fatalf("%s: TOML: %v", name, err)
	}
	back, err := Parse(name+".out.toml", out)
	if err != nil {
		t.Fatalf("%s: Parse(TOML()):\n%v\n--- TOML():\n%s", name, err, out)
	}
	if !reflect.DeepEqual(clearPos(back), clearPos(c)) {
		t.Errorf("%s: Parse(TOML()) differs from the config:\n%s", name, out)
	}
	again, _ := back.TOML()
	if string(again) != string(out) {
		t.Errorf("%s: TOML() is not stable:\n%s\n---\n%s", name, out, again)
	}
}

func TestRoundTrip(t *testing.T) {
	roundTrip(t, "spec", specConfig())
	roundTrip(t, "empty", mustParse(t, "empty.toml", ""))
	roundTrip(t, "odd", mustParse(t, "odd.toml", `
[server]
listen = ["unix:/run/shellac.sock", "[::1]:8080"]
default_director = "f"
[log]
access = ""
format = "text"
level = "debug"
[admin]
listen = "0.0.0.0:9091"
token_file = "/etc/shellac/token"
[probes.p]
request = ["GET /ping HTTP/1.1", "Host: \"quoted\" \\ \u00e9", "X-Tab: a\tb"]
initial = 0
[backends.s]
type = "synthetic"
status = 204
body = """
multi
line "quoted" \\ 'x' \u0001
"""
headers = { "X-A" = "1", "WWW-Authenticate" = 'Basic realm="x"' }
[backends.n]
address = "app.internal:8080"
host_header = "app.example.com"
proxy_header = 2
max_connections = 10
[directors.r]
type = "random"
members = ["n", "s"]
weights = { n = 1e3, s = 0.25 }
[directors.f]
type = "fallback"
members = ["r", "s"]
sticky = true
[directors.sh]
type = "shard"
members = ["n", "s"]
by = "url"
alt = 1
healthy = "all"
rampup = "1m30s"
warmup = 0.5
digest = "fnv1a"
bound = 1.25
[[routes]]
host = "*.example.com:8443"
director = "sh"
pipe = true
[[routes]]
path_prefix = "/api/"
director = "f"
retries = 1
retry_on = ["5xx"]
blacklist = "250ms"
`))
	paths, _ := filepath.Glob("../examples/*.toml")
	for _, p := range paths {
		c, err := Parse(p, testutil.ExampleTOML(t, p))
		if err != nil {
			continue // TestExamples reports it
		}
		roundTrip(t, filepath.Base(p), c)
	}
}

// Every file in examples/ must be a valid configuration.
func TestExamples(t *testing.T) {
	paths, err := filepath.Glob("../examples/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 2 {
		t.Fatalf("found %d examples, want at least shellac.toml and minimal.toml", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			// The certificate files an example names are made for it.
			if _, err := Parse(p, testutil.ExampleTOML(t, p)); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

func TestLoadSpec(t *testing.T) {
	data, err := os.ReadFile("testdata/spec.toml")
	if err != nil {
		t.Fatal(err)
	}
	c1, err1 := Load("testdata/spec.toml")
	c2, err2 := Parse("testdata/spec.toml", data)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(c1, c2) {
		t.Errorf("Load and Parse differ: %v, %v", err1, err2)
	}
}

// The positions the scanner records, on syntax the tests above use less.
func TestScanPositions(t *testing.T) {
	src := strings.TrimPrefix(`
# comment [not.a.table]
title = 'x' # [nor.this]
"quoted.key" = 1
a.b . "c d" = { e = [1, { f = 2 }], 'g' = """
h = 3
""" }
[[t]]
k = 1
[t.sub]
m = 2
[[t]]
k = [
  "x",   # comment ]
  'y',
]
[t.sub]
m = 3
[[t.sub.deep]]
n = 4
[ u . "v" ]
w = '''
[[t]]'''
x = 1
`, "\n")
	ps := scanKeys("s.toml", []byte(src))
	for _, tc := range []struct {
		path      string // "." separated
		line, col int
	}{
		{"title", 2, 1},
		{"quoted.key", 3, 1}, // one segment: split below handles the quotes
		{"a", 4, 1},
		{"a.b", 4, 3},
		{"a.b.c d", 4, 7},
		{"a.b.c d.e", 4, 17},
		{"a.b.c d.e.[1]", 4, 25},
		{"a.b.c d.e.[1].f", 4, 27},
		{"a.b.c d.g", 4, 37},
		{"t.[0]", 7, 1},
		{"t.[0].k", 8, 1},
		{"t.[0].sub", 9, 4},
		{"t.[0].sub.m", 10, 1},
		{"t.[1]", 11, 1},
		{"t.[1].k.[0]", 13, 3},
		{"t.[1].k.[1]", 14, 3},
		{"t.[1].sub.m", 17, 1},
		{"t.[1].sub.deep.[0].n", 19, 1},
		{"u.v", 20, 7},
		{"u.v.w", 21, 1},
		{"u.v.x", 23, 1},
	} {
		path := strings.Split(tc.path, ".")
		if tc.path == "quoted.key" {
			path = []string{"quoted.key"}
		}
		off, ok := ps.offs[pathKey(path)]
		if !ok {
			t.Errorf("%s: no position", tc.path)
			continue
		}
		if p := ps.at(off); p.Line != tc.line || p.Col != tc.col {
			t.Errorf("%s at %d:%d, want %d:%d", tc.path, p.Line, p.Col, tc.line, tc.col)
		}
	}
	if _, ok := ps.offs[pathKey([]string{"t", "[2]"})]; ok {
		t.Errorf("a [[t]] inside a multi-line string was taken for a table")
	}
	if _, ok := ps.offs[pathKey([]string{"h"})]; ok {
		t.Errorf("a line inside a multi-line string was taken for a key")
	}
}

// Directors of registered types (least_conn and p2c, built in through
// directors/contrib, and config_test_scaled, registered by errors_test.go)
// validate: type, members and weights are decoded as for any director,
// the other keys are kept raw for the type's factory, and the whole
// survives a TOML round trip.
func TestRegisteredTypes(t *testing.T) {
	c := clearPos(mustParse(t, "t.toml", `
[backends.a]
address = "127.0.0.1:80"
[backends.b]
address = "127.0.0.1:81"
[backends.sorry]
type = "synthetic"
status = 503
headers = { "Retry-After" = "5" }
[directors.lc]
type = "least_conn"
members = ["a", "b"]
weights = { b = 2.0 }
[directors.p]
type = "p2c"
members = ["lc", "sorry"]
[directors.t]
type = "config_test_scaled"
members = ["p"]
factor = 7
modes = ["fast", "safe"]
`))
	want := map[string]*Director{
		"lc": {Name: "lc", Type: "least_conn", Members: []string{"a", "b"}, Weights: map[string]float64{"b": 2}, MaxEjectionPercent: 50},
		"p":  {Name: "p", Type: "p2c", Members: []string{"lc", "sorry"}, MaxEjectionPercent: 50},
		"t": {Name: "t", Type: "config_test_scaled", Members: []string{"p"}, MaxEjectionPercent: 50,
			Options: map[string]any{"factor": int64(7), "modes": []any{"fast", "safe"}}},
	}
	if !reflect.DeepEqual(c.Directors, want) {
		t.Errorf("directors = %+v\nwant %+v", c.Directors, want)
	}
	wantB := &Backend{Name: "sorry", Type: "synthetic", Options: map[string]any{
		"status": int64(503), "headers": map[string]any{"Retry-After": "5"}}}
	if !reflect.DeepEqual(c.Backends["sorry"], wantB) {
		t.Errorf("backend sorry = %+v\nwant %+v", c.Backends["sorry"], wantB)
	}
	if c.Backends["sorry"].Network() != "" {
		t.Errorf("a synthetic backend's network is %q", c.Backends["sorry"].Network())
	}
	roundTrip(t, "registered", c)
}
