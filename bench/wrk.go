package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// wrkMarker starts the line the wrk scripts' done() prints.
const wrkMarker = "SHELLAC_BENCH"

// wrkDone is the done() every wrk script ends with: one parseable line
// with the counters and latency percentiles (microseconds) of the run.
const wrkDone = `
-- One parseable line for shellac bench: counters and latency (µs).
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "` + wrkMarker + ` requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d\n",
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`

// wrkScript returns the Lua script that makes wrk send sc's requests.
// Plain GETs use wrk's static request; the chunked POST and the pipelined
// batch are built once per thread in init() and returned by request().
func wrkScript(sc *scenario) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- shellac bench, scenario %s: %s\n-- Generated; run as: wrk -s this.lua http://HOST:PORT%s\n\n", sc.name, sc.title, sc.path)
	switch {
	case sc.chunked:
		chunk := 16 << 10
		fmt.Fprintf(&b, `-- %d-byte body sent as %d chunks of %d bytes.
local chunks = {}
for i = 1, %d do
   chunks[i] = string.format("%%x\r\n", %d) .. string.rep("A", %d) .. "\r\n"
end
chunks[#chunks + 1] = "0\r\n\r\n"
local body = table.concat(chunks)

function init(args)
   req = "%s %s HTTP/1.1\r\n"
      .. "Host: " .. wrk.headers["Host"] .. "\r\n"
      .. "User-Agent: shellac-bench\r\n"
      .. "Content-Type: application/octet-stream\r\n"
      .. "Transfer-Encoding: chunked\r\n\r\n"
      .. body
end

function request()
   return req
end
`, postSize, postSize/chunk, chunk, postSize/chunk, chunk, chunk, sc.method, sc.path)
	case sc.depth > 1:
		fmt.Fprintf(&b, `wrk.method = %q
wrk.path = %q
wrk.headers["User-Agent"] = "shellac-bench"

-- %d requests written back to back; wrk counts each response.
function init(args)
   local r = {}
   for i = 1, %d do
      r[i] = wrk.format()
   end
   req = table.concat(r)
end

function request()
   return req
end
`, sc.method, sc.path, sc.depth, sc.depth)
	default:
		fmt.Fprintf(&b, "wrk.method = %q\nwrk.path = %q\nwrk.headers[\"User-Agent\"] = \"shellac-bench\"\n", sc.method, sc.path)
		if sc.close {
			b.WriteString("wrk.headers[\"Connection\"] = \"close\"\n")
		}
	}
	b.WriteString(wrkDone)
	return b.String()
}

// wrkRun is one wrk invocation.
type wrkRun struct {
	bin      string
	script   string // path of the Lua script
	addr     string
	path     string
	conns    int
	threads  int
	duration time.Duration
	logPath  string
	// pipelined drops wrk's latency percentiles: wrk times a whole batch,
	// and its coordinated-omission correction then adds samples below
	// the recorded minimum that its percentile walk never reaches.
	pipelined bool
	tls       bool // https: wrk's OpenSSL client, keep-alive
}

// run runs wrk to completion and returns what its done() printed.
func (w wrkRun) run(ctx context.Context) (loadResult, error) {
	secs := max(int(math.Ceil(w.duration.Seconds())), 1) // wrk takes whole seconds
	threads := min(max(w.threads, 1), w.conns)
	argv := []string{w.bin, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(w.conns),
		"-d", strconv.Itoa(secs) + "s", "--timeout", "10s", "-s", w.script,
		"http://" + w.addr + w.path}
	scheme := "http://"
	if w.tls {
		scheme = "https://"
	}
	argv[len(argv)-1] = scheme + w.addr + w.path
	var out bytes.Buffer
	p, err := startProc(procSpec{name: "wrk", argv: argv, logPath: w.logPath, stdout: &out})
	if err != nil {
		return loadResult{}, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stop(time.Second)
		return loadResult{}, ctx.Err()
	case <-time.After(time.Duration(secs)*time.Second + 30*time.Second):
		p.stop(time.Second)
		return loadResult{}, fmt.Errorf("wrk did not finish in %ds + 30s", secs)
	}
	if f, err := os.OpenFile(w.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		fmt.Fprintf(f, "$ %s\n%s\n", strings.Join(argv, " "), out.String())
		f.Close()
	}
	res, err := parseWrk(out.String())
	if err != nil {
		return res, fmt.Errorf("wrk (%v): %w; output:\n%s", p.err, err, out.String())
	}
	if w.pipelined {
		res.percentiles = &[3]time.Duration{} // not available
	}
	return res, nil
}

// parseWrk finds the line of wrkDone in wrk's output and turns it into a
// loadResult carrying wrk's own percentiles.
func parseWrk(out string) (loadResult, error) {
	var line string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, wrkMarker+" ") {
			line = l
		}
	}
	if line == "" {
		return loadResult{}, fmt.Errorf("no %s line in wrk output", wrkMarker)
	}
	kv := map[string]int64{}
	for _, f := range strings.Fields(line)[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return loadResult{}, fmt.Errorf("wrk output field %q: %w", f, err)
		}
		kv[k] = int64(n)
	}
	for _, k := range []string{"requests", "duration_us", "p50_us", "p99_us", "p999_us"} {
		if _, ok := kv[k]; !ok {
			return loadResult{}, fmt.Errorf("wrk output lacks %s", k)
		}
	}
	r := loadResult{
		Requests: kv["requests"],
		Errors:   kv["connect"] + kv["read"] + kv["write"] + kv["timeout"],
		Non2xx:   kv["status"],
		Bytes:    kv["bytes"],
		Elapsed:  time.Duration(kv["duration_us"]) * time.Microsecond,
	}
	r.percentiles = &[3]time.Duration{
		time.Duration(kv["p50_us"]) * time.Microsecond,
		time.Duration(kv["p99_us"]) * time.Microsecond,
		time.Duration(kv["p999_us"]) * time.Microsecond,
	}
	return r, nil
}
