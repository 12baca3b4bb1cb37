"""test_mta.py: the MTA core through sendmail, the queue and courierd, in a
throw-away instance: local delivery to Maildir, unknown user bounce with an
RFC 3464 DSN, over-quota retry, the retry schedule, expiry, the delayed DSN,
courier flush, dot-courier files, mailq and cancelmsg (the kill -9 test is
test_mta_crash.py)."""

import email
import email.policy
import glob
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import make_instance, wait_for


@pytest.fixture
def mta(suite_build):
    """An instance whose account belongs to an unprivileged user (delivery
    never runs as root), with authdaemond running; courierd is started by
    each test once its control files are in place."""
    root = tempfile.mkdtemp(prefix="test-mta-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    inst = make_instance(suite_build, os.path.join(root, "instance"),
                         extra_args=extra)
    inst.program("courierd")
    inst.program("sendmail")
    try:
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def control(inst, name, text):
    with open(os.path.join(inst.etc, name), "w") as f:
        f.write(text + "\n")


def dead_route(inst, domain="remote.invalid"):
    """Routes DOMAIN to a port of 127.0.0.1 where nothing listens, so the
    ESMTP module defers its mail (connection refused, 4.4.1) instead of
    bouncing it on the NXDOMAIN of .invalid; esmtpdelay 0 makes it try
    again at every round."""
    import servers
    port = servers.find_free_port()
    control(inst, "esmtproutes", "%s: [127.0.0.1],%d" % (domain, port))
    control(inst, "esmtpdelay", "0")
    return port


def start(inst):
    if "authdaemond" not in inst.daemons:
        inst.start("authdaemond")
    return inst.start("courierd")


def sendmail(inst, message, *args, check=True):
    r = inst.run("sendmail", *args, input=message, check=check)
    return r


def maildir_messages(inst, maildir=None):
    maildir = maildir or inst.maildir
    out = []
    for sub in ("new", "cur"):
        for p in sorted(glob.glob(os.path.join(maildir, sub, "*"))):
            with open(p, "rb") as f:
                out.append(email.message_from_bytes(
                    f.read(), policy=email.policy.default))
    return out


def queued(inst):
    return sorted(glob.glob(os.path.join(inst.var, "queue", "msgs", "*",
                                         "C*")))


def queue_empty(inst):
    return not queued(inst)


def read_control(path):
    with open(path) as f:
        return f.read().splitlines()


def test_local_delivery(mta):
    # an empty bucket of a period long over goes when courierd starts
    old = os.path.join(mta.var, "queue", "msgs", "1")
    os.makedirs(old)
    start(mta)
    sendmail(mta, "To: %s\nSubject: hello\n\nbody text\n" % mta.login,
             "-t", "-f", mta.login, "-F", "Demo User")
    msgs = wait_for(lambda: maildir_messages(mta), what="delivery")
    assert len(msgs) == 1
    m = msgs[0]
    assert m["Subject"] == "hello"
    assert m["Delivered-To"] == mta.login
    assert m["Return-Path"] == "<%s>" % mta.login
    assert m["Message-ID"] and m["Date"] and m["Received"]
    assert "Demo User" in m["From"]
    assert m.get_content().strip() == "body text"
    wait_for(lambda: queue_empty(mta), what="empty queue")
    # the current bucket stays, empty (no mkdir and fsync per message)
    msgs = os.path.join(mta.var, "queue", "msgs")
    assert [os.listdir(os.path.join(msgs, b)) for b in os.listdir(msgs)] \
        == [[]]
    assert not os.path.exists(old)
    # the message file belongs to the account, not to root
    f = glob.glob(os.path.join(mta.maildir, "new", "*"))[0]
    assert os.stat(f).st_uid == os.stat(mta.maildir).st_uid


