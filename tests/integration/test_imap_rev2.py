"""test_imap_rev2.py: LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
the SPECIAL-USE selection (RFC 6154) and ENABLE IMAP4rev2 (RFC 9051: no
RECENT nor \\Recent, SEARCH answered with ESEARCH, the LIST response of
SELECT, UTF-8 mailbox names) in imapd, with Python's imaplib over the
stdin/stdout tunnel.  Response lines are checked against the grammar."""

import imaplib
import os
import re

import pytest

from maildirs import make_maildir
from test_imap_qresync import Raw, put  # noqa: F401

# RFC 5258 mailbox-list with its extended data (CHILDINFO only here).
ATTR = rb"\\[A-Za-z-]+"
QUOTED = rb'"(?:[^"\\\r\n]|\\.)*"'
LIST_LINE = re.compile(rb"^\* (LIST|LSUB) \(((?:" + ATTR + rb")(?: " + ATTR +
                       rb")*)?\) \"\.\" (" + QUOTED + rb"|[^\s(){%*\"\\]+)"
                       rb"( \(\"CHILDINFO\" \(\"SUBSCRIBED\"\)\))?$")
STATUS_LINE = re.compile(rb"^\* STATUS (" + QUOTED + rb"|[^\s(){%*\"\\]+) "
                         rb"\(((?:[A-Z]+ \d+)(?: [A-Z]+ \d+)*)\)$")


@pytest.fixture
def md(tmp_path):
    root = make_maildir(str(tmp_path / "Maildir"))
    for f in ("Sent", "Trash", "Work", "Work.Projects", "Work.Old"):
        make_maildir(os.path.join(root, "." + f))
    return root


def parse_list(lines):
    """{name: (attributes, childinfo)} of LIST lines; STATUS lines as
    {name: {item: value}} in the second dict."""
    lists, status = {}, {}
    for line in lines:
        m = LIST_LINE.match(line)
        if m:
            name = m.group(3).strip(b'"').decode()
            lists[name] = (set((m.group(2) or b"").decode().split()),
                           bool(m.group(4)))
            continue
        m = STATUS_LINE.match(line)
        assert m, line
        items = m.group(2).decode().split()
        status[m.group(1).strip(b'"').decode()] = {
            items[i]: int(items[i + 1]) for i in range(0, len(items), 2)}
    return lists, status


