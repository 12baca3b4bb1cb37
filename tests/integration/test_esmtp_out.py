"""test_esmtp_out.py: outbound ESMTP (the courieresmtp module run by
courierd) in a throw-away instance whose DNS is a dnsmasq of the test's own
(etc/dnsservers): MX fallback past a dead host, DSN parameters, 8-bit to
quoted-printable for a server without 8BITMIME, a 4xx retried then
delivered, a 5xx bounced to the sender with an RFC 3464 report, a failed
STARTTLS with the plain fallback and its memory, connections kept for the
next message (esmtptimeoutkeepalive, esmtptimeoutkeepaliveping), SMTPUTF8
to servers with and without it, the status records written before QUIT
and before a VERP message's next transaction (exactly-once), nothing sent
for a control file courieresmtp cannot append to, and a second instance of
the suite as MX and as a smarthost with AUTH (esmtproutes,
esmtpauthclient).  The scripted servers are Python threads listening on
127.0.0.x; the instance's ESMTP_PORT points MX delivery at their port."""

import email
import email.policy
import glob
import os
import re
import shutil
import smtplib
import socket
import tempfile
import threading

import pytest

import servers
from conftest import make_instance, wait_for
from smtpsink import FakeSmtp


RECORDS = [
    # dest.test: the best MX is dead, the next one answers
    ("MX", "dest.test", "mx1.dest.test", 10),
    ("MX", "dest.test", "mx2.dest.test", 20),
    ("A", "mx1.dest.test", "127.0.0.3"),
    ("A", "mx2.dest.test", "127.0.0.4"),
    # no MX: the A record of the domain itself
    ("A", "plain.test", "127.0.0.5"),
    ("MX", "tls.test", "mx.tls.test", 10),
    ("A", "mx.tls.test", "127.0.0.6"),
    ("MX", "old.test", "mx.old.test", 10),
    ("A", "mx.old.test", "127.0.0.7"),
    ("MX", "peer.test", "mx.peer.test", 10),
    ("A", "mx.peer.test", "127.0.0.1"),
]


@pytest.fixture(scope="module")
def dns():
    d = servers.DnsServer(RECORDS)
    d.start()
    yield d
    d.stop()


def new_instance(suite_build, domain):
    root = tempfile.mkdtemp(prefix="test-esmtp-out-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    inst = make_instance(suite_build, os.path.join(root, "instance"),
                         domain=domain, extra_args=extra)
    inst.tmp_root = root
    return inst


def control(inst, name, text):
    with open(os.path.join(inst.etc, name), "w") as f:
        f.write(text + "\n")


@pytest.fixture
def out(suite_build, dns):
    inst = new_instance(suite_build, "example.test")
    inst.program("courierd")
    if not os.path.exists(os.path.join(
            suite_build.prefix or "", "libexec", "courier", "modules",
            "courieresmtp")):
        pytest.skip("courieresmtp is not installed")
    inst.smtp_port = servers.find_free_port()
    control(inst, "dnsservers", "127.0.0.1#%d" % dns.port)
    with open(os.path.join(inst.etc, "courierd"), "a") as f:
        f.write("ESMTP_PORT=%d\n" % inst.smtp_port)
    control(inst, "retryalpha", "1s")
    control(inst, "esmtpdelay", "0")
    control(inst, "esmtptimeoutconnect", "5s")
    fakes = []
    inst.fake = lambda *a, **k: fakes.append(
        FakeSmtp(a[0], inst.smtp_port, *a[1:], **k)) or fakes[-1]
    try:
        yield inst
    finally:
        for f in fakes:
            f.close()
        inst.stop_all()
        shutil.rmtree(inst.tmp_root, ignore_errors=True)


def start(inst):
    inst.start("authdaemond")
    inst.start("courierd")


def queued(inst):
    return sorted(glob.glob(os.path.join(inst.var, "queue", "msgs", "*",
                                         "C*")))


def maildir_messages(inst):
    outl = []
    for sub in ("new", "cur"):
        for p in sorted(glob.glob(os.path.join(inst.maildir, sub, "*"))):
            with open(p, "rb") as f:
                outl.append(email.message_from_bytes(
                    f.read(), policy=email.policy.default))
    return outl


