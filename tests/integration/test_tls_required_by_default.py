"""test_tls_required_by_default.py: an instance as courier-setup makes it
lets no password cross the network in the clear: on the plain IMAP port
CAPABILITY says LOGINDISABLED (RFC 3501 6.2.3, RFC 9051 6.2.3) and LOGIN
and AUTHENTICATE PLAIN are refused until STARTTLS; on the plain POP3 port
USER/PASS wait for STLS (RFC 2595 4).  The other tests turn this off in
conftest.make_instance() (they log in on plain ports); here it is put
back as courier-setup wrote it."""

import base64
import imaplib
import poplib
import re

import pytest

import imaphelp


def as_courier_setup_wrote_it(inst):
    """Drops the lines conftest.make_instance() appended for tests."""
    for name in ("imapd-ssl", "pop3d-ssl"):
        path = inst.path("etc", name)
        with open(path) as f:
            text = f.read()
        cut = text.find("\n# tests: plaintext logins allowed\n")
        assert cut > 0, text
        text = text[:cut + 1]
        key = "IMAP" if name == "imapd-ssl" else "POP3"
        assert re.search(r"^%s_TLS_REQUIRED=1$" % key, text, re.M), text
        with open(path, "w") as f:
            f.write(text)


@pytest.fixture(scope="module")
def inst(suite_build):
    with imaphelp.running(suite_build, prefix="test-tlsreq-",
                          fill=as_courier_setup_wrote_it) as i:
        i.start("pop3d")
        yield i


def test_imap_plain_port_refuses_passwords_before_starttls(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=20)
    caps = m.capabilities
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps, caps
    assert "AUTH=PLAIN" not in caps, caps
    with pytest.raises(imaplib.IMAP4.error):
        m.login(inst.login, inst.password)
    # AUTHENTICATE PLAIN with an initial response: refused as well
    ir = base64.b64encode(("\0%s\0%s" % (inst.login, inst.password))
                          .encode()).decode()
    typ, data = m._simple_command("AUTHENTICATE", "PLAIN", ir)
    assert typ != "OK", (typ, data)
    assert m.state == "NONAUTH"
    m.starttls(ssl_context=imaphelp.tls_ctx())
    typ, data = m.capability()
    assert b"LOGINDISABLED" not in data[0], data
    assert m.login(inst.login, inst.password)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_imaps_port_logs_in(inst):
    m = imaplib.IMAP4_SSL("127.0.0.1", inst.ports["imaps"], timeout=20,
                          ssl_context=imaphelp.tls_ctx())
    assert "LOGINDISABLED" not in m.capabilities
    assert m.login(inst.login, inst.password)[0] == "OK"
    m.logout()


def test_pop3_plain_port_refuses_passwords_before_stls(inst):
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=20)
    with pytest.raises(poplib.error_proto):
        p.user(inst.login)
        p.pass_(inst.password)
    p.stls(context=imaphelp.tls_ctx())
    p.user(inst.login)
    assert p.pass_(inst.password).startswith(b"+OK")
    p.quit()
