"""test_imap_search.py: SEARCH, UID SEARCH, ESEARCH, SEARCHRES, SORT
(with SORT=DISPLAY) and THREAD of imapd, with Python's imaplib against a
throw-away instance, over messages built here: multipart with base64 and
quoted-printable parts, RFC 2047 headers, ISO-8859-1 and KOI8-R bodies,
flags in the maildir names, internal dates set by mtime, and a reply
thread with a missing parent.

Responses are checked against the grammar of RFC 3501, RFC 4731 and
RFC 5256, not just "OK"."""

import base64
import calendar
import imaplib
import re

import pytest

from imaphelp import login, put, running

SEARCH_LINE = re.compile(rb"^(\d+( \d+)*)?( \(MODSEQ \d+\))?$")
ESEARCH_LINE = re.compile(
    rb'^\(TAG "[^"]+"\)( UID)?( MIN \d+)?( MAX \d+)?'
    rb'( ALL \d+(:\d+)?(,\d+(:\d+)?)*)?( COUNT \d+)?( MODSEQ \d+)?$')
THREAD_LINE = re.compile(rb"^(\([0-9 ()]+\))*$")


def _b64(s, cs):
    return base64.b64encode(s.encode(cs)).decode()


# (file name suffix, internal date, message text); sequence numbers follow
# the order (UIDs are given in the order the index finds the files, which
# is by name within new/ and cur/: the names sort in this order).
MESSAGES = [
    (":2,S", "2021-06-01", (
        "From: Alice Example <alice@example.com>\r\n"
        "To: Bob <bob@example.org>\r\n"
        "Cc: carol@example.net\r\n"
        "Subject: Meeting tomorrow\r\n"
        "Date: Wed, 1 Jan 2020 10:00:00 +0000\r\n"
        "Message-ID: <m1@example.com>\r\n"
        "\r\n"
        "Let's meet at noon in the\r\n  big   room.\r\n")),
    (":2,RS", "2021-06-02", (
        "From: Bob <bob@example.org>\r\n"
        "To: Alice Example <alice@example.com>\r\n"
        "Subject: Re: Meeting tomorrow\r\n"
        "Date: Thu, 2 Jan 2020 09:00:00 +0000\r\n"
        "Message-ID: <m2@example.org>\r\n"
        "In-Reply-To: <m1@example.com>\r\n"
        "References: <m1@example.com>\r\n"
        "\r\n"
        "Fine by me.\r\n")),
    ("", "2021-06-03", (
        "From: =?UTF-8?B?" + _b64("Zoë Ångström", "utf-8") +
        "?= <zoe@example.com>\r\n"
        "To: alice@example.com\r\n"
        "Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=\r\n"
        "Date: Fri, 3 Jan 2020 23:30:00 -0500\r\n"
        "Message-ID: <m3@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
        "\r\n"
        "--XYZ\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" + _b64("Schöne Grüße vom Rhein", "iso-8859-1") + "\r\n"
        "--XYZ\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<p>Caf=C3=A9 cr=C3=A8me, a soft=\r\nbreak</p>\r\n"
        "--XYZ\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" + _b64("hiddenattachmenttext", "ascii") + "\r\n"
        "--XYZ--\r\n")),
    (":2,F", "2021-06-04", (
        "From: =?KOI8-R?B?" + _b64("Иван", "koi8-r") +
        "?= <ivan@example.ru>\r\n"
        "To: bob@example.org\r\n"
        "Subject: =?KOI8-R?B?" + _b64("Привет", "koi8-r") + "?=\r\n"
        "Date: Sat, 5 Jan 2019 12:00:00 +0300\r\n"
        "Message-ID: <m4@example.ru>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=koi8-r\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n").encode() + "Как дела? Всё хорошо.\r\n".encode("koi8-r")),
    (":2,T", "2021-06-05", (
        "From: Carol <carol@example.net>\r\n"
        "To: Alice Example <alice@example.com>\r\n"
        "Subject: RE: [team] Meeting tomorrow\r\n"
        "Date: Sat, 4 Jan 2020 08:00:00 +0000\r\n"
        "Message-ID: <m5@example.net>\r\n"
        "References: <m1@example.com> <m2@example.org>\r\n"
        "X-Priority: 1\r\n"
        "\r\n"
        "Count me in.\r\n")),
    (":2,D", "2021-06-06", (
        "From: list@example.com\r\n"
        "To: team@example.com\r\n"
        "Subject: [team] Big one\r\n"
        "Date: Sun, 5 Jan 2020 08:00:00 +0000\r\n"
        "Message-ID: <m6@example.com>\r\n"
        "In-Reply-To: <gone@example.com>\r\n"
        "\r\n" + ("padding line of a big message\r\n" * 700))),
    (":2,S", "2021-06-07", (
        "From: dave@example.com\r\n"
        "To: team@example.com\r\n"
        "Subject: Lost parent\r\n"
        "Date: Mon, 6 Jan 2020 08:00:00 +0000\r\n"
        "Message-ID: <m7@example.com>\r\n"
        "References: <gone@example.com>\r\n"
        "\r\n"
        "Sibling of 6.\r\n")),
]


