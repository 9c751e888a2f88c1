/*
 * handle.c: applies what the server sent to the model (struct session):
 * lines into windows, activity and highlights, nick lists, topics, and
 * the few replies the protocol needs (PONG, the nick retry, auto-join).
 * Runs in the message thread under ui_lock; sends nothing itself, it
 * only fills out[] for the caller to write after unlocking.
 *
 * Every text that reaches a window was parsed from one IRC line, so it
 * holds no CR or LF; what goes to out[] is built from such text too.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casemap.h"
#include "natter.h"

/* Bytes of a reply before CRLF. */
#define OUT_MAX_BYTES	(IRC_LINE_MAX - 2)

/* Who sent a message, split from its prefix. */
struct source {
	char		nick[128];	/* or the server name */
	const char	*userhost;	/* after '!', or "" */
	int		server;		/* no '!': a server (or no prefix) */
};

void
session_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	windows_init(&s->wins);
}

void
session_free(struct session *s)
{
	int	i;

	windows_free(&s->wins);
	for (i = 0; i < s->nrooms; i++)
		free(s->rooms[i]);
	free(s->rooms);
	free(s->password);
	free(s->log_dir);
	memset(s, 0, sizeof(*s));
}

static void
source_parse(const struct irc_msg *m, const struct session *s,
    struct source *src)
{
	const char	*p = m->prefix;
	size_t		 n;

	src->userhost = "";
	src->server = 1;
	if (p == NULL || *p == '\0') {
		snprintf(src->nick, sizeof(src->nick), "%s",
		    s->server_name[0] != '\0' ? s->server_name : "server");
		return;
	}
	n = strcspn(p, "!@");
	if (p[n] == '!') {
		src->server = 0;
		src->userhost = p + n + 1;
	} else if (p[n] == '@') {
		/* nick@host: a user without the user part. */
		src->server = 0;
	} else if (strchr(p, '.') == NULL) {
		/* A bare nick (some servers): not a server name. */
		src->server = 0;
	}
	if (n >= sizeof(src->nick))
		n = sizeof(src->nick) - 1;
	memcpy(src->nick, p, n);
	src->nick[n] = '\0';
}

static int
is_me(const struct session *s, const char *nick)
{
	return s->nick[0] != '\0' && casemap_cmp(s->nick, nick) == 0;
}

static const char *
param(const struct irc_msg *m, int i)
{
	return i >= 0 && i < m->nparams && m->params[i] != NULL ?
	    m->params[i] : "";
}

/* Appends a reply line to out; silently drops it when out is full or it
 * would be cut (a cut line could mean something else). */
static void
reply(char out[][512], int *nout, int maxout, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reply(char out[][512], int *nout, int maxout, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*nout >= maxout)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out[*nout], 512, fmt, ap);
	va_end(ap);
	if (n < 0 || n > OUT_MAX_BYTES || strpbrk(out[*nout], "\r\n") != NULL)
		return;
	(*nout)++;
}

/* Adds a line to window i and raises its activity (act may be
 * ACT_NONE). */
static void
win_line(struct session *s, int i, time_t now, enum line_kind kind,
    const char *nick, const char *text, int hl, int self, enum activity act)
{
	struct window	*w;

	if (i < 0 || i >= s->wins.n)
		return;
	w = s->wins.v[i];
	scroll_push(&w->sb, now, kind, nick, text, hl, self);
	w->last_seen = now;
	windows_mark(&s->wins, i, act);
	s->dirty = 1;
}

