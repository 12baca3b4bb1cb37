"""test_setup.py: courier-setup makes a complete instance (control files,
daemon settings, certificate, userdb account, Maildir++), refuses bad
input, keeps an existing instance's data, and the instance fixture works."""

import os
import re
import stat
import subprocess
import sys

import pytest

from conftest import PORT_NAMES, make_instance, read_settings

DEMO_PORTS = {"smtp": 2525, "smtps": 2465, "submission": 2587, "imap": 2143,
              "imaps": 2993, "pop3": 2110, "pop3s": 2995, "webmail": 8080,
              "webadmin": 8081}

# Which settings file names which port (PORT= or SSLPORT=).
PORT_FILES = {"smtp": ("esmtpd", "PORT"), "smtps": ("esmtpd-ssl", "SSLPORT"),
              "submission": ("esmtpd-msa", "PORT"),
              "imap": ("imapd", "PORT"), "imaps": ("imapd-ssl", "SSLPORT"),
              "pop3": ("pop3d", "PORT"), "pop3s": ("pop3d-ssl", "SSLPORT"),
              "webmail": ("webmail", "PORT"),
              "webadmin": ("webadmin", "PORT")}

FOLDERS = ("Sent", "Drafts", "Trash", "Junk", "Archive")


def run_setup(build, *args, env=None):
    """Runs courier-setup; returns the CompletedProcess."""
    e = dict(os.environ)
    e.pop("COURIER_INSTANCE", None)
    e.update(env or {})
    return subprocess.run([build.courier_setup] + [str(a) for a in args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120, env=e)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read(path):
    with open(path) as f:
        return f.read()


def openssl(*args, input=None):
    r = subprocess.run(["openssl"] + list(args), input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def userdb_entries(path):
    """userdb lines as {address: {field: value}}; fails on a bad line."""
    out = {}
    for line in read(path).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        addr, sep, rest = line.partition("\t")
        assert sep == "\t" and addr and "\t" not in rest, repr(line)
        fields = {}
        for item in rest.split("|"):
            name, eq, value = item.partition("=")
            assert eq == "=" and re.fullmatch(r"[a-z][a-z0-9_]*", name), \
                repr(item)
            fields[name] = value
        out[addr] = fields
    return out


def verify_password(password, hashed):
    """True when hashed ($6$ crypt) is password's hash (checked twice:
    by openssl with the same salt, and by Python's crypt when present)."""
    m = re.fullmatch(r"\$6\$([^$]{1,16})\$[./0-9A-Za-z]{86}", hashed)
    assert m, hashed
    again = openssl("passwd", "-6", "-salt", m.group(1), "-stdin",
                    input=password + "\n").strip()
    ok = again == hashed
    try:
        import crypt
    except ImportError:
        return ok
    return ok and crypt.crypt(password, hashed) == hashed


def printed_password(output):
    m = re.search(r"^password: (\S+)$", output, re.M)
    return m.group(1) if m else None


@pytest.fixture
def root(tmp_path):
    return tmp_path / "inst"


def test_installed_into_sbindir(suite_build):
    if not suite_build.prefix:
        pytest.skip("SUITE_PREFIX not set")
    path = os.path.join(suite_build.prefix, "sbin", "courier-setup")
    assert os.access(path, os.X_OK)
    r = run_setup(suite_build, "--version")
    assert r.returncode == 0 and r.stdout.startswith("courier-setup ")


def test_help_and_required_domain(suite_build, root):
    r = run_setup(suite_build, "--help")
    assert r.returncode == 0 and "--domain" in r.stdout
    r = run_setup(suite_build, "--instance", root)
    assert r.returncode == 2 and "--domain is required" in r.stderr
    r = run_setup(suite_build, "--domain", "example.test", "--bogus")
    assert r.returncode == 2 and "unknown argument" in r.stderr
    r = run_setup(suite_build, "--instance", root, "--domain")
    assert r.returncode == 2 and "needs a value" in r.stderr
    assert not root.exists()


@pytest.mark.parametrize("args", [
    ("--domain", "exa mple.test"),
    ("--domain", "-bad.test"),
    ("--domain", "bad-.test"),
    ("--domain", "a..test"),
    ("--domain", ".test"),
    ("--domain", "a/b.test"),
    ("--domain", "x" * 64 + ".test"),
    ("--domain", "example.test", "--account", "../etc"),
    ("--domain", "example.test", "--account", ".hidden"),
    ("--domain", "example.test", "--account", "a b"),
    ("--domain", "example.test", "--account", "x" * 65),
    ("--domain", "example.test", "--ports-base", "abc"),
    ("--domain", "example.test", "--ports-base", "65530"),
    ("--domain", "example.test", "--ports-base", "0"),
    ("--domain", "example.test", "--address", "localhost; rm"),
    ("--domain", "example.test", "--password", ""),
    ("--domain", "example.test", "--password", "two\nlines"),
    ("--domain", "example.test", "--user", "no-such-user-xyz"),
])
def test_refuses_bad_input(suite_build, root, args):
    r = run_setup(suite_build, "--instance", root, *args)
    assert r.returncode in (1, 2), r.stdout
    assert r.stderr.startswith("courier-setup: ")
    assert not (root / "etc" / "userdb").exists()


def test_control_files(suite_build, root):
    r = run_setup(suite_build, "--instance", root, "--domain", "Example.TEST",
              "--account", "demo", "--password", "s3cret pass")
    assert r.returncode == 0, r.stderr
    etc = root / "etc"
    assert read(etc / "me") == "mail.example.test\n"
    assert read(etc / "defaultdomain") == "example.test\n"
    assert read(etc / "locals") == "localhost\n"
    assert read(etc / "hosteddomains") == "example.test\n"
    assert "example.test" in read(etc / "esmtpacceptmailfor").split()
    aliases = read(etc / "aliases" / "system")
    assert "postmaster: demo@example.test" in aliases
    rc = read_settings(etc / "authdaemonrc")
    assert rc["authmodulelist"] == "authuserdb"
    assert rc["authdaemonvar"] == str(root / "var" / "run" / "authdaemon")
    assert int(rc["daemons"]) >= 1
    for name in ("me", "locals", "hosteddomains", "authdaemonrc", "imapd"):
        assert mode(etc / name) == 0o644, name
    assert mode(etc / "userdb") == 0o600
    assert "account: demo@example.test" in r.stdout
    assert "\npassword: s3cret pass\n" in r.stdout


def test_hostname_option(suite_build, root):
    r = run_setup(suite_build, "--instance", root, "--domain", "example.test",
              "--hostname", "mx1.example.test")
    assert r.returncode == 0, r.stderr
    assert read(root / "etc" / "me") == "mx1.example.test\n"
    subject = openssl("x509", "-in", str(root / "etc/tls/server.pem"),
                      "-noout", "-subject")
    assert "mx1.example.test" in subject


def test_default_ports_are_the_demo_ports(suite_build, root):
    r = run_setup(suite_build, "--instance", root, "--domain", "example.test")
    assert r.returncode == 0, r.stderr
    for name, (f, var) in PORT_FILES.items():
        s = read_settings(root / "etc" / f)
        assert int(s[var]) == DEMO_PORTS[name], (f, var)
        addr = s.get("SSLADDRESS" if var == "SSLPORT" else "ADDRESS")
        assert addr == "127.0.0.1", f


def test_ports_base_and_address(suite_build, root):
    r = run_setup(suite_build, "--instance", root, "--domain", "example.test",
              "--ports-base", "40100", "--address", "127.0.0.2")
    assert r.returncode == 0, r.stderr
    for i, name in enumerate(PORT_NAMES):
        f, var = PORT_FILES[name]
        s = read_settings(root / "etc" / f)
        assert int(s[var]) == 40100 + i, (f, var)
        assert s.get("SSLADDRESS" if var == "SSLPORT" else "ADDRESS") == \
            "127.0.0.2"
    tls = read_settings(root / "etc" / "imapd-ssl")
    assert tls["TLS_CERTFILE"] == str(root / "etc" / "tls" / "server.pem")
    assert read_settings(root / "etc" / "esmtpd-msa")["AUTH_REQUIRED"] == "1"


def test_settings_files_are_plain_assignments(suite_build, root):
    run_setup(suite_build, "--instance", root, "--domain", "example.test")
    for f in ("esmtpd", "esmtpd-ssl", "esmtpd-msa", "imapd", "imapd-ssl",
              "pop3d", "pop3d-ssl", "webmail", "webadmin", "authdaemonrc"):
        for line in read(root / "etc" / f).splitlines():
            if line and not line.startswith("#"):
                assert re.fullmatch(
                    r'[A-Za-z_][A-Za-z0-9_]*=("[^"$`\\]*"|[^\s"\'$`;&|]*)',
                    line), (f, line)
        # ... and sh reads them as the same values.
        out = subprocess.run(
            ["sh", "-c", 'set -a; . "$1"; env', "sh",
             str(root / "etc" / f)], stdout=subprocess.PIPE, text=True,
            env={"PATH": "/usr/bin:/bin"}).stdout
        env = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
        for k, v in read_settings(root / "etc" / f).items():
            assert env.get(k) == v, (f, k)


def test_certificate(suite_build, root):
    r = run_setup(suite_build, "--instance", root, "--domain", "example.test")
    assert r.returncode == 0, r.stderr
    pem = str(root / "etc" / "tls" / "server.pem")
    crt = str(root / "etc" / "tls" / "server.crt")
    assert mode(pem) == 0o600
    text = read(pem)
    assert "PRIVATE KEY-----" in text and "BEGIN CERTIFICATE" in text
    assert "PRIVATE KEY" not in read(crt)
    openssl("x509", "-in", pem, "-noout", "-checkend", str(30 * 86400))
    info = openssl("x509", "-in", pem, "-noout", "-subject", "-ext",
                   "subjectAltName")
    assert "CN = mail.example.test" in info
    for san in ("DNS:mail.example.test", "DNS:example.test",
                "DNS:localhost", "IP Address:127.0.0.1"):
        assert san in info
    # The key in server.pem is the certificate's key.
    assert openssl("pkey", "-in", pem, "-pubout") == \
        openssl("x509", "-in", pem, "-noout", "-pubkey")
    # A client trusting server.crt accepts it.
    assert openssl("verify", "-CAfile", crt, crt).strip().endswith("OK")
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    # No temporary files are left behind.
    assert sorted(os.listdir(root / "etc" / "tls")) == \
        ["server.crt", "server.pem"]


def test_userdb_account(suite_build, root):
    r = run_setup(suite_build, "--instance", root, "--domain", "example.test",
              "--account", "Demo", "--password", "Pa55|w=rd:x")
    assert r.returncode == 0, r.stderr
    users = userdb_entries(root / "etc" / "userdb")
    assert list(users) == ["demo@example.test"]
    u = users["demo@example.test"]
    home = root / "var" / "vmail" / "example.test" / "demo"
    if os.getuid() == 0:
        # Root gives the store to a system user of its own, "vmail"
        # (made when missing): never uid 0, and not Debian's "mail",
        # which is in the queue's group.
        import grp
        import pwd
        vmail = pwd.getpwnam("vmail")
        assert u["uid"] == str(vmail.pw_uid) and \
            u["gid"] == str(vmail.pw_gid)
        assert os.stat(home / "Maildir").st_uid == vmail.pw_uid
        assert grp.getgrnam("mail").gr_gid not in \
            os.getgrouplist("vmail", vmail.pw_gid)
    else:
        assert u["uid"] == str(os.getuid()) and u["gid"] == str(os.getgid())
    assert u["home"] == str(home)
    assert u["mail"] == str(home / "Maildir")
    assert verify_password("Pa55|w=rd:x", u["systempw"])
    assert not verify_password("Pa55|w=rd:y", u["systempw"])
    assert "Pa55" not in read(root / "etc" / "userdb")


def test_random_password_printed_and_saved(suite_build, root, tmp_path):
    saved = tmp_path / "pw"
    r = run_setup(suite_build, "--instance", root, "--domain", "example.test",
              "--account", "demo", "--save-password", saved)
    assert r.returncode == 0, r.stderr
    pw = printed_password(r.stdout)
    assert re.fullmatch(r"[A-Za-z0-9]{16}", pw)
    assert read(saved) == pw + "\n" and mode(saved) == 0o600
    u = userdb_entries(root / "etc" / "userdb")["demo@example.test"]
    assert verify_password(pw, u["systempw"])
    r2 = run_setup(suite_build, "--instance", root / "other", "--domain",
               "example.test")
    assert printed_password(r2.stdout) != pw
    assert "account: postmaster@example.test" in r2.stdout


def test_maildir(suite_build, root):
    r = run_setup(suite_build, "--instance", root, "--domain", "example.test",
              "--account", "demo")
    assert r.returncode == 0, r.stderr
    var = root / "var"
    for d in ("queue", "run", "log", "vmail"):
        assert (var / d).is_dir(), d
    md = var / "vmail" / "example.test" / "demo" / "Maildir"
    if os.getuid() == 0:
        # the home: searchable by the queue user's group (esmtpd looks
        # for .courier-EXT files at RCPT time), not listable
        import pwd
        assert mode(md.parent) == 0o710
        assert md.parent.stat().st_gid == pwd.getpwnam("daemon").pw_gid
    else:
        assert mode(md.parent) == 0o700
    for sub in ("tmp", "new", "cur"):
        assert mode(md / sub) == 0o700
    for folder in FOLDERS:
        f = md / ("." + folder)
        for sub in ("tmp", "new", "cur"):
            assert (f / sub).is_dir(), (folder, sub)
        assert (f / "maildirfolder").is_file(), folder
    assert not (md / "maildirfolder").exists()  # INBOX is not a folder
    subscribed = read(md / "courierimapsubscribed").split()
    assert subscribed == ["INBOX." + f for f in FOLDERS]


def snapshot(root):
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, root)] = f.read()
    return files


