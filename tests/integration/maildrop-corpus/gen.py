#!/usr/bin/env python3
"""gen.py: writes the maildrop differential-test corpus: messages/ (200
messages: plain, folded and encoded headers, MIME multipart with QP and
base64 text parts, 8-bit, From_ lines, odd line ends) and filters/ (filter
files covering every statement, pattern option, weight and function).
Deterministic: run it again and nothing changes."""
import base64
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
rnd = random.Random(42)

NAMES = ["Joe Bloggs", "Ann Example", "Bob", "=?UTF-8?B?SsO8cmdlbg==?=",
         "\"Smith, John\"", "Eve (evil)", "postmaster"]
ADDRS = ["joe@example.com", "ann@example.org", "bob@lists.example.net",
         "jurgen@example.de", "john.smith@example.com", "eve@spam.example",
         "postmaster@example.com", "boss@corp.example"]
SUBJECTS = ["hello world", "Re: meeting tomorrow", "[list] weekly digest",
            "=?ISO-8859-1?Q?caf=E9_cr=E8me?=", "BUY NOW cheap pills",
            "Invoice 12345", "urgent: password reset", "", "fwd: photos",
            "Re: Re: Re: long thread about nothing in particular at all"]
WORDS = ("the quick brown fox jumps over lazy dog hello again money free "
         "offer meeting agenda report invoice unsubscribe click here "
         "From foo bar baz qux").split()


def addr(i):
    n = NAMES[i % len(NAMES)]
    a = ADDRS[i % len(ADDRS)]
    form = i % 3
    if form == 0:
        return f"{n} <{a}>"
    if form == 1:
        return a
    return f"{a} ({n.strip(chr(34))})"


def body_lines(i, n):
    out = []
    for k in range(n):
        words = [WORDS[(i * 7 + k * 3 + j) % len(WORDS)] for j in range(1 + (i + k) % 9)]
        line = " ".join(words)
        if (i + k) % 11 == 0:
            line = "From " + line
        if (i + k) % 13 == 0:
            line = ""
        out.append(line)
    return out


def message(i):
    h = []
    if i % 17 == 0:
        h.append("From bounce@example.com  Mon Jan  1 00:00:00 2024")
    h.append(f"From: {addr(i)}")
    tos = [addr(i + 1 + k) for k in range(1 + i % 3)]
    h.append("To: " + ",\n    ".join(tos) if i % 4 == 0 else "To: " + ", ".join(tos))
    if i % 3 == 0:
        h.append(f"Cc: {addr(i + 5)}")
    if i % 9 == 0:
        h.append(f"Resent-To: {ADDRS[(i + 2) % len(ADDRS)]}")
    subj = SUBJECTS[i % len(SUBJECTS)]
    if subj or i % 2:
        h.append(f"Subject: {subj}")
    h.append(f"Message-ID: <{i}.{i * 31}@example.com>")
    h.append("Date: Mon, 1 Jan 2024 10:%02d:00 +0000" % (i % 60))
    if i % 5 == 0:
        h.append("X-Spam-Score: %d.%d" % (i % 12, i % 10))
    if i % 7 == 0:
        h.append("X-Folded: first part\n\tsecond part\n   third")
    if i % 8 == 0:
        h.append("List-Id: Weekly list <weekly.lists.example.net>")
    if i % 6 == 0:
        h.append("X-Priority: %d" % (1 + i % 5))
    kind = i % 5
    lines = body_lines(i, 3 + i % 12)
    if kind in (0, 1, 2):
        body = "\n".join(lines) + "\n"
    elif kind == 3:
        h.append("MIME-Version: 1.0")
        h.append(f'Content-Type: multipart/mixed; boundary="b{i}"')
        qp = "\n".join(lines[:3]).replace("e", "=E9", 1) if i % 2 else "\n".join(lines[:3])
        b64 = base64.b64encode(("\n".join(lines[3:]) + "\nbase64 secret text\n").encode()).decode()
        body = (f"preamble\n--b{i}\nContent-Type: text/plain; charset=iso-8859-1\n"
                f"Content-Transfer-Encoding: quoted-printable\n\n{qp}\n"
                f"--b{i}\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n{b64}\n"
                f"--b{i}\nContent-Type: application/octet-stream; name=x.bin\n"
                f"Content-Transfer-Encoding: base64\n\naGlkZGVuIGJpbmFyeQo=\n--b{i}--\nepilogue\n")
    else:
        h.append("MIME-Version: 1.0")
        h.append("Content-Type: text/plain; charset=utf-8")
        h.append("Content-Transfer-Encoding: 8bit")
        body = "\n".join(lines) + "\nnaïve café ünïcode\n"
    text = "\n".join(h) + "\n\n" + body
    if i % 23 == 0:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8")


PRE = 'DEFAULT="./Maildir"\nlogfile "log"\n'

