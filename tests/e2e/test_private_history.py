"""Private history belongs to accounts: CHATHISTORY on a nick, and
TARGETS, serve a person logged in to an account every private line that
account sent or received, from any of its devices, whatever nick it held
then, and nobody else; a side with no account keeps the nick-hold rule
(only what was said while it held its nick).  Whoever takes the nick of
someone gone, or stays on a nick after its account is gone, reads none
of that account's history.  The store's schema 5 keeps each private
line's two sides; schema 4 and 3 files are upgraded."""

import os
import shutil
import sqlite3

from harness import FULL_SPEED, NO_THROTTLE, Server, numeric, rx
from test_history import EPOCH, FUTURE, TAGS3, batch, ch, say, seen, v3, want
from test_owner import CHEAP, OPER, create, oper, plain
from test_sasl import wait_log

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = {v: os.path.join(HERE, "..", "data", "history-v%d.db" % v)
            for v in (3, 4)}


def server(f, db=None):
    return Server(f, *FULL_SPEED, *NO_THROTTLE, *CHEAP, *OPER,
                  "--db", db or f.path("h.db"))


def device(s, nick, account):
    """A connection with batch, message-tags and server-time that logs
    in to account (password pw-account) before it registers; its nick
    is the one the welcome gives (its person's, for another device)."""
    c = s.client(nick)
    c.send("CAP LS 302")
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, nick))
    c.read_until(rx(r":irc\.test CAP \S+ LS :.*"))
    c.send("CAP REQ :sasl %s" % " ".join(TAGS3))
    c.expect(rx(r":irc\.test CAP \S+ ACK :sasl %s" % " ".join(TAGS3)))
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + plain(account))
    c.read_until(rx(r":irc\.test 903 \S+ :.*"))
    c.send("CAP END")
    welcome = c.expect_welcome()
    c.name = c.nick = welcome[0].split()[2]
    c.caps = TAGS3
    c.sync()
    c.drain()
    return c


def targets(c):
    """CHATHISTORY TARGETS over all time: its lines, batch tag removed."""
    c.send("CHATHISTORY TARGETS %s %s 10" % (EPOCH, FUTURE))
    return batch(c, "draft/chathistory-targets")


def target_line(nick, msg):
    return ":irc.test CHATHISTORY TARGETS %s timestamp=%s" % (nick, msg.time)


def quit(*clients):
    for c in clients:
        c.send("QUIT")
        c.expect_closed()


def test_two_accounts_read_it_on_new_devices_and_after_a_nick_change(f):
    s = server(f)
    create(s, "alice", "bob")
    a = device(s, "alice", "alice")
    b = device(s, "bob", "bob")
    conv = say(a, "bob", ["hi bob", "how are you"], b, spaced=True)
    conv += say(b, "alice", ["fine"], a, spaced=True)
    conv += say(a, "bob", ["good"], b, cmd="NOTICE", spaced=True)
    a.sync()
    b.sync()
    # Another device of alice, while the first is on.
    phone = device(s, "phone", "alice")
    assert phone.nick == "alice", phone.nick
    assert ch(phone, "LATEST bob * 10") == want(conv, *TAGS3)
    # Everyone leaves.  New devices, which were not connected then,
    # are new people holding their nicks since now.
    quit(a, phone, b)
    a = device(s, "alice", "alice")
    b = device(s, "bob", "bob")
    assert ch(a, "LATEST bob * 10") == want(conv, *TAGS3)
    assert ch(b, "LATEST alice * 10") == want(conv, *TAGS3)
    assert ch(a, "LATEST bob * 2") == want(conv[2:], *TAGS3)
    assert ch(b, "BEFORE alice msgid=%s 10" % conv[3].msgid) == \
        want(conv[:3], *TAGS3)
    assert ch(a, "AFTER bob msgid=%s 10" % conv[0].msgid) == \
        want(conv[1:], *TAGS3)
    assert ch(a, "AROUND bob msgid=%s 3" % conv[1].msgid) == \
        want(conv[:3], *TAGS3)
    assert ch(b, "BETWEEN alice msgid=%s msgid=%s 10"
              % (conv[0].msgid, conv[3].msgid)) == want(conv[1:3], *TAGS3)
    assert ch(b, "AFTER alice timestamp=%s 10" % conv[0].time) == \
        want(conv[1:], *TAGS3)
    assert targets(a) == [target_line("bob", conv[3])]
    assert targets(b) == [target_line("alice", conv[3])]
    # Under another nick: the same conversation, and what is said now
    # joins it.
    a.send("NICK alice2")
    a.expect(":alice!alice@127.0.0.1 NICK alice2")
    assert ch(a, "LATEST bob * 10") == want(conv, *TAGS3)
    assert targets(a) == [target_line("bob", conv[3])]
    a.send("PRIVMSG bob :as alice2")
    more = seen(b, ":alice2!alice@127.0.0.1 PRIVMSG bob :as alice2")
    assert ch(a, "LATEST bob * 10") == want(conv + [more], *TAGS3)
    assert targets(a) == [target_line("bob", more)]
    # Bob finds each line under the nick alice had then, under any nick
    # of his own.
    b.send("NICK bobby")
    b.expect(":bob!bob@127.0.0.1 NICK bobby")
    assert ch(b, "LATEST alice * 10") == want(conv, *TAGS3)
    assert ch(b, "LATEST alice2 * 10") == want([more], *TAGS3)
    assert targets(b) == [target_line("alice", conv[3]),
                          target_line("alice2", more)]


