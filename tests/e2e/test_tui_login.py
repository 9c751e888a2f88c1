"""natter and the local socket and logins, in tmux: with no host natter
tries natterd's Unix socket first and falls back to TCP, saying which it
used; --sasl-user logs in with SASL PLAIN (password from a file or a
prompt whose typing is hidden), the status bar shows the account, and a
failed login stops the reconnect loop with the server's reason; /identify
never shows its password; /register and /identify log in to natterd.

The test_tui_sasl_* tests talk to a scripted fake IRC server (FakeIrc
below) that answers with the exact lines of the IRCv3 sasl spec, so the
client is checked against the spec itself; the tests named
*_real_server log in to a real natterd."""

import base64
import os
import re
import shlex
import socket
import threading
import time

import harness
from harness import rx, Server, scaled
from tmuxlib import NATTER, Tmux, FixedPortServer

ENV_CLEAN = ("NATTER_SOCKET", "NATTER_PASSWORD", "XDG_RUNTIME_DIR")


def natter_cmd(f, *args, env=None):
    """A shell command running natter with a clean environment for the
    socket and password (plus env), HOME in the test folder."""
    home = f.path("home")
    os.makedirs(home, exist_ok=True)
    pre = ["env"] + ["-u%s" % k for k in ENV_CLEAN] + \
        ["HOME=" + home, "XDG_CONFIG_HOME=" + home]
    for k, v in (env or {}).items():
        pre.append("%s=%s" % (k, v))
    return "exec " + " ".join(shlex.quote(str(a)) for a in
                              pre + [NATTER] + list(args))


def row(text):
    return re.compile(r"\d\d:\d\d %s" % re.escape(text))


def test_tui_socket_first(f):
    path = os.path.join(f.path("run"), "natterd.sock")
    s = Server(f, "--unix", path, "--db", "off")
    bob = s.user("bob")
    bob.join("#r")
    with Tmux(f) as t:
        a = t.start("alice", natter_cmd(f, "-n", "alice", "--socket",
                                        path))
        a.wait(row("Connected to %s" % path))
        a.line("/join #r")
        bob.expect(":alice!root@localhost JOIN #r")
        a.line("hi over the socket")
        bob.expect(":alice!root@localhost PRIVMSG #r :hi over the socket")
        # $NATTER_SOCKET does the same without the flag.  The same Unix
        # user in a second terminal is the same person: another device
        # of alice (account root), already in #r; bob sees no JOIN.
        c = t.start("carol", natter_cmd(f, "-n", "carol",
                                        env={"NATTER_SOCKET": path}))
        c.wait_status("[alice] [account root]")
        c.wait(row("Nicks on #r (2): alice @bob"))
        c.line("from the second terminal")
        bob.expect(":alice!root@localhost PRIVMSG #r :from the second "
                   "terminal")
        a.wait(re.compile(r"\d\d:\d\d .*alice.* from the second terminal"))
        bob.no_line(rx(r".* JOIN .*"), sync=True)


def test_tui_socket_falls_back_to_tcp(f):
    # No socket there: natter says so by using 127.0.0.1:6667.
    missing = os.path.join(f.path("none"), "natterd.sock")
    s = FixedPortServer(f, 6667, "--db", "off")
    bob = s.user("bob")
    bob.join("#r")
    with Tmux(f) as t:
        a = t.start("alice", natter_cmd(f, "-n", "alice", "--socket",
                                        missing))
        a.wait(row("Connected to 127.0.0.1:6667"))
        assert not any(("Connected to %s" % missing) in r for r in a.lines())
        a.line("/join #r")
        bob.expect(":alice!alice@127.0.0.1 JOIN #r")


