"""Attacks on draft/channel-rename (RENAME) and its interactions with the
other issue-13 features: multiline batches, JOIN replays in flight,
+s rooms, chains of renames, malformed input."""

import re

from harness import FULL_SPEED, Server, join, numeric, prefix, rx
from test_caps import cap_user
from test_history import plain_replay, settle
from test_read_marker import oper
from test_read_marker import server as marker_server
from test_rfc13_rename import replay_started, rows

ANY = re.compile(".*")
CAP = "draft/channel-rename"


def test_attack_rename_malformed(f):
    """Malformed RENAMEs get their numeric and change nothing."""
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = s.user("bob")
    join(a, b, room="#a")
    a.send("RENAME")
    a.expect_exact_sequence([numeric("461", "alice",
                                     "RENAME :Not enough parameters")])
    for bad in ("bob", "#" + "x" * 50, "#a\x07b", ":", "&a"):
        a.send("RENAME #a %s" % bad)
        shown = bad[1:] if bad.startswith(":") else bad
        a.expect_exact_sequence([rx(r":irc\.test (476|461) alice .*")])
    a.send("RENAME #a #a :same")
    a.expect_exact_sequence([":irc.test FAIL RENAME CANNOT_RENAME #a #a "
                             ":The channel already has that name"])
    # A 50-byte name with a long reason: the relay and the fallback PART
    # stay one line each, whole.
    new = "#" + "n" * 49
    reason = "r" * (510 - len("RENAME #a %s :" % new))
    a.send("RENAME #a %s :%s" % (new, reason))
    a.expect_exact_sequence([":%s RENAME #a %s :%s"
                             % (prefix("alice"), new, reason)])
    b.expect_exact_sequence([":%s PART #a :%s" % (prefix("bob"), reason),
                             ":%s JOIN %s" % (prefix("bob"), new)])
    b.read_until(rx(r":irc\.test 366 bob %s :.*", new))
    for c in (a, b):
        c.no_line(ANY, sync=True, wait=0)


def test_attack_rename_secret_outsider(f):
    """A +s room renamed: an outsider sees nothing of it, gets no
    fallback JOIN, and cannot find it by its new name."""
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = s.user("bob")
    d = s.user("dave")
    join(a, b, room="#hid")
    a.send("MODE #hid +s")
    for c in (a, b):
        c.expect(":%s MODE #hid +s" % prefix("alice"))
    d.join("#lobby")
    a.send("RENAME #hid #hidden :psst")
    a.expect(":%s RENAME #hid #hidden :psst" % prefix("alice"))
    b.expect(":%s JOIN #hidden" % prefix("bob"))
    d.no_line(ANY, sync=True, wait=0.3)
    for q in ("NAMES #hidden", "LIST #hidden", "WHOIS alice", "WHO #hidden",
              "LIST"):
        d.send(q)
    d.sync()
    d.drain(wait=0.3)
    assert not any("hidden" in ln and " 403 " not in ln and " 442 " not in ln
                   and " 366 " not in ln and " 323 " not in ln
                   and " 315 " not in ln
                   for ln in d.history), d.history
    d.send("RENAME #hidden #out")
    d.expect_exact_sequence([numeric("403", "dave",
                                     "#hidden :No such channel")])


def test_attack_rename_multiline_open_on_old_name(f):
    """A multiline batch opened on #old, the room renamed, a stranger
    makes a new #old (and lets anyone talk in it): closing the batch
    must not hand the message to the stranger's room."""
    s = Server(f)
    op = cap_user(s, "op", CAP)
    a = cap_user(s, "alice", "batch", "draft/multiline", CAP)
    join(op, a, room="#old")
    op.send("MODE #old +s")
    for c in (op, a):
        c.expect(":%s MODE #old +s" % prefix("op"))
    a.send("BATCH +ml draft/multiline #old")
    a.send("@batch=ml PRIVMSG #old :the secret plan")
    a.sync()
    op.send("RENAME #old #new :moving")
    for c in (op, a):
        c.expect(":%s RENAME #old #new :moving" % prefix("op"))
    e = s.user("eve")
    e.join("#old")
    e.send("MODE #old -nt")
    e.expect(":%s MODE #old -nt" % prefix("eve"))
    a.send("BATCH -ml")
    a.expect_exact_sequence([
        ":irc.test FAIL BATCH MULTILINE_INVALID_TARGET #old #old :#old is "
        "another channel than when the batch was opened; not sent"])
    e.no_line(rx(r".*secret plan.*"), sync=True, wait=0.3)
    op.no_line(rx(r".*secret plan.*"), sync=True, wait=0)