def test_taking_a_logged_out_holders_nick_reads_none_of_it(f):
    s = server(f)
    create(s, "alice", "bob", "mal")
    # Alice uses a nick no account owns, then she is gone.
    a = device(s, "ally", "alice")
    b = device(s, "bob", "bob")
    conv = say(a, "bob", ["secret one"], b) + say(b, "ally", ["secret two"], a)
    quit(a)
    # Whoever takes it, logged out or logged in to another account,
    # reads none of it.
    m = v3(s, "ally", *TAGS3)
    assert ch(m, "LATEST bob * 10") == []
    assert ch(m, "AFTER bob msgid=%s 10" % conv[0].msgid) == []
    assert targets(m) == []
    quit(m)
    m = device(s, "ally", "mal")
    assert m.nick == "ally", m.nick
    assert ch(m, "LATEST bob * 10") == []
    assert targets(m) == []
    quit(m)
    # Nor who takes alice's own nick while she is gone, in its grace.
    m = v3(s, "alice", *TAGS3)
    m.sync()
    m.drain()
    assert ch(m, "LATEST bob * 10") == []
    assert targets(m) == []
    # Bob still has it, and so has alice.
    assert ch(b, "LATEST ally * 10") == want(conv, *TAGS3)
    a = device(s, "ally", "alice")
    assert ch(a, "LATEST bob * 10") == want(conv, *TAGS3)


def test_staying_on_the_nick_after_the_account_is_gone_reads_none_of_it(f):
    """The nick-hold window of a person still holding its nick covers
    the lines it said logged in; once logged out (its account deleted),
    or logged in to another account, they are not its any more."""
    s = server(f)
    create(s, "alice", "bob", "carol")
    a = device(s, "ally", "alice")
    b = device(s, "bob", "bob")
    conv = say(a, "bob", ["before"], b) + say(b, "ally", ["the logout"], a)
    assert ch(a, "LATEST bob * 10") == want(conv, *TAGS3)
    o = oper(s)
    o.send("ACCOUNT DELETE alice")
    o.expect(":irc.test NOTICE %s :ACCOUNT: deleted alice" % o.nick)
    a.expect(numeric("901", "ally",
                     "ally!ally@127.0.0.1 :You are now logged out"))
    a.expect(":irc.test MODE ally :-r")
    assert ch(a, "LATEST bob * 10") == []
    assert ch(a, "AROUND bob msgid=%s 10" % conv[1].msgid) == []
    assert targets(a) == []
    a.send("AUTHENTICATE PLAIN")
    a.expect("AUTHENTICATE +")
    a.send("AUTHENTICATE " + plain("carol"))
    a.expect(rx(r":irc\.test 900 ally ally!ally@127\.0\.0\.1 carol :You are "
                r"now logged in as carol"))
    a.expect(numeric("903", "ally", ":SASL authentication successful"))
    a.expect(":irc.test MODE ally :+r")
    assert ch(a, "LATEST bob * 10") == []
    assert targets(a) == []
    # What it says now is carol's.
    new = say(a, "bob", ["as carol"], b)
    assert ch(a, "LATEST bob * 10") == want(new, *TAGS3)
    assert targets(a) == [target_line("bob", new[0])]
    # Bob's account had a side in every line.
    assert ch(b, "LATEST ally * 10") == want(conv + new, *TAGS3)


