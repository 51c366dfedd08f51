package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/admin"
	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/internal/testutil"
)

// testBackend is an HTTP backend on 127.0.0.1 that can be killed and
// brought back on the same address. It answers its name, except:
//
//	/healthz       "ok" (probes; not counted in requests)
//	/fail          503
//	/sleep?ms=N    its name after N milliseconds
type testBackend struct {
	t        *testing.T
	name     string
	addr     string
	requests atomic.Int64 // requests served, probes excluded
	open     atomic.Int64 // open client connections

	mu  sync.Mutex
	srv *http.Server
}

func startBackend(t *testing.T, name string) *testBackend {
	t.Helper()
	b := &testBackend{t: t, name: name}
	b.start()
	t.Cleanup(b.kill)
	return b
}

func (b *testBackend) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			io.WriteString(w, "ok")
			return
		case "/fail":
			b.requests.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, b.name+" failed")
			return
		case "/sleep":
			ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
			time.Sleep(time.Duration(min(ms, 2000)) * time.Millisecond)
		}
		b.requests.Add(1)
		io.WriteString(w, b.name)
	})
}

// start listens (on the previous address after a kill).
func (b *testBackend) start() {
	b.t.Helper()
	addr := b.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatalf("backend %s: %v", b.name, err)
	}
	b.addr = ln.Addr().String()
	srv := &http.Server{Handler: b.handler(), ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.open.Add(-1)
		}
	}}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go srv.Serve(ln)
}

// kill closes the listener and every connection.
func (b *testBackend) kill() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// testApp is a started App with its addresses.
type testApp struct {
	*App
	path  string // the configuration file
	proxy string // http://host:port of the proxy
	admin *adminClient
}

// startApp writes text (with {LISTEN} and {ADMIN} replaced by free
// addresses) to a file, and starts an App from it; it is shut down when
// the test ends.
func startApp(t *testing.T, text string) *testApp {
	t.Helper()
	return startAppLogged(t, text, quiet)
}

// startAppLogged is startApp with log as the App's logger.
func startAppLogged(t *testing.T, text string, log *slog.Logger) *testApp {
	t.Helper()
	listen, adm := testutil.FreeAddr(t), testutil.FreeAddr(t)
	text = strings.NewReplacer("{LISTEN}", listen, "{ADMIN}", adm).Replace(text)
	path := filepath.Join(t.TempDir(), "shellac.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config:\n%v\n%s", err, text)
	}
	a, err := New(cfg, path, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	return &testApp{App: a, path: path, proxy: "http://" + listen, admin: &adminClient{t: t, base: "http://" + adm, c: &http.Client{Timeout: 5 * time.Second}}}
}

// adminClient talks to the admin API.
type adminClient struct {
	t     *testing.T
	base  string
	token string
	c     *http.Client
}

// do sends a request and returns the status and body.
func (ac *adminClient) do(method, path, body string) (int, string) {
	ac.t.Helper()
	code, out, _ := ac.client().Do(method, path, body)
	return code, out
}

// client is the shared admin client for ac's address and token.
func (ac *adminClient) client() *testutil.Client {
	return &testutil.Client{T: ac.t, Base: ac.base, Token: ac.token, HTTP: ac.c}
}

// must is do, failing the test unless the status is want.
func (ac *adminClient) must(want int, method, path, body string) string {
	ac.t.Helper()
	return ac.client().Must(want, method, path, body)
}

// status returns GET /status.
func (ac *adminClient) status() admin.Status {
	ac.t.Helper()
	var st admin.Status
	if err := json.Unmarshal([]byte(ac.must(200, "GET", "/status", "")), &st); err != nil {
		ac.t.Fatal(err)
	}
	return st
}

// health returns the health of backend name from GET /status.
func (ac *adminClient) health(name string) string {
	ac.t.Helper()
	b, ok := ac.status().Backends[name]
	if !ok {
		ac.t.Fatalf("no backend %q in /status", name)
	}
	return b.Health
}

// waitHealth polls /status every 10ms until backend name has health want,
// and returns how long that took from since; it fails after limit.
func (ac *adminClient) waitHealth(name, want string, since time.Time, limit time.Duration) time.Duration {
	ac.t.Helper()
	deadline := since.Add(limit)
	for {
		if ac.health(name) == want {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			ac.t.Fatalf("backend %s not %s after %v: %+v", name, want, limit, ac.status().Backends[name])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bodies sends n GETs of path through the proxy and returns the bodies.
func bodies(t *testing.T, base, path string, n int) []string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	out := make([]string, n)
	for i := range out {
		code, body := get(t, c, base+path)
		if code != 200 {
			t.Fatalf("GET %s: %d %q", path, code, body)
		}
		out[i] = body
	}
	return out
}

func count(xs []string) map[string]int {
	m := map[string]int{}
	for _, x := range xs {
		m[x]++
	}
	return m
}
