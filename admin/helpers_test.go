package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/admin"
	"github.com/shellac-lb/shellac/app"
	"github.com/shellac-lb/shellac/config"
	"github.com/shellac-lb/shellac/internal/testutil"
)

// backend starts an HTTP backend on 127.0.0.1 answering its name, 503 on
// /fail, and "ok" on /healthz.
func backend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/healthz":
			io.WriteString(w, "ok")
			return
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// instance is a started shellac with its admin API.
type instance struct {
	t     *testing.T
	app   *app.App
	path  string
	proxy string
	admin string
	token string
	c     *http.Client
}

// start writes text, with {LISTEN} and {ADMIN} replaced by free
// addresses, to shellac.toml and starts an app from it.
func start(t *testing.T, text string) *instance {
	t.Helper()
	return startLogged(t, text, testutil.Quiet)
}

// startLogged is start with the App logging to log.
func startLogged(t *testing.T, text string, log *slog.Logger) *instance {
	t.Helper()
	listen, adm := testutil.FreeAddr(t), testutil.FreeAddr(t)
	text = strings.NewReplacer("{LISTEN}", listen, "{ADMIN}", adm).Replace(text)
	dir := t.TempDir()
	path := filepath.Join(dir, "shellac.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	a, err := app.New(cfg, path, log)
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
	return &instance{t: t, app: a, path: path, proxy: "http://" + listen, admin: "http://" + adm, c: &http.Client{Timeout: 5 * time.Second}}
}

// do sends an admin request with in.token, if any.
func (in *instance) do(method, path, body string) (int, string, http.Header) {
	in.t.Helper()
	return in.client().Do(method, path, body)
}

// client is the admin client for in's current address, token and transport.
func (in *instance) client() *testutil.Client {
	return &testutil.Client{T: in.t, Base: in.admin, Token: in.token, HTTP: in.c}
}

// must is do, failing unless the status is want.
func (in *instance) must(want int, method, path, body string) string {
	in.t.Helper()
	return in.client().Must(want, method, path, body)
}

// errorOf decodes a JSON error answer.
func errorOf(t *testing.T, body string) (string, []string) {
	t.Helper()
	var e struct {
		Error  string   `json:"error"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("error answer %q is not {\"error\": ...} (%v)", body, err)
	}
	return e.Error, e.Errors
}

func (in *instance) status() admin.Status {
	in.t.Helper()
	var st admin.Status
	if err := json.Unmarshal([]byte(in.must(200, "GET", "/status", "")), &st); err != nil {
		in.t.Fatal(err)
	}
	return st
}

// get sends a request through the proxy and returns status and body.
func (in *instance) get(path string) (int, string) {
	in.t.Helper()
	resp, err := in.c.Get(in.proxy + path)
	if err != nil {
		in.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
