"""test_esmtp.py: esmtpd in a throw-away instance, with authdaemond and
courierd running: Python's smtplib and swaks as clients.  Each EHLO
extension, STARTTLS and SMTPS with the instance's certificate, AUTH with
each mechanism (right and wrong), the closed relay and its classic
tricks, relay with AUTH and by smtpaccess, unknown users at RCPT, a
message delivered to the account's Maildir, DSN parameters in the queue
control file, pipelining, BDAT, SIZE, and the submission port."""

import glob
import os
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import wait_for
from mtahelp import running


@pytest.fixture
def smtp(suite_build):
    with running(suite_build, "test-esmtp-") as inst:
        yield inst


def start(inst, courierd=False):
    if courierd:
        inst.start("courierd")
    return inst.start("esmtpd")


def client(inst, port="smtp"):
    s = smtplib.SMTP("127.0.0.1", inst.ports[port], timeout=20)
    s.ehlo("client.test")
    return s


def queued_controls(inst):
    return sorted(glob.glob(os.path.join(inst.var, "queue", "msgs", "*",
                                         "C*")))


def test_ehlo_extensions(smtp):
    start(smtp)
    s = client(smtp)
    for ext in ("pipelining", "size", "8bitmime", "dsn", "starttls",
                "enhancedstatuscodes", "smtputf8", "chunking"):
        assert s.has_extn(ext), ext
    # AUTH only after TLS (ESMTPAUTH is empty)
    assert not s.has_extn("auth")
    assert s.noop()[0] == 250
    assert s.verify("demo")[0] == 252
    code, msg = s.docmd("HELP")
    assert code == 214
    code, msg = s.docmd("FOO")
    assert code == 500 and msg.startswith(b"5.5.2")
    s.starttls(context=smtp.ssl_context())
    s.ehlo("client.test")
    assert not s.has_extn("starttls")
    # courier-setup offers no CRAM-MD5: its accounts have hashed
    # passwords, and clients pick the strongest mechanism offered
    assert set(s.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
    s.quit()


def test_smtps_and_auth_mechanisms(smtp):
    start(smtp)
    for mech in ("PLAIN", "LOGIN"):
        s = smtplib.SMTP_SSL("127.0.0.1", smtp.ports["smtps"],
                             context=smtp.ssl_context(), timeout=20)
        s.ehlo("client.test")
        s.esmtp_features["auth"] = mech
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(smtp.login, "wrong-password")
        assert e.value.smtp_code == 535
        assert s.login(smtp.login, smtp.password)[0] == 235
        s.quit()
    # a mechanism that is not offered is refused (RFC 4954 section 4)
    s = smtplib.SMTP_SSL("127.0.0.1", smtp.ports["smtps"],
                         context=smtp.ssl_context(), timeout=20)
    s.ehlo("client.test")
    code, _ = s.docmd("AUTH", "CRAM-MD5")
    assert code == 504, code
    s.quit()


def test_relay_refused_and_tricks(smtp):
    start(smtp)
    s = client(smtp)
    s.mail("sender@remote.test")
    tricks = ["user@other.example",
              "user%other.example@" + smtp.domain,
              "other.example!user@" + smtp.domain,
              '"user@other.example"@' + smtp.domain,
              "@%s:user@other.example" % smtp.domain,
              "user@other.example.",
              "user@[192.0.2.1]"]
    for t in tricks:
        code, msg = s.rcpt(t)
        assert code in (550, 501), (t, code, msg)
    code, msg = s.rcpt("nosuchuser@" + smtp.domain)
    assert code == 550 and msg.startswith(b"5.1.1")
    assert s.rcpt(smtp.login)[0] == 250
    s.quit()
    assert queued_controls(smtp) == []


def test_relay_with_auth_and_smtpaccess(smtp):
    start(smtp)
    s = client(smtp)
    s.starttls(context=smtp.ssl_context())
    s.ehlo("client.test")
    s.login(smtp.login, smtp.password)
    s.mail(smtp.login)
    assert s.rcpt("someone@other.example")[0] == 250
    s.rset()
    s.quit()
    smtp.stop("esmtpd")
    with open(os.path.join(smtp.etc, "smtpaccess"), "w") as f:
        f.write("127.0.0.1\tallow,RELAYCLIENT\n")
    start(smtp)
    s = client(smtp)
    s.mail("a@remote.test")
    assert s.rcpt("someone@other.example")[0] == 250
    s.quit()
    smtp.stop("esmtpd")
    with open(os.path.join(smtp.etc, "smtpaccess"), "w") as f:
        f.write("127.0.0\tdeny\n")
    start(smtp)
    with pytest.raises(smtplib.SMTPConnectError):
        smtplib.SMTP("127.0.0.1", smtp.ports["smtp"], timeout=20)


def test_delivery_to_maildir_and_dsn(smtp):
    start(smtp, courierd=True)
    s = client(smtp)
    s.mail("sender@remote.test", ["RET=HDRS", "ENVID=id+2B42"])
    assert s.rcpt(smtp.login, ["NOTIFY=SUCCESS,FAILURE",
                               "ORCPT=rfc822;" + smtp.login])[0] == 250
    code, msg = s.data(b"Subject: over smtp\r\n\r\n..dot\r\nbody\r\n")
    assert code == 250 and b"queued as" in msg
    s.quit()
    files = wait_for(lambda: glob.glob(os.path.join(smtp.maildir, "new",
                                                    "*")), what="delivery")
    data = open(files[0], "rb").read()
    assert b"Subject: over smtp" in data
    # smtplib dot-stuffs "..dot" to "...dot"; esmtpd unstuffs it back
    assert b"\n..dot\nbody\n" in data
    assert b"Received: from client.test ([127.0.0.1])" in data


def read_reply(f):
    """One SMTP reply (all its lines) from a socket file."""
    lines = []
    while True:
        line = f.readline()
        assert line, lines
        lines.append(line)
        if line[3:4] != b"-":
            return lines


@pytest.mark.parametrize("end", [b"\n.\n", b"\r\n.\n", b"\n.\r\n"])
def test_no_smtp_smuggling(smtp, end):
    """RFC 5321 4.1.1.4 and 2.3.8: only CRLF "." CRLF ends DATA.  A "."
    line with a bare LF on either side ends neither the data nor starts
    commands: the message is refused (521) and the connection closed, so
    the MAIL FROM smuggled after it never runs (SMTP smuggling,
    CVE-2023-51764 class).  CRLF "." CRLF still works afterwards."""
    start(smtp, courierd=True)
    sock = socket.create_connection(("127.0.0.1", smtp.ports["smtp"]),
                                    timeout=20)
    f = sock.makefile("rb")
    assert read_reply(f)[0].startswith(b"220")
    sock.sendall(b"EHLO client.test\r\n")
    assert read_reply(f)[-1].startswith(b"250 ")
    sock.sendall(b"MAIL FROM:<sender@remote.test>\r\n"
                 b"RCPT TO:<%s>\r\nDATA\r\n" % smtp.login.encode())
    assert read_reply(f)[0].startswith(b"250")
    assert read_reply(f)[0].startswith(b"250")
    assert read_reply(f)[0].startswith(b"354")
    sock.sendall(b"Subject: first\r\n\r\nfirst" + end +
                 b"MAIL FROM:<admin@remote.test>\r\n"
                 b"RCPT TO:<%s>\r\nDATA\r\n"
                 b"Subject: SMUGGLED\r\n\r\nevil\r\n.\r\n"
                 b"QUIT\r\n" % smtp.login.encode())
    rest = b"".join(iter(lambda: f.readline(), b""))
    sock.close()
    assert rest.startswith(b"521 5.5.2 "), rest
    assert b"354" not in rest and b"queued" not in rest, rest
    assert not queued_controls(smtp)
    # a well-formed message afterwards is taken and delivered, once
    s = client(smtp)
    refused = s.sendmail("sender@remote.test", [smtp.login],
                         b"Subject: proper\r\n\r\nfine\r\n")
    assert refused == {}
    s.quit()
    files = wait_for(lambda: glob.glob(os.path.join(smtp.maildir, "new",
                                                    "*")), what="delivery")
    time.sleep(1)
    files = glob.glob(os.path.join(smtp.maildir, "new", "*"))
    assert len(files) == 1
    data = open(files[0], "rb").read()
    assert b"Subject: proper" in data and b"SMUGGLED" not in data


def test_bare_lf_inside_the_data_is_kept_as_a_line_end(smtp):
    """A bare LF in the text (not around a ".") stays a line end, as
    before: sloppy but harmless clients keep working."""
    start(smtp, courierd=True)
    sock = socket.create_connection(("127.0.0.1", smtp.ports["smtp"]),
                                    timeout=20)
    f = sock.makefile("rb")
    read_reply(f)
    sock.sendall(b"EHLO client.test\r\nMAIL FROM:<sender@remote.test>\r\n"
                 b"RCPT TO:<%s>\r\nDATA\r\n" % smtp.login.encode())
    for code in (b"250 ", b"250", b"250", b"354"):
        assert read_reply(f)[-1].startswith(code)
    sock.sendall(b"Subject: lf\r\n\r\none\ntwo\r\n.\r\nQUIT\r\n")
    assert read_reply(f)[0].startswith(b"250")
    sock.close()
    files = wait_for(lambda: glob.glob(os.path.join(smtp.maildir, "new",
                                                    "*")), what="delivery")
    assert b"\none\ntwo\n" in open(files[0], "rb").read()


def test_utf8_header_needs_smtputf8(smtp):
    """RFC 6532: a header with raw UTF-8 is taken in an SMTPUTF8
    transaction and delivered as it came; without SMTPUTF8, or when it is
    not valid UTF-8, it gets 550 5.6.7 and the session goes on."""
    start(smtp, courierd=True)
    subject = "Subject: Gr\u00fc\u00dfe aus K\u00f6ln\r\n".encode()
    s = client(smtp)
    s.ehlo("client.test")
    s.mail("sender@remote.test")
    s.rcpt(smtp.login)
    code, msg = s.data(subject + b"\r\nx\r\n")
    assert code == 550 and msg.startswith(b"5.6.7"), (code, msg)
    s.mail("sender@remote.test", ["SMTPUTF8"])
    s.rcpt(smtp.login)
    code, msg = s.data(b"Subject: caf\xe9\r\n\r\nlatin-1\r\n")
    assert code == 550 and b"UTF-8" in msg, (code, msg)
    s.mail("sender@remote.test", ["SMTPUTF8", "BODY=8BITMIME"])
    s.rcpt(smtp.login)
    code, msg = s.data(subject + b"\r\nx\r\n")
    assert code == 250, (code, msg)
    s.quit()
    files = wait_for(lambda: glob.glob(os.path.join(smtp.maildir, "new",
                                                    "*")), what="delivery")
    assert len(files) == 1
    assert subject.rstrip(b"\r\n") in open(files[0], "rb").read()


def test_dsn_stored_in_queue(smtp):
    start(smtp)   # no courierd: the message stays queued
    s = client(smtp)
    s.mail("sender@remote.test", ["RET=FULL", "ENVID=env1"])
    s.rcpt(smtp.login, ["NOTIFY=DELAY", "ORCPT=rfc822;x+40y.test"])
    s.data(b"Subject: q\r\n\r\nq\r\n")
    s.quit()
    ctl = open(queued_controls(smtp)[0]).read().splitlines()
    assert "eenv1" in ctl
    assert "tF" in ctl
    assert "Rrfc822;x+40y.test" in ctl
    assert any(line.startswith("N") and "D" in line for line in ctl)


def test_pipelining_bdat_and_size(smtp):
    start(smtp)
    sock = socket.create_connection(("127.0.0.1", smtp.ports["smtp"]), 20)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"220 ")
    sock.sendall(b"EHLO c\r\nMAIL FROM:<a@remote.test> SIZE=999999999\r\n"
                 b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<nobody@"
                 + smtp.domain.encode() + b">\r\nRCPT TO:<"
                 + smtp.login.encode() + b">\r\nBDAT 8\r\nSubject:"
                 b"BDAT 6 LAST\r\n x\r\n\r\nQUIT\r\n")
    codes = []
    while True:
        line = f.readline()
        if not line:
            break
        if line[3:4] == b" ":
            codes.append(int(line[:3]))
    assert codes == [250, 552, 250, 550, 250, 250, 250, 221]
    sock.close()
    assert len(queued_controls(smtp)) == 1


def test_submission_requires_auth(smtp):
    start(smtp)
    s = client(smtp, "submission")
    code, msg = s.docmd("MAIL FROM:<%s>" % smtp.login)
    assert code == 530
    s.starttls(context=smtp.ssl_context())
    s.ehlo("client.test")
    s.login(smtp.login, smtp.password)
    s.sendmail(smtp.login, ["someone@other.example"], b"Subject: x\r\n\r\nx\r\n")
    s.quit()
    ctl = open(queued_controls(smtp)[0]).read()
    assert "i" + smtp.login in ctl.splitlines()


def test_swaks(smtp):
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed")
    start(smtp)
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(smtp.ports["smtps"]), "--tlsc", "--auth",
                        "LOGIN", "--auth-user", smtp.login,
                        "--auth-password", smtp.password, "--to",
                        "x@other.example", "--from", smtp.login],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    assert "TLS started" in r.stdout or "TLS" in r.stdout
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(smtp.ports["smtp"]), "--to",
                        "x@other.example", "--from", "a@remote.test"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    assert r.returncode != 0 and "550 5.7.1" in r.stdout
