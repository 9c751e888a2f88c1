"""
tmuxlib.py: drive the natter client inside tmux for the TUI tests.

    with Tmux(f) as t:                        # its own tmux server
        a = t.natter("alice", port, "-j", "lobby")
        a.wait(rx(r"\\d\\d:\\d\\d <bob> hi"))     # some screen row matches
        a.type("hello")                        # literal text
        a.keys("Enter")                        # tmux key names
        rows = a.lines()                       # capture-pane -p

Every tmux server gets a unique -L socket and -f /dev/null, and is
killed when the with block ends (and by run.py, through the fixture's
pid file, should the worker die).  Screens are polled with a timeout,
never read after a fixed sleep.
"""

import os
import re
import signal
import shlex
import shutil
import subprocess
import time

import harness
from harness import scaled

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# NATTER_CLIENT: another natter binary (a sanitizer build, say).
NATTER = os.path.abspath(os.environ.get("NATTER_CLIENT") or
                         os.path.join(ROOT, "tui", "natter"))

ENV = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
ENV.pop("TMUX", None)

STAMP = r"\d\d:\d\d"


def need_natter(f):
    if not os.access(NATTER, os.X_OK):
        raise AssertionError("%s is missing: run make all" % NATTER)
    if shutil.which("tmux") is None:
        f.skip("tmux is not installed (make deps)")


def _match(cond, rows):
    """cond: a str (a substring of some row), a compiled regex (fullmatch
    of some row), or a callable(rows) -> bool."""
    if callable(cond) and not isinstance(cond, (str, re.Pattern)):
        return bool(cond(rows))
    for r in rows:
        if isinstance(cond, re.Pattern):
            if cond.fullmatch(r):
                return True
        elif cond in r:
            return True
    return False


def show(cond):
    if isinstance(cond, re.Pattern):
        return "/%s/" % cond.pattern
    if isinstance(cond, str):
        return repr(cond)
    return getattr(cond, "__doc__", None) or getattr(cond, "__name__",
                                                     repr(cond))


def width(s):
    """Terminal columns of s (East Asian wide and emoji: 2)."""
    import unicodedata
    n = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


class Tmux:
    def __init__(self, f, width=80, height=24):
        need_natter(f)
        self.f = f
        self.sock = "natter-e2e-%d-%s" % (os.getpid(), f.unique("t"))
        self.width = width
        self.height = height
        self.started = False
        self.panes = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def run(self, *args, check=True):
        cp = subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"]
                            + [str(a) for a in args], env=ENV,
                            capture_output=True, text=True,
                            errors="replace", timeout=scaled(10))
        if check and cp.returncode != 0:
            raise AssertionError("tmux %s: %s" % (" ".join(map(str, args)),
                                                  cp.stderr.strip()))
        return cp.stdout

    def start(self, name, command):
        """A new session running command (a shell command line)."""
        args = []
        if not self.started:
            args = ["start-server", ";", "set", "-g", "status", "off", ";",
                    "set", "-g", "remain-on-exit", "on", ";"]
        self.run(*args, "new-session", "-d", "-s", name, "-x", self.width,
                 "-y", self.height, "env", "TERM=xterm-256color",
                 "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
                 *self.f.client_sanitizer_options(), "sh", "-c", command)
        if not self.started:
            self.started = True
            try:
                pid = int(self.run("display", "-p", "-t", name,
                                   "#{pid}").strip())
                self.f.note_pid(pid)
            except ValueError:
                pass
        p = Pane(self, name)
        self.panes.append(p)
        return p

    def natter(self, nick, port, *args, host="127.0.0.1", tail=False):
        """natter -n nick [args] host:port in a session named nick.
        tail: keep the pane after natter exits, printing its status."""
        cmd = " ".join(shlex.quote(str(a)) for a in
                       [NATTER, "-n", nick, *args, "%s:%s" % (host, port)])
        if tail:
            # The trap keeps this shell alive through a Ctrl-C (natter
            # itself gets the default disposition back).
            cmd = ("trap : INT; s=$(stty -g); %s; rc=$?; "
                   "[ \"$(stty -g)\" = \"$s\" ] && echo TTY-RESTORED; "
                   "echo EXITED $rc; sleep 30" % cmd)
        else:
            cmd = "exec " + cmd
        return self.start(nick, cmd)

    def kill(self):
        if self.started:
            self.run("kill-server", check=False)
            self.started = False


