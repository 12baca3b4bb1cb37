#!/usr/bin/env bash
# bench/imap-idle-memory.sh: resident memory per idle logged-in IMAP connection with 1,000 open, ours against Dovecot and Courier-IMAP.
#
# Usage: bench/imap-idle-memory.sh [CONNECTIONS] [MESSAGES]
#        (defaults 1000 connections on an INBOX of 1000 messages)
#
# Every server gets its own copy of one maildir (bench/imap-gen-maildir.py,
# seed $BENCH_SEED, default 1).  bench/imap-bench.py opens CONNECTIONS
# sessions, each with INBOX selected (after a first session has built the
# server's index), leaves them idle for 2 s, then sums the PSS and RSS
# (/proc/PID/smaps_rollup) of every process serving them and divides by
# CONNECTIONS.  PSS counts a page shared by k processes as 1/k to each:
# it is what a connection really costs; RSS counts shared pages in full.
#
#   ours, dovecot, courier   pre-authenticated sessions over pipes, one
#                            process each (`imapd DIR`; Dovecot's `imap`;
#                            Courier's `imapd DIR`).  For Dovecot and
#                            Courier this is the process a logged-in
#                            connection has (Courier's imaplogin execs
#                            imapd; Dovecot's imap-login hands the
#                            connection over to an imap process when
#                            there is no TLS).
#   ours-daemon              ours as it runs: a scratch instance made by
#                            courier-setup, its authdaemond and imapd,
#                            CONNECTIONS clients over TCP with LOGIN, and
#                            every process imapd started for them (the
#                            pre-login process that relays bytes, and the
#                            session).  Needs an installed tree: set
#                            BENCH_PREFIX (make install prefix=...).
#
#   ours-hibernated          ours as it runs, with IMAP_HIBERNATE_TIMEOUT=
#                            $BENCH_HIBERNATE (default 2 s): CONNECTIONS
#                            clients with INBOX selected, over plain TCP
#                            and then over implicit TLS (993), left idle
#                            $BENCH_HIBERNATE + 3 s, so that the sessions
#                            have handed their state to the master.  Counts
#                            every process imapd started for them and the
#                            master's own growth (its PSS after, less its
#                            PSS before the connections): the master's
#                            share of each connection; the same for the
#                            TLS proxy processes (imapd-tlsproxy), which
#                            hold the TLS of every connection.  Needs
#                            BENCH_PREFIX.
#
# IMAPD=PATH picks our imapd; PEERS_ROOT and BENCH_SERVERS as in
# imap-folder.sh.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init imap-idle-memory
n=${1:-1000}
msgs=${2:-1000}
seed=${BENCH_SEED:-1}
imapd=${IMAPD:-$(bench_suite_bin imapd)}
peers=${PEERS_ROOT:-/tmp/imap-peers}
here=$(cd "$(dirname "$0")" && pwd)
prefix=${BENCH_PREFIX:-}
if [ -z "$prefix" ] && [ -x "$(dirname "$imapd")/courier-setup" ]; then
	prefix=$(cd "$(dirname "$imapd")/.." && pwd)
fi

bench_require_peer /usr/lib/dovecot/imap dovecot-imapd
[ -x /usr/libexec/gam_server ] || bench_require_peer /usr/libexec/gam_server gamin
if [ ! -x "$peers/root/usr/bin/imapd" ]; then
	mkdir -p "$peers" && (cd "$peers" &&
		apt-get download courier-imap courier-base libcourier-unicode4 \
			libgamin0 >/dev/null 2>&1 &&
		for f in *.deb; do dpkg-deb -x "$f" root; done) ||
		echo "bench: could not fetch Courier-IMAP's packages" >&2
fi

/usr/bin/python3 "$here/imap-gen-maildir.py" "$BENCH_TMP/master" "$msgs" \
	"$seed"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
# Three descriptors a session on our side (two pipe ends, or a socket).
ulimit -n $((n * 4 + 256)) 2>/dev/null || {
	echo "bench: cannot raise the open file limit to $((n * 4 + 256))" >&2
	exit 1
}
# The servers run as "mail" when we are root: they must reach the copies.
chmod 755 "$BENCH_TMP"
mkdir "$BENCH_TMP/run"
/usr/bin/python3 "$here/imap-bench.py" memory "$BENCH_TMP/master" \
	"$BENCH_TMP/run" "$imapd" "$peers/root" "$n" ${prefix:+"$prefix"} |
	tee "$BENCH_TMP/out"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ours-hibernated: the daemon with hibernation, plain and TLS (the driver's
# helpers, imported from imap-bench.py).
if [ -n "$prefix" ]; then
	dovecot_pss=$(sed -n 's/^dovecot .*per session PSS \([0-9]*\) KiB.*/\1/p' \
		"$BENCH_TMP/out")
	mkdir "$BENCH_TMP/hib"
	chmod 755 "$BENCH_TMP/hib"
	/usr/bin/python3 - "$here/imap-bench.py" "$BENCH_TMP/master" \
		"$BENCH_TMP/hib" "$prefix" "$n" "${BENCH_HIBERNATE:-2}" \
		"${dovecot_pss:-0}" <<'PY'
import importlib.util, os, shutil, socket, ssl, subprocess, sys, time

spec = importlib.util.spec_from_file_location("ib", sys.argv[1])
ib = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ib)
master, tmp, prefix = sys.argv[2:5]
n, hib, dovecot = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])


