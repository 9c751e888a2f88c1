import base64, socket, time, threading
from harness import FULL_SPEED, NO_THROTTLE, Server, rx
from test_devices import OPER, device, make_account


def plain(c, acct, pw):
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + base64.b64encode(("\0%s\0%s" % (acct, pw)).encode()).decode())


def test_probe_die_mid_hash(f):
    s = Server(f, *OPER, *FULL_SPEED, *NO_THROTTLE, "--hash-threads", "1",
               "--login-fails-account", "3", "--login-fails-ip", "0")
    make_account(s, "vic", "pw-vic-123456")
    make_account(s, "oth", "pw-oth-123456")
    cs = []
    for i in range(8):
        c = s.user("att%d" % i)
        cs.append(c)
    for c in cs:
        plain(c, "vic", "wrong-%s" % c.nick)
    # Also a SCRAM start left hanging, and a NickServ IDENTIFY.
    for c in cs[:4]:
        c.sock.close()
    time.sleep(0.2)
    for c in cs[4:]:
        c.send("QUIT")
    for i in range(4):
        d = s.user("sc%d" % i)
        d.send("AUTHENTICATE SCRAM-SHA-256")
        d.expect("AUTHENTICATE +")
        d.send("AUTHENTICATE " + base64.b64encode(b"n,,n=vic,r=abcdefgh").decode())
        d.sock.close()
    for i in range(4):
        d = s.user("ns%d" % i)
        d.send("PRIVMSG NickServ :IDENTIFY vic wrong%d" % i)
        d.sock.close()
    g = s.user("good")
    plain(g, "oth", "pw-oth-123456")
    g.expect(rx(r":irc\.test 903 good :.*"), timeout=60)
    time.sleep(2)
