"""Room modes (o v i k l m n t b) and user modes (i w, 221, 501, 502)."""

import re

from harness import Server, join, numeric, rx

ANY = re.compile(".*")


def setup(f, *nicks, room="#room"):
    """A server; the first nick creates room (and is op), the rest join."""
    s = Server(f)
    users = [s.user(n) for n in nicks]
    join(*users, room=room)
    return s, users


def mode(op, args, *watchers, room="#room", expect=None):
    """op sends "MODE room args"; op and watchers see the echo
    ":op!op@127.0.0.1 MODE room <expect or args>"."""
    op.send("MODE %s %s" % (room, args))
    want = ":%s!%s@127.0.0.1 MODE %s %s" % (op.nick, op.nick, room,
                                            expect or args)
    for who in (op,) + watchers:
        who.expect(want)


def test_mode_query(f):
    s, (a,) = setup(f, "alice")
    a.send("MODE #room")
    line = a.expect(rx(r":irc\.test 324 alice #room \+[a-z]*"))
    a.expect(rx(r":irc\.test 329 alice #room \d+"))
    mode(a, "+kl key 5")
    a.send("MODE #room")
    line = a.expect(rx(r":irc\.test 324 alice #room \+\S+ .*"))
    flags, *params = line.split()[4:]
    assert set("kl") <= set(flags) and params == ["key", "5"], line


def test_mode_query_hides_key_from_outsiders(f):
    s, (a,) = setup(f, "alice")
    b = s.user("bob")
    mode(a, "+k sesame")
    b.send("MODE #room")
    line = b.expect(rx(r":irc\.test 324 bob #room .*"))
    assert "sesame" not in line, line


def test_op_and_voice(f):
    s, (a, b, c) = setup(f, "alice", "bob", "carol")
    mode(a, "+o bob", b, c)
    mode(a, "+v carol", b, c)
    a.send("NAMES #room")
    line = a.expect(rx(r":irc\.test 353 alice = #room :.*"))
    assert set(line.split(" :", 1)[1].split()) == {"@alice", "@bob", "+carol"}, line
    mode(b, "-o alice", a, c)
    b.send("MODE #room -v carol")
    for who in (a, b, c):
        who.expect(":bob!bob@127.0.0.1 MODE #room -v carol")
    a.send("MODE #room +o alice")
    a.expect(numeric("482", "alice", "#room :You're not channel operator"))


def test_multiple_modes_one_line(f):
    s, (a, b, c) = setup(f, "alice", "bob", "carol")
    a.send("MODE #room +ov bob carol")
    for who in (a, b, c):
        who.expect(":alice!alice@127.0.0.1 MODE #room +ov bob carol")


def test_mode_op_errors(f):
    s, (a, b) = setup(f, "alice", "bob")
    cases = [
        (b, "MODE #room +m", numeric("482", "bob", "#room :You're not channel operator")),
        (a, "MODE #room +o nobody", rx(r":irc\.test (401|441) alice nobody .*")),
        (a, "MODE #room +z", numeric("472", "alice", "z :is unknown mode char to me")),
        (a, "MODE #nowhere +m", numeric("403", "alice", "#nowhere :No such channel")),
        (a, "MODE", numeric("461", "alice", "MODE :Not enough parameters")),
    ]
    for who, line, want in cases:
        who.send(line)
        got = who.next_line()
        ok = re.fullmatch(want, got) if isinstance(want, re.Pattern) else got == want
        assert ok, "%s %r: expected %r, got %r" % (who.name, line, want, got)


def test_invite_only(f):
    s, (a,) = setup(f, "alice")
    b = s.user("bob")
    mode(a, "+i")
    b.send("JOIN #room")
    b.expect(numeric("473", "bob", "#room :Cannot join channel (+i)"))
    a.send("INVITE bob #room")
    a.expect(numeric("341", "alice", "bob #room"))
    b.expect(rx(r":alice!alice@127\.0\.0\.1 INVITE bob :?#room"))
    b.join("#room")
    a.expect(":bob!bob@127.0.0.1 JOIN #room")
    # The invitation is used up once bob is in.
    b.send("PART #room")
    b.expect(":bob!bob@127.0.0.1 PART #room")
    b.send("JOIN #room")
    b.expect(rx(r":irc\.test (473|:bob!bob@127\.0\.0\.1 JOIN) .*"))


