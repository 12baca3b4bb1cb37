"""test_imap_mbsync.py: isync (mbsync) syncing a folder tree both ways
with imapd, over `imapd DIR` as a Tunnel and over TCP with LOGIN against
a throw-away instance; and a mailbox of 10,000 messages made by the test
(SELECT with a cold index, FETCH 1:* FLAGS, STORE on all, SEARCH,
EXPUNGE) with time bounds that hold on a slow CI machine."""

import imaplib
import os
import re
import shutil
import subprocess
import time

import pytest

from test_imap import iinst  # noqa: F401  (the instance fixture)
from maildirs import make_maildir

MBSYNC = shutil.which("mbsync")


_seq = [0]


def put(md, subject, flags="", body="body\n", owner=None):
    """A message in cur/ with maildir flags."""
    _seq[0] += 1
    name = "%d.M%dP%d.mbsync:2,%s" % (1700000000 + _seq[0], _seq[0],
                                      os.getpid(), flags)
    path = os.path.join(md, "cur", name)
    with open(path, "w") as f:
        f.write("From: t@example.test\nTo: u@example.test\n"
                "Subject: %s\nMessage-ID: <%d.%d@example.test>\n"
                "Date: Tue, 14 Nov 2023 22:13:20 +0000\n\n%s" %
                (subject, _seq[0], os.getpid(), body))
    if owner is not None:
        os.chown(path, owner[0], owner[1])
    return path


def local_msgs(d):
    """{subject: flags} of a local maildir (mbsync's side)."""
    out = {}
    for sub in ("new", "cur"):
        p = os.path.join(d, sub)
        if not os.path.isdir(p):
            continue
        for n in os.listdir(p):
            with open(os.path.join(p, n), "rb") as f:
                m = re.search(rb"^Subject: (.*)$", f.read(), re.M)
            flags = n.split(":2,")[1] if ":2," in n else ""
            out[m.group(1).decode()] = "".join(sorted(flags))
    return out


def server_msgs(m, box):
    """{subject: flags} of a server folder, through an IMAP session."""
    typ, _ = m.select('"%s"' % box)
    assert typ == "OK", box
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = {}
    if data == [None]:
        return out
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).split()
        subj = re.search(rb"Subject: (.*?)\r\n", item[1]).group(1).decode()
        letters = {b"\\Seen": "S", b"\\Flagged": "F", b"\\Answered": "R",
                   b"\\Draft": "D", b"\\Deleted": "T"}
        out[subj] = "".join(sorted(letters[f] for f in flags
                                   if f in letters))
    return out


def write_config(path, local, account_lines):
    with open(path, "w") as f:
        f.write("IMAPAccount server\n%s\n\n"
                "IMAPStore server-store\nAccount server\n\n"
                "MaildirStore local\nPath %s/\nInbox %s/INBOX\n"
                "SubFolders Verbatim\n\n"
                "Channel sync\nFar :server-store:\nNear :local:\n"
                "Patterns *\nCreate Both\nRemove Both\nExpunge Both\n"
                "SyncState *\n" % (account_lines, local, local))