def test_second_run_keeps_everything(suite_build, root):
    args = ("--instance", root, "--domain", "example.test", "--account",
            "demo")
    r1 = run_setup(suite_build, *args)
    assert r1.returncode == 0, r1.stderr
    pw = printed_password(r1.stdout)
    md = root / "var/vmail/example.test/demo/Maildir"
    (md / "new" / "1.msg").write_text("Subject: kept\n\nhello\n")
    (root / "etc" / "locals").write_text("localhost\nadmin-edited\n")
    before = snapshot(root)
    r2 = run_setup(suite_build, *args)
    assert r2.returncode == 0, r2.stderr
    assert "password: (unchanged" in r2.stdout
    assert "created" not in r2.stdout
    assert snapshot(root) == before
    u = userdb_entries(root / "etc" / "userdb")["demo@example.test"]
    assert verify_password(pw, u["systempw"])


def test_second_run_adds_what_is_missing(suite_build, root):
    args = ("--instance", root, "--domain", "example.test")
    assert run_setup(suite_build, *args).returncode == 0
    os.unlink(root / "etc" / "imapd")
    os.rmdir(root / "var/vmail/example.test/postmaster/Maildir/.Junk/tmp")
    r = run_setup(suite_build, *args)
    assert r.returncode == 0, r.stderr
    assert "created  etc/imapd" in r.stdout
    assert (root / "etc" / "imapd").is_file()
    assert (root / "var/vmail/example.test/postmaster/Maildir/.Junk/tmp"
            ).is_dir()