def fill(inst):
    """Puts MESSAGES into the maildir, each with the mtime of its day."""
    for i, (flags, day, text) in enumerate(MESSAGES):
        t = calendar.timegm((int(day[:4]), int(day[5:7]), int(day[8:10]),
                             12, 0, 0))
        put(inst, "cur" if flags else "new",
            "1600000000.M%03dP1.search%s" % (i, flags), text, mtime=t)


@pytest.fixture(scope="module")
def sinst(suite_build):
    with running(suite_build, "test-imapsearch-", fill=fill) as inst:
        yield inst


@pytest.fixture
def imap(sinst):
    m = login(sinst, timeout=30)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [str(len(MESSAGES)).encode()]
    yield m
    try:
        m.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def search(m, *criteria, charset=None):
    typ, data = m.search(charset, *criteria)
    assert typ == "OK", data
    assert len(data) == 1 and SEARCH_LINE.match(data[0]), data
    return [int(x) for x in data[0].split() if x.isdigit()]


def raw(m, *args):
    """Runs a command; returns (status, untagged lines by name)."""
    tag = m._new_tag()
    m.send(tag + b" " + " ".join(args).encode() + b"\r\n")
    untagged = []
    while True:
        line = m._get_line()
        if line.startswith(tag + b" "):
            return line[len(tag) + 1:], untagged, tag.decode()
        untagged.append(line)


def test_capabilities(imap):
    typ, data = imap.capability()
    caps = data[0].split()
    for c in (b"ESEARCH", b"SORT", b"SORT=DISPLAY", b"THREAD=REFERENCES",
              b"THREAD=ORDEREDSUBJECT", b"WITHIN"):
        assert c in caps


def test_flags_and_sets(imap):
    assert search(imap, "ALL") == [1, 2, 3, 4, 5, 6, 7]
    assert search(imap, "SEEN") == [1, 2, 7]
    assert search(imap, "UNSEEN") == [3, 4, 5, 6]
    assert search(imap, "ANSWERED") == [2]
    assert search(imap, "UNANSWERED", "UNDELETED") == [1, 3, 4, 6, 7]
    assert search(imap, "FLAGGED") == [4]
    assert search(imap, "UNFLAGGED", "SEEN") == [1, 2, 7]
    assert search(imap, "DELETED") == [5]
    assert search(imap, "DRAFT") == [6]
    assert search(imap, "UNDRAFT", "NOT", "SEEN") == [3, 4, 5]
    assert search(imap, "2:4,7") == [2, 3, 4, 7]
    assert search(imap, "*") == [7]
    assert search(imap, "5:*", "NOT", "6") == [5, 7]
    assert search(imap, "OR", "FLAGGED", "OR", "DRAFT", "1") == [1, 4, 6]
    assert search(imap, "(SEEN", "(ANSWERED))") == [2]
    assert search(imap, "NOT", "(SEEN", "ANSWERED)") == [1, 3, 4, 5, 6, 7]
    # NEW = RECENT UNSEEN, OLD = NOT RECENT
    allm = set(search(imap, "ALL"))
    recent = set(search(imap, "RECENT"))
    old = set(search(imap, "OLD"))
    assert recent | old == allm and not recent & old
    assert set(search(imap, "NEW")) == recent & set(search(imap, "UNSEEN"))
    # UIDs
    typ, data = imap.uid("SEARCH", "ALL")
    uids = [int(x) for x in data[0].split()]
    assert len(uids) == 7 and uids == sorted(uids)
    typ, data = imap.uid("SEARCH", "UID", "%d:%d" % (uids[1], uids[2]))
    assert [int(x) for x in data[0].split()] == uids[1:3]
    assert search(imap, "UID", "%d,%d" % (uids[0], uids[6])) == [1, 7]
    typ, data = imap.uid("SEARCH", "FLAGGED")
    assert data == [str(uids[3]).encode()]


