/*
 * sendq.c: the send queue (a FIFO of lines and multiline batches, with
 * bounds), the token bucket that paces it, and the builders of what
 * goes in it: draft/multiline batches and the lines of a paste.
 *
 * Plain C, no curses, no clock of its own (callers pass the time), so
 * tests/test_sendq.c drives it.  The queue lives in struct session and
 * is guarded by ui_lock; only the input thread adds and removes (see
 * natter.c), the message thread reads the count to draw it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natter.h"

void
sendq_init(struct sendq *q)
{
	memset(q, 0, sizeof(*q));
}

void
sendq_item_free(struct sendq_item *it)
{
	if (it == NULL)
		return;
	if (it->secret && it->buf != NULL)
		explicit_bzero(it->buf, it->len);
	free(it->buf);
	free(it);
}

void
sendq_free(struct sendq *q)
{
	struct sendq_item *it, *next;

	for (it = q->head; it != NULL; it = next) {
		next = it->next;
		sendq_item_free(it);
	}
	sendq_init(q);
}

int
sendq_fits(const struct sendq *q, int ntext, size_t bytes)
{
	return q->nlines + ntext <= SENDQ_LINES_MAX &&
	    bytes <= SENDQ_BYTES_MAX && q->bytes + bytes <= SENDQ_BYTES_MAX;
}

struct sendq_item *
sendq_push(struct sendq *q, const char *buf, int nwire, int ntext, int cost)
{
	struct sendq_item *it;
	size_t len = strlen(buf);

	if (!sendq_fits(q, ntext, len))
		return NULL;
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return NULL;
	if ((it->buf = strdup(buf)) == NULL) {
		free(it);
		return NULL;
	}
	it->len = len;
	it->nwire = nwire;
	it->ntext = ntext;
	it->cost = cost;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->nitems++;
	q->nlines += ntext;
	q->bytes += len;
	return it;
}

void
sendq_unlink(struct sendq *q, struct sendq_item *it)
{
	struct sendq_item **pp, *prev = NULL;

	for (pp = &q->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != it)
			continue;
		*pp = it->next;
		if (q->tail == it)
			q->tail = prev;
		it->next = NULL;
		q->nitems--;
		q->nlines -= it->ntext;
		q->bytes -= it->len;
		return;
	}
}

unsigned
sendq_new_id(struct sendq *q)
{
	if (++q->next_id == 0)
		q->next_id = 1;
	return q->next_id;
}

/* Tops the bucket up to now. */
static void
bucket_fill(struct sendq *q, long long now)
{
	if (!q->started) {
		q->started = 1;
		q->tokens = SENDQ_BURST;
		q->tokens_ms = now;
		return;
	}
	if (now <= q->tokens_ms)
		return;
	q->tokens += (double)(now - q->tokens_ms) * SENDQ_RATE / 1000.0;
	if (q->tokens > SENDQ_BURST)
		q->tokens = SENDQ_BURST;
	q->tokens_ms = now;
}

/* What the bucket must hold before cost may go: a batch dearer than
 * the burst waits for a full bucket and leaves it in debt, so the rate
 * over time stays SENDQ_RATE. */
static double
bucket_need(int cost)
{
	return cost < SENDQ_BURST ? cost : SENDQ_BURST;
}

int
sendq_take(struct sendq *q, long long now, int cost)
{
	bucket_fill(q, now);
	if (q->tokens < bucket_need(cost))
		return -1;
	q->tokens -= cost;
	return 0;
}

long long
sendq_wait(struct sendq *q, long long now, int cost)
{
	double short_by;

	bucket_fill(q, now);
	short_by = bucket_need(cost) - q->tokens;
	if (short_by <= 0)
		return 0;
	/* Rounded up: waking early would only find too few tokens. */
	return (long long)(short_by * 1000.0 / SENDQ_RATE) + 1;
}

int
sendq_batch_cost(size_t bytes)
{
	return 2 + (int)((bytes + SENDQ_COST_BYTES - 1) / SENDQ_COST_BYTES);
}

/* --- multiline batches --- */

/* One PRIVMSG of a batch: a text line, or a piece of a long one. */
struct piece {
	const char	*text;
	size_t		 len;
	int		 concat;	/* joins the piece before it */
};

/* Bytes of s[0..len) that make a piece of at most max bytes: after
 * the last space that fits, else at a character boundary. */
static size_t
piece_len(const char *s, size_t len, size_t max)
{
	size_t n, k;

	if (len <= max)
		return len;
	for (k = max; k > 0; k--)
		if (s[k - 1] == ' ')
			return k;
	/* Never inside a UTF-8 character. */
	for (n = max; n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; n--)
		;
	return n > 0 ? n : max;
}

/* The text's pieces, malloc'd into *out; their count, or -1. */
static int
pieces_make(const char *text, struct piece **out)
{
	struct piece *v = NULL, *nv;
	const char *p = text, *end;
	size_t len, n;
	int count = 0, cap = 0, first;

	for (;;) {
		end = strchr(p, '\n');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		first = 1;
		do {
			n = piece_len(p, len, TEXT_CHUNK);
			if (count == cap) {
				cap = cap ? cap * 2 : 64;
				if ((nv = reallocarray(v, cap, sizeof(*v))) ==
				    NULL) {
					free(v);
					return -1;
				}
				v = nv;
			}
			v[count].text = p;
			v[count].len = n;
			v[count].concat = !first;
			count++;
			first = 0;
			p += n;
			len -= n;
		} while (len > 0);
		if (end == NULL)
			break;
		p = end + 1;
	}
	*out = v;
	return count;
}

