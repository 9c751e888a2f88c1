"""Login by Unix user (issue 11 section 6): a connection on the Unix
socket is logged in to the local account named after its peer's Unix
user, made on first use, with no password; SASL EXTERNAL there gives
the same account; nobody reaches a local account over TCP; two
connections of one Unix user are one person.  Tests run as root and use
nobody as the second uid."""

import base64
import os
import pwd
import socket

from harness import Client, Server, numeric, rx

from test_unix import sock_path

OPER = ("--oper", "admin:secret")
LOCAL = "localhost"


def local_client(s, path, nick):
    c = Client(s, name=nick, unix=path)
    c.send("NICK %s" % nick)
    c.send("USER x 0 * :%s" % nick)
    return c


def test_socket_logs_in_the_unix_user(f):
    path = sock_path(f)
    s = Server(f, "--unix", path, *OPER)
    a = local_client(s, path, "alice")
    a.expect(numeric("900", "alice", "alice!root@%s root :You are now "
                     "logged in as root" % LOCAL))
    a.expect(rx(r":irc\.test 001 alice :.*"))
    assert "alice (uid 0) logged in as root (Unix socket)" in s.log_text()
    # The account was made on first use, as a local one.
    o = s.user("op")
    o.send("OPER admin secret")
    o.expect(numeric("381", "op", ":You are now an IRC operator"))
    o.send("ACCOUNT INFO root")
    lines = o.read_until(rx(r":irc\.test NOTICE op :.*"))
    info = "\n".join(o.drain(0.5) + lines)
    assert "local" in info.lower(), info


def test_nobody_is_logged_in_as_nobody(f):
    nobody = pwd.getpwnam("nobody")
    os.chmod(f.tmpdir, 0o755)
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            k = socket.socket(socket.AF_UNIX)
            k.settimeout(10)
            k.connect(path)
            k.sendall(b"NICK nob\r\nUSER x 0 * :Nob\r\n")
            buf = b""
            while b" 001 " not in buf:
                d = k.recv(4096)
                if not d:
                    os._exit(2)
                buf += d
            code = 0 if b" 900 nob nob!nobody@localhost nobody " in buf \
                else 3
            k.sendall(b"QUIT\r\n")
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
    assert "nob (uid %d) logged in as nobody (Unix socket)" % \
        nobody.pw_uid in s.log_text()


def test_no_password_login_to_a_local_account_over_tcp(f):
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off")
    local = local_client(s, path, "alice")
    local.expect(rx(r":irc\.test 001 alice :.*"))
    c = s.client("mallory")
    c.send("CAP REQ :sasl")
    c.expect(":irc.test CAP * ACK :sasl")
    for password in ("", "root", "x"):
        c.send("AUTHENTICATE PLAIN")
        c.expect("AUTHENTICATE +")
        c.send("AUTHENTICATE " + base64.b64encode(
            ("\0root\0%s" % password).encode()).decode())
        c.expect(numeric("904", "*", ":SASL authentication failed"))


def test_sasl_external_on_the_socket(f):
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off")
    c = Client(s, name="ext", unix=path)
    c.send("CAP REQ :sasl")
    c.expect(":irc.test CAP * ACK :sasl")
    c.send("AUTHENTICATE EXTERNAL")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE +")
    c.expect(numeric("900", "*", "*!*@%s root :You are now logged in as "
                     "root" % LOCAL))
    c.expect(numeric("903", "*", ":SASL authentication successful"))
    c.send("NICK ext")
    c.send("USER x 0 * :ext")
    c.send("CAP END")
    # Logged in by SASL already: no second 900.
    lines = c.read_until(rx(r":irc\.test 001 ext :.*"))
    assert not any(" 900 " in l for l in lines), lines


def test_two_terminals_of_one_user_are_one_person(f):
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off")
    bob = s.user("bob")
    bob.send("JOIN #r")
    bob.read_until(numeric("366", "bob", "#r :End of /NAMES list"))
    a = local_client(s, path, "alice")
    a.read_until(rx(r":irc\.test 001 alice :.*"))
    a.send("JOIN #r")
    a.read_until(numeric("366", "alice", "#r :End of /NAMES list"))
    bob.expect(":alice!root@%s JOIN #r" % LOCAL)
    second = local_client(s, path, "other")
    second.read_until(rx(r":irc\.test 001 alice :.*"))
    second.read_until(numeric("366", "alice", "#r :End of /NAMES list"))
    second.send("PRIVMSG #r :second terminal")
    bob.expect(":alice!root@%s PRIVMSG #r :second terminal" % LOCAL)
    a.expect(":alice!root@%s PRIVMSG #r :second terminal" % LOCAL)
    bob.no_line(rx(r".* (JOIN|QUIT) .*"), sync=True)


def test_unix_name_taken_by_another_account(f):
    path = sock_path(f)
    s = Server(f, "--unix", path, "--db", "off", *OPER)
    o = s.user("op")
    o.send("OPER admin secret")
    o.expect(numeric("381", "op", ":You are now an IRC operator"))
    o.send("ACCOUNT CREATE root some-password-1")
    o.expect(":irc.test NOTICE op :ACCOUNT: created root")
    a = local_client(s, path, "alice")
    lines = a.read_until(rx(r":irc\.test 001 alice :.*"))
    assert not any(" 900 " in l for l in lines), lines
    assert "has no local account: the name belongs to another" in \
        s.log_text()
