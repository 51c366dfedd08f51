package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// faultBackend is a raw HTTP/1.1 backend on loopback that misbehaves in one
// chosen way: fault decides, for the nth request on a connection (from 1),
// what the connection does. It counts its live connections, each served by
// one goroutine, so a test can tell its goroutines from leaked ones.
type faultBackend struct {
	ln       net.Listener
	fault    func(c net.Conn, n int, head []byte) (keep bool)
	live     atomic.Int64
	requests atomic.Int64
	wg       sync.WaitGroup
}

func startFaultBackend(t *testing.T, fault func(c net.Conn, n int, head []byte) bool) *faultBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fb := &faultBackend{ln: ln, fault: fault}
	fb.wg.Add(1)
	go func() {
		defer fb.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fb.live.Add(1)
			fb.wg.Add(1)
			go fb.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); fb.wg.Wait() })
	return fb
}

func (fb *faultBackend) serve(c net.Conn) {
	defer fb.wg.Done()
	defer fb.live.Add(-1)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // never outlive the test
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		head, err := readHead(br)
		if err != nil {
			return
		}
		fb.requests.Add(1)
		if !fb.fault(c, n, head) {
			return
		}
	}
}

// readHead reads one request head (bodyless requests only).
func readHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		head = append(head, line...)
		if len(line) <= 2 {
			return head, nil
		}
	}
}

