"""Attack tests for issue 13, section 2: a hostile client against
natterd's WHOX, bot mode, MONITOR, +e/+I, STATUSMSG, ELIST, HELP and
draft/message-redaction."""

import re
import time

from harness import FULL_SPEED, Server, join, numeric, prefix, scaled
from test_history import settle, v3
from test_rfc13_redact import ANY, TAGGED, redacted, said


def lines_fit(lines):
    """Every line within 512 bytes, CRLF included."""
    long = [ln for ln in lines if len(ln.encode()) + 2 > 512]
    assert not long, [(len(ln), ln[:80]) for ln in long]


# --- REDACT: the author is a name that can change hands ---

def test_attack_redact_nick_taken_after_author_left(f):
    # bob, logged out, says something and quits; mallory connects as
    # bob!bob@127.0.0.1 (the same nick!user@host: the same machine) and
    # redacted bob's line within the window.
    s = Server(f)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", *TAGGED)
    join(a, b, room="#r")
    settle(a, b)
    m = said(b, "#r", "mine", a)
    b.send("QUIT :bye")
    a.expect(":bob!bob@127.0.0.1 QUIT :Quit: bye")
    mallory = v3(s, "bob", *TAGGED)
    mallory.join("#r")
    settle(a, mallory)
    mallory.send("REDACT #r %s" % m)
    mallory.expect_exact_sequence([
        ":irc.test FAIL REDACT REDACT_FORBIDDEN #r %s :You are not "
        "authorised to delete this message" % m])
    a.no_line(ANY, sync=True)


def test_attack_redact_nick_taken_while_author_online(f):
    # The author renames (bob -> bob2) and stays; mallory takes "bob".
    s = Server(f)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", *TAGGED)
    join(a, b, room="#r")
    settle(a, b)
    m = said(b, "#r", "mine too", a)
    b.send("NICK bob2")
    b.expect(":bob!bob@127.0.0.1 NICK bob2")
    mallory = v3(s, "bob", *TAGGED)
    mallory.join("#r")
    settle(a, b, mallory)
    mallory.send("REDACT #r %s" % m)
    mallory.expect_exact_sequence([
        ":irc.test FAIL REDACT REDACT_FORBIDDEN #r %s :You are not "
        "authorised to delete this message" % m])
    a.no_line(ANY, sync=True)
    b.no_line(ANY, sync=True, wait=0)


def test_attack_redact_private_to_nick_that_changed_hands(f):
    # alice wrote to bob; bob became bob2 and carol took "bob".  A
    # REDACT "bob <msgid>" named a conversation carol was never in, and
    # carol got the REDACT (its msgid and reason).
    s = Server(f)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", *TAGGED)
    m = said(a, "bob", "for bob", b)
    b.send("NICK bob2")
    b.expect(":bob!bob@127.0.0.1 NICK bob2")
    carol = v3(s, "bob", *TAGGED)
    settle(a, b)
    a.send("REDACT bob %s :secret reason" % m)
    a.expect_exact_sequence([
        ":irc.test FAIL REDACT UNKNOWN_MSGID bob %s :This message does "
        "not exist or is too old" % m])
    carol.no_line(ANY, sync=True)
    b.no_line(ANY, sync=True, wait=0)


def test_attack_redact_account_name_taken_again(f):
    # alice, logged in, says something, drops her account and leaves;
    # mallory registers a new account of the same name and redacted
    # alice's line: a room message names its author's account by name.
    import time
    from test_nickserv import CHEAP
    s = Server(f, *CHEAP)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", *TAGGED)
    a.send("REGISTER * * password1")
    a.expect(":irc.test REGISTER SUCCESS alice :Account created")
    join(a, b, room="#r")
    settle(a, b)
    m = said(a, "#r", "hers", b)
    a.send("PRIVMSG NickServ :DROP password1")
    a.expect(re.compile(r".* NOTICE alice :Account alice dropped\."))
    a.send("QUIT")
    b.expect(re.compile(r":alice!alice@127\.0\.0\.1 QUIT .*"))
    time.sleep(1.1)     # a new account: created after the message
    mallory = v3(s, "alice", *TAGGED)
    mallory.send("REGISTER * * password2")
    mallory.expect(":irc.test REGISTER SUCCESS alice :Account created")
    mallory.join("#r")
    settle(b, mallory)
    mallory.send("REDACT #r %s" % m)
    mallory.expect_exact_sequence([
        ":irc.test FAIL REDACT REDACT_FORBIDDEN #r %s :You are not "
        "authorised to delete this message" % m])
    b.no_line(ANY, sync=True)


