package testutil

import (
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/certgen"
)

// Cert is a self-signed ECDSA P-256 certificate made for a test.
type Cert struct {
	// CertPEM and KeyPEM are the PEM encodings; CertFile and KeyFile hold
	// them in the test's temporary directory.
	CertPEM, KeyPEM   []byte
	CertFile, KeyFile string
	// TLS is the certificate as crypto/tls uses it; Pool trusts it.
	TLS  tls.Certificate
	Pool *x509.CertPool
	// Serial tells certificates apart.
	Serial *big.Int
}

// NewCert makes a self-signed certificate for names (DNS names, "*."
// wildcards, or IP addresses), valid from an hour ago for a day, and
// writes it to files.
func NewCert(t testing.TB, names ...string) *Cert {
	t.Helper()
	g, err := certgen.New(24*time.Hour, names...)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cert{CertPEM: g.CertPEM, KeyPEM: g.KeyPEM, Serial: g.Leaf.SerialNumber}
	if c.TLS, err = tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		t.Fatal(err)
	}
	c.Pool = x509.NewCertPool()
	c.Pool.AddCert(g.Leaf)
	dir := t.TempDir()
	c.CertFile, c.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(c.CertFile, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.KeyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}
