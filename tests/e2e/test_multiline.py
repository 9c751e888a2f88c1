"""IRCv3 draft/multiline: a client with the cap sends BATCH +ref
draft/multiline <target>, PRIVMSG lines tagged batch=ref, BATCH -ref.
The message goes to clients with the cap as one batch (named after its
msgid) and to the others as its lines; it is stored as one message,
replayed and returned by CHATHISTORY as a batch; a refused batch
answers FAIL BATCH MULTILINE_* and delivers nothing; flood control
counts a batch by its size (2 lines + one per 512 bytes)."""

import re
import sqlite3
import time

from harness import FULL_SPEED, Server, cap_ls_words, join, rx, scaled, timeout
from test_caps import cap_user

CAP_VALUE = "draft/multiline=max-bytes=4096,max-lines=100"
ML = ("batch", "draft/multiline")
MSGID = r"[0-9a-z]{20}"
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
A = "alice!alice@127.0.0.1"


def send_batch(c, ref, target, lines, open_tags=""):
    """lines: texts, or (text, concat) pairs."""
    out = ["%sBATCH +%s draft/multiline %s" % (open_tags, ref, target)]
    for ln in lines:
        text, concat = ln if isinstance(ln, tuple) else (ln, False)
        out.append("@batch=%s%s PRIVMSG %s :%s" % (
            ref, ";draft/multiline-concat" if concat else "", target, text))
    out.append("BATCH -%s" % ref)
    c.send_raw(("\r\n".join(out) + "\r\n").encode())


def expect_batch(c, src, target, lines, first_tags="", outer=None):
    """The batch as a client with the cap gets it, the lines before it
    skipped; first_tags: a regex for the tags of its BATCH line (with
    their trailing space), outer: the batch it is nested in.  Returns
    its reference."""
    if outer:
        tags = re.escape("@batch=%s" % outer) + \
            (";" + first_tags if first_tags else " ")
    else:
        tags = "@" + first_tags if first_tags else ""
    start = c.expect(re.compile(r"%s:%s BATCH \+(%s) draft/multiline %s"
                                % (tags, re.escape(src), MSGID,
                                   re.escape(target))))
    ref = start.split(" BATCH +", 1)[1].split()[0]
    want = []
    for ln in lines:
        text, concat = ln if isinstance(ln, tuple) else (ln, False)
        want.append("@batch=%s%s :%s PRIVMSG %s :%s" % (
            ref, ";draft/multiline-concat" if concat else "", src, target,
            text))
    want.append("%s:%s BATCH -%s" % ("@batch=%s " % outer if outer else "",
                                     src, ref))
    c.expect_exact_sequence(want)
    return ref


def test_multiline_cap_value(f):
    s = Server(f)
    c = s.client("x")
    words = cap_ls_words(c)
    assert CAP_VALUE in words, words


def test_multiline_not_offered_with_no_multiline(f):
    """--no-multiline: not in CAP LS, a REQ for it is refused, and a
    BATCH from the client is an unknown command."""
    s = Server(f, "--no-multiline")
    c = s.client("x")
    ls = " ".join(cap_ls_words(c))
    assert "draft/multiline" not in ls, ls
    c.send("CAP REQ :batch draft/multiline")
    c.expect(rx(r":irc\.test CAP \* NAK :batch draft/multiline"))
    c.send("CAP END")
    c.register("x")
    c.send("BATCH +b draft/multiline #r")
    c.expect(rx(r":irc\.test 421 x BATCH :.*"))


def test_multiline_room_batch_and_plain_lines(f):
    s = Server(f)
    a = cap_user(s, "alice", *ML)
    b = cap_user(s, "bob", *ML, "message-tags")
    p = s.user("carol")
    join(a, b, p, room="#r")
    lines = ["hello", "how is ", ("everyone?", True), "", "bye"]
    send_batch(a, "x1", "#r", lines)
    ref = expect_batch(b, A, "#r", lines, first_tags=r"msgid=%s " % MSGID)
    start = [ln for ln in b.history if " BATCH +" in ln][-1]
    assert start.startswith("@msgid=%s " % ref), start
    # Without the cap: the lines as the client split them, no blank one.
    p.expect_exact_sequence([":%s PRIVMSG #r :%s" % (A, t) for t in
                             ("hello", "how is ", "everyone?", "bye")])
    p.no_line(re.compile(".*PRIVMSG.*"), sync=True)
    a.no_line(re.compile(".*PRIVMSG.*"), sync=True)     # no echo-message


