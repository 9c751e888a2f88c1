"""What others see of a person's account: IRCv3 account-tag (every line a
logged-in person sends carries @account=<name> to clients with the cap,
fixed when the line is made, kept in the history), account-notify
(ACCOUNT <name> and ACCOUNT * to those who share a room and to the
person's own connections, once each) and user mode +r (logged in; set
and cleared by natterd alone)."""

import base64
import re

from harness import (FULL_SPEED, NO_THROTTLE, Client, Server, join, numeric,
                     rx)

from test_unix import sock_path

CHEAP = ("--argon2-memory", "64", "--argon2-time", "1",
         "--scram-iterations", "4096")
OPER = ("--oper", "admin:secret")
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
MSGID = r"[A-Za-z0-9_-]+"
ANY = re.compile(r".*")


def server(f, *flags):
    return Server(f, *FULL_SPEED, *NO_THROTTLE, *CHEAP, *OPER, *flags)


def oper(s, nick="op"):
    o = s.user(nick)
    o.send("OPER admin secret")
    o.expect(numeric("381", nick, ":You are now an IRC operator"))
    return o


def create(s, *names):
    """Accounts name with password pw-name, made by an operator who then
    leaves."""
    o = oper(s, s.f.unique("op"))
    for name in names:
        o.send("ACCOUNT CREATE %s pw-%s" % (name, name))
        o.expect(":irc.test NOTICE %s :ACCOUNT: created %s" % (o.nick, name))
    o.send("QUIT")
    o.expect_closed()


def plain(account):
    token = "\0%s\0pw-%s" % (account, account)
    return base64.b64encode(token.encode()).decode()


def v3(s, nick, *caps):
    """Registered after CAP REQ of caps (exact ACK)."""
    c = s.client(nick)
    c.send("CAP LS 302")
    c.read_until(rx(r":irc\.test CAP \* LS :.*"))
    if caps:
        c.send("CAP REQ :%s" % " ".join(caps))
        c.expect(":irc.test CAP * ACK :%s" % " ".join(caps))
    c.send("CAP END")
    c.register(nick)
    return c


def sasl_user(s, nick, account, *caps):
    """Logs in with SASL PLAIN before registering, with caps; returns the
    connection and its welcome (001 to the end of the MOTD) and what
    follows it up to a PING round trip."""
    c = s.client(nick)
    c.send("CAP LS 302")
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, nick))
    c.read_until(rx(r":irc\.test CAP \S+ LS :.*"))
    req = " ".join(("sasl",) + caps)
    c.send("CAP REQ :%s" % req)
    c.expect(rx(r":irc\.test CAP \S+ ACK :%s", req))
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + plain(account))
    c.read_until(rx(r":irc\.test 903 \S+ :.*"))
    c.send("CAP END")
    welcome = c.expect_welcome()
    c.nick = welcome[0].split()[2]
    c.name = c.nick
    c.sync()
    return c, welcome + c.drain()


def login(c, account):
    """SASL PLAIN on a registered connection (which has the sasl cap or
    not: AUTHENTICATE works either way); the lines up to 903."""
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + plain(account))
    return c.read_until(rx(r":irc\.test 903 \S+ :.*"))


def delete(s, name):
    o = oper(s, s.f.unique("op"))
    o.send("ACCOUNT DELETE %s" % name)
    o.expect(":irc.test NOTICE %s :ACCOUNT: deleted %s" % (o.nick, name))
    return o


# --- account-tag ---

