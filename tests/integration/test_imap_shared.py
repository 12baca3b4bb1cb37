"""test_imap_shared.py: Courier's virtual shared folders in imapd: the
shared index (etc/shared/index, sharedgroup=, disableshared), the
#shared namespace in NAMESPACE and LIST, and SELECT, FETCH, STORE,
APPEND, MYRIGHTS, CREATE on another account's folders with the rights
its ACL grants.  Two accounts, each an `imapd DIR` session over the
stdin/stdout tunnel (all accounts under one uid, as Courier's virtual
setups are), driven through Python's imaplib; every response line is
checked against the RFC grammar."""

import os
import re


from test_imap_acl import (MSG, NAMESPACE_LINE, Raw, listed, make_folder,
                           make_maildir, myrights, put)

FETCH_FLAGS = re.compile(rb"^\* ([1-9][0-9]*) FETCH \((?:UID [0-9]+ )?"
                         rb"FLAGS \(((?:\\?[A-Za-z$]+)(?: \\?[A-Za-z$]+)*)?"
                         rb"\)(?: UID [0-9]+)?\)$")


class Site:
    """An instance folder with accounts home/NAME/Maildir and the shared
    index listing them."""

    def __init__(self, tmp_path):
        self.root = str(tmp_path)
        self.inst = os.path.join(self.root, "inst")
        os.makedirs(os.path.join(self.inst, "etc", "shared"))
        self.homes = {}

    def account(self, name):
        home = os.path.join(self.root, "home", name)
        make_maildir(os.path.join(home, "Maildir"))
        self.homes[name] = home
        return os.path.join(home, "Maildir")

    def index(self, names, suffix=""):
        with open(os.path.join(self.inst, "etc", "shared",
                               "index" + suffix), "w") as f:
            f.write("# authenumerate output\n")
            for n in names:
                # empty maildir field: home/Maildir
                f.write("%s\t1000\t1000\t%s\t\n" % (n, self.homes[n]))

    def login(self, imapd, name, options=""):
        return Raw(imapd, os.path.join(self.homes[name], "Maildir"), name,
                   env={"COURIER_INSTANCE": self.inst, "OPTIONS": options})


def namespaces(s):
    lines, _ = s.cmd("NAMESPACE")
    assert len(lines) == 1
    m = NAMESPACE_LINE.match(lines[0])
    assert m, lines[0]
    return m.group(1), m.group(2), m.group(3)


