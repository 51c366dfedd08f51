package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/admin"
)

// recorder is a real net/http backend that keeps what it received: each
// request's path with query and its header, and answers its name with a
// Server and an X-Powered-By field of its own (/500 answers 500).
type recorder struct {
	name string
	addr string
	mu   sync.Mutex
	got  []*http.Request
}

func startRecorder(t *testing.T, name string) *recorder {
	t.Helper()
	r := &recorder{name: name}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got = append(r.got, req)
		r.mu.Unlock()
		w.Header().Set("Server", "app-server/1.0")
		w.Header().Set("X-Powered-By", "php")
		w.Header().Set("X-Got-Id", req.Header.Get("X-Request-Id"))
		if req.URL.Path == "/500" {
			w.WriteHeader(500)
		}
		io.WriteString(w, r.name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

// last returns the last request received, or nil; n how many.
func (r *recorder) last() (*http.Request, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		return nil, 0
	}
	return r.got[len(r.got)-1], len(r.got)
}

func (r *recorder) count() int { _, n := r.last(); return n }

var noRedirects = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// getVia sends a GET with the given Host ("" for the default) and header
// fields ("Name: value"), and returns the response with its body read.
func getVia(t *testing.T, base, host, path string, fields ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, ": ")
		req.Header.Add(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const rulesConfig = `
[server]
listen = ["{LISTEN}"]

[admin]
listen = "{ADMIN}"

[log]
access = ""

[backends.app]
address = "{APP}"

[backends.api]
address = "{API}"

[backends.canary]
address = "{CANARY}"

[[request_rules]]
name = "canonical-host"
when = { host = ["www.example.com"] }
redirect = "https://example.com%{uri}"
code = 301

[[request_rules]]
request_id = "X-Request-Id"

[[request_rules]]
del_header = ["X-Debug"]

[[request_rules]]
name = "maintenance"
when = { path = ["/down"] }
respond = 503
body = "back soon\n"

[[routes]]
path_prefix = "/api/"
director = "api"

[[routes.request_rules]]
strip_prefix = "/api"

[[routes.request_rules]]
set_header = { "X-Api-Client" = "%{client_ip}", "Host" = "api.internal" }
add_header = { "X-Orig-Path" = "%{path}" }

[[routes]]
director = "app"
match = { method = ["POST"], header = { "X-Env" = "staging" } }

[[routes.request_rules]]
director = "canary"

[[routes]]
director = "app"

[[routes.request_rules]]
name = "canary-cookie"
when = { header_regex = { "Cookie" = "(^|; )canary=1(;|$)" } }
director = "canary"

[[routes.response_rules]]
when = { status = [5] }
set_header = { "Cache-Control" = "no-store" }

[[response_rules]]
set_header = { "Strict-Transport-Security" = "max-age=31536000", "X-Served-By" = "%{backend}", "X-Request-Id" = "%{request_id}" }

[[response_rules]]
del_header = ["Server", "X-Powered-By"]
`

func TestRulesEndToEnd(t *testing.T) {
	app, api, canary := startRecorder(t, "app"), startRecorder(t, "api"), startRecorder(t, "canary")
	a := startApp(t, strings.NewReplacer("{APP}", app.addr, "{API}", api.addr, "{CANARY}", canary.addr).Replace(rulesConfig))

	t.Run("canonical host redirect", func(t *testing.T) {
		resp, _ := getVia(t, a.proxy, "www.example.com", "/a/b?x=1&y")
		if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://example.com/a/b?x=1&y" {
			t.Errorf("%d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if n := app.count() + api.count() + canary.count(); n != 0 {
			t.Errorf("a backend received %d requests", n)
		}
	})

	t.Run("respond", func(t *testing.T) {
		resp, body := getVia(t, a.proxy, "", "/down")
		if resp.StatusCode != 503 || body != "back soon\n" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
		}
		if app.count() != 0 {
			t.Error("the backend got the request")
		}
	})

	t.Run("an answered request's body is skipped, the connection stays in step", func(t *testing.T) {
		c, err := net.Dial("tcp", strings.TrimPrefix(a.proxy, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		body := strings.Repeat("x", 100000)
		smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
		fmt.Fprintf(c, "POST /down HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s%s", len(body)+len(smuggled), body, smuggled)
		fmt.Fprintf(c, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		for _, want := range []int{503, 200} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("status %d, want %d", resp.StatusCode, want)
			}
		}
		got, n := app.last()
		if n != 1 || got.URL.Path != "/after" {
			t.Errorf("backend got %d requests, last %v", n, got.URL)
		}
	})

	t.Run("strip prefix and request headers", func(t *testing.T) {
		resp, body := getVia(t, a.proxy, "", "/api/users?id=7", "X-Debug: 1", "X-Api-Client: forged")
		if resp.StatusCode != 200 || body != "api" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		got, _ := api.last()
		if got.URL.RequestURI() != "/users?id=7" {
			t.Errorf("backend got %q, want /users?id=7", got.URL.RequestURI())
		}
		if v := got.Header.Values("X-Api-Client"); len(v) != 1 || v[0] != "127.0.0.1" {
			t.Errorf("X-Api-Client = %q, want one 127.0.0.1", v)
		}
		if got.Host != "api.internal" || got.Header.Get("X-Orig-Path") != "/users" {
			t.Errorf("Host %q X-Orig-Path %q", got.Host, got.Header.Get("X-Orig-Path"))
		}
		if got.Header.Get("X-Debug") != "" {
			t.Error("X-Debug reached the backend")
		}
	})

	t.Run("request id and response headers", func(t *testing.T) {
		resp, body := getVia(t, a.proxy, "", "/page")
		if body != "app" {
			t.Fatalf("body %q", body)
		}
		got, _ := app.last()
		id := got.Header.Get("X-Request-Id")
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("backend saw X-Request-Id %q", id)
		}
		if resp.Header.Get("X-Request-Id") != id || resp.Header.Get("X-Got-Id") != id {
			t.Errorf("client saw id %q (backend echoed %q), backend got %q", resp.Header.Get("X-Request-Id"), resp.Header.Get("X-Got-Id"), id)
		}
		if resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" || resp.Header.Get("X-Served-By") != "app" {
			t.Errorf("response header %v", resp.Header)
		}
		if resp.Header.Get("Server") != "" || resp.Header.Get("X-Powered-By") != "" {
			t.Errorf("Server %q X-Powered-By %q not removed", resp.Header.Get("Server"), resp.Header.Get("X-Powered-By"))
		}
		if resp.Header.Get("Cache-Control") != "" {
			t.Error("the 5xx-only rule ran on a 200")
		}
		resp, _ = getVia(t, a.proxy, "", "/page", "X-Request-Id: client-id-1")
		if got, _ := app.last(); got.Header.Get("X-Request-Id") != "client-id-1" || resp.Header.Get("X-Request-Id") != "client-id-1" {
			t.Errorf("a client's id was replaced: backend %q, response %q", got.Header.Get("X-Request-Id"), resp.Header.Get("X-Request-Id"))
		}
	})

	t.Run("response rule on status", func(t *testing.T) {
		resp, _ := getVia(t, a.proxy, "", "/500")
		if resp.StatusCode != 500 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%d Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	})

	t.Run("director rule and route match", func(t *testing.T) {
		before := canary.count()
		_, body := getVia(t, a.proxy, "", "/x", "Cookie: a=b; canary=1")
		if body != "canary" {
			t.Errorf("canary cookie went to %q", body)
		}
		_, body = getVia(t, a.proxy, "", "/x", "Cookie: canary=10")
		if body != "app" {
			t.Errorf("canary=10 went to %q", body)
		}
		req, _ := http.NewRequest("POST", a.proxy+"/form", strings.NewReader("a=1"))
		req.Header.Set("X-Env", "staging")
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "canary" {
			t.Errorf("staging POST went to %q", b)
		}
		if canary.count()-before != 2 {
			t.Errorf("canary got %d requests, want 2", canary.count()-before)
		}
	})
}

