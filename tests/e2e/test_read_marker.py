"""IRCv3 draft/read-marker: MARKREAD get and set, kept per account on the
server (markers only move forward, never past now), sent to every other
connection of the account that enabled the cap when one changes, sent
after each JOIN before its 366, for rooms and private conversations
(casefolded), refused without an account, bounded per account (the
oldest goes), kept across a restart and deleted with the account."""

import base64
import os
import re
import sqlite3
import time

from harness import FULL_SPEED, NO_THROTTLE, Server, numeric, rx, scaled

CHEAP = ("--argon2-memory", "64", "--argon2-time", "1",
         "--scram-iterations", "4096")
OPER = ("--oper", "admin:secret")
CAP = "draft/read-marker"
T1 = "2025-01-04T14:33:26.123Z"
T0 = "2025-01-01T00:00:00.000Z"
T2 = "2025-03-01T08:00:00.500Z"
MARKERS_MAX = 1024


def server(f, *flags, **kw):
    return Server(f, *FULL_SPEED, *NO_THROTTLE, *CHEAP, *OPER, *flags, **kw)


def oper(s):
    o = s.user(s.f.unique("op"))
    o.send("OPER admin secret")
    o.expect(numeric("381", o.nick, ":You are now an IRC operator"))
    return o


def make_account(s, name, password):
    o = oper(s)
    o.send("ACCOUNT CREATE %s %s" % (name, password))
    o.expect(":irc.test NOTICE %s :ACCOUNT: created %s" % (o.nick, name))
    o.send("QUIT")
    o.expect_closed()


def login(s, nick, account, password, caps=(CAP,)):
    """A connection that logs in with SASL PLAIN before registering, with
    caps; returns it with its welcome consumed."""
    c = s.client(nick)
    c.send("CAP LS 302")
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, nick))
    c.read_until(rx(r":irc\.test CAP \S+ LS :.*"))
    want = " ".join(("sasl",) + tuple(caps))
    c.send("CAP REQ :%s" % want)
    c.expect(rx(r":irc\.test CAP \S+ ACK :%s", want))
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    token = base64.b64encode(("\0%s\0%s" % (account, password)).encode())
    c.send("AUTHENTICATE " + token.decode())
    c.read_until(rx(r":irc\.test 903 \S+ :.*"))
    c.send("CAP END")
    line = c.read_until(rx(r":irc\.test 001 \S+ :.*"))[-1]
    c.nick = line.split()[2]
    c.read_until(rx(r":irc\.test (376|422) \S+ :.*"))
    return c


def plain_guest(s, nick, caps=(CAP,)):
    """A registered connection with caps and no account."""
    c = s.client(nick)
    c.send("CAP LS 302")
    c.read_until(rx(r":irc\.test CAP \* LS :.*"))
    c.send("CAP REQ :%s" % " ".join(caps))
    c.expect(":irc.test CAP * ACK :%s" % " ".join(caps))
    c.name = c.nick = nick
    c.send("NICK %s" % nick)
    c.send("USER %s 0 * :%s" % (nick, nick))
    c.send("CAP END")
    c.expect_welcome()
    return c


def mr(target, value):
    return ":irc.test MARKREAD %s %s" % (target, value)


def ts(t):
    return "timestamp=" + t


def no_marker(c):
    """No MARKREAD line pending or arriving."""
    c.no_line(rx(r".* MARKREAD .*"), sync=True)


# --- get and set ---

