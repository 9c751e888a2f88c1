/*
 * test_window.c: windows and activity (tui/window.c): the status
 * window, opening and closing, marks that skip the current window,
 * next_active order, room nick lists (with who is away), and the read
 * marker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "casemap.h"
#include "../tui/natter.h"

static void
test_open_find_close(void **state)
{
	struct windows	ws;

	(void)state;
	windows_init(&ws);
	assert_int_equal(ws.n, 1);
	assert_int_equal(ws.cur, 0);
	assert_string_equal(ws.v[0]->name, "status");
	assert_int_equal(ws.v[0]->kind, WIN_STATUS);
	assert_int_equal(windows_find(&ws, "status"), 0);

	assert_int_equal(windows_open(&ws, "#a", WIN_ROOM), 1);
	assert_int_equal(windows_open(&ws, "bob", WIN_QUERY), 2);
	assert_int_equal(windows_open(&ws, "#B", WIN_ROOM), 3);
	/* Found again, case-insensitively (rfc1459: [ is {). */
	assert_int_equal(windows_open(&ws, "#A", WIN_ROOM), 1);
	assert_int_equal(windows_find(&ws, "BOB"), 2);
	assert_int_equal(windows_find(&ws, "#b"), 3);
	assert_int_equal(windows_find(&ws, "#c"), -1);
	assert_int_equal(windows_open(&ws, "x[1]", WIN_QUERY), 4);
	assert_int_equal(windows_find(&ws, "X{1}"), 4);
	assert_int_equal(ws.v[1]->kind, WIN_ROOM);
	assert_int_equal(ws.v[2]->kind, WIN_QUERY);
	assert_int_equal(ws.n, 5);
	/* A nick called "status" gets a query of its own. */
	assert_int_equal(windows_open(&ws, "status", WIN_QUERY), 5);
	windows_close(&ws, 5);

	/* Closing: never the status window; cur follows. */
	windows_close(&ws, 0);
	assert_int_equal(ws.n, 5);
	windows_close(&ws, 99);
	windows_close(&ws, -1);
	assert_int_equal(ws.n, 5);
	windows_switch(&ws, 3);
	windows_close(&ws, 1);
	assert_int_equal(ws.n, 4);
	assert_int_equal(ws.cur, 2);
	assert_string_equal(ws.v[ws.cur]->name, "#B");
	windows_close(&ws, 2);		/* the current one */
	assert_int_equal(ws.cur, 1);
	assert_string_equal(ws.v[1]->name, "bob");
	windows_close(&ws, 1);
	assert_int_equal(ws.cur, 0);
	windows_close(&ws, 1);
	assert_int_equal(ws.n, 1);
	assert_int_equal(ws.cur, 0);
	windows_free(&ws);
}

static void
test_activity(void **state)
{
	struct windows	ws;

	(void)state;
	windows_init(&ws);
	windows_open(&ws, "#a", WIN_ROOM);
	windows_open(&ws, "#b", WIN_ROOM);
	windows_open(&ws, "#c", WIN_ROOM);
	windows_open(&ws, "dave", WIN_QUERY);
	assert_int_equal(windows_next_active(&ws), -1);

	/* The current window is never marked. */
	windows_mark(&ws, 0, ACT_HIGHLIGHT);
	assert_int_equal(ws.v[0]->act, ACT_NONE);
	/* Marks only go up. */
	windows_mark(&ws, 1, ACT_MSG);
	windows_mark(&ws, 1, ACT_EVENT);
	assert_int_equal(ws.v[1]->act, ACT_MSG);
	windows_mark(&ws, 1, ACT_HIGHLIGHT);
	assert_int_equal(ws.v[1]->act, ACT_HIGHLIGHT);
	windows_mark(&ws, 2, ACT_EVENT);
	windows_mark(&ws, 3, ACT_MSG);
	windows_mark(&ws, 99, ACT_MSG);
	windows_mark(&ws, -1, ACT_MSG);

	/* Highlights first, then messages, then events. */
	assert_int_equal(windows_next_active(&ws), 1);
	windows_switch(&ws, 1);
	assert_int_equal(ws.v[1]->act, ACT_NONE);
	assert_int_equal(windows_next_active(&ws), 3);
	windows_switch(&ws, 3);
	assert_int_equal(windows_next_active(&ws), 2);
	windows_switch(&ws, 2);
	assert_int_equal(windows_next_active(&ws), -1);

	/* Same level: the first after cur, wrapping round. */
	windows_mark(&ws, 1, ACT_MSG);
	windows_mark(&ws, 4, ACT_MSG);
	assert_int_equal(windows_next_active(&ws), 4);
	windows_switch(&ws, 4);
	assert_int_equal(windows_next_active(&ws), 1);
	windows_mark(&ws, 0, ACT_EVENT);
	assert_int_equal(windows_next_active(&ws), 1);
	windows_switch(&ws, 1);
	assert_int_equal(windows_next_active(&ws), 0);
	windows_switch(&ws, 99);	/* ignored */
	assert_int_equal(ws.cur, 1);
	windows_free(&ws);
}

