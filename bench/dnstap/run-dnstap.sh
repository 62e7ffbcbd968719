#!/bin/bash
# The cost of dnstap per query: the peer harness's ours:PORT mode against gslb with the peer
# config as it is (dnstap off) and with [dnstap] on (gslb-dnstap.toml beside this script),
# one after the other in the same run, `rounds` times each:
#   run-dnstap.sh [seconds] [rounds] [gslb binary]
# The dnstap collector is Debian's fstrm_capture (package fstrm-bin) writing to /dev/null, on
# CPU 1 with dnsperf, so the server's CPU (CPU 0, every thread, the dnstap writer included) is
# the server's alone. After each dnstap round the writer's counters are printed
# (gslb_dnstap_sent_total, gslb_dnstap_dropped_total). Prints the harness's rows
# (QPS / server CPU µs per query).
# PEERS_RUN= names the harness (default: ../shared/bench/peers/run-peers.sh beside the repo).
# Loopback only; holds /tmp/bench.lock; kills what it started.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
rounds=${2:-2}
bin=${3:-$root/target/release/gslb}
run=${PEERS_RUN:-$root/../shared/bench/peers/run-peers.sh}
command -v fstrm_capture >/dev/null || { echo "needs fstrm_capture: apt-get install fstrm-bin" >&2; exit 1; }
exec 9>/tmp/bench.lock; flock 9
dir=$(mktemp -d -t dnstap.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/zones-gslb"
cp "$root/bench/peers/zone.db" "$dir/zones-gslb/gslb.example.zone"
sed "s#@DIR@#$dir#g" "$root/bench/peers/gslb.toml" > "$dir/off.toml"
sed "s#@DIR@#$dir#g" "$here/gslb-dnstap.toml" > "$dir/on.toml"

# Starts gslb with config $1 on CPU 0, waits for it to answer on port $2; its pid in $pid.
serve() {
  taskset -c 0 "$bin" serve -c "$1" > "$1.log" 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 50); do
    dig +short +time=1 +tries=1 @127.0.0.1 -p "$2" www.gslb.example A >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "gslb did not answer on port $2; its log:" >&2; cat "$1.log" >&2; exit 1
}

for r in $(seq "$rounds"); do
  echo "== round $r: dnstap off"
  serve "$dir/off.toml" 5300
  OURS_PID=$pid bash "$run" "$secs" "ours:5300" | sed -n '2,3p'
  kill "$pid"; wait "$pid" 2>/dev/null || true

  echo "== round $r: dnstap on (fstrm_capture -> /dev/null)"
  rm -f "$dir/tap.sock"
  taskset -c 1 fstrm_capture -t protobuf:dnstap.Dnstap -u "$dir/tap.sock" -w /dev/null \
    > "$dir/fstrm.log" 2>&1 &
  cap=$!; pids+=("$cap")
  for _ in $(seq 50); do [ -S "$dir/tap.sock" ] && break; sleep 0.1; done
  serve "$dir/on.toml" 5311
  OURS_PID=$pid bash "$run" "$secs" "ours:5311" | sed -n '2,3p'
  curl -s http://127.0.0.1:8311/metrics | grep -E '^gslb_dnstap_(connected|sent_total|dropped_total)'
  kill "$pid"; wait "$pid" 2>/dev/null || true
  kill "$cap"; wait "$cap" 2>/dev/null || true
done
