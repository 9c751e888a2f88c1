"""Issue 13, section 2: extended LIST filters (ISUPPORT ELIST=CMNTU) and
HELP/HELPOP from the help file.

LIST is Modern IRC's "LIST [<channel>{,<channel>}] [<elistcond>{,...}]"
with the ELIST conditions as modern-irc PR 171 words them (C<n: made
less than n minutes ago, C>n: more than n minutes ago; T the same for
the topic; <n and >n the user count; a mask, and a negated mask with
'!').  HELP is Modern IRC's HELP: 704 RPL_HELPSTART, 705 RPL_HELPTXT,
706 RPL_ENDOFHELP, or one 524 ERR_HELPNOTFOUND.
"""

import os
import re
import signal
import time

from harness import FULL_SPEED, Server, join, numeric, rx, scaled, slow
from weechat import Weechat

ANY = re.compile(".*")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
HELP_FILE = os.path.join(REPO, "server", "natterd.help")


# --- LIST with ELIST conditions ---

def rooms(f):
    """#big (alice bob carol, a topic), #mid (alice bob), #small (alice,
    a topic), #sec (+s, alice, a topic); dave is in none of them."""
    s = Server(f)
    a, b, c, d = (s.user(n) for n in ("alice", "bob", "carol", "dave"))
    join(a, b, c, room="#big")
    join(a, b, room="#mid")
    join(a, room="#small")
    join(a, room="#sec")
    a.send("MODE #sec +s")
    a.expect(":alice!alice@127.0.0.1 MODE #sec +s")
    for room, topic in (("#big", "big topic"), ("#small", "small topic"),
                        ("#sec", "secret topic")):
        a.send("TOPIC %s :%s" % (room, topic))
        a.expect(":alice!alice@127.0.0.1 TOPIC %s :%s" % (room, topic))
    return s, a, d


def entry(nick, room):
    return numeric("322", nick, {
        "#big": "#big 3 :big topic",
        "#mid": "#mid 2 :",
        "#small": "#small 1 :small topic",
        "#sec": "#sec 1 :secret topic",
    }[room])


def listed(c, command, *expected):
    """Sends command; asserts the reply is 321, the 322 lines of the
    rooms in expected (in any order, each once), then 323."""
    c.send(command)
    lines = c.read_until(numeric("323", c.nick, ":End of /LIST"))
    assert lines[0] == numeric("321", c.nick, "Channel :Users  Name"), \
        (command, lines)
    assert sorted(lines[1:-1]) == sorted(entry(c.nick, r) for r in expected), \
        (command, lines)


def test_rfc13_elist_isupport(f):
    s = Server(f)
    c = s.client("alice")
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    line = c.expect(rx(r":irc\.test 005 alice .*\bELIST=\S+ .*"))
    assert " ELIST=CMNTU " in line, line


def test_rfc13_elist_users(f):
    s, a, d = rooms(f)
    listed(d, "LIST", "#big", "#mid", "#small")
    listed(d, "LIST >1", "#big", "#mid")
    listed(d, "LIST >2", "#big")
    listed(d, "LIST <2", "#small")
    listed(d, "LIST <3", "#mid", "#small")
    listed(d, "LIST <1")
    listed(d, "LIST >0", "#big", "#mid", "#small")
    # Both bounds: more than 1 and fewer than 3.
    listed(d, "LIST >1,<3", "#mid")
    # The member of the +s room sees it; the outsider never does.
    listed(a, "LIST <2", "#small", "#sec")
    listed(a, "LIST >0", "#big", "#mid", "#small", "#sec")


def test_rfc13_elist_mask(f):
    s, a, d = rooms(f)
    listed(d, "LIST #b*", "#big")
    listed(d, "LIST *i*", "#big", "#mid")
    listed(d, "LIST #?i?", "#big", "#mid")
    # Case-insensitive, and the +s room never matches for an outsider.
    listed(d, "LIST #S*", "#small")
    listed(a, "LIST #S*", "#small", "#sec")
    listed(d, "LIST #sec")
    listed(d, "LIST #s*c")
    listed(d, "LIST #none*")
    # Masks and names together: any of them.
    listed(d, "LIST #big,#m*", "#big", "#mid")


