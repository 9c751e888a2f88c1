"""Issue 13, section 2: ban exceptions (+e), invite exceptions (+I) and
STATUSMSG.

+e and +I are RFC 2811 4.3 and Modern IRC's "Exception Channel Mode" and
"Invite-Exception Channel Mode": list modes like +b, shown with
RPL_EXCEPTLIST 348 / RPL_ENDOFEXCEPTLIST 349 and RPL_INVITELIST 346 /
RPL_ENDOFINVITELIST 347 in the form of 367/368 (mask, setter, time),
advertised with ISUPPORT EXCEPTS=e and INVEX=I and limited by MAXLIST
(ERR_BANLISTFULL 478 past it).  As in Ergo, only room operators see or
change +e and +I.  STATUSMSG=@+ (Modern IRC ISUPPORT): "PRIVMSG @#room"
reaches the room's operators, "+#room" its voiced members and operators;
as in Ergo the sender passes the checks of a message to the room, and
the line is not kept in history.
"""

import re
import time

from harness import FULL_SPEED, Server, join, numeric, prefix, rx, slow
from weechat import ROOM, Weechat

ANY = re.compile(".*")


def isupport(lines):
    toks = {}
    for line in lines:
        m = re.fullmatch(r":irc\.test 005 \S+ (.*) :are supported by this "
                         r"server", line)
        if m:
            for tok in m.group(1).split():
                k, eq, v = tok.partition("=")
                toks[k] = v if eq else None
    return toks


def caps_user(s, nick, *caps):
    c = s.client(nick)
    c.send("CAP REQ :%s" % " ".join(caps))
    c.expect(":irc.test CAP * ACK :%s" % " ".join(caps))
    c.send("CAP END")
    c.register(nick)
    return c


def mode(actor, room, change, *watchers):
    """actor (an operator) applies change; actor and watchers see it."""
    actor.send("MODE %s %s" % (room, change))
    line = ":%s MODE %s %s" % (prefix(actor.nick), room, change)
    actor.expect(line)
    for w in watchers:
        w.expect(line)


def listed(c, code, room, mask, setter, t0, t1):
    """The next line is numeric code listing mask, set by setter between
    t0 and t1 (seconds since the epoch)."""
    line = c.next_line()
    m = re.fullmatch(r":irc\.test %s %s %s %s %s (\d+)" % (
        code, re.escape(c.nick), re.escape(room), re.escape(mask),
        re.escape(setter)), line)
    assert m, "expected %s %s %s set by %s, got %r" % (code, room, mask,
                                                       setter, line)
    assert int(t0) <= int(m.group(1)) <= int(t1) + 1, line


# --- ISUPPORT ---

def test_rfc13_lists_isupport(f):
    s = Server(f)
    c = s.client("alice")
    lines = c.register("alice")
    toks = isupport(lines)
    assert toks.get("CHANMODES") == "beI,k,l,imnstR", toks
    assert toks.get("EXCEPTS") == "e", toks
    assert toks.get("INVEX") == "I", toks
    assert toks.get("MAXLIST") == "b:100,e:100,I:100", toks
    assert toks.get("STATUSMSG") == "@+", toks
    # 004 lists the new room modes; e and I take a parameter.
    line = [l for l in lines if " 004 " in l][0]
    assert line.split()[6:] == ["beiklmnostvIR", "beklovI"], line


# --- +e and +I: the lists ---

