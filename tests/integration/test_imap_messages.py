"""test_imap_messages.py: imapd's message commands with Python's imaplib
over the stdin/stdout tunnel (`imapd DIR`, a throw-away maildir per
test): FETCH of every item (ENVELOPE, BODYSTRUCTURE, BODY[section]<partial>,
BINARY, RFC822.*, macros), \\Seen set by BODY[] and not by BODY.PEEK[],
messages stored with LF served with CRLF, STORE, COPY, MOVE, APPEND,
UIDPLUS, and IDLE seeing deliveries and other sessions' changes.
Responses are checked against the RFC 3501 grammar, not only for OK."""

import imaplib
import os
import re
import subprocess
import time

import pytest

from maildirs import deliver

MSG = (b"From: \"Joe Q\" <joe@example.com>\n"
       b"To: a@b.example, Friends: x@y.example;\n"
       b"Subject: =?utf-8?q?h=C3=A9llo?=\n"
       b"Date: Mon, 7 Feb 1994 21:52:25 -0800\n"
       b"Message-ID: <1@x>\n"
       b"MIME-Version: 1.0\n"
       b"Content-Type: multipart/mixed; boundary=\"XX\"\n"
       b"\n"
       b"preamble\n"
       b"--XX\n"
       b"Content-Type: text/plain; charset=utf-8\n"
       b"Content-Transfer-Encoding: quoted-printable\n"
       b"\n"
       b"h=C3=A9llo\n"
       b"world\n"
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

# RFC 3501 envelope and body, enough to check their shape.
NSTRING = rb'(?:NIL|"(?:[^"\\\r\n]|\\.)*"|\{\d+\}\r\n)'
ADDR = rb"\(" + NSTRING + rb" " + NSTRING + rb" " + NSTRING + rb" " + \
    NSTRING + rb"\)"
ADDRS = rb"(?:NIL|\((?:" + ADDR + rb")+\))"
ENVELOPE = re.compile(rb"\(" + NSTRING + rb" " + NSTRING +
                      (rb" " + ADDRS) * 6 + rb" " + NSTRING + rb" " +
                      NSTRING + rb"\)$")
FETCH_LINE = re.compile(rb"^\d+ \(")


def put(md, data, sub="new", info=""):
    """Delivers data into the maildir the way any MDA would; returns the
    path of the file."""
    return os.path.join(md, sub, deliver(md, data, sub, info) + info)


def session(imapd, md):
    return imaplib.IMAP4_stream("%s %s" % (imapd, md))


def literal_of(data, key):
    """The bytes of the literal whose response prefix contains key."""
    for item in data:
        if isinstance(item, tuple) and key in item[0]:
            return item[1]
    raise AssertionError("no %r in %r" % (key, data))


def test_fetch_items(imapd, md):
    put(md, MSG)    # delivered into new/: \Recent to the first session
    m = session(imapd, md)
    assert m.select("INBOX") == ("OK", [b"1"])
    typ, data = m.fetch("1", "(FLAGS UID RFC822.SIZE INTERNALDATE)")
    assert typ == "OK"
    line = data[0]
    assert re.match(rb'^1 \(UID 1 FLAGS \(\\Recent\) RFC822.SIZE (\d+) '
                    rb'INTERNALDATE "[ 0-9]\d-[A-Z][a-z]{2}-\d{4} '
                    rb'\d\d:\d\d:\d\d [+-]\d{4}"\)$', line), line
    size = int(re.search(rb"RFC822.SIZE (\d+)", line).group(1))
    # stored with LF, served with CRLF and counted that way
    assert size == len(MSG.replace(b"\n", b"\r\n"))
    typ, data = m.fetch("1", "BODY.PEEK[]")
    assert literal_of(data, b"BODY[]") == MSG.replace(b"\n", b"\r\n")

    typ, data = m.fetch("1", "ENVELOPE")
    env = data[0][len(b"1 (ENVELOPE "):-1]
    assert ENVELOPE.match(env), env
    assert b'"=?utf-8?q?h=C3=A9llo?="' in env
    assert b'(("Joe Q" NIL "joe" "example.com"))' in env
    assert b'(NIL NIL "Friends" NIL)(NIL NIL "x" "y.example")' \
        b'(NIL NIL NIL NIL)' in env
    assert env.endswith(b' NIL "<1@x>")')

    typ, data = m.fetch("1", "BODYSTRUCTURE")
    bs = data[0]
    assert bs.startswith(b'1 (BODYSTRUCTURE (("TEXT" "PLAIN" '
                         b'("CHARSET" "utf-8") NIL NIL '
                         b'"QUOTED-PRINTABLE" 17 2 NIL NIL NIL NIL)')
    assert b'"BASE64" 8 NIL ("ATTACHMENT" ("FILENAME" "a.bin")) ' \
        b'("en" "fr") "http://x.example/y")' in bs
    assert b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" ' in bs
    assert bs.endswith(b' "MIXED" ("BOUNDARY" "XX") NIL NIL NIL))')
    typ, data = m.fetch("1", "BODY")
    assert b"BOUNDARY" not in data[0] and b"ATTACHMENT" not in data[0]
    assert data[0].endswith(b' "MIXED"))')

    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (From Subject)] "
                        "BODY.PEEK[1] BINARY.PEEK[1] BINARY.SIZE[2] "
                        "BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] "
                        "BODY.PEEK[2.MIME] BODY.PEEK[]<2.5> BODY.PEEK[9])")
    assert typ == "OK"
    assert literal_of(data, b"HEADER.FIELDS") == (
        b'From: "Joe Q" <joe@example.com>\r\n'
        b'Subject: =?utf-8?q?h=C3=A9llo?=\r\n\r\n')
    assert literal_of(data, b"BODY[1]") == b"h=C3=A9llo\r\nworld"
    assert literal_of(data, b"BINARY[1]") == "héllo\r\nworld".encode()
    assert literal_of(data, b"BODY[3.HEADER]") == \
        b"From: inner@x.example\r\nSubject: inner\r\n\r\n"
    assert literal_of(data, b"BODY[3.TEXT]") == b"inner body"
    assert literal_of(data, b"BODY[2.MIME]").startswith(
        b"Content-Type: application/octet-stream")
    assert literal_of(data, b"BODY[]<2>") == b"om: \""
    assert data[-1].endswith(b" BODY[9] NIL)")
    assert b"BINARY.SIZE[2] 4" in b"".join(
        x[0] if isinstance(x, tuple) else x for x in data)
    # peeking does not set \Seen
    assert m.fetch("1", "FLAGS")[1] == [b"1 (FLAGS (\\Recent))"]
    # BINARY[2] has NULs: literal8
    typ, data = m.fetch("1", "BINARY.PEEK[2]")
    assert literal_of(data, b"BINARY[2]") == b"\0\1\2\3"
    assert b"~{4}" in data[0][0]
    # BODY[TEXT] sets \Seen and reports it
    typ, data = m.fetch("1", "BODY[TEXT]")
    assert b"FLAGS (\\Seen \\Recent)" in data[0][0]
    assert literal_of(data, b"BODY[TEXT]").startswith(b"preamble\r\n--XX")
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert data == [b"1 (UID 1 FLAGS (\\Seen \\Recent))"]
    typ, data = m.fetch("1", "RFC822")
    assert literal_of(data, b"RFC822") == MSG.replace(b"\n", b"\r\n")
    # the message file got the flag too
    assert os.listdir(os.path.join(md, "cur"))[0].endswith(":2,S")
    # macros
    for macro, items in (("ALL", [b"FLAGS", b"INTERNALDATE",
                                  b"RFC822.SIZE", b"ENVELOPE"]),
                         ("FAST", [b"FLAGS", b"INTERNALDATE",
                                   b"RFC822.SIZE"]),
                         ("FULL", [b"ENVELOPE", b"BODY ("])):
        typ, data = m.fetch("1", macro)
        for it in items:
            assert it in data[0], (macro, it)
    m.logout()


