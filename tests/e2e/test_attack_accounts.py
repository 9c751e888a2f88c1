"""Attacks on accounts (issue 11) by a hostile or faulty peer.  Each
test here failed before the fix that came with it, but those whose
docstring says they are regression tests."""

import base64
import threading

from harness import FULL_SPEED, NO_THROTTLE, Server, rx
from test_devices import OPER, device, make_account
from test_nickserv import CHEAP, notice
from test_register import expect_only, fail
from test_unix import sock_path


def ns_server(f, *flags, **kw):
    return Server(f, *FULL_SPEED, *NO_THROTTLE, *CHEAP, *OPER, *flags, **kw)


def test_device_attaches_to_the_user_left_when_the_first_goes(f):
    """Past --max-devices a login is a user of its own; once the first
    user is gone, a new login is a device of the one left, not a third
    user of the same account."""
    s = Server(f, *OPER, "--max-devices", "2")
    make_account(s, "hana", "pw-hana-66666")
    one = device(s, "hana", "hana", "pw-hana-66666")
    two = device(s, "hana2", "hana", "pw-hana-66666")
    assert two.nick == "hana", two.nick
    third = device(s, "hana3", "hana", "pw-hana-66666")
    assert third.nick == "hana3", third.nick
    for c in (one, two):
        c.send("QUIT")
        c.expect_closed()
    third.sync()
    fourth = device(s, "hana4", "hana", "pw-hana-66666")
    assert fourth.nick == "hana3", fourth.nick
    third.send("PRIVMSG hana3 :to myself")
    fourth.expect(rx(r":hana3!\S+ PRIVMSG hana3 :to myself"))


def test_nickserv_info_keeps_lines_within_512_bytes(f):
    """An account with every nick it may group, each as long as a nick
    may be: NickServ INFO lists them all, on as many lines as it takes,
    none past the 512 bytes a line may have."""
    s = ns_server(f)
    o = s.user("op")
    o.send("OPER admin secret")
    o.expect(rx(r":irc\.test 381 op :.*"))
    o.send("ACCOUNT CREATE ivan pw-ivan-77777")
    o.expect(":irc.test NOTICE op :ACCOUNT: created ivan")
    nicks = ["n%02d" % i + "x" * 29 for i in range(16)]
    for n in nicks:
        o.send("ACCOUNT GROUP ivan %s" % n)
        o.expect(rx(r":irc\.test NOTICE op :ACCOUNT: .*"))
    asker = "q" * 32
    c = s.user(asker)
    c.send("PRIVMSG NickServ :INFO ivan")
    c.expect(notice(asker, "Information on ivan:"))
    c.expect(rx(r":NickServ!NickServ@services\. NOTICE %s :Registered: .*"
                % asker))
    listed = []
    while True:
        line = c.next_line()
        assert len(line.encode()) + 2 <= 512, (len(line), line)
        if line == notice(asker, "End of info."):
            break
        head = notice(asker, "Grouped nicks: ")
        assert line.startswith(head), line
        listed += line[len(head):].split(" ")
    assert sorted(listed) == sorted(nicks), listed


UNIX_NAME = ("That name is the login of a user of this machine, who logs "
             "in on its Unix socket")


def test_tcp_cannot_register_a_unix_users_name(f):
    """With the Unix socket on, the login name of a user of the machine
    is that user's local account, made when they first connect: a TCP
    client that registers it first (in any case) would own their nick
    and keep them from logging in."""
    path = sock_path(f)
    s = ns_server(f, "--unix", path)
    c = s.user("nobody")
    c.send("REGISTER * * password123")
    expect_only(c, [fail("BAD_ACCOUNT_NAME", "nobody", UNIX_NAME)])
    c.send("REGISTER NoBody * password123")
    expect_only(c, [fail("BAD_ACCOUNT_NAME", "NoBody", UNIX_NAME)])
    c.send("PRIVMSG NickServ :REGISTER password123")
    expect_only(c, [notice("nobody", UNIX_NAME + ".")])
    # Any other name is anyone's.
    c.send("REGISTER nobody2 * password123")
    c.expect(rx(r":irc\.test 900 nobody \S+ nobody2 :.*"))
    # Without the socket nobody logs in that way: the name is free.
    s.stop()
    s2 = ns_server(f, "--db", "off")
    d = s2.user("nobody")
    d.send("REGISTER * * password123")
    d.expect(rx(r":irc\.test 900 nobody \S+ nobody :.*"))