class FakeIrc:
    """A scripted IRC server on a free loopback port: speaks CAP and
    SASL as the spec says, logs in alice/sesame, and answers a wrong
    password with 904.  Records every line it received and counts
    connections."""

    def __init__(self, f, mechs="PLAIN,EXTERNAL", ok=("alice", "sesame")):
        self.f = f
        self.mechs = mechs
        self.ok = ok
        self.received = []
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind((harness.HOST, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        buf = b""
        nick = "*"

        def send(line):
            c.sendall((line + "\r\n").encode())
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.rstrip(b"\r").decode()
                    with self.lock:
                        self.received.append(line)
                    w = line.split(" ")
                    if w[0] == "NICK":
                        nick = w[1]
                    elif line == "CAP LS 302":
                        send(":fake.test CAP * LS :server-time sasl=%s"
                             % self.mechs)
                    elif w[0] == "CAP" and w[1] == "REQ":
                        send(":fake.test CAP %s ACK %s" % (nick, line[8:]))
                    elif line == "AUTHENTICATE PLAIN":
                        send("AUTHENTICATE +")
                    elif w[0] == "AUTHENTICATE":
                        got = base64.b64decode(w[1]).split(b"\0")
                        if got[1:] == [x.encode() for x in self.ok]:
                            send(":fake.test 900 %s %s!u@h %s :You are now "
                                 "logged in as %s" % (nick, nick, got[1]
                                                      .decode(),
                                                      got[1].decode()))
                            send(":fake.test 903 %s :SASL authentication "
                                 "successful" % nick)
                        else:
                            send(":fake.test 904 %s :SASL authentication "
                                 "failed" % nick)
                    elif line == "CAP END":
                        send(":fake.test 001 %s :Welcome %s" % (nick, nick))
                        send(":fake.test 376 %s :End of MOTD" % nick)
                    elif w[0] == "PING":
                        send(":fake.test PONG fake.test :%s" % w[-1])
                    elif w[0] == "QUIT":
                        send("ERROR :Closing Link")
                        return
        except OSError:
            return
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.sock.close()


def test_tui_sasl_plain_shows_account(f):
    fake = FakeIrc(f)
    pw = f.write_file("pw", "sesame\n")
    try:
        with Tmux(f) as t:
            a = t.start("alice", natter_cmd(
                f, "-n", "alice", "--sasl-user", "alice",
                "--sasl-password-file", pw, "127.0.0.1:%d" % fake.port))
            a.wait(row("SASL authentication successful"))
            a.wait_status("[account alice]")
            a.wait(row("Welcome alice"))
            assert "sesame" not in a.text()
    finally:
        fake.close()
    got = fake.received
    # CAP END only after the login, which came after the ACK.
    assert got.index("CAP END") > got.index("AUTHENTICATE PLAIN"), got
    assert "AUTHENTICATE %s" % base64.b64encode(
        b"alice\0alice\0sesame").decode() in got, got


def _account(s, name, password):
    o = s.user(s.f.unique("op"))
    o.send("OPER admin secret")
    o.expect(":irc.test 381 %s :You are now an IRC operator" % o.nick)
    o.send("ACCOUNT CREATE %s %s" % (name, password))
    o.expect(":irc.test NOTICE %s :ACCOUNT: created %s" % (o.nick, name))


def test_tui_sasl_plain_real_server(f):
    # The same against natterd itself: its account, its SASL PLAIN.
    s = Server(f, "--db", "off", "--oper", "admin:secret")
    _account(s, "alice", "sesame-sesame")
    pw = f.write_file("pw", "sesame-sesame\n")
    with Tmux(f) as t:
        a = t.start("alice", natter_cmd(
            f, "-n", "alice", "--sasl-user", "alice",
            "--sasl-password-file", pw, "127.0.0.1:%d" % s.port))
        a.wait(row("SASL authentication successful"))
        a.wait_status("[account alice]")
        assert "sesame" not in a.text()
    assert "logged in as alice (PLAIN)" in s.log_text(), s.log_text()


def test_tui_sasl_failure_real_server(f):
    s = Server(f, "--db", "off", "--oper", "admin:secret")
    _account(s, "alice", "right-password")
    with Tmux(f) as t:
        a = t.start("alice", natter_cmd(
            f, "-n", "alice", "--sasl-user", "alice", "127.0.0.1:%d"
            % s.port, env={"NATTER_PASSWORD": "wrong-password"}))
        a.wait(row("Login failed: SASL authentication failed"))
        a.wait(row("Not connecting to 127.0.0.1:%d again; /quit leaves."
                    % s.port))
        time.sleep(scaled(2.5))
        # One attempt, no reconnect loop.
        assert s.log_text().count("login failed: account alice") == 1, \
            s.log_text()
        assert "wrong-password" not in a.text()
        assert "wrong-password" not in s.log_text()


def test_tui_sasl_prompt_hides_typing(f):
    fake = FakeIrc(f)
    try:
        with Tmux(f) as t:
            a = t.start("alice", natter_cmd(
                f, "-n", "alice", "--sasl-user", "alice",
                "127.0.0.1:%d" % fake.port))
            a.wait(row("Password for account alice (typing is hidden):"))
            assert fake.connections == 0    # not before the password
            a.type("sesame")
            rows = a.wait(lambda rows: rows[-1].startswith("******"))
            assert "sesame" not in "\n".join(rows)
            a.keys("Enter")
            a.wait_status("[account alice]")
            # Not in the input history either.
            a.keys("Up")
            time.sleep(scaled(0.3))
            assert "sesame" not in a.text(), a.text()
    finally:
        fake.close()


def test_tui_sasl_failure_stops_reconnecting(f):
    fake = FakeIrc(f, ok=("alice", "right"))
    try:
        with Tmux(f) as t:
            a = t.start("alice", natter_cmd(
                f, "-n", "alice", "--sasl-user", "alice", "127.0.0.1:%d"
                % fake.port, env={"NATTER_PASSWORD": "wrong"}))
            a.wait(row("Login failed: SASL authentication failed"))
            a.wait(row("Not connecting to 127.0.0.1:%d again; /quit leaves."
                        % fake.port))
            # No retry after the 1 s backoff it would have taken.
            time.sleep(scaled(2.5))
            assert fake.connections == 1, fake.connections
            assert "CAP END" not in fake.received
            assert "wrong" not in a.text()
    finally:
        fake.close()


def test_tui_sasl_mechanism_missing(f):
    # The server offers only SCRAM: natter does not try, and says why.
    fake = FakeIrc(f, mechs="SCRAM-SHA-256")
    pw = f.write_file("pw", "sesame\n")
    try:
        with Tmux(f, width=120) as t:
            a = t.start("alice", natter_cmd(
                f, "-n", "alice", "--sasl-user", "alice",
                "--sasl-password-file", pw, "127.0.0.1:%d" % fake.port))
            a.wait(row("Login failed: the server offers SASL SCRAM-SHA-256,"
                       " not PLAIN"))
            assert not any(l.startswith("AUTHENTICATE")
                           for l in fake.received), fake.received
    finally:
        fake.close()


def test_tui_identify_never_shown(f):
    s = Server(f, "--db", "off")
    with Tmux(f) as t:
        a = t.start("alice", natter_cmd(f, "-n", "alice",
                                        "127.0.0.1:%d" % s.port))
        a.wait(row("Connected to 127.0.0.1:%d" % s.port))
        # Registered, so the lines below are not answered with 451.
        a.wait(row("Welcome to the natter IRC network alice!alice@127.0.0.1"))
        a.line("/identify sesame")
        a.line("/register sesame2 a@example.org")
        # NickServ and REGISTER answer (no such account, too short a
        # password); the password never shows.
        a.wait(re.compile(r".*NickServ.*"))
        a.keys("Up")
        time.sleep(scaled(0.3))
        assert "sesame" not in a.text(), a.text()
        a.keys("Up")
        time.sleep(scaled(0.2))
        assert "sesame" not in a.text(), a.text()


def test_tui_register_and_identify_real_server(f):
    # /register (IRCv3 REGISTER) and /identify (NickServ) against
    # natterd: the status bar shows the account each time.
    s = Server(f, "--db", "off", "--argon2-memory", "64", "--argon2-time",
               "1", "--scram-iterations", "4096")
    with Tmux(f) as t:
        a = t.start("alice", natter_cmd(f, "-n", "alice",
                                        "127.0.0.1:%d" % s.port))
        a.wait(row("Welcome to the natter IRC network alice!alice@127.0.0.1"))
        a.line("/register sesame-sesame")
        a.wait_status("[account alice]")
        assert "sesame" not in a.text(), a.text()
        b = t.start("bob", natter_cmd(f, "-n", "bob",
                                      "127.0.0.1:%d" % s.port))
        b.wait(row("Welcome to the natter IRC network bob!bob@127.0.0.1"))
        b.line("/identify alice sesame-sesame")
        b.wait_status("[account alice]")
        assert "sesame" not in b.text(), b.text()
    log = s.log_text()
    assert "registered account alice (REGISTER)" in log, log
    assert "(bob) logged in as alice (NickServ)" in log, log


def test_tui_login_flag_errors(f):
    import subprocess
    for bad in (["--socket", "relative.sock"], ["--socket", "/x/s", "h"],
                ["--socket", "/x/s", "-p", "7000"],
                ["--socket", "/x/s", "--tls"],
                ["--sasl-password-file", "/dev/null"],
                ["--sasl-user", ""], ["--sasl-user"]):
        cp = subprocess.run([NATTER, *bad], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=scaled(10))
        assert cp.returncode == 2, (bad, cp)
        assert cp.stderr.splitlines()[-2].startswith("usage: natter"), \
            (bad, cp.stderr)
    # A password file with no password: one line, exit 1.
    empty = f.write_file("empty", "")
    cp = subprocess.run([NATTER, "--sasl-user", "a", "--sasl-password-file",
                         empty], capture_output=True, text=True,
                        stdin=subprocess.DEVNULL, timeout=scaled(10))
    assert cp.returncode == 1 and "no password" in cp.stderr, cp
    cp = subprocess.run([NATTER, "--help"], capture_output=True, text=True)
    for flag in ("--socket PATH", "--sasl-user NAME",
                 "--sasl-password-file FILE"):
        assert flag in cp.stdout, flag
