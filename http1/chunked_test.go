package http1

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// chunkedBody returns a chunked encoding of size payload bytes in chunks
// of at most chunk bytes.
func chunkedBody(size, chunk int) []byte {
	var b []byte
	for off := 0; off < size; off += chunk {
		n := min(chunk, size-off)
		b = fmt.Appendf(b, "%x\r\n", n)
		for i := 0; i < n; i++ {
			b = append(b, byte('a'+(off+i)%26))
		}
		b = append(b, "\r\n"...)
	}
	return append(b, "0\r\n\r\n"...)
}

// decodeAll decodes body fed in pieces of the given sizes (the last piece
// takes the rest) and returns the payload, the bytes consumed and whether
// the body completed.
func decodeAll(body []byte, pieces ...int) (payload []byte, consumed int, done bool, err error) {
	var d ChunkDecoder
	feed := func(p []byte) (int, bool, error) {
		n := 0
		for n < len(p) {
			k, data, fin, err := d.Decode(p[n:])
			if k < 0 || k > len(p)-n {
				return n, false, fmt.Errorf("Decode consumed %d of %d", k, len(p)-n)
			}
			if len(data) > 0 && (&data[0] != &p[n+k-len(data)] && !bytes.Contains(p[n:n+k], data)) {
				return n, false, fmt.Errorf("data is not within the consumed bytes")
			}
			n += k
			payload = append(payload, data...)
			if err != nil {
				return n, false, err
			}
			if fin {
				return n, true, nil
			}
			if k == 0 {
				break
			}
		}
		return n, false, nil
	}
	off := 0
	for _, sz := range pieces {
		end := min(off+sz, len(body))
		n, fin, err := feed(body[off:end])
		consumed += n
		if err != nil || fin {
			return payload, consumed, fin, err
		}
		off = end
	}
	n, fin, err := feed(body[off:])
	return payload, consumed + n, fin, err
}

func TestChunkDecoderValid(t *testing.T) {
	cases := []struct {
		name, body, payload string
	}{
		{"empty body", "0\r\n\r\n", ""},
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"},
		{"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
		{"upper-case hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"},
		{"16 digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello"},
		{"extension", "5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello"},
		{"extension BWS", "5 ; a = b ;c\t;d=\"q\\\"x\"\r\nhello\r\n0\r\n\r\n", "hello"},
		{"quoted extension", "5;a=\"x y;z\"\r\nhello\r\n0\r\n\r\n", "hello"},
		{"trailers", "5\r\nhello\r\n0\r\nX-Sum: 42\r\nX-Empty:\r\nX-Tab:\ta b\r\n\r\n", "hello"},
		{"trailer names near forbidden ones", "5\r\nhello\r\n0\r\nContent-Lengths: 1\r\nX-Host: a\r\nA-Very-Long-Trailer-Field-Name: 1\r\n\r\n", "hello"},
		{"many chunks without extensions", strings.Repeat("1\r\nx\r\n", 5000) + "0\r\n\r\n", strings.Repeat("x", 5000)},
		{"extensions within the budget", strings.Repeat("1;a="+strings.Repeat("x", 100)+"\r\nx\r\n", 30) + "0\r\n\r\n", strings.Repeat("x", 30)},
		{"binary data", "4\r\n\r\n\x00\xff\r\n0\r\n\r\n", "\r\n\x00\xff"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body + "NEXT")
			payload, n, done, err := decodeAll(body)
			if err != nil || !done || n != len(tc.body) || string(payload) != tc.payload {
				t.Fatalf("whole: payload %q, n %d, done %v, err %v; want %q, %d, true, nil", payload, n, done, err, tc.payload, len(tc.body))
			}
			// Split at every point, and byte by byte.
			for s := 0; s <= len(tc.body); s++ {
				payload, n, done, err := decodeAll(body, s)
				if err != nil || !done || n != len(tc.body) || string(payload) != tc.payload {
					t.Fatalf("split at %d: payload %q, n %d, done %v, err %v", s, payload, n, done, err)
				}
			}
			ones := make([]int, len(tc.body))
			for i := range ones {
				ones[i] = 1
			}
			payload, n, done, err = decodeAll(body, ones...)
			if err != nil || !done || n != len(tc.body) || string(payload) != tc.payload {
				t.Fatalf("byte by byte: payload %q, n %d, done %v, err %v", payload, n, done, err)
			}
		})
	}
}

func TestChunkDecoderLargeBody(t *testing.T) {
	body := chunkedBody(100000, 7001)
	want := make([]byte, 100000)
	for i := range want {
		want[i] = byte('a' + i%26)
	}
	for _, pieces := range [][]int{nil, {1, 2, 3}, {4096, 4096, 4096}, {7005}, {7006, 1, 1}} {
		payload, n, done, err := decodeAll(body, pieces...)
		if err != nil || !done || n != len(body) || !bytes.Equal(payload, want) {
			t.Fatalf("pieces %v: %d payload bytes, n %d, done %v, err %v", pieces, len(payload), n, done, err)
		}
	}
}

func TestChunkDecoderIncomplete(t *testing.T) {
	body := "5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n"
	for k := 0; k < len(body); k++ {
		_, n, done, err := decodeAll([]byte(body[:k]))
		if err != nil || done || n != k {
			t.Fatalf("prefix %q: n %d, done %v, err %v; want all consumed, not done", body[:k], n, done, err)
		}
	}
	var d ChunkDecoder
	if n, data, done, err := d.Decode(nil); n != 0 || data != nil || done || err != nil {
		t.Fatalf("Decode(nil) = %d %q %v %v", n, data, done, err)
	}
}

