/*
 * history.c: where messages meet the store.  A PRIVMSG or NOTICE is
 * stored before anyone receives it: the handler queues the row
 * (store_append never waits) and a pending delivery; at the end of the
 * read, or before any other command, history_deliver() waits for the
 * group commit that holds the rows and then hands the lines out, so a
 * message any client received survives a crash of the server.  Also
 * here: the replay of a room's recent lines on JOIN and CHATHISTORY.
 *
 * Pending deliveries belong to the calling thread; deliveries and room
 * lookups take server.lock.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "natterd.h"

/*
 * Messages wait here, in seq order, from the moment they are stored
 * until their row is committed.  One queue for the whole server, so
 * that lines reach every client in the order the store keeps them;
 * whichever thread finds its own rows committed delivers everything up
 * to them.  Guarded by server.lock.
 */
struct pending {
	struct pending	*next;
	struct client	*from;		/* a reference */
	int64_t		 seq;
	int64_t		 time_ms;
	char		 msgid[STORE_MSGID_LEN + 1];
	char		 target[ROOM_NAME_MAX + 1];	/* room or nick */
	char		*line;		/* ":mask CMD target :text" */
	char		*ctags;		/* client-only tags, or NULL */
	char		*label;		/* labeled-response, for the echo */
};

static struct pending	*fifo_head;
static struct pending	*fifo_tail;

/* The newest row this thread queued and has not seen delivered. */
static _Thread_local int64_t my_last_seq;

/* A per-thread counter makes batch ids unique on each connection. */
static _Thread_local unsigned batch_seq;

/* The label of the command this thread is handling, or NULL. */
static _Thread_local const char *cur_label;

/* No file behind the store: nothing to wait for before delivering. */
static int
history_in_memory(void)
{
	return config.history != HISTORY_FILE;
}

int
history_enabled(void)
{
	return config.history != HISTORY_OFF;
}

void
history_set_label(const char *label)
{
	cur_label = label;
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

int
history_message_locked(struct client *c, const char *key,
    const char *target, const char *cmd, const char *text,
    const char *ctags)
{
	char mask[MASK_MAX + 1], params[OUT_LINE_MAX];
	struct store_rec rec;
	struct pending *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	client_mask(c, mask, sizeof(mask));
	snprintf(params, sizeof(params), "%s :%s", target, text);
	if (asprintf(&p->line, ":%s %s %s :%s", mask, cmd, target, text) ==
	    -1) {
		free(p);
		return -1;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.key, sizeof(rec.key), "%s", key);
	snprintf(rec.source, sizeof(rec.source), "%s", mask);
	snprintf(rec.command, sizeof(rec.command), "%s", cmd);
	rec.params = params;
	rec.tags = ctags != NULL && ctags[0] != '\0' ? (char *)ctags : NULL;
	if (store_append(&rec) == -1) {
		free(p->line);
		free(p);
		return -1;
	}
	p->seq = rec.seq;
	p->time_ms = rec.time_ms;
	snprintf(p->msgid, sizeof(p->msgid), "%s", rec.msgid);
	snprintf(p->target, sizeof(p->target), "%s", target);
	p->ctags = rec.tags != NULL ? strdup(rec.tags) : NULL;
	if (cur_label != NULL)
		(void)asprintf(&p->label, "label=%s", cur_label);
	p->from = client_ref(c);
	if (fifo_tail != NULL)
		fifo_tail->next = p;
	else
		fifo_head = p;
	fifo_tail = p;
	my_last_seq = rec.seq;
	return 0;
}

void
history_event_locked(const char *key, struct client *c, const char *cmd,
    const char *params)
{
	char mask[MASK_MAX + 1];
	struct store_rec rec;

	client_mask(c, mask, sizeof(mask));
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.key, sizeof(rec.key), "%s", key);
	snprintf(rec.source, sizeof(rec.source), "%s", mask);
	snprintf(rec.command, sizeof(rec.command), "%s", cmd);
	rec.params = (char *)params;
	/* Events are not waited for: the rule is about messages. */
	(void)store_append(&rec);
}

