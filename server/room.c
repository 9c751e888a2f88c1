/*
 * room.c: the room table, membership, modes (one table, below), the mask
 * lists (+b, +e, +I), invites, topics, STATUSMSG targets, and the one
 * fan-out every room broadcast goes through (room_fanout_locked).
 * struct room is defined here and nowhere else.
 *
 * Everything here runs under server.lock; a room lives while it has
 * members and is freed by room_remove_locked() when the last one leaves.
 * A room made again after that is a new room: its history starts at its
 * own creation (room_since), so nothing said in an earlier room of that
 * name, under another key or to other people, is replayed in it.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "natterd.h"

struct ban {
	char		*mask;
	char		*setter;
	time_t		 when;
};

/*
 * The mask lists, type A modes (issue 13 section 2, ban and invite
 * exceptions): +b keeps people out and silent, +e lets those it matches
 * past +b, +I lets those it matches past +i.  Each holds at most
 * BAN_LIST_MAX masks (MAXLIST), canonical nick!user@host.
 */
enum room_list { LIST_BAN, LIST_EXCEPT, LIST_INVEX, ROOM_LISTS };

struct masklist {
	struct ban	*v;
	int		 n;
};

/* Who may see a list: +e and +I only the room's operators, as in Ergo
 * (they tell who is let past the bans). */
static const int room_list_ops_only[ROOM_LISTS] = {
	[LIST_BAN] = 0, [LIST_EXCEPT] = 1, [LIST_INVEX] = 1
};

/* An operator's invite: lets one connection past +i, +b, +k and +l. */
struct invite {
	uint64_t	 client;	/* client id: a nick can change hands */
	time_t		 expires;
};

struct room {
	uint64_t	 id;		/* never reused (room_id) */
	char		 name[ROOM_NAME_MAX + 1];
	char		 key_folded[ROOM_NAME_MAX + 1];
	time_t		 created;
	int64_t		 since;		/* store seq at creation */
	char		*topic;		/* NULL if none */
	char		*topic_who;	/* nick!user@host of the setter */
	time_t		 topic_time;
	unsigned	 modes;
#define ROOM_INVITE	0x01	/* +i */
#define ROOM_MODERATED	0x02	/* +m */
#define ROOM_NOEXTERNAL	0x04	/* +n */
#define ROOM_TOPICLOCK	0x08	/* +t */
#define ROOM_REGONLY	0x10	/* +R: logged-in people only */
#define ROOM_SECRET	0x20	/* +s: outsiders see nothing of it */
	char		 key[KEY_MAX + 1];	/* +k, "" if unset */
	unsigned	 limit;			/* +l, 0 if unset */
	struct masklist	 lists[ROOM_LISTS];	/* +b +e +I, by enum room_list */
	struct invite	 invites[INVITES_MAX];
	int		 ninvites;
	struct member	*members;
	int		 nmembers;
	int		 memcap;
	/* draft/channel-rename */
	time_t		 renamed;	/* last RENAME, 0 if never */
	int64_t		 stored;	/* messages stored since created;
					   server.lock to write, or to read
					   with post_lock */
	/* A message to the room runs with server.lock held to read (many
	 * rooms' at once); this orders its store seq, its place in the
	 * outbox and its recipients against the room's other messages. */
	pthread_mutex_t	 post_lock;
};

/*
 * The room modes, in the order 004 lists them.  What ISUPPORT (CHANMODES,
 * PREFIX), 004, MODE's parser, its echo and 324 say all comes from here.
 *   list    type A: a list, parameter to add and remove (b e I); the
 *           bit is its enum room_list
 *   key     type B: parameter to set and to unset (k)
 *   limit   type C: parameter to set only (l)
 *   flag    type D: no parameter
 *   prefix  a member's status, parameter a nick (o, v)
 */
enum room_mode_kind { RM_LIST, RM_KEY, RM_LIMIT, RM_FLAG, RM_PREFIX };

#define ROOM_MODE_LIST(X)						\
	X('b', RM_LIST,		LIST_BAN,		0)		\
	X('e', RM_LIST,		LIST_EXCEPT,		0)		\
	X('i', RM_FLAG,		ROOM_INVITE,		0)		\
	X('k', RM_KEY,		0,			0)		\
	X('l', RM_LIMIT,	0,			0)		\
	X('m', RM_FLAG,		ROOM_MODERATED,		0)		\
	X('n', RM_FLAG,		ROOM_NOEXTERNAL,	0)		\
	X('o', RM_PREFIX,	MEMBER_OP,		'@')		\
	X('s', RM_FLAG,		ROOM_SECRET,		0)		\
	X('t', RM_FLAG,		ROOM_TOPICLOCK,		0)		\
	X('v', RM_PREFIX,	MEMBER_VOICE,		'+')		\
	X('I', RM_LIST,		LIST_INVEX,		0)		\
	X('R', RM_FLAG,		ROOM_REGONLY,		0)

struct room_mode {
	char			 letter;
	enum room_mode_kind	 kind;
	unsigned		 bit;
	char			 prefix;
};

#define ROOM_MODE_ENTRY(l, k, b, p)	{ l, k, b, p },
static const struct room_mode room_modes[] = {
	ROOM_MODE_LIST(ROOM_MODE_ENTRY)
};
#undef ROOM_MODE_ENTRY
#define ROOM_NMODES	(int)(sizeof(room_modes) / sizeof(room_modes[0]))

