"""Nicks belong to accounts (issue 11 section 3): taking a nick an
account owns (its name, or a nick it grouped) without logging in to it
brings a NOTICE at once and a rename to Guest<N> after --nick-grace
seconds, unless the user logs in to the owner in time; logging in to
another account while holding one renames at once; the nick-theft
case; Guest numbers skip the taken ones; a person with two devices is
renamed once."""

import base64
import time

from harness import FULL_SPEED, NO_THROTTLE, Server, numeric, rx, scaled

CHEAP = ("--argon2-memory", "64", "--argon2-time", "1",
         "--scram-iterations", "4096")
OPER = ("--oper", "admin:secret")


def notice(nick, seconds):
    return (":irc.test NOTICE %s :This nickname is registered. Please log "
            "in to its account with SASL or /msg NickServ IDENTIFY "
            "<password> within %d second%s, or you will be renamed."
            % (nick, seconds, "" if seconds == 1 else "s"))


def renamed(nick, old):
    return (":irc.test NOTICE %s :The nickname %s is registered to another "
            "account; you are now %s." % (nick, old, nick))


def server(f, *flags):
    return Server(f, *FULL_SPEED, *NO_THROTTLE, *CHEAP, *OPER, *flags)


def oper(s):
    o = s.user(s.f.unique("op"))
    o.send("OPER admin secret")
    o.expect(numeric("381", o.nick, ":You are now an IRC operator"))
    return o


def create(s, *names):
    """Accounts name with password pw-name, made by an operator who then
    leaves."""
    o = oper(s)
    for name in names:
        o.send("ACCOUNT CREATE %s pw-%s" % (name, name))
        o.expect(":irc.test NOTICE %s :ACCOUNT: created %s" % (o.nick, name))
    o.send("QUIT")
    o.expect_closed()


def plain(account):
    token = "\0%s\0pw-%s" % (account, account)
    return base64.b64encode(token.encode()).decode()


def login(c, account):
    """SASL PLAIN on a registered connection; returns the lines up to
    903."""
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + plain(account))
    return c.read_until(rx(r":irc\.test 903 \S+ :.*"))


def device(s, nick, account):
    """Logs in with SASL before registering; returns the connection
    with its welcome read, and that welcome."""
    c = s.client(nick)
    c.send("CAP LS 302")
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, nick))
    c.read_until(rx(r":irc\.test CAP \S+ LS :.*"))
    c.send("CAP REQ :sasl")
    c.expect(rx(r":irc\.test CAP \S+ ACK :sasl"))
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + plain(account))
    c.read_until(rx(r":irc\.test 903 \S+ :.*"))
    c.send("CAP END")
    welcome = c.expect_welcome()
    c.nick = welcome[0].split()[2]
    return c, welcome


def test_notice_on_nick_after_registration(f):
    s = server(f)
    create(s, "alice")
    m = s.user("mallory")
    m.send("NICK alice")
    m.expect_exact_sequence([
        ":mallory!mallory@127.0.0.1 NICK alice",
        notice("alice", 30),
    ])
    m.nick = "alice"
    # A new case of the same nick is no new grace (and no new notice).
    m.send("NICK Alice")
    m.expect(":alice!mallory@127.0.0.1 NICK Alice")
    m.no_line(rx(r".* NOTICE .*"), sync=True)
    # Back to a nick nobody owns: nothing more is said.
    m.send("NICK mallory")
    m.expect(":Alice!mallory@127.0.0.1 NICK mallory")
    m.no_line(rx(r".* NOTICE .*"), sync=True)


def test_notice_right_after_the_welcome(f):
    s = server(f)
    create(s, "alice")
    m = s.client("alice")
    welcome = m.register("alice")
    assert welcome[0].startswith(":irc.test 001 alice "), welcome[0]
    assert m.next_line() == notice("alice", 30)


