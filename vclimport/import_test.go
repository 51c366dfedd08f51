package vclimport

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/app"
	"github.com/shellac-lb/shellac/config"
)

// importFile imports testdata/NAME.vcl and re-validates its TOML with
// config.Parse, what shellac check runs first.
func importFile(t *testing.T, name string) *Result {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name+".vcl"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Import(name+".vcl", src)
	if err != nil {
		t.Fatal(err)
	}
	if r.Err != nil {
		t.Fatalf("%s: the TOML does not validate: %v\n%s", name, r.Err, r.TOML)
	}
	// What shellac check runs: config.Load, then app.New.
	path := filepath.Join(t.TempDir(), name+".toml")
	if err := os.WriteFile(path, r.TOML, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("%s: config.Load: %v", name, err)
	}
	if _, err := app.New(cfg, path, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("%s: app.New: %v", name, err)
	}
	return r
}

// noteLines returns the lines of r's notes, and fails unless each
// note whose line is in want says what want says.
func checkNotes(t *testing.T, r *Result, want map[int]string) {
	t.Helper()
	got := map[int]string{}
	for _, n := range r.Notes {
		got[n.Line] += n.Why + " | "
	}
	for line, why := range want {
		if !strings.Contains(got[line], why) {
			t.Errorf("line %d: note %q; want one containing %q", line, got[line], why)
		}
	}
	for line := range got {
		if _, ok := want[line]; !ok {
			t.Errorf("unexpected note at line %d: %s", line, got[line])
		}
	}
}

func dur(s string) config.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return config.Duration{Duration: d}
}

func TestImportProbes(t *testing.T) {
	r := importFile(t, "probes")
	c := r.Config
	hc := c.Probes["healthcheck"]
	if hc == nil || hc.URL != "/healthz" || hc.ExpectedStatus != 204 || hc.Timeout != dur("500ms") ||
		hc.Interval != dur("2s") || hc.Window != 5 || hc.Threshold != 3 || hc.Initial != 3 {
		t.Errorf("probe healthcheck: %+v", hc)
	}
	ap := c.Probes["api_probe"]
	if ap == nil || !slices.Equal(ap.Request, []string{"GET /status HTTP/1.1", "Host: api.example.com", "Connection: close"}) ||
		ap.Interval != dur("1m") || ap.Threshold != 6 || ap.Initial != 5 {
		t.Errorf("inline probe of api: %+v", ap)
	}
	w1 := c.Backends["web1"]
	if w1 == nil || w1.Address != "10.0.0.11:8080" || w1.ConnectTimeout != dur("1s") || w1.FirstByteTimeout != dur("30s") ||
		w1.BetweenBytesTimeout != dur("5s") || w1.MaxConnections != 200 || w1.Probe != "healthcheck" {
		t.Errorf("backend web1: %+v", w1)
	}
	if b := c.Backends["web2"]; b == nil || b.ConnectTimeout != dur("1.5s") || b.FirstByteTimeout != dur("60s") {
		t.Errorf("backend web2: %+v", b)
	}
	if b := c.Backends["api"]; b == nil || b.Address != "api.internal:80" || b.HostHeader != "api.example.com" || b.Probe != "api_probe" {
		t.Errorf("backend api: %+v", b)
	}
	if d := c.Directors["web"]; d == nil || d.Type != "round_robin" || !slices.Equal(d.Members, []string{"web1", "web2"}) {
		t.Errorf("director web: %+v", d)
	}
	if c.Server.DefaultDirector != "web" || len(c.Routes) != 0 {
		t.Errorf("default %q, routes %d", c.Server.DefaultDirector, len(c.Routes))
	}
	checkNotes(t, r, map[int]string{57: "every request is passed", 63: "not a cache"})
	for _, s := range []string{"# probes.vcl:6: probe healthcheck", "# probes.vcl:16: backend web1", "# probes.vcl:50: new web = directors.round_robin()"} {
		if !strings.Contains(string(r.TOML), s) {
			t.Errorf("no comment %q in\n%s", s, r.TOML)
		}
	}
}

