"""test_authlib_passwd.py: hashes made by other tools at run time
(slappasswd, openssl passwd, mkpasswd, Python's hashlib), stored as
userdb systempw and checked through authdaemond with authtest: the right
password logs in, a wrong one, a prefix and an extension do not.  The
same hashes made once are committed in tests/unit/test-auth-passwd.c."""

import base64
import hashlib
import os
import shutil
import subprocess

import pytest

import servers

PW = "s3cret pass;'\"$x"


def slappasswd(*args):
    return servers.run(["slappasswd"] + list(args) + ["-s", PW],
                       "slappasswd").strip()


def openssl(*args):
    return subprocess.run(["openssl", "passwd"] + list(args) + ["-stdin"],
                          input=PW, capture_output=True, text=True,
                          check=True).stdout.strip()


def mkpasswd(method):
    return subprocess.run(["mkpasswd", "-m", method, "--stdin"], input=PW,
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def salted(scheme, algo):
    salt = os.urandom(6)
    return "{%s}%s" % (scheme, base64.b64encode(
        hashlib.new(algo, PW.encode() + salt).digest() + salt).decode())


SLAPPASSWD = {
    "slap-ssha": ("-h", "{SSHA}"),
    "slap-sha": ("-h", "{SHA}"),
    "slap-md5": ("-h", "{MD5}"),
    "slap-smd5": ("-h", "{SMD5}"),
    "slap-crypt6": ("-h", "{CRYPT}", "-c", "$6$%.16s"),
    "slap-crypt5": ("-h", "{CRYPT}", "-c", "$5$%.16s"),
    "slap-crypt1": ("-h", "{CRYPT}", "-c", "$1$%.8s"),
    "slap-ssha512": ("-o", "module-path=/usr/lib/ldap", "-o",
                     "module-load=pw-sha2", "-h", "{SSHA512}"),
    "slap-sha256": ("-o", "module-path=/usr/lib/ldap", "-o",
                    "module-load=pw-sha2", "-h", "{SHA256}"),
}

OTHERS = {
    "openssl-1": lambda: openssl("-1"),
    "openssl-5": lambda: openssl("-5"),
    "openssl-6": lambda: openssl("-6"),
    "mkpasswd-yescrypt": lambda: mkpasswd("yescrypt"),
    "mkpasswd-bcrypt": lambda: mkpasswd("bcrypt"),
    "hashlib-ssha256": lambda: salted("SSHA256", "sha256"),
    "hashlib-ssha512": lambda: salted("SSHA512", "sha512"),
    "hashlib-smd5": lambda: salted("SMD5", "md5"),
}


def make_hashes():
    if shutil.which("slappasswd") is None:
        servers.ensure_packages(["slapd"], ["slappasswd"])
    hashes = {name: slappasswd(*args) for name, args in SLAPPASSWD.items()}
    for name, fn in OTHERS.items():
        if fn is None:
            continue
        if name.startswith("mkpasswd") and shutil.which("mkpasswd") is None:
            continue
        hashes[name] = fn()
    return hashes


@pytest.fixture
def daemon(instance):
    hashes = make_hashes()
    for name, h in hashes.items():
        assert h and "\n" not in h, (name, h)
        home = os.path.join(instance.var, "vmail", name)
        instance.run("userdb", "%s@hash.test" % name, "set",
                     "uid=%d" % os.getuid(), "gid=%d" % os.getgid(),
                     "home=" + home)
        instance.run("userdb", "%s@hash.test" % name, "set", "systempw",
                     input=h + "\n")
    with open(os.path.join(instance.etc, "authdaemonrc"), "a") as f:
        f.write('AUTHFAIL_USER="0"\nAUTHFAIL_IP="0"\n')
    instance.start_auth()
    return instance, hashes


def authtest(instance, *args):
    r = instance.run("authtest", "-s", "imap", "--", *args, check=False,
                     timeout=60)
    return r.returncode, r.stdout + r.stderr


def test_hashes_from_other_tools(daemon):
    instance, hashes = daemon
    # every slappasswd scheme is there, the rest when its tool is
    assert set(SLAPPASSWD) <= set(hashes)
    bad = []
    for name, h in sorted(hashes.items()):
        login = "%s@hash.test" % name
        for pw, want in ((PW, 0), (PW[:-1], 1), (PW + "x", 1),
                         (PW.upper(), 1)):
            rc, out = authtest(instance, login, pw)
            if rc != want:
                bad.append("%s (%s): password %r gave %d, want %d: %s" %
                           (name, h, pw, rc, want, out.strip()))
    assert not bad, "\n".join(bad)
