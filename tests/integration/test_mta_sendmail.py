"""test_mta_sendmail.py: the sendmail command: -bs (SMTP on standard
input and output, the ESMTP server's --stdio mode, driven by smtplib over
a socket pair), -t with Bcc: removal, -F, the "." line and -oi, the DSN
flags -N, -R and -V, and a non-root user's sendmail (the setgid submit
and the queue's group)."""

import grp
import os
import pwd
import smtplib
import socket
import subprocess
import time

import pytest

from test_mta import (maildir_messages, mta, queue_empty, start,  # noqa
                      wait_for)


def test_sendmail_bs(mta):  # noqa: F811
    start(mta)
    ours, theirs = socket.socketpair()
    p = subprocess.Popen([mta.program("sendmail"), "-bs"], stdin=theirs,
                         stdout=theirs, stderr=subprocess.PIPE,
                         env=mta.env)
    theirs.close()
    try:
        s = smtplib.SMTP()
        s.sock = ours
        code, greeting = s.getreply()
        assert code == 220
        code, _ = s.ehlo("localhost")
        assert code == 250
        assert not s.has_extn("starttls")
        refused = s.sendmail(mta.login, [mta.login],
                             "Subject: over a pipe\r\n\r\nhello\r\n")
        assert refused == {}
        s.quit()
    finally:
        ours.close()
        assert p.wait(10) == 0
    msgs = wait_for(lambda: maildir_messages(mta), what="delivery")
    assert msgs[0]["Subject"] == "over a pipe"
    assert "uid %d" % os.getuid() in msgs[0]["Received"]


def dsns(inst):
    return [m for m in maildir_messages(inst)
            if m.get_content_type() == "multipart/report"]


def ext_addresses(inst, *exts):
    """user-EXT@domain addresses all delivered to the account's Maildir
    (a .courier-default with ./Maildir/)."""
    with open(os.path.join(inst.home, ".courier-default"), "w") as f:
        f.write("./Maildir/\n")
    local, domain = inst.login.split("@")
    return ["%s-%s@%s" % (local, e, domain) for e in exts]


def test_sendmail_t_and_bcc(mta):  # noqa: F811
    to, cc, bcc, arg = ext_addresses(mta, "to", "cc", "bcc", "arg")
    start(mta)
    msg = ("From: Sender <%s>\nTo: Someone <%s>\nCc: %s\n"
           "Bcc: Hidden <%s>\nSubject: with bcc\n\nbody\n"
           % (mta.login, to, cc, bcc))
    mta.run("sendmail", "-t", "-f", mta.login, arg, input=msg)
    msgs = wait_for(lambda: len(maildir_messages(mta)) >= 4 and
                    maildir_messages(mta), what="four copies")
    got = sorted(m.get_all("Delivered-To")[0] for m in msgs)
    assert got == sorted([to, cc, bcc, arg])
    for m in msgs:
        assert m["Bcc"] is None          # removed from every copy
        assert m["To"] == "Someone <%s>" % to
        assert m["Cc"] == cc
        assert m.get_content().strip() == "body"


def test_sendmail_without_t_ignores_headers(mta):  # noqa: F811
    to, arg = ext_addresses(mta, "to", "arg")
    start(mta)
    mta.run("sendmail", "-f", mta.login, arg,
            input="To: %s\nBcc: %s\nSubject: x\n\ny\n" % (to, to))
    msgs = wait_for(lambda: maildir_messages(mta), what="delivery")
    time.sleep(1)
    msgs = maildir_messages(mta)
    assert [m["Delivered-To"] for m in msgs] == [arg]
    # without -t the header is the sender's business: Bcc: stays
    assert msgs[0]["Bcc"] == to


def test_sendmail_F_and_dot(mta):  # noqa: F811
    start(mta)
    mta.run("sendmail", "-F", "Ann O'Neil, Esq.", "-f", mta.login,
            mta.login, input="Subject: dots\n\nline\n.\nafter the dot\n")
    m = wait_for(lambda: maildir_messages(mta), what="delivery")[0]
    assert m["From"].addresses[0].display_name == "Ann O'Neil, Esq."
    assert m["From"].addresses[0].addr_spec == mta.login
    assert "after the dot" not in m.get_content()   # "." ended it
    mta.run("sendmail", "-oi", "-f", mta.login, mta.login,
            input="Subject: dots2\n\nline\n.\nafter the dot\n")
    wait_for(lambda: len(maildir_messages(mta)) == 2, what="second")
    m2 = [m for m in maildir_messages(mta) if m["Subject"] == "dots2"][0]
    assert "after the dot" in m2.get_content()


