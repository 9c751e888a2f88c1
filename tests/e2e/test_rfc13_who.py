"""Issue 13, section 2: WHOX and bot mode.

WHOX (ircv3 extensions/whox.md, Modern IRC): "WHO <mask>
%<fields>[,<token>]" answers RPL_WHOSPCRPL (354) "<client> [token]
[channel] [user] [ip] [host] [server] [nick] [flags] [hopcount] [idle]
[account] [oplevel] [:realname]" with exactly the fields asked for, in
that order whatever the order asked, then RPL_ENDOFWHO (315); never 352.
Placeholders: "*" for no channel, 255.255.255.255 for an IP not
disclosed, "0" for no account.  ISUPPORT WHOX.  The token is at most
three digits; natterd answers "0" for 't' when there is none (as Ergo).
Unknown field letters are ignored.  WHOX keeps WHO's rules: +i users
are hidden from a mask unless a room is shared, a +s room from those
outside it, "o" keeps only operators.

Bot mode (ircv3 extensions/bot-mode.md): ISUPPORT BOT=B; a user sets
+B on itself; WHOIS adds 335 "<client> <nick> :<text>"; the WHO flags
carry B (after H/G, *, and the prefixes, as Ergo sends them); the
"bot" tag, without a value, goes on what a bot sends to those with
message-tags (PRIVMSG, NOTICE, TAGMSG, JOIN ...), and the history
keeps it for replay (as Ergo does).
"""

import re

from harness import NO_THROTTLE, Server, join, numeric, rx, slow
from test_caps import cap_user
from test_oper import OPER, become_oper
from weechat import Weechat, wait_for
from test_register import server as register_server, success

ANY = re.compile(".*")
ALL = "%tcuihsnfdlaor"


def end(nick, mask):
    return numeric("315", nick, "%s :End of WHO list" % mask)


# --- WHOX ---------------------------------------------------------------

def test_rfc13_whox_isupport_tokens(f):
    s = Server(f)
    c = s.client("alice")
    c.send("NICK alice")
    c.send("USER alice 0 * :alice")
    lines = c.expect_welcome()
    isupport = " ".join(l for l in lines if " 005 " in l).split()
    assert "WHOX" in isupport, lines
    assert "BOT=B" in isupport, lines
    myinfo = [l.split() for l in lines if " 004 " in l]
    assert myinfo and myinfo[0][5] == "Biorw", lines


