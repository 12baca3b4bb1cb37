"""test_newuser_clients.py: the client setups of doc/imap.md tried as a
new user would, with the real programs: the mbsyncrc printed there, as
written (only the host, port, password and paths changed), syncs a folder
tree both ways, twice, then a change on each side; fetchmail fetches over
POP3S, POP3 with STLS, IMAPS and IMAP with STARTTLS; curl reads a nested
MIME part by its IMAP URL."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from imaphelp import deliver, login, running

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "..", "doc", "imap.md")
MBSYNC = shutil.which("mbsync")
FETCHMAIL = shutil.which("fetchmail")
CURL = shutil.which("curl")


@pytest.fixture
def cinst(suite_build):
    def also_pop3(inst):
        inst.program("pop3d")
    with running(suite_build, "test-newuser-cl-", fill=also_pop3) as inst:
        inst.start("pop3d")
        yield inst


def doc_mbsyncrc():
    """The ~/.mbsyncrc block of doc/imap.md, unindented: its lines up to
    the next comment line or the end of the indented block."""
    with open(DOC) as f:
        lines = f.read().split("\n")
    start = [i for i, l in enumerate(lines)
             if l.startswith("    # ~/.mbsyncrc")]
    assert start, "doc/imap.md has no ~/.mbsyncrc block"
    out = []
    for line in lines[start[0] + 1:]:
        if line.startswith("    # ") or (line and not line.startswith("    ")):
            break
        out.append(line[4:])
    return "\n".join(out).strip() + "\n"


def mbsync(conf):
    p = subprocess.run([MBSYNC, "-c", conf, "-a"], capture_output=True,
                       timeout=120)
    return p.returncode, p.stdout.decode() + p.stderr.decode()


@pytest.mark.skipif(MBSYNC is None, reason="mbsync (isync) not installed")
def test_doc_mbsyncrc_as_written(cinst, tmp_path):
    conf = doc_mbsyncrc()
    pwfile = tmp_path / "pw"
    pwfile.write_text(cinst.password + "\n")
    cert = tmp_path / "server.crt"
    shutil.copy(cinst.path("etc", "tls", "server.crt"), cert)
    local = tmp_path / "Mail" / "demo"
    local.mkdir(parents=True)
    conf = (conf.replace("Host localhost", "Host localhost")
            .replace("Port 2993", "Port %d" % cinst.ports["imaps"])
            .replace("User demo@example.test", "User " + cinst.login)
            .replace("cat /path/to/run/etc/demo-password",
                     "cat %s" % pwfile)
            .replace("/path/to/run/etc/tls/server.crt", str(cert))
            .replace("~/Mail/demo", str(local)))
    assert "Channel demo" in conf
    rc_path = tmp_path / "mbsyncrc"
    rc_path.write_text(conf)

    m = login(cinst)
    assert m.create("Projects.Alpha")[0] == "OK"
    assert m.append("Projects.Alpha", "(\\Seen)", None,
                    b"From: s@x\r\nSubject: from server\r\n\r\nsrv\r\n"
                    )[0] == "OK"
    deliver(cinst, "From: a@b\nSubject: inbox one\n\nhello\n")
    # a local folder tree the server does not have yet
    for d in ("Local", "Local/Sub"):
        for s in ("cur", "new", "tmp"):
            (local / d / s).mkdir(parents=True)
    (local / "Local" / "Sub" / "new" / "1.local").write_bytes(
        b"From: l@x\nSubject: from local\n\nlocal\n")

    rc, out = mbsync(rc_path)
    assert rc == 0, out
    assert "not recognized" not in out, out
    rc, out = mbsync(rc_path)             # a second run changes nothing
    assert rc == 0, out

    def files(d):
        return [n for s in ("cur", "new") for n in os.listdir(local / d / s)]
    assert len(files("INBOX")) == 1
    assert len(files("Projects/Alpha")) == 1
    st, data = m.list('""', "Local*")
    names = sorted(x.decode().rsplit(" ", 1)[1] for x in data)
    assert names == ["Local", "Local.Sub"], data
    assert m.select("Local.Sub")[0] == "OK"
    st, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"from local" in data[0][1]

    # a change on each side: a flag on the server, a deletion here
    assert m.store("1", "+FLAGS", "\\Flagged")[0] == "OK"
    for n in files("Projects/Alpha"):
        for s in ("cur", "new"):
            p = local / "Projects" / "Alpha" / s / n
            if p.exists():
                p.unlink()
    rc, out = mbsync(rc_path)
    assert rc == 0, out
    [flagged] = files("Local/Sub")
    assert "F" in flagged.split(",")[-1], flagged
    st, data = m.status("Projects.Alpha", "(MESSAGES)")
    assert b"MESSAGES 0" in data[0], data
    m.logout()


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail not installed")
@pytest.mark.parametrize("proto,port,tls", [
    ("POP3", "pop3s", ["--ssl"]),
    ("POP3", "pop3", ["--sslproto", "tls1.2+"]),
    ("IMAP", "imaps", ["--ssl"]),
    ("IMAP", "imap", ["--sslproto", "tls1.2+"]),
])
def test_fetchmail(cinst, tmp_path, proto, port, tls):
    deliver(cinst, "From: a@b\nSubject: fetch me\n\n8-bit caf\xe9 body\n")
    deliver(cinst, "From: a@b\nSubject: and me\n\nsecond\n")
    rc = tmp_path / "fetchmailrc"
    rc.write_text('poll localhost with password "%s"\n' % cinst.password)
    rc.chmod(0o600)
    out = tmp_path / "fetched"
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run(
        [FETCHMAIL, "-f", str(rc), "-p", proto, "--port",
         str(cinst.ports[port])] + tls +
        ["--sslcertck", "--sslcertfile",
         cinst.path("etc", "tls", "server.crt"),
         "-u", cinst.login, "-a", "--mda", "cat >> %s" % out, "localhost"],
        capture_output=True, timeout=120, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    data = out.read_bytes()
    assert data.count(b"Subject: fetch me") == 1
    assert data.count(b"Subject: and me") == 1
    assert "caf\xe9".encode() in data or "café".encode() in data
    # fetched without -k: gone from the server
    m = login(cinst)
    st, d = m.status("INBOX", "(MESSAGES)")
    assert b"MESSAGES 0" in d[0], d
    m.logout()


NESTED = (b"From: n@x\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
          b"--outer\r\nContent-Type: multipart/alternative; boundary=in\r\n"
          b"\r\n--in\r\nContent-Type: text/plain\r\n\r\nplain part\r\n"
          b"--in\r\nContent-Type: text/html\r\n\r\n<p>html part</p>\r\n"
          b"--in--\r\n--outer--\r\n")


@pytest.mark.skipif(CURL is None, reason="curl not installed")
def test_curl_reads_nested_part(cinst):
    m = login(cinst)
    assert m.append("INBOX", None, None, NESTED)[0] == "OK"
    m.logout()
    base = "imaps://%s:%d/INBOX;UID=1" % (cinst.address,
                                         cinst.ports["imaps"])
    for section, want in (("1.2", b"<p>html part</p>"),
                          ("1.1", b"plain part"),
                          ("1.2.MIME", b"Content-Type: text/html\r\n\r\n")):
        p = subprocess.run(
            [CURL, "-sS", "--max-time", "20", "-k", "-u",
             "%s:%s" % (cinst.login, cinst.password),
             base + "/;SECTION=" + section], capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert p.stdout == want, (section, p.stdout)
