-- shellac bench, scenario get1k: keep-alive GET, 1 KiB response
-- Generated; run as: wrk -s this.lua http://HOST:PORT/1k

wrk.method = "GET"
wrk.path = "/1k"
wrk.headers["User-Agent"] = "shellac-bench"

-- One parseable line for shellac bench: counters and latency (µs).
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "SHELLAC_BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d\n",
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
