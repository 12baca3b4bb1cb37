"""test_mta_maildrop.py: the maildropfilter hook: with etc/maildropfilter,
courierlocal hands each account's mail to the suite's maildrop (delivery
mode, as the account), which follows the account's .mailfilter; its exit
code decides: 0 delivered, 75 try again later, others bounce.  Without
the file, mail goes straight to the Maildir."""

import os
import shutil
import tempfile

import pytest

from conftest import make_instance
from test_mta import (control, maildir_messages, queue_empty, queued,
                      read_control, sendmail, start, wait_for)

FILTER = """\
if (/^Subject: *spam/:H)
{
    to "$HOME/Maildir/.Junk/"
}
if (/^Subject: *later/:H)
{
    EXITCODE=75
    exit
}
if (/^Subject: *reject/:H)
{
    EXITCODE=77
    exit
}
"""


@pytest.fixture
def mta(suite_build):
    root = tempfile.mkdtemp(prefix="test-mta-md-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    inst = make_instance(suite_build, os.path.join(root, "instance"),
                         extra_args=extra)
    inst.program("courierd")
    inst.program("maildrop")
    path = os.path.join(inst.home, ".mailfilter")
    with open(path, "w") as f:
        f.write(FILTER)
    st = os.stat(inst.home)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, 0o600)
    try:
        yield inst
    finally:
        inst.stop_all()
        log = os.path.join(inst.var, "log", "courierd.log")
        if os.path.exists(log):
            print(open(log).read()[-3000:])
        shutil.rmtree(root, ignore_errors=True)


def junk(inst):
    return maildir_messages(inst, os.path.join(inst.maildir, ".Junk"))


def test_without_maildropfilter_no_filtering(mta):
    start(mta)
    sendmail(mta, "Subject: spam spam\n\nx\n", "-f", "<>", mta.login)
    msgs = wait_for(lambda: maildir_messages(mta), what="delivery")
    assert msgs[0]["Subject"] == "spam spam"
    assert junk(mta) == []


def test_maildropfilter(mta):
    control(mta, "maildropfilter", "maildrop")
    control(mta, "retryalpha", "1s")
    start(mta)
    sendmail(mta, "Subject: spam offer\n\nx\n", "-f", "<>", mta.login)
    sendmail(mta, "Subject: hello\n\nx\n", "-f", "<>", mta.login)
    wait_for(lambda: junk(mta), what="the filter's Junk delivery")
    msgs = wait_for(lambda: maildir_messages(mta), what="the inbox copy")
    assert [m["Subject"] for m in msgs] == ["hello"]
    assert junk(mta)[0]["Subject"] == "spam offer"
    # delivered by maildrop as the account, not as root
    f = os.listdir(os.path.join(mta.maildir, ".Junk", "new"))[0]
    assert os.stat(os.path.join(mta.maildir, ".Junk", "new", f)).st_uid \
        == os.stat(mta.home).st_uid
    wait_for(lambda: queue_empty(mta), what="empty queue")

    # exit 75: deferred, retried; exit 77: bounced with a DSN
    sendmail(mta, "Subject: later please\n\nx\n", "-f", "<>", mta.login)
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    wait_for(lambda: any(l.startswith("D0 ") for l in read_control(ctl)),
             what="a deferral")
    assert any("maildrop: exit status 75" in l for l in read_control(ctl))
    os.unlink(os.path.join(mta.etc, "maildropfilter"))
    wait_for(lambda: any(m["Subject"] == "later please"
                         for m in maildir_messages(mta)),
             what="delivery without the filter after the retry")
    control(mta, "maildropfilter", "maildrop")
    sendmail(mta, "Subject: reject me\n\nx\n", "-f", mta.login, mta.login)
    dsn = wait_for(lambda: [m for m in maildir_messages(mta)
                            if m.get_content_type() == "multipart/report"],
                   what="the bounce")[0]
    ds = list(dsn.iter_parts())[1].get_payload()
    assert ds[1]["Action"] == "failed"
    assert "maildrop: exit status 77" in ds[1]["Diagnostic-Code"]


def test_maildropfilter_to_dev_null(mta):
    """A .mailfilter's to "/dev/null" (the usual way to drop spam) is a
    successful delivery as the account: the message leaves the queue at
    once, neither deferred (no dot-lock in /dev, no fsync of a device) nor
    delivered."""
    path = os.path.join(mta.home, ".mailfilter")
    with open(path, "w") as f:
        f.write('if (/^Subject: spam/)\n    to "/dev/null"\n')
    control(mta, "maildropfilter", "maildrop")
    start(mta)
    sendmail(mta, "Subject: spam offer\n\nx\n", "-f", "<>", mta.login)
    wait_for(lambda: queue_empty(mta), what="the spam gone from the queue")
    sendmail(mta, "Subject: hello\n\nx\n", "-f", "<>", mta.login)
    msgs = wait_for(lambda: maildir_messages(mta), what="the next message")
    assert [m["Subject"] for m in msgs] == ["hello"]
    wait_for(lambda: queue_empty(mta), what="empty queue")
    log = os.path.join(mta.var, "log", "courierd.log")
    if os.path.exists(log):
        text = open(log, errors="replace").read()
        assert "dot-lock" not in text and "/dev/null" not in text
