"""test_makemime_diff.py: differential test of our makemime against
Debian's /usr/bin/makemime (package maildrop).  Each case runs both tools
in their own scratch directory holding the same input files; standard
output, standard error, the exit code and every file written must be the
same byte for byte.  The only value normalised is the boundary of a
multipart ("=_N_time_pid": the clock and the process id differ between
the two runs by nature); N is kept.  Inputs: every message of
maildrop-corpus/messages and tools-corpus/, generated edge cases for the
encodings (long lines, 8-bit ratios, NUL, CR, trailing blanks, lines near
the soft-break column), option files, pipes, file descriptors and child
processes."""
import glob
import os
import random
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REF = "/usr/bin/makemime"


def tool(name):
    cands = []
    if os.environ.get("SUITE_PREFIX"):
        cands.append(os.path.join(os.environ["SUITE_PREFIX"], "bin", name))
    for var in ("SUITE_BUILDDIR", "BUILDDIR"):
        if os.environ.get(var):
            cands.append(os.path.join(os.environ[var], "maildrop", name))
    cands.append(os.path.join(HERE, "..", "..", "build", "maildrop", name))
    for c in cands:
        if os.access(c, os.X_OK):
            return os.path.abspath(c)
    pytest.skip("our %s is not built (set SUITE_PREFIX or BUILDDIR)" % name)


def need_ref():
    if not os.access(REF, os.X_OK):
        pytest.skip("%s missing (install Debian's maildrop)" % REF)


BOUNDARY = re.compile(rb"=_(\d+)_\d+_\d+")


def norm(data):
    return BOUNDARY.sub(rb"=_\1_TIME_PID", data)


def run_one(prog, workdir, files, args, stdin, shell):
    os.makedirs(workdir)
    for name, data in files.items():
        with open(os.path.join(workdir, name), "wb") as f:
            f.write(data)
    if shell:
        cmd = ["/bin/sh", "-c", args.replace("MAKEMIME", prog)]
    else:
        cmd = [prog] + args
    p = subprocess.run(cmd, input=stdin, cwd=workdir, capture_output=True,
                       timeout=60)
    written = {}
    for name in sorted(os.listdir(workdir)):
        if name not in files:
            with open(os.path.join(workdir, name), "rb") as f:
                written[name] = norm(f.read())
    return p.returncode, norm(p.stdout), p.stderr, written


def compare(tmp_path, files, args, stdin=b"", shell=False):
    theirs = run_one(REF, str(tmp_path / "ref"), files, args, stdin, shell)
    mine = run_one(tool("makemime"), str(tmp_path / "our"), files, args,
                   stdin, shell)
    assert mine[0] == theirs[0], "exit code"
    assert mine[2] == theirs[2], "stderr"
    assert mine[1] == theirs[1], "stdout"
    assert mine[3] == theirs[3], "files written"
    shutil.rmtree(str(tmp_path / "ref"))
    shutil.rmtree(str(tmp_path / "our"))


def corpus():
    files = sorted(glob.glob(os.path.join(HERE, "maildrop-corpus",
                                          "messages", "*")))
    files += sorted(glob.glob(os.path.join(HERE, "tools-corpus", "*")))
    return [f for f in files if os.path.isfile(f)]


MULTI = (b"Subject: x\nContent-Type: multipart/mixed;\n boundary=\"BB\"\n"
         b"X-A: 1\n\npre\n--BB\nContent-Type: text/plain\n\none\n--BB\n\n"
         b"two\n--BB--\nepi\n")


@pytest.mark.parametrize("path", corpus(), ids=os.path.basename)
def test_corpus(path, tmp_path):
    need_ref()
    with open(path, "rb") as f:
        data = f.read()
    files = {"in": data, "multi": MULTI}
    for args in (["-c", "auto", "in"],
                 ["-c", "text/plain", "-e", "quoted-printable", "in"],
                 ["-c", "application/octet-stream", "-e", "base64", "in"],
                 ["-c", "text/plain", "-e", "8bit", "-C", "utf-8", "-N",
                  "the file.txt", "-a", "Content-Disposition: inline",
                  "in"],
                 ["-m", "multipart/mixed", "-a", "Mime-Version: 1.0", "in"],
                 ["-j", "in", "multi"],
                 ["-j", "multi", "in"]):
        if args[:2] == ["-j", "in"] and b"\0" in data:
            # Debian's -j reads file1's header lines into a C string:
            # what follows a NUL in a header line is lost and the line
            # runs into the next one; ours keeps the bytes
            # (doc/maildrop-tools.md)
            continue
        compare(tmp_path, files, args)
    # the content from a pipe (spooled before it is encoded)
    compare(tmp_path, {}, ["-c", "auto", "-"], stdin=data)