def test_fetch_errors_and_many(imapd, md):
    for i in range(300):
        put(md, b"Subject: m%d\n\nbody %d\n" % (i, i))
    m = session(imapd, md)
    assert m.select("INBOX") == ("OK", [b"300"])
    for bad in ("BODY[MIME]", "BODY[1.TEXT.X]", "FOO", "BODY[HEADER.FIELDS]",
                "BODY[]<1>", "(FLAGS ALL)", "BINARY[1.HEADER]"):
        with pytest.raises(imaplib.IMAP4.error):
            m.fetch("1", bad)
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("0:x", "FLAGS")
    # the session goes on; a big FETCH comes in order
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] "
                        "ENVELOPE)")
    assert typ == "OK"
    subjects = [x[1] for x in data if isinstance(x, tuple)]
    assert len(subjects) == 300
    # new mail gets UIDs in the order the folder is read
    assert sorted(subjects) == sorted(b"Subject: m%d\r\n\r\n" % i
                                      for i in range(300))
    # the ENVELOPE cache gives the same answer
    typ, data2 = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] "
                         "ENVELOPE)")
    assert data2 == data
    typ, data = m.uid("FETCH", "299:400", "UID")
    assert data == [b"299 (UID 299)", b"300 (UID 300)"]
    m.logout()


