/*
 * test_mirc.c: mIRC formatting codes (tui/mirc.c): each code's effect
 * and length, colours with and without background, and stripping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "../tui/natter.h"

static void
test_codes(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;		/* of the first code */
		unsigned	 attrs;		/* after all codes */
		int		 fg, bg;
	} t[] = {
		{ "a", 0, 0, -1, -1 },
		{ "", 0, 0, -1, -1 },
		{ "\x02", 1, MIRC_BOLD, -1, -1 },
		{ "\x02\x02", 1, 0, -1, -1 },
		{ "\x1d", 1, MIRC_ITALIC, -1, -1 },
		{ "\x1f", 1, MIRC_UNDERLINE, -1, -1 },
		{ "\x1e", 1, MIRC_STRIKE, -1, -1 },
		{ "\x11", 1, MIRC_MONOSPACE, -1, -1 },
		{ "\x16", 1, MIRC_REVERSE, -1, -1 },
		{ "\x12", 1, MIRC_REVERSE, -1, -1 },
		{ "\x06", 1, 0, -1, -1 },
		{ "\x02\x1d\x1f", 1, MIRC_BOLD | MIRC_ITALIC | MIRC_UNDERLINE,
		    -1, -1 },
		{ "\x02\x1d\x03" "4,5\x0f", 1, 0, -1, -1 },
		{ "\x03" "4", 2, 0, 4, -1 },
		{ "\x03" "04", 3, 0, 4, -1 },
		{ "\x03" "12", 3, 0, 12, -1 },
		{ "\x03" "123", 3, 0, 12, -1 },	/* third digit is text */
		{ "\x03" "4,5", 4, 0, 4, 5 },
		{ "\x03" "04,05", 6, 0, 4, 5 },
		{ "\x03" "4,15x", 5, 0, 4, 15 },
		{ "\x03" "4,", 2, 0, 4, -1 },	/* comma is text */
		{ "\x03" "4,x", 2, 0, 4, -1 },
		{ "\x03" "99,99", 6, 0, -1, -1 },
		{ "\x03" ",5", 1, 0, -1, -1 },	/* ^C alone */
		{ "\x03", 1, 0, -1, -1 },
		{ "\x03" "4,5\x03", 4, 0, -1, -1 },
		{ "\x03" "4,5\x03" "7", 4, 0, 7, 5 },	/* bg kept */
		{ "\x04" "ff0000", 7, 0, -1, -1 },
		{ "\x04" "FF0000,00ff00", 14, 0, -1, -1 },
		{ "\x04" "ff00", 1, 0, -1, -1 },
		{ "\x04", 1, 0, -1, -1 },
		{ "\x03" "4\x04" "abcdef", 2, 0, -1, -1 },
		{ "\x16\x0f", 1, 0, -1, -1 },
	};
	struct mirc_style	st;
	size_t			i, n, off, len;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mirc_reset(&st);
		len = strlen(t[i].in);
		n = mirc_code(t[i].in, len, &st);
		if (n != t[i].len)
			fail_msg("case %zu: length %zu, want %zu", i, n,
			    t[i].len);
		for (off = n; n > 0 && off < len; off += n)
			n = mirc_code(t[i].in + off, len - off, &st);
		if (st.attrs != t[i].attrs || st.fg != t[i].fg ||
		    st.bg != t[i].bg)
			fail_msg("case %zu: attrs %#x fg %d bg %d, want "
			    "%#x %d %d", i, st.attrs, st.fg, st.bg,
			    t[i].attrs, t[i].fg, t[i].bg);
	}
	/* len bounds the code: "^C12" seen as two bytes is ^C1. */
	mirc_reset(&st);
	assert_int_equal(mirc_code("\x03" "12", 2, &st), 2);
	assert_int_equal(st.fg, 1);
	assert_int_equal(mirc_code("\x02", 0, &st), 0);
}

static void
test_strip(void **state)
{
	static const struct {
		const char	*in, *want;
	} t[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "\x02" "bold\x02 text", "bold text" },
		{ "\x03" "4red\x03 none", "red none" },
		{ "\x03" "04,12both", "both" },
		{ "\x03" "4,bg?", ",bg?" },
		{ "\x03" "123", "3" },
		{ "\x1d\x1f\x1e\x11\x16\x12\x0f\x06x", "x" },
		{ "\x04" "ff0000,00ff00hex", "hex" },
		{ "h\xc3\xa9\x02llo", "h\xc3\xa9llo" },
	};
	char	out[64];
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = mirc_strip(t[i].in, out, sizeof(out));
		if (strcmp(out, t[i].want) != 0 || n != strlen(t[i].want))
			fail_msg("case %zu: got \"%s\" (%zu), want \"%s\"", i,
			    out, n, t[i].want);
	}
	/* Cut short, but never inside a character. */
	assert_int_equal(mirc_strip("ab\xc3\xa9", out, 4), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(mirc_strip("a\xc3\xa9z", out, 4), 3);
	assert_string_equal(out, "a\xc3\xa9");
	assert_int_equal(mirc_strip("\x02" "abc", out, 3), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(mirc_strip("abc", out, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_strip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
