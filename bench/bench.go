// Package bench is `shellac bench`, the benchmark harness: it starts fast
// local backends, shellac and every peer proxy it finds on PATH (haproxy,
// nginx, varnishd, caddy), all configured alike, drives them in turn with
// wrk or a built-in load generator, and writes tables, results.json and an
// SVG chart. Everything it starts listens on 127.0.0.1 only, every load
// run ends by itself, and every process it starts is stopped by PID.
package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Main runs `shellac bench` with args (flags only) and returns the exit
// status: 0 on success, 1 when the run failed or was interrupted, 2 on a
// usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.Is(err, errUsagePrinted) {
			fmt.Fprintf(stderr, "shellac bench: %v\n", err)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(o.scale) > 0 {
		if err := runScale(ctx, o, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "shellac bench: %v\n", err)
			return 1
		}
		return 0
	}
	h := &harness{o: o, stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	defer h.cleanup()
	if err := h.run(ctx); err != nil {
		h.clearProgress()
		if ctx.Err() != nil {
			err = errors.New("interrupted")
			if h.wrote {
				err = errors.New("interrupted; partial results written")
			}
		}
		fmt.Fprintf(stderr, "shellac bench: %v\n", err)
		return 1
	}
	return 0
}

// target is one thing the harness loads: a proxy, or the backend itself
// ("direct").
type target struct {
	name    string
	peer    *peer // nil for direct
	bin     string
	params  peerParams
	cfgPath string
	version string
	argv    []string
}

// running is a target up and ready for load.
type running struct {
	t    *target
	p    *proc // nil for direct
	addr string
	// sessions is the ticket cache of a resuming TLS scenario, kept from
	// the warm-up through the measured runs.
	sessions tls.ClientSessionCache
}

// harness is one `shellac bench` invocation.
type harness struct {
	o              *options
	stdout, stderr io.Writer
	tty            bool

	started   time.Time
	proxyCPUs []int
	loadCPUs  []int
	pinNote   string
	fdLimit   int // RLIMIT_NOFILE every child inherits
	exe       string
	wrk       string
	notes     []string        // lines for the report header; guarded by mu
	noted     map[string]bool // keys of noteOnce; guarded by mu

	backends []string
	tls      *tlsFiles // the certificate, when a TLS scenario runs
	beProc   *proc
	beStdin  *os.File
	inproc   *Backends

	targets []*target
	runs    []Run
	reports []ScenarioReport // the tables, once the scenarios ran

	mu    sync.Mutex
	procs map[*proc]bool // started and not yet stopped

	step, steps int
	wrote       bool // results files written
}

func (h *harness) run(ctx context.Context) error {
	h.started = time.Now()
	for _, d := range []string{"", "configs", "logs", "run"} {
		if err := os.MkdirAll(filepath.Join(h.o.out, d), 0o755); err != nil {
			return err
		}
	}
	h.o.out = absPath(h.o.out)
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this executable: %w", err)
	}
	h.exe = exe

	h.proxyCPUs, h.loadCPUs, h.pinNote = cpuPlan(h.o.workers, h.o.pin)
	if h.loadCPUs != nil {
		if err := pinSelf(h.loadCPUs); err != nil {
			h.pinNote += " (pinning the harness failed: " + err.Error() + ")"
		}
		runtime.GOMAXPROCS(len(h.loadCPUs))
	}
	lim, err := raiseNoFile(uint64(2*h.o.idle + 4096))
	if err != nil || lim < uint64(h.o.idle+1024) {
		h.note("open-file limit %d is low for %d idle connections (%v)", lim, h.o.idle, err)
	}
	h.fdLimit = int(lim)
	if h.o.generator != "builtin" {
		if p, err := exec.LookPath("wrk"); err == nil {
			h.wrk = p
		} else if h.o.generator == "wrk" {
			return errors.New("-generator wrk: wrk not found on PATH")
		}
	}

	if err := h.startBackends(ctx); err != nil {
		return err
	}
	if slices.ContainsFunc(h.scenarios(), func(sc *scenario) bool { return sc.tls }) {
		if h.tls, err = writeTLSFiles(filepath.Join(h.o.out, "tls")); err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		h.note("TLS scenarios: every peer gets %s (%s), checked with one connection before its load", tlsPolicy, h.tls.certFile)
	}
	if err := h.setupTargets(ctx); err != nil {
		return err
	}
	if h.wrk != "" {
		for _, sc := range h.scenarios() {
			if !sc.idle {
				_ = os.WriteFile(h.wrkScriptPath(sc), []byte(wrkScript(sc)), 0o644)
			}
		}
	}
	h.printHeader()
	reports, err := h.runScenarios(ctx)
	h.reports = reports
	h.clearProgress()
	if werr := h.writeResults(reports); werr != nil && err == nil {
		err = werr
	}
	return err
}

