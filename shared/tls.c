/*
 * tls.c: OpenSSL contexts (from files, or for a server from PEM text in
 * memory), fingerprints and a certificate maker shared by natterd and
 * natter.  Contexts are built whole or not at all, so a
 * caller that reloads keeps its old one when a new file is bad.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* TLS 1.2 suites with forward secrecy and AEAD only; 1.3's are fine. */
#define TLS12_CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:" \
			"DHE+CHACHA20:!aNULL:!eNULL:!MD5:!DSS"

void
tls_error(char *why, size_t whylen, const char *what)
{
	unsigned long e, last = 0, sys = 0;
	const char *reason;
	char buf[256];

	/* OpenSSL 3 files a failed fopen() as a system error followed by
	 * "system lib": the first says what went wrong. */
	while ((e = ERR_get_error()) != 0) {
		if (ERR_SYSTEM_ERROR(e) && sys == 0)
			sys = e;
		last = e;
	}
	if (sys != 0)
		snprintf(why, whylen, "%s: %s", what,
		    strerror(ERR_GET_REASON(sys)));
	else if (last != 0) {
		if ((reason = ERR_reason_error_string(last)) == NULL) {
			ERR_error_string_n(last, buf, sizeof(buf));
			reason = buf;
		}
		snprintf(why, whylen, "%s: %s", what, reason);
	} else if (errno != 0)
		snprintf(why, whylen, "%s: %s", what, strerror(errno));
	else
		snprintf(why, whylen, "%s failed", what);
}

