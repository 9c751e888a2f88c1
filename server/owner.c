/*
 * owner.c: nicks belong to accounts (issue 11, section 3).
 *
 * An account owns its name as a nick, and the nicks it grouped
 * (account_nick_owner).  A registered person that holds such a nick
 * without being logged in to its owner is told so at once and gets a
 * grace of --nick-grace seconds: unless it logs in to the owner by then,
 * it is renamed to Guest<N>, a NICK line everyone sharing a room sees.
 * Logging in to another account while holding an owned nick renames at
 * once; a person logged in to an account cannot take a nick another
 * account owns (433).  While someone holds a nick nobody else can take
 * it (433), and while its owner is online (server.people), under any
 * nick, nobody not logged in to it can take it either (cmd_nick).
 *
 * The grace is the person's (struct client), not a connection's:
 * grace_owner, grace_key and grace_ms change under server.lock.  Each
 * of the person's connection threads watches grace_ms in its timers
 * (client.c), and is woken when a grace starts.  The first to find it
 * due takes the person's act lock (so the rename is one of the
 * person's actions, never in the middle of a command of another
 * device), then server.lock, and decides there on objects, not names:
 * the person still holds the nick the grace was for, is still not
 * logged in to its owner, and the owner is still the same account
 * object (a reference is held, so it cannot be a new account of the
 * same name).  Every path clears the grace, so the other devices find
 * nothing to do.
 */
#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "natterd.h"

#define GUEST_MAX	999999999UL	/* Guest<N> wraps to 1 past it */
#define GUEST_TRIES	100000		/* numbers tried before giving up */

void
owner_clear_locked(struct client *cl)
{
	account_unref(cl->grace_owner);
	cl->grace_owner = NULL;
	cl->grace_key[0] = '\0';
	atomic_store_explicit(&cl->grace_ms, 0, memory_order_relaxed);
}

int
owner_other_locked(struct client *cl)
{
	struct account	*a;
	int		 other;

	if (cl->account == NULL || cl->nickkey[0] == '\0' ||
	    (a = account_nick_owner(cl->nickkey)) == NULL)
		return 0;
	other = a != cl->account;
	account_unref(a);
	return other;
}

int
owner_online_locked(struct client *cl, const char *key)
{
	struct account	*a;
	struct client	*p;
	int		 on = 0;

	if (key[0] == '\0' || (a = account_nick_owner(key)) == NULL)
		return 0;
	if (a != cl->account)
		on = (p = client_people_find_locked(a)) != NULL && p != cl;
	account_unref(a);
	return on;
}

enum owner_state
owner_check_locked(struct client *cl)
{
	struct account	*a;
	struct conn	*k;

	if (!(cl->flags & CLIENT_REGISTERED) || cl->nickkey[0] == '\0' ||
	    (a = account_nick_owner(cl->nickkey)) == NULL) {
		owner_clear_locked(cl);
		return OWNER_FREE;
	}
	if (a == cl->account) {
		account_unref(a);
		owner_clear_locked(cl);
		return OWNER_MINE;
	}
	/* The same nick in another case: the grace goes on, unextended. */
	if (a == cl->grace_owner && strcmp(cl->grace_key, cl->nickkey) == 0) {
		account_unref(a);
		return OWNER_GRACE_KEPT;
	}
	owner_clear_locked(cl);
	cl->grace_owner = a;
	snprintf(cl->grace_key, sizeof(cl->grace_key), "%s", cl->nickkey);
	atomic_store_explicit(&cl->grace_ms, mono_ms() +
	    config.nick_grace * 1000LL, memory_order_relaxed);
	/* Every device's thread sleeps until its own next timer: have
	 * each look again, so the grace ends on time whichever is left. */
	for (k = cl->conns; k != NULL; k = k->cnext) {
		pthread_mutex_lock(&k->out_lock);
		conn_wake_locked(k);
		pthread_mutex_unlock(&k->out_lock);
	}
	return OWNER_GRACE;
}

