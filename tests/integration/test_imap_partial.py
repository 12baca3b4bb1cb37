"""test_imap_partial.py: RFC 9394 PARTIAL (paged SEARCH and FETCH) in
imapd, through Python's imaplib over the stdin/stdout tunnel, with the
responses checked against the RFC grammar:

  search-return-opt =/ "PARTIAL" SP partial-range            (9394 sec. 4)
  fetch-modifier    =/ "PARTIAL" SP partial-range
  partial-range       = partial-range-first / partial-range-last
  partial-range-first = nz-number ":" nz-number
  partial-range-last  = MINUS nz-number ":" MINUS nz-number
  search-return-data =/ "PARTIAL" SP "(" partial-range SP partial-results ")"
  partial-results     = sequence-set / "NIL"

and section 3.1 (ranges count matching messages from the first, or from
the last with "-"; 500:400 is 400:500; no more than one PARTIAL, not
with ALL), section 3.2 (SAVE keeps what PARTIAL returned) and section
3.3 (the FETCH modifier, with CHANGEDSINCE)."""

import re

import pytest

from maildirs import make_maildir
from test_imap_qresync import Raw, put  # noqa: F401

# RFC 4731 section 3.1 and RFC 4466 section 2.6.2 with RFC 9394's PARTIAL
ESEARCH = re.compile(
    rb'^\* ESEARCH \(TAG "[^"\\]+"\)( UID)?'
    rb'( (MIN|MAX|COUNT|MODSEQ) \d+| ALL \d+(:\d+)?(,\d+(:\d+)?)*'
    rb'| PARTIAL \((\d+:\d+|-\d+:-\d+) (\d+(:\d+)?(,\d+(:\d+)?)*|NIL)\))*$')
FETCH = re.compile(rb"^\* (\d+) FETCH \((.*)\)$")


@pytest.fixture
def box(imapd, tmp_path):
    """A session on INBOX with UIDs 1, 2, 5:12 (messages 1 to 10) and
    \\Seen on UIDs 1, 5, 6 and 12."""
    md = make_maildir(str(tmp_path / "Maildir"))
    for i in range(12):
        put(md, b"Subject: m%d\n\nbody %d\n" % (i + 1, i + 1))
    a = Raw(imapd, md)
    a.cmd("SELECT INBOX")
    a.cmd("UID STORE 3:4 +FLAGS.SILENT (\\Deleted)")
    a.cmd("EXPUNGE")
    a.cmd("UID STORE 1,5,6,12 +FLAGS.SILENT (\\Seen)")
    yield a
    a.close()


def esearch(a, text):
    lines, _ = a.cmd(text)
    es = [x for x in lines if x.startswith(b"* ESEARCH")]
    assert len(es) == 1, lines
    assert ESEARCH.match(es[0]), es[0]
    return es[0].split(b") ", 1)[1] if b") " in es[0] else b""


def fetched(a, text):
    lines, _ = a.cmd(text)
    out = []
    for x in lines:
        m = FETCH.match(x)
        if m:
            uid = re.search(rb"UID (\d+)", m.group(2))
            out.append((int(m.group(1)), int(uid.group(1)) if uid else None))
    return out


def test_capability(box):
    lines, _ = box.cmd("CAPABILITY")
    assert b"PARTIAL" in lines[0].split()


