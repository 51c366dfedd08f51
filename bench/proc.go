package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// proc is a child process the harness started: a backend, a proxy under
// test or wrk. Its output goes to a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has been waited for
	err     error         // Wait's result, valid after done is closed
}

// procSpec says how to start a proc.
type procSpec struct {
	name    string
	argv    []string
	env     []string  // added to the harness's environment
	dir     string    // working directory; "" for the harness's
	logPath string    // stdout and stderr of the process; "" discards them
	cpus    []int     // CPUs to pin the process to; nil leaves it unpinned
	stdin   *os.File  // nil: /dev/null
	stdout  io.Writer // nil: the log file
}

// startProc starts a process as spec says. When spec.cpus is set the
// process is started from an OS thread pinned to those CPUs, so the
// process and everything it starts inherit the CPU set from their first
// instruction (a Go child then also sizes GOMAXPROCS from it).
func startProc(spec procSpec) (*proc, error) {
	cmd := exec.Command(spec.argv[0], spec.argv[1:]...)
	cmd.Env = append(os.Environ(), spec.env...)
	cmd.Dir = spec.dir
	cmd.Stdin = spec.stdin
	// Own process group, so a terminal's Ctrl-C reaches only the harness,
	// which then stops its children in order; and SIGTERM if the harness
	// dies without doing so.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	p := &proc{name: spec.name, cmd: cmd, logPath: spec.logPath, done: make(chan struct{})}
	if spec.logPath != "" {
		f, err := os.OpenFile(spec.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close() // the child has its own copy
		cmd.Stdout, cmd.Stderr = f, f
	}
	if spec.stdout != nil {
		cmd.Stdout = spec.stdout
	}
	var err error
	if len(spec.cpus) > 0 {
		err = startPinned(cmd, spec.cpus)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// startPinned starts cmd from this goroutine's OS thread with the
// thread's CPU affinity set to cpus for the moment of the fork.
func startPinned(cmd *exec.Cmd, cpus []int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return err
	}
	if err := unix.SchedSetaffinity(0, cpuSet(cpus)); err != nil {
		return fmt.Errorf("pinning to CPUs %v: %w", cpus, err)
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		err = fmt.Errorf("restoring CPU affinity: %w", rerr)
	}
	return err
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes the process's exit for an error message: its
// status, the last lines of its log on one line, and the log's path.
func (p *proc) exitError(what string) string {
	tail := ""
	if b, err := os.ReadFile(p.logPath); err == nil && p.logPath != "" {
		if len(b) > 1500 {
			b = b[len(b)-1500:]
		}
		tail = lastLines(string(b), 3)
	}
	return fmt.Sprintf("%s %s (%v): %s [log %s]", p.name, what, p.err, tail, p.logPath)
}

// lastLines returns the last n lines of s joined with " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// stop ends the process: SIGTERM, then SIGKILL after grace. Descendants
// that outlive it (the workers of a killed nginx master, say) are killed
// by PID too, checked against their start time so a recycled PID is left
// alone. Safe to call more than once.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	pid := p.pid()
	kids := descendants(pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
	deadline := time.Now().Add(time.Second)
	for _, k := range kids {
		for time.Now().Before(deadline) && k.alive() {
			time.Sleep(20 * time.Millisecond)
		}
		if k.alive() {
			_ = syscall.Kill(k.pid, syscall.SIGKILL)
		}
	}
}

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) { return freePortOn("127.0.0.1") }

// httpGet sends one GET with Connection: close and returns the status.
func httpGet(ctx context.Context, addr, path string, timeout time.Duration) (int, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr); err != nil {
		return 0, err
	}
	var rr respReader
	rr.reset(c)
	status, _, err := rr.readResponse()
	return status, err
}

// waitReady waits until addr answers GET /1k with 200, or p exits, or
// timeout passes.
func waitReady(ctx context.Context, addr string, p *proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if p != nil && p.exited() {
			return errors.New(p.exitError("exited"))
		}
		status, err := httpGet(ctx, addr, path1K, time.Second)
		if err == nil && status == 200 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("status %d", status)
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("%s on %s not ready after %v: %v", p.nameOr("target"), addr, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *proc) nameOr(def string) string {
	if p == nil {
		return def
	}
	return p.name
}

// absPath makes path absolute (peers run with other working directories).
func absPath(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}
