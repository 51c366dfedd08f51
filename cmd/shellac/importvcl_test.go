package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportVCLThenCheck runs shellac import-vcl on a VCL file and then
// shellac check on what it wrote.
func TestImportVCLThenCheck(t *testing.T) {
	out := filepath.Join(t.TempDir(), "routing.toml")
	vcl := filepath.Join("..", "..", "vclimport", "testdata", "routing.vcl")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"import-vcl", vcl, "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("import-vcl exit %d: %s", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("with -o, stdout %q", stdout.String())
	}
	for _, want := range []string{
		vcl + `:27: } elsif (req.url ~ "\.php$") { — req.url ~ "\.php$": the pattern is not anchored with ^`,
		vcl + `:32: if (req.http.upgrade ~ "(?i)websocket") { … } — pipe: set pipe = true`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"check", "-config", out}, &stdout, &stderr); code != 0 || stdout.String() != "ok\n" {
		t.Fatalf("check exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	toml, _ := os.ReadFile(out)
	if !strings.Contains(string(toml), `host = "*.legacy.example.com"`) {
		t.Errorf("TOML:\n%s", toml)
	}
}

// TestImportVCLStdout: without -o the TOML goes to stdout, flags may
// come first.
func TestImportVCLStdout(t *testing.T) {
	vcl := filepath.Join("..", "..", "vclimport", "testdata", "saintmode.vcl")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"import-vcl", vcl}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "[directors.fb]\ntype = \"fallback\"\nmembers = [\"sm1\", \"sm2\", \"sorry\"]\nsticky = true\n") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	if code := run([]string{"import-vcl", "-o", filepath.Join(t.TempDir(), "x.toml"), vcl}, &stdout, &stderr); code != 0 {
		t.Errorf("flags first: exit %d", code)
	}
}

func TestImportVCLErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.vcl")
	os.WriteFile(bad, []byte("vcl 4.1;\nbackend { .host = \"a\"; }\n"), 0o644)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"import-vcl", bad}, &stdout, &stderr); code != 1 {
		t.Errorf("syntax error: exit %d", code)
	}
	if want := bad + ":2:9: expected a name of the backend"; !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr %q; want %s…", stderr.String(), want)
	}
	stderr.Reset()
	// Valid VCL whose translation shellac refuses: an empty host.
	empty := filepath.Join(dir, "empty.vcl")
	os.WriteFile(empty, []byte("vcl 4.1;\nbackend a { .host = \"\"; }\n"), 0o644)
	if code := run([]string{"import-vcl", empty}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "does not pass shellac check") {
		t.Errorf("invalid result: exit %d, %s", code, stderr.String())
	}
	if code := run([]string{"import-vcl"}, &stdout, &stderr); code != 2 {
		t.Errorf("no file: exit %d", code)
	}
	if code := run([]string{"import-vcl", filepath.Join(dir, "nope.vcl")}, &stdout, &stderr); code != 1 {
		t.Errorf("missing file: exit %d", code)
	}
}