def test_sizes_and_dates(imap):
    assert search(imap, "LARGER", "10000") == [6]
    sizes = [len(t if isinstance(t, bytes) else t.encode())
             for _, _, t in MESSAGES]
    assert search(imap, "SMALLER", "10000", "NOT", "SMALLER", "280") == \
        [i + 1 for i, n in enumerate(sizes) if 280 <= n < 10000]
    assert search(imap, "LARGER", str(sizes[0])) == \
        [i + 1 for i, n in enumerate(sizes) if n > sizes[0]]
    # internal dates (mtime, noon UTC)
    assert search(imap, "ON", "3-Jun-2021") == [3]
    assert search(imap, "BEFORE", "3-Jun-2021") == [1, 2]
    assert search(imap, "SINCE", "06-Jun-2021") == [6, 7]
    assert search(imap, "OLDER", "3600") == [1, 2, 3, 4, 5, 6, 7]
    assert search(imap, "YOUNGER", "3600") == []
    # Date: header, in its own zone (3 Jan 23:30 -0500 is 3 Jan)
    assert search(imap, "SENTON", "3-Jan-2020") == [3]
    assert search(imap, "SENTBEFORE", "1-Jan-2020") == [4]
    assert search(imap, "SENTSINCE", "5-Jan-2020") == [6, 7]
    assert search(imap, "SENTSINCE", "2-Jan-2020",
                  "SENTBEFORE", "4-Jan-2020") == [2, 3]


def test_headers(imap):
    assert search(imap, "FROM", "alice") == [1]
    assert search(imap, "FROM", "ALICE") == [1]
    assert search(imap, "TO", "alice") == [2, 3, 5]
    assert search(imap, "CC", "carol@") == [1]
    assert search(imap, "BCC", "x") == []
    assert search(imap, "SUBJECT", "meeting") == [1, 2, 5]
    assert search(imap, "HEADER", "Message-ID", "m4@") == [4]
    assert search(imap, "HEADER", "X-Priority", '""') == [5]
    assert search(imap, "HEADER", "In-Reply-To", "gone") == [6]
    # RFC 2047 words, decoded and case-folded, in UTF-8 literals
    imap.literal = "zoë ångström".encode()
    assert search(imap, "FROM", charset="UTF-8") == [3]
    imap.literal = "GRÜSSE".encode()
    assert search(imap, "SUBJECT", charset="UTF-8") == []
    imap.literal = "GRÜßE AUS".encode()
    assert search(imap, "SUBJECT", charset="UTF-8") == [3]
    imap.literal = "привет".encode()
    assert search(imap, "SUBJECT", charset="UTF-8") == [4]
    # search strings in other charsets
    imap.literal = "Grüße".encode("iso-8859-1")
    assert search(imap, "SUBJECT", charset="ISO-8859-1") == [3]
    imap.literal = "Иван".encode("koi8-r")
    assert search(imap, "FROM", charset="KOI8-R") == [4]
    assert search(imap, "SUBJECT", "Meeting", charset="US-ASCII") == \
        [1, 2, 5]


def test_body_and_text(imap):
    assert search(imap, "BODY", '"meet at noon in the big room"') == [1]
    assert search(imap, "BODY", "alice") == []
    assert search(imap, "TEXT", "alice") == [1, 2, 3, 5]
    assert search(imap, "TEXT", "noon") == [1]
    # base64 ISO-8859-1 and QP UTF-8 parts of a multipart
    imap.literal = "SCHÖNE grüße".encode()
    assert search(imap, "BODY", charset="UTF-8") == [3]
    imap.literal = "café crème".encode()
    assert search(imap, "BODY", charset="UTF-8") == [3]
    assert search(imap, "BODY", "softbreak") == [3]
    # attachments are not text
    assert search(imap, "BODY", "hiddenattachmenttext") == []
    # 8-bit KOI8-R body
    imap.literal = "всё ХОРОШО".encode()
    assert search(imap, "BODY", charset="UTF-8") == [4]
    assert search(imap, "NOT", "BODY", "padding", "TEXT", "team") == [5, 7]
    assert search(imap, "OR", "BODY", "fine", "SUBJECT", "big") == [2, 6]


