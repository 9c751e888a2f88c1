"""The NickServ service: a nick nobody can take, WHOIS of it, and every
command (REGISTER, IDENTIFY, LOGOUT, PASSWD, GROUP, CERT, INFO, DROP,
HELP) with its successes, failures and Syntax lines."""

import base64
import re
import shutil

from harness import (FULL_SPEED, NO_THROTTLE, Client, Server, numeric,
                     prefix, rx)

from test_register import expect_only, logged_in, plus_r
from test_sasl import make_client_cert, send_payload, tls_ctx
from test_unix import sock_path

CHEAP = ("--argon2-memory", "64", "--argon2-time", "1",
         "--scram-iterations", "4096")
OPER = ("--oper", "admin:secret")
NS = ":NickServ!NickServ@services. NOTICE %s :%s"


def server(f, *flags, **kw):
    return Server(f, *FULL_SPEED, *NO_THROTTLE, *CHEAP, *OPER, *flags, **kw)


def ns(c, text):
    c.send("PRIVMSG NickServ :%s" % text)


def notice(nick, text):
    return NS % (nick, text)


def registered(s, nick, password="password1"):
    """A user whose nick is a new account it is logged in to."""
    c = s.user(nick)
    ns(c, "REGISTER %s" % password)
    expect_only(c, [logged_in(nick, nick), plus_r(nick),
                    notice(nick, "%s is now registered to you, and you are "
                           "logged in." % nick)])
    return c


def minus_r(nick):
    return ":irc.test MODE %s :-r" % nick


def logged_out(c):
    return numeric("901", c.nick, "%s :You are now logged out"
                   % prefix(c.nick))


GRACE = (":irc.test NOTICE %s :This nickname is registered. Please log in "
         "to its account with SASL or /msg NickServ IDENTIFY <password> "
         "within 30 seconds, or you will be renamed.")


def test_nickserv_nick_is_reserved(f):
    s = server(f)
    c = s.client("early")
    c.send("NICK NickServ")
    expect_only(c, [numeric("432", "*", "NickServ :Erroneous nickname")])
    a = s.user("alice")
    for nick in ("NickServ", "nickserv", "NICKSERV"):
        a.send("NICK %s" % nick)
        expect_only(a, [numeric("432", "alice",
                                "%s :Erroneous nickname" % nick)])
    a.send("WHOIS nickserv")
    expect_only(a, [
        numeric("311", "alice", "NickServ NickServ services. * :Nickname "
                "services: /msg NickServ HELP"),
        numeric("312", "alice", "NickServ irc.test :natterd's own services"),
        numeric("318", "alice", "NickServ :End of /WHOIS list")])
    # No account may be named so, nor group it.
    a.send("OPER admin secret")
    a.expect(numeric("381", "alice", ":You are now an IRC operator"))
    a.send("ACCOUNT CREATE NickServ password1")
    expect_only(a, [":irc.test FAIL ACCOUNT BAD_ACCOUNT_NAME NickServ "
                    ":Account names must be valid nicks"])
    # A NOTICE to it gets nothing back; nothing said to it is relayed.
    a.send("NOTICE NickServ :HELP")
    expect_only(a, [])


def test_syntax_lines(f):
    s = server(f)
    a = s.user("alice")
    for cmd, syntax in (
            ("REGISTER", "REGISTER <password> [email]"),
            ("REGISTER a b c", "REGISTER <password> [email]"),
            ("IDENTIFY", "IDENTIFY [account] <password>"),
            ("identify a b c", "IDENTIFY [account] <password>"),
            ("LOGOUT now", "LOGOUT"),
            ("PASSWD", "PASSWD [old password] <new password>"),
            ("GROUP x", "GROUP"),
            ("CERT", "CERT ADD [fingerprint] | CERT DEL <fingerprint> | "
             "CERT LIST"),
            ("CERT DEL", "CERT ADD [fingerprint] | CERT DEL <fingerprint> | "
             "CERT LIST"),
            ("CERT FOO", "CERT ADD [fingerprint] | CERT DEL <fingerprint> | "
             "CERT LIST"),
            ("INFO a b", "INFO [account]"),
            ("DROP", "DROP <password>"),
            ("DROP a b", "DROP <password>")):
        ns(a, cmd)
        expect_only(a, [notice("alice", "Syntax: %s" % syntax)])
    ns(a, "FROB x")
    expect_only(a, [notice("alice", "Unknown command FROB. Type /msg "
                           "NickServ HELP for a list of commands.")])
    a.send("NS")
    expect_only(a, [notice("alice", "Type /msg NickServ HELP for a list of "
                           "commands.")])
    # The aliases, in any case.
    for line in ("NICKSERV help", "ns HELP", "PRIVMSG nickserv :help"):
        a.send(line)
        got = expect_only(a, [re.compile(r":NickServ!NickServ@services\. "
                                         r"NOTICE alice :.* - .*")] * 9)
        assert got[0] == notice("alice", "REGISTER <password> [email] - "
                                "register your current nick as an account")
        assert got[-1] == notice("alice", "HELP - this list")
    # Logged out, the commands that need a login say so.
    for cmd in ("LOGOUT", "GROUP", "PASSWD newpassword1", "CERT LIST",
                "DROP password1"):
        ns(a, cmd)
        expect_only(a, [notice("alice", "You are not logged in.")])


