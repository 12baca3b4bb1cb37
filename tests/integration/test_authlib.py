"""test_authlib.py: authdaemond with the userdb module in a throw-away
instance, driven by authtest, authenumerate and raw authdaemon protocol
requests (as Courier's clients send them)."""

import base64
import hashlib
import hmac
import os
import signal
import socket
import stat
import time

import pytest

import servers

META_USER = "o'brien;x)(uid=*)%\"*\\@example.test"
META_PASSWORD = "p w;'\"$(x)`|&"


def set_rc(instance, **settings):
    """Rewrites authdaemonrc NAME=value lines (adds the missing ones)."""
    path = os.path.join(instance.etc, "authdaemonrc")
    with open(path) as f:
        lines = f.read().splitlines()
    for name, value in settings.items():
        line = '%s="%s"' % (name, value)
        for i, old in enumerate(lines):
            if old.startswith(name + "="):
                lines[i] = line
                break
        else:
            lines.append(line)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def socket_path(instance):
    return os.path.join(instance.settings("authdaemonrc")["authdaemonvar"],
                        "socket")


def hashpw(instance, password, *args):
    return instance.run("userdbpw", *args, input=password + "\n").stdout.strip()


def add_account(instance, name, password, *fields):
    home = os.path.join(instance.var, "vmail", name)
    instance.run("userdb", name, "set", "uid=%d" % os.getuid(),
                 "gid=%d" % os.getgid(), "home=" + home, *fields)
    if password is not None:
        # The hash on stdin, as Courier's "userdbpw | userdb NAME set
        # systempw".
        instance.run("userdb", name, "set", "systempw",
                     input=hashpw(instance, password) + "\n")


def start(instance, **settings):
    set_rc(instance, daemons="3", **settings)
    return instance.start_auth()


