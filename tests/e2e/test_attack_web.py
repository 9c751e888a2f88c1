"""Attack tests for issue 15: natterd's web listener (--web-port), HTTP
via libhttp-parser and IRC over WebSocket via wslay, attacked as a
hostile client on the network would."""

import base64
import os
import re
import socket
import ssl
import struct
import time

from harness import SLOW, Server, free_port, scaled, slow, timeout
from test_attack_issue14 import vmrss_kb
from test_web_bad import encode_frame

KEY = base64.b64encode(b"0123456789abcdef").decode()


def web_server(f, *flags, tls=False):
    """A natterd with a web port (s.web_port)."""
    port = free_port()
    extra = []
    if tls:
        crt, key = f.tls_files()
        extra = ["--tls-cert", crt, "--tls-key", key]
    s = Server(f, "--web-port", port, *extra, *flags, start=False)
    s.web_port = port
    s.start()
    # The web port opens with the others; wait until it listens.
    deadline = time.monotonic() + scaled(10)
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            time.sleep(0.05)
    return s


class WS:
    """A raw WebSocket client: frames built by hand, so that it can
    send what a browser never would."""

    def __init__(self, s, path="/irc", headers=None, proto=None,
                 rcvbuf=None, tls=False, connect_timeout=10, upgrade=True,
                 extra=b""):
        self.s = s
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(scaled(connect_timeout))
        sock.connect(("127.0.0.1", s.web_port))
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
        self.sock = sock
        s.f.clients.append(self)
        self.buf = b""
        self.status = None
        self.resp_headers = {}
        self.closed = False
        self.close_code = None
        self.close_reason = b""
        if not upgrade:
            return
        h = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % s.web_port,
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: " + KEY, "Sec-WebSocket-Version: 13"]
        if proto:
            h.append("Sec-WebSocket-Protocol: " + proto)
        h += headers or []
        sock.sendall(("\r\n".join(h) + "\r\n\r\n").encode() + extra)
        self.read_head()

    # --- raw bytes ---

    def recv_some(self, t):
        self.sock.settimeout(t)
        try:
            d = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return None
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            self.closed = True
        self.buf += d
        return d

    def read_head(self, t=10):
        deadline = time.monotonic() + scaled(t)
        while b"\r\n\r\n" not in self.buf:
            if time.monotonic() > deadline or self.closed:
                raise AssertionError("no HTTP answer: %r" % self.buf[:300])
            self.recv_some(0.5)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        for l in lines[1:]:
            k, v = l.split(":", 1)
            self.resp_headers[k.strip().lower()] = v.strip()
        return self.status

    def send_raw(self, data):
        self.sock.sendall(data)

    # --- frames ---

    @staticmethod
    def frame(opcode, payload=b"", fin=True, mask=True, rsv=0):
        return encode_frame(opcode, payload, mask=mask, fin=fin, rsv=rsv)

    def send_frame(self, opcode, payload=b"", **kw):
        self.send_raw(self.frame(opcode, payload, **kw))

    def send(self, line):
        self.send_frame(1, line.encode() if isinstance(line, str) else line)

    def next_frame(self, t=5):
        """(opcode, payload) of the next frame, or None at the close of
        the socket."""
        deadline = time.monotonic() + scaled(t)
        while True:
            fr = self._parse()
            if fr is not None:
                return fr
            if self.closed:
                return None
            if time.monotonic() > deadline:
                raise AssertionError("no frame within %gs (buf %r)"
                                     % (t, self.buf[:200]))
            self.recv_some(0.2)

    def _parse(self):
        b = self.buf
        if len(b) < 2:
            return None
        op = b[0] & 0x0f
        n = b[1] & 0x7f
        off = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack("!H", b[2:4])[0]
            off = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack("!Q", b[2:10])[0]
            off = 10
        if b[1] & 0x80:
            raise AssertionError("server frame is masked")
        if len(b) < off + n:
            return None
        payload = b[off:off + n]
        self.buf = b[off + n:]
        self.frames = getattr(self, "frames", 0) + 1
        if op == 8:
            self.close_code = (struct.unpack("!H", payload[:2])[0]
                               if len(payload) >= 2 else None)
            self.close_reason = payload[2:]
        return op, payload

    def next_line(self, t=5, skip_pings=True):
        """The next IRC line (a text or binary message); PINGs answered."""
        while True:
            fr = self.next_frame(t)
            if fr is None:
                raise AssertionError("closed while waiting for a line")
            op, p = fr
            if op in (1, 2):
                line = p.decode("utf-8", "replace")
                if skip_pings and line.startswith("PING "):
                    self.send("PONG " + line[5:])
                    continue
                return line
            if op == 8:
                raise AssertionError("close %s %r while waiting for a line"
                                     % (self.close_code, self.close_reason))

    def expect(self, pattern, t=5):
        while True:
            line = self.next_line(t)
            if (line == pattern if isinstance(pattern, str)
                    else re.fullmatch(pattern, line)):
                return line

    def register(self, nick, t=10):
        self.send("NICK " + nick)
        self.send("USER %s 0 * :%s" % (nick, nick))
        self.expect(re.compile(r":irc\.test 001 .*"), t)
        self.expect(re.compile(r":irc\.test (376|422) .*"), t)

    def expect_close(self, t=10):
        """Reads to the close frame (or the socket's end); returns its
        code, or None if there was none."""
        deadline = time.monotonic() + scaled(t)
        while time.monotonic() < deadline:
            fr = self.next_frame(max(0.1, deadline - time.monotonic()))
            if fr is None:
                return self.close_code
            if fr[0] == 8:
                return self.close_code
        raise AssertionError("no close")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # for Fixture.details()
    name = "ws"
    history = []


