"""test_imap_emptytrash.py: IMAP_EMPTYTRASH (Courier's imapd(8) setting,
"folder:days,..."): at login imapd deletes the messages that have been in
those folders longer than the days given.  As Courier's imapd file says,
the age is the file's ctime (when it was moved or copied into the folder),
not its mtime (the internal date, often the delivery date): a message
with an old mtime but a fresh ctime stays.  A test cannot set a ctime
back, so imapd runs some days ahead under libfaketime (its clock only;
file times are the real ones).  Deleting from a folder that counts in the
Maildir++ quota (not Trash) frees quota in maildirsize.  Both folder
layouts: no namespace prefix (the default) and Courier's "INBOX.".
Python's imaplib over STARTTLS against a real instance."""

import imaplib
import os
import re
import time

import pytest

from test_imap import tls_ctx
from test_imap_auth import start, stop

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
DAY = 86400
MSG = b"From: a@example.test\nSubject: %s\n\n%s\n"
# RFC 9208 section 5.1: "QUOTA" SP astring SP "(" quota-resource
# *(SP quota-resource) ")"; quota-resource = resource-name SP
# resource-usage SP resource-limit
QUOTA = re.compile(rb'^"" \(STORAGE (\d+) (\d+) MESSAGE (\d+) (\d+)\)$')
# RFC 3501 section 7.2.4 (STATUS): "MESSAGES" SP number
STATUS = re.compile(rb'^"?([^"]+)"? \(MESSAGES (\d+)\)$')


def folder(md, name):
    d = md if name is None else os.path.join(md, "." + name)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    if name is not None:
        open(os.path.join(d, "maildirfolder"), "a").close()
    return d


def own(md):
    """Gives everything under md to the maildir's owner (the tests may
    run as root; the session runs as the account)."""
    st = os.stat(md)
    for top, dirs, files in os.walk(md):
        for n in dirs + files:
            os.lchown(os.path.join(top, n), st.st_uid, st.st_gid)


def put(d, name, mtime_days_ago=0):
    """A message in cur/ of maildir d (",S=" gives its size); its mtime
    (the internal date) set back, its ctime is now whatever we do."""
    data = MSG % (name.encode(), b"x" * 200)
    base = "%d.M%sP1.test,S=%d:2,S" % (time.time(), name, len(data))
    path = os.path.join(d, "cur", base)
    with open(path, "wb") as f:
        f.write(data)
    t = time.time() - mtime_days_ago * DAY
    os.utime(path, (t, t))
    return len(data)


def count(d):
    return sum(len(os.listdir(os.path.join(d, s))) for s in ("new", "cur"))


def restart(inst, days_ahead):
    """imapd again, its clock days_ahead days in the future."""
    inst.stop("imapd")
    for k in ("LD_PRELOAD", "FAKETIME", "NO_FAKE_STAT",
              "DONT_FAKE_MONOTONIC"):
        inst.env.pop(k, None)
    if days_ahead:
        if not os.path.exists(FAKETIME):
            pytest.fail("libfaketime (Debian's faketime) is missing",
                        pytrace=False)
        inst.env.update(LD_PRELOAD=FAKETIME, FAKETIME="+%dd" % days_ahead,
                        NO_FAKE_STAT="1", DONT_FAKE_MONOTONIC="1")
    inst.start("imapd")


def wait_for(cond, timeout=10):
    """The session ends (and purges) after it answered LOGOUT."""
    end = time.time() + timeout
    while not cond():
        assert time.time() < end, "timed out"
        time.sleep(0.05)


def login(inst):
    m = imaplib.IMAP4(inst.address, inst.ports["imap"], timeout=20)
    m.starttls(ssl_context=tls_ctx())
    m.login(inst.login, inst.password)
    return m


def messages(m, box):
    typ, data = m.status(box, "(MESSAGES)")
    assert typ == "OK"
    g = STATUS.match(data[0])
    assert g, data
    return int(g.group(2))


def quota(m):
    typ, data = m.getquota('""')
    assert typ == "OK"
    g = QUOTA.match(data[0])
    assert g, data
    return [int(x) for x in g.groups()]


def make_account(suite_build, prefix):
    settings = {"IMAP_EMPTYTRASH": "Trash:7,INBOX.Sent:30"}
    if prefix is not None:
        settings["IMAP_NAMESPACE_PREFIX"] = prefix
    inst = start(suite_build, settings)
    try:
        return (inst,) + fill(inst)
    except BaseException:
        stop(inst)
        raise


