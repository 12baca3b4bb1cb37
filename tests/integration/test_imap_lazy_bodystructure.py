"""test_imap_lazy_bodystructure.py: the first FETCH of ENVELOPE (or of the
header fields SEARCH and SORT read) reads only each message's header and
caches the ENVELOPE and those fields; BODY and BODYSTRUCTURE are computed
later, when first asked, and cached then.  With Python's imaplib over
`imapd DIR`: every answer is the same as when everything is parsed at
once (ENVELOPE, BODY, BODYSTRUCTURE, BODY[section], BINARY, SEARCH), also
after an ENVELOPE-only FETCH, after a flag change (the file renamed), and
after the index was lost and rebuilt; and the body structure is really
read later (a message rewritten in place after the ENVELOPE FETCH shows
its new structure, its ENVELOPE stays the cached one)."""

import imaplib
import os
import shutil

import pytest

from maildirs import deliver


def put(md, data, sub="cur", info=":2,"):
    """Delivers data into sub/ with info; returns the file's path."""
    return os.path.join(md, sub, deliver(md, data, sub, info, "lazy") + info)


MULTI = (b"From: \"Joe Q\" <joe@example.com>\n"
         b"To: a@b.example, Friends: x@y.example;\n"
         b"Subject: =?utf-8?q?h=C3=A9llo?=\n"
         b"Date: Mon, 7 Feb 1994 21:52:25 -0800\n"
         b"Message-ID: <multi@x>\n"
         b"MIME-Version: 1.0\n"
         b"Content-Type: multipart/mixed; boundary=\"XX\"\n"
         b"\n"
         b"preamble\n"
         b"--XX\n"
         b"Content-Type: text/plain; charset=utf-8\n"
         b"Content-Transfer-Encoding: quoted-printable\n"
         b"\n"
         b"h=C3=A9llo\n"
         b"--XX\n"
         b"Content-Type: application/octet-stream; name=\"a.bin\"\n"
         b"Content-Disposition: attachment; filename=\"a.bin\"\n"
         b"Content-Transfer-Encoding: base64\n"
         b"Content-Language: en, fr\n"
         b"Content-Location: http://x.example/y\n"
         b"\n"
         b"AAECAw==\n"
         b"--XX\n"
         b"Content-Type: message/rfc822\n"
         b"\n"
         b"From: inner@x.example\n"
         b"Subject: inner\n"
         b"\n"
         b"inner body\n"
         b"--XX--\n")


def messages():
    out = [MULTI]
    # a long header (past the first block the server reads), folded
    long_to = ",\n ".join("r%d@long.example" % i for i in range(3000))
    out.append(("From: long@x.example\nTo: %s\nSubject: long header\n"
                "Date: 2 Mar 2021 10:00:00 +0000\n\nshort body\n"
                % long_to).encode())
    # CRLF, 8-bit header, no Date, an attachment of 300 KB
    out.append(b"From: =?iso-8859-1?q?Andr=E9?= <andre@x.example>\r\n"
               b"Subject: caf\xc3\xa9 8bit\r\n"
               b"Content-Type: multipart/alternative; boundary=b\r\n\r\n"
               b"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
               b"--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n"
               b"--b\r\nContent-Type: image/png\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" +
               b"QUJD\r\n" * 50000 + b"--b--\r\n")
    # no empty line: all header
    out.append(b"From: nobody@x.example\nSubject: no body")
    # malformed: broken lines, a bad boundary, a message/rfc822 that is
    # not one
    out.append(b"no colon line\nFrom: broken@x.example\n"
               b"Content-Type: multipart/mixed; boundary=\"unclosed\n"
               b"Subject: broken\n\n--unclosed\nbody\n")
    out.append(b"From: m@x.example\nContent-Type: message/rfc822\n\n")
    out.append(b"")
    for i in range(30):
        out.append(("From: user%d@x.example\nTo: t%d@y.example\n"
                    "Subject: plain %d\nDate: %d Mar 2021 10:%02d:00 +0000\n"
                    "Message-ID: <p%d@x>\n\nbody %d\n"
                    % (i % 4, i % 3, i, 1 + i % 20, i, i, i)).encode())
    return out


