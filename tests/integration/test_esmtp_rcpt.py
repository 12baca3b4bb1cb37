"""test_esmtp_rcpt.py: the last RCPT-time checks of esmtpd: the
backscatter blacklist (var/track, BOFHSUPPRESSBACKSCATTER: 450 at RCPT
for the listed sources) and the catch-all files of etc/aliasdir
(.courier-LOCAL, .courier-PREFIX-default, .courier-default) accepting
addresses that have no account."""

import os
import shutil
import smtplib
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
