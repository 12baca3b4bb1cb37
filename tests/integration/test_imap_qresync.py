"""test_imap_qresync.py: CONDSTORE and QRESYNC (RFC 7162) in imapd, with
Python's imaplib over the stdin/stdout tunnel (`imapd DIR`): ENABLE,
SELECT (CONDSTORE) and (QRESYNC ...), HIGHESTMODSEQ, MODSEQ in solicited
and unsolicited FETCH, VANISHED instead of EXPUNGE, VANISHED (EARLIER) at
SELECT and in UID FETCH (CHANGEDSINCE n VANISHED), a resync after
expunges made by another session, and the full resync a rebuilt index
forces.  Every response line is checked against the RFC grammar."""

import os
import re

from imaphelp import Tunnel
from maildirs import deliver, make_maildir  # noqa: F401

# RFC 7162 section 7 (with RFC 3501's sequence-set, without "*": a
# VANISHED response carries UIDs only).
NZ = rb"[1-9][0-9]*"
UIDSET = rb"(?:" + NZ + rb"(?::" + NZ + rb")?)(?:," + NZ + rb"(?::" + \
    NZ + rb")?)*"
VANISHED = re.compile(rb"^\* VANISHED (\(EARLIER\) )?(" + UIDSET + rb")$")
FLAG = rb"(?:\\[A-Za-z]+|[^\s()\\{\"%*\]]+)"
FLAGS = rb"\((?:" + FLAG + rb"(?: " + FLAG + rb")*)?\)"
FETCH_MODSEQ = re.compile(rb"^\* (" + NZ + rb") FETCH \(UID (" + NZ +
                          rb") FLAGS (" + FLAGS + rb") MODSEQ \((" + NZ +
                          rb")\)\)$")
FETCH_FLAGS_MODSEQ = re.compile(rb"^\* (" + NZ + rb") FETCH \(FLAGS (" +
                                FLAGS + rb") MODSEQ \((" + NZ + rb")\)\)$")
HIGHESTMODSEQ = re.compile(rb"\[HIGHESTMODSEQ (" + NZ + rb")\]")
UNTAGGED = re.compile(rb"^\* (?:OK|NO|BAD|BYE|PREAUTH|FLAGS|CAPABILITY|"
                      rb"ENABLED|STATUS|VANISHED|LIST|LSUB|ESEARCH|SEARCH|QUOTA|QUOTAROOT|"
                      rb"[0-9]+ (?:EXISTS|RECENT|"
                      rb"EXPUNGE|FETCH))(?: |$)")


def put(md, data, sub="new", info=""):
    """Delivers data into the maildir the way any MDA would; returns the
    base name."""
    return deliver(md, data, sub, info, "qr")


class Raw(Tunnel):
    """A session that sends commands as written and returns the raw
    response lines, so that they can be checked against the grammar."""

    def __init__(self, imapd, md):
        super().__init__(imapd, md, UNTAGGED)


def highestmodseq(lines):
    for line in lines:
        m = HIGHESTMODSEQ.search(line)
        if m:
            return int(m.group(1))
    raise AssertionError("no HIGHESTMODSEQ in %r" % lines)


