#!/bin/bash
# Answers during reloads: dnsperf at a fixed rate of half the saturation rate against gslb while
# (a) a 1M-record zone changes and reloads, (b) a config of many balanced names reloads, several
# times each during the run. Prints the rate, queries sent / lost, and the p50/p99/max latency
# (from dnsperf -v, one line per query). Not pinned: the load, the UDP worker and the reload's
# builder share the machine's 2 cores, as they would in service. Run under the lock:
#   flock /tmp/cargo.lock bench/growth/reload-under-load.sh [records] [names] [seconds] [reloads]
# defaults: 1000000 records, 100000 names, 40 s, 4 reloads. GSLB_BIN (default target/release/gslb).
set -u
here=$(cd "$(dirname "$0")" && pwd)
gslb=${GSLB_BIN:-$here/../../target/release/gslb}
records=${1:-1000000}; names=${2:-100000}; secs=${3:-40}; reloads=${4:-4}
dir=$(mktemp -d -t growth-reload.XXXX)
pid=
cleanup() { [[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
ip=127.0.0.41; port=5353
# start CONFIG: starts gslb and waits until it answers $probe
start() {
  "$gslb" serve -c "$1" >"$dir/gslb.log" 2>&1 & pid=$!
  for _ in $(seq 6000); do
    # An address, not dig's ";; communications error" (printed even with +short).
    [[ $(dig +short +time=1 +tries=1 @$ip -p $port $probe A 2>/dev/null) =~ ^[0-9] ]] && return
    kill -0 $pid 2>/dev/null || { echo "gslb exited:"; tail -3 "$dir/gslb.log"; exit 1; }
    sleep 0.1
  done; echo "gslb never answered"; exit 1; }
stop() { kill $pid; wait $pid 2>/dev/null; pid=; }
saturation() { dnsperf -s $ip -p $port -d "$1" -l 10 -c 8 -q 256 2>&1 | awk '/Queries per second/ {printf "%d", $4}'; }
# run QUERIES CHANGE: dnsperf at half the saturation rate while CHANGE runs and SIGHUP reloads,
# $reloads times, evenly spread
run() { local q=$1 change=$2 sat rate before after
  sat=$(saturation "$q"); rate=$((sat / 2))
  before=$(grep -c "configuration reloaded" "$dir/gslb.log")
  dnsperf -s $ip -p $port -d "$q" -l "$secs" -c 8 -q 256 -Q $rate -v > "$dir/perf.out" 2>&1 &
  local perf=$!
  local gap=$(echo "$secs / ($reloads + 1)" | bc -l)
  for i in $(seq $reloads); do
    sleep "$gap"; $change $i; kill -HUP $pid
  done
  wait $perf
  # wait for the last reload to finish
  for _ in $(seq 600); do
    after=$(grep -c "configuration reloaded" "$dir/gslb.log")
    (( after - before >= reloads )) && break; sleep 0.5
  done
  grep -E "reload rejected" "$dir/gslb.log" && echo "a reload was rejected"
  awk -v sat=$sat -v rate=$rate -v reloads=$((after - before)) '
    /^> / { n++; t = $NF * 1e6; if (t > max) max = t; b = int(t / 10); h[b]++ }
    /Queries sent:/ { sent = $3 } /Queries lost:/ { lost = $3 }
    END {
      c = 0; p50 = p99 = -1
      for (i = 0; i <= int(max / 10); i++) { c += h[i]
        if (p50 < 0 && c >= n * 0.50) p50 = i * 10 + 10
        if (p99 < 0 && c >= n * 0.99) p99 = i * 10 + 10 }
      printf "saturation %d qps, rate %d qps, reloads done %d: sent %d, lost %d, p50 %d us, p99 %d us, max %d us\n",
        sat, rate, reloads, sent, lost, p50, p99, max }' "$dir/perf.out"
}

echo "== (a) a zone of $records records changes and reloads $reloads times"
mkdir -p "$dir/a/zones"
python3 "$here/gen_zone.py" "$records" big.example "$dir/a/zones/big.example.zone"
cat > "$dir/a/gslb.toml" <<TOML
[server]
listen = ["$ip:$port"]
threads = 1
[zones]
directory = "$dir/a/zones"
[datacenters.a]
[datacenters.b]
[[balance]]
name = "app.big.example"
policy = "all"
endpoints = [
  { address = "192.0.2.11", datacenter = "a" },
  { address = "192.0.2.12", datacenter = "b" },
]
TOML
for i in $(seq 0 97 $((records / 2))); do echo "host$i.big.example A"; done > "$dir/a/q"
echo "app.big.example A" >> "$dir/a/q"
probe="host$((records - 1)).big.example"
start "$dir/a/gslb.toml"
change_zone() { sed -i "s/^@ SOA ns1 hostmaster [0-9]* /@ SOA ns1 hostmaster $((1 + $1)) /" "$dir/a/zones/big.example.zone"; }
run "$dir/a/q" change_zone
stop

echo "== (b) a config of $names balanced names changes and reloads $reloads times"
mkdir -p "$dir/b/zones"
python3 "$here/gen_zone.py" 1000 names.example "$dir/b/zones/names.example.zone"
python3 "$here/gen_names.py" "$names" "$ip:$port" "$dir/b/zones" > "$dir/b/gslb.toml"
for i in $(seq 0 7 $((names - 1))); do echo "app$i.names.example A"; done > "$dir/b/q"
probe="app$((names - 1)).names.example"
start "$dir/b/gslb.toml"
# Each change adds a balanced name (and the zone is reused).
change_config() { printf '[[balance]]\nname = "new%d.names.example"\npolicy = "all"\nendpoints = [{ address = "192.0.2.99", datacenter = "a" }]\n' $1 >> "$dir/b/gslb.toml"; }
run "$dir/b/q" change_config
grep "configuration reloaded" "$dir/gslb.log" | tail -1
stop
