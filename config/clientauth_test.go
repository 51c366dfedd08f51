package config

import (
	"crypto/tls"
	"fmt"
	"testing"

	"github.com/shellac-lb/shellac/internal/testutil"
)

func TestTLSClientAuth(t *testing.T) {
	site, ca := testutil.NewCert(t, "a.test"), testutil.NewCert(t, "clients")
	head := "[server]\nlisten = [\"127.0.0.1:8080\"]\n[[server.tls]]\nlisten = [\"127.0.0.1:8443\"]\n"
	cert := fmt.Sprintf("[[server.tls.certificates]]\ncert = %q\nkey = %q\n", site.CertFile, site.KeyFile)

	cfg := mustParse(t, "ok.toml", head+fmt.Sprintf("client_auth = \"require\"\nclient_ca = %q\n", ca.CertFile)+cert)
	tc, err := cfg.Server.TLS[0].TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tc.ClientAuth != tls.RequireAndVerifyClientCert || tc.ClientCAs == nil {
		t.Fatalf("client auth %v, CAs %v", tc.ClientAuth, tc.ClientCAs)
	}
	roundTrip(t, "client auth", cfg)
	plain := mustParse(t, "plain.toml", head+cert)
	if plain.Server.TLS[0].ClientAuth != "none" {
		t.Fatalf("default client_auth %q, want none", plain.Server.TLS[0].ClientAuth)
	}
	if tc, _ := plain.Server.TLS[0].TLSConfig(); tc.ClientAuth != tls.NoClientCert {
		t.Fatal("client certificates asked for by default")
	}

	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"unknown mode", head + "client_auth = \"optional\"\n" + cert, []string{"t.toml:5", `client_auth "optional"`}},
		{"no CA", head + "client_auth = \"request\"\n" + cert, []string{"t.toml:5", "needs client_ca"}},
		{"CA without mode", head + fmt.Sprintf("client_ca = %q\n", ca.CertFile) + cert, []string{"t.toml:5", "client_ca without client_auth"}},
		{"missing CA file", head + "client_auth = \"require\"\nclient_ca = \"/nonexistent/ca.pem\"\n" + cert, []string{"t.toml:6", "no such file"}},
		{"CA not PEM", head + fmt.Sprintf("client_auth = \"require\"\nclient_ca = %q\n", site.KeyFile) + cert, []string{"t.toml:6", "no PEM certificate"}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantParseError(t, tc.src, tc.want...) })
	}
}
