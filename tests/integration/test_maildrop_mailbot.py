"""test_maildrop_mailbot.py: our mailbot against Debian's /usr/bin/mailbot:
the autoreply it prints (-n) for reply, replyall and forward formats,
the messages it declines to answer (-r, Precedence, List-Id,
Auto-Submitted, reports), and the once-per-sender-per-period database
(-d, -D) with a real program receiving the reply."""
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DEB = "/usr/bin/mailbot"

ORIG = (b"From: Ann Example <ann@example.com>\n"
        b"To: me@example.org, Bob <bob@example.net>\n"
        b"Cc: carl@example.net\n"
        b"Subject: hello there\n"
        b"Message-ID: <abc@example.com>\n"
        b"Date: Sat, 21 Nov 2026 10:00:00 +0000\n"
        b"\n"
        b"body line\n> quoted already\n")


def ours():
    cands = []
    if os.environ.get("SUITE_PREFIX"):
        cands.append(os.path.join(os.environ["SUITE_PREFIX"], "bin", "mailbot"))
    for b in (os.environ.get("SUITE_BUILDDIR"), os.environ.get("BUILDDIR"),
              os.path.join(HERE, "..", "..", "build")):
        if b:
            cands.append(os.path.join(b, "maildrop", "mailbot"))
    for c in cands:
        if os.access(c, os.X_OK) and os.path.isfile(c):
            return os.path.abspath(c)
    pytest.skip("our mailbot is not built")


def run(binary, args, msg, cwd):
    return subprocess.run([binary] + args, input=msg, cwd=cwd,
                          capture_output=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "SENDER": "env@example.com"})


CASES = [
    ["-t", "away.txt", "-A", "From: me@example.org"],
    ["-N", "-t", "away.txt", "-s", "Away", "-A", "From: me@example.org"],
    ["-T", "forward", "-t", "away.txt", "-A", "From: me@example.org"],
    ["-T", "replyall", "-N", "-t", "away.txt"],
    ["-r", "other@x.org", "-t", "away.txt"],
    ["-r", "x@y.z, ME@example.org", "-N", "-t", "away.txt"],
    ["-S", "On %d,%n%F <%f> wrote (100%%):", "-t", "away.txt"],
    ["-m", "away.mime"],
]

DECLINED = [
    b"Precedence: bulk\n", b"Precedence: junk\n", b"Precedence: list\n",
    b"List-Id: <l.example.com>\n", b"Auto-Submitted: auto-replied\n",
    b"Content-Type: multipart/report; report-type=delivery-status\n",
]


@pytest.fixture
def work(tmp_path):
    (tmp_path / "away.txt").write_text("I am away until Monday.  \nSee you.\n")
    (tmp_path / "away.mime").write_text(
        'Content-Type: text/plain; format=flowed; delsp=yes; charset="iso-8859-1"\n'
        "\nMary had a little lamb.\n")
    return tmp_path


@pytest.mark.skipif(not os.access(DEB, os.X_OK), reason="Debian mailbot missing")
@pytest.mark.parametrize("i", range(len(CASES)))
def test_reply_like_debian(work, i):
    args = ["-n"] + CASES[i]
    ref = run(DEB, args, ORIG, work)
    got = run(ours(), args, ORIG, work)
    assert (got.returncode, got.stdout) == (ref.returncode, ref.stdout)


@pytest.mark.skipif(not os.access(DEB, os.X_OK), reason="Debian mailbot missing")
@pytest.mark.parametrize("hdr", DECLINED)
def test_declined_like_debian(work, hdr):
    args = ["-n", "-t", "away.txt"]
    ref = run(DEB, args, hdr + ORIG, work)
    got = run(ours(), args, hdr + ORIG, work)
    assert (got.returncode, got.stdout) == (ref.returncode, ref.stdout)
    assert got.stdout == b""


def test_once_per_sender(work):
    """-d: the second message from the same sender within -D days gets
    no reply; another sender does; -D 0 answers every time."""
    mb = ours()
    prog = ["/bin/sh", "-c", "cat >> replies"]
    args = ["-d", "db", "-t", "away.txt", "-A", "From: me@example.org"]
    for _ in range(3):
        assert run(mb, args + prog, ORIG, work).returncode == 0
    other = ORIG.replace(b"ann@example.com", b"zed@example.com")
    assert run(mb, args + prog, other, work).returncode == 0
    replies = (work / "replies").read_bytes()
    assert replies.count(b"To: Ann Example <ann@example.com>") == 1
    assert replies.count(b"zed@example.com") == 1
    args0 = ["-d", "db0", "-D", "0", "-t", "away.txt"]
    for _ in range(2):
        assert run(mb, args0 + prog, ORIG, work).returncode == 0
    assert (work / "replies").read_bytes().count(b"ann@example.com") == 3


def test_f_sets_the_address(work):
    # (mailbot(1) says -f overrides the address; Debian's 2.9.3 ignores it)
    p = run(ours(), ["-n", "-fboss@example.com", "-N", "-t", "away.txt"], ORIG, work)
    assert b"\nTo: boss@example.com\n" in p.stdout
    # %S is the subject (mailbot(1); Debian's 2.9.3 prints "S")
    p = run(ours(), ["-n", "-S", "About %S:", "-t", "away.txt"], ORIG, work)
    assert b"\n\nAbout hello there:\n\n> body line\n" in p.stdout
    p = run(ours(), ["-n", "-f", "-N", "-t", "away.txt"], ORIG, work)
    assert b"\nTo: env@example.com\n" in p.stdout


def test_program_exit_code_and_errors(work):
    mb = ours()
    assert run(mb, ["-t", "away.txt", "/bin/sh", "-c", "cat >/dev/null; exit 3"],
               ORIG, work).returncode == 3
    assert run(mb, ["-t", "missing.txt", "-n"], ORIG, work).returncode == 75
    assert run(mb, ["-n"], ORIG, work).returncode == 64
    # no sender address: quietly nothing
    p = run(mb, ["-n", "-t", "away.txt"], b"Subject: x\n\nbody\n", work)
    assert (p.returncode, p.stdout) == (0, b"")
    # malformed headers do not crash it
    junk = b"From: <<<@@@>>> \"unterminated\nTo: ,,,,\nSubject: \xff\xfe\n\n\x00\x01"
    assert run(mb, ["-n", "-t", "away.txt"], junk, work).returncode in (0, 75)