class Pane:
    def __init__(self, tmux, name):
        self.t = tmux
        self.name = name

    def keys(self, *keys):
        """tmux key names: Enter, C-a, M-1, PPage, BSpace ..."""
        self.t.run("send-keys", "-t", self.name, *keys)

    def type(self, text):
        self.t.run("send-keys", "-t", self.name, "-l", text)

    def line(self, text):
        """Types text and Enter."""
        self.type(text)
        self.keys("Enter")

    def lines(self, escapes=False):
        args = ["capture-pane", "-p", "-t", self.name]
        if escapes:
            args.append("-e")
        out = self.t.run(*args)
        rows = out.split("\n")
        if rows and rows[-1] == "":
            rows.pop()
        return rows

    def text(self):
        return "\n".join(self.lines())

    def size(self):
        w, h = self.t.run("display", "-p", "-t", self.name,
                          "#{pane_width} #{pane_height}").split()
        return int(w), int(h)

    def cursor(self):
        x, y = self.t.run("display", "-p", "-t", self.name,
                          "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def status(self):
        """The status line (the row above the input line)."""
        rows = self.lines()
        _, h = self.size()
        rows += [""] * (h - len(rows))
        return rows[h - 2]

    def wait(self, cond, timeout=5):
        """Polls the screen until cond holds; returns the rows."""
        deadline = time.monotonic() + scaled(timeout)
        delay = 0.02
        while True:
            rows = self.lines()
            if _match(cond, rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(
                    "%s: screen never showed %s within %gs; screen:\n%s"
                    % (self.name, show(cond), scaled(timeout),
                       "\n".join("  |" + r for r in rows)))
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def wait_gone(self, cond, timeout=5):
        return self.wait(lambda rows: not _match(cond, rows), timeout)

    def wait_status(self, cond, timeout=5):
        """Polls until the status line matches cond (str: substring)."""
        def ok(rows):
            s = self.status()
            if isinstance(cond, re.Pattern):
                return cond.search(s) is not None
            return cond in s
        ok.__doc__ = "status line with %s" % show(cond)
        return self.wait(ok, timeout)

    def pane_pid(self):
        return int(self.t.run("display", "-p", "-t", self.name,
                              "#{pane_pid}").strip())

    def natter_pid(self, timeout=5):
        """The natter process in this pane (the pane's shell or a child
        of it)."""
        deadline = time.monotonic() + scaled(timeout)
        root = self.pane_pid()
        while True:
            for pid in [root] + _descendants(root):
                if _comm(pid) == "natter":
                    return pid
            if time.monotonic() > deadline:
                raise AssertionError("%s: no natter process" % self.name)
            time.sleep(0.05)


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as fp:
            return fp.read().strip()
    except OSError:
        return None


def _descendants(root):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as fp:
                stat = fp.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


def cpu_seconds(pid):
    """utime + stime of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as fp:
        f = fp.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(f[11]) + int(f[12])) / ticks


class FixedPortServer(harness.Server):
    """A natterd on a given port (to restart a server where a client
    expects it)."""

    def __init__(self, fixture, port, *flags):
        self.fixed_port = port
        super().__init__(fixture, *flags, start=False)
        self.start()

    def start(self):
        deadline = time.monotonic() + scaled(10)
        while True:
            self.port = self.fixed_port
            self.argv = self.f.command("-l", harness.HOST, "-p", self.port,
                                       "-n", harness.SERVER_NAME,
                                       *self.flags)
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=self._log,
                                         start_new_session=True)
            self.f.note_pid(self.proc.pid)
            self.returncode = None
            if self._wait_ready():
                return self
            self._log.close()
            if time.monotonic() > deadline:
                raise AssertionError("natterd could not listen on port %d:"
                                     "\n%s" % (self.port,
                                               self.log_text()[-2000:]))
            time.sleep(0.1)


class Ngircd:
    """Debian's ngircd on a free loopback port, in the foreground (-n),
    with a minimal config in the fixture's temp dir."""

    def __init__(self, f, password=None):
        """password: the server password (Password in [Global])."""
        self.f = f
        exe = shutil.which("ngircd") or (
            "/usr/sbin/ngircd" if os.access("/usr/sbin/ngircd", os.X_OK)
            else None)
        if exe is None:
            f.skip("ngircd is not installed (apt-get install ngircd)")
        self.port = harness.free_port()
        conf = [
            "[Global]",
            "Name = irc.ngircd.test",
            "Info = natter e2e",
            "Listen = 127.0.0.1",
            "Ports = %d" % self.port,
            "MotdPhrase = hello",
            "PidFile = %s" % f.path("ngircd.pid"),
        ]
        if password is not None:
            conf.append("Password = %s" % password)
        if os.geteuid() == 0:
            # ngircd refuses to run as root; drop to nobody.
            conf += ["ServerUID = 65534", "ServerGID = 65534"]
        conf += [
            "[Limits]",
            "MaxConnectionsIP = 0",
            "PingTimeout = 120",
            "PongTimeout = 20",
            "[Options]",
            "PAM = no",
            "Ident = no",
            "DNS = no",
            "[SSL]",
        ]
        path = f.write_file("ngircd.conf", "\n".join(conf) + "\n")
        os.chmod(f.tmpdir, 0o755)
        os.chmod(path, 0o644)
        self.log_path = f.path("ngircd.log")
        log = open(self.log_path, "ab")
        self.proc = f.spawn("ngircd", [exe, "-n", "-f", path],
                            stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log)
        log.close()
        deadline = time.monotonic() + scaled(10)
        while not harness._listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("ngircd did not start:\n%s"
                                     % self.log_text()[-2000:])
            time.sleep(0.05)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as fp:
                return fp.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def client(self, nick):
        """A registered raw client (Client wants a Server-like object)."""
        c = harness.Client(_Fake(self.f, self.port), name=nick)
        c.nick = nick
        c.send("NICK %s" % nick)
        c.send("USER %s 0 * :%s" % (nick, nick))
        c.read_until(re.compile(r":\S+ (376|422) .*"), 10)
        return c


class _Fake:
    def __init__(self, f, port):
        self.f = f
        self.port = port


def stop_group(p):
    harness._stop_process(p, signal.SIGTERM, scaled(5), group=True)
