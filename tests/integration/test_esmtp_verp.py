"""test_esmtp_verp.py: Courier's VERP (XVERP=Courier) end to end: esmtpd
offers it and takes "MAIL FROM:<...> VERP" from smtplib; each local
delivery's Return-Path: is the recipient's VERP sender; courieresmtp sends
a remote recipient's copy from its VERP sender (to a Python SMTP sink
found through a dnsmasq of the test's own); a bounce goes to the VERP
address; sendmail -verp does the same as the SMTP parameter."""

import email
import email.policy
import glob
import os
import shutil
import smtplib

import pytest

import servers
from conftest import wait_for
from mtahelp import add_account, new_instance, remove
from smtpsink import FakeSmtp

SINK_ADDRESS = "127.0.0.9"


@pytest.fixture(scope="module")
def dns():
    d = servers.DnsServer([("MX", "remote.test", "mx.remote.test", 10),
                           ("A", "mx.remote.test", SINK_ADDRESS)])
    d.start()
    yield d
    d.stop()


@pytest.fixture
def verp(suite_build, dns):
    inst = new_instance(suite_build, "test-esmtp-verp-")
    inst.program("esmtpd")
    inst.program("courierd")
    if not os.path.exists(os.path.join(
            suite_build.prefix or "", "libexec", "courier", "modules",
            "courieresmtp")):
        pytest.skip("courieresmtp is not installed")
    # a second account: courier-setup adds it to the same instance
    add_account(suite_build, inst, "bob")
    inst.bob_maildir = os.path.join(inst.var, "vmail", inst.domain, "bob",
                                    "Maildir")
    # demo-ANYTHING@ lands in demo's Maildir (where the bounces go)
    dot = os.path.join(inst.home, ".courier-default")
    with open(dot, "w") as f:
        f.write("./Maildir/\n")
    if os.getuid() == 0:
        shutil.chown(dot, "nobody")
    sink_port = servers.find_free_port()
    with open(os.path.join(inst.etc, "dnsservers"), "w") as f:
        f.write("127.0.0.1#%d\n" % dns.port)
    with open(os.path.join(inst.etc, "courierd"), "a") as f:
        f.write("ESMTP_PORT=%d\n" % sink_port)
    for name, value in (("retryalpha", "1s"), ("esmtpdelay", "0")):
        with open(os.path.join(inst.etc, name), "w") as f:
            f.write(value + "\n")
    # a RCPT of an address starting with "nobody" gets 550
    inst.sink = FakeSmtp(
        SINK_ADDRESS, sink_port, ehlo=("PIPELINING", "8BITMIME"),
        rcpt=lambda addr, n: ("550 5.1.1 <%s>: no such user" % addr
                              if addr.startswith("nobody") else None))
    try:
        inst.start("authdaemond")
        inst.start("courierd")
        inst.start("esmtpd")
        yield inst
    finally:
        inst.sink.close()
        remove(inst)


def maildir_messages(maildir):
    out = []
    for sub in ("new", "cur"):
        for p in sorted(glob.glob(os.path.join(maildir, sub, "*"))):
            with open(p, "rb") as f:
                out.append(email.message_from_bytes(
                    f.read(), policy=email.policy.default))
    return out


def queue_empty(inst):
    return not glob.glob(os.path.join(inst.var, "queue", "msgs", "*", "C*"))


def client(inst):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20)
    s.ehlo("client.test")
    return s


def test_xverp_offered_and_malformed_use_refused(verp):
    s = client(verp)
    assert s.has_extn("xverp")
    assert b"\nXVERP=Courier\n" in b"\n" + s.ehlo_resp + b"\n"
    assert s.docmd("MAIL FROM:<list@example.test> VERP=yes")[0] == 501
    assert s.docmd("MAIL FROM:<list@example.test> VERP VERP")[0] == 501
    assert s.docmd("MAIL FROM:<> VERP")[0] == 501
    # lower case keyword, then a normal transaction after RSET
    assert s.docmd("MAIL FROM:<list@example.test> verp")[0] == 250
    s.rset()
    assert s.docmd("MAIL FROM:<list@example.test>")[0] == 250
    s.quit()
    # HELO: no ESMTP parameters at all
    s = smtplib.SMTP("127.0.0.1", verp.ports["smtp"], timeout=20)
    s.helo("client.test")
    assert s.docmd("MAIL FROM:<list@example.test> VERP")[0] == 555
    s.quit()


