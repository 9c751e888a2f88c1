"""Attack tests for the deliverer (commit 06a8a71): with a history file,
a message from a client without echo-message or a label is left to a
thread of its own, which delivers it after its commit or takes it back
--store-hold seconds after its command ended, with a FAIL to its
sender; the sender goes back to reading at once.  The store outages are
another process's write transaction on the file (test_path.WriteLock),
held until the sender has been told everything, so no assertion here
depends on how long anything took; natterd runs with a short hold
(test_path.STORE_HOLD) so that the FAILs come sooner."""

import re
import socket
import sqlite3
import struct
import threading
import time

from harness import (FULL_SPEED, NO_THROTTLE, Client, Server, join, prefix,
                     scaled, slow, timeout)
from test_caps import cap_user
from test_devices import OPER, device, make_account
from test_multiline import send_batch
from test_path import HOLD_S, STORE_HOLD, WriteLock

MSG = ":Message not sent: the history store cannot keep it now"


def fail(cmd, target):
    return ":irc.test FAIL %s TEMPORARILY_UNAVAILABLE %s %s" % (
        cmd, target, MSG)


def stored(db, key=None):
    """The params of every message row (of key), in seq order."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        if key is None:
            return [r[0] for r in con.execute(
                "SELECT params FROM message ORDER BY seq")]
        return [r[0] for r in con.execute(
            "SELECT params FROM message WHERE key = ? ORDER BY seq",
            (key,))]
    finally:
        con.close()


def oper(c):
    c.send("OPER admin secret")
    c.expect(re.compile(r":irc\.test 381 .*"))


# --- what the sender is told, and in which order ---

@slow
@timeout(90)
def test_left_fails_come_before_later_replies_labels_and_caps(f):
    # Left messages of every kind, with replies, labels and echo-message
    # toggled between them: each FAIL where its message stands, every
    # reply after the FAILs of what was sent before it.
    db = f.path("h.db")
    s = Server(f, "--db", db, *FULL_SPEED, *STORE_HOLD)
    alice = cap_user(s, "alice", "labeled-response", "batch",
                     "message-tags")
    bob = s.user("bob")
    join(alice, bob, room="#s")
    alice.sync()
    lock = WriteLock(db)
    try:
        for line in ("PRIVMSG #s :lost 0", "NOTICE #s :lost 1",
                     "@label=a PING :x", "PRIVMSG #s :lost 2",
                     "CAP REQ :echo-message", "PRIVMSG #s :lost 3",
                     "CAP REQ :-echo-message", "PRIVMSG #s,bob :lost 4",
                     "@label=b PRIVMSG #s :lost 5", "PRIVMSG #s :lost 6",
                     "@label=c TAGMSG #s", "@+typing=active TAGMSG #s",
                     "PRIVMSG #s :lost 7",
                     "@label=d CHATHISTORY LATEST #s * 5", "PING :end"):
            alice.send(line)
        alice.expect_exact_sequence([
            fail("PRIVMSG", "#s"),
            fail("NOTICE", "#s"),
            "@label=a :irc.test PONG irc.test :x",
            fail("PRIVMSG", "#s"),
            ":irc.test CAP alice ACK :echo-message",
            fail("PRIVMSG", "#s"),
            ":irc.test CAP alice ACK :-echo-message",
            fail("PRIVMSG", "#s"),
            fail("PRIVMSG", "bob"),
            "@label=b " + fail("PRIVMSG", "#s"),
            fail("PRIVMSG", "#s"),
            "@label=c :irc.test ACK",
            fail("PRIVMSG", "#s"),
            re.compile(r"@label=d :irc\.test BATCH \+(\S+) "
                       r"labeled-response"),
            re.compile(r"@batch=\S+ :irc\.test BATCH \+\S+ chathistory "
                       r"#s"),
            re.compile(r"@batch=\S+ :irc\.test BATCH -\S+"),
            re.compile(r":irc\.test BATCH -\S+"),
            ":irc.test PONG irc.test :end"], timeout=60)
    finally:
        lock.release()
    bob.no_line(re.compile(r".*lost.*"), sync=True)
    s.stop()
    assert stored(db) == [], stored(db)


@slow
@timeout(90)
def test_left_posts_then_nick_part_quit_fail_before_what_follows(f):
    # The connection changes nick, parts and quits while its messages
    # wait for the store: each FAIL comes before the NICK, PART and
    # ERROR that follow, and the others see only those.
    db = f.path("h.db")
    s = Server(f, "--db", db, *FULL_SPEED, *STORE_HOLD)
    alice, bob = s.user("alice"), s.user("bob")
    join(alice, bob, room="#s")
    alice.join("#t")
    bob.join("#t")
    alice.expect(":%s JOIN #t" % prefix("bob"))
    lock = WriteLock(db)
    try:
        alice.send("PRIVMSG #s :lost 0")
        alice.send("PRIVMSG #t :lost 1")
        alice.send("NICK alice2")
        alice.send("PRIVMSG #s :lost 2")
        alice.send("PART #t")
        alice.send("PRIVMSG #s :lost 3")
        alice.send("QUIT :bye")
        alice.expect_exact_sequence([
            fail("PRIVMSG", "#s"),
            fail("PRIVMSG", "#t"),
            ":alice!alice@127.0.0.1 NICK alice2",
            fail("PRIVMSG", "#s"),
            ":alice2!alice@127.0.0.1 PART #t",
            fail("PRIVMSG", "#s"),
            "ERROR :Closing Link: 127.0.0.1 (Quit: bye)"], timeout=60)
        alice.expect_closed()
        bob.expect_exact_sequence([
            ":alice!alice@127.0.0.1 NICK alice2",
            ":alice2!alice@127.0.0.1 PART #t",
            ":alice2!alice@127.0.0.1 QUIT :Quit: bye"], timeout=30)
    finally:
        lock.release()
    bob.send("PRIVMSG #s :after")
    bob.no_line(re.compile(r".*lost.*"), sync=True)
    s.stop()
    assert stored(db) == ["#s :after"], stored(db)


@slow
@timeout(90)
def test_kill_and_kick_while_left_posts_wait(f):
    # An operator kills the sender, and kicks another, while their
    # messages wait: each is told its FAILs before its ERROR or KICK,
    # and the FAILed lines never reach anyone nor the file.
    db = f.path("h.db")
    # A hold of 2 s: the KILL and KICK come well inside it.
    s = Server(f, "--db", db, *OPER, *FULL_SPEED, "--store-hold", "2")
    op, alice, bob = s.user("op"), s.user("alice"), s.user("bob")
    oper(op)
    join(op, alice, bob, room="#s")
    lock = WriteLock(db)
    try:
        for i in range(3):
            alice.send("PRIVMSG #s :alice lost %d" % i)
            bob.send("PRIVMSG #s :bob lost %d" % i)
        alice.send("PRIVMSG op :alice lost private")
        # Both left their lines (stored, waiting for the commit), as
        # test_path waits for it.
        time.sleep(scaled(0.3))
        op.send("KILL alice :enough")
        op.send("KICK #s bob :out")
        alice.expect_exact_sequence(
            [fail("PRIVMSG", "#s")] * 3 + [fail("PRIVMSG", "op"),
             "ERROR :Closing Link: 127.0.0.1 (Killed (op (enough)))"],
            timeout=60)
        bob.expect_exact_sequence([fail("PRIVMSG", "#s")] * 3, timeout=60)
        bob.expect(":op!op@127.0.0.1 KICK #s bob :out", timeout=30)
        # The KICK and the QUIT of the KILL are made by two threads.
        op.expect_unordered([
            ":alice!alice@127.0.0.1 QUIT :Killed (op (enough))",
            ":op!op@127.0.0.1 KICK #s bob :out"], timeout=30)
    finally:
        lock.release()
    op.no_line(re.compile(r".*lost.*"), sync=True)
    bob.no_line(re.compile(r".*lost.*"), sync=True)
    s.stop()
    assert stored(db) == [], stored(db)


@slow
@timeout(90)
def test_left_fail_goes_to_the_device_that_sent(f):
    # Two devices of one person: the FAIL of a left message goes to the
    # device that sent it, and the other sees nothing of it.
    db = f.path("h.db")
    s = Server(f, "--db", db, *OPER, *FULL_SPEED, *STORE_HOLD)
    make_account(s, "alice", "pw-alice-1")
    laptop = device(s, "alice", "alice", "pw-alice-1")
    phone = device(s, "phone", "alice", "pw-alice-1")
    bob = s.user("bob")
    laptop.join("#s")
    phone.expect(":%s JOIN #s" % prefix("alice"))
    bob.join("#s")
    laptop.expect(":%s JOIN #s" % prefix("bob"))
    phone.expect(":%s JOIN #s" % prefix("bob"))
    lock = WriteLock(db)
    try:
        laptop.send("PRIVMSG #s :lost")
        laptop.send("PRIVMSG bob :lost private")
        laptop.send("PING :end")
        laptop.expect_exact_sequence([
            fail("PRIVMSG", "#s"), fail("PRIVMSG", "bob"),
            ":irc.test PONG irc.test :end"], timeout=60)
    finally:
        lock.release()
    laptop.send("PRIVMSG #s :kept")
    bob.expect(":%s PRIVMSG #s :kept" % prefix("alice"))
    phone.expect_exact_sequence([":%s PRIVMSG #s :kept" % prefix("alice")])
    bob.no_line(re.compile(r".*lost.*"), sync=True)
    phone.no_line(re.compile(r".*(lost|FAIL).*"), sync=True)


@slow
@timeout(90)
def test_left_multiline_and_tagmsg_in_an_outage(f):
    # A multiline batch and a TAGMSG (not stored) from a sender without
    # echo: the batches FAIL, the TAGMSG goes out, after the store is
    # back a batch goes out whole.
    db = f.path("h.db")
    s = Server(f, "--db", db, *FULL_SPEED, *STORE_HOLD)
    alice = cap_user(s, "alice", "batch", "draft/multiline", "message-tags")
    bob = cap_user(s, "bob", "batch", "draft/multiline", "message-tags")
    carol = s.user("carol")
    join(alice, bob, carol, room="#s")
    alice.sync()
    bob.sync()
    lock = WriteLock(db)
    try:
        send_batch(alice, "m1", "#s", ["one", "two"])
        alice.send("@+typing=active TAGMSG #s")
        send_batch(alice, "m2", "bob", ["p1", "p2"])
        alice.send("PING :end")
        alice.expect_exact_sequence([
            fail("PRIVMSG", "#s"), fail("PRIVMSG", "bob"),
            ":irc.test PONG irc.test :end"], timeout=60)
        bob.expect(re.compile(r"@\S*\+typing=active\S* "
                              r":alice!alice@127\.0\.0\.1 TAGMSG #s"))
    finally:
        lock.release()
    send_batch(alice, "m3", "#s", ["five", "six"])
    carol.expect_exact_sequence([
        ":alice!alice@127.0.0.1 PRIVMSG #s :five",
        ":alice!alice@127.0.0.1 PRIVMSG #s :six"], timeout=10)
    for c in (bob, carol):
        c.no_line(re.compile(r".*(one|two|p1|p2)$"), sync=True)
    s.stop()
    rows = stored(db)
    assert len(rows) == 1 and "five" in rows[0] and "six" in rows[0], rows


@timeout(90)
def test_sender_reads_its_left_message_back_at_once(f):
    # The sender goes back to reading before its message is on disk;
    # its CHATHISTORY right after (same read or the next) still finds
    # it, after the commit its answer waits for.
    db = f.path("h.db")
    s = Server(f, "--db", db, *FULL_SPEED)
    alice = cap_user(s, "alice", "batch", "draft/chathistory",
                     "server-time", "message-tags")
    bob = s.user("bob")
    join(alice, bob, room="#s")
    alice.sync()
    for i in range(60):
        if i % 2:
            alice.send("PRIVMSG #s :m%d" % i)
            alice.send("CHATHISTORY LATEST #s * 1")
        else:
            alice.send_raw(("PRIVMSG #s :m%d\r\nCHATHISTORY LATEST #s * 1"
                            "\r\n" % i).encode())
        alice.expect_exact_sequence([
            re.compile(r":irc\.test BATCH \+(\S+) chathistory #s"),
            re.compile(r"@batch=\S+;time=\S+;msgid=\S+ "
                       r":alice!alice@127\.0\.0\.1 PRIVMSG #s :m%d" % i),
            re.compile(r":irc\.test BATCH -\S+")], timeout=10)
        bob.expect(":alice!alice@127.0.0.1 PRIVMSG #s :m%d" % i)


# --- nothing lost, nothing doubled, nothing FAILed delivered ---

def sender_loop(c, room, n):
    for i in range(n):
        c.send("PRIVMSG %s :%s %d" % (room, c.nick, i))
        time.sleep(0.04)


@slow
@timeout(150)
def test_outage_and_recovery_with_many_senders(f):
    # Six senders to three rooms, an outage in the middle longer than
    # the hold: each line either FAILs to its sender or reaches the
    # observer once, in its sender's order; the file holds exactly the
    # lines delivered.
    db = f.path("h.db")
    s = Server(f, "--db", db, *FULL_SPEED, *STORE_HOLD)
    obs = s.user("obs")
    senders = [s.user("s%d" % k) for k in range(6)]
    rooms = ["#r%d" % (k % 3) for k in range(6)]
    for c, r in zip(senders, rooms):
        c.join(r)
    for r in sorted(set(rooms)):
        obs.join(r)
    obs.sync()
    n = 100
    ths = [threading.Thread(target=sender_loop, args=(c, r, n))
           for c, r in zip(senders, rooms)]
    for t in ths:
        t.start()
    time.sleep(0.5)
    lock = WriteLock(db)
    time.sleep(HOLD_S + 1.5)
    lock.release()
    for t in ths:
        t.join()
    for c in senders:
        c.sync(timeout=60)
    got = {}
    obs.sync(timeout=60)
    for line in obs.history:
        m = re.fullmatch(r":(s\d)!\S+ PRIVMSG (#r\d) :(s\d) (\d+)", line)
        if m:
            assert m.group(1) == m.group(3), line
            got.setdefault(m.group(1), []).append(int(m.group(4)))
    s.stop()
    rows = {}
    for params in stored(db):
        m = re.fullmatch(r"#r\d :(s\d) (\d+)", params)
        rows.setdefault(m.group(1), []).append(int(m.group(2)))
    for c in senders:
        fails = [l for l in c.history if " FAIL " in l]
        assert all(l == fail("PRIVMSG", rooms[senders.index(c)])
                   for l in fails), fails[:3]
        g = got.get(c.nick, [])
        assert g == sorted(set(g)), (c.nick, g[:20])
        assert rows.get(c.nick, []) == g, (c.nick, len(g), len(rows))
        assert len(fails) + len(g) == n, (c.nick, len(fails), len(g))
    # The outage outlasted the hold: some lines FAILed, the rest went.
    nfail = sum(" FAIL " in l for c in senders for l in c.history)
    assert 0 < nfail < n * len(senders), nfail


@timeout(150)
def test_sigkill_mid_traffic_every_line_received_is_in_the_file(f):
    db = f.path("h.db")
    s = Server(f, "--db", db, *FULL_SPEED)
    obs = s.user("obs")
    senders = [s.user("s%d" % k) for k in range(8)]
    rooms = ["#r%d" % (k % 3) for k in range(8)]
    for c, r in zip(senders, rooms):
        c.join(r)
    for r in sorted(set(rooms)):
        obs.join(r)
    obs.sync()

    def blast(c, room):
        for i in range(0, 40000, 50):
            try:
                c.send_raw("".join("PRIVMSG %s :%s %d\r\n" % (room, c.nick, j)
                                   for j in range(i, i + 50)).encode())
            except OSError:
                return
            time.sleep(0.005)

    ths = [threading.Thread(target=blast, args=(c, r))
           for c, r in zip(senders, rooms)]
    for t in ths:
        t.start()
    obs.expect(re.compile(r":s\d!\S+ PRIVMSG #r\d :s\d 2000"), timeout=30)
    s.kill()
    for t in ths:
        t.join()
    obs.expect_closed(timeout=10)
    got = set()
    for line in obs.history:
        m = re.fullmatch(r":(s\d)!\S+ PRIVMSG #r\d :(s\d) (\d+)", line)
        if m:
            got.add((m.group(2), int(m.group(3))))
    rows = set()
    for params in stored(db):
        m = re.fullmatch(r"#r\d :(s\d) (\d+)", params)
        rows.add((m.group(1), int(m.group(2))))
    missing = sorted(got - rows)
    assert got and not missing, (len(got), len(rows), missing[:10])


# --- churn around the expiry (for the sanitizer builds) ---

@slow
@timeout(240)
def test_churn_while_left_posts_wait_and_expire(f):
    # Senders connect, join, leave a burst, and go (QUIT, close or
    # reset) while the file is locked for about the hold at a time, so
    # connections end while their posts wait, are taken back, or go
    # out.  The server stays up and stops cleanly.
    import random
    db = f.path("h.db")
    # No throttle: 30 connections a minute would stop the churn.
    s = Server(f, "--db", db, *OPER, *FULL_SPEED, *NO_THROTTLE,
               "--max-per-ip", "0", *STORE_HOLD)
    op = s.user("op")
    oper(op)
    op.join("#a")
    stop = threading.Event()

    def churn(k):
        rnd = random.Random(k)
        n = 0
        while not stop.is_set():
            n += 1
            nick = "c%d_%d" % (k, n)
            try:
                c = Client(s, name=nick)
                c.register(nick)
                c.send("JOIN #a,#b")
                lines = []
                for i in range(rnd.randint(1, 40)):
                    lines.append("PRIVMSG %s :%s %d" % (
                        rnd.choice(["#a", "#b", "#a,#b", "op"]), nick, i))
                    if rnd.random() < 0.05:
                        lines.append("NICK %s_%d" % (nick, i))
                    if rnd.random() < 0.05:
                        lines.append("PART #b")
                c.send_raw(("\r\n".join(lines) + "\r\n").encode())
                time.sleep(rnd.uniform(0, 1.2 * HOLD_S))
                how = rnd.random()
                if how < 0.3:
                    c.send("QUIT :bye")
                elif how < 0.5:
                    op.send("KILL %s :churn" % c.nick)
                elif how < 0.7:
                    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
                time.sleep(0.05)
                c.close()
            except (AssertionError, OSError):
                pass

    def locker():
        rnd = random.Random(99)
        while not stop.is_set():
            lock = WriteLock(db)
            time.sleep(rnd.uniform(0.9, 1.3) * HOLD_S)
            lock.release()
            time.sleep(rnd.uniform(0.02, 0.3) * HOLD_S)

    ths = [threading.Thread(target=churn, args=(k,)) for k in range(8)]
    ths.append(threading.Thread(target=locker))
    for t in ths:
        t.start()
    time.sleep(6)
    stop.set()
    for t in ths:
        t.join(60)
    op.sync(timeout=60)
    op.send("PRIVMSG #a :still here")
    op.sync(timeout=30)
    s.stop()
    assert s.returncode == 0, s.returncode
