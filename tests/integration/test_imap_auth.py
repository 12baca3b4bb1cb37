"""test_imap_auth.py: the SASL mechanisms imapd offers (IMAP_AUTH and
IMAP_AUTH_TLS in etc/imapd) against a fresh instance made by
courier-setup: curl, which picks the strongest mechanism it sees, logs in
with `curl -u user:pw imap://...` (plain and with STARTTLS), and the
capability list and AUTHENTICATE follow the settings."""

import imaplib
import re
import subprocess

import pytest

import imaphelp
from imaphelp import deliver, stop, tls_ctx

CAPA = re.compile(rb"^\* (?:OK \[CAPABILITY|CAPABILITY) ")


def start(suite_build, settings=None):
    """An instance with settings in etc/imapd (test_imap_emptytrash and
    test_imap_referral use it too); stop() ends it."""
    return imaphelp.start(suite_build, "test-imap-auth-", settings)


@pytest.fixture
def fresh(suite_build):
    with imaphelp.running(suite_build, "test-imap-auth-") as inst:
        yield inst


def auth_caps(caps):
    return sorted(c for c in caps if c.startswith("AUTH="))


def curl(inst, *args, user=None):
    user = user or "%s:%s" % (inst.login, inst.password)
    return subprocess.run(["curl", "-sS", "--max-time", "20", "-u", user] +
                          list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def test_defaults_offer_plain_and_login(fresh):
    m = imaplib.IMAP4(fresh.address, fresh.ports["imap"], timeout=20)
    assert CAPA.match(m.welcome)
    assert auth_caps(m.capabilities) == ["AUTH=LOGIN", "AUTH=PLAIN"]
    m.starttls(ssl_context=tls_ctx())
    assert auth_caps(m.capabilities) == ["AUTH=LOGIN", "AUTH=PLAIN"]
    # a mechanism that is not offered is refused before any exchange
    typ, data = m._simple_command("AUTHENTICATE", "CRAM-MD5")
    assert typ == "NO"
    assert m.login(fresh.login, fresh.password)[0] == "OK"
    m.logout()


def test_curl_plain_and_starttls(fresh):
    deliver(fresh, "From: a@example.test\nSubject: curl test\n\nhello curl\n")
    url = "imap://%s:%d/" % (fresh.address, fresh.ports["imap"])
    r = curl(fresh, url)
    assert r.returncode == 0, r.stderr
    assert re.search(rb'^\* LIST \([^)]*\) "\." "?INBOX"?\r?$', r.stdout,
                     re.M), r.stdout
    # STARTTLS required, and one message read
    r = curl(fresh, "--ssl-reqd", "-k", url + "INBOX;UID=1")
    assert r.returncode == 0, r.stderr
    assert b"Subject: curl test" in r.stdout and b"hello curl" in r.stdout
    # IMAPS
    r = curl(fresh, "-k", "imaps://%s:%d/INBOX?ALL" %
             (fresh.address, fresh.ports["imaps"]))
    assert r.returncode == 0, r.stderr
    assert re.search(rb"^\* SEARCH 1\r?$", r.stdout, re.M), r.stdout
    # a wrong password is refused (curl's exit 67: login denied)
    r = curl(fresh, url, user="%s:wrong" % fresh.login)
    assert r.returncode == 67, (r.returncode, r.stderr)


def test_settings_choose_mechanisms(suite_build):
    inst = start(suite_build, {"IMAP_AUTH": "LOGIN",
                               "IMAP_AUTH_TLS": "PLAIN, cram-md5"})
    try:
        m = imaplib.IMAP4(inst.address, inst.ports["imap"], timeout=20)
        assert auth_caps(m.capabilities) == ["AUTH=LOGIN"]
        typ, data = m._simple_command("AUTHENTICATE", "PLAIN")
        assert typ == "NO"
        m.starttls(ssl_context=tls_ctx())
        assert auth_caps(m.capabilities) == ["AUTH=CRAM-MD5", "AUTH=LOGIN",
                                             "AUTH=PLAIN"]
        typ, _ = m.authenticate(
            "PLAIN", lambda _: b"\0" + inst.login.encode() + b"\0" +
            inst.password.encode())
        assert typ == "OK"
        m.logout()
        # curl over STARTTLS now sees CRAM-MD5 and picks it: the
        # account's password is hashed, so the login fails, which is
        # why CRAM-MD5 is not offered by default
        url = "imap://%s:%d/" % (inst.address, inst.ports["imap"])
        r = curl(inst, "--ssl-reqd", "-k", url)
        assert r.returncode == 67, (r.returncode, r.stderr)
        # naming the mechanism works
        r = curl(inst, "--ssl-reqd", "-k", "--login-options", "AUTH=PLAIN",
                 url)
        assert r.returncode == 0, r.stderr
    finally:
        stop(inst)


def test_unknown_mechanism_is_a_config_error(suite_build):
    inst = start(suite_build)
    try:
        inst.stop("imapd")
        with open(inst.path("etc", "imapd"), "a") as f:
            f.write('IMAP_AUTH="PLAIN SCRAM-SHA-1"\n')
        r = subprocess.run([inst.program("imapd")], env=inst.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=20)
        assert r.returncode != 0
        assert b"SCRAM-SHA-1" in r.stdout, r.stdout
    finally:
        stop(inst)
