package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
	"github.com/shellac-lb/shellac/route"
	"github.com/shellac-lb/shellac/rules"
)

// rawResponder is a minimal keep-alive HTTP backend on a real loopback
// socket that allocates nothing per request: it counts request heads
// (CRLFCRLF) in what it reads and answers each with a fixed response. It
// keeps the backend's own cost out of the proxy benchmark.
type rawResponder struct {
	ln   net.Listener
	resp []byte
}

func startRawResponder(tb testing.TB, body string) *rawResponder {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &rawResponder{ln: ln, resp: []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
		itoa(len(body)) + "\r\n\r\n" + body)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	tb.Cleanup(func() { ln.Close() })
	return r
}

func (r *rawResponder) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16<<10)
	out := make([]byte, 0, 16*len(r.resp))
	state := 0 // how much of "\r\n\r\n" was matched
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		out = out[:0]
		for _, ch := range buf[:n] {
			switch {
			case ch == '\r' && (state == 0 || state == 2):
				state++
			case ch == '\n' && (state == 1 || state == 3):
				state++
			case ch == '\r':
				state = 1
			default:
				state = 0
			}
			if state == 4 {
				state = 0
				out = append(out, r.resp...)
			}
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// BenchmarkProxyKeepAlive measures one keep-alive GET end to end in
// process: a raw client connection → shellac (one event loop) → a raw
// keep-alive backend, over real loopback sockets. The client and backend
// allocate nothing per request, so allocs/op is the proxy's request path
// (parse, route, resolve, pool, forward both ways).
func BenchmarkProxyKeepAlive(b *testing.B) {
	backend := helloBackend(b)
	benchKeepAlive(b, rrTable(backend))
}

// BenchmarkProxyKeepAliveRules is BenchmarkProxyKeepAlive without rules
// and with ten rules of the common forms (seven request rules that match
// and act, three response header rules): the difference is what rules
// add to a request, and both must allocate nothing.
func BenchmarkProxyKeepAliveRules(b *testing.B) {
	backend := helloBackend(b)
	b.Run("off", func(b *testing.B) { benchKeepAlive(b, rrTable(backend)) })
	b.Run("on", func(b *testing.B) {
		t := rrTable(backend)
		env := &rules.Env{Member: func(string) (directors.Member, bool) { return backend, true }}
		var errs []*rules.Error
		t.Request, errs = rules.Compile([]*rules.Rule{
			{When: &rules.Match{Host: []string{"www.bench.example"}}, Redirect: "https://bench.example%{uri}", Code: 301},
			{When: &rules.Match{PathPrefix: []string{"/admin"}, Not: &rules.Match{Src: []string{"10.0.0.0/8"}}}, Respond: 403},
			{RateLimit: &rules.RateLimit{Rate: 1e9, Burst: 1e9}},
			{RequestID: "X-Request-Id"},
			{SetHeader: map[string]string{"X-Forwarded-Host": "%{host}"}, DelHeader: []string{"X-Debug"}},
			{When: &rules.Match{PathPrefix: []string{"/bench"}}, Rewrite: &rules.Rewrite{Prefix: "/bench", To: "/b"}},
			{When: &rules.Match{Header: map[string]string{"User-Agent": "shellac-bench"}}, Director: "raw"},
		}, rules.PhaseRequest, env)
		if errs != nil {
			b.Fatal(errs[0])
		}
		t.Response, errs = rules.Compile([]*rules.Rule{
			{SetHeader: map[string]string{"Strict-Transport-Security": "max-age=31536000", "X-Content-Type-Options": "nosniff"}},
			{DelHeader: []string{"Server"}},
			{When: &rules.Match{Status: []int{5}}, SetHeader: map[string]string{"Cache-Control": "no-store"}},
		}, rules.PhaseResponse, env)
		if errs != nil {
			b.Fatal(errs[0])
		}
		benchKeepAlive(b, t)
	})
}

// BenchmarkProxyKeepAliveTLS is BenchmarkProxyKeepAlive over TLS 1.3
// (AES-128-GCM): the difference in ns/op is what TLS adds to a request
// (both ends' crypto, in one process). It shows 2 allocs/op: one in the
// proxy and one in the Go client, both crypto/tls's readFromUntil, once
// per record (docs/tls.md).
func BenchmarkProxyKeepAliveTLS(b *testing.B) {
	backend := helloBackend(b)
	cert := testutil.NewCert(b, "bench.example")
	addr := testutil.FreeAddr(b)
	opts := Options{EventLoops: 1, TLS: []TLSListener{{Listen: addr, Config: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}}}}
	benchKeepAliveDial(b, opts, rrTable(backend), func(*proxy) (net.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{RootCAs: cert.Pool, ServerName: "bench.example"})
	})
}

