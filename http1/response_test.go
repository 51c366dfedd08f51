package http1

import (
	"strings"
	"testing"
)

const typicalResponse = "HTTP/1.1 200 OK\r\n" +
	"Date: Mon, 27 Jul 2009 12:28:53 GMT\r\n" +
	"Server: Apache\r\n" +
	"Last-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\n" +
	"ETag: \"34aa387-d-1568eb00\"\r\n" +
	"Accept-Ranges: bytes\r\n" +
	"Content-Length: 51\r\n" +
	"Vary: Accept-Encoding\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n"

func TestParseResponseValid(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		status    int
		minor     int
		reason    string
		cl        int64
		chunked   bool
		keepAlive bool
		nHeaders  int
		framing   Framing // for a GET
	}{
		{"typical", typicalResponse, 200, 1, "OK", 51, false, true, 8, FramingLength},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, 1, "OK", -1, true, true, 1, FramingChunked},
		{"no length", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", 200, 1, "OK", -1, false, true, 1, FramingClose},
		{"CL zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, 1, "OK", 0, false, true, 1, FramingNone},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", 204, 1, "No Content", -1, false, true, 0, FramingNone},
		{"304 with CL", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 304, 1, "Not Modified", 100, false, true, 1, FramingNone},
		{"100 continue", "HTTP/1.1 100 Continue\r\n\r\n", 100, 1, "Continue", -1, false, true, 0, FramingNone},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 101, 1, "Switching Protocols", -1, false, true, 2, FramingNone},
		{"empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", 404, 1, "", 0, false, true, 1, FramingNone},
		{"missing reason", "HTTP/1.1 500\r\nContent-Length: 2\r\n\r\n", 500, 1, "", 2, false, true, 1, FramingLength},
		{"reason with obs-text and tab", "HTTP/1.1 200 \xc3\xa9\tok\r\n\r\n", 200, 1, "\xc3\xa9\tok", -1, false, true, 0, FramingClose},
		{"HTTP/1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 200, 0, "OK", 1, false, false, 1, FramingLength},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", 200, 0, "OK", 1, false, true, 2, FramingLength},
		{"HTTP/1.1 close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", 200, 1, "OK", 1, false, false, 2, FramingLength},
		{"HTTP/1.9 is 1.1", "HTTP/1.9 200 OK\r\n\r\n", 200, 1, "OK", -1, false, true, 0, FramingClose},
		{"bare LF lines", "HTTP/1.1 200 OK\nContent-Length: 3\nX-A: b\n\n", 200, 1, "OK", 3, false, true, 2, FramingLength},
		{"space before colon removed", "HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n", 200, 1, "OK", 3, false, true, 1, FramingLength},
		{"CL repeated same", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 200, 1, "OK", 3, false, true, 2, FramingLength},
		{"CL list same", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", 200, 1, "OK", 3, false, true, 1, FramingLength},
		{"TE gzip is close-delimited", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 200, 1, "OK", -1, false, true, 1, FramingClose},
		{"TE chunked over two fields", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\nTransfer-Encoding: chunked\r\n\r\n", 200, 1, "OK", -1, true, true, 2, FramingChunked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r Response
			n, err := r.Parse([]byte(tc.in+"BODY"), nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n != len(tc.in) || r.HeadLen != n {
				t.Errorf("n = %d, HeadLen = %d; want %d", n, r.HeadLen, len(tc.in))
			}
			if r.Status != tc.status || r.Minor != tc.minor || string(r.Reason) != tc.reason {
				t.Errorf("status line = %d %d %q; want %d %d %q", r.Status, r.Minor, r.Reason, tc.status, tc.minor, tc.reason)
			}
			if r.ContentLength != tc.cl || r.Chunked != tc.chunked || r.KeepAlive != tc.keepAlive {
				t.Errorf("CL, Chunked, KeepAlive = %d %v %v; want %d %v %v", r.ContentLength, r.Chunked, r.KeepAlive, tc.cl, tc.chunked, tc.keepAlive)
			}
			if len(r.Headers) != tc.nHeaders {
				t.Errorf("len(Headers) = %d; want %d", len(r.Headers), tc.nHeaders)
			}
			if f := r.Framing(false); f != tc.framing {
				t.Errorf("Framing(false) = %v; want %v", f, tc.framing)
			}
			if f := r.Framing(true); f != FramingNone {
				t.Errorf("Framing(true) = %v; want none (HEAD)", f)
			}
			for k := 0; k < len(tc.in); k++ {
				var p Response
				if _, err := p.Parse([]byte(tc.in[:k]), nil); err != ErrNeedMore {
					t.Fatalf("prefix %q: err = %v; want ErrNeedMore", tc.in[:k], err)
				}
			}
		})
	}
}

