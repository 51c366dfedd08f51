package proxy

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/internal/testutil"
)

// TestTLSHalfClosedClientIsAnswered: a TLS client that sends its
// request, then close_notify and a FIN, before the (slow) response, still
// gets the response, encrypted, then the proxy's close_notify — with and
// without close_notify before the FIN, and for pipelined requests.
func TestTLSHalfClosedClientIsAnswered(t *testing.T) {
	backend := newTestBackend(t, "slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond) // the FIN arrives first
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, n)
	}))
	cert := testutil.NewCert(t, "hc.test")
	addr := testutil.FreeAddr(t)
	p := startProxy(t, Options{TLS: []TLSListener{{Listen: addr, Config: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}}}},
		rrTable(backend.backend(directors.BackendConfig{})))
	for _, tc := range []struct {
		name        string
		closeNotify bool
		reqs        string
		want        []string
	}{
		{"close_notify then FIN", true, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET /a 0"}},
		{"FIN only", false, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", []string{"POST /b 5"}},
		{"pipelined", true, "GET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET /c 0", "GET /d 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			c := tls.Client(raw, &tls.Config{RootCAs: cert.Pool, ServerName: "hc.test"})
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			// One exchange first, so that the handshake is over on the
			// proxy's side too (a FIN during the handshake closes).
			br := bufio.NewReader(c)
			if _, err := io.WriteString(c, "GET /warm HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			bodyOf(t, resp)
			if _, err := io.WriteString(c, tc.reqs); err != nil {
				t.Fatal(err)
			}
			if tc.closeNotify {
				if err := c.CloseWrite(); err != nil {
					t.Fatal(err)
				}
			}
			if err := raw.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != want {
					t.Fatalf("response %d: %d %q, want %q", i, resp.StatusCode, body, want)
				}
			}
			// Then a clean end: the proxy's close_notify (io.EOF), nothing more.
			if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
				t.Fatalf("after the responses: %q, %v; want a close_notify EOF", rest, err)
			}
		})
	}
	if n := p.Stats().HalfClosed; n < 3 {
		t.Errorf("HalfClosed = %d, want ≥ 3", n)
	}
}
