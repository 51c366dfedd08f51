//go:build !race

package http1

import "testing"

// TestZeroAllocs pins the claim that the request path allocates nothing
// once its buffers have grown: parse a request, look at it the way the
// directors do, forward it, parse and forward the response, and decode a
// chunked body.
func TestZeroAllocs(t *testing.T) {
	reqBuf := []byte(browserHead)
	respBuf := []byte(typicalResponse)
	body := chunkedBody(4096, 1000)
	var (
		req  Request
		resp Response
		dec  ChunkDecoder
		out  = make([]byte, 0, 8192)
	)
	fo := &ForwardOptions{ClientAddr: []byte("192.0.2.1"), XForwarded: true, DefaultHost: []byte("d")}
	ro := &ResponseOptions{ClientMinor: 1}
	run := func() {
		if _, err := req.Parse(reqBuf, nil); err != nil {
			t.Fatal(err)
		}
		if req.Header("user-agent") == nil || req.Cookie("session") == nil || req.QueryValue("v") == nil {
			t.Fatal("lookup failed")
		}
		out = AppendForwardRequest(out[:0], &req, fo)
		if _, err := resp.Parse(respBuf, nil); err != nil {
			t.Fatal(err)
		}
		out = AppendForwardResponse(out[:0], &resp, ro)
		out = AppendError(out[:0], 503, true)
		dec.Reset()
		for n := 0; n < len(body); {
			k, _, fin, err := dec.Decode(body[n:])
			if err != nil {
				t.Fatal(err)
			}
			n += k
			if fin || k == 0 {
				break
			}
		}
	}
	run() // grow Headers
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("expected 0 allocations, got %v", n)
	}
	if n := testing.AllocsPerRun(100, func() { out = AppendForwardRequest(out[:0], &req, nil) }); n != 0 {
		t.Fatalf("nil options: expected 0 allocations, got %v", n)
	}
	var bad Request
	malformed := []byte("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
	if n := testing.AllocsPerRun(100, func() { _, _ = bad.Parse(malformed, nil) }); n != 0 {
		t.Fatalf("rejecting a request: expected 0 allocations, got %v", n)
	}
}
