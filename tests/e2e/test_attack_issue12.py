"""Attack tests for issue 12: a hostile client against natterd's
draft/multiline, and a hostile server against natter."""

import os
import re
import shlex
import socket
import threading
import time

import harness
from harness import FULL_SPEED, Server, rx, scaled
from test_caps import cap_user
from test_tui_notify import Captured, osc777
from test_tui_paste import paste
from tmuxlib import NATTER, STAMP, Tmux

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
    # line was free and answered "No open batch".
    flood_free_lines(f, "a\\sb", "@batch=a\\sb PRIVMSG #f :x")


def test_attack_multiline_duplicate_batch_tag_is_not_free(f):
    # The last batch key wins (an empty one too).
    flood_free_lines(f, "r1", "@batch=r1;batch PRIVMSG #f :x")


def test_attack_multiline_tags_only_line_is_not_free(f):
    # Tags naming the open batch and no command: it joins nothing.
    flood_free_lines(f, "r2", "@batch=r2")


def test_attack_multiline_batch_tag_cannot_inject_a_line(f):
    # The batch tag's value, unescaped, went into the FAIL line: "\r\n"
    # in it made a line of the client's own (here a NOTICE "from"
    # another name) in the server's output.
    s = Server(f, *FULL_SPEED)
    a = cap_user(s, "alice", *ML)
    a.send_raw(b"@batch=x\\r\\n:evil!e@h\\sNOTICE\\salice\\s:pwned "
               b"PRIVMSG alice :hi\r\nPING :sync\r\n")
    got = a.read_until(":irc.test PONG irc.test :sync")
    assert ":irc.test FAIL BATCH MULTILINE_INVALID :No open batch" in got, \
        got
    assert not [ln for ln in got if "evil" in ln], got


def test_attack_multiline_nick_changing_hands_is_refused(f):
    # alice writes to bob; bob becomes bob2 and carol takes "bob" before
    # the batch closes: the lines written to bob never reach carol.
    s = Server(f, *FULL_SPEED)
    a = cap_user(s, "alice", *ML)
    b = s.user("bob")
    c = s.user("carol")
    a.send_raw(b"BATCH +x draft/multiline bob\r\n"
               b"@batch=x PRIVMSG bob :for bob only\r\n"
               b"PING :opened\r\n")
    # The batch was opened while bob had the nick (a PING may come
    # inside a batch): only then is carol someone else.
    a.expect(":irc.test PONG irc.test :opened")
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


# --- natter as the victim of a hostile server ---

