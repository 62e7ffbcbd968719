#!/usr/bin/env python3
"""The kernel's floor for bench/prober-scale.sh: bare TCP connect()+close() at the prober's rate.

Usage: connect_floor.py COUNT PORT SECONDS [linger0]

Connects to every address of tcp_listeners.py (127.1.N.1-100:PORT) once a second, blocking,
closing each socket at once (with SO_LINGER 0, i.e. a RST, when "linger0" is given), for SECONDS
seconds. On loopback the whole handshake, both ends, runs inside connect() and close(), so this
process's system time is what the kernel charges any prober for the same connections; its user
time is only Python's. Prints "connects N failed M" at the end. Loopback only.
"""

import os
import socket
import struct
import sys
import time


def main() -> None:
    count, port, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    linger0 = len(sys.argv) > 4 and sys.argv[4] == "linger0"
    addrs = [(f"127.1.{i // 100}.{i % 100 + 1}", port) for i in range(count)]
    done = failed = 0
    end = time.monotonic() + secs
    tick = time.monotonic()
    while time.monotonic() < end:
        for a in addrs:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(0.5)
            if linger0:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            try:
                s.connect(a)
                done += 1
            except OSError:
                failed += 1
            s.close()
        tick += 1.0
        pause = tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    t = os.times()
    print(f"connects {done} failed {failed} user {t.user:.2f} sys {t.system:.2f} secs {secs}", flush=True)


if __name__ == "__main__":
    main()
