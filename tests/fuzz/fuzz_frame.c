/*
 * fuzz_frame.c: libFuzzer target for the line framer.  The stream is
 * fed to frame_feed in chunks chosen by the input, and every event is
 * compared with a model that frames the whole stream at once from the
 * rules in frame.h; each delivered line is then parsed with irc_parse.
 * The leak checker sees the framer's buffer through frame_free.
 *
 * Input layout:
 *	byte 0		bits 0-2: number of chunk-size bytes - 1 (1 to 8);
 *			bits 3-7: stop at that event (the callback returns
 *			non-zero there and feeding ends), 0 never
 *	size bytes	cycled; b < 0xf0 is a chunk of b + 1 bytes, else
 *			of (b - 0xef) KiB
 *	the rest	the byte stream
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "irc.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #e);				\
		abort();						\
	}								\
} while (0)

/* Longest line frame.h lets through: full tags and a full body. */
#define FUZZ_BODY_MAX	(IRC_TAGS_MAX + IRC_LINE_MAX - 2)

struct want {
	enum frame_event	 ev;
	const char		*line;	/* into the stream; NULL for TOOLONG */
	size_t			 len;
};

/* The unfinished last line seen so far. */
struct pend {
	size_t	 start;		/* where it starts */
	size_t	 sp;		/* its first space, from start; SIZE_MAX none */
};

struct model {
	struct want	*evs;
	size_t		 nevs;
	size_t		 next;		/* next event the framer must give */
	size_t		 stop_at;	/* 1-based; 0 never */
};

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 overlong_sp(const char *, size_t, size_t);
static int	 overlong(const char *, size_t);
static void	 model_build(struct model *, const char *, size_t);
static size_t	 pending(struct pend *, const char *, size_t, size_t);
static int	 on_event(void *, enum frame_event, char *, size_t);

/*
 * frame.h's limits, judged on a whole line of n bytes whose first space
 * is at sp (n if none).
 */
static int
overlong_sp(const char *s, size_t n, size_t sp)
{
	if (n == 0 || s[0] != '@')
		return n > IRC_LINE_MAX - 2;
	if (sp >= n)
		return n > IRC_TAGS_MAX;
	return sp + 1 > IRC_TAGS_MAX || n - (sp + 1) > IRC_LINE_MAX - 2;
}

static int
overlong(const char *s, size_t n)
{
	const char	*sp;

	sp = memchr(s, ' ', n);
	return overlong_sp(s, n, sp != NULL ? (size_t)(sp - s) : n);
}

/*
 * Every event the whole stream must produce: one per non-empty line,
 * and a TOOLONG for an unfinished last line that is already too long.
 */
static void
model_build(struct model *m, const char *s, size_t n)
{
	size_t	i, start = 0;

	memset(m, 0, sizeof(*m));
	if ((m->evs = calloc(n / 2 + 2, sizeof(*m->evs))) == NULL)
		abort();
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\r' && s[i] != '\n')
			continue;
		if (i == n && !overlong(s + start, i - start))
			break;
		if (i > start) {
			m->evs[m->nevs].ev = overlong(s + start, i - start) ?
			    FRAME_TOOLONG : FRAME_LINE;
			m->evs[m->nevs].line = s + start;
			m->evs[m->nevs].len = i - start;
			m->nevs++;
		}
		start = i + 1;
	}
}

/*
 * Moves p over s[from..to) and returns the bytes of the unfinished last
 * line of s[0..to), 0 if it is too long.  Incremental, so that feeding
 * byte by byte stays linear.
 */
static size_t
pending(struct pend *p, const char *s, size_t from, size_t to)
{
	size_t	i;

	for (i = from; i < to; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			p->start = i + 1;
			p->sp = SIZE_MAX;
		} else if (s[i] == ' ' && p->sp == SIZE_MAX)
			p->sp = i - p->start;
	}
	if (overlong_sp(s + p->start, to - p->start,
	    p->sp == SIZE_MAX ? to - p->start : p->sp))
		return 0;
	return to - p->start;
}

static int
on_event(void *arg, enum frame_event ev, char *line, size_t len)
{
	struct model	*m = arg;
	struct want	*w;
	struct irc_msg	 msg;
	size_t		 i;

	CHECK(m->next < m->nevs);
	w = &m->evs[m->next++];
	CHECK(ev == w->ev);
	if (ev == FRAME_TOOLONG) {
		/* Once per overlong line: the model has one per line. */
		CHECK(line == NULL && len == 0);
	} else {
		CHECK(ev == FRAME_LINE && line != NULL);
		CHECK(len > 0 && len <= FUZZ_BODY_MAX);
		CHECK(line[0] == '@' || len <= IRC_LINE_MAX - 2);
		CHECK(line[len] == '\0');
		for (i = 0; i < len; i++)
			CHECK(line[i] != '\r' && line[i] != '\n');
		CHECK(len == w->len && memcmp(line, w->line, len) == 0);
		/* The line is ours until we return: split it in place. */
		if (irc_parse(line, &msg) == 0)
			CHECK(msg.command != NULL &&
			    msg.nparams <= IRC_PARAMS_MAX);
	}
	if (m->stop_at != 0 && m->next == m->stop_at)
		return 7;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame	 f;
	struct model	 m;
	struct pend	 pd = { 0, SIZE_MAX };
	const uint8_t	*sizes;
	const char	*s;
	size_t		 nsizes, n, off, k, chunk, left;
	unsigned	 stop_at;
	int		 rv;

	if (size < 2)
		return 0;
	nsizes = (data[0] & 7) + 1;
	stop_at = data[0] >> 3;
	if (size < 1 + nsizes)
		return 0;
	sizes = data + 1;
	s = (const char *)data + 1 + nsizes;
	n = size - 1 - nsizes;

	model_build(&m, s, n);
	m.stop_at = stop_at;
	frame_init(&f);
	for (off = 0, k = 0; off < n; off += chunk, k++) {
		chunk = sizes[k % nsizes];
		chunk = chunk < 0xf0 ? chunk + 1 : (chunk - 0xef) * 1024;
		if (chunk > n - off)
			chunk = n - off;
		rv = frame_feed(&f, s + off, chunk, on_event, &m);
		if (rv != 0) {
			/* Only our callback's value: the rest is dropped. */
			CHECK(rv == 7 && m.stop_at != 0 &&
			    m.next == m.stop_at);
			break;
		}
		/* An idle framer holds no buffer. */
		if ((left = pending(&pd, s, off, off + chunk)) == 0)
			CHECK(f.buf == NULL && f.len == 0);
		else
			CHECK(f.buf != NULL && f.len == left);
	}
	if (m.stop_at == 0 || m.next < m.stop_at)
		CHECK(m.next == m.nevs);
	frame_free(&f);
	CHECK(f.buf == NULL);
	free(m.evs);
	return 0;
}
