#!/usr/bin/env python3
"""Writes a gslb configuration of N balanced names x 4 endpoints, and the zone they live in.

Usage: gen_config.py N OUT_DIR [--dns-port P] [--admin-port P] [--variant K]

OUT_DIR/gslb.toml gets N names nI.growth.example (policy failover, 4 endpoints each in 4 of 8
datacenters, every address in 127.0.0.0/8), and OUT_DIR/zones/growth.example.zone the zone.
Every 100th name is probed by one of 8 TCP checks whose `address` is 127.0.0.1 on a port in
19400..19407 (nothing need listen: those names then fail open); the others have no check, so
probing never leaves the host. The last name's priority-1 endpoint is 127.250.K.1 for
--variant K (default 0): a reload with another K changes that one answer.
"""
import argparse
import os


def main():
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int)
    p.add_argument("out")
    p.add_argument("--dns-port", type=int, default=5391)
    p.add_argument("--admin-port", type=int, default=8391)
    p.add_argument("--variant", type=int, default=0)
    a = p.parse_args()
    os.makedirs(os.path.join(a.out, "zones"), exist_ok=True)
    with open(os.path.join(a.out, "zones", "growth.example.zone"), "w") as z:
        z.write(
            "$ORIGIN growth.example.\n$TTL 3600\n"
            "@ IN SOA ns1 hostmaster 1 3600 600 604800 60\n"
            "@ IN NS ns1\nns1 IN A 127.0.0.1\n"
        )
    w = []
    w.append(
        f'[server]\nlisten = ["127.0.0.1:{a.dns_port}"]\nthreads = 1\n\n'
        f'[admin]\nlisten = "127.0.0.1:{a.admin_port}"\n\n'
        f'[zones]\ndirectory = "zones"\n\n[cookies]\nenabled = false\n\n[rrl]\nenabled = false\n'
    )
    for c in range(8):
        w.append(
            f'\n[checks.tcp{c}]\nprotocol = "tcp"\nport = {19400 + c}\n'
            f'address = "127.0.0.1"\ninterval = "5s"\ntimeout = "1s"\n'
        )
    for d in range(8):
        w.append(
            f'\n[datacenters.dc{d}]\nnetworks = ["198.18.{d}.0/24"]\n'
            f"location = {{ lat = {d * 10}.0, lon = {d * 20}.0 }}\n"
        )
    for i in range(a.n):
        hi, lo = (i >> 8) & 255, i & 255
        last = i == a.n - 1
        check = f'check = "tcp{(i // 100) % 8}"\n' if i % 100 == 0 and not last else ""
        w.append(
            f'\n[[balance]]\nname = "n{i}.growth.example"\npolicy = "failover"\nttl = 30\n{check}'
            "endpoints = [\n"
        )
        for e in range(4):
            addr = f"127.250.{a.variant}.1" if last and e == 0 else f"127.{16 + e}.{hi}.{lo}"
            w.append(
                f'  {{ address = "{addr}", datacenter = "dc{(i + e) % 8}", priority = {e + 1} }},\n'
            )
        w.append("]\n")
    with open(os.path.join(a.out, "gslb.toml"), "w") as f:
        f.write("".join(w))


if __name__ == "__main__":
    main()
