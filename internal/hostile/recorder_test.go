package hostile

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRecordingBackendBarrier: a barrier sent straight to the recorder
// (it is its own proxy here) is recorded as such, a request is recorded
// and answered, and Sync returns.
func TestRecordingBackendBarrier(t *testing.T) {
	b, err := NewRecordingBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	out, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(out), "HTTP/1.1 200 ") {
		t.Fatalf("answer %q", out)
	}
	if err := b.Sync(b.Addr(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := b.Take()
	if len(got) != 1 || got[0].Err != nil || got[0].Req.Target != "/x" {
		t.Fatalf("recorded %v", got)
	}
}

// TestReadStrict: the judge accepts strictly well-framed requests and
// refuses what a strict origin server would.
func TestReadStrict(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		wantErr error
		bodyLen int64
	}{
		{"simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", nil, 0},
		{"content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", nil, 5},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", nil, 5},
		{"incomplete head", "GET / HTTP/1.1\r\nHost: a\r\n", ErrIncomplete, 0},
		{"incomplete body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel", ErrIncomplete, 0},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", ErrMalformed, 0},
		{"CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrMalformed, 0},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ErrMalformed, 0},
		{"no host", "GET / HTTP/1.1\r\n\r\n", ErrMalformed, 0},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", ErrMalformed, 0},
		{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", ErrMalformed, 0},
		{"forbidden trailer", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: b\r\n\r\n", ErrMalformed, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ReadStrict([]byte(tc.in))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("error %v; want %v", err, tc.wantErr)
			case tc.wantErr == nil && (r.Len != len(tc.in) || r.BodyLen != tc.bodyLen):
				t.Fatalf("len %d body %d; want %d, %d", r.Len, r.BodyLen, len(tc.in), tc.bodyLen)
			}
		})
	}
}

// TestParseCase: a case file's header and raw section, and its errors.
func TestParseCase(t *testing.T) {
	c, err := Parse(KindRequest, "x.case", []byte("rfc: R\nstatus: 200 400\nclose: no\nbackend: POST /a 5 host=h\nbackend: * * *\n--\nA\\r\\n\\|B\\{3:c}\\x41\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "x" || len(c.Status) != 2 || c.Close != CloseNo || len(c.Wants) != 2 || c.Wants[0].Host != "h" || c.Wants[1].BodyLen != -1 {
		t.Fatalf("parsed %+v", c)
	}
	if got := string(c.Bytes()); got != "A\r\nBcccA" || len(c.Raw) != 2 {
		t.Fatalf("raw %q in %d pieces", got, len(c.Raw))
	}
	bad := []struct{ name, in string }{
		{"no separator", "rfc: R\nstatus: 200\n"},
		{"missing backend", "rfc: R\nstatus: 200\nclose: no\n--\nx"},
		{"unknown key", "rfc: R\nstatus: 200\nclose: no\nbackend: none\nfoo: 1\n--\nx"},
		{"bad status", "rfc: R\nstatus: 99\nclose: no\nbackend: none\n--\nx"},
		{"literal control", "rfc: R\nstatus: 200\nclose: no\nbackend: none\n--\nx\x01"},
		{"bad escape", "rfc: R\nstatus: 200\nclose: no\nbackend: none\n--\n\\q"},
		{"huge repeat", "rfc: R\nstatus: 200\nclose: no\nbackend: none\n--\n\\{99999999:x}"},
		{"empty raw", "rfc: R\nstatus: 200\nclose: no\nbackend: none\n--\n"},
	}
	for _, tc := range bad {
		if _, err := Parse(KindRequest, tc.name, []byte(tc.in)); err == nil {
			t.Errorf("%s: parsed", tc.name)
		}
	}
}

// TestEscapeRoundTrip: Escape writes what Unescape reads back.
func TestEscapeRoundTrip(t *testing.T) {
	in := []byte("GET /\x00\x7f\xff{}\\ \t\r\nx")
	got, err := Unescape(Escape(in))
	if err != nil || len(got) != 1 || string(got[0]) != string(in) {
		t.Fatalf("round trip of %q: %q, %v", in, got, err)
	}
}

// FuzzParseCase: the case-file parser never panics, and what it accepts
// stays within MaxRawBytes.
func FuzzParseCase(f *testing.F) {
	f.Add([]byte("rfc: R\nstatus: 200\nclose: no\nbackend: none\n--\nGET / HTTP/1.1\\r\\n\\{3:\\{2:a}}\\|x"))
	f.Add([]byte("rfc: R\nstatus: 502\nthen: keep\nbody: truncated\n--\nHTTP/1.1 200 OK\\r\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []Kind{KindRequest, KindResponse} {
			c, err := Parse(k, "f.case", data)
			if err == nil && len(c.Bytes()) > MaxRawBytes {
				t.Fatalf("%d raw bytes accepted", len(c.Bytes()))
			}
		}
	})
}

// FuzzReadStrict: the judge never panics and never claims more bytes
// than it was given.
func FuzzReadStrict(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadStrict(data)
		if err == nil && (r.Len <= 0 || r.Len > len(data)) {
			t.Fatalf("Len %d of %d bytes", r.Len, len(data))
		}
	})
}
