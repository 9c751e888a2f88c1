"""natter over TLS, end to end: natter runs in tmux against natterd
--tls-port with a certificate from `natterd --gen-cert` (or, for a name
that does not match, one made with the openssl command).  Pinning with
--tls-fingerprint, trust on first use (the prompt and known_servers), a
changed certificate refused, --tls-ca, host name and address mismatch,
--tls-insecure, a handshake with a plain-text port, reconnecting to a
pinned server (and to one whose certificate changed), bursts bigger than
one read, port 6697 meaning TLS, and the flag errors.

Every natter gets XDG_CONFIG_HOME (and HOME) in the test's own folder.
The pane is 160 columns wide so that a fingerprint line fits one row."""

import base64
import hashlib
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import time

import harness
from harness import Server, prefix, rx, scaled, timeout
from tmuxlib import NATTER, STAMP, FixedPortServer, Tmux, need_natter

WIDTH = 160
PROMPT = "Trust this certificate and remember it for %s? Type yes or no."
INSECURE = ("TLS without certificate checks (--tls-insecure): the link is "
            "encrypted, but anyone on the network path could pose as the "
            "server")


# --- helpers ---

def need_tls(f):
    need_natter(f)
    cp = f.run("--help")
    assert "--tls-port" in cp.stdout, "natterd --help lists no --tls-port"


def fingerprint(pem_path):
    """SHA-256 of the certificate's DER, "AB:CD:...", computed here (not
    taken from natterd's output)."""
    with open(pem_path) as fp:
        pem = fp.read()
    b64 = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE",
                    pem, re.S).group(1)
    der = base64.b64decode("".join(b64.split()))
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


def gen_cert(f, name="certs"):
    """natterd --gen-cert into a fresh folder; returns (cert, key, fp)
    and checks the fingerprint natterd printed."""
    d = f.path(name)
    cp = f.run("-n", harness.SERVER_NAME, "--gen-cert", d)
    assert cp.returncode == 0, (cp.returncode, cp.stdout, cp.stderr)
    crt, key = os.path.join(d, "natterd.crt"), os.path.join(d, "natterd.key")
    fp = fingerprint(crt)
    assert fp in cp.stdout, (fp, cp.stdout)
    return crt, key, fp


def openssl_cert(f, name, san):
    """A self-signed P-256 certificate like natterd's, for another name
    (subjectAltName san); returns (cert, key, fp)."""
    assert shutil.which("openssl"), "no openssl command (make deps)"
    crt, key = f.path(name + ".crt"), f.path(name + ".key")
    cp = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
         "-days", "30", "-subj", "/O=natterd/CN=" + name,
         "-addext", "subjectAltName=" + san,
         "-addext", "basicConstraints=critical,CA:FALSE",
         "-addext", "keyUsage=critical,digitalSignature",
         "-addext", "extendedKeyUsage=serverAuth,clientAuth"],
        capture_output=True, text=True, timeout=scaled(20))
    assert cp.returncode == 0, cp.stderr
    return crt, key, fingerprint(crt)


def wait_listening(port):
    deadline = time.monotonic() + scaled(10)
    while not harness._listening(port):
        assert time.monotonic() < deadline, "nothing listens on %d" % port
        time.sleep(0.02)


def tls_flags(tport, crt, key):
    return ["--tls-port", tport, "--tls-cert", crt, "--tls-key", key]


def tls_server(f, crt, key, *flags):
    """natterd with its plain port (s.port, for raw clients) and a TLS
    port (s.tls_port)."""
    tport = harness.free_port()
    s = Server(f, *tls_flags(tport, crt, key), *flags)
    wait_listening(tport)
    s.tls_port = tport
    return s


class Config:
    """A natter's XDG_CONFIG_HOME in the test folder."""

    def __init__(self, f, name="config"):
        self.home = f.path(name)
        os.makedirs(self.home, exist_ok=True)
        self.dir = os.path.join(self.home, "natter")
        self.pins = os.path.join(self.dir, "known_servers")

    def read_pins(self):
        with open(self.pins) as fp:
            return fp.read()


