"""test_imap_sharable.py: Courier's filesystem shared folders (sharable
maildirs) in imapd: a sharable maildir made with our `maildirmake -S`,
folders in it with `-s read` / `-s write`, `maildirmake --add` for two
accounts, then through Python's imaplib (each account an `imapd DIR`
session over the stdin/stdout tunnel): NAMESPACE, LIST/LSUB of
shared.NICK.FOLDER with both namespace layouts, SELECT, FETCH, per-account
flags, new messages after a re-SELECT, EXPUNGE with read and with write
permission, APPEND/COPY into a writable folder, and the NO answers where
the account may not; and isync (mbsync) syncing a shared folder."""

import os
import re
import shutil
import subprocess

import pytest

from test_imap_acl import MSG, NAMESPACE_LINE, Raw, listed, put

FLAGS_OF = re.compile(rb"^\* ([0-9]+) FETCH \(.*FLAGS \(([^)]*)\)")


@pytest.fixture
def maildirmake(suite_build):
    p = suite_build.program("maildirmake")
    if p is None:
        pytest.fail("maildirmake is not built", pytrace=False)
    return p


def msg(n):
    return (b"From: owner@example.test\r\nSubject: notice %d\r\n\r\n"
            b"notice number %d\r\n" % (n, n))


class Site:
    """An instance with accounts alice and bob, and a sharable maildir
    "notices" with a writable folder Weekly, a read-only folder News and
    a private folder Private, added to both accounts as "notices"."""

    def __init__(self, tmp_path, mdm, prefix=None):
        self.mdm = mdm
        self.root = str(tmp_path)
        self.inst = os.path.join(self.root, "inst")
        os.makedirs(os.path.join(self.inst, "etc"))
        if prefix is not None:
            with open(os.path.join(self.inst, "etc", "imapd"), "w") as f:
                f.write('IMAP_NAMESPACE_PREFIX="%s"\n' % prefix)
        self.md = {}
        for name in ("alice", "bob"):
            self.md[name] = os.path.join(self.root, name, "Maildir")
            os.makedirs(os.path.dirname(self.md[name]))
            self.run(self.md[name])
        self.shared = os.path.join(self.root, "notices")
        self.run("-S", self.shared)
        self.run("-s", "write", "-f", "Weekly", self.shared)
        self.run("-s", "read", "-f", "News", self.shared)
        self.run("-f", "Private", self.shared)
        self.weekly = os.path.join(self.shared, ".Weekly")
        self.news = os.path.join(self.shared, ".News")
        for name in ("alice", "bob"):
            self.run("--add", "notices=" + self.shared, self.md[name])

    def run(self, *args, ok=True):
        r = subprocess.run([self.mdm] + list(args), capture_output=True,
                           text=True)
        if ok:
            assert r.returncode == 0, (args, r.stderr)
        return r

    def login(self, imapd, name, options=""):
        return Raw(imapd, self.md[name], name,
                   env={"COURIER_INSTANCE": self.inst, "OPTIONS": options})


def files(d):
    return sorted(os.listdir(os.path.join(d, "new")) +
                  os.listdir(os.path.join(d, "cur")))


def exists(lines):
    for line in lines:
        m = re.match(rb"^\* ([0-9]+) EXISTS$", line)
        if m:
            return int(m.group(1))
    raise AssertionError(lines)


def flags(s, seq):
    lines, _ = s.cmd("FETCH %d (FLAGS)" % seq)
    for line in lines:
        m = FLAGS_OF.match(line)
        if m and int(m.group(1)) == seq:
            return set(m.group(2).decode().split())
    raise AssertionError(lines)


def body(s, seq):
    lines, _ = s.cmd("FETCH %d (BODY.PEEK[])" % seq)
    for line in lines:
        if line.startswith(b"* %d FETCH" % seq):
            return line.split(b"}\r\n", 1)[1].rsplit(b")", 1)[0]
    raise AssertionError(lines)