static void
deliver_one_locked(struct pending *p)
{
	struct client *c = p->from, *to;
	struct msgvar v;
	struct room *r;
	struct buf *b;
	int i;

	msgvar_init(&v, p->line, p->time_ms, p->msgid, p->ctags);
	if (p->target[0] == '#') {
		if ((r = room_find_locked(p->target)) != NULL)
			for (i = 0; i < r->nmembers; i++)
				if (r->members[i].c != c)
					client_send_queued(r->members[i].c,
					    msgvar_get(&v,
					    r->members[i].c->caps));
	} else if ((to = client_find_locked(p->target)) != NULL &&
	    (to->flags & CLIENT_REGISTERED) &&
	    (to != c || !(c->caps & CAP(CAP_ECHO_MESSAGE))))
		/* A message to oneself arrives once, echo or not. */
		client_send_queued(to, msgvar_get(&v, to->caps));
	if (c->caps & CAP(CAP_ECHO_MESSAGE)) {
		if (p->label != NULL) {
			b = buf_add_tag(msgvar_get(&v, c->caps), p->label);
			client_send_queued(c, b);
			buf_unref(b);
		} else
			client_send_queued(c, msgvar_get(&v, c->caps));
	}
	msgvar_free(&v);
}

void
history_deliver(struct client *c)
{
	struct pending *p, *done = NULL, **tail = &done;
	int64_t upto = my_last_seq;

	(void)c;
	if (upto == 0)
		return;
	my_last_seq = 0;
	/* With --db :memory: nothing survives a crash anyway, so there is
	 * no commit to wait for; the queue still keeps store order. */
	if (!history_in_memory() && store_wait(upto, -1) == -1)
		log_warnx("delivering messages the store did not keep");
	pthread_mutex_lock(&server.lock);
	/* Everything up to upto is committed: deliver it, in order. */
	while ((p = fifo_head) != NULL && p->seq <= upto) {
		fifo_head = p->next;
		if (fifo_head == NULL)
			fifo_tail = NULL;
		deliver_one_locked(p);
		p->next = NULL;
		*tail = p;
		tail = &p->next;
	}
	pthread_mutex_unlock(&server.lock);
	while ((p = done) != NULL) {
		done = p->next;
		client_unref(p->from);
		free(p->line);
		free(p->ctags);
		free(p->label);
		free(p);
	}
}

/* --- replay --- */

struct replay {
	struct client	*c;
	unsigned	 caps;
	const char	*batch;		/* batch id, or NULL for plain lines */
	int		 events;	/* show JOIN/PART/... too */
	int		 count;
	int		 hold;		/* gather into v instead of sending */
	struct buf	**v;
	int		 nv;
	int		 capv;
};

/* Sends b now, or keeps it for replay_flush(). */
static void
replay_emit(struct replay *rp, struct buf *b)
{
	struct buf **nv;
	int ncap;

	if (!rp->hold) {
		client_send(rp->c, b);
		buf_unref(b);
		return;
	}
	if (rp->nv == rp->capv) {
		ncap = rp->capv == 0 ? 16 : rp->capv * 2;
		if ((nv = realloc(rp->v, (size_t)ncap * sizeof(*nv))) == NULL) {
			buf_unref(b);
			return;
		}
		rp->v = nv;
		rp->capv = ncap;
	}
	rp->v[rp->nv++] = b;
}

static void
replay_flush(struct replay *rp)
{
	int i;

	for (i = 0; i < rp->nv; i++) {
		client_send(rp->c, rp->v[i]);
		buf_unref(rp->v[i]);
	}
	free(rp->v);
	rp->v = NULL;
	rp->nv = rp->capv = 0;
}

static void
replay_row(const struct store_rec *rec, void *arg)
{
	struct replay *rp = arg;
	char tags[IRC_TAGS_MAX + 1], when[32];
	int n = 0, msg;

	msg = strcmp(rec->command, "PRIVMSG") == 0 ||
	    strcmp(rec->command, "NOTICE") == 0;
	if (!msg && !rp->events)
		return;
	if (strcmp(rec->command, "TAGMSG") == 0 &&
	    !(rp->caps & CAP(CAP_MESSAGE_TAGS)))
		return;
	rp->count++;
	tags[0] = '\0';
	if (rp->batch != NULL)
		n = snprintf(tags, sizeof(tags), "batch=%s", rp->batch);
	if (rp->caps & CAP(CAP_SERVER_TIME)) {
		tag_time(rec->time_ms, when, sizeof(when));
		n += snprintf(tags + n, sizeof(tags) - (size_t)n, "%stime=%s",
		    n > 0 ? ";" : "", when);
	}
	if ((rp->caps & CAP(CAP_MESSAGE_TAGS)) && (size_t)n < sizeof(tags)) {
		n += snprintf(tags + n, sizeof(tags) - (size_t)n, "%smsgid=%s",
		    n > 0 ? ";" : "", rec->msgid);
		if (rec->tags != NULL && (size_t)n < sizeof(tags))
			snprintf(tags + n, sizeof(tags) - (size_t)n, ";%s",
			    rec->tags);
	}
	if (tags[0] != '\0')
		replay_emit(rp, buf_printf_long("@%s :%s %s %s", tags,
		    rec->source, rec->command, rec->params));
	else
		replay_emit(rp, buf_printf_long(":%s %s %s", rec->source,
		    rec->command, rec->params));
}