def test_search_partial(box):
    assert esearch(box, "UID SEARCH RETURN (PARTIAL 1:3) ALL") == \
        b"UID PARTIAL (1:3 1:2,5)"
    # -1 is the last match (RFC 9394 section 3.1)
    assert esearch(box, "UID SEARCH RETURN (PARTIAL -1:-3) ALL") == \
        b"UID PARTIAL (-1:-3 10:12)"
    # 500:400 is 400:500, and the original range comes back; message
    # numbers without UID
    assert esearch(box, "SEARCH RETURN (PARTIAL -3:-1) ALL") == \
        b"PARTIAL (-3:-1 8:10)"
    assert esearch(box, "SEARCH RETURN (PARTIAL 4:2) ALL") == \
        b"PARTIAL (4:2 2:4)"
    # a range partly or wholly past the end
    assert esearch(box, "UID SEARCH RETURN (PARTIAL 9:20) ALL") == \
        b"UID PARTIAL (9:20 11:12)"
    assert esearch(box, "UID SEARCH RETURN (PARTIAL 11:20) ALL") == \
        b"UID PARTIAL (11:20 NIL)"
    assert esearch(box, "UID SEARCH RETURN (PARTIAL -11:-20) ALL") == \
        b"UID PARTIAL (-11:-20 NIL)"
    assert esearch(box, "UID SEARCH RETURN (PARTIAL -8:-20) ALL") == \
        b"UID PARTIAL (-8:-20 1:2,5)"
    # no match at all
    assert esearch(box, "UID SEARCH RETURN (PARTIAL -1:-5) SUBJECT nope") \
        == b"UID PARTIAL (-1:-5 NIL)"
    # COUNT, MIN and MAX still cover every match; UNSEEN is 2,7:11
    r = esearch(box, "UID SEARCH RETURN (MIN MAX COUNT PARTIAL -1:-2) "
                "UNSEEN")
    assert r == b"UID MIN 2 MAX 11 COUNT 6 PARTIAL (-1:-2 10:11)"
    # paging backwards through UNSEEN, two by two
    pages = [esearch(box, "UID SEARCH RETURN (PARTIAL -%d:-%d) UNSEEN" %
                     (i, i + 1)) for i in (1, 3, 5, 7)]
    assert pages == [b"UID PARTIAL (-1:-2 10:11)",
                     b"UID PARTIAL (-3:-4 8:9)",
                     b"UID PARTIAL (-5:-6 2,7)",
                     b"UID PARTIAL (-7:-8 NIL)"]


def test_search_partial_bad(box):
    for ret in ("PARTIAL -1:5", "PARTIAL 1:-5", "PARTIAL 0:5",
                "PARTIAL -0:-5", "PARTIAL 1:*", "PARTIAL *:-1",
                "PARTIAL 5", "PARTIAL", 'PARTIAL "1:5"',
                "PARTIAL 1:4294967296", "PARTIAL --1:-5",
                "PARTIAL 1:5 ALL", "ALL PARTIAL -1:-5",
                "PARTIAL 1:5 PARTIAL 6:9", "ALL ALL", "MIN ALL COUNT ALL"):
        lines, tagged = box.cmd("UID SEARCH RETURN (%s) ALL" % ret, "BAD")
        assert not any(x.startswith(b"* ESEARCH") for x in lines)
    # the session goes on
    assert esearch(box, "UID SEARCH RETURN (PARTIAL 1:1) ALL") == \
        b"UID PARTIAL (1:1 1)"


def test_search_partial_save(box):
    """RFC 9394 section 3.2: with SAVE, $ is what PARTIAL returned."""
    box.cmd("UID SEARCH RETURN (SAVE PARTIAL -1:-2) ALL")
    assert [u for _, u in fetched(box, "UID FETCH $ (UID)")] == [11, 12]
    box.cmd("UID SEARCH RETURN (SAVE MIN PARTIAL -1:-2) ALL")
    assert [u for _, u in fetched(box, "UID FETCH $ (UID)")] == [1, 11, 12]
    # with COUNT, everything is saved (RFC 5182 section 2.4)
    box.cmd("UID SEARCH RETURN (SAVE COUNT PARTIAL -1:-2) UNSEEN")
    assert [u for _, u in fetched(box, "UID FETCH $ (UID)")] == \
        [2, 7, 8, 9, 10, 11]


def test_context_partial_still_works(box):
    """CONTEXT=SEARCH's PARTIAL with UPDATE (RFC 5267 section 4.4)."""
    assert esearch(box, "UID SEARCH RETURN (UPDATE PARTIAL 2:3) ALL") == \
        b"UID PARTIAL (2:3 2,5)"