/* The strings derived from the table, made once. */
static struct {
	pthread_once_t	 once;
	/* Sized for the worst case of every group full, so that the
	 * compiler can prove the snprintf below never truncates. */
	char		 chanmodes[4 * (ROOM_NMODES + 1)];
	char		 prefix[2 * (ROOM_NMODES + 1) + 2];
	char		 statusmsg[ROOM_NMODES + 1];
	char		 all[ROOM_NMODES + 1];
	char		 with_param[ROOM_NMODES + 1];
} room_words = { .once = PTHREAD_ONCE_INIT };

/*
 * Changes one MODE command can apply besides the flags: at most
 * MODES_PER_LINE take a parameter, and each -k or -l without one must
 * follow a +k or +l (one of those) or undo the state the room had.
 */
#define MODE_CHANGES_MAX	(3 * MODES_PER_LINE + 4)

struct mode_change {
	char	 sign;		/* '+' or '-' */
	char	 letter;
	int	 arg;		/* offset into mode_out.args, or -1 */
};

/* The effective changes of one MODE command, in the order applied. */
struct mode_out {
	struct mode_change	 ch[MODE_CHANGES_MAX];
	int			 n;
	char			 args[IRC_LINE_MAX];
	size_t			 argslen;
};

static void	 room_words_make(void);
static const struct room_mode *room_mode_find(int);
static void	 room_free_locked(struct room *);
static int	 room_grow(void **, int *, int, size_t);
static int	 room_list_match(struct room *, int, const char *);
static int	 room_banned_locked(struct room *, const char *);
static int	 room_invited_locked(struct room *, struct client *, int);
static void	 room_modes_string(struct room *, char *, size_t, int);
static int	 room_append(char *, size_t, size_t *, const char *);
static int	 mode_is_list(struct irc_msg *);
static void	 mode_list_locked(struct turn *, struct room *, int);
static int	 mode_out_add(struct mode_out *, int, int, const char *);
static void	 mode_out_format(const struct mode_out *, unsigned, unsigned,
		    char *, size_t);
static int	 mode_key_valid(const char *);
static int	 mode_mask_valid(const char *);
static int	 mode_limit_parse(const char *, unsigned *);
static void	 mode_param_error(struct turn *, struct room *,
		    const struct room_mode *, const char *);
static int	 room_list_add_locked(struct room *, int, const char *,
		    const char *);
static int	 room_list_del_locked(struct room *, int, const char *);

/* --- the mode table's words --- */

static void
room_words_make(void)
{
	char a[ROOM_NMODES + 1] = "", b[ROOM_NMODES + 1] = "";
	char cc[ROOM_NMODES + 1] = "", d[ROOM_NMODES + 1] = "";
	char letters[ROOM_NMODES + 1] = "", prefixes[ROOM_NMODES + 1] = "";
	size_t na = 0, nb = 0, nc = 0, nd = 0, np = 0, nall = 0, nparam = 0;
	const struct room_mode *m;
	int i;

	for (i = 0; i < ROOM_NMODES; i++) {
		m = &room_modes[i];
		room_words.all[nall++] = m->letter;
		if (m->kind != RM_FLAG)
			room_words.with_param[nparam++] = m->letter;
		switch (m->kind) {
		case RM_LIST:
			a[na++] = m->letter;
			break;
		case RM_KEY:
			b[nb++] = m->letter;
			break;
		case RM_LIMIT:
			cc[nc++] = m->letter;
			break;
		case RM_FLAG:
			d[nd++] = m->letter;
			break;
		case RM_PREFIX:
			letters[np] = m->letter;
			prefixes[np++] = m->prefix;
			break;
		}
	}
	snprintf(room_words.chanmodes, sizeof(room_words.chanmodes),
	    "%s,%s,%s,%s", a, b, cc, d);
	snprintf(room_words.prefix, sizeof(room_words.prefix), "(%s)%s",
	    letters, prefixes);
	memcpy(room_words.statusmsg, prefixes, sizeof(prefixes));
}

const char *
room_modes_chanmodes(void)
{
	pthread_once(&room_words.once, room_words_make);
	return room_words.chanmodes;
}

const char *
room_modes_prefix(void)
{
	pthread_once(&room_words.once, room_words_make);
	return room_words.prefix;
}

const char *
room_modes_statusmsg(void)
{
	pthread_once(&room_words.once, room_words_make);
	return room_words.statusmsg;
}

const char *
room_modes_all(void)
{
	pthread_once(&room_words.once, room_words_make);
	return room_words.all;
}

const char *
room_modes_with_param(void)
{
	pthread_once(&room_words.once, room_words_make);
	return room_words.with_param;
}

static const struct room_mode *
room_mode_find(int letter)
{
	int i;

	for (i = 0; i < ROOM_NMODES; i++)
		if (room_modes[i].letter == letter)
			return &room_modes[i];
	return NULL;
}

