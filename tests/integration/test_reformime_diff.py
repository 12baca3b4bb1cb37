# tests/integration/test_reformime_diff.py: differential test of our
# reformime against Debian's /usr/bin/reformime (package maildrop 2.9.3)
# over the whole message corpus (maildrop-corpus/messages and
# tools-corpus): the section list, -i, -e -s of every section, -r, -r7,
# -r8 (with -c), -x to a temporary directory, -d, -D, -u, and -h, -H,
# -o, -O of every header of the corpus.  Standard output,
# standard error, the files written and the exit code must be the same
# byte for byte.  The only values normalised are the ones each program
# generates afresh on each run: the pid and the time in the boundaries -r
# makes ("=_host-PID-TIME-0001-N").
import os
import re
import subprocess
from pathlib import Path

import pytest

COURIER = "/usr/bin/reformime"
HERE = Path(__file__).resolve().parent


def ours():
    for cand in (os.environ.get("REFORMIME"),
                 os.path.join(os.environ.get("SUITE_BUILDDIR",
                                             os.environ.get("BUILDDIR",
                                                            "build")),
                              "maildrop/reformime")):
        if cand and os.access(cand, os.X_OK):
            return cand
    pytest.skip("our reformime is not built (set REFORMIME or BUILDDIR)")


def corpus():
    files = sorted((HERE / "maildrop-corpus" / "messages").glob("*.eml"))
    files += sorted(p for p in (HERE / "tools-corpus").iterdir()
                    if p.is_file())
    return files


MESSAGES = corpus()
IDS = [p.parent.name.split("-")[0] + "/" + p.name for p in MESSAGES]
ENV = dict(os.environ, MM_CHARSET="UTF-8", LANG="C.UTF-8")
ENV.pop("LC_ALL", None)

BOUNDARY = re.compile(rb"=_([A-Za-z0-9.-]+?)-[0-9]+-[0-9]+-0001-([0-9]+)")

pytestmark = pytest.mark.skipif(
    not os.access(COURIER, os.X_OK),
    reason="Debian's reformime (maildrop) is not installed")


# Where ours differs from Debian's on purpose or is not done yet (listed
# in doc/maildrop-tools.md); these are expected to fail, strictly.
KNOWN = {
    # Debian's treats the last header line of a message that ends without
    # a line end (and has no body) as body, after an empty line; ours
    # keeps it in the header
    ("no-end.eml", "-i"): "last header line without line end",
    ("no-end.eml", "-r"): "last header line without line end",
    ("no-end.eml", "-r7"): "last header line without line end",
    ("no-end.eml", "-r8"): "last header line without line end",
    ("no-end.eml", "-r7-ciso-8859-1"): "last header line without line end",
    ("no-end.eml", "-u"): "last header line without line end",
}


def known(path, args):
    reason = KNOWN.get((path.name, "".join(args)))
    if reason:
        pytest.xfail(reason)


def norm(data):
    return BOUNDARY.sub(rb"=_\1-PID-TIME-0001-\2", data)


def run(tool, args, path, cwd=None):
    with open(path, "rb") as f:
        p = subprocess.run([tool] + args, stdin=f, env=ENV, cwd=cwd,
                           capture_output=True, timeout=60)
    return p.returncode, norm(p.stdout), norm(p.stderr)


def sections(path):
    with open(path, "rb") as f:
        out = subprocess.run([COURIER], stdin=f, env=ENV,
                             capture_output=True, timeout=60).stdout
    return out.decode().split()


@pytest.mark.parametrize("path", MESSAGES, ids=IDS)
@pytest.mark.parametrize("args", [[], ["-i"], ["-r"], ["-r7"], ["-r8"],
                                  ["-r7", "-c", "iso-8859-1"],
                                  ["-d"], ["-D"]],
                         ids=lambda a: "".join(a) or "list")
def test_same_output(path, args):
    known(path, args)
    theirs = run(COURIER, args, path)
    mine = run(ours(), args, path)
    assert mine == theirs


@pytest.mark.parametrize("path", [p for p in MESSAGES
                                  if p.name != "no-end.eml"],
                         ids=lambda p: p.name)
def test_extract_each_section(path):
    # no-end.eml: see KNOWN
    secs = sections(path)
    for s in secs:
        for args in (["-e", "-s", s], ["-i", "-s", s]):
            assert run(ours(), args, path) == run(COURIER, args, path), \
                (args, s)
    if len(secs) > 2:
        args = ["-e", "-s", ",".join(reversed(secs[1:]))]
        assert run(ours(), args, path) == run(COURIER, args, path)


@pytest.mark.parametrize("path", [p for p in MESSAGES
                                  if p.name != "no-end.eml"],
                         ids=lambda p: p.name)
def test_extract_x_files(path, tmp_path):
    # -xPREFIX of each section in turn (without -s Debian's crashes with
    # SIGSEGV).  A part without a file name gets TIME.PID-N.HOST; the
    # time and pid are normalised.
    for s in sections(path):
        results = []
        for tool in (COURIER, ours()):
            d = tmp_path / ("theirs" if tool == COURIER else "mine") / s
            d.mkdir(parents=True)
            r = run(tool, ["-x" + str(d) + "/p-", "-s", s], path)
            files = sorted(f.read_bytes() for f in d.iterdir())
            names = sorted(re.sub(r"^p-[0-9]+\.[0-9]+-", "p-T.P-", f.name)
                           for f in d.iterdir())
            results.append((r[0], r[1].replace(bytes(d), b"D"), files,
                            names))
        assert results[1] == results[0], s


