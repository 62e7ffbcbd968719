#!/usr/bin/env bash
# A CNAME answer against an address answer on the peer harness (issue #15's budget): gslb with
# bench/peers/gslb.toml in which wapp.gslb.example's three weighted endpoints answer CNAMEs to
# names outside the zone (a.cdn-one.example. …, probed at the same addresses), on
# 127.0.0.1:5311, measured by the harness's ours:PORT mode after the harness's own gslb, whose
# wapp answers addresses: the balanced-wtd cells of the two rows are the comparison.
#
# Usage: bench/routing/cname-peers.sh PEERS_SCRIPT [SECONDS] [more servers for the same run...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peers=${1:?usage: cname-peers.sh PEERS_SCRIPT [SECONDS] [servers...]}
secs=${2:-10}
shift 2 || shift $#
gslb_bin=${GSLB_BIN:-$root/target/release/gslb}
out=$(mktemp -d -t cname-peers.XXXX)
pids=()
cleanup() { set +e; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
mkdir -p "$out/zones"
cp "$root/bench/peers/zone.db" "$out/zones/gslb.example.zone"
sed -e "s|@DIR@/zones-gslb|$out/zones|" -e 's|127.0.0.1:5300|127.0.0.1:5311|' -e 's|127.0.0.1:8300|127.0.0.1:8311|' \
  -e 's|{ address = "127.0.0.11", datacenter = "dc1", weight = 30 }|{ target = "a.cdn-one.example.", check_address = "127.0.0.11", datacenter = "dc1", weight = 30 }|' \
  -e 's|{ address = "127.0.0.12", datacenter = "dc2", weight = 20 }|{ target = "b.cdn-two.example.", check_address = "127.0.0.12", datacenter = "dc2", weight = 20 }|' \
  -e 's|{ address = "127.0.0.13", datacenter = "dc3", weight = 10 }|{ target = "c.cdn-three.example.", check_address = "127.0.0.13", datacenter = "dc3", weight = 10 }|' \
  "$root/bench/peers/gslb.toml" >"$out/gslb.toml"
grep -q 'target = "a.cdn-one.example."' "$out/gslb.toml" || { echo "the wapp endpoints were not rewritten" >&2; exit 1; }
taskset -c 0 "$gslb_bin" serve -c "$out/gslb.toml" >"$out/gslb.log" 2>&1 &
pids+=($!)
gslb=$!
for _ in $(seq 100); do dig +short +time=1 +tries=1 @127.0.0.1 -p 5311 wapp.gslb.example A >/dev/null 2>&1 && break; sleep 0.1; done
echo "wapp answers: $(dig +short @127.0.0.1 -p 5311 wapp.gslb.example A | tr '\n' ' ')"
OURS_PID=$gslb bash "$peers" "$secs" "$@" ours:5311
