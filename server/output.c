/*
 * output.c: formatted lines and the per-client output queue.
 *
 * A line for many recipients is formatted once into a reference-counted
 * struct buf and queued on each.  The fast path: when a recipient's
 * queue is empty the sender writes straight to its socket with
 * MSG_DONTWAIT and queues only what the kernel did not take.  The
 * recipient's own thread flushes the rest when the socket is writable.
 * A client whose unsent output would pass its SendQ is disconnected
 * instead, so one stalled reader never slows a room down.
 *
 * Each queue is guarded by its client's out_lock (see natterd.h for the
 * lock order: server.lock, then out_lock).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "natterd.h"
#include "utf8.h"

#define OUTQ_IOV_MAX	64

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

/* Marks c closing with reason, if it is not closing already. */
static void
client_doom_locked(struct client *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->close_reason = strdup(reason);
	client_wake_locked(c);
}

void
client_send(struct client *c, struct buf *b)
{
	ssize_t n = 0;
	int was_empty;

	pthread_mutex_lock(&c->out_lock);
	if (c->closing)
		goto out;
	was_empty = c->q.count == 0;
	if (was_empty) {
		n = send(c->fd, b->data, b->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == (ssize_t)b->len)
			goto out;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				client_doom_locked(c, "Write error");
				goto out;
			}
			n = 0;
		}
	}
	if (c->q.bytes + (b->len - (size_t)n) > config.sendq) {
		client_doom_locked(c, "SendQ exceeded");
		goto out;
	}
	if (outq_push(&c->q, b) == -1) {
		client_doom_locked(c, "Out of memory");
		goto out;
	}
	if (was_empty)
		c->q.off = (size_t)n;
	c->q.bytes += b->len - (size_t)n;
	/* The owner polls for POLLOUT only while its queue is non-empty. */
	if (was_empty)
		client_wake_locked(c);
out:
	pthread_mutex_unlock(&c->out_lock);
}

void
client_sendf(struct client *c, const char *fmt, ...)
{
	struct buf *b;
	va_list ap;

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
client_flush(struct client *c)
{
	struct iovec iov[OUTQ_IOV_MAX];
	struct outq *q = &c->q;
	struct buf *b;
	unsigned i, n;
	ssize_t w;
	int rc = 0;

	pthread_mutex_lock(&c->out_lock);
	while (q->count > 0) {
		n = q->count < OUTQ_IOV_MAX ? q->count : OUTQ_IOV_MAX;
		for (i = 0; i < n; i++) {
			b = q->ring[(q->head + i) % q->cap];
			iov[i].iov_base = b->data;
			iov[i].iov_len = b->len;
		}
		iov[0].iov_base = (char *)iov[0].iov_base + q->off;
		iov[0].iov_len -= q->off;
		w = writev(c->fd, iov, (int)n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rc = -1;
			break;
		}
		outq_consume(q, (size_t)w);
	}
	pthread_mutex_unlock(&c->out_lock);
	return rc;
}

int
client_has_output(struct client *c)
{
	int n;

	pthread_mutex_lock(&c->out_lock);
	n = c->q.count > 0;
	pthread_mutex_unlock(&c->out_lock);
	return n;
}
