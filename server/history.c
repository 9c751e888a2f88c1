/*
 * history.c: the replay of a room's recent lines on JOIN, and
 * CHATHISTORY.  Both are generators (struct gen): they sit in the
 * client's queue in their place and read the store on the client's own
 * thread, with no lock held, as the socket drains, so neither a slow
 * disk nor a long history ever needs a big queue.
 *
 * What each may see is fixed when it is asked for: a room's history
 * starts at the room's creation (room_since), so a room that emptied
 * and was made again does not show the old room's lines.  Private
 * history belongs to accounts (struct store_view): a person logged in
 * reads every line its account sent or received, from any device and
 * under any nick it held then; what it said or heard while logged out
 * is read by the nick-hold rule: only since it took its nick
 * (nick_seq), so whoever takes a nick later does not read what its last
 * holder said, and never a line whose side of it was an account other
 * than its own.  A JOIN replay ends at the last message sequenced
 * before the JOIN; everything after it reaches the joiner live.
 */
#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "natterd.h"

#define REPLAY_ROWS	8	/* rows read per step */

int
history_enabled(void)
{
	return config.history != HISTORY_OFF;
}

int
history_durable(void)
{
	return config.history == HISTORY_FILE;
}

void
history_key(const char *a, const char *b, char *key, size_t len)
{
	char fa[NICK_MAX + 1], fb[NICK_MAX + 1];

	casemap_fold(fa, a, sizeof(fa));
	casemap_fold(fb, b, sizeof(fb));
	if (strcmp(fa, fb) <= 0)
		snprintf(key, len, "%s %s", fa, fb);
	else
		snprintf(key, len, "%s %s", fb, fa);
}

/* --- draft/channel-rename: where a room's rows went --- */

/* A generator reading a room's rows by key (history_track). */
struct follow {
	struct follow	*older;
	struct follow	*newer;
	uint64_t	 first;		/* the renames made after it */
	uint64_t	 next;		/* the first it has not followed */
	int		 tracked;
};

/*
 * A generator made before a rename (a JOIN replay, a CHATHISTORY) reads
 * by the key its room had; once the store has moved the rows (the
 * rename's seq committed), they are under the new key.  Every rename
 * since the oldest generator still alive was made is remembered, so
 * that each follows all those made after it (however many rooms were
 * renamed meanwhile): a generator is tracked from the moment it takes
 * its room's key (under server.lock, as renames are made) until it is
 * freed, and what no live generator may need is dropped.  Its lines
 * keep the name they were asked under, as they come before the RENAME
 * in that client's queue.
 */
struct rename_ent {
	char	 old_key[ROOM_NAME_MAX + 1];
	char	 new_key[ROOM_NAME_MAX + 1];
	int64_t	 since;
	int64_t	 seq;
};

static struct {
	pthread_mutex_t		 lock;		/* a leaf */
	struct rename_ent	*v;		/* renames base.. base+nv-1 */
	size_t			 nv;
	size_t			 cap;
	uint64_t		 base;
	uint64_t		 n;		/* every one so far */
	struct follow		*oldest;	/* live generators, by age */
	struct follow		*newest;
} renames = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Drops the renames no live generator can need.  Caller holds the lock. */
static void
renames_trim(void)
{
	uint64_t keep = renames.oldest != NULL ? renames.oldest->first :
	    renames.n;
	size_t drop;

	if (keep <= renames.base)
		return;
	drop = (size_t)(keep - renames.base);
	memmove(renames.v, renames.v + drop,
	    (renames.nv - drop) * sizeof(renames.v[0]));
	renames.nv -= drop;
	renames.base = keep;
}