const char *
room_status_target(const char *target, unsigned *fan, char *status)
{
	const char *p;
	unsigned need = 0;
	int i, lowest = -1;

	for (p = target; *p != '\0'; p++) {
		for (i = 0; i < ROOM_NMODES; i++)
			if (room_modes[i].kind == RM_PREFIX &&
			    room_modes[i].prefix == *p)
				break;
		if (i == ROOM_NMODES)
			break;
		/* The table lists the higher status first. */
		if (i > lowest)
			lowest = i;
	}
	*status = '\0';
	if (lowest >= 0) {
		for (i = 0; i <= lowest; i++)
			if (room_modes[i].kind == RM_PREFIX)
				need |= room_modes[i].bit;
		*status = room_modes[lowest].prefix;
	}
	*fan = FAN_STATUS(need);
	return p;
}

/* --- the table of rooms --- */

struct room *
room_find_locked(const char *name)
{
	char key[ROOM_NAME_MAX + 1];

	if (casemap_fold(key, name, sizeof(key)) >= sizeof(key))
		return NULL;
	return map_get(server.rooms, key);
}

struct room *
room_create_locked(const char *name)
{
	static uint64_t last_id;	/* server.lock */
	struct room *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->id = ++last_id;
	snprintf(r->name, sizeof(r->name), "%s", name);
	casemap_fold(r->key_folded, name, sizeof(r->key_folded));
	r->created = time(NULL);
	r->since = store_last_seq();
	r->modes = ROOM_NOEXTERNAL | ROOM_TOPICLOCK;
	if (map_put(server.rooms, r->key_folded, r) == -1) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->post_lock, NULL);
	return r;
}

static void
room_free_locked(struct room *r)
{
	int i, k;

	map_del(server.rooms, r->key_folded);
	for (k = 0; k < ROOM_LISTS; k++) {
		for (i = 0; i < r->lists[k].n; i++) {
			free(r->lists[k].v[i].mask);
			free(r->lists[k].v[i].setter);
		}
		free(r->lists[k].v);
	}
	free(r->members);
	free(r->topic);
	free(r->topic_who);
	pthread_mutex_destroy(&r->post_lock);
	free(r);
}

void
room_post_lock(struct room *r)
{
	pthread_mutex_lock(&r->post_lock);
}

void
room_post_unlock(struct room *r)
{
	pthread_mutex_unlock(&r->post_lock);
}

/*
 * draft/channel-rename: r takes name.  Its key changes in the table,
 * its history and read markers are queued to move in the store in the
 * order of rows (store_rename), all in this one critical section, so a
 * name is never half-held and no message falls between.  Returns the
 * store seq of the move, or -1 with r unchanged: renamed less than
 * RENAME_INTERVAL seconds ago (EBUSY), more history than --rename-max
 * (EFBIG), the store cannot take it now (EAGAIN), or ENOMEM.
 */
int64_t
room_rename_locked(struct room *r, const char *name)
{
	char key[ROOM_NAME_MAX + 1], old[ROOM_NAME_MAX + 1];
	time_t now = time(NULL);
	int64_t seq;
	int moved;

	if (r->renamed != 0 && now - r->renamed < RENAME_INTERVAL) {
		errno = EBUSY;
		return -1;
	}
	/* Its rows in the store, at most: the move rewrites each, in the
	 * writer that every message waits for. */
	if (history_enabled() && (config.history_max == 0 ||
	    config.history_max > config.rename_max) &&
	    r->stored > config.rename_max) {
		errno = EFBIG;
		return -1;
	}
	casemap_fold(key, name, sizeof(key));
	snprintf(old, sizeof(old), "%s", r->key_folded);
	/* For a moment both keys lead to r: undone without allocating. */
	moved = strcmp(key, old) != 0;
	if (moved && map_put(server.rooms, key, r) == -1) {
		errno = ENOMEM;
		return -1;
	}
	if ((seq = store_rename(old, key, name, r->since)) == -1) {
		if (moved)
			map_del(server.rooms, key);
		errno = errno == ENOMEM ? ENOMEM : EAGAIN;
		return -1;
	}
	if (moved) {
		map_del(server.rooms, old);
		marker_rename(old, key);
		history_renamed(old, key, r->since, seq);
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->key_folded, sizeof(r->key_folded), "%s", key);
	r->renamed = now;
	return seq;
}

void
room_stored_locked(struct room *r)
{
	r->stored++;
}

uint64_t
room_id(const struct room *r)
{
	return r->id;
}

const char *
room_name(const struct room *r)
{
	return r->name;
}

const char *
room_key(const struct room *r)
{
	return r->key_folded;
}

int64_t
room_since(const struct room *r)
{
	return r->since;
}

int
room_count(const struct room *r)
{
	return r->nmembers;
}

const struct member *
room_member_at(const struct room *r, int i)
{
	return i >= 0 && i < r->nmembers ? &r->members[i] : NULL;
}

const char *
room_topic(const struct room *r)
{
	return r->topic;
}

/* ELIST C and T (LIST's filters, command_query.c). */
time_t
room_created(const struct room *r)
{
	return r->created;
}

time_t
room_topic_time(const struct room *r)
{
	return r->topic != NULL ? r->topic_time : 0;
}

int
room_invite_only(const struct room *r)
{
	return (r->modes & ROOM_INVITE) != 0;
}

int
room_secret(const struct room *r)
{
	return (r->modes & ROOM_SECRET) != 0;
}

