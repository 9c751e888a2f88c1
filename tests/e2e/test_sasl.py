"""Accounts and SASL (issue 11, parts 1 and 2's SASL half): AUTHENTICATE
with PLAIN, SCRAM-SHA-256 and EXTERNAL, its chunking and every error
numeric, the failed-login limits, the ACCOUNT operator command,
natterd --add-account, accounts surviving a restart and the migration
of a schema 3 database, and a burst of logins through one hashing
thread."""

import base64
import hashlib
import hmac
import os
import re
import shutil
import sqlite3
import ssl
import subprocess
import threading
import time

from harness import (FULL_SPEED, NO_THROTTLE, Server, cap_ls_words, numeric, rx, scaled,
                     timeout)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_V3 = os.path.join(HERE, "..", "data", "history-v3.db")

# Cheap hashes: the tests are about the protocol, not the cost.
CHEAP = ("--argon2-memory", "64", "--argon2-time", "1",
         "--scram-iterations", "4096")
OPER = ("--oper", "admin:secret")
MECHS = "PLAIN,EXTERNAL,SCRAM-SHA-256"
FAILED = ":SASL authentication failed"


def server(f, *flags, **kw):
    return Server(f, *FULL_SPEED, *NO_THROTTLE, *CHEAP, *OPER, *flags, **kw)


def wait_log(s, text, limit=5):
    """The server's log says text within limit seconds (start-up lines
    may come after the port opens)."""
    deadline = time.monotonic() + scaled(limit)
    while text not in s.log_text():
        assert time.monotonic() < deadline, "log never said %r:\n%s" % (
            text, s.log_text()[-2000:])
        time.sleep(0.05)


def oper(s, nick="op"):
    o = s.user(nick)
    o.send("OPER admin secret")
    o.expect(numeric("381", nick, ":You are now an IRC operator"))
    return o


def create(s, name, password, op=None):
    o = op or oper(s, "op%s" % name)
    o.send("ACCOUNT CREATE %s :%s" % (name, password))
    o.expect(":irc.test NOTICE %s :ACCOUNT: created %s" % (o.nick, name))
    return o


def b64(data):
    return base64.b64encode(data).decode()


def send_payload(c, data):
    """AUTHENTICATE lines for data: 400-byte chunks, '+' after an exact
    multiple of 400 (or for nothing)."""
    enc = b64(data)
    for i in range(0, len(enc), 400):
        c.send("AUTHENTICATE " + enc[i:i + 400])
    if len(enc) % 400 == 0:
        c.send("AUTHENTICATE +")


def plain(c, user, password, authz=""):
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    send_payload(c, ("%s\0%s\0%s" % (authz, user, password)).encode())


def logged_in(c, account):
    """What a login says to c: 900, 903 and, once registered, +r."""
    lines = [rx(r":irc\.test 900 %s %s!\S+@127\.0\.0\.1 %s :You are now "
                r"logged in as %s", c.nick, c.nick, account, account),
             numeric("903", c.nick, ":SASL authentication successful")]
    if any(re.fullmatch(r":irc\.test 001 .*", l) for l in c.history):
        lines.append(":irc.test MODE %s :+r" % c.nick)
    return lines


def expect_only(c, lines):
    """Exactly these lines next, then nothing before a PING round trip."""
    got = [c.next_line() for _ in lines]
    for want, line in zip(lines, got):
        ok = want.fullmatch(line) if isinstance(want, re.Pattern) \
            else line == want
        assert ok, "expected %r, got %r (all: %r)" % (want, line, got)
    c.sync()
    rest = c.drain()
    assert rest == [], "unexpected lines after %r: %r" % (got, rest)
    return got


def test_cap_ls_lists_mechanisms(f):
    s = server(f)
    c = s.client("capper")
    words = cap_ls_words(c)
    assert "sasl=%s" % MECHS in words, words


