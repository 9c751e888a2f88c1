/*
 * redact.c: REDACT, IRCv3 draft/message-redaction.
 *
 * REDACT <target> <msgid> [:reason] takes a message out of history and
 * tells the target's recipients with the cap.  Who may: a room's
 * operators, any message of the room, at any time; the author of a
 * message (its account, or when it was sent logged out, the same
 * nick!user@host), within --redact-window seconds of sending it.  In a
 * private conversation only the author may, and only in the
 * conversation with that nick.
 *
 * The message is found by msgid in the store (an index), outside
 * server.lock (store_find waits for a message of this run still on its
 * way to the file).  Then, under server.lock, the permission is decided
 * and acted on at once: a REDACT row goes to the store (its commit
 * deletes the message, after the message's own commit, being later in
 * seq) and its post to the recipients, in the one critical section.
 * The post waits for that commit like a message (turn.c): once anyone
 * saw the REDACT, the message is gone from the file, and a SIGKILL
 * after that does not bring it back.
 *
 * Two REDACTs of one message can both find it: its row goes when the
 * first REDACT's row commits, and the second may read before that (in
 * the same read of one client, or from two operators at once).  So the
 * REDACTs made are kept in a ring, under server.lock: one whose row
 * was not committed when the second began its read (seq past `seen',
 * the commit level then) makes the message unknown to it.  A ring of
 * REDACT_RECENT is far more than can be made in that short time.
 *
 * A msgid that is not a message of the target (another room's, a
 * private conversation the asker is not part of, one redacted already,
 * one older than the room) is UNKNOWN_MSGID, so errors tell nobody
 * about a message it never saw.  A client pays for its REDACTs as for
 * any line (flood control); each costs one indexed read and one delete.
 */
#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casemap.h"
#include "log.h"
#include "natterd.h"
#include "utf8.h"

#define REDACT_RECENT	256

static struct {
	char		 msgid[STORE_MSGID_LEN + 1];
	int64_t		 seq;		/* its REDACT row */
} redact_recent[REDACT_RECENT];		/* server.lock, a ring */
static int	 redact_recent_next;	/* server.lock */

/* Whether msgid was redacted by a row not committed at seen. */
static int
redact_pending_locked(const char *msgid, int64_t seen)
{
	int i;

	for (i = 0; i < REDACT_RECENT; i++)
		if (redact_recent[i].seq > seen &&
		    strcmp(redact_recent[i].msgid, msgid) == 0)
			return 1;
	return 0;
}

static void
redact_recent_add_locked(const char *msgid, int64_t seq)
{
	snprintf(redact_recent[redact_recent_next].msgid,
	    sizeof(redact_recent[0].msgid), "%s", msgid);
	redact_recent[redact_recent_next].seq = seq;
	redact_recent_next = (redact_recent_next + 1) % REDACT_RECENT;
}

static void
redact_fail(struct turn *t, const char *code, const char *target,
    const char *msgid, const char *text)
{
	if (msgid != NULL)
		turn_sendf(t, ":%s FAIL REDACT %s %s %s :%s",
		    config.server_name, code, target, msgid, text);
	else
		turn_sendf(t, ":%s FAIL REDACT %s %s :%s",
		    config.server_name, code, target, text);
}

/*
 * Whether c held its nick when ref was written: a nick taken since
 * (c->nick_seq, the store seq when c took it, is ref's or later) is
 * someone else's, whoever had it then, whatever user@host it shows.
 * Caller holds server.lock.
 */
static int
redact_nick_then(const struct client *c, const struct store_ref *ref)
{
	return ref->seq > c->nick_seq;
}

/* Whether t->c wrote ref: its account (an account made after ref is
 * another of that name), else (sent logged out) its nick!user@host
 * then and now, the nick held all along.  Caller holds server.lock. */
