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


# After those: corners of the language real filter files have (one-line
# nested braces with ';', elsif chains, continuations, comments after
# statements, quoting, ${VAR}, unset variables, foreach, '!' before
# patterns, captures, odd numeric strings, failing xfilter/include/
# programs in exception, import, log/logfile, mbox locking, programs,
# '!' forwarding through a sendmail stand-in, EXITCODE/RETURNCODE, gdbm,
# lookup, hasaddr/getaddr, escape, substr, time, header edits through
# reformail).  Not substr() with a negative length: Debian's maildrop
# loops forever on it; programs and xfilters read the whole message
# (one that exits at once makes Debian's fail or not with the timing).
CORNER_FILTERS = [
    # 0 nested braces on one line, with ; separators
    'if (/^Subject:/)\n{ if (/hello/) ; { echo "hello" ; } ; echo "subj" ; }\n'
    'echo "done"\n',
    # 1 elsif chain
    'if (/^Subject:.*hello/)\n  to "Maildir/.Hello/"\nelsif (/^Subject:.*meeting/)\n'
    '  to "Maildir/.Work/"\nelsif (/^Subject:.*\\[list\\]/)\n{\n  to "Maildir/.Lists/"\n}\n'
    'elsif (/^Subject: *$/)\n  to "Maildir/.NoSubject/"\nelse\n  to "Maildir/.Other/"\n',
    # 2 backslash continuations in strings and expressions
    'X="one \\\n    two \\\n three"\necho "[$X]"\nY=1 + \\\n  2 + \\\n 3\necho $Y\n'
    "Z='single \\\n   cont'\necho \"[$Z]\"\n",
    # 3 comments after statements
    'X=1 # a comment\necho "x=$X" # another\nif (/^From:/) # cond\n{ # brace\n'
    '  echo "from" # inside\n} # end\nY="a # not a comment"\necho $Y\n',
    # 4 ; separators
    'A=1; B=2; C=$A$B; echo $C; echo "$A-$B" ; ; echo end\n',
    # 5 single vs double quotes with $ and backslashes
    "A='$HOME'\necho \"$A\"\nB=\"\\$HOME\"\necho \"$B\"\nC='a\\\\b'\necho \"$C\"\n"
    "D=\"a\\\\b\"\necho \"$D\"\nE=\"x\\\"y\"\necho \"$E\"\nF='it''s'\necho \"$F\"\n"
    "G=\"tab\\there\"\necho \"$G\"\nH=\"nl\\nthere\"\necho \"$H\"\n",
    # 6 ${VAR} forms
    'V=abc\necho "${V}def"\necho "$Vdef|"\necho "${V}${V}"\necho ${V}x\n'
    'echo "${UNSET}z"\necho "$V.$V"\necho "$V-$V"\n',
    # 7 unset/empty variables
    'echo "[$NOPE]"\nE=""\nif ($E eq "")\n  echo "empty"\nif ($NOPE == 0)\n  echo "zero"\n'
    'unset E\necho "[$E]"\nX=$NOPE$NOPE\necho "[$X]"\necho length($X)\n',
    # 8 foreach with weights and MATCH
    'N=0\nforeach /^(To|Cc):.*/\n{\n  N=$N + 1\n  echo "$N: $MATCH"\n}\n'
    'foreach /[a-z]+@[a-z.]+/\n{\n  echo "addr $MATCH"\n}\n',
    # 9 /re/:hb with !
    'if (! /money|free/:hb)\n  echo "clean"\nif (!/^Subject:/)\n  echo "no subject"\n'
    'if (! /invoice/:b && ! /invoice/:h)\n  echo "no invoice"\nelse\n  to "Maildir/.Invoices/"\n',
    # 10 =~ with captures
    'if (/^From:.*<(.*)@(.*)>/)\n{\n  echo "user=$MATCH1 dom=$MATCH2"\n}\n'
    'if ("abc-123-xyz" =~ /([0-9]+)-(.*)/)\n{\n  echo "$MATCH|$MATCH1|$MATCH2|$MATCH3"\n}\n'
    'if ($SIZE =~ /^([0-9])/)\n  echo "first $MATCH1"\n',
    # 11 numeric vs string comparisons of odd strings
    'if ("10" < "9")\n  echo "num lt"\nif ("10" lt "9")\n  echo "str lt"\n'
    'if ("abc" == 0)\n  echo "abc is 0"\nif ("1e2" == 100)\n  echo "1e2"\n'
    'if (" 5" == 5)\n  echo "space5"\nif ("5x" == 5)\n  echo "5x"\nif ("0x10" == 16)\n  echo "hex"\n'
    'if ("-3" < "-2")\n  echo "neg"\nif ("" eq "")\n  echo "emptyeq"\nif ("B" gt "a")\n  echo "case"\n'
    'if ("1.50" == "1.5")\n  echo "float"\nif ("1.50" eq "1.5")\n  echo "floatstr"\n',
    # 12 xfilter with a failing command
    'exception {\n  xfilter "cat >/dev/null; exit 1"\n}\necho "after $RETURNCODE"\nto "Maildir/.Other/"\n',
    # 13 xfilter failing without exception
    'xfilter "cat >/dev/null; exit 3"\nto "Maildir/.Other/"\n',
    # 14 exception include missing
    'exception {\n  include "missing-file"\n}\necho "survived"\ninclude "inc"\necho "$INC"\n',
    # 15 include missing (fatal)
    'include "missing-file"\necho "not reached"\n',
    # 16 import
    'import LOGNAME\necho "$LOGNAME"\nimport SHELL\necho "$SHELL"\nimport NOTSET\necho "[$NOTSET]"\n'
    'PATH=/nowhere\nimport PATH\necho "$PATH"\n',
    # 17 log formats
    'log "plain line"\nlog "with $SIZE"\nlog ""\nto "Maildir/.Main/"\n',
    # 18 logfile switched mid-way
    'log "first"\nlogfile "log2"\nlog "second"\ncc "Maildir/.Copy/"\nto "Maildir/"\n',
    # 19 to an mbox with locking
    'cc "mbox1"\ncc "mbox1"\nto "mbox2"\n',
    # 20 dotlock and flock around an mbox
    'dotlock "my.lock" {\n  cc "mbox"\n}\nflock "mbox" {\n  to "mbox"\n}\n',
    # 21 cc to a program
    'cc "| cat > prog-out"\ncc "|wc -l > lines-out"\nto "Maildir/.Main/"\n',
    # 22 to a failing program
    'to "| cat >/dev/null; exit 7"\n',
    # 23 program with RETURNCODE
    'exception {\n  cc "| cat >/dev/null; exit 9"\n}\necho "rc=$RETURNCODE"\nto "Maildir/"\n',
    # 24 ! forwarding with a sendmail stand-in
    'SENDMAIL="./sendmail-standin"\ncc "!alice@example.com"\n'
    'to "! bob@example.com carol@example.com"\n',
    # 25 exit codes, EXITCODE
    'EXITCODE=5\nif (/hello/)\n  exit\necho "went on"\nEXITCODE=0\n',
    # 26 EXITCODE with delivery
    'EXITCODE=77\nto "Maildir/.Other/"\n',
    # 27 RETURNCODE from backticks and system
    'X=`exit 4`\necho "rc=$RETURNCODE [$X]"\nY=`echo hi; exit 0`\necho "rc=$RETURNCODE [$Y]"\n'
    'system "exit 2"\necho "sys=$RETURNCODE"\n',
    # 28 gdbm
    'gdbmopen("db1", "C")\nX=gdbmstore("k1", "v1")\necho "store=$X"\n'
    'echo gdbmfetch("k1")\necho gdbmfetch("k2", "", "dflt")\nY=gdbmstore("k1", "v2")\n'
    'echo gdbmfetch("k1")\ngdbmclose\nZ=gdbmopen("db1", "R")\necho "open=$Z"\n'
    'echo gdbmfetch("k1")\ngdbmclose\n',
    # 29 lookup
    'if (lookup($SENDER, "badfrom"))\n  echo "bad sender"\n'
    'if (lookup("eve@x", "badfrom"))\n  echo "eve"\nif (lookup("x@spam.example", "badfrom"))\n'
    '  echo "spam dom"\nif (lookup("EVE@x", "badfrom", "D"))\n  echo "EVE D"\n'
    'if (lookup("EVE@x", "badfrom"))\n  echo "EVE"\n',
    # 30 hasaddr/getaddr on odd addresses
    'foreach /^(From|To|Cc):.*/\n{\n  echo getaddr($MATCH)\n}\n'
    'if (hasaddr("ann@example.org"))\n  echo "has ann"\nif (hasaddr("ANN@EXAMPLE.ORG"))\n  echo "has ANN"\n'
    'if (hasaddr("nobody@nowhere"))\n  echo "nobody"\necho getaddr("Eve <e@x>, (c) f@y, \\"q, r\\" <g@z>")\n'
    'E=getaddr("")\necho "[$E]"\necho getaddr("group: a@b, c@d;")\n',
    # 31 escape
    'echo escape("a.b*c$d[e]f(g)h|i^j?k+l")\nX=escape($SENDER)\necho "$X"\n'
    'echo escape("plain")\necho escape("back\\\\slash")\n',
    # 32 substr with negative or large args
    'S="abcdef"\necho substr($S, 0, 2)\necho substr($S, 2)\necho substr($S, -2)\n'
    'echo substr($S, 10)\necho substr($S, 1, 100)\necho substr($S, 3, 0)\n'
    'echo substr($S, -10, 3)\nE=substr("", 0, 1)\necho "[$E]"\n',
    # 33 time
    'T=time\nif ($T > 1600000000)\n  echo "time ok"\nif (time > 0)\n  echo "time > 0"\n',
    # 34 header edit with xfilter reformail -A
    'xfilter "reformail -A \'X-Filtered: yes\'"\nxfilter "reformail -I \'Subject: replaced\'"\n'
    'if (/^X-Filtered: yes/)\n  to "Maildir/.Other/"\n',
    # 35 reformail -a and -i in xfilter
    'xfilter "reformail -a \'Message-ID: <new@x>\' -i \'X-Loop: me\'"\n'
    'xfilter "reformail -u X-Loop"\nto "Maildir/"\n',
    # 36 tolower/toupper/length
    'echo tolower("MiXeD Case ÄÖ")\necho toupper("mixed")\necho length("")\n'
    'echo length("ÄÖ")\nX=toupper($SENDER)\necho "$X"\n',
    # 37 weights
    'S=(/money|free|offer/:b,10,0.5)\necho "score $S"\nT=(/e/:b,1,1)\necho "t $T"\n'
    'U=(/^[A-Z]/:h,2)\necho "u $U"\nif (/money/:b,1,0 > 0)\n  echo "pos"\n',
    # 38 logical operators and precedence
    'if (1 || 0 && 0)\n  echo "prec1"\nif ((1 || 0) && 0)\n  echo "prec2"\n'
    'X=3 + 4 * 2\necho $X\nY=(3 + 4) * 2\necho $Y\nZ=10 / 4\necho $Z\nW=7 - 10\necho $W\n'
    'V=1 | 2\necho $V\nU=6 & 3\necho $U\nA=!0\necho $A\n',
    # 39 while loop with counter and break via condition
    'I=0\nS=""\nwhile ($I < 5)\n{\n  S="$S$I"\n  I=$I + 1\n}\necho "$S $I"\n',
    # 40 pattern D flag and case
    'if (/^subject:/)\n  echo "ci"\nif (/^subject:/:D)\n  echo "cs"\nif (/HELLO/:b)\n  echo "body ci"\n'
    'if (/HELLO/:bD)\n  echo "body cs"\n',
    # 41 to with variables and default
    'F="Other"\nto "Maildir/.$F/"\n',
    # 42 cc then exit
    'cc "Maildir/.Copy/"\nexit\n',
    # 43 numeric strings in arithmetic
    'A="12abc" + 1\necho $A\nB="" + 5\necho $B\nC="3.7" * 2\necho $C\nD=1/3\necho $D\n'
    'E=2 / 3\necho $E\nF=10 / 0\necho $F\nG=1000000 * 1000000\necho $G\n',
    # 44 SIZE LINES and header variables
    'B=($SIZE > 0)\necho "size>0 $B"\nif ($LINES > 3)\n  to "Maildir/.Big/"\nelse\n  to "Maildir/.Short/"\n',
    # 45 nested if inside else on separate lines
    'if (/^Subject:.*hello/)\n{\n  to "Maildir/.Hello/"\n}\nelse\n{\n  if (/^From:.*example\\.com/)\n'
    '  {\n    to "Maildir/.Example/"\n  }\n  else\n    echo "other"\n}\n',
    # 46 MATCH after failed match and foreach on body
    'if (/^Subject: (.*)/)\n  echo "s=$MATCH1"\nif (/^Nonexistent: (.*)/)\n  echo "n"\n'
    'echo "still $MATCH1"\nforeach /money|free/:b\n{\n  echo "b $MATCH"\n}\n',
    # 47 header name with regex chars and anchors
    'if (/^Message-ID: <[0-9]+\\.[0-9]+@example\\.com>$/)\n  echo "msgid"\n'
    'if (/^To:.*,$/)\n  echo "folded"\nif (/^Date:.*\\+0000$/)\n  echo "utc"\n',
    # 48 assignments inside expressions (a typo for == is one)
    'if (SUBJ = "x")\n  echo "assigned $SUBJ"\necho N=5\nZ=(W=3) + 1\n'
    'echo "$Z $W"\nA=(B=(C=2))\necho $A$B$C\n"Q"=7\necho $Q\n'
    'echo substr("abcdef", S=2)\necho "$S"\n'
    'if ((M=$SIZE) > 0 && (L=$LINES))\n  echo "m=$M l=$L"\n',
    # 49 echo and log escapes; weighted patterns leave MATCH; foreach
    # leaves the last match's MATCH1..
    'echo "a\\tb\\101\\0102\\x\\r|\\q"\nlog "l\\tm\\n"\nlog "no end\\c"\n'
    'log "after"\nif (/^Subject: (.*)/)\n  echo "s=$MATCH1"\n'
    'W=(/e/:b,1,1)\necho "w=$W m=$MATCH1"\n'
    'foreach /^(From|To): *(.*)/\n{\n  echo "in $MATCH|$MATCH1|$MATCH2"\n}\n'
    'echo "after $MATCH|$MATCH1|$MATCH2"\n',
    # 50 getaddr/hasaddr on addresses written oddly; * binds before =~
    'foreach /^(From|To|Cc):.*/\n{\n  echo getaddr($MATCH)\n}\n'
    'echo getaddr("./Maildir")\necho getaddr("a b, a..b@c, .a@b, a@b@c")\n'
    'echo getaddr("a(b)c@d, @x, A <B@C>, d e, x@y (c)")\n'
    'if (hasaddr("a..b@c") || hasaddr("ANN@example.org"))\n  echo "has"\n'
    'echo "ab" =~ /b/ * 2\necho 1 + "ab" =~ /b/\n',
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
    for k, text in enumerate(CORNER_FILTERS):
        n = 120 + len(KEYWORD_FILTERS) + len(MORE_FILTERS) + k
        with open(os.path.join(fdir, "f%03d.filter" % n), "w") as f:
            f.write(PRE + text)


if __name__ == "__main__":
    main()
