"""test_esmtp_dkim.py: DKIM in esmtpd against a dnsmasq holding the keys:
mail of an authenticated user is signed (rsa-sha256 and ed25519-sha256)
and verifies with dkimpy (Debian python3-dkim) and with esmtpd itself;
messages signed by dkimpy get dkim=pass in Authentication-Results:; a
tampered body fails, a missing key is permerror, a DNS failure temperror,
an unsigned message none, and SPF's result shares the field.  Incoming
Authentication-Results: fields naming our authserv-id (forged) are
removed before ours is added (RFC 8601 5), others are kept, over DATA
and BDAT.
courier-dkimkeygen makes keys whose printed record dkimpy accepts."""

import base64
import glob
import os
import re
import shutil
import smtplib
import subprocess
import tempfile

import dkim
import pytest

import servers
from conftest import make_instance

KEYDIR = tempfile.mkdtemp(prefix="test-esmtp-dkim-keys-")


def _openssl(*args):
    return subprocess.run(("openssl",) + args, check=True,
                          stdout=subprocess.PIPE).stdout


def _make_keys():
    """RSA 2048 and Ed25519 keys made by openssl, and their p= values."""
    keys = {}
    rsa = os.path.join(KEYDIR, "rsa.pem")
    ed = os.path.join(KEYDIR, "ed.pem")
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
             "rsa_keygen_bits:2048", "-out", rsa)
    _openssl("genpkey", "-algorithm", "ED25519", "-out", ed)
    rsa_p = base64.b64encode(_openssl("pkey", "-in", rsa, "-pubout",
                                      "-outform", "DER")).decode()
    ed_p = base64.b64encode(_openssl("pkey", "-in", ed, "-pubout",
                                     "-outform", "DER")[-32:]).decode()
    keys["rsa"] = (rsa, "v=DKIM1; k=rsa; p=" + rsa_p)
    keys["ed25519"] = (ed, "v=DKIM1; k=ed25519; p=" + ed_p)
    return keys


KEYS = _make_keys()
SELECTORS = {"rsa": "sel-rsa", "ed25519": "sel-ed"}
RECORDS = [
    ("TXT", "sel-rsa._domainkey.signed.test", KEYS["rsa"][1]),
    ("TXT", "sel-ed._domainkey.signed.test", KEYS["ed25519"][1]),
    ("TXT", "sel-rsa._domainkey.edsigned.test", KEYS["rsa"][1]),
    ("TXT", "sel-ed._domainkey.edsigned.test", KEYS["ed25519"][1]),
    ("TXT", "pass.test", "v=spf1 ip4:127.0.0.0/8 -all"),
]


def dnsfunc(name, timeout=5):
    """dkimpy's key lookup, from the same records dnsmasq serves."""
    if isinstance(name, bytes):
        name = name.decode()
    name = name.rstrip(".")
    for r in RECORDS:
        if r[0] == "TXT" and r[1] == name:
            return r[2].encode()
    return None


@pytest.fixture(scope="module")
def dns():
    d = servers.DnsServer(RECORDS)
    d.start()
    try:
        yield d
    finally:
        d.stop()
        shutil.rmtree(KEYDIR, ignore_errors=True)


@pytest.fixture
def inst(suite_build, dns):
    root = tempfile.mkdtemp(prefix="test-esmtp-dkim-")
    os.chmod(root, 0o755)
    extra = ("--user", "nobody") if os.getuid() == 0 else ()
    i = make_instance(suite_build, os.path.join(root, "instance"),
                      extra_args=extra)
    i.program("esmtpd")
    control(i, "dnsservers", "127.0.0.1#%d\n" % dns.port)
    os.makedirs(os.path.join(i.etc, "dkim"), exist_ok=True)
    for kind, domain in (("rsa", "signed.test"),
                         ("ed25519", "edsigned.test")):
        shutil.copy(KEYS[kind][0],
                    os.path.join(i.etc, "dkim", "%s.%s.key" %
                                 (domain, SELECTORS[kind])))
    control(i, "dkim/selectors", "# domain selector\n"
                                 "signed.test sel-rsa\n"
                                 "edsigned.test sel-ed\n")
    if os.getuid() == 0:
        st = os.stat(os.path.join(i.var, "queue"))
        for path in glob.glob(os.path.join(i.etc, "dkim", "*")):
            os.chown(path, st.st_uid, st.st_gid)
    try:
        i.start("authdaemond")
        yield i
    finally:
        i.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def control(inst, name, text):
    with open(os.path.join(inst.etc, name), "w") as f:
        f.write(text)


