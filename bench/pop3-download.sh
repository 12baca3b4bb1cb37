#!/usr/bin/env bash
# bench/pop3-download.sh: LIST, UIDL, then RETR and DELE of every message
# of a 20,000-message INBOX with Python's poplib (a synchronous client),
# side by side with Debian's Dovecot POP3 and Courier's pop3d, each on its
# own copy of the same maildir.  Every server runs in its pre-authenticated
# mode over a socketpair (ours: `pop3d DIR`; Courier: `courierpop3d DIR`;
# Dovecot: its `pop3` binary with a minimal config), so the figures compare
# the POP3 sessions themselves: login-to-first-byte (the snapshot of a big
# maildir) and the download.  Ours is also measured over TCP through the
# daemon (login process, authdaemond, the per-account process) when
# BENCH_TCP_INSTANCE=ROOT names a running instance.
#
# Usage: bench/pop3-download.sh [MESSAGES]   (default 20000)
# Peers: PEERS_ROOT=DIR holds the unpacked .debs (dpkg-deb -x) of
# courier-pop, courier-base, dovecot-core and dovecot-pop3d; the script
# unpacks them there with apt-get download if they are missing.
set -eu
. "$(dirname "$0")/lib.sh"
bench_init pop3-download
n=${1:-20000}
pop3d=$(bench_suite_bin pop3d)
peers=${PEERS_ROOT:-/tmp/pop3-peers}

if [ ! -d "$peers/root" ]; then
	mkdir -p "$peers" && (cd "$peers" &&
		apt-get download courier-pop courier-base dovecot-core \
			dovecot-pop3d libcourier-unicode4 >/dev/null 2>&1 &&
		for f in *.deb; do dpkg-deb -x "$f" root; done) ||
		echo "bench: could not fetch the peers' packages" >&2
fi

/usr/bin/python3 - "$n" "$BENCH_TMP" "$pop3d" "$peers/root" <<'PY'
import os, poplib, pwd, shutil, socket, statistics, subprocess, sys, time

n, tmp, pop3d, peers = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

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

def run(name, cmd_fn):
    md = os.path.join(tmp, name)
    shutil.copytree(master, md)
    chown_tree(md)
    try:
        cmd, env = cmd_fn(md)
    except FileNotFoundError as e:
        return None, "not available (%s)" % e
    # The copy's dirty pages are written out first, so that the first
    # fsync of whichever server does one does not pay for them.
    os.sync()
    # Pipes, not a socket: Dovecot's pop3 takes a socket on stdin for an
    # inetd start and refuses it.
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=open(os.path.join(tmp, name + ".log"),
                                            "w"), env=env, cwd=tmp)
    except OSError as e:
        return None, "cannot run: %s" % e
    p = poplib.POP3.__new__(poplib.POP3)
    p._debugging = 0
    p.sock = PipeSock(proc.stdin)
    p.file = proc.stdout
    # Dovecot's pre-authenticated pop3 sends no greeting: its first
    # byte is the answer to STAT.
    if name != "dovecot":
        p.welcome = p._getresp()
    t_first = time.monotonic() - t0
    p.stat()
    if name == "dovecot":
        t_first = time.monotonic() - t0
    t_login = time.monotonic() - t0
    _, lines, _ = p.list()
    p.uidl()
    assert len(lines) == n, (name, len(lines))
    for i in range(1, n + 1):
        p.retr(i)
        p.dele(i)
    p.quit()
    total = time.monotonic() - t0
    proc.wait(60)
    left = len(os.listdir(os.path.join(md, "cur"))) + \
        len(os.listdir(os.path.join(md, "new")))
    shutil.rmtree(md)
    if left:
        return None, "left %d messages" % left
    return (t_first, t_login, total), None

results = {}
for name, fn in (("ours", ours_cmd), ("dovecot", dovecot_cmd),
                 ("courier", courier_cmd)):
    try:
        r, err = run(name, fn)
    except (poplib.error_proto, OSError) as e:
        with open(os.path.join(tmp, name + ".log")) as f:
            r, err = None, "failed: %s; log: %s" % (e, f.read()[-400:])
    if err:
        print("%-8s %s" % (name, err))
    else:
        results[name] = r
        print("%-8s first byte %.3f s, STAT answered %.3f s, whole run "
              "%.2f s (%.0f msg/s)" % (name, r[0], r[1], r[2], n / r[2]))
o = results.get("ours")
for peer in ("dovecot", "courier"):
    if o and peer in results:
        p = results[peer]
        print("ratio ours/%s: whole run %.2f, login-to-STAT %.3f" %
              (peer, o[2] / p[2], o[1] / p[1]))
PY
