#!/usr/bin/env python3
"""TCP listeners on many loopback addresses, for bench/prober-scale.sh.

Usage: tcp_listeners.py COUNT PORT [HANG]

Listens on 127.1.N.1-100:PORT for N = 0, 1, ... until COUNT listeners (so endpoint i of
balanced name N is 127.1.N.(i+1)), accepts every connection and closes it at once (a TCP check
only needs the handshake). One thread, one epoll set, no per-connection objects. Prints
"ready COUNT" once every socket listens, then once a second "accepted TOTAL" (connections so
far), on stdout, flushed. Loopback only: every address lies in 127.0.0.0/8.

With HANG, the last HANG listeners never accept: once their one-slot accept queue is full the
kernel drops further SYNs, so a check's connect() hangs until its timeout (a blackholed data
center, as a prober sees it).
"""

import os
import select
import socket
import sys
import time


def address(i: int) -> str:
    return f"127.1.{i // 100}.{i % 100 + 1}"


def main() -> None:
    count, port = int(sys.argv[1]), int(sys.argv[2])
    hang = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if count > 25600:
        sys.exit("at most 25600 listeners (127.1.0-255.1-100)")
    ep = select.epoll()
    listeners = {}
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address(i), port))
        if i >= count - hang:
            s.listen(0)
            listeners[s.fileno()] = s  # kept open, never accepted from
            continue
        s.listen(64)
        s.setblocking(False)
        listeners[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLIN)
    print(f"ready {count}", flush=True)
    accepted = 0
    next_report = time.monotonic() + 1.0
    while True:
        for fd, _ in ep.poll(0.2, 1024):
            s = listeners[fd]
            while True:
                try:
                    conn, _ = s._accept()  # a bare fd: no socket object per connection
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break  # e.g. EMFILE: the connection stays queued, try again later
                os.close(conn)
                accepted += 1
        now = time.monotonic()
        if now >= next_report:
            print(f"accepted {accepted}", flush=True)
            next_report = now + 1.0


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
