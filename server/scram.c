/*
 * scram.c: the server side of SCRAM-SHA-256 (RFC 5802, RFC 7677)
 * without channel binding: parse the client's two messages, write the
 * server's two.  Pure functions over one struct scram; sasl.c frames
 * them in AUTHENTICATE and looks up the keys (real or fake) between
 * the first two steps.  Usernames are compared as names (casefolded)
 * and passwords used as their UTF-8 bytes (no SASLprep: names are
 * nicks, and a password is whatever the user typed at both ends).
 */
#include <sys/types.h>
#include <sys/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "base64.h"
#include "natterd.h"

#define SCRAM_NONCE_BYTES	18	/* 24 characters of base64 */

/* A SCRAM "saslname": "=2C" is ',', "=3D" is '=', any other '=' or a
 * ',' is an error.  Copies at most len - 1 bytes; -1 if longer. */
static int
saslname(const char *in, size_t n, char *out, size_t len)
{
	size_t	 i, o = 0;
	char	 ch;

	for (i = 0; i < n; i++) {
		ch = in[i];
		if (ch == ',' || ch == '\0')
			return -1;
		if (ch == '=') {
			if (i + 2 >= n)
				return -1;
			if (in[i + 1] == '2' && in[i + 2] == 'C')
				ch = ',';
			else if (in[i + 1] == '3' && in[i + 2] == 'D')
				ch = '=';
			else
				return -1;
			i += 2;
		}
		if (o + 1 >= len)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

/* 1 if s[0..n) is a valid nonce: printable ASCII but ','. */
static int
valid_nonce(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return 0;
	return 1;
}

int
scram_client_first(struct scram *s, const char *msg, size_t len, char *user,
    size_t userlen)
{
	const char	*p = msg, *end = msg + len, *comma, *bare;
	char		 authzid[NICK_MAX * 3 + 1];

	memset(s, 0, sizeof(*s));
	if (memchr(msg, '\0', len) != NULL || len >= sizeof(s->first_bare))
		return -1;
	/* gs2-cbind-flag: we offer no channel binding, so "p=" is an
	 * error; "y" (the client could, but thinks we cannot) is fine. */
	if (len < 3 || (p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return -1;
	p += 2;
	authzid[0] = '\0';
	if (p < end && p[0] == 'a' && p + 1 < end && p[1] == '=') {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL ||
		    saslname(p + 2, (size_t)(comma - p - 2), authzid,
		    sizeof(authzid)) == -1 || authzid[0] == '\0')
			return -1;
		p = comma;
	}
	if (p >= end || *p != ',')
		return -1;
	p++;
	/* The gs2 header goes back in the client's final message. */
	if ((size_t)(p - msg) >= sizeof(s->gs2))
		return -1;
	memcpy(s->gs2, msg, (size_t)(p - msg));
	s->gs2[p - msg] = '\0';
	bare = p;
	/* "m=" (mandatory extensions) is something we do not support. */
	if (end - p < 2 || p[0] != 'n' || p[1] != '=')
		return -1;
	if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL ||
	    saslname(p + 2, (size_t)(comma - p - 2), user, userlen) == -1 ||
	    user[0] == '\0')
		return -1;
	p = comma + 1;
	if (end - p < 2 || p[0] != 'r' || p[1] != '=')
		return -1;
	p += 2;
	comma = memchr(p, ',', (size_t)(end - p));
	if (!valid_nonce(p, (size_t)((comma != NULL ? comma : end) - p)))
		return -1;
	s->cnonce_len = (size_t)((comma != NULL ? comma : end) - p);
	if (s->cnonce_len >= sizeof(s->nonce) - SCRAM_NONCE_BYTES * 2)
		return -1;
	memcpy(s->nonce, p, s->cnonce_len);
	s->nonce[s->cnonce_len] = '\0';
	/* An authzid, if any, must be the user itself. */
	if (authzid[0] != '\0' && casemap_cmp(authzid, user) != 0)
		return -1;
	memcpy(s->first_bare, bare, (size_t)(end - bare));
	s->first_bare[end - bare] = '\0';
	return 0;
}

int
scram_server_first(struct scram *s, const struct scram_keys *k,
    const char *snonce, char *out, size_t outlen)
{
	unsigned char	 rnd[SCRAM_NONCE_BYTES];
	char		 r64[BASE64_LEN(SCRAM_NONCE_BYTES)];
	char		 s64[BASE64_LEN(SCRAM_SALT_LEN)];
	int		 n;

	if (snonce == NULL) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd) ||
		    base64_encode(rnd, sizeof(rnd), r64, sizeof(r64)) == -1)
			return -1;
		snonce = r64;
	}
	n = snprintf(s->nonce + s->cnonce_len, sizeof(s->nonce) -
	    s->cnonce_len, "%s", snonce);
	if (n < 0 || (size_t)n >= sizeof(s->nonce) - s->cnonce_len)
		return -1;
	if (base64_encode(k->salt, SCRAM_SALT_LEN, s64, sizeof(s64)) == -1)
		return -1;
	n = snprintf(s->server_first, sizeof(s->server_first),
	    "r=%s,s=%s,i=%d", s->nonce, s64, k->iter);
	if (n < 0 || (size_t)n >= sizeof(s->server_first))
		return -1;
	s->keys = *k;
	n = snprintf(out, outlen, "%s", s->server_first);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
