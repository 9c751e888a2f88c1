/*
 * casemap.c: the RFC 1459 casemapping, which every comparison of nicks,
 * room names and masks must go through so that "Nick[a]" and "nick{a}"
 * are the same identity everywhere; also nick and room name validation
 * and wildcard mask matching.
 */
#include <string.h>

#include "casemap.h"
#include "utf8.h"

static int	 casemap_nick_special(int);

int
casemap_lower(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 'a';
	switch (c) {
	case '[':
		return '{';
	case ']':
		return '}';
	case '\\':
		return '|';
	case '~':
		return '^';
	default:
		return c;
	}
}

size_t
casemap_fold(char *dst, const char *src, size_t dstlen)
{
	size_t	i;

	for (i = 0; src[i] != '\0'; i++)
		if (i + 1 < dstlen)
			dst[i] = (char)casemap_lower((unsigned char)src[i]);
	if (dstlen > 0)
		dst[i < dstlen ? i : dstlen - 1] = '\0';
	return i;
}

int
casemap_cmp(const char *a, const char *b)
{
	const unsigned char	*ua = (const unsigned char *)a;
	const unsigned char	*ub = (const unsigned char *)b;
	int			 ca, cb;

	for (;; ua++, ub++) {
		ca = casemap_lower(*ua);
		cb = casemap_lower(*ub);
		if (ca != cb || ca == '\0')
			return ca - cb;
	}
}

static int
casemap_nick_special(int c)
{
	return c != '\0' && strchr("[]\\`_^{|}", c) != NULL;
}

int
casemap_valid_nick(const char *nick, size_t maxlen)
{
	size_t	i;
	int	c;

	/* Plain ASCII tests: isalpha() would follow the locale. */
	for (i = 0; nick[i] != '\0'; i++) {
		if (i >= maxlen)
			return 0;
		c = (unsigned char)nick[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    casemap_nick_special(c))
			continue;
		if (i > 0 && ((c >= '0' && c <= '9') || c == '-'))
			continue;
		return 0;
	}
	return i > 0;
}

int
casemap_valid_room(const char *name, size_t maxlen)
{
	size_t	len;

	if (name[0] != '#')
		return 0;
	len = strlen(name);
	if (len > maxlen)
		return 0;
	/* strpbrk cannot see NUL; strlen already stopped there. */
	if (strpbrk(name, " ,:\a\r\n") != NULL)
		return 0;
	return utf8_valid(name, len);
}

/*
 * Iterative glob: on a mismatch, retry from the most recent '*' with
 * one more byte swallowed.  Only the latest star matters (an earlier
 * one could only absorb what the latest can), so this is O(mask * str)
 * at worst, never exponential.
 */
int
casemap_match(const char *mask, const char *str)
{
	const char	*m = mask, *s = str;
	const char	*star = NULL, *retry = NULL;
	int		 mc;

	while (*s != '\0') {
		if (*m == '*') {
			while (*m == '*')
				m++;
			star = m;
			retry = s;
			continue;
		}
		if (*m == '?') {
			m++;
			s++;
			continue;
		}
		if (*m != '\0') {
			mc = (unsigned char)*m;
			/* A lone trailing '\' stands for itself. */
			if (mc == '\\' && m[1] != '\0')
				mc = (unsigned char)*++m;
			if (casemap_lower(mc) ==
			    casemap_lower((unsigned char)*s)) {
				m++;
				s++;
				continue;
			}
		}
		if (star == NULL)
			return 0;
		m = star;
		s = ++retry;
	}
	while (*m == '*')
		m++;
	return *m == '\0';
}
