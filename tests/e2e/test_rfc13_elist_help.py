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
import time

from harness import Server, join, numeric, rx, scaled

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
