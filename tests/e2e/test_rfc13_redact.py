"""Issue 13, section 2: IRCv3 draft/message-redaction (REDACT).

The spec (ircv3-specifications extensions/message-redaction.md):
    REDACT <target> <msgid> [:reason]
forwarded with its own msgid "to the target recipients that have
negotiated the draft/message-redaction capability, in the same way as
PRIVMSG messages", never to those without it; errors
    FAIL REDACT INVALID_TARGET <target> :...
    FAIL REDACT REDACT_FORBIDDEN <target> <target-msgid> :...
    FAIL REDACT REDACT_WINDOW_EXPIRED <target> <target-msgid> <window> :...
    FAIL REDACT UNKNOWN_MSGID <target> <target-msgid> :...
and chathistory "exclude it entirely" (natterd deletes the stored line).
natterd lets a room's operators redact any of its messages at any time,
and a message's author within --redact-window seconds.
"""

import re
import time

from harness import Server, join, numeric, prefix, rx
from test_history import TAGS3, batch, ch, db_rows, plain_replay, settle, v3

ANY = re.compile(".*")
MSGID = r"[0-9a-z]{20}"
CAP = "draft/message-redaction"
TAGGED = ("message-tags", CAP)


def said(sender, target, text, *observers):
    """sender says text to target; each observer (message-tags) sees it.
    Returns its msgid."""
    sender.send("PRIVMSG %s :%s" % (target, text))
    ids = set()
    for o in observers:
        shown = target if target.startswith("#") else o.nick
        got = o.expect(re.compile(r"@msgid=(%s) %s" % (MSGID, re.escape(
            ":%s PRIVMSG %s :%s" % (prefix(sender.nick), shown, text)))))
        ids.add(got.split(" ", 1)[0][len("@msgid="):])
    assert len(ids) == 1, ids
    return ids.pop()


def hist(obs, query):
    """CHATHISTORY query from obs, after dropping what it had pending
    (the live lines it saw)."""
    settle(obs)
    return ch(obs, query)


def redacted(c, who, target, msgid, reason=None):
    """The REDACT line c (message-tags, the cap) receives; who: a nick
    (nick!nick@127.0.0.1) or a whole source."""
    src = who if "!" in who else prefix(who)
    return c.expect(re.compile(r"@msgid=%s %s" % (MSGID, re.escape(
        ":%s REDACT %s %s%s" % (src, target, msgid,
                                " :" + reason if reason else "")))))


def room3(f, *flags):
    """alice (op) and bob with the cap and message-tags, carol without
    the cap, in #r; obs (batch, message-tags, server-time) too."""
    s = Server(f, *flags)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", *TAGGED)
    c = v3(s, "carol", "message-tags")
    obs = v3(s, "obs", *TAGS3)
    join(a, b, c, obs, room="#r")
    settle(a, b, c, obs)
    return s, a, b, c, obs


def test_redact_author_own_message(f):
    s, a, b, c, obs = room3(f)
    first = said(b, "#r", "m0", a, c)
    oops = said(b, "#r", "oops", a, c)
    last = said(b, "#r", "m2", a, c)
    settle(obs)
    b.send("REDACT #r %s :typo" % oops)
    # The author sees its own REDACT (the spec's example), bob with the
    # cap too; carol, without it, nothing.
    redacted(b, "bob", "#r", oops, "typo")
    redacted(a, "bob", "#r", oops, "typo")
    c.no_line(ANY, sync=True)
    obs.no_line(ANY, sync=True, wait=0)
    # Out of CHATHISTORY...
    lines = hist(obs, "LATEST #r * 10")
    assert [l.split(" ", 1)[1] for l in lines] == [
        ":bob!bob@127.0.0.1 PRIVMSG #r :m0",
        ":bob!bob@127.0.0.1 PRIVMSG #r :m2"], lines
    assert ["msgid=" + first in lines[0], "msgid=" + last in lines[1]] == \
        [True, True]
    # ...and out of the replay a joiner gets.
    d = s.user("dave")
    d.send("JOIN #r")
    d.expect(numeric("366", "dave", "#r :End of /NAMES list"))
    d.expect_exact_sequence(plain_replay("#r", [
        ":bob!bob@127.0.0.1 PRIVMSG #r :m0",
        ":bob!bob@127.0.0.1 PRIVMSG #r :m2"]))
    d.no_line(ANY, sync=True, wait=0)
    # Once gone it is unknown.
    settle(b)
    b.send("REDACT #r %s" % oops)
    b.expect_exact_sequence([":irc.test FAIL REDACT UNKNOWN_MSGID #r %s "
                             ":This message does not exist or is too old"
                             % oops])


