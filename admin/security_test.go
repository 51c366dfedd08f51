package admin_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// TestAdminSecrets: with a token, a burst of wrong tokens is refused,
// counted in /metrics and logged in one line, not one per request; the
// token appears in no log line, in no answer (/config, /status, errors,
// /metrics), and a body past the limit gets 413.
func TestAdminSecrets(t *testing.T) {
	const secret = "Zq7-very-secret-admin-token-81"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testutil.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	in := startLogged(t, fmt.Sprintf(twoBackends, fmt.Sprintf("token_file = %q\n", tokenFile), backend(t, "a"), backend(t, "b")), log)

	var answers strings.Builder
	const wrong = 50
	for i := 0; i < wrong; i++ {
		in.token = fmt.Sprintf("%s%d", secret[:len(secret)-2], i) // near misses
		code, body, _ := in.do("GET", "/status", "")
		if code != 401 {
			t.Fatalf("wrong token %d: %d; want 401", i, code)
		}
		answers.WriteString(body)
	}
	in.token = secret
	for _, p := range []string{"/config", "/status", "/metrics", "/backends/nope"} {
		_, body, _ := in.do("GET", p, "")
		answers.WriteString(body)
	}
	code, body, _ := in.do("PUT", "/backends/big", `{"address":"`+strings.Repeat("x", 2<<20)+`"}`)
	if code != 413 {
		t.Errorf("a 2 MiB body: %d; want 413", code)
	}
	answers.WriteString(body)
	_, body, _ = in.do("PUT", "/backends/bad", `{"address":`)
	answers.WriteString(body)

	_, metrics, _ := in.do("GET", "/metrics", "")
	if !strings.Contains(metrics, fmt.Sprintf("shellac_admin_auth_failures_total %d", wrong)) {
		t.Errorf("/metrics does not count %d auth failures:\n%s", wrong, grepLines(metrics, "auth"))
	}
	l := logs.String()
	if n := strings.Count(l, "refused requests with a missing or wrong bearer token"); n < 1 || n > 5 {
		t.Errorf("%d log lines for %d refused requests in well under a second; want 1 to 5 (rate-limited)", n, wrong)
	}
	for what, text := range map[string]string{"the log": l, "an answer": answers.String()} {
		if strings.Contains(text, secret) || strings.Contains(text, secret[:12]) {
			t.Errorf("the token appears in %s", what)
		}
	}
	if !strings.Contains(answers.String(), tokenFile) {
		t.Errorf("/config does not name the token file (it should, instead of the token)")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
