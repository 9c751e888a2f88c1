/*
 * test_presence.c: presence and reading in tui/handle.c (issue 12,
 * parts 6 and 7): our away state from 305/306, who else is away (the
 * quiet WHO after joining, away-notify), a room we left, the prefix a
 * message's nick had, MARKREAD from the server and the MARKREAD lines
 * natter sends, at most one a second per window.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../tui/natter.h"

#define OUT_MAX	8

static struct session	sess;
static char		out[OUT_MAX][512];
static int		nout;

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

/* markread_flush at now_ms into out. */
static void
flush(long long now_ms)
{
	nout = 0;
	markread_flush(&sess, now_ms, out, &nout, OUT_MAX);
}

static struct window *
win(const char *name)
{
	int	i = windows_find(&sess.wins, name);

	if (i < 0)
		fail_msg("no window %s", name);
	return sess.wins.v[i];
}

static const struct line *
last(const struct window *w)
{
	if (w->sb.count == 0)
		fail_msg("window %s is empty", w->name);
	return scroll_get(&w->sb, w->sb.count - 1);
}

/* Registered as "me" with away-notify, in #a with alice, @bob, +carol. */
static int
setup(void **state)
{
	(void)state;
	session_init(&sess);
	snprintf(sess.nick, sizeof(sess.nick), "me");
	sess.caps = CAP_AWAY_NOTIFY | CAP_SERVER_TIME;
	feed(":irc.test 001 me :Welcome to natter me");
	feed(":me!u@h JOIN #a");
	feed(":irc.test 353 me = #a :me alice @bob +carol");
	feed(":irc.test 366 me #a :End of /NAMES list");
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
test_defaults(void **state)
{
	(void)state;
	assert_int_equal(sess.nicklist, -1);
	assert_int_equal(sess.show_prefixes, 1);
}

static void
test_own_away(void **state)
{
	(void)state;
	feed(":irc.test 306 me :You have been marked as being away");
	assert_int_equal(sess.away, 1);
	/* The reply is still shown, where the command was typed. */
	assert_string_equal(last(sess.wins.v[sess.wins.cur])->text,
	    "You have been marked as being away");
	feed(":irc.test 305 me :You are no longer marked as being away");
	assert_int_equal(sess.away, 0);
	feed(":irc.test 306 me :You have been marked as being away");
	/* A new connection: the server has forgotten it. */
	session_hello(&sess, out, &nout, OUT_MAX);
	assert_int_equal(sess.away, 0);
}

static void
test_who_after_join(void **state)
{
	struct window	*w;
	int		 lines;

	(void)state;
	/* setup's 366 asked who is away, once. */
	w = win("#a");
	assert_int_equal(w->who_pending, 1);
	feed(":irc.test 366 me #a :End of /NAMES list");
	assert_int_equal(nout, 0);
	lines = w->sb.count + sess.wins.v[0]->sb.count;
	/* The user's own /who, labeled, while ours is pending: shown. */
	feed("@label=w1 :irc.test 352 me #a u h irc.test alice G :0 Alice");
	assert_int_equal(w->away[0], 0);
	assert_true(w->sb.count + sess.wins.v[0]->sb.count > lines);
	lines = w->sb.count + sess.wins.v[0]->sb.count;
	feed(":irc.test 352 me #a u h irc.test carol G+ :0 Carol");
	feed(":irc.test 352 me #a u h irc.test bob H@ :0 Bob");
	feed(":irc.test 315 me #a :End of WHO list");
	assert_int_equal(w->who_pending, 0);
	/* Quiet: nothing printed anywhere. */
	assert_int_equal(w->sb.count + sess.wins.v[0]->sb.count, lines);
	/* Sorted: alice, bob, carol, me. */
	assert_int_equal(w->away[0], 0);
	assert_int_equal(w->away[1], 0);
	assert_int_equal(w->away[2], 1);
	/* The user's own /who afterwards is shown, and changes nothing. */
	feed(":irc.test 352 me #a u h irc.test alice G :0 Alice");
	assert_int_equal(w->away[0], 0);
	assert_true(w->sb.count + sess.wins.v[0]->sb.count > lines);
	/* A /names later: its 366 asks nothing (one WHO a JOIN). */
	feed(":irc.test 366 me #a :End of /NAMES list");
	assert_int_equal(nout, 0);
	/* Joining again asks again. */
	feed(":me!u@h PART #a");
	feed(":me!u@h JOIN #a");
	feed(":irc.test 366 me #a :End of /NAMES list");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "WHO #a");

	/* Without away-notify no WHO goes out. */
	sess.caps = 0;
	feed(":me!u@h JOIN #b");
	feed(":irc.test 366 me #b :End of /NAMES list");
	assert_int_equal(nout, 0);
	sess.caps = CAP_AWAY_NOTIFY;
	feed(":me!u@h JOIN #c");
	feed(":irc.test 366 me #c :End of /NAMES list");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "WHO #c");
}

static void
test_away_notify(void **state)
{
	struct window	*w;
	int		 lines;

	(void)state;
	feed(":me!u@h JOIN #b");
	feed(":irc.test 353 me = #b :me alice");
	w = win("#b");
	lines = sess.wins.v[0]->sb.count + w->sb.count;
	feed(":alice!u@h AWAY :lunch");
	assert_int_equal(win("#a")->away[0], 1);
	assert_int_equal(w->away[0], 1);
	/* Not shown as a raw line. */
	assert_int_equal(sess.wins.v[0]->sb.count + w->sb.count, lines);
	feed(":alice!u@h AWAY");
	assert_int_equal(win("#a")->away[0], 0);
	assert_int_equal(w->away[0], 0);
	feed(":alice!u@h AWAY :again");
	feed(":alice!u@h NICK :alicia");
	assert_int_equal(w->away[0], 1);
	assert_string_equal(w->nicks[0], "alicia");
}