def http(s, raw, t=10, tls=False):
    """Sends raw bytes to the web port; returns (status, headers, body)
    of the answer, reading to the close."""
    w = WS(s, upgrade=False, tls=tls)
    w.send_raw(raw)
    w.read_head(t)
    deadline = time.monotonic() + scaled(t)
    while not w.closed and time.monotonic() < deadline:
        w.recv_some(0.5)
    return w.status, w.resp_headers, w.buf


def with_stack_uar(f):
    """Under ASan, make a read of a dead stack frame a report (each test
    runs in a process of its own)."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    if "detect_stack_use_after_return" not in opts:
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
            "detect_stack_use_after_return=1"


# --- 1. a refusal's body is read from a stack frame that is gone ---

def test_refusal_body_outlives_the_function_that_wrote_it(f):
    """web_refuse() formats its text into a local array and web_answer()
    keeps only a pointer to it as the body, which is sent later from
    client_loop: the 408 (and 400/403/404/426/431/505, and the 429 of
    web_upgrade) went out as whatever the stack held by then -- here
    'The request took too lon\\xc0h' -- bytes of the thread's stack
    leaked to the peer, and under ASan a stack-use-after-return."""
    with_stack_uar(f)
    s = web_server(f, "--throttle", "1", "--db", ":memory:")
    # 408: the request never ends.
    w = WS(s, upgrade=False)
    w.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert w.read_head(20) == 408
    while not w.closed:
        w.recv_some(1)
    assert w.buf == b"The request took too long\n", w.buf
    # 404, and the 429 of a second WebSocket past --throttle 1.
    st, _, body = http(s, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (st, body) == (404, b"Not found\n"), (st, body)
    assert WS(s).status == 101
    w = WS(s)
    assert w.status == 429
    while not w.closed:
        w.recv_some(1)
    assert re.fullmatch(rb"Too many new connections from your IP; try "
                        rb"again in \d+ seconds", w.buf), w.buf


# --- 2. a fragmented control frame: a close frame with no code ---

def test_fragmented_or_oversized_control_frame_closes_1002(f):
    """wslay_event_recv() answers a frame-level protocol error (a control
    frame without FIN, or with more than 125 bytes) with a close frame of
    its own that has no status code at all, and web_ws_input()'s
    ws_fail(1002) comes too late to name it: the client saw 'close, no
    code' instead of the 1002 the contract promises."""
    s = web_server(f)
    for bad in (WS.frame(9, b"a", fin=False),
                WS.frame(9, b"p" * 126),
                WS.frame(8, struct.pack("!H", 1000) + b"r" * 124)):
        w = WS(s)
        w.register(f.unique("u"))
        w.send_raw(bad)
        assert w.expect_close() == 1002, (bad[:4], w.close_code,
                                          w.close_reason)
        w.close()