// TestExplainRules asks /explain about requests the rules answer, rewrite
// and redirect to another director.
func TestExplainRules(t *testing.T) {
	app, api, canary := startRecorder(t, "app"), startRecorder(t, "api"), startRecorder(t, "canary")
	a := startApp(t, strings.NewReplacer("{APP}", app.addr, "{API}", api.addr, "{CANARY}", canary.addr).Replace(rulesConfig))
	explain := func(q string) admin.Explanation {
		t.Helper()
		var ex admin.Explanation
		if err := json.Unmarshal([]byte(a.admin.must(200, "GET", "/explain?"+q, "")), &ex); err != nil {
			t.Fatal(err)
		}
		return ex
	}
	ex := explain("host=www.example.com&path=/a%3Fb")
	if ex.Answer == nil || ex.Answer.Status != 301 || ex.Answer.Location != "https://example.com/a?b" ||
		strings.Join(ex.Rules, ";") != "request_rules[0] canonical-host: redirect" || ex.Chosen != nil {
		t.Errorf("redirect: %+v (answer %+v)", ex, ex.Answer)
	}
	ex = explain("host=x&path=/api/users&status=200")
	want := "request_rules[1]: request_id;request_rules[2]: headers;routes[0].request_rules[0]: rewrite;routes[0].request_rules[1]: headers;response_rules[0]: headers;response_rules[1]: headers"
	if ex.Route != 0.0 || ex.Target != "api" || ex.Forwarded != "/users" || strings.Join(ex.Rules, ";") != want {
		t.Errorf("api: route %v target %q forwarded %q rules\n got %q\nwant %q", ex.Route, ex.Target, ex.Forwarded, strings.Join(ex.Rules, ";"), want)
	}
	ex = explain("host=x&path=/p&cookie=canary%3D1&status=503")
	want = "request_rules[1]: request_id;request_rules[2]: headers;routes[2].request_rules[0] canary-cookie: director;routes[2].response_rules[0]: headers;response_rules[0]: headers;response_rules[1]: headers"
	if ex.Route != 2.0 || ex.Target != "canary" || ex.Chosen == nil || *ex.Chosen != "canary" || strings.Join(ex.Rules, ";") != want {
		t.Errorf("canary: route %v target %q chosen %v rules\n got %q\nwant %q", ex.Route, ex.Target, ex.Chosen, strings.Join(ex.Rules, ";"), want)
	}
	if n := app.count() + api.count() + canary.count(); n != 0 {
		t.Errorf("explain sent %d requests to backends", n)
	}
}

