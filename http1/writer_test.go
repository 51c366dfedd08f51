package http1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func mustParseRequest(t *testing.T, raw string) *Request {
	t.Helper()
	var r Request
	if _, err := r.Parse([]byte(raw), nil); err != nil {
		t.Fatalf("Parse(%q): %v", raw, err)
	}
	return &r
}

func mustParseResponse(t *testing.T, raw string) *Response {
	t.Helper()
	var r Response
	if _, err := r.Parse([]byte(raw), nil); err != nil {
		t.Fatalf("Parse(%q): %v", raw, err)
	}
	return &r
}

func TestAppendForwardRequest(t *testing.T) {
	xff := &ForwardOptions{ClientAddr: []byte("192.0.2.7"), XForwarded: true}
	cases := []struct {
		name string
		in   string
		o    *ForwardOptions
		want string
	}{
		{"plain", "GET /a?b HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n", nil,
			"GET /a?b HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n"},
		{"hop-by-hop removed",
			"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n" +
				"Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Secret: s\r\nx-secret: t\r\n" +
				"Trailer: X-Sum\r\nProxy-Authorization: Basic x\r\nX-Kept: k\r\n\r\n", nil,
			"GET / HTTP/1.1\r\nHost: h\r\nTrailer: X-Sum\r\nProxy-Authorization: Basic x\r\nX-Kept: k\r\n\r\n"},
		{"Connection cannot strip framing or Host",
			"POST / HTTP/1.1\r\nHost: h\r\nConnection: host, content-length, Accept\r\nContent-Length: 3\r\nAccept: x\r\n\r\n", nil,
			"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"},
		{"chunked re-emitted, Expect kept",
			"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\nExpect: 100-continue\r\n\r\n", nil,
			"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"},
		{"HTTP/1.0 sent as 1.1 with default Host",
			"GET /x HTTP/1.0\r\nAccept: a\r\n\r\n", &ForwardOptions{DefaultHost: []byte("backend.local")},
			"GET /x HTTP/1.1\r\nHost: backend.local\r\nAccept: a\r\n\r\n"},
		{"HTTP/1.0 without Host and no default",
			"GET /x HTTP/1.0\r\n\r\n", nil,
			"GET /x HTTP/1.1\r\n\r\n"},
		{"default Host unused when present",
			"GET /x HTTP/1.0\r\nHost: mine\r\n\r\n", &ForwardOptions{DefaultHost: []byte("backend.local")},
			"GET /x HTTP/1.1\r\nHost: mine\r\n\r\n"},
		{"absolute-form replaces Host",
			"GET http://real.example/p HTTP/1.1\r\nUser-Agent: u\r\nHost: fake\r\n\r\n", nil,
			"GET http://real.example/p HTTP/1.1\r\nUser-Agent: u\r\nHost: real.example\r\n\r\n"},
		{"absolute-form adds Host in 1.0",
			"GET http://real.example/p HTTP/1.0\r\n\r\n", &ForwardOptions{DefaultHost: []byte("d")},
			"GET http://real.example/p HTTP/1.1\r\nHost: real.example\r\n\r\n"},
		{"upgrade kept",
			"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n", &ForwardOptions{KeepUpgrade: true},
			"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nConnection: upgrade\r\n\r\n"},
		{"upgrade stripped without KeepUpgrade",
			"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", nil,
			"GET /ws HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"KeepUpgrade on a request that is no upgrade",
			"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", &ForwardOptions{KeepUpgrade: true},
			"GET / HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"XFF added",
			"GET / HTTP/1.1\r\nHost: h\r\n\r\n", xff,
			"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n"},
		{"XFF appended and merged, proto and host replaced",
			"GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nHost: h\r\nX-Forwarded-Proto: https\r\n" +
				"x-forwarded-for: 10.0.0.3\r\nX-Forwarded-Host: evil\r\nX-Forwarded-For:\r\n\r\n", xff,
			"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n"},
		{"proto https from a TLS client, a forged one dropped",
			"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: http\r\n\r\n", &ForwardOptions{XForwarded: true, HTTPS: true, ClientAddr: []byte("192.0.2.7")},
			"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\n\r\n"},
		{"XFF named by Connection is dropped",
			"GET / HTTP/1.1\r\nHost: h\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n", xff,
			"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n"},
		{"XFF without client address",
			"GET / HTTP/1.0\r\n\r\n", &ForwardOptions{XForwarded: true},
			"GET / HTTP/1.1\r\nX-Forwarded-Proto: http\r\n\r\n"},
		{"XFF untouched when disabled",
			"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: https\r\n\r\n", &ForwardOptions{ClientAddr: []byte("2.2.2.2")},
			"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: https\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustParseRequest(t, tc.in)
			got := AppendForwardRequest([]byte("prefix"), r, tc.o)
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("dst was overwritten: %q", got)
			}
			got = got[len("prefix"):]
			if string(got) != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
			// What we send parses, with both our parser and net/http.
			var back Request
			if _, err := back.Parse(got, nil); err != nil && r.Host != nil {
				t.Fatalf("forwarded head does not parse: %v", err)
			}
			if r.Host != nil {
				hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(got)))
				if err != nil {
					t.Fatalf("net/http rejects the forwarded head: %v", err)
				}
				if hr.Host != string(r.Host) {
					t.Errorf("net/http sees Host %q; want %q", hr.Host, r.Host)
				}
			}
		})
	}
}