static void
test_left(void **state)
{
	struct window	*w;

	(void)state;
	w = win("#a");
	assert_int_equal(w->left, 0);
	feed(":me!u@h PART #a :bye");
	assert_int_equal(w->left, 1);
	assert_int_equal(w->joined, 0);
	feed(":me!u@h JOIN #a");
	assert_int_equal(w->left, 0);
	feed(":bob!u@h KICK #a me :out");
	assert_int_equal(w->left, 1);
	feed(":me!u@h JOIN #a");
	assert_int_equal(w->left, 0);
	/* Someone else leaving is not us leaving. */
	feed(":alice!u@h PART #a");
	assert_int_equal(w->left, 0);
}

static void
test_prefixes(void **state)
{
	struct window	*w;

	(void)state;
	w = win("#a");
	feed(":bob!u@h PRIVMSG #a :op here");
	assert_int_equal(last(w)->prefix, '@');
	feed(":carol!u@h PRIVMSG #a :voice here");
	assert_int_equal(last(w)->prefix, '+');
	feed(":alice!u@h PRIVMSG #a :plain");
	assert_int_equal(last(w)->prefix, 0);
	/* The prefix then, not now. */
	feed(":bob!u@h MODE #a -o bob");
	feed(":bob!u@h PRIVMSG #a :plain now");
	assert_int_equal(last(w)->prefix, 0);
	assert_int_equal(scroll_get(&w->sb, w->sb.count - 5)->prefix, '@');
	/* Private messages have none. */
	feed(":carol!u@h PRIVMSG me :psst");
	assert_int_equal(last(win("carol"))->prefix, 0);
}

static void
test_markread_in(void **state)
{
	struct window	*w;

	(void)state;
	w = win("#a");
	/* "*": nothing read; an unknown window: nothing to move. */
	feed(":irc.test MARKREAD #a *");
	assert_int_equal(w->read_ms, 0);
	feed(":irc.test MARKREAD #zz timestamp=2025-01-04T14:33:26.123Z");
	feed(":irc.test MARKREAD #a timestamp=2025-01-04T14:33:26.123Z");
	assert_int_equal(w->read_ms, 1736001206123LL);
	assert_int_equal(w->markread_sent, 1736001206123LL);
	/* #a is in view: the marker shows where the other device left. */
	assert_int_equal(w->marker_on, 1);
	/* Never back. */
	feed(":irc.test MARKREAD #A timestamp=2025-01-01T00:00:00.000Z");
	assert_int_equal(w->read_ms, 1736001206123LL);
	feed(":irc.test MARKREAD #a timestamp=garbage");
	assert_int_equal(w->read_ms, 1736001206123LL);
}

static void
test_markread_out(void **state)
{
	struct window	*w;

	(void)state;
	w = win("#a");
	w->markread_want = 1736001206123LL;
	/* Not without the cap, an account and a connection. */
	flush(10000);
	assert_int_equal(nout, 0);
	sess.caps |= CAP_READ_MARKER;
	flush(10000);
	assert_int_equal(nout, 0);
	snprintf(sess.account, sizeof(sess.account), "me");
	flush(10000);
	assert_int_equal(nout, 1);
	assert_string_equal(out[0],
	    "MARKREAD #a timestamp=2025-01-04T14:33:26.123Z");
	/* Once. */
	flush(10001);
	assert_int_equal(nout, 0);
	/* A second read within the second waits for it. */
	w->markread_want = 1736001207000LL;
	flush(10999);
	assert_int_equal(nout, 0);
	w->markread_want = 1736001208000LL;	/* and only the last goes */
	flush(11000);
	assert_int_equal(nout, 1);
	assert_string_equal(out[0],
	    "MARKREAD #a timestamp=2025-01-04T14:33:28.000Z");
	/* Older than what was sent: nothing. */
	w->markread_want = 1736001207000LL;
	flush(20000);
	assert_int_equal(nout, 0);
	/* Not registered (the link dropped): it waits. */
	w->markread_want = 1736001209000LL;
	sess.registered = 0;
	flush(30000);
	assert_int_equal(nout, 0);
	sess.registered = 1;
	flush(30000);
	assert_int_equal(nout, 1);
}

static void
test_markread_bound(void **state)
{
	char	name[16];
	int	i, k, sent = 0;

	(void)state;
	/* Many windows read at once: out[] bounds a call, the rest go
	 * with the next. */
	sess.caps |= CAP_READ_MARKER;
	snprintf(sess.account, sizeof(sess.account), "me");
	for (i = 0; i < OUT_MAX + 3; i++) {
		snprintf(name, sizeof(name), "#r%d", i);
		windows_open(&sess.wins, name, WIN_ROOM);
	}
	for (k = 1; k < sess.wins.n; k++)
		sess.wins.v[k]->markread_want = 1736001206000LL + k;
	flush(5000);
	assert_int_equal(nout, OUT_MAX);
	sent += nout;
	flush(5000);
	sent += nout;
	assert_int_equal(sent, sess.wins.n - 1);
	/* Every window at most once a second, however often asked. */
	for (i = 0; i < 100; i++) {
		for (k = 1; k < sess.wins.n; k++)
			sess.wins.v[k]->markread_want = 1736001300000LL + i;
		flush(5001 + i);
		assert_int_equal(nout, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_own_away, setup, teardown),
		cmocka_unit_test_setup_teardown(test_who_after_join, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_away_notify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefixes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_markread_in, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_markread_out, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_markread_bound, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