def natter(t, cfg, nick, port, *args, host="127.0.0.1", tail=False):
    """natter -n nick [args] host:port with XDG_CONFIG_HOME and HOME in
    the test's folder (tmuxlib's natter() cannot set the environment).
    tail: the pane prints "EXITED <status>" when natter ends."""
    hp = "[%s]:%s" % (host, port) if ":" in host else "%s:%s" % (host, port)
    cmd = " ".join(shlex.quote(str(a)) for a in
                   ["env", "XDG_CONFIG_HOME=" + cfg.home, "HOME=" + cfg.home,
                    NATTER, "-n", nick, *args, hp])
    if tail:
        cmd = "trap : INT; %s; echo EXITED $?; sleep 30" % cmd
    else:
        cmd = "exec " + cmd
    return t.start(nick, cmd)


# At WIDTH columns a room shows its nick list on the right: a row is
# the text, then that column.
NICKLIST = r"(?: *\u2502.*)?"


def row(text):
    """A row exactly: "HH:MM text" (and a room's nick list)."""
    return re.compile(r"%s %s%s" % (STAMP, re.escape(text), NICKLIST))


def joined(pane, nick, room):
    return pane.wait(rx(STAMP + r" %s \(%s@127\.0\.0\.1\) has joined %s"
                        + NICKLIST, nick, nick, room), timeout=10)


def count_rows(pane, cond):
    return sum(1 for r in pane.lines() if
               (cond.fullmatch(r) if isinstance(cond, re.Pattern)
                else cond in r))


def never_registered(s, nick):
    """natterd saw no registration from nick: nothing in its log, and a
    WHOIS finds no such nick."""
    assert "registered as %s!" % nick not in s.log_text(), s.log_text()
    probe = s.user(s.f.unique("probe"))
    probe.send("WHOIS %s" % nick)
    probe.expect(re.compile(r":irc\.test 401 \S+ %s :.*" % nick))


def assert_chat(a, bob, nick="alice", op="@"):
    """A line typed in natter reaches bob, and one from bob shows (with
    op, his prefix: he made the room)."""
    a.line("hello over TLS")
    bob.expect(":%s PRIVMSG #lobby :hello over TLS" % prefix(nick))
    bob.send("PRIVMSG #lobby :hello back, in plain text")
    a.wait(row("<%sbob> hello back, in plain text" % op))


# --- the tests ---

def test_tui_tls_fingerprint_chat(f):
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    bob = s.user("bob")
    bob.join("#lobby")
    cfg = Config(f)
    label = "127.0.0.1:%d" % s.tls_port
    # Lower case without colons: the flag takes any form of the hex.
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", s.tls_port, "-j", "lobby",
                   "--tls-fingerprint", fp.replace(":", "").lower())
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        assert re.fullmatch(r"\[%s\] \[alice\] \[TLS\] \[2:#lobby\]" % STAMP,
                            a.status()), a.status()
        assert_chat(a, bob)
        a.keys("M-1")
        rows = a.wait(row("Connected to %s (TLS 1.3, certificate matches "
                          "--tls-fingerprint)" % label))
        assert rows[0].startswith("natter-0.1.0 - %s" % label), rows[0]
        assert any(row("natter-0.1.0: connecting to %s with TLS as alice"
                       % label).fullmatch(r) for r in rows), rows
        assert not any("Trust this" in r for r in rows), rows
    # --tls-fingerprint pins for this run only.
    assert not os.path.exists(cfg.pins)


