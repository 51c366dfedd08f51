package health

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// httpBackend is a real net/http server on loopback (TCP or a UNIX socket)
// that a test can kill and restart on the same address.
type httpBackend struct {
	t       *testing.T
	network string
	addr    string
	handler http.HandlerFunc
	hits    atomic.Int64

	mu  sync.Mutex
	srv *http.Server
}

// startHTTP starts a server answering with h on a fresh loopback address.
func startHTTP(t *testing.T, network string, h http.HandlerFunc) *httpBackend {
	t.Helper()
	s := &httpBackend{t: t, network: network, handler: h}
	switch network {
	case "unix":
		dir, err := os.MkdirTemp("", "hp")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		s.addr = filepath.Join(dir, "b.sock")
	default:
		s.addr = "127.0.0.1:0"
	}
	s.start()
	t.Cleanup(s.kill)
	return s
}

// statusHandler answers every request with code.
func statusHandler(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// start listens on s.addr (again, after kill) and serves.
func (s *httpBackend) start() {
	s.t.Helper()
	ln, err := net.Listen(s.network, s.addr)
	if err != nil {
		s.t.Fatalf("listen %s %s: %v", s.network, s.addr, err)
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.handler(w, r)
	})}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(ln)
}

// kill closes the listener and every connection: new probes are refused.
func (s *httpBackend) kill() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// backend returns a directors.Backend pointing at s.
func (s *httpBackend) backend(name string) *directors.Backend {
	return directors.NewBackend(name, directors.BackendConfig{Network: s.network, Address: s.addr})
}

// rawServer accepts TCP connections on loopback and hands each to serve in
// its own goroutine; everything is closed when the test ends.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// readHead reads a request head (through the empty line) from br.
func readHead(br *bufio.Reader) (string, error) {
	var head []byte
	for {
		line, err := br.ReadString('\n')
		head = append(head, line...)
		if err != nil {
			return string(head), err
		}
		if line == "\r\n" {
			return string(head), nil
		}
	}
}

// deadAddress returns a loopback TCP address nothing listens on.
func deadAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// tcpBackend returns a Backend for a TCP address.
func tcpBackend(name, addr string) *directors.Backend {
	return directors.NewBackend(name, directors.BackendConfig{Network: "tcp", Address: addr})
}

// probeOnce runs one probe of b with spec, provisioned.
func probeOnce(t *testing.T, b *directors.Backend, spec ProbeSpec) result {
	t.Helper()
	s := spec.Provision()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	p := newProber(b, s, nil)
	return p.t.probe(context.Background())
}

// eventually polls cond every millisecond until it holds and returns how
// long that took; it fails the test after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not after %v", what, limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// changes records the OnChange calls of a Manager.
type changes struct {
	mu  sync.Mutex
	got []Change
}

func (c *changes) record(ch Change) {
	c.mu.Lock()
	c.got = append(c.got, ch)
	c.mu.Unlock()
}

func (c *changes) list() []Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Change(nil), c.got...)
}
