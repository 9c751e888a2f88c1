"""What accounts unlock (issue 11 section 5): WHOIS 330 and the account
field of extended-join."""

from harness import Server, numeric, rx
from test_caps import cap_user
from test_devices import OPER, device, make_account


def test_whois_330_for_a_logged_in_user_only(f):
    s = Server(f, *OPER)
    make_account(s, "alice", "pw-alice-1")
    alice = device(s, "alice", "alice", "pw-alice-1")
    bob = s.user("bob")
    bob.send("WHOIS alice")
    lines = bob.read_until(numeric("318", "bob", "alice :End of /WHOIS list"))
    assert numeric("330", "bob", "alice alice :is logged in as") in lines
    bob.send("WHOIS bob")
    lines = bob.read_until(numeric("318", "bob", "bob :End of /WHOIS list"))
    assert not any(" 330 " in x for x in lines), lines
    alice.send("QUIT")


def test_extended_join_carries_the_account_or_star(f):
    s = Server(f, *OPER)
    make_account(s, "alice", "pw-alice-1")
    carol = cap_user(s, "carol", "extended-join")
    carol.send("JOIN #room")
    carol.expect(":carol!carol@127.0.0.1 JOIN #room * :carol")
    carol.read_until(numeric("366", "carol", "#room :End of /NAMES list"))
    alice = device(s, "alice", "alice", "pw-alice-1",
                   caps=("extended-join",))
    alice.send("JOIN #room")
    alice.expect(rx(r":alice!\S+ JOIN #room alice :alice"))
    carol.expect(rx(r":alice!\S+ JOIN #room alice :alice"))

    # A second device's burst shows the same account.
    phone = device(s, "phone", "alice", "pw-alice-1",
                   caps=("extended-join",))
    phone.expect(rx(r":alice!\S+ JOIN #room alice :alice"))


def test_plus_R_admits_only_logged_in_people(f):
    s = Server(f, *OPER)
    make_account(s, "alice", "pw-alice-1")
    carol = s.user("carol")
    carol.send("JOIN #room")
    carol.read_until(numeric("366", "carol", "#room :End of /NAMES list"))
    carol.send("MODE #room +R")
    carol.expect(":carol!carol@127.0.0.1 MODE #room +R")
    bob = s.user("bob")
    bob.send("JOIN #room")
    bob.expect(numeric("477", "bob", "#room :Cannot join channel (+R) - "
                       "you need to be logged into your account"))
    alice = device(s, "alice", "alice", "pw-alice-1")
    alice.send("JOIN #room")
    alice.expect(rx(r":alice!\S+ JOIN #room"))
    # A chanop's invite lets a logged-out person in, as with +i.
    carol.send("INVITE bob #room")
    carol.read_until(numeric("341", "carol", "bob #room"))
    bob.read_until(rx(r":carol!\S+ INVITE bob :?#room"))
    bob.send("JOIN #room")
    bob.expect(":bob!bob@127.0.0.1 JOIN #room")
