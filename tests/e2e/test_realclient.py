"""A real IRC client (weechat-headless) talks to natterd."""

from harness import Server, rx, slow
from weechat import ROOM, Weechat, wait_for, weechat_commands, _tail  # noqa: F401 (used by other test files)


@slow
def test_weechat_talks_both_ways(f):
    s = Server(f)
    sock = s.user("sock")
    sock.join(ROOM)
    wee = Weechat(f, s.port)
    try:
        sock.expect(rx(r":wee!wee@127\.0\.0\.1 JOIN :?%s", ROOM), timeout=20)
    except AssertionError:
        raise AssertionError("weechat never joined %s (exit status %s); its "
                             "log: %s" % (ROOM, wee.proc.poll(), wee.tail()))
    # Ask weechat to speak through its FIFO (no fixed sleeps).
    wee.command("msg -server t %s hello from weechat" % ROOM)
    sock.expect(":wee!wee@127.0.0.1 PRIVMSG %s :hello from weechat" % ROOM,
                timeout=10)
    sock.send("PRIVMSG %s :hello weechat" % ROOM)
    buf = "irc.t.%s" % ROOM
    lines = wee.wait_log(buf, lambda text: [
        l for l in text.splitlines()
        if l.endswith("\thello weechat") and "sock" in l],
        "'hello weechat' from sock")
    assert lines[0].split("\t")[1].endswith("sock"), lines
    wee.check_alive()