def queued(inst):
    out = []
    for path in sorted(glob.glob(os.path.join(inst.var, "queue", "msgs",
                                              "*", "D*")),
                       key=os.path.getmtime):
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


MESSAGE = (b"From: Demo User <demo@%s>\r\n"
           b"To: someone@example.net\r\n"
           b"Subject: DKIM test\r\n"
           b"Date: Thu, 1 Jan 2026 10:00:00 +0000\r\n"
           b"Message-ID: <dkim-test@%s>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain\r\n"
           b"\r\n"
           b"Hello,   this is  a test.\r\n"
           b"\r\n"
           b"..a line with a dot\r\n"
           b"\r\n\r\n")


def message(domain):
    return MESSAGE % (domain.encode(), domain.encode())


def send_auth(inst, msg, sender):
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("client.test")
    s.starttls(context=inst.ssl_context())
    s.ehlo("client.test")
    s.login(inst.login, inst.password)
    assert s.sendmail(sender, ["someone@example.net"], msg) == {}
    s.quit()


def send_in(inst, msg, sender="x@pass.test"):
    """Inbound: no AUTH, to the local account."""
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("client.test")
    s.mail(sender)
    assert s.rcpt(inst.login)[0] == 250
    code, text = s.data(msg)
    assert code == 250, text
    s.quit()


def me(inst):
    """The authserv-id: the me control file."""
    with open(os.path.join(inst.etc, "me")) as f:
        return f.read().strip()


def auth_results(data):
    """The Authentication-Results: field, unfolded."""
    m = re.search(rb"^Authentication-Results: (.*?)\n(?! |\t)", data,
                  re.M | re.S)
    assert m is not None, data[:600]
    return re.sub(rb"\s*\n\s*", b" ", m.group(1)).decode()


@pytest.mark.parametrize("kind,domain", [("rsa", "signed.test"),
                                         ("ed25519", "edsigned.test")])
def test_signed_by_us(inst, kind, domain):
    inst.start("esmtpd")
    msg = message(domain)
    send_auth(inst, msg, "demo@" + domain)
    data = queued(inst)
    assert len(data) == 1
    signed = crlf(data[0])
    assert b"\r\nDKIM-Signature: v=1; a=%s-sha256; c=relaxed/relaxed; " \
        % (b"rsa" if kind == "rsa" else b"ed25519") in signed
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", signed)
    assert b" d=%s; s=%s;" % (domain.encode(),
                               SELECTORS[kind].encode()) in unfolded
    # the signature comes right after our Received: line
    assert signed.index(b"DKIM-Signature:") < signed.index(b"From: Demo")
    # dkimpy agrees
    assert dkim.verify(signed, dnsfunc=dnsfunc)
    # a changed body does not verify
    assert not dkim.verify(signed.replace(b"this is", b"this was"),
                           dnsfunc=dnsfunc)
    # and so do we: send it in again, from outside
    send_in(inst, signed)
    data = queued(inst)
    assert len(data) == 2
    ar = auth_results(data[1])
    assert ar.startswith(me(inst) + ";"), ar
    assert "dkim=pass" in ar and "header.d=%s" % domain in ar, ar
    assert "header.a=%s-sha256" % kind in ar, ar
    # no signature for a From: domain without a key
    send_auth(inst, message("example.net"), "demo@example.net")
    assert b"DKIM-Signature:" not in queued(inst)[2]


@pytest.mark.parametrize("kind,domain", [("rsa", "signed.test"),
                                         ("ed25519", "edsigned.test")])