def test_account_tag_in_rooms_and_private(f):
    s = server(f)
    create(s, "alice")
    a, _ = sasl_user(s, "alice", "alice")
    tag = v3(s, "bob", "account-tag")
    notag = v3(s, "carol")
    dave = v3(s, "dave")                       # not logged in
    join(a, tag, notag, dave, room="#r")
    body = ":alice!alice@127.0.0.1 PRIVMSG #r :hi"
    a.send("PRIVMSG #r :hi")
    tag.expect_exact_sequence(["@account=alice " + body])
    notag.expect_exact_sequence([body])
    dave.expect_exact_sequence([body])
    # Privately too, and NOTICE.
    a.send("PRIVMSG bob :psst")
    tag.expect_exact_sequence(
        ["@account=alice :alice!alice@127.0.0.1 PRIVMSG bob :psst"])
    a.send("NOTICE carol :hey")
    notag.expect_exact_sequence([":alice!alice@127.0.0.1 NOTICE carol :hey"])
    # Someone logged in to nothing: no tag.
    dave.send("PRIVMSG #r :yo")
    tag.expect_exact_sequence([":dave!dave@127.0.0.1 PRIVMSG #r :yo"])
    dave.send("PRIVMSG bob :yo")
    tag.expect_exact_sequence([":dave!dave@127.0.0.1 PRIVMSG bob :yo"])
    # Other lines of hers carry it too: TOPIC, PART, JOIN, NICK.
    a.send("TOPIC #r :t")
    tag.expect_exact_sequence(
        ["@account=alice :alice!alice@127.0.0.1 TOPIC #r :t"])
    a.send("PART #r")
    tag.expect_exact_sequence(
        ["@account=alice :alice!alice@127.0.0.1 PART #r"])
    a.send("JOIN #r")
    tag.expect_exact_sequence(
        ["@account=alice :alice!alice@127.0.0.1 JOIN #r"])
    notag.expect(":alice!alice@127.0.0.1 JOIN #r")
    a.send("NICK alice2")
    tag.expect_exact_sequence(
        ["@account=alice :alice!alice@127.0.0.1 NICK alice2"])
    a.nick = "alice2"
    notag.expect(":alice!alice@127.0.0.1 NICK alice2")
    # The sender's account when it sent: deleted, it has none.
    delete(s, "alice")
    tag.sync()
    tag.drain()
    a.send("PRIVMSG #r :now without")
    tag.expect_exact_sequence(
        [":alice2!alice@127.0.0.1 PRIVMSG #r :now without"])
    notag.expect(":alice2!alice@127.0.0.1 PRIVMSG #r :now without")


def test_account_tag_with_other_tags_and_echo(f):
    s = server(f)
    create(s, "alice")
    a, _ = sasl_user(s, "alice", "alice", "account-tag", "echo-message",
                     "message-tags")
    all3 = v3(s, "bob", "account-tag", "server-time", "message-tags")
    acct = v3(s, "carol", "account-tag")
    # (Her own JOIN is tagged: harness.join expects it plain.)
    a.send("JOIN #r")
    a.expect("@account=alice :alice!alice@127.0.0.1 JOIN #r")
    a.read_until(numeric("366", "alice", "#r :End of /NAMES list"))
    join(all3, acct, room="#r")
    a.expect(":bob!bob@127.0.0.1 JOIN #r")
    a.expect(":carol!carol@127.0.0.1 JOIN #r")
    a.send("@+draft/reply=x PRIVMSG #r :tagged")
    body = ":alice!alice@127.0.0.1 PRIVMSG #r :tagged"
    line = all3.expect(rx(r"@time=%s;msgid=%s;account=alice;\+draft/reply=x "
                          % (TIME, MSGID)
                          + re.escape(body)))
    mid = re.search(r"msgid=(%s);" % MSGID, line).group(1)
    acct.expect_exact_sequence(["@account=alice " + body])
    # Its own echo carries it, as others see it.
    a.expect_exact_sequence(
        ["@msgid=%s;account=alice;+draft/reply=x %s" % (mid, body)])
    # TAGMSG (message-tags clients only).
    a.send("@+typing=active TAGMSG #r")
    line = all3.expect(rx(r"@time=%s;msgid=%s;account=alice;\+typing=active "
                          r":alice!alice@127\.0\.0\.1 TAGMSG #r"
                          % (TIME, MSGID)))
    mid = re.search(r"msgid=(%s);" % MSGID, line).group(1)
    a.expect_exact_sequence(["@msgid=%s;account=alice;+typing=active "
                             ":alice!alice@127.0.0.1 TAGMSG #r" % mid])
    acct.no_line(rx(r".* TAGMSG .*"), sync=True)