def test_errors(imap):
    for bad in (("BOGUS",), ("BEFORE", "32-Jan-2020"), ("OR", "SEEN"),
                ("LARGER", "x"), ("UID",), ("NOT",), ("1:x",)):
        with pytest.raises(imaplib.IMAP4.error) as e:
            imap.search(None, *bad)
        assert "BAD" in str(e.value) or "SEARCH command error" in \
            str(e.value)
    status, untagged, _ = raw(imap, "SEARCH", "CHARSET", "X-NO-SUCH",
                              "ALL")
    assert status.startswith(b"NO [BADCHARSET (UTF-8 US-ASCII)]")
    status, untagged, _ = raw(imap, "SORT", "(DATE)", "X-NO-SUCH", "ALL")
    assert status.startswith(b"NO [BADCHARSET")
    for cmd in (("SORT", "DATE", "UTF-8", "ALL"),
                ("SORT", "(BOGUS)", "UTF-8", "ALL"),
                ("SORT", "(DATE)", "UTF-8"),
                ("THREAD", "BOGUS", "UTF-8", "ALL"),
                ("THREAD", "REFERENCES", "UTF-8", "NOSUCHKEY"),
                ("SEARCH", "RETURN", "(BOGUS)", "ALL")):
        status, untagged, _ = raw(imap, *cmd)
        assert status.startswith(b"BAD "), (cmd, status)
    # the session goes on
    assert search(imap, "DRAFT") == [6]


def test_esearch(imap):
    status, untagged, tag = raw(imap, "SEARCH", "RETURN",
                                "(MIN MAX COUNT ALL)", "UNSEEN")
    assert status.startswith(b"OK")
    assert untagged == [('* ESEARCH (TAG "%s") MIN 3 MAX 6 ALL 3:6 '
                         'COUNT 4' % tag).encode()]
    status, untagged, tag = raw(imap, "SEARCH", "RETURN", "()", "OR",
                                "1", "OR", "3", "7")
    assert untagged == [('* ESEARCH (TAG "%s") ALL 1,3,7' % tag).encode()]
    status, untagged, tag = raw(imap, "SEARCH", "RETURN", "(COUNT)",
                                "BCC", "nobody")
    assert untagged == [('* ESEARCH (TAG "%s") COUNT 0' % tag).encode()]
    status, untagged, tag = raw(imap, "SEARCH", "RETURN", "(MIN)",
                                "BCC", "nobody")
    assert untagged == [('* ESEARCH (TAG "%s")' % tag).encode()]
    typ, data = imap.uid("SEARCH", "ALL")
    uids = data[0].split()
    status, untagged, tag = raw(imap, "UID", "SEARCH", "RETURN",
                                "(MAX COUNT)", "SEEN")
    assert untagged == [('* ESEARCH (TAG "%s") UID MAX %s COUNT 3'
                         % (tag, uids[6].decode())).encode()]
    for line in untagged:
        assert ESEARCH_LINE.match(line[len(b"* ESEARCH "):])


def test_searchres(imap):
    # SAVE alone: no untagged answer; $ is the saved result
    status, untagged, _ = raw(imap, "SEARCH", "RETURN", "(SAVE)", "FROM",
                              "bob")
    assert status.startswith(b"OK") and untagged == []
    assert search(imap, "$") == [2]
    assert search(imap, "OR", "$", "1") == [1, 2]
    assert search(imap, "NOT", "$", "SEEN") == [1, 7]
    typ, data = imap.uid("SEARCH", "UID", "$")
    typ2, data2 = imap.uid("SEARCH", "2")
    assert data == data2
    # SAVE with MIN and MAX saves only those two
    status, untagged, tag = raw(imap, "SEARCH", "RETURN",
                                "(SAVE MIN MAX)", "UNSEEN")
    assert untagged == [('* ESEARCH (TAG "%s") MIN 3 MAX 6'
                         % tag).encode()]
    assert search(imap, "$") == [3, 6]
    # a failed SEARCH ... SAVE empties $
    status, untagged, _ = raw(imap, "SEARCH", "RETURN", "(SAVE)", "BOGUS")
    assert status.startswith(b"BAD")
    assert search(imap, "$") == []


