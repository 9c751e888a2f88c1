"""
harness.py: what the natterd end-to-end tests are built from.

    def test_something(f):               # f: a Fixture, made by run.py
        s = Server(f, "--motd", path)    # one natterd on a free port
        alice = s.user("alice")          # connected and registered
        bob = s.user("bob")
        join(alice, bob, room="#r")      # both in #r, each saw its 366
        alice.send("PRIVMSG #r :hi")
        bob.expect(":alice!alice@127.0.0.1 PRIVMSG #r :hi")
        alice.no_line(re.compile(".* PRIVMSG .*"), sync=True)

Patterns: a str matches a line exactly; a compiled regex must fullmatch.
Every process and socket a test opens is registered with its Fixture and
closed by Fixture.cleanup(), which also reports sanitizer output.
"""

import collections
import glob
import os
import re
import select
import shlex
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

SERVER_NAME = "irc.test"
# natterd's reply to CAP LS 302 (two lines, the first marked "*"), and to
# a CAP LS without a version (the bare names, one line).
CAP_LS_302 = (
    ":irc.test CAP * LS * :account-notify account-tag draft/account-registration=before-connect,custom-account-name away-notify batch cap-notify draft/channel-rename draft/chathistory chghost echo-message extended-join extended-monitor invite-notify labeled-response draft/message-redaction message-tags multi-prefix draft/multiline=max-bytes=4096,max-lines=100 draft/read-marker sasl=PLAIN,EXTERNAL,SCRAM-SHA-256 server-time setname",
    ":irc.test CAP * LS :userhost-in-names")
CAP_LS_NO_VALUES = (
    ":irc.test CAP * LS :account-notify account-tag draft/account-registration away-notify batch cap-notify draft/channel-rename draft/chathistory chghost echo-message extended-join extended-monitor invite-notify labeled-response draft/message-redaction message-tags multi-prefix draft/multiline draft/read-marker sasl server-time setname userhost-in-names")
HOST = "127.0.0.1"

# Flags for tests that send faster than a person types (natterd's flood
# control would delay them) or connect more often than its throttle
# allows from one address.
FULL_SPEED = ("--flood-burst", "0")
NO_THROTTLE = ("--throttle", "0")

# Flags by which a test chooses natterd's Unix socket itself.
UNIX_FLAGS = {"--unix", "--unix-only", "--no-unix"}

# The repository's help file, which every natterd the tests start reads
# unless the test gives --help-file itself (natterd's compiled-in
# default is the installed copy).
HELP_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "server", "natterd.help")

# Markers of a sanitizer report in the server's stderr.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
    "ERROR: LeakSanitizer",
)

# Timeouts are multiplied by this (run.py sets it for sanitizer builds).
SLOW = float(os.environ.get("NATTER_E2E_SLOW", "1"))


class Skip(Exception):
    """Raised (through Fixture.skip) to skip a test."""


def scaled(seconds):
    return seconds * SLOW


def slow(fn):
    """Marks a test as slow: run.py starts those first."""
    fn.slow = True
    return fn


def timeout(seconds):
    """Decorator: a per-test timeout other than run.py's default."""
    def mark(fn):
        fn.timeout = seconds
        return fn
    return mark


def _show(pattern):
    if isinstance(pattern, re.Pattern):
        return "/%s/" % pattern.pattern
    return repr(pattern)


def matches(pattern, line):
    if isinstance(pattern, re.Pattern):
        return pattern.fullmatch(line) is not None
    return pattern == line


def sanitizer_report(text):
    """The first lines of a sanitizer report in text, or None."""
    for marker in SANITIZER_MARKERS:
        i = text.find(marker)
        if i >= 0:
            start = text.rfind("\n", 0, i) + 1
            return "\n".join(text[start:].splitlines()[:25])
    return None