def fill(inst):
    md = inst.maildir
    folder(md, None)
    trash, sent, work = (folder(md, n) for n in ("Trash", "Sent", "Work"))
    sizes = {}
    # Trash: fresh mtime (trashed today from a new message) and one
    # whose mtime is 60 days old: only the ctime counts, both go alike
    sizes["t1"] = put(trash, "t1")
    sizes["t2"] = put(trash, "t2", mtime_days_ago=60)
    # Sent (counts in the quota) and Work (not in the setting)
    sizes["s1"] = put(sent, "s1", mtime_days_ago=60)
    sizes["s2"] = put(sent, "s2")
    sizes["w1"] = put(work, "w1", mtime_days_ago=400)
    sizes["i1"] = put(md, "i1", mtime_days_ago=400)
    counted = [sizes[k] for k in ("s1", "s2", "w1", "i1")]
    with open(os.path.join(md, "maildirsize"), "w") as f:
        f.write("1000000S,1000C\n%12d %12d\n" % (sum(counted),
                                                 len(counted)))
    own(md)
    return sizes, (trash, sent, work)


@pytest.mark.parametrize("prefix", [None, "INBOX."])
def test_emptytrash_at_login(suite_build, prefix):
    inst, sizes, (trash, sent, work) = make_account(suite_build, prefix)
    p = prefix or ""
    try:
        md = inst.maildir
        # today: nothing is old by its ctime, even with an old mtime
        m = login(inst)
        assert messages(m, p + "Trash") == 2
        assert messages(m, p + "Sent") == 2
        before = quota(m)
        m.logout()
        assert (count(trash), count(sent), count(work), count(md)) == \
            (2, 2, 1, 1)

        # 10 days on: Trash (7 days) is emptied at login, Sent (30) not
        restart(inst, 10)
        m = login(inst)
        typ, data = m.select(p + "Trash")
        assert typ == "OK" and data == [b"0"]
        assert messages(m, p + "Sent") == 2
        # Trash is outside the quota: its deletion changes nothing
        assert quota(m) == before
        # logout purges too: a message put in Trash now is, to this
        # imapd 10 days ahead, 10 days old
        typ, _ = m.append(p + "Trash", None, None,
                          MSG.replace(b"\n", b"\r\n") % (b"new", b"y"))
        assert typ == "OK"
        assert messages(m, p + "Trash") == 1
        m.logout()
        wait_for(lambda: count(trash) == 0)
        assert (count(sent), count(work), count(md)) == (2, 1, 1)

        # 31 days on: Sent goes too, and frees its messages' quota
        restart(inst, 31)
        m = login(inst)
        assert messages(m, p + "Sent") == 0
        assert messages(m, p + "Work") == 1
        assert messages(m, "INBOX") == 1
        after = quota(m)
        freed = sizes["s1"] + sizes["s2"]
        used = sizes["w1"] + sizes["i1"]
        assert after[0] == (used + 1023) // 1024
        assert after[2] == before[2] - 2 == 2
        m.logout()
        with open(os.path.join(md, "maildirsize")) as f:
            lines = f.read().splitlines()
        assert lines[-1].split() == [str(-freed), "-2"]
        assert count(trash) == 0 and count(sent) == 0
    finally:
        stop(inst)


def test_emptytrash_off(suite_build):
    """IMAP_EMPTYTRASH="" keeps everything, however old."""
    inst = start(suite_build, {"IMAP_EMPTYTRASH": ""})
    try:
        trash = folder(inst.maildir, "Trash")
        put(trash, "t1", mtime_days_ago=60)
        own(inst.maildir)
        restart(inst, 100)
        m = login(inst)
        assert messages(m, "Trash") == 1
        m.logout()
    finally:
        stop(inst)


def test_emptytrash_bad_setting(suite_build):
    """A malformed IMAP_EMPTYTRASH is a settings error: imapd does not
    start, and says why."""
    inst = start(suite_build)
    try:
        inst.stop("imapd")
        with open(inst.path("etc", "imapd"), "a") as f:
            f.write('IMAP_EMPTYTRASH="Trash:seven"\n')
        r = inst.run("imapd", check=False, timeout=20)
        assert r.returncode != 0
        assert "IMAP_EMPTYTRASH" in r.stderr
    finally:
        stop(inst)