def test_plain_good_wrong_unknown(f):
    s = server(f)
    create(s, "alice", "hunter2")
    a = s.user("alice")
    plain(a, "alice", "hunter2")
    expect_only(a, logged_in(a, "alice"))
    # A wrong password and an account that does not exist: the very
    # same reply, and nothing more.
    replies = []
    for user, pw in (("alice", "wrong"), ("nosuch", "hunter2")):
        c = s.user("probe%d" % len(replies))
        c.nick = "probe"
        c.send("NICK probe")
        c.expect(rx(r":probe\d!\S+ NICK :?probe"))
        plain(c, user, pw)
        replies.append(expect_only(c, [numeric("904", "probe", FAILED)]))
        c.send("QUIT")
        c.expect_closed()
    assert replies[0] == replies[1], replies
    log = s.log_text()
    assert "login failed: account alice from 127.0.0.1/32 (PLAIN)" in log
    assert "hunter2" not in log and "wrong" not in log


def test_plain_before_registration(f):
    s = server(f)
    create(s, "bob", "pw")
    c = s.client("bob")
    c.send("CAP LS 302")
    c.send("NICK bob")
    c.send("USER bob 0 * :Bob")
    c.send("CAP REQ :sasl")
    c.expect(":irc.test CAP bob ACK :sasl")
    plain(c, "bob", "pw", authz="bob")
    c.expect(rx(r":irc\.test 900 bob bob!bob@127\.0\.0\.1 bob :You are now "
                r"logged in as bob"))
    c.expect(numeric("903", "bob", ":SASL authentication successful"))
    c.send("CAP END")
    c.expect_welcome()


def test_plain_malformed(f):
    s = server(f)
    create(s, "carol", "pw")
    c = s.user("carol")
    cases = [
        "\0carol".encode(),                    # no password field
        "\0carol\0".encode(),                   # empty password
        "dave\0carol\0pw".encode(),             # someone else's authzid
        "\0\0pw".encode(),                      # empty authcid
        "\0carol\0pw\0x".encode(),              # a NUL too many
    ]
    for data in cases:
        c.send("AUTHENTICATE PLAIN")
        c.expect("AUTHENTICATE +")
        send_payload(c, data)
        expect_only(c, [numeric("904", "carol", FAILED)])
    for raw in ("not*base64", "YWJj=", "+"):
        c.send("AUTHENTICATE PLAIN")
        c.expect("AUTHENTICATE +")
        c.send("AUTHENTICATE " + raw)
        expect_only(c, [numeric("904", "carol", FAILED)])
    c.send("AUTHENTICATE")
    c.expect(numeric("461", "carol", "AUTHENTICATE :Not enough parameters"))
    plain(c, "CAROL", "pw", authz="Carol")
    expect_only(c, logged_in(c, "carol"))


def test_chunks_of_exactly_400(f):
    # "\0name\0password" of 300 and 600 bytes: 400 and 800 base64
    # characters, so each ends with "AUTHENTICATE +".  The long
    # password does not fit an IRC line: --add-account reads it.
    pw1 = "x" * (300 - len("\0alice\0"))
    pw2 = "y" * (600 - len("\0bob22\0"))
    d = f.path("db")
    os.makedirs(d, mode=0o700)
    db = os.path.join(d, "n.db")
    cp = f.run("--db", db, *CHEAP, "--add-account", "bob22", input=pw2)
    assert cp.returncode == 0, cp.stderr
    s = server(f, "--db", db)
    create(s, "alice", pw1)
    for user, pw in (("alice", pw1), ("bob22", pw2)):
        c = s.user(user)
        c.send("AUTHENTICATE PLAIN")
        c.expect("AUTHENTICATE +")
        enc = b64(("\0%s\0%s" % (user, pw)).encode())
        assert len(enc) % 400 == 0
        for i in range(0, len(enc), 400):
            c.send("AUTHENTICATE " + enc[i:i + 400])
        # Nothing yet: the server waits for the '+'.
        c.no_line(re.compile(r".* 90\d .*"), sync=True)
        c.send("AUTHENTICATE +")
        expect_only(c, logged_in(c, user))


