/*
 * frame.c: turns a byte stream into IRC lines.  Owns the per-connection
 * partial-line buffer and the length limits: a line is refused as soon
 * as it provably exceeds them, so a peer can never make us buffer more
 * than FRAME_MAX bytes, and the buffer is released whenever no partial
 * line is pending so idle connections cost nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* Longest line body stored: tags plus a maximal non-tag part. */
#define FRAME_BODY_MAX	(IRC_TAGS_MAX + IRC_LINE_MAX - 2)
#define FRAME_CAP_MIN	IRC_LINE_MAX

static size_t	 frame_eol(const char *, size_t);
static size_t	 frame_tagend(const char *, size_t);
static int	 frame_fits(const struct frame *, const char *, size_t);
static int	 frame_reserve(struct frame *, size_t);
static void	 frame_release(struct frame *);

void
frame_init(struct frame *f)
{
	memset(f, 0, sizeof(*f));
}

void
frame_free(struct frame *f)
{
	free(f->buf);
	frame_init(f);
}

static void
frame_release(struct frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = 0;
	f->cap = 0;
}

/* Index of the first CR or LF in s[0..n), or n. */
static size_t
frame_eol(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n')
			break;
	return i;
}

/*
 * Length of the tag part ('@' through the first space) of a tagged
 * line, or 0 while no space has been seen.
 */
static size_t
frame_tagend(const char *s, size_t n)
{
	const char	*sp;

	if ((sp = memchr(s, ' ', n)) == NULL)
		return 0;
	return (size_t)(sp - s) + 1;
}

/*
 * 1 if appending s[0..n) (no CR or LF) to the pending line keeps it
 * within the limits.  Decided on what has arrived so far: an unfinished
 * tag part is fine until it alone is too long.
 */
static int
frame_fits(const struct frame *f, const char *s, size_t n)
{
	size_t	total, tagend;
	char	first;

	if (n == 0)
		return 1;
	total = f->len + n;
	first = f->len > 0 ? f->buf[0] : s[0];
	if (first != '@')
		return total <= IRC_LINE_MAX - 2;

	tagend = f->len > 0 ? frame_tagend(f->buf, f->len) : 0;
	if (tagend == 0 && (tagend = frame_tagend(s, n)) != 0)
		tagend += f->len;
	if (tagend == 0)
		return total <= IRC_TAGS_MAX;
	return tagend <= IRC_TAGS_MAX && total - tagend <= IRC_LINE_MAX - 2;
}

/* Makes room for need bytes plus the NUL a delivered line gets. */
static int
frame_reserve(struct frame *f, size_t need)
{
	size_t	 cap;
	char	*nb;

	if (need + 1 <= f->cap)
		return 0;
	cap = f->cap > 0 ? f->cap : FRAME_CAP_MIN;
	while (cap < need + 1)
		cap *= 2;
	if (cap > FRAME_BODY_MAX + 1)
		cap = FRAME_BODY_MAX + 1;
	if ((nb = realloc(f->buf, cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	f->buf = nb;
	f->cap = cap;
	return 0;
}

int
frame_feed(struct frame *f, const char *data, size_t n, frame_cb *cb,
    void *arg)
{
	size_t	 i = 0, run, len;
	int	 rv = 0;

	while (i < n) {
		run = frame_eol(data + i, n - i);
		if (f->discarding) {
			if (i + run == n)
				break;
			/* The line end itself is consumed below. */
			f->discarding = 0;
		} else if (!frame_fits(f, data + i, run)) {
			f->len = 0;
			f->discarding = 1;
			/* Skip only this run: its line end stops discarding. */
			i += run;
			if ((rv = cb(arg, FRAME_TOOLONG, NULL, 0)) != 0)
				goto out;
			continue;
		} else if (run > 0) {
			if (frame_reserve(f, f->len + run) == -1) {
				rv = -1;
				goto out;
			}
			memcpy(f->buf + f->len, data + i, run);
			f->len += run;
		}
		i += run;
		if (i == n)
			break;
		/* data[i] is CR or LF. */
		i++;
		if (f->len == 0)
			continue;	/* empty line, or end of a discarded one */
		f->buf[f->len] = '\0';
		len = f->len;
		f->len = 0;
		if ((rv = cb(arg, FRAME_LINE, f->buf, len)) != 0)
			goto out;
	}
out:
	if (f->len == 0 && f->buf != NULL)
		frame_release(f);
	return rv;
}
