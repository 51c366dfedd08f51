package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// build compiles the example into a temporary directory, as a user would.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "customdirector")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// backend starts a loopback HTTP server answering with its name.
func backend(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func writeConfig(t *testing.T, listen, stable, canary string, percent float64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "canary.toml")
	src := fmt.Sprintf(`[server]
listen = [%q]
default_director = "web"
shutdown_timeout = "2s"

[admin]
listen = ""

[log]
access = ""

[backends.stable]
address = %q

[backends.canary]
address = %q

[directors.web]
type = "canary"
members = ["stable", "canary"]
percent = %v
`, listen, stable, canary, percent)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExampleServes builds the example program, runs it on a free port
// with a configuration naming its canary director, and checks the
// requests are split as the director says: with percent = 50, every
// other one goes to the canary.
func TestExampleServes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	bin := build(t)
	listen := testutil.FreeAddr(t)
	cfg := writeConfig(t, listen, backend(t, "stable"), backend(t, "canary"), 50)

	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-config", cfg)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	done := make(chan struct{}) // closed when the program has exited
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("the program's stderr:\n%s", stderr.String())
		}
	})

	c := &http.Client{Timeout: 5 * time.Second}
	var up bool
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if conn, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			conn.Close()
			up = true
			break
		}
	}
	if !up {
		t.Fatalf("the program did not listen on %s", listen)
	}
	got := map[string]int{}
	for i := range 20 {
		resp, err := c.Get("http://" + listen + fmt.Sprintf("/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[string(b)]++
	}
	if got["canary"] != 10 || got["stable"] != 10 {
		t.Errorf("20 requests went %v; want 10 to each (percent = 50)", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("exit after SIGTERM: %v", waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("still running 10s after SIGTERM (pid %d)", cmd.Process.Pid)
	}
}

// TestExampleCheck: the canary type's option is checked when the file is,
// and a bad value is reported at its FILE:LINE:COL.
func TestExampleCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-check", "-config", "canary.toml"}, &out, &errb); code != 0 || out.String() != "ok\n" {
		t.Errorf("canary.toml: exit %d, %q %q", code, out.String(), errb.String())
	}
	cfg := writeConfig(t, "127.0.0.1:8080", "127.0.0.1:9001", "127.0.0.1:9002", 150)
	out.Reset()
	if code := run([]string{"-check", "-config", cfg}, &out, &errb); code != 1 {
		t.Errorf("percent = 150: exit %d; want 1", code)
	}
	if want := cfg + ":21:1: directors.web.percent: 150 is not in 0..100\n"; out.String() != want {
		t.Errorf("percent = 150: printed %q; want %q", out.String(), want)
	}
}
