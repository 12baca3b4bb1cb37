"""test_esmtp_limits.py: esmtpd's access control and abuse limits with
smtplib and raw sockets: smtpaccess compiled by makesmtpaccess (prefixes,
CIDR, allow/deny, RELAYCLIENT, BLOCK and SIZELIMIT per address, errors
with file and line, a new .dat picked up without a restart), the 421 on
idle timeout, connections per IP, errors before the disconnect, command
and message line length, message size, and the name per local address
(vhost.ADDRESS, me.ADDRESS)."""

import os
import shutil
import smtplib
import socket
import time

import pytest

from mtahelp import running


@pytest.fixture
def smtp(suite_build):
    with running(suite_build, "test-esmtp-limits-") as inst:
        yield inst


def set_options(inst, **values):
    """Appends NAME=value lines to etc/esmtpd."""
    with open(os.path.join(inst.etc, "esmtpd"), "a") as f:
        for k, v in values.items():
            f.write("%s=%s\n" % (k, v))


def write_access(inst, text):
    path = os.path.join(inst.etc, "smtpaccess")
    if os.path.isdir(path):
        shutil.rmtree(path)
    with open(path, "w") as f:
        f.write(text)


def chown_like_etc(inst, path):
    st = os.stat(inst.etc)
    if os.getuid() == 0:
        os.chown(path, st.st_uid, st.st_gid)


def client(inst):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20)
    s.ehlo("client.test")
    return s


class Raw:
    """A line-level SMTP client on a plain socket."""

    def __init__(self, inst, timeout=20, source=None):
        self.sock = socket.create_connection(
            ("127.0.0.1", inst.ports["smtp"]), timeout,
            source_address=(source, 0) if source else None)
        self.f = self.sock.makefile("rb")

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                return None, b"".join(lines)
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), b"".join(lines)

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def eof(self):
        try:
            return self.f.read() == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def test_makesmtpaccess_compiles_and_esmtpd_uses_it(smtp):
    write_access(smtp, "# relay for the test client\n"
                       "127.0.0\tallow,RELAYCLIENT\n"
                       "10.0.0.0/8\tdeny\n")
    r = smtp.run("makesmtpaccess")
    assert r.returncode == 0, r.stderr
    dat = os.path.join(smtp.etc, "smtpaccess.dat")
    assert os.path.exists(dat)
    # the text no longer says so: esmtpd follows the compiled file
    write_access(smtp, "")
    smtp.start("esmtpd")
    s = client(smtp)
    s.mail("a@remote.test")
    assert s.rcpt("someone@other.example")[0] == 250
    s.quit()

    # a new .dat is seen by the next connection, without a restart
    write_access(smtp, "127.0.0.1\tdeny\n")
    smtp.run("makesmtpaccess")
    with pytest.raises(smtplib.SMTPConnectError) as e:
        smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)
    assert e.value.smtp_code == 554

    # a folder of files, BLOCK and SIZELIMIT per address
    os.unlink(os.path.join(smtp.etc, "smtpaccess"))
    os.mkdir(os.path.join(smtp.etc, "smtpaccess"))
    with open(os.path.join(smtp.etc, "smtpaccess", "10block"), "w") as f:
        f.write('127.0.0.1\tallow,BLOCK="550 5.7.1 You, go away"\n')
    with open(os.path.join(smtp.etc, "smtpaccess", "20net"), "w") as f:
        f.write("127\tallow,RELAYCLIENT\n")
    smtp.run("makesmtpaccess")
    s = client(smtp)
    s.mail("a@remote.test")
    code, msg = s.rcpt(smtp.login)
    assert code == 550 and msg == b"5.7.1 You, go away"
    s.quit()
    with open(os.path.join(smtp.etc, "smtpaccess", "10block"), "w") as f:
        f.write("127.0.0.1\tallow,RELAYCLIENT,SIZELIMIT=2000\n")
    smtp.run("makesmtpaccess")
    s = client(smtp)
    assert s.esmtp_features["size"] == "2000"
    code, msg = s.mail("a@remote.test", ["SIZE=3000"])
    assert code == 552
    s.quit()


