"""test_imap_searchres.py: SEARCHRES (RFC 5182) in imapd, with Python's
imaplib over the stdin/stdout tunnel: SEARCH RETURN (SAVE) and "$" in
FETCH, UID FETCH, STORE, COPY, MOVE, UID EXPUNGE and SEARCH; "$" after
expunges, after a failed SAVE and after a new SELECT; a MODSEQ search key
turning CONDSTORE on (RFC 7162 3.1).  Responses are checked against the
RFC grammar."""

import os
import re


from test_imap_qresync import Raw, make_maildir

NZ = rb"[1-9][0-9]*"
FETCH_UID_FLAGS = re.compile(rb"^\* (" + NZ + rb") FETCH \(UID (" + NZ +
                             rb") FLAGS \(([^()]*)\)\)$")
ESEARCH = re.compile(rb'^\* ESEARCH \(TAG "[^"]+"\)( UID)?'
                     rb'( (MIN|MAX|COUNT|ALL) [0-9:,]+)*$')
COPYUID = re.compile(rb"\[COPYUID [0-9]+ [0-9:,]+ [0-9:,]+\]")


def fill(md, n):
    """n messages in cur/ (not \\Recent), named so that message i gets
    UID i."""
    for i in range(1, n + 1):
        name = "1700000000.M%06dP1.sr:2," % i
        with open(os.path.join(md, "cur", name), "wb") as f:
            f.write(b"From: a%d@example.test\nSubject: m%d\n\nbody %d\n" %
                    (i, i, i))


def norec(lines):
    """The lines without RECENT/EXISTS counts and without the \\Recent
    flag (every message is new to the session)."""
    out = []
    for line in lines:
        if re.match(rb"^\* [0-9]+ (RECENT|EXISTS)$", line):
            continue
        out.append(line.replace(b" \\Recent", b"").replace(b"\\Recent",
                                                             b""))
    return out


def fetched(lines):
    """{seq: (uid, flags)} of FETCH (UID n FLAGS (...)) lines."""
    out = {}
    for line in norec(lines):
        m = FETCH_UID_FLAGS.match(line)
        assert m, line
        out[int(m.group(1))] = (int(m.group(2)), m.group(3).split())
    return out


