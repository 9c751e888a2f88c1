"""Issue 13, section 1: mode parameter errors (696), KICK with several
rooms and nicks, and the msgid and time of a TAGMSG.

696 is Modern IRC's ERR_INVALIDMODEPARAM,
"<client> <target chan/user> <mode char> <parameter> :<description>";
KICK is RFC 2812 3.2.8; msgid and time are the IRCv3 message-ids and
server-time specifications, which TAGMSG (message-tags) follows.
"""

import re

from harness import Server, join, numeric, prefix, rx

ANY = re.compile(".*")
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
MSGID = r"[0-9a-z]{11}u[0-9a-z]{9}"


def op_room(f, *nicks, room="#room"):
    s = Server(f)
    users = [s.user(n) for n in nicks]
    join(*users, room=room)
    return s, users


def test_rfc13_mode_limit_missing_value(f):
    s, (a,) = op_room(f, "alice")
    a.send("MODE #room +l")
    a.expect_exact_sequence([numeric("696", "alice",
                                     "#room l * :You must specify a limit")])
    a.no_line(ANY, sync=True, wait=0)


def test_rfc13_mode_limit_invalid_value(f):
    s, (a, b) = op_room(f, "alice", "bob")
    for bad in ("abc", "0", "-5", "12x", "99999999999"):
        a.send("MODE #room +l %s" % bad)
        a.expect_exact_sequence([numeric(
            "696", "alice", "#room l %s :Invalid limit"
            % bad)])
    # A value that cannot be a middle parameter shows as "*".
    a.send("MODE #room +l :1 2")
    a.expect_exact_sequence([numeric(
        "696", "alice", "#room l * :Invalid limit")])
    # Nothing changed: no MODE line to anyone.
    for c in (a, b):
        c.no_line(rx(r".* MODE #room.*"), sync=True, wait=0)


def test_rfc13_mode_other_param_errors(f):
    s, (a, b) = op_room(f, "alice", "bob")
    # Each missing parameter is its own 696, once per letter, in order;
    # no 461.
    a.send("MODE #room +kklo")
    a.expect_exact_sequence([
        numeric("696", "alice", "#room k * :You must specify a key"),
        numeric("696", "alice", "#room l * :You must specify a limit"),
        numeric("696", "alice", "#room o * :You must specify a nick"),
    ])
    a.send("MODE #room +v")
    a.expect_exact_sequence([
        numeric("696", "alice", "#room v * :You must specify a nick")])
    # An invalid key is 696 too (it was 525).
    a.send("MODE #room +k a,b")
    a.expect_exact_sequence([
        numeric("696", "alice", "#room k a,b :Key is not well-formed")])
    a.send("MODE #room +k " + "x" * 24)
    a.expect_exact_sequence([
        numeric("696", "alice", "#room k %s :Key is not well-formed"
                % ("x" * 24))])
    a.send("MODE #room +b ::x")
    a.expect_exact_sequence([numeric("696", "alice",
                                     "#room b * :Invalid mask")])
    # What is valid still applies around the errors.
    a.send("MODE #room +lk 5")
    a.expect_exact_sequence([
        numeric("696", "alice", "#room k * :You must specify a key"),
        ":%s MODE #room +l 5" % prefix("alice")])
    b.expect(":%s MODE #room +l 5" % prefix("alice"))
    for c in (a, b):
        c.no_line(rx(r":irc\.test (461|525) .*"), sync=True, wait=0)


def kick_setup(f):
    s = Server(f)
    a, b, c, d = (s.user(n) for n in ("alice", "bob", "carol", "dave"))
    join(a, b, c, d, room="#a")
    join(a, b, c, d, room="#b")
    for x in (a, b, c, d):
        x.sync()
        x.drain()
    return s, (a, b, c, d)


def members(c, room):
    c.send("NAMES %s" % room)
    line = c.expect(rx(r":irc\.test 353 %s [=*@] %s :.*", c.nick, room))
    c.expect(rx(r":irc\.test 366 %s %s :.*", c.nick, room))
    return set(n.lstrip("@+") for n in line.split(" :", 1)[1].split())