def test_password_option_resets_only_the_password(suite_build, root):
    args = ("--instance", root, "--domain", "example.test", "--account",
            "demo")
    assert run_setup(suite_build, *args).returncode == 0
    cert = read(root / "etc/tls/server.pem")
    r = run_setup(suite_build, *args, "--password", "new-one")
    assert r.returncode == 0, r.stderr
    assert "password: new-one" in r.stdout
    u = userdb_entries(root / "etc" / "userdb")["demo@example.test"]
    assert verify_password("new-one", u["systempw"])
    assert read(root / "etc/tls/server.pem") == cert


def test_force_renews_but_keeps_mail_and_other_accounts(suite_build, root):
    args = ("--instance", root, "--domain", "example.test", "--account",
            "demo")
    r1 = run_setup(suite_build, *args)
    pw1 = printed_password(r1.stdout)
    md = root / "var/vmail/example.test/demo/Maildir"
    (md / "cur" / "1.msg:2,S").write_text("Subject: kept\n\nhi\n")
    with open(root / "etc" / "userdb", "a") as f:
        f.write("other@example.test\tuid=1|gid=1|home=/x|systempw=*\n")
    (root / "etc" / "locals").write_text("edited\n")
    cert = read(root / "etc/tls/server.pem")
    r2 = run_setup(suite_build, *args, "--force")
    assert r2.returncode == 0, r2.stderr
    pw2 = printed_password(r2.stdout)
    assert pw2 and pw2 != pw1
    users = userdb_entries(root / "etc" / "userdb")
    assert set(users) == {"demo@example.test", "other@example.test"}
    assert verify_password(pw2, users["demo@example.test"]["systempw"])
    assert read(root / "etc" / "locals") == "localhost\n"
    assert read(root / "etc/tls/server.pem") != cert
    assert (md / "cur" / "1.msg:2,S").read_text().startswith("Subject: kept")
    assert mode(root / "etc" / "userdb") == 0o600


