"""test_imap_acl.py: CREATE with SPECIAL-USE (RFC 6154), UID EXPUNGE and
FETCH sets with "*", ACL (RFC 4314) stored in Courier's courierimapacl
files, and Courier's shared folders (#shared), in imapd with Python's
imaplib over the stdin/stdout tunnel (`imapd DIR`), one process per
account.  Every response line is checked against the RFC grammar."""

import os
import re

from imaphelp import Tunnel
from maildirs import deliver, make_maildir

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


def make_folder(root, name):
    d = make_maildir(os.path.join(root, "." + name))
    open(os.path.join(d, "maildirfolder"), "w").close()
    return d


def put(md, data, sub="new", info=""):
    return deliver(md, data, sub, info, "acl")


MSG = b"From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n"


class Raw(Tunnel):
    """One account's session over the tunnel; commands as written, the
    raw response lines back, each checked to be a known response."""

    def __init__(self, imapd, md, user="alice", env=None):
        super().__init__(imapd, md, UNTAGGED, dict(env or {}, USER=user))


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
    # a message number past the message count is BAD (RFC 9051 section
    # 9, seq-number), even with "*"; a UID past the last one is not
    lines, tagged = s.cmd("FETCH 7:* (UID)", status="BAD")
    assert lines == [] and b"sequence number 7" in tagged
    lines, _ = s.cmd("FETCH 3:* (UID)")
    assert lines == [b"* 3 FETCH (UID 3)"]
    lines, _ = s.cmd("UID FETCH 100:* (UID)")
    assert lines == [b"* 3 FETCH (UID 3)"]
    lines, _ = s.cmd("UID FETCH *:2 (UID)")
    assert uids_of(lines) == [2, 3]
    s.cmd("UID EXPUNGE 1,7:*")
    lines, _ = s.cmd("UID FETCH 1:* (UID)")
    assert uids_of(lines) == [2]
    s.close()


# ---- 2. ACL (RFC 4314) ----

def acl_of(lines):
    """{identifier: rights} of the one ACL line."""
    assert len(lines) == 1, lines
    m = ACL_LINE.match(lines[0])
    assert m, lines[0]
    words = m.group(2).split()
    return {words[i].strip(b'"').decode(): words[i + 1].decode()
            for i in range(0, len(words), 2)}


def myrights(lines):
    assert len(lines) == 1, lines
    m = MYRIGHTS_LINE.match(lines[0])
    assert m, lines[0]
    return m.group(2).decode()


def read_acl(d):
    with open(os.path.join(d, "courierimapacl")) as f:
        return f.read()


