#!/bin/bash
# DNSSEC's cost on the peer harness (docs/performance.md, "DNSSEC online signing"): gslb unsigned
# and signed, each with DO=0 and DO=1 queries, and Knot's mod-onlinesign on the static part of the
# same zone with DO=1; every server on CPU 0 with one worker, dnsperf on CPU 1.
# Usage (from the repository): flock /tmp/cargo.lock bash bench/dnssec/run.sh [seconds]
set -u
here=$(cd "$(dirname "$0")" && pwd)
peers=${PEERS:-$here/../../../shared/bench/peers/run-peers.sh}
bin=${GSLB_BIN:-target/release/gslb}
secs=${1:-10}
dir=$(mktemp -d -t dnssec-bench.XXXX)
mkdir -p "$dir/zones" "$dir/keys"
cp "$(dirname "$peers")/zone.db" "$dir/zones/gslb.example.zone"
cp "$(dirname "$peers")/zone.db" "$dir/zone.db"
for f in gslb-unsigned.toml gslb-signed.toml knot-onlinesign.conf; do
  sed -e "s#@DIR@#$dir#g" -e "s#@HERE@#$here#g" "$here/$f" > "$dir/$f"
done
run() { # name port args...
  local name=$1 port=$2; shift 2
  taskset -c 0 "$@" > "$dir/$name.log" 2>&1 & local pid=$!
  for args in "" "-D"; do
    echo "== $name, dnsperf ${args:-(DO=0)}"
    DNSPERF_ARGS="$args" OURS_PID=$pid bash "$peers" "$secs" "ours:$port" | sed -n '2,3p'
  done
  [[ $name == gslb-signed ]] && curl -s http://127.0.0.1:8311/metrics | grep '^gslb_dnssec'
  kill $pid; wait $pid 2>/dev/null
}
# Cold: every query a name never asked before (nonexistent, so each DO=1 answer needs a new
# NSEC signature), 100,000 of them once, DO=0 then DO=1: CPU microseconds per query.
cold() {
  taskset -c 0 "$bin" serve -c "$dir/gslb-signed.toml" > "$dir/cold.log" 2>&1 & local pid=$!
  for _ in $(seq 50); do dig +short +time=1 +tries=1 @127.0.0.1 -p 5311 www.gslb.example A >/dev/null 2>&1 && break; sleep 0.2; done
  for args in "" "-D"; do
    printf 'cold%s-%s.gslb.example A\n' "${args:-0}" $(seq 1 100000) > "$dir/q-cold"
    local a b
    a=$(awk '{print $14+$15}' /proc/$pid/stat)
    taskset -c 1 dnsperf -s 127.0.0.1 -p 5311 -d "$dir/q-cold" -n 1 -c 8 -q 256 $args > "$dir/cold.out" 2>&1
    b=$(awk '{print $14+$15}' /proc/$pid/stat)
    echo "== cold, 100000 new names, dnsperf ${args:-(DO=0)}: $(awk -v a=$a -v b=$b '/Queries completed/ {n=$3} END {printf "%.2f us/query", (b-a)*10000/n}' "$dir/cold.out")"
  done
  curl -s http://127.0.0.1:8311/metrics | grep '^gslb_dnssec_signatures'
  kill $pid; wait $pid 2>/dev/null
}
cold
run gslb-unsigned 5310 "$bin" serve -c "$dir/gslb-unsigned.toml"
run gslb-signed 5311 "$bin" serve -c "$dir/gslb-signed.toml"
run knot-onlinesign 5312 knotd -c "$dir/knot-onlinesign.conf"
rm -rf "$dir"
