"""Issue 13, section 2: IRCv3 MONITOR and extended-monitor.

MONITOR is ircv3-specifications extensions/monitor.md: MONITOR + - C L S,
730 RPL_MONONLINE (nick!user@host), 731 RPL_MONOFFLINE, 732/733
RPL_MONLIST/RPL_ENDOFMONLIST, 734 ERR_MONLISTFULL "<client> <limit>
<targets> :Monitor list is full.", ISUPPORT MONITOR=<limit>.  Replies to
MONITOR name the client; notifications use "*" for it, as the spec allows,
so one line goes to every watcher.  extended-monitor
(extensions/extended-monitor.md) adds AWAY, ACCOUNT, CHGHOST and SETNAME of
monitored nicks for clients with the respective cap.
"""

import re

from harness import (FULL_SPEED, NO_THROTTLE, SLOW, Server, join, numeric,
                     prefix, rx, slow, timeout)
from test_account_notify import create, login, oper
from test_account_notify import server as account_server
from test_account_notify import v3
from test_devices import device, make_account
from weechat import Relay, Weechat, wait_for

ANY = re.compile(".*")
LIMIT = 100


def on(*nicks):
    return ":irc.test 730 * :" + ",".join(prefix(n) for n in nicks)


def off(*nicks):
    return ":irc.test 731 * :" + ",".join(nicks)


# --- the command ---

def test_monitor_isupport(f):
    s = Server(f)
    c = s.client("alice")
    lines = c.register("alice")
    tokens = " ".join(l for l in lines if " 005 " in l).split()
    assert "MONITOR=%d" % LIMIT in tokens, lines


def test_monitor_add_replies(f):
    s = Server(f)
    a = s.user("alice")
    s.user("bob")
    s.user("Dave")
    # Invalid nicks are passed over, a repeated one (in any case) is
    # answered once; online ones carry their mask, offline ones are
    # shown as sent.
    a.send("MONITOR + bob,Carol,bad!nick,,BOB,dave,1x,carol")
    a.expect_exact_sequence([
        numeric("730", "alice", ":%s,%s" % (prefix("bob"), prefix("Dave"))),
        numeric("731", "alice", ":Carol")])
    a.no_line(ANY, sync=True)
    a.send("MONITOR L")
    a.expect_exact_sequence([
        numeric("732", "alice", ":bob,carol,Dave"),
        numeric("733", "alice", ":End of MONITOR list")])
    # Adding what is listed again adds nothing, and answers its state.
    a.send("MONITOR + carol,bob")
    a.expect_exact_sequence([
        numeric("730", "alice", ":" + prefix("bob")),
        numeric("731", "alice", ":carol")])
    a.send("MONITOR L")
    a.expect_exact_sequence([
        numeric("732", "alice", ":bob,carol,Dave"),
        numeric("733", "alice", ":End of MONITOR list")])
    a.no_line(ANY, sync=True)


def test_monitor_remove_clear_status(f):
    s = Server(f)
    a = s.user("alice")
    s.user("Bob")
    a.send("MONITOR + bob,carol,dave")
    a.expect_exact_sequence([
        numeric("730", "alice", ":" + prefix("Bob")),
        numeric("731", "alice", ":carol,dave")])
    # S: online with masks, offline as listed (casefolded).
    a.send("MONITOR S")
    a.expect_exact_sequence([
        numeric("730", "alice", ":" + prefix("Bob")),
        numeric("731", "alice", ":carol,dave")])
    # - takes nicks in any case; no reply.  Unknown nicks are ignored.
    a.send("MONITOR - CAROL,nobody")
    a.no_line(ANY, sync=True)
    a.send("MONITOR L")
    a.expect_exact_sequence([
        numeric("732", "alice", ":Bob,dave"),
        numeric("733", "alice", ":End of MONITOR list")])
    a.send("MONITOR s")
    a.expect_exact_sequence([
        numeric("730", "alice", ":" + prefix("Bob")),
        numeric("731", "alice", ":dave")])
    # C empties it; no reply.  L then only ends, S says nothing.
    a.send("MONITOR C")
    a.no_line(ANY, sync=True)
    a.send("MONITOR L")
    a.expect_exact_sequence([numeric("733", "alice", ":End of MONITOR list")])
    a.send("MONITOR S")
    a.no_line(ANY, sync=True)


