/*
 * test_handle.c: server lines applied to the model (tui/handle.c): each
 * message kind into its window, highlights and the bell, registration
 * (001 auto-join, 433 retry), PING, nick lists from 353/366 and MODE,
 * the mentions() and nick_colour() helpers, and IRCv3: CAP negotiation,
 * server-time, chathistory batches (history lines, divider, order,
 * msgid dedupe), plain-text replays and the catch-up after a reconnect.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../tui/natter.h"

#define OUT_MAX	8

static struct session	sess;
static char		out[OUT_MAX][512];
static int		nout;

/* Feeds one raw server line. */
static void
feed(const char *raw)
{
	struct irc_msg	m;
	char		line[1024];

	snprintf(line, sizeof(line), "%s", raw);
	assert_int_equal(irc_parse(line, &m), 0);
	nout = -1;
	handle_line(&sess, &m, 1000, out, &nout, OUT_MAX);
	assert_true(nout >= 0 && nout <= OUT_MAX);
}

static int
win(const char *name)
{
	int	i = windows_find(&sess.wins, name);

	if (i < 0)
		fail_msg("no window %s", name);
	return i;
}

static const struct line *
last(int i)
{
	const struct scroll	*sb = &sess.wins.v[i]->sb;

	if (sb->count == 0)
		fail_msg("window %d is empty", i);
	return scroll_get(sb, sb->count - 1);
}

static int
count(int i)
{
	return sess.wins.v[i]->sb.count;
}

static int
has_nick(int i, const char *nick, char prefix)
{
	const struct window	*w = sess.wins.v[i];
	int			 k;

	for (k = 0; k < w->nnicks; k++)
		if (strcmp(w->nicks[k], nick) == 0)
			return prefix == 0 || w->prefixes[k] == prefix;
	return 0;
}

/* Registered as "me" and in #a with alice, bob (op) and carol. */
static int
setup(void **state)
{
	(void)state;
	session_init(&sess);
	snprintf(sess.nick, sizeof(sess.nick), "me");
	snprintf(sess.want_nick, sizeof(sess.want_nick), "me");
	feed(":irc.test 001 me :Welcome to natter me");
	feed(":me!u@h JOIN #a");
	feed(":irc.test 353 me = #a :me alice @bob +carol");
	feed(":irc.test 366 me #a :End of /NAMES list");
	sess.bell = 0;
	sess.dirty = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	session_free(&sess);
	return 0;
}

static void
test_registration(void **state)
{
	(void)state;
	session_free(&sess);
	session_init(&sess);
	assert_int_equal(sess.wins.n, 1);
	snprintf(sess.nick, sizeof(sess.nick), "alice");
	sess.rooms = calloc(2, sizeof(*sess.rooms));
	sess.rooms[0] = strdup("#a");
	sess.rooms[1] = strdup("#7");
	sess.nrooms = 2;

	/* Before registration a server NOTICE goes to status. */
	feed(":irc.test NOTICE * :*** Looking up your hostname");
	assert_int_equal(last(0)->kind, LINE_NOTICE);
	assert_string_equal(last(0)->text, "*** Looking up your hostname");

	/* 433: retry with '_', and say so. */
	feed(":irc.test 433 * alice :Nickname is already in use");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "NICK alice_");
	assert_string_equal(sess.nick, "alice_");
	assert_string_equal(last(0)->text,
	    "Nick alice is in use, trying alice_");
	feed(":irc.test 433 * alice_ :Nickname is already in use");
	assert_string_equal(out[0], "NICK alice__");
	feed(":irc.test 432 * alice__ :Erroneous nickname");
	assert_string_equal(out[0], "NICK alice___");
	/* A nick that cannot grow: no retry, ask the user. */
	feed(":irc.test 433 * aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa :in use");
	assert_int_equal(nout, 0);
	assert_int_equal(last(0)->kind, LINE_ERROR);

	/* 001: registered, our nick, the server, and the rooms. */
	sess.dirty = 0;
	feed(":irc.test 001 alice___ :Welcome to natter alice___");
	assert_int_equal(sess.registered, 1);
	assert_string_equal(sess.nick, "alice___");
	assert_string_equal(sess.server_name, "irc.test");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "JOIN #a,#7");
	assert_int_equal(sess.dirty, 1);

	/* After registration 433 is just an error in the current
	 * window. */
	feed(":irc.test 433 alice___ bob :Nickname is already in use");
	assert_int_equal(nout, 0);
	assert_int_equal(last(0)->kind, LINE_ERROR);
	assert_string_equal(last(0)->text,
	    "bob: Nickname is already in use");
	assert_string_equal(sess.nick, "alice___");
}

static void
test_autojoin_many(void **state)
{
	char	room[64];
	int	i;

	(void)state;
	session_free(&sess);
	session_init(&sess);
	sess.rooms = calloc(40, sizeof(*sess.rooms));
	for (i = 0; i < 40; i++) {
		snprintf(room, sizeof(room), "#room%02d-%020d", i, 0);
		sess.rooms[i] = strdup(room);
	}
	sess.nrooms = 40;
	feed(":irc.test 001 me :Welcome");
	/* 40 * 28 bytes do not fit one line: several, each whole. */
	assert_int_equal(nout, 3);
	for (i = 0; i < nout; i++) {
		assert_true(strlen(out[i]) <= 510);
		assert_int_equal(strncmp(out[i], "JOIN #room", 10), 0);
	}
	/* No rooms: nothing to join. */
	session_free(&sess);
	session_init(&sess);
	feed(":irc.test 001 me :Welcome");
	assert_int_equal(nout, 0);
}

static void
test_ping(void **state)
{
	(void)state;
	feed("PING :irc.test");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "PONG :irc.test");
	feed("PING token123");
	assert_string_equal(out[0], "PONG :token123");
	feed(":irc.test PING :a b");
	assert_string_equal(out[0], "PONG :a b");
	feed("PING");
	assert_string_equal(out[0], "PONG");
}