int
tls_fingerprint(X509 *cert, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n, i;

	if (outlen < TLS_FP_LEN + 1 ||
	    X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
		return -1;
	for (i = 0; i < n; i++)
		snprintf(out + i * 3, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
	return 0;
}

int
tls_fingerprint_parse(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *p, *d;
	size_t n = 0;
	int c, half = 0, hi = 0;

	if (outlen < TLS_FP_LEN + 1)
		return -1;
	if (strncasecmp(in, "SHA256:", 7) == 0)
		in += 7;
	for (p = in; *p != '\0'; p++) {
		if (*p == ':' && !half)
			continue;
		c = *p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p;
		if ((d = strchr(hex, c)) == NULL || c == '\0')
			return -1;
		if (!half) {
			hi = (int)(d - hex);
			half = 1;
			continue;
		}
		if (n == 32)
			return -1;
		out[n * 3] = hex[hi];
		out[n * 3 + 1] = hex[d - hex];
		out[n * 3 + 2] = ':';
		n++;
		half = 0;
	}
	if (n != 32 || half)
		return -1;
	out[TLS_FP_LEN] = '\0';
	return 0;
}

static SSL_CTX *
tls_ctx(const SSL_METHOD *method, char *why, size_t whylen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		tls_error(why, whylen, "SSL_CTX_new");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		tls_error(why, whylen, "TLS settings");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* The output queues retry writes from a buffer that may have
	 * moved and grown since; one record at a time may go. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

/* Whatever the client certificate's chain, the handshake goes on. */
static int
tls_any_client_cert(int preverify, X509_STORE_CTX *x)
{
	(void)preverify;
	(void)x;
	return 1;
}

/* A server context with no certificate yet. */
static SSL_CTX *
tls_server_new(char *why, size_t whylen)
{
	SSL_CTX *ctx;

	if ((ctx = tls_ctx(TLS_server_method(), why, whylen)) == NULL)
		return NULL;
	/* A client certificate is asked for but never required, and any
	 * is taken (self-signed ones are the usual case): what it proves
	 * is its SHA-256 fingerprint, which natterd matches against the
	 * ones accounts linked (SASL EXTERNAL).  No session tickets kept
	 * across reloads. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_any_client_cert);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

SSL_CTX *
tls_server_ctx(const char *cert, const char *key, char *why, size_t whylen)
{
	char what[PATH_MAX + 32];
	SSL_CTX *ctx;

	if ((ctx = tls_server_new(why, whylen)) == NULL)
		return NULL;
	errno = 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(what, sizeof(what), "certificate %s", cert);
		goto fail;
	}
	errno = 0;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(what, sizeof(what), "key %s", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "key %s does not match "
		    "certificate %s", key, cert);
		goto fail;
	}
	return ctx;
fail:
	tls_error(why, whylen, what);
	SSL_CTX_free(ctx);
	return NULL;
}

/* An encrypted key cannot be asked for here: it fails to load. */
static int
tls_no_password(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/*
 * As SSL_CTX_use_certificate_chain_file() reads a file: the first
 * certificate is the server's, the others its chain, up to the end.
 */
static int
tls_use_chain_mem(SSL_CTX *ctx, const char *pem, size_t len)
{
	X509 *x;
	BIO *bio;
	unsigned long e;
	int rc = -1;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return -1;
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, tls_no_password,
	    NULL)) == NULL || SSL_CTX_use_certificate(ctx, x) != 1)
		goto done;
	X509_free(x);
	x = NULL;
	if (SSL_CTX_clear_chain_certs(ctx) != 1)
		goto done;
	while ((x = PEM_read_bio_X509(bio, NULL, tls_no_password,
	    NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1)
			goto done;
	/* The end of the text is the one error that is not. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		goto done;
	ERR_clear_error();
	rc = 0;
done:
	X509_free(x);
	BIO_free(bio);
	return rc;
}

SSL_CTX *
tls_server_ctx_mem(const char *cert, size_t certlen, const char *certname,
    const char *key, size_t keylen, const char *keyname, char *why,
    size_t whylen)
{
	char what[PATH_MAX + 32];
	EVP_PKEY *pkey = NULL;
	SSL_CTX *ctx;
	BIO *bio = NULL;

	if (certlen > INT_MAX || keylen > INT_MAX) {
		snprintf(why, whylen, "%s: %s", certlen > INT_MAX ?
		    certname : keyname, strerror(EFBIG));
		return NULL;
	}
	if ((ctx = tls_server_new(why, whylen)) == NULL)
		return NULL;
	errno = 0;
	if (tls_use_chain_mem(ctx, cert, certlen) == -1) {
		snprintf(what, sizeof(what), "certificate %s", certname);
		goto fail;
	}
	errno = 0;
	if ((bio = BIO_new_mem_buf(key, (int)keylen)) == NULL ||
	    (pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_no_password,
	    NULL)) == NULL || SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		snprintf(what, sizeof(what), "key %s", keyname);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "key %s does not match "
		    "certificate %s", keyname, certname);
		goto fail;
	}
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return ctx;
fail:
	tls_error(why, whylen, what);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx(const char *cafile, const char *cert, const char *key,
    char *why, size_t whylen)
{
	char what[PATH_MAX + 32];
	SSL_CTX *ctx;

	if ((ctx = tls_ctx(TLS_client_method(), why, whylen)) == NULL)
		return NULL;
	errno = 0;
	if (cafile != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			snprintf(what, sizeof(what), "CA file %s", cafile);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(what, sizeof(what), "system CA store");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if ((cert == NULL) != (key == NULL)) {
		snprintf(why, whylen, "a client certificate needs both a "
		    "certificate and a key");
		SSL_CTX_free(ctx);
		return NULL;
	}
	errno = 0;
	if (cert != NULL && SSL_CTX_use_certificate_chain_file(ctx,
	    cert) != 1) {
		snprintf(what, sizeof(what), "certificate %s", cert);
		goto fail;
	}
	errno = 0;
	if (key != NULL && (SSL_CTX_use_PrivateKey_file(ctx, key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)) {
		snprintf(what, sizeof(what), "key %s", key);
		goto fail;
	}
	return ctx;
fail:
	tls_error(why, whylen, what);
	SSL_CTX_free(ctx);
	return NULL;
}

/* Writes a new file at path (never over one) holding pkey or x. */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x)
{
	FILE *f;
	int fd, ok;

	errno = 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return -1;
	}
	ok = pkey != NULL ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0,
	    NULL, NULL) : PEM_write_X509(f, x);
	if (fclose(f) != 0 || ok != 1) {
		unlink(path);
		return -1;
	}
	return 0;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

int
tls_gen_cert(const char *dir, const char *const *names, int nnames,
    char *fp, size_t fplen, char *why, size_t whylen)
{
	const char *cn = nnames > 0 ? names[0] : "localhost";
	size_t sanlen = 0;
	int i;
	char keypath[PATH_MAX], certpath[PATH_MAX], san[1024];
	unsigned char serial[16];
	EVP_PKEY *pkey = NULL;
	X509_NAME *name;
	X509 *x = NULL;
	BIGNUM *bn = NULL;
	int rc = -1;

	if (snprintf(keypath, sizeof(keypath), "%s/%s", dir, TLS_KEY_FILE) >=
	    (int)sizeof(keypath) || snprintf(certpath, sizeof(certpath),
	    "%s/%s", dir, TLS_CERT_FILE) >= (int)sizeof(certpath) ||
	    strlen(cn) > 64) {
		snprintf(why, whylen, "%s: name too long", dir);
		return -1;
	}
	if (access(keypath, F_OK) == 0 || access(certpath, F_OK) == 0) {
		snprintf(why, whylen, "%s already exists; remove it first to "
		    "make a new one", access(keypath, F_OK) == 0 ? keypath :
		    certpath);
		return -1;
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		tls_error(why, whylen, "key generation");
		goto done;
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    RAND_bytes(serial, sizeof(serial)) != 1 ||
	    (serial[0] &= 0x7f, (bn = BN_bin2bn(serial, sizeof(serial),
	    NULL)) == NULL) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    3650L * 24 * 3600) == NULL ||
	    X509_set_pubkey(x, pkey) != 1 ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"natterd", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1) {
		tls_error(why, whylen, "certificate");
		goto done;
	}
	san[0] = '\0';
	for (i = 0; i < nnames; i++) {
		if (strcmp(names[i], "localhost") == 0 || strlen(names[i]) >
		    200 || strpbrk(names[i], ",:") != NULL)
			continue;
		sanlen += (size_t)snprintf(san + sanlen, sizeof(san) - sanlen,
		    "DNS:%s,", names[i]);
		if (sanlen >= sizeof(san) - 64) {
			snprintf(why, whylen, "too many names");
			goto done;
		}
	}
	snprintf(san + sanlen, sizeof(san) - sanlen,
	    "DNS:localhost,IP:127.0.0.1,IP:::1");
	if (add_ext(x, NID_subject_alt_name, san) == -1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") == -1 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") == -1 ||
	    X509_sign(x, pkey, EVP_sha256()) == 0) {
		tls_error(why, whylen, "certificate");
		goto done;
	}
	if (write_pem(keypath, 0600, pkey, NULL) == -1) {
		tls_error(why, whylen, keypath);
		goto done;
	}
	if (write_pem(certpath, 0644, NULL, x) == -1) {
		tls_error(why, whylen, certpath);
		unlink(keypath);
		goto done;
	}
	if (tls_fingerprint(x, fp, fplen) == -1) {
		tls_error(why, whylen, "fingerprint");
		goto done;
	}
	rc = 0;
done:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}
