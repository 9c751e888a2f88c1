"""Issue 13, section 2: draft/channel-rename.

The IRCv3 channel-rename specification (extensions/channel-rename.md):
`RENAME <old> <new> [:<reason>]`; a client with the cap sees
`:nick!user@host RENAME <old> <new> :<reason>` (the reason always
present, empty if none given); one without it sees PART of the old name
(with the reason as its message) then JOIN of the new one and the
numerics a JOIN gives (332, 333, 353, 366), not for a change of case
only; FAIL RENAME CHANNEL_NAME_IN_USE / CANNOT_RENAME, and the usual
numerics (403, 442, 461, 476, 482) where they fit.  natterd also moves
the room's history with it (CHATHISTORY, the JOIN replay, the file
across a crash) and lets a room be renamed once per 30 seconds.
"""

import fcntl
import re
import sqlite3
import termios
import time

from harness import FULL_SPEED, Server, join, numeric, prefix, rx, scaled
from test_caps import cap_user
from test_history import TAGS3, ch, plain_replay, say, seen, settle, v3
from test_read_marker import T1, login, make_account, oper
from test_read_marker import server as marker_server
from weechat import Weechat

ANY = re.compile(".*")
CAP = "draft/channel-rename"


def renamed(msgs, old, new):
    """The lines of msgs as they read once old is called new."""
    for m in msgs:
        m.line = m.line.replace(" %s :" % old, " %s :" % new, 1)
    return msgs


def rows(db, key):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute("SELECT msgid, params FROM message WHERE key = ? "
                           "ORDER BY seq", (key,)).fetchall()
    finally:
        con.close()


def test_rename_cap_client_sees_rename(f):
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = cap_user(s, "bob", CAP)
    join(a, b, room="#boaring")
    a.send("RENAME #boaring #boring :Typo fix")
    for c in (a, b):
        c.expect_exact_sequence([":%s RENAME #boaring #boring :Typo fix"
                                 % prefix("alice")])
    # Without a reason: the trailing parameter is there, empty.
    join(a, b, room="#coding")
    a.send("RENAME #coding #programming")
    for c in (a, b):
        c.expect_exact_sequence([":%s RENAME #coding #programming :"
                                 % prefix("alice")])
        c.no_line(ANY, sync=True, wait=0)
    # The room lives on under its new name, its members in it.
    b.send("PRIVMSG #boring :hi")
    a.expect(":%s PRIVMSG #boring :hi" % prefix("bob"))
    b.send("PRIVMSG #boaring :lost")
    b.expect(numeric("403", "bob", "#boaring :No such channel"))
    a.send("NAMES #programming")
    a.expect_exact_sequence([
        numeric("353", "alice", "= #programming :@alice bob"),
        numeric("366", "alice", "#programming :End of /NAMES list")])


def test_rename_fallback_without_cap(f):
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = s.user("bob")
    join(a, b, room="#foo")
    a.send("TOPIC #foo :Topic of the renamed channel")
    for c in (a, b):
        c.expect(":%s TOPIC #foo :Topic of the renamed channel"
                 % prefix("alice"))
    a.send("RENAME #foo #bar :Changing the channel name")
    a.expect_exact_sequence([":%s RENAME #foo #bar :Changing the channel "
                             "name" % prefix("alice")])
    b.expect_exact_sequence([
        ":%s PART #foo :Changing the channel name" % prefix("bob"),
        ":%s JOIN #bar" % prefix("bob"),
        numeric("332", "bob", "#bar :Topic of the renamed channel"),
        rx(r":irc\.test 333 bob #bar %s \d+", prefix("alice")),
        numeric("353", "bob", "= #bar :@alice bob"),
        numeric("366", "bob", "#bar :End of /NAMES list")])
    b.no_line(ANY, sync=True, wait=0)
    # bob keeps talking, in #bar.
    b.send("PRIVMSG #bar :still here")
    a.expect(":%s PRIVMSG #bar :still here" % prefix("bob"))


