"""--user and reloads: natterd started as root keeps a root helper
(natterd-priv) that reads the MOTD, the operator file, the certificate
and the key again for SIGHUP and REHASH, after the server itself has
become nobody; the helper goes when natterd goes, even by SIGKILL."""

import os
import pwd
import re
import shutil
import signal
import time

from harness import Server, free_port, numeric, rx, scaled
from test_oper import become_oper, hash_password
from test_tls import fingerprint_of, peer_fingerprint

HELPER = "natterd-priv"


def status_of(pid):
    """/proc/PID/status as a dict of its fields, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as fp:
            text = fp.read()
    except OSError:
        return None
    return dict(line.split(":\t", 1) for line in text.splitlines()
                if ":\t" in line)


def children(pid):
    """[(pid, status)] of the processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = status_of(int(d))
        if st is not None and st.get("PPid") == str(pid):
            out.append((int(d), st))
    return out


def ids(st, field):
    return set(int(x) for x in st[field].split())


def helper_of(s):
    """The pid of natterd's helper, once it has named itself (it is
    forked after the ports open)."""
    deadline = time.monotonic() + scaled(5)
    while True:
        kids = children(s.proc.pid)
        if len(kids) == 1 and kids[0][1]["Name"] == HELPER:
            break
        assert len(kids) <= 1, kids
        assert time.monotonic() < deadline, "no %s process: %s" % (HELPER,
                                                                   kids)
        time.sleep(0.02)
    pid, st = kids[0]
    assert ids(st, "Uid") == {0}, st["Uid"]
    return pid


def started(s):
    """Waits for the last start-up line: root is dropped by then."""
    wait_log(s, " started as irc.test", 1)


def wait_gone(pid, why):
    """Waits until pid has exited (gone, or a zombie its new parent has
    not reaped yet)."""
    deadline = time.monotonic() + scaled(5)
    while True:
        st = status_of(pid)
        if st is None or st.get("State", "").startswith("Z"):
            return
        assert time.monotonic() < deadline, \
            "helper %d still running %gs after %s" % (pid, scaled(5), why)
        time.sleep(0.02)


def motd_of(s, nick, want):
    """A new client's MOTD lines, 375 to 376, compared exactly."""
    c = s.user(nick)
    got = [l for l in c.history if re.match(r":irc\.test 37[256] ", l)]
    lines = [numeric("375", nick, ":- irc.test Message of the day - ")]
    lines += [numeric("372", nick, ":- %s" % w) for w in want]
    lines += [numeric("376", nick, ":End of /MOTD command.")]
    assert got == lines, got
    c.close()


def wait_log(s, text, count):
    """Waits until the log holds text count times."""
    deadline = time.monotonic() + scaled(5)
    while s.log_text().count(text) < count:
        assert time.monotonic() < deadline, \
            "%r not logged %d times:\n%s" % (text, count, s.log_text()[-1500:])
        time.sleep(0.02)


def root_only(path, text):
    with open(path, "w") as fp:
        fp.write(text)
    os.chmod(path, 0o600)


def test_user_reloads_through_root_helper(f):
    if os.geteuid() != 0:
        f.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    # Folders nobody may enter: only the 0600 files keep it out.
    os.chmod(f.tmpdir, 0o755)
    pairs = [f.tls_files(n) for n in ("one", "two", "three")]
    live = f.path("live")
    os.mkdir(live, 0o755)
    crt, key = os.path.join(live, "c.pem"), os.path.join(live, "k.pem")

    def install(n):
        shutil.copy(pairs[n][0], crt)
        shutil.copy(pairs[n][1], key)
        # As --gen-cert left it: only root may read the key.
        assert os.stat(key).st_mode & 0o777 == 0o600

    install(0)
    motd = f.path("motd")
    root_only(motd, "first motd\nas root\n")
    opers = f.path("opers")
    root_only(opers, "admin %s\n" % hash_password(f, "secret"))
    port = free_port()
    s = Server(f, "--user", "nobody", "--db", ":memory:", "--motd", motd,
               "--oper-file", opers, "--tls-port", port, "--tls-cert", crt,
               "--tls-key", key)
    started(s)
    st = status_of(s.proc.pid)
    assert ids(st, "Uid") == {nobody.pw_uid}, st["Uid"]
    assert ids(st, "Gid") == {nobody.pw_gid}, st["Gid"]
    assert "running as nobody" in s.log_text()
    helper = helper_of(s)
    assert "reloads read files through a root helper (pid %d)" % helper \
        in s.log_text(), s.log_text()
    assert peer_fingerprint(port) == fingerprint_of(pairs[0][0])
    motd_of(s, "first", ["first motd", "as root"])

    # SIGHUP: a new MOTD, a new operator, the second pair.
    root_only(motd, "second motd\n")
    root_only(opers, "admin %s\nboss %s\n" % (hash_password(f, "secret"),
                                              hash_password(f, "chief")))
    install(1)
    s.signal(signal.SIGHUP)
    wait_log(s, "TLS: loaded %s" % crt, 1)
    assert peer_fingerprint(port) == fingerprint_of(pairs[1][0])
    motd_of(s, "second", ["second motd"])

    # REHASH by the operator the SIGHUP added: the third pair.
    op = s.user("op")
    become_oper(op, "boss", "chief")
    root_only(motd, "third motd\n\nbye\n")
    install(2)
    op.send("REHASH")
    op.expect(numeric("382", "op", "natterd :Rehashing"))
    op.no_line(rx(r".* NOTICE op :.*"), sync=True, wait=0)
    wait_log(s, "TLS: loaded %s" % crt, 2)
    assert peer_fingerprint(port) == fingerprint_of(pairs[2][0])
    motd_of(s, "third", ["third motd", "", "bye"])

    # A key even root cannot read: the old pair stays, the log says why.
    os.unlink(key)
    op.send("REHASH")
    op.expect(numeric("382", "op", "natterd :Rehashing"))
    op.expect(":irc.test NOTICE op :Rehash failed, old data kept; see the "
              "server log")
    assert "TLS: keeping the old certificate: key %s: No such file or " \
        "directory" % key in s.log_text(), s.log_text()[-1500:]
    assert peer_fingerprint(port) == fingerprint_of(pairs[2][0])
    motd_of(s, "fourth", ["third motd", "", "bye"])

    # More than the helper hands over (1 MiB): the old MOTD stays.
    install(2)
    root_only(motd, "x" * (1024 * 1024 + 1))
    op.send("REHASH")
    op.expect(numeric("382", "op", "natterd :Rehashing"))
    op.expect(":irc.test NOTICE op :Rehash failed, old data kept; see the "
              "server log")
    assert "warn: %s: File too large" % motd in s.log_text(), \
        s.log_text()[-1500:]
    motd_of(s, "fifth", ["third motd", "", "bye"])

    assert "Permission denied" not in s.log_text(), s.log_text()
    assert s.log_text().count("TLS: loaded ") == 3, s.log_text()
    assert helper_of(s) == helper

    s.stop()
    assert s.returncode == 0, s.returncode
    wait_gone(helper, "SIGTERM")

    # SIGKILL leaves the helper nothing to answer: it goes too.
    install(0)
    root_only(motd, "again\n")
    s2 = Server(f, "--user", "nobody", "--db", ":memory:", "--motd", motd,
                "--tls-port", free_port(), "--tls-cert", crt, "--tls-key",
                key)
    helper = helper_of(s2)
    s2.kill()
    s2.stop()
    wait_gone(helper, "SIGKILL")


