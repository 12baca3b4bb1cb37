#!/usr/bin/env python3
# bench/imap-bench.py: the IMAP benchmarks' driver: runs ours, Dovecot and Courier-IMAP pre-authenticated on copies of one maildir and times commands, a 20-client load and idle memory.
"""Usage:
  imap-bench.py folder MASTER TMP IMAPD PEERS [CLIENTS] [SECONDS] [REST]
  imap-bench.py memory MASTER TMP IMAPD PEERS [CONNECTIONS] [PREFIX]

MASTER is a maildir (bench/imap-gen-maildir.py makes one), TMP a scratch
folder, IMAPD our imapd, PEERS the folder where Courier-IMAP's .debs are
unpacked (dpkg-deb -x).  Dovecot is Debian's, installed (/usr/lib/dovecot/
imap).  Every server runs pre-authenticated on stdin/stdout (ours: `imapd
DIR`; Courier: `imapd DIR` with AUTHENTICATED set; Dovecot: its `imap`
binary with a minimal config), as user "mail" when run as root, each on
its own copy of MASTER.

folder: for each server in turn: the first SELECT (no index yet), then in
a new session a warm SELECT (median of 3 sessions), `UID FETCH 1:*
(FLAGS)`, `FETCH 1:* (ENVELOPE)` (first and median of the next 2),
`SEARCH FROM zoe.quint`, `SORT (DATE) UTF-8 ALL` (first and median of the
next 2); then a mixed load from CLIENTS (20) sessions at once for SECONDS
(30): each is one client process with its own server process, doing
FETCH of 50 headers, FETCH BODY.PEEK[] of one message, STORE +/-FLAGS,
FETCH of the last 100 messages' FLAGS, NOOP, SEARCH UNSEEN, and APPEND
followed by UID STORE \\Deleted and UID EXPUNGE of what it appended.
Prints one line per figure and the ratios ours/dovecot, ours/courier.

memory: for each server, CONNECTIONS (1000) sessions logged in with
INBOX selected, left idle; prints the sum of the sessions' processes'
PSS and RSS (from /proc/PID/smaps_rollup) divided by CONNECTIONS.  With
PREFIX (an installed tree of the suite), also ours as it really runs: a
scratch instance made by PREFIX/sbin/courier-setup, its authdaemond and
imapd daemons, and CONNECTIONS clients over TCP with LOGIN and SELECT
INBOX, counting every process imapd started for them (the pre-login
process that relays bytes and the session).
"""
import multiprocessing
import os
import pwd
import re
import shutil
import statistics
import subprocess
import sys
import time

LIMIT_LINE = 64 << 20          # a response line we accept, literals included


class ImapError(Exception):
    pass


class Untagged:
    """The untagged lines of one reply, kept as the blocks they were read
    in; len() counts them, iterating splits them."""

    def __init__(self):
        self.blocks = []

    def add_block(self, block):
        if block:
            self.blocks.append(block)

    def add_line(self, line):
        self.blocks.append(line)

    def __len__(self):
        return sum(b.count(b"\r\n* ") + b.startswith(b"* ")
                   for b in self.blocks)

    def __iter__(self):
        for b in self.blocks:
            for line in b.split(b"\r\n"):
                if line.startswith(b"* "):
                    yield line


