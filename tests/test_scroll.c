/*
 * test_scroll.c: the scrollback ring (tui/scroll.c): order, overflow,
 * clamped scrolling, a view that stays put while scrolled up, and
 * insertion in the middle (history lines).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../tui/natter.h"

static void
push_n(struct scroll *sb, int from, int n)
{
	char	text[32];
	int	i;

	for (i = from; i < from + n; i++) {
		snprintf(text, sizeof(text), "line %d", i);
		scroll_push(sb, (time_t)i, LINE_MSG, "bob", text, 0, 0);
	}
}

static void
test_push_get(void **state)
{
	struct scroll		 sb;
	const struct line	*l;

	(void)state;
	scroll_init(&sb);
	assert_null(scroll_get(&sb, 0));
	assert_int_equal(sb.count, 0);
	scroll_push(&sb, 100, LINE_MSG, "alice", "hello", 1, 0);
	scroll_push(&sb, 101, LINE_EVENT, NULL, "bob has joined #a", 0, 0);
	scroll_push(&sb, 102, LINE_ACTION, "me", "waves", 0, 1);
	scroll_push(&sb, 103, LINE_INFO, NULL, NULL, 0, 0);
	assert_int_equal(sb.count, 4);
	l = scroll_get(&sb, 0);
	assert_non_null(l);
	assert_int_equal(l->when, 100);
	assert_int_equal(l->kind, LINE_MSG);
	assert_string_equal(l->nick, "alice");
	assert_string_equal(l->text, "hello");
	assert_int_equal(l->highlight, 1);
	assert_int_equal(l->self, 0);
	l = scroll_get(&sb, 1);
	assert_null(l->nick);
	assert_int_equal(l->kind, LINE_EVENT);
	l = scroll_get(&sb, 2);
	assert_int_equal(l->self, 1);
	assert_int_equal(l->kind, LINE_ACTION);
	assert_string_equal(scroll_get(&sb, 3)->text, "");
	assert_null(scroll_get(&sb, 4));
	assert_null(scroll_get(&sb, -1));
	scroll_clear(&sb);
	assert_int_equal(sb.count, 0);
	assert_null(scroll_get(&sb, 0));
	push_n(&sb, 0, 3);
	assert_string_equal(scroll_get(&sb, 2)->text, "line 2");
	scroll_free(&sb);
}

static void
test_overflow(void **state)
{
	struct scroll	sb;
	char		want[32];

	(void)state;
	scroll_init(&sb);
	push_n(&sb, 0, SCROLL_MAX + 10);
	assert_int_equal(sb.count, SCROLL_MAX);
	assert_string_equal(scroll_get(&sb, 0)->text, "line 10");
	snprintf(want, sizeof(want), "line %d", SCROLL_MAX + 9);
	assert_string_equal(scroll_get(&sb, SCROLL_MAX - 1)->text, want);
	assert_null(scroll_get(&sb, SCROLL_MAX));
	/* Twice round the ring. */
	push_n(&sb, SCROLL_MAX + 10, SCROLL_MAX);
	assert_int_equal(sb.count, SCROLL_MAX);
	snprintf(want, sizeof(want), "line %d", SCROLL_MAX + 10);
	assert_string_equal(scroll_get(&sb, 0)->text, want);
	scroll_free(&sb);
}

static void
test_move(void **state)
{
	static const struct {
		int	count, start, move, want;
	} t[] = {
		{ 0, 0, 5, 0 },
		{ 0, 0, -5, 0 },
		{ 10, 0, 3, 3 },
		{ 10, 3, -1, 2 },
		{ 10, 0, 100, 9 },		/* clamped: top line shown */
		{ 10, 5, -100, 0 },
		{ 10, 9, 1, 9 },
		{ 1, 0, 1, 0 },
	};
	struct scroll	sb;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		scroll_init(&sb);
		push_n(&sb, 0, t[i].count);
		sb.offset = t[i].start;
		scroll_move(&sb, t[i].move);
		if (sb.offset != t[i].want)
			fail_msg("case %zu: offset %d, want %d", i, sb.offset,
			    t[i].want);
		scroll_free(&sb);
	}
}

static void
test_view_stays(void **state)
{
	struct scroll	sb;

	(void)state;
	scroll_init(&sb);
	push_n(&sb, 0, 20);
	/* At the bottom the view follows new lines. */
	push_n(&sb, 20, 1);
	assert_int_equal(sb.offset, 0);
	/* Scrolled up: the same lines stay in view. */
	scroll_move(&sb, 5);
	assert_int_equal(sb.offset, 5);
	push_n(&sb, 21, 3);
	assert_int_equal(sb.offset, 8);
	/* The bottom line of the view is still line 15. */
	assert_string_equal(scroll_get(&sb, sb.count - 1 - sb.offset)->text,
	    "line 15");
	scroll_move(&sb, -8);
	assert_int_equal(sb.offset, 0);
	/* Full ring while scrolled up: offset stays within the ring. */
	scroll_move(&sb, SCROLL_MAX);
	assert_int_equal(sb.offset, sb.count - 1);
	push_n(&sb, 100, SCROLL_MAX + 5);
	assert_true(sb.offset <= sb.count - 1);
	assert_int_equal(sb.count, SCROLL_MAX);
	scroll_clear(&sb);
	assert_int_equal(sb.offset, 0);
	scroll_free(&sb);
}

