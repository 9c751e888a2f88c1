"""IRCv3 capabilities as other commands see them: negotiating each one
(CAP LS 302, CAP REQ, ACK), then multi-prefix and userhost-in-names in
NAMES and WHO, away-notify, invite-notify, SETNAME (setname), and
chghost (never sent: natterd does not change hosts).  Every behaviour is
checked for a client that enabled the cap and for one that did not."""

import re

from harness import NO_THROTTLE, Server, join, numeric, rx

CAPS = ("multi-prefix", "userhost-in-names", "away-notify", "invite-notify",
        "setname", "chghost")


def cap_user(s, nick, *caps, realname=None):
    """A client that sends CAP LS 302, checks caps are offered, requests
    them in one CAP REQ (exact ACK), then registers and ends negotiation.
    No cap: a plain registered user."""
    if not caps:
        return s.user(nick, realname=realname)
    c = s.client(nick)
    c.send("CAP LS 302")
    lines = c.read_until(rx(r":irc\.test CAP \* LS :.*"))
    offered = set()
    for line in lines:
        m = re.fullmatch(r":irc\.test CAP \* LS (?:\* )?:(.*)", line)
        if m:
            offered |= {w.split("=", 1)[0] for w in m.group(1).split()}
    for cap in caps:
        assert cap in offered, "%s not in CAP LS: %r" % (cap, lines)
    c.send("CAP REQ :%s" % " ".join(caps))
    c.expect(":irc.test CAP * ACK :%s" % " ".join(caps))
    c.name = c.nick = nick
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, realname or nick))
    c.no_line(rx(r":\S+ 001 .*"), sync=True, wait=0)   # held for CAP END
    c.send("CAP END")
    c.expect_welcome()
    return c


def names(c, room):
    """c's NAMES reply for room: the 353 lines' text after " :"."""
    c.send("NAMES %s" % room)
    lines = c.read_until(numeric("366", c.nick, "%s :End of /NAMES list"
                                 % room))
    return [l.split(" :", 1)[1] for l in lines
            if l.startswith(":irc.test 353 ")]


# --- negotiation ---

def test_cap_ls_offers_each(f):
    s = Server(f)
    cap_user(s, "alice", *CAPS)


def test_cap_req_ack_each(f):
    s = Server(f)
    for cap in CAPS:
        c = s.client()
        c.send("CAP LS 302")
        c.expect(rx(r":irc\.test CAP \* LS :.*"))
        c.send("CAP REQ :%s" % cap)
        c.expect(":irc.test CAP * ACK :%s" % cap)
        c.send("CAP END")
        c.no_line(rx(r":\S+ 001 .*"), sync=True, wait=0)  # no NICK yet
        c.close()


def test_cap_req_after_registration(f):
    s = Server(f)
    a = s.user("alice")
    a.join("#r")
    a.send("MODE #r +v alice")
    a.expect(":alice!alice@127.0.0.1 MODE #r +v alice")
    assert names(a, "#r") == ["@alice"]
    a.send("CAP REQ :multi-prefix userhost-in-names")
    a.expect(":irc.test CAP alice ACK :multi-prefix userhost-in-names")
    assert names(a, "#r") == ["@+alice!alice@127.0.0.1"]
    a.send("CAP REQ :-userhost-in-names")
    a.expect(":irc.test CAP alice ACK :-userhost-in-names")
    assert names(a, "#r") == ["@+alice"]
    a.send("CAP REQ :-multi-prefix")
    a.expect(":irc.test CAP alice ACK :-multi-prefix")
    assert names(a, "#r") == ["@alice"]


# --- multi-prefix ---

def setup_prefixes(s):
    """#r with alice (@+), bob (+) and carol (none)."""
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, c, room="#r")
    a.send("MODE #r +vv alice bob")
    for who in (a, b, c):
        who.expect(":alice!alice@127.0.0.1 MODE #r +vv alice bob")
    return a, b, c


def test_multi_prefix_names(f):
    s = Server(f)
    setup_prefixes(s)
    m = cap_user(s, "mp", "multi-prefix")
    p = s.user("plain")
    assert names(m, "#r") == ["@+alice +bob carol"]
    assert names(p, "#r") == ["@alice +bob carol"]


def test_multi_prefix_join_names(f):
    s = Server(f)
    setup_prefixes(s)
    m = cap_user(s, "mp", "multi-prefix")
    m.send("JOIN #r")
    m.expect(":mp!mp@127.0.0.1 JOIN #r")
    m.expect_exact_sequence([
        numeric("353", "mp", "= #r :@+alice +bob carol mp"),
        numeric("366", "mp", "#r :End of /NAMES list"),
    ])
    p = s.user("plain")
    p.send("JOIN #r")
    p.expect(":plain!plain@127.0.0.1 JOIN #r")
    p.expect_exact_sequence([
        numeric("353", "plain", "= #r :@alice +bob carol mp plain"),
        numeric("366", "plain", "#r :End of /NAMES list"),
    ])


