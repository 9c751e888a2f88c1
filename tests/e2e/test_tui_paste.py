"""natter's send queue, pacing, pending lines and bracketed paste
(issue 12, section 1), end to end: natter in tmux against a real natterd
(and once a stock ngIRCd).  Pastes go through tmux's paste-buffer -p,
which wraps them in ESC[200~ ... ESC[201~ when natter asked for
bracketed paste, as a terminal does.

The multiline tests (draft/multiline) need a natterd that offers the
cap; until it does they are skipped, saying so."""

import re

from harness import Client, Server, prefix, rx, slow, timeout
from tmuxlib import STAMP, FixedPortServer, Ngircd, Tmux

DIM = "\x1b[2m"


def msg_row(nick, text):
    return re.compile(r"%s <%s> %s" % (STAMP, re.escape(nick),
                                       re.escape(text)))


def info_row(text):
    return re.compile(r"%s %s" % (STAMP, re.escape(text)))


def joined(pane, nick, room):
    return pane.wait(rx(STAMP + r" %s \(%s@127\.0\.0\.1\) has joined %s",
                        nick, nick, room), timeout=10)


def raw_in_room(s, nick, room):
    c = s.user(nick)
    c.join(room)
    return c


def paste(t, pane, text):
    """Pastes text into pane as a terminal does (bracketed when natter
    asked for it)."""
    name = "p%d" % len(text)
    path = t.f.write_file(name + ".txt", text)
    t.run("load-buffer", "-b", name, path)
    t.run("paste-buffer", "-p", "-d", "-b", name, "-t", pane.name)


def lines_of(n, fmt="paste line %03d"):
    return [fmt % i for i in range(1, n + 1)]


def privmsgs(c, nick, room, n, timeout_each):
    """The next n PRIVMSG texts from nick to room, in order (other lines
    skipped)."""
    want = re.compile(r"(?:@\S+ )?:%s PRIVMSG %s :(.*)"
                      % (re.escape(prefix(nick)), re.escape(room)))
    got = []
    while len(got) < n:
        line = c.next_line(timeout=timeout_each)
        m = want.fullmatch(line)
        if m:
            got.append(m.group(1))
    return got


def caps_offered(s):
    """The caps natterd offers (CAP LS 302), names only."""
    c = Client(s, name="caps")
    c.send("CAP LS 302")
    names = []
    while True:
        line = c.expect(rx(r":\S+ CAP \* LS (\* )?:.*"))
        names += [w.split("=")[0] for w in line.split(" :", 1)[1].split()]
        if " LS * :" not in line:
            break
    c.close()
    return names


def need_multiline(f, s):
    if "draft/multiline" not in caps_offered(s):
        f.skip("natterd does not offer draft/multiline yet (CAP LS); "
               "this test runs once it does")


def prompt(n, room):
    return info_row("Send %d lines to %s? (y/n)" % (n, room))


def no_flood(s):
    assert "Excess Flood" not in s.log_text(), s.log_text()[-2000:]


# --- (a) a long paste with the default flood control ---

@slow
@timeout(240)
def test_tui_paste_200_lines_default_flood(f):
    """Without multiline (natterd --no-multiline): the paste goes as
    single lines, paced under natterd's default flood flags."""
    s = Server(f, "--no-multiline")     # natterd's default flood flags
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        # 100-byte lines: sent at once they pass natterd's --recvq
        # (8192 bytes) and it disconnects the sender (Excess Flood).
        want = lines_of(200, "paste line %03d " + "x" * 70)
        paste(t, a, "\n".join(want) + "\n")
        a.wait(prompt(200, "#lobby"))
        a.keys("y")
        a.wait_status(re.compile(r" \[queued \d+\]$"))
        assert "draft/multiline" not in caps_offered(s)
        # Paced: about 100 s at 2 lines a second without multiline.
        assert privmsgs(bob, "alice", "#lobby", 200, 30) == want
        a.wait_gone(lambda rows: "[queued" in a.status(), timeout=10)
        # Nobody was disconnected.
        bob.sync()
        a.line("still here")
        bob.expect(":%s PRIVMSG #lobby :still here" % prefix("alice"))
        assert not any("Disconnected" in r for r in a.lines())
        no_flood(s)


