"""IRCv3 draft/account-registration: the capability and its value,
REGISTER (before and after the welcome, custom account names, every
FAIL: existing names, bad names, passwords, logged in already, closed
registration, the per-address bound, --max-accounts) and VERIFY."""

import base64
import re

from harness import FULL_SPEED, NO_THROTTLE, Server, cap_ls_words, numeric, rx

CHEAP = ("--argon2-memory", "64", "--argon2-time", "1",
         "--scram-iterations", "4096")
OPER = ("--oper", "admin:secret")
CAP = "draft/account-registration"


def server(f, *flags, **kw):
    return Server(f, *FULL_SPEED, *NO_THROTTLE, *CHEAP, *OPER, *flags, **kw)


def logged_in(nick, account):
    return rx(r":irc\.test 900 %s %s!\S+ %s :You are now logged in as %s",
              nick, nick, account, account)


def plus_r(nick):
    """The user mode a login gives once registered."""
    return ":irc.test MODE %s :+r" % nick


def success(account, email=False):
    return ":irc.test REGISTER SUCCESS %s :Account created%s" % (
        account, " (natterd keeps no email address)" if email else "")


def fail(code, account, why, cmd="REGISTER"):
    return ":irc.test FAIL %s %s %s :%s" % (cmd, code, account, why)


def expect_only(c, lines):
    """Exactly these lines next, then nothing before a PING round trip."""
    got = [c.next_line() for _ in lines]
    for want, line in zip(lines, got):
        ok = want.fullmatch(line) if isinstance(want, re.Pattern) \
            else line == want
        assert ok, "expected %r, got %r (all: %r)" % (want, line, got)
    c.sync()
    rest = c.drain()
    assert rest == [], "unexpected lines after %r: %r" % (got, rest)
    return got


def cap_ls(c):
    return cap_ls_words(c)


def sasl_plain(s, nick, account, password):
    """A new registered connection that tries SASL PLAIN: its reply."""
    c = s.user(nick)
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + base64.b64encode(
        ("\0%s\0%s" % (account, password)).encode()).decode())
    return c.expect(rx(r":irc\.test 90[0-9] .*"))


def test_cap_value(f):
    s = server(f)
    c = s.client("capper")
    assert "%s=before-connect,custom-account-name" % CAP in cap_ls(c)
    # Without 302 the name alone.
    c2 = s.client("capper2")
    c2.send("CAP LS")
    line = c2.expect(rx(r":irc\.test CAP \S+ LS :.*"))
    assert CAP in line.split(" :", 1)[1].split(), line
    # A server password: no REGISTER before the welcome.
    s2 = server(f, "--password", "sesame", "--db", "off")
    assert "%s=custom-account-name" % CAP in cap_ls(s2.client("p"))
    # Closed: not offered at all.
    s3 = server(f, "--registration", "closed", "--db", "off")
    assert not [w for w in cap_ls(s3.client("q")) if w.startswith(CAP)]


def test_register_then_exists(f):
    s = server(f)
    a = s.user("alice")
    a.send("REGISTER * * password1")
    expect_only(a, [logged_in("alice", "alice"), plus_r("alice"), success("alice")])
    # Logged in already: no second account.
    a.send("REGISTER other * password2")
    expect_only(a, [fail("ALREADY_AUTHENTICATED", "other",
                         "You are already logged in")])
    # The name is taken, in any case; the nick's holder keeps it.
    b = s.user("bob")
    for name in ("alice", "ALICE", "Alice"):
        b.send("REGISTER %s * password3" % name)
        expect_only(b, [fail("ACCOUNT_EXISTS", name,
                             "That name is already registered")])
    # The password works with SASL, the account owns its nick.
    a2 = s.user("a2")
    a2.send("AUTHENTICATE PLAIN")
    a2.expect("AUTHENTICATE +")
    a2.send("AUTHENTICATE " + base64.b64encode(
        b"\0alice\0password1").decode())
    a2.expect(numeric("900", "a2", "a2!a2@127.0.0.1 alice :You are now "
                      "logged in as alice"))
    assert sasl_plain(s, "a3", "alice", "password3").startswith(
        ":irc.test 904 ")
    a.send("QUIT")
    a.expect_closed()
    # While the owner is online (a2), its nick is not for the taking.
    b.send("NICK alice")
    expect_only(b, [numeric("433", "bob", "alice :Nickname is already in "
                            "use")])
    a2.send("QUIT")
    a2.expect_closed()
    b.send("NICK alice")
    b.expect(":bob!bob@127.0.0.1 NICK alice")
    b.expect(rx(r":irc\.test NOTICE alice :This nickname is registered\..*"))
    assert "127.0.0.1 (alice) registered account alice (REGISTER)" in \
        s.log_text()
    assert "password1" not in s.log_text()


