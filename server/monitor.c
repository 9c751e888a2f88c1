/*
 * monitor.c: IRCv3 MONITOR (730-734, ISUPPORT MONITOR=MONITOR_MAX) and
 * extended-monitor.
 *
 * A list belongs to a connection, as a session's does in Ergo: each
 * device of a person watches what it asked for, and a new connection
 * starts with none.  The server keeps the reverse index, casefolded
 * nick -> the connections watching it (one struct monitor_entry per
 * watched nick), and each connection points at its entries.  Both are
 * guarded by server.lock.
 *
 * Every notification is decided and posted in the critical section
 * that changes the nick table (registration, NICK, the last connection
 * of a person leaving, for a QUIT, KILL or drop alike), so what a
 * watcher hears follows the order of the changes: a nick that changes
 * hands is announced offline for its old holder before online for the
 * new one.  A notification is one post to every watcher, formatted
 * once, with "*" for the recipient as the spec allows (as charybdis
 * does); replies to MONITOR itself name the client.
 *
 * Bounds: a connection watches at most MONITOR_MAX nicks (734 past
 * it), so the index holds at most MONITOR_MAX entries and MONITOR_MAX
 * watcher slots per connection, and the number of connections is
 * bounded by --max-clients.  A connection's entries go when it closes
 * (monitor_conn_gone_locked, from client_teardown), an entry with its
 * last watcher.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casemap.h"
#include "log.h"
#include "natterd.h"

/* One watched nick and who watches it. */
struct monitor_entry {
	struct conn	**w;		/* the watchers */
	int		 nw;
	int		 capw;
	unsigned long	 seen;		/* the MONITOR + that last listed it */
	char		 key[NICK_MAX + 1];	/* casefolded */
};

static struct {
	struct map	*index;		/* key -> struct monitor_entry */
	unsigned long	 call;		/* MONITOR + commands so far */
} monitors;			/* server.lock */

/* What a reply adds around its list: ":server NNN nick :" and CRLF. */
#define MONITOR_REPLY_FIXED(nick)	(1 + strlen(config.server_name) + \
	5 + strlen(nick) + 2 + 2)

_Static_assert(IRC_LINE_MAX - (1 + 63 + 5 + NICK_MAX + 2 + 2) > MASK_MAX,
    "a mask always fits in a reply");

/* A comma-separated list of words, flushed as a numeric when full. */
struct monitor_list {
	int		 code;		/* 730, 731 or 732 */
	char		 buf[IRC_LINE_MAX];
	size_t		 len;
	size_t		 budget;
};

static void
monitor_list_init(struct turn *t, struct monitor_list *l, int code)
{
	size_t fixed = MONITOR_REPLY_FIXED(t->c->nick);

	l->code = code;
	l->len = 0;
	l->buf[0] = '\0';
	l->budget = fixed < IRC_LINE_MAX ? IRC_LINE_MAX - fixed : 0;
	if (l->budget > sizeof(l->buf) - 1)
		l->budget = sizeof(l->buf) - 1;
}

static void
monitor_list_flush(struct turn *t, struct monitor_list *l)
{
	if (l->len == 0)
		return;
	if (l->code == 730)
		reply(t, RPL_MONONLINE, l->buf);
	else if (l->code == 731)
		reply(t, RPL_MONOFFLINE, l->buf);
	else
		reply(t, RPL_MONLIST, l->buf);
	l->len = 0;
	l->buf[0] = '\0';
}

static void
monitor_list_add(struct turn *t, struct monitor_list *l, const char *word)
{
	size_t n = strlen(word);

	if (l->len > 0 && l->len + 1 + n > l->budget)
		monitor_list_flush(t, l);
	if (n > l->budget - (l->len > 0))
		return;		/* never: a mask fits (asserted above) */
	if (l->len > 0)
		l->buf[l->len++] = ',';
	memcpy(l->buf + l->len, word, n + 1);
	l->len += n;
}

/* The registered person holding key, or NULL: it is online. */
static struct client *
monitor_holder_locked(const char *key)
{
	struct client *u = map_get(server.nicks, key);

	if (u == NULL ||
	    (u->flags & (CLIENT_REGISTERED | CLIENT_GONE)) != CLIENT_REGISTERED)
		return NULL;
	return u;
}