def test_sendmail_refusals(mta):
    r = sendmail(mta, "Subject: caf\xe9\n\nx\n", mta.login, check=False)
    assert r.returncode == 65 and "8-bit" in r.stderr
    # an 8-bit body without MIME fields that is not UTF-8: refused, since
    # sendmail declares nothing (a UTF-8 one is taken: see the end)
    r = subprocess.run([mta.program("sendmail"), mta.login], env=mta.env,
                       input=b"Subject: x\n\n8bit \xe9 body\n",
                       capture_output=True, timeout=60)
    assert r.returncode == 65 and b"5.6.3" in r.stderr, r.stderr
    control(mta, "sizelimit", "1000")
    r = sendmail(mta, "Subject: x\n\n" + "y" * 2000 + "\n", mta.login,
                 check=False)
    assert r.returncode == 65 and "552" in r.stderr
    r = sendmail(mta, "Subject: x\n\nx\n", "bad@", check=False)
    assert r.returncode == 67
    assert queue_empty(mta)
    r = mta.run("sendmail", "-Z", check=False)
    assert r.returncode == 64
    # a UTF-8 body without MIME fields is taken: submit adds them, as
    # Courier's submit(8) does (test_esmtp_8bit.py checks the fields)
    r = sendmail(mta, "Subject: x\n\n8bit \xe9 body\n", mta.login,
                 check=False)
    assert r.returncode == 0, r.stderr


def test_unknown_user_dsn(mta):
    start(mta)
    sendmail(mta, "Subject: to nobody\nMessage-ID: <orig@x>\n\nlost\n",
             "-f", mta.login, "-V", "ENV42", "nosuch@" + mta.domain)
    msgs = wait_for(lambda: maildir_messages(mta), what="the DSN")
    dsn = msgs[0]
    assert dsn["Return-Path"] == "<>"
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = list(dsn.iter_parts())
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    status = parts[1].get_payload()
    fields = {}
    for block in status:
        for k, v in block.items():
            fields.setdefault(k.lower(), []).append(v)
    assert fields["reporting-mta"] == ["dns; " + open(
        os.path.join(mta.etc, "me")).read().strip()]
    assert fields["original-envelope-id"] == ["ENV42"]
    assert fields["final-recipient"] == ["rfc822; nosuch@" + mta.domain]
    assert fields["action"] == ["failed"]
    assert fields["status"] == ["5.1.1"]
    assert parts[2].get_content_type() == "message/rfc822"
    assert "<orig@x>" in str(parts[2])
    wait_for(lambda: queue_empty(mta), what="empty queue")
    # a bounce of a bounce is never made: <> gets no DSN
    sendmail(mta, "Subject: x\n\ny\n", "-f", "<>", "nosuch@" + mta.domain)
    wait_for(lambda: queue_empty(mta), what="empty queue")
    time.sleep(0.5)
    assert len(maildir_messages(mta)) == 1


def test_dsnlimit(mta):
    """A failure notice of a message larger than dsnlimit carries only
    its header (text/rfc822-headers); a smaller one the whole message."""
    control(mta, "dsnlimit", "2K")
    start(mta)
    big = "Subject: big\nMessage-ID: <big@x>\n\n" + "x" * 70 + "\n"
    sendmail(mta, big * 1 + ("y" * 70 + "\n") * 60, "-f", mta.login,
             "nosuch@" + mta.domain)
    msgs = wait_for(lambda: maildir_messages(mta), what="the DSN")
    parts = list(msgs[0].iter_parts())
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "<big@x>" in parts[2].get_content()
    assert "yyyy" not in str(msgs[0])
    sendmail(mta, "Subject: small\nMessage-ID: <small@x>\n\nshort\n",
             "-f", mta.login, "nosuch@" + mta.domain)
    msgs = wait_for(lambda: len(maildir_messages(mta)) == 2 and
                    maildir_messages(mta), what="the second DSN")
    small = [m for m in msgs if "<small@x>" in str(m)][0]
    assert list(small.iter_parts())[2].get_content_type() == \
        "message/rfc822"


