/*
 * command_query.c: the commands that only look at the server's state
 * (WHO, WHOIS, WHOWAS, LIST, NAMES, LUSERS, MOTD, ISON, USERHOST,
 * VERSION, TIME, ADMIN, INFO) and AWAY, plus the NAMES, LUSERS, MOTD
 * and ISUPPORT bursts that JOIN and registration reuse.
 *
 * Every handler runs on the asking client's own thread.  Other clients,
 * rooms and struct server are read only with server.lock held; replies
 * are queued under it (reply() never blocks), so what a client sees is
 * one consistent snapshot.  Time formatting and allocation happen
 * outside the lock.
 */
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casemap.h"
#include "log.h"
#include "natterd.h"
#include "str.h"
#include "utf8.h"

#define ISUPPORT_PER_LINE	13	/* tokens per 005 line */
#define USERHOST_MAX		5	/* nicks answered per USERHOST */

/* query_time_format() styles */
#define QUERY_TIME_SHORT	0	/* "Thu Nov 26 02:20:00 2026 UTC" */
#define QUERY_TIME_LONG		1	/* RPL_TIME's, spelled out */

/*
 * WHOX (issue 13 §2): "WHO <mask> %<fields>[,<token>]" answers 354 with
 * the fields asked for, always in this order, whatever the order asked.
 */
#define WHOX_FIELDS	"tcuihsnfdlaor"
#define WHOX_TOKEN_MAX	3	/* digits */
#define WHOX_NO_IP	"255.255.255.255"

struct whox {
	unsigned	 fields;	/* bit i: WHOX_FIELDS[i] asked for */
	char		 token[WHOX_TOKEN_MAX + 1];
};

/*
 * A space-separated list being built for one reply line: budget is what
 * the line has left once its fixed part and CRLF are counted, so a list
 * that fits keeps the whole line within IRC_LINE_MAX.
 */
struct query_list {
	char	 buf[IRC_LINE_MAX];
	size_t	 len;
	size_t	 budget;
};

struct list_filter;


static int	 query_target_ok(struct turn *, const char *);
static void	 query_time_format(time_t, int, char *, size_t);
static size_t	 query_budget(struct client *, size_t);
static void	 query_list_init(struct query_list *, size_t);
static int	 query_list_add(struct query_list *, const char *,
		    const char *);
static int	 query_shares_room_locked(struct client *, struct client *);
static int	 query_room_shown_locked(struct client *, struct room *);
static unsigned	 query_visible_count_locked(struct client *,
		    struct room *);
static void	 query_who_reply_locked(struct turn *, struct client *,
		    const char *, const struct member *, const struct whox *);
static void	 query_who_flags(struct turn *, struct client *,
		    const struct member *, char *);
static void	 query_whox_reply_locked(struct turn *, struct client *,
		    const char *, const struct member *, const struct whox *);
static void	 query_whox_parse(const char *, struct whox *);
static void	 query_whois_locked(struct turn *, struct client *);
static void	 query_list_room_locked(struct turn *, struct room *);
static int	 list_filter_parse(struct list_filter *, const char *);
static int	 list_filter_ok_locked(struct client *, struct room *,
		    const struct list_filter *, int, time_t);
static void	 query_isupport_add(struct turn *, struct query_list *,
		    int *, const char *);

/*
 * 1 if target (a server parameter, NULL when absent) names this server,
 * by name or by a glob that matches it; otherwise answers 402.  There
 * is only one server, so anything else does not exist.
 */
static int
query_target_ok(struct turn *t, const char *target)
{
	if (target == NULL || target[0] == '\0')
		return 1;
	if (casemap_cmp(target, config.server_name) == 0 ||
	    casemap_match(target, config.server_name))
		return 1;
	reply(t, ERR_NOSUCHSERVER, target);
	return 0;
}

/*
 * UTC, so replies do not depend on the host's time zone files.  The
 * formats are literals here so -Wformat=2 can check them.
 */
static void
query_time_format(time_t t, int style, char *buf, size_t len)
{
	struct tm	 tm;
	size_t		 n = 0;

	if (gmtime_r(&t, &tm) != NULL) {
		switch (style) {
		case QUERY_TIME_LONG:
			n = strftime(buf, len, "%A %B %d %Y -- %H:%M:%S +00:00",
			    &tm);
			break;
		default:
			n = strftime(buf, len, "%a %b %d %H:%M:%S %Y UTC", &tm);
			break;
		}
	}
	if (n == 0)
		(void)snprintf(buf, len, "%lld", (long long)t);
}

/*
 * Room left in a numeric for c whose text after "<nick> " has fixed
 * bytes besides the list: ":<server> NNN <nick> " and CRLF.
 */
static size_t
query_budget(struct client *c, size_t fixed)
{
	size_t	used;

	used = 1 + strlen(config.server_name) + 5 + strlen(c->nick) + 1 +
	    fixed + 2;
	if (used >= IRC_LINE_MAX)
		return 0;
	return IRC_LINE_MAX - used;
}

static void
query_list_init(struct query_list *l, size_t budget)
{
	l->buf[0] = '\0';
	l->len = 0;
	l->budget = budget < sizeof(l->buf) - 1 ? budget : sizeof(l->buf) - 1;
}

/*
 * Appends " <pfx><word>".  Returns -1, leaving l as it was, when that
 * would pass the budget; the caller flushes and retries.  An empty list
 * always takes the word (cut if need be) so a retry cannot loop.
 */
static int
query_list_add(struct query_list *l, const char *pfx, const char *word)
{
	size_t	need, n;

	need = (l->len > 0) + strlen(pfx) + strlen(word);
	if (l->len > 0 && l->len + need > l->budget)
		return -1;
	n = str_join(l->buf + l->len, sizeof(l->buf) - l->len,
	    l->len > 0 ? " " : "", pfx, word, (char *)NULL);
	/* Cut at the end of buf; only when alone. */
	l->len = n < sizeof(l->buf) - l->len ? l->len + n :
	    sizeof(l->buf) - 1;
	return 0;
}

/* 1 unless r is +s and c is not in it: LIST shows an outsider nothing
 * of a secret room (NAMES, WHO, WHOIS and TOPIC check the same). */
static int
query_room_shown_locked(struct client *c, struct room *r)
{
	return !room_secret(r) || room_member_locked(r, c) != NULL;
}

/* 1 if a and b are the same client or are both in some room. */
static int
query_shares_room_locked(struct client *a, struct client *b)
{
	int	i;

	if (a == b)
		return 1;
	/* Walk whichever joined fewer rooms. */
	if (b->nrooms < a->nrooms) {
		for (i = 0; i < b->nrooms; i++)
			if (room_member_locked(b->rooms[i], a) != NULL)
				return 1;
		return 0;
	}
	for (i = 0; i < a->nrooms; i++)
		if (room_member_locked(a->rooms[i], b) != NULL)
			return 1;
	return 0;
}

