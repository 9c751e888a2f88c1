/*
 * fuzz_irc.c: libFuzzer target for the IRC message parser and the
 * helpers that read its fields: irc_parse, irc_tag_get, tag value
 * escaping, nick and room validation, mask matching and UTF-8
 * validation.  Besides crashes and sanitizer reports it checks what the
 * headers promise, against small reference models written from the
 * header comments alone; any difference aborts.
 *
 * Input: one line; everything from the first CR or LF on is dropped
 * (irc_parse is only ever given a framed line), and the rest is copied
 * into a NUL-terminated buffer of exactly its size.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casemap.h"
#include "irc.h"
#include "utf8.h"

/* casemap_match is O(mask * str); longer fields only slow the fuzzer. */
#define FUZZ_MATCH_MAX	600

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #e);				\
		abort();						\
	}								\
} while (0)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	*xmalloc(size_t);
static int	 within(const char *, size_t, const char *);
static void	 check_parse(char *, size_t, const char *);
static void	 check_roundtrip(const struct irc_msg *, size_t);
static void	 check_tags(const char *);
static void	 check_escape(const char *);
static int	 ref_valid_nick(const char *, size_t);
static int	 ref_valid_room(const char *, size_t);
static int	 ref_utf8_valid(const char *, size_t);
static int	 ref_match(const char *, const char *);
static void	 check_field(const char *);
static void	 check_pair(const char *, const char *);