def test_list_extended(imapd, md):
    put(md, b"Subject: a\n\nx\n")
    put(os.path.join(md, ".Work"), b"Subject: w\n\nhello\n")
    a = Raw(imapd, md)
    lines, _ = a.cmd("CAPABILITY")
    for cap in (b"LIST-EXTENDED", b"LIST-STATUS", b"SPECIAL-USE",
                b"IMAP4rev2", b"STATUS=SIZE", b"CHILDREN"):
        assert cap in lines[0].split()
    a.cmd("SUBSCRIBE Work.Projects")
    a.cmd("SUBSCRIBE Sent")
    a.cmd("SUBSCRIBE Gone.Child")	# a subscription without a folder
    # plain LIST: every existing folder, children attributes
    lists, _ = parse_list(a.cmd('LIST "" "*"')[0])
    assert sorted(lists) == ["INBOX", "Sent", "Trash", "Work",
                             "Work.Old", "Work.Projects"]
    assert "\\HasChildren" in lists["Work"][0]
    assert "\\HasNoChildren" in lists["Work.Old"][0]
    assert "\\Sent" in lists["Sent"][0]
    # (SUBSCRIBED): subscribed ones, also those that do not exist
    lists, _ = parse_list(a.cmd('LIST (SUBSCRIBED) "" "*"')[0])
    assert sorted(lists) == ["Gone.Child", "Sent", "Work.Projects"]
    assert "\\NonExistent" in lists["Gone.Child"][0]
    assert "\\Subscribed" in lists["Gone.Child"][0]
    assert "\\Subscribed" in lists["Sent"][0]
    # RECURSIVEMATCH: parents of subscribed folders, with CHILDINFO
    lists, _ = parse_list(
        a.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')[0])
    assert sorted(lists) == ["Gone", "Sent", "Work"]
    assert lists["Work"][1] and lists["Gone"][1] and not lists["Sent"][1]
    assert "\\NonExistent" in lists["Gone"][0]
    # several patterns; RETURN (SUBSCRIBED CHILDREN)
    lists, _ = parse_list(a.cmd('LIST "" ("INBOX" "Work.%") '
                                'RETURN (SUBSCRIBED CHILDREN)')[0])
    assert sorted(lists) == ["INBOX", "Work.Old", "Work.Projects"]
    assert "\\Subscribed" in lists["Work.Projects"][0]
    # (SPECIAL-USE) selection and return option
    lists, _ = parse_list(a.cmd('LIST (SPECIAL-USE) "" "*" '
                                'RETURN (SPECIAL-USE)')[0])
    assert sorted(lists) == ["Sent", "Trash"]
    assert "\\Trash" in lists["Trash"][0]
    # LIST-STATUS: a STATUS line after each selectable mailbox
    lines, _ = a.cmd('LIST "" "Work*" RETURN (STATUS (MESSAGES UNSEEN '
                     'SIZE DELETED UIDNEXT))')
    lists, status = parse_list(lines)
    assert sorted(status) == ["Work", "Work.Old", "Work.Projects"]
    assert status["Work"]["MESSAGES"] == 1 and status["Work"]["UNSEEN"] == 1
    assert status["Work"]["SIZE"] == len(b"Subject: w\n\nhello\n")
    assert status["Work.Old"] == {"MESSAGES": 0, "UNSEEN": 0, "SIZE": 0,
                                  "DELETED": 0, "UIDNEXT": 1}
    # each STATUS follows its LIST line
    names = [ln.split()[-1] for ln in lines if ln.startswith(b"* LIST")]
    st = [ln.split()[2] for ln in lines if ln.startswith(b"* STATUS")]
    assert names == st
    # errors
    for bad in ('LIST (RECURSIVEMATCH) "" "*"', 'LIST (BOGUS) "" "*"',
                'LIST "" "*" RETURN (BOGUS)', 'LIST "" () ',
                'LIST "" "*" RETURN (STATUS (FOO))',
                'LIST "" "*" RETURN', 'LIST "" "*" NOTRETURN ()',
                'LSUB (SUBSCRIBED) "" "*"'):
        a.cmd(bad.strip(), "BAD")
    # LSUB as before
    lines, _ = a.cmd('LSUB "" "*"')
    assert all(ln.startswith(b"* LSUB") for ln in lines)
    assert len(lines) == 3
    # imaplib's own list() still parses the plain answer
    a.close()
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, data = m.list()
    assert typ == "OK" and len(data) == 6
    m.logout()


def test_imap4rev2(imapd, md):
    put(md, b"Subject: one\n\nx\n")
    put(md, b"Subject: two\n\nx\n")
    a = Raw(imapd, md)
    lines, _ = a.cmd("ENABLE IMAP4rev2")
    assert lines == [b"* ENABLED IMAP4rev2"]
    lines, tagged = a.cmd("SELECT INBOX")
    assert not any(b"RECENT" in x or b"[UNSEEN" in x for x in lines)
    assert b'* LIST () "." INBOX' in lines
    assert b"* 2 EXISTS" in lines
    lines, _ = a.cmd("FETCH 1:2 FLAGS")
    assert lines == [b"* 1 FETCH (FLAGS ())", b"* 2 FETCH (FLAGS ())"]
    # SEARCH answers ESEARCH (RFC 9051 6.4.4), UID SEARCH with UID
    lines, _ = a.cmd("SEARCH ALL")
    assert lines == [b'* ESEARCH (TAG "a4") ALL 1:2']
    lines, _ = a.cmd("UID SEARCH CHARSET UTF-8 SUBJECT two")
    assert lines == [b'* ESEARCH (TAG "a5") UID ALL 2']
    lines, _ = a.cmd("SEARCH SUBJECT nothing")
    assert lines == [b'* ESEARCH (TAG "a6")']
    lines, _ = a.cmd("SEARCH RETURN (COUNT) ALL")
    assert lines == [b'* ESEARCH (TAG "a7") COUNT 2']
    # new mail: EXISTS without RECENT
    put(md, b"Subject: three\n\nx\n")
    lines, _ = a.cmd("NOOP")
    assert lines == [b"* 3 EXISTS"]
    # mailbox names in UTF-8
    a.cmd('CREATE "Caf\u00e9"')
    lines, _ = a.cmd('LIST "" "Caf*"')
    assert lines[0].decode("utf-8").endswith("\"Caf\u00e9\""), lines
    lines, _ = a.cmd('STATUS "Caf\u00e9" (MESSAGES SIZE)')
    assert lines[0].endswith(b" (MESSAGES 0 SIZE 0)")
    a.close()
    # without ENABLE, a rev1 session sees RECENT and modified UTF-7
    b = Raw(imapd, md)
    lines, _ = b.cmd("SELECT INBOX")
    assert any(x.endswith(b" RECENT") for x in lines)
    lines, _ = b.cmd('LIST "" "Caf*"')
    assert lines[0].endswith(b"Caf&AOk-")
    lines, _ = b.cmd("SEARCH ALL")
    assert lines == [b"* SEARCH 1 2 3"]
    b.close()
