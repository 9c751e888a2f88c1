/*
 * nickserv.c: NickServ, accounts for clients that speak no IRCv3
 * (irssi's and WeeChat's /msg NickServ habits).  It is no client: a
 * nick nobody can take (432 for NICK, and no account may be named so),
 * which WHOIS describes, and whose PRIVMSGs (or the NICKSERV and NS
 * commands) run here, on the sender's thread, answered with NOTICEs
 * from NICKSERV_MASK to the sender's connection alone.  Nothing said to
 * it is stored or relayed, not even to the sender's other devices: it
 * carries passwords.
 *
 * Every way in goes through login_account(), every way out through
 * logout_locked() (login.c); passwords are checked and hashed by
 * account.c with no lock held, and a wrong password and an unknown
 * account get the same answer after the same work.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "natterd.h"
#include "tls.h"
#include "utf8.h"

#define NS_INFO_TEXT	384	/* bytes of a list NOTICE's list: with
				   "Grouped nicks: ", the prefix and the
				   longest nick, within 512 */
_Static_assert(NS_INFO_TEXT >= NICK_MAX, "a list line holds a nick");
#define NS_WORDS	4	/* words a command takes, at most, and one
				   more to tell there were too many */

struct ns_cmd {
	const char	*name;
	int		 min;	/* words after the command */
	int		 max;
	void		(*fn)(struct turn *, char **, int);
	const char	*syntax;
	const char	*help;
};

static void	 ns_register(struct turn *, char **, int);
static void	 ns_identify(struct turn *, char **, int);
static void	 ns_logout(struct turn *, char **, int);
static void	 ns_passwd(struct turn *, char **, int);
static void	 ns_group(struct turn *, char **, int);
static void	 ns_cert(struct turn *, char **, int);
static void	 ns_info(struct turn *, char **, int);
static void	 ns_drop(struct turn *, char **, int);
static void	 ns_help(struct turn *, char **, int);

static const struct ns_cmd ns_cmds[] = {
	{ "REGISTER", 1, 2, ns_register, "REGISTER <password> [email]",
	    "register your current nick as an account" },
	{ "IDENTIFY", 1, 2, ns_identify, "IDENTIFY [account] <password>",
	    "log in to an account (your nick's by default)" },
	{ "LOGOUT", 0, 0, ns_logout, "LOGOUT",
	    "log out of your account" },
	{ "PASSWD", 1, 2, ns_passwd, "PASSWD [old password] <new password>",
	    "set your account's password" },
	{ "GROUP", 0, 0, ns_group, "GROUP",
	    "add your current nick to your account" },
	{ "CERT", 1, 2, ns_cert,
	    "CERT ADD [fingerprint] | CERT DEL <fingerprint> | CERT LIST",
	    "TLS client certificates for SASL EXTERNAL" },
	{ "INFO", 0, 1, ns_info, "INFO [account]",
	    "what is known of an account" },
	{ "DROP", 1, 1, ns_drop, "DROP <password>",
	    "delete your account" },
	{ "HELP", 0, 1, ns_help, "HELP",
	    "this list" },
};

int
nickserv_reserved(const char *nick)
{
	return casemap_cmp(nick, NICKSERV_NICK) == 0;
}