def make_rooms(s, n, prefix_="#z"):
    """n rooms, each made by one of a few users (CHANLIMIT 50)."""
    users, names = [], ["%s%d" % (prefix_, i) for i in range(n)]
    for k in range(0, n, 40):
        u = s.user(s.f.unique("mk"))
        u.send("JOIN " + ",".join(names[k:k + 40]))
        u.read_until(rx(r":irc\.test 366 %s %s :.*", u.nick, names[
            min(k + 40, n) - 1]), timeout=20)
        users.append(u)
    return users, names


def test_attack_rename_replay_in_flight_many_renames(f):
    """A JOIN replay held back by a slow reader while its room is renamed,
    then many other rooms are renamed (by an operator, each once):
    the replay must still give every line."""
    n, pad = 450, "x" * 430
    s = marker_server(f, *FULL_SPEED, "--history-lines", str(n))
    a = cap_user(s, "alice", CAP)
    a.join("#old")
    a.send_raw("".join("PRIVMSG #old :%d %s\r\n" % (i, pad)
                       for i in range(n)).encode())
    a.sync(timeout=30)
    _, names = make_rooms(s, 80)
    o = oper(s)
    slow = s.client("slow", rcvbuf=4096, reader=False)
    slow.register("slow")
    slow.send("JOIN #old")
    replay_started(slow)
    a.send("RENAME #old #new :moving")
    a.expect(":%s RENAME #old #new :moving" % prefix("alice"))
    for name in names:
        o.send("RENAME %s %sr" % (name, name))
    o.sync(timeout=20)
    a.send("PRIVMSG #new :after")
    a.sync()
    slow.expect_joined("#old")
    slow.expect_exact_sequence(plain_replay("#old", [
        ":%s PRIVMSG #old :%d %s" % (prefix("alice"), i, pad)
        for i in range(n)]), timeout=30)


def test_attack_rename_swap_names_history(f):
    """#a -> #b, then another room #c -> #a at once (each room renamed
    once): each room keeps its own history, in memory and in the file
    after a SIGKILL."""
    db = f.path("h.db")
    s = Server(f, "--db", db)
    a = cap_user(s, "alice", CAP)
    c = cap_user(s, "carol", CAP)
    a.join("#a")
    c.join("#c")
    a.send("PRIVMSG #a :from a")
    c.send("PRIVMSG #c :from c")
    a.send("RENAME #a #b")
    a.expect(":%s RENAME #a #b :" % prefix("alice"))
    c.send("RENAME #c #a")
    c.expect(":%s RENAME #c #a :" % prefix("carol"))
    a.send("PRIVMSG #b :a later")
    c.send("PRIVMSG #a :c later")
    a.sync()
    c.sync()
    x = s.user("x")
    x.join("#b")
    x.expect_exact_sequence(plain_replay("#b", [
        ":%s PRIVMSG #b :from a" % prefix("alice"),
        ":%s PRIVMSG #b :a later" % prefix("alice")]))
    x.join("#a")
    x.expect_exact_sequence(plain_replay("#a", [
        ":%s PRIVMSG #a :from c" % prefix("carol"),
        ":%s PRIVMSG #a :c later" % prefix("carol")]))
    s.kill()
    assert [p for _, p in rows(db, "#b")] == ["#b :from a", "#b :a later"]
    assert [p for _, p in rows(db, "#a")] == ["#a :from c", "#a :c later"]
    assert rows(db, "#c") == []


