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