static void
test_nicks(void **state)
{
	struct windows	 ws;
	struct window	*w;
	int		 i;

	(void)state;
	windows_init(&ws);
	/* Not ws.v[windows_open(...)]: the call may move ws.v. */
	i = windows_open(&ws, "#a", WIN_ROOM);
	w = ws.v[i];
	assert_int_equal(window_nick_add(w, "carol", ' '), 0);
	assert_int_equal(window_nick_add(w, "alice", '@'), 0);
	assert_int_equal(window_nick_add(w, "Bob", '+'), 0);
	assert_int_equal(window_nick_add(w, "dave", 'x'), 0);
	assert_int_equal(w->nnicks, 4);
	/* Kept sorted, prefixes alongside. */
	assert_string_equal(w->nicks[0], "alice");
	assert_int_equal(w->prefixes[0], '@');
	assert_string_equal(w->nicks[1], "Bob");
	assert_int_equal(w->prefixes[1], '+');
	assert_string_equal(w->nicks[2], "carol");
	assert_int_equal(w->prefixes[2], ' ');
	assert_int_equal(w->prefixes[3], ' ');	/* unknown prefix */
	/* Adding again updates the prefix only. */
	assert_int_equal(window_nick_add(w, "BOB", '@'), 0);
	assert_int_equal(w->nnicks, 4);
	assert_int_equal(w->prefixes[1], '@');
	window_nick_rename(w, "bob", "zed");
	assert_int_equal(w->nnicks, 4);
	assert_string_equal(w->nicks[3], "zed");
	assert_int_equal(w->prefixes[3], '@');
	window_nick_rename(w, "nobody", "x");
	assert_int_equal(w->nnicks, 4);
	window_nick_del(w, "ALICE");
	window_nick_del(w, "nobody");
	assert_int_equal(w->nnicks, 3);
	assert_string_equal(w->nicks[0], "carol");
	window_nicks_clear(w);
	assert_int_equal(w->nnicks, 0);
	assert_null(w->nicks);
	window_nick_add(w, "again", ' ');
	/* windows_free frees nick lists, topics and scrollback. */
	w->topic = strdup("a topic");
	scroll_push(&w->sb, 1, LINE_MSG, "again", "hi", 0, 0);
	windows_free(&ws);
}

/* A hostile server's 353s cannot grow a room's list past NICKS_MAX,
 * and the list stays sorted and searchable all the way. */
static void
test_nicks_bound(void **state)
{
	struct windows	 ws;
	struct window	*w;
	char		 nick[32];
	int		 i, k;

	(void)state;
	windows_init(&ws);
	i = windows_open(&ws, "#big", WIN_ROOM);
	w = ws.v[i];
	for (k = 0; k < NICKS_MAX + 50; k++) {
		/* Out of order, as a server may send them. */
		snprintf(nick, sizeof(nick), "n%08x",
		    (unsigned)k * 2654435761u);
		assert_int_equal(window_nick_add(w, nick, ' '),
		    k < NICKS_MAX ? 0 : -1);
	}
	assert_int_equal(w->nnicks, NICKS_MAX);
	for (k = 1; k < w->nnicks; k++)
		assert_true(casemap_cmp(w->nicks[k - 1], w->nicks[k]) < 0);
	/* Known ones still update; a rename keeps its place in order. */
	snprintf(nick, sizeof(nick), "N%08X", 7u * 2654435761u);
	assert_int_equal(window_nick_add(w, nick, '@'), 0);
	assert_int_equal(window_nick_prefix(w, nick), '@');
	window_nick_rename(w, nick, "zz");
	assert_int_equal(w->nnicks, NICKS_MAX);
	assert_string_equal(w->nicks[NICKS_MAX - 1], "zz");
	assert_int_equal(window_nick_prefix(w, "ZZ"), '@');
	windows_free(&ws);
}

