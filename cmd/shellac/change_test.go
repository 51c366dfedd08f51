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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shellac-lb/shellac/internal/testutil"
)

// buildShellac builds this command into a temporary folder, once per test
// binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func shellacBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shellac-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "shellac")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// changeBackend answers every request with its name padded to a known
// length (so truncation shows), after delay for /slow.
func changeBackend(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	body := name + strings.Repeat(".", 4096-len(name))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(1500 * time.Millisecond)
		}
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

const changeConfig = `
[server]
listen = [%q]
default_director = "web"
shutdown_timeout = "10s"

[admin]
listen = %q

[log]
access = ""

[backends.a]
address = %q

[backends.b]
address = %q
%s
[directors.web]
type = "random"
members = [%s]
weights = { a = %s }
`

// TestNothingLostUnderChange runs a real shellac process under steady
// keep-alive and new-connection load while its configuration changes
// every half second — SIGHUP, POST /reload of a changed file, backends
// added and removed and members changed through the admin API — then
// stops it with SIGTERM while slow requests are in flight. Every request
// started before the SIGTERM must get a whole 200; the slow ones must
// finish; the process must exit 0.
func TestNothingLostUnderChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process and loads it for several seconds")
	}
	bin := shellacBinary(t)
	a, b, c := changeBackend(t, "a"), changeBackend(t, "b"), changeBackend(t, "c")
	listen, adminAddr := testutil.FreeAddr(t), testutil.FreeAddr(t)
	path := filepath.Join(t.TempDir(), "shellac.toml")
	write := func(withC bool, weight string) {
		extra, members := "", `"a", "b"`
		if withC {
			extra, members = fmt.Sprintf("\n[backends.c]\naddress = %q\n", c), `"a", "b", "c"`
		}
		text := fmt.Sprintf(changeConfig, listen, adminAddr, a, b, extra, members, weight)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(false, "1.0")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-config", path)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); exited <- waitErr; close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	if !waitReady(listen, 10*time.Second) || !waitReady(adminAddr, 10*time.Second) { // the admin listener starts after the proxy's
		t.Fatalf("shellac did not start: %s", stderr.String())
	}
	admin := &testutil.Client{T: t, Base: "http://" + adminAddr, HTTP: &http.Client{Timeout: 10 * time.Second}}

	// Load: keep-alive and new-connection workers.
	var sigterm atomic.Int64 // Unix nanos of the SIGTERM; 0 before
	var total, lost atomic.Int64
	var firstLost atomic.Value
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
			start := time.Now().UnixNano()
			ok, why := getWhole(cl, "http://"+listen+"/x")
			if st := sigterm.Load(); st != 0 && start >= st {
				return // started after the SIGTERM: no longer counted
			}
			total.Add(1)
			if !ok {
				lost.Add(1)
				firstLost.CompareAndSwap(nil, why)
			}
		}
	}
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go worker(false)
		go worker(true)
	}

	// Changes, every half second for about six seconds.
	changes := []func(){
		func() { write(false, "2.0"); _ = cmd.Process.Signal(syscall.SIGHUP) },
		func() { admin.Must(201, "PUT", "/backends/c", fmt.Sprintf(`{"address":%q}`, c)) },
		func() { admin.Must(200, "PUT", "/directors/web/members/c", `{"weight":2}`) },
		func() { admin.Must(200, "DELETE", "/directors/web/members/b", "") },
		func() { admin.Must(200, "PUT", "/directors/web/members/b", "") },
		func() { write(true, "3.0"); admin.Must(200, "POST", "/reload", "") },
		func() { admin.Must(200, "DELETE", "/directors/web/members/c", "") },
		func() { admin.Must(200, "DELETE", "/backends/c", "") },
		func() { write(false, "1.0"); _ = cmd.Process.Signal(syscall.SIGHUP) },
		func() { write(true, "1.5"); admin.Must(200, "POST", "/reload", "") },
		func() { admin.Must(200, "PUT", "/directors/web/members/a", `{"weight":4}`) },
		func() { write(false, "1.0"); _ = cmd.Process.Signal(syscall.SIGHUP) },
	}
	for _, ch := range changes {
		time.Sleep(500 * time.Millisecond)
		ch()
	}
	time.Sleep(300 * time.Millisecond)

	// SIGTERM with slow requests in flight.
	slow := make(chan string, 5)
	for i := 0; i < 5; i++ {
		go func() {
			cl := &http.Client{Timeout: 10 * time.Second}
			if ok, why := getWhole(cl, "http://"+listen+"/slow"); !ok {
				slow <- why
				return
			}
			slow <- ""
		}()
	}
	time.Sleep(300 * time.Millisecond) // the slow requests are at the backends
	sigterm.Store(time.Now().UnixNano())
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if why := <-slow; why != "" {
			t.Errorf("slow request in flight at SIGTERM: %s", why)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("shellac exited with %v after SIGTERM; want 0\n%s", err, stderr.String())
		}
	case <-time.After(12 * time.Second):
		t.Errorf("shellac did not exit within its shutdown_timeout after SIGTERM")
	}
	t.Logf("%d requests started before the SIGTERM, %d lost, across %d configuration changes", total.Load(), lost.Load(), len(changes))
	if lost.Load() > 0 {
		t.Errorf("%d of %d requests failed or were truncated (first: %v)", lost.Load(), total.Load(), firstLost.Load())
	}
	if total.Load() < 100 {
		t.Errorf("only %d requests: the load did not run", total.Load())
	}
}

// getWhole reports whether a GET got a 200 with a whole 4 KiB body.
func getWhole(cl *http.Client, url string) (bool, string) {
	resp, err := cl.Get(url)
	if err != nil {
		return false, err.Error()
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return false, "body: " + err.Error()
	case resp.StatusCode != 200:
		return false, fmt.Sprintf("status %d: %.60s", resp.StatusCode, body)
	case len(body) != 4096:
		return false, fmt.Sprintf("truncated: %d of 4096 bytes", len(body))
	}
	return true, ""
}

func waitReady(addr string, d time.Duration) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
