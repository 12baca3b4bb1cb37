"""test_newuser_imap.py: regressions found by trying imapd as a new user
would (several clients on one account): a folder renamed or deleted by
one session while another has it selected ends the other session with a
BYE that says so, instead of failing its commands with file system errors
(and the maildir paths in them); the renaming session goes on.  Then what
clients send that the other tests do not: NUL bytes and bare LFs in
APPEND, 8-bit and UTF-8 folder names with and without UTF8=ACCEPT, INBOX.x
names with no prefix, nested MIME sections, SEARCH with CHARSET UTF-8,
COPY/MOVE with keywords, IDLE while another session expunges, and
Thunderbird's startup sequence."""
import os
import re
import shutil
import tempfile

import pytest

from conftest import make_instance
from test_imap import MAIL_USER, login


@pytest.fixture
def iinst(suite_build):
    root = tempfile.mkdtemp(prefix="test-newuser-imap-", dir="/tmp")
    os.chmod(root, 0o755)
    extra = ("--user", MAIL_USER) if os.getuid() == 0 else ()
    inst = make_instance(suite_build, os.path.join(root, "instance"),
                         extra_args=extra)
    inst.program("imapd")
    try:
        inst.start_auth()
        inst.start("imapd")
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def read_until_tagged_or_eof(m, tag):
    """The lines the server sends up to the tagged reply or EOF."""
    lines = []
    while True:
        line = m.readline()
        if not line:
            return lines
        lines.append(line)
        if line.startswith(tag + b" "):
            return lines


@pytest.mark.parametrize("how", ["rename", "delete"])
@pytest.mark.parametrize("command", [b"STORE 1 +FLAGS (\\Seen)", b"NOOP",
                                     b"FETCH 1 (FLAGS)"])
def test_selected_folder_renamed_by_other_session(iinst, how, command):
    a = login(iinst)
    b = login(iinst)
    assert a.create("Projects")[0] == "OK"
    assert a.append("Projects", None, None,
                    b"Subject: r\r\n\r\nbody\r\n")[0] == "OK"
    assert b.select("Projects") == ("OK", [b"1"])
    if how == "rename":
        assert a.rename("Projects", "Projects2")[0] == "OK"
    else:
        assert a.delete("Projects")[0] == "OK"
    b.send(b"x1 " + command + b"\r\n")
    lines = read_until_tagged_or_eof(b, b"x1")
    text = b"".join(lines)
    # no file system error, no path of the server's disk
    assert b"/" not in text and b"No such file" not in text, text
    assert lines and lines[0].startswith(b"* BYE "), text
    assert b"renamed" in lines[0]
    assert b.readline() == b""          # the session ended
    # the other session is fine
    assert a.noop()[0] == "OK"
    if how == "rename":
        assert a.select("Projects2") == ("OK", [b"1"])
    a.logout()


def test_idle_in_folder_renamed_by_other_session(iinst):
    a = login(iinst)
    b = login(iinst)
    assert a.create("Idled")[0] == "OK"
    assert b.select("Idled")[0] == "OK"
    b.send(b"i1 IDLE\r\n")
    assert b.readline().startswith(b"+")
    assert a.rename("Idled", "Idled2")[0] == "OK"
    b.sock.settimeout(20)
    line = b.readline()
    assert line.startswith(b"* BYE "), line
    assert b.readline() == b""
    a.logout()


def test_other_folder_renamed_keeps_session(iinst):
    a = login(iinst)
    b = login(iinst)
    assert a.create("Elsewhere")[0] == "OK"
    assert b.select("INBOX")[0] == "OK"
    assert a.rename("Elsewhere", "Elsewhere2")[0] == "OK"
    assert b.noop()[0] == "OK"
    assert b.select("Elsewhere2")[0] == "OK"
    # SELECT away from a vanished folder is allowed
    assert a.rename("Elsewhere2", "Elsewhere3")[0] == "OK"
    assert b.select("INBOX")[0] == "OK"
    b.logout()
    a.logout()


# ---------------------------------------------------------------------
# Inputs a new user's clients send that the other tests do not.

def raw(m, line):
    """Sends one command (bytes, without tag); returns every line up to
    and with the tagged one, literals included as read."""
    tag = m._new_tag()
    m.send(tag + b" " + line + b"\r\n")
    out = []
    while True:
        got = m.readline()
        assert got, out
        out.append(got)
        if got.startswith(tag + b" "):
            return out


def literals(lines):
    """(marker, data) of every literal in raw() lines: marker b"{" or
    b"~{" as the server announced it."""
    out = []
    text = b"".join(lines)
    pos = 0
    pat = re.compile(rb"(~?\{)(\d+)\}\r\n")
    while True:
        m = pat.search(text, pos)
        if not m:
            return out
        n = int(m.group(2))
        out.append((m.group(1), text[m.end():m.end() + n]))
        pos = m.end() + n


