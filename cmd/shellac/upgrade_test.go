package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// upgradeNetnsEnv marks the copy of this test binary running inside the
// network namespace TestZeroDowntimeUpgrade creates.
const upgradeNetnsEnv = "SHELLAC_TEST_UPGRADE_NETNS"

const upgradeConfig = `
[server]
listen = [%q]
default_director = "web"
shutdown_timeout = "10s"
state_file = %q

[admin]
listen = %q

[log]
access = ""

[probes.p]
url = "/"
interval = "200ms"
timeout = "150ms"
window = 8
threshold = 3
initial = 0

[backends.a]
address = %q
probe = "p"

[backends.b]
address = %q
probe = "p"

[backends.c]
address = %q
probe = "p"

[directors.web]
type = "round_robin"
members = ["a", "b", "c"]
`

// TestZeroDowntimeUpgrade replaces a running shellac with a new binary
// (SIGUSR2) under steady keep-alive and new-connection load and asserts
// that no request fails and no connection is reset, and that the new
// process starts with the old one's backend state: its probes begin with
// initial = 0 (every backend sick until three probes pass), so only the
// restored probe windows let it serve at once, and an operator's "sick"
// on c must survive. It runs in a network namespace of its own where
// net.ipv4.tcp_migrate_req is 1, as docs/spec.md asks of a host.
func TestZeroDowntimeUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and loads them for several seconds")
	}
	if os.Getenv(upgradeNetnsEnv) == "" {
		reexecInNetns(t)
		return
	}
	setupNetns(t)
	bin := shellacBinary(t)
	dir := t.TempDir()
	installed := filepath.Join(dir, "shellac")
	install := func() { // a new binary renamed into place, as a package manager does
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		tmp := installed + ".new"
		if err := os.WriteFile(tmp, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, installed); err != nil {
			t.Fatal(err)
		}
	}
	install()

	a, b, c := changeBackend(t, "a"), changeBackend(t, "b"), changeBackend(t, "c")
	listen, adminAddr := testutil.FreeAddr(t), testutil.FreeAddr(t)
	cfgPath := filepath.Join(dir, "shellac.toml")
	statePath := filepath.Join(dir, "state.json")
	text := fmt.Sprintf(upgradeConfig, listen, statePath, adminAddr, a, b, c)
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "shellac.log")
	logf, err := os.Create(logPath) // a file, not a pipe: the new process inherits it and outlives the old
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(installed, "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	oldPID := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	newPID := 0
	defer func() {
		_ = cmd.Process.Kill()
		if newPID > 0 {
			_ = syscall.Kill(newPID, syscall.SIGKILL)
		}
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("shellac log:\n%s", log)
		}
	}()
	if !waitReady(listen, 10*time.Second) || !waitReady(adminAddr, 10*time.Second) { // the admin listener starts after the proxy's
		t.Fatal("shellac did not start")
	}
	admin := &testutil.Client{T: t, Base: "http://" + adminAddr, HTTP: &http.Client{Timeout: 5 * time.Second}}
	status := func() statusDoc {
		var st statusDoc
		if err := json.Unmarshal([]byte(admin.Must(200, "GET", "/status", "")), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	// Wait until a and b are healthy by their probes, then set c sick.
	deadline := time.Now().Add(10 * time.Second)
	for st := status(); st.Backends["a"].Health != "healthy" || st.Backends["b"].Health != "healthy"; st = status() {
		if time.Now().After(deadline) {
			t.Fatalf("backends not healthy: %+v", st.Backends)
		}
		time.Sleep(50 * time.Millisecond)
	}
	admin.Must(200, "POST", "/backends/c/health", `{"state":"sick"}`)

	// Load.
	var total, failed, resets atomic.Int64
	var firstFail atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	worker := func(fresh bool) {
		defer wg.Done()
		tr := &http.Transport{DisableKeepAlives: fresh, MaxIdleConnsPerHost: 1}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			ok, why := getWhole(cl, "http://"+listen+"/x")
			total.Add(1)
			if !ok {
				failed.Add(1)
				firstFail.CompareAndSwap(nil, why)
				if strings.Contains(why, "reset") {
					resets.Add(1)
				}
			}
		}
	}
	for range 3 {
		wg.Add(2)
		go worker(false)
		go worker(true)
	}
	time.Sleep(time.Second)
	before := total.Load()

	install()
	if err := syscall.Kill(oldPID, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("old process: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the old process did not exit within 30s of SIGUSR2")
	}
	st := status()
	newPID = st.Server.PID
	time.Sleep(time.Second) // load on the new process alone
	close(stop)
	wg.Wait()

	if newPID == oldPID || newPID == 0 {
		t.Fatalf("status answered by pid %d after the old one (%d) exited", newPID, oldPID)
	}
	t.Logf("requests %d (%d before the upgrade), failed %d, resets %d; old pid %d, new pid %d",
		total.Load(), before, failed.Load(), resets.Load(), oldPID, newPID)
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed across the upgrade (%d resets); first: %v",
			failed.Load(), total.Load(), resets.Load(), firstFail.Load())
	}
	if total.Load()-before < 100 {
		t.Errorf("only %d requests after the upgrade began", total.Load()-before)
	}
	if got := st.Backends["c"].AdminState; got != "sick" {
		t.Errorf("c's operator override in the new process: %q, want sick", got)
	}
	for _, n := range []string{"a", "b"} {
		if got := st.Backends[n].Health; got != "healthy" {
			t.Errorf("%s in the new process: %q, want healthy (its window restored)", n, got)
		}
	}
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "state restored") || !strings.Contains(string(log), "upgrade: new process ready") {
		t.Errorf("log lacks the restore or the hand-over:\n%s", log)
	}
}

// statusDoc is the part of GET /status this test reads.
type statusDoc struct {
	Server struct {
		PID int `json:"pid"`
	} `json:"server"`
	Backends map[string]struct {
		Health     string `json:"health"`
		AdminState string `json:"admin_state"`
	} `json:"backends"`
}

// reexecInNetns runs this test again in a new network namespace (root
// only; skipped elsewhere).
func reexecInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace of its own (tcp_migrate_req is per namespace)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare(1) not found")
	}
	cmd := exec.Command(unshare, "--net", "--", os.Args[0], "-test.run=^TestZeroDowntimeUpgrade$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), upgradeNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a new network namespace:\n%s", out)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(string(out), "--- SKIP") {
			t.Skip("skipped in the namespace")
		}
		if !strings.Contains(string(out), "=== RUN") {
			t.Skipf("cannot create a network namespace here: %v", err) // unshare itself failed
		}
		t.Fatalf("the test in its namespace failed: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skip("skipped in the namespace")
	}
}

// setupNetns brings up lo and sets net.ipv4.tcp_migrate_req in the
// namespace this process runs in.
func setupNetns(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		t.Fatal(err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		t.Fatalf("lo up: %v", err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/tcp_migrate_req", []byte("1\n"), 0o644); err != nil {
		t.Skipf("net.ipv4.tcp_migrate_req: %v", err)
	}
}
