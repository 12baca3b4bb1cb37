"""test_imap_quota.py: QUOTA (RFC 9208) on the Maildir++ quota in imapd,
with Python's imaplib over the stdin/stdout tunnel: GETQUOTAROOT,
GETQUOTA, [OVERQUOTA] on APPEND, COPY and MOVE, usage that follows
APPEND, COPY and EXPUNGE, and Trash outside the quota.  Responses are
checked against the RFC grammar."""

import imaplib
import os
import re

import pytest

from test_imap_qresync import Raw, make_maildir, put  # noqa: F401

QUOTA = re.compile(rb'^\* QUOTA "" \((STORAGE \d+ \d+)?( ?MESSAGE \d+ \d+)?\)$')
QUOTAROOT = re.compile(rb'^\* QUOTAROOT ("[^"]*"|[^\s"]+)( "")?$')


@pytest.fixture
def imapd(suite_build):
    p = suite_build.program("imapd")
    if p is None:
        pytest.fail("imapd is not built", pytrace=False)
    return p


def usage(lines):
    for line in lines:
        m = QUOTA.match(line)
        if m:
            nums = [int(x) for x in re.findall(rb"\d+", line)]
            return nums
    raise AssertionError("no QUOTA in %r" % lines)


def test_no_quota(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    a = Raw(imapd, md)
    lines, _ = a.cmd("CAPABILITY")
    assert b"QUOTA" in lines[0].split()
    assert b"QUOTA=RES-STORAGE" in lines[0].split()
    lines, _ = a.cmd("GETQUOTAROOT INBOX")
    assert lines == [b"* QUOTAROOT INBOX"]
    a.cmd('GETQUOTA ""', "NO")
    a.close()


def test_quota(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    make_maildir(os.path.join(md, ".Trash"))
    make_maildir(os.path.join(md, ".Work"))
    put(md, b"Subject: a\n\n" + b"x" * 988 + b"\n")	# 1000 bytes
    with open(os.path.join(md, "maildirsize"), "w") as f:
        f.write("3000S,4C\n%12d %12d\n" % (1000, 1))
    a = Raw(imapd, md)
    lines, _ = a.cmd("GETQUOTAROOT INBOX")
    assert QUOTAROOT.match(lines[0]) and lines[0].endswith(b' ""')
    assert usage(lines[1:]) == [1, 2, 1, 4]
    lines, _ = a.cmd('GETQUOTA ""')
    assert usage(lines) == [1, 2, 1, 4]
    a.cmd('GETQUOTA "other"', "NO")
    a.cmd("GETQUOTAROOT Nope", "NO")
    # Trash is outside the quota root
    lines, _ = a.cmd("GETQUOTAROOT Trash")
    assert lines == [b"* QUOTAROOT Trash"]
    a.close()

    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    msg = b"Subject: b\r\n\r\n" + b"y" * 984 + b"\r\n"	# 1000 bytes
    typ, data = m.append("Work", None, None, msg)
    assert typ == "OK"
    # 2000 + 1000 fits exactly; one more byte does not
    typ, data = m.append("INBOX", None, None, msg)
    assert typ == "OK"
    typ, data = m.append("INBOX", None, None, b"z\r\n")
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA] ")
    # Trash takes anything
    typ, data = m.append("Trash", None, None, msg * 5)
    assert typ == "OK"
    m.select("INBOX")
    typ, data = m.copy("1", "Work")
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA] ")
    # MOVE within the quota root changes nothing; to Trash frees space
    typ, data = m._simple_command("MOVE", "1", "Work")
    assert typ == "OK"
    typ, data = m._simple_command("MOVE", "1", "Trash")
    assert typ == "OK"
    typ, data = m.getquota('""')
    assert typ == "OK" and data == [b'"" (STORAGE 2 2 MESSAGE 2 4)']
    # EXPUNGE gives space back
    m.select("Work")
    m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
    m.expunge()
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    assert data == [[b'INBOX ""'], [b'"" (STORAGE 0 2 MESSAGE 0 4)']]
    m.logout()