struct member *
room_member_locked(struct room *r, struct client *c)
{
	int i;

	for (i = 0; i < r->nmembers; i++)
		if (r->members[i].c == c)
			return &r->members[i];
	return NULL;
}

static int
room_grow(void **arr, int *cap, int need, size_t size)
{
	void *n;
	int ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap == 0 ? 4 : *cap * 2;
	while (ncap < need)
		ncap *= 2;
	if ((n = realloc(*arr, (size_t)ncap * size)) == NULL)
		return -1;
	*arr = n;
	*cap = ncap;
	return 0;
}

int
room_add_locked(struct room *r, struct client *c, unsigned modes)
{
	void *members = r->members, *rooms = c->rooms;
	int ok;

	ok = room_grow(&members, &r->memcap, r->nmembers + 1,
	    sizeof(*r->members)) == 0;
	r->members = members;
	if (ok) {
		ok = room_grow(&rooms, &c->roomcap, c->nrooms + 1,
		    sizeof(*c->rooms)) == 0;
		c->rooms = rooms;
	}
	if (!ok)
		return -1;
	r->members[r->nmembers].c = c;
	r->members[r->nmembers].modes = modes;
	r->nmembers++;
	c->rooms[c->nrooms++] = r;
	/* Joined: the invite is used up. */
	(void)room_invited_locked(r, c, 1);
	return 0;
}

int
room_remove_locked(struct room *r, struct client *c)
{
	int i;

	for (i = 0; i < r->nmembers; i++) {
		if (r->members[i].c == c) {
			r->members[i] = r->members[--r->nmembers];
			break;
		}
	}
	for (i = 0; i < c->nrooms; i++) {
		if (c->rooms[i] == r) {
			c->rooms[i] = c->rooms[--c->nrooms];
			break;
		}
	}
	if (r->nmembers == 0) {
		room_free_locked(r);
		return 1;
	}
	return 0;
}

/* --- who may come in, who may speak --- */

/* 1 if a mask on list k matches mask (a client's nick!user@host). */
static int
room_list_match(struct room *r, int k, const char *mask)
{
	int i;

	for (i = 0; i < r->lists[k].n; i++)
		if (casemap_match(r->lists[k].v[i].mask, mask))
			return 1;
	return 0;
}

/* Banned: a +b matches and no +e does. */
static int
room_banned_locked(struct room *r, const char *mask)
{
	return room_list_match(r, LIST_BAN, mask) &&
	    !room_list_match(r, LIST_EXCEPT, mask);
}

/*
 * 1 if an operator invited c (the connection, not its nick) and the
 * invite has not expired; use removes it.  Expired invites go first.
 */
static int
room_invited_locked(struct room *r, struct client *c, int use)
{
	time_t now = time(NULL);
	int i, j, found = 0;

	for (i = j = 0; i < r->ninvites; i++) {
		if (r->invites[i].expires <= now)
			continue;
		if (r->invites[i].client == c->id) {
			found = 1;
			if (use)
				continue;
		}
		r->invites[j++] = r->invites[i];
	}
	r->ninvites = j;
	return found;
}

void
room_invite_locked(struct room *r, struct client *c)
{
	(void)room_invited_locked(r, c, 1);	/* drops it and expired ones */
	if (r->ninvites == INVITES_MAX) {
		/* Full: the oldest invite gives way. */
		memmove(&r->invites[0], &r->invites[1],
		    (size_t)(INVITES_MAX - 1) * sizeof(r->invites[0]));
		r->ninvites--;
	}
	r->invites[r->ninvites].client = c->id;
	r->invites[r->ninvites].expires = time(NULL) + config.invite_ttl;
	r->ninvites++;
}

int
room_join_check_locked(struct turn *t, struct room *r, const char *key)
{
	struct client *c = t->c;
	char mask[MASK_MAX + 1];
	int invited = room_invited_locked(r, c, 0);

	if (invited)
		return 0;
	client_mask(c, mask, sizeof(mask));
	if (room_banned_locked(r, mask)) {
		reply(t, ERR_BANNEDFROMCHAN, r->name);
		return -1;
	}
	/* +I lets in whom it matches, as an invite would, past +i only. */
	if ((r->modes & ROOM_INVITE) &&
	    !room_list_match(r, LIST_INVEX, mask)) {
		reply(t, ERR_INVITEONLYCHAN, r->name);
		return -1;
	}
	if (r->key[0] != '\0' && (key == NULL || strcmp(key, r->key) != 0)) {
		reply(t, ERR_BADCHANNELKEY, r->name);
		return -1;
	}
	/* An invite lets a logged-out person past +R, as past +i. */
	if ((r->modes & ROOM_REGONLY) && c->account == NULL) {
		reply(t, ERR_NEEDREGGEDNICK, r->name);
		return -1;
	}
	if (r->limit > 0 && (unsigned)r->nmembers >= r->limit) {
		reply(t, ERR_CHANNELISFULL, r->name);
		return -1;
	}
	return 0;
}