TEMPLATES = [
    # assignments, substitution, echo
    'X=abc\nY="[$X] ${X}d $Xd"\nZ=\'$X\'\necho "$Y $Z"\necho foo bar   baz\n',
    'A="a\\\\b"\nB="q\\"q"\necho length($A) length($B)\necho "x\\ty\\c"\necho ""\n',
    'N=5 / 2\nM=7 - 2 * 3\nO=2 / 3\nP=" 12abc" + 1\necho "$N $M $O $P"\necho 1 | 6\necho 3 & 5\necho ~5\n',
    'echo 10 < 9\necho 10 lt 9\necho "abc" le "abd"\necho 3 == 3.0\necho "a" ne "a"\necho 2 >= 2\n',
    'echo "" || "x"\necho 0 && "y"\necho !0\necho !"a"\n',
    # patterns: flags, weights, MATCH
    'if (/^Subject: (.*)/)\n{\n  echo "S=$MATCH1"\n}\n',
    'if (/^subject: (.*)/:D)\n{\n  echo "case $MATCH"\n}\nelse\n{\n  echo nocase\n}\n',
    'S=(/the/:b,1)\nT=(/o/:hb,2,2)\nU=(/^to:/:h,3,0.5)\necho "$S $T $U"\n',
    'if (/hello/:b)\n{\n  to "Maildir/.Hello/"\n}\n',
    'if (/^From: .*example\\.com/)\n{\n  to "Maildir/.Example/"\n}\n',
    'foreach /^(To|Cc): .*/\n{\n  foreach (getaddr $MATCH) =~ /.+/\n  {\n    echo "addr $MATCH"\n  }\n}\n',
    'foreach /[a-z]+@[a-z.]+/:hb\n{\n  echo "m $MATCH"\n}\n',
    'N=0\nforeach /e/:b\n{\n  N=$N + 1\n}\necho "count $N"\n',
    'if (/^X-Spam-Score: ([0-9]+)/)\n{\n  if ($MATCH1 >= 5)\n  {\n    to "Maildir/.Spam/"\n  }\n}\n',
    'if (/^X-Folded: (.*)/)\n{\n  echo "[$MATCH1]"\n}\n',
    'if (/secret|crème|café/:b)\n{\n  echo "found $MATCH"\n}\n',
    'if (/^List-Id: .*<([^.]+)\\./)\n{\n  F=$MATCH1\n  to "Maildir/.$F/"\n}\n',
    'X="The Subject"\nif ($X =~ /subject/)\n{\n echo "yes $MATCH"\n}\nif ($X =~ /subject/:D)\n{\n echo no\n}\n',
    'if (!/^Subject:/)\n{\n  echo "no subject"\n  to "Maildir/.NoSubject/"\n}\n',
    'if (/^Subject: .*(pills|BUY)/ || /free offer/:b)\n{\n  to "Maildir/.Spam/"\n}\nelsif (/^Subject: Re:/)\n{\n  to "Maildir/.Replies/"\n}\nelse\n{\n  echo other\n}\n',
    # functions
    'echo substr("hello", 1, 3) substr("hello", 2)\necho length("naïve")\necho tolower("MiXeD") toupper("MiXeD")\n',
    'E=escape("a.b*c(d)$e")\necho length($E)\necho $E\n',
    'echo getaddr("A <a@b.c>, x@y.z (Z), \\"Q, R\\" <q@r.s>")\n',
    'echo hasaddr("ann@example.org") hasaddr("JOE@EXAMPLE.COM") hasaddr("nobody@nowhere")\n',
    'if (hasaddr("bob@lists.example.net"))\n{\n  to "Maildir/.Bob/"\n}\n',
    'T=time\nif ($T > 1000000000)\n{\n echo "time ok"\n}\n',
    'if (/^From: *(.*)/)\n{\n  A=getaddr($MATCH1)\n  if (lookup($A, "badfrom", "D"))\n  {\n    echo blocked\n    exit\n  }\n}\n',
    # loops, control
    'I=0\nwhile ($I < 5)\n{\n  I=$I + 1\n  S="$S$I"\n}\necho $S\n',
    'echo before\nexit\necho after\n',
    'EXITCODE=3\nexit\n',
    'if (/^Subject:/)\n  echo "single statement if"\necho next\n',
    # delivery
    'to "Maildir/"\n',
    'to Maildir\n',
    'cc "Maildir/.Copy/"\nto "Maildir/.Main/"\n',
    'cc "mbox"\ncc "mbox"\nexit\n',
    'to "mbox"\n',
    'cc "| cat > piped"\necho "E=$EXITCODE"\n',
    'cc "| cat >/dev/null; exit 3"\necho "E=$EXITCODE"\nexit\n',
    'to "| cat >/dev/null; exit 4"\n',
    'to "nonexistent/dir/"\n',
    'exception {\n  to "nonexistent/dir/"\n}\necho recovered\n',
    'MAILDIRQUOTA="10S"\nto "Maildir/"\n',
    'MAILDIRQUOTA="1000000S,1000C"\nto "Maildir/"\n',
    'X=`echo hello; echo there  `\necho "[$X] $RETURNCODE"\nY=`exit 2`\necho "rc=$RETURNCODE"\n',
    'system "exit 5"\necho "rc=$RETURNCODE"\n',
    'X=`grep -c e`\necho "lines with e: $X"\n',
    'xfilter "sed -e s/hello/HELLO/"\nif (/HELLO/:hb)\n{\n  echo "filtered"\n}\n',
    'xfilter "exit 1"\n',
    'log "a log line"\nlog "second"\n',
    'dotlock "lockfile.lock" {\n  echo "in dotlock"\n}\n',
    'flock "flockfile" {\n  echo "in flock"\n}\n',
    'include "inc"\necho "after include $INC"\n',
    'include "missing"\n',
    'exception {\n  include "missing"\n}\necho survived\n',
    'import PATH\necho "$PATH"\nunset PATH\necho "[$PATH]"\n',
    'echo "$SIZE $LINES $LOCKEXT $FROM"\n',
    'if ($SIZE > 600)\n{\n  to "Maildir/.Big/"\n}\n',
    'if ($LINES < 12)\n{\n  to "Maildir/.Short/"\n}\n',
    'gdbmopen("db", "N")\ngdbmstore("a@example.com", "one")\ngdbmstore("example.org", "two")\necho gdbmfetch("a@example.com")\necho gdbmfetch("b@example.org", "D")\necho gdbmfetch("zz", "", "dflt")\ngdbmclose\n',
    # syntax errors (line numbers on stderr; exit code compared)
    'X=1\nif (X\n',
    'echo 1 < 2 < 3\n',
    'X="unterminated\n',
    'if (1)\n{\n  echo x\n',
]