def test_helper_gone(f):
    # Without its helper natterd goes on, reading as nobody: a public
    # MOTD still reloads, the 0600 key cannot, and the log says so.
    if os.geteuid() != 0:
        f.skip("needs root")
    os.chmod(f.tmpdir, 0o755)
    crt, key = f.tls_files("pair")
    motd = f.write_file("motd", "before\n")
    os.chmod(motd, 0o644)
    port = free_port()
    s = Server(f, "--user", "nobody", "--db", ":memory:", "--motd", motd,
               "--tls-port", port, "--tls-cert", crt, "--tls-key", key)
    started(s)
    helper = helper_of(s)
    os.kill(helper, signal.SIGKILL)
    wait_gone(helper, "SIGKILL")
    f.write_file("motd", "after\n")
    s.signal(signal.SIGHUP)
    wait_log(s, "TLS: keeping the old certificate", 1)
    assert re.search(r"warn: root helper gone \((Broken pipe|Connection "
                     r"reset by peer)\): files are read as nobody from now "
                     r"on\n", s.log_text()), s.log_text()[-1500:]
    assert "TLS: keeping the old certificate: key %s: Permission denied" \
        % key in s.log_text(), s.log_text()[-1500:]
    assert peer_fingerprint(port) == fingerprint_of(crt)
    motd_of(s, "alice", ["after"])
    assert s.alive()


def test_no_helper_without_user(f):
    # Without --user (or not as root) natterd reads the files itself.
    motd = f.write_file("motd", "plain\n")
    s = Server(f, "--db", ":memory:", "--motd", motd)
    motd_of(s, "alice", ["plain"])
    f.write_file("motd", "reloaded\n")
    s.signal(signal.SIGHUP)
    c = s.user("bob")
    for _ in range(50):
        c.send("MOTD")
        lines = c.read_until(numeric("376", "bob", ":End of /MOTD command."))
        if numeric("372", "bob", ":- reloaded") in lines:
            break
        time.sleep(0.02)
    else:
        raise AssertionError("MOTD not reloaded after SIGHUP: %s" % lines)
    assert children(s.proc.pid) == []
    assert "root helper" not in s.log_text()


def test_helper_reads_only_where_nobody_cannot_write(f):
    # A MOTD in a folder nobody may change reloads; one in a folder
    # nobody owns (where a compromised server could swap the file for a
    # link to a root-only secret), or one that is a link into such a
    # folder, is refused and the old MOTD stays.
    if os.geteuid() != 0:
        f.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    os.chmod(f.tmpdir, 0o755)
    safe = f.path("safe")
    os.mkdir(safe, 0o755)
    motd = os.path.join(safe, "motd")
    root_only(motd, "safe motd\n")
    s = Server(f, "--user", "nobody", "--db", ":memory:", "--motd", motd)
    started(s)
    helper_of(s)
    motd_of(s, "alice", ["safe motd"])
    # The folder now belongs to nobody.
    os.chown(safe, nobody.pw_uid, nobody.pw_gid)
    root_only(motd, "swapped\n")
    s.signal(signal.SIGHUP)
    wait_log(s, "%s: Operation not permitted" % motd, 1)
    motd_of(s, "bob", ["safe motd"])
    # Back to root, but the MOTD is now a link into nobody's folder.
    os.chown(safe, 0, 0)
    theirs = f.path("theirs")
    os.mkdir(theirs, 0o755)
    os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
    root_only(os.path.join(theirs, "motd"), "via a link\n")
    os.unlink(motd)
    os.symlink(os.path.join(theirs, "motd"), motd)
    s.signal(signal.SIGHUP)
    wait_log(s, "%s: Operation not permitted" % motd, 2)
    motd_of(s, "carol", ["safe motd"])
    # A FIFO would stall every later reload: refused at once.
    os.unlink(motd)
    os.mkfifo(motd, 0o600)
    s.signal(signal.SIGHUP)
    wait_log(s, "%s: Invalid argument" % motd, 1)
    motd_of(s, "dave", ["safe motd"])
