/* str.c: bounded string copies (str.h). */
#include <stdarg.h>
#include <string.h>

#include "str.h"

/* Appends s at dst + *at, within size; *at counts the whole length. */
static void
str_put(char *dst, size_t size, size_t *at, const char *s)
{
	size_t n = strlen(s);

	if (*at + 1 < size) {
		size_t room = size - 1 - *at;

		memcpy(dst + *at, s, n < room ? n : room);
	}
	*at += n;
}

size_t
str_copy(char *dst, size_t size, const char *src)
{
	size_t at = 0;

	str_put(dst, size, &at, src);
	if (size > 0)
		dst[at < size ? at : size - 1] = '\0';
	return at;
}

size_t
str_join(char *dst, size_t size, ...)
{
	const char *s;
	size_t at = 0;
	va_list ap;

	va_start(ap, size);
	while ((s = va_arg(ap, const char *)) != NULL)
		str_put(dst, size, &at, s);
	va_end(ap);
	if (size > 0)
		dst[at < size ? at : size - 1] = '\0';
	return at;
}
