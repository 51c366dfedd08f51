package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// process is a shellac process started by a test.
type process struct {
	listen, admin string
	cmd           *exec.Cmd
	stderr        *bytes.Buffer
}

// startShellac writes cfg (with {LISTEN} and {ADMIN} replaced by free
// addresses) and runs the shellac binary on it until the test ends.
func startShellac(t *testing.T, cfg string) *process {
	t.Helper()
	p := &process{listen: testutil.FreeAddr(t), admin: testutil.FreeAddr(t), stderr: &bytes.Buffer{}}
	cfg = strings.NewReplacer("{LISTEN}", p.listen, "{ADMIN}", p.admin).Replace(cfg)
	path := filepath.Join(t.TempDir(), "shellac.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(shellacBinary(t), "-config", path)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	if !waitReady(p.listen, 10*time.Second) || !waitReady(p.admin, 10*time.Second) {
		t.Fatalf("shellac did not start: %s", p.stderr.String())
	}
	return p
}

// nameBackend answers every request with its name.
func nameBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-For", r.Header.Get("X-Forwarded-For"))
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

const agreeConfig = `
[server]
listen = ["{LISTEN}"]
default_director = "cache"

[admin]
listen = "{ADMIN}"

[log]
access = ""
%s
[directors.cache]
type = "shard"
members = [%s]
idents = { b1 = "alpha", b2 = "beta", b3 = "gamma", b4 = "delta", b5 = "epsilon" }
by = "url"
`

// agreeKeys is how many keys each instance is asked to map.
const agreeKeys = 10000

// mapKeys sends agreeKeys requests through p and returns the backend that
// answered each.
func mapKeys(t *testing.T, p *process) []string {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer cl.CloseIdleConnections()
	out := make([]string, agreeKeys)
	for i := range out {
		resp, err := cl.Get(fmt.Sprintf("http://%s/object/%d", p.listen, i))
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("key %d: %d %q %v", i, resp.StatusCode, b, err)
		}
		out[i] = string(b)
	}
	return out
}

// TestInstancesAgree is the point of stateless persistence: three real
// shellac processes given the same shard members in different orders map
// every one of 10,000 keys to the same backend — all healthy, with one
// backend set sick on each of them (only its keys move), and again once
// it is back (every key returns to where it was).
func TestInstancesAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	names := []string{"b1", "b2", "b3", "b4", "b5"}
	var backends strings.Builder
	for _, n := range names {
		fmt.Fprintf(&backends, "\n[backends.%s]\naddress = %q\n", n, nameBackend(t, n))
	}
	orders := [][]string{
		{"b1", "b2", "b3", "b4", "b5"},
		{"b5", "b4", "b3", "b2", "b1"},
		{"b3", "b1", "b5", "b2", "b4"},
	}
	var procs []*process
	for _, o := range orders {
		procs = append(procs, startShellac(t, fmt.Sprintf(agreeConfig, backends.String(), `"`+strings.Join(o, `", "`)+`"`)))
	}
	round := func(what string) [][]string {
		var maps [][]string
		for _, p := range procs {
			maps = append(maps, mapKeys(t, p))
		}
		for i, m := range maps[1:] {
			diff := 0
			for k := range m {
				if m[k] != maps[0][k] {
					diff++
				}
			}
			if diff > 0 {
				t.Errorf("%s: instance %d maps %d of %d keys differently from instance 0", what, i+1, diff, agreeKeys)
			}
		}
		return maps
	}
	healthy := round("all healthy")
	share := map[string]int{}
	for _, b := range healthy[0] {
		share[b]++
	}
	t.Logf("keys per backend, all healthy: %v", share)

	health := func(state string) {
		for _, p := range procs {
			c := &testutil.Client{T: t, Base: "http://" + p.admin, HTTP: &http.Client{Timeout: 5 * time.Second}}
			if code, body, _ := c.Do("POST", "/backends/b3/health", `{"state":"`+state+`"}`); code != 200 {
				t.Fatalf("set b3 %s: %d %s", state, code, body)
			}
		}
	}
	health("sick")
	sick := round("b3 sick")
	moved := 0
	for k := range sick[0] {
		switch {
		case sick[0][k] == "b3":
			t.Fatalf("key %d went to b3 while it was sick", k)
		case healthy[0][k] != "b3" && sick[0][k] != healthy[0][k]:
			t.Errorf("key %d moved from %s to %s though its backend stayed healthy", k, healthy[0][k], sick[0][k])
		case healthy[0][k] == "b3":
			moved++
		}
	}
	t.Logf("b3 sick: %d of %d keys moved (%.1f%%), all of them b3's", moved, agreeKeys, 100*float64(moved)/agreeKeys)

	health("auto")
	back := round("b3 back")
	for k := range back[0] {
		if back[0][k] != healthy[0][k] {
			t.Fatalf("key %d maps to %s after b3 came back; it was %s", k, back[0][k], healthy[0][k])
		}
	}
}