def untagged(line):
    return line.split(" ", 1)[1] if line.startswith("@") else line


def test_attack_redact_replies_fit_512(f):
    # A target too long to be a room or a nick was echoed whole: 403 and
    # 401 lines of 518+ bytes.  A long reason made a REDACT line past
    # 512 bytes (tags aside) for every member with the cap.
    s = Server(f, *FULL_SPEED)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "b" * 16, *TAGGED)
    join(a, b, room="#r")
    settle(a, b)
    room = "#" + "x" * 480
    nick = "n" * 480
    for cmd in ("REDACT %s abc" % room, "REDACT %s abc" % nick,
                "REDACT #r %s" % ("m" * 490)):
        a.send(cmd)
        a.send("PING :fit")
        got = a.read_until(":irc.test PONG irc.test :fit")
        assert len(got) == 2, got
        lines_fit(got)
    m = said(b, "#r", "to go", a)
    reason = "\u00e9" * 230          # 460 bytes, cut on a character
    b.send("REDACT #r %s :%s" % (m, reason))
    got = untagged(a.expect(re.compile(r"@msgid=\S+ :%s REDACT #r %s :.*"
                                       % (re.escape(prefix(b.nick)), m))))
    lines_fit([got])
    shown = got.split(" :", 1)[1]
    assert reason.startswith(shown) and len(shown) > 150, shown


def test_attack_chathistory_fail_fits_512(f):
    # CHATHISTORY echoed a target or subcommand whole in its FAIL: a
    # 553-byte line for a long target.  A target that could be one is
    # still named.
    s = Server(f, *FULL_SPEED)
    a = v3(s, "alice", *TAGGED)
    a.send("CHATHISTORY LATEST %s * 10" % ("#" + "x" * 480))
    a.expect(":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST * "
             ":Messages could not be retrieved")
    a.send("CHATHISTORY %s #r * 10" % ("Q" * 480))
    a.expect(":irc.test FAIL CHATHISTORY UNKNOWN_COMMAND * "
             ":Unknown subcommand")
    a.send("CHATHISTORY LATEST #nowhere * 10")
    got = a.read_until(re.compile(r".*(FAIL|BATCH -).*"))
    assert got[-1].endswith(" LATEST #nowhere :Messages could not be "
                            "retrieved") or "BATCH -" in got[-1], got


def test_attack_secret_room_lists_hidden_from_outsiders(f):
    # The +b list of a +s room (its masks and the operator who set each)
    # was shown to anyone: "+s: outsiders see nothing of it".
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    c = s.user("carol")
    a.join("#r")
    a.send("MODE #r +sb x!*@*")
    a.expect(":alice!alice@127.0.0.1 MODE #r +sb x!*@*")
    for q in ("b", "+b", "be", "bI"):
        c.send("MODE #r " + q)
        c.expect_exact_sequence([numeric(
            "442", "carol", "#r :You're not on that channel")])
        c.no_line(ANY, sync=True, wait=0)
    # A member sees it, an outsider of a room that is not +s too.
    a.send("MODE #r b")
    a.expect_exact_sequence([
        re.compile(r":irc\.test 367 alice #r x!\*@\* "
                   r"alice!alice@127\.0\.0\.1 \d+"),
        numeric("368", "alice", "#r :End of channel ban list")])
    a.send("MODE #r -s")
    a.expect(":alice!alice@127.0.0.1 MODE #r -s")
    c.send("MODE #r b")
    c.expect(re.compile(r":irc\.test 367 carol #r x!\*@\* .*"))
    c.expect(numeric("368", "carol", "#r :End of channel ban list"))


