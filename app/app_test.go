package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/internal/testutil"
)

var quiet = testutil.Quiet

// namedBackend answers "NAME" and can hold a request for a while.
func namedBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func writeConfig(t *testing.T, path, listen string, backends map[string]string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nlisten = [%q]\ndefault_director = \"web\"\nshutdown_timeout = \"5s\"\n\n", listen)
	b.WriteString("[admin]\nlisten = \"\"\n\n[log]\naccess = \"\"\n\n")
	var names []string
	for _, n := range []string{"a", "b", "c"} {
		if addr, ok := backends[n]; ok {
			fmt.Fprintf(&b, "[backends.%s]\naddress = %q\n\n", n, addr)
			names = append(names, fmt.Sprintf("%q", n))
		}
	}
	fmt.Fprintf(&b, "[directors.web]\ntype = \"round_robin\"\nmembers = [%s]\n", strings.Join(names, ", "))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReloadKeepsRunningConfigOnError reloads a broken file (refused with
// its line number, the old config keeps serving) and then a changed one
// (the new backend takes traffic, the unchanged one keeps its object).
func TestReloadKeepsRunningConfigOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shellac.toml")
	listen := testutil.FreeAddr(t)
	a1, b1 := namedBackend(t, "a"), namedBackend(t, "b")
	writeConfig(t, path, listen, map[string]string{"a": a1})
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := New(cfg, path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := ap.Start(); err != nil {
		t.Fatal(err)
	}
	defer ap.Shutdown(context.Background())
	c := &http.Client{Timeout: 5 * time.Second}
	if code, body := get(t, c, "http://"+listen+"/"); code != 200 || body != "a" {
		t.Fatalf("before reload: %d %q", code, body)
	}
	oldA := ap.Table().Backends["a"]

	// A broken file: the error names the line; the running config stays.
	if err := os.WriteFile(path, []byte("[server]\nlisten = [\"127.0.0.1:1\"]\ndefault_director = \"nope\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = ap.Reload()
	if err == nil || !strings.Contains(err.Error(), "shellac.toml:3") {
		t.Fatalf("reload of a broken file: %v; want an error at line 3", err)
	}
	if code, body := get(t, c, "http://"+listen+"/"); code != 200 || body != "a" {
		t.Fatalf("after failed reload: %d %q", code, body)
	}

	// A good file with a second backend.
	writeConfig(t, path, listen, map[string]string{"a": a1, "b": b1})
	if err := ap.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		_, body := get(t, c, "http://"+listen+"/")
		seen[body]++
	}
	if seen["a"] != 3 || seen["b"] != 3 {
		t.Errorf("after reload: %v; want a and b 3 times each", seen)
	}
	if ap.Table().Backends["a"] != oldA {
		t.Error("unchanged backend a was rebuilt by the reload (its health and pool would be lost)")
	}
}

// TestShutdownDrainsInFlight starts a slow request, shuts down, and checks
// that the request completes while new connections are refused.
func TestShutdownDrainsInFlight(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shellac.toml")
	listen := testutil.FreeAddr(t)
	writeConfig(t, path, listen, map[string]string{"a": namedBackend(t, "a")})
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := New(cfg, path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := ap.Start(); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	done := make(chan string, 1)
	go func() {
		resp, err := c.Get("http://" + listen + "/slow")
		if err != nil {
			done <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fmt.Sprintf("%d %s close=%v", resp.StatusCode, b, resp.Close)
	}()
	time.Sleep(100 * time.Millisecond) // the request is at the backend
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- ap.Shutdown(ctx)
	}()
	if got := <-done; got != "200 a close=true" {
		t.Errorf("in-flight request during drain: %q; want \"200 a close=true\"", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
		conn.Close()
		t.Error("a new connection was accepted after shutdown")
	}
}