@pytest.mark.parametrize("prefix", ["", "INBOX."])
def test_namespace_and_list(imapd, maildirmake, tmp_path, prefix):
    site = Site(tmp_path, maildirmake, prefix)
    s = site.login(imapd, "alice")
    s.imapd = imapd
    s.cmd("CREATE %sWork" % prefix)
    lines, _ = s.cmd("NAMESPACE")
    m = NAMESPACE_LINE.match(lines[0])
    assert m, lines
    assert m.group(1) == b'(("%s" "."))' % prefix.encode()
    assert m.group(3) == b'(("#shared." ".")("shared." "."))'

    got = listed(s.cmd('LIST "" "*"')[0])
    assert got["shared"] == {"\\Noselect", "\\HasChildren"}
    assert got["shared.notices"] == {"\\Noselect", "\\HasChildren"}
    assert got["shared.notices.Weekly"] == {"\\HasNoChildren"}
    assert got["shared.notices.News"] == {"\\HasNoChildren"}
    # a folder of the sharable maildir that others may not read
    assert "shared.notices.Private" not in got
    assert prefix + "Work" in got
    assert "INBOX" in got
    # the personal namespace does not take the shared folders in
    if prefix:
        assert got["INBOX"] == {"\\HasChildren"}
        only = listed(s.cmd('LIST "" "INBOX.*"')[0])
        assert not any("notices" in n for n in only)
    got = listed(s.cmd('LIST "" "shared.%"')[0])
    assert set(got) == {"shared.notices"}
    got = listed(s.cmd('LIST "shared.notices." "%"')[0])
    assert set(got) == {"shared.notices.Weekly", "shared.notices.News"}
    got = listed(s.cmd('LIST "" "%"')[0])
    assert "shared" in got and "shared.notices.Weekly" not in got

    # SUBSCRIBE keeps Courier's name; LSUB shows it
    s.cmd("SUBSCRIBE shared.notices.Weekly")
    with open(os.path.join(site.md["alice"], "courierimapsubscribed")) as f:
        assert "shared.notices.Weekly" in f.read().split("\n")
    lines, _ = s.cmd('LSUB "" "*"')
    assert any(line.endswith(b' "." shared.notices.Weekly')
               for line in lines), lines
    got = listed(s.cmd('LIST (SUBSCRIBED) "" "shared.*"')[0])
    assert "\\Subscribed" in got["shared.notices.Weekly"]
    s.cmd("UNSUBSCRIBE shared.notices.Weekly")
    lines, _ = s.cmd('LSUB "" "*"')
    assert not any(b"Weekly" in line for line in lines)
    s.close()

    # an account without sharable maildirs: no "shared." namespace, and
    # with no prefix "shared" is a name of its own
    carol = os.path.join(site.root, "carol", "Maildir")
    os.makedirs(os.path.dirname(carol))
    site.run(carol)
    s = Raw(s.imapd, carol, "carol", env={"COURIER_INSTANCE": site.inst})
    lines, _ = s.cmd("NAMESPACE")
    assert lines[0].endswith(b' NIL (("#shared." "."))'), lines
    s.cmd("CREATE %sshared.mine" % prefix)
    got = listed(s.cmd('LIST "" "*"')[0])
    assert prefix + "shared.mine" in got
    s.close()

    # shared folders off for the account: no namespace, no names
    s = site.login(imapd, "alice", options="disableshared")
    lines, _ = s.cmd("NAMESPACE")
    assert lines[0].endswith(b" NIL NIL")
    got = listed(s.cmd('LIST "" "*"')[0])
    assert not any(n.startswith("shared") for n in got)
    s.cmd("SELECT shared.notices.Weekly", status="NO")
    s.close()


