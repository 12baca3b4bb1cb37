"""imaphelp.py: what the IMAP integration tests share: a throw-away
instance made by courier-setup with authdaemond and imapd running (its
mail store owned by the system user "mail" when the tests run as root,
as imapd never serves mail as root), a TLS context for its self-signed
certificate, connections logged in over STARTTLS, and messages put into
its maildir with the maildir's owner."""

import contextlib
import imaplib
import os
import re
import shutil
import ssl
import tempfile
import time

from conftest import make_instance

MAIL_USER = "mail"

_seq = [0]


def tls_ctx():
    """A client context that takes the instance's self-signed
    certificate without checking it."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def start(suite_build, prefix="test-imap-", settings=None, fill=None):
    """A new instance in a folder /tmp/PREFIX*: settings (a dict) appended
    to etc/imapd, authdaemond started and answering, fill(inst) called
    (to put messages in place before imapd first looks), then imapd
    started.  The caller ends it with stop(inst)."""
    root = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(root, 0o755)
    extra = () if os.getuid() != 0 else ("--user", MAIL_USER)
    try:
        inst = make_instance(suite_build, os.path.join(root, "instance"),
                             extra_args=extra)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    inst.tmproot = root
    try:
        inst.program("imapd")
        if settings:
            with open(inst.path("etc", "imapd"), "a") as f:
                for k, v in settings.items():
                    f.write('%s="%s"\n' % (k, v))
        inst.start_auth()
        if fill is not None:
            fill(inst)
        inst.start("imapd")
    except BaseException:
        stop(inst)
        raise
    return inst


def stop(inst):
    """Stops the daemons of an instance of start() and removes it."""
    inst.stop_all()
    shutil.rmtree(inst.tmproot, ignore_errors=True)


@contextlib.contextmanager
def running(suite_build, prefix="test-imap-", settings=None, fill=None):
    """start() and stop() around a with block (for fixtures)."""
    inst = start(suite_build, prefix, settings, fill)
    try:
        yield inst
    finally:
        stop(inst)


def connect(inst, timeout=20):
    """A connection to the instance's IMAP port, after STARTTLS."""
    m = imaplib.IMAP4(inst.address, inst.ports["imap"], timeout=timeout)
    m.starttls(ssl_context=tls_ctx())
    return m


def login(inst, timeout=20, select=None):
    """connect(), logged in as the instance's account; with select, that
    folder selected."""
    m = connect(inst, timeout)
    assert m.login(inst.login, inst.password)[0] == "OK"
    if select is not None:
        assert m.select(select)[0] == "OK"
    return m


def put(inst, sub, name, data, mtime=None):
    """Writes data (str or bytes) to the maildir's sub/name, owned by the
    maildir's owner, with mtime (seconds) when given.  Returns the
    path."""
    if isinstance(data, str):
        data = data.encode()
    path = os.path.join(inst.maildir, sub, name)
    with open(path, "wb") as f:
        f.write(data)
    st = os.stat(inst.maildir)
    os.chown(path, st.st_uid, st.st_gid)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def deliver(inst, text):
    """Delivers text into new/ as a mail server does (written in tmp/,
    then renamed); returns the file's name."""
    _seq[0] += 1
    # (the counter zero-padded: the server numbers new mail in the order
    # of the names, and M100 would sort before an M99 of the same second)
    name = "%d.M%06dP%d.test" % (int(time.time()), _seq[0], os.getpid())
    tmp = put(inst, "tmp", name, text)
    os.rename(tmp, os.path.join(inst.maildir, "new", name))
    return name


class Tunnel:
    """A pre-authenticated session with `imapd DIR` over its stdin and
    stdout: commands sent as written, the raw response lines back (a
    literal joined to its line), each untagged one checked against the
    untagged pattern (the responses the test expects).  env (a dict) is
    added to imapd's environment (USER, OPTIONS, ...)."""

    def __init__(self, imapd, md, untagged, env=None):
        saved = dict(os.environ)
        os.environ.update(env or {})
        try:
            self.m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.untagged = untagged
        self.n = 0

    def cmd(self, text, status="OK"):
        """Runs one command; returns (untagged lines, tagged line), and
        checks the tagged status."""
        self.n += 1
        tag = b"a%d" % self.n
        self.m.send(tag + b" " + text.encode() + b"\r\n")
        lines = []
        while True:
            line = self.m.readfile.readline()
            assert line.endswith(b"\r\n"), line
            line = line[:-2]
            lit = re.search(rb"\{(\d+)\}$", line)
            if lit:
                line += b"\r\n" + self.m.readfile.read(int(lit.group(1)))
                line += self.m.readfile.readline()[:-2]
            if line.startswith(tag + b" "):
                st = line.split(b" ")[1].decode()
                assert st == status, (text, lines, line)
                return lines, line
            assert self.untagged.match(line), line
            lines.append(line)

    def close(self):
        self.m.send(b"z LOGOUT\r\n")
        self.m.readfile.read()
