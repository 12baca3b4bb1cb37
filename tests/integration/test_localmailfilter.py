"""test_localmailfilter.py: recipient-controlled filtering at SMTP time
(Courier's localmailfilter(7)) with smtplib, swaks and a raw client for
XEXDATA: with etc/maildropfilter, esmtpd runs each local account's
$HOME/.mailfilters/rcptfilter at RCPT (exit 0 accepts, 99 asks for the
content filter, 75 defers, anything else refuses, with the text the
filter echoes) and smtpfilter on the message at the end of DATA, as the
account (through the setuid helper mailfilterexec when run as root).
Recipients whose filters disagree: 558 per recipient for an EXDATA
client; without EXDATA the first recipient decides which kind (content
filtered or not) the transaction is for, the other kind gets 451, and
one smtpfilter's refusal refuses the message.  A filter with a syntax
error, or one that runs too long, defers; no etc/maildropfilter, no
filtering."""

import os
import smtplib
import subprocess

import pytest

from mtahelp import add_account, new_instance, remove
from test_esmtp_exdata import Filter, parse_558, queued, transaction
from test_mta import maildir_messages, wait_for


def queue_group(inst):
    st = os.stat(os.path.join(inst.var, "queue"))
    return st.st_gid


def setuid_helper(inst):
    """What courier-setup does as root: the helper setuid root and
    executable by the queue's group only."""
    helper = os.path.join(inst.build.prefix, "libexec", "courier",
                          "mailfilterexec")
    assert os.path.exists(helper), helper
    if os.getuid() == 0:
        os.chown(helper, 0, queue_group(inst))
        os.chmod(helper, 0o4750)
    return helper


@pytest.fixture
def lmf(suite_build):
    if not suite_build.prefix:
        pytest.skip("needs an installed tree (SUITE_PREFIX)")
    inst = new_instance(suite_build, "test-lmf-")
    inst.program("esmtpd")
    inst.program("maildrop")
    add_account(suite_build, inst, "bob")
    inst.bob = "bob@" + inst.domain
    inst.bob_home = os.path.join(inst.var, "vmail", inst.domain, "bob")
    setuid_helper(inst)
    with open(os.path.join(inst.etc, "esmtpd"), "a") as f:
        f.write("\nLOCALFILTER_TIMEOUT=3\n")
    with open(os.path.join(inst.etc, "maildropfilter"), "w") as f:
        f.write("maildrop\n")
    try:
        inst.start("authdaemond")
        inst.start("esmtpd")
        yield inst
    finally:
        remove(inst)


def write_filter(home, name, text):
    """$HOME/.mailfilters/name, the account's, 0700/0600 as maildrop
    wants them."""
    st = os.stat(home)
    d = os.path.join(home, ".mailfilters")
    os.makedirs(d, exist_ok=True)
    os.chown(d, st.st_uid, st.st_gid)
    os.chmod(d, 0o700)
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    os.chown(p, st.st_uid, st.st_gid)
    os.chmod(p, 0o600)


REJECT_SPAMMER = """\
if ("$SENDER" eq "spammer@bad.test")
{
    echo "I do not take mail from $SENDER"
    EXITCODE=1
    exit
}
EXITCODE=99
"""

CONTENT = "EXITCODE=99\n"

SUBJECT_FILTER = """\
if (/^Subject: .*buy now/)
{
    echo "554 5.7.1 No advertising, thank you"
    EXITCODE=1
    exit
}
if (/^Subject: .*later/)
{
    echo "450 4.2.0 Busy, try again later"
    EXITCODE=75
    exit
}
if (/^Subject: .*slow/)
{
    while (1 == 1)
    {
        X=1
    }
}
EXITCODE=0
"""


def smtp(inst):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("client.test")
    return s


def send(inst, sender, rcpts, subject):
    """MAIL, RCPTs, DATA with smtplib: the RCPT replies and the DATA
    reply (code, text), or None for DATA when no RCPT was accepted."""
    s = smtp(inst)
    assert s.mail(sender)[0] == 250
    replies = [s.rcpt(r) for r in rcpts]
    final = None
    if any(c == 250 for c, _ in replies):
        code, _ = s.docmd("DATA")
        assert code == 354
        s.send(("From: <%s>\r\nSubject: %s\r\n\r\nhello\r\n.\r\n" %
                (sender, subject)).encode())
        final = s.getreply()
    s.quit()
    return replies, final


