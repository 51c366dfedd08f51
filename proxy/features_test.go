package proxy

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/internal/testutil"
	"github.com/shellac-lb/shellac/route"
)

// TestProxyProtocolFromClient accepts PROXY v1 and v2 headers from the
// client side: the address they carry is the client's, as X-Forwarded-For
// shows at the backend.
func TestProxyProtocolFromClient(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	p := startProxy(t, Options{ProxyProtocol: true, XForwardedFor: true}, tableOf(a.backend(directors.BackendConfig{}), nil))
	src := netip.MustParseAddrPort("192.0.2.7:5555")
	dst := netip.MustParseAddrPort("198.51.100.1:80")
	for _, v := range []int{1, 2} {
		hdr := http1.AppendProxyHeader(nil, v, src, dst)
		got := rawExchange(t, p.addr, string(hdr)+"GET /pp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.Contains(got, "X-Got-Xff: 192.0.2.7\r\n") {
			t.Errorf("PROXY v%d: got %q; want 200 with X-Got-Xff 192.0.2.7", v, got)
		}
	}
	// Without a PROXY header the connection is refused.
	got := rawExchange(t, p.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 400 ") {
		t.Errorf("missing PROXY header: got %q; want 400", firstLine(got))
	}
}

// rawBackend accepts one connection, hands it to serve, and reports what
// serve returns.
func rawBackend(t *testing.T, serve func(c net.Conn) string) (addr string, result <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		ch <- serve(c)
	}()
	return ln.Addr().String(), ch
}

// TestProxyHeaderToBackend sends a PROXY v1 header on each new backend
// connection when the backend asks for one (proxy_header = 1).
func TestProxyHeaderToBackend(t *testing.T) {
	addr, result := rawBackend(t, func(c net.Conn) string {
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err != nil {
			return "read: " + err.Error()
		}
		req, err := http.ReadRequest(r)
		if err != nil {
			return "request: " + err.Error()
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		return line + req.URL.Path
	})
	b := directors.NewBackend("pp", directors.BackendConfig{Network: "tcp", Address: addr, ProxyHeader: 1, FirstByteTimeout: 5 * time.Second})
	p := startProxy(t, Options{}, tableOf(b, nil))
	resp, err := newClient().Get(p.url("/with-proxy-header"))
	if err != nil {
		t.Fatal(err)
	}
	if body := bodyOf(t, resp); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("got %d %q; want 200 ok", resp.StatusCode, body)
	}
	got := <-result
	if !strings.HasPrefix(got, "PROXY TCP4 127.0.0.1 127.0.0.1 ") || !strings.HasSuffix(got, "\r\n/with-proxy-header") {
		t.Errorf("backend saw %q; want a PROXY TCP4 line for the loopback client, then the request", got)
	}
}

// TestUpgradeIsTunnelled passes an Upgrade request to the backend, forwards
// its 101, and then pipes bytes both ways (what a WebSocket needs), to a
// cleartext backend and to a TLS one; the client's half-close reaches the
// backend as an end of stream (over TLS: close_notify).
func TestUpgradeIsTunnelled(t *testing.T) {
	cert := testutil.NewCert(t, "ws.test")
	for _, overTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "cleartext", true: "tls"}[overTLS], func(t *testing.T) {
			addr, result := rawBackend(t, func(c net.Conn) string {
				if overTLS {
					tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
					defer tc.Close()
					c = tc
				}
				r := bufio.NewReader(c)
				req, err := http.ReadRequest(r)
				if err != nil {
					return "request: " + err.Error()
				}
				seen := req.Header.Get("Upgrade") + "|" + req.Header.Get("Connection")
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
				buf := make([]byte, 4)
				if _, err := io.ReadFull(r, buf); err != nil {
					return "tunnel read: " + err.Error()
				}
				c.Write([]byte(strings.ToUpper(string(buf))))
				if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
					return fmt.Sprintf("after the half-close: %q, %v", rest, err)
				}
				c.Write([]byte("bye"))
				return seen
			})
			bc := directors.BackendConfig{Network: "tcp", Address: addr, FirstByteTimeout: 5 * time.Second}
			if overTLS {
				bc.TLS = &tls.Config{RootCAs: cert.Pool, ServerName: "ws.test"}
			}
			p := startProxy(t, Options{}, tableOf(directors.NewBackend("ws", bc), nil))
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			r := bufio.NewReader(c)
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "echo" {
				t.Fatalf("got %d, Upgrade %q; want 101 echo", resp.StatusCode, resp.Header.Get("Upgrade"))
			}
			io.WriteString(c, "ping")
			buf := make([]byte, 4)
			if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "PING" {
				t.Fatalf("through the tunnel: %q, %v; want PING", buf, err)
			}
			_ = c.(*net.TCPConn).CloseWrite()
			if rest, err := io.ReadAll(r); err != nil || string(rest) != "bye" {
				t.Fatalf("after the half-close: %q, %v; want bye", rest, err)
			}
			if got := <-result; !strings.EqualFold(got, "echo|upgrade") {
				t.Errorf("backend saw Upgrade|Connection = %q; want echo|Upgrade", got)
			}
		})
	}
}