def set_quota(inst, quota):
    path = os.path.join(inst.etc, "userdb")
    lines = open(path).read().splitlines()
    out = []
    for line in lines:
        if line.startswith(inst.login + "\t"):
            line += "|quota=" + quota
        out.append(line)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def test_over_quota_retry(mta):
    set_quota(mta, "3000S")
    control(mta, "retryalpha", "1s")
    big = os.path.join(mta.maildir, "cur", "1.big,S=2900:2,S")
    with open(big, "w") as f:
        f.write("x" * 2900)
    start(mta)
    sendmail(mta, "Subject: over quota\n\n" + "z" * 500 + "\n",
             "-f", mta.login, mta.login)
    ctl = wait_for(lambda: queued(mta), what="queued message")[0]
    wait_for(lambda: any(l.startswith("D0 ") for l in read_control(ctl)),
             what="a deferral")
    assert any("4.2.2" in l for l in read_control(ctl))
    assert len(maildir_messages(mta)) == 1  # only the big one
    # room is made: the next retry delivers it
    os.unlink(big)
    try:
        os.unlink(os.path.join(mta.maildir, "maildirsize"))
    except FileNotFoundError:
        pass
    msgs = wait_for(lambda: [m for m in maildir_messages(mta)
                             if m["Subject"] == "over quota"],
                    what="delivery after the retry")
    assert len(msgs) == 1
    wait_for(lambda: queue_empty(mta), what="empty queue")


def rounds(ctl):
    """(C time, A time) pairs of a control file."""
    c, out = None, []
    for line in read_control(ctl):
        if line.startswith("C"):
            c = int(line[1:])
        elif line.startswith("A") and c is not None:
            out.append((c, int(line[1:])))
    return out


def test_retry_schedule(mta):
    # Remote mail to a dead server stays queued: each round defers.
    dead_route(mta)
    control(mta, "retryalpha", "1s")
    control(mta, "retrybeta", "2")
    control(mta, "retrygamma", "3s")
    start(mta)
    sendmail(mta, "Subject: far\n\nx\n", "-f", mta.login,
             "someone@remote.invalid")
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    r = wait_for(lambda: len(rounds(ctl)) >= 4 and rounds(ctl),
                 timeout=30, what="four rounds")
    waits = [a - c for c, a in r[:4]]
    assert waits == [1, 1, 3, 1]
    lines = read_control(ctl)
    assert any(re.match(r"I0 R 421 4\.4\.1 .*Connection refused", l)
               for l in lines)
    assert not any(l.startswith(("S0", "F0")) for l in lines)


def test_expiry_and_delayed_dsn(mta):
    dead_route(mta)
    control(mta, "retryalpha", "1s")
    control(mta, "warntime", "1s")
    control(mta, "queuetime", "4s")
    start(mta)
    sendmail(mta, "Subject: slow\n\nx\n", "-f", mta.login,
             "someone@remote.invalid")

    def kinds():
        out = []
        for m in maildir_messages(mta):
            if m.get_content_type() != "multipart/report":
                continue
            ds = list(m.iter_parts())[1].get_payload()
            out.append(ds[1]["Action"])
        return out
    k = wait_for(lambda: len(kinds()) >= 2 and kinds(), timeout=30,
                 what="delayed and failed DSNs")
    assert k[0] == "delayed"
    assert k[1] == "failed"
    failed = [m for m in maildir_messages(mta)
              if m.get_content_type() == "multipart/report"][1]
    ds = list(failed.iter_parts())[1].get_payload()
    assert ds[1]["Status"] == "5.4.7"
    wait_for(lambda: queue_empty(mta), what="empty queue")


def test_flush(mta):
    dead_route(mta)
    control(mta, "retryalpha", "1h")
    start(mta)
    sendmail(mta, "Subject: later\n\nx\n", "-f", mta.login,
             "a@remote.invalid")
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    qid = os.path.basename(ctl)[1:]
    wait_for(lambda: len(rounds(ctl)) == 1, what="first round")
    time.sleep(0.3)
    assert len(rounds(ctl)) == 1
    mta.run("courier", "flush", qid)
    wait_for(lambda: len(rounds(ctl)) == 2, what="flushed round")
    mta.run("courier", "flush")
    wait_for(lambda: len(rounds(ctl)) == 3, what="whole-queue flush")
    r = mta.run("courier", "flush", "not-a-qid", check=False)
    assert r.returncode != 0


