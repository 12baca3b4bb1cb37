#!/usr/bin/env python3
"""bench/smtp-load.py: SMTP load generator and idle-connection memory probe.

  smtp-load.py send --port P [--host H] [--messages N] [--clients C]
                    [--size BYTES] [--domain D] [--accounts A]
                    [--per-conn K] [--maildirs DIR --timeout S]
      C clients at once (asyncio, raw sockets, one event loop) send N
      messages of about BYTES bytes to u<i % A>@D, K messages per
      connection (0: one connection per client for the whole run).  With
      PIPELINING offered, MAIL, RCPT and DATA go in one write.  With
      --maildirs, then waits until DIR/u*/Maildir/new/ holds N more files.
      Prints key=value lines: accepted_s (first connect to last 250),
      delivered_s (first connect to the last file seen), errors.

  smtp-load.py idle --port P [--host H] [--connections N] --pids PID,...
      measures the total RSS and PSS of the process trees rooted at the
      PIDs, opens N connections and waits for each greeting, waits 2 s,
      measures again, then closes them.  Prints key=value lines:
      procs_base, rss_base_kib, pss_base_kib, connected, procs, rss_kib,
      pss_kib.

  smtp-load.py count DIR
      prints how many files DIR/*/Maildir/new/ holds.
  smtp-load.py wait DIR TARGET [--timeout S]
      returns once DIR/*/Maildir/new/ holds TARGET files (exit 1 after S
      seconds, default 600), polling every 50 ms.

The same client code drives every server, so its cost is the same for each.
"""

import argparse
import asyncio
import os
import sys
import time


class SMTPError(Exception):
    pass


async def read_reply(reader):
    """One SMTP reply: (code, text of its last line)."""
    while True:
        line = await reader.readline()
        if not line:
            raise SMTPError("connection closed")
        if len(line) < 4 or not line[:3].isdigit():
            raise SMTPError("bad reply line %r" % line[:80])
        if line[3:4] != b"-":
            return int(line[:3]), line


def make_body(size, n):
    """A message of about size bytes, CRLF, dot-stuffing not needed."""
    head = ("From: <bench@bench.test>\r\n"
            "To: <rcpt@bench.test>\r\n"
            "Subject: bench message %d\r\n"
            "Date: Thu, 20 Nov 2025 12:00:00 +0000\r\n"
            "Message-ID: <bench.%d.%d@bench.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n" % (n, os.getpid(), n)).encode()
    line = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/=-_"
    body = bytearray(head)
    i = 0
    while len(body) < size - 3:
        rot = i % len(line)
        body += line[rot:] + line[:rot] + b"\r\n"
        i += 1
    return bytes(body) + b".\r\n"


class Counter:
    def __init__(self, total):
        self.total = total
        self.next = 0
        self.done = 0
        self.errors = 0
        self.last_ok = 0.0

    def take(self):
        if self.next >= self.total:
            return None
        self.next += 1
        return self.next - 1


async def client(args, counter, bodies):
    reader = writer = None
    pipelining = False
    in_conn = 0
    try:
        while True:
            n = counter.take()
            if n is None:
                break
            if writer is None:
                reader, writer = await asyncio.open_connection(
                    args.host, args.port)
                code, _ = await read_reply(reader)
                if code != 220:
                    raise SMTPError("greeting %d" % code)
                writer.write(b"EHLO client.bench.test\r\n")
                pipelining = False
                while True:
                    line = await reader.readline()
                    if not line.startswith(b"250"):
                        raise SMTPError("EHLO: %r" % line[:80])
                    if line[4:].strip().upper() == b"PIPELINING":
                        pipelining = True
                    if line[3:4] != b"-":
                        break
                in_conn = 0
            rcpt = "u%d@%s" % (n % args.accounts, args.domain)
            cmds = [b"MAIL FROM:<bench@bench.test>\r\n",
                    ("RCPT TO:<%s>\r\n" % rcpt).encode(), b"DATA\r\n"]
            want = (250, 250, 354)
            if pipelining:
                writer.write(b"".join(cmds))
                codes = [(await read_reply(reader))[0] for _ in cmds]
            else:
                codes = []
                for c in cmds:
                    writer.write(c)
                    codes.append((await read_reply(reader))[0])
            if tuple(codes) != want:
                counter.errors += 1
                writer.write(b"RSET\r\n")
                await read_reply(reader)
                continue
            writer.write(bodies[n % len(bodies)])
            code, line = await read_reply(reader)
            if code != 250:
                counter.errors += 1
                print("refused: %r" % line[:100], file=sys.stderr)
            else:
                counter.done += 1
                counter.last_ok = time.monotonic()
            in_conn += 1
            if args.per_conn and in_conn >= args.per_conn:
                writer.write(b"QUIT\r\n")
                await read_reply(reader)
                writer.close()
                await writer.wait_closed()
                writer = None
    finally:
        if writer is not None:
            writer.write(b"QUIT\r\n")
            try:
                await read_reply(reader)
            except (SMTPError, OSError):
                pass
            writer.close()


