package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func sampleRuns() ([]*scenario, []Run) {
	get := &scenario{name: "get1k", title: "keep-alive GET <1 KiB> & more"}
	idle := &scenario{name: "idle", title: "idle", idle: true}
	runs := []Run{
		{Scenario: "get1k", Target: "direct", ReqPerSec: 100},
		{Scenario: "get1k", Target: "direct", ReqPerSec: 120},
		{Scenario: "get1k", Target: "direct", ReqPerSec: 110},
		{Scenario: "get1k", Target: "shellac", ReqPerSec: 90, P50us: 300, P99us: 900, P999us: 2000, CPUPerReqUS: 8, PeakRSS: 10 << 20},
		{Scenario: "get1k", Target: "haproxy", ReqPerSec: 60},
		{Scenario: "get1k", Target: "nginx", ReqPerSec: 45},
		{Scenario: "get1k", Target: "caddy", Err: "caddy exited: boom\nmore"},
		{Scenario: "idle", Target: "shellac", BytesPerConn: 3000, IdleConns: 10},
		{Scenario: "idle", Target: "haproxy", BytesPerConn: 2000, IdleConns: 10},
		{Scenario: "idle", Target: "nginx", BytesPerConn: 1000, IdleConns: 10},
	}
	return []*scenario{get, idle}, runs
}

func TestSummarize(t *testing.T) {
	scs, runs := sampleRuns()
	rep := summarize(scs[0], allTargets, runs)
	if rep.BestPeer != "haproxy" {
		t.Errorf("best peer = %q; want haproxy", rep.BestPeer)
	}
	rows := map[string]Row{}
	for _, r := range rep.Rows {
		rows[r.Target] = r
	}
	if d := rows["direct"].ReqPerSec; d != (Stat{Median: 110, Min: 100, Max: 120}) {
		t.Errorf("direct req/s = %+v; want median 110 of 100–120", d)
	}
	if got := rows["shellac"].VsBestPeer; got != 1.5 {
		t.Errorf("shellac vs best peer = %v; want 1.5", got)
	}
	if got := rows["nginx"].VsDirect; got < 0.409 || got > 0.41 {
		t.Errorf("nginx vs direct = %v; want 45/110", got)
	}
	if c := rows["caddy"]; c.Runs != 0 || c.Err == "" {
		t.Errorf("caddy row = %+v; want a failed row", c)
	}
	if _, ok := rows["varnish"]; ok {
		t.Error("varnish did not run but has a row")
	}
	idle := summarize(scs[1], allTargets, runs)
	if idle.BestPeer != "nginx" || idle.Rows[0].VsBestPeer != 3 {
		t.Errorf("idle: best %q, shellac ratio %v; want nginx, 3", idle.BestPeer, idle.Rows[0].VsBestPeer)
	}
	var b bytes.Buffer
	writeTable(&b, rep, "subtitle")
	writeTable(&b, idle, "")
	for _, want := range []string{"shellac", "1.50", "1.00 best", "failed: caddy exited: boom", "110", "900µs", "10.0 MiB", "2.9 KiB"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestWriteSVGIsWellFormed parses the chart with encoding/xml and counts
// one bar per successful row.
func TestWriteSVGIsWellFormed(t *testing.T) {
	scs, runs := sampleRuns()
	var reports []ScenarioReport
	for _, sc := range scs {
		reports = append(reports, summarize(sc, allTargets, runs))
	}
	var b bytes.Buffer
	if err := writeSVG(&b, reports, `caption with <angle> & "quotes"`); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	bars, groups := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "rect":
				bars++
			case "g":
				groups++
			}
		}
	}
	// 4 bars in get1k (caddy failed), 3 in idle, plus the background.
	if bars != 8 || groups != 2 {
		t.Errorf("%d rects in %d groups; want 8 in 2", bars, groups)
	}
}

func TestParseWrk(t *testing.T) {
	out := "Running 1s test @ http://127.0.0.1:1/1k\n" +
		wrkMarker + " requests=1000 duration_us=2000000 bytes=5 connect=1 read=2 write=0 status=3 timeout=4 p50_us=100 p99_us=900 p999_us=1500 max_us=2000\n"
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	l := r.latencies()
	if r.Requests != 1000 || r.Elapsed != 2*time.Second || r.Errors != 7 || r.Non2xx != 3 ||
		l != [3]time.Duration{100 * time.Microsecond, 900 * time.Microsecond, 1500 * time.Microsecond} {
		t.Errorf("parseWrk = %+v, latencies %v", r, l)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("no error without the marker line")
	}
}

// TestWrkScripts runs each generated script for a second against the
// backends when wrk is installed, and otherwise checks the text.
func TestWrkScripts(t *testing.T) {
	scs := scenarios(4, 10)
	for _, sc := range scs {
		if sc.idle {
			continue
		}
		s := wrkScript(sc)
		if !strings.Contains(s, "function done(") || !strings.Contains(s, wrkMarker) {
			t.Errorf("%s script lacks done():\n%s", sc.name, s)
		}
	}
	bin, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not on PATH")
	}
	bs := startTestBackends(t)
	for _, sc := range scs {
		if sc.name != "post64k" && sc.name != "pipeline" {
			continue // the static GET scripts are plain wrk usage
		}
		path := t.TempDir() + "/" + sc.name + ".lua"
		if err := writeFile(path, wrkScript(sc)); err != nil {
			t.Fatal(err)
		}
		w := wrkRun{bin: bin, script: path, addr: bs.Addrs()[0], path: sc.path, conns: 2, threads: 1,
			duration: time.Second, logPath: t.TempDir() + "/wrk.log", pipelined: sc.depth > 1}
		r, err := w.run(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		if r.Requests == 0 || r.Errors != 0 || r.Non2xx != 0 {
			t.Errorf("%s: %d requests, %d errors, %d non-2xx", sc.name, r.Requests, r.Errors, r.Non2xx)
		}
	}
}