def test_tcp_cannot_group_a_unix_users_name(f):
    """NickServ GROUP is the other way to own a nick: a Unix user's
    login name is theirs there too."""
    path = sock_path(f)
    s = ns_server(f, "--unix", path)
    c = s.user("mallory")
    c.send("REGISTER * * password123")
    c.expect(rx(r":irc\.test 900 mallory \S+ mallory :.*"))
    c.read_until(":irc.test REGISTER SUCCESS mallory :Account created")
    c.send("NICK nobody")
    c.expect(":mallory!mallory@127.0.0.1 NICK nobody")
    c.send("PRIVMSG NickServ :GROUP")
    expect_only(c, [notice("nobody", "nobody is the login of a user of "
                           "this machine, who logs in on its Unix "
                           "socket.")])


def test_trace_log_hides_nickserv_and_register_passwords(f):
    """-vv logs every line but the secrets: a password given to REGISTER
    or to NickServ (by PRIVMSG, NICKSERV or NS, in any case, among other
    targets) is a secret too."""
    s = ns_server(f, "-vv")
    c = s.user("tracy")
    c.send("REGISTER * * s3cret-register")
    c.read_until(":irc.test REGISTER SUCCESS tracy :Account created")
    c.send("@label=x PRIVMSG NickServ :PASSWD s3cret-register "
           "s3cret-privmsg")
    c.expect(notice("tracy", "Password changed."))
    c.send("NS PASSWD s3cret-privmsg s3cret-ns")
    c.expect(notice("tracy", "Password changed."))
    c.send("NICKSERV PASSWD s3cret-ns s3cret-nickserv")
    c.expect(notice("tracy", "Password changed."))
    c.send("PRIVMSG tracy,nickserv :PASSWD s3cret-nickserv s3cret-many")
    c.read_until(notice("tracy", "Password changed."))
    c.sync()
    log = s.log_text()
    assert "s3cret" not in log, [x for x in log.splitlines()
                                 if "s3cret" in x]
    for hidden in ("tracy <- REGISTER <hidden>",
                   "tracy <- @label=x PRIVMSG NickServ <hidden>",
                   "tracy <- NS <hidden>",
                   "tracy <- NICKSERV <hidden>",
                   "tracy <- PRIVMSG tracy,nickserv <hidden>"):
        assert hidden in log, hidden
    # Lines to anyone else are logged as before.
    c.send("PRIVMSG tracy :plain words")
    c.expect(rx(r":tracy!\S+ PRIVMSG tracy :plain words"))
    c.sync()
    assert "tracy <- PRIVMSG tracy :plain words" in s.log_text()


def test_owner_online_under_another_nick_keeps_its_nicks(f):
    """While the owner is online, nobody else can take its nicks (433),
    even while it uses another one: not its name, not a nick it grouped,
    not before registration.  Else anyone could wear the owner's name
    beside it for a grace, again and again."""
    s = ns_server(f)
    o = s.user("op")
    o.send("OPER admin secret")
    o.expect(rx(r":irc\.test 381 op :.*"))
    o.send("ACCOUNT CREATE alice pw-alice-1234")
    o.expect(":irc.test NOTICE op :ACCOUNT: created alice")
    o.send("ACCOUNT GROUP alice ally")
    o.expect(":irc.test NOTICE op :ACCOUNT: nick grouped to alice")
    a = device(s, "alice_", "alice", "pw-alice-1234")
    assert a.nick == "alice_", a.nick
    m = s.user("mallory")
    for nick in ("alice", "ALICE", "ally"):
        m.send("NICK %s" % nick)
        expect_only(m, [":irc.test 433 mallory %s :Nickname is already "
                        "in use" % nick])
    early = s.client("early")
    early.send("NICK alice")
    early.expect(":irc.test 433 * alice :Nickname is already in use")
    # The owner itself may move to it.
    a.send("NICK alice")
    a.expect(":alice_!alice_@127.0.0.1 NICK alice")
    a.send("QUIT")
    a.expect_closed()
    # Gone: the nick-theft rules again (a grace).
    m.send("NICK ally")
    m.expect(":mallory!mallory@127.0.0.1 NICK ally")


