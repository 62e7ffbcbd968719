#!/usr/bin/env python3
"""Writes zones/big.example.zone: SOA, NS, ns1 and N (default 1,000,000) A records."""
import sys
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
with open('zones/big.example.zone', 'w') as f:
    f.write("$ORIGIN big.example.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
            "@ IN NS ns1\nns1 IN A 10.255.255.1\n")
    for i in range(n):
        f.write(f"host{i} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