static void	 ns_notice(struct turn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
ns_notice(struct turn *t, const char *fmt, ...)
{
	char	 text[OUT_LINE_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	turn_sendf(t, ":%s NOTICE %s :%s", NICKSERV_MASK, t->c->nick, text);
}

static void
ns_syntax(struct turn *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(ns_cmds) / sizeof(ns_cmds[0]); i++)
		if (strcmp(ns_cmds[i].name, name) == 0)
			ns_notice(t, "Syntax: %s", ns_cmds[i].syntax);
}

/* The account t->c is logged in to (a reference), or a NOTICE and
 * NULL. */
static struct account *
ns_account(struct turn *t)
{
	struct account	*a;

	pthread_rwlock_wrlock(&server.lock);
	a = account_ref(t->c->account);
	pthread_rwlock_unlock(&server.lock);
	if (a == NULL)
		ns_notice(t, "You are not logged in.");
	return a;
}

/* Checks the password of a, t->c's own account: 1 if right, else 0
 * and the NOTICE. */
static int
ns_password_ok(struct turn *t, struct account *a, const char *password)
{
	struct account	*got;

	if (!(account_flags(a) & ACCOUNT_PASSWORD)) {
		ns_notice(t, "Your account has no password: set one with "
		    "PASSWD first.");
		return 0;
	}
	switch (account_check_password(account_name(a), password,
	    t->conn->ipgroup, "NickServ", &got)) {
	case ACCOUNT_OK:
		account_unref(got);
		/* The name's account now may be a new one of that name. */
		if (got == a)
			return 1;
		break;
	case ACCOUNT_LIMITED:
		ns_notice(t, "Too many failed logins; try again in a "
		    "minute.");
		return 0;
	case ACCOUNT_BAD:
		break;
	}
	ns_notice(t, "Invalid password.");
	return 0;
}

static void
ns_register(struct turn *t, char **w, int n)
{
	const char	*code, *why;
	char		 name[NICK_MAX + 1];

	(void)n;
	snprintf(name, sizeof(name), "%s", t->c->nick);
	if (register_account(t, name, w[0], "NickServ", &code, &why) == -1) {
		ns_notice(t, "%s.", why);
		return;
	}
	ns_notice(t, "%s is now registered to you, and you are logged in%s.",
	    name, n > 1 ? " (natterd keeps no email address)" : "");
}

static void
ns_identify(struct turn *t, char **w, int n)
{
	struct account	*a;
	char		 name[NICK_MAX * 2 + 1];
	const char	*password = w[n - 1];
	int		 logged;

	pthread_rwlock_wrlock(&server.lock);
	logged = t->c->account != NULL;
	if (logged)
		snprintf(name, sizeof(name), "%s",
		    account_name(t->c->account));
	pthread_rwlock_unlock(&server.lock);
	if (logged) {
		ns_notice(t, "You are already logged in as %s.", name);
		return;
	}
	snprintf(name, sizeof(name), "%s", n > 1 ? w[0] : t->c->nick);
	switch (account_check_password(name, password, t->conn->ipgroup,
	    "NickServ IDENTIFY", &a)) {
	case ACCOUNT_OK:
		snprintf(name, sizeof(name), "%s", account_name(a));
		if (login_account(t, a, "NickServ", 0) == 0) {
			ns_notice(t, "You are now logged in as %s.", name);
			return;
		}
		break;
	case ACCOUNT_LIMITED:
		ns_notice(t, "Too many failed logins; try again in a "
		    "minute.");
		return;
	case ACCOUNT_BAD:
		break;
	}
	ns_notice(t, "Invalid account or password.");
}

static void
ns_logout(struct turn *t, char **w, int n)
{
	struct client	*c = t->c;
	enum owner_state st = OWNER_FREE;
	int		 was;

	(void)w;
	(void)n;
	pthread_rwlock_wrlock(&server.lock);
	if ((was = logout_locked(t, c))) {
		/* Its own account's nick is owned like any other now. */
		st = owner_check_locked(c);
	}
	pthread_rwlock_unlock(&server.lock);
	if (!was) {
		ns_notice(t, "You are not logged in.");
		return;
	}
	log_info("%s (%s) logged out (NickServ)", t->conn->ip, c->nick);
	ns_notice(t, "You are now logged out.");
	if (st == OWNER_GRACE)
		owner_grace_notice(t);
}

static void
ns_passwd(struct turn *t, char **w, int n)
{
	struct account	*a;
	const char	*code, *why, *password = w[n - 1];
	int		 had;

	if ((a = ns_account(t)) == NULL)
		return;
	had = (account_flags(a) & ACCOUNT_PASSWORD) != 0;
	if (had && n < 2) {
		ns_notice(t, "Syntax: PASSWD <old password> <new password>");
		goto out;
	}
	if (!had && n > 1) {
		ns_notice(t, "Syntax: PASSWD <new password> (your account "
		    "has none yet)");
		goto out;
	}
	if ((code = register_password_bad(account_name(a), password,
	    &why)) != NULL) {
		ns_notice(t, "%s.", why);
		goto out;
	}
	if (had && !ns_password_ok(t, a, w[0]))
		goto out;
	if (account_set_password(a, password) == -1) {
		if (errno == ENOENT)
			ns_notice(t, "Your account is gone.");
		else
			ns_notice(t, "The password could not be saved; try "
			    "again later.");
		goto out;
	}
	log_info("%s (%s): NickServ PASSWD for %s", t->conn->ip, t->c->nick,
	    account_name(a));
	ns_notice(t, had ? "Password changed." : "Password set: you can "
	    "now log in with it from anywhere.");
out:
	account_unref(a);
}

static void
ns_group(struct turn *t, char **w, int n)
{
	struct account	*a, *owner;
	char		 nick[NICK_MAX + 1], key[NICK_MAX + 1];

	(void)w;
	(void)n;
	if ((a = ns_account(t)) == NULL)
		return;
	/* Only this person's own commands change its nick. */
	snprintf(nick, sizeof(nick), "%s", t->c->nick);
	casemap_fold(key, nick, sizeof(key));
	if ((owner = account_nick_owner(key)) != NULL) {
		if (owner == a)
			ns_notice(t, "%s is already yours.", nick);
		else
			ns_notice(t, "%s belongs to another account.", nick);
		account_unref(owner);
		goto out;
	}
	if (register_unix_name(nick)) {
		ns_notice(t, "%s is the login of a user of this machine, who "
		    "logs in on its Unix socket.", nick);
		goto out;
	}
	if (account_nick_add(a, nick) == 0) {
		log_info("%s (%s): NickServ GROUP to %s", t->conn->ip, nick,
		    account_name(a));
		ns_notice(t, "%s is now grouped to your account %s.", nick,
		    account_name(a));
		owner_claimed(t, nick);
	} else if (errno == EEXIST)
		ns_notice(t, "%s belongs to another account.", nick);
	else if (errno == ENOSPC)
		ns_notice(t, "Your account has all the nicks it may group "
		    "(%d).", ACCOUNT_NICKS_MAX);
	else if (errno == ENOENT)
		ns_notice(t, "Your account is gone.");
	else
		ns_notice(t, "The nick could not be grouped; try again "
		    "later.");
out:
	account_unref(a);
}

/* The fingerprint of this connection's TLS client certificate into fp,
 * or -1. */
static int
ns_own_cert(struct conn *c, char *fp, size_t len)
{
	X509	*cert;
	int	 rc;

	if (c->ssl == NULL ||
	    (cert = SSL_get1_peer_certificate(c->ssl)) == NULL)
		return -1;
	rc = tls_fingerprint(cert, fp, len);
	X509_free(cert);
	return rc;
}

static void
ns_cert_list(struct turn *t, struct account *a)
{
	struct account_info	*ai;
	int			 i;

	if ((ai = malloc(sizeof(*ai))) == NULL) {
		ns_notice(t, "Out of memory; try again later.");
		return;
	}
	account_info(a, ai);
	if (ai->ncerts == 0)
		ns_notice(t, "Your account has no certificates.");
	for (i = 0; i < ai->ncerts; i++)
		ns_notice(t, "Certificate: %s", ai->certs[i]);
	ns_notice(t, "End of certificates.");
	free(ai);
}

/* A SHA-256 fingerprint as 64 lower-case hex digits, colons or not:
 * 0, or -1 if in is not one. */
static int
fp_hex(const char *in, char *out)
{
	size_t	 n = 0;

	for (; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || n == 64)
			return -1;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

static void
ns_cert(struct turn *t, char **w, int n)
{
	struct account	*a;
	char		 fp[TLS_FP_LEN + 1], own[TLS_FP_LEN + 1];
	char		 want[65] = "", have[65] = "";
	const char	*sub = w[0];
	int		 add;

	if (strcasecmp(sub, "LIST") == 0 && n == 1) {
		if ((a = ns_account(t)) != NULL) {
			ns_cert_list(t, a);
			account_unref(a);
		}
		return;
	}
	add = strcasecmp(sub, "ADD") == 0;
	if (!add && (strcasecmp(sub, "DEL") != 0 || n < 2)) {
		ns_syntax(t, "CERT");
		return;
	}
	if (n > 1 && (strlen(w[1]) > TLS_FP_LEN || fp_hex(w[1], want) == -1)) {
		ns_notice(t, "That is not a SHA-256 fingerprint.");
		return;
	} else if (n > 1)
		snprintf(fp, sizeof(fp), "%s", w[1]);
	if (add) {
		/* Only a certificate the user holds: adding another's
		 * would log its owner in to this account by EXTERNAL. */
		if (ns_own_cert(t->conn, own, sizeof(own)) == -1) {
			ns_notice(t, "This connection has no TLS client "
			    "certificate: connect with the certificate over "
			    "TLS, then CERT ADD.");
			return;
		}
		if (n > 1 && (fp_hex(own, have) == -1 ||
		    strcmp(want, have) != 0)) {
			ns_notice(t, "That is not the certificate this "
			    "connection uses: connect with it over TLS, then "
			    "CERT ADD.");
			return;
		}
		snprintf(fp, sizeof(fp), "%s", own);
	}
	if ((a = ns_account(t)) == NULL)
		return;
	if ((add ? account_cert_add(a, fp) : account_cert_del(a, fp)) == 0) {
		log_info("%s (%s): NickServ CERT %s for %s", t->conn->ip,
		    t->c->nick, add ? "ADD" : "DEL", account_name(a));
		ns_notice(t, add ? "Certificate added: you can log in with "
		    "SASL EXTERNAL." : "Certificate removed.");
	} else if (errno == EINVAL)
		ns_notice(t, "That is not a SHA-256 fingerprint.");
	else if (errno == EEXIST)
		ns_notice(t, "That certificate is already linked to an "
		    "account.");
	else if (errno == ENOSPC)
		ns_notice(t, "Your account has all the certificates it may "
		    "have (%d).", ACCOUNT_CERTS_MAX);
	else if (errno == ENOENT)
		ns_notice(t, add ? "Your account is gone." : "That "
		    "certificate is not linked to your account.");
	else
		ns_notice(t, "The change could not be saved; try again "
		    "later.");
	account_unref(a);
}

static void
ns_info(struct turn *t, char **w, int n)
{
	struct account_info	*ai;
	struct account		*a, *mine;
	struct tm		 tm;
	char			 when[32], line[OUT_LINE_MAX];
	const char		*name;
	size_t			 len;
	int			 i;

	pthread_rwlock_wrlock(&server.lock);
	mine = account_ref(t->c->account);
	pthread_rwlock_unlock(&server.lock);
	if (n > 0)
		a = account_find(w[0]);
	else if (mine != NULL)
		a = account_ref(mine);
	else
		a = account_find(t->c->nick);
	if (a == NULL) {
		name = n > 0 ? w[0] : t->c->nick;
		len = utf8_cut(name, strlen(name), NICK_MAX);
		ns_notice(t, "%.*s is not registered.", (int)len, name);
		goto out;
	}
	if ((ai = malloc(sizeof(*ai))) == NULL) {
		ns_notice(t, "Out of memory; try again later.");
		goto out;
	}
	account_info(a, ai);
	gmtime_r(&ai->created, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	ns_notice(t, "Information on %s:", ai->name);
	ns_notice(t, "Registered: %s", when);
	/* As many lines as it takes: one of NS_INFO_TEXT bytes keeps
	 * within the 512 a line may have, whoever asks. */
	len = 0;
	line[0] = '\0';
	for (i = 0; i < ai->nnicks; i++) {
		if (len > 0 && len + 1 + strlen(ai->nicks[i]) > NS_INFO_TEXT) {
			ns_notice(t, "Grouped nicks: %s", line);
			len = 0;
			line[0] = '\0';
		}
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    "%s%s", len > 0 ? " " : "", ai->nicks[i]);
	}
	ns_notice(t, "Grouped nicks: %s", ai->nnicks > 0 ? line : "none");
	/* The rest is its owner's business. */
	if (a == mine) {
		ns_notice(t, "Password: %s",
		    (ai->flags & ACCOUNT_PASSWORD) ? "set" : "none");
		for (i = 0; i < ai->ncerts; i++)
			ns_notice(t, "Certificate: %s", ai->certs[i]);
	}
	ns_notice(t, "End of info.");
	free(ai);
out:
	account_unref(a);
	account_unref(mine);
}

static void
ns_drop(struct turn *t, char **w, int n)
{
	struct account	*a;
	char		 name[NICK_MAX + 1];

	(void)n;
	if ((a = ns_account(t)) == NULL)
		return;
	snprintf(name, sizeof(name), "%s", account_name(a));
	if (!ns_password_ok(t, a, w[0]))
		goto out;
	if (account_delete(a) == -1) {
		if (errno == ENOENT)
			ns_notice(t, "Your account is gone.");
		else
			ns_notice(t, "The account could not be deleted; try "
			    "again later.");
		goto out;
	}
	account_logout_everyone(t, a);
	log_info("%s (%s): NickServ DROP %s", t->conn->ip, t->c->nick, name);
	ns_notice(t, "Account %s dropped.", name);
out:
	account_unref(a);
}

static void
ns_help(struct turn *t, char **w, int n)
{
	size_t	 i;

	(void)w;
	(void)n;
	for (i = 0; i < sizeof(ns_cmds) / sizeof(ns_cmds[0]); i++)
		ns_notice(t, "%s - %s", ns_cmds[i].syntax, ns_cmds[i].help);
}

/* Runs one NickServ command line. */
static void
ns_run(struct turn *t, const char *text)
{
	const struct ns_cmd *cmd = NULL;
	char		 buf[IRC_LINE_MAX], *p, *word, *w[NS_WORDS + 1];
	const char	*verb;
	size_t		 i, len;
	int		 n = 0;

	snprintf(buf, sizeof(buf), "%s", text);
	p = buf;
	verb = NULL;
	while ((word = strsep(&p, " ")) != NULL) {
		if (word[0] == '\0')
			continue;
		if (verb == NULL)
			verb = word;
		else if (n < NS_WORDS + 1)
			w[n++] = word;
	}
	if (verb != NULL)
		for (i = 0; i < sizeof(ns_cmds) / sizeof(ns_cmds[0]); i++)
			if (strcasecmp(verb, ns_cmds[i].name) == 0) {
				cmd = &ns_cmds[i];
				break;
			}
	if (verb == NULL)
		ns_notice(t, "Type /msg NickServ HELP for a list of "
		    "commands.");
	else if (cmd == NULL) {
		len = utf8_cut(verb, strlen(verb), 32);
		ns_notice(t, "Unknown command %.*s. Type /msg NickServ HELP "
		    "for a list of commands.", (int)len, verb);
	} else if (n < cmd->min || n > cmd->max)
		ns_syntax(t, cmd->name);
	else
		cmd->fn(t, w, n);
	/* It held a password, most likely. */
	explicit_bzero(buf, sizeof(buf));
}

void
nickserv_privmsg(struct turn *t, const char *text)
{
	char	 mask[MASK_MAX + 1];

	/* echo-message: the sender's own connection alone. */
	if (t->conn->caps & CAP(CAP_ECHO_MESSAGE)) {
		client_mask(t->c, mask, sizeof(mask));
		turn_sendf(t, ":%s PRIVMSG %s :%s", mask, NICKSERV_NICK, text);
	}
	ns_run(t, text);
}

void
cmd_nickserv(struct turn *t, struct irc_msg *m)
{
	char	 text[IRC_LINE_MAX];
	size_t	 len = 0;
	int	 i, k;

	text[0] = '\0';
	for (i = 0; i < m->nparams; i++) {
		k = snprintf(text + len, sizeof(text) - len, "%s%s",
		    i > 0 ? " " : "", m->params[i]);
		if (k < 0 || (size_t)k >= sizeof(text) - len)
			break;
		len += (size_t)k;
	}
	ns_run(t, text);
	explicit_bzero(text, sizeof(text));
}

void
nickserv_whois(struct turn *t)
{
	reply(t, RPL_WHOISUSER, NICKSERV_NICK, NICKSERV_NICK, NICKSERV_HOST,
	    "Nickname services: /msg NickServ HELP");
	reply(t, RPL_WHOISSERVER, NICKSERV_NICK, config.server_name,
	    "natterd's own services");
}
