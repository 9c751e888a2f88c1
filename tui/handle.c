/*
 * handle.c: applies what the server sent to the model (struct session):
 * lines into windows, activity and highlights, nick lists, topics, and
 * the few replies the protocol needs (PONG, the nick retry, auto-join).
 * Runs in the message thread under ui_lock; sends nothing itself, it
 * only fills out[] for the caller to write after unlocking.
 *
 * Every text that reaches a window was parsed from one IRC line, so it
 * holds no CR or LF; what goes to out[] is built from such text too.
 *
 * Presence: 305/306 (our away state), away-notify AWAY and the flags of
 * a WHO natter sends itself after joining (who else is away), and
 * draft/read-marker (MARKREAD moves a window's read marker).
 *
 * IRCv3: CAP negotiation, server-time (a line's time is its time tag),
 * msgids (a window shows a msgid once), and history: lines in a
 * chathistory batch, or between natterd's plain-text history NOTICEs,
 * only ever add dimmed lines, in time order under a divider; they
 * change no nick list, topic or membership.
 */
#include <ctype.h>
#include <strings.h>
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

/* Forgets the open batches (a multiline one holds its text). */
static void
batches_drop(struct session *s)
{
	int	i;

	for (i = 0; i < s->nbatches; i++)
		free(s->batches[i].text);
	s->nbatches = 0;
}

void
session_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	windows_init(&s->wins);
	s->focused = 1;
	s->nicklist = -1;
	s->notify = NOTIFY_DEFAULT;
	s->show_prefixes = 1;
}

void
session_free(struct session *s)
{
	int	i;

	windows_free(&s->wins);
	batches_drop(s);
	sendq_free(&s->sendq);
	free(s->paste);
	for (i = 0; i < s->nrooms; i++)
		free(s->rooms[i]);
	free(s->rooms);
	free(s->password);
	if (s->sasl_pass != NULL) {
		explicit_bzero(s->sasl_pass, strlen(s->sasl_pass));
		free(s->sasl_pass);
	}
	free(s->log_dir);
	reply_free(s);
	memset(s, 0, sizeof(*s));
}

/* Capabilities natter asks for, in the order it asks. */
static const struct {
	const char	*name;
	unsigned	 bit;
} cap_names[] = {
	{ "server-time",	CAP_SERVER_TIME },
	{ "batch",		CAP_BATCH },
	{ "message-tags",	CAP_MESSAGE_TAGS },
	{ "echo-message",	CAP_ECHO_MESSAGE },
	{ "draft/chathistory",	CAP_CHATHISTORY },
	{ "labeled-response",	CAP_LABELED_RESPONSE },
	{ "draft/multiline",	CAP_MULTILINE },
	{ "away-notify",	CAP_AWAY_NOTIFY },
	{ "draft/read-marker",	CAP_READ_MARKER },
	{ "draft/message-redaction", CAP_MESSAGE_REDACTION },
};