def test_rename_to_guest_after_the_grace_seen_by_a_roommate(f):
    s = server(f, "--nick-grace", "1")
    create(s, "alice")
    carol = s.user("carol")
    m = s.user("mallory")
    carol.join("#r")
    m.join("#r")
    carol.expect(":mallory!mallory@127.0.0.1 JOIN #r")
    m.send("NICK alice")
    m.expect_exact_sequence([
        ":mallory!mallory@127.0.0.1 NICK alice",
        notice("alice", 1),
    ])
    carol.expect(":mallory!mallory@127.0.0.1 NICK alice")
    carol.expect(":alice!mallory@127.0.0.1 NICK Guest1", timeout=5)
    m.expect(":alice!mallory@127.0.0.1 NICK Guest1", timeout=5)
    m.nick = "Guest1"
    # The nick is free again; the room knows Guest1.
    carol.send("NAMES #r")
    carol.expect(rx(r":irc\.test 353 carol = #r :(@carol Guest1|Guest1 @carol)"))
    m.no_line(rx(r".* NICK .*"), wait=1.5)


def test_login_during_the_grace_keeps_the_nick(f):
    s = server(f, "--nick-grace", "2")
    create(s, "alice")
    carol = s.user("carol")
    a = s.user("alice")
    a.expect(notice("alice", 2))
    carol.join("#r")
    a.join("#r")
    lines = login(a, "alice")
    assert lines[-2:] == [
        numeric("900", "alice", "alice!alice@127.0.0.1 alice :You are now "
                "logged in as alice"),
        numeric("903", "alice", ":SASL authentication successful"),
    ], lines
    time.sleep(scaled(2.5))
    a.no_line(rx(r".* NICK .*"), sync=True)
    carol.no_line(rx(r".* NICK .*"), sync=True)
    a.send("WHOIS alice")
    a.expect(rx(r":irc\.test 311 alice alice alice 127\.0\.0\.1 \* :.*"))


def test_owner_logging_in_on_a_new_connection_keeps_its_nick(f):
    s = server(f, "--nick-grace", "1")
    create(s, "alice")
    c, welcome = device(s, "alice", "alice")
    assert c.nick == "alice"
    c.no_line(rx(r".* (NOTICE|NICK) .*"), wait=2, sync=True)


def test_a_grouped_nick_is_protected_too(f):
    s = server(f, "--nick-grace", "1")
    create(s, "alice")
    o = oper(s)
    o.send("ACCOUNT GROUP alice ally")
    o.expect(":irc.test NOTICE %s :ACCOUNT: nick grouped to alice" % o.nick)
    o.send("ACCOUNT GROUP alice ally")
    o.expect(":irc.test FAIL ACCOUNT NICK_IN_USE ally :That nick already "
             "belongs to an account")
    o.send("ACCOUNT GROUP nobody ally2")
    o.expect(":irc.test FAIL ACCOUNT ACCOUNT_DOES_NOT_EXIST nobody :No such "
             "account")
    m = s.user("mallory")
    m.send("NICK ally")
    m.expect_exact_sequence([
        ":mallory!mallory@127.0.0.1 NICK ally",
        notice("ally", 1),
    ])
    m.expect(":ally!mallory@127.0.0.1 NICK Guest1", timeout=5)
    # The owner may use its grouped nick.
    a, _ = device(s, "alice", "alice")
    a.send("NICK ally")
    a.expect(":alice!alice@127.0.0.1 NICK ally")
    a.no_line(rx(r".* NOTICE .*"), wait=1.5, sync=True)