def test_multiline_private_echo_with_label(f):
    s = Server(f)
    a = cap_user(s, "alice", *ML, "echo-message", "labeled-response")
    b = s.user("bob")
    send_batch(a, "p1", "bob", ["one", "two"], open_tags="@label=L7 ")
    b.expect_exact_sequence([":%s PRIVMSG bob :one" % A,
                             ":%s PRIVMSG bob :two" % A])
    # The label is on the BATCH line only.
    start = a.expect(re.compile(r"@label=L7 :%s BATCH \+(%s) "
                                r"draft/multiline bob" % (re.escape(A),
                                                          MSGID)))
    ref = start.split("+", 1)[1].split()[0]
    a.expect_exact_sequence(["@batch=%s :%s PRIVMSG bob :one" % (ref, A),
                             "@batch=%s :%s PRIVMSG bob :two" % (ref, A),
                             ":%s BATCH -%s" % (A, ref)])
    # Without echo-message, a labeled batch gets an ACK.
    c = cap_user(s, "carl", *ML, "labeled-response")
    send_batch(c, "q", "bob", ["hi"], open_tags="@label=L8 ")
    c.expect("@label=L8 :irc.test ACK")
    b.expect(":carl!carl@127.0.0.1 PRIVMSG bob :hi")


def test_multiline_checks_like_privmsg(f):
    s = Server(f, *FULL_SPEED)
    a = cap_user(s, "alice", *ML)
    send_batch(a, "n1", "nobody", ["x"])
    a.expect(":irc.test 401 alice nobody :No such nick/channel")
    b = s.user("bob")
    join(b, a, room="#m")
    b.send("MODE #m +m")
    a.expect(":bob!bob@127.0.0.1 MODE #m +m")
    send_batch(a, "n2", "#m", ["x"])
    a.expect(":irc.test 404 alice #m :Cannot send to channel")
    b.send("AWAY :lunch")
    b.expect(":irc.test 306 bob :You have been marked as being away")
    send_batch(a, "n3", "bob", ["x", "y"])
    a.expect(":irc.test 301 alice bob :lunch")      # once for the batch
    b.expect_exact_sequence([":%s PRIVMSG bob :x" % A,
                             ":%s PRIVMSG bob :y" % A])
    a.no_line(re.compile(r":irc\.test 301 .*"), sync=True)


def test_multiline_fails_deliver_nothing(f):
    s = Server(f, *FULL_SPEED)
    a = cap_user(s, "alice", *ML)
    b = cap_user(s, "bob", *ML)
    p = s.user("carol")
    join(a, b, p, room="#r")
    cases = [
        (["y" * 450] * 10,
         ":irc.test FAIL BATCH MULTILINE_MAX_BYTES 4096 "
         ":Multiline batch max-bytes exceeded"),
        (["z"] * 101,
         ":irc.test FAIL BATCH MULTILINE_MAX_LINES 100 "
         ":Multiline batch max-lines exceeded"),
        (["ok", ("", True)],
         ":irc.test FAIL BATCH MULTILINE_INVALID "
         ":A concatenated line may not be blank"),
        (["", ""],
         ":irc.test FAIL BATCH MULTILINE_INVALID "
         ":A multiline message needs a line that is not blank"),
    ]
    for i, (lines, fail) in enumerate(cases):
        send_batch(a, "f%d" % i, "#r", lines)
        a.expect(fail)
    # A line to another target, and a NOTICE.
    a.send_raw(b"BATCH +t draft/multiline #r\r\n"
               b"@batch=t PRIVMSG #r :fine\r\n"
               b"@batch=t PRIVMSG #other :no\r\n"
               b"@batch=t PRIVMSG #r :dropped\r\n"
               b"BATCH -t\r\n")
    a.expect(":irc.test FAIL BATCH MULTILINE_INVALID_TARGET #r #other "
             ":Invalid multiline target")
    a.send_raw(b"BATCH +n draft/multiline #r\r\n"
               b"@batch=n NOTICE #r :no\r\n"
               b"BATCH -n\r\n")
    a.expect(":irc.test FAIL BATCH MULTILINE_INVALID "
             ":Only PRIVMSG lines may be in a multiline batch")
    # Another command while a batch is open ends it, undelivered.
    a.send_raw(b"BATCH +u draft/multiline #r\r\n"
               b"@batch=u PRIVMSG #r :lost\r\n"
               b"PRIVMSG #r :after\r\n")
    a.expect(":irc.test FAIL BATCH MULTILINE_INVALID "
             ":Multiline batch not closed")
    for c in (b, p):
        c.expect(":%s PRIVMSG #r :after" % A)
        said = [ln for ln in c.history if ln.startswith(":" + A) or
                " BATCH " in ln]
        assert said == [":%s PRIVMSG #r :after" % A], said