func (fb *faultBackend) backend(name string, cfg directors.BackendConfig) *directors.Backend {
	cfg.Network, cfg.Address = "tcp", fb.ln.Addr().String()
	if cfg.MaxIdle == 0 {
		cfg.MaxIdle = 8
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = time.Minute
	}
	if cfg.FirstByteTimeout == 0 {
		cfg.FirstByteTimeout = 5 * time.Second
	}
	if cfg.BetweenBytesTimeout == 0 {
		cfg.BetweenBytesTimeout = 5 * time.Second
	}
	return directors.NewBackend(name, cfg)
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// answer writes s and keeps the connection.
func answer(s string) func(net.Conn, int, []byte) bool {
	return func(c net.Conn, _ int, _ []byte) bool {
		_, err := io.WriteString(c, s)
		return err == nil
	}
}

// reset sends s, then resets the connection (RST, not FIN).
func reset(s string) func(net.Conn, int, []byte) bool {
	return func(c net.Conn, _ int, _ []byte) bool {
		_, _ = io.WriteString(c, s)
		_ = c.(*net.TCPConn).SetLinger(0)
		return false
	}
}

// hang reads and answers nothing until the proxy gives up.
func hang(c net.Conn, _ int, _ []byte) bool {
	_, _ = io.Copy(io.Discard, c)
	return false
}

// TestBackendFaults sends GETs through a fallback director whose first
// member misbehaves and whose second is healthy, with and without a retry
// policy: each fault must give the status docs/spec.md section 4 names, a
// retry where the route allows one and nothing reached the client, and no
// connection or goroutine left behind.
func TestBackendFaults(t *testing.T) {
	allKinds := route.RetryConnect | route.RetryReset | route.RetryTimeout | route.Retry5xx
	tests := []struct {
		name  string
		fault func(net.Conn, int, []byte) bool
		cfg   directors.BackendConfig
		// With no retry: the status, or -1 when the response must be cut
		// off (a truncated body and a closed connection).
		status int
		// With retries = 1 on every kind: whether the healthy member
		// answers instead.
		retried bool
	}{
		{"answers garbage", answer("SSH-2.0-OpenSSH_9.2\r\n\r\n"), directors.BackendConfig{}, 502, true},
		{"garbage status line", answer("HTTP/1.1 2x0 OK\r\n\r\n"), directors.BackendConfig{}, 502, true},
		{"resets before answering", reset(""), directors.BackendConfig{}, 502, true},
		{"resets mid-head", reset("HTTP/1.1 200 OK\r\nContent-Le"), directors.BackendConfig{}, 502, true},
		{"closes mid-head", func(c net.Conn, _ int, _ []byte) bool {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			return false
		}, directors.BackendConfig{}, 502, true},
		{"resets mid-body", reset("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789"), directors.BackendConfig{}, -1, false},
		{"closes mid-chunked-body", func(c net.Conn, _ int, _ []byte) bool {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			return false
		}, directors.BackendConfig{}, -1, false},
		{"bad chunk size", answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"), directors.BackendConfig{}, 502, true},
		{"both CL and TE", answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), directors.BackendConfig{}, 502, true},
		{"hangs", hang, directors.BackendConfig{FirstByteTimeout: 300 * time.Millisecond}, 504, true},
		{"stalls mid-body", func(c net.Conn, _ int, _ []byte) bool {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
			time.Sleep(800 * time.Millisecond)
			return false
		}, directors.BackendConfig{BetweenBytesTimeout: 300 * time.Millisecond}, -1, false},
		{"answers slowly but in time", func(c net.Conn, _ int, _ []byte) bool {
			time.Sleep(200 * time.Millisecond)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no")
			time.Sleep(200 * time.Millisecond)
			_, err := io.WriteString(c, "k")
			return err == nil
		}, directors.BackendConfig{FirstByteTimeout: 2 * time.Second, BetweenBytesTimeout: 2 * time.Second}, 200, false},
		{"answers 500", answer("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail"), directors.BackendConfig{}, 500, true},
		{"answers 503", answer("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"), directors.BackendConfig{}, 503, true},
		{"101 unasked", answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n"), directors.BackendConfig{}, 502, true},
		{"a few 1xx", func(c net.Conn, _ int, _ []byte) bool {
			_, err := io.WriteString(c, strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 20)+okResponse)
			return err == nil
		}, directors.BackendConfig{}, 200, false},
		{"1xx flood", func(c net.Conn, _ int, _ []byte) bool {
			_, err := io.WriteString(c, strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 500)+okResponse)
			return err == nil
		}, directors.BackendConfig{}, 502, true},
		{"huge head", answer("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\nContent-Length: 2\r\n\r\nok"), directors.BackendConfig{}, 502, true},
	}
	for _, tc := range tests {
		for _, retry := range []bool{false, true} {
			name := tc.name + "/no retry"
			if retry {
				name = tc.name + "/retry"
			}
			t.Run(name, func(t *testing.T) {
				bad := startFaultBackend(t, tc.fault)
				good := startFaultBackend(t, answer(okResponse))
				bb, gb := bad.backend("bad", tc.cfg), good.backend("good", directors.BackendConfig{})
				fb := directors.NewFallback("fb", false)
				fb.Add(bb, 1)
				fb.Add(gb, 1)
				rt := &route.Route{}
				if retry {
					rt.Retry = route.RetryPolicy{Max: 1, On: allKinds}
				}
				p := startProxy(t, Options{EventLoops: 1}, tableOf(fb, rt))

				status, body, cut := rawGet(t, p.addr)
				want := tc.status
				switch {
				case retry && tc.retried:
					if status != 200 || body != "ok" || good.requests.Load() != 1 {
						t.Errorf("got %d %q (good backend saw %d requests); want the retry's 200 ok", status, body, good.requests.Load())
					}
				case want == -1:
					if !cut {
						t.Errorf("got %d %q, a whole response; want it cut off and the connection closed", status, body)
					}
					if good.requests.Load() != 0 {
						t.Error("a response already started was retried")
					}
				default:
					if status != want || cut {
						t.Errorf("got %d %q (cut off: %v); want %d", status, body, cut, want)
					}
					if good.requests.Load() != 0 {
						t.Errorf("retried %d times without a retry policy", good.requests.Load())
					}
				}
				checkNoLeaks(t, p, bb, gb)
			})
		}
	}
}