def test_signed_by_dkimpy(inst, kind, domain):
    inst.start("esmtpd")
    msg = message(domain)
    with open(KEYS[kind][0], "rb") as f:
        pem = f.read()
    if kind == "ed25519":
        # dkimpy wants the raw 32-byte seed, base64-encoded
        der = _openssl("pkey", "-in", KEYS[kind][0], "-outform", "DER")
        pem = base64.b64encode(der[-32:])
    algo = b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256"
    for canon in ((b"relaxed", b"relaxed"), (b"simple", b"simple")):
        sig = dkim.sign(msg, SELECTORS[kind].encode(), domain.encode(),
                        pem, canonicalize=canon, signature_algorithm=algo)
        send_in(inst, sig + msg)
        ar = auth_results(queued(inst)[-1])
        assert "dkim=pass" in ar, (canon, ar)
        assert "header.d=%s" % domain in ar and \
            "header.s=%s" % SELECTORS[kind] in ar, ar
    # tampered body: fail
    sig = dkim.sign(msg, SELECTORS[kind].encode(), domain.encode(), pem,
                    signature_algorithm=algo)
    send_in(inst, sig + msg.replace(b"this is", b"this was"))
    ar = auth_results(queued(inst)[-1])
    assert "dkim=fail (body hash did not verify)" in ar, ar


def test_key_and_dns_failures(inst):
    inst.start("esmtpd")
    with open(KEYS["rsa"][0], "rb") as f:
        pem = f.read()
    msg = message("signed.test")
    # no key published for this selector: permerror (RFC 6376 6.1.2)
    sig = dkim.sign(msg, b"nokey", b"signed.test", pem)
    send_in(inst, sig + msg)
    ar = auth_results(queued(inst)[-1])
    assert "dkim=permerror (no key for signature)" in ar, ar
    assert "header.s=nokey" in ar
    # the DNS server cannot answer for example.org: temperror
    msg2 = msg.replace(b"@signed.test", b"@example.org")
    sig = dkim.sign(msg2, b"sel", b"example.org", pem)
    send_in(inst, sig + msg2)
    ar = auth_results(queued(inst)[-1])
    assert "dkim=temperror (key unavailable)" in ar, ar
    # a signature that does not parse
    send_in(inst, b"DKIM-Signature: v=1; a=rsa-sha256; d=signed.test\r\n"
            + msg)
    ar = auth_results(queued(inst)[-1])
    assert "dkim=permerror" in ar and "header.d=signed.test" in ar, ar


def test_unsigned_with_spf(inst):
    control(inst, "bofh", "opt BOFHSPFMAILFROM=pass,none,neutral\n")
    inst.start("esmtpd")
    send_in(inst, message("pass.test"), sender="x@pass.test")
    data = queued(inst)[-1]
    ar = auth_results(data)
    assert ar.startswith(me(inst) + "; "), ar
    assert "spf=pass smtp.mailfrom=x@pass.test; dkim=none" in ar, ar
    # one field, right after the Received: line, before Received-SPF:
    assert data.count(b"Authentication-Results:") == 1
    assert data.index(b"Authentication-Results:") < \
        data.index(b"Received-SPF:")
    assert data.index(b"Received: ") < data.index(b"Authentication-Results:")


def test_dkimverify_off(inst):
    with open(os.path.join(inst.etc, "esmtpd"), "a") as f:
        f.write("DKIMVERIFY=NO\n")
    inst.start("esmtpd")
    send_in(inst, message("signed.test"))
    assert b"Authentication-Results:" not in queued(inst)[-1]


