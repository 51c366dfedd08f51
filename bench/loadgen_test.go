package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is a tiny net/http server that counts the requests it
// answered and how many body bytes it read.
func countingServer(t *testing.T) (addr string, count *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	count = new(atomic.Int64)
	body := make([]byte, 1<<10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		count.Add(1)
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length: chunked
		}
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), count
}

// TestRunLoadCounts checks that the built-in generator counts what the
// server answered (at most one batch per connection may be answered
// after the window closes and not be counted) and that its percentiles
// are ordered.
func TestRunLoadCounts(t *testing.T) {
	addr, count := countingServer(t)
	for _, tc := range []struct {
		name string
		sc   scenario
	}{
		{"keep-alive", scenario{method: "GET", path: "/1k", depth: 1}},
		{"chunked response", scenario{method: "GET", path: "/chunked", depth: 1}},
		{"pipelined", scenario{method: "GET", path: "/1k", depth: 4}},
		{"new connections", scenario{method: "GET", path: "/1k", depth: 1, close: true}},
		{"chunked post", scenario{method: "POST", path: "/post", depth: 1, chunked: true,
			body: appendChunked(nil, make([]byte, 10000), 4096)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := count.Load()
			spec := loadSpec{Addr: addr, Request: tc.sc.request(addr), Depth: tc.sc.depth, Conns: 4,
				Duration: 300 * time.Millisecond, NewConn: tc.sc.close}
			res := runLoad(context.Background(), spec)
			time.Sleep(50 * time.Millisecond) // let the server count the last answers
			served := count.Load() - before
			if res.Requests == 0 || res.Errors != 0 || res.Non2xx != 0 {
				t.Fatalf("requests %d, errors %d, non-2xx %d; want >0, 0, 0", res.Requests, res.Errors, res.Non2xx)
			}
			if extra := served - res.Requests; extra < 0 || extra > int64(spec.Conns*spec.Depth) {
				t.Errorf("server answered %d, generator counted %d; want at most %d uncounted", served, res.Requests, spec.Conns*spec.Depth)
			}
			if uint64(res.Requests) != res.Hist.Count() {
				t.Errorf("histogram has %d samples; want %d", res.Hist.Count(), res.Requests)
			}
			l := res.latencies()
			if !(l[0] > 0 && l[0] <= l[1] && l[1] <= l[2]) {
				t.Errorf("percentiles p50 %v p99 %v p99.9 %v are not ordered", l[0], l[1], l[2])
			}
		})
	}
}

// TestRunLoadCountsErrors checks that a target that refuses connections
// yields errors, not requests, and that the run still ends.
func TestRunLoadCountsErrors(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	res := runLoad(context.Background(), loadSpec{Addr: addr, Request: []byte("GET / HTTP/1.1\r\n\r\n"), Conns: 2, Duration: 100 * time.Millisecond})
	if res.Requests != 0 || res.Errors == 0 {
		t.Errorf("requests %d, errors %d; want 0, >0", res.Requests, res.Errors)
	}
}