/* Members of r that c may see: all if c is in r, else those not +i. */
static unsigned
query_visible_count_locked(struct client *c, struct room *r)
{
	const struct member	*m;
	unsigned		 n = 0;
	int			 i;

	if (room_member_locked(r, c) != NULL)
		return (unsigned)room_count(r);
	for (i = 0; (m = room_member_at(r, i)) != NULL; i++)
		if (!(m->c->flags & CLIENT_INVISIBLE))
			n++;
	return n;
}

/* --- LIST's filters (ELIST) --- */

/*
 * ISUPPORT ELIST=CMNTU: LIST takes, comma-separated in its parameters,
 *   <n  >n      rooms with fewer / more than n users (U), as 322
 *               counts them for the asker
 *   C<n C>n     rooms made less / more than n minutes ago (C)
 *   T<n T>n     rooms whose topic was set less / more than n minutes
 *               ago (T); a room without a topic matches neither
 *   !mask       rooms whose names do not match mask (N)
 *   mask        rooms whose names match mask (M); without '*' or '?'
 *               it is just the room's name
 * A room is listed when it matches one of the names and masks (any
 * room if none was given) and every other condition.  A condition
 * whose number is missing or not a number ("C<x", ">") is ignored, as
 * Ergo ignores one it cannot read.  A line holds at most
 * LIST_ITEMS_MAX items, so the arrays below cannot overflow; the
 * parser still stops there.
 */
#define LIST_ITEMS_MAX		(IRC_LINE_MAX / 2)	/* "a," each */
#define LIST_MINUTES_MAX	100000000LL	/* more: not a number */

struct list_filter {
	char		 text[IRC_LINE_MAX];	/* the items, cut apart */
	const char	*match[LIST_ITEMS_MAX];	/* names and M masks */
	int		 nmatch;
	int		 globs;		/* a match item has '*' or '?' */
	const char	*nomatch[LIST_ITEMS_MAX];	/* N masks, no '!' */
	int		 nnomatch;
	long long	 users_gt, users_lt;	/* -1: no such condition */
	long long	 made_gt, made_lt;	/* seconds of age */
	long long	 topic_gt, topic_lt;
};

/* n >= 0 from the digits of s, or -1 if s is not only digits. */
static long long
list_number(const char *s)
{
	long long n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > LIST_MINUTES_MAX)
			return -1;
	}
	return n;
}

/* Tightens a "more than" bound (*gt) or a "less than" one (*lt). */
static void
list_bound(long long *gt, long long *lt, char op, long long n)
{
	if (op == '>' && n > *gt)
		*gt = n;
	else if (op == '<' && (*lt < 0 || n < *lt))
		*lt = n;
}

/*
 * Reads the items of items (the parameters, joined by commas) into f.
 * Returns 1 if any item was read.
 */
static int
list_filter_parse(struct list_filter *f, const char *items)
{
	char *p, *item;
	long long n;
	int any = 0;

	f->users_gt = f->users_lt = -1;
	f->made_gt = f->made_lt = -1;
	f->topic_gt = f->topic_lt = -1;
	if ((size_t)snprintf(f->text, sizeof(f->text), "%s", items) >=
	    sizeof(f->text))
		f->text[sizeof(f->text) - 1] = '\0';
	p = f->text;
	while ((item = strsep(&p, ",")) != NULL) {
		if (item[0] == '\0')
			continue;
		any = 1;
		if (item[0] == '<' || item[0] == '>') {
			if ((n = list_number(item + 1)) >= 0)
				list_bound(&f->users_gt, &f->users_lt, item[0],
				    n);
		} else if (strchr("CcTt", item[0]) != NULL &&
		    (item[1] == '<' || item[1] == '>')) {
			if ((n = list_number(item + 2)) < 0)
				continue;
			if (item[0] == 'C' || item[0] == 'c')
				list_bound(&f->made_gt, &f->made_lt, item[1],
				    n * 60);
			else
				list_bound(&f->topic_gt, &f->topic_lt, item[1],
				    n * 60);
		} else if (item[0] == '!') {
			if (item[1] != '\0' && f->nnomatch < LIST_ITEMS_MAX)
				f->nomatch[f->nnomatch++] = item + 1;
		} else if (f->nmatch < LIST_ITEMS_MAX) {
			if (strpbrk(item, "*?") != NULL)
				f->globs = 1;
			f->match[f->nmatch++] = item;
		}
	}
	return any;
}

/*
 * 1 if f lets c see r.  by_name: r was looked up by one of f's names,
 * so the names need no second look.
 */
static int
list_filter_ok_locked(struct client *c, struct room *r,
    const struct list_filter *f, int by_name, time_t now)
{
	long long users, age;
	int i;

	if (!by_name && f->nmatch > 0) {
		for (i = 0; i < f->nmatch; i++)
			if (casemap_match(f->match[i], room_name(r)))
				break;
		if (i == f->nmatch)
			return 0;
	}
	for (i = 0; i < f->nnomatch; i++)
		if (casemap_match(f->nomatch[i], room_name(r)))
			return 0;
	users = query_visible_count_locked(c, r);
	if ((f->users_gt >= 0 && users <= f->users_gt) ||
	    (f->users_lt >= 0 && users >= f->users_lt))
		return 0;
	age = (long long)(now - room_created(r));
	if ((f->made_gt >= 0 && age <= f->made_gt) ||
	    (f->made_lt >= 0 && age >= f->made_lt))
		return 0;
	if (f->topic_gt >= 0 || f->topic_lt >= 0) {
		if (room_topic_time(r) == 0)
			return 0;
		age = (long long)(now - room_topic_time(r));
		if ((f->topic_gt >= 0 && age <= f->topic_gt) ||
		    (f->topic_lt >= 0 && age >= f->topic_lt))
			return 0;
	}
	return 1;
}

/* --- long listings, made as the socket drains --- */

#define LISTING_STEP	100	/* users or rooms a step */

/*
 * WHO with a mask or a room, LIST of every room and NAMES of several
 * rooms can be as long as the server is big.  Each is a generator: its
 * first step takes a snapshot under server.lock (references to the
 * users, with their room status, or the room names), the later ones
 * format a hundred at a time with the lock held, as the asker's socket
 * drains.  A user who left meanwhile (CLIENT_GONE) is skipped; a room
 * that is gone is left out.
 */
struct listing {
	struct gen	 g;
	enum { LS_WHO, LS_LIST, LS_NAMES } kind;
	char		 arg[IRC_LINE_MAX];	/* mask, room, or rooms */
	char		 shown[IRC_LINE_MAX];	/* what 315 names */
	char		*next_name;	/* NAMES: in arg */
	int		 opers;		/* WHO o */
	/* WHOX (issue 13 §2): 354 with these fields, or 352 if not. */
	int		 whox_on;
	struct whox	 whox;
	int		 started;
	int		 n;
	int		 next;
	int		 cap;
	struct member	*who;		/* WHO: references, and status */
	char		**names;	/* LIST */
	char		 room[ROOM_NAME_MAX + 1];	/* WHO #room */
	struct list_filter *filter;	/* LIST */
	int		 by_name;	/* LIST: names are f's own */
};