int
room_can_send_locked(struct room *r, struct client *c)
{
	struct member *mb = room_member_locked(r, c);
	char mask[MASK_MAX + 1];

	if (mb == NULL && (r->modes & ROOM_NOEXTERNAL))
		return -1;
	if (mb != NULL && (mb->modes & (MEMBER_OP | MEMBER_VOICE)))
		return 0;
	if (r->modes & ROOM_MODERATED)
		return -1;
	if (r->lists[LIST_BAN].n > 0) {
		client_mask(c, mask, sizeof(mask));
		if (room_banned_locked(r, mask))
			return -1;
	}
	return 0;
}

/* --- topic --- */

void
room_send_topic_locked(struct turn *t, struct room *r, int ask)
{
	if (r->topic == NULL) {
		if (ask)
			reply(t, RPL_NOTOPIC, r->name);
		return;
	}
	reply(t, RPL_TOPIC, r->name, r->topic);
	reply(t, RPL_TOPICWHOTIME, r->name,
	    r->topic_who != NULL ? r->topic_who : "*",
	    (long long)r->topic_time);
}

int
room_topic_set_locked(struct turn *t, struct room *r, char **text,
    char **who)
{
	struct member *me;
	char *oldtext, *oldwho;

	if ((me = room_member_locked(r, t->c)) == NULL) {
		reply(t, ERR_NOTONCHANNEL, r->name);
		return -1;
	}
	if ((r->modes & ROOM_TOPICLOCK) && !(me->modes & MEMBER_OP)) {
		reply(t, ERR_CHANOPRIVSNEEDED, r->name);
		return -1;
	}
	oldtext = r->topic;
	oldwho = r->topic_who;
	r->topic = *text;
	r->topic_who = *who;
	r->topic_time = time(NULL);
	/* The caller frees the old ones after the unlock. */
	*text = oldtext;
	*who = oldwho;
	return 0;
}

/* --- the one fan-out --- */

/*
 * The actor's own connection gets its copy in order (FAN_SELF), as its
 * echo; the person's other connections (other devices of one account)
 * get theirs as recipients, as they would an echo.
 */
struct post *
room_fanout_locked(struct turn *t, struct room *r, const struct line *l,
    unsigned flags, unsigned caps, struct client *except)
{
	struct client *self = t->c, *m;
	struct member *mb;
	struct post *p;
	int i;

	p = post_new_for_locked(t, l, r != NULL ? r->nmembers : 0);
	if (r != NULL) {
		for (i = 0; i < r->nmembers; i++) {
			mb = &r->members[i];
			m = mb->c;
			/* A STATUSMSG reaches the sender's other devices
			 * (as an echo) whatever its status. */
			if (m == except ||
			    ((flags & FAN_OPS) && !(mb->modes & MEMBER_OP)) ||
			    (FAN_STATUS_OF(flags) != 0 && m != self &&
			    !(mb->modes & FAN_STATUS_OF(flags))))
				continue;
			post_add_locked(p, m, caps);
		}
	} else
		(void)post_add_shared_locked(t, p, self, caps, except);
	if ((flags & FAN_SELF) && (t->conn->caps & caps) == caps)
		turn_echo_locked(t, p, 1);
	return p;
}

int
post_add_shared_locked(struct turn *t, struct post *p, struct client *who,
    unsigned caps, struct client *except)
{
	struct client *m;
	struct room *r;
	unsigned long gen;
	int i, j, n = 0;

	/* Everyone who shares a room with who, once. */
	gen = ++server.gen;
	who->mark = gen;
	for (i = 0; i < who->nrooms; i++)
		n += who->rooms[i]->nmembers;
	post_reserve_locked(p, n);
	if (who != except)
		post_add_locked(p, who, caps);
	for (i = 0; i < who->nrooms; i++) {
		r = who->rooms[i];
		for (j = 0; j < r->nmembers; j++) {
			m = r->members[j].c;
			if (m->mark == gen)
				continue;
			m->mark = gen;
			if (m != except)
				post_add_locked(p, m, caps);
		}
	}
	return t->c != who && t->c != except && t->c->mark == gen;
}

/* --- MODE #room --- */

/* Appends s at *off in buf; returns -1 (buf unchanged) if it won't fit. */
static int
room_append(char *buf, size_t len, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (*off >= len || n >= len - *off)
		return -1;
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return 0;
}

/* "+nt", "+ntk key", "+ntkl key 10" for 324; with_key 0 hides the key. */
static void
room_modes_string(struct room *r, char *buf, size_t len, int with_key)
{
	char flags[ROOM_NMODES + 2], *p = flags;
	const struct room_mode *m;
	int i;

	*p++ = '+';
	for (i = 0; i < ROOM_NMODES; i++) {
		m = &room_modes[i];
		if ((m->kind == RM_FLAG && (r->modes & m->bit)) ||
		    (m->kind == RM_KEY && r->key[0] != '\0') ||
		    (m->kind == RM_LIMIT && r->limit > 0))
			*p++ = m->letter;
	}
	*p = '\0';
	if (r->key[0] != '\0' && r->limit > 0)
		snprintf(buf, len, "%s %s %u", flags,
		    with_key ? r->key : "*", r->limit);
	else if (r->key[0] != '\0')
		snprintf(buf, len, "%s %s", flags, with_key ? r->key : "*");
	else if (r->limit > 0)
		snprintf(buf, len, "%s %u", flags, r->limit);
	else
		snprintf(buf, len, "%s", flags);
}

