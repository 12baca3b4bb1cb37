"""test_imap_fetch_fast.py: the light FETCH (FLAGS, UID, MODSEQ), answered
from the index's flags table or from the records, against the full path
(the same command with RFC822.SIZE added, its field taken out of the
answer): byte for byte, with keywords (two or more on a message, in both
orders), \\Recent, CONDSTORE's MODSEQ, CHANGEDSINCE, sequence sets with *,
right after another session changed flags, expunged and appended, past
64 keyword names, and on a folder of 10,000 messages; imaplib over
`imapd DIR`."""

import imaplib
import os
import random
import re

import maildirs

SIZE = re.compile(rb" RFC822\.SIZE \d+")
RECENT = re.compile(rb" \\Recent|\\Recent ?")


def unrecent(lines):
    """lines without \\Recent: only one session sees a message so."""
    return [RECENT.sub(b"", x) for x in lines
            if not re.match(rb"^\* \d+ RECENT$", x)]


def session(imapd, md):
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    return m


def raw(m, line):
    """Runs a command; returns (tagged status, untagged lines)."""
    tag = m._new_tag()
    m.send(tag + b" " + line.encode() + b"\r\n")
    untagged = []
    while True:
        got = m._get_line()
        if got.startswith(tag + b" "):
            return got[len(tag) + 1:], untagged
        untagged.append(got)


def ok(m, line):
    st, lines = raw(m, line)
    assert st.startswith(b"OK"), (line, st)
    return lines


def fetch_pair(fast_m, full_m, cmd, items, mods=""):
    """The answer of cmd with items (fast path) in fast_m and with items
    and RFC822.SIZE (full path) in full_m, the size taken out."""
    fst, fast = raw(fast_m, "%s (%s)%s" % (cmd, items, mods))
    sst, full = raw(full_m, "%s (%s RFC822.SIZE)%s" % (cmd, items, mods))
    return (fst, fast), (sst, [SIZE.sub(b"", x) for x in full])


def same(m, cmd, items, mods=""):
    """Fast and full path in one session (nothing changed between)."""
    fast, full = fetch_pair(m, m, cmd, items, mods)
    assert fast == full, (cmd, items, mods, fast[0], full[0],
                          sorted(set(fast[1]) - set(full[1]))[:4],
                          sorted(set(full[1]) - set(fast[1]))[:4],
                          len(fast[1]), len(full[1]))
    return fast[1]


ITEMS = ["FLAGS", "UID FLAGS", "FLAGS UID", "FLAGS MODSEQ", "MODSEQ FLAGS",
         "UID", "UID MODSEQ", "FLAGS FLAGS"]
SETS = ["1:*", "*", "1,5,9:12,*", "3:1", "2:7,20:*", "*:1"]
UID_SETS = ["1:*", "*", "1:10,50:60", "100:*"]