func TestAppendForwardResponse(t *testing.T) {
	cases := []struct {
		name string
		in   string
		o    *ResponseOptions
		want string
	}{
		{"plain 1.1", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\n", &ResponseOptions{ClientMinor: 1},
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\n"},
		{"1.0 backend sent as 1.1", "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", &ResponseOptions{ClientMinor: 1, Close: true},
			"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"keep-alive for a 1.0 client", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", &ResponseOptions{},
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"},
		{"close wins for a 1.0 client", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", &ResponseOptions{Close: true},
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"},
		{"hop-by-hop removed",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nKeep-Alive: timeout=5\r\nX-Internal: 1\r\nProxy-Connection: x\r\n" +
				"Upgrade: h2c\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\nProxy-Authenticate: Basic\r\n\r\n", &ResponseOptions{ClientMinor: 1},
			"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\nProxy-Authenticate: Basic\r\n\r\n"},
		{"Connection cannot strip Content-Length",
			"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 2\r\n\r\n", &ResponseOptions{ClientMinor: 1},
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"},
		{"dechunk for a 1.0 client",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n", &ResponseOptions{Dechunk: true, Close: true},
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"},
		{"repeated Content-Length sent once",
			"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nX: y\r\ncontent-length: 5\r\n\r\n", &ResponseOptions{ClientMinor: 1},
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\n"},
		{"non-chunked coding forwarded",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &ResponseOptions{ClientMinor: 1, Close: true},
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n"},
		{"upgrade",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: a\r\n\r\n", &ResponseOptions{ClientMinor: 1, KeepUpgrade: true},
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: a\r\nConnection: upgrade\r\n\r\n"},
		{"empty reason", "HTTP/1.1 299\r\n\r\n", &ResponseOptions{ClientMinor: 1},
			"HTTP/1.1 299 \r\n\r\n"},
		{"bare LF and space before colon normalised", "HTTP/1.1 200 OK\nX-A : b\nContent-Length: 0\n\n", &ResponseOptions{ClientMinor: 1},
			"HTTP/1.1 200 OK\r\nX-A: b\r\nContent-Length: 0\r\n\r\n"},
		{"no framing fields with a 1xx", "HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: \r\nTransfer-Encoding: 0\r\nLink: </a>\r\n\r\n", &ResponseOptions{ClientMinor: 1},
			"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"},
		{"no framing fields with a 204", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX: y\r\n\r\n", &ResponseOptions{ClientMinor: 1},
			"HTTP/1.1 204 No Content\r\nX: y\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustParseResponse(t, tc.in)
			got := string(AppendForwardResponse(nil, r, tc.o))
			if got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
			var back Response
			if _, err := back.Parse([]byte(got), nil); err != nil {
				t.Fatalf("forwarded head does not parse: %v", err)
			}
		})
	}
}

func TestAppendInterim(t *testing.T) {
	r := mustParseResponse(t, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: keep-alive\r\n\r\n")
	got := string(AppendInterim(nil, r))
	want := "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
	if got != want {
		t.Fatalf("got %q; want %q", got, want)
	}
}

func TestAppendStatusLine(t *testing.T) {
	cases := []struct {
		status int
		want   string
	}{
		{200, "HTTP/1.1 200 OK\r\n"},
		{503, "HTTP/1.1 503 Service Unavailable\r\n"},
		{431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
		{299, "HTTP/1.1 299 \r\n"},
		{42, "HTTP/1.1 500 Internal Server Error\r\n"},
	}
	for _, tc := range cases {
		if got := string(AppendStatusLine(nil, tc.status)); got != tc.want {
			t.Errorf("AppendStatusLine(%d) = %q; want %q", tc.status, got, tc.want)
		}
	}
}

func TestAppendErrorParsesWithNetHTTP(t *testing.T) {
	for _, status := range []int{400, 408, 413, 414, 417, 431, 501, 502, 503, 504, 505, 299} {
		for _, closeConn := range []bool{false, true} {
			raw := AppendError(nil, status, closeConn)
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
			if err != nil {
				t.Fatalf("%d: ReadResponse(%q): %v", status, raw, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("%d: body: %v", status, err)
			}
			wantBody := strings.TrimSpace(strings.Join([]string{itoa(status), StatusText(status)}, " ")) + "\n"
			if resp.StatusCode != status || string(body) != wantBody {
				t.Errorf("%d: got %d %q; want %d %q", status, resp.StatusCode, body, status, wantBody)
			}
			if resp.Close != closeConn {
				t.Errorf("%d close=%v: net/http sees Close=%v", status, closeConn, resp.Close)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("%d: Content-Type %q", status, ct)
			}
			if resp.ContentLength != int64(len(wantBody)) {
				t.Errorf("%d: Content-Length %d; want %d", status, resp.ContentLength, len(wantBody))
			}
		}
	}
	want := "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 24\r\nConnection: close\r\n\r\n503 Service Unavailable\n"
	if got := string(AppendError(nil, 503, true)); got != want {
		t.Errorf("AppendError(503, true) = %q; want %q", got, want)
	}
	if got := string(AppendError(nil, 304, false)); got != "HTTP/1.1 304 Not Modified\r\n\r\n" {
		t.Errorf("AppendError(304) = %q", got)
	}
}

func itoa(n int) string { return string(appendUint(nil, uint64(n))) }