def test_rfc13_elist_not_mask(f):
    s, a, d = rooms(f)
    listed(d, "LIST !#b*", "#mid", "#small")
    listed(d, "LIST !*i*", "#small")
    listed(d, "LIST !#none", "#big", "#mid", "#small")
    listed(d, "LIST !#*")
    listed(d, "LIST !#b*,!#m*", "#small")
    listed(a, "LIST !#b*", "#mid", "#small", "#sec")
    # A mask and a negated mask together.
    listed(d, "LIST #*i*,!#m*", "#big")


def listed_eventually(c, command, *expected):
    """As listed, asked again (for up to a few seconds) until the
    reply is that: for conditions that hold once a second has gone."""
    deadline = time.monotonic() + scaled(5)
    while True:
        try:
            listed(c, command, *expected)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_rfc13_elist_created(f):
    s, a, d = rooms(f)
    # Every room here was made less than an hour ago, none more than
    # an hour ago, and none less than 0 minutes ago.
    listed(d, "LIST C<60", "#big", "#mid", "#small")
    listed(d, "LIST c<60", "#big", "#mid", "#small")
    listed(d, "LIST C>60")
    listed(d, "LIST C<0")
    listed(a, "LIST C<60", "#big", "#mid", "#small", "#sec")
    # More than 0 minutes: once the rooms are a second old.
    listed_eventually(d, "LIST C>0", "#big", "#mid", "#small")
    listed(d, "LIST C>0,C<60", "#big", "#mid", "#small")
    listed(d, "LIST C>0,C<0")


def test_rfc13_elist_topic(f):
    s, a, d = rooms(f)
    # #mid has no topic: no topic time matches.
    listed(d, "LIST T<60", "#big", "#small")
    listed(d, "LIST t<60", "#big", "#small")
    listed(d, "LIST T>60")
    listed(d, "LIST T<0")
    listed(a, "LIST T<60", "#big", "#small", "#sec")
    listed_eventually(d, "LIST T>0", "#big", "#small")
    # A topic set again is new: less than a minute old, and once
    # cleared the room has no topic time at all.
    a.send("TOPIC #big :")
    a.expect(":alice!alice@127.0.0.1 TOPIC #big :")
    d.send("LIST T<60")
    lines = d.read_until(numeric("323", "dave", ":End of /LIST"))
    assert lines[1:-1] == [entry("dave", "#small")], lines


def test_rfc13_elist_combined(f):
    s, a, d = rooms(f)
    listed(d, "LIST #*,!#small,>1,C<60,T<60", "#big")
    listed(d, "LIST >0,<3,C<60", "#mid", "#small")
    listed(d, "LIST !#big,T<60,<5", "#small")
    listed(a, "LIST !#big,T<60,<5", "#small", "#sec")
    # Modern IRC's form: rooms in the first parameter, conditions in
    # the second.
    listed(d, "LIST #big,#mid >2", "#big")
    listed(d, "LIST #big,#mid,#small <3,T<60", "#small")
    listed(d, "LIST #b*,#m* >1,!#mid", "#big")
    listed(d, "LIST #sec >0")
    listed(a, "LIST #sec >0", "#sec")
    # The RFC 2812 form still works: a server after the rooms.
    listed(d, "LIST #big irc.test", "#big")
    d.send("LIST #big other.server")
    d.expect_exact_sequence([numeric("402", "dave",
                                     "other.server :No such server")])
    d.no_line(ANY, sync=True, wait=0)


def test_rfc13_elist_malformed_ignored(f):
    # As Ergo does: a condition whose number cannot be read is left out,
    # so it filters nothing; the rest of the list still applies.
    s, a, d = rooms(f)
    for bad in ("C<x", ">", "<abc", "T>1x", "C<", ">-1",
                ">99999999999999999999"):
        listed(d, "LIST %s" % bad, "#big", "#mid", "#small")
    listed(d, "LIST >abc,#big", "#big")
    listed(d, "LIST #big,#mid C<x,>2", "#big")