def test_select_fetch_flags_new_mail(imapd, maildirmake, tmp_path):
    site = Site(tmp_path, maildirmake)
    put(site.weekly, msg(1))
    put(site.weekly, msg(2), sub="cur", info=":2,S")
    alice = site.login(imapd, "alice")
    bob = site.login(imapd, "bob")

    lines, tagged = alice.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 2
    assert b"[READ-WRITE]" in tagged
    assert body(alice, 1) == msg(1)
    assert body(alice, 2) == msg(2)
    # the owner's flags are not the account's
    assert "\\Seen" not in flags(alice, 2)
    # the account's copy: links in its own maildir
    copy = os.path.join(site.md["alice"], "shared-folders", "notices",
                        "Weekly")
    assert len(files(copy)) == 2
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(copy, sub)):
            # symbolic links, as Courier's
            assert os.path.islink(os.path.join(copy, sub, name))
    assert os.path.realpath(os.path.join(copy, "shared")) == \
        os.path.realpath(site.weekly)

    # per-account flags
    alice.cmd("STORE 1 +FLAGS (\\Seen \\Flagged)")
    assert flags(alice, 1) >= {"\\Seen", "\\Flagged"}
    lines, _ = bob.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 2
    assert "\\Seen" not in flags(bob, 1)
    bob.cmd("STORE 2 +FLAGS (\\Answered)")
    assert "\\Answered" not in flags(alice, 2)
    # the sharable folder's files keep their names (and no flags)
    assert len(files(site.weekly)) == 2
    assert not any(":2,SF" in n for n in files(site.weekly))

    # STATUS through the copy
    lines, _ = alice.cmd("STATUS shared.notices.News (MESSAGES UNSEEN)")
    assert lines[0].endswith(b"(MESSAGES 0 UNSEEN 0)")

    # new mail in the sharable folder: there on the next SELECT, with
    # the old messages' UIDs and flags kept
    uids = alice.cmd("UID SEARCH ALL")[0]
    put(site.weekly, msg(3))
    lines, _ = alice.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 3
    assert alice.cmd("UID SEARCH ALL")[0][0].startswith(uids[0])
    assert flags(alice, 1) >= {"\\Seen", "\\Flagged"}
    assert body(alice, 3) == msg(3)
    lines, _ = alice.cmd("SEARCH UNSEEN")
    assert lines == [b"* SEARCH 2 3"]

    # the owner reads the new one (moved to cur/, flagged): the links
    # follow it, the accounts' flags stay theirs
    new3 = [n for n in os.listdir(os.path.join(site.weekly, "new"))
            if open(os.path.join(site.weekly, "new", n), "rb").read() ==
            msg(3)]
    assert len(new3) == 1
    os.rename(os.path.join(site.weekly, "new", new3[0]),
              os.path.join(site.weekly, "cur", new3[0] + ":2,S"))
    lines, _ = alice.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 3
    assert body(alice, 3) == msg(3)
    assert "\\Seen" not in flags(alice, 3)

    # a message the owner removes goes from the accounts' views
    victim = [n for n in files(site.weekly) if n.startswith(
        sorted(files(site.weekly))[0].split(":")[0])][0]
    for sub in ("new", "cur"):
        p = os.path.join(site.weekly, sub, victim)
        if os.path.exists(p):
            os.unlink(p)
    lines, _ = bob.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 2
    alice.close()
    bob.close()


def test_expunge_write_and_read(imapd, maildirmake, tmp_path):
    site = Site(tmp_path, maildirmake)
    for n in (1, 2, 3):
        put(site.weekly, msg(n))
        put(site.news, msg(n))
    alice = site.login(imapd, "alice")
    bob = site.login(imapd, "bob")
    bob.cmd("SELECT shared.notices.News")
    bob.cmd("SELECT shared.notices.Weekly")

    # -s write: the account's expunge removes the sharable message too
    alice.cmd("SELECT shared.notices.Weekly")
    alice.cmd("STORE 2 +FLAGS (\\Deleted)")
    lines, _ = alice.cmd("EXPUNGE")
    assert b"* 2 EXPUNGE" in lines
    assert len(files(site.weekly)) == 2
    assert msg(2) not in [open(os.path.join(site.weekly, d, n), "rb").read()
                          for d in ("new", "cur")
                          for n in os.listdir(os.path.join(site.weekly, d))]
    lines, _ = bob.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 2
    assert [body(bob, 1), body(bob, 2)] == [msg(1), msg(3)]
    # CLOSE expunges too
    alice.cmd("STORE 1 +FLAGS (\\Deleted)")
    alice.cmd("CLOSE")
    assert len(files(site.weekly)) == 1

    # -s read: only the account's own link goes, and it stays gone
    lines, tagged = alice.cmd("SELECT shared.notices.News")
    assert exists(lines) == 3
    alice.cmd("STORE 1 +FLAGS (\\Deleted)")
    lines, _ = alice.cmd("EXPUNGE")
    assert b"* 1 EXPUNGE" in lines
    assert len(files(site.news)) == 3
    lines, _ = alice.cmd("SELECT shared.notices.News")
    assert exists(lines) == 2
    assert body(alice, 1) == msg(2)
    lines, _ = bob.cmd("SELECT shared.notices.News")
    assert exists(lines) == 3
    alice.close()
    bob.close()