def test_mx_fallback_and_dsn_parameters(out):
    fake = out.fake("127.0.0.4")
    start(out)
    out.run("sendmail", "-f", out.login, "-N", "success,failure", "-R",
            "hdrs", "-V", "ENV-1", "someone@dest.test",
            input="Subject: far away\n\nhello there\n.leading dot\n")
    wait_for(lambda: fake.messages, what="delivery to the second MX")
    mail, rcpts, data = fake.messages[0]
    assert mail.startswith("MAIL FROM:<%s>" % out.login)
    assert "RET=HDRS" in mail and "ENVID=ENV-1" in mail
    assert re.search(r" SIZE=\d+", mail)
    assert rcpts == ["RCPT TO:<someone@dest.test> NOTIFY=SUCCESS,FAILURE"
                     " ORCPT=rfc822;someone@dest.test"] or \
        rcpts[0].startswith("RCPT TO:<someone@dest.test> "
                            "NOTIFY=SUCCESS,FAILURE")
    assert b"\r\nhello there\r\n..leading dot\r\n" in data
    assert b"Subject: far away\r\n" in data
    # pipelined: MAIL, RCPT and DATA in one go, after EHLO
    assert fake.sessions[0][0].startswith("EHLO ")
    wait_for(lambda: not queued(out), what="an empty queue")
    log = open(os.path.join(out.var, "log", "courierd.log")).read()
    assert "127.0.0.3" in log and "delivered" in log


def test_no_8bitmime_and_temporary_failure_retried(out):
    fake = out.fake("127.0.0.5", ehlo=("SIZE",),
                    rcpt=lambda a, n: "451 4.3.0 try later" if n == 0
                    else None)
    start(out)
    body = ("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\nSubject: accents\n\n"
            "caf\u00e9 na\u00efve\n")
    out.run("sendmail", "-f", out.login, "user@plain.test", input=body)
    wait_for(lambda: fake.messages, what="the retried delivery")
    assert fake.counts["user@plain.test"] == 2
    # the retry went over the kept connection (esmtptimeoutkeepalive)
    assert len(fake.sessions) == 1
    assert fake.sessions[0].count("RSET") >= 1
    mail, rcpts, data = fake.messages[0]
    assert "BODY=8BITMIME" not in mail
    assert all(b < 0x80 for b in data)
    assert b"Content-Transfer-Encoding: quoted-printable" in data
    assert b"caf=C3=A9 na=C3=AFve" in data
    assert b"8bit" not in data
    wait_for(lambda: not queued(out), what="an empty queue")


def test_permanent_failure_bounces(out):
    fake = out.fake("127.0.0.5", rcpt=lambda a, n:
                    "550 5.1.1 <%s>: no such user here" % a
                    if a.startswith("nobody") else None)
    start(out)
    out.run("sendmail", "-f", out.login, "nobody@plain.test",
            "ok@plain.test", input="Subject: half\n\nx\n")
    wait_for(lambda: fake.messages, what="the good recipient")
    assert fake.messages[0][1] == ["RCPT TO:<ok@plain.test>"]
    msgs = wait_for(lambda: maildir_messages(out), what="the DSN")
    dsn = msgs[0]
    assert dsn.get_content_type() == "multipart/report"
    status = list(dsn.iter_parts())[1].get_payload()
    fields = {}
    for block in status:
        for k, v in block.items():
            fields.setdefault(k.lower(), []).append(v)
    assert fields["final-recipient"] == ["rfc822; nobody@plain.test"]
    assert fields["action"] == ["failed"]
    assert fields["status"] == ["5.1.1"]
    assert "no such user here" in fields["diagnostic-code"][0]
    wait_for(lambda: not queued(out), what="an empty queue")


def test_unknown_domain_bounces(out):
    start(out)
    out.run("sendmail", "-f", out.login, "x@nowhere.test",
            input="Subject: void\n\nx\n")
    msgs = wait_for(lambda: maildir_messages(out), what="the DSN")
    status = list(msgs[0].iter_parts())[1].get_payload()
    assert status[1]["Action"] == "failed"
    assert status[1]["Status"] == "5.1.2"