// TestBackendFaultPOSTNotRetried: a non-idempotent request whose backend
// failed after it was sent is not retried (the backend may have acted on
// it); a connect failure is, since the backend never saw it.
func TestBackendFaultPOSTNotRetried(t *testing.T) {
	bad := startFaultBackend(t, reset(""))
	good := startFaultBackend(t, answer(okResponse))
	fb := directors.NewFallback("fb", false)
	fb.Add(bad.backend("bad", directors.BackendConfig{}), 1)
	fb.Add(good.backend("good", directors.BackendConfig{}), 1)
	p := startProxy(t, Options{EventLoops: 1}, tableOf(fb, &route.Route{Retry: route.RetryPolicy{Max: 1, On: route.RetryReset | route.RetryConnect}}))
	status, _, _ := rawRequest(t, p.addr, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
	if status != 502 || good.requests.Load() != 0 {
		t.Errorf("POST after a reset: %d, retried %d times; want 502 and no retry", status, good.requests.Load())
	}

	dead := startFaultBackend(t, hang)
	deadAddr := dead.ln.Addr().String()
	dead.ln.Close() // refuse from now on
	fb2 := directors.NewFallback("fb2", false)
	fb2.Add(directors.NewBackend("dead", directors.BackendConfig{Network: "tcp", Address: deadAddr, ConnectTimeout: time.Second}), 1)
	fb2.Add(good.backend("good2", directors.BackendConfig{}), 1)
	p2 := startProxy(t, Options{EventLoops: 1}, tableOf(fb2, &route.Route{Retry: route.RetryPolicy{Max: 1, On: route.RetryConnect}}))
	status, body, _ := rawRequest(t, p2.addr, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
	if status != 200 || body != "ok" {
		t.Errorf("POST after a refused connect: %d %q; want the retry's 200 ok", status, body)
	}
}

// TestPooledConnectionClosedOnReuse: a backend that closes a keep-alive
// connection the moment the next request arrives on it. The request is
// sent again on a fresh connection (the stale keep-alive retry), with no
// retry policy at all, and no client sees an error.
func TestPooledConnectionClosedOnReuse(t *testing.T) {
	for _, mode := range []string{"fin", "rst"} {
		t.Run(mode, func(t *testing.T) {
			b := startFaultBackend(t, func(c net.Conn, n int, _ []byte) bool {
				if n == 1 {
					_, err := io.WriteString(c, okResponse)
					return err == nil
				}
				if mode == "rst" {
					_ = c.(*net.TCPConn).SetLinger(0)
				}
				return false
			})
			be := b.backend("b", directors.BackendConfig{})
			p := startProxy(t, Options{EventLoops: 1}, tableOf(be, nil))
			for i := 0; i < 5; i++ {
				status, body, cut := rawGet(t, p.addr)
				if status != 200 || body != "ok" || cut {
					t.Fatalf("request %d: %d %q cut=%v; want 200 ok", i, status, body, cut)
				}
			}
			if r := b.requests.Load(); r != 9 { // 5 served, 4 refused on reuse
				t.Errorf("backend saw %d requests; want 9 (each reuse refused once)", r)
			}
			checkNoLeaks(t, p, be)
		})
	}
}

// TestHealthFlapping: a backend whose listener goes away and comes back
// while requests flow, behind round robin with connect retries and a
// probe-like health flip: no request fails.
func TestHealthFlapping(t *testing.T) {
	good := startFaultBackend(t, answer(okResponse))
	gb := good.backend("good", directors.BackendConfig{})
	flapLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := flapLn.Addr().String()
	flapLn.Close()
	fbk := directors.NewBackend("flap", directors.BackendConfig{Network: "tcp", Address: addr, ConnectTimeout: time.Second,
		MaxIdle: 8, IdleTimeout: time.Minute, FirstByteTimeout: 5 * time.Second, BetweenBytesTimeout: 5 * time.Second})
	rr := directors.NewRoundRobin("rr")
	rr.Add(fbk, 1)
	rr.Add(gb, 1)
	p := startProxy(t, Options{EventLoops: 1}, tableOf(rr, &route.Route{Retry: route.RetryPolicy{Max: 1, On: route.RetryConnect | route.RetryReset}}))

	stop := make(chan struct{})
	var flaps sync.WaitGroup
	flaps.Add(1)
	go func() { // up 150ms, down 150ms, with the health bit following late
		defer flaps.Done()
		for i := 0; i < 8; i++ {
			ln, err := net.Listen("tcp", addr)
			if err == nil {
				fb := &faultBackend{ln: ln, fault: answer(okResponse)}
				fb.wg.Add(1)
				go func() {
					defer fb.wg.Done()
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						fb.wg.Add(1)
						go fb.serve(c)
					}
				}()
				time.Sleep(50 * time.Millisecond)
				fbk.SetProbeHealthy(true)
				time.Sleep(100 * time.Millisecond)
				ln.Close()
				// Established connections die too, as when the process exits.
				fbk.SetProbeHealthy(false)
				fb.wg.Wait()
			}
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
		}
	}()
	var failed, total int
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		status, body, _ := rawGet(t, p.addr)
		total++
		if status != 200 || body != "ok" {
			failed++
			t.Logf("request %d: %d %q", total, status, body)
		}
	}
	close(stop)
	flaps.Wait()
	if failed > 0 {
		t.Errorf("%d of %d requests failed while a backend flapped", failed, total)
	}
}

