/*
 * test_tls.c: server contexts from PEM text in memory (shared/tls.c),
 * as natterd builds them from what its privileged helper read: a good
 * pair, a chain, a mismatched pair, garbage and empty text, each also
 * loaded from files to compare what each says, and an encrypted key.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "tmpdir.h"

#define PEM_MAX		16384
#define GARBAGE		"not a certificate\n"
#define BAD_PEM_CERT	"-----BEGIN CERTIFICATE-----\n*nonsense*\n" \
			"-----END CERTIFICATE-----\n"
#define BAD_PEM_KEY	"-----BEGIN PRIVATE KEY-----\n*nonsense*\n" \
			"-----END PRIVATE KEY-----\n"

/* Two pairs made by tls_gen_cert in tmpdir: a/ and b/. */
struct pairs {
	char	 crt[2][PATH_MAX];
	char	 key[2][PATH_MAX];
	char	 fp[2][TLS_FP_LEN + 1];
	char	 crtpem[2][PEM_MAX];
	char	 keypem[2][PEM_MAX];
};

static struct pairs	 p;

static int
setup_pairs(void **state)
{
	const char *names[] = { "irc.test" };
	char dir[PATH_MAX - 16], why[256];
	int i;

	if (setup(state) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		snprintf(dir, sizeof(dir), "%s/%c", tmpdir, 'a' + i);
		if (tls_gen_cert(dir, names, 1, p.fp[i], sizeof(p.fp[i]), why,
		    sizeof(why)) == -1) {
			fprintf(stderr, "tls_gen_cert: %s\n", why);
			return -1;
		}
		snprintf(p.crt[i], sizeof(p.crt[i]), "%s/%s", dir,
		    TLS_CERT_FILE);
		snprintf(p.key[i], sizeof(p.key[i]), "%s/%s", dir,
		    TLS_KEY_FILE);
		read_file(p.crt[i], p.crtpem[i], sizeof(p.crtpem[i]));
		read_file(p.key[i], p.keypem[i], sizeof(p.keypem[i]));
	}
	return 0;
}

static void
assert_leaf(SSL_CTX *ctx, const char *fp)
{
	char got[TLS_FP_LEN + 1];
	X509 *x;

	assert_non_null(ctx);
	assert_non_null(x = SSL_CTX_get0_certificate(ctx));
	assert_int_equal(tls_fingerprint(x, got, sizeof(got)), 0);
	assert_string_equal(got, fp);
}

static void
test_good_pair(void **state)
{
	char why[256];
	SSL_CTX *ctx;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		ctx = tls_server_ctx_mem(p.crtpem[i], strlen(p.crtpem[i]),
		    p.crt[i], p.keypem[i], strlen(p.keypem[i]), p.key[i], why,
		    sizeof(why));
		assert_leaf(ctx, p.fp[i]);
		SSL_CTX_free(ctx);
	}
}

/* Certificates after the first are its chain, as in a file. */
static void
test_chain(void **state)
{
	char pem[2 * PEM_MAX], why[256];
	STACK_OF(X509) *chain = NULL;
	SSL_CTX *ctx;

	(void)state;
	snprintf(pem, sizeof(pem), "%s%s", p.crtpem[0], p.crtpem[1]);
	ctx = tls_server_ctx_mem(pem, strlen(pem), "chain.pem", p.keypem[0],
	    strlen(p.keypem[0]), "key.pem", why, sizeof(why));
	assert_leaf(ctx, p.fp[0]);
	assert_int_equal(SSL_CTX_get0_chain_certs(ctx, &chain), 1);
	assert_non_null(chain);
	assert_int_equal(sk_X509_num(chain), 1);
	SSL_CTX_free(ctx);
}

/*
 * Bad input: the reason, exact, from memory; and from the same text in
 * files, where OpenSSL sometimes reports the layer above instead.
 */
static void
test_bad(void **state)
{
	static const struct {
		const char	*crt;		/* NULL: pair a's */
		const char	*key;		/* NULL: pair b's */
		int		 is_key;	/* the message names the key */
		const char	*mem;		/* the reason from memory */
		const char	*file;		/* from files, if different */
	} cases[] = {
		{ NULL, NULL, 1, "key values mismatch", NULL },
		{ GARBAGE, NULL, 0, "no start line", "PEM lib" },
		{ "", NULL, 0, "no start line", "PEM lib" },
		{ BAD_PEM_CERT, NULL, 0, "bad base64 decode", "PEM lib" },
		/* OpenSSL 3's key decoders say no more than this. */
		{ NULL, GARBAGE, 1, "unsupported", "PEM lib" },
		{ NULL, "", 1, "unsupported", "PEM lib" },
		{ NULL, BAD_PEM_KEY, 1, "unsupported", "PEM lib" },
	};
	char crt[PATH_MAX], key[PATH_MAX], want[PATH_MAX + 64], why[512];
	char pem[2 * PEM_MAX];
	const char *c, *k, *reason;
	SSL_CTX *ctx;
	size_t i;

	(void)state;
	snprintf(crt, sizeof(crt), "%s/crt.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = cases[i].crt != NULL ? cases[i].crt : p.crtpem[0];
		k = cases[i].key != NULL ? cases[i].key : p.keypem[1];
		snprintf(want, sizeof(want), "%s %s: %s", cases[i].is_key ?
		    "key" : "certificate", cases[i].is_key ? key : crt,
		    cases[i].mem);
		why[0] = '\0';
		ctx = tls_server_ctx_mem(c, strlen(c), crt, k, strlen(k), key,
		    why, sizeof(why));
		assert_null(ctx);
		assert_string_equal(why, want);

		reason = cases[i].file != NULL ? cases[i].file : cases[i].mem;
		snprintf(want, sizeof(want), "%s %s: %s", cases[i].is_key ?
		    "key" : "certificate", cases[i].is_key ? key : crt,
		    reason);
		write_file(crt, c);
		write_file(key, k);
		why[0] = '\0';
		assert_null(tls_server_ctx(crt, key, why, sizeof(why)));
		assert_string_equal(why, want);
	}
	/* Garbage after a good leaf is an error, not the end of a chain. */
	snprintf(pem, sizeof(pem), "%s%s", p.crtpem[0], BAD_PEM_CERT);
	assert_null(tls_server_ctx_mem(pem, strlen(pem), crt, p.keypem[0],
	    strlen(p.keypem[0]), key, why, sizeof(why)));
	snprintf(want, sizeof(want), "certificate %s: bad base64 decode", crt);
	assert_string_equal(why, want);
}

/* An encrypted key fails to load: a daemon has no one to ask. */
static void
test_encrypted_key(void **state)
{
	char why[256], *pem;
	EVP_PKEY *pkey;
	BIO *in, *out;
	long len;

	(void)state;
	assert_non_null(in = BIO_new_mem_buf(p.keypem[0], -1));
	assert_non_null(pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL));
	assert_non_null(out = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PrivateKey(out, pkey,
	    EVP_aes_256_cbc(), (unsigned char *)"pw", 2, NULL, NULL), 1);
	len = BIO_get_mem_data(out, &pem);
	assert_true(len > 0);
	assert_null(tls_server_ctx_mem(p.crtpem[0], strlen(p.crtpem[0]),
	    "crt.pem", pem, (size_t)len, "key.pem", why, sizeof(why)));
	assert_string_equal(why, "key key.pem: bad password read");
	BIO_free(out);
	BIO_free(in);
	EVP_PKEY_free(pkey);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_pair),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_encrypted_key),
	};

	return cmocka_run_group_tests(tests, setup_pairs, teardown);
}
