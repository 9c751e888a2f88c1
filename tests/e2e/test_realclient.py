"""A real IRC client (weechat-headless) talks to natterd."""

import glob
import os
import shutil
import subprocess
import time

from harness import Server, rx, scaled, slow

ROOM = "#test"


def weechat_commands(port):
    return ";".join([
        "/set irc.server_default.nicks wee",
        "/set irc.server_default.username wee",
        "/set irc.server_default.realname weechat",
        "/set logger.file.auto_log on",
        "/set logger.file.flush_delay 0",
        "/set fifo.file.enabled on",
        "/server add t 127.0.0.1/%d -notls" % port,
        "/set irc.server.t.autojoin %s" % ROOM,
        "/connect t",
    ])


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("weechat: %s within %gs" % (what, scaled(timeout)))


@slow
def test_weechat_talks_both_ways(f):
    exe = shutil.which("weechat-headless")
    if exe is None:
        f.skip("weechat-headless is not on PATH (apt-get install weechat-headless)")
    s = Server(f)
    sock = s.user("sock")
    sock.join(ROOM)
    home = f.path("weechat")
    out = open(f.path("weechat.out"), "wb")
    wee = f.spawn("weechat", [exe, "--dir", home, "-r", weechat_commands(s.port)],
                  stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    out.close()
    try:
        sock.expect(rx(r":wee!wee@127\.0\.0\.1 JOIN :?%s", ROOM), timeout=20)
    except AssertionError:
        raise AssertionError("weechat never joined %s (exit status %s); its "
                             "log: %s" % (ROOM, wee.poll(), _tail(os.path.join(
                                 home, "weechat.log"))))
    # Ask weechat to speak through its FIFO (no fixed sleeps).
    fifo = wait_for(lambda: glob.glob(os.path.join(home, "weechat_fifo*")), 10,
                    "no FIFO appeared")[0]
    with open(fifo, "w") as fp:
        fp.write("*/msg -server t %s hello from weechat\n" % ROOM)
    sock.expect(":wee!wee@127.0.0.1 PRIVMSG %s :hello from weechat" % ROOM,
                timeout=10)
    sock.send("PRIVMSG %s :hello weechat" % ROOM)
    log = os.path.join(home, "logs", "irc.t.%s.weechatlog" % ROOM)

    def logged():
        try:
            with open(log, encoding="utf-8", errors="replace") as fp:
                return [l for l in fp if l.rstrip("\n").endswith("\thello weechat")
                        and "sock" in l]
        except OSError:
            return None
    lines = wait_for(logged, 10, "'hello weechat' from sock not in %s (has: %s)"
                     % (log, _tail(log)))
    assert lines[0].split("\t")[1].endswith("sock"), lines
    assert wee.poll() is None, "weechat exited early: %s" % wee.returncode


def _tail(path, n=10):
    try:
        with open(path, encoding="utf-8", errors="replace") as fp:
            return fp.read().splitlines()[-n:]
    except OSError as e:
        return str(e)
