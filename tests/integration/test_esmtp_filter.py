"""test_esmtp_filter.py: global mail filters (courierfilter's sockets in
var/filters/, on when enablefiltering names esmtp): a filter written here
in Python sees the message file and the envelope before the final reply
and accepts or refuses it (one line and multi-line replies); a filter
socket nobody listens on gives 451; without enablefiltering no filter is
asked."""

import glob
import os
import shutil
import smtplib
import socket
import tempfile
import threading

import pytest

from conftest import make_instance


@pytest.fixture
def smtp(suite_build):
    root = tempfile.mkdtemp(prefix="test-esmtp-filter-")
    os.chmod(root, 0o755)
    inst = make_instance(suite_build, os.path.join(root, "instance"))
    inst.program("esmtpd")
    try:
        inst.start("authdaemond")
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(root, ignore_errors=True)


class Filter(threading.Thread):
    """A global filter: refuses messages whose Subject has SPAM."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.seen = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(5)

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c, c.makefile("rb") as f:
                msg_path = f.readline().decode().rstrip("\n")
                env_path = f.readline().decode().rstrip("\n")
                assert f.readline() == b"\n"
                with open(msg_path, "rb") as m:
                    msg = m.read()
                with open(env_path) as m:
                    env = m.read().splitlines()
                self.seen.append((msg, env))
                if b"SPAM" in msg:
                    c.sendall(b"550-5.7.1 Spam is not welcome here\n"
                              b"550 5.7.1 (filter test)\n")
                elif b"LATER" in msg:
                    c.sendall(b"451 4.7.1 Try later")
                else:
                    c.sendall(b"200 Ok\n")

    def close(self):
        self.sock.close()


def as_filter_user(inst, path):
    """A filter runs as the mail system's user (courierfilter's way): run
    as root, the socket is given to the queue's owner, whom esmtpd runs
    as, since connecting needs write permission on it."""
    if os.getuid() == 0:
        st = os.stat(os.path.join(inst.var, "queue"))
        os.chown(path, st.st_uid, st.st_gid)


def queued(inst):
    return glob.glob(os.path.join(inst.var, "queue", "msgs", "*", "C*"))


def test_filter_accepts_and_refuses(smtp):
    fdir = os.path.join(smtp.var, "filters")
    os.makedirs(fdir, exist_ok=True)
    flt = Filter(os.path.join(fdir, "testfilter"))
    as_filter_user(smtp, flt.path)
    flt.start()
    with open(os.path.join(smtp.etc, "enablefiltering"), "w") as f:
        f.write("esmtp\n")
    smtp.start("esmtpd")
    try:
        s = smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)
        s.ehlo("client.test")
        s.sendmail("a@remote.test", [smtp.login],
                   b"Subject: hello\r\n\r\nfine\r\n")
        assert len(queued(smtp)) == 1
        msg, env = flt.seen[-1]
        assert b"Subject: hello" in msg
        assert "sa@remote.test" in env and "r" + smtp.login in env
        assert "usmtp" in env
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("a@remote.test", [smtp.login],
                       b"Subject: SPAM SPAM\r\n\r\nbuy\r\n")
        assert e.value.smtp_code == 550
        assert b"Spam is not welcome" in e.value.smtp_error
        assert b"(filter test)" in e.value.smtp_error
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("a@remote.test", [smtp.login],
                       b"Subject: LATER\r\n\r\nx\r\n")
        assert e.value.smtp_code == 451
        # BDAT goes through the filters too
        code, _ = s.docmd("MAIL FROM:<a@remote.test>")
        s.docmd("RCPT TO:<%s>" % smtp.login)
        body = b"Subject: SPAM\r\n\r\nx\r\n"
        s.send(b"BDAT %d LAST\r\n" % len(body) + body)
        code, msg = s.getreply()
        assert code == 550
        s.quit()
        assert len(queued(smtp)) == 1
        # the copies were removed
        assert os.listdir(os.path.join(smtp.var, "filtertmp")) == []
    finally:
        flt.close()


def test_dead_filter_and_disabled(smtp):
    fdir = os.path.join(smtp.var, "filters")
    os.makedirs(fdir, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(os.path.join(fdir, "dead"))
    as_filter_user(smtp, os.path.join(fdir, "dead"))
    dead.close()    # the socket file stays, nobody listens
    with open(os.path.join(smtp.etc, "enablefiltering"), "w") as f:
        f.write("esmtp\n")
    smtp.start("esmtpd")
    s = smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("a@remote.test", [smtp.login], b"Subject: x\r\n\r\nx\r\n")
    assert e.value.smtp_code == 451
    s.quit()
    smtp.stop("esmtpd")
    with open(os.path.join(smtp.etc, "enablefiltering"), "w") as f:
        f.write("local\n")
    smtp.start("esmtpd")
    s = smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)
    s.sendmail("a@remote.test", [smtp.login], b"Subject: x\r\n\r\nx\r\n")
    s.quit()
    assert len(queued(smtp)) == 1