void
history_renamed(const char *old_key, const char *new_key, int64_t since,
    int64_t seq)
{
	struct rename_ent *v;
	size_t cap;

	pthread_mutex_lock(&renames.lock);
	renames_trim();
	if (renames.oldest == NULL) {
		/* Nobody reads by an older key: nothing to remember. */
		renames.n++;
		renames.base = renames.n;
		pthread_mutex_unlock(&renames.lock);
		return;
	}
	if (renames.nv == renames.cap) {
		cap = renames.cap != 0 ? renames.cap * 2 : 16;
		if ((v = realloc(renames.v, cap * sizeof(*v))) == NULL) {
			/* The generators alive lose track of it: their
			 * replay ends early, nothing worse. */
			log_warn("history_renamed");
			renames.n++;
			renames.base = renames.n;
			renames.nv = 0;
			pthread_mutex_unlock(&renames.lock);
			return;
		}
		renames.v = v;
		renames.cap = cap;
	}
	v = &renames.v[renames.nv++];
	snprintf(v->old_key, sizeof(v->old_key), "%s", old_key);
	snprintf(v->new_key, sizeof(v->new_key), "%s", new_key);
	v->since = since;
	v->seq = seq;
	renames.n++;
	pthread_mutex_unlock(&renames.lock);
}

/* f takes its room's key now: every rename from here on may move its
 * rows.  Caller holds server.lock (so no rename falls between). */
static void
history_track(struct follow *f)
{
	pthread_mutex_lock(&renames.lock);
	f->first = f->next = renames.n;
	f->older = renames.newest;
	f->newer = NULL;
	if (renames.newest != NULL)
		renames.newest->newer = f;
	else
		renames.oldest = f;
	renames.newest = f;
	f->tracked = 1;
	pthread_mutex_unlock(&renames.lock);
}

static void
history_untrack(struct follow *f)
{
	if (!f->tracked)
		return;
	pthread_mutex_lock(&renames.lock);
	if (f->older != NULL)
		f->older->newer = f->newer;
	else
		renames.oldest = f->newer;
	if (f->newer != NULL)
		f->newer->older = f->older;
	else
		renames.newest = f->older;
	f->tracked = 0;
	renames_trim();
	pthread_mutex_unlock(&renames.lock);
}

/*
 * Moves key (a room's, tracked by f) to where its rows in (min_seq,
 * max_seq] are now; 1 if it moved.  Renames apply in their order, each
 * once: after following one, only those made after it can move the
 * rows again (f->next goes past it), never an earlier rename of
 * another room from the name this one took since.  They are in seq
 * order, so the first not committed yet ends the walk.
 */
static int
history_follow(struct follow *f, char *key, size_t len, int64_t min_seq,
    int64_t max_seq)
{
	int64_t committed = store_committed();
	const struct rename_ent *e;
	uint64_t i;
	int moved = 0;

	if (!f->tracked)
		return 0;
	pthread_mutex_lock(&renames.lock);
	for (i = f->next > renames.base ? f->next : renames.base;
	    i < renames.n; i++) {
		e = &renames.v[i - renames.base];
		if (e->seq > committed)
			break;
		if (e->seq <= max_seq || e->since > min_seq ||
		    strcmp(e->old_key, key) != 0 ||
		    strcmp(e->new_key, key) == 0)
			continue;
		snprintf(key, len, "%s", e->new_key);
		f->next = i + 1;
		moved = 1;
	}
	pthread_mutex_unlock(&renames.lock);
	return moved;
}

/* A room's row as it read under name: rec with its target (after any
 * status prefix) name.  *freeme: to free after use. */
static const struct store_rec *
history_as(const struct store_rec *rec, const char *name,
    struct store_rec *tmp, char **freeme)
{
	const char *p = rec->params, *rest;
	size_t pre, len;

	*freeme = NULL;
	pre = strspn(p, "@+");
	if ((rest = strchr(p, ' ')) == NULL)
		return rec;
	len = pre + strlen(name) + strlen(rest) + 1;
	if ((*freeme = malloc(len)) == NULL)
		return rec;
	snprintf(*freeme, len, "%.*s%s%s", (int)pre, p, name, rest);
	*tmp = *rec;
	tmp->params = *freeme;
	return tmp;
}

/*
 * A stored multiline message (body) for a client with caps, nested in
 * batch or not: a draft/multiline batch named after its msgid, or its
 * lines.  tags: those of its first line.
 */