class Session:
    """A synchronous IMAP client over a server process's stdin/stdout."""

    def __init__(self, cmd, env, cwd, log):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log,
                                     env=env, cwd=cwd, bufsize=0)
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        # A pipe of 1 MiB, not 64 KiB: a large answer crosses in a few
        # reads instead of a wake-up every 64 KiB (the same for every
        # server; what a socket's buffers give a network client).
        try:
            import fcntl
            fcntl.fcntl(self.rfd, 1031, 1 << 20)     # F_SETPIPE_SZ
        except OSError:
            pass
        self.buf = bytearray()
        self.n = 0
        # Greeting or not (Dovecot's pre-authenticated imap sends none
        # before its first reply), a NOOP answered means ready.
        self.command("NOOP")

    def _fill(self):
        data = os.read(self.rfd, 1 << 20)
        if not data:
            raise ImapError("server closed the connection")
        self.buf += data

    def _send(self, data):
        view = memoryview(data)
        while view:
            k = os.write(self.wfd, view)
            view = view[k:]

    def command(self, line, literal=None):
        """Sends TAG LINE (a LINE ending in {n} sends LITERAL as a
        synchronizing literal once the server says "+": Courier-IMAP has
        no LITERAL+), reads up to the tagged reply; returns (seconds,
        tagged line, untagged lines without their literals' bytes)."""
        self.n += 1
        tag = b"t%d" % self.n
        t0 = time.monotonic()
        self._send(tag + b" " + line.encode() + b"\r\n")
        if literal is not None:
            status, _ = self._read(tag + b" ", b"+")
            if not status.startswith(b"+"):
                raise ImapError("%s -> %s" % (line[:60], status[:200]))
            self._send(literal + b"\r\n")
        status, untagged = self._read(tag + b" ")
        t = time.monotonic() - t0
        if not status.startswith(tag + b" OK"):
            raise ImapError("%s -> %s" % (line[:60], status[:200]))
        return t, status, untagged

    def _read(self, tag, cont=None):
        """Reads until the line starting with TAG (or CONT); skips
        literals."""
        buf = self.buf
        start = scan = 0
        untagged = Untagged()
        while True:
            # Whole lines with no literal among them (a FETCH FLAGS of
            # 100,000 messages) are kept as they came, one block, and
            # split only if a caller looks at them: the client's parsing
            # must not hide the servers' time.
            last = buf.rfind(b"\r\n", scan)
            if cont is None and last > start:
                chunk = bytes(buf[start:last])
                if b"}\r\n" not in chunk and not chunk.endswith(b"}"):
                    if chunk.startswith(tag):
                        at = 0
                    else:
                        at = chunk.find(b"\r\n" + tag)
                        if at < 0:
                            untagged.add_block(chunk)
                            start = scan = last + 2
                            continue
                        untagged.add_block(chunk[:at])
                        at += 2
                    eol = chunk.find(b"\r\n", at)
                    if eol < 0:
                        eol = len(chunk)
                    del buf[:start + eol + 2]
                    return chunk[at:eol], untagged
            eol = buf.find(b"\r\n", scan)
            if eol < 0:
                if len(buf) - start > LIMIT_LINE:
                    raise ImapError("response line too long")
                if start > (1 << 20):
                    del buf[:start]
                    scan -= start
                    start = 0
                self._fill()
                continue
            if buf[eol - 1:eol] == b"}":
                brace = buf.rfind(b"{", scan, eol)
                digits = bytes(buf[brace + 1:eol - 1])
                if brace >= 0 and digits.isdigit():
                    end = eol + 2 + int(digits)
                    while len(buf) < end:
                        self._fill()
                    scan = end
                    continue
            line = bytes(buf[start:eol])
            start = scan = eol + 2
            if line.startswith(tag) or (cont and line.startswith(cont)):
                del buf[:start]
                return line, untagged
            if line.startswith(b"* "):
                untagged.add_line(line)

    def close(self):
        try:
            self.command("LOGOUT")
        except (ImapError, OSError):
            pass
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class SockSession(Session):
    """The same client over a TCP connection; logs in with LOGIN."""

    def __init__(self, port, login, password):
        import socket
        self.sock = socket.create_connection(("127.0.0.1", port), 30)
        self.buf = bytearray()
        self.n = 0
        greeting, _ = self._read(b"* ")
        if not greeting.startswith(b"* OK"):
            raise ImapError("greeting: %s" % greeting[:200])
        self.command("LOGIN %s %s" % (login, password))

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ImapError("server closed the connection")
        self.buf += data

    def _send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- servers

