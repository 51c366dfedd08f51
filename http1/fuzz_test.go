package http1

import (
	"bytes"
	"net/netip"
	"testing"
)

// within reports whether sub is empty or starts within buf.
func within(sub, buf []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(buf); i++ {
		if &buf[i] == &sub[0] {
			return true
		}
	}
	return false
}

var generous = &Limits{MaxRequestLine: 1 << 20, MaxHeaderBytes: 1 << 21, MaxHeaders: 1 << 12}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(browserHead))
	f.Add([]byte("POST /a?b=c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("GET http://h:80/p HTTP/1.0\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n"))
	f.Add([]byte("\r\nOPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n"))
	for _, tc := range malformedRequests {
		if len(tc.req) < 2000 {
			f.Add([]byte(tc.req))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		n, err := r.Parse(data, nil)
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with err %v", n, err)
			}
			if err != ErrNeedMore && statusOf(err) <= 0 {
				t.Fatalf("err %v is neither ErrNeedMore nor an *Error", err)
			}
			return
		}
		if n <= 0 || n > len(data) || r.HeadLen != n {
			t.Fatalf("n = %d, HeadLen %d, len %d", n, r.HeadLen, len(data))
		}
		head := data[:n]
		for _, s := range [][]byte{r.Method, r.Target, r.Host, r.Query} {
			if !within(s, head) {
				t.Fatalf("slice %q is not within the head", s)
			}
		}
		if !within(r.Path, head) && string(r.Path) != "/" {
			t.Fatalf("Path %q is not within the head", r.Path)
		}
		// The head alone parses the same; every prefix is incomplete.
		var again Request
		if m, err := again.Parse(head, nil); m != n || err != nil {
			t.Fatalf("head alone: %d, %v; want %d, nil", m, err, n)
		}
		for k := 0; k < n; k++ {
			if _, err := again.Parse(head[:k], nil); err != ErrNeedMore {
				t.Fatalf("prefix %d of %d: err = %v; want ErrNeedMore", k, n, err)
			}
		}
		// What the proxy forwards parses back to the same request (the
		// retry path relies on it).
		if r.Host == nil {
			return
		}
		out := AppendForwardRequest(nil, &r, &ForwardOptions{ClientAddr: []byte("192.0.2.1"), XForwarded: true, KeepUpgrade: true})
		var fwd Request
		m, err := fwd.Parse(out, generous)
		if err != nil || m != len(out) {
			t.Fatalf("forwarded head %q: %d, %v", out, m, err)
		}
		if !bytes.Equal(fwd.Method, r.Method) || !bytes.Equal(fwd.Target, r.Target) || !bytes.Equal(fwd.Host, r.Host) ||
			fwd.ContentLength != r.ContentLength || fwd.Chunked != r.Chunked || fwd.Upgrade != r.Upgrade || !fwd.KeepAlive {
			t.Fatalf("forwarded head %q parses as %+v; original %+v", out, fwd, r)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(typicalResponse))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 101 Switching\nUpgrade: ws\nContent-Length: 1, 1\n\n"))
	f.Add([]byte("HTTP/1.1 204\r\nTransfer-Encoding: gzip\r\nX : y\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Response
		n, err := r.Parse(data, nil)
		if err != nil {
			if n != 0 || err != ErrNeedMore && statusOf(err) <= 0 {
				t.Fatalf("n = %d, err = %v", n, err)
			}
			return
		}
		if n <= 0 || n > len(data) || r.HeadLen != n || r.Status < 100 || r.Status > 599 {
			t.Fatalf("n = %d, HeadLen %d, status %d", n, r.HeadLen, r.Status)
		}
		head := data[:n]
		for k := 0; k < n; k++ {
			var p Response
			if _, err := p.Parse(head[:k], nil); err != ErrNeedMore {
				t.Fatalf("prefix %d of %d: err = %v; want ErrNeedMore", k, n, err)
			}
		}
		out := AppendForwardResponse(nil, &r, &ResponseOptions{ClientMinor: 1})
		var fwd Response
		m, err := fwd.Parse(out, generous)
		if err != nil || m != len(out) {
			t.Fatalf("forwarded head %q: %d, %v", out, m, err)
		}
		// A 1xx or 204 is forwarded without framing fields (RFC 9112
		// 6.1): only its framing, none, must be kept.
		noFraming := r.Status < 200 || r.Status == 204
		if fwd.Status != r.Status || fwd.Framing(false) != r.Framing(false) ||
			!noFraming && (fwd.ContentLength != r.ContentLength || fwd.Chunked != r.Chunked) ||
			noFraming && (fwd.ContentLength >= 0 || fwd.Chunked) {
			t.Fatalf("forwarded head %q parses as %+v; original %+v", out, fwd, r)
		}
	})
}

func FuzzChunkDecoder(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), uint16(3), uint16(9))
	f.Add([]byte("a;x=\"y\\\"\"\r\n0123456789\r\n0;z\r\nT: v\r\n\r\nrest"), uint16(1), uint16(30))
	f.Add([]byte("0x5\r\n"), uint16(0), uint16(1))
	f.Add(chunkedBody(300, 64), uint16(70), uint16(140))
	f.Fuzz(func(t *testing.T, body []byte, s1, s2 uint16) {
		a, b := int(s1), int(s2)
		if a > b {
			a, b = b, a
		}
		wantPayload, wantN, wantDone, wantErr := decodeAll(body)
		if wantN > len(body) || wantN < 0 {
			t.Fatalf("consumed %d of %d", wantN, len(body))
		}
		if wantDone && wantErr != nil {
			t.Fatalf("done with an error: %v", wantErr)
		}
		if wantErr != nil && statusOf(wantErr) != 400 {
			t.Fatalf("err %v is not a 400 *Error", wantErr)
		}
		gotPayload, gotN, gotDone, gotErr := decodeAll(body, a, b-a)
		if !bytes.Equal(gotPayload, wantPayload) || gotN != wantN || gotDone != wantDone || gotErr != wantErr {
			t.Fatalf("split at %d, %d: %q %d %v %v; whole: %q %d %v %v",
				a, b, gotPayload, gotN, gotDone, gotErr, wantPayload, wantN, wantDone, wantErr)
		}
	})
}

func FuzzProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET"))
	f.Add([]byte("PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 1 2\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(AppendProxyHeader(nil, 2, netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2")))
	f.Add(AppendProxyHeader(nil, 2, netip.MustParseAddrPort("[2001:db8::1]:1"), netip.MustParseAddrPort("[::ffff:1.2.3.4]:2")))
	f.Add([]byte(proxyV2Sig + "\x20\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, src, dst, err := ParseProxyHeader(data)
		if err != nil {
			if n != 0 || err != ErrNeedMore && statusOf(err) != 400 {
				t.Fatalf("n = %d, err = %v", n, err)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("n = %d of %d", n, len(data))
		}
		if m, s2, d2, err := ParseProxyHeader(data[:n]); m != n || s2 != src || d2 != dst || err != nil {
			t.Fatalf("header alone: %d %v %v %v", m, s2, d2, err)
		}
		// Writing what we read and reading it back is stable.
		for _, v := range []int{1, 2} {
			h1 := AppendProxyHeader(nil, v, src, dst)
			_, s1, d1, err := ParseProxyHeader(h1)
			if err != nil {
				t.Fatalf("v%d %q: %v", v, h1, err)
			}
			h2 := AppendProxyHeader(nil, v, s1, d1)
			if !bytes.Equal(h1, h2) {
				t.Fatalf("v%d: %q then %q", v, h1, h2)
			}
			if src.IsValid() && dst.IsValid() && (s1.Addr().Unmap() != src.Addr().Unmap() || s1.Port() != src.Port() ||
				d1.Addr().Unmap() != dst.Addr().Unmap() || d1.Port() != dst.Port()) {
				t.Fatalf("v%d: %v %v became %v %v", v, src, dst, s1, d1)
			}
		}
	})
}
