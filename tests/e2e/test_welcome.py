"""The welcome burst: 001-005, LUSERS, MOTD."""

import re

from harness import Server, numeric, rx

ISUPPORT_REQUIRED = {
    "CASEMAPPING": "rfc1459",
    "CHANTYPES": "#",
    "CHANMODES": "beI,k,l,imnstR",
    "PREFIX": "(ov)@+",
    "NICKLEN": "32",
    "CHANNELLEN": "50",
    "TOPICLEN": "390",
    "NETWORK": "natter",
    "UTF8ONLY": None,       # present, no value
}


def isupport_tokens(lines):
    """{TOKEN: value or None} from the 005 lines among lines."""
    tokens = {}
    for line in lines:
        m = re.fullmatch(r":irc\.test 005 \S+ (.*) :are supported by this server",
                         line)
        if m:
            for tok in m.group(1).split():
                key, eq, val = tok.partition("=")
                tokens[key] = val if eq else None
    return tokens


def test_welcome_burst(f):
    s = Server(f)
    c = s.client("alice")
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice Liddell")
    c.expect_exact_sequence([
        numeric("001", "alice",
                ":Welcome to the natter IRC network alice!alice@127.0.0.1"),
        numeric("002", "alice",
                ":Your host is irc.test, running version natterd-0.1.0"),
        re.compile(r":irc\.test 003 alice :This server was created .+"),
        re.compile(r":irc\.test 004 alice irc\.test natterd-0\.1\.0 [a-zA-Z]+ "
                   r"[a-zA-Z]+( [a-zA-Z]+)?"),
    ])
    isupport = [c.expect(re.compile(r":irc\.test 005 alice .*"))]
    while True:
        line = c.next_line()
        if not line.startswith(":irc.test 005 "):
            break
        isupport.append(line)
    assert all(len(l) <= 510 for l in isupport), "005 line over 510 bytes"
    tokens = isupport_tokens(isupport)
    for key, val in ISUPPORT_REQUIRED.items():
        assert key in tokens, "ISUPPORT lacks %s: %s" % (key, isupport)
        if val is not None:
            assert tokens[key] == val, "ISUPPORT %s=%s, expected %s" % (
                key, tokens[key], val)
    # LUSERS, in numeric order, ending with 265 266; then the MOTD.
    lusers = [line]
    while not lusers[-1].startswith(":irc.test 266 "):
        lusers.append(c.next_line())
    codes = [l.split()[1] for l in lusers]
    assert codes[0] == "251" and codes == sorted(codes), \
        "LUSERS out of order: %s" % lusers
    assert set(codes) <= {"251", "252", "253", "254", "255", "265", "266"}, lusers
    assert lusers[0] == numeric(
        "251", "alice", ":There are 1 users and 0 invisible on 1 servers"), lusers[0]
    assert numeric("255", "alice", ":I have 1 clients and 0 servers") in lusers, lusers
    assert numeric("265", "alice", "1 1 :Current local users 1, max 1") in lusers, lusers
    assert numeric("266", "alice", "1 1 :Current global users 1, max 1") in lusers, lusers
    c.expect_exact_sequence([numeric("422", "alice", ":MOTD File is missing")])
    c.no_line(re.compile(".*"), sync=True, wait=0.1)


def test_welcome_user_and_realname(f):
    s = Server(f)
    c = s.client()
    c.send("NICK Zed")
    c.send("USER zuser 0 * :Zed the Real")
    c.expect(numeric("001", "Zed",
                     ":Welcome to the natter IRC network Zed!zuser@127.0.0.1"))
    c.expect(numeric("422", "Zed", ":MOTD File is missing"))
    c.send("WHOIS Zed")
    c.expect(numeric("311", "Zed", "Zed zuser 127.0.0.1 * :Zed the Real"))


def test_user_before_nick(f):
    s = Server(f)
    c = s.client()
    c.send("USER bob 0 * :Bob")
    c.no_line(re.compile(r".* 001 .*"), sync=False, wait=0.2)
    c.send("NICK bob")
    c.expect(numeric("001", "bob",
                     ":Welcome to the natter IRC network bob!bob@127.0.0.1"))


def test_motd_file(f):
    motd = f.write_file("motd", "Hello there.\nSecond line\n\nLast\n")
    s = Server(f, "--motd", motd)
    c = s.client()
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.expect(numeric("375", "alice", ":- irc.test Message of the day - "))
    c.expect_exact_sequence([
        numeric("372", "alice", ":- Hello there."),
        numeric("372", "alice", ":- Second line"),
        numeric("372", "alice", ":- "),
        numeric("372", "alice", ":- Last"),
        numeric("376", "alice", ":End of /MOTD command."),
    ])
    c.send("MOTD")
    c.expect_exact_sequence([
        numeric("375", "alice", ":- irc.test Message of the day - "),
        numeric("372", "alice", ":- Hello there."),
        numeric("372", "alice", ":- Second line"),
        numeric("372", "alice", ":- "),
        numeric("372", "alice", ":- Last"),
        numeric("376", "alice", ":End of /MOTD command."),
    ])


def test_motd_command_without_file(f):
    s = Server(f)
    c = s.user("alice")
    c.send("MOTD")
    c.expect_exact_sequence([numeric("422", "alice", ":MOTD File is missing")])


def test_network_name(f):
    s = Server(f, "--network", "TestNet")
    c = s.client()
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.expect(numeric("001", "alice",
                     ":Welcome to the TestNet IRC network alice!alice@127.0.0.1"))
    lines = c.read_until(rx(r":irc\.test 422 .*"))
    assert isupport_tokens(lines).get("NETWORK") == "TestNet", lines