def test_monitor_errors(f):
    s = Server(f)
    a = s.user("alice")
    a.send("MONITOR")
    a.expect_exact_sequence([numeric("461", "alice",
                                     "MONITOR :Not enough parameters")])
    a.send("MONITOR +")
    a.expect_exact_sequence([numeric("461", "alice",
                                     "MONITOR :Not enough parameters")])
    a.send("MONITOR -")
    a.expect_exact_sequence([numeric("461", "alice",
                                     "MONITOR :Not enough parameters")])
    a.send("MONITOR X bob")
    a.expect_exact_sequence([numeric("400", "alice",
                                     "MONITOR X :Unknown subcommand")])
    a.no_line(ANY, sync=True)
    # Before registration: 451, and nothing is kept.
    c = s.client("early")
    c.send("MONITOR + bob")
    c.expect(numeric("451", "*", ":You have not registered"))


# --- notifications ---

def test_monitor_online_offline_register_quit(f):
    s = Server(f)
    a = s.user("alice")
    w = s.user("watcher")
    a.send("MONITOR + bob")
    a.expect(numeric("731", "alice", ":bob"))
    # Nobody else hears anything.
    b = s.client("bob")
    b.send("NICK bob")
    a.no_line(ANY, sync=True)        # a NICK alone is not online
    b.send("USER bob 0 * :bob")
    b.expect_welcome()
    a.expect_exact_sequence([on("bob")])
    b.send("QUIT :bye")
    b.expect_closed()
    a.expect_exact_sequence([off("bob")])
    a.no_line(ANY, sync=True)
    w.no_line(ANY, sync=True)


def test_monitor_online_offline_nick_change(f):
    s = Server(f)
    a = s.user("alice")
    a.send("MONITOR + bob,robert")
    a.expect(numeric("731", "alice", ":bob,robert"))
    b = s.user("bob")
    a.expect_exact_sequence([on("bob")])
    # A new nick: the old offline, then the new online.
    b.send("NICK robert")
    b.expect(":%s NICK robert" % prefix("bob"))
    a.expect_exact_sequence([off("bob"), on("robert").replace(
        "robert!robert", "robert!bob")])
    # A new case of the same nick: neither.
    b.send("NICK Robert")
    b.expect(":robert!bob@127.0.0.1 NICK Robert")
    a.no_line(ANY, sync=True)
    # A watcher sharing a room sees the NICK line, then the 731/730.
    b.nick = "Robert"
    join(a, b, room="#r")
    b.send("NICK bob")
    a.expect_exact_sequence([
        ":Robert!bob@127.0.0.1 NICK bob",
        off("Robert"), on("bob")])
    a.no_line(ANY, sync=True)


def test_monitor_offline_on_kill_and_drop(f):
    s = Server(f, "--oper", "admin:secret")
    a = s.user("alice")
    o = s.user("op")
    o.send("OPER admin secret")
    o.expect(numeric("381", "op", ":You are now an IRC operator"))
    b = s.user("bob")
    c = s.user("carol")
    a.send("MONITOR + bob,carol")
    a.expect(numeric("730", "alice", ":%s,%s" % (prefix("bob"),
                                                 prefix("carol"))))
    o.send("KILL bob :enough")
    b.expect_closed()
    a.expect_exact_sequence([off("bob")])
    # A connection that drops without QUIT is offline too.
    c.reset()
    a.expect_exact_sequence([off("carol")])
    a.no_line(ANY, sync=True)


def test_monitor_nick_changing_hands(f):
    s = Server(f)
    a = s.user("alice")
    a.send("MONITOR + bob")
    a.expect(numeric("731", "alice", ":bob"))
    b = s.user("bob")
    a.expect_exact_sequence([on("bob")])
    # bob leaves the nick and someone else takes it at once: offline for
    # the old holder, then online with the new one's mask.
    b.send("NICK bobby")
    b.expect(":%s NICK bobby" % prefix("bob"))
    c = s.user("bob", user="other")
    a.expect_exact_sequence([off("bob"), on("bob").replace("bob!bob",
                                                           "bob!other")])
    c.send("QUIT")
    c.expect_closed()
    a.expect_exact_sequence([off("bob")])
    a.no_line(ANY, sync=True)


def test_monitor_own_nick(f):
    """Monitoring one's own nick works, in order with one's NICK echo."""
    s = Server(f)
    a = s.user("alice")
    a.send("MONITOR + alice,alicia")
    a.expect_exact_sequence([numeric("730", "alice", ":" + prefix("alice")),
                             numeric("731", "alice", ":alicia")])
    a.send("NICK alicia")
    a.expect_exact_sequence([":%s NICK alicia" % prefix("alice"),
                             off("alice"),
                             on("alicia").replace("alicia!alicia",
                                                  "alicia!alice")])
    a.no_line(ANY, sync=True)