def test_set_and_get_a_room_marker(f):
    s = server(f)
    make_account(s, "alice", "pw-alice")
    a = login(s, "alice", "alice", "pw-alice")
    a.send("MARKREAD #room")
    a.expect(mr("#room", "*"))
    a.send("MARKREAD #Room " + ts(T1))
    a.expect(mr("#Room", ts(T1)))
    # The room's name is casefolded: any spelling is the same marker.
    a.send("MARKREAD #ROOM")
    a.expect(mr("#ROOM", ts(T1)))
    # Earlier, or the same: ignored, and the stored value comes back.
    a.send("MARKREAD #room " + ts(T0))
    a.expect(mr("#room", ts(T1)))
    a.send("MARKREAD #room " + ts(T1))
    a.expect(mr("#room", ts(T1)))
    a.send("MARKREAD #room " + ts(T2))
    a.expect(mr("#room", ts(T2)))
    a.send("MARKREAD #room")
    a.expect(mr("#room", ts(T2)))
    # Another room is another marker; extra parameters are ignored.
    a.send("MARKREAD #other %s extra" % ts(T0))
    a.expect(mr("#other", ts(T0)))


def test_a_marker_never_goes_past_now(f):
    s = server(f)
    make_account(s, "fred", "pw-fred")
    c = login(s, "fred", "fred", "pw-fred")
    before = time.time()
    c.send("MARKREAD #r " + ts("2099-01-01T00:00:00.000Z"))
    line = c.expect(rx(r":irc\.test MARKREAD #r timestamp=(\S+)"))
    after = time.time()
    got = re.fullmatch(r".* timestamp=(\S+)", line).group(1)
    secs = time.mktime(time.strptime(got[:19], "%Y-%m-%dT%H:%M:%S")) - \
        time.timezone + int(got[20:23]) / 1000
    assert before - 1 <= secs <= after + 1, (line, before, after)
    # Now that it is "now", a real message time later than it moves it.
    c.send("MARKREAD #r " + ts(T2))
    c.expect(mr("#r", "timestamp=" + got))


def test_private_target_is_casefolded(f):
    s = server(f)
    make_account(s, "gina", "pw-gina")
    g = login(s, "gina", "gina", "pw-gina")
    g.send("MARKREAD Bob[1]")
    g.expect(mr("Bob[1]", "*"))
    g.send("MARKREAD Bob[1] " + ts(T1))
    g.expect(mr("Bob[1]", ts(T1)))
    # RFC 1459 casemapping: [ and { are one letter.
    g.send("MARKREAD bob{1}")
    g.expect(mr("bob{1}", ts(T1)))
    # A nick and a room never share a marker.
    g.send("MARKREAD #bob[1]")
    g.expect(mr("#bob[1]", "*"))


# --- who hears of a change ---

def test_other_devices_hear_of_a_change_and_capless_ones_do_not(f):
    s = server(f)
    make_account(s, "hana", "pw-hana")
    laptop = login(s, "hana", "hana", "pw-hana")
    phone = login(s, "phone", "hana", "pw-hana")
    assert phone.nick == "hana", phone.nick
    old = login(s, "old", "hana", "pw-hana", caps=())
    assert old.nick == "hana", old.nick
    laptop.send("MARKREAD #room " + ts(T1))
    laptop.expect(mr("#room", ts(T1)))
    phone.expect(mr("#room", ts(T1)))
    # The setter gets its answer once.
    no_marker(laptop)
    no_marker(old)
    # A set that changes nothing is answered to the setter only.
    phone.send("MARKREAD #room " + ts(T0))
    phone.expect(mr("#room", ts(T1)))
    no_marker(laptop)
    # A private target goes the same way; a get tells nobody else.
    phone.send("MARKREAD carol " + ts(T2))
    phone.expect(mr("carol", ts(T2)))
    laptop.expect(mr("carol", ts(T2)))
    laptop.send("MARKREAD carol")
    laptop.expect(mr("carol", ts(T2)))
    no_marker(phone)
    # A connection without the cap still gets its own answers.
    old.send("MARKREAD #room " + ts(T2))
    old.expect(mr("#room", ts(T2)))
    laptop.expect(mr("#room", ts(T2)))
    phone.expect(mr("#room", ts(T2)))


