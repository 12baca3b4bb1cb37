"""test_pop3.py: pop3d with real clients (Python's poplib, fetchmail,
curl) against a throw-away instance with authdaemond: every command, STLS,
POP3S, SASL, [IN-USE], interrupted sessions, UIDL stability, Courier's
UIDLs from courierimapuiddb, account options, and the stdin/stdout tunnel.

The instance's mail store belongs to the system user "mail" (pop3d never
serves mail as root, and the tests run as root)."""

import base64
import os
import poplib
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import make_instance

MAIL_USER = "mail"


@pytest.fixture
def pinst(suite_build):
    """An instance whose account belongs to MAIL_USER, with authdaemond
    and pop3d running.  It lives outside pytest's tmp_path, whose parents
    only root may enter, so that the account's uid reaches its maildir."""
    root = tempfile.mkdtemp(prefix="test-pop3-", dir="/tmp")
    os.chmod(root, 0o755)
    if os.getuid() != 0:
        inst = make_instance(suite_build, os.path.join(root, "instance"))
    else:
        inst = make_instance(suite_build, os.path.join(root, "instance"),
                             extra_args=("--user", MAIL_USER))
    inst.program("pop3d")
    try:
        start_auth(inst)
        inst.start("pop3d")
        yield inst
    finally:
        inst.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def start_auth(inst):
    inst.start_auth()


def owner(inst):
    st = os.stat(inst.maildir)
    return st.st_uid, st.st_gid


_seq = [0]


