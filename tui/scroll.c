/*
 * scroll.c: a window's scrollback, a ring of SCROLL_MAX lines that
 * forgets the oldest.  The ring is allocated on the first line so that
 * idle windows cost nothing.  Guarded by ui_lock.
 */
#include <stdio.h>
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
	free(l->msgid);
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
	l.msgid = NULL;
	if (src->msgid != NULL && src->msgid[0] != '\0' &&
	    (l.msgid = strndup(src->msgid, MSGID_MAX - 1)) == NULL) {
		free(l.nick);
		free(l.text);
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

/* --- pending lines (sendq.c) --- */

static struct line *
line_at(struct scroll *sb, int i)
{
	return &sb->lines[(sb->head + i) % SCROLL_MAX];
}

int
scroll_find_pending(const struct scroll *sb, unsigned id)
{
	const struct line	*l;
	int			 i;

	if (id == 0)
		return -1;
	/* Newest first: a pending line is near the bottom. */
	for (i = sb->count - 1; i >= 0; i--)
		if ((l = scroll_get(sb, i)) != NULL && l->pending == id)
			return i;
	return -1;
}

int
scroll_echoed(struct scroll *sb, enum line_kind kind, const char *text,
    time_t when)
{
	struct line	*l;
	int		 i;

	/* Oldest first: echoes come back in the order lines went. */
	for (i = 0; i < sb->count; i++) {
		l = line_at(sb, i);
		if (l->pending != 0 && l->self && l->kind == kind &&
		    strcmp(l->text, text) == 0) {
			l->pending = 0;
			l->when = when;
			return i;
		}
	}
	return -1;
}

void
scroll_sent(struct scroll *sb, int i)
{
	if (i >= 0 && i < sb->count)
		line_at(sb, i)->pending = 0;
}

void
scroll_not_sent(struct scroll *sb, int i)
{
	static const char	 what[] = "not sent: ";
	struct line		*l;
	char			*text;
	size_t			 n;

	if (i < 0 || i >= sb->count)
		return;
	l = line_at(sb, i);
	n = sizeof(what) + strlen(l->text);
	if ((text = malloc(n)) == NULL)
		return;
	snprintf(text, n, "%s%s", what, l->text);
	free(l->text);
	free(l->nick);
	l->text = text;
	l->nick = NULL;
	l->kind = LINE_ERROR;
	l->pending = 0;
	l->self = 0;
}

/* --- message-redaction --- */

void
scroll_set_msgid(struct scroll *sb, int i, const char *msgid)
{
	struct line	*l;
	char		*id = NULL;

	if (i < 0 || i >= sb->count)
		return;
	if (msgid != NULL && msgid[0] != '\0' &&
	    (id = strndup(msgid, MSGID_MAX - 1)) == NULL)
		return;
	l = line_at(sb, i);
	free(l->msgid);
	l->msgid = id;
}

int
scroll_redact(struct scroll *sb, const char *msgid)
{
	struct line	*l;
	char		*text;
	int		 i;

	if (msgid == NULL || msgid[0] == '\0')
		return -1;
	/* Newest first: what gets deleted was mostly just said. */
	for (i = sb->count - 1; i >= 0; i--) {
		l = line_at(sb, i);
		if (l->msgid == NULL || strcmp(l->msgid, msgid) != 0)
			continue;
		if ((text = strdup(SCROLL_DELETED)) == NULL)
			return -1;
		free(l->text);
		l->text = text;
		l->highlight = 0;
		return i;
	}
	return -1;
}
