/*
 * turn.c: the path a line takes from one client to the others.
 *
 * One read of a client's socket is one turn: a struct turn on the client
 * thread's stack (client.c), handed to every command handler.  What a
 * handler says to its own client goes into the turn (turn_send, reply,
 * turn_gen).  What it says to anyone else is a post: post_new_locked()
 * makes it while server.lock is held, and its recipients are fixed there
 * and then (post_add_locked, or room_fanout_locked() in room.c, the one
 * fan-out for rooms), in the same critical section that changes a
 * membership or, for a message, takes its store seq.  A post holds its
 * recipients until it is delivered; nothing is looked up again later.
 *
 * Posts form one queue, the outbox, in the order they were made.  A post
 * is delivered (queued on each recipient, formatted once per variant of
 * tags) once
 *   - it is sealed: the command that made it has ended, so the output of
 *     its actor that goes with it (its payload, below) is complete;
 *   - with a history file, its message and every one before it is
 *     committed (store_committed()): a line anyone received is on disk;
 *   - every post before it is delivered.
 * Any thread may deliver what is ready (outbox_drain); one at a time.
 *
 * The actor's own output keeps the same order: its JOIN line, NAMES and
 * replay before any live line of that room, its echo where its message
 * stands.  So the output a command makes goes with the command's posts:
 * what comes before and just after the first post with the first, what
 * comes after post k until post k+1 with post k, the rest with the last.
 * An echo is an item of that output resolved at delivery: the line in
 * the actor's variant, or FAIL <cmd> TEMPORARILY_UNAVAILABLE when the
 * store could not keep it.  labeled-response is applied at the end of
 * the command, across those payloads, before they are sealed.
 *
 * turn_end() is where every turn ends: it waits for the store (at most
 * --store-hold seconds; what was not kept by then is taken back with
 * store_cancel and answered with FAIL), delivers the turn's posts and
 * any before them, then queues and writes the output left.  When none
 * of its posts carries output for the actor but the FAIL its store may
 * answer it with (a message from a client without echo-message or a
 * label), the turn need not see them out: it leaves them to whoever
 * delivers them, who frees them (turn_leave), and goes on reading; at
 * most POSTS_AHEAD_MAX a connection, after which its turns wait again.
 * With a history file a thread of its own, the deliverer, delivers them
 * after each commit, and takes back those the store has not kept
 * --store-hold seconds after their command ended (outbox_expire), so
 * the sender is not held while its rows wait for a commit and its next
 * lines join the same one.  Whatever the connection is told next waits
 * for the FAILs of messages it left (left_fail_id).  A client is freed
 * only after a post made after it left every table has been delivered
 * (client.c waits for its QUIT post), so the client pointers in posts
 * stay valid.
 *
 * Locks (natterd.h has the order): outbox.lock guards the list, the
 * states, outbox.done and the waiters (each turn that waits for its
 * posts is woken alone, when they are out); outbox.drain lets one thread
 * deliver at a time and guards the formatted variants of posts.  Posts, their payloads
 * and recipients belong to the turn that made them until they are
 * sealed, then to the deliverer, then back to the turn, which frees them.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "natterd.h"

#define OUTBOX_NAP_MS	50	/* a waiter looks again after this */
#define DELIVER_NAP_MS	100	/* the deliverer looks for expired posts */
/* Posts a connection may have left to the deliverer, not yet out; past
 * this its next turn waits for them, so a sender never runs ahead of
 * delivery by more. */
#define POSTS_AHEAD_MAX	16

/* The variants of a post, bits of its index (post_var): server-time,
 * message-tags (msgid, client tags, bot), the alt text, account-tag. */
#define VAR_TIME	0x01
#define VAR_TAGS	0x02
#define VAR_ALT		0x04
#define VAR_ACCOUNT	0x08
#define VAR_MULTI	0x10	/* a multiline message as a batch */
#define POST_VARIANTS	32

enum post_state {
	POST_OPEN,		/* its command is running */
	POST_SEALED,
	POST_CANCELLING,	/* its turn takes it back from the store */
	POST_DRAINING,		/* being delivered */
	POST_DONE
};

struct post {
	struct post	*next;		/* outbox order, outbox.lock */
	struct post	*tnext;		/* the turn's posts */
	int64_t		 id;		/* place in the outbox */
	int64_t		 seq;		/* store row, 0 if none */
	int		 durable;	/* waits for seq's commit */
	int		 cancelled;	/* the store will never keep it */
	int		 keep;		/* delivered even so (struct line) */
	int		 left;		/* its turn did not wait: the
					   deliverer frees it (outbox.lock) */
	long long	 sealed_ms;	/* when its command ended (durable) */
	enum post_state	 state;		/* outbox.lock */
	struct conn	*actor;		/* the connection that made it */
	struct outlist	 payload;	/* the actor's output with it */
	struct conn	**to;
	unsigned char	*var;		/* each recipient's variant */
	int		 nto;
	int		 capto;
	int		 to_inline;	/* to and var are in strings[] */
	/* The line. */
	const char	*text;
	const char	*alt;
	unsigned	 alt_cap;
	int64_t		 time_ms;
	const char	*msgid;
	const char	*ctags;
	const char	*multi;		/* a multiline body, or NULL */
	const char	*account;	/* its sender's (account-tag), or NULL */
	int		 bot;		/* its sender was +B (bot-mode) */
	struct buf	*v[POST_VARIANTS];	/* made by the deliverer */
	struct buf	*fail;
	/* The recipients made room for at first (to, var), then the
	 * line's strings. */
	_Alignas(struct conn *) char strings[];
};

/* A turn waiting for its posts: woken alone when they are out. */
struct waiter {
	struct waiter	*next;
	int64_t		 id;		/* wants every post up to this out */
	int		 woken;
	pthread_cond_t	 cond;
};