def test_fetch_partial(box):
    # RFC 9394 section 3.3: of the messages of the set, in order
    assert fetched(box, "UID FETCH 1:* (FLAGS) (PARTIAL -1:-3)") == \
        [(8, 10), (9, 11), (10, 12)]
    assert fetched(box, "UID FETCH 1:* (FLAGS) (PARTIAL 1:3)") == \
        [(1, 1), (2, 2), (3, 5)]
    assert fetched(box, "UID FETCH 6:10 (FLAGS) (PARTIAL 4:2)") == \
        [(5, 7), (6, 8), (7, 9)]
    assert fetched(box, "FETCH 1:* (UID) (PARTIAL -2:-1)") == \
        [(9, 11), (10, 12)]
    assert fetched(box, "FETCH 2,4,6 (UID) (PARTIAL 2:2)") == [(4, 6)]
    assert fetched(box, "UID FETCH 1:* (FLAGS) (PARTIAL 11:20)") == []
    assert fetched(box, "UID FETCH 1:* (FLAGS) (PARTIAL -11:-30)") == []
    # no MODSEQ unless asked for: PARTIAL is not CONDSTORE
    lines, _ = box.cmd("UID FETCH 1:* (FLAGS) (PARTIAL -1:-1)")
    assert lines == [b"* 10 FETCH (UID 12 FLAGS (\\Seen \\Recent))"]


def test_fetch_partial_changedsince(box):
    lines, _ = box.cmd("UID FETCH 12 (MODSEQ)")
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
    box.cmd("UID STORE 2,8,9,11 +FLAGS.SILENT (\\Flagged)")
    # CHANGEDSINCE first, then PARTIAL of what changed
    r = fetched(box, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d PARTIAL -1:-2)"
                % modseq)
    assert r == [(7, 9), (9, 11)]
    r = fetched(box, "UID FETCH 1:* (FLAGS) (PARTIAL 1:1 CHANGEDSINCE %d)"
                % modseq)
    assert r == [(2, 2)]


def test_fetch_partial_bad(box):
    for mod in ("PARTIAL", "PARTIAL 1:5 PARTIAL 1:2", "PARTIAL 0:1",
                "PARTIAL -1:2", "PARTIAL 1:*", 'PARTIAL "1:2"',
                "PARTIAL (1:2)", "PARTIAL 1:4294967296"):
        lines, _ = box.cmd("UID FETCH 1:* (FLAGS) (%s)" % mod, "BAD")
        assert not any(FETCH.match(x) for x in lines)


def expand(seqset):
    out = []
    for part in seqset.split(b","):
        a, _, b = part.partition(b":")
        out += list(range(int(a), int(b or a) + 1))
    return out


def ordered_set(nums):
    """RFC 5267 section 3.2: runs of consecutive ascending numbers as
    ranges, the order kept."""
    parts, i = [], 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(b"%d" % nums[i] if i == j else
                     b"%d:%d" % (nums[i], nums[j]))
        i = j + 1
    return b",".join(parts)


def test_sort_partial_from_the_end(box):
    """ESORT (RFC 5267 section 3) with RFC 9394's partial-range-last: the
    last results of the sort order, kept in that order."""
    r = esearch(box, "UID SORT RETURN (ALL) (REVERSE SUBJECT) UTF-8 ALL")
    assert r.startswith(b"UID ALL ")
    order = expand(r[len(b"UID ALL "):])
    assert sorted(order) == [1, 2, 5, 6, 7, 8, 9, 10, 11, 12]
    assert esearch(box, "UID SORT RETURN (PARTIAL -1:-3) (REVERSE SUBJECT) "
                   "UTF-8 ALL") == \
        b"UID PARTIAL (-1:-3 %s)" % ordered_set(order[-3:])
    assert esearch(box, "UID SORT RETURN (PARTIAL 2:5 COUNT) (REVERSE "
                   "SUBJECT) UTF-8 ALL") == \
        b"UID COUNT 10 PARTIAL (2:5 %s)" % ordered_set(order[1:5])
    assert esearch(box, "UID SORT RETURN (PARTIAL -11:-12) (SUBJECT) "
                   "UTF-8 ALL") == b"UID PARTIAL (-11:-12 NIL)"