static void
test_join_names(void **state)
{
	int	a;

	(void)state;
	a = win("#a");
	assert_int_equal(sess.wins.cur, a);	/* our join switched */
	assert_int_equal(sess.wins.v[a]->joined, 1);
	assert_int_equal(sess.wins.v[a]->kind, WIN_ROOM);
	assert_int_equal(sess.nrooms, 1);
	assert_string_equal(sess.rooms[0], "#a");
	assert_int_equal(sess.wins.v[a]->nnicks, 4);
	assert_true(has_nick(a, "me", ' '));
	assert_true(has_nick(a, "alice", ' '));
	assert_true(has_nick(a, "bob", '@'));
	assert_true(has_nick(a, "carol", '+'));
	/* 366 shows the list. */
	assert_string_equal(last(a)->text,
	    "Nicks on #a (4): alice @bob +carol me");

	/* 353s accumulate until 366; multi-prefix and userhost-in-names. */
	feed(":irc.test 353 me = #a :@+dave eve!e@host");
	assert_true(has_nick(a, "dave", '@'));
	assert_true(has_nick(a, "eve", ' '));
	assert_int_equal(sess.wins.v[a]->nnicks, 6);
	assert_int_equal(sess.dirty, 1);

	/* Someone joins. */
	windows_switch(&sess.wins, 0);
	feed(":frank!f@example.org JOIN #a");
	assert_string_equal(last(a)->text,
	    "frank (f@example.org) has joined #a");
	assert_int_equal(last(a)->kind, LINE_EVENT);
	assert_null(last(a)->nick);
	assert_true(has_nick(a, "frank", ' '));
	assert_int_equal(sess.wins.v[a]->act, ACT_EVENT);
	/* extended-join params are fine too. */
	feed(":gina!g@h JOIN #a acct :Gina G");
	assert_true(has_nick(a, "gina", ' '));

	/* A second room of ours: a new window, and we follow it. */
	feed(":me!u@h JOIN #b");
	assert_int_equal(sess.wins.cur, win("#b"));
	assert_int_equal(sess.nrooms, 2);
	/* Rejoining an existing window does not steal focus. */
	windows_switch(&sess.wins, 0);
	feed(":me!u@h JOIN #a");
	assert_int_equal(sess.wins.cur, 0);
	assert_int_equal(sess.nrooms, 2);

	/* /names for a room we are not in is shown as it comes. */
	feed(":irc.test 353 me = #zzz :x y z");
	assert_string_equal(last(0)->text, "Nicks on #zzz: x y z");
}

static void
test_privmsg(void **state)
{
	int	a, q;

	(void)state;
	a = win("#a");
	/* In the current window: no activity mark. */
	feed(":alice!a@h PRIVMSG #a :hello all");
	assert_int_equal(last(a)->kind, LINE_MSG);
	assert_string_equal(last(a)->nick, "alice");
	assert_string_equal(last(a)->text, "hello all");
	assert_int_equal(last(a)->highlight, 0);
	assert_int_equal(last(a)->self, 0);
	assert_int_equal(last(a)->when, 1000);
	assert_int_equal(sess.wins.v[a]->act, ACT_NONE);
	assert_int_equal(sess.dirty, 1);
	assert_int_equal(sess.wins.v[a]->last_seen, 1000);

	windows_switch(&sess.wins, 0);
	feed(":alice!a@h PRIVMSG #a :plain");
	assert_int_equal(sess.wins.v[a]->act, ACT_MSG);
	assert_int_equal(sess.bell, 0);
	/* A mention: highlight and bell. */
	feed(":alice!a@h PRIVMSG #a :ME: look");
	assert_int_equal(last(a)->highlight, 1);
	assert_int_equal(sess.wins.v[a]->act, ACT_HIGHLIGHT);
	assert_int_equal(sess.bell, 1);
	sess.bell = 0;
	feed(":alice!a@h PRIVMSG #a :meme time");
	assert_int_equal(last(a)->highlight, 0);
	assert_int_equal(sess.bell, 0);

	/* CTCP ACTION. */
	feed(":bob!b@h PRIVMSG #a :\001ACTION waves at me\001");
	assert_int_equal(last(a)->kind, LINE_ACTION);
	assert_string_equal(last(a)->nick, "bob");
	assert_string_equal(last(a)->text, "waves at me");
	assert_int_equal(last(a)->highlight, 1);

	/* Private: a query window named after the sender, highlighted. */
	sess.bell = 0;
	feed(":Dave!d@h PRIVMSG me :psst");
	q = win("dave");
	assert_string_equal(sess.wins.v[q]->name, "Dave");
	assert_int_equal(sess.wins.v[q]->kind, WIN_QUERY);
	assert_int_equal(q, sess.wins.n - 1);	/* appended at the end */
	assert_string_equal(last(q)->nick, "Dave");
	assert_string_equal(last(q)->text, "psst");
	assert_int_equal(sess.wins.v[q]->act, ACT_HIGHLIGHT);
	assert_int_equal(sess.bell, 1);
	feed(":dave!d@h PRIVMSG me :again");
	assert_int_equal(win("dave"), q);
	assert_int_equal(count(q), 2);

	/* Our own echoed messages: self, no mark, in the right window. */
	windows_switch(&sess.wins, a);
	windows_switch(&sess.wins, 0);
	feed(":me!u@h PRIVMSG #a :my words, me");
	assert_int_equal(last(a)->self, 1);
	assert_int_equal(last(a)->highlight, 0);
	assert_int_equal(sess.wins.v[a]->act, ACT_NONE);
	sess.wins.v[q]->act = ACT_NONE;
	feed(":me!u@h PRIVMSG dave :to dave");
	assert_int_equal(last(q)->self, 1);
	assert_string_equal(last(q)->text, "to dave");
	/* ... but a private one sent from elsewhere marks its window. */
	assert_int_equal(sess.wins.v[q]->act, ACT_MSG);

	/* CTCP VERSION is answered, not shown as a message. */
	feed(":bob!b@h PRIVMSG me :\001VERSION\001");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "NOTICE bob :\001VERSION "
	    NATTER_VERSION "\001");
	assert_int_equal(windows_find(&sess.wins, "bob"), -1);
	feed(":bob!b@h PRIVMSG me :\001PING 12345\001");
	assert_string_equal(out[0], "NOTICE bob :\001PING 12345\001");
	/* Too few params: ignored. */
	feed(":bob!b@h PRIVMSG #a");
	assert_int_equal(nout, 0);
}

static void
test_notice(void **state)
{
	int	a, n0;

	(void)state;
	a = win("#a");
	/* From a user to us: the current window. */
	feed(":NickServ!s@services NOTICE me :Identify, please");
	assert_int_equal(last(a)->kind, LINE_NOTICE);
	assert_string_equal(last(a)->nick, "NickServ");
	assert_int_equal(windows_find(&sess.wins, "NickServ"), -1);
	/* From a server: status. */
	n0 = count(0);
	feed(":irc.test NOTICE me :Server notice");
	assert_int_equal(count(0), n0 + 1);
	assert_int_equal(last(0)->kind, LINE_NOTICE);
	assert_string_equal(last(0)->text, "Server notice");
	/* To a room: that room. */
	windows_switch(&sess.wins, 0);
	feed(":bob!b@h NOTICE #a :room notice");
	assert_string_equal(last(a)->text, "room notice");
	assert_int_equal(sess.wins.v[a]->act, ACT_MSG);
}