def test_peers_dying_mid_login_give_the_hash_pool_back(f):
    """Clients that vanish while their password waits for the one
    hashing thread or the failed-login limiter, in the middle of a SCRAM
    exchange or a NickServ IDENTIFY, leave nothing held: another
    account's login goes through (and, under ASan, nothing leaks).  A
    regression test: it passed before this branch."""
    s = ns_server(f, "--hash-threads", "1", "--login-fails-account", "3",
                  "--login-fails-ip", "0")
    o = s.user("op")
    o.send("OPER admin secret")
    o.expect(rx(r":irc\.test 381 op :.*"))
    for name in ("vic", "oth"):
        o.send("ACCOUNT CREATE %s pw-%s-123456" % (name, name))
        o.expect(":irc.test NOTICE op :ACCOUNT: created %s" % name)
    cs = [s.user("att%d" % i) for i in range(8)]
    for c in cs:
        c.send("AUTHENTICATE PLAIN")
        c.expect("AUTHENTICATE +")
        c.send("AUTHENTICATE " + base64.b64encode(
            ("\0vic\0wrong-%s" % c.nick).encode()).decode())
    for c in cs[:4]:
        c.sock.close()
    for c in cs[4:]:
        c.send("QUIT")
    for i in range(4):
        d = s.user("sc%d" % i)
        d.send("AUTHENTICATE SCRAM-SHA-256")
        d.expect("AUTHENTICATE +")
        d.send("AUTHENTICATE " + base64.b64encode(
            b"n,,n=nosuch,r=abcdefgh").decode())
        d.expect(rx(r"AUTHENTICATE \S+"))
        d.sock.close()
    for i in range(4):
        d = s.user("ns%d" % i)
        d.send("PRIVMSG NickServ :IDENTIFY nosuch2 wrong%d" % i)
        d.sock.close()
    g = s.user("good")
    g.send("AUTHENTICATE PLAIN")
    g.expect("AUTHENTICATE +")
    g.send("AUTHENTICATE " + base64.b64encode(
        b"\0oth\0pw-oth-123456").decode())
    g.read_until(":irc.test 903 good :SASL authentication successful",
                 timeout=60)


def test_device_attaching_while_the_account_logs_out(f):
    """A connection that registers as another device of a person while
    another device logs the person out (NickServ LOGOUT) or an operator
    deletes the account: natterd read the person's account again after
    the lock, found none and crashed (SEGV in the log line; TSan: a data
    race in client_try_register).  A race, and a narrow one: before the
    fix TSan caught it in 2 of 12 runs of a heavier version of this
    loop (two of these at once, 60 rounds each); this one may well pass
    without the fix."""
    s = ns_server(f, "--login-fails-ip", "0", "--login-fails-account",
                  "0", "--max-devices", "3")
    errors = []

    def rounds(name):
        try:
            o = s.user("op" + name)
            o.send("OPER admin secret")
            o.expect(rx(r":irc\.test 381 op%s :.*" % name))
            token = base64.b64encode(
                ("\0%s\0pw-acc-1234" % name).encode()).decode()
            for r in range(30):
                o.send("ACCOUNT CREATE %s pw-acc-1234" % name)
                cs = []
                for i in range(5):
                    c = s.client("%s%d" % (name, r * 10 + i))
                    c.send("CAP LS 302")
                    c.send("NICK %s%d" % (name, r * 10 + i))
                    c.send("USER d 0 * :d")
                    c.send("CAP REQ :sasl account-notify draft/read-marker")
                    c.send("AUTHENTICATE PLAIN")
                    c.send("AUTHENTICATE " + token)
                    c.send("CAP END")
                    c.send("JOIN #r")
                    c.send("MARKREAD #r timestamp=2026-01-01T00:00:00.000Z")
                    c.send("PRIVMSG NickServ :LOGOUT")
                    c.send("PRIVMSG NickServ :IDENTIFY %s pw-acc-1234"
                           % name)
                    c.send("CHATHISTORY LATEST %s0 * 10" % name)
                    c.send("QUIT")
                    cs.append(c)
                o.send("ACCOUNT DELETE %s" % name)
                for c in cs:
                    c.expect_closed(timeout=20)
                    c.close()
                o.sync(timeout=20)
        except Exception as e:          # reported below, in this thread
            errors.append(e)
    ts = [threading.Thread(target=rounds, args=(n,)) for n in ("acc", "bcc")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    assert s.alive()
