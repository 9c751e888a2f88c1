/*
 * notify.c: telling the terminal that someone wants us.  A mention or
 * a private message in a window that is not in view, or while the
 * terminal does not have the focus, rings the bell, raises a desktop
 * notification (OSC 777 or OSC 9, which travel through SSH, and through
 * tmux when wrapped for its passthrough) and counts as unread in the
 * terminal's title.
 *
 * Unread (the title's count): highlights and private messages that
 * came while their window was out of view or the terminal unfocused;
 * a window's count is cleared when it is shown with the focus.
 *
 * Plain C, no curses and no I/O: these functions fill the session and
 * produce the exact bytes; ui.c writes them.  The session is guarded
 * by ui_lock like the rest of the model.
 */
#include <stdio.h>
#include <string.h>

#include "natter.h"

#define ESC	"\033"
#define BEL	"\007"

/* The names /set and --notify take, one a bit. */
static const struct {
	const char	*name;
	unsigned	 bit;
} notify_kinds[] = {
	{ "bell", NOTIFY_BELL },
	{ "osc777", NOTIFY_OSC777 },
	{ "osc9", NOTIFY_OSC9 },
	{ "title", NOTIFY_TITLE },
};
#define NOTIFY_NKINDS	(sizeof(notify_kinds) / sizeof(notify_kinds[0]))

int
notify_parse(const char *list, unsigned *bits)
{
	const char	*p = list, *end;
	unsigned	 out = 0;
	size_t		 i, n;

	if (strcmp(list, "none") == 0) {
		*bits = 0;
		return 0;
	}
	for (;;) {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < NOTIFY_NKINDS; i++)
			if (strlen(notify_kinds[i].name) == n &&
			    strncmp(notify_kinds[i].name, p, n) == 0)
				break;
		if (i == NOTIFY_NKINDS)
			return -1;	/* unknown, or an empty word */
		out |= notify_kinds[i].bit;
		if (end == NULL)
			break;
		p = end + 1;
	}
	*bits = out;
	return 0;
}

void
notify_names(unsigned bits, char *out, size_t outlen)
{
	size_t	i, len = 0;
	int	n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < NOTIFY_NKINDS; i++) {
		if (!(bits & notify_kinds[i].bit))
			continue;
		n = snprintf(out + len, outlen - len, "%s%s",
		    len > 0 ? "," : "", notify_kinds[i].name);
		if (n < 0 || (size_t)n >= outlen - len)
			return;
		len += (size_t)n;
	}
	if (len == 0)
		snprintf(out, outlen, "none");
}

/* Bytes in the UTF-8 sequence that starts with lead byte c (1 for a
 * stray continuation byte or an invalid lead). */
static size_t
utf8_seqlen(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 1;
}

size_t
notify_clean(const char *in, char *out, size_t outlen, size_t max)
{
	char		 plain[NOTIFY_IN_MAX];
	const unsigned char *u;
	size_t		 i = 0, len = 0, n, k;

	if (outlen == 0)
		return 0;
	if (max > outlen - 1)
		max = outlen - 1;
	mirc_strip(in, plain, sizeof(plain));
	u = (const unsigned char *)plain;
	while (u[i] != '\0') {
		/* C0 controls and DEL would end or break the escape
		 * sequence; a tab reads as a space. */
		if (u[i] < 0x20 || u[i] == 0x7f) {
			if (u[i] == '\t' && len < max)
				out[len++] = ' ';
			i++;
			continue;
		}
		n = utf8_seqlen(u[i]);
		for (k = 1; k < n; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				break;
		if (k < n || (n == 1 && u[i] >= 0x80)) {
			i++;		/* invalid: dropped */
			continue;
		}
		/* C1 controls (U+0080-U+009F) end sequences on some
		 * terminals too. */
		if (n == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0) {
			i += n;
			continue;
		}
		if (len + n > max)
			break;		/* never half a character */
		memcpy(out + len, u + i, n);
		len += n;
		i += n;
	}
	out[len] = '\0';
	return len;
}

/* Appends s[0..n) to out (at *len), every ESC doubled when dbl (tmux
 * passthrough); -1 if it does not fit. */
static int
put(char *out, size_t outlen, size_t *len, const char *s, size_t n, int dbl)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (*len + 2 >= outlen)
			return -1;
		if (dbl && s[i] == '\033')
			out[(*len)++] = '\033';
		out[(*len)++] = s[i];
	}
	out[*len] = '\0';
	return 0;
}

