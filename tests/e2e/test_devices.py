"""One account, several devices (issue 11 section 4): a connection that
logs in to an account whose user is online becomes another device of
that user, with its nick and rooms; the rooms see the first device come
and the last one go, nothing in between."""

import base64

from harness import Server, numeric, rx

OPER = ("--oper", "admin:secret")


def make_account(s, name, password):
    """An account made by an operator with ACCOUNT CREATE."""
    o = s.user(s.f.unique("op"))
    o.send("OPER admin secret")
    o.expect(numeric("381", o.nick, ":You are now an IRC operator"))
    o.send("ACCOUNT CREATE %s %s" % (name, password))
    o.expect(":irc.test NOTICE %s :ACCOUNT: created %s" % (o.nick, name))
    o.send("QUIT")
    o.expect_closed()


def device(s, nick, account, password, caps=()):
    """A connection that logs in with SASL PLAIN before it registers;
    returns it with the welcome's 001 consumed."""
    c = s.client(nick)
    c.send("CAP LS 302")
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, nick))
    c.read_until(rx(r":irc\.test CAP \S+ LS :.*"))
    c.send("CAP REQ :%s" % " ".join(("sasl",) + tuple(caps)))
    c.expect(rx(r":irc\.test CAP \S+ ACK :sasl.*"))
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    token = base64.b64encode(("\0%s\0%s" % (account, password)).encode())
    c.send("AUTHENTICATE " + token.decode())
    c.read_until(rx(r":irc\.test 903 \S+ :.*"))
    c.send("CAP END")
    line = c.read_until(rx(r":irc\.test 001 \S+ :.*"))[-1]
    c.nick = line.split()[2]
    c.read_until(rx(r":irc\.test (376|422) \S+ :.*"))
    return c


def test_second_device_gets_the_nick_and_rooms_and_nobody_sees_it(f):
    s = Server(f, *OPER)
    make_account(s, "alice", "pw-alice-1")
    laptop = device(s, "alice", "alice", "pw-alice-1")
    assert laptop.nick == "alice"
    carol = s.user("carol")
    laptop.send("JOIN #room")
    laptop.read_until(numeric("366", "alice", "#room :End of /NAMES list"))
    carol.send("JOIN #room")
    carol.read_until(numeric("366", "carol", "#room :End of /NAMES list"))
    laptop.expect(":carol!carol@127.0.0.1 JOIN #room")
    laptop.send("PRIVMSG #room :before the phone")
    carol.expect(rx(r":alice!\S+ PRIVMSG #room :before the phone"))

    # The phone asks for another nick; it gets alice's, and her rooms.
    phone = device(s, "phone", "alice", "pw-alice-1")
    assert phone.nick == "alice", phone.nick
    phone.expect(rx(r":alice!\S+ JOIN #room"))
    phone.read_until(numeric("366", "alice", "#room :End of /NAMES list"))
    carol.no_line(rx(r".* (JOIN|QUIT|PART|NICK) .*"), sync=True)

    # Lines from one device show on the other, as an echo would.
    phone.send("PRIVMSG #room :from the phone")
    carol.expect(rx(r":alice!\S+ PRIVMSG #room :from the phone"))
    laptop.expect(rx(r":alice!\S+ PRIVMSG #room :from the phone"))
    # And what others say reaches both.
    carol.send("PRIVMSG #room :hello both")
    laptop.expect(":carol!carol@127.0.0.1 PRIVMSG #room :hello both")
    phone.expect(":carol!carol@127.0.0.1 PRIVMSG #room :hello both")

    # Private messages reach every device; a reply from one shows on
    # the other.
    carol.send("PRIVMSG alice :psst")
    laptop.expect(":carol!carol@127.0.0.1 PRIVMSG alice :psst")
    phone.expect(":carol!carol@127.0.0.1 PRIVMSG alice :psst")
    laptop.send("PRIVMSG carol :yes?")
    carol.expect(rx(r":alice!\S+ PRIVMSG carol :yes\?"))
    phone.expect(rx(r":alice!\S+ PRIVMSG carol :yes\?"))

    # One device leaving: nobody sees it.  The last one: one QUIT.
    laptop.send("QUIT :laptop off")
    laptop.expect_closed()
    carol.no_line(rx(r".* QUIT .*"), sync=True)
    carol.send("PRIVMSG #room :still there?")
    phone.expect(":carol!carol@127.0.0.1 PRIVMSG #room :still there?")
    phone.send("QUIT :phone off")
    phone.expect_closed()
    carol.expect(rx(r":alice!\S+ QUIT :Quit: phone off"))
    carol.no_line(rx(r".* QUIT .*"), sync=True)


def test_third_person_sees_one_join_and_one_quit(f):
    s = Server(f, *OPER)
    make_account(s, "dave", "pw-dave-22")
    carol = s.user("carol")
    carol.send("JOIN #r")
    carol.read_until(numeric("366", "carol", "#r :End of /NAMES list"))
    d1 = device(s, "dave", "dave", "pw-dave-22")
    d1.send("JOIN #r")
    d1.read_until(numeric("366", "dave", "#r :End of /NAMES list"))
    d2 = device(s, "dave2", "dave", "pw-dave-22")
    d3 = device(s, "dave3", "dave", "pw-dave-22")
    for d in (d2, d3):
        d.read_until(numeric("366", "dave", "#r :End of /NAMES list"))
    # A JOIN from one device is a no-op: dave is already there.
    d2.send("JOIN #r")
    d2.sync()
    for d in (d1, d3, d2):
        d.send("QUIT")
        d.expect_closed()
    carol.sync()
    joins = [l for l in carol.history if " JOIN #r" in l and "dave" in l]
    quits = [l for l in carol.history if " QUIT " in l and "dave" in l]
    assert len(joins) == 1, carol.history
    assert len(quits) == 1, carol.history


def test_nick_change_from_one_device_reaches_the_other(f):
    s = Server(f, *OPER)
    make_account(s, "erin", "pw-erin-333")
    a = device(s, "erin", "erin", "pw-erin-333")
    b = device(s, "erin_", "erin", "pw-erin-333")
    a.send("NICK erin_away")
    a.expect(":erin!erin@127.0.0.1 NICK erin_away")
    b.expect(":erin!erin@127.0.0.1 NICK erin_away")
    b.send("WHOIS erin_away")
    b.expect(rx(r":irc\.test 311 erin_away erin_away erin 127\.0\.0\.1 \* :.*"))


def test_max_devices_one_keeps_users_apart(f):
    s = Server(f, *OPER, "--max-devices", "1")
    make_account(s, "fred", "pw-fred-4444")
    a = device(s, "fred", "fred", "pw-fred-4444")
    # The second connection is a user of its own: fred is taken.
    c = s.client("fred2")
    c.send("NICK fred")
    c.expect(numeric("433", "*", "fred :Nickname is already in use"))
    a.send("PRIVMSG fred :self")
    c.no_line(rx(r".*self.*"), sync=True)


def test_devices_past_the_limit_are_their_own_users(f):
    s = Server(f, *OPER, "--max-devices", "2")
    make_account(s, "gina", "pw-gina-55555")
    device(s, "gina", "gina", "pw-gina-55555")
    device(s, "gina2", "gina", "pw-gina-55555")
    third = device(s, "gina3", "gina", "pw-gina-55555")
    assert third.nick == "gina3", third.nick
