package certgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		hosts []string
		days  int
		dns   []string
		ips   []string
	}{
		{[]string{"localhost", "127.0.0.1"}, 30, []string{"localhost"}, []string{"127.0.0.1"}},
		{[]string{"example.test", "*.example.test", "::1", "10.0.0.1"}, 1, []string{"example.test", "*.example.test"}, []string{"::1", "10.0.0.1"}},
		{[]string{" spaced.test "}, 365, []string{"spaced.test"}, nil},
	} {
		t.Run(tc.hosts[0], func(t *testing.T) {
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
			if err := Write(certFile, keyFile, tc.hosts, tc.days); err != nil {
				t.Fatal(err)
			}
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatalf("LoadX509KeyPair: %v", err)
			}
			leaf := pair.Leaf
			if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || leaf.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P256() {
				t.Errorf("public key %T, want ECDSA P-256", leaf.PublicKey)
			}
			if !slices.Equal(leaf.DNSNames, tc.dns) {
				t.Errorf("DNS SANs %q, want %q", leaf.DNSNames, tc.dns)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tc.ips) {
				t.Errorf("IP SANs %q, want %q", ips, tc.ips)
			}
			if leaf.IsCA {
				t.Error("the certificate is a CA")
			}
			if got, want := leaf.NotAfter.Sub(time.Now()), time.Duration(tc.days)*24*time.Hour; got > want || got < want-time.Minute {
				t.Errorf("valid for %v more, want %v", got, want)
			}
			// Trusted as itself, it verifies for every name it was made for.
			roots := x509.NewCertPool()
			roots.AddCert(leaf)
			for _, h := range append(tc.dns, tc.ips...) {
				if h[0] == '*' {
					h = "www" + h[1:]
				}
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots}); err != nil {
					t.Errorf("verify for %s: %v", h, err)
				}
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: roots}); err == nil {
				t.Error("verified for a name it was not made for")
			}
			for file, mode := range map[string]os.FileMode{keyFile: 0o600, certFile: 0o644} {
				st, err := os.Stat(file)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != mode {
					t.Errorf("%s: mode %v, want %v", filepath.Base(file), st.Mode().Perm(), mode)
				}
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}

// An existing key file readable by others becomes 0600 when overwritten,
// and a second certificate differs from the first.
func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(keyFile, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(certFile, keyFile, []string{"a.test"}, 1); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(keyFile)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
	first, _ := tls.LoadX509KeyPair(certFile, keyFile)
	if err := Write(certFile, keyFile, []string{"a.test"}, 1); err != nil {
		t.Fatal(err)
	}
	second, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if first.Leaf.SerialNumber.Cmp(second.Leaf.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
}

func TestGenerateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hosts []string
		days  int
	}{
		{"no hosts", nil, 30},
		{"empty host", []string{"a.test", ""}, 30},
		{"zero days", []string{"a.test"}, 0},
	} {
		if _, _, err := Generate(tc.hosts, tc.days); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if err := Write(filepath.Join(t.TempDir(), "missing", "c.pem"), filepath.Join(t.TempDir(), "k.pem"), []string{"a.test"}, 1); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
}
