#!/bin/bash
# gslb with a config the peer harness does not ship, measured by the harness's ours:PORT mode:
#   run-abuse.sh [seconds] [config.toml] [gslb binary]
# Default: gslb-rrl-all.toml (RRL on for loopback too, rates above the load) with
# target/release/gslb. Prints the harness's table row (QPS / server CPU µs per query).
# PEERS_RUN= names the harness (default: ../shared/bench/peers/run-peers.sh beside the repo).
# Loopback only; holds /tmp/bench.lock; kills what it started.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
config=${2:-$here/gslb-rrl-all.toml}
bin=${3:-$root/target/release/gslb}
run=${PEERS_RUN:-$root/../shared/bench/peers/run-peers.sh}
exec 9>/tmp/bench.lock; flock 9
dir=$(mktemp -d -t abuse.XXXX)
mkdir -p "$dir/zones-gslb"
cp "$root/bench/peers/zone.db" "$dir/zones-gslb/gslb.example.zone"
sed "s#@DIR@#$dir#g" "$config" > "$dir/gslb.toml"
port=$(sed -n 's/^listen = \["127.0.0.1:\([0-9]*\)"\]/\1/p' "$dir/gslb.toml")
taskset -c 0 "$bin" serve -c "$dir/gslb.toml" > "$dir/gslb.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do
  dig +short +time=1 +tries=1 @127.0.0.1 -p "$port" www.gslb.example A >/dev/null 2>&1 && break
  sleep 0.2
done
OURS_PID=$pid bash "$run" "$secs" "ours:$port"
