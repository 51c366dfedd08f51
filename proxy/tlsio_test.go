package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// recordEnds returns the offsets at which the TLS records of stream end
// (computed independently of recordFramer), the last one possibly past
// the end of a cut stream.
func recordEnds(stream []byte) []int {
	var ends []int
	for off := 0; off+5 <= len(stream); {
		off += 5 + (int(stream[off+3])<<8 | int(stream[off+4]))
		ends = append(ends, off)
	}
	return ends
}

// handOverAll feeds stream to a recordFramer in reads of at most the
// sizes given (cycled), like crypto/tls asking the adapter, and checks
// that what is handed over is the stream, in order, and that no read
// crosses the end of a record.
func handOverAll(t testing.TB, stream []byte, sizes []int) {
	var f recordFramer
	ends := recordEnds(stream)
	var got []byte
	for i, off := 0, 0; off < len(stream); i++ {
		size := sizes[i%len(sizes)]%(len(stream)+1) + 1
		p := make([]byte, size)
		n := f.handOver(p, stream[off:])
		if n == 0 {
			t.Fatalf("handed nothing at %d of %d", off, len(stream))
		}
		for _, e := range ends {
			if off < e && off+n > e {
				t.Fatalf("a read of %d at %d crosses the record end at %d", n, off, e)
			}
		}
		got = append(got, p[:n]...)
		off += n
		atEnd := false
		for _, e := range ends {
			atEnd = atEnd || e == off
		}
		if atEnd != (f.hdrN == 0 && f.left == 0) {
			t.Fatalf("at %d: framer at a boundary = %t, want %t", off, f.hdrN == 0 && f.left == 0, atEnd)
		}
	}
	if !bytes.Equal(got, stream) {
		t.Fatal("the bytes handed over are not the stream")
	}
}

// record makes a record of type 23 with a body of n bytes.
func record(n int, fill byte) []byte {
	return append([]byte{23, 3, 3, byte(n >> 8), byte(n)}, bytes.Repeat([]byte{fill}, n)...)
}

func TestRecordFramer(t *testing.T) {
	stream := bytes.Join([][]byte{record(0, 'a'), record(1, 'b'), record(300, 'c'), record(16400, 'd'), record(7, 'e')}, nil)
	for _, tc := range []struct {
		name  string
		sizes []int
	}{
		{"one byte at a time", []int{0}},
		{"header splits", []int{2, 4, 1}},
		{"large reads", []int{1 << 20}},
		{"one record's worth", []int{16 << 10}},
		{"odd sizes", []int{4, 512, 1000, 6, 16 << 10}},
	} {
		t.Run(tc.name, func(t *testing.T) { handOverAll(t, stream, tc.sizes) })
	}
	// A cut stream: the framer stops mid-record, as with a partial read.
	handOverAll(t, stream[:400], []int{1 << 20})
}

// FuzzRecordFramer: whatever the stream and the read sizes, the framer
// hands the stream over unchanged, never across a record's end, and
// knows when it is at one.
func FuzzRecordFramer(f *testing.F) {
	f.Add(bytes.Join([][]byte{record(3, 'x'), record(0, 'y'), record(40, 'z')}, nil), []byte{1, 7, 200})
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), []byte{3})
	f.Fuzz(func(t *testing.T, stream, sizes []byte) {
		if len(stream) == 0 || len(sizes) == 0 {
			return
		}
		ints := make([]int, len(sizes))
		for i, s := range sizes {
			ints[i] = int(s)
		}
		handOverAll(t, stream, ints)
	})
}

// TestTLSIdleKeepsNoPlainBuffer checks the per-loop stack of plaintext
// buffers: after one request on each of 8 keep-alive TLS connections
// (one loop), none of the idle connections holds a plaintext buffer, the
// loop keeps the one spare they shared, and a further request on every
// connection takes it again and is answered.
func TestTLSIdleKeepsNoPlainBuffer(t *testing.T) {
	f := newTLSFixture(t, Options{EventLoops: 1})
	const n = 8
	conns := make([]*bufio.ReadWriter, n)
	for i := range conns {
		c := f.dial(t, &tls.Config{ServerName: "a.test"})
		conns[i] = bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	}
	get := func(round int) {
		for i, rw := range conns {
			fmt.Fprintf(rw, "GET /idle/%d/%d HTTP/1.1\r\nHost: a.test\r\n\r\n", round, i)
			if err := rw.Flush(); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(rw.Reader, nil)
			if err != nil {
				t.Fatalf("round %d conn %d: %v", round, i, err)
			}
			if body := bodyOf(t, resp); resp.StatusCode != 200 || !strings.HasPrefix(body, fmt.Sprintf("GET /idle/%d/%d ", round, i)) {
				t.Fatalf("round %d conn %d: %d %q", round, i, resp.StatusCode, body)
			}
		}
	}
	check := func(round int) {
		var tlsConns, holding, spares int
		f.p.forEachLoop(func(l *loop) {
			spares += len(l.tlsBufs)
			for cc := l.clients.head.cnext; cc != &l.clients.head; cc = cc.cnext {
				if cc.tl == nil {
					continue
				}
				tlsConns++
				if cap(cc.tl.in) > 0 {
					holding++
				}
			}
		})
		t.Logf("round %d: %d TLS connections, %d holding a plaintext buffer, %d spare buffers", round, tlsConns, holding, spares)
		// The requests ran one after another on one loop, so one buffer
		// served them all.
		if tlsConns != n || holding != 0 || spares != 1 {
			t.Fatalf("round %d: %d TLS connections (want %d), %d holding a buffer (want 0), %d spares (want 1)", round, tlsConns, n, holding, spares)
		}
	}
	get(0)
	check(0)
	get(1)
	check(1)
}
