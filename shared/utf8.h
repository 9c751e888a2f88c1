/* utf8.h: UTF-8 validation and boundary-safe cutting. */
#ifndef NATTER_UTF8_H
#define NATTER_UTF8_H

#include <stddef.h>

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates, or code
 * points above U+10FFFF), else 0. */
int	 utf8_valid(const char *s, size_t n);
/* The largest length <= max that does not split a character of s
 * (s is n bytes of valid UTF-8). */
size_t	 utf8_cut(const char *s, size_t n, size_t max);
/* Replaces each byte of s[0..n) that does not belong to a well-formed
 * character with '?', in place: the result is valid UTF-8, same length. */
void	 utf8_scrub(char *s, size_t n);

#endif
