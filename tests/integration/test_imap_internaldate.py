"""test_imap_internaldate.py: INTERNALDATE and RFC822.SIZE after a cold
SELECT, with Python's imaplib over `imapd DIR`: the index takes a
message's size from its name's ",S=" without a stat() and reads its date
lazily, and must still answer the file's mtime (what Courier-IMAP and
Dovecot answer), not the time in the name, in FETCH, SEARCH, SORT, COPY
and after APPEND with a date; a file that vanished before its date was
read is expunged."""

import imaplib
import os
import re
import time

import pytest

# The times in the names, and the mtimes of the files: a day apart.
NAME_T = 1600000000          # 13-Sep-2020 12:26:40 +0000
MTIME_T = 1500000000         # 14-Jul-2017 02:40:00 +0000


def message(i):
    # LF line ends: RFC822.SIZE counts them as CRLF.
    return ("From: a%d@example.com\nTo: b@example.com\nSubject: m%d\n"
            "Date: Mon, 1 Jan 2001 00:00:00 +0000\n\nbody %d\n" %
            (i, i, i)).encode()


def crlf_size(data):
    return len(data.replace(b"\n", b"\r\n"))


@pytest.fixture
def md(tmp_path):
    """A maildir of 6 messages: names with ",S=", mtimes a day and more
    from the names' times (MTIME_T + i hours); one name without ",S="."""
    path = str(tmp_path / "Maildir")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d))
    names = []
    for i in range(6):
        data = message(i)
        base = "%d.M%dP1.test" % (NAME_T + i, i)
        if i != 5:
            base += ",S=%d" % len(data)
        name = base + (":2,S" if i % 2 == 0 else "")
        sub = "cur" if i % 2 == 0 else "new"
        full = os.path.join(path, sub, name)
        with open(full, "wb") as f:
            f.write(data)
        t = MTIME_T + i * 3600
        os.utime(full, (t, t))
        names.append((sub, name, data, t))
    return path, names


def session(imapd, path):
    return imaplib.IMAP4_stream("%s %s" % (imapd, path))


def parse_dates(data):
    """{seq: epoch seconds} from FETCH (INTERNALDATE) answers."""
    out = {}
    for line in data:
        if isinstance(line, tuple):
            line = line[0]
        m = re.match(rb'(\d+) \(.*INTERNALDATE "([^"]+)"', line)
        if m:
            t = imaplib.Internaldate2tuple(b'INTERNALDATE "%s"' % m[2])
            out[int(m[1])] = int(time.mktime(t))
    return out


def test_cold_select_internaldate_is_mtime(imapd, md):
    path, names = md
    assert not os.path.exists(os.path.join(path, "courier-suite.index"))
    m = session(imapd, path)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"6"]
    # FLAGS first: the dates are not needed (and not read) for it.
    typ, data = m.fetch("1:*", "(FLAGS)")
    assert typ == "OK" and len(data) == 6
    typ, data = m.fetch("1:*", "(INTERNALDATE RFC822.SIZE)")
    assert typ == "OK"
    dates = parse_dates(data)
    sizes = {}
    for line in data:
        mm = re.match(rb"(\d+) \(.*RFC822\.SIZE (\d+)", line)
        sizes[int(mm[1])] = int(mm[2])
    # Messages get UIDs in delivery order: seq i+1 is message i.
    for i, (sub, name, body, t) in enumerate(names):
        assert dates[i + 1] == t, (name, dates[i + 1], t)
        assert dates[i + 1] != NAME_T + i
        assert sizes[i + 1] == crlf_size(body)
    m.logout()

    # Stored in the index: a new session answers the same.
    m = session(imapd, path)
    m.select("INBOX")
    typ, data = m.fetch("1:*", "(INTERNALDATE)")
    assert parse_dates(data) == {i + 1: n[3] for i, n in enumerate(names)}
    m.logout()


def test_search_and_sort_by_mtime(imapd, md):
    path, names = md
    m = session(imapd, path)
    m.select("INBOX")
    # Every mtime is in July 2017, every name time in September 2020.
    typ, data = m.search(None, "BEFORE", "1-Jan-2018")
    assert typ == "OK" and data[0].split() == [b"1", b"2", b"3", b"4",
                                               b"5", b"6"]
    typ, data = m.search(None, "SINCE", "1-Sep-2020")
    assert typ == "OK" and data[0] == b""
    typ, data = m.search(None, "ON", "14-Jul-2017")
    assert typ == "OK" and len(data[0].split()) == 6
    # ARRIVAL is the internal date: reversed mtimes reverse the order.
    # (The session moved the messages of new/ to cur/.)
    files = {f.split(":")[0]: os.path.join(path, d, f)
             for d in ("new", "cur") for f in os.listdir(os.path.join(path, d))}
    for i, (sub, name, body, t) in enumerate(names):
        full = files[name.split(":")[0]]
        os.utime(full, (MTIME_T - i * 60, MTIME_T - i * 60))
    m.logout()
    # The index read and stored the dates already: a fresh index (as
    # if it had been lost) reads the new mtimes.
    os.unlink(os.path.join(path, "courier-suite.index"))
    m = session(imapd, path)
    m.select("INBOX")
    typ, data = m.sort("(ARRIVAL)", "UTF-8", "ALL")
    assert typ == "OK" and data[0].split() == [b"6", b"5", b"4", b"3",
                                               b"2", b"1"]
    m.logout()