def test_store(imapd, md):
    for i in range(3):
        put(md, b"Subject: s%d\n\nx\n" % i)
    m = session(imapd, md)
    m.select("INBOX")
    typ, data = m.store("1:2", "+FLAGS", "(\\Flagged $Junk)")
    assert typ == "OK"
    assert data == [b"1 (FLAGS (\\Flagged \\Recent $Junk))",
                    b"2 (FLAGS (\\Flagged \\Recent $Junk))"]
    typ, data = m.store("1", "-FLAGS.SILENT", "\\Flagged")
    assert data == [None]
    typ, data = m.uid("STORE", "3", "FLAGS", "(\\Seen \\Answered)")
    assert data == [b"3 (UID 3 FLAGS (\\Seen \\Answered \\Recent))"]
    for bad in ("(\\Recent)", "(\\Bogus)", "(a{b)"):
        with pytest.raises(imaplib.IMAP4.error):
            m.store("1", "+FLAGS", bad)
    with pytest.raises(imaplib.IMAP4.error):
        m.store("1", "XFLAGS", "(\\Seen)")
    # keywords in Courier's format on disk, flags in the file names
    kw = os.path.join(md, "courierimapkeywords")
    assert os.path.isdir(kw)
    names = sorted(os.listdir(os.path.join(md, "cur")))
    assert sum(n.endswith(":2,F") for n in names) == 1
    assert sum(n.endswith(":2,RS") for n in names) == 1
    # a second session sees them
    b = session(imapd, md)
    b.select("INBOX")
    typ, data = b.fetch("1:3", "FLAGS")
    assert data[0] == b"1 (FLAGS ($Junk))"
    # CONDSTORE UNCHANGEDSINCE
    typ, data = b.fetch("1", "(MODSEQ)")
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", data[0]).group(1))
    typ, data = b._simple_command("STORE", "1", "(UNCHANGEDSINCE 1)",
                                  "+FLAGS", "(\\Deleted)")
    assert typ == "OK" and data[0].startswith(b"[MODIFIED 1] ")
    typ, data = b._simple_command("STORE", "1",
                                  "(UNCHANGEDSINCE %d)" % modseq,
                                  "+FLAGS", "(\\Deleted)")
    assert typ == "OK"
    # session a hears about b's change at its next command
    typ, data = m.noop()
    fetches = m.untagged_responses.get("FETCH", [])
    assert any(b"\\Deleted" in f for f in fetches), fetches
    b.logout()
    m.logout()


