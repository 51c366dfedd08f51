package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// parseScale reads -scale: a comma-separated list of worker counts, or
// "auto" for 1, 2, 4… up to the CPUs this process may use.
func parseScale(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	if s == "auto" {
		var out []int
		for n := 1; n <= runtime.NumCPU(); n *= 2 {
			out = append(out, n)
		}
		if last := out[len(out)-1]; last != runtime.NumCPU() {
			out = append(out, runtime.NumCPU())
		}
		return out, nil
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-scale %q: want worker counts such as 1,2,4 or auto", s)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// scaleRun is one round of the scaling run: the reports of the scenarios
// with this many workers per proxy.
type scaleRun struct {
	workers int
	pinned  bool
	reports []ScenarioReport
}

// runScale runs the harness once per worker count of -scale (shellac with
// event_loops N, haproxy nbthread N, nginx worker_processes N…), each in
// its own output folder, then writes the scaling table: req/s and req/s
// per proxy core for each target and count. The proxy is pinned apart from
// the load only while a CPU is left for the load; at N ≥ CPUs it shares
// them, and req/s per core (1 s of CPU divided by the CPU each request
// cost) is the figure to compare.
func runScale(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	var rounds []scaleRun
	for _, n := range o.scale {
		so := *o
		so.workers = n
		so.pin = o.pin && n < runtime.NumCPU()
		so.out = filepath.Join(o.out, fmt.Sprintf("workers-%d", n))
		fmt.Fprintf(stderr, "== scale: %d worker(s), pinned %v\n", n, so.pin)
		h := &harness{o: &so, stdout: io.Discard, stderr: stderr, tty: isTerminal(stderr)}
		err := h.run(ctx)
		h.cleanup()
		if err != nil {
			return fmt.Errorf("%d workers: %w", n, err)
		}
		rounds = append(rounds, scaleRun{workers: n, pinned: so.pin, reports: h.reports})
	}
	var txt bytes.Buffer
	writeScaleTable(&txt, rounds)
	if _, err := stdout.Write(txt.Bytes()); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, "scaling.txt"), txt.Bytes(), 0o644)
}

// writeScaleTable writes, per scenario, one line per target and worker
// count.
func writeScaleTable(w io.Writer, rounds []scaleRun) {
	fmt.Fprintf(w, "shellac bench -scale: %d CPUs\n", runtime.NumCPU())
	if len(rounds) == 0 {
		return
	}
	for si, sc := range rounds[0].reports {
		if sc.Idle {
			continue
		}
		fmt.Fprintf(w, "\n== %s: scaling ==\n", sc.Title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tworkers\tpinned\treq/s\t× 1 worker\tproxy CPU\tCPU µs/req\treq/s per core\t× 1 worker\t")
		for _, row := range sc.Rows {
			if row.Target == "direct" {
				continue
			}
			var base, baseCore float64
			for _, r := range rounds {
				if si >= len(r.reports) {
					continue
				}
				x := rowOf(r.reports[si], row.Target)
				if x == nil || x.Runs == 0 {
					continue
				}
				perCore := 0.0
				if x.CPUPerReqUS > 0 {
					perCore = 1e6 / x.CPUPerReqUS
				}
				if base == 0 {
					base, baseCore = x.ReqPerSec.Median, perCore
				}
				fmt.Fprintf(tw, "%s\t%d\t%v\t%s\t%s\t%.0f%%\t%.1f\t%s\t%s\t\n", row.Target, r.workers, r.pinned,
					fmtRate(x.ReqPerSec.Median), ratio(x.ReqPerSec.Median/base), x.ProxyCPUPct, x.CPUPerReqUS,
					fmtRate(perCore), ratio(perCore/baseCore))
			}
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nreq/s per core is 1e6 / (proxy CPU µs per request): what one core of the proxy serves.\n"+
		"A round with as many workers as CPUs cannot be pinned apart from the load generator, so its req/s\n"+
		"is bounded by the load; compare req/s per core there.\n")
}

func rowOf(rep ScenarioReport, target string) *Row {
	for i := range rep.Rows {
		if rep.Rows[i].Target == target {
			return &rep.Rows[i]
		}
	}
	return nil
}
