"""The message path: recipients are fixed when a message takes its place
in the order of events, a joiner's replay and live lines meet exactly,
every byte queued for a client counts against its SendQ, a reader that
keeps reading is never dropped, the store never silently stops, private
and room history belong to the people in them, labels always come back
and INVITE lets in only whom an operator invited.

Slow commits are made by another process holding the SQLite write lock
on natterd's history file (natterd then waits for the store for up to
--store-hold seconds, 5 by default, before it gives up on a message;
the tests that wait it out start natterd with STORE_HOLD)."""

import re
import sqlite3
import threading
import time

from harness import (FULL_SPEED, NO_THROTTLE, SLOW, Server, join, numeric,
                     rx, scaled, slow, timeout)
from test_caps import cap_user

HOLD_S = 1          # natterd's --store-hold in the tests that wait it out
STORE_HOLD = ("--store-hold", str(HOLD_S))
CAPS3 = "batch message-tags server-time"
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
MSGID = r"[0-9a-z]{20}"


def v3(s, nick, caps=CAPS3):
    """A client registered with caps (one string)."""
    return cap_user(s, nick, *caps.split())


class WriteLock:
    """Another process's write transaction on the history file: natterd's
    commits wait (and fail) until release()."""

    def __init__(self, path):
        self.con = sqlite3.connect(path, isolation_level=None, timeout=10)
        self.con.execute("BEGIN IMMEDIATE")

    def release(self):
        if self.con is not None:
            self.con.rollback()
            self.con.close()
            self.con = None


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as fp:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", fp.read(), re.M).group(1))


def sanitized():
    return SLOW > 1


# --- recipients are fixed when the message is stored ---

def test_private_message_goes_to_the_nick_holder_when_sent(f):
    db = f.path("h.db")
    s = Server(f, "--db", db)
    alice, bob = s.user("alice"), s.user("bob")
    lock = WriteLock(db)
    try:
        alice.send("PRIVMSG bob :for bob only")
        time.sleep(scaled(0.3))      # stored, waiting for its commit
        bob.send("NICK bob2")
        time.sleep(scaled(0.3))
        mallory = s.user("bob", user="mallory")
    finally:
        lock.release()
    bob.expect(":alice!alice@127.0.0.1 PRIVMSG bob :for bob only",
               timeout=10)
    mallory.no_line(re.compile(".*for bob only.*"), sync=True)
    bob.expect(":bob!bob@127.0.0.1 NICK bob2")


def test_joiner_during_slow_commit_gets_replay_then_live(f):
    db = f.path("h.db")
    s = Server(f, "--db", db)
    alice, bob = s.user("alice"), s.user("bob")
    join(alice, bob, room="#r")
    lock = WriteLock(db)
    try:
        alice.send("PRIVMSG #r :before")
        time.sleep(scaled(0.3))
        j = s.user("joiner")
        j.send("JOIN #r")
        time.sleep(scaled(0.3))
        bob.send("PRIVMSG #r :after")
        time.sleep(scaled(0.3))
    finally:
        lock.release()
    j.expect_exact_sequence([
        ":joiner!joiner@127.0.0.1 JOIN #r",
        re.compile(r":irc\.test 353 joiner = #r :.*"),
        ":irc.test 366 joiner #r :End of /NAMES list",
        ":irc.test NOTICE #r :--- Recent history of #r ---",
        ":alice!alice@127.0.0.1 PRIVMSG #r :before",
        ":irc.test NOTICE #r :--- End of history (1 line) ---",
        ":bob!bob@127.0.0.1 PRIVMSG #r :after"], timeout=10)
    j.no_line(re.compile(".*PRIVMSG.*"), sync=True)
    bob.expect(":alice!alice@127.0.0.1 PRIVMSG #r :before")