def test_tui_tls_fingerprint_mismatch_refused(f):
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    other = "AB:" * 31 + "CD"
    label = "127.0.0.1:%d" % s.tls_port
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, Config(f), "alice", s.tls_port,
                   "--tls-fingerprint", other, tail=True)
        a.wait(row("Not connecting to %s again; /quit leaves." % label),
               timeout=10)
        rows = [r for r in a.lines() if r]
        i = [k for k, r in enumerate(rows)
             if row("The TLS certificate of %s does not match "
                    "--tls-fingerprint" % label).fullmatch(r)]
        assert i, rows
        assert row("Expected: SHA256:" + other).fullmatch(rows[i[0] + 1]), \
            rows
        assert row("Got:      SHA256:" + fp).fullmatch(rows[i[0] + 2]), rows
        never_registered(s, "alice")
        a.line("/quit")
        a.wait("EXITED 0")


def test_tui_tls_trust_on_first_use(f):
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    bob = s.user("bob")
    bob.join("#lobby")
    cfg = Config(f)
    label = "127.0.0.1:%d" % s.tls_port
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", s.tls_port, "-j", "lobby", "--tls",
                   tail=True)
        rows = a.wait(row(PROMPT % label), timeout=10)
        rows = [r for r in rows if r]
        k = [i for i, r in enumerate(rows) if row(PROMPT % label)
             .fullmatch(r)][0]
        assert row("The TLS certificate of %s is not trusted: self-signed "
                   "certificate" % label).fullmatch(rows[k - 2]), rows
        assert row("Fingerprint: SHA256:" + fp).fullmatch(rows[k - 1]), rows
        # Asking holds the connection: no registration yet, no file.
        assert "registered as alice!" not in s.log_text()
        assert not os.path.exists(cfg.pins)
        a.line("maybe")
        a.wait(row("Type yes or no (or /quit to leave)."))
        a.line("yes")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        a.keys("M-1")
        rows = [r for r in a.wait(row("Connected to %s (TLS 1.3, pinned "
                                      "certificate)" % label)) if r]
        k = [i for i, r in enumerate(rows) if row(PROMPT % label)
             .fullmatch(r)][0]
        assert [re.sub(r"^\d\d:\d\d ", "", r) for r in rows[k + 1:k + 4]] \
            == ["Type yes or no (or /quit to leave).",
                "Certificate trusted and remembered (line 1 of %s)"
                % cfg.pins,
                "Connected to %s (TLS 1.3, pinned certificate)" % label], \
            rows
        a.keys("M-2")
        # The answers went nowhere but to the question.
        bob.no_line(re.compile(r".*PRIVMSG.*"), sync=True)
        assert cfg.read_pins() == "%s SHA256:%s\n" % (label, fp), \
            cfg.read_pins()
        assert stat.S_IMODE(os.stat(cfg.pins).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(cfg.dir).st_mode) == 0o700
        assert_chat(a, bob)
        a.line("/quit")
        a.wait("EXITED 0")

    # The next run finds the pin: no question.
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", s.tls_port, "-j", "lobby", "--tls")
        joined(a, "alice", "#lobby")
        a.keys("M-1")
        rows = a.wait(row("Connected to %s (TLS 1.3, pinned certificate)"
                          % label))
        assert not any("not trusted" in r or "Trust this" in r
                       for r in rows), rows
    assert cfg.read_pins() == "%s SHA256:%s\n" % (label, fp)


def test_tui_tls_answer_no(f):
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    cfg = Config(f)
    label = "127.0.0.1:%d" % s.tls_port
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", s.tls_port, "--tls", tail=True)
        a.wait(row(PROMPT % label), timeout=10)
        a.line("no")
        a.wait(row("Certificate not trusted."))
        a.wait(row("Not connecting to %s again; /quit leaves." % label))
        # No second attempt, even after the first backoff step.
        time.sleep(scaled(2.5))
        assert count_rows(a, PROMPT % label) == 1, a.lines()
        assert count_rows(a, "Connected to") == 0, a.lines()
        never_registered(s, "alice")
        assert not os.path.exists(cfg.pins)
        a.line("/quit")
        a.wait("EXITED 0")


