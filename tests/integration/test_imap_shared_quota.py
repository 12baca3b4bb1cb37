"""test_imap_shared_quota.py: the Maildir++ quota of a shared folder's
owner (APPEND, COPY, MOVE and EXPUNGE by another account through
#shared update and respect the owner's maildirsize, as a delivery into
his maildir would) and RENAME keeping a folder's ACL when the folder had
none of its own (it inherited it from its old parent).  Accounts are
`imapd DIR` sessions over the stdin/stdout tunnel, driven through
Python's imaplib; every response line is checked against the RFC
grammar (test_imap_acl.Raw)."""

import os


from test_imap_acl import MSG, Raw, make_folder, put
from test_imap_shared import Site


def usage(md):
    """(bytes, messages) that md's maildirsize records, None without."""
    path = os.path.join(md, "maildirsize")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        lines = f.read().splitlines()
    b = c = 0
    for line in lines[1:]:
        if line.strip():
            x, y = line.split()
            b += int(x)
            c += int(y)
    return b, c


def append(s, box, data, status="OK"):
    return s.cmd('APPEND "%s" {%d+}\r\n%s' % (box, len(data),
                                              data.decode()), status)


def test_append_into_shared_folder_counts_for_the_owner(imapd, tmp_path):
    site = Site(tmp_path)
    bob_md = site.account("bob")
    alice_md = site.account("alice")
    site.index(["alice", "bob"])
    work = make_folder(bob_md, "Work")
    put(work, MSG)
    # bob's quota: 3000 bytes, 10 messages; one message so far
    with open(os.path.join(bob_md, "maildirsize"), "w") as f:
        f.write("3000S,10C\n%d 1\n" % len(MSG))
    bob = site.login(imapd, "bob")
    bob.cmd("SETACL Work alice lrswite")
    start = usage(bob_md)
    assert start is not None and start[1] == 1

    alice = site.login(imapd, "alice")
    msg = b"From: alice@x\r\nSubject: into bob's Work\r\n\r\n" + b"x" * 200
    _, tagged = append(alice, "#shared.bob.Work", msg)
    assert b"[APPENDUID " in tagged
    after = usage(bob_md)
    assert after == (start[0] + len(msg), start[1] + 1)
    # alice's own quota is not touched (she has none: no file appears)
    assert usage(alice_md) is None
    # over the owner's quota: refused before anything is written
    files = len(os.listdir(os.path.join(work, "cur"))) + \
        len(os.listdir(os.path.join(work, "new")))
    _, tagged = append(alice, "#shared.bob.Work",
                       b"Subject: big\r\n\r\n" + b"y" * 4000, "NO")
    assert b"[OVERQUOTA]" in tagged
    assert len(os.listdir(os.path.join(work, "cur"))) + \
        len(os.listdir(os.path.join(work, "new"))) == files
    assert usage(bob_md) == after
    # COPY from her INBOX into his folder counts too
    put(alice_md, MSG)
    alice.cmd("SELECT INBOX")
    alice.cmd('COPY 1 "#shared.bob.Work"')
    after2 = usage(bob_md)
    assert after2[1] == after[1] + 1 and after2[0] > after[0]
    # EXPUNGE in his folder gives it back
    alice.cmd('SELECT "#shared.bob.Work"')
    alice.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)")
    alice.cmd("EXPUNGE")
    final = usage(bob_md)
    assert final[1] == after2[1] - 3
    assert final[0] < start[0] + 1
    # a MOVE out of his folder into hers: off his quota
    append(alice, "#shared.bob.Work", msg)
    before_move = usage(bob_md)
    alice.cmd('SELECT "#shared.bob.Work"')
    alice.cmd("MOVE 1 INBOX")
    assert usage(bob_md) == (before_move[0] - len(msg), before_move[1] - 1)
    alice.close()
    bob.close()


def test_rename_keeps_an_inherited_acl(imapd, tmp_path):
    site = Site(tmp_path)
    bob_md = site.account("bob")
    site.account("alice")
    site.index(["alice", "bob"])
    # folders made by another program: no ACL file of their own
    make_folder(bob_md, "Team")
    make_folder(bob_md, "Team.Minutes")
    make_folder(bob_md, "Team.Minutes.2024")
    bob = site.login(imapd, "bob")
    bob.cmd("SETACL Team alice lr")
    lines, _ = bob.cmd("GETACL Team.Minutes")
    assert b"user=alice lr" in lines[0]
    assert not os.path.exists(os.path.join(bob_md, ".Team.Minutes",
                                           "courierimapacl"))
    # to the top level: it would inherit INBOX's ACL; it keeps its own
    bob.cmd("RENAME Team.Minutes Minutes")
    lines, _ = bob.cmd("GETACL Minutes")
    assert b"user=alice lr" in lines[0]
    lines, _ = bob.cmd("GETACL Minutes.2024")
    assert b"user=alice lr" in lines[0]
    assert os.path.exists(os.path.join(bob_md, ".Minutes",
                                       "courierimapacl"))
    # a subfolder's own ACL travels with it
    bob.cmd("SETACL Minutes.2024 alice lrs")
    bob.cmd("RENAME Minutes Archive.Minutes")
    lines, _ = bob.cmd("GETACL Archive.Minutes.2024")
    assert b"user=alice lrs" in lines[0]
    lines, _ = bob.cmd("GETACL Archive.Minutes")
    assert b"user=alice lr " in lines[0] + b" "
    # and alice still reaches them through #shared
    alice = site.login(imapd, "alice")
    lines, _ = alice.cmd('MYRIGHTS "#shared.bob.Archive.Minutes.2024"')
    assert lines[0].endswith(b" lrs")
    alice.close()
    bob.close()