def test_account_tag_in_history(f):
    s = server(f)
    create(s, "alice")
    a, _ = sasl_user(s, "alice", "alice")
    d = v3(s, "dave")
    join(a, d, room="#r")
    a.send("PRIVMSG #r :kept")
    d.expect(":alice!alice@127.0.0.1 PRIVMSG #r :kept")
    d.send("PRIVMSG #r :mine")
    a.expect(":dave!dave@127.0.0.1 PRIVMSG #r :mine")
    for nick, caps, first in (
            ("eve", ("account-tag",),
             "@account=alice :alice!alice@127.0.0.1 PRIVMSG #r :kept"),
            ("frank", (), ":alice!alice@127.0.0.1 PRIVMSG #r :kept")):
        c = v3(s, nick, *caps)
        c.send("JOIN #r")
        c.read_until(numeric("366", nick, "#r :End of /NAMES list"))
        c.expect_exact_sequence([
            ":irc.test NOTICE #r :--- Recent history of #r ---",
            first,
            ":dave!dave@127.0.0.1 PRIVMSG #r :mine",
            ":irc.test NOTICE #r :--- End of history (2 lines) ---"])
    # CHATHISTORY too, with the other tags.
    g = v3(s, "gina", "account-tag", "batch", "server-time",
           "draft/chathistory")
    g.join("#r")
    g.sync()
    g.drain()
    g.send("CHATHISTORY LATEST #r * 10")
    start = g.expect(rx(r":irc\.test BATCH \+(\S+) chathistory #r"))
    ref = start.split()[2][1:]
    g.expect_exact_sequence([
        rx(r"@batch=%s;time=%s;account=alice :alice!alice@127\.0\.0\.1 "
           r"PRIVMSG #r :kept" % (re.escape(ref), TIME)),
        rx(r"@batch=%s;time=%s :dave!dave@127\.0\.0\.1 PRIVMSG #r :mine"
           % (re.escape(ref), TIME)),
        ":irc.test BATCH -" + ref])


# --- account-notify ---

def test_account_notify_on_login_and_delete(f):
    s = server(f)
    create(s, "alice")
    a = v3(s, "alice", "account-notify")
    b = v3(s, "bob", "account-notify")
    c = v3(s, "carol")                        # no cap
    d = v3(s, "dave", "account-notify")       # shares no room
    join(a, b, c, room="#r")
    join(a, b, room="#s")                     # two rooms: still once
    d.join("#elsewhere")
    lines = login(a, "alice")
    assert lines[-2:] == [
        numeric("900", "alice", "alice!alice@127.0.0.1 alice :You are now "
                "logged in as alice"),
        numeric("903", "alice", ":SASL authentication successful"),
    ], lines
    # Its own connection hears it too (the spec's "including
    # themselves"), after the replies.
    a.expect_exact_sequence([
        ":alice!alice@127.0.0.1 ACCOUNT alice",
        ":irc.test MODE alice :+r"])
    b.expect_exact_sequence([":alice!alice@127.0.0.1 ACCOUNT alice"])
    b.no_line(ANY, sync=True)
    c.no_line(ANY, sync=True)
    d.no_line(ANY, sync=True)
    a.no_line(ANY, sync=True)

    # An operator deletes the account: ACCOUNT *, MODE -r.  The operator
    # shares a room and has the cap: it sees it too, once.
    o = v3(s, "op", "account-notify")
    o.send("OPER admin secret")
    o.expect(numeric("381", "op", ":You are now an IRC operator"))
    join(a, b, c, o, room="#t")
    o.send("ACCOUNT DELETE alice")
    o.expect_exact_sequence([
        ":alice!alice@127.0.0.1 ACCOUNT *",
        ":irc.test NOTICE op :ACCOUNT: deleted alice"])
    a.expect_exact_sequence([
        numeric("901", "alice", "alice!alice@127.0.0.1 :You are now "
                "logged out"),
        ":alice!alice@127.0.0.1 ACCOUNT *",
        ":irc.test MODE alice :-r"])
    b.expect_exact_sequence([":alice!alice@127.0.0.1 ACCOUNT *"])
    for x in (a, b, c, d, o):
        x.no_line(ANY, sync=True)


def test_account_notify_tagged_with_old_account(f):
    s = server(f)
    create(s, "alice")
    a, _ = sasl_user(s, "alice", "alice")
    b = v3(s, "bob", "account-notify", "account-tag")
    join(a, b, room="#r")
    delete(s, "alice")
    # The line is hers: it carries the account she leaves.
    b.expect_exact_sequence(
        ["@account=alice :alice!alice@127.0.0.1 ACCOUNT *"])


def test_no_account_notify_before_registration(f):
    s = server(f)
    create(s, "alice")
    b = v3(s, "bob", "account-notify")
    b.join("#r")
    a, welcome = sasl_user(s, "alice", "alice", "account-notify")
    # Its welcome ends with +r, and no ACCOUNT line.
    assert welcome[-1] == ":irc.test MODE alice :+r", welcome
    assert not [l for l in welcome if " ACCOUNT " in l], welcome
    a.join("#r")
    b.expect(":alice!alice@127.0.0.1 JOIN #r")
    b.no_line(ANY, sync=True)


