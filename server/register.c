/*
 * register.c: IRCv3 draft/account-registration.
 *
 *   REGISTER <account> {<email> | *} <password>
 *   VERIFY <account> <code>
 *
 * An account made here is logged in at once (900, then REGISTER
 * SUCCESS): natterd keeps no email address and never asks for a code,
 * so VERIFY only ever fails.  The account's name may be the current
 * nick ("*") or another free name (custom-account-name), and it owns
 * that nick from then on (owner.c).  Without a server password REGISTER
 * works before registration too (before-connect); with one it waits
 * for the welcome, so it cannot be a way around PASS.
 *
 * NickServ REGISTER (nickserv.c) takes the same path: register_account()
 * checks, counts the address (--register-per-ip an hour: each try that
 * gets as far as hashing costs argon2id and PBKDF2), makes the account
 * in account.c (hashing with no lock held, the store written before
 * memory) and logs the person in through login_account().
 */
#include <sys/types.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natterd.h"

const char *
register_cap_value(void)
{
	return config.password == NULL ?
	    "before-connect,custom-account-name" : "custom-account-name";
}

const char *
register_password_bad(const char *name, const char *password,
    const char **why)
{
	size_t	 n = strlen(password);

	if (n > REGISTER_PASSWORD_MAX) {
		*why = "Passwords may have at most 300 bytes";
		return "UNACCEPTABLE_PASSWORD";
	}
	/* NickServ IDENTIFY takes words: a space could never be typed. */
	if (strchr(password, ' ') != NULL) {
		*why = "Passwords may not contain spaces";
		return "UNACCEPTABLE_PASSWORD";
	}
	if (n < REGISTER_PASSWORD_MIN) {
		*why = "Passwords must have at least 8 bytes";
		return "WEAK_PASSWORD";
	}
	if (casemap_cmp(password, name) == 0) {
		*why = "The password may not be the account name";
		return "WEAK_PASSWORD";
	}
	return NULL;
}

