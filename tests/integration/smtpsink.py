"""smtpsink.py: a scripted SMTP server for the tests of outbound delivery
(test_esmtp_out.py, test_esmtp_verp.py, test_privileges.py)."""

import re
import socket
import threading


class FakeSmtp:
    """A scripted SMTP server on (address, port), one thread per
    connection.  ehlo: the keywords advertised; rcpt(addr, n) gives the
    reply to the n-th RCPT of that address (0-based) or None for 250;
    starttls: "refuse" (454) or "break" (220, then the connection is
    closed); idle: seconds a connection may stay silent before the server
    says 421 and closes it (None: no limit).  sessions: one list of
    received lines per connection (its number is the number of
    connections), closed: how many of them ended, and messages: (mail,
    rcpts, data) of each accepted transaction."""

    def __init__(self, address, port, ehlo=("PIPELINING", "8BITMIME",
                                             "DSN", "SIZE 10000000"),
                 rcpt=None, starttls=None, idle=None):
        self.ehlo = list(ehlo)
        self.idle = idle
        self.closed = 0
        if starttls:
            self.ehlo.append("STARTTLS")
        self.rcpt = rcpt or (lambda addr, n: None)
        self.starttls = starttls
        self.sessions = []
        self.messages = []
        self.counts = {}
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(16)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stopped = True
        self.sock.close()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        lines = []
        with self.lock:
            self.sessions.append(lines)
        f = c.makefile("rb")

        def send(text):
            c.sendall(text.encode() + b"\r\n")
        try:
            send("220 fake.test ESMTP")
            mail, rcpts = None, []
            while True:
                c.settimeout(self.idle)
                try:
                    line = f.readline()
                except socket.timeout:
                    send("421 4.4.2 fake.test idle for too long")
                    return
                if not line:
                    return
                cmd = line.decode("latin-1").rstrip("\r\n")
                lines.append(cmd)
                verb = cmd.split(" ")[0].upper()
                if verb == "EHLO":
                    out = ["250-fake.test"] + ["250-" + k
                                               for k in self.ehlo]
                    out[-1] = "250 " + out[-1][4:]
                    c.sendall(("\r\n".join(out) + "\r\n").encode())
                elif verb == "HELO":
                    send("250 fake.test")
                elif verb == "STARTTLS":
                    if self.starttls == "refuse":
                        send("454 4.7.0 TLS not available")
                    else:
                        send("220 go ahead")
                        c.close()
                        return
                elif verb == "MAIL":
                    mail, rcpts = cmd, []
                    send("250 ok")
                elif verb == "RCPT":
                    addr = re.search(r"<([^>]*)>", cmd).group(1)
                    with self.lock:
                        n = self.counts.get(addr, 0)
                        self.counts[addr] = n + 1
                    reply = self.rcpt(addr, n)
                    if reply is None:
                        rcpts.append(cmd)
                    send(reply or "250 ok")
                elif verb == "DATA":
                    if not rcpts:
                        send("554 no valid recipients")
                        continue
                    send("354 go ahead")
                    data = b""
                    while True:
                        l = f.readline()
                        if not l or l == b".\r\n":
                            break
                        data += l
                    with self.lock:
                        self.messages.append((mail, rcpts, data))
                    send("250 2.0.0 accepted")
                elif verb == "RSET":
                    mail, rcpts = None, []
                    send("250 ok")
                elif verb == "QUIT":
                    send("221 bye")
                    return
                else:
                    send("502 unknown")
        except OSError:
            pass
        finally:
            c.close()
            with self.lock:
                self.closed += 1

    @property
    def transactions(self):
        """(MAIL line, [recipient addresses], data) of each accepted
        transaction."""
        with self.lock:
            return [(mail, [re.search(r"<([^>]*)>", r).group(1)
                            for r in rcpts], data)
                    for mail, rcpts, data in self.messages]