def test_rcptfilter_rejects_a_sender(lmf):
    write_filter(lmf.home, "rcptfilter", REJECT_SPAMMER)
    replies, _ = send(lmf, "spammer@bad.test", [lmf.login], "hi")
    code, text = replies[0]
    assert code == 550
    assert b"5.7.1 I do not take mail from spammer@bad.test" in text
    # another sender passes (and the content filter, absent, accepts)
    replies, final = send(lmf, "friend@good.test", [lmf.login], "hi")
    assert replies[0][0] == 250
    assert final[0] == 250


def test_rcptfilter_with_swaks(lmf):
    write_filter(lmf.home, "rcptfilter", REJECT_SPAMMER)
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(lmf.ports["smtp"]), "--from",
                        "spammer@bad.test", "--to", lmf.login,
                        "--helo", "client.test", "--timeout", "30"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "<** 550 5.7.1 I do not take mail from spammer@bad.test" \
        in r.stdout


def test_smtpfilter_rejects_on_subject(lmf):
    write_filter(lmf.home, "rcptfilter", CONTENT)
    write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
    replies, final = send(lmf, "a@remote.test", [lmf.login],
                          "please buy now")
    assert replies[0][0] == 250
    assert final == (554, b"5.7.1 No advertising, thank you")
    assert not queued(lmf)


def test_accepted_and_delivered(lmf):
    lmf.program("courierd")
    write_filter(lmf.home, "rcptfilter", CONTENT)
    write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
    lmf.start("courierd")
    replies, final = send(lmf, "a@remote.test", [lmf.login],
                          "a nice letter")
    assert replies[0][0] == 250 and final[0] == 250
    msgs = wait_for(lambda: maildir_messages(lmf), what="delivery")
    assert msgs[0]["Subject"] == "a nice letter"


def test_smtpfilter_tempfail(lmf):
    write_filter(lmf.home, "rcptfilter", CONTENT)
    write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
    _, final = send(lmf, "a@remote.test", [lmf.login], "later please")
    assert final == (450, b"4.2.0 Busy, try again later")
    assert not queued(lmf)


def test_whitelisted_skips_smtpfilter(lmf):
    """rcptfilter exit 0: accepted without the content filter."""
    write_filter(lmf.home, "rcptfilter", "EXITCODE=0\n")
    write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
    _, final = send(lmf, "a@remote.test", [lmf.login], "buy now")
    assert final[0] == 250


def test_extension_filters(lmf):
    """user-ext@domain runs rcptfilter-ext, else rcptfilter-default."""
    st = os.stat(lmf.home)
    dot = os.path.join(lmf.home, ".courier-lists")
    with open(dot, "w") as f:
        f.write("./Maildir/\n")
    os.chown(dot, st.st_uid, st.st_gid)
    os.chmod(dot, 0o644)
    write_filter(lmf.home, "rcptfilter-lists",
                 'echo "no lists here"\nEXITCODE=1\n')
    local, domain = lmf.login.split("@")
    replies, _ = send(lmf, "a@remote.test",
                      [lmf.login, "%s-lists@%s" % (local, domain)], "x")
    assert replies[0][0] == 250
    assert replies[1] == (550, b"5.7.1 no lists here")


def test_syntax_error_is_temporary(lmf):
    write_filter(lmf.home, "rcptfilter", "if (\n")
    replies, _ = send(lmf, "a@remote.test", [lmf.login], "x")
    code, text = replies[0]
    assert code == 451, (code, text)
    assert text.startswith(b"4.7.1 ")


def test_timeout_is_temporary(lmf):
    write_filter(lmf.home, "rcptfilter", CONTENT)
    write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
    _, final = send(lmf, "a@remote.test", [lmf.login], "slow one")
    assert final[0] == 451
    assert not queued(lmf)
    with open(os.path.join(lmf.var, "log", "esmtpd.log")) as f:
        assert "ran longer than 3 s" in f.read()


def test_no_maildropfilter_no_filtering(lmf):
    write_filter(lmf.home, "rcptfilter", 'echo "no"\nEXITCODE=1\n')
    os.unlink(os.path.join(lmf.etc, "maildropfilter"))
    replies, final = send(lmf, "a@remote.test", [lmf.login], "x")
    assert replies[0][0] == 250 and final[0] == 250


