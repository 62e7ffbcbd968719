#!/usr/bin/env bash
# Failover and recovery time of gslb, gdnsd and PowerDNS, on loopback only (issue #4).
#
# Usage: bench/failover.sh [N] [SERVER...]      SERVER: gslb gdnsd pdns (default: all three)
#   N       rounds per server and mode (default 10)
#   MODES   "kill hang" (default): kill = SIGKILL the backend (connections are refused at once),
#           hang = SIGSTOP it (connects still complete in the kernel, no answer comes: the
#           check's timeout applies); recovery = restart it / SIGCONT it.
#   GSLB_BIN  default target/release/gslb;  PEERS_DIR  default bench/peers (copies of
#   shared/bench/peers: the same zone, the same `app` name and check settings for every server).
#   POLL    sleep between two dig polls (default 0.01 s; with dig's own ~20 ms and the fork of
#           sleep, one poll period is ~40-45 ms here: the script prints the measured period).
#   OUT     directory for the raw CSV and the servers' logs (default: a new temp directory).
#
# Three HTTP backends (python3 -m http.server, as the peers harness runs them) serve /health on
# 127.0.0.11-13:8080; `app.gslb.example A` answers every healthy one. Each round waits until all
# three are answered, sleeps 1 s plus a random 0..2 check intervals, stops one backend (rotating),
# polls `dig +short @127.0.0.1 -p PORT app.gslb.example A` until its address is gone (failover =
# that moment minus the kill), waits another random 0..2 intervals, brings the backend back and
# polls until the address returns (recovery = that moment minus the moment the backend listens
# again / gets SIGCONT). Timestamps come from bash's $EPOCHREALTIME; a change is placed midway
# between the last poll that did not see it and the first that did, so each figure is good to
# half a poll period.
#
# The whole run holds /tmp/bench.lock (other benchmarks share the machine, the ports and the
# backend addresses); every process started here is killed on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rounds=${1:-10}
shift || true
servers=${*:-gslb gdnsd pdns}
modes=${MODES:-kill hang}
poll=${POLL:-0.01}
peers=${PEERS_DIR:-$here/peers}
gslb_bin=${GSLB_BIN:-$root/target/release/gslb}
[[ $gslb_bin = /* ]] || gslb_bin=$root/$gslb_bin
out=${OUT:-$(mktemp -d -t failover.XXXX)}
mkdir -p "$out"
dir=$(mktemp -d -t failover-run.XXXX)
csv=$out/failover.csv
backends=(127.0.0.11 127.0.0.12 127.0.0.13)
declare -A bpid=()
server_pid=
server_name=

for tool in dig python3 flock ss; do
  command -v "$tool" >/dev/null || { echo "failover.sh: $tool is required" >&2; exit 2; }
done

cleanup() {
  set +e
  for a in "${!bpid[@]}"; do
    kill -CONT "${bpid[$a]}" 2>/dev/null
    kill -9 "${bpid[$a]}" 2>/dev/null
    wait "${bpid[$a]}" 2>/dev/null
  done
  stop_server
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every process started below gets fd 9 (the lock) closed, so none can keep the lock alive.
exec 9>/tmp/bench.lock
if ! flock -n 9; then
  echo "waiting for /tmp/bench.lock (another benchmark is running)..." >&2
  flock 9
fi

for f in "$peers"/*; do sed "s#@DIR@#$dir#g" "$f" >"$dir/$(basename "$f")"; done
mkdir -p "$dir/run" "$dir/state" "$dir/www" "$dir/gdnsd/zones" "$dir/zones-gslb"
echo ok >"$dir/www/health"

now() { echo "$EPOCHREALTIME"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

listening() { [[ -n $(ss -Hltn "src $1:8080" 2>/dev/null) ]]; }

start_backend() { # ADDR: start it and wait until it listens; prints nothing
  local a=$1
  (cd "$dir/www" && exec python3 -m http.server 8080 --bind "$a" >/dev/null 2>&1) 9>&- &
  bpid[$a]=$!
  for _ in $(seq 300); do listening "$a" && return 0; sleep 0.01; done
  echo "backend $a did not start" >&2
  exit 1
}

app() { # PORT: the addresses answered for app, one line, sorted
  dig +short +time=1 +tries=1 @127.0.0.1 -p "$1" app.gslb.example A 2>/dev/null | sort | tr '\n' ' '
}

# PORT ADDR present|absent MAXSECONDS: prints when the condition started to hold: the midpoint
# between the last poll that did not see it and the first that did (each poll's time is taken
# when its dig returns), so the error is within half a poll period either way.
wait_answer() {
  local port=$1 addr=$2 want=$3 max=$4 t0 ans t prev
  t0=$(now)
  prev=$t0
  while :; do
    ans=$(app "$port")
    t=$(now)
    if [[ $want == present && " $ans" == *" $addr "* ]] || [[ $want == absent && -n $ans && " $ans" != *" $addr "* ]]; then
      awk -v a="$prev" -v b="$t" 'BEGIN { printf "%.6f\n", (a + b) / 2 }'
      echo "$prev $t" >>"$dir/polls"
      return 0
    fi
    prev=$t
    if (($(awk -v a="$t" -v b="$t0" -v m="$max" 'BEGIN { print (a - b > m) }'))); then
      echo "timeout: $addr still $([[ $want == present ]] && echo absent || echo present) after ${max}s (answer: $ans)" >&2
      return 1
    fi
    sleep "$poll"
  done
}

wait_all() { # PORT MAXSECONDS: until all three backends are answered
  local port=$1 max=$2 i
  for ((i = 0; i < max * 10; i++)); do
    [[ $(app "$port") == "127.0.0.11 127.0.0.12 127.0.0.13 " ]] && return 0
    sleep 0.1
  done
  echo "$server_name never answered all three backends (answer: $(app "$port"))" >&2
  return 1
}

start_server() { # NAME: start it, wait until it answers all three backends; sets port
  server_name=$1
  case $1 in
    gslb)
      cp "$dir/zone.db" "$dir/zones-gslb/gslb.example.zone"
      RUST_LOG=info "$gslb_bin" serve -c "$dir/gslb.toml" >"$out/gslb.log" 2>&1 9>&- &
      port=5300 ;;
    gdnsd)
      cp "$dir/gdnsd.config" "$dir/gdnsd/config"
      cat "$dir/zone.db" "$dir/gdnsd-dyn.db" >"$dir/gdnsd/zones/gslb.example"
      gdnsd -c "$dir/gdnsd" start >"$out/gdnsd.log" 2>&1 9>&- &
      port=5301 ;;
    pdns)
      printf 'zone "gslb.example" { type master; file "%s/zone-pdns.db"; };\n' "$dir" >"$dir/named.conf"
      cat "$dir/zone.db" "$dir/pdns-lua.db" >"$dir/zone-pdns.db"
      pdns_server --config-dir="$dir" >"$out/pdns.log" 2>&1 9>&- &
      port=5302 ;;
    *) echo "unknown server $1" >&2; exit 2 ;;
  esac
  server_pid=$!
  # PowerDNS starts checking on the first query and answers every address until then.
  wait_all "$port" 30
  sleep 3
  wait_all "$port" 10
}

stop_server() {
  [[ -n $server_pid ]] || return 0
  kill "$server_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  [[ $server_name == gdnsd ]] && gdnsd -c "$dir/gdnsd" stop >/dev/null 2>&1 9>&- || true
  server_pid=
}

# The check interval of each server as configured (for the random kill moment).
interval_of() { case $1 in gdnsd) echo 2 ;; *) echo 1 ;; esac; }

for a in "${backends[@]}"; do
  listening "$a" && { echo "$a:8080 is already in use" >&2; exit 1; }
  start_backend "$a"
done

echo "server,mode,round,backend,failover_s,recovery_s" >"$csv"
for s in $servers; do
  start_server "$s"
  iv=$(interval_of "$s")
  for mode in $modes; do
    for ((r = 1; r <= rounds; r++)); do
      a=${backends[$(((r - 1) % 3))]}
      wait_all "$port" 15
      # a random moment within two check intervals, so the kill lands anywhere in the cycle
      sleep "$(awk -v s=$RANDOM -v iv="$iv" 'BEGIN { srand(s); printf "%.3f", 1 + 2 * iv * rand() }')"
      if [[ $mode == kill ]]; then
        t_kill=$(now); kill -9 "${bpid[$a]}"
        wait "${bpid[$a]}" 2>/dev/null || true
      else
        t_kill=$(now); kill -STOP "${bpid[$a]}"
      fi
      t_gone=$(wait_answer "$port" "$a" absent 20)
      # and bring it back at a random moment too, or the restart would keep one phase against
      # the check schedule (it would always follow the failing probe by the same delay)
      sleep "$(awk -v s=$RANDOM -v iv="$iv" 'BEGIN { srand(s); printf "%.3f", 2 * iv * rand() }')"
      if [[ $mode == kill ]]; then
        start_backend "$a"; t_back=$(now)
      else
        t_back=$(now); kill -CONT "${bpid[$a]}"
      fi
      t_here=$(wait_answer "$port" "$a" present 20)
      f=$(sub "$t_gone" "$t_kill"); b=$(sub "$t_here" "$t_back")
      printf '%-6s %-4s round %2d  %s  failover %6.3f s  recovery %6.3f s\n' "$s" "$mode" "$r" "$a" "$f" "$b"
      echo "$s,$mode,$r,$a,$f,$b" >>"$csv"
    done
  done
  stop_server
done

echo
echo "raw: $csv"
awk '{ s += $2 - $1; n++ } END { if (n) printf "poll period around each change: %.0f ms on average\n", 1000 * s / n }' "$dir/polls"
python3 - "$csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
# Expected windows, from each server's check schedule (docs/health.md derives them). A killed
# backend refuses at once; a stopped one is silent, so a probe fails only at its timeout, and
# on SIGCONT the probe then in flight (queued in the backlog) is answered at once.
# gslb: interval I=1, timeout T=0.5, fall=rise=2.
# gdnsd: interval 2, timeout 1, down_thresh=up_thresh=2, + 1 s state-table coalescing timer.
# PowerDNS 4.7: a round of every check each lua-health-checks-interval=1 s, one result decides,
#   ifurlup's default timeout 2 s (the record's interval='1' option is not read by 4.7); while a
#   backend is silent every round waits out that timeout, so a check is always in flight.
expected = {
    ("gslb", "kill"): ((1.0, 2.0), (1.0, 2.0)),
    ("gslb", "hang"): ((1.5, 2.5), (0.5, 1.5)),
    ("gdnsd", "kill"): ((3.0, 5.0), (3.0, 5.0)),
    ("gdnsd", "hang"): ((4.0, 6.0), (2.0, 4.0)),
    ("pdns", "kill"): ((0.0, 1.0), (0.0, 1.0)),
    ("pdns", "hang"): ((2.0, 3.0), (0.0, 0.1)),
}
print(f"{'server':7}{'mode':5}{'n':>3}  {'failover min/median/max (s)':30}{'expected':14}"
      f"{'recovery min/median/max (s)':30}{'expected':14}")
seen = []
for r in rows:
    k = (r["server"], r["mode"])
    if k not in seen:
        seen.append(k)
for k in seen:
    f = [float(r["failover_s"]) for r in rows if (r["server"], r["mode"]) == k]
    b = [float(r["recovery_s"]) for r in rows if (r["server"], r["mode"]) == k]
    ef, eb = expected.get(k, ((0, 0), (0, 0)))
    fmt = lambda xs: f"{min(xs):.3f} / {statistics.median(xs):.3f} / {max(xs):.3f}"
    print(f"{k[0]:7}{k[1]:5}{len(f):>3}  {fmt(f):30}{f'{ef[0]:.1f}-{ef[1]:.1f}':14}"
          f"{fmt(b):30}{f'{eb[0]:.1f}-{eb[1]:.1f}':14}")
EOF
