package app

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

const backendTLSConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "api"

[admin]
listen = "{ADMIN}"

[log]
access = ""

[probes.p]
url = "/healthz"
interval = "100ms"
timeout = "90ms"
window = 3
threshold = 2
initial = 2

[backends.api]
address = %q
probe = "p"
tls = true
tls_sni = "api.test"
tls_ca = %q
`

// TestBackendTLSFromConfig: a TLS backend from a configuration file,
// verified against its CA file, probed over TLS; a reload after the CA
// file changed to another CA rebuilds the backend, whose probe and
// requests then fail verification; the right CA back heals it.
func TestBackendTLSFromConfig(t *testing.T) {
	cert := testutil.NewCert(t, "api.test")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls %s %s", r.TLS.ServerName, r.URL.Path)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ta := startApp(t, fmt.Sprintf(backendTLSConfig, srv.Listener.Addr().String(), caFile))
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get(ta.proxy + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 || body != "tls api.test /x" {
		t.Fatalf("GET: %d %q", code, body)
	}
	waitHealth := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for ta.admin.health("api") != want {
			if time.Now().After(deadline) {
				t.Fatalf("backend api is %s, want %s", ta.admin.health("api"), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitHealth("healthy")

	// Another CA: the reload rebuilds the backend; verification fails.
	if err := os.WriteFile(caFile, testutil.NewCert(t, "api.test").CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ta.reload(t)
	waitHealth("sick")
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("with the wrong CA: status %d, want 503", code)
	}

	// The right CA back: healthy and served again.
	if err := os.WriteFile(caFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ta.reload(t)
	waitHealth("healthy")
	if code, body := get(); code != 200 || body != "tls api.test /x" {
		t.Fatalf("after the fix: %d %q", code, body)
	}
}
