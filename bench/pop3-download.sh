#!/usr/bin/env bash
# bench/pop3-download.sh: LIST, UIDL, then RETR and DELE of every message
# of a 20,000-message INBOX with Python's poplib (a synchronous client),
# side by side with Debian's Dovecot POP3 and Courier's pop3d, each on its
# own copy of the same maildir.  Every server runs in its pre-authenticated
# mode over a socketpair (ours: `pop3d DIR`; Courier: `courierpop3d DIR`;
# Dovecot: its `pop3` binary with a minimal config), so the figures compare
# the POP3 sessions themselves.  Each server gets two sessions on its copy:
#
#   cold   the first session ever on that maildir (no index, no
#          courierpop3dsizelist, no dovecot.index yet): greeting, STAT, QUIT
#   warm   later sessions, as every later login of a mailbox: first
#          WARM_RUNS (default 5) of greeting, STAT, QUIT (their median
#          is the warm login figure: one run is at the mercy of whatever
#          else the machine does), then one with greeting, STAT, LIST,
#          UIDL, RETR and DELE of every message, QUIT.
#
# Each session starts WARM_AFTER seconds (default 3) after the last change
# to the maildir (the copy, then the cold session), for every server: a
# login does not usually follow a delivery within the same second or two,
# and a server that cannot trust a directory mtime that recent (ours: the
# index verifies a directory changed within 50 ms, or 2 s on file systems
# with whole-second mtimes, of its last scan) would otherwise be measured
# rescanning.
#
# "Login-to-first-byte" is the time from starting the pre-authenticated
# server to the first byte of its answer to STAT, the first command that
# needs the mailbox (each server has built its list of messages by then;
# Dovecot sends no greeting in this mode).  It is printed for both
# sessions, with the greeting's time where there is one,
# the RETR+DELE loop, the QUIT (UPDATE: unlinking the files, which this
# machine's filesystem makes slow and variable, see below), the whole
# warm session, and the ratios of ours to each peer.
#
# Usage: bench/pop3-download.sh [MESSAGES]   (default 20000)
# POP3D=PATH picks our pop3d (default: bench_suite_bin pop3d);
# BENCH_REST=SECONDS rests between servers (default 20: unlinking 20,000
# files leaves this machine's disk slow for a while); WARM_AFTER=SECONDS
# is the pause after the last change before a cold or warm session
# (default 3); WARM_RUNS the number of short warm sessions (default 5).
# Peers: PEERS_ROOT=DIR holds the unpacked .debs (dpkg-deb -x) of
# courier-pop, courier-base, dovecot-core and dovecot-pop3d; the script
# unpacks them there with apt-get download if they are missing.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init pop3-download
n=${1:-20000}
pop3d=${POP3D:-$(bench_suite_bin pop3d)}
peers=${PEERS_ROOT:-/tmp/pop3-peers}

if [ ! -d "$peers/root" ]; then
	mkdir -p "$peers" && (cd "$peers" &&
		apt-get download courier-pop courier-base dovecot-core \
			dovecot-pop3d libcourier-unicode4 >/dev/null 2>&1 &&
		for f in *.deb; do dpkg-deb -x "$f" root; done) ||
		echo "bench: could not fetch the peers' packages" >&2
fi

/usr/bin/python3 - "$n" "$BENCH_TMP" "$pop3d" "$peers/root" \
	"${BENCH_REST:-20}" "${WARM_AFTER:-3}" "${WARM_RUNS:-5}" <<'PY'
import os, poplib, pwd, shutil, socket, statistics, subprocess, sys, time

n, tmp, pop3d, peers = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rest, warm_after = float(sys.argv[5]), float(sys.argv[6])
warm_runs = max(1, int(sys.argv[7]))

class PipeSock:
    """What poplib needs of a socket, over the server's stdin."""
    def __init__(self, f):
        self.f = f
    def sendall(self, data):
        self.f.write(data)
        self.f.flush()
    def shutdown(self, how):
        pass
    def close(self):
        self.f.close()

def make_maildir(path):
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, sub))
    body = ("x" * 70 + "\n") * 55          # about 4 KB
    for i in range(n):
        text = ("From: a@example.test\nTo: b@example.test\n"
                "Subject: message %d\n\n%s" % (i, body))
        # ",S=" is the real size (Dovecot trusts it); no ",W=", as in a
        # maildir Courier delivered to.
        name = "%d.M%dP1.bench,S=%d" % (1700000000 + i, i, len(text))
        with open(os.path.join(path, "cur", name + ":2,"), "w") as f:
            f.write(text)

# As root, every server runs as "mail" (Dovecot refuses root; Courier's
# pop3d refuses a sticky cwd, so each runs in the scratch folder).
AS = None
if os.getuid() == 0:
    pw = pwd.getpwnam("mail")
    AS = (pw.pw_uid, pw.pw_gid)
    os.chmod(tmp, 0o755)
UID, GID = AS if AS else (os.getuid(), os.getgid())

def chown_tree(path):
    if AS:
        for d, dirs, files in os.walk(path):
            os.chown(d, *AS)
            for f in files:
                os.chown(os.path.join(d, f), *AS)

def as_user(cmd):
    if AS:
        return ["setpriv", "--reuid=%d" % AS[0], "--regid=%d" % AS[1],
                "--clear-groups"] + cmd
    return cmd

master = os.path.join(tmp, "master")
make_maildir(master)