def test_forged_auth_results_removed(inst):
    """RFC 8601 5: a field carrying our authserv-id is removed, in any
    case, folded, after a comment, quoted; one of another ADMD stays, as
    do a body line and a field whose value merely mentions us."""
    inst.start("esmtpd")
    ours = me(inst)
    forged = [
        "Authentication-Results: %s; dkim=pass header.d=bank.test" % ours,
        "authentication-results:%s;\r\n\tspf=pass" % ours.upper(),
        "Authentication-Results: (a comment (nested))\r\n %s; dkim=pass"
        % ours,
        'Authentication-Results: "%s"; dkim=pass' % ours,
        "Authentication-Results : %s 1; dkim=pass" % ours,
        "Authentication-Results: %s;\r\n dkim=pass\r\n\t"
        "header.d=x%s" % (ours, "y" * 17000),
    ]
    kept = [
        "Authentication-Results: other.example; dkim=pass "
        "header.d=%s" % ours,
        "Authentication-Results: %s.evil.test; spf=pass" % ours,
        "X-Authentication-Results: %s; dkim=pass" % ours,
    ]
    head = "\r\n".join(forged[:3] + kept[:1] + forged[3:] + kept[1:])
    body = ("Authentication-Results: %s; dkim=pass (body line)\r\n" % ours)
    msg = ("%s\r\nFrom: <x@pass.test>\r\nSubject: ar\r\n\r\n%s"
           % (head, body)).encode()
    send_in(inst, msg)
    data = crlf(queued(inst)[-1])
    hdr, _, got_body = data.partition(b"\r\n\r\n")
    fields = re.findall(rb"^[Aa]uthentication-[Rr]esults ?:.*?(?=\r\n(?! |\t))",
                        hdr, re.M | re.S)
    # ours (added now, first) and the two of other ids
    assert len(fields) == 3, fields
    assert fields[0].startswith(b"Authentication-Results: %s;"
                                % ours.encode()), fields
    assert b"dkim=none" in fields[0]
    assert b"other.example" in fields[1], fields
    assert b".evil.test" in fields[2], fields
    assert b"X-Authentication-Results: %s" % ours.encode() in hdr
    assert b"bank.test" not in hdr and b"yyyy" not in hdr
    assert b"\r\nFrom: <x@pass.test>\r\nSubject: ar" in hdr
    assert got_body == body.encode()
    log = open(os.path.join(inst.var, "log", "esmtpd.log")).read()
    assert log.count("removed an Authentication-Results:") == len(forged)

    # malformed fields are passed on (they name nobody), and a header
    # that ends inside an Authentication-Results: field (no body) is
    # still checked
    odd = [
        "Authentication-Results: (unterminated %s; dkim=pass" % ours,
        'Authentication-Results: "%s; dkim=pass' % ours,
        "Authentication-Results:",
        "Authentication-Results: ;%s" % ours,
        "Authentication-Results\x00: %s" % ours,
    ]
    msg2 = ("\r\n".join(odd) + "\r\nSubject: odd\r\n"
            "Authentication-Results: %s; x=y" % ours).encode()
    send_in(inst, msg2)
    data = crlf(queued(inst)[-1])
    for f in odd:
        assert f.encode() in data, (f, data)
    assert b"x=y" not in data
    assert data.count(b"Authentication-Results:") == 1 + 4

    # the same over BDAT, split in chunks in the middle of the fields
    s = smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30)
    s.ehlo("client.test")
    assert s.mail("x@pass.test")[0] == 250
    assert s.rcpt(inst.login)[0] == 250
    for i in range(0, len(msg), 7):
        chunk = msg[i:i + 7]
        last = i + 7 >= len(msg)
        s.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"")
               + chunk)
        assert s.getreply()[0] == 250
    s.quit()
    data2 = crlf(queued(inst)[-1])
    hdr2 = data2.partition(b"\r\n\r\n")[0]
    assert len(re.findall(rb"^Authentication-Results ?:", hdr2,
                          re.M | re.I)) == 3, hdr2
    assert b"bank.test" not in hdr2
    assert data2.partition(b"\r\n\r\n")[2] == body.encode()


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_keygen(inst, kind):
    prog = inst.program("courier-dkimkeygen")
    env = inst.env
    r = subprocess.run([prog, "-t", kind, "-s", "gen", "new.test"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, check=True)
    out = r.stdout.decode()
    assert out.startswith("gen._domainkey.new.test. IN TXT (")
    txt = "".join(re.findall(r'"([^"]*)"', out))
    assert txt.startswith("v=DKIM1; k=%s; p=" % kind)
    key = os.path.join(inst.etc, "dkim", "new.test.gen.key")
    assert os.stat(key).st_mode & 0o077 == 0
    with open(os.path.join(inst.etc, "dkim", "selectors")) as f:
        assert "new.test gen\n" in f.read()
    # a second run refuses to overwrite the key
    r2 = subprocess.run([prog, "-t", kind, "-s", "gen", "new.test"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        env=env)
    assert r2.returncode == 1
    # -p prints the same record again
    r3 = subprocess.run([prog, "-p", "new.test"], stdout=subprocess.PIPE,
                        env=env, check=True)
    assert r3.stdout.decode() == out
    # mail signed with it verifies with dkimpy against the printed record
    inst.start("esmtpd")
    send_auth(inst, message("new.test"), "demo@new.test")
    signed = crlf(queued(inst)[-1])
    assert b" s=gen;" in signed

    def gen_dns(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        if name.rstrip(".") == "gen._domainkey.new.test":
            return txt.encode()
        return None
    assert dkim.verify(signed, dnsfunc=gen_dns)
