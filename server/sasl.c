/*
 * sasl.c: AUTHENTICATE, IRCv3 sasl 3.1 and 3.2: PLAIN, EXTERNAL and
 * SCRAM-SHA-256, before or after registration, one login per
 * connection (no re-authentication: 907).
 *
 * An exchange is a struct sasl on the heap of the client's own thread
 * ([T], c->sasl), made by "AUTHENTICATE <mechanism>" and freed when it
 * ends.  Client messages arrive base64 in lines of at most 400 bytes; a
 * line of exactly 400 says more follows, "+" is an empty line (or ends
 * a message that was a multiple of 400), "*" aborts.  A message is
 * bounded by SASL_MSG_MAX bytes of base64 (905 past it).
 *
 * A PLAIN password is checked by account_check_password(), which waits
 * for a hashing thread in this client's thread with no lock held: other
 * clients go on, and this one's later lines wait their turn.  The
 * login itself (c->account) is set under server.lock, on the account
 * object the check returned, and only if it still exists.  A wrong
 * password, an unknown account and a limited one all get the same
 * 904; SCRAM for an unknown account runs a fake exchange
 * (account_scram_keys) that fails at the proof, like a wrong password.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base64.h"
#include "log.h"
#include "natterd.h"
#include "tls.h"

#define SASL_CHUNK	400	/* bytes of base64 a line carries */
#define SASL_MSG_MAX	1200	/* bytes of base64 a message may have */

enum sasl_mech {
	SASL_PLAIN,
	SASL_EXTERNAL,
	SASL_SCRAM
};

static const char *const sasl_names[] = {
	[SASL_PLAIN] = "PLAIN",
	[SASL_EXTERNAL] = "EXTERNAL",
	[SASL_SCRAM] = "SCRAM-SHA-256",
};

struct sasl {
	enum sasl_mech	 mech;
	int		 step;		/* SCRAM: 0 first, 1 final, 2 done */
	size_t		 len;
	char		 buf[SASL_MSG_MAX + 1];	/* base64 so far */
	/* SCRAM */
	struct scram	*scram;
	struct account	*account;	/* NULL during a fake exchange */
	char		 user[NICK_MAX * 3 + 1];
};