// rawGet sends one GET on a new connection and reads the response: its
// status, its body, and whether it was cut off (the body ended early, or
// the connection closed before a complete response).
func rawGet(t *testing.T, addr string) (status int, body string, cut bool) {
	t.Helper()
	return rawRequest(t, addr, "GET /fault HTTP/1.1\r\nHost: test\r\n\r\n")
}

func rawRequest(t *testing.T, addr, req string) (status int, body string, cut bool) {
	t.Helper()
	c := dialSend(t, addr, req, 10*time.Second)
	defer c.Close()
	br := bufio.NewReader(c)
	var resp *http.Response
	var err error
	for interim := 0; ; interim++ {
		resp, err = http.ReadResponse(br, &http.Request{Method: strings.Fields(req)[0]})
		if err != nil {
			return 0, err.Error(), true
		}
		if resp.StatusCode >= 200 || resp.StatusCode == 101 {
			break
		}
		if interim == maxInterim {
			t.Errorf("more than %d interim responses relayed", maxInterim)
		}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), err != nil
}

// proxyGoroutines returns the stacks of the goroutines running this
// package's (non-test) code, but the loops' tickers (one per loop, for the
// server's life): dials and anything else the request path starts must be
// gone once it is idle. gnet's own pooled workers, idle in gnet's code,
// do not count.
func proxyGoroutines() [][]byte {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out [][]byte
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("shellac/proxy.(*loop).ticker")) {
			continue
		}
		for _, line := range bytes.Split(g, []byte("\n")) {
			if bytes.Contains(line, []byte("/shellac/proxy/")) && !bytes.Contains(line, []byte("_test.go")) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// checkNoLeaks waits for the proxy to hold no client connection, no try in
// flight, no backend connection but idle pooled ones, and no goroutine of
// its own (proxyGoroutines).
func checkNoLeaks(t *testing.T, p *proxy, bs ...*directors.Backend) {
	t.Helper()
	var msg string
	var stacks [][]byte
	ok := waitFor(5*time.Second, func() bool {
		msg = ""
		if n := p.Conns(); n != 0 {
			msg += fmt.Sprintf("%d client connections open; ", n)
		}
		for _, b := range bs {
			if b.Inflight() != 0 {
				msg += fmt.Sprintf("%s: %d tries in flight; ", b.Name(), b.Inflight())
			}
			if o, i := b.OpenConns(), b.IdleConns(); o != i {
				msg += fmt.Sprintf("%s: %d open connections, %d idle; ", b.Name(), o, i)
			}
		}
		if stacks = proxyGoroutines(); len(stacks) > 0 {
			msg += fmt.Sprintf("%d goroutines of the proxy still running; ", len(stacks))
		}
		return msg == ""
	})
	if !ok {
		t.Errorf("leak: %s\n%s", msg, bytes.Join(stacks, []byte("\n\n")))
	}
}
