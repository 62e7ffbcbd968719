#!/usr/bin/env bash
# What [cluster] costs one instance (issue #13): etcd traffic and the cluster client's CPU, for
# 1,000 TCP-checked endpoints at a 1 s interval, on loopback.
#
# Usage: bench/cluster/run.sh [SECONDS]      (default 60: the steady window)
#   GSLB_BIN  default target/release/gslb;  OUT: where logs and configs go
#
# One etcd member (Debian's etcd-server) on 127.0.0.94, bench/tcp_listeners.py's 1,000
# listeners (127.1.0-9.1-100:9400), and gslb with 10 balanced names × 100 endpoints, one TCP
# check (interval 1s, timeout 500ms, rise 2, fall 2), run twice: without [cluster] and with it.
# For each run, after every endpoint is up:
#   steady   SECONDS with nothing changing: gslb's CPU (utime+stime, share of one core), and
#            with [cluster] the bytes etcd received from / sent to its gRPC clients (etcd's own
#            etcd_network_client_grpc_{received,sent}_bytes_total; gslb is its only client) and
#            gslb_cluster_writes_total;
#   flap     the listeners stopped until all 1,000 are down, then started until all are up
#            again: 2,000 verdict changes, with what they wrote and cost.
# Holds /tmp/bench.lock.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
total=1000
port=9400
dns_port=5394
admin_port=8394
etcd_ip=127.0.0.94
gslb_bin=${GSLB_BIN:-$root/target/release/gslb}
[[ $gslb_bin = /* ]] || gslb_bin=$root/$gslb_bin
out=${OUT:-$(mktemp -d -t cluster-bench.XXXX)}
mkdir -p "$out/zones"
hz=$(getconf CLK_TCK)
pids=()

for tool in python3 curl etcd flock; do
  command -v "$tool" >/dev/null || { echo "cluster bench: $tool is required" >&2; exit 2; }
done

cleanup() {
  set +e
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

exec 9>/tmp/bench.lock
flock 9
ulimit -n "$(ulimit -Hn)"

listeners=
start_listeners() {
  python3 -u "$root/bench/tcp_listeners.py" "$total" "$port" >"$out/listeners.out" 2>&1 9>&- &
  listeners=$!
  for _ in $(seq 600); do grep -q '^ready' "$out/listeners.out" 2>/dev/null && break; sleep 0.1; done
}
stop_listeners() { kill "$listeners"; wait "$listeners" 2>/dev/null || true; }

etcd --name b1 --data-dir "$out/etcd" --listen-client-urls "http://$etcd_ip:23799" \
  --advertise-client-urls "http://$etcd_ip:23799" --listen-peer-urls "http://$etcd_ip:23809" \
  --initial-advertise-peer-urls "http://$etcd_ip:23809" --initial-cluster "b1=http://$etcd_ip:23809" \
  --log-level warn >"$out/etcd.log" 2>&1 9>&- &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://$etcd_ip:23799/health" >/dev/null && break; sleep 0.1; done
etcd_bytes() { # "RECEIVED SENT" by etcd from/to gRPC clients
  curl -sf "http://$etcd_ip:23799/metrics" | awk '
    /^etcd_network_client_grpc_received_bytes_total/ { r = $2 }
    /^etcd_network_client_grpc_sent_bytes_total/ { s = $2 }
    END { printf "%d %d\n", r, s }'
}

cp "$root/bench/peers/zone.db" "$out/zones/gslb.example.zone"
config() { # $1 = with cluster (1) or not (0)
  cat <<EOF
[server]
listen = ["127.0.0.1:$dns_port"]
threads = 1
identity = "bench1"

[admin]
listen = "127.0.0.1:$admin_port"

[zones]
directory = "$out/zones"

[checks.tcp]
protocol = "tcp"
port = $port
interval = "1s"
timeout = "500ms"
rise = 2
fall = 2

[datacenters.dc]
EOF
  if [[ $1 = 1 ]]; then
    printf '\n[cluster]\netcd = ["http://%s:23799"]\nprefix = "/gslb/bench"\nlease_ttl = "10s"\n' "$etcd_ip"
  fi
  for ((n = 0; n < 10; n++)); do
    printf '\n[[balance]]\nname = "n%d.gslb.example"\npolicy = "round-robin"\nanswers = 4\ncheck = "tcp"\nendpoints = [\n' "$n"
    for ((e = 1; e <= 100; e++)); do printf '  { address = "127.1.%d.%d", datacenter = "dc" },\n' "$n" "$e"; done
    printf ']\n'
  done
}

up_count() {
  curl -sf "http://127.0.0.1:$admin_port/v1/status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(sum(e["state"] == "up" for b in s["balanced"] for e in b["endpoints"]))'
}
wait_up() { # $1 = wanted count of up endpoints
  for _ in $(seq 600); do [[ $(up_count 2>/dev/null || echo -1) = "$1" ]] && return 0; sleep 0.1; done
  echo "timed out waiting for $1 endpoints up" >&2; return 1
}
cpu() { awk -v hz="$hz" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
writes() {
  curl -sf "http://127.0.0.1:$admin_port/metrics" | awk '/^gslb_cluster_writes_total\{kind="vote"\}/ { print $2; f = 1 } END { if (!f) print 0 }'
}

for with in 0 1; do
  label=$([[ $with = 1 ]] && echo "with [cluster]" || echo "single     ")
  config "$with" >"$out/gslb-$with.toml"
  start_listeners
  env RUST_LOG=warn "$gslb_bin" serve -c "$out/gslb-$with.toml" >"$out/gslb-$with.log" 2>&1 9>&- &
  gslb=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$admin_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  wait_up $total
  sleep 3
  c0=$(cpu $gslb); b0=$(etcd_bytes); w0=$(writes); t0=$EPOCHREALTIME
  sleep "$secs"
  c1=$(cpu $gslb); b1=$(etcd_bytes); w1=$(writes); t1=$EPOCHREALTIME
  awk -v l="$label" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v b0="$b0" -v b1="$b1" -v w0="$w0" -v w1="$w1" -v w="$with" 'BEGIN {
    split(b0, x, " "); split(b1, y, " "); d = t1 - t0
    printf "%s steady %ds: gslb CPU %5.2f%% of one core", l, d, 100 * (c1 - c0) / d
    if (w == 1) printf "; etcd traffic %.0f B/s in, %.0f B/s out; vote writes %d", (y[1] - x[1]) / d, (y[2] - x[2]) / d, w1 - w0
    printf "\n" }'
  c0=$(cpu $gslb); b0=$(etcd_bytes); w0=$(writes); t0=$EPOCHREALTIME
  stop_listeners
  wait_up 0
  start_listeners
  wait_up $total
  c1=$(cpu $gslb); b1=$(etcd_bytes); w1=$(writes); t1=$EPOCHREALTIME
  awk -v l="$label" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v b0="$b0" -v b1="$b1" -v w0="$w0" -v w1="$w1" -v w="$with" -v n="$total" 'BEGIN {
    split(b0, x, " "); split(b1, y, " "); d = t1 - t0
    printf "%s flap (%d down, then up) %.1fs: gslb CPU %.3f s", l, n, d, c1 - c0
    if (w == 1) printf "; etcd traffic %.0f B in, %.0f B out (%.0f B per verdict change); vote writes %d", y[1] - x[1], y[2] - x[2], (y[1] - x[1] + y[2] - x[2]) / (2 * n), w1 - w0
    printf "\n" }'
  kill $gslb; wait $gslb 2>/dev/null || true
  stop_listeners
done
