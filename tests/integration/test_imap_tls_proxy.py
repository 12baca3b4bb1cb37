"""test_imap_tls_proxy.py: imapd's TLS proxy processes (doc/imap.md
"TLS proxies"): logins over 993 and STARTTLS with imaplib, a 10 MB
message fetched byte-identical through the proxy, 50 TLS sessions with no
relay process after login, hibernation and wake-up (a command, IDLE and
a delivery) over TLS, the handshake deadline, a killed proxy restarted,
plaintext pipelined after STARTTLS thrown away, and a full proxy refusing
with BYE."""

import imaplib
import os
import shutil
import signal
import socket
import ssl
import time

import pytest

import imaphelp
from test_imap import deliver, tls_ctx

HIB = 2          # IMAP_HIBERNATE_TIMEOUT
HANDSHAKE = 2    # IMAP_TLS_HANDSHAKE_TIMEOUT
PROXY_NAME = "imapd-tlsproxy"


def message(n, body=None):
    return ("From: a%d@example.test\r\nTo: demo@example.test\r\n"
            "Subject: message %d\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000"
            "\r\nMessage-ID: <p%d@example.test>\r\n\r\n%s"
            % (n, n, n, body if body is not None else "body %d\r\n" % n))


def start_instance(suite_build, settings):
    """An instance with settings in etc/imapd and imapd running; ended
    by inst.stop_all() and removing inst.tmproot."""
    return imaphelp.start(suite_build, "test-imap-tlsproxy-", settings)