def test_makesmtpaccess_errors_with_file_and_line(smtp):
    write_access(smtp, "127.0.0.1\tallow\n")
    smtp.run("makesmtpaccess")
    before = open(os.path.join(smtp.etc, "smtpaccess.dat"), "rb").read()
    write_access(smtp, "127.0.0.1\tallow\n"
                       "300.1.2.3\tallow\n"
                       "10.1.1.1\tperhaps\n"
                       "10.0.0.0/8\tallow\n"
                       "10\tdeny\n")
    r = smtp.run("makesmtpaccess", check=False)
    assert r.returncode == 1
    path = os.path.join(smtp.etc, "smtpaccess")
    assert "%s:2: not an IP" % path in r.stderr
    assert "%s:3: expected allow or deny" % path in r.stderr
    assert "not changed" in r.stderr
    # the old database is untouched
    assert open(os.path.join(smtp.etc, "smtpaccess.dat"),
                "rb").read() == before
    write_access(smtp, "10.0.0.0/8\tallow\n10\tdeny\n")
    r = smtp.run("makesmtpaccess", check=False)
    assert r.returncode == 1
    assert "%s:2: the same address as %s:1" % (path, path) in r.stderr
    r = smtp.run("makesmtpaccess", "-n", check=False)
    assert r.returncode == 1


