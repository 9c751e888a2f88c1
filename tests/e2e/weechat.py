"""weechat-headless, a real IRC client, driven by the e2e tests.

    wee = Weechat(f, s.port)            # connects as wee, joins #test
    wee.command("mode #test e")         # typed in the server buffer t
    wee.wait_log("irc.t.#test", lambda text: "..." in text, "what")

WeeChat runs with its own home in the test's folder, logs every buffer
to logs/<buffer>.weechatlog at once (flush delay 0), and takes commands
through its FIFO.  A Relay between it and natterd records the lines it
sends, to show what a feature made it ask.
"""

import glob
import os
import shutil
import socket
import subprocess
import threading
import time

from harness import scaled

ROOM = "#test"


def weechat_commands(port, room=ROOM, extra=()):
    """The -r commands: nick, user and realname wee/wee/weechat, logs
    flushed at once, the FIFO on, server t at 127.0.0.1/port joining
    room; extra "/set ..." commands go before /connect."""
    return ";".join([
        "/set irc.server_default.nicks wee",
        "/set irc.server_default.username wee",
        "/set irc.server_default.realname weechat",
        "/set logger.file.auto_log on",
        "/set logger.file.flush_delay 0",
        "/set fifo.file.enabled on",
        "/server add t 127.0.0.1/%d -notls" % port,
        "/set irc.server.t.autojoin %s" % room,
    ] + list(extra) + ["/connect t"])


def wait_for(pred, timeout, what):
    """pred() until it returns something true (returned), else fail."""
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("weechat: %s within %gs" % (what, scaled(timeout)))


def _tail(path, n=10):
    try:
        with open(path, encoding="utf-8", errors="replace") as fp:
            return fp.read().splitlines()[-n:]
    except OSError as e:
        return str(e)


class Weechat:
    """weechat-headless against the natterd on port (skips the test when
    it is not installed)."""

    def __init__(self, f, port, room=ROOM, extra=()):
        exe = shutil.which("weechat-headless")
        if exe is None:
            f.skip("weechat-headless is not on PATH "
                   "(apt-get install weechat-headless)")
        self.home = f.path("weechat")
        out = open(f.path("weechat.out"), "wb")
        self.proc = f.spawn("weechat", [exe, "--dir", self.home, "-r",
                                        weechat_commands(port, room, extra)],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        out.close()
        self._fifo = None

    def fifo(self):
        if self._fifo is None:
            self._fifo = wait_for(lambda: glob.glob(os.path.join(
                self.home, "weechat_fifo*")), 10, "no FIFO appeared")[0]
        return self._fifo

    def command(self, cmd, buffer="irc.server.t"):
        """Types cmd ("mode ..." without the slash) in buffer ("": the
        current one)."""
        with open(self.fifo(), "w") as fp:
            fp.write("%s*/%s\n" % (buffer + " " if buffer else "", cmd))

    def say(self, text, buffer):
        """Types text (not a command) in buffer: a message to it."""
        with open(self.fifo(), "w") as fp:
            fp.write("%s *%s\n" % (buffer, text))

    def log_path(self, buffer):
        """The log of a buffer: "irc.server.t", "irc.t.#test"."""
        return os.path.join(self.home, "logs", "%s.weechatlog" % buffer)

    def log(self, buffer):
        try:
            with open(self.log_path(buffer), encoding="utf-8",
                      errors="replace") as fp:
                return fp.read()
        except OSError:
            return ""

    def texts(self, buffer):
        """The texts of the buffer's logged lines (date and prefix off)."""
        return [l.split("\t", 2)[2] for l in self.log(buffer).splitlines()
                if l.count("\t") >= 2]

    def wait_log(self, buffer, pred, what, timeout=10):
        """pred(log text) until true, else fail showing the log's tail."""
        return wait_for(lambda: pred(self.log(buffer)), timeout,
                        "%s in %s (has: %s)" % (what, self.log_path(buffer),
                                                self.tail(buffer)))

    def tail(self, buffer="", n=10):
        if not buffer:
            return _tail(os.path.join(self.home, "weechat.log"), n)
        return _tail(self.log_path(buffer), n)

    def check_alive(self):
        assert self.proc.poll() is None, \
            "weechat exited early: %s" % self.proc.returncode


class Relay:
    """A TCP relay between a real client and natterd that keeps the lines
    the client sent, so a test can show what natterd was asked."""

    def __init__(self, f, port):
        self.sent = []
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.target = port
        self.socks = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        try:
            down, _ = self.listener.accept()
        except OSError:
            return
        up = socket.create_connection(("127.0.0.1", self.target))
        self.socks += [down, up]
        threading.Thread(target=self._pipe, args=(down, up, True),
                         daemon=True).start()
        threading.Thread(target=self._pipe, args=(up, down, False),
                         daemon=True).start()

    def _pipe(self, src, dst, record):
        buf = b""
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
            if record:
                buf += data
                *lines, buf = buf.split(b"\n")
                with self.lock:
                    self.sent += [l.rstrip(b"\r").decode("utf-8", "replace")
                                  for l in lines]
        for x in (src, dst):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def lines(self):
        with self.lock:
            return list(self.sent)

    def close(self):
        for x in self.socks:
            try:
                x.close()
            except OSError:
                pass
