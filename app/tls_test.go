package app

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

const tlsConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "a"

[[server.tls]]
listen = ["%s"]
min_version = "1.2"

[[server.tls.certificates]]
cert = %q
key = %q

[admin]
listen = "{ADMIN}"

[log]
access = %q

[backends.a]
address = %q
`

// TestTLSReloadCertificates: HTTPS end to end from a configuration file;
// a reload with a new certificate serves it to new connections while an
// established one keeps working; a broken certificate is refused with its
// file name and the old one keeps serving; new files are picked up
// without a reload; the access log carries the TLS facts.
func TestTLSReloadCertificates(t *testing.T) {
	b := startBackend(t, "a")
	dir := t.TempDir()
	certFile, keyFile, logFile := filepath.Join(dir, "site.pem"), filepath.Join(dir, "site.key"), filepath.Join(dir, "access.log")
	first := testutil.NewCert(t, "site.test")
	write := func(c *testutil.Cert) {
		if err := os.WriteFile(certFile, c.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(first)
	tlsAddr := testutil.FreeAddr(t)
	ta := startApp(t, fmt.Sprintf(tlsConfig, tlsAddr, certFile, keyFile, logFile, b.addr))

	get := func(c *testutil.Cert, cl *http.Client) (*http.Response, string) {
		t.Helper()
		if cl == nil {
			cl = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: c.Pool, ServerName: "site.test"},
			}}
		}
		resp, err := cl.Get("https://" + tlsAddr + "/x")
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	kept := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: first.Pool, ServerName: "site.test"},
	}}
	if resp, body := get(first, kept); resp.StatusCode != 200 || body != "a" {
		t.Fatalf("HTTPS: %d %q", resp.StatusCode, body)
	}

	second := testutil.NewCert(t, "site.test")
	write(second)
	ta.reload(t)
	resp, _ := get(second, nil)
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(second.Serial) != 0 {
		t.Fatalf("after reload: certificate %s, want the new one", got)
	}
	// The connection made before the reload still serves.
	if resp, body := get(first, kept); resp.StatusCode != 200 || body != "a" || resp.TLS.PeerCertificates[0].SerialNumber.Cmp(first.Serial) != 0 {
		t.Fatalf("established connection after reload: %d %q", resp.StatusCode, body)
	}

	// A broken key: the reload is refused, naming the file, and the
	// certificate loaded before keeps serving.
	if err := os.WriteFile(keyFile, []byte("-----BEGIN EC PRIVATE KEY-----\nbroken\n-----END EC PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := ta.Reload()
	if err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("reload with a broken key: %v, want an error naming %s", err, keyFile)
	}
	if !strings.Contains(err.Error(), "server.tls[0].certificates") {
		t.Errorf("error does not say where: %v", err)
	}
	resp, _ = get(second, nil)
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(second.Serial) != 0 {
		t.Fatalf("after a refused reload: certificate %s, want the one before", got)
	}

	// A renewal writing new files is picked up without a reload.
	third := testutil.NewCert(t, "site.test")
	write(third)
	if !waitUntil(10*time.Second, func() bool {
		resp, _ := get(third, &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		}})
		return resp.TLS.PeerCertificates[0].SerialNumber.Cmp(third.Serial) == 0
	}) {
		t.Fatal("the certificate written to the files was not picked up")
	}
	if ta.certReloads.Load() == 0 {
		t.Error("no certificate reload counted")
	}

	var log string
	if !waitUntil(3*time.Second, func() bool {
		b, _ := os.ReadFile(logFile)
		log = string(b)
		return strings.Count(log, `"tls_version":"TLS 1.3"`) >= 4
	}) {
		t.Fatalf("access log lacks the TLS facts:\n%s", log)
	}
	if !strings.Contains(log, `"sni":"site.test"`) || !strings.Contains(log, `"tls_cipher":"TLS_`) {
		t.Fatalf("access log lacks the SNI or cipher:\n%s", log)
	}
}

// waitUntil polls cond every 10ms until it holds or d passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