static __attribute__((noinline)) struct buf *
history_multi(const struct store_rec *rec, unsigned caps, const char *batch,
    const char *tags, const char *account, int bot, const char *body)
{
	const unsigned want = CAP(CAP_MULTILINE) | CAP(CAP_BATCH);
	char *head, *more;
	struct buf *b;
	size_t len;

	len = strlen(rec->source) + strlen(rec->command) +
	    (size_t)(body - rec->params) + 4;
	if ((head = malloc(len + IRC_TAGS_MAX + 1)) == NULL)
		fatal("history");
	more = head + len;
	snprintf(head, len, ":%s %s %.*s", rec->source, rec->command,
	    (int)(body - 2 - rec->params), rec->params);
	line_tags(more, IRC_TAGS_MAX + 1, caps, rec->time_ms, NULL,
	    account[0] != '\0' ? account : NULL, bot, NULL);
	b = multiline_lines(head, body, tags, more, (caps & want) == want ?
	    rec->msgid : NULL, batch);
	free(head);
	return b;
}

/*
 * One stored message as a line for a client with caps, inside batch (a
 * batch id) or NULL.  (A labeled-response batch around a generator's
 * lines is added as they are queued.)
 */
static struct buf *
history_line(const struct store_rec *rec, unsigned caps, const char *batch)
{
	char more[IRC_TAGS_MAX + 1], account[NICK_MAX + 1];
	const char *ctags, *text;
	int bot;

	/* The stored tags: the sender's account, whether it was a bot,
	 * then client tags of at most 4094 bytes, so everything fits. */
	ctags = tags_stored_split(rec->tags, account, sizeof(account), &bot);
	line_tags(more, sizeof(more), caps, rec->time_ms, rec->msgid,
	    account, bot, ctags);
	if (strcmp(rec->command, "PRIVMSG") == 0 &&
	    (text = strstr(rec->params, " :")) != NULL &&
	    multiline_is_body(text + 2))
		return history_multi(rec, caps, batch, more, account, bot,
		    text + 2);
	if (batch != NULL)
		return buf_printf_long("@batch=%s%s%s :%s %s %s", batch,
		    more[0] != '\0' ? ";" : "", more, rec->source,
		    rec->command, rec->params);
	if (more[0] != '\0')
		return buf_printf_long("@%s :%s %s %s", more, rec->source,
		    rec->command, rec->params);
	return buf_printf_long(":%s %s %s", rec->source, rec->command,
	    rec->params);
}


/* --- the JOIN replay --- */

struct replay {
	struct gen		 g;
	char			 room[ROOM_NAME_MAX + 1];
	char			 key[ROOM_NAME_MAX + 1];
	int64_t			 min_seq;
	int64_t			 max_seq;
	int			 started;
	int			 left;
	int			 total;
	char			 batch[16];	/* "" for plain clients */
	struct store_cursor	 cur;
	/* Filled by the store's callback during one step. */
	struct outlist		*out;
	unsigned		 caps;
	int			 got;
	int			 followed;	/* a rename moved its rows */
	struct follow		 fw;
};

static void
replay_row(const struct store_rec *rec, void *arg)
{
	struct replay *rp = arg;

	struct store_rec tmp;
	char *freeme = NULL;

	rp->got++;
	if (rp->followed)
		rec = history_as(rec, rp->room, &tmp, &freeme);
	outlist_add(rp->out, history_line(rec, rp->caps,
	    rp->batch[0] != '\0' ? rp->batch : NULL));
	free(freeme);
}