def deliver(inst, text, sub="new", flags=""):
    """Puts a message into the maildir as its owner would; returns the
    file name."""
    _seq[0] += 1
    name = "%d.M%dP%d.test" % (int(time.time()), _seq[0], os.getpid())
    if sub == "cur":
        name += ":2," + flags
    path = os.path.join(inst.maildir, sub, name)
    with open(path, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    uid, gid = owner(inst)
    os.chown(path, uid, gid)
    return name


def messages(inst):
    out = []
    for sub in ("new", "cur"):
        out += os.listdir(os.path.join(inst.maildir, sub))
    return out


def connect(inst):
    return poplib.POP3(inst.address, inst.ports["pop3"], timeout=20)


def login(inst):
    p = connect(inst)
    p.user(inst.login)
    p.pass_(inst.password)
    return p


MSG1 = "From: a@example.test\nSubject: one\n\nline 1\n.dotted\nline 3\n"
MSG2 = "From: b@example.test\r\nSubject: two\r\n\r\nbody\r\n"


def test_poplib_every_command(pinst):
    deliver(pinst, MSG1)
    deliver(pinst, MSG2)
    p = connect(pinst)
    assert p.getwelcome().startswith(b"+OK")
    assert b"<" not in p.getwelcome()  # no APOP by default (as Courier)
    caps = p.capa()
    for cap in ("TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE",
                "PIPELINING", "STLS", "SASL", "IMPLEMENTATION"):
        assert cap in caps, caps
    assert "PLAIN" in caps["SASL"]
    assert p.utf8().startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.apop(pinst.login, pinst.password)
    p.user(pinst.login)
    assert p.pass_(pinst.password).startswith(b"+OK")
    size1 = len(MSG1.replace("\n", "\r\n"))
    size2 = len(MSG2)
    assert p.stat() == (2, size1 + size2)
    resp, lines, _ = p.list()
    assert lines == [b"1 %d" % size1, b"2 %d" % size2]
    assert p.list(2) == b"+OK 2 %d" % size2
    resp, lines, _ = p.uidl()
    uidls = [l.split()[1] for l in lines]
    assert all(u.startswith(b"UID") for u in uidls)
    assert p.uidl(1).split()[2] == uidls[0]
    resp, lines, octets = p.retr(1)
    assert lines == [l.encode() for l in MSG1.rstrip("\n").split("\n")]
    assert octets == size1  # what LIST said is what RETR sent
    resp, lines, _ = p.top(2, 0)
    assert lines == [b"From: b@example.test", b"Subject: two", b""]
    assert p.noop().startswith(b"+OK")
    p.dele(1)
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    assert p.stat() == (1, size2)
    p.rset()
    assert p.stat() == (2, size1 + size2)
    p.dele(2)
    with pytest.raises(poplib.error_proto):
        p.list(3)
    with pytest.raises(poplib.error_proto):
        p._shortcmd("XYZZY")
    assert p.quit().startswith(b"+OK")
    assert len(messages(pinst)) == 1


def test_stls_and_pop3s(pinst):
    deliver(pinst, MSG1)
    p = connect(pinst)
    p.stls(pinst.ssl_context())
    caps = p.capa()
    assert "STLS" not in caps
    p.user(pinst.login)
    p.pass_(pinst.password)
    assert p.stat()[0] == 1
    p.quit()
    s = poplib.POP3_SSL(pinst.address, pinst.ports["pop3s"],
                        context=pinst.ssl_context(), timeout=20)
    assert "STLS" not in s.capa()
    s.user(pinst.login)
    s.pass_(pinst.password)
    resp, lines, octets = s.retr(1)
    assert lines[1] == b"Subject: one"
    s.dele(1)
    s.quit()
    assert messages(pinst) == []


def raw_session(inst):
    s = socket.create_connection((inst.address, inst.ports["pop3"]), 20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    return s, f


def test_sasl_plain_and_login(pinst):
    deliver(pinst, MSG1)
    s, f = raw_session(pinst)
    ir = base64.b64encode(b"\0" + pinst.login.encode() + b"\0" +
                          pinst.password.encode())
    s.sendall(b"AUTH PLAIN " + ir + b"\r\n")
    assert f.readline() == b"+OK logged in.\r\n"
    s.sendall(b"STAT\r\nQUIT\r\n")
    assert f.readline().startswith(b"+OK 1 ")
    assert f.readline().startswith(b"+OK")
    s.close()
    s, f = raw_session(pinst)
    s.sendall(b"AUTH LOGIN\r\n")
    assert f.readline().startswith(b"+ ")
    s.sendall(base64.b64encode(pinst.login.encode()) + b"\r\n")
    assert f.readline().startswith(b"+ ")
    s.sendall(base64.b64encode(b"wrong") + b"\r\n")
    assert f.readline().startswith(b"-ERR [AUTH]")
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()


def test_pipelined_session(pinst):
    deliver(pinst, MSG1)
    s, f = raw_session(pinst)
    s.sendall(("USER %s\r\nPASS %s\r\nSTAT\r\nUIDL\r\nRETR 1\r\nQUIT\r\n" %
               (pinst.login, pinst.password)).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"+OK Password required.\r\n+OK logged in.\r\n"
                           b"+OK 1 ")
    assert data.endswith(b"line 3\r\n.\r\n+OK Bye-bye.\r\n")


def test_interrupted_session_loses_nothing(pinst):
    deliver(pinst, MSG1)
    deliver(pinst, MSG2)
    p = login(pinst)
    p.retr(1)
    p.dele(1)
    p.dele(2)
    p.sock.shutdown(socket.SHUT_RDWR)  # gone, without QUIT
    p.sock.close()
    p.file.close()
    time.sleep(0.5)
    assert len(messages(pinst)) == 2
    p = login(pinst)
    assert p.stat()[0] == 2
    p.quit()


def test_in_use(pinst):
    deliver(pinst, MSG1)
    p1 = login(pinst)
    p2 = connect(pinst)
    p2.user(pinst.login)
    with pytest.raises(poplib.error_proto) as e:
        p2.pass_(pinst.password)
    assert b"[IN-USE]" in e.value.args[0]
    # Still in AUTHORIZATION: it may try again once the first is done.
    p1.quit()
    time.sleep(0.3)
    p2.user(pinst.login)
    p2.pass_(pinst.password)
    assert p2.stat()[0] == 1
    p2.quit()


def test_uidl_stable_after_delivery_and_flag_change(pinst):
    n1 = deliver(pinst, MSG1)
    deliver(pinst, MSG2)
    p = login(pinst)
    first = p.uidl()[1]
    p.quit()
    # A new delivery and a flag change (as an IMAP client's STORE does).
    deliver(pinst, "Subject: three\n\nx\n")
    os.rename(os.path.join(pinst.maildir, "new", n1),
              os.path.join(pinst.maildir, "cur", n1 + ":2,FS"))
    p = login(pinst)
    second = p.uidl()[1]
    p.quit()
    assert second[:2] == first
    assert len(second) == 3
    assert second[2].split()[1] not in [l.split()[1] for l in first]


def test_courier_uidls(pinst):
    """A maildir migrated from Courier keeps Courier's UIDLs."""
    a = deliver(pinst, MSG1, "cur", "S")
    b = deliver(pinst, MSG2, "cur", "")
    with open(os.path.join(pinst.maildir, "courierimapuiddb"), "w") as f:
        f.write("1 1234567890 100\n")
        f.write("57 %s\n" % a.split(":")[0])
        f.write("99 %s\n" % b.split(":")[0])
    uid, gid = owner(pinst)
    os.chown(os.path.join(pinst.maildir, "courierimapuiddb"), uid, gid)
    p = login(pinst)
    lines = p.uidl()[1]
    p.quit()
    assert lines == [b"1 UID57-1234567890", b"2 UID99-1234567890"]


def test_fetchmail_stls_and_pop3s(pinst, tmp_path):
    fetchmail = shutil.which("fetchmail")
    if fetchmail is None:
        pytest.skip("fetchmail is not installed (apt install fetchmail)")
    for mode in ("stls", "pop3s"):
        deliver(pinst, MSG1)
        deliver(pinst, MSG2)
        out = tmp_path / ("out-" + mode)
        rc = tmp_path / ("fetchmailrc-" + mode)
        port = pinst.ports["pop3" if mode == "stls" else "pop3s"]
        rc.write_text(
            'poll localhost port %d protocol POP3 auth password\n'
            '  user "%s" password "%s"\n'
            '  %s sslproto TLS1.2+ sslcertck sslcertfile "%s"\n'
            '  mda "/bin/sh -c \'cat >> %s\'"\n' %
            (port, pinst.login, pinst.password,
             "ssl" if mode == "pop3s" else "", pinst.ca_file, out))
        os.chmod(rc, 0o600)
        r = subprocess.run([fetchmail, "-f", str(rc), "-N", "--nokeep",
                            "-i", str(tmp_path / "fetchids"),
                            "--pidfile", str(tmp_path / "fm.pid")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60,
                           env=dict(os.environ, HOME=str(tmp_path)))
        assert r.returncode == 0, r.stdout
        got = out.read_text()
        assert "Subject: one" in got and "Subject: two" in got
        assert ".dotted" in got and "..dotted" not in got
        assert messages(pinst) == [], (mode, r.stdout)


def test_curl_pop3_and_pop3s(pinst):
    deliver(pinst, MSG1)
    # The account has a hashed password, so CRAM-MD5 (curl's first
    # choice among the advertised mechanisms) cannot work for it.
    base = ["curl", "-s", "-S", "--max-time", "20", "--login-options",
            "AUTH=PLAIN", "-u", "%s:%s" % (pinst.login, pinst.password)]
    r = subprocess.run(base + ["pop3://%s:%d/" % (pinst.address,
                                                   pinst.ports["pop3"])],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"1 ")
    r = subprocess.run(base + ["--cacert", pinst.ca_file,
                               "pop3s://localhost:%d/1" %
                               pinst.ports["pop3s"]],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Subject: one" in r.stdout and b".dotted" in r.stdout
    r = subprocess.run(base + ["--ssl-reqd", "--cacert", pinst.ca_file,
                               "pop3://localhost:%d/1" % pinst.ports["pop3"],
                               "--login-options", "AUTH=LOGIN",
                               "-X", "DELE", "-I"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert messages(pinst) == []


def userdb_set(inst, *fields):
    inst.run("userdb", inst.login, "set", *fields)
    inst.run("makeuserdb")


def test_disablepop3_and_insecure(pinst):
    deliver(pinst, MSG1)
    userdb_set(pinst, "options=disableinsecurepop3=1")
    time.sleep(1.1)
    p = connect(pinst)
    p.user(pinst.login)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(pinst.password)
    assert b"TLS" in e.value.args[0]
    p = connect(pinst)
    p.stls(pinst.ssl_context())
    p.user(pinst.login)
    p.pass_(pinst.password)
    p.quit()
    userdb_set(pinst, "options=disablepop3=1")
    time.sleep(1.1)
    p = connect(pinst)
    p.stls(pinst.ssl_context())
    p.user(pinst.login)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(pinst.password)
    assert e.value.args[0].startswith(b"-ERR [")


def test_tls_required(pinst):
    pinst.stop("pop3d")
    path = os.path.join(pinst.etc, "pop3d-ssl")
    with open(path) as f:
        text = f.read().replace("POP3_TLS_REQUIRED=0", "POP3_TLS_REQUIRED=1")
    with open(path, "w") as f:
        f.write(text)
    pinst.start("pop3d")
    p = connect(pinst)
    assert "USER" not in p.capa()
    with pytest.raises(poplib.error_proto) as e:
        p.user(pinst.login)
    assert b"TLS" in e.value.args[0]
    p.stls(pinst.ssl_context())
    assert "USER" in p.capa()
    p.user(pinst.login)
    p.pass_(pinst.password)
    p.quit()


def test_limits(pinst):
    s, f = raw_session(pinst)
    s.sendall(b"X" * 10000 + b"\r\n")
    assert f.readline().startswith(b"-ERR")
    # One command at a time: a client that keeps sending after the server
    # has decided to close makes its kernel answer with a reset, which can
    # discard the last reply before the client reads it.
    data = b""
    for _ in range(12):
        s.sendall(b"BOGUS\r\n")
        line = f.readline()
        data += line
        if not line or b"Too many bad commands" in line:
            break
    assert b"Too many bad commands" in data
    assert f.readline() == b""  # and the session is closed
    s.close()


def test_tunnel_mode(pinst, tmp_path):
    deliver(pinst, MSG1)
    md = tmp_path / "Maildir"
    shutil.copytree(pinst.maildir, md)
    r = subprocess.run([pinst.program("pop3d"), str(md)],
                       input=b"STAT\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=pinst.env, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"+OK logged in.\r\n+OK 1 ")
    assert b"..dotted\r\n" in r.stdout
    assert r.stdout.endswith(b"+OK Bye-bye.\r\n")
    assert os.listdir(md / "new") == [] and os.listdir(md / "cur") == []
    r = subprocess.run([pinst.program("pop3d"), "--stdio"],
                       input=b"STAT\r\nQUIT\r\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30,
                       env=dict(pinst.env, MAILDIR=str(md)))
    assert r.stdout.startswith(b"+OK logged in.\r\n+OK 0 0\r\n")


def test_sigterm_stops(pinst):
    s, f = raw_session(pinst)
    assert pinst.stop("pop3d") == 0
    s.close()


def set_pop3d(inst, **values):
    """Sets NAME=value lines of etc/pop3d and restarts pop3d."""
    inst.stop("pop3d")
    path = os.path.join(inst.etc, "pop3d")
    with open(path) as f:
        lines = [l for l in f.read().splitlines()
                 if l.split("=", 1)[0] not in values]
    lines += ["%s=%s" % kv for kv in values.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    inst.start("pop3d")


def test_apop_only_for_clear_passwords(pinst):
    set_pop3d(pinst, POP3_APOP="YES")
    p = connect(pinst)
    assert b"<" in p.getwelcome()
    # The account's password is hashed: APOP cannot be checked.
    with pytest.raises(poplib.error_proto) as e:
        p.apop(pinst.login, pinst.password)
    assert b"[AUTH]" in e.value.args[0]
    p.quit()


APOP_PW = "apop-Clear1"


def test_apop_with_clear_password_from_sql(pinst, postgres_server):
    """APOP succeeds for an account whose password PostgreSQL keeps in the
    clear (authpgsql's PGSQL_CLEAR_PWFIELD), and fails with a wrong one;
    an account with only a hashed password gets [AUTH]."""
    from authbackend import AuthDaemon

    pg = postgres_server
    uid, gid = owner(pinst)
    home = os.path.dirname(pinst.maildir.rstrip("/"))
    q = lambda v: "'" + str(v).replace("'", "''") + "'"
    pg.sql("DROP TABLE IF EXISTS pop3_apop_users;"
           "CREATE TABLE pop3_apop_users (id VARCHAR(255) PRIMARY KEY, "
           "crypt VARCHAR(255), clear VARCHAR(255), uid INT, gid INT, "
           "home VARCHAR(255), maildir VARCHAR(255));"
           "INSERT INTO pop3_apop_users VALUES (%s, '', %s, %d, %d, %s, %s);"
           "INSERT INTO pop3_apop_users VALUES (%s, %s, '', %d, %d, %s, %s)"
           % (q("clear@example.test"), q(APOP_PW), uid, gid, q(home),
              q(pinst.maildir), q("hashed@example.test"),
              q("{SHA}" + base64.b64encode(
                  __import__("hashlib").sha1(APOP_PW.encode()).digest())
                .decode()), uid, gid, q(home), q(pinst.maildir)))
    rc = "\n".join([
        "PGSQL_HOST\t%s" % pg.host, "PGSQL_PORT\t%d" % pg.port,
        "PGSQL_USERNAME\t%s" % pg.user, "PGSQL_PASSWORD\t%s" % pg.password,
        "PGSQL_DATABASE\t%s" % pg.database,
        "PGSQL_USER_TABLE\tpop3_apop_users",
        "PGSQL_CRYPT_PWFIELD\tcrypt", "PGSQL_CLEAR_PWFIELD\tclear",
        "PGSQL_LOGIN_FIELD\tid", "PGSQL_HOME_FIELD\thome",
        "PGSQL_MAILDIR_FIELD\tmaildir",
        "PGSQL_DEFAULT_DOMAIN\texample.test", ""])
    pinst.stop("pop3d")
    pinst.stop("authdaemond")
    auth = AuthDaemon(pinst, "authpgsql", "authpgsqlrc", rc).start()
    auth.expect(0, "clear@example.test", APOP_PW, service="pop3")
    set_pop3d(pinst, POP3_APOP="YES")
    deliver(pinst, MSG1)

    p = connect(pinst)
    stamp = p.getwelcome().split()[-1]
    assert stamp.startswith(b"<") and stamp.endswith(b">")
    # The digest poplib sends is MD5(timestamp + password), RFC 1939.
    assert b"+OK" in p.apop("clear@example.test", APOP_PW)
    assert p.stat() == (1, len(MSG1) + MSG1.count("\n"))
    assert b"Subject: one" in b"\n".join(p.retr(1)[1])
    p.quit()

    # A wrong password, then a hashed-only account: [AUTH], no session.
    p = connect(pinst)
    with pytest.raises(poplib.error_proto) as e:
        p.apop("clear@example.test", APOP_PW + "x")
    assert b"[AUTH]" in e.value.args[0]
    with pytest.raises(poplib.error_proto) as e:
        p.apop("hashed@example.test", APOP_PW)
    assert b"[AUTH]" in e.value.args[0]
    # USER/PASS still works for the hashed one.
    p.user("hashed@example.test")
    assert b"+OK" in p.pass_(APOP_PW)
    assert p.stat()[0] == 1
    p.quit()
    assert len(messages(pinst)) == 1


def test_failed_logins_throttled_by_authlib(pinst):
    """authdaemond refuses a user after AUTHFAIL_USER failures, even with
    the right password; pop3d says so with [AUTH] after its delay."""
    fails = int(pinst.settings("authdaemonrc").get("AUTHFAIL_USER", "10"))
    n = 0
    while n < fails:
        p = connect(pinst)
        for _ in range(3):
            if n >= fails:
                break
            p.user(pinst.login)
            t = time.monotonic()
            with pytest.raises(poplib.error_proto) as e:
                p.pass_("wrong-" + pinst.password)
            assert b"[AUTH]" in e.value.args[0]
            assert time.monotonic() - t >= 0.9  # pop3d's own delay
            n += 1
        p.close()
    p = connect(pinst)
    p.user(pinst.login)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(pinst.password)
    assert e.value.args[0].startswith(b"-ERR [")
    p.close()


def test_shared_mailbox_when_not_locked(pinst):
    deliver(pinst, MSG1)
    deliver(pinst, MSG2)
    set_pop3d(pinst, POP3_MAILBOX_LOCK="NO")
    p1 = login(pinst)
    p2 = login(pinst)  # no [IN-USE]
    assert p1.stat()[0] == 2 and p2.stat()[0] == 2
    p1.dele(1)
    p1.quit()
    with pytest.raises(poplib.error_proto) as e:
        p2.retr(1)
    assert b"deleted" in e.value.args[0]
    assert p2.retr(2)[1][1] == b"Subject: two"
    p2.dele(1)  # expunging it again is harmless
    assert p2.quit().startswith(b"+OK")
    assert len(messages(pinst)) == 1


def test_login_delay_and_expire_in_capa(pinst):
    deliver(pinst, MSG1)
    set_pop3d(pinst, POP3_LOGIN_DELAY="60", POP3_EXPIRE="NEVER")
    p = connect(pinst)
    caps = p.capa()
    assert caps["LOGIN-DELAY"] == ["60"] and caps["EXPIRE"] == ["NEVER"]
    p.user(pinst.login)
    p.pass_(pinst.password)
    assert "LOGIN-DELAY" in p.capa()
    p.quit()
    p = connect(pinst)
    p.user(pinst.login)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(pinst.password)
    assert b"[LOGIN-DELAY]" in e.value.args[0]
    p.quit()
    set_pop3d(pinst, POP3_LOGIN_DELAY="0", POP3_EXPIRE="")
    caps = connect(pinst).capa()
    assert "LOGIN-DELAY" not in caps and "EXPIRE" not in caps


def test_uidl_stable_after_imap_flag_change(pinst):
    """UIDLs stay when an IMAP session changes flags (the files are renamed
    into cur/ with new info parts) and when new mail comes."""
    import imaplib
    deliver(pinst, MSG1)
    deliver(pinst, MSG2)
    p = login(pinst)
    first = p.uidl()[1]
    p.quit()
    pinst.program("imapd")
    pinst.start("imapd")
    try:
        m = imaplib.IMAP4(pinst.address, pinst.ports["imap"], timeout=20)
        m.login(pinst.login, pinst.password)
        m.select("INBOX")
        typ, _ = m.store("1:2", "+FLAGS", "(\\Seen \\Flagged)")
        assert typ == "OK"
        typ, _ = m.store("1", "-FLAGS", "(\\Flagged)")
        assert typ == "OK"
        typ, _ = m.store("2", "+FLAGS", "($Label1)")
        assert typ == "OK"
        m.logout()
    finally:
        pinst.stop("imapd")
    # The IMAP session did rename the files.
    names = sorted(os.listdir(os.path.join(pinst.maildir, "cur")))
    assert len(names) == 2 and all(":2," in n and "S" in n.split(":2,")[1]
                                   for n in names), names
    assert sum("F" in n.split(":2,")[1] for n in names) == 1, names
    deliver(pinst, "Subject: three\n\nx\n")
    p = login(pinst)
    second = p.uidl()[1]
    assert p.stat()[0] == 3
    p.quit()
    assert second[:2] == first
    assert len(second) == 3 and second[2] not in first


def test_curl_default_login(pinst):
    """Plain curl (it picks the strongest SASL mechanism it sees) logs in
    with the instance's mechanisms, for an account with a hashed
    password."""
    caps = connect(pinst).capa()
    if "CRAM-MD5" in caps.get("SASL", []):
        # courier-setup's etc/pop3d used to offer CRAM-MD5, which no
        # hashed password can answer; the default asked of it is this.
        set_pop3d(pinst, POP3AUTH='"PLAIN LOGIN"')
    deliver(pinst, MSG1)
    url = "pop3://%s:%d/" % (pinst.address, pinst.ports["pop3"])
    curl = ["curl", "-s", "-S", "--max-time", "20", "-u",
            "%s:%s" % (pinst.login, pinst.password)]
    r = subprocess.run(curl + [url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"1 ")
    r = subprocess.run(curl + [url + "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Subject: one" in r.stdout


UTF8_MSG = ("From: =?utf-8?q?J=C3=B6?= <j@example.test>\n"
            "To: b\u00e9@ex\u00e4mple.test\nSubject: caf\u00e9\n\n"
            "body\n").encode()


def test_utf8_and_lang(pinst):
    deliver(pinst, MSG1)
    deliver(pinst, UTF8_MSG)
    p = connect(pinst)
    caps = p.capa()
    assert caps["UTF8"] == ["USER"] and "LANG" in caps
    resp, lines, _ = p._longcmd("LANG")
    assert lines == [b"en English", b"i-default Default language"]
    assert p._shortcmd("LANG en-US").startswith(b"+OK en ")
    with pytest.raises(poplib.error_proto):
        p._shortcmd("LANG fr")
    p.user(pinst.login)
    p.pass_(pinst.password)
    assert "LANG" in p.capa()
    # Not in UTF-8 mode: the internationalized message is refused, the
    # other one is sent, both are listed and can be deleted.
    assert p.retr(1)[1][1] == b"Subject: one"
    with pytest.raises(poplib.error_proto) as e:
        p.retr(2)
    assert e.value.args[0].startswith(b"-ERR [UTF8]")
    assert p.stat()[0] == 2
    p.quit()
    p = connect(pinst)
    assert p.utf8().startswith(b"+OK")
    p.user(pinst.login)
    p.pass_(pinst.password)
    resp, lines, octets = p.retr(2)
    assert lines[2] == "Subject: caf\u00e9".encode()
    assert octets == len(UTF8_MSG.replace(b"\n", b"\r\n"))
    p.dele(2)
    p.quit()
    assert len(messages(pinst)) == 1


def test_utf8_user_name(pinst):
    name = "j\u00f6rg"
    r = pinst.run("userdb", name, "set", "uid=%d" % owner(pinst)[0],
                  "gid=%d" % owner(pinst)[1],
                  "home=" + os.path.dirname(pinst.maildir),
                  "mail=" + pinst.maildir, check=False)
    if r.returncode != 0:
        pytest.skip("userdb refuses UTF-8 names: " + r.stderr)
    hashed = subprocess.run(["openssl", "passwd", "-6", "pw\u00e9"],
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    pinst.run("userdb", name, "set", "systempw=" + hashed)
    pinst.run("makeuserdb")
    deliver(pinst, MSG1)
    s, f = raw_session(pinst)
    s.sendall(b"UTF8\r\n")
    assert f.readline().startswith(b"+OK")
    s.sendall(("USER %s\r\n" % name).encode())
    assert f.readline().startswith(b"+OK")
    s.sendall("PASS pw\u00e9\r\n".encode())
    assert f.readline() == b"+OK logged in.\r\n"
    s.sendall(b"STAT\r\nQUIT\r\n")
    assert f.readline().startswith(b"+OK 1 ")
    assert f.readline().startswith(b"+OK")
    s.close()
    s, f = raw_session(pinst)
    s.sendall(b"USER j\xf6rg\r\n")  # Latin-1, not UTF-8
    assert f.readline().startswith(b"-ERR")
    s.close()
