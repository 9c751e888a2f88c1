"""Presence and reading in natter (issue 12, parts 6 and 7), in tmux
against a real natterd: [away] in the status bar, "-> bob: hi" after a
/msg from a room, a left room that refuses lines, <@alice> prefixes, the
nick-list pane (shown from 100 columns, F7 and M-n, away nicks dimmed,
live), Tab on room names, the read marker, and a MARKREAD from another
device of the account moving it.  One test runs against a stock ngIRCd."""

import base64
import re
import time

from harness import Server, prefix, rx, scaled
from tmuxlib import STAMP, FixedPortServer, Ngircd, Tmux
from test_tui_login import natter_cmd

MARKER = "\u2500\u2500\u2500\u2500 new \u2500\u2500\u2500\u2500"
RULE = "\u2502"


def row(text):
    """A message-pane row exactly: "HH:MM text"."""
    return re.compile(r"%s %s" % (STAMP, re.escape(text)))


def msg(nick, text):
    return re.compile(r"%s <%s> %s" % (STAMP, re.escape(nick),
                                       re.escape(text)))


def joined(pane, nick, room, width=None):
    """Waits for our own join (rows cut at width: left of a nick list)."""
    want = rx(STAMP + r" %s \(\S+\) has joined %s", nick, room)

    def ok(rows):
        return any(want.fullmatch(r[:width].rstrip()) for r in rows)
    ok.__doc__ = "/%s/" % want.pattern
    return pane.wait(ok, timeout=10)


def rows_in_order(*want):
    """A condition: some run of message-pane rows is exactly want (str:
    equal, regex: fullmatch)."""
    def fits(w, r):
        return w == r if isinstance(w, str) else w.fullmatch(r) is not None

    def ok(rows):
        body = [r for r in rows[1:-2] if r]
        return any(all(fits(w, body[i + k]) for k, w in enumerate(want))
                   for i in range(len(body) - len(want) + 1))
    ok.__doc__ = "rows in order: %r" % [getattr(w, "pattern", w)
                                        for w in want]
    return ok


def status(pane, fmt, *args):
    """Waits until the status line is exactly fmt (a regex after the
    clock; %s arguments escaped)."""
    want = rx(r"\[%s\] " % STAMP + fmt, *args)

    def ok(rows):
        return want.fullmatch(pane.status()) is not None
    ok.__doc__ = "status line /%s/" % want.pattern
    return pane.wait(ok)


# --- section 6 ---