class TlsSession(ib.SockSession):
    """SockSession over implicit TLS (port 993)."""

    def __init__(self, port, login, password):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", port), 30)
        self.sock = ctx.wrap_socket(raw)
        self.buf = bytearray()
        self.n = 0
        greeting, _ = self._read(b"* ")
        if not greeting.startswith(b"* OK"):
            raise ib.ImapError("greeting: %s" % greeting[:200])
        self.command("LOGIN %s %s" % (login, password))


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def run(tls):
    root = os.path.join(tmp, "inst-%s" % ("tls" if tls else "plain"))
    base = ib.free_port_base(9)
    env = dict(os.environ, COURIER_INSTANCE=root)
    subprocess.run([os.path.join(prefix, "sbin/courier-setup"), "--instance",
                    root, "--domain", "bench.test", "--account", "bench",
                    "--password", "benchpw", "--ports-base", str(base)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    etc = os.path.join(root, "etc")
    for k, v in (("MAXPERIP", n + 10), ("MAXDAEMONS", n + 10),
                 ("IMAP_HIBERNATE_TIMEOUT", hib)):
        ib.set_setting(os.path.join(etc, "imapd"), k, str(v))
    ib.set_setting(os.path.join(etc, "imapd-ssl"), "IMAP_TLS_REQUIRED", "0")
    md = os.path.join(root, "var/vmail/bench.test/bench/Maildir")
    st = os.stat(md)
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(master, sub)):
            dst = os.path.join(md, sub, f)
            shutil.copy2(os.path.join(master, sub, f), dst)
            os.chown(dst, st.st_uid, st.st_gid)
    port = base + (4 if tls else 3)
    cls = TlsSession if tls else ib.SockSession
    daemons, sessions = [], []
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
        ib.wait_port(port, daemons[1])
        first = cls(port, "bench@bench.test", "benchpw")
        first.command("SELECT INBOX")
        first.command("LOGOUT")
        first.close()
        time.sleep(0.5)
        mpid = daemons[1].pid
        base_pids = ib.tree(mpid)
        m0 = ib.smaps(mpid)[0]
        proxies = [q for q in base_pids if proc_comm(q) == "imapd-tlsproxy"]
        x0 = sum(ib.smaps(q)[0] for q in proxies if ib.smaps(q))
        t0 = time.monotonic()
        for _ in range(n):
            s = cls(port, "bench@bench.test", "benchpw")
            s.command("SELECT INBOX")
            sessions.append(s)
        t_open = time.monotonic() - t0
        time.sleep(hib + 3)
        pids = [q for q in ib.tree(mpid) if q not in base_pids]
        pss, rss = ib.memory_of(pids)
        m1 = ib.smaps(mpid)[0]
        x1 = sum(ib.smaps(q)[0] for q in proxies if ib.smaps(q))
        # every session still answers, after waking
        for s in sessions[:50]:
            s.command("NOOP")
        per = (pss + max(m1 - m0, 0) + max(x1 - x0, 0)) / n
        print("ours-hibernated %s: %d sessions opened in %.1f s, idle "
              "%d s: %d processes (PSS %.0f KiB, RSS %.0f KiB), master "
              "grew %d KiB PSS, %d TLS proxies grew %d KiB PSS; per "
              "connection PSS %.1f KiB" % (
                  "TLS (993)" if tls else "plain", n, t_open, hib + 3,
                  len(pids), pss, rss, m1 - m0, len(proxies), x1 - x0,
                  per), flush=True)
        if dovecot > 0:
            print("ratio ours-hibernated %s/dovecot per idle connection: "
                  "PSS %.3f" % ("tls" if tls else "plain", per / dovecot))
    except (ib.ImapError, OSError) as e:
        print("ours-hibernated failed after %d sessions: %s" %
              (len(sessions), e))
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


print("load: %s" % open("/proc/loadavg").read().split()[:3], flush=True)
run(False)
run(True)
PY
	echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
