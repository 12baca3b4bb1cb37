"""test_auth_sql.py: the authmysql and authpgsql modules through
authdaemond and authtest, each against its real server (MariaDB or
PostgreSQL) on 127.0.0.1.  One set of tests; what differs between the two
(the rc file's prefix, quoting, the SQL dialect) is in a Flavour."""

import base64
import hashlib
import os
import subprocess

import pytest

from authbackend import OK, REJECTED, TEMPFAIL, AuthDaemon, dead_port, \
    start_server, stop_server

ALICE_PW = "alice-Secret1"
BOB_PW = "b0b's \\pass%_"
CAROL_PW = "carol-pw"
DAVE_PW = "dave-pw"


class Flavour:
    """What one SQL module's test needs to know of its server."""

    def __init__(self, name, fixture, prefix, host_key, host_sep,
                 backslash_escapes, table_suffix, concat):
        self.name = name            # module: authmysql / authpgsql
        self.fixture = fixture      # the server fixture in conftest.py
        self.prefix = prefix        # MYSQL_ / PGSQL_
        self.host_key = host_key    # MYSQL_SERVER / PGSQL_HOST
        self.host_sep = host_sep    # between failover hosts
        self.backslash_escapes = backslash_escapes
        self.table_suffix = table_suffix
        self.concat = concat        # SQL: local@domain of the macros

    def q(self, s):
        if self.backslash_escapes:
            s = s.replace("\\", "\\\\")
        return "'" + s.replace("'", "''") + "'"

    def rc(self, server, extra="", hosts=None, port=None):
        p = self.prefix
        lines = [
            "# %src for the test" % self.name,
            "%s\t\t%s" % (self.host_key, hosts or server.host),
            "%sPORT\t\t%d" % (p, port or server.port),
            "%sUSERNAME\t\t%s" % (p, server.user),
            "%sPASSWORD\t\t%s" % (p, server.password),
            "%sDATABASE\t\t%s" % (p, server.database),
            "%sTIMEOUT\t\t5" % p,
            "%sUSER_TABLE\tusers" % p,
            "%sCRYPT_PWFIELD\tcrypt" % p,
            "%sCLEAR_PWFIELD\tclear" % p,
            "%sLOGIN_FIELD\tid" % p,
            "%sHOME_FIELD\thome" % p,
            "%sNAME_FIELD\tname" % p,
            "%sMAILDIR_FIELD\tmaildir" % p,
            "%sQUOTA_FIELD\tquota" % p,
            "%sAUXOPTIONS_FIELD\toptions" % p,
            "%sDEFAULT_DOMAIN\texample.test" % p,
        ]
        return "\n".join(lines) + "\n" + extra

    def daemon(self, instance, text):
        return AuthDaemon(instance, self.name, self.name + "rc", text)


MYSQL = Flavour("authmysql", "mariadb_server", "MYSQL_", "MYSQL_SERVER",
                ", ", True, " CHARACTER SET utf8mb4",
                "CONCAT('$(local_part)', '@', '$(domain)')")
PGSQL = Flavour("authpgsql", "postgres_server", "PGSQL_", "PGSQL_HOST",
                ",", False, "", "'$(local_part)' || '@' || '$(domain)'")


def sha512_crypt(pw):
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=pw,
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def ssha(pw):
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(
        hashlib.sha1(pw.encode() + salt).digest() + salt).decode()


@pytest.fixture(scope="module", params=[MYSQL, PGSQL],
                ids=lambda f: f.name)
def flavour(request):
    return request.param