# --- 3. many tiny fragments: 90 times the message in the server ---

@timeout(90)
def test_tiny_fragments_cost_about_the_message(f):
    """A message is at most 8703 bytes, but wslay keeps each fragment as
    a chunk of its own (a struct, a data block, a queue cell: three
    mallocs) until the message ends: one of 8690 one-byte fragments,
    never finished, held about 800 KB of the server per connection, 93
    times what a TCP client's unfinished line can hold (8.7 KB)."""
    if "tsan" in f.server_path:
        f.skip("TSan's shadow memory grows with every page touched")
    n = 40
    s = web_server(f, "--max-per-ip", "0", "--throttle", "0",
                   "--db", ":memory:")
    ws = []
    for i in range(n):
        w = WS(s)
        w.register("u%d" % i)
        ws.append(w)
    time.sleep(2 * SLOW)
    before = vmrss_kb(s)
    frag = WS.frame(1, b"P", fin=False) + b"".join(
        WS.frame(0, b"x", fin=False) for _ in range(8690))
    for w in ws:
        w.send_raw(frag)
    for w in ws:    # each read them all: a round trip needs the message
        w.send_raw(WS.frame(9, b"sync"))
    for w in ws:
        assert w.next_frame(30) == (10, b"sync")
    grown = vmrss_kb(s) - before
    assert grown < n * 100, "%d KB for %d connections" % (grown, n)


def test_fragmented_messages_arrive_whole_and_are_measured_whole(f):
    """What the fix of the test above must keep: fragments (with control
    frames between them) make one line; fragments that add up to more
    than 8703 bytes close 1009, whatever each one's size."""
    s = web_server(f)
    a = WS(s)
    a.register("alice")
    b = WS(s)
    b.register("bob")
    a.send_raw(WS.frame(1, b"PRIV", fin=False) + WS.frame(9, b"p1") +
               WS.frame(0, b"MSG bob :h", fin=False) + WS.frame(10, b"x") +
               WS.frame(0, "é".encode()[:1], fin=False) +
               WS.frame(0, "é".encode()[1:] + b"llo", fin=True))
    assert a.next_frame() == (10, b"p1")
    b.expect(":alice!alice@127.0.0.1 PRIVMSG bob :héllo")
    a.send_raw(WS.frame(1, b"PING :" + b"x" * 4000, fin=False) +
               WS.frame(0, b"y" * 4000, fin=False) +
               WS.frame(0, b"z" * 704, fin=True))
    assert a.expect_close() == 1009, (a.close_code, a.close_reason)


# --- 4. pongs pile up without bound for a client that never reads ---