static void
insert_at(struct scroll *sb, int i, time_t when, const char *text)
{
	struct line	l;

	memset(&l, 0, sizeof(l));
	l.when = when;
	l.kind = LINE_MSG;
	l.history = 1;
	l.nick = (char *)"old";
	l.text = (char *)text;
	assert_int_equal(scroll_insert(sb, i, &l), i);
}

static void
test_insert(void **state)
{
	struct scroll		 sb;
	struct line		 nl;
	const struct line	*l;
	int			 i;

	(void)state;
	scroll_init(&sb);
	insert_at(&sb, 0, 5, "first");		/* into an empty ring */
	push_n(&sb, 10, 3);			/* line 10..12 */
	insert_at(&sb, 0, 1, "zero");
	insert_at(&sb, 3, 11, "mid");
	insert_at(&sb, sb.count, 20, "end");
	assert_int_equal(sb.count, 7);
	assert_string_equal(scroll_get(&sb, 0)->text, "zero");
	assert_string_equal(scroll_get(&sb, 1)->text, "first");
	assert_string_equal(scroll_get(&sb, 2)->text, "line 10");
	assert_string_equal(scroll_get(&sb, 3)->text, "mid");
	assert_string_equal(scroll_get(&sb, 4)->text, "line 11");
	assert_string_equal(scroll_get(&sb, 6)->text, "end");
	l = scroll_get(&sb, 3);
	assert_int_equal(l->history, 1);
	assert_string_equal(l->nick, "old");
	assert_int_equal(scroll_get(&sb, 4)->history, 0);
	/* Out of range. */
	assert_int_equal(scroll_insert(&sb, 8, l), -1);
	assert_int_equal(scroll_insert(&sb, -1, l), -1);

	/* Scrolled up: a line inserted above the view's bottom leaves
	 * the offset alone; one below it moves the offset. */
	sb.offset = 2;				/* bottom shows "line 11" */
	insert_at(&sb, 1, 2, "above");
	assert_int_equal(sb.offset, 2);
	assert_string_equal(scroll_get(&sb, sb.count - 1 - sb.offset)->text,
	    "line 11");
	insert_at(&sb, sb.count - 1, 15, "below");
	assert_int_equal(sb.offset, 3);
	assert_string_equal(scroll_get(&sb, sb.count - 1 - sb.offset)->text,
	    "line 11");
	scroll_free(&sb);

	/* Full: the oldest goes, the insert lands one lower. */
	scroll_init(&sb);
	push_n(&sb, 0, SCROLL_MAX);
	l = scroll_get(&sb, 10);
	assert_string_equal(l->text, "line 10");
	memset(&nl, 0, sizeof(nl));
	nl.text = (char *)"x";
	assert_int_equal(scroll_insert(&sb, 10, &nl), 9);
	assert_int_equal(sb.count, SCROLL_MAX);
	assert_string_equal(scroll_get(&sb, 0)->text, "line 1");
	assert_string_equal(scroll_get(&sb, 9)->text, "x");
	assert_string_equal(scroll_get(&sb, 10)->text, "line 10");
	for (i = 11; i < SCROLL_MAX; i++)
		assert_int_equal(scroll_get(&sb, i)->when, (time_t)i);
	scroll_free(&sb);
}

/* message-redaction: a line keeps its msgid (bounded: MSGID_MAX - 1
 * bytes), gets one later (an echo), and scroll_redact finds it. */
static void
test_redact(void **state)
{
	struct scroll		 sb;
	struct line		 l;
	char			 id[32], big[200];
	int			 i;

	(void)state;
	scroll_init(&sb);
	memset(&l, 0, sizeof(l));
	l.kind = LINE_MSG;
	l.nick = (char *)"bob";
	for (i = 0; i < SCROLL_MAX + 5; i++) {
		snprintf(id, sizeof(id), "id%d", i);
		l.when = i;
		l.text = id;
		l.msgid = id;
		assert_int_not_equal(scroll_insert(&sb, sb.count, &l), -1);
	}
	/* Forgotten with its line. */
	assert_int_equal(scroll_redact(&sb, "id0"), -1);
	i = scroll_redact(&sb, "id10");
	assert_int_equal(i, 10 - 5);
	assert_string_equal(scroll_get(&sb, i)->text, SCROLL_DELETED);
	assert_string_equal(scroll_get(&sb, i)->nick, "bob");
	assert_int_equal(scroll_get(&sb, i)->when, 10);
	assert_string_equal(scroll_get(&sb, i + 1)->text, "id11");
	assert_int_equal(scroll_redact(&sb, ""), -1);
	assert_int_equal(scroll_redact(&sb, NULL), -1);
	/* A pending line's echo brings its msgid. */
	scroll_push(&sb, 1, LINE_MSG, "me", "mine", 0, 1);
	assert_int_equal(scroll_redact(&sb, "e1"), -1);
	scroll_set_msgid(&sb, sb.count - 1, "e1");
	assert_int_equal(scroll_redact(&sb, "e1"), sb.count - 1);
	/* A msgid longer than natter keeps is cut, never overruns. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	scroll_set_msgid(&sb, 0, big);
	assert_int_equal(strlen(scroll_get(&sb, 0)->msgid), MSGID_MAX - 1);
	scroll_free(&sb);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_push_get),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_view_stays),
		cmocka_unit_test(test_insert),
		cmocka_unit_test(test_redact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