def test_dot_courier(mta):
    home = mta.home
    out = os.path.join(home, "program-output")
    with open(os.path.join(home, ".courier-lists"), "w") as f:
        f.write("# comment\n./Maildir/\n| cat >%s\n" % out)
    with open(os.path.join(home, ".courier-fwd-default"), "w") as f:
        f.write("&%s\n" % mta.login)
    start(mta)
    local, domain = mta.login.split("@")
    sendmail(mta, "Subject: list mail\n\nx\n", "-f", mta.login,
             "%s-lists@%s" % (local, domain))
    wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 0,
             what="the program's output")
    assert "Subject: list mail" in open(out).read()
    # the program ran as the account, not as root
    assert os.stat(out).st_uid == os.stat(mta.maildir).st_uid
    msgs = wait_for(lambda: maildir_messages(mta), what="maildir copy")
    assert msgs[0]["Delivered-To"] == "%s-lists@%s" % (local, domain)
    # user-fwd-anything@domain: .courier-fwd-default forwards to user
    sendmail(mta, "Subject: forwarded\n\nx\n", "-f", mta.login,
             "%s+fwd-x@%s" % (local, domain))
    wait_for(lambda: any(m["Subject"] == "forwarded"
                         for m in maildir_messages(mta)),
             what="the forwarded copy")
    fwd = [m for m in maildir_messages(mta) if m["Subject"] == "forwarded"]
    assert fwd[0].get_all("Delivered-To") == [
        mta.login, "%s+fwd-x@%s" % (local, domain)]
    # an extension without a file is an unknown address
    sendmail(mta, "Subject: nope\n\nx\n", "-f", "<>",
             "%s-nofile@%s" % (local, domain))
    wait_for(lambda: queue_empty(mta), what="empty queue")


def test_dot_courier_dynamic(mta):
    """"||program": the program's output is followed as delivery
    instructions (dot-courier(5)); at most 3 levels; DYNAMICDELIVERIES=0
    in etc/courierd turns it off."""
    home = mta.home
    out = os.path.join(home, "dyn-output")
    with open(os.path.join(home, ".courier-dyn"), "w") as f:
        f.write("||echo ./Maildir/; echo '| cat >%s'\n" % out)
    loop = os.path.join(home, "loop.sh")
    with open(loop, "w") as f:
        f.write("#!/bin/sh\necho '||%s'\n" % loop)
    os.chmod(loop, 0o755)
    with open(os.path.join(home, ".courier-loop"), "w") as f:
        f.write("||%s\n" % loop)
    with open(os.path.join(home, ".courier-deep"), "w") as f:
        f.write("||echo \"||echo ./Maildir/\"\n")
    start(mta)
    local, domain = mta.login.split("@")
    sendmail(mta, "Subject: dynamic\n\nx\n", "-f", mta.login,
             "%s-dyn@%s" % (local, domain))
    wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 0,
             what="the dynamic program line")
    assert "Subject: dynamic" in open(out).read()
    assert os.stat(out).st_uid == os.stat(mta.maildir).st_uid
    msgs = wait_for(lambda: maildir_messages(mta), what="maildir copy")
    assert msgs[0]["Delivered-To"] == "%s-dyn@%s" % (local, domain)
    wait_for(lambda: queue_empty(mta), what="empty queue")
    # two levels of "||" are fine
    sendmail(mta, "Subject: deep\n\nx\n", "-f", "<>",
             "%s-deep@%s" % (local, domain))
    wait_for(lambda: len(maildir_messages(mta)) == 2, what="deep copy")
    # a program that prints itself fails at the fourth level
    sendmail(mta, "Subject: loop\n\nx\n", "-f", "<>",
             "%s-loop@%s" % (local, domain))
    wait_for(lambda: queue_empty(mta), what="empty queue")
    wait_for(lambda: "too many levels of dynamic" in log_text(mta),
             what="the loop's failure")
    # turned off by the administrator
    with open(os.path.join(mta.etc, "courierd"), "a") as f:
        f.write("\nDYNAMICDELIVERIES=0\n")
    sendmail(mta, "Subject: off\n\nx\n", "-f", "<>",
             "%s-dyn@%s" % (local, domain))
    wait_for(lambda: queue_empty(mta), what="empty queue")
    wait_for(lambda: "disabled by the administrator" in log_text(mta),
             what="the refusal")
    assert len(maildir_messages(mta)) == 2