def mbsync(config):
    r = subprocess.run([MBSYNC, "-c", config, "-a"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return r


def sync_both_ways(md, local, config, session, owner=None):
    """The common scenario: a tree on the server goes to the near side,
    changes on each side go to the other."""
    put(md, "inbox one", "S", owner=owner)
    put(md, "inbox two", "", owner=owner)
    for f in ("Work", "Work.Projects"):
        make_maildir(os.path.join(md, "." + f))
        if owner is not None:
            for d in ("", "new", "cur", "tmp"):
                os.chown(os.path.join(md, "." + f, d), owner[0], owner[1])
    put(os.path.join(md, ".Work"), "work one", "F", owner=owner)
    put(os.path.join(md, ".Work.Projects"), "project one", "RS",
        owner=owner)

    mbsync(config)
    assert local_msgs(os.path.join(local, "INBOX")) == {
        "inbox one": "S", "inbox two": ""}
    assert local_msgs(os.path.join(local, "Work")) == {"work one": "F"}
    assert local_msgs(os.path.join(local, "Work", "Projects")) == {
        "project one": "RS"}

    # near-side changes: a new message in a subfolder, a new folder, a
    # flag set, a message deleted (T + expunge)
    lp = os.path.join(local, "Work", "Projects")
    with open(os.path.join(lp, "new", "1700009999.near.host"), "w") as f:
        f.write("From: n@example.test\nSubject: near new\n\nfrom near\n")
    nd = os.path.join(local, "Created")
    make_maildir(nd)
    with open(os.path.join(nd, "cur", "1700009998.near.host:2,S"),
              "w") as f:
        f.write("From: n@example.test\nSubject: in created\n\nx\n")
    inbox = os.path.join(local, "INBOX")
    for sub in ("new", "cur"):
        for n in os.listdir(os.path.join(inbox, sub)):
            src = os.path.join(inbox, sub, n)
            with open(src, "rb") as f:
                text = f.read()
            base = n.split(":2,")[0]
            flags = "FS" if b"inbox two" in text else "ST"
            os.rename(src, os.path.join(inbox, "cur", base + ":2," + flags))
    mbsync(config)

    m = session()
    assert server_msgs(m, "INBOX") == {"inbox two": "FS"}
    assert server_msgs(m, "Work.Projects") == {"project one": "RS",
                                               "near new": ""}
    assert server_msgs(m, "Created") == {"in created": "S"}
    # far-side changes: a flag, an expunge, a new message
    m.select("Work")
    m.store("1", "+FLAGS", "(\\Seen \\Deleted)")
    m.expunge()
    m.append("Work", "(\\Answered)", None,
             b"From: f@example.test\r\nSubject: far new\r\n\r\nx\r\n")
    m.select("Work.Projects")
    typ, data = m.search(None, "SUBJECT", '"project one"')
    m.store(data[0].decode(), "-FLAGS", "(\\Answered)")
    m.logout()
    mbsync(config)
    assert local_msgs(os.path.join(local, "Work")) == {"far new": "R"}
    assert local_msgs(os.path.join(local, "Work", "Projects")) == {
        "project one": "S", "near new": ""}
    assert local_msgs(os.path.join(local, "Created")) == {"in created": "S"}
    # nothing left to do: a third run changes nothing
    mbsync(config)
    m = session()
    assert server_msgs(m, "Work") == {"far new": "R"}
    assert server_msgs(m, "INBOX") == {"inbox two": "FS"}
    m.logout()


@pytest.mark.skipif(MBSYNC is None, reason="isync (mbsync) is not installed")
def test_mbsync_tunnel(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    local = str(tmp_path / "local")
    os.makedirs(local)
    config = str(tmp_path / "mbsyncrc")
    write_config(config, local, 'Tunnel "%s %s"' % (imapd, md))
    sync_both_ways(md, local, config,
                   lambda: imaplib.IMAP4_stream("%s %s" % (imapd, md)))


@pytest.mark.skipif(MBSYNC is None, reason="isync (mbsync) is not installed")
def test_mbsync_tcp_login(iinst, tmp_path):  # noqa: F811
    local = str(tmp_path / "local")
    os.makedirs(local)
    config = str(tmp_path / "mbsyncrc")
    write_config(config, local,
                 "Host %s\nPort %d\nUser %s\nPass %s\nSSLType None\n"
                 "AuthMechs LOGIN" % (iinst.address, iinst.ports["imap"],
                                      iinst.login, iinst.password))
    st = os.stat(iinst.maildir)

    def session():
        m = imaplib.IMAP4(iinst.address, iinst.ports["imap"], timeout=20)
        assert m.login(iinst.login, iinst.password)[0] == "OK"
        return m

    sync_both_ways(iinst.maildir, local, config, session,
                   owner=(st.st_uid, st.st_gid))


def timed(what, bound, func, figures):
    t = time.monotonic()
    r = func()
    dt = time.monotonic() - t
    figures.append("%s %.2fs" % (what, dt))
    assert dt < bound, "%s took %.1f s (bound %d s)" % (what, dt, bound)
    return r


def test_ten_thousand_messages(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    n = 10000
    for i in range(1, n + 1):
        name = "%d.M%dP1.big:2,%s" % (1700000000 + i, i,
                                      "S" if i % 10 == 0 else "")
        with open(os.path.join(md, "cur", name), "w") as f:
            f.write("From: s%d@example.test\nSubject: message %d\n"
                    "Date: Tue, 14 Nov 2023 22:13:20 +0000\n\n"
                    "body of %d\n" % (i % 50, i, i))
    figures = []
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, data = timed("SELECT (cold index)", 120,
                      lambda: m.select("INBOX"), figures)
    assert typ == "OK" and data == [str(n).encode()]
    typ, data = timed("FETCH 1:* FLAGS", 60,
                      lambda: m.fetch("1:*", "(FLAGS)"), figures)
    assert len(data) == n
    assert sum(1 for d in data if b"\\Seen" in d) == n // 10
    assert re.match(rb"^1 \(FLAGS \(", data[0]) and \
        re.match(rb"^10000 \(FLAGS \(.*\\Seen", data[-1])
    typ, data = timed("STORE 1:* +FLAGS.SILENT (\\Flagged)", 60,
                      lambda: m.store("1:*", "+FLAGS.SILENT",
                                      "(\\Flagged)"), figures)
    assert typ == "OK"
    typ, data = timed("SEARCH FLAGGED UNSEEN FROM s7@", 60,
                      lambda: m.search(None, "FLAGGED", "UNSEEN", "FROM",
                                       "s7@"), figures)
    # i % 50 == 7 (200 messages), none of them multiples of 10
    assert len(data[0].split()) == 200
    typ, data = timed("UID SEARCH 9990:*", 30,
                      lambda: m.uid("SEARCH", "UID", "9990:*"), figures)
    assert data[0].split() == [str(u).encode() for u in range(9990, 10001)]
    m.store("1:5000", "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = timed("EXPUNGE 5000", 120, lambda: m.expunge(), figures)
    assert typ == "OK" and len(data) == 5000
    typ, data = m.select("INBOX")
    assert data == [b"5000"]
    m.logout()
    # a warm SELECT in a new session
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, data = timed("SELECT (warm)", 30, lambda: m.select("INBOX"),
                      figures)
    assert data == [b"5000"]
    m.logout()
    print("10,000 messages: " + ", ".join(figures))