def test_tui_tls_quit_while_asking(f):
    """/quit (and Ctrl-C) still leave while natter waits for an answer;
    nothing is pinned."""
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    cfg = Config(f)
    label = "127.0.0.1:%d" % s.tls_port
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", s.tls_port, "--tls", tail=True)
        a.wait(row(PROMPT % label), timeout=10)
        a.line("/quit")
        a.wait("EXITED 0")
        b = natter(t, cfg, "bob", s.tls_port, "--tls", tail=True)
        b.wait(row(PROMPT % label), timeout=10)
        b.keys("C-c")
        b.wait("EXITED 0")
    never_registered(s, "alice")
    never_registered(s, "bob")
    assert not os.path.exists(cfg.pins)


def test_tui_tls_changed_certificate_refused(f):
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    cfg = Config(f)
    os.makedirs(cfg.dir)
    label = "127.0.0.1:%d" % s.tls_port
    old = "0F:" * 31 + "EE"
    with open(cfg.pins, "w") as fp_:
        fp_.write("# pins\n127.0.0.1:%d SHA256:%s\n"
                  "127.0.0.1:%d SHA256:%s\n"
                  % (s.port, fp, s.tls_port, old))
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", s.tls_port, "-j", "lobby", "--tls",
                   tail=True)
        a.wait(row("Not connecting to %s again; /quit leaves." % label),
               timeout=10)
        rows = [r for r in a.lines() if r]
        k = [i for i, r in enumerate(rows)
             if row("WARNING: THE TLS CERTIFICATE OF %s HAS CHANGED"
                    % label).fullmatch(r)]
        assert k, rows
        want = [
            "WARNING: THE TLS CERTIFICATE OF %s HAS CHANGED" % label,
            "Pinned: SHA256:" + old,
            "Now:    SHA256:" + fp,
            "Someone may be intercepting the connection (or the server got "
            "a new certificate).",
            "If you trust the change, remove line 3 of %s and start natter "
            "again." % cfg.pins,
            "Not connecting to %s again; /quit leaves." % label,
        ]
        got = rows[k[0]:k[0] + len(want)]
        assert all(row(w).fullmatch(g) for w, g in zip(want, got)) and \
            len(got) == len(want), "\n".join(got)
        # Refused for good: no retry, no prompt, no registration.
        time.sleep(scaled(2.5))
        assert count_rows(a, "HAS CHANGED") == 1, a.lines()
        assert count_rows(a, "Trust this") == 0, a.lines()
        never_registered(s, "alice")
        assert a.status().endswith("[alice] [1:status] [disconnected]"), \
            a.status()
        a.line("/quit")
        a.wait("EXITED 0")
    # The file is left as it was.
    assert cfg.read_pins().count("\n") == 3


def loopback_name():
    """"localhost" if it resolves to 127.0.0.1 here (a minimal root may
    have no /etc/hosts), else the address itself."""
    try:
        addrs = {ai[4][0] for ai in socket.getaddrinfo("localhost", None)}
    except OSError:
        addrs = set()
    return "localhost" if "127.0.0.1" in addrs else "127.0.0.1"


def test_tui_tls_ca_verified(f):
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    bob = s.user("bob")
    bob.join("#lobby")
    cfg = Config(f)
    host = loopback_name()
    with Tmux(f, width=WIDTH) as t:
        # By name (SNI and the name check) where the name resolves, and
        # by address.
        a = natter(t, cfg, "alice", s.tls_port, "-j", "lobby", "--tls-ca",
                   crt, host=host)
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        assert_chat(a, bob)
        a.keys("M-1")
        rows = a.wait(row("Connected to %s:%d (TLS 1.3, certificate "
                          "verified)" % (host, s.tls_port)))
        assert not any("Trust this" in r for r in rows), rows
        c = natter(t, cfg, "carol", s.tls_port, "--tls-ca", crt)
        c.wait(row("Connected to 127.0.0.1:%d (TLS 1.3, certificate "
                   "verified)" % s.tls_port), timeout=10)
        c.wait(rx(STAMP + r" Welcome to the natter IRC network carol.*"))
    assert not os.path.exists(cfg.pins)