def test_rename_fallback_actor_without_cap(f):
    """An actor without the cap gets the fallback too; no reason: the
    PART says why; extended-join and multi-prefix shape its lines."""
    s = Server(f)
    a = s.user("alice")
    b = cap_user(s, "bob", "extended-join", "multi-prefix")
    c = cap_user(s, "carol", CAP)
    for x in (a, b, c):
        x.send("JOIN #old")
        x.read_until(rx(r":irc\.test 366 %s #old :.*", x.nick))
    settle(a, b, c)
    a.send("MODE #old +v bob")
    for x in (a, b, c):
        x.expect(":%s MODE #old +v bob" % prefix("alice"))
    a.send("RENAME #old #new")
    a.expect_exact_sequence([
        ":%s PART #old :Channel renamed" % prefix("alice"),
        ":%s JOIN #new" % prefix("alice"),
        numeric("353", "alice", "= #new :@alice +bob carol"),
        numeric("366", "alice", "#new :End of /NAMES list")])
    b.expect_exact_sequence([
        ":%s PART #old :Channel renamed" % prefix("bob"),
        ":%s JOIN #new * :bob" % prefix("bob"),
        numeric("353", "bob", "= #new :@alice +bob carol"),
        numeric("366", "bob", "#new :End of /NAMES list")])
    c.expect_exact_sequence([":%s RENAME #old #new :" % prefix("alice")])
    for x in (a, b, c):
        x.no_line(ANY, sync=True, wait=0)


def test_rename_case_only(f):
    """A change of case only: RENAME to cap clients, nothing to others
    (the spec: no fallback then); the room's name shows the new case."""
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = s.user("bob")
    join(a, b, room="#chan")
    a.send("RENAME #chan #Chan :case")
    a.expect_exact_sequence([":%s RENAME #chan #Chan :case"
                             % prefix("alice")])
    b.no_line(ANY, sync=True, wait=0)
    b.send("PRIVMSG #chan :hello")
    a.expect(":%s PRIVMSG #Chan :hello" % prefix("bob"))


def test_rename_errors(f):
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = cap_user(s, "bob", CAP)
    d = s.user("dave")
    join(a, b, room="#evil")
    join(a, room="#good")
    d.join("#elsewhere")
    # The new name is taken, whatever its case.
    for new in ("#good", "#GOOD"):
        a.send("RENAME #evil %s :Don't be evil" % new)
        a.expect_exact_sequence([":irc.test FAIL RENAME CHANNEL_NAME_IN_USE "
                                 "#evil %s :The channel name is already "
                                 "taken" % new])
    a.send("RENAME #evil #evil")
    a.expect_exact_sequence([":irc.test FAIL RENAME CANNOT_RENAME #evil "
                             "#evil :The channel already has that name"])
    b.send("RENAME #evil #nice")
    b.expect_exact_sequence([numeric(
        "482", "bob", "#evil :You're not channel operator")])
    d.send("RENAME #evil #nice")
    d.expect_exact_sequence([numeric(
        "442", "dave", "#evil :You're not on that channel")])
    d.send("RENAME #nowhere #nice")
    d.expect_exact_sequence([numeric("403", "dave",
                                     "#nowhere :No such channel")])
    a.send("RENAME #evil")
    a.expect_exact_sequence([numeric("461", "alice",
                                     "RENAME :Not enough parameters")])
    for bad in ("nice", "#a,b"):
        a.send("RENAME #evil %s" % bad)
        a.expect_exact_sequence([numeric("476", "alice",
                                         "%s :Bad Channel Mask" % bad)])
    # A +s room does not exist to an outsider.
    a.send("MODE #good +s")
    a.expect(":%s MODE #good +s" % prefix("alice"))
    d.send("RENAME #good #nice")
    d.expect_exact_sequence([numeric("403", "dave",
                                     "#good :No such channel")])
    # Nothing happened to anyone.
    for c in (a, b, d):
        c.no_line(rx(r".* (RENAME|PART|JOIN) .*"), sync=True, wait=0)


