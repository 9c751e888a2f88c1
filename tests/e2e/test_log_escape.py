"""The server log never holds a raw control byte from a client: OPER
names, QUIT reasons and (-vv) every input line are written with C0
controls, DEL, C1 controls and bytes that are not UTF-8 as \\xNN, and a
backslash as \\\\."""

from harness import Server, numeric


def log_bytes(s):
    with open(s.log_path, "rb") as fp:
        return fp.read()


def assert_clean(raw):
    """No byte below 0x20 but the newlines that end lines, no DEL, and
    nothing that is not UTF-8, anywhere in the log."""
    bad = [(i, b) for i, b in enumerate(raw)
           if (b < 0x20 and b != 0x0a) or b == 0x7f]
    assert not bad, "raw control bytes %r in the log:\n%r" % (bad[:10], raw)
    raw.decode("utf-8")         # raises on anything that is not UTF-8
    assert raw.endswith(b"\n"), raw[-200:]


def assert_has(raw, want):
    assert want in raw, "log lacks %r:\n%s" % (
        want, raw.decode("utf-8", "replace")[-2000:])


def test_log_escapes_oper_name_and_quit_reason(f):
    s = Server(f, "--oper", "admin:secret")
    a = s.user("alice")
    a.send_raw(b"OPER \x1b[31mevil\x01\x0b\x0cname pw\r\n")
    a.expect(numeric("491", "alice", ":No O-lines for your host"))
    a.send_raw(b"QUIT :\x0304red\x03 \x02bold\x0f \x0b\x0c\x7f tab\there "
               b"\xc2\x9b31m caf\xc3\xa9 back\\slash \\x41\r\n")
    a.expect_closed()
    raw = log_bytes(s)
    assert_has(raw, b'oper: alice!alice@127.0.0.1: no operator '
                    b'"\\x1b[31mevil\\x01\\x0b\\x0cname"\n')
    assert_has(raw, b"127.0.0.1 (alice) closed: Quit: \\x0304red\\x03 "
                    b"\\x02bold\\x0f \\x0b\\x0c\\x7f tab\\x09here "
                    b"\\xc2\\x9b31m caf\xc3\xa9 back\\\\slash \\\\x41\n")
    assert_clean(raw)


def test_log_escapes_trace_lines(f):
    # -vv logs every line a client sends, bytes that are not UTF-8 too.
    s = Server(f, "-vv")
    a = s.user("alice")
    s.user("bob")
    a.send_raw(b"PRIVMSG bob :\x1b[2J\x1b[H\x07 cleared \x1b]0;pwned\x07\r\n")
    a.send_raw(b"PRIVMSG bob :bad \xff\xfe \xc3 bytes\r\n")
    a.sync()
    raw = log_bytes(s)
    assert_has(raw, b"alice <- PRIVMSG bob :\\x1b[2J\\x1b[H\\x07 cleared "
                    b"\\x1b]0;pwned\\x07\n")
    assert_has(raw, b"alice <- PRIVMSG bob :bad \\xff\\xfe \\xc3 bytes\n")
    assert_clean(raw)
