/*
 * test_wrap.c: display width and word wrap (tui/wrap.c) by columns:
 * CJK, emoji, combining marks, mIRC codes, long words and indents.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <locale.h>
#include <string.h>

#include <cmocka.h>

#include "../tui/natter.h"

#define ROWS_MAX	8

static void
test_text_width(void **state)
{
	static const struct {
		const char	*text;
		int		 want;
	} t[] = {
		{ "", 0 },
		{ "abc", 3 },
		{ "h\xc3\xa9llo", 5 },
		{ "\xe6\x97\xa5\xe6\x9c\xac", 4 },
		{ "\xf0\x9f\x99\x82", 2 },
		{ "e\xcc\x81", 1 },
		{ "\x02" "bold\x02", 4 },
		{ "\x03" "12,04hi\x03", 2 },
		{ "\x1d\x1f\x1e\x11\x16\x0f" "x", 1 },
		{ "\x04" "ff0000red", 3 },
		{ "\xff\xfe", 2 },		/* invalid: a cell each */
		{ "\xe6\x97", 2 },		/* truncated */
		{ "a\tb", 3 },			/* non-printable: one */
	};
	size_t	i;
	int	w;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		w = text_width(t[i].text, strlen(t[i].text));
		if (w != t[i].want)
			fail_msg("case %zu: width %d, want %d", i, w,
			    t[i].want);
	}
	/* len bounds the text. */
	assert_int_equal(text_width("abcdef", 2), 2);
}

static void
test_wrap(void **state)
{
	static const struct {
		const char	*text;
		int		 width, indent, maxrows;
		int		 nrows;
		size_t		 starts[ROWS_MAX];
	} t[] = {
		{ "", 10, 0, ROWS_MAX, 1, { 0 } },
		{ "hello", 10, 0, ROWS_MAX, 1, { 0 } },
		{ "hello", 5, 0, ROWS_MAX, 1, { 0 } },
		{ "hello world", 5, 0, ROWS_MAX, 2, { 0, 6 } },
		{ "hello world", 8, 0, ROWS_MAX, 2, { 0, 6 } },
		{ "ab cd ef", 5, 0, ROWS_MAX, 2, { 0, 6 } },
		{ "ab cd", 3, 0, ROWS_MAX, 2, { 0, 3 } },
		/* Leading spaces of a continuation row are skipped. */
		{ "ab    cd", 3, 0, ROWS_MAX, 2, { 0, 6 } },
		/* Only spaces left: no empty row. */
		{ "abc   ", 3, 0, ROWS_MAX, 1, { 0 } },
		/* A word longer than the row is cut between characters. */
		{ "abcdefghij", 4, 0, ROWS_MAX, 3, { 0, 4, 8 } },
		{ "hi abcdefgh", 5, 0, ROWS_MAX, 3, { 0, 3, 8 } },
		/* CJK: two columns each, never split. */
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86"
		    "\xe3\x82\xb9\xe3\x83\x88", 5, 0, ROWS_MAX, 3,
		    { 0, 6, 12 } },
		{ "\xe6\x97\xa5\xe6\x9c\xac", 1, 0, ROWS_MAX, 2, { 0, 3 } },
		{ "a\xe6\x97\xa5", 2, 0, ROWS_MAX, 2, { 0, 1 } },
		/* Emoji. */
		{ "\xf0\x9f\x99\x82\xf0\x9f\x99\x82\xf0\x9f\x99\x82", 4, 0,
		    ROWS_MAX, 2, { 0, 8 } },
		/* Combining marks stay with their base. */
		{ "e\xcc\x81" "e\xcc\x81" "e\xcc\x81", 2, 0, ROWS_MAX, 2,
		    { 0, 6 } },
		{ "abe\xcc\x81", 3, 0, ROWS_MAX, 1, { 0 } },
		{ "abce\xcc\x81", 3, 0, ROWS_MAX, 2, { 0, 3 } },
		/* Indent: continuation rows are narrower. */
		{ "aaaa bbbb cccc", 6, 2, ROWS_MAX, 3, { 0, 5, 10 } },
		{ "abcdefgh", 4, 2, ROWS_MAX, 3, { 0, 4, 6 } },
		/* Indent as wide as the row still makes progress. */
		{ "abcdef", 3, 3, ROWS_MAX, 4, { 0, 3, 4, 5 } },
		/* maxrows: the last row holds the rest. */
		{ "abcdefghij", 2, 0, 2, 2, { 0, 2 } },
		{ "abcdefghij", 2, 0, 1, 1, { 0 } },
		/* mIRC codes take no columns. */
		{ "\x02" "ab\x02" "cd", 4, 0, ROWS_MAX, 1, { 0 } },
		{ "\x03" "04,05abcd", 4, 0, ROWS_MAX, 1, { 0 } },
		{ "\x03" "04ab cd", 3, 0, ROWS_MAX, 2, { 0, 6 } },
		/* Invalid bytes: a column each. */
		{ "\xff\xff\xff", 2, 0, ROWS_MAX, 2, { 0, 2 } },
	};
	size_t	i, starts[ROWS_MAX];
	int	n, k;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(starts, 0xff, sizeof(starts));
		n = wrap_rows(t[i].text, strlen(t[i].text), t[i].width,
		    t[i].indent, starts, t[i].maxrows);
		if (n != t[i].nrows)
			fail_msg("case %zu: %d rows, want %d", i, n,
			    t[i].nrows);
		for (k = 0; k < n; k++)
			if (starts[k] != t[i].starts[k])
				fail_msg("case %zu: row %d starts at %zu, "
				    "want %zu", i, k, starts[k],
				    t[i].starts[k]);
	}
}

/* Every row fits its width, and rows cover the text in order. */
static void
test_wrap_fits(void **state)
{
	static const char	*texts[] = {
		"The quick brown fox jumps over the lazy dog again and again",
		("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82 "
		    "caf\xc3\xa9 e\xcc\x81t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"),
		"supercalifragilisticexpialidocious is long",
	};
	size_t	i, starts[64], end;
	int	width, n, k, w;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		for (width = 2; width < 30; width++) {
			n = wrap_rows(texts[i], strlen(texts[i]), width, 1,
			    starts, 64);
			assert_true(n >= 1 && n < 64);
			for (k = 0; k < n; k++) {
				end = k + 1 < n ? starts[k + 1] :
				    strlen(texts[i]);
				assert_true(end > starts[k]);
				w = text_width(texts[i] + starts[k],
				    end - starts[k]);
				/* Trailing spaces may hang over. */
				while (end > starts[k] &&
				    texts[i][end - 1] == ' ') {
					end--;
					w--;
				}
				assert_true(w <= (k == 0 ? width : width - 1) ||
				    end - starts[k] <= 4);
			}
		}
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_text_width),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wrap_fits),
	};

	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