static void
test_part_kick_quit(void **state)
{
	int	a, b, q;

	(void)state;
	feed(":me!u@h JOIN #b");
	feed(":irc.test 353 me = #b :me alice bob");
	b = win("#b");
	a = win("#a");
	feed(":bob!b@h PRIVMSG me :hi");
	q = win("bob");
	windows_switch(&sess.wins, 0);

	feed(":alice!a@h PART #a :see you");
	assert_string_equal(last(a)->text, "alice has left #a (see you)");
	assert_int_equal(last(a)->kind, LINE_EVENT);
	assert_false(has_nick(a, "alice", 0));
	assert_int_equal(sess.wins.v[a]->act, ACT_EVENT);
	feed(":carol!c@h PART #a");
	assert_string_equal(last(a)->text, "carol has left #a");

	feed(":alice!a@h KICK #b bob :behave");
	assert_string_equal(last(b)->text, "bob was kicked by alice (behave)");
	assert_false(has_nick(b, "bob", 0));
	assert_true(has_nick(a, "bob", 0));

	/* QUIT: every window where the nick is, and its query. */
	feed(":bob!b@h QUIT :Quit: bye");
	assert_string_equal(last(a)->text, "bob has quit (Quit: bye)");
	assert_false(has_nick(a, "bob", 0));
	assert_string_equal(last(q)->text, "bob has quit (Quit: bye)");
	assert_string_equal(last(b)->text, "bob was kicked by alice (behave)");
	feed(":alice!a@h QUIT");
	assert_string_equal(last(b)->text, "alice has quit");

	/* We leave: the window stays, no longer joined or rejoined. */
	assert_int_equal(sess.nrooms, 2);
	feed(":me!u@h PART #a");
	assert_int_equal(windows_find(&sess.wins, "#a"), a);
	assert_int_equal(sess.wins.v[a]->joined, 0);
	assert_int_equal(sess.wins.v[a]->nnicks, 0);
	assert_int_equal(sess.nrooms, 1);
	assert_string_equal(sess.rooms[0], "#b");
	/* Kicked: likewise, with a highlight. */
	sess.bell = 0;
	feed(":op!o@h KICK #b me");
	assert_string_equal(last(b)->text, "me was kicked by op");
	assert_int_equal(sess.wins.v[b]->joined, 0);
	assert_int_equal(sess.wins.v[b]->act, ACT_HIGHLIGHT);
	assert_int_equal(sess.bell, 1);
	assert_int_equal(sess.nrooms, 0);
}

static void
test_nick(void **state)
{
	int	a, q, n0;

	(void)state;
	a = win("#a");
	feed(":alice!a@h PRIVMSG me :hi");
	q = win("alice");
	feed(":alice!a@h NICK alice2");
	assert_string_equal(last(a)->text, "alice is now known as alice2");
	assert_true(has_nick(a, "alice2", ' '));
	assert_false(has_nick(a, "alice", 0));
	/* The query follows the nick. */
	assert_string_equal(sess.wins.v[q]->name, "alice2");
	assert_string_equal(last(q)->text, "alice is now known as alice2");
	/* Ours: sess->nick changes, status says so too. */
	n0 = count(0);
	feed(":me!u@h NICK :me2");
	assert_string_equal(sess.nick, "me2");
	assert_true(has_nick(a, "me2", 0));
	assert_string_equal(last(a)->text, "me is now known as me2");
	assert_int_equal(count(0), n0 + 1);
	/* A stranger's nick change touches nothing. */
	n0 = count(a);
	feed(":zed!z@h NICK zed2");
	assert_int_equal(count(a), n0);
}

static void
test_topic_mode(void **state)
{
	int	a;

	(void)state;
	a = win("#a");
	feed(":irc.test 332 me #a :Welcome to #a");
	assert_string_equal(sess.wins.v[a]->topic, "Welcome to #a");
	assert_string_equal(last(a)->text, "Topic for #a: Welcome to #a");
	feed(":irc.test 333 me #a bob!b@h 0");
	assert_string_equal(last(a)->text, "Topic set by bob");
	feed(":irc.test 333 me #a bob 1700000000");
	assert_int_equal(strncmp(last(a)->text, "Topic set by bob on 2023-11-",
	    28), 0);
	feed(":bob!b@h TOPIC #a :new topic");
	assert_string_equal(sess.wins.v[a]->topic, "new topic");
	assert_string_equal(last(a)->text,
	    "bob changed the topic of #a to: new topic");
	assert_int_equal(last(a)->kind, LINE_EVENT);
	feed(":bob!b@h TOPIC #a :");
	assert_null(sess.wins.v[a]->topic);

	feed(":bob!b@h MODE #a +o alice");
	assert_string_equal(last(a)->text, "bob sets mode +o alice");
	assert_true(has_nick(a, "alice", '@'));
	feed(":bob!b@h MODE #a -o+v alice carol");
	assert_string_equal(last(a)->text, "bob sets mode -o+v alice carol");
	assert_true(has_nick(a, "alice", ' '));
	assert_true(has_nick(a, "carol", '+'));
	feed(":bob!b@h MODE #a +bv *!*@x alice");
	assert_true(has_nick(a, "alice", '+'));
	feed(":bob!b@h MODE #a +lo 10 alice");
	assert_true(has_nick(a, "alice", '@'));
	feed(":bob!b@h MODE #a -l+v carol");
	assert_true(has_nick(a, "carol", '+'));
	feed(":bob!b@h MODE #a +v bob");
	assert_true(has_nick(a, "bob", '@'));	/* op shows over voice */
	/* A user mode on us goes to status. */
	feed(":me MODE me :+i");
	assert_string_equal(last(0)->text, "me sets mode +i on me");
}

static void
test_numerics_errors(void **state)
{
	int	a, n;

	(void)state;
	a = win("#a");
	n = sess.wins.v[a]->sb.count;
	/* A lone 318 (after a 401) adds nothing; the MOTD shows at its
	 * end (tests/test_reply.c has the rest). */
	feed(":irc.test 318 me bob :End of /WHOIS list");
	assert_int_equal(sess.wins.v[a]->sb.count, n);
	feed(":irc.test 375 me :- irc.test Message of the day -");
	feed(":irc.test 376 me :End of /MOTD command.");
	assert_string_equal(scroll_get(&sess.wins.v[0]->sb,
	    sess.wins.v[0]->sb.count - 2)->text,
	    "- irc.test Message of the day -");
	/* 265/266 repeat their counts in the text: show the text alone. */
	feed(":irc.test 265 me 1 1 :Current local users 1, max 1");
	assert_string_equal(last(0)->text, "Current local users 1, max 1");
	/* Errors show where the user is looking. */
	feed(":irc.test 401 me nobody :No such nick/channel");
	assert_int_equal(last(a)->kind, LINE_ERROR);
	assert_string_equal(last(a)->text, "nobody: No such nick/channel");
	feed(":irc.test 482 me #a :You're not channel operator");
	assert_int_equal(last(a)->kind, LINE_ERROR);
	feed("ERROR :Closing Link: me (Quit)");
	assert_int_equal(last(0)->kind, LINE_ERROR);
	assert_string_equal(last(0)->text, "Closing Link: me (Quit)");
	feed(":bob!b@h INVITE me #secret");
	assert_string_equal(last(a)->text, "bob invites you to #secret");
}

