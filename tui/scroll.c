/*
 * scroll.c: a window's scrollback, a ring of SCROLL_MAX lines that
 * forgets the oldest.  The ring is allocated on the first line so that
 * idle windows cost nothing.  Guarded by ui_lock.
 */
#include <stdlib.h>
#include <string.h>

#include "natter.h"

void
scroll_init(struct scroll *sb)
{
	memset(sb, 0, sizeof(*sb));
}

static void
line_free(struct line *l)
{
	free(l->nick);
	free(l->text);
	memset(l, 0, sizeof(*l));
}

void
scroll_clear(struct scroll *sb)
{
	int	i;

	if (sb->lines != NULL)
		for (i = 0; i < sb->count; i++)
			line_free(&sb->lines[(sb->head + i) % SCROLL_MAX]);
	sb->head = 0;
	sb->count = 0;
	sb->offset = 0;
	/* seq goes on: the read marker compares with lines gone. */
}

void
scroll_free(struct scroll *sb)
{
	scroll_clear(sb);
	free(sb->lines);
	sb->lines = NULL;
}

void
scroll_push(struct scroll *sb, time_t when, enum line_kind kind,
    const char *nick, const char *text, int highlight, int self)
{
	struct line	 l;

	memset(&l, 0, sizeof(l));
	l.when = when;
	l.kind = kind;
	l.highlight = highlight;
	l.self = self;
	l.nick = (char *)nick;
	l.text = (char *)text;
	scroll_insert(sb, sb->count, &l);
}

int
scroll_insert(struct scroll *sb, int i, const struct line *src)
{
	struct line	 l;
	int		 k, below;

	if (i < 0 || i > sb->count)
		return -1;
	if (sb->lines == NULL &&
	    (sb->lines = calloc(SCROLL_MAX, sizeof(*sb->lines))) == NULL)
		return -1;
	l = *src;
	l.seq = ++sb->seq;
	l.nick = NULL;
	if (src->nick != NULL && (l.nick = strdup(src->nick)) == NULL)
		return -1;
	if ((l.text = strdup(src->text != NULL ? src->text : "")) == NULL) {
		free(l.nick);
		return -1;
	}
	/* Lines added below the bottom of a scrolled-up view push it up
	 * by one, so the text being read does not slide away. */
	below = sb->offset > 0 && i > sb->count - 1 - sb->offset;
	if (sb->count == SCROLL_MAX) {
		/* Full: forget the oldest line. */
		line_free(&sb->lines[sb->head]);
		sb->head = (sb->head + 1) % SCROLL_MAX;
		sb->count--;
		if (i > 0)
			i--;
	}
	for (k = sb->count; k > i; k--)
		sb->lines[(sb->head + k) % SCROLL_MAX] =
		    sb->lines[(sb->head + k - 1) % SCROLL_MAX];
	sb->lines[(sb->head + i) % SCROLL_MAX] = l;
	sb->count++;
	if (below) {
		sb->offset++;
		if (sb->offset > sb->count - 1)
			sb->offset = sb->count - 1;
	}
	return i;
}

const struct line *
scroll_get(const struct scroll *sb, int i)
{
	if (sb->lines == NULL || i < 0 || i >= sb->count)
		return NULL;
	return &sb->lines[(sb->head + i) % SCROLL_MAX];
}

void
scroll_move(struct scroll *sb, int n)
{
	long	off = (long)sb->offset + n;

	/* At most count - 1 up, so the top line stays on screen. */
	if (off > sb->count - 1)
		off = sb->count - 1;
	if (off < 0)
		off = 0;
	sb->offset = (int)off;
}
