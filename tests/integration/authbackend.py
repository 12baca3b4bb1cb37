"""authbackend.py: helpers for the authlib backend tests (test_auth_*.py).

    AuthDaemon      writes a module's rc file and authdaemonrc into an
                    instance, runs authdaemond in the foreground, and asks
                    it through authtest and authenumerate
    stop_server / start_server
                    stop a servers.py server's process and start it again
                    on the same port and data (the fixtures' own stop()
                    removes the data)
"""

import os
import re
import signal
import subprocess

import pytest

import servers

# authtest's exit codes.
OK, REJECTED, TEMPFAIL = 0, 1, 75


class AuthDaemon:
    def __init__(self, instance, modules, rcname=None, rctext=None,
                 settings=None):
        self.instance = instance
        self.modules = modules
        if rcname is not None:
            path = os.path.join(instance.etc, rcname)
            with open(path, "w") as f:
                f.write(rctext)
            os.chmod(path, 0o600)
        conf = {
            "authmodulelist": '"%s"' % modules,
            "daemons": "2",
            "AUTH_TIMEOUT": "15",
            "AUTHFAIL_USER": "0",
            "AUTHFAIL_IP": "0",
            "DEBUG_LOGIN": "0",
        }
        conf.update(settings or {})
        rc = os.path.join(instance.etc, "authdaemonrc")
        with open(rc) as f:
            lines = [l for l in f.read().splitlines()
                     if l.split("=", 1)[0].strip() not in conf]
        lines += ["%s=%s" % kv for kv in conf.items()]
        with open(rc, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.daemon = None

    def start(self):
        self.daemon = self.instance.start("authdaemond", "-f")
        sock = os.path.join(self.instance.var, "run", "authdaemon", "socket")
        servers.wait_until(lambda: os.path.exists(sock), "authdaemond",
                           timeout=15, proc=self.daemon.proc,
                           log=self.daemon.log)
        return self

    def stop(self):
        self.instance.stop("authdaemond")

    def log(self):
        return servers.tail(self.daemon.log, 60) if self.daemon else ""

    def authtest(self, user, password=None, newpass=None, service="imap"):
        """Runs authtest; returns (exit status, output)."""
        args = ["-s", service, "-r", "127.0.0.1", "--", user]
        if password is not None:
            args.append(password)
        if newpass is not None:
            args.append(newpass)
        r = self.instance.run("authtest", *args, check=False, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def expect(self, status, user, password=None, service="imap", **kw):
        rc, out = self.authtest(user, password, service=service, **kw)
        if rc != status:
            pytest.fail("authtest %s (service %s): status %d, expected %d:"
                        "\n%s\n--- authdaemond log:\n%s" %
                        (user, service, rc, status, out, self.log()),
                        pytrace=False)
        return out

    def field(self, out, name):
        m = re.search(r"^\s*%s: (.*)$" % re.escape(name), out, re.M)
        return m.group(1).strip() if m else None

    def enumerate(self):
        r = self.instance.run("authenumerate", check=False, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr + self.log()
        return [l.split("\t") for l in r.stdout.splitlines() if l]


def stop_server(server):
    """Stops server's process, keeping its data for start_server()."""
    if isinstance(server, servers.PostgresServer):
        argv = [os.path.join(server.bindir, "pg_ctl"), "-D", server.data,
                "-m", "immediate", "-w", "stop"]
        if server._runas:
            argv = ["runuser", "-u", server._runas, "--"] + argv
        subprocess.run(argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60, check=True)
        return
    proc = server.proc
    proc.send_signal(signal.SIGKILL if isinstance(
        server, servers.LdapServer) else signal.SIGTERM)
    proc.wait(60)


def start_server(server):
    """Starts a server stopped by stop_server() again, same port and
    data, and waits until it answers."""
    if isinstance(server, servers.PostgresServer):
        opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off" %
                (server.port, server.socket_dir))
        servers.run([os.path.join(server.bindir, "pg_ctl"), "-D",
                     server.data, "-l", server.log, "-o", opts, "-w",
                     "-t", "60", "start"], "pg_ctl start",
                    user=server._runas, timeout=90)
        return
    if isinstance(server, servers.MariaDBServer):
        user_opt = ["--user=root"] if servers.IS_ROOT else []
        with open(server.log, "ab") as logf:
            server.proc = subprocess.Popen(
                ["/usr/sbin/mariadbd", "--no-defaults",
                 "--datadir=" + server.datadir, "--port=%d" % server.port,
                 "--bind-address=127.0.0.1", "--socket=" + server.socket,
                 "--pid-file=" + os.path.join(server.dir, "mariadb.pid"),
                 "--log-error=" + server.log, "--skip-name-resolve",
                 "--innodb-buffer-pool-size=32M",
                 "--innodb-log-file-size=16M"] + user_opt,
                stdout=logf, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        servers.wait_until(lambda: servers.tcp_accepts(server.port),
                           "mariadbd", timeout=60, proc=server.proc,
                           log=server.log)
        return
    if isinstance(server, servers.LdapServer):
        conf = os.path.join(server.dir, "slapd.conf")
        with open(server.log, "ab") as logf:
            server.proc = subprocess.Popen(
                ["/usr/sbin/slapd", "-f", conf, "-h", server.uri + "/",
                 "-d", "stats"],
                stdout=logf, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        servers.wait_until(lambda: servers.tcp_accepts(server.port),
                           "slapd", timeout=30, proc=server.proc,
                           log=server.log)
        return
    raise ValueError("unknown server %r" % (server,))


def dead_port():
    """A port on 127.0.0.1 nothing listens on."""
    return servers.find_free_port()
