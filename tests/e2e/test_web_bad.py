"""The web listener (--web-port) against bad input: each row of issue 15's
table of refusals gets the exact status line or WebSocket close code, the
server stays bounded and keeps serving; and the good paths those rows are
measured against (the page with its headers, a WebSocket session).

Raw sockets only: the HTTP requests and the WebSocket frames are written
by hand (WebSocket below), so the tests can send what no library would."""

import base64
import hashlib
import os
import re
import socket
import struct
import time

from harness import HOST, SLOW, Server, _listening, free_port, scaled

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; manifest-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
FRAME_MAX = 8191 + 512          # shared/frame.h: IRC_TAGS_MAX + IRC_LINE_MAX

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


# --- a natterd with a web listener ---

class Web:
    """natterd with --web-port on a free port (plain HTTP, 127.0.0.1)."""

    def __init__(self, f, *flags):
        self.f = f
        self.port = free_port()
        self.server = Server(f, "--web-port", self.port, *flags)
        deadline = time.monotonic() + scaled(10)
        while _listening(self.port) is False:
            assert self.server.alive(), self.server.log_text()[-2000:]
            assert time.monotonic() < deadline, "web port never listened"
            time.sleep(0.02)
        self.host = "%s:%d" % (HOST, self.port)

    def connect(self):
        s = socket.create_connection((HOST, self.port), timeout=scaled(5))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def request(self, raw):
        """Sends raw bytes on a fresh connection, returns the Response."""
        s = self.connect()
        try:
            s.sendall(raw)
            return read_response(s)
        finally:
            s.close()

    def get(self, path, *headers, method="GET"):
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + self.host]
        lines += list(headers)
        return self.request(("\r\n".join(lines) + "\r\n\r\n").encode())

    def pid(self):
        return self.server.proc.pid


class Response:
    def __init__(self, status, headers, body):
        self.status = status            # the status line, e.g. "HTTP/1.1 200 OK"
        self.headers = headers          # [(lowercase name, value)]
        self.body = body

    def header(self, name):
        """The value of the one header name, or None (two: an error)."""
        vals = [v for k, v in self.headers if k == name.lower()]
        assert len(vals) <= 1, "header %s %d times: %r" % (name, len(vals),
                                                          vals)
        return vals[0] if vals else None

    def __repr__(self):
        return "<%s %r %r>" % (self.status, self.headers, self.body[:200])


def read_head(s, buf=b""):
    """(head, rest): reads up to and including the blank line."""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            chunk = b""
        assert chunk, "connection closed before a full response head: %r" % buf
        buf += chunk
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def parse_head(head):
    lines = head[:-4].decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        assert sep, "header line without a colon: %r" % line
        headers.append((name.strip().lower(), value.strip()))
    return lines[0], headers


def read_response(s, head_only=False):
    """One HTTP response; the body up to Content-Length, else to EOF."""
    head, rest = read_head(s)
    status, headers = parse_head(head)
    r = Response(status, headers, b"")
    if head_only:
        return r
    n = r.header("content-length")
    body = rest
    while n is None or len(body) < int(n):
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        body += chunk
    r.body = body
    return r


def assert_refused(r, status):
    """A refusal: that exact status line, the body one line of text/plain,
    and the server's headers on it too."""
    assert r.status == status, r
    assert (r.header("content-type") or "").startswith("text/plain"), r
    assert r.body.count(b"\n") <= 1 and r.body.strip(), r
    assert r.header("content-security-policy") == CSP, r
    assert r.header("set-cookie") is None, r


# --- WebSocket, by hand ---

def ws_key(raw=None):
    return base64.b64encode(raw if raw is not None else os.urandom(16)).decode()


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def encode_frame(op, payload, mask=True, fin=True, rsv=0):
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    b0 = (0x80 if fin else 0) | rsv << 4 | op
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