def test_acl_commands(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    make_folder(md, "Work")
    s = Raw(imapd, md)
    lines, _ = s.cmd("CAPABILITY")
    assert b" ACL " in lines[0] and b" RIGHTS=texk" in lines[0]
    # Courier's default: owner and administrators with every right
    lines, _ = s.cmd("GETACL INBOX")
    assert acl_of(lines) == {"owner": "lrswikxteacd",
                             "administrators": "lrswikxteacd"}
    lines, _ = s.cmd("MYRIGHTS Work")
    assert myrights(lines) == "lrswikxteacd"
    lines, _ = s.cmd("LISTRIGHTS Work bob")
    m = LISTRIGHTS_LINE.match(lines[0])
    assert m and m.group(3) == b'""', lines
    assert set(m.group(4).split()) >= {b"l", b"r", b"k", b"x", b"t", b"e"}
    lines, _ = s.cmd("LISTRIGHTS Work owner")
    assert LISTRIGHTS_LINE.match(lines[0]).group(3) == b"a"
    # SETACL: replace, +add, -remove; bare names are user=NAME
    s.cmd("SETACL Work bob lr")
    s.cmd("SETACL Work user=bob +si")
    s.cmd("SETACL Work group=staff lrc")
    s.cmd("SETACL Work -user=carol w")
    s.cmd("SETACL Work bob -s")
    lines, _ = s.cmd("GETACL Work")
    acl = acl_of(lines)
    assert acl["user=bob"] == "lri"
    assert acl["group=staff"] == "lrkc"
    assert acl["-user=carol"] == "w"
    # stored in Courier's format and letters (c for k)
    text = read_acl(os.path.join(md, ".Work"))
    assert "user=bob ilr\n" in text and "group=staff clr\n" in text
    assert text.startswith("owner aceilrstwx\n")
    s.cmd("DELETEACL Work bob")
    lines, _ = s.cmd("GETACL Work")
    assert "user=bob" not in acl_of(lines)
    s.cmd("SETACL Work group=staff \"\"")
    lines, _ = s.cmd("GETACL Work")
    assert "group=staff" not in acl_of(lines)
    # bad input
    s.cmd("SETACL Work bob lrq", "BAD")
    s.cmd('SETACL Work "bad id" lr', "BAD")
    s.cmd("SETACL Work bob", "BAD")
    s.cmd("GETACL", "BAD")
    _, tagged = s.cmd("GETACL Nope", "NO")
    assert b"[NONEXISTENT]" in tagged
    # a new folder inherits its parent's ACL in a file of its own
    s.cmd("SETACL Work anyone l")
    s.cmd("CREATE Work.Sub")
    lines, _ = s.cmd("GETACL Work.Sub")
    assert acl_of(lines).get("anyone") == "l"
    assert "anyone l\n" in read_acl(os.path.join(md, ".Work.Sub"))
    s.close()


def test_acl_enforced_from_courier_files(imapd, tmp_path):
    """ACL files written by Courier-IMAP carry over and are enforced."""
    md = make_maildir(str(tmp_path / "Maildir"))
    ro = make_folder(md, "ReadOnly")
    hidden = make_folder(md, "Hidden")
    staff = make_folder(md, "Staff")
    put(ro, MSG)
    with open(os.path.join(ro, "courierimapacl"), "w") as f:
        f.write("owner lr\nadministrators aceilrstwx\n")
    with open(os.path.join(hidden, "courierimapacl"), "w") as f:
        f.write("owner a\n")
    with open(os.path.join(staff, "courierimapacl"), "w") as f:
        f.write("owner a\ngroup=staff lrs\n-group=interns s\n")
    s = Raw(imapd, md)
    lines, _ = s.cmd('LIST "" "*"')
    boxes = listed(lines)
    assert "ReadOnly" in boxes and "Hidden" not in boxes
    assert "Staff" not in boxes
    _, tagged = s.cmd("SELECT ReadOnly")
    assert b"[READ-ONLY]" in tagged
    s.cmd("STORE 1 +FLAGS (\\Deleted)", "NO")
    s.cmd("EXPUNGE", "NO")
    s.cmd("FETCH 1 BODY[]")
    lines, _ = s.cmd("FETCH 1 FLAGS")
    assert b"\\Seen" not in lines[0]
    _, tagged = s.cmd("APPEND ReadOnly {4+}\r\nabcd", "NO")
    assert b"[NOPERM]" in tagged
    s.cmd("UNSELECT")
    _, tagged = s.cmd("DELETE ReadOnly", "NO")
    assert b"[NOPERM]" in tagged
    _, tagged = s.cmd("CREATE ReadOnly.Child", "NO")
    assert b"[NOPERM]" in tagged
    _, tagged = s.cmd("SELECT Hidden", "NO")
    assert b"[NOPERM]" in tagged or b"[NONEXISTENT]" in tagged
    _, tagged = s.cmd("STATUS Hidden (MESSAGES)", "NO")
    # the owner keeps the administer right, so can set it right again
    s.cmd("SETACL Hidden owner +lr")
    lines, _ = s.cmd("MYRIGHTS Hidden")
    assert myrights(lines) == "lra"
    s.cmd("STATUS Hidden (MESSAGES)")
    s.close()
    # group rights come from the account's OPTIONS, negative ones win
    s = Raw(imapd, md, env={"OPTIONS": "group=staff"})
    lines, _ = s.cmd("MYRIGHTS Staff")
    assert myrights(lines) == "lrsa"
    _, tagged = s.cmd("SELECT Staff")
    assert b"[READ-WRITE]" in tagged
    s.close()
    s = Raw(imapd, md, env={"OPTIONS": "group=staff,group=interns"})
    lines, _ = s.cmd("MYRIGHTS Staff")
    assert myrights(lines) == "lra"
    _, tagged = s.cmd("SELECT Staff")
    assert b"[READ-ONLY]" in tagged
    s.close()


# ---- 4. courierimapuiddb written back ----

def test_uiddb_written_and_rebuild_keeps_uids(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    names = [put(md, MSG) for _ in range(4)]
    s = Raw(imapd, md)
    lines, _ = s.cmd("SELECT INBOX")
    uidv = int(re.search(rb"\[UIDVALIDITY (\d+)\]", b"\n".join(lines))
               .group(1))
    s.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
    s.cmd("EXPUNGE")
    lines, _ = s.cmd("UID FETCH 1:* (UID)")
    before = uids_of(lines)
    s.close()
    with open(os.path.join(md, "courierimapuiddb")) as f:
        db = f.read().splitlines()
    assert db[0].split()[:2] == ["1", str(uidv)]
    # written once the session was idle after the SELECT (4 messages) or
    # by LOGOUT (after the EXPUNGE, 3): every UID still there is in it
    in_db = {int(x.split()[0]) for x in db[1:]}
    assert set(before) <= in_db <= {1, 2, 3, 4}
    # the index is lost: rebuilt from the file, same UIDVALIDITY and UIDs
    for f in os.listdir(md):
        if f.startswith("courier-suite.index"):
            os.unlink(os.path.join(md, f))
    put(md, MSG)
    s = Raw(imapd, md)
    lines, _ = s.cmd("SELECT INBOX")
    assert b"[UIDVALIDITY %d]" % uidv in b"\n".join(lines)
    lines, _ = s.cmd("UID FETCH 1:* (UID)")
    after = uids_of(lines)
    assert after[:3] == before and after[3] > max(before)
    s.close()
    with open(os.path.join(md, "courierimapuiddb")) as f:
        db = f.read().splitlines()
    assert int(db[0].split()[2]) > after[3]
    assert sorted(int(x.split()[0]) for x in db[1:]) == after
    on_disk = {n.split(":")[0] for d in ("new", "cur")
               for n in os.listdir(os.path.join(md, d))}
    assert {x.split()[1] for x in db[1:]} == on_disk
