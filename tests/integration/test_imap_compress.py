"""test_imap_compress.py: COMPRESS=DEFLATE (RFC 4978) in imapd against a
throw-away instance: Python's imaplib logs in over STARTTLS, sends
COMPRESS DEFLATE, then wraps its socket in raw DEFLATE both ways (zlib
with wbits -15, a sync flush after each command); the session goes on
compressed (SELECT, APPEND, FETCH of a large message, LOGOUT), a second
COMPRESS gets NO [COMPRESSIONACTIVE], bad DEFLATE data ends the session,
and the tunnel (a pair of fds) does not offer it."""

import imaplib
import zlib

import pytest

from test_imap import deliver, login  # noqa: F401
from test_imap import iinst  # noqa: F401  (the instance fixture)
from maildirs import make_maildir

# imaplib runs only the commands it knows
imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class Deflated:
    """Replaces imaplib's I/O with raw DEFLATE streams over its socket."""

    def __init__(self, m):
        self.m = m
        self.sock = m.sock
        self.comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.decomp = zlib.decompressobj(-15)
        self.inbuf = b""
        self.raw_in = 0
        self.plain_in = 0
        m.send = self.send
        m.readline = self.readline
        m.read = self.read

    def send(self, data):
        self.sock.sendall(self.comp.compress(data) +
                          self.comp.flush(zlib.Z_SYNC_FLUSH))

    def _fill(self):
        raw = self.sock.recv(65536)
        if not raw:
            raise EOFError("connection closed")
        self.raw_in += len(raw)
        plain = self.decomp.decompress(raw)
        self.plain_in += len(plain)
        self.inbuf += plain

    def readline(self):
        while b"\n" not in self.inbuf:
            self._fill()
        i = self.inbuf.index(b"\n") + 1
        line, self.inbuf = self.inbuf[:i], self.inbuf[i:]
        return line

    def read(self, size):
        while len(self.inbuf) < size:
            self._fill()
        data, self.inbuf = self.inbuf[:size], self.inbuf[size:]
        return data


def compress(m):
    assert "COMPRESS=DEFLATE" in m.capabilities
    typ, data = m._simple_command("COMPRESS", "DEFLATE")
    assert typ == "OK", data
    return Deflated(m)


def test_compressed_session(iinst):  # noqa: F811
    body = "".join("line %d of a long and repetitive message\n" % i
                   for i in range(20000))
    deliver(iinst, "From: a@example.test\nSubject: big\n\n" + body)
    m = login(iinst)
    typ, data = m.capability()
    caps = data[0].split()
    assert b"COMPRESS=DEFLATE" in caps, data
    m.capabilities = tuple(c.decode() for c in caps)
    d = compress(m)
    typ, data = m.capability()
    assert typ == "OK" and b"COMPRESS=DEFLATE" not in data[0].split()
    typ, data = m._simple_command("COMPRESS", "DEFLATE")
    assert typ == "NO"
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    msg = b"From: b@example.test\r\nSubject: appended\r\n\r\n" + \
        b"x" * 100000 + b"\r\n"
    typ, data = m.append("INBOX", None, None, msg)
    assert typ == "OK"
    typ, data = m.fetch("1:2", "(BODY.PEEK[] RFC822.SIZE)")
    assert typ == "OK"
    bodies = [item[1] for item in data if isinstance(item, tuple)]
    assert bodies[0].endswith(b"line 19999 of a long and repetitive "
                              b"message\r\n")
    assert bodies[1] == msg
    # the answer came compressed: far fewer bytes on the wire
    assert d.raw_in * 10 < d.plain_in, (d.raw_in, d.plain_in)
    typ, data = m.logout()
    assert typ == "BYE"


def test_bad_algorithm_and_bad_stream(iinst):  # noqa: F811
    m = login(iinst)
    with pytest.raises(imaplib.IMAP4.error):
        m._simple_command("COMPRESS", "LZ77")
    typ, data = m.noop()
    assert typ == "OK"
    typ, data = m._simple_command("COMPRESS", "DEFLATE")
    assert typ == "OK"
    # garbage instead of DEFLATE: the server closes the session
    m.sock.sendall(b"\xff" * 64)
    m.sock.settimeout(20)
    rest = b""
    while True:
        chunk = m.sock.recv(4096)
        if not chunk:
            break
        rest += chunk
    assert len(rest) < 4096


def test_tunnel_does_not_offer_it(suite_build, tmp_path):
    imapd = suite_build.program("imapd")
    md = make_maildir(str(tmp_path / "Maildir"))
    m = imaplib.IMAP4_stream("%s %s" % (imapd, md))
    typ, data = m.capability()
    assert b"COMPRESS=DEFLATE" not in data[0].split()
    typ, data = m._simple_command("COMPRESS", "DEFLATE")
    assert typ == "NO"
    m.logout()
