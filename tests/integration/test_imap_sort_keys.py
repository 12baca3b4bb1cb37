"""test_imap_sort_keys.py: SORT and THREAD answered from the sort keys
kept in the folder's index (lib/mail-index-sortkey.c, imap_sort_keys_*),
with Python's imaplib over `imapd DIR`: every answer, in any order of
criteria (keys stored for some criteria, then widened by others), in a
second session, and after messages were expunged (by us and behind the
index's back) and added (APPEND and delivery into new/), equals the answer
of a fresh copy of the folder whose first SORT reads every header."""

import imaplib
import os
import random
import re
import shutil


_seq = [0]


def put(md, data, sub="cur", info=":2,"):
    _seq[0] += 1
    name = "%d.M%dP%d.sortkeys" % (1600000000 + _seq[0], _seq[0],
                                    os.getpid())
    tmp = os.path.join(md, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    path = os.path.join(md, sub, name + (info if sub == "cur" else ""))
    os.rename(tmp, path)
    # arrival times that tie now and then
    t = 1600000000 + (_seq[0] * 7919) % 50
    os.utime(path, (t, t))
    return path


def message(rng, i):
    people = ["alice@x.example", "Bob B <bob@y.example>",
              "=?utf-8?q?Zo=C3=A9?= <zoe@z.example>", "undisclosed:;",
              "\"Quoted, Name\" <q@x.example>", "(only a comment)",
              "carol@x.example, dave@x.example"]
    subjects = ["budget", "Re: budget", "Fwd: [list] plans (fwd)",
                "=?iso-8859-1?q?caf=E9?=", "[Fwd: Re: lunch]", "", "re: RE: x",
                "[list]"]
    dates = ["Tue, 1 Jan 2019 00:00:00 +0100", "2 Jan 2019 00:00 -0500",
             "not a date", "1 Jan 1960 00:00 +0000",
             "Sat, 29 Feb 2020 23:59:59 +1400", None, None]
    hdr = "X-Id: %d\n" % i
    if rng.random() < 0.9:
        hdr += "From: %s\n" % rng.choice(people)
    if rng.random() < 0.8:
        hdr += "To: %s\n" % rng.choice(people)
    if rng.random() < 0.4:
        hdr += "Cc: %s\n" % rng.choice(people)
    if rng.random() < 0.9:
        hdr += "Subject: %s %s\n" % (rng.choice(subjects),
                                     rng.choice(["", "1", "2"]))
    d = rng.choice(dates)
    if d is not None:
        hdr += "Date: %s\n" % d
    if rng.random() < 0.9:
        hdr += "Message-ID: <m%d@x>\n" % (i if rng.random() < 0.9 else 1)
    if i > 0 and rng.random() < 0.5:
        parent = rng.randrange(i)
        hdr += "In-Reply-To: <m%d@x>\nReferences: <m%d@x> <m%d@x>\n" % (
            parent, rng.randrange(i), parent)
    return (hdr + "\nbody %d %s\n" % (i, "x" * rng.randrange(200))).encode()


QUERIES = [
    "SORT (DATE) UTF-8 ALL",
    "SORT (REVERSE DATE) UTF-8 ALL",
    "SORT (ARRIVAL) UTF-8 ALL",
    "SORT (SIZE) UTF-8 ALL",
    "SORT (SUBJECT) UTF-8 ALL",
    "SORT (FROM DATE) UTF-8 ALL",
    "SORT (TO REVERSE CC) UTF-8 ALL",
    "SORT (DISPLAYFROM) UTF-8 ALL",
    "SORT (DISPLAYTO SUBJECT) UTF-8 ALL",
    "SORT (REVERSE SUBJECT REVERSE DATE) UTF-8 ALL",
    "SORT (DATE) UTF-8 SUBJECT budget",
    "UID SORT (DATE) UTF-8 ALL",
    "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL",
    "THREAD REFERENCES UTF-8 ALL",
    "THREAD ORDEREDSUBJECT UTF-8 ALL",
    "UID THREAD REFERENCES UTF-8 ALL",
]

ANSWER = re.compile(rb"^\* (SORT|THREAD|ESEARCH)\b")


def answer(m, query):
    """The untagged SORT/THREAD/ESEARCH lines of one command."""
    tag = m._new_tag()
    m.send(tag + b" " + query.encode() + b"\r\n")
    lines = []
    while True:
        line = m._get_line()
        if line.startswith(tag + b" "):
            assert line.split()[1] == b"OK", (query, line)
            return [re.sub(rb'\(TAG "[^"]*"\)', b"(TAG)", x) for x in lines]
        if ANSWER.match(line):
            lines.append(line)


def session(imapd, md):
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    return m


def uiddb(imapd, md):
    """A courierimapuiddb of the folder's UIDs now, so that a fresh index
    gives every message the UID (and sequence number) it has."""
    m = session(imapd, md)
    typ, data = m.status("INBOX", "(UIDVALIDITY UIDNEXT)")
    st = dict(re.findall(rb"(UIDVALIDITY|UIDNEXT) (\d+)", data[0]))
    typ, data = m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (X-Id)])")
    m.logout()
    uid_of = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            uid_of[int(re.search(rb"X-Id: (\d+)", item[1]).group(1))] = uid
    lines = ["1 %d %d" % (int(st[b"UIDVALIDITY"]), int(st[b"UIDNEXT"]))]
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(md, sub)):
            with open(os.path.join(md, sub, name), "rb") as f:
                xid = int(re.search(rb"X-Id: (\d+)", f.read()).group(1))
            lines.append("%d %s" % (uid_of[xid], name.split(":")[0]))
    assert len(lines) == len(uid_of) + 1
    return "\n".join(lines) + "\n"


