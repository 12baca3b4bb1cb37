"""test_esmtp_concurrency.py: esmtpd runs what blocks (the queue commit's
fsyncs, the DNS checks) in its worker pool: one client whose SPF lookup
hangs (a DNS server that never answers) does not hold up another client's
whole transaction; a slow authdaemond answering one client's RCPT does
not hold up another client; a client that leaves while its job runs does
no harm; commands pipelined after the final dot are answered in order
after 250."""

import os
import shutil
import smtplib
import socket
import tempfile
import threading
import time

import pytest

from conftest import make_instance


@pytest.fixture
def deaf_dns():
    """A UDP socket that takes queries and never answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


@pytest.fixture
def inst(suite_build, deaf_dns):
    root = tempfile.mkdtemp(prefix="test-esmtp-conc-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    i = make_instance(suite_build, os.path.join(root, "instance"),
                      extra_args=extra)
    i.program("esmtpd")
    control(i, "dnsservers", "127.0.0.1#%d\n" % deaf_dns)
    control(i, "bofh", "opt BOFHSPFMAILFROM=pass,none,neutral\n")
    with open(os.path.join(i.etc, "esmtpd"), "a") as f:
        f.write("MAXPERIP=50\nESMTP_WORKERS=4\n")
    try:
        i.start("authdaemond")
        i.start("esmtpd")
        yield i
    finally:
        i.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def control(inst, name, text):
    with open(os.path.join(inst.etc, name), "w") as f:
        f.write(text)


def raw_client(inst):
    c = socket.create_connection(("127.0.0.1", inst.ports["smtp"]),
                                 timeout=60)
    f = c.makefile("rb")
    assert f.readline().startswith(b"220")
    c.sendall(b"EHLO hang.client.test\r\n")
    while True:
        line = f.readline()
        assert line.startswith(b"250"), line
        if line[3:4] == b" ":
            break
    return c, f


def test_hanging_spf_does_not_block_others(inst):
    slow, slow_f = raw_client(inst)
    t0 = time.monotonic()
    slow.sendall(b"MAIL FROM:<someone@hang.test>\r\n")
    time.sleep(0.3)  # the lookup is under way in a worker thread

    # another client: a whole transaction, no DNS (null sender)
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("other.client.test")
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"Subject: quick\r\n\r\nquick\r\n")[0] == 250
    s.quit()
    quick = time.monotonic() - t0
    assert quick < 3.0, quick

    # the slow client gets a temporary SPF error once DNS gives up
    reply = slow_f.readline()
    slow_time = time.monotonic() - t0
    assert reply.startswith(b"451 4.7.24"), reply
    assert slow_time > quick
    # and its session goes on normally
    slow.sendall(b"MAIL FROM:<>\r\n")
    assert slow_f.readline().startswith(b"250")
    slow.sendall(b"QUIT\r\n")
    assert slow_f.readline().startswith(b"221")
    slow.close()


class SlowAuthdaemon:
    """Stands in front of authdaemond's socket: requests about an account
    whose name has "tortoise" in it are held for `delay` seconds, the others
    pass at once (each connection carries one request)."""

    def __init__(self, inst, delay):
        self.delay = delay
        run = inst.settings("authdaemonrc")["authdaemonvar"]
        self.path = os.path.join(run, "socket")
        self.real = self.path + ".real"
        os.rename(self.path, self.real)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        self.sock.listen(64)
        self.held = 0
        self.stopping = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        with c:
            req = b""
            while not req.endswith(b"\n"):
                b = c.recv(4096)
                if not b:
                    return
                req += b
            if b"tortoise" in req:
                self.held += 1
                time.sleep(self.delay)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as r:
                r.connect(self.real)
                r.sendall(req)
                while True:
                    b = r.recv(65536)
                    if not b:
                        break
                    c.sendall(b)

    def close(self):
        self.stopping = True
        self.sock.close()
        os.unlink(self.path)
        os.rename(self.real, self.path)


def test_slow_authdaemond_does_not_block_others(inst):
    """One client's RCPT waits 4 s for authdaemond (in a worker thread);
    meanwhile a second client looks up its own recipient, sends a
    message and leaves; then the first gets its answer, in order with
    the commands it pipelined behind the RCPT."""
    local, domain = inst.login.split("@")
    # the extension address the quick client uses exists (esmtpd checks
    # the account's .courier-EXT files at RCPT time)
    ext = os.path.join(inst.home, ".courier-ext")
    with open(ext, "w") as f:
        f.write("./Maildir/\n")
    st = os.stat(inst.maildir)
    if os.getuid() == 0:
        os.chown(ext, st.st_uid, st.st_gid)
    slow_auth = SlowAuthdaemon(inst, 4.0)
    try:
        slow, slow_f = raw_client(inst)
        t0 = time.monotonic()
        slow.sendall(b"MAIL FROM:<>\r\nRCPT TO:<tortoise@" +
                     domain.encode() + b">\r\nRCPT TO:<" +
                     inst.login.encode() + b">\r\nNOOP\r\n")
        assert slow_f.readline().startswith(b"250")  # MAIL
        time.sleep(0.3)
        assert slow_auth.held == 1

        s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
        s.ehlo("other.client.test")
        assert s.mail("")[0] == 250
        assert s.rcpt(inst.login)[0] == 250
        assert s.rcpt(local + "-ext@" + domain)[0] == 250
        assert s.data(b"Subject: quick\r\n\r\nquick\r\n")[0] == 250
        s.quit()
        quick = time.monotonic() - t0
        assert quick < 3.0, quick

        # tortoise: no such account (held 4 s); then the pipelined rest
        first = slow_f.readline()
        assert first.startswith(b"550 5.1.1 <tortoise@"), first
        assert time.monotonic() - t0 >= 3.5
        assert slow_f.readline().startswith(b"250 2.1.5")
        assert slow_f.readline().startswith(b"250")  # NOOP
        slow.sendall(b"QUIT\r\n")
        assert slow_f.readline().startswith(b"221")
        slow.close()
    finally:
        slow_auth.close()


def test_hanging_spf_from_does_not_block_others(inst):
    """BOFHSPFFROM at the final dot: the From: domain's lookup hangs in a
    worker thread while another client sends a whole message; then the
    first gets its temporary error, and commands it pipelined after the
    dot are answered in order."""
    control(inst, "bofh", "opt BOFHSPFFROM=pass,none,neutral\n")
    inst.stop("esmtpd")
    inst.start("esmtpd")
    slow, slow_f = raw_client(inst)
    rcpt = inst.login.encode()
    slow.sendall(b"MAIL FROM:<>\r\nRCPT TO:<" + rcpt + b">\r\nDATA\r\n")
    assert slow_f.readline().startswith(b"250")
    assert slow_f.readline().startswith(b"250")
    assert slow_f.readline().startswith(b"354")
    t0 = time.monotonic()
    slow.sendall(b"From: <boss@hang.test>\r\nSubject: s\r\n\r\ns\r\n.\r\n"
                 b"NOOP\r\n")
    time.sleep(0.3)

    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("other.client.test")
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"From: <>\r\nSubject: quick\r\n\r\nquick\r\n")[0] \
        == 250
    s.quit()
    quick = time.monotonic() - t0
    assert quick < 3.0, quick

    reply = slow_f.readline()
    assert reply.startswith(b"451 4.7.24"), reply
    assert time.monotonic() - t0 > quick
    assert slow_f.readline().startswith(b"250")  # NOOP
    slow.sendall(b"QUIT\r\n")
    assert slow_f.readline().startswith(b"221")
    slow.close()


def test_client_gone_while_job_runs(inst):
    for _ in range(3):
        c, _f = raw_client(inst)
        c.sendall(b"MAIL FROM:<x@hang.test>\r\n")
        time.sleep(0.1)
        c.close()  # the session goes; its job finishes later, cancelled
    # the server still serves, at once, while those jobs still run
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("other.client.test")
    assert s.mail("")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"Subject: after\r\n\r\nafter\r\n")[0] == 250
    s.quit()
    time.sleep(11)  # the cancelled jobs complete (5 s x 2 tries)
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    assert s.noop()[0] == 250
    s.quit()


def test_pipelined_after_final_dot(inst):
    c, f = raw_client(inst)
    rcpt = inst.login.encode()
    c.sendall(b"MAIL FROM:<>\r\nRCPT TO:<" + rcpt + b">\r\nDATA\r\n")
    assert f.readline().startswith(b"250")
    assert f.readline().startswith(b"250")
    assert f.readline().startswith(b"354")
    # the end of one message and the whole next transaction in one write
    c.sendall(b"Subject: one\r\n\r\none\r\n.\r\n"
              b"MAIL FROM:<>\r\nRCPT TO:<" + rcpt + b">\r\nDATA\r\n")
    first = f.readline()
    assert first.startswith(b"250 2.0.0 Ok: queued as "), first
    assert f.readline().startswith(b"250")
    assert f.readline().startswith(b"250")
    assert f.readline().startswith(b"354")
    c.sendall(b"Subject: two\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
    second = f.readline()
    assert second.startswith(b"250 2.0.0 Ok: queued as "), second
    assert second != first
    assert f.readline().startswith(b"221")
    c.close()


def test_many_parallel_clients(inst):
    """Twenty clients at once, each a few messages: every one gets its
    250 (the commits share the worker pool and the folder fsyncs)."""
    import concurrent.futures

    def one(n):
        s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=60)
        s.ehlo("c%d.test" % n)
        ids = []
        for k in range(5):
            assert s.mail("")[0] == 250
            assert s.rcpt(inst.login)[0] == 250
            code, text = s.data(b"Subject: %d-%d\r\n\r\nx\r\n" % (n, k))
            assert code == 250, text
            ids.append(text.split()[-1])
        s.quit()
        return ids

    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        ids = [i for r in ex.map(one, range(20)) for i in r]
    assert len(ids) == 100 and len(set(ids)) == 100


def test_group_commit_250_only_when_both_files_are_in(inst):
    """The commits share their syncs (one syncfs for the tmp/ files of
    every message written before it, one fsync of the bucket for their
    links): whatever message a client's 250 names is, at that moment,
    complete in its bucket (data file with the whole message, control
    file with the envelope), for ten clients committing at once."""
    import concurrent.futures
    import glob

    def one(n):
        s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=60)
        s.ehlo("g%d.test" % n)
        for k in range(10):
            body = b"Subject: group %d-%d\r\n\r\n" % (n, k) + \
                b"line of the message\r\n" * 200 + b"END %d-%d\r\n" % (n, k)
            # the null sender: no DNS check (the fixture's DNS is deaf)
            assert s.mail("")[0] == 250
            assert s.rcpt(inst.login)[0] == 250
            code, text = s.data(body)
            assert code == 250, text
            qid = text.split()[-1].decode()
            d = glob.glob(os.path.join(inst.var, "queue", "msgs", "*",
                                       "D" + qid))
            c = glob.glob(os.path.join(inst.var, "queue", "msgs", "*",
                                       "C" + qid))
            assert len(d) == 1 and len(c) == 1, qid
            with open(d[0], "rb") as f:
                data = f.read()
            assert b"END %d-%d\n" % (n, k) in data
            assert data.count(b"line of the message\n") == 200
            with open(c[0]) as f:
                ctl = f.read().splitlines()
            assert ctl[0] == "s"
            assert "r" + inst.login in ctl
        s.quit()
        return n

    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        assert sorted(ex.map(one, range(10))) == list(range(10))
    # nothing left behind in tmp/
    assert os.listdir(os.path.join(inst.var, "queue", "tmp")) == []