static void
test_mentions(void **state)
{
	static const struct {
		const char	*text, *nick;
		int		 want;
	} t[] = {
		{ "alice: hi", "alice", 1 },
		{ "hi alice!", "alice", 1 },
		{ "alice", "alice", 1 },
		{ "ALICE, look", "alice", 1 },
		{ "hey @alice.", "alice", 1 },
		{ "malice", "alice", 0 },
		{ "alice2 is here", "alice", 0 },
		{ "alice_ is here", "alice", 0 },
		{ "alice-bot", "alice", 0 },
		{ "hi \xc3\xb1" "alice", "alice", 0 },
		{ "malice and alice", "alice", 1 },
		{ "\x02" "alice\x02", "alice", 1 },
		{ "[x]: hi", "[x]", 1 },
		{ "{X}: hi", "[x]", 1 },
		{ "", "alice", 0 },
		{ "ali", "alice", 0 },
		{ "anything", "", 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (mentions(t[i].text, t[i].nick) != t[i].want)
			fail_msg("case %zu: mentions(\"%s\", \"%s\") != %d", i,
			    t[i].text, t[i].nick, t[i].want);
}

static void
test_colour(void **state)
{
	static const char	*nicks[] = {
		"alice", "bob", "carol", "dave", "eve", "frank", "x", ""
	};
	size_t			 i;
	int			 c, seen = 0;

	(void)state;
	for (i = 0; i < sizeof(nicks) / sizeof(nicks[0]); i++) {
		c = nick_colour(nicks[i], 8);
		assert_true(c >= 0 && c < 8);
		assert_int_equal(nick_colour(nicks[i], 8), c);
		seen |= 1 << c;
	}
	/* Stable across case, spread over colours. */
	assert_int_equal(nick_colour("Alice", 13), nick_colour("alice", 13));
	assert_true(__builtin_popcount((unsigned)seen) >= 3);
	assert_int_equal(nick_colour("alice", 1), 0);
	assert_int_equal(nick_colour("alice", 0), 0);
}

/* Index of the line in window i whose text is text; -1 if none. */
static int
find_text(int i, const char *text)
{
	const struct scroll	*sb = &sess.wins.v[i]->sb;
	int			 k;

	for (k = 0; k < sb->count; k++)
		if (strcmp(scroll_get(sb, k)->text, text) == 0)
			return k;
	return -1;
}

static int
find_last_text(int i, const char *text)
{
	const struct scroll	*sb = &sess.wins.v[i]->sb;
	int			 k;

	for (k = sb->count - 1; k >= 0; k--)
		if (strcmp(scroll_get(sb, k)->text, text) == 0)
			return k;
	return -1;
}

static int
count_text(int i, const char *text)
{
	const struct scroll	*sb = &sess.wins.v[i]->sb;
	int			 k, n = 0;

	for (k = 0; k < sb->count; k++)
		if (strcmp(scroll_get(sb, k)->text, text) == 0)
			n++;
	return n;
}

static int
has_out(const char *line)
{
	int	k;

	for (k = 0; k < nout; k++)
		if (strcmp(out[k], line) == 0)
			return 1;
	return 0;
}

static void
test_cap(void **state)
{
	(void)state;
	session_free(&sess);
	session_init(&sess);
	snprintf(sess.nick, sizeof(sess.nick), "me");
	snprintf(sess.want_nick, sizeof(sess.want_nick), "me");
	snprintf(sess.user, sizeof(sess.user), "u");
	snprintf(sess.realname, sizeof(sess.realname), "Me");

	/* CAP LS 302 goes first, NICK and USER right behind it. */
	session_hello(&sess, out, &nout, OUT_MAX);
	assert_int_equal(nout, 3);
	assert_string_equal(out[0], "CAP LS 302");
	assert_string_equal(out[1], "NICK me");
	assert_string_equal(out[2], "USER u 0 * :Me");
	assert_true(sess.cap_busy);

	/* A multi-line LS: the REQ waits for the last line and asks for
	 * only what natter wants among what is offered. */
	feed(":irc.test CAP * LS * :away-notify batch cap-notify "
	    "draft/chathistory chghost");
	assert_int_equal(nout, 0);
	feed(":irc.test CAP * LS :echo-message extended-join message-tags "
	    "multi-prefix server-time setname=x userhost-in-names");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CAP REQ :server-time batch message-tags "
	    "echo-message draft/chathistory away-notify");
	feed(":irc.test CAP * ACK :server-time batch message-tags "
	    "echo-message draft/chathistory away-notify");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CAP END");
	assert_int_equal(sess.caps, CAP_SERVER_TIME | CAP_BATCH |
	    CAP_MESSAGE_TAGS | CAP_ECHO_MESSAGE | CAP_CHATHISTORY |
	    CAP_AWAY_NOTIFY);
	assert_false(sess.cap_busy);
	/* Nothing CAP says ends up on screen. */
	assert_int_equal(count(0), 0);
	feed(":irc.test CAP me DEL :echo-message");
	assert_false(sess.caps & CAP_ECHO_MESSAGE);

	/* A new connection starts afresh; without batch, no chathistory;
	 * a NAK still ends negotiation. */
	session_hello(&sess, out, &nout, OUT_MAX);
	assert_int_equal(sess.caps, 0);
	feed(":irc.test CAP * LS :draft/chathistory server-time");
	assert_string_equal(out[0], "CAP REQ :server-time");
	feed(":irc.test CAP * NAK :server-time");
	assert_string_equal(out[0], "CAP END");
	assert_int_equal(sess.caps, 0);

	/* Nothing wanted: straight to CAP END. */
	session_hello(&sess, out, &nout, OUT_MAX);
	feed(":irc.test CAP * LS :multi-prefix sasl=PLAIN");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CAP END");

	/* A server without CAP: 421 ends it quietly, 001 registers. */
	session_hello(&sess, out, &nout, OUT_MAX);
	feed(":irc.test 421 me CAP :Unknown command");
	assert_int_equal(nout, 0);
	assert_false(sess.cap_busy);
	assert_int_equal(count(0), 0);
	session_hello(&sess, out, &nout, OUT_MAX);
	feed(":irc.test 001 me :Welcome");
	assert_false(sess.cap_busy);
	assert_int_equal(sess.registered, 1);

	/* PASS goes before NICK. */
	sess.password = strdup("sekrit");
	session_hello(&sess, out, &nout, OUT_MAX);
	assert_int_equal(nout, 4);
	assert_string_equal(out[1], "PASS :sekrit");
}

static void
test_server_time(void **state)
{
	time_t	t;
	int	ms;

	(void)state;
	assert_int_equal(parse_server_time("2026-11-26T02:20:00.123Z", &t,
	    &ms), 0);
	assert_int_equal(t, 1795659600);
	assert_int_equal(ms, 123);
	assert_int_equal(parse_server_time("1970-01-01T00:10:00Z", &t, &ms),
	    0);
	assert_int_equal(t, 600);
	assert_int_equal(ms, 0);
	assert_int_equal(parse_server_time("1970-01-01T00:10:00.5Z", &t,
	    &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(parse_server_time("1970-01-01T00:10:00.123456Z", &t,
	    &ms), 0);
	assert_int_equal(ms, 123);
	assert_int_equal(parse_server_time("1970-01-01T00:10:00", &t, &ms),
	    -1);
	assert_int_equal(parse_server_time("1970-01-01T00:10:00.Z", &t, &ms),
	    -1);
	assert_int_equal(parse_server_time("yesterday", &t, &ms), -1);

	/* A live line takes its time from the tag; a bad tag is ignored. */
	feed("@time=1970-01-01T00:20:00.250Z;msgid=m1 :alice!a@h PRIVMSG #a "
	    ":hi");
	assert_int_equal(last(win("#a"))->when, 1200);
	assert_int_equal(last(win("#a"))->msec, 250);
	assert_int_equal(last(win("#a"))->history, 0);
	assert_string_equal(sess.wins.v[win("#a")]->last_msgid, "m1");
	assert_int_equal(sess.wins.v[win("#a")]->last_ms, 1200250);
	feed("@time=garbage :alice!a@h PRIVMSG #a :later");
	assert_int_equal(last(win("#a"))->when, 1000);
	/* The same msgid twice is shown once. */
	feed("@time=1970-01-01T00:20:00.250Z;msgid=m1 :alice!a@h PRIVMSG #a "
	    ":hi");
	assert_int_equal(count_text(win("#a"), "hi"), 1);
}

static void
test_history_batch(void **state)
{
	int	a = win("#a"), n0, d, k;

	(void)state;
	n0 = count(a);
	sess.bell = 0;
	feed("@time=1970-01-01T00:09:00.000Z :irc.test BATCH +h1 chathistory "
	    "#a");
	feed("@batch=h1;time=1970-01-01T00:10:00.000Z;msgid=x1 "
	    ":alice!a@h PRIVMSG #a :old one");
	feed("@batch=h1;time=1970-01-01T00:10:00.000Z;msgid=x2 "
	    ":bob!b@h PRIVMSG #a :me: old two");
	/* Events in a replay change nothing but the scrollback. */
	feed("@batch=h1;time=1970-01-01T00:11:00.000Z;msgid=x3 "
	    ":alice!a@h QUIT :gone");
	feed("@batch=h1;time=1970-01-01T00:11:30.000Z;msgid=x4 "
	    ":me!u@h PART #a :bye");
	feed("@batch=h1;time=1970-01-01T00:12:00.000Z;msgid=x5 "
	    ":dave!d@h JOIN #a");
	feed("@batch=h1;time=1970-01-01T00:12:00.000Z;msgid=x6 "
	    ":bob!b@h TOPIC #a :old topic");
	feed("@batch=h1;time=1970-01-01T00:12:00.000Z;msgid=x7 "
	    ":carol!c@h PRIVMSG #a :\001VERSION\001");
	assert_int_equal(nout, 0);		/* no CTCP reply to a replay */
	feed(":irc.test BATCH -h1");
	assert_int_equal(sess.nbatches, 0);
	assert_true(has_nick(a, "alice", 0));
	assert_false(has_nick(a, "dave", 0));
	assert_true(sess.wins.v[a]->joined);
	assert_null(sess.wins.v[a]->topic);
	assert_int_equal(sess.bell, 0);

	/* All older than the window's lines (stamped 1000): a divider, the
	 * replay in order, dimmed, then what was there. */
	assert_int_equal(count(a), n0 + 7);
	d = 0;
	assert_int_equal(scroll_get(&sess.wins.v[a]->sb, d)->kind,
	    LINE_DIVIDER);
	assert_string_equal(scroll_get(&sess.wins.v[a]->sb, d)->text,
	    "history");
	assert_int_equal(find_text(a, "old one"), 1);
	assert_int_equal(find_text(a, "me: old two"), 2);
	assert_int_equal(find_text(a, "alice has quit (gone)"), 3);
	assert_int_equal(find_text(a, "me has left #a (bye)"), 4);
	assert_int_equal(find_text(a, "dave has joined #a"), 5);
	assert_int_equal(find_text(a, "bob changed the topic of #a to: "
	    "old topic"), 6);
	for (k = 1; k <= 6; k++) {
		assert_int_equal(scroll_get(&sess.wins.v[a]->sb, k)->history,
		    1);
		assert_true(scroll_get(&sess.wins.v[a]->sb, k)->when < 1000);
	}
	assert_int_equal(scroll_get(&sess.wins.v[a]->sb, 1)->when, 600);
	/* Highlighted, but no bell for the past. */
	assert_int_equal(scroll_get(&sess.wins.v[a]->sb, 2)->highlight, 1);
	assert_int_equal(scroll_get(&sess.wins.v[a]->sb, 7)->history, 0);

	/* After the batch, lines are live again. */
	feed("@batch=h1;time=1970-01-01T00:30:00.000Z :alice!a@h PRIVMSG #a "
	    ":now");
	assert_int_equal(last(a)->history, 0);

	/* The replay's newest stored line is the window's last msgid only
	 * when it is newer than what was seen live. */
	assert_string_equal(sess.wins.v[a]->last_msgid, "x6");
}

static void
test_history_order_dedupe(void **state)
{
	int	a = win("#a"), n;

	(void)state;
	/* Live lines at 00:20, 00:25, 00:30. */
	feed("@time=1970-01-01T00:20:00.000Z;msgid=l1 :alice!a@h PRIVMSG #a "
	    ":live 1");
	feed("@time=1970-01-01T00:25:00.000Z;msgid=l2 :alice!a@h PRIVMSG #a "
	    ":live 2");
	feed("@time=1970-01-01T00:30:00.000Z;msgid=l3 :alice!a@h PRIVMSG #a "
	    ":live 3");
	n = count(a);
	/* A replay overlapping them: seen msgids are dropped, the others
	 * go where their time says, under one divider per block. */
	feed(":irc.test BATCH +r chathistory #a");
	feed("@batch=r;time=1970-01-01T00:20:00.000Z;msgid=l1 "
	    ":alice!a@h PRIVMSG #a :live 1");
	feed("@batch=r;time=1970-01-01T00:22:00.000Z;msgid=h1 "
	    ":bob!b@h PRIVMSG #a :missed 1");
	feed("@batch=r;time=1970-01-01T00:23:00.000Z;msgid=h2 "
	    ":bob!b@h PRIVMSG #a :missed 2");
	feed("@batch=r;time=1970-01-01T00:25:00.000Z;msgid=l2 "
	    ":alice!a@h PRIVMSG #a :live 2");
	feed("@batch=r;time=1970-01-01T00:26:00.000Z;msgid=h3 "
	    ":bob!b@h PRIVMSG #a :missed 3");
	feed(":irc.test BATCH -r");
	assert_int_equal(count_text(a, "live 1"), 1);
	assert_int_equal(count_text(a, "live 2"), 1);
	assert_int_equal(count(a), n + 5);	/* 3 lines, 2 dividers */
	assert_int_equal(find_text(a, "history"), find_text(a, "live 1") + 1);
	assert_int_equal(find_text(a, "missed 1"), find_text(a, "live 1") + 2);
	assert_int_equal(find_text(a, "missed 2"), find_text(a, "live 1") + 3);
	assert_int_equal(find_text(a, "live 2"), find_text(a, "live 1") + 4);
	assert_int_equal(scroll_get(&sess.wins.v[a]->sb,
	    find_text(a, "live 2") + 1)->kind, LINE_DIVIDER);
	assert_int_equal(find_text(a, "missed 3"), find_text(a, "live 2") + 2);
	assert_int_equal(find_text(a, "live 3"), find_text(a, "live 2") + 3);

	/* The same replay again adds nothing. */
	n = count(a);
	feed(":irc.test BATCH +s chathistory #a");
	feed("@batch=s;time=1970-01-01T00:22:00.000Z;msgid=h1 "
	    ":bob!b@h PRIVMSG #a :missed 1");
	feed("@batch=s;time=1970-01-01T00:26:00.000Z;msgid=h3 "
	    ":bob!b@h PRIVMSG #a :missed 3");
	feed(":irc.test BATCH -s");
	assert_int_equal(count(a), n);

	/* An older line joins the block below its divider rather than
	 * opening a new one. */
	feed(":irc.test BATCH +t chathistory #a");
	feed("@batch=t;time=1970-01-01T00:21:00.000Z;msgid=h0 "
	    ":bob!b@h PRIVMSG #a :missed 0");
	feed(":irc.test BATCH -t");
	assert_int_equal(count(a), n + 1);
	assert_int_equal(find_text(a, "missed 0"), find_text(a, "live 1") + 2);
	assert_int_equal(find_text(a, "missed 1"), find_text(a, "live 1") + 3);
	/* The last msgid stays the newest live one. */
	assert_string_equal(sess.wins.v[a]->last_msgid, "l3");
}

static void
test_plain_history(void **state)
{
	int	a = win("#a"), n;

	(void)state;
	feed(":alice!a@h PRIVMSG #a :said before");
	n = count(a);
	feed(":irc.test NOTICE #a :--- Recent history of #a ---");
	feed(":alice!a@h PRIVMSG #a :said before");	/* shown already */
	feed(":bob!b@h PRIVMSG #a :said while away");
	feed(":irc.test NOTICE #a :--- End of history (2 lines) ---");
	assert_int_equal(count_text(a, "said before"), 1);
	assert_int_equal(count(a), n + 2);
	assert_int_equal(scroll_get(&sess.wins.v[a]->sb, n)->kind,
	    LINE_DIVIDER);
	assert_int_equal(last(a)->history, 1);
	assert_string_equal(last(a)->text, "said while away");
	assert_int_equal(find_text(0, "--- End of history (2 lines) ---"), -1);
	feed(":bob!b@h PRIVMSG #a :live again");
	assert_int_equal(last(a)->history, 0);
}

static void
reconnect(unsigned caps)
{
	session_hello(&sess, out, &nout, OUT_MAX);
	sess.caps = caps;
	sess.cap_busy = 0;
	feed(":irc.test 001 me :Welcome back");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "JOIN #a");
}

static void
test_catch_up(void **state)
{
	unsigned	all = CAP_SERVER_TIME | CAP_BATCH | CAP_MESSAGE_TAGS |
			    CAP_CHATHISTORY;

	(void)state;
	feed("@time=1970-01-01T00:20:00.000Z;msgid=z1 :alice!a@h PRIVMSG #a "
	    ":before");
	/* The first JOIN is not a reconnect: no catch-up. */
	feed(":irc.test 366 me #a :End of /NAMES list");
	assert_int_equal(nout, 0);

	reconnect(all);
	feed(":irc.test 005 me CHATHISTORY=50 NETWORK=x :are supported");
	/* Our JOIN's msgid is not where we catch up from. */
	feed("@time=1970-01-01T00:40:00.000Z;msgid=j1 :me!u@h JOIN #a");
	assert_string_equal(sess.wins.v[win("#a")]->last_msgid, "j1");
	feed("@time=1970-01-01T00:40:00.000Z :irc.test 353 me = #a :me alice");
	feed("@time=1970-01-01T00:40:00.000Z :irc.test 366 me #a :End");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CHATHISTORY AFTER #a msgid=z1 50");
	/* Once only. */
	feed("@time=1970-01-01T00:40:00.000Z :irc.test 366 me #a :End");
	assert_int_equal(nout, 0);

	/* The missed lines land between the disconnect and the JOIN. */
	feed(":irc.test BATCH +c chathistory #a");
	feed("@batch=c;time=1970-01-01T00:30:00.000Z;msgid=z2 "
	    ":bob!b@h PRIVMSG #a :while away");
	feed(":irc.test BATCH -c");
	assert_int_equal(scroll_get(&sess.wins.v[win("#a")]->sb,
	    find_text(win("#a"), "while away") - 1)->kind, LINE_DIVIDER);
	assert_true(find_text(win("#a"), "while away") >
	    find_text(win("#a"), "before"));
	assert_true(find_text(win("#a"), "while away") <
	    find_last_text(win("#a"), "me (u@h) has joined #a"));

	/* Without a msgid: the time; the ISUPPORT limit is per
	 * connection. */
	sess.wins.v[win("#a")]->last_msgid[0] = '\0';
	sess.wins.v[win("#a")]->last_ms = 1801234;
	reconnect(all);
	feed(":irc.test 366 me #a :End of /NAMES list");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CHATHISTORY AFTER #a "
	    "timestamp=1970-01-01T00:30:01.234Z 100");

	/* Without the cap nothing is asked. */
	reconnect(CAP_SERVER_TIME | CAP_BATCH | CAP_MESSAGE_TAGS);
	feed(":irc.test 366 me #a :End of /NAMES list");
	assert_int_equal(nout, 0);
	assert_false(has_out("CHATHISTORY"));
}

static void
test_no_caps(void **state)
{
	int	a = win("#a"), n = count(a);

	(void)state;
	/* A plain server: lines are live, stamped now, nothing replayed,
	 * no catch-up. */
	feed(":alice!a@h PRIVMSG #a :plain");
	assert_int_equal(last(a)->when, 1000);
	assert_int_equal(last(a)->history, 0);
	assert_int_equal(count(a), n + 1);
	assert_string_equal(sess.wins.v[a]->last_msgid, "");
	reconnect(0);
	feed(":me!u@h JOIN #a");
	feed(":irc.test 366 me #a :End of /NAMES list");
	assert_int_equal(nout, 0);
}


/* A fresh session, registering with CAP and a login (mech). */
static void
login_start(enum sasl_mech mech)
{
	session_free(&sess);
	session_init(&sess);
	snprintf(sess.nick, sizeof(sess.nick), "me");
	snprintf(sess.want_nick, sizeof(sess.want_nick), "me");
	snprintf(sess.user, sizeof(sess.user), "u");
	snprintf(sess.realname, sizeof(sess.realname), "Me");
	sess.sasl_mech = mech;
	if (mech == SASL_PLAIN) {
		snprintf(sess.sasl_user, sizeof(sess.sasl_user), "alice");
		sess.sasl_pass = strdup("sesame");
	}
	session_hello(&sess, out, &nout, OUT_MAX);
}

static void
test_sasl_plain(void **state)
{
	(void)state;
	login_start(SASL_PLAIN);
	/* sasl is asked for with the rest; CAP END waits for the login. */
	feed(":irc.test CAP * LS :server-time sasl=PLAIN,EXTERNAL");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CAP REQ :server-time sasl");
	feed(":irc.test CAP * ACK :server-time sasl");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "AUTHENTICATE PLAIN");
	assert_true(sess.cap_busy);
	feed("AUTHENTICATE +");
	assert_int_equal(nout, 1);
	/* "alice\0alice\0sesame" */
	assert_string_equal(out[0], "AUTHENTICATE YWxpY2UAYWxpY2UAc2VzYW1l");
	assert_int_equal(sess.sasl_state, SASL_SENT);
	feed(":irc.test 900 me me!u@h alice :You are now logged in as alice");
	assert_int_equal(nout, 0);
	assert_string_equal(sess.account, "alice");
	feed(":irc.test 903 me :SASL authentication successful");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CAP END");
	assert_int_equal(sess.sasl_state, SASL_DONE);
	assert_false(sess.login_failed);
	/* The password is never on screen. */
	for (int i = 0; i < count(0); i++)
		assert_null(strstr(scroll_get(&sess.wins.v[0]->sb, i)->text,
		    "sesame"));
	/* 901 clears the account; a new connection starts logged out. */
	feed(":irc.test 901 me me!u@h :You are now logged out");
	assert_string_equal(sess.account, "");
	feed(":irc.test 900 me me!u@h alice :You are now logged in as alice");
	session_hello(&sess, out, &nout, OUT_MAX);
	assert_string_equal(sess.account, "");
	assert_int_equal(sess.sasl_state, SASL_IDLE);
}

