package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/route"
)

// halfCloseExchange connects to addr, sends req, shuts its sending side
// down (shutdown(SHUT_WR), as nc -N does), and returns everything it reads
// until the proxy closes. readDelay, when set, pauses between reads (a
// slow reader).
func halfCloseExchange(t *testing.T, addr, req string, readDelay time.Duration) []byte {
	t.Helper()
	c := dialSend(t, addr, req, 30*time.Second)
	defer c.Close()
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.Bytes()
		}
		if readDelay > 0 {
			time.Sleep(readDelay)
		}
	}
}

// TestHalfClosedClientGetsResponse: a client that shuts its sending side
// down right after its request still gets its whole response, with a
// backend slow enough that the EOF arrives first.
func TestHalfClosedClientGetsResponse(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<19) // 8 MiB
	sum := sha256.Sum256([]byte(big))
	a := newTestBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(100 * time.Millisecond) // let the client's FIN arrive first
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		default:
			fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(body))
		}
	}))
	p := startProxy(t, Options{EventLoops: 1}, tableOf(a.backend(directors.BackendConfig{}), nil))

	tests := []struct {
		name, req string
		want      []string // bodies, in order
	}{
		{"HTTP/1.1 GET", "GET /one HTTP/1.1\r\nHost: t\r\n\r\n", []string{"GET /one 0"}},
		{"HTTP/1.1 GET, Connection: close", "GET /one HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", []string{"GET /one 0"}},
		{"HTTP/1.0 GET", "GET /old HTTP/1.0\r\n\r\n", []string{"GET /old 0"}},
		{"POST with a body", "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", []string{"POST /up 5"}},
		{"three pipelined", "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\nGET /3 HTTP/1.1\r\nHost: t\r\n\r\n",
			[]string{"GET /1 0", "GET /2 0", "GET /3 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := halfCloseExchange(t, p.addr, tc.req, 0)
			br := bufio.NewReader(bytes.NewReader(out))
			for i, want := range tc.want {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v (read %q)", i, err, out)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 || string(body) != want {
					t.Errorf("response %d: %d %q (%v); want 200 %q", i, resp.StatusCode, body, err, want)
				}
			}
			if rest, _ := io.ReadAll(br); len(rest) > 0 {
				t.Errorf("%d bytes after the responses: %q", len(rest), rest)
			}
		})
	}

	t.Run("8 MiB to a slow reader", func(t *testing.T) {
		out := halfCloseExchange(t, p.addr, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", time.Millisecond)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || sha256.Sum256(body) != sum {
			t.Fatalf("got %d of %d bytes (%v), or other bytes", len(body), len(big), err)
		}
	})
	if n := p.halfCloses.Load(); n < int64(len(tests)+1) {
		t.Errorf("%d connections taken over after a half-close; want one per case (%d)", n, len(tests)+1)
	}
	var hw highWaterMarks
	p.forEachLoop(func(l *loop) { hw = l.hw })
	if hw.clientOut > 4*highWater {
		t.Errorf("held %d bytes for the slow half-closed reader; backpressure should bound it near %d", hw.clientOut, highWater)
	}
	if !waitFor(5*time.Second, func() bool { return p.Conns() == 0 }) {
		t.Errorf("%d client connections still open", p.Conns())
	}
}

// TestHalfClosedTunnel: in a pipe, the client's half-close is passed on to
// the backend (its sending side is shut down), and the backend's answer to
// the EOF still reaches the client.
func TestHalfClosedTunnel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		got, _ := io.ReadAll(c) // until the proxy passes the client's EOF on
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nread %d bytes", len(got))
	}()
	b := directors.NewBackend("pipe", directors.BackendConfig{Network: "tcp", Address: ln.Addr().String(), MaxIdle: 1, FirstByteTimeout: 5 * time.Second})
	p := startProxy(t, Options{EventLoops: 1}, tableOf(b, &route.Route{Pipe: true}))
	out := halfCloseExchange(t, p.addr, "POST /pipe HTTP/1.1\r\nHost: t\r\n\r\nsome bytes", 0)
	if !bytes.HasSuffix(out, []byte("read ")) && !strings.Contains(string(out), "read ") {
		t.Fatalf("got %q; want the backend's answer to the EOF", out)
	}
	// The backend read the forwarded head and the ten bytes.
	if !strings.Contains(string(out), "200 OK") {
		t.Errorf("got %q", out)
	}
}