/*
 * 1 if the command only asks for lists ("MODE #r b", "+be"): anyone may
 * see +b, operators +e and +I; everything else needs a chanop.
 */
static int
mode_is_list(struct irc_msg *m)
{
	const struct room_mode *rm;
	const char *p;
	int list = 0;

	if (m->nparams != 2)
		return 0;
	for (p = m->params[1]; *p != '\0'; p++) {
		if (*p == '+' || *p == '-')
			continue;
		if ((rm = room_mode_find(*p)) == NULL || rm->kind != RM_LIST)
			return 0;
		list = 1;
	}
	return list;
}

/* 367/368, 348/349 or 346/347: list k, each mask with setter and time. */
static void
mode_list_locked(struct turn *t, struct room *r, int k)
{
	const struct masklist *l = &r->lists[k];
	int i;

	/* The numerics are format strings: reply() checks them. */
	for (i = 0; i < l->n; i++) {
		if (k == LIST_EXCEPT)
			reply(t, RPL_EXCEPTLIST, r->name, l->v[i].mask,
			    l->v[i].setter, (long long)l->v[i].when);
		else if (k == LIST_INVEX)
			reply(t, RPL_INVITELIST, r->name, l->v[i].mask,
			    l->v[i].setter, (long long)l->v[i].when);
		else
			reply(t, RPL_BANLIST, r->name, l->v[i].mask,
			    l->v[i].setter, (long long)l->v[i].when);
	}
	if (k == LIST_EXCEPT)
		reply(t, RPL_ENDOFEXCEPTLIST, r->name);
	else if (k == LIST_INVEX)
		reply(t, RPL_ENDOFINVITELIST, r->name);
	else
		reply(t, RPL_ENDOFBANLIST, r->name);
}

/* Records one applied change; arg is copied.  -1 if out of room. */
static int
mode_out_add(struct mode_out *o, int sign, int letter, const char *arg)
{
	size_t off = o->argslen;

	if (o->n >= MODE_CHANGES_MAX)
		return -1;
	if (arg != NULL) {
		if (room_append(o->args, sizeof(o->args), &off, arg) == -1)
			return -1;
		o->ch[o->n].arg = (int)o->argslen;
		o->argslen = off + 1;	/* keep the NUL */
	} else
		o->ch[o->n].arg = -1;
	o->ch[o->n].sign = (char)sign;
	o->ch[o->n].letter = (char)letter;
	o->n++;
	return 0;
}

/*
 * "+nt-i+ov alice bob": the flags that differ between old and new
 * first, in the table's order, then the other changes in order, a sign
 * only where it changes.
 */
static void
mode_out_format(const struct mode_out *o, unsigned old, unsigned new,
    char *buf, size_t len)
{
	char modes[2 * MODE_CHANGES_MAX + 2 * ROOM_NMODES + 2];
	size_t mi = 0, off = 0;
	int sign = 0, pass, want, i, k;

	for (pass = 0; pass < 2; pass++) {
		want = pass == 0 ? '+' : '-';
		for (i = 0; i < ROOM_NMODES; i++) {
			if (room_modes[i].kind != RM_FLAG ||
			    ((pass == 0 ? new & ~old : old & ~new) &
			    room_modes[i].bit) == 0)
				continue;
			if (sign != want)
				modes[mi++] = (char)(sign = want);
			modes[mi++] = room_modes[i].letter;
		}
	}
	for (k = 0; k < o->n; k++) {
		if (sign != o->ch[k].sign)
			modes[mi++] = (char)(sign = o->ch[k].sign);
		modes[mi++] = o->ch[k].letter;
	}
	modes[mi] = '\0';

	buf[0] = '\0';
	if (room_append(buf, len, &off, modes) == -1)
		return;
	for (k = 0; k < o->n; k++) {
		if (o->ch[k].arg == -1)
			continue;
		if (room_append(buf, len, &off, " ") == -1 ||
		    room_append(buf, len, &off, o->args + o->ch[k].arg) == -1)
			return;
	}
}

/*
 * A key goes on the wire as a middle parameter of JOIN and MODE, so it
 * may not hold a space or comma, start with ':', or be empty.
 */
static int
mode_key_valid(const char *key)
{
	const unsigned char *p;
	size_t n = strlen(key);

	if (n == 0 || n > KEY_MAX || key[0] == ':')
		return 0;
	for (p = (const unsigned char *)key; *p != '\0'; p++)
		if (*p <= ' ' || *p == ',' || *p == 0x7f)
			return 0;
	return 1;
}

