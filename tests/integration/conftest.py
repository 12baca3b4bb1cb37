"""conftest.py: the integration tests' fixtures.

    suite_build      where the suite is: srcdir, builddir, prefix (the
                     `make install` tree test.sh made), from SUITE_SRCDIR,
                     SUITE_BUILDDIR and SUITE_PREFIX
    instance         a throw-away instance in tmp_path: courier-setup ran
                     with COURIER_INSTANCE=root on free ports; has the
                     paths, ports, env, account and password, and starts
                     and stops daemons (all stopped after the test)
    free_port        a free TCP/UDP port on 127.0.0.1
    postgres_server, mariadb_server, ldap_server, dns_server
                     real servers on 127.0.0.1 (see servers.py), one per
                     test module
"""

import os
import secrets
import shlex
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import maildirs  # noqa: E402
import servers  # noqa: E402

# The order of courier-setup --ports-base N: N, N+1, ...
PORT_NAMES = ("smtp", "smtps", "submission", "imap", "imaps", "pop3",
              "pop3s", "webmail", "webadmin")

# The daemons and the ports each serves (as run.sh knows them).
DAEMON_PORTS = {
    "authdaemond": (),
    "courierd": (),
    "esmtpd": ("smtp", "smtps", "submission"),
    "imapd": ("imap", "imaps"),
    "pop3d": ("pop3", "pop3s"),
    "webmaild": ("webmail",),
    "webadmind": ("webadmin",),
}


class SuiteBuild:
    """Where the suite's sources, build and installed tree are."""

    def __init__(self, srcdir, builddir, prefix):
        self.srcdir = srcdir
        self.builddir = builddir
        self.prefix = prefix
        self.sbindir = os.path.join(prefix, "sbin") if prefix else None
        self.bindir = os.path.join(prefix, "bin") if prefix else None

    def program(self, name):
        """The installed program name (sbin/ or bin/), else the built one
        in the build folder; None when neither exists."""
        def runnable(p):
            return os.path.isfile(p) and os.access(p, os.X_OK)
        if self.prefix:
            for d in (self.sbindir, self.bindir):
                if runnable(os.path.join(d, name)):
                    return os.path.join(d, name)
        if self.builddir:
            for d, dirs, files in os.walk(self.builddir):
                dirs[:] = [x for x in dirs if not x.startswith(".")]
                if name in files and runnable(os.path.join(d, name)):
                    return os.path.join(d, name)
        return None

    @property
    def courier_setup(self):
        p = self.program("courier-setup")
        if p is None:
            pytest.fail("courier-setup is neither installed in %s nor built "
                        "in %s" % (self.prefix, self.builddir),
                        pytrace=False)
        return p


@pytest.fixture(scope="session")
def suite_build():
    return build_from_env()


def build_from_env():
    """The SuiteBuild that SUITE_SRCDIR, SUITE_BUILDDIR and SUITE_PREFIX
    name (as ./test.sh sets them); fails the test when neither of the
    last two is set."""
    srcdir = os.environ.get("SUITE_SRCDIR") or servers.SRCDIR
    builddir = os.environ.get("SUITE_BUILDDIR")
    prefix = os.environ.get("SUITE_PREFIX")
    if not builddir and not prefix:
        pytest.fail("SUITE_PREFIX (a `make install` prefix) or "
                    "SUITE_BUILDDIR is not set: run ./test.sh, or build, "
                    "install and set them", pytrace=False)
    return SuiteBuild(os.path.abspath(srcdir),
                      os.path.abspath(builddir) if builddir else None,
                      os.path.abspath(prefix) if prefix else None)


def suite_program(name):
    """Our program name (installed, else built): its path; fails the test
    when it is neither."""
    p = build_from_env().program(name)
    if p is None:
        pytest.fail("%s is not built" % name, pytrace=False)
    return p


def wait_for(cond, timeout=30, what="condition"):
    """Polls cond() every 50 ms until it returns a true value, which it
    returns; fails the test after timeout seconds."""
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    pytest.fail("timed out waiting for %s" % what, pytrace=False)


@pytest.fixture
def imapd(suite_build):
    """Our imapd (tests run it as `imapd DIR`, pre-authenticated)."""
    p = suite_build.program("imapd")
    if p is None:
        pytest.fail("imapd is not built", pytrace=False)
    return p