@pytest.fixture(scope="module")
def db(request, flavour):
    s = request.getfixturevalue(flavour.fixture)
    q = flavour.q
    rows = [
        ("alice@example.test", sha512_crypt(ALICE_PW), "", 1001, 1001,
         "/var/vmail/example.test/alice", "Alice A", "", "1000000S", ""),
        ("bob@example.test", ssha(BOB_PW), "", 1002, 1001,
         "/var/vmail/example.test/bob", "", "Maildir.bob", "", ""),
        ("carol@example.test", "", CAROL_PW, 1003, 1001,
         "/var/vmail/example.test/carol", "", "", "", "disableimap=1"),
        ("dave@other.test", ssha(DAVE_PW), "", 1004, 1002,
         "/var/vmail/other.test/dave", "", "", "", ""),
    ]
    sql = ["CREATE TABLE users (id VARCHAR(255) PRIMARY KEY, "
           "crypt VARCHAR(255), clear VARCHAR(255), uid INT, gid INT, "
           "home VARCHAR(255), name VARCHAR(255), maildir VARCHAR(255), "
           "quota VARCHAR(64), options VARCHAR(255))" + flavour.table_suffix]
    for r in rows:
        sql.append("INSERT INTO users VALUES (%s, %s, %s, %d, %d, %s, %s, "
                   "%s, %s, %s)" % (q(r[0]), q(r[1]), q(r[2]), r[3], r[4],
                                    q(r[5]), q(r[6]), q(r[7]), q(r[8]),
                                    q(r[9])))
    s.sql(";".join(sql))
    return s


@pytest.fixture
def auth(instance, db, flavour):
    a = flavour.daemon(instance, flavour.rc(db)).start()
    yield a
    a.stop()


METACHAR_LOGINS = [
    "x' OR '1'='1", "alice@example.test' -- ", "alice@example.test'#",
    "%", "%@example.test", "alic_@example.test", "_lice@example.test",
    "\\", "alice\\@example.test", "' UNION SELECT id, crypt, clear, uid, "
    "gid, home, name, maildir, quota, options FROM users -- ",
    "*", "*)(mail=*", "\"alice@example.test\"", "alice@example.test\\",
]


def test_login_right_wrong_unknown(auth):
    out = auth.expect(OK, "alice@example.test", ALICE_PW)
    assert auth.field(out, "Authenticated").startswith("alice@example.test")
    assert "(uid 1001, gid 1001)" in out
    assert auth.field(out, "Home Directory") == \
        "/var/vmail/example.test/alice"
    assert auth.field(out, "Quota") == "1000000S"
    auth.expect(REJECTED, "alice@example.test", "wrong")
    auth.expect(REJECTED, "alice@example.test", "")
    auth.expect(REJECTED, "nobody@example.test", ALICE_PW)
    # {SSHA} with metacharacters in the password, relative maildir
    out = auth.expect(OK, "bob@example.test", BOB_PW)
    assert auth.field(out, "Maildir") == \
        "/var/vmail/example.test/bob/Maildir.bob"
    # clear-text column
    auth.expect(OK, "carol@example.test", CAROL_PW, service="pop3")
    auth.expect(REJECTED, "carol@example.test", "x", service="pop3")


def test_lookup_without_password(auth):
    out = auth.expect(OK, "alice@example.test")
    assert auth.field(out, "Authenticated").startswith("alice@example.test")
    auth.expect(REJECTED, "nobody@example.test")


def test_disableimap(auth):
    auth.expect(REJECTED, "carol@example.test", CAROL_PW, service="imap")
    auth.expect(OK, "carol@example.test", CAROL_PW, service="pop3")


def test_virtual_domains(auth):
    auth.expect(OK, "alice", ALICE_PW)  # *_DEFAULT_DOMAIN appended
    auth.expect(OK, "dave@other.test", DAVE_PW)
    auth.expect(REJECTED, "dave", DAVE_PW)  # dave@example.test: none
    auth.expect(REJECTED, "alice@other.test", ALICE_PW)


@pytest.mark.parametrize("login", METACHAR_LOGINS)
def test_metacharacters_never_match(auth, login):
    for pw in (ALICE_PW, BOB_PW, "x"):
        rc_, out = auth.authtest(login, pw)
        assert rc_ == REJECTED, (login, rc_, out, auth.log())
    rc_, out = auth.authtest(login)
    assert rc_ == REJECTED, (login, rc_, out)


