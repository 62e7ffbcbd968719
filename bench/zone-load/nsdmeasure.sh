#!/bin/bash
cd "$(dirname "$0")"
echo "== nsd-checkzone"; /usr/bin/time -f "nsd-checkzone %e s, peak %M KB" nsd-checkzone big.example zones/big.example.zone 2>&1 | tail -1
rm -f nsd/nsd.pid
s=$(date +%s.%N); nsd -d -c "$PWD/nsd/nsd.conf" 2>/dev/null & P=$!
until dig +short +time=1 +tries=1 -p 5393 @127.0.0.1 host999999.big.example A | grep -q 10.; do sleep 0.02; done
e=$(date +%s.%N); echo "nsd ready $(echo "$e - $s" | bc) s"; sleep 2
rss=0; pss=0; for p in $(pgrep -P $P) $P; do r=$(grep VmRSS /proc/$p/status | awk '{print $2}'); q=$(grep ^Pss: /proc/$p/smaps_rollup | awk '{print $2}'); rss=$((rss+r)); pss=$((pss+q)); done
echo "nsd RSS summed ${rss} kB, PSS ${pss} kB"; kill $P; wait $P 2>/dev/null