static int
replay_step(struct gen *g, struct conn *c, struct outlist *out)
{
	struct replay *rp = (struct replay *)g;
	int n;

	rp->caps = c->caps;	/* only c's own thread writes it */
	rp->out = out;
	if (!rp->started) {
		rp->started = 1;
		/* Its rows may still be on their way to the disk. */
		(void)store_wait(rp->max_seq, config.store_hold * 1000);
		rp->followed |= history_follow(&rp->fw, rp->key,
		    sizeof(rp->key), rp->min_seq, rp->max_seq);
		n = store_seek_latest(rp->key, config.history_lines,
		    rp->min_seq, rp->max_seq, &rp->cur);
		/* Read just before a rename moved them: look again. */
		if (n == 0 && history_follow(&rp->fw, rp->key,
		    sizeof(rp->key), rp->min_seq, rp->max_seq)) {
			rp->followed = 1;
			n = store_seek_latest(rp->key, config.history_lines,
			    rp->min_seq, rp->max_seq, &rp->cur);
		}
		if (n <= 0)
			return 1;	/* nothing to replay: nothing at all */
		rp->left = n;
		if ((rp->caps & CAP(CAP_BATCH)) &&
		    (rp->caps & CAP(CAP_SERVER_TIME))) {
			batch_id(c, 'h', rp->batch, sizeof(rp->batch));
			outlist_add(out, buf_printf(":%s BATCH +%s "
			    "chathistory %s", config.server_name, rp->batch,
			    rp->room));
		} else
			/* Plain clients: the lines as they were, between
			 * notices. */
			outlist_add(out, buf_printf(":%s NOTICE %s :--- "
			    "Recent history of %s ---", config.server_name,
			    rp->room, rp->room));
	}
	rp->got = 0;
	rp->followed |= history_follow(&rp->fw, rp->key, sizeof(rp->key),
	    rp->min_seq, rp->max_seq);
	if (rp->left > 0 && store_read(rp->key, &rp->cur, rp->min_seq,
	    rp->max_seq, rp->left < REPLAY_ROWS ? rp->left : REPLAY_ROWS,
	    replay_row, rp) == -1)
		log_warnx("%s: replay of %s failed", c->ip, rp->room);
	if (rp->got == 0 && rp->left > 0 && history_follow(&rp->fw, rp->key,
	    sizeof(rp->key), rp->min_seq, rp->max_seq)) {
		rp->followed = 1;
		if (store_read(rp->key, &rp->cur, rp->min_seq, rp->max_seq,
		    rp->left < REPLAY_ROWS ? rp->left : REPLAY_ROWS,
		    replay_row, rp) == -1)
			log_warnx("%s: replay of %s failed", c->ip, rp->room);
	}
	rp->left -= rp->got;
	rp->total += rp->got;
	if (rp->got > 0 && rp->left > 0)
		return 0;
	if (rp->batch[0] != '\0')
		outlist_add(out, buf_printf(":%s BATCH -%s",
		    config.server_name, rp->batch));
	else
		outlist_add(out, buf_printf(":%s NOTICE %s :--- "
		    "End of history (%d line%s) ---", config.server_name,
		    rp->room, rp->total, rp->total == 1 ? "" : "s"));
	return 1;
}

static void
replay_free(struct gen *g)
{
	history_untrack(&((struct replay *)g)->fw);
	free(g);
}

struct gen *
history_replay_gen(struct room *r, int64_t max_seq)
{
	struct replay *rp;

	if (!history_enabled() || config.history_lines <= 0 ||
	    max_seq <= room_since(r))
		return NULL;
	if ((rp = calloc(1, sizeof(*rp))) == NULL) {
		log_warn("replay");
		return NULL;
	}
	rp->g.step = replay_step;
	rp->g.free = replay_free;
	snprintf(rp->room, sizeof(rp->room), "%s", room_name(r));
	snprintf(rp->key, sizeof(rp->key), "%s", room_key(r));
	rp->min_seq = room_since(r);
	rp->max_seq = max_seq;
	history_track(&rp->fw);
	return &rp->g;
}

/* --- CHATHISTORY --- */

enum ch_sub { CH_LATEST, CH_BEFORE, CH_AFTER, CH_AROUND, CH_BETWEEN,
    CH_TARGETS };

static const char *const ch_subs[] = {
	"LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"
};

/* One CHATHISTORY request: queried in its first step, sent as the
 * socket drains. */
