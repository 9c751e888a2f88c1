/*
 * complete.c: Tab completion of commands, rooms and nicks in the input
 * line.
 * The first Tab remembers the typed prefix; further Tabs replace the
 * previous completion with the next match.  Any other key ends the
 * cycle (the UI calls complete_reset).  Guarded by ui_lock.
 */
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "casemap.h"
#include "natter.h"

/* Suffixes after a completed word. */
#define SUFFIX_FIRST	", "	/* a nick addressed at the line start */
#define SUFFIX_OTHER	" "

void
complete_reset(struct complete *c)
{
	memset(c, 0, sizeof(*c));
}

/* Case-insensitive prefix test under rfc1459 folding ("{x" finds
 * "[x]"); for command names that is plain ASCII folding. */
static int
has_prefix(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (*s == '\0' || casemap_lower((unsigned char)*s) !=
		    casemap_lower((unsigned char)*prefix))
			return 0;
	return 1;
}

/* What the word being completed is. */
enum complete_mode {
	MODE_NICK,
	MODE_COMMAND,
	MODE_ROOM
};

static int
is_room(const char *name)
{
	return name[0] == '#' || name[0] == '&';
}

/* The i-th room: the open room windows in window order, then the rooms
 * we are in that have none (closed, or joined elsewhere). */
static const char *
room_candidate(const struct windows *ws, char *const *rooms, int nrooms,
    int i)
{
	int	k;

	for (k = 0; k < ws->n; k++)
		if (ws->v[k]->kind == WIN_ROOM && i-- == 0)
			return ws->v[k]->name;
	for (k = 0; k < nrooms; k++) {
		if (windows_find(ws, rooms[k]) > 0)
			continue;
		if (i-- == 0)
			return rooms[k];
	}
	return NULL;
}

/* The i-th candidate, or NULL past the end. */
static const char *
candidate(enum complete_mode mode, const struct windows *ws,
    char *const *rooms, int nrooms, int i)
{
	const struct window	*w;
	int			 n;

	if (i < 0)
		return NULL;
	if (mode == MODE_ROOM)
		return room_candidate(ws, rooms, nrooms, i);
	if (mode == MODE_COMMAND) {
		/* cmd_names is NULL-terminated: never index past it. */
		for (n = 0; cmd_names[n] != NULL; n++)
			if (n == i)
				return cmd_names[n];
		return NULL;
	}
	if (ws == NULL || ws->cur < 0 || ws->cur >= ws->n)
		return NULL;
	w = ws->v[ws->cur];
	if (w->kind == WIN_QUERY)
		return i == 0 ? w->name : NULL;
	return i < w->nnicks ? w->nicks[i] : NULL;
}

/* Replaces buf[start..pos) with pre word suffix.  Returns -1 (line
 * unchanged) if it would not fit. */
static int
replace(struct edit *e, struct edit *tmp, size_t start, const char *pre,
    const char *word, const char *suffix)
{
	char	text[256];
	size_t	cut;
	int	n;

	n = snprintf(text, sizeof(text), "%s%s%s", pre, word, suffix);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	/* edit_set decodes UTF-8 the way typed text is. */
	edit_set(tmp, text);
	cut = e->pos - start;
	if (e->len - cut + tmp->len > EDIT_MAX)
		return -1;
	memmove(&e->buf[start + tmp->len], &e->buf[e->pos],
	    (e->len - e->pos) * sizeof(wchar_t));
	memcpy(&e->buf[start], tmp->buf, tmp->len * sizeof(wchar_t));
	e->len = e->len - cut + tmp->len;
	e->pos = start + tmp->len;
	return 0;
}

int
complete_word(struct complete *c, struct edit *e, const struct windows *ws,
    char *const *rooms, int nrooms)
{
	struct edit		 tmp;	/* scratch for UTF-8 <-> wchar_t */
	const char		*cand = NULL, *suffix, *pre = "";
	enum complete_mode	 mode = MODE_NICK;
	size_t			 start;
	int			 cmdmode, n, k, idx = 0;

	/* The line moved under an unreset cycle: start afresh rather
	 * than cut at a stale offset. */
	if (c->active && c->start > e->pos)
		complete_reset(c);
	if (!c->active) {
		start = e->pos;
		while (start > 0 && e->buf[start - 1] != L' ')
			start--;
		if (start == e->pos)
			return -1;
		/* edit_get gives the UTF-8 of buf[start..pos). */
		tmp.len = e->pos - start;
		memcpy(tmp.buf, &e->buf[start], tmp.len * sizeof(wchar_t));
		if (edit_get(&tmp, c->prefix, sizeof(c->prefix)) >=
		    sizeof(c->prefix) - 4)
			return -1;	/* nothing that long to complete */
		c->start = start;
		c->index = -1;
	}
	start = c->start;
	cmdmode = start == 0 && c->prefix[0] == '/' && c->prefix[1] != '/';
	if (cmdmode)
		mode = MODE_COMMAND;
	else if (is_room(c->prefix))
		mode = MODE_ROOM;
	for (n = 0; candidate(mode, ws, rooms, nrooms, n) != NULL; n++)
		continue;
	/* Look once round the list, starting after the last match. */
	for (k = 1; k <= n; k++) {
		idx = (c->index + k) % n;
		if (idx < 0)
			idx += n;
		cand = candidate(mode, ws, rooms, nrooms, idx);
		if (has_prefix(cand, c->prefix + cmdmode))
			break;
	}
	if (k > n)
		return -1;
	if (cmdmode) {
		pre = "/";
		suffix = SUFFIX_OTHER;
	} else if (mode == MODE_ROOM)
		suffix = SUFFIX_OTHER;	/* "#room, " would say nothing */
	else if (start == 0)
		suffix = SUFFIX_FIRST;
	else
		suffix = SUFFIX_OTHER;
	if (replace(e, &tmp, start, pre, cand, suffix) == -1)
		return -1;
	c->index = idx;
	c->active = 1;
	return 0;
}