// TestRulesCIDR denies by client address: IPv4, IPv6, and the address a
// PROXY protocol header carries.
func TestRulesCIDR(t *testing.T) {
	app := startRecorder(t, "app")
	ln6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	addr6 := ln6.Addr().String()
	ln6.Close()
	a := startApp(t, fmt.Sprintf(`
[server]
listen = ["{LISTEN}", %q]
[admin]
listen = "{ADMIN}"

[log]
access = ""
[backends.app]
address = %q
[[request_rules]]
when = { path_prefix = ["/v6only"], not = { src = ["::1/128"] } }
respond = 403
[[request_rules]]
when = { path_prefix = ["/v4only"], not = { src = ["127.0.0.0/8"] } }
respond = 403
[[routes]]
director = "app"
`, addr6, app.addr))
	base6 := "http://" + addr6
	for _, tc := range []struct {
		base, path string
		want       int
	}{
		{a.proxy, "/v6only", 403}, {base6, "/v6only", 200},
		{a.proxy, "/v4only", 200}, {base6, "/v4only", 403},
		{a.proxy, "/open", 200}, {base6, "/open", 200},
	} {
		resp, _ := getVia(t, tc.base, "", tc.path)
		if resp.StatusCode != tc.want {
			t.Errorf("%s%s: %d, want %d", tc.base, tc.path, resp.StatusCode, tc.want)
		}
	}
	if app.count() != 4 {
		t.Errorf("backend got %d requests, want the 4 allowed", app.count())
	}

	pp := startApp(t, fmt.Sprintf(`
[server]
listen = ["{LISTEN}"]
proxy_protocol = true
[admin]
listen = "{ADMIN}"

[log]
access = ""
[backends.app]
address = %q
[[request_rules]]
when = { src = ["203.0.113.0/24", "2001:db8::/32"] }
respond = 403
[[routes]]
director = "app"
`, app.addr))
	addr := strings.TrimPrefix(pp.proxy, "http://")
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n", 403},
		{"PROXY TCP4 198.51.100.1 127.0.0.1 5555 80\r\n", 200},
		{"PROXY TCP6 2001:db8::9 ::1 5555 80\r\n", 403},
		{"PROXY TCP6 2001:db9::9 ::1 5555 80\r\n", 200},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%sGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tc.header)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%q: %d, want %d", tc.header, resp.StatusCode, tc.want)
		}
	}
}

// TestRateLimit429 bursts past a per-user limit: the burst goes through,
// the rest get 429 with Retry-After and never reach the backend, another
// key is not affected; then a flood of distinct keys is all let through.
func TestRateLimit429(t *testing.T) {
	app := startRecorder(t, "app")
	a := startApp(t, fmt.Sprintf(`
[server]
listen = ["{LISTEN}"]
event_loops = 1
[admin]
listen = "{ADMIN}"

[log]
access = ""
[backends.app]
address = %q
[[routes]]
director = "app"
[[routes.request_rules]]
rate_limit = { key = ["header:X-User"], rate = 1, per = "10s", burst = 3, max_keys = 256 }
`, app.addr))
	codes := map[int]int{}
	retryAfter := ""
	for range 10 {
		resp, _ := getVia(t, a.proxy, "", "/", "X-User: alice")
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 {
			retryAfter = resp.Header.Get("Retry-After")
		}
	}
	if codes[200] != 3 || codes[429] != 7 {
		t.Errorf("statuses %v, want 3×200 and 7×429", codes)
	}
	if retryAfter != "10" {
		t.Errorf("Retry-After %q, want 10 (one token per 10s)", retryAfter)
	}
	if resp, _ := getVia(t, a.proxy, "", "/", "X-User: bob"); resp.StatusCode != 200 {
		t.Errorf("bob got %d", resp.StatusCode)
	}
	if app.count() != 4 {
		t.Errorf("backend got %d requests, want 4", app.count())
	}
	// 3000 distinct keys into a 256-key table: each key is new, so each
	// is let through, and alice (who spent her burst) stays throttled.
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 3000 {
		req, _ := http.NewRequest("GET", a.proxy+"/", nil)
		req.Header.Set("X-User", fmt.Sprintf("flood-%d", i))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("flood key %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := getVia(t, a.proxy, "", "/", "X-User: alice"); resp.StatusCode != 429 {
		t.Errorf("alice got %d after the flood, want 429 still", resp.StatusCode)
	}
	m := a.admin.must(200, "GET", "/metrics", "")
	if !strings.Contains(m, `shellac_rate_limited_total{rule="routes[0].request_rules[0]"} 8`) {
		t.Errorf("metrics lack the 8 refusals:\n%s", grepLines(m, "rate_limit"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