def test_tui_tls_name_mismatch_asks(f):
    need_tls(f)
    crt, key, fp = openssl_cert(f, "other.example", "DNS:other.example")
    s = tls_server(f, crt, key)
    cfg = Config(f)
    by_name = loopback_name() == "localhost"
    with Tmux(f, width=WIDTH) as t:
        # The chain is good (--tls-ca), the name is not (where the
        # name resolves at all).
        if by_name:
            a = natter(t, cfg, "alice", s.tls_port, "--tls-ca", crt,
                       host="localhost")
            label = "localhost:%d" % s.tls_port
            a.wait(row(PROMPT % label), timeout=10)
            a.wait(row("The TLS certificate of %s is not trusted: hostname "
                       "mismatch" % label))
            a.wait(row("Fingerprint: SHA256:" + fp))
            a.line("no")
            a.wait(row("Not connecting to %s again; /quit leaves." % label))
        # An address is checked against the certificate's addresses.
        b = natter(t, cfg, "bob", s.tls_port, "--tls-ca", crt)
        label = "127.0.0.1:%d" % s.tls_port
        b.wait(row(PROMPT % label), timeout=10)
        b.wait(row("The TLS certificate of %s is not trusted: IP address "
                   "mismatch" % label))
        b.wait(row("Fingerprint: SHA256:" + fp))
        b.line("no")
        b.wait(row("Not connecting to %s again; /quit leaves." % label))
        if by_name:
            never_registered(s, "alice")
        never_registered(s, "bob")
    assert not os.path.exists(cfg.pins)


def test_tui_tls_insecure(f):
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    bob = s.user("bob")
    bob.join("#lobby")
    cfg = Config(f)
    label = "127.0.0.1:%d" % s.tls_port
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", s.tls_port, "-j", "lobby",
                   "--tls-insecure")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        assert re.fullmatch(r"\[%s\] \[alice\] \[TLS unchecked\] "
                            r"\[2:#lobby\]" % STAMP, a.status()), a.status()
        assert_chat(a, bob)
        a.keys("M-1")
        rows = [r for r in a.wait(row(INSECURE)) if r]
        k = [i for i, r in enumerate(rows) if row(INSECURE).fullmatch(r)][0]
        assert row("Connected to %s (TLS 1.3, certificate not checked)"
                   % label).fullmatch(rows[k + 1]), rows
        assert not any("Trust this" in r for r in rows), rows
    assert not os.path.exists(cfg.pins)


@timeout(60)
def test_tui_tls_reconnect_pinned_then_changed(f):
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key)
    cfg = Config(f)
    label = "127.0.0.1:%d" % s.tls_port
    port, tport = s.port, s.tls_port
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", tport, "-j", "lobby", "--tls")
        a.wait(row(PROMPT % label), timeout=10)
        a.line("yes")
        joined(a, "alice", "#lobby")
        # Restarted with the same certificate: the pin lets it in.
        s.stop()
        a.wait(rx(STAMP + r" Disconnected: .*\. Reconnecting in \d+ s…" +
                  NICKLIST))
        s2 = FixedPortServer(f, port, *tls_flags(tport, crt, key))
        wait_listening(tport)
        a.wait(row("Reconnected to %s" % label), timeout=20)
        bob = s2.user("bob")
        bob.join("#lobby")
        a.wait(rx(STAMP + r" bob \(bob@127\.0\.0\.1\) has joined #lobby" +
                  NICKLIST))
        assert_chat(a, bob, op="")
        assert count_rows(a, "Trust this") == 0
        # Restarted with a new certificate: refused, loudly, for good.
        crt2, key2, fp2 = gen_cert(f, "certs2")
        s2.stop()
        a.wait(rx(STAMP + r" Disconnected: .*\. Reconnecting in \d+ s…" +
                  NICKLIST))
        s3 = FixedPortServer(f, port, *tls_flags(tport, crt2, key2))
        wait_listening(tport)
        a.wait(row("WARNING: THE TLS CERTIFICATE OF %s HAS CHANGED"
                   % label), timeout=20)
        a.wait(row("Pinned: SHA256:" + fp))
        a.wait(row("Now:    SHA256:" + fp2))
        a.wait(row("If you trust the change, remove line 1 of %s and start "
                   "natter again." % cfg.pins))
        a.wait(row("Not connecting to %s again; /quit leaves." % label))
        time.sleep(scaled(2.5))
        assert count_rows(a, "HAS CHANGED") == 1, a.lines()
        never_registered(s3, "alice")


