"""test_imap_layout.py: a maildir as Courier leaves it (Maildir++ folders
.Sent and .Work.Projects, courierimapsubscribed, courierimapuiddb,
courierimapkeywords) seen through Python's imaplib over the stdin/stdout
tunnel, with the default namespace (no prefix: folders at the top, as
issue 6 asks) and with IMAP_NAMESPACE_PREFIX="INBOX." (Courier-IMAP's
folder names, so clients need no resync after a migration).  Settings come from
$COURIER_INSTANCE/etc/imapd; an instance without one gets the defaults."""

import imaplib
import os
import re


# RFC 3501 LIST/LSUB response, enough to check what we send.
LIST_LINE = re.compile(rb'^\((\\[A-Za-z]+( \\[A-Za-z]+)*)?\) "\." '
                       rb'("([^"\\]|\\.)*"|[^ ()"{]+)$')

MSG = b"From: a@example.test\nSubject: %d\n\nbody %d\n"

UIDVALIDITY = 1187654321


def maildir(path):
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    return path


def courier_maildir(root):
    """The maildir of a Courier-IMAP user: returns (path, base names of
    the messages of Work.Projects with their Courier UIDs)."""
    md = maildir(os.path.join(root, "Maildir"))
    for f in ("Sent", "Work.Projects"):
        sub = maildir(os.path.join(md, "." + f))
        open(os.path.join(sub, "maildirfolder"), "w").close()
    # "Work" is only a parent of Work.Projects, as Courier makes it
    wp = os.path.join(md, ".Work.Projects")
    msgs = []
    for i, uid in enumerate((17, 42, 1000)):
        base = "1700000000.M%dP1.courier" % i
        with open(os.path.join(wp, "cur", base + ":2,S"), "wb") as f:
            f.write(MSG % (i, i))
        msgs.append((base, uid))
    with open(os.path.join(wp, "courierimapuiddb"), "w") as f:
        f.write("1 %d 1001\n" % UIDVALIDITY)
        for base, uid in msgs:
            f.write("%d %s\n" % (uid, base))
    kw = os.path.join(wp, "courierimapkeywords")
    os.makedirs(kw)
    with open(os.path.join(kw, ":list"), "w") as f:
        f.write("$Label1\nproject\n\n%s:0 1\n%s:1\n" %
                (msgs[0][0], msgs[2][0]))
    with open(os.path.join(md, "courierimapsubscribed"), "w") as f:
        f.write("INBOX\nINBOX.Sent\nINBOX.Work.Projects\n")
    return md, msgs


def instance_dir(root, prefix):
    """An instance folder whose etc/imapd sets the prefix (None: no
    etc/imapd at all, the compiled-in defaults)."""
    inst = os.path.join(root, "instance")
    os.makedirs(os.path.join(inst, "etc"), exist_ok=True)
    if prefix is not None:
        with open(os.path.join(inst, "etc", "imapd"), "w") as f:
            f.write('IMAP_NAMESPACE_PREFIX="%s"\n' % prefix)
    return inst


def session(imapd, md, inst):
    os.environ["COURIER_INSTANCE"] = inst
    try:
        return imaplib.IMAP4_stream("%s %s" % (imapd, md))
    finally:
        del os.environ["COURIER_INSTANCE"]


def names_of(data):
    out = {}
    for line in data:
        assert LIST_LINE.match(line), line
        name = line.rsplit(b" ", 1)[1].strip(b'"')
        out[name] = line.split(b")", 1)[0][1:].split()
    return out


def subscriptions(md):
    with open(os.path.join(md, "courierimapsubscribed")) as f:
        return f.read().split("\n")


