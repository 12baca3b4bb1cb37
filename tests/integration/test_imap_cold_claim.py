"""test_imap_cold_claim.py: \\Recent claimed by the first SELECT's build of
the index (one commit for both), with Python's imaplib over `imapd DIR`:
sessions that SELECT a folder without an index at the same moment share
its arrivals (each \\Recent to exactly one of them), EXAMINE builds
without claiming, and a folder whose index was lost is built and claimed
again with the UIDs courierimapuiddb kept."""

import imaplib
import os
import threading

from maildirs import deliver


def session(imapd, md):
    return imaplib.IMAP4_stream("%s %s" % (imapd, md))


def recent_uids(m):
    """The UIDs with \\Recent in the selected mailbox."""
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    out = set()
    for line in data:
        if line is None or b"\\Recent" not in line:
            continue
        out.add(int(line.split(b"UID ")[1].split()[0].rstrip(b")")))
    return out


def fill(md, old, arrived):
    for i in range(old):
        deliver(md, b"Subject: old%d\n\nx\n" % i, "cur", ":2,S", "claim")
    for i in range(arrived):
        deliver(md, b"Subject: new%d\n\nx\n" % i, "new", "", "claim")


def test_concurrent_cold_selects_share_the_arrivals(imapd, md):
    fill(md, 40, 12)
    sessions = [session(imapd, md) for _ in range(4)]
    results = [None] * len(sessions)
    start = threading.Barrier(len(sessions))

    def run(k):
        start.wait()
        typ, data = sessions[k].select("INBOX")
        assert typ == "OK" and data == [b"52"]
        results[k] = int(sessions[k].untagged_responses["RECENT"][-1])

    threads = [threading.Thread(target=run, args=(k,))
               for k in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Every arrival is \Recent to one session, none to two.
    assert sum(results) == 12, results
    seen = set()
    for m, n in zip(sessions, results):
        uids = recent_uids(m)
        assert len(uids) == n
        assert not (uids & seen)
        seen |= uids
    assert len(seen) == 12
    for m in sessions:
        m.logout()
    assert os.listdir(os.path.join(md, "new")) == []


def test_examine_builds_without_claiming(imapd, md):
    fill(md, 3, 2)
    m = session(imapd, md)
    m.select("INBOX", readonly=True)
    assert m.untagged_responses["RECENT"] == [b"2"]
    assert len(os.listdir(os.path.join(md, "new"))) == 2
    m.logout()
    # The index exists now: the first read-write SELECT claims both.
    assert os.path.exists(os.path.join(md, "courier-suite.index"))
    m = session(imapd, md)
    m.select("INBOX")
    assert m.untagged_responses["RECENT"] == [b"2"]
    assert len(recent_uids(m)) == 2
    m.logout()
    m = session(imapd, md)
    m.select("INBOX")
    assert m.untagged_responses["RECENT"] == [b"0"]
    m.logout()


def test_rebuilt_index_claims_again_with_the_same_uids(imapd, md):
    fill(md, 5, 0)
    m = session(imapd, md)
    typ, data = m.select("INBOX")
    uidvalidity = m.untagged_responses["UIDVALIDITY"][-1]
    typ, before = m.uid("SEARCH", None, "ALL")
    m.logout()
    # The index lost; a delivery meanwhile.
    os.unlink(os.path.join(md, "courier-suite.index"))
    deliver(md, b"Subject: late\n\nx\n", "new", "", "claim")
    m = session(imapd, md)
    typ, data = m.select("INBOX")
    assert data == [b"6"]
    assert m.untagged_responses["UIDVALIDITY"][-1] == uidvalidity
    assert m.untagged_responses["RECENT"] == [b"1"]
    typ, after = m.uid("SEARCH", None, "ALL")
    old = before[0].split()
    assert after[0].split()[:5] == old
    assert recent_uids(m) == {int(after[0].split()[5])}
    m.logout()
