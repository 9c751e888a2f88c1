"""Message history and the IRCv3 layer around it: the replay of a room's
recent lines on JOIN (--history-lines), history kept across restarts
(--db), CHATHISTORY (LATEST BEFORE AFTER AROUND BETWEEN TARGETS, and its
FAIL replies), private conversations, server-time, message-tags (msgid
and client-only tags), echo-message, TAGMSG, extended-join, retention
(--history-max) and what natterd does with a database it cannot use."""

import datetime
import os
import re
import sqlite3
import time

from harness import CAP_LS_302, FULL_SPEED, cap_ls_words, Server, free_port, join, numeric, rx, scaled

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
MSGID = r"[0-9a-z]{20}"
EPOCH = "timestamp=1970-01-01T00:00:00.000Z"
FUTURE = "timestamp=2999-01-01T00:00:00.000Z"
ANY = re.compile(".*")
TAGS3 = ("batch", "message-tags", "server-time")


def v3(s, nick, *caps, realname=None):
    """A client registered after CAP LS 302 (exact list) and one CAP REQ
    for caps (exact ACK); no caps: a plain registered user."""
    if not caps:
        c = s.user(nick, realname=realname)
        c.caps = ()
        return c
    c = s.client(nick)
    c.send("CAP LS 302")
    c.expect_exact_sequence(CAP_LS_302)
    c.send("CAP REQ :%s" % " ".join(caps))
    c.expect(":irc.test CAP * ACK :%s" % " ".join(caps))
    c.name = c.nick = nick
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, realname or nick))
    c.send("CAP END")
    c.expect_welcome()
    c.caps = caps
    return c


def settle(*clients):
    """Round trip each client, then drop whatever it had pending (JOIN
    notices, replays of empty rooms)."""
    for c in clients:
        c.sync()
        c.drain()


def src(nick):
    return "%s!%s@127.0.0.1" % (nick, nick)


class Msg:
    """One message as an observer with message-tags and server-time saw
    it: its time, msgid, client-only tags and plain line."""

    def __init__(self, time_, msgid, ctags, line):
        self.time, self.msgid, self.ctags, self.line = \
            time_, msgid, ctags, line

    def tagged(self, *caps, batch=None):
        """The line as a client with caps receives it in a replay."""
        tags = []
        if batch:
            tags.append("batch=" + batch)
        if "server-time" in caps:
            tags.append("time=" + self.time)
        if "message-tags" in caps:
            tags.append("msgid=" + self.msgid)
            if self.ctags:
                tags.append(self.ctags)
        return ("@%s %s" % (";".join(tags), self.line)) if tags \
            else self.line

    def __repr__(self):
        return "<Msg %s %s %r>" % (self.time, self.msgid, self.line)


def seen(obs, line, ctags=None):
    """Waits for obs (message-tags and server-time) to receive line;
    returns its Msg."""
    got = obs.expect(re.compile(r"@time=(%s);msgid=(%s)%s %s" % (
        TIME, MSGID, re.escape(";" + ctags) if ctags else "",
        re.escape(line))))
    m = re.match(r"@time=(\S+?);msgid=([^; ]+)", got)
    return Msg(m.group(1), m.group(2), ctags, line)


def say(sender, target, texts, obs, cmd="PRIVMSG", spaced=False):
    """sender sends each text to target; obs (message-tags, server-time;
    a member of the room or the recipient) sees each.  spaced: one
    message per millisecond at most, so that timestamps differ."""
    out = []
    shown = obs.nick if not target.startswith("#") else target
    for text in texts:
        sender.send("%s %s :%s" % (cmd, target, text))
        out.append(seen(obs, ":%s %s %s :%s" % (src(sender.nick), cmd, shown,
                                                text)))
        if spaced:
            time.sleep(0.003)
    if spaced:
        times = [m.time for m in out]
        assert len(set(times)) == len(times), "timestamps repeat: %r" % times
    return out


def batch(c, kind, target=None, timeout=5):
    """Reads one batch of kind (and target) from c, which must come next;
    returns its lines with the leading batch tag removed (so a line with
    only that tag comes back plain)."""
    opener = c.next_line(timeout)
    want = r":irc\.test BATCH \+(\S+) %s%s" % (
        re.escape(kind), " " + re.escape(target) if target else "")
    m = re.fullmatch(want, opener)
    assert m, "%s: expected /%s/, got %r" % (c.name, want, opener)
    bid = m.group(1)
    lines = []
    while True:
        line = c.next_line(timeout)
        if line == ":irc.test BATCH -" + bid:
            return lines
        if line.startswith("@batch=%s;" % bid):
            lines.append("@" + line[len("@batch=%s;" % bid):])
        elif line.startswith("@batch=%s " % bid):
            lines.append(line[len("@batch=%s " % bid):])
        else:
            raise AssertionError("%s: line in batch %s without its tag: %r "
                                 "(batch so far %r)" % (c.name, bid, line,
                                                        lines))


def ch(c, query, target=None):
    """CHATHISTORY query; the batch's lines (tag removed).  c has batch."""
    c.send("CHATHISTORY " + query)
    return batch(c, "chathistory", target or query.split()[1])


def want(msgs, *caps):
    return [m.tagged(*caps) for m in msgs]


def plain_replay(room, lines):
    return ([":irc.test NOTICE %s :--- Recent history of %s ---"
             % (room, room)] + list(lines) +
            [":irc.test NOTICE %s :--- End of history (%d line%s) ---"
             % (room, len(lines), "" if len(lines) == 1 else "s")])


def room_history(f, n, *flags, spaced=False, room="#r", members=()):
    """A server, alice in room having said m0..m<n-1>, and obs (batch,
    message-tags, server-time) in it that saw them.  members: (nick,
    caps) of more clients in the room (joined before the messages, so
    their JOINs come before them in the history); they end up in
    s.members.  Returns (server, alice, obs, [Msg])."""
    s = Server(f, *flags)
    obs = v3(s, "obs", *TAGS3)
    a = s.user("alice")
    s.members = [v3(s, nick, *caps) for nick, caps in members]
    join(obs, a, *s.members, room=room)
    settle(obs, a, *s.members)
    msgs = say(a, room, ["m%d" % i for i in range(n)], obs, spaced=spaced)
    a.sync()
    for c in s.members:
        c.expect(msgs[-1].tagged(*[x for x in TAGS3 if x != "batch"
                                   and x in c.caps]))
        c.drain()
    return s, a, obs, msgs


# --- CAP ---

def test_cap_ls_and_list(f):
    s = Server(f)
    c = s.client()
    c.send("CAP LS 302")
    c.expect_exact_sequence(CAP_LS_302)
    c.send("CAP REQ :batch server-time message-tags echo-message")
    c.expect(":irc.test CAP * ACK :batch server-time message-tags "
             "echo-message")
    c.send("CAP REQ :batch no-such-cap")
    c.expect(":irc.test CAP * NAK :batch no-such-cap")
    c.send("CAP LIST")
    c.expect(":irc.test CAP * LIST :batch cap-notify echo-message "
             "message-tags server-time")
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.send("CAP END")
    c.expect_welcome()
    c.send("CAP REQ :-echo-message draft/chathistory")
    c.expect(":irc.test CAP alice ACK :-echo-message draft/chathistory")
    c.send("CAP LIST")
    c.expect(":irc.test CAP alice LIST :batch cap-notify draft/chathistory "
             "message-tags server-time")


