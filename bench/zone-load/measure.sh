#!/bin/bash
# usage: measure.sh BIN  -> prints check time/peak, serve ready time and RSS; then NSD
BIN=$1
cd "$(dirname "$0")"
echo "== $BIN check"; /usr/bin/time -f "check %e s, peak %M KB" $BIN check -c gslb.toml 2>&1 | tail -1
s=$(date +%s.%N); $BIN serve -c gslb.toml 2>/dev/null & P=$!
until dig +short +time=1 +tries=1 -p 5391 @127.0.0.1 host999999.big.example A | grep -q 10.; do sleep 0.02; done
e=$(date +%s.%N); echo "serve ready $(echo "$e - $s" | bc) s"; sleep 2
echo "serve RSS $(grep VmRSS /proc/$P/status)"; kill $P; wait $P 2>/dev/null
