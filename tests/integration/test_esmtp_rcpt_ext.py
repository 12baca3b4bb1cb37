"""test_esmtp_rcpt_ext.py: extension addresses (account-ext@domain) at
RCPT time: esmtpd refuses one whose account has no dot-courier file for
it (.courier-ext, .courier-PREFIX-default, .courier-default, as
courierlocal would follow: mta/dotcourier.h) with 550 5.1.1 instead of
accepting it and bouncing it later (backscatter); '+' and etc/defaultsep
separators, '.' read as ':', locallowercase; a home the queue user cannot
search leaves the decision to local delivery, as before."""

import os
import shutil
import smtplib
import subprocess
import time

import pytest

from mtahelp import running
from test_mta import maildir_messages, queue_empty, wait_for


@pytest.fixture
def inst(suite_build):
    with running(suite_build, "test-esmtp-rcpt-ext-",
                 programs=("esmtpd", "courierd")) as i:
        yield i


def searchable_home(inst):
    """The home made searchable by others (0711: no listing), so that
    esmtpd, running as the queue user, can look for the files."""
    os.chmod(inst.home, 0o711)


def home_file(inst, name, text="./Maildir/\n"):
    path = os.path.join(inst.home, name)
    with open(path, "w") as f:
        f.write(text)
    st = os.stat(inst.home)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, 0o644)
    return path


def client(inst):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("client.test")
    return s


def rcpt_codes(inst, addresses):
    s = client(inst)
    assert s.mail("")[0] == 250
    out = {}
    for a in addresses:
        code, text = s.rcpt(a)
        out[a] = (code, text)
    s.quit()
    return out


def test_ext_refused_without_file(inst):
    local, domain = inst.login.split("@")
    searchable_home(inst)
    inst.start("esmtpd")
    r = rcpt_codes(inst, [inst.login, local + "-anything@" + domain,
                          local + "+anything@" + domain,
                          local + "-a-b-c@" + domain])
    assert r[inst.login][0] == 250
    for a in list(r)[1:]:
        code, text = r[a]
        assert code == 550, (a, code, text)
        # the same text as any unknown user
        assert text == ("5.1.1 <%s>: No such user" % a).encode(), text
    # no account of that name anywhere: refused as before
    assert rcpt_codes(inst, ["nosuch-x@" + domain])[
        "nosuch-x@" + domain][0] == 550


def test_ext_accepted_with_files(inst):
    local, domain = inst.login.split("@")
    searchable_home(inst)
    inst.start("esmtpd")

    def code(ext):
        a = "%s-%s@%s" % (local, ext, domain)
        return rcpt_codes(inst, [a])[a][0]

    home_file(inst, ".courier-ext")
    assert code("ext") == 250
    assert code("ext2") == 550
    assert code("ext-more") == 550      # .courier-ext is not ext-default
    home_file(inst, ".courier-foo-default")
    assert code("foo-bar") == 250
    assert code("foo-bar-baz") == 250
    assert code("foo") == 550           # foo-default is for foo-X only
    assert code("foobar") == 550
    # a file added counts at once (refusals are not remembered)
    assert code("new") == 550
    home_file(inst, ".courier-new")
    assert code("new") == 250
    home_file(inst, ".courier-default")
    assert code("anything") == 250
    assert code("ext") == 250
    assert code("x-y-z") == 250


def test_separators(inst):
    """'+' reads as '-' by default; etc/defaultsep lists the separators
    (here '=' only, so '+' is an ordinary character)."""
    local, domain = inst.login.split("@")
    searchable_home(inst)
    home_file(inst, ".courier-list")
    inst.start("esmtpd")
    plus = "%s+list@%s" % (local, domain)
    eq = "%s=list@%s" % (local, domain)
    r = rcpt_codes(inst, [plus, eq])
    assert r[plus][0] == 250 and r[eq][0] == 550, r
    inst.stop("esmtpd")
    with open(os.path.join(inst.etc, "defaultsep"), "w") as f:
        f.write("=\n")
    inst.start("esmtpd")
    r = rcpt_codes(inst, [plus, eq])
    assert r[plus][0] == 550 and r[eq][0] == 250, r


