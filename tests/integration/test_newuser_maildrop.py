"""test_newuser_maildrop.py: regressions found by trying local delivery
as a new user would: a .mailfilter with a syntax error defers the mail
(nothing is lost) and the deferral says which file and line is wrong, in
the queue's status and in courierd's log with the queue id; a program of
a .courier-EXT file that fails has what it wrote in the DSN's
Diagnostic-Code (dot-courier(5)); its output is cut and made one line.
The example filters of Debian's maildropex(7) and maildropfilter(7) pages
give the same exit codes, output and deliveries as Debian's maildrop.
Mail sent with swaks to a .mailfilter filing into a folder not made yet
is deferred, then delivered there after maildirmake and courier flush."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import make_instance
from test_mta import (control, maildir_messages, queue_empty, queued,
                      read_control, sendmail, start, wait_for)


@pytest.fixture
def mta(suite_build):
    root = tempfile.mkdtemp(prefix="test-newuser-md-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    inst = make_instance(suite_build, os.path.join(root, "instance"),
                         extra_args=extra)
    inst.program("courierd")
    inst.program("maildrop")
    try:
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def home_file(inst, name, text, mode=0o600):
    path = os.path.join(inst.home, name)
    with open(path, "w") as f:
        f.write(text)
    st = os.stat(inst.home)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, mode)
    return path


def test_filter_syntax_error_deferred_with_file_and_line(mta):
    home_file(mta, ".mailfilter",
              "if (/^Subject: x/\n{\n  to \"$DEFAULT/.Junk/\"\n}\n")
    control(mta, "maildropfilter", "maildrop")
    control(mta, "retryalpha", "1s")
    start(mta)
    sendmail(mta, "Subject: syntax\n\nkeep me\n", "-f", "<>", mta.login)
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    wait_for(lambda: any(l.startswith("D0 ") for l in read_control(ctl)),
             what="a deferral")
    lines = [l for l in read_control(ctl) if "exit status 75" in l]
    assert lines and "maildrop: exit status 75: " in lines[-1], lines
    assert ".mailfilter(2): Missing )" in lines[-1], lines
    log = open(os.path.join(mta.var, "log", "courierd.log")).read()
    assert ".mailfilter(2): Missing )" in log
    # fixed: the retry delivers it, nothing was lost
    home_file(mta, ".mailfilter", "# nothing to do\n")
    msgs = wait_for(lambda: maildir_messages(mta), what="the retry")
    assert msgs[0]["Subject"] == "syntax"
    wait_for(lambda: queue_empty(mta), what="empty queue")


def test_failing_program_output_in_dsn(mta):
    # control characters, 8-bit bytes, then 5000 bytes
    home_file(mta, ".courier-prog",
              "| echo 'mailbox is closed,' >&2; "
              "printf 'line two\\r\\n\\001\\033\\351\\351 ' >&2; "
              "head -c 5000 /dev/zero | tr '\\0' y >&2; exit 77\n",
              mode=0o644)
    start(mta)
    user, domain = mta.login.split("@")
    sendmail(mta, "Subject: prog\n\nx\n", "-f", mta.login,
             "%s-prog@%s" % (user, domain))
    dsn = wait_for(lambda: [m for m in maildir_messages(mta)
                            if m.get_content_type() == "multipart/report"],
                   what="the bounce")[0]
    ds = list(dsn.iter_parts())[1].get_payload()
    diag = ds[1]["Diagnostic-Code"]
    assert ds[1]["Action"] == "failed"
    assert "exit status 77: mailbox is closed, line two" in " ".join(
        diag.split()), diag
    # one line, no control or 8-bit bytes, cut at 300 bytes of output
    assert all(32 <= ord(c) < 127 for c in diag.replace("\n ", " "))
    assert diag.count("y") < 320


# ---------------------------------------------------------------------
# The example filters of Debian's manual pages (maildropex(7),
# maildropfilter(7)) as a user copies them into a .mailfilter, run by
# our maildrop and by Debian's on a few messages each: the same exit code,
# output and deliveries.  Each filter starts with DEFAULT="Maildir/" (as
# root Debian's maildrop takes $HOME from the password file, not the
# environment, and would deliver outside the test's home).

REF_MAILDROP = "/usr/bin/maildrop"

EXAMPLES = {
    "auto": """
if (/^Delivered-To: *auto@domain\\.com$/)
    to Mail/auto
""",
    "backup": """
