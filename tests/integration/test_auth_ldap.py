"""test_auth_ldap.py: the authldap module through authdaemond and
authtest, against a real slapd on 127.0.0.1 (hash compare and
LDAP_AUTHBIND)."""

import subprocess

import pytest

import servers
from authbackend import OK, REJECTED, TEMPFAIL, AuthDaemon, dead_port, \
    start_server, stop_server

ALICE_PW = "alice-Secret1"
BOB_PW = "b0b*)(pass\\"
CAROL_PW = "carol-pw"
DAVE_PW = "dave-pw"


def slappasswd(pw):
    return servers.run(["slappasswd", "-s", pw], "slappasswd").strip()


# One entry per slappasswd scheme (userPassword made at run time), so the
# hashes an OpenLDAP admin already has are checked by authlib's verifier
# (LDAP_AUTHBIND=0) as well as by slapd (LDAP_AUTHBIND=1).
HASH_PW = "h4sh pw*)("
HASH_SCHEMES = [("smd5", ["-h", "{SMD5}"]), ("md5", ["-h", "{MD5}"]),
                ("sha", ["-h", "{SHA}"]), ("ssha", ["-h", "{SSHA}"]),
                ("crypt6", ["-h", "{CRYPT}", "-c", "$6$%.16s"]),
                ("crypt1", ["-h", "{CRYPT}", "-c", "$1$%.8s"])]


def slappasswd_scheme(pw, args):
    return servers.run(["slappasswd"] + args + ["-s", pw],
                       "slappasswd").strip()


def crypt6(pw):
    return "{CRYPT}" + subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=pw,
        capture_output=True, text=True, check=True).stdout.strip()


def person(uid, mail, pw, uidnum, home, extra=""):
    return ("dn: uid=%s,ou=people,dc=example,dc=test\n"
            "objectClass: inetOrgPerson\nobjectClass: posixAccount\n"
            "uid: %s\ncn: %s User\nsn: %s\nmail: %s\nuserPassword: %s\n"
            "uidNumber: %d\ngidNumber: 1001\nhomeDirectory: %s\n%s\n" %
            (uid, uid, uid.title(), uid, mail, pw, uidnum, home, extra))


@pytest.fixture(scope="module")
def directory(ldap_server):
    s = ldap_server
    s.load_ldif(
        "dn: ou=people,dc=example,dc=test\nobjectClass: organizationalUnit\n"
        "ou: people\n\n" +
        person("alice", "alice@example.test", slappasswd(ALICE_PW), 1001,
               "/var/vmail/example.test/alice") +
        person("bob", "bob@example.test", crypt6(BOB_PW), 1002,
               "example.test/bob") +
        person("carol", "carol@example.test", slappasswd(CAROL_PW), 1003,
               "/var/vmail/example.test/carol", "description: 1\n") +
        person("dave", "dave@other.test", slappasswd(DAVE_PW), 1004,
               "/var/vmail/other.test/dave") +
        "".join(person("hash-" + name, "hash-%s@example.test" % name,
                       slappasswd_scheme(HASH_PW, args), 2000 + i,
                       "/var/vmail/example.test/hash-" + name)
                for i, (name, args) in enumerate(HASH_SCHEMES)))
    return s


def rc(server, extra="", uri=None):
    return (
        "# authldaprc for the test\n"
        "LDAP_URI\t\t%s\n"
        "LDAP_PROTOCOL_VERSION\t3\n"
        "LDAP_BASEDN\t\tdc=example,dc=test\n"
        "LDAP_BINDDN\t\t%s\n"
        "LDAP_BINDPW\t\t%s\n"
        "LDAP_TIMEOUT\t\t5\n"
        "LDAP_MAIL\t\tmail\n"
        "LDAP_FILTER\t\t(objectClass=posixAccount)\n"
        "LDAP_DOMAIN\t\texample.test\n"
        "LDAP_HOMEDIR\t\thomeDirectory\n"
        "LDAP_MAILROOT\t\t/var/vmail\n"
        "LDAP_FULLNAME\t\tcn\n"
        "LDAP_CRYPTPW\t\tuserPassword\n"
        "LDAP_UID\t\tuidNumber\n"
        "LDAP_GID\t\tgidNumber\n"
        "LDAP_AUXOPTIONS\t\tdescription=disableimap\n"
        "LDAP_DEREF\t\tnever\n"
        "LDAP_TLS\t\t0\n" %
        (uri or server.uri, server.rootdn, server.rootpw)) + extra


@pytest.fixture(params=["compare", "authbind"])
def auth(request, instance, directory):
    extra = "LDAP_AUTHBIND\t\t1\n" if request.param == "authbind" else ""
    a = AuthDaemon(instance, "authldap", "authldaprc",
                   rc(directory, extra)).start()
    a.mode = request.param
    yield a
    a.stop()


METACHAR_LOGINS = [
    "*", "*@example.test", "alice*", "a*e@example.test", "*)(mail=*",
    "alice@example.test)(mail=*", "alice@example.test)(|(mail=*",
    "(", ")", "\\", "\\2a", "alice@example.test\\", "\\00",
    "x' OR '1'='1", "%", "alic_@example.test",
]


