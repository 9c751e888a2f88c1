"""Hostile input, table-driven: 102 rows of bad or abusive input.

Each row of HOSTILE is sent by a client "evil" (registered and in #room
unless the row is about registration) to a server where two well-behaved
clients, watcher and talker, sit in #room the whole time.  A row states
the exact lines evil gets back, then either a PING/PONG round trip on the
same connection (so "no reply" is checked too) or EOF (a disconnect:
the ERROR line, then the end of the stream).  It also states the exact
lines watcher and talker see in #room, evil's departure included.  Around
each row talker sends numbered PRIVMSGs (before, during the big rows, and
after) that watcher must get, none lost and in order, and both answer a
PING afterwards.

The rows cover overlong lines, NUL, lone CR and bare LF, invalid UTF-8,
10,000 parameters, 200 parameters within 512 bytes, empty prefixes and
tags, a 1,000-byte nick, ":" alone, tags over 8191 bytes, unterminated
tag escapes, binary garbage, a real TLS ClientHello on the plain port,
half-closed sockets, 3,000 JOINs, a flood of 5,000 PRIVMSGs, and odd uses
of MODE, KICK, WHO, PASS, USER, NICK, QUIT, PING and PONG.  The server
also has a TLS port: a plain IRC line and an HTTP request sent to it,
and bad input over TLS, have rows too (test_tls.py and test_flood.py
cover handshakes and flood control, which is off here: the table sends
at full speed).

The replies to garbage and to the ClientHello (whose random fields change
every run) are worked out by natterd_replies(), which follows natterd's
per-line rules: 417 when too long, else 400 for a NUL, else FAIL
INVALID_UTF8, else 421 (451 before registration).
"""

import collections
import hashlib
import re
import socket
import ssl
import time

from harness import (FULL_SPEED, NO_THROTTLE, Server, join, numeric, rx,
                     scaled, timeout)

EVIL = "evil!evil@127.0.0.1"
BYE = ":%s QUIT :Quit: bye" % EVIL
TOO_LONG = numeric("417", "evil", ":Input line was too long")
NUL = numeric("400", "evil", "* :Line contains a NUL byte")
FAIL_UTF8 = (":irc.test FAIL %s INVALID_UTF8 :Message rejected, your IRC "
             "software must use UTF-8 on this network")
NOT_OP = numeric("482", "evil", "#room :You're not channel operator")
NOT_OPER = numeric("481", "evil",
                   ":Permission Denied- You're not an IRC operator")
CLOSED = "ERROR :Closing Link: 127.0.0.1 (%s)"


def joined(room, nick="evil"):
    """What a lone joiner of a new room gets."""
    return [":%s!%s@127.0.0.1 JOIN %s" % (nick, nick, room),
            numeric("353", nick, "= %s :@%s" % (room, nick)),
            numeric("366", nick, "%s :End of /NAMES list" % room)]


def said(text, target="#room"):
    return ":%s PRIVMSG %s :%s" % (EVIL, target, text)


# --- natterd's rules for one line, for input whose lines we cannot
# list by hand (random garbage, a TLS ClientHello) ---

class Unmodelled(Exception):
    """The input has a line natterd_replies does not predict."""


PREREG = {"NICK", "USER", "PASS", "CAP", "QUIT", "PING", "PONG"}
KNOWN = PREREG | {
    "PRIVMSG", "NOTICE", "JOIN", "PART", "MODE", "WHO", "NAMES", "TOPIC",
    "WHOIS", "WHOWAS", "KICK", "INVITE", "LIST", "AWAY", "ISON", "USERHOST",
    "LUSERS", "MOTD", "VERSION", "TIME", "ADMIN", "INFO", "OPER", "KILL",
    "WALLOPS", "REHASH", "DIE", "TAGMSG", "CHATHISTORY", "SETNAME"}


def _too_long(line):
    if not line.startswith(b"@"):
        return len(line) > 510
    sp = line.find(b" ")
    if sp < 0:
        return len(line) > 8191
    return sp + 1 > 8191 or len(line) - sp - 1 > 510