cc backup
`cd backup/new && rm -f dummy \\`ls -t | sed -e 1,50d\\``
""",
    "large": """
         if ( $LINES > 100 )
            to Mail/IN.Large
""",
    "dotlock": """
         if (/^Delivered-To: *auto@domain\\.com$/)
            dotlock "auto.lock" {

                   to "|./archive"
            }
""",
    "duplicate": """
`reformail -D 8000 duplicate.cache`
if ( $RETURNCODE == 0 )
    exit
""",
    # reformail(1) has no -r any more: both fail the xfilter the same way
    "vacation": """
cc $DEFAULT
xfilter "reformail -r -t"
/^To:.*/
getaddr($MATCH) =~ /^.*/;

MATCH=tolower($MATCH)
flock "vacation.lock" {
        `fgrep -iqx "$MATCH" vacation.lst 2>/dev/null || { \\
                  echo "$MATCH" >>vacation.lst ; \\
                  exit 1 ; \\
              } `
}
if ( $RETURNCODE == 0 )
   exit
to "| ( cat - ; echo ''; cat vacation.msg) | $SENDMAIL"
""",
    "variables": """
FILE="IN.junk"
FOOBAR="Foo"'bar'
SAVEDEFAULT=$DEFAULT
import DEFAULT
LOCALDEFAULT=$DEFAULT
DEFAULT=$SAVEDEFAULT
MAILBOX="${HOME-WORD}/Mailbox"
TEXT="This is a long \\
   text string"
echo "$FOOBAR $TEXT $MAILBOX"
DIR=`ls`
echo "dir: $DIR"
if (/^From:\\s+(.*)@(.*)/)
   echo "M=$MATCH 1=$MATCH1 2=$MATCH2"
to $FILE
""",
    "weights": """
if (/^Received:/:h,1,2 > 5)
  echo "many received"
SCORE=(/^Received:/:h,1,2)
echo "score $SCORE"
foreach /^(To|Cc): .*/
{
   echo "hdr: $MATCH"
   foreach (getaddr($MATCH)) =~ /[^ ]+/
   {
     echo "addr $MATCH"
   }
}
if (hasaddr("john@domain.com"))
  echo "has john"
if (/^Subject: (.*)/)
  echo "subj $MATCH1 len " . length($MATCH1) . " " . toupper(substr($MATCH1, 0, 3))
if (/project/:b)
  to Maildir/.Body/
to Maildir/.John/
""",
    "exception": """
exception {
   to /nonexistent/dir/mbox
}
echo "after exception"
to Maildir/.Caught/
""",
    "path": """
echo "PATH is $PATH"
PATH="/bin"
echo "PATH is $PATH"
import PATH
echo "PATH is $PATH"
""",
    "xfilter": """
xfilter "reformail -I 'X-Filtered: yes' -a 'X-Added: 1'"
/^X-Filtered: (.*)/
echo "filtered=$MATCH1 size=$SIZE lines=$LINES"
to Maildir/
""",
    "syntax-error": """