class Fixture:
    """Per-test state: the server binary, a temp dir, and everything the
    test started (cleaned up in reverse order)."""

    def __init__(self, server_path, wrapper="", test_id="test", verbose=False,
                 pidfile=None):
        self.server_path = os.path.abspath(server_path)
        self.wrapper = shlex.split(wrapper) if wrapper else []
        self.test_id = test_id
        self.verbose = verbose
        self.tmpdir = tempfile.mkdtemp(prefix="natter-e2e-")
        # Every natterd this test starts keeps its default history
        # database in the test's own folder, never in the real HOME.
        os.environ["XDG_STATE_HOME"] = os.path.join(self.tmpdir, "state")
        self.servers = []
        self.clients = []
        self.procs = []          # other processes: (name, Popen)
        self.problems = []       # sanitizer reports, crashes
        self.pidfile = pidfile   # run.py kills what is listed if left over
        self._counter = 0

    # --- helpers for tests ---

    def skip(self, reason):
        raise Skip(reason)

    def path(self, name):
        return os.path.join(self.tmpdir, name)

    def write_file(self, name, text):
        p = self.path(name)
        with open(p, "w", encoding="utf-8") as fp:
            fp.write(text)
        return p

    def unique(self, prefix):
        self._counter += 1
        return "%s%d" % (prefix, self._counter)

    def command(self, *args):
        """The server command line (with the wrapper) for args.  Tests
        run as root, whose default Unix socket (/run/natterd) is one
        path for the whole machine: every server gets --no-unix unless
        the test names a socket (--unix, --unix-only) itself; and the
        repository's help file unless the test gives --help-file."""
        args = [str(a) for a in args]
        if not UNIX_FLAGS.intersection(args):
            args.insert(0, "--no-unix")
        if "--help-file" not in args:
            args[:0] = ["--help-file", HELP_FILE]
        return self.wrapper + [self.server_path] + args

    def tls_files(self, name="tls"):
        """A self-signed certificate and key made by natterd --gen-cert
        in the temp dir (one pair per name): (cert path, key path)."""
        d = self.path(name)
        crt, key = os.path.join(d, "natterd.crt"), os.path.join(d, "natterd.key")
        if not os.path.exists(crt):
            cp = self.run("-n", SERVER_NAME, "--gen-cert", d)
            assert cp.returncode == 0, cp.stderr
        return crt, key

    def run(self, *args, input=None, timeout=10):
        """Runs natterd with args to completion (CLI tests); returns the
        CompletedProcess (text).  Sanitizer output counts as a failure."""
        cp = subprocess.run(self.command(*args), input=input,
                            capture_output=True, text=True,
                            errors="replace", timeout=scaled(timeout))
        report = sanitizer_report(cp.stderr)
        if report:
            self.problems.append("sanitizer report from natterd %s: %s"
                                 % (" ".join(map(str, args)), report.strip()))
        return cp

    def spawn(self, name, argv, **kw):
        """Starts a helper process (its own process group) stopped at
        cleanup."""
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append((name, p))
        self.note_pid(p.pid)
        return p

    def note_pid(self, pid):
        if self.pidfile:
            with open(self.pidfile, "a") as fp:
                fp.write("%d\n" % pid)

    # --- cleanup and reporting ---

    def cleanup(self):
        for c in self.clients:
            c.close()
        for name, p in reversed(self.procs):
            _stop_process(p, signal.SIGTERM, 5, group=True)
        for s in reversed(self.servers):
            s.stop()
            s.check()
        self.check_client_reports()

    def client_sanitizer_options(self):
        """ASAN_OPTIONS and UBSAN_OPTIONS for a natter the test starts:
        a sanitizer build's report goes to a file in the test's folder
        (the terminal would hide it), which cleanup() turns into a
        failure.  Harmless for a normal build."""
        out = []
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            base = os.environ.get(var, "")
            out.append("%s=%s%slog_path=%s" % (
                var, base, ":" if base else "",
                self.path("natter-" + var.split("_")[0].lower())))
        return out

    def check_client_reports(self):
        for p in sorted(glob.glob(self.path("natter-*san.*"))):
            try:
                with open(p, errors="replace") as fp:
                    text = fp.read()
            except OSError:
                continue
            if text.strip():
                self.problems.append("natter sanitizer report (%s):\n%s"
                                     % (os.path.basename(p), text[:4000]))

    def details(self, lines=20):
        """Text for a failure report: client traffic and server logs."""
        out = []
        for c in self.clients:
            out.append("  client %s (last lines received):" % c.name)
            tail = c.history[-lines:]
            if not tail:
                out.append("    (nothing received)")
            for line in tail:
                out.append("    << " + line)
            if c.closed:
                out.append("    (connection closed)")
        for s in self.servers:
            out.append("  server %s port %s%s:" % (
                " ".join(s.argv[-len(s.flags):]) if s.flags else "(no flags)",
                s.port,
                "" if s.returncode is None else ", exit status %s" % s.returncode))
            log = s.log_text().splitlines()
            if not log:
                out.append("    (stderr empty)")
            for line in log[-lines:]:
                out.append("    | " + line)
        return "\n".join(out)

    def remove_tmpdir(self):
        import shutil
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def _stop_process(p, sig, wait, group=False):
    """Signal p, wait up to wait seconds, then SIGKILL.  Returns True if
    it had to be killed."""
    if p.poll() is not None:
        return False
    try:
        if group:
            os.killpg(p.pid, sig)
        else:
            p.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=wait)
        return False
    except subprocess.TimeoutExpired:
        pass
    try:
        if group:
            os.killpg(p.pid, signal.SIGKILL)
        else:
            p.kill()
    except (ProcessLookupError, PermissionError):
        pass
    p.wait()
    return True


