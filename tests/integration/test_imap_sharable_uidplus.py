"""test_imap_sharable_uidplus.py: APPENDUID and COPYUID (RFC 4315) for
APPEND, COPY and MOVE into a writable sharable folder
(shared.NICK.FOLDER): the messages go into the sharable folder itself,
but the account reads the folder through its own copy, so the codes must
give the copy's UIDVALIDITY and UIDs, the ones a UID FETCH of the
selected folder answers to (a client that trusts them, as Thunderbird
does after a move, would otherwise act on other messages)."""

import re

from test_imap_acl import MSG, put
from test_imap_sharable import Site, maildirmake, msg  # noqa: F401

APPENDUID = re.compile(rb"\[APPENDUID ([0-9]+) ([0-9:,]+)\]")
COPYUID = re.compile(rb"\[COPYUID ([0-9]+) ([0-9:,]+) ([0-9:,]+)\]")


def uid_set(text):
    out = []
    for part in text.decode().split(","):
        a, _, b = part.partition(":")
        out += list(range(int(a), int(b or a) + 1))
    return out


def uidvalidity(s, name):
    lines, _ = s.cmd("STATUS %s (UIDVALIDITY)" % name)
    for line in lines:
        m = re.search(rb"UIDVALIDITY ([0-9]+)", line)
        if m:
            return int(m.group(1))
    raise AssertionError(lines)


def body_by_uid(s, uid):
    lines, _ = s.cmd("UID FETCH %d (BODY.PEEK[])" % uid)
    for line in lines:
        if b" FETCH (" in line and b"UID %d " % uid in line + b" ":
            return line.split(b"}\r\n", 1)[1].rsplit(b")", 1)[0]
    raise AssertionError((uid, lines))


def test_codes_name_the_accounts_copy(imapd, maildirmake, tmp_path):
    site = Site(tmp_path, maildirmake)
    # the copy already holds messages, so that its UIDs and the sharable
    # folder's own index differ
    put(site.weekly, msg(1))
    put(site.weekly, msg(2))
    put(site.md["alice"], MSG)
    put(site.md["alice"], msg(5))
    alice = site.login(imapd, "alice")
    alice.cmd("SELECT shared.notices.Weekly")
    alice.cmd("SELECT INBOX")
    # bob's index of the sharable folder is another one again
    bob = site.login(imapd, "bob")
    bob.cmd("SELECT shared.notices.Weekly")
    bob.cmd("UID STORE 1:* +FLAGS (\\Seen)")
    bob.close()

    folder = "shared.notices.Weekly"
    v = uidvalidity(alice, folder)
    lines, tagged = alice.cmd('APPEND %s {%d+}\r\n%s' %
                              (folder, len(msg(7)), msg(7).decode()))
    m = APPENDUID.search(tagged)
    assert m, tagged
    assert int(m.group(1)) == v
    appended = uid_set(m.group(2))

    _, tagged = alice.cmd("UID COPY 1:* %s" % folder)
    m = COPYUID.search(tagged)
    assert m, tagged
    assert int(m.group(1)) == v
    src, copied = uid_set(m.group(2)), uid_set(m.group(3))
    assert len(src) == len(copied) == 2

    lines, tagged = alice.cmd("UID MOVE 2 %s" % folder)
    moved = None
    for line in lines:
        m = COPYUID.search(line)
        if m:
            assert int(m.group(1)) == v
            moved = uid_set(m.group(3))
    assert moved and len(moved) == 1, lines

    alice.cmd("SELECT %s" % folder)
    assert body_by_uid(alice, appended[0]) == msg(7)
    assert body_by_uid(alice, copied[0]) == MSG
    assert body_by_uid(alice, copied[1]) == msg(5)
    assert body_by_uid(alice, moved[0]) == msg(5)
    # all distinct, and none of them one of the first two messages
    assert len(set(appended + copied + moved)) == 4
    alice.close()