def check_joiner(j, sent):
    """j joined #r while "n<k>" lines flowed: after its JOIN line, NAMES,
    then a replay batch, then live lines; replay and live together are
    each number from the first replayed on, once and in order."""
    lines = list(j.history)
    start = lines.index(":%s!%s@127.0.0.1 JOIN #r" % (j.nick, j.nick))
    before = [l for l in lines[:start] if " PRIVMSG " in l]
    assert not before, "%s: live lines before its own JOIN: %r" % (
        j.nick, before[:3])
    rest = lines[start + 1:]
    i = 0
    while rest[i].startswith(":irc.test 353"):
        i += 1
    assert rest[i] == ":irc.test 366 %s #r :End of /NAMES list" % j.nick, \
        rest[i - 1:i + 2]
    i += 1
    replay, live = [], []
    if i < len(rest) and "BATCH +" in rest[i]:
        bid = re.search(r"BATCH \+(\S+)", rest[i]).group(1)
        i += 1
        while not rest[i].endswith("BATCH -" + bid):
            m = re.fullmatch(r"@batch=%s;time=%s;msgid=%s :sender!\S+ "
                             r"PRIVMSG #r :n(\d+)" % (re.escape(bid), TIME,
                                                      MSGID), rest[i])
            assert m, "%s: in its replay: %r" % (j.nick, rest[i])
            replay.append(int(m.group(1)))
            i += 1
        i += 1
    for line in rest[i:]:
        m = re.fullmatch(r"@time=%s;msgid=%s :sender!\S+ PRIVMSG #r "
                         r":n(\d+)" % (TIME, MSGID), line)
        if m:
            live.append(int(m.group(1)))
        elif " PRIVMSG " in line:
            raise AssertionError("%s: %r" % (j.nick, line))
    got = replay + live
    assert got, "%s: nothing received" % j.nick
    first = got[0]
    assert got == list(range(first, sent)), \
        "%s: replay %s..%s (%d) then live %s..%s (%d): not every line " \
        "once, in order (%d sent)" % (
            j.nick, replay[:1], replay[-1:], len(replay), live[:1], live[-1:],
            len(live), sent)
    assert len(replay) == min(50, first + len(replay)), (j.nick, replay)


def joins_under_load(f, db):
    s = Server(f, "--db", db, *FULL_SPEED, *NO_THROTTLE, "--max-per-ip", "0")
    sender = s.user("sender")
    sender.join("#r")
    total, joiners = 6000, []
    sent = [0]

    def blast():
        for k in range(0, total, 20):
            sender.send_raw("".join("PRIVMSG #r :n%d\r\n" % n
                                    for n in range(k, k + 20)).encode())
            sent[0] = k + 20
            time.sleep(0.01)

    t = threading.Thread(target=blast)
    t.start()
    try:
        for n in range(60):
            j = v3(s, "j%d" % n)
            j.send("JOIN #r")
            joiners.append(j)
            time.sleep(0.02)
    finally:
        t.join(60)
    sender.sync(timeout=30)
    last = rx(r"@\S+ :sender!\S+ PRIVMSG #r :n%s", total - 1)
    for j in joiners:
        j.expect(last, timeout=30)      # live, or the end of its replay
    for j in joiners:
        check_joiner(j, total)


@slow
@timeout(120)
def test_joins_under_load_file(f):
    joins_under_load(f, f.path("h.db"))


@slow
@timeout(120)
def test_joins_under_load_memory(f):
    joins_under_load(f, ":memory:")


# --- every byte queued counts against the SendQ ---

def feed_until_stuck(sock, line, seconds, per_write=200, pause=0.0):
    """Sends line, per_write at a time, again and again for seconds
    (non-blocking, pausing between writes so that each can be one read);
    returns the bytes the kernel took."""
    sock.setblocking(False)
    data = line * per_write
    took, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            took += sock.send(data)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
        if pause:
            time.sleep(pause)
    return took


@timeout(60)
def test_pings_never_read_are_bounded(f):
    # Dropped --sendq-timeout (default 10 s) after it stops draining.
    s = Server(f, *FULL_SPEED, "--sendq", "65536")
    before = rss_kb(s.proc.pid)
    c = s.client("pinger", rcvbuf=4096, reader=False)
    # Each write is one read of a few PINGs, whose replies are small.
    feed_until_stuck(c.sock, b"PING :" + b"x" * 480 + b"\r\n", 4,
                     per_write=14, pause=0.001)
    grew = rss_kb(s.proc.pid) - before
    # It stops reading once the replies pass the SendQ (the kernel holds
    # the rest of the input), and drops the client when it never drains.
    if not sanitized():
        assert grew < 16 << 10, "natterd grew %d kB" % grew
    deadline = time.monotonic() + scaled(25)
    while "closed: SendQ exceeded" not in s.log_text():
        assert time.monotonic() < deadline, s.log_text()[-2000:]
        time.sleep(0.1)
    s.user("alive")


