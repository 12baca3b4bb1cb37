"""test_privileges.py: an instance set up and started as root, as ./run.sh
and CI do it, gives up root where it can: courier-setup gives the queue to
the queue user (daemon) and the group mail, authdaemond's socket to root
and the queue user's group only; esmtpd and courieresmtp run with a
non-zero uid and no root group (/proc/PID/status), and still do their
work: a message over the submission port with STARTTLS and AUTH is
DKIM-signed (dkimpy verifies it), delivered to the account's Maildir and
to a remote SMTP sink; IMAP and POP3 logins work; the setgid submit works
for nobody.  Skipped unless run as root."""

import email
import email.policy
import glob
import grp
import imaplib
import os
import poplib
import pwd
import re
import shutil
import smtplib
import socket
import stat
import subprocess
import tempfile

import dkim
import pytest

import servers
from conftest import make_instance, wait_for
from smtpsink import FakeSmtp

pytestmark = pytest.mark.skipif(
    os.getuid() != 0,
    reason="privileges are dropped only by daemons started as root "
           "(run the integration tests as root, as CI does)")

SINK_ADDRESS = "127.0.0.9"
QUEUE_USER = "daemon"


@pytest.fixture(scope="module")
def dns():
    d = servers.DnsServer([("MX", "remote.test", "mx.remote.test", 10),
                           ("A", "mx.remote.test", SINK_ADDRESS)])
    d.start()
    yield d
    d.stop()


@pytest.fixture
def inst(suite_build, dns):
    root = tempfile.mkdtemp(prefix="test-privileges-")
    os.chmod(root, 0o755)
    # the defaults of a root setup: the mail store belongs to "vmail", the
    # queue to daemon:mail
    i = make_instance(suite_build, os.path.join(root, "instance"))
    for name in ("esmtpd", "courierd", "authdaemond", "imapd", "pop3d",
                 "courier-dkimkeygen"):
        i.program(name)
    if not os.path.exists(os.path.join(
            suite_build.prefix or "", "libexec", "courier", "modules",
            "courieresmtp")):
        pytest.skip("courieresmtp is not installed")
    sink_port = servers.find_free_port()
    with open(os.path.join(i.etc, "dnsservers"), "w") as f:
        f.write("127.0.0.1#%d\n" % dns.port)
    with open(os.path.join(i.etc, "courierd"), "a") as f:
        f.write("ESMTP_PORT=%d\n" % sink_port)
    for name, value in (("retryalpha", "1s"), ("esmtpdelay", "0")):
        with open(os.path.join(i.etc, name), "w") as f:
            f.write(value + "\n")
    i.sink = FakeSmtp(SINK_ADDRESS, sink_port,
                      ehlo=("PIPELINING", "8BITMIME"))
    i.tmproot = root
    try:
        yield i
    finally:
        i.sink.close()
        i.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def proc_status(pid):
    """Uid, Gid (real, effective, saved, fs) and Groups of a process."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups", "CapEff"):
                out[key] = value.split()
    out["Uid"] = [int(x) for x in out["Uid"]]
    out["Gid"] = [int(x) for x in out["Gid"]]
    out["Groups"] = [int(x) for x in out["Groups"]]
    return out


def children(pid, name):
    """Pids of pid's children whose program is name."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode()
        except OSError:
            continue
        if int(fields[1]) == pid and os.path.basename(argv0) == name:
            out.append(int(d))
    return out


def assert_unprivileged(pid, what):
    st = proc_status(pid)
    daemon = pwd.getpwnam(QUEUE_USER)
    assert st["Uid"] == [daemon.pw_uid] * 4, "%s: %s" % (what, st)
    assert 0 not in st["Gid"], "%s: %s" % (what, st)
    assert 0 not in st["Groups"], "%s: %s" % (what, st)
    assert int(st["CapEff"][0], 16) == 0, "%s: %s" % (what, st)
    return st


def log_has(inst, name, text):
    """The daemon's log once it holds text (the ports listen before the
    daemon drops root and says so)."""
    with open(inst.daemons[name].log) as f:
        log = f.read()
    return log if text in log else None


def start_all(inst):
    d = inst.start("authdaemond")
    sock = os.path.join(inst.var, "run", "authdaemon", "socket")
    servers.wait_until(lambda: os.path.exists(sock), "authdaemond",
                       timeout=10, proc=d.proc, log=d.log)
    inst.start("courierd")
    inst.start("esmtpd")
    inst.start("imapd")
    inst.start("pop3d")


