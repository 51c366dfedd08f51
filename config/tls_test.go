package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shellac-lb/shellac/internal/testutil"
)

func TestTLSConfig(t *testing.T) {
	a, b := testutil.NewCert(t, "a.test"), testutil.NewCert(t, "*.b.test")
	src := fmt.Sprintf(`
[server]
listen = ["127.0.0.1:8080"]
[[server.tls]]
listen = ["127.0.0.1:8443", "unix:/run/shellac-tls.sock"]
min_version = "1.3"
curves = ["X25519", "P256"]
[[server.tls.certificates]]
cert = %q
key = %q
[[server.tls.certificates]]
cert = %q
key = %q
[limits]
max_tls_handshakes = 64
`, a.CertFile, a.KeyFile, b.CertFile, b.KeyFile)
	cfg := mustParse(t, "tls.toml", src)
	if n := len(cfg.Server.TLS); n != 1 {
		t.Fatalf("%d TLS tables", n)
	}
	tt := cfg.Server.TLS[0]
	if !tt.SessionTickets || tt.MinVersion != "1.3" || len(tt.Certificates) != 2 || cfg.Limits.MaxTLSHandshakes != 64 || cfg.Limits.TLSHandshakeTimeout.Duration != DefaultTLSHandshakeTimeout {
		t.Fatalf("decoded %+v, limits %+v", tt, cfg.Limits)
	}
	tc, err := tt.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Certificates) != 2 || tc.MinVersion != 0x0304 || len(tc.CurvePreferences) != 2 || tc.SessionTicketsDisabled {
		t.Fatalf("tls.Config %+v", tc)
	}
	roundTrip(t, "tls", cfg)

	// A configuration with TLS listeners only.
	mustParse(t, "only.toml", strings.Replace(src, `listen = ["127.0.0.1:8080"]`, `listen = []`, 1))
}

func TestTLSConfigErrors(t *testing.T) {
	a := testutil.NewCert(t, "a.test")
	head := "[server]\nlisten = [\"127.0.0.1:8080\"]\n[[server.tls]]\n"
	cert := fmt.Sprintf("[[server.tls.certificates]]\ncert = %q\nkey = %q\n", a.CertFile, a.KeyFile)
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"missing file", head + "listen = [\"127.0.0.1:8443\"]\n[[server.tls.certificates]]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"\n",
			[]string{"t.toml:5", "certificates[0]", "/nonexistent/c.pem", "no such file"}},
		{"key of another cert", head + "listen = [\"127.0.0.1:8443\"]\n" + fmt.Sprintf("[[server.tls.certificates]]\ncert = %q\nkey = %q\n", a.CertFile, testutil.NewCert(t, "x").KeyFile),
			[]string{"t.toml:5", a.CertFile, "private key does not match"}},
		{"no certificates", head + "listen = [\"127.0.0.1:8443\"]\n", []string{"t.toml:3", "no certificates"}},
		{"bad version", head + "listen = [\"127.0.0.1:8443\"]\nmin_version = \"1.1\"\n" + cert, []string{"t.toml:5", `min_version "1.1"`}},
		{"bad cipher", head + "listen = [\"127.0.0.1:8443\"]\nciphers = [\"TLS_RSA_WITH_RC4_128_SHA\"]\n" + cert, []string{"t.toml:5", "TLS_RSA_WITH_RC4_128_SHA"}},
		{"bad curve", head + "listen = [\"127.0.0.1:8443\"]\ncurves = [\"P224\"]\n" + cert, []string{"t.toml:5", `"P224"`}},
		{"same address twice", head + "listen = [\"127.0.0.1:8080\"]\n" + cert, []string{"t.toml:4", "listed twice"}},
		{"no listen", head + cert, []string{"no address to listen on"}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantParseError(t, tc.src, tc.want...) })
	}
}

// wantParseError parses src as t.toml and fails unless it is refused with
// an error holding every string of want.
func wantParseError(t *testing.T, src string, want ...string) {
	t.Helper()
	_, err := Parse("t.toml", []byte(src))
	if err == nil {
		t.Fatalf("accepted:\n%s", src)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}
