"""Flood control: a token bucket per client (--flood-burst lines at once,
then --flood-rate a second).  Lines over the rate wait in the receive
queue (fake lag) and are all handled, in order; a queue past --recvq
ends the connection with Excess Flood.  Operators are exempt, and one
flooder does not hold up anyone else."""

import time

from harness import Server, join, scaled


def said(nick, room, text):
    return ":%s!%s@127.0.0.1 PRIVMSG %s :%s" % (nick, nick, room, text)


def test_over_rate_lines_are_delayed_not_lost(f):
    s = Server(f, "--flood-burst", "5", "--flood-rate", "10")
    a, w = s.user("alice"), s.user("watcher")
    join(a, w, room="#r")
    # alice's bucket refilled meanwhile: 5 at once, then 10 a second.
    time.sleep(0.6)
    n = 25
    start = time.monotonic()
    a.send_raw(b"".join(b"PRIVMSG #r :m%d\r\n" % i for i in range(n)))
    got = w.read_until(said("alice", "#r", "m%d" % (n - 1)), timeout=15)
    took = time.monotonic() - start
    assert got == [said("alice", "#r", "m%d" % i) for i in range(n)], got
    # (n - burst) lines at 10 a second: at least about 2 seconds.  Only
    # the lower bound is checked; a slow machine only adds to it.
    assert took >= 1.8, "25 lines took only %.2fs" % took


def test_burst_goes_through_at_once(f):
    s = Server(f, "--flood-burst", "10", "--flood-rate", "1")
    a, w = s.user("alice"), s.user("watcher")
    join(a, w, room="#r")
    time.sleep(1.2)
    a.send_raw(b"".join(b"PRIVMSG #r :b%d\r\n" % i for i in range(8)))
    # 8 lines fit in the burst: no wait at 1 line a second.
    w.read_until(said("alice", "#r", "b7"), timeout=scaled(3))


def test_excess_flood_disconnects_and_others_keep_going(f):
    s = Server(f, "--recvq", "4096")
    evil, w, a, b = (s.user(n) for n in ("evil", "watcher", "alice", "bob"))
    join(evil, w, a, b, room="#r")
    evil.send_raw(b"".join(b"PRIVMSG #r :flood %d\r\n" % i
                           for i in range(5000)))
    got = evil.expect_closed(timeout=10)
    assert got[-1] == "ERROR :Closing Link: 127.0.0.1 (Excess Flood)", got
    lines = w.read_until(":evil!evil@127.0.0.1 QUIT :Excess Flood")
    flood = [l for l in lines if " PRIVMSG #r :flood " in l]
    # What got through is the start of what was sent, in order.
    assert flood == [said("evil", "#r", "flood %d" % i)
                     for i in range(len(flood))], flood[:5]
    assert len(flood) < 100, len(flood)
    # Meanwhile and after, the others talk as usual.
    a.send("PRIVMSG #r :are you there")
    b.expect(said("alice", "#r", "are you there"))
    w.expect(said("alice", "#r", "are you there"))
    b.send("PRIVMSG alice :yes")
    a.expect(":bob!bob@127.0.0.1 PRIVMSG alice :yes")


def test_flooder_does_not_delay_others(f):
    s = Server(f, "--flood-burst", "5", "--flood-rate", "5",
               "--recvq", "1048576")
    evil, a, b = s.user("evil"), s.user("alice"), s.user("bob")
    join(evil, a, b, room="#r")
    time.sleep(1.2)         # everyone's bucket is full again
    # evil's 2,000 lines take minutes to go through at 5 a second ...
    evil.send_raw(b"".join(b"PRIVMSG #r :slow %d\r\n" % i
                           for i in range(2000)))
    # ... while alice and bob talk as usual, within their own bursts.
    for i in range(2):
        a.send("PRIVMSG bob :ping %d" % i)
        b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :ping %d" % i)
        b.send("PRIVMSG alice :pong %d" % i)
        a.expect(":bob!bob@127.0.0.1 PRIVMSG alice :pong %d" % i)
    a.send("PRIVMSG #r :in the room")
    b.expect(said("alice", "#r", "in the room"))
    # Only a trickle of evil's lines went by meanwhile.
    slow = [l for l in b.history if " :slow " in l]
    assert len(slow) < 200, len(slow)


def test_operators_are_exempt(f):
    s = Server(f, "--flood-burst", "2", "--flood-rate", "1",
               "--oper", "boss:secret")
    o, w = s.user("boss"), s.user("watcher")
    o.send("OPER boss secret")
    o.expect(":irc.test 381 boss :You are now an IRC operator")
    join(o, w, room="#r")
    n = 100
    o.send_raw(b"".join(b"PRIVMSG #r :op %d\r\n" % i for i in range(n)))
    # At 1 a second this would take over a minute.
    got = w.read_until(said("boss", "#r", "op %d" % (n - 1)), timeout=10)
    assert len([l for l in got if " :op " in l]) == n


def test_lines_before_close_still_count(f):
    s = Server(f, "--flood-burst", "3", "--flood-rate", "20")
    a, w = s.user("alice"), s.user("watcher")
    join(a, w, room="#r")
    time.sleep(0.3)
    a.send_raw(b"".join(b"PRIVMSG #r :last %d\r\n" % i for i in range(20))
               + b"QUIT :gone\r\n")
    a.sock.shutdown(1)      # SHUT_WR: nothing more is coming
    got = w.read_until(":alice!alice@127.0.0.1 QUIT :Quit: gone",
                       timeout=10)
    assert got == [said("alice", "#r", "last %d" % i) for i in range(20)] \
        + [":alice!alice@127.0.0.1 QUIT :Quit: gone"], got


def test_flood_control_off(f):
    s = Server(f, "--flood-burst", "0")
    a, w = s.user("alice"), s.user("watcher")
    join(a, w, room="#r")
    a.send_raw(b"".join(b"PRIVMSG #r :free %d\r\n" % i for i in range(2000)))
    got = w.read_until(said("alice", "#r", "free 1999"), timeout=10)
    assert len(got) == 2000


def test_flood_flag_errors(f):
    for args in (["--flood-burst", "-1"], ["--flood-rate", "x"],
                 ["--recvq", "10"], ["--throttle", "-2"]):
        cp = f.run(*args)
        assert cp.returncode == 2, (args, cp.stderr)
        assert cp.stderr.startswith("natterd: %s: invalid value" % args[0])
        assert "usage: natterd " in cp.stderr