def test_attack_rename_redact_across(f):
    """REDACT and RENAME: a message said in #old is redacted as a message
    of #new after the rename (and no longer under #old); a REDACT sent
    just before the RENAME takes it out for good, across a SIGKILL."""
    from test_rfc13_redact import TAGGED, redacted, said
    from test_history import TAGS3, ch, v3
    db = f.path("h.db")
    s = Server(f, "--db", db)
    a = v3(s, "alice", *TAGGED, CAP)
    b = v3(s, "bob", *TAGGED, CAP)
    obs = v3(s, "obs", *TAGS3, CAP)
    join(a, b, obs, room="#old")
    settle(a, b, obs)
    m0 = said(a, "#old", "m0", b)
    m1 = said(a, "#old", "m1", b)
    m2 = said(a, "#old", "m2", b)
    a.send_raw(("REDACT #old %s :first\r\nRENAME #old #new :go\r\n"
                % m0).encode())
    redacted(a, "alice", "#old", m0, "first")
    a.expect(":%s RENAME #old #new :go" % prefix("alice"))
    obs.expect(":%s RENAME #old #new :go" % prefix("alice"))
    a.send("REDACT #old %s" % m1)
    a.expect_exact_sequence([numeric("403", "alice",
                                     "#old :No such channel")])
    a.send("REDACT #new %s :second" % m1)
    redacted(a, "alice", "#new", m1, "second")
    settle(obs)
    lines = ch(obs, "LATEST #new * 10")
    assert [ln.split(" ", 1)[1] for ln in lines] == [
        ":%s PRIVMSG #new :m2" % prefix("alice")], lines
    assert "msgid=" + m2 in lines[0]
    s.kill()
    assert rows(db, "#new") == [(m2, "#new :m2")]
    assert rows(db, "#old") == []


def test_attack_rename_statusmsg_and_old_targets(f):
    """After a rename the old name is gone for every kind of target:
    STATUSMSG, TAGMSG, TOPIC, KICK, MODE; the
    operators-only line sent just before it reaches the operators
    under the old name, not the others."""
    s = Server(f)
    a = cap_user(s, "alice", CAP, "message-tags")
    b = cap_user(s, "bob", CAP, "message-tags")
    join(a, b, room="#old")
    a.send_raw(b"PRIVMSG @#old :ops only\r\nRENAME #old #new\r\n")
    a.expect(":%s RENAME #old #new :" % prefix("alice"))
    b.expect_exact_sequence([":%s RENAME #old #new :" % prefix("alice")])
    for cmd in ("PRIVMSG @#old :x", "@+typing=active TAGMSG @#old",
                "TOPIC #old :x", "KICK #old bob", "MODE #old +m"):
        a.send(cmd)
        a.expect(rx(r":irc\.test (403|401) alice [@+]?#old :No such "
                    r"(channel|nick/channel)"))
    b.no_line(ANY, sync=True, wait=0.2)
    a.send("PRIVMSG @#new :ops now")
    b.no_line(ANY, sync=True, wait=0.2)


def test_attack_rename_kill_after_fallback(f):
    """The crash rule seen from a client without the cap: a line said
    just before the RENAME, then the fallback PART/JOIN and its replay
    seen, then SIGKILL: the line is under #new in the file, once."""
    from test_history import seen, v3
    db = f.path("h.db")
    s = Server(f, "--db", db)
    a = cap_user(s, "alice", CAP)
    obs = v3(s, "obs", "message-tags", "server-time")
    join(a, obs, room="#old")
    settle(a, obs)
    a.send_raw(b"PRIVMSG #old :last words\r\nRENAME #old #new :bye\r\n")
    m = seen(obs, ":%s PRIVMSG #old :last words" % prefix("alice"))
    obs.expect(rx(r"(@\S+ )?:%s PART #old :bye", prefix("obs")))
    obs.expect(rx(r"(@\S+ )?:irc\.test 366 obs #new :.*"))
    obs.expect(rx(r".*:irc\.test NOTICE #new :--- End of history \(1 line\)"
                  r" ---"))
    s.kill()
    assert rows(db, "#new") == [(m.msgid, "#new :last words")]
    assert rows(db, "#old") == []


def test_attack_rename_racing_part_kick_join(f):
    """PART, KICK and JOIN of the old and new names sent at the same time
    as the RENAME, from other connections: whatever the order, nobody
    ends up in two rooms or none, and nobody outside gets the fallback."""
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = s.user("bob")
    c = s.user("carol")
    d = s.user("dave")
    e = s.user("eve")
    join(a, b, c, room="#old")
    a.send("MODE #old +o carol")
    settle(a, b, c)
    raw = {a: b"RENAME #old #new\r\n", b: b"PART #old :leaving\r\n",
           c: b"KICK #old bob :out\r\n", d: b"JOIN #old\r\n",
           e: b"JOIN #new\r\n"}
    for cl, data in raw.items():
        cl.send_raw(data)
    for cl in raw:
        cl.sync()
        cl.drain(0.3)
    # One room holds alice and carol, under #new; bob is in it exactly
    # when his PART and carol's KICK came after the rename (403 then)
    # and he saw the fallback, never otherwise.
    # (Unless eve's JOIN made #new first: then the rename failed.)
    lost = any("CHANNEL_NAME_IN_USE" in ln for ln in a.history)
    room = "#old" if lost else "#new"
    a.send("NAMES " + room)
    got = a.expect(rx(r":irc\.test 353 alice [=@*] %s :.*", room))
    names = {n.lstrip("@+") for n in got.split(":", 2)[2].split()}
    assert {"alice", "carol"} <= names, got
    bob_joined = any(ln.startswith(":bob!") and " JOIN #new" in ln
                     for ln in b.history)
    assert lost or ("bob" in names) == bob_joined, (got, b.history)
    # dave's JOIN #old either came first (he was renamed with the room)
    # or made a new #old: he is in exactly one of them.
    d.send("WHOIS dave")
    w = d.expect(rx(r":irc\.test 319 dave dave :.*"))
    rooms = w.split(":", 2)[2].split()
    assert len(rooms) == 1 and rooms[0].lstrip("@") in ("#old", "#new"), w
    # eve, who joined #new by herself, never gets a fallback PART.
    assert not any(" PART " in ln for ln in e.history), e.history


