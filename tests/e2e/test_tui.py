"""The natter client, end to end: natter runs in tmux (80x24,
TERM=xterm-256color, LANG=C.UTF-8) against a real natterd (and once
against ngircd); tests type with send-keys and read capture-pane."""

import os
import re
import subprocess
import time

from harness import FULL_SPEED, Server, prefix, rx, scaled, timeout
from tmuxlib import (NATTER, STAMP, FixedPortServer, Ngircd, Tmux,
                     cpu_seconds, need_natter, width)

ANY = re.compile(".*")


def msg_row(nick, text):
    """A message row exactly: "HH:MM <nick> text"."""
    return re.compile(r"%s <%s> %s" % (STAMP, re.escape(nick),
                                       re.escape(text)))


def joined(t, pane, nick, room):
    """Waits until pane shows its own join of room."""
    return pane.wait(rx(STAMP + r" %s \(%s@127\.0\.0\.1\) has joined %s",
                        nick, nick, room), timeout=10)


def raw_in_room(s, nick, room):
    c = s.user(nick)
    c.join(room)
    return c


# --- chat ---

def test_tui_two_clients_chat(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        b = t.natter("bob", s.port, "-j", "#lobby")
        joined(t, b, "bob", "#lobby")
        a.wait(rx(STAMP + r" bob \(bob@127\.0\.0\.1\) has joined #lobby"))
        a.line("hello bob")
        b.wait(msg_row("@alice", "hello bob"))
        a.wait(msg_row("@alice", "hello bob"))       # our own echo
        b.line("hi alice, how are you")
        a.wait(msg_row("bob", "hi alice, how are you"))
        # The screen: title, messages, status line, input line.
        rows = a.lines()
        assert rows[0] == "#lobby", rows[0]
        assert re.fullmatch(r"\[%s\] \[alice\] \[2:#lobby\]" % STAMP,
                            a.status()), a.status()
        assert a.cursor() == (0, 23)
        body = [r for r in rows[1:22] if r]
        assert re.fullmatch(STAMP + r" <@alice> hello bob", body[-2]), body
        assert re.fullmatch(STAMP + r" <bob> hi alice, how are you",
                            body[-1]), body


def test_tui_paste_sends_lines_in_order(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        a.type("first line\nsecond line\nthird line\n")
        for text in ("first line", "second line", "third line"):
            bob.expect(":%s PRIVMSG #lobby :%s" % (prefix("alice"), text))
        a.wait(msg_row("alice", "third line"))


def test_tui_long_line_wraps_under_text(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        words = " ".join("word%02d" % i for i in range(20))
        bob.send("PRIVMSG #lobby :" + words)
        indent = len("00:00 <@bob> ")

        # A capture may land between the first row and the rest of a
        # redraw: wait for the whole message, then check its shape.
        def whole(rows):
            k = [k for k, r in enumerate(rows)
                 if re.fullmatch(STAMP + r" <@bob> word00 .*", r)]
            return k and " ".join(r.strip() for r in rows[k[0]:k[0] + 3]
                                  if r.strip()).endswith(words)
        whole.__doc__ = "the whole wrapped message"
        rows = a.wait(whole)
        i = [k for k, r in enumerate(rows)
             if re.fullmatch(STAMP + r" <@bob> word00 .*", r)][0]
        assert rows[i + 1].startswith(" " * indent + "word"), rows[i:i + 3]
        joined_text = " ".join(r.strip() for r in rows[i:i + 3]
                               if r.strip())
        assert joined_text.endswith(words), rows[i:i + 3]
        assert all(len(r) <= 80 for r in rows)


# --- windows ---

def test_tui_switch_windows(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby,7")
        a.wait_status("[3:#7]", timeout=10)
        a.keys("M-1")
        a.wait_status("[1:status]")
        assert a.lines()[0].startswith("natter-0.1.0 - 127.0.0.1:%d"
                                       % s.port), a.lines()[0]
        a.keys("M-2")
        a.wait_status("[2:#lobby]")
        assert a.lines()[0] == "#lobby"
        a.keys("C-n")
        a.wait_status("[3:#7]")
        a.keys("C-n")
        a.wait_status("[1:status]")
        a.keys("C-p")
        a.wait_status("[3:#7]")
        a.keys("M-Left")
        a.wait_status("[2:#lobby]")
        a.keys("M-Right")
        a.wait_status("[3:#7]")
        a.line("/win 2")
        a.wait_status("[2:#lobby]")
        a.line("/win 9")
        a.wait(rx(STAMP + r" No window 9 .*"))


def test_tui_private_message_opens_window(f):
    s = Server(f)
    bob = s.user("bob")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.send("PRIVMSG alice :psst, alice")
        a.wait_status(rx(r"\[Act: 3\*\]"))
        a.keys("M-3")
        a.wait(msg_row("bob", "psst, alice"))
        assert a.lines()[0] == "Query: bob"
        assert "[3:bob]" in a.status()
        a.line("hi there")
        bob.expect(":%s PRIVMSG bob :hi there" % prefix("alice"))
        a.wait(msg_row("alice", "hi there"))
        # /msg from another window: no switch, the query gets the line.
        a.keys("M-2")
        a.wait_status("[2:#lobby]")
        a.line("/msg bob second")
        bob.expect(":%s PRIVMSG bob :second" % prefix("alice"))
        a.line("/query carol")
        a.wait_status("[4:carol]")
        a.line("/close")
        a.wait_status("[3:bob]")


def test_tui_highlight_marks_window(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    bob.join("#7")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby,7")
        a.wait_status("[3:#7]", timeout=10)
        bob.expect(rx(r":alice!\S+ JOIN :?#7"))
        bob.send("PRIVMSG #lobby :just chatting")
        a.wait_status(rx(r"\[Act: 2\]$"))
        bob.send("PRIVMSG #lobby :hey alice, look")
        a.wait_status(rx(r"\[Act: 2\*\]$"))
        a.keys("M-a")               # the next active window
        a.wait_status("[2:#lobby]")
        assert "Act" not in a.status()
        row = [r for r in a.lines(escapes=True) if "hey alice, look" in r]
        assert row, a.lines(escapes=True)
        # The highlighted nick is black on yellow; a plain one is not.
        assert re.search(r"<@\x1b\[30m\x1b\[43mbob", row[0]), repr(row[0])
        plain = [r for r in a.lines(escapes=True) if "just chatting" in r]
        assert "43m" not in plain[0], repr(plain[0])


def test_tui_monochrome_highlight_reverse(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "--no-color", "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send("PRIVMSG #lobby :alice: \x02bold\x02 \x0304red\x03 done")
        a.wait(msg_row("@bob", "alice: bold red done"))
        row = [r for r in a.lines(escapes=True) if "bold red" in r][0]
        assert re.search(r"<@\x1b\[7mbob", row), repr(row)
        # --no-color: mIRC formatting is not rendered, no colour at all.
        assert not re.search(r"\x1b\[(3[0-7]|4[0-7]|9\d|1)m", row), \
            repr(row)


# --- text ---

def test_tui_utf8_round_trip_and_columns(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    text = "héllo 日本語 🙂"
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        a.type(text)
        assert a.cursor() == (width(text), 23) or \
            a.wait(lambda rows: a.cursor() == (width(text), 23))
        a.keys("Enter")
        bob.expect(":%s PRIVMSG #lobby :%s" % (prefix("alice"), text))
        bob.send("PRIVMSG #lobby :%s|" % text)
        bob.send("PRIVMSG #lobby :%s|" % ("x" * width(text)))
        a.wait(msg_row("@bob", "x" * width(text) + "|"))
        rows = a.lines()
        assert any(msg_row("alice", text).fullmatch(r) for r in rows), rows
        wide = [r for r in rows if r.endswith(text + "|")][0]
        narrow = [r for r in rows if r.endswith("x|")][0]
        # The bars line up: wide characters take two columns each.
        assert width(wide) == width(narrow) == len(narrow), (wide, narrow)


def test_tui_resize_redraws(f):
    s = Server(f, *FULL_SPEED)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        for i in range(30):
            bob.send("PRIVMSG #lobby :line %02d %s" % (i, "abc " * (i % 20)))
        a.wait(rx(STAMP + r" <@bob> line 29 .*"))
        a.type("draft text")
        # The capture must not race the echo of the typing.
        a.wait(lambda rows: "draft text" in rows)
        before = a.lines()

        def layout_ok(w, h):
            rows = a.lines()
            rows += [""] * (h - len(rows))
            if len(rows) != h or any(width(r) > w for r in rows):
                return False
            if rows[0] != "#lobby" or rows[h - 1] != "draft text":
                return False
            if not re.fullmatch(r"\[%s\] \[alice\] \[2:#lobby\]" % STAMP,
                                rows[h - 2]):
                return False
            # Message rows: a stamped line or an indented continuation.
            for r in rows[1:h - 2]:
                if r and not re.fullmatch(STAMP + r" .*|\s{13}\S.*", r):
                    return False
            return re.fullmatch(STAMP + r" <@bob> line 29 .*|\s{13}\S.*",
                                [r for r in rows[1:h - 2] if r][-1]) \
                is not None
        t.run("resize-window", "-t", "alice", "-x", 60, "-y", 20)
        a.wait(lambda rows: a.size() == (60, 20) and layout_ok(60, 20))
        t.run("resize-window", "-t", "alice", "-x", 80, "-y", 24)
        a.wait(lambda rows: a.size() == (80, 24) and layout_ok(80, 24))

        def same(rows):
            """the screen from before the resize (the clock aside)"""
            clock = re.compile(r"^\[%s\]" % STAMP)
            return [clock.sub("[--:--]", r) for r in rows] == \
                [clock.sub("[--:--]", r) for r in before]
        a.wait(same)
        assert a.cursor() == (len("draft text"), 23)


def test_tui_scrollback(f):
    s = Server(f, *FULL_SPEED)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        for i in range(60):
            bob.send("PRIVMSG #lobby :scroll %02d" % i)
        a.wait(msg_row("@bob", "scroll 59"))
        a.keys("PPage")             # up by a page: 20 rows here
        rows = a.wait("-- more below (PgDn) --")
        assert rows[21] == "-- more below (PgDn) --", rows
        assert msg_row("@bob", "scroll 39").fullmatch(rows[20]), rows
        assert msg_row("@bob", "scroll 20").fullmatch(rows[1]), rows
        a.keys("PPage", "PPage", "PPage")       # clamped at the top
        rows = a.wait(msg_row("@bob", "scroll 00"))
        assert re.fullmatch(STAMP + r" alice \(.*\) has joined #lobby",
                            rows[1]), rows
        bob.send("PRIVMSG #lobby :while scrolled")
        # The view stayed put (43 lines up): three pages down.
        a.keys("NPage", "NPage")
        rows = a.wait(msg_row("@bob", "scroll 57"))
        assert "more below" in rows[21], rows
        a.keys("NPage")
        rows = a.wait(msg_row("@bob", "while scrolled"))
        assert not any("more below" in r for r in rows)


# --- keys and commands ---

def test_tui_editing_keys(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        me = ":%s PRIVMSG #lobby :" % prefix("alice")

        a.type("world")
        a.keys("C-a")
        a.type("hello ")
        a.keys("End")
        a.type("!")
        a.keys("Enter")
        bob.expect(me + "hello world!")
        a.wait(msg_row("alice", "hello world!"))

        a.type("one two three")
        a.keys("C-w")               # "one two "
        a.keys("C-u")               # ""
        a.keys("C-y")               # "one two "
        a.keys("BSpace")            # "one two"
        a.keys("M-b")               # cursor before "two"
        a.keys("C-k")               # "one "
        a.type("2")
        a.keys("C-b", "C-b", "Left", "DC")      # "on 2"
        a.keys("C-e", "Home", "C-f", "C-f", "Right", "M-f")
        a.type("X")                 # "on 2X"
        a.keys("Enter")
        bob.expect(me + "on 2X")

        a.keys("Up", "Up")          # history: "hello world!"
        a.wait("hello world!")
        a.keys("Down")
        a.keys("Enter")
        bob.expect(me + "on 2X")

        a.type("bo")
        a.keys("Tab")
        # (capture-pane drops trailing spaces: the cursor shows it)
        a.wait(lambda rows: rows and rows[-1] == "bob," and
               a.cursor() == (5, 23))
        a.type("hi")
        a.keys("Enter")
        bob.expect(me + "bob, hi")


def test_tui_long_input_scrolls_sideways(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        long = "".join("%03d-" % i for i in range(40))      # 160 columns
        a.type(long)
        a.wait(lambda rows: rows and rows[-1].endswith("039-"))
        x, y = a.cursor()
        assert y == 23 and x < 80, (x, y)
        assert width(a.lines()[-1]) <= 80
        a.keys("Home")
        a.wait(lambda rows: rows and rows[-1].startswith("000-001-"))
        assert a.cursor() == (0, 23)
        a.keys("Enter")
        bob.expect(":%s PRIVMSG #lobby :%s" % (prefix("alice"), long))


def test_tui_unknown_command(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        before = [r for r in a.lines()[1:22] if r]
        a.line("/frobnicate now")
        rows = a.wait(rx(STAMP + r" Unknown command: /frobnicate .*"))
        after = [r for r in rows[1:22] if r]
        assert after[:-1] == before and len(after) == len(before) + 1, \
            (before, after)
        bob.no_line(ANY, wait=0.3, sync=True)


def test_tui_help_command(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port)
        a.wait(rx(STAMP + r" Welcome to the natter IRC network .*"),
               timeout=10)
        a.line("/help")
        a.wait(rx(STAMP + r" /join .*"))
        a.line("hello?")
        a.wait(rx(STAMP + r" You are not in a room: use /join #room"))


def test_tui_nick_in_use(f):
    s = Server(f)
    s.user("alice")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        a.wait_status("[alice_] [2:#lobby]", timeout=10)
        a.keys("M-1")
        a.wait(rx(STAMP + r" Nick alice is in use, trying alice_"))


# --- connection ---

@timeout(60)
def test_tui_reconnect_after_server_restart(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        port = s.port
        s.stop()
        a.wait(rx(STAMP + r" Disconnected: .*\. Reconnecting in \d+ s…"))
        s2 = FixedPortServer(f, port)
        a.wait(rx(STAMP + r" Reconnected to 127\.0\.0\.1:%d" % port),
               timeout=20)
        bob = s2.user("bob")
        bob.send("JOIN #lobby")
        line = bob.expect(rx(r":irc\.test 353 bob = #lobby :.*"))
        assert "alice" in line.split(" :", 1)[1].replace("@", " ").split()
        bob.send("PRIVMSG #lobby :welcome back")
        a.wait(msg_row("bob", "welcome back"))
        a.line("thanks")
        bob.expect(":%s PRIVMSG #lobby :thanks" % prefix("alice"))


def test_tui_quit_restores_terminal(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby", tail=True)
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        a.line("/quit see you")
        bob.expect(rx(r":alice!\S+ QUIT :.*see you.*"))
        rows = a.wait("EXITED 0")
        assert "TTY-RESTORED" in rows, rows
        # Back on the normal screen: no natter bars left.
        assert not any("[alice]" in r for r in rows), rows


def test_tui_ctrl_c_leaves_cleanly(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby", tail=True)
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        a.keys("C-c")
        bob.expect(rx(r":alice!\S+ QUIT :.*"))
        rows = a.wait("EXITED 0")
        assert "TTY-RESTORED" in rows, rows


@timeout(40)
def test_tui_idle_uses_no_cpu(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(t, a, "alice", "#lobby")
        pid = a.natter_pid()
        time.sleep(0.5)         # let the join burst settle
        c0 = cpu_seconds(pid)
        time.sleep(3)
        used = cpu_seconds(pid) - c0
        assert used < 0.05, "idle natter used %.3f s of CPU in 3 s" % used


def test_tui_log_dir(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    logs = f.path("logs")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby", "--log-dir", logs)
        joined(t, a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send("PRIVMSG #lobby :\x02plain\x02 \x0304text\x03")
        a.wait(msg_row("@bob", "plain text"))
        a.line("my reply")
        bob.expect(":%s PRIVMSG #lobby :my reply" % prefix("alice"))
        path = os.path.join(logs, "#lobby.log")
        deadline = time.monotonic() + scaled(5)
        while True:
            try:
                with open(path, encoding="utf-8") as fp:
                    lines = fp.read().splitlines()
            except OSError:
                lines = []
            if len(lines) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
        assert len(lines) == 2, lines
        assert re.fullmatch(stamp + r" <bob> plain text", lines[0]), lines
        assert re.fullmatch(stamp + r" <alice> my reply", lines[1]), lines


def test_tui_ngircd_interop(f):
    n = Ngircd(f)
    with Tmux(f) as t:
        a = t.natter("alice", n.port, "-j", "lobby")
        a.wait_status("[2:#lobby]", timeout=15)
        bob = n.client("bob")
        bob.send("JOIN #lobby")
        bob.read_until(rx(r":\S+ 366 bob #lobby :.*"))
        a.wait(rx(STAMP + r" bob \(\S+\) has joined #lobby"))
        a.line("hello from natter")
        bob.expect(rx(r":alice!\S+ PRIVMSG #lobby :hello from natter"))
        bob.send("PRIVMSG #lobby :hello from ngircd")
        a.wait(msg_row("bob", "hello from ngircd"))


# --- flags (no terminal needed) ---

def natter_run(*args):
    return subprocess.run([NATTER, *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=scaled(10))


def test_tui_flags(f):
    need_natter(f)
    cp = natter_run("--help")
    assert cp.returncode == 0, cp
    for flag in ("-n, --nick", "-j, --join", "-p, --port", "--password",
                 "--realname", "--no-color", "--log-dir", "-h, --help",
                 "-V, --version", "6667", "127.0.0.1"):
        assert flag in cp.stdout, (flag, cp.stdout)
    cp = natter_run("-V")
    assert (cp.returncode, cp.stdout) == (0, "natter-0.1.0\n"), cp
    for bad in (["--bogus"], ["-p", "0"], ["-p", "x"], ["-n", "1bad"],
                ["-j", "a b"], ["host:99999"], ["a", "b"], ["-n"]):
        cp = natter_run(*bad)
        assert cp.returncode == 2, (bad, cp)
        assert cp.stderr.splitlines()[-2].startswith("usage: natter"), \
            (bad, cp.stderr)
        assert cp.stdout == "", (bad, cp)