def _tags_too_long(line):
    """More than 4094 bytes of tag data in a line the framer took: up to
    the space that ends the tag part, or the whole line after the '@'
    when it is tags alone."""
    p = line.lstrip(b" ")
    if not p.startswith(b"@"):
        return False
    sp = p.find(b" ")
    return (sp if sp >= 0 else len(p)) - 1 > 4094


def _command(line):
    """The command natterd parses out of line (uppercased), or None."""
    p = line.lstrip(b" ")
    for mark in (b"@", b":"):
        if p.startswith(mark):
            sp = p.find(b" ")
            if sp < 0:
                return None
            p = p[sp:].lstrip(b" ")
    if not p:
        return None
    cmd = p.split(b" ", 1)[0]
    return bytes(c - 32 if 97 <= c <= 122 else c for c in cmd)


def natterd_replies(data, nick):
    """The lines natterd sends nick (or "*", unregistered) for data, line
    by line: CR and LF end lines, empty lines are skipped."""
    out = []
    for line in re.split(rb"[\r\n]", data):
        if not line:
            continue
        if _too_long(line):
            out.append(numeric("417", nick, ":Input line was too long"))
            continue
        if b"\0" in line:
            out.append(numeric("400", nick, "* :Line contains a NUL byte"))
            continue
        if _tags_too_long(line):
            out.append(numeric("417", nick, ":Input line was too long"))
            continue
        cmd = _command(line)
        if cmd is None:
            continue
        name = cmd.decode("utf-8", "replace")
        if name in KNOWN:
            raise Unmodelled(line)
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            # natterd never echoes bad bytes: a garbled command is "*".
            shown = cmd.upper() if re.fullmatch(rb"[A-Za-z0-9]+", cmd) \
                else b"*"
            out.append((b":irc.test FAIL " + shown + b" INVALID_UTF8 "
                        b":Message rejected, your IRC software must use "
                        b"UTF-8 on this network").decode("utf-8"))
            continue
        if nick == "*":
            out.append(numeric("451", "*", ":You have not registered"))
        else:
            out.append(numeric("421", nick, "%s :Unknown command" % name))
    return out


def garbage(seed, n):
    """n reproducible pseudo-random bytes (CR, LF and NUL included)."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%s:%d" % (seed, i)).digest()
        i += 1
    return out[:n]


def client_hello():
    """The first flight of a real TLS client (python's ssl on a memory
    BIO): a ClientHello record, fresh random fields every time."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="irc.test")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    assert hello[:1] == b"\x16", hello[:8]      # a handshake record
    return hello


def hello_case():
    """The ClientHello row: its bytes and what natterd answers them."""
    for _ in range(20):
        # The record ends mid-line: our CRLF ends that line, as a TLS
        # client's silence would leave it pending.
        data = client_hello() + b"\r\n"
        try:
            return data, natterd_replies(data, "*")
        except Unmodelled:
            continue
    raise AssertionError("no ClientHello natterd_replies can model")


# --- the table ---

Case = collections.namedtuple(
    "Case", "name data reply room gone register closes half_close "
            "pieces max_seconds via")


def case(name, data, reply=(), room=(), gone=None, register=True,
         closes=False, half_close=False, pieces=1, max_seconds=None,
         via="plain"):
    """One row.  reply: the lines evil gets (before the PONG, or before
    EOF when closes).  room: what watcher and talker see from evil while
    the row runs; gone: how evil's leaving shows in #room (default: the
    QUIT of the "QUIT :bye" that ends a row evil survives).  pieces: data
    is sent in that many writes, talker speaking after each.  via: how
    evil connects: "plain", "tls" (to the TLS port, over TLS) or
    "plain-to-tls" (plain text to the TLS port)."""
    if gone is None:
        gone = [BYE] if register and not closes and not half_close else []
    return Case(name, data, list(reply), list(room), list(gone), register,
                closes or half_close, half_close, pieces, max_seconds, via)