def test_local_recipients_get_their_own_return_path(verp):
    s = client(verp)
    s.sendmail("list@example.test", ["demo@example.test", "bob@example.test"],
               "Subject: list mail\r\n\r\nhello list\r\n",
               mail_options=["VERP"])
    s.quit()
    demo = wait_for(lambda: maildir_messages(verp.maildir),
                    what="delivery to demo")
    bob = wait_for(lambda: maildir_messages(verp.bob_maildir),
                   what="delivery to bob")
    assert demo[0]["Return-Path"] == \
        "<list-demo=example.test@example.test>"
    assert bob[0]["Return-Path"] == "<list-bob=example.test@example.test>"
    assert demo[0]["Subject"] == "list mail"
    # without VERP: the plain sender
    s = client(verp)
    s.sendmail("list@example.test", ["bob@example.test"],
               "Subject: plain\r\n\r\nno verp\r\n")
    s.quit()
    msgs = wait_for(lambda: [m for m in maildir_messages(verp.bob_maildir)
                             if m["Subject"] == "plain"],
                    what="the plain message")
    assert msgs[0]["Return-Path"] == "<list@example.test>"


def test_remote_recipients_and_bounce(verp):
    verp.run("sendmail", "-verp", "-f", "list@example.test",
             "a-b@remote.test", "c@remote.test",
             input="Subject: to the sink\n\nfar away\n")
    wait_for(lambda: len(verp.sink.transactions) >= 2,
             what="two transactions at the sink")
    seen = {tuple(rcpts): mail for mail, rcpts, _ in verp.sink.transactions}
    # one transaction per recipient, each from its own VERP sender
    assert seen[("a-b@remote.test",)].startswith(
        "MAIL FROM:<list-a+2Db=remote.test@example.test>")
    assert seen[("c@remote.test",)].startswith(
        "MAIL FROM:<list-c=remote.test@example.test>")
    for _, _, data in verp.sink.transactions:
        assert b"far away" in data
    # a refused recipient bounces to its VERP address (demo's, so that
    # the bounce arrives in demo's Maildir through .courier-default)
    verp.run("sendmail", "-verp", "-f", "demo@example.test",
             "nobody@remote.test", input="Subject: bounce me\n\nx\n")
    msgs = wait_for(lambda: [m for m in maildir_messages(verp.maildir)
                             if m.get_content_type() == "multipart/report"],
                    what="the bounce")
    dsn = msgs[0]
    assert dsn["Return-Path"] == "<>"
    assert dsn["To"].addresses[0].addr_spec == \
        "demo-nobody=remote.test@example.test"
    assert dsn["Delivered-To"] == "demo-nobody=remote.test@example.test"
    status = list(dsn.iter_parts())[1].get_payload()
    assert status[1]["Final-Recipient"] == "rfc822; nobody@remote.test"
    assert status[1]["Action"] == "failed"
    wait_for(lambda: queue_empty(verp), what="an empty queue")


def test_smtp_verp_to_remote_sink(verp):
    # relaying from 127.0.0.1, granted by smtpaccess
    verp.stop("esmtpd")
    with open(os.path.join(verp.etc, "smtpaccess"), "w") as f:
        f.write("127.0.0.1\tallow,RELAYCLIENT\n")
    verp.start("esmtpd")
    s = client(verp)
    s.sendmail("owner@example.test", ["x@remote.test", "y@remote.test"],
               "Subject: smtp verp\r\n\r\nvia smtp\r\n",
               mail_options=["VERP"])
    s.quit()
    wait_for(lambda: len(verp.sink.transactions) >= 2,
             what="two transactions at the sink")
    froms = sorted(m for m, _, _ in verp.sink.transactions)
    assert froms == ["MAIL FROM:<owner-x=remote.test@example.test>",
                     "MAIL FROM:<owner-y=remote.test@example.test>"]
