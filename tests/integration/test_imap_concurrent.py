"""test_imap_concurrent.py: several sessions on one folder, with Python's
imaplib over `imapd DIR`: a session that changes nothing keeps an exact
view of what the others do (APPEND, STORE, EXPUNGE, and files delivered or
renamed by another program), whichever command it learns it through; its
sequence numbers, EXISTS and EXPUNGE responses always match the folder."""

import imaplib
import os
import random
import re
import time

import pytest

from maildirs import deliver


def put(md, text, sub="new", info=""):
    """Delivers a message into the maildir the way any MDA would."""
    return deliver(md, text, sub, info, "conc")


def session(imapd, md):
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    return m


def msg(i):
    return (b"From: a@example.com\r\nTo: b@example.com\r\n"
            b"Subject: message %d\r\n\r\nbody %d\r\n" % (i, i))


class View:
    """What a client that only listens knows: sequence -> UID, updated
    from EXISTS, EXPUNGE and FETCH responses as RFC 9051 says."""

    def __init__(self, m):
        self.m = m
        typ, data = m.uid("SEARCH", "ALL")
        assert typ == "OK"
        self.uids = [int(x) for x in data[0].split()]
        self.flags = {}

    def absorb(self):
        """Applies the untagged responses imaplib collected, in order."""
        for kind, value in self.m._untagged_log:
            if kind == "EXPUNGE":
                n = int(value)
                assert 1 <= n <= len(self.uids), \
                    (n, len(self.uids), self.m._untagged_log)
                del self.uids[n - 1]
            elif kind == "EXISTS":
                n = int(value)
                assert n >= len(self.uids), "EXISTS went down"
                while len(self.uids) < n:
                    self.uids.append(None)
            elif kind == "FETCH":
                mm = re.match(rb"(\d+) \(.*UID (\d+)", value)
                if mm:
                    n, uid = int(mm.group(1)), int(mm.group(2))
                    assert 1 <= n <= len(self.uids)
                    if self.uids[n - 1] is None:
                        self.uids[n - 1] = uid
                    assert self.uids[n - 1] == uid, (n, uid)
                    f = re.search(rb"FLAGS \(([^)]*)\)", value)
                    if f:
                        self.flags[uid] = set(f.group(1).split())
        self.m._untagged_log = []


def logged(m):
    """Makes imaplib keep every untagged response in arrival order."""
    m._untagged_log = []
    orig = m._append_untagged

    def hook(typ, dat):
        m._untagged_log.append((typ, dat))
        orig(typ, dat)
    m._append_untagged = hook


def folder_uids(md_sess):
    """The folder's UIDs as the session sees them after a NOOP (the
    changes it learns at a SEARCH come after the SEARCH's answer)."""
    assert md_sess.noop()[0] == "OK"
    typ, data = md_sess.uid("SEARCH", "ALL")
    assert typ == "OK"
    return [int(x) for x in data[0].split()]


@pytest.mark.parametrize("seed", [7, 4, 1])
def test_listener_follows_appends_expunges_and_flags(imapd, md, seed):
    """An expunge learnt through FETCH or SEARCH (which may not send
    EXPUNGE) is kept and sent at the next NOOP (seed 4 failed so)."""
    for i in range(30):
        put(md, msg(i), "cur", ":2,")
    writer = session(imapd, md)
    listener = session(imapd, md)
    logged(listener)
    view = View(listener)
    rng = random.Random(seed)
    appended = 0
    for step in range(100):
        op = rng.choice(["append", "expunge", "store", "deliver",
                         "rename", "store"])
        uids = folder_uids(writer)
        if op == "append":
            appended += 1
            typ, _ = writer.append("INBOX", r"(\Seen)", None,
                                   msg(1000 + appended))
            assert typ == "OK"
        elif op == "expunge" and uids:
            victims = rng.sample(uids, min(len(uids), rng.randint(1, 3)))
            s = ",".join(str(u) for u in victims)
            assert writer.uid("STORE", s, "+FLAGS.SILENT",
                              r"(\Deleted)")[0] == "OK"
            assert writer.uid("EXPUNGE", s)[0] == "OK"
        elif op == "store" and uids:
            u = rng.choice(uids)
            assert writer.uid("STORE", str(u), rng.choice(["+", "-"]) +
                              "FLAGS", r"(\Flagged)")[0] == "OK"
        elif op == "deliver":
            put(md, msg(2000 + step))
        elif op == "rename":
            cur = os.path.join(md, "cur")
            names = [n for n in os.listdir(cur) if n.endswith(":2,")]
            if names:
                n = rng.choice(names)
                os.rename(os.path.join(cur, n), os.path.join(cur, n + "S"))
        # The listener learns through a command that may send EXPUNGE
        # (NOOP) or one that may not (FETCH, STORE of nothing, SEARCH).
        how = rng.choice(["NOOP", "FETCH", "SEARCH"])
        if how == "NOOP":
            assert listener.noop()[0] == "OK"
        elif how == "FETCH" and view.uids:
            listener.fetch("1", "(UID)")
        else:
            listener.search(None, "ALL")
        view.absorb()
        if how == "NOOP":
            # After NOOP the view is the folder, in order.
            time.sleep(0.01)
            assert listener.noop()[0] == "OK"
            view.absorb()
            want = folder_uids(writer)
            typ, data = listener.fetch("1:*", "(UID)") if view.uids \
                else ("OK", [])
            assert typ == "OK"
            view.absorb()
            assert view.uids == want, (step, op)
    # Flags the listener was told match the folder's.
    assert listener.noop()[0] == "OK"
    view.absorb()
    typ, data = writer.uid("FETCH", "1:*", "(FLAGS)")
    for line in data:
        if line is None:
            continue
        u = int(re.search(rb"UID (\d+)", line).group(1))
        f = set(re.search(rb"FLAGS \(([^)]*)\)", line).group(1).split())
        f.discard(b"\\Recent")
        if u in view.flags:
            got = set(view.flags[u])
            got.discard(b"\\Recent")
            assert got == f, (u, got, f)
    writer.logout()
    listener.logout()


def test_flag_change_is_seen_by_the_next_command(imapd, md):
    for i in range(5):
        put(md, msg(i), "cur", ":2,")
    a = session(imapd, md)
    b = session(imapd, md)
    logged(b)
    View(b)
    for i in range(20):
        u = 1 + (i // 2) % 5
        sign = "+" if i % 2 == 0 else "-"
        assert a.uid("STORE", str(u), sign + "FLAGS",
                     r"(\Answered)")[0] == "OK"
        b._untagged_log = []
        assert b.noop()[0] == "OK"
        fetches = [v for k, v in b._untagged_log if k == "FETCH"]
        assert any(re.search(rb"UID %d FLAGS" % u, v) for v in fetches), \
            (i, fetches)
        ans = [v for v in fetches if re.search(rb"UID %d FLAGS" % u, v)][-1]
        assert (b"\\Answered" in ans) == (sign == "+")
    a.logout()
    b.logout()
