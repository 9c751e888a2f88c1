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

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casemap.h"
#include "log.h"
#include "natterd.h"
#include "utf8.h"

#define ISUPPORT_PER_LINE	13	/* tokens per 005 line */
#define USERHOST_MAX		5	/* nicks answered per USERHOST */

/* query_time_format() styles */
#define QUERY_TIME_SHORT	0	/* "Thu Nov 26 02:20:00 2026 UTC" */
#define QUERY_TIME_LONG		1	/* RPL_TIME's, spelled out */

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
		    const char *, const struct member *);
static void	 query_whois_locked(struct turn *, struct client *);
static void	 query_list_room_locked(struct turn *, struct room *);
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
	size_t	need;
	int	n;

	need = (l->len > 0) + strlen(pfx) + strlen(word);
	if (l->len > 0 && l->len + need > l->budget)
		return -1;
	n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%s%s%s",
	    l->len > 0 ? " " : "", pfx, word);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(l->buf) - l->len)
		l->len = sizeof(l->buf) - 1;	/* cut; only when alone */
	else
		l->len += (size_t)n;
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
	int		 started;
	int		 n;
	int		 next;
	int		 cap;
	struct member	*who;		/* WHO: references, and status */
	char		**names;	/* LIST */
	char		 room[ROOM_NAME_MAX + 1];	/* WHO #room */
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

static int
listing_step(struct gen *g, struct conn *c, struct outlist *out)
{
	struct listing *ls = (struct listing *)g;
	char chunk[4096];
	struct turn t;
	struct room *r;
	const char *name;
	int k, done;

	/* A turn of its own, for the reply functions; it never posts. */
	turn_begin(&t, c, chunk, sizeof(chunk));
	pthread_mutex_lock(&server.lock);
	if (!ls->started) {
		ls->started = 1;
		if (ls->kind == LS_WHO)
			listing_who_start_locked(&t, ls);
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
				    &ls->who[ls->next] : NULL);
			ls->next++;
		}
		break;
	case LS_LIST:
		for (k = 0; ls->next < ls->n && k < LISTING_STEP; k++) {
			if ((r = room_find_locked(ls->names[ls->next])) !=
			    NULL && query_room_shown_locked(t.c, r))
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
	pthread_mutex_unlock(&server.lock);
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

/* Queues a listing of kind for arg (copied); shown names it in 315. */
static void
listing_start(struct turn *t, int kind, const char *arg, const char *shown,
    int opers)
{
	struct listing *ls;

	if ((ls = calloc(1, sizeof(*ls))) == NULL) {
		log_warn("listing");
		reply(t, ERR_UNKNOWNERROR, kind == LS_LIST ? "LIST" :
		    kind == LS_WHO ? "WHO" : "NAMES", "Out of memory");
		return;
	}
	ls->g.step = listing_step;
	ls->g.free = listing_free;
	ls->kind = kind;
	ls->opers = opers;
	snprintf(ls->arg, sizeof(ls->arg), "%s", arg);
	snprintf(ls->shown, sizeof(ls->shown), "%s", shown);
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
		listing_start(t, LS_NAMES, m->params[0], "", 0);
		return;
	}
	pthread_mutex_lock(&server.lock);
	if ((r = room_find_locked(m->params[0])) != NULL)
		send_names_locked(t, r);
	else
		reply(t, RPL_ENDOFNAMES, m->params[0]);
	pthread_mutex_unlock(&server.lock);
}

/* --- WHO --- */

/*
 * One 352 line about u; room is "*" outside a room, m u's membership
 * there or NULL.  With multi-prefix the flags carry every prefix.
 */
static void
query_who_reply_locked(struct turn *t, struct client *u, const char *room,
    const struct member *m)
{
	char	flags[5];	/* H or G, *, up to two prefixes */
	size_t	n = 0;

	flags[n++] = u->away != NULL ? 'G' : 'H';
	if (u->flags & CLIENT_OPER)
		flags[n++] = '*';
	flags[n] = '\0';
	if (m != NULL && (t->conn->caps & CAP(CAP_MULTI_PREFIX)))
		member_prefixes(m, flags + n);
	else if (m != NULL && member_prefix(m) != 0) {
		flags[n++] = (char)member_prefix(m);
		flags[n] = '\0';
	}
	reply(t, RPL_WHOREPLY, room, u->user, u->host, config.server_name,
	    u->nick, flags, u->realname);
}

