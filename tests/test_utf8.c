/*
 * test_utf8.c: unit tests for strict UTF-8 validation and
 * character-safe cutting in shared/utf8.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

/* Names the failing table row; plain cmocka asserts give only a line. */
#define CHECK_INT(i, got, want) do {					\
	long	 got_ = (long)(got), want_ = (long)(want);		\
									\
	if (got_ != want_)						\
		fail_msg("case %zu: got %ld, want %ld", (size_t)(i),	\
		    got_, want_);					\
} while (0)

struct valid_case {
	const char	*s;
	size_t		 n;		/* 0: strlen(s) */
	int		 ok;
};

static const struct valid_case valid_cases[] = {
	{ "", 0, 1 },
	{ "plain ascii ~\x7f", 0, 1 },
	{ "\0", 1, 1 },				/* NUL is a valid character */
	{ "\xc2\x80", 0, 1 },			/* U+0080, smallest 2-byte */
	{ "\xdf\xbf", 0, 1 },			/* U+07FF */
	{ "caf\xc3\xa9", 0, 1 },
	{ "\xe0\xa0\x80", 0, 1 },		/* U+0800, smallest 3-byte */
	{ "\xe2\x82\xac", 0, 1 },		/* euro sign */
	{ "\xed\x9f\xbf", 0, 1 },		/* U+D7FF, below surrogates */
	{ "\xee\x80\x80", 0, 1 },		/* U+E000, above surrogates */
	{ "\xef\xbf\xbd", 0, 1 },		/* U+FFFD */
	{ "\xef\xbf\xbf", 0, 1 },		/* U+FFFF noncharacter: well formed */
	{ "\xf0\x90\x80\x80", 0, 1 },		/* U+10000, smallest 4-byte */
	{ "\xf0\x9f\x98\x80", 0, 1 },		/* emoji */
	{ "\xf4\x8f\xbf\xbf", 0, 1 },		/* U+10FFFF, the last */
	{ "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 0, 1 },
	/* Overlongs. */
	{ "\xc0\x80", 0, 0 },
	{ "\xc0\xaf", 0, 0 },
	{ "\xc1\xbf", 0, 0 },
	{ "\xe0\x80\x80", 0, 0 },
	{ "\xe0\x9f\xbf", 0, 0 },
	{ "\xf0\x80\x80\x80", 0, 0 },
	{ "\xf0\x8f\xbf\xbf", 0, 0 },
	/* Surrogates, alone and paired (CESU-8). */
	{ "\xed\xa0\x80", 0, 0 },
	{ "\xed\xbf\xbf", 0, 0 },
	{ "\xed\xa0\xbd\xed\xb8\x80", 0, 0 },
	/* Above U+10FFFF, and bytes that can never appear. */
	{ "\xf4\x90\x80\x80", 0, 0 },
	{ "\xf5\x80\x80\x80", 0, 0 },
	{ "\xf7\xbf\xbf\xbf", 0, 0 },
	{ "\xf8\x88\x80\x80\x80", 0, 0 },
	{ "\xfc\x84\x80\x80\x80\x80", 0, 0 },
	{ "\xfe", 0, 0 },
	{ "\xff", 0, 0 },
	/* Stray continuations. */
	{ "\x80", 0, 0 },
	{ "\xbf", 0, 0 },
	{ "a\x80z", 0, 0 },
	{ "\xc3\xa9\xa9", 0, 0 },
	/* Truncated sequences, at the end and mid-string. */
	{ "\xc3", 0, 0 },
	{ "\xe2\x82", 0, 0 },
	{ "\xf0\x9f\x98", 0, 0 },
	{ "\xf0\x9f", 0, 0 },
	{ "\xe2\x82z", 0, 0 },
	{ "\xc3z", 0, 0 },
	{ "\xf0\x9f\x98 ", 0, 0 },
	{ "\xe2\x82\xac", 2, 0 },		/* n cuts the sequence */
	{ "\xc3\xa9", 1, 0 },
};

static void
test_valid(void **state)
{
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];

		n = c->n != 0 ? c->n : strlen(c->s);
		CHECK_INT(i, utf8_valid(c->s, n), c->ok);
	}
}

/* Every 1-, 2- and 3-byte sequence agrees with the decoding rules. */
static void
test_valid_exhaustive(void **state)
{
	unsigned char	 b[3];
	unsigned int	 a, c, d, cp;
	int		 want;

	(void)state;
	for (a = 0; a < 256; a++) {
		b[0] = (unsigned char)a;
		assert_int_equal(utf8_valid((char *)b, 1), a < 0x80);
		for (c = 0x80; c < 0xc0; c++) {
			b[1] = (unsigned char)c;
			want = a >= 0xc2 && a <= 0xdf;
			if (utf8_valid((char *)b, 2) != want)
				fail_msg("%02x %02x", a, c);
			if (a < 0xe0 || a > 0xef)
				continue;
			for (d = 0x80; d < 0xc0; d++) {
				b[2] = (unsigned char)d;
				cp = (a & 0x0f) << 12 | (c & 0x3f) << 6 |
				    (d & 0x3f);
				want = cp >= 0x800 &&
				    (cp < 0xd800 || cp > 0xdfff);
				if (utf8_valid((char *)b, 3) != want)
					fail_msg("%02x %02x %02x", a, c, d);
			}
		}
	}
}

static void
test_cut(void **state)
{
	/* "a" U+00E9 U+20AC U+1F600 "z": 1 + 2 + 3 + 4 + 1 bytes. */
	static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
	static const size_t want[] = {
		0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11, 11, 11
	};
	size_t	n = sizeof(s) - 1, max;

	(void)state;
	assert_int_equal(n, 11);
	for (max = 0; max < sizeof(want) / sizeof(want[0]); max++)
		CHECK_INT(max, utf8_cut(s, n, max), want[max]);
	assert_int_equal(utf8_cut(s, n, (size_t)-1), n);
	assert_int_equal(utf8_cut("", 0, 0), 0);
	assert_int_equal(utf8_cut("", 0, 5), 0);
	assert_int_equal(utf8_cut("abc", 3, 2), 2);
	/* A cut result is itself valid. */
	for (max = 0; max <= n; max++)
		assert_true(utf8_valid(s, utf8_cut(s, n, max)));
}

static void
test_scrub(void **state)
{
	static const struct {
		const char	*in, *want;
	} cases[] = {
		{ "plain", "plain" },
		{ "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z",
		  "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z" },
		{ "\xff\xfe" "ab", "??ab" },
		{ "Real \xe9t\xe9", "Real ?t?" },
		{ "x\xc3", "x?" },		/* truncated at the end */
		{ "\xe2\x82z", "??z" },	/* truncated in the middle */
		{ "\xc0\xaf", "??" },		/* overlong */
		{ "\xed\xa0\x80", "???" },	/* surrogate */
		{ "\x80", "?" },		/* stray continuation */
	};
	char	buf[64];
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].in);
		memcpy(buf, cases[i].in, n + 1);
		utf8_scrub(buf, n);
		assert_string_equal(buf, cases[i].want);
		assert_true(utf8_valid(buf, n));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_valid_exhaustive),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_scrub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
