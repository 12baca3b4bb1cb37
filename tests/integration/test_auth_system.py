"""test_auth_system.py: the modules for system accounts, authpam (with a
PAM service file, pam_unix) and authpwd/authshadow (/etc/passwd and
/etc/shadow), through authdaemond and authtest, with a system user that
the test makes and removes.  Needs root; skipped otherwise."""

import os
import pwd
import secrets
import subprocess

import pytest

from authbackend import OK, REJECTED, AuthDaemon

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="PAM tests need root (useradd, "
                                "/etc/pam.d)")

PAM_FILE = """# made by the suite's test_auth_pam.py; removed after the test
auth     required pam_unix.so
account  required pam_unix.so
password required pam_unix.so sha512
"""


@pytest.fixture(scope="module")
def system_user():
    tag = secrets.token_hex(4)
    user = "suitepam" + tag
    service = "suitetest" + tag
    password = "Pam-pw-" + secrets.token_hex(4)
    home = "/tmp/" + user
    pam_path = "/etc/pam.d/" + service
    for prog in ("useradd", "userdel", "chpasswd", "chage"):
        if subprocess.run(["sh", "-c", "command -v " + prog],
                          capture_output=True).returncode != 0:
            pytest.skip("%s is missing" % prog)
    subprocess.run(["useradd", "-M", "-d", home, "-s", "/bin/false",
                    "-c", "Pam Test,,,", user], check=True)
    try:
        subprocess.run(["chpasswd"], input="%s:%s\n" % (user, password),
                       text=True, check=True)
        with open(pam_path, "w") as f:
            f.write(PAM_FILE)
        yield {"user": user, "service": service, "password": password,
               "home": home, "uid": pwd.getpwnam(user).pw_uid}
    finally:
        if os.path.exists(pam_path):
            os.unlink(pam_path)
        subprocess.run(["userdel", user], capture_output=True)


@pytest.fixture
def auth(instance, system_user):
    a = AuthDaemon(instance, "authpam").start()
    yield a
    a.stop()


def test_login_right_wrong_unknown(auth, system_user):
    u, svc, pw = (system_user["user"], system_user["service"],
                  system_user["password"])
    out = auth.expect(OK, u, pw, service=svc)
    assert auth.field(out, "Authenticated").startswith(u)
    assert "(uid %d," % system_user["uid"] in out
    assert auth.field(out, "Home Directory") == system_user["home"]
    assert auth.field(out, "Maildir") == system_user["home"] + "/Maildir"
    auth.expect(REJECTED, u, "wrong", service=svc)
    auth.expect(REJECTED, u, "", service=svc)
    auth.expect(REJECTED, "nosuchuser" + secrets.token_hex(3), pw,
                service=svc)
    # a virtual address is not a system account
    auth.expect(REJECTED, u + "@example.test", pw, service=svc)


def test_pamservice_overrides_service(instance, system_user):
    a = AuthDaemon(instance, "authpam",
                   settings={"PAMSERVICE": system_user["service"],
                             "DEFAULTOPTIONS": '"disableimap=1"'}).start()
    try:
        u, pw = system_user["user"], system_user["password"]
        a.expect(OK, u, pw, service="pop3")
        a.expect(REJECTED, u, "wrong", service="pop3")
        # DEFAULTOPTIONS disables IMAP for every account
        a.expect(REJECTED, u, pw, service="imap")
    finally:
        a.stop()


def test_metacharacters(auth, system_user):
    svc, pw = system_user["service"], system_user["password"]
    for login in ("*", system_user["user"] + "*", "root'", "../" +
                  system_user["user"], "%", "\\"):
        rc_, out = auth.authtest(login, pw, service=svc)
        assert rc_ == REJECTED, (login, rc_, out)


def test_expired_account_refused_by_acct_mgmt(auth, system_user):
    u, svc, pw = (system_user["user"], system_user["service"],
                  system_user["password"])
    subprocess.run(["chage", "-E", "1", u], check=True)
    try:
        auth.expect(REJECTED, u, pw, service=svc)
    finally:
        subprocess.run(["chage", "-E", "-1", u], check=True)
    auth.expect(OK, u, pw, service=svc)


def test_enumerate(auth, system_user):
    names = [r[0] for r in auth.enumerate()]
    assert system_user["user"] in names
    assert "root" in names


def test_change_password(auth, system_user):
    u, svc, pw = (system_user["user"], system_user["service"],
                  system_user["password"])
    auth.expect(REJECTED, u, "wrong-old", service=svc, newpass="N3w-pw-x1")
    auth.expect(OK, u, pw, service=svc, newpass="N3w-pw-x1")
    auth.expect(OK, u, "N3w-pw-x1", service=svc)
    auth.expect(REJECTED, u, pw, service=svc)
    auth.expect(OK, u, "N3w-pw-x1", service=svc, newpass=pw)
    auth.expect(OK, u, pw, service=svc)


@pytest.fixture(params=["authpwd", "authshadow"])
def pwd_auth(request, instance):
    a = AuthDaemon(instance, request.param).start()
    yield a
    a.stop()


def test_pwd_reads_shadow(pwd_auth, system_user):
    u, pw = system_user["user"], system_user["password"]
    out = pwd_auth.expect(OK, u, pw)
    assert "(uid %d," % system_user["uid"] in out
    assert pwd_auth.field(out, "Home Directory") == system_user["home"]
    # the hash comes from /etc/shadow ("x" in /etc/passwd)
    assert pwd_auth.field(out, "Encrypted Password").startswith("$"), out
    pwd_auth.expect(REJECTED, u, "wrong")
    pwd_auth.expect(REJECTED, u + "@example.test", pw)
    # a locked account ("!" before the hash) never matches
    subprocess.run(["usermod", "-L", u], check=True)
    try:
        pwd_auth.expect(REJECTED, u, pw)
    finally:
        subprocess.run(["usermod", "-U", u], check=True)
    pwd_auth.expect(OK, u, pw)


def test_pwd_lookup_and_enumerate(pwd_auth, system_user):
    u = system_user["user"]
    out = pwd_auth.expect(OK, u)
    assert pwd_auth.field(out, "Authenticated").startswith(u)
    pwd_auth.expect(REJECTED, "nosuchuser" + secrets.token_hex(3))
    rows = pwd_auth.enumerate()
    mine = [r for r in rows if r[0] == u]
    assert len(mine) == 1 and mine[0][3] == system_user["home"], mine