static void
test_sasl_external(void **state)
{
	(void)state;
	login_start(SASL_EXTERNAL);
	/* "sasl" without a value: any mechanism may do. */
	feed(":irc.test CAP * LS :sasl");
	assert_string_equal(out[0], "CAP REQ :sasl");
	feed(":irc.test CAP * ACK :sasl");
	assert_string_equal(out[0], "AUTHENTICATE EXTERNAL");
	feed(":irc.test AUTHENTICATE +");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "AUTHENTICATE +");
	/* 907 (already logged in) is as good as 903. */
	feed(":irc.test 907 me :You have already authenticated");
	assert_string_equal(out[0], "CAP END");
	assert_false(sess.login_failed);
}

static void
test_sasl_failures(void **state)
{
	(void)state;
	/* 904 with the server's reason: QUIT, and no retrying. */
	login_start(SASL_PLAIN);
	feed(":irc.test CAP * LS :sasl=PLAIN");
	feed(":irc.test CAP * ACK :sasl");
	feed("AUTHENTICATE +");
	feed(":irc.test 904 me :SASL authentication failed");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "QUIT :Login failed");
	assert_true(sess.login_failed);
	assert_string_equal(sess.login_why,
	    "Login failed: SASL authentication failed");
	assert_string_equal(last(0)->text, sess.login_why);
	assert_int_equal(last(0)->kind, LINE_ERROR);
	assert_string_equal(sess.account, "");

	/* 908 then 904: the reason names what the server offers. */
	login_start(SASL_PLAIN);
	feed(":irc.test CAP * LS :sasl");
	feed(":irc.test CAP * ACK :sasl");
	feed(":irc.test 908 me SCRAM-SHA-256 :are available SASL mechanisms");
	feed(":irc.test 904 me :SASL authentication failed");
	assert_true(sess.login_failed);
	assert_string_equal(sess.login_why, "Login failed: SASL "
	    "authentication failed (the server offers SCRAM-SHA-256, not "
	    "PLAIN)");

	/* 902 (nick locked) during the login fails it too. */
	login_start(SASL_PLAIN);
	feed(":irc.test CAP * LS :sasl");
	feed(":irc.test CAP * ACK :sasl");
	feed(":irc.test 902 me :You must use a nick assigned to you");
	assert_true(sess.login_failed);

	/* No sasl at all, or not our mechanism: fail before trying. */
	login_start(SASL_PLAIN);
	feed(":irc.test CAP * LS :server-time");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "QUIT :Login failed");
	assert_string_equal(sess.login_why,
	    "Login failed: the server does not offer SASL");
	login_start(SASL_PLAIN);
	feed(":irc.test CAP * LS :sasl=EXTERNAL,SCRAM-SHA-256");
	assert_string_equal(sess.login_why, "Login failed: the server offers "
	    "SASL EXTERNAL,SCRAM-SHA-256, not PLAIN");
	/* A server without CAP cannot log us in either. */
	login_start(SASL_PLAIN);
	feed(":irc.test CAP * NAK :sasl");
	assert_false(sess.login_failed);	/* never asked for */
	login_start(SASL_PLAIN);
	feed(":irc.test CAP * LS :sasl");
	feed(":irc.test CAP * NAK :sasl");
	assert_true(sess.login_failed);

	/* No login asked for: 904 is just shown, nothing is sent. */
	login_start(SASL_NONE);
	feed(":irc.test CAP * LS :sasl=PLAIN");
	assert_string_equal(out[0], "CAP END");
	feed(":irc.test 904 me :SASL authentication failed");
	assert_int_equal(nout, 0);
	assert_false(sess.login_failed);
}

