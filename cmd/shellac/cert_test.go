package main

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shellac-lb/shellac/internal/testutil"
)

func TestCertCommand(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		dns  []string
		ips  []string
	}{
		{"defaults", nil, 0, []string{"localhost"}, []string{"127.0.0.1", "::1"}},
		{"hosts", []string{"-hosts", "example.test, *.example.test,192.0.2.1", "-days", "2"}, 0, []string{"example.test", "*.example.test"}, []string{"192.0.2.1"}},
		{"zero days", []string{"-days", "0"}, 1, nil, nil},
		{"empty host", []string{"-hosts", "a.test,,b.test"}, 1, nil, nil},
		{"unknown flag", []string{"-bits", "4096"}, 2, nil, nil},
		{"argument", []string{"extra"}, 2, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certFile, keyFile := filepath.Join(dir, tc.name+".crt"), filepath.Join(dir, tc.name+".key")
			var out, errb bytes.Buffer
			code := run(append([]string{"cert", "-cert", certFile, "-key", keyFile}, tc.args...), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			if code != 0 {
				if _, err := os.Stat(certFile); err == nil {
					t.Error("a certificate was written by a failed run")
				}
				return
			}
			if !strings.Contains(out.String(), "curl --cacert "+certFile) {
				t.Errorf("stdout %q does not say how to trust it", out.String())
			}
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			var ips []string
			for _, ip := range pair.Leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(pair.Leaf.DNSNames, tc.dns) || !slices.Equal(ips, tc.ips) {
				t.Errorf("SANs %q %q, want %q %q", pair.Leaf.DNSNames, ips, tc.dns, tc.ips)
			}
			if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("key file: %v, mode %v; want 0600", err, st.Mode().Perm())
			}
		})
	}
}

// TestReadmeHTTPSExample runs the README's first example as written, with
// the certificate files moved to a temporary directory: the `shellac
// cert` line makes files that `shellac check` accepts in examples/tls.toml,
// and the run and curl lines name that file and that certificate.
func TestReadmeHTTPSExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "\n## Running with a configuration\n")
	_, block, _ := strings.Cut(section, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if len(lines) < 3 {
		t.Fatalf("the first example of \"Running with a configuration\" is %q", block)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	moved := strings.NewReplacer(testutil.ExampleCertFile, certFile, testutil.ExampleKeyFile, keyFile)
	certArgs, ok := strings.CutPrefix(lines[0], "go run ./cmd/shellac ")
	if !ok || !strings.HasPrefix(certArgs, "cert ") {
		t.Fatalf("first line %q is not `go run ./cmd/shellac cert ...`", lines[0])
	}
	var out, errb bytes.Buffer
	if code := run(strings.Fields(moved.Replace(certArgs)), &out, &errb); code != 0 {
		t.Fatalf("%s: exit %d: %s", lines[0], code, errb.String())
	}
	if lines[1] != "go run ./cmd/shellac -config examples/tls.toml" {
		t.Fatalf("second line %q", lines[1])
	}
	if !strings.HasPrefix(lines[2], "curl --cacert "+testutil.ExampleCertFile+" https://localhost:8443/") {
		t.Fatalf("third line %q", lines[2])
	}
	src, err := os.ReadFile("../../examples/tls.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `"127.0.0.1:8443"`) {
		t.Error("examples/tls.toml does not listen on 127.0.0.1:8443")
	}
	cfgFile := filepath.Join(dir, "tls.toml")
	if err := os.WriteFile(cfgFile, []byte(moved.Replace(string(src))), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"check", "-config", cfgFile}, &out, &errb); code != 0 || strings.TrimSpace(out.String()) != "ok" {
		t.Fatalf("check examples/tls.toml with the README's certificate: exit %d, %q %q", code, out.String(), errb.String())
	}
}