def test_idle_timeout_says_421(smtp):
    set_options(smtp, ESMTP_TIMEOUT="2", ESMTP_DATA_TIMEOUT="3")
    smtp.start("esmtpd")
    c = Raw(smtp)
    assert c.reply()[0] == 220
    t0 = time.time()
    code, text = c.reply()
    assert code == 421 and b"4.4.2" in text, text
    assert 1.5 < time.time() - t0 < 6
    assert c.eof()
    c.close()
    # input keeps it alive; in DATA the data timeout applies
    c = Raw(smtp)
    c.reply()
    for _ in range(3):
        time.sleep(1)
        assert c.cmd(b"NOOP")[0] == 250
    assert c.cmd(b"EHLO c")[0] == 250
    assert c.cmd(b"MAIL FROM:<a@remote.test>")[0] == 250
    assert c.cmd(b"RCPT TO:<%s>" % smtp.login.encode())[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    c.send(b"Subject: slow\r\n")
    t0 = time.time()
    code, text = c.reply()
    assert code == 421
    assert 2.5 < time.time() - t0 < 8
    c.close()
    log = open(os.path.join(smtp.var, "log", "esmtpd.log")).read()
    assert "timeout after 3 s in the message" in log


def test_connections_per_ip(smtp):
    set_options(smtp, MAXPERIP="2")
    smtp.start("esmtpd")
    a, b = Raw(smtp), Raw(smtp)
    assert a.reply()[0] == 220 and b.reply()[0] == 220
    c = Raw(smtp)
    code, text = c.reply()
    assert code == 421 and b"4.7.0" in text
    c.close()
    a.cmd(b"QUIT")
    a.close()
    time.sleep(0.3)
    d = Raw(smtp)
    assert d.reply()[0] == 220
    d.close()
    b.close()


def test_connections_per_c_block(smtp):
    """MAXPERC (couriertcpd's -maxperc): connections at once from one C
    block (an IPv4 /24); 127.0.0.1 and 127.0.0.2 share one."""
    set_options(smtp, MAXPERIP="10", MAXPERC="2")
    smtp.start("esmtpd")
    a, b = Raw(smtp), Raw(smtp)
    assert a.reply()[0] == 220 and b.reply()[0] == 220
    c = Raw(smtp, source="127.0.0.2")
    code, text = c.reply()
    assert code == 421 and b"from your network" in text, text
    c.close()
    a.cmd(b"QUIT")
    a.close()
    time.sleep(0.3)
    d = Raw(smtp, source="127.0.0.2")
    assert d.reply()[0] == 220
    d.close()
    b.close()


def test_errors_before_disconnect(smtp):
    set_options(smtp, ESMTP_MAX_BAD_COMMANDS="3")
    smtp.start("esmtpd")
    c = Raw(smtp)
    c.reply()
    assert c.cmd(b"BOGUS")[0] == 500
    assert c.cmd(b"MAIL FROM:<a@b.test>")[0] == 503
    assert c.cmd(b"RCPT TO:<x@y.test>")[0] == 503
    code, text = c.reply()
    assert code == 421 and b"4.7.0" in text
    assert c.eof()
    c.close()


def test_line_lengths_and_size(smtp):
    set_options(smtp, ESMTP_MAX_LINE="600", ESMTP_MAX_DATA_LINE="1000")
    with open(os.path.join(smtp.etc, "sizelimit"), "w") as f:
        f.write("5000\n")
    smtp.start("esmtpd")
    c = Raw(smtp)
    c.reply()
    assert c.cmd(b"EHLO c")[0] == 250
    code, text = c.cmd(b"NOOP " + b"x" * 700)
    assert code == 500 and b"too long" in text
    # a command just under the limit is fine
    assert c.cmd(b"HELP " + b"x" * 500)[0] == 214
    c.cmd(b"MAIL FROM:<a@remote.test>")
    c.cmd(b"RCPT TO:<%s>" % smtp.login.encode())
    assert c.cmd(b"DATA")[0] == 354
    c.send(b"Subject: long\r\n\r\n" + b"y" * 1500 + b"\r\n.\r\n")
    code, text = c.reply()
    assert code == 554 and b"5.6.0" in text
    c.cmd(b"MAIL FROM:<a@remote.test>")
    c.cmd(b"RCPT TO:<%s>" % smtp.login.encode())
    assert c.cmd(b"DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n" + (b"z" * 70 + b"\r\n") * 100 +
           b".\r\n")
    code, text = c.reply()
    assert code == 552 and b"5.3.4" in text
    assert c.cmd(b"QUIT")[0] == 221
    c.close()


def test_vhost_name_per_local_address(smtp):
    smtp.start("esmtpd")
    s = smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)
    code, text = s.ehlo("client.test")
    assert code == 250
    default = text.split(b"\n")[0]
    s.quit()
    # me.127.0.0.1 alone does nothing: vhost.127.0.0.1 turns it on
    with open(os.path.join(smtp.etc, "me.127.0.0.1"), "w") as f:
        f.write("mx.vhost.test\n")
    s = smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)
    assert s.ehlo("client.test")[1].split(b"\n")[0] == default
    s.quit()
    open(os.path.join(smtp.etc, "vhost.127.0.0.1"), "w").close()
    s = smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)
    code, text = s.ehlo("client.test")
    assert code == 250 and text.split(b"\n")[0] == b"mx.vhost.test Ok."
    assert s.helo("client.test")[1] == b"mx.vhost.test Ok."
    s.quit()
    # the greeting names the vhost too, and esmtpgreeting.ADDRESS
    # replaces the greeting for that address
    s = smtplib.SMTP(timeout=20)
    code, text = s.connect("127.0.0.1", smtp.ports["smtp"])
    assert code == 220 and text.startswith(b"mx.vhost.test ESMTP"), text
    s.quit()
    with open(os.path.join(smtp.etc, "esmtpgreeting.127.0.0.1"), "w") as f:
        f.write("mx.vhost.test welcomes you\n")
    s = smtplib.SMTP(timeout=20)
    code, text = s.connect("127.0.0.1", smtp.ports["smtp"])
    assert code == 220 and text == b"mx.vhost.test welcomes you", text
    s.quit()
    os.unlink(os.path.join(smtp.etc, "esmtpgreeting.127.0.0.1"))
    # without me.ADDRESS, the vhost uses me
    os.unlink(os.path.join(smtp.etc, "me.127.0.0.1"))
    s = smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)
    assert s.ehlo("client.test")[1].split(b"\n")[0] == default
    s.quit()
