package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Report is the content of results.json.
type Report struct {
	Started   time.Time        `json:"started"`
	Finished  time.Time        `json:"finished"`
	Settings  Settings         `json:"settings"`
	Targets   []TargetInfo     `json:"targets"`
	Notes     []string         `json:"notes,omitempty"`
	Scenarios []ScenarioReport `json:"scenarios"`
	Runs      []Run            `json:"runs"`
}

// Settings records how the results were obtained.
type Settings struct {
	Duration    string   `json:"duration"`
	Warmup      string   `json:"warmup"`
	Repeat      int      `json:"repeat"`
	Connections int      `json:"connections"`
	Pipeline    int      `json:"pipeline_depth"`
	IdleConns   int      `json:"idle_connections"`
	Workers     int      `json:"workers"`
	Generator   string   `json:"generator"`
	Pinning     string   `json:"pinning"`
	CPUs        int      `json:"cpus"`
	Kernel      string   `json:"kernel"`
	Go          string   `json:"go"`
	Backends    []string `json:"backends"`
}

// TargetInfo describes one target that ran.
type TargetInfo struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Listen  string   `json:"listen"`
	Config  string   `json:"config,omitempty"` // path of the generated configuration
	Command []string `json:"command,omitempty"`
}

func (h *harness) settings() Settings {
	gen := "builtin"
	if h.wrk != "" {
		gen = "wrk (" + h.wrk + "; idle scenario: builtin)"
	}
	var uts unix.Utsname
	kernel := ""
	if unix.Uname(&uts) == nil {
		kernel = unix.ByteSliceToString(uts.Release[:])
	}
	return Settings{
		Duration: h.o.duration.String(), Warmup: h.o.warmup.String(), Repeat: h.o.repeat,
		Connections: h.o.conns, Pipeline: h.o.depth, IdleConns: h.o.idle, Workers: h.o.workers,
		Generator: gen, Pinning: h.pinNote, CPUs: runtime.NumCPU(), Kernel: kernel,
		Go: runtime.Version(), Backends: h.backends,
	}
}

// printHeader writes what is about to run, the skipped peers and how long
// it should take to stderr; the results repeat the notes.
func (h *harness) printHeader() {
	s := h.settings()
	fmt.Fprintf(h.stderr, "shellac bench: %s × %d runs, %d connections, %s; %s\n", s.Duration, s.Repeat, s.Connections, s.Generator, s.Pinning)
	for _, t := range h.targets {
		fmt.Fprintf(h.stderr, "  %-8s %s\n", t.name, t.version)
	}
	for _, n := range h.notes {
		fmt.Fprintf(h.stderr, "  %s\n", n)
	}
	fmt.Fprintf(h.stderr, "  output in %s; about %v\n", h.o.out, h.estimate().Round(time.Second))
}

// estimate guesses the wall time of the whole run.
func (h *harness) estimate() time.Duration {
	var d time.Duration
	run := h.o.duration
	warm := h.o.warmup
	if h.wrk != "" { // wrk runs whole seconds
		run = max(run.Round(time.Second), time.Second)
		warm = max(warm.Round(time.Second), time.Second)
	}
	for _, sc := range h.scenarios() {
		for _, t := range h.targets {
			if sc.idle {
				if t.peer != nil {
					per := 200 * time.Microsecond
					if sc.tls {
						per = time.Millisecond // a handshake each
					}
					d += time.Duration(h.o.repeat) * (3*time.Second + time.Duration(h.o.idle)*per)
				}
				continue
			}
			d += time.Duration(h.o.repeat)*run + warm
		}
		d += 2 * time.Second // starting and stopping
	}
	return d
}

func (h *harness) subtitle(sc ScenarioReport) string {
	s := h.settings()
	var b strings.Builder
	if sc.TLS {
		fmt.Fprintf(&b, "%s, checked per peer with one connection first; backends in cleartext\n", tlsPolicy)
	}
	if sc.Idle {
		fmt.Fprintf(&b, "%d connections opened 64 at a time, one GET each, then held open; growth of the proxy's RSS\n"+
			"(all its processes) per connection; medians of %d, a fresh proxy each run; no direct row (no proxy)", s.IdleConns, s.Repeat)
		if sc.BestPeer != "" {
			fmt.Fprintf(&b, "; × best peer: bytes over %s's (lower is better)", sc.BestPeer)
		}
		return b.String()
	}
	gen := "wrk"
	switch {
	case sc.TLS && (h.wrk == "" || sc.builtin):
		gen = "built-in generator (Go crypto/tls client, X25519 only, no certificate verification)"
	case h.wrk == "":
		gen = "built-in generator"
	}
	fmt.Fprintf(&b, "%d connections, %s × %d (medians), %s", s.Connections, s.Duration, s.Repeat, gen)
	if sc.BestPeer != "" {
		fmt.Fprintf(&b, "; × best peer: req/s over %s's", sc.BestPeer)
	}
	b.WriteString("; proxy CPU: 100% = one CPU; load CPU: busy share of the generator/backend CPUs")
	if h.wrk != "" && sc.Name == "pipeline" {
		b.WriteString("\nlatency not shown: wrk times whole pipelined batches and its latency correction breaks their percentiles")
	}
	return b.String()
}

// writeResults prints the tables and writes results.txt, results.json and
// chart.svg to the output folder.
func (h *harness) writeResults(reports []ScenarioReport) error {
	var txt bytes.Buffer
	s := h.settings()
	fmt.Fprintf(&txt, "shellac bench, %s\n", h.started.Format(time.RFC3339))
	fmt.Fprintf(&txt, "%d CPUs, Linux %s, %s; %s; workers %d\n", s.CPUs, s.Kernel, s.Go, s.Pinning, s.Workers)
	for _, t := range h.targets {
		fmt.Fprintf(&txt, "  %-8s %s\n", t.name, t.version)
	}
	for _, n := range h.notes {
		fmt.Fprintf(&txt, "  note: %s\n", n)
	}
	for _, rep := range reports {
		writeTable(&txt, rep, h.subtitle(rep))
	}
	fmt.Fprintf(&txt, "\nconfigs: %s\n", filepath.Join(h.o.out, "configs"))
	if _, err := io.Copy(h.stdout, bytes.NewReader(txt.Bytes())); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(h.o.out, "results.txt"), txt.Bytes(), 0o644); err != nil {
		return err
	}
	rep := Report{Started: h.started, Finished: time.Now(), Settings: s, Notes: h.notes, Scenarios: reports, Runs: h.runs}
	for _, t := range h.targets {
		ti := TargetInfo{Name: t.name, Version: t.version, Listen: t.params.Listen, Config: t.cfgPath, Command: t.argv}
		if t.peer == nil {
			ti.Listen = t.params.Backends[0]
		}
		rep.Targets = append(rep.Targets, ti)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(h.o.out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var svg bytes.Buffer
	caption := fmt.Sprintf("%d connections, %s × %d, %s, %d worker(s); %s", s.Connections, s.Duration, s.Repeat,
		strings.SplitN(s.Generator, " ", 2)[0], s.Workers, s.Pinning)
	if err := writeSVG(&svg, reports, caption); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(h.o.out, "chart.svg"), svg.Bytes(), 0o644); err != nil {
		return err
	}
	h.wrote = true
	fmt.Fprintf(h.stderr, "wrote %s, results.json, chart.svg\n", filepath.Join(h.o.out, "results.txt"))
	return nil
}