static void
test_sasl_chunks(void **state)
{
	char	 pass[600];

	(void)state;
	/* 3 + 1 + 3 + 1 + 292 = 300 bytes: exactly 400 of base64, so a
	 * "+" follows. */
	login_start(SASL_PLAIN);
	snprintf(sess.sasl_user, sizeof(sess.sasl_user), "bob");
	memset(pass, 'x', 292);
	pass[292] = '\0';
	free(sess.sasl_pass);
	sess.sasl_pass = strdup(pass);
	feed(":irc.test CAP * LS :sasl");
	feed(":irc.test CAP * ACK :sasl");
	feed("AUTHENTICATE +");
	assert_int_equal(nout, 2);
	assert_int_equal(strlen(out[0]), strlen("AUTHENTICATE ") + 400);
	assert_string_equal(out[1], "AUTHENTICATE +");
	/* One byte more: a second, short line and no "+". */
	login_start(SASL_PLAIN);
	snprintf(sess.sasl_user, sizeof(sess.sasl_user), "bob");
	pass[292] = 'x';
	pass[293] = '\0';
	free(sess.sasl_pass);
	sess.sasl_pass = strdup(pass);
	feed(":irc.test CAP * LS :sasl");
	feed(":irc.test CAP * ACK :sasl");
	feed("AUTHENTICATE +");
	assert_int_equal(nout, 2);
	assert_int_equal(strlen(out[0]), strlen("AUTHENTICATE ") + 400);
	assert_string_equal(out[1], "AUTHENTICATE eA==");
}