/* WHO [<mask> [o]] */
void
cmd_who(struct turn *t, struct irc_msg *m)
{
	const char	*mask = "*", *given = "*";
	struct client	*u = NULL;
	size_t		 flen;
	int		 opers = 0;

	if (m->nparams > 0 && m->params[0][0] != '\0') {
		mask = given = m->params[0];
		/* RFC 2812: "0" is the same as "*". */
		if (strcmp(mask, "0") == 0)
			mask = "*";
	}
	/* Only the flags before any WHOX '%' field list, which natterd
	 * does not implement. */
	if (m->nparams > 1) {
		flen = strcspn(m->params[1], "%");
		opers = memchr(m->params[1], 'o', flen) != NULL;
	}

	/*
	 * A mask that is exactly a nick: that user, even +i, as WHOIS
	 * would, the way solanum and ergo answer "WHO nick".  RFC 2812:
	 * any other mask shows +i users only to those sharing a room with
	 * them; that and a room are listings.
	 */
	pthread_mutex_lock(&server.lock);
	if (mask[0] != '#' && strpbrk(mask, "*?") == NULL &&
	    strlen(mask) <= NICK_MAX && (u = client_find_locked(mask)) != NULL &&
	    (u->flags & CLIENT_REGISTERED)) {
		if (!opers || (u->flags & CLIENT_OPER))
			query_who_reply_locked(t, u, "*", NULL);
		reply(t, RPL_ENDOFWHO, given);
	} else
		u = NULL;
	pthread_mutex_unlock(&server.lock);
	if (u == NULL)
		listing_start(t, LS_WHO, mask, given, opers);
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
	pthread_mutex_lock(&server.lock);
	u = n <= NICK_MAX ? client_find_locked(nick) : NULL;
	if (u != NULL && (u->flags & CLIENT_REGISTERED))
		query_whois_locked(t, u);
	else
		reply(t, ERR_NOSUCHNICK, nick);
	reply(t, RPL_ENDOFWHOIS, nick);
	pthread_mutex_unlock(&server.lock);
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

	pthread_mutex_lock(&server.lock);
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
	pthread_mutex_unlock(&server.lock);
}

/* --- LIST --- */

static void
query_list_room_locked(struct turn *t, struct room *r)
{
	reply(t, RPL_LIST, room_name(r), query_visible_count_locked(t->c, r),
	    room_topic(r) != NULL ? room_topic(r) : "");
}

/*
 * LIST [<room>{,<room>} [<server>]].  Every room is public, so all are
 * listed.  A first parameter that is not a room (an ELIST condition
 * such as ">3", which natterd does not advertise) lists everything.
 */
void
cmd_list(struct turn *t, struct irc_msg *m)
{
	char			 list[IRC_LINE_MAX], *p, *name;
	struct room		*r;

	if (m->nparams > 1 && !query_target_ok(t, m->params[1]))
		return;
	reply(t, RPL_LISTSTART);
	if (m->nparams == 0 || m->params[0][0] != '#') {
		listing_start(t, LS_LIST, "", "", 0);
		return;
	}
	if ((size_t)snprintf(list, sizeof(list), "%s", m->params[0]) >=
	    sizeof(list))
		list[sizeof(list) - 1] = '\0';
	pthread_mutex_lock(&server.lock);
	p = list;
	while ((name = strsep(&p, ",")) != NULL)
		if (name[0] != '\0' && (r = room_find_locked(name)) != NULL &&
		    query_room_shown_locked(t->c, r))
			query_list_room_locked(t, r);
	pthread_mutex_unlock(&server.lock);
	reply(t, RPL_LISTEND);
}

/* --- LUSERS, MOTD --- */

void
send_lusers_locked(struct turn *t)
{
	unsigned	visible, unknown;

	visible = server.nusers - server.ninvisible;
	reply(t, RPL_LUSERCLIENT, visible, server.ninvisible);
	if (server.nopers > 0)
		reply(t, RPL_LUSEROP, server.nopers);
	unknown = server.nclients > server.nusers ?
	    server.nclients - server.nusers : 0;
	if (unknown > 0)
		reply(t, RPL_LUSERUNKNOWN, unknown);
	reply(t, RPL_LUSERCHANNELS, (unsigned)map_count(server.rooms));
	reply(t, RPL_LUSERME, server.nusers);
	reply(t, RPL_LOCALUSERS, server.nusers, server.max_users,
	    server.nusers, server.max_users);
	reply(t, RPL_GLOBALUSERS, server.nusers, server.max_users,
	    server.nusers, server.max_users);
}

