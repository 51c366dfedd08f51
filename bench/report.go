package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Run is one measured run of one target in one scenario.
type Run struct {
	Scenario  string  `json:"scenario"`
	Target    string  `json:"target"`
	Repeat    int     `json:"repeat"`              // 1-based
	Generator string  `json:"generator,omitempty"` // "wrk" or "builtin"
	Requests  int64   `json:"requests"`
	Seconds   float64 `json:"seconds"`
	ReqPerSec float64 `json:"req_per_sec"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	P999us    float64 `json:"p999_us"`
	Errors    int64   `json:"errors"`      // connect, read, write errors and timeouts
	Non2xx    int64   `json:"non_2xx_3xx"` // responses with another status
	// Handshakes and Resumed count the TLS connections the built-in
	// generator made in the window and those that resumed a session.
	Handshakes int64 `json:"tls_handshakes,omitempty"`
	Resumed    int64 `json:"tls_resumed,omitempty"`
	// CPUSeconds is the user+system CPU the proxy's process tree used
	// during the run; 0 for the direct target.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPerReqUS is CPUSeconds per request, in microseconds.
	CPUPerReqUS float64 `json:"cpu_us_per_req"`
	// ProxyCPUPct is CPUSeconds over the run's length: 100 is one CPU
	// busy all the time.
	ProxyCPUPct float64 `json:"proxy_cpu_pct"`
	// LoadCPUPct is how busy the CPUs of the load generator and backends
	// were (all CPUs when nothing is pinned); near 100 the load side, not
	// the proxy, limited the rate.
	LoadCPUPct float64 `json:"load_cpu_pct"`
	// PeakRSS is the peak resident set size of the proxy's process tree
	// during the run (VmHWM, reset before the run), in bytes.
	PeakRSS int64 `json:"peak_rss_bytes"`
	// The idle-connection scenario fills these instead of the rates.
	IdleConns    int     `json:"idle_conns,omitempty"`       // connections held open
	RSSBefore    int64   `json:"rss_before_bytes,omitempty"` // VmRSS before opening them
	RSSAfter     int64   `json:"rss_after_bytes,omitempty"`  // VmRSS with all of them open
	BytesPerConn float64 `json:"bytes_per_conn,omitempty"`   // (RSSAfter-RSSBefore)/IdleConns
	StillOpen    string  `json:"still_open,omitempty"`       // sampled connections still usable at the end, "k/n"
	Err          string  `json:"error,omitempty"`            // why the run failed
}

// Stat is the median of a value over repeats, with its range.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func statOf(v []float64) Stat {
	if len(v) == 0 {
		return Stat{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// Row is one target's line in a scenario's table. Its fields mean what
// Run's do; each is the median over the target's successful repeats
// (ReqPerSec and BytesPerConn also carry their range), and Errors and
// Non2xx are summed over all of them.
type Row struct {
	Target     string  `json:"target"`
	Runs       int     `json:"runs"`
	ReqPerSec  Stat    `json:"req_per_sec"`
	VsBestPeer float64 `json:"vs_best_peer,omitempty"` // the scenario's key value over the best peer's
	VsDirect   float64 `json:"vs_direct,omitempty"`    // req/s over the direct target's
	// VsHAProxy is the key value over haproxy's, and CPUVsHAProxy the CPU
	// per request over haproxy's (the TLS tables show both).
	VsHAProxy    float64 `json:"vs_haproxy,omitempty"`
	CPUVsHAProxy float64 `json:"cpu_vs_haproxy,omitempty"`
	P50us        float64 `json:"p50_us"`
	P99us        float64 `json:"p99_us"`
	P999us       float64 `json:"p999_us"`
	CPUPerReqUS  float64 `json:"cpu_us_per_req"`
	ProxyCPUPct  float64 `json:"proxy_cpu_pct"`
	LoadCPUPct   float64 `json:"load_cpu_pct"`
	PeakRSS      int64   `json:"peak_rss_bytes"`
	RSSBefore    int64   `json:"rss_before_bytes,omitempty"`
	RSSAfter     int64   `json:"rss_after_bytes,omitempty"`
	BytesPerConn Stat    `json:"bytes_per_conn,omitzero"`
	StillOpen    string  `json:"still_open,omitempty"`
	Errors       int64   `json:"errors"`
	Non2xx       int64   `json:"non_2xx_3xx"`
	Handshakes   int64   `json:"tls_handshakes,omitempty"` // summed over the successful runs
	Resumed      int64   `json:"tls_resumed,omitempty"`
	Failed       int     `json:"failed_runs,omitempty"`
	Err          string  `json:"error,omitempty"` // the last failure
}

// ScenarioReport is the table of one scenario.
type ScenarioReport struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Idle  bool   `json:"idle,omitempty"`
	TLS   bool   `json:"tls,omitempty"`
	// builtin: the built-in generator ran it even with wrk present.
	builtin bool
	// Skipped lists the targets not run in this scenario, with why
	// ("varnish: varnishd does not terminate TLS").
	Skipped []string `json:"skipped,omitempty"`
	// BestPeer is the peer the ratios are taken against: the highest
	// req/s, or for the idle scenario the fewest bytes per connection.
	BestPeer string `json:"best_peer,omitempty"`
	Rows     []Row  `json:"rows"`
}

func isPeer(name string) bool { return slices.Contains(peerNames, name) }

// summarize turns the runs of one scenario into its table, rows in the
// order of targets.
func summarize(sc *scenario, targets []string, runs []Run) ScenarioReport {
	rep := ScenarioReport{Name: sc.name, Title: sc.title, Idle: sc.idle, TLS: sc.tls, builtin: sc.builtin}
	for _, t := range targets {
		var ok []Run
		row := Row{Target: t}
		for _, r := range runs {
			if r.Scenario != sc.name || r.Target != t {
				continue
			}
			row.Errors += r.Errors
			row.Non2xx += r.Non2xx
			if r.Err != "" {
				row.Err = r.Err
				row.Failed++
				continue
			}
			ok = append(ok, r)
			row.Handshakes += r.Handshakes
			row.Resumed += r.Resumed
		}
		if len(ok) == 0 && row.Err == "" {
			continue // target not run in this scenario
		}
		row.Runs = len(ok)
		pick := func(f func(Run) float64) Stat {
			var v []float64
			for _, r := range ok {
				v = append(v, f(r))
			}
			return statOf(v)
		}
		row.ReqPerSec = pick(func(r Run) float64 { return r.ReqPerSec })
		row.P50us = pick(func(r Run) float64 { return r.P50us }).Median
		row.P99us = pick(func(r Run) float64 { return r.P99us }).Median
		row.P999us = pick(func(r Run) float64 { return r.P999us }).Median
		row.CPUPerReqUS = pick(func(r Run) float64 { return r.CPUPerReqUS }).Median
		row.ProxyCPUPct = pick(func(r Run) float64 { return r.ProxyCPUPct }).Median
		row.LoadCPUPct = pick(func(r Run) float64 { return r.LoadCPUPct }).Median
		row.PeakRSS = int64(pick(func(r Run) float64 { return float64(r.PeakRSS) }).Median)
		if sc.idle {
			row.BytesPerConn = pick(func(r Run) float64 { return r.BytesPerConn })
			row.RSSBefore = int64(pick(func(r Run) float64 { return float64(r.RSSBefore) }).Median)
			row.RSSAfter = int64(pick(func(r Run) float64 { return float64(r.RSSAfter) }).Median)
			if len(ok) > 0 {
				row.StillOpen = ok[len(ok)-1].StillOpen
			}
		}
		rep.Rows = append(rep.Rows, row)
	}
	key := func(r Row) float64 {
		if sc.idle {
			return r.BytesPerConn.Median
		}
		return r.ReqPerSec.Median
	}
	var best, direct, haproxy *Row
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Runs == 0 {
			continue
		}
		switch r.Target {
		case "direct":
			direct = r
		case "haproxy":
			haproxy = r
		}
		if isPeer(r.Target) && (best == nil || (sc.idle && key(*r) < key(*best)) || (!sc.idle && key(*r) > key(*best))) {
			best = r
		}
	}
	if best != nil {
		rep.BestPeer = best.Target
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Runs == 0 {
			continue
		}
		if best != nil && key(*best) > 0 {
			r.VsBestPeer = key(*r) / key(*best)
		}
		if direct != nil && !sc.idle && direct.ReqPerSec.Median > 0 {
			r.VsDirect = r.ReqPerSec.Median / direct.ReqPerSec.Median
		}
		if haproxy != nil && key(*haproxy) > 0 {
			r.VsHAProxy = key(*r) / key(*haproxy)
		}
		if haproxy != nil && haproxy.CPUPerReqUS > 0 && r.Target != "direct" {
			r.CPUVsHAProxy = r.CPUPerReqUS / haproxy.CPUPerReqUS
		}
	}
	return rep
}

// writeTable prints one scenario's table.
func writeTable(w io.Writer, rep ScenarioReport, subtitle string) {
	fmt.Fprintf(w, "\n== %s ==\n", rep.Title)
	if subtitle != "" {
		fmt.Fprintf(w, "%s\n", subtitle)
	}
	// Right-aligned columns; the target name is padded so it reads
	// left-aligned.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	name := func(s string) string { return fmt.Sprintf("%-8s", s) }
	// The TLS tables have no direct row (the backends are cleartext) and
	// carry ratios to haproxy's rate (bytes, for idle) and CPU per request.
	vs, cpuVs := "\t× direct", ""
	if rep.TLS {
		vs, cpuVs = "\t× haproxy", "\tCPU × haproxy"
	}
	if rep.Idle {
		if !rep.TLS {
			vs = ""
		}
		fmt.Fprintf(tw, "%s\tper conn\t(min–max)\t× best peer%s\tRSS before\tRSS after\tpeak RSS\tCPU µs/conn\tstill open\t\n", name("target"), vs)
	} else {
		fmt.Fprintf(tw, "%s\treq/s\t(min–max)\t× best peer%s\tp50\tp99\tp99.9\tCPU µs/req%s\tproxy CPU\tload CPU\tpeak RSS\t\n", name("target"), vs, cpuVs)
	}
	for _, r := range rep.Rows {
		if r.Runs == 0 {
			continue // listed under the table
		}
		best := ratio(r.VsBestPeer)
		if r.Target == rep.BestPeer {
			best = "1.00 best"
		}
		vs, cpuVs := "\t"+ratio(r.VsDirect), ""
		if rep.TLS {
			vs, cpuVs = "\t"+ratio(r.VsHAProxy), "\t"+ratio(r.CPUVsHAProxy)
		}
		if rep.Idle {
			if !rep.TLS {
				vs = ""
			}
			fmt.Fprintf(tw, "%s\t%s\t(%s–%s)\t%s%s\t%s\t%s\t%s\t%.1f\t%s\t\n", name(r.Target),
				fmtBytes(r.BytesPerConn.Median), fmtBytes(r.BytesPerConn.Min), fmtBytes(r.BytesPerConn.Max),
				best, vs, fmtMiB(r.RSSBefore), fmtMiB(r.RSSAfter), fmtMiB(r.PeakRSS), r.CPUPerReqUS, r.StillOpen)
			continue
		}
		cpu, pct, rss := "-", "-", "-"
		if r.Target != "direct" {
			cpu, pct, rss = fmt.Sprintf("%.1f", r.CPUPerReqUS), fmt.Sprintf("%.0f%%", r.ProxyCPUPct), fmtMiB(r.PeakRSS)
		}
		fmt.Fprintf(tw, "%s\t%s\t(%s–%s)\t%s%s\t%s\t%s\t%s\t%s%s\t%s\t%.0f%%\t%s\t\n", name(r.Target),
			fmtRate(r.ReqPerSec.Median), fmtRate(r.ReqPerSec.Min), fmtRate(r.ReqPerSec.Max),
			best, vs, fmtLatency(r.P50us), fmtLatency(r.P99us), fmtLatency(r.P999us), cpu, cpuVs, pct, r.LoadCPUPct, rss)
	}
	_ = tw.Flush()
	for _, r := range rep.Rows {
		if r.Runs == 0 {
			fmt.Fprintf(w, "  %-8s  failed: %s\n", r.Target, trim(firstLine(r.Err), 150))
		} else if r.Err != "" {
			fmt.Fprintf(w, "  %-8s  %d of %d runs failed: %s\n", r.Target, r.Failed, r.Failed+r.Runs, trim(firstLine(r.Err), 150))
		}
		if r.Errors > 0 || r.Non2xx > 0 {
			fmt.Fprintf(w, "  %s: %d errors, %d non-2xx/3xx responses over all runs\n", r.Target, r.Errors, r.Non2xx)
		}
		if r.Handshakes > 0 {
			fmt.Fprintf(w, "  %s: %d of %d TLS handshakes resumed a session (%.1f%%)\n", r.Target, r.Resumed, r.Handshakes,
				100*float64(r.Resumed)/float64(r.Handshakes))
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "  skipped %s\n", s)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func ratio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// fmtRate formats req/s with three significant digits: 812, 45.3k, 1.20M.
func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e5:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// fmtLatency formats microseconds as µs below 1 ms and ms above.
func fmtLatency(us float64) string {
	d := time.Duration(us * float64(time.Microsecond))
	switch {
	case us <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", us)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", us/1000)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", us/1000)
	}
	return fmt.Sprintf("%.0fms", us/1000)
}

func fmtMiB(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// fmtBytes formats a byte count per connection: 812 B, 3.4 KiB.
func fmtBytes(b float64) string {
	switch {
	case math.Abs(b) >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case math.Abs(b) >= 10<<10:
		return fmt.Sprintf("%.0f KiB", b/(1<<10))
	case math.Abs(b) >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