def test_missing_program_is_temporary(lmf):
    """etc/maildropfilter naming a program that is not there: 451, the
    recipient is not taken unfiltered."""
    write_filter(lmf.home, "rcptfilter", "EXITCODE=0\n")
    with open(os.path.join(lmf.etc, "maildropfilter"), "w") as f:
        f.write("/nonexistent/maildrop\n")
    replies, _ = send(lmf, "a@remote.test", [lmf.login], "x")
    assert replies[0][0] == 451


def test_no_filter_file_accepts(lmf):
    """A .mailfilters folder without rcptfilter (or default): as if the
    account had no filter."""
    write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
    _, final = send(lmf, "a@remote.test", [lmf.login], "buy now")
    assert final[0] == 250


def two_filters(lmf):
    """demo refuses "buy now" in its smtpfilter; bob refuses "bob no"."""
    write_filter(lmf.home, "rcptfilter", CONTENT)
    write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
    write_filter(lmf.bob_home, "rcptfilter", CONTENT)
    write_filter(lmf.bob_home, "smtpfilter",
                 'if (/^Subject: .*bob no/)\n{\n echo "not for bob"\n'
                 ' EXITCODE=1\n exit\n}\nEXITCODE=0\n')


def test_two_recipients_exdata(lmf):
    two_filters(lmf)
    rcpt, final = transaction(lmf, [lmf.login, lmf.bob], "bob no",
                              exdata=True)
    assert [r[0][:3] for r in rcpt] == ["250", "250"]
    subs = parse_558(final)
    assert subs[0][0].startswith("250 ")
    assert subs[1] == ["550 5.7.1 not for bob"]
    # queued for demo only
    ctl = queued(lmf)
    assert len(ctl) == 1
    text = "\n".join(ctl[0])
    assert lmf.login in text and lmf.bob not in text
    # the same with BDAT
    rcpt, final = transaction(lmf, [lmf.login, lmf.bob], "bob no",
                              exdata=True, bdat=True)
    subs = parse_558(final)
    assert subs[0][0].startswith("250 ")
    assert subs[1] == ["550 5.7.1 not for bob"]


def test_two_recipients_without_exdata(lmf):
    """Both filter the content: one refusal refuses the message."""
    two_filters(lmf)
    rcpt, final = transaction(lmf, [lmf.login, lmf.bob], "bob no",
                              exdata=False)
    assert [r[0][:3] for r in rcpt] == ["250", "250"]
    assert final == ["550 5.7.1 not for bob"]
    assert not queued(lmf)
    # both accept: queued for both
    rcpt, final = transaction(lmf, [lmf.login, lmf.bob], "hello",
                              exdata=False)
    assert final[0].startswith("250 ")


def test_groups_without_exdata(lmf):
    """demo's content is filtered, bob's is not: without EXDATA the first
    recipient decides, the other kind gets 451; with EXDATA both are
    taken and each gets its own verdict."""
    write_filter(lmf.home, "rcptfilter", CONTENT)
    write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
    replies, final = send(lmf, "a@remote.test", [lmf.login, lmf.bob],
                          "buy now")
    assert replies[0][0] == 250
    assert replies[1][0] == 451
    assert final == (554, b"5.7.1 No advertising, thank you")
    replies, final = send(lmf, "a@remote.test", [lmf.bob, lmf.login],
                          "buy now")
    assert replies[0][0] == 250 and replies[1][0] == 451
    assert final[0] == 250
    rcpt, final = transaction(lmf, [lmf.login, lmf.bob], "buy now",
                              exdata=True)
    assert [r[0][:3] for r in rcpt] == ["250", "250"]
    subs = parse_558(final)
    assert subs[0] == ["554 5.7.1 No advertising, thank you"]
    assert subs[1][0].startswith("250 ")


def test_filter_runs_as_the_account(lmf):
    """The filter runs as the account: maildrop takes only the files of
    the uid it runs as, so a filter file of another owner (root's here)
    is refused, temporarily; the helper is setuid root for the queue
    group only."""
    write_filter(lmf.home, "rcptfilter", "EXITCODE=0\n")
    replies, _ = send(lmf, "a@remote.test", [lmf.login], "x")
    assert replies[0][0] == 250
    if os.getuid() != 0:
        return
    os.chown(os.path.join(lmf.home, ".mailfilters", "rcptfilter"), 0, 0)
    replies, _ = send(lmf, "a@remote.test", [lmf.login], "x")
    assert replies[0][0] == 451
    helper = setuid_helper(lmf)
    m = os.stat(helper)
    assert m.st_mode & 0o7777 == 0o4750 and m.st_uid == 0
    assert m.st_gid == queue_group(lmf)
    # a maildropfilter others may write is not trusted (it names the
    # program that runs as the accounts)
    os.chown(os.path.join(lmf.home, ".mailfilters", "rcptfilter"),
             os.stat(lmf.home).st_uid, os.stat(lmf.home).st_gid)
    mf = os.path.join(lmf.etc, "maildropfilter")
    os.chmod(mf, 0o666)
    replies, _ = send(lmf, "a@remote.test", [lmf.login], "x")
    assert replies[0][0] == 451
    os.chmod(mf, 0o644)
    replies, _ = send(lmf, "a@remote.test", [lmf.login], "x")
    assert replies[0][0] == 250


