/* str.h: bounded string copies for hot paths, where snprintf("%s") costs
 * hundreds of instructions a call (glibc copies short strings a byte at a
 * time through its stream machinery). */
#ifndef NATTER_STR_H
#define NATTER_STR_H

#include <stddef.h>

/* Copies src into dst[size], cut to fit and always terminated (size > 0);
 * returns strlen(src), like snprintf(dst, size, "%s", src). */
size_t	 str_copy(char *dst, size_t size, const char *src);
/* Joins the strings up to a NULL into dst[size], cut to fit and always
 * terminated (size > 0); returns the length of the whole join, like
 * snprintf(dst, size, "%s%s...", ...). */
size_t	 str_join(char *dst, size_t size, ...)
	    __attribute__((sentinel));

#endif