static void
listing_free(struct gen *g)
{
	struct listing *ls = (struct listing *)g;
	int i;

	for (i = ls->next; i < ls->n; i++) {
		if (ls->who != NULL)
			client_unref(ls->who[i].c);
		if (ls->names != NULL)
			free(ls->names[i]);
	}
	free(ls->who);
	free(ls->names);
	free(ls->filter);
	free(ls);
}

static int
listing_grow(void **v, int *cap, int n, size_t size)
{
	void *nv;
	int ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 64 : *cap * 2;
	if ((nv = reallocarray(*v, (size_t)ncap, size)) == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* WHO's snapshot: whom t->c may see, by ls->arg. */
static void
listing_who_start_locked(struct turn *t, struct listing *ls)
{
	struct client *c = t->c, *u;
	const struct member *m;
	struct room *r;
	int in, i;

	if (ls->arg[0] == '#') {
		if ((r = room_find_locked(ls->arg)) == NULL)
			return;
		snprintf(ls->room, sizeof(ls->room), "%s", room_name(r));
		in = room_member_locked(r, c) != NULL;
		/* A +s room's members are its own business. */
		if (!in && room_secret(r))
			return;
		for (i = 0; (m = room_member_at(r, i)) != NULL; i++) {
			if ((!in && (m->c->flags & CLIENT_INVISIBLE)) ||
			    (ls->opers && !(m->c->flags & CLIENT_OPER)))
				continue;
			if (listing_grow((void **)&ls->who, &ls->cap, ls->n,
			    sizeof(*ls->who)) == -1)
				return;
			ls->who[ls->n].c = client_ref(m->c);
			ls->who[ls->n++].modes = m->modes;
		}
		return;
	}
	snprintf(ls->room, sizeof(ls->room), "*");
	for (u = server.clients; u != NULL; u = u->next) {
		if (!(u->flags & CLIENT_REGISTERED) ||
		    (ls->opers && !(u->flags & CLIENT_OPER)) ||
		    ((u->flags & CLIENT_INVISIBLE) &&
		    !query_shares_room_locked(c, u)))
			continue;
		if (!casemap_match(ls->arg, u->nick) &&
		    !casemap_match(ls->arg, u->user) &&
		    !casemap_match(ls->arg, u->host) &&
		    !casemap_match(ls->arg, u->realname))
			continue;
		if (listing_grow((void **)&ls->who, &ls->cap, ls->n,
		    sizeof(*ls->who)) == -1)
			return;
		ls->who[ls->n].c = client_ref(u);
		ls->who[ls->n++].modes = 0;
	}
}

static void
listing_list_room(const char *key, void *val, void *arg)
{
	struct listing *ls = arg;

	(void)val;
	if (listing_grow((void **)&ls->names, &ls->cap, ls->n,
	    sizeof(*ls->names)) == -1)
		return;
	if ((ls->names[ls->n] = strdup(key)) != NULL)
		ls->n++;
}

/* LIST of given names only: those names, in their order. */
static void
listing_list_names(struct listing *ls)
{
	const struct list_filter *f = ls->filter;
	int i;

	for (i = 0; i < f->nmatch; i++) {
		if (listing_grow((void **)&ls->names, &ls->cap, ls->n,
		    sizeof(*ls->names)) == -1)
			return;
		if ((ls->names[ls->n] = strdup(f->match[i])) != NULL)
			ls->n++;
	}
}

static int
listing_step(struct gen *g, struct conn *c, struct outlist *out)
{
	struct listing *ls = (struct listing *)g;
	char chunk[4096];
	struct turn t;
	struct room *r;
	const char *name;
	time_t now;
	int k, done;

	/* A turn of its own, for the reply functions; it never posts. */
	turn_begin(&t, c, chunk, sizeof(chunk));
	pthread_rwlock_wrlock(&server.lock);
	if (!ls->started) {
		ls->started = 1;
		if (ls->kind == LS_WHO)
			listing_who_start_locked(&t, ls);
		else if (ls->kind == LS_LIST && ls->by_name)
			listing_list_names(ls);
		else if (ls->kind == LS_LIST)
			map_foreach(server.rooms, listing_list_room, ls);
		else
			ls->next_name = ls->arg;
	}
	switch (ls->kind) {
	case LS_WHO:
		for (k = 0; ls->next < ls->n && k < LISTING_STEP; k++) {
			if (!(ls->who[ls->next].c->flags & CLIENT_GONE))
				query_who_reply_locked(&t, ls->who[ls->next].c,
				    ls->room, ls->room[0] == '#' ?
				    &ls->who[ls->next] : NULL,
				    ls->whox_on ? &ls->whox : NULL);
			ls->next++;
		}
		break;
	case LS_LIST:
		now = time(NULL);
		for (k = 0; ls->next < ls->n && k < LISTING_STEP; k++) {
			if ((r = room_find_locked(ls->names[ls->next])) !=
			    NULL && query_room_shown_locked(t.c, r) &&
			    (ls->filter == NULL || list_filter_ok_locked(t.c,
			    r, ls->filter, ls->by_name, now)))
				query_list_room_locked(&t, r);
			free(ls->names[ls->next++]);
		}
		break;
	case LS_NAMES:
		/* One room at a time, each whole. */
		while ((name = strsep(&ls->next_name, ",")) != NULL &&
		    name[0] == '\0')
			;
		if (name != NULL) {
			if ((r = room_find_locked(name)) != NULL)
				send_names_locked(&t, r);
			else
				reply(&t, RPL_ENDOFNAMES, name);
		}
		break;
	}
	pthread_rwlock_unlock(&server.lock);
	/* The references go outside the lock: the last one frees. */
	for (k = ls->next - 1; ls->kind == LS_WHO && k >= 0 &&
	    ls->who[k].c != NULL; k--) {
		client_unref(ls->who[k].c);
		ls->who[k].c = NULL;
	}
	done = ls->kind == LS_NAMES ? ls->next_name == NULL :
	    ls->next >= ls->n;
	if (done && ls->kind == LS_WHO)
		reply(&t, RPL_ENDOFWHO, ls->shown);
	else if (done && ls->kind == LS_LIST)
		reply(&t, RPL_LISTEND);
	turn_take(&t, out);
	return done;
}

/* A listing of kind for arg (copied); shown names it in 315; whox:
 * WHO's fields (WHOX) or NULL.  NULL (answered) when out of memory. */
static struct listing *
listing_new(struct turn *t, int kind, const char *arg, const char *shown,
    int opers, const struct whox *whox)
{
	struct listing *ls;

	if ((ls = calloc(1, sizeof(*ls))) == NULL) {
		log_warn("listing");
		reply(t, ERR_UNKNOWNERROR, kind == LS_LIST ? "LIST" :
		    kind == LS_WHO ? "WHO" : "NAMES", "Out of memory");
		return NULL;
	}
	ls->g.step = listing_step;
	ls->g.free = listing_free;
	ls->kind = kind;
	ls->opers = opers;
	if (whox != NULL) {
		ls->whox_on = 1;
		ls->whox = *whox;
	}
	snprintf(ls->arg, sizeof(ls->arg), "%s", arg);
	snprintf(ls->shown, sizeof(ls->shown), "%s", shown);
	return ls;
}

/* Queues a listing of kind for arg; shown names it in 315. */
static void
listing_start(struct turn *t, int kind, const char *arg, const char *shown,
    int opers, const struct whox *whox)
{
	struct listing *ls;

	if ((ls = listing_new(t, kind, arg, shown, opers, whox)) != NULL)
		turn_gen(t, &ls->g);
}

/* --- NAMES --- */

/*
 * With multi-prefix every prefix a member has ("@+nick"), else the
 * highest; with userhost-in-names "nick!user@host", else the nick.
 */
void
send_names_locked(struct turn *t, struct room *r)
{
	struct client		*c = t->c;
	struct query_list	 l;
	const struct member	*m;
	char			 pfx[3], mask[MASK_MAX + 1];
	const char		*word, *name = room_name(r);
	int			 in, multi, uhnames, i, sym;

	in = room_member_locked(r, c) != NULL;
	/* To an outsider a +s room does not exist: only the end. */
	if (!in && room_secret(r)) {
		reply(t, RPL_ENDOFNAMES, name);
		return;
	}
	/* The room's status symbol: '@' secret, '=' public. */
	sym = room_secret(r) ? '@' : '=';
	multi = (t->conn->caps & CAP(CAP_MULTI_PREFIX)) != 0;
	uhnames = (t->conn->caps & CAP(CAP_USERHOST_IN_NAMES)) != 0;
	/* "= <room> :" before the names. */
	query_list_init(&l, query_budget(c, 2 + strlen(name) + 2));
	for (i = 0; (m = room_member_at(r, i)) != NULL; i++) {
		if (!in && (m->c->flags & CLIENT_INVISIBLE))
			continue;
		if (multi)
			member_prefixes(m, pfx);
		else {
			pfx[0] = (char)member_prefix(m);
			pfx[1] = '\0';
		}
		word = m->c->nick;
		if (uhnames) {
			client_mask(m->c, mask, sizeof(mask));
			word = mask;
		}
		if (query_list_add(&l, pfx, word) == -1) {
			reply(t, RPL_NAMREPLY, sym, name, l.buf);
			l.len = 0;
			l.buf[0] = '\0';
			(void)query_list_add(&l, pfx, word);
		}
	}
	if (l.len > 0)
		reply(t, RPL_NAMREPLY, sym, name, l.buf);
	reply(t, RPL_ENDOFNAMES, name);
}

/* NAMES [<room>{,<room>} [<server>]] */
void
cmd_names(struct turn *t, struct irc_msg *m)
{
	struct room	*r;

	if (m->nparams > 1 && !query_target_ok(t, m->params[1]))
		return;
	/* Listing every room's members at once is a flood; modern
	 * servers answer a bare NAMES with only the end marker. */
	if (m->nparams == 0 || m->params[0][0] == '\0') {
		reply(t, RPL_ENDOFNAMES, "*");
		return;
	}
	if (strchr(m->params[0], ',') != NULL) {
		/* Several rooms: each whole, one at a time. */
		listing_start(t, LS_NAMES, m->params[0], "", 0, NULL);
		return;
	}
	pthread_rwlock_wrlock(&server.lock);
	if ((r = room_find_locked(m->params[0])) != NULL)
		send_names_locked(t, r);
	else
		reply(t, RPL_ENDOFNAMES, m->params[0]);
	pthread_rwlock_unlock(&server.lock);
}

/* --- WHO --- */

/*
 * u's WHO flags into buf (WHO_FLAGS_MAX): H or G, * for an operator, its
 * prefixes in m's room (every one with multi-prefix, else the highest),
 * then B for a bot, in that order as Ergo sends them.
 */
#define WHO_FLAGS_MAX	6	/* H or G, *, two prefixes, B, NUL */

static void
query_who_flags(struct turn *t, struct client *u, const struct member *m,
    char *flags)
{
	size_t	n = 0;

	flags[n++] = u->away != NULL ? 'G' : 'H';
	if (u->flags & CLIENT_OPER)
		flags[n++] = '*';
	flags[n] = '\0';
	if (m != NULL && (t->conn->caps & CAP(CAP_MULTI_PREFIX))) {
		member_prefixes(m, flags + n);
		n = strlen(flags);
	} else if (m != NULL && member_prefix(m) != 0)
		flags[n++] = (char)member_prefix(m);
	if (u->flags & CLIENT_BOT)
		flags[n++] = 'B';
	flags[n] = '\0';
}

/*
 * One line about u: 352, or 354 with the fields of whox when not NULL.
 * room is "*" outside a room, m u's membership there or NULL.
 */
static void
query_who_reply_locked(struct turn *t, struct client *u, const char *room,
    const struct member *m, const struct whox *whox)
{
	char	flags[WHO_FLAGS_MAX];

	if (whox != NULL) {
		query_whox_reply_locked(t, u, room, m, whox);
		return;
	}
	query_who_flags(t, u, m, flags);
	reply(t, RPL_WHOREPLY, room, u->user, u->host, config.server_name,
	    u->nick, flags, u->realname);
}

/*
 * "%<fields>[,<token>]" (what follows the '%'): the letters natterd does
 * not know are ignored; a token is one to three digits, anything else
 * is none, and 't' then answers "0" as Ergo does.
 */
static void
query_whox_parse(const char *s, struct whox *w)
{
	const char	*p, *f;
	size_t		 n;

	memset(w, 0, sizeof(*w));
	for (p = s; *p != '\0' && *p != ','; p++)
		if ((f = strchr(WHOX_FIELDS, *p)) != NULL)
			w->fields |= 1u << (f - WHOX_FIELDS);
	if (*p == ',') {
		n = strlen(++p);
		if (n >= 1 && n <= WHOX_TOKEN_MAX &&
		    strspn(p, "0123456789") == n)
			memcpy(w->token, p, n + 1);
	}
	if (w->token[0] == '\0')
		snprintf(w->token, sizeof(w->token), "0");
}

/* 1 if f (a letter of WHOX_FIELDS) is asked for. */
#define WHOX_HAS(w, f)	(((w)->fields >> (strchr(WHOX_FIELDS, (f)) - \
			    WHOX_FIELDS)) & 1u)

