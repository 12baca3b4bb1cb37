"""test_imap_recent.py: \\Recent as Courier-IMAP counts it, with Python's
imaplib over `imapd DIR`: only messages that arrived (delivered into new/)
are \\Recent, to the first session that sees them, which moves them to
cur/ (once it has answered and no command waits, and before LOGOUT's
answer); the mail already in cur/ of a maildir opened for the first time
is not; EXAMINE and STATUS count without claiming or moving anything."""

import imaplib
import os
import subprocess
import time

from maildirs import deliver


def put(md, data, sub="new", info=""):
    """Delivers data into the maildir the way any MDA would."""
    return deliver(md, data, sub, info, "recent")


def session(imapd, md):
    return imaplib.IMAP4_stream("%s %s" % (imapd, md))


def recent_flags(m):
    """{uid: has \\Recent} of the selected mailbox."""
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    out = {}
    for line in data:
        if line is None:
            continue
        uid = int(line.split(b"UID ")[1].split()[0].rstrip(b")"))
        out[uid] = b"\\Recent" in line
    return out


def new_emptied(md, seconds=10):
    """True once new/ is empty: the session that claimed the arrivals
    moves them to cur/ when it is idle, after its answer."""
    end = time.monotonic() + seconds
    while os.listdir(os.path.join(md, "new")):
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def noop(m):
    """NOOP; the untagged responses it brought."""
    m.untagged_responses.clear()
    typ, data = m.noop()
    assert typ == "OK"
    return dict(m.untagged_responses)


