"""Edge cases: UTF8ONLY for every relayed text, rfc1459 room casemapping,
list and mode-count limits, length limits."""

import re

from harness import FULL_SPEED, Server, join, numeric, rx

BAD = b"\xff\xfe\xc3("          # not UTF-8

# (command sent by alice as bytes, the kind of line bob would see)
BAD_TEXT_COMMANDS = [
    (b"PRIVMSG #u :" + BAD, "PRIVMSG"),
    (b"NOTICE #u :" + BAD, "NOTICE"),
    (b"TOPIC #u :" + BAD, "TOPIC"),
    (b"PART #u :" + BAD, "PART"),
    (b"KICK #u bob :" + BAD, "KICK"),
    (b"AWAY :" + BAD, "AWAY"),
]


def test_invalid_utf8_never_relayed(f):
    """UTF8ONLY: whatever the server does with a non-UTF-8 parameter
    (FAIL, or cleaning it), no other client receives invalid UTF-8."""
    s = Server(f)
    bob = s.user("bob")
    bad = []
    for i, (raw, kind) in enumerate(BAD_TEXT_COMMANDS):
        room = "#u%d" % i
        a = s.user("a" + kind.lower())
        join(a, bob, room=room)
        a.send_raw(raw.replace(b"#u", room.encode()) + b"\r\n")
        if kind == "AWAY":
            bob.send("PRIVMSG %s :are you there" % a.nick)
        a.sync()
        bob.sync()
        bad += [l for l in bob.drain() if "\ufffd" in l]
    assert not bad, "invalid UTF-8 relayed to another client: %s" % bad


def test_quit_with_invalid_utf8_still_quits(f):
    """RFC 2812 3.1.7: QUIT ends the session, whatever the reason says.
    Rejecting it (FAIL ... INVALID_UTF8) leaves the client connected."""
    s = Server(f)
    a, bob = s.user("alice"), s.user("bob")
    join(a, bob, room="#q")
    a.send_raw(b"QUIT :" + BAD + b"\r\n")
    lines = a.expect_closed(timeout=3)
    assert lines and lines[-1].startswith("ERROR :Closing Link: 127.0.0.1"), lines
    line = bob.expect(rx(r":alice!alice@127\.0\.0\.1 QUIT :.*"))
    assert "\ufffd" not in line, "invalid UTF-8 relayed: %r" % line


def test_invalid_utf8_realname_and_away(f):
    s = Server(f)
    a = s.client()
    a.send_raw(b"NICK alice\r\nUSER alice 0 * :" + BAD + b"\r\n")
    a.expect(rx(r"(:irc\.test 001 alice .*|(:irc\.test )?FAIL USER .*|:irc\.test 4\d\d .*)"))
    b = s.user("bob")
    b.send("WHOIS alice")
    lines = b.read_until(rx(r":irc\.test 318 bob alice :.*"))
    assert not any("\ufffd" in l for l in lines), lines
    c = s.user("carol")
    c.send_raw(b"AWAY :" + BAD + b"\r\n")
    c.sync()
    b.send("PRIVMSG carol :hi")
    b.sync()
    assert not any("\ufffd" in l for l in b.drain()), b.history[-3:]


def test_invalid_utf8_room_name(f):
    s = Server(f)
    a = s.user("alice")
    a.send_raw(b"JOIN #bad" + BAD + b"\r\n")
    line = a.next_line()
    assert re.fullmatch(r"(:irc\.test (403|476|479) alice .*|(:irc\.test )?FAIL JOIN .*)",
                        line), line


ROOM_CASE = [
    ("#Room", "#room"),
    ("#a[1]", "#A{1}"),
    ("#x\\y", "#X|Y"),
]


def test_room_casemapping(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    for created, other in ROOM_CASE:
        a.join(created)
        b.send("JOIN " + other)
        b.expect(":bob!bob@127.0.0.1 JOIN " + created)
        b.send("PRIVMSG %s :hi" % other)
        a.expect(":bob!bob@127.0.0.1 PRIVMSG %s :hi" % created)


def test_ban_list_full(f):
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    a.join("#bans")
    for i in range(0, 100, 4):
        a.send("MODE #bans +bbbb " + " ".join("n%d!*@*" % k for k in range(i, i + 4)))
    a.send("MODE #bans +b")
    lines = a.read_until(numeric("368", "alice", "#bans :End of channel ban list"))
    assert sum(" 367 " in l for l in lines) == 100, "MAXLIST=b:100: %d bans listed" % \
        sum(" 367 " in l for l in lines)
    a.send("MODE #bans +b extra!*@*")
    a.expect(numeric("478", "alice", "#bans b :Channel list is full"))


def test_modes_per_line_limit(f):
    s = Server(f)
    a = s.user("alice")
    others = [s.user("v%d" % i) for i in range(5)]
    join(a, *others, room="#m")
    a.send("MODE #m +vvvvv v0 v1 v2 v3 v4")
    line = a.expect(rx(r":alice!alice@127\.0\.0\.1 MODE #m \+v+ .*"))
    applied = line.split()[4]
    assert len(applied) - 1 <= 4, "MODES=4 but %s applied in one line: %s" % (
        len(applied) - 1, line)


def test_away_length(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.send("AWAY :" + "a" * 300)
    a.expect(numeric("306", "alice", ":You have been marked as being away"))
    b.send("PRIVMSG alice :x")
    line = b.expect(rx(r":irc\.test 301 bob alice :a+"))
    assert len(line.split(" :", 1)[1]) <= 200, "AWAYLEN=200: %d" % len(line.split(" :", 1)[1])


def test_kick_reason_length(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#k")
    a.send("KICK #k bob :" + "r" * 450)
    line = b.expect(rx(r":alice!alice@127\.0\.0\.1 KICK #k bob :r+"))
    assert len(line.split(" :", 1)[1]) <= 390, "KICKLEN=390: %d" % len(line.split(" :", 1)[1])


def test_part_and_rejoin_many_times(f):
    s = Server(f, *FULL_SPEED)
    a, b = s.user("alice"), s.user("bob")
    a.join("#flip")
    for i in range(50):
        b.send("JOIN #flip")
        b.send("PART #flip :%d" % i)
    a.expect(":bob!bob@127.0.0.1 PART #flip :49")
    a.send("NAMES #flip")
    a.expect(numeric("353", "alice", "= #flip :@alice"))