int
register_unix_name(const char *name)
{
	struct passwd	 pw, *res;
	char		 lower[NICK_MAX + 1], *buf;
	long		 max;
	size_t		 len, i;
	int		 found = 0;

	if (config.unix_mode == UNIX_NONE || config.unix_path == NULL)
		return 0;
	max = sysconf(_SC_GETPW_R_SIZE_MAX);
	len = max > 0 && max < 65536 ? (size_t)max : 16384;
	if ((buf = malloc(len)) == NULL)
		return 0;
	for (i = 0; name[i] != '\0' && i < NICK_MAX; i++)
		lower[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		    (char)(name[i] - 'A' + 'a') : name[i];
	lower[i] = '\0';
	res = NULL;
	if (getpwnam_r(name, &pw, buf, len, &res) == 0 && res != NULL)
		found = 1;
	res = NULL;
	if (!found && getpwnam_r(lower, &pw, buf, len, &res) == 0 &&
	    res != NULL)
		found = 1;
	free(buf);
	return found;
}

int
register_account(struct turn *t, const char *name, const char *password,
    const char *how, const char **code, const char **why)
{
	struct client	*c = t->c, *holder;
	struct account	*a;
	char		 key[NICK_MAX + 1];
	int		 logged, e;

	pthread_rwlock_wrlock(&server.lock);
	logged = c->account != NULL;
	pthread_rwlock_unlock(&server.lock);
	if (logged) {
		*code = "ALREADY_AUTHENTICATED";
		*why = "You are already logged in";
		return -1;
	}
	if (config.registration == REGISTRATION_CLOSED) {
		*code = "DISALLOWED";
		*why = "Registration is closed on this server; an operator "
		    "can make an account for you";
		return -1;
	}
	if (!casemap_valid_nick(name, NICK_MAX) || nickserv_reserved(name)) {
		*code = "BAD_ACCOUNT_NAME";
		*why = "Account names must be valid nicks that no service "
		    "uses";
		return -1;
	}
	if ((*code = register_password_bad(name, password, why)) != NULL)
		return -1;
	/* The cheap refusals first: nothing hashed, nothing counted. */
	casemap_fold(key, name, sizeof(key));
	if ((a = account_nick_owner(key)) != NULL) {
		account_unref(a);
		*code = "ACCOUNT_EXISTS";
		*why = "That name is already registered";
		return -1;
	}
	/* With the Unix socket on, a user of this machine's login name
	 * is their local account, made when they first connect: nobody
	 * takes it before them. */
	if (register_unix_name(name)) {
		*code = "BAD_ACCOUNT_NAME";
		*why = "That name is the login of a user of this machine, who "
		    "logs in on its Unix socket";
		return -1;
	}
	/* Someone else's nick of the moment is not for the taking (it
	 * would rename them): a new holder after this check meets the
	 * account like any other owned nick. */
	pthread_rwlock_wrlock(&server.lock);
	holder = map_get(server.nicks, key);
	pthread_rwlock_unlock(&server.lock);
	if (holder != NULL && holder != c) {
		*code = "BAD_ACCOUNT_NAME";
		*why = "That name is someone else's nick now";
		return -1;
	}
	if (account_register_take(t->conn->ipgroup) == -1) {
		*code = "TEMPORARILY_UNAVAILABLE";
		*why = "Too many accounts registered from your address this "
		    "hour; try again later";
		return -1;
	}
	if (account_create(name, password, 0, -1, &a) == -1) {
		e = errno;
		*code = account_errno_code(e, why);
		if (e == EEXIST)
			*why = "That name is already registered";
		else if (e == ENOSPC) {
			*code = "TEMPORARILY_UNAVAILABLE";
			*why = "The server cannot keep more accounts now";
		} else if (e != EINVAL) {
			*code = "TEMPORARILY_UNAVAILABLE";
			*why = "The account could not be saved; try again "
			    "later";
		}
		return -1;
	}
	log_info("%s (%s) registered account %s (%s)", t->conn->ip, c->nick,
	    account_name(a), how);
	if (login_account(t, account_ref(a), how, 0) == -1) {
		/* Deleted at once by an operator: nothing to log in to. */
		account_unref(a);
		*code = "TEMPORARILY_UNAVAILABLE";
		*why = "The account is gone already";
		return -1;
	}
	/* A person who took the name as a nick since the check above. */
	owner_claimed(t, account_name(a));
	account_unref(a);
	return 0;
}

/* What a FAIL may echo of a name the client gave: short text only. */
static const char *
register_echo(const char *name)
{
	return name[0] != '\0' && strlen(name) <= NICK_MAX * 2 ? name : "*";
}

/* With a server password nothing waits for the welcome. */
static int
register_too_early(struct turn *t, const char *cmd)
{
	if ((t->c->flags & CLIENT_REGISTERED) || config.password == NULL)
		return 0;
	turn_sendf(t, ":%s FAIL %s COMPLETE_CONNECTION_REQUIRED :Finish "
	    "connecting first", config.server_name, cmd);
	return 1;
}

void
cmd_register(struct turn *t, struct irc_msg *m)
{
	const char	*email = m->params[1], *code, *why;
	char		 name[IRC_LINE_MAX];

	if (register_too_early(t, "REGISTER"))
		return;
	if (!(t->conn->reg & REG_NICK)) {
		turn_sendf(t, ":%s FAIL REGISTER NEED_NICK * :Choose a nick "
		    "with NICK first", config.server_name);
		return;
	}
	/* A copy: the nick may change as the login goes. */
	snprintf(name, sizeof(name), "%s", strcmp(m->params[0], "*") == 0 ?
	    t->c->nick : m->params[0]);
	if (register_account(t, name, m->params[2], "REGISTER", &code,
	    &why) == -1) {
		turn_sendf(t, ":%s FAIL REGISTER %s %s :%s",
		    config.server_name, code, register_echo(name), why);
		return;
	}
	turn_sendf(t, ":%s REGISTER SUCCESS %s :Account created%s",
	    config.server_name, name, strcmp(email, "*") != 0 ?
	    " (natterd keeps no email address)" : "");
}

void
cmd_verify(struct turn *t, struct irc_msg *m)
{
	const char	*name = register_echo(m->params[0]);
	int		 logged;

	if (register_too_early(t, "VERIFY"))
		return;
	pthread_rwlock_wrlock(&server.lock);
	logged = t->c->account != NULL;
	pthread_rwlock_unlock(&server.lock);
	if (logged)
		turn_sendf(t, ":%s FAIL VERIFY ALREADY_AUTHENTICATED %s :You "
		    "are already logged in", config.server_name, name);
	else
		turn_sendf(t, ":%s FAIL VERIFY INVALID_CODE %s :This server "
		    "never asks for a verification code", config.server_name,
		    name);
}
