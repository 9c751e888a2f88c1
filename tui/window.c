/*
 * window.c: the window list (status, rooms, queries), their activity
 * levels, room nick lists (with who is away) and read markers.  Window
 * 0 is the status window and lives as long as the list.  Guarded by
 * ui_lock.
 *
 * The read marker: leaving a window reads it (read_seq becomes its
 * newest line's seq); a MARKREAD from the server reads every line up
 * to its time (read_ms).  A line is unread when it is newer than both.
 * Lines that arrive while a window is in view stay quiet unless the
 * marker showed when it was entered (marker_on), so watching a room
 * never draws a marker above what was just read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casemap.h"
#include "natter.h"

static void
window_free(struct window *w)
{
	if (w == NULL)
		return;
	window_nicks_clear(w);
	free(w->topic);
	free(w->seen);
	scroll_free(&w->sb);
	free(w);
}

void
windows_init(struct windows *ws)
{
	memset(ws, 0, sizeof(*ws));
	windows_open(ws, "status", WIN_STATUS);
}

void
windows_free(struct windows *ws)
{
	int	i;

	for (i = 0; i < ws->n; i++)
		window_free(ws->v[i]);
	free(ws->v);
	memset(ws, 0, sizeof(*ws));
}

/* from: the first index to look at; 1 keeps a nick called "status"
 * from landing in the status window. */
static int
find_from(const struct windows *ws, const char *name, int from)
{
	int	i;

	for (i = from; i < ws->n; i++)
		if (casemap_cmp(ws->v[i]->name, name) == 0)
			return i;
	return -1;
}

int
windows_find(const struct windows *ws, const char *name)
{
	return find_from(ws, name, 0);
}

