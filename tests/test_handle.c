/*
 * test_handle.c: server lines applied to the model (tui/handle.c): each
 * message kind into its window, highlights and the bell, registration
 * (001 auto-join, 433 retry), PING, nick lists from 353/366 and MODE,
 * and the mentions() and nick_colour() helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	    "bob Nickname is already in use");
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
	feed(":me!u@h PRIVMSG dave :to dave");
	assert_int_equal(last(q)->self, 1);
	assert_string_equal(last(q)->text, "to dave");

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
	int	a;

	(void)state;
	a = win("#a");
	feed(":irc.test 318 me bob :End of /WHOIS list");
	assert_int_equal(last(0)->kind, LINE_INFO);
	assert_string_equal(last(0)->text, "bob End of /WHOIS list");
	feed(":irc.test 375 me :- irc.test Message of the day -");
	assert_string_equal(last(0)->text, "- irc.test Message of the day -");
	/* 265/266 repeat their counts in the text: show the text alone. */
	feed(":irc.test 265 me 1 1 :Current local users 1, max 1");
	assert_string_equal(last(0)->text, "Current local users 1, max 1");
	/* Errors show where the user is looking. */
	feed(":irc.test 401 me nobody :No such nick/channel");
	assert_int_equal(last(a)->kind, LINE_ERROR);
	assert_string_equal(last(a)->text, "nobody No such nick/channel");
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
		cmocka_unit_test(test_mentions),
		cmocka_unit_test(test_colour),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
