"""Per-IP limits for IPv6 clients: --max-per-ip and --throttle count an
IPv6 address by its network (--ipv6-prefix, default /64).

The loopback tests need nothing but ::1.  The prefix tests need several
addresses of two /64s: they move the test's own process into a private
network namespace (root, unshare(CLONE_NEWNET), ip(8)) where those
addresses sit on lo; the namespace and everything in it goes away with
the test's process, and the host's network is never touched.  Without
root or ip(8) they skip and say why."""

import ctypes
import os
import re
import shutil
import socket
import subprocess

from harness import Server

TOO_MANY = "ERROR :Too many connections from your IP"
THROTTLED = re.compile(r"ERROR :Too many new connections from your IP; "
                       r"try again in (\d+) seconds")

# The private network: the server on one /64, clients on two others
# that share a /48, and one in another /48.
NET_SERVER = "2001:db8:ff::1"
NET_A = ["2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2::c"]
NET_B = ["2001:db8:1:3::a", "2001:db8:1:3::b", "2001:db8:1:3::c"]
NET_OTHER48 = "2001:db8:2:2::a"

CLONE_NEWNET = 0x40000000


def need_ipv6_loopback(f):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
    except OSError as e:
        f.skip("no IPv6 loopback (::1) here: %s" % e)


def private_net(f):
    """Moves this test's process, and every server it starts from now
    on, into a network namespace of its own, with lo up and the NET_*
    addresses on it.  Nothing to undo: the namespace ends when the last
    process in it (the test, its servers) exits."""
    if os.geteuid() != 0:
        f.skip("needs root for a private network namespace")
    ip = shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip")
                                     if os.access(p, os.X_OK)), None)
    if ip is None:
        f.skip("needs ip(8) (iproute2) to put addresses in a private "
               "network namespace")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        f.skip("unshare(CLONE_NEWNET): %s"
               % os.strerror(ctypes.get_errno()))
    cmds = [[ip, "link", "set", "lo", "up"]]
    for a in [NET_SERVER] + NET_A + NET_B + [NET_OTHER48]:
        # nodad: usable at once, not "tentative" for a second.
        cmds.append([ip, "-6", "addr", "add", a + "/64", "dev", "lo",
                     "nodad"])
    for cmd in cmds:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        if cp.returncode != 0:
            f.skip("%s: %s" % (" ".join(cmd), cp.stderr.strip()))


def refused(s, source, want=TOO_MANY):
    """A client from source is refused with exactly the line want (a str
    or a regex) and closed.  Returns that line."""
    c = s.client(source=source)
    lines = c.expect_closed()
    assert len(lines) == 1, (source, lines)
    if isinstance(want, re.Pattern):
        m = want.fullmatch(lines[0])
        assert m and 1 <= int(m.group(1)) <= 60, (source, lines)
    else:
        assert lines == [want], (source, lines)
    return lines[0]


def log_has(s, text):
    log = s.log_text()
    assert text in log, "log lacks %r:\n%s" % (text, log[-1500:])


# --- on ::1, anywhere with IPv6 ---

def test_per_ip_ipv6_loopback(f):
    need_ipv6_loopback(f)
    s = Server(f, "--max-per-ip", "2", "--throttle", "0", host="::1")
    a = s.user("alice")
    s.user("bob")
    refused(s, None)
    log_has(s, "::1 refused: too many connections (group ::/64)")
    a.send("QUIT :bye")
    a.expect_closed()
    # alice's teardown gave her slot back to the group.
    s.user("carol")
    refused(s, None)


def test_throttle_ipv6_loopback(f):
    need_ipv6_loopback(f)
    s = Server(f, "--throttle", "2", "--max-per-ip", "0", host="::1")
    s.user("alice")
    s.user("bob")
    refused(s, None, THROTTLED)
    log_has(s, "::1 refused: throttled (group ::/64)")


# --- several addresses, in a private network namespace ---

def test_per_ip_groups_ipv6_by_prefix(f):
    private_net(f)
    s = Server(f, "--max-per-ip", "2", "--throttle", "0", host=NET_SERVER)
    a = s.user("a0", source=NET_A[0])
    s.user("a1", source=NET_A[1])
    # A third address of the same /64 is the same client.
    refused(s, NET_A[2])
    log_has(s, "%s refused: too many connections (group 2001:db8:1:2::/64)"
            % NET_A[2])
    # The next /64 counts on its own.
    s.user("b0", source=NET_B[0])
    s.user("b1", source=NET_B[1])
    refused(s, NET_B[2])
    log_has(s, "%s refused: too many connections (group 2001:db8:1:3::/64)"
            % NET_B[2])
    # One leaving frees a place for any address of its /64.
    a.send("QUIT :bye")
    a.expect_closed()
    s.user("a2", source=NET_A[2])
    refused(s, NET_A[0])


def test_per_ip_ipv6_prefix_flag(f):
    private_net(f)
    # /48: the two /64s of one /48 share one count; another /48 does not.
    # (Two servers at once: each keeps its history in memory.)
    s = Server(f, "--max-per-ip", "1", "--throttle", "0", "--db", ":memory:",
               "--ipv6-prefix", "48", host=NET_SERVER)
    s.user("a0", source=NET_A[0])
    refused(s, NET_B[0])
    log_has(s, "%s refused: too many connections (group 2001:db8:1::/48)"
            % NET_B[0])
    s.user("other", source=NET_OTHER48)
    # /128: each address counts alone, even inside one /64.
    s = Server(f, "--max-per-ip", "1", "--throttle", "0", "--db", ":memory:",
               "--ipv6-prefix", "128", host=NET_SERVER)
    s.user("a0", source=NET_A[0])
    s.user("a1", source=NET_A[1])
    refused(s, NET_A[0])
    log_has(s, "%s refused: too many connections (group %s/128)"
            % (NET_A[0], NET_A[0]))


def test_throttle_groups_ipv6_by_prefix(f):
    private_net(f)
    s = Server(f, "--throttle", "2", "--max-per-ip", "0", host=NET_SERVER)
    s.user("a0", source=NET_A[0])
    s.user("a1", source=NET_A[1])
    refused(s, NET_A[2], THROTTLED)
    log_has(s, "%s refused: throttled (group 2001:db8:1:2::/64)" % NET_A[2])
    # Another /64 has its own count.
    s.user("b0", source=NET_B[0])
    s.user("b1", source=NET_B[1])
    refused(s, NET_B[2], THROTTLED)


def test_ipv6_prefix_flag_errors(f):
    for value in ("0", "31", "129", "-64", "x", "64x", ""):
        cp = f.run("--ipv6-prefix", value)
        assert cp.returncode == 2, (value, cp.returncode, cp.stderr)
        assert cp.stderr.startswith("natterd: --ipv6-prefix: invalid value "
                                    "'%s' (expected 32 to 128)\n" % value), \
            (value, cp.stderr)
        assert "usage: natterd " in cp.stderr, (value, cp.stderr)
    cp = f.run("--help")
    assert cp.returncode == 0
    assert re.search(r"(?m)^ +--ipv6-prefix BITS +IPv6 addresses count "
                     r"against --max-per-ip and$", cp.stdout), cp.stdout
    assert "[--ipv6-prefix bits]" in cp.stdout, cp.stdout
