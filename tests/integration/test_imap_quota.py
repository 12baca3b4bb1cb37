"""test_imap_quota.py: QUOTA (RFC 9208) on the Maildir++ quota in imapd,
with Python's imaplib over the stdin/stdout tunnel: GETQUOTAROOT,
GETQUOTA, [OVERQUOTA] on APPEND, COPY and MOVE, usage that follows
APPEND, COPY and EXPUNGE, and Trash outside the quota.  Responses are
checked against the RFC grammar."""

import imaplib
import os
import re

from maildirs import make_maildir
from test_imap_qresync import Raw, put  # noqa: F401

QUOTA = re.compile(rb'^\* QUOTA "" \((STORAGE \d+ \d+)?( ?MESSAGE \d+ \d+)?\)$')
QUOTAROOT = re.compile(rb'^\* QUOTAROOT ("[^"]*"|[^\s"]+)( "")?$')
# RFC 9208 section 5.2 with astrings (quoted, or atoms without quoting)
SHARED_QUOTAROOT = re.compile(
    rb'^\* QUOTAROOT ("[^"\\]*"|[^\s"(){%*\\]+)( ("[^"\\]*"|[^\s"(){]+))*$')
SHARED_QUOTA = re.compile(
    rb'^\* QUOTA ("[^"\\]*"|[^\s"(){]+) \(((STORAGE|MESSAGE) \d+ \d+'
    rb'( (STORAGE|MESSAGE) \d+ \d+)*)?\)$')


def usage(lines):
    for line in lines:
        m = QUOTA.match(line)
        if m:
            nums = [int(x) for x in re.findall(rb"\d+", line)]
            return nums
    raise AssertionError("no QUOTA in %r" % lines)


def test_no_quota(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    a = Raw(imapd, md)
    lines, _ = a.cmd("CAPABILITY")
    assert b"QUOTA" in lines[0].split()
    assert b"QUOTA=RES-STORAGE" in lines[0].split()
    lines, _ = a.cmd("GETQUOTAROOT INBOX")
    assert lines == [b"* QUOTAROOT INBOX"]
    a.cmd('GETQUOTA ""', "NO")
    a.close()


def test_quota(imapd, tmp_path):
    md = make_maildir(str(tmp_path / "Maildir"))
    make_maildir(os.path.join(md, ".Trash"))
    make_maildir(os.path.join(md, ".Work"))
    put(md, b"Subject: a\n\n" + b"x" * 988 + b"\n")	# 1000 bytes
    with open(os.path.join(md, "maildirsize"), "w") as f:
        f.write("3000S,4C\n%12d %12d\n" % (1000, 1))
    a = Raw(imapd, md)
    lines, _ = a.cmd("GETQUOTAROOT INBOX")
    assert QUOTAROOT.match(lines[0]) and lines[0].endswith(b' ""')
    assert usage(lines[1:]) == [1, 2, 1, 4]
    lines, _ = a.cmd('GETQUOTA ""')
    assert usage(lines) == [1, 2, 1, 4]
    a.cmd('GETQUOTA "other"', "NO")
    a.cmd("GETQUOTAROOT Nope", "NO")
    # Trash is outside the quota root
    lines, _ = a.cmd("GETQUOTAROOT Trash")
    assert lines == [b"* QUOTAROOT Trash"]
    a.close()

    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    msg = b"Subject: b\r\n\r\n" + b"y" * 984 + b"\r\n"	# 1000 bytes
    typ, data = m.append("Work", None, None, msg)
    assert typ == "OK"
    # 2000 + 1000 fits exactly; one more byte does not
    typ, data = m.append("INBOX", None, None, msg)
    assert typ == "OK"
    typ, data = m.append("INBOX", None, None, b"z\r\n")
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA] ")
    # Trash takes anything
    typ, data = m.append("Trash", None, None, msg * 5)
    assert typ == "OK"
    m.select("INBOX")
    typ, data = m.copy("1", "Work")
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA] ")
    # MOVE within the quota root changes nothing; to Trash frees space
    typ, data = m._simple_command("MOVE", "1", "Work")
    assert typ == "OK"
    typ, data = m._simple_command("MOVE", "1", "Trash")
    assert typ == "OK"
    typ, data = m.getquota('""')
    assert typ == "OK" and data == [b'"" (STORAGE 2 2 MESSAGE 2 4)']
    # EXPUNGE gives space back
    m.select("Work")
    m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
    m.expunge()
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    assert data == [[b'INBOX ""'], [b'"" (STORAGE 0 2 MESSAGE 0 4)']]
    m.logout()