@timeout(90)
def test_registered_reader_that_stops_is_dropped(f):
    motd = f.write_file("motd", "".join("%03d %s\n" % (i, "m" * 300)
                                        for i in range(300)))
    s = Server(f, "--motd", motd, "--sendq", "65536")
    c = s.client("asker", rcvbuf=4096, reader=False)
    c.register("asker")
    # Within default flood control (10 at once, then 2 a second), each
    # MOTD is 90 KB of replies, and asker reads none of it.
    for _ in range(5):
        try:
            c.sock.sendall(b"MOTD\r\n" * 2)
        except OSError:
            break       # dropped already
        time.sleep(1)
    deadline = time.monotonic() + scaled(25)
    while "(asker) closed: SendQ exceeded" not in s.log_text():
        assert time.monotonic() < deadline, s.log_text()[-2000:]
        time.sleep(0.1)


def test_join_replays_of_12_rooms_do_not_drop_the_joiner(f):
    s = Server(f, "--db", f.path("h.db"), *FULL_SPEED)
    a = s.user("alice")
    rooms = ["#r%d" % i for i in range(12)]
    a.send("JOIN " + ",".join(rooms))
    for r in rooms:
        a.expect(":irc.test 366 alice %s :End of /NAMES list" % r)
    pad = "y" * 400
    for r in rooms:
        a.send_raw("".join("PRIVMSG %s :%s %02d %s\r\n" % (r, r, i, pad)
                           for i in range(50)).encode())
    a.sync(timeout=20)
    j = v3(s, "joiner")
    j.send("JOIN " + ",".join(rooms))
    for r in rooms:
        j.expect(":joiner!joiner@127.0.0.1 JOIN %s" % r, timeout=20)
        for i in range(50):
            j.expect(rx(r"@batch=\S+;time=\S+;msgid=\S+ :alice!\S+ PRIVMSG "
                        r"%s :%s %s " + pad, r, r, "%02d" % i), timeout=20)
    j.sync()
    assert "SendQ" not in s.log_text()


def test_client_tags_over_4094_bytes_are_refused(f):
    s = Server(f, "--db", f.path("h.db"))
    a, b = v3(s, "alice"), v3(s, "bob")
    join(a, b, room="#t")
    big = "+x=" + "v" * 4091                    # 4094 bytes of tag data
    a.send("@%s PRIVMSG #t :fits" % big)
    b.expect(rx(r"@time=\S+;msgid=\S+;%s :alice!\S+ PRIVMSG #t :fits", big))
    a.send("@%sv PRIVMSG #t :too big" % big)
    a.expect(":irc.test 417 alice :Input line was too long")
    b.no_line(re.compile(".*too big.*"), sync=True)


def test_join_replay_of_big_tagged_lines(f):
    s = Server(f, "--db", f.path("h.db"), *FULL_SPEED)
    a = v3(s, "alice")
    a.join("#t")
    big = "+x=" + "v" * 4091
    for i in range(50):
        a.send("@%s PRIVMSG #t :%d" % (big, i))
    a.sync(timeout=20)
    j = v3(s, "joiner")
    j.join("#t")
    for i in range(50):
        j.expect(rx(r"@batch=\S+;time=\S+;msgid=\S+;%s :alice!\S+ PRIVMSG #t "
                    r":%s", big, i), timeout=20)
    j.sync()


# --- a reader that keeps reading is never dropped ---

