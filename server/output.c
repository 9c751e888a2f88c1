/*
 * output.c: formatted lines and the per-client output queue.
 *
 * A line for many recipients is formatted once into a reference-counted
 * struct buf and queued on each (conn_enqueue).  Queuing never writes:
 * whoever turns a recipient's queue from empty to non-empty pushes it
 * later, after its locks are released (struct pushlist), with one
 * writev() for everything queued.  What the kernel does not take stays
 * queued, and the recipient's own thread, woken once, writes it when the
 * socket is writable.  A TLS client's queue is written by its own thread
 * only, which the others wake.
 *
 * A queue may also hold generators (struct gen): replies made as the
 * socket drains.  Writers stop at one; the owner's thread expands it
 * when it reaches the head (conn_flush).
 *
 * SendQ: every byte that enters a queue counts, the client's own replies
 * included.  A queue may pass config.sendq while its reader keeps
 * reading; a client is dropped when it holds more than config.sendq and
 * has not drained anything for config.sendq_timeout seconds, or at once
 * when its queue would pass sendq_hard(), which bounds memory.
 *
 * Each queue is guarded by its client's out_lock (natterd.h has the lock
 * order).  A pushlist holds a reference on each client in it, so a
 * client that quits meanwhile stays valid.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "natterd.h"
#include "utf8.h"

#define OUTQ_IOV_MAX	64
#define TLS_GATHER	4096	/* bytes of small lines per TLS record */
#define GEN_STEPS	4	/* generator steps per flush, then poll */
#define WEB_OUT_BATCH	16384	/* bytes of lines handed to wslay at once */
#define SENDQ_HARD_MIN	(1024 * 1024)

long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct buf *
buf_new(size_t len)
{
	struct buf *b;

	if ((b = malloc(sizeof(*b) + len)) == NULL)
		fatal("buf_new");
	atomic_init(&b->refs, 1);
	b->len = len;
	b->gen = NULL;
	return b;
}

struct buf *
buf_gen(struct gen *g)
{
	struct buf *b = buf_new(0);

	/* No bytes to write, but a cost: see GEN_COST. */
	b->len = GEN_COST;
	b->gen = g;
	return b;
}

static struct buf *
buf_vprintf(const char *fmt, va_list ap)
{
	char line[OUT_LINE_MAX];
	struct buf *b;
	int n;

	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - 2) {
		/* Only reachable from lines not built from one input line. */
		n = (int)utf8_cut(line, sizeof(line) - 3, sizeof(line) - 3);
		log_debug("output line cut to %d bytes", n);
	}
	b = buf_new((size_t)n + 2);
	memcpy(b->data, line, (size_t)n);
	b->data[n] = '\r';
	b->data[n + 1] = '\n';
	return b;
}

/* buf_printf("%s", s) without the formatting: the hot path's copy. */
struct buf *
buf_str(const char *s)
{
	size_t n = strlen(s);
	struct buf *b;

	if (n > OUT_LINE_MAX - 3) {
		n = utf8_cut(s, OUT_LINE_MAX - 3, OUT_LINE_MAX - 3);
		log_debug("output line cut to %zu bytes", n);
	}
	b = buf_new(n + 2);
	memcpy(b->data, s, n);
	b->data[n] = '\r';
	b->data[n + 1] = '\n';
	return b;
}

/* buf_printf_long("@%s %s", tags, text) without the formatting. */
struct buf *
buf_tagged(const char *tags, const char *text)
{
	size_t nt = strlen(tags), nx = strlen(text);
	struct buf *b;

	b = buf_new(nt + nx + 4);
	b->data[0] = '@';
	memcpy(b->data + 1, tags, nt);
	b->data[nt + 1] = ' ';
	memcpy(b->data + nt + 2, text, nx);
	b->data[nt + nx + 2] = '\r';
	b->data[nt + nx + 3] = '\n';
	return b;
}

struct buf *
buf_printf(const char *fmt, ...)
{
	struct buf *b;
	va_list ap;

	va_start(ap, fmt);
	b = buf_vprintf(fmt, ap);
	va_end(ap);
	return b;
}

