package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/netip"
	"testing"
)

// browserHead is a typical browser request head (about 500 bytes).
const browserHead = "GET /static/app.js?v=1234 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n" +
	"sec-ch-ua-mobile: ?0\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
	"sec-ch-ua-platform: \"Linux\"\r\n" +
	"Accept: */*\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Referer: https://www.example.com/index.html\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Cookie: session=0123456789abcdef; theme=dark\r\n" +
	"\r\n"

func BenchmarkParseRequest(b *testing.B) {
	buf := []byte(browserHead)
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := r.Parse(buf, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRequestNetHTTP is the baseline: net/http parsing the same
// head (it allocates the header map, strings and a *Request).
func BenchmarkParseRequestNetHTTP(b *testing.B) {
	buf := []byte(browserHead)
	rd := bytes.NewReader(buf)
	br := bufio.NewReader(rd)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		rd.Reset(buf)
		br.Reset(rd)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequestParallel(b *testing.B) {
	buf := []byte(browserHead)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	b.RunParallel(func(pb *testing.PB) {
		var r Request
		for pb.Next() {
			if _, err := r.Parse(buf, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkParseResponse(b *testing.B) {
	buf := []byte(typicalResponse)
	var r Response
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := r.Parse(buf, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendForwardRequest(b *testing.B) {
	var r Request
	if _, err := r.Parse([]byte(browserHead), nil); err != nil {
		b.Fatal(err)
	}
	o := &ForwardOptions{ClientAddr: []byte("192.0.2.10"), XForwarded: true}
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendForwardRequest(dst[:0], &r, o)
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkAppendForwardResponse(b *testing.B) {
	var r Response
	if _, err := r.Parse([]byte(typicalResponse), nil); err != nil {
		b.Fatal(err)
	}
	o := &ResponseOptions{ClientMinor: 1}
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendForwardResponse(dst[:0], &r, o)
	}
}

func BenchmarkChunkDecoder(b *testing.B) {
	body := chunkedBody(64<<10, 1<<10) // 64 chunks: the per-chunk work shows
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var d ChunkDecoder
	for b.Loop() {
		d.Reset()
		n := 0
		for n < len(body) {
			k, _, fin, err := d.Decode(body[n:])
			n += k
			if err != nil {
				b.Fatal(err)
			}
			if fin || k == 0 {
				break
			}
		}
		if n != len(body) {
			b.Fatalf("consumed %d of %d", n, len(body))
		}
	}
}

func BenchmarkProxyHeaderV2(b *testing.B) {
	h := AppendProxyHeader(nil, 2, netip.MustParseAddrPort("192.0.2.1:5000"), netip.MustParseAddrPort("198.51.100.2:80"))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := ParseProxyHeader(h); err != nil {
			b.Fatal(err)
		}
	}
}
