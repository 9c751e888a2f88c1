"""A client that stops reading is dropped at its SendQ; nobody else
loses anything; abrupt disconnects (RST) mid-send do not hurt the
server (no SIGPIPE)."""

import re
import threading
import time

from harness import FULL_SPEED, Server, join, numeric, rx, slow

# natterd fixes each socket's kernel send buffer (about 128 KiB), so the
# SendQ fills once that is full: the flooder goes on in batches until the
# stalled client is dropped.  The reading member is kept at most WINDOW
# (plus one batch) behind, well inside its kernel buffer and SendQ.
MAX_COUNT = 20000
PAD = "p" * 420
WINDOW = 100


def flood(client, room, count, errors, stop=None, sent=None, acked=None):
    """Sends numbered PRIVMSGs to room in batches of 100 until count or
    stop is set; sent[0] is the number sent.  With acked (a callable: how
    many a reading member got), stays at most WINDOW messages ahead of it,
    so that member never falls behind and hits the SendQ itself."""
    try:
        i = 0
        while i < count and not (stop and stop.is_set()):
            if acked is not None and i - acked() >= WINDOW:
                time.sleep(0.001)
                continue
            n = min(100, count - i)
            client.send_raw("".join("PRIVMSG %s :%05d %s\r\n" % (room, k, PAD)
                                    for k in range(i, i + n)).encode())
            i += n
            if sent is not None:
                sent[0] = i
    except Exception as e:       # reported by the main thread
        errors.append(e)


@slow
def test_sendq_drops_stalled_reader_only(f):
    s = Server(f, "--sendq", "20000", *FULL_SPEED)
    sender, reader = s.user("flooder"), s.user("reader")
    x = s.client("x", rcvbuf=4096, reader=False)
    x.register("x")
    join(sender, reader, room="#flood")
    x.join("#flood")
    sender.expect(":x!x@127.0.0.1 JOIN #flood")
    reader.expect(":x!x@127.0.0.1 JOIN #flood")
    # x reads nothing from here on.
    errors, stop, sent, got = [], threading.Event(), [0], []
    t = threading.Thread(target=flood, args=(sender, "#flood", MAX_COUNT,
                                             errors, stop, sent,
                                             lambda: len(got)))
    t.start()
    quit_line = ":x!x@127.0.0.1 QUIT :SendQ exceeded"
    msg = re.compile(r":flooder!flooder@127\.0\.0\.1 PRIVMSG #flood :(\d{5}) " + PAD)
    try:
        while True:
            if stop.is_set() or not t.is_alive():
                t.join(30)              # sent[0] is final now
                if len(got) >= sent[0]:
                    break
            line = reader.next_line(timeout=20)
            m = msg.fullmatch(line)
            if m:
                n = int(m.group(1))
                assert n == len(got), "reader: got message %d after %d " \
                    "(lost or reordered)" % (n, len(got) - 1)
                got.append(n)
            elif line == quit_line:
                stop.set()
            else:
                raise AssertionError("reader: unexpected line %r after %d "
                                     "messages" % (line, len(got)))
        if not stop.is_set():
            try:
                reader.expect(quit_line, timeout=5)
            except AssertionError:
                raise AssertionError("%d messages (%d bytes each) flooded, x "
                                     "never dropped for SendQ" % (sent[0], len(line)))
    finally:
        stop.set()
        t.join(30)
    assert not errors, "flooder: %s" % errors
    sender.expect(quit_line, timeout=10)
    lines = x.expect_closed(timeout=10)
    errs = [l for l in lines if l.startswith("ERROR")]
    assert errs in ([], ["ERROR :Closing Link: 127.0.0.1 (SendQ exceeded)"]), errs
    # Everyone left still works.
    reader.send("PRIVMSG #flood :after")
    sender.expect(":reader!reader@127.0.0.1 PRIVMSG #flood :after")


@slow
def test_rst_while_sending_no_sigpipe(f):
    # The watcher reads from Python while 2000 long lines arrive at full
    # speed: a SendQ with room for all of them keeps it from being the
    # one dropped.
    s = Server(f, "--sendq", "4194304", *FULL_SPEED)
    sender, watcher = s.user("sender"), s.user("watcher")
    join(sender, watcher, room="#rst")
    for round_ in range(4):
        v = s.client("victim%d" % round_, rcvbuf=4096, reader=False)
        v.register("victim%d" % round_)
        v.join("#rst")
        errors = []
        t = threading.Thread(target=flood, args=(sender, "#rst", 2000, errors))
        t.start()
        time.sleep(0.05)
        v.reset()                       # RST while the server writes to it
        t.join(30)
        assert not errors, errors
        watcher.expect(rx(r":victim%s!victim%s@127\.0\.0\.1 QUIT :.*", round_, round_),
                       timeout=20)
    sender.send("PING alive")
    sender.expect(":irc.test PONG irc.test :alive", timeout=20)
    assert s.alive(), "natterd died (SIGPIPE?)"
    s.user("newcomer")
