"""Registration: PASS, CAP, NICK, USER and the errors around them."""

import re

from harness import CAP_LS_302, CAP_LS_NO_VALUES, Server, numeric, rx

WELCOME_ALICE = numeric("001", "alice",
                        ":Welcome to the natter IRC network alice!alice@127.0.0.1")
BAD_PASSWORD = "ERROR :Closing Link: 127.0.0.1 (Bad password)"


# --- PASS ---

def test_pass_correct(f):
    s = Server(f, "--password", "letmein")
    c = s.client()
    c.send("PASS letmein")
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.expect(WELCOME_ALICE)


def test_pass_file(f):
    pw = f.write_file("pw", "fromfile\nsecond line ignored\n")
    s = Server(f, "--password-file", pw)
    c = s.client()
    c.send("PASS fromfile")
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.expect(WELCOME_ALICE)


def test_pass_wrong(f):
    s = Server(f, "--password", "letmein")
    c = s.client()
    c.send_raw(b"PASS nope\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n")
    c.expect(rx(r":irc\.test 464 (\*|alice) :Password incorrect"))
    c.expect(BAD_PASSWORD)
    lines = c.expect_closed()
    assert not any(" 001 " in l for l in c.history), c.history


def test_pass_wrong_closes_before_nick(f):
    s = Server(f, "--password", "letmein")
    c = s.client()
    c.send("PASS nope")
    c.expect(rx(r":irc\.test 464 \* :Password incorrect"))
    c.expect(BAD_PASSWORD)
    c.expect_closed()


def test_pass_missing(f):
    s = Server(f, "--password", "letmein")
    c = s.client()
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.expect(rx(r":irc\.test 464 (\*|alice) :Password incorrect"))
    c.expect(BAD_PASSWORD)
    c.expect_closed()
    assert not any(" 001 " in l for l in c.history), c.history


def test_pass_not_needed_is_ignored(f):
    s = Server(f)
    c = s.client()
    c.send("PASS whatever")
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.expect(WELCOME_ALICE)


def test_pass_after_registration(f):
    s = Server(f, "--password", "letmein")
    c = s.client()
    c.send("PASS letmein")
    c.register("alice")
    c.send("PASS letmein")
    c.expect(numeric("462", "alice", ":You may not reregister"))


# --- CAP ---

def test_cap_ls_delays_registration(f):
    s = Server(f)
    c = s.client()
    c.send("CAP LS 302")
    c.expect_exact_sequence(CAP_LS_302)
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.no_line(re.compile(r".* 001 .*"), sync=False, wait=0.3)
    c.send("CAP REQ :foo")
    c.expect(":irc.test CAP alice NAK :foo")   # the nick once NICK came
    c.send("CAP END")
    c.expect(WELCOME_ALICE)


def test_cap_ls_without_version(f):
    s = Server(f)
    c = s.client()
    c.send("CAP LS")
    c.expect(CAP_LS_NO_VALUES)
    c.send("CAP REQ :foo")
    c.expect(":irc.test CAP * NAK :foo")
    c.send("CAP END")
    c.register("alice")


def test_cap_list_and_req_after_registration(f):
    s = Server(f)
    c = s.user("alice")
    c.send("CAP LIST")
    c.expect(":irc.test CAP alice LIST :")
    c.send("CAP REQ :multi-prefix bogus")
    c.expect(":irc.test CAP alice NAK :multi-prefix bogus")


def test_cap_bad_subcommand(f):
    s = Server(f)
    c = s.client()
    c.send("CAP FOO")
    c.expect(numeric("410", "*", "FOO :Invalid CAP command"))


def test_cap_end_without_ls_is_harmless(f):
    s = Server(f)
    c = s.client()
    c.send("CAP END")
    c.register("alice")


# --- NICK ---

BAD_NICKS = [
    ("leading digit", "1abc"),
    ("leading dash", "-abc"),
    ("33 chars", "a" * 33),
    ("space", ":a b"),
    ("comma", "a,b"),
    ("star", "a*b"),
    ("at", "a@b"),
    ("bang", "a!b"),
    ("hash", "#ab"),
]


def test_nick_missing(f):
    s = Server(f)
    c = s.client()
    c.send("NICK")
    c.expect(numeric("431", "*", ":No nickname given"))
    c.register("alice")
    c.send("NICK")
    c.expect(numeric("431", "alice", ":No nickname given"))


def test_nick_erroneous(f):
    s = Server(f)
    c = s.client()
    for why, nick in BAD_NICKS:
        c.send("NICK " + nick)
        shown = nick[1:] if nick.startswith(":") else nick
        line = c.next_line()
        assert line == numeric("432", "*", "%s :Erroneous nickname" % shown), \
            "NICK %s (%s): got %r" % (nick, why, line)
    c.register("a" * 32)     # 32 is fine


def test_nick_invalid_utf8(f):
    s = Server(f)
    c = s.client()
    c.send_raw(b"NICK \xff\xfeab\r\n")
    c.expect(rx(r":irc\.test 432 \* .* :Erroneous nickname"))
    c.send_raw("NICK \u00e9l\u00e8ve\r\n".encode())   # valid UTF-8, not a nick
    c.expect(rx(r":irc\.test 432 \* .* :Erroneous nickname"))
    c.register("alice")


def test_nick_erroneous_after_registration(f):
    s = Server(f)
    c = s.user("alice")
    c.send("NICK 9lives")
    c.expect(numeric("432", "alice", "9lives :Erroneous nickname"))


