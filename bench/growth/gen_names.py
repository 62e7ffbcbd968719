#!/usr/bin/env python3
"""Writes a gslb.toml with N balanced names, for the reload-under-load benchmark.

Usage: gen_names.py N LISTEN ZONES_DIR > gslb.toml

Names app0..appN-1 in the zone names.example. (write it with gen_zone.py), policy "all" over
two endpoints in two data centers, no health checks (nothing to probe on loopback).
"""
import sys

n, listen, zones = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = [
    f'[server]\nlisten = ["{listen}"]\nthreads = 1\n',
    f'[zones]\ndirectory = "{zones}"\n',
    "[datacenters.a]\n[datacenters.b]\n",
]
for i in range(n):
    a, b = 1 + i % 250, 1 + (i // 250) % 250
    out.append(
        f'[[balance]]\nname = "app{i}.names.example"\npolicy = "all"\nendpoints = [\n'
        f'  {{ address = "198.51.{b}.{a}", datacenter = "a" }},\n'
        f'  {{ address = "203.0.{b}.{a}", datacenter = "b" }},\n]\n'
    )
sys.stdout.write("".join(out))