def test_append_copy_and_refusals(imapd, maildirmake, tmp_path):
    site = Site(tmp_path, maildirmake)
    put(site.news, msg(1))
    put(site.md["alice"], MSG)
    alice = site.login(imapd, "alice")
    bob = site.login(imapd, "bob")

    # into a writable folder: the message lands in the sharable folder
    m = alice.m
    typ, data = m.append("shared.notices.Weekly", None, None, msg(7))
    assert typ == "OK", data
    assert len(files(site.weekly)) == 1
    alice.cmd("SELECT INBOX")
    alice.cmd("COPY 1 shared.notices.Weekly")
    assert len(files(site.weekly)) == 2
    lines, _ = bob.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 2
    assert body(bob, 1) == msg(7)

    # the selected copy takes in what arrives in the sharable folder at
    # the next command: an APPEND by another account, a delivery
    alice.cmd("SELECT shared.notices.Weekly")
    typ, data = bob.m.append("shared.notices.Weekly", None, None, msg(9))
    assert typ == "OK", data
    lines, _ = alice.cmd("NOOP")
    assert b"* 3 EXISTS" in lines, lines
    assert body(alice, 3) == msg(9)
    put(site.weekly, msg(10))
    lines, _ = alice.cmd("NOOP")
    assert b"* 4 EXISTS" in lines, lines
    assert body(alice, 4) == msg(10)
    alice.cmd("SELECT INBOX")

    # into a read-only one: NO with the reason, nothing added
    typ, data = m.append("shared.notices.News", None, None, msg(8))
    assert typ == "NO" and b"NOPERM" in data[0], data
    _, tagged = alice.cmd("COPY 1 shared.notices.News", status="NO")
    assert b"[NOPERM]" in tagged
    assert len(files(site.news)) == 1
    # the folders are the sharable maildir's to make and remove
    for c in ("CREATE shared.notices.Other", "DELETE shared.notices.News",
              "RENAME shared.notices.News Mine",
              "RENAME INBOX shared.notices.X"):
        _, tagged = alice.cmd(c, status="NO")
        assert b"[CANNOT]" in tagged and b"maildirmake" in tagged, tagged
    # a private folder, an unknown nick, a nick alone: no such mailbox
    for name in ("shared.notices.Private", "shared.nobody.Weekly",
                 "shared.notices", "shared"):
        _, tagged = alice.cmd("SELECT %s" % name, status="NO")
        assert b"[NONEXISTENT]" in tagged, tagged
    # the account's copy cannot be made (a file in its place): NO
    copy = os.path.join(site.md["alice"], "shared-folders", "notices",
                        "News")
    assert not os.path.exists(copy)
    open(copy, "w").close()
    _, tagged = alice.cmd("SELECT shared.notices.News", status="NO")
    assert b"[SERVERBUG]" in tagged and b"copy" in tagged, tagged
    os.unlink(copy)
    lines, _ = alice.cmd("SELECT shared.notices.News")
    assert exists(lines) == 1
    alice.close()
    bob.close()

    # --del disconnects the collection: names and copies go
    site.run("--del", "notices", site.md["alice"])
    assert not os.path.exists(os.path.join(site.md["alice"],
                                           "shared-folders", "notices"))
    alice = site.login(imapd, "alice")
    got = listed(alice.cmd('LIST "" "*"')[0])
    assert not any(n.startswith("shared.") for n in got)
    alice.cmd("SELECT shared.notices.Weekly", status="NO")
    alice.close()


