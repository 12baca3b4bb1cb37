"""test_imap_search_flags.py: SEARCH on flags, keywords, UIDs and
sequence numbers (the fast paths: the index's flags table and the light
record walk) against the full walk and against the flags the client reads
with FETCH, on a folder with random flags and keywords, right after
another session changed flags, expunged and appended (no NOOP between),
with Python's imaplib against a throw-away instance.

The full walk is forced with a key that needs each message's size
("NOT SMALLER 0" matches every message): the same program without it
must give the same answer."""

import imaplib
import random
import re

import pytest

import imaphelp
from imaphelp import put, running

MESSAGES = 400

SEARCH_LINE = re.compile(rb"^(\d+( \d+)*)?$")

# (program, Python model over (seq, uid, flags) or None when the model
# needs what only the server knows: \Recent)
PROGRAMS = [
    ("ALL", lambda s, u, f: True),
    ("UNSEEN", lambda s, u, f: "\\Seen" not in f),
    ("SEEN", lambda s, u, f: "\\Seen" in f),
    ("FLAGGED", lambda s, u, f: "\\Flagged" in f),
    ("UNFLAGGED", lambda s, u, f: "\\Flagged" not in f),
    ("DELETED", lambda s, u, f: "\\Deleted" in f),
    ("UNDELETED", lambda s, u, f: "\\Deleted" not in f),
    ("ANSWERED", lambda s, u, f: "\\Answered" in f),
    ("UNANSWERED", lambda s, u, f: "\\Answered" not in f),
    ("DRAFT", lambda s, u, f: "\\Draft" in f),
    ("UNDRAFT", lambda s, u, f: "\\Draft" not in f),
    ("KEYWORD $Junk", lambda s, u, f: "$junk" in f.lower()),
    ("UNKEYWORD work", lambda s, u, f: "work" not in f.lower()),
    ("KEYWORD nosuchkeyword", lambda s, u, f: False),
    ("UNSEEN FLAGGED", lambda s, u, f: "\\Seen" not in f and
     "\\Flagged" in f),
    ("SEEN UNSEEN", lambda s, u, f: False),
    ("OR FLAGGED DELETED", lambda s, u, f: "\\Flagged" in f or
     "\\Deleted" in f),
    ("NOT OR SEEN ANSWERED", lambda s, u, f: "\\Seen" not in f and
     "\\Answered" not in f),
    ("NOT (UNSEEN KEYWORD $Junk)", lambda s, u, f: not (
        "\\Seen" not in f and "$junk" in f.lower())),
    ("OR KEYWORD work NOT DRAFT", lambda s, u, f: "work" in f.lower() or
     "\\Draft" not in f),
    ("UID 50:120 UNSEEN", lambda s, u, f: 50 <= u <= 120 and
     "\\Seen" not in f),
    ("UID 300:* SEEN", lambda s, u, f: u >= 300 and "\\Seen" in f),
    ("10:60 FLAGGED", lambda s, u, f: 10 <= s <= 60 and "\\Flagged" in f),
    ("1,5,9:12,* UNFLAGGED", None),
    ("NOT 1:100", lambda s, u, f: s > 100),
    ("OR 1:5 UID 390:*", lambda s, u, f: s <= 5 or u >= 390),
    ("RECENT", None),
    ("NEW", None),
    ("OLD", None),
    ("OR RECENT FLAGGED", None),
]


def fill(inst):
    """MESSAGES messages with random flags; the last 10 in new/."""
    rng = random.Random(11)
    for i in range(MESSAGES):
        if i >= MESSAGES - 10:
            sub, suffix = "new", ""
        else:
            sub = "cur"
            suffix = ":2," + "".join(
                c for c, p in (("D", 0.05), ("F", 0.2), ("R", 0.3),
                               ("S", 0.7), ("T", 0.05))
                if rng.random() < p)
        put(inst, sub, "1600000000.M%04dP1.flags%s" % (i, suffix),
            b"From: a@example.com\r\nSubject: m%d\r\n\r\n"
            b"body %d\r\n" % (i, i))


@pytest.fixture(scope="module")
def finst(suite_build):
    with running(suite_build, "test-imapsearchflags-", fill=fill) as inst:
        yield inst


def login(inst):
    return imaphelp.login(inst, timeout=60, select="INBOX")


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


def search(m, program, uid=False):
    st, lines = raw(m, ("UID SEARCH " if uid else "SEARCH ") + program)
    assert st.startswith(b"OK"), (program, st)
    res = [x[len(b"* SEARCH"):].strip() for x in lines
           if x.startswith(b"* SEARCH")]
    assert len(res) == 1, (program, lines)
    assert SEARCH_LINE.match(res[0]), res
    return [int(x) for x in res[0].split()]


