package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
)

// ctxFor parses raw into a fresh request and returns a Ctx on it.
func ctxFor(t testing.TB, raw, ip string) *Ctx {
	t.Helper()
	req := &http1.Request{}
	if _, err := req.Parse([]byte(raw), nil); err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	c := &Ctx{}
	c.Reset()
	c.Req = req
	c.ClientIP = netip.MustParseAddr(ip)
	c.ClientIPText = []byte(c.ClientIP.String())
	c.DReq = &directors.Request{Head: req, ClientIP: c.ClientIP}
	c.Now = time.Unix(1e9, 0).UnixNano()
	return c
}

const getAPI = "GET /api/users?id=7&debug HTTP/1.1\r\nHost: www.Example.com:8080\r\nUser-Agent: curl/8.5\r\nX-Env: staging\r\nCookie: a=1; sess=xyz\r\n\r\n"

func TestMatch(t *testing.T) {
	tests := []struct {
		name string
		m    Match
		raw  string
		ip   string
		want bool
	}{
		{"empty matches all", Match{}, getAPI, "10.0.0.1", true},
		{"host exact, port ignored, case folded", Match{Host: []string{"www.example.com"}}, getAPI, "10.0.0.1", true},
		{"host other", Match{Host: []string{"example.com"}}, getAPI, "10.0.0.1", false},
		{"host wildcard", Match{Host: []string{"*.example.com"}}, getAPI, "10.0.0.1", true},
		{"host wildcard not apex", Match{Host: []string{"*.www.example.com"}}, getAPI, "10.0.0.1", false},
		{"host with port", Match{Host: []string{"www.example.com:8080"}}, getAPI, "10.0.0.1", true},
		{"host with other port", Match{Host: []string{"www.example.com:80"}}, getAPI, "10.0.0.1", false},
		{"path exact", Match{Path: []string{"/api/users"}}, getAPI, "10.0.0.1", true},
		{"path exact differs", Match{Path: []string{"/api"}}, getAPI, "10.0.0.1", false},
		{"path prefix", Match{PathPrefix: []string{"/img", "/api/"}}, getAPI, "10.0.0.1", true},
		{"path prefix none", Match{PathPrefix: []string{"/img"}}, getAPI, "10.0.0.1", false},
		{"path regex", Match{PathRegex: `^/api/[a-z]+$`}, getAPI, "10.0.0.1", true},
		{"path regex sees no query", Match{PathRegex: `id=`}, getAPI, "10.0.0.1", false},
		{"method", Match{Method: []string{"POST", "GET"}}, getAPI, "10.0.0.1", true},
		{"method other", Match{Method: []string{"POST"}}, getAPI, "10.0.0.1", false},
		{"method is case-sensitive", Match{Method: []string{"get"}}, getAPI, "10.0.0.1", false},
		{"header equals", Match{Header: map[string]string{"x-env": "staging"}}, getAPI, "10.0.0.1", true},
		{"header value differs", Match{Header: map[string]string{"X-Env": "prod"}}, getAPI, "10.0.0.1", false},
		{"header absent", Match{Header: map[string]string{"X-Other": ""}}, getAPI, "10.0.0.1", false},
		{"header present", Match{HeaderPresent: []string{"User-Agent"}}, getAPI, "10.0.0.1", true},
		{"header not present", Match{HeaderPresent: []string{"Authorization"}}, getAPI, "10.0.0.1", false},
		{"header regex", Match{HeaderRegex: map[string]string{"User-Agent": `^curl/`}}, getAPI, "10.0.0.1", true},
		{"header regex no", Match{HeaderRegex: map[string]string{"User-Agent": `bot`}}, getAPI, "10.0.0.1", false},
		{"query equals", Match{Query: map[string]string{"id": "7"}}, getAPI, "10.0.0.1", true},
		{"query differs", Match{Query: map[string]string{"id": "8"}}, getAPI, "10.0.0.1", false},
		{"query present without =", Match{QueryPresent: []string{"debug"}}, getAPI, "10.0.0.1", true},
		{"query absent", Match{QueryPresent: []string{"x"}}, getAPI, "10.0.0.1", false},
		{"src v4 cidr", Match{Src: []string{"10.0.0.0/8"}}, getAPI, "10.0.0.1", true},
		{"src v4 other", Match{Src: []string{"192.168.0.0/16"}}, getAPI, "10.0.0.1", false},
		{"src v4 address", Match{Src: []string{"10.0.0.1"}}, getAPI, "10.0.0.1", true},
		{"src v6 cidr", Match{Src: []string{"2001:db8::/32"}}, getAPI, "2001:db8::5", true},
		{"src v6 vs v4 prefix", Match{Src: []string{"10.0.0.0/8"}}, getAPI, "2001:db8::5", false},
		{"src mapped v4 client", Match{Src: []string{"10.0.0.0/8"}}, getAPI, "::ffff:10.1.2.3", true},
		{"src loopback v6", Match{Src: []string{"::1"}}, getAPI, "::1", true},
		{"all", Match{All: []*Match{{Method: []string{"GET"}}, {Src: []string{"10.0.0.0/8"}}}}, getAPI, "10.0.0.1", true},
		{"all one fails", Match{All: []*Match{{Method: []string{"GET"}}, {Src: []string{"11.0.0.0/8"}}}}, getAPI, "10.0.0.1", false},
		{"any", Match{Any: []*Match{{Method: []string{"POST"}}, {Src: []string{"10.0.0.0/8"}}}}, getAPI, "10.0.0.1", true},
		{"any none", Match{Any: []*Match{{Method: []string{"POST"}}, {Src: []string{"11.0.0.0/8"}}}}, getAPI, "10.0.0.1", false},
		{"not", Match{Not: &Match{Src: []string{"10.0.0.0/8"}}}, getAPI, "10.0.0.1", false},
		{"not, admin outside the office", Match{PathPrefix: []string{"/api"}, Not: &Match{Src: []string{"192.168.0.0/16"}}}, getAPI, "10.0.0.1", true},
		{"conditions are and-ed", Match{Method: []string{"GET"}, Path: []string{"/nope"}}, getAPI, "10.0.0.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cond, errs := CompileMatch(&tc.m, PhaseRequest)
			if errs != nil {
				t.Fatalf("compile: %v", errs[0])
			}
			if got := cond.Eval(ctxFor(t, tc.raw, tc.ip)); got != tc.want {
				t.Errorf("Eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStatusMatch(t *testing.T) {
	cond, errs := CompileMatch(&Match{Status: []int{5, 404}}, PhaseResponse)
	if errs != nil {
		t.Fatal(errs[0])
	}
	c := ctxFor(t, getAPI, "10.0.0.1")
	for st, want := range map[int]bool{200: false, 404: true, 403: false, 500: true, 503: true, 599: true} {
		c.Status = st
		if got := cond.Eval(c); got != want {
			t.Errorf("status %d: %v, want %v", st, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		rule  Rule
		ph    Phase
		want  string // Error() of the first error
		count int    // how many errors, when more than one
	}{
		{"no action", Rule{}, PhaseRequest, "[0]: has no action", 0},
		{"two actions", Rule{Redirect: "/x", Respond: 403}, PhaseRequest, "[0]: has several actions (redirect, respond)", 0},
		{"bad cidr", Rule{Respond: 403, When: &Match{Src: []string{"10.0.0.0/8", "10.1/8"}}}, PhaseRequest, `[0].when.src.[1]: "10.1/8" is not an address or CIDR prefix`, 0},
		{"cidr host bits", Rule{Respond: 403, When: &Match{Src: []string{"10.0.0.1/8"}}}, PhaseRequest, `[0].when.src.[0]: "10.0.0.1/8" has bits set past its length (write 10.0.0.0/8)`, 0},
		{"bad regex", Rule{Respond: 403, When: &Match{PathRegex: "(a"}}, PhaseRequest, `[0].when.path_regex: not a regular expression: missing closing ) in "(a"`, 0},
		{"nested bad", Rule{Respond: 403, When: &Match{Not: &Match{Any: []*Match{{Path: []string{"x"}}}}}}, PhaseRequest, `[0].when.not.any.[0].path.[0]: "x" must start with "/"`, 0},
		{"status on request", Rule{Respond: 403, When: &Match{Status: []int{500}}}, PhaseRequest, "[0].when.status: only response rules can match a status", 0},
		{"bad status", Rule{SetHeader: map[string]string{"X": "1"}, When: &Match{Status: []int{50}}}, PhaseResponse, "[0].when.status.[0]: 50 is neither a status (100-999) nor a class (1-5)", 0},
		{"framing header", Rule{SetHeader: map[string]string{"Content-Length": "1"}}, PhaseRequest, "[0].set_header.Content-Length: Content-Length is a framing or hop-by-hop field: shellac sets it itself", 0},
		{"del host", Rule{DelHeader: []string{"Host"}}, PhaseRequest, "[0].del_header.[0]: Host can only be replaced (set_header) on requests", 0},
		{"bad header name", Rule{AddHeader: map[string]string{"X Y": "1"}}, PhaseRequest, `[0].add_header.X Y: "X Y" is not a header name`, 0},
		{"unknown variable", Rule{SetHeader: map[string]string{"X": "%{nope}"}}, PhaseRequest, `[0].set_header.X: "%{nope}": unknown variable %{nope}`, 0},
		{"control char in query name", Rule{SetHeader: map[string]string{"X": "%{query:\x00}"}}, PhaseRequest, `[0].set_header.X: control character '\x00' in "%{query:\x00}"`, 0},
		{"space in cookie name", Rule{SetHeader: map[string]string{"X": "%{cookie:a b}"}}, PhaseRequest, `[0].set_header.X: "%{cookie:a b}": unknown variable`, 0},
		{"backend on request", Rule{SetHeader: map[string]string{"X": "%{backend}"}}, PhaseRequest, `[0].set_header.X: "%{backend}": %{backend} is known only in response rules`, 0},
		{"lone percent", Rule{SetHeader: map[string]string{"X": "50%"}}, PhaseRequest, `[0].set_header.X: "50%": a % starts a variable`, 0},
		{"control char", Rule{SetHeader: map[string]string{"X": "a\nb"}}, PhaseRequest, `[0].set_header.X: control character`, 0},
		{"redirect code", Rule{Redirect: "/x", Code: 200}, PhaseRequest, "[0].code: 200 is not a redirect status", 0},
		{"code alone", Rule{Respond: 403, Code: 301}, PhaseRequest, "[0].code: applies only to a redirect", 0},
		{"respond 1xx", Rule{Respond: 101}, PhaseRequest, "[0].respond: 101 is not a final status", 0},
		{"body alone", Rule{DelHeader: []string{"X"}, Body: "x"}, PhaseRequest, "[0].body: applies only to respond", 0},
		{"strip prefix no slash", Rule{StripPrefix: "api"}, PhaseRequest, `[0].strip_prefix: "api" must start with "/"`, 0},
		{"rewrite both", Rule{Rewrite: &Rewrite{Prefix: "/a", Regex: "b", To: "/c"}}, PhaseRequest, "[0].rewrite: give prefix or regex, not both", 0},
		{"rewrite neither", Rule{Rewrite: &Rewrite{To: "/c"}}, PhaseRequest, "[0].rewrite: needs prefix or regex", 0},
		{"rewrite to bad", Rule{Rewrite: &Rewrite{Prefix: "/a", To: "/b c"}}, PhaseRequest, `[0].rewrite.to: "/b c" may hold only characters allowed in a path`, 0},
		{"rate zero", Rule{RateLimit: &RateLimit{}}, PhaseRequest, "[0].rate_limit.rate: must be > 0 requests per 1s", 0},
		{"rate bad key", Rule{RateLimit: &RateLimit{Rate: 1, Key: []string{"ip"}}}, PhaseRequest, `[0].rate_limit.key: directors: key "ip"`, 0},
		{"rate bad per", Rule{RateLimit: &RateLimit{Rate: 1, Per: "soon"}}, PhaseRequest, `[0].rate_limit.per: "soon" is not a positive duration`, 0},
		{"response redirect", Rule{Redirect: "/x"}, PhaseResponse, "[0]: a response rule can only set_header, add_header or del_header, not redirect", 0},
		{"unknown director", Rule{Director: "nope"}, PhaseRequest, `[0].director: "nope" is neither a director nor a backend`, 0},
	}
	env := &Env{Member: func(name string) (directors.Member, bool) { return nil, name == "api" }}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Compile([]*Rule{&tc.rule}, tc.ph, env)
			if len(errs) == 0 {
				t.Fatal("compiled")
			}
			if got := errs[0].Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("error\n got %q\nwant %q…", got, tc.want)
			}
		})
	}
}

// run compiles specs and runs them as request rules on raw.
func run(t *testing.T, raw string, specs ...*Rule) (*Ctx, bool) {
	t.Helper()
	l, errs := Compile(specs, PhaseRequest, nil)
	if errs != nil {
		t.Fatal(errs[0])
	}
	c := ctxFor(t, raw, "192.0.2.9")
	return c, l.Request(c)
}

func TestHeaderRules(t *testing.T) {
	c, answered := run(t, getAPI,
		&Rule{SetHeader: map[string]string{"X-Env": "prod", "X-Client": "%{client_ip}"}},
		&Rule{AddHeader: map[string]string{"Via": "1.1 shellac", "X-Path": "%{method} %{uri} %{host}"}},
		&Rule{DelHeader: []string{"user-agent", "X-Client"}},
		&Rule{AddHeader: map[string]string{"X-Sess": "%{cookie:sess}/%{query:id}/%{header:X-Env}/%%"}},
		&Rule{When: &Match{Method: []string{"POST"}}, AddHeader: map[string]string{"X-Never": "1"}},
	)
	if answered {
		t.Fatal("answered")
	}
	if got, want := strings.Join(c.Edit.Drop, ","), "x-client,x-env,user-agent"; got != want {
		t.Errorf("Drop = %q, want %q", got, want)
	}
	want := "X-Env: prod\r\nVia: 1.1 shellac\r\nX-Path: GET /api/users?id=7&debug www.Example.com:8080\r\nX-Sess: xyz/7/staging/%\r\n"
	if got := string(c.Edit.Add); got != want {
		t.Errorf("Add\n got %q\nwant %q", got, want)
	}
}

func TestForwardedWithEdit(t *testing.T) {
	c, _ := run(t, getAPI,
		&Rule{SetHeader: map[string]string{"Host": "backend.internal", "X-Env": "prod"}},
		&Rule{StripPrefix: "/api"},
	)
	got := string(http1.AppendForwardRequest(nil, c.Req, &http1.ForwardOptions{Edit: &c.Edit}))
	want := "GET /users?id=7&debug HTTP/1.1\r\nUser-Agent: curl/8.5\r\nCookie: a=1; sess=xyz\r\nHost: backend.internal\r\nX-Env: prod\r\n\r\n"
	if got != want {
		t.Errorf("forwarded\n got %q\nwant %q", got, want)
	}
}

func TestRedirect(t *testing.T) {
	c, answered := run(t, getAPI,
		&Rule{When: &Match{Host: []string{"www.example.com"}}, Redirect: "https://example.com%{uri}", Code: 301},
		&Rule{Respond: 403},
	)
	if !answered || c.Reply.Status != 301 || string(c.Reply.Location) != "https://example.com/api/users?id=7&debug" {
		t.Errorf("answered %v, reply %d %q", answered, c.Reply.Status, c.Reply.Location)
	}
}

func TestRespond(t *testing.T) {
	c, answered := run(t, getAPI, &Rule{When: &Match{Not: &Match{Src: []string{"10.0.0.0/8"}}}, Respond: 403, Body: "go away\n"})
	if !answered || c.Reply.Status != 403 || c.Reply.Body != "go away\n" || c.Reply.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("answered %v, reply %+v", answered, c.Reply)
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name, raw string
		rule      Rule
		want      string // the forwarded target
		path      string
	}{
		{"strip", "GET /api/users?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", Rule{StripPrefix: "/api"}, "/users?x=1", "/users"},
		{"strip trailing slash form", "GET /api/users HTTP/1.1\r\nHost: a\r\n\r\n", Rule{StripPrefix: "/api/"}, "/users", "/users"},
		{"strip to root", "GET /api HTTP/1.1\r\nHost: a\r\n\r\n", Rule{StripPrefix: "/api"}, "/", "/"},
		{"strip not a segment", "GET /apix HTTP/1.1\r\nHost: a\r\n\r\n", Rule{StripPrefix: "/api"}, "/apix", "/apix"},
		{"replace prefix", "GET /old/a/b HTTP/1.1\r\nHost: a\r\n\r\n", Rule{Rewrite: &Rewrite{Prefix: "/old/", To: "/new/"}}, "/new/a/b", "/new/a/b"},
		{"prefix no match", "GET /other HTTP/1.1\r\nHost: a\r\n\r\n", Rule{Rewrite: &Rewrite{Prefix: "/old/", To: "/new/"}}, "/other", "/other"},
		{"regex", "GET /v2/users/42?q HTTP/1.1\r\nHost: a\r\n\r\n", Rule{Rewrite: &Rewrite{Regex: `^/v(\d+)/users/(\d+)$`, To: "/users/$2?v=$1"}}, "", ""},
		{"regex groups", "GET /v2/users/42?q HTTP/1.1\r\nHost: a\r\n\r\n", Rule{Rewrite: &Rewrite{Regex: `^/v(\d+)/users/(\d+)$`, To: "/api/v$1/user/${2}"}}, "/api/v2/user/42?q", "/api/v2/user/42"},
		{"absolute form", "GET http://a.example/old/x HTTP/1.1\r\nHost: a.example\r\n\r\n", Rule{Rewrite: &Rewrite{Prefix: "/old", To: "/new"}}, "/new/x", "/new/x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, errs := Compile([]*Rule{&tc.rule}, PhaseRequest, nil)
			if tc.want == "" {
				if errs == nil {
					t.Fatal("compiled a rewrite to a query")
				}
				return
			}
			if errs != nil {
				t.Fatal(errs[0])
			}
			c := ctxFor(t, tc.raw, "10.0.0.1")
			l.Request(c)
			if string(c.Req.Target) != tc.want || string(c.Req.Path) != tc.path {
				t.Errorf("target %q path %q, want %q %q", c.Req.Target, c.Req.Path, tc.want, tc.path)
			}
		})
	}
}

