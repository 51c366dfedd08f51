package proxy

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
)

// TestShutdownServesQueuedConnections queues connections on the listener
// (the loops no longer accept, as in the first step of Shutdown), each
// with a request sent, then shuts down: every one must be answered, with
// "Connection: close", not reset when the listener is shut down.
func TestShutdownServesQueuedConnections(t *testing.T) {
	tb := newTestBackend(t, "a", echoHandler("a"))
	p := startProxy(t, Options{EventLoops: 2}, rrTable(tb.backend(directors.BackendConfig{})))
	lns, err := engineListeners(p.eng)
	if err != nil {
		t.Fatal(err)
	}
	if err := unwatchListeners(lns); err != nil {
		t.Fatal(err)
	}
	p.syncLoops()
	const n = 20
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("GET /q HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	// Nothing is served while the connections wait in the queue.
	conns[0].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := conns[0].Read(make([]byte, 1)); err == nil {
		t.Fatal("a queued connection was served before Shutdown")
	}
	conns[0].SetDeadline(time.Now().Add(10 * time.Second))
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- p.Shutdown(ctx)
	}()
	for i, c := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("queued connection %d: %v", i, err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != 200 || !resp.Close {
			t.Errorf("queued connection %d: %d, close=%v", i, resp.StatusCode, resp.Close)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
