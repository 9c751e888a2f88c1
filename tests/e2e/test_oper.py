"""Operators: OPER, KILL, WALLOPS, REHASH, DIE, --oper-file and
--hash-password."""

import re
import signal

from harness import Server, join, numeric, rx

OPER = ("--oper", "admin:secret")
NOPRIV = ":Permission Denied- You're not an IRC operator"


def become_oper(c, name="admin", password="secret"):
    c.send("OPER %s %s" % (name, password))
    c.expect_unordered([
        ":%s MODE %s :+o" % (c.nick, c.nick),
        numeric("381", c.nick, ":You are now an IRC operator"),
    ])


def test_oper_errors(f):
    s = Server(f, *OPER)
    a = s.user("alice")
    cases = [
        ("OPER admin wrong", numeric("464", "alice", ":Password incorrect")),
        ("OPER nobody x", numeric("491", "alice", ":No O-lines for your host")),
        ("OPER admin", numeric("461", "alice", "OPER :Not enough parameters")),
        ("OPER ADMIN secret", rx(r":irc\.test (491|464) alice :.*")),
    ]
    for line, want in cases:
        a.send(line)
        got = a.next_line()
        ok = re.fullmatch(want, got) if isinstance(want, re.Pattern) else got == want
        assert ok, "%r: expected %r, got %r" % (line, want, got)
    a.send("MODE alice")
    a.expect(numeric("221", "alice", "+"))


def test_oper_success(f):
    s = Server(f, *OPER, "--oper", "second:pw2")
    a, b = s.user("alice"), s.user("bob")
    a.send("OPER admin secret")
    a.expect(":alice MODE alice :+o")
    a.expect(numeric("381", "alice", ":You are now an IRC operator"))
    a.send("MODE alice")
    a.expect(rx(r":irc\.test 221 alice \+\w*o\w*"))
    become_oper(b, "second", "pw2")
    a.send("MODE alice -o")
    a.expect(":alice MODE alice :-o")
    a.send("KILL bob :x")
    a.expect(numeric("481", "alice", NOPRIV))


def test_oper_commands_need_oper(f):
    s = Server(f, *OPER)
    a = s.user("alice")
    s.user("bob")
    for line in ("KILL bob :x", "WALLOPS :x", "REHASH", "DIE"):
        a.send(line)
        got = a.next_line()
        assert got == numeric("481", "alice", NOPRIV), "%r: got %r" % (line, got)
    assert s.alive()


def test_kill(f):
    s = Server(f, *OPER)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    join(a, b, c, room="#room")
    become_oper(a)
    a.send("KILL bob :reason")
    lines = b.expect_closed()
    assert lines and lines[-1].startswith("ERROR :"), lines
    assert re.fullmatch(r"ERROR :Closing Link: 127\.0\.0\.1 \(Killed \(alice \(reason\)\)\)",
                        lines[-1]), lines
    want = ":bob!bob@127.0.0.1 QUIT :Killed (alice (reason))"
    c.expect(want)
    a.expect(want)
    a.send("KILL nobody :x")
    a.expect(numeric("401", "alice", "nobody :No such nick/channel"))
    a.send("KILL")
    a.expect(numeric("461", "alice", "KILL :Not enough parameters"))
    a.send("KILL irc.test :x")
    a.expect(rx(r":irc\.test (483 alice :You can't kill a server!|401 alice irc\.test :.*)"))


def test_kill_self(f):
    s = Server(f, *OPER)
    a = s.user("alice")
    become_oper(a)
    a.send("KILL alice :oops")
    lines = a.expect_closed()
    assert lines and lines[-1].startswith("ERROR :"), lines


def test_wallops(f):
    s = Server(f, *OPER)
    a, b, c = s.user("alice"), s.user("bob"), s.user("carol")
    become_oper(a)
    b.send("MODE bob +w")
    b.expect(":bob MODE bob :+w")
    a.send("WALLOPS :hello opers")
    b.expect(":alice!alice@127.0.0.1 WALLOPS :hello opers")
    c.no_line(rx(r".*WALLOPS.*"), sync=True, wait=0)
    a.send("WALLOPS")
    a.expect(numeric("461", "alice", "WALLOPS :Not enough parameters"))


def test_rehash_reloads_motd(f):
    motd = f.write_file("motd", "old motd\n")
    s = Server(f, *OPER, "--motd", motd)
    a = s.user("alice")
    become_oper(a)
    f.write_file("motd", "new motd\n")
    a.send("REHASH")
    a.expect(rx(r":irc\.test 382 alice \S+ :Rehashing"))
    a.send("MOTD")
    a.expect(numeric("372", "alice", ":- new motd"))


def test_sighup_reloads_motd(f):
    motd = f.write_file("motd", "before hup\n")
    s = Server(f, "--motd", motd)
    a = s.user("alice")
    f.write_file("motd", "after hup\n")
    s.signal(signal.SIGHUP)
    for _ in range(50):
        a.send("MOTD")
        lines = a.read_until(numeric("376", "alice", ":End of /MOTD command."))
        if numeric("372", "alice", ":- after hup") in lines:
            break
    else:
        raise AssertionError("MOTD not reloaded after SIGHUP: %s" % lines)
    assert s.alive()


def test_die(f):
    s = Server(f, *OPER)
    a, b = s.user("alice"), s.user("bob")
    become_oper(a)
    a.send("DIE")
    for c in (a, b):
        lines = c.expect_closed()
        assert lines and lines[-1].startswith("ERROR :"), (c.name, lines)
    rc = s.wait(10)
    assert rc == 0, "natterd exit status after DIE: %s" % rc


def hash_password(f, password):
    cp = f.run("--hash-password", input=password + "\n")
    assert cp.returncode == 0, "--hash-password exit %s: %s" % (cp.returncode, cp.stderr)
    h = cp.stdout.strip()
    assert re.fullmatch(r"\$(6|y)\$\S+", h), "not a crypt hash: %r" % cp.stdout
    return h


def test_hash_password_salted(f):
    h1, h2 = hash_password(f, "same"), hash_password(f, "same")
    assert h1 != h2, "two hashes of one password are equal (no salt?)"


def test_oper_file(f):
    h = hash_password(f, "s3cret")
    opers = f.write_file("opers", "# operators\n\nroot %s\n" % h)
    s = Server(f, "--oper-file", opers)
    a, b = s.user("alice"), s.user("bob")
    a.send("OPER root wrong")
    a.expect(numeric("464", "alice", ":Password incorrect"))
    a.send("OPER root %s" % h)          # the hash itself is not the password
    a.expect(numeric("464", "alice", ":Password incorrect"))
    become_oper(b, "root", "s3cret")


def test_oper_file_rehash(f):
    opers = f.write_file("opers", "first %s\n" % hash_password(f, "one"))
    s = Server(f, "--oper-file", opers)
    a, b = s.user("alice"), s.user("bob")
    become_oper(a, "first", "one")
    f.write_file("opers", "first %s\nsecond %s\n" % (
        hash_password(f, "one"), hash_password(f, "two")))
    a.send("REHASH")
    a.expect(rx(r":irc\.test 382 alice \S+ :Rehashing"))
    become_oper(b, "second", "two")
