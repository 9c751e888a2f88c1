"""Issue 13, section 1: client-only tags and labeled-response with
echo-message.

message-tags: "Clients MUST NOT send messages with tag data exceeding
4094 bytes" and the tag part is counted apart from the rest of the line
(the 512 bytes of RFC 1459), so 4094 bytes of tag data go with a rest of
any length up to 510 bytes; more tag data, or a rest over 510 bytes,
gets 417 ERR_INPUTTOOLONG, never silence.

labeled-response: "When a client sends a message to itself, the server
MUST NOT include the label tag, except for any acknowledgment sent with
the echo-message mechanism", and "If a response consists of more than
one message, a batch MUST be used ... The start of the batch MUST be
tagged with the label tag."
"""

import re
import time

from harness import Server, rx
from test_caps import cap_user

MASK = "alice!alice@127.0.0.1"
TOO_LONG = ":irc.test 417 alice :Input line was too long"
LABEL_CAPS = ("labeled-response", "batch", "echo-message")


def _rest(text_len, target="#t"):
    """A PRIVMSG to target whose non-tag part is text_len bytes long."""
    head = "PRIVMSG %s :" % target
    return head + "x" * (text_len - len(head))


# --- client-only tags ---------------------------------------------------

def test_rfc13_tags_4094_with_a_full_rest_of_line(f):
    s = Server(f)
    a = cap_user(s, "alice", "message-tags")
    b = cap_user(s, "bob", "message-tags")
    a.join("#t")
    b.join("#t")
    a.expect(":bob!bob@127.0.0.1 JOIN #t")
    big = "+x=" + "v" * 4091                    # 4094 bytes of tag data
    rest = _rest(510)                           # the longest rest RFC 1459 allows
    assert len(rest) == 510
    a.send("@%s %s" % (big, rest))
    # Relayed whole: every client tag, the text as long as the relay
    # line (source prefix added) lets it be.
    got = b.expect(rx(r"@msgid=\S+;%s :%s PRIVMSG #t :x+" % (
        re.escape(big), re.escape(MASK))))
    assert got.endswith("x" * 400), got
    a.no_line(rx(r".* 417 .*"), sync=True, wait=0)


def test_rfc13_tags_4094_with_a_short_rest(f):
    s = Server(f)
    a = cap_user(s, "alice", "message-tags")
    b = cap_user(s, "bob", "message-tags")
    big = "+x=" + "v" * 4091
    a.send("@%s TAGMSG bob" % big)
    # (msgid on TAGMSG is another bullet of the issue: either way here.)
    b.expect(rx(r"@(?:msgid=\S+;)?%s :%s TAGMSG bob" % (re.escape(big),
                                                          re.escape(MASK))))
    a.no_line(rx(r".* 417 .*"), sync=True, wait=0)


def test_rfc13_tags_over_4094_get_417(f):
    s = Server(f)
    a = cap_user(s, "alice", "message-tags")
    b = cap_user(s, "bob", "message-tags")
    big = "+x=" + "v" * 4092                    # 4095 bytes of tag data
    a.send("@%s PRIVMSG bob :short" % big)
    a.expect(TOO_LONG)
    a.send("@%s %s" % (big, _rest(510, "bob")))
    a.expect(TOO_LONG)
    b.no_line(rx(r".*PRIVMSG bob.*"), sync=True)
    # The connection goes on.
    a.send("PING after")
    a.expect(":irc.test PONG irc.test :after")


def test_rfc13_tag_part_alone_over_4094_gets_417(f):
    # Over the limit the line gets 417, whatever follows the tags:
    # nothing at all included (a line that is tags alone).
    s = Server(f)
    a = cap_user(s, "alice", "message-tags")
    a.send("@+x=" + "v" * 4092)                 # 4095 bytes, no command
    a.expect(TOO_LONG)
    a.send("   @+x=" + "v" * 5000)
    a.expect(TOO_LONG)
    a.send("@+x=" + "v" * 4091)                 # 4094 bytes: no command,
    a.no_line(rx(r".* 417 .*"), sync=True)      # nothing to answer


def test_rfc13_tagged_line_with_overlong_rest_gets_417(f):
    s = Server(f)
    a = cap_user(s, "alice", "message-tags")
    b = cap_user(s, "bob", "message-tags")
    a.send("@+x=1 %s" % _rest(511, "bob"))
    a.expect(TOO_LONG)
    b.no_line(rx(r".*PRIVMSG bob.*"), sync=True)


