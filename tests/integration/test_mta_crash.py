"""test_mta_crash.py: crash safety of the queue.  1,000 messages, each to
a local account and to a remote address (delivered by courieresmtp to a
Python SMTP sink), while courierd, its modules (courierlocal,
courieresmtp) and their delivery processes are killed with SIGKILL at
random points (0.1 to 0.5 s apart); courierd is started again each time
it dies.  Afterwards every message reached both recipients, the local one
exactly once (courierlocal's P record and Maildir names make a retry find
the copy a killed attempt made), the remote one at most once more than the
window doc/mta.md describes (RFC 1047: a courieresmtp delivery process
killed between the server's 250 to the final dot and its status record, at
most one duplicate per such kill); the test prints what it saw."""

import email
import email.policy
import glob
import os
import random
import re
import signal
import threading
import time

from test_mta import (control, maildir_messages, mta, queue_empty,  # noqa
                      sendmail, start, wait_for)
from test_mta_courier import SmtpSink

N = 1000


def proc_table():
    """{pid: (comm, ppid)} of every process."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        out[int(p)] = (comm, ppid)
    return out


def descendants(root):
    """(pid, comm, depth) of every process under root."""
    table = proc_table()
    out, todo = [], [(root, 0)]
    while todo:
        pid, depth = todo.pop()
        for child, (comm, ppid) in table.items():
            if ppid == pid:
                out.append((child, comm, depth + 1))
                todo.append((child, depth + 1))
    return out


def subjects_of(datas):
    out = []
    for d in datas:
        m = re.search(rb"^Subject: (.*?)\r?$", d, re.M)
        out.append(m.group(1).decode() if m else None)
    return out


def test_kill_everything_no_loss(mta):
    sink = SmtpSink()
    try:
        control(mta, "esmtproutes", "sink.test: [127.0.0.1],%d" % sink.port)
        control(mta, "esmtpdelay", "0")
        control(mta, "retryalpha", "1s")
        control(mta, "retrygamma", "1s")
        control(mta, "retrymaxdelta", "0")
        d = start(mta)
        state = {"courierd": d, "stop": False}
        # "delivery": every delivery process killed, "esmtp": those of
        # them that were courieresmtp's (only they can send twice)
        kills = {"courierd": 0, "module": 0, "delivery": 0, "esmtp": 0}
        lock = threading.Lock()

        def killer():
            rnd = random.Random(4242)
            while not state["stop"]:
                time.sleep(rnd.uniform(0.1, 0.5))
                with lock:
                    cd = state["courierd"]
                    procs = descendants(cd.pid)
                    mods = [p for p in procs if p[2] == 1 and
                            p[1] in ("courierlocal", "courieresmtp")]
                    dels = [p for p in procs if p[2] >= 2]
                    what = rnd.choice(("courierd", "module", "delivery",
                                       "delivery"))
                    if what == "courierd" or (what == "module" and
                                              not mods):
                        os.kill(cd.pid, signal.SIGKILL)
                        cd.proc.wait()
                        kills["courierd"] += 1
                        mta.daemons.pop("courierd", None)
                        state["courierd"] = mta.start("courierd")
                        continue
                    victims = mods if what == "module" else dels
                    if not victims:
                        continue
                    pid, comm, _ = rnd.choice(victims)
                    try:
                        os.kill(pid, signal.SIGKILL)
                        kills[what] += 1
                        if what == "delivery" and comm == "courieresmtp":
                            kills["esmtp"] += 1
                    except ProcessLookupError:
                        pass

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        t0 = time.time()
        try:
            for i in range(N):
                sendmail(mta, "Subject: msg %d\n\nbody %d\n" % (i, i),
                         "-f", "<>", mta.login, "r%d@sink.test" % i)
            # keep killing while the queue drains (and until ten kills:
            # on an idle machine it drains in a few seconds)
            wait_for(lambda: (len(sink.messages()) >= N * 0.9 and
                              sum(kills.values()) - kills["esmtp"] >= 10)
                     or time.time() - t0 > 120, timeout=150,
                     what="most deliveries")
        finally:
            state["stop"] = True
            t.join()
        wait_for(lambda: queue_empty(mta), timeout=120, what="empty queue")
        took = time.time() - t0
        time.sleep(1)

        local = sorted(m["Subject"] for m in maildir_messages(mta))
        remote = sorted(subjects_of(d for _, _, d in sink.messages()))
        want = ["msg %d" % i for i in range(N)]
        lost_local = sorted(set(want) - set(local))
        lost_remote = sorted(set(want) - set(remote))
        dup_local = len(local) - len(set(local))
        dup_remote = len(remote) - len(set(remote))
        print("\ncrash test: %d messages x 2 recipients in %.1f s; kills: "
              "%s; duplicates: local %d, remote %d" %
              (N, took, kills, dup_local, dup_remote))
        assert not lost_local and not lost_remote
        assert set(local) == set(want) and set(remote) == set(want)
        assert sum(kills.values()) - kills["esmtp"] >= 10
        # local deliveries are idempotent: never a duplicate
        assert dup_local == 0
        # remote: only a killed courieresmtp delivery process opens RFC
        # 1047's window (its status record is fdatasync'ed right after
        # the 250 to the final dot), once per kill at most (one recipient
        # per message here): killing courierd, a module or a local
        # delivery never makes a duplicate
        assert dup_remote <= kills["esmtp"]
        # each remote copy went to its own recipient
        for sender, rcpts, data in sink.messages():
            i = int(subjects_of([data])[0].split()[1])
            assert rcpts == ["<r%d@sink.test>" % i]
    finally:
        sink.close()


def test_retry_finds_the_copy(mta):
    """A delivery killed between its Maildir copy and its status record
    left a P record and the copy (read since: in cur/ with flags): the
    retry records it without a second copy."""
    import socket
    sendmail(mta, "Subject: once\n\nbody\n", "-f", mta.login, mta.login)
    ctl = [p for p in glob.glob(os.path.join(mta.var, "queue", "msgs", "*",
                                              "C*"))][0]
    qid = os.path.basename(ctl)[1:]
    data = os.path.join(os.path.dirname(ctl), "D" + qid)
    with open(ctl, "a") as f:
        f.write("P0 %d\n" % int(time.time()))
    prefix = "Return-Path: <%s>\nDelivered-To: %s\n" % (mta.login,
                                                        mta.login)
    with open(data, "rb") as f:
        body = prefix.encode() + f.read()
    secs = int(qid.split(".")[1], 16)
    host = socket.gethostname().replace("/", "\\057").replace(
        ":", "\\072").replace(",", "\\054")
    name = "%d.C%sR0T0.%s,S=%d" % (secs, qid.replace(".", "_"), host,
                                   len(body))
    st = os.stat(mta.maildir)
    planted = os.path.join(mta.maildir, "cur", name + ":2,S")
    with open(planted, "wb") as f:
        f.write(body)
    os.chown(planted, st.st_uid, st.st_gid)
    start(mta)
    wait_for(lambda: queue_empty(mta), what="empty queue")
    msgs = maildir_messages(mta)
    assert [m["Subject"] for m in msgs] == ["once"]
    assert os.path.exists(planted)
    with open(os.path.join(mta.var, "log", "courierd.log")) as f:
        assert "was made by an earlier attempt" in f.read()
