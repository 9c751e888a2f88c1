/*
 * reply.c: numeric replies, each shown in its window and readable.
 *
 * One table says, for every numeric natterd sends and the common ones
 * other servers send (RFC 2812, Modern IRC, IRCv3), which window it goes
 * to and how it reads.  A few kinds gather state: a WHOIS becomes one
 * block at its 318, WHO rows are aligned under a header, LIST fills a
 * window of its own, and the MOTD is shown once per connection (again
 * only when it changed, or when the user asks with /motd).
 *
 * IRCv3 labeled-response: a command the user types goes out as
 * "@label=n7 WHOIS bob" and the label remembers the window it was typed
 * in (by name, since windows close); the reply (one labeled line, a
 * labeled batch, or an ACK) comes back there.  Without the capability
 * (ngIRCd), replies to commands go to the current window.
 *
 * Plain C, no curses; the model is guarded by ui_lock like the rest of
 * struct session (handle_line and the input thread both hold it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "casemap.h"
#include "natter.h"

#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

/* WHO columns: nick, user@host, flags, then the real name. */
#define WHO_NICK_COLS	15
#define WHO_HOST_COLS	24
#define WHO_FLAG_COLS	5
/* LIST columns: room, users, then the topic. */
#define LIST_ROOM_COLS	20
#define LIST_USER_COLS	5
/* WHOIS rows: "  name:    Bob", the label padded to this width. */
#define WHOIS_LABEL_COLS 8

