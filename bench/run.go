package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// runScenarios runs every selected scenario and returns their tables. It
// returns early, with what it has, when ctx is cancelled.
func (h *harness) runScenarios(ctx context.Context) ([]ScenarioReport, error) {
	scs := h.scenarios()
	for _, sc := range scs {
		ts, _ := h.scenarioTargets(sc)
		for _, t := range ts {
			if !sc.idle || t.peer != nil {
				h.steps += h.o.repeat
			}
		}
	}
	var reports []ScenarioReport
	var names []string
	for _, t := range h.targets {
		names = append(names, t.name)
	}
	for _, sc := range scs {
		var err error
		if sc.idle {
			err = h.runIdle(ctx, sc)
		} else {
			err = h.runLoadScenario(ctx, sc)
		}
		rep := summarize(sc, names, h.runs)
		_, rep.Skipped = h.scenarioTargets(sc)
		reports = append(reports, rep)
		if err != nil {
			return reports, err
		}
	}
	return reports, ctx.Err()
}

// scenarioTargets returns the targets sc runs on, and for the TLS
// scenarios, why each of the others does not.
func (h *harness) scenarioTargets(sc *scenario) (ts []*target, skipped []string) {
	for _, t := range h.targets {
		switch {
		case !sc.tls:
		case t.peer == nil:
			skipped = append(skipped, t.name+": the backends speak cleartext only")
			continue
		case t.params.TLS == nil:
			why := t.peer.noTLS
			if why == "" {
				why = "no TLS listener configured"
			}
			skipped = append(skipped, t.name+": "+why)
			continue
		}
		ts = append(ts, t)
	}
	return ts, skipped
}

// runLoadScenario starts every target, warms each up, then measures them
// interleaved (A B C A B C …) repeat times, and stops them.
func (h *harness) runLoadScenario(ctx context.Context, sc *scenario) error {
	h.progress("[%s] starting %d targets", sc.name, len(h.targets))
	var reps []int
	for rep := 1; rep <= h.o.repeat; rep++ {
		reps = append(reps, rep)
	}
	targets, _ := h.scenarioTargets(sc)
	live := h.startTargets(ctx, sc, targets, reps)
	defer h.stopTargets(live)
	for _, t := range targets {
		rt := live[t.name]
		if rt == nil || (rt.p != nil && rt.p.exited()) {
			continue
		}
		h.progress("[%s] warming up %s", sc.name, rt.t.name)
		if _, _, err := h.load(ctx, sc, rt, h.o.warmup, true); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for rep := 1; rep <= h.o.repeat; rep++ {
		for _, t := range targets {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rt := live[t.name]
			if rt == nil {
				continue // failed to start; the error run is recorded
			}
			h.step++
			h.progress("[%2d/%d] %-8s %-8s run %d/%d  %v…", h.step, h.steps, sc.name, t.name, rep, h.o.repeat, h.o.duration)
			r := h.measure(ctx, sc, rt, rep)
			h.runs = append(h.runs, r)
			h.reportRun(r)
		}
	}
	return nil
}

// reportRun shows one finished run on the progress line.
func (h *harness) reportRun(r Run) {
	if r.Err != "" {
		h.progress("[%2d/%d] %-8s %-8s run %d: failed: %s", h.step, h.steps, r.Scenario, r.Target, r.Repeat, firstLine(r.Err))
		if h.tty {
			fmt.Fprintln(h.stderr)
		}
		return
	}
	if r.IdleConns > 0 || r.Scenario == "idle" {
		h.progress("[%2d/%d] %-8s %-8s run %d: %d conns, %s/conn, still open %s", h.step, h.steps, r.Scenario, r.Target, r.Repeat,
			r.IdleConns, fmtBytes(r.BytesPerConn), r.StillOpen)
		return
	}
	cpu := ""
	if r.CPUSeconds > 0 {
		cpu = fmt.Sprintf("  proxy CPU %.0f%% (%.1f µs/req)", r.ProxyCPUPct, r.CPUPerReqUS)
	}
	h.progress("[%2d/%d] %-8s %-8s run %d: %s req/s  p99 %s%s  load CPU %.0f%%", h.step, h.steps, r.Scenario, r.Target, r.Repeat,
		fmtRate(r.ReqPerSec), fmtLatency(r.P99us), cpu, r.LoadCPUPct)
}

// startTargets starts ts concurrently and waits until each answers. A
// target that fails gets an error run for each of reps, which count as
// done steps.
func (h *harness) startTargets(ctx context.Context, sc *scenario, ts []*target, reps []int) map[string]*running {
	live := map[string]*running{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt, err := h.startTarget(ctx, sc, t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				for _, rep := range reps {
					r := Run{Scenario: sc.name, Target: t.name, Repeat: rep, Err: err.Error()}
					h.runs = append(h.runs, r)
					h.step++
					h.reportRun(r)
				}
				return
			}
			live[t.name] = rt
		}()
	}
	wg.Wait()
	return live
}