@slow
@timeout(150)
def test_pinging_non_reader_is_not_read_forever(f):
    """wslay queues a pong for every ping, ahead of the lines, and nothing
    counts them: not the SendQ (c->q), not held input.  A client that
    never reads but pings within the limit (20, then 5 a second) stayed
    connected for ever -- each read refreshed its idle time, so no Ping
    timeout either -- while the server held each pong (125 bytes and
    three allocations) in memory: about 1 KB a second a connection, 50
    connections an address.  A TCP client's PONG lines count against its
    SendQ, and past it the server stops reading it.  Here: once the
    socket is full (a history replay the client does not read), 125-byte
    pings at 4 a second; natterd should stop reading it, and its Ping
    timeout (2 + 2 s here) drop it."""
    s = web_server(f, "--flood-burst", "0", "--db", ":memory:",
                   "--history-lines", "0", "--ping-interval", "2",
                   "--ping-timeout", "2")
    a = s.user("alice")
    a.join("#r")
    for i in range(500):
        a.send("PRIVMSG #r :line %d %s" % (i, "x" * 380))
    a.sync(60)
    w = WS(s, rcvbuf=2048)
    w.send("CAP REQ :draft/chathistory batch server-time message-tags")
    w.send("CAP END")
    w.send("NICK bob")
    w.send("USER bob 0 * :bob")
    w.send("JOIN #r")
    w.send("CHATHISTORY LATEST #r * 500")      # about 230 KB, not read
    time.sleep(2)
    pong = b"p" * 125
    start = time.monotonic()
    sent = 0
    dropped = False
    while time.monotonic() - start < scaled(40):
        try:
            w.sock.settimeout(1)
            w.send_frame(9, pong)
            sent += 1
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        if "(bob) closed" in s.log_text():
            dropped = True
            break
        time.sleep(0.25)
    assert dropped, ("%d pings in %.0f s to a client that reads nothing: "
                     "still read, still connected" %
                     (sent, time.monotonic() - start))


# --- 5. a TLS handshake that never ends outlives the request deadline ---

@timeout(90)
def test_wss_stalled_handshake_closed_at_the_request_deadline(f):
    """On the HTTPS web port the 10 s request deadline fired (the log
    said 'HTTP 408') but a 408 cannot go out before the handshake ends,
    so the connection stayed until the registration timeout, 30 s: a
    slowloris on wss held each connection (and its thread) three times
    as long as on the plain port."""
    s = web_server(f, tls=True)
    socks = []
    for hello in (b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
        sk = socket.create_connection(("127.0.0.1", s.web_port))
        sk.sendall(hello)
        socks.append(sk)
    t0 = time.monotonic()
    for sk in socks:
        sk.settimeout(scaled(40))
        try:
            sk.recv(100)
        except OSError:
            pass
        took = time.monotonic() - t0
        sk.close()
        assert took < scaled(10) + 5, "closed after %.1f s" % took


# --- 6. the closes wslay makes itself have no reason ---

def test_closes_for_bad_frames_have_a_reason(f):
    """The contract: 'the server sends a close frame with this code and
    a short reason'.  For what wslay catches itself (a frame over 8703
    bytes, an unmasked frame, RSV bits, invalid UTF-8 in a text frame, a
    close with a reserved code) its own close frame went out, with the
    code but no reason, and web.c's reason (w->why) went only to the
    log."""
    s = web_server(f)
    cases = [
        (WS.frame(1, b"PRIVMSG x :" + b"a" * 9000), 1009),
        (WS.frame(1, b"PING x", mask=False), 1002),
        (WS.frame(1, b"PING x", rsv=4), 1002),
        (WS.frame(1, b"PRIVMSG x :\xff"), 1007),
        (WS.frame(8, struct.pack("!H", 1005)), 1002),
    ]
    for bad, code in cases:
        w = WS(s)
        w.register(f.unique("u"))
        w.send_raw(bad)
        assert w.expect_close() == code, (bad[:4], w.close_code)
        assert w.close_reason, (bad[:4], code, "no reason")
        w.close()


# --- 7. HEAD: refusals with a body, and a WebSocket opened by HEAD ---

def test_head_gets_no_body_and_opens_no_websocket(f):
    """RFC 9110 9.3.2: no content in an answer to HEAD, yet each refusal
    of a HEAD (404, 426, 400...) carried its text after the head.  And
    RFC 6455 4.1: the opening handshake is a GET, yet HEAD /irc with the
    upgrade headers switched to a WebSocket."""
    s = web_server(f)
    for raw, status in [
            (b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404),
            (b"HEAD /irc HTTP/1.1\r\nHost: x\r\n\r\n", 426),
            (b"HEAD / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400)]:
        st, hd, body = http(s, raw)
        assert (st, body) == (status, b""), (raw, st, body)
        assert int(hd["content-length"]) > 0
    w = WS(s, upgrade=False)
    w.send_raw(("HEAD /irc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n" % KEY).encode())
    assert w.read_head() != 101
