/*
 * test_irc.c: unit tests for the IRC line parser and the IRCv3
 * message-tags helpers in shared/irc.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "irc.h"

/* Names the failing table row; plain cmocka asserts give only a line. */
#define CHECK_INT(i, got, want) do {					\
	long	 got_ = (long)(got), want_ = (long)(want);		\
									\
	if (got_ != want_)						\
		fail_msg("case %zu: got %ld, want %ld", (size_t)(i),	\
		    got_, want_);					\
} while (0)

struct parse_case {
	const char	*line;
	const char	*tags;
	const char	*prefix;
	const char	*command;
	int		 trailing;
	int		 nparams;
	const char	*params[IRC_PARAMS_MAX];
};

static const struct parse_case parse_ok[] = {
	{ "PING", NULL, NULL, "PING", 0, 0, { NULL } },
	{ "PING x", NULL, NULL, "PING", 0, 1, { "x" } },
	{ ":nick!u@h PRIVMSG #r :hello there", NULL, "nick!u@h", "PRIVMSG",
	    1, 2, { "#r", "hello there" } },
	{ "@a=1;b :srv 001 me :Welcome", "a=1;b", "srv", "001", 1, 2,
	    { "me", "Welcome" } },
	{ "@a=1 CAP LS", "a=1", NULL, "CAP", 0, 1, { "LS" } },
	/* Empty trailing is still a param. */
	{ "TOPIC #r :", NULL, NULL, "TOPIC", 1, 2, { "#r", "" } },
	/* Trailing keeps spaces, leading colons after the first. */
	{ "PRIVMSG #r ::-)  x ", NULL, NULL, "PRIVMSG", 1, 2,
	    { "#r", ":-)  x " } },
	/* Runs of spaces separate; trailing spaces add nothing. */
	{ "@t   :p   CMD   a    b   ", "t", "p", "CMD", 0, 2, { "a", "b" } },
	/* A colon inside a middle param is not special. */
	{ "MODE a:b c", NULL, NULL, "MODE", 0, 2, { "a:b", "c" } },
	/* Exactly 15 params, the last trailing. */
	{ "C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 x", NULL, NULL, "C", 1, 15,
	    { "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
	    "13", "14", "15 x" } },
	/* Exactly 15 middle params. */
	{ "C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", NULL, NULL, "C", 0, 15,
	    { "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
	    "13", "14", "15" } },
	/* More than 15: the rest collapses into the 15th, spaces kept. */
	{ "C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16  17 :18", NULL, NULL,
	    "C", 0, 15,
	    { "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
	    "13", "14", "15 16  17 :18" } },
	/* Empty tags and empty prefix are still well formed. */
	{ "@ : CMD", "", "", "CMD", 0, 0, { NULL } },
};

static void
check_str(const char *want, const char *got)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(want, got);
	}
}

static void
test_parse_table(void **state)
{
	struct irc_msg	 msg;
	char		 line[600];
	size_t		 i;
	int		 k;

	(void)state;
	for (i = 0; i < sizeof(parse_ok) / sizeof(parse_ok[0]); i++) {
		const struct parse_case *c = &parse_ok[i];

		assert_true(strlen(c->line) < sizeof(line));
		snprintf(line, sizeof(line), "%s", c->line);
		CHECK_INT(i, irc_parse(line, &msg), 0);
		check_str(c->tags, msg.tags);
		check_str(c->prefix, msg.prefix);
		check_str(c->command, msg.command);
		CHECK_INT(i, msg.trailing, c->trailing);
		CHECK_INT(i, msg.nparams, c->nparams);
		for (k = 0; k < c->nparams; k++)
			check_str(c->params[k], msg.params[k]);
		/* Fields point into the caller's buffer. */
		assert_true(msg.command >= line &&
		    msg.command < line + sizeof(line));
	}
}

static void
test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"", " ", "   ", "@a=1", "@a=1 ", "@a=1   ", ":prefix",
		":prefix ", ":", "@", "@ ", ": ", "@a :p", "@a :p  ",
	};
	struct irc_msg	 msg;
	char		 line[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "%s", bad[i]);
		errno = 0;
		CHECK_INT(i, irc_parse(line, &msg), -1);
		CHECK_INT(i, errno, EINVAL);
		assert_null(msg.command);
	}
}

static void
test_parse_long_params(void **state)
{
	struct irc_msg	 msg;
	char		 line[600];
	size_t		 off = 0;
	int		 i, n;

	(void)state;
	/* 20 middle params: 15th gets "15 16 17 18 19 20". */
	n = snprintf(line, sizeof(line), "CMD");
	off = (size_t)n;
	for (i = 1; i <= 20; i++) {
		n = snprintf(line + off, sizeof(line) - off, " %d", i);
		assert_true(n > 0 && (size_t)n < sizeof(line) - off);
		off += (size_t)n;
	}
	assert_int_equal(irc_parse(line, &msg), 0);
	assert_int_equal(msg.nparams, 15);
	assert_string_equal(msg.params[13], "14");
	assert_string_equal(msg.params[14], "15 16 17 18 19 20");
	assert_int_equal(msg.trailing, 0);
}