def test_global_maildirshared_and_bad_lines(imapd, maildirmake, tmp_path):
    """etc/maildirshared lists sharable maildirs for every account; a
    malformed line of shared-maildirs is skipped, the others work."""
    site = Site(tmp_path, maildirmake)
    other = os.path.join(site.root, "other")
    site.run("-S", other)
    site.run("-s", "read", "-f", "Board", other)
    with open(os.path.join(site.inst, "etc", "maildirshared"), "w") as f:
        f.write("# every account\nboard\t%s\n" % other)
    with open(os.path.join(site.md["bob"], "shared-maildirs"), "a") as f:
        f.write("no tab here\nbad.nick\t/x\nrel\trelative/path\n")
    bob = site.login(imapd, "bob")
    got = listed(bob.cmd('LIST "" "shared.*"')[0])
    assert "shared.board.Board" in got
    assert "shared.notices.Weekly" in got
    assert not any("rel" in n or "bad" in n for n in got)
    bob.cmd("EXAMINE shared.board.Board")
    bob.close()


MBSYNC = shutil.which("mbsync")


@pytest.mark.skipif(MBSYNC is None, reason="isync (mbsync) is not installed")
def test_mbsync_shared_folder(imapd, maildirmake, tmp_path):
    """isync pulls shared.notices.Weekly over the tunnel, and what it
    pushes back (a flag, a deletion) lands in the account's copy and,
    for the deletion, in the writable sharable folder."""
    site = Site(tmp_path, maildirmake)
    put(site.weekly, msg(1))
    put(site.weekly, msg(2))
    local = os.path.join(site.root, "local")
    os.makedirs(local)
    config = os.path.join(site.root, "mbsyncrc")
    with open(config, "w") as f:
        f.write('IMAPAccount server\nTunnel "env USER=alice '
                'COURIER_INSTANCE=%s %s %s"\n\n'
                "IMAPStore far\nAccount server\n\n"
                "MaildirStore near\nPath %s/\nInbox %s/INBOX\n"
                "SubFolders Verbatim\n\n"
                "Channel sync\nFar :far:\nNear :near:\n"
                "Patterns shared/notices/Weekly\nCreate Near\n"
                "Expunge Both\nSyncState *\n"
                % (site.inst, imapd, site.md["alice"], local, local))

    def run():
        r = subprocess.run([MBSYNC, "-c", config, "-a"], capture_output=True,
                           timeout=120)
        assert r.returncode == 0, (r.stdout, r.stderr)

    run()
    near = os.path.join(local, "shared", "notices", "Weekly")
    got = {}
    for sub in ("new", "cur"):
        for n in os.listdir(os.path.join(near, sub)):
            with open(os.path.join(near, sub, n), "rb") as f:
                subj = re.search(rb"^Subject: (.*)$", f.read(), re.M)
                got[subj.group(1)] = (sub, n)
    assert set(got) == {b"notice 1", b"notice 2"}
    # near side: 1 read, 2 deleted
    sub, n = got[b"notice 1"]
    os.rename(os.path.join(near, sub, n),
              os.path.join(near, "cur", n.split(":2,")[0] + ":2,S"))
    sub, n = got[b"notice 2"]
    os.rename(os.path.join(near, sub, n),
              os.path.join(near, "cur", n.split(":2,")[0] + ":2,T"))
    run()
    # the deletion reached the sharable folder; the flag is alice's only
    assert len(files(site.weekly)) == 1
    alice = site.login(imapd, "alice")
    lines, _ = alice.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 1
    assert "\\Seen" in flags(alice, 1)
    alice.close()
    bob = site.login(imapd, "bob")
    bob.cmd("SELECT shared.notices.Weekly")
    assert "\\Seen" not in flags(bob, 1)
    bob.close()


# enough messages that a listing of the copy takes several getdents
# calls, so a rename by the other session can fall between them (without
# the index check this test lost up to 32 messages a run)
N_STORM = 2000


