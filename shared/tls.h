/*
 * tls.h: the OpenSSL parts both programs share: contexts (TLS 1.2 at
 * least), certificate fingerprints, and a self-signed certificate
 * maker.  Errors go to a caller's buffer; nothing here prints or exits.
 */
#ifndef NATTER_TLS_H
#define NATTER_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* "AB:CD:...": 32 bytes of SHA-256, colon-separated, upper case. */
#define TLS_FP_LEN	95
#define TLS_CERT_FILE	"natterd.crt"
#define TLS_KEY_FILE	"natterd.key"

/* The last OpenSSL error (or errno's) as one line, and clears the queue. */
void	 tls_error(char *why, size_t whylen, const char *what);

/* SHA-256 of the DER certificate as TLS_FP_LEN characters; -1 on error. */
int	 tls_fingerprint(X509 *cert, char *out, size_t outlen);

/*
 * A user's fingerprint in canonical form: hex digits, colons optional,
 * any case, an optional "SHA256:" prefix.  -1 unless it is 32 bytes.
 */
int	 tls_fingerprint_parse(const char *in, char *out, size_t outlen);

/* A server context for cert (a PEM chain) and key; NULL with why. */
SSL_CTX	*tls_server_ctx(const char *cert, const char *key, char *why,
	    size_t whylen);

/*
 * The same from PEM text in memory (certlen and keylen bytes, no NUL
 * needed); certname and keyname name them in why.  The caller owns both
 * buffers, and clears the key's.  An encrypted key is refused.
 */
SSL_CTX	*tls_server_ctx_mem(const char *cert, size_t certlen,
	    const char *certname, const char *key, size_t keylen,
	    const char *keyname, char *why, size_t whylen);

/*
 * A client context: peers are verified against cafile (PEM), or the
 * system store when cafile is NULL, but the handshake never fails on
 * verification: the caller reads SSL_get_verify_result() and decides
 * (certificate pinning needs the unverified certificate).  cert and
 * key, both or neither, are a client certificate.
 */
SSL_CTX	*tls_client_ctx(const char *cafile, const char *cert,
	    const char *key, char *why, size_t whylen);

/*
 * Writes dir/natterd.key (mode 0600) and dir/natterd.crt: a new P-256
 * key and a self-signed certificate for the host names in names (the
 * first is its CN), also valid for localhost, 127.0.0.1 and ::1, for
 * ten years.  Refuses to overwrite either file.  fp gets the
 * certificate's fingerprint.
 */
int	 tls_gen_cert(const char *dir, const char *const *names, int nnames,
	    char *fp, size_t fplen, char *why, size_t whylen);

#endif
