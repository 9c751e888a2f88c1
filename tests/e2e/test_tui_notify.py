"""natter's notifications (issue 12, section 8), /set, and the small
things of section 9: refusing a pipe, `make run`'s own database, the
man pages' command entries and natterd.8's ENVIRONMENT, and the
README's capability list.

The notification tests read the exact bytes natter writes to its pty:
the pane's output is copied to a file with `tmux pipe-pane -O`, opened
before natter starts (the pane's shell waits for a go file)."""

import os
import pty
import re
import shlex
import subprocess
import time

from harness import Server, rx, scaled
from tmuxlib import NATTER, ROOT, STAMP, Ngircd, Tmux, need_natter

BEL = b"\x07"
TITLE_0 = b"\x1b]2;natter\x07"


def title(n):
    return b"\x1b]2;natter (%d)\x07" % n


def osc777(title_text, body):
    return b"\x1b]777;notify;%s;%s\x07" % (title_text.encode(),
                                           body.encode())


def osc9(text):
    return b"\x1b]9;%s\x07" % text.encode()


def tmux_wrap(seq):
    return b"\x1bPtmux;" + seq.replace(b"\x1b", b"\x1b\x1b") + b"\x1b\\"


class Captured:
    """natter in tmux with its output stream in a file."""

    def __init__(self, f, t, nick, port, *args, tmux_env=False):
        self.path = f.path("%s.out" % nick)
        go = f.path("%s.go" % nick)
        argv = [NATTER, "-n", nick, *args, "127.0.0.1:%s" % port]
        # tmux sets TMUX in the pane; without tmux_env natter must not
        # see it (a terminal reached straight through SSH).
        cmd = ("while [ ! -e %s ]; do sleep 0.02; done; exec %s%s"
               % (shlex.quote(go), "" if tmux_env else "env -u TMUX ",
                  " ".join(shlex.quote(a) for a in argv)))
        self.pane = t.start(nick, cmd)
        t.run("pipe-pane", "-O", "-t", nick,
              "cat >> %s" % shlex.quote(self.path))
        open(go, "w").close()
        self.mark = 0

    def data(self):
        try:
            with open(self.path, "rb") as fp:
                return fp.read()
        except OSError:
            return b""

    def since(self):
        return self.data()[self.mark:]

    def wait(self, want, timeout=5):
        """Polls until the bytes since the mark hold want (bytes, in
        that order when a list); returns them."""
        wants = want if isinstance(want, list) else [want]
        deadline = time.monotonic() + scaled(timeout)
        delay = 0.02
        while True:
            got = self.since()
            pos = 0
            for w in wants:
                i = got.find(w, pos)
                if i < 0:
                    break
                pos = i + len(w)
            else:
                return got
            if time.monotonic() > deadline:
                raise AssertionError("never wrote %r; wrote since the "
                                     "mark:\n%r" % (wants, got[-3000:]))
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def set_mark(self):
        self.mark = len(self.data())


def joined(pane, nick, room):
    return pane.wait(rx(STAMP + r" %s \(%s@127\.0\.0\.1\) has joined %s",
                        nick, nick, room), timeout=10)


def test_tui_notify_mention_out_of_view(f):
    """A mention in a room not in view: BEL, OSC 777 with the nick and
    room, the title counting it; the count goes back to "natter" once
    the window is shown; a mention in view (and focused) is silent."""
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")
    carol = s.user("carol")
    with Tmux(f) as t:
        a = Captured(f, t, "alice", s.port, "-j", "lobby")
        joined(a.pane, "alice", "#lobby")
        a.wait(TITLE_0)
        a.pane.line("/join side")
        joined(a.pane, "alice", "#side")
        a.set_mark()
        bob.send("PRIVMSG #lobby :alice: \x02look\x02 here\x07")
        got = a.wait([BEL + osc777("natter: bob in #lobby",
                                   "alice: look here"), title(1)])
        assert got.count(b"\x1b]777;") == 1, got
        assert re.fullmatch(r"\[%s\] \[alice\] \[3:#side\] \[Act: 2\*\]"
                            % STAMP, a.pane.wait_status("Act: 2*")
                            and a.pane.status()), a.pane.status()
        # Shown: the count goes away.
        a.set_mark()
        a.pane.keys("M-2")
        a.wait(TITLE_0)
        # In view and focused: no bell, no notification, no count.  A
        # private message after it is the fence: its bytes come after
        # anything the mention would have written.
        a.set_mark()
        bob.send("PRIVMSG #lobby :alice: in view")
        a.pane.wait(rx(STAMP + r" <@bob> alice: in view"))
        carol.send("PRIVMSG alice :psst")
        got = a.wait([BEL + osc777("natter: carol (private)", "psst"),
                      title(1)])
        fence = got.index(BEL + b"\x1b]777;")
        assert BEL not in got[:fence], got
        assert b"\x1b]2;" not in got[:fence], got