static const struct reply_def replies[] = {
	/* Registration and the server (001, 005, 353/366 and 331-333 have
	 * handlers in handle.c). */
	{ 2, REPLY_STATUS, LINE_INFO, "$t" },
	{ 3, REPLY_STATUS, LINE_INFO, "$t" },
	{ 4, REPLY_STATUS, LINE_INFO,
	    "$1 runs $2 (user modes $3, room modes $4)" },
	{ 5, REPLY_STATUS, LINE_INFO, "Supported: $m" },
	{ 42, REPLY_STATUS, LINE_INFO, "Your unique ID: $1" },
	{ 221, REPLY_COMMAND, LINE_INFO, "Your modes: $1" },
	{ 250, REPLY_STATUS, LINE_INFO, "$t" },
	{ 251, REPLY_STATUS, LINE_INFO, "$t" },
	{ 252, REPLY_STATUS, LINE_INFO, "$1 $t" },
	{ 253, REPLY_STATUS, LINE_INFO, "$1 $t" },
	{ 254, REPLY_STATUS, LINE_INFO, "$1 $t" },
	{ 255, REPLY_STATUS, LINE_INFO, "$t" },
	{ 256, REPLY_COMMAND, LINE_INFO, "Administrative info about $1" },
	{ 257, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 258, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 259, REPLY_COMMAND, LINE_INFO, "$t" },
	/* 265/266: the leading counts repeat what the text says. */
	{ 265, REPLY_STATUS, LINE_INFO, "$t" },
	{ 266, REPLY_STATUS, LINE_INFO, "$t" },
	{ 276, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 301, REPLY_AWAY, LINE_INFO, "$1 is away: $t" },
	{ 302, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 303, REPLY_COMMAND, LINE_INFO, "Online: $t" },
	{ 305, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 306, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 307, REPLY_WHOIS, LINE_INFO, "$t" },
	/* WHOIS and WHOWAS: rows of one block (whois_add). */
	{ 311, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 312, REPLY_WHOIS, LINE_INFO, "$r ($t)" },
	{ 313, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 314, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 315, REPLY_WHO, LINE_INFO, "End of WHO $1" },
	{ 317, REPLY_WHOIS, LINE_INFO, "$%2" },
	{ 318, REPLY_WHOIS, LINE_INFO, "End of WHOIS" },
	{ 319, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 320, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 321, REPLY_LIST, LINE_INFO, "" },
	{ 322, REPLY_LIST, LINE_INFO, "" },
	{ 323, REPLY_LIST, LINE_INFO, "" },
	{ 324, REPLY_TARGET, LINE_INFO, "Modes of $1: $*2" },
	{ 329, REPLY_TARGET, LINE_INFO, "$1 was created on $@2" },
	{ 330, REPLY_WHOIS, LINE_INFO, "$r" },
	{ 335, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 338, REPLY_WHOIS, LINE_INFO, "$r" },
	{ 341, REPLY_COMMAND, LINE_INFO, "Inviting $1 to $2" },
	{ 346, REPLY_TARGET, LINE_INFO, "Invite exception on $1: $2" },
	{ 347, REPLY_TARGET, LINE_INFO, "$1: $t" },
	{ 348, REPLY_TARGET, LINE_INFO, "Ban exception on $1: $2" },
	{ 349, REPLY_TARGET, LINE_INFO, "$1: $t" },
	{ 351, REPLY_COMMAND, LINE_INFO, "$2 runs $1 ($t)" },
	{ 352, REPLY_WHO, LINE_INFO, "" },
	{ 354, REPLY_WHO, LINE_INFO, "$*1" },
	{ 364, REPLY_COMMAND, LINE_INFO, "$1 $2 ($t)" },
	{ 365, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 367, REPLY_TARGET, LINE_INFO, "Ban on $1: $2" },
	{ 368, REPLY_TARGET, LINE_INFO, "$1: $t" },
	{ 369, REPLY_WHOIS, LINE_INFO, "End of WHOWAS" },
	{ 371, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 372, REPLY_MOTD, LINE_INFO, "$t" },
	{ 374, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 375, REPLY_MOTD, LINE_INFO, "$t" },
	{ 376, REPLY_MOTD, LINE_INFO, "$t" },
	{ 378, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 379, REPLY_WHOIS, LINE_INFO, "$t" },
	{ 381, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 382, REPLY_COMMAND, LINE_INFO, "$1: $t" },
	{ 391, REPLY_COMMAND, LINE_INFO, "Time on $1: $t" },
	{ 396, REPLY_COMMAND, LINE_INFO, "$1 $t" },
	{ 422, REPLY_MOTD, LINE_INFO, "$t" },
	{ 671, REPLY_WHOIS, LINE_INFO, "TLS" },
	/* IRCv3 MONITOR. */
	{ 730, REPLY_STATUS, LINE_EVENT, "Online: $t" },
	{ 731, REPLY_STATUS, LINE_EVENT, "Offline: $t" },
	{ 732, REPLY_COMMAND, LINE_INFO, "Monitoring: $t" },
	{ 733, REPLY_COMMAND, LINE_INFO, "$t" },
	{ 734, REPLY_COMMAND, LINE_ERROR, "Monitor list is full ($1): $2" },
};

/* The label of each WHOIS row. */
static const char *const whois_names[WHOIS_ROWS] = {
	"name:", "rooms:", "server:", "oper:", "idle:", "away:",
	"account:", "host:", "modes:", "secure:", "info:"
};

static const char *
param(const struct irc_msg *m, int i)
{
	return i >= 0 && i < m->nparams && m->params[i] != NULL ?
	    m->params[i] : "";
}

const struct reply_def *
reply_find(int num, struct reply_def *generic)
{
	size_t	k;

	for (k = 0; k < sizeof(replies) / sizeof(replies[0]); k++)
		if (replies[k].num == num)
			return &replies[k];
	generic->num = num;
	generic->fmt = "$g";
	if (num >= 400 && num < 600) {
		generic->where = REPLY_COMMAND;
		generic->kind = LINE_ERROR;
	} else {
		generic->where = REPLY_STATUS;
		generic->kind = LINE_INFO;
	}
	return generic;
}