def test_aliasfilteracct(lmf):
    """etc/aliasfilteracct names the home whose .mailfilters filter the
    aliases: rcptfilter-alias-ADDRESS ('.' read as ':', then the -M
    fallbacks), as its owner; content filtering only for an alias of one
    recipient."""
    with open(os.path.join(lmf.etc, "aliases", "lmf"), "w") as f:
        f.write("sales: %s\nteam: %s, %s\n" % (lmf.login, lmf.login,
                                                lmf.bob))
    lmf.run("makealiases")
    with open(os.path.join(lmf.etc, "aliasfilteracct"), "w") as f:
        f.write(lmf.bob_home + "\n")
    sales = "sales@" + lmf.domain
    team = "team@" + lmf.domain
    write_filter(lmf.bob_home, "rcptfilter-alias-%s" %
                 sales.replace(".", ":"), REJECT_SPAMMER)
    write_filter(lmf.bob_home, "rcptfilter-alias-default", CONTENT)
    write_filter(lmf.bob_home, "smtpfilter-alias-default", SUBJECT_FILTER)
    replies, _ = send(lmf, "spammer@bad.test", [sales], "x")
    assert replies[0] == (550, b"5.7.1 I do not take mail from "
                          b"spammer@bad.test")
    # one recipient: its content is filtered
    _, final = send(lmf, "a@remote.test", [sales], "buy now")
    assert final[0] == 554
    # several: no content filter (and the rcptfilter still ran: 99)
    replies, final = send(lmf, "a@remote.test", [team], "buy now")
    assert replies[0][0] == 250 and final[0] == 250
    # without the control file, aliases are not filtered
    os.unlink(os.path.join(lmf.etc, "aliasfilteracct"))
    replies, _ = send(lmf, "spammer@bad.test", [sales], "x")
    assert replies[0][0] == 250


def test_with_global_filters(lmf):
    """The recipients' filters run first; a global filter (courierfilter)
    then answers per recipient; a recipient refused by either stays
    refused (EXDATA: one verdict each)."""
    fdir = os.path.join(lmf.var, "filters")
    os.makedirs(fdir, exist_ok=True)
    flt = Filter(os.path.join(fdir, "perrcpt"))
    if os.getuid() == 0:
        st = os.stat(os.path.join(lmf.var, "queue"))
        os.chown(flt.path, st.st_uid, st.st_gid)
    flt.start()
    with open(os.path.join(lmf.etc, "enablefiltering"), "w") as f:
        f.write("esmtp\n")
    lmf.stop("esmtpd")
    lmf.start("esmtpd")
    try:
        write_filter(lmf.home, "rcptfilter", CONTENT)
        write_filter(lmf.home, "smtpfilter", SUBJECT_FILTER)
        # demo refused by its own filter, bob by the global one
        _, final = transaction(lmf, [lmf.login, lmf.bob],
                               "buy now FILTERME", exdata=True)
        subs = parse_558(final)
        assert subs[0] == ["554 5.7.1 No advertising, thank you"]
        assert subs[1][-1].startswith("550 5.7.1")
        assert not queued(lmf)
        # demo accepted by both, bob refused by the global filter
        _, final = transaction(lmf, [lmf.login, lmf.bob],
                               "FILTERME", exdata=True)
        subs = parse_558(final)
        assert subs[0][0].startswith("250 ")
        assert subs[1][-1].startswith("550 5.7.1")
        # demo refused by its own filter, the global one accepts bob
        _, final = transaction(lmf, [lmf.login, lmf.bob], "buy now",
                               exdata=True)
        subs = parse_558(final)
        assert subs[0] == ["554 5.7.1 No advertising, thank you"]
        assert subs[1][0].startswith("250 ")
    finally:
        flt.close()
