/*
 * output.c: formatted lines and the per-client output queue.
 *
 * A line for many recipients is formatted once into a reference-counted
 * struct buf and queued on each.  Queuing never writes: the thread that
 * turns a recipient's queue from empty to non-empty adds the recipient
 * to its batch, and at batch_end() (after it has processed one read of
 * input and released server.lock) writes each recipient's whole queue
 * with one writev(MSG_DONTWAIT-like, the sockets are non-blocking).
 * What the kernel does not take stays queued, and the recipient's own
 * thread, woken once, writes it when the socket is writable.  A client
 * whose unsent output would pass its SendQ is disconnected instead, so
 * one stalled reader never slows a room down.  A TLS client's queue is
 * written by its own thread only, which the others wake.
 *
 * Each queue is guarded by its client's out_lock (see natterd.h for the
 * lock order: server.lock, then out_lock).  A batch holds a reference
 * on each client in it, so a client that quits meanwhile stays valid.
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

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "natterd.h"
#include "utf8.h"

#define OUTQ_IOV_MAX	64
#define TLS_GATHER	4096	/* bytes of small lines per TLS record */

struct buf *
buf_new(size_t len)
{
	struct buf *b;

	if ((b = malloc(sizeof(*b) + len)) == NULL)
		fatal("buf_new");
	atomic_init(&b->refs, 1);
	b->len = len;
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
	if (b != NULL &&
	    atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
}

static int
outq_push(struct outq *q, struct buf *b)
{
	struct buf **nr;
	unsigned i, ncap;

	if (q->count == q->cap) {
		ncap = q->cap == 0 ? 8 : q->cap * 2;
		if ((nr = malloc(ncap * sizeof(*nr))) == NULL)
			return -1;
		for (i = 0; i < q->count; i++)
			nr[i] = q->ring[(q->head + i) % q->cap];
		free(q->ring);
		q->ring = nr;
		q->cap = ncap;
		q->head = 0;
	}
	q->ring[(q->head + q->count) % q->cap] = buf_ref(b);
	q->count++;
	return 0;
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

/* Puts b in front of everything queued (the rest of a write that
 * must go out before what others queued meanwhile). */
static int
outq_push_front(struct outq *q, struct buf *b)
{
	if (outq_push(q, b) == -1)
		return -1;
	/* outq_push appended it; rotate it to the head. */
	q->head = (q->head + q->cap - 1) % q->cap;
	q->ring[q->head] = q->ring[(q->head + q->count) % q->cap];
	q->off = 0;
	return 0;
}

/*
 * Writes what the socket takes.  Caller holds c->out_lock, which is
 * dropped around each writev() so that threads queuing for c (under
 * server.lock) never wait for a system call; c->writing keeps this the
 * only writer meanwhile, and the queued bufs it writes from stay put
 * until it consumes them.  Returns -1 on a write error, else 0 (output
 * may remain queued: the socket is full, or another thread is writing).
 */
/*
 * outq_write_locked for a TLS client, on its own thread (an SSL is not
 * for two threads at once).  Small lines are gathered so that a record
 * carries many; a retry after SSL_ERROR_WANT_WRITE starts with the same
 * bytes and is never shorter, as OpenSSL requires.
 */
static int
outq_write_tls_locked(struct client *c)
{
	char gather[TLS_GATHER];
	struct outq *q = &c->q;
	struct buf *b;
	const char *p;
	size_t len, take;
	unsigned i;
	int w, rc = 0, e;

	c->writing = 1;
	while (q->count > 0) {
		b = q->ring[q->head];
		if (b->len - q->off >= sizeof(gather)) {
			p = b->data + q->off;
			len = b->len - q->off;
		} else {
			len = 0;
			for (i = 0; i < q->count && len < sizeof(gather); i++) {
				b = q->ring[(q->head + i) % q->cap];
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
	}
	c->writing = 0;
	return rc;
}

static int
outq_write_locked(struct client *c)
{
	struct iovec iov[OUTQ_IOV_MAX];
	struct outq *q = &c->q;
	struct buf *b;
	unsigned i, n;
	size_t total;
	ssize_t w;
	int rc = 0, err;

	if (c->writing)
		return 0;
	if (c->tls) {
		/* Others leave it to the owner, whom client_push wakes. */
		if (c != client_self || c->ssl == NULL ||
		    !SSL_is_init_finished(c->ssl))
			return 0;
		return outq_write_tls_locked(c);
	}
	c->writing = 1;
	while (q->count > 0) {
		n = q->count < OUTQ_IOV_MAX ? q->count : OUTQ_IOV_MAX;
		total = 0;
		for (i = 0; i < n; i++) {
			b = q->ring[(q->head + i) % q->cap];
			iov[i].iov_base = b->data;
			iov[i].iov_len = b->len;
			total += b->len;
		}
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
		if ((size_t)w < total)
			break;		/* the socket is full */
	}
	c->writing = 0;
	return rc;
}

/*
 * Another thread's write to c: what the socket takes now; the owner is
 * woken to wait for POLLOUT only if something is left and it does not
 * know yet.
 */
static void
client_push(struct client *c)
{
	pthread_mutex_lock(&c->out_lock);
	if (!c->closing) {
		if (outq_write_locked(c) == -1)
			client_kill_locked(c, "Write error");
		else if (c->q.count > 0 && !c->writing && !c->want_out) {
			c->want_out = 1;
			client_wake_locked(c);
		}
	}
	pthread_mutex_unlock(&c->out_lock);
}

#define BATCH_INLINE	32

struct batch {
	struct client	**v;		/* inl, or a heap array when larger */
	int		 n;
	int		 cap;
	int		 active;
	struct client	*inl[BATCH_INLINE];
	/* The batch owner's own output, gathered without allocating. */
	unsigned	 spills;	/* times out was moved to the queue */
	struct client	*self;
	char		*out;
	size_t		 outlen;
	size_t		 outcap;
};

static _Thread_local struct batch batch;

void
batch_begin(void)
{
	batch.active = 1;
	if (batch.v == NULL) {
		batch.v = batch.inl;
		batch.cap = BATCH_INLINE;
	}
}

void
batch_begin_self(struct client *c, char *out, size_t outcap)
{
	batch_begin();
	batch.self = c;
	batch.out = out;
	batch.outlen = 0;
	batch.outcap = outcap;
}

/* Moves the gathered own output into c's queue (in order). */
static void
batch_spill_locked(struct client *c)
{
	struct buf *b;

	if (batch.outlen == 0)
		return;
	b = buf_new(batch.outlen);
	memcpy(b->data, batch.out, batch.outlen);
	batch.outlen = 0;
	batch.spills++;
	if (outq_push(&c->q, b) == -1)
		client_kill_locked(c, "Out of memory");
	else
		c->q.bytes += b->len;
	buf_unref(b);
}

/*
 * Writes the owner's gathered output straight from the stack when
 * nothing is queued before it; only a part the socket did not take is
 * copied to the heap.
 */
static void
batch_flush_self(struct client *c)
{
	struct buf *b;
	ssize_t w;
	int err;

	pthread_mutex_lock(&c->out_lock);
	if (c->q.count == 0 && !c->writing && !c->tls) {
		c->writing = 1;
		pthread_mutex_unlock(&c->out_lock);
		w = send(c->fd, batch.out, batch.outlen,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		err = errno;
		pthread_mutex_lock(&c->out_lock);
		c->writing = 0;
		if (w < 0 && err != EAGAIN && err != EWOULDBLOCK &&
		    err != EINTR)
			client_kill_locked(c, "Write error");
		if (w < 0)
			w = 0;
		if ((size_t)w < batch.outlen) {
			/* Ahead of whatever others queued meanwhile. */
			b = buf_new(batch.outlen - (size_t)w);
			memcpy(b->data, batch.out + w, b->len);
			if (outq_push_front(&c->q, b) == -1)
				client_kill_locked(c, "Out of memory");
			else
				c->q.bytes += b->len;
			buf_unref(b);
		}
		batch.outlen = 0;
	}
	batch_spill_locked(c);
	/* Others may have queued for c while it was writing. */
	if (c->q.count > 0 && outq_write_locked(c) == -1)
		client_kill_locked(c, "Write error");
	pthread_mutex_unlock(&c->out_lock);
}

long
batch_mark(void)
{
	if (batch.self == NULL)
		return -1;
	/* A spill in between would move the start: note the count. */
	return (long)batch.spills << 32 | (long)batch.outlen;
}

struct buf *
buf_add_tag(const struct buf *b, const char *tag)
{
	size_t tl = strlen(tag);
	struct buf *n;

	if (b->len > 0 && b->data[0] == '@') {
		n = buf_new(b->len + tl + 1);
		n->data[0] = '@';
		memcpy(n->data + 1, tag, tl);
		n->data[1 + tl] = ';';
		memcpy(n->data + 2 + tl, b->data + 1, b->len - 1);
	} else {
		n = buf_new(b->len + tl + 2);
		n->data[0] = '@';
		memcpy(n->data + 1, tag, tl);
		n->data[1 + tl] = ' ';
		memcpy(n->data + 2 + tl, b->data, b->len);
	}
	return n;
}

static _Thread_local unsigned label_seq;

/* Appends to b (whose capacity the caller sized) like snprintf. */
static void
buf_appendf(struct buf *b, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
buf_appendf(struct buf *b, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < cap - b->len ? (size_t)n :
		    cap - b->len - 1;
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

void
batch_label(struct client *c, long mark, const char *label, int quiet_ok)
{
	char tag[IRC_TAGS_MAX + 1], id[16], *p, *end, *eol;
	struct buf *b, *one;
	size_t start, n = 0, len, cap;

	if (mark < 0 || (unsigned)(mark >> 32) != batch.spills ||
	    batch.self != c)
		return;		/* replies too long to gather: unlabeled */
	start = (size_t)(mark & 0xffffffffL);
	p = batch.out + start;
	end = batch.out + batch.outlen;
	for (eol = p; eol < end &&
	    (eol = memchr(eol, '\n', (size_t)(end - eol))) != NULL; eol++)
		n++;
	snprintf(tag, sizeof(tag), "label=%s", label);
	if (n == 0) {
		if (!quiet_ok)
			client_sendf(c, "@%s :%s ACK", tag, config.server_name);
		return;
	}
	len = (size_t)(end - p);
	if (n == 1) {
		one = buf_new(len);
		memcpy(one->data, p, len);
		b = buf_add_tag(one, tag);
		buf_unref(one);
	} else {
		/* BATCH +id, each line tagged batch=id unless it is inside
		 * a batch of its own, BATCH -id. */
		snprintf(id, sizeof(id), "L%u", ++label_seq);
		cap = len + n * (strlen(id) + 9) + strlen(tag) +
		    2 * strlen(config.server_name) + 2 * strlen(id) + 64;
		b = buf_new(cap);
		b->len = 0;
		buf_appendf(b, cap, "@%s :%s BATCH +%s labeled-response\r\n",
		    tag, config.server_name, id);
		while (p < end) {
			eol = memchr(p, '\n', (size_t)(end - p));
			len = eol != NULL ? (size_t)(eol - p) + 1 :
			    (size_t)(end - p);
			if (line_in_batch(p, len))
				buf_appendf(b, cap, "%.*s", (int)len, p);
			else if (p[0] == '@')
				buf_appendf(b, cap, "@batch=%s;%.*s", id,
				    (int)len - 1, p + 1);
			else
				buf_appendf(b, cap, "@batch=%s %.*s", id,
				    (int)len, p);
			p += len;
		}
		buf_appendf(b, cap, ":%s BATCH -%s\r\n", config.server_name,
		    id);
	}
	batch.outlen = start;
	client_send(c, b);
	buf_unref(b);
}

void
batch_end(void)
{
	int i;

	if (batch.self != NULL && batch.outlen > 0)
		batch_flush_self(batch.self);
	batch.self = NULL;
	batch.out = NULL;
	batch.outlen = batch.outcap = 0;
	batch.active = 0;
	for (i = 0; i < batch.n; i++) {
		client_push(batch.v[i]);
		client_unref(batch.v[i]);
	}
	batch.n = 0;
	if (batch.v != batch.inl) {
		/* A big room's burst; do not keep its array. */
		free(batch.v);
		batch.v = batch.inl;
		batch.cap = BATCH_INLINE;
	}
}

/* Adds c to this thread's batch; returns -1 if it cannot. */
static int
batch_add(struct client *c)
{
	struct client **nv;
	int ncap;

	if (batch.n == batch.cap) {
		ncap = batch.cap * 2;
		if ((nv = malloc((size_t)ncap * sizeof(*nv))) == NULL)
			return -1;
		memcpy(nv, batch.v, (size_t)batch.n * sizeof(*nv));
		if (batch.v != batch.inl)
			free(batch.v);
		batch.v = nv;
		batch.cap = ncap;
	}
	batch.v[batch.n++] = client_ref(c);
	return 0;
}

struct client *
client_ref(struct client *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void
client_unref(struct client *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		client_free(c);
}

void
client_send(struct client *c, struct buf *b)
{
	if (c == batch.self && b->len <= batch.outcap - batch.outlen) {
		memcpy(batch.out + batch.outlen, b->data, b->len);
		batch.outlen += b->len;
		return;
	}
	client_send_queued(c, b);
}

void
client_send_queued(struct client *c, struct buf *b)
{
	int was_empty;

	pthread_mutex_lock(&c->out_lock);
	if (c == batch.self)
		batch_spill_locked(c);
	if (c->closing) {
		pthread_mutex_unlock(&c->out_lock);
		return;
	}
	if (c->q.bytes + b->len > config.sendq) {
		client_kill_locked(c, "SendQ exceeded");
		pthread_mutex_unlock(&c->out_lock);
		return;
	}
	was_empty = c->q.count == 0;
	if (outq_push(&c->q, b) == -1) {
		client_kill_locked(c, "Out of memory");
		pthread_mutex_unlock(&c->out_lock);
		return;
	}
	c->q.bytes += b->len;
	pthread_mutex_unlock(&c->out_lock);
	/*
	 * Whoever fills an empty queue writes it out.  A non-empty queue is
	 * already someone's: a batch that will write it, or an owner that
	 * waits for POLLOUT.
	 */
	if (was_empty && (!batch.active || batch_add(c) == -1))
		client_push(c);
}

void
client_sendf(struct client *c, const char *fmt, ...)
{
	struct buf *b;
	va_list ap;
	size_t room;
	int n;

	if (c == batch.self && batch.outcap - batch.outlen > 2) {
		/* The common reply: no allocation at all. */
		room = batch.outcap - batch.outlen;
		if (room > OUT_LINE_MAX)
			room = OUT_LINE_MAX;
		va_start(ap, fmt);
		n = vsnprintf(batch.out + batch.outlen, room - 2, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < room - 2) {
			memcpy(batch.out + batch.outlen + n, "\r\n", 2);
			batch.outlen += (size_t)n + 2;
			return;
		}
	}
	va_start(ap, fmt);
	b = buf_vprintf(fmt, ap);
	va_end(ap);
	client_send(c, b);
	buf_unref(b);
}

void
reply(struct client *c, const char *fmt, ...)
{
	char text[OUT_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* text is "NNN rest": the code, then what follows the nick. */
	client_sendf(c, ":%s %.3s %s%s", config.server_name, text, c->nick,
	    text + 3);
}

int
client_flush_final(struct client *c)
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
	(void)outq_write_locked(c);
	done = c->q.count == 0;
	pthread_mutex_unlock(&c->out_lock);
	return done;
}

int
client_flush(struct client *c)
{
	int rc;

	pthread_mutex_lock(&c->out_lock);
	rc = outq_write_locked(c);
	pthread_mutex_unlock(&c->out_lock);
	return rc;
}