def test_tui_notify_tmux_osc9_and_set(f):
    """/set notify bell,osc9 under tmux ($TMUX set): BEL and an OSC 9
    wrapped for tmux's passthrough, no OSC 777, and the title is given
    back.  /set lists, shows one, and refuses bad names and values."""
    s = Server(f)
    bob = s.user("bob")
    with Tmux(f) as t:
        a = Captured(f, t, "alice", s.port, "-j", "lobby", tmux_env=True)
        joined(a.pane, "alice", "#lobby")
        a.wait(TITLE_0)
        a.pane.line("/set")
        a.pane.wait(rx(STAMP + r" notify = bell,osc777,title"))
        a.pane.wait(rx(STAMP + r" nicklist = auto"))
        a.pane.wait(rx(STAMP + r" prefixes = on"))
        a.pane.line("/set colour on")
        a.pane.wait(rx(STAMP + r" /set: no setting colour \(there are "
                       r"notify, nicklist, prefixes\)"))
        a.pane.line("/set notify bell,beep")
        a.pane.wait(rx(STAMP + r" /set notify bell,beep: use a list of "
                       r"bell, osc777, osc9, title, or none"))
        a.set_mark()
        a.pane.line("/set notify bell,osc9")
        a.pane.wait(rx(STAMP + r" notify = bell,osc9"))
        # The title goes back to the user's (xterm's title stack).
        a.wait(b"\x1b]2;\x07\x1b[23;0t")
        a.set_mark()
        bob.send("PRIVMSG alice :psst \x1b]2;pwned\x07")
        got = a.wait(BEL + tmux_wrap(osc9("natter: bob (private): psst "
                                          "]2;pwned")))
        a.pane.wait_status(re.compile(r" \[Act: 3\*\]$"))
        assert b"\x1b]777" not in got and b"777;notify" not in got, got
        assert b"\x1b]2;natter" not in got, got
        a.pane.line("/set notify")
        a.pane.wait(lambda rows: sum(bool(re.fullmatch(
            STAMP + r" notify = bell,osc9", r)) for r in rows) == 2)


def test_tui_notify_focus_out(f):
    """Focus reporting: natter asks for it (ESC[?1004h); after a
    focus-out (ESC[O) a mention in the window in view notifies; a
    focus-in (ESC[I) marks it read.  --notify title: no bell, no OSC."""
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")
    with Tmux(f) as t:
        a = Captured(f, t, "alice", s.port, "-j", "lobby")
        joined(a.pane, "alice", "#lobby")
        a.wait([b"\x1b[?1004h", TITLE_0])
        t.run("send-keys", "-t", "alice", "-H", "1b", "5b", "4f")
        # The focus-out is applied before the next key: a typed
        # character shown on the input line says it was read.
        a.pane.type("x")
        a.pane.wait(lambda rows: rows[-1] == "x")
        a.pane.keys("BSpace")
        a.set_mark()
        bob.send("PRIVMSG #lobby :are you there, alice?")
        a.wait([BEL + osc777("natter: bob in #lobby",
                             "are you there, alice?"), title(1)])
        a.set_mark()
        t.run("send-keys", "-t", "alice", "-H", "1b", "5b", "49")
        a.wait(TITLE_0)
        # Nothing of the focus reports reached the input line.
        a.pane.type("y")
        a.pane.wait(lambda rows: rows[-1] == "y")
        a.pane.keys("BSpace")
    with Tmux(f) as t:
        a = Captured(f, t, "alice2", s.port, "-j", "lobby", "--notify",
                     "title")
        joined(a.pane, "alice2", "#lobby")
        a.set_mark()
        bob.send("PRIVMSG alice2 :hello")
        got = a.wait(title(1))
        assert BEL not in got.replace(title(1), b""), got


