package proxy

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
	"github.com/shellac-lb/shellac/route"
)

// testBackend is a real net/http server on loopback (TCP or UNIX socket)
// that counts its connections and requests.
type testBackend struct {
	name     string
	srv      *http.Server
	ln       net.Listener
	addr     string // host:port or socket path
	network  string
	conns    atomic.Int64 // connections accepted
	requests atomic.Int64
}

func newTestBackend(t *testing.T, name string, h http.Handler) *testBackend {
	t.Helper()
	return startTestBackend(t, name, "tcp", "127.0.0.1:0", h)
}

func newUnixBackend(t *testing.T, name string, h http.Handler) *testBackend {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".sock")
	return startTestBackend(t, name, "unix", p, h)
}

// startTestBackend starts a backend; each configure function adjusts the
// http.Server before it starts serving.
func startTestBackend(t *testing.T, name, network, addr string, h http.Handler, configure ...func(*http.Server)) *testBackend {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBackend{name: name, ln: ln, network: network, addr: ln.Addr().String()}
	if h == nil {
		h = echoHandler(name)
	}
	tb.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tb.requests.Add(1)
			h.ServeHTTP(w, r)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				tb.conns.Add(1)
			}
		},
		ErrorLog: nil,
	}
	for _, f := range configure {
		f(tb.srv)
	}
	go func() { _ = tb.srv.Serve(ln) }()
	t.Cleanup(func() { _ = tb.srv.Close() })
	return tb
}

// echoHandler answers with the backend name, method, path and the body
// length it read.
func echoHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Backend", name)
		w.Header().Set("X-Got-Body", fmt.Sprint(n))
		w.Header().Set("X-Got-XFF", r.Header.Get("X-Forwarded-For"))
		fmt.Fprintf(w, "%s %s %s %d", name, r.Method, r.URL.RequestURI(), n)
	})
}

// backend turns a test backend into a directors.Backend.
func (tb *testBackend) backend(cfg directors.BackendConfig) *directors.Backend {
	cfg.Network = tb.network
	cfg.Address = tb.addr
	if cfg.MaxIdle == 0 {
		cfg.MaxIdle = 64
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.FirstByteTimeout == 0 {
		cfg.FirstByteTimeout = 10 * time.Second
	}
	if cfg.BetweenBytesTimeout == 0 {
		cfg.BetweenBytesTimeout = 10 * time.Second
	}
	return directors.NewBackend(tb.name, cfg)
}

// proxy is a started Server with its address.
type proxy struct {
	*Server
	addr string
}

// tableOf builds a one-route table sending everything to target.
func tableOf(target directors.Member, rt *route.Route) *route.Table {
	if rt == nil {
		rt = &route.Route{}
	}
	rt.Target = target
	return &route.Table{Default: rt}
}

// rrTable balances round-robin over bs.
func rrTable(bs ...*directors.Backend) *route.Table {
	rr := directors.NewRoundRobin("web")
	for _, b := range bs {
		rr.Add(b, 1)
	}
	return tableOf(rr, nil)
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func startProxy(t testing.TB, opts Options, tbl *route.Table) *proxy {
	t.Helper()
	if len(opts.Listen) == 0 {
		opts.Listen = []string{testutil.FreeAddr(t)}
	}
	if opts.EventLoops == 0 {
		opts.EventLoops = 2
	}
	if opts.Logger == nil {
		if os.Getenv("SHELLAC_TEST_LOG") != "" {
			opts.Logger = slog.Default()
		} else {
			opts.Logger = quietLog
		}
	}
	s := New(opts, tbl)
	if err := s.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &proxy{Server: s, addr: opts.Listen[0]}
}

func (p *proxy) url(path string) string { return "http://" + p.addr + path }

// client returns a keep-alive Go client with its own transport.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
		Timeout:   30 * time.Second,
	}
}

// rawExchange sends raw bytes on a new connection and returns everything
// read until the server closes or the deadline passes.
func rawExchange(t *testing.T, addr, req string, wait time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	b, _ := io.ReadAll(c)
	return string(b)
}

// dialSend opens a TCP connection to addr with a deadline of d from now,
// writes req on it, and returns it; it is closed when the test ends.
func dialSend(t *testing.T, addr, req string, d time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

// readResponses reads n responses from r.
func readResponses(t *testing.T, r *bufio.Reader, n int, method string) []*http.Response {
	t.Helper()
	var out []*http.Response
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(r, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d body: %v", i, err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	return out
}

func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

// parallel runs fn n times concurrently and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := fn(i); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
