/*
 * test_casemap.c: unit tests for RFC 1459 casemapping, nick and room
 * validation and mask matching in shared/casemap.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "casemap.h"

/* Names the failing table row; plain cmocka asserts give only a line. */
#define CHECK_INT(i, got, want) do {					\
	long	 got_ = (long)(got), want_ = (long)(want);		\
									\
	if (got_ != want_)						\
		fail_msg("case %zu: got %ld, want %ld", (size_t)(i),	\
		    got_, want_);					\
} while (0)

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

static void
test_lower(void **state)
{
	int	c;

	(void)state;
	assert_int_equal(casemap_lower('A'), 'a');
	assert_int_equal(casemap_lower('Z'), 'z');
	assert_int_equal(casemap_lower('['), '{');
	assert_int_equal(casemap_lower(']'), '}');
	assert_int_equal(casemap_lower('\\'), '|');
	assert_int_equal(casemap_lower('~'), '^');
	/* Already lower, or not letters: unchanged. */
	for (c = 0; c < 256; c++) {
		if ((c >= 'A' && c <= 'Z') || c == '[' || c == ']' ||
		    c == '\\' || c == '~')
			continue;
		assert_int_equal(casemap_lower(c), c);
	}
}

static void
test_fold(void **state)
{
	char	dst[16];

	(void)state;
	assert_int_equal(casemap_fold(dst, "Nick[A]\\~", sizeof(dst)), 9);
	assert_string_equal(dst, "nick{a}|^");
	assert_int_equal(casemap_fold(dst, "caf\xc3\x89", sizeof(dst)), 5);
	assert_string_equal(dst, "caf\xc3\x89");	/* bytes >127 kept */
	/* Cut: returns the source length, output still terminated. */
	assert_int_equal(casemap_fold(dst, "ABCDEFGH", 4), 8);
	assert_string_equal(dst, "abc");
	assert_int_equal(casemap_fold(dst, "ABC", 4), 3);
	assert_string_equal(dst, "abc");
	assert_int_equal(casemap_fold(dst, "X", 1), 1);
	assert_string_equal(dst, "");
	dst[0] = 'z';
	assert_int_equal(casemap_fold(dst, "XY", 0), 2);
	assert_int_equal(dst[0], 'z');
	assert_int_equal(casemap_fold(dst, "", sizeof(dst)), 0);
	assert_string_equal(dst, "");
}

static void
test_cmp(void **state)
{
	static const struct {
		const char	*a, *b;
		int		 sign;
	} cases[] = {
		{ "nick", "NICK", 0 },
		{ "Nick[a]", "nick{A}", 0 },
		{ "a\\b~", "A|B^", 0 },
		{ "", "", 0 },
		{ "a", "", 1 },
		{ "", "a", -1 },
		{ "abc", "abd", -1 },
		{ "ABD", "abc", 1 },
		{ "ab", "abc", -1 },
		/* Folded values order: 'Z' folds to 'z' < '{'. */
		{ "Z", "[", -1 },
		/* Bytes compare unsigned. */
		{ "\xc3", "a", 1 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(i, sign(casemap_cmp(cases[i].a, cases[i].b)),
		    cases[i].sign);
		CHECK_INT(i, sign(casemap_cmp(cases[i].b, cases[i].a)),
		    -cases[i].sign);
	}
}

static void
test_valid_nick(void **state)
{
	static const struct {
		const char	*nick;
		int		 ok;
	} cases[] = {
		{ "alice", 1 },
		{ "A", 1 },
		{ "[]\\`_^{|}", 1 },
		{ "bob-2", 1 },
		{ "_x9", 1 },
		{ "`", 1 },
		{ "", 0 },
		{ "9lives", 0 },
		{ "-dash", 0 },
		{ "has space", 0 },
		{ "a,b", 0 },
		{ "a:b", 0 },
		{ "a!b", 0 },
		{ "a@b", 0 },
		{ "a.b", 0 },
		{ "a#", 0 },
		{ "a~", 0 },
		{ "caf\xc3\xa9", 0 },		/* valid UTF-8, not ASCII */
		{ "a\xff", 0 },			/* invalid UTF-8 */
		{ "\xc3\xa9t\xc3\xa9", 0 },
		{ "a\r", 0 },
		{ "a\n", 0 },
		{ "a\a", 0 },
	};
	char	nick[NICK_MAX + 2];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(i, casemap_valid_nick(cases[i].nick, NICK_MAX),
		    cases[i].ok);
	}

	memset(nick, 'n', sizeof(nick));
	nick[NICK_MAX] = '\0';
	assert_int_equal(casemap_valid_nick(nick, NICK_MAX), 1);
	nick[NICK_MAX] = 'n';
	nick[NICK_MAX + 1] = '\0';
	assert_int_equal(casemap_valid_nick(nick, NICK_MAX), 0);
	assert_int_equal(casemap_valid_nick("abc", 2), 0);
	assert_int_equal(casemap_valid_nick("ab", 2), 1);
}

