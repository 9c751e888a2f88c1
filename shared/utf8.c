/*
 * utf8.c: strict UTF-8 validation (Unicode Table 3-7 well-formed byte
 * sequences) and cutting text without splitting a character.  Strict
 * because overlongs and surrogates are how filters get bypassed.
 */
#include "utf8.h"

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k, need;
	unsigned char		 lo, hi;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		/*
		 * The second byte's range encodes every exclusion: E0 and
		 * F0 rule out overlongs, ED surrogates, F4 > U+10FFFF.
		 */
		lo = 0x80;
		hi = 0xbf;
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			need = 1;
		else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			need = 2;
			if (p[i] == 0xe0)
				lo = 0xa0;
			else if (p[i] == 0xed)
				hi = 0x9f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			need = 3;
			if (p[i] == 0xf0)
				lo = 0x90;
			else if (p[i] == 0xf4)
				hi = 0x8f;
		} else
			return 0;	/* stray continuation, C0, C1, F5-FF */
		if (n - i <= need)
			return 0;	/* truncated */
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += need + 1;
	}
	return 1;
}

size_t
utf8_cut(const char *s, size_t n, size_t max)
{
	if (max >= n)
		return n;
	/* Back off while s[max] would start mid-character. */
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

void
utf8_scrub(char *s, size_t n)
{
	size_t	i = 0, need;

	while (i < n) {
		unsigned char b = (unsigned char)s[i];

		need = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 :
		    b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
		if (need > 0 && need <= n - i && utf8_valid(s + i, need))
			i += need;
		else
			s[i++] = '?';
	}
}