def test_rfc13_overlong_untagged_line_gets_417(f):
    s = Server(f)
    a = s.user("alice")
    b = s.user("bob")
    a.send(_rest(510, "bob"))                   # the longest line: relayed
    b.expect(rx(r":%s PRIVMSG bob :x+" % re.escape(MASK)))
    a.send(_rest(511, "bob"))                   # one byte more: 417
    a.expect(TOO_LONG)
    a.send(_rest(5000, "bob"))
    a.expect(TOO_LONG)
    # Sent in pieces, the last of them after a pause.
    line = _rest(600, "bob")
    a.send_raw(line[:300].encode())
    time.sleep(0.3)
    a.send_raw((line[300:] + "\r\n").encode())
    a.expect(TOO_LONG)
    b.no_line(rx(r".*PRIVMSG bob :x{500}.*"), sync=True)
    a.send("PING after")
    a.expect(":irc.test PONG irc.test :after")


def test_rfc13_overlong_line_before_registration_gets_417(f):
    s = Server(f)
    c = s.client("early")
    c.send("PRIVMSG x :" + "y" * 600)
    c.expect(":irc.test 417 * :Input line was too long")


# --- labeled-response with echo-message ---------------------------------

def _echo_and_copy(a, label, line):
    """To oneself: the echo-message echo carries the label, the message
    received comes unlabeled ("the server MUST NOT include the label
    tag, except for any acknowledgment sent with the echo-message
    mechanism"), and nothing else (no ACK)."""
    a.expect_unordered(["@label=%s %s" % (label, line), line])
    a.no_line(rx(r".*(ACK|%s).*" % re.escape(line.split(" ", 1)[1])),
              sync=True, wait=0)


def test_rfc13_labeled_privmsg_to_self_echo_carries_label(f):
    s = Server(f)
    a = cap_user(s, "alice", *LABEL_CAPS)
    a.send("@label=s1 PRIVMSG alice :me")
    _echo_and_copy(a, "s1", ":%s PRIVMSG alice :me" % MASK)


def test_rfc13_labeled_notice_to_self_echo_carries_label(f):
    s = Server(f)
    a = cap_user(s, "alice", *LABEL_CAPS)
    a.send("@label=s2 NOTICE alice :me")
    _echo_and_copy(a, "s2", ":%s NOTICE alice :me" % MASK)


def test_rfc13_labeled_tagmsg_to_self_echo_carries_label(f):
    s = Server(f)
    a = cap_user(s, "alice", "message-tags", *LABEL_CAPS)
    a.send("@label=s3;+typing=active TAGMSG alice")
    # (msgid on TAGMSG is another bullet of the issue: either way here.)
    line = r":%s TAGMSG alice" % re.escape(MASK)
    a.expect_unordered([
        rx(r"@label=s3;(?:msgid=\S+;)?\+typing=active " + line),
        rx(r"@(?:msgid=\S+;)?\+typing=active " + line)])
    a.no_line(rx(r".*(ACK|TAGMSG).*"), sync=True, wait=0)


def test_rfc13_labeled_privmsg_to_self_without_echo_is_acked(f):
    # No echo-message: the message received never carries the label;
    # the command, which then has no reply, gets a labeled ACK.
    s = Server(f)
    a = cap_user(s, "alice", "labeled-response", "batch")
    a.send("@label=s4 PRIVMSG alice :me")
    a.expect_unordered([":%s PRIVMSG alice :me" % MASK,
                        "@label=s4 :irc.test ACK"])
    a.no_line(rx(r".*PRIVMSG.*"), sync=True, wait=0)


def test_rfc13_unlabeled_privmsg_to_self_arrives_once(f):
    # Unlabeled, a message to oneself still comes once, echo or not.
    s = Server(f)
    a = cap_user(s, "alice", *LABEL_CAPS)
    a.send("PRIVMSG alice :once")
    a.expect(":%s PRIVMSG alice :once" % MASK)
    a.no_line(rx(r".*PRIVMSG.*"), sync=True, wait=0)