def test_redact_window_expired(f):
    s, a, b, c, obs = room3(f, "--redact-window", "1")
    m = said(b, "#r", "slow", a)
    t0 = time.monotonic()
    time.sleep(1.1)
    assert time.monotonic() - t0 > 1
    b.send("REDACT #r %s :too late" % m)
    b.expect_exact_sequence([":irc.test FAIL REDACT REDACT_WINDOW_EXPIRED "
                             "#r %s 1 :You can no longer edit this message"
                             % m])
    a.no_line(rx(r".*REDACT.*"), sync=True)
    lines = hist(obs, "LATEST #r * 10")
    assert [l.split(" ", 1)[1] for l in lines] == [
        ":bob!bob@127.0.0.1 PRIVMSG #r :slow"], lines
    # The room's operator still may.
    a.send("REDACT #r %s" % m)
    redacted(a, "alice", "#r", m)
    redacted(b, "alice", "#r", m)
    assert hist(obs, "LATEST #r * 10") == []


def test_redact_window_zero_authors_may_not(f):
    s, a, b, c, obs = room3(f, "--redact-window", "0")
    m = said(b, "#r", "mine", a)
    b.send("REDACT #r %s" % m)
    b.expect_exact_sequence([":irc.test FAIL REDACT REDACT_FORBIDDEN #r %s "
                             ":You are not authorised to delete this message"
                             % m])
    a.no_line(rx(r".*REDACT.*"), sync=True)


def test_redact_op_redacts_anothers(f):
    s, a, b, c, obs = room3(f)
    m = said(b, "#r", "spam", a, c)
    a.send("REDACT #r %s :spam" % m)
    redacted(a, "alice", "#r", m, "spam")
    redacted(b, "alice", "#r", m, "spam")
    c.no_line(ANY, sync=True)
    assert hist(obs, "LATEST #r * 10") == []


def test_redact_forbidden_for_others(f):
    s, a, b, c, obs = room3(f)
    m = said(a, "#r", "the op said", b, c)
    b.send("REDACT #r %s :no" % m)
    b.expect_exact_sequence([":irc.test FAIL REDACT REDACT_FORBIDDEN #r %s "
                             ":You are not authorised to delete this message"
                             % m])
    for x in (a, c):
        x.no_line(rx(r".*REDACT.*"), sync=True)
    assert len(hist(obs, "LATEST #r * 10")) == 1


def test_redact_errors(f):
    s, a, b, c, obs = room3(f)
    m = said(b, "#r", "here", a)
    fail = ":irc.test FAIL REDACT UNKNOWN_MSGID %s %s :This message does " \
        "not exist or is too old"
    # No such message, and things that never were a msgid.
    b.send("REDACT #r 00000000000000000000")
    b.expect_exact_sequence([fail % ("#r", "00000000000000000000")])
    b.send("REDACT #r :two words")
    b.expect_exact_sequence([fail % ("#r", "*")])
    # A message of another room is not one of this room.
    a.join("#other")
    b.join("#other")
    settle(a, b)
    b.send("REDACT #other %s" % m)
    b.expect_exact_sequence([fail % ("#other", m)])
    # Not in the room: no way to tell what is in it.
    e = v3(s, "eve", *TAGGED)
    e.send("REDACT #r %s" % m)
    e.expect_exact_sequence([":irc.test FAIL REDACT INVALID_TARGET #r "
                             ":You cannot delete messages from this channel"])
    e.send("REDACT #nowhere %s" % m)
    e.expect_exact_sequence([numeric("403", "eve",
                                     "#nowhere :No such channel")])
    e.send("REDACT nobody %s" % m)
    e.expect_exact_sequence([numeric("401", "eve",
                                     "nobody :No such nick/channel")])
    e.send("REDACT #r")
    e.expect_exact_sequence([numeric("461", "eve",
                                     "REDACT :Not enough parameters")])
    for x in (a, b):
        x.no_line(rx(r".*REDACT.*"), sync=True)
    assert len(hist(obs, "LATEST #r * 10")) == 1