func TestRewriteTwice(t *testing.T) {
	c, _ := run(t, "GET /a/b/c?z HTTP/1.1\r\nHost: a\r\n\r\n",
		&Rule{StripPrefix: "/a"}, &Rule{StripPrefix: "/b"}, &Rule{Rewrite: &Rewrite{Prefix: "/c", To: "/d/c"}})
	if string(c.Req.Target) != "/d/c?z" || string(c.Req.Query) != "z" {
		t.Errorf("target %q query %q", c.Req.Target, c.Req.Query)
	}
}

func TestRequestID(t *testing.T) {
	c, _ := run(t, getAPI, &Rule{RequestID: "X-Request-Id"}, &Rule{SetHeader: map[string]string{"X-Trace": "%{request_id}"}})
	id := string(c.RequestID)
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("id %q", id)
	}
	if want := "X-Request-Id: " + id + "\r\nX-Trace: " + id + "\r\n"; string(c.Edit.Add) != want {
		t.Errorf("Add %q, want %q", c.Edit.Add, want)
	}
	c2, _ := run(t, getAPI, &Rule{RequestID: "X-Request-Id"})
	if string(c2.RequestID) == id {
		t.Error("two requests got the same id")
	}
	c3, _ := run(t, "GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc-1\r\n\r\n", &Rule{RequestID: "x-request-id"})
	if string(c3.RequestID) != "abc-1" || len(c3.Edit.Add) != 0 {
		t.Errorf("kept id %q, added %q", c3.RequestID, c3.Edit.Add)
	}
}