def test_abort_toolong_unknown_already(f):
    s = server(f)
    create(s, "erin", "pw")
    c = s.user("erin")
    # erin's nick is the account's: the grace notice follows the welcome.
    c.expect(":irc.test NOTICE erin :This nickname is registered. Please "
             "log in to its account with SASL or /msg NickServ IDENTIFY "
             "<password> within 30 seconds, or you will be renamed.")
    # '*' with no exchange, and in the middle of one.
    c.send("AUTHENTICATE *")
    expect_only(c, [numeric("906", "erin", ":SASL authentication aborted")])
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + "A" * 400)
    c.send("AUTHENTICATE *")
    expect_only(c, [numeric("906", "erin", ":SASL authentication aborted")])
    # A chunk of 401 bytes.
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE " + "A" * 401)
    expect_only(c, [numeric("905", "erin", ":SASL message too long")])
    # Chunks of 400 past the bound of a message (1200).
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    for _ in range(3):
        c.send("AUTHENTICATE " + "A" * 400)
    c.send("AUTHENTICATE " + "A" * 400)
    expect_only(c, [numeric("905", "erin", ":SASL message too long")])
    # An unknown mechanism: the list, then 904.
    c.send("AUTHENTICATE DIGEST-MD5")
    expect_only(c, [numeric("908", "erin", "%s :are available SASL "
                            "mechanisms" % MECHS),
                    numeric("904", "erin", FAILED)])
    # The exchange state was cleared each time: a login still works.
    plain(c, "erin", "pw")
    expect_only(c, logged_in(c, "erin"))
    # 907 for any second attempt.
    for line in ("AUTHENTICATE PLAIN", "AUTHENTICATE SCRAM-SHA-256"):
        c.send(line)
        expect_only(c, [numeric("907", "erin", ":You have already "
                                "authenticated using SASL")])


def test_registration_ends_exchange(f):
    """sasl 3.1: CAP END while an exchange is on aborts it (906), then
    the client registers without an account."""
    s = server(f)
    c = s.client("frank")
    c.send("CAP LS 302")
    c.send("CAP REQ :sasl")
    c.send("NICK frank")
    c.send("USER frank 0 * :F")
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE +")
    c.send("CAP END")
    c.expect(numeric("906", "frank", ":SASL authentication aborted"))
    c.expect_welcome()


# --- SCRAM-SHA-256, the client side (RFC 5802 / 7677) ---

def _hmac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


class Scram:
    def __init__(self, user, password, nonce=None):
        self.user = user
        self.password = password
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.first_bare = "n=%s,r=%s" % (user, self.cnonce)

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first, tamper=False):
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        self.attrs = attrs
        assert attrs["r"].startswith(self.cnonce), server_first
        salt = base64.b64decode(attrs["s"])
        it = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt,
                                     it)
        ckey = _hmac(salted, b"Client Key")
        stored = hashlib.sha256(ckey).digest()
        without = "c=biws,r=%s" % attrs["r"]
        auth = ("%s,%s,%s" % (self.first_bare, server_first,
                              without)).encode()
        proof = bytes(a ^ b for a, b in zip(ckey, _hmac(stored, auth)))
        if tamper:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        self.server_sig = _hmac(_hmac(salted, b"Server Key"), auth)
        return ("%s,p=%s" % (without, b64(proof))).encode()


def read_challenge(c):
    line = c.expect(rx(r"AUTHENTICATE \S+"))
    return base64.b64decode(line.split(" ", 1)[1]).decode()


def scram_start(c, sc):
    c.send("AUTHENTICATE SCRAM-SHA-256")
    c.expect("AUTHENTICATE +")
    send_payload(c, sc.first())
    return read_challenge(c)