def test_multi_prefix_who(f):
    s = Server(f)
    setup_prefixes(s)
    m = cap_user(s, "mp", "multi-prefix")
    p = s.user("plain")
    for c, alice_flags in ((m, "H@+"), (p, "H@")):
        c.send("WHO #r")
        c.expect_exact_sequence([
            numeric("352", c.nick, "#r alice 127.0.0.1 irc.test alice %s "
                    ":0 alice" % alice_flags),
            numeric("352", c.nick, "#r bob 127.0.0.1 irc.test bob H+ :0 bob"),
            numeric("352", c.nick, "#r carol 127.0.0.1 irc.test carol H "
                    ":0 carol"),
            numeric("315", c.nick, "#r :End of WHO list"),
        ])
        # Outside a room there is no prefix to show.
        c.send("WHO alice")
        c.expect_exact_sequence([
            numeric("352", c.nick, "* alice 127.0.0.1 irc.test alice H "
                    ":0 alice"),
            numeric("315", c.nick, "alice :End of WHO list"),
        ])


def test_multi_prefix_who_away_oper(f):
    s = Server(f, "--oper", "admin:secret")
    a = s.user("alice")
    a.join("#r")
    a.send("MODE #r +v alice")
    a.expect(":alice!alice@127.0.0.1 MODE #r +v alice")
    a.send("OPER admin secret")
    a.expect(numeric("381", "alice", ":You are now an IRC operator"))
    a.send("AWAY :out")
    a.expect(numeric("306", "alice", ":You have been marked as being away"))
    m = cap_user(s, "mp", "multi-prefix")
    m.send("WHO #r")
    m.expect_exact_sequence([
        numeric("352", "mp", "#r alice 127.0.0.1 irc.test alice G*@+ "
                ":0 alice"),
        numeric("315", "mp", "#r :End of WHO list"),
    ])


# --- userhost-in-names ---

def test_userhost_in_names(f):
    s = Server(f)
    setup_prefixes(s)
    u = cap_user(s, "uh", "userhost-in-names")
    both = cap_user(s, "both", "multi-prefix", "userhost-in-names")
    p = s.user("plain")
    assert names(u, "#r") == [
        "@alice!alice@127.0.0.1 +bob!bob@127.0.0.1 carol!carol@127.0.0.1"]
    assert names(both, "#r") == [
        "@+alice!alice@127.0.0.1 +bob!bob@127.0.0.1 carol!carol@127.0.0.1"]
    assert names(p, "#r") == ["@alice +bob carol"]


def test_userhost_in_names_on_join(f):
    s = Server(f)
    a = s.user("alice", user="al")
    a.join("#r")
    u = cap_user(s, "uh", "userhost-in-names")
    u.send("JOIN #r")
    u.expect(":uh!uh@127.0.0.1 JOIN #r")
    u.expect_exact_sequence([
        numeric("353", "uh", "= #r :@alice!al@127.0.0.1 uh!uh@127.0.0.1"),
        numeric("366", "uh", "#r :End of /NAMES list"),
    ])


def test_userhost_in_names_splits_long_lists(f):
    s = Server(f, *NO_THROTTLE)
    nicks = ["user%02d" % i for i in range(30)]
    users = [s.user(n) for n in nicks]
    for u in users:
        u.join("#big")
    c = cap_user(s, "uh", "userhost-in-names")
    c.send("NAMES #big")
    lines = c.read_until(numeric("366", "uh", "#big :End of /NAMES list"))
    got = []
    for l in lines:
        if l.startswith(":irc.test 353 "):
            assert len(l.encode()) + 2 <= 512, l
            assert l.startswith(":irc.test 353 uh = #big :"), l
            got += l.split(" :", 1)[1].split()
    assert len([l for l in lines if " 353 " in l]) > 1, lines
    want = ["@user00!user00@127.0.0.1"] + \
        ["%s!%s@127.0.0.1" % (n, n) for n in nicks[1:]]
    assert got == want, got


# --- away-notify ---

def test_away_notify(f):
    s = Server(f)
    a = cap_user(s, "alice", "away-notify")
    b = s.user("bob")
    c = cap_user(s, "carol", "away-notify")
    d = cap_user(s, "dave", "away-notify")        # shares no room
    join(a, b, c, room="#r1")
    join(a, c, room="#r2")                        # alice: one copy only
    c.send("AWAY :lunch")
    c.expect(numeric("306", "carol", ":You have been marked as being away"))
    a.expect(":carol!carol@127.0.0.1 AWAY :lunch")
    c.send("AWAY :still lunch")
    c.expect(numeric("306", "carol", ":You have been marked as being away"))
    a.expect(":carol!carol@127.0.0.1 AWAY :still lunch")
    c.send("AWAY")
    c.expect(numeric("305", "carol",
                     ":You are no longer marked as being away"))
    a.expect(":carol!carol@127.0.0.1 AWAY")
    c.send("AWAY")                                # was not away: no news
    c.expect(numeric("305", "carol",
                     ":You are no longer marked as being away"))
    away = rx(r":\S+ AWAY( .*)?")
    a.no_line(away, sync=True)
    for who in (b, c, d):
        who.no_line(away, sync=True, wait=0)


