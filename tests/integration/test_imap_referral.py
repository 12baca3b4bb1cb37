"""test_imap_referral.py: LOGIN-REFERRALS (RFC 2221) in a real instance:
an account whose authlib option mailhost= names another server gets
"NO [REFERRAL imap://user;AUTH=*@host/]" at LOGIN and AUTHENTICATE
instead of a session; PROXY_HOSTNAME names this server (an account on
it is served), an unusable mailhost is ignored.  Python's imaplib over
STARTTLS."""

import imaplib
import re

import pytest

from test_imap import tls_ctx
from test_imap_auth import start, stop

REFERRAL = re.compile(rb"^\[REFERRAL imap://([^;/@]+);AUTH=\*@([^/]+)/\] ")


def set_options(inst, options):
    inst.run("userdb", inst.login, "set", "options=" + options)
    inst.run("makeuserdb")


@pytest.fixture
def inst(suite_build):
    i = start(suite_build, {"PROXY_HOSTNAME": "imap1.example.test"})
    try:
        yield i
    finally:
        stop(i)


def connect(inst):
    m = imaplib.IMAP4(inst.address, inst.ports["imap"], timeout=20)
    m.starttls(ssl_context=tls_ctx())
    return m


def test_login_referral(inst):
    m = connect(inst)
    assert "LOGIN-REFERRALS" in m.capabilities
    m.logout()
    set_options(inst, "mailhost=imap2.example.test")
    m = connect(inst)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login(inst.login, inst.password)
    text = str(e.value).encode()
    g = REFERRAL.search(text.split(b"'")[1] if b"'" in text else text)
    assert g, text
    # the user percent-encoded (RFC 5092 enc-user: "@" is %40)
    assert g.group(1) == inst.login.replace("@", "%40").encode()
    assert g.group(2) == b"imap2.example.test"
    # AUTHENTICATE PLAIN too; a wrong password gets no referral
    typ, data = m._simple_command(
        "AUTHENTICATE", "PLAIN",
        __import__("base64").b64encode(
            b"\0" + inst.login.encode() + b"\0" +
            inst.password.encode()).decode())
    assert typ == "NO" and data[0].startswith(b"[REFERRAL imap://")
    typ, data = m._simple_command("LOGIN", inst.login, "wrong")
    assert typ == "NO" and b"REFERRAL" not in data[0]
    m.logout()


def test_mailhost_of_this_server(inst):
    # PROXY_HOSTNAME names this server: served here, any case
    set_options(inst, "mailhost=IMAP1.example.test")
    m = connect(inst)
    assert m.login(inst.login, inst.password)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    # not a host name: logged, and served here rather than referred
    set_options(inst, "mailhost=bad/host")
    m = connect(inst)
    assert m.login(inst.login, inst.password)[0] == "OK"
    m.logout()