def test_rename_keeps_modes_topic_bans_invites(f):
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = s.user("bob")
    d = s.user("dave")
    e = s.user("eve", user="evil")
    join(a, b, room="#old")
    for change, shown in (("+imtl 10", "+iml 10"), ("+k sesame", "+k sesame"),
                          ("+b *!evil@*", "+b *!evil@*"), ("+o bob", "+o bob")):
        a.send("MODE #old %s" % change)
        a.expect(":%s MODE #old %s" % (prefix("alice"), shown))
    a.send("TOPIC #old :kept")
    a.expect(":%s TOPIC #old :kept" % prefix("alice"))
    a.send("INVITE dave #old")
    a.expect(numeric("341", "alice", "dave #old"))
    d.expect(":%s INVITE dave #old" % prefix("alice"))
    settle(a, b)
    a.send("RENAME #old #new :moving")
    a.expect_exact_sequence([":%s RENAME #old #new :moving"
                             % prefix("alice")])
    a.send("MODE #new")
    a.expect_exact_sequence([numeric("324", "alice", "#new +iklmnt sesame 10"),
                             rx(r":irc\.test 329 alice #new \d+")])
    a.send("MODE #new +b")
    a.expect_exact_sequence([
        rx(r":irc\.test 367 alice #new \*!evil@\* %s \d+", prefix("alice")),
        numeric("368", "alice", "#new :End of channel ban list")])
    a.send("TOPIC #new")
    a.expect_exact_sequence([numeric("332", "alice", "#new :kept"),
                             rx(r":irc\.test 333 alice #new %s \d+",
                                prefix("alice"))])
    # bob is still an operator of it; dave's invite still lets him in
    # (past +i, +k and +l); the ban still holds.
    b.send("RENAME #new #newer")
    b.expect(":irc.test FAIL RENAME CANNOT_RENAME #new #newer :This channel "
             "has been renamed recently")
    d.send("JOIN #new")
    d.expect_joined("#new")
    e.send("JOIN #new sesame")
    e.expect(numeric("474", "eve", "#new :Cannot join channel (+b)"))


def test_rename_history_follows(f):
    db = f.path("h.db")
    s = Server(f, "--db", db)
    a = cap_user(s, "alice", CAP)
    obs = v3(s, "obs", *TAGS3, CAP)
    p = s.user("plain")
    join(a, obs, p, room="#old")
    settle(obs, a, p)
    msgs = say(a, "#old", ["m0", "m1", "m2"], obs)
    p.expect(msgs[-1].line)
    a.send("RENAME #old #new :moving")
    obs.expect(":%s RENAME #old #new :moving" % prefix("alice"))
    renamed(msgs, "#old", "#new")
    # Without the cap: the fallback, with the replay a JOIN gives.
    p.expect_exact_sequence([
        ":%s PART #old :moving" % prefix("plain"),
        ":%s JOIN #new" % prefix("plain"),
        numeric("353", "plain", "= #new :@alice obs plain"),
        numeric("366", "plain", "#new :End of /NAMES list")] +
        plain_replay("#new", [m.line for m in msgs]))
    assert ch(obs, "LATEST #new * 10") == [m.tagged(*TAGS3) for m in msgs]
    # The JOIN replay of #new has them; #old is a new room, empty.
    d = s.user("dave")
    d.join("#new")
    d.expect_exact_sequence(plain_replay("#new", [m.line for m in msgs]))
    e = s.user("eve")
    e.join("#old")
    e.no_line(rx(r".*(PRIVMSG|NOTICE).*"), sync=True)
    obs.send("JOIN #old")
    obs.read_until(rx(r":irc\.test 366 obs #old :.*"))
    assert ch(obs, "LATEST #old * 10") == []
    # A line said in #new after it joins its history.
    later = say(a, "#new", ["m3"], obs)
    assert ch(obs, "LATEST #new * 10") == [m.tagged(*TAGS3)
                                           for m in msgs + later]
    s.stop()
    assert [m for m, _ in rows(db, "#new")] == [m.msgid for m in msgs + later]
    assert [p for _, p in rows(db, "#new")] == ["#new :m%d" % i
                                                 for i in range(4)]
    assert rows(db, "#old") == []
    # After a restart the file still has them under #new.
    s2 = Server(f, "--db", db)
    s2.user("zed").join("#new")
    s2.stop()
    assert [m for m, _ in rows(db, "#new")] == [m.msgid for m in msgs + later]