def _letters(n):
    """n one-letter params: "a b c ... z a b ..."."""
    return b" ".join(bytes([97 + i % 26]) for i in range(n))


def build_table():
    rows = []
    add = rows.append
    big = b" ".join(b"p%d" % i for i in range(10000))

    # --- framing and line length ---
    add(case("overlong line (600 bytes)",
             b"PRIVMSG #room :" + b"x" * 587 + b"\r\n", [TOO_LONG]))
    add(case("line of exactly 512 bytes is fine",
             b"PRIVMSG #room :" + b"x" * 495 + b"\r\n",
             room=[said("x" * 495)]))
    add(case("513 bytes is one too many",
             b"PRIVMSG #room :" + b"x" * 496 + b"\r\n", [TOO_LONG]))
    add(case("overlong line in 20 writes",
             b"PRIVMSG #room :" + b"w" * 20000 + b"\r\n", [TOO_LONG],
             pieces=20))
    add(case("10,000 params (58 KB line)", b"JOIN " + big + b"\r\n",
             [TOO_LONG]))
    add(case("200 params within 512 bytes: the text is the 2nd",
             b"PRIVMSG #room " + _letters(200) + b"\r\n", room=[said("a")]))
    add(case("15th param takes the rest of the line (ISON)",
             b"ISON " + b" ".join(b"n%d" % i for i in range(20))
             + b" watcher\r\n", [numeric("303", "evil", ":watcher")]))
    add(case("JOIN with 200 params uses the first two",
             b"JOIN #many " + _letters(199) + b"\r\n", joined("#many")))
    add(case("NUL inside a line", b"PRIVMSG #room :a\x00b\r\n", [NUL]))
    add(case("NUL alone", b"\x00\r\n", [NUL]))
    add(case("lone CR ends a line", b"PING a\rPING b\r",
             [":irc.test PONG irc.test :a", ":irc.test PONG irc.test :b"]))
    add(case("bare LF ends a line", b"PING a\nPING b\n",
             [":irc.test PONG irc.test :a", ":irc.test PONG irc.test :b"]))
    add(case("CR inside a PING splits it", b"PING x\ry\r\n",
             [":irc.test PONG irc.test :x",
              numeric("421", "evil", "Y :Unknown command")]))
    add(case("empty lines only", b"\r\n\r\n\n\n\r\r\r\n"))
    add(case("spaces only", b"   \r\n"))
    add(case("leading and trailing spaces", b"   PING   spaced  \r\n",
             [":irc.test PONG irc.test :spaced"]))

    # --- UTF-8 ---
    add(case("invalid UTF-8 in a message", b"PRIVMSG #room :bad \xff\xfe\r\n",
             [FAIL_UTF8 % "PRIVMSG"]))
    add(case("truncated UTF-8 sequence", b"PRIVMSG #room :cut \xe2\x82\r\n",
             [FAIL_UTF8 % "PRIVMSG"]))
    add(case("overlong UTF-8 encoding of '/'", b"PRIVMSG #room :\xc0\xaf\r\n",
             [FAIL_UTF8 % "PRIVMSG"]))
    add(case("UTF-8 encoded surrogate", b"PRIVMSG #room :\xed\xa0\x80\r\n",
             [FAIL_UTF8 % "PRIVMSG"]))
    add(case("code point above U+10FFFF",
             b"PRIVMSG #room :\xf4\x90\x80\x80\r\n", [FAIL_UTF8 % "PRIVMSG"]))
    add(case("invalid UTF-8 in a NOTICE still gets FAIL",
             b"NOTICE #room :\xff\r\n", [FAIL_UTF8 % "NOTICE"]))
    add(case("0xFF bytes in a channel name", b"JOIN #\xff\xfe\r\n",
             [FAIL_UTF8 % "JOIN"]))
    # natterd never echoes the bad bytes back: the command shows as *.
    add(case("invalid UTF-8 as the command", b"\xff\xfe\xfd\r\n",
             [FAIL_UTF8 % "*"]))
    add(case("invalid UTF-8 nick", b"NICK \xff\xfe\r\n",
             [numeric("432", "evil", "* :Erroneous nickname")]))
    add(case("invalid UTF-8 QUIT reason is not relayed", b"QUIT :\xff\r\n",
             [CLOSED % "Quit"], room=[":%s QUIT :Quit" % EVIL], closes=True))
    add(case("CTCP ACTION is allowed", b"PRIVMSG #room :\x01ACTION waves\x01\r\n",
             room=[said("\x01ACTION waves\x01")]))
    add(case("control characters as a command", b"\x01\x02\x03\r\n",
             [numeric("421", "evil", "\x01\x02\x03 :Unknown command")]))

    # --- prefixes and tags ---
    add(case("':' alone", b":\r\n"))
    add(case("':prefix' alone", b":prefix\r\n"))
    add(case("'@' alone", b"@\r\n"))
    add(case("'@tags' alone", b"@a=b;c\r\n"))
    add(case("empty prefix", b": PING x\r\n", [":irc.test PONG irc.test :x"]))
    add(case("empty tags", b"@ PING y\r\n", [":irc.test PONG irc.test :y"]))
    add(case("spoofed prefix is ignored",
             b":watcher!watcher@127.0.0.1 PRIVMSG #room :spoof\r\n",
             room=[said("spoof")]))
    add(case("unterminated tag escape",
             b"@+a=b\\ PRIVMSG #room :escaped\r\n", room=[said("escaped")]))
    add(case("tag value of one backslash, no command", b"@a=\\\r\n"))
    # message-tags: a client's tag data is at most 4094 bytes; more is
    # refused with 417, never cut.
    add(case("tag data of exactly 4094 bytes",
             b"@k=" + b"v" * 4092 + b" PING t\r\n",
             [":irc.test PONG irc.test :t"]))
    add(case("tag data of 4095 bytes", b"@k=" + b"v" * 4093 + b" PING t\r\n",
             [TOO_LONG]))
    add(case("tag data of 4095 bytes, no command", b"@k=" + b"v" * 4093
             + b"\r\n", [TOO_LONG]))
    add(case("tags of 8192 bytes", b"@k=" + b"v" * 8188 + b" PING t\r\n",
             [TOO_LONG]))
    add(case("tags of 20 KB", b"@k=" + b"v" * 20000 + b" PING t\r\n",
             [TOO_LONG]))
    add(case("600 tags within the limit",
             b"@" + b";".join(b"a%d=1" % i for i in range(600))
             + b" PING many\r\n", [":irc.test PONG irc.test :many"]))
    add(case("1,000 tags over the client limit",
             b"@" + b";".join(b"a%d=1" % i for i in range(1000))
             + b" PING many\r\n", [TOO_LONG]))
    add(case("1,500 tags over the limit",
             b"@" + b";".join(b"a%d=1" % i for i in range(1500))
             + b" PING many\r\n", [TOO_LONG]))

    # --- binary input ---
    junk = garbage(b"natter", 4000) + b"\r\n"
    add(case("binary garbage (fixed seed)", junk,
             natterd_replies(junk, "evil")))
    data, reply = hello_case()
    add(case("TLS ClientHello on the plain port", data, reply,
             register=False))

    # --- registration ---
    add(case("1,000-byte nick before registration",
             b"NICK " + b"n" * 1000 + b"\r\n",
             [numeric("417", "*", ":Input line was too long")],
             register=False))
    add(case("40-byte nick before registration",
             b"NICK " + b"n" * 40 + b"\r\n",
             [numeric("432", "*", "%s :Erroneous nickname" % ("n" * 40))],
             register=False))
    add(case("':' alone before registration", b":\r\n", register=False))
    add(case("PRIVMSG before registration", b"PRIVMSG #room :early\r\n",
             [numeric("451", "*", ":You have not registered")],
             register=False))
    add(case("USER with 3 params", b"USER a 0 *\r\n",
             [numeric("461", "*", "USER :Not enough parameters")],
             register=False))
    add(case("1,000-byte nick", b"NICK " + b"n" * 1000 + b"\r\n", [TOO_LONG]))
    add(case("40-byte nick", b"NICK " + b"n" * 40 + b"\r\n",
             [numeric("432", "evil", "%s :Erroneous nickname" % ("n" * 40))]))
    add(case("nick starting with a digit", b"NICK 1abc\r\n",
             [numeric("432", "evil", "1abc :Erroneous nickname")]))
    add(case("nick that looks like a channel", b"NICK #chan\r\n",
             [numeric("432", "evil", "#chan :Erroneous nickname")]))
    add(case("empty nick", b"NICK :\r\n",
             [numeric("431", "evil", ":No nickname given")]))
    add(case("NICK to the same nick", b"NICK evil\r\n"))
    add(case("NICK to another client's nick in other case",
             b"NICK WATCHER\r\n",
             [numeric("433", "evil", "WATCHER :Nickname is already in use")]))
    add(case("NICK that only changes case", b"NICK EVIL\r\n",
             [":%s NICK EVIL" % EVIL], room=[":%s NICK EVIL" % EVIL],
             gone=[":EVIL!evil@127.0.0.1 QUIT :Quit: bye"]))
    add(case("PASS after registration", b"PASS secret\r\n",
             [numeric("462", "evil", ":You may not reregister")]))
    add(case("USER twice", b"USER a 0 * :again\r\n",
             [numeric("462", "evil", ":You may not reregister")]))

    # --- commands with odd arguments ---
    add(case("unknown command", b"FOO bar\r\n",
             [numeric("421", "evil", "FOO :Unknown command")]))
    add(case("numeric as a command", b"001 x\r\n",
             [numeric("421", "evil", "001 :Unknown command")]))
    add(case("PING with no param", b"PING\r\n",
             [numeric("409", "evil", ":No origin specified")]))
    add(case("PING with an empty trailing param", b"PING :\r\n",
             [numeric("409", "evil", ":No origin specified")]))
    add(case("PONG with garbage", b"PONG :garbage \x01\x02 x y z\r\n"))
    add(case("PRIVMSG with no params", b"PRIVMSG\r\n",
             [numeric("411", "evil", ":No recipient given (PRIVMSG)")]))
    add(case("five targets, the same room", b"PRIVMSG "
             + b",".join([b"#room"] * 5) + b" :five\r\n",
             [numeric("407", "evil", "#room :Too many targets, the limit is 4")],
             room=[said("five")]))
    add(case("JOIN list with empty and odd names",
             b"JOIN #a1,,#,#a\x07b,nohash,#" + b"x" * 60 + b"\r\n",
             joined("#a1") + joined("#") + [
                 numeric("476", "evil", "#a\x07b :Bad Channel Mask"),
                 numeric("476", "evil", "nohash :Bad Channel Mask"),
                 numeric("476", "evil", "#%s :Bad Channel Mask" % ("x" * 60))]))
    add(case("JOIN 0 leaves every room", b"JOIN 0\r\n",
             [":%s PART #room" % EVIL], room=[":%s PART #room" % EVIL],
             gone=[]))
    add(case("3,000 JOINs: 405 after the 50th room",
             b"".join(b"JOIN #j%d\r\n" % i for i in range(3000)),
             [line for i in range(49) for line in joined("#j%d" % i)] + [
                 numeric("405", "evil",
                         "#j%d :You have joined too many channels" % i)
                 for i in range(49, 3000)]))
    add(case("PART the same room three times", b"PART #room,#room,#room\r\n",
             [":%s PART #room" % EVIL] +
             [numeric("442", "evil", "#room :You're not on that channel")] * 2,
             room=[":%s PART #room" % EVIL], gone=[]))
    add(case("MODE with 100 letters, not an op",
             b"MODE #room +" + b"i" * 100 + b"\r\n", [NOT_OP]))
    add(case("MODE with 100 i in an own room",
             b"JOIN #own\r\nMODE #own +" + b"i" * 100 + b"\r\n",
             joined("#own") + [":%s MODE #own +i" % EVIL]))
    add(case("MODE with 100 o and no nicks",
             b"JOIN #own\r\nMODE #own +" + b"o" * 100 + b"\r\n",
             joined("#own") + [numeric("696", "evil",
                                       "#own o * :You must specify a nick")]))
    add(case("MODE with 100 unknown letters",
             b"JOIN #own\r\nMODE #own +" + b"z" * 100 + b"\r\n",
             joined("#own") + [numeric("472", "evil",
                                       "z :is unknown mode char to me")]))
    add(case("MODE with 50 +k+l pairs",
             b"JOIN #own\r\nMODE #own +" + b"kl" * 50 + b" a 1 b 2\r\n",
             joined("#own") + [
                 numeric("467", "evil", "#own :Channel key already set"),
                 numeric("696", "evil", "#own k * :You must specify a key"),
                 numeric("696", "evil", "#own l * :You must specify a limit"),
                 ":%s MODE #own +kll a 1 2" % EVIL]))
    add(case("MODE with 100 signs and no letters",
             b"JOIN #own\r\nMODE #own " + b"+-" * 50 + b"\r\n",
             joined("#own")))
    add(case("user MODE with 100 unknown letters",
             b"MODE evil +" + b"Z" * 100 + b"\r\n",
             [numeric("501", "evil", ":Unknown MODE flag")]))
    add(case("KICK with 499 empty targets", b"KICK #room " + b"," * 498
             + b"\r\n"))
    add(case("KICK with 250 targets, not an op",
             b"KICK #room " + b",".join([b"a"] * 250) + b"\r\n", [NOT_OP]))
    # TARGMAX says KICK:4: four are tried, the fifth gets 407.
    add(case("KICK with 250 targets in an own room",
             b"JOIN #own\r\nKICK #own " + b",".join([b"a"] * 250) + b"\r\n",
             joined("#own") + [numeric("401", "evil",
                                       "a :No such nick/channel")] * 4
             + [numeric("407", "evil", "a :Too many targets, the limit "
                                       "is 4")]))
    add(case("PRIVMSG to one room named three ways",
             b"PRIVMSG #room,#ROOM,#room :once\r\n", room=[said("once")]))

    add(case("WHO with a backtracking mask",
             b"WHO " + b"*a" * 200 + b"*b\r\n",
             [numeric("315", "evil", "%s*b :End of WHO list" % ("*a" * 200))],
             max_seconds=1))
    add(case("WHO with a mask of '*?' pairs",
             b"WHO " + b"*?" * 200 + b"x\r\n",
             [numeric("315", "evil", "%sx :End of WHO list" % ("*?" * 200))],
             max_seconds=1))
    add(case("KILL by a non-oper", b"KILL watcher :bye\r\n", [NOT_OPER]))
    add(case("DIE by a non-oper", b"DIE\r\n", [NOT_OPER]))
    add(case("CHATHISTORY with a huge limit",
             b"CHATHISTORY LATEST #nowhere * 99999999999999999999\r\n",
             [":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST #nowhere "
              ":Messages could not be retrieved"]))

    # --- leaving ---
    # Cut at 300 bytes, so the relayed QUIT stays within 512.
    add(case("QUIT with a 480-byte reason", b"QUIT :" + b"q" * 480 + b"\r\n",
             [CLOSED % ("Quit: " + "q" * 300)],
             room=[":%s QUIT :Quit: %s" % (EVIL, "q" * 300)], closes=True))
    add(case("half-closed after a message",
             b"PRIVMSG #room :last words\r\n",
             [CLOSED % "Connection closed"],
             room=[said("last words"), ":%s QUIT :Connection closed" % EVIL],
             half_close=True))
    add(case("half-closed mid-line: the partial line is dropped",
             b"PRIVMSG #room :cut off", [CLOSED % "Connection closed"],
             room=[":%s QUIT :Connection closed" % EVIL], half_close=True))
    add(case("half-closed after a PING: answered, then closed",
             b"PING :x\r\n", [":irc.test PONG irc.test :x",
                              CLOSED % "Connection closed"],
             room=[":%s QUIT :Connection closed" % EVIL], half_close=True))
    add(case("half-closed before registration",
             b"NICK x\r\nPING :y\r\n",
             [":irc.test PONG irc.test :y", CLOSED % "Connection closed"],
             register=False, half_close=True))

    # --- the TLS port ---
    misdialed = rx(r"ERROR :Closing Link: 127\.0\.0\.1 \(This port speaks "
                   r"TLS only; use TLS, or the plain port \d+\)")
    add(case("plain IRC line on the TLS port",
             b"NICK evil\r\nUSER evil 0 * :e\r\n", [misdialed],
             register=False, closes=True, via="plain-to-tls"))
    add(case("HTTP request on the TLS port",
             b"GET / HTTP/1.1\r\nHost: irc.test\r\n\r\n", [misdialed],
             register=False, closes=True, via="plain-to-tls"))
    add(case("TLS: overlong line", b"PRIVMSG #room :" + b"t" * 600 + b"\r\n",
             [TOO_LONG], via="tls"))
    add(case("TLS: invalid UTF-8", b"PRIVMSG #room :\xff\xfe\r\n",
             [FAIL_UTF8 % "PRIVMSG"], via="tls"))
    add(case("TLS: NUL inside a line", b"PRIVMSG #room :a\x00b\r\n", [NUL],
             via="tls"))
    add(case("TLS: 600 JOINs and PARTs in one write",
             b"".join(b"JOIN #t%d\r\nPART #t%d\r\n" % (i, i)
                      for i in range(300)),
             [l for i in range(300) for l in joined("#t%d" % i) +
              [":%s PART #t%d" % (EVIL, i)]], via="tls"))
    add(case("TLS: a message reaches the plain-text room",
             b"PRIVMSG #room :sealed\r\n", room=[said("sealed")], via="tls"))

    # --- flood ---
    # natterd has no flood control yet: all 5,000 go through, in order.
    add(case("flood of 5,000 PRIVMSGs",
             b"".join(b"PRIVMSG #room :flood %d\r\n" % i for i in range(5000)),
             room=[said("flood %d" % i) for i in range(5000)], pieces=10))
    return rows


