"""natterd's TLS port: handshake, chat across plain and TLS, the sts cap,
misdialed and stalled connections, SIGHUP reload of the certificate,
--gen-cert, --no-plain, and the TLS flags' errors."""

import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time

from harness import (FULL_SPEED, HOST, SERVER_NAME, Client, Server,
                     free_port, join, numeric, rx, scaled)


def fingerprint_of(pem_path):
    with open(pem_path) as fp:
        der = ssl.PEM_cert_to_DER_cert(fp.read())
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


def peer_fingerprint(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((HOST, port), scaled(5)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


def verifying_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True
    return ctx


def test_tls_chat_with_plain_client(f):
    s = Server(f, tls=True)
    crt, _ = f.tls_files()
    # The certificate verifies for localhost against itself as the CA.
    a = s.user("alice", port=s.tls_port, tls=verifying_context(crt))
    assert a.sock.version() in ("TLSv1.2", "TLSv1.3"), a.sock.version()
    b = s.user("bob")
    join(a, b, room="#mixed")
    a.send("PRIVMSG #mixed :over TLS")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG #mixed :over TLS")
    b.send("PRIVMSG #mixed :in plain text")
    a.expect(":bob!bob@127.0.0.1 PRIVMSG #mixed :in plain text")
    a.send("PRIVMSG bob :private")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :private")
    a.send("QUIT :done")
    assert a.expect_closed() == ["ERROR :Closing Link: 127.0.0.1 (Quit: done)"]
    b.expect(":alice!alice@127.0.0.1 QUIT :Quit: done")


def test_tls_big_burst_arrives_whole_and_in_order(f):
    # A plain flooder at full speed and a TLS reader: the reader's own
    # thread writes its queue in records; nothing is lost or reordered.
    s = Server(f, "--sendq", "4194304", *FULL_SPEED, tls=True)
    r = s.user("reader", port=s.tls_port, tls=True)
    w = s.user("writer")
    join(r, w, room="#burst")
    n = 3000
    w.send_raw(b"".join(b"PRIVMSG #burst :line %d %s\r\n" % (i, b"x" * 200)
                        for i in range(n)))
    got = r.read_until(":writer!writer@127.0.0.1 PRIVMSG #burst :line %d %s"
                       % (n - 1, "x" * 200), timeout=30)
    said = [l for l in got if " PRIVMSG #burst :" in l]
    assert said == [":writer!writer@127.0.0.1 PRIVMSG #burst :line %d %s"
                    % (i, "x" * 200) for i in range(n)]
    r.sync()


def test_sts_cap(f):
    s = Server(f, tls=True)
    p = s.client("plain")
    p.send("CAP LS 302")
    line = p.expect(rx(r":irc\.test CAP \* LS :.*"))
    assert line.split(" :", 1)[1].split()[-1] == "sts=port=%d" % s.tls_port
    t = s.client("secure", port=s.tls_port, tls=True)
    t.send("CAP LS 302")
    line = t.expect(rx(r":irc\.test CAP \* LS :.*"))
    assert line.split(" :", 1)[1].split()[-1] == "sts=duration=300"
    # A value-less LS (no 302) leaves it out; it is never requested.
    t.send("CAP LS")
    line = t.expect(rx(r":irc\.test CAP \* LS :.*"))
    assert "sts" not in line.split(" :", 1)[1].split()
    t.send("CAP REQ :sts")
    t.expect(":irc.test CAP * NAK :sts")


def test_sts_off_and_without_tls(f):
    s = Server(f, "--sts-duration", "0", tls=True)
    p = s.client("plain")
    p.send("CAP LS 302")
    assert "sts" not in p.expect(rx(r":irc\.test CAP \* LS :.*"))
    s2 = Server(f, "--db", ":memory:")
    q = s2.client("q")
    q.send("CAP LS 302")
    assert "sts" not in q.expect(rx(r":irc\.test CAP \* LS :.*"))


def test_plain_line_on_tls_port(f):
    s = Server(f, tls=True)
    c = s.client("misdialed", port=s.tls_port)
    c.send("NICK misdialed")
    assert c.expect_closed() == [
        "ERROR :Closing Link: 127.0.0.1 (This port speaks TLS only; use TLS,"
        " or the plain port %d)" % s.port]
    # The server is fine, on both ports.
    s.user("after", port=s.tls_port, tls=True)
    s.user("plainafter")


def test_garbage_handshake_closes_quietly(f):
    s = Server(f, tls=True)
    # Starts like a handshake record, then nonsense.
    c = s.client("junk", port=s.tls_port)
    c.send_raw(b"\x16\x03\x01\x00\x30" + b"\xee" * 48 + b"\r\n")
    got = c.expect_closed()
    assert all(not l.startswith("ERROR") for l in got), got
    time.sleep(scaled(0.2))
    assert re.search(r"127\.0\.0\.1 \(\*\) closed: TLS handshake failed: ",
                     s.log_text()), s.log_text()[-800:]
    s.user("after", port=s.tls_port, tls=True)


def test_tls_1_1_refused(f):
    s = Server(f, tls=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        f.skip("this Python cannot offer TLS 1.1")
    raw = socket.create_connection((HOST, s.tls_port), scaled(5))
    try:
        ctx.wrap_socket(raw, server_hostname="localhost")
    except (ssl.SSLError, OSError):
        pass
    else:
        raise AssertionError("a TLS 1.1 handshake succeeded")
    finally:
        raw.close()
    s.user("modern", port=s.tls_port, tls=True)


def test_stalled_handshake_costs_only_the_reg_timeout(f):
    s = Server(f, "--reg-timeout", "2", tls=True)
    stalled = []
    for i in range(5):
        # Half a ClientHello, then silence.
        c = s.client("stall%d" % i, port=s.tls_port)
        c.send_raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        stalled.append(c)
    silent = s.client("silent", port=s.tls_port)
    # Others are served meanwhile, on both ports.
    start = time.monotonic()
    s.user("ok", port=s.tls_port, tls=True)
    s.user("plainok")
    assert time.monotonic() - start < scaled(2)
    for c in stalled + [silent]:
        c.expect_closed(timeout=6)
    assert s.log_text().count("closed: Registration timed out") >= 6, \
        s.log_text()[-1500:]


def test_sighup_reloads_certificate(f):
    crt, key = f.tls_files("one")
    crt2, key2 = f.tls_files("two")
    live = f.path("live")
    os.mkdir(live)
    lcrt, lkey = os.path.join(live, "c.pem"), os.path.join(live, "k.pem")
    shutil.copy(crt, lcrt)
    shutil.copy(key, lkey)
    port = free_port()
    s = Server(f, "--tls-port", port, "--tls-cert", lcrt, "--tls-key", lkey)
    assert peer_fingerprint(port) == fingerprint_of(crt)
    early = s.user("early", port=port, tls=True)
    buddy = s.user("buddy")
    join(early, buddy, room="#stay")
    shutil.copy(crt2, lcrt)
    shutil.copy(key2, lkey)
    s.signal(signal.SIGHUP)
    deadline = time.monotonic() + scaled(5)
    while peer_fingerprint(port) != fingerprint_of(crt2):
        assert time.monotonic() < deadline, "the new certificate never showed"
        time.sleep(0.05)
    # The connected client stayed, and still talks.
    early.send("PRIVMSG #stay :still here")
    buddy.expect(":early!early@127.0.0.1 PRIVMSG #stay :still here")
    buddy.send("PRIVMSG #stay :hello")
    early.expect(":buddy!buddy@127.0.0.1 PRIVMSG #stay :hello")
    # A bad new key: the old pair stays, and the log says why.
    with open(lkey, "w") as fp:
        fp.write("-----BEGIN PRIVATE KEY-----\nnonsense\n"
                 "-----END PRIVATE KEY-----\n")
    s.signal(signal.SIGHUP)
    deadline = time.monotonic() + scaled(5)
    while "keeping the old certificate" not in s.log_text():
        assert time.monotonic() < deadline, s.log_text()[-800:]
        time.sleep(0.05)
    assert re.search(r"TLS: keeping the old certificate: key .*k\.pem",
                     s.log_text()), s.log_text()[-800:]
    assert peer_fingerprint(port) == fingerprint_of(crt2)
    early.send("PRIVMSG #stay :after the bad reload")
    buddy.expect(":early!early@127.0.0.1 PRIVMSG #stay :after the bad reload")


def test_no_plain_port(f):
    crt, key = f.tls_files()
    for flags in (["--no-plain"], ["-p", "0"]):
        tport = free_port()
        open(f.path("noplain.log"), "w").close()
        log = open(f.path("noplain.log"), "ab")
        p = f.spawn("natterd", f.command("-l", HOST, "-n", SERVER_NAME,
                                         "--tls-port", tport, "--tls-cert",
                                         crt, "--tls-key", key, *flags),
                    stdout=log, stderr=log)
        deadline = time.monotonic() + scaled(10)
        while True:
            try:
                socket.create_connection((HOST, tport), 1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and p.poll() is None
                time.sleep(0.05)
        # The listeners are logged once the store is open too.
        while True:
            with open(f.path("noplain.log")) as fp:
                text = fp.read()
            if " started as " in text:
                break
            assert time.monotonic() < deadline and p.poll() is None, text
            time.sleep(0.05)
        listening = [l for l in text.splitlines() if "listening on" in l]
        assert listening and all(l.endswith("port %d (TLS)" % tport)
                                 for l in listening), text
        p.send_signal(signal.SIGTERM)
        assert p.wait(scaled(5)) == 0


def test_gen_cert(f):
    d = f.path("made")
    cp = f.run("-n", "chat.example.org", "--gen-cert", d)
    assert cp.returncode == 0, cp.stderr
    crt, key = os.path.join(d, "natterd.crt"), os.path.join(d, "natterd.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    fp = fingerprint_of(crt)
    assert "SHA-256 fingerprint: %s\n" % fp in cp.stdout, cp.stdout
    assert stat.S_IMODE(os.stat(crt).st_mode) == 0o644
    # The modes it prints are the modes it made.
    assert cp.stdout.startswith("Wrote %s (mode 0644) and its key %s (mode "
                                "0600),\n" % (crt, key)), cp.stdout
    assert "natterd --tls-cert %s --tls-key %s --sts-duration 0\n" % (
        crt, key) in cp.stdout, cp.stdout
    assert "--sts-duration 0 offers no IRCv3 sts policy." in cp.stdout
    # Valid for the name and for localhost, as a CA of its own.
    for name in ("chat.example.org", "localhost"):
        ctx = verifying_context(crt)
        port = free_port()
        s = Server(f, "--tls-port", port, "--tls-cert", crt, "--tls-key", key)
        raw = socket.create_connection((HOST, port), scaled(5))
        with ctx.wrap_socket(raw, server_hostname=name) as t:
            assert t.getpeercert()["subject"][-1] == (
                ("commonName", "chat.example.org"),)
        s.stop()
    # Never overwrites.
    cp = f.run("--gen-cert", d)
    assert cp.returncode == 1
    assert cp.stderr.strip() == "natterd: %s already exists; remove it " \
        "first to make a new one" % key, cp.stderr


def test_tls_flag_errors(f):
    crt, key = f.tls_files()
    usage = "usage: natterd "
    cases = [
        (["--tls-cert", crt], "--tls-cert and --tls-key go together"),
        (["--tls-key", key], "--tls-cert and --tls-key go together"),
        (["--tls-port", "7000"], "--tls-port needs --tls-cert and --tls-key"),
        (["--no-plain"], "no port to listen on"),
        (["-p", "0"], "no port to listen on"),
        (["--tls-port", "0", "--tls-cert", crt, "--tls-key", key],
         "--tls-port: invalid value '0'"),
        (["-p", "7001", "--tls-port", "7001", "--tls-cert", crt,
          "--tls-key", key], "--port and --tls-port are both 7001"),
        (["--sts-duration", "-1"], "--sts-duration: invalid value '-1'"),
    ]
    for args, why in cases:
        cp = f.run(*args)
        assert cp.returncode == 2, (args, cp.returncode, cp.stderr)
        assert why in cp.stderr and usage in cp.stderr, (args, cp.stderr)
    # Unusable files: exit 1 with one line naming the file.
    bad = f.write_file("bad.pem", "not a certificate\n")
    other_crt, _ = f.tls_files("other")
    for args, name in (
            (["--tls-cert", bad, "--tls-key", key], "certificate %s" % bad),
            (["--tls-cert", crt, "--tls-key", bad], "key %s" % bad),
            (["--tls-cert", f.path("missing.pem"), "--tls-key", key],
             "certificate %s" % f.path("missing.pem")),
            (["--tls-cert", other_crt, "--tls-key", key],
             "key %s: key values mismatch" % key)):
        cp = f.run("-l", HOST, "-p", free_port(), "--tls-port", free_port(),
                   *args)
        lines = cp.stderr.strip().splitlines()
        assert cp.returncode == 1 and len(lines) == 1, (args, cp.stderr)
        assert name in lines[0], (args, lines)


def test_throttle(f):
    s = Server(f, "--throttle", "3")
    for i in range(2):      # the harness's readiness probe may be one
        s.user("ok%d" % i)
    got = []
    for i in range(3):
        c = s.client("t%d" % i)
        c.send("PING :x")
        line = c.next_line()
        got.append(line)
        if line.startswith("ERROR"):
            break
    assert re.fullmatch(r"ERROR :Too many new connections from your IP; try "
                        r"again in \d+ seconds", got[-1]), got


def test_user_drops_root(f):
    if os.geteuid() != 0:
        f.skip("needs root")
    import pwd
    nobody = pwd.getpwnam("nobody")
    s = Server(f, "--user", "nobody", "--db", ":memory:")
    # The port listens before the drop (so a port below 1024 can be
    # bound); the drop is done once the start line is logged.
    deadline = time.monotonic() + 10
    while "started as" not in s.log_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    with open("/proc/%d/status" % s.proc.pid) as fp:
        status = fp.read()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
    assert set(map(int, uids)) == {nobody.pw_uid}, uids
    assert set(map(int, gids)) == {nobody.pw_gid}, gids
    assert "running as nobody" in s.log_text()
    s.user("alice")
    cp = f.run("--user", "no-such-user-here", "-p", free_port())
    assert cp.returncode == 1
    assert cp.stderr.strip() == \
        "natterd: --user: no such user 'no-such-user-here'", cp.stderr