@slow
@timeout(240)
def test_40000_lines_reach_a_reader_and_drop_a_stalled_one(f):
    s = Server(f, "--db", f.path("h.db"), *FULL_SPEED)
    sender, reader = s.user("sender"), s.user("reader")
    join(sender, reader, room="#big")
    x = s.client("x", rcvbuf=4096, reader=False)
    x.register("x")
    x.join("#big")
    sender.expect(":x!x@127.0.0.1 JOIN #big")
    reader.expect(":x!x@127.0.0.1 JOIN #big")
    pad = "z" * 380
    total = 40000

    def blast():
        for k in range(0, total, 100):
            sender.send_raw("".join("PRIVMSG #big :%05d %s\r\n" % (n, pad)
                                    for n in range(k, k + 100)).encode())

    t = threading.Thread(target=blast)
    t.start()
    want = re.compile(r":sender!sender@127\.0\.0\.1 PRIVMSG #big :(\d{5}) "
                      + pad)
    got, quit_seen = 0, False
    try:
        while got < total:
            line = reader.next_line(timeout=60)
            m = want.fullmatch(line)
            if m:
                assert int(m.group(1)) == got, \
                    "reader: %s after %d" % (m.group(1), got - 1)
                got += 1
            elif line == ":x!x@127.0.0.1 QUIT :SendQ exceeded":
                quit_seen = True
            else:
                raise AssertionError("reader: unexpected %r" % line)
    finally:
        t.join(120)
    if not quit_seen:
        reader.expect(":x!x@127.0.0.1 QUIT :SendQ exceeded", timeout=20)
    assert "(reader) closed" not in s.log_text()


@slow
@timeout(120)
def test_100_pastes_of_10_lines_reach_a_reader(f):
    s = Server(f, "--db", f.path("h.db"), *NO_THROTTLE, "--max-per-ip", "0")
    reader = s.user("reader")
    reader.join("#p")
    reader.send("MODE #p -n")
    reader.expect(":reader!reader@127.0.0.1 MODE #p -n")
    senders = [s.user("p%d" % i) for i in range(100)]
    pad = "q" * 400      # 1,000 lines of 450 bytes: twice the SendQ
    for p in senders:
        p.send_raw("".join("PRIVMSG #p :%s line %d %s\r\n" % (p.nick, k, pad)
                           for k in range(10)).encode())
    want = re.compile(r":(p\d+)!\S+ PRIVMSG #p :(p\d+) line (\d) " + pad)
    seen = {}
    for _ in range(1000):
        m = want.fullmatch(reader.next_line(timeout=30))
        assert m and m.group(1) == m.group(2), m
        seen.setdefault(m.group(1), []).append(int(m.group(3)))
    assert all(v == list(range(10)) for v in seen.values()) and \
        len(seen) == 100, seen
    assert "SendQ" not in s.log_text()


# --- the store never silently stops ---

@slow
@timeout(60)
def test_store_outage_holds_then_fails_then_recovers(f):
    # A hold of 2 s: the short outage (0.7 s) ends well inside it even
    # on a loaded sanitizer build.
    hold = 2
    db = f.path("h.db")
    s = Server(f, "--db", db, "--store-hold", str(hold))
    alice, bob = v3(s, "alice", "echo-message"), s.user("bob")
    join(alice, bob, room="#s")
    # A short outage: held, then delivered and kept.
    lock = WriteLock(db)
    alice.send("PRIVMSG #s :short outage")
    time.sleep(0.5)
    bob.no_line(re.compile(".*short outage.*"), wait=0.2)
    lock.release()
    bob.expect(":alice!alice@127.0.0.1 PRIVMSG #s :short outage", timeout=10)
    alice.expect(":alice!alice@127.0.0.1 PRIVMSG #s :short outage")
    # A long one: after the hold (not before) the sender hears it was
    # not sent, and nobody receives it.
    lock = WriteLock(db)
    try:
        sent = time.monotonic()
        alice.send("PRIVMSG #s :long outage")
        alice.expect(":irc.test FAIL PRIVMSG TEMPORARILY_UNAVAILABLE #s "
                     ":Message not sent: the history store cannot keep it "
                     "now", timeout=hold + 10)
        waited = time.monotonic() - sent
        assert waited >= hold - 0.05, "FAIL after %.2f s" % waited
    finally:
        lock.release()
    # Storage is still on.
    alice.send("PRIVMSG #s :after")
    bob.expect(":alice!alice@127.0.0.1 PRIVMSG #s :after", timeout=10)
    bob.no_line(re.compile(".*long outage.*"), sync=True)
    s.stop()
    con = sqlite3.connect(db)
    texts = [r[0] for r in con.execute(
        "SELECT params FROM message WHERE key = '#s' ORDER BY seq")]
    con.close()
    assert texts == ["#s :short outage", "#s :after"], texts


