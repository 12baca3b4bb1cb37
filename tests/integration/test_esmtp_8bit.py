"""test_esmtp_8bit.py: 8-bit bodies without MIME headers (RFC 5322 text
with RFC 6152 8BITMIME) through esmtpd, with swaks and smtplib: taken
and labelled with the missing RFC 2045 fields as Courier's submit does
(charset=utf-8 for UTF-8), a body that is not UTF-8 refused (550 5.6.3)
unless the client declared it (SMTPUTF8, BODY=8BITMIME: unknown-8bit),
malformed UTF-8 forms, and messages that carry their own MIME fields
left as they are."""

import email
import glob
import os
import shutil
import smtplib
import subprocess

import pytest

from conftest import wait_for
from mtahelp import running

UTF8_BODY = "Gr\u00fc\u00dfe aus K\u00f6ln, \u65e5\u672c\u8a9e, " \
    "\U0001f600\r\n".encode()


@pytest.fixture
def smtp(suite_build):
    with running(suite_build, "test-esmtp8-",
                 daemons=("authdaemond", "courierd", "esmtpd")) as inst:
        yield inst


def client(inst):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20)
    s.ehlo("client.test")
    return s


def delivered(inst, count):
    files = wait_for(lambda: len(glob.glob(os.path.join(
        inst.maildir, "new", "*"))) >= count and
        sorted(glob.glob(os.path.join(inst.maildir, "new", "*"))),
        what="%d deliveries" % count)
    out = {}
    for f in files:
        data = open(f, "rb").read()
        out[email.message_from_bytes(data)["Subject"]] = data
    return out


def header(data):
    return data.split(b"\n\n", 1)[0]


def send(s, inst, subject, body, params=(), extra=b""):
    s.mail("sender@remote.test", list(params))
    assert s.rcpt(inst.login)[0] == 250
    return s.data(b"Subject: " + subject.encode() + b"\r\n" + extra +
                  b"\r\n" + body)


def test_swaks_utf8_body_without_mime(smtp):
    """The new user's case: swaks --body with UTF-8 text, no MIME
    fields, no BODY= parameter: taken, delivered with the body as it
    came and MIME-Version/Content-Type/Content-Transfer-Encoding added."""
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed")
    text = UTF8_BODY.decode().rstrip("\r\n")
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(smtp.ports["smtp"]), "--to", smtp.login,
                        "--from", "a@remote.test", "--header",
                        "Subject: swaks 8bit", "--body", text],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out
    assert "250 " in out and "5.6.3" not in out
    data = delivered(smtp, 1)["swaks 8bit"]
    h = header(data)
    assert b"\nMIME-Version: 1.0\n" in h
    assert b"\nContent-Type: text/plain; charset=utf-8\n" in h
    assert b"\nContent-Transfer-Encoding: 8bit\n" in h
    assert text.encode() in data
    msg = email.message_from_bytes(data)
    assert msg.get_content_charset() == "utf-8"
    assert text in msg.get_payload(decode=True).decode("utf-8")


def test_declared_8bit(smtp):
    """BODY=8BITMIME, SMTPUTF8 or nothing: a UTF-8 body is taken and
    labelled utf-8; a Latin-1 body is refused (550 5.6.3, its charset
    cannot be known) when nothing was declared, taken as unknown-8bit in
    an SMTPUTF8 transaction; the session goes on after the refusal."""
    s = client(smtp)
    assert send(s, smtp, "plain", UTF8_BODY)[0] == 250
    assert send(s, smtp, "8bitmime", UTF8_BODY, ["BODY=8BITMIME"])[0] == 250
    assert send(s, smtp, "smtputf8", UTF8_BODY,
                ["SMTPUTF8", "BODY=8BITMIME"])[0] == 250
    code, msg = send(s, smtp, "latin1", b"caf\xe9 cr\xe8me\r\n")
    assert code == 550 and msg.startswith(b"5.6.3"), (code, msg)
    assert send(s, smtp, "latin1 utf8", b"caf\xe9 cr\xe8me\r\n",
                ["SMTPUTF8"])[0] == 250
    assert s.noop()[0] == 250
    s.quit()
    got = delivered(smtp, 4)
    assert set(got) == {"plain", "8bitmime", "smtputf8", "latin1 utf8"}
    for k in ("plain", "8bitmime", "smtputf8"):
        assert b"\nContent-Type: text/plain; charset=utf-8\n" in \
            header(got[k]), k
        assert got[k].endswith(UTF8_BODY.replace(b"\r\n", b"\n")), k
    h = header(got["latin1 utf8"])
    assert b"\nContent-Type: text/plain; charset=unknown-8bit\n" in h
    assert b"\nContent-Transfer-Encoding: 8bit\n" in h
    assert got["latin1 utf8"].endswith(b"caf\xe9 cr\xe8me\n")