HOSTILE = build_table()


# --- the runner ---

def _check_seq(who, got, want):
    """got must match want line for line."""
    for i, (line, pat) in enumerate(zip(got, want)):
        ok = pat.fullmatch(line) if isinstance(pat, re.Pattern) else line == pat
        if not ok:
            raise AssertionError("%s: line %d: expected %r, got %r"
                                 % (who, i + 1, pat, line))
    if len(got) != len(want):
        extra = got[len(want):] or want[len(got):]
        raise AssertionError("%s: %d lines, expected %d (difference starts "
                             "%r)" % (who, len(got), len(want), extra[:3]))


def _not_talker(lines):
    """evil is in #room too: talker's lines are checked on watcher."""
    return [l for l in lines if not l.startswith(":talker!")]


def _split(data, pieces):
    step = -(-len(data) // pieces)
    return [data[i:i + step] for i in range(0, len(data), step)]


def run_row(s, watcher, talker, n, row):
    limit = 10 + len(row.reply) / 200 + len(row.room) / 200
    talker_said = []

    def talk(what):
        line = "[%d] %s" % (n, what)
        talker.send("PRIVMSG #room :" + line)
        talker_said.append(":talker!talker@127.0.0.1 PRIVMSG #room :" + line)

    if row.via == "tls":
        evil = s.client("evil", port=s.tls_port, tls=True)
    elif row.via == "plain-to-tls":
        evil = s.client("evil", port=s.tls_port)
    else:
        evil = s.client("evil")
    if row.register:
        evil.register("evil")
        evil.join("#room")
        for c in (watcher, talker):
            c.expect_exact_sequence([":%s JOIN #room" % EVIL])
    talk("before")
    start = time.monotonic()
    for i, piece in enumerate(_split(row.data, row.pieces)):
        evil.send_raw(piece)
        if row.pieces > 1:
            talk("during %d" % i)
    if row.half_close:
        evil.sock.shutdown(socket.SHUT_WR)
    if row.closes:
        got = evil.expect_closed(timeout=limit)
        _check_seq("evil", _not_talker(got), row.reply)
    else:
        evil.send_raw(b"PING :row-%d\r\n" % n)
        pong = ":irc.test PONG irc.test :row-%d" % n
        got = evil.read_until(pong, timeout=limit)
        _check_seq("evil", _not_talker(got[:-1]), row.reply)
    took = time.monotonic() - start
    if row.max_seconds is not None and took > scaled(row.max_seconds):
        raise AssertionError("took %.2fs" % took)
    if not row.closes:
        evil.send("QUIT :bye")
        got = evil.expect_closed()
        _check_seq("evil after QUIT", _not_talker(got),
                   [CLOSED % "Quit: bye"])
    evil.close()
    # talker sees evil's lines, not its own.
    if row.room or row.gone:
        talker.expect_exact_sequence(row.room + row.gone, timeout=limit)
    talk("after")
    talker.sync()
    leftover = talker.drain()
    if leftover:
        raise AssertionError("talker: unexpected %r" % leftover[:3])
    # watcher: every line up to talker's last, split by sender.
    got = watcher.read_until(talker_said[-1], timeout=limit)
    mine = [l for l in got if l.startswith(":talker!")]
    others = [l for l in got if not l.startswith(":talker!")]
    _check_seq("watcher (talker's lines)", mine, talker_said)
    _check_seq("watcher (the rest)", others, row.room + row.gone)
    watcher.sync()


def run_table(f, rows):
    s = Server(f, "--db", ":memory:", "--history-lines", "0",
               "--sendq", "4194304", *FULL_SPEED,
               *NO_THROTTLE, tls=True)
    watcher, talker = s.user("watcher"), s.user("talker")
    join(watcher, talker, room="#room")
    failures = []
    for n, row in enumerate(rows, 1):
        try:
            run_row(s, watcher, talker, n, row)
        except AssertionError as e:
            failures.append("row %d (%s): %s" % (n, row.name, e))
            if not s.alive():
                failures.append("natterd died (status %s)" % s.wait(1))
                break
            # Resynchronise: drop evil, then read past a marker.
            for c in f.clients[2:]:
                c.close()
            del f.clients[2:]
            time.sleep(scaled(0.2))
            talker.send("PRIVMSG #room :resync %d" % n)
            try:
                watcher.expect(":talker!talker@127.0.0.1 PRIVMSG #room "
                               ":resync %d" % n)
                talker.sync()
                talker.drain()
            except AssertionError as e2:
                failures.append("resync failed: %s" % e2)
                break
    assert s.alive(), "natterd died"
    if failures:
        raise AssertionError("%d of %d rows failed:\n  %s"
                             % (len(failures), len(rows),
                                "\n  ".join(failures)))


def test_table_size(f):
    assert len(HOSTILE) >= 40, len(HOSTILE)
    names = [row.name for row in HOSTILE]
    assert len(set(names)) == len(names), "duplicate row names"
    assert "%d rows" % len(HOSTILE) in __doc__, \
        "the docstring should say %d rows" % len(HOSTILE)


@timeout(60)
def test_hostile_rows_first_half(f):
    run_table(f, HOSTILE[:len(HOSTILE) // 2])


@timeout(60)
def test_hostile_rows_second_half(f):
    run_table(f, HOSTILE[len(HOSTILE) // 2:])