def test_register_identify_logout(f):
    s = server(f)
    a = registered(s, "alice")
    ns(a, "REGISTER password2")
    expect_only(a, [notice("alice", "You are already logged in.")])
    ns(a, "IDENTIFY password1")
    expect_only(a, [notice("alice", "You are already logged in as alice.")])
    ns(a, "LOGOUT")
    # The nick is owned like any other now.
    expect_only(a, [logged_out(a), minus_r("alice"),
                    notice("alice", "You are now logged out."),
                    GRACE % "alice"])
    ns(a, "IDENTIFY password1")
    expect_only(a, [logged_in("alice", "alice"), plus_r("alice"),
                    notice("alice", "You are now logged in as alice.")])
    # NickServ REGISTER with an email, and its failures.
    b = s.user("bob")
    ns(b, "REGISTER short")
    expect_only(b, [notice("bob", "Passwords must have at least 8 bytes.")])
    ns(b, "REGISTER bobpassword bob@example.org")
    expect_only(b, [logged_in("bob", "bob"), plus_r("bob"),
                    notice("bob", "bob is now registered to you, and you "
                           "are logged in (natterd keeps no email "
                           "address).")])
    b.send("QUIT")
    b.expect_closed()
    a.send("QUIT")
    a.expect_closed()
    c = s.user("carol")
    c.send("NICK Alice")
    c.expect(":carol!carol@127.0.0.1 NICK Alice")
    c.expect(GRACE % "Alice")
    ns(c, "REGISTER password1")
    expect_only(c, [notice("Alice", "That name is already registered.")])
    assert "127.0.0.1 (alice) registered account alice (NickServ)" in \
        s.log_text()
    assert "password1" not in s.log_text()


def test_identify_wrong_password_and_unknown_account_alike(f):
    s = server(f, "--login-fails-account", "2", "--login-fails-ip", "0")
    registered(s, "alice").send("QUIT")
    replies = []
    for args in ("alice wrongpassword", "nosuch password1"):
        c = s.user("probe%d" % len(replies))
        ns(c, "IDENTIFY %s" % args)
        got = expect_only(c, [re.compile(
            r":NickServ!NickServ@services\. NOTICE probe\d :.*")])
        replies.append(got[0].replace(c.nick, "probe"))
    assert replies[0] == replies[1] == notice(
        "probe", "Invalid account or password."), replies
    # The failed-login limit applies: 2 a minute for alice.
    c = s.user("probe9")
    ns(c, "IDENTIFY alice wrongpassword")
    expect_only(c, [notice("probe9", "Invalid account or password.")])
    ns(c, "IDENTIFY alice password1")
    expect_only(c, [notice("probe9", "Too many failed logins; try again in "
                           "a minute.")])
    assert "login failed: account nosuch from 127.0.0.1/32 (NickServ " \
        "IDENTIFY)" in s.log_text()


def test_identify_keeps_or_renames_the_nick(f):
    s = server(f)
    registered(s, "alice").send("QUIT")
    registered(s, "carol").send("QUIT")
    # The owner keeps its nick: the grace ends.
    a = s.user("alice")
    a.expect(GRACE % "alice")
    ns(a, "IDENTIFY password1")
    expect_only(a, [logged_in("alice", "alice"), plus_r("alice"),
                    notice("alice", "You are now logged in as alice.")])
    # Holding another account's nick: renamed at once, as with SASL.
    c = s.user("carol")
    c.expect(GRACE % "carol")
    ns(c, "IDENTIFY alice password1")
    lines = expect_only(c, [
        rx(r":carol!carol@127\.0\.0\.1 NICK (Guest\d+)"),
        rx(r":irc\.test 900 (Guest\d+) Guest\d+!carol@127\.0\.0\.1 alice "
           r":You are now logged in as alice"),
        rx(r":irc\.test NOTICE (Guest\d+) :The nickname carol is registered "
           r"to another account; you are now Guest\d+\."),
        rx(r":irc\.test MODE (Guest\d+) :\+r"),
        rx(r":NickServ!NickServ@services\. NOTICE Guest\d+ :You are now "
           r"logged in as alice\.")])
    guest = lines[0].split()[-1]
    assert all(" %s " % guest in x for x in lines[1:]), lines