# --- user mode +r ---

def test_user_mode_r(f):
    s = server(f)
    create(s, "alice")
    a = v3(s, "amy")
    myinfo = [l for l in a.history if " 004 " in l]
    assert len(myinfo) == 1 and re.fullmatch(
        r":irc\.test 004 amy irc\.test natterd-\S+ Biorw \S+ \S+",
        myinfo[0]), myinfo
    a.send("MODE amy")
    a.expect_exact_sequence([numeric("221", "amy", "+")])
    # A client cannot set it, or clear it: 481, nothing changes.
    a.send("MODE amy +r")
    a.expect_exact_sequence([numeric("481", "amy", ":Permission Denied- "
                                     "Only the server may set or unset user "
                                     "mode r")])
    a.send("MODE amy")
    a.expect_exact_sequence([numeric("221", "amy", "+")])
    login(a, "alice")
    a.expect_exact_sequence([":irc.test MODE amy :+r"])
    a.send("MODE amy")
    a.expect_exact_sequence([numeric("221", "amy", "+r")])
    a.send("MODE amy -r+i")
    a.expect_exact_sequence([
        numeric("481", "amy", ":Permission Denied- Only the server may "
                "set or unset user mode r"),
        ":amy MODE amy :+i"])
    a.send("MODE amy")
    a.expect_exact_sequence([numeric("221", "amy", "+ir")])
    delete(s, "alice")
    a.expect_exact_sequence([
        numeric("901", "amy", "amy!amy@127.0.0.1 :You are now "
                "logged out"),
        ":irc.test MODE amy :-r"])
    a.send("MODE amy")
    a.expect_exact_sequence([numeric("221", "amy", "+i")])


def test_plus_r_after_welcome_for_sasl_login(f):
    s = server(f)
    create(s, "alice")
    a, welcome = sasl_user(s, "alice", "alice")
    assert welcome[-2:] == [
        rx(r":irc\.test (376|422) alice :.*").fullmatch(welcome[-2]).group(0),
        ":irc.test MODE alice :+r"], welcome
    a.send("MODE alice")
    a.expect_exact_sequence([numeric("221", "alice", "+r")])
    # Not logged in: no MODE after the welcome.
    b = s.client("bob")
    welcome = b.register("bob")
    b.sync()
    assert not [l for l in welcome + b.drain() if " MODE " in l]


def test_plus_r_after_welcome_on_the_unix_socket(f):
    path = sock_path(f)
    s = server(f, "--unix", path)
    b = v3(s, "bob", "account-notify", "account-tag")
    b.join("#r")
    a = Client(s, name="alice", unix=path)
    a.send("NICK alice")
    a.send("USER x 0 * :alice")
    a.expect(numeric("900", "alice", "alice!root@localhost root :You are "
                     "now logged in as root"))
    welcome = a.expect_welcome()
    a.sync()
    rest = a.drain()
    assert rest == [":irc.test MODE alice :+r"], (welcome, rest)
    # Logged in before anyone saw it: no ACCOUNT line; its JOIN is
    # tagged.
    a.send("JOIN #r")
    b.expect_exact_sequence(["@account=root :alice!root@localhost JOIN #r"])
    b.no_line(ANY, sync=True)


def test_two_devices_both_plus_r(f):
    s = server(f, "--max-devices", "3")
    create(s, "alice")
    carol = v3(s, "carol", "account-notify")
    laptop, w1 = sasl_user(s, "alice", "alice", "account-notify")
    assert w1[-1] == ":irc.test MODE alice :+r", w1
    join(laptop, carol, room="#r")
    phone, w2 = sasl_user(s, "phone", "alice", "account-notify")
    assert phone.nick == "alice", phone.nick
    assert ":irc.test MODE alice :+r" in w2, w2
    carol.no_line(ANY, sync=True)
    for d in (laptop, phone):
        d.send("MODE alice")
        d.expect(numeric("221", "alice", "+r"))
    # Out of the account: each device, once; carol once.
    delete(s, "alice")
    for d in (laptop, phone):
        d.expect_exact_sequence([
            numeric("901", "alice", "alice!alice@127.0.0.1 :You are now "
                    "logged out"),
            ":alice!alice@127.0.0.1 ACCOUNT *",
            ":irc.test MODE alice :-r"])
        d.no_line(ANY, sync=True)
    carol.expect_exact_sequence([":alice!alice@127.0.0.1 ACCOUNT *"])
    carol.no_line(ANY, sync=True)
