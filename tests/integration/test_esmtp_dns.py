"""test_esmtp_dns.py: esmtpd's checks that ask DNS, against a dnsmasq with
the test's own records (etc/dnsservers): bofh badmx, freemail and
BOFHCHECKHELO (1 and 2), and 4xx (never 5xx) when DNS fails."""

import os
import shutil
import smtplib
import tempfile

import pytest

import servers
from conftest import make_instance

RECORDS = [
    # badmx
    ("MX", "bad.test", "mx.bad.test", 10),
    ("A", "mx.bad.test", "192.0.2.66"),
    ("MX", "good.test", "mx.good.test", 10),
    ("A", "mx.good.test", "192.0.2.10"),
    ("A", "nomx.test", "192.0.2.66"),       # implicit MX
    # freemail: the client (127.0.0.1) is relay.free.test
    ("A", "relay.free.test", "127.0.0.1"),
    ("A", "host.other.test", "192.0.2.5"),
    ("MX", "other.test", "host.other.test", 10),
    ("MX", "mxhelo.test", "relay.free.test", 10),
]


@pytest.fixture(scope="module")
def dns():
    d = servers.DnsServer(RECORDS)
    d.start()
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture
def inst(suite_build, dns):
    root = tempfile.mkdtemp(prefix="test-esmtp-dns-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    i = make_instance(suite_build, os.path.join(root, "instance"),
                      extra_args=extra)
    i.program("esmtpd")
    control(i, "dnsservers", "127.0.0.1#%d\n" % dns.port)
    try:
        i.start("authdaemond")
        yield i
    finally:
        i.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def control(inst, name, text):
    with open(os.path.join(inst.etc, name), "w") as f:
        f.write(text)


def client(inst, helo="client.test"):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo(helo)
    return s


def test_badmx(inst):
    control(inst, "bofh", "badmx 192.0.2.66\n")
    inst.start("esmtpd")
    s = client(inst)
    for sender, code in (("x@bad.test", 550), ("x@good.test", 250),
                         ("x@nomx.test", 550), ("", 250),
                         ("x@nowhere.test", 250)):
        r = s.mail(sender)
        assert r[0] == code, (sender, r)
        if code == 550:
            assert r[1].startswith(b"5.7.1") and b"192.0.2.66" in r[1]
        s.rset()
    # DNS failure (dnsmasq refuses names outside its zones): 4xx
    r = s.mail("x@example.org")
    assert r[0] == 451 and r[1].startswith(b"4.4.3"), r
    s.rset()
    # a message still goes through from a good domain
    s.mail("x@good.test")
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"Subject: hi\r\n\r\nhello\r\n")[0] == 250
    s.quit()


def test_freemail(inst):
    control(inst, "bofh", "freemail free.test\nfreemail other.test\n"
                          "freemail third.test free.test\n")
    inst.start("esmtpd")
    s = client(inst)
    for sender, code in (("x@free.test", 250), ("x@other.test", 550),
                         ("x@third.test", 250), ("x@sub.free.test", 250),
                         ("x@good.test", 250)):
        r = s.mail(sender)
        assert r[0] == code, (sender, r)
        if code == 550:
            assert r[1].startswith(b"5.7.1"), r
        s.rset()
    s.quit()


@pytest.mark.parametrize("mode,code", [(1, 550), (2, 450)])
def test_checkhelo(inst, mode, code):
    control(inst, "bofh", "opt BOFHCHECKHELO=%d\n" % mode)
    inst.start("esmtpd")
    for helo, want in (("relay.free.test", 250), ("[127.0.0.1]", 250),
                       ("mxhelo.test", 250), ("host.other.test", code),
                       ("nohost.test", code), ("[192.0.2.1]", code),
                       ("dns.fails.example", 451)):
        s = client(inst, helo)
        r = s.mail("x@good.test")
        assert r[0] == want, (helo, r)
        s.quit()


def test_relay_client_skips_checks(inst):
    control(inst, "bofh", "badmx 192.0.2.66\nopt BOFHCHECKHELO=1\n")
    control(inst, "smtpaccess", "127.0.0.1\tallow,RELAYCLIENT\n")
    inst.start("esmtpd")
    s = client(inst, "nohost.test")
    assert s.mail("x@bad.test")[0] == 250
    s.quit()
