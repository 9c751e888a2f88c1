"""Queries: WHO, WHOIS, WHOWAS, AWAY, ISON, USERHOST, VERSION, TIME, ADMIN,
INFO, LUSERS, LIST, NAMES."""

import re

from harness import CAP_LS_302, Server, join, numeric, rx

# What natterd offers to CAP LS 302 (with values: sasl's mechanisms).

ANY = re.compile(".*")


def test_who_room(f):
    s = Server(f)
    a = s.user("alice", realname="Alice Real")
    b = s.user("bob", user="bobu", realname="Bob Real")
    join(a, b, room="#room")
    a.send("WHO #room")
    lines = a.read_until(numeric("315", "alice", "#room :End of WHO list"))
    got = sorted(l for l in lines if " 352 " in l)
    assert got == sorted([
        numeric("352", "alice", "#room alice 127.0.0.1 irc.test alice H@ :0 Alice Real"),
        numeric("352", "alice", "#room bobu 127.0.0.1 irc.test bob H :0 Bob Real"),
    ]), lines


def test_who_nick_and_away_flag(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob", realname="Bob R")
    b.send("AWAY :out")
    b.expect(numeric("306", "bob", ":You have been marked as being away"))
    a.send("WHO bob")
    a.expect_exact_sequence([
        numeric("352", "alice", "* bob 127.0.0.1 irc.test bob G :0 Bob R"),
        numeric("315", "alice", "bob :End of WHO list"),
    ])


def test_who_hides_invisible_outsiders(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, room="#room")
    b.send("MODE bob +i")
    b.expect(":bob MODE bob :+i")
    c.send("WHO #room")
    lines = c.read_until(numeric("315", "carol", "#room :End of WHO list"))
    who = [l.split()[7] for l in lines if " 352 " in l]
    assert who == ["alice"], "an invisible user listed to a non-member: %s" % lines
    a.send("WHO #room")
    lines = a.read_until(numeric("315", "alice", "#room :End of WHO list"))
    assert sorted(l.split()[7] for l in lines if " 352 " in l) == ["alice", "bob"], lines


def test_whois(f):
    s = Server(f)
    a = s.user("alice")
    b = s.user("bob", user="bobu", realname="Bob Real")
    b.join("#room")
    a.send("WHOIS bob")
    lines = a.read_until(numeric("318", "alice", "bob :End of /WHOIS list"))
    assert lines[0] == numeric("311", "alice", "bob bobu 127.0.0.1 * :Bob Real"), lines
    want = [
        numeric("311", "alice", "bob bobu 127.0.0.1 * :Bob Real"),
        rx(r":irc\.test 319 alice bob :@#room"),
        rx(r":irc\.test 312 alice bob irc\.test :.*"),
        rx(r":irc\.test 317 alice bob \d+ \d+ :seconds idle, signon time"),
        numeric("318", "alice", "bob :End of /WHOIS list"),
    ]
    for p in want:
        assert any(re.fullmatch(p, l) if isinstance(p, re.Pattern) else p == l
                   for l in lines), "WHOIS lacks %s: %s" % (p, lines)
    codes = [l.split()[1] for l in lines]
    assert codes.index("312") < codes.index("317") < codes.index("318"), lines


def test_whois_unknown(f):
    s = Server(f)
    a = s.user("alice")
    a.send("WHOIS nobody")
    a.expect_exact_sequence([
        numeric("401", "alice", "nobody :No such nick/channel"),
        numeric("318", "alice", "nobody :End of /WHOIS list"),
    ])
    a.send("WHOIS")
    a.expect(rx(r":irc\.test (431|461) alice .*"))


def test_whois_away_and_oper(f):
    s = Server(f, "--oper", "admin:secret")
    a, b = s.user("alice"), s.user("bob")
    b.send("OPER admin secret")
    b.expect(numeric("381", "bob", ":You are now an IRC operator"))
    b.send("AWAY :busy")
    b.expect(numeric("306", "bob", ":You have been marked as being away"))
    a.send("WHOIS bob")
    lines = a.read_until(numeric("318", "alice", "bob :End of /WHOIS list"))
    assert numeric("301", "alice", "bob :busy") in lines, lines
    assert numeric("313", "alice", "bob :is an IRC operator") in lines, lines


def test_whowas(f):
    s = Server(f)
    a = s.user("alice")
    b = s.user("bob", user="bobu", realname="Bob Real")
    b.send("QUIT :bye")
    b.expect_closed()
    a.send("WHOWAS bob")
    a.expect(numeric("314", "alice", "bob bobu 127.0.0.1 * :Bob Real"))
    a.expect(numeric("369", "alice", "bob :End of WHOWAS"))


def test_whowas_after_nick_change(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    b.send("NICK robert")
    b.expect(":bob!bob@127.0.0.1 NICK robert")
    a.send("WHOWAS BOB")
    a.expect(rx(r":irc\.test 314 alice bob bob 127\.0\.0\.1 \* :bob"))
    a.expect(rx(r":irc\.test 369 alice (bob|BOB) :End of WHOWAS"))


def test_whowas_unknown(f):
    s = Server(f)
    a = s.user("alice")
    a.send("WHOWAS nobody")
    a.expect_exact_sequence([
        numeric("406", "alice", "nobody :There was no such nickname"),
        numeric("369", "alice", "nobody :End of WHOWAS"),
    ])


def test_away(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.send("AWAY :gone to lunch")
    a.expect(numeric("306", "alice", ":You have been marked as being away"))
    b.send("PRIVMSG alice :you there?")
    b.expect(numeric("301", "bob", "alice :gone to lunch"))
    a.expect(":bob!bob@127.0.0.1 PRIVMSG alice :you there?")
    b.send("NOTICE alice :notice")       # no 301 for NOTICE
    b.no_line(rx(r".* 301 .*"), sync=True, wait=0)
    a.send("AWAY")
    a.expect(numeric("305", "alice", ":You are no longer marked as being away"))
    b.send("PRIVMSG alice :back?")
    a.expect(":bob!bob@127.0.0.1 PRIVMSG alice :back?")
    b.no_line(rx(r".* 301 .*"), sync=True, wait=0)


def test_ison(f):
    s = Server(f)
    a = s.user("alice")
    s.user("Bob")
    a.send("ISON bob nobody alice")
    a.expect(rx(r":irc\.test 303 alice :(Bob alice|alice Bob) ?"))
    a.send("ISON nobody")
    a.expect(rx(r":irc\.test 303 alice : ?"))
    a.send("ISON")
    a.expect(numeric("461", "alice", "ISON :Not enough parameters"))


def test_userhost(f):
    s = Server(f, "--oper", "admin:secret")
    a, b = s.user("alice"), s.user("bob", user="bobu")
    a.send("USERHOST bob")
    a.expect(numeric("302", "alice", ":bob=+bobu@127.0.0.1"))
    b.send("AWAY :x")
    b.expect(numeric("306", "bob", ":You have been marked as being away"))
    b.send("OPER admin secret")
    b.expect(numeric("381", "bob", ":You are now an IRC operator"))
    a.send("USERHOST bob nobody alice")
    a.expect(numeric("302", "alice", ":bob*=-bobu@127.0.0.1 alice=+alice@127.0.0.1"))
    a.send("USERHOST")
    a.expect(numeric("461", "alice", "USERHOST :Not enough parameters"))


def test_version_and_ping_order(f):
    s = Server(f)
    a = s.user("alice")
    a.send_raw(b"VERSION\r\nPING x\r\n")
    first = a.next_line()
    assert re.fullmatch(r":irc\.test 351 alice natterd-0\.1\.0 irc\.test :.*", first), first
    rest = a.read_until(":irc.test PONG irc.test :x")
    assert all(l.startswith(":irc.test 005 alice ") for l in rest[:-1]), \
        "between 351 and PONG: %s" % rest
    a.no_line(ANY, wait=0.05)


def test_time(f):
    s = Server(f)
    a = s.user("alice")
    a.send("TIME")
    a.expect(rx(r":irc\.test 391 alice irc\.test :.*\d.*"))
    a.send("TIME other.server")
    a.expect(numeric("402", "alice", "other.server :No such server"))


def test_admin(f):
    s = Server(f)
    a = s.user("alice")
    a.send("ADMIN")
    a.expect_exact_sequence([
        numeric("256", "alice", "irc.test :Administrative info"),
        rx(r":irc\.test 257 alice :.*"),
        rx(r":irc\.test 258 alice :.*"),
        rx(r":irc\.test 259 alice :.*"),
    ])


def test_info(f):
    s = Server(f)
    a = s.user("alice")
    a.send("INFO")
    lines = a.read_until(numeric("374", "alice", ":End of INFO list"))
    assert len(lines) >= 2 and all(re.fullmatch(r":irc\.test 371 alice :.*", l)
                                   for l in lines[:-1]), lines


def test_lusers_counts_registered_only(f):
    s = Server(f)
    a = s.user("alice")
    u = s.client("unregistered")
    u.send("CAP LS 302")              # the server has seen this one
    u.expect_exact_sequence(CAP_LS_302)
    a.send("LUSERS")
    lines = a.read_until(rx(r":irc\.test 266 .*"))
    assert lines[0] == numeric(
        "251", "alice", ":There are 1 users and 0 invisible on 1 servers"), lines
    assert numeric("253", "alice", "1 :unknown connection(s)") in lines, lines
    assert numeric("255", "alice", ":I have 1 clients and 0 servers") in lines, lines
    assert numeric("265", "alice", "1 1 :Current local users 1, max 1") in lines, lines
    assert not any(" 252 " in l for l in lines), lines


def test_lusers_counts(f):
    s = Server(f, "--oper", "admin:secret")
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    c.send("MODE carol +i")
    c.expect(":carol MODE carol :+i")
    b.send("OPER admin secret")
    b.expect(numeric("381", "bob", ":You are now an IRC operator"))
    join(a, room="#one")
    join(b, room="#two")
    a.send("LUSERS")
    lines = a.read_until(rx(r":irc\.test 266 .*"))
    assert lines == [
        numeric("251", "alice", ":There are 2 users and 1 invisible on 1 servers"),
        numeric("252", "alice", "1 :operator(s) online"),
        numeric("254", "alice", "2 :channels formed"),
        numeric("255", "alice", ":I have 3 clients and 0 servers"),
        numeric("265", "alice", "3 3 :Current local users 3, max 3"),
        numeric("266", "alice", "3 3 :Current global users 3, max 3"),
    ], lines
    c.send("QUIT")
    c.expect_closed()
    a.send("LUSERS")
    lines = a.read_until(rx(r":irc\.test 266 .*"))
    assert numeric("265", "alice", "2 3 :Current local users 2, max 3") in lines, lines


def test_list(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#big")
    a.join("#small")
    a.send("TOPIC #big :big topic")
    a.expect(":alice!alice@127.0.0.1 TOPIC #big :big topic")
    b.expect(":alice!alice@127.0.0.1 TOPIC #big :big topic")
    b.send("LIST")
    lines = b.read_until(numeric("323", "bob", ":End of /LIST"))
    assert lines[0] == numeric("321", "bob", "Channel :Users  Name"), lines
    assert sorted(lines[1:-1]) == [
        numeric("322", "bob", "#big 2 :big topic"),
        numeric("322", "bob", "#small 1 :"),
    ], lines
    b.send("LIST #small")
    lines = b.read_until(numeric("323", "bob", ":End of /LIST"))
    assert numeric("322", "bob", "#small 1 :") in lines, lines
    assert not any("#big" in l for l in lines), lines


def test_list_hides_invite_only_rooms(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#secretish")
    a.send("MODE #secretish +i")
    a.expect(":alice!alice@127.0.0.1 MODE #secretish +i")
    b.send("LIST")
    lines = b.read_until(numeric("323", "bob", ":End of /LIST"))
    # +i rooms list members only to members (natterd's "secret rules");
    # a LIST entry is allowed, but it must not leak who is inside.
    assert not any("alice" in l for l in lines), lines


def test_names(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, room="#room")
    c.send("NAMES #room")
    line = c.expect(rx(r":irc\.test 353 carol = #room :.*"))
    assert set(line.split(" :", 1)[1].split()) == {"@alice", "bob"}, line
    c.expect(numeric("366", "carol", "#room :End of /NAMES list"))
    c.send("NAMES #none")
    c.expect_exact_sequence([numeric("366", "carol", "#none :End of /NAMES list")])


def test_names_hides_invisible_users_from_outsiders(f):
    # RFC 2812 3.2.5: invisible (+i) users are listed only to those who
    # share the room with them.
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, room="#hid")
    b.send("MODE bob +i")
    b.expect(":bob MODE bob :+i")
    c.send("NAMES #hid")
    line = c.expect(rx(r":irc\.test 353 carol = #hid :.*"))
    assert set(line.split(" :", 1)[1].split()) == {"@alice"}, line
    c.expect(numeric("366", "carol", "#hid :End of /NAMES list"))
    a.send("NAMES #hid")
    line = a.expect(rx(r":irc\.test 353 alice = #hid :.*"))
    assert set(line.split(" :", 1)[1].split()) == {"@alice", "bob"}, line


def test_names_without_argument(f):
    s = Server(f)
    a = s.user("alice")
    a.join("#room")
    a.send("NAMES")
    lines = a.read_until(rx(r":irc\.test 366 alice \S+ :End of /NAMES list"))
    assert lines[-1] in (numeric("366", "alice", "* :End of /NAMES list"),
                         numeric("366", "alice", "#room :End of /NAMES list")), lines