def test_capability_and_save_in_fetch_store(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    fill(md, 6)
    a = Raw(imapd, md)
    lines, _ = a.cmd("CAPABILITY")
    assert b"SEARCHRES" in lines[0].split()
    a.cmd("SELECT INBOX")
    # "$" before any SEARCH ... SAVE is the empty set
    lines, _ = a.cmd("FETCH $ (UID FLAGS)")
    assert lines == []
    # SAVE alone: no ESEARCH response
    lines, _ = a.cmd("SEARCH RETURN (SAVE) OR SUBJECT m2 SUBJECT m5")
    assert lines == []
    lines, _ = a.cmd("FETCH $ (UID FLAGS)")
    assert sorted(fetched(lines)) == [2, 5]
    lines, _ = a.cmd("UID FETCH $ (FLAGS)")
    assert sorted(fetched(lines)) == [2, 5]
    lines, _ = a.cmd("STORE $ +FLAGS (\\Flagged)")
    assert norec(lines) == [b"* 2 FETCH (FLAGS (\\Flagged))",
                     b"* 5 FETCH (FLAGS (\\Flagged))"]
    lines, _ = a.cmd("SEARCH FLAGGED")
    assert lines == [b"* SEARCH 2 5"]
    # SAVE with other options answers ESEARCH and saves all matches
    lines, _ = a.cmd("UID SEARCH RETURN (SAVE COUNT) SUBJECT m")
    assert len(lines) == 1 and ESEARCH.match(lines[0]), lines
    assert lines[0].endswith(b" UID COUNT 6")
    lines, _ = a.cmd("FETCH $ (UID FLAGS)")
    assert sorted(fetched(lines)) == [1, 2, 3, 4, 5, 6]
    # MIN alone saves only the minimum (RFC 5182 2.4)
    lines, _ = a.cmd("SEARCH RETURN (SAVE MIN) SUBJECT m")
    assert lines and ESEARCH.match(lines[0]) and lines[0].endswith(
        b" MIN 1"), lines
    lines, _ = a.cmd("FETCH $ (UID FLAGS)")
    assert sorted(fetched(lines)) == [1]
    # "$" inside SEARCH
    a.cmd("SEARCH RETURN (SAVE) FLAGGED")
    lines, _ = a.cmd("SEARCH $ SUBJECT m5")
    assert lines == [b"* SEARCH 5"]
    # a failed SEARCH ... SAVE leaves $ empty
    a.cmd("SEARCH RETURN (SAVE) NOSUCHKEY", "BAD")
    lines, _ = a.cmd("FETCH $ (UID FLAGS)")
    assert lines == []
    # a malformed set is still BAD
    a.cmd("FETCH $$ (UID)", "BAD")
    a.cmd("FETCH 1,$ (UID)", "BAD")
    a.close()


def test_copy_move_expunge_and_reselect(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    make_maildir(str(tmp_path / "Maildir" / ".Archive"))
    make_maildir(str(tmp_path / "Maildir" / ".Other"))
    fill(md, 5)
    a = Raw(imapd, md)
    a.cmd("SELECT INBOX")
    a.cmd("SEARCH RETURN (SAVE) OR SUBJECT m1 OR SUBJECT m3 SUBJECT m4")
    lines, tagged = a.cmd("COPY $ Archive")
    assert COPYUID.search(tagged) and b" 1,3:4 " in tagged, tagged
    lines, _ = a.cmd("STATUS Archive (MESSAGES)")
    assert lines == [b"* STATUS Archive (MESSAGES 3)"]
    # expunge one of the saved messages: $ loses it, keeps the rest
    a.cmd("UID STORE 3 +FLAGS (\\Deleted)")
    lines, _ = a.cmd("UID EXPUNGE $")
    assert norec(lines) == [b"* 3 EXPUNGE"]
    lines, _ = a.cmd("FETCH $ (UID FLAGS)")
    assert fetched(lines) == {1: (1, []), 3: (4, [])}
    # UID EXPUNGE $ touches only the saved messages
    a.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)")
    a.cmd("SEARCH RETURN (SAVE) UID 4")
    lines, _ = a.cmd("UID EXPUNGE $")
    assert norec(lines) == [b"* 3 EXPUNGE"]
    a.cmd("STORE 1:* -FLAGS.SILENT (\\Deleted)")
    a.cmd("SEARCH RETURN (SAVE) UID 2,5")
    lines, tagged = a.cmd("MOVE $ Other")
    assert COPYUID.search(b" ".join(lines + [tagged])), (lines, tagged)
    assert [l for l in lines if l.endswith(b"EXPUNGE")] == [
        b"* 3 EXPUNGE", b"* 2 EXPUNGE"]
    lines, _ = a.cmd("STATUS Other (MESSAGES)")
    assert lines == [b"* STATUS Other (MESSAGES 2)"]
    lines, _ = a.cmd("UID SEARCH ALL")
    assert lines == [b"* SEARCH 1"]
    # a new SELECT empties $
    a.cmd("SEARCH RETURN (SAVE) ALL")
    a.cmd("SELECT Archive")
    lines, _ = a.cmd("FETCH $ (UID)")
    assert lines == []
    a.close()


def test_modseq_search_enables_condstore(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    fill(md, 3)
    a = Raw(imapd, md)
    a.cmd("SELECT INBOX")
    lines, _ = a.cmd("STORE 1 +FLAGS (\\Seen)")
    assert norec(lines) == [b"* 1 FETCH (FLAGS (\\Seen))"]
    lines, _ = a.cmd("SEARCH MODSEQ 1")
    assert re.match(rb"^\* SEARCH 1 2 3 \(MODSEQ [0-9]+\)$", lines[0])
    # from now on FLAGS come with MODSEQ
    lines, _ = a.cmd("STORE 2 +FLAGS (\\Seen)")
    assert re.match(rb"^\* 2 FETCH \(FLAGS \(\\Seen\) MODSEQ \([0-9]+\)\)$",
                    norec(lines)[0]), lines
    a.close()
