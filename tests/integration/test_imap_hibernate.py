"""test_imap_hibernate.py: hibernation of idle IMAP sessions
(IMAP_HIBERNATE_TIMEOUT, doc/imap.md "Hibernation"), with imaplib against
a scratch daemon instance: the session process goes away while the client
is idle, and the client cannot tell: the same answers after waking
(SELECT state, sequence numbers, FETCH, STORE), other sessions' expunges,
flag changes and deliveries reported at the next NOOP (VANISHED with
QRESYNC), IDLE woken within a second by a delivery and ended by DONE with
its own tag, over STARTTLS, implicit TLS (993) and plain text, and
LOGOUT."""

import imaplib
import os
import re
import socket
import time

import pytest

import imaphelp
from test_imap import deliver, tls_ctx

HIB = 1  # IMAP_HIBERNATE_TIMEOUT for these tests, in seconds


def message(n):
    return ("From: a%d@example.test\r\nTo: demo@example.test\r\n"
            "Subject: message %d\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000"
            "\r\nMessage-ID: <m%d@example.test>\r\n\r\nbody %d\r\n"
            % (n, n, n, n))


@pytest.fixture
def hinst(suite_build):
    with imaphelp.running(suite_build, "test-imap-hib-",
                          {"IMAP_HIBERNATE_TIMEOUT": HIB}) as inst:
        for n in range(1, 6):
            deliver(inst, message(n))
        yield inst


