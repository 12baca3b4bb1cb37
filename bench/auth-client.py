#!/usr/bin/python3
"""auth-client.py: drives authdaemond's socket for bench/auth-logins.sh.

    auth-client.py SOCKET MODE COUNT CONCURRENCY NACCOUNTS PASSWORD

MODE "login" sends AUTH login requests (service imap), "pre" sends PRE
lookups, for accounts user<N>@d<N%100>.test picked at random among
NACCOUNTS.  Prints "<requests per second> <median latency ms>"; exits 1
if any request is not answered with a record."""

import random
import socket
import sys
import threading
import time


def one(path, mode, name, password):
    if mode == "login":
        data = "imap\nlogin\n%s\n%s\n" % (name, password)
        req = ("AUTH %d\n%s" % (len(data), data)).encode()
    else:
        req = ("PRE . imap %s\n" % name).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(req)
    out = b""
    while not out.endswith(b"\n.\n") and out != b"FAIL\n":
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    s.close()
    return out.endswith(b"\n.\n")


def main():
    path, mode = sys.argv[1], sys.argv[2]
    count, conc, naccounts = map(int, sys.argv[3:6])
    password = sys.argv[6]
    rng = random.Random(42)
    names = ["user%d@d%d.test" % (i, i % 100)
             for i in (rng.randrange(naccounts) for _ in range(count))]
    lat = []
    failed = []
    lock = threading.Lock()

    def worker(part):
        for name in part:
            t0 = time.perf_counter()
            ok = one(path, mode, name, password)
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                if not ok:
                    failed.append(name)

    parts = [names[i::conc] for i in range(conc)]
    threads = [threading.Thread(target=worker, args=(p,)) for p in parts]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat.sort()
    print("%.1f %.3f" % (count / elapsed, lat[len(lat) // 2] * 1000))
    if failed:
        print("failed: %d, e.g. %s" % (len(failed), failed[0]),
              file=sys.stderr)
        sys.exit(1)


main()