class Servers:
    def __init__(self, tmp, imapd, peers):
        self.tmp, self.imapd, self.peers = tmp, imapd, peers
        self.as_user = None
        if os.getuid() == 0:
            pw = pwd.getpwnam("mail")
            self.as_user = (pw.pw_uid, pw.pw_gid)
            os.chmod(tmp, 0o755)
        self.uid, self.gid = self.as_user or (os.getuid(), os.getgid())
        self.courier_bin = os.path.join(peers, "usr/bin/imapd")
        # Other builds of ours, "LABEL=PATH" in BENCH_SERVERS.
        self.builds = dict(x.split("=", 1) for x in
                           os.environ.get("BENCH_SERVERS", "").split()
                           if "=" in x)

    def wrap(self, cmd):
        if self.as_user:
            return ["setpriv", "--reuid=%d" % self.as_user[0],
                    "--regid=%d" % self.as_user[1], "--clear-groups"] + cmd
        return cmd

    def available(self, name):
        if name == "ours":
            return os.access(self.imapd, os.X_OK)
        if name in self.builds:
            return os.access(self.builds[name], os.X_OK)
        if name == "dovecot":
            return os.access("/usr/lib/dovecot/imap", os.X_OK) and \
                os.access("/usr/bin/doveconf", os.X_OK)
        return os.access(self.courier_bin, os.X_OK)

    def version(self, name):
        if name == "dovecot":
            r = subprocess.run(["/usr/sbin/dovecot", "--version"],
                               stdout=subprocess.PIPE, text=True)
            return "Dovecot " + r.stdout.strip()
        if name == "courier":
            m = re.search(r"courier-imap_([^_]+)_",
                          " ".join(os.listdir(os.path.dirname(
                              self.peers.rstrip("/")))))
            return "Courier-IMAP " + (m.group(1) if m else "?")
        return "ours " + self.builds.get(name, self.imapd)

    def command(self, name, md):
        """(argv, env) of a pre-authenticated session of NAME on MD."""
        if name == "ours":
            return self.wrap([self.imapd, md]), dict(os.environ)
        if name in self.builds:
            return self.wrap([self.builds[name], md]), dict(os.environ)
        if name == "dovecot":
            conf = os.path.join(self.tmp, "dovecot-%s.conf" %
                                os.path.basename(md))
            if not os.path.exists(conf):
                with open(conf, "w") as f:
                    f.write("protocols = imap\nmail_location = maildir:%s\n"
                            "log_path = /dev/stderr\nssl = no\n"
                            "mail_uid = %d\nmail_gid = %d\n"
                            "first_valid_uid = 1\n" % (md, self.uid,
                                                       self.gid))
                os.chmod(conf, 0o644)
            env = dict(os.environ, USER="bench", HOME=self.tmp,
                       MAIL="maildir:" + md)
            return self.wrap(["/usr/lib/dovecot/imap", "-c", conf]), env
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(
            self.peers, "usr/lib/x86_64-linux-gnu"), MAILDIR=md,
            AUTHENTICATED="bench", IMAP_KEYWORDS="1", IMAP_ACL="1",
            IMAP_USELOCKS="1", IMAP_IDLE_TIMEOUT="60",
            IMAP_MAILBOX_SANITY_CHECK="1", IMAP_UMASK="022",
            # Debian's /etc/courier/imapd, as its start script sets it.
            IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE "
            "THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE")
        return self.wrap([self.courier_bin, md]), env

    def session(self, name, md):
        cmd, env = self.command(name, md)
        log = open(os.path.join(self.tmp, name + ".log"), "ab")
        try:
            return Session(cmd, env, self.tmp, log)
        finally:
            log.close()

    def copy(self, master, name):
        md = os.path.join(self.tmp, name)
        subprocess.run(["cp", "-a", master, md], check=True)
        if self.as_user:
            subprocess.run(["chown", "-R", "%d:%d" % self.as_user, md],
                           check=True)
        # The copy's dirty pages are written out first, so that the
        # first fsync of whichever server does one does not pay for them.
        os.sync()
        return md


# BENCH_SERVERS="ours dovecot" runs only those (default: all three);
# an entry LABEL=PATH is another build of ours (PATH its imapd), measured
# under LABEL, to compare builds in one run.
# BENCH_PARTS=mixed runs only the mixed load (after an untimed warm-up:
# the index built, ENVELOPEs cached); BENCH_ROUNDS=N measures the servers
# N times in turn, alternating (default 1).
SERVERS = tuple(x.split("=", 1)[0] for x in
                os.environ.get("BENCH_SERVERS", "ours dovecot courier")
                .split())
PARTS = os.environ.get("BENCH_PARTS", "all")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
FAILED = []          # the servers that failed: the exit status is then 1


