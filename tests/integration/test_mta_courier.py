"""test_mta_courier.py: courierd's and courier(8)'s administrative side:
the backscatter blacklist (courier show all / clear), backuprelay,
submitdelay, the respawnlo self-restart, and `courier restart` waiting for
the deliveries in flight.  SmtpSink, a small SMTP server recording what
it receives, is shared with test_mta_crash.py."""

import os
import re
import socket
import socketserver
import threading
import time

import pytest

import servers
from test_mta import (control, maildir_messages, mta, queue_empty,  # noqa
                      queued, read_control, sendmail, start, wait_for)


class SmtpSink:
    """An SMTP server on 127.0.0.1 that accepts everything and records
    each transaction as (sender, [recipients], data bytes)."""

    def __init__(self, delay=0.0):
        self.received = []
        self.lock = threading.Lock()
        self.delay = delay
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                try:
                    self.session()
                except OSError:
                    pass  # the client was killed: the crash test does it

            def session(self):
                w = self.wfile
                w.write(b"220 sink ESMTP\r\n")
                sender, rcpts = None, []
                while True:
                    line = self.rfile.readline(4096)
                    if not line:
                        return
                    cmd = line.strip().upper()
                    if cmd.startswith((b"EHLO", b"HELO")):
                        w.write(b"250-sink\r\n250 8BITMIME\r\n")
                    elif cmd.startswith(b"MAIL FROM:"):
                        sender = line.strip()[10:].split(b" ")[0]
                        rcpts = []
                        w.write(b"250 ok\r\n")
                    elif cmd.startswith(b"RCPT TO:"):
                        rcpts.append(line.strip()[8:].split(b" ")[0])
                        w.write(b"250 ok\r\n")
                    elif cmd == b"DATA":
                        if sender is None or not rcpts:
                            w.write(b"503 need MAIL and RCPT\r\n")
                            continue
                        w.write(b"354 go\r\n")
                        data = []
                        while True:
                            dl = self.rfile.readline(65536)
                            if not dl:
                                # the connection ended before the
                                # final dot: no transaction (RFC 5321
                                # 4.1.1.4), nothing recorded
                                return
                            if dl == b".\r\n":
                                break
                            data.append(dl)
                        if sink.delay:
                            time.sleep(sink.delay)
                        with sink.lock:
                            sink.received.append(
                                (sender.decode(), [r.decode()
                                                   for r in rcpts],
                                 b"".join(data)))
                        w.write(b"250 queued\r\n")
                        sender, rcpts = None, []
                    elif cmd == b"QUIT":
                        w.write(b"221 bye\r\n")
                        return
                    elif cmd in (b"RSET", b"NOOP"):
                        w.write(b"250 ok\r\n")
                    else:
                        w.write(b"502 no\r\n")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def messages(self):
        with self.lock:
            return list(self.received)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def submit(inst, source, sender, rcpts, message="Subject: s\n\nx\n"):
    """Runs the submit program with Courier's protocol; returns its reply
    lines (sender, each recipient, the message)."""
    text = sender + "\n" + "".join(r + "\n" for r in rcpts) + "\n" + message
    r = inst.run("submit", source, check=False, input=text)
    return r.stdout.splitlines()


def show_all(inst):
    return inst.run("courier", "show", "all").stdout


def test_backscatter_blacklist(mta):
    start(mta)
    lost = "nosuch@" + mta.domain
    assert "No addresses" in show_all(mta)
    sendmail(mta, "Subject: lost\n\nx\n", "-f", mta.login, lost)
    wait_for(lambda: lost in show_all(mta), what="the blacklisted address")
    line = [l for l in show_all(mta).splitlines() if lost in l][0]
    assert line.split("\t")[1] == "failed"
    # SMTP mail to it is refused for now (a temporary refusal) ...
    out = submit(mta, "smtp", mta.login, [lost.upper(), mta.login])
    assert out[0].startswith("250")
    assert out[1].startswith("450 4.1.0"), out
    assert out[2].startswith("250")
    assert out[3].startswith("250 2.0.0")
    # ... authenticated and local mail is not (the default sources)
    out = submit(mta, "authsmtp", mta.login, [lost])
    assert out[1].startswith("250"), out
    # bofh chooses the sources
    control(mta, "bofh", "opt BOFHSUPPRESSBACKSCATTER=smtp,authsmtp")
    out = submit(mta, "authsmtp", mta.login, [lost])
    assert out[1].startswith("450"), out
    control(mta, "bofh", "opt BOFHSUPPRESSBACKSCATTER=none")
    out = submit(mta, "smtp", mta.login, [lost])
    assert out[1].startswith("250"), out
    os.unlink(os.path.join(mta.etc, "bofh"))
    wait_for(lambda: queue_empty(mta), what="empty queue")
    # courier clear ADDRESS
    r = mta.run("courier", "clear", lost)
    assert "cleared" in r.stdout
    assert lost not in show_all(mta)
    out = submit(mta, "smtp", "", [lost])
    assert out[1].startswith("250"), out
    wait_for(lambda: lost in show_all(mta), what="blacklisted again")
    other = "other@" + mta.domain
    sendmail(mta, "Subject: lost\n\nx\n", "-f", "<>", other)
    wait_for(lambda: other in show_all(mta), what="a second address")
    # courier clear all
    mta.run("courier", "clear", "all")
    assert "No addresses" in show_all(mta)
    assert submit(mta, "smtp", "", [other])[1].startswith("250")
    r = mta.run("courier", "clear", "nonsense", check=False)
    assert r.returncode == 64