struct tag_case {
	const char	*tags;
	const char	*key;
	int		 rv;
	const char	*value;
};

static const struct tag_case tag_cases[] = {
	{ "a=1;b;c=x\\sy", "a", 1, "1" },
	{ "a=1;b;c=x\\sy", "b", 1, "" },
	{ "a=1;b;c=x\\sy", "c", 1, "x y" },
	{ "a=1;b;c=x\\sy", "d", 0, NULL },
	{ "a=1;b;c=x\\sy", "", 0, NULL },
	{ "ab=1", "a", 0, NULL },
	{ "a=1", "ab", 0, NULL },
	{ "a=", "a", 1, "" },
	{ "time=2026-11-26T02:20:00.000Z;msgid=abc", "msgid", 1, "abc" },
	{ "+example.com/foo=b\\:a\\\\r;x", "+example.com/foo", 1, "b;a\\r" },
	/* The last duplicate wins. */
	{ "a=1;a=2", "a", 1, "2" },
	{ ";;a=1;", "a", 1, "1" },
	{ "", "a", 0, NULL },
	{ "k=v\\", "k", 1, "v" },
};

static void
test_tag_get(void **state)
{
	char	out[64];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(tag_cases) / sizeof(tag_cases[0]); i++) {
		const struct tag_case *c = &tag_cases[i];

		CHECK_INT(i, irc_tag_get(c->tags, c->key, out, sizeof(out)),
		    c->rv);
		if (c->rv == 1)
			assert_string_equal(out, c->value);
	}
}

static void
test_tag_get_small(void **state)
{
	char	out[4];

	(void)state;
	assert_int_equal(irc_tag_get("a=123", "a", out, sizeof(out)), 1);
	assert_string_equal(out, "123");
	assert_int_equal(irc_tag_get("a=1234", "a", out, sizeof(out)), -1);
	assert_int_equal(irc_tag_get("a", "a", out, 1), 1);
	assert_string_equal(out, "");
	assert_int_equal(irc_tag_get("a", "a", out, 0), -1);
	/* Not found beats too small. */
	assert_int_equal(irc_tag_get("a=1234", "b", out, sizeof(out)), 0);
}

struct esc_case {
	const char	*raw;
	const char	*escaped;
};

static const struct esc_case esc_cases[] = {
	{ "", "" },
	{ "plain", "plain" },
	{ "a b", "a\\sb" },
	{ "a;b", "a\\:b" },
	{ "back\\slash", "back\\\\slash" },
	{ "cr\rlf\n", "cr\\rlf\\n" },
	{ "; \\\r\n", "\\:\\s\\\\\\r\\n" },
	{ "\\s", "\\\\s" },
	{ "caf\xc3\xa9 =", "caf\xc3\xa9\\s=" },
};

static void
test_tag_escape_roundtrip(void **state)
{
	char	out[64], back[64];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];

		CHECK_INT(i, irc_tag_escape(c->raw, out, sizeof(out)),
		    strlen(c->escaped));
		assert_string_equal(out, c->escaped);
		CHECK_INT(i, irc_tag_unescape(out, back, sizeof(back)),
		    strlen(c->raw));
		assert_string_equal(back, c->raw);
	}
}

static void
test_tag_unescape_edges(void **state)
{
	static const struct esc_case cases[] = {
		/* escaped form -> raw */
		{ "x", "x\\" },			/* lone trailing backslash */
		{ "", "\\" },
		{ "ab", "\\a\\b" },		/* unknown escapes map to x */
		{ "\\", "\\\\" },
		{ "\\", "\\\\\\" },		/* pair, then lone */
		{ "; \r\n", "\\:\\s\\r\\n" },
		{ "", "" },
	};
	char	out[16];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(i, irc_tag_unescape(cases[i].escaped, out,
		    sizeof(out)), strlen(cases[i].raw));
		assert_string_equal(out, cases[i].raw);
	}
}

static void
test_tag_escape_small(void **state)
{
	char	out[8];

	(void)state;
	/* "abc def" escapes to 8 bytes; 8 + NUL does not fit. */
	assert_int_equal(irc_tag_escape("abc def", out, sizeof(out)), -1);
	assert_int_equal(irc_tag_escape("abc de", out, sizeof(out)), 7);
	assert_string_equal(out, "abc\\sde");
	/* An escape pair is never split. */
	assert_int_equal(irc_tag_escape("abcdef;", out, sizeof(out)), -1);
	assert_int_equal(irc_tag_escape("", out, 1), 0);
	assert_int_equal(irc_tag_escape("", out, 0), -1);
	assert_int_equal(irc_tag_unescape("abcdefgh", out, sizeof(out)), -1);
	assert_int_equal(irc_tag_unescape("abcdefg", out, sizeof(out)), 7);
	assert_int_equal(irc_tag_unescape("a\\sbcdefg", out, sizeof(out)),
	    -1);
	assert_int_equal(irc_tag_unescape("", out, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_long_params),
		cmocka_unit_test(test_tag_get),
		cmocka_unit_test(test_tag_get_small),
		cmocka_unit_test(test_tag_escape_roundtrip),
		cmocka_unit_test(test_tag_unescape_edges),
		cmocka_unit_test(test_tag_escape_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
