"""natter catching up with history, end to end: natterd keeps a room's
lines in SQLite (--db) and replays them on JOIN in a chathistory batch;
natter shows them dimmed under a "history" divider with their own
times, and after a reconnect asks CHATHISTORY AFTER the last line it
saw, showing what it missed exactly once, in order.

Skipped while natterd has no history store (no --db in its --help)."""

import re
import time

from harness import prefix, rx, timeout
from tmuxlib import STAMP, FixedPortServer, Tmux

from harness import Server

DIVIDER = re.compile(r"(\u2500{4}|----) history (\u2500{4}|----)")


def need_history(f):
    cp = f.run("--help")
    if "--db" not in cp.stdout + cp.stderr:
        f.skip("natterd has no history store yet (no --db in --help)")


def msg_row(nick, text):
    return re.compile(r"(%s) <%s> %s" % (STAMP, re.escape(nick),
                                         re.escape(text)))


def row_of(rows, cond):
    """Index of the first row matching cond (regex fullmatch or
    substring); -1 if none."""
    for i, r in enumerate(rows):
        if isinstance(cond, re.Pattern):
            if cond.fullmatch(r):
                return i
        elif cond in r:
            return i
    return -1


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def dimmed(pane, text):
    """True if the row holding text is drawn dim (SGR 2) where text
    starts.  capture-pane -e only writes attribute changes, so the state
    is carried from row to row."""
    dim = False
    for r in pane.lines(escapes=True):
        plain, pos = "", 0
        states = []
        for m in SGR.finditer(r):
            seg = r[pos:m.start()]
            states += [dim] * len(seg)
            plain += seg
            for code in (m.group(1) or "0").split(";"):
                if code == "2":
                    dim = True
                elif code in ("0", "22", ""):
                    dim = False
            pos = m.end()
        seg = r[pos:]
        states += [dim] * len(seg)
        plain += seg
        i = plain.find(text)
        if i != -1:
            return states[i]
    raise AssertionError("no row with %r" % text)


def hhmm(t):
    return time.strftime("%H:%M", time.localtime(t))


@timeout(60)
def test_tui_history_on_join(f):
    need_history(f)
    s = Server(f, "--db", f.path("history.db"))
    bob = s.user("bob")
    bob.join("#lobby")
    sent = []
    for text in ("first old line", "second old line"):
        sent.append(time.time())
        bob.send("PRIVMSG #lobby :%s" % text)
    bob.sync()
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        a.wait(msg_row("bob", "second old line"), timeout=10)
        rows = a.wait(rx(STAMP + r" alice \(alice@127\.0\.0\.1\) has "
                         r"joined #lobby"), timeout=10)
        div = row_of(rows, DIVIDER)
        first = row_of(rows, msg_row("bob", "first old line"))
        second = row_of(rows, msg_row("bob", "second old line"))
        assert div != -1, rows
        assert div < first < second, rows
        # Each line once, with the time it was said.
        for text, when in zip(("first old line", "second old line"), sent):
            n = [r for r in rows if r.endswith("<bob> %s" % text)]
            assert len(n) == 1, rows
            stamp = n[0][:5]
            assert stamp in (hhmm(when), hhmm(when + 1)), (stamp, when)
            assert dimmed(a, text), a.lines(escapes=True)
        # A line said now is live: not dimmed, below the history.
        bob.send("PRIVMSG #lobby :a live line")
        rows = a.wait(msg_row("@bob", "a live line"))
        # The pane scrolls up as lines arrive: compare in one capture.
        assert row_of(rows, msg_row("@bob", "a live line")) > \
            row_of(rows, msg_row("bob", "second old line")), rows
        assert not dimmed(a, "a live line"), a.lines(escapes=True)


@timeout(90)
def test_tui_history_catch_up_after_reconnect(f):
    need_history(f)
    db = f.path("history.db")
    s = Server(f, "--db", db)
    bob = s.user("bob")
    bob.join("#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        a.wait(rx(STAMP + r" alice \(alice@127\.0\.0\.1\) has joined "
                  r"#lobby"), timeout=10)
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send("PRIVMSG #lobby :before the outage")
        a.wait(msg_row("@bob", "before the outage"))

        port = s.port
        bob.close()
        s.stop()
        a.wait(rx(STAMP + r" Disconnected: .*\. Reconnecting in \d+ s…"))
        # Let natter's backoff grow so the lines below are sent while
        # it is away, not live.
        # (The row may wrap before "s…" with a long port number.)
        a.wait(rx(STAMP + r" Cannot connect to .*Reconnecting in "
                  r"([4-9]|\d\d)( s…)?"), timeout=20)
        s2 = FixedPortServer(f, port, "--db", db)
        carol = s2.user("carol")
        carol.join("#lobby")
        for i in (1, 2, 3):
            carol.send("PRIVMSG #lobby :missed %d" % i)
        carol.sync()

        a.wait(rx(STAMP + r" Reconnected to 127\.0\.0\.1:%d" % port),
               timeout=30)
        rows = a.wait(msg_row("carol", "missed 3"), timeout=10)
        # Give a second CHATHISTORY answer or replay time to duplicate.
        carol.send("PRIVMSG #lobby :after the return")
        rows = a.wait(msg_row("@carol", "after the return"))
        body = rows[1:-2]
        for text in ("before the outage", "missed 1", "missed 2",
                     "missed 3", "after the return"):
            n = [r for r in body if r.endswith("> " + text)]
            assert len(n) == 1, (text, body)
        order = [row_of(body, msg_row("@bob", "before the outage"))] + \
            [row_of(body, msg_row("carol", "missed %d" % i))
             for i in (1, 2, 3)] + \
            [row_of(body, msg_row("@carol", "after the return"))]
        assert order == sorted(order) and -1 not in order, (order, body)
        # The missed lines are history (dimmed, under a divider); the
        # line said after the return is live.
        assert any(DIVIDER.fullmatch(r) for r in body[:order[1]]), body
        assert dimmed(a, "missed 1"), a.lines(escapes=True)
        assert not dimmed(a, "after the return"), a.lines(escapes=True)
        a.line("good to be back")
        carol.expect(":%s PRIVMSG #lobby :good to be back"
                     % prefix("alice"))
