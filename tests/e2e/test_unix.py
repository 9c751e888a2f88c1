"""The Unix socket (--unix): local users connect as who the kernel says
they are (SO_PEERCRED); the socket lives in a folder natterd owns; a
dead server's socket is replaced, a live one refused; SIGTERM removes
it.  Tests run as root and use nobody as the second uid."""

import os
import pwd
import shutil
import re
import signal
import socket
import stat
import subprocess
import time

from harness import HOST, SERVER_NAME, Client, Server, free_port, join, \
    scaled

# A local client's shown host.
LOCAL = "localhost"


def sock_path(f, folder="run", name="natterd.sock"):
    return os.path.join(f.path(folder), name)


def unix_user(s, path, nick, **kw):
    c = Client(s, name=nick, unix=path, **kw)
    c.register(nick, "whatever")
    return c


def wait_for(cond, what, timeout=10):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


def refused(f, *args):
    """Runs natterd expecting it to refuse to start; returns its one line
    of stderr."""
    cp = f.run("-l", HOST, "-p", free_port(), "-n", SERVER_NAME,
               "--db", "off", *args)
    lines = cp.stderr.strip().splitlines()
    assert cp.returncode == 1, (cp.returncode, cp.stderr)
    assert len(lines) == 1, "expected one line: %r" % cp.stderr
    return lines[0]


def test_unix_client_chats_with_tcp_client(f):
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off")
    st = os.stat(os.path.dirname(path))
    assert stat.S_IMODE(st.st_mode) == 0o755, oct(st.st_mode)
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666, \
        oct(st.st_mode)
    assert "listening on %s" % path in s.log_text()
    # USER said "whatever": a local client is its Unix user, root.
    alice = unix_user(s, path, "alice")
    bob = s.user("bob")
    join(alice, bob, room="#r")
    alice.send("PRIVMSG #r :hello over the socket")
    bob.expect(":alice!root@%s PRIVMSG #r :hello over the socket" % LOCAL)
    bob.send("PRIVMSG #r :hello over TCP")
    alice.expect(":bob!bob@127.0.0.1 PRIVMSG #r :hello over TCP")
    bob.send("WHOIS alice")
    bob.expect(":%s 311 bob alice root %s * :alice" % (SERVER_NAME, LOCAL))
    assert re.search(r"local connection from uid 0 \(root\), pid \d+",
                     s.log_text()), s.log_text()