def test_rfc13_except_invex_add_list_remove(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#r")
    t0 = time.time()
    # A bare nick is made nick!*@*, as for +b.
    a.send("MODE #r +e carol")
    a.expect_exact_sequence([":%s MODE #r +e carol!*@*" % prefix("alice")])
    b.expect(":%s MODE #r +e carol!*@*" % prefix("alice"))
    mode(a, "#r", "+I *!dave@*", b)
    mode(a, "#r", "+eI x!y@z w!*@*", b)
    t1 = time.time()
    a.send("MODE #r e")
    listed(a, "348", "#r", "carol!*@*", prefix("alice"), t0, t1)
    listed(a, "348", "#r", "x!y@z", prefix("alice"), t0, t1)
    a.expect_exact_sequence([numeric("349", "alice",
                                     "#r :End of channel exception list")])
    a.send("MODE #r +I")
    listed(a, "346", "#r", "*!dave@*", prefix("alice"), t0, t1)
    listed(a, "346", "#r", "w!*@*", prefix("alice"), t0, t1)
    a.expect_exact_sequence([numeric(
        "347", "alice", "#r :End of Channel Invite Exception List")])
    # Both at once, each once.
    a.send("MODE #r eIe")
    for code, mask in (("348", "carol!*@*"), ("348", "x!y@z")):
        listed(a, code, "#r", mask, prefix("alice"), t0, t1)
    a.expect_exact_sequence([numeric("349", "alice",
                                     "#r :End of channel exception list")])
    for mask in ("*!dave@*", "w!*@*"):
        listed(a, "346", "#r", mask, prefix("alice"), t0, t1)
    a.expect_exact_sequence([numeric(
        "347", "alice", "#r :End of Channel Invite Exception List")])
    # Adding one already there, removing one not there: nothing.
    a.send("MODE #r +e CAROL!*@*")
    a.send("MODE #r -I nobody!*@*")
    a.no_line(rx(r".* MODE #r .*"), sync=True, wait=0)
    mode(a, "#r", "-e carol!*@*", b)
    mode(a, "#r", "-I *!dave@*", b)
    a.send("MODE #r e")
    listed(a, "348", "#r", "x!y@z", prefix("alice"), t0, t1)
    a.expect_exact_sequence([numeric("349", "alice",
                                     "#r :End of channel exception list")])
    mode(a, "#r", "-eI x!y@z w!*@*", b)
    a.send("MODE #r e")
    a.expect_exact_sequence([numeric("349", "alice",
                                     "#r :End of channel exception list")])
    a.send("MODE #r I")
    a.expect_exact_sequence([numeric(
        "347", "alice", "#r :End of Channel Invite Exception List")])
    a.no_line(ANY, sync=True, wait=0)
    b.no_line(ANY, sync=True, wait=0)


def test_rfc13_except_invex_ops_only(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    out = s.user("outsider")
    join(a, b, room="#r")
    mode(a, "#r", "+beI x!*@* y!*@* z!*@*", b)
    for c in (b, out):
        for q in ("MODE #r e", "MODE #r I", "MODE #r +e", "MODE #r eI"):
            c.send(q)
            c.expect_exact_sequence([numeric(
                "482", c.nick, "#r :You're not channel operator")])
        # A change: 482 for a member, 442 for an outsider, as for +b.
        for q in ("MODE #r +e q!*@*", "MODE #r -I z!*@*"):
            c.send(q)
            c.expect_exact_sequence([numeric(
                "482", c.nick, "#r :You're not channel operator")
                if c is b else numeric(
                "442", c.nick, "#r :You're not on that channel")])
        # +b stays open to anyone; one 482 for the rest.
        c.send("MODE #r be")
        c.expect_exact_sequence([
            rx(r":irc\.test 367 %s #r x!\*@\* %s \d+", c.nick,
               prefix("alice")),
            numeric("368", c.nick, "#r :End of channel ban list"),
            numeric("482", c.nick, "#r :You're not channel operator")])
        c.no_line(ANY, sync=True, wait=0)
    a.no_line(rx(r".* MODE #r .*"), sync=True, wait=0)
    # Made an operator, bob sees them.
    mode(a, "#r", "+o bob", b)
    b.send("MODE #r I")
    b.expect_exact_sequence([
        rx(r":irc\.test 346 bob #r z!\*@\* %s \d+", prefix("alice")),
        numeric("347", "bob", "#r :End of Channel Invite Exception List")])


def list_full(f, letter, end):
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    a.join("#r")
    for i in range(0, 100, 4):
        a.send("MODE #r +%s %s" % (letter * 4, " ".join(
            "n%d!*@*" % k for k in range(i, i + 4))))
    a.send("MODE #r " + letter)
    lines = a.read_until(end)
    # 25 MODE lines, 100 entries, the end.
    assert len(lines) == 25 + 100 + 1, len(lines)
    assert sum(" 34%s " % ("8" if letter == "e" else "6") in l
               for l in lines) == 100, lines
    a.send("MODE #r +%s%s extra!*@* n0!*@*" % (letter, letter))
    a.expect_exact_sequence([numeric(
        "478", "alice", "#r %s :Channel list is full" % letter)])
    a.no_line(ANY, sync=True, wait=0)
    # Room again after a removal; the other lists are not counted in.
    mode(a, "#r", "-%s n0!*@*" % letter)
    mode(a, "#r", "+%s extra!*@*" % letter)
    mode(a, "#r", "+b banned!*@*")


def test_rfc13_except_list_full(f):
    list_full(f, "e", numeric("349", "alice",
                              "#r :End of channel exception list"))


def test_rfc13_invex_list_full(f):
    list_full(f, "I", numeric("347", "alice",
                              "#r :End of Channel Invite Exception List"))


# --- +e and +I: their effect ---

def test_rfc13_except_lets_banned_join(f):
    s = Server(f)
    a = s.user("alice")
    a.join("#r")
    mode(a, "#r", "+b *!*@127.0.0.1")
    mode(a, "#r", "+e bob!*@*")
    b, c = s.user("bob"), s.user("carol")
    b.join("#r")
    a.expect(":%s JOIN #r" % prefix("bob"))
    c.send("JOIN #r")
    c.expect_exact_sequence([numeric("474", "carol",
                                     "#r :Cannot join channel (+b)")])
    # Banned but excepted, bob speaks; without the exception he may not.
    b.send("PRIVMSG #r :excepted")
    a.expect(":%s PRIVMSG #r :excepted" % prefix("bob"))
    mode(a, "#r", "-e bob!*@*", b)
    b.send("PRIVMSG #r :silenced")
    b.expect_exact_sequence([numeric("404", "bob",
                                     "#r :Cannot send to channel")])
    a.no_line(rx(r".*silenced"), sync=True, wait=0)
    # An exception by user name, matched case-insensitively as +b is.
    mode(a, "#r", "+e *!CAROL@*", b)
    c.join("#r")
    for w in (a, b):
        w.expect(":%s JOIN #r" % prefix("carol"))
    c.send("PRIVMSG #r :me too")
    a.expect(":%s PRIVMSG #r :me too" % prefix("carol"))


def test_rfc13_invex_lets_join_invite_only(f):
    s = Server(f)
    a = s.user("alice")
    a.join("#r")
    mode(a, "#r", "+iI bob!*@*")
    b, c = s.user("bob"), s.user("carol")
    b.join("#r")
    a.expect(":%s JOIN #r" % prefix("bob"))
    c.send("JOIN #r")
    c.expect_exact_sequence([numeric("473", "carol",
                                     "#r :Cannot join channel (+i)")])
    # +I opens +i only: a key or a ban still holds.
    d = s.user("dave")
    mode(a, "#r", "+Ib dave!*@* dave!*@*", b)
    d.send("JOIN #r")
    d.expect_exact_sequence([numeric("474", "dave",
                                     "#r :Cannot join channel (+b)")])
    mode(a, "#r", "-b+k dave!*@* sesame", b)
    d.send("JOIN #r")
    d.expect_exact_sequence([numeric("475", "dave",
                                     "#r :Cannot join channel (+k)")])
    d.join("#r", "sesame")
    for w in (a, b):
        w.expect(":%s JOIN #r" % prefix("dave"))
    # Without +i, +I changes nothing for others.
    a.send("MODE #r -ik sesame")
    for w in (a, b, d):
        w.expect(":%s MODE #r -ik *" % prefix("alice"))
    c.join("#r")


# --- STATUSMSG ---

def status_room(s):
    """#r: alice and oscar operators, vic voiced, bob and sam plain; sam
    has echo-message.  Returns them."""
    a, o, v, b = (s.user(n) for n in ("alice", "oscar", "vic", "bob"))
    sam = caps_user(s, "sam", "echo-message")
    join(a, o, v, b, sam, room="#r")
    mode(a, "#r", "+ov oscar vic", o, v, b, sam)
    return a, o, v, b, sam


def test_rfc13_statusmsg_reaches_ops_and_voiced(f):
    s = Server(f)
    a, o, v, b, sam = status_room(s)
    everyone = (a, o, v, b, sam)
    for cmd in ("PRIVMSG", "NOTICE"):
        line = ":%s %s @#r :to the ops" % (prefix("sam"), cmd)
        sam.send("%s @#r :to the ops" % cmd)
        sam.expect_exact_sequence([line])           # echo-message
        for c in (a, o):
            c.expect_exact_sequence([line])
        for c in (v, b):
            c.no_line(ANY, sync=True, wait=0)
        line = ":%s %s +#r :to the voiced" % (prefix("sam"), cmd)
        sam.send("%s +#R :to the voiced" % cmd)
        sam.expect_exact_sequence([line])
        for c in (a, o, v):
            c.expect_exact_sequence([line])
        b.no_line(ANY, sync=True, wait=0)
    # Several prefixes: the widest wins.
    b.send("PRIVMSG @+#r :both")
    for c in (a, o, v):
        c.expect_exact_sequence([":%s PRIVMSG +#r :both" % prefix("bob")])
    for c in (b, sam):
        c.no_line(ANY, sync=True, wait=0)
    # An operator's own copy without echo-message: none, as for #r.
    a.send("PRIVMSG @#r :from an op")
    o.expect_exact_sequence([":%s PRIVMSG @#r :from an op" % prefix("alice")])
    for c in everyone:
        c.no_line(ANY, sync=True, wait=0)


def test_rfc13_statusmsg_tagmsg(f):
    s = Server(f)
    a = caps_user(s, "alice", "message-tags")
    v = caps_user(s, "vic", "message-tags")
    b = caps_user(s, "bob", "message-tags")
    join(a, v, b, room="#r")
    mode(a, "#r", "+v vic", v, b)
    b.send("@+typing=active TAGMSG @#r")
    a.expect(rx(r"@msgid=\S+;\+typing=active :%s TAGMSG @#r",
                prefix("bob")))
    v.send("@+typing=active TAGMSG +#r")
    a.expect(rx(r"@msgid=\S+;\+typing=active :%s TAGMSG \+#r",
                prefix("vic")))
    for c in (v, b):
        c.no_line(ANY, sync=True, wait=0)
    a.no_line(ANY, sync=True, wait=0)


def test_rfc13_statusmsg_several_targets(f):
    s = Server(f)
    a, o, v, b, sam = status_room(s)
    join(a, b, room="#s")
    sam.send("PRIVMSG @#r,#s,+#r,#r :all of them")
    sam.expect_exact_sequence([
        ":%s PRIVMSG @#r :all of them" % prefix("sam"),
        numeric("404", "sam", "#s :Cannot send to channel"),
        ":%s PRIVMSG +#r :all of them" % prefix("sam"),
        ":%s PRIVMSG #r :all of them" % prefix("sam")])
    a.expect_exact_sequence([":%s PRIVMSG %s :all of them"
                             % (prefix("sam"), t)
                             for t in ("@#r", "+#r", "#r")])
    v.expect_exact_sequence([":%s PRIVMSG %s :all of them"
                             % (prefix("sam"), t) for t in ("+#r", "#r")])
    b.expect_exact_sequence([":%s PRIVMSG #r :all of them" % prefix("sam")])
    b.send("PRIVMSG @#r,#s :two rooms")
    for c in (a, o):
        c.expect(":%s PRIVMSG @#r :two rooms" % prefix("bob"))
    a.expect(":%s PRIVMSG #s :two rooms" % prefix("bob"))
    for c in (a, o, v, b, sam):
        c.no_line(ANY, sync=True, wait=0)


def test_rfc13_statusmsg_sender_checks(f):
    s = Server(f)
    a, o, v, b, sam = status_room(s)
    out = s.user("outsider")
    # +n: an outsider may not; a missing room is 403 as sent.
    out.send("PRIVMSG @#r :in")
    out.expect_exact_sequence([numeric("404", "outsider",
                                       "#r :Cannot send to channel")])
    out.send("PRIVMSG @#nowhere :x")
    out.expect_exact_sequence([numeric("403", "outsider",
                                       "@#nowhere :No such channel")])
    out.send("PRIVMSG @bob :x")
    out.expect_exact_sequence([numeric("401", "outsider",
                                       "@bob :No such nick/channel")])
    out.send("NOTICE @#r :quiet")
    # +m: only the voiced and ops speak, to @#r too.
    mode(a, "#r", "+m", o, v, b, sam)
    b.send("PRIVMSG @#r :moderated")
    b.expect_exact_sequence([numeric("404", "bob",
                                     "#r :Cannot send to channel")])
    v.send("PRIVMSG @#r :voiced")
    o.expect(":%s PRIVMSG @#r :voiced" % prefix("vic"))
    a.expect(":%s PRIVMSG @#r :voiced" % prefix("vic"))
    # A ban silences toward @#r as toward #r.
    mode(a, "#r", "-m+b bob!*@*", o, v, b, sam)
    b.send("PRIVMSG @#r :banned")
    b.expect_exact_sequence([numeric("404", "bob",
                                     "#r :Cannot send to channel")])
    for c in (a, o, v, b, sam, out):
        c.no_line(ANY, sync=True, wait=0)


def test_rfc13_statusmsg_not_in_history(f):
    s = Server(f)
    a, o, v, b, sam = status_room(s)
    a.send("PRIVMSG #r :public one")
    a.send("PRIVMSG @#r :ops secret")
    a.send("NOTICE +#r :voiced secret")
    a.send("PRIVMSG #r :public two")
    o.expect_exact_sequence([":%s %s :%s" % (prefix("alice"), cmd, text)
                             for cmd, text in (
                                 ("PRIVMSG #r", "public one"),
                                 ("PRIVMSG @#r", "ops secret"),
                                 ("NOTICE +#r", "voiced secret"),
                                 ("PRIVMSG #r", "public two"))])
    v.expect_exact_sequence([":%s %s :%s" % (prefix("alice"), cmd, text)
                             for cmd, text in (
                                 ("PRIVMSG #r", "public one"),
                                 ("NOTICE +#r", "voiced secret"),
                                 ("PRIVMSG #r", "public two"))])
    b.expect_exact_sequence([":%s PRIVMSG #r :%s" % (prefix("alice"), text)
                             for text in ("public one", "public two")])
    # A later joiner's replay has only the room's lines.
    c = s.user("carol")
    c.send("JOIN #r")
    c.expect(numeric("366", "carol", "#r :End of /NAMES list"))
    c.expect_exact_sequence([
        ":irc.test NOTICE #r :--- Recent history of #r ---",
        ":%s PRIVMSG #r :public one" % prefix("alice"),
        ":%s PRIVMSG #r :public two" % prefix("alice"),
        ":irc.test NOTICE #r :--- End of history (2 lines) ---"])
    # CHATHISTORY by a non-operator: the same two.
    d = caps_user(s, "dave", "batch", "draft/chathistory")
    d.join("#r")
    d.sync()
    d.drain()
    assert chathistory(d) == [":%s PRIVMSG #r :public one" % prefix("alice"),
                              ":%s PRIVMSG #r :public two" % prefix("alice")]
    # Nor an operator's: it was never stored.
    mode(a, "#r", "+o dave", d)
    assert chathistory(d) == [":%s PRIVMSG #r :public one" % prefix("alice"),
                              ":%s PRIVMSG #r :public two" % prefix("alice")]


def chathistory(c):
    """CHATHISTORY LATEST #r * 10: the lines of its batch, tag removed."""
    c.send("CHATHISTORY LATEST #r * 10")
    start = c.next_line()
    m = re.fullmatch(r":irc\.test BATCH \+(\S+) chathistory #r", start)
    assert m, start
    lines = c.read_until(":irc.test BATCH -" + m.group(1))[:-1]
    tag = "@batch=%s " % m.group(1)
    assert all(l.startswith(tag) for l in lines), lines
    return [l[len(tag):] for l in lines]


def test_rfc13_statusmsg_multiline(f):
    s = Server(f)
    ml = ("batch", "draft/multiline")
    a = caps_user(s, "alice", *ml)
    o, b = s.user("oscar"), s.user("bob")
    sam = caps_user(s, "sam", *ml)
    join(a, o, b, sam, room="#r")
    mode(a, "#r", "+o oscar", o, b, sam)
    sam.send_raw(b"BATCH +m draft/multiline @#r\r\n"
                 b"@batch=m PRIVMSG @#r :first\r\n"
                 b"@batch=m PRIVMSG @#r :second\r\n"
                 b"BATCH -m\r\n")
    start = a.next_line()
    m = re.fullmatch(r":%s BATCH \+(\S+) draft/multiline @#r"
                     % re.escape(prefix("sam")), start)
    assert m, start
    a.expect_exact_sequence([
        "@batch=%s :%s PRIVMSG @#r :first" % (m.group(1), prefix("sam")),
        "@batch=%s :%s PRIVMSG @#r :second" % (m.group(1), prefix("sam")),
        ":%s BATCH -%s" % (prefix("sam"), m.group(1))])
    o.expect_exact_sequence([":%s PRIVMSG @#r :%s" % (prefix("sam"), t)
                             for t in ("first", "second")])
    for c in (a, o, b, sam):
        c.no_line(ANY, sync=True, wait=0)


# --- a real client ---

@slow
def test_rfc13_lists_weechat(f):
    """WeeChat reads EXCEPTS/INVEX/STATUSMSG from 005: it sets and lists
    +e (its 348/349 handlers), and /msg @#room sends STATUSMSG, which it
    also shows when it receives one."""
    s = Server(f)
    sock = s.user("sock")
    sock.join(ROOM)
    wee = Weechat(f, s.port)
    sock.expect(rx(r":wee!wee@127\.0\.0\.1 JOIN :?%s", ROOM), timeout=20)
    mode(sock, ROOM, "+o wee")
    wee.command("mode %s +eI friend!*@* pal!*@*" % ROOM)
    sock.expect(":wee!wee@127.0.0.1 MODE %s +eI friend!*@* pal!*@*" % ROOM,
                timeout=10)
    wee.command("mode %s e" % ROOM)
    wee.command("mode %s I" % ROOM)
    wee.command("msg -server t @%s to the ops" % ROOM)
    sock.expect(":wee!wee@127.0.0.1 PRIVMSG @%s :to the ops" % ROOM,
                timeout=10)
    sock.send("PRIVMSG @%s :ops only, wee" % ROOM)
    buf = "irc.t.%s" % ROOM

    def logged(text):
        return lambda log: any(text in l for l in log.splitlines())
    # The lists, parsed from 348/349 and 346/347 into the room's buffer.
    for text, what in (
            ("[%s] [1] exception friend!*@* by wee" % ROOM, "no 348"),
            ("[%s] End of channel exception list" % ROOM, "no 349"),
            ("[%s] [1] pal!*@* invited by wee" % ROOM, "no 346"),
            ("[%s] End of Channel Invite Exception List" % ROOM, "no 347"),
            # A STATUSMSG received goes to the room's buffer, marked as one.
            ("Msg:@(sock): ops only, wee", "the STATUSMSG not")):
        wee.wait_log(buf, logged(text), what)
    wee.check_alive()
