"""test_imap_acl.py: CREATE with SPECIAL-USE (RFC 6154), UID EXPUNGE and
FETCH sets with "*", ACL (RFC 4314) stored in Courier's courierimapacl
files, and Courier's shared folders (#shared), in imapd with Python's
imaplib over the stdin/stdout tunnel (`imapd DIR`), one process per
account.  Every response line is checked against the RFC grammar."""

import imaplib
import os
import re
import time

import pytest

NZ = rb"[1-9][0-9]*"
QUOTED = rb'"(?:[^"\\\r\n]|\\.)*"'
ASTRING = rb"(?:" + QUOTED + rb"|[^\s(){%*\"\\]+)"
ATTR = rb"\\[A-Za-z-]+"
LIST_LINE = re.compile(rb"^\* LIST \(((?:" + ATTR + rb")(?: " + ATTR +
                       rb")*)?\) \"\.\" (" + ASTRING + rb")$")
# RFC 4314 section 7: rights = 1*ATOM-CHAR; identifiers are astrings
RIGHTS = rb"[a-z0-9]+"
ACL_LINE = re.compile(rb"^\* ACL (" + ASTRING + rb")((?: " + ASTRING +
                      rb" " + RIGHTS + rb")*)$")
MYRIGHTS_LINE = re.compile(rb"^\* MYRIGHTS (" + ASTRING + rb") (" +
                           RIGHTS + rb")$")
LISTRIGHTS_LINE = re.compile(rb"^\* LISTRIGHTS (" + ASTRING + rb") (" +
                             ASTRING + rb") (" + RIGHTS + rb"|\"\")((?: " +
                             rb"[a-z0-9]+)*)$")
NAMESPACE_LINE = re.compile(
    rb'^\* NAMESPACE (NIL|\((?:\("[^"]*" "\."\))+\)) (NIL|\((?:\("[^"]*" '
    rb'"\."\))+\)) (NIL|\((?:\("[^"]*" "\."\))+\))$')
UNTAGGED = re.compile(rb"^\* (?:OK|NO|BAD|BYE|PREAUTH|FLAGS|CAPABILITY|"
                      rb"ENABLED|STATUS|LIST|LSUB|ESEARCH|SEARCH|ACL|"
                      rb"MYRIGHTS|LISTRIGHTS|NAMESPACE|VANISHED|"
                      rb"[0-9]+ (?:EXISTS|RECENT|EXPUNGE|FETCH))(?: |$)")


def make_maildir(path):
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    return path


def make_folder(root, name):
    d = make_maildir(os.path.join(root, "." + name))
    open(os.path.join(d, "maildirfolder"), "w").close()
    return d


_seq = [0]


def put(md, data, sub="new", info=""):
    _seq[0] += 1
    name = "%d.M%dP%d.acl" % (int(time.time()), _seq[0], os.getpid())
    tmp = os.path.join(md, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(md, sub, name + info))
    return name


MSG = b"From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def imapd(suite_build):
    p = suite_build.program("imapd")
    if p is None:
        pytest.fail("imapd is not built", pytrace=False)
    return p


class Raw:
    """One account's session over the tunnel; commands as written, the
    raw response lines back, each checked to be a known response."""

    def __init__(self, imapd, md, user="alice", env=None):
        saved = dict(os.environ)
        os.environ["USER"] = user
        os.environ.update(env or {})
        try:
            self.m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.n = 0

    def cmd(self, text, status="OK"):
        self.n += 1
        tag = b"a%d" % self.n
        self.m.send(tag + b" " + text.encode() + b"\r\n")
        lines = []
        while True:
            line = self.m.readfile.readline()
            assert line.endswith(b"\r\n"), line
            line = line[:-2]
            lit = re.search(rb"\{(\d+)\}$", line)
            if lit:
                line += b"\r\n" + self.m.readfile.read(int(lit.group(1)))
                line += self.m.readfile.readline()[:-2]
            if line.startswith(tag + b" "):
                st = line.split(b" ")[1].decode()
                assert st == status, (text, lines, line)
                return lines, line
            assert UNTAGGED.match(line), line
            lines.append(line)

    def close(self):
        self.m.send(b"z LOGOUT\r\n")
        self.m.readfile.read()


def listed(lines):
    out = {}
    for line in lines:
        m = LIST_LINE.match(line)
        assert m, line
        out[m.group(2).strip(b'"').decode()] = set(
            (m.group(1) or b"").decode().split())
    return out


# ---- 1. SPECIAL-USE CREATE, UID EXPUNGE *, sets with * ----

def test_create_special_use(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    s = Raw(imapd, md)
    lines, _ = s.cmd("CAPABILITY")
    assert b" CREATE-SPECIAL-USE" in lines[0]
    s.cmd("CREATE Sent-2024 (USE (\\Sent))")
    s.cmd("CREATE Old (USE (\\Archive \\Junk))")
    # an unknown use, or one that would need a virtual mailbox: NO
    # [USEATTR], and nothing is created
    _, tagged = s.cmd("CREATE Everything (USE (\\All))", "NO")
    assert b"[USEATTR]" in tagged
    _, tagged = s.cmd("CREATE Odd (USE (\\Bogus))", "NO")
    assert b"[USEATTR]" in tagged
    s.cmd("CREATE Odd (USE)", "BAD")
    s.cmd("CREATE Odd (FOO (\\Sent))", "BAD")
    lines, _ = s.cmd('LIST "" "*"')
    boxes = listed(lines)
    assert "Everything" not in boxes and "Odd" not in boxes
    assert "\\Sent" in boxes["Sent-2024"]
    assert {"\\Archive", "\\Junk"} <= boxes["Old"]
    lines, _ = s.cmd('LIST (SPECIAL-USE) "" "*"')
    assert set(listed(lines)) == {"Sent-2024", "Old"}
    # the use follows the folder when it is renamed
    s.cmd("RENAME Sent-2024 Sent-old")
    lines, _ = s.cmd('LIST "" "Sent-old"')
    assert "\\Sent" in listed(lines)["Sent-old"]
    s.close()


def uids_of(lines):
    return sorted(int(m.group(1)) for m in
                  (re.search(rb"UID (\d+)", x) for x in lines) if m)


def expunged(lines):
    return [x for x in lines if x.endswith(b" EXPUNGE")]


def test_uid_expunge_star(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    for _ in range(5):
        put(md, MSG)
    s = Raw(imapd, md)
    s.cmd("SELECT INBOX")
    s.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)")
    # "*" is the largest UID (5), not a UID that does not exist
    lines, _ = s.cmd("UID EXPUNGE *")
    assert expunged(lines) == [b"* 5 EXPUNGE"]
    # 9:* with 9 above the largest UID (4) means 4:9, so UID 4 goes
    lines, _ = s.cmd("UID EXPUNGE 9:*")
    assert expunged(lines) == [b"* 4 EXPUNGE"]
    # a FETCH set whose first number is past "*" means *:n
    lines, _ = s.cmd("FETCH 7:* (UID)")
    assert lines == [b"* 3 FETCH (UID 3)"]
    lines, _ = s.cmd("UID FETCH 100:* (UID)")
    assert lines == [b"* 3 FETCH (UID 3)"]
    lines, _ = s.cmd("UID FETCH *:2 (UID)")
    assert uids_of(lines) == [2, 3]
    s.cmd("UID EXPUNGE 1,7:*")
    lines, _ = s.cmd("UID FETCH 1:* (UID)")
    assert uids_of(lines) == [2]
    s.close()
