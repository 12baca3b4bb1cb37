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
    assert "CONTEXT=SEARCH" in caps and "CONTEXT=SORT" in caps


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
    # the original range back (RFC 9394 section 3.1)
    assert res[0].group(4) == b"5:1" and res[0].group(5) == b"3,1,5,2,6"
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
                "SEARCH RETURN (ALL PARTIAL 1:2) ALL",
                "SEARCH RETURN (UPDATE BOGUS) ALL"):
        typ, res = run(m, bad)
        assert typ == "BAD", bad


def untagged_esearch(m, cmd):
    """Runs cmd; returns (status, every ESEARCH line, other untagged)."""
    tag = m._new_tag().decode()
    m.send(("%s %s\r\n" % (tag, cmd)).encode())
    es, other = [], []
    while True:
        line = m._get_line()
        if line.startswith(tag.encode() + b" "):
            return line.split()[1].decode(), es, other
        assert line.startswith(b"* "), line
        (es if line.startswith(b"* ESEARCH ") else other).append(line)


def test_context_updates(m, imapd, tmp_path):
    """CONTEXT=SEARCH / CONTEXT=SORT (RFC 5267 4.3): ADDTO and REMOVEFROM
    for this session's changes, another session's and a delivery;
    REMOVEFROM before EXPUNGE; CANCELUPDATE; tag reuse refused."""
    assert "CONTEXT=SEARCH" in m.capabilities
    assert "CONTEXT=SORT" in m.capabilities
    typ, es, _ = untagged_esearch(m, "UID SEARCH RETURN (UPDATE COUNT) "
                                  "UNSEEN")
    assert typ == "OK"
    tag_s = es[0].split(b'"')[1]
    assert es[0].endswith(b" UID COUNT 6")
    typ, es, _ = untagged_esearch(m, "SORT RETURN (UPDATE ALL) (SUBJECT) "
                                  "UTF-8 UNSEEN")
    tag_o = es[0].split(b'"')[1]
    assert es[0].endswith(b" ALL 3,1,5,2,6,4")
    # the same tag again while it has updates: BAD (4.3)
    typ, es, _ = untagged_esearch(m, "SEARCH RETURN (UPDATE) ALL")
    assert typ == "OK"
    tag_reuse = es[0].split(b'"')[1].decode()
    m.send(("%s SEARCH RETURN (UPDATE) SEEN\r\n" % tag_reuse).encode())
    assert m._get_line().startswith(tag_reuse.encode() + b" BAD")
    # this session's own STORE
    typ, es, other = untagged_esearch(m, "UID STORE 5 +FLAGS (\\Seen)")
    assert b'* ESEARCH (TAG "%s") UID REMOVEFROM (0 5)' % tag_s in es
    assert b'* ESEARCH (TAG "%s") REMOVEFROM (0 5)' % tag_o in es
    typ, es, other = untagged_esearch(m, "UID STORE 5 -FLAGS (\\Seen)")
    assert b'* ESEARCH (TAG "%s") UID ADDTO (0 5)' % tag_s in es
    # SORT: its position in the sort order (a b c d e f: "c" is 3rd)
    assert b'* ESEARCH (TAG "%s") ADDTO (3 5)' % tag_o in es
    # another session expunges: REMOVEFROM comes before the EXPUNGE
    other_m = imaplib.IMAP4_stream("%s %s" % (imapd, str(tmp_path /
                                                         "Maildir")))
    other_m.select("INBOX")
    other_m.store("1", "+FLAGS", "\\Deleted")
    other_m.expunge()
    tag = m._new_tag().decode()
    m.send(("%s NOOP\r\n" % tag).encode())
    lines = []
    while True:
        line = m._get_line()
        if line.startswith(tag.encode()):
            break
        lines.append(line)
    rm = [i for i, x in enumerate(lines) if b"REMOVEFROM" in x]
    ex = [i for i, x in enumerate(lines) if x.endswith(b" EXPUNGE")]
    assert len(rm) == 3 and ex and max(rm) < min(ex), lines
    assert b'* ESEARCH (TAG "%s") UID REMOVEFROM (0 1)' % tag_s in lines
    assert b'* ESEARCH (TAG "%s") REMOVEFROM (0 1)' % tag_o in lines
    # a delivery: ADDTO
    name = "%d.new.esort" % 1700000100
    with open(os.path.join(str(tmp_path / "Maildir"), "new", name),
              "wb") as f:
        f.write(b"Subject: aa\n\nnew\n")
    time.sleep(0.1)
    typ, es, other = untagged_esearch(m, "NOOP")
    assert b"* 6 EXISTS" in other
    assert b'* ESEARCH (TAG "%s") UID ADDTO (0 7)' % tag_s in es
    # sorted a, aa, c, d, e, f: the new one is second
    assert b'* ESEARCH (TAG "%s") ADDTO (2 6)' % tag_o in es
    # CANCELUPDATE: no more updates for that tag
    typ, es, other = untagged_esearch(m, 'CANCELUPDATE "%s"' %
                                      tag_s.decode())
    assert typ == "OK"
    typ, es, other = untagged_esearch(m, "STORE 1:* +FLAGS (\\Seen)")
    assert not any(b'TAG "%s"' % tag_s in x for x in es)
    assert any(b'TAG "%s") REMOVEFROM (0 1:6)' % tag_o in x for x in es)
    typ, es, other = untagged_esearch(m, "CANCELUPDATE")
    assert typ == "BAD"
    other_m.logout()