/*
 * One 354 line about u.  'c' outside a room is the first of u's rooms
 * the asker may see (one they share, or a public one if u is not +i),
 * and the flags then carry u's prefixes there.  'i' is the address u
 * connected from where natterd already shows it (as the host, or to u
 * itself and to operators, as WHOIS 338 does), else 255.255.255.255.
 * The realname, last, is cut so the line stays within 512 bytes.
 */
static void
query_whox_reply_locked(struct turn *t, struct client *u, const char *room,
    const struct member *m, const struct whox *w)
{
	struct client	*c = t->c;
	unsigned char	 addr[16];
	char		 line[IRC_LINE_MAX], flags[WHO_FLAGS_MAX];
	const char	*ip = NULL;
	struct room	*r;
	size_t		 off = 0, budget, rlen;
	time_t		 idle;
	int		 i;

	if (m == NULL && strcmp(room, "*") == 0 && WHOX_HAS(w, 'c'))
		for (i = 0; i < u->nrooms; i++) {
			r = u->rooms[i];
			if (room_member_locked(r, c) != NULL ||
			    (!room_secret(r) &&
			    !(u->flags & CLIENT_INVISIBLE))) {
				room = room_name(r);
				m = room_member_locked(r, u);
				break;
			}
		}
	budget = query_budget(c, 0);
	if (budget > sizeof(line) - 1)
		budget = sizeof(line) - 1;
	line[0] = '\0';
#define WHOX_ADD(...) do {						\
	int n_ = snprintf(line + off, sizeof(line) - off, __VA_ARGS__);	\
	if (n_ > 0)							\
		off = off + (size_t)n_ < sizeof(line) ? off + (size_t)n_ : \
		    sizeof(line) - 1;					\
} while (0)
	if (WHOX_HAS(w, 't'))
		WHOX_ADD(" %s", w->token);
	if (WHOX_HAS(w, 'c'))
		WHOX_ADD(" %s", room);
	if (WHOX_HAS(w, 'u'))
		WHOX_ADD(" %s", u->user);
	if (WHOX_HAS(w, 'i')) {
		if (u->conns != NULL && (inet_pton(AF_INET, u->conns->ip,
		    addr) == 1 || inet_pton(AF_INET6, u->conns->ip,
		    addr) == 1) && (u == c || (c->flags & CLIENT_OPER) ||
		    strcmp(u->host, u->conns->ip) == 0))
			ip = u->conns->ip;
		WHOX_ADD(" %s", ip != NULL ? ip : WHOX_NO_IP);
	}
	if (WHOX_HAS(w, 'h'))
		WHOX_ADD(" %s", u->host);
	if (WHOX_HAS(w, 's'))
		WHOX_ADD(" %s", config.server_name);
	if (WHOX_HAS(w, 'n'))
		WHOX_ADD(" %s", u->nick);
	if (WHOX_HAS(w, 'f')) {
		query_who_flags(t, u, m, flags);
		WHOX_ADD(" %s", flags);
	}
	if (WHOX_HAS(w, 'd'))
		WHOX_ADD(" 0");		/* hops: one server */
	if (WHOX_HAS(w, 'l')) {
		idle = time(NULL) - (u->last_spoke != 0 ? u->last_spoke :
		    u->signon);
		WHOX_ADD(" %lld", (long long)(idle > 0 ? idle : 0));
	}
	if (WHOX_HAS(w, 'a'))
		WHOX_ADD(" %s", u->account != NULL ?
		    account_name(u->account) : "0");
	if (WHOX_HAS(w, 'o'))
		WHOX_ADD(" 0");		/* no op levels, as Ergo says */
	if (WHOX_HAS(w, 'r') && off + 2 < budget) {
		rlen = utf8_cut(u->realname, strlen(u->realname),
		    budget - off - 2);
		WHOX_ADD(" :%.*s", (int)rlen, u->realname);
	}