/* A growing string. */
struct sbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

static void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *v;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((v = realloc(b->s, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = v;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

/* Builds the batch of pieces v[from..to) and hands it to cb. */
static int
batch_emit(struct sendq *q, const char *cmd, const char *target,
    const struct piece *v, int from, int to, sendq_batch_cb *cb, void *arg)
{
	struct sbuf wire = { 0 }, shown = { 0 };
	char ref[16], head[WIN_NAME_MAX + 64];
	size_t bytes = 0;
	int i, rc;

	snprintf(ref, sizeof(ref), "ml%u", ++q->next_ref);
	snprintf(head, sizeof(head), "BATCH +%s draft/multiline %s", ref,
	    target);
	sbuf_str(&wire, head);
	for (i = from; i < to; i++) {
		snprintf(head, sizeof(head), "\n@batch=%s%s %s %s :", ref,
		    v[i].concat ? ";draft/multiline-concat" : "", cmd,
		    target);
		sbuf_str(&wire, head);
		sbuf_add(&wire, v[i].text, v[i].len);
		if (i > from && !v[i].concat)
			sbuf_add(&shown, "\n", 1);
		sbuf_add(&shown, v[i].text, v[i].len);
		bytes += v[i].len + 1;
	}
	snprintf(head, sizeof(head), "\nBATCH -%s", ref);
	sbuf_str(&wire, head);
	if (shown.s == NULL)
		sbuf_add(&shown, "", 0);
	rc = -1;
	if (!wire.failed && !shown.failed)
		rc = cb(wire.s, to - from + 2, to - from, shown.s,
		    sendq_batch_cost(bytes), arg);
	free(wire.s);
	free(shown.s);
	return rc;
}

int
sendq_batches(struct sendq *q, const char *cmd, const char *target,
    const char *text, int max_bytes, int max_lines, sendq_batch_cb *cb,
    void *arg)
{
	struct piece *v;
	size_t bytes;
	int n, i, from, to, nbatch = 0;

	if (max_lines < 1 || max_lines > MULTILINE_LINES_MAX)
		max_lines = MULTILINE_LINES_MAX;
	if (max_bytes < TEXT_CHUNK + 1)
		max_bytes = TEXT_CHUNK + 1;	/* a piece must fit */
	if ((n = pieces_make(text, &v)) == -1)
		return -1;
	i = 0;
	while (i < n) {
		/* Blank lines at a batch's edges are dropped; a batch
		 * never starts with a concat piece (it has nothing to
		 * join). */
		while (i < n && v[i].len == 0)
			i++;
		if (i == n)
			break;
		v[i].concat = 0;
		from = i;
		bytes = 0;
		while (i < n && i - from < max_lines &&
		    bytes + v[i].len + 1 <= (size_t)max_bytes) {
			bytes += v[i].len + 1;
			i++;
		}
		to = i;
		while (to > from && v[to - 1].len == 0)
			to--;
		if (batch_emit(q, cmd, target, v, from, to, cb, arg) == -1) {
			free(v);
			return -1;
		}
		nbatch++;
	}
	free(v);
	return nbatch;
}

/* --- pastes --- */

/* mIRC's formatting codes: control bytes a paste keeps. */
#define MIRC_CODES	"\002\003\004\006\017\021\022\026\035\036\037"

int
paste_lines(const char *text, size_t len, char **out)
{
	struct sbuf b = { 0 };
	size_t i, start, end;
	int n = 0, blank = 1;
	unsigned char c;

	/* Without the blank lines at either end. */
	for (start = 0, i = 0; i < len; i++) {
		c = (unsigned char)text[i];
		if (c == '\r' || c == '\n')
			start = i + 1;
		else if (c != ' ' && c != '\t')
			break;
	}
	for (end = len, i = len; i > start; i--) {
		c = (unsigned char)text[i - 1];
		if (c == '\r' || c == '\n')
			end = i - 1;
		else if (c != ' ' && c != '\t')
			break;
	}
	sbuf_add(&b, "", 0);
	for (i = start; i < end; i++) {
		c = (unsigned char)text[i];
		if (c == '\r' || c == '\n') {
			/* CRLF is one line end. */
			if (c == '\r' && i + 1 < end && text[i + 1] == '\n')
				i++;
			sbuf_add(&b, "\n", 1);
			n++;
			continue;
		}
		/* Tab and the mIRC codes (^B ^C ^D ^F ^O ^Q ^R ^V ^]
		 * ^^ ^_) stay; other control bytes would break lines. */
		if (c == '\0' || (c < 0x20 && c != '\t' &&
		    strchr(MIRC_CODES, c) == NULL))
			continue;
		if (c == 0x7f)
			continue;
		sbuf_add(&b, (const char *)&text[i], 1);
		blank = 0;
	}
	if (b.failed) {
		free(b.s);
		*out = NULL;
		return -1;
	}
	*out = b.s;
	return blank ? 0 : n + 1;
}