def test_attack_redact_twice_in_one_read(f):
    # Two REDACTs of one msgid in one read (or from two operators at
    # once): the message is deleted when the first REDACT's row
    # commits, so the second still found it and went out as well.
    s = Server(f, *FULL_SPEED)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", *TAGGED)
    join(a, b, room="#r")
    settle(a, b)
    m = said(b, "#r", "once", a)
    a.send_raw(("REDACT #r %s :one\r\nREDACT #r %s :two\r\n"
                "PING :done\r\n" % (m, m)).encode())
    got = a.read_until(":irc.test PONG irc.test :done")
    assert [untagged(ln) for ln in got] == [
        ":alice!alice@127.0.0.1 REDACT #r %s :one" % m,
        ":irc.test FAIL REDACT UNKNOWN_MSGID #r %s :This message does "
        "not exist or is too old" % m,
        ":irc.test PONG irc.test :done"], got
    redacted(b, "alice", "#r", m, "one")
    b.no_line(ANY, sync=True)


def test_attack_monitor_full_reply_framing(f):
    # The targets past a full list were echoed in 734 as sent, a middle
    # parameter: spaces and ':' from a trailing parameter broke the line
    # ("734 alice 100 zz,foo bar,:baz :Monitor list is full.").  Only
    # the targets that could be nicks are named now.
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    for i in range(0, 100, 10):
        a.send("MONITOR + " + ",".join("n%d" % j for j in range(i, i + 10)))
    a.sync()
    a.drain()
    a.send("MONITOR + :zz,foo bar,:baz,x y :z,w")
    a.expect_exact_sequence([":irc.test 734 alice 100 zz,w :Monitor list "
                             "is full."])
    a.send("MONITOR + :a b,c")
    a.expect_exact_sequence([":irc.test 734 alice 100 c :Monitor list "
                             "is full."])
    long = ",".join("x%030d" % i for i in range(14))
    a.send("MONITOR + " + long)
    got = a.expect(re.compile(r":irc\.test 734 alice 100 \S+ :Monitor list "
                              r"is full\."))
    lines_fit([got])
    a.no_line(ANY, sync=True)


def test_attack_who_end_framing(f):
    # WHO's mask, sent as a trailing parameter, came back as 315's
    # middle one with its spaces: "315 alice a b :End of WHO list".
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    for cmd in ("WHO :a b %n", "WHO ::x"):
        a.send(cmd)
        a.expect_exact_sequence([numeric("315", "alice",
                                         "* :End of WHO list")])
    a.send("WHO * :%n,1 x")
    a.expect(":irc.test 354 alice alice")
    a.expect(numeric("315", "alice", "* :End of WHO list"))
    a.no_line(ANY, sync=True)


def test_attack_monitor_who_redact_churn(f):
    # Nicks changing hands, MONITOR lists changing, WHOX listings, AWAY
    # and REDACTs, all at once from several clients (for TSan and ASan):
    # the server lives, and a watcher's last word on each nick is the
    # truth (MONITOR S agrees with who is online).
    import threading
    s = Server(f, *FULL_SPEED)
    w = v3(s, "watcher", "extended-monitor", "away-notify")
    w.send("MONITOR + p0,p1,p2,p3,q0,q1")
    settle(w)
    users = [v3(s, "p%d" % i, *TAGGED) for i in range(4)]
    for u in users:
        u.join("#r")
    settle(*users)
    errors = []

    def churn(c, i):
        try:
            for k in range(30):
                c.send("NICK q%d" % (i % 2) if k % 2 == 0 else
                       "NICK p%d" % i)
                c.send("AWAY :a%d" % k if k % 3 else "AWAY")
                c.send("WHO * %tcuihsnfdlaor,42")
                c.send("MONITOR + p%d,q%d" % ((i + 1) % 4, k % 2))
                c.send("MONITOR - p%d" % ((i + 2) % 4))
                c.send("PRIVMSG #r :k%d" % k)
                c.send("REDACT #r %s" % ("0" * 20))
                if k % 10 == 9:
                    c.send("MONITOR C")
            c.send("NICK p%d" % i)
            c.sync(timeout=30)
        except Exception as e:      # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=churn, args=(u, i))
          for i, u in enumerate(users)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    users[0].send("QUIT")
    users[0].expect_closed()
    # The churn left 730/731 lines for p0 in w's queue, so a "731 * :p0"
    # proves nothing about the QUIT: ask until p0's leaving is seen
    # (its teardown may end after the socket closed).
    deadline = time.monotonic() + scaled(10)
    while True:
        w.send("MONITOR S")
        got = w.read_until(re.compile(r":irc\.test 731 watcher :.*"))
        online = set()
        for ln in got:
            m = re.fullmatch(r":irc\.test 730 watcher :(.*)", ln)
            if m:
                online |= {x.split("!")[0] for x in m.group(1).split(",")}
        if online == {"p1", "p2", "p3"} or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert online == {"p1", "p2", "p3"}, got
    assert s.alive()