#undef WHOX_ADD
	reply(t, RPL_WHOSPCRPL, line);
}

/* WHO [<mask> [o][%<fields>[,<token>]]] */
void
cmd_who(struct turn *t, struct irc_msg *m)
{
	const char	*mask = "*", *given = "*", *pct = NULL;
	struct client	*u = NULL;
	struct whox	 whox;
	size_t		 flen;
	int		 opers = 0;

	if (m->nparams > 0 && m->params[0][0] != '\0') {
		mask = given = m->params[0];
		/* RFC 2812: "0" is the same as "*". */
		if (strcmp(mask, "0") == 0)
			mask = "*";
		/* 315 names it as a middle parameter. */
		if (mask[0] == ':' || strchr(mask, ' ') != NULL)
			given = "*";
	}
	/* The flags before any WHOX '%' field list. */
	if (m->nparams > 1) {
		flen = strcspn(m->params[1], "%");
		opers = memchr(m->params[1], 'o', flen) != NULL;
		if (m->params[1][flen] == '%') {
			pct = m->params[1] + flen + 1;
			query_whox_parse(pct, &whox);
		}
	}

	/*
	 * A mask that is exactly a nick: that user, even +i, as WHOIS
	 * would, the way solanum and ergo answer "WHO nick".  RFC 2812:
	 * any other mask shows +i users only to those sharing a room with
	 * them; that and a room are listings.
	 */
	pthread_rwlock_wrlock(&server.lock);
	if (mask[0] != '#' && strpbrk(mask, "*?") == NULL &&
	    strlen(mask) <= NICK_MAX && (u = client_find_locked(mask)) != NULL &&
	    (u->flags & CLIENT_REGISTERED)) {
		if (!opers || (u->flags & CLIENT_OPER))
			query_who_reply_locked(t, u, "*", NULL,
			    pct != NULL ? &whox : NULL);
		reply(t, RPL_ENDOFWHO, given);
	} else
		u = NULL;
	pthread_rwlock_unlock(&server.lock);
	if (u == NULL)
		listing_start(t, LS_WHO, mask, given, opers,
		    pct != NULL ? &whox : NULL);
}

/* --- WHOIS --- */

