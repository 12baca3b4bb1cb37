"""test_mta_sendmail.py: sendmail -bs: SMTP on standard input and output
(the ESMTP server's --stdio mode), driven by smtplib over a socket pair;
the message is queued and delivered like any other."""

import os
import smtplib
import socket
import subprocess

from test_mta import maildir_messages, mta, start, wait_for  # noqa: F401


def test_sendmail_bs(mta):  # noqa: F811
    start(mta)
    ours, theirs = socket.socketpair()
    p = subprocess.Popen([mta.program("sendmail"), "-bs"], stdin=theirs,
                         stdout=theirs, stderr=subprocess.PIPE,
                         env=mta.env)
    theirs.close()
    try:
        s = smtplib.SMTP()
        s.sock = ours
        code, greeting = s.getreply()
        assert code == 220
        code, _ = s.ehlo("localhost")
        assert code == 250
        assert not s.has_extn("starttls")
        refused = s.sendmail(mta.login, [mta.login],
                             "Subject: over a pipe\r\n\r\nhello\r\n")
        assert refused == {}
        s.quit()
    finally:
        ours.close()
        assert p.wait(10) == 0
    msgs = wait_for(lambda: maildir_messages(mta), what="delivery")
    assert msgs[0]["Subject"] == "over a pipe"
    assert "uid %d" % os.getuid() in msgs[0]["Received"]