def test_dots_and_case(inst):
    """'.' in the address is ':' in the file name; without
    locallowercase the extension is case sensitive, with it lowercased."""
    local, domain = inst.login.split("@")
    searchable_home(inst)
    home_file(inst, ".courier-john:doe")
    path = os.path.join(inst.etc, "locallowercase")
    if os.path.exists(path):
        os.unlink(path)
    inst.start("esmtpd")
    dotted = "%s-john.doe@%s" % (local, domain)
    upper = "%s-John.Doe@%s" % (local, domain)
    r = rcpt_codes(inst, [dotted, upper])
    assert r[dotted][0] == 250 and r[upper][0] == 550, r
    inst.stop("esmtpd")
    with open(path, "w") as f:
        f.write("")
    inst.start("esmtpd")
    r = rcpt_codes(inst, [dotted, upper])
    assert r[dotted][0] == 250 and r[upper][0] == 250, r


def test_refused_gives_no_dsn(inst):
    """Of 5 unknown extensions and the account itself, only the account
    is accepted; the message is delivered once and no DSN ever comes
    back to the (local) sender: nothing was bounced."""
    local, domain = inst.login.split("@")
    searchable_home(inst)
    inst.start("courierd")
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail(inst.login)[0] == 250
    for n in range(5):
        assert s.rcpt("%s-spam%d@%s" % (local, n, domain))[0] == 550
    assert s.rcpt(inst.login)[0] == 250
    assert s.data(b"Subject: once\r\n\r\nbody\r\n")[0] == 250
    s.quit()
    msgs = wait_for(lambda: maildir_messages(inst), what="the delivery")
    wait_for(lambda: queue_empty(inst), what="empty queue")
    time.sleep(1)
    msgs = maildir_messages(inst)
    assert [m["Subject"] for m in msgs] == ["once"], \
        [m["Subject"] for m in msgs]
    assert not any(m.get_content_type() == "multipart/report"
                   for m in msgs)


@pytest.mark.skipif(os.getuid() != 0,
                    reason="needs root: a home the queue user cannot read")
def test_unreadable_home_accepted_as_before(inst):
    """The home is 0700 of the mail user and esmtpd runs as the queue
    user: it cannot tell, so it accepts; courierlocal decides (a file
    there: delivered; none: bounced, as before this check)."""
    local, domain = inst.login.split("@")
    os.chmod(inst.home, 0o700)
    assert os.stat(inst.home).st_uid != 0
    home_file(inst, ".courier-box")
    inst.start("courierd")
    inst.start("esmtpd")
    s = client(inst)
    assert s.mail(inst.login)[0] == 250
    assert s.rcpt("%s-box@%s" % (local, domain))[0] == 250
    assert s.rcpt("%s-none@%s" % (local, domain))[0] == 250
    assert s.data(b"Subject: to box\r\n\r\nbody\r\n")[0] == 250
    s.quit()
    msgs = wait_for(lambda: len(maildir_messages(inst)) >= 2 and
                    maildir_messages(inst), what="delivery and bounce")
    subjects = sorted(str(m["Subject"]) for m in msgs)
    assert "to box" in subjects, subjects
    dsn = [m for m in msgs if m.get_content_type() == "multipart/report"]
    assert len(dsn) == 1, subjects
    assert "no .courier-none" in dsn[0].as_string()


def test_swaks(inst):
    """The trial as a new user made it, with swaks: demo-anything@ is
    refused at RCPT (swaks exits 24: no recipient accepted); with a
    .courier-anything it is accepted and delivered to the Maildir."""
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed")
    local, domain = inst.login.split("@")
    searchable_home(inst)
    inst.start("courierd")
    inst.start("esmtpd")
    to = "%s-anything@%s" % (local, domain)

    def swaks():
        return subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                               str(inst.ports["smtp"]), "--to", to,
                               "--from", "someone@remote.test",
                               "--header", "Subject: trial"],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=60)

    r = swaks()
    assert r.returncode != 0, r.stdout
    assert "550 5.1.1 <%s>: No such user" % to in r.stdout, r.stdout
    home_file(inst, ".courier-anything")
    r = swaks()
    assert r.returncode == 0, r.stdout
    msgs = wait_for(lambda: maildir_messages(inst), what="the delivery")
    assert msgs[0]["Subject"] == "trial"
    assert msgs[0]["Delivered-To"] == to