FAIL_S = (":irc.test FAIL PRIVMSG TEMPORARILY_UNAVAILABLE #s "
          ":Message not sent: the history store cannot keep it now")


@slow
@timeout(90)
def test_store_outage_without_echo_fails_each_left_message_in_order(f):
    # A sender without echo-message leaves its messages to the deliverer
    # and goes on reading; in a long outage each is still answered by
    # its FAIL, before anything it is told later, and nobody gets one.
    db = f.path("h.db")
    s = Server(f, "--db", db, *FULL_SPEED, *STORE_HOLD)
    alice, bob = s.user("alice"), s.user("bob")
    join(alice, bob, room="#s")
    lock = WriteLock(db)
    try:
        # More than the 16 a connection may leave: the rest wait.
        for i in range(20):
            alice.send("PRIVMSG #s :lost %d" % i)
        alice.send("PING :after-the-lost")
        for i in range(20):
            assert alice.next_line(timeout=HOLD_S * 3 + 10) == FAIL_S, i
        alice.expect(":irc.test PONG irc.test :after-the-lost")
    finally:
        lock.release()
    alice.send("PRIVMSG #s :after")
    bob.expect(":alice!alice@127.0.0.1 PRIVMSG #s :after", timeout=10)
    bob.no_line(re.compile(".*lost.*"), sync=True)
    s.stop()
    con = sqlite3.connect(db)
    texts = [r[0] for r in con.execute(
        "SELECT params FROM message WHERE key = '#s' ORDER BY seq")]
    con.close()
    assert texts == ["#s :after"], texts


@timeout(60)
def test_store_short_outage_without_echo_delivers_in_order(f):
    # Held while the file is locked, then every line out, in order, and
    # a reply asked for meanwhile comes after them.
    db = f.path("h.db")
    s = Server(f, "--db", db, *FULL_SPEED)
    alice, bob = s.user("alice"), s.user("bob")
    join(alice, bob, room="#s")
    lock = WriteLock(db)
    for i in range(30):
        alice.send("PRIVMSG #s :held %d" % i)
    time.sleep(1.5)
    bob.no_line(re.compile(".*held.*"), wait=0.2)
    lock.release()
    for i in range(30):
        bob.expect(":alice!alice@127.0.0.1 PRIVMSG #s :held %d" % i,
                   timeout=10)
    alice.send("PING :x")
    alice.expect(":irc.test PONG irc.test :x")
    s.stop()
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM message WHERE key = '#s'"
                    ).fetchone()[0]
    con.close()
    assert n == 30


def test_events_are_not_stored_and_history_max_counts_messages(f):
    db = f.path("h.db")
    s = Server(f, "--db", db, "--history-max", "5")
    a, b = s.user("alice"), s.user("bob")
    join(a, b, room="#e")
    for i in range(5):
        a.send("PRIVMSG #e :m%d" % i)
        b.expect(":alice!alice@127.0.0.1 PRIVMSG #e :m%d" % i)
    for _ in range(6):
        b.send("PART #e")
        a.expect(":bob!bob@127.0.0.1 PART #e")
        b.join("#e")
    a.send("TOPIC #e :a topic")
    a.expect(":alice!alice@127.0.0.1 TOPIC #e :a topic")
    s.stop()
    con = sqlite3.connect(db)
    rows = list(con.execute("SELECT command, params FROM message ORDER BY seq"))
    con.close()
    assert rows == [("PRIVMSG", "#e :m%d" % i) for i in range(5)], rows


# --- history belongs to the people in it ---