def test_isupport_chathistory(f):
    s = Server(f)
    c = s.client("alice")
    lines = c.register("alice")
    tokens = [t for l in lines if " 005 " in l
              for t in l.split(" :", 1)[0].split()[3:]]
    assert "CHATHISTORY=100" in tokens, tokens


# --- replay on JOIN ---

def test_replay_plain(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#r")
    settle(a)
    for text in ("one", "two"):
        a.send("PRIVMSG #r :" + text)
    a.send("NOTICE #r :three")
    a.send("PRIVMSG #r :four :with colon")
    a.sync()
    b.send("JOIN #r")
    b.expect(":bob!bob@127.0.0.1 JOIN #r")
    b.expect(numeric("353", "bob", "= #r :@alice bob"))
    b.expect_exact_sequence([numeric("366", "bob", "#r :End of /NAMES list")]
                            + plain_replay("#r", [
                                ":alice!alice@127.0.0.1 PRIVMSG #r :one",
                                ":alice!alice@127.0.0.1 PRIVMSG #r :two",
                                ":alice!alice@127.0.0.1 NOTICE #r :three",
                                ":alice!alice@127.0.0.1 PRIVMSG #r :four "
                                ":with colon"]))
    b.no_line(ANY, sync=True, wait=0)
    a.expect(":bob!bob@127.0.0.1 JOIN #r")
    a.no_line(ANY, sync=True, wait=0)        # nothing replayed to others


def test_replay_batch(f):
    s, a, obs, msgs = room_history(f, 3)
    a.send("@+draft/react=x PRIVMSG #r :not tagged: alice lacks message-tags")
    msgs += [seen(obs, ":alice!alice@127.0.0.1 PRIVMSG #r :not tagged: "
                  "alice lacks message-tags")]
    for nick, caps in (("bob", ("batch", "server-time")),
                       ("carol", TAGS3)):
        c = v3(s, nick, *caps)
        c.join("#r")
        assert batch(c, "chathistory", "#r") == want(msgs, *caps)
        c.no_line(ANY, sync=True, wait=0)


def test_replay_batch_client_tags(f):
    s = Server(f)
    a = v3(s, "alice", "message-tags")
    obs = v3(s, "obs", *TAGS3)
    join(obs, a, room="#r")
    settle(obs, a)
    a.send("@+draft/reply=abc;+example.org/x=1;label=l1 PRIVMSG #r :tagged")
    m = seen(obs, ":alice!alice@127.0.0.1 PRIVMSG #r :tagged",
             ctags="+draft/reply=abc;+example.org/x=1")
    a.sync()
    c = v3(s, "carol", *TAGS3)
    c.join("#r")
    assert batch(c, "chathistory", "#r") == [m.tagged(*TAGS3)]
    # Without message-tags the client tags stay out of the replay too.
    d = v3(s, "dave", "batch", "server-time")
    d.join("#r")
    assert batch(d, "chathistory", "#r") == [m.tagged("server-time")]


def test_replay_time_without_batch(f):
    """server-time without batch: the notices, lines with their time."""
    s, a, obs, msgs = room_history(f, 2)
    for nick, caps in (("bob", ("server-time",)),
                       ("carol", ("batch", "message-tags")),
                       ("dave", ("server-time", "message-tags"))):
        c = v3(s, nick, *caps)
        c.join("#r")
        c.expect_exact_sequence(plain_replay("#r", want(msgs, *caps)))
        c.no_line(ANY, sync=True, wait=0)


def test_replay_limit(f):
    s, a, obs, msgs = room_history(f, 5, "--history-lines", "3")
    b = s.user("bob")
    b.join("#r")
    b.expect_exact_sequence(plain_replay("#r", [m.line for m in msgs[2:]]))
    c = v3(s, "carol", *TAGS3)
    c.join("#r")
    assert batch(c, "chathistory", "#r") == want(msgs[2:], *TAGS3)


def test_limits_count_messages_not_events(f):
    """--history-lines and CHATHISTORY limits count the lines a client
    gets: JOIN, PART, NICK... between them do not use them up."""
    s, a, obs, msgs = room_history(f, 5, "--history-lines", "3")
    for nick in ("u1", "u2", "u3"):
        u = s.user(nick)
        u.join("#r")
        u.send("NICK %sx" % nick)
        u.send("PART #r :bye")
        u.expect(rx(r":%sx!\S+ PART #r :bye", nick))
    a.send("TOPIC #r :new topic")
    settle(a, obs)
    b = s.user("bob")
    b.join("#r")
    b.expect_exact_sequence(plain_replay("#r", [m.line for m in msgs[2:]]))
    # obs, in the room, sees bob arrive before it asks for history.
    obs.expect(rx(r"(@\S+ )?:bob!bob@127\.0\.0\.1 JOIN #r"))
    assert ch(obs, "LATEST #r * 2") == want(msgs[3:], *TAGS3)
    assert ch(obs, "BEFORE #r %s 2" % FUTURE) == want(msgs[3:], *TAGS3)
    a.send("PRIVMSG #r :last")
    last = seen(obs, ":alice!alice@127.0.0.1 PRIVMSG #r :last")
    assert ch(obs, "BEFORE #r msgid=%s 1" % last.msgid) == \
        want(msgs[4:], *TAGS3)
    assert ch(obs, "AFTER #r msgid=%s 1" % msgs[4].msgid) == \
        want([last], *TAGS3)


def test_replay_one_line(f):
    s, a, obs, msgs = room_history(f, 1)
    b = s.user("bob")
    b.join("#r")
    b.expect_exact_sequence(plain_replay("#r", [msgs[0].line]))
    b.no_line(ANY, sync=True, wait=0)


def test_replay_zero_lines_sends_nothing(f):
    s, a, obs, msgs = room_history(f, 3, "--history-lines", "0")
    b, c = s.user("bob"), v3(s, "carol", *TAGS3)
    for x in (b, c):
        x.join("#r")
        x.no_line(ANY, sync=True, wait=0)
    # The lines are still kept: CHATHISTORY finds them.
    assert ch(c, "LATEST #r * 10") == want(msgs, *TAGS3)


def test_replay_empty_room_sends_nothing(f):
    s = Server(f)
    a, b = s.user("alice"), v3(s, "bob", *TAGS3)
    a.join("#r")
    a.no_line(ANY, sync=True, wait=0)
    b.join("#r")
    b.no_line(ANY, sync=True, wait=0)
    a.send("TOPIC #r :events only")
    a.send("PART #r")
    a.join("#r")
    a.no_line(rx(r":irc\.test NOTICE #r .*"), sync=True, wait=0)


def test_replay_only_messages_of_that_room(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#r")
    join(a, b, room="#other")
    a.send("PRIVMSG #r :in r")
    a.send("PRIVMSG #other :in other")
    a.send("PRIVMSG bob :private")
    a.send("TOPIC #r :a topic")
    b.send("NICK bobby")
    b.expect(":bob!bob@127.0.0.1 NICK bobby")
    b.nick = b.name = "bobby"
    a.send("KICK #r bobby :out")
    b.expect(":alice!alice@127.0.0.1 KICK #r bobby :out")
    b.send("PART #other :bye")
    b.send("QUIT :gone")
    b.expect_closed()
    c = s.user("carol")
    c.send("JOIN #r")
    c.expect(numeric("366", "carol", "#r :End of /NAMES list"))
    c.expect_exact_sequence(plain_replay("#r", [
        ":alice!alice@127.0.0.1 PRIVMSG #r :in r"]))
    c.no_line(ANY, sync=True, wait=0)
    d = v3(s, "dave", *TAGS3)
    d.join("#R")                                 # any case finds the room
    got = batch(d, "chathistory", "#r")
    assert [re.sub(r"^@\S+ ", "", l) for l in got] == [
        ":alice!alice@127.0.0.1 PRIVMSG #r :in r"], got


def test_replay_after_names_and_topic(f):
    s = Server(f)
    a = s.user("alice")
    a.join("#r")
    a.send("TOPIC #r :the topic")
    a.send("PRIVMSG #r :hello")
    a.sync()
    b = s.user("bob")
    b.send("JOIN #r")
    b.expect_exact_sequence([
        ":bob!bob@127.0.0.1 JOIN #r",
        rx(r":irc\.test 332 bob #r :the topic"),
        rx(r":irc\.test 333 bob #r alice\S* \d+"),
        numeric("353", "bob", "= #r :@alice bob"),
        numeric("366", "bob", "#r :End of /NAMES list"),
    ] + plain_replay("#r", [":alice!alice@127.0.0.1 PRIVMSG #r :hello"]))


def test_replay_not_what_came_after_join(f):
    """Lines after a JOIN arrive live, never again as history."""
    s, a, obs, msgs = room_history(f, 2)
    b = v3(s, "bob", *TAGS3)
    b.join("#r")
    assert batch(b, "chathistory", "#r") == want(msgs, *TAGS3)
    a.expect(":bob!bob@127.0.0.1 JOIN #r")
    a.send("PRIVMSG #r :live")
    m = seen(b, ":alice!alice@127.0.0.1 PRIVMSG #r :live")
    b.no_line(ANY, sync=True, wait=0)
    b.send("PART #r")
    b.join("#r")
    assert batch(b, "chathistory", "#r") == want(msgs + [m], *TAGS3)


# --- persistence ---

def db_rows(db, key=None):
    """(msgid, params) of the messages in the file, oldest first."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        if key is None:
            rows = con.execute("SELECT msgid, params FROM message "
                               "ORDER BY seq").fetchall()
        else:
            rows = con.execute("SELECT msgid, params FROM message WHERE "
                               "key = ? ORDER BY seq", (key,)).fetchall()
    finally:
        con.close()
    return rows


def test_history_survives_restart(f):
    """The file keeps every line across a restart; a room made after the
    restart is a new room and starts its history afresh, with new
    msgids after the old ones."""
    db = f.path("h.db")
    s, a, obs, msgs = room_history(f, 4, "--db", db)
    a.send("PRIVMSG obs :a secret")
    pm = seen(obs, ":alice!alice@127.0.0.1 PRIVMSG obs :a secret")
    a.sync()
    s.stop()
    rc = s.returncode
    assert rc == 0, "natterd exit status %s after SIGTERM" % rc
    kept = db_rows(db)
    assert [m for m, _ in kept] == [m.msgid for m in msgs + [pm]], kept
    s2 = Server(f, "--db", db)
    b = s2.user("bob")
    b.join("#r")
    b.no_line(rx(r".*(PRIVMSG|NOTICE).*"), sync=True)
    c = v3(s2, "obs", *TAGS3)
    c.join("#r")
    assert ch(c, "LATEST #r * 10") == []
    assert ch(c, "LATEST alice * 10") == []
    b.send("PRIVMSG #r :after restart")
    m = seen(c, ":bob!bob@127.0.0.1 PRIVMSG #r :after restart")
    assert m.msgid not in [x.msgid for x in msgs + [pm]]
    assert ch(c, "LATEST #r * 100") == want([m], *TAGS3)
    s2.stop()
    assert [x for x, _ in db_rows(db)] == [x.msgid for x in msgs + [pm, m]]


def test_history_default_path(f):
    """No --db: $XDG_STATE_HOME/natterd/history.db (the harness points
    XDG_STATE_HOME into the test's folder)."""
    path = os.path.join(os.environ["XDG_STATE_HOME"], "natterd", "history.db")
    assert not os.path.exists(path)
    s, a, obs, msgs = room_history(f, 2)
    assert os.path.isfile(path), os.listdir(os.environ["XDG_STATE_HOME"])
    assert os.stat(path).st_mode & 0o777 == 0o600, oct(os.stat(path).st_mode)
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    s.stop()
    assert [m for m, _ in db_rows(path)] == [m.msgid for m in msgs]
    s2 = Server(f)
    # The port opens before the store does: the line may come a moment
    # after the server counts as started (slow under TSan).
    deadline = time.monotonic() + scaled(5)
    while "history in %s" % path not in s2.log_text():
        assert time.monotonic() < deadline, s2.log_text()
        time.sleep(0.05)


def test_history_db_creates_folders(f):
    db = f.path("a/b/c/h.db")
    s, a, obs, msgs = room_history(f, 1, "--db", db)
    assert os.path.isfile(db)
    assert os.stat(f.path("a/b")).st_mode & 0o777 == 0o700


def test_history_memory_keeps_nothing(f):
    s, a, obs, msgs = room_history(f, 2, "--db", ":memory:")
    assert not os.path.exists(f.path(":memory:"))
    assert not os.path.exists(os.environ["XDG_STATE_HOME"])
    assert ch(obs, "LATEST #r * 10") == want(msgs, *TAGS3)
    s.stop()
    s2 = Server(f, "--db", ":memory:")
    b = v3(s2, "bob", *TAGS3)
    b.join("#r")
    b.no_line(rx(r".*PRIVMSG.*"), sync=True, wait=0)
    b.drain()
    b.send("CHATHISTORY LATEST #r * 10")
    assert batch(b, "chathistory", "#r") == []


# --- CHATHISTORY ---

def test_chathistory_latest(f):
    s, a, obs, msgs = room_history(f, 6)
    assert ch(obs, "LATEST #r * 3") == want(msgs[3:], *TAGS3)
    assert ch(obs, "LATEST #r * 0") == want(msgs, *TAGS3)       # 0: 100
    assert ch(obs, "LATEST #r * 100") == want(msgs, *TAGS3)
    assert ch(obs, "latest #R * 1") == want(msgs[5:], *TAGS3)
    # After a msgid: the newest lines after it, it excluded.
    assert ch(obs, "LATEST #r msgid=%s 10" % msgs[2].msgid) == \
        want(msgs[3:], *TAGS3)
    assert ch(obs, "LATEST #r msgid=%s 2" % msgs[1].msgid) == \
        want(msgs[4:], *TAGS3)
    assert ch(obs, "LATEST #r msgid=%s 10" % msgs[5].msgid) == []


def test_chathistory_latest_timestamp(f):
    s, a, obs, msgs = room_history(f, 5, spaced=True)
    assert ch(obs, "LATEST #r timestamp=%s 10" % msgs[1].time) == \
        want(msgs[2:], *TAGS3)
    assert ch(obs, "LATEST #r %s 10" % EPOCH) == want(msgs, *TAGS3)
    assert ch(obs, "LATEST #r %s 10" % FUTURE) == []


def test_chathistory_before(f):
    s, a, obs, msgs = room_history(f, 8, spaced=True)
    assert ch(obs, "BEFORE #r msgid=%s 2" % msgs[5].msgid) == \
        want(msgs[3:5], *TAGS3)
    assert ch(obs, "BEFORE #r msgid=%s 100" % msgs[5].msgid) == \
        want(msgs[:5], *TAGS3)
    assert ch(obs, "BEFORE #r msgid=%s 10" % msgs[0].msgid) == []
    assert ch(obs, "BEFORE #r timestamp=%s 3" % msgs[5].time) == \
        want(msgs[2:5], *TAGS3)
    assert ch(obs, "BEFORE #r %s 0" % FUTURE) == want(msgs, *TAGS3)
    assert ch(obs, "BEFORE #r %s 10" % EPOCH) == []


def test_chathistory_after(f):
    s, a, obs, msgs = room_history(f, 8, spaced=True)
    assert ch(obs, "AFTER #r msgid=%s 2" % msgs[2].msgid) == \
        want(msgs[3:5], *TAGS3)
    assert ch(obs, "AFTER #r msgid=%s 100" % msgs[2].msgid) == \
        want(msgs[3:], *TAGS3)
    assert ch(obs, "AFTER #r msgid=%s 10" % msgs[7].msgid) == []
    assert ch(obs, "AFTER #r timestamp=%s 3" % msgs[2].time) == \
        want(msgs[3:6], *TAGS3)
    assert ch(obs, "AFTER #r %s 0" % EPOCH) == want(msgs, *TAGS3)
    assert ch(obs, "AFTER #r %s 10" % FUTURE) == []


def test_chathistory_around(f):
    s, a, obs, msgs = room_history(f, 9, spaced=True)
    got = ch(obs, "AROUND #r msgid=%s 5" % msgs[4].msgid)
    assert got == want(msgs[2:7], *TAGS3), got
    got = ch(obs, "AROUND #r msgid=%s 3" % msgs[0].msgid)
    assert got == want(msgs[0:2], *TAGS3) or \
        got == want(msgs[0:3], *TAGS3), got
    got = ch(obs, "AROUND #r timestamp=%s 5" % msgs[4].time)
    assert got == want(msgs[2:7], *TAGS3), got
    got = ch(obs, "AROUND #r msgid=%s 100" % msgs[4].msgid)
    assert got == want(msgs, *TAGS3), got


def test_chathistory_between(f):
    s, a, obs, msgs = room_history(f, 8, spaced=True)
    m = msgs
    assert ch(obs, "BETWEEN #r msgid=%s msgid=%s 10"
              % (m[1].msgid, m[5].msgid)) == want(m[2:5], *TAGS3)
    # Reversed bounds: the same lines, oldest first.
    assert ch(obs, "BETWEEN #r msgid=%s msgid=%s 10"
              % (m[5].msgid, m[1].msgid)) == want(m[2:5], *TAGS3)
    # A limit counts from the first bound's side.
    assert ch(obs, "BETWEEN #r msgid=%s msgid=%s 2"
              % (m[1].msgid, m[6].msgid)) == want(m[2:4], *TAGS3)
    assert ch(obs, "BETWEEN #r msgid=%s msgid=%s 2"
              % (m[6].msgid, m[1].msgid)) == want(m[4:6], *TAGS3)
    assert ch(obs, "BETWEEN #r timestamp=%s timestamp=%s 10"
              % (m[0].time, m[3].time)) == want(m[1:3], *TAGS3)
    assert ch(obs, "BETWEEN #r msgid=%s timestamp=%s 10"
              % (m[3].msgid, m[7].time)) == want(m[4:7], *TAGS3)
    assert ch(obs, "BETWEEN #r %s %s 0" % (EPOCH, FUTURE)) == \
        want(m, *TAGS3)
    assert ch(obs, "BETWEEN #r msgid=%s msgid=%s 10"
              % (m[3].msgid, m[4].msgid)) == []


def test_chathistory_unknown_msgid_is_empty(f):
    s, a, obs, msgs = room_history(f, 3)
    for q in ("LATEST #r msgid=%s 10", "BEFORE #r msgid=%s 10",
              "AFTER #r msgid=%s 10", "AROUND #r msgid=%s 10",
              "BETWEEN #r msgid=%s msgid=%s 10"):
        nope = "x" * 20
        got = ch(obs, q % ((nope,) * q.count("%s")))
        assert got == [], (q, got)


def test_chathistory_limit_capped_at_100(f):
    s = Server(f, *FULL_SPEED)
    obs = v3(s, "obs", *TAGS3)
    a = s.user("alice")
    join(obs, a, room="#r")
    settle(obs, a)
    a.send_raw(b"".join(b"PRIVMSG #r :n%d\r\n" % i for i in range(130)))
    msgs = [seen(obs, ":alice!alice@127.0.0.1 PRIVMSG #r :n%d" % i)
            for i in range(130)]
    assert len({m.msgid for m in msgs}) == 130
    assert ch(obs, "LATEST #r * 500") == want(msgs[30:], *TAGS3)
    assert ch(obs, "LATEST #r * 0") == want(msgs[30:], *TAGS3)
    assert ch(obs, "AFTER #r msgid=%s 101" % msgs[0].msgid) == \
        want(msgs[1:101], *TAGS3)
    assert ch(obs, "BEFORE #r msgid=%s 1000" % msgs[120].msgid) == \
        want(msgs[20:120], *TAGS3)
    assert ch(obs, "BETWEEN #r msgid=%s %s 0" % (msgs[0].msgid, FUTURE)) \
        == want(msgs[1:101], *TAGS3)


def test_replay_default_50_lines(f):
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    a.join("#r")
    a.send_raw(b"".join(b"PRIVMSG #r :n%d\r\n" % i for i in range(60)))
    a.sync()
    b = s.user("bob")
    b.join("#r")
    b.expect_exact_sequence(plain_replay(
        "#r", [":alice!alice@127.0.0.1 PRIVMSG #r :n%d" % i
               for i in range(10, 60)]))


def test_chathistory_paging_covers_everything(f):
    s, a, obs, msgs = room_history(f, 25)
    got, sel = [], EPOCH
    while True:
        page = ch(obs, "AFTER #r %s 7" % sel)
        if not page:
            break
        got += page
        sel = "msgid=" + re.search(r"msgid=([^; ]+)", page[-1]).group(1)
    assert got == want(msgs, *TAGS3)
    got, sel = [], "*"
    while True:
        page = ch(obs, ("LATEST #r * 7" if sel == "*" else
                        "BEFORE #r %s 7" % sel))
        if not page:
            break
        got = page + got
        sel = "msgid=" + re.search(r"msgid=([^; ]+)", page[0]).group(1)
    assert got == want(msgs, *TAGS3)


def test_chathistory_without_batch(f):
    s, a, obs, msgs = room_history(f, 3, members=(
        ("bob", ()), ("carol", ("server-time",)),
        ("dave", ("message-tags", "server-time"))))
    for c in s.members:
        caps = c.caps
        c.send("CHATHISTORY LATEST #r * 2")
        c.expect_exact_sequence(want(msgs[1:], *caps))
        c.no_line(ANY, sync=True, wait=0)


def test_chathistory_includes_own_and_notices(f):
    s, a, obs, msgs = room_history(f, 1)
    obs.send("NOTICE #r :from obs")
    a.expect(":obs!obs@127.0.0.1 NOTICE #r :from obs")
    got = ch(obs, "LATEST #r * 10")
    assert got[:1] == want(msgs, *TAGS3), got
    assert len(got) == 2 and re.fullmatch(
        r"@time=%s;msgid=%s :obs!obs@127\.0\.0\.1 NOTICE #r :from obs"
        % (TIME, MSGID), got[1]), got


def test_chathistory_errors(f):
    s, a, obs, msgs = room_history(f, 1)
    s.user("zed").join("#elsewhere")
    x = msgs[0].msgid
    for query, reply in (
            ("LATEST #r", "NEED_MORE_PARAMS LATEST :Insufficient parameters"),
            ("LATEST #r *", "NEED_MORE_PARAMS LATEST :Insufficient "
             "parameters"),
            ("BEFORE #r msgid=%s" % x, "NEED_MORE_PARAMS BEFORE "
             ":Insufficient parameters"),
            ("BETWEEN #r msgid=%s 10" % x, "NEED_MORE_PARAMS BETWEEN "
             ":Insufficient parameters"),
            ("TARGETS %s 10" % EPOCH, "NEED_MORE_PARAMS TARGETS "
             ":Insufficient parameters"),
            ("BEFORE #r * 10", "INVALID_PARAMS BEFORE :Expected msgid= or "
             "timestamp= and a limit"),
            ("LATEST #r * many", "INVALID_PARAMS LATEST :Expected msgid= or "
             "timestamp= and a limit"),
            ("LATEST #r * -1", "INVALID_PARAMS LATEST :Expected msgid= or "
             "timestamp= and a limit"),
            ("AFTER #r %s 10" % x, "INVALID_PARAMS AFTER :Expected msgid= "
             "or timestamp= and a limit"),
            ("AFTER #r msgid= 10", "INVALID_PARAMS AFTER :Expected msgid= "
             "or timestamp= and a limit"),
            ("AFTER #r timestamp=yesterday 10", "INVALID_PARAMS AFTER "
             ":Expected msgid= or timestamp= and a limit"),
            ("AFTER #r timestamp=2020-13-01T00:00:00.000Z 10",
             "INVALID_PARAMS AFTER :Expected msgid= or timestamp= and a "
             "limit"),
            ("BETWEEN #r msgid=%s * 10" % x, "INVALID_PARAMS BETWEEN "
             ":Expected msgid= or timestamp= and a limit"),
            ("TARGETS msgid=%s %s 10" % (x, FUTURE),
             "INVALID_PARAMS TARGETS :Expected two timestamp= bounds and a "
             "limit"),
            ("LATEST #nowhere * 10", "INVALID_TARGET LATEST #nowhere "
             ":Messages could not be retrieved"),
            ("LATEST #elsewhere * 10", "INVALID_TARGET LATEST #elsewhere "
             ":Messages could not be retrieved"),
            ("BEFORE 1bad %s 10" % FUTURE, "INVALID_TARGET BEFORE 1bad "
             ":Messages could not be retrieved"),
            ("FROBNICATE #r * 10", "UNKNOWN_COMMAND FROBNICATE :Unknown "
             "subcommand"),
            ("FROBNICATE", "UNKNOWN_COMMAND FROBNICATE :Unknown "
             "subcommand")):
        obs.send("CHATHISTORY " + query)
        obs.expect_exact_sequence([":irc.test FAIL CHATHISTORY " + reply])
    obs.send("CHATHISTORY")
    obs.expect(numeric("461", "obs", "CHATHISTORY :Not enough parameters"))
    # A room one has left is out of reach too.
    a.send("PART #r")
    a.expect(":alice!alice@127.0.0.1 PART #r")
    obs.expect(":alice!alice@127.0.0.1 PART #r")
    a.send("CHATHISTORY LATEST #r * 10")
    a.expect(":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST #r "
             ":Messages could not be retrieved")
    u = s.client()
    u.send("CHATHISTORY LATEST #r * 10")
    u.expect(numeric("451", "*", ":You have not registered"))
    obs.no_line(ANY, sync=True, wait=0)


def test_chathistory_private(f):
    s = Server(f)
    a = v3(s, "alice", *TAGS3)
    b = v3(s, "bob", *TAGS3)
    c = v3(s, "carol", *TAGS3)
    conv = say(a, "bob", ["hi bob", "how are you"], b, spaced=True)
    conv += say(b, "alice", ["fine"], a, spaced=True)
    conv += say(a, "bob", ["good"], b, cmd="NOTICE", spaced=True)
    other = say(a, "carol", ["hi carol"], c)
    assert conv[0].line == ":alice!alice@127.0.0.1 PRIVMSG bob :hi bob"
    assert conv[2].line == ":bob!bob@127.0.0.1 PRIVMSG alice :fine"
    a.sync()
    b.sync()
    assert ch(a, "LATEST bob * 10") == want(conv, *TAGS3)
    assert ch(b, "LATEST alice * 10") == want(conv, *TAGS3)
    assert ch(a, "LATEST BoB * 10", target="BoB") == want(conv, *TAGS3)
    assert ch(a, "LATEST carol * 10") == want(other, *TAGS3)
    assert ch(c, "LATEST alice * 10") == want(other, *TAGS3)
    assert ch(c, "LATEST bob * 10") == []
    assert ch(a, "BEFORE bob msgid=%s 10" % conv[2].msgid) == \
        want(conv[:2], *TAGS3)
    assert ch(b, "AFTER alice timestamp=%s 10" % conv[0].time) == \
        want(conv[1:], *TAGS3)
    assert ch(b, "BETWEEN alice msgid=%s msgid=%s 10"
              % (conv[0].msgid, conv[3].msgid)) == want(conv[1:3], *TAGS3)
    # Nobody else's conversation leaks by msgid.
    assert ch(c, "AFTER bob msgid=%s 10" % conv[0].msgid) == []
    # A nick that is offline still has its history with us.
    b.send("QUIT")
    b.expect_closed()
    assert ch(a, "LATEST bob * 10") == want(conv, *TAGS3)
    # A message to nobody is not kept.
    a.send("PRIVMSG nobody :lost")
    a.expect(numeric("401", "alice", "nobody :No such nick/channel"))
    assert ch(a, "LATEST nobody * 10") == []


def test_chathistory_private_follows_nick_not_case(f):
    s = Server(f)
    a = v3(s, "Alice", *TAGS3)
    b = v3(s, "bob", *TAGS3)
    conv = say(a, "BOB", ["one"], b)
    assert conv[0].line == ":Alice!Alice@127.0.0.1 PRIVMSG bob :one"
    assert ch(b, "LATEST alice * 10", target="alice") == want(conv, *TAGS3)
    assert ch(a, "LATEST Bob * 10", target="Bob") == want(conv, *TAGS3)


def targets_setup(f):
    """alice in #one and #two with bob; carol in #three.  Lines in a
    known order, 3 ms apart; returns (server, alice, bob, carol,
    {target: [times]} as alice sees her targets)."""
    s = Server(f)
    a = v3(s, "alice", *TAGS3)
    b = v3(s, "bob", *TAGS3)
    c = v3(s, "carol", *TAGS3)
    join(a, b, room="#one")
    join(a, b, room="#two")
    c.join("#three")
    settle(a, b, c)
    times = {}
    for sender, target, obs in ((b, "#one", a), (b, "alice", a),
                                (a, "#two", b), (b, "#one", a),
                                (c, "alice", a)):
        time.sleep(0.003)
        m = say(sender, target, ["to " + target], obs)[0]
        times.setdefault(target if target.startswith("#") else sender.nick,
                         []).append(m.time)
    c.send("PRIVMSG #three :alice is not in #three")
    c.send("PRIVMSG bob :nor in this conversation")
    c.sync()
    a.sync()
    return s, a, b, c, times


def shift(stamp, ms):
    """A server-time stamp moved by ms milliseconds."""
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    t += datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def targets_lines(times, upto=None):
    """The TARGETS lines for times (only those before upto)."""
    latest = {}
    for t, v in times.items():
        v = [x for x in v if upto is None or x < upto]
        if v:
            latest[t] = max(v)
    return [":irc.test CHATHISTORY TARGETS %s timestamp=%s" % (t, latest[t])
            for t in sorted(latest, key=lambda k: latest[k])]


def test_chathistory_targets(f):
    s, a, b, c, times = targets_setup(f)
    a.send("CHATHISTORY TARGETS %s %s 10" % (EPOCH, FUTURE))
    got = batch(a, "draft/chathistory-targets")
    assert got == targets_lines(times), (got, times)
    # The limit.
    a.send("CHATHISTORY TARGETS %s %s 1" % (EPOCH, FUTURE))
    got1 = batch(a, "draft/chathistory-targets")
    assert len(got1) == 1 and got1[0] in got, got1
    a.send("CHATHISTORY TARGETS %s %s 10" % (FUTURE, EPOCH))   # reversed
    assert batch(a, "draft/chathistory-targets") == got
    # A window: lines before its end only, bounds exclusive.  (It starts
    # after the JOINs, which the last test is about.)
    start = shift(times["#one"][0], -1)
    end = times["#two"][0]
    a.send("CHATHISTORY TARGETS timestamp=%s timestamp=%s 10" % (start, end))
    assert batch(a, "draft/chathistory-targets") == \
        targets_lines(times, upto=end)
    a.send("CHATHISTORY TARGETS timestamp=%s %s 10" % (times["carol"][0],
                                                       FUTURE))
    assert batch(a, "draft/chathistory-targets") == []
    a.send("CHATHISTORY TARGETS %s timestamp=2000-01-01T00:00:00.000Z 10"
           % EPOCH)
    assert batch(a, "draft/chathistory-targets") == []
    # Without batch: the lines alone.
    d = v3(s, "dave", "server-time", "message-tags")
    m = say(a, "dave", ["hello dave"], d)[0]
    d.send("CHATHISTORY TARGETS %s %s 10" % (EPOCH, FUTURE))
    d.expect_exact_sequence([":irc.test CHATHISTORY TARGETS alice "
                             "timestamp=%s" % m.time])
    d.no_line(ANY, sync=True, wait=0)


def test_chathistory_targets_only_messages(f):
    """A target's time is its latest message: JOINs, PARTs, TOPICs do not
    count, and a room with no message is no target."""
    s, a, b, c, times = targets_setup(f)
    a.join("#quiet")
    c.join("#one")
    b.send("TOPIC #two :topics are not messages")
    b.send("PART #one")
    b.sync()
    settle(a)
    a.send("CHATHISTORY TARGETS %s %s 10" % (EPOCH, FUTURE))
    got = batch(a, "draft/chathistory-targets")
    assert got == targets_lines(times), (got, times)


# --- live tags ---

def test_server_time_format(f):
    s = Server(f)
    a = s.user("alice")
    b = v3(s, "bob", "server-time")
    join(a, b, room="#r")
    before = datetime.datetime.now(datetime.timezone.utc)
    a.send("PRIVMSG #r :when")
    line = b.expect(rx(r"@time=\S+ :alice!alice@127\.0\.0\.1 PRIVMSG #r "
                       r":when"))
    after = datetime.datetime.now(datetime.timezone.utc)
    m = re.fullmatch(r"@time=(%s) .*" % TIME, line)
    assert m, line
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ") \
        .replace(tzinfo=datetime.timezone.utc)
    slack = datetime.timedelta(seconds=1)
    assert before - slack <= t <= after + slack, (before, t, after)
    a.send("PRIVMSG bob :direct")
    b.expect(rx(r"@time=%s :alice!alice@127\.0\.0\.1 PRIVMSG bob :direct"
                % TIME))


def test_message_tags_relay(f):
    s = Server(f)
    a = v3(s, "alice", "message-tags")
    plain = s.user("plain")
    mt = v3(s, "mt", "message-tags")
    st = v3(s, "st", "server-time")
    both = v3(s, "both", "message-tags", "server-time")
    join(a, plain, mt, st, both, room="#r")
    settle(a, plain, mt, st, both)
    a.send("@+draft/reply=x1;+example.com/k=v\\sw;+flag;label=mine;msgid=fake"
           " PRIVMSG #r :tagged")
    body = ":alice!alice@127.0.0.1 PRIVMSG #r :tagged"
    ctags = "+draft/reply=x1;+example.com/k=v\\sw;+flag"
    line = both.expect(re.compile(r"@time=%s;msgid=%s;%s %s" % (
        TIME, MSGID, re.escape(ctags), re.escape(body))))
    m = re.fullmatch(r"@time=(%s);msgid=(%s);.*" % (TIME, MSGID), line)
    assert m, line
    tm, mid = m.groups()
    assert mid != "fake"
    mt.expect_exact_sequence(["@msgid=%s;%s %s" % (mid, ctags, body)])
    st.expect_exact_sequence(["@time=%s %s" % (tm, body)])
    plain.expect_exact_sequence([body])
    a.no_line(ANY, sync=True, wait=0)          # no echo-message
    # Private messages carry them too.
    a.send("@+typing=done PRIVMSG mt :psst")
    mt.expect(rx(r"@msgid=%s;\+typing=done :alice!alice@127\.0\.0\.1 "
                 r"PRIVMSG mt :psst" % MSGID))
    a.send("@+typing=done PRIVMSG plain :psst")
    plain.expect_exact_sequence([":alice!alice@127.0.0.1 PRIVMSG plain :psst"])
    # A sender without message-tags: its tags are dropped.
    plain.send("@+draft/reply=x1 PRIVMSG #r :untagged")
    mt.expect(rx(r"@msgid=%s :plain!plain@127\.0\.0\.1 PRIVMSG #r :untagged"
                 % MSGID))
    # Each message gets its own msgid.
    a.send("PRIVMSG #r :one")
    a.send("PRIVMSG #r :two")
    ids = [re.match(r"@msgid=(\S+?)[; ]", mt.expect(rx(
        r"@msgid=\S+ :alice!alice@127\.0\.0\.1 PRIVMSG #r :%s", t))).group(1)
        for t in ("one", "two")]
    assert len(set(ids + [mid])) == 3, (ids, mid)


def test_echo_message(f):
    s = Server(f)
    a = v3(s, "alice", "echo-message")
    full = v3(s, "full", "echo-message", "message-tags", "server-time")
    b = v3(s, "bob", "message-tags", "server-time")
    p = s.user("plain")
    join(a, full, b, p, room="#r")
    settle(a, full, b, p)
    a.send("PRIVMSG #r :echo me")
    a.expect_exact_sequence([":alice!alice@127.0.0.1 PRIVMSG #r :echo me"])
    p.expect(":alice!alice@127.0.0.1 PRIVMSG #r :echo me")
    a.send("NOTICE #r :notice me")
    a.expect_exact_sequence([":alice!alice@127.0.0.1 NOTICE #r :notice me"])
    a.send("PRIVMSG plain :direct")
    a.expect_exact_sequence([":alice!alice@127.0.0.1 PRIVMSG plain :direct"])
    p.expect(":alice!alice@127.0.0.1 PRIVMSG plain :direct")
    # With tags: the echo is the very line the others received.
    full.send("@+draft/reply=r1 PRIVMSG #r :tagged echo")
    echo = full.expect(rx(r"@time=%s;msgid=%s;\+draft/reply=r1 "
                          r":full!full@127\.0\.0\.1 PRIVMSG #r :tagged echo"
                          % (TIME, MSGID)))
    b.expect(echo)
    a.expect(":full!full@127.0.0.1 PRIVMSG #r :tagged echo")
    full.send("PRIVMSG bob :dm echo")
    echo = full.expect(rx(r"@time=%s;msgid=%s :full!full@127\.0\.0\.1 "
                          r"PRIVMSG bob :dm echo" % (TIME, MSGID)))
    b.expect(echo)
    # Errors are not echoed, and nothing without the cap.
    a.send("PRIVMSG #nowhere :lost")
    a.expect_exact_sequence([numeric("403", "alice",
                                     "#nowhere :No such channel")])
    b.send("PRIVMSG #r :no echo")
    b.no_line(rx(r".*PRIVMSG #r :no echo"), sync=True, wait=0)


def test_tagmsg(f):
    s = Server(f)
    a = v3(s, "alice", "message-tags")
    e = v3(s, "echo", "message-tags", "echo-message")
    b = v3(s, "bob", "message-tags")
    p = s.user("plain")
    join(a, e, b, p, room="#r")
    settle(a, e, b, p)
    # A TAGMSG has a msgid of its own (never a stored one's).
    tmsgid = r"[0-9a-z]{11}u[0-9a-z]{9}"
    a.send("@+typing=active TAGMSG #r")
    got = b.expect_exact_sequence([rx(r"@msgid=%s;\+typing=active "
                                      r":alice!alice@127\.0\.0\.1 "
                                      r"TAGMSG #r" % tmsgid)])
    e.expect_exact_sequence([got[0]])
    for c in (a, p):
        c.no_line(ANY, sync=True, wait=0)
    e.send("@+typing=paused;label=z TAGMSG #r")
    line = e.expect_exact_sequence([rx(r"@msgid=%s;\+typing=paused "
                                       r":echo!echo@127\.0\.0\.1 "
                                       r"TAGMSG #r" % tmsgid)])[0]
    for c in (a, b):
        c.expect_exact_sequence([line])
    a.send("@+draft/react=x TAGMSG bob")
    b.expect_exact_sequence([rx(r"@msgid=%s;\+draft/react=x "
                                r":alice!alice@127\.0\.0\.1 TAGMSG bob"
                                % tmsgid)])
    a.send("@+draft/react=x TAGMSG plain")
    a.send("TAGMSG #r")                  # no client tag: nothing to send
    a.send("@+x TAGMSG nobody")
    a.expect_exact_sequence([numeric("401", "alice",
                                     "nobody :No such nick/channel")])
    for c in (p, b):
        c.no_line(ANY, sync=True, wait=0)
    # Only for message-tags clients, and never stored.
    p.send("@+typing=active TAGMSG #r")
    p.expect(numeric("421", "plain", "TAGMSG :Unknown command"))
    c = v3(s, "carol", *TAGS3)
    c.join("#r")
    c.no_line(rx(r".*TAGMSG.*"), sync=True, wait=0)
    c.drain()
    b.expect(":carol!carol@127.0.0.1 JOIN #r")
    assert ch(c, "LATEST #r * 10") == []
    b.send("CHATHISTORY LATEST alice * 10")
    b.no_line(ANY, sync=True, wait=0)


def test_extended_join(f):
    s = Server(f)
    p = s.user("plain")
    p.join("#r")
    a = v3(s, "alice", "extended-join", realname="Alice A")
    a.send("JOIN #r")
    a.expect(":alice!alice@127.0.0.1 JOIN #r * :Alice A")
    p.expect(":alice!alice@127.0.0.1 JOIN #r")
    a.expect(numeric("366", "alice", "#r :End of /NAMES list"))
    b = v3(s, "bob", "extended-join", realname="Bob Smith")
    b.send("JOIN #r")
    b.expect(":bob!bob@127.0.0.1 JOIN #r * :Bob Smith")
    a.expect(":bob!bob@127.0.0.1 JOIN #r * :Bob Smith")
    p.expect(":bob!bob@127.0.0.1 JOIN #r")


def test_events_not_stored(f):
    """JOIN, PART, QUIT, NICK, TOPIC and KICK are not kept: the room's
    history holds its messages only (looked up in the file)."""
    db = f.path("h.db")
    s = Server(f, "--db", db)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, c, room="#r")
    a.send("TOPIC #r :the topic")
    a.send("PRIVMSG #r :a line")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG #r :a line")
    b.send("NICK bobby")
    c.expect(":bob!bob@127.0.0.1 NICK bobby")
    a.send("KICK #r bobby :out")
    c.expect(":alice!alice@127.0.0.1 KICK #r bobby :out")
    c.send("PART #r :later")
    a.expect(":carol!carol@127.0.0.1 PART #r :later")
    c.join("#r")
    c.send("QUIT :gone")
    a.expect(":carol!carol@127.0.0.1 QUIT :Quit: gone")
    a.sync()
    s.stop()
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        rows = con.execute("SELECT command FROM message ORDER BY seq"
                           ).fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == ["PRIVMSG"], rows


# --- retention ---

def test_history_max(f):
    db = f.path("h.db")
    os.environ["NATTERD_PRUNE_INTERVAL_MS"] = "100"
    env = os.environ.get("NATTERD_PRUNE_INTERVAL_MS")
    s, a, obs, msgs = room_history(f, 5, "--db", db, "--history-max", "2")
    conv = say(a, "obs", ["p%d" % i for i in range(4)], obs)
    a.send("PRIVMSG #r :one more")
    msgs.append(seen(obs, ":alice!alice@127.0.0.1 PRIVMSG #r :one more"))
    a.sync()
    deadline = time.monotonic() + scaled(5)
    while True:
        got = ch(obs, "LATEST #r * 100")
        if got == want(msgs[-2:], *TAGS3) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if got != want(msgs[-2:], *TAGS3) and env is None:
        # No pruning seen while running: it must have happened by the
        # time a restarted server opens the file.
        s.stop()
        s = Server(f, "--db", db, "--history-max", "2")
        obs = v3(s, "obs", *TAGS3)
        obs.join("#r")
        settle(obs)
        got = ch(obs, "LATEST #r * 100")
    assert got == want(msgs[-2:], *TAGS3), got
    assert ch(obs, "LATEST alice * 100") == want(conv[-2:], *TAGS3)


def test_history_days(f):
    """--history-days: a line older than that is forgotten (an old line
    is written into the file directly, as an old natterd would have)."""
    db = f.path("h.db")
    os.environ["NATTERD_PRUNE_INTERVAL_MS"] = "100"
    s, a, obs, msgs = room_history(f, 1, "--db", db)
    s.stop()
    old_ms = int((time.time() - 3 * 86400) * 1000)
    con = sqlite3.connect(db)
    try:
        seq = con.execute("SELECT max(seq) FROM message").fetchone()[0]
        con.execute("INSERT INTO message (seq, msgid, time_ms, key, source,"
                    " command, params) VALUES (?, ?, ?, '#r', "
                    "'old!old@127.0.0.1', 'PRIVMSG', '#r :ancient')",
                    (seq + 1, "0" * 19 + "1", old_ms))
        con.commit()
    finally:
        con.close()
    # Kept without --history-days (and with more days than its age).
    for flags in ((), ("--history-days", "4")):
        s = Server(f, "--db", db, *flags)
        s.user("obs")
        time.sleep(0.5)
        s.stop()
        assert [p for _, p in db_rows(db)] == ["#r :m0", "#r :ancient"]
    s = Server(f, "--db", db, "--history-days", "2")
    deadline = time.monotonic() + scaled(5)
    while [p for _, p in db_rows(db)] != ["#r :m0"]:
        assert time.monotonic() < deadline, db_rows(db)
        time.sleep(0.05)


# --- databases natterd cannot use ---

def bad_db(f, path, *more):
    """natterd with --db path must print one line on stderr and exit 1."""
    cp = f.run("-l", "127.0.0.1", "-p", free_port(), "-n", "irc.test",
               "--db", path, *more, timeout=10)
    lines = [l for l in cp.stderr.splitlines() if l.strip()]
    assert cp.returncode == 1 and len(lines) == 1, \
        "exit status %s, stderr %r" % (cp.returncode, cp.stderr)
    assert "\n" not in cp.stderr.rstrip("\n"), cp.stderr
    return lines[0]


def test_db_corrupt(f):
    path = f.path("corrupt.db")
    with open(path, "wb") as fp:
        fp.write(os.urandom(64 * 1024))
    line = bad_db(f, path)
    assert "corrupt.db" in line, line
    # A real SQLite file damaged in its middle.
    path = f.path("damaged.db")
    s = Server(f, "--db", path, *FULL_SPEED)
    a = s.user("alice")
    a.join("#r")
    a.send_raw(b"".join(b"PRIVMSG #r :%d\r\n" % i for i in range(300)))
    a.sync()
    s.stop()
    for extra in ("-wal", "-shm"):
        if os.path.exists(path + extra):
            os.unlink(path + extra)
    size = os.path.getsize(path)
    with open(path, "r+b") as fp:
        fp.seek(0)
        fp.write(b"not an sqlite header!")
    assert size > 0
    bad_db(f, path)


def test_db_unwritable(f):
    blocker = f.write_file("plainfile", "x")
    bad_db(f, os.path.join(blocker, "sub", "h.db"))
    bad_db(f, os.path.join(blocker, "h.db"))
    os.mkdir(f.path("dir.db"))
    bad_db(f, f.path("dir.db"))


def test_db_unsafe_path(f):
    """A database path that is a symbolic link, or in a folder others can
    write to, is refused in one line before anything is opened."""
    real = f.write_file("real.db", "")
    link = f.path("link.db")
    os.symlink(real, link)
    assert bad_db(f, link) == ("natterd: %s: is a symbolic link; give the "
                               "file's real path" % link)
    assert os.path.getsize(real) == 0
    shared = f.path("shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    assert bad_db(f, os.path.join(shared, "h.db")) == (
        "natterd: %s: folder is writable by others (mode 0777); chmod go-w %s"
        % (shared, shared))
    assert os.listdir(shared) == []
    os.chmod(shared, 0o700)
    s = Server(f, "--db", os.path.join(shared, "h.db"))
    s.user("alice")


def test_db_locked_for_a_while(f):
    """Another process holding the database's write lock for a while
    does not switch history off: natterd says so once, keeps the line,
    and stores it once the lock goes; later lines are stored too."""
    db = f.path("h.db")
    s, a, obs, msgs = room_history(f, 1, "--db", db)
    con = sqlite3.connect(db, isolation_level=None, timeout=10)
    con.execute("BEGIN IMMEDIATE")
    try:
        a.send("PRIVMSG #r :held")
        deadline = time.monotonic() + scaled(10)
        while "cannot commit" not in s.log_text():
            assert time.monotonic() < deadline, s.log_text()[-800:]
            time.sleep(0.05)
    finally:
        con.execute("ROLLBACK")
        con.close()
    held = obs.expect(rx(r"@\S+ :alice!alice@127\.0\.0\.1 PRIVMSG #r :held"),
                      timeout=scaled(10))
    a.send("PRIVMSG #r :after")
    obs.expect(rx(r"@\S+ :alice!alice@127\.0\.0\.1 PRIVMSG #r :after"))
    got = [re.sub(r"^@\S+ ", "", l) for l in ch(obs, "LATEST #r * 10")]
    assert got == [msgs[0].line, ":alice!alice@127.0.0.1 PRIVMSG #r :held",
                   ":alice!alice@127.0.0.1 PRIVMSG #r :after"], (held, got)
    log = s.log_text()
    assert log.count("cannot commit: database is locked") == 1, log[-800:]
    assert log.count("commits work again after") == 1, log[-800:]
    assert "history is off" not in log


def test_db_newer_schema(f):
    path = f.path("future.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    line = bad_db(f, path)
    assert "future.db" in line, line


def test_db_one_server_per_file(f):
    path = f.path("h.db")
    s = Server(f, "--db", path)
    bad_db(f, path)
    assert s.alive()
    s.stop()
    s2 = Server(f, "--db", path)
    assert s2.alive()


def test_db_sync(f):
    """--db-sync: the file is opened at the level asked for (full when
    none is); a level natterd does not know is a usage error."""
    for level in ("off", "normal", "full", None):
        db = f.path("sync-%s.db" % level)
        s = Server(f, "--db", db, *(("--db-sync", level) if level else ()))
        s.user("alice")
        want = "history in %s (--db-sync %s)" % (db, level or "full")
        assert want in s.log_text(), s.log_text()
        s.stop()
    cp = f.run("-l", "127.0.0.1", "-p", free_port(), "--db-sync", "bogus")
    lines = cp.stderr.splitlines()
    assert cp.returncode == 2 and cp.stdout == "", (cp.returncode, cp.stdout)
    assert lines[0] == ("natterd: --db-sync: invalid value 'bogus' "
                        "(expected off, normal or full)"), cp.stderr
    assert lines[1].startswith("usage: natterd "), cp.stderr


def test_db_empty_file_is_fine(f):
    path = f.write_file("empty.db", "")
    s, a, obs, msgs = room_history(f, 1, "--db", path)
    assert os.path.getsize(path) > 0 or os.path.exists(path + "-wal")


def test_history_off(f):
    # --db off: no store at all.  Messages still carry a msgid and a
    # time; nothing is replayed or found, and chathistory is not offered.
    s = Server(f, "--db", "off")
    c = s.client("probe")
    words = cap_ls_words(c)
    assert "batch" in words and "draft/chathistory" not in words, words
    c.send("CAP REQ :draft/chathistory")
    c.expect(":irc.test CAP * NAK :draft/chathistory")
    c.send("CAP REQ :batch message-tags server-time")
    c.expect(":irc.test CAP * ACK :batch message-tags server-time")
    c.name = c.nick = "probe"
    c.send("NICK probe")
    c.send("USER probe 0 * :probe")
    c.send("CAP END")
    welcome = c.expect_welcome()
    isupport = " ".join(l for l in welcome if " 005 " in l)
    assert "CHATHISTORY=" not in isupport and "MSGREFTYPES" not in isupport
    a = s.user("alice")
    join(a, c, room="#r")
    a.send("PRIVMSG #r :not kept")
    got = c.expect(rx(r"@\S+ :alice!alice@127\.0\.0\.1 PRIVMSG #r :not kept"))
    assert re.search(r"[@;]msgid=[^; ]+", got) and "time=" in got, got
    late = s.user("late")
    lines = late.join("#r")
    assert not any("not kept" in l for l in lines + late.drain(0.3)), lines
    c.expect(rx(r"(@\S+ )?:late!late@127\.0\.0\.1 JOIN #r"))
    c.send("CHATHISTORY LATEST #r * 10")
    assert batch(c, "chathistory", "#r") == []
    assert "history off: nothing is stored" in s.log_text()
    state = os.path.join(f.path("state"), "natterd")
    assert not os.path.exists(os.path.join(state, "history.db"))
