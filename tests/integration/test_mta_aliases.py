"""test_mta_aliases.py: aliases end to end: etc/aliases (a folder of
files) compiled by makealiases into aliases.dat, expanded by submit when
sendmail queues a message, delivered by courierd; lists de-duplicated,
:include: files, program and mailbox aliases run as aliasdir's owner,
qmail-style virtual domains, errors with file and line."""

import os
import pwd
import shutil
import tempfile
import time

import pytest

from conftest import make_instance
from test_mta import (control, dead_route, maildir_messages, queue_empty,
                      queued, sendmail, start, wait_for)


@pytest.fixture
def mta(suite_build):
    root = tempfile.mkdtemp(prefix="test-mta-al-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    inst = make_instance(suite_build, os.path.join(root, "instance"),
                         extra_args=extra)
    inst.program("courierd")
    inst.program("makealiases")
    inst.scratch = os.path.join(root, "scratch")
    os.mkdir(inst.scratch)
    os.chmod(inst.scratch, 0o777)
    try:
        yield inst
    finally:
        inst.stop_all()
        log = os.path.join(inst.var, "log", "courierd.log")
        if os.path.exists(log):
            print(open(log).read()[-3000:])
        shutil.rmtree(root, ignore_errors=True)


def write_alias(inst, name, text):
    with open(os.path.join(inst.etc, "aliases", name), "w") as f:
        f.write(text)


def subjects(inst):
    return sorted(m["Subject"] for m in maildir_messages(inst))


def test_setup_compiled_aliases(mta):
    # courier-setup ran makealiases: postmaster reaches the account
    assert os.path.exists(os.path.join(mta.etc, "aliases.dat"))
    st = os.stat(os.path.join(mta.etc, "aliasdir"))
    assert st.st_uid == os.stat(mta.maildir).st_uid
    start(mta)
    sendmail(mta, "Subject: to postmaster\n\nx\n", "-f", "<>", "postmaster")
    msgs = wait_for(lambda: maildir_messages(mta), what="delivery")
    assert msgs[0]["Delivered-To"] == mta.login
    assert queue_empty(mta) or wait_for(lambda: queue_empty(mta))


def test_lists_dedup_and_include(mta):
    local = mta.account
    incl = os.path.join(mta.scratch, "staff.list")
    with open(incl, "w") as f:
        f.write("# the staff\n%s, %s-b\n%s-c@%s\n" % (
            mta.login, local, local, mta.domain))
    write_alias(mta, "lists",
                "team: %s, %s-a,\n  %s,  %s\n"
                "everyone: team, :include:%s\n"
                "Big@%s: everyone, team, %s-A@%s\n" % (
                    mta.login, local, mta.login.upper(), local, incl,
                    mta.domain, local, mta.domain))
    for ext in ("a", "b", "c"):
        with open(os.path.join(mta.home, ".courier-" + ext), "w") as f:
            f.write("| cat >>%s/%s\n" % (mta.scratch, ext))
        os.chown(os.path.join(mta.home, ".courier-" + ext),
                 os.stat(mta.home).st_uid, os.stat(mta.home).st_gid)
    r = mta.run("makealiases", "-dump")
    assert "team: %s, %s-a, %s\n" % (mta.login, local, local) in r.stdout
    mta.run("makealiases")
    start(mta)
    sendmail(mta, "Subject: big\n\nx\n", "-f", "<>", "big@" + mta.domain)
    wait_for(lambda: maildir_messages(mta), what="delivery")
    for ext in ("a", "b", "c"):
        path = os.path.join(mta.scratch, ext)
        wait_for(lambda: os.path.exists(path), what="copy " + ext)
    wait_for(lambda: queue_empty(mta), what="empty queue")
    time.sleep(0.5)
    # one copy each: the account once (three spellings), a, b, c once
    assert subjects(mta) == ["big"]
    for ext in ("a", "b", "c"):
        text = open(os.path.join(mta.scratch, ext)).read()
        assert text.count("Subject: big") == 1, ext


def test_program_and_mailbox_alias(mta):
    out = os.path.join(mta.scratch, "prog.out")
    mbox = os.path.join(mta.scratch, "archive.mbox")
    write_alias(mta, "programs",
                "robot: \"|cat >%s; echo done, really >>%s\", %s, %s\n" % (
                    out, out, mbox, mta.login))
    mta.run("makealiases")
    st = os.stat(os.path.join(mta.etc, "aliases.dir"))
    assert st.st_uid == os.stat(os.path.join(mta.etc, "aliasdir")).st_uid
    start(mta)
    sendmail(mta, "Subject: to the robot\n\nhello robot\n", "-f", mta.login,
             "robot")
    wait_for(lambda: os.path.exists(out) and "done, really" in open(out).read(),
             what="the program's output")
    wait_for(lambda: os.path.exists(mbox), what="the mailbox")
    wait_for(lambda: maildir_messages(mta), what="the account's copy")
    wait_for(lambda: queue_empty(mta), what="empty queue")
    assert "hello robot" in open(out).read()
    assert "Subject: to the robot" in open(mbox).read()
    assert open(mbox).read().startswith("From ")
    if os.getuid() == 0:
        # run as aliasdir's owner, never root
        assert os.stat(out).st_uid == pwd.getpwnam("nobody").pw_uid
        assert os.stat(mbox).st_uid == pwd.getpwnam("nobody").pw_uid


