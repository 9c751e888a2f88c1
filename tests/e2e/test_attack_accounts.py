"""Attacks on accounts (issue 11) by a hostile or faulty peer: each test
here failed before the fix that came with it."""

from harness import Server, rx
from test_devices import OPER, device, make_account


def test_device_attaches_to_the_user_left_when_the_first_goes(f):
    """Past --max-devices a login is a user of its own; once the first
    user is gone, a new login is a device of the one left, not a third
    user of the same account."""
    s = Server(f, *OPER, "--max-devices", "2")
    make_account(s, "hana", "pw-hana-66666")
    one = device(s, "hana", "hana", "pw-hana-66666")
    two = device(s, "hana2", "hana", "pw-hana-66666")
    assert two.nick == "hana", two.nick
    third = device(s, "hana3", "hana", "pw-hana-66666")
    assert third.nick == "hana3", third.nick
    for c in (one, two):
        c.send("QUIT")
        c.expect_closed()
    third.sync()
    fourth = device(s, "hana4", "hana", "pw-hana-66666")
    assert fourth.nick == "hana3", fourth.nick
    third.send("PRIVMSG hana3 :to myself")
    fourth.expect(rx(r":hana3!\S+ PRIVMSG hana3 :to myself"))
