"""test_esmtp_stdio.py: `esmtpd --stdio`, one SMTP session on standard
input and output for a local caller (what `sendmail -bs` runs): no
STARTTLS or AUTH offered, relaying allowed, the caller's uid in the
Received: line and "local" as the message's source in the queue."""

import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import make_instance


@pytest.fixture
def inst(suite_build):
    root = tempfile.mkdtemp(prefix="test-esmtp-stdio-")
    os.chmod(root, 0o755)
    i = make_instance(suite_build, os.path.join(root, "instance"))
    i.program("esmtpd")
    try:
        i.start("authdaemond")
        yield i
    finally:
        i.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def replies(out):
    """The reply codes of a session transcript, one per complete reply."""
    return [int(line[:3]) for line in out.splitlines()
            if len(line) >= 4 and line[3] == " "]


def test_stdio_session(inst):
    session = ("EHLO localhost\r\n"
               "MAIL FROM:<%s>\r\n"
               "RCPT TO:<someone@other.example>\r\n"
               "RCPT TO:<%s>\r\n"
               "RCPT TO:<nobody@%s>\r\n"
               "DATA\r\n"
               "Subject: from stdio\r\n\r\nhello\r\n.\r\n"
               "QUIT\r\n") % (inst.login, inst.login, inst.domain)
    r = subprocess.run([inst.program("esmtpd"), "--stdio"], env=inst.env,
                       input=session, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("220 ")
    assert "STARTTLS" not in out and "AUTH" not in out
    assert "PIPELINING" in out
    assert replies(out) == [220, 250, 250, 250, 250, 550, 354, 250, 221]
    ctl = glob.glob(os.path.join(inst.var, "queue", "msgs", "*", "C*"))
    assert len(ctl) == 1
    lines = open(ctl[0]).read().splitlines()
    assert "ulocal" in lines
    data = open(ctl[0].replace("/C", "/D")).read()
    assert "Received: from localhost (uid %d)" % os.getuid() in data


def test_stdio_eof_and_garbage(inst):
    r = subprocess.run([inst.program("esmtpd"), "--stdio"], env=inst.env,
                       input="BOGUS\r\nMAIL FROM:<x>\r\n", text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 0
    assert replies(r.stdout) == [220, 500, 503]
    r = subprocess.run([inst.program("esmtpd"), "--stdio", "extra"],
                       env=inst.env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 2
