"""test_esmtp_concurrency.py: esmtpd runs what blocks (the queue commit's
fsyncs, the DNS checks) in its worker pool: one client whose SPF lookup
hangs (a DNS server that never answers) does not hold up another client's
whole transaction; a client that leaves while its job runs does no harm;
commands pipelined after the final dot are answered in order after 250."""

import os
import shutil
import smtplib
import socket
import tempfile
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
