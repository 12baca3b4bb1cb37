"""test_esmtp_exdata.py: Courier's Extended DATA Reply (XEXDATA,
draft-varshavchik-exdata-smtpext) with a raw socket client, since smtplib
cannot read a 558 reply: esmtpd offers XEXDATA, takes "MAIL FROM:<...>
EXDATA", and when a filter accepts the message for one recipient and
refuses it for another, the reply to DATA (and to BDAT LAST) is a 558
holding one reply per accepted RCPT (sections 5 and 6), checked against
the draft's grammar; the message is queued for the accepted recipients
only.  Without EXDATA the same message gets 250 and the refused
recipient is queued as failed (its sender gets a DSN: accept, then
bounce).  courieresmtp, delivering to this esmtpd, uses EXDATA and
records each recipient's own result (a DSN for the refused one only)."""

import glob
import os
import re
import socket
import threading

import pytest

from conftest import wait_for
from mtahelp import add_account, new_instance, remove


@pytest.fixture
def ex(suite_build):
    inst = new_instance(suite_build, "test-esmtp-exdata-")
    inst.program("esmtpd")
    add_account(suite_build, inst, "bob")
    inst.bob = "bob@" + inst.domain
    fdir = os.path.join(inst.var, "filters")
    os.makedirs(fdir, exist_ok=True)
    inst.filter = Filter(os.path.join(fdir, "rcptfilter"))
    if os.getuid() == 0:
        st = os.stat(os.path.join(inst.var, "queue"))
        os.chown(inst.filter.path, st.st_uid, st.st_gid)
    inst.filter.start()
    with open(os.path.join(inst.etc, "enablefiltering"), "w") as f:
        f.write("esmtp\n")
    try:
        inst.start("authdaemond")
        inst.start("esmtpd")
        yield inst
    finally:
        inst.filter.close()
        remove(inst)


BOB_NO = ["550-5.7.1 Refused by bob's filter", "550 5.7.1 (exdata test)"]
DEMO_LATER = ["451 4.7.1 demo's filter says later"]


class Filter(threading.Thread):
    """A global filter that answers per recipient (558, one reply per
    "r" line of the envelope): bob refuses messages with FILTERME in
    them; with ALLBAD demo refuses too, temporarily; with SAMEBAD both
    refuse the same way."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(5)

    def verdict(self, msg, rcpt):
        if b"SAMEBAD" in msg:
            return BOB_NO
        if rcpt.startswith("bob@") and (b"FILTERME" in msg or
                                        b"ALLBAD" in msg):
            return BOB_NO
        if b"ALLBAD" in msg:
            return DEMO_LATER
        return ["250 Ok"]

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c, c.makefile("rb") as f:
                msg_path = f.readline().decode().rstrip("\n")
                env_path = f.readline().decode().rstrip("\n")
                f.readline()
                with open(msg_path, "rb") as m:
                    msg = m.read()
                with open(env_path) as m:
                    rcpts = [x[1:] for x in m.read().splitlines()
                             if x.startswith("r")]
                lines = []
                for r in rcpts:
                    lines += self.verdict(msg, r)
                out = ["558-" + x for x in lines[:-1]] + \
                    ["558 " + lines[-1]]
                c.sendall("".join(x + "\n" for x in out).encode())

    def close(self):
        self.sock.close()


class Raw:
    """A line-level SMTP client over a plain socket."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.f = self.sock.makefile("rb")
        assert self.reply()[0].startswith("220")

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else
                          data.encode() + b"\r\n")

    def reply(self):
        """The lines of one reply (RFC 5321 4.2), CRLF checked."""
        lines = []
        while True:
            line = self.f.readline()
            assert line.endswith(b"\r\n"), line
            line = line[:-2].decode()
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return lines

    def cmd(self, text):
        self.send(text)
        return self.reply()

    def close(self):
        self.send("QUIT")
        self.sock.close()


# draft-varshavchik-exdata-smtpext section 5:
#   non-term-line: "558-" result-code "-" result-text
#   non-final-recipient-term-line: "558-" result-code SP result-text
#   final-recipient-term-line: "558" SP result-code SP result-text
LINE = re.compile(r"^558([- ])(\d\d\d)([- ])([^\r\n]*)$")


def parse_558(lines):
    """Splits a 558 reply into its per-recipient replies (section 7.1),
    asserting every line fits the grammar of section 5."""
    subs, cur = [], []
    for i, line in enumerate(lines):
        m = LINE.match(line)
        assert m, "not in the grammar of section 5: %r" % line
        outer, code, sep, _ = m.groups()
        last = i == len(lines) - 1
        assert (outer == " ") == last, line
        if cur:
            assert cur[0][:3] == code, "a sub-reply keeps its code"
        cur.append(line[4:])
        if sep == " ":
            subs.append(cur)
            cur = []
        else:
            assert not last, "the final line ends a recipient's reply"
    assert not cur
    return subs


def queued(inst):
    out = []
    for p in glob.glob(os.path.join(inst.var, "queue", "msgs", "*", "C*")):
        with open(p) as f:
            out.append(f.read().splitlines())
    return out


