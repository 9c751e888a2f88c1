/*
 * test_frame.c: unit tests for the line framer in shared/frame.c:
 * line ends, split reads, length limits and buffer release.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

#define MAXEV	16

struct event {
	enum frame_event	 ev;
	char			*line;
	size_t			 len;
};

struct collector {
	struct event	 evs[MAXEV];
	int		 n;
	int		 stop_at;	/* return 7 on this event, or -1 */
};

static void
coll_init(struct collector *c)
{
	memset(c, 0, sizeof(*c));
	c->stop_at = -1;
}

static void
coll_free(struct collector *c)
{
	int	i;

	for (i = 0; i < c->n; i++)
		free(c->evs[i].line);
	c->n = 0;
}

static int
collect(void *arg, enum frame_event ev, char *line, size_t len)
{
	struct collector	*c = arg;
	struct event		*e;

	assert_true(c->n < MAXEV);
	e = &c->evs[c->n];
	e->ev = ev;
	e->len = len;
	e->line = NULL;
	if (ev == FRAME_LINE) {
		assert_non_null(line);
		/* Delivered lines are NUL-terminated at len. */
		assert_int_equal(line[len], '\0');
		e->line = malloc(len + 1);
		assert_non_null(e->line);
		memcpy(e->line, line, len + 1);
	} else {
		assert_null(line);
		assert_int_equal(len, 0);
	}
	return c->n++ == c->stop_at ? 7 : 0;
}

/* Feeds s in pieces of at most chunk bytes (0: all at once). */
static void
feed(struct frame *f, struct collector *c, const char *s, size_t n,
    size_t chunk)
{
	size_t	off, k;

	if (chunk == 0)
		chunk = n > 0 ? n : 1;
	for (off = 0; off < n; off += k) {
		k = n - off < chunk ? n - off : chunk;
		assert_int_equal(frame_feed(f, s + off, k, collect, c), 0);
	}
}

static void
expect_line(const struct collector *c, int i, const char *want)
{
	assert_true(i < c->n);
	assert_int_equal(c->evs[i].ev, FRAME_LINE);
	assert_int_equal(c->evs[i].len, strlen(want));
	assert_string_equal(c->evs[i].line, want);
}

static void
expect_toolong(const struct collector *c, int i)
{
	assert_true(i < c->n);
	assert_int_equal(c->evs[i].ev, FRAME_TOOLONG);
}

/* The same stream must frame identically however it is split. */
static const size_t chunks[] = { 0, 1, 2, 3, 7, 64, 511, 4096 };
#define NCHUNKS	(sizeof(chunks) / sizeof(chunks[0]))

static void
test_line_ends(void **state)
{
	static const char in[] = "A\r\nB\nC\rD\r\r\n\n\rE\n";
	struct frame		 f;
	struct collector	 c;
	size_t			 k;

	(void)state;
	for (k = 0; k < NCHUNKS; k++) {
		frame_init(&f);
		coll_init(&c);
		feed(&f, &c, in, sizeof(in) - 1, chunks[k]);
		assert_int_equal(c.n, 5);
		expect_line(&c, 0, "A");
		expect_line(&c, 1, "B");
		expect_line(&c, 2, "C");
		expect_line(&c, 3, "D");
		expect_line(&c, 4, "E");
		assert_null(f.buf);
		coll_free(&c);
		frame_free(&f);
	}
}