static void
query_whois_locked(struct turn *t, struct client *u)
{
	struct client		*c = t->c;
	struct query_list	 l;
	struct member		*mb;
	struct room		*r;
	char			 pfx[2];
	time_t			 now, idle;
	int			 i, all;

	reply(t, RPL_WHOISUSER, u->nick, u->user, u->host, u->realname);

	/* A +i user's rooms, and +s rooms, show only where the asker is
	 * too. */
	all = !(u->flags & CLIENT_INVISIBLE) || u == c;
	query_list_init(&l, query_budget(c, strlen(u->nick) + 2));
	for (i = 0; i < u->nrooms; i++) {
		r = u->rooms[i];
		if ((!all || room_secret(r)) &&
		    room_member_locked(r, c) == NULL)
			continue;
		if ((mb = room_member_locked(r, u)) == NULL)
			continue;
		pfx[0] = (char)member_prefix(mb);
		pfx[1] = '\0';
		if (query_list_add(&l, pfx, room_name(r)) == -1) {
			reply(t, RPL_WHOISCHANNELS, u->nick, l.buf);
			l.len = 0;
			l.buf[0] = '\0';
			(void)query_list_add(&l, pfx, room_name(r));
		}
	}
	if (l.len > 0)
		reply(t, RPL_WHOISCHANNELS, u->nick, l.buf);

	reply(t, RPL_WHOISSERVER, u->nick, config.server_name,
	    "natter chat server");
	if (u->away != NULL)
		reply(t, RPL_AWAY, u->nick, u->away);
	if (u->flags & CLIENT_OPER)
		reply(t, RPL_WHOISOPERATOR, u->nick);
	if (u->account != NULL)
		reply(t, RPL_WHOISACCOUNT, u->nick, account_name(u->account));
	if (u->flags & CLIENT_BOT)
		reply(t, RPL_WHOISBOT, u->nick);
	/* The real address only to its owner and to operators. */
	if ((u == c || (c->flags & CLIENT_OPER)) &&
	    u->conns != NULL && strcmp(u->host, u->conns->ip) != 0)
		reply(t, RPL_WHOISACTUALLY, u->nick, u->conns->ip);
	now = time(NULL);
	idle = now - (u->last_spoke != 0 ? u->last_spoke : u->signon);
	if (idle < 0)
		idle = 0;
	reply(t, RPL_WHOISIDLE, u->nick, (long long)idle,
	    (long long)u->signon);
}

/* WHOIS [<server>] <nick>[,<nick>...]: only the first nick is answered
 * (TARGMAX WHOIS:1). */
void
cmd_whois(struct turn *t, struct irc_msg *m)
{
	char		 nick[IRC_LINE_MAX];
	const char	*arg;
	struct client	*u;
	size_t		 n;

	arg = m->nparams > 1 ? m->params[1] : m->params[0];
	n = strcspn(arg, ",");
	if (n >= sizeof(nick))
		n = sizeof(nick) - 1;
	memcpy(nick, arg, n);
	nick[n] = '\0';
	if (nick[0] == '\0') {
		reply(t, ERR_NONICKNAMEGIVEN);
		return;
	}

	if (nickserv_reserved(nick)) {
		nickserv_whois(t);
		reply(t, RPL_ENDOFWHOIS, NICKSERV_NICK);
		return;
	}
	pthread_rwlock_wrlock(&server.lock);
	u = n <= NICK_MAX ? client_find_locked(nick) : NULL;
	if (u != NULL && (u->flags & CLIENT_REGISTERED))
		query_whois_locked(t, u);
	else
		reply(t, ERR_NOSUCHNICK, nick);
	reply(t, RPL_ENDOFWHOIS, nick);
	pthread_rwlock_unlock(&server.lock);
}

/* --- WHOWAS --- */

/* WHOWAS <nick>[,<nick>...] [<count> [<server>]]: first nick only. */
void
cmd_whowas(struct turn *t, struct irc_msg *m)
{
	char		 nick[IRC_LINE_MAX], when[64];
	struct whowas	*w;
	const char	*arg;
	char		*end;
	size_t		 n;
	long		 count = 0, found = 0;
	unsigned	 i, slot;

	if (m->nparams > 2 && !query_target_ok(t, m->params[2]))
		return;
	arg = m->params[0];
	n = strcspn(arg, ",");
	if (n >= sizeof(nick))
		n = sizeof(nick) - 1;
	memcpy(nick, arg, n);
	nick[n] = '\0';
	if (nick[0] == '\0') {
		reply(t, ERR_NONICKNAMEGIVEN);
		return;
	}
	if (m->nparams > 1) {
		errno = 0;
		count = strtol(m->params[1], &end, 10);
		/* Junk, zero or negative: no limit, as RFC 2812 says. */
		if (errno != 0 || *end != '\0' || count < 0)
			count = 0;
	}

	pthread_rwlock_wrlock(&server.lock);
	/* Newest first: whowas_next is the slot written next. */
	for (i = 1; i <= WHOWAS_MAX; i++) {
		slot = (server.whowas_next + WHOWAS_MAX - i) % WHOWAS_MAX;
		w = &server.whowas[slot];
		if (w->nick[0] == '\0' || casemap_cmp(w->nick, nick) != 0)
			continue;
		reply(t, RPL_WHOWASUSER, w->nick, w->user, w->host,
		    w->realname);
		query_time_format(w->when, QUERY_TIME_SHORT, when,
		    sizeof(when));
		reply(t, RPL_WHOISSERVER, w->nick, config.server_name, when);
		if (++found == count)
			break;
	}
	if (found == 0)
		reply(t, ERR_WASNOSUCHNICK, nick);
	reply(t, RPL_ENDOFWHOWAS, nick);
	pthread_rwlock_unlock(&server.lock);
}

/* --- LIST --- */

static void
query_list_room_locked(struct turn *t, struct room *r)
{
	reply(t, RPL_LIST, room_name(r), query_visible_count_locked(t->c, r),
	    room_topic(r) != NULL ? room_topic(r) : "");
}

/* 1 if s, LIST's second parameter, holds ELIST items rather than a
 * server (a server's name starts with none of these). */
static int
list_items_param(const char *s)
{
	return s[0] == '<' || s[0] == '>' || s[0] == '!' || s[0] == '#' ||
	    (strchr("CcTt", s[0]) != NULL && s[0] != '\0' &&
	    (s[1] == '<' || s[1] == '>'));
}

/*
 * LIST [<room>{,<room>}] [<elistcond>{,<elistcond>}] (Modern IRC), or
 * LIST <room>{,<room>} <server> (RFC 2812).  Names, masks and
 * conditions may share either parameter (Solanum and irctest put them
 * in one), see the filters above.  A +s room is never shown to
 * someone outside it.  The rooms are listed as the socket drains
 * (SAFELIST), the given names in their order, else every room.
 */
void
cmd_list(struct turn *t, struct irc_msg *m)
{
	char			 items[IRC_LINE_MAX];
	struct listing		*ls;
	struct list_filter	*f;
	int			 nitems = m->nparams > 2 ? 2 : m->nparams;

	if (nitems == 2 && !list_items_param(m->params[1]))
		nitems = 1;
	if (m->nparams > nitems && !query_target_ok(t, m->params[nitems]))
		return;
	reply(t, RPL_LISTSTART);
	if ((ls = listing_new(t, LS_LIST, "", "", 0, NULL)) == NULL)
		return;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		log_warn("list");
		reply(t, ERR_UNKNOWNERROR, "LIST", "Out of memory");
		listing_free(&ls->g);
		return;
	}
	(void)snprintf(items, sizeof(items), "%s%s%s",
	    nitems > 0 ? m->params[0] : "", nitems > 1 ? "," : "",
	    nitems > 1 ? m->params[1] : "");
	if (list_filter_parse(f, items)) {
		ls->filter = f;
		ls->by_name = f->nmatch > 0 && !f->globs;
	} else
		free(f);
	turn_gen(t, &ls->g);
}