def test_attack_rename_store_outage_still_moves_history(f):
    """A RENAME while the store cannot write for longer than a message
    waits: the rename goes out anyway (it has happened), so its move of
    the history must stay queued and reach the file once the store
    recovers, not be taken back: otherwise #new never shows the lines
    said before it, in the replay or after a restart."""
    from test_path import HOLD_S, STORE_HOLD, WriteLock
    db = f.path("h.db")
    s = Server(f, "--db", db, *STORE_HOLD)
    a = cap_user(s, "alice", CAP)
    a.join("#old")
    for i in range(3):
        a.send("PRIVMSG #old :m%d" % i)
    a.sync()
    lock = WriteLock(db)
    try:
        a.send("RENAME #old #new :outage")
        a.expect(":%s RENAME #old #new :outage" % prefix("alice"),
                 timeout=HOLD_S + 10)
    finally:
        lock.release()
    a.send("PRIVMSG #new :m3")
    a.sync()
    x = s.user("x")
    x.join("#new")
    x.expect_exact_sequence(plain_replay("#new", [
        ":%s PRIVMSG #new :m%d" % (prefix("alice"), i) for i in range(4)]),
        timeout=10)
    s.stop()
    assert [p for _, p in rows(db, "#new")] == ["#new :m%d" % i
                                                for i in range(4)]
    assert rows(db, "#old") == []


def test_attack_rename_chain_into_freed_name(f):
    """#b -> #c, then at once #a -> #b (the name just freed), with a
    JOIN replay of each in flight for a slow reader: each room's lines
    stay its own, in the replays, in CHATHISTORY and in the file."""
    db = f.path("h.db")
    n, pad = 200, "y" * 400
    s = Server(f, *FULL_SPEED, "--db", db, "--history-lines", str(n))
    a = cap_user(s, "alice", CAP)
    b = cap_user(s, "bob", CAP)
    a.join("#a")
    b.join("#b")
    for c, room in ((a, "#a"), (b, "#b")):
        c.send_raw("".join("PRIVMSG %s :%s%d %s\r\n" % (room, room[1], i, pad)
                           for i in range(n)).encode())
    a.sync(timeout=30)
    b.sync(timeout=30)
    slow = s.client("slow", rcvbuf=4096, reader=False)
    slow.register("slow")
    slow.send("JOIN #b,#a")
    replay_started(slow)
    b.send("RENAME #b #c")
    b.expect(":%s RENAME #b #c :" % prefix("bob"))
    a.send("RENAME #a #b")
    a.expect(":%s RENAME #a #b :" % prefix("alice"), timeout=10)
    slow.expect_joined("#b")
    slow.expect_exact_sequence(plain_replay("#b", [
        ":%s PRIVMSG #b :b%d %s" % (prefix("bob"), i, pad)
        for i in range(n)]), timeout=30)
    slow.expect_joined("#a")
    slow.expect_exact_sequence(plain_replay("#a", [
        ":%s PRIVMSG #a :a%d %s" % (prefix("alice"), i, pad)
        for i in range(n)]), timeout=30)
    s.stop()
    assert [p for _, p in rows(db, "#c")] == ["#c :b%d %s" % (i, pad)
                                              for i in range(n)]
    assert [p for _, p in rows(db, "#b")] == ["#b :a%d %s" % (i, pad)
                                              for i in range(n)]
    assert rows(db, "#a") == []