static int
redact_author_locked(struct turn *t, const struct store_ref *ref)
{
	struct client *c = t->c;
	char mask[MASK_MAX + 1];

	if (ref->from_account != 0)
		return c->account != NULL &&
		    account_id(c->account) == ref->from_account;
	if (ref->account[0] != '\0')
		return c->account != NULL &&
		    casemap_cmp(account_name(c->account), ref->account) == 0 &&
		    (int64_t)account_created(c->account) * 1000 <=
		    ref->time_ms;
	client_mask(c, mask, sizeof(mask));
	return strcmp(mask, ref->source) == 0 && redact_nick_then(c, ref);
}

/* Whether ref is a line of the private conversation between c and to:
 * one side each; a side without an account is the nick, held since
 * before ref.  Caller holds server.lock. */
static int
redact_side(const char *key, int64_t account, struct client *c,
    const struct store_ref *ref)
{
	if (account != 0)
		return c->account != NULL && account_id(c->account) == account;
	return strcmp(key, c->nickkey) == 0 && redact_nick_then(c, ref);
}

/* Decides and, if allowed, stores and posts the REDACT.  r: the room,
 * or NULL for the private conversation with `to'; seen: the commit
 * level before ref was read.  Caller holds server.lock. */
static void
redact_locked(struct turn *t, struct room *r, struct client *to,
    const struct store_ref *ref, int64_t seen, const char *reason)
{
	struct client *c = t->c;
	struct member *mb;
	struct store_rec rec;
	struct post *p;
	struct line l;
	char mask[MASK_MAX + 1], line[OUT_LINE_MAX], window[16];
	const char *name;
	size_t room, len;
	int op = 0, mine, ours, n;
	int64_t now_ms;
	struct timespec ts;

	if (r != NULL) {
		name = room_name(r);
		mb = room_member_locked(r, c);
		if (mb == NULL) {
			redact_fail(t, "INVALID_TARGET", name, NULL,
			    "You cannot delete messages from this channel");
			return;
		}
		if (strcmp(ref->key, room_key(r)) != 0 ||
		    ref->seq <= room_since(r) ||
		    redact_pending_locked(ref->msgid, seen))
			goto unknown;
		op = (mb->modes & MEMBER_OP) != 0;
		mine = redact_author_locked(t, ref);
	} else {
		name = to->nick;
		/* c's line to `to', or to's line to c. */
		mine = redact_author_locked(t, ref) &&
		    redact_side(ref->to_key, ref->to_account, to, ref);
		ours = mine || (redact_side(ref->from_key, ref->from_account,
		    to, ref) && redact_side(ref->to_key, ref->to_account, c,
		    ref));
		if (ref->from_key[0] == '\0' || !ours ||
		    redact_pending_locked(ref->msgid, seen))
			goto unknown;
	}
	if (!op) {
		if (!mine || config.redact_window == 0) {
			redact_fail(t, "REDACT_FORBIDDEN", name, ref->msgid,
			    "You are not authorised to delete this message");
			return;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (now_ms - ref->time_ms >
		    (int64_t)config.redact_window * 1000) {
			snprintf(window, sizeof(window), "%d",
			    config.redact_window);
			turn_sendf(t, ":%s FAIL REDACT REDACT_WINDOW_EXPIRED "
			    "%s %s %s :You can no longer edit this message",
			    config.server_name, name, ref->msgid, window);
			return;
		}
	}

	client_mask(c, mask, sizeof(mask));
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.key, sizeof(rec.key), "%s", ref->key);
	snprintf(rec.source, sizeof(rec.source), "%s", mask);
	snprintf(rec.command, sizeof(rec.command), "%s", STORE_REDACT);
	rec.params = (char *)ref->msgid;
	if (store_append(&rec) == -1) {
		redact_fail(t, "TEMPORARILY_UNAVAILABLE", name, ref->msgid,
		    "The history store cannot take this now");
		return;
	}
	redact_recent_add_locked(ref->msgid, rec.seq);
	if (reason != NULL) {
		/* The reason is cut (on a character) so that the line, as
		 * the asker's numerics, fits IRC_LINE_MAX with its CRLF. */
		n = snprintf(line, sizeof(line), ":%s REDACT %s %s :", mask,
		    name, ref->msgid);
		room = n > 0 && (size_t)n + 2 < IRC_LINE_MAX ?
		    IRC_LINE_MAX - 2 - (size_t)n : 0;
		len = utf8_cut(reason, strlen(reason), room);
		snprintf(line + n, sizeof(line) - (size_t)n, "%.*s",
		    (int)len, reason);
	}
	else
		snprintf(line, sizeof(line), ":%s REDACT %s %s", mask, name,
		    ref->msgid);
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.seq = rec.seq;
	l.time_ms = rec.time_ms;
	l.msgid = rec.msgid;
	l.src = c;
	/* Only to those with the cap; no fallback for the others. */
	if (r != NULL)
		p = room_fanout_locked(t, r, &l, 0,
		    CAP(CAP_MESSAGE_REDACTION), NULL);
	else {
		p = post_new_locked(t, &l);
		post_add_locked(p, to, CAP(CAP_MESSAGE_REDACTION));
		if (to != c)
			post_add_locked(p, c, CAP(CAP_MESSAGE_REDACTION));
	}
	/* The asker sees its REDACT as everyone does (the spec's
	 * examples), echo-message or not: that is the answer. */
	turn_echo_locked(t, p, (t->conn->caps & CAP(CAP_MESSAGE_REDACTION)) ?
	    ITEM_SHOW : ITEM_FAIL_ONLY);
	log_debug("%s: REDACT %s %s", c->nick, name, ref->msgid);
	return;

unknown:
	redact_fail(t, "UNKNOWN_MSGID", name, ref->msgid,
	    "This message does not exist or is too old");
}

