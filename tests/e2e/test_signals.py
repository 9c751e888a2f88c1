"""Signals: SIGTERM shuts down cleanly; SIGPIPE never kills; SIGHUP is
in test_oper (MOTD reload)."""

import signal
import time

from harness import Server, join, scaled

SHUTDOWN = "ERROR :Closing Link: 127.0.0.1 (Server shutting down)"


def test_sigterm_closes_every_client(f):
    s = Server(f)
    clients = [s.user(n) for n in ("alice", "bob", "carol")]
    join(*clients[:2], room="#room")
    t0 = time.monotonic()
    s.signal(signal.SIGTERM)
    for c in clients:
        lines = c.expect_closed(timeout=5)
        assert lines and lines[-1] == SHUTDOWN, (c.name, lines)
        assert not any("QUIT" in l for l in lines), (c.name, lines)
    rc = s.wait(scaled(2) - (time.monotonic() - t0) + 0.1)
    assert rc is not None, "natterd still running %gs after SIGTERM" % scaled(2)
    assert rc == 0, "natterd exit status %s after SIGTERM" % rc


def test_sigterm_with_unregistered_and_idle(f):
    s = Server(f)
    a = s.user("alice")
    u = s.client("unregistered")
    u.send("NICK half")
    u.send("PING seen")
    u.expect(":irc.test PONG irc.test :seen")
    silent = s.client("silent")
    time.sleep(0.05)             # let the server accept it
    s.signal(signal.SIGTERM)
    for c in (a, u, silent):
        lines = c.expect_closed(timeout=5)
        assert lines and lines[-1] == SHUTDOWN, (c.name, lines)
    assert s.wait(scaled(2)) == 0


def test_sigterm_idle_server(f):
    s = Server(f)
    s.signal(signal.SIGTERM)
    assert s.wait(scaled(2)) == 0


def test_sigterm_stops_accepting(f):
    s = Server(f)
    a = s.user("alice")
    s.signal(signal.SIGTERM)
    a.expect_closed()
    s.wait(scaled(2))
    import socket
    try:
        socket.create_connection(("127.0.0.1", s.port), 1).close()
        refused = False
    except OSError:
        refused = True
    assert refused, "port still accepts after SIGTERM"


def test_sigpipe_ignored(f):
    s = Server(f)
    a = s.user("alice")
    s.proc.send_signal(signal.SIGPIPE)
    time.sleep(0.1)
    a.send("PING alive")
    a.expect(":irc.test PONG irc.test :alive")
    assert s.alive()
