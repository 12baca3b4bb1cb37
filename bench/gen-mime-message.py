#!/usr/bin/env python3
# bench/gen-mime-message.py: writes a test message of about SIZE_MB
# megabytes with PARTS MIME parts (multipart/mixed holding text parts,
# multipart/alternative pairs, message/rfc822 attachments and base64
# attachments) for bench/mime-structure.sh.
# Usage: gen-mime-message.py SIZE_MB PARTS OUTPUT
import base64
import random
import sys


def main():
    size = int(float(sys.argv[1]) * 1024 * 1024)
    parts = int(sys.argv[2])
    out = open(sys.argv[3], "wb")
    rnd = random.Random(42)
    # Leaf parts: each attachment gets an equal share of the size.
    per_part = max(64, size // max(1, parts))
    w = out.write
    w(b"From: bench@example.test\nTo: you@example.test\n"
      b"Subject: MIME structure benchmark\nMIME-Version: 1.0\n"
      b"Content-Type: multipart/mixed; boundary=\"outer-b\"\n\n"
      b"This is a multi-part message in MIME format.\n")
    blob = base64.encodebytes(rnd.randbytes(per_part * 3 // 4 + 3))
    n = 1
    i = 0
    while n < parts:
        kind = i % 10
        i += 1
        if kind == 3 and n + 3 <= parts:
            w(b"--outer-b\nContent-Type: multipart/alternative; "
              b"boundary=\"alt-%d\"\n\n--alt-%d\n"
              b"Content-Type: text/plain; charset=utf-8\n\n" % (i, i))
            w(b"plain text version\n" * 20)
            w(b"--alt-%d\nContent-Type: text/html; charset=utf-8\n"
              b"Content-Transfer-Encoding: quoted-printable\n\n" % i)
            w(b"<p>html version =C3=A9</p>\n" * 20)
            w(b"--alt-%d--\n" % i)
            n += 3
        elif kind == 7 and n + 2 <= parts:
            w(b"--outer-b\nContent-Type: message/rfc822\n\n"
              b"From: inner@example.test\nSubject: forwarded\n"
              b"MIME-Version: 1.0\nContent-Type: text/plain\n\n")
            w(b"forwarded body line\n" * 50)
            n += 2
        else:
            w(b"--outer-b\nContent-Type: application/octet-stream; "
              b"name=\"file%d.bin\"\nContent-Transfer-Encoding: base64\n"
              b"Content-Disposition: attachment; filename=\"file%d.bin\"\n\n"
              % (i, i))
            w(blob)
            n += 1
    w(b"--outer-b--\n")
    out.close()


main()