void
reply_duration(long long secs, char *out, size_t outlen)
{
	long long	d, h, mi, sec;

	if (secs < 0)
		secs = 0;
	d = secs / 86400;
	h = secs / 3600 % 24;
	mi = secs / 60 % 60;
	sec = secs % 60;
	if (d > 0)
		snprintf(out, outlen, "%lldd %lldh", d, h);
	else if (h > 0)
		snprintf(out, outlen, "%lldh %lldm", h, mi);
	else if (mi > 0)
		snprintf(out, outlen, "%lldm %llds", mi, sec);
	else
		snprintf(out, outlen, "%llds", sec);
}

/* A cursor over an output buffer that cuts quietly. */
struct cursor {
	char	*p;
	size_t	 len;
	size_t	 used;
};

static void
put(struct cursor *c, const char *s, size_t n)
{
	if (c->used + 1 >= c->len)
		return;
	if (n > c->len - 1 - c->used)
		n = c->len - 1 - c->used;
	memcpy(c->p + c->used, s, n);
	c->used += n;
	c->p[c->used] = '\0';
}

static void
put_str(struct cursor *c, const char *s)
{
	put(c, s, strlen(s));
}

/* Params from..to (inclusive), space separated. */
static void
put_range(struct cursor *c, const struct irc_msg *m, int from, int to)
{
	int	k;

	for (k = from; k <= to && k < m->nparams; k++) {
		if (k > from)
			put_str(c, " ");
		put_str(c, param(m, k));
	}
}

static void
put_time(struct cursor *c, const char *v)
{
	char		 buf[64];
	struct tm	 tm;
	time_t		 t;

	t = (time_t)strtoll(v, NULL, 10);
	if (t > 0 && localtime_r(&t, &tm) != NULL &&
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm) > 0)
		put_str(c, buf);
	else
		put_str(c, v);
}

size_t
reply_format(const char *fmt, const struct irc_msg *m, char *out,
    size_t outlen)
{
	struct cursor	 c = { out, outlen, 0 };
	char		 buf[64];
	int		 last = m->nparams - 1;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '$' || fmt[1] == '\0') {
			put(&c, fmt, 1);
			continue;
		}
		fmt++;
		if (*fmt >= '0' && *fmt <= '9')
			put_str(&c, param(m, *fmt - '0'));
		else if (*fmt == 't')
			put_str(&c, param(m, last));
		else if (*fmt == 'm')
			put_range(&c, m, 1, last - 1);
		else if (*fmt == 'r')
			put_range(&c, m, 2, last - 1);
		else if (*fmt == 'g') {
			put_range(&c, m, 1, last - 1);
			if (last > 1)
				put_str(&c, ": ");
			if (last >= 1)
				put_str(&c, param(m, last));
		} else if (*fmt == '*' && fmt[1] >= '0' && fmt[1] <= '9') {
			fmt++;
			put_range(&c, m, *fmt - '0', last);
		} else if (*fmt == '@' && fmt[1] >= '0' && fmt[1] <= '9') {
			fmt++;
			put_time(&c, param(m, *fmt - '0'));
		} else if (*fmt == '%' && fmt[1] >= '0' && fmt[1] <= '9') {
			fmt++;
			reply_duration(strtoll(param(m, *fmt - '0'), NULL, 10),
			    buf, sizeof(buf));
			put_str(&c, buf);
		} else
			put(&c, fmt - 1, 2);
	}
	return c.used;
}

/* --- windows --- */

/* Adds a line to window i (numerics are live, never history). */
static void
say(struct session *s, int i, time_t now, enum line_kind kind,
    enum activity act, const char *text)
{
	struct window	*w;
	struct line	 l;

	if (i < 0 || i >= s->wins.n)
		return;
	w = s->wins.v[i];
	memset(&l, 0, sizeof(l));
	l.when = now;
	l.msec = s->line_msec;
	l.kind = kind;
	l.text = (char *)text;
	scroll_insert(&w->sb, w->sb.count, &l);
	if (now > w->last_seen)
		w->last_seen = now;
	windows_mark(&s->wins, i, act);
	s->dirty = 1;
}