static void
test_partial_kept(void **state)
{
	struct frame		 f;
	struct collector	 c;

	(void)state;
	frame_init(&f);
	coll_init(&c);
	feed(&f, &c, "PING :x\r\nPRIV", 13, 0);
	assert_int_equal(c.n, 1);
	expect_line(&c, 0, "PING :x");
	/* A partial line is buffered... */
	assert_non_null(f.buf);
	assert_int_equal(f.len, 4);
	feed(&f, &c, "MSG a :b\r", 9, 0);
	assert_int_equal(c.n, 2);
	expect_line(&c, 1, "PRIVMSG a :b");
	/* ...and released once nothing is pending, even mid-CRLF. */
	assert_null(f.buf);
	assert_int_equal(f.cap, 0);
	feed(&f, &c, "\n", 1, 0);
	assert_int_equal(c.n, 2);
	assert_null(f.buf);
	/* Only line ends: nothing delivered, nothing held. */
	feed(&f, &c, "\r\n\r\n\n\n\r\r", 8, 0);
	assert_int_equal(c.n, 2);
	assert_null(f.buf);
	assert_int_equal(frame_feed(&f, "", 0, collect, &c), 0);
	assert_null(f.buf);
	coll_free(&c);
	frame_free(&f);
}

static void
test_embedded_nul(void **state)
{
	static const char in[] = "a\0b\r\n\0\n";
	struct frame		 f;
	struct collector	 c;
	size_t			 k;

	(void)state;
	for (k = 0; k < NCHUNKS; k++) {
		frame_init(&f);
		coll_init(&c);
		feed(&f, &c, in, sizeof(in) - 1, chunks[k]);
		assert_int_equal(c.n, 2);
		assert_int_equal(c.evs[0].ev, FRAME_LINE);
		assert_int_equal(c.evs[0].len, 3);
		assert_memory_equal(c.evs[0].line, "a\0b", 4);
		/* A lone NUL is a line, not an empty one. */
		assert_int_equal(c.evs[1].len, 1);
		assert_int_equal(c.evs[1].line[0], '\0');
		coll_free(&c);
		frame_free(&f);
	}
}

/* Builds "<tags>x...x" with a tag part of taglen bytes ('@' through the
 * space, 0 for none) and rest bytes after it, then an end. */
static char *
make_line(size_t taglen, size_t rest, const char *end, size_t *lenp)
{
	size_t	 n, elen = strlen(end);
	char	*s;

	n = taglen + rest + elen;
	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, 'x', taglen + rest);
	if (taglen > 0) {
		s[0] = '@';
		s[taglen - 1] = ' ';
	}
	memcpy(s + taglen + rest, end, elen + 1);
	*lenp = n;
	return s;
}

struct limit_case {
	size_t	taglen;
	size_t	rest;
	int	ok;
};

static const struct limit_case limit_cases[] = {
	{ 0, 1, 1 },
	{ 0, 510, 1 },
	{ 0, 511, 0 },
	{ 0, 5000, 0 },
	{ 8191, 4, 1 },			/* tags of exactly IRC_TAGS_MAX */
	{ 8192, 4, 0 },
	{ 8191, 510, 1 },		/* both at their limits */
	{ 8191, 511, 0 },
	{ 3, 510, 1 },
	{ 3, 511, 0 },
	{ 20000, 4, 0 },
};

static void
test_limits(void **state)
{
	struct frame		 f;
	struct collector	 c;
	size_t			 i, k, n, len;
	char			*s;

	(void)state;
	for (i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
		const struct limit_case *lc = &limit_cases[i];

		s = make_line(lc->taglen, lc->rest, "\r\nNEXT\r\n", &len);
		for (k = 0; k < NCHUNKS; k++) {
			frame_init(&f);
			coll_init(&c);
			feed(&f, &c, s, len, chunks[k]);
			/* Either way the next line comes through intact. */
			assert_int_equal(c.n, 2);
			if (lc->ok) {
				n = lc->taglen + lc->rest;
				assert_int_equal(c.evs[0].ev, FRAME_LINE);
				assert_int_equal(c.evs[0].len, n);
				assert_memory_equal(c.evs[0].line, s, n);
			} else
				expect_toolong(&c, 0);
			expect_line(&c, 1, "NEXT");
			assert_null(f.buf);
			assert_int_equal(f.discarding, 0);
			coll_free(&c);
			frame_free(&f);
		}
		free(s);
	}
}