def gen_inputs():
    rnd = random.Random(8)
    cases = {
        "empty": b"",
        "nonl": b"no newline",
        "trail-space-eof": b"a ",
        "spaces-eof": b"   ",
        "trail-blanks": b"a  \nb\t\n \n\t \n",
        "crlf": b"line one \r\nline two\r\n\r\n",
        "bare-cr": b"a\rb\r",
        "ctrl": b"a\x01b\x1bc\x0cd\x7fe\n",
        "nul": b"a\x00b\n",
        "from-dot": b"From me\n.\n.dot\nF\n",
        "equals": b"a=b==\n=\n",
        "long990": b"x" * 990 + b"\n",
        "long991": b"x" * 991 + b"\n",
        "long-cr": b"x" * 990 + b"\r\n",
        "long-nonl": b"x" * 991,
        "long-spaces": b"x" + b" " * 300 + b"x\n",
        "wide-8bit-330": b"\xe9" * 330 + b"\n",
        "wide-8bit-331": b"\xe9" * 331 + b"\n",
        "ratio-111": b"x" * 1000 + b"\xe9" * 111 + b"\n",
        "ratio-112": b"x" * 1000 + b"\xe9" * 112 + b"\n",
        "ratio-lines": b"x\n" * 1000 + b"x" * 1000 + b"\xe9" * 334 + b"\n",
        "many-8bit-short": b"\xe9" * 500 + b"\n" * 1000,
    }
    for col in range(68, 78):
        for tail in (b"=", b" z", b"  \n", b"\xe9\xe9", b"\t", b" \n",
                     b"yy\n"):
            cases["col%d-%s" % (col, tail.hex())] = b"y" * col + tail
    for i in range(40):
        n = rnd.randrange(0, 3000)
        alphabet = rnd.choice([b"ab \t\n", b"ab =\n\r", bytes(range(256)),
                               b"x" * 50 + b" \n\xe9"])
        cases["random%d" % i] = bytes(rnd.choice(alphabet)
                                      for _ in range(n))
    return cases


GEN = gen_inputs()


@pytest.mark.parametrize("name", sorted(GEN))
def test_encodings(name, tmp_path):
    need_ref()
    files = {"in": GEN[name]}
    for args in (["-c", "auto", "in"],
                 ["-c", "text/plain", "-e", "quoted-printable", "in"],
                 ["-c", "image/gif", "-e", "base64", "in"]):
        compare(tmp_path, files, args)


NAMES = ["plain", "a b", 'x"y', "\u00e9.txt", "a;b", "a=b", "n" * 70,
         "n" * 71, "n" * 200, "\u00e9" * 40, "a b" * 40, "=n" * 40,
         "a/b*@,?[<~!#$&+^`{|}_-.]>", "a\tb", "a'b%c(d):e\\"]
NAMES += ["n" * j + " " * 8 + "n" * 20 for j in range(55, 64)]


@pytest.mark.parametrize("idx", range(len(NAMES)))
def test_names(idx, tmp_path):
    need_ref()
    files = {"t.txt": b"hello\nworld\n"}
    for cs in ([], ["-C", "utf-8"], ["-C", "iso-8859-1"], ["-C", "x"]):
        compare(tmp_path, files, ["-c", "text/plain"] + cs +
                ["-N", NAMES[idx], "t.txt"])