func benchKeepAlive(b *testing.B, tbl *route.Table) {
	benchKeepAliveDial(b, Options{EventLoops: 1}, tbl, func(p *proxy) (net.Conn, error) { return net.Dial("tcp", p.addr) })
}

func benchKeepAliveDial(b *testing.B, opts Options, tbl *route.Table, dial func(*proxy) (net.Conn, error)) {
	p := startProxy(b, opts, tbl)
	c, err := dial(p)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /bench?x=1 HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: shellac-bench\r\nAccept: */*\r\n\r\n")
	// Learn the exact size of the proxied response once.
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	var raw bytes.Buffer
	resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(c, &raw)), nil)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello, world\n" {
		b.Fatalf("warm-up: %d %q", resp.StatusCode, body)
	}
	size := raw.Len()
	buf := make([]byte, size)
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
		b.Fatalf("last response: %q", buf)
	}
}

// BenchmarkProxyClose measures one request per connection (the client
// sends Connection: close and reads until the proxy closes) through one
// event loop to a keep-alive raw backend. "sync" closes the client inside
// the backend's callback through gnet's (*eventloop).close; "queued" turns
// that off, falling back to gnet's Conn.Close task.
func BenchmarkProxyClose(b *testing.B) {
	backend := helloBackend(b)
	p := startProxy(b, Options{EventLoops: 1}, rrTable(backend))
	req := []byte("GET /bench HTTP/1.1\r\nHost: bench.example\r\nConnection: close\r\n\r\n")
	buf := make([]byte, 4096)
	for _, mode := range []struct {
		name string
		sync bool
	}{{"sync", true}, {"queued", false}} {
		b.Run(mode.name, func(b *testing.B) {
			saved := closeOnLoopOK
			closeOnLoopOK = saved && mode.sync
			defer func() { closeOnLoopOK = saved }()
			for i := 0; i < b.N; i++ {
				c, err := net.Dial("tcp", p.addr)
				if err != nil {
					b.Fatal(err)
				}
				oneRequest(b, c, req, buf)
			}
		})
	}
}

// BenchmarkProxyTLSNewConnection measures one request per new TLS
// connection (Connection: close) through one event loop: "full" makes a
// full TLS 1.3 handshake (X25519MLKEM768, ECDSA P-256) each time,
// "resumed" resumes with a session ticket. Client and proxy share the
// process, so ns/op holds both ends' handshake.
func BenchmarkProxyTLSNewConnection(b *testing.B) {
	backend := helloBackend(b)
	cert := testutil.NewCert(b, "bench.example")
	addr := testutil.FreeAddr(b)
	startProxy(b, Options{EventLoops: 1, TLS: []TLSListener{{Listen: addr, Config: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}}}}, rrTable(backend))
	req := []byte("GET /bench HTTP/1.1\r\nHost: bench.example\r\nConnection: close\r\n\r\n")
	for _, mode := range []string{"full", "resumed"} {
		b.Run(mode, func(b *testing.B) {
			cfg := &tls.Config{RootCAs: cert.Pool, ServerName: "bench.example"}
			if mode == "resumed" {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			}
			buf := make([]byte, 4096)
			for i := 0; i < b.N; i++ {
				c, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					b.Fatal(err)
				}
				oneRequest(b, c, req, buf)
				if mode == "resumed" && i > 0 && !c.ConnectionState().DidResume {
					b.Fatal("not resumed")
				}
			}
		})
	}
}

// helloBackend is a keep-alive raw responder answering "hello, world", as a
// backend.
func helloBackend(b *testing.B) *directors.Backend {
	be := startRawResponder(b, "hello, world\n")
	return directors.NewBackend("raw", directors.BackendConfig{
		Network: "tcp", Address: be.ln.Addr().String(), MaxIdle: 8,
	})
}

// oneRequest sends req on c, reads the response until the proxy closes,
// closes c and checks the response is a 200.
func oneRequest(b *testing.B, c net.Conn, req, buf []byte) {
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		m, err := c.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200 ")) {
		b.Fatalf("response %q", buf[:n])
	}
}