def test_key(f):
    s, (a,) = setup(f, "alice")
    b = s.user("bob")
    mode(a, "+k sesame")
    for attempt in ("JOIN #room", "JOIN #room wrong", "JOIN #room SESAME"):
        b.send(attempt)
        got = b.next_line()
        assert got == numeric("475", "bob", "#room :Cannot join channel (+k)"), \
            "%r: got %r" % (attempt, got)
    b.join("#room", "sesame")
    a.send("MODE #room +k other")
    a.expect(numeric("467", "alice", "#room :Channel key already set"))
    a.send("MODE #room -k sesame")
    for who in (a, b):     # the old key, or "*" as many servers show
        who.expect(rx(r":alice!alice@127\.0\.0\.1 MODE #room -k (sesame|\*)"))
    s.user("carol").join("#room")


def test_key_needs_param(f):
    s, (a,) = setup(f, "alice")
    a.send("MODE #room +k")
    a.expect(numeric("696", "alice", "#room k * :You must specify a key"))


def test_limit(f):
    s, (a,) = setup(f, "alice")
    b, c = s.user("bob"), s.user("carol")
    mode(a, "+l 2")
    b.join("#room")
    c.send("JOIN #room")
    c.expect(numeric("471", "carol", "#room :Cannot join channel (+l)"))
    mode(a, "-l", b)
    c.join("#room")


def test_limit_bad_value(f):
    s, (a,) = setup(f, "alice")
    a.send("MODE #room +l abc")
    a.expect(numeric("696", "alice", "#room l abc :Invalid limit"))
    a.send("MODE #room")
    line = a.expect(rx(r":irc\.test 324 alice #room .*"))
    assert "l" not in line.split()[4], line


def test_moderated(f):
    s, (a, b, c) = setup(f, "alice", "bob", "carol")
    mode(a, "+m", b, c)
    b.send("PRIVMSG #room :unvoiced")
    b.expect(numeric("404", "bob", "#room :Cannot send to channel"))
    c.no_line(rx(r".*unvoiced.*"), sync=True, wait=0)
    mode(a, "+v bob", b, c)
    b.send("PRIVMSG #room :voiced now")
    c.expect(":bob!bob@127.0.0.1 PRIVMSG #room :voiced now")
    a.send("PRIVMSG #room :op talks")
    c.expect(":alice!alice@127.0.0.1 PRIVMSG #room :op talks")


def test_no_external(f):
    s, (a,) = setup(f, "alice")
    b = s.user("bob")
    a.send("MODE #room +n")          # may already be set: no echo then
    a.sync()
    b.send("PRIVMSG #room :outside")
    b.expect(numeric("404", "bob", "#room :Cannot send to channel"))
    mode(a, "-n")
    b.send("PRIVMSG #room :outside ok")
    a.expect(":bob!bob@127.0.0.1 PRIVMSG #room :outside ok")


def test_new_room_default_modes(f):
    s, (a,) = setup(f, "alice")
    a.send("MODE #room")
    line = a.expect(rx(r":irc\.test 324 alice #room \+\S*"))
    assert set(line.split()[4][1:]) == set("nt"), \
        "new rooms are usually +nt: %r" % line


def test_topic_lock(f):
    s, (a, b) = setup(f, "alice", "bob")
    a.send("MODE #room +t")
    a.sync()
    b.send("TOPIC #room :mine")
    b.expect(numeric("482", "bob", "#room :You're not channel operator"))
    a.send("TOPIC #room :ops only")
    b.expect(":alice!alice@127.0.0.1 TOPIC #room :ops only")
    mode(a, "-t", b)
    b.send("TOPIC #room :anyone")
    a.expect(":bob!bob@127.0.0.1 TOPIC #room :anyone")


BAN_MASKS = [
    ("bob!*@*", "bob"),
    ("*!bob@*", "bob"),
    ("*!*@127.0.0.1", "bob"),
    ("BOB!*@*", "bob"),          # rfc1459 case-insensitive
    ("b?b!*@*", "bob"),
    ("{x}!*@*", "[x]"),
]


def test_ban_masks(f):
    s = Server(f)
    a = s.user("alice")
    a.join("#room")
    for i, (mask, nick) in enumerate(BAN_MASKS):
        room = "#ban%d" % i
        a.join(room)
        mode(a, "+b " + mask, room=room)
        v = s.user(nick, user="bob")
        v.send("JOIN " + room)
        got = v.next_line()
        assert got == numeric("474", nick, "%s :Cannot join channel (+b)" % room), \
            "ban %s, %s joins: got %r" % (mask, nick, got)
        v.send("QUIT")
        v.expect_closed()