def test_backscatter_deferral_then_delivery(mta):
    """A deferred address is blacklisted until a retry delivers."""
    big = os.path.join(mta.maildir, "cur", "1.big,S=2900:2,S")
    with open(big, "w") as f:
        f.write("x" * 2900)
    path = os.path.join(mta.etc, "userdb")
    lines = [l + "|quota=3000S" if l.startswith(mta.login + "\t") else l
             for l in open(path).read().splitlines()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    control(mta, "retryalpha", "1s")
    start(mta)
    sendmail(mta, "Subject: q\n\n" + "z" * 500 + "\n", "-f", "<>",
             mta.login)
    wait_for(lambda: mta.login in show_all(mta), what="deferred address")
    assert "deferred" in show_all(mta)
    assert submit(mta, "smtp", "", [mta.login])[1].startswith("450")
    os.unlink(big)
    try:
        os.unlink(os.path.join(mta.maildir, "maildirsize"))
    except FileNotFoundError:
        pass
    wait_for(lambda: queue_empty(mta), what="delivery after the retry")
    assert mta.login not in show_all(mta)
    assert submit(mta, "smtp", "", [mta.login])[1].startswith("250")


def test_backuprelay(mta):
    """Remote mail still undelivered after warntime goes to backuprelay,
    and no delayed DSN is sent."""
    sink = SmtpSink()
    try:
        dead = servers.find_free_port()
        control(mta, "esmtproutes",
                "remote.invalid: [127.0.0.1],%d\n"
                "backup.invalid: [127.0.0.1],%d" % (dead, sink.port))
        control(mta, "esmtpdelay", "0")
        control(mta, "retryalpha", "1s")
        control(mta, "warntime", "2s")
        control(mta, "backuprelay", "backup.invalid")
        start(mta)
        sendmail(mta, "Subject: via backup\n\nx\n", "-f", mta.login,
                 "far@remote.invalid", mta.login)
        msgs = wait_for(lambda: sink.messages(), what="the backup relay")
        sender, rcpts, data = msgs[0]
        assert sender == "<%s>" % mta.login
        assert rcpts == ["<far@remote.invalid>"]
        assert b"Subject: via backup" in data
        wait_for(lambda: queue_empty(mta), what="empty queue")
        # the local copy arrived, no delayed DSN
        got = maildir_messages(mta)
        assert [m["Subject"] for m in got] == ["via backup"]
        assert len(sink.messages()) == 1
    finally:
        sink.close()


def test_batchsize(mta):
    """batchsize caps the recipients of one message in one delivery: 5
    remote recipients with batchsize 2 make 3 SMTP transactions."""
    sink = SmtpSink()
    try:
        control(mta, "esmtproutes", "sink.test: [127.0.0.1],%d" % sink.port)
        control(mta, "esmtpdelay", "0")
        control(mta, "batchsize", "2")
        start(mta)
        rcpts = ["b%d@sink.test" % i for i in range(5)]
        sendmail(mta, "Subject: batch\n\nx\n", "-f", mta.login, *rcpts)
        wait_for(lambda: queue_empty(mta), what="empty queue")
        got = sink.messages()
        assert sorted(len(r) for _, r, _ in got) == [1, 2, 2]
        assert sorted(a for _, r, _ in got for a in r) == \
            ["<%s>" % a for a in rcpts]
    finally:
        sink.close()


def test_submitdelay(mta):
    control(mta, "submitdelay", "3s")
    start(mta)
    t0 = time.time()
    sendmail(mta, "Subject: later\n\nx\n", "-f", "<>", mta.login)
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    assert any(l.startswith("L") for l in read_control(ctl))
    time.sleep(1.5)
    assert maildir_messages(mta) == []
    wait_for(lambda: maildir_messages(mta), what="delivery")
    assert time.time() - t0 >= 2.5


def log_text(inst):
    with open(os.path.join(inst.var, "log", "courierd.log")) as f:
        return f.read()


def test_respawnlo(mta):
    control(mta, "respawnlo", "2s")
    d = start(mta)
    wait_for(lambda: log_text(mta).count("started:") >= 3, timeout=15,
             what="two self-restarts")
    assert "respawning (respawnlo): idle" in log_text(mta)
    assert d.running()  # the same process, re-executed
    sendmail(mta, "Subject: after\n\nx\n", "-f", "<>", mta.login)
    wait_for(lambda: maildir_messages(mta), what="delivery after respawn")


def test_restart_waits_for_deliveries(mta):
    home = mta.home
    began = os.path.join(home, "began")
    ended = os.path.join(home, "ended")
    with open(os.path.join(home, ".courier-slow"), "w") as f:
        f.write("| echo x >>%s; sleep 3; cat >%s\n" % (began, ended))
    d = start(mta)
    local, domain = mta.login.split("@")
    sendmail(mta, "Subject: slow\n\nx\n", "-f", "<>",
             "%s-slow@%s" % (local, domain))
    wait_for(lambda: os.path.exists(began), what="the delivery's start")
    mta.run("courier", "restart")
    wait_for(lambda: "restarting\n" in log_text(mta), timeout=15,
             what="the restart")
    # the delivery was over before courierd re-executed itself
    assert os.path.exists(ended)
    assert "Subject: slow" in open(ended).read()
    assert d.running()
    wait_for(lambda: log_text(mta).count("started:") >= 2,
             what="started again")
    wait_for(lambda: queue_empty(mta), what="empty queue")
    time.sleep(1)
    # delivered once: the program did not run again
    assert open(began).read() == "x\n"
    assert len(re.findall(r"courierd\[\d+\]: info: \S+: <%s-slow@%s> "
                          r"delivered" % (local, domain),
                          log_text(mta))) == 1
