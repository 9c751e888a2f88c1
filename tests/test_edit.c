/*
 * test_edit.c: the line editor (tui/edit.c): every key op, on ASCII and
 * on multibyte, wide, emoji and combining text, the kill buffer, history
 * browsing with a draft, and display widths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../tui/natter.h"

#define OPS_MAX	8
#define END	(-1)

static struct edit	ed;

static int
setup(void **state)
{
	(void)state;
	edit_init(&ed);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	edit_free(&ed);
	return 0;
}

static const char *
line(void)
{
	static char	buf[EDIT_MAX * 4 + 1];

	edit_get(&ed, buf, sizeof(buf));
	return buf;
}

/* Types UTF-8 text as keystrokes. */
static void
type(const char *s)
{
	mbstate_t	ps;
	wchar_t		wc;
	size_t		n;

	memset(&ps, 0, sizeof(ps));
	while (*s != '\0') {
		n = mbrtowc(&wc, s, strlen(s), &ps);
		assert_true(n > 0 && n < 5);
		assert_int_equal(edit_insert(&ed, wc), 0);
		s += n;
	}
}

static void
test_insert(void **state)
{
	size_t	i;

	(void)state;
	type("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82");
	assert_string_equal(line(),
	    "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82");
	assert_int_equal(ed.len, 10);
	assert_int_equal(ed.pos, 10);
	/* Control characters never enter the line. */
	assert_int_equal(edit_insert(&ed, L'\r'), -1);
	assert_int_equal(edit_insert(&ed, L'\n'), -1);
	assert_int_equal(edit_insert(&ed, 0), -1);
	assert_int_equal(edit_insert(&ed, 0x7f), -1);
	assert_int_equal(edit_insert(&ed, 0x85), -1);
	assert_int_equal(ed.len, 10);
	/* Insert in the middle. */
	edit_do(&ed, EDIT_HOME);
	assert_int_equal(edit_insert(&ed, L'>'), 0);
	assert_int_equal(ed.pos, 1);
	assert_int_equal(strncmp(line(), ">h\xc3\xa9", 4), 0);
	/* Full. */
	edit_set(&ed, "");
	for (i = 0; i < EDIT_MAX; i++)
		assert_int_equal(edit_insert(&ed, L'x'), 0);
	assert_int_equal(edit_insert(&ed, L'x'), -1);
	assert_int_equal(ed.len, EDIT_MAX);
}