def test_private_history_is_not_the_next_nick_holders(f):
    s = Server(f, "--db", f.path("h.db"))
    alice, bob = v3(s, "alice", CAPS3 + " draft/chathistory"), s.user("bob")
    alice.send("PRIVMSG bob :our secret")
    bob.expect(":alice!alice@127.0.0.1 PRIVMSG bob :our secret")
    bob.send("PRIVMSG alice :indeed")
    alice.expect(rx(r"@time=\S+;msgid=\S+ :bob!bob@127\.0\.0\.1 PRIVMSG alice "
                    r":indeed"))
    alice.send("CHATHISTORY LATEST bob * 10")
    lines = alice.read_until(re.compile(r":irc\.test BATCH -\S+"))
    assert sum("PRIVMSG" in l for l in lines) == 2, lines
    alice.send("QUIT")
    alice.expect_closed()
    mallory = v3(s, "alice", CAPS3 + " draft/chathistory")
    mallory.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
                 "timestamp=2999-01-01T00:00:00.000Z 10")
    lines = mallory.read_until(re.compile(r":irc\.test BATCH -\S+"))
    assert not any("TARGETS" in l and "bob" in l for l in lines), lines
    mallory.send("CHATHISTORY LATEST bob * 10")
    lines = mallory.read_until(re.compile(r":irc\.test BATCH -\S+"))
    assert len(lines) == 2 and "BATCH +" in lines[0], lines


def test_recreated_room_does_not_replay_the_old_one(f):
    s = Server(f, "--db", f.path("h.db"))
    alice = v3(s, "alice", CAPS3 + " draft/chathistory")
    alice.join("#k")
    alice.send("MODE #k +k sesame")
    alice.expect(":alice!alice@127.0.0.1 MODE #k +k sesame")
    alice.send("PRIVMSG #k :the launch code is 1234")
    alice.sync()
    alice.send("PART #k")
    alice.expect(":alice!alice@127.0.0.1 PART #k")
    mallory = v3(s, "mallory", CAPS3 + " draft/chathistory")
    lines = mallory.join("#k")
    mallory.send("CHATHISTORY LATEST #k * 100")
    lines += mallory.read_until(re.compile(r":irc\.test BATCH -\S+"))
    mallory.sync()
    lines += mallory.drain()
    assert not any("1234" in l for l in lines), lines


# --- labels ---

def test_label_answered_past_8k_of_replies(f):
    motd = f.write_file("motd", "".join("line %03d %s\n" % (i, "m" * 300)
                                        for i in range(60)))
    s = Server(f, "--motd", motd)
    c = v3(s, "alice", "batch labeled-response")
    c.send("@label=big MOTD")
    first = c.next_line()
    m = re.fullmatch(r"@label=big :irc\.test BATCH \+(\S+) labeled-response",
                     first)
    assert m, first
    lines = c.read_until(":irc.test BATCH -" + m.group(1))
    body = lines[:-1]
    assert len(body) == 62 and all(l.startswith("@batch=%s " % m.group(1))
                                   for l in body), body[:3]


def test_label_is_escaped_when_written_back(f):
    s = Server(f)
    c = v3(s, "alice", "batch labeled-response")
    c.send(r"@label=a\sb\r\nPRIVMSG\:x PING :p")
    c.expect(r"@label=a\sb\r\nPRIVMSG\:x :irc.test PONG irc.test :p")
    c.sync()
    assert not any(l.startswith("PRIVMSG") for l in c.history), c.history


# --- INVITE ---

def test_only_an_operators_invite_lets_past_ban_limit_key(f):
    s = Server(f, *FULL_SPEED)
    op, member, guest = s.user("op"), s.user("member"), s.user("guest")
    join(op, member, room="#i")
    op.send("MODE #i +b guest!*@*")
    op.expect(":op!op@127.0.0.1 MODE #i +b guest!*@*")
    member.send("INVITE guest #i")
    member.expect(numeric("341", "member", "guest #i"))
    guest.expect(":member!member@127.0.0.1 INVITE guest #i")
    guest.send("JOIN #i")
    guest.expect(numeric("474", "guest", "#i :Cannot join channel (+b)"))
    op.send("MODE #i +lk 2 sesame")
    op.expect(":op!op@127.0.0.1 MODE #i +lk 2 sesame")
    op.send("INVITE guest #i")
    guest.expect(":op!op@127.0.0.1 INVITE guest #i")
    guest.join("#i")        # past +b, +l (2 of 2) and +k
    guest.send("PART #i")
    guest.expect(":guest!guest@127.0.0.1 PART #i")
    guest.send("JOIN #i")   # the invite is used up
    guest.expect(numeric("474", "guest", "#i :Cannot join channel (+b)"))