static void
test_away(void **state)
{
	struct windows	 ws;
	struct window	*w;
	int		 i;

	(void)state;
	windows_init(&ws);
	i = windows_open(&ws, "#a", WIN_ROOM);
	w = ws.v[i];
	window_nick_add(w, "carol", ' ');
	window_nick_add(w, "alice", '@');
	assert_int_equal(window_nick_away(w, "CAROL", 1), 0);
	assert_int_equal(window_nick_away(w, "nobody", 1), -1);
	assert_int_equal(w->away[0], 0);	/* alice */
	assert_int_equal(w->away[1], 1);	/* carol */
	/* The flag moves with its nick when others come and go ... */
	window_nick_add(w, "bob", '+');
	assert_string_equal(w->nicks[2], "carol");
	assert_int_equal(w->away[1], 0);
	assert_int_equal(w->away[2], 1);
	window_nick_del(w, "alice");
	assert_int_equal(w->away[0], 0);
	assert_int_equal(w->away[1], 1);
	/* ... and when it changes its nick; a prefix update keeps it. */
	window_nick_rename(w, "carol", "aaron");
	assert_string_equal(w->nicks[0], "aaron");
	assert_int_equal(w->away[0], 1);
	assert_int_equal(w->away[1], 0);
	window_nick_add(w, "aaron", '@');
	assert_int_equal(w->away[0], 1);
	assert_int_equal(window_nick_prefix(w, "AARON"), '@');
	assert_int_equal(window_nick_prefix(w, "bob"), '+');
	assert_int_equal(window_nick_prefix(w, "nobody"), 0);
	assert_int_equal(window_nick_away(w, "aaron", 0), 0);
	assert_int_equal(w->away[0], 0);
	window_nicks_clear(w);
	assert_null(w->away);
	windows_free(&ws);
}

/* A message line at t seconds and ms into window w. */
static void
say(struct window *w, enum line_kind kind, time_t t, int ms,
    const char *text)
{
	struct line	l;

	memset(&l, 0, sizeof(l));
	l.when = t;
	l.msec = ms;
	l.kind = kind;
	l.nick = kind == LINE_MSG ? (char *)"bob" : NULL;
	l.text = (char *)text;
	scroll_insert(&w->sb, w->sb.count, &l);
}

static void
test_read_marker(void **state)
{
	struct windows	 ws;
	struct window	*w;
	int		 a;

	(void)state;
	windows_init(&ws);
	a = windows_open(&ws, "#a", WIN_ROOM);
	w = ws.v[a];
	windows_switch(&ws, a);
	/* Lines that come while the window is in view bring no marker. */
	say(w, LINE_MSG, 100, 0, "one");
	assert_int_equal(w->marker_on, 0);
	/* Leaving reads it: what comes after is unread. */
	windows_switch(&ws, 0);
	assert_int_equal(w->markread_want, 100000);
	assert_int_equal(window_first_unread(w), -1);
	say(w, LINE_MSG, 101, 500, "two");
	say(w, LINE_EVENT, 102, 0, "x has joined");
	say(w, LINE_MSG, 103, 0, "three");
	assert_int_equal(window_first_unread(w), 1);
	windows_switch(&ws, a);
	assert_int_equal(w->marker_on, 1);
	/* A server marker reads up to its time. */
	w->read_ms = 101500;
	assert_int_equal(window_first_unread(w), 2);
	w->read_ms = 103000;
	assert_int_equal(window_first_unread(w), -1);
	w->read_ms = 0;
	/* Leaving again moves it; the newest message (not the event)
	 * is what the server is told. */
	windows_switch(&ws, 0);
	assert_int_equal(window_first_unread(w), -1);
	assert_int_equal(w->markread_want, 103000);
	assert_int_equal(w->marker_on, 0);
	/* Coming back with nothing new: no marker. */
	windows_switch(&ws, a);
	assert_int_equal(w->marker_on, 0);
	/* /clear keeps counting, so old marks stay behind. */
	windows_switch(&ws, 0);
	scroll_clear(&w->sb);
	say(w, LINE_MSG, 104, 0, "four");
	assert_int_equal(window_first_unread(w), 0);
	/* Closing the window in view enters the one before. */
	windows_switch(&ws, a);
	windows_close(&ws, a);
	assert_int_equal(ws.cur, 0);
	/* The status window has a marker too, but nothing to tell. */
	say(ws.v[0], LINE_INFO, 105, 0, "info");
	a = windows_open(&ws, "#b", WIN_ROOM);
	windows_switch(&ws, a);
	assert_int_equal(ws.v[0]->markread_want, 0);
	assert_int_equal(window_first_unread(ws.v[0]), -1);
	windows_free(&ws);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_open_find_close),
		cmocka_unit_test(test_activity),
		cmocka_unit_test(test_nicks),
		cmocka_unit_test(test_nicks_bound),
		cmocka_unit_test(test_away),
		cmocka_unit_test(test_read_marker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