def test_monitor_devices(f):
    """A person is online from its first device to its last; each device
    (connection) keeps a list of its own."""
    s = Server(f, "--oper", "admin:secret")
    make_account(s, "alice", "pw-alice-1")
    w = s.user("watcher")
    w.send("MONITOR + alice")
    w.expect(numeric("731", "watcher", ":alice"))
    laptop = device(s, "alice", "alice", "pw-alice-1")
    w.expect_exact_sequence([on("alice")])
    phone = device(s, "phone", "alice", "pw-alice-1")
    assert phone.nick == "alice"
    w.no_line(ANY, sync=True)
    laptop.send("MONITOR + bob")
    laptop.expect(numeric("731", "alice", ":bob"))
    phone.sync()
    phone.drain()
    phone.send("MONITOR L")
    phone.expect_exact_sequence([numeric("733", "alice",
                                         ":End of MONITOR list")])
    s.user("bob")
    laptop.expect_exact_sequence([on("bob")])
    phone.no_line(rx(r":irc\.test 73\d .*"), sync=True)
    phone.send("QUIT")
    phone.expect_closed()
    w.no_line(ANY, sync=True)
    laptop.send("QUIT")
    laptop.expect_closed()
    w.expect_exact_sequence([off("alice")])
    w.no_line(ANY, sync=True)


# --- bounds ---

def nicks(n, stem="n"):
    return ["%s%d" % (stem, i) for i in range(n)]


def add_all(c, names):
    """MONITOR + in lines that fit 512 bytes; waits for every reply."""
    chunk = []
    for name in names + [None]:
        if name is None or len("MONITOR + " + ",".join(chunk + [name])) > 500:
            c.send("MONITOR + " + ",".join(chunk))
            c.sync()
            chunk = []
        if name is not None:
            chunk.append(name)


def listed(c):
    c.send("MONITOR L")
    got = []
    while True:
        line = c.next_line()
        assert len(line.encode()) + 2 <= 512, line
        if line == numeric("733", c.nick, ":End of MONITOR list"):
            return got
        m = re.fullmatch(r":irc\.test 732 %s :(\S+)" % c.nick, line)
        assert m, line
        got += m.group(1).split(",")


def test_monitor_list_full(f):
    s = Server(f, *FULL_SPEED)
    a = s.user("alice")
    s.user("x1")
    add_all(a, nicks(LIMIT - 2))
    a.drain()
    # Two places left: x0 (offline) and x1 (online) fit, x2 and x3 do not.
    a.send("MONITOR + x0,x1,x2,x3")
    a.expect_exact_sequence([
        numeric("730", "alice", ":" + prefix("x1")),
        numeric("731", "alice", ":x0"),
        numeric("734", "alice", "%d x2,x3 :Monitor list is full." % LIMIT)])
    got = listed(a)
    assert len(got) == LIMIT and set(got) == set(nicks(LIMIT - 2) +
                                                 ["x0", "x1"]), got
    # A nick already listed still answers, without 734; a new one, alone,
    # gets 734 with its name as sent.
    a.send("MONITOR + N5,Y9")
    a.expect_exact_sequence([
        numeric("731", "alice", ":N5"),
        numeric("734", "alice", "%d Y9 :Monitor list is full." % LIMIT)])
    # Room again after a removal.
    a.send("MONITOR - n0")
    a.send("MONITOR + y9")
    a.expect_exact_sequence([numeric("731", "alice", ":y9")])
    assert len(listed(a)) == LIMIT
    a.no_line(ANY, sync=True)


