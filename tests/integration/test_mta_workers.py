# test_mta_workers.py: courierlocal's worker processes: deliveries to
# accounts of different uids one after the other in the same workers
# (each copy the account's, never the previous one's), a missing Maildir
# made, workers reused rather than forked per delivery, a killed worker
# replaced, and O_TMPFILE copies leaving nothing in tmp/.
import glob
import os
import re
import signal
import subprocess
import time

from test_mta import (control, maildir_messages, mta, queue_empty,  # noqa
                      sendmail, start, wait_for)

OTHER_UID = 54321


def add_account(inst, name, uid):
    """A second account u@domain with its own uid and home; returns its
    Maildir path."""
    domain = inst.login.split("@")[1]
    home = os.path.join(inst.var, "vmail", domain, name)
    maildir = os.path.join(home, "Maildir")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub))
    for d, _, _ in os.walk(home):
        os.chown(d, uid, uid)
        os.chmod(d, 0o700)
    with open(os.path.join(inst.etc, "userdb"), "a") as f:
        f.write("%s@%s\tuid=%d|gid=%d|home=%s|mail=%s\n"
                % (name, domain, uid, uid, home, maildir))
    return maildir


def local_pids(inst):
    """The pids that logged a delivery as courierlocal."""
    with open(os.path.join(inst.var, "log", "courierd.log")) as f:
        return set(re.findall(r"courierlocal\[(\d+)\]: info: \S+: <[^>]*> "
                              r"delivered", f.read()))


def children(pid, comm="courierlocal"):
    """The pids of pid's children named comm."""
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)],
                         capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines()
            if line.split()[1:] == [comm]]


def needs_root():
    import pytest
    if os.getuid() != 0:
        pytest.skip("needs root (accounts of other uids)")


def test_accounts_of_different_uids_in_turn(mta):
    needs_root()
    own_uid = os.stat(mta.maildir).st_uid
    other = add_account(mta, "other", OTHER_UID)
    start(mta)
    n = 30
    for i in range(n):
        to = mta.login if i % 2 == 0 else \
            "other@" + mta.login.split("@")[1]
        sendmail(mta, "Subject: turn %d\n\nbody %d\n" % (i, i),
                 "-f", mta.login, to)
    wait_for(lambda: len(maildir_messages(mta)) == n // 2 and
             len(maildir_messages(mta, other)) == n // 2,
             what="all deliveries")
    wait_for(lambda: queue_empty(mta), what="empty queue")
    for maildir, uid in ((mta.maildir, own_uid), (other, OTHER_UID)):
        files = glob.glob(os.path.join(maildir, "new", "*"))
        assert len(files) == n // 2
        assert {os.stat(f).st_uid for f in files} == {uid}
        assert {os.stat(f).st_mode & 0o777 for f in files} == {0o600}
        # unnamed (O_TMPFILE) copies: nothing made, nothing left
        assert os.listdir(os.path.join(maildir, "tmp")) == []
    subjects = sorted(m["Subject"] for m in maildir_messages(mta, other))
    assert subjects == sorted("turn %d" % i for i in range(1, n, 2))
    # deliveries ran in a few reused workers, not a process each
    pids = local_pids(mta)
    assert 1 <= len(pids) <= 10 < n


def test_missing_maildir_is_made(mta):
    needs_root()
    other = add_account(mta, "fresh", OTHER_UID)
    for sub in ("tmp", "new", "cur"):
        os.rmdir(os.path.join(other, sub))
    os.rmdir(other)
    start(mta)
    sendmail(mta, "Subject: first\n\nbody\n", "-f", mta.login,
             "fresh@" + mta.login.split("@")[1])
    msgs = wait_for(lambda: maildir_messages(mta, other), what="delivery")
    assert [m["Subject"] for m in msgs] == ["first"]
    assert os.stat(other).st_uid == OTHER_UID
    wait_for(lambda: queue_empty(mta), what="empty queue")


def test_killed_worker_is_replaced(mta):
    d = start(mta)
    sendmail(mta, "Subject: one\n\nbody\n", "-f", mta.login, mta.login)
    wait_for(lambda: len(maildir_messages(mta)) == 1, what="delivery")
    module = wait_for(lambda: children(d.pid), what="the module")[0]
    workers = wait_for(lambda: children(module), what="a worker")
    for w in workers:
        os.kill(w, signal.SIGKILL)
    wait_for(lambda: not set(workers) & set(children(module)),
             what="workers gone")
    for i in range(3):
        sendmail(mta, "Subject: after %d\n\nbody\n" % i, "-f", mta.login,
                 mta.login)
    wait_for(lambda: len(maildir_messages(mta)) == 4, what="deliveries")
    wait_for(lambda: queue_empty(mta), what="empty queue")
    time.sleep(0.5)
    assert len(maildir_messages(mta)) == 4
    # the module itself lived through it
    assert children(d.pid) == [module]


def test_programs_get_default_sigpipe(mta):
    """The worker ignores SIGPIPE; the programs it runs must not inherit
    that (a pipeline in a .courier file would not stop when its reader
    ends), in the first delivery of a worker and in the later ones."""
    home = mta.home
    local, domain = mta.login.split("@")
    for i in range(3):
        out = os.path.join(home, "sigign-%d" % i)
        with open(os.path.join(home, ".courier-p%d" % i), "w") as f:
            f.write("| cat >/dev/null; grep SigIgn /proc/self/status >%s\n"
                    % out)
    start(mta)
    for i in range(3):
        sendmail(mta, "Subject: p%d\n\nx\n" % i, "-f", mta.login,
                 "%s-p%d@%s" % (local, i, domain))
    for i in range(3):
        out = os.path.join(home, "sigign-%d" % i)
        text = wait_for(lambda: os.path.exists(out) and
                        open(out).read().strip(), what="program %d" % i)
        mask = int(text.split()[1], 16)
        assert mask & (1 << (signal.SIGPIPE - 1)) == 0, text
    wait_for(lambda: queue_empty(mta), what="empty queue")