int
windows_open(struct windows *ws, const char *name, enum win_kind kind)
{
	struct window	**v, *w;
	size_t		  n;
	int		  i;

	if ((i = find_from(ws, name, kind == WIN_STATUS ? 0 : 1)) != -1)
		return i;
	/* Each new nick that writes to us opens one: a bound. */
	if (ws->n >= WINDOWS_MAX)
		return -1;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	if ((v = reallocarray(ws->v, ws->n + 1, sizeof(*v))) == NULL) {
		free(w);
		return -1;
	}
	ws->v = v;
	/* Cut a too-long name on a character boundary. */
	n = strlen(name);
	if (n >= sizeof(w->name)) {
		n = sizeof(w->name) - 1;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(w->name, name, n);
	w->name[n] = '\0';
	w->kind = kind;
	scroll_init(&w->sb);
	ws->v[ws->n] = w;
	return ws->n++;
}

/* Window i comes into view. */
static void
window_enter(struct windows *ws, int i)
{
	ws->cur = i;
	ws->v[i]->act = ACT_NONE;
	ws->v[i]->unread = 0;
	ws->v[i]->marker_on = window_first_unread(ws->v[i]) != -1;
}

void
windows_close(struct windows *ws, int i)
{
	if (i <= 0 || i >= ws->n)
		return;
	window_free(ws->v[i]);
	memmove(&ws->v[i], &ws->v[i + 1], (ws->n - i - 1) * sizeof(ws->v[0]));
	ws->n--;
	if (ws->cur > i)
		ws->cur--;
	else if (ws->cur == i)
		/* Back to the window before, as irssi does. */
		window_enter(ws, i - 1);
}

void
windows_switch(struct windows *ws, int i)
{
	if (i < 0 || i >= ws->n)
		return;
	if (i != ws->cur && ws->cur >= 0 && ws->cur < ws->n)
		window_read_all(ws->v[ws->cur]);
	window_enter(ws, i);
}

void
windows_mark(struct windows *ws, int i, enum activity act)
{
	if (i < 0 || i >= ws->n || i == ws->cur)
		return;
	if (act > ws->v[i]->act)
		ws->v[i]->act = act;
}

int
windows_next_active(const struct windows *ws)
{
	static const enum activity	order[] = {
		ACT_HIGHLIGHT, ACT_MSG, ACT_EVENT
	};
	size_t				k;
	int				i, j;

	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (i = 1; i < ws->n; i++) {
			j = (ws->cur + i) % ws->n;
			if (ws->v[j]->act == order[k])
				return j;
		}
	return -1;
}

/*
 * Where nick is in w's sorted list (*found 1), or where it would go
 * (*found 0): a binary search, since a server's 353s may name
 * thousands and every message in the room asks for its sender.
 */
static int
nick_pos(const struct window *w, const char *nick, int *found)
{
	int	lo = 0, hi = w->nnicks, mid, c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = casemap_cmp(w->nicks[mid], nick)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
nick_find(const struct window *w, const char *nick)
{
	int	i, found;

	i = nick_pos(w, nick, &found);
	return found ? i : -1;
}

/*
 * Keeps the list sorted (rfc1459 order) so the nick list and completion
 * need no sorting of their own.  An existing nick only gets its prefix
 * updated.  Returns 0, or -1 if out of memory or full (NICKS_MAX).
 */
int
window_nick_add(struct window *w, const char *nick, char prefix)
{
	char	**nicks, *prefixes, *away, *dup;
	int	  at, found;

	if (prefix != '@' && prefix != '+')
		prefix = ' ';
	at = nick_pos(w, nick, &found);
	if (found) {
		w->prefixes[at] = prefix;
		return 0;
	}
	if (w->nnicks >= NICKS_MAX)
		return -1;
	if ((dup = strdup(nick)) == NULL)
		return -1;
	if ((nicks = reallocarray(w->nicks, w->nnicks + 1,
	    sizeof(*nicks))) == NULL) {
		free(dup);
		return -1;
	}
	w->nicks = nicks;
	if ((prefixes = realloc(w->prefixes, w->nnicks + 1)) == NULL) {
		free(dup);
		return -1;
	}
	w->prefixes = prefixes;
	if ((away = realloc(w->away, w->nnicks + 1)) == NULL) {
		free(dup);
		return -1;
	}
	w->away = away;
	memmove(&w->nicks[at + 1], &w->nicks[at],
	    (w->nnicks - at) * sizeof(*nicks));
	memmove(&w->prefixes[at + 1], &w->prefixes[at], w->nnicks - at);
	memmove(&w->away[at + 1], &w->away[at], w->nnicks - at);
	w->nicks[at] = dup;
	w->prefixes[at] = prefix;
	w->away[at] = 0;
	w->nnicks++;
	return 0;
}

void
window_nick_del(struct window *w, const char *nick)
{
	int	i;

	if ((i = nick_find(w, nick)) == -1)
		return;
	free(w->nicks[i]);
	memmove(&w->nicks[i], &w->nicks[i + 1],
	    (w->nnicks - i - 1) * sizeof(w->nicks[0]));
	memmove(&w->prefixes[i], &w->prefixes[i + 1], w->nnicks - i - 1);
	memmove(&w->away[i], &w->away[i + 1], w->nnicks - i - 1);
	w->nnicks--;
}

void
window_nick_rename(struct window *w, const char *from, const char *to)
{
	char	prefix, away;
	int	i;

	if ((i = nick_find(w, from)) == -1)
		return;
	prefix = w->prefixes[i];
	away = w->away[i];
	/* Delete and re-add to keep the order. */
	window_nick_del(w, from);
	if (window_nick_add(w, to, prefix) == 0)
		window_nick_away(w, to, away);
}

void
window_nicks_clear(struct window *w)
{
	int	i;

	for (i = 0; i < w->nnicks; i++)
		free(w->nicks[i]);
	free(w->nicks);
	free(w->prefixes);
	free(w->away);
	w->nicks = NULL;
	w->prefixes = NULL;
	w->away = NULL;
	w->nnicks = 0;
}

int
window_nick_away(struct window *w, const char *nick, int away)
{
	int	i;

	if ((i = nick_find(w, nick)) == -1)
		return -1;
	w->away[i] = away != 0;
	return 0;
}

char
window_nick_prefix(const struct window *w, const char *nick)
{
	int	i;

	if ((i = nick_find(w, nick)) == -1)
		return 0;
	return w->prefixes[i];
}

/* A line's time in ms since the epoch. */
static long long
line_ms(const struct line *l)
{
	return (long long)l->when * 1000 + l->msec;
}

int
window_unread(const struct window *w, const struct line *l)
{
	return l->kind != LINE_DIVIDER && l->seq > w->read_seq &&
	    line_ms(l) > w->read_ms;
}

int
window_first_unread(const struct window *w)
{
	const struct line	*l;
	int			 i;

	for (i = 0; i < w->sb.count; i++)
		if ((l = scroll_get(&w->sb, i)) != NULL &&
		    window_unread(w, l))
			return i;
	return -1;
}

void
window_read_all(struct window *w)
{
	const struct line	*l;
	int			 i;

	w->read_seq = w->sb.seq;
	w->marker_on = 0;
	if (w->kind == WIN_STATUS)
		return;
	/* The server keeps the time of the newest message read: events
	 * (our own JOIN, say) are not reading. */
	for (i = w->sb.count - 1; i >= 0; i--) {
		l = scroll_get(&w->sb, i);
		if (l->kind != LINE_MSG && l->kind != LINE_ACTION &&
		    l->kind != LINE_NOTICE)
			continue;
		if (line_ms(l) > w->markread_sent &&
		    line_ms(l) > w->markread_want)
			w->markread_want = line_ms(l);
		break;
	}
}

int
window_seen(const struct window *w, const char *msgid)
{
	int	i;

	if (msgid == NULL || msgid[0] == '\0' || w->seen == NULL)
		return 0;
	for (i = 0; i < w->nseen; i++)
		if (strcmp(w->seen[i], msgid) == 0)
			return 1;
	return 0;
}

void
window_seen_add(struct window *w, const char *msgid)
{
	if (msgid == NULL || msgid[0] == '\0' || window_seen(w, msgid))
		return;
	if (w->seen == NULL &&
	    (w->seen = calloc(SEEN_MAX, sizeof(*w->seen))) == NULL)
		return;
	/* The ring forgets the oldest: replays only reach back a little
	 * way. */
	snprintf(w->seen[w->seenpos], sizeof(w->seen[0]), "%s", msgid);
	w->seenpos = (w->seenpos + 1) % SEEN_MAX;
	if (w->nseen < SEEN_MAX)
		w->nseen++;
}