def children(pid):
    """(pid, uid) of the processes whose parent is pid, but the TLS
    proxies (doc/imap.md "TLS proxies"), which live as long as imapd."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/comm" % p) as f:
                proxy = f.read().strip() == "imapd-tlsproxy"
            if ppid == pid and not proxy:
                out.append((int(p), os.stat("/proc/%s" % p).st_uid))
        except (OSError, ValueError, IndexError):
            continue
    return out


def sessions(inst):
    """The mail sessions: the master's children running as the account
    (the pre-login processes run as IMAP_LOGIN_USER)."""
    uid = os.stat(inst.maildir).st_uid
    return [p for p, u in children(inst.daemons["imapd"].pid) if u == uid]


def wait_sessions(inst, n, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(sessions(inst)) == n:
            return
        time.sleep(0.1)
    pytest.fail("expected %d session processes, have %d" %
                (n, len(sessions(inst))))


def starttls_login(inst):
    m = imaplib.IMAP4(inst.address, inst.ports["imap"], timeout=20)
    m.starttls(ssl_context=tls_ctx())
    m.login(inst.login, inst.password)
    return m


def ssl_login(inst):
    m = imaplib.IMAP4_SSL(inst.address, inst.ports["imaps"],
                          ssl_context=tls_ctx(), timeout=20)
    m.login(inst.login, inst.password)
    return m


def plain_login(inst):
    m = imaplib.IMAP4(inst.address, inst.ports["imap"], timeout=20)
    m.login(inst.login, inst.password)
    return m


def ok(r):
    typ, data = r
    assert typ == "OK", data
    return data


def hibernate(inst, *clients):
    """Waits until none of the clients has a session process."""
    wait_sessions(inst, 0, timeout=HIB + 10)


def state(m):
    """What a client sees of the selected mailbox."""
    return (ok(m.fetch("1:*", "(UID FLAGS RFC822.SIZE)")),
            ok(m.search(None, "ALL")),
            ok(m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")))


@pytest.mark.parametrize("how", ["starttls", "ssl", "plain"])
def test_same_answers_after_waking(hinst, how):
    login = {"starttls": starttls_login, "ssl": ssl_login,
             "plain": plain_login}[how]
    m = login(hinst)
    data = ok(m.select("INBOX"))
    assert data == [b"5"]
    ok(m.store("3", "+FLAGS", "(\\Flagged)"))
    before = state(m)
    wait_sessions(hinst, 1)
    hibernate(hinst)
    # a connection costs no process at all (the pre-login process handed
    # the socket over; under TLS, the plaintext end of a TLS proxy)
    kids = children(hinst.daemons["imapd"].pid)
    assert len(kids) == 0, kids
    # the answers of a session that never slept
    assert state(m) == before
    wait_sessions(hinst, 1)
    # STORE by sequence number still names the same messages
    data = ok(m.store("4", "+FLAGS", "(\\Seen \\Answered)"))
    assert re.match(rb"4 \(FLAGS \(.*\\Answered.*\) UID 4\)|"
                    rb"4 \(UID 4 FLAGS \(.*\\Answered.*\)\)|"
                    rb"4 \(FLAGS \(.*\\Answered.*\)\)", data[0]), data
    hibernate(hinst)
    flags = ok(m.fetch("3:4", "(UID FLAGS)"))
    assert b"\\Flagged" in flags[0] and b"UID 3" in flags[0]
    assert b"\\Answered" in flags[1] and b"UID 4" in flags[1]
    # unselected: the AUTH state comes back too
    ok(m.close())
    hibernate(hinst)
    m.state = "SELECTED"  # imaplib would not send it
    with pytest.raises(imaplib.IMAP4.error, match="No mailbox selected"):
        m.fetch("1", "FLAGS")
    m.state = "AUTH"
    assert ok(m.select("INBOX", readonly=True)) == [b"5"]
    hibernate(hinst)
    # read-only survives hibernation: STORE is refused
    typ, _ = m.store("1", "+FLAGS", "(\\Seen)")
    assert typ != "OK"
    typ, data = m.logout()
    assert typ == "BYE"


def test_other_sessions_changes_reported_at_noop(hinst):
    m = starttls_login(hinst)
    ok(m.select("INBOX"))
    other = starttls_login(hinst)
    ok(other.select("INBOX"))
    hibernate(hinst, m, other)
    ok(other.store("2", "+FLAGS", "(\\Deleted)"))
    ok(other.expunge())
    ok(other.store("3", "+FLAGS", "(\\Flagged)"))  # was 4
    deliver(hinst, message(6))
    ok(other.noop())
    m.untagged_responses.clear()
    ok(m.noop())
    got = m.untagged_responses
    assert got.get("EXPUNGE") == [b"2"], got
    assert got.get("EXISTS") == [b"5"], got
    fetches = got.get("FETCH", [])
    assert any(f.startswith(b"3 (") and b"\\Flagged" in f
               for f in fetches), got
    # the view is the other session's now, by number and by UID
    m.untagged_responses.clear()
    uids = ok(m.fetch("1:*", "(UID)"))
    assert [int(re.search(rb"UID (\d+)", u).group(1)) for u in uids] == \
        [1, 3, 4, 5, 6]
    m.logout()
    other.logout()


def test_qresync_vanished_after_waking(hinst):
    m = starttls_login(hinst)
    typ, data = m._simple_command("ENABLE", "QRESYNC")
    assert typ == "OK"
    ok(m.select("INBOX"))
    hibernate(hinst)
    other = starttls_login(hinst)
    ok(other.select("INBOX"))
    ok(other.store("1,4", "+FLAGS", "(\\Deleted)"))
    ok(other.expunge())
    other.logout()
    m.untagged_responses.clear()
    ok(m.noop())
    assert m.untagged_responses.get("VANISHED") == [b"1,4"], \
        m.untagged_responses
    assert "EXPUNGE" not in m.untagged_responses
    # CONDSTORE stays on: MODSEQ in FETCH
    data = ok(m.fetch("1", "(FLAGS)"))
    assert b"MODSEQ" in data[0]
    m.logout()


def read_line(m, timeout):
    m.sock.settimeout(timeout)
    try:
        return m.readline()
    finally:
        m.sock.settimeout(20)


@pytest.mark.parametrize("how", ["starttls", "plain"])
def test_idle_wakes_on_delivery(hinst, how):
    m = (starttls_login if how == "starttls" else plain_login)(hinst)
    ok(m.select("INBOX"))
    tag = b"IDLE7"
    m.send(tag + b" IDLE\r\n")
    assert read_line(m, 10).startswith(b"+ ")
    hibernate(hinst)
    t0 = time.time()
    deliver(hinst, message(6))
    got = []
    while not any(re.match(rb"\* 6 EXISTS", g) for g in got):
        line = read_line(m, 5)
        assert line, got
        got.append(line)
    assert time.time() - t0 < 1.5, time.time() - t0
    # back to sleep in IDLE, then DONE ends the original IDLE
    hibernate(hinst)
    m.send(b"DONE\r\n")
    line = read_line(m, 10)
    while line.startswith(b"* "):
        line = read_line(m, 10)
    assert line.startswith(tag + b" OK"), line
    assert ok(m.fetch("6", "(UID)"))[0].startswith(b"6 (UID 6")
    m.logout()


@pytest.mark.parametrize("how", ["ssl", "plain"])
def test_logout_after_hibernation(hinst, how):
    m = (ssl_login if how == "ssl" else plain_login)(hinst)
    ok(m.select("INBOX"))
    hibernate(hinst)
    typ, data = m.logout()
    assert typ == "BYE"
    # the relay and everything went: only the master is left
    deadline = time.time() + 5
    while children(hinst.daemons["imapd"].pid) and time.time() < deadline:
        time.sleep(0.1)
    assert children(hinst.daemons["imapd"].pid) == []


@pytest.mark.parametrize("how", ["starttls", "plain"])
def test_client_leaving_while_hibernated(hinst, how):
    m = (starttls_login if how == "starttls" else plain_login)(hinst)
    ok(m.select("INBOX"))
    hibernate(hinst)
    m.shutdown()
    deadline = time.time() + 5
    while children(hinst.daemons["imapd"].pid) and time.time() < deadline:
        time.sleep(0.1)
    assert children(hinst.daemons["imapd"].pid) == []
    # the daemon still serves (and counts the connection as gone)
    m = plain_login(hinst)
    assert ok(m.select("INBOX")) == [b"5"]
    m.logout()
    with open(hinst.daemons["imapd"].log, "rb") as f:
        log = f.read()
    assert b"cannot restore" not in log


def test_plain_pipelined_after_login(hinst):
    """Commands sent with LOGIN in one packet reach the session that takes
    the socket over from the pre-login process."""
    s = socket.create_connection((hinst.address, hinst.ports["imap"]), 20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN %s %s\r\nb SELECT INBOX\r\nc NOOP\r\n" %
              (hinst.login.encode(), hinst.password.encode()))
    lines = []
    while not lines or not lines[-1].startswith(b"c "):
        try:
            line = f.readline()
        except socket.timeout:
            line = b""
        assert line, lines
        lines.append(line)
    assert any(x.startswith(b"a OK") for x in lines), lines
    assert b"* 5 EXISTS\r\n" in lines, lines
    assert any(x.startswith(b"b OK [READ-WRITE]") for x in lines), lines
    assert lines[-1].startswith(b"c OK"), lines
    # after hibernating too, a command and LOGOUT
    hibernate(hinst)
    s.sendall(b"d FETCH 5 (UID)\r\ne LOGOUT\r\n")
    rest = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    assert b"* 5 FETCH (UID 5)" in rest, rest
    assert b"* BYE" in rest and b"e OK" in rest, rest
    s.close()


def test_searchres_and_rev2_survive(hinst):
    """SEARCHRES's saved result ("$") and ENABLE IMAP4rev2 outlive the
    session process."""
    m = starttls_login(hinst)
    typ, data = m._simple_command("ENABLE", "IMAP4rev2")
    assert typ == "OK"
    assert m.untagged_responses.get("ENABLED") == [b"IMAP4rev2"]
    ok(m.select("INBOX"))
    ok(m.uid("SEARCH", "RETURN", "(SAVE)", "SUBJECT", '"message 4"'))
    hibernate(hinst)
    m.untagged_responses.clear()
    data = ok(m.fetch("$", "(UID FLAGS)"))
    assert len(data) == 1 and data[0].startswith(b"4 (UID 4 FLAGS ("), \
        data
    # IMAP4rev2: no \Recent, and SEARCH answers with ESEARCH
    assert b"\\Recent" not in data[0]
    m.untagged_responses.clear()
    typ, data = m._simple_command("SEARCH", "ALL")
    assert typ == "OK"
    assert "ESEARCH" in m.untagged_responses, m.untagged_responses
    m.logout()
