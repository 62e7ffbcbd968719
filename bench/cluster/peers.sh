#!/usr/bin/env bash
# The peer harness's gslb cells with [cluster] on (issue #13: etcd is off the answer path, so
# CPU per query must not change): one etcd member on 127.0.0.94, gslb with bench/peers/gslb.toml
# plus a [cluster] table on 127.0.0.1:5310, measured by the harness's ours:PORT mode.
#
# Usage: bench/cluster/peers.sh PEERS_SCRIPT [SECONDS] [more servers for the same run...]
#   PEERS_SCRIPT: the harness's run-peers.sh;  GSLB_BIN: default target/release/gslb
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peers=${1:?usage: peers.sh PEERS_SCRIPT [SECONDS] [servers...]}
secs=${2:-10}
shift 2 || shift $#
gslb_bin=${GSLB_BIN:-$root/target/release/gslb}
out=$(mktemp -d -t cluster-peers.XXXX)
pids=()
cleanup() { set +e; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
etcd --name p1 --data-dir "$out/etcd" --listen-client-urls http://127.0.0.94:23798 \
  --advertise-client-urls http://127.0.0.94:23798 --listen-peer-urls http://127.0.0.94:23808 \
  --initial-advertise-peer-urls http://127.0.0.94:23808 --initial-cluster p1=http://127.0.0.94:23808 \
  --log-level warn >"$out/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf http://127.0.0.94:23798/health >/dev/null && break; sleep 0.1; done
mkdir -p "$out/zones"
cp "$root/bench/peers/zone.db" "$out/zones/gslb.example.zone"
sed -e "s|@DIR@/zones-gslb|$out/zones|" -e 's|127.0.0.1:5300|127.0.0.1:5310|' -e 's|127.0.0.1:8300|127.0.0.1:8310|' \
  "$root/bench/peers/gslb.toml" >"$out/gslb.toml"
printf '\n[cluster]\ninstance = "bench"\netcd = ["http://127.0.0.94:23798"]\nprefix = "/gslb/peers"\n' >>"$out/gslb.toml"
taskset -c 0 "$gslb_bin" serve -c "$out/gslb.toml" >"$out/gslb.log" 2>&1 &
pids+=($!)
gslb=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:8310/v1/cluster | grep -q '"state":"up"' && break; sleep 0.1; done
curl -sf http://127.0.0.1:8310/v1/cluster | grep -q '"state":"up"' || { echo "gslb's cluster store is not up" >&2; cat "$out/gslb.log" >&2; exit 1; }
OURS_PID=$gslb bash "$peers" "$secs" "$@" ours:5310
