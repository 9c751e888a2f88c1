"""A crash loses no line anyone saw: several clients send at full speed
to two rooms and to two receivers, natterd is SIGKILLed mid-stream and
started again on the same database; every line that a receiver logged
before the kill must be in the history file with the same msgid, in the
same order.  (The file is read directly: a room made after the restart
is a new room, whose CHATHISTORY starts afresh.)

    NATTER_CRASH_REPEAT=20 python3 tests/e2e/run.py \\
        --server server/natterd -k crash

runs the whole round 20 times inside the one test (each round with a
new database).  NATTER_CRASH_TRAFFIC sets the seconds of traffic before
the kill (default 0.7)."""

import os
import re
import signal
import sqlite3
import threading
import time

from harness import Server, slow, timeout
from test_caps import cap_user

REPEAT = int(os.environ.get("NATTER_CRASH_REPEAT", "1"))
TRAFFIC = float(os.environ.get("NATTER_CRASH_TRAFFIC", "0.7"))
SENDERS = ("s1", "s2", "s3", "s4")
RECEIVERS = ("r1", "r2")
ROOMS = ("#a", "#b")
CAPS = "batch message-tags server-time"
EPOCH = "timestamp=1970-01-01T00:00:00.000Z"
LINE = re.compile(r"@time=\S+?;msgid=(\S+?) :([^!\s]+)!\S+ PRIVMSG (\S+) "
                  r":(.*)")


def v3_user(s, nick):
    return cap_user(s, nick, *CAPS.split())


def blast(c, stop, sent, tag):
    """Sends PRIVMSGs to the rooms and the receivers, as fast as the
    socket takes them, in chunks of pipelined lines, until stop is set
    or the connection fails."""
    targets = ROOMS + RECEIVERS
    k = 0
    try:
        while not stop.is_set():
            chunk = []
            for _ in range(64):
                chunk.append("PRIVMSG %s :%s-%s-%d\r\n"
                             % (targets[k % len(targets)], tag, c.nick, k))
                k += 1
            c.sock.sendall("".join(chunk).encode())
            sent[c.nick] = k
    except (OSError, AttributeError):
        pass


def logged(c):
    """What receiver c saw: {conversation: [(msgid, sender, text)]},
    keyed by the room, or for a private message by the sender.  The last
    line is left out: the kill may have cut it short."""
    out = {}
    for line in list(c.history)[:-1]:
        m = LINE.fullmatch(line)
        if not m:
            continue
        msgid, nick, target, text = m.groups()
        key = target if target.startswith("#") else nick
        out.setdefault(key, []).append((msgid, nick, text))
    return out


def fetch_all(db, key):
    """Every message of key (a room, or "a b" for a private conversation)
    in the file, oldest first: [(msgid, sender, text)]."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        rows = con.execute("SELECT msgid, source, params FROM message "
                           "WHERE key = ? AND command = 'PRIVMSG' "
                           "ORDER BY seq", (key,)).fetchall()
    finally:
        con.close()
    return [(msgid, source.split("!")[0], params.split(" :", 1)[1])
            for msgid, source, params in rows]


def check_subsequence(who, conv, seen_lines, history):
    """Problems, as (kind, text): every line in seen_lines must be in
    history with the same msgid and text ("lost", "changed"), then in
    the same order: each sender's lines ("order within a sender"), and
    all of them ("order")."""
    where = {msgid: (i, nick, text)
             for i, (msgid, nick, text) in enumerate(history)}
    if len(where) != len(history):
        return [("duplicate", "%s: duplicate msgids in the history of %s"
                 % (who, conv))]
    missing = [(msgid, nick, text) for msgid, nick, text in seen_lines
               if msgid not in where]
    if missing:
        return [("lost", "%s logged %d lines of %s before the kill that "
                 "its history (%d lines) lacks, e.g. %r"
                 % (who, len(missing), conv, len(history), missing[:3]))]
    for msgid, nick, text in seen_lines:
        i, hnick, htext = where[msgid]
        if (hnick, htext) != (nick, text):
            return [("changed", "%s: msgid %s in %s was %s %r, history "
                     "says %s %r" % (who, msgid, conv, nick, text, hnick,
                                     htext))]
    for only in sorted({nick for _, nick, _ in seen_lines}) + [None]:
        last, prev = -1, None
        for msgid, nick, text in seen_lines:
            if only is not None and nick != only:
                continue
            i = where[msgid][0]
            if i < last:
                return [("order" if only is None else
                         "order within a sender",
                         "%s received %s %r (msgid %s) after %s %r (msgid "
                         "%s); the history of %s has them the other way "
                         "round (lines %d and %d of %d)"
                         % (who, nick, text, msgid, prev[1], prev[2],
                            prev[0], conv, i, last, len(history)))]
            last, prev = i, (msgid, nick, text)
    return []


def one_round(f, n):
    db = f.path("crash%d.db" % n)
    s = Server(f, "--db", db, "--sendq", 64 << 20)
    recv = [v3_user(s, nick) for nick in RECEIVERS]
    for room in ROOMS:
        for r in recv:
            r.join(room)
        recv[0].send("MODE %s -n" % room)    # senders need not join
        for r in recv:
            r.expect(":r1!r1@127.0.0.1 MODE %s -n" % room)
    senders = [s.user(nick) for nick in SENDERS]
    stop = threading.Event()
    sent = {}
    threads = [threading.Thread(target=blast, args=(c, stop, sent,
                                                    "x%d" % n), daemon=True)
               for c in senders]
    for t in threads:
        t.start()
    time.sleep(TRAFFIC)
    s.kill()
    s.stop()
    stop.set()
    for r in recv:
        r.expect_closed(timeout=10)
    for t in threads:
        t.join(10)
    for c in senders:
        c.close()
    seen = {r.nick: logged(r) for r in recv}
    total = sum(len(v) for per in seen.values() for v in per.values())
    assert total >= 20, ("only %d lines reached the receivers in %gs "
                         "(sent %r)" % (total, TRAFFIC, sent))

    problems = []
    # natterd opens the file after the crash (recovering its WAL) and
    # stops cleanly; then the file is read.
    s2 = Server(f, "--db", db)
    s2.user("check")
    s2.stop()
    assert s2.returncode == 0 or s2.returncode == -signal.SIGTERM, \
        s2.returncode
    for me in RECEIVERS:
        convs = list(ROOMS) + list(SENDERS) if me == "r1" else \
            list(SENDERS)
        for conv in convs:
            key = conv if conv.startswith("#") else \
                " ".join(sorted((me, conv)))
            history = fetch_all(db, key)
            for who, per in seen.items():
                if conv.startswith("#") or who == me:
                    problems += check_subsequence(who, conv,
                                                  per.get(conv, []), history)
    for c in recv + senders:
        f.clients.remove(c)
    return total, problems


@slow
@timeout(30 + 20 * REPEAT)
def test_crash_keeps_every_delivered_line(f):
    found = []
    lines = 0
    for n in range(REPEAT):
        total, problems = one_round(f, n)
        lines += total
        found += [(kind, "round %d: %s" % (n + 1, text))
                  for kind, text in problems]
    # Losing a line is worse than reordering: reported first.
    for kinds in (("lost", "changed", "duplicate"),
                  ("order within a sender",), ("order",)):
        bad = [text for kind, text in found if kind in kinds]
        rounds = {t.split(":")[0] for t in bad}
        assert not bad, "%s in %d of %d rounds (%d lines logged in all): " \
            "%s" % ("/".join(kinds), len(rounds), REPEAT, lines,
                    "; ".join(bad[:4]))