static void	reply(char out[][512], int *nout, int maxout,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void
session_hello(struct session *s, char out[][512], int *nout, int maxout)
{
	int	i;

	*nout = 0;
	s->caps = 0;
	s->caps_offered = 0;
	s->cap_busy = 1;
	s->sts[0] = '\0';
	s->sts_seen = 0;
	s->chathistory_max = 0;
	batches_drop(s);
	s->multiline_bytes = 0;
	s->multiline_lines = 0;
	s->sasl_state = SASL_IDLE;
	s->sasl_offered = 0;
	s->sasl_mechs[0] = '\0';
	s->account[0] = '\0';	/* a new connection starts logged out */
	reply_reset(s);
	s->away = 0;		/* ... and here */
	for (i = 0; i < s->wins.n; i++) {
		s->wins.v[i]->plain_hist = 0;
		s->wins.v[i]->who_pending = 0;
	}
	reply(out, nout, maxout, "CAP LS 302");
	if (s->password != NULL)
		reply(out, nout, maxout, "PASS :%s", s->password);
	reply(out, nout, maxout, "NICK %s",
	    s->want_nick[0] != '\0' ? s->want_nick : s->nick);
	reply(out, nout, maxout, "USER %s 0 * :%s", s->user, s->realname);
}

int
parse_server_time(const char *str, time_t *when, int *msec)
{
	struct tm	 tm;
	const char	*p;
	time_t		 t;
	int		 ms = 0, n;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(str, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		/* Any number of digits; the first three are the ms. */
		for (p++, n = 0; isdigit((unsigned char)*p); p++, n++)
			if (n < 3)
				ms = ms * 10 + (*p - '0');
		if (n == 0)
			return -1;
		for (; n < 3; n++)
			ms *= 10;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*when = t;
	*msec = ms;
	return 0;
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

/* 1 if a is later than b. */
static int
line_later(const struct line *a, const struct line *b)
{
	return a->when > b->when || (a->when == b->when && a->msec > b->msec);
}

/*
 * Puts history line l where its time says, after every line not later
 * than it, with a divider above the block it starts (a block: history
 * lines with nothing else between them).
 */
static void
history_insert(struct scroll *sb, const struct line *l)
{
	const struct line	*p;
	struct line		 div;
	int			 i = sb->count, j;

	while (i > 0 && (p = scroll_get(sb, i - 1)) != NULL &&
	    line_later(p, l))
		i--;
	p = scroll_get(sb, i - 1);
	if (p != NULL && (p->history || p->kind == LINE_DIVIDER)) {
		scroll_insert(sb, i, l);
		return;
	}
	p = scroll_get(sb, i);
	if (p != NULL && p->kind == LINE_DIVIDER) {
		/* Older than the block below: it opens that block. */
		scroll_insert(sb, i + 1, l);
		return;
	}
	memset(&div, 0, sizeof(div));
	div.when = l->when;
	div.msec = l->msec;
	div.kind = LINE_DIVIDER;
	div.history = 1;
	div.text = (char *)"history";
	if ((j = scroll_insert(sb, i, &div)) != -1)
		scroll_insert(sb, j + 1, l);
}

/* A line replayed without a msgid (plain-text history) that the window
 * already shows. */
static int
shown(const struct scroll *sb, const struct line *l)
{
	const struct line	*p;
	int			 i;

	for (i = sb->count - 1; i >= 0; i--) {
		p = scroll_get(sb, i);
		if (p->kind == l->kind && strcmp(p->text, l->text) == 0 &&
		    ((p->nick == NULL && l->nick == NULL) ||
		    (p->nick != NULL && l->nick != NULL &&
		    strcmp(p->nick, l->nick) == 0)))
			return 1;
	}
	return 0;
}

/* Remembers the line being applied as the newest the server stored
 * for w, unless it is an older replay. */
static void
note_last(struct window *w, const struct session *s)
{
	long long	ms = 0;

	if (!s->line_stored)
		return;
	if (s->line_timed)
		ms = (long long)s->line_when * 1000 + s->line_msec;
	if (s->line_history && (ms == 0 || ms < w->last_ms))
		return;
	if (s->line_msgid[0] != '\0')
		snprintf(w->last_msgid, sizeof(w->last_msgid), "%s",
		    s->line_msgid);
	if (ms > w->last_ms)
		w->last_ms = ms;
}

static void	win_add(struct session *, int, time_t, enum line_kind,
		    const char *, char, const char *, int, int, enum activity);

/* Adds a line to window i and raises its activity (act may be
 * ACT_NONE).  The line being applied says whether it is history, its
 * msgid and its milliseconds. */
static void
win_line(struct session *s, int i, time_t now, enum line_kind kind,
    const char *nick, const char *text, int hl, int self, enum activity act)
{
	win_add(s, i, now, kind, nick, 0, text, hl, self, act);
}

/* win_line for a message, with the prefix ('@', '+' or 0) its nick
 * has in the room now. */
static void
win_add(struct session *s, int i, time_t now, enum line_kind kind,
    const char *nick, char prefix, const char *text, int hl, int self,
    enum activity act)
{
	struct window	*w;
	struct line	 l;

	if (i < 0 || i >= s->wins.n)
		return;
	w = s->wins.v[i];
	if (window_seen(w, s->line_msgid))
		return;
	memset(&l, 0, sizeof(l));
	l.when = now;
	l.msec = s->line_msec;
	l.kind = kind;
	l.highlight = hl;
	l.self = self;
	l.nick = (char *)nick;
	l.text = (char *)text;
	/* Messages keep their msgid, for a REDACT. */
	if (kind == LINE_MSG || kind == LINE_ACTION || kind == LINE_NOTICE)
		l.msgid = s->line_msgid;
	/* A replay's prefix would be today's, not the line's. */
	if (!s->line_history && (prefix == '@' || prefix == '+'))
		l.prefix = prefix;
	if (s->line_history) {
		if (s->line_msgid[0] == '\0' && shown(&w->sb, &l))
			return;
		l.history = 1;
		history_insert(&w->sb, &l);
		/* Missed, so worth a look, but never a bell. */
		if (act > ACT_MSG)
			act = ACT_MSG;
	} else
		scroll_insert(&w->sb, w->sb.count, &l);
	window_seen_add(w, s->line_msgid);
	if (w->kind != WIN_STATUS)
		note_last(w, s);
	if (now > w->last_seen)
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

/*
 * natterd without batch replays a room's history between two NOTICEs
 * from the server to the room: "--- Recent history of #room ---" and
 * "--- End of history (N lines) ---".  Returns 1 if text is one of
 * them (and notes it in the window).
 */
static int
plain_marker(struct session *s, const char *target, const char *text)
{
	int	i, start;

	if (strncmp(text, "--- ", 4) != 0)
		return 0;
	if (strncasecmp(text + 4, "recent history", 14) == 0 ||
	    strncasecmp(text + 4, "history", 7) == 0)
		start = 1;
	else if (strncasecmp(text + 4, "end of history", 14) == 0)
		start = 0;
	else
		return 0;
	if ((i = windows_find(&s->wins, room_of(target))) > 0)
		s->wins.v[i]->plain_hist = start;
	return 1;
}

/* Our own message came back (echo-message): the pending line natter
 * showed when it was typed becomes the sent line, in place.  It is in
 * window i, or in the window it was typed in when it had no window of
 * its own (a notice, a room we are not in). */
static int
echoed(struct session *s, int i, enum line_kind kind, const char *text,
    time_t now)
{
	struct window	*w = s->wins.v[i];
	int		 k;

	if ((k = scroll_echoed(&w->sb, kind, text, now)) == -1) {
		w = s->wins.v[s->wins.cur];
		if ((k = scroll_echoed(&w->sb, kind, text, now)) == -1)
			return 0;
	}
	scroll_set_msgid(&w->sb, k, s->line_msgid);
	window_seen_add(w, s->line_msgid);
	if (w->kind != WIN_STATUS)
		note_last(w, s);
	s->dirty = 1;
	return 1;
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
	/* Our own password to NickServ, echoed back: never shown. */
	if (self && casemap_cmp(target, "NickServ") == 0 &&
	    (strncasecmp(text, "IDENTIFY ", 9) == 0 ||
	    strncasecmp(text, "REGISTER ", 9) == 0 ||
	    strncasecmp(text, "PASSWD ", 7) == 0 ||
	    strncasecmp(text, "DROP ", 5) == 0))
		return;

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
			if (!self && !s->line_history)
				ctcp_query(s, &src, body, now, out, nout,
				    maxout);
			return;
		} else {
			/* A CTCP reply: show it, without the \001s. */
			text = body;
		}
	}

	if (notice && src.server && !priv && plain_marker(s, target, text))
		return;
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
	/* WINDOWS_MAX are open: the status window shows it rather than
	 * lose it. */
	if (i < 0)
		i = 0;

	hl = !self && mentions(text, s->nick);
	/* Our own line to someone, from another window (/msg bob hi in
	 * a room): worth a look in bob's. */
	if (self)
		act = priv && !s->line_history ? ACT_MSG : ACT_NONE;
	else if (hl || (priv && !notice))
		act = ACT_HIGHLIGHT;
	else
		act = ACT_MSG;
	if (act == ACT_HIGHLIGHT && !s->line_history &&
	    !window_seen(s->wins.v[i], s->line_msgid))
		notify_event(s, i, src.nick, priv ? NULL : target,
		    kind == LINE_ACTION, text);
	if (self && !s->line_history && echoed(s, i, kind, text, now)) {
		if (act != ACT_NONE)
			windows_mark(&s->wins, i, act);
		return;
	}
	win_add(s, i, now, kind, src.nick, priv ? 0 :
	    window_nick_prefix(s->wins.v[i], src.nick), text, hl, self, act);
}

/*
 * REDACT <target> <msgid> [:reason] (draft/message-redaction): the line
 * with that msgid in the target's window shows "(message deleted)".
 * The window: the room; for a private message, the other person's
 * (the sender's when it is to us, the target's when we sent it).  A
 * msgid that window does not hold is ignored, as the spec says.
 */
static void
on_redact(struct session *s, const struct irc_msg *m)
{
	struct source	 src;
	const char	*target = param(m, 0);
	int		 i;

	if (m->nparams < 2)
		return;
	source_parse(m, s, &src);
	if (is_room(target))
		i = windows_find(&s->wins, room_of(target));
	else if (is_me(s, target))
		i = windows_find(&s->wins, src.nick);
	else
		i = windows_find(&s->wins, target);
	if (i <= 0)
		return;
	if (scroll_redact(&s->wins.v[i]->sb, param(m, 1)) != -1)
		s->dirty = 1;
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
		s->wins.v[i]->names_done = 0;
		s->wins.v[i]->left = 0;
		s->wins.v[i]->who_asked = 0;
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
	w->left = 1;		/* typing here sends nothing now */
	w->who_pending = 0;
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
		win_linef(s, reply_window(s), now, LINE_INFO, ACT_NONE,
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

/* After a reconnect, once a room's JOIN is done: ask for what was said
 * there since the last line we saw. */
static void
catch_up(struct session *s, struct window *w, char out[][512], int *nout,
    int maxout)
{
	char		when[64];
	struct tm	tm;
	time_t		t;
	int		limit;

	if (!w->catch_pending)
		return;
	w->catch_pending = 0;
	if (!(s->caps & CAP_CHATHISTORY))
		return;
	limit = s->chathistory_max > 0 ? s->chathistory_max :
	    CHATHISTORY_DEFAULT;
	if (w->catch_msgid[0] != '\0') {
		reply(out, nout, maxout, "CHATHISTORY AFTER %s msgid=%s %d",
		    w->name, w->catch_msgid, limit);
		return;
	}
	t = (time_t)(w->catch_ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return;
	reply(out, nout, maxout, "CHATHISTORY AFTER %s timestamp=%s.%03dZ %d",
	    w->name, when, (int)(w->catch_ms % 1000), limit);
}

/* 366 me #room :End of /NAMES list: the list is complete, show it. */
static void
on_end_names(struct session *s, const struct irc_msg *m, time_t now,
    char out[][512], int *nout, int maxout)
{
	struct window	*w;
	char		 text[4096];
	size_t		 used = 0;
	int		 i, k, n;

	i = windows_find(&s->wins, param(m, 1));
	if (i <= 0 || !s->wins.v[i]->joined)
		return;
	w = s->wins.v[i];
	w->names_done = 1;
	catch_up(s, w, out, nout, maxout);
	/* Who is away: the WHO flags (H here, G gone); away-notify keeps
	 * them right from then on. */
	if ((s->caps & CAP_AWAY_NOTIFY) && !w->who_asked &&
	    *nout < maxout) {
		reply(out, nout, maxout, "WHO %s", w->name);
		w->who_pending = 1;
		w->who_asked = 1;
	}
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
	struct window	*w;
	char		 line[OUT_MAX_BYTES + 1];
	size_t		 used = 0, n;
	int		 i;

	s->registered = 1;
	s->cap_busy = 0;
	/* A re-registration: each room catches up from where it was, not
	 * from the JOIN about to come. */
	if (++s->nregistered > 1)
		for (i = 1; i < s->wins.n; i++) {
			w = s->wins.v[i];
			w->catch_pending = w->kind == WIN_ROOM &&
			    (w->last_msgid[0] != '\0' || w->last_ms > 0);
			snprintf(w->catch_msgid, sizeof(w->catch_msgid), "%s",
			    w->last_msgid);
			w->catch_ms = w->last_ms;
		}
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
		i = reply_window(s);
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

/* 005: the tokens we use. */
static void
isupport(struct session *s, const struct irc_msg *m)
{
	int	k, n;

	for (k = 1; k < m->nparams - 1; k++) {
		if (strncmp(m->params[k], "CHATHISTORY=", 12) != 0)
			continue;
		n = atoi(m->params[k] + 12);
		s->chathistory_max = n > 0 ? n : 0;
	}
}

/*
 * 352 me #room user host server nick flags :hops name, and 315 me #room:
 * the replies to the WHO on_end_names sent, which set who is away and
 * are not shown.  Returns 1 if m was one of them.
 */
static int
who_auto(struct session *s, const struct irc_msg *m, int numeric)
{
	struct window	*w;
	char		 v[64];
	int		 i;

	/* Ours goes unlabeled: a labeled answer (in its batch) is the
	 * user's own /who, even while ours is pending. */
	if (m->tags != NULL && (irc_tag_get(m->tags, "label", v,
	    sizeof(v)) == 1 || irc_tag_get(m->tags, "batch", v,
	    sizeof(v)) == 1))
		return 0;
	if ((i = windows_find(&s->wins, param(m, 1))) <= 0)
		return 0;
	w = s->wins.v[i];
	if (!w->who_pending || w->kind != WIN_ROOM)
		return 0;
	if (numeric == 315) {
		w->who_pending = 0;
		return 1;
	}
	window_nick_away(w, param(m, 5), param(m, 6)[0] == 'G');
	s->dirty = 1;
	return 1;
}

/* AWAY [:reason] from someone (away-notify): set, or back without. */
static void
on_away(struct session *s, const struct irc_msg *m)
{
	struct source	 src;
	int		 i, away = m->nparams >= 1 && m->params[0][0] != '\0';

	source_parse(m, s, &src);
	for (i = 1; i < s->wins.n; i++)
		if (s->wins.v[i]->kind == WIN_ROOM)
			window_nick_away(s->wins.v[i], src.nick, away);
	s->dirty = 1;
}

/* MARKREAD <target> timestamp=<time>|*: where our account (this or
 * another device) read target up to. */
static void
on_markread(struct session *s, const struct irc_msg *m)
{
	const char	*v = param(m, 1);
	struct window	*w;
	time_t		 when;
	long long	 ms;
	int		 i, msec;

	if (strncmp(v, "timestamp=", 10) != 0 ||
	    parse_server_time(v + 10, &when, &msec) == -1)
		return;		/* "*": nothing read yet */
	if ((i = windows_find(&s->wins, param(m, 0))) <= 0)
		return;
	w = s->wins.v[i];
	ms = (long long)when * 1000 + msec;
	if (ms <= w->read_ms)
		return;
	w->read_ms = ms;
	/* Read elsewhere: no need to tell the server again. */
	if (ms > w->markread_sent)
		w->markread_sent = ms;
	if (w->markread_want <= ms)
		w->markread_want = 0;
	/* Where another device stopped reading shows here too. */
	if (i == s->wins.cur)
		w->marker_on = 1;
	s->dirty = 1;
}

void
markread_flush(struct session *s, long long now_ms, char out[][512],
    int *nout, int maxout)
{
	struct window	*w;
	struct tm	 tm;
	time_t		 t;
	char		 when[32];
	int		 i;

	if (!s->registered || !(s->caps & CAP_READ_MARKER) ||
	    s->account[0] == '\0')
		return;
	for (i = 1; i < s->wins.n && *nout < maxout; i++) {
		w = s->wins.v[i];
		if (w->markread_want <= w->markread_sent ||
		    (w->markread_at != 0 &&
		    now_ms - w->markread_at < MARKREAD_INTERVAL_MS))
			continue;
		t = (time_t)(w->markread_want / 1000);
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S",
		    &tm) == 0)
			continue;
		reply(out, nout, maxout, "MARKREAD %s timestamp=%s.%03dZ",
		    w->name, when, (int)(w->markread_want % 1000));
		w->markread_sent = w->markread_want;
		w->markread_want = 0;
		w->markread_at = now_ms;
	}
}

static void	on_sasl_numeric(struct session *, const struct irc_msg *, int,
		    time_t, char [][512], int *, int);
static void	login_fail(struct session *, time_t, char [][512], int *, int,
		    const char *, ...) __attribute__((format(printf, 6, 7)));

/*
 * 401 (no such nick) or 404 (cannot send to channel) for a message of
 * ours: with echo-message its pending line waits for an echo that will
 * not come, so the oldest one to that target says "not sent" (lines go
 * and are refused in order).  Without echo-message the line was shown
 * as sent when it went, and the error says the rest.
 */
static void
pending_refused(struct session *s, const struct irc_msg *m)
{
	const struct line	*l;
	struct scroll		*sb;
	int			 i, k;

	if (!(s->caps & CAP_ECHO_MESSAGE) || m->nparams < 3 ||
	    (i = windows_find(&s->wins, param(m, 1))) <= 0)
		return;
	sb = &s->wins.v[i]->sb;
	for (k = 0; k < sb->count; k++)
		if ((l = scroll_get(sb, k)) != NULL && l->pending != 0 &&
		    l->self) {
			scroll_not_sent(sb, k);
			s->dirty = 1;
			return;
		}
}

static void
on_numeric(struct session *s, const struct irc_msg *m, int numeric,
    time_t now, char out[][512], int *nout, int maxout)
{
	if (numeric == 401 || numeric == 404)
		pending_refused(s, m);
	if (numeric >= 900 && numeric <= 908) {
		on_sasl_numeric(s, m, numeric, now, out, nout, maxout);
		return;
	}
	if ((numeric == 352 || numeric == 315) && who_auto(s, m, numeric))
		return;
	/* Our away state for the status bar; the reply is shown too. */
	if (numeric == 305 || numeric == 306) {
		s->away = numeric == 306;
		s->dirty = 1;
	}
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
		on_end_names(s, m, now, out, nout, maxout);
		return;
	case 5:
		isupport(s, m);
		break;
	case 421:
		/* A server without CAP: registration goes on without,
		 * but it cannot log us in. */
		if (strcasecmp(param(m, 1), "CAP") == 0) {
			s->cap_busy = 0;
			if (s->sasl_mech != SASL_NONE && !s->registered)
				login_fail(s, now, out, nout, maxout, "Login "
				    "failed: the server does not offer SASL");
			return;
		}
		break;
	case 432:
	case 433:
		if (!s->registered) {
			retry_nick(s, m, now, out, nout, maxout);
			return;
		}
		break;
	case 464:	/* a wrong server password, before registering */
	case 465:	/* banned */
		if (numeric == 465 || !s->registered) {
			s->fault = numeric == 464 ? FAULT_PASSWORD :
			    FAULT_BANNED;
			snprintf(s->fault_text, sizeof(s->fault_text), "%s",
			    param(m, m->nparams - 1));
			return;	/* net.c says it, with what to change */
		}
		break;
	}
	/* Everything else: where and how the table in reply.c says. */
	reply_numeric(s, m, numeric, now);
}

static void
cap_end(struct session *s, char out[][512], int *nout, int maxout)
{
	/* Registration waits for the login. */
	if (!s->cap_busy || s->sasl_state == SASL_REQ ||
	    s->sasl_state == SASL_START || s->sasl_state == SASL_SENT)
		return;
	s->cap_busy = 0;
	reply(out, nout, maxout, "CAP END");
}

static const char *
mech_name(enum sasl_mech mech)
{
	return mech == SASL_EXTERNAL ? "EXTERNAL" : "PLAIN";
}

/* The login cannot happen: say why (net.c shows it and stops dialling)
 * and leave. */
static void
login_fail(struct session *s, time_t now, char out[][512], int *nout,
    int maxout, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
login_fail(struct session *s, time_t now, char out[][512], int *nout,
    int maxout, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->login_why, sizeof(s->login_why), fmt, ap);
	va_end(ap);
	s->login_failed = 1;
	s->sasl_state = SASL_IDLE;
	s->cap_busy = 0;
	win_line(s, 0, now, LINE_ERROR, NULL, s->login_why, 0, 0,
	    ACT_HIGHLIGHT);
	reply(out, nout, maxout, "QUIT :Login failed");
}

/* 1 if the comma list mechs (a CAP LS sasl value) names mech; an empty
 * list names them all. */
static int
mechs_have(const char *mechs, const char *mech)
{
	size_t	n = strlen(mech);
	const char *p;

	if (mechs[0] == '\0')
		return 1;
	for (p = mechs; *p != '\0'; p += strcspn(p, ","), p += *p == ',')
		if (strncasecmp(p, mech, n) == 0 && (p[n] == ',' ||
		    p[n] == '\0'))
			return 1;
	return 0;
}

/* AUTHENTICATE from the server: "+" asks for our response. */
static void
on_authenticate(struct session *s, const struct irc_msg *m, time_t now,
    char out[][512], int *nout, int maxout)
{
	int	n;

	if (s->sasl_state != SASL_START || strcmp(param(m, 0), "+") != 0)
		return;
	if (s->sasl_mech == SASL_EXTERNAL) {
		/* The certificate speaks; the authzid is empty. */
		reply(out, nout, maxout, "AUTHENTICATE +");
		s->sasl_state = SASL_SENT;
		return;
	}
	n = sasl_plain_lines(s->sasl_user, s->sasl_pass != NULL ?
	    s->sasl_pass : "", out + *nout, maxout - *nout);
	if (n == -1) {
		reply(out, nout, maxout, "AUTHENTICATE *");
		login_fail(s, now, out, nout, maxout, "Login failed: the "
		    "account name or password is too long");
		return;
	}
	*nout += n;
	s->sasl_state = SASL_SENT;
}

/* 900-908 (IRCv3 sasl). */
static void
on_sasl_numeric(struct session *s, const struct irc_msg *m, int numeric,
    time_t now, char out[][512], int *nout, int maxout)
{
	const char	*text = param(m, m->nparams - 1);
	int		 ours = s->sasl_state == SASL_START ||
			    s->sasl_state == SASL_SENT;

	switch (numeric) {
	case 900:	/* <nick> <mask> <account> :You are now logged in */
		snprintf(s->account, sizeof(s->account), "%s", param(m, 2));
		win_line(s, 0, now, LINE_INFO, NULL, text, 0, 0, ACT_NONE);
		return;
	case 901:	/* <nick> <mask> :You are now logged out */
		s->account[0] = '\0';
		win_line(s, 0, now, LINE_INFO, NULL, text, 0, 0, ACT_NONE);
		return;
	case 903:	/* success */
	case 907:	/* already logged in: as good */
		win_line(s, 0, now, LINE_INFO, NULL, text, 0, 0, ACT_NONE);
		if (ours) {
			s->sasl_state = SASL_DONE;
			cap_end(s, out, nout, maxout);
		}
		return;
	case 908:	/* <nick> <mechanisms> :are available SASL mechanisms */
		snprintf(s->sasl_mechs, sizeof(s->sasl_mechs), "%s",
		    param(m, 1));
		return;
	case 902:	/* nick locked */
	case 904:	/* failed */
	case 905:	/* too long */
	case 906:	/* aborted */
		if (!ours) {
			win_line(s, s->wins.cur, now, LINE_ERROR, NULL, text, 0,
			    0, ACT_NONE);
			return;
		}
		if (s->sasl_mechs[0] != '\0' &&
		    !mechs_have(s->sasl_mechs, mech_name(s->sasl_mech)))
			login_fail(s, now, out, nout, maxout, "Login failed: "
			    "%s (the server offers %s, not %s)", text,
			    s->sasl_mechs, mech_name(s->sasl_mech));
		else
			login_fail(s, now, out, nout, maxout, "Login failed: "
			    "%s", text);
		return;
	}
}

/* CAP LS is complete: the caps to ask for, with sasl when we log in;
 * 0, or -1 when the login cannot happen here (it failed). */
static int
cap_request(struct session *s, time_t now, char out[][512], int *nout,
    int maxout)
{
	char		 req[512];
	unsigned	 want;
	size_t		 used = 0, k;

	want = s->caps_offered;
	/* History without batches could not be told from live. */
	if (!(want & CAP_BATCH))
		want &= ~(CAP_CHATHISTORY | CAP_LABELED_RESPONSE |
		    CAP_MULTILINE);
	req[0] = '\0';
	for (k = 0; k < sizeof(cap_names) / sizeof(cap_names[0]); k++)
		if (want & cap_names[k].bit)
			used += (size_t)snprintf(req + used,
			    sizeof(req) - used, "%s%s", used > 0 ? " " : "",
			    cap_names[k].name);
	if (s->sasl_mech != SASL_NONE && s->sasl_state == SASL_IDLE) {
		if (!s->sasl_offered) {
			login_fail(s, now, out, nout, maxout, "Login failed: "
			    "the server does not offer SASL");
			return -1;
		}
		if (!mechs_have(s->sasl_mechs, mech_name(s->sasl_mech))) {
			login_fail(s, now, out, nout, maxout, "Login failed: "
			    "the server offers SASL %s, not %s", s->sasl_mechs,
			    mech_name(s->sasl_mech));
			return -1;
		}
		used += (size_t)snprintf(req + used, sizeof(req) - used,
		    "%ssasl", used > 0 ? " " : "");
		s->sasl_state = SASL_REQ;
	}
	if (used == 0)
		cap_end(s, out, nout, maxout);
	else
		reply(out, nout, maxout, "CAP REQ :%s", req);
	return 0;
}

/* The draft/multiline value: "max-bytes=4096,max-lines=100" (a
 * missing max-bytes, which the spec requires, is taken as
 * MULTILINE_BYTES_DEFAULT; max-lines as our own bound). */
static void
multiline_limits(struct session *s, const char *value)
{
	const char	*p;
	long		 n;

	s->multiline_bytes = MULTILINE_BYTES_DEFAULT;
	s->multiline_lines = MULTILINE_LINES_MAX;
	for (p = value; *p != '\0'; p += strcspn(p, ","), p += *p == ',') {
		if (strncmp(p, "max-bytes=", 10) == 0 &&
		    (n = strtol(p + 10, NULL, 10)) > 0)
			s->multiline_bytes = n > MULTILINE_RECV_MAX ?
			    MULTILINE_RECV_MAX : (int)n;
		else if (strncmp(p, "max-lines=", 10) == 0 &&
		    (n = strtol(p + 10, NULL, 10)) > 0 &&
		    n < MULTILINE_LINES_MAX)
			s->multiline_lines = (int)n;
	}
}

/* CAP <nick> LS|ACK|NAK|NEW|DEL [*] :caps */
static void
on_cap(struct session *s, const struct irc_msg *m, time_t now,
    char out[][512], int *nout, int maxout)
{
	const char	*sub = param(m, 1);
	char		 list[512], *p, *tok;
	unsigned	 bits = 0, gone = 0;
	size_t		 k;
	int		 more, minus, sasl = 0;

	more = m->nparams >= 4 && strcmp(param(m, 2), "*") == 0;
	snprintf(list, sizeof(list), "%s", param(m, m->nparams - 1));
	p = list;
	while ((tok = strsep(&p, " ")) != NULL) {
		if ((minus = tok[0] == '-'))
			tok++;
		/* sts is never requested: its value is for net.c (which
		 * acts on it outside ui_lock). */
		if (strcmp(sub, "LS") == 0 && strncmp(tok, "sts=", 4) == 0) {
			snprintf(s->sts, sizeof(s->sts), "%s", tok + 4);
			s->sts_seen = 1;
		}
		if (strcmp(sub, "LS") == 0 && (strcmp(tok, "sasl") == 0 ||
		    strncmp(tok, "sasl=", 5) == 0)) {
			s->sasl_offered = 1;
			snprintf(s->sasl_mechs, sizeof(s->sasl_mechs), "%s",
			    tok[4] == '=' ? tok + 5 : "");
		}
		if (strcmp(sub, "LS") == 0 &&
		    strncmp(tok, "draft/multiline", 15) == 0 &&
		    (tok[15] == '=' || tok[15] == '\0'))
			multiline_limits(s, tok[15] == '=' ? tok + 16 : "");
		tok[strcspn(tok, "=")] = '\0';	/* LS 302: name=value */
		if (strcmp(tok, "sasl") == 0)
			sasl = 1;
		for (k = 0; k < sizeof(cap_names) / sizeof(cap_names[0]); k++)
			if (strcmp(tok, cap_names[k].name) == 0) {
				if (minus)
					gone |= cap_names[k].bit;
				else
					bits |= cap_names[k].bit;
			}
	}
	if (strcmp(sub, "LS") == 0) {
		s->caps_offered |= bits;
		if (more || !s->cap_busy)
			return;
		(void)cap_request(s, now, out, nout, maxout);
	} else if (strcmp(sub, "ACK") == 0) {
		s->caps = (s->caps | bits) & ~gone;
		if (sasl && s->sasl_state == SASL_REQ) {
			s->sasl_state = SASL_START;
			reply(out, nout, maxout, "AUTHENTICATE %s",
			    mech_name(s->sasl_mech));
		}
		if (!more)
			cap_end(s, out, nout, maxout);
	} else if (strcmp(sub, "NAK") == 0) {
		/* The whole request was refused, sasl with it. */
		if (s->sasl_state == SASL_REQ)
			login_fail(s, now, out, nout, maxout, "Login failed: "
			    "the server refused the sasl capability");
		else if (!more)
			cap_end(s, out, nout, maxout);
	} else if (strcmp(sub, "DEL") == 0)
		s->caps &= ~bits;
}

static struct batch *
batch_find(struct session *s, const char *ref)
{
	int	i;

	for (i = 0; i < s->nbatches; i++)
		if (strcmp(s->batches[i].ref, ref) == 0)
			return &s->batches[i];
	return NULL;
}

/* --- draft/multiline: a batch of lines shown as one message --- */

/* BATCH +ref draft/multiline target: the whole message's source, time
 * and msgid are the opening line's. */
static void
multiline_open(struct session *s, struct batch *b, const struct irc_msg *m)
{
	b->multiline = 1;
	snprintf(b->source, sizeof(b->source), "%s",
	    m->prefix != NULL ? m->prefix : "");
	snprintf(b->msgid, sizeof(b->msgid), "%s", s->line_msgid);
	b->when = s->line_when;
	b->msec = s->line_msec;
	b->timed = s->line_timed;
	if (!b->history)
		b->history = s->line_history;
}

/* A PRIVMSG or NOTICE inside a multiline batch: its text joins the
 * message (after a '\n', or straight on with draft/multiline-concat).
 * Returns 1 if m was such a line. */
static int
multiline_line(struct session *s, const struct irc_msg *m)
{
	struct batch	*b;
	const char	*text = param(m, 1);
	char		 ref[64], v[8];
	size_t		 n = strlen(text), need;
	int		 concat;
	char		*p;

	if (m->tags == NULL || (strcmp(m->command, "PRIVMSG") != 0 &&
	    strcmp(m->command, "NOTICE") != 0) ||
	    irc_tag_get(m->tags, "batch", ref, sizeof(ref)) != 1 ||
	    (b = batch_find(s, ref)) == NULL || !b->multiline)
		return 0;
	concat = irc_tag_get(m->tags, "draft/multiline-concat", v,
	    sizeof(v)) == 1;
	if (b->nlines == 0)
		b->notice = strcmp(m->command, "NOTICE") == 0;
	need = b->len + (b->nlines > 0 && !concat) + n + 1;
	/* Past the bound the rest is dropped (and said, at the close),
	 * never the memory. */
	if (need > MULTILINE_RECV_MAX) {
		b->dropped += n;
		return 1;
	}
	if ((p = realloc(b->text, need)) == NULL)
		return 1;
	b->text = p;
	if (b->nlines > 0 && !concat)
		b->text[b->len++] = '\n';
	memcpy(b->text + b->len, text, n);
	b->len += n;
	b->text[b->len] = '\0';
	b->nlines++;
	return 1;
}

/* A received message cut at MULTILINE_RECV_MAX says so on its last
 * line, never silently. */
static void
multiline_cut_note(struct batch *b)
{
	char	 note[96];
	char	*p;
	int	 n;

	n = snprintf(note, sizeof(note), "\n[%zu more bytes not shown: "
	    "over %d KiB]", b->dropped, MULTILINE_RECV_MAX / 1024);
	if (n < 0 || (p = realloc(b->text, b->len + (size_t)n + 1)) == NULL)
		return;
	b->text = p;
	memcpy(b->text + b->len, note, (size_t)n + 1);
	b->len += (size_t)n;
}

/* BATCH -ref of a multiline batch: the message, as if one PRIVMSG (or
 * NOTICE) had brought it, with the batch's time and msgid. */
static void
multiline_close(struct session *s, struct batch *b, time_t now,
    char out[][512], int *nout, int maxout)
{
	struct irc_msg	 m;

	if (b->nlines == 0 || b->text == NULL)
		return;
	if (b->dropped > 0)
		multiline_cut_note(b);
	memset(&m, 0, sizeof(m));
	m.prefix = b->source[0] != '\0' ? b->source : NULL;
	m.command = b->notice ? (char *)"NOTICE" : (char *)"PRIVMSG";
	m.params[0] = b->target;
	m.params[1] = b->text;
	m.nparams = 2;
	m.trailing = 1;
	s->line_history = b->history;
	snprintf(s->line_msgid, sizeof(s->line_msgid), "%s", b->msgid);
	s->line_stored = 1;
	s->line_timed = b->timed;
	if (b->timed) {
		s->line_when = b->when;
		s->line_msec = b->msec;
		now = b->when;
	}
	on_message(s, &m, now, out, nout, maxout);
}

/* BATCH +ref type [params], BATCH -ref */
static void
on_batch(struct session *s, const struct irc_msg *m, time_t now,
    char out[][512], int *nout, int maxout)
{
	const char	*ref = param(m, 0), *type = param(m, 1);
	struct batch	*b;
	int		 i;

	if (ref[0] == '+' && ref[1] != '\0') {
		if (s->nbatches == BATCH_OPEN_MAX || batch_find(s, ref + 1))
			return;
		b = &s->batches[s->nbatches++];
		memset(b, 0, sizeof(*b));
		snprintf(b->ref, sizeof(b->ref), "%s", ref + 1);
		/* A batch inside a history batch is history too. */
		b->history = s->line_history ||
		    strcmp(type, "chathistory") == 0 ||
		    strcmp(type, "draft/chathistory") == 0;
		snprintf(b->target, sizeof(b->target), "%s",
		    m->nparams >= 3 ? param(m, 2) : s->line_target);
		if (strcmp(type, "draft/multiline") == 0 && m->nparams >= 3)
			multiline_open(s, b, m);
	} else if (ref[0] == '-' && (b = batch_find(s, ref + 1)) != NULL) {
		if (b->multiline)
			multiline_close(s, b, now, out, nout, maxout);
		free(b->text);
		i = (int)(b - s->batches);
		memmove(b, b + 1, (s->nbatches - i - 1) * sizeof(*b));
		s->nbatches--;
	}
}

/*
 * A replayed JOIN, PART, KICK, QUIT, NICK, TOPIC or MODE: a line in the
 * replay's window and nothing more (the nick list and topic are the
 * present's).
 */
static void
on_history_event(struct session *s, const struct irc_msg *m, time_t now)
{
	struct source	 src;
	const char	*cmd = m->command, *p0 = param(m, 0);
	char		 text[1024];
	int		 i;

	if ((i = windows_find(&s->wins, s->line_target)) <= 0)
		return;
	source_parse(m, s, &src);
	if (strcmp(cmd, "JOIN") == 0)
		snprintf(text, sizeof(text), "%s has joined %s", src.nick, p0);
	else if (strcmp(cmd, "PART") == 0)
		snprintf(text, sizeof(text), "%s has left %s%s%s%s", src.nick,
		    p0, m->nparams >= 2 ? " (" : "", param(m, 1),
		    m->nparams >= 2 ? ")" : "");
	else if (strcmp(cmd, "KICK") == 0)
		snprintf(text, sizeof(text), "%s was kicked by %s%s%s%s",
		    param(m, 1), src.nick, m->nparams >= 3 ? " (" : "",
		    param(m, 2), m->nparams >= 3 ? ")" : "");
	else if (strcmp(cmd, "QUIT") == 0)
		snprintf(text, sizeof(text), "%s has quit%s%s%s", src.nick,
		    m->nparams >= 1 ? " (" : "", p0,
		    m->nparams >= 1 ? ")" : "");
	else if (strcmp(cmd, "NICK") == 0)
		snprintf(text, sizeof(text), "%s is now known as %s",
		    src.nick, p0);
	else if (strcmp(cmd, "TOPIC") == 0 && param(m, 1)[0] != '\0')
		snprintf(text, sizeof(text),
		    "%s changed the topic of %s to: %s", src.nick, p0,
		    param(m, 1));
	else if (strcmp(cmd, "TOPIC") == 0)
		snprintf(text, sizeof(text), "%s removed the topic of %s",
		    src.nick, p0);
	else if (strcmp(cmd, "MODE") == 0 && m->nparams >= 2) {
		join_params(m, text, sizeof(text));
		win_linef(s, i, now, LINE_EVENT, ACT_NONE, "%s sets mode %s",
		    src.nick, text);
		return;
	} else
		return;
	win_line(s, i, now, LINE_EVENT, NULL, text, 0, 0, ACT_NONE);
}

/* What the tags (and a plain-text replay) say about line m: its time,
 * msgid, and whether it is history.  now becomes the line's time. */
static void
line_begin(struct session *s, const struct irc_msg *m, time_t *now)
{
	static const char *const stored[] = {
		"PRIVMSG", "NOTICE", "TAGMSG", "JOIN", "PART", "QUIT", "NICK",
		"TOPIC", "KICK", NULL
	};
	const struct batch	*b;
	const char		*p0 = param(m, 0);
	char			 v[64];
	int			 i;

	s->line_when = *now;
	s->line_msec = 0;
	s->line_msgid[0] = '\0';
	s->line_history = 0;
	s->line_timed = 0;
	s->line_stored = 0;
	s->line_target[0] = '\0';
	for (i = 0; stored[i] != NULL; i++)
		if (strcmp(m->command, stored[i]) == 0)
			s->line_stored = 1;
	if (m->tags != NULL) {
		if (irc_tag_get(m->tags, "time", v, sizeof(v)) == 1 &&
		    parse_server_time(v, &s->line_when, &s->line_msec) == 0) {
			s->line_timed = 1;
			*now = s->line_when;
		}
		if (irc_tag_get(m->tags, "msgid", s->line_msgid,
		    sizeof(s->line_msgid)) != 1)
			s->line_msgid[0] = '\0';
		if (irc_tag_get(m->tags, "batch", v, sizeof(v)) == 1 &&
		    (b = batch_find(s, v)) != NULL && b->history) {
			s->line_history = 1;
			snprintf(s->line_target, sizeof(s->line_target), "%s",
			    b->target);
		}
	}
	if (!s->line_history && s->line_stored && is_room(p0) &&
	    (i = windows_find(&s->wins, room_of(p0))) > 0 &&
	    s->wins.v[i]->plain_hist) {
		s->line_history = 1;
		snprintf(s->line_target, sizeof(s->line_target), "%s",
		    room_of(p0));
	}
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
	/* Read markers held back by the bound go with whatever comes. */
	markread_flush(s, link_clock_ms(), out, nout, maxout);
	line_begin(s, m, &now);
	if (reply_route(s, m))
		return;
	if (isdigit((unsigned char)cmd[0]) && isdigit((unsigned char)cmd[1]) &&
	    isdigit((unsigned char)cmd[2]) && cmd[3] == '\0') {
		on_numeric(s, m, atoi(cmd), now, out, nout, maxout);
		return;
	}
	if (strcmp(cmd, "CAP") == 0)
		on_cap(s, m, now, out, nout, maxout);
	else if (strcmp(cmd, "AUTHENTICATE") == 0)
		on_authenticate(s, m, now, out, nout, maxout);
	else if (strcmp(cmd, "BATCH") == 0)
		on_batch(s, m, now, out, nout, maxout);
	else if (multiline_line(s, m))
		;	/* shown whole at the batch's end */
	else if (s->line_history && strcmp(cmd, "PRIVMSG") != 0 &&
	    strcmp(cmd, "NOTICE") != 0) {
		if (s->line_target[0] == '\0' && is_room(param(m, 0)))
			snprintf(s->line_target, sizeof(s->line_target), "%s",
			    room_of(param(m, 0)));
		on_history_event(s, m, now);
	} else if (strcmp(cmd, "PING") == 0) {
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
	else if (strcmp(cmd, "AWAY") == 0)
		on_away(s, m);
	else if (strcmp(cmd, "MARKREAD") == 0)
		on_markread(s, m);
	else if (strcmp(cmd, "REDACT") == 0)
		on_redact(s, m);
	else if (strcmp(cmd, "ERROR") == 0)
		win_line(s, 0, now, LINE_ERROR, NULL, param(m, 0), 0, 0,
		    ACT_HIGHLIGHT);
	else if (strcmp(cmd, "INVITE") == 0) {
		source_parse(m, s, &src);
		win_linef(s, s->wins.cur, now, LINE_EVENT, ACT_NONE,
		    "%s invites you to %s", src.nick, param(m, 1));
	} else if (strcmp(cmd, "PONG") == 0) {
		/* The answer to net.c's PING: the lag. */
		if (s->ping_at != 0 && m->nparams > 0 && strcmp(param(m,
		    m->nparams - 1), s->ping_token) == 0) {
			s->lag_ms = (int)(link_clock_ms() - s->ping_at);
			s->ping_at = 0;
		}
	} else if (strcmp(cmd, "TAGMSG") != 0) {
		/* Anything else: show it raw rather than lose it. */
		join_params(m, text, sizeof(text));
		win_linef(s, 0, now, LINE_INFO, ACT_NONE, "%s %s %s", cmd,
		    param(m, 0), text);
	}
}