def test_ban_normalizes_mask_and_lists(f):
    s, (a,) = setup(f, "alice")
    mode(a, "+b bob", expect="+b bob!*@*")
    mode(a, "+b *@10.0.0.1", expect="+b *!*@10.0.0.1")
    a.send("MODE #room +b")
    a.expect_exact_sequence([
        rx(r":irc\.test 367 alice #room bob!\*@\* (alice|alice!alice@127\.0\.0\.1) \d+"),
        rx(r":irc\.test 367 alice #room \*!\*@10\.0\.0\.1 \S+ \d+"),
        numeric("368", "alice", "#room :End of channel ban list"),
    ])
    mode(a, "-b bob!*@*")
    a.send("MODE #room b")
    a.expect_exact_sequence([
        rx(r":irc\.test 367 alice #room \*!\*@10\.0\.0\.1 \S+ \d+"),
        numeric("368", "alice", "#room :End of channel ban list"),
    ])


def test_ban_list_by_non_op(f):
    s, (a, b) = setup(f, "alice", "bob")
    mode(a, "+b eve!*@*", b, expect="+b eve!*@*")
    b.send("MODE #room +b")
    b.expect(rx(r":irc\.test 367 bob #room eve!\*@\* \S+ \d+"))
    b.expect(numeric("368", "bob", "#room :End of channel ban list"))


def test_banned_member_cannot_speak(f):
    s, (a, b, c) = setup(f, "alice", "bob", "carol")
    mode(a, "+b bob!*@*", b, c)
    b.send("PRIVMSG #room :am I banned")
    b.expect(numeric("404", "bob", "#room :Cannot send to channel"))
    c.no_line(rx(r".*am I banned.*"), sync=True, wait=0)
    mode(a, "+v bob", b, c)          # voice overrides a ban
    b.send("PRIVMSG #room :voiced")
    c.expect(":bob!bob@127.0.0.1 PRIVMSG #room :voiced")


def test_ban_after_nick_change(f):
    s, (a,) = setup(f, "alice")
    b = s.user("bob")
    mode(a, "+b evil!*@*")
    b.send("NICK evil")
    b.expect(":bob!bob@127.0.0.1 NICK evil")
    b.nick = "evil"
    b.send("JOIN #room")
    b.expect(numeric("474", "evil", "#room :Cannot join channel (+b)"))


def test_invite_overrides_ban(f):
    s, (a,) = setup(f, "alice")
    b = s.user("bob")
    mode(a, "+b bob!*@*")
    a.send("INVITE bob #room")
    a.expect(numeric("341", "alice", "bob #room"))
    b.join("#room")


# --- user modes ---

def test_user_mode_invisible(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.send("MODE alice")
    a.expect(numeric("221", "alice", "+"))
    a.send("MODE alice +i")
    a.expect(":alice MODE alice :+i")
    a.send("MODE alice")
    a.expect(numeric("221", "alice", "+i"))
    a.send("MODE alice +i")              # no change: no reply
    a.no_line(rx(r".*MODE.*"), sync=True, wait=0)
    b.send("LUSERS")
    b.expect(numeric("251", "bob", ":There are 1 users and 1 invisible on 1 servers"))
    a.send("MODE alice -i")
    a.expect(":alice MODE alice :-i")


def test_user_mode_errors(f):
    s = Server(f)
    a = s.user("alice")
    s.user("bob")
    a.send("MODE bob +i")
    a.expect(numeric("502", "alice", ":Cant change mode for other users"))
    a.send("MODE bob")
    a.expect(numeric("502", "alice", ":Cant change mode for other users"))
    a.send("MODE alice +Z")
    a.expect(numeric("501", "alice", ":Unknown MODE flag"))
    a.send("MODE nobody")
    a.expect(numeric("401", "alice", "nobody :No such nick/channel"))


def test_user_mode_cannot_self_oper(f):
    s = Server(f)
    a = s.user("alice")
    a.send("MODE alice +o")
    a.no_line(rx(r":alice MODE alice :\+o"), sync=True, wait=0)
    a.send("MODE alice")
    a.expect(numeric("221", "alice", "+"))


def test_user_mode_wallops_flag(f):
    s = Server(f)
    a = s.user("alice")
    a.send("MODE alice +wi")
    line = a.expect(rx(r":alice MODE alice :\+[wi]{2}"))
    a.send("MODE alice")
    line = a.expect(rx(r":irc\.test 221 alice \+[iw]{2}"))