def test_invites_expire(f):
    s = Server(f, *FULL_SPEED, *NO_THROTTLE, "--invite-expiry", "1")
    op = s.user("op")
    op.join("#x")
    op.send("MODE #x +i")
    op.expect(":op!op@127.0.0.1 MODE #x +i")
    late = s.user("late")
    op.send("INVITE late #x")
    late.expect(":op!op@127.0.0.1 INVITE late #x")
    time.sleep(1.5)
    late.send("JOIN #x")
    late.expect(numeric("473", "late", "#x :Cannot join channel (+i)"))


def test_invites_are_bounded(f):
    # 101 invites: the first one gives way.
    s = Server(f, *FULL_SPEED, *NO_THROTTLE, "--max-per-ip", "0")
    op = s.user("op")
    op.join("#y")
    op.send("MODE #y +i")
    op.expect(":op!op@127.0.0.1 MODE #y +i")
    guests = [s.user("g%d" % i) for i in range(101)]
    for g in guests:
        op.send("INVITE %s #y" % g.nick)
    op.sync()
    guests[0].send("JOIN #y")
    guests[0].expect(numeric("473", "g0", "#y :Cannot join channel (+i)"))
    guests[1].join("#y")
    guests[100].join("#y")


def test_invite_follows_the_connection_not_the_nick(f):
    s = Server(f, *FULL_SPEED)
    op, guest = s.user("op"), s.user("guest")
    op.join("#z")
    op.send("MODE #z +i")
    op.expect(":op!op@127.0.0.1 MODE #z +i")
    op.send("INVITE guest #z")
    guest.expect(":op!op@127.0.0.1 INVITE guest #z")
    guest.send("NICK elsewhere")
    guest.expect(":guest!guest@127.0.0.1 NICK elsewhere")
    taker = s.user("guest", user="taker")
    taker.send("JOIN #z")
    taker.expect(numeric("473", "guest", "#z :Cannot join channel (+i)"))
    guest.nick = "elsewhere"
    guest.join("#z")


# --- long listings as the socket drains ---

@slow
@timeout(120)
def test_who_and_list_of_a_big_server_stream(f):
    s = Server(f, *FULL_SPEED, *NO_THROTTLE, "--max-per-ip", "0",
               "--sendq", "8192", "--db", ":memory:")
    users = []
    for i in range(250):
        u = s.user("u%03d" % i + "x" * 26)
        u.send("JOIN #room%03d,#all" % i)
        users.append(u)
    for u in users:
        u.sync()
    asker = v3(s, "asker", "batch labeled-response")
    asker.send("@label=w WHO u*")
    opener = asker.next_line(timeout=20)
    bid = re.fullmatch(r"@label=w :irc\.test BATCH \+(\S+) labeled-response",
                       opener).group(1)
    lines = asker.read_until(":irc.test BATCH -" + bid, timeout=30)
    rows = [l for l in lines if " 352 asker * " in l]
    assert len(rows) == 250 and all(l.startswith("@batch=%s :" % bid)
                                    for l in rows), (len(rows), rows[:2])
    assert lines[-2] == "@batch=%s :irc.test 315 asker u* :End of WHO list" \
        % bid, lines[-3:]
    asker.send("LIST")
    lines = asker.read_until(":irc.test 323 asker :End of /LIST", timeout=30)
    assert sorted(l.split()[3] for l in lines if " 322 " in l
                  and "#room" in l) == ["#room%03d" % i for i in range(250)]
    # One 512-byte line asking for 40 long NAMES of a 250-member room
    # (some 400 KB of replies, 50 times the SendQ) while reading.
    uh = v3(s, "uh", "userhost-in-names")
    uh.send("NAMES " + ",".join(["#all"] * 40))
    for _ in range(40):
        uh.expect(":irc.test 366 uh #all :End of /NAMES list", timeout=30)
    uh.sync()
    assert "SendQ" not in s.log_text()