def test_register_with_email_and_custom_name(f):
    s = server(f)
    b = s.user("bob")
    # custom-account-name: the nick stays, the account owns its name.
    b.send("REGISTER bobsacct bob@example.org password1")
    expect_only(b, [logged_in("bob", "bobsacct"), plus_r("bob"),
                    success("bobsacct", email=True)])
    c = s.user("carol")
    # Not while its owner is online, under whichever nick.
    c.send("NICK bobsacct")
    expect_only(c, [numeric("433", "carol", "bobsacct :Nickname is "
                            "already in use")])
    b.send("QUIT")
    b.expect_closed()
    c.send("NICK bobsacct")
    c.expect(":carol!carol@127.0.0.1 NICK bobsacct")
    c.expect(rx(r":irc\.test NOTICE bobsacct :This nickname is registered\..*"))
    # Someone else's nick of the moment is not for the taking.
    d = s.user("dave")
    e = s.user("erin")
    e.send("REGISTER dave * password1")
    expect_only(e, [fail("BAD_ACCOUNT_NAME", "dave",
                         "That name is someone else's nick now")])
    d.send("WHOIS dave")
    d.expect(numeric("318", "dave", "dave :End of /WHOIS list"))


def test_register_bad_names(f):
    s = server(f)
    b = s.user("bob")
    why = "Account names must be valid nicks that no service uses"
    for name in ("#room", "1abc", "a" * 33, "NickServ", "nickserv",
                 "a!b"):
        b.send("REGISTER %s * password1" % name)
        expect_only(b, [fail("BAD_ACCOUNT_NAME", name, why)])
    # A long junk name is not echoed.
    b.send("REGISTER %s * password1" % ("x" * 70))
    expect_only(b, [fail("BAD_ACCOUNT_NAME", "*", why)])
    b.send("REGISTER bob *")
    expect_only(b, [numeric("461", "bob", "REGISTER :Not enough parameters")])


def test_register_passwords(f):
    s = server(f)
    b = s.user("bob")
    for pw, code, why in (
            ("short", "WEAK_PASSWORD", "Passwords must have at least 8 bytes"),
            ("BobBob12", None, None),
            ("bob", "WEAK_PASSWORD", "Passwords must have at least 8 bytes"),
            ("x" * 301, "UNACCEPTABLE_PASSWORD",
             "Passwords may have at most 300 bytes"),
            (":two words here", "UNACCEPTABLE_PASSWORD",
             "Passwords may not contain spaces")):
        if code is None:
            continue
        b.send("REGISTER * * %s" % pw)
        expect_only(b, [fail(code, "bob", why)])
    b.send("NICK longername")
    b.expect(":bob!bob@127.0.0.1 NICK longername")
    b.send("REGISTER * * LongerName")
    expect_only(b, [fail("WEAK_PASSWORD", "longername",
                         "The password may not be the account name")])
    # 300 bytes is fine.
    b.send("REGISTER * * %s" % ("y" * 300))
    expect_only(b, [logged_in("longername", "longername"), plus_r("longername"),
                    success("longername")])


def test_register_before_connect(f):
    s = server(f)
    c = s.client("early")
    c.send("REGISTER * * password1")
    expect_only(c, [fail("NEED_NICK", "*", "Choose a nick with NICK first")])
    c.send("NICK early")
    c.send("REGISTER * * password1")
    expect_only(c, [logged_in("early", "early"), success("early")])
    c.send("USER early 0 * :Early")
    lines = c.expect_welcome()
    assert not [x for x in lines + c.drain(0.3)
                if "This nickname is registered" in x], lines