def as_user(user, *argv, input=None):
    return subprocess.run(["runuser", "-u", user, "--"] + list(argv),
                          input=input, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def test_setup_gives_the_queue_and_socket_away(inst):
    daemon = pwd.getpwnam(QUEUE_USER)
    mail = grp.getgrnam("mail")
    for sub in ("queue", "queue/tmp", "queue/msgs", "filters", "filtertmp",
                "esmtp"):
        st = os.stat(os.path.join(inst.var, sub))
        assert (st.st_uid, st.st_gid) == (daemon.pw_uid, mail.gr_gid), sub
        assert st.st_mode & 0o007 == 0, sub
    assert os.stat(os.path.join(inst.var, "queue", "msgs")).st_mode & \
        0o2070 == 0o2070
    adir = os.path.join(inst.var, "run", "authdaemon")
    st = os.stat(adir)
    assert (st.st_uid, st.st_gid) == (0, daemon.pw_gid)
    assert stat.S_IMODE(st.st_mode) == 0o750
    # the certificate's key stays root's: esmtpd loads it before it drops
    st = os.stat(inst.cert)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600
    # the SMTP-time filter helper (localmailfilter): setuid root, and only
    # the queue's group may run it (not the store's owner, not others)
    helper = os.path.join(os.path.dirname(inst.build.courier_setup), "..",
                          "libexec", "courier", "mailfilterexec")
    if os.path.exists(helper):
        st = os.stat(helper)
        assert (st.st_uid, st.st_gid) == (0, mail.gr_gid)
        assert stat.S_IMODE(st.st_mode) == 0o4750
        r = as_user("vmail", helper, "demo", "rcptfilter")
        assert r.returncode == 126 or "ermission denied" in r.stderr, \
            (r.returncode, r.stderr)
    # a second run gives secrets added since to the queue user, 0600
    auth = os.path.join(inst.etc, "esmtpauthclient")
    with open(auth, "w") as f:
        f.write("smarthost.test user secret\n")
    os.chmod(auth, 0o644)
    r = subprocess.run([inst.build.courier_setup, "--instance", inst.root,
                        "--domain", inst.domain], env=inst.env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    assert r.returncode == 0, r.stdout
    st = os.stat(auth)
    assert st.st_uid == daemon.pw_uid and stat.S_IMODE(st.st_mode) == 0o600
    # the store's owner (who runs the accounts' programs) cannot write
    # into the queue: it is not in the queue's group
    r = as_user("vmail", "touch", os.path.join(inst.var, "queue", "msgs",
                                               "forged"))
    assert r.returncode != 0 and not os.path.exists(
        os.path.join(inst.var, "queue", "msgs", "forged")), r.stderr
    # a store's owner in the queue's group is warned about; the account
    # that exists keeps its owner (its userdb line is kept)
    r = subprocess.run([inst.build.courier_setup, "--instance", inst.root,
                        "--domain", inst.domain, "--user", "mail"],
                       env=inst.env, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "is in the queue's group mail" in r.stderr
    assert os.stat(inst.maildir).st_uid == pwd.getpwnam("vmail").pw_uid
    # the queue user may not own the mail store
    r = subprocess.run([inst.build.courier_setup, "--instance", inst.root,
                        "--domain", inst.domain, "--user", QUEUE_USER],
                       env=inst.env, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode != 0 and "also owns the mail store" in r.stdout
    r = subprocess.run([inst.build.courier_setup, "--instance", inst.root,
                        "--domain", inst.domain, "--queue-user", "root"],
                       env=inst.env, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode != 0 and "must not be root" in r.stdout


def test_authdaemond_socket_reachable_by_queue_user_only(inst):
    d = inst.start("authdaemond")
    sock = os.path.join(inst.var, "run", "authdaemon", "socket")
    servers.wait_until(lambda: os.path.exists(sock), "authdaemond",
                       timeout=10, proc=d.proc, log=d.log)
    st = os.stat(sock)
    assert st.st_gid == pwd.getpwnam(QUEUE_USER).pw_gid
    assert stat.S_IMODE(st.st_mode) == 0o660
    probe = ("import socket, sys\n"
             "s = socket.socket(socket.AF_UNIX)\n"
             "try:\n"
             "    s.connect(sys.argv[1])\n"
             "except PermissionError:\n"
             "    print('refused')\n"
             "else:\n"
             "    print('connected')\n")
    # the queue user (with its own group, as esmtpd has it) connects ...
    r = as_user(QUEUE_USER, "python3", "-c", probe, sock)
    assert r.stdout.strip() == "connected", r.stderr
    # ... nobody, and the mail store's owner (whose programs the accounts
    # run) cannot
    for user in ("nobody", "vmail", "mail"):
        r = as_user(user, "python3", "-c", probe, sock)
        assert r.stdout.strip() == "refused", (user, r.stdout, r.stderr)
    # a folder open to everyone is reported
    inst.stop("authdaemond")
    adir = os.path.dirname(sock)
    os.chmod(adir, 0o777)
    inst.start("authdaemond")
    wait_for(lambda: log_has(inst, "authdaemond", "writable by everyone"),
             what="authdaemond's warning")
    os.chmod(adir, 0o750)


def dkim_record(output):
    """The p= record courier-dkimkeygen printed, its strings joined."""
    return "".join(re.findall(r'"([^"]*)"', output))


def test_daemons_run_unprivileged_and_work(inst):
    r = inst.run("courier-dkimkeygen", inst.domain)
    record = dkim_record(r.stdout)
    assert record.startswith("v=DKIM1")
    key = glob.glob(os.path.join(inst.etc, "dkim", "*.key"))[0]
    st = os.stat(key)
    assert st.st_uid == pwd.getpwnam(QUEUE_USER).pw_uid
    assert stat.S_IMODE(st.st_mode) == 0o600
    selector = os.path.basename(key)[len(inst.domain) + 1:-len(".key")]
    start_all(inst)

    log = wait_for(lambda: log_has(inst, "esmtpd", "running as "),
                   what="esmtpd's line on whom it runs as")
    assert "running as %s" % QUEUE_USER in log
    assert "running as root" not in log
    esmtpd = inst.daemons["esmtpd"].proc.pid
    st = assert_unprivileged(esmtpd, "esmtpd")
    assert st["Gid"] == [grp.getgrnam("mail").gr_gid] * 4

    # submission with STARTTLS and AUTH, to the account and to a remote
    # address; signed with the instance's DKIM key
    msg = ("From: Demo <%s>\r\nTo: %s, friend@remote.test\r\n"
           "Subject: unprivileged\r\nMessage-ID: <priv@%s>\r\n\r\n"
           "Delivered by an esmtpd without root.\r\n" %
           (inst.login, inst.login, inst.domain)).encode()
    s = smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30)
    s.starttls(context=inst.ssl_context())
    s.login(inst.login, inst.password)
    s.sendmail(inst.login, [inst.login, "friend@remote.test"], msg)
    s.quit()

    def delivered():
        return glob.glob(os.path.join(inst.maildir, "new", "*"))
    path = wait_for(delivered, what="local delivery")[0]
    with open(path, "rb") as f:
        local = f.read()
    assert b"Subject: unprivileged" in local
    assert b"DKIM-Signature:" in local

    remote = wait_for(lambda: inst.sink.messages, what="remote delivery")
    data = remote[0][2]
    if isinstance(data, str):
        data = data.encode()
    wanted = "%s._domainkey.%s" % (selector, inst.domain)

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return record.encode() if name.rstrip(".") == wanted else None
    assert dkim.verify(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
                       dnsfunc=dnsfunc), data[:600]

    # IMAP and POP3: the master asks authdaemond as root, then switches
    # to the account's uid
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=30)
    m.starttls(ssl_context=inst.ssl_context())
    assert m.login(inst.login, inst.password)[0] == "OK"
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) >= 1
    m.logout()
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
    p.stls(inst.ssl_context())
    p.user(inst.login)
    assert p.pass_(inst.password).startswith(b"+OK")
    assert p.stat()[0] >= 1
    p.quit()

    # courieresmtp, courierd's child, made that delivery
    courierd = inst.daemons["courierd"].proc.pid
    mods = children(courierd, "courieresmtp")
    assert mods, "courieresmtp is not running under courierd"
    st = assert_unprivileged(mods[0], "courieresmtp")
    # the queue's group only
    assert st["Gid"] == [grp.getgrnam("mail").gr_gid] * 4
    assert st["Groups"] == [grp.getgrnam("mail").gr_gid]
    # courierd keeps root, for courierlocal
    assert proc_status(courierd)["Uid"][1] == 0


def test_sendmail_as_nobody_with_unprivileged_queue(inst):
    """The setgid submit still queues mail for a user who cannot write
    the queue, and courierd delivers it."""
    start_all(inst)
    r = as_user("nobody", "env", "COURIER_INSTANCE=" + inst.root,
                inst.program("sendmail"), "-t",
                input="To: %s\nSubject: from nobody\n\nhi\n" % inst.login)
    assert r.returncode == 0, r.stderr

    def delivered():
        out = []
        for p in glob.glob(os.path.join(inst.maildir, "new", "*")):
            with open(p, "rb") as f:
                out.append(email.message_from_bytes(
                    f.read(), policy=email.policy.default))
        return [m for m in out if m["Subject"] == "from nobody"]
    wait_for(delivered, what="delivery of nobody's mail")


def test_esmtpd_stays_root_with_a_warning_when_queue_is_roots(inst):
    """An instance whose queue is root's (not set up by courier-setup as
    root) cannot drop: esmtpd says so instead of failing silently."""
    for dirpath, dirnames, filenames in os.walk(
            os.path.join(inst.var, "queue")):
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), 0, -1)
    os.chown(os.path.join(inst.var, "queue"), 0, -1)
    inst.start("esmtpd")
    wait_for(lambda: log_has(inst, "esmtpd",
                             "belongs to root: running as root"),
             what="esmtpd's warning")
    # courier-setup run again gives it back
    r = subprocess.run([inst.build.courier_setup, "--instance", inst.root,
                        "--domain", inst.domain], env=inst.env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    assert r.returncode == 0, r.stdout
    inst.stop("esmtpd")
    inst.start("esmtpd")
    wait_for(lambda: log_has(inst, "esmtpd", "running as %s" % QUEUE_USER),
             what="esmtpd's switch")
    assert_unprivileged(inst.daemons["esmtpd"].proc.pid, "esmtpd")