static struct outbox {
	pthread_mutex_t	 lock;
	struct post	*head;
	struct post	*tail;
	int64_t		 next_id;
	int64_t		 done;		/* every post up to this is out */
	struct waiter	*waiters;
	pthread_mutex_t	 drain;
	atomic_int	 again;		/* someone wants a drain */
	/* The deliverer (with a history file): left posts the store must
	 * keep are delivered by it after their commit, or taken back. */
	int		 deliverer;	/* running: set before any client */
	int		 nleft_durable;	/* such posts not out yet */
	int		 stopping;
	pthread_cond_t	 dcond;		/* nleft_durable became > 0 */
	pthread_t	 dthread;
} outbox = {
	/* Held for a few instructions at a time by many threads: spin a
	 * little before sleeping. */
	.lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
	.drain = PTHREAD_MUTEX_INITIALIZER,
	.dcond = PTHREAD_COND_INITIALIZER,
};

static void	 turn_flush_chunk(struct turn *);
static void	 turn_label(struct turn *);
static void	 turn_cancel(struct turn *);
static void	 outbox_drain(struct turn *);
static void	 turn_leave(struct turn *);
static int	 post_leavable(const struct post *);
static int	 post_cancel(struct post *);
static void	 outbox_wait(struct turn *, int64_t);
static void	 outbox_wake_locked(void);
static int	 post_ready(const struct post *);
static void	 post_deliver(struct turn *, struct post *);
static struct buf *post_variant(struct post *, int);
static struct buf *post_fail(struct post *);
static void	 post_free(struct post *);
static void	 payload_deliver(struct turn *, struct conn *,
		    struct outlist *);

/* --- the turn's own output --- */

void
turn_begin(struct turn *t, struct conn *c, char *chunk, size_t chunkcap)
{
	memset(t, 0, sizeof(*t));
	t->conn = c;
	t->c = c->cl;
	t->chunk = chunk;
	t->chunkcap = chunkcap;
	t->backlog = conn_backlog(c);
}

/* Moves the lines gathered on the stack into t->out. */
static void
turn_flush_chunk(struct turn *t)
{
	struct buf *b;

	if (t->chunklen == 0)
		return;
	b = buf_new(t->chunklen);
	memcpy(b->data, t->chunk, t->chunklen);
	t->chunklen = 0;
	outlist_add(&t->out, b);
}

size_t
turn_pending(struct turn *t)
{
	/* What went with the turn's posts counts until the turn ends (a
	 * sealed post is the deliverer's to read, not ours). */
	return t->chunklen + t->out.bytes + t->attached;
}

void
turn_send(struct turn *t, struct buf *b)
{
	if (b->len <= t->chunkcap - t->chunklen) {
		memcpy(t->chunk + t->chunklen, b->data, b->len);
		t->chunklen += b->len;
		return;
	}
	turn_flush_chunk(t);
	outlist_add(&t->out, buf_ref(b));
}