def uidvalidity(lines):
    for line in lines:
        m = re.search(rb"\[UIDVALIDITY (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise AssertionError("no UIDVALIDITY in %r" % lines)


def vanished(lines, earlier):
    """The UIDs of the VANISHED lines (all checked)."""
    uids = []
    for line in lines:
        if not line.startswith(b"* VANISHED"):
            continue
        m = VANISHED.match(line)
        assert m, line
        assert bool(m.group(1)) == earlier, line
        for part in m.group(2).split(b","):
            lo, _, hi = part.partition(b":")
            lo, hi = int(lo), int(hi or lo)
            assert lo <= hi, line
            uids.extend(range(lo, hi + 1))
    return uids


def fetches(lines):
    """{uid: (seq, flags, modseq)} of FETCH lines (all must have MODSEQ)."""
    out = {}
    for line in lines:
        if b" FETCH " not in line:
            continue
        m = FETCH_MODSEQ.match(line)
        assert m, line
        out[int(m.group(2))] = (int(m.group(1)), m.group(3),
                                int(m.group(4)))
    return out


def test_capability_and_enable(imapd, md):
    a = Raw(imapd, md)
    lines, _ = a.cmd("CAPABILITY")
    caps = lines[0].split()
    assert b"CONDSTORE" in caps and b"QRESYNC" in caps
    lines, _ = a.cmd("ENABLE QRESYNC")
    assert lines == [b"* ENABLED QRESYNC"]
    lines, _ = a.cmd("ENABLE QRESYNC CONDSTORE")
    assert lines == [b"* ENABLED"]
    a.close()
    a = Raw(imapd, md)
    lines, _ = a.cmd("ENABLE CONDSTORE")
    assert lines == [b"* ENABLED CONDSTORE"]
    a.close()


def test_condstore(imapd, md):
    for i in range(3):
        put(md, b"Subject: c%d\n\nx\n" % i)
    a = Raw(imapd, md)
    b = Raw(imapd, md)
    # plain SELECT: no MODSEQ in FETCH FLAGS until CONDSTORE is on
    lines, _ = a.cmd("SELECT INBOX")
    m0 = highestmodseq(lines)
    lines, _ = a.cmd("FETCH 1 FLAGS")
    assert lines == [b"* 1 FETCH (FLAGS (\\Recent))"]
    lines, tagged = a.cmd("SELECT INBOX (CONDSTORE)")
    assert highestmodseq(lines) == m0
    assert b"[READ-WRITE]" in tagged
    lines, _ = a.cmd("FETCH 1:3 (FLAGS)")
    assert len(lines) == 3
    for i, line in enumerate(lines):
        m = FETCH_FLAGS_MODSEQ.match(line)
        assert m and int(m.group(1)) == i + 1, line
        assert 0 < int(m.group(3)) <= m0
    # STORE answers with the new MODSEQ, .SILENT too
    lines, _ = a.cmd("UID STORE 2 +FLAGS.SILENT (\\Flagged)")
    assert len(lines) == 1
    assert re.match(rb"^\* 2 FETCH \(UID 2 MODSEQ \((\d+)\)\)$", lines[0])
    m1 = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
    assert m1 > m0
    lines, _ = a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m0)
    f = fetches(lines)
    assert list(f) == [2] and f[2][2] == m1 and b"\\Flagged" in f[2][1]
    # another session's change reaches a as FETCH with MODSEQ
    b.cmd("SELECT INBOX")
    b.cmd("STORE 3 +FLAGS (\\Seen)")
    lines, _ = a.cmd("NOOP")
    f = fetches(lines)
    assert list(f) == [3] and b"\\Seen" in f[3][1] and f[3][2] > m1
    # STATUS HIGHESTMODSEQ agrees; EXPUNGE ends with HIGHESTMODSEQ
    lines, _ = b.cmd("STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
    assert re.match(rb"^\* STATUS INBOX \(HIGHESTMODSEQ (\d+) MESSAGES 3\)$",
                    lines[0])
    hm = int(lines[0].split()[4])
    assert hm == f[3][2]
    a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines, tagged = a.cmd("EXPUNGE")
    assert b"* 1 EXPUNGE" in lines
    assert int(HIGHESTMODSEQ.search(tagged).group(1)) > hm
    a.close()
    b.close()


def test_qresync_after_other_session_expunges(imapd, md):
    for i in range(10):
        put(md, b"Subject: q%d\n\nx\n" % i)
    a = Raw(imapd, md)
    a.cmd("ENABLE QRESYNC")
    lines, _ = a.cmd("SELECT INBOX")
    uv, m0 = uidvalidity(lines), highestmodseq(lines)
    a.close()

    # meanwhile another client changes flags, expunges and gets mail
    b = Raw(imapd, md)
    b.cmd("SELECT INBOX")
    b.cmd("STORE 2 +FLAGS (\\Seen)")
    b.cmd("STORE 5 +FLAGS ($Important)")
    b.cmd("STORE 3:4,7 +FLAGS.SILENT (\\Deleted)")
    lines, _ = b.cmd("EXPUNGE")
    # without QRESYNC: EXPUNGE responses, highest first
    assert [x for x in lines if b"EXPUNGE" in x] == [
        b"* 7 EXPUNGE", b"* 4 EXPUNGE", b"* 3 EXPUNGE"]
    put(md, b"Subject: new\n\nx\n")
    b.cmd("NOOP")
    b.close()

    # the resync: VANISHED (EARLIER) and the changed flags in one SELECT
    a = Raw(imapd, md)
    a.cmd("ENABLE QRESYNC")
    lines, tagged = a.cmd("SELECT INBOX (QRESYNC (%d %d 1:10))" % (uv, m0))
    assert b"* 8 EXISTS" in lines
    assert vanished(lines, True) == [3, 4, 7]
    f = fetches(lines)
    assert sorted(f) == [2, 5]		# uid 11 is not in known-uids
    assert f[2][0] == 2 and b"\\Seen" in f[2][1]
    assert f[5][0] == 3 and b"$Important" in f[5][1]
    assert all(v[2] > m0 for v in f.values())
    m1 = highestmodseq(lines)
    assert m1 > m0
    # VANISHED (EARLIER) and FETCH come after the other SELECT data
    order = [i for i, x in enumerate(lines)
             if x.startswith(b"* VANISHED") or b" FETCH " in x]
    assert min(order) > max(i for i, x in enumerate(lines)
                            if b"HIGHESTMODSEQ" in x or b"EXISTS" in x)
    # without known-uids the new message is sent too
    lines, _ = a.cmd("EXAMINE INBOX (QRESYNC (%d %d))" % (uv, m0))
    assert lines[0] == b"* OK [CLOSED] Previous mailbox closed"
    assert vanished(lines, True) == [3, 4, 7]
    assert sorted(fetches(lines)) == [2, 5, 11]
    # a known-uids set and seq-match data are accepted
    lines, _ = a.cmd("SELECT INBOX (QRESYNC (%d %d 5:3,1:2 (1:3 1:3)))"
                     % (uv, m0))
    assert vanished(lines, True) == [3, 4]
    assert sorted(fetches(lines)) == [2, 5]
    # up to date: nothing to say
    lines, _ = a.cmd("SELECT INBOX (QRESYNC (%d %d 1:11))" % (uv, m1))
    assert vanished(lines, True) == [] and fetches(lines) == {}
    # another UIDVALIDITY: a plain SELECT
    lines, _ = a.cmd("SELECT INBOX (QRESYNC (%d %d 1:11))" % (uv + 1, m0))
    assert vanished(lines, True) == [] and fetches(lines) == {}

    # while selected: another session's expunge comes as VANISHED
    b = Raw(imapd, md)
    b.cmd("SELECT INBOX")
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.cmd("EXPUNGE")
    lines, _ = a.cmd("NOOP")
    assert vanished(lines, False) == [1]
    assert not any(b"EXPUNGE" in x for x in lines)
    # and our own EXPUNGE too, with the new HIGHESTMODSEQ
    a.cmd("UID STORE 8:9 +FLAGS.SILENT (\\Deleted)")
    lines, tagged = a.cmd("UID EXPUNGE 8:9")
    assert vanished(lines, False) == [8, 9]
    m2 = int(HIGHESTMODSEQ.search(tagged).group(1))
    assert m2 > m1
    # UID FETCH (CHANGEDSINCE n VANISHED)
    lines, _ = a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % m0)
    assert lines[0].startswith(b"* VANISHED (EARLIER) ")
    assert vanished(lines, True) == [1, 3, 4, 7, 8, 9]
    f = fetches(lines)
    assert sorted(f) == [2, 5, 11]
    lines, _ = a.cmd("UID FETCH 4:8 (FLAGS) (CHANGEDSINCE %d VANISHED)"
                     % m0)
    assert vanished(lines, True) == [4, 7, 8]
    assert sorted(fetches(lines)) == [5]
    lines, _ = a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                     % m2)
    assert lines == []
    a.close()
    b.close()


