"""test_servers.py: the real-server fixtures work, checked with each
server's own command-line client (psql, mariadb, ldapsearch, dig)."""

import os
import subprocess

import servers


def test_postgres_user_can_create_and_query(postgres_server):
    pg = postgres_server
    pg.sql("CREATE TABLE users (login text PRIMARY KEY, pw text)")
    pg.sql("INSERT INTO users VALUES ('demo@example.test', 'x')")
    assert pg.sql("SELECT login FROM users").strip() == "demo@example.test"
    # The user is a real role with a real password, not a trusted one.
    assert pg.admin_sql(
        "SELECT rolsuper FROM pg_roles WHERE rolname = '%s'" % pg.user
    ).strip() == "f"


def test_postgres_refuses_a_wrong_password(postgres_server):
    pg = postgres_server
    env = dict(os.environ, PGPASSWORD="wrong-" + pg.password,
               PGCONNECT_TIMEOUT="5")
    r = subprocess.run(
        [os.path.join(pg.bindir, "psql"), "-X", "-h", "127.0.0.1", "-p",
         str(pg.port), "-U", pg.user, "-d", pg.database, "-c", "SELECT 1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=30)
    assert r.returncode != 0
    assert "password authentication failed" in r.stderr


def test_postgres_listens_on_loopback_only(postgres_server):
    out = postgres_server.admin_sql("SHOW listen_addresses")
    assert out.strip() == "127.0.0.1"


def test_mariadb_user_can_create_and_query(mariadb_server):
    db = mariadb_server
    db.sql("CREATE TABLE users (login VARCHAR(255) PRIMARY KEY, pw TEXT)")
    db.sql("INSERT INTO users VALUES ('demo@example.test', 'x')")
    assert db.sql("SELECT login FROM users").strip() == "demo@example.test"
    grants = db.admin_sql("SHOW GRANTS FOR '%s'@'127.0.0.1'" % db.user)
    assert "`%s`" % db.database in grants


def test_mariadb_refuses_a_wrong_password(mariadb_server):
    r = mariadb_server.sql("SELECT 1", check=False,
                           password="wrong-" + mariadb_server.password)
    assert r.returncode != 0
    assert "Access denied" in r.stderr


LDIF = """dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: uid=demo,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
objectClass: posixAccount
uid: demo
cn: Demo User
sn: User
mail: demo@example.test
uidNumber: 1000
gidNumber: 1000
homeDirectory: /var/vmail/example.test/demo
userPassword: secret-demo
"""


def test_ldap_loads_ldif_and_searches(ldap_server):
    ldap_server.load_ldif(LDIF)
    out = ldap_server.search("(mail=demo@example.test)", ["uid", "cn"])
    assert "dn: uid=demo,ou=people,dc=example,dc=test" in out
    assert "cn: Demo User" in out
    # The user binds with its own password; a wrong one is refused.
    dn = "uid=demo,ou=people,dc=example,dc=test"
    ok = ldap_server.search("(uid=demo)", ["uidNumber"], binddn=dn,
                            bindpw="secret-demo")
    assert "uidNumber: 1000" in ok
    bad = ldap_server.search("(uid=demo)", binddn=dn, bindpw="wrong",
                             check=False)
    assert bad.returncode == 49  # invalidCredentials


def dig(port, *args):
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+time=2",
                        "+tries=2"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_dns_answers_the_records_given(dns_server):
    dns_server.set_records([
        ("A", "mail.example.test", "192.0.2.10"),
        ("AAAA", "mail.example.test", "2001:db8::10"),
        ("MX", "example.test", "mail.example.test", 10),
        ("MX", "example.test", "backup.example.test", 20),
        ("TXT", "example.test", "v=spf1 ip4:192.0.2.10 -all"),
        ("PTR", "192.0.2.99", "relay.example.test"),
    ])
    port = dns_server.port
    assert dig(port, "+short", "mail.example.test", "A").split() == \
        ["192.0.2.10"]
    assert dig(port, "+short", "mail.example.test", "AAAA").split() == \
        ["2001:db8::10"]
    mx = sorted(dig(port, "+short", "example.test", "MX").splitlines())
    assert mx == ["10 mail.example.test.", "20 backup.example.test."]
    assert dig(port, "+short", "example.test", "TXT").strip() == \
        '"v=spf1 ip4:192.0.2.10 -all"'
    assert dig(port, "+short", "-x", "192.0.2.99").strip() == \
        "relay.example.test."
    assert dig(port, "+short", "-x", "192.0.2.10").strip() == \
        "mail.example.test."
    assert "status: NXDOMAIN" in dig(port, "nothing.example.test", "A")


def test_dns_records_can_change(dns_server):
    dns_server.set_records([("A", "mail.example.test", "192.0.2.77")])
    assert dig(dns_server.port, "+short", "mail.example.test").split() == \
        ["192.0.2.77"]
    rcode, count = servers.dns_query(dns_server.port, "example.test", 15)
    assert (rcode, count) == (0, 0)  # no MX any more: NODATA
