"""test_imap.py: imapd with Python's imaplib against a throw-away instance
with authdaemond: greeting and capabilities, LOGIN over STARTTLS and on
the implicit-TLS port, LOGINDISABLED, AUTHENTICATE PLAIN and CRAM-MD5,
wrong passwords, mailbox commands, literals, syntax errors answered with
BAD, a second connection seeing a delivery, and the stdin/stdout tunnel.

The instance's mail store belongs to the system user "mail" (imapd never
serves mail as root, and the tests run as root)."""

import imaplib
import os
import re
import socket
import subprocess
import time

import pytest

import servers
# MAIL_USER, deliver and tls_ctx are imported from here by other tests.
from imaphelp import (MAIL_USER, connect, deliver, login,  # noqa: F401
                      running, tls_ctx)

# RFC 3501 response grammar, enough to check what we send.
TAGGED = re.compile(rb"^[^ +*]+ (OK|NO|BAD)( \[[^\]]+\])? .*$")
LIST_LINE = re.compile(rb'^\((\\[A-Za-z]+( \\[A-Za-z]+)*)?\) "\." '
                       rb'("([^"\\]|\\.)*"|[^ ()"{]+)$')


@pytest.fixture
def iinst(suite_build):
    with running(suite_build, "test-imap-") as inst:
        yield inst


def test_greeting_capability_starttls(iinst):
    m = imaplib.IMAP4(iinst.address, iinst.ports["imap"], timeout=20)
    assert m.welcome.startswith(b"* OK [CAPABILITY IMAP4rev1")
    assert "STARTTLS" in m.capabilities
    assert "SASL-IR" in m.capabilities
    m.starttls(ssl_context=tls_ctx())
    assert "STARTTLS" not in m.capabilities
    assert "AUTH=PLAIN" in m.capabilities
    typ, _ = m.login(iinst.login, iinst.password)
    assert typ == "OK"
    typ, data = m.noop()
    assert typ == "OK"
    assert m.logout()[0] == "BYE"


def test_imaps_and_wrong_password(iinst):
    m = imaplib.IMAP4_SSL(iinst.address, iinst.ports["imaps"],
                          ssl_context=tls_ctx(), timeout=20)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(iinst.login, "wrong")
    assert "AUTHENTICATIONFAILED" in str(e.value)
    # the session goes on after a failure
    assert m.login(iinst.login, iinst.password)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_authenticate_plain_and_cram(iinst):
    m = connect(iinst)
    typ, _ = m.authenticate(
        "PLAIN", lambda _: b"\0" + iinst.login.encode() + b"\0" +
        iinst.password.encode())
    assert typ == "OK"
    m.logout()


def test_session_runs_as_account(iinst):
    m = login(iinst)
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    # the maildir's index was made by the session: owned by the account
    idx = os.path.join(iinst.maildir, "courier-suite.index")
    servers.wait_until(lambda: os.path.exists(idx), "index", timeout=5)
    assert os.stat(idx).st_uid == os.stat(iinst.maildir).st_uid
    if os.getuid() == 0:
        assert os.stat(idx).st_uid != 0


def raw(inst, lines, tls=False):
    """Sends raw lines on the plain port (after STARTTLS when tls) and
    returns everything read until the server closes."""
    s = socket.create_connection((inst.address, inst.ports["imap"]), 20)
    f = s.makefile("rb")
    f.readline()
    if tls:
        s.sendall(b"t STARTTLS\r\n")
        assert f.readline().startswith(b"t OK")
        s = tls_ctx().wrap_socket(s)
        f = s.makefile("rb")
    s.sendall(b"".join(l + b"\r\n" for l in lines))
    out = f.read()
    s.close()
    return out.split(b"\r\n")