def transaction(inst, rcpts, subject, exdata=True, bdat=False):
    """One transaction of a message with this subject to rcpts, with or
    without EXDATA, ended by DATA or BDAT: the replies (lists of lines) to
    each RCPT, and the final reply's lines."""
    c = Raw(inst.ports["smtp"])
    ehlo = c.cmd("EHLO client.test")
    assert "250-XEXDATA" in ehlo
    assert c.cmd("MAIL FROM:<a@remote.test>%s" %
                 (" EXDATA" if exdata else ""))[0].startswith("250")
    rcpt_replies = [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
    body = ("Subject: %s\r\n\r\nbody\r\n" % subject).encode()
    if bdat:
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    else:
        assert c.cmd("DATA")[0].startswith("354")
        c.send(body + b".\r\n")
    final = c.reply()
    c.close()
    return rcpt_replies, final


def test_offered_and_parameter_checked(ex):
    c = Raw(ex.ports["smtp"])
    assert "250-XEXDATA" in c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<a@remote.test> EXDATA=1")[0][:3] == "501"
    assert c.cmd("MAIL FROM:<a@remote.test> EXDATA EXDATA")[0][:3] == "501"
    assert c.cmd("MAIL FROM:<a@remote.test> exdata")[0][:3] == "250"
    c.cmd("RSET")
    c.close()
    c = Raw(ex.ports["smtp"])
    c.cmd("HELO client.test")
    # a parameter needs EHLO
    assert c.cmd("MAIL FROM:<a@remote.test> EXDATA")[0][:3] == "555"
    c.close()


def test_mixed_result_is_558_per_recipient(ex):
    # the second RCPT is refused at RCPT time: no sub-reply for it (6)
    rr, final = transaction(ex, [ex.login, "nosuchuser@" + ex.domain,
                                 ex.bob], "FILTERME")
    assert [r[0][:3] for r in rr] == ["250", "550", "250"]
    subs = parse_558(final)
    assert len(subs) == 2
    assert re.match(r"^250 2\.0\.0 Ok: queued as \S+$", subs[0][0])
    assert len(subs[0]) == 1
    assert subs[1] == BOB_NO
    qid = subs[0][0].split()[-1]
    ctl = queued(ex)
    assert len(ctl) == 1
    rcpts = [x for x in ctl[0] if x.startswith("r")]
    assert rcpts == ["r" + ex.login]
    # the other order: the refused one first (section 7's 2nd example)
    _, final = transaction(ex, [ex.bob, ex.login], "FILTERME")
    assert final[0] == "558-550-5.7.1 Refused by bob's filter"
    assert final[1] == "558-550 5.7.1 (exdata test)"
    assert re.match(r"^558 250 2\.0\.0 Ok: queued as \S+$", final[2])
    assert final[2].split()[-1] != qid
    assert len(queued(ex)) == 2


def test_bdat_gets_558_too(ex):
    _, final = transaction(ex, [ex.bob, ex.login], "FILTERME", bdat=True)
    subs = parse_558(final)
    assert subs[0] == BOB_NO and subs[1][0].startswith("250 ")


def test_all_accepted_or_same_refusal_is_a_plain_reply(ex):
    # section 6: every recipient 2xx: a regular 2xx reply
    _, final = transaction(ex, [ex.login, ex.bob], "hello")
    assert len(final) == 1 and final[0].startswith("250 2.0.0 Ok: queued")
    _, final = transaction(ex, [ex.login, ex.bob], "SAMEBAD")
    assert final == BOB_NO
    assert len(queued(ex)) == 1


def test_all_refused_differently(ex):
    _, final = transaction(ex, [ex.login, ex.bob], "ALLBAD")
    assert parse_558(final) == [DEMO_LATER, BOB_NO]
    # without EXDATA: one reply, the temporary one (a retry may pass)
    _, final = transaction(ex, [ex.login, ex.bob], "ALLBAD", exdata=False)
    assert final == DEMO_LATER
    assert queued(ex) == []


def test_without_exdata_accept_then_bounce(ex):
    _, final = transaction(ex, [ex.bob, ex.login], "FILTERME", exdata=False)
    assert len(final) == 1 and final[0].startswith("250 2.0.0 Ok: queued")
    ctl = queued(ex)
    assert len(ctl) == 1
    rcpts = [x for x in ctl[0] if x.startswith("r")]
    assert set(rcpts) == {"r" + ex.bob, "r" + ex.login}
    n = rcpts.index("r" + ex.bob)
    assert any(x.startswith("F%d " % n) for x in ctl[0])
    diag = [x for x in ctl[0] if x.startswith("I%d R " % n)]
    assert diag and "Refused by bob's filter" in diag[0]
    # the accepted one is left for delivery
    m = 1 - n
    assert not any(x.startswith(("F%d " % m, "S%d " % m)) for x in ctl[0])


def test_courieresmtp_records_each_recipients_result(ex, suite_build):
    if not os.path.exists(os.path.join(
            suite_build.prefix or "", "libexec", "courier", "modules",
            "courieresmtp")):
        pytest.skip("courieresmtp is not installed")
    snd = new_instance(suite_build, "test-esmtp-exdata-out-",
                       domain="sender.test")
    try:
        snd.program("courierd")
        for name, value in (
                ("esmtproutes", "%s: [127.0.0.1],%d" %
                 (ex.domain, ex.ports["smtp"])),
                ("retryalpha", "1s"), ("esmtpdelay", "0")):
            with open(os.path.join(snd.etc, name), "w") as f:
                f.write(value + "\n")
        snd.start("authdaemond")
        snd.start("courierd")
        snd.run("sendmail", "-f", snd.login, ex.login, ex.bob,
                input="Subject: FILTERME\n\nto both\n")
        # the receiving side queued it for demo only (a 558 was sent)
        ctl = wait_for(lambda: queued(ex), what="the message at the peer")
        assert [x for x in ctl[0] if x.startswith("r")] == ["r" + ex.login]
        # logged just after the commit that made the queue file
        def logged():
            with open(os.path.join(ex.var, "log", "esmtpd.log")) as f:
                return "refused for some recipients (558)" in f.read()
        wait_for(logged, what="esmtpd's log of the 558")
        # the sender got a DSN for bob alone, with bob's filter's reply
        def bounce():
            for sub in ("new", "cur"):
                for p in glob.glob(os.path.join(snd.maildir, sub, "*")):
                    with open(p, "rb") as f:
                        return f.read().decode("utf-8", "replace")
            return None
        text = wait_for(bounce, what="the DSN")
        assert "Final-Recipient: rfc822; " + ex.bob in text
        assert "Refused by bob's filter" in text
        assert "Status: 5.7.1" in text
        assert "Final-Recipient: rfc822; " + ex.login not in text
    finally:
        remove(snd)


class Lost558Server(threading.Thread):
    """An SMTP server that offers XEXDATA, accepts every RCPT, and answers
    the data with the start of a 558 (the first recipient accepted, the
    second refused), then closes the connection before the rest: the
    section 7.2 case.  Records the MAIL lines it got."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.mails = []

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c, c.makefile("rb") as f:
                c.sendall(b"220 lost ESMTP\r\n")
                while True:
                    line = f.readline()
                    if not line:
                        break
                    cmd = line.strip().upper()
                    if cmd.startswith(b"EHLO"):
                        c.sendall(b"250-lost\r\n250-XEXDATA\r\n"
                                  b"250 PIPELINING\r\n")
                    elif cmd.startswith(b"MAIL"):
                        self.mails.append(line.strip().decode())
                        c.sendall(b"250 ok\r\n")
                    elif cmd.startswith(b"RCPT"):
                        c.sendall(b"250 ok\r\n")
                    elif cmd == b"DATA":
                        c.sendall(b"354 go\r\n")
                        while f.readline() not in (b".\r\n", b""):
                            pass
                        c.sendall(b"558-250 2.0.0 first ok\r\n"
                                  b"558-550-5.7.1 second refused\r\n"
                                  b"558-550 5.7.1 by its filter\r\n"
                                  b"558-250-third")
                        break
                    elif cmd == b"QUIT":
                        c.sendall(b"221 bye\r\n")
                        break
                    else:
                        c.sendall(b"250 ok\r\n")

    def close(self):
        self.sock.close()


def test_courieresmtp_558_lost_half_way(suite_build):
    if not os.path.exists(os.path.join(
            suite_build.prefix or "", "libexec", "courier", "modules",
            "courieresmtp")):
        pytest.skip("courieresmtp is not installed")
    srv = Lost558Server()
    srv.start()
    snd = new_instance(suite_build, "test-esmtp-exdata-lost-",
                       domain="sender.test")
    try:
        snd.program("courierd")
        for name, value in (
                ("esmtproutes", "far.test: [127.0.0.1],%d" % srv.port),
                ("retryalpha", "1h"), ("esmtpdelay", "0")):
            with open(os.path.join(snd.etc, name), "w") as f:
                f.write(value + "\n")
        snd.start("authdaemond")
        snd.start("courierd")
        snd.run("sendmail", "-f", snd.login, "a@far.test", "b@far.test",
                "c@far.test", input="Subject: three\n\nx\n")

        def recorded():
            for ctl in queued(snd):
                if any(x.startswith("D2 ") for x in ctl):
                    return ctl
            return None
        ctl = wait_for(recorded, what="the three recipients' results")
        assert srv.mails and srv.mails[0].endswith(" EXDATA")
        # section 7.2: the replies received whole count, the third
        # (incomplete) one is a temporary failure
        assert any(x.startswith("S0 ") for x in ctl)
        assert any(x.startswith("F1 ") for x in ctl)
        assert any(x.startswith("I1 R 550-5.7.1 second refused") and
                   "by its filter" in x for x in ctl)
        assert not any(x.startswith(("S2 ", "F2 ")) for x in ctl)
        assert any(x.startswith("I2 R 451") for x in ctl)
    finally:
        srv.close()
        remove(snd)