def test_virtual_domain(mta):
    control(mta, "hosteddomains", "%s\nvirt.test" % mta.domain)
    mta.run("makehosteddomains")
    write_alias(mta, "virtual", "@virt.test: %s\nboss@virt.test: %s\n" % (
        mta.account, mta.login))
    with open(os.path.join(mta.home, ".courier-default"), "w") as f:
        f.write("| cat >>%s/vd.$EXT\n" % mta.scratch)
    mta.run("makealiases")
    start(mta)
    sendmail(mta, "Subject: virtual\n\nx\n", "-f", "<>", "Sales@virt.test")
    sendmail(mta, "Subject: boss\n\nx\n", "-f", "<>", "boss@virt.test")
    wait_for(lambda: os.path.exists(os.path.join(mta.scratch, "vd.Sales")),
             what="delivery to prefix-local via .courier-default")
    wait_for(lambda: maildir_messages(mta), what="boss's copy")
    assert subjects(mta) == ["boss"]


def test_errors_with_file_and_line(mta):
    before = os.stat(os.path.join(mta.etc, "aliases.dat"))
    write_alias(mta, "broken",
                "good: %s\nno colon here\nbad: <x@y\n"
                "inc: :include:/nonexistent/list\n" % mta.login)
    r = mta.run("makealiases", check=False)
    assert r.returncode == 1
    assert "aliases/broken:2: missing ':'" in r.stderr
    assert "aliases/broken:3: malformed address" in r.stderr
    assert "aliases/broken:4: :include:/nonexistent/list" in r.stderr
    # nothing replaced
    after = os.stat(os.path.join(mta.etc, "aliases.dat"))
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino,
                                                    after.st_mtime_ns)
    r = mta.run("makealiases", "-chk", check=False)
    assert r.returncode == 1
    # a loop is refused at submit time with a clear error
    os.unlink(os.path.join(mta.etc, "aliases", "broken"))
    write_alias(mta, "loop", "".join(
        "l%d: l%d\n" % (i, i + 1) for i in range(20)))
    mta.run("makealiases")
    r = sendmail(mta, "Subject: x\n\ny\n", "-f", "<>", "l0", check=False)
    assert r.returncode != 0 and "too deep" in r.stderr
    # an alias that lists itself and a file replaced while submit runs
    write_alias(mta, "loop", "me2: me2, %s\n" % mta.login)
    mta.run("makealiases")
    start(mta)
    sendmail(mta, "Subject: self\n\ny\n", "-f", "<>", "me2")
    wait_for(lambda: subjects(mta) == ["self"], what="the account's copy")
    wait_for(lambda: queue_empty(mta), what="empty queue")


def test_makehosteddomains(mta):
    assert os.path.exists(os.path.join(mta.etc, "hosteddomains.dat"))
    os.unlink(os.path.join(mta.etc, "hosteddomains"))
    os.mkdir(os.path.join(mta.etc, "hosteddomains"))
    control(mta, "hosteddomains/main", mta.domain.upper())
    control(mta, "hosteddomains/more", "# aliases\nother.test\t%s\n"
            "bad domain here\nloose.test\tnowhere.test" % mta.domain)
    r = mta.run("makehosteddomains", check=False)
    assert r.returncode == 1
    assert "hosteddomains/more:3: not a domain name" in r.stderr
    assert "hosteddomains/more:4: loose.test is an alias of " \
        "nowhere.test, which is not listed" in r.stderr
    control(mta, "hosteddomains/more", "other.test\t%s" % mta.domain)
    mta.run("makehosteddomains")
    dead_route(mta, "ignored.test")
    start(mta)
    # the text is not read any more: only the compiled file counts
    control(mta, "hosteddomains/zzz", "ignored.test")
    sendmail(mta, "Subject: via the domain alias\n\nx\n", "-f", "<>",
             "%s@other.test" % mta.account)
    msgs = wait_for(lambda: maildir_messages(mta), what="delivery")
    assert msgs[0]["Subject"] == "via the domain alias"
    sendmail(mta, "Subject: x\n\nx\n", "-f", "<>",
             "%s@ignored.test" % mta.account)
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    wait_for(lambda: any("4.4.1" in l for l in open(ctl).read().splitlines()),
             what="the remote deferral")