# --- (b) no ---

def test_tui_paste_answer_no_drops_it(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        paste(t, a, "\n".join(lines_of(12)))
        a.wait(prompt(12, "#lobby"))
        a.keys("x")                     # not an answer: still asking
        a.keys("n")
        a.wait(info_row("Paste of 12 lines not sent"))
        a.line("after the paste")
        # The first PRIVMSG bob sees is the line typed after.
        assert privmsgs(bob, "alice", "#lobby", 1, 5) == ["after the paste"]
        assert not any(re.search(r"<alice> paste line", r)
                       for r in a.lines())


def test_tui_paste_few_lines_and_one_line(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        # One line goes into the input line, as if typed.
        paste(t, a, "just one line\n")
        a.wait(lambda rows: rows[-1].startswith("just one line"))
        a.keys("Enter")
        # A few lines go without asking.
        paste(t, a, "one\ntwo\nthree\n")
        assert privmsgs(bob, "alice", "#lobby", 4, 5) == [
            "just one line", "one", "two", "three"]
        # Its own row, or with draft/multiline one block whose rows
        # are indented under the text.
        a.wait(re.compile(r"(%s <alice> | {14})three" % STAMP))
        assert not any("(y/n)" in r for r in a.lines())


# --- bounds ---

@timeout(90)
def test_tui_paste_and_queue_bounds(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        # A paste past 2000 lines, or past 256 KiB, is refused whole.
        paste(t, a, "\n".join(lines_of(2001)))
        a.wait(info_row("Paste of 2001 lines not sent: at most 2000 at "
                        "once"), timeout=20)
        paste(t, a, "\n".join(["x" * 300] * 900))
        a.wait(info_row("Paste not sent: more than 256 KiB"), timeout=30)
        # Disconnected, the queue fills to its bound; one line more is
        # refused, saying so.
        s.stop()
        a.wait(rx(STAMP + r" Disconnected: .*\. Reconnecting in \d+ s…"))
        paste(t, a, "\n".join(lines_of(2000)))
        a.wait(prompt(2000, "#lobby"), timeout=20)
        a.keys("y")
        a.wait_status(re.compile(r" \[queued 2000\]$"), timeout=20)
        a.line("one more")
        a.wait(info_row("Send queue full (2000 lines waiting): not sent: "
                        "one more"))
        paste(t, a, "\n".join(lines_of(6, "again %d")))
        a.wait(prompt(6, "#lobby"))
        a.keys("y")
        a.wait(info_row("Paste of 6 lines not sent: the send queue is full "
                        "(2000 lines waiting)"))


# --- (c) typed while disconnected ---

@timeout(60)
def test_tui_lines_typed_while_disconnected_wait(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        port = s.port
        s.stop()
        a.wait(rx(STAMP + r" Disconnected: .*\. Reconnecting in \d+ s…"))
        a.line("typed while away")
        a.line("and another one")
        rows = a.wait(msg_row("alice", "and another one"))
        a.wait_status(re.compile(r" \[queued 2\]$"))
        # Shown pending: dimmed.
        dim = [r for r in a.lines(escapes=True) if "typed while away" in r]
        assert len(dim) == 1 and DIM in dim[0], dim
        assert not any("Not connected" in r for r in rows), rows
        s2 = FixedPortServer(f, port)
        a.wait(rx(STAMP + r" Reconnected to 127\.0\.0\.1:%d" % port),
               timeout=20)
        a.wait_gone(lambda rows: "[queued" in a.status(), timeout=10)
        # Sent after the rejoin: the room's history has them, in order.
        bob = s2.user("bob")
        bob.send("JOIN #lobby")
        assert privmsgs(bob, "alice", "#lobby", 2, 5) == [
            "typed while away", "and another one"]
        dim = [r for r in a.lines(escapes=True) if "typed while away" in r]
        assert len(dim) == 1 and DIM not in dim[0], dim


@timeout(90)
def test_tui_line_for_a_room_not_rejoined_is_not_sent(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        port = s.port
        s.stop()
        a.wait(rx(STAMP + r" Disconnected: .*\. Reconnecting in \d+ s…"))
        a.line("will not go")
        a.wait(msg_row("alice", "will not go"))
        # While natter waits to retry, the room becomes invite-only.
        a.wait("Reconnecting in 4", timeout=20)     # the row wraps
        s2 = FixedPortServer(f, port)
        bob = s2.user("bob")
        bob.join("#lobby")
        bob.send("MODE #lobby +i")
        bob.expect(rx(r":bob!\S+ MODE #lobby \+i"))
        a.wait(rx(STAMP + r" Reconnected to 127\.0\.0\.1:%d" % port),
               timeout=20)
        a.wait(info_row("not sent: will not go"), timeout=30)
        a.wait_gone(lambda rows: "[queued" in a.status())
        bob.no_line(re.compile(r".* PRIVMSG .*"), sync=True)


def test_tui_line_refused_by_the_room_is_not_sent(f):
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")       # bob is the op
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.send("MODE #lobby +m")
        a.wait(rx(STAMP + r" bob sets mode \+m"))
        # With echo-message the line waits for its echo; the 404 says
        # none will come.
        a.line("hush")
        a.wait(info_row("not sent: hush"))
        bob.no_line(re.compile(r".* PRIVMSG .*"), sync=True)


@timeout(40)
def test_tui_unsent_lines_are_marked(f):
    s = Server(f)
    logs = f.path("logs")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby,other", "--log-dir",
                     logs, tail=True)
        joined(a, "alice", "#other")
        a.wait_status("[3:#other]")
        s.stop()
        a.wait(rx(STAMP + r" Disconnected: .*\. Reconnecting in \d+ s…"))
        # A closed window: the status window says what was not sent.
        a.line("/win 3")
        a.wait_status("[3:#other]")
        a.line("for other")
        a.wait(msg_row("alice", "for other"))
        a.line("/close")
        a.line("/win 1")
        a.wait(info_row("not sent to #other: for other"))
        # Still queued at /quit: "not sent" in its window's log.
        a.line("/win 2")
        a.wait_status("[2:#lobby]")
        a.line("for lobby")
        a.wait(msg_row("alice", "for lobby"))
        a.line("/quit")
        a.wait("EXITED 0")
        with open("%s/#lobby.log" % logs, encoding="utf-8") as fp:
            log = fp.read().splitlines()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d not sent: "
                            r"for lobby", log[-1]), log


# --- (d) multiline ---

@timeout(60)
def test_tui_paste_200_lines_multiline(f):
    s = Server(f)
    need_multiline(f, s)
    bob = s.client(name="bob")
    bob.send("CAP REQ :batch draft/multiline")
    bob.send("CAP END")
    bob.register("bob")
    bob.join("#lobby")
    carol = raw_in_room(s, "carol", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        carol.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        want = lines_of(200)
        paste(t, a, "\n".join(want))
        a.wait(prompt(200, "#lobby"))
        a.keys("y")
        # Without the cap: 200 lines, in order.
        assert privmsgs(carol, "alice", "#lobby", 200, 20) == want
        # With it: batches of at most 100 lines, the same text.
        opened = bob.expect(rx(r"(@\S+ )?:%s BATCH \+\S+ draft/multiline "
                               r"#lobby" % re.escape(prefix("alice"))))
        assert opened
        assert privmsgs(bob, "alice", "#lobby", 200, 20) == want
        # Shown as blocks, the last row indented under the text; the
        # echo made them sent lines (no longer dimmed).
        pad = " " * len("00:00 <alice> ")

        def sent(rows):
            rows = a.lines(escapes=True)
            last = [r for r in rows if "paste line 200" in r]
            return len(last) == 1 and DIM not in last[0]
        a.wait(sent, timeout=10)
        assert pad + "paste line 200" in a.lines(), a.lines()
        bob.sync()
        carol.sync()
        no_flood(s)


# --- (e) a stock ngIRCd ---

@timeout(90)
def test_tui_paste_30_lines_ngircd(f):
    n = Ngircd(f)
    with Tmux(f) as t:
        a = t.natter("alice", n.port, "-j", "lobby")
        a.wait_status("[2:#lobby]", timeout=15)
        bob = n.client("bob")
        bob.send("JOIN #lobby")
        bob.read_until(rx(r":\S+ 366 bob #lobby :.*"))
        a.wait(rx(STAMP + r" bob \(\S+\) has joined #lobby"))
        want = lines_of(30)
        paste(t, a, "\n".join(want))
        a.wait(prompt(30, "#lobby"))
        a.keys("y")
        want_rx = re.compile(r":alice!\S+ PRIVMSG #lobby :(.*)")
        got = []
        while len(got) < 30:
            m = want_rx.fullmatch(bob.next_line(timeout=20))
            if m:
                got.append(m.group(1))
        assert got == want
        a.line("still here")
        bob.expect(rx(r":alice!\S+ PRIVMSG #lobby :still here"))


# --- (f) receiving a multiline message ---

def test_tui_multiline_received_as_block(f):
    s = Server(f)
    need_multiline(f, s)
    bob = s.client(name="bob")
    bob.send("CAP REQ :batch draft/multiline message-tags")
    bob.send("CAP END")
    bob.register("bob")
    bob.join("#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send("BATCH +m1 draft/multiline #lobby")
        bob.send("@batch=m1 PRIVMSG #lobby :first line")
        bob.send("@batch=m1 PRIVMSG #lobby :  second, indented")
        bob.send("@batch=m1 PRIVMSG #lobby :third")
        bob.send("BATCH -m1")
        # bob made #lobby: an operator, "<@bob>".
        rows = a.wait(msg_row("@bob", "first line"))
        i = [k for k, r in enumerate(rows)
             if msg_row("@bob", "first line").fullmatch(r)][0]
        pad = " " * len("00:00 <@bob> ")
        assert rows[i + 1] == pad + "  second, indented", rows
        assert rows[i + 2] == pad + "third", rows


# --- pasted commands and a paste that lost its end ---

def test_tui_pasted_slash_lines_are_text(f):
    """A short paste (without multiline) is sent line by line, but as
    text: a pasted "/quit" is a line about /quit, as in a long paste."""
    s = Server(f, "--no-multiline")
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        paste(t, a, "type this:\n/quit\nthen Enter\n")
        assert privmsgs(bob, "alice", "#lobby", 3, 10) == \
            ["type this:", "/quit", "then Enter"]
        a.wait(msg_row("alice", "then Enter"))
        a.line("still here")
        assert privmsgs(bob, "alice", "#lobby", 1, 10) == ["still here"]


def test_tui_paste_without_its_end_lets_go(f):
    """ESC[200~ with no ESC[201~: after a second of quiet the paste is
    taken as it is (one line: into the input line), and keys are keys
    again instead of being swallowed as pasted text."""
    s = Server(f)
    bob = raw_in_room(s, "bob", "#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        a.t.run("send-keys", "-t", a.name, "-H",
                "1b", "5b", "32", "30", "30", "7e", "61", "62", "63")
        a.wait(lambda rows: rows[-1] == "abc", timeout=5)
        a.type("def")
        a.keys("Enter")
        assert privmsgs(bob, "alice", "#lobby", 1, 10) == ["abcdef"]