def esearch(m, program):
    st, lines = raw(m, "SEARCH RETURN (MIN MAX COUNT ALL) " + program)
    assert st.startswith(b"OK"), (program, st)
    res = [re.sub(rb'^\* ESEARCH \(TAG "[^"]+"\)', b"", x) for x in lines
           if x.startswith(b"* ESEARCH")]
    assert len(res) == 1, lines
    return res[0]


def view(m):
    """(seq, uid, flags) of every message, as FETCH tells them."""
    st, lines = raw(m, "FETCH 1:* (UID FLAGS)")
    assert st.startswith(b"OK")
    out = []
    for x in lines:
        g = re.match(rb"^\* (\d+) FETCH \((.*)\)$", x)
        if not g:
            continue
        body = g.group(2)
        uid = int(re.search(rb"UID (\d+)", body).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", body).group(1).decode()
        out.append((int(g.group(1)), uid, flags))
    out.sort()
    assert [s for s, _, _ in out] == list(range(1, len(out) + 1))
    return out


def check_all(m, where, twin=None, first=None):
    """Each program: fast path == full walk == model (after a NOOP the
    view is the folder's).  With twin (a session in the same state as m)
    and first: the first command after another session's changes is
    first's fast SEARCH in m and its full walk in twin (each answers on
    the view it had, then reports the changes)."""
    answers = {}
    if twin is not None:
        assert search(m, first) == search(twin, first + " NOT SMALLER 0"), \
            (where, first)
        raw(twin, "NOOP")
    for program, _ in PROGRAMS:
        fast = search(m, program)
        full = search(m, program + " NOT SMALLER 0")
        assert fast == full, (where, program)
        answers[program] = fast
        assert search(m, program, uid=True) == \
            search(m, program + " NOT SMALLER 0", uid=True), \
            (where, program)
    raw(m, "NOOP")
    v = view(m)
    for program, model in PROGRAMS:
        if model is None:
            continue
        want = [s for s, u, f in v if model(s, u, f)]
        assert search(m, program) == want, (where, program)
    return answers


def random_changes(m, rng, n):
    """Another session's changes: flags and keywords, an expunge, an
    APPEND."""
    st, lines = raw(m, "SEARCH ALL")
    count = len(lines[0].split()) - 2 if lines else 0
    for _ in range(n):
        r = rng.random()
        lo = rng.randrange(1, count + 1)
        hi = min(count, lo + rng.randrange(0, 4))
        if r < 0.6:
            flag = rng.choice(["\\Seen", "\\Flagged", "\\Answered",
                               "\\Draft", "$Junk", "work"])
            st, _ = raw(m, "STORE %d:%d %sFLAGS.SILENT (%s)" %
                        (lo, hi, rng.choice("+-"), flag))
            assert st.startswith(b"OK")
        elif r < 0.8:
            st, _ = raw(m, "STORE %d +FLAGS.SILENT (\\Deleted)" % lo)
            assert st.startswith(b"OK")
            st, _ = raw(m, "EXPUNGE")
            assert st.startswith(b"OK")
            count -= 1
        else:
            msg = b"From: b@example.com\r\nSubject: new\r\n\r\nnew\r\n"
            typ, _ = m.append("INBOX", rng.choice(["(\\Seen)", "()",
                                                   "(\\Flagged $Junk)"]),
                              None, msg)
            assert typ == "OK"
            count += 1


def test_flags_search_against_full_walk(finst):
    a = login(finst)
    b = login(finst)
    twin = None
    try:
        twin = login(finst)
        check_all(a, "start")
        raw(twin, "NOOP")
        rng = random.Random(3)
        plain = [p for p, model in PROGRAMS if model is not None]
        for round in range(12):
            random_changes(b, rng, 1 + round * 2)
            # no NOOP: the SEARCH is the first command after the changes
            check_all(a, "round %d" % round, twin,
                      plain[round * 5 % len(plain)])
            raw(twin, "NOOP")
    finally:
        for m in (a, b, twin):
            if m is None:
                continue
            try:
                m.logout()
            except (imaplib.IMAP4.error, OSError):
                pass


def test_flags_search_esearch_and_empty(finst):
    a = login(finst)
    try:
        for program, _ in PROGRAMS:
            assert esearch(a, program) == \
                esearch(a, program + " NOT SMALLER 0"), program
        # a set past the end, an empty result, no message matching
        assert search(a, "UID 4000000000:* SEEN") == \
            search(a, "UID 4000000000:* SEEN NOT SMALLER 0")
        assert search(a, "SEEN UNSEEN") == []
        assert esearch(a, "SEEN UNSEEN") == b" COUNT 0"
    finally:
        a.logout()


def test_flags_search_empty_folder(finst):
    a = login(finst)
    try:
        typ, _ = a.create("Empty")
        assert typ == "OK"
        typ, _ = a.select("Empty")
        assert typ == "OK"
        assert search(a, "UNSEEN") == []
        assert search(a, "1:* SEEN") == []
        assert search(a, "UID 1:* NOT DELETED") == []
    finally:
        a.logout()


def fetch_flags(m, line, drop=rb" RFC822\.SIZE \d+"):
    """The FETCH responses of line, with drop taken out, and the status."""
    st, lines = raw(m, line)
    assert st.startswith(b"OK"), (line, st)
    return [re.sub(drop, b"", x) for x in lines
            if re.match(rb"^\* \d+ FETCH ", x)], st


def test_fetch_flags_batch_against_lookup(finst):
    """FETCH of FLAGS, UID and MODSEQ only (records read a step at a
    time) gives what a FETCH that also reads each message's size gives,
    after another session's changes and with expunged messages in the
    set."""
    a = login(finst)
    b = login(finst)
    twin = login(finst)

    def items(lines):
        # the items of each response, in a fixed order, without \Recent
        # (claimed by one session only)
        return sorted(sorted(re.findall(
            rb"(UID \d+|FLAGS \([^)]*\)|MODSEQ \(\d+\))",
            x.replace(b"\\Recent", b"").replace(b"( ", b"(")
            .replace(b" )", b")")))
            + [x.split(b" FETCH")[0]] for x in lines)

    try:
        # CONDSTORE on in both (FLAGS then go with their MODSEQ)
        for m in (a, twin):
            assert raw(m, "FETCH 1 (MODSEQ)")[0].startswith(b"OK")
        rng = random.Random(9)
        lines = ("FETCH 1:* (FLAGS)", "UID FETCH 1:* (UID FLAGS)",
                 "FETCH 2,9,4:7,* (FLAGS MODSEQ)",
                 "UID FETCH 100:* (FLAGS) (CHANGEDSINCE 1)")
        for round in range(8):
            random_changes(b, rng, 3 + round * 2)
            for line in lines:
                head = line.split(" (", 1)
                full_line = head[0] + " (RFC822.SIZE " + head[1]
                # two sessions in the same state, the same commands in
                # step (each may report the changes in its own time)
                light, _ = fetch_flags(a, line)
                full, _ = fetch_flags(twin, full_line)
                assert items(light) == items(full), (round, line)
            raw(a, "NOOP")
            raw(twin, "NOOP")
        # a message expunged by another session after this one's last
        # sync: the FETCH leaves it out (or answers it) like the lookup
        st, lines = raw(b, "SEARCH ALL")
        n = len(lines[0].split()) - 2
        raw(b, "STORE %d +FLAGS.SILENT (\\Deleted)" % n)
        raw(b, "EXPUNGE")
        light, st1 = fetch_flags(a, "FETCH %d (FLAGS)" % n)
        full, st2 = fetch_flags(a, "FETCH %d (FLAGS)" % n)
        assert light == [] and full == []
        assert b"EXPUNGEISSUED" in st1 or st1.startswith(b"OK")
    finally:
        for m in (a, b, twin):
            try:
                m.logout()
            except (imaplib.IMAP4.error, OSError):
                pass


def test_fetch_whole_message_unparsed(finst):
    """BODY.PEEK[], BODY[]<partial> and RFC822 (sent without parsing the
    message) are the header and the text as BODY[HEADER] and BODY[TEXT]
    give them, RFC822.SIZE bytes long; a partial past the end is
    empty."""
    a = login(finst)
    try:
        typ, _ = a.select("INBOX", readonly=True)
        assert typ == "OK"
        for n in (1, 7, 200):
            typ, data = a.fetch(str(n), "(RFC822.SIZE BODY.PEEK[HEADER] "
                                "BODY.PEEK[TEXT])")
            assert typ == "OK"
            parts = {}
            for item in data:
                if isinstance(item, tuple):
                    key = re.search(rb"(BODY\[\w+\]) \{\d+\}$", item[0])
                    parts[key.group(1)] = item[1]
            size = int(re.search(rb"RFC822\.SIZE (\d+)",
                                 b" ".join(x if isinstance(x, bytes)
                                           else x[0] for x in data))
                       .group(1))
            whole = parts[b"BODY[HEADER]"] + parts[b"BODY[TEXT]"]
            assert len(whole) == size
            typ, data = a.fetch(str(n), "(BODY.PEEK[])")
            assert typ == "OK" and data[0][1] == whole
            typ, data = a.fetch(str(n), "(RFC822)")
            assert typ == "OK" and data[0][1] == whole
            typ, data = a.fetch(str(n), "(BODY.PEEK[]<5.10>)")
            assert typ == "OK" and b"BODY[]<5> {10}" in data[0][0]
            assert data[0][1] == whole[5:15]
            st, lines = raw(a, "FETCH %d (BODY.PEEK[]<100000.10>)" % n)
            assert st.startswith(b"OK")
            assert any(b'BODY[]<100000> ""' in x or
                       x.endswith(b"BODY[]<100000> {0}") for x in lines), \
                lines
    finally:
        a.logout()
