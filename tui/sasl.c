/*
 * sasl.c: the responses natter sends with AUTHENTICATE (IRCv3 sasl):
 * base64 and the 400-byte chunks.  No curses, no I/O.
 */
#include <stdio.h>
#include <string.h>

#include "natter.h"

#define PLAIN_MAX	800	/* user, user and password with two NULs */

int
sasl_base64(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	unsigned v;

	if (outlen == 0 || (len + 2) / 3 * 4 >= outlen)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	if (i < len) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

int
sasl_plain_lines(const char *user, const char *pass, char out[][512],
    int max)
{
	unsigned char raw[PLAIN_MAX];
	char b64[(PLAIN_MAX + 2) / 3 * 4 + 1];
	size_t ulen = strlen(user), plen = strlen(pass), len, off, n;
	int nout = 0, rc = -1;

	/* authzid, authcid (both the account), password (RFC 4616). */
	if (ulen * 2 + plen + 2 > sizeof(raw))
		return -1;
	memcpy(raw, user, ulen);
	raw[ulen] = '\0';
	memcpy(raw + ulen + 1, user, ulen);
	raw[2 * ulen + 1] = '\0';
	memcpy(raw + 2 * ulen + 2, pass, plen);
	len = 2 * ulen + 2 + plen;
	if (sasl_base64(raw, len, b64, sizeof(b64)) == -1)
		goto done;
	len = strlen(b64);
	for (off = 0; off < len; off += n) {
		n = len - off > SASL_CHUNK ? SASL_CHUNK : len - off;
		if (nout == max)
			goto done;
		snprintf(out[nout++], 512, "AUTHENTICATE %.*s", (int)n,
		    b64 + off);
	}
	/* A last line of exactly 400 bytes says "more follows": "+" ends
	 * it (as it stands for an empty response). */
	if (len % SASL_CHUNK == 0) {
		if (nout == max)
			goto done;
		snprintf(out[nout++], 512, "AUTHENTICATE +");
	}
	rc = nout;
done:
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
	if (rc == -1)
		while (nout > 0)
			explicit_bzero(out[--nout], 512);
	return rc;
}