def test_courier_layout_with_inbox_prefix(imapd, tmp_path):
    md, msgs = courier_maildir(str(tmp_path))
    m = session(imapd, md, instance_dir(str(tmp_path), "INBOX."))
    typ, data = m.namespace()
    assert typ == "OK"
    assert re.match(rb'^\(\("INBOX\." "\."\)\) NIL (NIL|\(\("#shared\." '
                    rb'"\."\)\))$', data[0]), data
    typ, data = m.list()
    assert typ == "OK"
    names = names_of(data)
    assert set(names) == {b"INBOX", b"INBOX.Sent", b"INBOX.Work",
                          b"INBOX.Work.Projects"}
    assert b"\\HasChildren" in names[b"INBOX"]
    assert b"\\Sent" in names[b"INBOX.Sent"]
    assert b"\\HasNoChildren" in names[b"INBOX.Sent"]
    assert b"\\Noselect" in names[b"INBOX.Work"]
    assert b"\\HasChildren" in names[b"INBOX.Work"]
    # one level at a time, as clients walk the tree
    assert set(names_of(m.list('""', "%")[1])) == {b"INBOX"}
    assert set(names_of(m.list('""', "INBOX.%")[1])) == {
        b"INBOX.Sent", b"INBOX.Work"}
    assert set(names_of(m.list("INBOX.Work.", "%")[1])) == {
        b"INBOX.Work.Projects"}
    typ, data = m.lsub()
    assert set(names_of(data)) == {b"INBOX", b"INBOX.Sent",
                                   b"INBOX.Work.Projects"}
    # Courier's UIDs and keywords
    typ, data = m.select("INBOX.Work.Projects")
    assert (typ, data) == ("OK", [b"3"])
    assert m.untagged_responses["UIDVALIDITY"] == [str(UIDVALIDITY).encode()]
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    got = sorted(re.findall(rb"UID (\d+)", b" ".join(data)))
    assert sorted(got) == sorted(str(u).encode() for _, u in msgs)
    typ, data = m.uid("SEARCH", "KEYWORD", "project")
    assert data == [b"17 1000"]
    typ, data = m.uid("SEARCH", "KEYWORD", "$Label1")
    assert data == [b"17"]
    typ, data = m.status("INBOX.Work.Projects", "(MESSAGES UIDNEXT)")
    assert data == [b"INBOX.Work.Projects (MESSAGES 3 UIDNEXT 1001)"]
    # CREATE INBOX.New makes the Maildir++ folder .New
    assert m.create("INBOX.New")[0] == "OK"
    assert os.path.isfile(os.path.join(md, ".New", "maildirfolder"))
    for d in ("new", "cur", "tmp"):
        assert os.path.isdir(os.path.join(md, ".New", d))
    # names outside the namespace are refused with a reason
    typ, data = m.create("Other")
    assert typ == "NO" and b"namespace" in data[0].lower(), data
    assert m.select("Sent")[0] == "NO"
    assert m.delete("Sent")[0] == "NO"
    assert os.path.isdir(os.path.join(md, ".Sent"))
    typ, data = m.rename("INBOX.New", "Elsewhere")
    assert typ == "NO" and b"namespace" in data[0].lower(), data
    # the subscriptions file keeps Courier's format
    assert m.subscribe("INBOX.New")[0] == "OK"
    assert "INBOX.New" in subscriptions(md)
    assert m.unsubscribe("INBOX.Sent")[0] == "OK"
    assert "INBOX.Sent" not in subscriptions(md)
    # APPEND, COPY and RENAME inside the namespace
    assert m.append("INBOX.New", None, None, MSG % (9, 9))[0] == "OK"
    assert m.select("INBOX.Work.Projects")[0] == "OK"
    assert m.copy("1", "INBOX.New")[0] == "OK"
    assert m.status("INBOX.New", "(MESSAGES)")[1] == [
        b"INBOX.New (MESSAGES 2)"]
    m.close()
    assert m.rename("INBOX.New", "INBOX.Work.New")[0] == "OK"
    assert os.path.isdir(os.path.join(md, ".Work.New"))
    assert set(names_of(m.list('""', "INBOX.Work.*")[1])) == {
        b"INBOX.Work.New", b"INBOX.Work.Projects"}
    assert m.delete("INBOX.Work.New")[0] == "OK"
    assert not os.path.exists(os.path.join(md, ".Work.New"))
    # no folder named INBOX, no way into #shared from the personal side
    assert m.create("INBOX.INBOX")[0] == "NO"
    assert m.create("INBOX.inbox.x")[0] == "NO"
    assert m.create('"INBOX.#shared.x"')[0] == "NO"
    assert not os.path.exists(os.path.join(md, ".INBOX"))
    # one made by hand is not listed either (it could not be selected)
    maildir(os.path.join(md, ".INBOX"))
    assert b"INBOX.INBOX" not in names_of(m.list()[1])
    m.logout()


def test_rename_inbox(imapd, tmp_path):
    """RENAME INBOX moves its messages (flags and keywords with them)
    into a new folder and leaves INBOX empty, its subfolders alone."""
    md, _ = courier_maildir(str(tmp_path))
    for i, info in ((1, ":2,S"), (2, ":2,F")):
        with open(os.path.join(md, "cur", "1700000100.M%dP2.x%s" %
                               (i, info)), "wb") as f:
            f.write(MSG % (i, i))
    m = session(imapd, md, instance_dir(str(tmp_path), "INBOX."))
    assert m.select("INBOX") == ("OK", [b"2"])
    uidnext = int(m.untagged_responses["UIDNEXT"][-1])
    assert m.store("2", "+FLAGS", "(project)")[0] == "OK"
    m.close()
    assert m.rename("INBOX", "Old")[0] == "NO"
    assert m.rename("INBOX", "INBOX.Sent")[0] == "NO"
    assert m.rename("INBOX", "INBOX")[0] == "NO"
    assert m.rename("INBOX", "INBOX.Old")[0] == "OK"
    assert m.status("INBOX", "(MESSAGES UIDNEXT)")[1] == [
        b"INBOX (MESSAGES 0 UIDNEXT %d)" % uidnext]
    assert m.select("INBOX.Old") == ("OK", [b"2"])
    typ, data = m.fetch("1:*", "(FLAGS)")
    flags = b" ".join(data)
    assert b"\\Seen" in data[0] and b"\\Flagged" in data[1], flags
    assert b"project" in data[1], flags
    # the other folders are where they were
    assert m.select("INBOX.Work.Projects") == ("OK", [b"3"])
    assert os.path.isfile(os.path.join(md, ".Old", "maildirfolder"))
    m.logout()