@pytest.fixture
def pinst(suite_build):
    inst = start_instance(suite_build, {
        "IMAP_HIBERNATE_TIMEOUT": HIB,
        "IMAP_TLS_HANDSHAKE_TIMEOUT": HANDSHAKE,
        "IMAP_TLS_PROXIES": 2,
        "MAXPERIP": 200,
        "MAXDAEMONS": 400,
    })
    try:
        for n in range(1, 4):
            deliver(inst, message(n))
        wait_proxies(inst, 2)
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(inst.tmproot, ignore_errors=True)


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def children(pid):
    """(pid, uid, comm) of the processes whose parent is pid."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                out.append((int(p), os.stat("/proc/%s" % p).st_uid,
                            comm(int(p))))
        except (OSError, ValueError, IndexError):
            continue
    return out


def proxies(inst):
    return [p for p, u, c in children(inst.daemons["imapd"].pid)
            if c == PROXY_NAME]


def others(inst):
    """The master's children that are not TLS proxies: pre-login
    processes (relays) and mail sessions, as (pid, uid)."""
    return [(p, u) for p, u, c in children(inst.daemons["imapd"].pid)
            if c != PROXY_NAME]


def wait_proxies(inst, n, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(proxies(inst)) == n:
            return
        time.sleep(0.1)
    pytest.fail("expected %d TLS proxies, have %s" % (n, proxies(inst)))


def wait_others(inst, n, timeout=HIB + 10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(others(inst)) == n:
            return
        time.sleep(0.1)
    pytest.fail("expected %d processes besides the proxies, have %s" %
                (n, others(inst)))


def ssl_login(inst):
    m = imaplib.IMAP4_SSL(inst.address, inst.ports["imaps"],
                          ssl_context=tls_ctx(), timeout=30)
    m.login(inst.login, inst.password)
    return m


def starttls_login(inst):
    m = imaplib.IMAP4(inst.address, inst.ports["imap"], timeout=30)
    m.starttls(ssl_context=tls_ctx())
    m.login(inst.login, inst.password)
    return m


def ok(r):
    typ, data = r
    assert typ == "OK", r
    return data


def test_logins(pinst):
    m = imaplib.IMAP4_SSL(pinst.address, pinst.ports["imaps"],
                          ssl_context=tls_ctx(), timeout=30)
    caps = m.capabilities
    assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
    m.login(pinst.login, pinst.password)
    assert ok(m.select("INBOX")) == [b"3"]
    data = ok(m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    assert b"Subject: message 2" in data[0][1]
    m.logout()

    m = imaplib.IMAP4(pinst.address, pinst.ports["imap"], timeout=30)
    assert "STARTTLS" in m.capabilities
    m.starttls(ssl_context=tls_ctx())
    typ, data = m.capability()
    assert typ == "OK"
    assert b"STARTTLS" not in data[0] and b"LOGINDISABLED" not in data[0]
    m.login(pinst.login, pinst.password)
    assert ok(m.select("INBOX")) == [b"3"]
    m.logout()


def test_big_message(pinst):
    # 10 MB of varied lines: the proxy's small buffers and back-pressure
    # must deliver every byte in order
    lines = []
    size = 0
    i = 0
    while size < 10 * 1024 * 1024:
        line = "%08d %s\r\n" % (i, "abcdefghijklmnopqrstuvwxyz"[i % 26] *
                                (i % 70 + 1))
        lines.append(line)
        size += len(line)
        i += 1
    text = message(9, "".join(lines))
    deliver(pinst, text)
    for login in (ssl_login, starttls_login):
        m = login(pinst)
        ok(m.select("INBOX", readonly=True))
        data = ok(m.fetch("4", "(BODY.PEEK[])"))
        assert data[0][1] == text.encode()
        m.logout()


def test_fifty_sessions_no_relay(pinst):
    conns = []
    try:
        for i in range(50):
            m = (ssl_login if i % 2 == 0 else starttls_login)(pinst)
            ok(m.select("INBOX"))
            conns.append(m)
        uid = os.stat(pinst.maildir).st_uid
        # after login: the sessions, no pre-login process relaying
        kids = others(pinst)
        relays = [p for p, u in kids if u != uid]
        assert relays == [], kids
        # every session hibernates: no process per connection at all
        wait_others(pinst, 0)
        assert len(proxies(pinst)) == 2
        for m in conns:
            assert ok(m.noop()) is not None
        for m in conns:
            m.logout()
        conns = []
        wait_others(pinst, 0)
    finally:
        for m in conns:
            try:
                m.logout()
            except Exception:
                pass


class RawClient:
    """A line-level IMAP client over TLS, for IDLE."""

    def __init__(self, inst):
        raw = socket.create_connection((inst.address, inst.ports["imaps"]),
                                       timeout=30)
        self.s = tls_ctx().wrap_socket(raw)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, tag, text):
        self.s.sendall(b"%s %s\r\n" % (tag, text))
        out = []
        while True:
            line = self.line()
            out.append(line)
            if line.startswith(tag + b" "):
                return out


def test_hibernate_and_wake(pinst):
    # a command wakes it
    m = ssl_login(pinst)
    assert ok(m.select("INBOX")) == [b"3"]
    wait_others(pinst, 0)
    data = ok(m.fetch("1", "(FLAGS)"))
    assert b"FLAGS" in data[0]
    assert len(others(pinst)) == 1
    m.logout()

    # IDLE: hibernates inside it, a delivery wakes it
    c = RawClient(pinst)
    assert c.line().startswith(b"* OK")
    r = c.cmd(b"a", b"LOGIN %s %s" % (pinst.login.encode(),
                                     pinst.password.encode()))
    assert r[-1].startswith(b"a OK"), r
    r = c.cmd(b"b", b"SELECT INBOX")
    assert r[-1].startswith(b"b OK"), r
    c.s.sendall(b"c IDLE\r\n")
    assert c.line().startswith(b"+")
    wait_others(pinst, 0)
    deliver(pinst, message(7))
    c.s.settimeout(10)
    line = c.line()
    assert line == b"* 4 EXISTS", line
    c.s.sendall(b"DONE\r\n")
    while True:
        line = c.line()
        if line.startswith(b"c "):
            break
    assert line.startswith(b"c OK"), line
    r = c.cmd(b"d", b"LOGOUT")
    assert r[-1].startswith(b"d OK"), r
    c.s.close()


def test_handshake_deadline(pinst):
    silent = socket.create_connection((pinst.address, pinst.ports["imaps"]),
                                      timeout=30)
    start = time.time()
    # others are served meanwhile
    m = ssl_login(pinst)
    ok(m.select("INBOX"))
    m.logout()
    silent.settimeout(HANDSHAKE + 10)
    try:
        data = silent.recv(100)
    except ConnectionResetError:
        data = b""
    took = time.time() - start
    assert data == b"", data
    assert took >= HANDSHAKE - 0.5, took
    assert took < HANDSHAKE + 5, took
    silent.close()


def test_killed_proxy_restarted(pinst):
    m = ssl_login(pinst)
    ok(m.select("INBOX"))
    old = proxies(pinst)
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline:
        now = proxies(pinst)
        if len(now) == 2 and not set(now) & set(old):
            break
        time.sleep(0.1)
    else:
        pytest.fail("proxies not restarted: %s" % proxies(pinst))
    # the connection it held is lost
    with pytest.raises((imaplib.IMAP4.abort, imaplib.IMAP4.error,
                        OSError, EOFError)):
        m.noop()
        m.noop()
    # new ones work
    for login in (ssl_login, starttls_login):
        m = login(pinst)
        assert ok(m.select("INBOX")) == [b"3"]
        m.logout()
    with open(pinst.daemons["imapd"].log) as f:
        log = f.read()
    assert "TLS proxy" in log and "restarting" in log, log


def test_starttls_pipelined_plaintext_refused(pinst):
    s = socket.create_connection((pinst.address, pinst.ports["imap"]),
                                 timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    # an injected command after STARTTLS, in the same packet
    s.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
    line = f.readline()
    assert line.startswith(b"a OK"), line
    try:
        t = tls_ctx().wrap_socket(s)
    except (ssl.SSLError, ConnectionResetError):
        return  # thrown away as a broken handshake: refused as well
    t.settimeout(10)
    t.sendall(b"c NOOP\r\n")
    data = b""
    while not data.endswith(b"\r\n") or b"c " not in data:
        chunk = t.recv(4096)
        if not chunk:
            break
        data += chunk
    # the injected CAPABILITY was never run
    assert b"* CAPABILITY" not in data and b"b " not in data, data
    assert data.startswith(b"c OK"), data
    t.close()


def test_full_proxy_refuses(suite_build):
    inst = start_instance(suite_build, {
        "IMAP_TLS_PROXIES": 1,
        "IMAP_TLS_PROXY_MAX": 2,
    })
    try:
        wait_proxies(inst, 1)
        a = ssl_login(inst)
        b = starttls_login(inst)
        # a third over 993: the handshake, then BYE
        with pytest.raises(imaplib.IMAP4.error) as e:
            imaplib.IMAP4_SSL(inst.address, inst.ports["imaps"],
                              ssl_context=tls_ctx(), timeout=20)
        assert "Too many TLS connections" in str(e.value)
        # STARTTLS: BYE in the clear, before any OK
        m = imaplib.IMAP4(inst.address, inst.ports["imap"], timeout=20)
        with pytest.raises((imaplib.IMAP4.abort, imaplib.IMAP4.error)):
            m.starttls(ssl_context=tls_ctx())
        # the two admitted are still served
        assert ok(a.noop()) is not None and ok(b.noop()) is not None
        a.logout()
        # room again once the master has seen the first one end
        deadline = time.time() + 10
        while True:
            try:
                c = ssl_login(inst)
                break
            except imaplib.IMAP4.error:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        c.logout()
        b.logout()
    finally:
        inst.stop_all()
        shutil.rmtree(inst.tmproot, ignore_errors=True)


def test_proxy_off(suite_build):
    # IMAP_TLS_PROXY=NO: no proxy; the pre-login process does the TLS and
    # stays as the relay after login
    inst = start_instance(suite_build, {"IMAP_TLS_PROXY": "NO"})
    try:
        deliver(inst, message(1))
        for login in (ssl_login, starttls_login):
            m = login(inst)
            assert ok(m.select("INBOX")) == [b"1"]
            assert proxies(inst) == []
            uid = os.stat(inst.maildir).st_uid
            kids = others(inst)
            assert len([p for p, u in kids if u != uid]) == 1, kids
            m.logout()
    finally:
        inst.stop_all()
        shutil.rmtree(inst.tmproot, ignore_errors=True)
