"""test_maildrop_mailbot.py: our mailbot against Debian's /usr/bin/mailbot:
the autoreply it prints (-n) for every -T format (reply, replyall,
replydsn with -M, replydraft with -l, forward, forwardatt, feedback and
replyfeedback with -R and --feedback-*), -a, -m, -c, -s, -S, -F, -e, the
messages it declines to answer (-r, Precedence, List-Id, Auto-Submitted,
reports), and the once-per-sender-per-period database (-d, -D) with a
real program receiving the reply.  Outputs are compared byte for byte
after normalising what changes from run to run (MIME boundaries,
Arrival-Date) or names the program (User-Agent), and what we add on
purpose (RFC 5965's required Feedback-Type, MIME-Version in replydraft)."""
import email
import email.policy
import os
import re
import subprocess
import time

import pytest

from conftest import suite_program

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
    return suite_program("mailbot")


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
    # every -T format, with and without quoting
    ["-T", "replyall", "-t", "away.txt", "-A", "From: me@example.org"],
    ["-T", "replydsn", "-t", "away.txt"],
    ["-T", "forwardatt", "-t", "away.txt", "-A", "From: me@example.org"],
    ["-T", "forwardatt", "-F", "=== fwd ===", "-s", "Custom", "-t", "away.txt"],
    ["-M", "dsn@example.org", "-t", "away.txt", "-A", "From: me@example.org"],
    ["-M", "dsn@example.org", "-a", "-N", "-t", "away.txt"],
    ["-T", "reply", "-Mdsn@example.org", "-a", "-t", "away.txt"],
    ["-T", "feedback", "-R", "abuse", "-t", "away.txt", "-A", "From: me@example.org"],
    ["-T", "feedback", "-Rvirus", "-a", "-N", "-t", "away.txt"],
    ["-T", "replyfeedback", "-R", "fraud", "-a", "-N", "-t", "away.txt",
     "--feedback-original-envelope-id", "<env1@example.com>",
     "--feedback-original-mail-from", "<mf@example.com>",
     "--feedback-reporting-mta", "dns; mx.example.org",
     "--feedback-source-ip", "192.0.2.1",
     "--feedback-incidents", "3",
     "--feedback-authentication-results", "mx.example.org; spf=pass",
     "--feedback-authentication-results", "mx.example.org; dkim=fail",
     "--feedback-original-rcpt-to", "<r1@example.org>",
     "--feedback-original-rcpt-to", "<r2@example.org>",
     "--feedback-reported-domain", "example.com",
     "--feedback-reported-domain", "example.net"],
    ["-T", "replyfeedback", "-R", "other", "-m", "away.mime",
     "--feedback-user-agent", "SomeGenerator/1.0"],
    # options glued to their letters, -c, -m with a transfer encoding
    ["-taway.txt", "-s", "Gone", "-cISO-8859-1"],
    ["-c", "UTF-8", "-m", "cte.mime"],
    ["-S", "%C|%N|%i|%f|%F|%s|%q|100%", "-t", "away.txt"],
    ["-e", "-N", "-t", "away.txt"],
    ["-N", "-t", "away.txt", "--", "/bin/false"],
    ["-T", "replydraft", "-l", "Vacation", "-A", "From: me@example.org"],
    ["-T", "replydraft", "-l", "Missing"],
]

# odd originals: reply prefixes in the subject, folded headers, blank
# lines, trailing blanks, indented and quoted lines, no Message-ID
ODD = (b"From: Ann <ann@example.com>\n"
       b"Errors-To: bounces@example.com\n"
       b"Subject: RE: re: Fwd: hi   there (fwd)\n"
       b"References: <a@example.com>\n <b@example.com>\n"
       b"X-C: a   b\n\tc\n"
       b"\n"
       b"line one   \n\n  indented\n>q\n> q2\n")