def test_tui_notify_ngircd(f):
    """Against a stock ngIRCd (no echo-message, no server-time): a
    private message out of view notifies with the same bytes."""
    n = Ngircd(f)
    bob = n.client("bob")
    with Tmux(f) as t:
        a = Captured(f, t, "alice", n.port, "-j", "lobby")
        a.pane.wait(rx(STAMP + r" alice \(~alice@127\.0\.0\.1\) has joined "
                       r"#lobby"), timeout=10)
        a.set_mark()
        bob.send("PRIVMSG alice :\x0304hi\x03 from ngircd")
        a.wait([BEL + osc777("natter: bob (private)", "hi from ngircd"),
                title(1)])
        a.pane.line("/win 3")
        a.pane.wait(rx(STAMP + r" <bob> hi from ngircd"))
        a.wait(TITLE_0)


def test_tui_notify_exit_restores(f):
    """At exit natter turns focus reporting off and gives the title
    back."""
    s = Server(f)
    with Tmux(f) as t:
        a = Captured(f, t, "alice", s.port)
        a.wait(TITLE_0)
        a.set_mark()
        a.pane.line("/quit")
        a.wait([b"\x1b]2;\x07\x1b[23;0t", b"\x1b[?1004l"])


def test_tui_notify_flag_errors(f):
    need_natter(f)
    for bad in ("bel", "", "bell,", "none,bell"):
        cp = subprocess.run([NATTER, "--notify", bad], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL,
                            timeout=scaled(10))
        lines = cp.stderr.splitlines()
        assert cp.returncode == 2 and cp.stdout == "", (bad, cp)
        assert lines[0] == ("natter: --notify %s: not a comma list of "
                            "bell, osc777, osc9, title, or none" % bad), cp
        assert lines[1].startswith("usage: natter"), cp
    cp = subprocess.run([NATTER, "--help"], capture_output=True, text=True,
                        stdin=subprocess.DEVNULL, timeout=scaled(10))
    assert "      --notify LIST     how a mention" in cp.stdout, cp.stdout


# --- section 9 ---

def test_tui_refuses_pipes(f):
    """stdin or stdout not a terminal: one line, exit 1, no escape
    codes; --help and --version still work in a pipe."""
    need_natter(f)
    cp = subprocess.run([NATTER, "127.0.0.1:1"], capture_output=True,
                        stdin=subprocess.DEVNULL, timeout=scaled(10))
    assert (cp.returncode, cp.stdout, cp.stderr) == (
        1, b"", b"natter: standard input is not a terminal\n"), cp
    master, slave = pty.openpty()
    try:
        cp = subprocess.run([NATTER, "127.0.0.1:1"], capture_output=True,
                            stdin=slave, timeout=scaled(10))
    finally:
        os.close(slave)
        os.close(master)
    assert (cp.returncode, cp.stdout, cp.stderr) == (
        1, b"", b"natter: standard output is not a terminal\n"), cp
    cp = subprocess.run([NATTER, "-V"], capture_output=True,
                        stdin=subprocess.DEVNULL, timeout=scaled(10))
    assert (cp.returncode, cp.stdout) == (0, b"natter-0.1.0\n"), cp