def test_redact_private_message_by_author(f):
    s = Server(f)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", "batch", *TAGGED)
    c = v3(s, "carol", *TAGGED)
    m = said(a, "bob", "psst", b)
    keep = said(a, "bob", "keep", b)
    # Not bob's to redact; not carol's conversation at all.
    b.send("REDACT alice %s" % m)
    b.expect_exact_sequence([":irc.test FAIL REDACT REDACT_FORBIDDEN alice "
                             "%s :You are not authorised to delete this "
                             "message" % m])
    c.send("REDACT bob %s" % m)
    c.expect_exact_sequence([":irc.test FAIL REDACT UNKNOWN_MSGID bob %s "
                             ":This message does not exist or is too old"
                             % m])
    a.send("REDACT bob %s :wrong window" % m)
    redacted(a, "alice", "bob", m, "wrong window")
    redacted(b, "alice", "bob", m, "wrong window")
    c.no_line(ANY, sync=True)
    lines = ch(b, "LATEST alice * 10", target="alice")
    assert len(lines) == 1 and "msgid=" + keep in lines[0] and \
        lines[0].endswith(":alice!alice@127.0.0.1 PRIVMSG bob :keep"), lines


def test_redact_survives_sigkill(f):
    db = f.path("h.db")
    s, a, b, c, obs = room3(f, "--db", db)
    gone = said(b, "#r", "gone", a)
    kept = said(b, "#r", "kept", a)
    b.send("REDACT #r %s" % gone)
    redacted(b, "bob", "#r", gone)      # answered: it is on disk now
    s.kill()
    s.stop()
    assert [x for x, _ in db_rows(db)] == [kept]
    s2 = Server(f, "--db", db)
    s2.user("bob").sync()
    s2.stop()
    assert [x for x, _ in db_rows(db)] == [kept]


DIGITS = "0123456789abcdefghjkmnpqrstvwxyz"


def next_msgid(msgid):
    """The msgid natterd gives the next stored row (the run's prefix,
    then seq in 9 base32 digits)."""
    seq = 0
    for ch_ in msgid[11:]:
        seq = seq * 32 + DIGITS.index(ch_)
    seq += 1
    tail = ""
    for _ in range(9):
        tail = DIGITS[seq % 32] + tail
        seq //= 32
    return msgid[:11] + tail


def test_redact_in_flight_message(f):
    """A REDACT right behind its message, in the same write: the message
    may not be in the file yet when the REDACT looks for it; it is
    found, and stays gone."""
    db = f.path("h.db")
    s, a, b, c, obs = room3(f, "--db", db)
    m0 = said(b, "#r", "m0", a)
    m1 = next_msgid(m0)
    b.send_raw(("PRIVMSG #r :fast\r\nREDACT #r %s\r\n" % m1).encode())
    assert said_line(a, "bob", "#r", "fast") == m1
    redacted(a, "bob", "#r", m1)
    redacted(b, "bob", "#r", m1)
    lines = hist(obs, "LATEST #r * 10")
    assert [l.split(" ", 1)[1] for l in lines] == [
        ":bob!bob@127.0.0.1 PRIVMSG #r :m0"], lines
    s.stop()
    assert [x for x, _ in db_rows(db)] == [m0]


def said_line(o, who, target, text):
    got = o.expect(re.compile(r"@msgid=(%s) %s" % (MSGID, re.escape(
        ":%s PRIVMSG %s :%s" % (prefix(who), target, text)))))
    return got.split(" ", 1)[0][len("@msgid="):]


def test_redact_multiline_message(f):
    """A draft/multiline message is one message with one msgid (the
    batch's name for clients with the cap): REDACT of that msgid takes
    all of it."""
    s = Server(f)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", "batch", "draft/multiline", *TAGGED)
    obs = v3(s, "obs", *TAGS3)
    join(a, b, obs, room="#r")
    settle(a, b, obs)
    b.send_raw(b"BATCH +m draft/multiline #r\r\n"
               b"@batch=m PRIVMSG #r :line one\r\n"
               b"@batch=m PRIVMSG #r :line two\r\n"
               b"BATCH -m\r\n")
    first = a.expect(re.compile(r"@msgid=(%s) %s" % (MSGID, re.escape(
        ":bob!bob@127.0.0.1 PRIVMSG #r :line one"))))
    m = first.split(" ", 1)[0][len("@msgid="):]
    a.expect(":bob!bob@127.0.0.1 PRIVMSG #r :line two")
    assert len(hist(obs, "LATEST #r * 10")) == 2
    b.send("REDACT #r %s" % m)
    redacted(b, "bob", "#r", m)
    redacted(a, "bob", "#r", m)
    assert hist(obs, "LATEST #r * 10") == []


