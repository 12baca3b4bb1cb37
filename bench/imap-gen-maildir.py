#!/usr/bin/env python3
# bench/imap-gen-maildir.py: writes a realistic maildir of N messages (varied sizes, headers, MIME structure, flags), reproducible from a seed.
"""Usage: imap-gen-maildir.py DIR [N] [SEED]

Writes DIR/{cur,new,tmp} with N messages (default 100000, seed 1), the
same bytes and file names for the same N and SEED.  What is in it, picked
at random from the seed:

- senders and recipients from a pool of 400 people over 40 domains; names
  with accents (about two fifths) and 8 % of the others are sent as RFC
  2047 encoded words (B or Q, UTF-8 or ISO-8859-1);
  Cc on a third of the messages;
- subjects from a vocabulary, with "Re:", "Fwd:", "[list]" leaders on
  some, encoded words on some; replies carry In-Reply-To and References
  to an earlier message (threads several levels deep);
- dates over three years in eight time zones, in the order of delivery
  (the file's mtime is the message's date, as a delivery would leave it);
- structure: text/plain (60 %), multipart/alternative text+html (25 %),
  multipart/mixed with one to three base64 attachments (12 %), a
  forwarded message/rfc822 (3 %); quoted-printable on some text parts;
- sizes: text bodies from a log-normal law (median about 2 KB),
  attachments from 4 KB to 200 KB;
- flags: 97 % in cur/ with ":2," and Seen on most, Answered, Flagged and
  Deleted on a few; the last 0.5 % in new/ (unread, recent).

File names are Courier's: TIME.M<n>P<pid>.bench.example,S=<size>[:2,FLAGS].
On its last line it prints the number of messages whose From: holds
"zoe.quint" (the string SEARCH FROM benchmarks look for), and the total
size in bytes.
"""
import base64
import os
import random
import sys
import time

WORDS = ("meeting report budget draft review update schedule invoice "
         "project release server backup network quarterly planning "
         "agenda minutes proposal contract design feedback summary "
         "question answer urgent follow-up travel holiday offsite "
         "deadline migration outage incident ticket customer order "
         "shipment payment account password security audit policy "
         "training workshop conference lunch dinner party birthday "
         "photos video document spreadsheet presentation slides").split()
FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory "
         "Niaj Olivia Peggy Rupert Sybil Trent Victor Walter Yolanda "
         "Zoe Chloé Jürgen François Søren Łukasz Anaïs Björn").split()
LAST = ("Smith Jones Brown Taylor Wilson Davies Evans Thomas Johnson "
        "Roberts Müller García Dubois Rossi Novak Quint Öberg Lefèvre "
        "Kowalski Andersen").split()
ZONES = ("+0000", "-0500", "-0800", "+0100", "+0200", "+0530", "+0900",
         "-0300")
LISTS = ("[dev]", "[announce]", "[users]", "[ops]")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec")


def encoded_word(text, rng):
    """An RFC 2047 encoded word for TEXT (B or Q, UTF-8 or Latin-1)."""
    if rng.random() < 0.5:
        try:
            raw, cs = text.encode("iso-8859-1"), "ISO-8859-1"
        except UnicodeEncodeError:
            raw, cs = text.encode("utf-8"), "UTF-8"
        return "=?%s?B?%s?=" % (cs, base64.b64encode(raw).decode())
    out = []
    for b in text.encode("utf-8"):
        c = chr(b)
        if c == " ":
            out.append("_")
        elif c.isalnum() and b < 128:
            out.append(c)
        else:
            out.append("=%02X" % b)
    return "=?UTF-8?Q?%s?=" % "".join(out)