def count_numbers(untagged, word):
    for line in untagged:
        if line.startswith(b"* " + word):
            return len(line.split()) - 2
    return 0


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------- folder

def folder_warmup(srv, name, md):
    """BENCH_PARTS=mixed: only what the mixed load expects done before
    it (the index built, the ENVELOPEs cached, SEARCH FROM run once), not
    timed."""
    s = srv.session(name, md)
    _, _, u = s.command("SELECT INBOX")
    exists = [int(x.split()[1]) for x in u if x.endswith(b" EXISTS")]
    s.command("FETCH 1:* (ENVELOPE)")
    s.command("SEARCH FROM zoe.quint")
    s.close()
    return {"exists": exists[-1] if exists else -1}


def folder_times(srv, name, md):
    r = {}
    s = srv.session(name, md)
    r["select_cold"], _, u = s.command("SELECT INBOX")
    exists = [int(x.split()[1]) for x in u if x.endswith(b" EXISTS")]
    r["exists"] = exists[-1] if exists else -1
    s.close()
    warm = []
    for _ in range(3):
        s = srv.session(name, md)
        t, _, _ = s.command("SELECT INBOX")
        warm.append(t)
        s.close()
    r["select_warm"] = median(warm)
    s = srv.session(name, md)
    s.command("SELECT INBOX")
    t, _, u = s.command("UID FETCH 1:* (FLAGS)")
    r["uid_fetch_flags"], r["flags_n"] = t, len(u)
    for key, cmd in (("envelope", "FETCH 1:* (ENVELOPE)"),
                     ("search_from", "SEARCH FROM zoe.quint"),
                     ("sort_date", "SORT (DATE) UTF-8 ALL")):
        times = []
        for i in range(3):
            try:
                t, _, u = s.command(cmd)
            except ImapError as e:
                r[key] = None
                r[key + "_err"] = str(e)
                break
            times.append(t)
            if i == 0:
                r[key + "_first"] = t
                if key == "envelope":
                    r[key + "_n"] = len(u)
                else:
                    r[key + "_n"] = count_numbers(
                        u, b"SEARCH" if key == "search_from" else b"SORT")
        else:
            r[key] = median(times[1:])
    s.close()
    return r


OPS = (("headers", 25), ("body", 25), ("store", 20), ("flags100", 10),
       ("noop", 10), ("search", 5), ("append", 5))
APPEND_MSG = (b"From: Load Client <load@bench.example>\r\n"
              b"To: bench@bench.example\r\nSubject: load test\r\n"
              b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
              b"Message-ID: <load@bench.example>\r\n\r\n" +
              b"a line of text to make the message a little longer\r\n" * 40)