ODD_CASES = [
    ["-t", "away.txt"],
    ["-T", "forward", "-t", "away.txt"],
    ["-e", "-N", "-t", "away.txt"],
    ["-M", "d@example.org", "-t", "nonl.txt"],
    ["-T", "feedback", "-R", "abuse", "-N", "-t", "away.txt"],
    ["-T", "replydraft", "-l", "Vacation"],
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
    (tmp_path / "cte.mime").write_text(
        'Content-Type: text/plain; format=flowed; delsp=yes; charset="utf-8"\n'
        "Content-Transfer-Encoding: 7bit\nX-Kept: yes\n"
        "\nIts fleece was white as snow.\n")
    (tmp_path / "html.mime").write_text("Content-Type: text/html\n\n<p>x</p>\n")
    (tmp_path / "nocs.mime").write_text("Content-Type: text/plain\n\nx\n")
    (tmp_path / "nohdr.mime").write_text("just text, no header\n")
    (tmp_path / "nonl.txt").write_text("no line end")
    vac = tmp_path / "Vacation"
    for d in ("new", "cur", "tmp"):
        (vac / d).mkdir(parents=True)
    old = vac / "cur" / "1000.old:2,S"
    old.write_text("Subject: old draft\n\nold text\n")
    os.utime(old, (time.time() - 86400, time.time() - 86400))
    (vac / "cur" / "1001.gone:2,ST").write_text("Subject: deleted\n\ndeleted\n")
    (vac / "cur" / "1002.new:2,S").write_text(
        "From: me@example.org\nSubject: vacation\n"
        "Content-Type: text/plain;\n  charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\nX-Other: 1\n"
        "\nI am on vacation =E2=82=AC.\n")
    return tmp_path


def normalise(out, ours, draft=False):
    """What legitimately differs from run to run or from Debian."""
    out = re.sub(rb"=_(vm|mailbot)-[0-9]+-[0-9]+-[0-9]+", b"BOUNDARY", out)
    out = re.sub(rb"(?m)^Arrival-Date: .*$", b"Arrival-Date: X", out)
    out = re.sub(rb"(?m)^User-Agent: (librfc2045|courier-suite) .*$",
                 b"User-Agent: X", out)
    if ours:
        # RFC 5965 requires Feedback-Type (Debian 2.9.3 forgets it)
        out = re.sub(rb"(?m)^Feedback-Type: [a-z-]+\n", b"", out, count=1)
        # RFC 2045 requires MIME-Version (Debian forgets it in replydraft)
        if draft:
            out = out.replace(b"Mime-Version: 1.0\n", b"", 1)
    return out


def same_as_debian(work, args, msg):
    ref = run(DEB, args, msg, work)
    got = run(ours(), args, msg, work)
    assert got.returncode == ref.returncode, got.stderr
    draft = "replydraft" in args
    assert normalise(got.stdout, True, draft) == normalise(ref.stdout, False)
    return got


@pytest.mark.skipif(not os.access(DEB, os.X_OK), reason="Debian mailbot missing")
@pytest.mark.parametrize("i", range(len(CASES)))
def test_reply_like_debian(work, i):
    same_as_debian(work, ["-n"] + CASES[i], ORIG)


@pytest.mark.skipif(not os.access(DEB, os.X_OK), reason="Debian mailbot missing")
@pytest.mark.parametrize("i", range(len(ODD_CASES)))
def test_odd_original_like_debian(work, i):
    same_as_debian(work, ["-n"] + ODD_CASES[i], ODD)


FLOWED = (b"From: Ann <ann@example.com>\nMime-Version: 1.0\n"
          b"Content-Type: text/plain; format=flowed; charset=utf-8%s\n"
          b"Content-Transfer-Encoding: 8bit\n\n"
          b"A \n> b \nc \n\nd  \n   \ne \n-- \nsig \n>\n> \n>>x \n>> y\n"
          b"fixed   \n-- \nend \n")

MIXED = (b"From: Ann <ann@example.com>\nTo: me@example.org\n"
         b"Subject: =?utf-8?q?caf=C3=A9?= report\n"
         b"Date: Sat, 21 Nov 2026 10:00:00 +0000\nMime-Version: 1.0\n"
         b"Content-Type: multipart/%s; boundary=\"OUT\"\n\npreamble\n"
         b"--OUT\nContent-Type: multipart/alternative; boundary=\"IN\"\n\n"
         b"--IN\nContent-Type: text/plain; charset=utf-8\n"
         b"Content-Transfer-Encoding: base64\n\n"
         b"Q2Fmw6kgaXMgb3Blbi4KU2Vjb25kIGxpbmUuCg==\n"
         b"--IN\nContent-Type: text/html\n\n<p>x</p>\n--IN--\n\n"
         b"--OUT\nContent-Type: application/octet-stream; name=a.bin\n"
         b"Content-Transfer-Encoding: base64\n\nAAECAw==\n\n"
         b"--OUT\nContent-Type: text/plain; name=b.txt\n\nattached text\n"
         b"--OUT--\nepilogue\n")

LATIN = (b"From: =?utf-8?q?Ren=C3=A9e?= <renee@example.com>\n"
         b"Subject: =?utf-8?q?caf=C3=A9?=\nMime-Version: 1.0\n"
         b"Content-Type: text/plain; charset=iso-8859-1\n"
         b"Content-Transfer-Encoding: quoted-printable\n\n"
         b"Caf=E9 au =\nlait   \n\n  indented\n")

# address headers: a comment as the name, Reply-To, duplicates, several
# authors; CRLF line ends
ADDRESSED = [
    b"From: ann@example.com (Ann Comment)\n"
    b"Reply-To: Reply Person <reply@example.com>\n"
    b"To: me@example.org, ann@example.com, Dup <me@example.org>\n"
    b"Cc: reply@example.com, x@y.example\n\nhi\n",
    b"From: A <a@x.example>, B <b@x.example>\nTo: me@example.org\n\nhi\n",
    b"From: Ann <ann@example.com>\r\nSubject: crlf\r\nMessage-ID: <c@x>\r\n"
    b"\r\nline1\r\nline2  \r\n",
]


@pytest.mark.skipif(not os.access(DEB, os.X_OK), reason="Debian mailbot missing")
@pytest.mark.parametrize("i", range(len(ADDRESSED)))
def test_addresses_like_debian(work, i):
    for args in (["-t", "away.txt"], ["-T", "replyall", "-t", "away.txt"],
                 ["-T", "forward", "-t", "away.txt"], ["-e", "-t", "away.txt"]):
        same_as_debian(work, ["-n"] + args, ADDRESSED[i])


MIME_ORIGINALS = [
    FLOWED % b"", FLOWED % b"; delsp=yes", MIXED % b"mixed",
    MIXED % b"signed; protocol=\"application/pgp-signature\"", LATIN,
    # no MIME-Version: the Content-Type does not count, as in Courier
    MIXED.replace(b"Mime-Version: 1.0\n", b"") % b"mixed",
]


@pytest.mark.skipif(not os.access(DEB, os.X_OK), reason="Debian mailbot missing")
@pytest.mark.parametrize("i", range(len(MIME_ORIGINALS)))
@pytest.mark.parametrize("lang", ["C", "C.UTF-8"])
def test_mime_original_like_debian(work, i, lang):
    """Quoting and forwarding a MIME original: its first text/plain part,
    decoded (base64, quoted-printable), converted to the reply's charset
    (characters it cannot show dropped), flowed text re-flowed; a
    multipart/mixed's other parts attached to a forward; the salutation's
    name and subject decoded."""
    msg = MIME_ORIGINALS[i]
    for args in (["-t", "away.txt"], ["-T", "forward", "-t", "away.txt"],
                 ["-S", "%F|%f|%s", "-c", "ISO-8859-1", "-t", "away.txt"],
                 ["-T", "forwardatt", "-N", "-t", "away.txt"],
                 # no charset in -m: UTF-8, as Debian's
                 ["-m", "nocs.mime"]):
        args = ["-n"] + args
        env = {"PATH": "/usr/bin:/bin", "LANG": lang}
        ref = subprocess.run([DEB] + args, input=msg, cwd=work, env=env,
                             capture_output=True, timeout=30)
        got = subprocess.run([ours()] + args, input=msg, cwd=work, env=env,
                             capture_output=True, timeout=30)
        assert got.returncode == ref.returncode
        assert normalise(got.stdout, True) == normalise(ref.stdout, False), args


@pytest.mark.skipif(not os.access(DEB, os.X_OK), reason="Debian mailbot missing")
def test_mime_file_must_be_text_plain(work):
    for binary in (DEB, ours()):
        p = run(binary, ["-n", "-m", "html.mime"], ORIG, work)
        assert p.returncode != 0 and p.stdout == b""
        assert b"must specify text/plain" in p.stderr
        p = run(binary, ["-n", "-c", "no-such-charset", "-t", "away.txt"],
                ORIG, work)
        assert p.returncode != 0 and p.stdout == b""


def test_feedback_report_is_rfc5965(work):
    """The feedback report parses as RFC 5965 says: multipart/report with
    report-type=feedback-report, a text part, a message/feedback-report
    part with Feedback-Type, User-Agent and Version (and our --feedback-*
    fields), and the original as message/rfc822 or text/rfc822-headers."""
    for attach, third in ((["-a"], "message/rfc822"),
                          ([], "text/rfc822-headers")):
        p = run(ours(), ["-n", "-T", "replyfeedback", "-R", "abuse", "-N",
                         "-t", "away.txt", "--feedback-source-ip", "192.0.2.1",
                         "--feedback-incidents", "2"] + attach, ORIG, work)
        assert p.returncode == 0
        m = email.message_from_bytes(p.stdout, policy=email.policy.default)
        assert m.get_content_type() == "multipart/report"
        assert m.get_param("report-type") == "feedback-report"
        assert m["To"] == "Ann Example <ann@example.com>"
        assert m["Auto-Submitted"] == "auto-replied"
        parts = list(m.iter_parts())
        assert [x.get_content_type() for x in parts] == \
            ["text/plain", "message/feedback-report", third]
        rep = parts[1].get_payload()
        rep = rep[0] if isinstance(rep, list) else rep
        text = rep.as_string() if hasattr(rep, "as_string") else str(rep)
        for line in ("Feedback-Type: abuse", "Version: 1",
                     "Source-Ip: 192.0.2.1", "Incidents: 2"):
            assert line in text
        assert "User-Agent: " in text and "Arrival-Date: " in text
    # -T feedback has no To:, keeps the subject as it is
    p = run(ours(), ["-n", "-T", "feedback", "-R", "fraud", "-t", "away.txt"],
            ORIG, work)
    m = email.message_from_bytes(p.stdout, policy=email.policy.default)
    assert m["To"] is None and m["Subject"] == "hello there"


def test_dsn_is_rfc3464(work):
    p = run(ours(), ["-n", "-M", "dsn@example.org", "-N", "-t", "away.txt"],
            ORIG, work)
    m = email.message_from_bytes(p.stdout, policy=email.policy.default)
    assert m.get_content_type() == "multipart/report"
    assert m.get_param("report-type") == "delivery-status"
    parts = list(m.iter_parts())
    assert [x.get_content_type() for x in parts] == \
        ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert b"Final-Recipient: rfc822; dsn@example.org\nAction: delivered\n" \
        b"Status: 2.0.0\n" in p.stdout


def test_date_format_in_salutation(work):
    """%{fmt}d is strftime() of the original's Date: in the local zone
    (Debian 2.9.3 loops forever on it); %d is the RFC 5322 form."""
    env_tz = {"TZ": "America/New_York"}
    sal = "%{%Y-%m-%d %H:%M %Z}d / %d / %{}d / %{%A"
    p = subprocess.run([ours(), "-n", "-S", sal, "-t", "away.txt"], input=ORIG,
                       cwd=work, capture_output=True, timeout=30,
                       env=dict(env_tz, PATH="/usr/bin:/bin"))
    assert p.returncode == 0
    os.environ["TZ"] = "America/New_York"
    try:
        time.tzset()
        t = time.localtime(1795255200)  # Sat, 21 Nov 2026 10:00:00 +0000
        want = (time.strftime("%Y-%m-%d %H:%M %Z", t) + " / " +
                time.strftime("%a, %d %b %Y %H:%M:%S %z", t) +
                " /  / %{%A").encode()
    finally:
        del os.environ["TZ"]
        time.tzset()
    assert b"\n\n" + want + b"\n\n> body line\n" in p.stdout
    # an unparsable date is shown as it is
    bad = ORIG.replace(b"Sat, 21 Nov 2026 10:00:00 +0000", b"sometime")
    p = run(ours(), ["-n", "-S", "[%{%Y}d]", "-t", "away.txt"], bad, work)
    assert b"\n\n[sometime]\n\n" in p.stdout


def test_refused_options(work):
    """What Debian accepts but mailbot(1) forbids, and malformed options:
    64 and nothing printed."""
    bad = [
        ["-T", "nosuchformat", "-t", "away.txt"],
        ["-T", "feedback", "-t", "away.txt"],          # -R is required
        ["-R", "abuse", "-t", "away.txt"],              # needs -T feedback
        ["-T", "feedback", "-R", "spam", "-t", "away.txt"],
        ["-T", "feedback", "-R", "abuse", "--feedback-a:b", "x", "-t", "away.txt"],
        ["-T", "feedback", "-R", "abuse", "--feedback-incidents", "1\nX: y",
         "-t", "away.txt"],
        ["-T", "feedback", "-R", "abuse", "-t", "away.txt", "--feedback-incidents"],
        ["-A", "no colon", "-t", "away.txt"],
        ["-A", "Bad Name: x", "-t", "away.txt"],
        ["-D", "-1", "-t", "away.txt"],
        ["-D", "x", "-t", "away.txt"],
        ["-t", "away.txt", "-m", "away.mime"],
        ["-m", "nohdr.mime"],                           # Debian sends it
        ["-T", "replydraft"],
        ["-x", "-t", "away.txt"],
        ["-s", "a\nBcc: evil@example.com", "-t", "away.txt"],
        ["-t"],
    ]
    for args in bad:
        p = run(ours(), ["-n"] + args, ORIG, work)
        assert (p.returncode, p.stdout) == (64, b""), args


def test_report_to_a_program(work):
    """A feedback report and a DSN go to the program as they print."""
    prog = ["/bin/sh", "-c", "cat > sent"]
    args = ["-T", "replyfeedback", "-R", "abuse", "-N", "-t", "away.txt"]
    assert run(ours(), args + prog, ORIG, work).returncode == 0
    sent = (work / "sent").read_bytes()
    shown = run(ours(), ["-n"] + args, ORIG, work).stdout
    assert normalise(sent, True) == normalise(shown, True)
    assert b"report-type=feedback-report" in sent


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
    # a bare -f without $SENDER is ignored, as Debian's
    p = subprocess.run([ours(), "-n", "-f", "-N", "-t", "away.txt"], input=ORIG,
                       cwd=work, capture_output=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin"})
    assert b"\nTo: Ann Example <ann@example.com>\n" in p.stdout


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


def our_maildrop():
    return suite_program("maildrop")


@pytest.mark.skipif(not os.access("/usr/bin/maildrop", os.X_OK),
                    reason="Debian maildrop missing")
def test_from_a_mailfilter_like_debian(tmp_path):
    """mailbot(1)'s own example: a .mailfilter that cc's the message to
    mailbot with -d and then files it.  Debian's maildrop+mailbot and ours
    both file every message and answer each sender once."""
    other = ORIG.replace(b"ann@example.com", b"zed@example.com")
    results = []
    for md, mb in (("/usr/bin/maildrop", DEB), (our_maildrop(), ours())):
        home = tmp_path / ("deb" if mb == DEB else "ours")
        for d in ("cur", "new", "tmp"):
            (home / "Maildir" / d).mkdir(parents=True)
        (home / "away.txt").write_text("I am away.\n")
        filt = home / "filter"
        filt.write_text('cc "| ' + mb + ' -t away.txt -d autoreplydb '
                        "-A 'From: me@example.org' /bin/sh -c 'cat >> replies'\"\n"
                        'to "Maildir"\n')
        filt.chmod(0o600)
        env = {"HOME": str(home), "LOGNAME": "tester", "SHELL": "/bin/sh",
               "PATH": "/usr/bin:/bin"}
        for msg in (ORIG, ORIG, other, ORIG):
            p = subprocess.run([md, str(filt)], input=msg, cwd=home, env=env,
                               capture_output=True, timeout=30)
            assert p.returncode == 0, p.stderr
        replies = (home / "replies").read_bytes()
        results.append((len(os.listdir(home / "Maildir" / "new")),
                        replies.count(b"\nTo: Ann Example <ann@example.com>\n"),
                        replies.count(b"\nTo: Ann Example <zed@example.com>\n")))
    assert results[0] == results[1] == (4, 1, 1)