def test_away_notify_without_cap_sender(f):
    s = Server(f)
    a = cap_user(s, "alice", "away-notify")
    b = s.user("bob")
    join(a, b, room="#r")
    b.send("AWAY :brb")
    b.expect(numeric("306", "bob", ":You have been marked as being away"))
    a.expect(":bob!bob@127.0.0.1 AWAY :brb")
    b.no_line(rx(r":\S+ AWAY( .*)?"), sync=True, wait=0)


def test_away_notify_on_join(f):
    s = Server(f)
    a = cap_user(s, "alice", "away-notify")
    p = s.user("plain")
    join(a, p, room="#r")
    b = s.user("bob")
    b.send("AWAY :gone")
    b.expect(numeric("306", "bob", ":You have been marked as being away"))
    b.join("#r")
    a.expect_exact_sequence([
        ":bob!bob@127.0.0.1 JOIN #r",
        ":bob!bob@127.0.0.1 AWAY :gone",
    ])
    p.expect(":bob!bob@127.0.0.1 JOIN #r")
    p.no_line(rx(r":\S+ AWAY( .*)?"), sync=True, wait=0)
    # A joiner who is here is not announced.
    c = s.user("carol")
    c.join("#r")
    a.expect(":carol!carol@127.0.0.1 JOIN #r")
    a.no_line(rx(r":carol\S* AWAY( .*)?"), sync=True, wait=0)


# --- invite-notify ---

def test_invite_notify_invite_only(f):
    s = Server(f)
    a = cap_user(s, "alice", "invite-notify")     # op, the inviter
    o = cap_user(s, "oscar", "invite-notify")     # op
    p = s.user("pat")                             # op, no cap
    v = cap_user(s, "vic", "invite-notify")       # not op
    join(a, o, p, v, room="#r")
    a.send("MODE #r +oo oscar pat")
    a.expect(":alice!alice@127.0.0.1 MODE #r +oo oscar pat")
    a.send("MODE #r +i")
    a.expect(":alice!alice@127.0.0.1 MODE #r +i")
    t = cap_user(s, "tom", "invite-notify")       # the target
    a.send("INVITE tom #r")
    a.expect(numeric("341", "alice", "tom #r"))
    t.expect(":alice!alice@127.0.0.1 INVITE tom #r")
    o.expect(":alice!alice@127.0.0.1 INVITE tom #r")
    invite = rx(r":\S+ INVITE .*")
    o.no_line(invite, sync=True, wait=0)          # once
    t.no_line(invite, sync=True, wait=0)          # once
    for who in (a, p, v):
        who.no_line(invite, sync=True, wait=0)


def test_invite_notify_open_room(f):
    s = Server(f)
    a = s.user("alice")                           # no cap: still notifies
    v = cap_user(s, "vic", "invite-notify")
    p = s.user("pat")
    join(a, v, p, room="#r")
    t = s.user("tom")
    v.send("INVITE tom #r")                       # anyone may: not +i
    v.expect(numeric("341", "vic", "tom #r"))
    t.expect(":vic!vic@127.0.0.1 INVITE tom #r")
    a.send("INVITE tom #r")
    a.expect(numeric("341", "alice", "tom #r"))
    t.expect(":alice!alice@127.0.0.1 INVITE tom #r")
    v.expect(":alice!alice@127.0.0.1 INVITE tom #r")
    invite = rx(r":\S+ INVITE .*")
    for who in (a, v, p):
        who.no_line(invite, sync=True, wait=0)


def test_invite_notify_room_nobody_is_in(f):
    s = Server(f)
    a = cap_user(s, "alice", "invite-notify")
    t = s.user("tom")
    a.send("INVITE tom #empty")
    a.expect(numeric("341", "alice", "tom #empty"))
    t.expect(":alice!alice@127.0.0.1 INVITE tom #empty")
    a.no_line(rx(r":\S+ INVITE .*"), sync=True, wait=0)


# --- setname ---

def whois_realname(c, nick):
    c.send("WHOIS %s" % nick)
    lines = c.read_until(numeric("318", c.nick, "%s :End of /WHOIS list"
                                 % nick))
    for l in lines:
        m = re.fullmatch(r":irc\.test 311 \S+ %s \S+ \S+ \* :(.*)"
                         % re.escape(nick), l)
        if m:
            return m.group(1)
    raise AssertionError("no 311 in %r" % lines)


