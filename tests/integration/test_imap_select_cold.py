"""test_imap_select_cold.py: the first SELECT of a folder with no index
(the index built from the maildir in one scan), with Python's imaplib over
`imapd DIR`: UIDs in Courier's order, flags and sizes from the names,
courierimapuiddb imported, deliveries and removals in new/ found by the
scan of new/ alone, and a SELECT killed half-way that leaves no index
that lies."""

import imaplib
import os
import re
import signal
import subprocess
import time

from maildirs import deliver

T0 = 1600000000
FLAGS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered", "T": "\\Deleted",
         "D": "\\Draft"}


def body(i):
    return b"Subject: m%d\r\n\r\nmessage %d\r\n" % (i, i)


def fill(md, n, in_new_every=0, letters="SFRT"):
    """n messages, message i delivered at T0 + i (Courier's order is i's
    order), written straight into cur/ (every in_new_every-th into new/)
    with ",S=" in the name and flags from letters; returns [(sub, name)]."""
    out = []
    for i in range(n):
        data = body(i)
        base = "%d.M%dP1.cold,S=%d" % (T0 + i, i, len(data))
        if in_new_every and i % in_new_every == 0:
            sub, name = "new", base
        else:
            fl = "".join(sorted(c for k, c in enumerate(letters)
                                if (i >> k) & 1))
            sub, name = "cur", base + ":2," + fl
        with open(os.path.join(md, sub, name), "wb") as f:
            f.write(data)
        out.append((sub, name))
    # An old maildir: its directories last changed a while ago.
    for sub in ("new", "cur"):
        os.utime(os.path.join(md, sub), (T0, T0))
    return out


def session(imapd, md):
    return imaplib.IMAP4_stream("%s %s" % (imapd, md))


def fetch_all(m):
    """{uid: (set of flags, size)} from UID FETCH 1:* (FLAGS RFC822.SIZE)."""
    typ, data = m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE)")
    assert typ == "OK"
    out = {}
    for line in data:
        if line is None:
            continue
        mo = re.match(rb"\d+ \((.*)\)$", line)
        assert mo, line
        items = mo.group(1)
        uid = int(re.search(rb"UID (\d+)", items).group(1))
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", items).group(1)
                    .decode().split())
        size = int(re.search(rb"RFC822\.SIZE (\d+)", items).group(1))
        out[uid] = (flags, size)
    return out


def subject(m, uid):
    typ, data = m.uid("FETCH", str(uid),
                      "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    return data[0][1].strip()


def status_of(m, name):
    return int(m.untagged_responses[name][-1])


def test_cold_select_builds_everything(imapd, md):
    n = 3000
    files = fill(md, n, in_new_every=50)
    m = session(imapd, md)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [str(n).encode()]
    assert status_of(m, "RECENT") == n // 50
    got = fetch_all(m)
    assert sorted(got) == list(range(1, n + 1))
    for i, (sub, name) in enumerate(files):
        flags, size = got[i + 1]
        assert size == len(body(i))
        want = {FLAGS[c] for c in name.partition(":2,")[2]}
        if sub == "new":
            want.add("\\Recent")
        assert flags == want, (i, name, flags)
    for i in (0, 1, 49, 50, 1234, n - 1):
        assert subject(m, i + 1) == b"Subject: m%d" % i
    uidvalidity = status_of(m, "UIDVALIDITY")
    m.logout()
    # new/ was taken out by the session that saw the arrivals
    assert os.listdir(os.path.join(md, "new")) == []
    # Courier's UID file written for the next build
    with open(os.path.join(md, "courierimapuiddb")) as f:
        lines = f.read().splitlines()
    assert lines[0] == "1 %d %d" % (uidvalidity, n + 1)
    assert lines[1] == "1 %d.M0P1.cold,S=%d" % (T0, len(body(0)))
    assert len(lines) == n + 1

    m = session(imapd, md)
    typ, data = m.select("INBOX")
    assert data == [str(n).encode()]
    assert status_of(m, "RECENT") == 0
    assert status_of(m, "UIDVALIDITY") == uidvalidity
    assert sorted(fetch_all(m)) == list(range(1, n + 1))
    m.logout()


def test_new_arrivals_and_removals_after_cold_select(imapd, md):
    fill(md, 500)
    m = session(imapd, md)
    typ, data = m.select("INBOX", readonly=True)  # EXAMINE: new/ stays
    assert data == [b"500"]
    names = []
    for i in range(3):
        names.append(deliver(md, b"Subject: late%d\n\nx\n" % i, "new", "",
                             "cold"))
        m.untagged_responses.clear()
        assert m.noop()[0] == "OK"
        assert m.untagged_responses["EXISTS"][-1] == str(501 + i).encode()
    assert subject(m, 502) == b"Subject: late1"
    # another program removes one of them from new/: expunged
    os.unlink(os.path.join(md, "new", names[1]))
    m.untagged_responses.clear()
    assert m.noop()[0] == "OK"
    assert m.untagged_responses.get("EXPUNGE") == [b"502"]
    got = fetch_all(m)
    assert sorted(got) == list(range(1, 502)) + [503]
    m.logout()
    # a new session (another process) agrees
    m = session(imapd, md)
    typ, data = m.select("INBOX")
    assert data == [b"502"]
    assert subject(m, 503) == b"Subject: late2"
    m.logout()


def test_courierimapuiddb_imported_at_cold_select(imapd, md):
    files = fill(md, 200)
    # Courier gave the first 150 messages UIDs 1001.. (in its order)
    with open(os.path.join(md, "courierimapuiddb"), "w") as f:
        f.write("1 777777 2000\n")
        for i, (sub, name) in enumerate(files[:150]):
            f.write("%d %s\n" % (1001 + i, name.partition(":")[0]))
    m = session(imapd, md)
    typ, data = m.select("INBOX")
    assert data == [b"200"]
    assert status_of(m, "UIDVALIDITY") == 777777
    got = fetch_all(m)
    assert sorted(got) == list(range(1001, 1151)) + list(range(2000, 2050))
    assert subject(m, 1001) == b"Subject: m0"
    assert subject(m, 1150) == b"Subject: m149"
    assert subject(m, 2000) == b"Subject: m150"
    assert subject(m, 2049) == b"Subject: m199"
    m.logout()


def test_killed_cold_select_leaves_no_lying_index(imapd, md):
    n = 20000
    fill(md, n, in_new_every=1000)
    for delay in (0.02, 0.1, 0.3):
        p = subprocess.Popen([imapd, md], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        p.stdin.write(b"a SELECT INBOX\r\n")
        p.stdin.flush()
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
    m = session(imapd, md)
    typ, data = m.select("INBOX")
    assert data == [str(n).encode()]
    got = fetch_all(m)
    assert len(got) == n
    uids = sorted(got)
    # whoever built it, UIDs follow Courier's order, message for message
    for k in (0, 1, 999, 1000, 12345, n - 1):
        assert subject(m, uids[k]) == b"Subject: m%d" % k
    m.logout()
    m = session(imapd, md)
    typ, data = m.select("INBOX")
    assert data == [str(n).encode()]
    assert sorted(fetch_all(m)) == uids
    m.logout()