// TestPipeRoute tunnels a connection after its first request head on a
// route with pipe = true: what follows reaches the backend unparsed.
func TestPipeRoute(t *testing.T) {
	addr, result := rawBackend(t, func(c net.Conn) string {
		r := bufio.NewReader(c)
		req, err := http.ReadRequest(r)
		if err != nil {
			return "request: " + err.Error()
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
		rest := make([]byte, 9)
		if _, err := io.ReadFull(r, rest); err != nil {
			return "rest: " + err.Error()
		}
		c.Write([]byte("raw reply"))
		return req.URL.Path + " " + string(rest)
	})
	b := directors.NewBackend("pipe", directors.BackendConfig{Network: "tcp", Address: addr, FirstByteTimeout: 5 * time.Second})
	p := startProxy(t, Options{}, tableOf(b, &route.Route{Pipe: true}))
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	// Not HTTP after the head: only a pipe lets it through.
	io.WriteString(c, "GET /piped HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if body := bodyOf(t, resp); body != "first" {
		t.Fatalf("first response %q", body)
	}
	io.WriteString(c, "\x00raw\x01data")
	buf := make([]byte, 9)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "raw reply" {
		t.Fatalf("piped reply %q, %v", buf, err)
	}
	if got := <-result; got != "/piped \x00raw\x01data" {
		t.Errorf("backend saw %q", got)
	}
}

// TestBetweenBytesTimeout cuts off a response whose body stalls longer
// than the backend's between_bytes_timeout.
func TestBetweenBytesTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{BetweenBytesTimeout: 200 * time.Millisecond}), nil))
	start := time.Now()
	resp, err := newClient().Get(p.url("/stall"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "12345" || err == nil {
		t.Errorf("got %d %q, err %v; want 200, the first 5 bytes, then a cut-off", resp.StatusCode, body, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cut off after %v; the stall was only 200ms over the limit", d)
	}
}

// TestClientIdleTimeout closes a keep-alive client connection that stays
// idle longer than client_idle_timeout.
func TestClientIdleTimeout(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	p := startProxy(t, Options{ClientIdleTimeout: 200 * time.Millisecond}, tableOf(a.backend(directors.BackendConfig{}), nil))
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, resp)
	start := time.Now()
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v; want EOF (closed by the proxy)", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v; want about 200ms", d)
	}
}

// TestClientMaxConnections closes connections past limits.max_connections
// at once, and accepts again when one goes away.
func TestClientMaxConnections(t *testing.T) {
	a := newTestBackend(t, "a", nil)
	p := startProxy(t, Options{MaxConnections: 2, EventLoops: 1}, tableOf(a.backend(directors.BackendConfig{}), nil))
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	if !waitFor(2*time.Second, func() bool { return p.Conns() == 2 }) {
		t.Fatalf("proxy counts %d connections; want 2", p.Conns())
	}
	got := rawExchange(t, p.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second)
	if got != "" {
		t.Errorf("third connection got %q; want it closed without an answer", firstLine(got))
	}
	held[0].Close()
	if !waitFor(2*time.Second, func() bool { return p.Conns() == 1 }) {
		t.Fatalf("proxy counts %d connections after a close; want 1", p.Conns())
	}
	got = rawExchange(t, p.addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 200 ") {
		t.Errorf("after a slot freed: %q; want 200", firstLine(got))
	}
}

// TestBackendMaxConnections treats a backend serving max_connections
// requests as full: with no other member, the next request gets 503.
func TestBackendMaxConnections(t *testing.T) {
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		io.WriteString(w, "done")
	}))
	p := startProxy(t, Options{}, tableOf(a.backend(directors.BackendConfig{MaxConnections: 1}), nil))
	c := newClient()
	first := make(chan int, 1)
	go func() {
		resp, err := c.Get(p.url("/one"))
		if err != nil {
			first <- 0
			return
		}
		bodyOf(t, resp)
		first <- resp.StatusCode
	}()
	<-entered
	resp, err := c.Get(p.url("/two"))
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(t, resp)
	close(release)
	if resp.StatusCode != 503 {
		t.Errorf("second request while the backend is full: %d; want 503", resp.StatusCode)
	}
	if code := <-first; code != 200 {
		t.Errorf("first request: %d; want 200", code)
	}
}