static char *
xmalloc(size_t n)
{
	char	*p;

	if ((p = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	return p;
}

/* 1 if the string p starts and ends inside buf[0..len]. */
static int
within(const char *buf, size_t len, const char *p)
{
	return p >= buf && p <= buf + len && p + strlen(p) <= buf + len;
}

/*
 * Re-serialises a parsed message with single spaces and parses that
 * again: every field must come back identical.
 */
static void
check_roundtrip(const struct irc_msg *m, size_t len)
{
	struct irc_msg	 m2;
	char		*buf, *p;
	size_t		 cap = len + 8, left;
	int		 i, n;

	buf = xmalloc(cap);
	p = buf;
	left = cap;
#define PUT(...) do {							\
	n = snprintf(p, left, __VA_ARGS__);				\
	CHECK(n >= 0 && (size_t)n < left);				\
	p += n;								\
	left -= (size_t)n;						\
} while (0)
	if (m->tags != NULL)
		PUT("@%s ", m->tags);
	if (m->prefix != NULL)
		PUT(":%s ", m->prefix);
	PUT("%s", m->command);
	for (i = 0; i < m->nparams; i++) {
		if (i == m->nparams - 1 && m->trailing)
			PUT(" :%s", m->params[i]);
		else
			PUT(" %s", m->params[i]);
	}
#undef PUT
	CHECK(irc_parse(buf, &m2) == 0);
	CHECK((m->tags == NULL) == (m2.tags == NULL));
	CHECK(m->tags == NULL || strcmp(m->tags, m2.tags) == 0);
	CHECK((m->prefix == NULL) == (m2.prefix == NULL));
	CHECK(m->prefix == NULL || strcmp(m->prefix, m2.prefix) == 0);
	CHECK(strcmp(m->command, m2.command) == 0);
	CHECK(m->nparams == m2.nparams);
	CHECK(m->trailing == m2.trailing);
	for (i = 0; i < m->nparams; i++)
		CHECK(strcmp(m->params[i], m2.params[i]) == 0);
	free(buf);
}

static void
check_parse(char *line, size_t len, const char *orig)
{
	struct irc_msg	 m;
	const char	*p;
	int		 i, rv;

	errno = 0;
	rv = irc_parse(line, &m);
	if (rv == -1) {
		CHECK(errno == EINVAL);
		CHECK(m.tags == NULL && m.prefix == NULL &&
		    m.command == NULL && m.nparams == 0 && m.trailing == 0);
		/* No command: nothing but spaces, one tag and one prefix. */
		p = orig + strspn(orig, " ");
		if (*p == '@')
			p += strcspn(p, " "), p += strspn(p, " ");
		if (*p == ':')
			p += strcspn(p, " "), p += strspn(p, " ");
		CHECK(*p == '\0');
		return;
	}
	CHECK(rv == 0);
	CHECK(m.command != NULL && m.command[0] != '\0');
	CHECK(within(line, len, m.command));
	CHECK(strchr(m.command, ' ') == NULL);
	CHECK(m.tags == NULL || (within(line, len, m.tags) &&
	    strchr(m.tags, ' ') == NULL && m.tags[-1] == '@'));
	CHECK(m.prefix == NULL || (within(line, len, m.prefix) &&
	    strchr(m.prefix, ' ') == NULL && m.prefix[-1] == ':'));
	CHECK(m.nparams >= 0 && m.nparams <= IRC_PARAMS_MAX);
	CHECK(m.trailing == 0 || m.trailing == 1);
	CHECK(!m.trailing || m.nparams > 0);
	for (i = 0; i < m.nparams; i++) {
		CHECK(m.params[i] != NULL);
		CHECK(within(line, len, m.params[i]));
		if (i == m.nparams - 1 &&
		    (m.trailing || i == IRC_PARAMS_MAX - 1))
			continue;
		/* A middle param is one non-empty word, not ':'-led. */
		CHECK(m.params[i][0] != '\0' && m.params[i][0] != ':');
		CHECK(strchr(m.params[i], ' ') == NULL);
	}
	for (i = m.nparams; i < IRC_PARAMS_MAX; i++)
		CHECK(m.params[i] == NULL);
	check_roundtrip(&m, len);

	if (m.tags != NULL)
		check_tags(m.tags);
	if (m.prefix != NULL)
		check_field(m.prefix);
	check_field(m.command);
	for (i = 0; i < m.nparams; i++) {
		check_field(m.params[i]);
		check_pair(m.params[i], i + 1 < m.nparams ?
		    m.params[i + 1] : m.command);
	}
	if (m.prefix != NULL && m.nparams > 0)
		check_pair(m.params[0], m.prefix);
}

static void
check_tags(const char *tags)
{
	static const char *const keys[] = {
		"time", "msgid", "label", "batch", "account", "+draft/reply",
		"a", "=", ";", "\\",
	};
	char		*big, *small, *first;
	size_t		 tlen = strlen(tags), klen, k, outlen;
	int		 rv, rv2;

	big = xmalloc(tlen + 1);
	CHECK(irc_tag_get(tags, "", big, tlen + 1) == 0);

	/* The first key must be found (unless a later duplicate wins). */
	klen = strcspn(tags, "=;");
	first = xmalloc(klen + 1);
	memcpy(first, tags, klen);
	first[klen] = '\0';
	rv = irc_tag_get(tags, first, big, tlen + 1);
	CHECK(rv == (klen > 0 ? 1 : 0));
	if (rv == 1)
		CHECK(strlen(big) <= tlen);

	for (k = 0; k <= sizeof(keys) / sizeof(keys[0]); k++) {
		const char *key = k < sizeof(keys) / sizeof(keys[0]) ?
		    keys[k] : first;

		/* A value never unescapes longer than the tag string. */
		rv = irc_tag_get(tags, key, big, tlen + 1);
		CHECK(rv == 0 || rv == 1);
		if (rv == 0)
			continue;
		CHECK(strlen(big) <= tlen);
		for (outlen = 1; outlen <= 9; outlen += 4) {
			small = xmalloc(outlen);
			rv2 = irc_tag_get(tags, key, small, outlen);
			if (strlen(big) < outlen) {
				CHECK(rv2 == 1);
				CHECK(strcmp(small, big) == 0);
			} else
				CHECK(rv2 == -1);
			free(small);
		}
		/* What came out escapes back to something that unescapes
		 * to it. */
		check_escape(big);
	}
	free(first);
	free(big);
	check_escape(tags);
}

/*
 * Unescape, escape and unescape again: escape(unescape(x)) is a
 * canonical form, and every size is exact (a buffer one byte short
 * fails, an exact one succeeds, neither writes past its end).
 */
static void
check_escape(const char *x)
{
	char	*u, *e, *u2, *e2;
	size_t	 xlen = strlen(x), ulen, elen, i, specials = 0;
	int	 rv;

	u = xmalloc(xlen + 1);
	rv = irc_tag_unescape(x, u, xlen + 1);
	CHECK(rv >= 0 && (size_t)rv == strlen(u) && (size_t)rv <= xlen);
	ulen = (size_t)rv;
	if (ulen > 0) {
		u2 = xmalloc(ulen);
		CHECK(irc_tag_unescape(x, u2, ulen) == -1);
		free(u2);
	}
	CHECK(irc_tag_unescape(x, u, 0) == -1);

	for (i = 0; i < ulen; i++)
		if (strchr(";\\ \r\n", u[i]) != NULL)
			specials++;
	elen = ulen + specials;
	e = xmalloc(elen + 1);
	CHECK(irc_tag_escape(u, e, elen + 1) == (int)elen);
	CHECK(strlen(e) == elen);
	CHECK(strpbrk(e, "; \r\n") == NULL);
	e2 = xmalloc(elen > 0 ? elen : 1);
	CHECK(irc_tag_escape(u, e2, elen) == -1);
	free(e2);
	CHECK(irc_tag_escape(u, e, 0) == -1);

	/* unescape(escape(u)) == u, exactly. */
	u2 = xmalloc(ulen + 1);
	CHECK(irc_tag_unescape(e, u2, ulen + 1) == (int)ulen);
	CHECK(memcmp(u, u2, ulen + 1) == 0);
	free(u2);
	free(e);
	free(u);
}

/* casemap.h: a letter or []\`_^{|} first, then also digits and '-'. */
static int
ref_valid_nick(const char *s, size_t maxlen)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > maxlen)
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    memchr("[]\\`_^{|}", s[i], 9) != NULL)
			continue;
		if (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			continue;
		return 0;
	}
	return 1;
}