int
owner_guest_locked(struct turn *t)
{
	struct account	*a;
	char		 nick[NICK_MAX + 1], key[NICK_MAX + 1];
	int		 i;

	for (i = 0; i < GUEST_TRIES; i++) {
		if (++server.guest_next > GUEST_MAX)
			server.guest_next = 1;
		snprintf(nick, sizeof(nick), "Guest%lu", server.guest_next);
		casemap_fold(key, nick, sizeof(key));
		if (map_get(server.nicks, key) != NULL)
			continue;
		if ((a = account_nick_owner(key)) != NULL) {
			account_unref(a);
			continue;
		}
		if (client_nick_set_locked(t, nick, key) == -1)
			break;
		owner_clear_locked(t->c);
		return 0;
	}
	log_warnx("%s: no Guest nick to give", t->c->nick);
	return -1;
}

static void
grace_text(char *buf, size_t len, const char *nick)
{
	snprintf(buf, len, ":%s NOTICE %s :This nickname is registered. "
	    "Please log in to its account with SASL or /msg NickServ "
	    "IDENTIFY <password> within %d second%s, or you will be "
	    "renamed.", config.server_name, nick,
	    config.nick_grace, config.nick_grace == 1 ? "" : "s");
}

void
owner_grace_notice(struct turn *t)
{
	char	 line[OUT_LINE_MAX];

	grace_text(line, sizeof(line), t->c->nick);
	turn_sendf(t, "%s", line);
}

/*
 * An account now owns nick (just made, or grouped): whoever holds it
 * and is not logged in to that account starts a grace, and is told by
 * a post (its own threads' timers do the rest).
 */
void
owner_claimed(struct turn *t, const char *nick)
{
	struct client	*holder;
	struct post	*p;
	struct line	 l;
	char		 key[NICK_MAX + 1], line[OUT_LINE_MAX];
	int		 self = 0;

	if (casemap_fold(key, nick, sizeof(key)) >= sizeof(key))
		return;
	pthread_rwlock_wrlock(&server.lock);
	holder = map_get(server.nicks, key);
	if (holder != NULL && owner_check_locked(holder) == OWNER_GRACE) {
		if (holder == t->c)
			self = 1;
		else {
			grace_text(line, sizeof(line), holder->nick);
			memset(&l, 0, sizeof(l));
			l.text = line;
			p = post_new_locked(t, &l);
			post_add_locked(p, holder, 0);
		}
	}
	pthread_rwlock_unlock(&server.lock);
	if (self)
		owner_grace_notice(t);
}

void
owner_renamed_notice(struct turn *t, const char *old)
{
	turn_sendf(t, ":%s NOTICE %s :The nickname %s is registered to "
	    "another account; you are now %s.", config.server_name,
	    t->c->nick, old, t->c->nick);
}

/*
 * The grace of c's person is due: as one of the person's actions (its
 * act lock held), decide under server.lock whether the rename still
 * stands, and make it.
 */
void
owner_timer(struct conn *c)
{
	struct client	*cl = client_ref(c->cl);
	struct account	*a;
	struct turn	 t;
	char		 chunk[512], old[NICK_MAX + 1], guest[NICK_MAX + 1];
	long long	 due;
	int		 renamed = 0, failed = 0;

	pthread_mutex_lock(&cl->act);
	turn_begin(&t, c, chunk, sizeof(chunk));
	pthread_rwlock_wrlock(&server.lock);
	due = atomic_load_explicit(&cl->grace_ms, memory_order_relaxed);
	if (due != 0 && mono_ms() >= due) {
		a = account_nick_owner(cl->nickkey);
		if ((cl->flags & (CLIENT_REGISTERED | CLIENT_GONE)) ==
		    CLIENT_REGISTERED && cl->grace_owner != NULL &&
		    a == cl->grace_owner && a != cl->account &&
		    strcmp(cl->nickkey, cl->grace_key) == 0) {
			snprintf(old, sizeof(old), "%s", cl->nick);
			if (owner_guest_locked(&t) == 0) {
				renamed = 1;
				snprintf(guest, sizeof(guest), "%s", cl->nick);
			} else {
				/* Nobody keeps a nick that is not theirs. */
				client_kill_locked(cl, "Nickname is registered");
				failed = 1;
			}
		}
		account_unref(a);
		owner_clear_locked(cl);
	}
	pthread_rwlock_unlock(&server.lock);
	turn_command_end(&t);
	pthread_mutex_unlock(&cl->act);
	turn_end(&t);
	client_unref(cl);
	if (renamed)
		log_info("%s (%s) renamed to %s: the nick's grace ended",
		    c->ip, old, guest);
	else if (failed)
		log_info("%s (%s) closed: no Guest nick left", c->ip, old);
}