def test_tui_make_run_own_database(f):
    """scripts/run.sh keeps its history in build/run/, never in the
    user's natterd database ($XDG_STATE_HOME/natterd), takes no Unix
    socket of the user's, and natter talks to the port it printed."""
    need_natter(f)
    home = f.path("home")
    state = os.path.join(home, "state")
    runtime = os.path.join(home, "run")
    os.makedirs(runtime, mode=0o700)
    # The demo's own database goes (it holds only demo chatter), so
    # that the one found below is this run's.
    db = os.path.join(ROOT, "build", "run", "history.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    with Tmux(f) as t:
        env = "HOME=%s XDG_STATE_HOME=%s XDG_RUNTIME_DIR=%s" % (
            shlex.quote(home), shlex.quote(state), shlex.quote(runtime))
        p = t.start("run", "cd %s && exec env %s sh scripts/run.sh -n "
                    "runner" % (shlex.quote(ROOT), env))
        p.wait(rx(STAMP + r" runner \(runner@127\.0\.0\.1\) has joined "
                  r"#lobby"), timeout=15)
        p.wait_status("[2:#lobby]")
        assert os.path.exists(db), db
        assert not os.path.exists(os.path.join(state, "natterd")), \
            os.listdir(state)
        assert not os.path.exists(os.path.join(runtime, "natterd")), \
            os.listdir(runtime)
        p.line("/quit")
        p.wait(lambda rows: t.run("display", "-p", "-t", "run",
                                  "#{pane_dead}").strip() == "1",
               timeout=10)


# --- docs ---

def _cmd_names():
    """Commands and aliases from tui/cmd.c's tables."""
    with open(os.path.join(ROOT, "tui", "cmd.c")) as fp:
        src = fp.read()
    names = re.search(r"cmd_names\[\] = \{(.*?)\};", src, re.S).group(1)
    cmds = set(re.findall(r'"([a-z]+)"', names))
    aliases = re.search(r"\} aliases\[\] = \{(.*?)\n\};", src, re.S).group(1)
    cmds |= set(re.findall(r'\{ "([a-z]+)", "[a-z]+" \}', aliases))
    return cmds


def test_tui_man_commands(f):
    """natter.1 has an entry for every command and alias natter takes
    (and /reconnect, /list, /motd); natterd.8 names natter(1) and every
    variable natterd reads."""
    with open(os.path.join(ROOT, "man", "natter.1")) as fp:
        man = fp.read()
    entries = set(re.findall(r"^\.It Ic /(\S+)", man, re.M))
    want = _cmd_names() | {"reconnect", "list", "motd", "set", "raw", "j",
                           "q", "back"}
    assert not want - entries, sorted(want - entries)
    with open(os.path.join(ROOT, "man", "natterd.8")) as fp:
        man8 = fp.read()
    assert re.search(r"^\.Sh SEE ALSO\n(.*\n)*?\.Xr natter 1", man8, re.M), \
        "natterd.8: no .Xr natter 1 in SEE ALSO"
    env = man8.split("\n.Sh ENVIRONMENT\n", 1)
    assert len(env) == 2, "natterd.8 has no ENVIRONMENT section"
    env = env[1].split("\n.Sh ", 1)[0]
    read = set()
    for name in os.listdir(os.path.join(ROOT, "server")):
        if name.endswith(".c"):
            with open(os.path.join(ROOT, "server", name)) as fp:
                read |= set(re.findall(r'getenv\("([A-Z_]+)"\)', fp.read()))
    documented = set(re.findall(r"^\.It Ev (\S+)", env, re.M))
    assert read and read <= documented, sorted(read - documented)


def test_readme_caps_match_cap_ls(f):
    """README.md's capability list is what natterd offers in CAP LS 302
    (default flags; sts only with TLS)."""
    with open(os.path.join(ROOT, "README.md")) as fp:
        readme = fp.read()
    m = re.search(r"Capabilities offered with `CAP LS 302` by default: "
                  r"(.*?)\.\s", readme, re.S)
    assert m, "README.md: no capability list"
    text = re.sub(r"\([^)]*\)", "", m.group(1))
    listed = {w.strip().strip("`") for w in
              re.split(r",|\band\b", text.replace("\n", " ")) if w.strip()}
    s = Server(f)
    c = s.client("caps")
    c.send("CAP LS 302")
    lines = c.read_until(rx(r":irc\.test CAP \* LS :.*"))
    offered = set()
    for line in lines:
        mm = re.fullmatch(r":irc\.test CAP \* LS (?:\* )?:(.*)", line)
        if mm:
            offered |= {w.split("=", 1)[0] for w in mm.group(1).split()}
    assert listed == offered, ("README only: %s; CAP LS only: %s"
                               % (sorted(listed - offered),
                                  sorted(offered - listed)))