def make_folder(path):
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d))
    return [put(path, m) for m in messages()]


def session(imapd, md):
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    return m


def fetch(m, items, uids="1:*"):
    """{uid: response bytes} of UID FETCH uids items (literals inlined)."""
    typ, data = m.uid("FETCH", uids, items)
    assert typ == "OK", data
    out = {}
    cur = b""
    for d in data:
        if isinstance(d, tuple):
            cur += d[0] + d[1]
            continue
        cur += d
        uid = int(cur.split(b"UID ")[1].split()[0].rstrip(b")"))
        out[uid] = cur
        cur = b""
    return out


ITEMS = ["ENVELOPE", "BODY", "BODYSTRUCTURE", "BODY.PEEK[1]",
         "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]", "BINARY.PEEK[1]",
         "BODY.PEEK[3.HEADER]"]


def all_answers(m):
    """Each item fetched on its own, then SEARCH and SORT answers."""
    out = {}
    for item in ITEMS:
        out[item] = fetch(m, "(%s)" % item)
    for crit in ("FROM user1", "SUBJECT plain", "TO t2@y", "FROM andre"):
        typ, data = m.uid("SEARCH", crit)
        assert typ == "OK"
        out[crit] = data
    typ, data = m._simple_command("UID", "SORT", "(FROM DATE)", "UTF-8",
                                  "ALL")
    out["SORT"] = m._untagged_response(typ, data, "SORT")[1]
    return out


@pytest.fixture
def folders(tmp_path):
    """The reference answers (everything parsed at once: one FETCH of
    ENVELOPE, BODY and BODYSTRUCTURE), and a function making fresh
    copies of the folder."""
    master = str(tmp_path / "master")
    make_folder(master)
    n = [0]

    def copy():
        n[0] += 1
        dst = str(tmp_path / ("copy%d" % n[0]))
        shutil.copytree(master, dst)
        return dst

    return master, copy


def reference(imapd, md):
    m = session(imapd, md)
    typ, _ = m.uid("FETCH", "1:*", "(ENVELOPE BODY BODYSTRUCTURE)")
    assert typ == "OK"
    ref = all_answers(m)
    m.logout()
    return ref


def test_envelope_first_then_bodystructure(imapd, folders):
    master, copy = folders
    ref = reference(imapd, copy())
    assert len(ref["ENVELOPE"]) == len(messages())
    assert b"BODYSTRUCTURE ((\"TEXT\" \"PLAIN\"" in \
        b"".join(ref["BODYSTRUCTURE"].values())
    md = copy()
    m = session(imapd, md)
    env = fetch(m, "(ENVELOPE)")
    assert env == ref["ENVELOPE"]
    # computed now, in the same session (values still queued or not)
    assert all_answers(m) == ref
    m.logout()
    # and from the index in the next one
    m = session(imapd, md)
    assert all_answers(m) == ref
    m.logout()
    # the items in other orders and together
    m = session(imapd, copy())
    both = fetch(m, "(BODYSTRUCTURE ENVELOPE)")
    for uid, line in both.items():
        assert ref["BODYSTRUCTURE"][uid].split(b"BODYSTRUCTURE ")[1][:-1] \
            in line
        assert ref["ENVELOPE"][uid].split(b"ENVELOPE ")[1][:-1] in line
    m.logout()


def test_search_first_then_envelope(imapd, folders):
    """SEARCH caches the header fields alone; ENVELOPE and BODYSTRUCTURE
    come later, the same."""
    master, copy = folders
    ref = reference(imapd, copy())
    m = session(imapd, copy())
    typ, data = m.uid("SEARCH", "FROM user1")
    assert data == ref["FROM user1"]
    assert fetch(m, "(ENVELOPE)") == ref["ENVELOPE"]
    assert fetch(m, "(BODYSTRUCTURE)") == ref["BODYSTRUCTURE"]
    m.logout()