def test_qresync_errors(imapd, md):
    put(md, b"Subject: e\n\nx\n")
    a = Raw(imapd, md)
    # QRESYNC parameters before ENABLE QRESYNC
    a.cmd("SELECT INBOX (QRESYNC (1 1))", "BAD")
    a.cmd("ENABLE QRESYNC")
    for bad in ("(QRESYNC)", "(QRESYNC (1))", "(QRESYNC (0 1))",
                "(QRESYNC (1 x))", "(QRESYNC (1 1 1:*))",
                "(QRESYNC (1 1 1:2 (1)))", "(QRESYNC (1 1 1:2 (1 2) 3))",
                "(QRESYNC (1 99999999999999999999))", "(FOO)", "CONDSTORE",
                "(QRESYNC (4294967296 1))"):
        a.cmd("SELECT INBOX %s" % bad, "BAD")
    a.cmd("SELECT INBOX (CONDSTORE)")
    # VANISHED only in UID FETCH with CHANGEDSINCE
    a.cmd("FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)", "BAD")
    a.cmd("UID FETCH 1 FLAGS (VANISHED)", "BAD")
    a.cmd("UID FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED VANISHED)", "BAD")
    a.cmd("UID FETCH 1 FLAGS (CHANGEDSINCE 0)", "BAD")
    lines, _ = a.cmd("UID FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)")
    assert list(fetches(lines)) == [1]
    a.close()
    # without QRESYNC enabled, VANISHED in FETCH is refused
    a = Raw(imapd, md)
    a.cmd("SELECT INBOX")
    a.cmd("UID FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)", "BAD")
    a.close()