struct chq {
	struct gen		 g;
	enum ch_sub		 sub;
	char			 target[ROOM_NAME_MAX + NICK_MAX + 2];
	char			 key[STORE_KEY_MAX + 1];
	struct store_sel	 a;
	struct store_sel	 b;
	int			 limit;
	int64_t			 min_seq;
	int64_t			 max_seq;
	/* A private conversation (other set), and TARGETS: the asker's
	 * nick and account, the other side's nick, all when asked. */
	char			 nickkey[NICK_MAX + 1];
	char			 other[NICK_MAX + 1];
	int64_t			 account;
	/* TARGETS */
	struct store_key	*keys;
	int			 nkeys;
	/* State. */
	int			 queried;
	int			 failed;
	char			 batch[16];
	struct outlist		 rows;	/* formatted, not yet sent */
	int			 next;
	unsigned		 caps;
	int			 followed;	/* a rename moved its rows */
	struct follow		 fw;
};

static void
chq_row(const struct store_rec *rec, void *arg)
{
	struct chq *q = arg;
	struct store_rec tmp;
	char *freeme = NULL;

	if (q->followed)
		rec = history_as(rec, q->target, &tmp, &freeme);
	outlist_add(&q->rows, history_line(rec, q->caps,
	    q->batch[0] != '\0' ? q->batch : NULL));
	free(freeme);
}

static void
chq_target(const char *key, const char *target, int64_t latest_ms,
    void *arg)
{
	struct chq *q = arg;
	char when[32];

	(void)key;
	tag_time(latest_ms, when, sizeof(when));
	if (q->batch[0] != '\0')
		outlist_add(&q->rows, buf_printf("@batch=%s :%s CHATHISTORY "
		    "TARGETS %s timestamp=%s", q->batch, config.server_name,
		    target, when));
	else
		outlist_add(&q->rows, buf_printf(":%s CHATHISTORY TARGETS %s "
		    "timestamp=%s", config.server_name, target, when));
}

/* Runs the query, the only slow part, on c's thread. */
static void
chq_query(struct chq *q, struct conn *c)
{
	struct store_view v;
	int rc = 0, room;

	if (q->caps & CAP(CAP_BATCH))
		batch_id(c, 'h', q->batch, sizeof(q->batch));
	/* Read what was said up to the request, rows still being
	 * written included. */
	(void)store_wait(q->max_seq, config.store_hold * 1000);
	room = q->target[0] == '#' && q->sub != CH_TARGETS;
	if (room)
		q->followed = history_follow(&q->fw, q->key, sizeof(q->key),
		    q->min_seq, q->max_seq);
again:
	memset(&v, 0, sizeof(v));
	v.key = q->key;
	v.min_seq = q->min_seq;
	v.max_seq = q->max_seq;
	if (q->other[0] != '\0') {
		v.nick = q->nickkey;
		v.other = q->other;
		v.account = q->account;
	}
	switch (q->sub) {
	case CH_LATEST:
		rc = store_query(STORE_LATEST, &v,
		    q->a.kind == SEL_NONE ? NULL : &q->a, NULL, q->limit,
		    chq_row, q);
		break;
	case CH_BEFORE:
		rc = store_query(STORE_BEFORE, &v, &q->a, NULL, q->limit,
		    chq_row, q);
		break;
	case CH_AFTER:
		rc = store_query(STORE_AFTER, &v, &q->a, NULL, q->limit,
		    chq_row, q);
		break;
	case CH_AROUND:
		rc = store_query(STORE_AROUND, &v, &q->a, NULL, q->limit,
		    chq_row, q);
		break;
	case CH_BETWEEN:
		rc = store_query(STORE_BETWEEN, &v, &q->a, &q->b, q->limit,
		    chq_row, q);
		break;
	case CH_TARGETS:
		rc = store_targets(q->nickkey, q->min_seq, q->account, q->keys,
		    q->nkeys, q->a.time_ms, q->b.time_ms, q->limit,
		    chq_target, q);
		break;
	}
	/* Read just before a rename moved them: look again. */
	if (room && rc == 0 && history_follow(&q->fw, q->key, sizeof(q->key),
	    q->min_seq, q->max_seq)) {
		q->followed = 1;
		goto again;
	}
	if (rc == -1) {
		log_warnx("%s: CHATHISTORY %s failed", c->ip,
		    ch_subs[q->sub]);
		q->failed = 1;
	}
}

