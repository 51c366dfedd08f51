package app

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// TestTLSClientAuthFromConfig: client_auth = "require" from a file: a
// client with a certificate client_ca signed is served and its subject
// is in the access log; one without is refused.
func TestTLSClientAuthFromConfig(t *testing.T) {
	b := startBackend(t, "a")
	site, alice := testutil.NewCert(t, "site.test"), testutil.NewCert(t, "alice")
	logFile := filepath.Join(t.TempDir(), "access.log")
	tlsAddr := testutil.FreeAddr(t)
	text := fmt.Sprintf(tlsConfig, tlsAddr, site.CertFile, site.KeyFile, logFile, b.addr)
	text = strings.Replace(text, "min_version = \"1.2\"\n", fmt.Sprintf("min_version = \"1.2\"\nclient_auth = \"require\"\nclient_ca = %q\n", alice.CertFile), 1)
	startApp(t, text)
	client := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{RootCAs: site.Pool, ServerName: "site.test"}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	resp, err := client(&alice.TLS).Get("https://" + tlsAddr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with a certificate: status %d", resp.StatusCode)
	}
	if resp, err := client(nil).Get("https://" + tlsAddr + "/y"); err == nil {
		resp.Body.Close()
		t.Fatalf("without a certificate: status %d, want a refused handshake", resp.StatusCode)
	}
	var log string
	if !waitUntil(3*time.Second, func() bool {
		b, _ := os.ReadFile(logFile)
		log = string(b)
		return strings.Contains(log, `"client_cert":"CN=alice"`)
	}) {
		t.Fatalf("access log lacks the client certificate:\n%s", log)
	}
	if strings.Contains(log, `"/y"`) {
		t.Fatalf("a refused client's request was logged:\n%s", log)
	}
}