def dropped(s):
    """(why, open batches, bytes they hold) of each batch natterd
    dropped undelivered (-v), counted after it was freed."""
    return re.findall(r"multiline batch \S+ dropped \(([^)]*)\); open "
                      r"batches (\d+), holding (\d+) bytes", s.log_text())


def wait_log(s, pred, what):
    deadline = time.monotonic() + scaled(5)
    while not pred():
        assert time.monotonic() < deadline, "%s:\n%s" % (
            what, s.log_text()[-2000:])
        time.sleep(0.05)


def test_multiline_unclosed_batches_are_freed(f):
    s = Server(f, "-v", *FULL_SPEED)
    a = cap_user(s, "alice", *ML)
    a.join("#r")
    # Batch after batch, none closed: each new one drops the last.
    for k in range(20):
        a.send_raw(("BATCH +k%d draft/multiline #r\r\n" % k).encode() +
                   b"".join(b"@batch=k%d PRIVMSG #r :%s\r\n" %
                            (k, b"w" * 39) for _ in range(100)))
    a.send("PRIVMSG #r :end")
    for _ in range(20):     # each new batch, then the PRIVMSG, ends one
        a.expect(":irc.test FAIL BATCH MULTILINE_INVALID "
                 ":Multiline batch not closed")
    got = dropped(s)
    assert [w for w, _, _ in got] == ["another batch opened"] * 19 + \
        ["not closed"], got
    assert all(n == "0" and b == "0" for _, n, b in got), got
    # 100 lines, then the client hangs up: nothing stays held.
    q = cap_user(s, "quitter", *ML)
    q.join("#r")
    q.send_raw(b"BATCH +z draft/multiline #r\r\n" +
               b"".join(b"@batch=z PRIVMSG #r :%d\r\n" % i
                        for i in range(100)))
    q.sync()
    q.close()
    wait_log(s, lambda: ("connection closed", "0", "0") in dropped(s),
             "the quitter's batch was not freed")


def test_multiline_replay_and_chathistory(f):
    s = Server(f)
    a = cap_user(s, "alice", *ML, "echo-message")
    a.join("#h")
    lines = ["first", "second ", ("half", True)]
    send_batch(a, "h", "#h", lines)
    expect_batch(a, A, "#h", lines)
    # JOIN replay, for a client with the cap: nested in chathistory.
    d = cap_user(s, "dave", *ML, "server-time", "message-tags")
    d.send("JOIN #h")
    h = d.expect(rx(r":irc\.test BATCH \+(\S+) chathistory #h"))
    hid = h.split("+", 1)[1].split()[0]
    ref = expect_batch(d, A, "#h", lines, outer=hid,
                       first_tags=r"time=%s;msgid=%s " % (TIME, MSGID))
    d.expect(":irc.test BATCH -%s" % hid)
    # ... and the lines for a plain one, as one message of history.
    e = s.user("erin")
    e.send("JOIN #h")
    e.expect(":irc.test NOTICE #h :--- Recent history of #h ---")
    e.expect_exact_sequence([
        ":%s PRIVMSG #h :first" % A,
        ":%s PRIVMSG #h :second " % A,
        ":%s PRIVMSG #h :half" % A,
        ":irc.test NOTICE #h :--- End of history (1 line) ---"])
    # CHATHISTORY LATEST: the same batch, the same msgid.
    g = cap_user(s, "gil", *ML, "draft/chathistory", "message-tags")
    g.join("#h")
    g.send("CHATHISTORY LATEST #h * 10")
    c = g.expect(rx(r":irc\.test BATCH \+(\S+) chathistory #h"))
    cid = c.split("+", 1)[1].split()[0]
    assert expect_batch(g, A, "#h", lines, outer=cid,
                        first_tags=r"msgid=%s " % MSGID) == ref
    g.expect(":irc.test BATCH -%s" % cid)


def test_multiline_survives_sigkill(f):
    db = f.path("ml.db")
    s = Server(f, "--db", db)
    a = cap_user(s, "alice", *ML)
    b = cap_user(s, "bob", *ML)
    join(a, b, room="#k")
    lines = ["kept", "whole"]
    send_batch(a, "k", "#k", lines)
    ref = expect_batch(b, A, "#k", lines)
    s.kill()
    s.stop()
    # natterd recovers the file and stops; one row, with that msgid.
    s2 = Server(f, "--db", db)
    s2.user("check")
    s2.stop()
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT msgid, command, params FROM message "
                           "WHERE key = '#k'").fetchall()
    finally:
        con.close()
    assert rows == [(ref, "PRIVMSG", "#k :kept\nwhole")], rows