def test_rfc13_elist_many_items(f):
    # A line holds at most about 250 items; every one is kept (the
    # filter's arrays are sized by the line), and the last still counts.
    s, a, d = rooms(f)
    items = ["!#x%d" % i for i in range(80)] + ["!#mid"]
    line = "LIST " + ",".join(items)
    assert len(line) < 510
    listed(d, line, "#big", "#small")
    many = ",".join(["!#q"] * 120 + ["!#big"])
    listed(d, "LIST " + many, "#mid", "#small")
    names = ",".join(["#m"] * 120 + ["#mid"])
    listed(d, "LIST " + names, "#mid")


# --- HELP and HELPOP ---

def help_lines(nick, subject, lines):
    """The exact reply to HELP for a topic of these lines."""
    out = [numeric("704", nick, "%s :%s" % (subject, lines[0]))]
    out += [numeric("705", nick, "%s :%s" % (subject, l)) for l in lines[1:]]
    return out + [numeric("706", nick, "%s :End of /HELP" % subject)]


def help_reply(c, command, subject):
    """Sends command; returns the 704..706 reply for subject, checked
    for its shape (704, 705s, 706, nothing else)."""
    c.send(command)
    first = c.next_line()
    assert first.startswith(numeric("704", c.nick, "%s :" % subject)), \
        (command, first)
    lines = [first] + c.read_until(numeric("706", c.nick,
                                           "%s :End of /HELP" % subject))
    for l in lines[1:-1]:
        assert l.startswith(numeric("705", c.nick, "%s :" % subject)), \
            (command, lines)
    return lines


def file_topics(path=HELP_FILE):
    """{NAME: [lines]} as the help file's format says."""
    topics, cur = {}, None
    with open(path, encoding="utf-8") as fp:
        for line in fp.read().split("\n"):
            if line.startswith("@"):
                cur = []
                for name in line[1:].split():
                    topics.setdefault(name.upper(), cur)
            elif cur is not None:
                cur.append(line)
    for lines in topics.values():
        while lines and lines[-1] == "":
            lines.pop()
        while lines and lines[0] == "":
            lines.pop(0)
    return topics


def test_rfc13_help_command(f):
    s = Server(f)
    a = s.user("alice")
    expected = help_lines("alice", "PING", [
        "PING <token>", "", "The server answers PONG <server> <token>."])
    a.send("HELP PING")
    a.expect_exact_sequence(expected)
    # Any case; the subject comes back in upper case.
    a.send("HELP ping")
    a.expect_exact_sequence(expected)
    a.send("HELP PiNg")
    a.expect_exact_sequence(expected)
    # HELPOP is the same command.
    a.send("HELPOP ping")
    a.expect_exact_sequence(expected)
    # Every topic is the file's text, line for line.
    topics = file_topics()
    for name in ("PRIVMSG", "LIST", "CMODES", "NS"):
        a.send("HELP %s" % name.lower())
        a.expect_exact_sequence(help_lines("alice", name, topics[name]))
    a.no_line(ANY, sync=True, wait=0)


def test_rfc13_help_index(f):
    s = Server(f)
    a = s.user("alice")
    topics = file_topics()
    names = [n for n in topics if n != "INDEX"]
    for command, subject in (("HELP", "*"), ("HELPOP", "*"),
                             ("HELP index", "INDEX"), ("HELP :", "*")):
        lines = help_reply(a, command, subject)
        text = topics["INDEX"]
        assert lines[:len(text)] == help_lines("alice", subject,
                                               text)[:len(text)], lines
        assert lines[len(text)] == numeric("705", "alice", "%s :" % subject)
        listed_names = " ".join(
            l.split(" :", 1)[1] for l in lines[len(text) + 1:-1]).split()
        assert listed_names == names, lines
        assert all(len(l) <= 510 for l in lines), lines