static unsigned
client_caps(struct client *c)
{
	unsigned caps;

	pthread_mutex_lock(&server.lock);
	caps = c->caps;
	pthread_mutex_unlock(&server.lock);
	return caps;
}

/* Opens a chathistory batch if c can take one; id into buf. */
static const char *
batch_open(struct client *c, unsigned caps, const char *type,
    const char *target, char *buf, size_t len)
{
	if (!(caps & CAP(CAP_BATCH)))
		return NULL;
	snprintf(buf, len, "h%u", ++batch_seq);
	if (target != NULL)
		client_sendf(c, ":%s BATCH +%s %s %s", config.server_name, buf,
		    type, target);
	else
		client_sendf(c, ":%s BATCH +%s %s", config.server_name, buf,
		    type);
	return buf;
}

static void
batch_close(struct client *c, const char *id)
{
	if (id != NULL)
		client_sendf(c, ":%s BATCH -%s", config.server_name, id);
}

void
history_replay_join(struct client *c, const char *room, const char *key,
    int64_t max_seq)
{
	struct replay rp;
	char id[16];

	if (config.history_lines <= 0 || max_seq <= 0)
		return;
	memset(&rp, 0, sizeof(rp));
	rp.c = c;
	rp.caps = client_caps(c);
	rp.hold = 1;
	/* Rows up to the cutoff may still be on their way to the disk. */
	(void)store_wait(max_seq, -1);
	/* Gather first: a room without history gets nothing at all. */
	if ((rp.caps & CAP(CAP_BATCH)) && (rp.caps & CAP(CAP_SERVER_TIME))) {
		snprintf(id, sizeof(id), "h%u", ++batch_seq);
		rp.batch = id;
	}
	store_latest(key, NULL, config.history_lines, 0, max_seq,
	    replay_row, &rp);
	if (rp.nv == 0)
		return;
	if (rp.batch != NULL)
		client_sendf(c, ":%s BATCH +%s chathistory %s",
		    config.server_name, id, room);
	else
		/* Plain clients: the lines as they were, between notices. */
		client_sendf(c, ":%s NOTICE %s :--- Recent history of %s ---",
		    config.server_name, room, room);
	replay_flush(&rp);
	if (rp.batch != NULL)
		batch_close(c, rp.batch);
	else
		client_sendf(c, ":%s NOTICE %s :--- End of history (%d "
		    "line%s) ---", config.server_name, room, rp.count,
		    rp.count == 1 ? "" : "s");
}

/* --- CHATHISTORY --- */