static void
win_linef(struct session *s, int i, time_t now, enum line_kind kind,
    enum activity act, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
win_linef(struct session *s, int i, time_t now, enum line_kind kind,
    enum activity act, const char *fmt, ...)
{
	char	text[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	win_line(s, i, now, kind, NULL, text, 0, 0, act);
}

/* Room windows may be addressed with a STATUSMSG prefix ("@#room"). */
static const char *
room_of(const char *target)
{
	while (*target == '@' || *target == '+')
		target++;
	return target;
}

static int
is_room(const char *target)
{
	return room_of(target)[0] == '#';
}

static int
rooms_find(const struct session *s, const char *room)
{
	int	i;

	for (i = 0; i < s->nrooms; i++)
		if (casemap_cmp(s->rooms[i], room) == 0)
			return i;
	return -1;
}

static void
rooms_add(struct session *s, const char *room)
{
	char	**v, *dup;

	if (rooms_find(s, room) != -1)
		return;
	if ((dup = strdup(room)) == NULL)
		return;
	if ((v = reallocarray(s->rooms, s->nrooms + 1, sizeof(*v))) == NULL) {
		free(dup);
		return;
	}
	s->rooms = v;
	s->rooms[s->nrooms++] = dup;
}

static void
rooms_del(struct session *s, const char *room)
{
	int	i;

	if ((i = rooms_find(s, room)) == -1)
		return;
	free(s->rooms[i]);
	memmove(&s->rooms[i], &s->rooms[i + 1],
	    (s->nrooms - i - 1) * sizeof(s->rooms[0]));
	s->nrooms--;
}

static int
has_nick(const struct window *w, const char *nick)
{
	int	i;

	for (i = 0; i < w->nnicks; i++)
		if (casemap_cmp(w->nicks[i], nick) == 0)
			return 1;
	return 0;
}

static int
nick_char(unsigned char c)
{
	/* Bytes >= 0x80 are letters of some script: "ñalice" is another
	 * word, not a mention. */
	return isalnum(c) || c >= 0x80 || strchr("[]\\`_^{|}-", c) != NULL;
}

int
mentions(const char *text, const char *nick)
{
	size_t	tlen, nlen, i, k;

	if (text == NULL || nick == NULL || (nlen = strlen(nick)) == 0)
		return 0;
	tlen = strlen(text);
	for (i = 0; i + nlen <= tlen; i++) {
		if (i > 0 && nick_char((unsigned char)text[i - 1]))
			continue;
		for (k = 0; k < nlen; k++)
			if (casemap_lower((unsigned char)text[i + k]) !=
			    casemap_lower((unsigned char)nick[k]))
				break;
		if (k < nlen)
			continue;
		if (i + nlen < tlen && nick_char((unsigned char)text[i + nlen]))
			continue;
		return 1;
	}
	return 0;
}

int
nick_colour(const char *nick, int n)
{
	unsigned long	h = 5381;

	if (n <= 0)
		return 0;
	/* djb2 over the folded nick: Alice and alice share a colour. */
	for (; *nick != '\0'; nick++)
		h = h * 33 + (unsigned long)casemap_lower((unsigned char)*nick);
	return (int)(h % (unsigned long)n);
}

/* CTCP replies we give to queries nobody should mind answering. */
static void
ctcp_query(struct session *s, const struct source *src, const char *body,
    time_t now, char out[][512], int *nout, int maxout)
{
	char		 verb[32];
	const char	*arg;
	size_t		 n;

	n = strcspn(body, " \001");
	if (n >= sizeof(verb))
		n = sizeof(verb) - 1;
	memcpy(verb, body, n);
	verb[n] = '\0';
	arg = body + n;
	if (*arg == ' ')
		arg++;
	if (strcmp(verb, "VERSION") == 0)
		reply(out, nout, maxout, "NOTICE %s :\001VERSION %s\001",
		    src->nick, NATTER_VERSION);
	else if (strcmp(verb, "PING") == 0)
		reply(out, nout, maxout, "NOTICE %s :\001PING %.*s\001",
		    src->nick, (int)strcspn(arg, "\001"), arg);
	win_linef(s, 0, now, LINE_INFO, ACT_NONE, "CTCP %s from %s", verb,
	    src->nick);
}

static void
on_message(struct session *s, const struct irc_msg *m, time_t now,
    char out[][512], int *nout, int maxout)
{
	struct source	 src;
	const char	*target = param(m, 0), *text = param(m, 1);
	char		 body[512];
	enum line_kind	 kind;
	enum activity	 act;
	int		 notice, self, priv, hl, i;
	size_t		 n;

	if (m->nparams < 2)
		return;
	source_parse(m, s, &src);
	notice = strcmp(m->command, "NOTICE") == 0;
	kind = notice ? LINE_NOTICE : LINE_MSG;
	self = !src.server && is_me(s, src.nick);
	priv = !is_room(target);

	/* CTCP: \001VERB args\001 (the closing \001 is optional). */
	if (text[0] == '\001') {
		n = strcspn(text + 1, "\001");
		if (n >= sizeof(body))
			n = sizeof(body) - 1;
		memcpy(body, text + 1, n);
		body[n] = '\0';
		if (strncmp(body, "ACTION ", 7) == 0 ||
		    strcmp(body, "ACTION") == 0) {
			kind = LINE_ACTION;
			text = body[6] == ' ' ? body + 7 : "";
		} else if (!notice) {
			if (!self)
				ctcp_query(s, &src, body, now, out, nout,
				    maxout);
			return;
		} else {
			/* A CTCP reply: show it, without the \001s. */
			text = body;
		}
	}

	if (notice && (src.server || !s->registered)) {
		win_line(s, 0, now, LINE_NOTICE, src.nick, text, 0, 0,
		    ACT_MSG);
		return;
	}
	if (!priv)
		i = windows_open(&s->wins, room_of(target), WIN_ROOM);
	else if (self)
		/* Our own message echoed back: it belongs with whom we
		 * sent it to. */
		i = windows_open(&s->wins, target, WIN_QUERY);
	else if (notice) {
		/* Notices (often services) do not open windows. */
		if ((i = windows_find(&s->wins, src.nick)) <= 0)
			i = s->wins.cur;
	} else
		i = windows_open(&s->wins, src.nick, WIN_QUERY);
	if (i < 0)
		return;

	hl = !self && mentions(text, s->nick);
	if (self)
		act = ACT_NONE;
	else if (hl || (priv && !notice))
		act = ACT_HIGHLIGHT;
	else
		act = ACT_MSG;
	if (act == ACT_HIGHLIGHT)
		s->bell = 1;
	win_line(s, i, now, kind, src.nick, text, hl, self, act);
}

static void
on_join(struct session *s, const struct irc_msg *m, time_t now)
{
	struct source	 src;
	const char	*room = param(m, 0);
	int		 i, existed;

	if (m->nparams < 1 || !is_room(room))
		return;
	source_parse(m, s, &src);
	if (is_me(s, src.nick)) {
		existed = windows_find(&s->wins, room) > 0;
		if ((i = windows_open(&s->wins, room, WIN_ROOM)) < 0)
			return;
		s->wins.v[i]->joined = 1;
		/* The 353s that follow give the whole list afresh. */
		window_nicks_clear(s->wins.v[i]);
		window_nick_add(s->wins.v[i], s->nick, ' ');
		rooms_add(s, room);
		/* Follow a /join, but a rejoin after a reconnect must
		 * not pull the user away from where they are. */
		if (!existed)
			windows_switch(&s->wins, i);
	} else {
		if ((i = windows_find(&s->wins, room)) <= 0)
			return;
		window_nick_add(s->wins.v[i], src.nick, ' ');
	}
	if (src.userhost[0] != '\0')
		win_linef(s, i, now, LINE_EVENT, ACT_EVENT,
		    "%s (%s) has joined %s", src.nick, src.userhost, room);
	else
		win_linef(s, i, now, LINE_EVENT, ACT_EVENT,
		    "%s has joined %s", src.nick, room);
}

/* We are no longer in window i's room. */
static void
left_room(struct session *s, int i)
{
	struct window	*w = s->wins.v[i];

	w->joined = 0;
	window_nicks_clear(w);
	rooms_del(s, w->name);
}

static void
on_part(struct session *s, const struct irc_msg *m, time_t now)
{
	struct source	 src;
	const char	*room = param(m, 0);
	int		 i;

	if (m->nparams < 1 || (i = windows_find(&s->wins, room)) <= 0)
		return;
	source_parse(m, s, &src);
	if (m->nparams >= 2 && m->params[1][0] != '\0')
		win_linef(s, i, now, LINE_EVENT, ACT_EVENT,
		    "%s has left %s (%s)", src.nick, room, m->params[1]);
	else
		win_linef(s, i, now, LINE_EVENT, ACT_EVENT,
		    "%s has left %s", src.nick, room);
	if (is_me(s, src.nick))
		left_room(s, i);
	else
		window_nick_del(s->wins.v[i], src.nick);
}

static void
on_kick(struct session *s, const struct irc_msg *m, time_t now)
{
	struct source	 src;
	const char	*room = param(m, 0), *victim = param(m, 1);
	int		 i, me;

	if (m->nparams < 2 || (i = windows_find(&s->wins, room)) <= 0)
		return;
	source_parse(m, s, &src);
	me = is_me(s, victim);
	if (m->nparams >= 3 && m->params[2][0] != '\0')
		win_linef(s, i, now, LINE_EVENT,
		    me ? ACT_HIGHLIGHT : ACT_EVENT, "%s was kicked by %s (%s)",
		    victim, src.nick, m->params[2]);
	else
		win_linef(s, i, now, LINE_EVENT,
		    me ? ACT_HIGHLIGHT : ACT_EVENT, "%s was kicked by %s",
		    victim, src.nick);
	if (me) {
		s->bell = 1;
		left_room(s, i);
	} else
		window_nick_del(s->wins.v[i], victim);
}

static void
on_quit(struct session *s, const struct irc_msg *m, time_t now)
{
	struct source	 src;
	struct window	*w;
	char		 text[1024];
	int		 i, here;

	source_parse(m, s, &src);
	if (m->nparams >= 1 && m->params[0][0] != '\0')
		snprintf(text, sizeof(text), "%s has quit (%s)", src.nick,
		    m->params[0]);
	else
		snprintf(text, sizeof(text), "%s has quit", src.nick);
	for (i = 1; i < s->wins.n; i++) {
		w = s->wins.v[i];
		if (w->kind == WIN_ROOM)
			here = has_nick(w, src.nick);
		else
			here = casemap_cmp(w->name, src.nick) == 0;
		if (!here)
			continue;
		window_nick_del(w, src.nick);
		win_line(s, i, now, LINE_EVENT, NULL, text, 0, 0, ACT_EVENT);
	}
}

static void
on_nick(struct session *s, const struct irc_msg *m, time_t now)
{
	struct source	 src;
	struct window	*w;
	const char	*to = param(m, 0);
	char		 text[512];
	int		 i, me, here;

	if (m->nparams < 1 || to[0] == '\0')
		return;
	source_parse(m, s, &src);
	me = is_me(s, src.nick);
	snprintf(text, sizeof(text), "%s is now known as %s", src.nick, to);
	for (i = 1; i < s->wins.n; i++) {
		w = s->wins.v[i];
		if (w->kind == WIN_ROOM)
			here = has_nick(w, src.nick);
		else
			here = casemap_cmp(w->name, src.nick) == 0;
		if (!here)
			continue;
		window_nick_rename(w, src.nick, to);
		/* The query follows the nick unless that would make two
		 * windows of one name. */
		if (w->kind == WIN_QUERY && windows_find(&s->wins, to) == -1)
			snprintf(w->name, sizeof(w->name), "%s", to);
		win_line(s, i, now, LINE_EVENT, NULL, text, 0, 0, ACT_EVENT);
	}
	if (me) {
		snprintf(s->nick, sizeof(s->nick), "%s", to);
		win_line(s, 0, now, LINE_EVENT, NULL, text, 0, 0, ACT_NONE);
	}
}

static void
set_topic(struct session *s, int i, const char *topic)
{
	struct window	*w = s->wins.v[i];

	free(w->topic);
	w->topic = topic[0] != '\0' ? strdup(topic) : NULL;
	s->dirty = 1;
}

static void
on_topic(struct session *s, const struct irc_msg *m, time_t now)
{
	struct source	 src;
	const char	*room = param(m, 0), *topic = param(m, 1);
	int		 i;

	if (m->nparams < 1 || (i = windows_find(&s->wins, room)) <= 0)
		return;
	source_parse(m, s, &src);
	set_topic(s, i, topic);
	if (topic[0] != '\0')
		win_linef(s, i, now, LINE_EVENT, ACT_EVENT,
		    "%s changed the topic of %s to: %s", src.nick, room,
		    topic);
	else
		win_linef(s, i, now, LINE_EVENT, ACT_EVENT,
		    "%s removed the topic of %s", src.nick, room);
}

/* Prefix characters of a mode on a nick, highest first. */
static char
mode_prefix(char mode, char old, int plus)
{
	if (mode == 'o')
		return plus ? '@' : (old == '@' ? ' ' : old);
	/* Voice shows only when there is no op to show. */
	return plus ? (old == '@' ? '@' : '+') : (old == '+' ? ' ' : old);
}

static void
on_mode(struct session *s, const struct irc_msg *m, time_t now)
{
	struct source	 src;
	struct window	*w;
	const char	*target = param(m, 0), *modes;
	char		 text[1024];
	size_t		 used;
	int		 i, k, arg, plus = 1, n, j;

	if (m->nparams < 2)
		return;
	source_parse(m, s, &src);
	used = 0;
	text[0] = '\0';
	for (k = 1; k < m->nparams; k++) {
		n = snprintf(text + used, sizeof(text) - used, "%s%s",
		    k > 1 ? " " : "", m->params[k]);
		if (n < 0 || (size_t)n >= sizeof(text) - used)
			break;
		used += (size_t)n;
	}
	if (!is_room(target)) {
		win_linef(s, 0, now, LINE_EVENT, ACT_NONE,
		    "%s sets mode %s on %s", src.nick, text, target);
		return;
	}
	if ((i = windows_find(&s->wins, target)) <= 0)
		return;
	w = s->wins.v[i];
	/* Walk the mode string to keep @ and + in the nick list right.
	 * Modes that take an argument: o v b e I k always, l on '+'. */
	modes = m->params[1];
	arg = 2;
	for (; *modes != '\0'; modes++) {
		if (*modes == '+' || *modes == '-') {
			plus = *modes == '+';
			continue;
		}
		if (strchr("ovbeIk", *modes) == NULL &&
		    !(*modes == 'l' && plus))
			continue;
		if (arg >= m->nparams)
			break;
		if (*modes == 'o' || *modes == 'v')
			for (j = 0; j < w->nnicks; j++)
				if (casemap_cmp(w->nicks[j],
				    m->params[arg]) == 0)
					w->prefixes[j] = mode_prefix(*modes,
					    w->prefixes[j], plus);
		arg++;
	}
	win_linef(s, i, now, LINE_EVENT, ACT_EVENT, "%s sets mode %s",
	    src.nick, text);
}

/* "@+nick!user@host" -> prefix '@', nick "nick". */
static void
names_entry(const char *entry, char *nick, size_t nicklen, char *prefix)
{
	size_t	n;

	*prefix = ' ';
	for (; *entry != '\0' && strchr("~&@%+", *entry) != NULL; entry++)
		if (*entry == '~' || *entry == '&' || *entry == '@')
			*prefix = '@';
		else if (*prefix != '@')
			*prefix = '+';
	n = strcspn(entry, "!");
	if (n >= nicklen)
		n = nicklen - 1;
	memcpy(nick, entry, n);
	nick[n] = '\0';
}

/* 353 me = #room :nicks */
static void
on_names(struct session *s, const struct irc_msg *m, time_t now)
{
	const char	*room = param(m, 2);
	char		 list[512], *p, *entry, nick[128], prefix;
	int		 i;

	if (m->nparams < 4)
		return;
	i = windows_find(&s->wins, room);
	if (i <= 0 || !s->wins.v[i]->joined) {
		/* /names for a room we are not in: just show it. */
		win_linef(s, s->wins.cur, now, LINE_INFO, ACT_NONE,
		    "Nicks on %s: %s", room, m->params[3]);
		return;
	}
	snprintf(list, sizeof(list), "%s", m->params[3]);
	p = list;
	while ((entry = strsep(&p, " ")) != NULL) {
		if (*entry == '\0')
			continue;
		names_entry(entry, nick, sizeof(nick), &prefix);
		if (nick[0] != '\0')
			window_nick_add(s->wins.v[i], nick, prefix);
	}
	s->dirty = 1;
}

/* 366 me #room :End of /NAMES list: the list is complete, show it. */
static void
on_end_names(struct session *s, const struct irc_msg *m, time_t now)
{
	struct window	*w;
	char		 text[4096];
	size_t		 used = 0;
	int		 i, k, n;

	i = windows_find(&s->wins, param(m, 1));
	if (i <= 0 || !s->wins.v[i]->joined)
		return;
	w = s->wins.v[i];
	n = snprintf(text, sizeof(text), "Nicks on %s (%d):", w->name,
	    w->nnicks);
	if (n < 0 || (size_t)n >= sizeof(text))
		return;
	used = (size_t)n;
	for (k = 0; k < w->nnicks; k++) {
		n = snprintf(text + used, sizeof(text) - used, " %s%s",
		    w->prefixes[k] == ' ' ? "" : (w->prefixes[k] == '@' ?
		    "@" : "+"), w->nicks[k]);
		if (n < 0 || (size_t)n >= sizeof(text) - used) {
			/* Too many to list: cut at the last whole nick. */
			text[used] = '\0';
			break;
		}
		used += (size_t)n;
	}
	win_line(s, i, now, LINE_INFO, NULL, text, 0, 0, ACT_NONE);
}

static void
on_welcome(struct session *s, const struct irc_msg *m, time_t now,
    char out[][512], int *nout, int maxout)
{
	char	line[OUT_MAX_BYTES + 1];
	size_t	used = 0, n;
	int	i;

	s->registered = 1;
	if (m->nparams >= 1 && m->params[0][0] != '\0')
		snprintf(s->nick, sizeof(s->nick), "%s", m->params[0]);
	if (m->prefix != NULL)
		snprintf(s->server_name, sizeof(s->server_name), "%s",
		    m->prefix);
	win_line(s, 0, now, LINE_INFO, NULL, param(m, m->nparams - 1), 0, 0,
	    ACT_NONE);
	/* JOIN #a,#b,... in as few lines as fit. */
	for (i = 0; i < s->nrooms; i++) {
		n = strlen(s->rooms[i]);
		if (used > 0 && used + 1 + n > OUT_MAX_BYTES) {
			reply(out, nout, maxout, "%s", line);
			used = 0;
		}
		if (used == 0) {
			if (5 + n > OUT_MAX_BYTES)
				continue;	/* cannot be a room name */
			used = (size_t)snprintf(line, sizeof(line), "JOIN %s",
			    s->rooms[i]);
		} else
			used += (size_t)snprintf(line + used,
			    sizeof(line) - used, ",%s", s->rooms[i]);
	}
	if (used > 0)
		reply(out, nout, maxout, "%s", line);
}

/* 433/432 before we are registered: try nick_, or give up and ask. */
static void
retry_nick(struct session *s, const struct irc_msg *m, time_t now,
    char out[][512], int *nout, int maxout)
{
	const char	*tried = m->nparams >= 3 ? m->params[1] : s->nick;
	char		 next[sizeof(s->nick)];
	int		 n;

	n = snprintf(next, sizeof(next), "%s_", tried);
	if (n < 0 || (size_t)n >= sizeof(next) ||
	    !casemap_valid_nick(next, NICK_MAX)) {
		win_linef(s, 0, now, LINE_ERROR, ACT_HIGHLIGHT,
		    "Nick %s cannot be used (%s): choose one with /nick",
		    tried, param(m, m->nparams - 1));
		return;
	}
	win_linef(s, 0, now, LINE_INFO, ACT_NONE,
	    "Nick %s is in use, trying %s", tried, next);
	snprintf(s->nick, sizeof(s->nick), "%s", next);
	reply(out, nout, maxout, "NICK %s", next);
}

/* 332 me #room :topic, 333 me #room setter time */
static void
on_topic_reply(struct session *s, const struct irc_msg *m, int numeric,
    time_t now)
{
	const char	*room = param(m, 1);
	char		 setter[128], when[64];
	struct tm	 tm;
	time_t		 t;
	int		 i;

	if ((i = windows_find(&s->wins, room)) <= 0)
		i = s->wins.cur;
	if (numeric == 331) {
		if (i > 0 && s->wins.v[i]->kind == WIN_ROOM)
			set_topic(s, i, "");
		win_linef(s, i, now, LINE_EVENT, ACT_NONE,
		    "No topic is set for %s", room);
	} else if (numeric == 332) {
		if (i > 0 && s->wins.v[i]->kind == WIN_ROOM)
			set_topic(s, i, param(m, 2));
		win_linef(s, i, now, LINE_EVENT, ACT_NONE,
		    "Topic for %s: %s", room, param(m, 2));
	} else {
		snprintf(setter, sizeof(setter), "%.*s",
		    (int)strcspn(param(m, 2), "!"), param(m, 2));
		t = (time_t)strtoll(param(m, 3), NULL, 10);
		if (t > 0 && localtime_r(&t, &tm) != NULL &&
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) > 0)
			win_linef(s, i, now, LINE_EVENT, ACT_NONE,
			    "Topic set by %s on %s", setter, when);
		else
			win_linef(s, i, now, LINE_EVENT, ACT_NONE,
			    "Topic set by %s", setter);
	}
}

/* Params after the first (our nick), joined by spaces. */
static void
join_params(const struct irc_msg *m, char *text, size_t len)
{
	size_t	used = 0;
	int	k, n;

	text[0] = '\0';
	for (k = 1; k < m->nparams; k++) {
		n = snprintf(text + used, len - used, "%s%s",
		    used > 0 ? " " : "", m->params[k]);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

static void
on_numeric(struct session *s, const struct irc_msg *m, int numeric,
    time_t now, char out[][512], int *nout, int maxout)
{
	char	text[1024];

	switch (numeric) {
	case 1:
		on_welcome(s, m, now, out, nout, maxout);
		return;
	case 331:
	case 332:
	case 333:
		on_topic_reply(s, m, numeric, now);
		return;
	case 353:
		on_names(s, m, now);
		return;
	case 366:
		on_end_names(s, m, now);
		return;
	case 265:
	case 266:
		/* The leading counts repeat what the text says. */
		win_line(s, 0, now, LINE_INFO, NULL, param(m, m->nparams - 1),
		    0, 0, ACT_EVENT);
		return;
	case 432:
	case 433:
		if (!s->registered) {
			retry_nick(s, m, now, out, nout, maxout);
			return;
		}
		break;
	}
	join_params(m, text, sizeof(text));
	if (numeric >= 400 && numeric < 600)
		win_line(s, s->wins.cur, now, LINE_ERROR, NULL, text, 0, 0,
		    ACT_NONE);
	else
		win_line(s, 0, now, LINE_INFO, NULL, text, 0, 0, ACT_EVENT);
}

void
handle_line(struct session *s, struct irc_msg *m, time_t now,
    char out[][512], int *nout, int maxout)
{
	struct source	 src;
	const char	*cmd = m->command;
	char		 text[1024];

	*nout = 0;
	if (cmd == NULL)
		return;
	if (isdigit((unsigned char)cmd[0]) && isdigit((unsigned char)cmd[1]) &&
	    isdigit((unsigned char)cmd[2]) && cmd[3] == '\0') {
		on_numeric(s, m, atoi(cmd), now, out, nout, maxout);
		return;
	}
	if (strcmp(cmd, "PING") == 0) {
		if (m->nparams >= 1)
			reply(out, nout, maxout, "PONG :%s", m->params[0]);
		else
			reply(out, nout, maxout, "PONG");
	} else if (strcmp(cmd, "PRIVMSG") == 0 || strcmp(cmd, "NOTICE") == 0)
		on_message(s, m, now, out, nout, maxout);
	else if (strcmp(cmd, "JOIN") == 0)
		on_join(s, m, now);
	else if (strcmp(cmd, "PART") == 0)
		on_part(s, m, now);
	else if (strcmp(cmd, "KICK") == 0)
		on_kick(s, m, now);
	else if (strcmp(cmd, "QUIT") == 0)
		on_quit(s, m, now);
	else if (strcmp(cmd, "NICK") == 0)
		on_nick(s, m, now);
	else if (strcmp(cmd, "TOPIC") == 0)
		on_topic(s, m, now);
	else if (strcmp(cmd, "MODE") == 0)
		on_mode(s, m, now);
	else if (strcmp(cmd, "ERROR") == 0)
		win_line(s, 0, now, LINE_ERROR, NULL, param(m, 0), 0, 0,
		    ACT_HIGHLIGHT);
	else if (strcmp(cmd, "INVITE") == 0) {
		source_parse(m, s, &src);
		win_linef(s, s->wins.cur, now, LINE_EVENT, ACT_NONE,
		    "%s invites you to %s", src.nick, param(m, 1));
	} else if (strcmp(cmd, "PONG") != 0 && strcmp(cmd, "CAP") != 0) {
		/* Anything else: show it raw rather than lose it. */
		join_params(m, text, sizeof(text));
		win_linef(s, 0, now, LINE_INFO, ACT_NONE, "%s %s %s", cmd,
		    param(m, 0), text);
	}
}
