/*
 * command_account.c: ACCOUNT, the operators' command for accounts:
 *
 *   ACCOUNT CREATE <name> <password>    a new account
 *   ACCOUNT RESET <name> <password>     sets its password
 *   ACCOUNT DELETE <name>               deletes it; its users are
 *                                       logged out (901)
 *   ACCOUNT INFO <name>                 what the server knows of it
 *   ACCOUNT CERTADD <name> <sha256>     links a client certificate
 *   ACCOUNT CERTDEL <name> <sha256>     (SASL EXTERNAL)
 *   ACCOUNT GROUP <name> <nick>         the account owns nick too
 *
 * Success is a NOTICE; failure a FAIL ACCOUNT <code> with the name.
 * Hashing and the store write happen in account.c with no lock held;
 * only the logout of a deleted account's users takes server.lock.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "natterd.h"

struct account_sub {
	const char	*name;
	int		 nparams;	/* after the subcommand */
	void		(*fn)(struct turn *, struct irc_msg *);
};

static void	 acct_create(struct turn *, struct irc_msg *);
static void	 acct_reset(struct turn *, struct irc_msg *);
static void	 acct_delete(struct turn *, struct irc_msg *);
static void	 acct_info(struct turn *, struct irc_msg *);
static void	 acct_certadd(struct turn *, struct irc_msg *);
static void	 acct_certdel(struct turn *, struct irc_msg *);
static void	 acct_group(struct turn *, struct irc_msg *);

static const struct account_sub subs[] = {
	{ "CREATE",	2, acct_create },
	{ "RESET",	2, acct_reset },
	{ "DELETE",	1, acct_delete },
	{ "INFO",	1, acct_info },
	{ "CERTADD",	2, acct_certadd },
	{ "CERTDEL",	2, acct_certdel },
	{ "GROUP",	2, acct_group },
};

static void
acct_notice(struct turn *t, const char *what, const char *detail)
{
	turn_sendf(t, ":%s NOTICE %s :ACCOUNT: %s %s", config.server_name,
	    t->c->nick, what, detail);
}

static void
acct_fail(struct turn *t, const char *code, const char *name,
    const char *why)
{
	turn_sendf(t, ":%s FAIL ACCOUNT %s %s :%s", config.server_name, code,
	    name, why);
}

const char *
account_errno_code(int e, const char **why)
{
	switch (e) {
	case EINVAL:
		*why = "Account names must be valid nicks";
		return "BAD_ACCOUNT_NAME";
	case EEXIST:
		*why = "Account already exists";
		return "ACCOUNT_EXISTS";
	case ENOSPC:
		*why = "The server has all the accounts it may keep "
		    "(--max-accounts)";
		return "LIMIT_REACHED";
	case ENOENT:
		*why = "No such account";
		return "ACCOUNT_DOES_NOT_EXIST";
	default:
		*why = "The account could not be saved; try again later";
		return "TEMPORARILY_UNAVAILABLE";
	}
}

/* A FAIL for errno after a change failed. */
static void
acct_fail_errno(struct turn *t, const char *name, int e)
{
	const char	*code, *why;

	code = account_errno_code(e, &why);
	acct_fail(t, code, name, why);
}

/* The account called name, or a FAIL and NULL. */
static struct account *
acct_get(struct turn *t, const char *name)
{
	struct account	*a;

	if ((a = account_find(name)) == NULL)
		acct_fail(t, "ACCOUNT_DOES_NOT_EXIST", name, "No such account");
	return a;
}

static void
acct_create(struct turn *t, struct irc_msg *m)
{
	const char	*name = m->params[1];

	if (m->params[2][0] == '\0') {
		acct_fail(t, "BAD_PASSWORD", name, "The password is empty");
		return;
	}
	if (account_create(name, m->params[2], 0, -1, NULL) == -1) {
		acct_fail_errno(t, name, errno);
		return;
	}
	log_info("%s: ACCOUNT CREATE %s", t->c->nick, name);
	acct_notice(t, "created", name);
	owner_claimed(t, name);
}

static void
acct_reset(struct turn *t, struct irc_msg *m)
{
	struct account	*a;
	const char	*name = m->params[1];
	int		 rc;

	if (m->params[2][0] == '\0') {
		acct_fail(t, "BAD_PASSWORD", name, "The password is empty");
		return;
	}
	if ((a = acct_get(t, name)) == NULL)
		return;
	rc = account_set_password(a, m->params[2]);
	if (rc == -1)
		acct_fail_errno(t, name, errno);
	else {
		log_info("%s: ACCOUNT RESET %s", t->c->nick, account_name(a));
		acct_notice(t, "password set for", account_name(a));
	}
	account_unref(a);
}

void
account_logout_everyone(struct turn *t, struct account *a)
{
	struct client	*c;

	pthread_rwlock_wrlock(&server.lock);
	for (c = server.clients; c != NULL; c = c->next)
		if (c->account == a)
			(void)logout_locked(t, c);
	pthread_rwlock_unlock(&server.lock);
}

static void
acct_delete(struct turn *t, struct irc_msg *m)
{
	struct account	*a;
	const char	*name = m->params[1];

	if ((a = acct_get(t, name)) == NULL)
		return;
	if (account_delete(a) == -1)
		acct_fail_errno(t, name, errno);
	else {
		account_logout_everyone(t, a);
		log_info("%s: ACCOUNT DELETE %s", t->c->nick, account_name(a));
		acct_notice(t, "deleted", account_name(a));
	}
	account_unref(a);
}

