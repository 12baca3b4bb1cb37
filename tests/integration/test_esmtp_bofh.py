"""test_esmtp_bofh.py: esmtpd's bofh rules with smtplib: badfrom (each
form), spamtrap (the whole message refused), maxrcpts (soft and hard),
BOFHHEADERLIMIT and BOFHNOBASE64TEXT, reloaded on SIGHUP."""

import base64
import glob
import os
import signal
import smtplib
import time

import pytest

from mtahelp import running


@pytest.fixture
def smtp(suite_build):
    with running(suite_build, "test-esmtp-bofh-") as inst:
        yield inst


def write_bofh(inst, text):
    with open(os.path.join(inst.etc, "bofh"), "w") as f:
        f.write(text)


def client(inst):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20)
    s.ehlo("client.test")
    return s


def queued(inst):
    return glob.glob(os.path.join(inst.var, "queue", "msgs", "*", "C*"))


def test_badfrom(smtp):
    write_bofh(smtp, "badfrom spammer@bad.test\nbadfrom @evil.test\n"
                     "badfrom @.sub.test\nbadfrom joe@.corp.test\n")
    smtp.start("esmtpd")
    s = client(smtp)
    for sender, code in (("spammer@bad.test", 550), ("ok@bad.test", 250),
                         ("x@evil.test", 550), ("x@a.sub.test", 550),
                         ("x@sub.test", 250), ("joe@b.corp.test", 550),
                         ("jim@b.corp.test", 250), ("", 250)):
        r = s.mail(sender)
        assert r[0] == code, (sender, r)
        if code == 550:
            assert r[1].startswith(b"5.7.1")
        s.rset()
    s.quit()


def test_spamtrap_and_maxrcpts(smtp):
    write_bofh(smtp, "spamtrap trap@%s\nmaxrcpts 2\n" % smtp.domain)
    smtp.start("esmtpd")
    s = client(smtp)
    s.mail("a@remote.test")
    assert s.rcpt(smtp.login)[0] == 250
    assert s.rcpt("trap@" + smtp.domain)[0] == 550
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.data(b"Subject: spam\r\n\r\nspam\r\n")
    assert e.value.smtp_code == 554
    assert e.value.smtp_error.startswith(b"5.7.1")
    assert queued(smtp) == []
    # the next transaction is clean again
    s.mail("a@remote.test")
    assert s.rcpt(smtp.login)[0] == 250
    assert s.rcpt("postmaster@" + smtp.domain)[0] == 250
    code, msg = s.rcpt("postmaster")
    assert code == 452 and msg.startswith(b"4.5.3")
    assert s.data(b"Subject: ok\r\n\r\nok\r\n")[0] == 250
    s.quit()
    assert len(queued(smtp)) == 1
    write_bofh(smtp, "maxrcpts 1 hard\n")
    smtp.daemons["esmtpd"].proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    s = client(smtp)
    s.mail("a@remote.test")
    assert s.rcpt(smtp.login)[0] == 250
    code, msg = s.rcpt("postmaster")
    assert code == 552 and msg.startswith(b"5.5.3")
    s.quit()


def test_header_limit_and_base64_text(smtp):
    write_bofh(smtp, "opt BOFHHEADERLIMIT=2000\nopt BOFHNOBASE64TEXT=1\n")
    smtp.start("esmtpd")
    s = client(smtp)
    big = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"f" * 60)
                   for i in range(40))
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("a@remote.test", [smtp.login],
                   b"Subject: big\r\n" + big + b"\r\nbody\r\n")
    assert e.value.smtp_code == 552
    b64 = base64.encodebytes(b"hello, this is spam\n")
    msg = (b"Subject: b64\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n"
           b"--BB\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 +
           b"--BB--\r\n")
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("a@remote.test", [smtp.login], msg)
    assert e.value.smtp_code == 550
    # base64 for an attachment is fine, and so is a normal header
    ok = msg.replace(b"Content-Type: text/plain",
                     b"Content-Type: application/octet-stream")
    s.sendmail("a@remote.test", [smtp.login], ok)
    s.quit()
    assert len(queued(smtp)) == 1