static int
ref_valid_room(const char *s, size_t maxlen)
{
	size_t	i, n = strlen(s);

	if (n == 0 || s[0] != '#' || n > maxlen)
		return 0;
	for (i = 0; i < n; i++)
		if (memchr(" ,:\a\r\n", s[i], 6) != NULL)
			return 0;
	return ref_utf8_valid(s, n);
}

/* Decodes and then judges the code point, unlike the table-driven
 * utf8_valid. */
static int
ref_utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k, need;
	unsigned long		 cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			need = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			need = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			need = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (n - i <= need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * Glob matching by dynamic programming over mask tokens ('*', '?',
 * '\'-escaped byte, a lone trailing '\' as itself, any other byte).
 */
static int
ref_match(const char *mask, const char *str)
{
	size_t		 slen = strlen(str), j;
	unsigned char	*row, *next;
	const char	*m = mask;
	int		 c, rv;

	row = (unsigned char *)xmalloc(slen + 1);
	next = (unsigned char *)xmalloc(slen + 1);
	memset(row, 0, slen + 1);
	row[0] = 1;
	while (*m != '\0') {
		memset(next, 0, slen + 1);
		if (*m == '*') {
			for (j = 0; j <= slen; j++)
				next[j] = row[j] || (j > 0 && next[j - 1]);
			m++;
		} else if (*m == '?') {
			for (j = 1; j <= slen; j++)
				next[j] = row[j - 1];
			m++;
		} else {
			c = (unsigned char)*m;
			if (c == '\\' && m[1] != '\0')
				c = (unsigned char)*++m;
			for (j = 1; j <= slen; j++)
				next[j] = row[j - 1] && casemap_lower(c) ==
				    casemap_lower((unsigned char)str[j - 1]);
			m++;
		}
		memcpy(row, next, slen + 1);
	}
	rv = row[slen];
	free(row);
	free(next);
	return rv;
}

static void
check_field(const char *s)
{
	size_t	 n = strlen(s), cut, max, i;
	char	*esc, *fold;

	CHECK(utf8_valid(s, n) == ref_utf8_valid(s, n));
	if (utf8_valid(s, n)) {
		for (max = 0; max <= n && max <= 8; max++) {
			cut = utf8_cut(s, n, max);
			CHECK(cut <= max && cut + 3 >= max);
			CHECK(utf8_valid(s, cut));
		}
		CHECK(utf8_cut(s, n, n) == n);
	}
	CHECK(casemap_valid_nick(s, NICK_MAX) == ref_valid_nick(s, NICK_MAX));
	CHECK(casemap_valid_nick(s, n) == ref_valid_nick(s, n));
	CHECK(casemap_valid_room(s, ROOM_NAME_MAX) ==
	    ref_valid_room(s, ROOM_NAME_MAX));
	CHECK(casemap_valid_room(s, n) == ref_valid_room(s, n));

	if (n > FUZZ_MATCH_MAX)
		return;
	fold = xmalloc(n + 1);
	CHECK(casemap_fold(fold, s, n + 1) == n);
	CHECK(casemap_cmp(s, fold) == 0);
	CHECK(casemap_match("*", s) == 1);
	CHECK(casemap_match(s, fold) == casemap_match(s, s));
	if (strchr(s, '\\') == NULL)
		CHECK(casemap_match(s, s) == 1);
	/* Every byte escaped: a literal mask matches its own text. */
	esc = xmalloc(2 * n + 1);
	for (i = 0; i < n; i++) {
		esc[2 * i] = '\\';
		esc[2 * i + 1] = s[i];
	}
	esc[2 * n] = '\0';
	CHECK(casemap_match(esc, s) == 1);
	CHECK(casemap_match(esc, fold) == 1);
	free(esc);
	free(fold);
}

/* Uses a as a mask over b, both ways round, against the model. */
static void
check_pair(const char *a, const char *b)
{
	if (strlen(a) > FUZZ_MATCH_MAX || strlen(b) > FUZZ_MATCH_MAX)
		return;
	CHECK(casemap_match(a, b) == ref_match(a, b));
	CHECK(casemap_match(b, a) == ref_match(b, a));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*line, *orig;
	size_t	 len;

	/* data is not NUL-terminated: no strcspn. */
	for (len = 0; len < size; len++)
		if (data[len] == '\r' || data[len] == '\n')
			break;
	line = xmalloc(len + 1);
	memcpy(line, data, len);
	line[len] = '\0';
	len = strlen(line);	/* an embedded NUL ends the C string */
	orig = xmalloc(len + 1);
	memcpy(orig, line, len + 1);

	check_escape(orig);
	check_parse(line, len, orig);
	free(orig);
	free(line);
	return 0;
}
