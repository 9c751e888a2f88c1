"""labeled-response: a command sent with @label=X gets its replies
tagged with the label: one line carries it, several come in a
labeled-response batch, none gets an ACK; a message's reply is its
echo (with echo-message)."""

from harness import Server, numeric, rx
from test_caps import cap_user

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_label_single_reply(f):
    s = Server(f)
    a = cap_user(s, "alice", "labeled-response")
    a.send("@label=p1 PING hello")
    a.expect("@label=p1 :irc.test PONG irc.test :hello")


def test_label_error_reply(f):
    s = Server(f)
    a = cap_user(s, "alice", "labeled-response")
    a.send("@label=e1 PRIVMSG nobody :x")
    a.expect("@label=e1 :irc.test 401 alice nobody :No such nick/channel")


def test_label_no_reply_is_ack(f):
    s = Server(f)
    a = cap_user(s, "alice", "labeled-response")
    a.send("@label=k1 PONG x")
    a.expect("@label=k1 :irc.test ACK")
    # A message with no echo has nothing to say back either.
    b = s.user("bob")
    a.send("@label=k2 PRIVMSG bob :hi")
    a.expect("@label=k2 :irc.test ACK")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :hi")


def test_label_many_replies_batch(f):
    s = Server(f)
    a = cap_user(s, "alice", "labeled-response", "batch")
    a.send("@label=j1 JOIN #r")
    start = a.expect(rx(r"@label=j1 :irc\.test BATCH \+(\S+) "
                        r"labeled-response"))
    bid = start.split("+", 1)[1].split()[0]
    a.expect_exact_sequence([
        "@batch=%s :alice!alice@127.0.0.1 JOIN #r" % bid,
        "@batch=%s :irc.test 353 alice = #r :@alice" % bid,
        "@batch=%s :irc.test 366 alice #r :End of /NAMES list" % bid,
        ":irc.test BATCH -%s" % bid,
    ])


def test_label_on_echo(f):
    s = Server(f)
    a = cap_user(s, "alice", "labeled-response", "echo-message",
                 "server-time", "message-tags")
    b = s.user("bob")
    a.send("@label=m1 PRIVMSG bob :hello")
    a.expect(rx(r"@label=m1;time=%s;msgid=\S+ :alice!alice@127\.0\.0\.1 "
                r"PRIVMSG bob :hello" % TIME))
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :hello")
    a.no_line(rx(r".* ACK"), sync=True, wait=0)


def test_label_ignored_without_cap(f):
    s = Server(f)
    a = s.user("alice")
    a.send("@label=z PING x")
    a.expect(":irc.test PONG irc.test :x")
