package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/admin"
	"github.com/shellac-lb/shellac/config"
)

// twoBackends is a round robin over a and b with the admin API on; %s
// are a's and b's addresses.
const twoBackends = `
[server]
listen = ["{LISTEN}"]
default_director = "web"
shutdown_timeout = "5s"

[admin]
listen = "{ADMIN}"
%s
[log]
access = ""

[backends.a]
address = %q

[backends.b]
address = %q

[directors.web]
type = "round_robin"
members = ["a", "b"]
`

func startTwo(t *testing.T, adminExtra string) *instance {
	return start(t, fmt.Sprintf(twoBackends, adminExtra, backend(t, "a"), backend(t, "b")))
}

// TestTokenRequired: with a token_file, requests without the token or
// with a wrong one get 401 and a JSON error; the right one gets in.
func TestTokenRequired(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startTwo(t, fmt.Sprintf("token_file = %q\n", tokenFile))
	for _, tok := range []string{"", "wrong", "s3cret-token-and-more"} {
		in.token = tok
		for _, ep := range []string{"/status", "/metrics", "/config"} {
			code, body, h := in.do("GET", ep, "")
			if code != 401 {
				t.Errorf("GET %s with token %q: %d; want 401", ep, tok, code)
				continue
			}
			if msg, _ := errorOf(t, body); !strings.Contains(msg, "token") {
				t.Errorf("401 message %q", msg)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
		}
		in.do("POST", "/backends/a/health", `{"state":"sick"}`)
	}
	if h := in.app.Table().Backends["a"].AdminState(); h.String() != "auto" {
		t.Errorf("an unauthenticated request changed a's state to %s", h)
	}
	in.token = "s3cret-token"
	in.must(200, "GET", "/status", "")
	in.must(200, "GET", "/metrics", "")
}

// TestNonLoopbackRefused: the admin API refuses a non-loopback address
// without a token, both in config validation and in admin.New (which is
// only constructed here: nothing listens beyond loopback).
func TestNonLoopbackRefused(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:9091", "192.0.2.10:9091", "[::]:9091", ":9091"} {
		_, err := admin.New(nil, admin.Options{Listen: listen})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("admin.New(%s) without a token: %v; want a refusal naming loopback", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:9091", "[::1]:9091", "localhost:9091", "unix:/tmp/shellac-admin.sock"} {
		if !admin.IsLoopback(listen) {
			t.Errorf("IsLoopback(%s) = false", listen)
		}
	}
	text := "[admin]\nlisten = \"0.0.0.0:9091\"\n"
	if _, err := config.Parse("x.toml", []byte(text)); err == nil || !strings.Contains(err.Error(), "x.toml:2:") {
		t.Errorf("config with a non-loopback admin address and no token: %v; want an error at line 2", err)
	}
	// With a token the address is accepted (New only; not started).
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("tok"), 0o600)
	if _, err := admin.New(nil, admin.Options{Listen: "0.0.0.0:9091", TokenFile: tokenFile}); err != nil {
		t.Errorf("non-loopback with a token: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	if _, err := admin.New(nil, admin.Options{Listen: "0.0.0.0:9091", TokenFile: empty}); err == nil {
		t.Error("an empty token file was accepted")
	}
}

// TestMalformedRequests: bad JSON and bad values get 400 with a message
// saying what is wrong; unknown things 404; wrong methods 405; all JSON.
func TestMalformedRequests(t *testing.T) {
	in := startTwo(t, "")
	cases := []struct {
		method, path, body string
		code               int
		msg                string // in the error message
	}{
		{"PUT", "/backends/c", `{"address": "127.0.0.1:1"`, 400, "malformed JSON"},
		{"PUT", "/backends/c", ``, 400, "malformed JSON"},
		{"PUT", "/backends/c", `["127.0.0.1:1"]`, 400, "malformed JSON"},
		{"PUT", "/backends/c", `{"address": "127.0.0.1:1"} {}`, 400, "malformed JSON"},
		{"PUT", "/backends/c", `{"adress": "127.0.0.1:1"}`, 400, "adress"},
		{"PUT", "/backends/c", `{"address": "127.0.0.1:1", "max_idle": "eight"}`, 400, "max_idle"},
		{"PUT", "/backends/c", `{"address": "127.0.0.1:1", "connect_timeout": "soon"}`, 400, "connect_timeout"},
		{"PUT", "/backends/c", `{"address": "127.0.0.1:1", "probe": null}`, 400, "null"},
		{"PUT", "/backends/c", `{"address": "127.0.0.1:1", "probe": "nope"}`, 400, "nope"},
		{"PUT", "/backends/web", `{"address": "127.0.0.1:1"}`, 400, "same name"},
		{"POST", "/backends/a/health", `{"state": "dead"}`, 400, "dead"},
		{"POST", "/backends/a/health", `{"health": "sick"}`, 400, "health"},
		{"POST", "/backends/a/health", `{}`, 400, "state"},
		{"POST", "/backends/zz/health", `{"state": "sick"}`, 404, "zz"},
		{"PUT", "/directors/web/members/a", `{"weight": 2}`, 400, "weights"},
		{"PUT", "/directors/web/members/a", `{"weight": -1}`, 400, "weight"},
		{"PUT", "/directors/web/members/zz", ``, 404, "zz"},
		{"PUT", "/directors/zz/members/a", ``, 404, "zz"},
		{"DELETE", "/directors/web/members/zz", ``, 404, "zz"},
		{"DELETE", "/backends/zz", ``, 404, "zz"},
		{"GET", "/explain?director=zz", ``, 404, "zz"},
		{"GET", "/explain?hash=-1", ``, 400, "hash"},
		{"GET", "/explain?hash=abc", ``, 400, "key= takes a string"},
		{"GET", "/explain?status=42", ``, 400, "status"},
		{"GET", "/explain?client_ip=nope", ``, 400, "client_ip"},
		{"GET", "/nothing", ``, 404, "no such endpoint"},
		{"DELETE", "/status", ``, 405, "not allowed"},
		{"GET", "/reload", ``, 405, "not allowed"},
	}
	for _, c := range cases {
		code, body, h := in.do(c.method, c.path, c.body)
		if code != c.code {
			t.Errorf("%s %s %s: %d %s; want %d", c.method, c.path, c.body, code, body, c.code)
			continue
		}
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
		if msg, _ := errorOf(t, body); !strings.Contains(msg, c.msg) {
			t.Errorf("%s %s %s: message %q; want it to mention %q", c.method, c.path, c.body, msg, c.msg)
		}
	}
	// Nothing of that changed the configuration.
	if _, ok := in.status().Backends["c"]; ok {
		t.Error("a refused PUT created backend c")
	}
}

// TestReloadBrokenFileKeepsConfig: POST /reload of a broken file answers
// 422 with every error at its line, and the running configuration stays.
func TestReloadBrokenFileKeepsConfig(t *testing.T) {
	in := startTwo(t, "")
	before := in.must(200, "GET", "/config", "")
	broken := "[server]\nlisten = [\"127.0.0.1:1\"]\ndefault_director = \"nope\"\n\n[backends.a]\naddress = \"127.0.0.1:9001\"\nbogus = 1\n"
	if err := os.WriteFile(in.path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body, _ := in.do("POST", "/reload", "")
	if code != 422 {
		t.Fatalf("reload of a broken file: %d %s; want 422", code, body)
	}
	msg, errs := errorOf(t, body)
	if len(errs) != 2 || !strings.Contains(errs[0], "shellac.toml:3:") || !strings.Contains(errs[1], "shellac.toml:7:") || !strings.Contains(errs[1], "bogus") {
		t.Errorf("errors %q (%s); want one at line 3 and one at line 7 naming bogus", errs, msg)
	}
	if after := in.must(200, "GET", "/config", ""); after != before {
		t.Errorf("the running config changed after a failed reload:\n%s", after)
	}
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		code, body := in.get("/")
		if code != 200 {
			t.Fatalf("after a failed reload: %d %s", code, body)
		}
		seen[body]++
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Errorf("after a failed reload: %v; want a and b twice each", seen)
	}
	if st := in.status(); st.Server.ReloadFailures != 1 || st.Server.Reloads != 0 {
		t.Errorf("reloads %d, failures %d; want 0, 1", st.Server.Reloads, st.Server.ReloadFailures)
	}
}

// TestRunTimeAPI adds, updates and removes a backend and members, and
// checks the answers, /status and /config at each step.
func TestRunTimeAPI(t *testing.T) {
	in := startTwo(t, "")
	c := backend(t, "c")

	out := in.must(201, "PUT", "/backends/c", fmt.Sprintf(`{"address": %q, "max_idle": 8, "connect_timeout": "1s"}`, c))
	var bs admin.BackendStatus
	if err := json.Unmarshal([]byte(out), &bs); err != nil || bs.Address != c || bs.Health != "healthy" {
		t.Errorf("PUT new backend answered %s (%v)", out, err)
	}
	cfgText := in.must(200, "GET", "/config", "")
	if !strings.Contains(cfgText, "[backends.c]") || !strings.Contains(cfgText, "max_idle = 8") || !strings.Contains(cfgText, `first_byte_timeout = "1m"`) {
		t.Errorf("GET /config lacks backend c with its defaults:\n%s", cfgText)
	}
	// Same settings again: 200, the same object.
	obj := in.app.Table().Backends["c"]
	in.must(200, "PUT", "/backends/c", fmt.Sprintf(`{"address": %q, "max_idle": 8, "connect_timeout": "1s"}`, c))
	if in.app.Table().Backends["c"] != obj {
		t.Error("PUT with unchanged settings replaced the backend")
	}
	// c takes no request until it is a member.
	for i := 0; i < 4; i++ {
		if _, body := in.get("/"); body == "c" {
			t.Fatal("c got a request before it joined a director")
		}
	}
	out = in.must(200, "PUT", "/directors/web/members/c", "")
	var ds admin.DirectorStatus
	if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds.Members) != 3 || ds.Members[2].Name != "c" {
		t.Errorf("PUT member answered %s (%v)", out, err)
	}
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		_, body := in.get("/")
		seen[body]++
	}
	if seen["a"] != 2 || seen["b"] != 2 || seen["c"] != 2 {
		t.Errorf("round robin over a, b, c: %v", seen)
	}
	// Changed connection settings: a new object, the old one drains.
	in.must(200, "PUT", "/backends/c", fmt.Sprintf(`{"address": %q, "max_idle": 4}`, c))
	if in.app.Table().Backends["c"] == obj || !obj.Gone() {
		t.Error("PUT with changed settings did not replace and drain the backend")
	}
	if m := in.status().Directors["web"].Members; len(m) != 3 || m[2].Name != "c" {
		t.Errorf("web after c was replaced: %+v", m)
	}

	// Refusals that keep the configuration valid.
	code, body, _ := in.do("DELETE", "/directors/web/members/a", "")
	if code != 200 {
		t.Fatalf("DELETE member a: %d %s", code, body)
	}
	in.must(200, "DELETE", "/directors/web/members/b", "")
	code, body, _ = in.do("DELETE", "/directors/web/members/c", "")
	if msg, _ := errorOf(t, body); code != 409 || !strings.Contains(msg, "only member") {
		t.Errorf("DELETE of the last member: %d %s; want 409", code, body)
	}
	code, body, _ = in.do("DELETE", "/backends/c", "")
	if msg, _ := errorOf(t, body); code != 409 || !strings.Contains(msg, "only member") {
		t.Errorf("DELETE of a director's last member backend: %d %s; want 409", code, body)
	}
	in.must(200, "DELETE", "/backends/a", "")
	if _, ok := in.status().Backends["a"]; ok {
		t.Error("a still in /status after DELETE")
	}
	cfgText = in.must(200, "GET", "/config", "")
	if strings.Contains(cfgText, "[backends.a]") || !strings.Contains(cfgText, `members = ["c"]`) {
		t.Errorf("GET /config after the changes:\n%s", cfgText)
	}
	if _, err := config.Parse("running", []byte(cfgText)); err != nil {
		t.Errorf("GET /config does not load: %v", err)
	}
}

