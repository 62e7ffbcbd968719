#!/usr/bin/env bash
# Prober scale: gslb with 10,000 TCP-checked endpoints at a 1 s interval, on loopback (issue #4).
#
# Usage: bench/prober-scale.sh [SECONDS]          (default 30: the length of each window)
#   NAMES, PER_NAME  balanced names × endpoints each (default 100 × 100 = 10,000 endpoints)
#   QPS              dnsperf's steady rate in the second window (default 5000)
#   NOFILE           run gslb under this soft RLIMIT_NOFILE (default: the shell's)
#   HANG             this many of the endpoints never accept (connects hang until the timeout);
#                    they start down, and the script then only waits for the others
#   FLOOR            floor variants to run first (default "close linger0"; empty: none)
#   GSLB_BIN         default target/release/gslb;  OUT: where logs and the config go
#
# bench/tcp_listeners.py listens on 127.1.N.1-100:9400 (one listener per endpoint address,
# all in 127.0.0.0/8) and accepts-and-closes every connection. gslb gets a generated config:
# NAMES balanced names nN.gslb.example, each with PER_NAME endpoints 127.1.N.x checked by one
# TCP check (interval 1s, timeout 500ms, rise 2, fall 2). gslb runs on CPU 0, the listeners
# and dnsperf on CPU 1. After every endpoint is up (per /v1/status) and a settling pause, two
# windows of SECONDS each:
#   1. probes only;
#   2. probes while dnsperf sends QPS queries/s for the balanced names.
# Each reports gslb's CPU (utime+stime of all its threads over the window, as a share of one
# core), VmRSS, open descriptors, the connections the listeners accepted per second (= probes
# per second), and for window 2 dnsperf's completed/lost queries. Holds /tmp/bench.lock.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-30}
names=${NAMES:-100}
per=${PER_NAME:-100}
qps=${QPS:-5000}
total=$((names * per))
port=9400
dns_port=5390
admin_port=8390
gslb_bin=${GSLB_BIN:-$root/target/release/gslb}
[[ $gslb_bin = /* ]] || gslb_bin=$root/$gslb_bin
out=${OUT:-$(mktemp -d -t prober-scale.XXXX)}
mkdir -p "$out/zones"
hz=$(getconf CLK_TCK)
pids=()

for tool in python3 curl dnsperf dig flock taskset; do
  command -v "$tool" >/dev/null || { echo "prober-scale.sh: $tool is required" >&2; exit 2; }
done
((per <= 100)) || { echo "PER_NAME must be at most 100" >&2; exit 2; }

cleanup() {
  set +e
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

exec 9>/tmp/bench.lock
if ! flock -n 9; then
  echo "waiting for /tmp/bench.lock (another benchmark is running)..." >&2
  flock 9
fi

# The listeners need one descriptor each.
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > total + 64)) || { echo "need RLIMIT_NOFILE > $((total + 64)) for the listeners" >&2; exit 2; }

# --- the endpoints
taskset -c 1 python3 -u "$here/tcp_listeners.py" "$total" "$port" "${HANG:-0}" >"$out/listeners.out" 2>&1 9>&- &
pids+=($!)
for _ in $(seq 600); do grep -q '^ready' "$out/listeners.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$out/listeners.out" || { cat "$out/listeners.out" >&2; exit 1; }
accepted() { awk '/^accepted/ { n = $2 } END { print n + 0 }' "$out/listeners.out"; }

# --- the kernel's floor: bare connect()+close() to the same listeners at the same rate, on the
# CPU gslb will get (on loopback both ends of every handshake run in the connecting process)
for variant in ${FLOOR-close linger0}; do
  taskset -c 0 python3 "$here/connect_floor.py" "$total" "$port" "$secs" "$variant" 9>&- | awk -v v="$variant" '{
    printf "floor (%-7s)       connect() loop CPU %5.1f%% of one core (user %4.1f%%, system %4.1f%%)  connects/s %.0f  failed %d\n",
      v, 100 * ($6 + $8) / $10, 100 * $6 / $10, 100 * $8 / $10, $2 / $10, $4 }'
  sleep 2
done

# --- gslb's config and zone
cp "$here/peers/zone.db" "$out/zones/gslb.example.zone"
{
  cat <<EOF
[server]
listen = ["127.0.0.1:$dns_port"]
threads = 1

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
  for ((n = 0; n < names; n++)); do
    printf '\n[[balance]]\nname = "n%d.gslb.example"\npolicy = "round-robin"\nanswers = 4\nttl = 30\ncheck = "tcp"\nendpoints = [\n' "$n"
    for ((e = 1; e <= per; e++)); do printf '  { address = "127.1.%d.%d", datacenter = "dc" },\n' "$n" "$e"; done
    printf ']\n'
  done
} >"$out/gslb.toml"
for ((n = 0; n < names; n++)); do echo "n$n.gslb.example A"; done >"$out/queries"

# --- gslb
t_start=$EPOCHREALTIME
(
  [[ -n ${NOFILE:-} ]] && ulimit -S -n "$NOFILE"
  exec taskset -c 0 env RUST_LOG=info "$gslb_bin" serve -c "$out/gslb.toml"
) >"$out/gslb.log" 2>&1 9>&- &
gslb=$!
pids+=($gslb)
for _ in $(seq 600); do
  dig +short +time=1 +tries=1 @127.0.0.1 -p $dns_port www.gslb.example A >/dev/null 2>&1 && break
  kill -0 $gslb 2>/dev/null || { echo "gslb exited:" >&2; tail -20 "$out/gslb.log" >&2; exit 1; }
  sleep 0.05
done
t_ready=$EPOCHREALTIME
echo "gslb answers after $(awk -v a="$t_ready" -v b="$t_start" 'BEGIN { printf "%.2f", a - b }') s (startup round over $total endpoints included)"

status() { # prints "UP PROBED_OK TOTAL" from /v1/status
  curl -sf "http://127.0.0.1:$admin_port/v1/status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
eps = [e for b in s["balanced"] for e in b["endpoints"]]
up = sum(e["state"] == "up" for e in eps)
ok = sum(bool(e.get("last_check") and e["last_check"]["ok"]) for e in eps)
print(up, ok, len(eps))'
}
want=$((total - ${HANG:-0}))
for _ in $(seq 60); do
  read -r up ok n < <(status)
  [[ $up == "$want" && $ok == "$want" ]] && break
  sleep 1
done
echo "endpoints up: $up / $n (last check ok: $ok; expected $want)"
[[ $up == "$want" ]] || { echo "not every endpoint that should be up is" >&2; tail -5 "$out/gslb.log" >&2; exit 1; }
sleep 5

ticks() { awk '{ sub(/.*\) /, ""); print $12, $13 }' /proc/$gslb/stat; } # utime stime
rss_kb() { awk '/^VmRSS/ { print $2 }' /proc/$gslb/status; }
fds() { ls /proc/$gslb/fd | wc -l; }

tw() { ss -Htan state time-wait 2>/dev/null | wc -l; }

window() { # LABEL: measure one window of $secs seconds while whatever runs in the background
  local label=$1 u0 s0 u1 s1 w0 w1 a0 a1 rss max=0 i
  read -r u0 s0 < <(ticks); w0=$EPOCHREALTIME; a0=$(accepted)
  for ((i = 0; i < secs; i++)); do
    sleep 1
    rss=$(rss_kb); ((rss > max)) && max=$rss
  done
  read -r u1 s1 < <(ticks); w1=$EPOCHREALTIME; a1=$(accepted)
  awk -v l="$label" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" -v w="$(awk -v a="$w1" -v b="$w0" 'BEGIN { print a - b }')" \
      -v a=$((a1 - a0)) -v rss="$max" -v fd="$(fds)" -v thr="$(ls /proc/$gslb/task | wc -l)" -v tw="$(tw)" 'BEGIN {
    printf "%-20s gslb CPU %5.1f%% of one core (user %4.1f%%, system %4.1f%%)  VmRSS max %5.1f MiB  fds %d  threads %d  probes/s %.0f  TIME_WAIT %d\n",
      l, 100 * (u + s) / hz / w, 100 * u / hz / w, 100 * s / hz / w, rss / 1024, fd, thr, a / w, tw }'
}

echo "windows of $secs s, $total endpoints (TCP, interval 1s, timeout 500ms):"
window "probes only"
taskset -c 1 dnsperf -s 127.0.0.1 -p $dns_port -d "$out/queries" -l "$secs" -Q "$qps" -c 4 \
  >"$out/dnsperf.out" 2>&1 9>&- &
dp=$!
pids+=($dp)
window "probes + $qps qps"
wait $dp || true
awk '/Queries sent|Queries completed|Queries lost|Queries per second|Average Latency/ { sub(/^ +/, ""); print "  dnsperf: " $0 }' "$out/dnsperf.out"
read -r up ok n < <(status)
echo "endpoints up at the end: $up / $n (last check ok: $ok)"
echo "probe failures in /metrics (gslb_check_failures_total, by reason):"
curl -sf "http://127.0.0.1:$admin_port/metrics" | awk '/^gslb_check_failures_total/ {
    match($1, /reason="[^"]*"/); r = substr($1, RSTART + 8, RLENGTH - 9); s[r] += $2; n++ }
  END { for (r in s) print "  " r, s[r]; if (!n) print "  none" }'
echo "logs and config: $out"