def test_quota_of_a_shared_folder(imapd, tmp_path):
    """GETQUOTAROOT on another account's virtual shared folder gives the
    owner's quota (his maildirsize) as the root "#shared.OWNER" (RFC 9208
    section 3.2: a server may have a quota root per account), which
    GETQUOTA then answers for; only for those who may see a folder of
    his (ACL l or r), and his Trash is outside it as ours is.

      quotaroot_response = "QUOTAROOT" SP mailbox *(SP quota-root-name)
      quota_response = "QUOTA" SP quota-root-name SP quota-list
                                             (RFC 9208 section 5.2)"""
    from test_imap_acl import MSG as AMSG, Raw as ARaw, make_folder
    from test_imap_acl import put as aput
    from test_imap_shared import Site

    class QRaw(ARaw):
        """test_imap_acl's session, with QUOTA and QUOTAROOT lines
        checked against RFC 9208's grammar instead."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.untagged = re.compile(rb"(?:%s)|(?:%s)" % (
                SHARED_QUOTAROOT.pattern, SHARED_QUOTA.pattern))

    def login(name):
        return QRaw(imapd, os.path.join(site.homes[name], "Maildir"), name,
                    env={"COURIER_INSTANCE": site.inst})

    site = Site(tmp_path)
    bob_md = site.account("bob")
    alice_md = site.account("alice")
    carol_md = site.account("carol")
    site.index(["alice", "bob", "carol"])
    work = make_folder(bob_md, "Work")
    make_folder(bob_md, "Trash")
    aput(work, AMSG)
    with open(os.path.join(bob_md, "maildirsize"), "w") as f:
        f.write("10240S,10C\n%12d %12d\n" % (4096, 3))
    with open(os.path.join(alice_md, "maildirsize"), "w") as f:
        f.write("5120S\n%12d %12d\n" % (1024, 1))
    del carol_md
    bob = site.login(imapd, "bob")
    bob.cmd("SETACL Work alice lr")
    bob.cmd("SETACL Trash alice lr")
    bob.close()

    alice = login("alice")
    lines, _ = alice.cmd('GETQUOTAROOT "#shared.bob.Work"')
    assert lines == [b'* QUOTAROOT #shared.bob.Work "#shared.bob"',
                     b'* QUOTA "#shared.bob" (STORAGE 4 10 MESSAGE 3 10)']
    lines, _ = alice.cmd('GETQUOTA "#shared.bob"')
    assert lines == [b'* QUOTA "#shared.bob" (STORAGE 4 10 MESSAGE 3 10)']
    # her own root is still hers
    lines, _ = alice.cmd("GETQUOTAROOT INBOX")
    assert lines == [b'* QUOTAROOT INBOX ""',
                     b'* QUOTA "" (STORAGE 1 5)']
    # bob's Trash: no quota root, like anyone's
    lines, _ = alice.cmd('GETQUOTAROOT "#shared.bob.Trash"')
    assert lines == [b'* QUOTAROOT #shared.bob.Trash']
    # a folder of his she may not see, an account alone, a folder
    # that is not there, someone who shares nothing with her
    alice.cmd('GETQUOTAROOT "#shared.bob.INBOX"', "NO")
    alice.cmd('GETQUOTAROOT "#shared.bob"', "NO")
    alice.cmd('GETQUOTAROOT "#shared.bob.Nope"', "NO")
    alice.cmd('GETQUOTA "#shared.carol"', "NO")
    alice.cmd('GETQUOTA "#shared.bob.Work"', "NO")
    alice.cmd('GETQUOTA "#shared.nobody"', "NO")
    alice.close()

    # carol sees none of bob's folders: no root of his for her
    carol = login("carol")
    carol.cmd('GETQUOTAROOT "#shared.bob.Work"', "NO")
    carol.cmd('GETQUOTA "#shared.bob"', "NO")
    carol.close()
