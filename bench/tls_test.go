package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestPeerTLSConfigs: every TLS-capable peer's configuration carries the
// TLS listener and the policy (TLS 1.3, TLS_AES_128_GCM_SHA256, X25519)
// with the harness's certificate files, and, when the peer is installed,
// its own checker accepts it with those files; the others say why not.
func TestPeerTLSConfigs(t *testing.T) {
	files, err := writeTLSFiles(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(files.certFile, files.keyFile); err != nil {
		t.Fatalf("the harness's certificate does not load: %v", err)
	}
	want := map[string][]string{
		"shellac": {"[[server.tls]]", `listen = ["127.0.0.1:18443"]`, `min_version = "1.3"`, `curves = ["X25519"]`, files.certFile, files.keyFile},
		"haproxy": {"ssl-min-ver TLSv1.3", "ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256", "X25519", "bind 127.0.0.1:18443 ssl crt " + files.combined},
		"nginx":   {"ssl_protocols TLSv1.3;", "ssl_ecdh_curve X25519;", "Ciphersuites TLS_AES_128_GCM_SHA256", "18443", files.certFile},
		"caddy":   {"protocols tls1.3", "x25519", files.certFile, files.keyFile, "18443"},
	}
	for name, pr := range peers() {
		t.Run(name, func(t *testing.T) {
			if pr.noTLS != "" {
				if _, ok := want[name]; ok {
					t.Fatalf("%s is skipped in TLS scenarios: %s", name, pr.noTLS)
				}
				return
			}
			p := testParams(t)
			p.TLS = files.params("127.0.0.1:18443")
			text := pr.config(p)
			for _, w := range want[name] {
				if !strings.Contains(text, w) {
					t.Errorf("%s TLS config lacks %q:\n%s", name, w, text)
				}
			}
			if name == "shellac" {
				return
			}
			peerAccepts(t, pr, p, text)
		})
	}
}

// TestCheckTLSPolicy: the policy check passes a server held to the
// policy and refuses one that negotiates anything else (Go's default
// key exchange is X25519MLKEM768).
func TestCheckTLSPolicy(t *testing.T) {
	files, err := writeTLSFiles(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(files.certFile, files.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(cfg *tls.Config) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })}
		go func() { _ = srv.Serve(tls.NewListener(ln, cfg)) }()
		t.Cleanup(func() { _ = srv.Close() })
		return ln.Addr().String()
	}
	held := serve(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}})
	if _, err := checkTLSPolicy(context.Background(), held, files.pool); err != nil {
		t.Fatalf("a server held to the policy: %v", err)
	}
	loose := serve(&tls.Config{Certificates: []tls.Certificate{cert}})
	if _, err := checkTLSPolicy(context.Background(), loose, files.pool); err == nil || !strings.Contains(err.Error(), "want TLS 1.3") {
		t.Fatalf("a server with Go's defaults passed the policy check: %v", err)
	}
}