class Hostile:
    """A fake IRC server for one natter: registers it, then sends what
    natterd never would.  say() queues raw bytes to send."""

    def __init__(self, f, ml_value=b"max-bytes=4096"):
        self.ml_value = ml_value
        self.sock = socket.socket()
        self.sock.bind((harness.HOST, 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.name = "hostile server"
        self.history = []           # what Fixture.details() shows
        self.closed = False
        self.conn = None
        self.got = b""
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        f.clients.append(self)

    def _serve(self):
        """Answers CAP LS and CAP REQ; ready once NICK, USER and the
        REQ are in."""
        lsd = acked = False
        try:
            self.conn, _ = self.sock.accept()
            while True:
                data = self.conn.recv(4096)
                if not data:
                    return
                self.got += data
                if not lsd and b"CAP LS" in self.got:
                    lsd = True
                    self.say(b":fake CAP * LS :batch draft/multiline=" +
                             self.ml_value)
                m = re.search(rb"CAP REQ :([^\r\n]*)", self.got)
                if m and not acked:
                    acked = True
                    self.say(b":fake CAP alice ACK :" + m.group(1))
                if acked and b"USER " in self.got:
                    self.ready.set()
        except OSError:
            pass

    def say(self, *lines):
        data = b"".join(ln + b"\r\n" for ln in lines)
        self.history.append(repr(data[:200]))
        self.conn.sendall(data)

    def close(self):
        self.closed = True
        self.sock.close()
        if self.conn is not None:
            self.conn.close()


class Exiting(Captured):
    """Captured, run by a shell that writes natter's exit status to
    .rc (tmux 3.3 does not always reap a pane's process)."""

    def __init__(self, f, t, nick, port):
        self.rc = f.path("%s.rc" % nick)
        self.path = f.path("%s.out" % nick)
        go = f.path("%s.go" % nick)
        argv = [NATTER, "-n", nick, "127.0.0.1:%s" % port]
        cmd = ("while [ ! -e %s ]; do sleep 0.02; done; env -u TMUX %s; "
               "echo $? > %s; sleep 30"
               % (shlex.quote(go), " ".join(shlex.quote(x) for x in argv),
                  shlex.quote(self.rc)))
        self.pane = t.start(nick, cmd)
        t.run("pipe-pane", "-O", "-t", nick,
              "cat >> %s" % shlex.quote(self.path))
        open(go, "w").close()
        self.mark = 0


def test_attack_tui_hostile_server(f):
    """C1 and ESC in a nick and a room never reach the pty raw (the
    notification's title was written with them); then floods natterd
    would never send (50,000 nicks, 10,000 nested batches, a 1 MB
    multiline batch, 100,000 MOTD lines) leave natter alive and
    drawing.  Run it with NATTER_CLIENT=build/asan/natter too."""
    srv = Hostile(f)
    with Tmux(f) as t:
        a = Exiting(f, t, "alice", srv.port)
        assert srv.ready.wait(scaled(10)), srv.got
        room = b"#r\xc2\x9d\xc2\x9b\x9b"
        srv.say(b":fake 001 alice :Welcome", b":fake 422 alice :No MOTD",
                b":alice!a@h JOIN " + room, b":alice!a@h JOIN #side")
        a.pane.wait(rx(STAMP + r" alice \(a@h\) has joined #side.*"))
        a.set_mark()
        srv.say(b":b\xc2\x9do\x9b" b"b!b@h PRIVMSG " + room +
                b" :alice: hi\x1b]2;pwn\x07\xc2\x9b2J")
        got = a.wait(osc777("natter: bob in #r", "alice: hi]2;pwn2J"))
        for raw in (b"\xc2\x9d", b"\xc2\x9b", b"]2;pwn\x07", b"\x9b2J"):
            assert raw not in got, (raw, got)
        # Floods.
        nicks = [b"n%06d" % i for i in range(50000)]
        srv.say(*[b":fake 353 alice = #side :" + b" ".join(nicks[i:i + 40])
                  for i in range(0, len(nicks), 40)],
                b":fake 366 alice #side :End")
        srv.say(*[b"@batch=b%d :fake BATCH +b%d chathistory #side"
                  % (i - 1, i) for i in range(10000)],
                *[b":fake BATCH -b%d" % i for i in range(9999, -1, -1)])
        srv.say(b":fake BATCH +big draft/multiline #side",
                *[b"@batch=big :bob!b@h PRIVMSG #side :" + b"x" * 400] *
                2600, b":fake BATCH -big")
        srv.say(b":fake 375 alice :- MOTD", *[b":fake 372 alice :- %d" % i
                                              for i in range(100000)],
                b":fake 376 alice :End")
        srv.say(b":bob!b@h PRIVMSG #side :after the floods")
        a.pane.wait(rx(STAMP + r" <bob> after the floods.*"), timeout=30)
        a.pane.line("/quit")
        # natter's exit status, as the wrapper (Exiting) wrote it.
        deadline = time.monotonic() + scaled(10)
        rc = ""
        while not rc.endswith("\n") and time.monotonic() < deadline:
            time.sleep(0.05)
            if os.path.exists(a.rc):
                with open(a.rc) as fp:
                    rc = fp.read()
        rc = rc.strip()
        assert rc == "0", "natter exited %s:\n%s" % (
            rc, "\n".join(a.pane.lines()))


def test_attack_tui_command_waits_for_registration(f):
    """A /whois typed while the server has not yet sent 001 (a slow
    ident lookup) goes after it, not into a 451."""
    srv = Hostile(f)
    with Tmux(f) as t:
        a = t.natter("alice", srv.port)
        assert srv.ready.wait(scaled(10)), srv.got
        a.wait(rx(STAMP + r" Connected to 127\.0\.0\.1:%d" % srv.port))
        a.line("/whois bob")
        a.line("/help whois")       # shown once the /whois was taken
        a.wait(rx(r".*/whois <nick>.*"))
        deadline = time.monotonic() + scaled(1)
        while time.monotonic() < deadline:
            assert b"WHOIS" not in srv.got, srv.got
            time.sleep(0.05)
        before = len(srv.got)
        srv.say(b":fake 001 alice :Welcome", b":fake 422 alice :No MOTD")
        deadline = time.monotonic() + scaled(5)
        while b"WHOIS bob" not in srv.got[before:]:
            assert time.monotonic() < deadline, srv.got
            time.sleep(0.05)


def test_attack_tui_paste_in_list_window_sends_nothing(f):
    """The LIST window sends nothing when typed in; a paste there was
    offered ("Send 7 lines to (list)?") and sent as PRIVMSG (list), or
    with draft/multiline as a batch to (list)."""
    s = Server(f)
    bob = s.user("bob")
    bob.join("#dev")
    with Tmux(f) as t:
        a = t.natter("alice", s.port, "-j", "lobby")
        a.wait(rx(STAMP + r" alice \(alice@127\.0\.0\.1\) has joined "
                  r"#lobby.*"), timeout=10)
        a.line("/list")
        a.wait(rx(STAMP + r" End of LIST: 2 rooms.*"))
        paste(t, a, "\n".join("pasted %d" % i for i in range(7)))
        a.wait(rx(STAMP + r" Paste of 7 lines not sent: the list window "
                  r"sends to no one.*"))
        # A few lines: each as if typed there (main sent them as a
        # draft/multiline batch to "(list)").
        paste(t, a, "pasted a\npasted b\npasted c")
        a.wait(lambda rows: sum(1 for r in rows if re.fullmatch(
            STAMP + r" You are not in a room: use /join #room *", r)) == 3)
        assert not any("(list)?" in r or "No such nick" in r
                       for r in a.lines()), a.lines()


def test_attack_tui_paste_to_a_tiny_max_bytes(f):
    """A server offering draft/multiline with max-bytes=100: natter took
    at least 401 (one piece) and sent a 183-byte batch the server must
    refuse; it now sends paced lines."""
    srv = Hostile(f, ml_value=b"max-bytes=100,max-lines=100")
    with Tmux(f) as t:
        a = t.natter("alice", srv.port)
        assert srv.ready.wait(scaled(10)), srv.got
        srv.say(b":fake 001 alice :Welcome", b":fake 422 alice :No MOTD",
                b":alice!a@h JOIN #side", b":fake 353 alice = #side :alice",
                b":fake 366 alice #side :End")
        a.wait(rx(STAMP + r" alice \(a@h\) has joined #side.*"))
        # 3 lines of 60 bytes: 183 bytes, past the server's 100.
        texts = ["%d " % i + "x" * 58 for i in range(3)]
        paste(t, a, "\n".join(texts))
        deadline = time.monotonic() + scaled(5)
        while texts[2].encode() not in srv.got:
            assert time.monotonic() < deadline, srv.got
            time.sleep(0.05)
        assert b"BATCH" not in srv.got, srv.got
        assert re.findall(rb"PRIVMSG #side :(\d x+)\r\n", srv.got) == [
            x.encode() for x in texts], srv.got
