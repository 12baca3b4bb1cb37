"""test_newuser_maildrop.py: regressions found by trying local delivery
as a new user would: a .mailfilter with a syntax error defers the mail
(nothing is lost) and the deferral says which file and line is wrong, in
the queue's status and in courierd's log with the queue id; a program of
a .courier-EXT file that fails has what it wrote in the DSN's
Diagnostic-Code (dot-courier(5)); its output is cut and made one line."""

import os
import shutil
import tempfile

import pytest

from conftest import make_instance
from test_mta import (control, maildir_messages, queue_empty, queued,
                      read_control, sendmail, start, wait_for)


@pytest.fixture
def mta(suite_build):
    root = tempfile.mkdtemp(prefix="test-newuser-md-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    inst = make_instance(suite_build, os.path.join(root, "instance"),
                         extra_args=extra)
    inst.program("courierd")
    inst.program("maildrop")
    try:
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def home_file(inst, name, text, mode=0o600):
    path = os.path.join(inst.home, name)
    with open(path, "w") as f:
        f.write(text)
    st = os.stat(inst.home)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, mode)
    return path


def test_filter_syntax_error_deferred_with_file_and_line(mta):
    home_file(mta, ".mailfilter",
              "if (/^Subject: x/\n{\n  to \"$DEFAULT/.Junk/\"\n}\n")
    control(mta, "maildropfilter", "maildrop")
    control(mta, "retryalpha", "1s")
    start(mta)
    sendmail(mta, "Subject: syntax\n\nkeep me\n", "-f", "<>", mta.login)
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    wait_for(lambda: any(l.startswith("D0 ") for l in read_control(ctl)),
             what="a deferral")
    lines = [l for l in read_control(ctl) if "exit status 75" in l]
    assert lines and "maildrop: exit status 75: " in lines[-1], lines
    assert ".mailfilter(2): Missing )" in lines[-1], lines
    log = open(os.path.join(mta.var, "log", "courierd.log")).read()
    assert ".mailfilter(2): Missing )" in log
    # fixed: the retry delivers it, nothing was lost
    home_file(mta, ".mailfilter", "# nothing to do\n")
    msgs = wait_for(lambda: maildir_messages(mta), what="the retry")
    assert msgs[0]["Subject"] == "syntax"
    wait_for(lambda: queue_empty(mta), what="empty queue")


def test_failing_program_output_in_dsn(mta):
    # control characters, 8-bit bytes, then 5000 bytes
    home_file(mta, ".courier-prog",
              "| echo 'mailbox is closed,' >&2; "
              "printf 'line two\\r\\n\\001\\033\\351\\351 ' >&2; "
              "head -c 5000 /dev/zero | tr '\\0' y >&2; exit 77\n",
              mode=0o644)
    start(mta)
    user, domain = mta.login.split("@")
    sendmail(mta, "Subject: prog\n\nx\n", "-f", mta.login,
             "%s-prog@%s" % (user, domain))
    dsn = wait_for(lambda: [m for m in maildir_messages(mta)
                            if m.get_content_type() == "multipart/report"],
                   what="the bounce")[0]
    ds = list(dsn.iter_parts())[1].get_payload()
    diag = ds[1]["Diagnostic-Code"]
    assert ds[1]["Action"] == "failed"
    assert "exit status 77: mailbox is closed, line two" in " ".join(
        diag.split()), diag
    # one line, no control or 8-bit bytes, cut at 300 bytes of output
    assert all(32 <= ord(c) < 127 for c in diag.replace("\n ", " "))
    assert diag.count("y") < 320