def test_tui_presence_away_in_status_bar(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        status(a, r"\[alice\] \[2:#lobby\]")
        a.line("/away lunch")
        status(a, r"\[alice\] \[2:#lobby\] \[away\]")
        a.line("/back")
        status(a, r"\[alice\] \[2:#lobby\]")


def test_tui_presence_away_cleared_by_a_new_connection(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        a.line("/away lunch")
        status(a, r"\[alice\] \[2:#lobby\] \[away\]")
        port = s.port
        s.stop()
        a.wait(rx(STAMP + r" Disconnected: .*"))
        FixedPortServer(f, port)
        a.wait(rx(STAMP + r" Reconnected to 127\.0\.0\.1:%s", port),
               timeout=20)
        # The new server never heard of it (the status window has news
        # of the outage).
        status(a, r"\[alice\] \[2:#lobby\] \[Act: 1\*\]")


def test_tui_presence_msg_from_a_room(f):
    s = Server(f)
    bob = s.user("bob")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        a.line("/msg bob hi")
        bob.expect(":%s PRIVMSG bob :hi" % prefix("alice"))
        a.wait(row("-> bob: hi"))
        # Still in #lobby; bob's window (3) has the line and activity.
        status(a, r"\[alice\] \[2:#lobby\] \[Act: 3\]")
        a.keys("M-3")
        a.wait(msg("alice", "hi"))
        assert a.lines()[0] == "Query: bob", a.lines()[0]
        # In bob's own window a line to bob is just a line.
        a.line("again")
        bob.expect(":%s PRIVMSG bob :again" % prefix("alice"))
        a.wait(msg("alice", "again"))
        assert not [r for r in a.lines() if "-> bob" in r], a.lines()


def test_tui_presence_typing_in_a_left_room(f):
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")
    bob.join("#k")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby,k")
        a.wait_status("[3:#k]", timeout=10)
        bob.expect(rx(r":alice!\S+ JOIN :?#k"))
        # Kicked: the room refuses what is typed there.
        bob.send("KICK #k alice :out")
        a.wait(row("alice was kicked by bob (out)"))
        a.line("still here?")
        a.wait(row("You are not in #k: /join #k to rejoin"))
        # Parted: the same.
        a.keys("M-2")
        a.wait_status("[2:#lobby]")
        a.line("/part")
        bob.expect(rx(r":alice!\S+ PART #lobby.*"))
        a.line("hello?")
        a.wait(row("You are not in #lobby: /join #lobby to rejoin"))
        bob.no_line(rx(r".* PRIVMSG .*"), sync=True)
        # Back in: lines go again.
        a.line("/join #lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        a.line("back")
        bob.expect(":%s PRIVMSG #lobby :back" % prefix("alice"))
        # Closing the room we were kicked from sends no PART for the
        # server to refuse.
        a.keys("M-3")
        a.wait_status("[3:#k]")
        a.line("/close")
        a.wait_status("[2:#lobby]")
        a.line("/names #k")
        a.wait(row("Nicks on #k: @bob"))
        assert not [r for r in a.lines() if "not on that" in r.lower()], \
            a.lines()


def test_tui_presence_nick_prefixes(f):
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")             # the first in: an op
    carol = s.user("carol")
    carol.join("#lobby")
    bob.send("MODE #lobby +v carol")
    carol.expect(rx(r":bob!\S+ MODE #lobby \+v carol"))
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        carol.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send("PRIVMSG #lobby :from the op")
        a.wait(msg("@bob", "from the op"))
        carol.send("PRIVMSG #lobby :from the voice")
        a.wait(msg("+carol", "from the voice"))
        a.line("from nobody")
        a.wait(msg("alice", "from nobody"))
        bob.send("PRIVMSG #lobby :\x01ACTION waves\x01")
        a.wait(row("* bob waves"))
        # The prefix the nick had then: losing +o does not rewrite it.
        bob.send("MODE #lobby -o bob")
        a.wait(rx(STAMP + r" bob sets mode -o bob"))
        bob.send("PRIVMSG #lobby :now plain")
        a.wait(msg("bob", "now plain"))
        assert a.wait(msg("@bob", "from the op"))


# --- section 7: the nick list ---

def list_rows(rows, width):
    """The nick-list column of rows: what follows the rule at the column
    COLS - width."""
    return [r[len(r) - width:] if len(r) >= width else "" for r in rows]


def test_tui_presence_nick_list(f):
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")
    carol = s.user("carol")
    carol.send("AWAY :lunch")
    carol.join("#lobby")
    with Tmux(f, width=120) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        # 8 columns of nicks after the rule at column 111.
        at = 120 - 9
        joined(a, "alice", "#lobby", at)
        want = [RULE + "@bob", RULE + " alice", RULE + " carol"]

        def pane_is(nicks):
            def ok(rows):
                return [r[at:].rstrip() for r in rows[1:1 + len(nicks)]] \
                    == nicks and all(len(r) > at and r[at] == RULE
                                     for r in rows[1:22])
            ok.__doc__ = "nick list %r" % nicks
            return ok
        rows = a.wait(pane_is(want))
        assert rows[4][at:] == RULE, rows[4]
        # carol was away before we came: the WHO told us; she is dim,
        # the others are not, and the WHO printed nothing.
        esc = a.lines(escapes=True)
        line = [r for r in esc if r.rstrip().endswith("carol")][0]
        assert re.search(r"\x1b\[2m carol", line), repr(line)
        line = [r for r in esc if r.rstrip().endswith("alice")][0]
        assert not re.search(r"\x1b\[2m alice", line), repr(line)
        assert not [r for r in a.lines() if "End of WHO" in r or
                    "H :0" in r], a.lines()
        # Live: away-notify, JOIN, PART.
        bob.send("AWAY :brb")

        def bob_dim(rows):
            return any(re.search(r"\x1b\[2m@bob", r)
                       for r in a.lines(escapes=True))
        bob_dim.__doc__ = "@bob dimmed"
        a.wait(bob_dim)
        dave = s.user("dave")
        dave.join("#lobby")
        a.wait(pane_is([RULE + "@bob", RULE + " alice", RULE + " carol",
                        RULE + " dave"]))
        carol.send("PART #lobby")
        a.wait(pane_is([RULE + "@bob", RULE + " alice", RULE + " dave"]))
        # MODE, NICK and QUIT too: voices sort after ops, before the rest.
        bob.send("MODE #lobby +v dave")
        a.wait(pane_is([RULE + "@bob", RULE + "+dave", RULE + " alice"]))
        dave.send("NICK aaron")
        a.wait(pane_is([RULE + "@bob", RULE + "+aaron", RULE + " alice"]))
        erin = s.user("erin")
        erin.join("#lobby")
        a.wait(pane_is([RULE + "@bob", RULE + "+aaron", RULE + " alice",
                        RULE + " erin"]))
        erin.send("QUIT :bye")
        a.wait(pane_is([RULE + "@bob", RULE + "+aaron", RULE + " alice",
                        RULE]))
        # A long line wraps before the rule.
        words = " ".join("word%02d" % i for i in range(40))
        bob.send("PRIVMSG #lobby :" + words)

        def wrapped(rows):
            text = " ".join(r[:at].strip() for r in rows[1:22])
            return words in text
        wrapped.__doc__ = "the long line, wrapped left of the list"
        rows = a.wait(wrapped)
        assert all(r[at] == RULE for r in rows[1:22]), rows
        # The key hides it (F7) and shows it again (M-n).
        a.keys("F7")
        a.wait(lambda rows: not any(RULE in r for r in rows))
        a.keys("M-n")
        a.wait(pane_is([RULE + "@bob", RULE + "+aaron", RULE + " alice"]))
        # Not in the status window.
        a.keys("M-1")
        a.wait_status("[1:status]")
        assert not any(RULE in r for r in a.lines()), a.lines()


def test_tui_presence_nick_list_narrow_and_bounded(f):
    s = Server(f)
    users = []
    for i in range(8):
        c = s.user("user%d" % i)
        c.join("#lobby")
        users.append(c)
    long_nick = "averyveryverylongnick"
    c = s.user(long_nick)
    c.join("#lobby")
    users.append(c)
    # 12 rows: 9 for the message pane, too few for 10 nicks.
    with Tmux(f, width=80, height=12) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        a.wait("Nicks on #lobby (10):")
        # 80 columns: no list until the key asks for one.
        assert not any(RULE in r for r in a.lines()), a.lines()
        a.keys("F7")
        at = 80 - 17               # 16 columns at most, and the rule

        def listed(rows):
            col = [r[at:].rstrip() for r in rows[1:10]]
            return col == [RULE + "@user0", RULE + " alice",
                           RULE + " " + long_nick[:15],
                           RULE + " user1", RULE + " user2",
                           RULE + " user3", RULE + " user4",
                           RULE + " user5", RULE + "+2 more"]
        listed.__doc__ = "a bounded nick list ending in +2 more"
        a.wait(listed)
        a.keys("M-n")
        a.wait(lambda rows: not any(RULE in r for r in rows))


# --- section 7: completion ---

def test_tui_presence_tab_completes_rooms(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby,7")
        a.wait_status("[3:#7]", timeout=10)
        a.type("see #lo")
        a.keys("Tab")
        a.wait(lambda rows: rows[-1] == "see #lobby" and
               a.cursor() == (11, 23))
        a.keys("C-u")
        a.type("/join #")
        a.keys("Tab")
        a.wait(lambda rows: rows[-1] == "/join #lobby")
        a.keys("Tab")
        a.wait(lambda rows: rows[-1] == "/join #7")


# --- section 7: the read marker ---

def test_tui_presence_read_marker(f):
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send("PRIVMSG #lobby :one")
        a.wait(msg("@bob", "one"))
        a.keys("M-1")
        a.wait_status("[1:status]")
        bob.send("PRIVMSG #lobby :two")
        bob.send("PRIVMSG #lobby :three")
        a.wait_status("[Act: 2]")
        a.keys("M-2")
        one, two, three, four, five = (msg("@bob", w) for w in
                                       ("one", "two", "three", "four",
                                        "five"))
        a.wait(rows_in_order(one, MARKER, two, three))
        # Read now: leaving and coming back shows no marker.
        a.keys("M-1")
        a.wait_status("[1:status]")
        a.keys("M-2")
        a.wait(rows_in_order(one, two, three))
        # Lines that come in while we look do not bring one either.
        bob.send("PRIVMSG #lobby :four")
        a.wait(four)
        assert MARKER not in a.lines(), a.lines()
        # It moves when we leave again.
        a.keys("M-1")
        a.wait_status("[1:status]")
        bob.send("PRIVMSG #lobby :five")
        a.wait_status("[Act: 2]")
        a.keys("M-2")
        a.wait(rows_in_order(one, two, three, four, MARKER, five))
        assert a.lines().count(MARKER) == 1, a.lines()


def _account(s, name, password):
    o = s.user(s.f.unique("op"))
    o.send("OPER admin secret")
    o.expect(":irc.test 381 %s :You are now an IRC operator" % o.nick)
    o.send("ACCOUNT CREATE %s %s" % (name, password))
    o.expect(":irc.test NOTICE %s :ACCOUNT: created %s" % (o.nick, name))


def _device(s, nick, account, password):
    """A raw connection logged in to account while it registers (so it
    attaches), with server-time and draft/read-marker."""
    c = s.client(nick)
    c.send("CAP LS 302")
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, nick))
    c.read_until(rx(r":irc\.test CAP \S+ LS :.*"))
    caps = "sasl server-time draft/read-marker"
    c.send("CAP REQ :" + caps)
    c.expect(rx(r":irc\.test CAP \S+ ACK :%s", caps))
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    token = base64.b64encode(("\0%s\0%s" % (account, password)).encode())
    c.send("AUTHENTICATE " + token.decode())
    c.read_until(rx(r":irc\.test 903 \S+ :.*"))
    c.send("CAP END")
    c.read_until(rx(r".*:irc\.test (376|422) \S+ :.*"))
    return c


def test_tui_presence_markread_from_another_device(f):
    s = Server(f, "--db", "off", "--oper", "admin:secret")
    _account(s, "alice", "sesame-sesame")
    pw = f.write_file("pw", "sesame-sesame\n")
    bob = s.user("bob")
    bob.join("#lobby")
    with Tmux(f) as t:
        a = t.start("alice", natter_cmd(
            f, "-n", "alice", "--sasl-user", "alice",
            "--sasl-password-file", pw, "-j", "lobby",
            "127.0.0.1:%d" % s.port))
        joined(a, "alice", "#lobby")
        a.wait_status("[account alice]")
        phone = _device(s, "phone", "alice", "sesame-sesame")
        a.keys("M-1")
        a.wait_status("[1:status]")
        stamps = {}
        for text in ("one", "two", "three"):
            # A marker is a time in ms: lines in one ms are one to it.
            time.sleep(0.01)
            bob.send("PRIVMSG #lobby :" + text)
            line = phone.expect(rx(r"@\S*time=\S* :bob!\S+ PRIVMSG "
                                   r"#lobby :%s", text))
            stamps[text] = re.search(r"[@;]time=([^; ]+)", line).group(1)
        a.wait_status("[Act: 2]")
        a.keys("M-2")
        body = [msg("@bob", w) for w in ("one", "two", "three")]

        def marker_above(k):
            return rows_in_order(*(body[:k] + [MARKER] + body[k:]))
        assert len(set(stamps.values())) == 3, stamps
        a.wait(marker_above(0))
        # The phone read up to "two": here the marker moves below it.
        phone.send("MARKREAD #lobby timestamp=" + stamps["two"])
        phone.expect(":irc.test MARKREAD #lobby timestamp=" + stamps["two"])
        a.wait(marker_above(2))
        # Leaving the room tells the phone we read all of it.
        a.keys("M-1")
        phone.expect(":irc.test MARKREAD #lobby timestamp=" +
                     stamps["three"], timeout=scaled(5))


def test_tui_presence_markread_after_join(f):
    """The marker the server keeps for the account comes right after
    the JOIN: the replayed history shows it above the first line newer
    than it."""
    s = Server(f, "--db", f.path("history.db"), "--oper", "admin:secret")
    _account(s, "alice", "sesame-sesame")
    pw = f.write_file("pw", "sesame-sesame\n")
    bob = s.user("bob")
    bob.join("#lobby")
    phone = _device(s, "alice", "alice", "sesame-sesame")
    phone.join("#lobby")
    stamps = {}
    for text in ("old one", "old two", "old three"):
        time.sleep(0.01)
        bob.send("PRIVMSG #lobby :" + text)
        line = phone.expect(rx(r"@\S*time=\S* :bob!\S+ PRIVMSG "
                               r"#lobby :%s", text))
        stamps[text] = re.search(r"[@;]time=([^; ]+)", line).group(1)
    phone.send("MARKREAD #lobby timestamp=" + stamps["old two"])
    phone.expect(":irc.test MARKREAD #lobby timestamp=" + stamps["old two"])
    phone.send("QUIT")
    phone.expect_closed()
    # natter's own JOIN line has its local time, to the second: in the
    # second of the old lines it would sit between them (the replay is
    # put in time order), which is not what this test is about.
    time.sleep(1.1)
    with Tmux(f) as t:
        a = t.start("alice", natter_cmd(
            f, "-n", "alice", "--sasl-user", "alice",
            "--sasl-password-file", pw, "-j", "lobby",
            "127.0.0.1:%d" % s.port))
        joined(a, "alice", "#lobby")
        old = [re.compile(r"%s <bob> %s" % (STAMP, w)) for w in
               ("old one", "old two", "old three")]
        a.wait(rows_in_order(old[0], old[1], MARKER, old[2]), timeout=10)


# --- a stock ngIRCd ---

def test_tui_presence_ngircd_nick_list_and_completion(f):
    n = Ngircd(f)
    with Tmux(f, width=120) as t:
        a = t.natter("alice", n.port, "-j", "lobby")
        at = 120 - 9
        joined(a, "alice", "#lobby", at)
        bob = n.client("bob")
        bob.send("JOIN #lobby")

        def listed(rows):
            return [r[at:].rstrip() for r in rows[1:3]] == \
                [RULE + "@alice", RULE + " bob"]
        listed.__doc__ = "@alice and bob in the nick list"
        a.wait(listed, timeout=10)
        bob.send("PART #lobby")
        a.wait(lambda rows: [r[at:].rstrip() for r in rows[1:3]] ==
               [RULE + "@alice", RULE])
        a.type("#lo")
        a.keys("Tab")
        a.wait(lambda rows: rows[-1] == "#lobby")
