"""test_esmtp_dns.py: esmtpd's checks that ask DNS, against a dnsmasq with
the test's own records (etc/dnsservers): bofh badmx, freemail and
BOFHCHECKHELO (1 and 2), SPF (RFC 7208) of HELO, MAIL FROM and From:
with pass, fail, softfail, neutral, none, include, redirect and exp, the
Received-SPF: lines, BOFHCHECKDNS (the sender's domain must exist and have
a mail server), and 4xx (never 5xx) when DNS fails."""

import glob
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
    # BOFHCHECKDNS: an MX whose host has no address; a name without MX
    # or address records (it exists: it has a TXT record)
    ("MX", "deadmx.test", "gone.deadmx.test", 10),
    ("TXT", "gone.deadmx.test", "no address here"),
    ("TXT", "txtonly.test", "v=spf1 -all"),
    # freemail: the client (127.0.0.1) is relay.free.test
    ("A", "relay.free.test", "127.0.0.1"),
    ("A", "host.other.test", "192.0.2.5"),
    ("MX", "other.test", "host.other.test", 10),
    ("MX", "mxhelo.test", "relay.free.test", 10),
    # SPF
    ("TXT", "pass.test", "v=spf1 ip4:127.0.0.0/8 -all"),
    ("TXT", "fail.test", "v=spf1 ip4:192.0.2.1 -all"),
    ("TXT", "soft.test", "v=spf1 ~all"),
    ("TXT", "neutral.test", "v=spf1 ?all"),
    ("A", "none.test", "192.0.2.8"),
    ("TXT", "inc.test", "v=spf1 include:pass.test -all"),
    ("TXT", "incfail.test", "v=spf1 include:fail.test ~all"),
    ("TXT", "red.test", "v=spf1 redirect=fail.test"),
    ("TXT", "redpass.test", "v=spf1 redirect=pass.test"),
    ("TXT", "mx.spf.test", "v=spf1 mx a:relay.free.test -all"),
    ("MX", "mx.spf.test", "relay.free.test", 10),
    ("TXT", "exp.test", "v=spf1 -all exp=why.exp.test"),
    ("TXT", "why.exp.test", "%{i} may not send mail for %{d}"),
    ("TXT", "relay.free.test", "v=spf1 a -all"),
    ("TXT", "badhelo.test", "v=spf1 -all"),
    ("A", "badhelo.test", "192.0.2.77"),
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
        if os.environ.get("KEEP_DNS_TEST") is None:
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


def test_bofhcheckdns(inst):
    control(inst, "bofh", "opt BOFHCHECKDNS=1\n")
    inst.start("esmtpd")
    s = client(inst)
    for sender, code in (("x@good.test", 250), ("x@nomx.test", 250),
                         ("", 250), ("x@nowhere.test", 550),
                         ("x@deadmx.test", 550), ("x@txtonly.test", 550),
                         ("x@[192.0.2.1]", 250)):
        r = s.mail(sender)
        assert r[0] == code, (sender, r)
        if code == 550:
            assert r[1].startswith(b"5.1.8"), r
            assert sender.split("@")[1].encode() in r[1]
        s.rset()
    # DNS failure: 4xx, never 5xx
    r = s.mail("x@example.org")
    assert r[0] == 451 and r[1].startswith(b"4.4.3"), r
    s.rset()
    s.mail("x@good.test")
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"Subject: hi\r\n\r\nhello\r\n")[0] == 250
    s.quit()
    # an authenticated (relaying) client is not asked
    s = smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30)
    s.ehlo("client.test")
    s.starttls(context=inst.ssl_context())
    s.ehlo("client.test")
    s.login(inst.login, inst.password)
    assert s.mail("x@nowhere.test")[0] == 250
    s.quit()
    # etc/esmtpd's MAXPERC and BOFHCHECKDNS (courier-setup writes both)
    # are known settings: no warning at start
    log = open(os.path.join(inst.var, "log", "esmtpd.log")).read()
    assert "MAXPERC" not in log and "BOFHCHECKDNS" not in log, log


def test_bofhcheckdns_from_esmtpd(inst):
    """BOFHCHECKDNS=1 in etc/esmtpd (as courier-setup writes it; the test
    instances turn it off) turns the same check on."""
    with open(os.path.join(inst.etc, "esmtpd"), "a") as f:
        f.write("BOFHCHECKDNS=1\n")
    inst.start("esmtpd")
    s = client(inst)
    r = s.mail("x@nowhere.test")
    assert r[0] == 550 and r[1].startswith(b"5.1.8"), r
    s.rset()
    assert s.mail("x@good.test")[0] == 250
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


