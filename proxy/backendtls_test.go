package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
)

// tlsBackend is a net/http server speaking TLS on loopback that records
// what each request's TLS connection settled.
type tlsBackend struct {
	addr     string
	cert     *testutil.Cert
	conns    atomic.Int64 // TLS connections accepted (handshakes begun)
	requests atomic.Int64
	mu       sync.Mutex
	sni      []string // ServerName of each request
	resumed  []bool
	peers    [][]*x509.Certificate
}

// newTLSBackend starts a TLS backend; configure adjusts its tls.Config
// (client certificates). Its certificate is for backend.test and
// 127.0.0.1. With proxyHeader, each connection starts with a PROXY v1
// line, read before the handshake and recorded in lines.
func newTLSBackend(t *testing.T, configure func(*tls.Config), lines chan<- string) *tlsBackend {
	t.Helper()
	tb := &tlsBackend{cert: testutil.NewCert(t, "backend.test", "127.0.0.1")}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tb.addr = ln.Addr().String()
	cfg := &tls.Config{Certificates: []tls.Certificate{tb.cert.TLS}}
	if configure != nil {
		configure(cfg)
	}
	var inner net.Listener = ln
	if lines != nil {
		inner = &proxyLineListener{Listener: ln, lines: lines}
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tb.requests.Add(1)
			tb.mu.Lock()
			tb.sni = append(tb.sni, r.TLS.ServerName)
			tb.resumed = append(tb.resumed, r.TLS.DidResume)
			tb.peers = append(tb.peers, r.TLS.PeerCertificates)
			tb.mu.Unlock()
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			if size := r.URL.Query().Get("size"); size != "" {
				var sz int
				fmt.Sscan(size, &sz)
				_, _ = w.Write(bytes.Repeat([]byte("y"), sz))
				return
			}
			fmt.Fprintf(w, "%s %s %d %x", r.Method, r.URL.RequestURI(), n, h.Sum(nil))
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				tb.conns.Add(1)
			}
		},
		ErrorLog: log.New(io.Discard, "", 0), // refused handshakes are expected
	}
	go func() { _ = srv.Serve(tls.NewListener(inner, cfg)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return tb
}

// proxyLineListener reads a PROXY v1 line off each accepted connection.
type proxyLineListener struct {
	net.Listener
	lines chan<- string
}

func (l *proxyLineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var line []byte
	b := make([]byte, 1)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !bytes.HasSuffix(line, []byte("\r\n")) && len(line) < 108 {
		if _, err := c.Read(b); err != nil {
			break
		}
		line = append(line, b[0])
	}
	_ = c.SetReadDeadline(time.Time{})
	l.lines <- string(line)
	return c, nil
}

// backend returns the directors.Backend for tb, speaking TLS with cfg.
func (tb *tlsBackend) backend(cfg *tls.Config, mod func(*directors.BackendConfig)) *directors.Backend {
	bc := directors.BackendConfig{
		Network: "tcp", Address: tb.addr, TLS: cfg,
		MaxIdle: 64, IdleTimeout: 30 * time.Second,
		ConnectTimeout: 5 * time.Second, FirstByteTimeout: 10 * time.Second, BetweenBytesTimeout: 10 * time.Second,
	}
	if mod != nil {
		mod(&bc)
	}
	return directors.NewBackend("tls1", bc)
}

func clientTLS(pool *x509.CertPool, name string) *tls.Config {
	return &tls.Config{RootCAs: pool, ServerName: name, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
}

// fetch GETs url with a fresh client and returns the status and body.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := newClient().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, bodyOf(t, resp)
}

func sum(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

func TestBackendTLSPooledAndVerified(t *testing.T) {
	tb := newTLSBackend(t, nil, nil)
	p := startProxy(t, Options{EventLoops: 1}, rrTable(tb.backend(clientTLS(tb.cert.Pool, "backend.test"), nil)))
	cl := newClient()
	for i := range 20 {
		resp, err := cl.Get(p.url(fmt.Sprintf("/k/%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if body := bodyOf(t, resp); body != fmt.Sprintf("GET /k/%d 0 %s", i, sum(nil)) {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	// One loop, sequential requests: one pooled TLS connection served all.
	if n := tb.conns.Load(); n != 1 {
		t.Fatalf("backend saw %d connections for 20 keep-alive requests, want 1 (pooled)", n)
	}
	if st := p.TLSStats(); st.BackendHandshakes != 1 {
		t.Fatalf("BackendHandshakes = %d, want 1", st.BackendHandshakes)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for i, s := range tb.sni {
		if s != "backend.test" {
			t.Fatalf("request %d: backend got SNI %q, want backend.test", i, s)
		}
	}
}

func TestBackendTLSLargeBodies(t *testing.T) {
	tb := newTLSBackend(t, nil, nil)
	p := startProxy(t, Options{}, rrTable(tb.backend(clientTLS(tb.cert.Pool, "backend.test"), nil)))
	cl := newClient()
	up := bytes.Repeat([]byte("0123456789abcdef"), 8<<16) // 8 MiB
	resp, err := cl.Post(p.url("/up"), "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		t.Fatal(err)
	}
	if body := bodyOf(t, resp); body != fmt.Sprintf("POST /up %d %s", len(up), sum(up)) {
		t.Fatalf("upload: %d %q", resp.StatusCode, body)
	}
	const size = 9<<20 + 17
	resp, err = cl.Get(p.url(fmt.Sprintf("/down?size=%d", size)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(got) != size || sum(got) != sum(bytes.Repeat([]byte("y"), size)) {
		t.Fatalf("download: %d bytes of %d, %v", len(got), size, err)
	}
	// Pipelined requests over one client connection, relayed over TLS.
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var reqs strings.Builder
	for i := range 5 {
		fmt.Fprintf(&reqs, "GET /p/%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	_, _ = io.WriteString(c, reqs.String())
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, r := range readResponses(t, bufio.NewReader(c), 5, "GET") {
		if body := bodyOf(t, r); body != fmt.Sprintf("GET /p/%d 0 %s", i, sum(nil)) {
			t.Fatalf("pipelined %d: %q", i, body)
		}
	}
}

func TestBackendTLSRefusesWrongCertificate(t *testing.T) {
	tb := newTLSBackend(t, nil, nil)
	other := testutil.NewCert(t, "backend.test")
	cases := []struct {
		name string
		cfg  *tls.Config
	}{
		{"unknown CA", clientTLS(other.Pool, "backend.test")},
		{"wrong name", clientTLS(tb.cert.Pool, "other.test")},
		{"system roots", &tls.Config{ServerName: "backend.test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tb.backend(tc.cfg, nil)
			before := tb.requests.Load()
			p := startProxy(t, Options{EventLoops: 1}, rrTable(b))
			if code, body := fetch(t, p.url("/x")); code != http.StatusServiceUnavailable && code != http.StatusBadGateway {
				t.Fatalf("status %d %q, want 502 or 503", code, body)
			}
			if n := tb.requests.Load() - before; n != 0 {
				t.Fatalf("the backend served %d requests over an unverified connection", n)
			}
			if b.Stats.ConnectErrors.Load() == 0 {
				t.Fatal("the failed handshake was not counted as a connect error")
			}
			if st := p.TLSStats(); st.BackendHandshakes != 0 {
				t.Fatalf("BackendHandshakes = %d, want 0", st.BackendHandshakes)
			}
		})
	}
	// verify off (InsecureSkipVerify) talks to it anyway.
	p := startProxy(t, Options{}, rrTable(tb.backend(&tls.Config{InsecureSkipVerify: true}, nil)))
	if code, body := fetch(t, p.url("/insecure")); code != 200 {
		t.Fatalf("verify off: status %d %q", code, body)
	}
}

func TestBackendTLSClientCertificate(t *testing.T) {
	client := testutil.NewCert(t, "shellac.client")
	tb := newTLSBackend(t, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = client.Pool
	}, nil)
	with := clientTLS(tb.cert.Pool, "backend.test")
	with.Certificates = []tls.Certificate{client.TLS}
	p := startProxy(t, Options{}, rrTable(tb.backend(with, nil)))
	if code, body := fetch(t, p.url("/mtls")); code != 200 || !strings.HasPrefix(body, "GET /mtls 0") {
		t.Fatalf("with a client certificate: %d %q", code, body)
	}
	tb.mu.Lock()
	if len(tb.peers) != 1 || len(tb.peers[0]) == 0 || tb.peers[0][0].Subject.CommonName != "shellac.client" {
		t.Fatalf("backend saw client certificates %v", tb.peers)
	}
	tb.mu.Unlock()

	before := tb.requests.Load()
	p2 := startProxy(t, Options{}, rrTable(tb.backend(clientTLS(tb.cert.Pool, "backend.test"), nil)))
	if code, body := fetch(t, p2.url("/nocert")); code < 500 {
		t.Fatalf("without a client certificate: status %d %q, want a 5xx", code, body)
	}
	if n := tb.requests.Load() - before; n != 0 {
		t.Fatalf("the backend served %d requests without a client certificate", n)
	}
}

func TestBackendTLSResumes(t *testing.T) {
	tb := newTLSBackend(t, nil, nil)
	// max_idle 0: every request opens a new backend connection, so every
	// one after the first can resume with the ticket the last one got.
	b := tb.backend(clientTLS(tb.cert.Pool, "backend.test"), func(c *directors.BackendConfig) { c.MaxIdle = 0 })
	p := startProxy(t, Options{EventLoops: 1}, rrTable(b))
	cl := newClient()
	for i := range 4 {
		resp, err := cl.Get(p.url(fmt.Sprintf("/r/%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		bodyOf(t, resp)
	}
	if n := tb.conns.Load(); n != 4 {
		t.Fatalf("backend saw %d connections, want 4 (max_idle = 0)", n)
	}
	st := p.TLSStats()
	if st.BackendHandshakes != 4 || st.BackendResumed != 3 {
		t.Fatalf("BackendHandshakes %d, BackendResumed %d; want 4 and 3", st.BackendHandshakes, st.BackendResumed)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if fmt.Sprint(tb.resumed) != "[false true true true]" {
		t.Fatalf("backend saw resumed = %v", tb.resumed)
	}
}

func TestBackendTLSAfterProxyHeader(t *testing.T) {
	lines := make(chan string, 4)
	tb := newTLSBackend(t, nil, lines)
	b := tb.backend(clientTLS(tb.cert.Pool, "backend.test"), func(c *directors.BackendConfig) { c.ProxyHeader = 1 })
	p := startProxy(t, Options{}, rrTable(b))
	if code, body := fetch(t, p.url("/pp")); code != 200 || !strings.HasPrefix(body, "GET /pp 0") {
		t.Fatalf("status %d %q", code, body)
	}
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "PROXY TCP4 127.0.0.1 127.0.0.1 ") || !strings.HasSuffix(line, "\r\n") {
			t.Fatalf("PROXY line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no PROXY line before the handshake")
	}
}