def test_rfc13_help_not_found(f):
    s = Server(f)
    a = s.user("alice")
    a.send("HELP nosuchtopic")
    a.expect_exact_sequence([numeric(
        "524", "alice", "NOSUCHTOPIC :No help available on this topic")])
    a.send("HELPOP nosuchtopic")
    a.expect_exact_sequence([numeric(
        "524", "alice", "NOSUCHTOPIC :No help available on this topic")])
    # What could not be a topic's name is shown as "*".
    for bad in (":two words", "+b", "x" * 40, ":é"):
        a.send("HELP %s" % bad)
        a.expect_exact_sequence([numeric(
            "524", "alice", "* :No help available on this topic")])
    a.no_line(ANY, sync=True, wait=0)


def test_rfc13_help_file_missing(f):
    missing = f.path("no-such.help")
    s = Server(f, "--help-file", missing)
    a = s.user("alice")
    a.send("HELP")
    a.expect_exact_sequence([numeric(
        "524", "alice", "* :No help available on this topic")])
    a.send("HELP PING")
    a.expect_exact_sequence([numeric(
        "524", "alice", "PING :No help available on this topic")])
    assert "%s: no help topics (HELP answers 524)" % missing in s.log_text()
    s.stop()
    # A file with no topic in it is as good as none.
    empty = f.write_file("empty.help", "only a comment\n@\n")
    s2 = Server(f, "--help-file", empty)
    b = s2.user("bob")
    b.send("HELP PING")
    b.expect_exact_sequence([numeric(
        "524", "bob", "PING :No help available on this topic")])
    assert "%s: no help topics" % empty in s2.log_text()


def command_names():
    """The names in the command table of server/command.c."""
    with open(os.path.join(REPO, "server", "command.c")) as fp:
        src = fp.read()
    table = src[src.index("static const struct command commands[] = {"):]
    table = table[:table.index("\n};")]
    names = re.findall(r'\{\s*"([A-Z]+)",', table)
    assert len(names) > 40, names
    return names


def test_rfc13_help_every_command(f):
    # Every command natterd knows has a topic: a command added to the
    # table without one fails here.
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    for name in command_names():
        help_reply(a, "HELP %s" % name.lower(), name)
    # Every user and room mode 004 lists is in UMODES or CMODES.
    c = s.client("carol")
    c.send("NICK carol")
    c.send("USER carol 0 * :Carol")
    line = c.expect(rx(r":irc\.test 004 carol .*"))
    umodes, cmodes = line.split()[5], line.split()[6]
    for subject, letters in (("UMODES", umodes), ("CMODES", cmodes)):
        text = [l.split(" :", 1)[1]
                for l in help_reply(a, "HELP %s" % subject, subject)]
        for letter in letters:
            assert any(re.match(r"\+%s\b" % letter, t) for t in text), \
                "HELP %s lacks +%s: %s" % (subject, letter, text)


def test_rfc13_help_file_flag_usage(f):
    cp = f.run("--help-file", "")
    assert cp.returncode == 2, cp
    assert cp.stderr.startswith(
        "natterd: --help-file: the path is empty\nusage: natterd "), cp.stderr
    cp = f.run("--help-file")
    assert cp.returncode == 2, cp
    assert "usage: natterd " in cp.stderr, cp.stderr
    cp = f.run("--help")
    assert cp.returncode == 0
    assert "      --help-file FILE     the topics HELP and HELPOP answer; " \
        "read at\n" in cp.stdout, cp.stdout