/* One OSC sequence, wrapped for tmux when tmux is set. */
static int
put_osc(char *out, size_t outlen, size_t *len, const char *seq, int tmux)
{
	if (!tmux)
		return put(out, outlen, len, seq, strlen(seq), 0);
	if (put(out, outlen, len, ESC "Ptmux;", 7, 0) == -1 ||
	    put(out, outlen, len, seq, strlen(seq), 1) == -1 ||
	    put(out, outlen, len, ESC "\\", 2, 0) == -1)
		return -1;
	return 0;
}

size_t
notify_alert(unsigned bits, int tmux, const char *title, const char *body,
    char *out, size_t outlen)
{
	char	seq[NOTIFY_OUT_MAX];
	size_t	len = 0;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if ((bits & NOTIFY_BELL) && put(out, outlen, &len, BEL, 1, 0) == -1)
		goto full;
	if (title == NULL || body == NULL)
		return len;
	if (bits & NOTIFY_OSC777) {
		snprintf(seq, sizeof(seq), ESC "]777;notify;%s;%s" BEL, title,
		    body);
		if (put_osc(out, outlen, &len, seq, tmux) == -1)
			goto full;
	}
	if (bits & NOTIFY_OSC9) {
		snprintf(seq, sizeof(seq), ESC "]9;%s: %s" BEL, title, body);
		if (put_osc(out, outlen, &len, seq, tmux) == -1)
			goto full;
	}
	return len;
full:
	/* Half a sequence would leave the terminal in a string state. */
	out[0] = '\0';
	return 0;
}

size_t
notify_title(int unread, char *out, size_t outlen)
{
	int	n;

	if (unread > 0)
		n = snprintf(out, outlen, ESC "]2;natter (%d)" BEL, unread);
	else
		n = snprintf(out, outlen, ESC "]2;natter" BEL);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

int
notify_unread(const struct windows *ws)
{
	int	i, n = 0;

	for (i = 0; i < ws->n; i++)
		n += ws->v[i]->unread;
	return n < NOTIFY_UNREAD_MAX ? n : NOTIFY_UNREAD_MAX;
}

void
notify_event(struct session *s, int i, const char *nick, const char *room,
    int action, const char *text)
{
	struct window	*w;
	char		 body[NOTIFY_IN_MAX];
	size_t		 k;

	if (i < 0 || i >= s->wins.n)
		return;
	w = s->wins.v[i];
	if (i == s->wins.cur && s->focused)
		return;		/* in view: the user is reading it */
	if (w->unread < NOTIFY_UNREAD_MAX)
		w->unread++;
	s->bell = 1;
	/* The server names nick and room: they go through the body's
	 * cleaning (C0, C1 and bytes that are not UTF-8 never reach the
	 * terminal inside the OSC string). */
	if (room != NULL)
		snprintf(body, sizeof(body), "natter: %s in %s", nick, room);
	else
		snprintf(body, sizeof(body), "natter: %s (private)", nick);
	notify_clean(body, s->alert_title, sizeof(s->alert_title),
	    sizeof(s->alert_title) - 1);
	/* OSC 777 splits its fields at ';' (a room name may hold one). */
	for (k = 0; s->alert_title[k] != '\0'; k++)
		if (s->alert_title[k] == ';')
			s->alert_title[k] = ' ';
	if (action)
		snprintf(body, sizeof(body), "* %s %s", nick, text);
	else
		snprintf(body, sizeof(body), "%s", text);
	notify_clean(body, s->alert_body, sizeof(s->alert_body),
	    NOTIFY_BODY_MAX);
	s->alert = 1;
}

void
notify_focus(struct session *s, int focused)
{
	s->focused = focused;
	if (focused && s->wins.n > 0)
		s->wins.v[s->wins.cur]->unread = 0;
	s->dirty = 1;
}