def test_rfc13_kick_pairs_rooms_and_nicks(f):
    s, (a, b, c, d) = kick_setup(f)
    a.send("KICK #a,#b bob,carol :bye")
    # Each kick is one line, one room, one nick, in the order given.
    a.expect_exact_sequence([
        ":%s KICK #a bob :bye" % prefix("alice"),
        ":%s KICK #b carol :bye" % prefix("alice")])
    # Everyone was in both rooms, so everyone sees both.
    for x in (b, c, d):
        x.expect_exact_sequence([
            ":%s KICK #a bob :bye" % prefix("alice"),
            ":%s KICK #b carol :bye" % prefix("alice")])
    # bob is still in #b, carol still in #a.
    assert members(a, "#a") == {"alice", "carol", "dave"}
    assert members(a, "#b") == {"alice", "bob", "dave"}
    for x in (b, c, d):
        x.no_line(rx(r".* KICK .*"), sync=True, wait=0)


def test_rfc13_kick_one_room_many_nicks(f):
    s, (a, b, c, d) = kick_setup(f)
    a.send("KICK #a bob,carol")
    want = [":%s KICK #a bob :alice" % prefix("alice"),
            ":%s KICK #a carol :alice" % prefix("alice")]
    a.expect_exact_sequence(want)
    d.expect_exact_sequence(want)
    assert members(a, "#a") == {"alice", "dave"}
    assert members(a, "#b") == {"alice", "bob", "carol", "dave"}


def test_rfc13_kick_pairs_errors(f):
    s, (a, b, c, d) = kick_setup(f)
    # Neither one room nor one room per nick: 461, nobody kicked.
    a.send("KICK #a,#b bob")
    a.expect_exact_sequence([numeric("461", "alice",
                                     "KICK :Not enough parameters")])
    a.send("KICK #a,#b bob,carol,dave")
    a.expect_exact_sequence([numeric("461", "alice",
                                     "KICK :Not enough parameters")])
    # An error in one pair does not stop the next.
    a.send("KICK #nowhere,#b bob,carol :x")
    a.expect_exact_sequence([
        numeric("403", "alice", "#nowhere :No such channel"),
        ":%s KICK #b carol :x" % prefix("alice")])
    # A pair with an empty side is skipped; the positions still hold.
    a.send("KICK #a,,#b bob,carol,dave :y")
    a.expect_exact_sequence([
        ":%s KICK #a bob :y" % prefix("alice"),
        ":%s KICK #b dave :y" % prefix("alice")])
    for x in (b, c, d):
        x.sync()
    assert members(a, "#a") == {"alice", "carol", "dave"}
    assert members(a, "#b") == {"alice", "bob"}


def caps_user(s, nick, *caps):
    c = s.client(nick)
    c.send("CAP REQ :%s" % " ".join(caps))
    c.expect(":irc.test CAP * ACK :%s" % " ".join(caps))
    c.send("CAP END")
    c.register(nick)
    return c


def test_rfc13_tagmsg_msgid_and_time(f):
    s = Server(f)
    a = caps_user(s, "alice", "message-tags", "echo-message")
    t = caps_user(s, "tim", "message-tags", "server-time")
    m = caps_user(s, "max", "message-tags")
    join(a, t, m, room="#r")
    for x in (a, t, m):
        x.sync()
        x.drain()
    body = ":%s TAGMSG #r" % prefix("alice")
    a.send("@+typing=active TAGMSG #r")
    got = t.expect(rx(r"@time=%s;msgid=(%s);\+typing=active " % (TIME, MSGID)
                      + re.escape(body)))
    mid = re.search(r"msgid=(%s);" % MSGID, got).group(1)
    # The same msgid for every recipient and the echo; time only for
    # those who asked for server-time.
    m.expect_exact_sequence(["@msgid=%s;+typing=active %s" % (mid, body)])
    a.expect_exact_sequence(["@msgid=%s;+typing=active %s" % (mid, body)])
    # Each TAGMSG its own msgid; to a person too.
    a.send("@+draft/react=x TAGMSG tim")
    body = ":%s TAGMSG tim" % prefix("alice")
    got = t.expect(rx(r"@time=%s;msgid=(%s);\+draft/react=x " % (TIME, MSGID)
                      + re.escape(body)))
    mid2 = re.search(r"msgid=(%s);" % MSGID, got).group(1)
    assert mid2 != mid
    a.expect_exact_sequence(["@msgid=%s;+draft/react=x %s" % (mid2, body)])
    m.no_line(ANY, sync=True, wait=0)
