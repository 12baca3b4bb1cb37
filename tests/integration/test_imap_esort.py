"""test_imap_esort.py: ESORT (RFC 5267 section 3: SORT RETURN (...)
answered with ESEARCH in the sort order) and the PARTIAL return option
(RFC 5267 section 4.4) of SEARCH and SORT, with Python's imaplib over
`imapd DIR`; responses checked against the RFC grammar."""

import imaplib
import os
import re
import time

import pytest

ESEARCH = re.compile(rb'^\(TAG "([^"]+)"\)( UID)?((?: [A-Z]+ [^ ]+)*)'
                     rb'(?: PARTIAL \((\d+:\d+) ([0-9:,]+|NIL)\))?'
                     rb'((?: [A-Z]+ [^ ]+)*)$')


@pytest.fixture
def imapd(suite_build):
    p = suite_build.program("imapd")
    if p is None:
        pytest.fail("imapd is not built", pytrace=False)
    return p


@pytest.fixture
def m(imapd, tmp_path):
    md = str(tmp_path / "Maildir")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, d))
    # UIDs 1..6 in arrival order, subjects sorting as 3 1 5 2 6 4
    subjects = ["b", "d", "a", "f", "c", "e"]
    for i, subj in enumerate(subjects):
        name = "%d.M%dP%d.esort:2," % (1700000000 + i, i, os.getpid())
        path = os.path.join(md, "cur", name)
        with open(path, "wb") as f:
            f.write(b"Subject: %s\nFrom: x@y\n\nbody\n" % subj.encode())
        os.utime(path, (1700000000 + i, 1700000000 + i))
    conn = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    conn.select("INBOX")
    yield conn
    conn.logout()


def run(m, *args):
    """Runs a command; returns (status, its ESEARCH lines parsed)."""
    m.untagged_responses.pop("ESEARCH", None)
    tag = m._new_tag().decode()
    m.send(("%s %s\r\n" % (tag, " ".join(args))).encode())
    typ = None
    while True:
        line = m._get_line()
        if line.startswith(tag.encode() + b" "):
            typ = line.split()[1].decode()
            break
        if line.startswith(b"* ESEARCH "):
            g = ESEARCH.match(line[len(b"* ESEARCH "):])
            assert g, line
            assert g.group(1).decode() == tag
            m.untagged_responses.setdefault("ESEARCH", []).append(g)
    return typ, m.untagged_responses.pop("ESEARCH", [])


def items(g):
    """The name value pairs of an ESEARCH line (without PARTIAL)."""
    words = (g.group(3) + g.group(6)).split()
    return dict(zip(words[0::2], words[1::2]))


def test_capability(m):
    caps = m.capabilities
    assert "ESORT" in caps and "SORT" in caps and "ESEARCH" in caps
    # the live CONTEXT extension (UPDATE) is not there: not advertised
    assert not any(c.startswith("CONTEXT=") for c in caps)


def test_esort(m):
    typ, res = run(m, "UID SORT RETURN () (SUBJECT) UTF-8 ALL")
    assert typ == "OK" and len(res) == 1
    assert res[0].group(2) == b" UID"
    assert items(res[0]) == {b"ALL": b"3,1,5,2,6,4"}
    # the sort order is kept; ascending runs only as ranges (3.2)
    typ, res = run(m, "UID SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL")
    assert items(res[0]) == {b"ALL": b"1:6"}
    typ, res = run(m, "SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL")
    assert res[0].group(2) is None
    assert items(res[0]) == {b"ALL": b"6,5,4,3,2,1"}
    # MIN and MAX: the first and last in the sort order
    typ, res = run(m, "SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL")
    assert items(res[0]) == {b"MIN": b"3", b"MAX": b"4", b"COUNT": b"6"}
    typ, res = run(m, "SORT RETURN (COUNT) (SUBJECT) UTF-8 SUBJECT zzz")
    assert items(res[0]) == {b"COUNT": b"0"}
    # plain SORT is unchanged
    typ, data = m.sort("(SUBJECT)", "UTF-8", "ALL")
    assert data == [b"3 1 5 2 6 4"]
    # SAVE: $ is the result as a set
    typ, res = run(m, "UID SORT RETURN (SAVE) (SUBJECT) UTF-8 "
                   "OR OR SUBJECT a SUBJECT b SUBJECT c")
    assert typ == "OK" and res == []
    typ, data = m.uid("SEARCH", "$")
    assert data == [b"1 3 5"]
    for bad in ("SORT RETURN (SUBJECT) UTF-8 ALL",
                "SORT RETURN (BOGUS) (SUBJECT) UTF-8 ALL",
                "SORT RETURN (PARTIAL 1:2 ALL) (SUBJECT) UTF-8 ALL",
                "SORT RETURN",
                "SORT RETURN () (SUBJECT) UTF-8"):
        typ, res = run(m, bad)
        assert typ == "BAD", bad


def test_partial(m):
    typ, res = run(m, "UID SORT RETURN (PARTIAL 2:4) (SUBJECT) UTF-8 ALL")
    assert typ == "OK"
    assert res[0].group(4) == b"2:4" and res[0].group(5) == b"1,5,2"
    typ, res = run(m, "SORT RETURN (PARTIAL 5:1 COUNT) (SUBJECT) UTF-8 ALL")
    assert res[0].group(4) == b"1:5" and res[0].group(5) == b"3,1,5,2,6"
    assert items(res[0]) == {b"COUNT": b"6"}
    # SEARCH: mailbox order; a range past the end gives what exists
    typ, res = run(m, "SEARCH RETURN (PARTIAL 2:3) ALL")
    assert res[0].group(4) == b"2:3" and res[0].group(5) == b"2:3"
    typ, res = run(m, "UID SEARCH RETURN (PARTIAL 5:100) NOT SUBJECT a")
    assert res[0].group(4) == b"5:100" and res[0].group(5) == b"6"
    typ, res = run(m, "SEARCH RETURN (PARTIAL 7:9) ALL")
    assert res[0].group(4) == b"7:9" and res[0].group(5) == b"NIL"
    for bad in ("SEARCH RETURN (PARTIAL 0:3) ALL",
                "SEARCH RETURN (PARTIAL 1:*) ALL",
                "SEARCH RETURN (PARTIAL) ALL",
                "SEARCH RETURN (ALL PARTIAL 1:2) ALL"):
        typ, res = run(m, bad)
        assert typ == "BAD", bad