def test_concurrent_sessions_lose_nothing(imapd, maildirmake, tmp_path):
    """One session of an account renames the copy's files all the time
    (flag changes) while another refreshes the copy again and again: no
    message of the writable sharable folder is taken as expunged."""
    import threading
    site = Site(tmp_path, maildirmake)
    for n in range(N_STORM):
        put(site.weekly, msg(n))
    a = site.login(imapd, "alice")
    b = site.login(imapd, "alice")
    a.cmd("SELECT shared.notices.Weekly")
    errors = []

    def storm():
        try:
            for i in range(12):
                a.cmd("STORE 1:* %sFLAGS (\\Flagged)" % "+-"[i % 2])
        except Exception as e:  # reported below
            errors.append(e)

    t = threading.Thread(target=storm)
    t.start()
    while t.is_alive():
        lines, _ = b.cmd("SELECT shared.notices.Weekly")
        assert exists(lines) == N_STORM
    t.join()
    assert not errors, errors
    assert len(files(site.weekly)) == N_STORM
    lines, _ = b.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == N_STORM
    a.close()
    b.close()


OWNER_PASSES = 16


def test_owner_renames_lose_nothing(imapd, maildirmake, tmp_path):
    """The sharable folder's owner renames its files all the time (reads
    them, flags them) while an account refreshes its copy again and
    again: no message leaves the account's copy, so its UIDs and flags
    stay."""
    import threading
    site = Site(tmp_path, maildirmake)
    for n in range(N_STORM):
        put(site.weekly, msg(n), sub="cur", info=":2,")
    s = site.login(imapd, "alice")
    s.cmd("SELECT shared.notices.Weekly")
    s.cmd("STORE 1:* +FLAGS (\\Flagged)")
    lines, _ = s.cmd("STATUS shared.notices.Weekly (UIDNEXT)")
    uidnext = lines[0]

    def owner():
        cur = os.path.join(site.weekly, "cur")
        for i in range(OWNER_PASSES):
            flag = "S" if i % 2 == 0 else ""
            for n in os.listdir(cur):
                os.rename(os.path.join(cur, n),
                          os.path.join(cur, n.split(":2,")[0] + ":2," +
                                       flag))

    t = threading.Thread(target=owner)
    t.start()
    try:
        while t.is_alive():
            lines, _ = s.cmd("SELECT shared.notices.Weekly")
            assert exists(lines) == N_STORM
    finally:
        t.join()
    lines, _ = s.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == N_STORM
    lines, _ = s.cmd("SEARCH UNFLAGGED")
    assert lines == [b"* SEARCH"]
    lines, _ = s.cmd("STATUS shared.notices.Weekly (UIDNEXT)")
    assert lines[0] == uidnext
    s.close()


def test_idle_wakes_on_mail_in_the_sharable_folder(imapd, maildirmake,
                                                    tmp_path):
    """IDLE in a sharable folder's copy reports mail delivered into the
    sharable folder itself within seconds, not at IDLE's 60 s poll
    (RFC 2177: the server sends EXISTS while idling)."""
    import queue
    import threading
    site = Site(tmp_path, maildirmake)
    put(site.weekly, msg(1))
    alice = site.login(imapd, "alice")
    lines, _ = alice.cmd("SELECT shared.notices.Weekly")
    assert exists(lines) == 1
    alice.m.send(b"i1 IDLE\r\n")
    assert alice.m.readfile.readline().startswith(b"+ ")
    got = queue.Queue()

    def reader():
        while True:
            line = alice.m.readfile.readline()
            got.put(line)
            if not line or line.startswith(b"i1 "):
                return
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    put(site.weekly, msg(2))
    seen = []
    try:
        while b"* 2 EXISTS\r\n" not in seen:
            seen.append(got.get(timeout=10))
    except queue.Empty:
        pass
    alice.m.send(b"DONE\r\n")
    t.join(70)
    assert b"* 2 EXISTS\r\n" in seen, seen
    assert body(alice, 2) == msg(2)
    alice.close()
