package app

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// TestTLSExampleWithCurl serves examples/tls.toml, on free ports and with
// a certificate the `shellac cert` code made, and talks to it with curl as
// the README does: HTTPS verified with --cacert (TLS 1.3, and TLS 1.2 with
// an ECDHE-ECDSA-AES-GCM suite), and the cleartext port's redirect.
func TestTLSExampleWithCurl(t *testing.T) {
	src, certFile := testutil.ExampleTOMLCert(t, "../examples/tls.toml")
	if certFile == "" {
		t.Fatal("examples/tls.toml names no certificate files")
	}
	tlsAddr := testutil.FreeAddr(t)
	_, port, _ := net.SplitHostPort(tlsAddr)
	text := strings.NewReplacer(
		`"127.0.0.1:8080"`, `"{LISTEN}"`,
		`"127.0.0.1:8443"`, `"`+tlsAddr+`"`,
		"https://localhost:8443", "https://localhost:"+port,
	).Replace(string(src))
	ta := startApp(t, text)
	site := "https://localhost:" + port
	resolve := "localhost:" + port + ":127.0.0.1"
	for _, tc := range testutil.CurlTLSVersions("ECDHE-ECDSA-AES128-GCM-SHA256") {
		args := append([]string{"-v", "--cacert", certFile, "--resolve", resolve, "-w", "\n%{http_code} %{ssl_verify_result}"}, tc.Args...)
		out, stderr, err := testutil.CurlVerbose(t, append(args, site+"/")...)
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		if out != "hello over HTTPS\n\n200 0" {
			t.Fatalf("%s: curl printed %q, want the body, 200 and a verified certificate", tc.Name, out)
		}
		if !strings.Contains(stderr, tc.Says) {
			t.Errorf("%s: curl -v does not say %q:\n%s", tc.Name, tc.Says, stderr)
		}
	}
	out, err := testutil.Curl(t, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", ta.proxy+"/x?y=1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "308 " + site + "/x?y=1"; out != want {
		t.Fatalf("cleartext: %q, want %q", out, want)
	}
}

const tlsStreamConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "a"

[[server.tls]]
listen = ["%s"]

[[server.tls.certificates]]
cert = %q
key = %q

[backends.a]
address = %q
`

// TestTLSReloadDuringDownload: a certificate reload (new files, then
// Reload) in the middle of a 64 MiB HTTPS download: new connections get
// the new certificate while the download, on a connection made before,
// completes intact.
func TestTLSReloadDuringDownload(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: testutil.BodyHandler()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "site.pem"), filepath.Join(dir, "site.key")
	write := func(c *testutil.Cert) {
		t.Helper()
		for file, data := range map[string][]byte{keyFile: c.KeyPEM, certFile: c.CertPEM} {
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	first, second := testutil.NewCert(t, "site.test"), testutil.NewCert(t, "site.test")
	write(first)
	tlsAddr := testutil.FreeAddr(t)
	ta := startApp(t, fmt.Sprintf(tlsStreamConfig, tlsAddr, certFile, keyFile, ln.Addr().String()))
	client := func(c *testutil.Cert) *http.Client {
		return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: c.Pool, ServerName: "site.test"}, DisableCompression: true,
		}}
	}

	const size = 64 << 20
	resp, err := client(first).Get(fmt.Sprintf("https://%s/big?size=%d&seed=7", tlsAddr, size))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, resp.Body, 1<<20); err != nil {
		t.Fatalf("first MiB: %v", err)
	}

	write(second)
	ta.reload(t)
	resp2, err := client(second).Get("https://" + tlsAddr + "/after")
	if err != nil {
		t.Fatalf("new connection after the reload: %v", err)
	}
	resp2.Body.Close()
	if got := resp2.TLS.PeerCertificates[0].SerialNumber; got.Cmp(second.Serial) != 0 {
		t.Fatalf("new connection: certificate %s, want the reloaded one %s", got, second.Serial)
	}
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(first.Serial) != 0 {
		t.Fatalf("download: certificate %s, want the first", got)
	}

	n, err := io.Copy(h, resp.Body)
	if err != nil || n != size-1<<20 {
		t.Fatalf("rest of the download: %d bytes, %v", n, err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), testutil.StreamSum(7, size); got != want {
		t.Fatal("download corrupted across the reload")
	}
}