def test_body_8bitmime_latin1(smtp):
    """BODY=8BITMIME alone declares 8-bit text (RFC 6152): a Latin-1
    body is taken, labelled unknown-8bit (RFC 1428)."""
    s = client(smtp)
    code, msg = send(s, smtp, "latin1 8bitmime", b"caf\xe9\r\n",
                     ["BODY=8BITMIME"])
    s.quit()
    assert code == 250, (code, msg)


# (body, is it UTF-8)
FORMS = [
    (b"overlong \xc0\x80\r\n", False),
    (b"overlong \xe0\x80\xaf\r\n", False),
    (b"overlong \xf0\x80\x80\xaf\r\n", False),
    (b"surrogate \xed\xa0\x80\r\n", False),
    (b"above U+10FFFF \xf4\x90\x80\x80\r\n", False),
    (b"no such byte \xf5\x80\x80\x80 \xff\r\n", False),
    (b"lone continuation \x80\r\n", False),
    (b"cut short \xe2\x82\r\n", False),
    (b"cut at the end \xf0\x9f\x98", False),
    (b"U+10FFFF \xf4\x8f\xbf\xbf U+FFFD \xef\xbf\xbd U+0080 \xc2\x80\r\n",
     True),
    (b"U+D7FF \xed\x9f\xbf U+E000 \xee\x80\x80\r\n", True),
]


def test_malformed_utf8_forms(smtp):
    """Shortest forms only, no surrogates, nothing above U+10FFFF, no
    sequence cut short (RFC 3629): every malformed form is refused when
    nothing was declared, the valid edges are taken as utf-8."""
    s = client(smtp)
    want = 0
    for i, (body, ok) in enumerate(FORMS):
        code, msg = send(s, smtp, "form %d" % i, body)
        if ok:
            assert code == 250, (body, code, msg)
            want += 1
        else:
            assert code == 550 and msg.startswith(b"5.6.3"), (body, code)
    s.quit()
    got = delivered(smtp, want)
    for i, (body, ok) in enumerate(FORMS):
        if ok:
            assert b"charset=utf-8" in header(got["form %d" % i])


def test_utf8_split_across_chunks(smtp):
    """A UTF-8 sequence cut between BDAT chunks (RFC 3030) and between
    TCP writes is still UTF-8."""
    s = client(smtp)
    s.mail("sender@remote.test")
    assert s.rcpt(smtp.login)[0] == 250
    data = b"Subject: chunks\r\n\r\n" + UTF8_BODY
    cut = data.index(b"\xf0\x9f") + 1
    for part, last in ((data[:cut], False), (data[cut:cut + 2], False),
                       (data[cut + 2:], True)):
        s.send(b"BDAT %d%s\r\n" % (len(part), b" LAST" if last else b""))
        s.send(part)
        code, msg = s.getreply()
        assert code == 250, (code, msg)
    s.quit()
    got = delivered(smtp, 1)["chunks"]
    assert b"charset=utf-8" in header(got)
    assert got.endswith(UTF8_BODY.replace(b"\r\n", b"\n"))


def test_own_mime_fields_kept(smtp):
    """A message with MIME-Version is left as it is; one with only a
    Content-Type gets only what is missing (its charset is its own)."""
    s = client(smtp)
    assert send(s, smtp, "mime", UTF8_BODY, extra=b"MIME-Version: 1.0\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\n")[0] == 250
    assert send(s, smtp, "ctype", b"caf\xe9\r\n",
                extra=b"Content-Type: text/plain; charset=iso-8859-1\r\n"
                )[0] == 250
    assert send(s, smtp, "ascii", b"just ascii\r\n")[0] == 250
    s.quit()
    got = delivered(smtp, 3)
    h = header(got["mime"])
    assert h.count(b"MIME-Version") == 1 and b"Content-Transfer" not in h
    h = header(got["ctype"])
    assert h.count(b"Content-Type") == 1
    assert b"charset=iso-8859-1" in h and b"\nMIME-Version: 1.0\n" in h
    assert b"\nContent-Transfer-Encoding: 8bit\n" in h
    # 7-bit text needs no MIME fields: nothing is added
    assert b"MIME-Version" not in header(got["ascii"])