void
turn_sendf(struct turn *t, const char *fmt, ...)
{
	struct buf *b;
	va_list ap;
	size_t room;
	int n;

	room = t->chunkcap - t->chunklen;
	if (room > OUT_LINE_MAX)
		room = OUT_LINE_MAX;
	if (room > 2) {
		/* The common reply: no allocation at all. */
		va_start(ap, fmt);
		n = vsnprintf(t->chunk + t->chunklen, room - 2, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < room - 2) {
			memcpy(t->chunk + t->chunklen + n, "\r\n", 2);
			t->chunklen += (size_t)n + 2;
			return;
		}
	}
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n + 2 > OUT_LINE_MAX) {
		/* Only lines not built from one input line get here. */
		b = buf_new(OUT_LINE_MAX);
		va_start(ap, fmt);
		vsnprintf(b->data, OUT_LINE_MAX - 2, fmt, ap);
		va_end(ap);
		n = (int)strlen(b->data);
		log_debug("output line cut to %d bytes", n);
	} else {
		b = buf_new((size_t)n + 3);
		va_start(ap, fmt);
		vsnprintf(b->data, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	memcpy(b->data + n, "\r\n", 2);
	b->len = (size_t)n + 2;
	turn_flush_chunk(t);
	outlist_add(&t->out, b);
}

/*
 * Cuts at least n bytes off the end of the word at w (len bytes; the
 * rest of the string follows it), never inside a UTF-8 character.
 */
static void
reply_cut(char *w, size_t len, size_t n)
{
	size_t keep = len - n;

	while (keep > 0 && ((unsigned char)w[keep] & 0xc0) == 0x80)
		keep--;
	memmove(w + keep, w + len, strlen(w + len) + 1);
}

/*
 * A reply echoes what the client sent: a name too long to be one, a
 * mask, a msgid.  When the line would pass IRC_LINE_MAX, its longest
 * middle parameter (that echo) is cut, else its trailing one; words
 * and framing stay as they are.  text is "NNN rest", used is what the
 * prefix, the nick and CRLF add.
 */
static void
reply_fit(char *text, size_t used)
{
	char *p, *w, *best = NULL, *trail = NULL;
	size_t len, bestlen = 0, over;

	len = used + strlen(text);
	if (len <= IRC_LINE_MAX)
		return;
	over = len - IRC_LINE_MAX;
	for (p = text + 3; *p == ' ' && p[1] != ':' && p[1] != '\0'; ) {
		w = ++p;
		p += strcspn(p, " ");
		if ((size_t)(p - w) > bestlen) {
			best = w;
			bestlen = (size_t)(p - w);
		}
	}
	if (*p == ' ' && p[1] == ':')
		trail = p + 2;
	if (best != NULL && bestlen > over)
		reply_cut(best, bestlen, over);
	else if (trail != NULL && strlen(trail) >= over)
		reply_cut(trail, strlen(trail), over);
}

void
reply(struct turn *t, const char *fmt, ...)
{
	char text[OUT_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* ":server " and " nick" around the code, CRLF. */
	reply_fit(text, 1 + strlen(config.server_name) + 1 + 1 +
	    strlen(t->c->nick) + 2);
	/* text is "NNN rest": the code, then what follows the nick. */
	turn_sendf(t, ":%s %.3s %s%s", config.server_name, text, t->c->nick,
	    text + 3);
}

void
turn_gen(struct turn *t, struct gen *g)
{
	turn_flush_chunk(t);
	outlist_add(&t->out, buf_gen(g));
}

void
turn_take(struct turn *t, struct outlist *out)
{
	turn_flush_chunk(t);
	outlist_move(out, &t->out);
}

void
batch_id(struct conn *c, char prefix, char *buf, size_t len)
{
	snprintf(buf, len, "%c%u", prefix, ++c->batch_seq);
}

/* --- commands and labels --- */

void
turn_command_begin(struct turn *t, const char *label)
{
	char esc[LABEL_MAX * 2 + 1];

	t->cmd_first = NULL;
	t->label[0] = '\0';
	t->mark_post = NULL;
	if (label == NULL)
		return;
	/* Written back escaped: a label never becomes a line of its own. */
	if (irc_tag_escape(label, esc, sizeof(esc)) == -1)
		return;
	snprintf(t->label, sizeof(t->label), "label=%s", esc);
	turn_flush_chunk(t);
	t->mark_idx = t->out.n;
}

/*
 * The lists that hold a labeled command's output, in order: the payloads
 * of its posts from mark_post on (the first from mark_idx), or t->out.
 */
struct label_span {
	struct outlist	**l;
	int		 n;
	int		 from;
	struct outlist	*one[1];
};

static void
label_span(struct turn *t, struct label_span *s)
{
	struct post *p;
	int n = 0;

	s->from = t->mark_idx;
	if (t->mark_post == NULL) {
		s->one[0] = &t->out;
		s->l = s->one;
		s->n = 1;
		return;
	}
	for (p = t->mark_post; p != NULL; p = p->tnext)
		n++;
	if ((s->l = calloc((size_t)n, sizeof(*s->l))) == NULL)
		fatal("label");
	s->n = 0;
	for (p = t->mark_post; p != NULL; p = p->tnext)
		s->l[s->n++] = &p->payload;
}

static void
label_span_free(struct label_span *s)
{
	if (s->l != s->one)
		free(s->l);
}

/* Inserts b at index i of l. */
static void
outlist_insert(struct outlist *l, int i, struct buf *b)
{
	struct item it;

	outlist_add(l, b);
	it = l->v[l->n - 1];
	memmove(&l->v[i + 1], &l->v[i],
	    (size_t)(l->n - 1 - i) * sizeof(l->v[0]));
	l->v[i] = it;
}

/*
 * labeled-response: no reply gets an ACK, one line gets the label, more
 * (or a generator) go in a labeled-response batch.
 */
static void
turn_label(struct turn *t)
{
	struct label_span s;
	struct item *it, *one = NULL;
	struct outlist *last;
	struct post *p;
	struct buf *b;
	const char *lp, *end;
	char id[16], tag[32];
	int k, i, lines = 0, npost, maybe = 0;

	label_span(t, &s);
	for (k = 0; k < s.n; k++) {
		for (i = k == 0 ? s.from : 0; i < s.l[k]->n; i++) {
			it = &s.l[k]->v[i];
			if (it->echo != NULL) {
				if (it->show == ITEM_SHOW) {
					lines++;
					one = it;
				} else if (it->echo->durable)
					maybe++;	/* a FAIL, perhaps */
			} else if (it->b->gen != NULL)
				lines += 2;
			else {
				lp = it->b->data;
				end = lp + it->b->len;
				while ((lp = memchr(lp, '\n',
				    (size_t)(end - lp))) != NULL && lp++ < end) {
					lines++;
					one = it;
				}
			}
		}
	}
	last = s.l[s.n - 1];
	if (lines == 0) {
		/* An ACK, unless the store could not keep the command's
		 * messages: then their FAILs, labeled, answer it. */
		npost = 0;
		for (k = 0; k < s.n; k++)
			for (i = k == 0 ? s.from : 0; i < s.l[k]->n; i++)
				if (s.l[k]->v[i].echo != NULL) {
					s.l[k]->v[i].show = ITEM_SILENT;
					npost++;
				}
		if (npost == 0) {
			outlist_add(last, buf_printf("@%s :%s ACK", t->label,
			    config.server_name));
			label_span_free(&s);
			return;
		}
		/* The posts of the command: mark_post and those after. */
		outlist_add_echo(last, t->mark_post, 0, ITEM_ACK);
		last->v[last->n - 1].tag = strdup(t->label);
		for (p = t->mark_post; p != NULL; p = p->tnext)
			last->v[last->n - 1].var++;
		label_span_free(&s);
		return;
	}
	/* One line, unless a message the store may not keep could add
	 * its FAIL: then a batch, which the FAIL can join. */
	if (lines == 1 && maybe == 0) {
		if (one->echo != NULL)
			one->tag = strdup(t->label);
		else {
			b = buf_add_tag(one->b, t->label);
			buf_unref(one->b);
			one->b = b;
		}
		label_span_free(&s);
		return;
	}
	batch_id(t->conn, 'L', id, sizeof(id));
	snprintf(tag, sizeof(tag), "batch=%s", id);
	for (k = 0; k < s.n; k++) {
		for (i = k == 0 ? s.from : 0; i < s.l[k]->n; i++) {
			it = &s.l[k]->v[i];
			if (it->echo != NULL)
				it->tag = strdup(tag);
			else if (it->b->gen != NULL)
				snprintf(it->b->gen->parent,
				    sizeof(it->b->gen->parent), "%s", tag);
			else {
				b = buf_tag_unbatched(it->b, tag);
				buf_unref(it->b);
				it->b = b;
			}
		}
	}
	outlist_insert(s.l[0], s.from, buf_printf("@%s :%s BATCH +%s "
	    "labeled-response", t->label, config.server_name, id));
	outlist_add(last, buf_printf(":%s BATCH -%s", config.server_name,
	    id));
	label_span_free(&s);
}

void
turn_command_end(struct turn *t)
{
	struct post *p;
	int waiters;

	turn_flush_chunk(t);
	/* The rest of the command's output goes with its last post. */
	if (t->cmd_first != NULL) {
		t->attached += t->out.bytes;
		outlist_move(&t->last->payload, &t->out);
	}
	if (t->label[0] != '\0')
		turn_label(t);
	t->label[0] = '\0';
	t->mark_post = NULL;
	if (t->cmd_first == NULL)
		return;
	/* Output for the actor rides on a post (an echo, a reply between
	 * posts, a label's; an item may name another post of the turn):
	 * the turn must see it out before what it writes itself.  And a
	 * post the store must keep may need taking back (turn_cancel). */
	for (p = t->cmd_first; p != NULL; p = p->tnext) {
		if (!post_leavable(p))
			t->must_wait = 1;
		if (p->durable)
			p->sealed_ms = mono_ms();
	}
	pthread_mutex_lock(&outbox.lock);
	for (p = t->cmd_first; p != NULL; p = p->tnext)
		p->state = POST_SEALED;
	waiters = outbox.waiters != NULL;
	pthread_mutex_unlock(&outbox.lock);
	t->cmd_first = NULL;
	/* Someone may be waiting behind these; otherwise turn_end drains,
	 * once for the whole read. */
	if (waiters > 0)
		outbox_drain(t);
}

/* --- posts --- */

struct post *
post_new_locked(struct turn *t, const struct line *l)
{
	return post_new_for_locked(t, l, 0);
}

struct post *
post_new_for_locked(struct turn *t, const struct line *l, int n)
{
	size_t lt, la, lm, lc, lml, lacc, lto;
	const char *acct;
	struct post *p;
	char *s;

	lt = strlen(l->text) + 1;
	la = l->alt != NULL ? strlen(l->alt) + 1 : 0;
	lm = l->msgid != NULL ? strlen(l->msgid) + 1 : 0;
	lc = l->ctags != NULL && l->ctags[0] != '\0' ? strlen(l->ctags) + 1 :
	    0;
	/* account-tag: the sender's account now, under the lock that
	 * guards it; whatever it does later, this line keeps it. */
	acct = l->src != NULL && l->src->account != NULL ?
	    account_name(l->src->account) : NULL;
	lacc = acct != NULL ? strlen(acct) + 1 : 0;
	lml = l->multi != NULL ? strlen(l->multi) + 1 : 0;
	/* Room for n recipients in the same block, pointers first. */
	lto = (size_t)n * (sizeof(*p->to) + 1);
	if ((p = calloc(1, sizeof(*p) + lto + lt + la + lm + lc + lml +
	    lacc)) == NULL)
		fatal("post");
	s = p->strings;
	if (n > 0) {
		p->to = (struct conn **)(void *)s;
		p->var = (unsigned char *)(p->to + n);
		p->capto = n;
		p->to_inline = 1;
		s += lto;
	}
	p->text = memcpy(s, l->text, lt);
	s += lt;
	if (la > 0) {
		p->alt = memcpy(s, l->alt, la);
		p->alt_cap = l->alt_cap;
		s += la;
	}
	if (lm > 0) {
		p->msgid = memcpy(s, l->msgid, lm);
		s += lm;
	}
	if (lc > 0) {
		p->ctags = memcpy(s, l->ctags, lc);
		s += lc;
	}
	if (lml > 0) {
		p->multi = memcpy(s, l->multi, lml);
		s += lml;
	}
	if (lacc > 0)
		p->account = memcpy(s, acct, lacc);
	/* bot-mode: as account-tag, what the sender is as it speaks. */
	p->bot = l->src != NULL && (l->src->flags & CLIENT_BOT);
	p->time_ms = l->time_ms;
	p->seq = l->seq;
	p->durable = l->seq > 0 && history_durable();
	p->keep = l->keep;
	p->actor = t->conn;
	p->state = POST_OPEN;

	/* What the command said since its previous post goes with that. */
	turn_flush_chunk(t);
	if (t->cmd_first != NULL) {
		t->attached += t->out.bytes;
		outlist_move(&t->last->payload, &t->out);
	} else if (t->label[0] != '\0' && t->mark_post == NULL)
		t->mark_post = p;	/* its payload starts with t->out */

	pthread_mutex_lock(&outbox.lock);
	p->id = ++outbox.next_id;
	if (outbox.tail != NULL)
		outbox.tail->next = p;
	else
		outbox.head = p;
	outbox.tail = p;
	pthread_mutex_unlock(&outbox.lock);

	if (t->last != NULL)
		t->last->tnext = p;
	else
		t->posts = p;
	t->last = p;
	if (t->cmd_first == NULL)
		t->cmd_first = p;
	t->nposts++;
	if (history_durable())
		t->wait_seq = store_last_seq();
	return p;
}

/* The variant of p for a client with caps. */
static int
post_var(const struct post *p, unsigned caps)
{
	int k = 0;

	if (p->time_ms != 0 && (caps & CAP(CAP_SERVER_TIME)))
		k |= VAR_TIME;
	if ((p->msgid != NULL || p->ctags != NULL || p->bot) &&
	    (caps & CAP(CAP_MESSAGE_TAGS)))
		k |= VAR_TAGS;
	if (p->alt != NULL && (caps & p->alt_cap))
		k |= VAR_ALT;
	if (p->account != NULL && (caps & CAP(CAP_ACCOUNT_TAG)))
		k |= VAR_ACCOUNT;
	if (p->multi != NULL && (caps & CAP(CAP_MULTILINE)) &&
	    (caps & CAP(CAP_BATCH)))
		k |= VAR_MULTI;
	return k;
}

void
post_reserve_locked(struct post *p, int n)
{
	struct conn **nto;
	unsigned char *nvar;

	if (n <= p->capto)
		return;
	/* One block: the recipients, then their variants. */
	if ((nto = malloc((size_t)n * (sizeof(*nto) + 1))) == NULL)
		fatal("post");
	nvar = (unsigned char *)(nto + n);
	if (p->nto > 0) {
		memcpy(nto, p->to, (size_t)p->nto * sizeof(*nto));
		memcpy(nvar, p->var, (size_t)p->nto);
	}
	if (!p->to_inline)
		free(p->to);
	p->to_inline = 0;
	p->to = nto;
	p->var = nvar;
	p->capto = n;
}

void
post_add_conn_locked(struct post *p, struct conn *to)
{
	if (p->nto == p->capto)
		post_reserve_locked(p, p->capto == 0 ? 8 : p->capto * 2);
	p->to[p->nto] = to;
	p->var[p->nto] = (unsigned char)post_var(p, to->caps);
	p->nto++;
}

/* One post of lines[from, end) for conn: their bytes in one buffer, or
 * a generator alone (it runs on conn's own thread, in its place). */
static struct post *
post_lines_run_locked(struct turn *t, struct conn *to, struct outlist *lines,
    int from, int end)
{
	struct post *p;
	struct line l;
	struct buf *b;
	size_t len = 0;
	int i;

	memset(&l, 0, sizeof(l));
	l.text = "";
	p = post_new_locked(t, &l);
	if (lines->v[from].b->gen != NULL)
		b = buf_ref(lines->v[from].b);
	else {
		for (i = from; i < end; i++)
			if (lines->v[i].b != NULL)
				len += lines->v[i].b->len;
		b = buf_new(len);
		for (len = 0, i = from; i < end; i++) {
			if (lines->v[i].b == NULL)
				continue;
			memcpy(b->data + len, lines->v[i].b->data,
			    lines->v[i].b->len);
			len += lines->v[i].b->len;
		}
	}
	/* Variant 0 is the only one a post without tags or alt has. */
	p->v[0] = b;
	post_add_conn_locked(p, to);
	return p;
}

struct post *
post_lines_locked(struct turn *t, struct conn *to, struct outlist *lines)
{
	struct post *p = NULL;
	int i, from = -1;

	for (i = 0; i <= lines->n; i++) {
		if (i < lines->n && lines->v[i].b == NULL)
			continue;
		if (i < lines->n && lines->v[i].b->gen == NULL) {
			if (from == -1)
				from = i;
			continue;
		}
		if (from != -1)
			p = post_lines_run_locked(t, to, lines, from, i);
		from = -1;
		if (i < lines->n)
			p = post_lines_run_locked(t, to, lines, i, i + 1);
	}
	outlist_free(lines);
	return p;
}

void
post_add_locked(struct post *p, struct client *to, unsigned caps)
{
	struct conn *k;

	for (k = to->conns; k != NULL; k = k->cnext)
		if (k != p->actor && (k->caps & caps) == caps)
			post_add_conn_locked(p, k);
}

void
turn_echo_locked(struct turn *t, struct post *p, int show)
{
	/* Nothing to show, no FAIL possible (the store need not keep
	 * it), no label to answer: no item. */
	if (!show && !p->durable && t->label[0] == '\0')
		return;
	turn_flush_chunk(t);
	outlist_add_echo(&t->out, p, post_var(p, t->conn->caps), show);
}

/* A variant with tags, apart from post_variant so that the big tag
 * buffer is on the stack only when a variant needs it: every delivery
 * runs below it otherwise, and an idle thread keeps what it touched. */
static __attribute__((noinline)) struct buf *
post_variant_tagged(struct post *p, int k, const char *text)
{
	char tags[IRC_TAGS_MAX + 1];

	line_tags(tags, sizeof(tags),
	    ((k & VAR_TIME) ? CAP(CAP_SERVER_TIME) : 0) |
	    ((k & VAR_TAGS) ? CAP(CAP_MESSAGE_TAGS) : 0) |
	    ((k & VAR_ACCOUNT) ? CAP(CAP_ACCOUNT_TAG) : 0), p->time_ms,
	    p->msgid, p->account, p->bot, p->ctags);
	return buf_tagged(tags, text);
}

/* A multiline message: a batch named after its msgid (one name for
 * every recipient), or its lines; msgid and client tags go on the
 * first line only, the time, account and bot tag on every one. */
static __attribute__((noinline)) struct buf *
post_variant_multi(struct post *p, int k)
{
	unsigned caps;
	struct buf *b;
	char *tags, *more;

	if ((tags = malloc(2 * (IRC_TAGS_MAX + 1))) == NULL)
		fatal("post");
	more = tags + IRC_TAGS_MAX + 1;
	caps = ((k & VAR_TIME) ? CAP(CAP_SERVER_TIME) : 0) |
	    ((k & VAR_TAGS) ? CAP(CAP_MESSAGE_TAGS) : 0) |
	    ((k & VAR_ACCOUNT) ? CAP(CAP_ACCOUNT_TAG) : 0);
	line_tags(tags, IRC_TAGS_MAX + 1, caps, p->time_ms, p->msgid,
	    p->account, p->bot, p->ctags);
	line_tags(more, IRC_TAGS_MAX + 1, caps, p->time_ms, NULL, p->account,
	    p->bot, NULL);
	b = multiline_lines(p->text, p->multi, tags, more,
	    (k & VAR_MULTI) ? p->msgid : NULL, NULL);
	free(tags);
	return b;
}

/* Formats variant k of p: time, msgid with client tags, the alt text,
 * the sender's account, a multiline batch. */
static struct buf *
post_variant(struct post *p, int k)
{
	const char *text;

	if (p->v[k] != NULL)
		return p->v[k];
	if (p->multi != NULL)
		return p->v[k] = post_variant_multi(p, k);
	text = (k & VAR_ALT) ? p->alt : p->text;
	if ((k & (VAR_TIME | VAR_TAGS | VAR_ACCOUNT)) == 0)
		p->v[k] = buf_str(text);
	else
		p->v[k] = post_variant_tagged(p, k, text);
	return p->v[k];
}

/* FAIL <cmd> TEMPORARILY_UNAVAILABLE <target>: p was never kept. */
static struct buf *
post_fail(struct post *p)
{
	char cmd[16], target[ROOM_NAME_MAX + NICK_MAX + 2];
	const char *s = p->text;

	if (p->fail != NULL)
		return p->fail;
	if (sscanf(s, ":%*s %15s %63s", cmd, target) != 2) {
		snprintf(cmd, sizeof(cmd), "*");
		snprintf(target, sizeof(target), "*");
	}
	p->fail = buf_printf(":%s FAIL %s TEMPORARILY_UNAVAILABLE %s "
	    ":Message not sent: the history store cannot keep it now",
	    config.server_name, cmd, target);
	return p->fail;
}

static void
post_free(struct post *p)
{
	int i;

	for (i = 0; i < POST_VARIANTS; i++)
		buf_unref(p->v[i]);
	buf_unref(p->fail);
	outlist_free(&p->payload);
	if (!p->to_inline)
		free(p->to);	/* and var, in the same block */
	free(p);
}

/* --- the outbox --- */

/*
 * Whether p's turn may leave it to the deliverer: it carries no output
 * for its actor, but for a message the store must keep the FAIL that
 * answers it if the store never does, which whoever delivers it gives
 * (the deliverer takes it back after --store-hold, outbox_expire).
 */
static int
post_leavable(const struct post *p)
{
	const struct item *it;

	if (p->keep || (p->durable && !outbox.deliverer))
		return 0;
	if (p->payload.n == 0)
		return 1;
	it = &p->payload.v[0];
	return p->payload.n == 1 && it->echo == p &&
	    it->show == ITEM_FAIL_ONLY && it->tag == NULL;
}

static int
post_ready(const struct post *p)
{
	if (p->state != POST_SEALED)
		return 0;
	return !p->durable || p->cancelled || p->seq <= store_committed();
}

/* The answer to a labeled command whose only effect was posts that
 * echo nothing: an ACK, or the FAIL of each post the store did not
 * keep (in a labeled-response batch if there are several). */
static void
payload_ack(struct turn *t, struct conn *c, struct item *it)
{
	struct post *p;
	struct buf *b, *tagged;
	char id[16], tag[32];
	int i, nfail = 0;

	for (p = it->echo, i = 0; p != NULL && i < it->var; p = p->tnext, i++)
		nfail += p->cancelled;
	if (nfail == 0) {
		b = buf_printf("@%s :%s ACK", it->tag, config.server_name);
		if (conn_enqueue(c, b, 1))
			pushlist_add(&t->push, c);
		buf_unref(b);
		return;
	}
	if (nfail > 1) {
		batch_id(c, 'L', id, sizeof(id));
		snprintf(tag, sizeof(tag), "batch=%s", id);
		b = buf_printf("@%s :%s BATCH +%s labeled-response", it->tag,
		    config.server_name, id);
		if (conn_enqueue(c, b, 1))
			pushlist_add(&t->push, c);
		buf_unref(b);
	}
	for (p = it->echo, i = 0; p != NULL && i < it->var; p = p->tnext, i++) {
		if (!p->cancelled)
			continue;
		tagged = buf_add_tag(post_fail(p), nfail > 1 ? tag : it->tag);
		if (conn_enqueue(c, tagged, 1))
			pushlist_add(&t->push, c);
		buf_unref(tagged);
	}
	if (nfail > 1) {
		b = buf_printf(":%s BATCH -%s", config.server_name, id);
		if (conn_enqueue(c, b, 1))
			pushlist_add(&t->push, c);
		buf_unref(b);
	}
}

/*
 * The actor's copy of p tagged with tag.  A multiline batch takes a
 * label on its BATCH line only (the spec), and a labeled-response
 * batch tag on its lines that are in no batch of their own.
 */
static struct buf *
echo_tag(const struct post *p, struct buf *b, const char *tag)
{
	if (p->multi == NULL || p->cancelled)
		return buf_add_tag(b, tag);
	if (strncmp(tag, "label=", 6) == 0)
		return buf_add_tag_first(b, tag);
	return buf_tag_unbatched(b, tag);
}

/* Queues payload's items on c, resolving echoes. */
static void
payload_deliver(struct turn *t, struct conn *c, struct outlist *l)
{
	struct item *it;
	struct buf *b, *tagged;
	int i;

	for (i = 0; i < l->n; i++) {
		it = &l->v[i];
		if (it->echo != NULL && it->show == ITEM_ACK) {
			payload_ack(t, c, it);
			continue;
		}
		if (it->echo != NULL) {
			if (it->show == ITEM_SILENT)
				continue;
			if (it->echo->cancelled)
				b = post_fail(it->echo);
			else if (it->show == ITEM_SHOW)
				b = post_variant(it->echo, it->var);
			else
				continue;
			if (it->tag != NULL) {
				tagged = echo_tag(it->echo, b, it->tag);
				if (conn_enqueue(c, tagged, 1))
					pushlist_add(&t->push, c);
				buf_unref(tagged);
				continue;
			}
		} else
			b = it->b;
		if (conn_enqueue(c, b, 1))
			pushlist_add(&t->push, c);
	}
	outlist_free(l);
}

static void
post_deliver(struct turn *t, struct post *p)
{
	int i;

	if (!p->cancelled)
		for (i = 0; i < p->nto; i++)
			if (conn_enqueue(p->to[i], post_variant(p,
			    p->var[i]), 0))
				pushlist_add(&t->push, p->to[i]);
	if (p->payload.n > 0)
		payload_deliver(t, p->actor, &p->payload);
}

/*
 * Delivers every ready post at the head of the outbox.  Whoever holds
 * outbox.drain goes on while anyone asks (again), so no request is lost
 * when this thread finds it busy.
 */
static void
outbox_drain(struct turn *t)
{
	struct post *p, *left = NULL;
	int n;

	atomic_store(&outbox.again, 1);
	while (atomic_load(&outbox.again)) {
		if (pthread_mutex_trylock(&outbox.drain) != 0)
			return;
		atomic_store(&outbox.again, 0);
		n = 0;
		pthread_mutex_lock(&outbox.lock);
		while ((p = outbox.head) != NULL && post_ready(p)) {
			outbox.head = p->next;
			if (outbox.head == NULL)
				outbox.tail = NULL;
			p->state = POST_DRAINING;
			pthread_mutex_unlock(&outbox.lock);
			post_deliver(t, p);
			pthread_mutex_lock(&outbox.lock);
			/* p is its turn's again from here on, or ours to
			 * free if the turn left it.  Its actor is counted
			 * down now: a later post (its QUIT) may let the
			 * connection be freed as soon as this lock drops. */
			p->state = POST_DONE;
			outbox.done = p->id;
			if (p->left) {
				atomic_fetch_sub(&p->actor->ahead, 1);
				if (p->durable)
					outbox.nleft_durable--;
				p->tnext = left;
				left = p;
			}
			n++;
		}
		if (n > 0)
			outbox_wake_locked();
		pthread_mutex_unlock(&outbox.lock);
		pthread_mutex_unlock(&outbox.drain);
		for (; left != NULL; left = p) {
			p = left->tnext;
			post_free(left);
		}
	}
}

/*
 * Leaves the turn's posts to whoever delivers them, which frees them:
 * none carries output for the actor, so nothing the turn writes next
 * has to wait for them.
 */
static void
turn_leave(struct turn *t)
{
	struct post *p, *next, *done = NULL;
	int n = 0, nd = 0;

	pthread_mutex_lock(&outbox.lock);
	for (p = t->posts; p != NULL; p = next) {
		next = p->tnext;
		if (p->state == POST_DONE) {
			p->tnext = done;
			done = p;
			continue;
		}
		p->left = 1;
		n++;
		if (p->durable) {
			/* Its FAIL, if any, comes before what the
			 * connection is told next (turn_end). */
			t->conn->left_fail_id = p->id;
			nd++;
		}
	}
	atomic_fetch_add(&t->conn->ahead, n);
	if (nd > 0) {
		outbox.nleft_durable += nd;
		pthread_cond_signal(&outbox.dcond);
	}
	pthread_mutex_unlock(&outbox.lock);
	for (; done != NULL; done = p) {
		p = done->tnext;
		post_free(done);
	}
	outbox_drain(t);
}

/* Wakes, each alone, the waiters whose posts are all out.  Caller
 * holds outbox.lock. */
static void
outbox_wake_locked(void)
{
	struct waiter **wp, *w;

	for (wp = &outbox.waiters; (w = *wp) != NULL;) {
		if (w->id > outbox.done) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		w->woken = 1;
		pthread_cond_signal(&w->cond);
	}
}

/* Returns once every post up to id is delivered. */
static void
outbox_wait(struct turn *t, int64_t id)
{
	struct waiter w, **wp;
	struct timespec ts;
	int done;

	memset(&w, 0, sizeof(w));
	w.id = id;
	pthread_cond_init(&w.cond, NULL);
	for (;;) {
		outbox_drain(t);
		pthread_mutex_lock(&outbox.lock);
		if ((done = outbox.done >= id) == 0) {
			/* Another turn's command or cancel holds the head;
			 * whoever delivers our posts wakes us.  Look again
			 * now and then all the same. */
			w.woken = 0;
			w.next = outbox.waiters;
			outbox.waiters = &w;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += OUTBOX_NAP_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!w.woken && pthread_cond_timedwait(&w.cond,
			    &outbox.lock, &ts) == 0)
				;
			if (!w.woken)
				for (wp = &outbox.waiters; *wp != NULL;
				    wp = &(*wp)->next)
					if (*wp == &w) {
						*wp = w.next;
						break;
					}
			done = outbox.done >= id;
		}
		pthread_mutex_unlock(&outbox.lock);
		if (done)
			break;
	}
	pthread_cond_destroy(&w.cond);
}

/*
 * Takes sealed, durable p back from the store.  Caller holds outbox.lock,
 * which is dropped meanwhile and held again on return: p is not ready
 * while it is taken back, so no drain delivers or frees it.  Returns 1
 * if p will go out as a FAIL, 0 if the store had committed it.
 */
static int
post_take_back_locked(struct post *p)
{
	int kept;

	p->state = POST_CANCELLING;
	pthread_mutex_unlock(&outbox.lock);
	kept = store_cancel(p->seq);
	pthread_mutex_lock(&outbox.lock);
	if (kept != 1)
		p->cancelled = 1;
	p->state = POST_SEALED;
	return kept != 1;
}

/*
 * The store did not keep p in time: take it back unless it committed
 * meanwhile.  Returns 1 if p will go out as a FAIL.
 */
static int
post_cancel(struct post *p)
{
	int failed;

	pthread_mutex_lock(&outbox.lock);
	if (!p->durable || p->state != POST_SEALED ||
	    p->seq <= store_committed()) {
		pthread_mutex_unlock(&outbox.lock);
		return 0;
	}
	if (p->keep) {
		/* Done already (a room's rename): it goes out, not waiting
		 * again, and its row stays queued, for the store to commit
		 * once it can; taking it back would leave the history
		 * under the old name for good. */
		p->durable = 0;
		pthread_mutex_unlock(&outbox.lock);
		log_warnx("%s: a room's rename goes out before its history "
		    "moved: the store cannot commit now", p->actor->ip);
		return 0;
	}
	failed = post_take_back_locked(p);
	pthread_mutex_unlock(&outbox.lock);
	return failed;
}

/* The store did not keep the turn's messages in time: take back each
 * one it has not committed. */
static void
turn_cancel(struct turn *t)
{
	struct post *p;
	int n = 0;

	for (p = t->posts; p != NULL; p = p->tnext)
		n += post_cancel(p);
	if (n > 0)
		log_warnx("%s: %d message%s not sent: the store cannot "
		    "commit", t->conn->ip, n, n == 1 ? "" : "s");
}

/*
 * Takes back the post at the head of the outbox if it was left to the
 * deliverer and the store has not kept it for --store-hold seconds
 * since its command ended, counting in *failed those that will go out
 * as a FAIL.  Returns 1 if it looked at one (deliver, then look again).
 */
static int
outbox_expire(int *failed)
{
	struct post *p;

	pthread_mutex_lock(&outbox.lock);
	p = outbox.head;
	if (p == NULL || !p->left || !p->durable || p->cancelled ||
	    p->state != POST_SEALED || p->seq <= store_committed() ||
	    mono_ms() - p->sealed_ms < config.store_hold * 1000LL) {
		pthread_mutex_unlock(&outbox.lock);
		return 0;
	}
	*failed += post_take_back_locked(p);
	pthread_mutex_unlock(&outbox.lock);
	return 1;
}

void
turn_end(struct turn *t)
{
	struct conn *c = t->conn;
	struct post *p, *next;

	/* The bound counts this read's posts too: one read of many short
	 * lines makes many. */
	if (t->posts != NULL && t->may_leave && !t->must_wait &&
	    atomic_load(&c->ahead) + t->nposts <= POSTS_AHEAD_MAX)
		turn_leave(t);
	else if (t->posts != NULL) {
		if (t->wait_seq > 0 && history_durable() &&
		    store_wait(t->wait_seq, config.store_hold * 1000) == -1)
			turn_cancel(t);
		outbox_wait(t, t->last->id);
		for (p = t->posts; p != NULL; p = next) {
			next = p->tnext;
			post_free(p);
		}
	}
	if (t->posts != NULL) {
		t->posts = t->last = t->cmd_first = NULL;
		t->wait_seq = 0;
		t->attached = 0;
		t->must_wait = 0;
		t->nposts = 0;
	}
	if (c->left_fail_id != 0 && (t->chunklen > 0 || t->out.n > 0)) {
		/* A message left to the deliverer may yet be answered by
		 * a FAIL: it comes before this. */
		outbox_wait(t, c->left_fail_id);
		c->left_fail_id = 0;
	}
	if (t->out.n == 0 && t->chunklen > 0) {
		/* The common case: straight from the stack. */
		(void)conn_send_direct(c, t->chunk, t->chunklen);
		t->chunklen = 0;
	} else {
		turn_flush_chunk(t);
		if (t->out.n > 0) {
			payload_deliver(t, c, &t->out);
			/* Written below with the others: c is in push. */
		}
	}
	pushlist_flush(&t->push);
}

/* --- the deliverer --- */

/*
 * With a history file, a turn leaves its messages to this thread: it
 * delivers them after each commit (their turns went back to reading, so
 * more rows join the next commit), and takes back what the store did
 * not keep in --store-hold seconds (outbox_expire), whose FAIL goes to
 * its sender.
 */
static void *
outbox_deliver_main(void *arg)
{
	struct turn t;
	int64_t seen;
	int failed;

	(void)arg;
	pthread_setname_np(pthread_self(), "natterd-deliver");
	memset(&t, 0, sizeof(t));
	seen = store_committed();
	pthread_mutex_lock(&outbox.lock);
	while (!outbox.stopping) {
		if (outbox.nleft_durable == 0) {
			pthread_cond_wait(&outbox.dcond, &outbox.lock);
			continue;
		}
		pthread_mutex_unlock(&outbox.lock);
		seen = store_wait_past(seen, DELIVER_NAP_MS);
		outbox_drain(&t);
		failed = 0;
		while (outbox_expire(&failed))
			outbox_drain(&t);
		pushlist_flush(&t.push);
		/* One line a pass, not one a message, in a long outage. */
		if (failed > 0)
			log_warnx("%d message%s not sent: the store cannot "
			    "commit", failed, failed == 1 ? "" : "s");
		pthread_mutex_lock(&outbox.lock);
	}
	pthread_mutex_unlock(&outbox.lock);
	pushlist_flush(&t.push);
	return NULL;
}

void
outbox_start(void)
{
	int rc;

	if (!history_durable())
		return;
	if ((rc = pthread_create(&outbox.dthread, NULL, outbox_deliver_main,
	    NULL)) != 0) {
		/* Turns then wait for the store themselves. */
		log_warnx("deliverer: pthread_create: %s", strerror(rc));
		return;
	}
	outbox.deliverer = 1;
}

void
outbox_stop(void)
{
	if (!outbox.deliverer)
		return;
	pthread_mutex_lock(&outbox.lock);
	outbox.stopping = 1;
	pthread_cond_signal(&outbox.dcond);
	pthread_mutex_unlock(&outbox.lock);
	pthread_join(outbox.dthread, NULL);
}