static void
ch_fail(struct client *c, const char *code, const char *ctx,
    const char *text)
{
	client_sendf(c, ":%s FAIL CHATHISTORY %s %s :%s", config.server_name,
	    code, ctx, text);
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

/* The key for target as c may see it, or -1 (not a member, no such). */
static int
ch_target_key(struct client *c, const char *target, char *key, size_t len)
{
	struct room *r;
	int ok = -1;

	if (target[0] == '#') {
		pthread_mutex_lock(&server.lock);
		if ((r = room_find_locked(target)) != NULL &&
		    room_member_locked(r, c) != NULL) {
			snprintf(key, len, "%s", r->key_folded);
			ok = 0;
		}
		pthread_mutex_unlock(&server.lock);
		return ok;
	}
	if (!casemap_valid_nick(target, NICK_MAX))
		return -1;
	history_key(c->nick, target, key, len);
	return 0;
}

struct targets {
	struct client	*c;
	const char	*batch;
};

static void
target_row(const char *key, const char *target, int64_t latest_ms,
    void *arg)
{
	struct targets *t = arg;
	char when[32];

	(void)key;
	tag_time(latest_ms, when, sizeof(when));
	if (t->batch != NULL)
		client_sendf(t->c, "@batch=%s :%s CHATHISTORY TARGETS %s "
		    "timestamp=%s", t->batch, config.server_name, target, when);
	else
		client_sendf(t->c, ":%s CHATHISTORY TARGETS %s timestamp=%s",
		    config.server_name, target, when);
}

static void
ch_targets(struct client *c, struct irc_msg *m, unsigned caps)
{
	struct store_sel a, b;
	struct targets t;
	struct store_key *keys;
	char id[16];
	int i, n, limit;

	if (m->nparams < 4) {
		ch_fail(c, "NEED_MORE_PARAMS", "TARGETS",
		    "Insufficient parameters");
		return;
	}
	if (parse_sel(m->params[1], &a, 0) == -1 || a.kind != SEL_TIME ||
	    parse_sel(m->params[2], &b, 0) == -1 || b.kind != SEL_TIME ||
	    (limit = parse_limit(m->params[3])) == -1) {
		ch_fail(c, "INVALID_PARAMS", "TARGETS",
		    "Expected two timestamp= bounds and a limit");
		return;
	}
	pthread_mutex_lock(&server.lock);
	n = c->nrooms;
	if ((keys = calloc((size_t)n + 1, sizeof(*keys))) != NULL)
		for (i = 0; i < n; i++)
			keys[i].key = strdup(c->rooms[i]->key_folded);
	pthread_mutex_unlock(&server.lock);
	if (keys == NULL) {
		ch_fail(c, "MESSAGE_ERROR", "TARGETS", "Out of memory");
		return;
	}
	t.c = c;
	(void)store_wait(store_last_seq(), -1);
	t.batch = batch_open(c, caps, "draft/chathistory-targets", NULL, id,
	    sizeof(id));
	if (store_targets(c->nickkey, 0, keys, n, a.time_ms < b.time_ms ?
	    a.time_ms : b.time_ms, a.time_ms < b.time_ms ? b.time_ms :
	    a.time_ms, limit, target_row, &t) == -1)
		log_warnx("CHATHISTORY TARGETS failed");
	batch_close(c, t.batch);
	for (i = 0; i < n; i++)
		free((char *)keys[i].key);
	free(keys);
}

void
cmd_chathistory(struct client *c, struct irc_msg *m)
{
	const char *sub = m->params[0], *target;
	struct store_sel a, b;
	struct replay rp;
	char key[STORE_KEY_MAX + 1], id[16];
	int limit, need, rc;
	unsigned caps = client_caps(c);

	history_deliver(c);
	if (strcasecmp(sub, "TARGETS") == 0) {
		ch_targets(c, m, caps);
		return;
	}
	if (strcasecmp(sub, "LATEST") != 0 && strcasecmp(sub, "BEFORE") != 0 &&
	    strcasecmp(sub, "AFTER") != 0 && strcasecmp(sub, "AROUND") != 0 &&
	    strcasecmp(sub, "BETWEEN") != 0) {
		ch_fail(c, "UNKNOWN_COMMAND", sub, "Unknown subcommand");
		return;
	}
	need = strcasecmp(sub, "BETWEEN") == 0 ? 5 : 4;
	if (m->nparams < need) {
		ch_fail(c, "NEED_MORE_PARAMS", sub, "Insufficient parameters");
		return;
	}
	target = m->params[1];
	if (parse_sel(m->params[2], &a, strcasecmp(sub, "LATEST") == 0) == -1 ||
	    (need == 5 && parse_sel(m->params[3], &b, 0) == -1) ||
	    (limit = parse_limit(m->params[need - 1])) == -1) {
		ch_fail(c, "INVALID_PARAMS", sub,
		    "Expected msgid= or timestamp= and a limit");
		return;
	}
	if (ch_target_key(c, target, key, sizeof(key)) == -1) {
		client_sendf(c, ":%s FAIL CHATHISTORY INVALID_TARGET %s %s "
		    ":Messages could not be retrieved", config.server_name,
		    sub, target);
		return;
	}
	memset(&rp, 0, sizeof(rp));
	rp.c = c;
	rp.caps = caps;
	/* Read what was said so far, including rows still being written. */
	(void)store_wait(store_last_seq(), -1);
	rp.batch = batch_open(c, caps, "chathistory", target, id, sizeof(id));
	if (strcasecmp(sub, "LATEST") == 0)
		rc = store_latest(key, a.kind == SEL_NONE ? NULL : &a, limit,
		    0, 0, replay_row, &rp);
	else if (strcasecmp(sub, "BEFORE") == 0)
		rc = store_before(key, &a, limit, 0, 0, replay_row, &rp);
	else if (strcasecmp(sub, "AFTER") == 0)
		rc = store_after(key, &a, limit, 0, 0, replay_row, &rp);
	else if (strcasecmp(sub, "AROUND") == 0)
		rc = store_around(key, &a, limit, 0, 0, replay_row, &rp);
	else
		rc = store_between(key, &a, &b, limit, 0, 0, replay_row, &rp);
	batch_close(c, rp.batch);
	if (rc == -1)
		client_sendf(c, ":%s FAIL CHATHISTORY MESSAGE_ERROR %s %s "
		    ":Messages could not be retrieved", config.server_name,
		    sub, target);
}