def test_qresync_rebuilt_index(imapd, md):
    """A Courier maildir's index rebuilt from courierimapuiddb keeps the
    UIDVALIDITY: MODSEQs go on above the old ones, and a client that
    synced with the old index gets a full resync."""
    names = [put(md, b"Subject: r%d\n\nx\n" % i, sub="cur", info=":2,")
             for i in range(5)]
    with open(os.path.join(md, "courierimapuiddb"), "w") as f:
        f.write("1 1234567 6\n")
        for i, n in enumerate(names):
            f.write("%d %s\n" % (i + 1, n))
    a = Raw(imapd, md)
    a.cmd("ENABLE QRESYNC")
    lines, _ = a.cmd("SELECT INBOX")
    assert uidvalidity(lines) == 1234567
    a.cmd("STORE 1 +FLAGS (\\Answered)")
    lines, _ = a.cmd("STATUS Nope (HIGHESTMODSEQ)", "NO")
    a.cmd("UNSELECT")
    lines, _ = a.cmd("STATUS INBOX (HIGHESTMODSEQ)")
    m_old = int(lines[0].split()[4].rstrip(b")"))
    a.close()
    # the index goes (damaged, deleted); a message went meanwhile
    os.unlink(os.path.join(md, "courier-suite.index"))
    os.unlink(os.path.join(md, "cur", names[1] + ":2,"))
    a = Raw(imapd, md)
    a.cmd("ENABLE QRESYNC")
    lines, _ = a.cmd("SELECT INBOX (QRESYNC (1234567 %d 1:5))" % m_old)
    assert uidvalidity(lines) == 1234567
    assert highestmodseq(lines) > m_old
    assert vanished(lines, True) == [2]
    assert sorted(fetches(lines)) == [1, 3, 4, 5]
    a.close()
