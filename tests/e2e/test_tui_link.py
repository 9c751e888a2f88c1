"""natter's link, in tmux (issue 12, points 3 to 5): a dead link is
noticed (a server that accepts and never answers, a natterd frozen with
SIGSTOP: the lag in the status bar, then the disconnect and the retry
countdown), errors that no retry mends stop the loop with one sentence
naming what to change (a wrong or missing --password against natterd and
a stock ngIRCd, TLS to a plain-text port, plain text to a TLS port, a
host that does not exist), /reconnect tries again by hand, and the sts
messages say which port was asked for, which is used, and --no-tls when
the policy's port refuses.

--ping-timeout keeps the dead-link tests short: natter sends a PING
after that many silent seconds and gives up after as many again."""

import os
import re
import signal
import socket
import threading
import time

import harness
from harness import Server, prefix, rx, scaled
from tmuxlib import STAMP, Ngircd, Tmux

import test_tui_tls as tt

WIDTH = 160
AGAIN = "Not retrying; /reconnect tries again."


# A room's row at this width ends in the nick list (tui/ui.c).
NICKLIST = tt.NICKLIST


def row(text):
    return re.compile(r"%s %s%s" % (STAMP, re.escape(text), NICKLIST))


def status(nick, window, extra=""):
    """The status bar exactly: clock, nick, window, then extra."""
    return re.compile(r"\[%s\] \[%s\] \[%s\]%s"
                      % (STAMP, re.escape(nick), re.escape(window), extra))


def wait_status(pane, pattern, timeout=5):
    def ok(rows):
        return pattern.fullmatch(pane.status()) is not None
    ok.__doc__ = "status bar /%s/" % pattern.pattern
    return pane.wait(ok, timeout=timeout)