func (h *harness) startTarget(ctx context.Context, sc *scenario, t *target) (*running, error) {
	if t.peer == nil {
		return &running{t: t, addr: t.params.Backends[0]}, nil
	}
	argv, env := t.peer.command(t.bin, t.cfgPath, t.params)
	logPath := filepath.Join(h.o.out, "logs", t.name+".log")
	if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintf(f, "\n=== %s scenario %s: %v\n", time.Now().Format(time.TimeOnly), sc.name, argv)
		f.Close()
	}
	p, err := startProc(procSpec{name: t.name, argv: argv, env: env, dir: t.params.Dir, logPath: logPath, cpus: h.proxyCPUs})
	if err != nil {
		return nil, err
	}
	h.track(p)
	if err := waitReady(ctx, t.params.Listen, p, 30*time.Second); err != nil {
		h.stopProc(p)
		return nil, err
	}
	if seen, err := backendSpread(t.params.Listen, 4); err != nil || len(seen) < 2 {
		h.noteOnce(t.name+" spread", "%s: 4 requests reached backends %v (%v); expected round robin over both", t.name, seen, err)
	}
	rt := &running{t: t, p: p, addr: t.params.Listen}
	if sc.tls {
		rt.addr = t.params.TLS.Listen
		if err := h.checkTLS(ctx, rt); err != nil {
			h.stopProc(p)
			return nil, err
		}
		if sc.resume {
			rt.sessions = tls.NewLRUClientSessionCache(64)
		}
	}
	return rt, nil
}

// checkTLS checks that rt's TLS listener negotiates the policy, retrying
// for a few seconds while the listener may still be starting, and notes
// what it negotiated once per target.
func (h *harness) checkTLS(ctx context.Context, rt *running) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := checkTLSPolicy(ctx, rt.addr, h.tls.pool)
		if err == nil {
			h.noteOnce(rt.t.name+" tls", "%s TLS check: %s, %s, %v", rt.t.name, tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.CurveID)
			return nil
		}
		// A handshake that completed with another policy will not change.
		if st.Version != 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("TLS policy check on %s: %w", rt.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// backendSpread sends n GETs over one keep-alive connection and returns
// how many each backend answered, from the X-Backend header.
func backendSpread(addr string, n int) (map[string]int, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
	defer c.CloseIdleConnections()
	seen := map[string]int{}
	for range n {
		resp, err := c.Get("http://" + addr + path1K)
		if err != nil {
			return seen, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		seen[resp.Header.Get("X-Backend")]++
	}
	return seen, nil
}

func (h *harness) stopTargets(live map[string]*running) {
	var wg sync.WaitGroup
	for _, rt := range live {
		if rt.p == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); h.stopProc(rt.p) }()
	}
	wg.Wait()
}

// load drives rt with sc's requests for d, with wrk when there is one
// (except for the idle scenario) and the built-in generator otherwise.
func (h *harness) load(ctx context.Context, sc *scenario, rt *running, d time.Duration, warm bool) (loadResult, string, error) {
	if h.wrk != "" && !sc.builtin {
		w := wrkRun{bin: h.wrk, script: h.wrkScriptPath(sc), addr: rt.addr, path: sc.path, conns: h.o.conns,
			threads: max(len(h.loadCPUs), 1), duration: d, logPath: filepath.Join(h.o.out, "logs", "wrk.log"),
			pipelined: sc.depth > 1, tls: sc.tls}
		if h.loadCPUs == nil {
			w.threads = max(runtime.NumCPU()/2, 1)
		}
		if warm {
			w.logPath = filepath.Join(h.o.out, "logs", "wrk-warmup.log")
		}
		r, err := w.run(ctx)
		return r, "wrk", err
	}
	spec := loadSpec{Addr: rt.addr, Request: sc.request(rt.addr), Depth: sc.depth, Conns: h.o.conns, Duration: d, NewConn: sc.close}
	if sc.tls {
		spec.TLS = loadTLSConfig(rt.sessions)
	}
	return runLoad(ctx, spec), "builtin", ctx.Err()
}