def test_syntax_errors_get_bad_and_session_goes_on(iinst):
    out = raw(iinst, [b"a1 FOO", b"a2 NOOP (", b"a3 SELECT INBOX",
                      b'a4 LOGIN "x', b"a5 LOGOUT"])
    assert out[0].startswith(b"a1 BAD")
    assert out[1].startswith(b"a2 BAD")
    assert out[2].startswith(b"a3 BAD")  # needs a login first
    assert out[3].startswith(b"a4 BAD")
    assert out[4].startswith(b"* BYE")
    assert out[5].startswith(b"a5 OK")
    for l in out[:6]:
        if not l.startswith(b"*"):
            assert TAGGED.match(l), l


def test_literal_too_large_refused_before_read(iinst):
    out = raw(iinst, [b"a1 LOGIN {999999999999}", b"a2 LOGOUT"])
    assert out[0] == b"a1 BAD Literal too large"
    assert out[2].startswith(b"a2 OK")


def test_mailbox_commands(iinst):
    m = login(iinst)
    # courier-setup made the special-use folders for the new account
    assert m.create("Sent")[0] == "NO"
    assert m.create("Work.Projects")[0] == "OK"
    typ, data = m.list()
    assert typ == "OK"
    for l in data:
        assert LIST_LINE.match(l), l
    names = {l.rsplit(b" ", 1)[1].strip(b'"'): l for l in data}
    assert b"INBOX" in names and b"Work.Projects" in names
    assert b"\\Sent" in names[b"Sent"]
    assert b"\\HasNoChildren" in names[b"Sent"]
    typ, data = m.list('""', "%")
    assert all(b"." not in l.rsplit(b" ", 1)[1] for l in data)
    assert m.subscribe("Sent")[0] == "OK"
    typ, data = m.lsub()
    assert b'(\\HasNoChildren) "." Sent' in data
    subs = os.path.join(iinst.maildir, "courierimapsubscribed")
    with open(subs) as f:
        assert "INBOX.Sent\n" in f.read()
    assert m.unsubscribe("Sent")[0] == "OK"
    with open(subs) as f:
        assert "INBOX.Sent\n" not in f.read()
    assert b'(\\HasNoChildren) "." Sent' not in m.lsub()[1]
    assert m.rename("Work.Projects", "Work.Done")[0] == "OK"
    assert m.delete("Work.Done")[0] == "OK"
    assert m.delete("Nope")[0] == "NO"
    typ, data = m.namespace()
    # personal "" and, by default, Courier's virtual shared folders
    # (IMAP_SHARED_FOLDERS, doc/imap.md)
    assert data == [b'(("" ".")) NIL (("#shared." "."))']
    deliver(iinst, "From: a@example.test\r\nSubject: one\r\n\r\nbody\r\n")
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    assert re.match(rb"^INBOX \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ "
                    rb"UNSEEN 1\)$", data[0]), data
    typ, data = m.select("INBOX")
    assert data == [b"1"]
    assert m.untagged_responses.get("RECENT")[-1] == b"1"
    assert m.untagged_responses.get("UIDNEXT")[-1] == b"2"
    typ, data = m.select("Sent", readonly=True)
    assert typ == "OK" and data == [b"0"]
    assert m.unselect()[0] == "OK"
    m.logout()


def test_second_connection_sees_delivery(iinst):
    a = login(iinst)
    assert a.select("INBOX")[1] == [b"0"]
    deliver(iinst, "Subject: x\r\n\r\nx\r\n")
    time.sleep(0.05)
    typ, data = a.noop()
    assert a.untagged_responses.get("EXISTS")[-1] == b"1"
    b = login(iinst)
    assert b.select("INBOX")[1] == [b"1"]
    a.logout()
    b.logout()


def test_tunnel(iinst, tmp_path):
    md = tmp_path / "Maildir"
    for d in ("new", "cur", "tmp"):
        (md / d).mkdir(parents=True)
    p = subprocess.run([iinst.program("imapd"), str(md)],
                       input=b"a SELECT INBOX\r\nb LOGOUT\r\n",
                       capture_output=True, timeout=20)
    out = p.stdout.split(b"\r\n")
    assert out[0].startswith(b"* PREAUTH [CAPABILITY IMAP4rev1")
    assert b"a OK [READ-WRITE] SELECT completed" in out