def test_login_right_wrong_unknown(auth):
    out = auth.expect(OK, "alice@example.test", ALICE_PW)
    assert auth.field(out, "Authenticated").startswith("alice@example.test")
    assert "(uid 1001, gid 1001)" in out
    assert auth.field(out, "Home Directory") == \
        "/var/vmail/example.test/alice"
    auth.expect(REJECTED, "alice@example.test", "wrong")
    auth.expect(REJECTED, "alice@example.test", "")
    auth.expect(REJECTED, "nobody@example.test", ALICE_PW)
    # {CRYPT}$6$, a relative home under LDAP_MAILROOT
    out = auth.expect(OK, "bob@example.test", BOB_PW)
    assert auth.field(out, "Home Directory") == "/var/vmail/example.test/bob"
    auth.expect(REJECTED, "bob@example.test", BOB_PW[:-1])


@pytest.mark.parametrize("scheme", [n for n, _ in HASH_SCHEMES])
def test_slappasswd_hashes(auth, directory, scheme):
    login = "hash-%s@example.test" % scheme
    out = directory.search("(mail=%s)" % login, ["userPassword"])
    assert "userPassword" in out
    auth.expect(OK, login, HASH_PW)
    auth.expect(REJECTED, login, HASH_PW[:-1])
    auth.expect(REJECTED, login, HASH_PW + "x")


def test_disableimap(auth):
    auth.expect(REJECTED, "carol@example.test", CAROL_PW, service="imap")
    auth.expect(OK, "carol@example.test", CAROL_PW, service="pop3")


def test_virtual_domains(auth):
    auth.expect(OK, "alice", ALICE_PW)  # LDAP_DOMAIN appended
    auth.expect(OK, "dave@other.test", DAVE_PW)
    auth.expect(REJECTED, "dave", DAVE_PW)
    auth.expect(REJECTED, "alice@other.test", ALICE_PW)


def test_metacharacters_never_match(auth):
    for login in METACHAR_LOGINS:
        for pw in (ALICE_PW, BOB_PW):
            rc_, out = auth.authtest(login, pw)
            assert rc_ == REJECTED, (login, rc_, out, auth.log())
        rc_, out = auth.authtest(login)
        assert rc_ == REJECTED, (login, rc_, out)


def test_enumerate(auth):
    rows = auth.enumerate()
    names = sorted(r[0] for r in rows)
    assert names == sorted(["alice@example.test", "bob@example.test",
                            "carol@example.test", "dave@other.test"] +
                           ["hash-%s@example.test" % n
                            for n, _ in HASH_SCHEMES])
    carol = [r for r in rows if r[0] == "carol@example.test"][0]
    assert carol[1:4] == ["1003", "1001", "/var/vmail/example.test/carol"]
    assert "disableimap=1" in carol[5]


def test_change_password(auth, directory):
    auth.expect(REJECTED, "dave@other.test", "wrong-old", newpass="x-Pw1")
    auth.expect(OK, "dave@other.test", DAVE_PW, newpass="n3w*(pw)")
    auth.expect(OK, "dave@other.test", "n3w*(pw)")
    auth.expect(REJECTED, "dave@other.test", DAVE_PW)
    out = directory.search("(mail=dave@other.test)", ["userPassword"])
    assert "userPassword::" in out or "userPassword:" in out
    auth.expect(OK, "dave@other.test", "n3w*(pw)", newpass=DAVE_PW)
    auth.expect(OK, "dave@other.test", DAVE_PW)


def test_server_down_and_back(auth, directory):
    auth.expect(OK, "alice@example.test", ALICE_PW)
    stop_server(directory)
    try:
        for _ in range(3):
            rc_, out = auth.authtest("alice@example.test", ALICE_PW)
            assert rc_ == TEMPFAIL, (rc_, out)
            rc_, out = auth.authtest("alice@example.test", "wrong")
            assert rc_ == TEMPFAIL, (rc_, out)
    finally:
        start_server(directory)
    for _ in range(6):
        auth.expect(OK, "alice@example.test", ALICE_PW)
    assert auth.daemon.running()


def test_failover_to_second_uri(instance, directory):
    uris = "ldap://127.0.0.1:%d, %s" % (dead_port(), directory.uri)
    a = AuthDaemon(instance, "authldap", "authldaprc",
                   rc(directory, uri=uris)).start()
    try:
        a.expect(OK, "alice@example.test", ALICE_PW)
    finally:
        a.stop()


def test_starttls_refused_is_tempfail(instance, directory):
    # slapd here has no certificate: StartTLS fails, and that must be a
    # temporary failure, never a wrong password.
    a = AuthDaemon(instance, "authldap", "authldaprc",
                   rc(directory).replace("LDAP_TLS\t\t0",
                                         "LDAP_TLS\t\t1")).start()
    try:
        rc_, out = a.authtest("alice@example.test", ALICE_PW)
        assert rc_ == TEMPFAIL, out
    finally:
        a.stop()


def test_bad_binddn_password_is_tempfail(instance, directory):
    a = AuthDaemon(instance, "authldap", "authldaprc",
                   rc(directory).replace(directory.rootpw, "not-it")).start()
    try:
        rc_, out = a.authtest("alice@example.test", ALICE_PW)
        assert rc_ == TEMPFAIL, out
    finally:
        a.stop()
