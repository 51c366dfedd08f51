package config

import (
	"fmt"
	"testing"

	"github.com/shellac-lb/shellac/internal/testutil"
)

func TestBackendTLS(t *testing.T) {
	ca, client := testutil.NewCert(t, "api.internal"), testutil.NewCert(t, "shellac")
	src := fmt.Sprintf(`
[backends.api]
address = "10.0.0.5:443"
tls = true
tls_sni = "api.internal"
tls_ca = %q
tls_cert = %q
tls_key = %q

[backends.plain]
address = "10.0.0.6:80"

[backends.byhost]
address = "10.0.0.7:443"
host_header = "www.example.com:443"
tls = true
tls_verify = false

[directors.web]
type = "round_robin"
members = ["api", "plain", "byhost"]
`, ca.CertFile, client.CertFile, client.KeyFile)
	cfg := mustParse(t, "b.toml", src)
	api, plain, byhost := cfg.Backends["api"], cfg.Backends["plain"], cfg.Backends["byhost"]
	if !api.TLS || !api.TLSVerify || api.TLSSNI != "api.internal" || plain.TLS || plain.TLSVerify || !byhost.TLS || byhost.TLSVerify {
		t.Fatalf("decoded api %+v plain %+v byhost %+v", api, plain, byhost)
	}
	tc, stamp, err := api.TLSClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tc.ServerName != "api.internal" || tc.InsecureSkipVerify || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ClientSessionCache == nil || stamp == "" {
		t.Fatalf("api tls.Config %+v, stamp %q", tc, stamp)
	}
	tc2, stamp2, _ := api.TLSClientConfig()
	if stamp2 != stamp || tc2 == tc {
		t.Fatalf("stamps of the same files differ (%q, %q) or the config is shared", stamp, stamp2)
	}
	if tc, _, _ := byhost.TLSClientConfig(); tc.ServerName != "www.example.com" || !tc.InsecureSkipVerify || tc.RootCAs != nil {
		t.Fatalf("byhost tls.Config: name %q, skip %t", tc.ServerName, tc.InsecureSkipVerify)
	}
	if tc, stamp, err := plain.TLSClientConfig(); tc != nil || stamp != "" || err != nil {
		t.Fatal("a cleartext backend got a TLS config")
	}
	roundTrip(t, "backend tls", cfg)

	// A renewed CA file changes the stamp (a reload rebuilds the backend).
	other := testutil.NewCert(t, "api.internal")
	api.TLSCA = other.CertFile
	if _, s, _ := api.TLSClientConfig(); s == stamp {
		t.Fatal("a different CA file gave the same stamp")
	}
}

func TestBackendTLSErrors(t *testing.T) {
	c := testutil.NewCert(t, "api.internal")
	head := "[backends.a]\naddress = \"127.0.0.1:8443\"\n"
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"key without tls", head + "tls_sni = \"x\"\n", []string{"t.toml:3", "backends.a.tls_sni", "needs tls = true"}},
		{"missing CA", head + "tls = true\ntls_ca = \"/nonexistent/ca.pem\"\n", []string{"t.toml:4", "backends.a.tls_ca", "no such file"}},
		{"CA not PEM", head + fmt.Sprintf("tls = true\ntls_ca = %q\n", c.KeyFile), []string{"t.toml:4", "tls_ca", "no PEM certificate"}},
		{"cert without key", head + fmt.Sprintf("tls = true\ntls_cert = %q\n", c.CertFile), []string{"tls_cert", "both tls_cert and tls_key"}},
		{"key of another cert", head + fmt.Sprintf("tls = true\ntls_cert = %q\ntls_key = %q\n", c.CertFile, testutil.NewCert(t, "x").KeyFile),
			[]string{"t.toml:4", "tls_cert", "private key does not match"}},
		{"unix socket, nothing to verify", "[backends.a]\naddress = \"unix:/run/a.sock\"\ntls = true\n", []string{"tls_verify needs a name", "tls_sni"}},
		{"bad sni", head + "tls = true\ntls_sni = \"a b\"\n", []string{"t.toml:4", `"a b" is not a host name`}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantParseError(t, tc.src, tc.want...) })
	}
}