def test_redact_window_flag_bad_value(f):
    cp = f.run("--redact-window", "-1")
    assert cp.returncode == 2, cp.returncode
    lines = cp.stderr.splitlines()
    assert lines[0] == "natterd: --redact-window: invalid value '-1' " \
        "(expected 0 to 31536000)", lines
    assert lines[1].startswith("usage: natterd"), lines


def test_redact_memory_store_and_no_history(f):
    """--db :memory: redacts as a file does; with --db off nothing is
    kept, so no msgid is known."""
    s, a, b, c, obs = room3(f, "--db", ":memory:")
    m = said(b, "#r", "in memory", a)
    b.send("REDACT #r %s" % m)
    redacted(b, "bob", "#r", m)
    assert hist(obs, "LATEST #r * 10") == []
    # --db off: not offered; a REDACT finds nothing.
    s = Server(f, "--db", "off")
    b = s.client("bob")
    b.send("CAP LS 302")
    ls = b.read_until(re.compile(r":irc\.test CAP \* LS :.*"))
    assert not any(CAP in l for l in ls), ls
    b.send("CAP REQ :message-tags")
    b.expect(":irc.test CAP * ACK :message-tags")
    b.send("CAP REQ :%s" % CAP)
    b.expect(":irc.test CAP * NAK :%s" % CAP)
    b.send("CAP END")
    b.name = b.nick = "bob"
    b.register("bob")
    a = s.user("alice")
    join(b, a, room="#r")
    settle(a, b)
    a.send("PRIVMSG #r :kept nowhere")
    got = b.expect(re.compile(r"@msgid=(%s) %s" % (MSGID, re.escape(
        ":alice!alice@127.0.0.1 PRIVMSG #r :kept nowhere"))))
    m = got.split(" ", 1)[0][len("@msgid="):]
    b.send("REDACT #r %s" % m)
    b.expect_exact_sequence([":irc.test FAIL REDACT UNKNOWN_MSGID #r %s "
                             ":This message does not exist or is too old"
                             % m])
    a.no_line(rx(r".*REDACT.*"), sync=True)


def test_redact_tagmsg_is_unknown(f):
    """A TAGMSG (a reaction) is never stored: its msgid cannot be
    redacted."""
    s, a, b, c, obs = room3(f)
    b.send("@+draft/react=x TAGMSG #r")
    got = a.expect(re.compile(r"@msgid=([0-9a-z]{21});\+draft/react=x "
                              r":bob!bob@127\.0\.0\.1 TAGMSG #r"))
    m = got.split(";", 1)[0][len("@msgid="):]
    b.send("REDACT #r %s" % m)
    b.expect_exact_sequence([":irc.test FAIL REDACT UNKNOWN_MSGID #r * "
                             ":This message does not exist or is too old"])


def test_redact_author_by_account_or_mask(f):
    """The author is its account when it was logged in (any nick since),
    else its nick!user@host as it was: after a nick change a logged-out
    author is someone else."""
    from test_nickserv import CHEAP
    s = Server(f, *CHEAP)
    a = v3(s, "alice", *TAGGED)
    b = v3(s, "bob", *TAGGED)
    join(a, b, room="#r")
    settle(a, b)
    a.send("REGISTER * * password1")
    a.expect(":irc.test REGISTER SUCCESS alice :Account created")
    settle(a)
    # alice first: she is #r2's operator, bob is not (an operator may
    # redact anything).
    a.send("JOIN #r2")
    a.expect(rx(r".*:irc\.test 366 alice #r2 :.*"))
    b.send("JOIN #r2")
    settle(a, b)
    ma = said(a, "#r2", "logged in", b)
    mb = said(b, "#r2", "logged out", a)
    for c, new in ((a, "alice2"), (b, "bob2")):
        c.send("NICK " + new)
        c.expect(":%s NICK %s" % (prefix(c.nick), new))
        c.nick = new
    settle(a, b)
    a.send("REDACT #r2 %s" % ma)
    redacted(a, "alice2!alice@127.0.0.1", "#r2", ma)
    redacted(b, "alice2!alice@127.0.0.1", "#r2", ma)
    b.send("REDACT #r2 %s" % mb)
    b.expect_exact_sequence([":irc.test FAIL REDACT REDACT_FORBIDDEN #r2 %s "
                             ":You are not authorised to delete this message"
                             % mb])