def test_rename_history_survives_kill(f):
    """The crash rule: a line seen just before the RENAME, and the RENAME
    seen, are under the new name in the file after a SIGKILL."""
    db = f.path("h.db")
    s = Server(f, "--db", db)
    a = cap_user(s, "alice", CAP)
    obs = v3(s, "obs", *TAGS3, CAP)
    join(a, obs, room="#old")
    settle(obs, a)
    # Sent back to back: the message goes before the rename in order.
    a.send_raw(b"PRIVMSG #old :just before\r\nRENAME #old #new :now\r\n")
    m = seen(obs, ":%s PRIVMSG #old :just before" % prefix("alice"))
    obs.expect(":%s RENAME #old #new :now" % prefix("alice"))
    s.kill()
    assert rows(db, "#new") == [(m.msgid, "#new :just before")]
    assert rows(db, "#old") == []


def test_rename_rate_bounded(f):
    """A room can be renamed once per 30 seconds: each rename rewrites its
    history rows (and bursts NAMES at every member without the cap), so
    one operator cannot make the server do that in a loop."""
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = s.user("bob")
    join(a, b, room="#r0")
    a.send("RENAME #r0 #r1")
    a.expect(":%s RENAME #r0 #r1 :" % prefix("alice"))
    b.expect(":%s JOIN #r1" % prefix("bob"))
    b.read_until(rx(r":irc\.test 366 bob #r1 :.*"))
    for i in range(5):
        a.send("RENAME #r1 #r%d :again" % (i + 2))
        a.expect_exact_sequence([":irc.test FAIL RENAME CANNOT_RENAME #r1 "
                                 "#r%d :This channel has been renamed "
                                 "recently" % (i + 2)])
    b.no_line(ANY, sync=True, wait=0)


def test_rename_then_join_old_name(f):
    """JOIN of the old name after a rename makes a new room, its joiner its
    operator, with none of the renamed room's members or history."""
    s = Server(f)
    a = cap_user(s, "alice", CAP)
    b = s.user("bob")
    a.join("#old")
    a.send("PRIVMSG #old :secret")
    a.send("RENAME #old #new")
    a.expect(":%s RENAME #old #new :" % prefix("alice"))
    lines = b.join("#old")
    assert lines == [":%s JOIN #old" % prefix("bob"),
                     numeric("353", "bob", "= #old :@bob"),
                     numeric("366", "bob", "#old :End of /NAMES list")], lines
    b.no_line(ANY, sync=True, wait=0)
    a.no_line(ANY, sync=True, wait=0)


def test_rename_weechat_follows_fallback(f):
    """WeeChat (3.8 does not know draft/channel-rename) sees the fallback:
    it ends up in a #renamed buffer and keeps talking there."""
    s = Server(f)
    sock = cap_user(s, "sock", CAP)
    sock.join("#test")
    wee = Weechat(f, s.port)
    sock.expect(rx(r":wee!wee@127\.0\.0\.1 JOIN :?#test"), timeout=20)
    wee.fifo()
    sock.send("RENAME #test #renamed :new name")
    sock.expect(":%s RENAME #test #renamed :new name" % prefix("sock"))
    # weechat logs the PART and JOIN, and sock's line in #renamed.
    sock.send("PRIVMSG #renamed :hello wee")
    wee.wait_log("irc.t.#renamed", lambda text: [
        l for l in text.splitlines() if l.endswith("\thello wee")],
        "'hello wee' not")
    assert any(l.endswith("has left #test (new name)")
               for l in wee.log("irc.t.#test").splitlines()), \
        wee.tail("irc.t.#test")
    # Text to its buffer irc.t.#renamed goes out to #renamed.
    wee.say("hello from the new name", "irc.t.#renamed")
    sock.expect(":wee!wee@127.0.0.1 PRIVMSG #renamed :hello from the new "
                "name", timeout=10)
    wee.check_alive()