def _peer_as(pw, path):
    """In a child that became pw (os.fork, os.setuid): connects to path,
    registers claiming to be root in USER, says hello in #r, quits.
    Returns the child's exit status (0: it got through)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(path)
            s.sendall(b"NICK nob\r\nUSER root 0 * :Nob\r\n")
            buf = b""
            while b" 001 " not in buf:
                d = s.recv(4096)
                if not d:
                    os._exit(2)
                buf += d
            s.sendall(b"JOIN #r\r\nPRIVMSG #r :hi from nobody\r\n"
                      b"QUIT :bye\r\n")
            while s.recv(4096):
                pass
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def test_unix_peer_uid_is_the_user(f):
    nobody = pwd.getpwnam("nobody")
    # nobody must reach the socket: the test's folder is root's 0700.
    os.chmod(f.tmpdir, 0o755)
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off")
    root = unix_user(s, path, "rooty")
    root.join("#r")
    # The peer claims "root" in USER; the kernel says nobody.
    assert _peer_as(nobody, path) == 0
    root.expect(":nob!nobody@%s JOIN #r" % LOCAL)
    root.expect(":nob!nobody@%s PRIVMSG #r :hi from nobody" % LOCAL)
    assert "local connection from uid %d (nobody)" % nobody.pw_uid \
        in s.log_text()


def test_unix_limits_count_per_local_user(f):
    # --max-per-ip counts each local user as one address, never every
    # local connection together with the TCP ones.
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off", "--max-per-ip", "1")
    unix_user(s, path, "one")
    c = Client(s, name="two", unix=path)
    assert any("Too many connections" in l for l in c.expect_closed())
    s.user("tcp")


def test_stale_socket_replaced(f):
    path = sock_path(f)
    os.mkdir(os.path.dirname(path), 0o755)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(path)
    dead.close()        # the file stays: a server that died
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    s = Server(f, "--unix", path, "--db", "off")
    assert "removed a stale socket left at %s" % path in s.log_text()
    unix_user(s, path, "alice")


def test_live_socket_refused(f):
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off")
    line = refused(f, "--unix", path)
    assert line == "natterd: another natterd is listening on %s" % path, line
    unix_user(s, path, "alice")      # the first one is untouched

    # A listener that holds no lock (another program, an old natterd)
    # is found by connecting to it.
    other = sock_path(f, "other")
    os.mkdir(os.path.dirname(other), 0o755)
    live = socket.socket(socket.AF_UNIX)
    live.bind(other)
    live.listen(1)
    try:
        line = refused(f, "--unix", other)
    finally:
        live.close()
    assert line == "natterd: another natterd is listening on %s" % other, line


def test_not_a_socket_refused(f):
    path = sock_path(f)
    os.mkdir(os.path.dirname(path), 0o755)
    with open(path, "w") as fp:
        fp.write("precious\n")
    line = refused(f, "--unix", path)
    assert "%s exists and is not a socket" % path in line, line
    with open(path) as fp:
        assert fp.read() == "precious\n"


def test_unsafe_folders_refused(f):
    nobody = pwd.getpwnam("nobody")
    # A folder everyone can write to, /tmp itself among them.
    d = f.path("open")
    os.mkdir(d)
    os.chmod(d, 0o777)
    line = refused(f, "--unix", os.path.join(d, "n.sock"))
    assert "folder %s is writable by everyone" % d in line, line
    os.chmod(d, 0o775)
    line = refused(f, "--unix", os.path.join(d, "n.sock"))
    assert "folder %s is writable by its group" % d in line, line
    tmp_sock = "/tmp/natterd-test-%d.sock" % os.getpid()
    line = refused(f, "--unix", tmp_sock)
    assert "folder /tmp is writable by everyone" in line, line
    assert not os.path.exists(tmp_sock)
    # A folder someone else owns.
    d = f.path("theirs")
    os.mkdir(d, 0o755)
    os.chown(d, nobody.pw_uid, nobody.pw_gid)
    line = refused(f, "--unix", os.path.join(d, "n.sock"))
    assert "folder %s belongs to uid %d" % (d, nobody.pw_uid) in line, line
    # The folder is a symbolic link (even to a good folder).
    good = f.path("good")
    os.mkdir(good, 0o755)
    link = f.path("link")
    os.symlink(good, link)
    line = refused(f, "--unix", os.path.join(link, "n.sock"))
    assert "folder %s is a symbolic link" % link in line, line
    # A link on the way that someone else owns.
    os.mkdir(os.path.join(good, "run"), 0o755)
    theirs = f.path("theirlink")
    os.symlink(good, theirs)
    os.lchown(theirs, nobody.pw_uid, nobody.pw_gid)
    line = refused(f, "--unix", os.path.join(theirs, "run", "n.sock"))
    assert "%s is a symbolic link owned by uid %d" % (theirs, nobody.pw_uid) \
        in line, line
    # A folder on the way that others can change.
    mid = f.path("mid")
    os.mkdir(mid)
    os.chmod(mid, 0o777)
    line = refused(f, "--unix", os.path.join(mid, "run", "n.sock"))
    assert "%s can be changed by others" % mid in line, line
    assert not os.path.exists(os.path.join(mid, "run"))
    for d in ("open", "theirs", "good"):
        assert not os.path.exists(os.path.join(f.path(d), "n.sock")), d


def test_unix_usage_errors(f):
    for args in (["--unix", "relative/n.sock"], ["--unix", "/x/"],
                 ["--unix", "/" + "a" * 120],
                 ["--no-unix", "--unix-only"],
                 ["--no-unix", "--unix", "/run/x/n.sock"],
                 ["--unix-only", "--tls-cert", "c", "--tls-key", "k"]):
        cp = f.run(*args)
        assert cp.returncode == 2 and "usage" in cp.stderr, (args, cp)


def _tcp_listeners(pid):
    """The TCP sockets pid listens on."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", t)
        if m:
            inodes.add(m.group(1))
    found = []
    for name in ("tcp", "tcp6"):
        with open("/proc/net/" + name) as fp:
            for row in fp.read().splitlines()[1:]:
                col = row.split()
                if col[3] == "0A" and col[9] in inodes:
                    found.append(col[1])
    return found


def test_unix_only_has_no_tcp_port(f):
    path = sock_path(f)
    log = open(f.path("unix-only.log"), "wb")
    p = f.spawn("natterd", f.command("--unix-only", "--unix", path, "-n",
                                     SERVER_NAME, "--db", "off"),
                stdout=log, stderr=log)
    wait_for(lambda: b"started as" in open(f.path("unix-only.log"),
                                           "rb").read(), "the start")
    c = Client(_Stub(f), name="alice", unix=path)
    c.register("alice")
    assert _tcp_listeners(p.pid) == [], _tcp_listeners(p.pid)
    p.send_signal(signal.SIGTERM)
    assert p.wait(scaled(10)) == 0
    with open(f.path("unix-only.log")) as fp:
        text = fp.read()
    assert " port " not in text, text


class _Stub:
    """What a Client needs of a Server it reaches over the socket."""

    def __init__(self, f):
        self.f = f
        self.port = None