// scenarios returns the selected scenarios in run order.
func (h *harness) scenarios() []*scenario {
	var out []*scenario
	for _, sc := range scenarios(h.o.depth, h.o.idle) {
		for _, name := range h.o.scenarios {
			if sc.name == name {
				out = append(out, sc)
			}
		}
	}
	return out
}

func (h *harness) wrkScriptPath(sc *scenario) string {
	return filepath.Join(h.o.out, "configs", "wrk-"+sc.name+".lua")
}

// note adds a line to the report header. Takes h.mu.
func (h *harness) note(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notes = append(h.notes, fmt.Sprintf(format, args...))
}

// noteOnce is note, once per key.
func (h *harness) noteOnce(key, format string, args ...any) {
	h.mu.Lock()
	if h.noted[key] {
		h.mu.Unlock()
		return
	}
	if h.noted == nil {
		h.noted = map[string]bool{}
	}
	h.noted[key] = true
	h.mu.Unlock()
	h.note(format, args...)
}

// startBackends starts the backends as `<exe> bench-backend` so they can
// be pinned and measured apart from the harness, and falls back to
// running them inside the harness when this executable has no such
// subcommand.
func (h *harness) startBackends(ctx context.Context) error {
	listen := strings.TrimSuffix(strings.Repeat("127.0.0.1:0,", 2), ",")
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	argv := []string{h.exe, "bench-backend", "-listen", listen, "-loops", fmt.Sprint(h.o.workers), "-exit-on-eof"}
	// One P more than event loops: a loop blocked in epoll_wait holds its
	// P, and with none spare the stdin watcher (or a second loop) would
	// wait for sysmon to take it back, for up to 10 ms.
	env := []string{fmt.Sprintf("GOMAXPROCS=%d", h.o.workers+1)}
	p, err := startProc(procSpec{name: "backends", argv: argv, env: env, logPath: filepath.Join(h.o.out, "logs", "backends.log"),
		stdin: inR, stdout: outW, cpus: h.loadCPUs})
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return err
	}
	h.track(p)
	h.beProc, h.beStdin = p, inW
	addrs, err := readBackendAddrs(outR, 10*time.Second)
	outR.Close()
	if err == nil {
		h.backends = addrs
		return nil
	}
	h.stopProc(p)
	h.beProc = nil
	inW.Close()
	h.beStdin = nil
	bs, ierr := StartBackends(strings.Split(listen, ","), h.o.workers)
	if ierr != nil {
		return fmt.Errorf("backends: %v; in-process fallback: %w", err, ierr)
	}
	h.inproc = bs
	h.backends = bs.Addrs()
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + h.o.workers) // see the GOMAXPROCS note above
	h.note("backends run inside the harness (%s bench-backend failed: %v); add the bench-backend subcommand to main.go", filepath.Base(h.exe), err)
	return nil
}

// readBackendAddrs reads "backend NAME ADDR" lines up to "ready".
func readBackendAddrs(r io.Reader, timeout time.Duration) ([]string, error) {
	type result struct {
		addrs []string
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		var addrs []string
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 1 && f[0] == "ready":
				ch <- result{addrs: addrs}
				return
			case len(f) == 3 && f[0] == "backend":
				addrs = append(addrs, f[2])
			}
		}
		ch <- result{err: errors.New("exited before printing its addresses")}
	}()
	select {
	case res := <-ch:
		if res.err == nil && len(res.addrs) == 0 {
			res.err = errors.New("printed no addresses")
		}
		return res.addrs, res.err
	case <-time.After(timeout):
		return nil, fmt.Errorf("no addresses after %v", timeout)
	}
}