@timeout(60)
def test_pipelined_listings_never_read_are_bounded(f):
    s = Server(f, *FULL_SPEED, "--sendq", "65536", "--sendq-timeout", "2")
    a = s.user("alice")
    for i in range(20):
        a.send("JOIN #r%d" % i)
    a.sync()
    before = rss_kb(s.proc.pid)
    c = s.client("lister", rcvbuf=4096, reader=False)
    c.register("lister")
    feed_until_stuck(c.sock, b"LIST\r\nCHATHISTORY LATEST #r0 * 100\r\n", 4)
    if not sanitized():
        grew = rss_kb(s.proc.pid) - before
        assert grew < 16 << 10, "natterd grew %d kB" % grew
    deadline = time.monotonic() + scaled(15)
    while "(lister) closed: SendQ exceeded" not in s.log_text():
        assert time.monotonic() < deadline, s.log_text()[-2000:]
        time.sleep(0.1)


def test_pipelining_reader_is_not_dropped(f):
    # Far more replies than the SendQ, asked for in one go, read as fast
    # as they come: held back, never Excess Flood or SendQ exceeded.
    s = Server(f, *FULL_SPEED, "--sendq", "4096")
    c = s.user("alice")
    c.send_raw(b"VERSION\r\n" * 7000 + b"PING :end\r\n")
    c.expect(":irc.test PONG irc.test :end", timeout=60)
    got = sum(1 for l in c.history if " 351 alice " in l)
    assert got == 7000, got
    assert "closed" not in s.log_text()


@timeout(60)
def test_labeled_message_store_cannot_keep_gets_one_labeled_fail(f):
    db = f.path("h.db")
    s = Server(f, "--db", db, *STORE_HOLD)
    a = v3(s, "alice", "batch labeled-response")
    b = s.user("bob")
    join(a, b, room="#r")
    lock = WriteLock(db)
    try:
        a.send("@label=one PRIVMSG #r :kept?")
        a.expect("@label=one :irc.test FAIL PRIVMSG TEMPORARILY_UNAVAILABLE "
                 "#r :Message not sent: the history store cannot keep it "
                 "now", timeout=HOLD_S + 10)
        a.send("@label=two PRIVMSG #r,bob :kept?")
        first = a.next_line(timeout=HOLD_S + 10)
        m = re.fullmatch(r"@label=two :irc\.test BATCH \+(\S+) "
                         r"labeled-response", first)
        assert m, first
        a.expect_exact_sequence([
            "@batch=%s :irc.test FAIL PRIVMSG TEMPORARILY_UNAVAILABLE #r "
            ":Message not sent: the history store cannot keep it now"
            % m.group(1),
            "@batch=%s :irc.test FAIL PRIVMSG TEMPORARILY_UNAVAILABLE bob "
            ":Message not sent: the history store cannot keep it now"
            % m.group(1),
            ":irc.test BATCH -" + m.group(1)])
        # A reply and a message that may fail: a batch both fit in.
        a.send("@label=three PRIVMSG nosuch,#r :kept?")
        first = a.next_line(timeout=HOLD_S + 10)
        m = re.fullmatch(r"@label=three :irc\.test BATCH \+(\S+) "
                         r"labeled-response", first)
        assert m, first
        a.expect_exact_sequence([
            "@batch=%s :irc.test 401 alice nosuch :No such nick/channel"
            % m.group(1),
            "@batch=%s :irc.test FAIL PRIVMSG TEMPORARILY_UNAVAILABLE #r "
            ":Message not sent: the history store cannot keep it now"
            % m.group(1),
            ":irc.test BATCH -" + m.group(1)], timeout=HOLD_S + 10)
    finally:
        lock.release()
    a.send("@label=four PRIVMSG #r :kept")
    a.expect("@label=four :irc.test ACK", timeout=10)
    b.expect(":alice!alice@127.0.0.1 PRIVMSG #r :kept")
    a.sync()
    assert not any("ACK" in l for l in a.history if "label=one" in l
                   or "label=two" in l or "label=three" in l), a.history
    b.no_line(re.compile(".*kept\\?.*"), sync=True)
