/*
 * base64.h: RFC 4648 base64 with padding, as SASL (AUTHENTICATE) and
 * SCRAM use it.  Decoding is strict: no whitespace, padding only at the
 * end, no bits left over.  Nothing here prints or exits.
 */
#ifndef NATTER_BASE64_H
#define NATTER_BASE64_H

#include <stddef.h>

/* Bytes base64_encode writes for n input bytes, the NUL included. */
#define BASE64_LEN(n)	(((n) + 2) / 3 * 4 + 1)

/* Encodes n bytes of in into out (NUL-terminated).  Returns the length,
 * or -1 if out (len bytes) is too small. */
int	 base64_encode(const void *in, size_t n, char *out, size_t len);
/* Decodes the NUL-terminated in into out.  Returns the byte count, or
 * -1 if in is not strict base64 or out (len bytes) is too small.  A NUL
 * is added after the bytes when there is room for it. */
int	 base64_decode(const char *in, unsigned char *out, size_t len);

#endif