def family(host):
    """AF_INET6 for an IPv6 address, else AF_INET."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host=HOST):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _listening(port, host=HOST):
    """True if something listens on host:port (or on the wildcard
    address), per /proc/net/tcp or tcp6 (no probe connection that the
    server would count), or None if that file cannot be read."""
    fam = family(host)
    raw = socket.inet_pton(fam, host)
    # Each 32-bit word as the kernel prints it: in host byte order.
    addr = "".join("%08X" % struct.unpack("=I", raw[i:i + 4])[0]
                   for i in range(0, len(raw), 4))
    try:
        with open("/proc/net/tcp6" if fam == socket.AF_INET6
                  else "/proc/net/tcp") as fp:
            rows = fp.read().splitlines()[1:]
    except OSError:
        return None
    want = "%s:%04X" % (addr, port)
    want_any = "%s:%04X" % ("0" * len(addr), port)
    for row in rows:
        f = row.split()
        if len(f) > 3 and f[1] in (want, want_any) and f[3] == "0A":
            return True
    return False


class Server:
    """One natterd process: `natterd -l 127.0.0.1 -p PORT -n irc.test
    <flags>`, stderr to a log file in the fixture's temp dir."""

    def __init__(self, fixture, *flags, start=True, tls=False, host=HOST):
        """tls: also a TLS port (self.tls_port) with a certificate from
        fixture.tls_files().  host: the address to listen on (-l), where
        clients connect by default."""
        self.f = fixture
        self.flags = [str(x) for x in flags]
        self.host = host
        self.tls_port = None
        if tls:
            crt, key = fixture.tls_files()
            self.tls_port = free_port(host)
            self.flags += ["--tls-port", str(self.tls_port), "--tls-cert",
                           crt, "--tls-key", key]
        self.port = None
        self.proc = None
        self.argv = []
        self.returncode = None
        self.stopped_by_us = False
        self.killed = False
        self._checked = False
        fixture.servers.append(self)
        n = len(fixture.servers)
        self.log_path = fixture.path("natterd-%d.log" % n)
        if start:
            self.start()

    def start(self):
        for attempt in range(10):
            port = free_port(self.host)
            self.port = port
            self.argv = self.f.command("-l", self.host, "-p", port,
                                       "-n", SERVER_NAME, *self.flags)
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=self._log,
                                         start_new_session=True)
            self.f.note_pid(self.proc.pid)
            self.returncode = None
            if self._wait_ready():
                return self
            text = self.log_text()
            if self.proc.poll() is not None and "in use" in text.lower():
                self._log.close()
                os.truncate(self.log_path, 0)
                continue
            self.stop()
            raise AssertionError("natterd did not start (exit status %s):\n%s"
                                 % (self.returncode, text[-2000:]))
        raise AssertionError("natterd: no free port after 10 attempts")

    def _wait_ready(self, limit=None):
        deadline = time.monotonic() + (limit or scaled(20))
        delay = 0.005
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                return False
            up = _listening(self.port, self.host)
            if up and self.tls_port is not None:
                up = _listening(self.tls_port, self.host)
            if up and "--unix" in self.flags:
                # Logged once every listener is open.
                up = ("listening on %s" % self.flags[
                    self.flags.index("--unix") + 1]) in self.log_text()
            if up is None:      # no /proc: probe once with a connection
                try:
                    socket.create_connection((self.host, self.port),
                                             1).close()
                    return True
                except OSError:
                    up = False
            if up:
                return True
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return False

    # --- convenience ---

    def client(self, name=None, **kw):
        return Client(self, name=name, **kw)

    def user(self, nick, user=None, realname=None, **kw):
        """A connected, registered client (its welcome burst consumed)."""
        c = Client(self, name=nick, **kw)
        c.register(nick, user, realname)
        return c

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for the process to exit; returns its status or None."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def log_text(self):
        try:
            with open(self.log_path, "rb") as fp:
                return fp.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self):
        """SIGKILL, as a crash or power loss would stop it, and waits for
        it; the harness does not call it a crash.  Returns the status."""
        self.stopped_by_us = True
        self.proc.send_signal(signal.SIGKILL)
        return self.wait(scaled(10))

    def stop(self):
        """SIGTERM, up to 5 s, then SIGKILL.  Idempotent."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.stopped_by_us = True
            self.killed = _stop_process(self.proc, signal.SIGTERM,
                                        scaled(5))
        self.returncode = self.proc.returncode
        try:
            self._log.close()
        except Exception:
            pass

    def check(self):
        """Records a problem if the server printed a sanitizer report or
        died of a signal we did not send."""
        if self._checked or self.proc is None:
            return
        self._checked = True
        report = sanitizer_report(self.log_text())
        if report:
            self.f.problems.append("sanitizer report from natterd (port %s): %s"
                                   % (self.port, report.strip()))
        rc = self.returncode
        if rc is not None and rc < 0 and not self.stopped_by_us:
            self.f.problems.append("natterd (port %s) died of signal %d"
                                   % (self.port, -rc))
        elif self.killed:
            self.f.problems.append(
                "natterd (port %s) ignored SIGTERM for %gs and was killed"
                % (self.port, scaled(5)))


class Client:
    """A line-oriented IRC connection to a Server.

    A reader thread receives continuously (like a real client), so the
    server never sees us stall unless reader=False (then we read only
    inside the methods below).  Lines received wait in `pending` until a
    method consumes them; all of them stay in `history`.  Server PINGs are
    answered at once unless auto_pong=False (the PING line is still
    delivered)."""

    def __init__(self, server, name=None, rcvbuf=None, auto_pong=True,
                 connect=True, port=None, reader=True, tls=None, source=None,
                 unix=None):
        """tls: an ssl.SSLContext (or True for one that checks nothing):
        the connection is TLS, to port (the server's TLS port).
        source: the local address to connect from.  unix: the path of
        natterd's Unix socket, to connect there instead."""
        self.unix = unix
        self.server = server
        if tls is True:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        self.tls = tls
        # An SSL object is not for two threads at once: the reader and
        # senders take turns, with the socket non-blocking.
        self._io = threading.Lock()
        self.f = server.f
        self.name = name or self.f.unique("client")
        self.nick = self.name
        self.port = port or server.port
        self.auto_pong = auto_pong
        self.history = []
        self.pending = collections.deque()
        self.closed = False
        self._buf = b""
        self._syncs = 0
        self._gen = 0
        self._cv = threading.Condition()
        self._thread = None
        self._wake = None
        self._want_reader = reader
        # A stand-in for a Server (tmuxlib's for ngircd) may have no host.
        self.host = getattr(server, "host", HOST)
        self.sock = socket.socket(socket.AF_UNIX if unix else
                                  family(self.host), socket.SOCK_STREAM)
        if source is not None:
            self.sock.bind((source, 0))
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.f.clients.append(self)
        if connect:
            self.connect()

    def connect(self):
        self.sock.settimeout(scaled(5))
        self.sock.connect(self.unix or (self.host, self.port))
        if self.tls is not None:
            self.sock = self.tls.wrap_socket(self.sock,
                                             server_hostname="localhost")
            self.sock.setblocking(False)
        else:
            self.sock.settimeout(None)
        if self._want_reader:
            self._wake = os.pipe()
            self._thread = threading.Thread(target=self._reader, daemon=True,
                                            name="reader-" + self.name)
            self._thread.start()

    def __repr__(self):
        return "<Client %s>" % self.name

    # --- sending ---

    def send(self, line):
        self.send_raw(line.encode("utf-8") + b"\r\n")

    def send_raw(self, data):
        try:
            if self.tls is None:
                self.sock.sendall(data)
                return
            view = memoryview(data)
            while view:
                with self._io:
                    try:
                        n = self.sock.send(view)
                    except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                        n = 0
                view = view[n:]
                if view and n == 0:
                    select.select([], [self.sock], [], 0.05)
        except (OSError, AttributeError) as e:
            raise AssertionError("%s: send failed: %s" % (self.name, e))

    # --- receiving ---

    def _reader(self):
        sock, wake = self.sock, self._wake[0]
        while True:
            try:
                r, _, _ = select.select([sock, wake], [], [])
            except (OSError, ValueError):
                break
            if wake in r:
                return
            if self.tls is not None:
                data = self._recv_tls(sock)
                if data is None:
                    continue
            else:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
            self._feed(data)
            if not data:
                return

    def _recv_tls(self, sock):
        """What OpenSSL has, pending records included; None for nothing
        yet, b"" at the end."""
        data = b""
        with self._io:
            while True:
                try:
                    chunk = sock.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    return data or b""
                data += chunk
                if not sock.pending():
                    break
        return data or None

    def _feed(self, data):
        """Adds received bytes (b"" for EOF) under the lock."""
        with self._cv:
            if not data:
                self.closed = True
                if self._buf:
                    self._deliver(self._buf)
                    self._buf = b""
            else:
                self._buf += data
                *lines, self._buf = self._buf.split(b"\n")
                for raw in lines:
                    self._deliver(raw[:-1] if raw.endswith(b"\r") else raw)
            self._gen += 1
            self._cv.notify_all()

    def _deliver(self, raw):
        line = raw.decode("utf-8", "replace")
        self.history.append(line)
        self.pending.append(line)
        if self.auto_pong:
            m = re.fullmatch(r"(?::\S+ )?PING :?(.*)", line)
            if m:
                try:
                    self.sock.sendall(("PONG :%s\r\n" % m.group(1)).encode())
                except OSError:
                    pass

    def _pump(self, deadline, gen):
        """Waits until something arrived after generation gen (or EOF),
        or the deadline passed.  Call with the lock held."""
        if self._thread is not None:
            left = deadline - time.monotonic()
            if left > 0 and self._gen == gen and not self.closed:
                self._cv.wait(left)
            return
        if self.closed or self.sock is None:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([self.sock], [], [], left)
        if r:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            self._cv.release()
            try:
                self._feed(data)
            finally:
                self._cv.acquire()

    def _wait_for(self, step, timeout, what):
        """Calls step() (lock held) until it returns non-None; step
        consumes from pending.  what() describes the failure."""
        deadline = time.monotonic() + scaled(timeout)
        with self._cv:
            while True:
                gen = self._gen
                got = step()
                if got is not None:
                    return got
                if self.closed:
                    raise what("connection closed")
                if time.monotonic() >= deadline:
                    raise what("nothing within %gs" % scaled(timeout))
                self._pump(deadline, gen)

    def _fail(self, what, skipped):
        skipped = list(skipped)
        shown = skipped[-12:]
        more = "" if len(shown) == len(skipped) else \
            " (%d earlier lines not shown)" % (len(skipped) - len(shown))
        return AssertionError("%s: %s; lines seen meanwhile%s: %s"
                              % (self.name, what, more, shown))

    def expect(self, pattern, timeout=5):
        """Waits for a line matching pattern; lines before it are consumed
        (kept in history).  Returns the line."""
        return self.read_until(pattern, timeout)[-1]

    def read_until(self, pattern, timeout=5):
        """Like expect, but returns every line consumed, the match last."""
        seen = []

        def step():
            while self.pending:
                line = self.pending.popleft()
                seen.append(line)
                if matches(pattern, line):
                    return seen
            return None
        return self._wait_for(step, timeout, lambda why: self._fail(
            "%s while waiting for %s" % (why, _show(pattern)), seen))

    def next_line(self, timeout=5, skip_pings=True):
        """The next line (consumed); answered server PINGs are skipped."""
        def step():
            while self.pending:
                line = self.pending.popleft()
                if skip_pings and self.auto_pong and \
                        re.fullmatch(r"(?::\S+ )?PING .*", line):
                    continue
                return line
            return None
        return self._wait_for(step, timeout, lambda why: self._fail(
            "%s while waiting for the next line" % why, []))

    def expect_exact_sequence(self, patterns, timeout=5):
        """The next lines must match patterns, in order, none between
        (answered server PINGs aside).  Returns them."""
        got = []
        for p in patterns:
            try:
                line = self.next_line(timeout)
            except AssertionError as e:
                raise AssertionError("%s: expected %s after %r: %s"
                                     % (self.name, _show(p), got, e))
            got.append(line)
            if not matches(p, line):
                raise AssertionError(
                    "%s: line %d of the sequence: expected %s, got %r "
                    "(sequence so far %r)" % (self.name, len(got), _show(p),
                                              line, got))
        return got

    def expect_unordered(self, patterns, timeout=5):
        """Waits until every pattern matched some line (any order, other
        lines skipped).  Returns the matching lines in pattern order."""
        todo = list(enumerate(patterns))
        found = [None] * len(patterns)
        seen = []

        def step():
            while self.pending and todo:
                line = self.pending.popleft()
                seen.append(line)
                for k, (i, p) in enumerate(todo):
                    if matches(p, line):
                        found[i] = line
                        del todo[k]
                        break
            return found if not todo else None
        return self._wait_for(step, timeout, lambda why: self._fail(
            "%s while still waiting for %s" % (
                why, ", ".join(_show(p) for _, p in todo)), seen))

    def sync(self, timeout=5):
        """Round trip through the server (PING/PONG): output the server
        queued for us before it handled our PING is then in pending.
        Only the PONG is consumed."""
        self._syncs += 1
        token = "sync-%d" % self._syncs
        self.send("PING :%s" % token)
        want = ":%s PONG %s :%s" % (SERVER_NAME, SERVER_NAME, token)

        def step():
            if want in self.pending:
                self.pending.remove(want)
                return True
            return None
        self._wait_for(step, timeout, lambda why: self._fail(
            "%s while waiting for the PONG of a sync" % why, self.pending))

    def no_line(self, pattern, wait=0.5, sync=False):
        """Asserts no line matching pattern arrives within wait seconds
        (pending lines included; nothing is consumed).  sync=True first
        makes a PING round trip, so wait can be short."""
        if sync and not self.closed:
            self.sync()
        deadline = time.monotonic() + scaled(wait)
        with self._cv:
            while not self.closed and time.monotonic() < deadline:
                self._pump(deadline, self._gen)
            for line in self.pending:
                if matches(pattern, line):
                    raise AssertionError("%s: got unexpected line %r "
                                         "(matches %s)"
                                         % (self.name, line, _show(pattern)))

    def drain(self, wait=0.0):
        """Consumes and returns everything pending (after reading for
        wait seconds)."""
        deadline = time.monotonic() + scaled(wait)
        with self._cv:
            while not self.closed and time.monotonic() < deadline:
                self._pump(deadline, self._gen)
            out = list(self.pending)
            self.pending.clear()
        return out

    def expect_closed(self, timeout=5):
        """Waits for EOF; returns the lines received (and consumed) before
        it."""
        def step():
            if self.closed:
                out = list(self.pending)
                self.pending.clear()
                return out
            return None
        deadline = time.monotonic() + scaled(timeout)
        with self._cv:
            while not self.closed and time.monotonic() < deadline:
                self._pump(deadline, self._gen)
            if not self.closed:
                raise self._fail("connection still open after %gs"
                                 % scaled(timeout), self.pending)
            return step()

    # --- IRC helpers ---

    def register(self, nick, user=None, realname=None, timeout=10):
        """NICK + USER, then waits for 001 and the end of the MOTD (376 or
        422).  Returns the lines from 001 on."""
        self.name = nick
        self.nick = nick
        self.send("NICK %s" % nick)
        self.send("USER %s 0 * :%s" % (user or nick, realname or nick))
        return self.expect_welcome(timeout)

    def expect_welcome(self, timeout=10):
        before = self.read_until(re.compile(r":\S+ 001 .*"), timeout)
        rest = self.read_until(re.compile(r":\S+ (376|422) .*"), timeout)
        return before[-1:] + rest

    def join(self, room, key=None, timeout=5):
        """JOIN room [key], waits for its 366; returns the lines from our
        JOIN echo to the 366."""
        self.send("JOIN %s%s" % (room, " " + key if key else ""))
        return self.expect_joined(room, timeout)

    def expect_joined(self, room, timeout=5):
        nick = re.escape(self.nick)
        lines = self.read_until(re.compile(
            r":%s!\S+ JOIN :?%s" % (nick, re.escape(room)), re.I), timeout)
        rest = self.read_until(re.compile(
            r":\S+ 366 \S+ %s :.*" % re.escape(room), re.I), timeout)
        return lines[-1:] + rest

    def _stop_reader(self):
        if self._thread is not None:
            os.write(self._wake[1], b"x")
            self._thread.join(5)
            os.close(self._wake[0])
            os.close(self._wake[1])
            self._thread = None

    def close(self):
        if self.sock is not None:
            self._stop_reader()
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
            with self._cv:
                self.closed = True
                self._cv.notify_all()

    def reset(self):
        """Closes with an RST (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.close()


def join(*clients, room, key=None):
    """Each client joins room in turn and waits for its own 366; the
    others' JOIN notices are then consumed from earlier joiners."""
    for i, c in enumerate(clients):
        c.join(room, key)
        for earlier in clients[:i]:
            earlier.expect(re.compile(r":%s!\S+ JOIN :?%s"
                                      % (re.escape(c.nick), re.escape(room)),
                                      re.I))


def prefix(nick, user=None):
    """nick!user@127.0.0.1"""
    return "%s!%s@%s" % (nick, user or nick, HOST)


def cap_ls_words(c, version="302"):
    """Sends CAP LS [version] and reads the whole reply (302 replies may
    take several lines, all but the last marked "*"): its words, in order,
    with their values."""
    c.send("CAP LS %s" % version if version else "CAP LS")
    words = []
    for line in c.read_until(rx(r":irc\.test CAP \S+ LS :.*")):
        m = re.fullmatch(r":irc\.test CAP \S+ LS (?:\* )?:(.*)", line)
        if m:
            words += m.group(1).split()
    return words


def numeric(code, nick, rest):
    """The exact numeric line ":irc.test CODE nick rest"."""
    return ":%s %s %s %s" % (SERVER_NAME, code, nick, rest)


def rx(fmt, *args):
    """A regex from fmt where every %s argument is escaped literally."""
    return re.compile(fmt % tuple(re.escape(str(a)) for a in args))
