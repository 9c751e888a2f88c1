"""Permissions, table-driven (51 rows): who may speak, change modes, kick, set the
topic, join, and whom a private message reaches.

Four users share one server: alice (who creates each row's room, so its
op), bob (a plain member), carol (an outsider, unless a row lets her in)
and eve (the one banned, kept out or voiced, as the row needs).  Each row
of PERMISSIONS gets a fresh room with the row's members and alice's setup
lines, then one user sends one line.  The row states the exact lines that
user gets back (checked up to a PING round trip, nothing else before it)
and the exact lines each other user sees (nothing, for a refused action).
"Nothing leaked" is checked by a marker: alice then sends each of the
others a private message, and it must be the very next line they get, so
a line that leaked would show up before it.

Allowed counterparts of some refusals are rows too ("control"), so a row
that refuses for the wrong reason cannot pass.
"""

import collections
import re

from harness import FULL_SPEED, Server, numeric

USERS = ("alice", "bob", "carol", "eve")
ANY = re.compile(".*")


def who(nick):
    return "%s!%s@127.0.0.1" % (nick, nick)


def err(code, nick, rest):
    return numeric(code, nick, rest)


def not_op(nick):
    return err("482", nick, "{room} :You're not channel operator")


def cannot_send(nick):
    return err("404", nick, "{room} :Cannot send to channel")


def not_on(nick):
    return err("442", nick, "{room} :You're not on that channel")


Row = collections.namedtuple("Row", "name actor line reply members setup sees")


def row(name, actor, line, reply=(), members=("bob",), setup=(), sees=None):
    """members join the room after alice; setup: lines alice sends then;
    sees: {nick: [lines]} the others see (default: nothing)."""
    return Row(name, actor, line, list(reply), tuple(members), list(setup),
               dict(sees or {}))


def joined(nick, names):
    """What nick gets for joining a room whose names list is names."""
    return [":%s JOIN {room}" % who(nick),
            numeric("353", nick, "= {room} :%s" % names),
            numeric("366", nick, "{room} :End of /NAMES list")]


def to_members(line, *nicks):
    return {n: [line] for n in nicks}