def test_a_logged_out_side_keeps_the_nick_hold_rule(f):
    s = server(f)
    create(s, "alice")
    a = device(s, "alice", "alice")
    c = v3(s, "carol", *TAGS3)
    conv = say(c, "alice", ["from carol"], a) + say(a, "carol", ["hi"], c)
    assert ch(c, "LATEST alice * 10") == want(conv, *TAGS3)
    assert targets(c) == [target_line("alice", conv[1])]
    quit(c)
    c = v3(s, "carol", *TAGS3)
    assert ch(c, "LATEST alice * 10") == []
    assert targets(c) == []
    # Alice's account keeps it.
    quit(a)
    a = device(s, "alice", "alice")
    assert ch(a, "LATEST carol * 10") == want(conv, *TAGS3)
    assert targets(a) == [target_line("carol", conv[1])]


def test_a_third_account_cannot_read_the_pairs_history(f):
    s = server(f)
    create(s, "alice", "bob", "mallory")
    a = device(s, "alice", "alice")
    b = device(s, "bob", "bob")
    conv = say(a, "bob", ["for bob"], b) + say(b, "alice", ["for alice"], a)
    m = device(s, "mallory", "mallory")
    for target in ("alice", "bob"):
        assert ch(m, "LATEST %s * 10" % target) == []
        assert ch(m, "BEFORE %s %s 10" % (target, FUTURE)) == []
        assert ch(m, "AFTER %s msgid=%s 10" % (target, conv[0].msgid)) == []
        assert ch(m, "AROUND %s msgid=%s 10" % (target, conv[1].msgid)) == []
        assert ch(m, "BETWEEN %s %s %s 10" % (target, EPOCH, FUTURE)) == []
    assert targets(m) == []
    # The pair still does.
    assert ch(a, "LATEST bob * 10") == want(conv, *TAGS3)
    assert ch(b, "LATEST alice * 10") == want(conv, *TAGS3)


def test_migration_from_schema_4_and_3(f):
    """Files today's natterd wrote before: upgraded; their private lines
    had no sides, so they keep the nick-hold rule (no new connection
    reads them); new lines have their sides."""
    for version, upgraded in ((4, "4 to 5"), (3, "3 to 5")):
        d = f.path("v%d" % version)
        os.makedirs(d, mode=0o700)
        db = os.path.join(d, "history.db")
        shutil.copy(FIXTURES[version], db)
        os.chmod(db, 0o600)
        s = server(f, db=db)
        wait_log(s, "schema upgraded from version %s" % upgraded)
        if version == 3:
            create(s, "alice", "bob")
        a = device(s, "alice", "alice")
        b = device(s, "bob", "bob")
        assert ch(a, "LATEST bob * 10") == []
        assert targets(a) == []
        new = say(a, "bob", ["after the upgrade"], b)
        quit(a)
        a = device(s, "alice", "alice")
        assert ch(a, "LATEST bob * 10") == want(new, *TAGS3)
        assert targets(a) == [target_line("bob", new[0])]
        s.stop()
        con = sqlite3.connect(db)
        try:
            assert con.execute("PRAGMA user_version").fetchone()[0] == 5
            rows = con.execute("SELECT seq, key, from_key, to_key, "
                               "from_account, to_account, params FROM "
                               "message ORDER BY seq").fetchall()
            peers = con.execute("SELECT account, nick FROM account_peer "
                                "ORDER BY account").fetchall()
        finally:
            con.close()
        old = {4: [(1, "alice bob", None, None, None, None,
                    "bob :from schema 4, alice to bob"),
                   (2, "alice carol", None, None, None, None,
                    "alice :from schema 4, carol to alice"),
                   (3, "#lobby", None, None, None, None,
                    "#lobby :room line from schema 4")],
               3: [(1, "#lobby", None, None, None, None,
                    "#lobby :second line"),
                   (2, "#lobby", None, None, None, None,
                    "#lobby :hello from schema 3"),
                   (3, "alice bob", None, None, None, None,
                    "bob :a private word")]}[version]
        assert rows == old + [(4, "alice bob", "alice", "bob", 1, 2,
                               "bob :after the upgrade")], rows
        assert peers == [(1, "bob"), (2, "alice")], peers