def check_all(m, where):
    for items in ITEMS:
        for s in SETS:
            lines = same(m, "FETCH " + s, items)
            assert lines, (where, items, s)
        for s in UID_SETS:
            same(m, "UID FETCH " + s, items)
    st, lines = raw(m, "STATUS INBOX (HIGHESTMODSEQ)")
    hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"".join(lines)).group(1))
    for since in (1, hms // 2, hms - 3, hms):
        for items in ("FLAGS", "UID FLAGS", "FLAGS MODSEQ"):
            same(m, "FETCH 1:*", items, " (CHANGEDSINCE %d)" % since)
            same(m, "UID FETCH 1:*", items, " (CHANGEDSINCE %d)" % since)


def fill(md, n, new=0, seed=5):
    rng = random.Random(seed)
    for i in range(n):
        info = ":2," + "".join(
            c for c, p in (("D", 0.05), ("F", 0.2), ("R", 0.3),
                           ("S", 0.7), ("T", 0.05)) if rng.random() < p)
        maildirs.deliver(md, b"From: a@example.com\r\nSubject: m%d\r\n\r\n"
                         b"body %d\r\n" % (i, i), sub="cur", info=info)
    for i in range(new):
        maildirs.deliver(md, b"Subject: new %d\r\n\r\nnew\r\n" % i)


def keywords(m, rng, count):
    """Keywords in both orders: ids ascending on some messages, not on
    others (the table keeps no order)."""
    for _ in range(40):
        a = rng.randrange(1, count + 1)
        ok(m, "STORE %d +FLAGS.SILENT (work $Junk)" % a)
        b = rng.randrange(1, count + 1)
        ok(m, "STORE %d +FLAGS.SILENT ($Junk)" % b)
        ok(m, "STORE %d +FLAGS.SILENT (later work)" % b)
        c = rng.randrange(1, count + 1)
        ok(m, "STORE %d +FLAGS.SILENT (later)" % c)


def changes(m, rng, n):
    """Another session's changes: flags and keywords, an expunge, an
    APPEND."""
    lines = ok(m, "SEARCH ALL")
    count = len(lines[0].split()) - 2
    for _ in range(n):
        r = rng.random()
        lo = rng.randrange(1, count + 1)
        hi = min(count, lo + rng.randrange(0, 4))
        if r < 0.6:
            flag = rng.choice(["\\Seen", "\\Flagged", "\\Answered",
                               "\\Draft", "$Junk", "work", "later"])
            ok(m, "STORE %d:%d %sFLAGS.SILENT (%s)" %
               (lo, hi, rng.choice("+-"), flag))
        elif r < 0.8:
            ok(m, "STORE %d +FLAGS.SILENT (\\Deleted)" % lo)
            # also those filed with T (\Deleted) by fill()
            count -= len([x for x in ok(m, "EXPUNGE")
                          if x.endswith(b" EXPUNGE")])
        else:
            typ, _ = m.append("INBOX", rng.choice(["(\\Seen)", "()",
                                                   "($Junk work)"]),
                              None, b"Subject: app\r\n\r\nx\r\n")
            assert typ == "OK"
            count += 1


def test_light_fetch_against_full_path(imapd, md):
    fill(md, 1200, new=30)
    a = session(imapd, md)          # the one that sees \Recent
    b = session(imapd, md)
    twin = session(imapd, md)
    try:
        rng = random.Random(7)
        # small sets first: the records' path (no table kept yet)
        same(a, "FETCH 1:20", "UID FLAGS")
        keywords(b, rng, 1200)
        ok(a, "NOOP")
        ok(twin, "NOOP")
        lines = same(a, "FETCH 1:*", "UID FLAGS")
        assert any(b"\\Recent" in x for x in lines)
        assert any(b"work $Junk" in x for x in lines)
        assert any(b"$Junk later work" in x or b"$Junk work later" in x
                   for x in lines)
        check_all(a, "start")
        ok(a, "ENABLE CONDSTORE")
        check_all(a, "condstore")
        ok(twin, "ENABLE CONDSTORE")
        for rnd in range(8):
            changes(b, rng, 1 + rnd * 3)
            # the first command after the changes: a answers from its
            # view and then reports them, as twin does by the full path
            sets = ["1:*", "UID 1:*", "2:9,1100:*", "*"][rnd % 4]
            cmd = ("UID FETCH " + sets[4:]) if sets.startswith("UID ") \
                else "FETCH " + sets
            (fst, fast), (sst, full) = fetch_pair(a, twin, cmd,
                                                  ITEMS[rnd % len(ITEMS)])
            assert fst == sst, rnd
            assert unrecent(fast) == unrecent(full), rnd
            # the expunges a FETCH may not report (RFC 3501 7.4.1)
            ok(a, "NOOP")
            check_all(a, "round %d" % rnd)
            ok(twin, "NOOP")
    finally:
        for m in (a, b, twin):
            m.logout()


def test_expunged_by_another_session(imapd, md):
    fill(md, 700)
    a = session(imapd, md)
    b = session(imapd, md)
    twin = session(imapd, md)
    try:
        same(a, "FETCH 1:*", "FLAGS")
        ok(b, "STORE 10:20,600 +FLAGS.SILENT (\\Deleted)")
        gone = len([x for x in ok(b, "EXPUNGE") if x.endswith(b" EXPUNGE")])
        assert gone >= 12
        (fst, fast), (sst, full) = fetch_pair(a, twin, "FETCH 1:*", "FLAGS")
        assert fst.startswith(b"OK [EXPUNGEISSUED]")
        assert (fst, fast) == (sst, full)
        # FETCH may not report them (RFC 3501 7.4.1), UID FETCH does
        assert not [x for x in fast if x.endswith(b" EXPUNGE")]
        assert len(fast) == 700 - gone
        ok(b, "STORE 30 +FLAGS.SILENT (\\Deleted)")
        ok(b, "EXPUNGE")
        (fst, fast), (sst, full) = fetch_pair(a, twin, "UID FETCH 1:*",
                                              "FLAGS")
        assert fst.startswith(b"OK [EXPUNGEISSUED]")
        assert (fst, fast) == (sst, full)
        assert len([x for x in fast if x.endswith(b" EXPUNGE")]) == \
            gone + 1
        same(a, "UID FETCH 1:*", "FLAGS")
    finally:
        for m in (a, b, twin):
            m.logout()


def test_more_than_64_keyword_names(imapd, md):
    fill(md, 600)
    m = session(imapd, md)
    try:
        same(m, "FETCH 1:*", "FLAGS")
        for k in range(70):
            ok(m, "STORE %d +FLAGS.SILENT (kw%d)" % (k % 5 + 1, k))
        lines = same(m, "FETCH 1:*", "UID FLAGS")
        assert b" kw69" in b"".join(lines)
        same(m, "FETCH 1:10", "FLAGS")
    finally:
        m.logout()


def test_ten_thousand_messages(imapd, md):
    fill(md, 10000, new=5, seed=9)
    m = session(imapd, md)
    b = session(imapd, md)
    try:
        rng = random.Random(9)
        keywords(b, rng, 10000)
        ok(m, "NOOP")
        lines = same(m, "UID FETCH 1:*", "FLAGS")
        assert len(lines) == 10005
        same(m, "FETCH 9900:*", "FLAGS")
        same(m, "FETCH *:9990", "UID FLAGS MODSEQ")
        changes(b, rng, 20)
        ok(m, "NOOP")
        lines = same(m, "FETCH 1:*", "UID FLAGS")
        # MODSEQ: the FETCH of MODSEQ above turned CONDSTORE on
        bad = [x for x in lines if not re.match(
            rb"^\* \d+ FETCH \(UID \d+ FLAGS \([^)]*\) MODSEQ \(\d+\)\)$",
            x)]
        assert not bad, bad[:3]
        same(m, "UID FETCH 1:*", "FLAGS", " (CHANGEDSINCE 5)")
    finally:
        m.logout()
        b.logout()