scram_client_final(struct scram *s, const char *msg, size_t len, char *out,
    size_t outlen)
{
	unsigned char	 proof[64], sig[SHA256_DIGEST_LENGTH];
	unsigned char	 ckey[SHA256_DIGEST_LENGTH], stored[SHA256_DIGEST_LENGTH];
	char		 auth[3 * 1024], c64[BASE64_LEN(sizeof(s->gs2))];
	char		 p64[BASE64_LEN(sizeof(proof))], v64[BASE64_LEN(32)];
	const char	*p, *end = msg + len, *proofat, *comma;
	unsigned int	 n;
	size_t		 without;
	int		 i, k, ok;

	if (memchr(msg, '\0', len) != NULL)
		return -1;
	/* channel-binding: base64 of the gs2 header, nothing more. */
	if (base64_encode(s->gs2, strlen(s->gs2), c64, sizeof(c64)) == -1)
		return -1;
	k = (int)strlen(c64);
	if (len < (size_t)k + 3 || strncmp(msg, "c=", 2) != 0 ||
	    strncmp(msg + 2, c64, (size_t)k) != 0 || msg[2 + k] != ',')
		return -1;
	p = msg + 3 + k;
	if (end - p < 2 || strncmp(p, "r=", 2) != 0)
		return -1;
	p += 2;
	comma = memchr(p, ',', (size_t)(end - p));
	if (comma == NULL || (size_t)(comma - p) != strlen(s->nonce) ||
	    CRYPTO_memcmp(p, s->nonce, strlen(s->nonce)) != 0)
		return -1;
	/* The proof comes last. */
	proofat = NULL;
	for (p = comma; p != NULL && p < end;
	    p = memchr(p + 1, ',', (size_t)(end - p - 1)))
		if (end - p > 3 && p[1] == 'p' && p[2] == '=')
			proofat = p;
	if (proofat == NULL || memchr(proofat + 3, ',',
	    (size_t)(end - proofat - 3)) != NULL)
		return -1;
	without = (size_t)(proofat - msg);
	if ((size_t)(end - proofat - 3) >= sizeof(p64))
		return -1;
	memcpy(p64, proofat + 3, (size_t)(end - proofat - 3));
	p64[end - proofat - 3] = '\0';
	if (base64_decode(p64, proof, sizeof(proof)) != SHA256_DIGEST_LENGTH)
		return -1;
	k = snprintf(auth, sizeof(auth), "%s,%s,%.*s", s->first_bare,
	    s->server_first, (int)without, msg);
	if (k < 0 || (size_t)k >= sizeof(auth))
		return -1;
	/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); it is right
	 * if its SHA-256 is StoredKey. */
	n = sizeof(sig);
	if (HMAC(EVP_sha256(), s->keys.stored, SCRAM_KEY_LEN,
	    (unsigned char *)auth, (size_t)k, sig, &n) == NULL)
		return -1;
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		ckey[i] = proof[i] ^ sig[i];
	SHA256(ckey, sizeof(ckey), stored);
	ok = CRYPTO_memcmp(stored, s->keys.stored, SCRAM_KEY_LEN) == 0;
	OPENSSL_cleanse(ckey, sizeof(ckey));
	if (!ok)
		return 0;
	n = sizeof(sig);
	if (HMAC(EVP_sha256(), s->keys.server, SCRAM_KEY_LEN,
	    (unsigned char *)auth, (size_t)k, sig, &n) == NULL ||
	    base64_encode(sig, sizeof(sig), v64, sizeof(v64)) == -1)
		return -1;
	k = snprintf(out, outlen, "v=%s", v64);
	return k < 0 || (size_t)k >= outlen ? -1 : 1;
}