def queued_data(inst):
    out = []
    for path in glob.glob(os.path.join(inst.var, "queue", "msgs", "*",
                                       "D*")):
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def test_spf_mailfrom(inst):
    control(inst, "bofh", "opt BOFHSPFMAILFROM=pass,none,neutral\n")
    inst.start("esmtpd")
    s = client(inst)
    for sender, code, text in (
            ("x@pass.test", 250, b""), ("x@fail.test", 550, b"SPF fail"),
            ("x@soft.test", 550, b"SPF softfail"),
            ("x@neutral.test", 250, b""), ("x@none.test", 250, b""),
            ("x@inc.test", 250, b""), ("x@incfail.test", 550, b"softfail"),
            ("x@red.test", 550, b"SPF fail"), ("x@redpass.test", 250, b""),
            ("x@mx.spf.test", 250, b""), ("", 250, b""),
            ("x@exp.test", 550,
             b"127.0.0.1 may not send mail for exp.test"),
            ("x@example.org", 451, b"4.7.24 SPF temperror")):
        r = s.mail(sender)
        assert r[0] == code, (sender, r)
        assert text in r[1], (sender, r)
        if code == 550:
            assert r[1].startswith(b"5.7.23"), r
        s.rset()
    s.mail("x@inc.test")
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"From: x@inc.test\r\nSubject: hi\r\n\r\nhello\r\n")[0] \
        == 250
    s.quit()
    data = queued_data(inst)
    assert len(data) == 1
    assert b"Received-SPF: pass (" in data[0]
    assert b"client-ip=127.0.0.1; envelope-from=x@inc.test" in data[0]
    assert b"identity=mailfrom;" in data[0]
    # the SPF line comes before the message's own header
    assert data[0].index(b"Received-SPF:") < data[0].index(b"Subject: hi")


def test_spf_harderror_and_noverbose(inst):
    control(inst, "bofh", "opt BOFHSPFMAILFROM=pass,none\n"
                          "opt BOFHSPFHARDERROR=fail\n"
                          "opt BOFHSPFNOVERBOSE=1\n")
    inst.start("esmtpd")
    s = client(inst)
    r = s.mail("x@fail.test")
    assert r[0] == 550 and b"Rejected by the Sender Policy" in r[1], r
    s.rset()
    for sender in ("x@soft.test", "x@neutral.test"):
        r = s.mail(sender)
        assert r[0] == 451 and r[1].startswith(b"4.7.23"), (sender, r)
        s.rset()
    s.quit()


def test_spf_helo(inst):
    control(inst, "bofh", "opt BOFHSPFHELO=pass,none,neutral\n"
                          "opt BOFHCHECKHELO=1\n")
    inst.start("esmtpd")
    # pass: and BOFHCHECKHELO is not asked
    s = client(inst, "relay.free.test")
    assert s.mail("x@good.test")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"Subject: helo\r\n\r\nhello\r\n")[0] == 250
    s.quit()
    data = queued_data(inst)
    assert b"identity=helo;" in data[0] and b"Received-SPF: pass" in data[0]
    s = client(inst, "badhelo.test")
    r = s.mail("x@good.test")
    assert r[0] == 550 and b"SPF fail badhelo.test" in r[1], r
    s.quit()
    # an address literal is not checked by SPF
    s = client(inst, "[127.0.0.1]")
    assert s.mail("x@good.test")[0] == 250
    s.quit()


def test_spf_from_header(inst):
    control(inst, "bofh", "opt BOFHSPFFROM=pass,none,neutral\n")
    inst.start("esmtpd")
    s = client(inst)
    s.mail("x@pass.test")
    assert s.rcpt(inst.login)[0] == 250
    r = s.data(b"From: Boss <boss@fail.test>\r\nSubject: x\r\n\r\nx\r\n")
    assert r[0] == 550 and b"SPF fail boss@fail.test" in r[1], r
    s.mail("x@fail.test")  # MAIL FROM is not checked
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"From: <a@pass.test>\r\nSubject: x\r\n\r\nx\r\n")[0] \
        == 250
    s.quit()
    assert len(queued_data(inst)) == 1


def test_spf_trustme(inst):
    control(inst, "bofh", "opt BOFHSPFMAILFROM=pass\nopt BOFHSPFTRUSTME=1\n")
    control(inst, "smtpaccess", "127.0.0.1\tallow,RELAYCLIENT\n")
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail("x@fail.test")[0] == 250
    s.quit()