# a comment
if (/^Subject: x/
{
  to "$DEFAULT/.Junk/"
}
""",
    "unwritable": """
to "/proc/nonexistent/Maildir/"
""",    # filters users write: a spam filter's header, a folder per list,
    # logs, UTF-8 patterns on encoded headers and bodies, sizes and case,
    # addresses, includes, loops and functions
    "spam-flag": """
xfilter "reformail -A 'X-Spam-Flag: YES'"
if (/^X-Spam-Flag: *YES/)
{
   to Maildir/.John/
}
""",
    "list-folder": """
if (/^Delivered-To: *(.*)@domain\\.com/)
{
   LIST=tolower($MATCH1)
   `test -d Maildir/.$LIST || maildirmake -f $LIST Maildir`
   to "Maildir/.$LIST/"
}
""",
    "logfile": """
logfile "md.log"
log "incoming: $SIZE bytes, $LINES lines"
/^Subject: (.*)/
log "subject=$MATCH1"
to Maildir/
""",
    "utf8-patterns": """
if (/^Subject:.*écriture/)
   to Maildir/.Body/
if (/café/:b)
   to Maildir/.John/
to Maildir/
""",
    "size-and-case": """
if ($SIZE > 1000 || /^Cc:.*team@/)
{
  cc Maildir/.Caught/
  EXITCODE=0
}
if (/^From:.*BOSS/:D)
  echo "case-sensitive matched"
if (/^From:.*boss/:D)
  echo "lower matched"
to Maildir/
""",
    "addresses": """
foreach /^(To|Cc):.*/
{
   foreach (getaddr($MATCH)) =~ /[^ ]+/
   {
      echo "addr=$MATCH"
   }
}
if (hasaddr("Mary@Domain.com"))
   echo "has mary (case)"
ADDR=escape("a.b*c")
echo "escaped=$ADDR"
exit
""",
    "include": """
exception {
   include "nonexistent-include"
}
echo "survived include"
INC=`echo 'echo "from include"' > inc.md; echo inc.md`
include $INC
to Maildir/
""",
    "while-and-functions": """
N=0
while ($N < 5)
{
   N=$N + 1
   if ($N == 3)
      echo "three"
}
echo "N=$N"
S="abcdef"
echo "len " . length($S) . " sub " . substr($S, 2, 3) . " up " . toupper($S)
if ($S =~ /c(d)e/)
   echo "M=$MATCH M1=$MATCH1"
T=time
if ($T > 1000000)
   echo "time ok"
exit
""",
}

MESSAGES = {
    "list": b"Delivered-To: auto@domain.com\nFrom: List <list@domain.com>\n"
            b"To: john@domain.com\nSubject: cars\nMessage-ID: <a1@d.com>\n"
            b"Received: from a by b\nReceived: from c by d\n"
            b"Received: from e by f\n\nbody of auto\n",
    "boss": b"From: boss@domain.com\nTo: John <john@domain.com>, "
            b"Mary <mary@domain.com>\nCc: team@domain.com\n"
            b"Subject: Re: project status update\nMessage-ID: <a2@d.com>\n"
            b"\nWhere is the project?\n",
    "long": b"From: \"Long Sender\" <long@example.org>\nTo: me@example.net\n"
            b"Subject: =?UTF-8?B?w6ljcml0dXJl?= long\nMIME-Version: 1.0\n"
            b"Content-Type: text/plain; charset=iso-8859-1\n"
            b"Content-Transfer-Encoding: quoted-printable\n"
            b"Message-ID: <a3@example.org>\n\n" +
            b"".join(b"line %d caf=E9 project\n" % i for i in range(150)),
    "crlf": b"From: x@y\r\nSubject: crlf\r\n\r\nbody\r\n",
}


def example_home(root):
    home = os.path.join(root, "home")
    for d in ("Maildir", "backup", "Maildir/.John", "Maildir/.Body",
              "Maildir/.Caught"):
        for s in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(home, d, s))
    os.makedirs(os.path.join(home, "Mail"))
    with open(os.path.join(home, "vacation.msg"), "w") as f:
        f.write("I am away\n")
    for name, body in (("archive", "#!/bin/sh\ncat >> archived\n"),
                       ("sendmail-standin",
                        '#!/bin/sh\n[ "$1" = "-f" ] && shift 2\n'
                        '{ echo "to: $*"; cat; echo --; } >> sent\n')):
        p = os.path.join(home, name)
        with open(p, "w") as f:
            f.write(body)
        os.chmod(p, 0o755)
    return home


def example_snapshot(home):
    out = {}
    for dirpath, _, names in os.walk(home):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), home)
            if rel in ("filter", "archive", "sendmail-standin",
                       "vacation.msg"):
                continue
            with open(os.path.join(dirpath, n), "rb") as f:
                data = f.read()
            if "/new/" in rel or "/cur/" in rel:
                out.setdefault(os.path.dirname(rel), []).append(data)
            else:
                out[rel] = [re.sub(rb"(?m)^(Date: |From \S+ ).*$",
                                   rb"\1<date>", data)]
    return {k: sorted(v) for k, v in out.items()}


def run_example(binary, text, msg, runs=2):
    """Runs the filter text twice on msg in a fresh home; returns the
    exit codes and outputs (the home's path blanked) and the files."""
    root = tempfile.mkdtemp(prefix="nu-mdex-")
    try:
        home = example_home(root)
        fpath = os.path.join(home, "filter")
        with open(fpath, "w", encoding="utf-8") as f:
            f.write('DEFAULT="Maildir/"\n' + text)
        os.chmod(fpath, 0o600)
        env = {"HOME": home, "LOGNAME": "tester", "SHELL": "/bin/sh",
               "PATH": "/usr/bin:/bin",
               "SENDMAIL": home + "/sendmail-standin"}
        res = []
        for _ in range(runs):
            p = subprocess.run([binary, fpath], input=msg, cwd=home,
                               env=env, capture_output=True, timeout=30)
            res.append((p.returncode,
                        p.stdout.replace(home.encode(), b"$HOME")))
        return res, example_snapshot(home)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ours_maildrop():
    from conftest import suite_program
    p = suite_program("maildrop")
    if p is None:
        pytest.skip("maildrop is not built yet")
    return p


@pytest.mark.skipif(not os.path.exists(REF_MAILDROP),
                    reason="Debian's maildrop is not installed")
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_manual_examples_as_debian(example):
    ours = ours_maildrop()
    for name, msg in sorted(MESSAGES.items()):
        a = run_example(ours, EXAMPLES[example], msg)
        b = run_example(REF_MAILDROP, EXAMPLES[example], msg)
        assert a == b, (example, name)


# the maildropex(7) example whose second pattern uses maildrop 1.x's
# [:wbreak:], which PCRE refuses: Debian's maildrop names the file and
# line, takes the pattern as not found and goes on (the mail is
# delivered); ours stops with exit 75 and no file or line.
BOSS = """if (/^From: *boss@domain\\.com/ \\
    && /^Subject:.*[:wbreak:]project status[:wbreak:]/)
{
    cc "!john"
    to Mail/project
}
"""


@pytest.mark.skipif(not os.path.exists(REF_MAILDROP),
                    reason="Debian's maildrop is not installed")
def test_invalid_pattern_named_and_skipped_as_debian(tmp_path):
    ours = ours_maildrop()
    a = run_example(ours, BOSS, MESSAGES["boss"], runs=1)
    b = run_example(REF_MAILDROP, BOSS, MESSAGES["boss"], runs=1)
    assert a == b
    # and the warning names the file and line
    home = tmp_path
    f = home / "filter"
    f.write_text('DEFAULT="Maildir/"\n' + BOSS)
    f.chmod(0o600)
    for s in ("tmp", "new", "cur"):
        (home / "Maildir" / s).mkdir(parents=True)
    p = subprocess.run([ours, str(f)], input=MESSAGES["boss"], cwd=home,
                       env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
                       capture_output=True, timeout=30)
    assert b"filter(3): Syntax error in /pattern/." in p.stderr, p.stderr
    assert p.returncode == 0, p.stderr
    # =~ and foreach with a bad pattern: not found, the filter goes on;
    # the same text as Debian's on stderr
    g = home / "g"
    g.write_text('DEFAULT="Maildir/"\nif ("abc" =~ /a[/)\n{\n  echo yes\n}\n'
                 'foreach /b[/\n{\n  echo f\n}\necho "went on"\n')
    g.chmod(0o600)
    out = []
    for binary in (ours, REF_MAILDROP):
        p = subprocess.run([binary, str(g)], input=MESSAGES["boss"],
                           cwd=home, env={"HOME": str(home),
                                          "PATH": "/usr/bin:/bin"},
                           capture_output=True, timeout=30)
        out.append((p.returncode, p.stdout, p.stderr))
    assert out[0] == out[1], out
    assert out[0][1] == b"went on\n", out


@pytest.mark.skipif(not os.path.exists(REF_MAILDROP),
                    reason="Debian's maildrop is not installed")
def test_missing_program_big_message_tempfail_as_debian():
    ours = ours_maildrop()
    big = b"From: a@b\nSubject: big\n\n" + (b"x" * 69 + b"\n") * 5000
    text = 'to "|no-such-program-here"\n'
    a = run_example(ours, text, big, runs=1)
    b = run_example(REF_MAILDROP, text, big, runs=1)
    assert b[0][0][0] == 75
    assert a == b
    # a program that exits 0 without reading it all: delivered, for both
    a = run_example(ours, 'to "|true"\n', big, runs=1)
    b = run_example(REF_MAILDROP, 'to "|true"\n', big, runs=1)
    assert b[0][0][0] == 0
    assert a == b


SWAKS = shutil.which("swaks")


@pytest.mark.skipif(SWAKS is None, reason="swaks not installed")
def test_smtp_delivery_files_into_folder_made_later(mta):
    """What the README's demo walks a new user through: a .mailfilter
    that files into a folder not made yet defers the mail (the status
    names the folder); maildirmake -f makes it, `courier flush` retries
    at once and the mail lands in the folder."""
    mta.program("esmtpd")
    home_file(mta, ".mailfilter",
              'if (/^Subject:.*report/)\n  to "$DEFAULT/.Reports/"\n')
    control(mta, "maildropfilter", "maildrop")
    with open(os.path.join(mta.etc, "esmtpd"), "a") as f:
        f.write("\nBOFHCHECKDNS=0\n")
    start(mta)
    mta.start("esmtpd")
    r = subprocess.run([SWAKS, "--server", "127.0.0.1", "--port",
                        str(mta.ports["smtp"]), "--from", "someone@else.test",
                        "--to", mta.login, "--helo", "client.test",
                        "--header", "Subject: weekly report",
                        "--body", "numbers", "--timeout", "30"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    ctl = wait_for(lambda: queued(mta), what="queued")[0]
    wait_for(lambda: any(l.startswith("D0 ") for l in read_control(ctl)),
             what="a deferral")
    lines = [l for l in read_control(ctl) if "exit status 75" in l]
    assert lines and ".Reports" in lines[-1], lines
    st = os.stat(mta.home)
    r = subprocess.run(
        [mta.program("maildirmake"), "-f", "Reports", mta.maildir],
        capture_output=True, text=True, timeout=30,
        preexec_fn=lambda: (os.setgid(st.st_gid), os.setuid(st.st_uid))
        if os.getuid() == 0 else None)
    assert r.returncode == 0, r.stderr
    mta.run("courier", "flush")
    reports = os.path.join(mta.maildir, ".Reports")
    msgs = wait_for(lambda: maildir_messages(mta, reports),
                    what="the flushed delivery")
    assert msgs[0]["Subject"] == "weekly report"
    assert maildir_messages(mta) == []
    wait_for(lambda: queue_empty(mta), what="empty queue")


def test_forward_goes_through_the_suites_sendmail(mta):
    # the forward goes to the account's -fwd extension (the account itself
    # would be a mail loop), which its .courier-fwd files into .Fwd
    home_file(mta, ".mailfilter",
              "xfilter \"reformail -A 'X-Fwd: yes'\"\n"
              'to "!%s"\n' % mta.login.replace("@", "+fwd@"))
    home_file(mta, ".courier-fwd", "./Maildir/.Fwd/\n", mode=0o644)
    st = os.stat(mta.home)
    r = subprocess.run(
        [mta.program("maildirmake"), "-f", "Fwd", mta.maildir],
        capture_output=True, text=True, timeout=30,
        preexec_fn=lambda: (os.setgid(st.st_gid), os.setuid(st.st_uid))
        if os.getuid() == 0 else None)
    assert r.returncode == 0, r.stderr
    control(mta, "maildropfilter", "maildrop")
    control(mta, "retryalpha", "1s")
    start(mta)
    sendmail(mta, "Subject: forward me\n\nx\n", "-f", mta.login, mta.login)
    fwd = os.path.join(mta.maildir, ".Fwd")
    msgs = wait_for(lambda: maildir_messages(mta, fwd), timeout=20,
                    what="the forwarded copy, through the suite's submit")
    assert msgs[0]["Subject"] == "forward me"
    assert msgs[0]["X-Fwd"] == "yes"


# Debian's maildrop refuses a filter file others may write (75, nothing
# delivered) and runs one only its owner and group may write.
@pytest.mark.skipif(not os.path.exists(REF_MAILDROP),
                    reason="Debian's maildrop is not installed")
@pytest.mark.parametrize("mode,expected", [
    (0o666, (75, 0)), (0o606, (75, 0)),
    (0o600, (0, 1)), (0o644, (0, 1)), (0o664, (0, 1))])
def test_standalone_filter_permissions_as_debian(tmp_path, mode, expected):
    ours = ours_maildrop()
    results = []
    for n, binary in enumerate((ours, REF_MAILDROP)):
        home = tmp_path / ("home%d" % n)
        for s in ("tmp", "new", "cur"):
            (home / "Maildir" / s).mkdir(parents=True)
        f = home / "filter"
        f.write_text('DEFAULT="Maildir/"\n')
        f.chmod(mode)
        p = subprocess.run([binary, str(f)], input=MESSAGES["list"],
                           cwd=home, env={"HOME": str(home),
                                          "PATH": "/usr/bin:/bin"},
                           capture_output=True, timeout=30)
        results.append((p.returncode,
                        len(os.listdir(home / "Maildir" / "new"))))
    assert results[1] == expected, results
    assert results[0] == results[1], results