PERMISSIONS = [
    # --- +n: no messages from outside ---
    row("outsider PRIVMSG to a +n room", "carol", "PRIVMSG {room} :hi",
        [cannot_send("carol")]),
    row("outsider NOTICE to a +n room", "carol", "NOTICE {room} :hi"),
    row("outsider PRIVMSG to a +n room among other targets", "carol",
        "PRIVMSG {room},bob :both",
        [cannot_send("carol")],
        sees={"bob": [":%s PRIVMSG bob :both" % who("carol")]}),
    row("control: outsider PRIVMSG once the room is -n", "carol",
        "PRIVMSG {room} :hi", setup=["MODE {room} -n"],
        sees=to_members(":%s PRIVMSG {room} :hi" % who("carol"),
                        "alice", "bob")),

    # --- only ops change modes ---
    row("member sets +m", "bob", "MODE {room} +m", [not_op("bob")]),
    row("member sets +i", "bob", "MODE {room} +i", [not_op("bob")]),
    row("member sets +k", "bob", "MODE {room} +k sesame", [not_op("bob")]),
    row("member sets +l", "bob", "MODE {room} +l 5", [not_op("bob")]),
    row("member bans", "bob", "MODE {room} +b carol!*@*", [not_op("bob")]),
    row("member ops itself", "bob", "MODE {room} +o bob", [not_op("bob")]),
    row("member deops the op", "bob", "MODE {room} -o alice", [not_op("bob")]),
    row("member voices itself", "bob", "MODE {room} +v bob", [not_op("bob")]),
    row("member clears -nt", "bob", "MODE {room} -nt", [not_op("bob")]),
    row("voiced member sets +m", "bob", "MODE {room} +m", [not_op("bob")],
        setup=["MODE {room} +v bob"]),
    row("outsider sets +m", "carol", "MODE {room} +m", [not_on("carol")]),
    row("control: op sets +m", "alice", "MODE {room} +m",
        [":%s MODE {room} +m" % who("alice")],
        sees=to_members(":%s MODE {room} +m" % who("alice"), "bob")),

    # --- only ops kick ---
    row("member kicks the op", "bob", "KICK {room} alice :out",
        [not_op("bob")]),
    row("member kicks another member", "bob", "KICK {room} eve :out",
        [not_op("bob")], members=("bob", "eve")),
    row("voiced member kicks", "bob", "KICK {room} eve", [not_op("bob")],
        members=("bob", "eve"), setup=["MODE {room} +v bob"]),
    row("outsider kicks", "carol", "KICK {room} bob", [not_on("carol")]),
    row("control: op kicks", "alice", "KICK {room} bob :out",
        [":%s KICK {room} bob :out" % who("alice")],
        sees=to_members(":%s KICK {room} bob :out" % who("alice"), "bob")),

    # --- +t: only ops set the topic ---
    row("member sets the topic of a +t room", "bob", "TOPIC {room} :mine",
        [not_op("bob")]),
    row("voiced member sets the topic of a +t room", "bob",
        "TOPIC {room} :mine", [not_op("bob")], setup=["MODE {room} +v bob"]),
    row("outsider sets the topic", "carol", "TOPIC {room} :mine",
        [not_on("carol")], setup=["MODE {room} -t"]),
    row("control: member sets the topic of a -t room", "bob",
        "TOPIC {room} :mine", [":%s TOPIC {room} :mine" % who("bob")],
        setup=["MODE {room} -t"],
        sees=to_members(":%s TOPIC {room} :mine" % who("bob"), "alice")),

    # --- bans ---
    row("banned nick joins", "eve", "JOIN {room}",
        [err("474", "eve", "{room} :Cannot join channel (+b)")],
        setup=["MODE {room} +b eve!*@*"]),
    row("banned user name joins", "eve", "JOIN {room}",
        [err("474", "eve", "{room} :Cannot join channel (+b)")],
        setup=["MODE {room} +b *!eve@*"]),
    row("banned wildcard nick joins", "eve", "JOIN {room}",
        [err("474", "eve", "{room} :Cannot join channel (+b)")],
        setup=["MODE {room} +b E?E!*@*"]),
    row("banned member speaks", "eve", "PRIVMSG {room} :let me",
        [cannot_send("eve")], members=("bob", "eve"),
        setup=["MODE {room} +b eve!*@*"]),
    row("banned member sends a NOTICE", "eve", "NOTICE {room} :let me",
        members=("bob", "eve"), setup=["MODE {room} +b eve!*@*"]),
    row("banned outsider speaks to a -n room", "eve", "PRIVMSG {room} :hi",
        [cannot_send("eve")], setup=["MODE {room} -n", "MODE {room} +b eve"]),
    row("control: unbanned user joins", "eve", "JOIN {room}",
        joined("eve", "@alice bob eve"),
        setup=["MODE {room} +b eve!*@*", "MODE {room} -b eve!*@*"],
        sees=to_members(":%s JOIN {room}" % who("eve"), "alice", "bob")),

    # --- +k ---
    row("JOIN a +k room without the key", "carol", "JOIN {room}",
        [err("475", "carol", "{room} :Cannot join channel (+k)")],
        setup=["MODE {room} +k sesame"]),
    row("JOIN a +k room with a wrong key", "carol", "JOIN {room} sesam",
        [err("475", "carol", "{room} :Cannot join channel (+k)")],
        setup=["MODE {room} +k sesame"]),
    row("JOIN a +k room with the key in other case", "carol",
        "JOIN {room} SESAME",
        [err("475", "carol", "{room} :Cannot join channel (+k)")],
        setup=["MODE {room} +k sesame"]),
    row("JOIN a +k room with the key of another room", "carol",
        "JOIN #elsewhere,{room} sesame,other", [
            ":%s JOIN #elsewhere" % who("carol"),
            numeric("353", "carol", "= #elsewhere :@carol"),
            numeric("366", "carol", "#elsewhere :End of /NAMES list"),
            err("475", "carol", "{room} :Cannot join channel (+k)")],
        setup=["MODE {room} +k sesame"]),
    row("outsider reads the modes of a +k room", "carol", "MODE {room}",
        [numeric("324", "carol", "{room} +knt *"), re.compile(
            r":irc\.test 329 carol {room} \d+")],
        setup=["MODE {room} +k sesame"]),
    row("control: JOIN a +k room with the key", "carol", "JOIN {room} sesame",
        joined("carol", "@alice bob carol"), setup=["MODE {room} +k sesame"],
        sees=to_members(":%s JOIN {room}" % who("carol"), "alice", "bob")),

    # --- +i, +l, +m ---
    row("JOIN a +i room uninvited", "carol", "JOIN {room}",
        [err("473", "carol", "{room} :Cannot join channel (+i)")],
        setup=["MODE {room} +i"]),
    row("member invites to a +i room", "bob", "INVITE carol {room}",
        [not_op("bob")], setup=["MODE {room} +i"]),
    row("outsider invites", "eve", "INVITE carol {room}", [not_on("eve")]),
    row("JOIN a full +l room", "carol", "JOIN {room}",
        [err("471", "carol", "{room} :Cannot join channel (+l)")],
        setup=["MODE {room} +l 2"]),
    row("unvoiced member speaks in a +m room", "bob", "PRIVMSG {room} :hm",
        [cannot_send("bob")], setup=["MODE {room} +m"]),
    row("control: voiced member speaks in a +m room", "bob",
        "PRIVMSG {room} :hm", setup=["MODE {room} +m", "MODE {room} +v bob"],
        sees=to_members(":%s PRIVMSG {room} :hm" % who("bob"), "alice")),

    # --- private messages reach only their target ---
    row("private message between members", "alice", "PRIVMSG bob :psst",
        members=("bob", "carol", "eve"),
        sees={"bob": [":%s PRIVMSG bob :psst" % who("alice")]}),
    row("private NOTICE between members", "alice", "NOTICE bob :psst",
        members=("bob", "carol", "eve"),
        sees={"bob": [":%s NOTICE bob :psst" % who("alice")]}),
    row("private message to an outsider", "bob", "PRIVMSG carol :psst",
        sees={"carol": [":%s PRIVMSG carol :psst" % who("bob")]}),
    row("private message to two nicks", "alice", "PRIVMSG bob,carol :psst",
        members=("bob", "carol", "eve"),
        sees={"bob": [":%s PRIVMSG bob :psst" % who("alice")],
              "carol": [":%s PRIVMSG carol :psst" % who("alice")]}),
    row("private message with the room's case-folded nick", "alice",
        "PRIVMSG BOB :psst",
        sees={"bob": [":%s PRIVMSG bob :psst" % who("alice")]}),
    row("private message to nobody", "alice", "PRIVMSG nobody :psst",
        [err("401", "alice", "nobody :No such nick/channel")],
        members=("bob", "carol", "eve")),

    # --- server operators only ---
    row("KILL by a non-oper", "bob", "KILL carol :go",
        [err("481", "bob", ":Permission Denied- You're not an IRC operator")]),
]


