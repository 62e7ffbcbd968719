#!/usr/bin/env python3
"""Writes a zone of N records for the growth benchmarks.

Usage: gen_zone.py N ORIGIN ZONE_FILE [PIECE_DIR]

Mostly A records (hostI A 10.x.y.z); every 10th name also has an AAAA, every 50th a TXT, every
100th an MX, and every 100th name is a CNAME to the previous host: about 12 % other types.
hostN-1 is always an A record, and the last one written: the benchmarks poll it to know the
whole zone is loaded. With PIECE_DIR, the records go into pieces of at most 1,000,000 records
there, each $INCLUDEd by absolute path from ZONE_FILE (gslb bounds each file, and NSD and Knot
read the same files).
"""
import os
import sys

PIECE = 1_000_000


def records(n):
    """Yields n record lines (apex records not counted)."""
    i = 0
    written = 0
    while written < n:
        last = written == n - 1
        name = f"host{n - 1}" if last else f"host{i}"
        if not last and i % 100 == 99:
            yield f"{name} CNAME host{i - 1}\n"
            written += 1
        else:
            yield f"{name} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n"
            written += 1
            if last:
                return
            for kind, every, line in (
                ("AAAA", 10, f"{name} AAAA 2001:db8::{i & 0xffff:x}\n"),
                ("TXT", 50, f'{name} TXT "record {i}"\n'),
                ("MX", 100, f"{name} MX 10 mail.{name}\n"),
            ):
                if i % every == 0 and written < n - 1:
                    yield line
                    written += 1
        i += 1


def main():
    n, origin, zone_file = int(sys.argv[1]), sys.argv[2].rstrip(".") + ".", sys.argv[3]
    pieces = sys.argv[4] if len(sys.argv) > 4 else None
    head = (
        f"$ORIGIN {origin}\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 604800 60\n"
        "@ NS ns1\nns1 A 192.0.2.1\n"
    )
    gen = records(n)
    with open(zone_file, "w") as z:
        z.write(head)
        if not pieces:
            z.writelines(gen)
            return
        os.makedirs(pieces, exist_ok=True)
        k = 0
        done = False
        while not done:
            path = os.path.abspath(os.path.join(pieces, f"part{k:03}.inc"))
            with open(path, "w") as p:
                count = 0
                for line in gen:
                    p.write(line)
                    count += 1
                    if count == PIECE:
                        break
                else:
                    done = True
            if count:
                z.write(f"$INCLUDE {path} {origin}\n")
            k += 1


if __name__ == "__main__":
    main()
