"""test_imap_search_cache.py: SEARCH FROM/TO/CC/SUBJECT/SENT*/HEADER,
SORT and THREAD answered from the header fields kept in the folder's index
cache, with Python's imaplib over `imapd DIR`: the same answers with the
cache cold (fields read from the files), filled by the search itself, and
filled by FETCH ENVELOPE; a warm search does not read the message files;
a header too big for the cache is still searched from its file."""

import imaplib
import os
import shutil


from maildirs import deliver


def put(md, data, sub="cur", info=":2,"):
    """Delivers data into sub/ with info; returns the file's path."""
    return os.path.join(md, sub, deliver(md, data, sub, info, "cache") + info)


def make_folder(path):
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d))
    files = []
    people = ["alice", "bob", "carol", "=?utf-8?q?Zo=C3=A9?= <zoe"]
    for i in range(40):
        who = people[i % len(people)]
        frm = who + "@x.example>" if who.startswith("=?") \
            else "%s@x.example" % who
        hdr = ("From: %s\nTo: t%d@y.example\n" % (frm, i % 5))
        if i % 3 == 0:
            hdr += "Cc: cc%d@z.example\n" % (i % 2)
        subj = ["budget", "Re: budget", "lunch", "Fwd: plans"][i % 4]
        hdr += "Subject: %s %d\n" % (subj, i // 7)
        hdr += "Date: %d Mar 2021 10:%02d:00 +0000\n" % (1 + i % 20, i)
        hdr += "Message-ID: <m%d@x>\n" % i
        if i % 4 == 1:
            hdr += "In-Reply-To: <m%d@x>\nReferences: <m%d@x>\n" % (i - 1,
                                                                   i - 1)
        files.append(put(path, (hdr + "\nbody %d\n" % i).encode()))
    # kept fields past the cache's limit (256 KB): searched from the file
    # (six To fields of 50 KB, each under the parser's 64 KB a field)
    big = "\n".join("To: " + ",\n ".join("r%d@big.example" % k
                                         for k in range(j, 15000, 6))
                    for j in range(6))
    files.append(put(path, ("From: huge@x.example\n%s\nSubject: huge\n"
                            "Date: 5 Mar 2021 00:00:00 +0000\n\nx\n"
                            % big).encode()))
    return files


QUERIES = [
    ("SEARCH", "FROM alice"),
    ("SEARCH", "CHARSET UTF-8 FROM"),        # + literal "zoé"
    ("SEARCH", "TO t3@y"),
    ("SEARCH", "CC cc1"),
    ("SEARCH", "SUBJECT budget"),
    ("SEARCH", "OR SUBJECT lunch FROM bob"),
    ("SEARCH", "NOT FROM carol SENTSINCE 10-Mar-2021"),
    ("SEARCH", 'HEADER Message-ID "<m7@"'),
    ("SEARCH", "TO r14999@big"),
    ("SEARCH", "FROM huge"),
    ("SORT", "(FROM) UTF-8 ALL"),
    ("SORT", "(REVERSE SUBJECT DATE) UTF-8 ALL"),
    ("SORT", "(CC TO) UTF-8 SUBJECT budget"),
    ("THREAD", "REFERENCES UTF-8 ALL"),
    ("THREAD", "ORDEREDSUBJECT UTF-8 ALL"),
]


def answers(m):
    out = []
    for cmd, args in QUERIES:
        if args.endswith("FROM"):
            m.literal = "zoé".encode()
        typ, data = m._simple_command("UID", cmd, args)
        assert typ == "OK", (cmd, args, data)
        typ, data = m._untagged_response(typ, data, cmd)
        out.append(data[-1])
    return out


def session(imapd, md):
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    m.select("INBOX")
    return m


def test_cached_fields_give_the_same_answers(imapd, tmp_path):
    md = str(tmp_path / "a")
    files = make_folder(md)
    shutil.copytree(md, str(tmp_path / "b"))
    m = session(imapd, md)
    cold = answers(m)
    # message number i of make_folder() for each UID
    typ, data = m.uid("FETCH", "1:*",
                      "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    num = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(item[0].split(b"UID ")[1].split()[0])
            mid = item[1].strip()
            num[uid] = int(mid[14:-3]) if mid else 40

    def uids(pred):
        return sorted(u for u, i in num.items() if i < 40 and pred(i))

    assert [int(x) for x in cold[0].split()] == uids(lambda i: i % 4 == 0)
    assert [int(x) for x in cold[1].split()] == uids(lambda i: i % 4 == 3)
    assert [int(x) for x in cold[3].split()] == \
        uids(lambda i: i % 3 == 0 and i % 2 == 1)
    huge = [u for u, i in num.items() if i == 40]
    assert cold[8] == cold[9] == b"%d" % huge[0]
    assert answers(m) == cold          # the cache still queued
    m.logout()
    m = session(imapd, md)
    assert answers(m) == cold          # from the index
    m.logout()
    # filled by FETCH ENVELOPE instead (another copy of the folder)
    m = session(imapd, str(tmp_path / "b"))
    typ, data = m.fetch("1:*", "(ENVELOPE)")
    assert typ == "OK"
    assert answers(m) == cold
    m.logout()
    # warm: the files are not read again (messages never change in a
    # maildir; rewriting one in place shows where the answer came from)
    with open(files[0], "r+b") as f:
        data = f.read().replace(b"From: alice", b"From: xxxxx")
        f.seek(0)
        f.write(data)
    m = session(imapd, md)
    first = uids(lambda i: i == 0)[0]
    typ, data = m.uid("SEARCH", "FROM", "alice")
    assert b"%d" % first in data[0].split()
    typ, data = m.uid("SEARCH", "HEADER", "From", "alice")
    assert b"%d" % first in data[0].split()   # From is kept: the cache
    typ, data = m.uid("SEARCH", "TEXT", "xxxxx")
    assert data[0].split() == [b"%d" % first]  # TEXT reads the file
    m.logout()
