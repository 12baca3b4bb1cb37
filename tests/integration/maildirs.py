"""maildirs.py: maildir helpers shared by the integration tests: make a
maildir, and deliver a message into one the way any MDA does (write it in
tmp/, then rename it into new/ or cur/)."""

import itertools
import os
import time

_seq = itertools.count(1)


def make_maildir(path):
    """Makes path/{new,cur,tmp} (those missing); returns path."""
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    return path


def deliver(md, data, sub="new", info="", tag="test"):
    """Delivers the bytes data into the maildir md: into sub ("new" or
    "cur"), with info appended to the name (":2,S"...).  The name is
    unique in this process and ends in tag.  Returns the base name
    (without info)."""
    n = next(_seq)
    name = "%d.M%dP%d.%s" % (int(time.time()), n, os.getpid(), tag)
    tmp = os.path.join(md, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(md, sub, name + info))
    return name