func TestDirectorRule(t *testing.T) {
	canary := directors.NewRoundRobin("canary")
	env := &Env{Member: func(name string) (directors.Member, bool) { return canary, name == "canary" }}
	l, errs := Compile([]*Rule{{When: &Match{Header: map[string]string{"X-Env": "staging"}}, Director: "canary"}}, PhaseRequest, env)
	if errs != nil {
		t.Fatal(errs[0])
	}
	c := ctxFor(t, getAPI, "10.0.0.1")
	if l.Request(c) || c.Target != directors.Member(canary) {
		t.Errorf("target %v", c.Target)
	}
}

func TestResponseRules(t *testing.T) {
	l, errs := Compile([]*Rule{
		{SetHeader: map[string]string{"Strict-Transport-Security": "max-age=31536000", "X-Served-By": "%{backend}"}},
		{When: &Match{Status: []int{5}}, AddHeader: map[string]string{"X-Error": "%{status}"}},
		{DelHeader: []string{"Server"}},
	}, PhaseResponse, nil)
	if errs != nil {
		t.Fatal(errs[0])
	}
	c := ctxFor(t, getAPI, "10.0.0.1")
	c.ResetResponse(503, "app1")
	l.Response(c)
	want := "Strict-Transport-Security: max-age=31536000\r\nX-Served-By: app1\r\nX-Error: 503\r\n"
	if string(c.Edit.Add) != want || strings.Join(c.Edit.Drop, ",") != "strict-transport-security,x-served-by,server" {
		t.Errorf("Add %q Drop %q", c.Edit.Add, c.Edit.Drop)
	}
	resp := &http1.Response{}
	raw := "HTTP/1.1 503 Service Unavailable\r\nServer: nginx\r\nX-Served-By: spoofed\r\nContent-Length: 0\r\n\r\n"
	if _, err := resp.Parse([]byte(raw), nil); err != nil {
		t.Fatal(err)
	}
	got := string(http1.AppendForwardResponse(nil, resp, &http1.ResponseOptions{ClientMinor: 1, Edit: &c.Edit}))
	if wantHead := "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n" + want + "\r\n"; got != wantHead {
		t.Errorf("head\n got %q\nwant %q", got, wantHead)
	}
}

func TestTrace(t *testing.T) {
	l, _ := Compile([]*Rule{{Name: "deny-bots", When: &Match{Path: []string{"/x"}}, Respond: 403}, {SetHeader: map[string]string{"X": "1"}}}, PhaseRequest, nil)
	c := ctxFor(t, getAPI, "10.0.0.1")
	var trace []string
	c.Trace = &trace
	l.Request(c)
	if strings.Join(trace, ";") != "[1]: headers" {
		t.Errorf("trace %q", trace)
	}
}
