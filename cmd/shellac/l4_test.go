package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// TestBehindHAProxyTCP runs deploy/haproxy-l4.cfg on loopback: HAProxy in
// TCP mode round-robins new connections over two shellac instances with
// PROXY protocol v2. Every key must reach the backend a single instance
// maps it to, whichever instance took the connection, and the backends
// must see the real client address in X-Forwarded-For.
func TestBehindHAProxyTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed (apt-get install -y haproxy)")
	}
	names := []string{"b1", "b2", "b3", "b4", "b5"}
	var backends strings.Builder
	for _, n := range names {
		fmt.Fprintf(&backends, "\n[backends.%s]\naddress = %q\n", n, nameBackend(t, n))
	}
	cfg := strings.Replace(agreeConfig, "[admin]", "proxy_protocol = true\n\n[admin]", 1)
	if !strings.Contains(cfg, "proxy_protocol") {
		t.Fatal("config template changed")
	}
	members := `"b1", "b2", "b3", "b4", "b5"`
	s1 := startShellac(t, fmt.Sprintf(cfg, backends.String(), members))
	s2 := startShellac(t, fmt.Sprintf(cfg, backends.String(), `"b5", "b3", "b1", "b4", "b2"`))
	// The oracle: one more instance, reached directly, without PROXY.
	oracle := startShellac(t, fmt.Sprintf(agreeConfig, backends.String(), `"b2", "b4", "b1", "b3", "b5"`))

	example, err := os.ReadFile(filepath.Join("..", "..", "deploy", "haproxy-l4.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	edge := testutil.FreeAddr(t)
	text := strings.NewReplacer("127.0.0.1:8000", edge, "127.0.0.1:8081", s1.listen, "127.0.0.1:8082", s2.listen).Replace(string(example))
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	hp := exec.Command(haproxy, "-f", path, "-db")
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hp.Process.Kill(); _ = hp.Wait() })
	if !waitReady(edge, 10*time.Second) {
		t.Fatal("haproxy did not start")
	}

	// A new connection per request, so HAProxy spreads them over both.
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	direct := &http.Client{Timeout: 5 * time.Second}
	const keys = 400
	for i := 0; i < keys; i++ {
		got, seen := fetch(t, cl, fmt.Sprintf("http://%s/object/%d", edge, i))
		want, _ := fetch(t, direct, fmt.Sprintf("http://%s/object/%d", oracle.listen, i))
		if got != want {
			t.Fatalf("key %d: %s through HAProxy; %s through a third instance directly", i, got, want)
		}
		if seen != "127.0.0.1" {
			t.Fatalf("key %d: the backend saw X-Forwarded-For %q; want the client's 127.0.0.1 (PROXY v2)", i, seen)
		}
	}
	for i, p := range []*process{s1, s2} {
		c := &testutil.Client{T: t, Base: "http://" + p.admin, HTTP: direct}
		_, metrics, _ := c.Do("GET", "/metrics", "")
		if n := requestsServed(metrics); n < keys/4 {
			t.Errorf("instance %d served %v of %d requests; HAProxy should spread them", i+1, n, keys)
		}
	}
}

// requestsServed sums the shellac_backend_requests_total series of a /metrics
// text.
func requestsServed(metrics string) float64 {
	var sum float64
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "shellac_backend_requests_total") {
			var v float64
			if _, err := fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// fetch GETs url and returns the body and the X-Seen-For header.
func fetch(t *testing.T, cl *http.Client, url string) (string, string) {
	t.Helper()
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d %q %v", url, resp.StatusCode, b, err)
	}
	return string(b), resp.Header.Get("X-Seen-For")
}