DIGEST = re.compile(rb"reformime_[0-9]+_([0-9]+)")


def test_digest_m(tmp_path):
    # -m: a multipart/digest of the corpus files (names on standard
    # input, then as arguments), of a file whose lines start with the
    # boundary (the counter goes up), and the errors: a missing file, an
    # empty name, no names at all.  The time in the boundary is
    # normalised.
    import time
    t = int(time.time())
    clash = tmp_path / "clash.eml"
    clash.write_bytes(b"Subject: c\n\n" + b"".join(
        b"--REFORMIME_%d_1\n--reformime_%d_2x\n" % (t + i, t + i)
        for i in range(4)))
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    names = [str(p) for p in MESSAGES] + [str(clash), str(empty)]
    cases = [("\n".join(names) + "\n", []),
             ("\n".join(names[:5]), []),
             ("", names[5:9]),
             (names[0] + "\n" + str(tmp_path / "missing") + "\n", []),
             (names[0] + "\n\n", []),
             ("", []),
             (str(tmp_path) + "\n", [])]
    for stdin, args in cases:
        res = []
        for tool in (COURIER, ours()):
            p = subprocess.run([tool, "-m"] + args, input=stdin.encode(),
                               env=ENV, capture_output=True, timeout=60)
            res.append((p.returncode, DIGEST.sub(rb"reformime_T_\1",
                                                 p.stdout), p.stderr))
        assert res[1] == res[0], (stdin[:80], args)


def test_extract_x_clash(tmp_path):
    # -xPREFIX with a list of sections whose file names are the same, run
    # twice into the same directory: "PATH exists." and the N- names.
    path = HERE / "tools-corpus" / "same-names.eml"
    results = []
    for tool in (COURIER, ours()):
        d = tmp_path / ("theirs" if tool == COURIER else "mine")
        d.mkdir()
        out = []
        for args in (["-s", "1.1,1.2,1.3,1.4"], ["-s", "1.3"]):
            r = run(tool, ["-x" + str(d) + "/p-"] + args, path)
            out.append((r[0], r[1].replace(bytes(d), b"D"), r[2]))
        files = sorted((re.sub(r"^p-[0-9]+\.[0-9]+-", "p-T.P-", f.name),
                        f.read_bytes()) for f in d.iterdir())
        results.append((out, files))
    assert results[1] == results[0]


@pytest.mark.parametrize("path", MESSAGES, ids=IDS)
def test_utf8_u(path):
    known(path, ["-u"])
    assert run(ours(), ["-u"], path) == run(COURIER, ["-u"], path)


ADDR_HEADER = re.compile(rb"(from|to|cc|bcc|reply-to|resent-[a-z]+)$", re.I)


def header_values(addresses):
    """Every header value of the corpus (unfolded; with addresses, of
    the address headers only), plus hand-made ones that exercise groups,
    routes, quotes, long runs and specials."""
    vals = set()
    for p in MESSAGES:
        head = p.read_bytes().split(b"\n\n", 1)[0].replace(b"\r", b"")
        for line in re.sub(rb"\n[ \t]+", b" ", head).split(b"\n"):
            name, colon, value = line.partition(b":")
            if addresses and not ADDR_HEADER.match(name.strip()):
                continue
            if colon and b"\0" not in value:
                vals.add(value.strip())
    vals.update(v.encode() for v in [
        '"Smith, J" <s@x>', '"J\u00f6hn, X" <z@z>, a@b', 'a@b (J\u00f6hn)',
        'g: a@b, "\u00d6" <c@d>;', 'g: a@b;, c@d', 'g:;, c@d', '<a@b>',
        '"" <a@b>', 'J\u00f6hn Sm\u00efth <j@x>', 'J\u00f6hn Smith is here',
        'caf\u00e9 cr\u00e8me br\u00fbl\u00e9e', 'x  \u00e9  y',
        'a=?b?c', '\u00e9 x_y \u00e9', '<>', '<@r1,@r2:a@b>',
        'ab_cd', 'ab?cd', '\u00e9a', '\u00e9aaaaa', '\u00e9aaaaaa',
        '\u00e9' * 30 + ' x ' + '\u00e9' * 50, 'a' * 100 + '\u00e9',
        '\u00e9aaaaaaaaaaaaaa \u00e9aaaaaaaaa <a@b>',
        '=?utf-8?q?J=C3=B6hn?= <j@x.com>, "Bob B" <b@y.org>, plain@z'])
    return sorted(vals)


HEADER_VALUES = header_values(False)
ADDR_VALUES = header_values(True)


@pytest.mark.parametrize("opt", ["-h", "-H", "-o", "-O"])
def test_header_options(opt):
    # -H/-O with a -c other than UTF-8: Debian's converts the text shown
    # bare (and drops what it cannot show, even an o-umlaut in
    # ISO-8859-1); only UTF-8 is compared (doc/maildrop-tools.md)
    values = ADDR_VALUES if opt in ("-H", "-O") else HEADER_VALUES
    assert len(values) > 50
    bad = []
    for v in values:
        for cs in (["utf-8"] if opt != "-o" else
                   ["utf-8", "iso-8859-1"]):
            args = ["-c", cs, opt, v]
            r = [subprocess.run([tool] + args, env=ENV, capture_output=True,
                                timeout=60)
                 for tool in (COURIER, ours())]
            if (r[0].returncode, r[0].stdout) != (r[1].returncode,
                                                  r[1].stdout):
                bad.append((cs, v, r[0].stdout, r[1].stdout))
    assert bad == []