/* LUSERS [<mask> [<server>]]: one server, so the mask changes nothing. */
void
cmd_lusers(struct turn *t, struct irc_msg *m)
{
	if (m->nparams > 1 && !query_target_ok(t, m->params[1]))
		return;
	pthread_mutex_lock(&server.lock);
	send_lusers_locked(t);
	pthread_mutex_unlock(&server.lock);
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
	pthread_mutex_lock(&server.lock);
	send_motd_locked(t);
	pthread_mutex_unlock(&server.lock);
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
	pthread_mutex_lock(&server.lock);
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
	pthread_mutex_unlock(&server.lock);
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
	pthread_mutex_lock(&server.lock);
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
	pthread_mutex_unlock(&server.lock);
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

void
send_isupport(struct turn *t)
{
	struct query_list	 l;
	char			 tok[128];
	int			 ntok = 0;

	/* " :are supported by this server" follows the tokens. */
	query_list_init(&l, query_budget(t->c,
	    strlen(" :are supported by this server")));

#define ISUPPORT_FMT(...) do {						\
	if ((size_t)snprintf(tok, sizeof(tok), __VA_ARGS__) < sizeof(tok)) \
		query_isupport_add(t, &l, &ntok, tok);			\
	else								\
		log_warnx("isupport: token too long");			\
} while (0)

	ISUPPORT_FMT("AWAYLEN=%d", AWAY_MAX);
	query_isupport_add(t, &l, &ntok, "CASEMAPPING=rfc1459");
	ISUPPORT_FMT("CHANLIMIT=#:%d", ROOMS_PER_CLIENT);
	ISUPPORT_FMT("CHANMODES=%s", room_modes_chanmodes());
	ISUPPORT_FMT("CHANNELLEN=%d", ROOM_NAME_MAX);
	query_isupport_add(t, &l, &ntok, "CHANTYPES=#");
	if (history_enabled())
		ISUPPORT_FMT("CHATHISTORY=%d", CHATHISTORY_MAX);
	ISUPPORT_FMT("HOSTLEN=%d", HOST_MAX);
	ISUPPORT_FMT("KICKLEN=%d", KICK_MAX);
	ISUPPORT_FMT("MAXLIST=b:%d", BAN_LIST_MAX);
	ISUPPORT_FMT("MAXTARGETS=%d", MSG_TARGETS_MAX);
	ISUPPORT_FMT("MODES=%d", MODES_PER_LINE);
	ISUPPORT_FMT("MONITOR=%d", MONITOR_MAX);
	if (history_enabled())
		query_isupport_add(t, &l, &ntok,
		    "MSGREFTYPES=msgid,timestamp");
	if (config.network != NULL && config.network[0] != '\0')
		ISUPPORT_FMT("NETWORK=%s", config.network);
	ISUPPORT_FMT("NICKLEN=%d", NICK_MAX);
	ISUPPORT_FMT("PREFIX=%s", room_modes_prefix());
	query_isupport_add(t, &l, &ntok, "SAFELIST");
	ISUPPORT_FMT("TARGMAX=JOIN:,KICK:%d,LIST:,NAMES:,NOTICE:%d,PART:,"
	    "PRIVMSG:%d,WHOIS:1", KICK_TARGETS_MAX, MSG_TARGETS_MAX,
	    MSG_TARGETS_MAX);
	ISUPPORT_FMT("TOPICLEN=%d", TOPIC_MAX);
	ISUPPORT_FMT("USERLEN=%d", USER_MAX);
	query_isupport_add(t, &l, &ntok, "UTF8ONLY");

#undef ISUPPORT_FMT

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
	pthread_mutex_lock(&server.lock);
	started = server.started;
	pthread_mutex_unlock(&server.lock);

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

	pthread_mutex_lock(&server.lock);
	old = c->away;
	c->away = msg;
	if (msg != NULL || old != NULL) {
		p = room_fanout_locked(t, NULL, &l, 0,
		    CAP(CAP_AWAY_NOTIFY), NULL);
		(void)monitor_fanout_locked(t, p, c, CAP(CAP_AWAY_NOTIFY));
	}
	pthread_mutex_unlock(&server.lock);
	free(old);

	if (msg != NULL)
		reply(t, RPL_NOWAWAY);
	else
		reply(t, RPL_UNAWAY);
}