def test_scram_full_exchange(f):
    s = server(f)
    create(s, "grace", "p\u00e4ss word")
    c = s.user("grace")
    sc = Scram("grace", "p\u00e4ss word")
    sfirst = scram_start(c, sc)
    assert re.fullmatch(r"r=%s[A-Za-z0-9+/=]{24},s=[A-Za-z0-9+/]{22}==,"
                        r"i=4096" % re.escape(sc.cnonce), sfirst), sfirst
    send_payload(c, sc.final(sfirst))
    sfinal = read_challenge(c)
    assert sfinal == "v=" + b64(sc.server_sig), sfinal
    c.send("AUTHENTICATE +")
    expect_only(c, logged_in(c, "grace"))


def test_scram_wrong_proof_replay_malformed(f):
    s = server(f)
    create(s, "heidi", "secret")
    c = s.user("heidi")
    # A wrong proof.
    sc = Scram("heidi", "secret")
    sfirst = scram_start(c, sc)
    send_payload(c, sc.final(sfirst, tamper=True))
    expect_only(c, [numeric("904", "heidi", FAILED)])
    # A good exchange's client-final, replayed in a new exchange with
    # the same client nonce: the server's nonce differs, so it fails.
    sc = Scram("heidi", "secret", nonce="fixedclientnonce")
    old_final = sc.final(scram_start(c, sc))
    c.send("AUTHENTICATE *")
    c.expect(numeric("906", "heidi", ":SASL authentication aborted"))
    sc2 = Scram("heidi", "secret", nonce="fixedclientnonce")
    scram_start(c, sc2)
    send_payload(c, old_final)
    expect_only(c, [numeric("904", "heidi", FAILED)])
    # Malformed first messages: channel binding, no nonce, garbage.
    for first in (b"p=tls-unique,,n=heidi,r=abc", b"n,,n=heidi",
                  b"n,,m=x,n=heidi,r=abc", b"hello"):
        c.send("AUTHENTICATE SCRAM-SHA-256")
        c.expect("AUTHENTICATE +")
        send_payload(c, first)
        expect_only(c, [numeric("904", "heidi", FAILED)])
    # A malformed final message.
    sc = Scram("heidi", "secret")
    scram_start(c, sc)
    send_payload(c, b"c=biws,p=AAAA")
    expect_only(c, [numeric("904", "heidi", FAILED)])
    # After all that, a clean exchange works.
    sc = Scram("heidi", "secret")
    send_payload(c, sc.final(scram_start(c, sc)))
    read_challenge(c)
    c.send("AUTHENTICATE +")
    expect_only(c, logged_in(c, "heidi"))


def test_scram_unknown_account_looks_real(f):
    s = server(f)
    c = s.user("ivan")
    firsts = []
    for _ in range(2):
        sc = Scram("nobody", "x")
        sfirst = scram_start(c, sc)
        assert re.fullmatch(r"r=\S+,s=[A-Za-z0-9+/]{22}==,i=4096",
                            sfirst), sfirst
        firsts.append(sfirst)
        send_payload(c, sc.final(sfirst))
        expect_only(c, [numeric("904", "ivan", FAILED)])
    # The same salt each time, as a real account's would be.
    salts = [dict(kv.split("=", 1) for kv in x.split(","))["s"]
             for x in firsts]
    assert salts[0] == salts[1], salts


# --- EXTERNAL ---

def make_client_cert(f, name="clientcert"):
    d = f.path(name)
    os.makedirs(d, exist_ok=True)
    crt, key = os.path.join(d, "c.crt"), os.path.join(d, "c.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2",
                    "-subj", "/CN=judy"], check=True, capture_output=True)
    with open(crt) as fp:
        der = ssl.PEM_cert_to_DER_cert(fp.read())
    fp_hex = ":".join("%02X" % b for b in hashlib.sha256(der).digest())
    return crt, key, fp_hex