def test_starttls_failure_falls_back_and_is_remembered(out):
    fake = out.fake("127.0.0.6", starttls="break")
    start(out)
    out.run("sendmail", "-f", out.login, "a@tls.test",
            input="Subject: one\n\nx\n")
    wait_for(lambda: fake.messages, what="the plain delivery")
    # first connection: STARTTLS, broken; second: plain
    assert "STARTTLS" in fake.sessions[0]
    assert "STARTTLS" not in fake.sessions[1]
    notls = glob.glob(os.path.join(out.var, "esmtp", "notls.*"))
    assert notls and "127.0.0.6" in open(notls[0]).read()
    out.run("sendmail", "-f", out.login, "b@tls.test",
            input="Subject: two\n\nx\n")
    wait_for(lambda: len(fake.messages) == 2, what="the second message")
    # remembered: no STARTTLS this time
    assert all("STARTTLS" not in s for s in fake.sessions[2:])


def test_starttls_required_route_defers(out):
    fake = out.fake("127.0.0.7", starttls="refuse")
    control(out, "esmtproutes", "old.test: /SECURITY=REQUIRED")
    start(out)
    out.run("sendmail", "-f", out.login, "a@old.test",
            input="Subject: secret\n\nx\n")
    ctl = wait_for(lambda: queued(out), what="queued")[0]
    wait_for(lambda: "I0 R 421 4.4.1" in open(ctl).read(),
             what="a deferral")
    assert not fake.messages
    assert "STARTTLS refused: 454" in open(ctl).read()
    assert all(not l.startswith("MAIL") for s in fake.sessions for l in s)


@pytest.fixture
def peer(suite_build):
    inst = new_instance(suite_build, "peer.test")
    inst.program("esmtpd")
    try:
        inst.start("authdaemond")
        inst.start("esmtpd")
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(inst.tmp_root, ignore_errors=True)


def test_mx_to_our_own_esmtpd_with_starttls(suite_build, dns, peer):
    inst = new_instance(suite_build, "example.test")
    try:
        control(inst, "dnsservers", "127.0.0.1#%d" % dns.port)
        with open(os.path.join(inst.etc, "courierd"), "a") as f:
            f.write("ESMTP_PORT=%d\n" % peer.ports["smtp"])
        peer.start("courierd")
        start(inst)
        inst.run("sendmail", "-f", inst.login, peer.login,
                 input="Subject: between instances\n\nhi peer\n")
        msgs = wait_for(lambda: maildir_messages(peer), what="delivery")
        m = msgs[0]
        assert m["Subject"] == "between instances"
        # the hop was encrypted (STARTTLS against the peer's certificate)
        assert "ESMTPS" in str(m["Received"])
        wait_for(lambda: not queued(inst), what="an empty queue")
    finally:
        inst.stop_all()
        shutil.rmtree(inst.tmp_root, ignore_errors=True)


def test_smarthost_with_auth(suite_build, dns, peer):
    inst = new_instance(suite_build, "example.test")
    try:
        control(inst, "dnsservers", "127.0.0.1#%d" % dns.port)
        control(inst, "esmtproutes", ": [127.0.0.1],%d"
                % peer.ports["submission"])
        control(inst, "esmtpauthclient", "[127.0.0.1] %s %s"
                % (peer.login, peer.password))
        start(inst)
        inst.run("sendmail", "-f", inst.login, "friend@elsewhere.test",
                 input="Subject: via the smarthost\n\nrelay me\n")
        # the smarthost accepted it for relaying (AUTH on 587) and queued
        # it for elsewhere.test
        def relayed():
            for c in queued(peer):
                text = open(c).read()
                if "rfriend@elsewhere.test" in text:
                    return text
            return None
        try:
            text = wait_for(relayed, what="the message in the smarthost")
        except BaseException:
            print(open(os.path.join(inst.var, "log", "courierd.log")).read())
            print(open(os.path.join(peer.var, "log", "esmtpd.log")).read())
            raise
        assert "i" + peer.login in text.splitlines() or \
            peer.login in text
        wait_for(lambda: not queued(inst), what="an empty queue")
    finally:
        inst.stop_all()
        shutil.rmtree(inst.tmp_root, ignore_errors=True)