func TestImportShard(t *testing.T) {
	r := importFile(t, "shard")
	d := r.Config.Directors["cluster"]
	if d == nil || d.Type != "shard" || d.Replicas != 67 || d.By != "url" || d.Warmup != 0.1 || d.Rampup != dur("1m") ||
		!reflect.DeepEqual(d.Idents, map[string]string{"cache_a": "node-a", "cache_b": "node-b", "cache_c": "node-c"}) ||
		!slices.Equal(d.Members, []string{"cache_a", "cache_b", "cache_c"}) {
		t.Errorf("director cluster: %+v", d)
	}
	if r.Config.Server.DefaultDirector != "cluster" {
		t.Errorf("default %q", r.Config.Server.DefaultDirector)
	}
	if b := r.Config.Backends["origin"]; b == nil || b.Address != "origin.example.com:443" {
		t.Errorf("backend origin: %+v", b)
	}
	checkNotes(t, r, map[int]string{10: "TLS", 16: "per-member rampup", 27: "bereq.retries > 0"})
}

func TestImportSaintmodeOverFallback(t *testing.T) {
	r := importFile(t, "saintmode")
	c := r.Config
	for _, n := range []string{"sm1", "sm2"} {
		if d := c.Directors[n]; d == nil || d.Type != "saintmode" || d.Member != "app"+n[2:] || d.Threshold != 5 {
			t.Errorf("director %s: %+v", n, d)
		}
	}
	if d := c.Directors["fb"]; d == nil || d.Type != "fallback" || !d.Sticky || !slices.Equal(d.Members, []string{"sm1", "sm2", "sorry"}) {
		t.Errorf("director fb: %+v", c.Directors["fb"])
	}
	if b := c.Backends["sorry"]; b == nil || b.Address != "unix:/run/sorry.sock" {
		t.Errorf("backend sorry: %+v", b)
	}
	if c.Server.DefaultDirector != "fb" {
		t.Errorf("default %q", c.Server.DefaultDirector)
	}
	checkNotes(t, r, map[int]string{26: `set blacklist = "DURATION"`})
}

