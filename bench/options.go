package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// options are the flags of `shellac bench`.
type options struct {
	out        string
	workers    int
	pin        bool
	repeat     int
	duration   time.Duration
	warmup     time.Duration
	conns      int
	depth      int
	idle       int
	scenarios  []string // names, in run order
	targets    []string // requested targets; nil: the defaults
	quick      bool
	generator  string // auto, wrk, builtin
	shellacBin string
	// baselineBin, when set, is another shellac binary run as the target
	// "shellac-base", configured as shellac is: a before/after comparison
	// of two builds in one run.
	baselineBin string
	// scale, when set, runs the scenarios once per worker count and
	// writes a scaling table.
	scale []int
}

// errUsagePrinted is returned for flag errors the flag package has
// already reported.
var errUsagePrinted = errors.New("bench: usage error")

// allTargets lists every target name in table order.
var allTargets = append([]string{"direct", "shellac", rulesTarget}, peerNames...)

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "bench-out", "output folder: tables, results.json, chart.svg, generated configs, logs")
	fs.IntVar(&o.workers, "workers", 1, "worker threads / processes / event loops of every proxy")
	fs.BoolVar(&o.pin, "pin", true, "pin the proxy under test and the load generator/backends to different CPUs")
	fs.IntVar(&o.repeat, "repeat", 3, "runs per target and scenario (targets interleaved); tables quote medians")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before the first measured run of each target in a scenario")
	fs.IntVar(&o.conns, "connections", 64, "client connections")
	fs.IntVar(&o.depth, "pipeline", 16, "pipelining depth of the pipeline scenario")
	fs.IntVar(&o.idle, "idle", 10000, "connections of the idle scenario")
	scen := fs.String("scenarios", defaultScenarios(), "comma-separated scenarios to run, from "+scenarioNames()+
		"; tls means every TLS scenario, and tls-handshake both its rows (full and resumed)")
	targ := fs.String("targets", "", "comma-separated targets (default: direct, shellac and every peer on PATH; with -quick: direct, shellac); from "+strings.Join(allTargets, ","))
	fs.BoolVar(&o.quick, "quick", false, "smoke run in under a minute: 2s runs, one repeat, 1000 idle connections, shellac and direct only unless -targets")
	fs.StringVar(&o.generator, "generator", "auto", "load generator: auto (wrk when on PATH), wrk or builtin")
	fs.StringVar(&o.shellacBin, "shellac-bin", "", "binary to run as the shellac target with -config FILE (default: this executable)")
	fs.StringVar(&o.baselineBin, "baseline-bin", "", "another shellac binary (an older build, say) run beside shellac as the target shellac-base, configured alike")
	scale := fs.String("scale", "", "scaling round: comma-separated worker counts (or auto: 1, 2, 4… CPUs), one run each, then a table of req/s per proxy core")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: shellac bench [flags]\n\nRuns shellac, haproxy, nginx, varnishd and caddy (those on PATH) against the same\nlocal backends and compares them.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsagePrinted
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["duration"] {
			o.duration = 2 * time.Second
		}
		if !set["repeat"] {
			o.repeat = 1
		}
		if !set["warmup"] {
			o.warmup = 500 * time.Millisecond
		}
		if !set["idle"] {
			o.idle = 1000
		}
	}
	for s := range strings.SplitSeq(*scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		names := []string{s}
		if g, ok := scenarioGroups[s]; ok {
			names = g
		} else if !slices.Contains(strings.Split(scenarioNames(), ","), s) {
			return nil, fmt.Errorf("unknown scenario %q (have %s, tls)", s, scenarioNames())
		}
		for _, n := range names {
			if !slices.Contains(o.scenarios, n) {
				o.scenarios = append(o.scenarios, n)
			}
		}
	}
	if *targ != "" {
		for t := range strings.SplitSeq(*targ, ",") {
			t = strings.TrimSpace(t)
			if t == "varnishd" {
				t = "varnish"
			}
			if t == "" {
				continue
			}
			if !slices.Contains(allTargets, t) {
				return nil, fmt.Errorf("unknown target %q (have %s)", t, strings.Join(allTargets, ","))
			}
			if !slices.Contains(o.targets, t) {
				o.targets = append(o.targets, t)
			}
		}
	}
	var err error
	if o.scale, err = parseScale(*scale); err != nil {
		return nil, err
	}
	switch {
	case o.workers < 1, o.repeat < 1, o.conns < 1, o.depth < 1, o.idle < 1:
		return nil, errors.New("-workers, -repeat, -connections, -pipeline and -idle must be at least 1")
	case o.duration < 100*time.Millisecond:
		return nil, errors.New("-duration must be at least 100ms")
	case o.generator != "auto" && o.generator != "wrk" && o.generator != "builtin":
		return nil, fmt.Errorf("-generator %q: want auto, wrk or builtin", o.generator)
	case len(o.scenarios) == 0:
		return nil, errors.New("no scenarios selected")
	}
	return o, nil
}