def test_setname(f):
    s = Server(f)
    a = cap_user(s, "alice", "setname", realname="Alice")
    b = cap_user(s, "bob", "setname")
    c = s.user("carol")
    d = cap_user(s, "dave", "setname")            # shares no room
    join(a, b, c, room="#r1")
    join(a, b, room="#r2")                        # bob: one copy only
    a.send("SETNAME :Alice Liddell")
    a.expect(":alice!alice@127.0.0.1 SETNAME :Alice Liddell")
    b.expect(":alice!alice@127.0.0.1 SETNAME :Alice Liddell")
    setname = rx(r":\S+ SETNAME .*")
    a.no_line(setname, sync=True, wait=0)
    b.no_line(setname, sync=True, wait=0)
    c.no_line(setname, sync=True, wait=0)
    d.no_line(setname, sync=True, wait=0)
    assert whois_realname(c, "alice") == "Alice Liddell"
    c.send("WHO alice")
    c.expect(numeric("352", "carol", "* alice 127.0.0.1 irc.test alice H "
                     ":0 Alice Liddell"))
    a.send("SETNAME Single")                      # a middle parameter
    a.expect(":alice!alice@127.0.0.1 SETNAME :Single")
    b.expect(":alice!alice@127.0.0.1 SETNAME :Single")


def test_setname_without_cap(f):
    s = Server(f)
    a = cap_user(s, "alice", "setname")
    c = s.user("carol")
    join(a, c, room="#r")
    c.send("SETNAME :Carol Lewis")
    a.expect(":carol!carol@127.0.0.1 SETNAME :Carol Lewis")
    c.no_line(rx(r":\S+ SETNAME .*"), sync=True)
    assert whois_realname(c, "carol") == "Carol Lewis"


def test_setname_invalid(f):
    s = Server(f)
    a = cap_user(s, "alice", "setname", realname="Alice")
    b = cap_user(s, "bob", "setname")
    c = s.user("carol")
    join(a, b, c, room="#r")
    fail = ":irc.test FAIL SETNAME INVALID_REALNAME :Realname is not valid"
    a.send("SETNAME :")
    a.expect(fail)
    a.send("SETNAME :" + "x" * 129)               # REALNAME_MAX is 128
    a.expect(fail)
    c.send("SETNAME :" + "y" * 129)               # no cap: still told
    c.expect(fail)
    b.no_line(rx(r":\S+ SETNAME .*"), sync=True)
    assert whois_realname(b, "alice") == "Alice"
    assert whois_realname(b, "carol") == "carol"
    a.send("SETNAME :" + "x" * 128)
    a.expect(":alice!alice@127.0.0.1 SETNAME :" + "x" * 128)
    b.expect(":alice!alice@127.0.0.1 SETNAME :" + "x" * 128)
    a.send("SETNAME :caf\u00e9 \u00fcber")         # UTF-8 is fine
    a.expect(":alice!alice@127.0.0.1 SETNAME :caf\u00e9 \u00fcber")


def test_setname_needs_params_and_registration(f):
    s = Server(f)
    a = cap_user(s, "alice", "setname")
    a.send("SETNAME")
    a.expect(numeric("461", "alice", "SETNAME :Not enough parameters"))
    u = s.client()
    u.send("SETNAME :early")
    u.expect(numeric("451", "*", ":You have not registered"))


# --- chghost ---

def test_chghost_nothing_sent(f):
    s = Server(f)
    a = cap_user(s, "alice", "chghost")
    b = s.user("bob")
    join(a, b, room="#r")
    b.send("NICK robert")
    a.expect(":bob!bob@127.0.0.1 NICK robert")
    b.send("AWAY :x")
    b.expect(numeric("306", "robert", ":You have been marked as being away"))
    b.send("PRIVMSG #r :hi")
    a.expect(":robert!bob@127.0.0.1 PRIVMSG #r :hi")
    b.send("PART #r")
    a.expect(rx(r":robert!bob@127\.0\.0\.1 PART #r( :.*)?"))
    a.no_line(rx(r":\S+ CHGHOST .*"), sync=True)


def test_all_caps_together(f):
    s = Server(f)
    a = cap_user(s, "alice", *CAPS)
    b = s.user("bob")
    join(a, b, room="#r")
    assert names(a, "#r") == ["@alice!alice@127.0.0.1 bob!bob@127.0.0.1"]
    b.send("AWAY :afk")
    a.expect(":bob!bob@127.0.0.1 AWAY :afk")
    b.send("SETNAME :Bob B")
    a.expect(":bob!bob@127.0.0.1 SETNAME :Bob B")
    b.send("QUIT :bye")
    a.expect(":bob!bob@127.0.0.1 QUIT :Quit: bye")