def subject_of(m, uid):
    typ, data = m.uid("FETCH", str(uid),
                      "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    return data[0][1].strip()


def test_first_select_of_an_existing_maildir(imapd, md):
    for i in range(3):
        put(md, b"Subject: old%d\n\nx\n" % i, sub="cur", info=":2,S")
    put(md, b"Subject: old3\n\nunread but old\n", sub="cur", info=":2,")
    for i in range(2):
        put(md, b"Subject: new%d\n\nx\n" % i)
    m = session(imapd, md)
    typ, data = m.select("INBOX")
    assert data == [b"6"]
    assert m.untagged_responses["RECENT"] == [b"2"]
    flags = recent_flags(m)
    assert len(flags) == 6
    recent = sorted(subject_of(m, u) for u, r in flags.items() if r)
    assert recent == [b"Subject: new0", b"Subject: new1"]
    # the session that saw them moved them out of new/
    assert new_emptied(md)
    assert len(os.listdir(os.path.join(md, "cur"))) == 6
    typ, data = m.search(None, "RECENT")
    assert len(data[0].split()) == 2
    typ, data = m.search(None, "NEW")
    assert len(data[0].split()) == 2
    typ, data = m.search(None, "OLD")
    assert len(data[0].split()) == 4
    m.logout()
    # the next session: nothing is recent any more
    m = session(imapd, md)
    m.select("INBOX")
    assert m.untagged_responses["RECENT"] == [b"0"]
    assert not any(recent_flags(m).values())
    m.logout()


def test_examine_and_status_claim_nothing(imapd, md):
    put(md, b"Subject: a\n\nx\n", sub="cur", info=":2,")
    put(md, b"Subject: b\n\nx\n")
    put(md, b"Subject: c\n\nx\n")
    m = session(imapd, md)
    typ, data = m.status("INBOX", "(MESSAGES RECENT)")
    assert data == [b'"INBOX" (MESSAGES 3 RECENT 2)'] or \
        data == [b"INBOX (MESSAGES 3 RECENT 2)"]
    m.select("INBOX", readonly=True)
    assert m.untagged_responses["RECENT"] == [b"2"]
    assert sum(recent_flags(m).values()) == 2
    # read-only: the files stay in new/
    assert len(os.listdir(os.path.join(md, "new"))) == 2
    m.close()
    m.select("INBOX")
    assert m.untagged_responses["RECENT"] == [b"2"]
    assert new_emptied(md)
    m.logout()
    m = session(imapd, md)
    typ, data = m.status("INBOX", "(RECENT)")
    assert b"RECENT 0" in data[0]
    m.logout()


def test_delivery_is_recent_to_one_session(imapd, md):
    put(md, b"Subject: first\n\nx\n")
    a = session(imapd, md)
    a.select("INBOX")
    assert a.untagged_responses["RECENT"] == [b"1"]
    b = session(imapd, md)
    b.select("INBOX")
    assert b.untagged_responses["RECENT"] == [b"0"]
    put(md, b"Subject: second\n\nx\n")
    time.sleep(0.1)
    got = noop(a)
    assert got.get("EXISTS") == [b"2"]
    assert got.get("RECENT") == [b"2"]
    assert new_emptied(md)
    got = noop(b)
    assert got.get("EXISTS") == [b"2"]
    # b saw it second: not \Recent there (RFC 3501 2.3.2)
    assert got.get("RECENT") in (None, [b"0"])
    assert recent_flags(a) == {1: True, 2: True}
    assert recent_flags(b) == {1: False, 2: False}
    # an expunged recent message leaves the count
    a.store("1", "+FLAGS", "\\Deleted")
    a.expunge()
    a.noop()
    assert recent_flags(a) == {2: True}
    typ, data = a.search(None, "RECENT")
    assert data == [b"1"]
    a.logout()
    b.logout()


def test_file_found_in_cur_later_is_not_recent(imapd, md):
    m = session(imapd, md)
    m.select("INBOX")
    # another program (a Courier imapd, mutt) files a message in cur/
    put(md, b"Subject: filed\n\nx\n", sub="cur", info=":2,S")
    put(md, b"Subject: delivered\n\nx\n")
    time.sleep(0.1)
    got = noop(m)
    assert got.get("EXISTS") == [b"2"]
    assert got.get("RECENT") == [b"1"]
    flags = recent_flags(m)
    recent = [subject_of(m, u) for u, r in flags.items() if r]
    assert recent == [b"Subject: delivered"]
    m.logout()


def test_append_and_copy_are_recent(imapd, md):
    m = session(imapd, md)
    typ, data = m.append("INBOX", "(\\Seen)", None,
                         b"Subject: appended\r\n\r\nx\r\n")
    assert typ == "OK"
    os.makedirs(os.path.join(md, ".Other", "cur"))
    for d in ("new", "tmp"):
        os.makedirs(os.path.join(md, ".Other", d))
    open(os.path.join(md, ".Other", "maildirfolder"), "w").close()
    m.select("INBOX")
    # arrived by APPEND (into cur/, with its flag): \Recent here
    assert m.untagged_responses["RECENT"] == [b"1"]
    assert recent_flags(m) == {1: True}
    # COPY: RFC 3501 6.4.7, the copy gets \Recent
    assert m.copy("1", "Other")[0] == "OK"
    m.select("Other")
    assert m.untagged_responses["RECENT"] == [b"1"]
    typ, data = m.fetch("1", "(FLAGS)")
    assert data == [b"1 (FLAGS (\\Seen \\Recent))"]
    m.logout()


def test_pipelined_commands_before_the_move(imapd, md):
    """Commands sent with the SELECT are answered first, from the files
    still in new/; the move is done by LOGOUT's answer at the latest."""
    bodies = [b"Subject: p%d\r\n\r\nbody %d\r\n" % (i, i) for i in range(3)]
    for b in bodies:
        put(md, b)
    out = subprocess.run(
        [imapd, md], input=b"a SELECT INBOX\r\n"
        b"b FETCH 1:* (FLAGS BODY.PEEK[])\r\n"
        b"c STORE 2 +FLAGS (\\Flagged)\r\nd LOGOUT\r\n",
        capture_output=True, timeout=30).stdout
    assert b"a OK [READ-WRITE]" in out
    assert b"b OK" in out and b"c OK" in out and b"d OK" in out
    for b in bodies:
        assert b"{%d}\r\n%s" % (len(b), b) in out
    assert os.listdir(os.path.join(md, "new")) == []
    cur = os.listdir(os.path.join(md, "cur"))
    assert len(cur) == 3
    assert sum(n.endswith(":2,F") for n in cur) == 1
