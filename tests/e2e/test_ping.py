"""PING/PONG both ways, ping timeout, registration timeout."""

import re
import time

from harness import FULL_SPEED, Server, join, numeric, rx, slow


def test_ping_pong(f):
    s = Server(f)
    a = s.user("alice")
    cases = [
        ("PING abc", ":irc.test PONG irc.test :abc"),
        ("PING :with space", ":irc.test PONG irc.test :with space"),
        ("PING irc.test", ":irc.test PONG irc.test :irc.test"),
    ]
    for line, want in cases:
        a.send(line)
        got = a.next_line()
        assert got == want, "%r: expected %r, got %r" % (line, want, got)
    a.send("PING")
    a.expect(rx(r":irc\.test (409 alice :No origin specified|461 alice PING :.*)"))


def test_pong_from_client_is_silent(f):
    s = Server(f)
    a = s.user("alice")
    a.send("PONG :whatever")
    a.send("PONG")
    a.no_line(rx(r"(?!.*PONG).*"), sync=True, wait=0)


def test_pipelined_commands_keep_order(f):
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    a.send_raw(b"".join(b"PING n%d\r\n" % i for i in range(200)))
    for i in range(200):
        got = a.next_line()
        assert got == ":irc.test PONG irc.test :n%d" % i, "PONG %d: got %r" % (i, got)


@slow
def test_server_pings_idle_client_and_times_out(f):
    s = Server(f, "--ping-interval", "1", "--ping-timeout", "1")
    a = s.user("alice", auto_pong=False)
    b = s.user("bob")                 # answers PINGs: stays
    join(a, b, room="#room")
    start = time.monotonic()
    a.expect(re.compile(r"(:irc\.test )?PING :?irc\.test"), timeout=5)
    lines = a.expect_closed(timeout=6)
    assert lines and lines[-1] == \
        "ERROR :Closing Link: 127.0.0.1 (Ping timeout: 1 seconds)", lines
    b.expect(":alice!alice@127.0.0.1 QUIT :Ping timeout: 1 seconds")
    took = time.monotonic() - start
    assert took < 6, "ping timeout took %.1fs with interval 1, timeout 1" % took
    b.send("PING stillhere")
    b.expect(":irc.test PONG irc.test :stillhere")
    assert b.history.count("PING :irc.test") + b.history.count("PING irc.test") + \
        sum(1 for l in b.history if re.fullmatch(r":irc\.test PING :?irc\.test", l)) >= 1, \
        "bob, idle for 2s with --ping-interval 1, was never pinged"


@slow
def test_active_client_not_pinged_out(f):
    s = Server(f, "--ping-interval", "1", "--ping-timeout", "1")
    a = s.user("alice", auto_pong=False)
    # Traffic from alice counts as activity: no PING answer needed.
    for i in range(6):
        a.send("PING keep%d" % i)
        a.expect(":irc.test PONG irc.test :keep%d" % i)
        time.sleep(0.5)
    assert not a.closed


@slow
def test_registration_timeout(f):
    s = Server(f, "--reg-timeout", "1")
    a = s.client()
    a.send("NICK slowpoke")
    lines = a.expect_closed(timeout=5)
    assert lines and lines[-1] == \
        "ERROR :Closing Link: 127.0.0.1 (Registration timed out)", lines
    # A client that registers in time is not affected.
    b = s.user("quick")
    time.sleep(1.5)
    b.send("PING ok")
    b.expect(":irc.test PONG irc.test :ok")


@slow
def test_registration_timeout_silent_connection(f):
    s = Server(f, "--reg-timeout", "1")
    a = s.client()
    lines = a.expect_closed(timeout=5)
    assert lines == ["ERROR :Closing Link: 127.0.0.1 (Registration timed out)"], lines