def dovecot_cmd(md):
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("protocols = pop3\nmail_location = maildir:%s\n"
                "log_path = /dev/stderr\n"
                "pop3_uidl_format = %%08Xu%%08Xv\nssl = no\n"
                "mail_uid = %d\nmail_gid = %d\nfirst_valid_uid = 1\n" %
                (md, UID, GID))
    os.chmod(conf, 0o644)
    env = dict(os.environ, USER="bench", HOME=tmp, MAIL="maildir:" + md)
    if os.path.exists("/usr/lib/dovecot/pop3") and \
            os.path.exists("/usr/bin/doveconf"):
        return as_user(["/usr/lib/dovecot/pop3", "-c", conf]), env
    raise FileNotFoundError("dovecot-pop3d is not installed "
                            "(its pop3 runs doveconf from /usr/bin)")

def courier_cmd(md):
    for p in ("usr/lib/courier/courier/courierpop3d", "usr/sbin/courierpop3d",
              "usr/bin/courierpop3d"):
        if os.path.exists(os.path.join(peers, p)):
            env = dict(os.environ, LD_LIBRARY_PATH=peers + "/usr/lib/"
                       "x86_64-linux-gnu", MAILDIR=md, AUTHENTICATED="bench")
            return as_user([os.path.join(peers, p), md]), env
    raise FileNotFoundError("courierpop3d")

def ours_cmd(md):
    return as_user([pop3d, md]), dict(os.environ)

def session(name, md, cmd_fn, download):
    """One session; returns (first byte, STAT answered, RETR+DELE loop,
    QUIT, whole session) in seconds."""
    cmd, env = cmd_fn(md)
    # Pipes, not a socket: Dovecot's pop3 takes a socket on stdin for an
    # inetd start and refuses it.
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            stderr=open(os.path.join(tmp, name + ".log"),
                                        "a"), env=env, cwd=tmp)
    p = poplib.POP3.__new__(poplib.POP3)
    p._debugging = 0
    p.sock = PipeSock(proc.stdin)
    p.file = proc.stdout
    # Dovecot's pre-authenticated pop3 sends no greeting: its first
    # byte is the answer to STAT.
    if name != "dovecot":
        p.welcome = p._getresp()
    t_first = time.monotonic() - t0
    count, _ = p.stat()
    t_stat = time.monotonic() - t0
    if name == "dovecot":
        t_first = t_stat
    assert count == n, (name, count)
    t_loop = t_quit = 0.0
    if download:
        _, lines, _ = p.list()
        p.uidl()
        assert len(lines) == n, (name, len(lines))
        t1 = time.monotonic()
        for i in range(1, n + 1):
            p.retr(i)
            p.dele(i)
        t_loop = time.monotonic() - t1
    t1 = time.monotonic()
    p.quit()
    t_quit = time.monotonic() - t1
    total = time.monotonic() - t0
    proc.wait(60)
    return t_first, t_stat, t_loop, t_quit, total

def run(name, cmd_fn):
    md = os.path.join(tmp, name)
    shutil.copytree(master, md)
    chown_tree(md)
    try:
        cmd_fn(md)
    except FileNotFoundError as e:
        shutil.rmtree(md)
        return None, "not available (%s)" % e
    # The copy's dirty pages are written out first, so that the first
    # fsync of whichever server does one does not pay for them.
    os.sync()
    time.sleep(warm_after)
    try:
        cold = session(name, md, cmd_fn, False)
        time.sleep(warm_after)
        short = sorted((session(name, md, cmd_fn, False)
                        for _ in range(warm_runs)), key=lambda r: r[1])
        mid = short[len(short) // 2]
        warm = session(name, md, cmd_fn, True)
        # The login figures are the short sessions' median.
        warm = (mid[0], mid[1]) + warm[2:]
    except OSError as e:
        shutil.rmtree(md)
        return None, "cannot run: %s" % e
    left = len(os.listdir(os.path.join(md, "cur"))) + \
        len(os.listdir(os.path.join(md, "new")))
    shutil.rmtree(md)
    if left:
        return None, "left %d messages" % left
    return (cold, warm), None

results = {}
servers = (("ours", ours_cmd), ("dovecot", dovecot_cmd),
           ("courier", courier_cmd))
for k, (name, fn) in enumerate(servers):
    if k > 0 and rest > 0:
        os.sync()
        time.sleep(rest)
    try:
        r, err = run(name, fn)
    except (poplib.error_proto, AssertionError) as e:
        with open(os.path.join(tmp, name + ".log")) as f:
            r, err = None, "failed: %s; log: %s" % (e, f.read()[-400:])
    if err:
        print("%-8s %s" % (name, err))
        continue
    results[name] = r
    cold, warm = r
    print("%-8s cold login-to-first-byte (STAT) %.4f s (greeting %.4f s)" %
          (name, cold[1], cold[0]))
    print("%-8s warm login-to-first-byte (STAT) %.4f s (greeting %.4f s); "
          "RETR+DELE loop %.2f s (%.0f msg/s), QUIT %.2f s, session "
          "%.2f s" % (name, warm[1], warm[0], warm[2], n / warm[2],
                      warm[3], warm[4]))
o = results.get("ours")
for peer in ("dovecot", "courier"):
    if o and peer in results:
        p = results[peer]
        print("ratio ours/%s: cold login-to-first-byte %.3f, warm "
              "login-to-first-byte %.3f, RETR+DELE loop %.2f, QUIT %s, "
              "warm session %.2f" %
              (peer, o[0][1] / p[0][1], o[1][1] / p[1][1],
               o[1][2] / p[1][2],
               "%.2f" % (o[1][3] / p[1][3]) if p[1][3] > 0.001 else
               "n/a (%s answers before deleting)" % peer,
               o[1][4] / p[1][4]))
PY
