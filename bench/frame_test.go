package bench

import (
	"bytes"
	"reflect"
	"testing"
)

func TestParseHead(t *testing.T) {
	for _, tc := range []struct {
		in       string
		response bool
		want     head
	}{
		{"GET /1k HTTP/1.1\r\nHost: x\r\n\r\n", false, head{contentLength: -1}},
		{"POST /p HTTP/1.1\r\ncontent-length: 12\r\nExpect: 100-continue\r\n\r\n", false, head{contentLength: 12, expectContinue: true}},
		{"POST /p HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nConnection: Close\r\n\r\n", false, head{contentLength: -1, chunked: true, close: true}},
		{"GET / HTTP/1.0\r\n\r\n", false, head{contentLength: -1, close: true}},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, head{contentLength: -1}},
		{"HTTP/1.1 204 No Content\r\n\r\n", true, head{status: 204, contentLength: -1}},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true, head{status: 200, contentLength: 5}},
	} {
		h, n, err := parseHead([]byte(tc.in), tc.response)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		h.method, h.path = nil, nil
		if !reflect.DeepEqual(h, tc.want) {
			t.Errorf("%q: got %+v; want %+v", tc.in, h, tc.want)
		}
		if end := bytes.Index([]byte(tc.in), crlfcrlf) + 4; n != end {
			t.Errorf("%q: n = %d; want %d", tc.in, n, end)
		}
	}
	if _, _, err := parseHead([]byte("GET / HTTP/1.1\r\nHost: x\r\n"), false); err != errNeedMore {
		t.Errorf("partial head: err = %v; want errNeedMore", err)
	}
	if _, _, err := parseHead([]byte("HTTP/1.1 2x0 OK\r\n\r\n"), true); err == nil {
		t.Error("bad status accepted")
	}
}

// TestChunkedBodyAnySplit feeds a chunked body (with an extension and a
// trailer) followed by the next message, cut at every possible point.
func TestChunkedBodyAnySplit(t *testing.T) {
	body := appendChunked(nil, bytes.Repeat([]byte("z"), 300), 128)
	body = bytes.Replace(body, []byte("0\r\n\r\n"), []byte("0;ext=1\r\nX-Trailer: y\r\n\r\n"), 1)
	in := append(append([]byte{}, body...), "NEXT"...)
	for cut := 0; cut <= len(body); cut++ {
		var c chunkedBody
		var pending []byte
		consumed := 0
		done := false
		for _, piece := range [][]byte{in[:cut], in[cut:]} {
			pending = append(pending, piece...)
			n, d, err := c.consume(pending)
			if err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			consumed += n
			pending = pending[n:]
			if d {
				done = true
				break
			}
		}
		if !done || consumed != len(body) || c.data != 300 {
			t.Fatalf("cut %d: done %v, consumed %d of %d, data %d", cut, done, consumed, len(body), c.data)
		}
	}
	var c chunkedBody
	if _, _, err := c.consume([]byte("zz\r\n")); err == nil {
		t.Error("bad chunk size accepted")
	}
}
