"""test_esmtp_rcpt.py: the last RCPT-time checks of esmtpd: the
backscatter blacklist (var/track, BOFHSUPPRESSBACKSCATTER: 450 at RCPT
for the listed sources) and the catch-all files of etc/aliasdir
(.courier-LOCAL, .courier-PREFIX-default, .courier-default) accepting
addresses that have no account; the recipient lookup in the worker pool
answering 200 pipelined RCPTs in order; locallowercase at RCPT time."""

import os
import shutil
import smtplib
import socket
import tempfile
import time

import pytest

from conftest import make_instance


@pytest.fixture
def inst(suite_build):
    root = tempfile.mkdtemp(prefix="test-esmtp-rcpt-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    i = make_instance(suite_build, os.path.join(root, "instance"),
                      extra_args=extra)
    i.program("esmtpd")
    # the extension addresses these tests use exist: esmtpd refuses an
    # account-EXT without a .courier-EXT or .courier-default at RCPT
    # (test_esmtp_rcpt_ext.py)
    ext = os.path.join(i.home, ".courier-default")
    with open(ext, "w") as f:
        f.write("./Maildir/\n")
    if os.getuid() == 0:
        st = os.stat(i.maildir)
        os.chown(ext, st.st_uid, st.st_gid)
    try:
        i.start("authdaemond")
        yield i
    finally:
        i.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def track(inst, status, address, when=None):
    when = int(time.time()) if when is None else when
    write(os.path.join(inst.var, "track", str(when // 3600)),
          "%s %d %s\n" % (status, when, address))


def client(inst):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("client.test")
    return s


def test_backscatter_blacklist(inst):
    domain = inst.login.split("@")[1]
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    s.rset()
    track(inst, "F", inst.login)
    assert s.mail("")[0] == 250
    code, text = s.rcpt(inst.login)
    assert code == 450 and text.startswith(b"4.1.0"), (code, text)
    # the domain's case does not matter; postmaster is not listed
    local, dom = inst.login.split("@")
    code, _ = s.rcpt(local + "@" + dom.upper())
    assert code == 450
    assert s.rcpt("postmaster@" + domain)[0] == 250
    s.rset()
    # a later delivery (A) ends it at once
    track(inst, "A", inst.login)
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    s.quit()


def test_backscatter_sources(inst):
    # BOFHSUPPRESSBACKSCATTER=none: never refused
    write(os.path.join(inst.etc, "bofh"),
          "opt BOFHSUPPRESSBACKSCATTER=none\n")
    track(inst, "D", inst.login)
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    s.quit()


def test_backscatter_window(inst):
    track(inst, "F", inst.login, int(time.time()) - 3 * 3600)
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    s.quit()


def test_aliasdir_catchall(inst):
    domain = inst.login.split("@")[1]
    aliasdir = os.path.join(inst.etc, "aliasdir")
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail("")[0] == 250
    assert s.rcpt("nobody-here@" + domain)[0] == 550
    s.rset()
    # .courier-LOCAL and .courier-PREFIX-default
    write(os.path.join(aliasdir, ".courier-info"), "./Maildir/\n")
    write(os.path.join(aliasdir, ".courier-sales-default"), "./Maildir/\n")
    write(os.path.join(aliasdir, ".courier-john:doe"), "./Maildir/\n")
    assert s.mail("")[0] == 250
    assert s.rcpt("info@" + domain)[0] == 250
    assert s.rcpt("Sales-East@" + domain)[0] == 250
    assert s.rcpt("sales+west@" + domain)[0] == 250
    assert s.rcpt("john.doe@" + domain)[0] == 250
    assert s.rcpt("sales@" + domain)[0] == 550
    assert s.rcpt("infox@" + domain)[0] == 550
    assert s.rcpt("nobody-here@" + domain)[0] == 550
    s.rset()
    # .courier-default takes every local address
    write(os.path.join(aliasdir, ".courier-default"), "./Maildir/\n")
    assert s.mail("")[0] == 250
    assert s.rcpt("nobody-here@" + domain)[0] == 250
    assert s.rcpt("anything@" + domain)[0] == 250
    # not a domain of ours: still no relay
    assert s.rcpt("someone@elsewhere.test")[0] == 550
    s.quit()


def read_reply(f):
    """One reply (all its lines) as (code, last line)."""
    while True:
        line = f.readline()
        assert line[:3].isdigit(), line
        if line[3:4] != b"-":
            return int(line[:3]), line


def test_pipelined_rcpts_in_order(inst):
    """200 RCPTs in one write, mixed: existing accounts (looked up in a
    worker thread), unknown ones (550 after the lookup), postmaster (no
    lookup), relaying refused (no lookup), a syntax error: every reply
    comes back in the order of the commands."""
    domain = inst.login.split("@")[1]
    local = inst.login.split("@")[0]
    # 80 refusals in one session: more than the default error limit
    with open(os.path.join(inst.etc, "esmtpd"), "a") as f:
        f.write("ESMTP_MAX_BAD_COMMANDS=1000\n")
    inst.start("esmtpd")
    c = socket.create_connection(("127.0.0.1", inst.ports["smtp"]),
                                 timeout=60)
    f = c.makefile("rb")
    assert read_reply(f)[0] == 220
    c.sendall(b"EHLO client.test\r\n")
    ehlo = []
    while True:
        line = f.readline()
        ehlo.append(line)
        if line[3:4] == b" ":
            break
    assert any(b"PIPELINING" in x for x in ehlo), ehlo
    cmds, want = [b"MAIL FROM:<>"], [250]
    kinds = [
        ("%s@%s" % (local, domain), 250),
        ("%s-ext@%s" % (local, domain), 250),
        ("no-such-%d@" + domain, 550),
        ("postmaster@" + domain, 250),
        ("someone@elsewhere.test", 550),
    ]
    for i in range(200):
        addr, code = kinds[i % len(kinds)]
        if "%d" in addr:
            addr = addr % i
        cmds.append(b"RCPT TO:<%s>" % addr.encode())
        want.append(code)
    cmds += [b"RSET", b"NOOP"]
    want += [250, 250]
    c.sendall(b"".join(x + b"\r\n" for x in cmds))
    got = [read_reply(f) for _ in cmds]
    assert [g[0] for g in got] == want, got
    # the 550s name their own address: the replies are not shuffled
    for cmd, (code, line) in zip(cmds[1:201], got[1:201]):
        if code == 550 and b"No such user" in line:
            assert cmd[8:].rstrip(b">").lstrip(b"<") in line, (cmd, line)
    c.sendall(b"QUIT\r\n")
    assert read_reply(f)[0] == 221
    c.close()


def test_pipelined_rcpts_then_data(inst):
    """A whole pipelined transaction with 50 recipients: the message is
    queued once with all of them."""
    inst.start("esmtpd")
    s = client(inst)
    rcpts = [inst.login] * 1 + ["postmaster@" + inst.login.split("@")[1]]
    local, domain = inst.login.split("@")
    rcpts += ["%s-%d@%s" % (local, i, domain) for i in range(48)]
    refused = s.sendmail("", rcpts, b"Subject: fifty\r\n\r\nfifty\r\n")
    assert refused == {}, refused
    s.quit()
    log = open(os.path.join(inst.var, "log", "esmtpd.log")).read()
    assert "(50 recipients," in log, log[-2000:]


def test_locallowercase(inst):
    """Courier's locallowercase: without the file, local parts are case
    sensitive (DEMO is not demo); with it, they are lowercased first."""
    local, domain = inst.login.split("@")
    upper = local.upper() + "@" + domain
    path = os.path.join(inst.etc, "locallowercase")
    if os.path.exists(path):
        os.unlink(path)
    # demo-ext needs a .courier-ext (test_esmtp_rcpt_ext.py)
    ext = os.path.join(inst.home, ".courier-ext")
    write(ext, "./Maildir/\n")
    st = os.stat(inst.home)
    os.chown(ext, st.st_uid, st.st_gid)
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    code, text = s.rcpt(upper)
    assert code == 550 and b"5.1.1" in text, (code, text)
    s.quit()
    inst.stop("esmtpd")
    write(path, "")
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail("")[0] == 250
    code, text = s.rcpt(upper)
    assert code == 250, (code, text)
    assert s.rcpt(local.capitalize() + "-Ext@" + domain.upper())[0] == 250
    assert s.rcpt("NO-SUCH-USER@" + domain)[0] == 550
    s.quit()


def test_found_accounts_remembered(inst):
    """An account found is remembered (30 s): with authdaemond gone, a
    RCPT for it is still accepted, one not looked up before gets 451,
    and an unknown address that was refused is asked again (451 now,
    not a remembered 550)."""
    local, domain = inst.login.split("@")
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    assert s.rcpt("nobody-here@" + domain)[0] == 550
    s.rset()
    inst.stop("authdaemond")
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    code, text = s.rcpt(local + "-other@" + domain)
    assert code == 451 and text.startswith(b"4.3.0"), (code, text)
    assert s.rcpt("nobody-here@" + domain)[0] == 451
    s.quit()
