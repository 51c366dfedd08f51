package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shellac-lb/shellac/directors"
	"github.com/shellac-lb/shellac/directors/contrib"
)

// A director type registered by the program, as a Go program embedding
// shellac would: its factory checks its one option.
func init() {
	directors.Register("cmd_test_limited", func(name string, o *directors.Options) (directors.Cluster, error) {
		limit, err := o.Int("limit", 1)
		if err == nil && limit < 1 {
			err = o.Errorf("limit", "must be ≥ 1, got %d", limit)
		}
		return contrib.NewLeastConn(name), err
	})
}

// TestCheckRegisteredTypes: `shellac check` accepts the built-in
// registered types and reports a registered type's bad options at their
// FILE:LINE:COL, as it does for any key.
func TestCheckRegisteredTypes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	const head = "[server]\nlisten = [\"127.0.0.1:8080\"]\ndefault_director = \"d\"\n\n[backends.a]\naddress = \"127.0.0.1:9001\"\n\n"
	os.WriteFile(good, []byte(head+"[directors.d]\ntype = \"p2c\"\nmembers = [\"a\"]\n\n[directors.e]\ntype = \"cmd_test_limited\"\nmembers = [\"d\"]\nlimit = 4\n"), 0o644)
	os.WriteFile(bad, []byte(head+"[directors.d]\ntype = \"least_conn\"\nmembers = [\"a\"]\nsticky = true\n\n[directors.e]\ntype = \"cmd_test_limited\"\nmembers = [\"d\"]\nlimit = 0\n"), 0o644)

	var out, errb bytes.Buffer
	if code := run([]string{"check", "-config", good}, &out, &errb); code != 0 || strings.TrimSpace(out.String()) != "ok" {
		t.Errorf("check good: exit %d, out %q, err %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"check", "-config", bad}, &out, &errb); code != 1 {
		t.Errorf("check bad: exit %d; want 1", code)
	}
	want := bad + ":11:1: directors.d: sticky is not an option of least_conn directors\n" +
		bad + ":16:1: directors.e.limit: must be ≥ 1, got 0\n"
	if out.String() != want {
		t.Errorf("check bad printed\n%s\nwant\n%s", out.String(), want)
	}
}
