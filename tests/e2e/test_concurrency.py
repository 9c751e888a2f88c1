"""Many clients at once: nothing lost, per-sender order kept, races for
one nick or one new room have exactly one winner.  Mostly for TSan."""

import re
import threading

from harness import FULL_SPEED, Server, join, numeric, rx

N_CLIENTS = 8
PER_CLIENT = 100


def test_room_chatter_all_delivered_in_order(f):
    s = Server(f, *FULL_SPEED)
    users = [s.user("u%d" % i) for i in range(N_CLIENTS)]
    join(*users, room="#busy")
    for u in users:                       # consume the later JOINs
        u.sync()
    barrier = threading.Barrier(len(users))
    errors = []

    def talk(u):
        try:
            barrier.wait(10)
            payload = "".join("PRIVMSG #busy :%s %03d\r\n" % (u.nick, k)
                              for k in range(PER_CLIENT))
            u.send_raw(payload.encode())
        except Exception as e:
            errors.append(e)
    threads = [threading.Thread(target=talk, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    msg = re.compile(r":(u\d+)!\1@127\.0\.0\.1 PRIVMSG #busy :(u\d+) (\d{3})")
    want = (len(users) - 1) * PER_CLIENT
    for u in users:
        last = {}
        n = 0
        while n < want:
            line = u.next_line(timeout=20)
            m = msg.fullmatch(line)
            assert m, "%s: unexpected %r" % (u.nick, line)
            who, k = m.group(1), int(m.group(3))
            assert who != u.nick, "%s got its own message back" % u.nick
            assert m.group(2) == who, line
            assert k == last.get(who, -1) + 1, "%s: from %s got %d after %d" % (
                u.nick, who, k, last.get(who, -1))
            last[who] = k
            n += 1
        u.no_line(rx(r".*PRIVMSG.*"), sync=True, wait=0)


def test_nick_race_one_winner(f):
    s = Server(f)
    racers = [s.user("r%d" % i) for i in range(N_CLIENTS)]
    barrier = threading.Barrier(len(racers))

    def go(c):
        barrier.wait(10)
        c.send("NICK prize")
    threads = [threading.Thread(target=go, args=(c,)) for c in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    winners = []
    for c in racers:
        line = c.expect(rx(r"(:%s!%s@127\.0\.0\.1 NICK prize|:irc\.test 433 %s prize "
                           r":Nickname is already in use)", c.nick, c.nick, c.nick))
        if " NICK " in line:
            winners.append(c.nick)
    assert len(winners) == 1, "winners of NICK prize: %s" % winners
    racers[0].send("ISON prize")
    racers[0].expect(rx(r":irc\.test 303 \S+ :prize ?"))


def test_new_room_race_one_op(f):
    s = Server(f)
    racers = [s.user("j%d" % i) for i in range(N_CLIENTS)]
    barrier = threading.Barrier(len(racers))

    def go(c):
        barrier.wait(10)
        c.send("JOIN #fresh")
    threads = [threading.Thread(target=go, args=(c,)) for c in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for c in racers:
        c.expect_joined("#fresh")
    racers[0].send("NAMES #fresh")
    line = racers[0].expect(rx(r":irc\.test 353 j0 = #fresh :.*"))
    names = line.split(" :", 1)[1].split()
    assert len(names) == N_CLIENTS, line
    assert sum(n.startswith("@") for n in names) == 1, "ops: %s" % line


def test_churn(f):
    """Clients join, talk, change nick, part and quit all at once; the
    server stays consistent (LUSERS back to the start, no crash)."""
    s = Server(f)
    watcher = s.user("watcher")
    watcher.join("#churn")
    errors = []

    def life(i):
        try:
            c = s.user("c%d" % i)
            for r in range(5):
                c.send("JOIN #churn,#side%d" % (i % 3))
                c.send("PRIVMSG #churn :round %d" % r)
                c.send("NICK c%dx%d" % (i, r))
                c.send("PART #side%d" % (i % 3))
            c.send("QUIT :done")
            c.expect_closed(timeout=20)
        except Exception as e:
            errors.append("c%d: %s" % (i, e))
    threads = [threading.Thread(target=life, args=(i,)) for i in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    watcher.send("LUSERS")
    lines = watcher.read_until(rx(r":irc\.test 266 .*"))
    assert numeric("251", "watcher", ":There are 1 users and 0 invisible on 1 servers") \
        in lines, lines
    watcher.send("NAMES #churn")
    watcher.expect(numeric("353", "watcher", "= #churn :@watcher"))