def test_connection_kept_for_the_next_message(out):
    fake = out.fake("127.0.0.5")
    control(out, "esmtptimeoutkeepalive", "4s")
    control(out, "esmtptimeoutkeepaliveping", "1s")
    start(out)
    for i in range(3):
        out.run("sendmail", "-f", out.login, "u%d@plain.test" % i,
                input="Subject: %d\n\nx\n" % i)
        wait_for(lambda: len(fake.messages) == i + 1,
                 what="message %d" % i)
    # one connection for the three, RSET before each further message
    assert len(fake.sessions) == 1
    lines = fake.sessions[0]
    assert [l for l in lines if l.startswith("EHLO")] == [lines[0]]
    assert len([l for l in lines if l.startswith("MAIL")]) == 3
    n = lines.count("RSET")
    assert n >= 2
    # idle: an RSET every second (the ping), then QUIT after 4 s
    wait_for(lambda: fake.sessions[0].count("RSET") >= n + 2,
             what="the keepalive pings", timeout=10)
    wait_for(lambda: fake.closed == 1, what="the end of the idle time",
             timeout=15)
    assert fake.sessions[0][-1] == "QUIT"
    wait_for(lambda: not queued(out), what="an empty queue")
    # a message after that: a new connection
    out.run("sendmail", "-f", out.login, "u9@plain.test",
            input="Subject: later\n\nx\n")
    wait_for(lambda: len(fake.messages) == 4, what="the fourth message")
    assert len(fake.sessions) == 2


def test_many_messages_four_connections_at_most(out):
    fake = out.fake("127.0.0.5")
    control(out, "esmtptimeoutkeepalive", "30s")
    start(out)
    for i in range(10):
        out.run("sendmail", "-f", out.login, "m%d@plain.test" % i,
                input="Subject: %d\n\nx\n" % i)
    wait_for(lambda: len(fake.messages) == 10, what="ten messages")
    # at most four sessions to the domain at once, kept ones included;
    # later messages went over the kept connections
    assert 1 <= len(fake.sessions) <= 4
    assert sorted(r for m in fake.transactions for r in m[1]) == sorted(
        "m%d@plain.test" % i for i in range(10))
    wait_for(lambda: not queued(out), what="an empty queue")


def test_kept_connection_closed_by_the_server(out):
    # the server drops idle clients after 1 s: the next message finds
    # the connection gone and makes a new one
    fake = out.fake("127.0.0.5", idle=1)
    control(out, "esmtptimeoutkeepalive", "30s")
    start(out)
    out.run("sendmail", "-f", out.login, "a@plain.test",
            input="Subject: one\n\nx\n")
    wait_for(lambda: fake.messages, what="the first message")
    wait_for(lambda: fake.closed == 1, what="the server's idle close")
    out.run("sendmail", "-f", out.login, "b@plain.test",
            input="Subject: two\n\nx\n")
    wait_for(lambda: len(fake.messages) == 2, what="the second message")
    assert len(fake.sessions) == 2
    wait_for(lambda: not queued(out), what="an empty queue")


def test_keepalive_off(out):
    fake = out.fake("127.0.0.5")
    control(out, "esmtptimeoutkeepalive", "0")
    start(out)
    for i in range(2):
        out.run("sendmail", "-f", out.login, "k%d@plain.test" % i,
                input="Subject: %d\n\nx\n" % i)
        wait_for(lambda: len(fake.messages) == i + 1,
                 what="message %d" % i)
        wait_for(lambda: fake.closed == i + 1, what="QUIT")
    assert len(fake.sessions) == 2
    assert all(s[-1] == "QUIT" and "RSET" not in s for s in fake.sessions)


UTF8_RCPT = "\u00e9l\u00e8ve@plain.test"


def test_smtputf8_offered(out):
    fake = out.fake("127.0.0.5", ehlo=("PIPELINING", "8BITMIME",
                                       "SMTPUTF8"))
    start(out)
    out.run("sendmail", "-f", out.login, UTF8_RCPT, "ok@plain.test",
            input="Subject: utf8\n\nx\n")
    wait_for(lambda: fake.messages, what="the delivery")
    mail, rcpts, data = fake.messages[0]
    assert mail.endswith(" SMTPUTF8") or " SMTPUTF8 " in mail
    assert sorted(fake.transactions[0][1]) == sorted(
        [UTF8_RCPT.encode().decode("latin-1"), "ok@plain.test"])
    wait_for(lambda: not queued(out), what="an empty queue")