class Silent:
    """A TCP listener that accepts every connection and never says a
    word; counts the connections."""

    def __init__(self, f):
        self.sock = socket.socket()
        self.sock.bind((harness.HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.name = "silent listener"
        self.history = []           # what Fixture.details() shows
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()
        f.clients.append(self)      # closed by the fixture's cleanup

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)

    def count(self):
        with self.lock:
            return len(self.conns)

    def close(self):
        self.sock.close()
        with self.lock:
            for c in self.conns:
                c.close()


def dead(label, backoff):
    """The dead-link line: silent for twice --ping-timeout (give or take
    a loaded machine's second)."""
    return rx(STAMP + r" Disconnected: no answer from %s for \d+ s\. "
              r"Reconnecting in %s s\u2026" + NICKLIST, label, backoff)


def count(pane, pattern):
    return sum(1 for r in pane.lines() if pattern.fullmatch(r))


# --- 3. a dead link is noticed ---

def test_tui_link_silent_server(f):
    """A server that accepts and never answers: [connecting], then the
    disconnect within twice --ping-timeout, the countdown, and tries
    again with the backoff."""
    srv = Silent(f)
    label = "127.0.0.1:%d" % srv.port
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", srv.port, "--ping-timeout", "1")
        wait_status(a, status("alice", "1:status", r" \[connecting\]"))
        a.wait(dead(label, 1), timeout=6)
        # The second silence waits 2 s, the third 4 s: the status bar
        # counts down.
        a.wait(dead(label, 4), timeout=15)
        wait_status(a, status("alice", "1:status",
                              r" \[disconnected, retry in [34] s\]"))
        wait_status(a, status("alice", "1:status",
                              r" \[disconnected, retry in [12] s\]"))
        wait_status(a, status("alice", "1:status", r" \[connecting\]"),
                    timeout=6)
    assert srv.count() >= 4, srv.count()


def test_tui_link_frozen_server(f):
    """natterd frozen after registration: the lag grows in the status
    bar, the link is declared dead, and once the server runs again
    natter is back in its room.  Fails with natter before issue 12."""
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")
    label = "127.0.0.1:%d" % s.port
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", s.port, "-j", "lobby", "--ping-timeout", "3")
        a.wait(rx(STAMP + r" alice \(alice@127\.0\.0\.1\) has joined "
                  r"#lobby" + NICKLIST), timeout=10)
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        wait_status(a, status("alice", "2:#lobby"))
        s.signal(signal.SIGSTOP)
        try:
            wait_status(a, status("alice", "2:#lobby",
                                  r" \[lag [1-3]\.\d s\]"), timeout=8)
            a.wait(dead(label, 1), timeout=8)
            wait_status(a, status("alice", "2:#lobby",
                                  r" \[(connecting|disconnected, retry in "
                                  r"\d s)\]"))
        finally:
            s.signal(signal.SIGCONT)
        a.wait(row("Reconnected to %s" % label), timeout=20)
        wait_status(a, status("alice", "2:#lobby"), timeout=10)
        a.line("back again")
        bob.expect(":%s PRIVMSG #lobby :back again" % prefix("alice"))


def test_tui_link_ngircd_ping(f):
    """The same against a stock ngIRCd: its PONGs keep the link quiet
    and lag-free; frozen, it shows the lag, then the dead link; thawed,
    natter is back."""
    n = Ngircd(f)
    label = "127.0.0.1:%d" % n.port
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", n.port, "--ping-timeout", "2")
        a.wait(rx(STAMP + r" .*hello.*"), timeout=10)
        wait_status(a, status("alice", "1:status"))
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline:
            assert status("alice", "1:status").fullmatch(a.status()), \
                a.status()
            time.sleep(0.1)
        n.proc.send_signal(signal.SIGSTOP)
        try:
            wait_status(a, status("alice", "1:status",
                                  r" \[lag [12]\.\d s\]"), timeout=8)
            a.wait(dead(label, 1), timeout=8)
        finally:
            n.proc.send_signal(signal.SIGCONT)
        a.wait(row("Reconnected to %s" % label), timeout=20)
        wait_status(a, status("alice", "1:status"), timeout=10)


def test_tui_link_lag_answered(f):
    """A PING answered at once shows no lag; the PONG is not shown."""
    s = Server(f)
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", s.port, "--ping-timeout", "1")
        a.wait(rx(STAMP + r" Welcome to the natter IRC network .*"),
               timeout=10)
        # Three silences, three PINGs answered: still registered once,
        # no lag, nothing about PONG on the screen.
        deadline = time.monotonic() + scaled(3.5)
        while time.monotonic() < deadline:
            assert status("alice", "1:status").fullmatch(a.status()), \
                a.status()
            time.sleep(0.1)
        assert not any("PONG" in r or "Disconnected" in r
                       for r in a.lines()), a.lines()
    assert s.log_text().count("registered as alice!") == 1


# --- 4. errors that will not go away ---

def test_tui_link_wrong_password(f):
    s = Server(f, "--password", "sesame")
    label = "127.0.0.1:%d" % s.port
    said = row("%s refused the server password: check --password. %s"
               % (label, AGAIN))
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", s.port, "--password", "wrong")
        a.wait(said, timeout=10)
        wait_status(a, status("alice", "1:status", r" \[disconnected\]"))
        # It stays stopped: one attempt, however long we wait.
        time.sleep(scaled(2.5))
        assert count(a, said) == 1, a.lines()
        assert s.log_text().count("wrong server password") == 1
        assert not any("Reconnecting" in r for r in a.lines()), a.lines()
        # /reconnect tries once more, by hand.
        a.line("/reconnect")
        a.wait(lambda rows: count(a, said) == 2, timeout=10)
        wait_status(a, status("alice", "1:status", r" \[disconnected\]"))
    assert s.log_text().count("wrong server password") == 2


def test_tui_link_missing_password(f):
    s = Server(f, "--password", "sesame")
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", s.port)
        a.wait(row("127.0.0.1:%d asks for a server password: give it with "
                   "--password. %s" % (s.port, AGAIN)), timeout=10)
        wait_status(a, status("alice", "1:status", r" \[disconnected\]"))
    assert "registered as alice!" not in s.log_text()


def test_tui_link_wrong_password_ngircd(f):
    """The same sentence from a stock ngIRCd's 464."""
    n = Ngircd(f, password="sesame")
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", n.port, "--password", "wrong")
        said = row("127.0.0.1:%d refused the server password: check "
                   "--password. %s" % (n.port, AGAIN))
        a.wait(said, timeout=10)
        wait_status(a, status("alice", "1:status", r" \[disconnected\]"))
        time.sleep(scaled(2.5))
        assert count(a, said) == 1, a.lines()
        # The right password, given by hand with a new run, works.
    with Tmux(f, width=WIDTH) as t:
        b = t.natter("bob", n.port, "--password", "sesame")
        b.wait(rx(STAMP + r" .*(MOTD|hello).*"), timeout=10)
        wait_status(b, status("bob", "1:status"))


def test_tui_link_tls_to_plain_port(f):
    tt.need_tls(f)
    s = Server(f)
    with Tmux(f, width=WIDTH) as t:
        a = tt.natter(t, tt.Config(f), "alice", s.port, "--tls")
        said = row("127.0.0.1:%d is not a TLS port: leave out --tls (or use "
                   "the server's TLS port). %s" % (s.port, AGAIN))
        a.wait(said, timeout=20)
        wait_status(a, status("alice", "1:status", r" \[disconnected\]"))
        time.sleep(scaled(2.5))
        assert count(a, said) == 1, a.lines()
        assert not any("wrong version number" in r or "Reconnecting" in r
                       for r in a.lines()), a.lines()


def test_tui_link_plain_to_tls_port(f):
    tt.need_tls(f)
    crt, key, fp = tt.gen_cert(f)
    s = tt.tls_server(f, crt, key)
    with Tmux(f, width=WIDTH) as t:
        a = tt.natter(t, tt.Config(f), "alice", s.tls_port)
        said = row("127.0.0.1:%d is a TLS port: add --tls (or use the "
                   "server's plain-text port). %s" % (s.tls_port, AGAIN))
        a.wait(said, timeout=10)
        wait_status(a, status("alice", "1:status", r" \[disconnected\]"))
        time.sleep(scaled(2.5))
        assert count(a, said) == 1, a.lines()
        assert not any("Reconnecting" in r for r in a.lines()), a.lines()
        # /reconnect with the same settings says it again.
        a.line("/reconnect")
        a.wait(lambda rows: count(a, said) == 2, timeout=10)


def test_tui_link_plain_to_silent_tls_port(f):
    """A TLS server that closes on plain text without a word (OpenSSL's
    s_server): natter keeps trying, as for a server in trouble, and
    hints at --tls."""
    import shutil
    import subprocess
    if shutil.which("openssl") is None:
        f.skip("no openssl command (make deps)")
    crt, key = f.tls_files()
    port = harness.free_port()
    f.spawn("s_server", ["openssl", "s_server", "-quiet", "-accept",
                         "127.0.0.1:%d" % port, "-cert", crt, "-key", key],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
    tt.wait_listening(port)
    label = "127.0.0.1:%d" % port
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", port)
        a.wait(row("Disconnected: %s closed the connection without a word "
                   "(a TLS port? add --tls). Reconnecting in 1 s\u2026"
                   % label), timeout=10)
        a.wait(row("Disconnected: %s closed the connection without a word "
                   "(a TLS port? add --tls). Reconnecting in 2 s\u2026"
                   % label), timeout=10)


def test_tui_link_unknown_host(f):
    host = "nonexistent.invalid"
    try:
        socket.getaddrinfo(host, 6667)
    except socket.gaierror as e:
        if e.errno != socket.EAI_NONAME:
                f.skip("the resolver here says %s for %s" % (e, host))
    else:
        f.skip("%s resolves here" % host)
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", 6667, host=host)
        said = row("There is no host called %s: check the name (natter "
                   "host[:port]). %s" % (host, AGAIN))
        a.wait(said, timeout=10)
        wait_status(a, status("alice", "1:status", r" \[disconnected\]"))
        time.sleep(scaled(2.5))
        assert count(a, said) == 1, a.lines()


def test_tui_link_reconnect_command(f):
    """/reconnect while connected: drops the link and is back at once,
    in the same room."""
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")
    label = "127.0.0.1:%d" % s.port
    with Tmux(f, width=WIDTH) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"), timeout=10)
        a.line("/reconnect")
        bob.expect(rx(r":alice!\S+ QUIT :.*Reconnecting.*"))
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"), timeout=10)
        a.wait(row("Reconnected to %s" % label), timeout=10)
        wait_status(a, status("alice", "2:#lobby"))
        a.line("after the reconnect")
        bob.expect(":%s PRIVMSG #lobby :after the reconnect"
                   % prefix("alice"))
        assert not any("Reconnecting in" in r for r in a.lines()), a.lines()
    assert s.log_text().count("registered as alice!") == 2


# --- 5. sts ---

def test_tui_link_sts_upgrade_names_ports(f):
    s, fp, bob = _sts_setup(f)
    cfg = tt.Config(f)
    _pin(cfg, s.tls_port, fp)
    with Tmux(f, width=WIDTH) as t:
        a = tt.natter(t, cfg, "alice", s.port, "-j", "lobby")
        tt.joined(a, "alice", "#lobby")
        a.keys("M-1")
        a.wait(row("The server requires TLS (sts): reconnecting to "
                   "127.0.0.1 port %d with TLS instead of %d"
                   % (s.tls_port, s.port)))
    # The next run follows the stored policy and says so.
    expiry = int(_policies(cfg).split()[2])
    with Tmux(f, width=WIDTH) as t:
        c = tt.natter(t, cfg, "carol", s.port, "-j", "lobby")
        tt.joined(c, "carol", "#lobby")
        c.keys("M-1")
        c.wait(row("Using TLS on 127.0.0.1 port %d instead of %d (sts "
                   "policy until %s)" % (s.tls_port, s.port,
                                         _until(expiry))))


def test_tui_link_sts_port_refused(f):
    """A policy sends natter to a port where nothing listens now: it
    says so and names --no-tls, and still tries again."""
    s = Server(f)
    cfg = tt.Config(f)
    dead = harness.free_port()
    wide = 240                  # the sentence on one row
    os.makedirs(cfg.dir, mode=0o700, exist_ok=True)
    expiry = int(time.time()) + 1000
    with open(os.path.join(cfg.dir, "sts_policies"), "w") as out:
        out.write("127.0.0.1 %d %d\n" % (dead, expiry))
    with Tmux(f, width=wide) as t:
        a = tt.natter(t, cfg, "alice", s.port)
        a.wait(row("Using TLS on 127.0.0.1 port %d instead of %d (sts "
                   "policy until %s)" % (dead, s.port, _until(expiry))),
               timeout=10)
        refused = ("127.0.0.1 port %d refused the connection; its sts "
                   "policy (until %s) asks for TLS there. natter "
                   "127.0.0.1:%d --no-tls connects in plain text."
                   % (dead, _until(expiry), s.port))
        a.wait(row(refused + " Reconnecting in 1 s\u2026"), timeout=10)
        a.wait(row(refused + " Reconnecting in 2 s\u2026"), timeout=10)
    # --no-tls, as it says, connects.
    with Tmux(f, width=wide) as t:
        a = tt.natter(t, cfg, "alice", s.port, "--no-tls")
        a.wait(rx(STAMP + r" Welcome to the natter IRC network .*"),
               timeout=10)


def _sts_setup(f):
    tt.need_tls(f)
    crt, key, fp = tt.gen_cert(f)
    s = tt.tls_server(f, crt, key)
    bob = s.user("bob")
    bob.join("#lobby")
    return s, fp, bob


def _pin(cfg, port, fp):
    os.makedirs(cfg.dir, mode=0o700, exist_ok=True)
    with open(cfg.pins, "a") as out:
        out.write("127.0.0.1:%d SHA256:%s\n" % (port, fp))


def _policies(cfg):
    with open(os.path.join(cfg.dir, "sts_policies")) as fp:
        return fp.read()


def _until(expiry):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(expiry))


def test_tui_link_ping_timeout_flag(f):
    """--ping-timeout in --help, natter.1 and the README; a bad value is
    one line and the usage, exit 2."""
    import subprocess
    from tmuxlib import NATTER, ROOT
    cp = subprocess.run([NATTER, "--help"], capture_output=True, text=True,
                        stdin=subprocess.DEVNULL, timeout=scaled(10))
    assert cp.returncode == 0 and "--ping-timeout SEC" in cp.stdout, cp
    with open(os.path.join(ROOT, "man", "natter.1")) as fp:
        assert ".It Fl \\-ping-timeout Ar sec" in fp.read()
    with open(os.path.join(ROOT, "README.md")) as fp:
        assert "| `--ping-timeout SEC` |" in fp.read()
    for bad in ("0", "3601", "x", "", "-5", "10s"):
        cp = subprocess.run([NATTER, "--ping-timeout", bad],
                            capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=scaled(10))
        assert cp.returncode == 2, (bad, cp)
        lines = cp.stderr.splitlines()
        assert lines[0] == ("natter: --ping-timeout %s: not a number of "
                            "seconds from 1 to 3600" % bad), cp.stderr
        assert lines[1].startswith("usage: natter"), cp.stderr
        assert cp.stdout == "", cp