static void
acct_info(struct turn *t, struct irc_msg *m)
{
	struct account_info	*ai;
	struct account		*a;
	struct client		*c;
	struct tm		 tm;
	char			 when[32], line[256];
	int			 i, online = 0;

	if ((a = acct_get(t, m->params[1])) == NULL)
		return;
	if ((ai = malloc(sizeof(*ai))) == NULL) {
		account_unref(a);
		acct_fail(t, "TEMPORARILY_UNAVAILABLE", m->params[1],
		    "Out of memory");
		return;
	}
	account_info(a, ai);
	pthread_rwlock_wrlock(&server.lock);
	for (c = server.clients; c != NULL; c = c->next)
		if (c->account == a)
			online++;
	pthread_rwlock_unlock(&server.lock);
	gmtime_r(&ai->created, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(line, sizeof(line), "%s (id %lld) created %s", ai->name,
	    (long long)ai->id, when);
	acct_notice(t, "info", line);
	snprintf(line, sizeof(line), "%s password %s, SCRAM %s, local %s",
	    ai->name, (ai->flags & ACCOUNT_PASSWORD) ? "yes" : "no",
	    (ai->flags & ACCOUNT_SCRAM) ? "yes" : "no",
	    (ai->flags & ACCOUNT_LOCAL) ? "yes" : "no");
	acct_notice(t, "info", line);
	for (i = 0; i < ai->ncerts; i++) {
		snprintf(line, sizeof(line), "%s certificate %s", ai->name,
		    ai->certs[i]);
		acct_notice(t, "info", line);
	}
	for (i = 0; i < ai->nnicks; i++) {
		snprintf(line, sizeof(line), "%s nick %s", ai->name,
		    ai->nicks[i]);
		acct_notice(t, "info", line);
	}
	snprintf(line, sizeof(line), "%s logged in on %d connection%s",
	    ai->name, online, online == 1 ? "" : "s");
	acct_notice(t, "info", line);
	acct_notice(t, "end of info for", ai->name);
	free(ai);
	account_unref(a);
}

static void
acct_certadd(struct turn *t, struct irc_msg *m)
{
	struct account	*a;

	if ((a = acct_get(t, m->params[1])) == NULL)
		return;
	if (account_cert_add(a, m->params[2]) == 0)
		acct_notice(t, "certificate added to", account_name(a));
	else if (errno == EINVAL)
		acct_fail(t, "BAD_FINGERPRINT", m->params[2], "Not a SHA-256 "
		    "fingerprint");
	else if (errno == EEXIST)
		acct_fail(t, "CERT_IN_USE", m->params[2], "That certificate "
		    "is already linked to an account");
	else if (errno == ENOSPC)
		acct_fail(t, "LIMIT_REACHED", m->params[1], "The account has "
		    "all the certificates it may have");
	else
		acct_fail_errno(t, m->params[1], errno);
	account_unref(a);
}

static void
acct_certdel(struct turn *t, struct irc_msg *m)
{
	struct account	*a;

	if ((a = acct_get(t, m->params[1])) == NULL)
		return;
	if (account_cert_del(a, m->params[2]) == 0)
		acct_notice(t, "certificate removed from",
		    account_name(a));
	else if (errno == EINVAL)
		acct_fail(t, "BAD_FINGERPRINT", m->params[2], "Not a SHA-256 "
		    "fingerprint");
	else if (errno == ENOENT)
		acct_fail(t, "CERT_NOT_FOUND", m->params[2], "That "
		    "certificate is not linked to this account");
	else
		acct_fail_errno(t, m->params[1], errno);
	account_unref(a);
}

static void
acct_group(struct turn *t, struct irc_msg *m)
{
	struct account	*a;

	if ((a = acct_get(t, m->params[1])) == NULL)
		return;
	if (account_nick_add(a, m->params[2]) == 0) {
		log_info("%s: ACCOUNT GROUP %s %s", t->c->nick,
		    account_name(a), m->params[2]);
		acct_notice(t, "nick grouped to", account_name(a));
		owner_claimed(t, m->params[2]);
	} else if (errno == EINVAL)
		acct_fail(t, "BAD_NICK", m->params[2], "Not a valid nick");
	else if (errno == EEXIST)
		acct_fail(t, "NICK_IN_USE", m->params[2], "That nick already "
		    "belongs to an account");
	else if (errno == ENOSPC)
		acct_fail(t, "LIMIT_REACHED", m->params[1], "The account has "
		    "all the nicks it may group");
	else
		acct_fail_errno(t, m->params[1], errno);
	account_unref(a);
}

void
cmd_account(struct turn *t, struct irc_msg *m)
{
	size_t	 i;
	int	 oper;

	pthread_rwlock_wrlock(&server.lock);
	oper = (t->c->flags & CLIENT_OPER) != 0;
	pthread_rwlock_unlock(&server.lock);
	if (!oper) {
		reply(t, ERR_NOPRIVILEGES);
		return;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcasecmp(m->params[0], subs[i].name) == 0)
			break;
	if (i == sizeof(subs) / sizeof(subs[0])) {
		acct_fail(t, "UNKNOWN_SUBCOMMAND", m->params[0], "Use CREATE, "
		    "RESET, DELETE, INFO, CERTADD, CERTDEL or GROUP");
		return;
	}
	if (m->nparams < subs[i].nparams + 1) {
		reply(t, ERR_NEEDMOREPARAMS, "ACCOUNT");
		return;
	}
	subs[i].fn(t, m);
}