static int
chq_step(struct gen *g, struct conn *c, struct outlist *out)
{
	struct chq *q = (struct chq *)g;
	size_t bytes = 0;

	if (!q->queried) {
		q->queried = 1;
		q->caps = c->caps;	/* only c's own thread writes it */
		chq_query(q, c);
		if (q->batch[0] != '\0') {
			if (q->sub == CH_TARGETS)
				outlist_add(out, buf_printf(":%s BATCH +%s "
				    "draft/chathistory-targets",
				    config.server_name, q->batch));
			else
				outlist_add(out, buf_printf(":%s BATCH +%s "
				    "chathistory %s", config.server_name,
				    q->batch, q->target));
		}
	}
	while (q->next < q->rows.n && bytes < GEN_CHUNK) {
		bytes += q->rows.v[q->next].b->len;
		outlist_add(out, q->rows.v[q->next].b);
		q->rows.v[q->next++].b = NULL;
	}
	if (q->next < q->rows.n)
		return 0;
	if (q->batch[0] != '\0')
		outlist_add(out, buf_printf(":%s BATCH -%s",
		    config.server_name, q->batch));
	if (q->failed)
		outlist_add(out, buf_printf(":%s FAIL CHATHISTORY "
		    "MESSAGE_ERROR %s %s :Messages could not be retrieved",
		    config.server_name, ch_subs[q->sub], q->target));
	return 1;
}

static void
chq_free(struct gen *g)
{
	struct chq *q = (struct chq *)g;
	int i;

	history_untrack(&q->fw);
	outlist_free(&q->rows);		/* what was not sent */
	for (i = 0; i < q->nkeys; i++)
		free((char *)q->keys[i].key);
	free(q->keys);
	free(q);
}

/* A word of the client's echoed in a FAIL: "*" for one that could not
 * be a subcommand or a target (too long for any, or one that would
 * break the line's framing, from a trailing parameter). */
#define CH_ECHO_MAX	ROOM_NAME_MAX

static const char *
ch_echo(const char *s)
{
	if (s[0] == '\0' || s[0] == ':' || strlen(s) > CH_ECHO_MAX ||
	    strpbrk(s, " \r\n") != NULL)
		return "*";
	return s;
}

static void
ch_fail(struct turn *t, const char *code, const char *ctx,
    const char *text)
{
	turn_sendf(t, ":%s FAIL CHATHISTORY %s %s :%s", config.server_name,
	    code, ch_echo(ctx), text);
}

/* "*", "msgid=..." or "timestamp=...". */
static int
parse_sel(const char *s, struct store_sel *sel, int star_ok)
{
	memset(sel, 0, sizeof(*sel));
	if (strcmp(s, "*") == 0 && star_ok) {
		sel->kind = SEL_NONE;
		return 0;
	}
	if (strncmp(s, "msgid=", 6) == 0 && s[6] != '\0' &&
	    strlen(s + 6) <= STORE_MSGID_LEN) {
		sel->kind = SEL_MSGID;
		snprintf(sel->msgid, sizeof(sel->msgid), "%s", s + 6);
		return 0;
	}
	if (strncmp(s, "timestamp=", 10) == 0 &&
	    tag_time_parse(s + 10, &sel->time_ms) == 0) {
		sel->kind = SEL_TIME;
		return 0;
	}
	return -1;
}

static int
parse_limit(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0)
		return -1;
	if (v == 0 || v > CHATHISTORY_MAX)
		v = CHATHISTORY_MAX;
	return (int)v;
}

/* Fills q's key, shown target and lower bound for target as t->c may
 * see it; -1 if it may not (not a member, no such room, bad nick). */