def test_rfc13_help_bounds(f):
    text = (b"comment\n@INDEX\nthe index\n" +
            b"@LONG\n" + b"".join(b"line %d\n" % i for i in range(70)) +
            b"@WIDE\n" + b"w" * 400 + b"\n" +
            b"@BAD\xff\nnot a name\n" +
            b"@UTF\nfirst\n\n" +
            b"@RAW\nok\n\xff\xfe bad bytes\nafter\n" +
            b"@INDEX\nagain\n" +
            b"".join(b"@T%d\nTopic %d\n" % (i, i) for i in range(200)))
    path = f.path("bounds.help")
    with open(path, "wb") as fp:
        fp.write(text)
    s = Server(f, "--help-file", path)
    a = s.user("alice")
    # 60 lines a topic: the rest is left out.
    a.send("HELP long")
    a.expect_exact_sequence(help_lines("alice", "LONG",
                                       ["line %d" % i for i in range(60)]))
    # 350 bytes a line: cut.
    a.send("HELP wide")
    a.expect_exact_sequence(help_lines("alice", "WIDE", ["w" * 350]))
    # A line that is not UTF-8 is left out.
    a.send("HELP raw")
    a.expect_exact_sequence(help_lines("alice", "RAW", ["ok", "after"]))
    # A name given twice keeps its first topic.
    lines = help_reply(a, "HELP index", "INDEX")
    assert lines[0] == numeric("704", "alice", "INDEX :the index"), lines
    # 200 topics: INDEX LONG WIDE UTF RAW and T0 to T194; not T195 on.
    a.send("HELP t194")
    a.expect_exact_sequence(help_lines("alice", "T194", ["Topic 194"]))
    a.send("HELP t195")
    a.expect_exact_sequence([numeric(
        "524", "alice", "T195 :No help available on this topic")])
    log = s.log_text()
    for warning in ("topic LONG has more than 60 lines, the rest left out",
                    "line longer than 350 bytes, cut",
                    "is not letters, digits, '-' or '_'",
                    "a topic without a name, left out",
                    "topic INDEX is already there, left out",
                    "not UTF-8, line left out",
                    "more than 200 topics, the rest left out"):
        assert warning in log, (warning, log[-3000:])


def poll_help(c, subject, first):
    """Asks HELP <subject> until its 704 is first (a few seconds)."""
    deadline = time.monotonic() + scaled(5)
    while True:
        lines = help_reply(c, "HELP %s" % subject.lower(), subject)
        if lines[0] == first:
            return lines
        assert time.monotonic() < deadline, lines
        time.sleep(0.1)


def test_rfc13_help_reload(f):
    path = f.write_file("one.help", "@INDEX\nindex\n@PING\nold text\n")
    s = Server(f, "--help-file", path)
    a = s.user("alice")
    a.send("HELP ping")
    a.expect_exact_sequence(help_lines("alice", "PING", ["old text"]))
    with open(path, "w") as fp:
        fp.write("@INDEX\nindex\n@PING\nnew text\n")
    s.signal(signal.SIGHUP)
    poll_help(a, "PING", numeric("704", "alice", "PING :new text"))
    # A file that goes missing keeps the topics that were read.
    os.unlink(path)
    s.signal(signal.SIGHUP)
    deadline = time.monotonic() + scaled(5)
    while "one.help: no help topics" not in s.log_text():
        assert time.monotonic() < deadline, s.log_text()[-2000:]
        time.sleep(0.05)
    a.send("HELP ping")
    a.expect_exact_sequence(help_lines("alice", "PING", ["new text"]))


# --- a real client: WeeChat ---

@slow
def test_rfc13_elist_help_weechat(f):
    """WeeChat's /list passes an ELIST condition through as LIST's
    parameter (irc-command.c: "LIST <channel> <server>"), and shows the
    rooms that pass; /quote HELP shows the 704 to 706 text."""
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, c, room="#big")
    join(a, room="#small")
    wee = Weechat(f, s.port)
    a.send("JOIN #test")
    a.expect(rx(r":alice!\S+ JOIN :?#test"))
    a.expect(rx(r":wee!wee@127\.0\.0\.1 JOIN :?#test"), timeout=20)
    buf = "irc.server.t"
    wee.command("list >2")
    wee.wait_log(buf, lambda text: "End of /LIST" in text, "no end of LIST")

    def shown(first, last):
        """The texts of the server buffer's lines from first to last."""
        lines = wee.texts(buf)
        i = len(lines) - 1 - lines[::-1].index(first)
        return lines[i:lines.index(last, i) + 1]
    # Only #big has more than 2 users (#test has alice and wee, #small
    # alice alone).
    assert shown("Channel Users  Name", "End of /LIST") == [
        "Channel Users  Name", "#big(3)", "End of /LIST"], wee.tail(buf, 20)
    wee.command("quote HELP ping")
    wee.wait_log(buf, lambda text: "End of /HELP" in text, "no end of HELP")
    assert shown("PING <token>", "End of /HELP") == [
        "PING <token>", "", "The server answers PONG <server> <token>.",
        "End of /HELP"], wee.tail(buf, 20)
