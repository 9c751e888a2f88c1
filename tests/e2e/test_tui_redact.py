"""natter and IRCv3 draft/message-redaction, end to end: natter asks for
the capability, keeps each message's msgid, and when the author deletes
a message (REDACT) the very row that showed it keeps its time and nick
and shows "(message deleted)"; the rows around it do not move."""

import re

from harness import Server, rx, timeout
from test_history import v3
from tmuxlib import STAMP, Tmux

MSGID = r"[0-9a-z]{20}"


def msg_row(nick, text):
    return re.compile(r"(%s) <%s> %s" % (STAMP, re.escape(nick),
                                         re.escape(text)))


def index(rows, pattern):
    found = [i for i, r in enumerate(rows) if pattern.fullmatch(r)]
    assert len(found) == 1, (pattern.pattern, rows)
    return found[0]


@timeout(60)
def test_tui_redact_shows_message_deleted(f):
    s = Server(f)
    bob = v3(s, "bob", "echo-message", "message-tags",
             "draft/message-redaction")
    bob.join("#lobby")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        a.wait(rx(STAMP + r" alice \(alice@127\.0\.0\.1\) has joined "
                  r"#lobby"), timeout=10)
        bob.expect(rx(r":alice!\S+ JOIN :?#lobby"))
        bob.send("PRIVMSG #lobby :please delete me")
        got = bob.expect(re.compile(r"@msgid=(%s) %s" % (MSGID, re.escape(
            ":bob!bob@127.0.0.1 PRIVMSG #lobby :please delete me"))))
        msgid = got.split(" ", 1)[0][len("@msgid="):]
        bob.send("PRIVMSG #lobby :but keep me")
        rows = a.wait(msg_row("@bob", "but keep me"))
        before = index(rows, msg_row("@bob", "please delete me"))
        kept = index(rows, msg_row("@bob", "but keep me"))
        stamp = rows[before][:5]

        bob.send("REDACT #lobby %s :oops" % msgid)
        bob.expect(re.compile(r"@msgid=%s %s" % (MSGID, re.escape(
            ":bob!bob@127.0.0.1 REDACT #lobby %s :oops" % msgid))))
        rows = a.wait(msg_row("@bob", "(message deleted)"))
        # The same row, its time and nick kept; nothing else moved.
        assert rows[before] == "%s <@bob> (message deleted)" % stamp, rows
        assert msg_row("@bob", "but keep me").fullmatch(rows[kept]), rows
        assert not any("please delete me" in r for r in rows), rows