static void
test_ops(void **state)
{
	static const struct {
		const char	*text;
		size_t		 pos;		/* wide chars */
		int		 ops[OPS_MAX];
		const char	*want;
		size_t		 wantpos;
	} t[] = {
		{ "h\xc3\xa9llo", 5, { EDIT_HOME, END }, "h\xc3\xa9llo", 0 },
		{ "h\xc3\xa9llo", 0, { EDIT_END, END }, "h\xc3\xa9llo", 5 },
		{ "h\xc3\xa9llo", 5, { EDIT_LEFT, EDIT_LEFT, END },
		    "h\xc3\xa9llo", 3 },
		{ "ab", 0, { EDIT_LEFT, END }, "ab", 0 },
		{ "ab", 2, { EDIT_RIGHT, END }, "ab", 2 },
		{ "ab", 0, { EDIT_RIGHT, END }, "ab", 1 },
		/* Combining: e + U+0301 moves and deletes as one. */
		{ "xe\xcc\x81y", 4, { EDIT_LEFT, EDIT_LEFT, END },
		    "xe\xcc\x81y", 1 },
		{ "xe\xcc\x81y", 1, { EDIT_RIGHT, END }, "xe\xcc\x81y", 3 },
		{ "xe\xcc\x81", 3, { EDIT_BACKSPACE, END }, "x", 1 },
		{ "e\xcc\x81y", 0, { EDIT_DELETE, END }, "y", 0 },
		/* Wide and emoji. */
		{ "\xe6\x97\xa5\xe6\x9c\xac", 2, { EDIT_BACKSPACE, END },
		    "\xe6\x97\xa5", 1 },
		{ "a\xf0\x9f\x99\x82" "b", 2, { EDIT_BACKSPACE, END },
		    "ab", 1 },
		{ "a\xf0\x9f\x99\x82" "b", 1, { EDIT_DELETE, END }, "ab", 1 },
		{ "h\xc3\xa9", 2, { EDIT_BACKSPACE, END }, "h", 1 },
		{ "", 0, { EDIT_BACKSPACE, EDIT_DELETE, EDIT_LEFT,
		    EDIT_RIGHT, END }, "", 0 },
		{ "ab", 2, { EDIT_DELETE, END }, "ab", 2 },
		/* Words: runs of non-alnum separate (emacs). */
		{ "hello, world", 12, { EDIT_WORD_LEFT, END },
		    "hello, world", 7 },
		{ "hello, world", 12, { EDIT_WORD_LEFT, EDIT_WORD_LEFT, END },
		    "hello, world", 0 },
		{ "hello, world", 0, { EDIT_WORD_RIGHT, END },
		    "hello, world", 5 },
		{ "hello, world", 5, { EDIT_WORD_RIGHT, END },
		    "hello, world", 12 },
		{ "caf\xc3\xa9 cr\xc3\xa8me", 10, { EDIT_WORD_LEFT, END },
		    "caf\xc3\xa9 cr\xc3\xa8me", 5 },
		{ "cafe\xcc\x81 x", 7, { EDIT_WORD_LEFT, EDIT_WORD_LEFT, END },
		    "cafe\xcc\x81 x", 0 },
		{ "cafe\xcc\x81 x", 0, { EDIT_WORD_RIGHT, END },
		    "cafe\xcc\x81 x", 5 },
		/* Kills. */
		{ "hello world", 5, { EDIT_KILL_END, END }, "hello", 5 },
		{ "hello world", 6, { EDIT_KILL_START, END }, "world", 0 },
		{ "/join #a,#b", 11, { EDIT_KILL_WORD, END }, "/join ", 6 },
		{ "one two  ", 9, { EDIT_KILL_WORD, END }, "one ", 4 },
		{ "one two", 5, { EDIT_KILL_WORD, END }, "one wo", 4 },
		{ "hello world", 5, { EDIT_KILL_END, EDIT_HOME, EDIT_YANK,
		    END }, " worldhello", 6 },
		/* Each kill replaces the last (no appending). */
		{ "a b c", 5, { EDIT_KILL_WORD, EDIT_KILL_WORD, EDIT_YANK,
		    END }, "a b ", 4 },
		{ "\xe6\x97\xa5\xe6\x9c\xac x", 2, { EDIT_KILL_START,
		    EDIT_END, EDIT_YANK, END },
		    " x\xe6\x97\xa5\xe6\x9c\xac", 4 },
		/* An empty kill keeps the last one. */
		{ "ab", 2, { EDIT_KILL_START, EDIT_KILL_START, EDIT_YANK,
		    EDIT_YANK, END }, "abab", 4 },
		{ "ab", 0, { EDIT_YANK, END }, "ab", 0 },
		/* Transpose. */
		{ "ab", 1, { EDIT_TRANSPOSE, END }, "ba", 2 },
		{ "abc", 3, { EDIT_TRANSPOSE, END }, "acb", 3 },
		{ "abc", 0, { EDIT_TRANSPOSE, END }, "abc", 0 },
		{ "a", 1, { EDIT_TRANSPOSE, END }, "a", 1 },
		{ "e\xcc\x81x", 3, { EDIT_TRANSPOSE, END }, "xe\xcc\x81", 3 },
		{ "a\xe6\x97\xa5", 2, { EDIT_TRANSPOSE, END },
		    "\xe6\x97\xa5" "a", 2 },
	};
	size_t	i, k;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		edit_set(&ed, t[i].text);
		ed.pos = t[i].pos;
		ed.killlen = 0;
		for (k = 0; k < OPS_MAX && t[i].ops[k] != END; k++)
			edit_do(&ed, (enum edit_op)t[i].ops[k]);
		if (strcmp(line(), t[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, line(),
			    t[i].want);
		if (ed.pos != t[i].wantpos)
			fail_msg("case %zu: pos %zu, want %zu", i, ed.pos,
			    t[i].wantpos);
	}
}

static void
test_history(void **state)
{
	int	i;
	char	buf[16];

	(void)state;
	/* Nothing to browse. */
	type("draft");
	edit_do(&ed, EDIT_HIST_PREV);
	assert_string_equal(line(), "draft");
	edit_do(&ed, EDIT_HIST_NEXT);
	assert_string_equal(line(), "draft");
	edit_set(&ed, "");

	type("one");
	edit_commit(&ed);
	assert_string_equal(line(), "");
	assert_int_equal(ed.pos, 0);
	type("two");
	edit_commit(&ed);
	type("two");
	edit_commit(&ed);		/* same as last: not added */
	edit_commit(&ed);		/* empty: not added */
	assert_int_equal(ed.nhist, 2);
	assert_int_equal(ed.histpos, 2);

	type("typing");
	edit_do(&ed, EDIT_HIST_PREV);
	assert_string_equal(line(), "two");
	assert_int_equal(ed.pos, 3);
	edit_do(&ed, EDIT_HIST_PREV);
	assert_string_equal(line(), "one");
	edit_do(&ed, EDIT_HIST_PREV);	/* the oldest: stays */
	assert_string_equal(line(), "one");
	/* Editing a recalled entry leaves history alone. */
	type("!!");
	assert_string_equal(line(), "one!!");
	edit_do(&ed, EDIT_HIST_NEXT);
	assert_string_equal(line(), "two");
	edit_do(&ed, EDIT_HIST_PREV);
	assert_string_equal(line(), "one");
	edit_do(&ed, EDIT_HIST_NEXT);
	edit_do(&ed, EDIT_HIST_NEXT);	/* past the newest: the draft */
	assert_string_equal(line(), "typing");
	assert_int_equal(ed.pos, 6);
	assert_null(ed.draft);
	edit_do(&ed, EDIT_HIST_NEXT);
	assert_string_equal(line(), "typing");
	assert_string_equal(ed.hist[0], "one");
	assert_string_equal(ed.hist[1], "two");

	/* Committing a recalled line adds it anew and ends browsing. */
	edit_do(&ed, EDIT_HIST_PREV);
	edit_do(&ed, EDIT_HIST_PREV);
	edit_commit(&ed);
	assert_int_equal(ed.nhist, 3);
	assert_string_equal(ed.hist[2], "one");
	assert_int_equal(ed.histpos, 3);

	/* Multibyte round trip. */
	type("\xe6\x97\xa5\xf0\x9f\x99\x82");
	edit_commit(&ed);
	edit_do(&ed, EDIT_HIST_PREV);
	assert_string_equal(line(), "\xe6\x97\xa5\xf0\x9f\x99\x82");
	assert_int_equal(ed.len, 2);
	edit_commit(&ed);

	/* Full: the oldest goes. */
	for (i = 0; i < HISTORY_MAX + 5; i++) {
		snprintf(buf, sizeof(buf), "l%d", i);
		type(buf);
		edit_commit(&ed);
	}
	assert_int_equal(ed.nhist, HISTORY_MAX);
	assert_string_equal(ed.hist[0], "l5");
	snprintf(buf, sizeof(buf), "l%d", HISTORY_MAX + 4);
	assert_string_equal(ed.hist[HISTORY_MAX - 1], buf);
}

static void
test_width(void **state)
{
	static const struct {
		const char	*text;
		size_t		 from, to;
		int		 want;
	} t[] = {
		{ "hello", 0, 5, 5 },
		{ "h\xc3\xa9llo", 0, 5, 5 },
		{ "\xe6\x97\xa5\xe6\x9c\xac", 0, 2, 4 },
		{ "\xe6\x97\xa5\xe6\x9c\xac", 1, 2, 2 },
		{ "\xf0\x9f\x99\x82", 0, 1, 2 },
		{ "e\xcc\x81", 0, 2, 1 },
		{ "a\xe6\x97\xa5\xf0\x9f\x99\x82" "e\xcc\x81", 0, 5, 6 },
		{ "abc", 0, 99, 3 },		/* clamped */
		{ "abc", 2, 2, 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		edit_set(&ed, t[i].text);
		if (edit_width(&ed, t[i].from, t[i].to) != t[i].want)
			fail_msg("case %zu: width %d, want %d", i,
			    edit_width(&ed, t[i].from, t[i].to), t[i].want);
	}
	/* A non-printable that got in anyway takes one cell. */
	ed.buf[0] = 0x85;
	ed.len = 1;
	assert_int_equal(edit_width(&ed, 0, 1), 1);
}

static void
test_get_set(void **state)
{
	char	buf[5];

	(void)state;
	edit_set(&ed, "ab\xe6\x97\xa5");
	assert_int_equal(ed.len, 3);
	assert_int_equal(ed.pos, 3);
	/* Never half a character. */
	assert_int_equal(edit_get(&ed, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(edit_get(&ed, buf, 1), 0);
	assert_string_equal(buf, "");
	/* Invalid bytes and control characters become U+FFFD. */
	edit_set(&ed, "a\xff" "b\r");
	assert_int_equal(ed.len, 4);
	assert_int_equal(ed.buf[1], 0xfffd);
	assert_int_equal(ed.buf[3], 0xfffd);
	edit_set(&ed, "\xe6\x97");		/* truncated */
	assert_int_equal(ed.len, 2);
	edit_set(&ed, NULL);
	assert_int_equal(ed.len, 0);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_width, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_set, setup,
		    teardown),
	};

	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
