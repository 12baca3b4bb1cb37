#!/usr/bin/env python3
# bench/imap-search-cache.py: times SEARCH FROM/SUBJECT, SORT and THREAD on a big folder with the header fields read from the message files (cold) and from the index cache (warm), for one or two imapd builds.
"""Usage: imap-search-cache.py MASTER TMP IMAPD [IMAPD-BEFORE]

MASTER is a maildir (bench/imap-gen-maildir.py makes one, e.g. 20,000
messages), TMP a scratch folder.  For each imapd (ours; and, if given,
another build to compare with, e.g. the commit before a change), on a
fresh copy of MASTER run pre-authenticated over stdin/stdout (`imapd
DIR`): SELECT (builds the index), then each command three times in one
session: `SEARCH FROM zoe.quint`, `SEARCH SUBJECT budget`,
`SORT (FROM) UTF-8 ALL`, `SORT (SUBJECT DATE) UTF-8 ALL`,
`SORT (DATE) UTF-8 ALL`,
`THREAD REFERENCES UTF-8 ALL`; the first run of the first command reads
the files (and fills the cache, in ours), the next runs show the
steady state.  The page cache is warm for every run (the copy was just
written).  Prints seconds per command, first and median of runs 2-3,
and the ratio before/ours of the medians when two builds are given.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = [
    b"SEARCH FROM zoe.quint",
    b"SEARCH SUBJECT budget",
    b"SORT (FROM) UTF-8 ALL",
    b"SORT (SUBJECT DATE) UTF-8 ALL",
    b"SORT (DATE) UTF-8 ALL",
    b"THREAD REFERENCES UTF-8 ALL",
]


class Session:
    def __init__(self, imapd, md):
        self.proc = subprocess.Popen([imapd, md], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, bufsize=0)
        self.buf = b""
        self.n = 0
        self.read_until(b"* PREAUTH")

    def read_until(self, marker):
        while marker not in self.buf:
            data = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not data:
                raise RuntimeError("imapd closed the connection")
            self.buf += data
        head, _, self.buf = self.buf.partition(marker)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return head + marker + line

    def cmd(self, text):
        self.n += 1
        tag = b"b%d" % self.n
        self.proc.stdin.write(tag + b" " + text + b"\r\n")
        out = self.read_until(b"\r\n" + tag + b" ")
        if b"\r\n" + tag + b" OK" not in out:
            raise RuntimeError("%r failed: %r" % (text, out[-200:]))
        return out

    def close(self):
        self.proc.stdin.write(b"z LOGOUT\r\n")
        self.proc.stdin.close()
        self.proc.wait()


def run(imapd, master, tmp, label):
    md = os.path.join(tmp, label)
    shutil.rmtree(md, ignore_errors=True)
    shutil.copytree(master, md)
    s = Session(imapd, md)
    t = time.monotonic()
    s.cmd(b"SELECT INBOX")
    print("%-8s SELECT (cold index)              %8.3f s" %
          (label, time.monotonic() - t))
    results = {}
    answers = {}
    for c in COMMANDS:
        times = []
        for _ in range(3):
            t = time.monotonic()
            out = s.cmd(c)
            times.append(time.monotonic() - t)
        answers[c] = out.split(b"\r\n")[0]
        results[c] = (times[0], statistics.median(times[1:]))
        print("%-8s %-32s first %7.3f s  then %7.3f s" %
              (label, c.decode(), times[0], results[c][1]))
    s.close()
    shutil.rmtree(md, ignore_errors=True)
    return results, answers


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    master, tmp, imapd = sys.argv[1:4]
    os.makedirs(tmp, exist_ok=True)
    ours, ours_ans = run(imapd, master, tmp, "ours")
    if len(sys.argv) == 5:
        before, before_ans = run(sys.argv[4], master, tmp, "before")
        for c in COMMANDS:
            same = "same answer" if ours_ans[c] == before_ans[c] \
                else "ANSWERS DIFFER"
            print("ratio before/ours %-32s first %5.2fx  then %6.2fx  (%s)"
                  % (c.decode(), before[c][0] / ours[c][0],
                     before[c][1] / ours[c][1], same))


if __name__ == "__main__":
    main()
