"""natter and draft/channel-rename: natter does not ask for the cap, so
natterd sends it the spec's fallback (PART of the old name, JOIN of the
new one, topic, NAMES and the history replay).  natter ends up in a
window for the new name showing the room's history, and talks there."""

from harness import Server, prefix, rx, timeout
from test_caps import cap_user
from test_tui_history import DIVIDER, msg_row, row_of
from tmuxlib import STAMP, Tmux


@timeout(60)
def test_tui_rename_follows_to_new_window(f):
    s = Server(f, "--db", f.path("history.db"))
    bob = cap_user(s, "bob", "draft/channel-rename")
    bob.join("#lobby")
    bob.send("PRIVMSG #lobby :said before the rename")
    bob.sync()
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        a.wait(rx(STAMP + r" alice \(alice@127\.0\.0\.1\) has joined "
                  r"#lobby"), timeout=10)
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send("RENAME #lobby #hall :a better name")
        bob.expect(":%s RENAME #lobby #hall :a better name" % prefix("bob"))
        rows = a.wait(msg_row("bob", "said before the rename"), timeout=10)
        rows = a.wait(rx(STAMP + r" alice \(alice@127\.0\.0\.1\) has "
                         r"joined #hall"), timeout=10)
        # The #hall window has the room's history under its divider.
        div = row_of(rows, DIVIDER)
        old = row_of(rows, msg_row("bob", "said before the rename"))
        assert div != -1 and div < old, rows
        # It is the window on screen: what alice types goes to #hall.
        a.wait_status(rx(r".*\[\d+:#hall\].*"))
        a.line("hello from the new name")
        bob.expect(":%s PRIVMSG #hall :hello from the new name"
                   % prefix("alice"), timeout=10)