// setupTargets decides the targets, writes their configurations and
// checks them with each proxy's own checker; a peer that is missing or
// rejects its configuration is skipped with a note.
func (h *harness) setupTargets(ctx context.Context) error {
	names := h.o.targets
	explicit := names != nil
	if !explicit {
		names = []string{"direct", "shellac"}
		if !h.o.quick {
			names = append(names, peerNames...)
		}
	}
	if !slices.Contains(names, "direct") {
		names = append([]string{"direct"}, names...) // the ceiling every ratio needs
	}
	all := peers()
	for _, name := range allTargets {
		if !slices.Contains(names, name) {
			continue
		}
		t := &target{name: name}
		if name == "direct" {
			t.params.Backends = h.backends
			t.version = "backend " + h.backends[0]
			h.targets = append(h.targets, t)
			continue
		}
		t.peer = all[name]
		switch {
		case name == "shellac" || name == rulesTarget:
			t.bin = h.o.shellacBin
			if t.bin == "" {
				t.bin = h.exe
			}
		case t.peer.binary == "": // run by this executable (httputil)
			t.bin = h.exe
		default:
			bin, err := exec.LookPath(t.peer.binary)
			if err != nil {
				h.note("skipping %s: %s not found on PATH", name, t.peer.binary)
				continue
			}
			t.bin = bin
		}
		if err := h.configure(ctx, t); err != nil {
			h.note("skipping %s: %v", name, err)
			continue
		}
		h.targets = append(h.targets, t)
		if name == "shellac" && h.o.baselineBin != "" {
			b := &target{name: baselineTarget, peer: t.peer, bin: h.o.baselineBin}
			if err := h.configure(ctx, b); err != nil {
				h.note("skipping %s: %v", b.name, err)
				continue
			}
			h.targets = append(h.targets, b)
		}
	}
	return nil
}

// baselineTarget names the target -baseline-bin adds.
const baselineTarget = "shellac-base"

// configure picks ports, writes t's configuration to the output folder,
// runs the configuration checker and reads the version.
func (h *harness) configure(ctx context.Context, t *target) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	admin, err := freePort()
	if err != nil {
		return err
	}
	t.params = peerParams{
		Listen:    fmt.Sprintf("127.0.0.1:%d", port),
		Backends:  h.backends,
		Workers:   h.o.workers,
		Dir:       filepath.Join(h.o.out, "run", t.name),
		MaxConns:  h.o.idle + 1024,
		FDLimit:   h.fdLimit,
		AdminAddr: fmt.Sprintf("127.0.0.1:%d", admin),
	}
	if h.tls != nil && t.peer.noTLS == "" {
		port, err := freePort()
		if err != nil {
			return err
		}
		t.params.TLS = h.tls.params(fmt.Sprintf("127.0.0.1:%d", port))
	}
	if err := prepareDir(t.peer, t.params); err != nil {
		return err
	}
	file := t.peer.configFile
	if t.name != t.peer.name {
		file = t.name + "-" + file // a second target of the same peer (shellac-base)
	}
	t.cfgPath = filepath.Join(h.o.out, "configs", file)
	if err := os.WriteFile(t.cfgPath, []byte(t.peer.config(t.params)), 0o644); err != nil {
		return err
	}
	t.argv, _ = t.peer.command(t.bin, t.cfgPath, t.params)
	t.version = h.version(ctx, t)
	if argv := t.peer.check(t.bin, t.cfgPath, t.params); argv != nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
		_, env := t.peer.command(t.bin, t.cfgPath, t.params)
		cmd.Env = append(os.Environ(), env...)
		cmd.Dir = t.params.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			err = fmt.Errorf("%s rejects %s: %v: %s", strings.Join(argv, " "), t.cfgPath, err, strings.TrimSpace(lastLines(string(out), 5)))
			if t.name != "shellac" && t.name != rulesTarget && t.name != baselineTarget {
				return err
			}
			// A stand-in given with -shellac-bin may have no check
			// command; starting it will tell.
			h.note("%v", err)
		}
	}
	return nil
}

// version runs the target's version command and returns its first line.
func (h *harness) version(ctx context.Context, t *target) string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(cctx, t.bin, t.peer.version...).CombinedOutput()
	v := strings.TrimSpace(firstLine(string(out)))
	if v == "" {
		return t.bin
	}
	return v
}

// track remembers a started process so cleanup can stop it.
func (h *harness) track(p *proc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.procs == nil {
		h.procs = map[*proc]bool{}
	}
	h.procs[p] = true
}

// stopProc stops p by PID and forgets it.
func (h *harness) stopProc(p *proc) {
	p.stop(3 * time.Second)
	h.mu.Lock()
	delete(h.procs, p)
	h.mu.Unlock()
}

// cleanup stops every process still running, on success, error or
// interrupt alike.
func (h *harness) cleanup() {
	h.mu.Lock()
	var ps []*proc
	for p := range h.procs {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); h.stopProc(p) }()
	}
	wg.Wait()
	if h.beStdin != nil {
		h.beStdin.Close()
	}
	if h.inproc != nil {
		_ = h.inproc.Close()
	}
}

// isTerminal reports whether w is a terminal, where the progress line
// rewrites itself.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress shows what the harness is doing on stderr.
func (h *harness) progress(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if h.tty {
		fmt.Fprintf(h.stderr, "\r\033[K%s", msg)
		return
	}
	fmt.Fprintln(h.stderr, msg)
}

func (h *harness) clearProgress() {
	if h.tty {
		fmt.Fprint(h.stderr, "\r\033[K")
	}
}