def test_sendmail_N_R_V(mta):  # noqa: F811
    start(mta)
    lost = "nosuch@" + mta.domain
    # -N success: a success DSN, with the ENVID of -V
    mta.run("sendmail", "-N", "success", "-V", "env-1", "-f", mta.login,
            mta.login, input="Subject: track me\n\nx\n")
    d = wait_for(lambda: dsns(mta), what="the success DSN")[0]
    ds = list(d.iter_parts())[1].get_payload()
    assert ds[0]["Original-Envelope-Id"] == "env-1"
    assert ds[1]["Action"] == "delivered"
    # -N never: no DSN for a failure
    mta.run("sendmail", "-N", "never", "-f", mta.login, lost,
            input="Subject: silent\n\nx\n")
    # -R hdrs: the failure DSN carries the header only
    mta.run("sendmail", "-R", "hdrs", "-N", "failure,delay", "-f",
            mta.login, lost, input="Subject: hdrs only\n\nsecret body\n")
    wait_for(lambda: len(dsns(mta)) >= 2, what="the failure DSN")
    wait_for(lambda: queue_empty(mta), what="empty queue")
    time.sleep(1)
    failures = [m for m in dsns(mta)
                if list(m.iter_parts())[1].get_payload()[1]["Action"] ==
                "failed"]
    assert len(failures) == 1     # the -N never one sent nothing
    last = list(failures[0].iter_parts())[2]
    assert last.get_content_type() == "text/rfc822-headers"
    assert "hdrs only" in str(last) and "secret body" not in str(last)
    # -R full: the whole message comes back
    mta.run("courier", "clear", "all")
    mta.run("sendmail", "-R", "full", "-f", mta.login, lost,
            input="Subject: full\n\nthe body\n")
    wait_for(lambda: len(dsns(mta)) >= 3, what="the third DSN")
    third = [m for m in dsns(mta) if "full" in str(m)
             and "the body" in str(m)]
    assert third and list(third[0].iter_parts())[2].get_content_type() == \
        "message/rfc822"
    # bad values are usage errors
    for args in (("-N", "sometimes"), ("-N", "never,success"),
                 ("-R", "most")):
        r = mta.run("sendmail", *args, mta.login, input="x\n", check=False)
        assert r.returncode == 64


def as_nobody(inst, *argv, input=None, env=None):
    e = dict(inst.env)
    e.update(env or {})
    return subprocess.run(["runuser", "-u", "nobody", "--", "env"] +
                          ["%s=%s" % kv for kv in e.items()
                           if kv[0] in ("COURIER_INSTANCE", "PATH")] +
                          list(argv), input=input, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)


@pytest.mark.skipif(os.getuid() != 0, reason="runuser needs root")
def test_sendmail_as_nobody(mta):  # noqa: F811
    """A user who cannot write the queue queues mail through the setgid
    submit (courier-setup gave the queue to the group mail)."""
    queue = os.path.join(mta.var, "queue", "msgs")
    st = os.stat(queue)
    assert st.st_gid == grp.getgrnam("mail").gr_gid
    assert st.st_mode & 0o2070 == 0o2070
    sub = mta.program("submit")
    assert os.stat(sub).st_mode & 0o2000    # setgid
    nobody = pwd.getpwnam("nobody")
    assert grp.getgrnam("mail").gr_gid not in os.getgrouplist(
        "nobody", nobody.pw_gid)
    start(mta)
    r = as_nobody(mta, mta.program("sendmail"), "-t",
                  input="To: %s\nSubject: from nobody\n\nhi\n" % mta.login)
    assert r.returncode == 0, r.stderr
    m = wait_for(lambda: maildir_messages(mta), what="delivery")[0]
    assert m["Subject"] == "from nobody"
    assert "uid %d" % nobody.pw_uid in m["Received"]
    assert m["From"].addresses[0].username == "nobody"
    # -verp goes through submit too (the V after the RET letter)
    r = as_nobody(mta, mta.program("sendmail"), "-verp", "-f",
                  "list@" + mta.domain, mta.login,
                  input="Subject: verp from nobody\n\nhi\n")
    assert r.returncode == 0, r.stderr
    local, domain = mta.login.split("@")
    want = "<list-%s=%s@%s>" % (local, domain, mta.domain)
    m = wait_for(lambda: [m for m in maildir_messages(mta)
                          if m["Subject"] == "verp from nobody"],
                 what="the VERP delivery")[0]
    assert m["Return-Path"] == want, m["Return-Path"]
    # refusals come back with their exit codes
    r = as_nobody(mta, mta.program("sendmail"), "bad@",
                  input="Subject: x\n\ny\n")
    assert r.returncode == 67 and "bad@" in r.stderr
    r = as_nobody(mta, mta.program("sendmail"), mta.login,
                  input="Subject: caf\xe9\n\nx\n")
    assert r.returncode == 65 and "8-bit" in r.stderr
    # nobody cannot write the queue itself
    r = as_nobody(mta, "touch", os.path.join(queue, "x"))
    assert r.returncode != 0