// TestSaintmodeAndRoutesRefusals: a saintmode director's member cannot be
// changed through the members API, and a backend a route or saintmode
// names cannot be deleted.
func TestSaintmodeAndRoutesRefusals(t *testing.T) {
	in := start(t, fmt.Sprintf(`
[server]
listen = ["{LISTEN}"]

[admin]
listen = "{ADMIN}"

[log]
access = ""

[backends.a]
address = %q

[backends.b]
address = %q

[directors.sm]
type = "saintmode"
member = "a"

[[routes]]
director = "b"
`, backend(t, "a"), backend(t, "b")))
	for _, c := range []struct{ method, path, msg string }{
		{"PUT", "/directors/sm/members/b", "one member"},
		{"DELETE", "/directors/sm/members/a", "one member"},
		{"DELETE", "/backends/a", "saintmode"},
		{"DELETE", "/backends/b", "routes[0]"},
	} {
		code, body, _ := in.do(c.method, c.path, "")
		if msg, _ := errorOf(t, body); code != 409 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s %s: %d %s; want 409 mentioning %q", c.method, c.path, code, body, c.msg)
		}
	}
}

// TestUnixSocket serves the admin API on a UNIX socket (loopback by
// nature: no token needed), replacing a stale socket file.
func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // leaves the socket file behind, as a crash would
	in := start(t, fmt.Sprintf(strings.Replace(twoBackends, "{ADMIN}", "unix:"+sock, 1), "", backend(t, "a"), backend(t, "b")))
	in.admin = "http://admin"
	in.c = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	if st := in.status(); len(st.Backends) != 2 {
		t.Errorf("status over the UNIX socket: %+v", st)
	}
}