def test_rfc13_whox_all_fields_in_shared_room(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob", realname="Bob Real")
    join(a, b, room="#r")
    line = r":irc\.test 354 alice 42 #r bob 127\.0\.0\.1 127\.0\.0\.1 " \
           r"irc\.test bob H 0 \d+ 0 0 :Bob Real"
    a.send("WHO bob %tcuihsnfdlaor,42")
    a.expect_exact_sequence([rx(line), end("alice", "bob")])
    # The order asked for changes nothing.
    a.send("WHO bob %roaldfnshiuct,42")
    a.expect_exact_sequence([rx(line), end("alice", "bob")])
    # On the room: each member, with the room's prefixes in the flags.
    a.send("WHO #r %cnf")
    a.expect_unordered([numeric("354", "alice", "#r alice H@"),
                        numeric("354", "alice", "#r bob H")])
    a.expect(end("alice", "#r"))
    a.no_line(rx(r".* 352 .*"), sync=True, wait=0)


def test_rfc13_whox_multi_prefix_away_oper_account_idle(f):
    s = Server(f, *OPER)
    a = cap_user(s, "alice", "multi-prefix")
    b = s.user("bob")
    join(a, b, room="#r")
    a.send("MODE #r +v alice")
    a.expect(":alice!alice@127.0.0.1 MODE #r +v alice")
    b.expect(":alice!alice@127.0.0.1 MODE #r +v alice")
    become_oper(b)
    b.send("AWAY :gone")
    b.expect(numeric("306", "bob", ":You have been marked as being away"))
    a.send("WHO #r %nfl")
    a.expect_unordered([rx(r":irc\.test 354 alice alice H@\+ \d+"),
                        rx(r":irc\.test 354 alice bob G\* \d+")])
    a.expect(end("alice", "#r"))


def test_rfc13_whox_account(f):
    s = register_server(f)
    a, b = s.user("alice"), s.user("bob")
    b.send("REGISTER bobsacct * password1")
    b.expect(success("bobsacct"))
    a.send("WHO bob %na")
    a.expect_exact_sequence([numeric("354", "alice", "bob bobsacct"),
                             end("alice", "bob")])
    a.send("WHO alice %na")
    a.expect_exact_sequence([numeric("354", "alice", "alice 0"),
                             end("alice", "alice")])


def test_rfc13_whox_ip_hidden_unless_shown(f):
    """'i': natterd shows the IP where it is the host anyway (here), so
    it is 127.0.0.1; 'c' outside a room query is a room the asker may
    see, '*' if none."""
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    a.send("WHO bob %cinf")
    a.expect_exact_sequence([numeric("354", "alice", "* 127.0.0.1 bob H"),
                             end("alice", "bob")])
    b.join("#pub")
    a.send("WHO bob %cnf")
    a.expect_exact_sequence([numeric("354", "alice", "#pub bob H@"),
                             end("alice", "bob")])
    # Without 'c' no room is named, so the flags carry no prefix.
    a.send("WHO bob %nf")
    a.expect_exact_sequence([numeric("354", "alice", "bob H"),
                             end("alice", "bob")])


def test_rfc13_whox_token(f):
    s = Server(f)
    a, _ = s.user("alice"), s.user("bob")
    a.send("WHO bob %tn,321")
    a.expect_exact_sequence([numeric("354", "alice", "321 bob"),
                             end("alice", "bob")])
    # No 't': no token, even when one is given.
    a.send("WHO bob %n,7")
    a.expect_exact_sequence([numeric("354", "alice", "bob"),
                             end("alice", "bob")])
    # Not one to three digits: no token, and 't' is "0".
    for bad in ("1234", "ab", "1 2", ""):
        a.send("WHO bob :%%tn,%s" % bad)
        a.expect_exact_sequence([numeric("354", "alice", "0 bob"),
                                 end("alice", "bob")])
    # Unknown letters are ignored; none known: the bare numeric.
    a.send("WHO bob %xnYz")
    a.expect_exact_sequence([numeric("354", "alice", "bob"),
                             end("alice", "bob")])
    a.send("WHO bob %")
    a.expect_exact_sequence([":irc.test 354 alice", end("alice", "bob")])


def test_rfc13_whox_mask_matching(f):
    s = Server(f)
    a = s.user("alice")
    s.user("bob")
    s.user("bert", realname="Bert B")
    s.user("carl")
    a.send("WHO b* %tn,1")
    a.expect_unordered([numeric("354", "alice", "1 bob"),
                        numeric("354", "alice", "1 bert")])
    a.expect(end("alice", "b*"))
    # The realname matches too, and "0" is "*".
    a.send("WHO Bert?B %n")
    a.expect_exact_sequence([numeric("354", "alice", "bert"),
                             end("alice", "Bert?B")])
    a.send("WHO 0 %n")
    a.expect_unordered([numeric("354", "alice", n)
                        for n in ("alice", "bob", "bert", "carl")])
    a.expect(end("alice", "0"))
    a.no_line(rx(r".* 354 .*"), sync=True, wait=0)


def test_rfc13_whox_invisible_user_hidden(f):
    s = Server(f)
    a, c = s.user("alice"), s.user("carol")
    c.send("MODE carol +i")
    c.expect(":carol MODE carol :+i")
    a.send("WHO car* %n")
    a.expect_exact_sequence([end("alice", "car*")])
    # Asked by nick, as WHOIS would.
    a.send("WHO carol %n")
    a.expect_exact_sequence([numeric("354", "alice", "carol"),
                             end("alice", "carol")])
    # Sharing a room shows it.
    join(a, c, room="#r")
    a.send("WHO car* %cn")
    a.expect_exact_sequence([numeric("354", "alice", "#r carol"),
                             end("alice", "car*")])


def test_rfc13_whox_secret_room_hidden_from_outsider(f):
    s = Server(f)
    a, b, o = s.user("alice"), s.user("bob"), s.user("out")
    join(a, b, room="#sec")
    a.send("MODE #sec +s")
    a.expect(":alice!alice@127.0.0.1 MODE #sec +s")
    b.expect(":alice!alice@127.0.0.1 MODE #sec +s")
    o.send("WHO #sec %cn")
    o.expect_exact_sequence([end("out", "#sec")])
    # Nor is the room given as bob's 'c' to the outsider.
    o.send("WHO bob %cn")
    o.expect_exact_sequence([numeric("354", "out", "* bob"),
                             end("out", "bob")])
    b.send("WHO #sec %cn")
    b.expect_unordered([numeric("354", "bob", "#sec alice"),
                        numeric("354", "bob", "#sec bob")])
    b.expect(end("bob", "#sec"))


def test_rfc13_whox_o_keeps_operators(f):
    s = Server(f, *OPER)
    a, b = s.user("alice"), s.user("bob")
    become_oper(b)
    a.send("WHO * o%nf")
    a.expect_exact_sequence([numeric("354", "alice", "bob H*"),
                             end("alice", "*")])


def test_rfc13_whox_listing_past_one_step(f):
    """WHO is made a hundred users a step as the socket drains: WHOX over
    more than one step gives every user once, then one 315."""
    s = Server(f, *NO_THROTTLE, "--max-per-ip", "0")
    a = s.user("alice")
    n = 130
    for i in range(n):
        s.user("u%03d" % i)
    a.send("WHO u* %tn,9")
    got = []
    while True:
        line = a.next_line()
        if " 315 " in line:
            assert line == end("alice", "u*"), line
            break
        got.append(line)
    assert sorted(got) == [numeric("354", "alice", "9 u%03d" % i)
                           for i in range(n)], got[:5]


# --- bot mode -----------------------------------------------------------

def test_rfc13_bot_mode_set_and_shown(f):
    s = Server(f)
    a, b = s.user("alice"), s.user("bob")
    join(b, a, room="#r")
    b.send("MODE bob +B")
    b.expect(":bob MODE bob :+B")
    b.send("MODE bob")
    b.expect(numeric("221", "bob", "+B"))
    a.send("WHO bob")
    a.expect_exact_sequence([
        numeric("352", "alice", "* bob 127.0.0.1 irc.test bob HB :0 bob"),
        end("alice", "bob")])
    a.send("WHO #r")
    a.expect_unordered([
        numeric("352", "alice", "#r bob 127.0.0.1 irc.test bob H@B :0 bob"),
        numeric("352", "alice", "#r alice 127.0.0.1 irc.test alice H :0 alice")])
    a.expect(end("alice", "#r"))
    a.send("WHO #r %nf")
    a.expect_unordered([numeric("354", "alice", "bob H@B"),
                        numeric("354", "alice", "alice H")])
    a.expect(end("alice", "#r"))
    a.send("WHOIS bob")
    lines = a.read_until(rx(r":irc\.test 318 .*"))
    assert numeric("335", "alice", "bob :is a bot") in lines, lines
    codes = [l.split()[1] for l in lines]
    assert codes.index("312") < codes.index("335") < codes.index("317"), lines
    # -B takes it all back.
    b.send("MODE bob -B")
    b.expect(":bob MODE bob :-B")
    b.send("MODE bob")
    b.expect(numeric("221", "bob", "+"))
    a.send("WHO bob %f")
    a.expect_exact_sequence([numeric("354", "alice", "H"),
                             end("alice", "bob")])
    a.send("WHOIS bob")
    lines = a.read_until(rx(r":irc\.test 318 .*"))
    assert not [l for l in lines if " 335 " in l], lines


def test_rfc13_bot_mode_only_for_oneself(f):
    s = Server(f)
    a, _ = s.user("alice"), s.user("bob")
    a.send("MODE bob +B")
    a.expect(numeric("502", "alice", ":Cant change mode for other users"))
    a.send("WHO bob %f")
    a.expect_exact_sequence([numeric("354", "alice", "H"),
                             end("alice", "bob")])


def test_rfc13_bot_tag_on_messages(f):
    s = Server(f)
    bot = cap_user(s, "bot", "message-tags")
    tagged = cap_user(s, "tagged", "message-tags")
    plain = s.user("plain")
    join(tagged, plain, room="#r")
    bot.send("MODE bot +B")
    bot.expect(":bot MODE bot :+B")
    src = "bot!bot@127.0.0.1"
    # JOIN too: the spec names every command a bot sends.
    bot.send("JOIN #r")
    tagged.expect("@bot :%s JOIN #r" % src)
    plain.expect(":%s JOIN #r" % src)
    bot.expect("@bot :%s JOIN #r" % src)     # its own, as it has the cap
    bot.read_until(numeric("366", "bot", "#r :End of /NAMES list"))
    for cmd in ("PRIVMSG", "NOTICE"):
        bot.send("%s #r :hi %s" % (cmd, cmd))
        tagged.expect(rx(r"@msgid=\S+;bot :%s %s #r :hi %s", src, cmd, cmd))
        plain.expect(":%s %s #r :hi %s" % (src, cmd, cmd))
    # To a person as well.
    bot.send("PRIVMSG tagged :psst")
    tagged.expect(rx(r"@msgid=\S+;bot :%s PRIVMSG tagged :psst", src))
    bot.send("PRIVMSG plain :psst")
    plain.expect(":%s PRIVMSG plain :psst" % src)
    bot.send("@+typing=active TAGMSG #r")
    tagged.expect(rx(r"@msgid=\S+;bot;\+typing=active :%s TAGMSG #r", src))
    plain.no_line(rx(r".*TAGMSG.*"), sync=True, wait=0)
    # -B: no tag any more.
    bot.send("MODE bot -B")
    bot.expect(":bot MODE bot :-B")
    bot.send("PRIVMSG #r :human now")
    tagged.expect(rx(r"@msgid=[^;\s]+ :%s PRIVMSG #r :human now", src))
    plain.expect(":%s PRIVMSG #r :human now" % src)


def test_rfc13_bot_tag_kept_in_history(f):
    s = Server(f)
    bot = s.user("bot")
    bot.join("#r")
    bot.send("MODE bot +B")
    bot.expect(":bot MODE bot :+B")
    bot.send("PRIVMSG #r :as a bot")
    bot.send("MODE bot -B")
    bot.expect(":bot MODE bot :-B")
    bot.send("PRIVMSG #r :as a person")
    bot.sync()
    c = cap_user(s, "carol", "message-tags")
    c.send("JOIN #r")
    c.expect(":carol!carol@127.0.0.1 JOIN #r")
    c.read_until(rx(r":irc\.test 366 carol #r .*"))
    c.expect_exact_sequence([
        ":irc.test NOTICE #r :--- Recent history of #r ---",
        rx(r"@msgid=\S+;bot :bot!bot@127\.0\.0\.1 PRIVMSG #r :as a bot"),
        rx(r"@msgid=[^;\s]+ :bot!bot@127\.0\.0\.1 PRIVMSG #r :as a person"),
        ":irc.test NOTICE #r :--- End of history (2 lines) ---"])
    p = s.user("plain")
    p.join("#r")
    p.expect_exact_sequence([
        ":irc.test NOTICE #r :--- Recent history of #r ---",
        ":bot!bot@127.0.0.1 PRIVMSG #r :as a bot",
        ":bot!bot@127.0.0.1 PRIVMSG #r :as a person",
        ":irc.test NOTICE #r :--- End of history (2 lines) ---"])


# --- WeeChat ------------------------------------------------------------

def _nick_info(i):
    """WeeChat /eval for the i-th nick of its first room's list."""
    base = "${irc_server[irc_servers].channels.nicks%s" % (".next_nick" * i)
    return " ".join(base + ".%s}" % v for v in
                    ("name", "away", "account", "host", "realname",
                     "prefixes"))


@slow
def test_rfc13_weechat_whox_on_join_and_bot(f):
    """WeeChat 3.8, on joining a room with away-notify or account-notify
    enabled and WHOX in ISUPPORT, sends "WHO #room %cuhsnfdar" and takes
    away state, user@host, account and realname of the members from the
    354 lines (a plain 352 has no account).  Its own view of them, read
    back through /eval, shows it parsed natterd's fields, B among the
    flags included.  It shows a +B user's messages, bot tag and all."""
    s = register_server(f)
    sock = s.user("sock", realname="Sock Real")
    sock.send("REGISTER sockacct * password1")
    sock.expect(success("sockacct"))
    sock.send("MODE sock +B")
    sock.expect(":sock MODE sock :+B")
    sock.join("#test")
    sock.send("AWAY :lunch")
    sock.expect(numeric("306", "sock", ":You have been marked as being away"))
    wee = Weechat(f, s.port, extra=(
        "/set irc.server_default.anti_flood_prio_high 0",
        "/set irc.server_default.anti_flood_prio_low 0"))
    try:
        sock.expect(rx(r":wee!wee@127\.0\.0\.1 JOIN #test"), timeout=20)
    except AssertionError:
        raise AssertionError("weechat never joined (exit status %s); its "
                             "log: %s" % (wee.proc.poll(), wee.tail()))
    want = ["sock", "1", "sockacct", "sock@127.0.0.1", "Sock Real", "@"]

    def parsed():
        # Ask again until the WHOX answer is in (WeeChat sends its WHO
        # after the MODE query that follows its JOIN).
        wee.command("eval /quote -server t PRIVMSG sock :%s | %s"
                    % (_nick_info(0), _nick_info(1)), buffer="")
        line = sock.expect(rx(r":wee!\S+ PRIVMSG sock :.*"), timeout=10)
        for half in line.split(" :", 1)[1].split(" | "):
            got = half.split(" ")
            if got[0] == "sock":
                # "Sock Real" is two words.
                got = got[:4] + [" ".join(got[4:-1]), got[-1]]
                return got if got == want else None
        return None
    wait_for(parsed, 15, "weechat's view of sock after its WHOX is %s"
             % want)
    # A +B user's message, with the bot tag (WeeChat has message-tags).
    sock.send("PRIVMSG #test :beep from a bot")
    wee.wait_log("irc.t.#test", lambda text: [
        l for l in text.splitlines() if l.endswith("\tbeep from a bot")],
        "the bot's line not")
    wee.check_alive()


def test_rfc13_bot_tag_with_time_and_account(f):
    """The bot tag sits with the others: time, msgid, account, bot, then
    the client tags; server-time or account-tag alone do not bring it."""
    s = register_server(f)
    bot = cap_user(s, "bot", "message-tags")
    bot.send("REGISTER botacct * password1")
    bot.expect(success("botacct"))
    bot.send("MODE bot +B")
    bot.expect(":bot MODE bot :+B")
    full = cap_user(s, "full", "message-tags", "server-time", "account-tag")
    bare = cap_user(s, "bare", "server-time", "account-tag")
    join(full, bare, room="#r")
    bot.send("JOIN #r")
    bot.expect("@bot :bot!bot@127.0.0.1 JOIN #r")
    bot.read_until(numeric("366", "bot", "#r :End of /NAMES list"))
    full.expect("@account=botacct;bot :bot!bot@127.0.0.1 JOIN #r")
    bare.expect("@account=botacct :bot!bot@127.0.0.1 JOIN #r")
    bot.send("@+draft/reply=x PRIVMSG #r :tagged")
    full.expect(rx(r"@time=\S+;msgid=\S+;account=botacct;bot;\+draft/reply=x "
                   r":bot!bot@127\.0\.0\.1 PRIVMSG #r :tagged"))
    bare.expect(rx(r"@time=[^;\s]+;account=botacct "
                   r":bot!bot@127\.0\.0\.1 PRIVMSG #r :tagged"))
