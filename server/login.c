/*
 * login.c: a person logs in to an account, or out of it.  Every way in
 * (SASL, NickServ IDENTIFY, REGISTER, the Unix socket's uid) ends in
 * login_account(); every way out (NickServ LOGOUT, ACCOUNT DELETE,
 * NickServ DROP) in logout_locked().  What others are told of it
 * (account-notify, user mode +r) is sent from here, so no way in or
 * out can forget it.
 *
 * An account is the person's (struct client), not a connection's: all
 * the devices of a person are logged in or out together.
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "natterd.h"

/*
 * What the others see of c's login to name, or of its logout (name
 * NULL), once it is registered (before, nobody sees it yet, and its
 * welcome says +r): ":mask ACCOUNT name" (or "*") to every connection
 * with account-notify among those who share a room with c and c's own,
 * each once; ":server MODE nick :+r" (or -r) to c's connections.  The
 * ACCOUNT line is c's own: it carries (account-tag) the account c had
 * until then, none for a login (one needs c logged out), the one it
 * leaves for a logout (call it before c->account is cleared).  Caller
 * holds server.lock.
 */
static void
account_notify_locked(struct turn *t, struct client *c, const char *name)
{
	struct post	*p;
	struct line	 l;
	char		 mask[MASK_MAX + 1], line[OUT_LINE_MAX];
	int		 mine, ext;

	if ((c->flags & (CLIENT_REGISTERED | CLIENT_GONE)) !=
	    CLIENT_REGISTERED)
		return;
	client_mask(c, mask, sizeof(mask));
	snprintf(line, sizeof(line), ":%s ACCOUNT %s", mask,
	    name != NULL ? name : "*");
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.src = name == NULL ? c : NULL;
	p = post_new_locked(t, &l);
	/* t->conn is left out of every post it makes: it gets its copy in
	 * order, whether it is c's or, for an operator's ACCOUNT DELETE,
	 * shares a room with c. */
	mine = post_add_shared_locked(t, p, c, CAP(CAP_ACCOUNT_NOTIFY),
	    NULL) || c == t->c;
	/* extended-monitor: those who watch c and were not reached. */
	ext = monitor_fanout_locked(t, p, c, CAP(CAP_ACCOUNT_NOTIFY));
	if ((mine && (t->conn->caps & CAP(CAP_ACCOUNT_NOTIFY))) || ext)
		turn_echo_locked(t, p, 1);

	snprintf(line, sizeof(line), ":%s MODE %s :%cr", config.server_name,
	    c->nick, name != NULL ? '+' : '-');
	memset(&l, 0, sizeof(l));
	l.text = line;
	p = post_new_locked(t, &l);
	post_add_locked(p, c, 0);
	if (c == t->c)
		turn_echo_locked(t, p, 1);
}

/*
 * Logs t->c in to a, if t->c is not logged in yet and a still exists.
 * Takes the caller's reference.  On success sends 900 (903 too if sasl:
 * it ends an AUTHENTICATE exchange, and the rename notice if the nick
 * held was another account's), then what everyone sees of it (ACCOUNT,
 * MODE +r), and returns 0; else sends nothing and returns -1.  how: the
 * mechanism, for the log (NULL: the caller logs it).
 */
int
login_account(struct turn *t, struct account *a, const char *how, int sasl)
{
	struct client	*c = t->c;
	char		 mask[MASK_MAX + 1], old[NICK_MAX + 1];
	int		 renamed = 0;

	pthread_rwlock_wrlock(&server.lock);
	if (c->account != NULL || !account_usable(a)) {
		pthread_rwlock_unlock(&server.lock);
		account_unref(a);
		return -1;
	}
	/* c's own reference: ACCOUNT DELETE may drop it at once, and ours
	 * is still needed for the replies below. */
	c->account = account_ref(a);
	client_people_add_locked(c);
	/* The owner keeps its nick (the grace ends); anyone else's nick
	 * goes now.  Before registration, registration decides. */
	if ((c->flags & CLIENT_REGISTERED) && owner_other_locked(c)) {
		snprintf(old, sizeof(old), "%s", c->nick);
		if (owner_guest_locked(t) == 0)
			renamed = 1;
		else
			client_kill_locked(c, "Nickname is registered");
	}
	(void)owner_check_locked(c);
	client_mask(c, mask, sizeof(mask));
	reply(t, RPL_LOGGEDIN, mask, account_name(a), account_name(a));
	if (sasl)
		reply(t, RPL_SASLSUCCESS);
	if (renamed)
		owner_renamed_notice(t, old);
	/* Then what everyone sees, the person's own connections included,
	 * in the critical section of the login: a logout (ACCOUNT DELETE)
	 * comes after it for everyone. */
	account_notify_locked(t, c, account_name(a));
	pthread_rwlock_unlock(&server.lock);
	if (how != NULL)
		log_info("%s (%s) logged in as %s (%s)", t->conn->ip,
		    c->nick, account_name(a), how);
	account_unref(a);
	return 0;
}

/*
 * Logs c out of its account (nothing if it has none).  901 goes to each
 * of c's connections (the actor's as a reply, which may need a label),
 * then ACCOUNT * and MODE -r as account_notify_locked says.  Returns 1
 * if c was logged in.
 */
int
logout_locked(struct turn *t, struct client *c)
{
	struct account	*a = c->account;
	struct post	*p;
	struct line	 l;
	char		 line[OUT_LINE_MAX], mask[MASK_MAX + 1];

	if (a == NULL)
		return 0;
	client_mask(c, mask, sizeof(mask));
	snprintf(line, sizeof(line), ":%s 901 %s %s :You are now logged out",
	    config.server_name, c->nick, mask);
	memset(&l, 0, sizeof(l));
	l.text = line;
	p = post_new_locked(t, &l);
	post_add_locked(p, c, 0);
	/* The actor's own 901 is a reply (it may need a label), first. */
	if (c == t->c)
		reply(t, RPL_LOGGEDOUT, mask);
	/* Its ACCOUNT * still carries the account it leaves. */
	account_notify_locked(t, c, NULL);
	client_people_del_locked(c);
	c->account = NULL;
	account_unref(a);
	return 1;
}