static void
sayf(struct session *s, int i, time_t now, enum line_kind kind,
    enum activity act, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
sayf(struct session *s, int i, time_t now, enum line_kind kind,
    enum activity act, const char *fmt, ...)
{
	char	text[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	say(s, i, now, kind, act, text);
}

/* The window of name, or the current one when it is gone (or ""). */
static int
window_or_current(const struct session *s, const char *name)
{
	int	i;

	if (name[0] != '\0' && (i = windows_find(&s->wins, name)) != -1)
		return i;
	return s->wins.cur;
}

/* The window of the command being answered: its label's, else the
 * current one. */
static int
command_window(const struct session *s)
{
	return window_or_current(s, s->reply.win);
}

int
reply_window(const struct session *s)
{
	return command_window(s);
}

static int
route(const struct session *s, enum reply_where where,
    const struct irc_msg *m)
{
	const char	*p1 = param(m, 1);
	int		 i;

	switch (where) {
	case REPLY_STATUS:
		return s->reply.win[0] != '\0' ? command_window(s) : 0;
	case REPLY_TARGET:
		if (p1[0] == '#' && (i = windows_find(&s->wins, p1)) > 0)
			return i;
		return command_window(s);
	case REPLY_AWAY:
		/* Away after a message: with whom we talk, if open. */
		if ((i = windows_find(&s->wins, p1)) > 0 &&
		    s->wins.v[i]->kind == WIN_QUERY)
			return i;
		return command_window(s);
	default:
		return command_window(s);
	}
}

/* --- WHOIS --- */

static void
whois_begin(struct session *s, const char *nick)
{
	struct replies	*r = &s->reply;
	int		 i = command_window(s);

	memset(r->whois, 0, sizeof(r->whois));
	r->whois_head[0] = '\0';
	r->whois_open = 1;
	r->whowas = 0;
	snprintf(r->whois_nick, sizeof(r->whois_nick), "%s", nick);
	snprintf(r->whois_win, sizeof(r->whois_win), "%s",
	    s->wins.v[i]->name);
}

/* Shows the gathered block and closes it. */
static void
whois_end(struct session *s, time_t now, const char *end)
{
	struct replies	*r = &s->reply;
	int		 i, k;

	if (!r->whois_open)
		return;
	r->whois_open = 0;
	i = window_or_current(s, r->whois_win);
	if (r->whois_head[0] != '\0')
		say(s, i, now, LINE_INFO, ACT_MSG, r->whois_head);
	for (k = 0; k < WHOIS_ROWS; k++)
		if (r->whois[k][0] != '\0')
			sayf(s, i, now, LINE_INFO, ACT_MSG, "  %-*s %s",
			    WHOIS_LABEL_COLS, whois_names[k], r->whois[k]);
	say(s, i, now, LINE_INFO, ACT_MSG, end);
}

/* Sets (or with sep, appends to) a row. */
static void
whois_set(struct session *s, enum whois_row row, const char *sep,
    const char *text)
{
	char	*v = s->reply.whois[row];
	size_t	 n = strlen(v);

	if (text[0] == '\0')
		return;
	if (sep != NULL && n > 0)
		snprintf(v + n, REPLY_TEXT_MAX - n, "%s%s", sep, text);
	else
		snprintf(v, REPLY_TEXT_MAX, "%s", text);
}

static void
whois_idle(struct session *s, const struct irc_msg *m)
{
	char	idle[64], row[REPLY_TEXT_MAX];
	struct cursor c = { row, sizeof(row), 0 };

	reply_duration(strtoll(param(m, 2), NULL, 10), idle, sizeof(idle));
	put_str(&c, idle);
	/* 317 nick idle signon :text; older servers leave signon out. */
	if (m->nparams >= 5 && strtoll(param(m, 3), NULL, 10) > 0) {
		put_str(&c, ", signed on ");
		put_time(&c, param(m, 3));
	}
	whois_set(s, WHOIS_IDLE, NULL, row);
}

/* One WHOIS or WHOWAS numeric. */
static void
whois_add(struct session *s, const struct reply_def *d,
    const struct irc_msg *m, time_t now)
{
	struct replies	*r = &s->reply;
	const char	*nick = param(m, 1);
	char		 text[REPLY_TEXT_MAX];
	int		 end = d->num == 318 || d->num == 369;

	if (end) {
		/* 318 after a 401 alone: the error said it all. */
		if (r->whois_open && casemap_cmp(r->whois_nick, nick) == 0)
			whois_end(s, now, d->fmt);
		return;
	}
	if (d->num == 311 || d->num == 314) {
		whois_end(s, now, r->whowas ? "End of WHOWAS" :
		    "End of WHOIS");
		whois_begin(s, nick);
		r->whowas = d->num == 314;
		snprintf(r->whois_head, sizeof(r->whois_head),
		    r->whowas ? "%s was (%s@%s)" : "%s (%s@%s)", nick,
		    param(m, 2), param(m, 3));
		whois_set(s, WHOIS_NAME, NULL, param(m, m->nparams - 1));
		return;
	}
	if (!r->whois_open || casemap_cmp(r->whois_nick, nick) != 0)
		whois_begin(s, nick);
	reply_format(d->fmt, m, text, sizeof(text));
	switch (d->num) {
	case 301:
		whois_set(s, WHOIS_AWAY, NULL, param(m, m->nparams - 1));
		break;
	case 312:
		whois_set(s, WHOIS_SERVER, NULL, text);
		break;
	case 313:
		whois_set(s, WHOIS_OPER, NULL, text);
		break;
	case 317:
		whois_idle(s, m);
		break;
	case 319:
		whois_set(s, WHOIS_ROOMS, " ", text);
		break;
	case 330:
		whois_set(s, WHOIS_ACCOUNT, NULL, text);
		break;
	case 338:
	case 378:
		whois_set(s, WHOIS_HOST, "; ", text);
		break;
	case 379:
		whois_set(s, WHOIS_MODES, NULL, text);
		break;
	case 671:
		whois_set(s, WHOIS_SECURE, NULL, text);
		break;
	default:
		whois_set(s, WHOIS_INFO, "; ", text);
		break;
	}
}

/* --- WHO --- */

static void
who_row(struct session *s, const struct reply_def *d,
    const struct irc_msg *m, time_t now)
{
	struct replies	*r = &s->reply;
	char		 host[256], text[REPLY_TEXT_MAX];
	const char	*real;
	int		 i;

	if (r->who_rows == 0)
		snprintf(r->who_win, sizeof(r->who_win), "%s",
		    s->wins.v[command_window(s)]->name);
	i = window_or_current(s, r->who_win);
	if (d->num == 315) {
		if (r->who_rows == 0)
			sayf(s, i, now, LINE_INFO, ACT_MSG,
			    "Nobody matches %s", param(m, 1));
		else {
			reply_format(d->fmt, m, text, sizeof(text));
			say(s, i, now, LINE_INFO, ACT_MSG, text);
		}
		r->who_rows = 0;
		return;
	}
	if (r->who_rows++ == 0 && d->num == 352)
		sayf(s, i, now, LINE_INFO, ACT_MSG, "%-*s %-*s %-*s %s",
		    WHO_NICK_COLS, "Nick", WHO_HOST_COLS, "User@host",
		    WHO_FLAG_COLS, "Flags", "Name");
	if (d->num != 352) {
		/* WHOX: its fields are whatever was asked for. */
		reply_format(d->fmt, m, text, sizeof(text));
		say(s, i, now, LINE_INFO, ACT_MSG, text);
		return;
	}
	/* 352 me room user host server nick flags :hops realname */
	snprintf(host, sizeof(host), "%s@%s", param(m, 2), param(m, 3));
	real = param(m, 7);
	real += strspn(real, "0123456789");
	real += strspn(real, " ");
	sayf(s, i, now, LINE_INFO, ACT_MSG, "%-*s %-*s %-*s %s",
	    WHO_NICK_COLS, param(m, 5), WHO_HOST_COLS, host, WHO_FLAG_COLS,
	    param(m, 6), real);
}

/* --- LIST --- */

static int
list_window(struct session *s)
{
	return windows_open(&s->wins, LIST_WINDOW, WIN_LIST);
}

static void
list_begin(struct session *s, time_t now)
{
	struct replies	*r = &s->reply;
	int		 i;

	if ((i = list_window(s)) < 0)
		return;
	scroll_clear(&s->wins.v[i]->sb);
	r->list_open = 1;
	r->list_rows = 0;
	r->list_more = 0;
	if (r->list_asked > 0) {
		r->list_asked--;
		windows_switch(&s->wins, i);
	}
	sayf(s, i, now, LINE_INFO, ACT_NONE, "%-*s %*s  %s", LIST_ROOM_COLS,
	    "Room", LIST_USER_COLS, "Users", "Topic");
}

static void
list_add(struct session *s, const struct reply_def *d,
    const struct irc_msg *m, time_t now)
{
	struct replies	*r = &s->reply;
	const char	*topic;
	int		 i;

	if (d->num == 321 || !r->list_open)
		list_begin(s, now);
	if (d->num == 321 || (i = list_window(s)) < 0)
		return;
	if (d->num == 322) {
		if (r->list_rows >= LIST_ROWS_MAX) {
			r->list_more++;
			return;
		}
		r->list_rows++;
		/* 322 me room users :topic (no trailing blanks without) */
		topic = m->nparams >= 4 ? param(m, 3) : "";
		sayf(s, i, now, LINE_INFO, ACT_NONE, "%-*s %*s%s%s",
		    LIST_ROOM_COLS, param(m, 1), LIST_USER_COLS, param(m, 2),
		    topic[0] != '\0' ? "  " : "", topic);
		return;
	}
	if (r->list_more > 0)
		sayf(s, i, now, LINE_INFO, ACT_NONE,
		    "%d more room%s not shown", r->list_more,
		    r->list_more == 1 ? "" : "s");
	sayf(s, i, now, LINE_INFO, ACT_MSG, "End of LIST: %d room%s",
	    r->list_rows + r->list_more,
	    r->list_rows + r->list_more == 1 ? "" : "s");
	r->list_open = 0;
}

/* --- MOTD --- */

static void
motd_clear(struct replies *r)
{
	int	k;

	for (k = 0; k < r->nmotd; k++)
		free(r->motd[k]);
	free(r->motd);
	r->motd = NULL;
	r->nmotd = 0;
	r->motd_more = 0;
	r->motd_open = 0;
	r->motd_hash = FNV_OFFSET;
}

static void
motd_line(struct replies *r, const char *text)
{
	const unsigned char	*p;
	char			**v, *dup;

	for (p = (const unsigned char *)text; *p != '\0'; p++)
		r->motd_hash = (r->motd_hash ^ *p) * FNV_PRIME;
	r->motd_hash = (r->motd_hash ^ '\n') * FNV_PRIME;
	if (r->nmotd >= MOTD_LINES_MAX) {
		r->motd_more++;
		return;
	}
	if ((dup = strdup(text)) == NULL)
		return;
	if ((v = reallocarray(r->motd, (size_t)r->nmotd + 1,
	    sizeof(*v))) == NULL) {
		free(dup);
		return;
	}
	r->motd = v;
	r->motd[r->nmotd++] = dup;
}

/* 376 or 422: shows the MOTD in the status window if the user asked,
 * or it is the first this session, or it changed. */
static void
motd_end(struct session *s, const char *text, time_t now)
{
	struct replies	*r = &s->reply;
	int		 k, show;

	motd_line(r, text);
	show = r->motd_asked > 0 || !r->motd_known ||
	    r->motd_hash != r->motd_last;
	if (r->motd_asked > 0)
		r->motd_asked--;
	if (show) {
		for (k = 0; k < r->nmotd; k++)
			say(s, 0, now, LINE_INFO, ACT_NONE, r->motd[k]);
		if (r->motd_more > 0)
			sayf(s, 0, now, LINE_INFO, ACT_NONE,
			    "(%d more lines of the MOTD not shown)",
			    r->motd_more);
	} else
		say(s, 0, now, LINE_INFO, ACT_NONE, "The message of the day "
		    "has not changed (/motd shows it)");
	r->motd_last = r->motd_hash;
	r->motd_known = 1;
	motd_clear(r);
}

static void
motd_add(struct session *s, const struct reply_def *d,
    const struct irc_msg *m, time_t now)
{
	struct replies	*r = &s->reply;
	const char	*text = param(m, m->nparams - 1);

	if (d->num == 375 || d->num == 422 || !r->motd_open) {
		motd_clear(r);
		r->motd_open = 1;
	}
	if (d->num == 376 || d->num == 422)
		motd_end(s, text, now);
	else
		motd_line(r, text);
}

/* --- the entry point --- */

void
reply_numeric(struct session *s, const struct irc_msg *m, int num,
    time_t now)
{
	struct reply_def	 generic;
	const struct reply_def	*d;
	struct replies		*r = &s->reply;
	char			 text[1024];

	d = reply_find(num, &generic);
	/* Inside a WHOIS, a numeric about its nick that is not an error
	 * (a server's own extra) is a row of the block. */
	if (d == &generic && r->whois_open && num < 400 &&
	    casemap_cmp(param(m, 1), r->whois_nick) == 0) {
		generic.where = REPLY_WHOIS;
		generic.fmt = "$t";
	}
	switch (d->where) {
	case REPLY_HIDE:
		return;
	case REPLY_WHOIS:
		whois_add(s, d, m, now);
		return;
	case REPLY_AWAY:
		if (r->whois_open &&
		    casemap_cmp(param(m, 1), r->whois_nick) == 0) {
			whois_add(s, d, m, now);
			return;
		}
		break;
	case REPLY_WHO:
		who_row(s, d, m, now);
		return;
	case REPLY_LIST:
		list_add(s, d, m, now);
		return;
	case REPLY_MOTD:
		motd_add(s, d, m, now);
		return;
	default:
		break;
	}
	reply_format(d->fmt, m, text, sizeof(text));
	say(s, route(s, d->where, m), now, d->kind,
	    d->where == REPLY_STATUS && s->reply.win[0] == '\0' ?
	    ACT_EVENT : ACT_MSG, text);
}

/* --- labeled-response --- */

/* Commands whose replies are not ours to route: messages (echo-message
 * answers those), PONG and QUIT (nothing to say), the connection's own
 * negotiation, and JOIN/PART/NICK, whose answers name their windows. */
static const char *const unlabeled[] = {
	"PRIVMSG", "NOTICE", "TAGMSG", "PING", "PONG", "QUIT", "CAP",
	"PASS", "AUTHENTICATE", "BATCH", "JOIN", "PART", "NICK", NULL
};

static void
label_del(struct replies *r, int i)
{
	memmove(&r->labels[i], &r->labels[i + 1],
	    (size_t)(r->nlabels - i - 1) * sizeof(r->labels[0]));
	r->nlabels--;
}

void
reply_label(struct session *s, const char *window, const char *line,
    char *out, size_t outlen)
{
	struct replies		*r = &s->reply;
	struct reply_label	*l;
	char			 verb[REPLY_VERB_LEN], id[REPLY_LABEL_LEN];
	size_t			 n;
	int			 k, len;

	snprintf(out, outlen, "%s", line);
	/* A line with tags or a source of its own is left alone. */
	if (line[0] == '@' || line[0] == ':')
		return;
	n = strcspn(line, " ");
	if (n == 0 || n >= sizeof(verb))
		return;
	for (k = 0; k < (int)n; k++)
		verb[k] = (char)(line[k] >= 'a' && line[k] <= 'z' ?
		    line[k] - 'a' + 'A' : line[k]);
	verb[n] = '\0';
	if (strcmp(verb, "MOTD") == 0)
		r->motd_asked++;
	else if (strcmp(verb, "LIST") == 0)
		r->list_asked++;
	if (!(s->caps & CAP_LABELED_RESPONSE))
		return;
	for (k = 0; unlabeled[k] != NULL; k++)
		if (strcmp(verb, unlabeled[k]) == 0)
			return;
	snprintf(id, sizeof(id), "n%u", r->seq + 1);
	len = snprintf(out, outlen, "@label=%s %s", id, line);
	if (len < 0 || (size_t)len >= outlen) {
		/* No room for the label: unlabeled, as without the cap. */
		snprintf(out, outlen, "%s", line);
		return;
	}
	r->seq++;
	if (r->nlabels == REPLY_LABELS_MAX)
		label_del(r, 0);	/* the oldest is long answered */
	l = &r->labels[r->nlabels++];
	memset(l, 0, sizeof(*l));
	snprintf(l->id, sizeof(l->id), "%s", id);
	snprintf(l->window, sizeof(l->window), "%s", window);
	snprintf(l->verb, sizeof(l->verb), "%s", verb);
}

static int
label_find(const struct replies *r, const char *id, const char *batch)
{
	int	i;

	for (i = 0; i < r->nlabels; i++)
		if ((id != NULL && strcmp(r->labels[i].id, id) == 0) ||
		    (batch != NULL && r->labels[i].batch[0] != '\0' &&
		    strcmp(r->labels[i].batch, batch) == 0))
			return i;
	return -1;
}

static void
label_use(struct replies *r, int i)
{
	snprintf(r->win, sizeof(r->win), "%s", r->labels[i].window);
	snprintf(r->verb, sizeof(r->verb), "%s", r->labels[i].verb);
}

int
reply_route(struct session *s, const struct irc_msg *m)
{
	struct replies	*r = &s->reply;
	const char	*cmd = m->command, *p0 = param(m, 0);
	char		 v[64];
	int		 i, batch = strcmp(cmd, "BATCH") == 0;

	r->win[0] = '\0';
	r->verb[0] = '\0';
	if (batch && p0[0] == '-') {
		if ((i = label_find(r, NULL, p0 + 1)) != -1) {
			label_use(r, i);
			label_del(r, i);
		}
		return 0;
	}
	if (m->tags == NULL)
		return 0;
	if (irc_tag_get(m->tags, "label", v, sizeof(v)) == 1) {
		if ((i = label_find(r, v, NULL)) != -1) {
			label_use(r, i);
			/* A labeled batch (labeled-response, or one of
			 * another type that is the whole answer) holds
			 * the replies until its end. */
			if (batch && p0[0] == '+') {
				snprintf(r->labels[i].batch,
				    sizeof(r->labels[i].batch), "%s", p0 + 1);
				return 0;
			}
			label_del(r, i);	/* one line: the whole answer */
		}
		return strcmp(cmd, "ACK") == 0;
	}
	if (irc_tag_get(m->tags, "batch", v, sizeof(v)) == 1 &&
	    (i = label_find(r, NULL, v)) != -1)
		label_use(r, i);
	return 0;
}

void
reply_reset(struct session *s)
{
	struct replies	*r = &s->reply;

	r->nlabels = 0;
	r->win[0] = '\0';
	r->verb[0] = '\0';
	r->whois_open = 0;
	r->who_rows = 0;
	r->list_open = 0;
	r->motd_asked = 0;
	r->list_asked = 0;
	motd_clear(r);
}

void
reply_free(struct session *s)
{
	motd_clear(&s->reply);
}
