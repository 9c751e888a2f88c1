/*
 * test_complete.c: Tab completion (tui/complete.c) of commands, rooms
 * and nicks: suffixes, case, cycling through matches, reset, and no
 * match.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <locale.h>
#include <string.h>

#include <cmocka.h>

#include "../tui/natter.h"

#define TABS_MAX	4

static struct edit	ed;
static struct windows	ws;
/* The rooms we are in: #a and #lobby have windows, #lounge not. */
static char		 room_a[] = "#a", room_lounge[] = "#lounge",
			 room_lobby[] = "#lobby";
static char		*rooms[] = { room_a, room_lounge, room_lobby };
#define NROOMS	((int)(sizeof(rooms) / sizeof(rooms[0])))

/* Tab in window win. */
static int
tab(struct complete *c, int win)
{
	ws.cur = win;
	return complete_word(c, &ed, &ws, rooms, NROOMS);
}

static int
setup(void **state)
{
	struct window	*w;
	int		 i;

	(void)state;
	edit_init(&ed);
	windows_init(&ws);
	/* Not ws.v[windows_open(...)]: the call may move ws.v. */
	i = windows_open(&ws, "#a", WIN_ROOM);
	w = ws.v[i];
	window_nick_add(w, "alice", '@');
	window_nick_add(w, "Alfred", ' ');
	window_nick_add(w, "bob", '+');
	window_nick_add(w, "[x]", ' ');
	windows_open(&ws, "carol", WIN_QUERY);
	windows_open(&ws, "#lobby", WIN_ROOM);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	edit_free(&ed);
	windows_free(&ws);
	return 0;
}

static const char *
line(void)
{
	static char	buf[EDIT_MAX * 4 + 1];

	edit_get(&ed, buf, sizeof(buf));
	return buf;
}

static void
test_complete(void **state)
{
	static const struct {
		const char	*text;
		size_t		 pos;		/* (size_t)-1: the end */
		int		 win;
		int		 tabs;
		int		 rc;
		const char	*want;
		size_t		 wantpos;	/* (size_t)-1: the end */
	} t[] = {
		/* Commands at the line start. */
		{ "/jo", -1, 0, 1, 0, "/join ", -1 },
		{ "/JO", -1, 0, 1, 0, "/join ", -1 },
		{ "/wh", -1, 0, 1, 0, "/who ", -1 },
		{ "/wh", -1, 0, 2, 0, "/whois ", -1 },
		{ "/wh", -1, 0, 3, 0, "/who ", -1 },	/* cycles round */
		{ "/q", -1, 0, 3, 0, "/quote ", -1 },
		{ "/xyz", -1, 0, 1, -1, "/xyz", -1 },
		{ "//jo", -1, 1, 1, -1, "//jo", -1 },
		/* Not the first word: a nick, not a command. */
		{ "/msg al", -1, 1, 1, 0, "/msg Alfred ", -1 },
		/* Nicks: ", " at the line start, " " elsewhere. */
		{ "al", -1, 1, 1, 0, "Alfred, ", -1 },
		{ "AL", -1, 1, 2, 0, "alice, ", -1 },
		{ "al", -1, 1, 3, 0, "Alfred, ", -1 },
		{ "hi b", -1, 1, 1, 0, "hi bob ", -1 },
		{ "hi B", -1, 1, 2, 0, "hi bob ", -1 },	/* only one */
		{ "[X", -1, 1, 1, 0, "[x], ", -1 },
		{ "{x", -1, 1, 1, 0, "[x], ", -1 },	/* rfc1459 */
		{ "hi z", -1, 1, 1, -1, "hi z", -1 },
		{ "", -1, 1, 1, -1, "", -1 },
		{ "hi ", -1, 1, 1, -1, "hi ", -1 },
		/* In the middle of the line. */
		{ "hi bo there", 5, 1, 1, 0, "hi bob  there", 7 },
		{ "bo there", 2, 1, 2, 0, "bob,  there", 5 },
		/* A query window completes its nick; status has none. */
		{ "ca", -1, 2, 1, 0, "carol, ", -1 },
		{ "al", -1, 0, 1, -1, "al", -1 },
		/* Multibyte before the word. */
		{ "caf\xc3\xa9 \xe6\x97\xa5 b", -1, 1, 1, 0,
		    "caf\xc3\xa9 \xe6\x97\xa5 bob ", -1 },
		/* Rooms: open room windows first, then the other rooms we
		 * are in; " " after, even at the line start. */
		{ "#lo", -1, 1, 1, 0, "#lobby ", -1 },
		{ "#lo", -1, 1, 2, 0, "#lounge ", -1 },
		{ "#lo", -1, 1, 3, 0, "#lobby ", -1 },	/* cycles round */
		{ "#LO", -1, 0, 1, 0, "#lobby ", -1 },
		{ "/join #lo", -1, 0, 1, 0, "/join #lobby ", -1 },
		{ "hi #", -1, 2, 1, 0, "hi #a ", -1 },
		{ "hi #", -1, 2, 2, 0, "hi #lobby ", -1 },
		{ "#z", -1, 1, 1, -1, "#z", -1 },
		{ "&x", -1, 1, 1, -1, "&x", -1 },
	};
	struct complete	c;
	size_t		i;
	int		k, rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		edit_set(&ed, t[i].text);
		if (t[i].pos != (size_t)-1)
			ed.pos = t[i].pos;
		complete_reset(&c);
		rc = 0;
		for (k = 0; k < t[i].tabs; k++)
			rc = tab(&c, t[i].win);
		if (rc != t[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, t[i].rc);
		if (strcmp(line(), t[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, line(),
			    t[i].want);
		if (ed.pos != (t[i].wantpos == (size_t)-1 ? ed.len :
		    t[i].wantpos))
			fail_msg("case %zu: pos %zu", i, ed.pos);
	}
}

static void
test_reset(void **state)
{
	struct complete	c;

	(void)state;
	complete_reset(&c);
	edit_set(&ed, "al");
	assert_int_equal(tab(&c, 1), 0);
	assert_string_equal(line(), "Alfred, ");
	assert_int_equal(c.active, 1);
	/* Another key: the UI resets, and Tab starts afresh. */
	complete_reset(&c);
	assert_int_equal(c.active, 0);
	edit_insert(&ed, L'b');
	edit_insert(&ed, L'o');
	assert_int_equal(tab(&c, 1), 0);
	assert_string_equal(line(), "Alfred, bob ");
	assert_string_equal(c.prefix, "bo");
	/* A line too full for the completion is left alone. */
	complete_reset(&c);
	edit_set(&ed, "");
	while (ed.len < EDIT_MAX - 2)
		edit_insert(&ed, L'x');
	edit_insert(&ed, L' ');
	edit_insert(&ed, L'b');
	assert_int_equal(tab(&c, 1), -1);
	assert_int_equal(ed.len, EDIT_MAX);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_complete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