def test_top_level_layout_by_default(imapd, tmp_path):
    """Issue 6: by default the personal namespace has no INBOX. prefix;
    a Courier maildir's folders show at the top."""
    md, _ = courier_maildir(str(tmp_path))
    m = session(imapd, md, instance_dir(str(tmp_path), None))
    typ, data = m.namespace()
    assert typ == "OK"
    assert re.match(rb'^\(\("" "\."\)\) NIL (NIL|\(\("#shared\." '
                    rb'"\."\)\))$', data[0]), data
    names = names_of(m.list()[1])
    assert set(names) == {b"INBOX", b"Sent", b"Work", b"Work.Projects"}
    assert b"\\HasNoChildren" in names[b"INBOX"]
    assert set(names_of(m.list('""', "%")[1])) == {b"INBOX", b"Sent",
                                                   b"Work"}
    # the same subscriptions file, read and written the same way
    assert set(names_of(m.lsub()[1])) == {b"INBOX", b"Sent",
                                          b"Work.Projects"}
    typ, data = m.select("Work.Projects")
    assert (typ, data) == ("OK", [b"3"])
    typ, data = m.uid("SEARCH", "ALL")
    assert data == [b"17 42 1000"]
    assert m.create("New")[0] == "OK"
    assert os.path.isfile(os.path.join(md, ".New", "maildirfolder"))
    assert m.subscribe("New")[0] == "OK"
    assert "INBOX.New" in subscriptions(md)
    # INBOX.x is not a folder name in this layout
    assert m.create("INBOX.Other")[0] == "NO"
    # RENAME INBOX (RFC 3501 6.3.5) in this layout too
    assert m.rename("INBOX", "Older")[0] == "OK"
    assert os.path.isfile(os.path.join(md, ".Older", "maildirfolder"))
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_setup_writes_the_prefix(suite_build, tmp_path):
    """courier-setup's etc/imapd says the prefix explicitly (the default,
    no prefix)."""
    from conftest import make_instance
    inst = make_instance(suite_build, tmp_path / "instance")
    assert inst.settings("imapd")["IMAP_NAMESPACE_PREFIX"] == ""


def test_inbox_is_the_parent_in_list_extended(imapd, tmp_path):
    """With the INBOX. prefix, LIST-EXTENDED sees INBOX as the parent of
    every folder: RECURSIVEMATCH reports it with CHILDINFO when only its
    folders are subscribed."""
    md, _ = courier_maildir(str(tmp_path))
    with open(os.path.join(md, "courierimapsubscribed"), "w") as f:
        f.write("INBOX.Sent\n")
    m = session(imapd, md, instance_dir(str(tmp_path), "INBOX."))
    typ, data = m._simple_command("LIST", "(SUBSCRIBED RECURSIVEMATCH)",
                                  '""', "%")
    assert typ == "OK"
    lines = m.untagged_responses.pop("LIST", [])
    assert lines == [b'(\\HasChildren) "." INBOX '
                     b'("CHILDINFO" ("SUBSCRIBED"))'], lines
    typ, data = m._simple_command("LIST", '""', "%", "RETURN",
                                  "(CHILDREN)")
    assert m.untagged_responses.pop("LIST", []) == [
        b'(\\HasChildren) "." INBOX']
    m.logout()


def test_lsub_percent_and_sibling_names(imapd, tmp_path):
    """LSUB "" "%" shows an unsubscribed parent of subscribed folders as
    \\Noselect (RFC 3501 6.3.9); a sibling whose name sorts between a
    folder and its children ("Work-old") does not hide the children."""
    md, _ = courier_maildir(str(tmp_path))
    for f in ("Work", "Work-old"):
        maildir(os.path.join(md, "." + f))
        open(os.path.join(md, "." + f, "maildirfolder"), "w").close()
    with open(os.path.join(md, "courierimapsubscribed"), "w") as f:
        f.write("INBOX.Work.Projects\n")
    m = session(imapd, md, instance_dir(str(tmp_path), "INBOX."))
    names = names_of(m.list()[1])
    assert b"\\HasChildren" in names[b"INBOX.Work"]
    assert b"\\HasNoChildren" in names[b"INBOX.Work-old"]
    assert m.lsub('""', "%")[1] == [b'(\\Noselect \\HasChildren) "." INBOX']
    assert m.lsub('""', "INBOX.%")[1] == [
        b'(\\Noselect \\HasChildren) "." INBOX.Work']
    assert m.lsub('""', "*")[1] == [
        b'(\\HasNoChildren) "." INBOX.Work.Projects']
    m.logout()
    # the same with the "" layout
    m = session(imapd, md, instance_dir(str(tmp_path), ""))
    assert m.lsub('""', "%")[1] == [b'(\\Noselect \\HasChildren) "." Work']
    assert b"\\HasChildren" in names_of(m.list()[1])[b"Work"]
    m.logout()
