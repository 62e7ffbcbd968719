#!/usr/bin/env bash
# The signature cache's memory for N balanced names (default 10,000; docs/performance.md,
# "DNSSEC online signing"): bench/growth/gen_config.py's N failover names in a signed zone,
# one worker thread; the server's VmRSS once it answers, after every name was asked once with
# DO=0 (the baseline: the answer path's own pages), then after every name was asked with DO=1
# (each a cache miss: one signature and one cache entry per name), and the signing counters.
# Usage: flock /tmp/cargo.lock bash bench/dnssec/memory.sh [N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${GSLB_BIN:-$root/target/release/gslb}
n=${1:-10000}
out=$(mktemp -d -t dnssec-mem.XXXX)
python3 "$root/bench/growth/gen_config.py" "$n" "$out" --dns-port 5392 --admin-port 8392
"$bin" dnssec keygen growth.example --dir "$out" > "$out/keygen.txt"
key=$(head -1 "$out/keygen.txt")
printf '\n[dnssec."growth.example"]\nkeys = ["%s"]\n' "$key" >> "$out/gslb.toml"
"$bin" serve -c "$out/gslb.toml" > "$out/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 200); do dig +short +time=1 +tries=1 @127.0.0.1 -p 5392 n0.growth.example A >/dev/null 2>&1 && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
for i in $(seq 0 $((n - 1))); do echo "n$i.growth.example A"; done > "$out/q"
echo "RSS after start: $(rss) kB"
dnsperf -s 127.0.0.1 -p 5392 -d "$out/q" -n 1 -c 1 -q 100 > /dev/null
echo "RSS after $n names with DO=0: $(rss) kB"
dnsperf -s 127.0.0.1 -p 5392 -d "$out/q" -n 1 -c 1 -q 100 -D > /dev/null
echo "RSS after $n names with DO=1: $(rss) kB"
dnsperf -s 127.0.0.1 -p 5392 -d "$out/q" -n 1 -c 1 -q 100 -D > /dev/null
echo "RSS after a second DO=1 pass (all cached): $(rss) kB"
curl -s http://127.0.0.1:8392/metrics | grep '^gslb_dnssec'