def test_modseq(imap):
    typ, data = imap.search(None, "MODSEQ", "1")
    assert typ == "OK" and SEARCH_LINE.match(data[0])
    assert re.search(rb" \(MODSEQ \d+\)$", data[0])
    typ, data = imap.search(None, "MODSEQ", '"/flags/\\\\draft"', "all",
                            "99999999999")
    assert data == [b""]


def sort(m, criteria, *search, uid=False):
    if uid:
        typ, data = m.uid("SORT", criteria, "UTF-8", *search)
    else:
        typ, data = m.sort(criteria, "UTF-8", *search)
    assert typ == "OK", data
    assert SEARCH_LINE.match(data[0]), data
    return [int(x) for x in data[0].split()]


def test_sort(imap):
    # sent dates: 4 (2019), 1, 2, 3 (4 Jan 04:30 UTC), 5, 6, 7
    assert sort(imap, "(DATE)", "ALL") == [4, 1, 2, 3, 5, 6, 7]
    assert sort(imap, "(REVERSE DATE)", "ALL") == [7, 6, 5, 3, 2, 1, 4]
    assert sort(imap, "(ARRIVAL)", "ALL") == [1, 2, 3, 4, 5, 6, 7]
    assert sort(imap, "(REVERSE ARRIVAL)", "SEEN") == [7, 2, 1]
    # base subjects: "Big one", "Grüße aus Köln", "Lost parent",
    # "Meeting tomorrow" x3, "Привет"
    assert sort(imap, "(SUBJECT)", "ALL") == [6, 3, 7, 1, 2, 5, 4]
    assert sort(imap, "(SUBJECT REVERSE DATE)", "ALL") == \
        [6, 3, 7, 5, 2, 1, 4]
    # FROM: addr-mailbox: alice bob carol dave ivan list zoe
    assert sort(imap, "(FROM)", "ALL") == [1, 2, 5, 7, 4, 6, 3]
    # DISPLAYFROM: alice example, bob, carol, dave@, list@, zoë, иван
    assert sort(imap, "(DISPLAYFROM)", "ALL") == [1, 2, 5, 7, 6, 3, 4]
    assert sort(imap, "(TO ARRIVAL)", "ALL") == [2, 3, 5, 1, 4, 6, 7]
    # DISPLAYTO: "alice example" (2, 5) < "alice@example.com" < "bob"
    # < "bob@example.org" < "team@..."
    assert sort(imap, "(DISPLAYTO)", "ALL") == [2, 5, 3, 1, 4, 6, 7]
    assert sort(imap, "(CC)", "ALL") == [2, 3, 4, 5, 6, 7, 1]
    assert sort(imap, "(REVERSE SIZE)", "ALL")[0] == 6
    sizes = sort(imap, "(SIZE)", "ALL")
    assert sizes[-1] == 6 and len(sizes) == 7
    assert sort(imap, "(DATE)", "UNSEEN", "NOT", "DELETED") == [4, 3, 6]
    typ, data = imap.uid("SEARCH", "ALL")
    uids = [int(x) for x in data[0].split()]
    assert sort(imap, "(REVERSE ARRIVAL)", "FLAGGED", uid=True) == \
        [uids[3]]
    assert sort(imap, "(DATE)", "BCC", "nobody") == []


def thread(m, algo, *search, uid=False):
    if uid:
        typ, data = m.uid("THREAD", algo, "UTF-8", *search)
    else:
        typ, data = m.thread(algo, "UTF-8", *search)
    assert typ == "OK", data
    assert THREAD_LINE.match(data[0] or b""), data
    return (data[0] or b"").decode()


def test_thread(imap):
    # 1 <- 2 <- 5 by References; 6 and 7 share a missing parent
    # <gone@>: a dummy with two children at the root
    assert thread(imap, "REFERENCES", "ALL") == \
        "(4)(1 2 5)(3)((6)(7))"
    # only the searched messages are threaded
    assert thread(imap, "REFERENCES", "NOT", "2") == \
        "(4)(1 5)(3)((6)(7))"
    # ORDEREDSUBJECT: by base subject, threads by their first date
    assert thread(imap, "ORDEREDSUBJECT", "ALL") == \
        "(4)(1 (2)(5))(3)(6)(7)"
    typ, data = imap.uid("SEARCH", "ALL")
    uids = [int(x) for x in data[0].split()]
    assert thread(imap, "REFERENCES", "1:2", uid=True) == \
        "(%d %d)" % (uids[0], uids[1])
    assert thread(imap, "REFERENCES", "BCC", "nobody") == ""