static int
monitor_watches(const struct conn *k, const struct monitor_entry *e)
{
	int i;

	for (i = 0; i < k->nmon; i++)
		if (k->mon[i] == e)
			return 1;
	return 0;
}

/* Adds key to k's list (k->nmon < MONITOR_MAX, key not in it); the
 * entry in *out.  -1 when out of memory, nothing changed. */
static int
monitor_watch_locked(struct conn *k, const char *key,
    struct monitor_entry **out)
{
	struct monitor_entry *e, **nm;
	struct conn **nw;
	int made = 0, cap;

	if (monitors.index == NULL &&
	    (monitors.index = map_new()) == NULL)
		return -1;
	if (k->nmon == k->moncap) {
		cap = k->moncap == 0 ? 8 : k->moncap * 2;
		if (cap > MONITOR_MAX)
			cap = MONITOR_MAX;
		if ((nm = realloc(k->mon, (size_t)cap * sizeof(*nm))) == NULL)
			return -1;
		k->mon = nm;
		k->moncap = cap;
	}
	if ((e = map_get(monitors.index, key)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return -1;
		snprintf(e->key, sizeof(e->key), "%s", key);
		if (map_put(monitors.index, e->key, e) == -1) {
			free(e);
			return -1;
		}
		made = 1;
	}
	if (e->nw == e->capw) {
		cap = e->capw == 0 ? 2 : e->capw * 2;
		if ((nw = realloc(e->w, (size_t)cap * sizeof(*nw))) == NULL) {
			if (made) {
				map_del(monitors.index, e->key);
				free(e);
			}
			return -1;
		}
		e->w = nw;
		e->capw = cap;
	}
	e->w[e->nw++] = k;
	k->mon[k->nmon++] = e;
	*out = e;
	return 0;
}

/* Takes k off e's watchers (not off k's list); frees e with its last. */
static void
monitor_entry_drop_locked(struct monitor_entry *e, struct conn *k)
{
	int i;

	for (i = 0; i < e->nw; i++)
		if (e->w[i] == k) {
			e->w[i] = e->w[--e->nw];
			break;
		}
	if (e->nw == 0) {
		map_del(monitors.index, e->key);
		free(e->w);
		free(e);
	}
}

static void
monitor_unwatch_locked(struct conn *k, const char *key)
{
	struct monitor_entry *e;
	int i;

	if (monitors.index == NULL ||
	    (e = map_get(monitors.index, key)) == NULL)
		return;
	for (i = 0; i < k->nmon; i++)
		if (k->mon[i] == e) {
			k->mon[i] = k->mon[--k->nmon];
			monitor_entry_drop_locked(e, k);
			return;
		}
}

void
monitor_conn_gone_locked(struct conn *k)
{
	while (k->nmon > 0)
		monitor_entry_drop_locked(k->mon[--k->nmon], k);
	free(k->mon);
	k->mon = NULL;
	k->moncap = 0;
}

/* --- MONITOR --- */

/*
 * 734 for the targets from first on: first, then those of rest (the
 * unparsed remainder, or NULL) that could be nicks, as many as fit the
 * line.  The list is a middle parameter, so nothing else of what was
 * sent (a space, a ':') may go into it.
 */
static void
monitor_full(struct turn *t, char *first, char *rest)
{
	char list[IRC_LINE_MAX], lim[16], *tgt;
	size_t budget, fixed, len, n;

	snprintf(lim, sizeof(lim), "%d", MONITOR_MAX);
	/* ":server 734 nick 100 <list> :Monitor list is full." CRLF */
	fixed = 1 + strlen(config.server_name) + 5 + strlen(t->c->nick) +
	    1 + strlen(lim) + 1 + strlen(" :Monitor list is full.") + 2;
	budget = fixed < sizeof(list) ? sizeof(list) - fixed : 0;
	if (budget > sizeof(list) - 1)
		budget = sizeof(list) - 1;
	len = 0;
	list[0] = '\0';
	for (tgt = first; tgt != NULL; tgt = strsep(&rest, ",")) {
		if (!casemap_valid_nick(tgt, NICK_MAX))
			continue;
		n = strlen(tgt);
		if (len + (len > 0) + n > budget)
			break;
		if (len > 0)
			list[len++] = ',';
		memcpy(list + len, tgt, n + 1);
		len += n;
	}
	if (list[0] == '\0')
		snprintf(list, sizeof(list), "*");
	reply(t, ERR_MONLISTFULL, MONITOR_MAX, list);
}

/*
 * MONITOR + a,b,c: adds the valid nicks not listed yet (invalid ones
 * are passed over, as Ergo does), and answers 730 for those online,
 * 731 for the others, each nick once (lines split as they fill); 734
 * for the targets from the first that did not fit on.
 */
static void
monitor_add(struct turn *t, char *targets)
{
	struct conn *k = t->conn;
	struct monitor_entry *e;
	struct monitor_list on, off;
	struct client *u;
	char key[NICK_MAX + 1], mask[MASK_MAX + 1], *p, *tgt, *full = NULL;
	int oom = 0;

	monitor_list_init(t, &on, 730);
	monitor_list_init(t, &off, 731);
	pthread_rwlock_wrlock(&server.lock);
	monitors.call++;
	p = targets;
	while ((tgt = strsep(&p, ",")) != NULL) {
		if (!casemap_valid_nick(tgt, NICK_MAX))
			continue;
		casemap_fold(key, tgt, sizeof(key));
		e = monitors.index != NULL ? map_get(monitors.index, key) :
		    NULL;
		if (e == NULL || !monitor_watches(k, e)) {
			if (k->nmon >= MONITOR_MAX) {
				full = tgt;
				break;
			}
			if (monitor_watch_locked(k, key, &e) == -1) {
				oom = 1;
				break;
			}
		}
		if (e->seen == monitors.call)
			continue;	/* named twice in this command */
		e->seen = monitors.call;
		if ((u = monitor_holder_locked(key)) != NULL) {
			client_mask(u, mask, sizeof(mask));
			monitor_list_add(t, &on, mask);
		} else
			monitor_list_add(t, &off, tgt);
	}
	monitor_list_flush(t, &on);
	monitor_list_flush(t, &off);
	pthread_rwlock_unlock(&server.lock);
	if (full != NULL)
		monitor_full(t, full, p);
	if (oom) {
		log_warnx("%s: out of memory for MONITOR", t->c->nick);
		reply(t, ERR_UNKNOWNERROR, "MONITOR", "Out of memory");
	}
}

static void
monitor_remove(struct turn *t, char *targets)
{
	char key[NICK_MAX + 1], *p = targets, *tgt;

	pthread_rwlock_wrlock(&server.lock);
	while ((tgt = strsep(&p, ",")) != NULL) {
		if (casemap_fold(key, tgt, sizeof(key)) >= sizeof(key))
			continue;
		monitor_unwatch_locked(t->conn, key);
	}
	pthread_rwlock_unlock(&server.lock);
}

/* MONITOR L: 732 lines (a nick online as it is written now), 733. */
static void
monitor_show_list(struct turn *t)
{
	struct conn *k = t->conn;
	struct monitor_list l;
	struct client *u;
	int i;

	monitor_list_init(t, &l, 732);
	pthread_rwlock_wrlock(&server.lock);
	for (i = 0; i < k->nmon; i++) {
		u = monitor_holder_locked(k->mon[i]->key);
		monitor_list_add(t, &l, u != NULL ? u->nick : k->mon[i]->key);
	}
	monitor_list_flush(t, &l);
	pthread_rwlock_unlock(&server.lock);
	reply(t, RPL_ENDOFMONLIST);
}

/* MONITOR S: 730 lines for those online, 731 lines for the others. */
static void
monitor_status(struct turn *t)
{
	struct conn *k = t->conn;
	struct monitor_list on, off;
	struct client *u;
	char mask[MASK_MAX + 1];
	int i;

	monitor_list_init(t, &on, 730);
	monitor_list_init(t, &off, 731);
	pthread_rwlock_wrlock(&server.lock);
	for (i = 0; i < k->nmon; i++)
		if ((u = monitor_holder_locked(k->mon[i]->key)) != NULL) {
			client_mask(u, mask, sizeof(mask));
			monitor_list_add(t, &on, mask);
		}
	monitor_list_flush(t, &on);
	for (i = 0; i < k->nmon; i++)
		if (monitor_holder_locked(k->mon[i]->key) == NULL)
			monitor_list_add(t, &off, k->mon[i]->key);
	monitor_list_flush(t, &off);
	pthread_rwlock_unlock(&server.lock);
}

void
cmd_monitor(struct turn *t, struct irc_msg *m)
{
	const char *op = m->params[0];
	char shown[32];

	if (strlen(op) == 1) {
		switch (op[0]) {
		case '+':
		case '-':
			if (m->nparams < 2) {
				reply(t, ERR_NEEDMOREPARAMS, "MONITOR");
				return;
			}
			if (op[0] == '+')
				monitor_add(t, m->params[1]);
			else
				monitor_remove(t, m->params[1]);
			return;
		case 'C':
		case 'c':
			pthread_rwlock_wrlock(&server.lock);
			monitor_conn_gone_locked(t->conn);
			pthread_rwlock_unlock(&server.lock);
			return;
		case 'L':
		case 'l':
			monitor_show_list(t);
			return;
		case 'S':
		case 's':
			monitor_status(t);
			return;
		}
	}
	/* One plain word is shown back, anything else as "*". */
	if (op[0] == '\0' || op[0] == ':' || strchr(op, ' ') != NULL ||
	    strlen(op) >= sizeof(shown) - 8)
		op = "*";
	snprintf(shown, sizeof(shown), "MONITOR %s", op);
	reply(t, ERR_UNKNOWNERROR, shown, "Unknown subcommand");
}

/* --- notifications --- */

/* text to every connection watching key; t's own in order. */
static void
monitor_post_locked(struct turn *t, const char *key, const char *text)
{
	struct monitor_entry *e;
	struct post *p;
	struct line l;
	int i, mine = 0;

	if (monitors.index == NULL ||
	    (e = map_get(monitors.index, key)) == NULL)
		return;
	memset(&l, 0, sizeof(l));
	l.text = text;
	p = post_new_locked(t, &l);
	post_reserve_locked(p, e->nw);
	for (i = 0; i < e->nw; i++) {
		if (e->w[i] == t->conn)
			mine = 1;
		else
			post_add_conn_locked(p, e->w[i]);
	}
	if (mine)
		turn_echo_locked(t, p, 1);
}

void
monitor_online_locked(struct turn *t, struct client *c)
{
	char mask[MASK_MAX + 1], line[OUT_LINE_MAX];

	client_mask(c, mask, sizeof(mask));
	snprintf(line, sizeof(line), ":%s 730 * :%s", config.server_name,
	    mask);
	monitor_post_locked(t, c->nickkey, line);
}

void
monitor_offline_locked(struct turn *t, const char *nick, const char *key)
{
	char line[OUT_LINE_MAX];

	snprintf(line, sizeof(line), ":%s 731 * :%s", config.server_name,
	    nick);
	monitor_post_locked(t, key, line);
}

int
monitor_fanout_locked(struct turn *t, struct post *p, struct client *who,
    unsigned cap)
{
	struct monitor_entry *e;
	struct conn *w;
	unsigned want = CAP(CAP_EXTENDED_MONITOR) | cap;
	int i, mine = 0;

	if (monitors.index == NULL ||
	    (e = map_get(monitors.index, who->nickkey)) == NULL)
		return 0;
	for (i = 0; i < e->nw; i++) {
		w = e->w[i];
		/* who's own connections, and those who share a room with
		 * it, were reached (or not, by their caps) already. */
		if (w->cl == who || w->cl->mark == server.gen ||
		    (w->caps & want) != want)
			continue;
		if (w == t->conn)
			mine = 1;
		else
			post_add_conn_locked(p, w);
	}
	return mine;
}
