package netpoll

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/http1"
	"github.com/shellac-lb/shellac/topology"
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
// its 101, and then pipes bytes both ways (what a WebSocket needs).
func TestUpgradeIsTunnelled(t *testing.T) {
	addr, result := rawBackend(t, func(c net.Conn) string {
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
		return seen
	})
	b := directors.NewBackend("ws", directors.BackendConfig{Network: "tcp", Address: addr, FirstByteTimeout: 5 * time.Second})
	p := startProxy(t, Options{}, tableOf(b, nil))
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
	if got := <-result; !strings.EqualFold(got, "echo|upgrade") {
		t.Errorf("backend saw Upgrade|Connection = %q; want echo|Upgrade", got)
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
	p := startProxy(t, Options{}, tableOf(b, &topology.Route{Pipe: true}))
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