def test_attack_statusmsg_never_reaches_non_ops(f):
    # Held up: a STATUSMSG (plain, NOTICE, TAGMSG, multiline) reaches
    # the operators only, live, and is in no history: not CHATHISTORY,
    # not the JOIN replay, not a later REDACT.
    from test_history import TAGS3, ch
    s = Server(f, *FULL_SPEED)
    ML = ("batch", "draft/multiline", "message-tags")
    a = v3(s, "alice", *ML)
    b = v3(s, "bob", "batch", "message-tags", "server-time",
           "draft/chathistory", "echo-message")
    obs = v3(s, "obs", *TAGS3)
    join(a, b, obs, room="#r")
    a.send("MODE #r +o obs")
    settle(a, b, obs)
    a.send("PRIVMSG @#r :op1")
    a.send("NOTICE @#r :op2")
    a.send("@+draft/react=x TAGMSG @#r")
    a.send_raw(b"BATCH +m draft/multiline @#r\r\n"
               b"@batch=m PRIVMSG @#r :op3\r\n"
               b"@batch=m PRIVMSG @#r :op4\r\nBATCH -m\r\n")
    obs.expect(re.compile(r".*:alice!alice@127\.0\.0\.1 PRIVMSG @#r :op1"))
    obs.expect(re.compile(r".*:alice!alice@127\.0\.0\.1 PRIVMSG @#r :op4"))
    b.send("PRIVMSG #r :public")
    got = b.read_until(re.compile(r".*PRIVMSG #r :public"))
    assert not [ln for ln in got if "@#r" in ln or "op" in ln], got
    settle(b)
    lines = ch(b, "LATEST #r * 20")
    assert [untagged(ln) for ln in lines] == [
        ":bob!bob@127.0.0.1 PRIVMSG #r :public"], lines
    d = s.user("dave")
    d.send("JOIN #r")
    got = d.read_until(":irc.test NOTICE #r :--- End of history "
                       "(1 line) ---")
    assert not [ln for ln in got if "op" in ln.split(" :")[-1]], got
    b.no_line(re.compile(r".*op\d.*"), sync=True)


def test_attack_list_mask_framing(f):
    # A +b/+e/+I mask given as a trailing parameter kept its spaces and
    # ':': every member got ":alice MODE #r +I x :y!*@*" (and 348/346
    # lines alike), a line that reads as other parameters.  Such a mask
    # is refused with 696, as a mask starting with ':' is.
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    b = s.user("bob")
    join(a, b, room="#r")
    for letter, mask, shown in (("e", "a b", "*"), ("I", "x :y", "*"),
                                ("b", "c\x01d", "c\x01d")):
        a.send("MODE #r +%s :%s" % (letter, mask))
        a.expect_exact_sequence([numeric(
            "696", "alice", "#r %s %s :Invalid mask" % (letter, shown))])
    a.send("MODE #r e")
    a.expect_exact_sequence([numeric(
        "349", "alice", "#r :End of channel exception list")])
    b.no_line(ANY, sync=True)