def test_passwd(f):
    s = server(f)
    a = registered(s, "alice")
    ns(a, "PASSWD newpassword1")
    expect_only(a, [notice("alice", "Syntax: PASSWD <old password> <new "
                           "password>")])
    ns(a, "PASSWD wrongpassword newpassword1")
    expect_only(a, [notice("alice", "Invalid password.")])
    ns(a, "PASSWD password1 short")
    expect_only(a, [notice("alice", "Passwords must have at least 8 "
                           "bytes.")])
    ns(a, "PASSWD password1 newpassword1")
    expect_only(a, [notice("alice", "Password changed.")])
    b = s.user("bob")
    ns(b, "IDENTIFY alice password1")
    expect_only(b, [notice("bob", "Invalid account or password.")])
    ns(b, "IDENTIFY alice newpassword1")
    expect_only(b, [logged_in("bob", "alice"), plus_r("bob"),
                    notice("bob", "You are now logged in as alice.")])


def test_passwd_gives_a_local_account_its_first_password(f):
    path = sock_path(f)
    s = server(f, "--unix", path)
    local = Client(s, name="alice", unix=path)
    local.send("NICK alice")
    local.send("USER x 0 * :alice")
    local.expect(numeric("900", "alice", "alice!root@localhost root :You "
                         "are now logged in as root"))
    local.expect_welcome()
    local.expect(":irc.test MODE alice :+r")
    # Over TCP, no password gets in to a local account.
    t = s.user("tcp")
    ns(t, "IDENTIFY root password1")
    expect_only(t, [notice("tcp", "Invalid account or password.")])
    # Its owner, on the socket, sets one.
    ns(local, "PASSWD password1 password2")
    expect_only(local, [notice("alice", "Syntax: PASSWD <new password> "
                               "(your account has none yet)")])
    ns(local, "DROP password1")
    expect_only(local, [notice("alice", "Your account has no password: set "
                               "one with PASSWD first.")])
    ns(local, "PASSWD password1")
    expect_only(local, [notice("alice", "Password set: you can now log in "
                               "with it from anywhere.")])
    ns(t, "IDENTIFY root password1")
    expect_only(t, [logged_in("tcp", "root"), plus_r("tcp"),
                    notice("tcp", "You are now logged in as root.")])


def test_group_and_info(f):
    s = server(f)
    a = registered(s, "alice")
    ns(a, "GROUP")
    expect_only(a, [notice("alice", "alice is already yours.")])
    a.send("NICK alice2")
    a.expect(":alice!alice@127.0.0.1 NICK alice2")
    ns(a, "GROUP")
    expect_only(a, [notice("alice2", "alice2 is now grouped to your "
                           "account alice.")])
    b = registered(s, "bob")
    b.send("NICK bob2")
    b.expect(":bob!bob@127.0.0.1 NICK bob2")
    b.send("NICK alice")
    expect_only(b, [numeric("433", "bob2", "alice :Nickname is reserved by "
                            "a different account")])
    # INFO: what anyone may see, and the owner's extras.
    date = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    ns(b, "INFO alice")
    expect_only(b, [notice("bob2", "Information on alice:"),
                    re.compile(r":NickServ!NickServ@services\. NOTICE bob2 "
                               r":Registered: " + date),
                    notice("bob2", "Grouped nicks: alice2"),
                    notice("bob2", "End of info.")])
    ns(a, "INFO")
    expect_only(a, [notice("alice2", "Information on alice:"),
                    re.compile(r":NickServ!NickServ@services\. NOTICE alice2 "
                               r":Registered: " + date),
                    notice("alice2", "Grouped nicks: alice2"),
                    notice("alice2", "Password: set"),
                    notice("alice2", "End of info.")])
    ns(b, "INFO nosuch")
    expect_only(b, [notice("bob2", "nosuch is not registered.")])
    # Not logged in: INFO is the current nick's.
    c = s.user("carol")
    ns(c, "INFO")
    expect_only(c, [notice("carol", "carol is not registered.")])


def test_drop_logs_out_every_device(f):
    s = server(f)
    a = registered(s, "alice")
    # A second device of alice's.
    d = s.client("alice-phone")
    d.send("CAP REQ :sasl")
    d.expect(":irc.test CAP * ACK :sasl")
    d.send("NICK phone")
    d.send("USER phone 0 * :phone")
    d.send("AUTHENTICATE PLAIN")
    d.expect("AUTHENTICATE +")
    d.send("AUTHENTICATE " + base64.b64encode(
        b"\0alice\0password1").decode())
    d.expect(numeric("903", "phone", ":SASL authentication successful"))
    d.send("CAP END")
    d.expect(rx(r":irc\.test 001 alice :.*"))
    d.nick = "alice"
    d.expect(rx(r":irc\.test (376|422) alice :.*"))
    ns(a, "DROP wrongpassword")
    expect_only(a, [notice("alice", "Invalid password.")])
    ns(a, "DROP password1")
    expect_only(a, [logged_out(a), minus_r("alice"),
                    notice("alice", "Account alice dropped.")])
    d.expect(logged_out(d))
    d.expect(minus_r(d.nick))
    d.sync()
    assert d.drain() == []
    b = s.user("bob")
    ns(b, "IDENTIFY alice password1")
    expect_only(b, [notice("bob", "Invalid account or password.")])
    assert "127.0.0.1 (alice): NickServ DROP alice" in s.log_text()