def test_second_account_is_added(suite_build, root):
    base = ("--instance", root, "--domain", "example.test")
    assert run_setup(suite_build, *base, "--account", "alice").returncode == 0
    r = run_setup(suite_build, *base, "--account", "bob")
    assert r.returncode == 0, r.stderr
    assert "added  etc/userdb (bob@example.test)" in r.stdout
    users = userdb_entries(root / "etc" / "userdb")
    assert set(users) == {"alice@example.test", "bob@example.test"}
    assert (root / "var/vmail/example.test/bob/Maildir/cur").is_dir()


def test_courier_instance_variable(suite_build, root):
    r = run_setup(suite_build, "--domain", "example.test",
              env={"COURIER_INSTANCE": str(root)})
    assert r.returncode == 0, r.stderr
    assert (root / "etc" / "me").is_file()
    assert (root / "var" / "vmail" / "example.test").is_dir()


def test_relative_instance_path(suite_build, tmp_path):
    r = subprocess.run([suite_build.courier_setup, "--instance", "rel",
                        "--domain", "example.test"], cwd=tmp_path,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    s = read_settings(tmp_path / "rel" / "etc" / "imapd-ssl")
    assert s["TLS_CERTFILE"] == str(tmp_path / "rel/etc/tls/server.pem")


def test_instance_fixture(instance):
    assert instance.login == "demo@example.test"
    assert os.path.isfile(instance.cert)
    for name, (f, var) in PORT_FILES.items():
        assert int(instance.settings(f)[var]) == instance.ports[name]
    u = userdb_entries(os.path.join(instance.etc, "userdb"))[instance.login]
    assert verify_password(instance.password, u["systempw"])
    assert instance.env["COURIER_INSTANCE"] == instance.root
    assert os.path.isdir(os.path.join(instance.maildir, "new"))


STAND_IN = r"""
import os, signal, socket, sys, time
socks = []
for port in sys.argv[1:]:
    s = socket.socket()
    s.bind(("127.0.0.1", int(port)))
    s.listen()
    socks.append(s)
print("instance", os.environ["COURIER_INSTANCE"], flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))
while True:
    time.sleep(1)
"""


def test_instance_starts_and_stops_a_daemon(instance):
    # A stand-in for imapd: the fixture waits for both its ports.
    ports = [instance.ports["imap"], instance.ports["imaps"]]
    d = instance.start("imapd", argv=[sys.executable, "-c", STAND_IN] +
                       [str(p) for p in ports])
    assert d.running()
    import socket
    for p in ports:
        socket.create_connection(("127.0.0.1", p), timeout=2).close()
    assert instance.stop("imapd") == 7
    assert "instance " + instance.root in read(d.log)


def test_instance_reports_a_daemon_that_dies(instance):
    with pytest.raises(pytest.fail.Exception, match="exited"):
        instance.start("pop3d", argv=[sys.executable, "-c",
                                      "import sys; print('no config'); "
                                      "sys.exit(3)"])


def test_make_instance_side_by_side(suite_build, tmp_path):
    a = make_instance(suite_build, tmp_path / "a")
    b = make_instance(suite_build, tmp_path / "b", domain="other.test",
                      account="bob")
    assert set(a.ports.values()).isdisjoint(b.ports.values())
    assert read(os.path.join(b.etc, "hosteddomains")) == "other.test\n"


def test_userdb_folder(suite_build, root):
    # Courier reads a userdb folder as its files concatenated.
    (root / "etc" / "userdb").mkdir(parents=True)
    (root / "etc" / "userdb" / "admins").write_text(
        "other@example.test\tuid=1|gid=1|home=/x|systempw=*\n")
    args = ("--instance", root, "--domain", "example.test", "--account",
            "demo")
    r = run_setup(suite_build, *args)
    assert r.returncode == 0, r.stderr
    target = root / "etc" / "userdb" / "example.test"
    assert list(userdb_entries(target)) == ["demo@example.test"]
    assert mode(target) == 0o600 and mode(root / "etc" / "userdb") == 0o700
    assert list(userdb_entries(root / "etc/userdb/admins")) == \
        ["other@example.test"]
    # An account already in one of the folder's files is updated there.
    r = run_setup(suite_build, "--instance", root, "--domain",
                  "example.test", "--account", "other", "--password", "pw2")
    assert r.returncode == 0, r.stderr
    u = userdb_entries(root / "etc/userdb/admins")["other@example.test"]
    assert verify_password("pw2", u["systempw"])
    assert list(userdb_entries(target)) == ["demo@example.test"]
    r = run_setup(suite_build, *args)
    assert "password: (unchanged" in r.stdout