def qp_encode(text):
    """Quoted-printable of TEXT (UTF-8), soft line breaks at 76."""
    lines = []
    for line in text.split("\n"):
        cur = ""
        for b in line.encode("utf-8"):
            c = chr(b)
            piece = c if (33 <= b <= 126 and c != "=") or c == " " \
                else "=%02X" % b
            if len(cur) + len(piece) > 75:
                lines.append(cur + "=")
                cur = ""
            cur += piece
        if cur.endswith(" "):
            cur = cur[:-1] + "=20"
        lines.append(cur)
    return "\n".join(lines)


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        rng = self.rng
        self.domains = ["%s%d.example" % (rng.choice(WORDS), i)
                        for i in range(40)]
        self.people = []
        for i in range(400):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            local = "%s.%s%s" % (first.lower(), last.lower(),
                                 "" if rng.random() < 0.7 else str(i))
            local = local.encode("ascii", "ignore").decode()
            local = "".join(c for c in local if c.isalnum() or c == ".")
            self.people.append(("%s %s" % (first, last), local,
                                rng.choice(self.domains)))
        # One rare sender that SEARCH FROM looks for (about 0.3 %).
        self.rare = ("Zoe Quint", "zoe.quint", "quint.example")
        self.msgids = []
        self.subjects = []

    def addr(self, person=None):
        rng = self.rng
        name, local, dom = person or rng.choice(self.people)
        if rng.random() < 0.1:
            return "%s@%s" % (local, dom)
        if any(ord(c) > 127 for c in name) or rng.random() < 0.08:
            return "%s <%s@%s>" % (encoded_word(name, rng), local, dom)
        return "\"%s\" <%s@%s>" % (name, local, dom) if rng.random() < 0.3 \
            else "%s <%s@%s>" % (name, local, dom)

    def text(self, nbytes):
        rng = self.rng
        out, size, line = [], 0, []
        while size < nbytes:
            w = rng.choice(WORDS)
            if rng.random() < 0.02:
                w = rng.choice(("café", "naïve", "Grüße", "déjà"))
            line.append(w)
            if sum(len(x) + 1 for x in line) > 68:
                s = " ".join(line)
                out.append(s)
                size += len(s) + 1
                line = []
                if rng.random() < 0.15:
                    out.append("")
        if line:
            out.append(" ".join(line))
        return "\n".join(out) + "\n"

    def text_part(self, nbytes, subtype="plain"):
        rng = self.rng
        body = self.text(nbytes)
        if subtype == "html":
            body = "<html><body>\n" + "".join(
                "<p>%s</p>\n" % p for p in body.split("\n\n")) + \
                "</body></html>\n"
        if rng.random() < 0.3:
            return ("Content-Type: text/%s; charset=UTF-8\n"
                    "Content-Transfer-Encoding: quoted-printable\n\n%s\n" %
                    (subtype, qp_encode(body)))
        cte = "8bit" if any(ord(c) > 127 for c in body) else "7bit"
        return ("Content-Type: text/%s; charset=UTF-8\n"
                "Content-Transfer-Encoding: %s\n\n%s" % (subtype, cte, body))

    def attachment(self):
        rng = self.rng
        kind = rng.choice((("application/pdf", "pdf"), ("image/jpeg", "jpg"),
                           ("image/png", "png"), ("application/zip", "zip"),
                           ("application/vnd.oasis.opendocument.text",
                            "odt")))
        size = int(min(200000, max(4000, rng.lognormvariate(9.5, 1.0))))
        data = rng.getrandbits(size * 8).to_bytes(size, "little")
        b64 = base64.encodebytes(data).decode()
        name = "%s-%d.%s" % (rng.choice(WORDS), rng.randrange(1000), kind[1])
        return ("Content-Type: %s; name=\"%s\"\n"
                "Content-Disposition: attachment; filename=\"%s\"\n"
                "Content-Transfer-Encoding: base64\n\n%s" %
                (kind[0], name, name, b64))

    def message(self, i, when):
        rng = self.rng
        zone = rng.choice(ZONES)
        sign = 1 if zone[0] == "+" else -1
        off = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
        tm = time.gmtime(when + off)
        date = "%s, %d %s %d %02d:%02d:%02d %s" % (
            DAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon - 1],
            tm.tm_year, tm.tm_hour, tm.tm_min, tm.tm_sec, zone)
        sender = self.rare if rng.random() < 0.003 else None
        frm = self.addr(sender)
        to = ", ".join(self.addr() for _ in range(1 + (rng.random() < 0.2)))
        hdr = ["Return-Path: <bounce-%d@%s>" % (i, rng.choice(self.domains)),
               "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n\tby "
               "mail.bench.example with ESMTPS; %s" % (
                   rng.randrange(9), rng.choice(self.domains),
                   rng.randrange(9), rng.choice(self.domains),
                   rng.randrange(1, 255), date),
               "Date: " + date, "From: " + frm, "To: " + to]
        if rng.random() < 0.33:
            hdr.append("Cc: " + ", ".join(self.addr() for _ in range(
                rng.randrange(1, 4))))
        msgid = "<%d.%x@%s>" % (i, rng.getrandbits(40),
                                rng.choice(self.domains))
        reply = self.msgids and rng.random() < 0.35
        if reply:
            k = rng.randrange(max(0, len(self.msgids) - 2000),
                              len(self.msgids))
            subj = "Re: " + self.subjects[k]
            parent_refs = self.msgids[k]
            hdr.append("In-Reply-To: " + parent_refs[-1])
            hdr.append("References: " + "\n ".join(parent_refs[-8:]))
            refs = parent_refs + [msgid]
        else:
            n = rng.randrange(2, 7)
            subj = " ".join(rng.choice(WORDS) for _ in range(n))
            subj = subj[0].upper() + subj[1:]
            if rng.random() < 0.1:
                subj = rng.choice(LISTS) + " " + subj
            if rng.random() < 0.05:
                subj = "Fwd: " + subj
            refs = [msgid]
        self.msgids.append(refs)
        self.subjects.append(subj.replace("Re: ", "", 1) if reply else subj)
        if rng.random() < 0.08:
            subj = encoded_word(subj + " " + rng.choice(("é", "ü", "→")), rng)
        hdr += ["Subject: " + subj, "Message-ID: " + msgid,
                "MIME-Version: 1.0"]
        if rng.random() < 0.3:
            hdr.append("X-Mailer: %s %d.%d" % (rng.choice(
                ("Thunderbird", "Evolution", "Mutt", "Apple Mail")),
                rng.randrange(1, 120), rng.randrange(10)))
        if rng.random() < 0.2:
            hdr.append("List-Id: <%s.lists.example>" % rng.choice(WORDS))
        size = int(min(60000, max(200, rng.lognormvariate(7.6, 0.9))))
        r = rng.random()
        if r < 0.60:
            part = self.text_part(size)
            head, _, body = part.partition("\n\n")
            hdr += head.split("\n")
            return "\n".join(hdr) + "\n\n" + body
        b = "=_bench_%d_%x" % (i, rng.getrandbits(32))
        if r < 0.85:
            parts = [self.text_part(size), self.text_part(size, "html")]
            ctype = "multipart/alternative"
        elif r < 0.97:
            parts = [self.text_part(size)] + [
                self.attachment() for _ in range(rng.randrange(1, 4))]
            ctype = "multipart/mixed"
        else:
            inner = self.message_inner(i)
            parts = [self.text_part(size // 4),
                     "Content-Type: message/rfc822\n"
                     "Content-Disposition: inline\n\n" + inner]
            ctype = "multipart/mixed"
        hdr.append("Content-Type: %s;\n boundary=\"%s\"" % (ctype, b))
        body = "This is a multi-part message in MIME format.\n\n"
        for p in parts:
            body += "--%s\n%s\n" % (b, p)
        body += "--%s--\n" % b
        return "\n".join(hdr) + "\n\n" + body

    def message_inner(self, i):
        rng = self.rng
        return ("Date: Mon, 1 Jan 2024 10:00:00 +0000\nFrom: %s\nTo: %s\n"
                "Subject: %s\nMessage-ID: <inner.%d@bench.example>\n"
                "MIME-Version: 1.0\n%s" % (
                    self.addr(), self.addr(), rng.choice(WORDS), i,
                    self.text_part(rng.randrange(300, 4000))))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    top = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(top, sub), exist_ok=True)
    g = Gen(seed)
    rng = g.rng
    start = 1600000000
    span = 3 * 365 * 86400
    rare = total = 0
    for i in range(n):
        when = start + span * i // n + rng.randrange(0, 600)
        text = g.message(i, when)
        data = text.encode("utf-8")
        if "zoe.quint" in text.split("\nFrom: ", 1)[1].split("\n", 1)[0]:
            rare += 1
        total += len(data)
        base = "%d.M%dP%d.bench.example,S=%d" % (when, i, 4000 + i % 30000,
                                                 len(data))
        if i >= n - max(1, n // 200):
            path = os.path.join(top, "new", base)
        else:
            f = ""
            if rng.random() < 0.08:
                f += "F"
            if rng.random() < 0.2:
                f += "R"
            if rng.random() < 0.9:
                f += "S"
            if rng.random() < 0.01:
                f += "T"
            path = os.path.join(top, "cur", base + ":2," + f)
        with open(path, "wb") as fp:
            fp.write(data)
        os.utime(path, (when, when))
    print("%d messages, %d from zoe.quint, %d bytes" % (n, rare, total))


if __name__ == "__main__":
    main()