NUL_MSG = b"From: a@b\r\nSubject: nul\r\n\r\nbefore\x00after\r\n"


# RFC 3501/9051: literal = "{" number "}" CRLF *CHAR8, CHAR8 = %x01-ff
def test_nul_never_in_plain_literal(iinst):
    m = login(iinst)
    # APPEND with a literal8 (BINARY): allowed to hold NUL
    tag = m._new_tag()
    m.send(tag + b" APPEND INBOX ~{%d+}\r\n" % len(NUL_MSG) + NUL_MSG +
           b"\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag + b" "):
            break
    assert line.split()[1] == b"OK", line
    # and with a plain literal, which clients that copy mail send (CHAR8
    # forbids NUL there, but refusing would stop a migration): taken too
    assert m.append("INBOX", None, None, NUL_MSG)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    lines = raw(m, b"FETCH 1:2 (BODY.PEEK[] BODY.PEEK[TEXT] RFC822.TEXT "
                b"BINARY.PEEK[] BODY.PEEK[1])")
    assert lines[-1].split()[1] == b"OK"
    for marker, data in literals(lines):
        if marker == b"{":
            assert b"\x00" not in data, lines
    m.logout()


def test_bare_lf_append_served_crlf(iinst):
    m = login(iinst)
    msg = b"From: a@b\nSubject: lf\nContent-Type: text/plain\n\nl1\nl2\n"
    assert m.append("INBOX", None, None, msg)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    lines = raw(m, b"FETCH 1 (RFC822.SIZE BODY.PEEK[] BODYSTRUCTURE)")
    [(_, body)] = literals(lines)
    assert body == msg.replace(b"\n", b"\r\n")
    assert b"RFC822.SIZE %d " % len(body) in lines[0]
    # the body's size and line count are those of the CRLF form
    assert b'"7BIT" 8 2 ' in b"".join(lines), lines
    m.logout()


def test_utf8_folder_names_both_ways(iinst):
    m = login(iinst)
    # without UTF8=ACCEPT: modified UTF-7 in, modified UTF-7 out; raw
    # 8-bit refused
    assert raw(m, b'CREATE "Caf&AOk-"')[-1].split()[1] == b"OK"
    assert raw(m, b'CREATE "Mus\xc3\xa9e"')[-1].split()[1] in (b"NO",
                                                              b"BAD")
    lines = raw(m, b'LIST "" "Caf*"')
    assert lines[0] == b'* LIST (\\HasNoChildren) "." Caf&AOk-\r\n', lines
    # with UTF8=ACCEPT: UTF-8 both ways, the same folder
    assert raw(m, b"ENABLE UTF8=ACCEPT")[0] == b"* ENABLED UTF8=ACCEPT\r\n"
    lines = raw(m, b'LIST "" "Caf*"')
    assert lines[0] == b'* LIST (\\HasNoChildren) "." "Caf\xc3\xa9"\r\n'
    assert raw(m, b'CREATE "\xce\xa3\xcf\x87\xce\xad\xce\xb4\xce\xb9\xce'
               b'\xb1.\xe6\x97\xa5\xe6\x9c\xac"')[-1].split()[1] == b"OK"
    assert raw(m, b'SELECT "Caf\xc3\xa9"')[-1].split()[1] == b"OK"
    # invalid UTF-8 is refused, not stored
    assert raw(m, b'CREATE "bad\xff\xfe"')[-1].split()[1] in (b"NO", b"BAD")
    m.logout()
    m = login(iinst)
    lines = raw(m, b'LIST "" "*"')
    text = b"".join(lines)
    assert b"&A6MDxwOtA7QDuQOx-.&ZeVnLA-" in text, text
    assert not re.search(rb"[\x80-\xff]", text), text
    m.logout()


def test_inbox_dot_name_without_prefix(iinst):
    m = login(iinst)
    assert m.append("INBOX", None, None, b"Subject: i\r\n\r\nx\r\n")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    for cmd in (b'CREATE "INBOX.x"', b'CREATE "inbox.x"',
                b'COPY 1 "INBOX.x"', b'RENAME Nope "INBOX.y"'):
        st = raw(m, cmd)[-1].split()[1]
        assert st in (b"NO", b"BAD"), cmd
    lines = raw(m, b'LIST "" "*"')
    assert not any(b"INBOX." in l for l in lines)
    m.logout()


NESTED = (b"From: n@x\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
          b"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n"
          b"\r\n--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
          b"plain caf\xc3\xa9\r\n--inner\r\n"
          b"Content-Type: text/html; charset=utf-8\r\n"
          b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
          b"<p>caf=C3=A9</p>\r\n--inner--\r\n--outer\r\n"
          b"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
          b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n"
          b"--outer--\r\n")


def test_nested_mime_sections_and_utf8_search(iinst):
    m = login(iinst)
    assert m.append("INBOX", None, None, NESTED)[0] == "OK"
    assert m.append("INBOX", None, None,
                    b"From: o@x\r\nSubject: other\r\n\r\ncafe\r\n")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    lines = raw(m, b"FETCH 1 (BODY.PEEK[1.2.MIME] BODY.PEEK[1.2] "
                b"BINARY.PEEK[1.2] BINARY.SIZE[1.2] BODY.PEEK[1.MIME] "
                b"BINARY.PEEK[2])")
    lits = literals(lines)
    assert lits[0] == (b"{", b"Content-Type: text/html; charset=utf-8\r\n"
                       b"Content-Transfer-Encoding: quoted-printable\r\n"
                       b"\r\n")
    assert lits[1] == (b"{", b"<p>caf=C3=A9</p>")
    assert lits[2][1] == b"<p>caf\xc3\xa9</p>"
    assert b"BINARY.SIZE[1.2] 12" in b"".join(lines)
    assert lits[3][1].startswith(b"Content-Type: multipart/alternative")
    assert lits[4] == (b"~{", b"\x00\x01\x02\x03")
    for q in (b'SEARCH CHARSET UTF-8 BODY "caf\xc3\xa9"',
              b'SEARCH CHARSET UTF-8 TEXT {5+}\r\ncaf\xc3\xa9',
              b'SEARCH CHARSET UTF-8 BODY "CAF\xc3\x89"',
              b'SEARCH CHARSET ISO-8859-1 BODY "caf\xe9"'):
        lines = raw(m, q)
        assert lines[0] == b"* SEARCH 1\r\n", (q, lines)
    m.logout()


def test_copy_move_keep_keywords(iinst):
    a = login(iinst)
    b = login(iinst)
    assert a.create("Dest")[0] == "OK"
    for i in range(3):
        assert a.append("INBOX", None, None,
                        b"Subject: k%d\r\n\r\nx\r\n" % i)[0] == "OK"
    assert a.select("INBOX")[0] == "OK"
    assert a.store("1", "+FLAGS", "($Label1 Custom_kw \\Flagged)")[0] == "OK"
    assert a.store("2", "+FLAGS", "(Other $Junk)")[0] == "OK"
    assert raw(a, b"COPY 1 Dest")[-1].split()[1] == b"OK"
    lines = raw(a, b"MOVE 2 Dest")
    assert lines[-1].split()[1] == b"OK"
    assert any(l.startswith(b"* OK [COPYUID ") for l in lines)
    assert b"* 2 EXPUNGE\r\n" in lines
    st, data = b.select("Dest", readonly=True)
    lines = raw(b, b"FETCH 1:* (FLAGS)")
    flags = b"".join(lines)
    assert b"$Label1" in flags and b"Custom_kw" in flags and b"\\Flagged" \
        in flags
    assert b"Other" in flags and b"$Junk" in flags
    a.logout()
    b.logout()


# Five rounds: before 137f441 the EXPUNGE was missed about 4 times in 5
# (the index's commit became visible after the inotify event that woke
# the idler).
def test_idle_sees_expunge_by_other_session(iinst):
    a = login(iinst)
    b = login(iinst)
    for i in range(5):
        assert a.append("INBOX", None, None,
                        b"Subject: e%d\r\n\r\nx\r\n" % i)[0] == "OK"
    assert a.select("INBOX")[0] == "OK"
    assert b.select("INBOX")[0] == "OK"
    b.sock.settimeout(5)
    for i in range(5):
        tag = b._new_tag()
        b.send(tag + b" IDLE\r\n")
        assert b.readline().startswith(b"+")
        assert a.store("1", "+FLAGS", "\\Deleted")[0] == "OK"
        assert a.expunge()[0] == "OK"
        seen = []
        while b"* 1 EXPUNGE\r\n" not in seen:
            try:
                line = b.readline()
            except TimeoutError:
                line = b""
            assert line, (i, seen)
            seen.append(line)
        b.send(b"DONE\r\n")
        while not b.readline().startswith(tag + b" OK"):
            pass
    a.logout()
    b.logout()


def test_thunderbird_startup(iinst):
    m = login(iinst)
    caps = raw(m, b"CAPABILITY")[0]
    for c in (b"IDLE", b"ID", b"UIDPLUS", b"MOVE", b"CONDSTORE",
              b"SPECIAL-USE", b"LIST-EXTENDED", b"ENABLE"):
        assert b" " + c + b" " in caps or caps.endswith(b" " + c + b"\r\n")
    lines = raw(m, b'ID ("name" "Thunderbird" "version" "128.3.0")')
    assert lines[0].startswith(b"* ID (") and lines[-1].split()[1] == b"OK"
    lines = raw(m, b'LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE '
                b'SUBSCRIBED)')
    assert lines[-1].split()[1] == b"OK"
    for line in lines[:-1]:
        assert line.startswith(b"* LIST (") and b"\\Subscribed" in line
    lines = raw(m, b'LIST "" "*" RETURN (SPECIAL-USE SUBSCRIBED)')
    names = [l.rsplit(b" ", 1)[1].strip() for l in lines[:-1]
             if l.startswith(b"* LIST ")]
    assert b"INBOX" in names
    for n in names:
        st = raw(m, b"STATUS " + n + b" (UIDNEXT MESSAGES UNSEEN RECENT "
                 b"HIGHESTMODSEQ)")
        assert st[-1].split()[1] == b"OK", (n, st)
        assert st[0].startswith(b"* STATUS " + n + b" (UIDNEXT "), st
    lines = raw(m, b"SELECT INBOX (CONDSTORE)")
    assert any(l.startswith(b"* OK [HIGHESTMODSEQ ") for l in lines)
    assert lines[-1].split()[1] == b"OK"
    lines = raw(m, b"UID FETCH 1:* (FLAGS)")
    assert lines[-1].split()[1] == b"OK"
    lines = raw(m, b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    assert lines[-1].split()[1] == b"OK"
    m.logout()


UTF8_MSG = ("From: Jos\u00e9 <j@example.test>\r\nSubject: \u00fcml\u00e4ut\r\n"
            "\r\nbody\r\n").encode()


def append_raw(m, args):
    """APPEND INBOX with args (bytes, literals non-synchronizing); the
    tagged reply."""
    tag = m._new_tag()
    m.send(tag + b" APPEND INBOX " + args + b"\r\n")
    while True:
        line = m.readline()
        assert line
        if line.startswith(tag + b" "):
            return line


def test_append_utf8_data_item(iinst):
    """RFC 6855 section 4: a server with UTF8=ACCEPT takes APPEND's
    `UTF8 (literal8)` (a client that enabled UTF8=ACCEPT may send every
    message so)."""
    m = login(iinst)
    assert raw(m, b"ENABLE UTF8=ACCEPT")[0] == b"* ENABLED UTF8=ACCEPT\r\n"
    n = len(UTF8_MSG)
    line = append_raw(m, b"UTF8 (~{%d+}\r\n" % n + UTF8_MSG + b")")
    assert line.split()[1] == b"OK", line
    assert b"APPENDUID" in line
    # flags, date, and a MULTIAPPEND mixing both forms
    line = append_raw(m, b'(\\Seen $Work) "14-Nov-2023 22:13:20 +0000" '
                      b"UTF8 (~{%d+}\r\n" % n + UTF8_MSG + b") "
                      b"{%d+}\r\n" % n + UTF8_MSG)
    assert line.split()[1] == b"OK", line
    # a synchronizing literal8 inside the list
    tag = m._new_tag()
    m.send(tag + b" APPEND INBOX UTF8 (~{%d}\r\n" % n)
    assert m.readline().startswith(b"+")
    m.send(UTF8_MSG + b")\r\n")
    line = m.readline()
    assert line.startswith(tag + b" OK"), line
    assert m.select("INBOX")[0] == "OK"
    lines = raw(m, b"FETCH 1:4 (FLAGS INTERNALDATE BODY.PEEK[])")
    bodies = [d for _, d in literals(lines)]
    assert bodies == [UTF8_MSG] * 4, lines
    text = b"".join(lines)
    assert b"$Work" in text and b"14-Nov-2023 22:13:20 +0000" in text
    # malformed: refused with BAD, nothing stored, the session goes on
    for bad in (b"UTF8", b"UTF8 ()", b"UTF8 (abc)", b"UTF8 ~{2+}\r\nxy",
                b"UTF8 (~{2+}\r\nxy ~{2+}\r\nzz)", b"UTF8 ((~{2+}\r\nxy))",
                b"UTF9 (~{2+}\r\nxy)"):
        line = append_raw(m, bad)
        assert line.split()[1] == b"BAD", (bad, line)
    st, data = m.status("INBOX", "(MESSAGES)")
    assert b"MESSAGES 4" in data[0], data
    m.logout()