void
sasl_free(struct sasl *s)
{
	if (s == NULL)
		return;
	if (s->scram != NULL) {
		OPENSSL_cleanse(s->scram, sizeof(*s->scram));
		free(s->scram);
	}
	account_unref(s->account);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

static void
sasl_end(struct conn *c)
{
	sasl_free(c->sasl);
	c->sasl = NULL;
}

void
sasl_abort(struct turn *t)
{
	if (t->conn->sasl == NULL)
		return;
	sasl_end(t->conn);
	reply(t, ERR_SASLABORTED);
}

static void
sasl_fail(struct turn *t)
{
	sasl_end(t->conn);
	reply(t, ERR_SASLFAIL);
}

/* Sends data (n bytes) as base64 in AUTHENTICATE lines of SASL_CHUNK. */
static void
sasl_send(struct turn *t, const char *data, size_t n)
{
	char	 b64[BASE64_LEN(SASL_MSG_MAX)];
	size_t	 len, off;

	if (base64_encode(data, n, b64, sizeof(b64)) == -1) {
		sasl_fail(t);
		return;
	}
	len = strlen(b64);
	for (off = 0; off < len; off += SASL_CHUNK)
		turn_sendf(t, "AUTHENTICATE %.*s", SASL_CHUNK, b64 + off);
	if (len % SASL_CHUNK == 0)
		turn_sendf(t, "AUTHENTICATE +");
}

/* The login: a takes effect on c if it still exists.  Takes the
 * caller's reference. */
static void
sasl_login(struct turn *t, struct account *a, const char *mech)
{
	sasl_end(t->conn);
	if (login_account(t, a, mech, 1) == -1)
		reply(t, ERR_SASLFAIL);
}

/* PLAIN: "authzid NUL authcid NUL password" (RFC 4616). */
static void
sasl_plain(struct turn *t, char *msg, size_t n)
{
	struct account	*a;
	char		*authz, *authc, *pass, *nul;

	authz = msg;
	if ((nul = memchr(authz, '\0', n)) == NULL)
		goto bad;
	authc = nul + 1;
	if ((nul = memchr(authc, '\0', n - (size_t)(authc - msg))) == NULL)
		goto bad;
	pass = nul + 1;
	if (memchr(pass, '\0', n - (size_t)(pass - msg)) != NULL ||
	    authc[0] == '\0' || pass[0] == '\0')
		goto bad;
	/* Acting as someone else is not a thing here. */
	if (authz[0] != '\0' && casemap_cmp(authz, authc) != 0)
		goto bad;
	switch (account_check_password(authc, pass, t->conn->ipgroup, "PLAIN",
	    &a)) {
	case ACCOUNT_OK:
		sasl_login(t, a, "PLAIN");
		return;
	case ACCOUNT_BAD:
	case ACCOUNT_LIMITED:
		break;
	}
	sasl_fail(t);
	return;
bad:
	log_info("%s: malformed SASL PLAIN message", t->conn->ip);
	sasl_fail(t);
}

/*
 * The account EXTERNAL names: over TLS, the one the client
 * certificate's SHA-256 fingerprint is linked to.
 * On the Unix socket the peer's uid (SO_PEERCRED) is the identity, and
 * account_local() gives its account.
 */
static struct account *
sasl_external_account(struct conn *c)
{
	char	 fp[TLS_FP_LEN + 1];
	X509	*cert;
	int	 rc;

	/* On the Unix socket the kernel says who the peer is. */
	if (c->local)
		return c->peer_name[0] != '\0' ?
		    account_local(c->peer_uid, c->peer_name) : NULL;
	if (c->ssl == NULL ||
	    (cert = SSL_get1_peer_certificate(c->ssl)) == NULL)
		return NULL;
	rc = tls_fingerprint(cert, fp, sizeof(fp));
	X509_free(cert);
	return rc == -1 ? NULL : account_cert_owner(fp);
}

/* EXTERNAL: the message is empty or the authzid. */
static void
sasl_external(struct turn *t, const char *msg, size_t n)
{
	struct account	*a;

	if ((a = sasl_external_account(t->conn)) == NULL) {
		log_info("%s: SASL EXTERNAL without a linked certificate",
		    t->conn->ip);
		sasl_fail(t);
		return;
	}
	if (n > 0 && (memchr(msg, '\0', n) != NULL ||
	    casemap_cmp(msg, account_name(a)) != 0)) {
		account_unref(a);
		sasl_fail(t);
		return;
	}
	sasl_login(t, a, "EXTERNAL");
}

static void
sasl_scram(struct turn *t, const char *msg, size_t n)
{
	struct sasl	*s = t->conn->sasl;
	struct scram_keys k;
	struct account	*a;
	char		 out[512];
	int		 rc, ok;

	switch (s->step) {
	case 0:
		if ((s->scram = calloc(1, sizeof(*s->scram))) == NULL ||
		    scram_client_first(s->scram, msg, n, s->user,
		    sizeof(s->user)) == -1) {
			log_info("%s: malformed SCRAM client-first message",
			    t->conn->ip);
			sasl_fail(t);
			return;
		}
		if (account_scram_keys(s->user, t->conn->ipgroup, &k, &s->account) ==
		    ACCOUNT_LIMITED ||
		    scram_server_first(s->scram, &k, NULL, out,
		    sizeof(out)) == -1) {
			OPENSSL_cleanse(&k, sizeof(k));
			sasl_fail(t);
			return;
		}
		OPENSSL_cleanse(&k, sizeof(k));
		s->step = 1;
		sasl_send(t, out, strlen(out));
		return;
	case 1:
		/* The proof is counted as it is checked, so that parallel
		 * exchanges cannot outrun the failed-login limit. */
		if (account_attempt_begin(s->user, t->conn->ipgroup) == -1) {
			sasl_fail(t);
			return;
		}
		rc = scram_client_final(s->scram, msg, n, out, sizeof(out));
		ok = rc == 1 && s->account != NULL;
		account_attempt_end(s->user, t->conn->ipgroup, !ok, rc == -1 ?
		    "SCRAM-SHA-256, malformed" : "SCRAM-SHA-256");
		if (!ok) {
			sasl_fail(t);
			return;
		}
		s->step = 2;
		sasl_send(t, out, strlen(out));
		return;
	default:
		/* The client read our signature: it answers with nothing. */
		if (n != 0) {
			sasl_fail(t);
			return;
		}
		a = s->account;
		s->account = NULL;
		sasl_login(t, a, "SCRAM-SHA-256");
		return;
	}
}

static void
sasl_start(struct turn *t, const char *name)
{
	size_t		 i;

	for (i = 0; i < sizeof(sasl_names) / sizeof(sasl_names[0]); i++)
		if (strcasecmp(name, sasl_names[i]) == 0)
			break;
	if (i == sizeof(sasl_names) / sizeof(sasl_names[0])) {
		reply(t, RPL_SASLMECHS, SASL_MECHS);
		reply(t, ERR_SASLFAIL);
		return;
	}
	if ((t->conn->sasl = calloc(1, sizeof(*t->conn->sasl))) == NULL) {
		reply(t, ERR_SASLFAIL);
		return;
	}
	t->conn->sasl->mech = (enum sasl_mech)i;
	turn_sendf(t, "AUTHENTICATE +");
}

void
cmd_authenticate(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	struct sasl	*s;
	const char	*arg = m->params[0];
	unsigned char	 msg[SASL_MSG_MAX];
	size_t		 n;
	int		 logged, len;

	pthread_rwlock_wrlock(&server.lock);
	logged = c->account != NULL;
	pthread_rwlock_unlock(&server.lock);
	if (logged) {
		sasl_end(t->conn);
		reply(t, ERR_SASLALREADY);
		return;
	}
	if ((s = t->conn->sasl) == NULL) {
		if (strcmp(arg, "*") == 0)
			reply(t, ERR_SASLABORTED);
		else
			sasl_start(t, arg);
		return;
	}
	if (strcmp(arg, "*") == 0) {
		sasl_abort(t);
		return;
	}
	n = strlen(arg);
	if (n > SASL_CHUNK || (strcmp(arg, "+") != 0 &&
	    s->len + n > SASL_MSG_MAX)) {
		sasl_end(t->conn);
		reply(t, ERR_SASLTOOLONG);
		return;
	}
	if (strcmp(arg, "+") != 0) {
		memcpy(s->buf + s->len, arg, n);
		s->len += n;
		s->buf[s->len] = '\0';
		if (n == SASL_CHUNK)
			return;		/* more to come */
	}
	s->buf[s->len] = '\0';
	/* One byte kept for a NUL: the mechanisms read C strings. */
	len = s->len == 0 ? 0 : base64_decode(s->buf, msg, sizeof(msg) - 1);
	s->len = 0;
	if (len < 0) {
		log_info("%s: SASL message is not base64", t->conn->ip);
		sasl_fail(t);
		return;
	}
	msg[len] = '\0';
	switch (s->mech) {
	case SASL_PLAIN:
		sasl_plain(t, (char *)msg, (size_t)len);
		break;
	case SASL_EXTERNAL:
		sasl_external(t, (char *)msg, (size_t)len);
		break;
	case SASL_SCRAM:
		sasl_scram(t, (char *)msg, (size_t)len);
		break;
	}
	OPENSSL_cleanse(msg, sizeof(msg));
}