@pytest.fixture
def md(tmp_path):
    """An empty maildir, tmp_path/Maildir."""
    return maildirs.make_maildir(str(tmp_path / "Maildir"))


@pytest.fixture
def free_port():
    return servers.find_free_port()


def read_settings(path):
    """A NAME=value settings file (Courier's sh syntax) as a dict."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            name, value = line.split("=", 1)
            words = shlex.split(value, comments=True)
            out[name.strip()] = " ".join(words)
    return out


def listening_ports():
    """The TCP ports something listens on (from /proc/net/tcp{,6})."""
    ports = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    fields = line.split()
                    if fields[3] == "0A":  # LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


class Daemon:
    def __init__(self, name, proc, log, ports):
        self.name = name
        self.proc = proc
        self.log = log
        self.ports = ports

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc.poll() is None


class Instance:
    """A throw-away instance: root/etc, root/var, made by courier-setup."""

    def __init__(self, build, root, domain, account, password, ports_base,
                 setup_output):
        self.build = build
        self.root = root
        self.etc = os.path.join(root, "etc")
        self.var = os.path.join(root, "var")
        self.domain = domain
        self.account = account
        self.login = "%s@%s" % (account, domain)
        self.password = password
        self.address = "127.0.0.1"
        self.ports = {n: ports_base + i for i, n in enumerate(PORT_NAMES)}
        self.setup_output = setup_output
        self.cert = os.path.join(self.etc, "tls", "server.pem")
        self.ca_file = os.path.join(self.etc, "tls", "server.crt")
        self.home = os.path.join(self.var, "vmail", domain, account)
        self.maildir = os.path.join(self.home, "Maildir")
        self.env = dict(os.environ, COURIER_INSTANCE=root)
        if build.prefix:
            self.env["PATH"] = "%s:%s:%s" % (build.sbindir, build.bindir,
                                             os.environ.get("PATH", ""))
        self.daemons = {}

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def settings(self, name):
        """etc/name (NAME=value) as a dict."""
        return read_settings(os.path.join(self.etc, name))

    def program(self, name):
        p = self.build.program(name)
        if p is None:
            pytest.skip("%s is not built yet" % name)
        return p

    def run(self, name, *args, check=True, input=None, timeout=60):
        """Runs a program of the suite with this instance's environment."""
        r = subprocess.run([self.program(name)] + [str(a) for a in args],
                           env=self.env, input=input, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        if check and r.returncode != 0:
            pytest.fail("%s %s failed (%d):\n%s%s" %
                        (name, " ".join(map(str, args)), r.returncode,
                         r.stdout, r.stderr), pytrace=False)
        return r

    def start(self, name, *args, argv=None, ports=None, timeout=15):
        """Starts daemon name (sbin/name, in the foreground, output in
        var/log/name.log) and waits until it listens on its ports (the
        names of DAEMON_PORTS[name], or the list ports: names or numbers).
        argv replaces the command (e.g. a stand-in).  Returns a Daemon."""
        if name in self.daemons and self.daemons[name].running():
            raise RuntimeError("%s already runs" % name)
        if argv is None:
            argv = [self.program(name)] + [str(a) for a in args]
        if ports is None:
            ports = DAEMON_PORTS.get(name, ())
        numbers = [self.ports[p] if isinstance(p, str) else int(p)
                   for p in ports]
        log = os.path.join(self.var, "log", name + ".log")
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "ab") as logf:
            proc = subprocess.Popen(argv, env=self.env, stdout=logf,
                                    stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        d = Daemon(name, proc, log, numbers)
        self.daemons[name] = d
        if numbers:
            servers.wait_until(lambda: set(numbers) <= listening_ports(),
                               name, timeout=timeout, proc=proc, log=log)
        else:
            time.sleep(0.5)
        if proc.poll() is not None:
            pytest.fail("%s exited at start (status %s):\n%s" %
                        (name, proc.returncode, servers.tail(log)),
                        pytrace=False)
        return d

    def start_auth(self, makeuserdb=True, timeout=10):
        """Compiles etc/userdb (unless makeuserdb is false), starts
        authdaemond and waits until its socket is there and it answers a
        lookup of the instance's account (authtest).  Returns the
        Daemon."""
        if makeuserdb:
            self.run("makeuserdb")
        d = self.start("authdaemond")
        sock = os.path.join(self.settings("authdaemonrc")["authdaemonvar"],
                            "socket")
        servers.wait_until(lambda: os.path.exists(sock),
                           "authdaemond socket", timeout=timeout,
                           proc=d.proc, log=d.log)
        # The workers accept once their modules are ready.
        servers.wait_until(
            lambda: self.run("authtest", self.login,
                             check=False).returncode == 0,
            "authdaemond answers", timeout=timeout, proc=d.proc, log=d.log)
        return d

    def stop(self, name, timeout=10):
        """Stops daemon name (SIGTERM, then SIGKILL); returns its status."""
        d = self.daemons.pop(name, None)
        if d is None or not d.running():
            return None if d is None else d.proc.returncode
        d.proc.send_signal(signal.SIGTERM)
        try:
            return d.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(d.proc.pid, signal.SIGKILL)
            d.proc.wait(5)
            pytest.fail("%s did not stop on SIGTERM within %d s" %
                        (name, timeout), pytrace=False)

    def stop_all(self):
        for name in list(self.daemons):
            d = self.daemons[name]
            if d.running():
                self.stop(name)
            self.daemons.pop(name, None)

    def ssl_context(self):
        """A client TLS context that trusts this instance's certificate."""
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx


def make_instance(build, root, domain="example.test", account="demo",
                  password=None, extra_args=()):
    """Runs courier-setup for a new instance in root on free ports."""
    password = password or secrets.token_urlsafe(12)
    if os.getuid() == 0:
        # Run as root, the daemons drop to the queue's owner (a daemon
        # user): it must be able to reach the instance, so the folders
        # above it (pytest's tmp_path is under a 0700 folder) get search
        # permission, nothing more.
        p = os.path.dirname(os.path.abspath(str(root)))
        while p not in ("/", ""):
            mode = os.stat(p).st_mode
            if mode & 0o111 != 0o111:
                os.chmod(p, (mode & 0o7777) | 0o111)
            p = os.path.dirname(p)
    base = servers.find_free_port_range(len(PORT_NAMES))
    argv = [build.courier_setup, "--instance", str(root), "--domain", domain,
            "--account", account, "--password", password,
            "--ports-base", str(base)] + list(extra_args)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120,
                       env=dict(os.environ, COURIER_INSTANCE=str(root)))
    if r.returncode != 0:
        pytest.fail("courier-setup failed (%d):\n%s%s" %
                    (r.returncode, r.stdout, r.stderr), pytrace=False)
    # Test clients send from made-up domains (remote.test) that have no
    # DNS here: the sender domain check that courier-setup turns on is
    # off for test instances (test_esmtp_dns.py turns it on in bofh).
    with open(os.path.join(str(root), "etc", "esmtpd"), "a") as f:
        f.write("\n# tests: no DNS check of the sender's domain\n"
                "BOFHCHECKDNS=0\n")
    # Most tests log in on the plain port without STARTTLS: passwords in
    # the clear allowed, unlike courier-setup's own instances
    # (test_tls_required_by_default.py checks those).
    for name, key in (("imapd-ssl", "IMAP_TLS_REQUIRED"),
                      ("pop3d-ssl", "POP3_TLS_REQUIRED")):
        with open(os.path.join(str(root), "etc", name), "a") as f:
            f.write("\n# tests: plaintext logins allowed\n%s=0\n" % key)
    return Instance(build, str(root), domain, account, password, base,
                    r.stdout)


@pytest.fixture
def instance(suite_build, tmp_path):
    inst = make_instance(suite_build, tmp_path / "instance")
    try:
        yield inst
    finally:
        inst.stop_all()


def _server_fixture(cls):
    @pytest.fixture(scope="module")
    def fixture():
        server = cls()
        try:
            server.start()
            yield server
        finally:
            server.stop()
    return fixture


postgres_server = _server_fixture(servers.PostgresServer)
mariadb_server = _server_fixture(servers.MariaDBServer)
ldap_server = _server_fixture(servers.LdapServer)
dns_server = _server_fixture(servers.DnsServer)