def test_another_person_of_the_account_hears_too(f):
    """With --max-devices 1 a second login is a person of its own, with
    its own nick, logged in to the same account: its markers are the
    same, and it hears of changes.  Someone else hears nothing."""
    s = server(f, "--max-devices", "1")
    make_account(s, "jack", "pw-jack")
    make_account(s, "kim", "pw-kim")
    one = login(s, "jack", "jack", "pw-jack")
    two = login(s, "jack2", "jack", "pw-jack")
    assert two.nick == "jack2", two.nick
    kim = login(s, "kim", "kim", "pw-kim")
    one.send("MARKREAD #room " + ts(T1))
    one.expect(mr("#room", ts(T1)))
    two.expect(mr("#room", ts(T1)))
    no_marker(kim)
    kim.send("MARKREAD #room")
    kim.expect(mr("#room", "*"))


# --- JOIN ---

def test_join_sends_the_marker_before_names(f):
    s = server(f)
    make_account(s, "lena", "pw-lena")
    l1 = login(s, "lena", "lena", "pw-lena")
    l1.send("MARKREAD #room " + ts(T1))
    l1.expect(mr("#room", ts(T1)))
    l1.send("JOIN #Room")
    lines = l1.read_until(numeric("366", "lena", "#Room :End of /NAMES list"))
    assert lines[:2] == [":lena!lena@127.0.0.1 JOIN #Room",
                         mr("#Room", ts(T1))], lines
    assert sum(" MARKREAD " in x for x in lines) == 1, lines
    # A room with no marker: "*".
    l1.send("JOIN #new")
    lines = l1.read_until(numeric("366", "lena", "#new :End of /NAMES list"))
    assert lines[:2] == [":lena!lena@127.0.0.1 JOIN #new",
                         mr("#new", "*")], lines

    # A second device gets every room's marker after its JOIN line.
    l2 = login(s, "phone", "lena", "pw-lena")
    lines = l2.read_until(numeric("366", "lena", "#new :End of /NAMES list"))
    joins = [i for i, x in enumerate(lines) if " JOIN " in x]
    assert [lines[i + 1] for i in joins] == [mr("#Room", ts(T1)),
                                             mr("#new", "*")], lines
    # A JOIN on one device: the other sees the JOIN, then the marker.
    l2.send("JOIN #third")
    l2.read_until(numeric("366", "lena", "#third :End of /NAMES list"))
    l1.expect_exact_sequence([":lena!lena@127.0.0.1 JOIN #third",
                              mr("#third", "*")])


def test_join_without_the_cap_or_an_account(f):
    s = server(f)
    make_account(s, "mia", "pw-mia")
    plain = login(s, "mia", "mia", "pw-mia", caps=())
    plain.send("MARKREAD #room " + ts(T1))
    plain.expect(mr("#room", ts(T1)))
    lines = plain.join("#room")
    assert not [x for x in lines if "MARKREAD" in x], lines
    no_marker(plain)
    # With the cap and no account: the spec's "*".
    g = plain_guest(s, "nobody")
    g.send("JOIN #room")
    lines = g.read_until(numeric("366", "nobody", "#room :End of /NAMES list"))
    assert lines[:2] == [":nobody!nobody@127.0.0.1 JOIN #room",
                         mr("#room", "*")], lines


# --- errors ---

def test_not_logged_in(f):
    s = server(f)
    g = plain_guest(s, "nobody")
    g.send("MARKREAD #room")
    g.expect(":irc.test FAIL MARKREAD ACCOUNT_REQUIRED #room "
             ":You must be logged in to keep read markers")
    g.send("MARKREAD #room " + ts(T1))
    g.expect(":irc.test FAIL MARKREAD ACCOUNT_REQUIRED #room "
             ":You must be logged in to keep read markers")
    # Before registration: like any command.
    c = s.client("early")
    c.send("MARKREAD #room")
    c.expect(numeric("451", "*", ":You have not registered"))