def test_bodystructure_read_later(imapd, folders):
    """After an ENVELOPE-only FETCH the body is not parsed yet: a message
    rewritten in place (messages never change in a maildir: this only
    shows when the server reads it) has its new structure, and its old,
    cached ENVELOPE."""
    master, copy = folders
    md = copy()
    m = session(imapd, md)
    env = fetch(m, "(ENVELOPE)")
    m.logout()
    path = [os.path.join(md, "cur", f) for f in os.listdir(
        os.path.join(md, "cur"))]
    target = [p for p in path if b"<multi@x>" in open(p, "rb").read()][0]
    with open(target, "r+b") as f:
        data = f.read()
        new = data.replace(b"Subject: =?utf-8?q?h=C3=A9llo?=",
                           b"Subject: =?utf-8?q?CHANGED?=xxx") \
                  .replace(b"application/octet-stream",
                           b"application/x-lazy-test!")
        assert len(new) == len(data)
        f.seek(0)
        f.write(new)
    m = session(imapd, md)
    assert fetch(m, "(ENVELOPE)") == env          # cached before
    bs = b"".join(fetch(m, "(BODYSTRUCTURE)").values())
    assert b'"APPLICATION" "X-LAZY-TEST!"' in bs  # read now
    m.logout()


def test_after_flag_change(imapd, folders):
    master, copy = folders
    ref = reference(imapd, copy())
    md = copy()
    m = session(imapd, md)
    assert fetch(m, "(ENVELOPE)") == ref["ENVELOPE"]
    typ, _ = m.uid("STORE", "1:*", "+FLAGS.SILENT", "(\\Flagged)")
    assert typ == "OK"
    names = os.listdir(os.path.join(md, "cur"))
    assert all(n.endswith(":2,F") for n in names)
    got = fetch(m, "(BODYSTRUCTURE)")
    assert got == ref["BODYSTRUCTURE"]
    assert fetch(m, "(BODY)") == ref["BODY"]
    assert fetch(m, "(BODY.PEEK[1])") == ref["BODY.PEEK[1]"]
    m.logout()
    # another session renames them again, then this one asks
    m = session(imapd, md)
    m2 = session(imapd, md)
    typ, _ = m2.uid("STORE", "1:*", "-FLAGS.SILENT", "(\\Flagged)")
    assert typ == "OK"
    m2.logout()
    m.noop()                     # the other session's FETCH FLAGS
    assert fetch(m, "(BINARY.PEEK[1])") == ref["BINARY.PEEK[1]"]
    assert all_answers(m) == ref
    m.logout()


def test_after_rebuilt_index(imapd, folders):
    master, copy = folders
    ref = reference(imapd, copy())
    md = copy()
    m = session(imapd, md)
    assert fetch(m, "(ENVELOPE)") == ref["ENVELOPE"]
    m.logout()
    for f in os.listdir(md):
        if f.startswith("courier-suite.index"):
            os.unlink(os.path.join(md, f))
    m = session(imapd, md)
    assert fetch(m, "(BODYSTRUCTURE)") == ref["BODYSTRUCTURE"]
    assert all_answers(m) == ref
    m.logout()
    # a damaged index too: rebuilt, the same answers
    m = session(imapd, md)
    assert fetch(m, "(ENVELOPE)") == ref["ENVELOPE"]
    m.logout()
    idx = os.path.join(md, "courier-suite.index")
    with open(idx, "r+b") as f:
        f.seek(0)
        f.write(b"\0" * 8192)
    m = session(imapd, md)
    assert all_answers(m) == ref
    m.logout()


def test_many_messages_batched(imapd, tmp_path):
    """More values than one write of the cache takes (several batches in
    one FETCH), then the same answers from the index."""
    md = str(tmp_path / "many")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, d))
    for i in range(2500):
        put(md, ("From: s%d@x.example\nSubject: n %d\n\nb\n"
                 % (i % 7, i)).encode())
    m = session(imapd, md)
    first = fetch(m, "(ENVELOPE)")
    assert len(first) == 2500
    m.logout()
    m = session(imapd, md)
    assert fetch(m, "(ENVELOPE)") == first
    typ, data = m.uid("SEARCH", "FROM s3@")
    assert len(data[0].split()) == len([i for i in range(2500)
                                        if i % 7 == 3])
    bs = fetch(m, "(BODYSTRUCTURE)")
    assert len(bs) == 2500
    m.logout()
