# tests/integration/test_reformime.py: our reformime -i against Debian's
# /usr/bin/reformime (package maildrop) on generated messages: nested
# message/rfc822, multipart/alternative in mixed, missing boundaries,
# RFC 2231 parameters, CRLF.  The outputs must be identical.
import os
import subprocess

import pytest

from conftest import suite_program

COURIER = "/usr/bin/reformime"


def ours():
    return os.environ.get("REFORMIME") or suite_program("reformime")


MESSAGES = {
    "nested": (
        "From: a@b.c\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n"
        "--XX\nContent-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "Content-ID: <abc@def>\nContent-Description: =?utf-8?q?caf=C3=A9?=\n"
        "Content-Language: en\n\nHello =E9\nline2\n"
        "--XX\nContent-Type: multipart/alternative; boundary=YY\n\n"
        "--YY\nContent-Type: text/plain\n\nalt1\n"
        "--YY\nContent-Type: text/html; charset=utf-8\n\n<b>x</b>\n--YY--\n"
        "--XX\nContent-Type: message/rfc822\n"
        "Content-Disposition: attachment; filename=\"m.eml\"\n\n"
        "From: x@y\nSubject: inner\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=ZZ\n\n--ZZ\n\ninner text\n"
        "--ZZ\nContent-Type: application/octet-stream; name*0=\"long\"; "
        "name*1=\"name.bin\"\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.bin\n\n"
        "AAAA\n--ZZ--\n--XX--\nepilogue\n"),
    "inner-without-mime-version": (
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: message/rfc822\n\nSubject: x\n"
        "Content-Type: multipart/mixed; boundary=c\n\n--c\n\nz\n--c--\n"
        "--b--\n"),
    "missing-closing-boundary": (
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\n\none\n--b\nContent-Type: text/plain\n\ntwo\n"),
    "missing-all-boundaries": (
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "no boundary here\nat all\n"),
    "empty-last-part": (
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\n"),
    "epilogue": (
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\n\none\n--b--\nepi1\nepi2\n"),
    "crlf": (
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"
        "\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/plain; "
        "charset=UTF-8\r\n\r\ntwo\r\n--b--\r\n"),
    "rfc2231": (
        "MIME-Version: 1.0\nContent-Type: application/x-foo; "
        "name*0=\"a b\"; name*1=\".txt\"; charset=\"KOI8-R\"\n"
        "Content-Disposition: attachment; "
        "filename*=iso-8859-1'en'%E9t%E9.txt\nContent-MD5: abcd==\n\nbody\n"),
    "rfc2231-continued-encoded": (
        "MIME-Version: 1.0\nContent-Type: application/x-foo; name=plain.txt\n"
        "Content-Disposition: attachment; filename*0*=us-ascii''a%20b; "
        "filename*1=c.txt\n\nbody\n"),
    "no-mime-version": "Content-Type: text/html\n\nno mime version\n",
    "digest": (
        "MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=d\n\n"
        "--d\n\nSubject: one\n\nbody one\n--d\n\nSubject: two\n\nbody two\n"
        "--d--\n"),
    "alternative-in-mixed-deep": (
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n\n"
        "--o\nContent-Type: multipart/related; boundary=r\n\n"
        "--r\nContent-Type: multipart/alternative; boundary=a\n\n"
        "--a\n\nplain\n--a\nContent-Type: text/html\n\n<p>h</p>\n--a--\n"
        "--r\nContent-Type: image/png\nContent-ID: img1\n"
        "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--r--\n"
        "--o\nContent-Type: text/plain\n\nlast\n--o--\n"),
}


@pytest.mark.skipif(not os.access(COURIER, os.X_OK),
                    reason="Debian's reformime (maildrop) is not installed")
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_reformime_i_matches_courier(name, tmp_path):
    path = tmp_path / (name + ".eml")
    path.write_bytes(MESSAGES[name].encode())
    env = dict(os.environ, MM_CHARSET="UTF-8")
    with open(path, "rb") as f:
        theirs = subprocess.run([COURIER, "-i"], stdin=f, env=env,
                                capture_output=True, check=True).stdout
    with open(path, "rb") as f:
        mine = subprocess.run([ours(), "-i"], stdin=f, env=env,
                              capture_output=True, check=True).stdout
    assert mine.decode() == theirs.decode()
    # Through a pipe (not seekable) too.
    mine_pipe = subprocess.run([ours(), "-i"], input=path.read_bytes(),
                               env=env, capture_output=True,
                               check=True).stdout
    assert mine_pipe == theirs


@pytest.mark.skipif(not os.access(COURIER, os.X_OK),
                    reason="Debian's reformime (maildrop) is not installed")
@pytest.mark.parametrize("section", ["1.1", "1.2.2", "1.3.1.2"])
def test_reformime_e_matches_courier(section, tmp_path):
    path = tmp_path / "nested.eml"
    path.write_bytes(MESSAGES["nested"].encode())
    outs = []
    for tool in (COURIER, ours()):
        with open(path, "rb") as f:
            outs.append(subprocess.run([tool, "-e", "-s", section], stdin=f,
                                       capture_output=True).stdout)
    assert outs[0] == outs[1]


def run_both(args, data):
    outs = []
    for tool in (COURIER, ours()):
        p = subprocess.run([tool] + args, input=data, capture_output=True,
                           env=dict(os.environ, MM_CHARSET="UTF-8"))
        outs.append((p.returncode, p.stdout, p.stderr))
    return outs


@pytest.mark.skipif(not os.access(COURIER, os.X_OK),
                    reason="Debian's reformime (maildrop) is not installed")
@pytest.mark.parametrize("args", [
    ["-e", "-s", "1.1,1.2"],
    ["-e", "-s", "1.2,1.1,1.3.1.1"],
    ["-e", "-s", "1.1,1.9"],
    ["-e", "-s", "1.9"],
    ["-i", "-s", "1.2.2,1.1"],
])
def test_reformime_section_list_matches_courier(args):
    theirs, mine = run_both(args, MESSAGES["nested"].encode())
    assert mine == theirs


@pytest.mark.skipif(not os.access(COURIER, os.X_OK),
                    reason="Debian's reformime (maildrop) is not installed")
@pytest.mark.parametrize("header", [
    "=?iso-8859-1?Q?H=F3la!?=", "=?utf-8?b?Y2Fmw6k=?= plain",
    "plain text", "=?bogus", ""])
def test_reformime_h_matches_courier(header):
    theirs, mine = run_both(["-h", header], b"")
    assert mine == theirs


@pytest.mark.skipif(not os.access(COURIER, os.X_OK),
                    reason="Debian's reformime (maildrop) is not installed")
def test_reformime_X_exit_status(tmp_path):
    # Debian's reformime 2.9.3 cannot run a program here (its -X exec
    # fails, and without -s it crashes), so this holds ours to
    # reformime(1): the first failing program stops the extraction and
    # the exit code is 20 plus its status
    script = tmp_path / "prog.sh"
    script.write_text("#!/bin/sh\ncat >> %s/out\nexit 3\n" % tmp_path)
    script.chmod(0o755)
    p = subprocess.run([ours(), "-s", "1.1,1.2", "-X", str(script)],
                       input=MESSAGES["nested"].encode(),
                       capture_output=True)
    assert p.returncode == 23
    assert (tmp_path / "out").read_bytes() == b"Hello \xe9\nline2"