def setup_row(clients, n, r):
    room = "#p%d" % n
    alice = clients["alice"]
    alice.join(room)
    for nick in r.members:
        clients[nick].join(room)
    for line in r.setup:
        alice.send(line.format(room=room))
    for c in clients.values():      # every echo and JOIN is in, then gone
        c.sync()
    for c in clients.values():
        c.drain()
    return room


def fmt(lines, room):
    return [re.compile(l.pattern.replace("{room}", re.escape(room)))
            if isinstance(l, re.Pattern) else l.format(room=room)
            for l in lines]


def check(c, got, want):
    for i, (line, pat) in enumerate(zip(got, want)):
        ok = pat.fullmatch(line) if isinstance(pat, re.Pattern) else line == pat
        if not ok:
            raise AssertionError("%s: line %d: expected %r, got %r"
                                 % (c.name, i + 1, pat, line))
    if len(got) != len(want):
        raise AssertionError("%s: expected %r, got %r" % (c.name, want, got))


def run_row(clients, n, r):
    room = setup_row(clients, n, r)
    actor = clients[r.actor]
    actor.send(r.line.format(room=room))
    actor.send("PING :%s" % room)
    got = actor.read_until(":irc.test PONG irc.test :%s" % room)[:-1]
    check(actor, got, fmt(r.reply, room))
    others = [(nick, c) for nick, c in clients.items() if c is not actor]
    for nick, c in others:
        clients["alice"].send("PRIVMSG %s :marker %d" % (nick, n))
    for nick, c in others:
        marker = ":%s PRIVMSG %s :marker %d" % (who("alice"), nick, n)
        got = c.read_until(marker)
        check(c, got, fmt(r.sees.get(nick, []), room) + [marker])
        c.no_line(ANY, wait=0)
    actor.no_line(ANY, sync=True, wait=0)
    # Leave every room, quietly for the next row.
    for c in clients.values():
        c.send("JOIN 0")
    for c in clients.values():
        c.sync()
    for c in clients.values():
        c.drain()


def test_permissions(f):
    s = Server(f, "--db", ":memory:", "--history-lines", "0",
               *FULL_SPEED)
    clients = {nick: s.user(nick) for nick in USERS}
    failures = []
    for n, r in enumerate(PERMISSIONS, 1):
        try:
            run_row(clients, n, r)
        except AssertionError as e:
            failures.append("row %d (%s): %s" % (n, r.name, e))
            for c in clients.values():
                c.send("JOIN 0")
                c.sync()
                c.drain()
    if failures:
        raise AssertionError("%d of %d rows failed:\n  %s"
                             % (len(failures), len(PERMISSIONS),
                                "\n  ".join(failures)))