def test_shared_folders(imapd, tmp_path):
    site = Site(tmp_path)
    bob_md = site.account("bob")
    site.account("alice")
    site.index(["alice", "bob"])
    work = make_folder(bob_md, "Work")
    make_folder(bob_md, "Private")
    put(work, MSG)
    put(bob_md, MSG)

    bob = site.login(imapd, "bob")
    bob.cmd("SETACL Work alice lrswi")
    bob.cmd("CREATE Work.Reports")

    alice = site.login(imapd, "alice")
    assert namespaces(alice) == (b'(("" "."))', b"NIL",
                                 b'(("#shared." "."))')
    lines, _ = alice.cmd('LIST "" "*"')
    boxes = listed(lines)
    # what bob's ACLs let alice look up, nothing else of his
    assert boxes["#shared"] == {"\\Noselect", "\\HasChildren"}
    assert boxes["#shared.bob"] == {"\\Noselect", "\\HasChildren"}
    assert boxes["#shared.bob.Work"] == {"\\HasChildren"}
    assert boxes["#shared.bob.Work.Reports"] == {"\\HasNoChildren"}
    assert "#shared.bob.Private" not in boxes
    assert "#shared.bob.INBOX" not in boxes
    assert not any(b.startswith("#shared.alice") for b in boxes)
    lines, _ = alice.cmd('LIST "" "#shared.%"')
    assert set(listed(lines)) == {"#shared.bob"}
    lines, _ = alice.cmd('LIST "#shared.bob." "%"')
    assert set(listed(lines)) == {"#shared.bob.Work"}
    lines, _ = alice.cmd('MYRIGHTS "#shared.bob.Work"')
    assert myrights(lines) == "lrswi"
    _, tagged = alice.cmd('SELECT "#shared.bob.Private"', "NO")
    assert b"[NONEXISTENT]" in tagged
    _, tagged = alice.cmd('SELECT "#shared.bob"', "NO")
    assert b"[NONEXISTENT]" in tagged
    alice.cmd('GETACL "#shared.bob.Work"', "NO")

    # read and write with the rights granted: l r s w i, not t e x k a
    lines, tagged = alice.cmd('SELECT "#shared.bob.Work"')
    assert b"[READ-WRITE]" in tagged
    assert b"* 1 EXISTS" in lines
    perm = [x for x in lines if b"PERMANENTFLAGS" in x][0]
    assert b"\\Deleted" not in perm and b"\\Seen" in perm
    lines, _ = alice.cmd("FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])")
    assert b"Subject: hi" in lines[0]
    lines, _ = alice.cmd("STORE 1 +FLAGS (\\Flagged)")
    m = FETCH_FLAGS.match(lines[0])
    assert m and b"\\Flagged" in m.group(2), lines
    _, tagged = alice.cmd("STORE 1 +FLAGS (\\Deleted)", "NO")
    assert b"[NOPERM]" in tagged
    alice.cmd("EXPUNGE", "NO")
    msg2 = b"From: alice@example.test\r\nSubject: for bob\r\n\r\nhello\r\n"
    _, tagged = alice.cmd('APPEND "#shared.bob.Work" (\\Seen \\Deleted '
                          '$Urgent) {%d+}\r\n'
                          % len(msg2) + msg2.decode())
    assert re.search(rb"\[APPENDUID [0-9]+ 2\]", tagged), tagged
    _, tagged = alice.cmd('CREATE "#shared.bob.Work.Mine"', "NO")
    assert b"[NOPERM]" in tagged
    _, tagged = alice.cmd('APPEND "#shared.bob.INBOX" {%d+}\r\n'
                          % len(msg2) + msg2.decode(), "NO")
    assert b"[NONEXISTENT]" in tagged or b"[TRYCREATE]" in tagged

    # bob sees it all in his own folder: same maildir, same flags
    lines, _ = bob.cmd("SELECT Work")
    assert b"* 2 EXISTS" in lines
    lines, _ = bob.cmd("FETCH 1:2 (FLAGS)")
    flags = [FETCH_FLAGS.match(x).group(2) for x in lines]
    assert b"\\Flagged" in flags[0] and b"\\Seen" in flags[1]
    # APPEND kept only the flags alice's rights allow: no t, no \Deleted
    assert b"$Urgent" in flags[1] and b"\\Deleted" not in flags[1]
    # more rights: now alice may make subfolders there
    bob.cmd("SETACL Work alice +k")
    alice.cmd('CREATE "#shared.bob.Work.Mine"')
    assert os.path.isdir(os.path.join(bob_md, ".Work.Mine", "cur"))
    lines, _ = bob.cmd("GETACL Work.Mine")
    assert b"user=alice" in lines[0]
    # a subscription to a shared folder is kept under its name
    alice.cmd('SUBSCRIBE "#shared.bob.Work"')
    lines, _ = alice.cmd('LSUB "" "*"')
    assert "#shared.bob.Work" in listed([x.replace(b"LSUB", b"LIST")
                                         for x in lines])
    alice.close()
    bob.close()


def test_shared_index_options(imapd, tmp_path):
    site = Site(tmp_path)
    bob_md = site.account("bob")
    carol_md = site.account("carol")
    site.account("alice")
    for md in (bob_md, carol_md):
        make_folder(md, "Team")
        with open(os.path.join(md, ".Team", "courierimapacl"), "w") as f:
            f.write("owner aceilrstwx\nanyone lr\n")
    # the default index lists bob only; the sales group's lists carol
    site.index(["alice", "bob"])
    site.index(["alice", "carol"], "sales")

    s = site.login(imapd, "alice")
    lines, _ = s.cmd('LIST "" "#shared.*"')
    assert "#shared.bob.Team" in listed(lines)
    assert not any("carol" in b for b in listed(lines))
    s.cmd('EXAMINE "#shared.carol.Team"', "NO")
    s.close()

    s = site.login(imapd, "alice", "sharedgroup=sales")
    lines, _ = s.cmd('LIST "" "#shared.*"')
    assert "#shared.carol.Team" in listed(lines)
    assert not any("bob" in b for b in listed(lines))
    lines, tagged = s.cmd('EXAMINE "#shared.carol.Team"')
    assert b"[READ-ONLY]" in tagged
    s.close()

    # disableshared: no shared namespace at all
    s = site.login(imapd, "alice", "disableshared=1")
    assert namespaces(s)[2] == b"NIL"
    lines, _ = s.cmd('LIST "" "*"')
    assert not any(b.startswith("#shared") for b in listed(lines))
    s.cmd('EXAMINE "#shared.bob.Team"', "NO")
    s.close()

    # a malformed index: bad lines are skipped, good ones kept
    with open(os.path.join(site.inst, "etc", "shared", "index"), "w") as f:
        f.write("nohome\t1\t1\n\x01bad\t1\t1\t/x\t\n"
                "bob\t1000\t1000\t%s\tMaildir\n" % site.homes["bob"])
    s = site.login(imapd, "alice")
    lines, _ = s.cmd('LIST "" "#shared.*"')
    assert "#shared.bob.Team" in listed(lines)
    s.close()
