#!/bin/bash
# Zone size growth: time from start to the first answer for the zone's last record, and memory
# once ready, for gslb, NSD and Knot, on zones of 10k / 100k / 1M / 5M records (gen_zone.py:
# A records mostly, ~12 % AAAA/TXT/MX/CNAME). 5M is written as a main file $INCLUDEing pieces of
# 1M records (gslb bounds each file); a server that refuses a zone prints "skipped: <why>".
# Each server is pinned to CPU 0 with one worker, the dig polls to CPU 1; run under the lock:
#   flock /tmp/cargo.lock bench/growth/zones.sh [sizes...]     (default: 10000 100000 1000000 5000000)
# GSLB_BIN (default target/release/gslb). Columns: ready after (s), RSS and PSS (MB) summed over
# the server's processes, 2 s after it answered.
set -u
here=$(cd "$(dirname "$0")" && pwd)
gslb=${GSLB_BIN:-$here/../../target/release/gslb}
sizes=${*:-10000 100000 1000000 5000000}
dir=$(mktemp -d -t growth-zones.XXXX)
pid=
cleanup() { [[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
tree_pids() { echo $1; for c in $(pgrep -P $1); do tree_pids $c; done; }
# "RSS PSS" in MB, summed over the process tree of $1
mem() { local r=0 s=0 p
  for p in $(tree_pids $1); do
    r=$((r + $(awk '/^VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)))
    s=$((s + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0)))
  done
  echo "$((r / 1024)) $((s / 1024))"; }
# measure NAME IP LAST LOG CMD...: prints "ready RSS PSS", or "skipped: why"
measure() { local name=$1 ip=$2 last=$3 log=$4; shift 4
  local t0 t1 out
  t0=$(date +%s.%N)
  taskset -c 0 "$@" >"$log" 2>&1 & pid=$!
  while :; do
    # Exited (a zombie until waited for), or not answering after 10 minutes.
    if [[ $(ps -o stat= -p $pid) == Z* || -z $(ps -o stat= -p $pid) ]] ||
       (( $(echo "$(date +%s.%N) - $t0 > 600" | bc) )); then
      # The first error line says why (gslb then logs the count of problems).
      echo "skipped: $( (grep -m1 -i error "$log" || tail -1 "$log") | cut -c1-200)"
      kill $pid 2>/dev/null; wait $pid 2>/dev/null; pid=; return
    fi
    out=$(taskset -c 1 dig +short +time=1 +tries=1 @$ip -p 5353 "$last" A 2>/dev/null)
    [[ $out == 10.* ]] && break
    sleep 0.05
  done
  t1=$(date +%s.%N)
  sleep 2
  echo "$(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') $(mem $pid)"
  kill $pid; wait $pid 2>/dev/null; pid=
  sleep 1; }
printf '%-9s %-7s %10s %8s %8s\n' records server ready_s rss_mb pss_mb
for n in $sizes; do
  d=$dir/$n; mkdir -p "$d/zones" "$d/knot" "$d/nsd"
  if (( n > 1000000 )); then
    python3 "$here/gen_zone.py" $n big.example "$d/zones/big.example.zone" "$d/zones/pieces"
  else
    python3 "$here/gen_zone.py" $n big.example "$d/zones/big.example.zone"
  fi
  last="host$((n - 1)).big.example"
  printf '[server]\nlisten = ["127.0.0.31:5353"]\nthreads = 1\n[zones]\ndirectory = "%s/zones"\n' "$d" > "$d/gslb.toml"
  cat > "$d/nsd/nsd.conf" <<NSD
server:
    ip-address: 127.0.0.32@5353
    server-count: 1
    username: ""
    zonesdir: "$d/nsd"
    database: ""
    pidfile: "$d/nsd/nsd.pid"
    xfrdfile: "$d/nsd/xfrd.state"
    zonelistfile: "$d/nsd/zone.list"
    logfile: "$d/nsd/nsd.log"
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: big.example
    zonefile: $d/zones/big.example.zone
NSD
  cat > "$d/knot/knot.conf" <<KNOT
server:
    listen: 127.0.0.33@5353
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: $d/knot
database:
    storage: $d/knot
zone:
  - domain: big.example
    file: $d/zones/big.example.zone
KNOT
  r=$(measure gslb 127.0.0.31 "$last" "$d/gslb.log" "$gslb" serve -c "$d/gslb.toml")
  printf '%-9s %-7s %s\n' $n gslb "$r"
  r=$(measure nsd 127.0.0.32 "$last" "$d/nsd.out" nsd -d -c "$d/nsd/nsd.conf")
  printf '%-9s %-7s %s\n' $n nsd "$r"
  r=$(measure knot 127.0.0.33 "$last" "$d/knot.out" knotd -c "$d/knot/knot.conf")
  printf '%-9s %-7s %s\n' $n knot "$r"
  rm -rf "$d"
done
