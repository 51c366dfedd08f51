package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// Curl runs curl with args (bounded to 60 seconds; -sS added) and
// returns what it wrote to standard output; a failure carries its
// standard error. The test is skipped when curl is not installed.
func Curl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, _, err := CurlVerbose(t, args...)
	return out, err
}

// CurlVerbose is Curl that also returns curl's standard error (with -v in
// args, the handshake's facts: "SSL connection using TLSv1.3 / ...").
func CurlVerbose(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, path, append([]string{"-sS", "--max-time", "50"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), errb.String(), fmt.Errorf("curl %q: %v: %s", args, err, errb.String())
	}
	return out.String(), errb.String(), nil
}

// CurlTLS is a TLS version curl is told to use: its arguments, and what
// curl -v then says on standard error.
type CurlTLS struct {
	Name string
	Args []string
	Says string
}

// CurlTLSVersions returns TLS 1.3 (curl's first suite) and TLS 1.2 with
// cipher12, an ECDHE suite by its OpenSSL name.
func CurlTLSVersions(cipher12 string) []CurlTLS {
	return []CurlTLS{
		{"TLS 1.3", nil, "SSL connection using TLSv1.3 / TLS_AES_128_GCM_SHA256"},
		{"TLS 1.2", []string{"--tlsv1.2", "--tls-max", "1.2", "--ciphers", cipher12}, "SSL connection using TLSv1.2 / " + cipher12},
	}
}