def test_register_needs_welcome_with_server_password(f):
    s = server(f, "--password", "sesame")
    c = s.client("pw")
    c.send("NICK pw")
    for cmd in ("REGISTER * * password1", "VERIFY pw 1234"):
        c.send(cmd)
        expect_only(c, [":irc.test FAIL %s COMPLETE_CONNECTION_REQUIRED "
                        ":Finish connecting first" % cmd.split()[0]])
    c.send("PASS sesame")
    c.send("USER pw 0 * :pw")
    c.expect_welcome()
    c.send("REGISTER * * password1")
    expect_only(c, [logged_in("pw", "pw"), plus_r("pw"), success("pw")])


def test_registration_closed(f):
    s = server(f, "--registration", "closed")
    b = s.user("bob")
    b.send("REGISTER * * password1")
    expect_only(b, [fail("DISALLOWED", "bob", "Registration is closed on "
                         "this server; an operator can make an account for "
                         "you")])
    b.send("PRIVMSG NickServ :REGISTER password1")
    expect_only(b, [":NickServ!NickServ@services. NOTICE bob :Registration "
                    "is closed on this server; an operator can make an "
                    "account for you."])
    # Operators still make accounts.
    o = s.user("op")
    o.send("OPER admin secret")
    o.expect(numeric("381", "op", ":You are now an IRC operator"))
    o.send("ACCOUNT CREATE bob password1")
    o.expect(":irc.test NOTICE op :ACCOUNT: created bob")


def test_verify(f):
    s = server(f)
    b = s.user("bob")
    b.send("VERIFY bob 123456")
    expect_only(b, [fail("INVALID_CODE", "bob", "This server never asks "
                         "for a verification code", cmd="VERIFY")])
    b.send("VERIFY bob")
    expect_only(b, [numeric("461", "bob", "VERIFY :Not enough parameters")])
    b.send("REGISTER * * password1")
    expect_only(b, [logged_in("bob", "bob"), plus_r("bob"), success("bob")])
    b.send("VERIFY bob 123456")
    expect_only(b, [fail("ALREADY_AUTHENTICATED", "bob", "You are already "
                         "logged in", cmd="VERIFY")])


def test_register_per_address_bound(f):
    s = server(f, "--register-per-ip", "2")
    for i in range(2):
        c = s.user("user%d" % i)
        if i == 0:
            c.send("REGISTER * * password1")
        else:
            # NickServ REGISTER counts the same.
            c.send("PRIVMSG NickServ :REGISTER password1")
        c.expect(logged_in("user%d" % i, "user%d" % i))
    # Refusals that cost no hash do not count.
    c = s.user("user2")
    c.send("REGISTER * * short")
    expect_only(c, [fail("WEAK_PASSWORD", "user2",
                         "Passwords must have at least 8 bytes")])
    c.send("REGISTER * * password1")
    expect_only(c, [fail("TEMPORARILY_UNAVAILABLE", "user2",
                         "Too many accounts registered from your address "
                         "this hour; try again later")])
    c.send("PRIVMSG NickServ :REGISTER password1")
    expect_only(c, [":NickServ!NickServ@services. NOTICE user2 :Too many "
                    "accounts registered from your address this hour; try "
                    "again later."])
    assert "registration refused: 127.0.0.1/32 registered 2 accounts " \
        "this hour" in s.log_text()


def test_register_max_accounts(f):
    s = server(f, "--max-accounts", "1")
    a = s.user("alice")
    a.send("REGISTER * * password1")
    a.expect(success("alice"))
    b = s.user("bob")
    b.send("REGISTER * * password1")
    expect_only(b, [fail("TEMPORARILY_UNAVAILABLE", "bob",
                         "The server cannot keep more accounts now")])


def test_registration_flag_usage(f):
    cp = f.run("--registration", "maybe")
    assert cp.returncode == 2, cp
    assert "natterd: --registration: invalid value 'maybe' (expected open " \
        "or closed)" in cp.stderr
    assert cp.stderr.splitlines()[1].startswith("usage: natterd"), cp.stderr
    cp = f.run("--register-per-ip", "-1")
    assert cp.returncode == 2, cp