static int
ch_target_locked(struct turn *t, const char *target, struct chq *q)
{
	struct client *c = t->c;
	struct room *r;

	if (target[0] == '#') {
		if ((r = room_find_locked(target)) == NULL ||
		    room_member_locked(r, c) == NULL)
			return -1;
		snprintf(q->key, sizeof(q->key), "%s", room_key(r));
		/* The batch names the target as the client wrote it. */
		snprintf(q->target, sizeof(q->target), "%s", target);
		q->min_seq = room_since(r);
		history_track(&q->fw);
		return 0;
	}
	if (!casemap_valid_nick(target, NICK_MAX))
		return -1;
	history_key(c->nick, target, q->key, sizeof(q->key));
	snprintf(q->target, sizeof(q->target), "%s", target);
	snprintf(q->nickkey, sizeof(q->nickkey), "%s", c->nickkey);
	casemap_fold(q->other, target, sizeof(q->other));
	q->account = c->account != NULL ? account_id(c->account) : 0;
	q->min_seq = c->nick_seq;
	return 0;
}

/* TARGETS: the rooms c is in, and its own private conversations. */
static int
ch_targets_locked(struct turn *t, struct chq *q)
{
	struct client *c = t->c;
	int i;

	snprintf(q->nickkey, sizeof(q->nickkey), "%s", c->nickkey);
	q->account = c->account != NULL ? account_id(c->account) : 0;
	q->min_seq = c->nick_seq;
	if ((q->keys = calloc((size_t)c->nrooms + 1, sizeof(*q->keys))) ==
	    NULL)
		return -1;
	for (i = 0; i < c->nrooms; i++) {
		if ((q->keys[i].key = strdup(room_key(c->rooms[i]))) == NULL)
			return -1;
		q->keys[i].min_seq = room_since(c->rooms[i]);
		q->nkeys++;
	}
	return 0;
}

void
cmd_chathistory(struct turn *t, struct irc_msg *m)
{
	const char *sub = m->params[0];
	struct chq *q;
	int need, k, ok;

	for (k = 0; k <= CH_TARGETS; k++)
		if (strcasecmp(sub, ch_subs[k]) == 0)
			break;
	if (k > CH_TARGETS) {
		ch_fail(t, "UNKNOWN_COMMAND", sub, "Unknown subcommand");
		return;
	}
	need = k == CH_BETWEEN ? 5 : 4;
	if (m->nparams < need) {
		ch_fail(t, "NEED_MORE_PARAMS", ch_subs[k],
		    "Insufficient parameters");
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		ch_fail(t, "MESSAGE_ERROR", ch_subs[k], "Out of memory");
		return;
	}
	q->g.step = chq_step;
	q->g.free = chq_free;
	q->sub = (enum ch_sub)k;
	if (q->sub == CH_TARGETS) {
		if (parse_sel(m->params[1], &q->a, 0) == -1 ||
		    q->a.kind != SEL_TIME ||
		    parse_sel(m->params[2], &q->b, 0) == -1 ||
		    q->b.kind != SEL_TIME ||
		    (q->limit = parse_limit(m->params[3])) == -1) {
			ch_fail(t, "INVALID_PARAMS", "TARGETS",
			    "Expected two timestamp= bounds and a limit");
			chq_free(&q->g);
			return;
		}
	} else if (parse_sel(m->params[2], &q->a, k == CH_LATEST) == -1 ||
	    (need == 5 && parse_sel(m->params[3], &q->b, 0) == -1) ||
	    (q->limit = parse_limit(m->params[need - 1])) == -1) {
		ch_fail(t, "INVALID_PARAMS", ch_subs[k],
		    "Expected msgid= or timestamp= and a limit");
		chq_free(&q->g);
		return;
	}
	pthread_rwlock_wrlock(&server.lock);
	q->max_seq = store_last_seq();
	if (q->sub == CH_TARGETS)
		ok = ch_targets_locked(t, q);
	else
		ok = ch_target_locked(t, m->params[1], q);
	pthread_rwlock_unlock(&server.lock);
	if (ok == -1 && q->sub == CH_TARGETS) {
		ch_fail(t, "MESSAGE_ERROR", "TARGETS", "Out of memory");
		chq_free(&q->g);
		return;
	}
	if (ok == -1) {
		turn_sendf(t, ":%s FAIL CHATHISTORY INVALID_TARGET %s %s "
		    ":Messages could not be retrieved", config.server_name,
		    ch_subs[k], ch_echo(m->params[1]));
		chq_free(&q->g);
		return;
	}
	turn_gen(t, &q->g);
}
