-- shellac bench, scenario post64k: POST 64 KiB, chunked request body
-- Generated; run as: wrk -s this.lua http://HOST:PORT/post

-- 65536-byte body sent as 4 chunks of 16384 bytes.
local chunks = {}
for i = 1, 4 do
   chunks[i] = string.format("%x\r\n", 16384) .. string.rep("A", 16384) .. "\r\n"
end
chunks[#chunks + 1] = "0\r\n\r\n"
local body = table.concat(chunks)

function init(args)
   req = "POST /post HTTP/1.1\r\n"
      .. "Host: " .. wrk.headers["Host"] .. "\r\n"
      .. "User-Agent: shellac-bench\r\n"
      .. "Content-Type: application/octet-stream\r\n"
      .. "Transfer-Encoding: chunked\r\n\r\n"
      .. body
end

function request()
   return req
end

-- One parseable line for shellac bench: counters and latency (µs).
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "SHELLAC_BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d\n",
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
