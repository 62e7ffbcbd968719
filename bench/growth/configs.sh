#!/usr/bin/env bash
# Growth with configuration size (issue #12): N balanced names × 4 endpoints, for each N:
#   check    wall time of `gslb check` on the generated config;
#   start    `gslb serve` spawned until the last name answers (dig polled every 10 ms);
#   reload   SIGHUP after the last name's answer was changed in the file, until dig shows the
#            new answer;
#   RSS      VmRSS of the server once it answers (from /proc/PID/status), and after the reload.
#
# Usage: bench/growth/configs.sh [N ...]     (default: 1000 10000 100000)
#   GSLB_BIN  default target/release/gslb;  OUT: where configs and logs go (default: a temp dir)
# Run it under the build lock so no compile disturbs it (it also holds /tmp/bench.lock):
#   flock /tmp/cargo.lock bench/growth/configs.sh
# Everything is on loopback: the server on 127.0.0.1:5391/8391, the endpoints in 127.0.0.0/8,
# and the few checked names probe 127.0.0.1 (bench/growth/gen_config.py says which).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
gslb_bin=${GSLB_BIN:-$root/target/release/gslb}
[[ $gslb_bin = /* ]] || gslb_bin=$root/$gslb_bin
out=${OUT:-$(mktemp -d -t growth-configs.XXXX)}
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 10000 100000)
dns_port=5391
admin_port=8391
gslb=

for tool in python3 dig; do
  command -v "$tool" >/dev/null || { echo "configs.sh: $tool is required" >&2; exit 2; }
done
[[ -x $gslb_bin ]] || { echo "configs.sh: no $gslb_bin (cargo build --release)" >&2; exit 2; }

cleanup() {
  set +e
  [[ -n $gslb ]] && kill "$gslb" 2>/dev/null && wait "$gslb" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

exec 9>/tmp/bench.lock
if ! flock -n 9; then
  echo "waiting for /tmp/bench.lock (another benchmark is running)..." >&2
  flock 9
fi

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
answer() { dig +short +time=1 +tries=1 @127.0.0.1 -p $dns_port "$1" A 2>/dev/null | head -1; }

# until ANSWER(name) is $2, the server alive, at most $3 seconds
await() {
  local name=$1 want=$2 limit=$3 t0
  t0=$(now)
  while [[ $(answer "$name") != "$want" ]]; do
    kill -0 "$gslb" 2>/dev/null || { echo "gslb exited:" >&2; tail -20 "$dir/gslb.log" >&2; exit 1; }
    (($(awk -v a="$(now)" -v b="$t0" -v l="$limit" 'BEGIN { print (a - b > l) }'))) && {
      echo "no answer $want for $name within ${limit}s" >&2; exit 1; }
    sleep 0.01
  done
}

rows=()
for n in "${sizes[@]}"; do
  dir=$out/$n
  gen() { python3 "$here/gen_config.py" "$n" "$dir" --dns-port $dns_port --admin-port $admin_port --variant "$1"; }
  gen 0
  last=n$((n - 1)).growth.example
  size=$(du -m "$dir/gslb.toml" | cut -f1)

  t0=$(now)
  "$gslb_bin" check -c "$dir/gslb.toml" >"$dir/check.out" 2>&1 || { cat "$dir/check.out" >&2; exit 1; }
  t_check=$(since "$t0")

  t0=$(now)
  RUST_LOG=warn "$gslb_bin" serve -c "$dir/gslb.toml" >"$dir/gslb.log" 2>&1 9>&- &
  gslb=$!
  await "$last" 127.250.0.1 600
  t_start=$(since "$t0")
  rss=$(rss_mib "$gslb")

  gen 1
  t0=$(now)
  kill -HUP "$gslb"
  await "$last" 127.250.1.1 600
  t_reload=$(since "$t0")
  rss2=$(rss_mib "$gslb")
  kill "$gslb"; wait "$gslb" 2>/dev/null || true; gslb=

  rows+=("$(printf '%8d %8d %9s %9s %9s %10s %10s' "$n" "$size" "$t_check" "$t_start" "$t_reload" "$rss" "$rss2")")
done

printf '%8s %8s %9s %9s %9s %10s %10s\n' names "file MB" "check s" "start s" "reload s" "RSS MiB" "RSS reload"
printf '%s\n' "${rows[@]}"
echo "configs and logs: $out"