// measure runs one measured load run against rt and reads the proxy's
// CPU time and peak memory around it.
func (h *harness) measure(ctx context.Context, sc *scenario, rt *running, rep int) Run {
	r := Run{Scenario: sc.name, Target: rt.t.name, Repeat: rep}
	var pids []int
	var sampler *rssSampler
	if rt.p != nil {
		if rt.p.exited() {
			r.Err = rt.p.exitError("exited")
			return r
		}
		pids = tree(rt.p.pid())
		if resetPeak(pids) != nil {
			sampler = startSampler(rt.p.pid())
		}
	}
	cpu0 := treeCPU(pids)
	busy0, total0 := cpuTimes(h.loadCPUs)
	lr, gen, err := h.load(ctx, sc, rt, h.o.duration, false)
	busy1, total1 := cpuTimes(h.loadCPUs)
	r.Generator = gen
	if err != nil {
		r.Err = err.Error()
		return r
	}
	if total1 > total0 {
		r.LoadCPUPct = 100 * float64(busy1-busy0) / float64(total1-total0)
	}
	if rt.p != nil {
		after := tree(rt.p.pid())
		cpu := treeCPU(after) - cpu0
		r.CPUSeconds = cpu.Seconds()
		if lr.Elapsed > 0 {
			r.ProxyCPUPct = 100 * cpu.Seconds() / lr.Elapsed.Seconds()
		}
		if lr.Requests > 0 {
			r.CPUPerReqUS = float64(cpu.Microseconds()) / float64(lr.Requests)
		}
		r.PeakRSS = treeMem(after).hwm
		if sampler != nil {
			r.PeakRSS = sampler.stop()
		}
		if rt.p.exited() {
			r.Err = rt.p.exitError("exited during the run")
		}
	}
	r.Requests, r.Errors, r.Non2xx = lr.Requests, lr.Errors, lr.Non2xx
	if sc.tls && sc.close {
		r.Handshakes, r.Resumed = lr.Handshakes, lr.Resumed
		if sc.resume && lr.Resumed == 0 && r.Err == "" {
			r.Err = fmt.Sprintf("none of %d TLS handshakes resumed a session", lr.Handshakes)
		}
	}
	r.Seconds = lr.Elapsed.Seconds()
	if r.Seconds > 0 {
		r.ReqPerSec = float64(lr.Requests) / r.Seconds
	}
	lat := lr.latencies()
	r.P50us, r.P99us, r.P999us = us(lat[0]), us(lat[1]), us(lat[2])
	if lr.Requests == 0 && r.Err == "" {
		r.Err = fmt.Sprintf("no successful requests (%d errors)", lr.Errors)
	}
	return r
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// runIdle measures memory per idle connection. Each run gets a freshly
// started proxy, so memory left over from earlier load does not hide the
// cost of the connections. The direct target is not measured: there is
// no proxy.
func (h *harness) runIdle(ctx context.Context, sc *scenario) error {
	targets, _ := h.scenarioTargets(sc)
	for rep := 1; rep <= h.o.repeat; rep++ {
		for _, t := range targets {
			if t.peer == nil {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			h.progress("[%2d/%d] %-8s %-8s run %d/%d  starting…", h.step+1, h.steps, sc.name, t.name, rep, h.o.repeat)
			live := h.startTargets(ctx, sc, []*target{t}, []int{rep})
			rt := live[t.name]
			if rt == nil {
				continue // the error run is recorded
			}
			h.step++
			h.progress("[%2d/%d] %-8s %-8s run %d/%d  opening %d connections…", h.step, h.steps, sc.name, t.name, rep, h.o.repeat, h.o.idle)
			r := h.measureIdle(ctx, sc, rt, rep)
			h.stopTargets(live)
			h.runs = append(h.runs, r)
			h.reportRun(r)
		}
	}
	return nil
}

func (h *harness) measureIdle(ctx context.Context, sc *scenario, rt *running, rep int) Run {
	r := Run{Scenario: sc.name, Target: rt.t.name, Repeat: rep, Generator: "builtin"}
	req := sc.request(rt.addr)
	var cfg *tls.Config
	if sc.tls {
		cfg = loadTLSConfig(nil) // full handshakes
	}
	dial := dialer(rt.addr, cfg)
	// A few requests first, so the proxy's per-backend connections and
	// buffers exist before the baseline is taken.
	warm, _ := openIdle(ctx, dial, 16, 16, req)
	closeAll(warm)
	time.Sleep(300 * time.Millisecond)
	pids := tree(rt.p.pid())
	_ = resetPeak(pids)
	before := treeMem(pids)
	cpu0 := treeCPU(pids)
	start := time.Now()
	conns, failed := openIdle(ctx, dial, h.o.idle, 64, req)
	defer closeAll(conns)
	opened := time.Since(start)
	time.Sleep(time.Second) // let the proxy settle
	pids = tree(rt.p.pid())
	after := treeMem(pids)
	cpu := treeCPU(pids) - cpu0
	r.IdleConns = len(conns)
	r.Requests = int64(len(conns))
	r.Errors = int64(failed)
	r.Seconds = opened.Seconds()
	r.ReqPerSec = float64(len(conns)) / max(opened.Seconds(), 1e-9)
	r.RSSBefore, r.RSSAfter, r.PeakRSS = before.rss, after.rss, after.hwm
	r.CPUSeconds = cpu.Seconds()
	if len(conns) > 0 {
		r.BytesPerConn = float64(after.rss-before.rss) / float64(len(conns))
		r.CPUPerReqUS = float64(cpu.Microseconds()) / float64(len(conns))
		r.StillOpen = stillOpen(conns, 16, req)
	}
	switch {
	case rt.p.exited():
		r.Err = rt.p.exitError("exited")
	case len(conns) == 0:
		r.Err = fmt.Sprintf("no connection could be opened (%d failed)", failed)
	}
	return r
}

// rssSampler tracks the highest RSS of a process tree by polling, for
// kernels that cannot reset VmHWM.
type rssSampler struct {
	stopc chan struct{}
	peak  chan int64
}

func startSampler(pid int) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{}), peak: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, treeMem(tree(pid)).rss)
			select {
			case <-s.stopc:
				s.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() int64 {
	close(s.stopc)
	return <-s.peak
}
