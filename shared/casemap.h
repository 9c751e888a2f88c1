/*
 * casemap.h: RFC 1459 casemapping (A-Z [ ] \ ~ fold to a-z { } | ^),
 * nick and room name validation, and wildcard mask matching.
 */
#ifndef NATTER_CASEMAP_H
#define NATTER_CASEMAP_H

#include <stddef.h>

#define NICK_MAX	32	/* NICKLEN */
#define ROOM_NAME_MAX	50	/* CHANNELLEN, '#' included */

int	 casemap_lower(int c);
/* Folds src into dst (dstlen bytes, always NUL-terminated).  Returns the
 * length of src, so a result >= dstlen means dst was cut. */
size_t	 casemap_fold(char *dst, const char *src, size_t dstlen);
int	 casemap_cmp(const char *a, const char *b);
/* 1 if nick is a valid nick of at most maxlen bytes: first a letter or
 * one of []\`_^{|}, then letters, digits, those specials and '-'. */
int	 casemap_valid_nick(const char *nick, size_t maxlen);
/* 1 if name starts with '#', is at most maxlen bytes, is valid UTF-8 and
 * has no space, comma, colon, BEL, NUL, CR or LF. */
int	 casemap_valid_room(const char *name, size_t maxlen);
/* 1 if str matches mask ('*' any run, '?' one byte, '\' escapes the
 * next), comparing under the casemapping. */
int	 casemap_match(const char *mask, const char *str);

#endif