def test_copy_move_append(imapd, md):
    put(md, b"Subject: one\n\n1\n")
    put(md, b"Subject: two\n\n2\n")
    m = session(imapd, md)
    assert m.create("Archive")[0] == "OK"
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Flagged kw1)")
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK"
    assert re.match(rb"\[COPYUID \d+ 1:2 1:2\] ", data[0]), data
    typ, data = m.copy("1", "Nowhere")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    typ, data = m._simple_command("MOVE", "2", "Archive")
    assert typ == "OK"
    assert m.untagged_responses.get("EXPUNGE") == [b"2"]
    ok = m.untagged_responses.get("OK", [])
    assert any(re.match(rb"\[COPYUID \d+ 2 3\]", o) for o in ok), ok
    typ, data = m.uid("MOVE", "1", "Archive")
    assert typ == "OK"
    typ, data = m.select("Archive")
    assert data == [b"4"]
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    flags = [x[0] for x in data if isinstance(x, tuple)]
    assert b"\\Flagged" in flags[0] and b"kw1" in flags[0]
    # APPEND with flags and internal date, and MULTIAPPEND
    msg = b"Subject: appended\r\n\r\nhello\r\n"
    typ, data = m.append("Archive", "(\\Seen $Label1)",
                         '"05-Mar-2021 10:20:30 +0000"', msg)
    assert typ == "OK"
    assert re.match(rb"\[APPENDUID \d+ 5\]", data[0]), data
    typ, data = m.fetch("5", "(FLAGS INTERNALDATE RFC822.SIZE BODY[])")
    head = data[0][0]
    assert b"\\Seen" in head and b"$Label1" in head
    assert re.search(rb'INTERNALDATE "[ 0][56]-Mar-2021 \d\d:\d0:30 ', head)
    assert b"RFC822.SIZE %d" % len(msg) in head
    assert data[0][1] == msg
    typ, data = m._simple_command(
        "APPEND", "INBOX", "(\\Draft)", "{5+}\r\nab\r\nc", "{3+}\r\nxyz")
    assert typ == "OK" and re.match(rb"\[APPENDUID \d+ 3:4\] ", data[0])
    with pytest.raises(imaplib.IMAP4.error):
        m.append("Archive", "(\\Recent)", None, msg)
    typ, data = m.append("Nope", None, None, msg)
    assert typ == "NO" and b"TRYCREATE" in data[0]
    m.select("INBOX")
    typ, data = m.fetch("1:*", "(FLAGS RFC822)")
    bodies = [x[1] for x in data if isinstance(x, tuple)]
    assert bodies == [b"ab\r\nc", b"xyz"]
    m.logout()


def read_line(m, timeout):
    """One response line from an IMAP4_stream session, or None after
    timeout seconds."""
    import select
    # a line already buffered by the file object needs no select
    if b"\n" not in m.readfile.peek(0):
        r, _, _ = select.select([m.readfile], [], [], timeout)
        if not r:
            return None
    return m.readfile.readline()


def idle_until(m, pattern, timeout=1.0):
    """Lines read while IDLE until one matches pattern; fails after
    timeout seconds."""
    end = time.time() + timeout
    seen = []
    while time.time() < end:
        line = read_line(m, end - time.time())
        if line is None:
            break
        seen.append(line)
        if re.search(pattern, line):
            return seen
    raise AssertionError("no %r within %ss: %r" % (pattern, timeout, seen))


def test_idle(imapd, md):
    put(md, b"Subject: first\n\nx\n")
    a = session(imapd, md)
    b = session(imapd, md)
    a.select("INBOX")
    b.select("INBOX")
    a.send(b"i1 IDLE\r\n")
    assert a.readfile.readline().startswith(b"+ ")
    # a delivery by anything shows up within a second
    t0 = time.time()
    put(md, b"Subject: second\n\ny\n")
    lines = idle_until(a, rb"^\* 2 EXISTS")
    assert time.time() - t0 < 1.0
    # another session's flag change and expunge
    b.store("1", "+FLAGS", "(\\Deleted)")
    idle_until(a, rb"^\* 1 FETCH \(.*\\Deleted")
    b.expunge()
    idle_until(a, rb"^\* 1 EXPUNGE")
    a.send(b"DONE\r\n")
    idle_until(a, rb"^i1 OK ")
    assert a.noop()[0] == "OK"
    # IDLE in the authenticated state, and anything but DONE is BAD
    a.unselect() if hasattr(a, "unselect") else a.close()
    a.send(b"i2 IDLE\r\n")
    assert a.readfile.readline().startswith(b"+ ")
    a.send(b"NOPE\r\n")
    idle_until(a, rb"^i2 BAD ")
    assert a.noop()[0] == "OK"
    a.logout()
    b.logout()
