package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !regexp.MustCompile(`^shellac \S+ go1\.\d+`).MatchString(out.String()) {
		t.Errorf("version printed %q", out.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Errorf("exit %d; want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Errorf("stderr %q", errb.String())
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte("[server]\nlisten = [\"127.0.0.1:8080\"]\ndefault_director = \"a\"\n\n[backends.a]\naddress = \"127.0.0.1:9001\"\n"), 0o644)
	os.WriteFile(bad, []byte("[server]\nlisten = [\"127.0.0.1:8080\"]\ndefault_director = \"a\"\n\n[backends.a]\naddress = \"127.0.0.1:9001\"\nbogus = 1\n\n[directors.d]\ntype = \"round_robin\"\nmembers = [\"missing\"]\n"), 0o644)

	var out, errb bytes.Buffer
	if code := run([]string{"check", "-config", good}, &out, &errb); code != 0 || strings.TrimSpace(out.String()) != "ok" {
		t.Errorf("check good: exit %d, out %q, err %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"check", "-config", bad}, &out, &errb); code != 1 {
		t.Errorf("check bad: exit %d; want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("check bad printed %q; want one line per error (unknown key and dangling member)", out.String())
	}
	if !strings.HasPrefix(lines[0], bad+":7:") || !strings.Contains(out.String(), "bogus") {
		t.Errorf("first error %q; want %s:7:… naming bogus", lines[0], bad)
	}
	if !strings.Contains(out.String(), bad+":11:") || !strings.Contains(out.String(), "missing") {
		t.Errorf("errors %q; want one at line 11 naming the missing member", out.String())
	}
}

// TestDemo runs `shellac demo` for a moment on a free port: it must print
// the URLs and a self-check that went round robin over the three backends.
func TestDemo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "-listen", addr, "-admin", "", "-duration", "500ms"}, &out, &errb); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "balancer  http://"+addr+"/") {
		t.Errorf("demo output lacks the balancer URL:\n%s", s)
	}
	if !strings.Contains(s, "self-check: 6 requests -> demo1 demo2 demo3 demo1 demo2 demo3") {
		t.Errorf("demo self-check not round robin:\n%s", s)
	}
}