def test_tui_tls_plain_port_handshake_fails(f):
    """TLS to a plain-text port fails for good, saying so (issue 12:
    test_tui_link.py has the rest)."""
    need_tls(f)
    s = Server(f)
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, Config(f), "alice", s.port, "--tls")
        a.wait(row("127.0.0.1:%d is not a TLS port: leave out --tls (or use "
                   "the server's TLS port). Not retrying; /reconnect tries "
                   "again." % s.port), timeout=20)
        assert count_rows(a, "Connected to") == 0, a.lines()
        assert count_rows(a, "Reconnecting in") == 0, a.lines()


def test_tui_tls_port_6697_default(f):
    """Port 6697 means TLS unless --no-tls; nothing need listen."""
    need_natter(f)
    cfg = Config(f)
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, cfg, "alice", 6697)
        a.wait(row("natter-0.1.0: connecting to 127.0.0.1:6697 with TLS "
                   "as alice"))
        b = natter(t, cfg, "bob", 6697, "--no-tls")
        b.wait(row("natter-0.1.0: connecting to 127.0.0.1:6697 as bob"))
        c = natter(t, cfg, "carol", 6667)
        c.wait(row("natter-0.1.0: connecting to 127.0.0.1:6667 as carol"))
        d = natter(t, cfg, "dave", 6667, "--tls")
        d.wait(row("natter-0.1.0: connecting to 127.0.0.1:6667 with TLS "
                   "as dave"))
        e = natter(t, cfg, "erin", 6667, "--tls-insecure")
        e.wait(row("natter-0.1.0: connecting to 127.0.0.1:6667 with TLS "
                   "as erin"))