def replay_started(slow, nbytes=2048):
    """Waits until a replay to slow, a client that does not read, has
    begun: nbytes of it wait in its socket."""
    deadline = time.monotonic() + scaled(10)
    buf = bytearray(4)
    while True:
        fcntl.ioctl(slow.sock, termios.FIONREAD, buf)
        if int.from_bytes(buf, "little") >= nbytes:
            return
        assert time.monotonic() < deadline, "no replay arrived"
        time.sleep(0.01)


def test_rename_replay_in_flight_follows(f):
    """A JOIN replay under way when the room is renamed (its reader slow)
    still gives every line, under the name it joined, before the
    rename reaches it."""
    n, pad = 450, "x" * 430
    s = Server(f, *FULL_SPEED, "--history-lines", str(n))
    a = cap_user(s, "alice", CAP)
    a.join("#old")
    a.send_raw("".join("PRIVMSG #old :%d %s\r\n" % (i, pad)
                       for i in range(n)).encode())
    a.sync(timeout=30)
    slow = s.client("slow", rcvbuf=4096, reader=False)
    slow.register("slow")
    slow.send("JOIN #old")
    # The replay has started and is held back by the unread socket.
    replay_started(slow)
    a.send("RENAME #old #new :moving")
    a.expect(":%s RENAME #old #new :moving" % prefix("alice"))
    a.send("PRIVMSG #new :after")
    a.sync()
    slow.expect_joined("#old")
    slow.expect_exact_sequence(plain_replay("#old", [
        ":%s PRIVMSG #old :%d %s" % (prefix("alice"), i, pad)
        for i in range(n)]), timeout=30)
    slow.expect_exact_sequence([
        ":%s PART #old :moving" % prefix("slow"),
        ":%s JOIN #new" % prefix("slow"),
        numeric("353", "slow", "= #new :@alice slow"),
        numeric("366", "slow", "#new :End of /NAMES list")])
    # The fallback's replay, as a JOIN of #new gives it, then live lines.
    slow.expect_exact_sequence(plain_replay("#new", [
        ":%s PRIVMSG #new :%d %s" % (prefix("alice"), i, pad)
        for i in range(n)]) + [":%s PRIVMSG #new :after" % prefix("alice")],
        timeout=30)


def test_rename_keeps_read_markers(f):
    """An account's read marker of the room goes with it, in memory and
    in the database (after a restart)."""
    db = f.path("h.db")
    s = marker_server(f, "--db", db)
    make_account(s, "acct", "pw-acct-1")
    a = login(s, "alice", "acct", "pw-acct-1",
              caps=("draft/read-marker", CAP))
    a.join("#old")
    a.send("MARKREAD #old timestamp=%s" % T1)
    a.expect(":irc.test MARKREAD #old timestamp=%s" % T1)
    a.send("RENAME #old #new")
    a.expect(":%s RENAME #old #new :" % prefix("alice"))
    a.send("MARKREAD #new")
    a.expect_exact_sequence([":irc.test MARKREAD #new timestamp=%s" % T1])
    a.send("MARKREAD #old")
    a.expect_exact_sequence([":irc.test MARKREAD #old *"])
    s.stop()
    s2 = marker_server(f, "--db", db)
    b = login(s2, "alice", "acct", "pw-acct-1",
              caps=("draft/read-marker",))
    b.send("MARKREAD #new")
    b.expect(":irc.test MARKREAD #new timestamp=%s" % T1)
    b.send("MARKREAD #old")
    b.expect_exact_sequence([":irc.test MARKREAD #old *"])