/* --- LUSERS, MOTD --- */

void
lusers_get_locked(struct lusers *lu)
{
	lu->users = server.nusers;
	lu->invisible = server.ninvisible;
	lu->opers = server.nopers;
	lu->unknown = server.nclients > server.nusers ?
	    server.nclients - server.nusers : 0;
	lu->rooms = (unsigned)map_count(server.rooms);
	lu->max_users = server.max_users;
}

void
send_lusers(struct turn *t, const struct lusers *lu)
{
	reply(t, RPL_LUSERCLIENT, lu->users - lu->invisible, lu->invisible);
	if (lu->opers > 0)
		reply(t, RPL_LUSEROP, lu->opers);
	if (lu->unknown > 0)
		reply(t, RPL_LUSERUNKNOWN, lu->unknown);
	reply(t, RPL_LUSERCHANNELS, lu->rooms);
	reply(t, RPL_LUSERME, lu->users);
	reply(t, RPL_LOCALUSERS, lu->users, lu->max_users, lu->users,
	    lu->max_users);
	reply(t, RPL_GLOBALUSERS, lu->users, lu->max_users, lu->users,
	    lu->max_users);
}

void
send_lusers_locked(struct turn *t)
{
	struct lusers	lu;

	lusers_get_locked(&lu);
	send_lusers(t, &lu);
}

/* LUSERS [<mask> [<server>]]: one server, so the mask changes nothing. */
void
cmd_lusers(struct turn *t, struct irc_msg *m)
{
	if (m->nparams > 1 && !query_target_ok(t, m->params[1]))
		return;
	pthread_rwlock_wrlock(&server.lock);
	send_lusers_locked(t);
	pthread_rwlock_unlock(&server.lock);
}

void
send_motd_locked(struct turn *t)
{
	int	i;

	if (server.motd == NULL) {
		reply(t, ERR_NOMOTD);
		return;
	}
	reply(t, RPL_MOTDSTART, config.server_name);
	for (i = 0; i < server.nmotd; i++)
		reply(t, RPL_MOTD, server.motd[i]);
	reply(t, RPL_ENDOFMOTD);
}

/* MOTD [<server>] */
void
cmd_motd(struct turn *t, struct irc_msg *m)
{
	if (m->nparams > 0 && !query_target_ok(t, m->params[0]))
		return;
	pthread_rwlock_wrlock(&server.lock);
	send_motd_locked(t);
	pthread_rwlock_unlock(&server.lock);
}

/* --- ISON, USERHOST --- */

/* ISON <nick>{ <nick>}: the nicks may also come as one trailing
 * parameter with spaces in it. */
void
cmd_ison(struct turn *t, struct irc_msg *m)
{
	struct query_list	 l;
	char			 word[IRC_LINE_MAX], *p, *nick;
	struct client		*u;
	int			 i;

	query_list_init(&l, query_budget(t->c, 1));
	pthread_rwlock_wrlock(&server.lock);
	for (i = 0; i < m->nparams; i++) {
		if ((size_t)snprintf(word, sizeof(word), "%s",
		    m->params[i]) >= sizeof(word))
			word[sizeof(word) - 1] = '\0';
		p = word;
		while ((nick = strsep(&p, " ")) != NULL) {
			if (nick[0] == '\0' || strlen(nick) > NICK_MAX)
				continue;
			u = client_find_locked(nick);
			if (u == NULL || !(u->flags & CLIENT_REGISTERED))
				continue;
			/* 303 is one line: a full list just stops. */
			if (query_list_add(&l, "", u->nick) == -1)
				goto done;
		}
	}
done:
	pthread_rwlock_unlock(&server.lock);
	reply(t, RPL_ISON, l.buf);
}

/* USERHOST <nick>{ <nick>}: at most USERHOST_MAX answered. */
void
cmd_userhost(struct turn *t, struct irc_msg *m)
{
	struct query_list	 l;
	char			 entry[NICK_MAX + USER_MAX + HOST_MAX + 8];
	struct client		*u;
	int			 i;

	query_list_init(&l, query_budget(t->c, 1));
	pthread_rwlock_wrlock(&server.lock);
	for (i = 0; i < m->nparams && i < USERHOST_MAX; i++) {
		if (strlen(m->params[i]) > NICK_MAX)
			continue;
		u = client_find_locked(m->params[i]);
		if (u == NULL || !(u->flags & CLIENT_REGISTERED))
			continue;
		/* Fields are bounded by their arrays; entry holds them. */
		(void)snprintf(entry, sizeof(entry), "%s%s=%c%s@%s", u->nick,
		    (u->flags & CLIENT_OPER) ? "*" : "",
		    u->away != NULL ? '-' : '+', u->user, u->host);
		if (query_list_add(&l, "", entry) == -1)
			break;
	}
	pthread_rwlock_unlock(&server.lock);
	reply(t, RPL_USERHOST, l.buf);
}

/* --- VERSION, ISUPPORT, TIME, ADMIN, INFO --- */

/* Adds tok to the 005 line being built, sending it when full. */
static void
query_isupport_add(struct turn *t, struct query_list *l, int *ntok,
    const char *tok)
{
	if (*ntok == ISUPPORT_PER_LINE || query_list_add(l, "", tok) == -1) {
		if (l->len > 0)
			reply(t, RPL_ISUPPORT, l->buf);
		l->len = 0;
		l->buf[0] = '\0';
		*ntok = 0;
		(void)query_list_add(l, "", tok);
	}
	(*ntok)++;
}

/*
 * The 005 tokens, in order.  They come from constants and settings
 * fixed at start (the network name, whether there is history), so they
 * are made once, by the first thread that needs them.
 */
#define ISUPPORT_MAX	40
#define ISUPPORT_TOKEN	128
static pthread_once_t	 isupport_once = PTHREAD_ONCE_INIT;
static char		 isupport_tok[ISUPPORT_MAX][ISUPPORT_TOKEN];
static int		 isupport_n;