static void
test_nickserv_echo_hidden(void **state)
{
	int	n;

	(void)state;
	n = sess.wins.n;
	feed(":me!u@h PRIVMSG NickServ :IDENTIFY sesame");
	feed(":me!u@h PRIVMSG nickserv :REGISTER sesame a@b");
	feed(":me!u@h PRIVMSG NickServ :PASSWD sesame sesame2");
	feed(":me!u@h PRIVMSG NickServ :drop sesame");
	assert_int_equal(sess.wins.n, n);
	for (int i = 0; i < count(0); i++)
		assert_null(strstr(scroll_get(&sess.wins.v[0]->sb, i)->text,
		    "sesame"));
}

/* A new nick per private message: windows stop at WINDOWS_MAX and the
 * rest show in the status window, not lost. */
static void
test_windows_bound(void **state)
{
	char	line[128];
	int	i;

	(void)state;
	for (i = 0; i < WINDOWS_MAX + 20; i++) {
		snprintf(line, sizeof(line), ":n%d!u@h PRIVMSG me :hi %d", i,
		    i);
		feed(line);
	}
	assert_int_equal(sess.wins.n, WINDOWS_MAX);
	assert_int_equal(windows_find(&sess.wins, "n300"), -1);
	assert_string_equal(last(0)->nick, "n275");
	assert_string_equal(last(0)->text, "hi 275");
}