def test_custom_select_clause_escapes(instance, db, flavour):
    extra = ("%sSELECT_CLAUSE\tSELECT id, crypt, clear, uid, gid,\t\\\n"
             "\t\thome, maildir, quota, name, options FROM users\t\\\n"
             "\t\tWHERE id = %s\t\\\n"
             "\t\tAND '$(service)' <> 'forbidden'\n" %
             (flavour.prefix, flavour.concat))
    a = flavour.daemon(instance, flavour.rc(db, extra)).start()
    try:
        a.expect(OK, "alice@example.test", ALICE_PW)
        a.expect(OK, "alice", ALICE_PW)
        a.expect(REJECTED, "alice@example.test", ALICE_PW,
                 service="forbidden")
        for login in METACHAR_LOGINS:
            rc_, out = a.authtest(login, ALICE_PW)
            assert rc_ == REJECTED, (login, rc_, out, a.log())
    finally:
        a.stop()


def test_enumerate(auth):
    rows = auth.enumerate()
    names = sorted(r[0] for r in rows)
    assert names == ["alice@example.test", "bob@example.test",
                     "carol@example.test", "dave@other.test"]
    bob = [r for r in rows if r[0] == "bob@example.test"][0]
    assert bob[1:4] == ["1002", "1001", "/var/vmail/example.test/bob"]


def test_change_password(auth, db):
    auth.expect(REJECTED, "dave@other.test", "wrong-old",
                newpass="new-Pw1")
    auth.expect(OK, "dave@other.test", DAVE_PW, newpass="new'Pw\\2")
    auth.expect(OK, "dave@other.test", "new'Pw\\2")
    auth.expect(REJECTED, "dave@other.test", DAVE_PW)
    stored = db.sql("SELECT crypt FROM users WHERE id='dave@other.test'")
    assert stored.startswith("{SSHA}"), stored  # kept its scheme
    auth.expect(OK, "dave@other.test", "new'Pw\\2", newpass=DAVE_PW)


def test_server_down_and_back(auth, db):
    auth.expect(OK, "alice@example.test", ALICE_PW)
    stop_server(db)
    try:
        for _ in range(3):
            rc_, out = auth.authtest("alice@example.test", ALICE_PW)
            assert rc_ == TEMPFAIL, (rc_, out)
            rc_, out = auth.authtest("alice@example.test", "wrong")
            assert rc_ == TEMPFAIL, (rc_, out)
    finally:
        start_server(db)
    # every worker reconnects on its next request: no failure at all
    for _ in range(6):
        auth.expect(OK, "alice@example.test", ALICE_PW)
    assert auth.daemon.running()


def test_failover_to_second_server(instance, db, flavour):
    text = flavour.rc(db, hosts="127.0.0.3%s%s" % (flavour.host_sep,
                                                    db.host))
    a = flavour.daemon(instance, text).start()
    try:
        a.expect(OK, "alice@example.test", ALICE_PW)
    finally:
        a.stop()


def test_unreachable_server_is_tempfail(instance, db, flavour):
    a = flavour.daemon(instance, flavour.rc(db, port=dead_port())).start()
    try:
        rc_, out = a.authtest("alice@example.test", ALICE_PW)
        assert rc_ == TEMPFAIL, out
    finally:
        a.stop()


def test_connection_string(instance, db, flavour):
    if flavour is not PGSQL:
        pytest.skip("PGSQL_CONNECTION is authpgsql's alone")
    text = "\n".join(l for l in flavour.rc(db).splitlines()
                     if not l.startswith(("PGSQL_HOST", "PGSQL_PORT",
                                          "PGSQL_USERNAME", "PGSQL_PASSWORD",
                                          "PGSQL_DATABASE")))
    text += "\nPGSQL_CONNECTION\t%s\n" % db.dsn
    a = flavour.daemon(instance, text).start()
    try:
        a.expect(OK, "alice@example.test", ALICE_PW)
        a.expect(REJECTED, "x' OR '1'='1", ALICE_PW)
    finally:
        a.stop()