def test_no_unix_makes_no_socket(f):
    s = Server(f, "--no-unix", "--db", "off")
    assert not re.search(r"listening on /", s.log_text()), s.log_text()
    with open("/proc/%d/net/unix" % s.proc.pid) as fp:
        ours = set()
        for fd in os.listdir("/proc/%d/fd" % s.proc.pid):
            try:
                ours.add(os.readlink("/proc/%d/fd/%s" % (s.proc.pid, fd)))
            except OSError:
                pass
        for row in fp.read().splitlines()[1:]:
            col = row.split()
            if "socket:[%s]" % col[6] in ours and len(col) > 7:
                raise AssertionError("natterd has a named Unix socket: %s"
                                     % row)


def _as_nobody(f, env, *args, binary=None):
    """natterd run as nobody with env and args alone (no --no-unix
    added: the default socket is what is tested)."""
    nobody = pwd.getpwnam("nobody")
    home = f.path("nobody-home")
    os.makedirs(home, exist_ok=True)
    os.chmod(f.tmpdir, 0o755)
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    env = dict(env, HOME=home, PATH=os.environ.get("PATH", "/usr/bin"))
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    log = open(f.path("nobody.log"), "wb")
    os.chown(f.path("nobody.log"), nobody.pw_uid, nobody.pw_gid)
    argv = f.wrapper + [binary or f.server_path, "-l", HOST, "-p",
                        str(free_port()),
                        "-n", SERVER_NAME, "--db", "off"] + list(args)
    p = f.spawn("natterd-nobody", argv,
                user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
                env=env, stdout=log, stderr=log)
    return p, f.path("nobody.log")


def test_default_socket_of_a_user(f):
    # A user's server puts it under XDG_RUNTIME_DIR/natterd.
    nobody = pwd.getpwnam("nobody")
    if not os.access(f.server_path, os.X_OK):
        f.skip("natterd is not executable")
    rt = f.path("runtime")
    os.mkdir(rt, 0o700)
    os.chown(rt, nobody.pw_uid, nobody.pw_gid)
    # The binary's folder must be reachable by nobody (a checkout under
    # /root is not): if it is not, nobody runs a copy in the test folder.
    binary = f.server_path
    probe = subprocess.run(["test", "-x", binary], user=nobody.pw_uid)
    if probe.returncode != 0:
        os.chmod(f.tmpdir, 0o755)
        binary = f.path("natterd-copy")
        shutil.copy2(f.server_path, binary)
        os.chmod(binary, 0o755)
    p, log = _as_nobody(f, {"XDG_RUNTIME_DIR": rt}, "--unix-only",
                        binary=binary)
    path = os.path.join(rt, "natterd", "natterd.sock")
    wait_for(lambda: "started as" in open(log).read() or
             p.poll() is not None, "the start")
    assert p.poll() is None, open(log).read()
    st = os.stat(os.path.dirname(path))
    assert st.st_uid == nobody.pw_uid and stat.S_IMODE(st.st_mode) == 0o755
    assert "listening on %s" % path in open(log).read()
    p.send_signal(signal.SIGTERM)
    assert p.wait(scaled(10)) == 0, open(log).read()
    assert not os.path.exists(path)

    # Without XDG_RUNTIME_DIR: no socket, one line saying so, and never
    # a guessed folder.
    p, log = _as_nobody(f, {}, "-v", binary=binary)
    wait_for(lambda: "started as" in open(log).read() or
             p.poll() is not None, "the start")
    text = open(log).read()
    assert "no Unix socket: XDG_RUNTIME_DIR is not set (use --unix PATH)" \
        in text, text
    p.send_signal(signal.SIGTERM)
    assert p.wait(scaled(10)) == 0


def test_sigterm_removes_the_socket(f):
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off")
    unix_user(s, path, "alice")
    s.signal(signal.SIGTERM)
    assert s.wait(scaled(10)) == 0
    assert not os.path.exists(path), os.listdir(os.path.dirname(path))
    # The next server starts cleanly on the same path.
    s2 = Server(f, "--unix", path, "--db", "off")
    assert "stale" not in s2.log_text()
    unix_user(s2, path, "bob")


def test_user_owns_and_removes_the_socket(f):
    # With --user the socket is made as root, handed to the user, and
    # still removed at SIGTERM by the unprivileged server.
    nobody = pwd.getpwnam("nobody")
    os.chmod(f.tmpdir, 0o755)
    path = sock_path(f)
    s = Server(f, "--unix", path, "--user", "nobody", "--db", ":memory:")
    for p in (os.path.dirname(path), path, path + ".lock"):
        assert os.lstat(p).st_uid == nobody.pw_uid, p
    alice = unix_user(s, path, "alice")
    alice.send("WHOIS alice")
    alice.expect(":%s 311 alice alice root %s * :alice" % (SERVER_NAME,
                                                          LOCAL))
    s.signal(signal.SIGTERM)
    assert s.wait(scaled(10)) == 0
    assert not os.path.exists(path)