def test_cert_add_then_sasl_external(f):
    if shutil.which("openssl") is None:
        f.skip("no openssl")
    s = server(f, tls=True)
    crt, key, fp = make_client_cert(f)
    # On a plain connection there is no certificate to take.
    p = registered(s, "plain")
    ns(p, "CERT ADD")
    expect_only(p, [notice("plain", "This connection has no TLS client "
                           "certificate: connect with the certificate over "
                           "TLS, then CERT ADD.")])
    for junk in ("nonsense", fp + ":AB" * 40):
        ns(p, "CERT ADD %s" % junk)
        expect_only(p, [notice("plain", "That is not a SHA-256 "
                               "fingerprint.")])
    ns(p, "CERT LIST")
    expect_only(p, [notice("plain", "Your account has no certificates."),
                    notice("plain", "End of certificates.")])
    # With a certificate: CERT ADD takes it.
    c = s.user("judy", port=s.tls_port, tls=tls_ctx((crt, key)))
    ns(c, "REGISTER password1")
    c.expect(notice("judy", "judy is now registered to you, and you are "
                    "logged in."))
    ns(c, "CERT ADD")
    expect_only(c, [notice("judy", "Certificate added: you can log in with "
                           "SASL EXTERNAL.")])
    ns(c, "CERT LIST")
    expect_only(c, [notice("judy", "Certificate: %s" % fp),
                    notice("judy", "End of certificates.")])
    # Nobody adds a certificate it does not hold: it would log the
    # certificate's owner in to the wrong account by EXTERNAL.
    ns(p, "CERT ADD %s" % fp.lower().replace(":", ""))
    expect_only(p, [notice("plain", "This connection has no TLS client "
                           "certificate: connect with the certificate over "
                           "TLS, then CERT ADD.")])
    crt2, key2, fp2 = make_client_cert(f, "other")
    o = s.user("olly", port=s.tls_port, tls=tls_ctx((crt2, key2)))
    ns(o, "REGISTER password1")
    o.expect(notice("olly", "olly is now registered to you, and you are "
                    "logged in."))
    ns(o, "CERT ADD %s" % fp)
    expect_only(o, [notice("olly", "That is not the certificate this "
                           "connection uses: connect with it over TLS, then "
                           "CERT ADD.")])
    ns(o, "CERT ADD %s" % fp2.lower().replace(":", ""))
    expect_only(o, [notice("olly", "Certificate added: you can log in with "
                           "SASL EXTERNAL.")])
    ns(p, "INFO judy")
    info = expect_only(p, [re.compile(r":NickServ!\S+ NOTICE plain :.*")] * 4)
    assert not [x for x in info if fp in x], info
    c.send("QUIT")
    c.expect_closed()
    e = s.user("judy", port=s.tls_port, tls=tls_ctx((crt, key)))
    e.send("AUTHENTICATE EXTERNAL")
    e.expect("AUTHENTICATE +")
    send_payload(e, b"")
    expect_only(e, [logged_in("judy", "judy"),
                    numeric("903", "judy", ":SASL authentication successful"),
                    plus_r("judy")])
    ns(e, "CERT DEL %s" % fp)
    expect_only(e, [notice("judy", "Certificate removed.")])
    ns(e, "CERT DEL %s" % fp)
    expect_only(e, [notice("judy", "That certificate is not linked to your "
                           "account.")])


def test_echo_message_and_nothing_stored(f):
    s = server(f)
    c = s.client("echo")
    c.send("CAP REQ :echo-message batch draft/chathistory")
    c.expect(":irc.test CAP * ACK :echo-message batch draft/chathistory")
    c.send("CAP END")
    c.register("echo")
    ns(c, "HELP")
    got = c.read_until(notice("echo", "HELP - this list"))
    assert got[0] == ":echo!echo@127.0.0.1 PRIVMSG NickServ :HELP", got
    c.send("CHATHISTORY LATEST NickServ * 10")
    lines = c.read_until(rx(r":irc\.test BATCH -\S+"))
    assert not [x for x in lines if "PRIVMSG NickServ" in x], lines