def test_sort_date_falls_back_to_mtime(imapd, tmp_path):
    """SORT (DATE) after a cold SELECT: a message without a Date: field
    sorts by its internal date (RFC 5256 section 2.2), which is the
    file's mtime even though SEARCH and SORT read dates only where they
    need them; a SEARCH that needs no date, then one that does, in the
    same session."""
    path = str(tmp_path / "Maildir")
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d))
    ten_years = 10 * 365 * 86400
    msgs = [  # (Date: or None, mtime)
        ("Mon, 1 Jan 2001 00:00:00 +0000", MTIME_T + 3600),
        (None, MTIME_T),
        ("Tue, 1 Jan 2019 00:00:00 +0000", MTIME_T + 7200),
        (None, MTIME_T - ten_years),
    ]
    for i, (date, mtime) in enumerate(msgs):
        text = "From: s%d@example.com\nSubject: m%d\n" % (i, i)
        if date:
            text += "Date: %s\n" % date
        data = (text + "\nbody\n").encode()
        name = "%d.M%dP1.test,S=%d:2,S" % (NAME_T + i, i, len(data))
        full = os.path.join(path, "cur", name)
        with open(full, "wb") as f:
            f.write(data)
        os.utime(full, (mtime, mtime))
    m = session(imapd, path)
    m.select("INBOX")
    typ, data = m.sort("(DATE)", "UTF-8", "ALL")
    assert typ == "OK" and data[0].split() == [b"1", b"4", b"2", b"3"]
    typ, data = m.sort("(REVERSE DATE)", "UTF-8", "ALL")
    assert typ == "OK" and data[0].split() == [b"3", b"2", b"4", b"1"]
    m.logout()

    os.unlink(os.path.join(path, "courier-suite.index"))
    m = session(imapd, path)
    m.select("INBOX")
    typ, data = m.search(None, "FROM", "s3@")
    assert typ == "OK" and data[0].split() == [b"4"]
    typ, data = m.search(None, "BEFORE", "1-Jan-2010")
    assert typ == "OK" and data[0].split() == [b"4"]
    typ, data = m.sort("(ARRIVAL)", "UTF-8", "ALL")
    assert typ == "OK" and data[0].split() == [b"4", b"2", b"1", b"3"]
    typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert typ == "OK"
    assert data[0] == b"(1)(4)(2)(3)"
    m.logout()


def test_append_date_and_copy(imapd, md, tmp_path):
    path, names = md
    m = session(imapd, path)
    m.select("INBOX")
    typ, _ = m.create("Other")
    assert typ == "OK"
    when = imaplib.Time2Internaldate(1234567890)
    typ, data = m.append("INBOX", None, when, message(9))
    assert typ == "OK"
    typ, data = m.copy("1:2", "Other")
    assert typ == "OK"
    m.logout()
    # Cold again: the APPEND date and the copies' dates are the files'
    # mtimes.
    os.unlink(os.path.join(path, "courier-suite.index"))
    m = session(imapd, path)
    m.select("INBOX")
    typ, data = m.fetch("7", "(INTERNALDATE)")
    assert parse_dates(data) == {7: 1234567890}
    m.select("Other")
    typ, data = m.fetch("1:2", "(INTERNALDATE)")
    assert parse_dates(data) == {1: names[0][3], 2: names[1][3]}
    m.logout()


def test_vanished_before_date_read(imapd, md):
    path, names = md
    m = session(imapd, path)
    m.select("INBOX")
    # Message 3 (in cur/) disappears behind the server's back before
    # anything read its date.
    sub, name, body, t = names[2]
    os.unlink(os.path.join(path, sub, name))
    typ, data = m.fetch("1:*", "(INTERNALDATE)")
    assert typ == "OK"
    typ, data = m.noop()
    assert typ == "OK"
    typ, data = m.fetch("1:*", "(INTERNALDATE)")
    dates = parse_dates(data)
    assert len(dates) == 5
    assert sorted(dates.values()) == sorted(n[3] for i, n in
                                            enumerate(names) if i != 2)
    m.logout()