def test_login_to_another_account_renames_at_once(f):
    s = server(f)
    create(s, "alice", "bob")
    carol = s.user("carol")
    m = s.user("alice")
    m.expect(notice("alice", 30))
    carol.join("#r")
    m.join("#r")
    lines = login(m, "bob")
    assert lines[-3:] == [
        ":alice!alice@127.0.0.1 NICK Guest1",
        numeric("900", "Guest1", "Guest1!alice@127.0.0.1 bob :You are now "
                "logged in as bob"),
        numeric("903", "Guest1", ":SASL authentication successful"),
    ], lines
    assert m.next_line() == renamed("Guest1", "alice")
    carol.expect(":alice!alice@127.0.0.1 NICK Guest1")
    m.nick = "Guest1"
    # Logged in to bob, alice's nick is out of reach; bob's is not.
    m.send("NICK alice")
    m.expect(numeric("433", "Guest1", "alice :Nickname is reserved by a "
                     "different account"))
    m.send("NICK bob")
    m.expect(":Guest1!alice@127.0.0.1 NICK bob")
    m.no_line(rx(r".* NOTICE .*"), sync=True)


def test_login_to_another_account_before_registration(f):
    s = server(f)
    create(s, "alice", "bob")
    c, welcome = device(s, "alice", "bob")
    assert welcome[0].startswith(":irc.test 001 Guest1 "), welcome[0]
    assert welcome[0].endswith(" Guest1!alice@127.0.0.1"), welcome[0]
    assert c.next_line() == ":irc.test MODE Guest1 :+r"
    assert c.next_line() == renamed("Guest1", "alice")
    # Nobody holds alice: its owner can have it.
    a, _ = device(s, "alice", "alice")
    assert a.nick == "alice"


def test_nick_theft(f):
    s = server(f, "--nick-grace", "1")
    create(s, "alice")
    carol = s.user("carol")
    m = s.user("mallory")
    a, _ = device(s, "alice", "alice")
    for c in (carol, m, a):
        c.join("#r")
    carol.expect(":mallory!mallory@127.0.0.1 JOIN #r")
    carol.expect(rx(r":alice!alice@127\.0\.0\.1 JOIN #r"))
    # While alice holds it, nobody else can take it.
    m.send("NICK alice")
    m.expect(numeric("433", "mallory", "alice :Nickname is already in use"))
    a.send("QUIT :bye")
    a.expect_closed()
    carol.expect(":alice!alice@127.0.0.1 QUIT :Quit: bye")
    m.expect(":alice!alice@127.0.0.1 QUIT :Quit: bye")
    # Gone: mallory takes the nick, is told, and loses it.
    m.send("NICK alice")
    m.expect_exact_sequence([
        ":mallory!mallory@127.0.0.1 NICK alice",
        notice("alice", 1),
    ])
    carol.expect(":mallory!mallory@127.0.0.1 NICK alice")
    carol.expect(":alice!mallory@127.0.0.1 NICK Guest1", timeout=5)
    m.expect(":alice!mallory@127.0.0.1 NICK Guest1", timeout=5)
    # And alice, back, gets her nick.
    a, _ = device(s, "alice", "alice")
    assert a.nick == "alice"


def test_guest_numbers_skip_the_taken_ones(f):
    s = server(f, "--nick-grace", "1")
    create(s, "alice", "Guest2")
    s.user("Guest1")            # held by a user
    m = s.user("mallory")       # Guest2 is an account's nick
    m.send("NICK alice")
    m.expect(notice("alice", 1))
    m.expect(":alice!mallory@127.0.0.1 NICK Guest3", timeout=5)
    m.nick = "Guest3"
    m.send("NICK alice")
    m.expect(notice("alice", 1))
    m.expect(":alice!mallory@127.0.0.1 NICK Guest4", timeout=5)