def _batch(a, label):
    """The lines of the labeled-response batch answering label, in
    order, and the lines outside it that came meanwhile."""
    outside = a.read_until(rx(r"@label=%s :irc\.test BATCH \+(\S+) "
                              r"labeled-response" % label))
    start = outside.pop()
    bid = start.split("+", 1)[1].split()[0]
    inside = []
    while True:
        line = a.next_line()
        if line == ":irc.test BATCH -%s" % bid:
            return bid, inside, outside
        if line.startswith("@batch=%s " % bid):
            inside.append(line.split(" ", 1)[1])
        elif line.startswith("@batch=%s;" % bid):    # other tags kept
            inside.append("@" + line.split(";", 1)[1])
        else:
            outside.append(line)


def test_rfc13_labeled_privmsg_to_several_targets_is_a_batch(f):
    s = Server(f)
    a = cap_user(s, "alice", *LABEL_CAPS)
    b, c = s.user("bob"), s.user("carol")
    a.join("#t")
    a.send("@label=m1 PRIVMSG bob,#t,carol :hi")
    _, inside, outside = _batch(a, "m1")
    assert inside == [":%s PRIVMSG %s :hi" % (MASK, t)
                      for t in ("bob", "#t", "carol")], inside
    assert outside == [], outside
    b.expect(":%s PRIVMSG bob :hi" % MASK)
    c.expect(":%s PRIVMSG carol :hi" % MASK)
    a.no_line(rx(r".*(ACK|PRIVMSG).*"), sync=True, wait=0)


def test_rfc13_labeled_notice_to_self_and_other_is_a_batch(f):
    s = Server(f)
    a = cap_user(s, "alice", *LABEL_CAPS)
    b = s.user("bob")
    a.send("@label=m2 NOTICE alice,bob :hey")
    _, inside, outside = _batch(a, "m2")
    assert inside == [":%s NOTICE %s :hey" % (MASK, t)
                      for t in ("alice", "bob")], inside
    # The notice alice received: unlabeled, outside the batch.
    assert outside == [":%s NOTICE alice :hey" % MASK], outside
    b.expect(":%s NOTICE bob :hey" % MASK)
    a.no_line(rx(r".*(ACK|NOTICE).*"), sync=True, wait=0)


def test_rfc13_labeled_tagmsg_to_several_targets_is_a_batch(f):
    # TAGMSG takes its targets as PRIVMSG does ("bob,#t,BOB": bob once).
    s = Server(f)
    a = cap_user(s, "alice", "message-tags", *LABEL_CAPS)
    b = cap_user(s, "bob", "message-tags")
    c = cap_user(s, "carol", "message-tags")
    a.join("#t")
    c.join("#t")
    a.expect(":carol!carol@127.0.0.1 JOIN #t")
    a.send("@label=m3;+typing=active TAGMSG bob,#t,BOB")
    _, inside, outside = _batch(a, "m3")
    # (msgid on TAGMSG is another bullet of the issue: either way here.)
    plain = [re.sub(r"^@(?:msgid=[^; ]+;)?", "@", t) for t in inside]
    assert plain == ["@+typing=active :%s TAGMSG %s" % (MASK, t)
                     for t in ("bob", "#t")], inside
    assert outside == [], outside
    b.expect(rx(r"@(?:msgid=\S+;)?\+typing=active :%s TAGMSG bob"
                % re.escape(MASK)))
    c.expect(rx(r"@(?:msgid=\S+;)?\+typing=active :%s TAGMSG #t"
                % re.escape(MASK)))
    b.no_line(rx(r".*TAGMSG.*"), sync=True, wait=0)
    a.no_line(rx(r".*(ACK|TAGMSG).*"), sync=True, wait=0)


def test_rfc13_targmax_names_tagmsg(f):
    # TAGMSG takes up to 4 targets, as PRIVMSG does; ISUPPORT says so,
    # and a fifth target gets 407.
    from test_welcome import isupport_tokens
    s = Server(f)
    c = s.client("alice")
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    lines = c.read_until(rx(r":irc\.test 422 .*|:irc\.test 376 .*"))
    targmax = isupport_tokens(lines)["TARGMAX"]
    assert "TAGMSG:4" in targmax.split(","), targmax
    assert targmax.split(",")[:-1] == sorted(targmax.split(",")[:-1]), targmax
    c.send("QUIT")
    m = cap_user(s, "mt", "message-tags")
    m.send("TAGMSG mt,mt,mt,mt,mt")
    m.expect(rx(r":irc\.test 407 mt mt :.*"))
