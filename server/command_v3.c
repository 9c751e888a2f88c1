/*
 * command_v3.c: commands that IRCv3 extensions add (SETNAME, MARKREAD).
 *
 * Handlers run on the sending client's own thread.  Other clients'
 * caps, their room lists and every room are read only under
 * server.lock; the broadcast helpers expect it held.  A client's own
 * identity (nick, user, host) is written only by its own thread, so
 * that thread may read it without the lock to format a line first.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "casemap.h"
#include "natterd.h"
#include "utf8.h"

/*
 * SETNAME :<realname>.  The change is made whether or not the client
 * enabled setname (the spec asks for silent handling then); only
 * clients that enabled it, the sender included, hear of it.
 */
void
cmd_setname(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	const char	*name = m->params[0];
	char		 mask[MASK_MAX + 1], line[OUT_LINE_MAX];
	struct line	 l;
	struct post	*p;
	size_t		 len;

	len = strlen(name);
	/* The reader already refused lines that are not UTF-8; checked
	 * again so the field never depends on that. */
	if (len == 0 || len > REALNAME_MAX || !utf8_valid(name, len)) {
		turn_sendf(t, ":%s FAIL SETNAME INVALID_REALNAME "
		    ":Realname is not valid", config.server_name);
		return;
	}
	client_mask(c, mask, sizeof(mask));
	snprintf(line, sizeof(line), ":%s SETNAME :%s", mask, name);
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.src = c;

	pthread_rwlock_wrlock(&server.lock);
	memcpy(c->realname, name, len + 1);
	p = room_fanout_locked(t, NULL, &l, FAN_SELF, CAP(CAP_SETNAME),
	    NULL);
	(void)monitor_fanout_locked(t, p, c, CAP(CAP_SETNAME));
	pthread_rwlock_unlock(&server.lock);
}

/* --- draft/read-marker --- */

/* "timestamp=..." for ms, or "*" for no marker. */
static void
markread_value(int64_t ms, char *buf, size_t len)
{
	char	 when[32];

	if (ms <= 0) {
		snprintf(buf, len, "*");
		return;
	}
	tag_time(ms, when, sizeof(when));
	snprintf(buf, len, "timestamp=%s", when);
}

/* A parameter as a FAIL may show it: one plain word, else "*". */
static const char *
markread_shown(const char *p)
{
	if (p[0] == '\0' || p[0] == ':' || strchr(p, ' ') != NULL ||
	    strlen(p) > 64)
		return "*";
	return p;
}

/* The store key of a room or nick target, or -1 if it is neither. */
static int
markread_key(const char *target, char *key, size_t len)
{
	if (!casemap_valid_room(target, ROOM_NAME_MAX) &&
	    !casemap_valid_nick(target, NICK_MAX))
		return -1;
	casemap_fold(key, target, len);
	return 0;
}

/* "timestamp=YYYY-MM-DDThh:mm:ss.sssZ", exactly as server-time writes
 * it (so no date that does not exist), after 1970. */
static int
markread_time(const char *p, int64_t *ms)
{
	char	 back[32];

	if (strncmp(p, "timestamp=", 10) != 0)
		return -1;
	p += 10;
	if (strlen(p) != 24 || tag_time_parse(p, ms) == -1 || *ms <= 0)
		return -1;
	tag_time(*ms, back, sizeof(back));
	return strcmp(back, p) == 0 ? 0 : -1;
}

/*
 * MARKREAD <target> [timestamp=<ts>].  Markers are an account's: a
 * person not logged in has none (FAIL ACCOUNT_REQUIRED).  A get answers
 * the stored value or "*"; a set answers the value now stored (the
 * client's if it was later, else the one kept), and a change goes to
 * every other connection of the account that enabled
 * draft/read-marker.  The asker is answered whether or not it enabled
 * the cap: it asked.
 */
void
cmd_markread(struct turn *t, struct irc_msg *m)
{
	struct client	*cl;
	struct account	*a;
	struct post	*p;
	struct line	 l;
	const char	*target;
	char		 key[MARKER_KEY_MAX + 1], value[48];
	char		 line[OUT_LINE_MAX];
	int64_t		 ms = 0;
	int		 rc = 0, set;

	if (m->nparams < 1 || m->params[0][0] == '\0') {
		turn_sendf(t, ":%s FAIL MARKREAD NEED_MORE_PARAMS "
		    ":Missing parameters", config.server_name);
		return;
	}
	target = m->params[0];
	if (markread_key(target, key, sizeof(key)) == -1) {
		turn_sendf(t, ":%s FAIL MARKREAD INVALID_PARAMS %s "
		    ":Invalid parameters", config.server_name,
		    markread_shown(target));
		return;
	}
	set = m->nparams > 1;
	if (set && markread_time(m->params[1], &ms) == -1) {
		turn_sendf(t, ":%s FAIL MARKREAD INVALID_PARAMS %s "
		    ":Invalid parameters", config.server_name,
		    markread_shown(m->params[1]));
		return;
	}

	pthread_rwlock_wrlock(&server.lock);
	a = account_ref(t->c->account);
	pthread_rwlock_unlock(&server.lock);
	if (a == NULL) {
		turn_sendf(t, ":%s FAIL MARKREAD ACCOUNT_REQUIRED %s "
		    ":You must be logged in to keep read markers",
		    config.server_name, target);
		return;
	}
	if (!set)
		ms = marker_get(a, key);
	else if ((rc = marker_set(a, key, &ms)) == -1) {
		turn_sendf(t, ":%s FAIL MARKREAD INTERNAL_ERROR %s "
		    ":The read timestamp could not be set",
		    config.server_name, target);
		account_unref(a);
		return;
	}
	markread_value(ms, value, sizeof(value));
	snprintf(line, sizeof(line), ":%s MARKREAD %s %s", config.server_name,
	    target, value);
	turn_sendf(t, "%s", line);
	if (rc == 1) {
		/* Every person logged in to the account: its devices, and
		 * any other person it logged in as (--max-devices). */
		memset(&l, 0, sizeof(l));
		l.text = line;
		pthread_rwlock_wrlock(&server.lock);
		p = post_new_locked(t, &l);
		for (cl = server.clients; cl != NULL; cl = cl->next)
			if (cl->account == a &&
			    (cl->flags & CLIENT_REGISTERED))
				post_add_locked(p, cl, CAP(CAP_READ_MARKER));
		pthread_rwlock_unlock(&server.lock);
	}
	account_unref(a);
}

void
markread_line_locked(struct client *c, struct room *r, char *buf,
    size_t len)
{
	char	 value[48];

	markread_value(marker_get(c->account, room_key(r)), value,
	    sizeof(value));
	snprintf(buf, len, ":%s MARKREAD %s %s", config.server_name,
	    room_name(r), value);
}

/*
 * The spec: after a JOIN and before its RPL_ENDOFNAMES, so right after
 * the JOIN line.  The joiner's other devices saw only the JOIN line:
 * they get theirs after it.
 */
void
markread_join_locked(struct turn *t, struct room *r)
{
	struct post	*p;
	struct line	 l;
	char		 line[OUT_LINE_MAX];

	if (!(t->conn->caps & CAP(CAP_READ_MARKER)) && t->c->nconns < 2)
		return;
	markread_line_locked(t->c, r, line, sizeof(line));
	if (t->conn->caps & CAP(CAP_READ_MARKER))
		turn_sendf(t, "%s", line);
	if (t->c->nconns > 1) {
		memset(&l, 0, sizeof(l));
		l.text = line;
		p = post_new_locked(t, &l);
		post_add_locked(p, t->c, CAP(CAP_READ_MARKER));
	}
}