def test_two_devices_are_renamed_once(f):
    s = server(f, "--nick-grace", "1")
    create(s, "alice", "bob")
    carol = s.user("carol")
    d1, _ = device(s, "bob", "bob")
    d1.join("#r")
    carol.join("#r")
    d2, _ = device(s, "bob2", "bob")
    assert d2.nick == "bob"
    d2.read_until(numeric("366", "bob", "#r :End of /NAMES list"))
    # Deleting bob logs both devices out: one person, not logged in.
    o = oper(s)
    o.send("ACCOUNT DELETE bob")
    o.expect(":irc.test NOTICE %s :ACCOUNT: deleted bob" % o.nick)
    for d in (d1, d2):
        d.expect(numeric("901", "bob", "bob!bob@127.0.0.1 :You are now "
                         "logged out"))
        d.expect(":irc.test MODE bob :-r")
    d1.send("NICK alice")
    d1.expect_exact_sequence([
        ":bob!bob@127.0.0.1 NICK alice",
        notice("alice", 1),
    ])
    d2.expect(":bob!bob@127.0.0.1 NICK alice")
    for c in (carol, d1, d2):
        c.expect(":alice!bob@127.0.0.1 NICK Guest1", timeout=5)
    time.sleep(scaled(1.5))
    for c in (carol, d1, d2):
        c.no_line(rx(r".* NICK .*"), sync=True)
    # The first device gone, the grace still ends on time for the other.
    d1.send("NICK alice")
    d1.expect(notice("alice", 1))
    d1.send("QUIT")
    d1.expect_closed()
    d2.expect(":alice!bob@127.0.0.1 NICK Guest2", timeout=5)
    carol.expect(":alice!bob@127.0.0.1 NICK Guest2", timeout=5)


def test_a_nick_that_becomes_an_accounts_starts_a_grace(f):
    s = server(f, "--nick-grace", "1")
    create(s, "alice")
    carol = s.user("carol")
    zed = s.user("zed")
    yan = s.user("yan")
    carol.join("#r")
    zed.join("#r")
    yan.join("#r")
    o = oper(s)
    # An account made with the name of someone online...
    o.send("ACCOUNT CREATE zed pw-zed")
    o.expect(":irc.test NOTICE %s :ACCOUNT: created zed" % o.nick)
    zed.expect(notice("zed", 1))
    # ... and a nick grouped while someone holds it.
    o.send("ACCOUNT GROUP alice yan")
    o.expect(":irc.test NOTICE %s :ACCOUNT: nick grouped to alice" % o.nick)
    yan.expect(notice("yan", 1))
    # Each renamed once, in whichever order their graces ended.
    got = sorted(carol.expect(rx(r":(zed|yan)!\S+ NICK Guest[12]"),
                              timeout=5) for _ in range(2))
    assert got in ([":yan!yan@127.0.0.1 NICK Guest1",
                    ":zed!zed@127.0.0.1 NICK Guest2"],
                   [":yan!yan@127.0.0.1 NICK Guest2",
                    ":zed!zed@127.0.0.1 NICK Guest1"]), got
    # The operator's own nick, grouped: the notice comes in its reply.
    o.send("ACCOUNT GROUP alice %s" % o.nick)
    o.expect(":irc.test NOTICE %s :ACCOUNT: nick grouped to alice" % o.nick)
    assert o.next_line() == notice(o.nick, 1)
    o.expect(rx(r":%s!\S+ NICK Guest3", o.nick), timeout=5)


def test_owner_online_under_another_nick_keeps_its_nick(f):
    """While alice's account is online as alice2, nobody else can take
    the nick alice: 433, registered or not.  Once she leaves, the grace
    applies again."""
    s = server(f, "--nick-grace", "30")
    create(s, "alice")
    a, _ = device(s, "alice", "alice")
    a.send("NICK alice2")
    a.expect(":alice!alice@127.0.0.1 NICK alice2")
    m = s.user("mallory")
    m.send("NICK alice")
    m.expect(numeric("433", "mallory", "alice :Nickname is already in use"))
    m.send("NICK ALICE")
    m.expect(numeric("433", "mallory", "ALICE :Nickname is already in use"))
    g = s.client("alice")
    g.send("NICK alice")
    g.expect(numeric("433", "*", "alice :Nickname is already in use"))
    # The owner takes it back at once.
    a.send("NICK alice")
    a.expect(":alice2!alice@127.0.0.1 NICK alice")
    a.send("QUIT")
    a.expect_closed()
    m.send("NICK alice")
    m.expect_exact_sequence([
        ":mallory!mallory@127.0.0.1 NICK alice",
        notice("alice", 30),
    ])
