/*
 * test_log.c: unit tests for shared/log.c: log_escape alone, then whole
 * lines written to a stderr redirected to a temporary file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "utf8.h"

#define LINE_MAX_TEST	1024	/* LOG_LINE_MAX in log.c */
#define CUT		"\\[...]"

struct escape_case {
	const char	*src;
	size_t		 n;		/* 0: strlen(src) */
	const char	*want;
};

static const struct escape_case escape_cases[] = {
	{ "", 0, "" },
	{ "plain text, punctuation ~!@#$%^&*()[]{}|;:'\",.<>/?`", 0,
	    "plain text, punctuation ~!@#$%^&*()[]{}|;:'\",.<>/?`" },
	/* C0 controls, each one, and DEL. */
	{ "\0", 1, "\\x00" },
	{ "a\nb", 0, "a\\x0ab" },
	{ "a\r\nb", 0, "a\\x0d\\x0ab" },
	{ "\x01" "ACTION waves\x01", 0, "\\x01ACTION waves\\x01" },
	{ "\x1b[31mred\x1b[0m", 0, "\\x1b[31mred\\x1b[0m" },
	{ "\x1b]0;title\x07", 0, "\\x1b]0;title\\x07" },
	{ "\x03" "04red\x03 \x02" "bold\x0f \x1funder\x1d \x16", 0,
	    "\\x0304red\\x03 \\x02bold\\x0f \\x1funder\\x1d \\x16" },
	{ "tab\there", 0, "tab\\x09here" },
	{ "\x0b\x0c\x08", 0, "\\x0b\\x0c\\x08" },
	{ "\x7f", 0, "\\x7f" },
	{ " ~", 0, " ~" },			/* 0x20 and 0x7e pass */
	/* The escape character itself, so an escape is never ambiguous. */
	{ "\\", 0, "\\\\" },
	{ "C:\\x41", 0, "C:\\\\x41" },
	/* Well-formed UTF-8 passes. */
	{ "caf\xc3\xa9", 0, "caf\xc3\xa9" },
	{ "\xc2\xa0nbsp", 0, "\xc2\xa0nbsp" },	/* U+00A0, first after C1 */
	{ "\xe2\x82\xac \xf0\x9f\x98\x80", 0, "\xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf" },
	/* C1 controls, well-formed but controls: escaped byte by byte. */
	{ "\xc2\x80", 0, "\\xc2\\x80" },
	{ "\xc2\x9b" "31m", 0, "\\xc2\\x9b31m" },	/* U+009B CSI */
	{ "\xc2\x9f", 0, "\\xc2\\x9f" },
	/* Not UTF-8: each bad byte escaped, what follows read afresh. */
	{ "\xff", 0, "\\xff" },
	{ "\xfe\xff", 0, "\\xfe\\xff" },
	{ "a\x80z", 0, "a\\x80z" },
	{ "\xc3", 0, "\\xc3" },			/* truncated at the end */
	{ "\xc3z", 0, "\\xc3z" },
	{ "\xe2\x82", 0, "\\xe2\\x82" },
	{ "\xc3\xc3\xa9", 0, "\\xc3\xc3\xa9" },	/* bad lead, then a good one */
	{ "\xc0\xaf", 0, "\\xc0\\xaf" },		/* overlong / */
	{ "\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf" },
	{ "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },	/* surrogate */
	{ "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" },
	{ "\xf8\x88\x80\x80\x80", 0, "\\xf8\\x88\\x80\\x80\\x80" },
	{ "\xe2\x82\xac", 2, "\\xe2\\x82" },	/* n ends mid-character */
};

static void
test_escape_table(void **state)
{
	char	 out[256];
	size_t	 i, n;

	(void)state;
	for (i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++) {
		const struct escape_case *t = &escape_cases[i];

		n = t->n != 0 ? t->n : strlen(t->src);
		memset(out, 'z', sizeof(out));
		if (log_escape(out, sizeof(out), t->src, n) != 0)
			fail_msg("case %zu: returned -1", i);
		if (strcmp(out, t->want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out,
			    t->want);
	}
}

struct cut_case {
	const char	*src;
	size_t		 size;
	int		 rc;
	const char	*want;
};

/* A buffer too small: whole characters and escapes only, then -1. */
static const struct cut_case cut_cases[] = {
	{ "abc", 4, 0, "abc" },
	{ "abc", 3, -1, "ab" },
	{ "abc", 1, -1, "" },
	{ "a\x01", 6, 0, "a\\x01" },
	{ "a\x01", 5, -1, "a" },		/* never half an escape */
	{ "a\x01", 2, -1, "a" },
	{ "\\\\", 5, 0, "\\\\\\\\" },
	{ "\\\\", 4, -1, "\\\\" },
	{ "\\\\", 2, -1, "" },
	{ "\xc3\xa9\xc3\xa9", 5, 0, "\xc3\xa9\xc3\xa9" },
	{ "\xc3\xa9\xc3\xa9", 4, -1, "\xc3\xa9" },	/* never half a char */
	{ "\xf0\x9f\x98\x80", 4, -1, "" },
	{ "", 1, 0, "" },
};

static void
test_escape_cut(void **state)
{
	char	 out[64];
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(cut_cases) / sizeof(cut_cases[0]); i++) {
		const struct cut_case *t = &cut_cases[i];

		memset(out, 'z', sizeof(out));
		errno = 0;
		rc = log_escape(out, t->size, t->src, strlen(t->src));
		if (rc != t->rc || (rc == -1 && errno != ENOSPC))
			fail_msg("case %zu: got %d errno %d, want %d", i, rc,
			    errno, t->rc);
		if (strcmp(out, t->want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out,
			    t->want);
		if (out[t->size] != 'z')
			fail_msg("case %zu: wrote past size %zu", i, t->size);
	}
	memset(out, 'z', sizeof(out));
	errno = 0;
	assert_int_equal(log_escape(out, 0, "a", 1), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(out[0], 'z');
}

/* --- whole lines: stderr goes to a temporary file meanwhile --- */

static FILE	*capture_file;
static int	 capture_saved = -1;

static void
capture_start(void)
{
	assert_non_null(capture_file = tmpfile());
	fflush(stderr);
	assert_true((capture_saved = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fileno(capture_file), STDERR_FILENO) != -1);
}

/* Restores stderr; returns what was written (caller frees). */
static char *
capture_end(size_t *lenp)
{
	char	*buf;
	long	 len;

	dup2(capture_saved, STDERR_FILENO);
	close(capture_saved);
	capture_saved = -1;
	assert_int_equal(fseek(capture_file, 0, SEEK_END), 0);
	assert_true((len = ftell(capture_file)) >= 0);
	rewind(capture_file);
	assert_non_null(buf = malloc((size_t)len + 1));
	assert_int_equal(fread(buf, 1, (size_t)len, capture_file), (size_t)len);
	buf[len] = '\0';
	fclose(capture_file);
	*lenp = (size_t)len;
	return buf;
}

/* The text of the one line in buf (after "level: "), checking the line
 * is one line, ends in a newline, and holds no control byte. */
static const char *
line_text(const char *buf, size_t len, const char *level)
{
	const char	*p;
	size_t		 i;
	char		 tag[32];

	assert_true(len > 0 && len <= LINE_MAX_TEST);
	assert_int_equal(buf[len - 1], '\n');
	for (i = 0; i < len - 1; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			fail_msg("control byte 0x%02x at %zu in \"%s\"",
			    (unsigned char)buf[i], i, buf);
	assert_true(utf8_valid(buf, len));
	snprintf(tag, sizeof(tag), " test_log[%ld]: %s: ", (long)getpid(),
	    level);
	assert_non_null(p = strstr(buf, tag));
	return p + strlen(tag);
}

static void
test_line_escaped(void **state)
{
	const char	*text;
	char		*buf;
	size_t		 len;

	(void)state;
	log_init("test_log", LOG_LVL_INFO);
	capture_start();
	log_info("oper: %s: no operator \"%s\"", "alice!alice@127.0.0.1",
	    "\x1b[31mevil\x01\nforged line");
	buf = capture_end(&len);
	text = line_text(buf, len, "info");
	assert_string_equal(text, "oper: alice!alice@127.0.0.1: no operator "
	    "\"\\x1b[31mevil\\x01\\x0aforged line\"\n");
	free(buf);
}

static void
test_line_strerror_and_errno(void **state)
{
	const char	*text;
	char		*buf;
	size_t		 len;

	(void)state;
	log_init("test_log", LOG_LVL_INFO);
	capture_start();
	errno = ENOENT;
	log_warn("open %s", "a\tb");
	assert_int_equal(errno, ENOENT);	/* logging keeps errno */
	buf = capture_end(&len);
	text = line_text(buf, len, "warn");
	assert_string_equal(text, "open a\\x09b: No such file or directory\n");
	free(buf);
}

/* Too long once escaped: cut at a whole escape, marked, 1024 bytes. */
static void
test_line_cut(void **state)
{
	char		 msg[700], *buf;
	const char	*text;
	size_t		 len, i, tlen;

	(void)state;
	memset(msg, '\x01', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	log_init("test_log", LOG_LVL_INFO);
	capture_start();
	log_warnx("%s", msg);
	buf = capture_end(&len);
	assert_true(len > LINE_MAX_TEST - 4);	/* whole escapes only */
	text = line_text(buf, len, "warn");
	tlen = strlen(text);
	assert_true(tlen > strlen(CUT) + 1);
	assert_string_equal(text + tlen - strlen(CUT) - 1, CUT "\n");
	/* Only whole \x01 escapes before the marker. */
	assert_int_equal((tlen - strlen(CUT) - 1) % 4, 0);
	for (i = 0; i + strlen(CUT) + 1 < tlen; i += 4)
		assert_memory_equal(text + i, "\\x01", 4);
	free(buf);
}

/* Longer than the line before escaping, with a character across the
 * cut: the marker, never half a character. */
static void
test_line_cut_utf8(void **state)
{
	char		 msg[2000], *buf;
	const char	*text;
	size_t		 len, i, tlen;

	(void)state;
	for (i = 0; i + 2 < sizeof(msg); i += 2)
		memcpy(msg + i, "\xc3\xa9", 2);
	msg[i] = '\0';
	log_init("test_log", LOG_LVL_INFO);
	for (i = 0; i < 2; i++) {
		capture_start();
		/* A one-byte shift puts the cut inside a character once. */
		log_info("%s%s", i == 0 ? "" : "x", msg);
		buf = capture_end(&len);
		text = line_text(buf, len, "info");
		tlen = strlen(text);
		assert_true(len >= LINE_MAX_TEST - 1);
		assert_string_equal(text + tlen - strlen(CUT) - 1, CUT "\n");
		free(buf);
	}
}

/* Short lines are not touched but for escaping: no marker. */
static void
test_line_fits(void **state)
{
	char		*buf;
	const char	*text;
	size_t		 len;

	(void)state;
	log_init("test_log", LOG_LVL_INFO);
	capture_start();
	log_info("%s (%s) closed: %s", "2001:db8::1", "bob",
	    "Quit: caf\xc3\xa9 \\o/");
	buf = capture_end(&len);
	text = line_text(buf, len, "info");
	assert_string_equal(text, "2001:db8::1 (bob) closed: Quit: caf\xc3\xa9 "
	    "\\\\o/\n");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_cut),
		cmocka_unit_test(test_line_escaped),
		cmocka_unit_test(test_line_strerror_and_errno),
		cmocka_unit_test(test_line_cut),
		cmocka_unit_test(test_line_cut_utf8),
		cmocka_unit_test(test_line_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