def test_smtputf8_not_offered(out):
    fake = out.fake("127.0.0.5")
    start(out)
    # the UTF-8 recipient fails (5.6.7, a DSN), the other one is sent
    out.run("sendmail", "-f", out.login, UTF8_RCPT, "ok@plain.test",
            input="Subject: two\n\nx\n")
    wait_for(lambda: fake.messages, what="the ASCII recipient")
    mail, rcpts, data = fake.messages[0]
    assert "SMTPUTF8" not in mail
    assert fake.transactions[0][1] == ["ok@plain.test"]
    msgs = wait_for(lambda: maildir_messages(out), what="the DSN")
    status = list(msgs[0].iter_parts())[1].get_payload()
    assert status[1]["Action"] == "failed"
    assert status[1]["Status"] == "5.6.7"
    assert "SMTPUTF8" in status[1]["Diagnostic-Code"]
    wait_for(lambda: not queued(out), what="an empty queue")
    # an all-ASCII envelope goes as usual, without the parameter
    out.run("sendmail", "-f", out.login, "plain@plain.test",
            input="Subject: ascii\n\nx\n")
    wait_for(lambda: len(fake.messages) == 2, what="the ASCII message")
    assert "SMTPUTF8" not in fake.messages[1][0]


def test_smtputf8_through_esmtpd(out):
    # smtplib submits with SMTPUTF8 (AUTH on the submission port), the
    # queue takes it, courieresmtp passes SMTPUTF8 on
    fake = out.fake("127.0.0.5", ehlo=("PIPELINING", "8BITMIME",
                                       "SMTPUTF8"))
    out.program("esmtpd")
    start(out)
    out.start("esmtpd")
    s = smtplib.SMTP("127.0.0.1", out.ports["submission"], timeout=30)
    s.ehlo("client.test")
    s.starttls(context=out.ssl_context())
    s.ehlo("client.test")
    s.login(out.login, out.password)
    s.sendmail(out.login, [UTF8_RCPT],
               ("Subject: utf8\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n"
                "\r\ncaf\u00e9\r\n").encode(),
               mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    s.quit()
    wait_for(lambda: fake.messages, what="the delivery")
    mail, rcpts, data = fake.messages[0]
    assert " SMTPUTF8" in mail
    assert fake.transactions[0][1] == [
        UTF8_RCPT.encode().decode("latin-1")]
    assert "caf\u00e9".encode() in data


def test_vhost_by_local_address(out):
    # vhost.127.0.0.1: mail received on 127.0.0.1 leaves with
    # esmtphelo.127.0.0.1 (seed: "Servers with multiple IP addresses")
    control(out, "vhost.127.0.0.1", "")
    control(out, "esmtphelo.127.0.0.1", "helo.vhost.test")
    out.program("esmtpd")
    start(out)
    out.start("esmtpd")
    s = smtplib.SMTP("127.0.0.1", out.ports["submission"], timeout=30)
    s.ehlo("client.test")
    s.starttls(context=out.ssl_context())
    s.ehlo("client.test")
    s.login(out.login, out.password)
    s.sendmail(out.login, ["v@plain.test"], b"Subject: vhost\r\n\r\nx\r\n")
    s.quit()
    # nobody listens yet: the message waits in the queue, deferred
    ctl = wait_for(lambda: queued(out), what="queued")[0]
    wait_for(lambda: "I0 R 421 4.4.1" in open(ctl).read(),
             what="a deferral")
    if "l127.0.0.1" not in open(ctl).read().splitlines():
        pytest.skip("esmtpd does not record the local address (the l "
                    "record) yet")
    fake = out.fake("127.0.0.5")
    wait_for(lambda: fake.messages, what="the retried delivery")
    assert fake.sessions[0][0] == "EHLO helo.vhost.test"


class WatchingSmtp:
    """A scripted SMTP server (no extensions but PIPELINING) that, before
    it answers a command following an accepted message (RSET, MAIL or
    QUIT), notes the S records then in the instance's control files: they
    must already be there (courieresmtp records a delivery as soon as the
    final dot is answered).  seen: (verb, S records) of each such
    command."""

    def __init__(self, inst, address):
        self.inst = inst
        self.seen = []
        self.messages = 0
        self.closed = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, inst.smtp_port))
        self.sock.listen(4)
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.sock.close()

    def records(self):
        recs = []
        for p in queued(self.inst):
            try:
                with open(p) as f:
                    recs += [l for l in f.read().splitlines()
                             if re.match(r"S\d+ \d+", l)]
            except FileNotFoundError:
                pass
        return recs

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        f = c.makefile("rb")
        after_data = False
        try:
            c.sendall(b"220 watch.test ESMTP\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line.decode("latin-1").split(" ")[0].strip().upper()
                if after_data and verb in ("RSET", "MAIL", "QUIT"):
                    self.seen.append((verb, self.records()))
                    after_data = False
                if verb == "EHLO":
                    c.sendall(b"250-watch.test\r\n250 PIPELINING\r\n")
                elif verb == "DATA":
                    c.sendall(b"354 go ahead\r\n")
                    while True:
                        l = f.readline()
                        if not l or l == b".\r\n":
                            break
                    self.messages += 1
                    after_data = True
                    c.sendall(b"250 2.0.0 accepted\r\n")
                elif verb == "QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            c.close()
            self.closed += 1


def test_status_recorded_before_quit(out):
    # esmtptimeoutkeepalive 0: QUIT right after the message, but only
    # once the S record is in the control file
    control(out, "esmtptimeoutkeepalive", "0")
    w = WatchingSmtp(out, "127.0.0.5")
    try:
        start(out)
        out.run("sendmail", "-f", out.login, "q@plain.test",
                input="Subject: once\n\nx\n")
        wait_for(lambda: w.closed == 1, what="the QUIT")
        assert [v for v, _ in w.seen] == ["QUIT"]
        assert len(w.seen[0][1]) == 1, w.seen
        wait_for(lambda: not queued(out), what="an empty queue")
    finally:
        w.close()


def test_verp_each_recipient_recorded_before_the_next(out):
    # VERP: a transaction per recipient; the first one's S record is
    # written before the RSET of the second transaction
    control(out, "esmtptimeoutkeepalive", "0")
    w = WatchingSmtp(out, "127.0.0.5")
    try:
        start(out)
        out.run("sendmail", "-verp", "-f", out.login, "v1@plain.test",
                "v2@plain.test", "v3@plain.test",
                input="Subject: verp once\n\nx\n")
        wait_for(lambda: w.closed == 1, what="the QUIT")
        assert w.messages == 3
        assert [v for v, _ in w.seen] == ["RSET", "RSET", "QUIT"]
        assert [len(r) for _, r in w.seen] == [1, 2, 3], w.seen
        wait_for(lambda: not queued(out), what="an empty queue")
    finally:
        w.close()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root (a root-owned "
                    "control file, the instance dropping to nobody)")
def test_control_file_not_appendable_sends_nothing(out):
    # a control file queued 0640 root-owned (older versions): the queue
    # user can read it but not append to it, so a delivery
    # would never be recorded: courieresmtp sends nothing, says why,
    # and courierd retries; once fixed, it goes out once
    fake = out.fake("127.0.0.5")
    out.start("authdaemond")
    out.run("sendmail", "-f", out.login, "old@plain.test",
            input="Subject: old file\n\nx\n")
    ctl = wait_for(lambda: queued(out), what="queued")[0]
    st = os.stat(ctl)
    # root's, the queue's group may only read it
    os.chown(ctl, 0, st.st_gid)
    os.chmod(ctl, 0o640)
    out.start("courierd")
    log = os.path.join(out.var, "log", "courierd.log")
    wait_for(lambda: os.path.exists(log) and
             "cannot append to %s" % ctl in open(log).read(),
             what="the log line")
    text = open(log).read()
    assert "chmod g+w" in text and "chown" in text
    assert not fake.sessions
    with open(ctl) as f:
        assert not re.search(r"^[SFD]0 ", f.read(), re.M)
    os.chown(ctl, st.st_uid, st.st_gid)
    os.chmod(ctl, 0o660)
    wait_for(lambda: fake.messages, what="the delivery once fixed")
    wait_for(lambda: not queued(out), what="an empty queue")
    assert len(fake.messages) == 1