def test_bad_parameters(f):
    s = server(f)
    make_account(s, "nora", "pw-nora")
    n = login(s, "nora", "nora", "pw-nora")
    need = ":irc.test FAIL MARKREAD NEED_MORE_PARAMS :Missing parameters"
    n.send("MARKREAD")
    n.expect(need)
    n.send("MARKREAD :")
    n.expect(need)

    def invalid(line, shown):
        n.send(line)
        n.expect(":irc.test FAIL MARKREAD INVALID_PARAMS %s "
                 ":Invalid parameters" % shown)
    invalid("MARKREAD #a,#b", "#a,#b")
    invalid("MARKREAD 1nick", "1nick")
    invalid("MARKREAD " + "n" * 33, "n" * 33)
    invalid("MARKREAD #" + "r" * 50, "#" + "r" * 50)
    invalid("MARKREAD #room " + T1, T1)
    invalid("MARKREAD #room *", "*")
    invalid("MARKREAD #room timestamp=*", "timestamp=*")
    invalid("MARKREAD #room timestamp=2025-02-30T00:00:00.000Z",
            "timestamp=2025-02-30T00:00:00.000Z")
    invalid("MARKREAD #room timestamp=2025-01-04T14:33:26Z",
            "timestamp=2025-01-04T14:33:26Z")
    invalid("MARKREAD #room timestamp=1969-12-31T23:59:59.999Z",
            "timestamp=1969-12-31T23:59:59.999Z")
    invalid("MARKREAD #room :two words", "*")
    invalid("MARKREAD #room :", "*")
    # Nothing was set by any of them.
    n.send("MARKREAD #room")
    n.expect(mr("#room", "*"))


def test_store_failure_is_an_internal_error(f):
    """Another process holds the database's write lock: the set fails
    with INTERNAL_ERROR, and nothing changed; once it lets go, it
    works."""
    db = f.path("h.db")
    s = server(f, "--db", db)
    make_account(s, "olga", "pw-olga")
    o = login(s, "olga", "olga", "pw-olga")
    o2 = login(s, "phone", "olga", "pw-olga")
    o.send("MARKREAD #room " + ts(T1))
    o.expect(mr("#room", ts(T1)))
    o2.expect(mr("#room", ts(T1)))
    con = sqlite3.connect(db, isolation_level=None, timeout=10)
    con.execute("BEGIN IMMEDIATE")
    try:
        o.send("MARKREAD #room " + ts(T2))
        o.expect(":irc.test FAIL MARKREAD INTERNAL_ERROR #room "
                 ":The read timestamp could not be set", timeout=15)
    finally:
        con.execute("ROLLBACK")
        con.close()
    no_marker(o2)
    o.send("MARKREAD #room")
    o.expect(mr("#room", ts(T1)))
    o.send("MARKREAD #room " + ts(T2))
    o.expect(mr("#room", ts(T2)))
    o2.expect(mr("#room", ts(T2)))


# --- bounds, persistence, deletion ---

def stamp(i):
    """A distinct time for marker i, increasing with i."""
    return "2025-01-01T%02d:%02d:%02d.000Z" % (i // 3600, i // 60 % 60,
                                               i % 60)


def test_the_oldest_marker_goes_past_the_bound(f):
    db = f.path("h.db")
    s = server(f, "--db", db, "--db-sync", "off")
    make_account(s, "pia", "pw-pia")
    p = login(s, "pia", "pia", "pw-pia")
    # Set in an order unlike their times, so the oldest is not the
    # first set: #r0 gets the oldest time last.
    order = list(range(1, MARKERS_MAX)) + [0]
    for i in order:
        p.send("MARKREAD #r%d %s" % (i, ts(stamp(i))))
    for i in order:
        p.expect(mr("#r%d" % i, ts(stamp(i))), timeout=30)
    # One more: #r0, the oldest, goes.
    p.send("MARKREAD newpeer " + ts(T1))
    p.expect(mr("newpeer", ts(T1)))
    for target, want in (("#r0", "*"), ("#r1", ts(stamp(1))),
                         ("#r%d" % (MARKERS_MAX - 1),
                          ts(stamp(MARKERS_MAX - 1))),
                         ("newpeer", ts(T1))):
        p.send("MARKREAD " + target)
        p.expect(mr(target, want))
    # Moving one that exists drops nothing.
    p.send("MARKREAD #r1 " + ts(T2))
    p.expect(mr("#r1", ts(T2)))
    p.send("MARKREAD #r2")
    p.expect(mr("#r2", ts(stamp(2))))
    s.stop()
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT target FROM read_marker").fetchall()
    finally:
        con.close()
    names = {r[0] for r in rows}
    assert len(rows) == MARKERS_MAX, len(rows)
    assert "#r0" not in names and "newpeer" in names, sorted(names)[:5]


