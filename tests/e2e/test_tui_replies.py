"""Replies in their place, readable (issue 12, part 2): natter in tmux
against a real natterd (and once against ngIRCd).  WHOIS is one block,
WHO aligned rows, errors "bob: No such nick/channel" where the command
was typed, away replies in the query window, LIST in a window of its
own, and the MOTD in the status window once per connection (again only
when its text changed)."""

import re

import harness
from harness import Server, rx
from tmuxlib import STAMP, FixedPortServer, Ngircd, Tmux

# Cheap password hashing: these tests are about replies, not crypto.
ACCOUNTS = ("--db", "off", "--argon2-memory", "64", "--argon2-time", "1",
            "--scram-iterations", "4096")


def row(text):
    """A screen row exactly: "HH:MM text"."""
    return re.compile(r"%s %s" % (STAMP, re.escape(text)))


def rows_after(rows, first, n):
    """The n rows from the one that fullmatches first."""
    for i, r in enumerate(rows):
        if first.fullmatch(r):
            return rows[i:i + n]
    raise AssertionError("no row %s in:\n%s" % (first.pattern,
                                                  "\n".join(rows)))


def joined(pane, nick, room):
    pane.wait(rx(STAMP + r" %s \(%s@127\.0\.0\.1\) has joined %s", nick,
                 nick, room), timeout=10)


def test_tui_replies_whois_block(f):
    s = Server(f, *ACCOUNTS)
    bob = s.user("bob", realname="Bob Smith")
    bob.send("REGISTER * * password1")
    bob.expect(rx(r":irc\.test REGISTER SUCCESS bob .*"), timeout=10)
    bob.join("#lobby")
    bob.send("AWAY :lunch")
    bob.expect(rx(r":irc\.test 306 bob .*"))
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        a.line("/whois bob")
        head = row("bob (bob@127.0.0.1)")
        rows = a.wait(row("End of WHOIS"))
        block = rows_after(rows, head, 8)
        want = [
            head,
            row("  name:    Bob Smith"),
            row("  rooms:   @#lobby"),
            row("  server:  irc.test (natter chat server)"),
            re.compile(STAMP + r"   idle:    \d+s, signed on "
                       r"\d{4}-\d\d-\d\d \d\d:\d\d"),
            row("  away:    lunch"),
            row("  account: bob"),
            row("End of WHOIS"),
        ]
        for w, r in zip(want, block):
            assert w.fullmatch(r), (w.pattern, block)
        assert a.lines()[0].startswith("#lobby"), a.lines()[0]
        # Never the raw numeric, nowhere.
        assert not any("bob bob 127.0.0.1" in r for r in a.lines())
        # labeled-response: typed in #lobby, then straight to the status
        # window (one read of keys: the switch comes before the WHOIS is
        # even sent); the block still lands in #lobby.
        a.line("/clear")
        a.wait_gone(head)
        a.type("/whois bob")
        a.keys("Enter", "M-1")
        a.wait(lambda rows: rows[0].startswith("natter"))
        a.keys("M-2")
        rows = a.wait(row("End of WHOIS"))
        assert rows[0].startswith("#lobby"), rows[0]
        rows_after(rows, head, 8)
        a.keys("M-1")
        rows = a.wait(lambda rows: rows[0].startswith("natter"))
        assert not any("End of WHOIS" in r or "bob (bob@" in r
                       for r in rows), rows


def test_tui_replies_errors_with_separator(f):
    s = Server(f)
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        a.line("/msg bob hi")
        a.wait(row("bob: No such nick/channel"))
        a.line("/whois bob")
        rows = a.wait(lambda rows: sum(
            1 for r in rows if row("bob: No such nick/channel")
            .fullmatch(r)) == 2)
        # In the room window, where it was typed; nothing else said.
        assert rows[0].startswith("#lobby"), rows[0]
        assert not any("End of WHOIS" in r for r in rows), rows
        a.line("/quote MODE #nowhere")
        a.wait(row("#nowhere: No such channel"))


def test_tui_replies_who_rows(f):
    s = Server(f)
    bob = s.user("bob", realname="Bob Smith")
    bob.join("#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby", "--realname",
                     "Alice A")
        joined(a, "alice", "#lobby")
        a.line("/who #lobby")
        rows = a.wait(row("End of WHO #lobby"))
        head = row("Nick            User@host                Flags Name")
        block = rows_after(rows, head, 4)
        body = sorted(block[1:3])
        assert row("alice           alice@127.0.0.1          H     "
                   "Alice A").fullmatch(body[0]), block
        assert row("bob             bob@127.0.0.1            H@    "
                   "Bob Smith").fullmatch(body[1]), block
        assert row("End of WHO #lobby").fullmatch(block[3]), block


