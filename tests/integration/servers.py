"""servers.py: real database, directory and DNS servers for integration tests.

Each class starts a real server on 127.0.0.1 on a free port, in its own
temporary folder, and stops it (removing the folder) in stop():

    PostgresServer  initdb + pg_ctl; a database and a login role with a
                    password (scram-sha-256 over TCP)
    MariaDBServer   mariadb-install-db + mariadbd; a database and a user
                    with a password (the grant tables are real)
    LdapServer      slapd with a generated slapd.conf, mdb backend, suffix
                    dc=example,dc=test, a rootdn with a password, the core,
                    cosine, nis and inetorgperson schemas; load_ldif()
    DnsServer       dnsmasq with --no-resolv --no-hosts and the records a
                    test gives (A, AAAA, MX, TXT, PTR, CNAME, SRV)

A missing package is installed through scripts/deps.sh (apt-get, services
kept from starting).  When that is impossible the test is skipped with the
reason, or fails when CI=true or SUITE_REQUIRE_SERVERS=1 (so CI never
passes by skipping).  Every start waits until the server answers and, if
it does not, fails with the end of the server's log.
"""

import glob
import ipaddress
import os
import pwd
import secrets
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import pytest

SRCDIR = os.environ.get("SUITE_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

IS_ROOT = os.geteuid() == 0

# Ports handed out in this process, so two fixtures never get the same one.
_ports_given = set()


class ServerUnavailable(Exception):
    """A server's package cannot be installed or its programs are missing."""


def unavailable(reason):
    """Skips the test (fails it under CI or SUITE_REQUIRE_SERVERS=1)."""
    if os.environ.get("CI") == "true" or \
            os.environ.get("SUITE_REQUIRE_SERVERS") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _port_is_free(port, host="127.0.0.1"):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def find_free_port(host="127.0.0.1"):
    """A TCP and UDP port free on host, not handed out before here."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _ports_given and _port_is_free(port, host):
            _ports_given.add(port)
            return port
    raise RuntimeError("no free port found")


def find_free_port_range(count, host="127.0.0.1", low=20000, high=60000):
    """The first of count consecutive free ports (TCP and UDP)."""
    for _ in range(500):
        base = low + secrets.randbelow(high - low - count)
        ports = range(base, base + count)
        if any(p in _ports_given for p in ports):
            continue
        if all(_port_is_free(p, host) for p in ports):
            _ports_given.update(ports)
            return base
    raise RuntimeError("no range of %d free ports found" % count)


def tail(path, lines=30):
    """The last lines of a log file, for error messages."""
    try:
        with open(path, "rb") as f:
            data = f.read()[-8192:].decode("utf-8", "replace")
    except OSError as e:
        return "(no log: %s)" % e
    return "\n".join(data.splitlines()[-lines:])


def wait_until(ready, what, timeout=30.0, proc=None, log=None):
    """Polls ready() until it returns true; fails the test with the log's
    end when the timeout passes or proc exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except Exception:  # not ready yet: a refused connection, etc.
            pass
        if proc is not None and proc.poll() is not None:
            pytest.fail("%s exited (status %s) before it was ready:\n%s" %
                        (what, proc.returncode, tail(log) if log else ""),
                        pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail("%s not ready after %.0f s:\n%s" %
                        (what, timeout, tail(log) if log else ""),
                        pytrace=False)
        time.sleep(0.1)


def tcp_accepts(port, host="127.0.0.1"):
    with socket.create_connection((host, port), timeout=1):
        return True


def ensure_packages(packages, programs):
    """Installs packages (through scripts/deps.sh) unless every program in
    programs exists already; skips or fails the test if it cannot."""
    if all(os.path.exists(p) if p.startswith("/") else shutil.which(p)
           for p in programs):
        return
    deps = os.path.join(SRCDIR, "scripts", "deps.sh")
    if not os.path.exists(deps):
        unavailable("%s missing and no %s to install %s" %
                    (", ".join(programs), deps, " ".join(packages)))
    r = subprocess.run(
        ["bash", "-c", '. "$0" && deps_install_missing "$@"', deps] +
        list(packages),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=1800)
    if r.returncode != 0:
        unavailable("cannot install %s (apt-get): %s" %
                    (" ".join(packages), r.stdout[-2000:]))
    missing = [p for p in programs
               if not (os.path.exists(p) if p.startswith("/")
                       else shutil.which(p))]
    if missing:
        unavailable("installed %s but %s still missing" %
                    (" ".join(packages), ", ".join(missing)))


def run(argv, what, env=None, input=None, timeout=120, user=None):
    """Runs a command (as user via runuser when we are root), failing the
    test with its output when it fails.  Returns its standard output."""
    if user is not None and IS_ROOT:
        argv = ["runuser", "-u", user, "--"] + list(argv)
    r = subprocess.run(argv, env=env, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        pytest.fail("%s failed (status %d): %s\n%s\n%s" %
                    (what, r.returncode, " ".join(argv), r.stdout[-3000:],
                     r.stderr[-3000:]), pytrace=False)
    return r.stdout


def _stop_process(proc, timeout=15):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _chown_tree(path, user):
    pw = pwd.getpwnam(user)
    for d, dirs, files in os.walk(path):
        os.chown(d, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(d, f), pw.pw_uid, pw.pw_gid)


# ---------------------------------------------------------------- PostgreSQL

def _pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                  key=lambda p: int(p.split("/")[4])
                  if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(dirs[-1]) if dirs else None


class PostgresServer:
    """A PostgreSQL cluster on 127.0.0.1:port.  The test's role user with
    password owns database; superuser/superpassword administer it."""

    def __init__(self, user="courier", database="courier"):
        self.host = "127.0.0.1"
        self.port = None
        self.user = user
        self.password = secrets.token_hex(12)
        self.database = database
        self.superuser = "postgres"
        self.superpassword = secrets.token_hex(12)
        self.dir = None
        self.bindir = None

    def start(self):
        ensure_packages(["postgresql", "postgresql-client"], ["psql"])
        self.bindir = _pg_bindir()
        if self.bindir is None:
            unavailable("postgresql is installed but no initdb found in "
                        "/usr/lib/postgresql/*/bin")
        # Not under pytest's tmp folder: that one is 0700 root, and the
        # server must run as an unprivileged user when we are root.
        self.dir = tempfile.mkdtemp(prefix="suite-pg-")
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = self.dir
        self.log = os.path.join(self.dir, "postgres.log")
        pwfile = os.path.join(self.dir, "superpw")
        with open(pwfile, "w") as f:
            f.write(self.superpassword + "\n")
        runas = None
        if IS_ROOT:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                unavailable("the postgres system user is missing")
            runas = "postgres"
            _chown_tree(self.dir, "postgres")
        self._runas = runas
        self.port = find_free_port()
        run([os.path.join(self.bindir, "initdb"), "-D", self.data,
             "-U", self.superuser, "--pwfile=" + pwfile, "-E", "UTF8",
             "--no-locale", "--auth-local=trust",
             "--auth-host=scram-sha-256", "--no-sync"],
            "initdb", user=runas)
        os.unlink(pwfile)
        opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off" %
                (self.port, self.socket_dir))
        run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
             "-l", self.log, "-o", opts, "-w", "-t", "60", "start"],
            "pg_ctl start", user=runas, timeout=90)
        wait_until(lambda: self.admin_sql("SELECT 1").strip() == "1",
                   "postgres", log=self.log)
        self.admin_sql("CREATE ROLE %s LOGIN PASSWORD '%s'" %
                       (self.user, self.password))
        self.admin_sql("CREATE DATABASE %s OWNER %s" %
                       (self.database, self.user))
        return self

    def _psql(self, sql, user, password, database, check=True):
        env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
        argv = [os.path.join(self.bindir, "psql"), "-X", "-q", "-At",
                "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p",
                str(self.port), "-U", user, "-d", database, "-c", sql]
        if check:
            return run(argv, "psql", env=env)
        return subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)

    def admin_sql(self, sql):
        """Runs SQL as the superuser; returns psql's unaligned output."""
        return self._psql(sql, self.superuser, self.superpassword, "postgres")

    def sql(self, sql, check=True):
        """Runs SQL as the test's user in its database."""
        return self._psql(sql, self.user, self.password, self.database, check)

    @property
    def dsn(self):
        return ("host=%s port=%d dbname=%s user=%s password=%s" %
                (self.host, self.port, self.database, self.user,
                 self.password))

    def stop(self):
        if self.dir is None:
            return
        if self.bindir and os.path.exists(os.path.join(self.data,
                                                       "postmaster.pid")):
            argv = [os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                    "-m", "fast", "-w", "stop"]
            if self._runas:
                argv = ["runuser", "-u", self._runas, "--"] + argv
            subprocess.run(argv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


# ---------------------------------------------------------------- MariaDB

class MariaDBServer:
    """A MariaDB server on 127.0.0.1:port with a Unix socket in its folder.
    The test's user/password (from 127.0.0.1 and localhost) has every
    right on database."""

    def __init__(self, user="courier", database="courier"):
        self.host = "127.0.0.1"
        self.port = None
        self.user = user
        self.password = secrets.token_hex(12)
        self.database = database
        self.proc = None
        self.dir = None

    def start(self):
        ensure_packages(["mariadb-server", "mariadb-client"],
                        ["/usr/sbin/mariadbd", "mariadb-install-db",
                         "mariadb", "mariadb-admin"])
        self.dir = tempfile.mkdtemp(prefix="suite-mariadb-")
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mariadb.sock")
        self.log = os.path.join(self.dir, "error.log")
        self.port = find_free_port()
        user_opt = ["--user=root"] if IS_ROOT else []
        # --no-defaults must come first; root gets an empty password on the
        # socket only ("normal"), then real users are made below.
        run(["mariadb-install-db", "--no-defaults",
             "--datadir=" + self.datadir,
             "--auth-root-authentication-method=normal",
             "--skip-test-db", "--skip-name-resolve"] + user_opt,
            "mariadb-install-db", timeout=300)
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                ["/usr/sbin/mariadbd", "--no-defaults",
                 "--datadir=" + self.datadir, "--port=%d" % self.port,
                 "--bind-address=127.0.0.1", "--socket=" + self.socket,
                 "--pid-file=" + os.path.join(self.dir, "mariadb.pid"),
                 "--log-error=" + self.log, "--skip-name-resolve",
                 "--innodb-buffer-pool-size=32M",
                 "--innodb-log-file-size=16M",
                 "--innodb-flush-log-at-trx-commit=0"] + user_opt,
                stdout=logf, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)

        def ping():
            return subprocess.run(
                ["mariadb-admin", "--no-defaults", "-S", self.socket,
                 "-u", "root", "--connect-timeout=2", "ping"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=10).returncode == 0
        wait_until(ping, "mariadbd", timeout=60, proc=self.proc,
                   log=self.log)
        pw = self.password
        self.admin_sql(
            "CREATE DATABASE `%s`;"
            "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s';"
            "CREATE USER '%s'@'localhost' IDENTIFIED BY '%s';"
            "GRANT ALL ON `%s`.* TO '%s'@'127.0.0.1';"
            "GRANT ALL ON `%s`.* TO '%s'@'localhost';"
            "FLUSH PRIVILEGES;" %
            (self.database, self.user, pw, self.user, pw,
             self.database, self.user, self.database, self.user))
        return self

    def admin_sql(self, sql):
        """Runs SQL as MariaDB's root over the Unix socket."""
        return run(["mariadb", "--no-defaults", "-S", self.socket,
                    "-u", "root", "-N", "-B", "-e", sql], "mariadb (root)")

    def sql(self, sql, check=True, password=None):
        """Runs SQL as the test's user over TCP, with its password."""
        env = dict(os.environ,
                   MYSQL_PWD=self.password if password is None else password)
        argv = ["mariadb", "--no-defaults", "-h", self.host,
                "-P", str(self.port), "--protocol=TCP", "-u", self.user,
                "-N", "-B", self.database, "-e", sql]
        if check:
            return run(argv, "mariadb", env=env)
        return subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run(["mariadb-admin", "--no-defaults", "-S",
                            self.socket, "-u", "root", "shutdown"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
            _stop_process(self.proc)
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# ---------------------------------------------------------------- LDAP

class LdapServer:
    """slapd on ldap://127.0.0.1:port with an mdb database for suffix,
    administered by rootdn/rootpw.  The suffix entry exists; load_ldif()
    adds entries."""

    SCHEMAS = ("core", "cosine", "nis", "inetorgperson")

    def __init__(self, suffix="dc=example,dc=test"):
        self.suffix = suffix
        self.rootdn = "cn=admin," + suffix
        self.rootpw = secrets.token_hex(12)
        self.port = None
        self.proc = None
        self.dir = None

    @property
    def uri(self):
        return "ldap://127.0.0.1:%d" % self.port

    def start(self):
        ensure_packages(["slapd", "ldap-utils"],
                        ["/usr/sbin/slapd", "ldapadd", "ldapsearch",
                         "slappasswd"])
        missing = [s for s in self.SCHEMAS
                   if not os.path.exists("/etc/ldap/schema/%s.schema" % s)]
        if missing:
            unavailable("slapd schemas missing: %s" % ", ".join(missing))
        self.dir = tempfile.mkdtemp(prefix="suite-ldap-")
        db = os.path.join(self.dir, "db")
        os.mkdir(db, 0o700)
        self.log = os.path.join(self.dir, "slapd.log")
        self.port = find_free_port()
        hashed = run(["slappasswd", "-s", self.rootpw], "slappasswd").strip()
        modulepath = "/usr/lib/ldap"
        conf = os.path.join(self.dir, "slapd.conf")
        with open(conf, "w") as f:
            for s in self.SCHEMAS:
                f.write("include /etc/ldap/schema/%s.schema\n" % s)
            f.write("pidfile %s/slapd.pid\n" % self.dir)
            f.write("argsfile %s/slapd.args\n" % self.dir)
            if os.path.exists(os.path.join(modulepath, "back_mdb.so")) or \
                    os.path.exists(os.path.join(modulepath, "back_mdb.la")):
                f.write("modulepath %s\nmoduleload back_mdb\n" % modulepath)
            f.write("database mdb\n")
            f.write("maxsize 268435456\n")
            f.write('suffix "%s"\n' % self.suffix)
            f.write('rootdn "%s"\n' % self.rootdn)
            f.write("rootpw %s\n" % hashed)
            f.write("directory %s\n" % db)
            f.write("index objectClass eq\nindex uid,mail eq\n")
            f.write("access to attrs=userPassword by self write "
                    "by anonymous auth by * none\n")
            f.write("access to * by * read\n")
        os.chmod(conf, 0o600)
        if os.path.exists("/usr/sbin/slaptest"):
            run(["/usr/sbin/slaptest", "-u", "-f", conf], "slaptest")
        with open(self.log, "ab") as logf:
            # -d keeps slapd in the foreground; level "stats" logs
            # connections and operations to our log.
            self.proc = subprocess.Popen(
                ["/usr/sbin/slapd", "-f", conf, "-h", self.uri + "/",
                 "-d", "stats"],
                stdout=logf, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        wait_until(lambda: self.search("(objectClass=*)", base="",
                                       scope="base", check=False
                                       ).returncode == 0,
                   "slapd", timeout=30, proc=self.proc, log=self.log)
        first = self.suffix.split(",")[0].split("=", 1)[1]
        self.load_ldif(
            "dn: %s\nobjectClass: dcObject\nobjectClass: organization\n"
            "dc: %s\no: %s\n" % (self.suffix, first, first))
        return self

    def load_ldif(self, ldif):
        """Adds the entries of ldif (text) as rootdn."""
        return run(["ldapadd", "-x", "-H", self.uri, "-D", self.rootdn,
                    "-w", self.rootpw], "ldapadd", input=ldif)

    def search(self, filt, attrs=(), base=None, scope="sub", check=True,
               binddn=None, bindpw=None):
        """ldapsearch (LDIF output); bound as rootdn unless binddn given."""
        argv = ["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no",
                "-H", self.uri, "-s", scope,
                "-b", self.suffix if base is None else base,
                "-D", binddn or self.rootdn, "-w", bindpw or self.rootpw,
                filt] + list(attrs)
        if check:
            return run(argv, "ldapsearch")
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=30)

    def stop(self):
        _stop_process(self.proc)
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# ---------------------------------------------------------------- DNS

def _reverse_name(name):
    """PTR owner: an IP address becomes its in-addr.arpa/ip6.arpa name."""
    try:
        return ipaddress.ip_address(name).reverse_pointer
    except ValueError:
        return name


def _dns_quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def dns_query(port, name, qtype=1, host="127.0.0.1", timeout=1.0):
    """Sends one DNS query over UDP; returns (rcode, answer count)."""
    qid = secrets.randbelow(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode("ascii")
    q += b"\0" + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q, (host, port))
        data, _ = s.recvfrom(4096)
    finally:
        s.close()
    rid, flags, _, ancount = struct.unpack(">HHHH", data[:8])
    if rid != qid:
        raise OSError("DNS reply id mismatch")
    return flags & 0xF, ancount


class DnsServer:
    """dnsmasq answering on 127.0.0.1:port (UDP and TCP) from the records
    given, and nothing else (no upstream, no /etc/hosts).

    records: tuples ("A", name, address), ("AAAA", name, address),
    ("MX", name, host, preference), ("TXT", name, text),
    ("PTR", name-or-address, host), ("CNAME", alias, target),
    ("SRV", "_svc._tcp.name", host, port, priority, weight).
    Note that dnsmasq answers the PTR of every A/AAAA record's address too.
    Names under local_zones that have no record get NXDOMAIN."""

    def __init__(self, records=(), local_zones=("test", "in-addr.arpa",
                                               "ip6.arpa")):
        self.records = list(records)
        self.local_zones = tuple(local_zones)
        self.port = None
        self.proc = None
        self.dir = None

    def _config(self):
        lines = ["port=%d" % self.port, "listen-address=127.0.0.1",
                 "bind-interfaces", "no-resolv", "no-hosts", "no-poll",
                 "no-negcache", "pid-file=", "log-queries",
                 "log-facility=-"]
        if IS_ROOT:
            lines.append("user=root")
        for z in self.local_zones:
            lines.append("local=/%s/" % z)
        hosts = {}
        for r in self.records:
            kind = r[0].upper()
            if kind in ("A", "AAAA"):
                ipaddress.ip_address(r[2])  # refuses a malformed address
                hosts.setdefault(r[1], []).append(r[2])
            elif kind == "MX":
                pref = r[3] if len(r) > 3 else 10
                lines.append("mx-host=%s,%s,%d" % (r[1], r[2], pref))
            elif kind == "TXT":
                lines.append("txt-record=%s,%s" % (r[1], _dns_quote(r[2])))
            elif kind == "PTR":
                lines.append("ptr-record=%s,%s" % (_reverse_name(r[1]),
                                                   r[2]))
            elif kind == "CNAME":
                lines.append("cname=%s,%s" % (r[1], r[2]))
            elif kind == "SRV":
                port, prio, weight = (list(r[3:]) + [0, 0, 0])[:3]
                lines.append("srv-host=%s,%s,%d,%d,%d" %
                             (r[1], r[2], port, prio, weight))
            else:
                raise ValueError("unsupported record type %r" % (r[0],))
        for name, addrs in hosts.items():
            lines.append("host-record=%s,%s" % (name, ",".join(addrs)))
        return "\n".join(lines) + "\n"

    def start(self):
        ensure_packages(["dnsmasq-base", "dnsutils"],
                        ["/usr/sbin/dnsmasq", "dig"])
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="suite-dns-")
            self.port = find_free_port()
        self.log = os.path.join(self.dir, "dnsmasq.log")
        conf = os.path.join(self.dir, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write(self._config())
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                ["/usr/sbin/dnsmasq", "--keep-in-foreground",
                 "--conf-file=" + conf],
                stdout=logf, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        wait_until(lambda: dns_query(self.port, "ready.invalid") is not None,
                   "dnsmasq", timeout=20, proc=self.proc, log=self.log)
        return self

    def set_records(self, records):
        """Replaces the records (dnsmasq restarts on the same port)."""
        self.records = list(records)
        _stop_process(self.proc)
        self.proc = None
        self.start()

    def stop(self):
        _stop_process(self.proc)
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