def test_monitor_whole_list_bound_over_many_commands(f):
    """The bound holds for the list, whatever the number of commands that
    grew it, and the long replies (L, S) split into lines within 512
    bytes."""
    s = Server(f, *FULL_SPEED, *NO_THROTTLE)
    a = s.user("alice")
    long_nicks = ["N%s%02d" % ("x" * 28, i) for i in range(LIMIT + 20)]
    online = [s.user(n) for n in long_nicks[:12]]
    for n in long_nicks:
        a.send("MONITOR + " + n)
    a.sync()
    lines = a.drain()
    full = [l for l in lines if " 734 " in l]
    assert full == [numeric("734", "alice", "%d %s :Monitor list is full."
                            % (LIMIT, n)) for n in long_nicks[LIMIT:]], full
    # L: the nicks online as written, the others casefolded.
    got = listed(a)
    assert got == long_nicks[:12] + [n.lower() for n in
                                     long_nicks[12:LIMIT]], got
    a.send("MONITOR S")
    a.sync()
    lines = a.drain()
    masks, offl = [], []
    for l in lines:
        assert len(l.encode()) + 2 <= 512, l
        m = re.fullmatch(r":irc\.test (730|731) alice :(\S+)", l)
        assert m, l
        (masks if m.group(1) == "730" else offl).extend(m.group(2).split(","))
    assert masks == [prefix(c.nick, c.nick[:16]) for c in online], masks
    assert offl == [n.lower() for n in long_nicks[12:LIMIT]], offl
    assert len([l for l in lines if " 730 " in l]) > 1   # it was split
    # One MONITOR + of many long nicks: 734's list is cut to whole nicks
    # within 512 bytes.
    a.send("MONITOR C")
    add_all(a, ["m%d" % i for i in range(LIMIT)])
    a.drain()
    many = ["Z%s%02d" % ("y" * 28, i) for i in range(15)]
    a.send("MONITOR + " + ",".join(many))
    line = a.expect(rx(r":irc\.test 734 alice %s .*", LIMIT))
    assert len(line.encode()) + 2 <= 512, line
    shown = line.split()[4].split(",")
    assert shown == many[:len(shown)] and len(shown) >= 10, line


# --- clean-up ---

def test_monitor_gone_watcher_sends_nothing(f):
    s = Server(f)
    a = s.user("alice")
    a.send("MONITOR + bob")
    a.expect(numeric("731", "alice", ":bob"))
    a.send("QUIT")
    a.expect_closed()
    # Someone new takes alice's nick: the list did not stay with it.
    a2 = s.user("alice")
    b = s.user("bob")
    b.send("QUIT")
    b.expect_closed()
    a2.no_line(ANY, sync=True)
    a2.send("MONITOR L")
    a2.expect_exact_sequence([numeric("733", "alice",
                                      ":End of MONITOR list")])
    # A watcher that cleared its list or removed the nick hears nothing.
    c = s.user("carol")
    c.send("MONITOR + bob,dave")
    c.expect(numeric("731", "carol", ":bob,dave"))
    c.send("MONITOR - bob")
    c.send("MONITOR C")
    c.sync()
    s.user("bob")
    s.user("dave")
    c.no_line(ANY, sync=True)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as fp:
        for line in fp:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@slow
@timeout(300)
def test_monitor_memory_bounded_over_cycles(f):
    """Connections that fill their list and leave give everything back:
    the server's memory stays flat over many such cycles."""
    s = Server(f, *FULL_SPEED, *NO_THROTTLE)
    watcher = s.user("stay")
    watcher.send("MONITOR + w0")
    watcher.expect(numeric("731", "stay", ":w0"))

    def cycles(n, start):
        for i in range(start, start + n):
            c = s.user("w%d" % (i % 7))
            add_all(c, ["t%d_%d" % (i, k) for k in range(LIMIT)])
            c.send("QUIT")
            c.expect_closed()
            c.close()
            s.f.clients.remove(c)
    cycles(60, 0)
    before = rss_kb(s.proc.pid)
    cycles(240, 60)
    after = rss_kb(s.proc.pid)
    # 240 cycles of 100 entries that stayed would be well over 2 MB.  A
    # sanitizer build's allocator keeps freed memory for a while: there,
    # LeakSanitizer at exit is the check.
    if SLOW <= 1:
        assert after - before < 1500, (before, after)
    # The one watcher still hears of w0 (the last cycle's nick was w5).
    c = s.user("w0")
    watcher.expect(rx(r":irc\.test 731 \* :w0"))
    watcher.expect(on("w0"))


# --- extended-monitor ---

EXT_CAPS = ("away-notify", "account-notify", "chghost", "extended-monitor",
            "setname")


