package app

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// A binary upgrade (SIGUSR2, as nginx's) starts the executable now at
// this process's path with the same arguments. The new process binds the
// same listeners beside this one (SO_REUSEPORT: the kernel spreads new
// connections over both), restores backend state from server.state_file
// (written here just before), and reports ready on the pipe it is given
// as file descriptor 3 once it serves. Only then does this process stop
// accepting and drain: its accept queues move to the new process's
// sockets where net.ipv4.tcp_migrate_req is 1, it finishes the requests
// in flight and exits. When the new process fails to start, or is not
// ready within upgradeTimeout, it is stopped and this one keeps serving.
const (
	upgradeFDEnv   = "SHELLAC_UPGRADE_FD"
	upgradeTimeout = 60 * time.Second
	upgradeReady   = "ready\n"
)

// errUpgradeUnix: gnet removes a UNIX listener's path when it closes it,
// which would take the new process's socket with it.
var errUpgradeUnix = errors.New("a UNIX listener cannot be shared with a new process; restart instead")

// upgrade starts the new process and waits until it is ready. On success
// it returns the new process's PID; this process should then drain.
func (a *App) upgrade() (int, error) {
	for _, l := range a.Config().Server.Listen {
		if strings.HasPrefix(l, "unix:") {
			return 0, fmt.Errorf("listener %s: %w", l, errUpgradeUnix)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	if a.Config().Server.StateFile == "" {
		a.Log.Warn("upgrade without server.state_file: the new process starts its backends' health from the configuration")
	}
	if err := a.writeState(); err != nil {
		return 0, fmt.Errorf("state file: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), upgradeFDEnv+"=3")
	cmd.ExtraFiles = []*os.File{pw}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return 0, err
	}
	pw.Close()
	pid := cmd.Process.Pid
	a.Log.Info("upgrade: new process started", "pid", pid, "exe", exe)

	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err == nil && line != upgradeReady {
			err = fmt.Errorf("unexpected %q", line)
		}
		ready <- err
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(why error) (int, error) {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("new process %d: %w", pid, why)
	}
	select {
	case err := <-ready:
		if err != nil {
			select {
			case werr := <-exited:
				return 0, fmt.Errorf("new process %d exited: %v", pid, werr)
			case <-time.After(time.Second):
			}
			return fail(fmt.Errorf("no ready report: %v", err))
		}
	case err := <-exited:
		return 0, fmt.Errorf("new process %d exited before it was ready: %v", pid, err)
	case <-time.After(upgradeTimeout):
		return fail(fmt.Errorf("not ready within %v", upgradeTimeout))
	}
	// The new process outlives this one; Wait above reaps it if it exits
	// first. systemd (Type=notify) is told who the main process is now.
	sdNotify("MAINPID=" + strconv.Itoa(pid))
	return pid, nil
}

// reportReady tells the process that started this one in an upgrade that
// this one serves, and systemd that the service is ready.
func reportReady() {
	if fd := os.Getenv(upgradeFDEnv); fd != "" {
		os.Unsetenv(upgradeFDEnv) // a later upgrade gets its own pipe
		if n, err := strconv.Atoi(fd); err == nil {
			f := os.NewFile(uintptr(n), "upgrade-ready")
			_, _ = f.WriteString(upgradeReady)
			f.Close()
		}
	}
	sdNotify("READY=1\nMAINPID=" + strconv.Itoa(os.Getpid()))
}

// sdNotify sends state to systemd's notification socket, when the
// service runs under systemd with one (sd_notify(3)); else it does
// nothing.
func sdNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // an abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}