static void
isupport_fmt(const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (isupport_n == ISUPPORT_MAX) {
		log_warnx("isupport: too many tokens");
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(isupport_tok[isupport_n], ISUPPORT_TOKEN, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= ISUPPORT_TOKEN)
		log_warnx("isupport: token too long");
	else
		isupport_n++;
}

static void
isupport_make(void)
{
	isupport_fmt("AWAYLEN=%d", AWAY_MAX);
	isupport_fmt("BOT=B");
	isupport_fmt("CASEMAPPING=rfc1459");
	isupport_fmt("CHANLIMIT=#:%d", ROOMS_PER_CLIENT);
	isupport_fmt("CHANMODES=%s", room_modes_chanmodes());
	isupport_fmt("CHANNELLEN=%d", ROOM_NAME_MAX);
	isupport_fmt("CHANTYPES=#");
	if (history_enabled())
		isupport_fmt("CHATHISTORY=%d", CHATHISTORY_MAX);
	isupport_fmt("ELIST=CMNTU");
	isupport_fmt("EXCEPTS=e");
	isupport_fmt("HOSTLEN=%d", HOST_MAX);
	isupport_fmt("INVEX=I");
	isupport_fmt("KICKLEN=%d", KICK_MAX);
	/* Each list has its own limit (room.c, room_list_add_locked). */
	isupport_fmt("MAXLIST=b:%d,e:%d,I:%d", BAN_LIST_MAX, BAN_LIST_MAX,
	    BAN_LIST_MAX);
	isupport_fmt("MAXTARGETS=%d", MSG_TARGETS_MAX);
	isupport_fmt("MODES=%d", MODES_PER_LINE);
	isupport_fmt("MONITOR=%d", MONITOR_MAX);
	if (history_enabled())
		isupport_fmt("MSGREFTYPES=msgid,timestamp");
	if (config.network != NULL && config.network[0] != '\0')
		isupport_fmt("NETWORK=%s", config.network);
	isupport_fmt("NICKLEN=%d", NICK_MAX);
	isupport_fmt("PREFIX=%s", room_modes_prefix());
	isupport_fmt("SAFELIST");
	isupport_fmt("STATUSMSG=%s", room_modes_statusmsg());
	isupport_fmt("TARGMAX=JOIN:,KICK:%d,LIST:,NAMES:,NOTICE:%d,PART:,"
	    "PRIVMSG:%d,TAGMSG:%d,WHOIS:1", KICK_TARGETS_MAX, MSG_TARGETS_MAX,
	    MSG_TARGETS_MAX, MSG_TARGETS_MAX);
	isupport_fmt("TOPICLEN=%d", TOPIC_MAX);
	isupport_fmt("USERLEN=%d", USER_MAX);
	isupport_fmt("UTF8ONLY");
	isupport_fmt("WHOX");
}

void
send_isupport(struct turn *t)
{
	struct query_list	 l;
	int			 i, ntok = 0;

	pthread_once(&isupport_once, isupport_make);
	/* " :are supported by this server" follows the tokens. */
	query_list_init(&l, query_budget(t->c,
	    strlen(" :are supported by this server")));
	for (i = 0; i < isupport_n; i++)
		query_isupport_add(t, &l, &ntok, isupport_tok[i]);
	if (l.len > 0)
		reply(t, RPL_ISUPPORT, l.buf);
}

/* VERSION [<server>] */
void
cmd_version(struct turn *t, struct irc_msg *m)
{
	if (m->nparams > 0 && !query_target_ok(t, m->params[0]))
		return;
	reply(t, RPL_VERSION, NATTERD_VERSION, config.server_name,
	    "natter thread-per-client IRC server");
	send_isupport(t);
}

/* TIME [<server>] */
void
cmd_time(struct turn *t, struct irc_msg *m)
{
	char	now[64];

	if (m->nparams > 0 && !query_target_ok(t, m->params[0]))
		return;
	query_time_format(time(NULL), QUERY_TIME_LONG, now,
	    sizeof(now));
	reply(t, RPL_TIME, config.server_name, now);
}

/* ADMIN [<server>] */
void
cmd_admin(struct turn *t, struct irc_msg *m)
{
	char	line[128];

	if (m->nparams > 0 && !query_target_ok(t, m->params[0]))
		return;
	reply(t, RPL_ADMINME, config.server_name);
	/* server_name is 64 bytes, so these never cut; if they did the
	 * text would still be harmless. */
	(void)snprintf(line, sizeof(line), "natter server %s",
	    config.server_name);
	reply(t, RPL_ADMINLOC1, line);
	reply(t, RPL_ADMINLOC2, "Run by the local administrator");
	(void)snprintf(line, sizeof(line), "root@%s", config.server_name);
	reply(t, RPL_ADMINEMAIL, line);
}

/* INFO [<server>] */
void
cmd_info(struct turn *t, struct irc_msg *m)
{
	char	line[128], when[64];
	time_t	started;

	if (m->nparams > 0 && !query_target_ok(t, m->params[0]))
		return;
	pthread_rwlock_wrlock(&server.lock);
	started = server.started;
	pthread_rwlock_unlock(&server.lock);

	reply(t, RPL_INFO, NATTERD_VERSION);
	reply(t, RPL_INFO, "natter: chat rooms for the terminal");
	reply(t, RPL_INFO, "A thread-per-client IRC server "
	    "(RFC 1459, RFC 2812).");
	query_time_format(started, QUERY_TIME_SHORT, when,
	    sizeof(when));
	(void)snprintf(line, sizeof(line), "Started %s", when);
	reply(t, RPL_INFO, line);
	reply(t, RPL_ENDOFINFO);
}

/* --- AWAY --- */

/*
 * AWAY [<text>]: text sets the message (cut to AWAY_MAX bytes at a
 * character boundary), none or empty clears it.  Room mates with
 * away-notify hear of each set, change or clear (not of clearing an
 * away state that was not set).
 */
void
cmd_away(struct turn *t, struct irc_msg *m)
{
	struct client	*c = t->c;
	const char	*text;
	char		*msg = NULL, *old, mask[MASK_MAX + 1];
	char		 line[OUT_LINE_MAX];
	struct line	 l;
	struct post	*p;
	size_t		 len;

	text = m->nparams > 0 ? m->params[0] : "";
	if (text[0] != '\0') {
		len = strlen(text);
		len = utf8_cut(text, len, AWAY_MAX);
		if ((msg = malloc(len + 1)) == NULL) {
			log_warn("away");
			reply(t, ERR_UNKNOWNERROR, "AWAY", "Out of memory");
			return;
		}
		memcpy(msg, text, len);
		msg[len] = '\0';
	}
	client_mask(c, mask, sizeof(mask));
	if (msg != NULL)
		snprintf(line, sizeof(line), ":%s AWAY :%s", mask, msg);
	else
		snprintf(line, sizeof(line), ":%s AWAY", mask);
	memset(&l, 0, sizeof(l));
	l.text = line;
	l.src = c;

	pthread_rwlock_wrlock(&server.lock);
	old = c->away;
	c->away = msg;
	if (msg != NULL || old != NULL) {
		p = room_fanout_locked(t, NULL, &l, 0,
		    CAP(CAP_AWAY_NOTIFY), NULL);
		(void)monitor_fanout_locked(t, p, c, CAP(CAP_AWAY_NOTIFY));
	}
	pthread_rwlock_unlock(&server.lock);
	free(old);

	if (msg != NULL)
		reply(t, RPL_NOWAWAY);
	else
		reply(t, RPL_UNAWAY);
}
