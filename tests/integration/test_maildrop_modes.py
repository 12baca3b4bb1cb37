"""test_maildrop_modes.py: maildrop's embedded mode (-m, -M), quota
warnings (-w/-W), VERBOSE traces and system variables, and the
maildirmake and deliverquota programs, each compared with Debian's
programs (/usr/bin/maildrop, /usr/bin/maildirmake, /usr/sbin/deliverquota)
where they behave the same, run in a scratch directory."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import suite_program

HERE = os.path.dirname(os.path.abspath(__file__))
DEB = {"maildrop": "/usr/bin/maildrop", "maildirmake": "/usr/bin/maildirmake",
       "deliverquota": "/usr/sbin/deliverquota"}
MSG = b"From: Ann <ann@example.com>\nSubject: hello there\n\nbody line\n"


def ours(name):
    return suite_program(name)


def need(name):
    if not os.access(DEB[name], os.X_OK):
        pytest.skip(f"Debian's {name} is missing")
    return DEB[name]


def as_debian(stdout):
    """Our default SENDMAIL is the suite's sendmail (BINDIR/sendmail -oi,
    as Courier's maildrop runs Courier's), Debian's the system's: the one
    difference in what a filter echoes."""
    return re.sub(rb"/\S*/sendmail -oi", b"/usr/sbin/sendmail -oi", stdout)


def run(cmd, cwd, stdin=b"", env=None, timeout=30):
    e = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LOGNAME": "tester"}
    e.update(env or {})
    return subprocess.run(cmd, cwd=cwd, input=stdin, env=e,
                          capture_output=True, timeout=timeout)


def tree(root):
    """Every path under root with its mode; message names blanked."""
    out = []
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            rel = re.sub(r"new/\d+\..*$", "new/MSG", rel)
            # flags in ASCII order, as the maildir spec has them (Debian
            # keeps the order of FLAGS)
            rel = re.sub(r"cur/\d+\..*?(?::2,(.*))?$",
                         lambda m: "cur/MSG:2," + "".join(sorted(m.group(1) or "")),
                         rel)
            out.append((rel, oct(os.lstat(p).st_mode & 0o7777) if os.path.isdir(p) else ""))
    return sorted(out)


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def maildir(path, folders=()):
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for f in folders:
        maildir(os.path.join(path, "." + f))
        open(os.path.join(path, "." + f, "maildirfolder"), "w").close()


# ---- embedded mode ----

EMBEDDED_CASES = [
    'echo "size $SIZE lines $LINES"\n',
    'if (/^Subject: hello/)\n{\n  echo "matched"\n  EXITCODE=5\n}\n',
    'if (/^Subject: nothing/)\n{\n  EXITCODE=5\n}\nexit\n',
    'to "Maildir"\n',
    'cc "Maildir"\n',
    'log "x"\n',
    'logfile "l"\n',
    'A=`echo hi`\n',
    'xfilter "cat"\n',
    'system "true"\n',
    'if (1)\n{\n  dotlock "x.lock" {\n  echo a\n  }\n}\n',
    'flock "x" {\necho a\n}\n',
    'echo "$DEFAULT|$LOCKEXT|$LOCKSLEEP|$LOCKTIMEOUT|$LOCKREFRESH|$SENDMAIL|$UMASK"\n',
]


@pytest.mark.parametrize("i", range(len(EMBEDDED_CASES)))
def test_embedded_like_debian(tmp_path, i):
    ref = need("maildrop")
    results = []
    for binary in (ref, ours("maildrop")):
        d = tmp_path / os.path.basename(os.path.dirname(binary) + "x")
        d.mkdir(exist_ok=True)
        maildir(str(d / "Maildir"))
        write(str(d / "f"), EMBEDDED_CASES[i])
        p = run([binary, "-m", "f"], d, MSG)
        results.append((p.returncode, as_debian(p.stdout), tree(str(d))))
    assert results[1] == results[0]


ENV_FILTER = ('echo "X=$MYVAR W=$WEIRD L=$LANG Q=$MAILDIRQUOTA P=$PATH '
              'F=$FROM S=$SENDMAIL D=$DEFAULT"\n')


@pytest.mark.parametrize("mode", (["f"], ["-m", "f"]))
def test_environment_imported_like_debian(tmp_path, mode):
    """maildropfilter(7), Environment: outside delivery mode every
    environment variable becomes a maildrop variable, and the ones
    maildrop resets (PATH, MAILDIRQUOTA, SENDMAIL, DEFAULT...) are reset
    whatever the environment said."""
    ref = need("maildrop")
    env = {"MYVAR": "hello", "WEIRD": "a/b c", "LANG": "C.UTF-8",
           "MAILDIRQUOTA": "5S", "FROM": "x@y", "SENDMAIL": "/bin/true",
           "DEFAULT": "/tmp/elsewhere", "BAD-NAME": "skipped"}
    results = []
    for binary in (ref, ours("maildrop")):
        d = tmp_path / os.path.basename(os.path.dirname(binary) + "x")
        d.mkdir(exist_ok=True)
        write(str(d / "f"), ENV_FILTER)
        p = run([binary] + mode, d, MSG, env=env)
        results.append((p.returncode, as_debian(p.stdout)))
    assert b"X=hello W=a/b c L=C.UTF-8 Q= " in results[1][1], results
    assert results[1] == results[0]


def test_embedded_no_default_delivery(tmp_path):
    maildir(str(tmp_path / "Maildir"))
    write(str(tmp_path / "f"), 'DEFAULT="./Maildir"\necho ok\n')
    p = run([ours("maildrop"), "-m", "f"], tmp_path, MSG)
    assert p.returncode == 0 and p.stdout == b"ok\n"
    assert os.listdir(tmp_path / "Maildir" / "new") == []


def test_embedded_M_default_files(tmp_path):
    """-M name looks for name, then name-prefix-default..., then default."""
    md = ours("maildrop")
    home = tmp_path
    filters = home / ".mailfilters"
    filters.mkdir(mode=0o700)
    os.chmod(filters, 0o700)
    write(str(filters / "default"), 'echo "default"\n')
    write(str(filters / "mailfilter-default"), 'echo "mailfilter-default"\n')
    write(str(filters / "mailfilter-lists-maildrop"), 'echo "exact"\n')
    env = {"HOME": str(home)}
    import pwd
    user = pwd.getpwuid(os.getuid()).pw_name
    home_of = pwd.getpwuid(os.getuid()).pw_dir
    if os.path.realpath(home_of) != os.path.realpath(str(home)):
        # -M runs in the account's own home: test in a copy of it
        pytest.skip("needs the account's home directory")
    got = {}
    for name in ("mailfilter-lists-maildrop", "mailfilter-lists-other",
                 "other-thing"):
        p = run([md, "-d", user, "-M", name], home, MSG, env)
        got[name] = (p.returncode, p.stdout)
    assert got["mailfilter-lists-maildrop"] == (0, b"exact\n")
    assert got["mailfilter-lists-other"] == (0, b"mailfilter-default\n")
    assert got["other-thing"] == (0, b"default\n")


def test_embedded_M_refuses_bad_names(tmp_path):
    md = ours("maildrop")
    for name in ("../x", "/etc/passwd", "a.b"):
        p = run([md, "-M", name], tmp_path, MSG)
        assert p.returncode == 75, name


def test_trusted_include_lifts_restrictions(tmp_path):
    """A file included from the instance's etc/maildroprcs may run
    commands in embedded mode (maildrop(1), /etc/maildroprcs)."""
    # the instance's etc/ (COURIER_INSTANCE), whatever prefix the
    # program was built with
    md = ours("maildrop")
    root = tmp_path / "instance"
    rcs = os.path.join(root, "etc", "maildroprcs")
    os.makedirs(rcs, exist_ok=True)
    env = {"COURIER_INSTANCE": str(root)}
    write(os.path.join(rcs, "trusted"), 'R=`echo fromshell`\necho "$R"\n', 0o644)
    write(str(tmp_path / "f"), f'include "{rcs}/trusted"\necho after\n')
    p = run([md, "-m", "f"], tmp_path, MSG, env)
    assert (p.returncode, p.stdout) == (0, b"fromshell\nafter\n")
    write(str(tmp_path / "g"), 'R=`echo x`\n')
    assert run([md, "-m", "g"], tmp_path, MSG, env).returncode == 75
    # the same include from elsewhere is not trusted
    other = tmp_path / "other"
    other.mkdir()
    write(str(other / "trusted"), 'R=`echo fromshell`\necho "$R"\n', 0o644)
    write(str(tmp_path / "h"), f'include "{other}/trusted"\n')
    assert run([md, "-m", "h"], tmp_path, MSG, env).returncode == 75


# ---- verbose, variables, FLAGS ----

def test_verbose_traces(tmp_path):
    maildir(str(tmp_path / "Maildir"))
    write(str(tmp_path / "f"),
          'DEFAULT="./Maildir"\nX=1\nif (/^Subject: hello/)\n{\n  to "Maildir"\n}\n')
    p = run([ours("maildrop"), "-V", "5", "f"], tmp_path, MSG)
    assert p.returncode == 0
    err = p.stderr.decode()
    for line in ("Message envelope sender=MAILER-DAEMON",
                 "maildrop: Attempting f", 'f(1): DEFAULT="./Maildir"',
                 'f(2): X="1"', "f(3): Evaluating IF condition.",
                 "f(3): IF evaluated, result=2", "maildrop: Delivery complete."):
        assert line in err
    p = run([ours("maildrop"), "f"], tmp_path, MSG)
    assert p.stderr == b""


def test_flags_deliver_to_cur_like_debian(tmp_path):
    ref = need("maildrop")
    trees = []
    for k, binary in enumerate((ref, ours("maildrop"))):
        d = tmp_path / str(k)
        d.mkdir()
        maildir(str(d / "Maildir"))
        write(str(d / "f"), 'FLAGS="SF"\nto "Maildir"\n')
        p = run([binary, "f"], d, MSG)
        assert p.returncode == 0
        write(str(d / "g"), 'FLAGS="SX"\nto "Maildir/"\n')
        assert run([binary, "g"], d, MSG).returncode == 75
        trees.append(tree(str(d)))
    assert trees[1] == trees[0]
    assert any(r.endswith(":2,FS") for r, _ in trees[1])


# ---- KEYWORDS ----

def imapd_program():
    return suite_program("imapd")


def keyword_files(md):
    """{message contents: keyword file contents} of a maildir."""
    out = {}
    kwdir = os.path.join(md, "courierimapkeywords")
    for n in os.listdir(kwdir) if os.path.isdir(kwdir) else ():
        with open(os.path.join(kwdir, n), "rb") as f:
            kw = f.read()
        for sub in ("new", "cur"):
            for m in os.listdir(os.path.join(md, sub)):
                if m.split(":")[0] == n:
                    with open(os.path.join(md, sub, m), "rb") as f:
                        out[f.read()] = kw
    return out


KEYWORDS_FILTER = (
    'KEYWORDS=\'$Label1,foo\'\n'
    'if (/^Subject: second/)\n{\n  KW=\'$Seen\'\n'
    '  KEYWORDS="$KEYWORDS,Work,,$KW"\n}\n'
    'if (/^Subject: third/)\n{\n  KEYWORDS=""\n}\n'
    'if (/^Subject: fourth/)\n{\n  FLAGS=S\n  to "Maildir/.Work"\n}\n'
    'to "Maildir"\n')
KEYWORDS_MSGS = [b"From: a@example.com\nSubject: %s\n\nbody %d\n" % (s, i)
                 for i, s in enumerate((b"first", b"second", b"third",
                                        b"fourth"))]


def test_keywords_like_debian_and_seen_by_imapd(tmp_path):
    """KEYWORDS writes courierimapkeywords/ as Debian's maildrop does, and
    our imapd shows the keywords in FETCH FLAGS."""
    import imaplib
    ref = need("maildrop")
    stores = []
    for k, binary in enumerate((ref, ours("maildrop"))):
        d = tmp_path / str(k)
        d.mkdir()
        maildir(str(d / "Maildir"), folders=("Work",))
        write(str(d / "f"), KEYWORDS_FILTER)
        for m in KEYWORDS_MSGS:
            p = run([binary, "f"], d, m)
            assert p.returncode == 0, p.stderr
        stores.append((keyword_files(str(d / "Maildir")),
                       keyword_files(str(d / "Maildir" / ".Work"))))
    assert stores[1] == stores[0]
    inbox, work = stores[1]
    assert inbox[KEYWORDS_MSGS[0]] == b"$Label1\nfoo\n"
    assert inbox[KEYWORDS_MSGS[1]] == b"$Label1\n$Seen\nWork\nfoo\n"
    assert KEYWORDS_MSGS[2] not in inbox
    assert work[KEYWORDS_MSGS[3]] == b"$Label1\nfoo\n"

    md = str(tmp_path / "1" / "Maildir")
    m = imaplib.IMAP4_stream("%s %s" % (imapd_program(), md))
    try:
        flags = {}
        typ, boxes = m.list()
        assert typ == "OK"
        work_box = [b.decode().rsplit(" ", 1)[1] for b in boxes
                    if b.decode().endswith("Work")]
        assert len(work_box) == 1
        for box in ["INBOX"] + work_box:
            typ, _ = m.select(box)
            assert typ == "OK"
            typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            assert typ == "OK"
            for item in data:
                if not isinstance(item, tuple):
                    continue
                subj = item[1].decode().split(":", 1)[1].strip()
                got = re.search(r"FLAGS \(([^)]*)\)", item[0].decode())
                flags[subj] = set(got.group(1).split()) - {"\\Recent"}
    finally:
        m.logout()
    assert flags["first"] == {"$Label1", "foo"}
    assert flags["second"] == {"$Label1", "$Seen", "Work", "foo"}
    assert flags["third"] == set()
    assert flags["fourth"] == {"$Label1", "foo", "\\Seen"}


def test_keywords_invalid_names_left_out(tmp_path):
    maildir(str(tmp_path / "Maildir"))
    write(str(tmp_path / "f"), "KEYWORDS='good,bad word,a(b'\nto Maildir\n")
    p = run([ours("maildrop"), "f"], tmp_path, MSG)
    assert p.returncode == 0
    assert b"Invalid keywords ignored: bad word,a(b" in p.stderr
    assert list(keyword_files(str(tmp_path / "Maildir")).values()) == [b"good\n"]
    assert len(os.listdir(tmp_path / "Maildir" / "new")) == 1


# ---- quota warnings ----

def quota_home(tmp_path, quota):
    maildir(str(tmp_path / "Maildir"))
    with open(tmp_path / "Maildir" / "maildirsize", "w") as f:
        f.write(f"{quota}\n{0:12d} {0:12d}\n")
    write(str(tmp_path / "warn"), "Subject: Mailbox almost full\n\nClean up.\n")


def warnings_in(path):
    out = []
    for n in os.listdir(path / "Maildir" / "new"):
        with open(path / "Maildir" / "new" / n, "rb") as f:
            data = f.read()
        if b"Subject: Mailbox almost full" in data:
            out.append(data)
    return out


@pytest.mark.parametrize("prog", ["maildrop", "deliverquota"])
def test_quota_warning(tmp_path, prog):
    quota_home(tmp_path, "1000S")
    if prog == "maildrop":
        write(str(tmp_path / "f"), 'to "Maildir"\n')
        cmd = [ours("maildrop"), "-w", "50", "-W", "warn", "f"]
    else:
        cmd = [ours("deliverquota"), "-w", "50", "-W", "warn", "Maildir"]
    small = MSG
    big = MSG + b"x" * 600 + b"\n"
    assert run(cmd, tmp_path, small).returncode == 0
    assert warnings_in(tmp_path) == []          # 6% full
    assert run(cmd, tmp_path, big).returncode == 0
    w = warnings_in(tmp_path)                    # now over 50%
    assert len(w) == 1
    assert re.search(rb"^Date: .*\nMessage-Id: <\d+\.overquota@", w[0], re.M)
    assert os.path.exists(tmp_path / "Maildir" / "quotawarn")
    assert run(cmd, tmp_path, small).returncode == 0
    assert len(warnings_in(tmp_path)) == 1       # once per 24 hours
    # an old stamp: warned again
    os.utime(tmp_path / "Maildir" / "quotawarn", (0, 0))
    assert run(cmd, tmp_path, small).returncode == 0
    assert len(warnings_in(tmp_path)) == 2


# ---- maildirmake ----

def maildirmake_script(mm):
    return [
        [mm, "A"], [mm, "A"], [mm, "-f", "Drafts", "A"],
        [mm, "-f", "Drafts", "A"], [mm, "-f", "Drafts.Urgent", "A"],
        [mm, "-f", ".x", "A"],
        [mm, "-q", "1000S,10C", "A"],
        [mm, "-S", "S"], [mm, "-s", "write", "-f", "Weekly", "S"],
        [mm, "-s", "read,group", "-f", "Ro", "S"],
        [mm, "-s", "read", "-f", "R2", "S"],
        [mm, "-s", "write,group", "-f", "WG", "S"],
        [mm, "--add", "notices=SHARED", "A"], [mm, "--add", "n2=SHARED", "A"],
        [mm, "--add", "bad.nick=SHARED", "A"], [mm, "--add", "nopath", "A"],
        [mm, "--del", "notices", "A"], [mm, "--del", "missing", "A"],
        [mm], [mm, "-f", "&ZeQ-t", "A"],
    ]


def test_maildirmake_like_debian(tmp_path):
    ref = need("maildirmake")
    results = []
    for k, mm in enumerate((ref, ours("maildirmake"))):
        d = tmp_path / str(k)
        d.mkdir()
        (d / "SHARED").mkdir()
        codes = []
        for cmd in maildirmake_script(mm):
            cmd = [c.replace("SHARED", str(d / "SHARED")) for c in cmd]
            codes.append(run(cmd, d, env={"UMASK": "022"}).returncode)
        files = {}
        for n in ("A/maildirsize", "A/shared-maildirs"):
            with open(d / n) as f:
                files[n] = f.read().replace(str(d), "D")
        results.append((codes, files, [t for t in tree(str(d))
                                       if "maildirsize" not in t[0] and
                                       "shared-maildirs" not in t[0]]))
    assert results[1][0] == results[0][0]
    assert results[1][1] == results[0][1]
    assert results[1][2] == results[0][2]


def test_maildirmake_quota_on_new_maildir(tmp_path):
    # (Debian's maildirmake loops forever here; ours creates and sets it)
    mm = ours("maildirmake")
    assert run([mm, "-q", "5000S", "B"], tmp_path).returncode == 0
    assert open(tmp_path / "B" / "maildirsize").read().startswith("5000S\n")
    assert run([mm, "-q", "garbage", "C"], tmp_path).returncode == 1


# ---- deliverquota ----

def deliverquota_script(dq):
    small = MSG
    big = MSG + b"y" * 200 + b"\n"
    return [
        ([dq, "Q"], small), ([dq, "Q"], big), ([dq, "Q"], small),
        ([dq, "Q"], small), ([dq, "/nonexistent/x"], small),
        ([dq, "-c", "E/F/G"], small), ([dq, "Q", "5000S"], big),
        ([dq, "C"], small), ([dq, "C"], small), ([dq, "C"], small),
        ([dq, "Q/.Sub"], small),
    ]


def test_deliverquota_like_debian(tmp_path):
    ref = need("deliverquota")
    results = []
    for k, dq in enumerate((ref, ours("deliverquota"))):
        d = tmp_path / str(k)
        d.mkdir()
        maildir(str(d / "Q"), ["Sub"])
        with open(d / "Q" / "maildirsize", "w") as f:
            f.write("150S\n")
        maildir(str(d / "C"))
        with open(d / "C" / "maildirsize", "w") as f:
            f.write("2C\n")
        codes = []
        for cmd, msg in deliverquota_script(dq):
            codes.append(run(cmd, d, msg).returncode)
        counts = {}
        for dirpath, dirs, files in os.walk(d):
            if os.path.basename(dirpath) in ("new", "cur"):
                counts[os.path.relpath(dirpath, d)] = len(files)
        results.append((codes, counts))
    assert results[1] == results[0]
    assert 77 in results[1][0] and 75 in results[1][0]


def test_courier_D_takes_home_and_session_from_environment(tmp_path):
    """Courier's "-D uid/gid -M name" (the SMTP-time filter of
    localmailfilter(7); Debian's maildrop refuses -D): HOME and LOGNAME
    are the environment's (a virtual account's home, not the passwd
    entry's), the environment is imported (RECIPIENT, TCPREMOTEIP...),
    SENDER is the environment's unless -f gives one; DEFAULT and PATH
    are still maildrop's own."""
    md = ours("maildrop")
    home = tmp_path / "virtual"
    filters = home / ".mailfilters"
    filters.mkdir(parents=True)
    os.chmod(filters, 0o700)
    write(str(filters / "rcptfilter"),
          'echo "H=$HOME L=$LOGNAME R=$RECIPIENT I=$TCPREMOTEIP S=$SENDER '
          'D=$DEFAULT P=$PATH"\nEXITCODE=99\n')
    os.chmod(filters / "rcptfilter", 0o600)
    ids = "%d/%d" % (os.getuid(), os.getgid())
    env = {"HOME": str(home), "LOGNAME": "virt@example.com",
           "RECIPIENT": "virt@example.com", "TCPREMOTEIP": "192.0.2.7",
           "SENDER": "s@example.net", "DEFAULT": "/elsewhere",
           "PATH": "/odd:/usr/bin:/bin"}
    p = run([md, "-D", ids, "-M", "rcptfilter"], tmp_path, MSG, env)
    assert p.returncode == 99, p.stderr
    out = p.stdout.decode()
    assert out.startswith("H=%s L=virt@example.com R=virt@example.com "
                          "I=192.0.2.7 S=s@example.net D=/var/mail/" % home)
    assert out.rstrip().endswith("P=/bin:/usr/bin:/usr/local/bin")
    p = run([md, "-D", ids, "-f", "given@example.org", "-M", "rcptfilter"],
            tmp_path, MSG, env)
    assert b" S=given@example.org " in p.stdout
    if os.access("/usr/bin/maildrop", os.X_OK):
        p = run(["/usr/bin/maildrop", "-D", ids, "-M", "rcptfilter"],
                tmp_path, MSG, env)
        assert p.returncode == 75 and b"Bad command line" in p.stderr


