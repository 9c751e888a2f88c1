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
	int		 slot;

	if (sb->lines == NULL &&
	    (sb->lines = calloc(SCROLL_MAX, sizeof(*sb->lines))) == NULL)
		return;
	memset(&l, 0, sizeof(l));
	l.when = when;
	l.kind = kind;
	l.highlight = highlight;
	l.self = self;
	if (nick != NULL && (l.nick = strdup(nick)) == NULL)
		return;
	if ((l.text = strdup(text != NULL ? text : "")) == NULL) {
		free(l.nick);
		return;
	}
	if (sb->count == SCROLL_MAX) {
		/* Full: the new line takes the oldest one's slot. */
		slot = sb->head;
		line_free(&sb->lines[slot]);
		sb->head = (sb->head + 1) % SCROLL_MAX;
	} else {
		slot = (sb->head + sb->count) % SCROLL_MAX;
		sb->count++;
	}
	sb->lines[slot] = l;
	/* Someone reading back should not have the text slide away. */
	if (sb->offset > 0) {
		sb->offset++;
		if (sb->offset > sb->count - 1)
			sb->offset = sb->count - 1;
	}
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