def fresh_answers(imapd, md, tmp_path, queries):
    """Each query's answer on its own fresh copy (no index: every header
    read; the same UIDs through a courierimapuiddb)."""
    db = uiddb(imapd, md)
    out = {}
    for k, q in enumerate(queries):
        copy = str(tmp_path / ("fresh%d" % k))
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(md, copy)
        for f in os.listdir(copy):
            if f.startswith("courier-suite.index"):
                os.unlink(os.path.join(copy, f))
        with open(os.path.join(copy, "courierimapuiddb"), "w") as f:
            f.write(db)
        m = session(imapd, copy)
        out[q] = answer(m, q)
        m.logout()
        shutil.rmtree(copy)
    return out


def check_all(imapd, md, expected, order):
    m = session(imapd, md)
    for q in order:
        assert answer(m, q) == expected[q], q
    m.logout()


def test_keys_give_the_same_answers(imapd, tmp_path):
    rng = random.Random(5256)
    md = str(tmp_path / "Maildir")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, d))
    for i in range(80):
        put(md, message(rng, i), sub="new" if i % 9 == 0 else "cur")
    # References past 64 KiB: its keys are not kept, it is read each time
    refs = " ".join("<r%d@big.example>" % k for k in range(4000))
    put(md, ("X-Id: 999\nSubject: huge refs\nMessage-ID: <huge@x>\n"
             "References: %s\n"
             "Date: 3 Jan 2019 00:00 +0000\n\nx\n" % refs).encode())

    expected = fresh_answers(imapd, md, tmp_path, QUERIES)
    assert expected["SORT (DATE) UTF-8 ALL"][0].count(b" ") == 82

    # DATE keys first, then every other criterion widens them; two
    # passes in one session, then a second session in another order
    check_all(imapd, md, expected, QUERIES + QUERIES)
    rev = list(reversed(QUERIES))
    check_all(imapd, md, expected, rev)

    # THREAD first on another folder (its keys first, DATE alone after)
    md2 = str(tmp_path / "Maildir2")
    shutil.copytree(md, md2)
    for f in os.listdir(md2):
        if f.startswith("courier-suite.index"):
            os.unlink(os.path.join(md2, f))
    check_all(imapd, md2, expected, rev + QUERIES)


def test_keys_follow_changes(imapd, tmp_path):
    rng = random.Random(9051)
    md = str(tmp_path / "Maildir")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, d))
    files = [put(md, message(rng, i)) for i in range(120)]
    queries = ["SORT (DATE) UTF-8 ALL", "SORT (SUBJECT FROM) UTF-8 ALL",
               "THREAD REFERENCES UTF-8 ALL", "UID SORT (REVERSE DATE) UTF-8 ALL"]
    check_all(imapd, md, fresh_answers(imapd, md, tmp_path, queries),
              queries)

    # expunged through IMAP, removed behind the index's back, added by
    # APPEND and by delivery into new/
    m = session(imapd, md)
    m.store("1:20", "+FLAGS", "\\Deleted")
    m.expunge()
    for i in range(5):
        m.append("INBOX", None, None, message(rng, 200 + i).replace(
            b"\n", b"\r\n"))
    m.logout()
    for f in files[40:50]:
        os.unlink(f)
    for i in range(5):
        put(md, message(rng, 300 + i), sub="new")
    check_all(imapd, md, fresh_answers(imapd, md, tmp_path, queries),
              queries + queries)

    # most of the folder expunged: the keys of the expunged are cleaned
    # by the next store of keys, the answers stay right
    m = session(imapd, md)
    m.store("1:80", "+FLAGS", "\\Deleted")
    m.expunge()
    m.logout()
    for i in range(3):
        put(md, message(rng, 400 + i))
    check_all(imapd, md, fresh_answers(imapd, md, tmp_path, queries),
              queries + queries)

    # the index rebuilt (new UIDs, another UIDVALIDITY): nothing stale
    for f in os.listdir(md):
        if f.startswith("courier-suite.index") or f == "courierimapuiddb":
            os.unlink(os.path.join(md, f))
    check_all(imapd, md, fresh_answers(imapd, md, tmp_path, queries),
              queries + queries)