func TestImportRoutingByHostAndURL(t *testing.T) {
	r := importFile(t, "routing")
	type rt struct{ host, prefix, director string }
	var got []rt
	for _, x := range r.Config.Routes {
		got = append(got, rt{x.Host, x.PathPrefix, x.Director})
	}
	want := []rt{
		{"img.example.com", "", "img1"},
		{"www.example.com", "/api/", "api1"},
		{"example.com", "/api/", "api1"},
		{"*.legacy.example.com", "", "legacy"},
		{"", "/static/", "img1"},
		{"", "/assets/", "img1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("routes\n%v; want\n%v", got, want)
	}
	if r.Config.Server.DefaultDirector != "www" {
		t.Errorf("default %q (the else branch)", r.Config.Server.DefaultDirector)
	}
	checkNotes(t, r, map[int]string{27: "not anchored with ^", 32: "pipe = true"})
}

func TestImportHashAndWeightedRandom(t *testing.T) {
	r := importFile(t, "weighted")
	c := r.Config
	h := c.Directors["sticky"]
	if h == nil || h.Type != "hash" || !slices.Equal(h.Key, []string{"header:cookie"}) ||
		!reflect.DeepEqual(h.Weights, map[string]float64{"s3": 2}) {
		t.Errorf("director sticky: %+v", h)
	}
	rd := c.Directors["spread"]
	if rd == nil || rd.Type != "random" || !reflect.DeepEqual(rd.Weights, map[string]float64{"s1": 10, "s2": 5, "s3": 1.5}) {
		t.Errorf("director spread: %+v", rd)
	}
	if len(c.Routes) != 1 || c.Routes[0].PathPrefix != "/session/" || c.Routes[0].Director != "sticky" || c.Server.DefaultDirector != "spread" {
		t.Errorf("routes %+v, default %q", c.Routes, c.Server.DefaultDirector)
	}
	checkNotes(t, r, nil)
}

func TestImportMessy(t *testing.T) {
	r := importFile(t, "messy")
	c := r.Config
	if b := c.Backends["default"]; b == nil || b.Address != "[::1]:8080" || b.ProxyHeader != 2 {
		t.Errorf("backend default: %+v", b)
	}
	if b := c.Backends["b_new"]; b == nil || b.Probe != "b_new_probe" || c.Probes["b_new_probe"].Interval != dur("10s") {
		t.Errorf("backend b_new: %+v", b)
	}
	if c.Server.DefaultDirector != "pool" {
		t.Errorf("default %q", c.Server.DefaultDirector)
	}
	checkNotes(t, r, map[int]string{
		8: "vmod geoip2", 9: "vmod header", 10: "include", 12: "ACL", 24: "inline C",
		32: "geoip2.geoip2", 36: "synthetic", 43: "header rewriting", 44: "not in this file",
		49: "synthetic", 50: "synthetic", 52: "synthetic",
	})
}

// TestImportDefaultBackend: without a choice in vcl_recv, Varnish uses
// the first backend declared.
func TestImportDefaultBackend(t *testing.T) {
	r, err := Import("x.vcl", []byte("vcl 4.1;\nbackend a { .host = \"127.0.0.1\"; }\nbackend b { .host = \"127.0.0.2\"; .port = \"81\"; }\n"))
	if err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	if r.Config.Server.DefaultDirector != "a" || r.Config.Backends["a"].Address != "127.0.0.1:80" {
		t.Errorf("default %q, a %+v", r.Config.Server.DefaultDirector, r.Config.Backends["a"])
	}
}

// TestImportLastSetWins: VCL's last set wins, shellac's first route
// does, so a later if comes first and an unconditional set overrides
// what came before it.
func TestImportLastSetWins(t *testing.T) {
	src := `vcl 4.1;
backend a { .host = "127.0.0.1"; }
backend b { .host = "127.0.0.2"; }
backend c { .host = "127.0.0.3"; }
sub vcl_recv {
	if (req.url ~ "^/x") { set req.backend_hint = a; }
	set req.backend_hint = b;
	if (req.url ~ "^/y") { set req.backend_hint = c; }
	if (req.http.host == "h.example") { set req.backend_hint = a; }
}
`
	r, err := Import("x.vcl", []byte(src))
	if err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	var got []string
	for _, x := range r.Config.Routes {
		got = append(got, x.Host+x.PathPrefix+"→"+x.Director)
	}
	if !slices.Equal(got, []string{"h.example→a", "/y→c"}) || r.Config.Server.DefaultDirector != "b" {
		t.Errorf("routes %v default %q", got, r.Config.Server.DefaultDirector)
	}
	checkNotes(t, r, map[int]string{6: "overridden by the choice of backend at line 7"})
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]string{
		"1s": "1s", "500ms": "500ms", "2m": "2m", "1.5s": "1.5s", "1h": "1h", "1d": "24h", "1w": "168h", "0.5m": "30s",
	} {
		if got, ok := durationOf(&Number{Text: in}); !ok || got != want {
			t.Errorf("%s → %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"10", "1x", "s", "-1s"} {
		if got, ok := durationOf(&Number{Text: in}); ok {
			t.Errorf("%s → %q; want no duration", in, got)
		}
	}
}

// TestImportShardParamsAndSides: shard_param objects, stacking a shard
// under a fallback (resolved lazily, on the backend side: by=HASH is the
// object hash), and by=HASH in vcl_recv (Varnish hashes the URL there).
func TestImportShardParamsAndSides(t *testing.T) {
	src := `vcl 4.1;
import directors;
backend a { .host = "127.0.0.1"; .port = "8001"; }
backend b { .host = "127.0.0.1"; .port = "8002"; }
sub vcl_init {
	new p = directors.shard_param();
	p.set(by=KEY, key=p.key(req.http.X-User), healthy=ALL);
	new s = directors.shard();
	s.add_backend(a);
	s.add_backend(b);
	s.associate(p.use());
	new t = directors.shard();
	t.add_backend(a);
	t.add_backend(b);
	new fb = directors.fallback();
	fb.add_backend(t.backend());
	fb.add_backend(b);
}
sub vcl_recv {
	if (req.http.host == "user.example") {
		set req.backend_hint = s.backend();
	} elsif (req.http.host == "url.example") {
		set req.backend_hint = t.backend(by=HASH);
	} else {
		set req.backend_hint = fb.backend();
	}
}
`
	r, err := Import("p.vcl", []byte(src))
	if err != nil || r.Err != nil {
		t.Fatalf("%v %v\n%s", err, r.Err, r.TOML)
	}
	c := r.Config
	if d := c.Directors["s"]; d == nil || d.By != "key" || !slices.Equal(d.Key, []string{"header:X-User"}) || d.Healthy != "all" {
		t.Errorf("s: %+v", d)
	}
	if d := c.Directors["t"]; d == nil || d.By != "hash" {
		t.Errorf("t (under fb, lazy): %+v", d)
	}
	if d := c.Directors["t_2"]; d == nil || d.By != "url" {
		t.Errorf("t_2 (by=HASH in vcl_recv): %+v", d)
	}
	if d := c.Directors["fb"]; d == nil || !slices.Equal(d.Members, []string{"t", "b"}) {
		t.Errorf("fb: %+v", d)
	}
	if c.Routes[0].Director != "s" || c.Routes[1].Director != "t_2" || c.Server.DefaultDirector != "fb" {
		t.Errorf("routes %+v default %q", c.Routes, c.Server.DefaultDirector)
	}
	checkNotes(t, r, nil)
}

// TestImportPositionalArgs: add_backend's positional arguments are
// weight for random and hash, ident, rampup, weight for shard.
func TestImportPositionalArgs(t *testing.T) {
	src := `vcl 4.1;
backend a { .host = "127.0.0.1"; }
backend b { .host = "127.0.0.2"; }
sub vcl_init {
	new s = directors.shard();
	s.add_backend(a, "one");
	s.add_backend(b, "two", 0s, 1.0);
	new h = directors.random();
	h.add_backend(a, 3);
	h.add_backend(b);
}
`
	r, err := Import("a.vcl", []byte(src))
	if err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	if d := r.Config.Directors["s"]; !reflect.DeepEqual(d.Idents, map[string]string{"a": "one", "b": "two"}) {
		t.Errorf("s idents %v", d.Idents)
	}
	if d := r.Config.Directors["h"]; !reflect.DeepEqual(d.Weights, map[string]float64{"a": 3}) {
		t.Errorf("h weights %v", d.Weights)
	}
	checkNotes(t, r, map[int]string{7: "per-member rampup"})
}

// TestImportCustomSubSide: a sub called from vcl_recv runs on the client
// side, where shard's default by=HASH hashes the URL; its choice of
// backend is followed into vcl_recv's routes.
func TestImportCustomSubSide(t *testing.T) {
	src := `vcl 4.1;
import directors;
backend a { .host = "127.0.0.1"; }
backend b { .host = "127.0.0.2"; }
sub vcl_init {
	new s = directors.shard();
	s.add_backend(a);
	s.add_backend(b);
}
sub pick {
	if (req.url ~ "^/cache/") {
		set req.backend_hint = s.backend();
	}
}
sub vcl_recv {
	call pick;
}
`
	r, err := Import("c.vcl", []byte(src))
	if err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	if d := r.Config.Directors["s"]; d == nil || d.By != "url" {
		t.Errorf("s: %+v", d)
	}
	if len(r.Config.Routes) != 1 || r.Config.Routes[0].PathPrefix != "/cache/" || r.Config.Routes[0].Director != "s" {
		t.Errorf("routes %+v", r.Config.Routes)
	}
	checkNotes(t, r, nil)
}

// TestREADMEExample: the worked example of README "Coming from
// Varnish" is what import-vcl writes and prints.
func TestREADMEExample(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "## Coming from Varnish")
	if !ok {
		t.Fatal("no section Coming from Varnish")
	}
	block := func(fence string) string {
		_, x, ok := strings.Cut(sec, "```"+fence+"\n")
		x, _, ok2 := strings.Cut(x, "```")
		if !ok || !ok2 {
			t.Fatalf("no %s block", fence)
		}
		return x
	}
	r, err := Import("site.vcl", []byte(block("vcl")))
	if err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	for _, l := range strings.Split(block("toml"), "\n") {
		if l != "" && !strings.Contains(string(r.TOML), l+"\n") {
			t.Errorf("README line %q is not in the TOML:\n%s", l, r.TOML)
		}
	}
	var notes []string
	for _, n := range r.Notes {
		notes = append(notes, "site.vcl:"+n.String()) // as import-vcl prints them
	}
	_, printed, _ := strings.Cut(sec, "and prints\n\n```\n")
	printed, _, _ = strings.Cut(printed, "```")
	if got := strings.Join(notes, "\n") + "\n"; got != printed {
		t.Errorf("notes\n%s; README says\n%s", got, printed)
	}
}

// TestImportBuiltinShaped: VCL shaped like builtin.vcl parses in every
// sub, and each statement is listed at its line.
func TestImportBuiltinShaped(t *testing.T) {
	r := importFile(t, "builtin")
	if r.Config.Server.DefaultDirector != "default" {
		t.Errorf("default %q", r.Config.Server.DefaultDirector)
	}
	checkNotes(t, r, map[int]string{
		7: "synthetic", 10: "synthetic", 15: "no shellac equivalent", 16: "URL rewriting", 17: "header rewriting",
		18: "header rewriting", 19: "header rewriting", 20: "every request is passed", 23: "not a cache", 24: "not a cache",
		27: "not a cache", 28: "not a cache", 33: "not a cache", 36: "not a cache", 37: "not a cache", 38: "not a cache",
		41: "synthetic", 42: "synthetic", 45: "synthetic", 48: "not a cache", 59: "not a cache", 60: "header rewriting",
		61: "not a cache", 64: "not a cache", 65: "X-Forwarded-For",
	})
}
