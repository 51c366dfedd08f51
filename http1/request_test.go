package http1

import (
	"errors"
	"strings"
	"testing"
)

// statusOf returns the Status of an *Error, 0 for nil and -1 for any
// other error.
func statusOf(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return -1
}

type reqWant struct {
	method      string
	id          Method
	target      string
	path, query string
	noQuery     bool // Query must be nil
	host        string
	noHost      bool // Host must be nil
	minor       int
	cl          int64
	chunked     bool
	keepAlive   bool
	expect100   bool
	upgrade     bool
	nHeaders    int
}

func TestParseRequestValid(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want reqWant
	}{
		{"simple GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "example.com", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"query", "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h:8080\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/a/b?x=1&y=2", path: "/a/b", query: "x=1&y=2", host: "h:8080", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"empty query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/a?", path: "/a", query: "", host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"POST with CL", "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n",
			reqWant{method: "POST", id: MethodPOST, target: "/submit", path: "/submit", noQuery: true, host: "h", minor: 1, cl: 42, keepAlive: true, nHeaders: 2}},
		{"CL zero", "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
			reqWant{method: "PUT", id: MethodPUT, target: "/x", path: "/x", noQuery: true, host: "h", minor: 1, cl: 0, keepAlive: true, nHeaders: 2}},
		{"CL 18 digits", "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999999\r\n\r\n",
			reqWant{method: "PUT", id: MethodPUT, target: "/x", path: "/x", noQuery: true, host: "h", minor: 1, cl: 999999999999999999, keepAlive: true, nHeaders: 2}},
		{"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
			reqWant{method: "POST", id: MethodPOST, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, chunked: true, keepAlive: true, nHeaders: 2}},
		{"chunked any case", "POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: ChUnKeD\r\n\r\n",
			reqWant{method: "POST", id: MethodPOST, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, chunked: true, keepAlive: true, nHeaders: 2}},
		{"connection close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: false, nHeaders: 2}},
		{"connection tokens over fields", "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: foo, CLOSE\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: false, nHeaders: 3}},
		{"stray percent in query", "GET /a%2F?q=100% HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/a%2F?q=100%", path: "/a%2F", query: "q=100%", host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"HTTP/1.2 is 1.1", "GET / HTTP/1.2\r\nHost: h\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"HTTP/1.0 default close", "GET / HTTP/1.0\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, noHost: true, minor: 0, cl: -1, keepAlive: false}},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: h\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "h", minor: 0, cl: -1, keepAlive: true, nHeaders: 2}},
		{"HTTP/1.0 expect ignored", "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
			reqWant{method: "POST", id: MethodPOST, target: "/", path: "/", noQuery: true, noHost: true, minor: 0, cl: 1, nHeaders: 2}},
		{"HTTP/1.0 upgrade ignored", "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, noHost: true, minor: 0, cl: -1, nHeaders: 2}},
		{"expect 100-continue", "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n",
			reqWant{method: "PUT", id: MethodPUT, target: "/f", path: "/f", noQuery: true, host: "h", minor: 1, cl: 5, keepAlive: true, expect100: true, nHeaders: 3}},
		{"websocket upgrade", "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/ws", path: "/ws", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, upgrade: true, nHeaders: 3}},
		{"upgrade header without option", "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/ws", path: "/ws", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 2}},
		{"absolute-form", "GET http://Example.com:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "http://Example.com:81/p?q", path: "/p", query: "q", host: "Example.com:81", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"absolute-form https no path", "GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "HTTPS://h", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"absolute-form query no path", "GET http://h?a=b HTTP/1.0\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "http://h?a=b", path: "/", query: "a=b", host: "h", minor: 0, cl: -1}},
		{"absolute-form IPv6", "GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "http://[::1]:8080/", path: "/", noQuery: true, host: "[::1]:8080", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"asterisk OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "OPTIONS", id: MethodOPTIONS, target: "*", path: "*", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"extension method", "PROPFIND /d HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "PROPFIND", id: MethodOther, target: "/d", path: "/d", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"lower-case method is other", "get / HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "get", id: MethodOther, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"all methods HEAD", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "HEAD", id: MethodHEAD, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"DELETE", "DELETE /r HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "DELETE", id: MethodDELETE, target: "/r", path: "/r", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"TRACE", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "TRACE", id: MethodTRACE, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"PATCH", "PATCH / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n",
			reqWant{method: "PATCH", id: MethodPATCH, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: 2, keepAlive: true, nHeaders: 2}},
		{"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"OWS trimmed, tab in value", "GET / HTTP/1.1\r\nHost: \t h \t\r\nX-A:\ta\tb \r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 2}},
		{"obs-text in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: caf\xc3\xa9\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 2}},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"target delimiters", "GET /a|b{c}^`d?e=\"f\" HTTP/1.1\r\nHost: h\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/a|b{c}^`d?e=\"f\"", path: "/a|b{c}^`d", query: "e=\"f\"", host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
		{"32 connection options", "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, " + strings.Repeat("x, ", 31) + "y, upgrade\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "h", minor: 1, cl: -1, keepAlive: true, nHeaders: 2}},
		{"host pct-encoded and sub-delims", "GET / HTTP/1.1\r\nHost: a%2Db!$&'()*+,;=.c\r\n\r\n",
			reqWant{method: "GET", id: MethodGET, target: "/", path: "/", noQuery: true, host: "a%2Db!$&'()*+,;=.c", minor: 1, cl: -1, keepAlive: true, nHeaders: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			buf := []byte(tc.in + "NEXT")
			n, err := r.Parse(buf, nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n != len(tc.in) || r.HeadLen != n {
				t.Errorf("n = %d, HeadLen = %d; want %d", n, r.HeadLen, len(tc.in))
			}
			checkRequest(t, &r, tc.want)

			// Every proper prefix is incomplete.
			for k := 0; k < len(tc.in); k++ {
				var p Request
				if _, err := p.Parse([]byte(tc.in[:k]), nil); err != ErrNeedMore {
					t.Fatalf("prefix %q: err = %v; want ErrNeedMore", tc.in[:k], err)
				}
			}
		})
	}
}

func checkRequest(t *testing.T, r *Request, w reqWant) {
	t.Helper()
	eq := func(field string, got []byte, want string) {
		t.Helper()
		if string(got) != want {
			t.Errorf("%s = %q; want %q", field, got, want)
		}
	}
	eq("Method", r.Method, w.method)
	eq("Target", r.Target, w.target)
	eq("Path", r.Path, w.path)
	eq("Query", r.Query, w.query)
	if w.noQuery && r.Query != nil {
		t.Errorf("Query = %q; want nil", r.Query)
	}
	if !w.noQuery && r.Query == nil {
		t.Errorf("Query = nil; want %q", w.query)
	}
	eq("Host", r.Host, w.host)
	if w.noHost != (r.Host == nil) {
		t.Errorf("Host = %q (nil: %v); want nil: %v", r.Host, r.Host == nil, w.noHost)
	}
	if r.MethodID != w.id {
		t.Errorf("MethodID = %v; want %v", r.MethodID, w.id)
	}
	if r.Minor != w.minor {
		t.Errorf("Minor = %d; want %d", r.Minor, w.minor)
	}
	if r.ContentLength != w.cl {
		t.Errorf("ContentLength = %d; want %d", r.ContentLength, w.cl)
	}
	if r.Chunked != w.chunked || r.KeepAlive != w.keepAlive || r.Expect100 != w.expect100 || r.Upgrade != w.upgrade {
		t.Errorf("Chunked, KeepAlive, Expect100, Upgrade = %v %v %v %v; want %v %v %v %v",
			r.Chunked, r.KeepAlive, r.Expect100, r.Upgrade, w.chunked, w.keepAlive, w.expect100, w.upgrade)
	}
	if len(r.Headers) != w.nHeaders {
		t.Errorf("len(Headers) = %d; want %d", len(r.Headers), w.nHeaders)
	}
}

// malformedRequests holds every case of proxy's
// TestMalformedRequestsNeverReachBackend whose status comes from Parse, and
// more.
var malformedRequests = []struct {
	name   string
	req    string
	status int
}{
	// From proxy/smuggle_test.go.
	{"no host in 1.1", "GET / HTTP/1.1\r\n\r\n", 400},
	{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
	{"host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
	{"host with at", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
	{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"TE and CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
	{"CL not a number", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400},
	{"CL negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
	{"CL plus sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400},
	{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400},
	{"CL repeated same", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
	{"CL repeated different", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
	{"CL overflow", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
	{"CL empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400},
	{"TE gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
	{"TE identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 501},
	{"TE xchunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 501},
	{"TE chunked not final", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
	{"TE chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
	{"TE two fields", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"TE empty", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n", 400},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"space before colon", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400},
	{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400},
	{"bare CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
	{"DEL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400},
	{"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", 400},
	{"name with space", "GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n", 400},
	{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: x\r\n\r\n", 400},
	{"name not a token", "GET / HTTP/1.1\r\nHost: x\r\nX(y): 1\r\n\r\n", 400},
	{"line without colon", "GET / HTTP/1.1\r\nHost: x\r\nFoo\r\n\r\n", 400},
	{"method not a token", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"tab separator", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"control in target", "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"asterisk with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"bad scheme", "GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
	{"garbage version", "GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400},
	{"lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400},
	{"HTTP/0.9", "GET /\r\n\r\n", 400},
	{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501},
	{"unknown expectation", "POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\n", 417},
	{"PROXY header not enabled", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"URI too long", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
	{"too many headers", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 101) + "\r\n", 431},
	{"head too large", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Long: "+strings.Repeat("v", 1000)+"\r\n", 70) + "\r\n", 431},

	// More request-line cases.
	{"empty method", " / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"no target", "GET HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"trailing space", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
	{"leading space", " GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505},
	{"HTTP/2 without minor", "GET / HTTP/2\r\nHost: x\r\n\r\n", 400},
	{"HTTP/10.0", "GET / HTTP/10.0\r\nHost: x\r\n\r\n", 400},
	{"bare LF after version", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400},
	{"CR without LF after version", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400},
	{"relative target", "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"fragment in target", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"absolute-form userinfo", "GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	{"absolute-form empty host", "GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	{"absolute-form port only", "GET http://:80/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	{"absolute-form no slashes", "GET http:h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	{"absolute-form host needed in 1.1", "GET http://h/ HTTP/1.1\r\n\r\n", 400},
	{"asterisk with POST", "POST * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"asterisk with path", "OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", 501},
	{"too many leading empty lines", strings.Repeat("\r\n", 5) + "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"leading bare LF", "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"TLS handshake", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},

	// More field cases.
	{"obs-fold with tab", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400},
	{"whitespace before first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400},
	{"tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400},
	{"bare LF in fields", "GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", 400},
	{"bare LF ending head", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400},
	{"CR without LF ending head", "GET / HTTP/1.1\r\nHost: x\r\n\rX", 400},
	{"control in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: \x1b[0m\r\n\r\n", 400},
	{"non-ASCII name", "GET / HTTP/1.1\r\nHost: x\r\nX-\xc3\xa9: 1\r\n\r\n", 400},
	{"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
	{"host with bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400},
	{"host with long port", "GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", 400},
	{"host with bad pct", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400},
	{"host unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
	{"host empty brackets", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", 400},
	{"host two colons", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400},
	{"host in 1.0 repeated", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400},
	{"CL 19 digits", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000000\r\n\r\n", 400},
	{"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", 400},
	{"CL inner space", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 0\r\n\r\n", 400},
	{"bad escape in path", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"truncated escape in path", "GET /a% HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"half escape in path", "GET /a%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"bad escape in absolute path", "GET http://h/%g0 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	{"TE gzip then chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
	{"TE chunked gzip chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n", 400},
	{"TE chunked with params", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400},
	{"TE garbage", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400},
	{"TE only commas", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , ,\r\n\r\n", 400},
	{"TE two unknown", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, deflate\r\n\r\n", 501},
	{"TE unknown and CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\n", 400},
	{"TE unknown in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
	{"expect list", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue, foo\r\n\r\n", 417},
	{"expect empty", "POST / HTTP/1.1\r\nHost: x\r\nExpect:\r\n\r\n", 417},
	{"syntax error beats expectation", "POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nX A: 1\r\n\r\n", 400},
	{"missing host beats expectation", "POST / HTTP/1.1\r\nExpect: teapot\r\n\r\n", 400},
	{"Content_Length", "POST / HTTP/1.1\r\nHost: x\r\nContent_Length: 5\r\n\r\n", 400},
	{"transfer_encoding", "POST / HTTP/1.1\r\nHost: x\r\ntransfer_encoding: chunked\r\n\r\n", 400},
	{"connection not a token", "GET / HTTP/1.1\r\nHost: x\r\nConnection: a b\r\n\r\n", 400},
	{"too many connection options", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close" + strings.Repeat(", x", 20) + "\r\nConnection: " + strings.Repeat("y, ", 13) + "\r\n\r\n", 400},
}

func TestParseRequestMalformed(t *testing.T) {
	if len(malformedRequests) < 60 {
		t.Fatalf("only %d cases", len(malformedRequests))
	}
	for _, tc := range malformedRequests {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			n, err := r.Parse([]byte(tc.req), nil)
			if got := statusOf(err); got != tc.status {
				t.Fatalf("Parse = %d, %v (status %d); want status %d", n, err, got, tc.status)
			}
			if n != 0 {
				t.Errorf("n = %d on error; want 0", n)
			}
			if !strings.HasPrefix(err.Error(), "http1: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestParseRequestEarlyErrors checks that limits and syntax errors are
// reported before the head is complete, so that the proxy does not wait
// for a head it will refuse anyway.
func TestParseRequestEarlyErrors(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		lim    Limits
		status int
	}{
		{"long request line unterminated", "GET /" + strings.Repeat("a", 9000), Limits{}, 414},
		{"long method unterminated", strings.Repeat("G", 8193), Limits{}, 414},
		{"line at the limit is fine", "GET /" + strings.Repeat("a", 100-len("GET / HTTP/1.1")) + " HTTP/1.1\r\n", Limits{MaxRequestLine: 100}, -1},
		{"line over the limit", "GET /" + strings.Repeat("a", 101-len("GET / HTTP/1.1")) + " HTTP/1.1\r\n", Limits{MaxRequestLine: 100}, 414},
		{"line at the limit with CR pending", "GET /" + strings.Repeat("a", 100-len("GET / HTTP/1.1")) + " HTTP/1.1\r", Limits{MaxRequestLine: 100}, -1},
		{"head over the limit unterminated", "GET / HTTP/1.1\r\nHost: x\r\nX-A: " + strings.Repeat("b", 300), Limits{MaxHeaderBytes: 256}, 431},
		{"many fields unterminated", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 10), Limits{MaxHeaders: 10}, 431},
		{"large head, many fields unterminated", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 100)+"\r\n", 60), Limits{MaxHeaders: 50}, 431},
		{"large head, bare LF request line", "GET / HTTP/1.1\nHost: x\n" + strings.Repeat("X-A: "+strings.Repeat("b", 100)+"\n", 60), Limits{}, 400},
		{"large head, long line", "GET /" + strings.Repeat("a", 5000) + " HTTP/1.1\r\nHost: x\r\n", Limits{MaxRequestLine: 4096}, 414},
		{"large head under limits", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 100)+"\r\n", 60), Limits{}, -1},
		{"large head, bad method", "G(T / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 100)+"\r\n", 60), Limits{}, 400},
		{"large head, HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 100)+"\r\n", 60), Limits{}, 505},
		{"bad field before the end", "GET / HTTP/1.1\r\nHost: x\r\nBad Field: 1\r\nX-A: 1", Limits{}, 400},
		{"bare LF request line", "GET / HTTP/1.1\nHost: x", Limits{}, 400},
		{"bad version prefix", "GET / HTTQ", Limits{}, 400},
		{"bad version digit", "GET / HTTP/x", Limits{}, 400},
		{"CONNECT before fields", "CONNECT h:443 HTTP/1.1\r\n", Limits{}, 501},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			_, err := r.Parse([]byte(tc.in), &tc.lim)
			if tc.status < 0 {
				if err != ErrNeedMore {
					t.Fatalf("err = %v; want ErrNeedMore", err)
				}
				return
			}
			if got := statusOf(err); got != tc.status {
				t.Fatalf("err = %v (status %d); want status %d", err, got, tc.status)
			}
		})
	}
}

func TestParseRequestLimits(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n"
	cases := []struct {
		lim    Limits
		status int
	}{
		{Limits{MaxHeaders: 3}, 0},
		{Limits{MaxHeaders: 2}, 431},
		{Limits{MaxHeaderBytes: len(head)}, 0},
		{Limits{MaxHeaderBytes: len(head) - 3}, 431},
		{Limits{MaxRequestLine: len("GET / HTTP/1.1")}, 0},
		{Limits{MaxRequestLine: len("GET / HTTP/1.1") - 1}, 414},
		{Limits{MaxRequestLine: -1, MaxHeaderBytes: -1, MaxHeaders: -1}, 0}, // defaults
	}
	for _, tc := range cases {
		var r Request
		_, err := r.Parse([]byte(head), &tc.lim)
		if got := statusOf(err); got != tc.status {
			t.Errorf("limits %+v: err = %v; want status %d", tc.lim, err, tc.status)
		}
	}
}

func TestParseRequestPipelined(t *testing.T) {
	first := "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
	second := "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
	buf := []byte(first + "abc" + second + second)
	var r Request
	n, err := r.Parse(buf, nil)
	if err != nil || n != len(first) {
		t.Fatalf("first: n, err = %d, %v; want %d, nil", n, err, len(first))
	}
	if r.ContentLength != 3 {
		t.Fatalf("ContentLength = %d; want 3", r.ContentLength)
	}
	off := n + 3
	for k := 0; k < 2; k++ {
		n, err = r.Parse(buf[off:], nil)
		if err != nil || n != len(second) {
			t.Fatalf("request %d: n, err = %d, %v; want %d, nil", k+2, n, err, len(second))
		}
		if string(r.Path) != "/b" || r.ContentLength != -1 || len(r.Headers) != 1 {
			t.Fatalf("request %d: Path %q CL %d headers %d; state leaked from the previous parse", k+2, r.Path, r.ContentLength, len(r.Headers))
		}
		off += n
	}
}

// TestParseRequestSplit parses a realistic head fed in growing pieces, as
// the event loop does when it arrives in several reads.
func TestParseRequestSplit(t *testing.T) {
	head := browserHead
	var r Request
	for k := 0; k <= len(head); k++ {
		n, err := r.Parse([]byte(head[:k]), nil)
		if k < len(head) {
			if err != ErrNeedMore {
				t.Fatalf("prefix %d: err = %v; want ErrNeedMore", k, err)
			}
			continue
		}
		if err != nil || n != len(head) {
			t.Fatalf("whole: n, err = %d, %v", n, err)
		}
	}
	if string(r.Host) != "www.example.com" || len(r.Headers) != 12 {
		t.Fatalf("Host %q, %d headers", r.Host, len(r.Headers))
	}
}

func TestRequestResetClears(t *testing.T) {
	var r Request
	if _, err := r.Parse([]byte("POST /x?a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	hs := r.Headers
	r.Reset()
	if r.Method != nil || r.Host != nil || r.Chunked || r.Upgrade || r.ContentLength != -1 || len(r.Headers) != 0 || cap(r.Headers) != cap(hs) {
		t.Fatalf("after Reset: %+v", r)
	}
	if hs[:1][0].Name != nil {
		t.Errorf("Reset kept references into the old buffer")
	}
}

func TestRequestLookups(t *testing.T) {
	raw := "GET /p?a=1&b=&c&a=2&enc=%20x&=e HTTP/1.1\r\n" +
		"Host: h\r\n" +
		"X-Empty:\r\n" +
		"x-multi: one\r\n" +
		"X-Multi: two\r\n" +
		"Cookie: session=abc123; theme=\"dark\"; empty=; flag\r\n" +
		"Cookie:  second=2 ;third=3\r\n" +
		"\r\n"
	var r Request
	if _, err := r.Parse([]byte(raw), nil); err != nil {
		t.Fatal(err)
	}
	type lookup struct {
		kind, name string
		want       string
		isNil      bool
	}
	cases := []lookup{
		{"header", "host", "h", false},
		{"header", "HOST", "h", false},
		{"header", "X-Multi", "one", false},
		{"header", "X-Empty", "", false},
		{"header", "X-Missing", "", true},
		{"header", "Hos", "", true},
		{"cookie", "session", "abc123", false},
		{"cookie", "theme", "\"dark\"", false},
		{"cookie", "empty", "", false},
		{"cookie", "flag", "", true},
		{"cookie", "second", "2", false},
		{"cookie", "third", "3", false},
		{"cookie", "Session", "", true},
		{"cookie", "missing", "", true},
		{"query", "a", "1", false},
		{"query", "b", "", false},
		{"query", "c", "", false},
		{"query", "enc", "%20x", false},
		{"query", "", "e", false},
		{"query", "A", "", true},
		{"query", "missing", "", true},
	}
	for _, c := range cases {
		var got []byte
		switch c.kind {
		case "header":
			got = r.Header(c.name)
		case "cookie":
			got = r.Cookie(c.name)
		case "query":
			got = r.QueryValue(c.name)
		}
		if (got == nil) != c.isNil || string(got) != c.want {
			t.Errorf("%s %q = %q (nil: %v); want %q (nil: %v)", c.kind, c.name, got, got == nil, c.want, c.isNil)
		}
	}
	var noQuery Request
	if _, err := noQuery.Parse([]byte("GET /p HTTP/1.1\r\nHost: h\r\n\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	if v := noQuery.QueryValue("a"); v != nil {
		t.Errorf("QueryValue without a query = %q; want nil", v)
	}
	if v := noQuery.Cookie("a"); v != nil {
		t.Errorf("Cookie without Cookie fields = %q; want nil", v)
	}
}

func TestMethod(t *testing.T) {
	idem := map[Method]bool{MethodGET: true, MethodHEAD: true, MethodPUT: true, MethodDELETE: true, MethodOPTIONS: true, MethodTRACE: true}
	for m := MethodOther; m <= MethodCONNECT; m++ {
		if m.Idempotent() != idem[m] {
			t.Errorf("%v.Idempotent() = %v; want %v", m, m.Idempotent(), idem[m])
		}
		if m != MethodOther && methodID([]byte(m.String())) != m {
			t.Errorf("methodID(%q) = %v", m.String(), methodID([]byte(m.String())))
		}
	}
	if MethodOther.String() != "OTHER" {
		t.Errorf("MethodOther.String() = %q", MethodOther.String())
	}
}