def test_embedded_M_without_a_filter_accepts(tmp_path):
    """-M with no $HOME/.mailfilters, or none of the files it looks for,
    has nothing to run: exit 0 (the message is accepted), as Debian's
    2.9.3 does; a .mailfilters that is not a folder, or a filter that is
    not a regular file, is a temporary failure with Debian's texts."""
    md = ours("maildrop")
    home = tmp_path / "virtual"
    home.mkdir()
    ids = "%d/%d" % (os.getuid(), os.getgid())
    env = {"HOME": str(home), "LOGNAME": "virt@example.com"}

    def M(name):
        return run([md, "-D", ids, "-M", name], tmp_path, MSG, env)

    p = M("rcptfilter")
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    filters = home / ".mailfilters"
    filters.mkdir()
    os.chmod(filters, 0o700)
    p = M("rcptfilter-a-b")
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    write(str(filters / "rcptfilter-default"), "EXITCODE=7\n")
    os.chmod(filters / "rcptfilter-default", 0o600)
    assert M("rcptfilter-a-b").returncode == 7
    os.mkdir(filters / "sub")
    p = M("sub")
    assert p.returncode == 75
    assert b"mailfilter file isn't a regular file." in p.stderr
    os.chmod(filters / "rcptfilter-default", 0o644)
    p = M("rcptfilter-a-b")
    assert p.returncode == 75 and b"Invalid permissions" in p.stderr
    shutil.rmtree(filters)
    write(str(filters), "not a folder\n")
    p = M("rcptfilter")
    assert p.returncode == 75
    assert b"$HOME/.mailfilters should be a directory." in p.stderr
