"""Rooms and messages: JOIN, PART, PRIVMSG, NOTICE, NICK, QUIT, KICK,
TOPIC, INVITE, and their error replies."""

import re

from harness import Server, join, numeric, prefix, rx

ANY = re.compile(".*")


def names_of(line):
    """The set of names in a 353 line."""
    return set(line.split(" :", 1)[1].split())


# --- JOIN ---

def test_join_first_is_op(f):
    s = Server(f)
    a = s.user("alice")
    a.send("JOIN #room")
    a.expect_exact_sequence([
        ":alice!alice@127.0.0.1 JOIN #room",
        numeric("353", "alice", "= #room :@alice"),
        numeric("366", "alice", "#room :End of /NAMES list"),
    ])


def test_join_second_sees_both(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#room")
    b.send("JOIN #room")
    b.expect(":bob!bob@127.0.0.1 JOIN #room")
    line = b.expect(rx(r":irc\.test 353 bob = #room :.*"))
    assert names_of(line) == {"@alice", "bob"}, line
    b.expect(numeric("366", "bob", "#room :End of /NAMES list"))
    a.expect(":bob!bob@127.0.0.1 JOIN #room")


def test_join_keeps_room_name_case(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#MixedCase")
    b.send("JOIN #mixedcase")
    b.expect(":bob!bob@127.0.0.1 JOIN #MixedCase")
    b.expect(numeric("366", "bob", "#MixedCase :End of /NAMES list"))


def test_join_twice_is_silent(f):
    s = Server(f)
    a = s.user("alice")
    a.join("#room")
    a.send("JOIN #room")
    a.no_line(ANY, sync=True, wait=0.1)


def test_join_comma_list_with_keys(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    for room, key in (("#ka", "k1"), ("#kb", "k2")):
        a.join(room)
        a.send("MODE %s +k %s" % (room, key))
        a.expect(":alice!alice@127.0.0.1 MODE %s +k %s" % (room, key))
    a.join("#open")
    b.send("JOIN #ka,#kb,#open k1,k2")
    for room in ("#ka", "#kb", "#open"):
        b.expect(":bob!bob@127.0.0.1 JOIN %s" % room)
        b.expect(numeric("366", "bob", "%s :End of /NAMES list" % room))
    b.send("JOIN #kb,#new wrong")
    b.no_line(rx(r".* 475 .*"), sync=True, wait=0)   # already in #kb
    b.expect(":bob!bob@127.0.0.1 JOIN #new")


def test_join_comma_list_wrong_key_is_per_room(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#ka")
    a.send("MODE #ka +k k1")
    a.expect(":alice!alice@127.0.0.1 MODE #ka +k k1")
    b.send("JOIN #ka,#kz bad")
    b.expect(numeric("475", "bob", "#ka :Cannot join channel (+k)"))
    b.expect(":bob!bob@127.0.0.1 JOIN #kz")


def test_join_0_parts_all(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#r1")
    join(a, b, room="#r2")
    a.send("JOIN 0")
    a.expect_unordered([rx(r":alice!alice@127\.0\.0\.1 PART %s( :.*)?", room)
                        for room in ("#r1", "#r2")])
    b.expect_unordered([rx(r":alice!alice@127\.0\.0\.1 PART %s( :.*)?", room)
                        for room in ("#r1", "#r2")])
    a.send("WHOIS alice")
    a.expect(rx(r":irc\.test 318 alice alice :.*"))
    assert not any(" 319 " in l for l in a.history[-5:]), a.history[-5:]
    b.send("NAMES #r1")
    b.expect(numeric("353", "bob", "= #r1 :bob"))   # ops are not handed on


def test_join_bad_mask(f):
    s = Server(f)
    a = s.user("alice")
    a.send("JOIN nohash")
    a.expect(numeric("476", "alice", "nohash :Bad Channel Mask"))
    a.send("JOIN #" + "x" * 50)           # 51 bytes, CHANNELLEN=50
    a.expect(rx(r":irc\.test (476|479|403) alice #x+ :.*"))
    a.send("JOIN #" + "x" * 49)           # exactly 50: fine
    a.expect(":alice!alice@127.0.0.1 JOIN #" + "x" * 49)


def test_join_not_enough_params(f):
    s = Server(f)
    a = s.user("alice")
    a.send("JOIN")
    a.expect(numeric("461", "alice", "JOIN :Not enough parameters"))


def test_join_too_many_rooms(f):
    s = Server(f)
    a = s.user("alice")
    rooms = ["#many%02d" % i for i in range(51)]
    for i in range(0, 50, 10):
        a.send("JOIN " + ",".join(rooms[i:i + 10]))
    for room in rooms[:50]:
        a.expect(numeric("366", "alice", "%s :End of /NAMES list" % room))
    a.send("JOIN " + rooms[50])
    a.expect(numeric("405", "alice", "%s :You have joined too many channels"
                     % rooms[50]))
    a.send("PART " + rooms[0])
    a.expect(":alice!alice@127.0.0.1 PART " + rooms[0])
    a.join(rooms[50])


# --- PART ---

def test_part_with_and_without_reason(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#room")
    b.send("PART #room :bye")
    for c in (a, b):
        c.expect(":bob!bob@127.0.0.1 PART #room :bye")
    b.join("#room")
    a.expect(":bob!bob@127.0.0.1 JOIN #room")
    b.send("PART #room")
    for c in (a, b):
        c.expect(":bob!bob@127.0.0.1 PART #room")


def test_part_comma_list(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#p1")
    join(a, b, room="#p2")
    b.send("PART #p1,#p2 :done")
    a.expect(":bob!bob@127.0.0.1 PART #p1 :done")
    a.expect(":bob!bob@127.0.0.1 PART #p2 :done")


def test_part_errors(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#room")
    b.send("PART #room")
    b.expect(numeric("442", "bob", "#room :You're not on that channel"))
    b.send("PART #nowhere")
    b.expect(numeric("403", "bob", "#nowhere :No such channel"))
    b.send("PART")
    b.expect(numeric("461", "bob", "PART :Not enough parameters"))


def test_last_part_destroys_room(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#gone")
    a.send("TOPIC #gone :old topic")
    a.expect(":alice!alice@127.0.0.1 TOPIC #gone :old topic")
    a.send("PART #gone")
    a.expect(":alice!alice@127.0.0.1 PART #gone")
    b.send("JOIN #gone")
    b.expect_exact_sequence([
        ":bob!bob@127.0.0.1 JOIN #gone",
        numeric("353", "bob", "= #gone :@bob"),
        numeric("366", "bob", "#gone :End of /NAMES list"),
    ])


# --- PRIVMSG / NOTICE ---

def test_privmsg_room_not_echoed(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, c, room="#room")
    for cmd in ("PRIVMSG", "NOTICE"):
        a.send("%s #room :hello everyone" % cmd)
        for other in (b, c):
            other.expect(":alice!alice@127.0.0.1 %s #room :hello everyone" % cmd)
        a.no_line(rx(r".* %s .*", cmd), sync=True, wait=0)


def test_privmsg_to_nick(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    a.send("PRIVMSG bob :psst")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :psst")
    a.send("NOTICE BOB :case")       # relayed with the target's own nick
    b.expect(rx(r":alice!alice@127\.0\.0\.1 NOTICE (bob|BOB) :case"))
    a.send("PRIVMSG bob :spaces  and : colons ")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :spaces  and : colons ")
    a.send("PRIVMSG bob word")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :word")
    c.no_line(ANY, sync=True, wait=0)
    a.no_line(rx(r".*PRIVMSG.*"), wait=0)


def test_privmsg_to_self(f):
    s = Server(f)
    a = s.user("alice")
    a.send("PRIVMSG alice :me")
    a.expect(":alice!alice@127.0.0.1 PRIVMSG alice :me")


def test_privmsg_comma_targets(f):
    s = Server(f)
    a, b, c, d = s.user("alice"), s.user("bob"), s.user("carol"), s.user("dave")
    join(a, c, room="#room")
    a.send("PRIVMSG bob,#room,nobody :multi")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :multi")
    c.expect(":alice!alice@127.0.0.1 PRIVMSG #room :multi")
    a.expect(numeric("401", "alice", "nobody :No such nick/channel"))
    d.no_line(ANY, sync=True, wait=0)


def test_privmsg_too_many_targets(f):
    s = Server(f)
    a = s.user("alice")
    for n in ("b1", "b2", "b3", "b4", "b5"):
        s.user(n)
    a.send("PRIVMSG b1,b2,b3,b4,b5 :x")
    a.expect(rx(r":irc\.test 407 alice \S+ :.*"))


def test_broadcast_reaches_only_members(f):
    s = Server(f)
    a, b, c, d, e = (s.user(n) for n in ("alice", "bob", "carol", "dave", "eve"))
    join(a, b, c, room="#one")
    join(c, d, room="#two")
    a.send("PRIVMSG #one :to one")
    d.send("PRIVMSG #two :to two")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG #one :to one")
    c.expect_unordered([":alice!alice@127.0.0.1 PRIVMSG #one :to one",
                        ":dave!dave@127.0.0.1 PRIVMSG #two :to two"])
    for who in (d, e):
        who.no_line(rx(r".*#one.*"), sync=True, wait=0)
    for who in (a, b, e):
        who.no_line(rx(r".*#two.*"), sync=True, wait=0)
    e.no_line(ANY, wait=0.1)


def test_privmsg_errors(f):
    s = Server(f)
    a = s.user("alice")
    s.user("bob")
    cases = [
        ("PRIVMSG", numeric("411", "alice", ":No recipient given (PRIVMSG)")),
        ("PRIVMSG bob", numeric("412", "alice", ":No text to send")),
        ("PRIVMSG bob :", numeric("412", "alice", ":No text to send")),
        ("PRIVMSG nobody :x", numeric("401", "alice",
                                      "nobody :No such nick/channel")),
        ("PRIVMSG #nowhere :x", rx(r":irc\.test (401|403) alice #nowhere :.*")),
    ]
    for line, want in cases:
        a.send(line)
        got = a.next_line()
        assert re.fullmatch(want, got) if isinstance(want, re.Pattern) \
            else got == want, "%r: expected %r, got %r" % (line, want, got)


def test_notice_errors_are_silent(f):
    s = Server(f)
    a = s.user("alice")
    a.send("NOTICE nobody :x")
    a.send("NOTICE #nowhere :x")
    a.send("NOTICE alice")
    a.send("NOTICE")
    # RFC 2812 3.3.2: servers MUST NOT send any error reply to a NOTICE.
    a.no_line(rx(r":irc\.test (401|403|411|412) .*"), sync=True, wait=0)


def test_privmsg_no_external(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#room")
    a.send("MODE #room +n")
    a.sync()
    b.send("PRIVMSG #room :from outside")
    b.expect(numeric("404", "bob", "#room :Cannot send to channel"))
    a.no_line(rx(r".*from outside.*"), sync=True, wait=0)


def test_privmsg_long_line_relayed_whole(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    head = "PRIVMSG bob :"
    text = "y" * (510 - len(head))
    a.send(head + text)
    line = b.expect(rx(r":alice!alice@127\.0\.0\.1 PRIVMSG bob :y+"))
    assert line.endswith(":" + text), "text cut: %d of %d bytes" % (
        len(line.split(" :", 1)[1]), len(text))


def test_utf8_text_relayed(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#r")
    a.send("PRIVMSG #r :h\u00e9llo w\u00f6rld \u2603 \U0001f600")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG #r :h\u00e9llo w\u00f6rld \u2603 \U0001f600")


# --- NICK changes and QUIT as seen by others ---

def test_nick_change_seen_once(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, room="#r1")
    join(a, b, room="#r2")
    a.send("NICK alice2")
    want = ":alice!alice@127.0.0.1 NICK alice2"
    a.expect(want)
    b.expect(want)
    b.no_line(want, sync=True, wait=0.1)
    c.no_line(rx(".*NICK.*"), sync=True, wait=0)
    b.send("PRIVMSG #r1 :hi alice2")
    a.expect(":bob!bob@127.0.0.1 PRIVMSG #r1 :hi alice2")
    b.send("PRIVMSG alice2 :direct")
    a.expect(":bob!bob@127.0.0.1 PRIVMSG alice2 :direct")
    b.send("PRIVMSG alice :old")
    b.expect(numeric("401", "bob", "alice :No such nick/channel"))


def test_nick_change_unchanged_is_silent(f):
    s = Server(f)
    a = s.user("alice")
    a.send("NICK alice")
    a.no_line(ANY, sync=True, wait=0)


def test_quit_seen_by_room_mates(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, room="#r1")
    join(a, b, room="#r2")
    b.send("QUIT :gone")
    assert b.expect_closed() == ["ERROR :Closing Link: 127.0.0.1 (Quit: gone)"]
    want = ":bob!bob@127.0.0.1 QUIT :Quit: gone"
    a.expect(want)
    a.no_line(want, sync=True, wait=0.1)
    c.no_line(rx(".*QUIT.*"), sync=True, wait=0)
    a.send("NAMES #r1")
    a.expect(numeric("353", "alice", "= #r1 :@alice"))


def test_connection_drop_seen_as_quit(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#r")
    b.close()
    a.expect(rx(r":bob!bob@127\.0\.0\.1 QUIT :.+"))


# --- KICK ---

def test_kick(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, c, room="#room")
    a.send("KICK #room bob :behave")
    for who in (a, b, c):
        who.expect(":alice!alice@127.0.0.1 KICK #room bob :behave")
    b.send("PRIVMSG #room :still here?")
    b.expect(rx(r":irc\.test (404|442) bob #room :.*"))
    a.send("KICK #room carol")
    for who in (a, c):
        who.expect(rx(r":alice!alice@127\.0\.0\.1 KICK #room carol( :.*)?"))
    a.send("NAMES #room")
    a.expect(numeric("353", "alice", "= #room :@alice"))


def test_kick_errors(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, room="#room")
    cases = [
        (b, "KICK #room alice", numeric("482", "bob",
                                        "#room :You're not channel operator")),
        (a, "KICK #room carol", numeric("441", "alice",
                                        "carol #room :They aren't on that channel")),
        (a, "KICK #room nobody", rx(r":irc\.test (401|441) alice nobody .*")),
        (c, "KICK #room bob", numeric("442", "carol",
                                      "#room :You're not on that channel")),
        (a, "KICK #nowhere bob", numeric("403", "alice",
                                         "#nowhere :No such channel")),
        (a, "KICK #room", numeric("461", "alice", "KICK :Not enough parameters")),
    ]
    for who, line, want in cases:
        who.send(line)
        got = who.next_line()
        ok = re.fullmatch(want, got) if isinstance(want, re.Pattern) else got == want
        assert ok, "%s %r: expected %r, got %r" % (who.name, line, want, got)


# --- TOPIC ---

def test_topic(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#room")
    a.send("TOPIC #room")
    a.expect(numeric("331", "alice", "#room :No topic is set"))
    a.send("TOPIC #room :A fine topic")
    a.expect(":alice!alice@127.0.0.1 TOPIC #room :A fine topic")
    b.send("JOIN #room")
    b.expect_exact_sequence([
        ":bob!bob@127.0.0.1 JOIN #room",
        numeric("332", "bob", "#room :A fine topic"),
        rx(r":irc\.test 333 bob #room (alice|alice!alice@127\.0\.0\.1) \d+"),
        rx(r":irc\.test 353 bob = #room :.*"),
        numeric("366", "bob", "#room :End of /NAMES list"),
    ])
    b.send("TOPIC #room")
    b.expect(numeric("332", "bob", "#room :A fine topic"))
    b.expect(rx(r":irc\.test 333 bob #room \S+ \d+"))
    a.send("TOPIC #room :")
    for who in (a, b):
        who.expect(":alice!alice@127.0.0.1 TOPIC #room :")
    b.send("TOPIC #room")
    b.expect(numeric("331", "bob", "#room :No topic is set"))


def test_topic_errors(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#room")
    b.send("TOPIC #room :outsider")
    b.expect(numeric("442", "bob", "#room :You're not on that channel"))
    b.send("TOPIC #nowhere")
    b.expect(numeric("403", "bob", "#nowhere :No such channel"))
    b.send("TOPIC")
    b.expect(numeric("461", "bob", "TOPIC :Not enough parameters"))


def test_topic_too_long_is_cut(f):
    s = Server(f)
    a = s.user("alice")
    a.join("#room")
    a.send("TOPIC #room :" + "t" * 450)
    line = a.expect(rx(r":alice!alice@127\.0\.0\.1 TOPIC #room :t+"))
    assert len(line.split(" :", 1)[1]) == 390, "TOPICLEN=390, topic is %d" % (
        len(line.split(" :", 1)[1]))


# --- INVITE ---

def test_invite(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.join("#room")
    a.send("INVITE bob #room")
    a.expect(numeric("341", "alice", "bob #room"))
    b.expect(rx(r":alice!alice@127\.0\.0\.1 INVITE bob :?#room"))


def test_invite_errors(f):
    s = Server(f)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, room="#room")
    cases = [
        (a, "INVITE bob #room", numeric("443", "alice",
                                        "bob #room :is already on channel")),
        (a, "INVITE nobody #room", numeric("401", "alice",
                                           "nobody :No such nick/channel")),
        (c, "INVITE bob #room", numeric("442", "carol",
                                        "#room :You're not on that channel")),
        (a, "INVITE bob", numeric("461", "alice", "INVITE :Not enough parameters")),
    ]
    for who, line, want in cases:
        who.send(line)
        got = who.next_line()
        assert got == want, "%s %r: expected %r, got %r" % (who.name, line, want, got)
    a.send("MODE #room +i")
    a.expect(":alice!alice@127.0.0.1 MODE #room +i")
    b.expect(":alice!alice@127.0.0.1 MODE #room +i")
    b.send("INVITE carol #room")
    b.expect(numeric("482", "bob", "#room :You're not channel operator"))


def test_privmsg_duplicate_targets_get_one_copy(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.send("PRIVMSG bob,BOB,Bob :just once")
    a.send("PRIVMSG bob :marker")
    got = b.read_until(":alice!alice@127.0.0.1 PRIVMSG bob :marker")
    assert got == [":alice!alice@127.0.0.1 PRIVMSG bob :just once",
                   ":alice!alice@127.0.0.1 PRIVMSG bob :marker"], got