struct buf *
buf_printf_long(const char *fmt, ...)
{
	struct buf *b;
	va_list ap;
	char probe[1];
	int n;

	/* Measure first: tags can make the line up to 8 KiB longer.  (The
	 * NULL test quiets a false -Wformat-truncation under UBSan.) */
	if (fmt == NULL)
		fmt = "";
	va_start(ap, fmt);
	n = vsnprintf(probe, sizeof(probe), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	b = buf_new((size_t)n + 3);
	va_start(ap, fmt);
	vsnprintf(b->data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->data[n] = '\r';
	b->data[n + 1] = '\n';
	b->len = (size_t)n + 2;
	return b;
}

struct buf *
buf_ref(struct buf *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

void
buf_unref(struct buf *b)
{
	if (b == NULL ||
	    atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (b->gen != NULL)
		b->gen->free(b->gen);
	free(b);
}

struct buf *
buf_add_tag(const struct buf *b, const char *tag)
{
	const char *p = b->data, *end = b->data + b->len, *eol;
	size_t tl = strlen(tag), nlines = 0, len;
	struct buf *n;
	char *o;

	for (eol = p; eol < end &&
	    (eol = memchr(eol, '\n', (size_t)(end - eol))) != NULL; eol++)
		nlines++;
	n = buf_new(b->len + (nlines + 1) * (tl + 2));
	o = n->data;
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		len = eol != NULL ? (size_t)(eol - p) + 1 : (size_t)(end - p);
		*o++ = '@';
		memcpy(o, tag, tl);
		o += tl;
		if (p[0] == '@') {
			*o++ = ';';
			memcpy(o, p + 1, len - 1);
			o += len - 1;
		} else {
			*o++ = ' ';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	n->len = (size_t)(o - n->data);
	return n;
}

struct buf *
buf_add_tag_first(const struct buf *b, const char *tag)
{
	const char *eol = memchr(b->data, '\n', b->len);
	struct buf *one, *n;
	size_t first;

	first = eol != NULL ? (size_t)(eol - b->data) + 1 : b->len;
	one = buf_new(first);
	memcpy(one->data, b->data, first);
	n = buf_add_tag(one, tag);
	buf_unref(one);
	if (first == b->len)
		return n;
	one = buf_new(n->len + b->len - first);
	memcpy(one->data, n->data, n->len);
	memcpy(one->data + n->len, b->data + first, b->len - first);
	buf_unref(n);
	return one;
}

/* 1 if the line at p (len bytes) already carries a batch tag. */
static int
line_in_batch(const char *p, size_t len)
{
	const char *sp;

	if (len == 0 || p[0] != '@')
		return 0;
	if ((sp = memchr(p, ' ', len)) == NULL)
		return 0;
	return strncmp(p, "@batch=", 7) == 0 ||
	    memmem(p, (size_t)(sp - p), ";batch=", 7) != NULL;
}

/* b's lines, each tagged with tag unless it is in a batch already. */
struct buf *
buf_tag_unbatched(const struct buf *b, const char *tag)
{
	const char *p = b->data, *end = b->data + b->len, *eol;
	struct buf *n, *one, *tagged;
	size_t len, cap = b->len + 64;

	n = buf_new(cap);
	n->len = 0;
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		len = eol != NULL ? (size_t)(eol - p) + 1 : (size_t)(end - p);
		if (line_in_batch(p, len)) {
			one = buf_new(len);
			memcpy(one->data, p, len);
			tagged = one;
		} else {
			one = buf_new(len);
			memcpy(one->data, p, len);
			tagged = buf_add_tag(one, tag);
			buf_unref(one);
		}
		if (n->len + tagged->len > cap) {
			cap = (n->len + tagged->len) * 2;
			one = buf_new(cap);
			memcpy(one->data, n->data, n->len);
			one->len = n->len;
			buf_unref(n);
			n = one;
		}
		memcpy(n->data + n->len, tagged->data, tagged->len);
		n->len += tagged->len;
		buf_unref(tagged);
		p += len;
	}
	return n;
}

/* --- lists of output on their way to a queue --- */

static void
outlist_grow(struct outlist *l)
{
	struct item *nv;
	int ncap;

	if (l->n < l->cap)
		return;
	ncap = l->cap == 0 ? 8 : l->cap * 2;
	if ((nv = reallocarray(l->v, (size_t)ncap, sizeof(*nv))) == NULL)
		fatal("outlist");
	l->v = nv;
	l->cap = ncap;
}

void
outlist_add(struct outlist *l, struct buf *b)
{
	outlist_grow(l);
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n++].b = b;
	l->bytes += b->len;
}

void
outlist_add_echo(struct outlist *l, struct post *p, int var, int show)
{
	outlist_grow(l);
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n].echo = p;
	l->v[l->n].var = (unsigned char)var;
	l->v[l->n].show = (unsigned char)show;
	l->n++;
}

void
outlist_free(struct outlist *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		buf_unref(l->v[i].b);
		free(l->v[i].tag);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
outlist_move(struct outlist *dst, struct outlist *src)
{
	int i;

	if (dst->n == 0) {
		outlist_free(dst);
		*dst = *src;
		memset(src, 0, sizeof(*src));
		return;
	}
	for (i = 0; i < src->n; i++) {
		outlist_grow(dst);
		dst->v[dst->n++] = src->v[i];
	}
	dst->bytes += src->bytes;
	free(src->v);
	memset(src, 0, sizeof(*src));
}

/* --- the queue --- */

static void
outq_grow(struct outq *q)
{
	struct buf **nr;
	unsigned i, ncap;

	if (q->count < q->cap)
		return;
	ncap = q->cap == 0 ? 8 : q->cap * 2;
	if ((nr = malloc(ncap * sizeof(*nr))) == NULL)
		fatal("outq");
	for (i = 0; i < q->count; i++)
		nr[i] = q->ring[(q->head + i) % q->cap];
	free(q->ring);
	q->ring = nr;
	q->cap = ncap;
	q->head = 0;
}

static void
outq_push(struct outq *q, struct buf *b)
{
	outq_grow(q);
	q->ring[(q->head + q->count) % q->cap] = buf_ref(b);
	q->count++;
	q->bytes += b->len;
}

/* Puts b in front of everything queued; only when nothing of the head
 * has been sent (q->off is 0). */
static void
outq_push_front(struct outq *q, struct buf *b)
{
	outq_grow(q);
	q->head = (q->head + q->cap - 1) % q->cap;
	q->ring[q->head] = buf_ref(b);
	q->count++;
	q->bytes += b->len;
}

static struct buf *
outq_pop_front(struct outq *q)
{
	struct buf *b = q->ring[q->head];

	q->head = (q->head + 1) % q->cap;
	q->count--;
	q->bytes -= b->len - q->off;
	q->off = 0;
	return b;
}

/* Drops n sent bytes from the front of q. */
static void
outq_consume(struct outq *q, size_t n)
{
	struct buf *b;
	size_t left;

	q->bytes -= n;
	while (n > 0 && q->count > 0) {
		b = q->ring[q->head];
		left = b->len - q->off;
		if (n < left) {
			q->off += n;
			return;
		}
		n -= left;
		buf_unref(b);
		q->head = (q->head + 1) % q->cap;
		q->count--;
		q->off = 0;
	}
	if (q->count == 0 && q->cap > 64) {
		/* A burst grew the ring; give the memory back. */
		free(q->ring);
		q->ring = NULL;
		q->cap = 0;
		q->head = 0;
	}
}

void
outq_clear(struct outq *q)
{
	while (q->count > 0) {
		buf_unref(q->ring[q->head]);
		q->head = (q->head + 1) % q->cap;
		q->count--;
	}
	free(q->ring);
	memset(q, 0, sizeof(*q));
}

size_t
sendq_hard(void)
{
	size_t hard = config.sendq * 4;

	return hard > SENDQ_HARD_MIN ? hard : SENDQ_HARD_MIN;
}

size_t
conn_backlog(struct conn *c)
{
	size_t n;

	pthread_mutex_lock(&c->out_lock);
	n = c->q.bytes;
	pthread_mutex_unlock(&c->out_lock);
	return n;
}

long long
conn_stall_deadline(struct conn *c)
{
	long long due = 0;

	pthread_mutex_lock(&c->out_lock);
	if (c->q.bytes > config.sendq)
		due = c->drained_ms + config.sendq_timeout * 1000LL;
	pthread_mutex_unlock(&c->out_lock);
	return due;
}

/* 0, or -1 after dropping c for what adding len bytes would do. */
static int
sendq_check_locked(struct conn *c, size_t len)
{
	if (c->q.bytes + len > sendq_hard()) {
		conn_kill_locked(c, "SendQ exceeded");
		return -1;
	}
	if (c->q.bytes > config.sendq &&
	    mono_ms() - c->drained_ms > config.sendq_timeout * 1000LL) {
		conn_kill_locked(c, "SendQ exceeded");
		return -1;
	}
	return 0;
}

int
conn_enqueue(struct conn *c, struct buf *b, int own)
{
	int was_empty;

	pthread_mutex_lock(&c->out_lock);
	/* A closing client still gets its own last replies, written
	 * before its ERROR line; nothing more from others. */
	if ((c->closing && !own) || sendq_check_locked(c, b->len) == -1) {
		pthread_mutex_unlock(&c->out_lock);
		return 0;
	}
	was_empty = c->q.count == 0;
	if (was_empty)
		c->drained_ms = mono_ms();
	outq_push(&c->q, b);
	pthread_mutex_unlock(&c->out_lock);
	return was_empty;
}

/*
 * outq_write_locked for a TLS client, on its own thread (an SSL is not
 * for two threads at once).  Small lines are gathered so that a record
 * carries many; a retry after SSL_ERROR_WANT_WRITE starts with the same
 * bytes and is never shorter, as OpenSSL requires.
 */
static int
outq_write_tls_locked(struct conn *c)
{
	char gather[TLS_GATHER];
	struct outq *q = &c->q;
	struct buf *b;
	const char *p;
	size_t len, take;
	unsigned i;
	int w, rc = 0, e;

	c->writing = 1;
	while (q->count > 0 && q->ring[q->head]->gen == NULL) {
		b = q->ring[q->head];
		if (b->len - q->off >= sizeof(gather)) {
			p = b->data + q->off;
			len = b->len - q->off;
		} else {
			len = 0;
			for (i = 0; i < q->count && len < sizeof(gather); i++) {
				b = q->ring[(q->head + i) % q->cap];
				if (b->gen != NULL)
					break;
				take = b->len - (i == 0 ? q->off : 0);
				if (take > sizeof(gather) - len)
					take = sizeof(gather) - len;
				memcpy(gather + len, b->data + (i == 0 ?
				    q->off : 0), take);
				len += take;
			}
			p = gather;
		}
		pthread_mutex_unlock(&c->out_lock);
		ERR_clear_error();
		w = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
		e = w > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, w);
		ERR_clear_error();
		pthread_mutex_lock(&c->out_lock);
		if (w <= 0) {
			if (e != SSL_ERROR_WANT_WRITE &&
			    e != SSL_ERROR_WANT_READ &&
			    !(e == SSL_ERROR_SYSCALL && errno == EINTR))
				rc = -1;
			break;
		}
		outq_consume(q, (size_t)w);
		c->drained_ms = mono_ms();
	}
	c->writing = 0;
	return rc;
}

/*
 * outq_write_locked for a connection on the web port: what web.c holds
 * goes first (an HTTP answer, frames wslay has not sent), then whole
 * lines move from the queue into wslay, a batch at a time, each to be
 * one WebSocket message.  Only as fast as the socket takes them, so
 * the queue and its SendQ stay the measure of what c has not read.
 */
static int
outq_write_web_locked(struct conn *c)
{
	struct outq *q = &c->q;
	struct buf *b;
	const char *p, *nl;
	size_t n, moved;
	int rc = 0, r;

	c->writing = 1;
	for (;;) {
		pthread_mutex_unlock(&c->out_lock);
		r = web_send(c);
		pthread_mutex_lock(&c->out_lock);
		if (r <= 0) {
			rc = r;
			break;
		}
		if (!web_framing(c))
			break;
		for (moved = 0; q->count > 0 && moved < WEB_OUT_BATCH;
		    moved += n) {
			b = q->ring[q->head];
			if (b->gen != NULL)
				break;
			p = b->data + q->off;
			nl = memchr(p, '\n', b->len - q->off);
			n = nl != NULL ? (size_t)(nl + 1 - p) : b->len - q->off;
			if (web_queue_line(c, p, n) == -1) {
				rc = -1;
				break;
			}
			outq_consume(q, n);
		}
		if (rc == -1 || moved == 0)
			break;
		c->drained_ms = mono_ms();
	}
	c->writing = 0;
	return rc;
}

/*
 * Writes what the socket takes, up to the first generator.  Caller holds
 * c->out_lock, which is dropped around each writev() so that threads
 * queuing for c never wait for a system call; c->writing keeps this the
 * only writer meanwhile, and the queued bufs it writes from stay put
 * until it consumes them.  owner: called on c's own thread.  Returns -1
 * on a write error, else 0 (output may remain queued: the socket is
 * full, a generator is next, or another thread is writing).
 */
static int
outq_write_locked(struct conn *c, int owner)
{
	struct iovec iov[OUTQ_IOV_MAX];
	struct outq *q = &c->q;
	struct buf *b;
	unsigned n;
	size_t total;
	ssize_t w;
	int rc = 0, err;

	if (c->writing)
		return 0;
	if (c->web != NULL) {
		/* Framed on the owner's thread, like TLS (web.c). */
		if (!owner)
			return 0;
		return outq_write_web_locked(c);
	}
	if (c->tls) {
		/* Others leave it to the owner, whom conn_push wakes. */
		if (!owner || c->ssl == NULL || !SSL_is_init_finished(c->ssl))
			return 0;
		return outq_write_tls_locked(c);
	}
	c->writing = 1;
	while (q->count > 0) {
		total = 0;
		for (n = 0; n < q->count && n < OUTQ_IOV_MAX; n++) {
			b = q->ring[(q->head + n) % q->cap];
			if (b->gen != NULL)
				break;
			iov[n].iov_base = b->data;
			iov[n].iov_len = b->len;
			total += b->len;
		}
		if (n == 0)
			break;		/* a generator is next */
		iov[0].iov_base = (char *)iov[0].iov_base + q->off;
		iov[0].iov_len -= q->off;
		total -= q->off;
		pthread_mutex_unlock(&c->out_lock);
		w = writev(c->fd, iov, (int)n);
		err = errno;
		pthread_mutex_lock(&c->out_lock);
		if (w < 0) {
			if (err == EINTR)
				continue;
			if (err != EAGAIN && err != EWOULDBLOCK)
				rc = -1;
			break;
		}
		outq_consume(q, (size_t)w);
		c->drained_ms = mono_ms();
		if ((size_t)w < total)
			break;		/* the socket is full */
	}
	c->writing = 0;
	return rc;
}

void
conn_push(struct conn *c)
{
	pthread_mutex_lock(&c->out_lock);
	if (!c->closing) {
		if (outq_write_locked(c, 0) == -1)
			conn_kill_locked(c, "Write error");
		else if (c->q.count > 0 && !c->writing && !c->want_out) {
			c->want_out = 1;
			conn_wake_locked(c);
		}
	}
	pthread_mutex_unlock(&c->out_lock);
}

void
pushlist_add(struct pushlist *pl, struct conn *c)
{
	struct conn **nv;
	int ncap;

	if (pl->v == NULL) {
		pl->v = pl->inl;
		pl->cap = (int)(sizeof(pl->inl) / sizeof(pl->inl[0]));
	}
	if (pl->n == pl->cap) {
		ncap = pl->cap * 2;
		if ((nv = malloc((size_t)ncap * sizeof(*nv))) == NULL) {
			/* Write it now rather than lose track of it. */
			conn_push(c);
			return;
		}
		memcpy(nv, pl->v, (size_t)pl->n * sizeof(*nv));
		if (pl->v != pl->inl)
			free(pl->v);
		pl->v = nv;
		pl->cap = ncap;
	}
	pl->v[pl->n++] = conn_ref(c);
}

void
pushlist_flush(struct pushlist *pl)
{
	int i;

	for (i = 0; i < pl->n; i++) {
		conn_push(pl->v[i]);
		conn_unref(pl->v[i]);
	}
	pl->n = 0;
	if (pl->v != pl->inl && pl->v != NULL) {
		/* A big room's burst; do not keep its array. */
		free(pl->v);
		pl->v = pl->inl;
		pl->cap = (int)(sizeof(pl->inl) / sizeof(pl->inl[0]));
	}
}

/*
 * Runs one step of the generator at the head of c's queue, with the lock
 * dropped, and puts what it made in front of it; the generator goes when
 * it is done.  Caller holds out_lock; c->writing keeps others off.
 */
static void
outq_expand_locked(struct conn *c)
{
	struct outq *q = &c->q;
	struct outlist out;
	struct buf *g, *b;
	int done, i;

	g = outq_pop_front(q);
	c->writing = 1;
	pthread_mutex_unlock(&c->out_lock);
	memset(&out, 0, sizeof(out));
	done = g->gen->step(g->gen, c, &out);
	for (i = 0; i < out.n && g->gen->parent[0] != '\0'; i++) {
		if (out.v[i].b == NULL || out.v[i].b->gen != NULL)
			continue;
		/* Inside a labeled-response batch. */
		b = buf_tag_unbatched(out.v[i].b, g->gen->parent);
		out.bytes += b->len - out.v[i].b->len;
		buf_unref(out.v[i].b);
		out.v[i].b = b;
	}
	if (done) {
		buf_unref(g);	/* frees it, maybe clients it held: no lock */
		g = NULL;
	}
	pthread_mutex_lock(&c->out_lock);
	c->writing = 0;
	if (g != NULL) {
		outq_push_front(q, g);
		buf_unref(g);
	}
	if (out.bytes > 0 && sendq_check_locked(c, out.bytes) == -1) {
		outlist_free(&out);
		return;
	}
	for (i = out.n - 1; i >= 0; i--)
		if (out.v[i].b != NULL)
			outq_push_front(q, out.v[i].b);
	outlist_free(&out);
}

int
conn_flush(struct conn *c)
{
	int rc, steps = 0;

	pthread_mutex_lock(&c->out_lock);
	for (;;) {
		rc = outq_write_locked(c, 1);
		if (rc == -1 || c->closing || c->writing || c->q.count == 0 ||
		    c->q.off != 0 || c->q.ring[c->q.head]->gen == NULL ||
		    steps++ == GEN_STEPS)
			break;
		outq_expand_locked(c);
	}
	pthread_mutex_unlock(&c->out_lock);
	return rc;
}

int
conn_send_direct(struct conn *c, const char *p, size_t n)
{
	struct buf *b;
	ssize_t w = 0;
	int err, left, sent = 0;

	/* Even when closing: its last replies go out before the ERROR. */
	pthread_mutex_lock(&c->out_lock);
	if (c->q.count == 0 && !c->writing && !c->tls && c->web == NULL) {
		c->writing = 1;
		sent = 1;
		pthread_mutex_unlock(&c->out_lock);
		w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		err = errno;
		pthread_mutex_lock(&c->out_lock);
		c->writing = 0;
		if (w < 0 && err != EAGAIN && err != EWOULDBLOCK &&
		    err != EINTR)
			conn_kill_locked(c, "Write error");
		if (w < 0)
			w = 0;
		c->drained_ms = mono_ms();
	}
	if ((size_t)w < n && sendq_check_locked(c, n - (size_t)w) == 0) {
		b = buf_new(n - (size_t)w);
		memcpy(b->data, p + w, b->len);
		if (c->q.count == 0)
			c->drained_ms = mono_ms();
		/* The rest of what went out first stays first: others may
		 * have queued behind it meanwhile, but nobody wrote. */
		if (sent)
			outq_push_front(&c->q, b);
		else
			outq_push(&c->q, b);
		buf_unref(b);
	}
	left = c->q.count > 0;
	pthread_mutex_unlock(&c->out_lock);
	return left;
}

struct conn *
conn_ref(struct conn *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void
conn_unref(struct conn *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		conn_free(c);
}

int
conn_flush_final(struct conn *c)
{
	int done;

	pthread_mutex_lock(&c->out_lock);
	/* c is closing, so no new writer starts; one already in writev()
	 * finishes in a moment. */
	while (c->writing) {
		pthread_mutex_unlock(&c->out_lock);
		sched_yield();
		pthread_mutex_lock(&c->out_lock);
	}
	(void)outq_write_locked(c, 1);
	done = c->q.count == 0;
	pthread_mutex_unlock(&c->out_lock);
	return done;
}