def test_cancelupdate_grammar(m):
    """CANCELUPDATE (RFC 5267 section 4.3.5), by its formal syntax in
    section 5:

        command-select =/ "CANCELUPDATE" 1*(SP quoted)

    tags are quoted strings: an unquoted atom or a literal is not in the
    grammar (BAD, nothing cancelled, the session goes on); several tags
    cancel them all; a tag that has no updates is not an error."""
    tags = {}
    for key, cmd in (("a", "SEARCH RETURN (UPDATE COUNT) UNSEEN"),
                     ("b", "SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 "
                           "UNSEEN"),
                     ("c", "UID SEARCH RETURN (UPDATE) SEEN")):
        typ, es, _ = untagged_esearch(m, cmd)
        assert typ == "OK" and len(es) == 1, es
        tags[key] = re.match(rb'^\* ESEARCH \(TAG "([^"]+)"\)',
                             es[0]).group(1).decode()

    def updated(cmd):
        typ, es, _ = untagged_esearch(m, cmd)
        assert typ == "OK"
        return sorted(re.match(rb'^\* ESEARCH \(TAG "([^"]+)"\)', x)
                      .group(1).decode() for x in es)

    for bad in ("CANCELUPDATE",
                "CANCELUPDATE %s" % tags["a"],
                'CANCELUPDATE "%s" %s' % (tags["a"], tags["b"]),
                'CANCELUPDATE {%d+}\r\n%s' % (len(tags["a"]), tags["a"]),
                'CANCELUPDATE ("%s")' % tags["a"],
                "CANCELUPDATE NIL"):
        typ, es, _ = untagged_esearch(m, bad)
        assert typ == "BAD", bad
    # nothing was cancelled: every context still gets its update
    assert updated("STORE 1 +FLAGS (\\Seen)") == sorted(tags.values())
    typ, _, _ = untagged_esearch(m, 'CANCELUPDATE "%s" "%s"' %
                                 (tags["a"], tags["b"]))
    assert typ == "OK"
    assert updated("STORE 1 -FLAGS (\\Seen)") == [tags["c"]]
    # unknown and already cancelled tags
    typ, _, _ = untagged_esearch(m, 'CANCELUPDATE "nosuch" "%s"' %
                                 tags["a"])
    assert typ == "OK"
    assert updated("STORE 2 +FLAGS (\\Seen)") == [tags["c"]]
    typ, _, _ = untagged_esearch(m, 'CANCELUPDATE "%s"' % tags["c"])
    assert typ == "OK"
    assert updated("STORE 2 -FLAGS (\\Seen)") == []
    # selected state only (RFC 5267 section 4.3.5)
    typ, _, _ = untagged_esearch(m, "CLOSE")
    assert typ == "OK"
    typ, _, _ = untagged_esearch(m, 'CANCELUPDATE "%s"' % tags["c"])
    assert typ == "BAD"