@timeout(60)
def test_multiline_paste_200_lines_default_flood(f):
    s = Server(f)        # the default flood control: burst 10, 2 a second
    a = cap_user(s, "alice", *ML)
    w = s.user("watcher")
    room = "#" + "p" * 49       # the longest name: the most bytes a line
    join(a, w, room=room)
    # Two full batches (100 lines, 3999 of the 4096 bytes each), at once,
    # with long references: the second (17 kB) waits whole while the
    # first's close waits for its tokens.
    texts = ["%03d " % i + "p" * 35 for i in range(200)]
    data = b""
    for k in range(2):
        ref = (b"%d" % k) * 60
        data += b"BATCH +%s draft/multiline %s\r\n" % (ref, room.encode())
        data += b"".join(b"@batch=%s PRIVMSG %s :%s\r\n" % (
            ref, room.encode(), t.encode())
            for t in texts[100 * k:100 * (k + 1)])
        data += b"BATCH -%s\r\n" % ref
    a.send_raw(data)
    got = w.read_until(":%s PRIVMSG %s :%s" % (A, room, texts[-1]),
                       timeout=scaled(30))
    said = [ln for ln in got if " PRIVMSG %s :" % room in ln]
    assert said == [":%s PRIVMSG %s :%s" % (A, room, t) for t in texts], \
        said
    a.send("PING still")
    a.expect(":irc.test PONG irc.test :still")
    assert "Excess Flood" not in s.log_text()


def test_multiline_flood_counts_size(f):
    # A full batch costs 2 + 8 lines: with a burst of 10 at 10 a second,
    # ten lines sent right after it wait about a second for tokens.  Had
    # it cost 2, eight of them would go at once.  (Lower bound only.)
    s = Server(f, "--flood-burst", "10", "--flood-rate", "10")
    a = cap_user(s, "alice", *ML)
    w = s.user("watcher")
    join(a, w, room="#f")
    time.sleep(1.2)      # the bucket is full again
    texts = ["%03d " % i + "f" * 35 for i in range(100)]
    start = time.monotonic()
    send_batch(a, "big", "#f", texts)
    a.send_raw(b"".join(b"PRIVMSG #f :after%d\r\n" % i for i in range(10)))
    got = w.read_until(":%s PRIVMSG #f :after9" % A, timeout=scaled(10))
    took = time.monotonic() - start
    said = [ln for ln in got if " PRIVMSG #f :" in ln]
    assert said == [":%s PRIVMSG #f :%s" % (A, t) for t in texts] + \
        [":%s PRIVMSG #f :after%d" % (A, i) for i in range(10)], said
    assert took >= 0.8, "the batch and 10 lines took only %.2fs" % took


def test_multiline_recvq_slack_has_a_bound(f):
    # One batch more may wait, not an endless flood: 115 kB of plain
    # lines over the rate is past --recvq plus one batch (23680 bytes).
    s = Server(f, "--flood-burst", "10", "--flood-rate", "1")
    a = cap_user(s, "alice", *ML)
    a.join("#x")
    a.send_raw(b"".join(b"PRIVMSG #x :%s\r\n" % (b"%04d" % i * 25)
                        for i in range(1000)))
    a.expect(re.compile(r"ERROR :Closing Link: 127\.0\.0\.1 "
                        r"\(Excess Flood\)"), timeout=10)


def test_multiline_echo_nested_in_labeled_batch(f):
    # Two replies (301 and the echo): a labeled-response batch, with
    # the multiline batch nested in it.
    s = Server(f, *FULL_SPEED)
    a = cap_user(s, "alice", *ML, "echo-message", "labeled-response")
    b = s.user("bob")
    b.send("AWAY :out")
    b.expect(":irc.test 306 bob :You have been marked as being away")
    send_batch(a, "w", "bob", ["x", "y"], open_tags="@label=L9 ")
    lb = a.expect(re.compile(r"@label=L9 :irc\.test BATCH \+(\S+) "
                             r"labeled-response"))
    lid = lb.split("+", 1)[1].split()[0]
    a.expect("@batch=%s :irc.test 301 alice bob :out" % lid)
    start = a.expect(re.compile(r"@batch=%s :%s BATCH \+(%s) "
                                r"draft/multiline bob" % (lid, re.escape(A),
                                                          MSGID)))
    ref = start.split(" BATCH +", 1)[1].split()[0]
    a.expect_exact_sequence(["@batch=%s :%s PRIVMSG bob :x" % (ref, A),
                             "@batch=%s :%s PRIVMSG bob :y" % (ref, A),
                             "@batch=%s :%s BATCH -%s" % (lid, A, ref),
                             ":irc.test BATCH -%s" % lid])
