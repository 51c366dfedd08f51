package testutil

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/shellac-lb/shellac/internal/certgen"
)

// The certificate files examples/tls.toml names: what the README's
// `shellac cert -cert /tmp/shellac-cert.pem -key /tmp/shellac-key.pem`
// writes.
const (
	ExampleCertFile = "/tmp/shellac-cert.pem"
	ExampleKeyFile  = "/tmp/shellac-key.pem"
)

// ExampleTOML returns the contents of the example configuration at path.
// When it names ExampleCertFile and ExampleKeyFile, they are replaced by
// files that certgen (the code behind `shellac cert`) writes into the
// test's temporary directory, so the example validates without touching
// /tmp and with the certificate the README tells users to make.
func ExampleTOML(t testing.TB, path string) []byte {
	t.Helper()
	data, _ := ExampleTOMLCert(t, path)
	return data
}

// ExampleTOMLCert is ExampleTOML that also returns the certificate file
// it made for localhost and 127.0.0.1 ("" when the example names none).
func ExampleTOMLCert(t testing.TB, path string) (data []byte, certFile string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	qc, qk := []byte(`"`+ExampleCertFile+`"`), []byte(`"`+ExampleKeyFile+`"`)
	if !bytes.Contains(data, qc) && !bytes.Contains(data, qk) {
		return data, ""
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := certgen.Write(certFile, keyFile, []string{"localhost", "127.0.0.1"}, 1); err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, qc, []byte(`"`+certFile+`"`))
	return bytes.ReplaceAll(data, qk, []byte(`"`+keyFile+`"`)), certFile
}
