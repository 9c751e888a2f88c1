"""Limits and hostile input: connection limits, long lines, NUL bytes,
invalid UTF-8, odd line ends."""

import re
import socket

from harness import CAP_LS_302, Server, join, numeric, rx

# What natterd offers to CAP LS 302 (with values: sasl's mechanisms).

ANY = re.compile(".*")
TOO_LONG = numeric("417", "alice", ":Input line was too long")


def test_max_clients(f):
    s = Server(f, "--max-clients", "2", "--max-per-ip", "0")
    a = s.user("alice")
    b = s.client("second")              # unregistered ones count too
    b.send("CAP LS 302")
    b.expect_exact_sequence(CAP_LS_302)
    c = s.client("third")
    assert c.expect_closed() == ["ERROR :Server full"], c.history
    b.send("CAP END")
    b.register("bob")
    a.send("QUIT")
    a.expect_closed()
    for _ in range(50):                 # the slot frees once alice is gone
        d = s.client("again")
        try:
            d.send("NICK dave")
            d.send("USER dave 0 * :d")
        except AssertionError as e:
            # Refused and closed before the lines went out (the
            # harness reports the broken pipe): try again.
            assert "send failed" in str(e), e
            d.expect_closed()
            continue
        line = d.next_line()
        if line != "ERROR :Server full":
            break
        d.expect_closed()
    else:
        raise AssertionError("no slot freed after a QUIT")
    assert line == numeric("001", "dave",
                           ":Welcome to the natter IRC network dave!dave@127.0.0.1"), line


def test_max_per_ip(f):
    s = Server(f, "--max-per-ip", "1")
    a = s.user("alice")
    b = s.client("second")
    assert b.expect_closed() == ["ERROR :Too many connections from your IP"], b.history
    a.send("PING still")
    a.expect(":irc.test PONG irc.test :still")


def test_line_too_long(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.send("PRIVMSG bob :" + "x" * 587)       # 600 bytes before CRLF
    a.expect(TOO_LONG)
    a.send("PING after")
    a.expect(":irc.test PONG irc.test :after")
    b.no_line(rx(r".*PRIVMSG.*"), sync=True, wait=0)


def test_line_length_boundary(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    head = "PRIVMSG bob :"
    a.send(head + "y" * (510 - len(head)))      # 510 + CRLF = 512: fine
    b.expect(rx(r":alice!alice@127\.0\.0\.1 PRIVMSG bob :y{%d}" % (510 - len(head))))
    a.send(head + "z" * (511 - len(head)))      # one byte more: too long
    a.expect(TOO_LONG)
    b.no_line(rx(r".*PRIVMSG bob :z+"), sync=True, wait=0)


def test_very_long_line_in_pieces(f):
    s = Server(f)
    a = s.user("alice")
    for _ in range(20):
        a.send_raw(b"PRIVMSG bob :" + b"w" * 4000)
    a.send_raw(b"\r\nPING done\r\n")
    a.expect_exact_sequence([TOO_LONG, ":irc.test PONG irc.test :done"])


def test_long_tags_allowed(f):
    s = Server(f)
    a = s.user("alice")
    a.send("@" + "k=" + "v" * 4000 + " PING tagged")
    a.expect(":irc.test PONG irc.test :tagged")


def test_nul_byte(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.send_raw(b"PRIVMSG bob :a\x00b\r\n")
    a.send_raw(b"\x00\r\n")
    a.send("PING alive")
    a.expect(":irc.test PONG irc.test :alive")
    assert not any("\x00" in l for l in b.drain(0.1)), b.history


def test_invalid_utf8_privmsg(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#room")
    for target in (b"bob", b"#room"):
        a.send_raw(b"PRIVMSG " + target + b" :bad \xff\xfe bytes\r\n")
        a.expect(rx(r"(:irc\.test )?FAIL PRIVMSG INVALID_UTF8 :.*"))
    a.send_raw(b"PRIVMSG bob :truncated \xe2\x82\r\n")
    a.expect(rx(r"(:irc\.test )?FAIL PRIVMSG INVALID_UTF8 :.*"))
    b.no_line(rx(r".*PRIVMSG.*"), sync=True, wait=0)
    a.send("PRIVMSG bob :fine \u20ac")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :fine \u20ac")


def test_empty_lines_ignored(f):
    s = Server(f)
    a = s.user("alice")
    a.send_raw(b"\r\n\r\n\n\r   \r\nPING x\r\n")
    got = a.next_line()
    # "   " is not a command; a 421 for it is tolerable, nothing else is.
    if got != ":irc.test PONG irc.test :x":
        assert re.fullmatch(r":irc\.test 421 alice .*", got), got
        a.expect_exact_sequence([":irc.test PONG irc.test :x"])


def test_line_ends(f):
    s = Server(f)
    a = s.user("alice")
    a.send_raw(b"PING a\rPING b\nPING c\r\nPING d\n\rPING e\r\r\n")
    a.expect_exact_sequence([":irc.test PONG irc.test :%s" % t for t in "abcde"])


def test_line_split_across_writes(f):
    s = Server(f)
    a = s.user("alice")
    for piece in (b"PI", b"NG ", b"spl", b"it"):
        a.send_raw(piece)
        a.no_line(ANY, wait=0.02)
    a.send_raw(b"\r\nPING two\r\n")
    a.expect_exact_sequence([":irc.test PONG irc.test :split",
                             ":irc.test PONG irc.test :two"])


def test_many_params(f):
    s = Server(f)
    a = s.user("alice")
    a.send("USERHOST " + " ".join("n%d" % i for i in range(30)))
    a.expect(rx(r":irc\.test 302 alice :.*"))
    a.send("JOIN " + ",".join("#p%d" % i for i in range(20)) + " " +
           " ".join("x" for _ in range(20)))
    a.expect(numeric("366", "alice", "#p19 :End of /NAMES list"))


def test_garbage_does_not_kill_server(f):
    s = Server(f)
    a = s.user("alice")
    junk = [b":", b"@", b"@ ", b": ", b":x", b"@a :b", b"   PING   spaced  ",
            b"\x01\x02\x03", b"PRIVMSG", b"MODE #", b"JOIN ,,,", b"PART ,",
            b"KICK # #", b"NICK :", b"TOPIC #" + b"\xc3" * 10,
            b"PRIVMSG #,#,#,#,# :x", b"WHO", b"WHOIS ,", b"MODE alice +" + b"w" * 300]
    for j in junk:
        a.send_raw(j + b"\r\n")
    a.send("PING survived")
    a.expect(":irc.test PONG irc.test :survived", timeout=10)
    assert s.alive()