def load_client(args):
    srv, name, md, k, seconds, barrier = args
    import random
    rng = random.Random(1000 + k)
    s = srv.session(name, md)
    t_sel, _, u = s.command("SELECT INBOX")
    n = [int(x.split()[1]) for x in u if x.endswith(b" EXISTS")][-1]
    top = max(1, n - 200)
    weights = [w for _, w in OPS]
    names = [o for o, _ in OPS]
    lat = {o: [] for o in names}
    errors = 0
    barrier.wait()
    end = time.monotonic() + seconds
    while True:
        op = rng.choices(names, weights)[0]
        t0 = time.monotonic()
        if t0 >= end:
            break
        i = rng.randrange(1, top)
        try:
            if op == "headers":
                s.command("FETCH %d:%d (UID FLAGS RFC822.SIZE INTERNALDATE "
                          "ENVELOPE)" % (i, min(top, i + 49)))
            elif op == "body":
                s.command("FETCH %d (BODY.PEEK[])" % i)
            elif op == "store":
                s.command("STORE %d %sFLAGS (\\Flagged)" %
                          (i, rng.choice("+-")))
            elif op == "flags100":
                s.command("FETCH %d:* (FLAGS)" % top)
            elif op == "noop":
                s.command("NOOP")
            elif op == "search":
                s.command("SEARCH UNSEEN")
            else:
                _, st, _ = s.command("APPEND INBOX (\\Seen) {%d}" %
                                     len(APPEND_MSG), APPEND_MSG)
                m = re.search(rb"APPENDUID \d+ (\d+)", st)
                if m:
                    uid = int(m.group(1))
                    s.command("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
                    s.command("UID EXPUNGE %d" % uid)
        except ImapError:
            errors += 1
            continue
        t1 = time.monotonic()
        if t1 <= end:
            lat[op].append(t1 - t0)
    s.close()
    return t_sel, lat, errors


def mixed_load(srv, name, md, clients, seconds):
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Manager().Barrier(clients)
    with ctx.Pool(clients) as pool:
        res = pool.map(load_client, [(srv, name, md, k, seconds, barrier)
                                     for k in range(clients)])
    allat = [x for _, lat, _ in res for v in lat.values() for x in v]
    per = {}
    for o, _ in OPS:
        xs = [x for _, lat, _ in res for x in lat[o]]
        per[o] = "%d x %.1f ms" % (len(xs), median(xs) * 1000)
    return {"ops": len(allat), "ops_s": len(allat) / seconds,
            "p50": median(allat) * 1000,
            "p99": sorted(allat)[int(len(allat) * 0.99)] * 1000
            if allat else float("nan"),
            "select": median([t for t, _, _ in res]),
            "errors": sum(e for _, _, e in res), "per_op": per}


def loadavg():
    """The 1, 5 and 15 minute load averages, to print next to figures."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt(v, unit="s"):
    if v is None:
        return "n/a"
    if unit == "s":
        return "%.3f s" % v if v >= 0.1 else "%.1f ms" % (v * 1000)
    return "%.1f %s" % (v, unit)


def print_times(name, r):
    print("%-8s %d messages; SELECT cold %s, warm %s; UID FETCH 1:* "
          "(FLAGS) %s (%d lines)" % (name, r["exists"],
                                     fmt(r["select_cold"]),
                                     fmt(r["select_warm"]),
                                     fmt(r["uid_fetch_flags"]),
                                     r["flags_n"]))
    for key, label in (("envelope", "FETCH 1:* (ENVELOPE)"),
                       ("search_from", "SEARCH FROM zoe.quint"),
                       ("sort_date", "SORT (DATE)")):
        if r.get(key) is None:
            print("%-8s %s: n/a (%s)" % (name, label,
                                         r.get(key + "_err", "?")))
        else:
            print("%-8s %s: first %s, again %s (%d results)" % (
                name, label, fmt(r[key + "_first"]), fmt(r[key]),
                r[key + "_n"]))


def cmd_folder(argv):
    master, tmp, imapd, peers = argv[:4]
    clients = int(argv[4]) if len(argv) > 4 else 20
    seconds = float(argv[5]) if len(argv) > 5 else 30
    rest = float(argv[6]) if len(argv) > 6 else 20
    srv = Servers(tmp, imapd, peers)
    results = {}
    k = 0
    for rnd in range(ROUNDS):
        for name in SERVERS:
            if not srv.available(name):
                print("%-8s not available" % name)
                continue
            if k and rest:
                time.sleep(rest)
            k += 1
            print("%-8s %s; load %s%s" % (
                name, srv.version(name), loadavg(),
                "; round %d" % (rnd + 1) if ROUNDS > 1 else ""),
                flush=True)
            md = srv.copy(master, name)
            try:
                if PARTS == "mixed":
                    r = folder_warmup(srv, name, md)
                else:
                    r = folder_times(srv, name, md)
                print("%-8s load before the mixed load: %s" %
                      (name, loadavg()), flush=True)
                r["load"] = mixed_load(srv, name, md, clients, seconds)
            except (ImapError, OSError) as e:
                print("%-8s failed: %s" % (name, e))
                shutil.rmtree(md, ignore_errors=True)
                FAILED.append(name)
                continue
            shutil.rmtree(md, ignore_errors=True)
            results[name] = r
            if PARTS != "mixed":
                print_times(name, r)
            ld = r["load"]
            print("%-8s load after: %s" % (name, loadavg()))
            print("%-8s mixed load, %d clients, %.0f s: %.1f ops/s, "
                  "latency median %.1f ms, p99 %.1f ms, %d errors; SELECT "
                  "under load %s; ops (count x median) %s" % (
                      name, clients, seconds, ld["ops_s"], ld["p50"],
                      ld["p99"], ld["errors"], fmt(ld["select"]),
                      ld["per_op"]), flush=True)
        print_ratios(results)


def print_ratios(results):
    o = results.get("ours")
    for peer in ("dovecot", "courier"):
        p = results.get(peer)
        if not o or not p:
            continue
        parts = []
        for key, label in (("select_cold", "SELECT cold"),
                           ("select_warm", "SELECT warm"),
                           ("uid_fetch_flags", "UID FETCH FLAGS"),
                           ("envelope_first", "ENVELOPE first"),
                           ("envelope", "ENVELOPE again"),
                           ("search_from", "SEARCH FROM"),
                           ("sort_date_first", "SORT first"),
                           ("sort_date", "SORT again")):
            if o.get(key) is None or p.get(key) is None:
                parts.append("%s n/a" % label)
            else:
                parts.append("%s %.2f" % (label, o[key] / p[key]))
        parts.append("load ops/s %.2f (higher is better)" %
                     (o["load"]["ops_s"] / p["load"]["ops_s"]))
        parts.append("load median latency %.2f" %
                     (o["load"]["p50"] / p["load"]["p50"]))
        print("ratio ours/%s (time: lower is better): %s" %
              (peer, ", ".join(parts)))


# ---------------------------------------------------------------- memory

def smaps(pid):
    """(PSS, RSS) of PID in KiB, or None when it is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            text = f.read()
    except OSError:
        return None
    v = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Pss:", "Rss:"):
            v[parts[0]] = int(parts[1])
    return v.get("Pss:", 0), v.get("Rss:", 0)


def tree(pid):
    """PID and all its descendants."""
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    st = f.read()
                ppid = int(st[st.rfind(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(p))
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        todo.extend(kids.get(q, []))
    return out


def memory_of(pids):
    pss = rss = 0
    for p in pids:
        m = smaps(p)
        if m:
            pss += m[0]
            rss += m[1]
    return pss, rss


def cmd_memory(argv):
    master, tmp, imapd, peers = argv[:4]
    n = int(argv[4]) if len(argv) > 4 else 1000
    prefix = argv[5] if len(argv) > 5 else None
    srv = Servers(tmp, imapd, peers)
    results = {}
    for name in SERVERS:
        if not srv.available(name):
            print("%-8s not available" % name)
            continue
        md = srv.copy(master, name)
        sessions = []
        try:
            first = srv.session(name, md)      # builds the index
            first.command("SELECT INBOX")
            first.close()
            t0 = time.monotonic()
            for _ in range(n):
                s = srv.session(name, md)
                s.command("SELECT INBOX")
                sessions.append(s)
            t_open = time.monotonic() - t0
            time.sleep(2)
            pids = [q for s in sessions for q in tree(s.proc.pid)]
            procs = [q for q in pids if smaps(q)]
            pss, rss = memory_of(procs)
            results[name] = (pss / n, rss / n)
            print("%-8s %s: %d sessions opened in %.1f s, %d processes; "
                  "per session PSS %.0f KiB, RSS %.0f KiB" % (
                      name, srv.version(name), n, t_open, len(procs),
                      pss / n, rss / n), flush=True)
        except (ImapError, OSError) as e:
            print("%-8s failed after %d sessions: %s" % (name, len(sessions),
                                                         e))
            FAILED.append(name)
        finally:
            for s in sessions:
                try:
                    s.proc.stdin.close()
                except OSError:
                    pass
            for s in sessions:
                try:
                    s.proc.wait(30)
                except subprocess.TimeoutExpired:
                    s.proc.kill()
                    s.proc.wait()
                s.proc.stdout.close()
            shutil.rmtree(md, ignore_errors=True)
    if prefix:
        r = cmd_memory_daemon([master, tmp, prefix, str(n)])
        if r:
            results["ours-daemon"] = r
    for mine in ("ours", "ours-daemon"):
        o = results.get(mine)
        for peer in ("dovecot", "courier"):
            if o and peer in results:
                p = results[peer]
                print("ratio %s/%s per idle session: PSS %.2f, RSS %.2f" %
                      (mine, peer, o[0] / p[0], o[1] / p[1]))


def free_port_base(count):
    import socket
    for base in range(24000, 40000, 97):
        ok = True
        for p in range(base, base + count):
            with socket.socket() as so:
                try:
                    so.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise OSError("no free ports")


def wait_port(port, proc, timeout=20):
    import socket
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise OSError("daemon exited (%s)" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise OSError("nothing listens on %d" % port)


def set_setting(path, key, value):
    with open(path) as f:
        lines = [x for x in f.read().splitlines()
                 if not x.startswith(key + "=")]
    lines.append("%s=%s" % (key, value))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def cmd_memory_daemon(argv):
    """Ours as it runs for real: the imapd daemon with authdaemond, N
    clients over TCP with LOGIN and SELECT INBOX; every process the
    daemon started for them counts (pre-login relay and session)."""
    master, tmp, prefix = argv[:3]
    n = int(argv[3]) if len(argv) > 3 else 1000
    root = os.path.join(tmp, "instance")
    base = free_port_base(9)
    env = dict(os.environ, COURIER_INSTANCE=root)
    subprocess.run([os.path.join(prefix, "sbin/courier-setup"), "--instance",
                    root, "--domain", "bench.test", "--account", "bench",
                    "--password", "benchpw", "--ports-base", str(base)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    etc = os.path.join(root, "etc")
    set_setting(os.path.join(etc, "imapd-ssl"), "IMAP_TLS_REQUIRED", "0")
    set_setting(os.path.join(etc, "imapd"), "MAXPERIP", str(n + 10))
    set_setting(os.path.join(etc, "imapd"), "MAXDAEMONS", str(n + 10))
    set_setting(os.path.join(etc, "imapd-ssl"), "IMAPDSSLSTART", "NO")
    md = os.path.join(root, "var/vmail/bench.test/bench/Maildir")
    st = os.stat(md)
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(master, sub)):
            dst = os.path.join(md, sub, f)
            shutil.copy2(os.path.join(master, sub, f), dst)
            os.chown(dst, st.st_uid, st.st_gid)
    port = base + 3
    daemons = []
    sessions = []
    try:
        for name in ("authdaemond", "imapd"):
            log = open(os.path.join(tmp, "daemon-%s.log" % name), "ab")
            daemons.append(subprocess.Popen(
                [os.path.join(prefix, "sbin", name)], env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True))
            log.close()
            if name == "authdaemond":
                time.sleep(1)
        wait_port(port, daemons[1])
        first = SockSession(port, "bench@bench.test", "benchpw")
        first.command("SELECT INBOX")           # builds the index
        first.command("LOGOUT")
        first.close()
        time.sleep(0.5)
        base_pids = tree(daemons[1].pid)
        t0 = time.monotonic()
        for _ in range(n):
            s = SockSession(port, "bench@bench.test", "benchpw")
            s.command("SELECT INBOX")
            sessions.append(s)
        t_open = time.monotonic() - t0
        time.sleep(2)
        pids = [q for q in tree(daemons[1].pid) if q not in base_pids]
        pss, rss = memory_of(pids)
        mpss, mrss = memory_of(base_pids + tree(daemons[0].pid))
        print("ours-daemon imapd with LOGIN over TCP: %d sessions opened in "
              "%.1f s, %d processes; per session PSS %.0f KiB, RSS %.0f "
              "KiB (the daemons themselves: PSS %.0f KiB, RSS %.0f KiB)" % (
                  n, t_open, len(pids), pss / n, rss / n, mpss, mrss),
              flush=True)
        return pss / n, rss / n
    except (ImapError, OSError) as e:
        print("ours-daemon failed after %d sessions: %s" % (len(sessions),
                                                            e))
        FAILED.append("ours-daemon")
        return None
    finally:
        for s in sessions:
            s.close()
        for d in reversed(daemons):
            d.terminate()
            try:
                d.wait(20)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()


def main():
    if len(sys.argv) < 6 or sys.argv[1] not in ("folder", "memory"):
        sys.exit(__doc__)
    if sys.argv[1] == "folder":
        cmd_folder(sys.argv[2:])
    else:
        cmd_memory(sys.argv[2:])
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