/* An unfinished tag part may grow to IRC_TAGS_MAX before it is judged. */
static void
test_tags_incomplete(void **state)
{
	struct frame		 f;
	struct collector	 c;
	char			*s;
	size_t			 len;

	(void)state;
	frame_init(&f);
	coll_init(&c);
	s = make_line(0, IRC_TAGS_MAX + 1, "", &len);
	s[0] = '@';
	/* 8191 bytes, no space yet: still pending. */
	feed(&f, &c, s, IRC_TAGS_MAX, 1);
	assert_int_equal(c.n, 0);
	assert_int_equal(f.len, IRC_TAGS_MAX);
	/* The space would make the tag part 8192 bytes: refused now. */
	feed(&f, &c, " ", 1, 0);
	assert_int_equal(c.n, 1);
	expect_toolong(&c, 0);
	assert_null(f.buf);
	coll_free(&c);

	/* A byte past IRC_TAGS_MAX without a space is refused too. */
	coll_init(&c);
	feed(&f, &c, "\n", 1, 0);
	feed(&f, &c, s, IRC_TAGS_MAX + 1, 0);
	assert_int_equal(c.n, 1);
	expect_toolong(&c, 0);
	assert_int_equal(f.discarding, 1);
	coll_free(&c);
	frame_free(&f);
	free(s);
}

/* Reported once, at once, and the rest is dropped up to the line end. */
static void
test_toolong_once(void **state)
{
	struct frame		 f;
	struct collector	 c;
	char			 big[2000];
	int			 i;

	(void)state;
	memset(big, 'y', sizeof(big));
	frame_init(&f);
	coll_init(&c);
	feed(&f, &c, "OK\r\n", 4, 0);
	feed(&f, &c, big, 511, 0);
	/* Detected before any line end arrived. */
	assert_int_equal(c.n, 2);
	expect_line(&c, 0, "OK");
	expect_toolong(&c, 1);
	/* Discarding holds no buffer either. */
	assert_null(f.buf);
	for (i = 0; i < 50; i++)
		feed(&f, &c, big, sizeof(big), 0);
	feed(&f, &c, big, 3, 1);
	assert_int_equal(c.n, 2);
	feed(&f, &c, "zz\rAFTER\n", 9, 0);
	assert_int_equal(c.n, 3);
	expect_line(&c, 2, "AFTER");
	coll_free(&c);

	/* Two overlong lines in one feed: two reports. */
	coll_init(&c);
	big[600] = '\n';
	big[1300] = '\r';
	feed(&f, &c, big, 1301, 0);
	feed(&f, &c, "\nX\n", 3, 0);
	assert_int_equal(c.n, 3);
	expect_toolong(&c, 0);
	expect_toolong(&c, 1);
	expect_line(&c, 2, "X");
	coll_free(&c);
	frame_free(&f);
}

static void
test_stop_value(void **state)
{
	static const char in[] = "A\nB\nC\n";
	struct frame		 f;
	struct collector	 c;
	char			 big[600];

	(void)state;
	frame_init(&f);
	coll_init(&c);
	c.stop_at = 1;
	assert_int_equal(frame_feed(&f, in, sizeof(in) - 1, collect, &c), 7);
	/* The unread rest is dropped: C never arrives. */
	assert_int_equal(c.n, 2);
	expect_line(&c, 0, "A");
	expect_line(&c, 1, "B");
	assert_null(f.buf);
	coll_free(&c);

	/* A stop on FRAME_TOOLONG is returned too. */
	coll_init(&c);
	c.stop_at = 0;
	memset(big, 'q', sizeof(big));
	assert_int_equal(frame_feed(&f, big, sizeof(big), collect, &c), 7);
	assert_int_equal(c.n, 1);
	expect_toolong(&c, 0);
	coll_free(&c);
	frame_free(&f);
	assert_null(f.buf);
	assert_int_equal(f.len, 0);
	assert_int_equal(f.discarding, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_partial_kept),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_tags_incomplete),
		cmocka_unit_test(test_toolong_once),
		cmocka_unit_test(test_stop_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