def natter_run(*args, env=None):
    return subprocess.run([NATTER, *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=scaled(10),
                          env=env)


def test_tui_tls_flags(f):
    need_natter(f)
    fp = "AB:" * 31 + "CD"
    junk = f.write_file("junk.pem", "not a certificate\n")
    usage_errors = [
        (["--tls-fingerprint", "zz"],
         "natter: zz: not a SHA-256 fingerprint (64 hex digits, colons "
         "optional)"),
        (["--tls-fingerprint", "SHA256:" + fp[:-3]],
         "natter: SHA256:%s: not a SHA-256 fingerprint (64 hex digits, "
         "colons optional)" % fp[:-3]),
        (["--tls-cert", junk],
         "natter: --tls-cert needs --tls-key"),
        (["--tls-key", junk],
         "natter: --tls-key needs --tls-cert"),
        (["--tls-insecure", "--tls-fingerprint", fp],
         "natter: --tls-insecure and --tls-fingerprint cannot be used "
         "together"),
        (["--tls-fingerprint", fp, "--tls-insecure"],
         "natter: --tls-insecure and --tls-fingerprint cannot be used "
         "together"),
        (["--tls-insecure", "--tls-ca", junk],
         "natter: --tls-insecure and --tls-ca cannot be used together"),
        (["--tls", "--no-tls"],
         "natter: --tls and --no-tls cannot be used together"),
        (["--no-tls", "--tls-insecure"],
         "natter: --no-tls and --tls-insecure cannot be used together"),
        (["--tls-ca"], None),
        (["--tls-fingerprint"], None),
    ]
    bad = []
    for args, want in usage_errors:
        # A flag that misses its value must be last.
        cp = natter_run(*args, *(["127.0.0.1:6697"] if want else []))
        lines = cp.stderr.splitlines()
        ok = (cp.returncode == 2 and cp.stdout == "" and len(lines) >= 3
              and lines[-2].startswith("usage: natter")
              and (want is None or lines == [want] + lines[-2:]))
        if not ok:
            bad.append("%s: exit %s, stderr %r" % (args, cp.returncode,
                                                   cp.stderr))
    # Files that cannot be used: one line, exit 1, before any screen.
    missing = f.path("no-such.pem")
    for args, want in [
            (["--tls-ca", missing],
             "natter: --tls-ca %s: No such file or directory" % missing),
            (["--tls-cert", missing, "--tls-key", junk],
             "natter: --tls-cert %s: No such file or directory" % missing),
            (["--tls-ca", junk], None)]:
        cp = natter_run(*args, "127.0.0.1:6697")
        lines = cp.stderr.splitlines()
        if cp.returncode != 1 or len(lines) != 1 or \
                (want is not None and lines[0] != want) or \
                not lines[0].startswith("natter: ") or \
                "\x1b" in cp.stdout + cp.stderr:
            bad.append("%s: exit %s, stderr %r" % (args, cp.returncode,
                                                   cp.stderr))
    assert not bad, "\n".join(bad)
    cp = natter_run("--help")
    assert cp.returncode == 0, cp
    for flag in ("--tls ", "--no-tls", "--tls-ca FILE",
                 "--tls-fingerprint SHA256", "--tls-insecure",
                 "--tls-cert FILE", "--tls-key FILE", "6697",
                 "known_servers"):
        assert flag in cp.stdout, (flag, cp.stdout)


def test_tui_tls_burst_all_shown(f):
    """Bursts bigger than one read: what TLS has already decrypted must
    be shown without waiting for more traffic (poll() cannot see it).
    The history replayed on JOIN comes in big records; then live lines
    sent at once."""
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key, "--flood-burst", "0")
    bob = s.user("bob")
    bob.join("#lobby")
    # Lines of 140 bytes, each fits a row.
    filler = "x" * 100
    bob.send_raw(b"".join(("PRIVMSG #lobby :old %02d %s\r\n"
                           % (i, filler)).encode() for i in range(60)))
    bob.sync()
    with Tmux(f, width=WIDTH) as t:
        a = natter(t, Config(f), "alice", s.tls_port, "-j", "lobby",
                   "--tls-fingerprint", fp)
        a.wait(row("<bob> old 59 " + filler), timeout=10)
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send_raw(b"".join(("PRIVMSG #lobby :line %02d %s\r\n"
                               % (i, filler)).encode() for i in range(60)))
        a.wait(row("<@bob> line 59 " + filler))


def test_tui_sasl_external_with_client_certificate(f):
    """natter --tls-cert/--tls-key logs in to natterd with SASL EXTERNAL:
    the account whose certificate it is, shown in the status bar."""
    need_tls(f)
    crt, key, fp = gen_cert(f)
    s = tls_server(f, crt, key, "--db", "off", "--oper", "admin:secret")
    ccrt, ckey, cfp = openssl_cert(f, "client", "DNS:judy")
    o = s.user("op")
    o.send("OPER admin secret")
    o.expect(":irc.test 381 op :You are now an IRC operator")
    o.send("ACCOUNT CREATE judy some-password")
    o.expect(":irc.test NOTICE op :ACCOUNT: created judy")
    o.send("ACCOUNT CERTADD judy %s" % cfp)
    o.expect(re.compile(r":irc\.test NOTICE op :ACCOUNT: .*judy.*"))
    cfg = Config(f)
    with Tmux(f) as t:
        a = natter(t, cfg, "judy", s.tls_port, "--tls-fingerprint", fp,
                   "--tls-cert", ccrt, "--tls-key", ckey)
        a.wait(row("SASL authentication successful"))
        a.wait_status("[account judy]")
    assert "logged in as judy (EXTERNAL)" in s.log_text(), s.log_text()