def gen_filters():
    out = []
    for k, t in enumerate(TEMPLATES):
        out.append(PRE + t)
    # combinations: a typical sorting filter with many rules
    folders = ["Lists", "Spam", "Work", "Family", "Invoices", "Other"]
    k = 0
    while len(out) < 120:
        rules = []
        for j in range(2 + k % 6):
            f = folders[(k + j) % len(folders)]
            w = WORDS[(k * 5 + j * 3) % len(WORDS)]
            opt = ["", ":b", ":hb", ":D", ":h,2,2", ":b,1"][(k + j) % 6]
            if opt.endswith(",2,2") or opt.endswith(",1"):
                cond = f"(/{w}/{opt}) > 2"
            else:
                cond = f"/{w}/{opt}"
            act = ["to", "cc"][(k + j) % 2]
            rules.append(f'if ({cond})\n{{\n  {act} "Maildir/.{f}/"\n}}\n')
        out.append(PRE + "".join(rules))
        k += 1
    return out


# After the 120: IMAP keywords (KEYWORDS), stored in courierimapkeywords/
# of the folder delivered to.
KEYWORD_FILTERS = [
    "KEYWORDS='$Label1,foo'\n",
    "if (/hello|meeting/)\n{\n  KEYWORDS='Work,$Important,,Work'\n"
    "  cc \"Maildir/.Work/\"\n}\nKEYWORDS=\"\"\nto Maildir\n",
    "KW=Seen\nKEYWORDS=\"zeta,$KW,alpha,Mid\"\nFLAGS=S\n"
    "to \"Maildir/.Family\"\n",
    "KEYWORDS='ignored,in,mbox'\nto mbox\n",
    "KEYWORDS='$Junk,$NotJunk'\nif (/money|free|offer/:b)\n"
    "  to \"Maildir/.Spam/\"\nKEYWORDS=','\n",
]


# After those: the match inside foreach's parentheses, which Debian's
# maildrop takes too.
MORE_FILTERS = [
    "foreach (/^(From|To|Cc):/)\n{\n  echo \"h $MATCH\"\n}\n"
    "foreach (\"$SIZE-$LINES\" =~ /[0-9]+/)\n{\n  echo \"n $MATCH\"\n}\n"
    "foreach (/money|meeting|free/:b)\n{\n  cc \"Maildir/.Work/\"\n}\n",
    # address headers as patterns see them: a display name keeps its
    # comments ("Eve (evil) <eve@x>" is "\"Eve (evil)\" <eve@x>")
    "foreach /^(From|To|Cc|Reply-To):.*/\n{\n  echo \"$MATCH\"\n}\n"
    "if (/^From:.*evil/)\n{\n  echo \"evil sender\"\n  to \"Maildir/.Spam/\"\n}\n",
]


def main():
    mdir = os.path.join(HERE, "messages")
    fdir = os.path.join(HERE, "filters")
    for d in (mdir, fdir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    for i in range(200):
        with open(os.path.join(mdir, "m%03d.eml" % i), "wb") as f:
            f.write(message(i))
    for k, text in enumerate(gen_filters()):
        with open(os.path.join(fdir, "f%03d.filter" % k), "w") as f:
            f.write(text)
    for k, text in enumerate(KEYWORD_FILTERS):
        with open(os.path.join(fdir, "f%03d.filter" % (120 + k)), "w") as f:
            f.write(PRE + text)
    for k, text in enumerate(MORE_FILTERS):
        n = 120 + len(KEYWORD_FILTERS) + k
        with open(os.path.join(fdir, "f%03d.filter" % n), "w") as f:
            f.write(PRE + text)


if __name__ == "__main__":
    main()