/* A list mask: one word that cannot read as the trailing parameter. */
static int
mode_mask_valid(const char *mask)
{
	const unsigned char *p;

	if (mask[0] == '\0' || mask[0] == ':')
		return 0;
	for (p = (const unsigned char *)mask; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* A positive decimal that fits in unsigned; strtoul alone takes "-1". */
static int
mode_limit_parse(const char *s, unsigned *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT_MAX)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* On list k: 0 added, 1 already there, -1 list full (BAN_LIST_MAX). */
static int
room_list_add_locked(struct room *r, int k, const char *mask,
    const char *setter)
{
	struct masklist *l = &r->lists[k];
	void *v = l->v;
	int i, cap = l->n;

	for (i = 0; i < l->n; i++)
		if (casemap_cmp(l->v[i].mask, mask) == 0)
			return 1;
	if (l->n >= BAN_LIST_MAX)
		return -1;
	if (room_grow(&v, &cap, l->n + 1, sizeof(*l->v)) == -1)
		return -1;
	l->v = v;
	l->v[l->n].mask = strdup(mask);
	l->v[l->n].setter = strdup(setter);
	if (l->v[l->n].mask == NULL || l->v[l->n].setter == NULL) {
		free(l->v[l->n].mask);
		free(l->v[l->n].setter);
		return -1;
	}
	l->v[l->n].when = time(NULL);
	l->n++;
	return 0;
}

/* From list k: 0 removed, 1 not there. */
static int
room_list_del_locked(struct room *r, int k, const char *mask)
{
	struct masklist *l = &r->lists[k];
	int i;

	for (i = 0; i < l->n; i++) {
		if (casemap_cmp(l->v[i].mask, mask) == 0) {
			free(l->v[i].mask);
			free(l->v[i].setter);
			memmove(&l->v[i], &l->v[i + 1],
			    (size_t)(l->n - i - 1) * sizeof(*l->v));
			if (--l->n == 0) {
				free(l->v);
				l->v = NULL;
			}
			return 0;
		}
	}
	return 1;
}

/*
 * 696 <room> <letter> <value> :<why> (Modern IRC ERR_INVALIDMODEPARAM),
 * the one answer to a mode parameter that is missing (arg NULL) or not
 * valid.  The value is echoed as a middle parameter, so "*" stands for
 * one that is missing or could not be one (empty, ':' first, a space).
 */
static void
mode_param_error(struct turn *t, struct room *r, const struct room_mode *rm,
    const char *arg)
{
	const char *why;

	switch (rm->kind) {
	case RM_LIMIT:
		why = arg == NULL ? "You must specify a limit" :
		    "Invalid limit";
		break;
	case RM_KEY:
		why = arg == NULL ? "You must specify a key" :
		    "Key is not well-formed";
		break;
	case RM_PREFIX:
		why = "You must specify a nick";
		break;
	case RM_LIST:
		why = "Invalid mask";
		break;
	default:
		why = "Invalid parameter";
		break;
	}
	if (arg == NULL || arg[0] == '\0' || arg[0] == ':' ||
	    strchr(arg, ' ') != NULL)
		arg = "*";
	reply(t, ERR_INVALIDMODEPARAM, r->name, rm->letter, arg, why);
}

void
room_mode_locked(struct turn *t, struct room *r, struct irc_msg *m)
{
	struct client *c = t->c, *target;
	const struct room_mode *rm;
	struct mode_out out;
	struct member *me, *tm;
	struct line l;
	const char *p, *arg;
	char mask[MASK_MAX + 1], ban[MASK_MAX + 1];
	char num[16], modes[IRC_LINE_MAX + 64], text[OUT_LINE_MAX];
	unsigned old, limit;
	int adding = 1, argi = 2, nparam = 0, listed = 0, rc;
	unsigned char seen[32];		/* 472 once per letter */
	unsigned char missing[32];	/* 696 ... * once per letter */

	client_mask(c, mask, sizeof(mask));
	memset(&out, 0, sizeof(out));
	memset(seen, 0, sizeof(seen));
	memset(missing, 0, sizeof(missing));
	me = room_member_locked(r, c);
	if (m->nparams < 2) {
		/* The key is the members' secret. */
		room_modes_string(r, modes, sizeof(modes), me != NULL);
		reply(t, RPL_CHANNELMODEIS, r->name, modes);
		reply(t, RPL_CREATIONTIME, r->name, (long long)r->created);
		return;
	}
	if (mode_is_list(m)) {
		/* +s: outsiders see nothing of it, its masks and who set
		 * them least of all. */
		if (me == NULL && (r->modes & ROOM_SECRET)) {
			reply(t, ERR_NOTONCHANNEL, r->name);
			return;
		}
		for (p = m->params[1]; *p != '\0'; p++) {
			if ((rm = room_mode_find(*p)) == NULL ||
			    (listed & (1 << rm->bit)))
				continue;
			listed |= 1 << rm->bit;
			if (room_list_ops_only[rm->bit] &&
			    (me == NULL || !(me->modes & MEMBER_OP))) {
				/* 482 once, as Ergo answers. */
				if (!(listed & (1 << ROOM_LISTS)))
					reply(t, ERR_CHANOPRIVSNEEDED,
					    r->name);
				listed |= 1 << ROOM_LISTS;
			} else
				mode_list_locked(t, r, (int)rm->bit);
		}
		return;
	}
	if (me == NULL) {
		reply(t, ERR_NOTONCHANNEL, r->name);
		return;
	}
	if (!(me->modes & MEMBER_OP)) {
		reply(t, ERR_CHANOPRIVSNEEDED, r->name);
		return;
	}

	old = r->modes;
	for (p = m->params[1]; *p != '\0'; p++) {
		if (*p == '+' || *p == '-') {
			adding = *p == '+';
			continue;
		}
		if ((rm = room_mode_find(*p)) == NULL) {
			if (!(seen[(unsigned char)*p / 8] &
			    (1 << ((unsigned char)*p % 8))))
				reply(t, ERR_UNKNOWNMODE, *p);
			seen[(unsigned char)*p / 8] |=
			    1 << ((unsigned char)*p % 8);
			continue;
		}
		if (rm->kind == RM_FLAG) {
			if (adding)
				r->modes |= rm->bit;
			else
				r->modes &= ~rm->bit;
			continue;
		}

		/* Modes with a parameter.  -l never has one; -k may. */
		if (rm->kind == RM_LIMIT && !adding) {
			if (r->limit != 0) {
				r->limit = 0;
				(void)mode_out_add(&out, '-', rm->letter, NULL);
			}
			continue;
		}
		if (argi >= m->nparams) {
			if (rm->kind == RM_LIST) {
				if (!(listed & (1 << rm->bit)))
					mode_list_locked(t, r, (int)rm->bit);
				listed |= 1 << rm->bit;
			} else if (rm->kind == RM_KEY && !adding) {
				if (r->key[0] != '\0') {
					r->key[0] = '\0';
					(void)mode_out_add(&out, '-',
					    rm->letter, "*");
				}
			} else if (!(missing[(unsigned char)*p / 8] &
			    (1 << ((unsigned char)*p % 8)))) {
				missing[(unsigned char)*p / 8] |=
				    1 << ((unsigned char)*p % 8);
				mode_param_error(t, r, rm, NULL);
			}
			continue;
		}
		/* Extra parameter modes are ignored, not errors. */
		if (nparam >= MODES_PER_LINE)
			continue;
		nparam++;
		arg = m->params[argi++];

		switch (rm->kind) {
		case RM_PREFIX:
			target = client_find_locked(arg);
			if (target == NULL ||
			    !(target->flags & CLIENT_REGISTERED)) {
				reply(t, ERR_NOSUCHNICK, arg);
				break;
			}
			if ((tm = room_member_locked(r, target)) == NULL) {
				reply(t, ERR_USERNOTINCHANNEL, target->nick,
				    r->name);
				break;
			}
			if (adding == ((tm->modes & rm->bit) != 0))
				break;
			if (mode_out_add(&out, adding ? '+' : '-', rm->letter,
			    target->nick) == -1)
				break;
			if (adding)
				tm->modes |= rm->bit;
			else
				tm->modes &= ~rm->bit;
			break;
		case RM_KEY:
			if (!adding) {
				/* The key given is not checked: - wins. */
				if (r->key[0] != '\0') {
					r->key[0] = '\0';
					(void)mode_out_add(&out, '-',
					    rm->letter, "*");
				}
				break;
			}
			if (!mode_key_valid(arg)) {
				mode_param_error(t, r, rm, arg);
				break;
			}
			if (r->key[0] != '\0') {
				reply(t, ERR_KEYSET, r->name);
				break;
			}
			if (mode_out_add(&out, '+', rm->letter, arg) == -1)
				break;
			(void)snprintf(r->key, sizeof(r->key), "%s", arg);
			break;
		case RM_LIMIT:
			if (mode_limit_parse(arg, &limit) == -1) {
				mode_param_error(t, r, rm, arg);
				break;
			}
			if (limit == r->limit)
				break;
			(void)snprintf(num, sizeof(num), "%u", limit);
			if (mode_out_add(&out, '+', rm->letter, num) == -1)
				break;
			r->limit = limit;
			break;
		case RM_LIST:
			mask_normalize(arg, ban, sizeof(ban));
			/* It goes out as a middle parameter (MODE, 367,
			 * 348, 346): one word, not read as the trailing
			 * one, no control bytes. */
			if (!mode_mask_valid(ban)) {
				mode_param_error(t, r, rm, arg);
				break;
			}
			if (adding) {
				rc = room_list_add_locked(r, (int)rm->bit,
				    ban, mask);
				if (rc == -1)
					reply(t, ERR_BANLISTFULL, r->name,
					    rm->letter);
			} else
				rc = room_list_del_locked(r, (int)rm->bit,
				    ban);
			if (rc == 0)
				(void)mode_out_add(&out, adding ? '+' : '-',
				    rm->letter, ban);
			break;
		case RM_FLAG:
			break;
		}
	}

	if (out.n == 0 && r->modes == old)
		return;
	mode_out_format(&out, old, r->modes, modes, sizeof(modes));
	snprintf(text, sizeof(text), ":%s MODE %s %s", mask, r->name, modes);
	memset(&l, 0, sizeof(l));
	l.text = text;
	l.src = t->c;
	(void)room_fanout_locked(t, r, &l, FAN_SELF, 0, NULL);
}

int
member_prefix(const struct member *m)
{
	int i;

	for (i = 0; i < ROOM_NMODES; i++)
		if (room_modes[i].kind == RM_PREFIX &&
		    (m->modes & room_modes[i].bit))
			return room_modes[i].prefix;
	return 0;
}

void
member_prefixes(const struct member *m, char *buf)
{
	char *p = buf;
	int i;

	for (i = 0; i < ROOM_NMODES; i++)
		if (room_modes[i].kind == RM_PREFIX &&
		    (m->modes & room_modes[i].bit))
			*p++ = room_modes[i].prefix;
	*p = '\0';
}