class WebSocket:
    """A client WebSocket on a raw socket."""

    def __init__(self, web, protocols=("text.ircv3.net",), path="/irc",
                 extra=(), upgrade=True):
        self.web = web
        self.sock = web.connect()
        self.buf = b""
        self.response = None
        self.protocol = None
        if upgrade:
            self.upgrade(protocols, path, extra)

    def upgrade(self, protocols=("text.ircv3.net",), path="/irc", extra=()):
        key = ws_key()
        lines = ["GET %s HTTP/1.1" % path, "Host: " + self.web.host,
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        lines += list(extra)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head, self.buf = read_head(self.sock)
        status, headers = parse_head(head)
        self.response = r = Response(status, headers, b"")
        assert r.status == "HTTP/1.1 101 Switching Protocols", r
        assert r.header("sec-websocket-accept") == ws_accept(key), r
        assert (r.header("upgrade") or "").lower() == "websocket", r
        self.protocol = r.header("sec-websocket-protocol")
        return r

    def send_frame(self, op, payload, **kw):
        self.sock.sendall(encode_frame(op, payload, **kw))

    def send_text(self, line):
        self.send_frame(OP_TEXT, line)

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError("timed out waiting for a frame "
                                     "(have %r)" % self.buf[:200])
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def recv_frame(self, timeout=5):
        """(fin, opcode, payload), or None at end of file."""
        deadline = time.monotonic() + scaled(timeout)
        if not self._need(2, deadline):
            assert not self.buf, "end of file inside a frame: %r" % self.buf
            return None
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "the server masked a frame"
        assert not b0 & 0x70, "RSV bits set by the server"
        n, hl = b1 & 0x7f, 2
        if n == 126:
            hl = 4
            assert self._need(hl, deadline), "end of file in a frame header"
            n = struct.unpack("!H", self.buf[2:4])[0]
        elif n == 127:
            hl = 10
            assert self._need(hl, deadline), "end of file in a frame header"
            n = struct.unpack("!Q", self.buf[2:10])[0]
        assert self._need(hl + n, deadline), "end of file in a frame"
        payload = self.buf[hl:hl + n]
        self.buf = self.buf[hl + n:]
        return bool(b0 & 0x80), b0 & 0x0f, payload

    def messages(self, timeout=5):
        """Data frames until the close frame or end of file: yields
        (opcode, payload); answers nothing."""
        while True:
            fr = self.recv_frame(timeout)
            if fr is None or fr[1] == OP_CLOSE:
                self.last = fr
                return
            if fr[1] in (OP_PING, OP_PONG):
                continue
            assert fr[0], "the server fragmented a message: %r" % (fr,)
            yield fr[1], fr[2]

    def expect_line(self, pattern, timeout=5, op=OP_TEXT):
        """Reads messages until one fullmatches pattern (a regex string);
        each must be one line of opcode op, without CR or LF."""
        deadline = time.monotonic() + scaled(timeout)
        seen = []
        while True:
            left = max(0.05, deadline - time.monotonic()) / SLOW
            fr = self.recv_frame(left)
            assert fr is not None, "closed before %r; got %r" % (pattern, seen)
            fin, opcode, payload = fr
            if opcode == OP_PING:
                self.send_frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            assert opcode != OP_CLOSE, ("close %r before %r; got %r"
                                        % (payload, pattern, seen))
            assert fin and opcode == op, "frame %r (want opcode %d)" % (fr, op)
            assert b"\r" not in payload and b"\n" not in payload, payload
            line = payload.decode("utf-8")
            seen.append(line)
            if re.fullmatch(pattern, line):
                return line

    def expect_close(self, code, timeout=5):
        """Skips data frames up to the server's close frame; asserts its
        code, then that the server closes the TCP connection."""
        deadline = time.monotonic() + scaled(timeout)
        seen = []
        while True:
            left = max(0.05, deadline - time.monotonic()) / SLOW
            fr = self.recv_frame(left)
            assert fr is not None, ("end of file without a close frame "
                                    "(want %d); got %r" % (code, seen))
            if fr[1] == OP_CLOSE:
                break
            seen.append(fr)
        payload = fr[2]
        assert len(payload) >= 2, "close frame without a code: %r" % payload
        got = struct.unpack("!H", payload[:2])[0]
        assert got == code, ("close code %d (%r), want %d; before it %r"
                             % (got, payload[2:], code, seen[-5:]))
        payload[2:].decode("utf-8")     # the reason is valid UTF-8
        self.expect_eof(timeout)
        return payload[2:]

    def expect_eof(self, timeout=5):
        deadline = time.monotonic() + scaled(timeout)
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError("the server kept the connection open")
            except ConnectionResetError:
                return
            if not chunk:
                return

    def register(self, nick, op=OP_TEXT):
        self.send_frame(op, "NICK " + nick)
        self.send_frame(op, "USER %s 0 * :web user" % nick)
        return self.expect_line(r":irc\.test 001 %s .*" % nick, op=op)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def upgrade_request(web, key=None, version="13", extra=(), path="/irc"):
    lines = ["GET %s HTTP/1.1" % path, "Host: " + web.host,
             "Upgrade: websocket", "Connection: Upgrade"]
    if key is not None:
        lines.append("Sec-WebSocket-Key: " + key)
    if version is not None:
        lines.append("Sec-WebSocket-Version: " + version)
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as fp:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", fp.read(), re.M).group(1))


def still_serves(web, nick="later"):
    """A fresh client upgrades and registers: the server kept serving."""
    ws = WebSocket(web)
    try:
        ws.register(nick)
    finally:
        ws.close()


# --- the page ---

def test_web_bad_page_headers(f):
    w = Web(f)
    r = w.get("/")
    assert r.status == "HTTP/1.1 200 OK", r
    assert r.header("content-security-policy") == CSP, r
    assert r.header("x-content-type-options") == "nosniff", r
    assert r.header("referrer-policy") == "no-referrer", r
    assert r.header("cache-control") == "no-cache", r
    assert (r.header("connection") or "").lower() == "close", r
    assert r.header("set-cookie") is None, r
    assert (r.header("content-type") or "").startswith("text/html"), r
    assert b"<html" in r.body.lower() or b"<!doctype" in r.body.lower(), r
    # HEAD: the same head, no body.
    h = w.get("/", method="HEAD")
    assert h.status == "HTTP/1.1 200 OK", h
    assert h.header("content-security-policy") == CSP, h
    assert h.body == b"", h


def test_web_bad_unknown_path_404(f):
    w = Web(f)
    assert_refused(w.get("/nope"), "HTTP/1.1 404 Not Found")
    # An upgrade anywhere but /irc: 404 too.
    r = w.request(upgrade_request(w, ws_key(), path="/chat"))
    assert_refused(r, "HTTP/1.1 404 Not Found")


def test_web_bad_post_405(f):
    w = Web(f)
    assert_refused(w.get("/", method="POST"), "HTTP/1.1 405 Method Not Allowed")


# --- malformed requests ---

def test_web_bad_garbage_request_line_400(f):
    w = Web(f)
    assert_refused(w.request(b"GARBAGE\r\n\r\n"), "HTTP/1.1 400 Bad Request")


def test_web_bad_http_version_400(f):
    w = Web(f)
    assert_refused(w.request(b"GET / HTTP/9\r\n\r\n"),
                   "HTTP/1.1 400 Bad Request")


def test_web_bad_header_without_colon_400(f):
    w = Web(f)
    r = w.request(("GET / HTTP/1.1\r\nHost: %s\r\nNoColonHere\r\n\r\n"
                   % w.host).encode())
    assert_refused(r, "HTTP/1.1 400 Bad Request")


def test_web_bad_nul_in_header_400(f):
    w = Web(f)
    r = w.request(("GET / HTTP/1.1\r\nHost: %s\r\nX-A: a\0b\r\n\r\n"
                   % w.host).encode())
    assert_refused(r, "HTTP/1.1 400 Bad Request")


def test_web_bad_oversized_headers_431(f):
    w = Web(f)
    big = "X-Big: " + "a" * 9000
    r = w.request(("GET / HTTP/1.1\r\nHost: %s\r\n%s\r\n\r\n"
                   % (w.host, big)).encode())
    assert_refused(r, "HTTP/1.1 431 Request Header Fields Too Large")
    # Many small headers over 8192 bytes in all: the same.
    many = "".join("X-H%d: %s\r\n" % (i, "b" * 90) for i in range(100))
    r = w.request(("GET / HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (w.host, many))
                  .encode())
    assert_refused(r, "HTTP/1.1 431 Request Header Fields Too Large")


def test_web_bad_unfinished_request_408(f):
    w = Web(f, "--reg-timeout", "2")
    s = w.connect()
    s.settimeout(scaled(10))
    t0 = time.monotonic()
    s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nX-Half: " % w.host).encode())
    r = read_response(s)
    took = time.monotonic() - t0
    s.close()
    assert_refused(r, "HTTP/1.1 408 Request Timeout")
    assert 1.5 <= took <= scaled(6), "408 after %.2f s, want about 2 s" % took


def test_web_bad_request_with_body_400(f):
    w = Web(f)
    r = w.request(("GET / HTTP/1.1\r\nHost: %s\r\nContent-Length: 5\r\n"
                   "\r\nhello" % w.host).encode())
    assert_refused(r, "HTTP/1.1 400 Bad Request")


# --- the upgrade ---

def test_web_bad_upgrade_without_key_400(f):
    w = Web(f)
    assert_refused(w.request(upgrade_request(w, key=None)),
                   "HTTP/1.1 400 Bad Request")


def test_web_bad_upgrade_key_not_16_bytes_400(f):
    w = Web(f)
    # Base64 of 15 bytes, and a key that is not base64 at all.
    assert_refused(w.request(upgrade_request(w, ws_key(b"x" * 15))),
                   "HTTP/1.1 400 Bad Request")
    assert_refused(w.request(upgrade_request(w, "not*base64*at*all*here")),
                   "HTTP/1.1 400 Bad Request")


def test_web_bad_upgrade_version_8_426(f):
    w = Web(f)
    r = w.request(upgrade_request(w, ws_key(), version="8"))
    assert_refused(r, "HTTP/1.1 426 Upgrade Required")
    assert r.header("sec-websocket-version") == "13", r


def test_web_bad_origin_403(f):
    w = Web(f)
    r = w.request(upgrade_request(w, ws_key(),
                                  extra=["Origin: http://evil.test"]))
    assert_refused(r, "HTTP/1.1 403 Forbidden")
    # Same host and port as Host: allowed (the default policy).
    ws = WebSocket(w, extra=["Origin: http://" + w.host])
    ws.close()


def test_web_bad_origin_list(f):
    w = Web(f, "--web-origin", "http://a.test")
    ws = WebSocket(w, extra=["Origin: http://a.test"])
    ws.register("fromA")
    ws.close()
    for origin in ("http://b.test", "http://a.test:81", "https://a.test",
                   "http://" + w.host):
        r = w.request(upgrade_request(w, ws_key(),
                                      extra=["Origin: " + origin]))
        assert_refused(r, "HTTP/1.1 403 Forbidden")


# --- frames ---

def test_web_bad_message_over_limit_1009(f):
    w = Web(f)
    ws = WebSocket(w)
    ws.register("big")
    ws.send_text("PRIVMSG big :" + "a" * (FRAME_MAX + 1 - 13))
    ws.expect_close(1009)
    still_serves(w)


def test_web_bad_unmasked_frame_1002(f):
    w = Web(f)
    ws = WebSocket(w)
    ws.send_frame(OP_TEXT, "NICK unmasked", mask=False)
    ws.expect_close(1002)
    still_serves(w)


def test_web_bad_binary_on_text_1003(f):
    w = Web(f)
    ws = WebSocket(w)
    assert ws.protocol == "text.ircv3.net", ws.response
    ws.send_frame(OP_BINARY, "NICK bin")
    ws.expect_close(1003)
    still_serves(w)


def test_web_bad_binary_protocol_accepts_binary(f):
    w = Web(f)
    # The client's order of preference: binary first.
    ws = WebSocket(w, protocols=("binary.ircv3.net", "text.ircv3.net"))
    assert ws.protocol == "binary.ircv3.net", ws.response
    ws.register("binuser", op=OP_BINARY)
    ws.close()
    # text first: text.
    ws = WebSocket(w, protocols=("text.ircv3.net", "binary.ircv3.net"))
    assert ws.protocol == "text.ircv3.net", ws.response
    ws.close()
    # None offered: text frames, no Sec-WebSocket-Protocol header.
    ws = WebSocket(w, protocols=())
    assert ws.protocol is None, ws.response
    ws.register("plain")
    ws.close()


def test_web_bad_invalid_utf8_1007(f):
    w = Web(f)
    ws = WebSocket(w)
    ws.send_frame(OP_TEXT, b"NICK \xff\xfe")
    ws.expect_close(1007)
    still_serves(w)


def test_web_bad_line_break_inside_1007(f):
    w = Web(f)
    ws = WebSocket(w)
    ws.send_text("NICK two\r\nUSER two 0 * :two")
    ws.expect_close(1007)


def test_web_bad_ping_flood_bounded(f):
    """5000 pings in one write, nothing read: pings count against flood
    control, so natterd closes with 1008 (or at least answers a bounded
    number of them), and its memory does not grow with the flood."""
    w = Web(f)
    ws = WebSocket(w)
    ws.register("pinger")
    before = rss_kb(w.pid())
    sent = 5000
    ws.sock.settimeout(scaled(5))
    try:
        ws.sock.sendall(encode_frame(OP_PING, b"p" * 125) * sent)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass                            # closed (or stopped reading) early
    time.sleep(0.3)
    grew = rss_kb(w.pid()) - before
    assert w.server.alive()
    assert grew < 10 * 1024, "RSS grew %d kB under %d pings" % (grew, sent)
    # Now read: pongs, at most one for each ping, and a close 1008.
    pongs, code = 0, None
    while True:
        try:
            fr = ws.recv_frame(3)
        except AssertionError:          # quiet: the server is not closing
            break
        if fr is None:
            break
        if fr[1] == OP_PONG:
            assert fr[2] == b"p" * 125, fr
            pongs += 1
        elif fr[1] == OP_CLOSE:
            code = struct.unpack("!H", fr[2][:2])[0]
            break
    assert code in (None, 1008), ("close %s after a ping flood (%d pongs)"
                                  % (code, pongs))
    assert pongs < sent, "%d pongs for %d pings: no flood control" % (pongs,
                                                                      sent)
    ws.close()
    still_serves(w)


def test_web_bad_protocol_errors_1002(f):
    """wslay's other checks: RSV bits, an unknown opcode, a continuation
    with nothing to continue."""
    w = Web(f)
    for raw in (encode_frame(OP_TEXT, "NICK rsv", rsv=4),
                encode_frame(3, "NICK op3"),
                encode_frame(OP_CONT, "NICK cont")):
        ws = WebSocket(w)
        ws.sock.sendall(raw)
        ws.expect_close(1002)
    still_serves(w)


def test_web_bad_control_frame_errors_1002(f):
    """A fragmented control frame, and one over 125 bytes."""
    w = Web(f)
    for raw in (encode_frame(OP_PING, "frag", fin=False),
                encode_frame(OP_PING, b"p" * 126)):
        ws = WebSocket(w)
        ws.sock.sendall(raw)
        ws.expect_close(1002)
    still_serves(w)


def test_web_bad_fragmented_messages(f):
    """A message may come in fragments (a ping between them); the limit
    is on the whole message, not on one frame."""
    w = Web(f)
    ws = WebSocket(w)
    ws.send_frame(OP_TEXT, "NICK fr", fin=False)
    ws.send_frame(OP_PING, "between")
    ws.send_frame(OP_CONT, "ag")
    ws.send_text("USER frag 0 * :frag")
    ws.expect_line(r":irc\.test 001 frag .*")
    part = "a" * 3000
    ws.send_frame(OP_TEXT, "PRIVMSG frag :" + part, fin=False)
    ws.send_frame(OP_CONT, part, fin=False)
    ws.send_frame(OP_CONT, part)            # 9014 bytes in all
    ws.expect_close(1009)
    still_serves(w)


def test_web_bad_client_close_answered(f):
    """The client closes first: natterd answers with a close frame (the
    same code) and ends the connection."""
    w = Web(f)
    ws = WebSocket(w)
    ws.register("closer")
    ws.send_frame(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
    ws.expect_close(1000)
    still_serves(w)


# --- closes at odd times ---

def test_web_bad_close_during_handshake(f):
    w = Web(f)
    # Half an upgrade, then gone.
    s = w.connect()
    s.sendall(upgrade_request(w, ws_key())[:40])
    s.close()
    # Gone right after the 101.
    ws = WebSocket(w)
    ws.close()
    # Gone in the middle of a frame.
    ws = WebSocket(w)
    ws.sock.sendall(encode_frame(OP_TEXT, "NICK half")[:4])
    ws.close()
    still_serves(w)
    assert w.server.alive()


# --- a normal session ---

def test_web_bad_normal_session(f):
    w = Web(f)
    ws = WebSocket(w)
    # A trailing CR LF on a message is stripped.
    ws.send_text("NICK webby\r\n")
    ws.send_text("USER webby 0 * :web user")
    ws.expect_line(r":irc\.test 001 webby .*")
    ws.send_text("QUIT :bye")
    ws.expect_line(r"ERROR :Closing Link: .*")
    ws.expect_close(1000)


def test_web_bad_throttle_429_then_page_files_503(f):
    """--throttle N: a WebSocket counts against N when it asks to upgrade
    (429 with Retry-After past it); each connection to the web port
    counts against 10 x N at accept (503 past it), so a page load of
    five files does not use up a person's N."""
    w = Web(f, "--throttle", "2")
    first = [WebSocket(w), WebSocket(w)]
    r = w.request(upgrade_request(w, ws_key()))
    assert_refused(r, "HTTP/1.1 429 Too Many Requests")
    assert 0 < int(r.header("retry-after")) <= 60, r
    assert r.body.startswith(b"Too many new connections from your IP"), r
    for ws in first:
        ws.close()
    ok = 0
    for _ in range(30):
        r = w.get("/app.js")
        if r.status != "HTTP/1.1 200 OK":
            break
        ok += 1
    assert_refused(r, "HTTP/1.1 503 Service Unavailable")
    assert r.body.startswith(b"Too many new connections from your IP"), r
    # 20 a minute in all, less the three upgrades and the harness's
    # probes of the port.
    assert 10 <= ok <= 17, ok