func TestParseResponseMalformed(t *testing.T) {
	cases := []struct{ name, in string }{
		{"not HTTP", "HTTX/1.1 200 OK\r\n\r\n"},
		{"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n"},
		{"HTTP/1.x", "HTTP/1.x 200 OK\r\n\r\n"},
		{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n"},
		{"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n"},
		{"status 099", "HTTP/1.1 099 X\r\n\r\n"},
		{"status 600", "HTTP/1.1 600 X\r\n\r\n"},
		{"no space after version", "HTTP/1.1200 OK\r\n\r\n"},
		{"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n"},
		{"bare CR in status line", "HTTP/1.1 200 OK\rX\r\n\r\n"},
		{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"CL conflict", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"},
		{"CL list conflict", "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n"},
		{"CL negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
		{"CL garbage", "HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n"},
		{"CL empty", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"},
		{"CL empty second", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length:\r\n\r\n"},
		{"CL overflow", "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n"},
		{"TE chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"},
		{"TE gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"},
		{"TE chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"TE empty", "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n"},
		{"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n"},
		{"NUL in value", "HTTP/1.1 200 OK\r\nX-A: a\x00\r\n\r\n"},
		{"bare CR in value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n"},
		{"empty name", "HTTP/1.1 200 OK\r\n: a\r\n\r\n"},
		{"name with space inside", "HTTP/1.1 200 OK\r\nX A: a\r\n\r\n"},
		{"line without colon", "HTTP/1.1 200 OK\r\nXA\r\n\r\n"},
		{"connection garbage", "HTTP/1.1 200 OK\r\nConnection: a@b\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r Response
			n, err := r.Parse([]byte(tc.in), nil)
			if err == nil || err == ErrNeedMore || statusOf(err) <= 0 {
				t.Fatalf("Parse = %d, %v; want an *Error", n, err)
			}
		})
	}
}

func TestParseResponseLimits(t *testing.T) {
	long := "HTTP/1.1 200 " + strings.Repeat("r", 200) + "\r\n\r\n"
	var r Response
	if _, err := r.Parse([]byte(long), &Limits{MaxRequestLine: 100}); statusOf(err) <= 0 {
		t.Errorf("long status line: err = %v; want an *Error", err)
	}
	if _, err := r.Parse([]byte(long[:150]), &Limits{MaxRequestLine: 100}); statusOf(err) <= 0 {
		t.Errorf("long partial status line: err = %v; want an *Error", err)
	}
	many := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: 1\r\n", 5)
	if _, err := r.Parse([]byte(many), &Limits{MaxHeaders: 4}); statusOf(err) != 431 {
		t.Errorf("many fields: err = %v; want 431", err)
	}
	big := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("v", 300)
	if _, err := r.Parse([]byte(big), &Limits{MaxHeaderBytes: 256}); statusOf(err) != 431 {
		t.Errorf("big head: err = %v; want 431", err)
	}
}

func TestResponseHeaderAndReset(t *testing.T) {
	var r Response
	if _, err := r.Parse([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nX-A: 1\r\n\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	if v := r.Header("x-a"); string(v) != "1" {
		t.Errorf("Header(x-a) = %q", v)
	}
	if v := r.Header("x-b"); v != nil {
		t.Errorf("Header(x-b) = %q; want nil", v)
	}
	// The close-delimited flag must not survive into the next response.
	if _, err := r.Parse([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	if f := r.Framing(false); f != FramingLength {
		t.Errorf("Framing after reuse = %v; want length", f)
	}
	for f := FramingNone; f <= FramingClose+1; f++ {
		if f.String() == "" {
			t.Errorf("Framing(%d).String() is empty", f)
		}
	}
}