def test_markers_survive_a_restart(f):
    db = f.path("h.db")
    s = server(f, "--db", db)
    make_account(s, "rosa", "pw-rosa")
    r = login(s, "rosa", "rosa", "pw-rosa")
    r.send("MARKREAD #Room " + ts(T1))
    r.expect(mr("#Room", ts(T1)))
    r.send("MARKREAD Sam " + ts(T2))
    r.expect(mr("Sam", ts(T2)))
    s.stop()
    s2 = server(f, "--db", db)
    r = login(s2, "rosa", "rosa", "pw-rosa")
    r.send("MARKREAD #room")
    r.expect(mr("#room", ts(T1)))
    r.send("MARKREAD sam")
    r.expect(mr("sam", ts(T2)))
    r.send("JOIN #ROOM")
    lines = r.read_until(numeric("366", "rosa", "#ROOM :End of /NAMES list"))
    assert lines[:2] == [":rosa!rosa@127.0.0.1 JOIN #ROOM",
                         mr("#ROOM", ts(T1))], lines
    # Still only forward after the restart.
    r.send("MARKREAD #room " + ts(T0))
    r.expect(mr("#room", ts(T1)))


def test_account_delete_takes_its_markers(f):
    db = f.path("h.db")
    s = server(f, "--db", db)
    make_account(s, "tom", "pw-tom")
    t = login(s, "tom", "tom", "pw-tom")
    t.send("MARKREAD #room " + ts(T1))
    t.expect(mr("#room", ts(T1)))
    o = oper(s)
    o.send("ACCOUNT DELETE tom")
    o.expect(":irc.test NOTICE %s :ACCOUNT: deleted tom" % o.nick)
    t.expect(rx(r":irc\.test 901 tom .*"))
    # Logged out: no markers.
    t.send("MARKREAD #room")
    t.expect(":irc.test FAIL MARKREAD ACCOUNT_REQUIRED #room "
             ":You must be logged in to keep read markers")
    # An account made again with the name starts with none.
    o.send("ACCOUNT CREATE tom pw-tom2")
    o.expect(":irc.test NOTICE %s :ACCOUNT: created tom" % o.nick)
    t2 = login(s, "tom2", "tom", "pw-tom2")
    t2.send("MARKREAD #room")
    t2.expect(mr("#room", "*"))
    s.stop()
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT * FROM read_marker").fetchall()
    finally:
        con.close()
    assert rows == [], rows


def test_markers_in_memory_only(f):
    """--db off: markers work, and last as long as natterd."""
    s = server(f, "--db", "off")
    make_account(s, "uma", "pw-uma")
    u = login(s, "uma", "uma", "pw-uma")
    u.send("MARKREAD #room " + ts(T1))
    u.expect(mr("#room", ts(T1)))
    u.send("MARKREAD #room")
    u.expect(mr("#room", ts(T1)))


def test_labeled_markread(f):
    """labeled-response: the answer carries the label, the other
    device's copy does not."""
    s = server(f)
    make_account(s, "vera", "pw-vera")
    v = login(s, "vera", "vera", "pw-vera", caps=(CAP, "labeled-response"))
    v2 = login(s, "phone", "vera", "pw-vera")
    v.send("@label=m1 MARKREAD #room " + ts(T1))
    v.expect("@label=m1 " + mr("#room", ts(T1)))
    v2.expect(mr("#room", ts(T1)))
    v.send("@label=m2 MARKREAD")
    v.expect("@label=m2 :irc.test FAIL MARKREAD NEED_MORE_PARAMS "
             ":Missing parameters")