static void
test_valid_room(void **state)
{
	static const struct {
		const char	*name;
		int		 ok;
	} cases[] = {
		{ "#general", 1 },
		{ "#a", 1 },
		{ "#", 1 },
		{ "#caf\xc3\xa9", 1 },		/* multibyte UTF-8 */
		{ "#\xe6\x97\xa5\xe6\x9c\xac", 1 },
		{ "#\xf0\x9f\x90\x88", 1 },	/* 4-byte sequence */
		{ "#Room[1]-_.!", 1 },
		{ "", 0 },
		{ "general", 0 },
		{ "&local", 0 },
		{ " #x", 0 },
		{ "#a b", 0 },
		{ "#a,b", 0 },
		{ "#a:b", 0 },
		{ "#a\ab", 0 },
		{ "#a\rb", 0 },
		{ "#a\nb", 0 },
		{ "#caf\xc3", 0 },		/* truncated sequence */
		{ "#\xff", 0 },
		{ "#\xc0\xaf", 0 },		/* overlong '/' */
		{ "#\xed\xa0\x80", 0 },		/* surrogate */
	};
	char	name[ROOM_NAME_MAX + 2];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(i, casemap_valid_room(cases[i].name, ROOM_NAME_MAX),
		    cases[i].ok);
	}

	memset(name, 'r', sizeof(name));
	name[0] = '#';
	name[ROOM_NAME_MAX] = '\0';
	assert_int_equal(casemap_valid_room(name, ROOM_NAME_MAX), 1);
	name[ROOM_NAME_MAX] = 'r';
	name[ROOM_NAME_MAX + 1] = '\0';
	assert_int_equal(casemap_valid_room(name, ROOM_NAME_MAX), 0);
	/* The limit counts bytes, not characters. */
	memset(name, 'r', sizeof(name));
	name[0] = '#';
	name[ROOM_NAME_MAX - 1] = '\xc3';
	name[ROOM_NAME_MAX] = '\xa9';
	name[ROOM_NAME_MAX + 1] = '\0';
	assert_int_equal(casemap_valid_room(name, ROOM_NAME_MAX), 0);
	name[ROOM_NAME_MAX - 2] = '\xc3';
	name[ROOM_NAME_MAX - 1] = '\xa9';
	name[ROOM_NAME_MAX] = '\0';
	assert_int_equal(casemap_valid_room(name, ROOM_NAME_MAX), 1);
}

static void
test_match(void **state)
{
	static const struct {
		const char	*mask, *str;
		int		 ok;
	} cases[] = {
		{ "*", "", 1 },
		{ "*", "anything", 1 },
		{ "", "", 1 },
		{ "", "a", 0 },
		{ "a", "", 0 },
		{ "?", "", 0 },
		{ "?", "x", 1 },
		{ "??", "x", 0 },
		{ "abc", "abc", 1 },
		{ "abc", "abcd", 0 },
		{ "abc", "ab", 0 },
		{ "a*c", "ac", 1 },
		{ "a*c", "abbbc", 1 },
		{ "a*c", "abbbcd", 0 },
		{ "a**c", "axc", 1 },
		{ "*c", "cccc", 1 },
		{ "a?c*", "abcdef", 1 },
		{ "*!*@*.example.com", "Nick!user@host.example.com", 1 },
		{ "*!*@*.example.com", "Nick!user@example.com", 0 },
		{ "nick!*@*", "NICK!u@h", 1 },
		{ "*ab*ab*", "xxabyyab", 1 },
		{ "*ab*ab*", "xxabyyb", 0 },
		{ "*a?b", "aaab", 1 },
		/* Case folding, including the RFC 1459 specials. */
		{ "NICK[A]", "nick{a}", 1 },
		{ "nick{a}", "NICK[A]", 1 },
		{ "a~b", "A^B", 1 },
		{ "a|b", "A\\B", 1 },
		/* Escapes: "\*" and "\?" are literal. */
		{ "a\\*b", "a*b", 1 },
		{ "a\\*b", "axb", 0 },
		{ "a\\?b", "a?b", 1 },
		{ "a\\?b", "axb", 0 },
		{ "\\\\", "\\", 1 },
		{ "\\\\", "|", 1 },		/* folds like '\' */
		{ "\\a", "A", 1 },
		{ "*\\*", "xyz*", 1 },
		{ "*\\*", "xyz", 0 },
		{ "a\\", "a\\", 1 },		/* lone trailing '\' is literal */
		{ "a\\", "a", 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(i, casemap_match(cases[i].mask, cases[i].str),
		    cases[i].ok);
	}
}

/* Patterns that are exponential for naive recursive matchers. */
static void
test_match_pathological(void **state)
{
	static const char *const masks[] = {
		"*a*a*a*a*b",
		"*a*a*a*a*a*a*a*a*a*a*a*a*b",
		"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*?b",
		"*?*?*?*?*?*?*?*?*?*?*?*?b",
	};
	char	*s;
	size_t	 n = 100000, i;
	clock_t	 t0;
	double	 secs;

	(void)state;
	s = malloc(n + 2);
	assert_non_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	t0 = clock();
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
		assert_int_equal(casemap_match(masks[i], s), 0);
	s[n] = 'b';
	s[n + 1] = '\0';
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
		assert_int_equal(casemap_match(masks[i], s), 1);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	/* O(mask * str) is milliseconds; exponential never ends. */
	assert_true(secs < 2.0);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lower),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_valid_nick),
		cmocka_unit_test(test_valid_room),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_pathological),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