void
cmd_redact(struct turn *t, struct irc_msg *m)
{
	struct client *c = t->c, *to = NULL;
	struct store_ref ref;
	struct room *r = NULL;
	const char *target = m->params[0], *msgid = m->params[1];
	const char *reason = NULL;
	int64_t seen;
	int room = target[0] == '#', rc;

	if (m->nparams > 2 && m->params[2][0] != '\0')
		reason = m->params[2];
	/* The cheap refusals first: no store read for them. */
	pthread_rwlock_wrlock(&server.lock);
	if (room) {
		if ((r = room_find_locked(target)) == NULL)
			reply(t, ERR_NOSUCHCHANNEL, target);
		else if (room_member_locked(r, c) == NULL)
			redact_fail(t, "INVALID_TARGET", room_name(r), NULL,
			    "You cannot delete messages from this channel");
		else
			target = NULL;
	} else if ((to = client_find_locked(target)) == NULL ||
	    !(to->flags & CLIENT_REGISTERED))
		reply(t, ERR_NOSUCHNICK, target);
	else
		target = NULL;
	pthread_rwlock_unlock(&server.lock);
	if (target != NULL)
		return;
	target = m->params[0];

	seen = store_committed();
	if ((rc = store_find(msgid, &ref)) != 1) {
		if (rc == -1)
			redact_fail(t, "TEMPORARILY_UNAVAILABLE", target,
			    msgid, "The history store cannot be read now");
		else if (msgid[0] != '\0' && msgid[0] != ':' &&
		    strlen(msgid) <= STORE_MSGID_LEN &&
		    strchr(msgid, ' ') == NULL)
			redact_fail(t, "UNKNOWN_MSGID", target, msgid,
			    "This message does not exist or is too old");
		else
			redact_fail(t, "UNKNOWN_MSGID", target, "*",
			    "This message does not exist or is too old");
		return;
	}

	/* Again: the room or the nick may have changed hands since. */
	pthread_rwlock_wrlock(&server.lock);
	if (room) {
		if ((r = room_find_locked(target)) == NULL)
			reply(t, ERR_NOSUCHCHANNEL, target);
		else
			redact_locked(t, r, NULL, &ref, seen, reason);
	} else if ((to = client_find_locked(target)) == NULL ||
	    !(to->flags & CLIENT_REGISTERED))
		reply(t, ERR_NOSUCHNICK, target);
	else
		redact_locked(t, NULL, to, &ref, seen, reason);
	pthread_rwlock_unlock(&server.lock);
}
