"""mtahelp.py: what the mail server's integration tests (esmtpd, courierd,
the delivery programs) share: a throw-away instance made by courier-setup
in /tmp whose accounts belong to the unprivileged user "nobody" when the
tests run as root (delivery never runs as root), a second account added
to it, and the instance with its daemons running around a test."""

import contextlib
import os
import shutil
import subprocess
import tempfile

from conftest import make_instance

MTA_USER = "nobody"


def new_instance(suite_build, prefix, **kwargs):
    """A new instance in a folder /tmp/PREFIX* (kwargs go to
    make_instance()); inst.tmp_root is that folder and inst.extra_args the
    courier-setup options it was made with.  remove() ends it."""
    root = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(root, 0o755)
    extra = ("--user", MTA_USER) if os.getuid() == 0 else ()
    try:
        inst = make_instance(suite_build, os.path.join(root, "instance"),
                             extra_args=extra, **kwargs)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    inst.tmp_root = root
    inst.extra_args = extra
    return inst


def remove(inst, keep=False):
    """Stops the instance's daemons and removes its folder (unless
    keep)."""
    inst.stop_all()
    if not keep:
        shutil.rmtree(inst.tmp_root, ignore_errors=True)


def add_account(suite_build, inst, account):
    """Adds account@inst.domain to the instance (courier-setup again)."""
    r = subprocess.run([suite_build.courier_setup, "--instance", inst.root,
                        "--domain", inst.domain, "--account", account,
                        "--ports-base", str(inst.ports["smtp"])] +
                       list(inst.extra_args), env=inst.env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    assert r.returncode == 0, r.stdout


@contextlib.contextmanager
def running(suite_build, prefix, programs=("esmtpd",),
            daemons=("authdaemond",)):
    """A new instance with programs checked to be built and daemons
    started (in that order) around a with block."""
    inst = new_instance(suite_build, prefix)
    try:
        for p in programs:
            inst.program(p)
        for d in daemons:
            inst.start(d)
        yield inst
    finally:
        remove(inst)