@pytest.mark.skipif(os.getuid() != 0, reason="runuser needs root")
def test_setgid_submit_ignores_a_users_instance(mta, tmp_path):  # noqa
    """Run setgid, submit does not trust an instance a user made."""
    fake = tmp_path / "fake"
    (fake / "etc").mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    for p in (fake, fake / "etc"):
        os.chown(p, pwd.getpwnam("nobody").pw_uid, -1)
    r = as_nobody(mta, mta.program("submit"), "local",
                  env={"COURIER_INSTANCE": str(fake)},
                  input="nobody\n\n\nx\n")
    assert "is not root's: ignored" in r.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="runuser needs root")
def test_mailq_cancelmsg_as_nobody(mta):  # noqa: F811
    """A user sees and cancels only the mail they sent (through the
    setgid submit: they cannot read the queue); root sees all."""
    from test_mta import control, dead_route, queued, sendmail
    dead_route(mta)
    control(mta, "retryalpha", "1h")
    start(mta)
    sendmail(mta, "Subject: root's\n\nx\n", "-f", mta.login,
             "b@remote.invalid")
    r = as_nobody(mta, mta.program("sendmail"), "c@remote.invalid",
                  input="Subject: nobody's\n\nx\n")
    assert r.returncode == 0, r.stderr
    ctls = wait_for(lambda: len(queued(mta)) == 2 and queued(mta),
                    what="two queued messages")
    qids = {}
    for c in ctls:
        qid = os.path.basename(c)[1:]
        qids["c" if "c@remote.invalid" in open(c).read() else "b"] = qid
    # nobody cannot read the queue folder itself
    assert as_nobody(mta, "ls", os.path.join(mta.var, "queue",
                                             "msgs")).returncode != 0
    r = as_nobody(mta, mta.program("mailq"))
    assert r.returncode == 0, r.stderr
    assert qids["c"] in r.stdout and qids["b"] not in r.stdout
    assert "<c@remote.invalid>" in r.stdout
    assert "b@remote.invalid" not in r.stdout
    r = as_nobody(mta, mta.program("mailq"), "-s")
    assert r.stdout.startswith("1 messages, 1 recipients, "), r.stdout
    r = mta.run("mailq")
    assert qids["c"] in r.stdout and qids["b"] in r.stdout
    # root's message is "not queued" for nobody, and stays
    r = as_nobody(mta, mta.program("cancelmsg"), qids["b"])
    assert r.returncode == 1 and "not queued" in r.stderr
    r = as_nobody(mta, mta.program("cancelmsg"), "not-a-qid")
    assert r.returncode == 1
    r = as_nobody(mta, mta.program("cancelmsg"), qids["c"], "changed mind")
    assert r.returncode == 0, r.stderr
    assert "cancelled (1 recipients)" in r.stdout
    wait_for(lambda: [os.path.basename(c)[1:] for c in queued(mta)] ==
             [qids["b"]], what="nobody's message gone")
    r = mta.run("mailq")
    assert qids["b"] in r.stdout and qids["c"] not in r.stdout