/* draft/message-redaction: natter asks for it, keeps each message's
 * msgid, and a REDACT shows that line as deleted in its window only. */
static void
test_redact(void **state)
{
	const struct line	*l;
	int			 a, q, n0;

	(void)state;
	session_hello(&sess, out, &nout, OUT_MAX);
	feed(":irc.test CAP * LS :draft/message-redaction message-tags");
	assert_string_equal(out[0], "CAP REQ :message-tags "
	    "draft/message-redaction");
	feed(":irc.test CAP * ACK :message-tags draft/message-redaction");
	assert_true(sess.caps & CAP_MESSAGE_REDACTION);

	a = win("#a");
	n0 = count(a);
	feed("@msgid=m1 :alice!u@h PRIVMSG #a :oops");
	feed("@msgid=m2 :alice!u@h PRIVMSG #a :fine");
	feed("@msgid=m3 :me!u@h PRIVMSG #a :\001ACTION waves\001");
	feed("@msgid=p1 :bob!u@h PRIVMSG me :secret");
	q = win("bob");
	assert_int_equal(count(a), n0 + 3);
	/* Someone else's msgid, another window's, or none: ignored. */
	sess.dirty = 0;
	feed(":alice!u@h REDACT #a nosuch");
	feed(":alice!u@h REDACT #a p1");
	feed(":alice!u@h REDACT #nowhere m1");
	feed(":alice!u@h REDACT #a");
	assert_int_equal(sess.dirty, 0);
	assert_string_equal(last(q)->text, "secret");

	feed(":bob!u@h REDACT #a m1 :typo");
	assert_int_equal(sess.dirty, 1);
	assert_int_equal(count(a), n0 + 3);
	l = scroll_get(&sess.wins.v[a]->sb, n0);
	assert_string_equal(l->text, "(message deleted)");
	assert_string_equal(l->nick, "alice");
	assert_int_equal(l->kind, LINE_MSG);
	assert_int_equal(l->when, 1000);
	assert_string_equal(scroll_get(&sess.wins.v[a]->sb, n0 + 1)->text,
	    "fine");
	/* Our own action, and a private message to us (its window is
	 * the sender's). */
	feed(":me!u@h REDACT #a m3");
	assert_string_equal(last(a)->text, "(message deleted)");
	assert_int_equal(last(a)->kind, LINE_ACTION);
	feed(":bob!u@h REDACT me p1");
	assert_string_equal(last(q)->text, "(message deleted)");
	assert_string_equal(last(q)->nick, "bob");

	/* A history line keeps its msgid too. */
	feed(":irc.test BATCH +h chathistory #a");
	feed("@batch=h;time=2001-01-01T00:00:00.000Z;msgid=h1 "
	    ":carol!u@h PRIVMSG #a :old");
	feed(":irc.test BATCH -h");
	feed(":bob!u@h REDACT #a h1");
	for (q = 0; q < count(a); q++) {
		l = scroll_get(&sess.wins.v[a]->sb, q);
		if (l->nick != NULL && strcmp(l->nick, "carol") == 0)
			break;
	}
	assert_true(q < count(a));
	assert_string_equal(l->text, "(message deleted)");
	assert_true(l->history);
}

/* A hostile server's REDACTs: before any line, without parameters, from
 * the server, with a msgid of another window, of 5000 bytes, or the
 * first bytes of a msgid too long to keep.  None may touch a line. */
static void
test_redact_hostile(void **state)
{
	static char	 line[8192];
	struct irc_msg	 m;
	char		 id[5001];
	int		 a, q, n;

	(void)state;
	feed(":bob!u@h REDACT #a m1");
	feed(":bob!u@h REDACT me m1");
	feed(":bob!u@h REDACT");
	feed("REDACT");
	feed(":irc.test REDACT me x");
	feed("@msgid=p1 :bob!u@h PRIVMSG me :private");
	q = win("bob");
	a = win("#a");
	feed("@msgid=r1 :alice!u@h PRIVMSG #a :room");
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	/* A msgid too long to keep: the line has none. */
	snprintf(line, sizeof(line), "@msgid=%.100s :alice!u@h PRIVMSG #a "
	    ":long id", id);
	assert_int_equal(irc_parse(line, &m), 0);
	handle_line(&sess, &m, 1000, out, &nout, OUT_MAX);
	n = count(a);
	sess.dirty = 0;
	feed(":bob!u@h REDACT #a p1");		/* bob's window's */
	feed(":alice!u@h REDACT me r1");	/* #a's, as private */
	feed(":irc.test REDACT #a");
	feed(":irc.test REDACT #a :");
	/* The first MSGID_MAX - 1 bytes of the long one, and 5000. */
	snprintf(line, sizeof(line), ":alice!u@h REDACT #a %.*s",
	    MSGID_MAX - 1, id);
	assert_int_equal(irc_parse(line, &m), 0);
	handle_line(&sess, &m, 1000, out, &nout, OUT_MAX);
	snprintf(line, sizeof(line), ":alice!u@h REDACT #a %s", id);
	assert_int_equal(irc_parse(line, &m), 0);
	handle_line(&sess, &m, 1000, out, &nout, OUT_MAX);
	assert_int_equal(sess.dirty, 0);
	assert_int_equal(count(a), n);
	assert_string_equal(last(a)->text, "long id");
	assert_string_equal(scroll_get(&sess.wins.v[a]->sb, n - 2)->text,
	    "room");
	assert_string_equal(last(q)->text, "private");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_registration, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_autojoin_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_privmsg, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_notice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_part_kick_quit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_topic_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_numerics_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_batch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_order_dedupe,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_history, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_catch_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_plain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sasl_external, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sasl_failures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sasl_chunks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nickserv_echo_hidden,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_windows_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redact_hostile, setup,
		    teardown),
		cmocka_unit_test(test_mentions),
		cmocka_unit_test(test_colour),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
