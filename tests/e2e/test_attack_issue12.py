"""Attack tests for issue 12: a hostile client against natterd's
draft/multiline, and a hostile server against natter."""

import time

from harness import FULL_SPEED, Server, scaled
from test_caps import cap_user

ML = ("batch", "draft/multiline")
A = "alice!alice@127.0.0.1"


def flood_free_lines(f, ref, line):
    """With a batch open under reference ref, 40 copies of line then a
    PING: at 10 lines a second past a burst of 10, the PONG takes about
    3 s if each line is paid for, and comes at once if not."""
    s = Server(f, "--flood-burst", "10", "--flood-rate", "10")
    a = cap_user(s, "alice", *ML)
    a.join("#f")
    time.sleep(1.2)      # the bucket is full again
    start = time.monotonic()
    a.send_raw(("BATCH +%s draft/multiline #f\r\n" % ref).encode() +
               (line + "\r\n").encode() * 40 + b"PING :tail\r\n")
    a.expect(":irc.test PONG irc.test :tail", timeout=scaled(20))
    took = time.monotonic() - start
    assert took >= 2.0, "40 lines took only %.2fs" % took


def test_attack_multiline_escaped_ref_is_not_free(f):
    # The raw tag "a\sb" is the reference, its value "a b" is not: the
    # line was free and answered "No open batch a b".
    flood_free_lines(f, "a\\sb", "@batch=a\\sb PRIVMSG #f :x")


def test_attack_multiline_duplicate_batch_tag_is_not_free(f):
    # The last batch key wins (an empty one too).
    flood_free_lines(f, "r1", "@batch=r1;batch PRIVMSG #f :x")


def test_attack_multiline_tags_only_line_is_not_free(f):
    # Tags naming the open batch and no command: it joins nothing.
    flood_free_lines(f, "r2", "@batch=r2")


def test_attack_multiline_nick_changing_hands_is_refused(f):
    # alice writes to bob; bob becomes bob2 and carol takes "bob" before
    # the batch closes: the lines written to bob never reach carol.
    s = Server(f, *FULL_SPEED)
    a = cap_user(s, "alice", *ML)
    b = s.user("bob")
    c = s.user("carol")
    a.send_raw(b"BATCH +x draft/multiline bob\r\n"
               b"@batch=x PRIVMSG bob :for bob only\r\n")
    b.send("NICK bob2")
    b.expect(":bob!bob@127.0.0.1 NICK bob2")
    c.send("NICK bob")
    c.expect(":carol!carol@127.0.0.1 NICK bob")
    a.send_raw(b"@batch=x PRIVMSG bob :still for bob\r\nBATCH -x\r\n"
               b"PRIVMSG bob :after\r\n")
    a.expect(":irc.test FAIL BATCH MULTILINE_INVALID_TARGET bob bob :bob "
             "changed hands while the batch was open; not sent")
    got = c.read_until(":%s PRIVMSG bob :after" % A)
    assert not [ln for ln in got if "for bob" in ln], got
    # The same person all along: delivered.
    a.send_raw(b"BATCH +y draft/multiline bob2\r\n"
               b"@batch=y PRIVMSG bob2 :one\r\n@batch=y PRIVMSG bob2 :two\r\n"
               b"BATCH -y\r\n")
    b.expect(":%s PRIVMSG bob2 :one" % A)
    b.expect(":%s PRIVMSG bob2 :two" % A)