def test_rename_by_server_operator(f):
    """A server operator may rename a room it is not in (as Ergo lets an
    operator with chanreg): the members see it, the operator gets the
    RENAME line as the answer."""
    s = marker_server(f)
    a = s.user("alice")
    a.join("#old")
    o = oper(s)
    o.send("RENAME #old #new :by the staff")
    o.expect_exact_sequence([":%s RENAME #old #new :by the staff"
                             % prefix(o.nick)])
    a.expect_exact_sequence([
        ":%s PART #old :by the staff" % prefix("alice"),
        ":%s JOIN #new" % prefix("alice"),
        numeric("353", "alice", "= #new :@alice"),
        numeric("366", "alice", "#new :End of /NAMES list")])


def test_rename_history_bound(f):
    """--rename-max: a room whose history holds more messages than that
    is not renamed (each would be rewritten, in the writer every message
    waits for); one at the bound is; with --history-max no larger, the
    store never holds more, and any room may be renamed."""
    s = Server(f, *FULL_SPEED, "--rename-max", "3")
    a = cap_user(s, "alice", CAP)
    for room, n in (("#small", 3), ("#big", 4)):
        a.join(room)
        for i in range(n):
            a.send("PRIVMSG %s :line %d" % (room, i))
    a.sync()
    a.send("RENAME #big #bigger")
    a.expect_exact_sequence([":irc.test FAIL RENAME CANNOT_RENAME #big "
                             "#bigger :This channel has too much history "
                             "to move"])
    a.send("RENAME #small #smaller")
    a.expect_exact_sequence([":%s RENAME #small #smaller :"
                             % prefix("alice")])
    s.stop()
    s2 = Server(f, *FULL_SPEED, "--rename-max", "3", "--history-max", "3",
                "--db", f.path("b.db"))
    b = cap_user(s2, "bob", CAP)
    b.join("#big")
    for i in range(10):
        b.send("PRIVMSG #big :line %d" % i)
    b.send("RENAME #big #bigger")
    b.expect_exact_sequence([":%s RENAME #big #bigger :" % prefix("bob")])


def test_rename_max_flag_bad_value(f):
    for bad in ("abc", "-1", "1000000001"):
        cp = f.run("--rename-max", bad)
        assert cp.returncode == 2, (bad, cp.returncode)
        assert "usage" in cp.stderr.lower(), cp.stderr
    cp = f.run("--help")
    assert "--rename-max N" in cp.stdout and "(default 50000)" in cp.stdout


def test_rename_under_traffic_keeps_every_line(f):
    """Senders blast #old while it is renamed and the server is then
    SIGKILLed: every line the observer saw before the RENAME is in the
    file under #new, in order, and nothing is left under #old."""
    db = f.path("h.db")
    s = Server(f, *FULL_SPEED, "--db", db)
    a = cap_user(s, "alice", CAP)
    obs = v3(s, "obs", "message-tags", CAP)
    senders = [s.user("s%d" % i) for i in range(3)]
    join(a, obs, *senders, room="#old")
    settle(a, obs, *senders)
    for c in senders:
        c.send_raw("".join("PRIVMSG #old :%s-%d\r\n" % (c.nick, k)
                           for k in range(200)).encode())
    obs.expect(rx(r"@msgid=\S+ :s\d!\S+ PRIVMSG #old :s\d-\d+"))
    a.send("RENAME #old #new :busy")
    obs.expect(":%s RENAME #old #new :busy" % prefix("alice"), timeout=20)
    for c in senders:
        c.sync(timeout=30)
    s.kill()
    seen_ids = []
    for line in obs.history:
        if " RENAME " in line:
            break
        m = re.match(r"@msgid=(\S+) :s\d!\S+ PRIVMSG #old :s\d-\d+$", line)
        if m:
            seen_ids.append(m.group(1))
    kept = rows(db, "#new")
    # Every line before the RENAME reached obs before it; after it, #old
    # is gone (the senders' lines get 403).
    assert [m for m, _ in kept] == seen_ids, (len(seen_ids), len(kept))
    assert seen_ids
    assert all(p.startswith("#new :") for _, p in kept), kept[:3]
    assert rows(db, "#old") == []
