#!/bin/bash
# Interleaved A/B rounds of proxy CPU per request (docs/performance.md,
# second round). Run the proxies pinned to CPU 1 (taskset -c 1) and one
# backend on CPU 0 first; wrk runs on CPU 0. Loopback only.
# usage: ab.sh ROUNDS HEADER NAME=PORT:PID ...   (HEADER "" or "Connection: close")
# CPU per request: utime+stime of PID over the run / wrk's request count.
rounds=$1; shift; hdr=$1; shift
tck=$(getconf CLK_TCK)
for r in $(seq 1 $rounds); do
  for t in "$@"; do
    name=${t%%=*}; rest=${t#*=}; port=${rest%%:*}; pid=${rest#*:}
    c0=$(awk '{print $14+$15}' /proc/$pid/stat)
    out=$(taskset -c 0 wrk -t1 -c64 -d2s ${hdr:+-H "$hdr"} http://127.0.0.1:$port/ 2>&1)
    c1=$(awk '{print $14+$15}' /proc/$pid/stat)
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$r $name reqs=$n cpu_us_per_req=$(echo "($c1-$c0)*1000000/$tck/$n" | bc -l | cut -c1-6)"
  done
done