def tls_ctx(cert=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


def test_external_with_client_certificate(f):
    if shutil.which("openssl") is None:
        f.skip("no openssl")
    s = server(f, tls=True)
    crt, key, fp = make_client_cert(f)
    op = create(s, "judy", "pw")
    op.send("ACCOUNT CERTADD judy %s" % fp.lower().replace(":", ""))
    op.expect(":irc.test NOTICE op%s :ACCOUNT: certificate added to judy"
              % "judy")
    op.send("ACCOUNT CERTADD judy %s" % fp)
    op.expect(":irc.test FAIL ACCOUNT CERT_IN_USE %s :That certificate is "
              "already linked to an account" % fp)
    op.send("ACCOUNT CERTADD judy nonsense")
    op.expect(":irc.test FAIL ACCOUNT BAD_FINGERPRINT nonsense :Not a "
              "SHA-256 fingerprint")
    # With the certificate: logged in, with or without an authzid.
    for authz in (b"", b"judy"):
        c = s.user("judy", port=s.tls_port, tls=tls_ctx((crt, key)))
        c.send("AUTHENTICATE EXTERNAL")
        c.expect("AUTHENTICATE +")
        send_payload(c, authz)
        expect_only(c, logged_in(c, "judy"))
        c.send("QUIT")
        c.expect_closed()
    # Someone else's authzid, no certificate, or plain text: 904.
    c = s.user("judy", port=s.tls_port, tls=tls_ctx((crt, key)))
    c.send("AUTHENTICATE EXTERNAL")
    c.expect("AUTHENTICATE +")
    send_payload(c, b"op")
    expect_only(c, [numeric("904", "judy", FAILED)])
    for kw in ({"port": s.tls_port, "tls": tls_ctx()}, {}):
        c = s.user(f.unique("nocert"), **kw)
        c.send("AUTHENTICATE EXTERNAL")
        c.expect("AUTHENTICATE +")
        c.send("AUTHENTICATE +")
        expect_only(c, [numeric("904", c.nick, FAILED)])
    op.send("ACCOUNT CERTDEL judy %s" % fp)
    op.expect(":irc.test NOTICE opjudy :ACCOUNT: certificate removed from "
              "judy")
    c = s.user("judy2", port=s.tls_port, tls=tls_ctx((crt, key)))
    c.send("AUTHENTICATE EXTERNAL")
    c.expect("AUTHENTICATE +")
    c.send("AUTHENTICATE +")
    expect_only(c, [numeric("904", "judy2", FAILED)])


# --- limits ---

def test_failed_logins_per_account(f):
    s = server(f, "--login-fails-account", "2", "--login-fails-ip", "0")
    create(s, "kate", "right")
    for i in range(2):
        c = s.user("k%d" % i)
        plain(c, "kate", "wrong")
        expect_only(c, [numeric("904", c.nick, FAILED)])
    # Over the limit: refused without even checking, the same 904.
    c = s.user("k9")
    plain(c, "kate", "right")
    expect_only(c, [numeric("904", "k9", FAILED)])
    # SCRAM too.
    sc = Scram("kate", "right")
    c.send("AUTHENTICATE SCRAM-SHA-256")
    c.expect("AUTHENTICATE +")
    send_payload(c, sc.first())
    expect_only(c, [numeric("904", "k9", FAILED)])
    wait_log(s, "login refused: account kate from 127.0.0.1/32: too many "
             "failed logins")
    # Another account is not affected.
    create(s, "leo", "pw")
    plain(c, "leo", "pw")
    expect_only(c, logged_in(c, "leo"))


def test_failed_logins_per_address(f):
    s = server(f, "--login-fails-ip", "2", "--login-fails-account", "0")
    create(s, "mallory", "pw")
    c = s.user("m")
    for name in ("ghost1", "ghost2"):
        plain(c, name, "x")
        expect_only(c, [numeric("904", "m", FAILED)])
    plain(c, "mallory", "pw")
    expect_only(c, [numeric("904", "m", FAILED)])


def parallel(fn, items):
    threads = [threading.Thread(target=fn, args=(x,)) for x in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_parallel_guesses_cannot_outrun_the_limit(f):
    """12 wrong passwords at once for one account, with a limit of 3:
    only 3 are checked (and counted), the rest are refused unchecked;
    then the right password is refused too."""
    s = server(f, "--login-fails-account", "3", "--login-fails-ip", "0",
               "--hash-threads", "2")
    create(s, "kate", "right")
    clients = [s.user("g%d" % i) for i in range(12)]
    for c in clients:
        c.send("AUTHENTICATE PLAIN")
    for c in clients:
        c.expect("AUTHENTICATE +")
    wrong = b64(b"\0kate\0wrong")
    parallel(lambda c: c.send("AUTHENTICATE " + wrong), clients)
    for c in clients:
        expect_only(c, [numeric("904", c.nick, FAILED)])
    log = s.log_text()
    assert log.count("login failed: account kate from") == 3, log
    assert log.count("login refused: account kate from") == 9, log
    c = s.user("k9")
    plain(c, "kate", "right")
    expect_only(c, [numeric("904", "k9", FAILED)])


def test_parallel_scram_proofs_cannot_outrun_the_limit(f):
    """10 SCRAM exchanges opened at once, then 10 wrong proofs at once,
    with a limit of 2: 2 proofs are checked, 8 refused."""
    s = server(f, "--login-fails-account", "2", "--login-fails-ip", "0")
    create(s, "kate", "right")
    clients = [s.user("s%d" % i) for i in range(10)]
    scrams = [Scram("kate", "wrong") for _ in clients]
    for c in clients:
        c.send("AUTHENTICATE SCRAM-SHA-256")
    for c in clients:
        c.expect("AUTHENTICATE +")
    for c, sc in zip(clients, scrams):
        send_payload(c, sc.first())
    finals = []
    for c, sc in zip(clients, scrams):
        finals.append(sc.final(read_challenge(c)))
    parallel(lambda cf: send_payload(cf[0], cf[1]), list(zip(clients, finals)))
    for c in clients:
        expect_only(c, [numeric("904", c.nick, FAILED)])
    log = s.log_text()
    assert log.count("login failed: account kate from") == 2, log
    assert log.count("login refused: account kate from") == 8, log


@timeout(120)
def test_login_burst_waits_in_order(f):
    """20 logins at once through one hashing thread, from one address
    that may have only 2 attempts under way (--login-fails-ip 2): all
    wait their turn and succeed."""
    s = server(f, "--hash-threads", "1", "--argon2-memory", "2048",
               "--login-fails-ip", "2")
    op = oper(s)
    n = 20
    for i in range(n):
        op.send("ACCOUNT CREATE user%d pw%d" % (i, i))
    for i in range(n):
        op.expect(":irc.test NOTICE op :ACCOUNT: created user%d" % i,
                  timeout=30)
    clients = [s.user("user%d" % i) for i in range(n)]
    payloads = [b64(("\0user%d\0pw%d" % (i, i)).encode())
                for i in range(n)]
    for c in clients:
        c.send("AUTHENTICATE PLAIN")
    for c in clients:
        c.expect("AUTHENTICATE +")

    def go(c, p):
        c.send("AUTHENTICATE " + p)
    threads = [threading.Thread(target=go, args=(c, p))
               for c, p in zip(clients, payloads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.expect(numeric("903", c.nick, ":SASL authentication successful"),
                 timeout=60)


# --- ACCOUNT, --add-account, persistence ---

def test_account_command(f):
    s = server(f, "--max-accounts", "2")
    u = s.user("nobody")
    for line in ("ACCOUNT CREATE x y", "ACCOUNT INFO x", "ACCOUNT DELETE x"):
        u.send(line)
        u.expect(numeric("481", "nobody", ":Permission Denied- You're not "
                         "an IRC operator"))
    u.send("ACCOUNT")
    u.expect(numeric("461", "nobody", "ACCOUNT :Not enough parameters"))
    o = oper(s)
    for line, want in [
        ("ACCOUNT CREATE only", numeric("461", "op",
                                        "ACCOUNT :Not enough parameters")),
        ("ACCOUNT INFO", numeric("461", "op",
                                 "ACCOUNT :Not enough parameters")),
        ("ACCOUNT FROB x", ":irc.test FAIL ACCOUNT UNKNOWN_SUBCOMMAND FROB "
                           ":Use CREATE, RESET, DELETE, INFO, CERTADD, "
                           "CERTDEL or GROUP"),
        ("ACCOUNT CREATE #bad pw", ":irc.test FAIL ACCOUNT BAD_ACCOUNT_NAME "
                                   "#bad :Account names must be valid nicks"),
        ("ACCOUNT CREATE 9lives pw", ":irc.test FAIL ACCOUNT "
                                     "BAD_ACCOUNT_NAME 9lives :Account names "
                                     "must be valid nicks"),
        ("ACCOUNT CREATE nina :", ":irc.test FAIL ACCOUNT BAD_PASSWORD nina "
                                  ":The password is empty"),
        ("ACCOUNT CREATE nina pw1", ":irc.test NOTICE op :ACCOUNT: created "
                                    "nina"),
        ("ACCOUNT CREATE NINA pw", ":irc.test FAIL ACCOUNT ACCOUNT_EXISTS "
                                   "NINA :Account already exists"),
        ("ACCOUNT CREATE oscar pw", ":irc.test NOTICE op :ACCOUNT: created "
                                    "oscar"),
        ("ACCOUNT CREATE pat pw", ":irc.test FAIL ACCOUNT LIMIT_REACHED pat "
                                  ":The server has all the accounts it may "
                                  "keep (--max-accounts)"),
        ("ACCOUNT INFO ghost", ":irc.test FAIL ACCOUNT ACCOUNT_DOES_NOT_EXIST "
                               "ghost :No such account"),
        ("ACCOUNT RESET nina :new pw", ":irc.test NOTICE op :ACCOUNT: "
                                       "password set for nina"),
    ]:
        o.send(line)
        got = o.next_line()
        assert got == want, "%r: expected %r, got %r" % (line, want, got)
    n = s.user("nina")
    plain(n, "nina", "pw1")
    expect_only(n, [numeric("904", "nina", FAILED)])
    plain(n, "nina", "new pw")
    expect_only(n, logged_in(n, "nina"))
    o.send("ACCOUNT INFO nina")
    o.expect(rx(r":irc\.test NOTICE op :ACCOUNT: info nina \(id 1\) created "
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"))
    o.expect(":irc.test NOTICE op :ACCOUNT: info nina password yes, SCRAM "
             "yes, local no")
    o.expect(":irc.test NOTICE op :ACCOUNT: info nina logged in on 1 "
             "connection")
    o.expect(":irc.test NOTICE op :ACCOUNT: end of info for nina")
    # DELETE logs its users out, and the account is gone.
    o.send("ACCOUNT DELETE nina")
    o.expect(":irc.test NOTICE op :ACCOUNT: deleted nina")
    n.expect(numeric("901", "nina", "nina!nina@127.0.0.1 :You are now "
                     "logged out"))
    o.send("ACCOUNT DELETE nina")
    o.expect(":irc.test FAIL ACCOUNT ACCOUNT_DOES_NOT_EXIST nina :No such "
             "account")
    plain(n, "nina", "new pw")
    expect_only(n, [numeric("904", "nina", FAILED)])
    o.send("ACCOUNT CREATE pat pw")
    o.expect(":irc.test NOTICE op :ACCOUNT: created pat")


def test_add_account_cli_and_restart(f):
    db = f.path("state/natterd.db")
    os.makedirs(os.path.dirname(db), mode=0o700, exist_ok=True)
    cp = f.run("--db", db, *CHEAP, "--add-account", "quinn", input="s3cret\n")
    assert cp.returncode == 0, (cp.returncode, cp.stderr)
    assert cp.stdout == "account quinn added to %s\n" % db, cp.stdout
    cp = f.run("--db", db, *CHEAP, "--add-account", "QUINN", input="x\n")
    assert cp.returncode == 1 and "already exists" in cp.stderr, cp
    for args, why in ((["--add-account", "#no"], "not a nick"),
                      (["--db", "off", "--add-account", "ok"], "no file")):
        cp = f.run(*args, input="x\n")
        assert cp.returncode == 2 and "usage" in cp.stderr, (why, cp)
    cp = f.run("--db", db, "--add-account", "rita", input="")
    assert cp.returncode == 1, cp
    s = server(f, "--db", db)
    c = s.user("quinn")
    plain(c, "quinn", "s3cret")
    expect_only(c, logged_in(c, "quinn"))
    # While a natterd holds the file: one line, exit 1.
    cp = f.run("--db", db, *CHEAP, "--add-account", "rita", input="pw\n")
    assert cp.returncode == 1, cp
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and "in use by another natterd" in lines[0], \
        cp.stderr
    # Accounts made at run time survive a restart.
    create(s, "sam", "pw")
    s.stop()
    s2 = server(f, "--db", db)
    for name, pw in (("quinn", "s3cret"), ("sam", "pw")):
        c = s2.user(name)
        plain(c, name, pw)
        expect_only(c, logged_in(c, name))


def test_migration_from_schema_3(f):
    """A database natterd wrote before accounts existed: its messages
    are still there, and accounts work in it."""
    d = f.path("v3")
    os.makedirs(d, mode=0o700)
    db = os.path.join(d, "history.db")
    shutil.copy(FIXTURE_V3, db)
    os.chmod(db, 0o600)
    s = server(f, "--db", db)
    wait_log(s, "schema upgraded from version 3 to 5")
    create(s, "tina", "pw")
    # New messages go on from the old numbering.
    a = s.user("alice")
    a.join("#lobby")
    a.send("PRIVMSG #lobby :after the upgrade")
    a.sync()
    s.stop()
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 5
        rows = con.execute("SELECT seq, key, params FROM message ORDER BY "
                           "seq").fetchall()
        assert rows[:3] == [(1, "#lobby", "#lobby :second line"),
                            (2, "#lobby", "#lobby :hello from schema 3"),
                            (3, "alice bob", "bob :a private word")], rows
        assert rows[3][0] == 4 and rows[3][2].endswith("after the upgrade"), \
            rows
        assert con.execute("SELECT name FROM account").fetchall() == \
            [("tina",)]
    finally:
        con.close()
    s2 = server(f, "--db", db)
    c = s2.user("tina")
    plain(c, "tina", "pw")
    expect_only(c, logged_in(c, "tina"))


def test_accounts_in_memory_only(f):
    for db in ("off", ":memory:"):
        s = server(f, "--db", db)
        wait_log(s, "accounts live in memory only")
        create(s, "uma", "pw")
        c = s.user("uma")
        plain(c, "uma", "pw")
        expect_only(c, logged_in(c, "uma"))
        s.stop()


def test_trace_log_hides_secrets(f):
    s = server(f, "-vv")
    create(s, "vera", "topsecretpw")
    c = s.user("vera")
    plain(c, "vera", "topsecretpw")
    expect_only(c, logged_in(c, "vera"))
    log = s.log_text()
    assert "topsecretpw" not in log
    assert b64(b"\0vera\0topsecretpw") not in log
    assert "AUTHENTICATE <hidden>" in log