def authtest(instance, *args, service=None, ip=None, timeout=60):
    argv = []
    if service:
        argv += ["-s", service]
    if ip:
        argv += ["-r", ip]
    # "--": a password may begin with "-" (token_urlsafe makes such).
    r = instance.run("authtest", *(argv + ["--"] + list(args)), check=False,
                     timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def raw_request(instance, data, timeout=10):
    """Sends one request on the socket; returns the whole reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(socket_path(instance))
    s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
        if out.endswith(b"\n.\n") or out == b"FAIL\n" or out in (b"OK\n",):
            break
    s.close()
    return out


@pytest.fixture
def auth(instance):
    add_account(instance, "virt@other.test", "virt pw",
                "mail=" + os.path.join(instance.var, "vmail", "virt", "Md"),
                "quota=1000000S,500C", "gecos=Virtual User,room 2")
    add_account(instance, "noimap@example.test", "noimap pw",
                "options=disableimap=1")
    add_account(instance, META_USER, META_PASSWORD)
    return instance


def test_userdb_files(auth):
    inst = auth
    inst.run("makeuserdb")
    for name, mode in (("userdb", 0o600), ("userdbshadow.dat", 0o600)):
        st = os.stat(os.path.join(inst.etc, name))
        assert stat.S_IMODE(st.st_mode) == mode, name
    # the public file holds no password
    with open(os.path.join(inst.etc, "userdb.dat"), "rb") as f:
        assert b"systempw" not in f.read()
    # makeuserdb refuses a userdb others can read
    os.chmod(os.path.join(inst.etc, "userdb"), 0o644)
    r = inst.run("makeuserdb", check=False)
    assert r.returncode != 0 and "readable" in r.stderr
    os.chmod(os.path.join(inst.etc, "userdb"), 0o600)
    r = inst.run("userdb", "-show", "virt@other.test")
    assert "quota=1000000S,500C" in r.stdout


def test_logins(auth):
    inst = auth
    start(inst)
    rc, out = authtest(inst, inst.login, inst.password, service="imap")
    assert rc == 0, out
    assert "Authenticated: %s" % inst.login in out
    assert "Maildir: %s" % inst.maildir in out

    rc, out = authtest(inst, inst.login, "wrong " + inst.password)
    assert rc == 1 and "Authentication FAILED" in out

    rc, out = authtest(inst, "nobody@example.test", "x")
    assert rc == 1 and "Authentication FAILED" in out

    # lookup without a password (delivery)
    rc, out = authtest(inst, "virt@other.test")
    assert rc == 0, out
    assert "Quota: 1000000S,500C" in out
    assert "Maildir: %s" % os.path.join(inst.var, "vmail", "virt", "Md") \
        in out
    rc, out = authtest(inst, "virt@other.test", "virt pw", service="pop3")
    assert rc == 0, out
    rc, out = authtest(inst, "virt@example.test", "virt pw")
    assert rc == 1

    # disableimap: refused for imap only
    rc, out = authtest(inst, "noimap@example.test", "noimap pw",
                       service="imap")
    assert rc == 1, out
    rc, out = authtest(inst, "noimap@example.test", "noimap pw",
                       service="pop3")
    assert rc == 0, out
    assert "disableimap=1" in out

    # SQL and LDAP metacharacters in the name and the password
    rc, out = authtest(inst, META_USER, META_PASSWORD, service="imap")
    assert rc == 0, out
    assert "Authenticated: " + META_USER in out
    rc, out = authtest(inst, META_USER, META_PASSWORD + "x")
    assert rc == 1
    rc, out = authtest(inst, "*", "*")
    assert rc == 1

    # the password never reaches the log, even with DEBUG_LOGIN
    with open(os.path.join(inst.var, "log", "authdaemond.log")) as f:
        log = f.read()
    assert inst.password not in log and META_PASSWORD not in log


def test_debug_login_never_logs_passwords(auth):
    inst = auth
    start(inst, DEBUG_LOGIN="2")
    authtest(inst, inst.login, inst.password, service="imap")
    authtest(inst, inst.login, "Wr0ngSecret", service="imap")
    time.sleep(0.3)
    with open(os.path.join(inst.var, "log", "authdaemond.log")) as f:
        log = f.read()
    assert "AUTH service=imap" in log
    assert inst.password not in log and "Wr0ngSecret" not in log


def test_courier_wire_protocol(auth):
    """Requests exactly as Courier's imaplogin / courierlocal send them."""
    inst = auth
    start(inst, DEFAULTOPTIONS="wbnodsn=1,disableimap=0")
    data = "imap\nlogin\n%s\n%s\n" % (inst.login, inst.password)
    reply = raw_request(inst, b"TCPREMOTEIP=192.0.2.1\nAUTH %d\n%s" %
                        (len(data), data.encode()))
    lines = reply.decode().splitlines()
    assert lines[-1] == "."
    kv = dict(line.split("=", 1) for line in lines[:-1])
    assert kv["ADDRESS"] == inst.login
    # courier-setup gives the account its mail user (never root).
    assert kv["UID"] == str(os.stat(inst.maildir).st_uid)
    assert kv["HOME"] == inst.home
    assert kv["MAILDIR"] == inst.maildir
    assert kv["OPTIONS"] == "wbnodsn=1,disableimap=0"
    assert kv["PASSWD"].startswith("$")

    reply = raw_request(inst, b"PRE . courier virt@other.test\n")
    assert b"ADDRESS=virt@other.test\n" in reply
    assert b"NAME=Virtual User\n" in reply
    assert reply.endswith(b"\n.\n")
    assert raw_request(inst, b"PRE . courier nobody\n") == b"FAIL\n"
    # a malformed request is closed without a reply
    assert raw_request(inst, b"HELLO\n") == b""

    # CRAM-MD5 with Courier's precomputed hmac-md5pw
    inst.run("userdb", "virt@other.test", "set", "hmac-md5pw",
             input=hashpw(inst, "virt pw", "-hmac-md5") + "\n")
    inst.run("makeuserdb")
    challenge = b"<12345.678@mail.example.test>"
    digest = hmac.new(b"virt pw", challenge, hashlib.md5).hexdigest()
    for good in (True, False):
        d = digest if good else "0" * 32
        data = b"esmtp\ncram-md5\n%s\n%s\n" % (
            base64.b64encode(challenge),
            base64.b64encode(b"virt@other.test " + d.encode()))
        reply = raw_request(inst, b"AUTH %d\n%s" % (len(data), data))
        if good:
            assert b"ADDRESS=virt@other.test\n" in reply, reply
        else:
            assert reply == b"FAIL\n"

    # ENUMERATE
    r = inst.run("authenumerate")
    names = [line.split("\t")[0] for line in r.stdout.splitlines()]
    assert inst.login in names and "virt@other.test" in names
    assert META_USER in names


def test_password_change(auth):
    inst = auth
    start(inst)
    rc, out = authtest(inst, "virt@other.test", "wrong", "new pw 2")
    assert rc == 1
    rc, out = authtest(inst, "virt@other.test", "virt pw", "new pw 2")
    assert rc == 0 and "Password change succeeded" in out, out
    assert authtest(inst, "virt@other.test", "new pw 2")[0] == 0
    assert authtest(inst, "virt@other.test", "virt pw")[0] == 1
    # the text file got the new hash, in the strongest scheme
    r = inst.run("userdb", "-show", "virt@other.test")
    assert "systempw=$y$" in r.stdout


def test_throttling(auth):
    inst = auth
    start(inst, AUTHFAIL_USER="3", AUTHFAIL_IP="5", AUTHFAIL_WINDOW="4")
    for _ in range(3):
        assert authtest(inst, "virt@other.test", "bad")[0] == 1
    # the right password is refused now, with the same answer
    rc, out = authtest(inst, "virt@other.test", "virt pw")
    assert rc == 1 and "Authentication FAILED" in out
    # other accounts are not affected
    assert authtest(inst, inst.login, inst.password)[0] == 0
    # per client address, across accounts
    for i in range(5):
        assert authtest(inst, "u%d@example.test" % i, "x",
                        ip="192.0.2.7")[0] == 1
    assert authtest(inst, inst.login, inst.password, ip="192.0.2.7")[0] == 1
    assert authtest(inst, inst.login, inst.password, ip="192.0.2.8")[0] == 0
    # the window passes
    time.sleep(4.5)
    assert authtest(inst, "virt@other.test", "virt pw")[0] == 0
    assert authtest(inst, inst.login, inst.password, ip="192.0.2.7")[0] == 0
    with open(os.path.join(inst.var, "log", "authdaemond.log")) as f:
        assert "login throttled" in f.read()


def worker_pids(daemon_pid):
    """The request workers: grandchildren of the supervisor."""
    def children(pid):
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []
    out = []
    for pool in children(daemon_pid):
        out += children(pool)
    return out


def test_worker_killed_and_replaced(auth):
    inst = auth
    d = start(inst)
    pids = worker_pids(d.pid)
    assert len(pids) == 3, pids
    os.kill(pids[0], signal.SIGKILL)
    servers.wait_until(lambda: len(worker_pids(d.pid)) == 3 and
                       pids[0] not in worker_pids(d.pid),
                       "worker replaced", timeout=10)
    for _ in range(10):
        assert authtest(inst, inst.login, inst.password)[0] == 0
    with open(d.log) as f:
        assert "killed by signal 9: replaced" in f.read()
    # the whole pool dies: the supervisor restarts it
    pool = [p for p in os.listdir("/proc/%d/task/%d" % (d.pid, d.pid))]
    assert pool
    with open("/proc/%d/task/%d/children" % (d.pid, d.pid)) as f:
        pool_pid = int(f.read().split()[0])
    os.kill(pool_pid, signal.SIGKILL)
    servers.wait_until(lambda: len(worker_pids(d.pid)) == 3,
                       "pool restarted", timeout=15)
    servers.wait_until(lambda: authtest(inst, inst.login,
                                        inst.password)[0] == 0,
                       "answers again", timeout=10)
    # SIGTERM stops everything and removes the socket
    assert inst.stop("authdaemond") == 0
    assert not os.path.exists(socket_path(inst))


def test_slow_module_is_a_temporary_failure(auth, tmp_path):
    inst = auth
    prog = tmp_path / "authprog"
    prog.write_text("#!/bin/sh\n"
                    "req=$(cat)\n"
                    "case \"$req\" in *slow@*) sleep 30;; esac\n"
                    "echo FAIL\n")
    prog.chmod(0o755)
    start(inst, authmodulelist="authpipe authuserdb", PIPE_PROGRAM=str(prog),
          AUTH_TIMEOUT="2")
    # authpipe says FAIL: the next module (userdb) answers
    assert authtest(inst, inst.login, inst.password)[0] == 0
    t0 = time.monotonic()
    rc, out = authtest(inst, "slow@example.test", "pw", service="imap")
    elapsed = time.monotonic() - t0
    assert rc == 75, out
    assert "temporary" in out
    assert "Operation not permitted" not in out
    assert elapsed < 8, elapsed
    # and it does not count as a failed login, nor break the daemon
    assert authtest(inst, inst.login, inst.password)[0] == 0


def test_daemon_down_is_temporary(auth):
    inst = auth
    inst.run("makeuserdb")
    rc, out = authtest(inst, inst.login, inst.password)
    assert rc == 75 and "temporary" in out


def test_authdaemond_start_stop(auth):
    inst = auth
    inst.run("makeuserdb")
    inst.run("authdaemond", "start")
    try:
        servers.wait_until(lambda: authtest(inst, inst.login,
                                            inst.password)[0] == 0,
                           "authdaemond start", timeout=10)
        pidfile = os.path.join(inst.var, "run", "authdaemond.pid")
        pid = int(open(pidfile).read().strip())
        os.kill(pid, 0)
        r = inst.run("authdaemond", "start", check=False)
        assert r.returncode != 0 and "already running" in r.stderr
    finally:
        inst.run("authdaemond", "stop")
    assert not os.path.exists(socket_path(inst))


def test_pw2userdb(auth, tmp_path):
    inst = auth
    passwd = tmp_path / "passwd"
    passwd.write_text("joe:x:1234:100:Joe Q,,,:/home/joe:/bin/bash\n")
    shadow = tmp_path / "shadow"
    shadow.write_text("joe:$6$saltsalt$lmCclbWD7xzsQy3S43xpDR1ENAuNqWoHncz0"
                      "efdFKB9JuOZQW1Tpjjh.sZ4UBjHOszQGRDPvCB8Yl.nRs5Sd20"
                      ":19000:0:99999:7:::\n")
    r = inst.run("pw2userdb", "--passwd=%s" % passwd,
                 "--shadow=%s" % shadow)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("joe\tuid=1234|gid=100|home=/home/joe|")
    assert "systempw=$6$saltsalt$" in lines[0]
    assert lines[1] == "1234=\tjoe"
    # imported into the userdb, the account logs in
    with open(os.path.join(inst.etc, "userdb"), "a") as f:
        f.write(r.stdout)
    start(inst)
    assert authtest(inst, "joe", "pass word1")[0] == 0