func TestChunkDecoderAfterDone(t *testing.T) {
	var d ChunkDecoder
	body := []byte("0\r\n\r\nGET / HTTP/1.1\r\n")
	n, _, done, err := d.Decode(body)
	if n != 5 || !done || err != nil {
		t.Fatalf("Decode = %d, %v, %v; want 5, true, nil", n, done, err)
	}
	if n, _, done, err := d.Decode(body[5:]); n != 0 || !done || err != nil {
		t.Fatalf("Decode after done = %d, %v, %v; want 0, true, nil", n, done, err)
	}
	d.Reset()
	if n, data, done, err := d.Decode([]byte("1\r\nx")); n != 4 || string(data) != "x" || done || err != nil {
		t.Fatalf("Decode after Reset = %d %q %v %v", n, data, done, err)
	}
}

func TestChunkDecoderErrors(t *testing.T) {
	cases := []struct{ name, body string }{
		// From proxy/smuggle_test.go.
		{"size not hex", "zz\r\nhello\r\n0\r\n\r\n"},
		{"size 0x", "0x5\r\nhello\r\n0\r\n\r\n"},
		{"size overflow", "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
		{"missing CRLF after data", "5\r\nhelloXX0\r\n\r\n"},
		{"control in extension", "5;a\x01=b\r\nhello\r\n0\r\n\r\n"},
		{"negative size", "-5\r\nhello\r\n0\r\n\r\n"},
		// More.
		{"17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n"},
		{"above 2^62", "4000000000000001\r\n"},
		{"plus sign", "+5\r\nhello\r\n0\r\n\r\n"},
		{"empty size", "\r\nhello\r\n0\r\n\r\n"},
		{"space before size", " 5\r\nhello\r\n0\r\n\r\n"},
		{"trailing space", "5 \r\nhello\r\n0\r\n\r\n"},
		{"bare LF after size", "5\nhello\r\n0\r\n\r\n"},
		{"CR without LF after size", "5\rhello\r\n0\r\n\r\n"},
		{"bare LF after data", "5\r\nhello\n0\r\n\r\n"},
		{"CR only after data", "5\r\nhello\r0\r\n\r\n"},
		{"extension without name", "5;\r\nhello\r\n0\r\n\r\n"},
		{"extension empty value", "5;a=\r\nhello\r\n0\r\n\r\n"},
		{"extension space in name", "5;a b\r\nhello\r\n0\r\n\r\n"},
		{"extension BWS before CRLF", "5;a \r\nhello\r\n0\r\n\r\n"},
		{"extension unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n"},
		{"extension after quote", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"},
		{"extension bad escape", "5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n"},
		{"extension DEL", "5;a=b\x7f\r\nhello\r\n0\r\n\r\n"},
		{"long size line", "5;a=" + strings.Repeat("b", 5000) + "\r\nhello\r\n0\r\n\r\n"},
		{"trailer obs-fold", "0\r\nX: 1\r\n 2\r\n\r\n"},
		{"trailer no colon", "0\r\nX\r\n\r\n"},
		{"trailer empty name", "0\r\n: x\r\n\r\n"},
		{"trailer space before colon", "0\r\nX : 1\r\n\r\n"},
		{"trailer NUL", "0\r\nX: \x00\r\n\r\n"},
		{"trailer bare LF", "0\r\nX: 1\n\r\n"},
		{"bare LF ending trailers", "0\r\n\n"},
		{"CR without LF ending trailers", "0\r\n\rX"},
		{"trailer Content-Length", "0\r\nContent-Length: 5\r\n\r\n"},
		{"trailer transfer-encoding any case", "0\r\ntRaNsFeR-EnCoDiNg: chunked\r\n\r\n"},
		{"trailer Host", "0\r\nHost: evil\r\n\r\n"},
		{"trailer look-alike", "0\r\nContent_Length: 5\r\n\r\n"},
		{"trailer X-Forwarded-For", "0\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n"},
		{"extensions over the body's budget", strings.Repeat("1;a="+strings.Repeat("x", 200)+"\r\nx\r\n", 25) + "0\r\n\r\n"},
		{"trailers too large", "0\r\n" + strings.Repeat("X: "+strings.Repeat("v", 1000)+"\r\n", 70) + "\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, n, _, err := decodeAll([]byte(tc.body))
			if statusOf(err) != 400 {
				t.Fatalf("err = %v; want a 400 *Error", err)
			}
			if n > len(tc.body) {
				t.Fatalf("consumed %d > %d", n, len(tc.body))
			}
			// The error is the same byte by byte, and sticky.
			var d ChunkDecoder
			var firstErr error
			for i := 0; i < len(tc.body) && firstErr == nil; i++ {
				_, _, _, firstErr = d.Decode([]byte(tc.body[i : i+1]))
			}
			if firstErr != err {
				t.Fatalf("byte by byte: err = %v; want %v", firstErr, err)
			}
			if _, _, _, again := d.Decode([]byte("0\r\n\r\n")); again != err {
				t.Fatalf("after an error: err = %v; want %v again", again, err)
			}
		})
	}
}