def test_tui_replies_away_in_query_window(f):
    s = Server(f)
    bob = s.user("bob")
    bob.send("AWAY :gone fishing")
    bob.expect(rx(r":irc\.test 306 bob .*"))
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        a.line("/query bob")
        a.wait(lambda rows: rows[0].startswith("Query: bob"))
        a.line("are you there?")
        bob.expect(rx(r":alice!\S+ PRIVMSG bob :are you there\?"))
        rows = a.wait(row("bob is away: gone fishing"))
        assert rows[0].startswith("Query: bob"), rows[0]
        # Not in the status window.
        # (The status bar, drawn last, says when the switch is whole: the
        # top row alone was once caught before the rows under it.)
        a.keys("M-1")
        a.wait_status("[1:status]")
        rows = a.lines()
        assert rows[0].startswith("natter"), rows
        assert not any("gone fishing" in r for r in rows), rows


def test_tui_replies_list_window(f):
    s = Server(f)
    bob = s.user("bob")
    bob.join("#lobby")
    bob.send("TOPIC #lobby :the lobby")
    bob.expect(rx(r":bob!\S+ TOPIC #lobby :the lobby"))
    bob.join("#dev")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        joined(a, "alice", "#lobby")
        a.line("/list")
        rows = a.wait(row("End of LIST: 2 rooms"))
        assert rows[0] == "Rooms on this server (/list)", rows[0]
        head = row("Room                 Users  Topic")
        block = rows_after(rows, head, 4)
        body = sorted(block[1:3])
        assert row("#dev                     1").fullmatch(body[0]), block
        assert row("#lobby                   2  the lobby").fullmatch(
            body[1]), block
        assert re.search(r"\[3:\(list\)\]", a.status()), a.status()
        # Typing there sends nothing; /close closes it.
        a.line("hello")
        a.wait(row("You are not in a room: use /join #room"))
        bob.no_line(rx(r".*hello.*"), sync=True)
        a.line("/close")
        a.wait(lambda rows: rows[0].startswith("#lobby"))
        assert "(list)" not in a.status(), a.status()


def test_tui_replies_motd_once(f):
    port = harness.free_port()
    motd = f.write_file("motd", "Welcome to the test box\n")
    s = FixedPortServer(f, port, "--motd", motd)
    welcome = row("- Welcome to the test box")
    with Tmux(f) as t:
        a = t.natter("alice", port)
        a.wait(welcome, timeout=10)
        # In the status window (natter starts there without -j).
        assert a.lines()[0].startswith("natter"), a.lines()[0]
        a.line("/clear")
        a.wait_gone(welcome)
        # The same server again: the MOTD is not repeated.
        s.stop()
        s2 = FixedPortServer(f, port, "--motd", motd)
        a.wait(rx(STAMP + r" Reconnected to 127\.0\.0\.1:%d" % port),
               timeout=20)
        rows = a.wait(row("The message of the day has not changed "
                          "(/motd shows it)"), timeout=10)
        assert not any(welcome.fullmatch(r) for r in rows), rows
        # /motd shows it again, typed anywhere.
        a.line("/motd")
        a.wait(welcome)
        a.line("/clear")
        a.wait_gone(welcome)
        # A new MOTD after a restart: shown.
        s2.stop()
        motd2 = f.write_file("motd2", "Maintenance at noon\n")
        FixedPortServer(f, port, "--motd", motd2)
        rows = a.wait(row("- Maintenance at noon"), timeout=20)
        assert not any(welcome.fullmatch(r) for r in rows), rows
        assert not any("has not changed" in r for r in rows), rows


def test_tui_replies_ngircd(f):
    n = Ngircd(f)
    with Tmux(f) as t:
        a = t.natter("alice", n.port, "-j", "lobby", "--realname",
                     "Alice A")
        a.wait_status("[2:#lobby]", timeout=15)
        bob = n.client("bob")
        bob.send("JOIN #lobby")
        bob.read_until(rx(r":\S+ 366 bob #lobby :.*"))
        a.line("/whois bob")
        head = re.compile(STAMP + r" bob \(~?bob@\S+\)")
        rows = a.wait(row("End of WHOIS"))
        block = rows_after(rows, head, 6)
        assert row("  name:    bob").fullmatch(block[1]), block
        assert row("  rooms:   #lobby").fullmatch(block[2]), block
        assert re.fullmatch(STAMP + r"   server:  irc\.ngircd\.test "
                            r"\(natter e2e\)", block[3]), block
        assert re.fullmatch(STAMP + r"   idle:    \d+s, signed on "
                            r"\d{4}-\d\d-\d\d \d\d:\d\d", block[4]), block
        assert row("End of WHOIS").fullmatch(block[5]), block
        a.line("/whois nobody")
        a.wait(re.compile(STAMP + r" nobody: No such nick.*"))
        # ngIRCd's MOTD ("hello") in the status window, not in #lobby.
        assert not any(re.fullmatch(STAMP + r" .*hello.*", r)
                       for r in a.lines()), a.lines()
