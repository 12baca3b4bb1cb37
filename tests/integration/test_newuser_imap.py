"""test_newuser_imap.py: regressions found by trying imapd as a new user
would (several clients on one account): a folder renamed or deleted by
one session while another has it selected ends the other session with a
BYE that says so, instead of failing its commands with file system errors
(and the maildir paths in them); the renaming session goes on."""
import os
import shutil
import tempfile

import pytest

from conftest import make_instance
from test_imap import MAIL_USER, login


@pytest.fixture
def iinst(suite_build):
    root = tempfile.mkdtemp(prefix="test-newuser-imap-", dir="/tmp")
    os.chmod(root, 0o755)
    extra = ("--user", MAIL_USER) if os.getuid() == 0 else ()
    inst = make_instance(suite_build, os.path.join(root, "instance"),
                         extra_args=extra)
    inst.program("imapd")
    try:
        inst.start_auth()
        inst.start("imapd")
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def read_until_tagged_or_eof(m, tag):
    """The lines the server sends up to the tagged reply or EOF."""
    lines = []
    while True:
        line = m.readline()
        if not line:
            return lines
        lines.append(line)
        if line.startswith(tag + b" "):
            return lines


@pytest.mark.parametrize("how", ["rename", "delete"])
@pytest.mark.parametrize("command", [b"STORE 1 +FLAGS (\\Seen)", b"NOOP",
                                     b"FETCH 1 (FLAGS)"])
def test_selected_folder_renamed_by_other_session(iinst, how, command):
    a = login(iinst)
    b = login(iinst)
    assert a.create("Projects")[0] == "OK"
    assert a.append("Projects", None, None,
                    b"Subject: r\r\n\r\nbody\r\n")[0] == "OK"
    assert b.select("Projects") == ("OK", [b"1"])
    if how == "rename":
        assert a.rename("Projects", "Projects2")[0] == "OK"
    else:
        assert a.delete("Projects")[0] == "OK"
    b.send(b"x1 " + command + b"\r\n")
    lines = read_until_tagged_or_eof(b, b"x1")
    text = b"".join(lines)
    # no file system error, no path of the server's disk
    assert b"/" not in text and b"No such file" not in text, text
    assert lines and lines[0].startswith(b"* BYE "), text
    assert b"renamed" in lines[0]
    assert b.readline() == b""          # the session ended
    # the other session is fine
    assert a.noop()[0] == "OK"
    if how == "rename":
        assert a.select("Projects2") == ("OK", [b"1"])
    a.logout()


def test_idle_in_folder_renamed_by_other_session(iinst):
    a = login(iinst)
    b = login(iinst)
    assert a.create("Idled")[0] == "OK"
    assert b.select("Idled")[0] == "OK"
    b.send(b"i1 IDLE\r\n")
    assert b.readline().startswith(b"+")
    assert a.rename("Idled", "Idled2")[0] == "OK"
    b.sock.settimeout(20)
    line = b.readline()
    assert line.startswith(b"* BYE "), line
    assert b.readline() == b""
    a.logout()


def test_other_folder_renamed_keeps_session(iinst):
    a = login(iinst)
    b = login(iinst)
    assert a.create("Elsewhere")[0] == "OK"
    assert b.select("INBOX")[0] == "OK"
    assert a.rename("Elsewhere", "Elsewhere2")[0] == "OK"
    assert b.noop()[0] == "OK"
    assert b.select("Elsewhere2")[0] == "OK"
    # SELECT away from a vanished folder is allowed
    assert a.rename("Elsewhere2", "Elsewhere3")[0] == "OK"
    assert b.select("INBOX")[0] == "OK"
    b.logout()
    a.logout()