OPTION_CASES = [
    [],
    ["-x"],
    ["-c"],
    ["-c", "text/plain"],
    ["-c", "text/plain", "nonexist"],
    ["-c", "text/plain", "-e", "bogus", "t.txt"],
    ["-c", "text/plain", "-e", "auto", "t.txt"],
    ["-c", "text/plain", "t.txt", "extra"],
    ["-c", "text/plain", "t.txt", "-e", "base64"],
    ["-ctext/plain", "t.txt"],
    ["-c", "text/plain", "-c", "text/html", "t.txt"],
    ["-c", "text/plain", "-m", "multipart/mixed", "t.txt"],
    ["-a", "X: 1", "-c", "text/plain", "t.txt"],
    ["-c", "text/plain", "-e", "7bit", "-e", "BASE64", "t.txt"],
    ["-c", "text/plain", "-eQuoted-Printable", "t.txt"],
    ["-c", "text/plain", "-a", "X: 1", "-a", "Y: 2", "-N", "a", "-N", "b",
     "-C", "c", "-C", "d", "t.txt"],
    ["-c", "text/plain", "--", "t.txt"],
    ["-c", "-a", "t.txt"],
    ["-c", "", "t.txt"],
    ["-c", "text/plain", ""],
    ["-c", "text/plain", ")"],
    ["-c", "auto", "-e", "8bit", "nul.txt"],
    ["-c", "auto", "nul.txt"],
    ["-c", "text/plain", "-o", "out1", "t.txt"],
    ["-c", "text/plain", "-oout1", "-o", "out2", "t.txt"],
    ["-c", "text/plain", "-o", "out1", "nonexist"],
    ["-c", "text/plain", "-o", "nodir/x", "t.txt"],
    ["-c", "text/plain", "-o"],
    ["-c", "text/plain", "-a"],
    ["-c", "text/plain", "-e"],
    ["-m", "t.txt"],
    ["-m", "-a", "X: y", "t.txt"],
    ["-mmultipart/alternative", "t.txt"],
    ["-m", "multipart/alternative", "-e", "7bit", "t.txt"],
    ["-m", "multipart/x", "-C", "utf-8", "-N", "foo", "t.txt"],
    ["-m", "(", "-c", "text/plain", "t.txt", ")"],
    ["-j", "m.txt"],
    ["-j", "m.txt", "t.txt", "t.txt"],
    ["-j", "-o", "x", "m.txt", "t.txt"],
    ["-j", "m.txt", "-o", "out", "t.txt"],
    ["-j", "m.txt", "t.txt"],
    ["-j", "related.txt", "nonl.txt"],
    ["-j", "strange.txt", "nonl.txt"],
    ["-j", "unclosed.txt", "nonl.txt"],
    ["-j", "t.txt", "t.txt"],
    ["-j", "lower.txt", "t.txt"],
    ["-c", "text/plain", "(", "-c", "text/html", "t.txt", ")"],
    ["-c", "text/plain", "(", "-c", "text/html", "t.txt", "-o", "x", ")"],
    ["-c", "text/plain", "(", "-c", "text/html", "t.txt"],
    ["-c", "text/plain", "(", ")"],
    ["-j", "(", "-m", "multipart/alternative", "-a",
     "Content-Disposition: inline", "(", "-c", "text/plain", "t.txt", ")",
     ")", "-o", "out", "(", "-c", "text/html", "t.txt", ")"],
    ["@opts"],
    ["@opts", "-a", "X: ignored"],
    ["@badopts"],
    ["@crlfopts"],
    ["@nested"],
    ["@nonexist"],
    ["-c", "text/plain", "@opts"],
]

FILES = {
    "t.txt": b"hello\nworld\n",
    "nonl.txt": b"nonl",
    "nul.txt": b"a\x00b\n",
    "m.txt": MULTI,
    "related.txt": b"Content-Type: Multipart/Related; type=\"text/html\"; "
                   b"boundary=BB; start=\"<x>\"\n\n--BB\n\none\n--BB--\n",
    "strange.txt": b"Content-Type: multipart/mixed; boundary=BB\n\n--BB\n\n"
                   b"one\n--BBx\n--BB \n--BB--x\n--BB--\nafter\n",
    "unclosed.txt": b"Content-Type: multipart/mixed; boundary=BB\n\n--BB\n"
                    b"\none\n",
    "lower.txt": b"content-type: multipart/mixed;\n\tboundary=\"BB\"\n"
                 b"X: y\n\n--BB\n\none\n--BB--\n",
    "opts": b"  -c\n\n# comment\n   text/plain; charset=x  \n-a\n X-Y: z "
            b"\nt.txt\n",
    "badopts": b"  -c  \ntext/plain\nt.txt\n",
    "crlfopts": b"-c\r\ntext/plain\r\nt.txt\r\n",
    "nested": b"-j\n(\n  -m\n    multipart/mixed\n  -a\n    Mime-Version: "
              b"1.0\n  (\n    -c\n    text/plain; charset=iso-8859-1\n"
              b"    t.txt\n  )\n)\n-o\n  output.msg\n(\n  -c\n  image/gif\n"
              b"  -a\n  Content-Disposition: attachment\n  nul.txt\n)\n",
}


@pytest.mark.parametrize("idx", range(len(OPTION_CASES)))
def test_options(idx, tmp_path):
    need_ref()
    compare(tmp_path, FILES, OPTION_CASES[idx])


SHELL_CASES = [
    # options and then the content through one pipe
    ("printf -- '-c\\ntext/plain\\n&0\\n-\\nbody line\\n' | MAKEMIME @-",
     b""),
    ("printf -- '-c\\ntext/plain\\n-\\n-\\n' | MAKEMIME @-", b""),
    ("printf -- '-c\\ntext/plain\\n-\\n' | MAKEMIME @-", b""),
    # file descriptors for input, options and output
    ("MAKEMIME -c auto '&3' 3<t.txt", b""),
    ("MAKEMIME -c auto -o '&4' t.txt 4>fd4.out", b""),
    ("MAKEMIME @\\&5 5<opts", b""),
    ("MAKEMIME -j '&3' '&4' 3<m.txt 4<nonl.txt", b""),
    ("MAKEMIME -c text/plain -e base64 -", b"from stdin\n\x00\xff"),
    ("MAKEMIME -c auto -", b"x" * 5000 + b"\n"),
]


@pytest.mark.parametrize("idx", range(len(SHELL_CASES)))
def test_pipes(idx, tmp_path):
    need_ref()
    cmd, stdin = SHELL_CASES[idx]
    compare(tmp_path, FILES, cmd, stdin=stdin, shell=True)
