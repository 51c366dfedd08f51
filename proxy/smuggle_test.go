package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// TestMalformedRequestsNeverReachBackend sends malformed and smuggling
// requests on raw connections: each must get the right 4xx/5xx with
// Connection: close, and the backend must see none of them.
func TestMalformedRequestsNeverReachBackend(t *testing.T) {
	const h = "Host: x\r\n"
	cases := []struct {
		name   string
		req    string
		status string
	}{
		{"no host in 1.1", "GET / HTTP/1.1\r\n\r\n", "400"},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400"},
		{"host with at", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "400"},
		{"CL and TE", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"TE and CL", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", "400"},
		{"CL not a number", "POST / HTTP/1.1\r\n" + h + "Content-Length: abc\r\n\r\n", "400"},
		{"CL negative", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", "400"},
		{"CL plus sign", "POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello", "400"},
		{"CL list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 5\r\n\r\nhello", "400"},
		{"CL repeated same", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", "400"},
		{"CL repeated different", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "400"},
		{"CL overflow", "POST / HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999\r\n\r\n", "400"},
		{"CL empty", "POST / HTTP/1.1\r\n" + h + "Content-Length: \r\n\r\n", "400"},
		{"TE gzip", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", "501"},
		{"TE identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n", "501"},
		{"TE xchunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n", "501"},
		{"TE chunked not final", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n", "400"},
		{"TE chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", "400"},
		{"TE two fields", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"TE empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \r\n\r\n", "400"},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"space before colon", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "400"},
		{"obs-fold", "GET / HTTP/1.1\r\n" + h + "X-A: 1\r\n folded\r\n\r\n", "400"},
		{"NUL in value", "GET / HTTP/1.1\r\n" + h + "X-A: a\x00b\r\n\r\n", "400"},
		{"bare CR in value", "GET / HTTP/1.1\r\n" + h + "X-A: a\rb\r\n\r\n", "400"},
		{"DEL in value", "GET / HTTP/1.1\r\n" + h + "X-A: a\x7fb\r\n\r\n", "400"},
		{"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", "400"},
		{"name with space", "GET / HTTP/1.1\r\n" + h + "Bad Header: x\r\n\r\n", "400"},
		{"empty name", "GET / HTTP/1.1\r\n" + h + ": x\r\n\r\n", "400"},
		{"name not a token", "GET / HTTP/1.1\r\n" + h + "X(y): 1\r\n\r\n", "400"},
		{"line without colon", "GET / HTTP/1.1\r\n" + h + "Foo\r\n\r\n", "400"},
		{"method not a token", "G(T / HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"double space", "GET  / HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"tab separator", "GET\t/ HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"space in target", "GET /a b HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"control in target", "GET /a\x01 HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"asterisk with GET", "GET * HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"bad scheme", "GET ftp://x/ HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", "505"},
		{"garbage version", "GET / HTTP/1.1x\r\n" + h + "\r\n", "400"},
		{"lowercase version", "GET / http/1.1\r\n" + h + "\r\n", "400"},
		{"HTTP/0.9", "GET /\r\n\r\n", "400"},
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "501"},
		{"unknown expectation", "POST / HTTP/1.1\r\n" + h + "Expect: teapot\r\nContent-Length: 1\r\n\r\nx", "417"},
		{"PROXY header not enabled", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\n" + h + "\r\n", "400"},
		{"URI too long", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n" + h + "\r\n", "414"},
		{"too many headers", "GET / HTTP/1.1\r\n" + h + strings.Repeat("X-A: 1\r\n", 101) + "\r\n", "431"},
		{"head too large", "GET / HTTP/1.1\r\n" + h + strings.Repeat("X-Long: "+strings.Repeat("v", 1000)+"\r\n", 70) + "\r\n", "431"},
		{"chunk size not hex", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", "400"},
		{"chunk size 0x", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", "400"},
		{"chunk size overflow", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n", "400"},
		{"chunk without CRLF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", "400"},
		{"chunk bad extension", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5;a\x01=b\r\nhello\r\n0\r\n\r\n", "400"},
		{"chunk negative", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", "400"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	a := newTestBackend(t, "a", nil)
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{}), nil))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rawExchange(t, p.addr, tc.req, 3*time.Second)
			if !strings.HasPrefix(got, "HTTP/1.1 "+tc.status+" ") {
				t.Errorf("got %q; want status %s", firstLine(got), tc.status)
			}
			if !strings.Contains(got, "\r\nConnection: close\r\n") {
				t.Errorf("response lacks Connection: close: %q", got)
			}
		})
	}
	if n := a.requests.Load(); n != 0 {
		t.Errorf("backend received %d of the malformed requests; want 0", n)
	}
	// The proxy still works.
	resp, err := newClient().Get(p.url("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	if bodyOf(t, resp); resp.StatusCode != 200 {
		t.Errorf("after the malformed requests: status %d", resp.StatusCode)
	}
}

func firstLine(s string) string {
	if i := strings.Index(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
