"""test_index_concurrency.py: the per-folder index under concurrent
sessions: two imaplib sessions changing one folder while another program
delivers, renames and deletes files behind the index's back; nothing is
missed, and IDLE reports a delivery made right after another session's
change within a second."""
import collections
import imaplib
import os
import random
import re
import threading
import time

import pytest

from maildirs import deliver

LETTERS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered",
           "T": "\\Deleted", "D": "\\Draft"}
MSG = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: s %d\r\n"
       b"Message-ID: <%d@example.org>\r\n\r\nbody %d\r\n")


def put(md, n, sub="new", info=""):
    """Delivers message n the way any MDA would (tmp/, then rename)."""
    return deliver(md, MSG % (n, n, n), sub, info, "other")


def files_flags(md):
    """The messages in the maildir: {"new/NAME" or "cur/NAME": flag set}."""
    out = {}
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(md, sub)):
            if name.startswith("."):
                continue
            flags = set()
            if sub == "cur" and ":2," in name:
                for c in name.split(":2,", 1)[1]:
                    if c in LETTERS:
                        flags.add(LETTERS[c])
            out[sub + "/" + name] = frozenset(flags)
    return out


def session_flags(m):
    """The session's view of every message: {UID: flag set}.  imaplib
    keeps the untagged FETCH responses of earlier commands (a NOOP's
    flag updates) and returns them with the next FETCH's: each UID is
    taken once, the latest response winning."""
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    out = {}
    for line in data:
        if line is None:
            continue
        if isinstance(line, tuple):
            line = line[0]
        mu = re.search(rb"UID (\d+)", line)
        mm = re.search(rb"FLAGS \(([^)]*)\)", line)
        assert mu and mm, line
        flags = {f.decode() for f in mm.group(1).split()}
        flags.discard("\\Recent")
        out[int(mu.group(1))] = frozenset(
            f for f in flags if f in LETTERS.values())
    return out


def flag_key(flags):
    return " ".join(sorted(flags)) or "-"


def assert_same_messages(name, m, md):
    """The session's messages (UIDs and flags) are those of the maildir;
    on a mismatch the message shows which flag sets are missing or extra
    and the files and UIDs involved."""
    view = session_flags(m)
    files = files_flags(md)
    have = collections.Counter(flag_key(f) for f in view.values())
    want = collections.Counter(flag_key(f) for f in files.values())
    if have == want:
        return
    missing = want - have
    extra = have - want
    lines = ["session %s: %d messages, maildir %d files" %
             (name, len(view), len(files)),
             "flag sets only in the maildir: %s" % dict(missing),
             "flag sets only in the session: %s" % dict(extra)]
    for f, flags in sorted(files.items()):
        if flag_key(flags) in missing:
            lines.append("  file %s" % f)
    for uid, flags in sorted(view.items()):
        if flag_key(flags) in extra:
            lines.append("  UID %d (%s)" % (uid, flag_key(flags)))
    pytest.fail("\n".join(lines), pytrace=False)


def session(imapd, md):
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    return m


def other_program(md, stop, errors, count):
    """Delivers into new/ and cur/, flags files in cur/ as mutt would,
    and deletes some, until stop is set."""
    rnd = random.Random(7)
    i = 0
    try:
        while not stop.is_set() and i < count:
            i += 1
            put(md, 10000 + i, sub="new" if i % 3 else "cur",
                info="" if i % 3 else ":2,")
            cur = os.path.join(md, "cur")
            names = [n for n in os.listdir(cur) if ":2," in n]
            if names and i % 4 == 0:
                n = rnd.choice(names)
                if "F" not in n.split(":2,")[1]:
                    try:
                        os.rename(os.path.join(cur, n),
                                  os.path.join(cur, n + "F"))
                    except FileNotFoundError:
                        pass  # renamed by a session meanwhile
            if names and i % 9 == 0:
                n = rnd.choice(names)
                try:
                    os.unlink(os.path.join(cur, n))
                except FileNotFoundError:
                    pass
            time.sleep(0.002)
    except Exception as e:  # reported by the test
        errors.append(e)


def test_two_sessions_and_a_delivering_program(imapd, md):
    for n in range(300):
        put(md, n, sub="cur", info=":2,")
    a = session(imapd, md)
    b = session(imapd, md)
    stop = threading.Event()
    errors = []
    t = threading.Thread(target=other_program, args=(md, stop, errors, 400))
    t.start()
    try:
        for i in range(150):
            # Session A: flags, APPEND, UID EXPUNGE; session B: reads.
            typ, data = a.uid("SEARCH", "ALL")
            uids = data[0].split()
            assert typ == "OK" and uids
            uid = uids[i % len(uids)].decode()
            assert a.uid("STORE", uid, "+FLAGS.SILENT",
                         "(\\Seen)")[0] == "OK"
            if i % 5 == 0:
                typ, data = a.append("INBOX", "(\\Answered)", None,
                                     MSG % (i, i, i))
                assert typ == "OK"
            if i % 7 == 0:
                assert a.uid("STORE", uid, "+FLAGS.SILENT",
                             "(\\Deleted)")[0] == "OK"
                assert a.uid("EXPUNGE", uid)[0] == "OK"
            assert b.noop()[0] == "OK"
            assert b.uid("FETCH", "1:*", "(FLAGS)")[0] == "OK"
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    # One more flag change after both sessions' last command, as the
    # other program makes when it outlasts them: their NOOP reports it
    # (an untagged FETCH that imaplib hands back with the next FETCH).
    cur = os.path.join(md, "cur")
    name = next(n for n in sorted(os.listdir(cur))
                if ":2," in n and "F" not in n.split(":2,")[1])
    os.rename(os.path.join(cur, name), os.path.join(cur, name + "F"))
    # A change hidden in the clock tick of one of ours is found by the
    # recheck a second later at the latest.
    time.sleep(1.2)
    for name, m in (("a", a), ("b", b)):
        assert m.noop()[0] == "OK"
        assert_same_messages(name, m, md)
    c = session(imapd, md)
    assert_same_messages("c", c, md)
    for m in (a, b, c):
        m.logout()


def read_until(m, pattern, timeout):
    """Reads lines from m until one matches pattern; the matching line,
    or None after timeout seconds."""
    found = []

    def reader():
        while True:
            line = m.readline()
            if not line:
                return
            if re.search(pattern, line):
                found.append(line)
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    return found[0] if found else None


def test_idle_sees_delivery_after_another_sessions_change(imapd, md):
    for n in range(50):
        put(md, n, sub="cur", info=":2,")
    a = session(imapd, md)
    b = session(imapd, md)
    for round_ in range(5):
        typ, data = b.select("INBOX")
        exists = int(data[0])
        b.send(b"i IDLE\r\n")
        assert read_until(b, rb"^\+", 5) is not None
        # Another session's STORE, then at once a delivery by another
        # program: most likely in the same clock tick.
        assert a.uid("STORE", str(round_ + 1), "+FLAGS.SILENT",
                     "(\\Flagged)")[0] == "OK"
        put(md, 1000 + round_)
        t0 = time.monotonic()
        line = read_until(b, rb"^\* %d EXISTS" % (exists + 1), 1.0)
        assert line is not None, "IDLE missed the delivery"
        assert time.monotonic() - t0 < 1.0
        b.send(b"DONE\r\n")
        assert read_until(b, rb"^i OK", 5) is not None
    a.logout()
    b.logout()