def log_text(inst):
    with open(os.path.join(inst.var, "log", "courierd.log")) as f:
        return f.read()


def test_mailq_and_cancelmsg(mta):
    dead_route(mta)
    control(mta, "retryalpha", "1h")
    start(mta)
    r = mta.run("mailq")
    assert "0 messages" in r.stdout
    sendmail(mta, "Subject: stuck\n\nx\n", "-f", mta.login,
             "b@remote.invalid")
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    qid = os.path.basename(ctl)[1:]
    wait_for(lambda: rounds(ctl), what="first round")
    r = mta.run("mailq")
    assert qid in r.stdout
    assert "<%s>" % mta.login in r.stdout
    assert "<b@remote.invalid> deferred: 421 4.4.1" in r.stdout
    r = mta.run("mailq", "-s")
    assert r.stdout.startswith("1 messages, 1 recipients, ")
    r = mta.run("cancelmsg", qid)
    assert "cancelled" in r.stdout
    dsn = wait_for(lambda: maildir_messages(mta), what="the DSN")[0]
    ds = list(dsn.iter_parts())[1].get_payload()
    assert ds[1]["Action"] == "failed"
    assert "cancelled" in ds[1]["Diagnostic-Code"]
    wait_for(lambda: queue_empty(mta), what="empty queue")
    r = mta.run("cancelmsg", qid, check=False)
    assert r.returncode == 1


def test_delivered_mail_read_over_imap_and_pop3(mta):
    """What courierlocal delivers (its Maildir names come from the queue
    id) is read by imaplib and poplib with the size its name says."""
    import imaplib
    import poplib
    mta.program("imapd")
    mta.program("pop3d")
    start(mta)
    text = "Subject: read me\n\n" + "line of text\n" * 50
    sendmail(mta, text, "-f", mta.login, mta.login)
    wait_for(lambda: maildir_messages(mta), what="delivery")
    wait_for(lambda: queue_empty(mta), what="empty queue")
    name = os.listdir(os.path.join(mta.maildir, "new"))[0]
    assert ".C" in name and "R0T0." in name
    path = os.path.join(mta.maildir, "new", name)
    with open(path, "rb") as f:
        crlf_size = len(f.read().replace(b"\n", b"\r\n"))
    mta.start("imapd")
    m = imaplib.IMAP4(mta.address, mta.ports["imap"], timeout=20)
    try:
        assert m.login(mta.login, mta.password)[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
        typ, data = m.fetch("1", "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS "
                                 "(SUBJECT)])")
        assert typ == "OK"
        assert b"RFC822.SIZE %d" % crlf_size in data[0][0]
        assert b"Subject: read me" in data[0][1]
    finally:
        m.logout()
    mta.start("pop3d")
    p = poplib.POP3(mta.address, mta.ports["pop3"], timeout=20)
    try:
        p.user(mta.login)
        p.pass_(mta.password)
        count, size = p.stat()
        assert count == 1 and size == crlf_size
        lines = p.retr(1)[1]
        assert b"Subject: read me" in lines
    finally:
        p.quit()



def test_locallowercase_hosted(mta):
    """locallowercase applies to all local mail (seed manual page), hosted
    domains included: DEMO@DOMAIN, queued with its case, reaches demo's
    Maildir (test_esmtp_rcpt.py checks the file's absence at RCPT)."""
    local, domain = mta.login.split("@")
    control(mta, "locallowercase", "")
    start(mta)
    sendmail(mta, "Subject: upper\n\nx\n", "-f", mta.login,
             local.upper() + "@" + domain.upper())
    msgs = wait_for(lambda: maildir_messages(mta), what="delivery")
    assert [m["Subject"] for m in msgs] == ["upper"]
    wait_for(lambda: queue_empty(mta), what="empty queue")