def count_new(root):
    total = 0
    try:
        accounts = os.scandir(root)
    except OSError:
        return 0
    with accounts:
        for acc in accounts:
            try:
                with os.scandir(os.path.join(acc.path, "Maildir", "new")) as d:
                    for _ in d:
                        total += 1
            except OSError:
                pass
    return total


async def run_send(args):
    bodies = [make_body(args.size, i) for i in range(64)]
    base = count_new(args.maildirs) if args.maildirs else 0
    counter = Counter(args.messages)
    t0 = time.monotonic()
    tasks = [asyncio.create_task(client(args, counter, bodies))
             for _ in range(args.clients)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            print("client failed: %r" % (r,), file=sys.stderr)
            counter.errors += 1
    accepted = counter.last_ok - t0
    print("accepted=%d" % counter.done)
    print("errors=%d" % counter.errors)
    print("accepted_s=%.3f" % accepted)
    if args.maildirs:
        deadline = time.monotonic() + args.timeout
        last = -1
        while True:
            now_count = count_new(args.maildirs) - base
            now = time.monotonic()
            if now_count != last:
                last = now_count
                last_change = now
            if now_count >= counter.done:
                break
            if now > deadline:
                print("delivered=%d" % now_count)
                print("timeout waiting for delivery", file=sys.stderr)
                return 1
            await asyncio.sleep(0.05)
        print("delivered=%d" % now_count)
        print("delivered_s=%.3f" % (last_change - t0))
    return 0 if counter.errors == 0 else 1


def tree(pids):
    """Every pid in the process trees rooted at pids."""
    children = {}
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % ent) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(ent))
    seen = set()
    todo = list(pids)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(children.get(p, []))
    return seen


def memory(pids):
    procs = rss = pss = 0
    for p in tree(pids):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            procs += 1
        except OSError:
            pass
    return procs, rss, pss


async def run_idle(args):
    pids = [int(p) for p in args.pids.split(",") if p]
    procs, rss, pss = memory(pids)
    print("procs_base=%d" % procs)
    print("rss_base_kib=%d" % rss)
    print("pss_base_kib=%d" % pss)
    sem = asyncio.Semaphore(50)
    conns = []

    async def one():
        async with sem:
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(args.host, args.port), 30)
                code, _ = await asyncio.wait_for(read_reply(r), 60)
            except (OSError, SMTPError, asyncio.TimeoutError) as e:
                print("connection failed: %r" % (e,), file=sys.stderr)
                return
            if code == 220:
                conns.append(w)
            else:
                w.close()

    await asyncio.gather(*[one() for _ in range(args.connections)])
    await asyncio.sleep(2)
    procs, rss, pss = memory(pids)
    print("connected=%d" % len(conns))
    print("procs=%d" % procs)
    print("rss_kib=%d" % rss)
    print("pss_kib=%d" % pss)
    for w in conns:
        w.close()
    await asyncio.sleep(0.5)
    return 0 if len(conns) == args.connections else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--messages", type=int, default=10000)
    s.add_argument("--clients", type=int, default=10)
    s.add_argument("--size", type=int, default=4096)
    s.add_argument("--domain", default="bench.test")
    s.add_argument("--accounts", type=int, default=100)
    s.add_argument("--per-conn", type=int, default=0)
    s.add_argument("--maildirs")
    s.add_argument("--timeout", type=float, default=600)
    i = sub.add_parser("idle")
    i.add_argument("--host", default="127.0.0.1")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--connections", type=int, default=1000)
    i.add_argument("--pids", required=True)
    c = sub.add_parser("count")
    c.add_argument("dir")
    w = sub.add_parser("wait")
    w.add_argument("dir")
    w.add_argument("target", type=int)
    w.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    if args.cmd == "count":
        print(count_new(args.dir))
        return 0
    if args.cmd == "wait":
        deadline = time.monotonic() + args.timeout
        while True:
            n = count_new(args.dir)
            if n >= args.target:
                return 0
            if time.monotonic() > deadline:
                print("%d of %d delivered after %.0f s" %
                      (n, args.target, args.timeout), file=sys.stderr)
                return 1
            time.sleep(0.05)
    if args.cmd == "send":
        return asyncio.run(run_send(args))
    return asyncio.run(run_idle(args))


if __name__ == "__main__":
    sys.exit(main())
