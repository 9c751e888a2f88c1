"""Issue 13, section 1: USER, NAMES and LIST as RFC 2812 and the Modern
IRC documents (modern.ircdocs.horse) have them.

- USER: "<user> <mode> <unused> :<realname>"; a missing parameter gets
  ERR_NEEDMOREPARAMS (461), and an empty realname is a missing one.
  Bytes that are not UTF-8 in the username do not leave the client
  without an answer: natterd registers it with the username sanitised
  (the characters a username may hold, else "user").
- NAMES: RPL_NAMREPLY (353) "<client> <symbol> <channel> :..." with
  symbol "@" for a secret (+s) channel, "=" for a public one; for each
  channel of "NAMES #a,#b" its 353 lines then its own RPL_ENDOFNAMES
  (366).  To a client not in a secret channel, NAMES shows only the 366.
- LIST: a secret channel is not listed to a client that is not in it.
"""

import re

from harness import Server, join, numeric, rx

ANY = re.compile(".*")


# --- USER ---

def test_rfc13_user_empty_realname_461(f):
    s = Server(f)
    c = s.client()
    c.send("NICK rn")
    c.send("USER rn 0 * :")
    c.expect_exact_sequence([numeric("461", "rn", "USER :Not enough parameters")])
    # A USER with a realname then registers as usual.
    c.send("USER rn 0 * :Real Name")
    c.expect(numeric("001", "rn", ":Welcome to the natter IRC network rn!rn@127.0.0.1"))


def test_rfc13_user_empty_username_461(f):
    s = Server(f)
    c = s.client()
    c.send("NICK un")
    c.send("USER : 0 * :Real")
    c.expect_exact_sequence([numeric("461", "un", "USER :Not enough parameters")])


def test_rfc13_user_not_utf8_username_registers_sanitised(f):
    s = Server(f)
    c = s.client()
    c.send("NICK bad")
    c.send_raw(b"USER \xff\xfeab\xc3 0 * :Real \xe9t\xe9\r\n")
    c.expect(numeric("001", "bad", ":Welcome to the natter IRC network bad!ab@127.0.0.1"),
             timeout=5)
    c.read_until(rx(r":irc\.test (376|422) bad .*"))
    c.send("WHOIS bad")
    c.expect(numeric("311", "bad", "bad ab 127.0.0.1 * :Real ?t?"))


def test_rfc13_user_only_bad_bytes_registers_stock_username(f):
    s = Server(f)
    c = s.client()
    c.send("NICK bad2")
    c.send_raw(b"USER \xff\xfe 0 * :r\r\n")
    c.expect(numeric("001", "bad2", ":Welcome to the natter IRC network bad2!user@127.0.0.1"),
             timeout=5)


# --- NAMES ---

def test_rfc13_names_secret_symbol(f):
    s = Server(f)
    a = s.user("alice")
    join(a, room="#sec")
    a.send("MODE #sec +s")
    a.expect(":alice!alice@127.0.0.1 MODE #sec +s")
    a.send("NAMES #sec")
    a.expect_exact_sequence([
        numeric("353", "alice", "@ #sec :@alice"),
        numeric("366", "alice", "#sec :End of /NAMES list"),
    ])
    # A joiner's own NAMES carries it too.
    b = s.user("bob")
    lines = b.join("#sec")
    assert numeric("353", "bob", "@ #sec :@alice bob") in lines, lines


def test_rfc13_names_secret_hidden_from_outsider(f):
    s = Server(f)
    a, c = s.user("alice"), s.user("carol")
    join(a, room="#sec")
    a.send("MODE #sec +s")
    a.expect(":alice!alice@127.0.0.1 MODE #sec +s")
    c.send("NAMES #sec")
    c.expect_exact_sequence([numeric("366", "carol", "#sec :End of /NAMES list")])
    c.send("WHO #sec")
    c.expect_exact_sequence([numeric("315", "carol", "#sec :End of WHO list")])
    c.send("WHOIS alice")
    lines = c.read_until(numeric("318", "carol", "alice :End of /WHOIS list"))
    assert not [l for l in lines if " 319 " in l], lines
    c.send("TOPIC #sec")
    c.expect_exact_sequence([numeric("442", "carol", "#sec :You're not on that channel")])


def test_rfc13_names_several_rooms_each_in_turn(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#a")
    join(b, room="#b")
    a.send("MODE #a +s")
    a.expect(":alice!alice@127.0.0.1 MODE #a +s")
    b.expect(":alice!alice@127.0.0.1 MODE #a +s")
    b.send("NAMES #a,#b,#none")
    b.expect_exact_sequence([
        numeric("353", "bob", "@ #a :@alice bob"),
        numeric("366", "bob", "#a :End of /NAMES list"),
        numeric("353", "bob", "= #b :@bob"),
        numeric("366", "bob", "#b :End of /NAMES list"),
        numeric("366", "bob", "#none :End of /NAMES list"),
    ])


# --- LIST ---

def test_rfc13_list_hides_secret_room(f):
    s = Server(f)
    a, c = s.user("alice"), s.user("carol")
    join(a, room="#sec")
    join(a, room="#pub")
    a.send("MODE #sec +s")
    a.expect(":alice!alice@127.0.0.1 MODE #sec +s")
    c.send("LIST")
    c.expect_exact_sequence([
        numeric("321", "carol", "Channel :Users  Name"),
        numeric("322", "carol", "#pub 1 :"),
        numeric("323", "carol", ":End of /LIST"),
    ])
    c.send("LIST #sec,#pub")
    c.expect_exact_sequence([
        numeric("321", "carol", "Channel :Users  Name"),
        numeric("322", "carol", "#pub 1 :"),
        numeric("323", "carol", ":End of /LIST"),
    ])
    # A member sees it.
    a.send("LIST #sec")
    a.expect_exact_sequence([
        numeric("321", "alice", "Channel :Users  Name"),
        numeric("322", "alice", "#sec 1 :"),
        numeric("323", "alice", ":End of /LIST"),
    ])


def test_rfc13_names_several_public_rooms_each_in_turn(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, room="#one")
    join(b, room="#two")
    join(a, b, room="#three")
    a.send("NAMES #one,#two,#three")
    a.expect_exact_sequence([
        numeric("353", "alice", "= #one :@alice"),
        numeric("366", "alice", "#one :End of /NAMES list"),
        numeric("353", "alice", "= #two :@bob"),
        numeric("366", "alice", "#two :End of /NAMES list"),
        numeric("353", "alice", "= #three :@alice bob"),
        numeric("366", "alice", "#three :End of /NAMES list"),
    ])