def test_aliasdir_catch_all(mta):
    """etc/aliasdir handles addresses without an account: .courier-NAME
    for one, .courier-default for the rest, as aliasdir's owner."""
    aliasdir = os.path.join(mta.etc, "aliasdir")
    box = os.path.join(mta.scratch, "sales.mbox")
    with open(os.path.join(aliasdir, ".courier-sales"), "w") as f:
        f.write("%s\n" % box)
    start(mta)
    domain = mta.domain
    # before a .courier-default: an unknown address bounces
    sendmail(mta, "Subject: early\n\nx\n", "-f", "<>", "who@" + domain)
    wait_for(lambda: queue_empty(mta), what="the bounce")
    assert maildir_messages(mta) == []
    with open(os.path.join(aliasdir, ".courier-default"), "w") as f:
        f.write("&%s\n" % mta.login)
    sendmail(mta, "Subject: to sales\n\nx\n", "-f", "<>", "Sales@" + domain)
    sendmail(mta, "Subject: to anyone\n\nx\n", "-f", "<>",
             "anyone.else@" + domain)
    wait_for(lambda: os.path.exists(box) and os.path.getsize(box) > 0,
             what="the sales mailbox")
    assert "Subject: to sales" in open(box).read()
    assert os.stat(box).st_uid == os.stat(aliasdir).st_uid
    m = wait_for(lambda: maildir_messages(mta), what="the catch-all")
    assert [x["Subject"] for x in m] == ["to anyone"]
    assert m[0].get_all("Delivered-To") == [mta.login,
                                            "anyone.else@" + domain]
    # an account still gets its own mail, not the catch-all's
    sendmail(mta, "Subject: mine\n\nx\n", "-f", "<>", mta.login)
    wait_for(lambda: len(maildir_messages(mta)) == 2, what="own mail")
    mine = [x for x in maildir_messages(mta) if x["Subject"] == "mine"]
    assert mine[0].get_all("Delivered-To") == [mta.login]


def report_blocks(m):
    """The per-recipient blocks of a DSN's message/delivery-status."""
    return list(m.iter_parts())[1].get_payload()[1:]


def test_expanded_dsn(mta):
    """RFC 3461 5.2.7.3: NOTIFY=SUCCESS to an alias of several recipients
    gives one "expanded" notice for the alias, and the recipients do not
    inherit SUCCESS; a single-recipient alias passes NOTIFY through."""
    with open(os.path.join(mta.home, ".courier-default"), "w") as f:
        f.write("./Maildir/\n")
    local, domain = mta.login.split("@")
    write_alias(mta, "lists",
                "team: %s-a, %s-b\nsolo: %s-c\nmixed: %s-d, nosuch\n"
                % (local, local, local, local))
    mta.run("makealiases")
    start(mta)

    def dsns():
        return [m for m in maildir_messages(mta)
                if m.get_content_type() == "multipart/report"]

    sendmail(mta, "Subject: to team\n\nx\n", "-N", "success", "-f",
             mta.login, "team@" + domain)
    wait_for(lambda: dsns(), what="the expanded DSN")
    wait_for(lambda: queue_empty(mta), what="empty queue")
    time.sleep(1)
    d = dsns()
    assert len(d) == 1
    blocks = report_blocks(d[0])
    assert len(blocks) == 1
    assert blocks[0]["Action"] == "expanded"
    assert blocks[0]["Final-Recipient"] == "rfc822; team@" + domain
    assert blocks[0]["Status"] == "2.0.0"
    # both copies arrived, and neither sent a "delivered" notice
    got = sorted(m["Delivered-To"] for m in maildir_messages(mta)
                 if m["Subject"] == "to team")
    assert got == ["%s-a@%s" % (local, domain), "%s-b@%s" % (local, domain)]

    # a single-recipient alias: NOTIFY passes through ("delivered")
    sendmail(mta, "Subject: to solo\n\nx\n", "-N", "success", "-f",
             mta.login, "solo@" + domain)
    wait_for(lambda: len(dsns()) == 2, what="the solo DSN")
    solo = [b for m in dsns() for b in report_blocks(m)
            if b["Action"] == "delivered"]
    assert solo[0]["Final-Recipient"] == "rfc822; %s-c@%s" % (local, domain)
    assert solo[0]["Original-Recipient"] == "rfc822;solo@" + domain

    # SUCCESS,FAILURE: expanded for the alias, failure still reported
    sendmail(mta, "Subject: to mixed\n\nx\n", "-N", "success,failure",
             "-f", mta.login, "mixed@" + domain)
    wait_for(lambda: len(dsns()) == 4, what="expanded and failed DSNs")
    wait_for(lambda: queue_empty(mta), what="empty queue")
    time.sleep(1)
    blocks = [b for m in dsns() for b in report_blocks(m)]
    assert sorted(b["Action"] for b in blocks) == [
        "delivered", "expanded", "expanded", "failed"]
    failed = [b for b in blocks if b["Action"] == "failed"][0]
    assert failed["Final-Recipient"] == "rfc822; nosuch@" + domain
    assert failed["Original-Recipient"] == "rfc822;mixed@" + domain
    assert len(dsns()) == 4