def test_extended_monitor_without_shared_room(f):
    s = account_server(f)
    create(s, "bob")
    w = v3(s, "watch", *EXT_CAPS)
    plain = v3(s, "plain", "away-notify", "account-notify", "setname")
    nomon = v3(s, "nomon", "extended-monitor")       # only the one cap
    b = v3(s, "bob")
    for c in (w, plain, nomon):
        c.send("MONITOR + bob")
        c.expect(numeric("730", c.nick, ":" + prefix("bob")))
    b.send("AWAY :lunch")
    w.expect_exact_sequence([":%s AWAY :lunch" % prefix("bob")])
    b.send("AWAY")
    w.expect_exact_sequence([":%s AWAY" % prefix("bob")])
    b.send("SETNAME :Robert B")
    w.expect_exact_sequence([":%s SETNAME :Robert B" % prefix("bob")])
    login(b, "bob")
    w.expect_exact_sequence([":%s ACCOUNT bob" % prefix("bob")])
    # natterd never changes a host: no CHGHOST, to anyone.
    for c in (w, plain, nomon):
        c.no_line(ANY, sync=True)
    # An operator logs bob out (ACCOUNT DELETE) while monitoring him
    # without a shared room: the operator hears it once too, in order.
    o = oper(s, "op")
    o.send("CAP REQ :account-notify extended-monitor")
    o.expect(":irc.test CAP op ACK :account-notify extended-monitor")
    o.send("MONITOR + bob")
    o.expect(numeric("730", "op", ":" + prefix("bob")))
    o.send("ACCOUNT DELETE bob")
    o.expect_exact_sequence([
        ":%s ACCOUNT *" % prefix("bob"),
        ":irc.test NOTICE op :ACCOUNT: deleted bob"])
    w.expect_exact_sequence([":%s ACCOUNT *" % prefix("bob")])
    for c in (w, plain, nomon, o):
        c.no_line(ANY, sync=True)


def test_extended_monitor_with_shared_room_once(f):
    s = account_server(f)
    create(s, "bob")
    w = v3(s, "watch", *EXT_CAPS)
    b = v3(s, "bob", "away-notify", "setname")
    join(w, b, room="#r")
    join(w, b, room="#s")
    w.send("MONITOR + bob")
    w.expect(numeric("730", "watch", ":" + prefix("bob")))
    b.send("AWAY :lunch")
    b.send("SETNAME :Robert B")
    b.expect(":%s SETNAME :Robert B" % prefix("bob"))
    login(b, "bob")
    w.expect_exact_sequence([
        ":%s AWAY :lunch" % prefix("bob"),
        ":%s SETNAME :Robert B" % prefix("bob"),
        ":%s ACCOUNT bob" % prefix("bob")])
    w.no_line(ANY, sync=True)
    # bob watching himself with extended-monitor: still once, his own.
    b.send("CAP REQ :extended-monitor")
    b.expect(":irc.test CAP bob ACK :extended-monitor")
    b.send("MONITOR + bob")
    b.expect(numeric("730", "bob", ":" + prefix("bob")))
    b.send("SETNAME :Bob again")
    b.expect_exact_sequence([":%s SETNAME :Bob again" % prefix("bob")])
    w.expect_exact_sequence([":%s SETNAME :Bob again" % prefix("bob")])
    b.no_line(ANY, sync=True)
    w.no_line(ANY, sync=True)


# --- a real client ---

@slow
@timeout(120)
def test_weechat_notify_uses_monitor(f):
    """WeeChat's /notify add uses MONITOR when 005 has MONITOR (it sends
    MONITOR + through a relay that records it) and says "notify: bob ...
    has connected" and "notify: bob has quit" in its server buffer."""
    s = Server(f)
    relay = Relay(f, s.port)
    try:
        weechat_notify(f, s, relay)
    finally:
        relay.close()


def weechat_notify(f, s, relay):
    sock = s.user("sock")
    wee = Weechat(f, relay.port, room="#wee")
    sock.join("#wee")
    sock.expect(rx(r":wee!wee@127\.0\.0\.1 JOIN :?#wee"), timeout=20)
    wee.command("notify add bob t")
    buf = "irc.server.t"

    def logged(what):
        return lambda text: [l for l in text.splitlines()
                             if "\tnotify: " in l and what in l]
    wait_for(lambda: "MONITOR + bob" in relay.lines(), 15,
             "weechat sent no MONITOR + bob (it sent %s)" % relay.lines()[-5:])
    wee.wait_log(buf, logged("bob is offline"), "no 'notify: bob is offline'",
                 timeout=15)
    b = s.user("bob")
    # The host comes from 730's mask: ISON would not have it.
    wee.wait_log(buf, logged("bob (bob@127.0.0.1) has connected"),
                 "no 'notify: bob has connected'", timeout=15)
    b.send("QUIT :bye")
    b.expect_closed()
    wee.wait_log(buf, logged("bob has quit"), "no 'notify: bob has quit'",
                 timeout=15)
    assert not [l for l in relay.lines() if l.startswith("ISON")], \
        relay.lines()
    wee.check_alive()