def test_nick_special_chars_ok(f):
    s = Server(f)
    nick = "[a]`_^{|}\\-x"
    c = s.user(nick, user="sp")
    c.send("NICK b-1")
    c.expect(":%s!sp@127.0.0.1 NICK b-1" % nick)


NICK_COLLISIONS = [
    ("alice", "alice"),
    ("alice", "ALICE"),
    ("Alice", "aLiCe"),
    ("[a]", "{a}"),
    ("{a}", "[A]"),
    ("a\\b", "a|b"),
]


def test_nick_in_use_casemapping(f):
    s = Server(f)
    other = s.client()
    for i, (taken, attempt) in enumerate(NICK_COLLISIONS):
        c = s.user(taken)
        other.send("NICK " + attempt)
        line = other.next_line()
        assert line == numeric("433", "*", "%s :Nickname is already in use"
                               % attempt), \
            "%s taken, NICK %s: got %r" % (taken, attempt, line)
        c.send("QUIT")
        c.expect_closed()


def test_nick_in_use_after_registration(f):
    s = Server(f)
    s.user("alice")
    b = s.user("bob")
    b.send("NICK Alice")
    b.expect(numeric("433", "bob", "Alice :Nickname is already in use"))


def test_nick_change_own_case(f):
    s = Server(f)
    a = s.user("alice")
    a.send("NICK ALICE")
    a.expect(":alice!alice@127.0.0.1 NICK ALICE")
    a.send("WHOIS alice")
    a.expect(numeric("311", "ALICE", "ALICE alice 127.0.0.1 * :alice"))


def test_nick_freed_after_quit(f):
    s = Server(f)
    a = s.user("alice")
    a.send("QUIT")
    a.expect_closed()
    s.user("alice")


def test_nick_freed_after_change(f):
    s = Server(f)
    a = s.user("alice")
    a.send("NICK alice2")
    a.expect(":alice!alice@127.0.0.1 NICK alice2")
    s.user("alice")


# --- USER ---

USER_SHORT = ["USER", "USER x", "USER x 0", "USER x 0 *"]


def test_user_not_enough_params(f):
    s = Server(f)
    c = s.client()
    for line in USER_SHORT:
        c.send(line)
        got = c.next_line()
        assert got == numeric("461", "*", "USER :Not enough parameters"), \
            "%r: got %r" % (line, got)


def test_user_again_after_registration(f):
    s = Server(f)
    c = s.user("alice")
    c.send("USER alice 0 * :Alice")
    c.expect(numeric("462", "alice", ":You may not reregister"))


def test_user_long_username_truncated(f):
    s = Server(f)
    c = s.client()
    c.send("NICK alice")
    c.send("USER " + "u" * 40 + " 0 * :Alice")
    line = c.expect(rx(r":irc\.test 001 alice :Welcome to the natter IRC network "
                       r"alice!u+@127\.0\.0\.1"))
    user = line.split("!")[1].split("@")[0]
    assert 1 <= len(user) <= 16, "USERLEN is 16, got %r" % user


# --- before registration ---

UNREGISTERED_COMMANDS = ["JOIN #x", "PRIVMSG bob :hi", "WHOIS bob", "MODE #x",
                         "PART #x", "LIST", "NAMES", "TOPIC #x", "AWAY :x",
                         "LUSERS"]


def test_commands_before_registration(f):
    s = Server(f)
    c = s.client()
    for cmd in UNREGISTERED_COMMANDS:
        c.send(cmd)
        got = c.next_line()
        assert got == numeric("451", "*", ":You have not registered"), \
            "%r: got %r" % (cmd, got)


def test_ping_before_registration(f):
    s = Server(f)
    c = s.client()
    c.send("PING early")
    c.expect(":irc.test PONG irc.test :early")


def test_unknown_command(f):
    s = Server(f)
    c = s.user("alice")
    c.send("FOO bar baz")
    c.expect(numeric("421", "alice", "FOO :Unknown command"))
    c.send("foo")
    c.expect(rx(r":irc\.test 421 alice (foo|FOO) :Unknown command"))


def test_quit_before_registration(f):
    s = Server(f)
    c = s.client()
    c.send("NICK alice")
    c.send("QUIT :bye")
    lines = c.expect_closed()
    assert lines and lines[-1].startswith("ERROR :"), lines
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Quit: bye)", lines


def test_quit_after_registration(f):
    s = Server(f)
    c = s.user("alice")
    c.send("QUIT :see you")
    lines = c.expect_closed()
    assert lines == ["ERROR :Closing Link: 127.0.0.1 (Quit: see you)"], lines


def test_quit_without_reason(f):
    s = Server(f)
    c = s.user("alice")
    c.send("QUIT")
    lines = c.expect_closed()
    assert len(lines) == 1 and re.fullmatch(
        r"ERROR :Closing Link: 127\.0\.0\.1 \(.*\)", lines[0]), lines


def test_message_prefix_is_ignored(f):
    s = Server(f)
    c = s.client()
    c.send(":whoever NICK alice")
    c.send(":alice USER alice 0 * :Alice")
    c.expect(WELCOME_ALICE)


def test_message_tags_are_ignored(f):
    s = Server(f)
    c = s.user("alice")
    c.send("@label=1;+x=y PING tagged")
    c.expect(":irc.test PONG irc.test :tagged")
