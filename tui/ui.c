/*
 * ui.c: the curses view.  The only file that includes curses.
 *
 * Screen, top to bottom: a title line (topic), the message pane (with
 * a room's nick list on its right), the status line (clock, nick,
 * window, activity) and the input line.
 * Every function here runs with ui_lock held (the *_locked ones say
 * so) except ui_lock/ui_unlock, ui_init (before any thread) and
 * ui_fini (exit paths).  ui_lock also guards the model in natter.h:
 * Debian's ncursesw is not the thread-aware build, and the message
 * thread draws what the input thread edits.
 */

#include <sys/ioctl.h>

#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "natter.h"

/* Guards curses and the model (see the top of natter.h). */
static pthread_mutex_t ui_mutex = PTHREAD_MUTEX_INITIALIZER;

static int	 ui_started;
static int	 ui_colour;		/* colours and mIRC formatting */
static int	 ui_utf8;		/* the locale's charset is UTF-8 */
static char	 ui_server[128] = "";
static size_t	 ui_hscroll;		/* first editor char shown */
static int	 ui_meta;		/* ESC seen: the next key is Alt-key */
static int	 key_alt_left, key_alt_right;	/* xterm kLFT3, kRIT3 */
static int	 key_ctl_left, key_ctl_right;	/* kLFT5, kRIT5 */
static int	 ui_prefixes = 1;	/* show_prefixes, for line_prefix */

/* Notifications (notify.c makes the bytes): the terminal's focus
 * reports (DEC mode 1004) come as keys of our own. */
#define UI_KEY_FOCUS_IN		(KEY_MAX + 1)	/* ESC [ I */
#define UI_KEY_FOCUS_OUT	(KEY_MAX + 2)	/* ESC [ O */
#define FOCUS_ON	"\033[?1004h"
#define FOCUS_OFF	"\033[?1004l"
/* xterm's title stack: push at the first title, pop at exit, so the
 * title the user had comes back where the terminal keeps one. */
#define TITLE_PUSH	"\033[22;0t"
#define TITLE_POP	"\033]2;\007\033[23;0t"
static int	 ui_tmux;		/* $TMUX: wrap OSCs for passthrough */
static int	 ui_title = -1;		/* unread count in the title, -1: none
					   set */
/*
 * Bracketed paste (xterm, tmux, most terminals): asked for at start,
 * the terminal wraps what is pasted in ESC[200~ ... ESC[201~, which
 * curses gives us as the two key codes below.  The text between is
 * collected (at most PASTE_BYTES_MAX) and handed to paste_cb whole.  A
 * terminal without it sends the text as keys, as typed.
 */
#define PASTE_ON	"\033[?2004h"
#define PASTE_OFF	"\033[?2004l"
#define KEY_PASTE_BEGIN	(KEY_MAX + 0x1000)	/* far past curses' own */
#define KEY_PASTE_END	(KEY_MAX + 0x1001)
static ui_paste_cb	*paste_cb;
static int		 pasting;	/* between the two */
static char		*paste_buf;
static size_t		 paste_len;
static size_t		 paste_cap;
static int		 paste_over;	/* past PASTE_BYTES_MAX */

/* Colour pairs made on demand: pair i + 1 is (pair_fg[i], pair_bg[i]). */
#define PAIRS_MAX	512
static short	 pair_fg[PAIRS_MAX], pair_bg[PAIRS_MAX];
static int	 npairs;

#define ROWS_MAX	1024	/* wrapped rows of one line */
#define NICKLIST_WIDTH_MIN	8	/* the nick list, however short */
#define PANE_COLS_MIN	30	/* the message pane beside a nick list */

/* mIRC colours 0-15 as terminal colours (16-colour terminals). */
static const short mirc16[16] = {
	15, 0, 4, 2, 9, 1, 5, 3, 11, 10, 6, 14, 12, 13, 8, 7
};
/* ... and on 8-colour terminals. */
static const short mirc8[16] = {
	7, 0, 4, 2, 1, 1, 5, 3, 3, 2, 6, 6, 4, 5, 7, 7
};
/* mIRC colours 16-98 as xterm-256 colours. */
static const short mirc256[83] = {
	52, 94, 100, 58, 22, 29, 23, 24, 17, 54, 53, 89,
	88, 130, 142, 64, 28, 35, 30, 25, 18, 91, 90, 125,
	124, 166, 184, 106, 34, 49, 37, 33, 19, 129, 127, 161,
	196, 208, 226, 154, 46, 86, 51, 75, 21, 171, 201, 198,
	203, 215, 227, 191, 83, 122, 87, 111, 63, 177, 207, 205,
	217, 223, 229, 193, 157, 158, 159, 153, 147, 183, 219, 212,
	16, 233, 235, 237, 239, 241, 244, 247, 250, 254, 231
};
/* Nick colours, picked by nick_colour(). */
static const short nick16[] = { 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14 };
static const short nick8[] = { 1, 2, 3, 4, 5, 6 };

void
ui_lock(void)
{
	int rc;

	if ((rc = pthread_mutex_lock(&ui_mutex)) != 0)
		abort();
}

void
ui_unlock(void)
{
	int rc;

	if ((rc = pthread_mutex_unlock(&ui_mutex)) != 0)
		abort();
}

/* The pair number for fg on bg (-1: default), 0 when out of pairs. */
static short
colour_pair(short fg, short bg)
{
	int i;

	if (!ui_colour || (fg == -1 && bg == -1))
		return 0;
	if (fg >= COLORS)
		fg = -1;
	if (bg >= COLORS)
		bg = -1;
	for (i = 0; i < npairs; i++)
		if (pair_fg[i] == fg && pair_bg[i] == bg)
			return i + 1;
	if (npairs >= PAIRS_MAX || npairs + 1 >= COLOR_PAIRS)
		return 0;
	if (init_pair(npairs + 1, fg, bg) == ERR)
		return 0;
	pair_fg[npairs] = fg;
	pair_bg[npairs] = bg;
	return ++npairs;
}

static short
mirc_colour(int c)
{
	if (c < 0 || c > 98)
		return -1;
	if (c < 16)
		return COLORS >= 16 ? mirc16[c] : mirc8[c];
	return COLORS >= 256 ? mirc256[c - 16] : -1;
}

static short
nick_pair(const char *nick)
{
	if (!ui_colour || nick == NULL)
		return 0;
	if (COLORS >= 16)
		return colour_pair(nick16[nick_colour(nick,
		    (int)(sizeof(nick16) / sizeof(nick16[0])))], -1);
	return colour_pair(nick8[nick_colour(nick,
	    (int)(sizeof(nick8) / sizeof(nick8[0])))], -1);
}

/* The bars (title and status line): colour, else reverse video. */
static void
bar_attr(void)
{
	if (ui_colour)
		attr_set(A_NORMAL, colour_pair(COLOR_WHITE, COLOR_BLUE), NULL);
	else
		attr_set(A_REVERSE, 0, NULL);
}

static void
on_winch(int sig)
{
	(void)sig;
}

/* Writes raw bytes (BEL, OSCs, modes) to the terminal, after what
 * curses has written (refresh() leaves nothing buffered; stdio is
 * flushed), so they never land inside one of curses' sequences.  Also
 * called from ui_fini on the exit and crash paths. */
static void
term_write(const char *buf, size_t len)
{
	ssize_t n;

	fflush(stdout);
	while (len > 0) {
		if ((n = write(STDOUT_FILENO, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* The title shows the unread count (NOTIFY_TITLE), written only when
 * it changed; with the setting off, the user's title comes back. */
static void
title_sync(struct session *s)
{
	char buf[64];
	int n;

	if (!(s->notify & NOTIFY_TITLE)) {
		if (ui_title != -1)
			term_write(TITLE_POP, sizeof(TITLE_POP) - 1);
		ui_title = -1;
		return;
	}
	if ((n = notify_unread(&s->wins)) == ui_title)
		return;
	if (ui_title == -1)
		term_write(TITLE_PUSH, sizeof(TITLE_PUSH) - 1);
	term_write(buf, notify_title(n, buf, sizeof(buf)));
	ui_title = n;
}

void
ui_notify_locked(struct session *s)
{
	char out[NOTIFY_OUT_MAX];
	unsigned bits = s->notify;
	size_t n;

	if (!s->bell && !s->alert)
		return;
	if (!s->bell)
		bits &= ~(unsigned)NOTIFY_BELL;
	n = notify_alert(bits, ui_tmux, s->alert ? s->alert_title : NULL,
	    s->alert ? s->alert_body : NULL, out, sizeof(out));
	s->bell = 0;
	s->alert = 0;
	if (ui_started && !isendwin())
		term_write(out, n);
}

void
ui_init(int colour)
{
	struct sigaction sa;
	const char *seq;

	/* Our own SIGWINCH disposition keeps ncurses from installing its
	 * handler: natter.c takes the signal with sigwait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);

	set_escdelay(25);
	if (initscr() == NULL) {
		fprintf(stderr, "natter: cannot start curses\n");
		exit(1);
	}
	ui_started = 1;
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	leaveok(stdscr, FALSE);
	ui_utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	ui_colour = colour && has_colors();
	if (ui_colour) {
		start_color();
		use_default_colors();
	}

	/* Home and End as other terminals (and tmux, whatever TERM says)
	 * send them. */
	define_key("\033[1~", KEY_HOME);
	define_key("\033[7~", KEY_HOME);
	define_key("\033[H", KEY_HOME);
	define_key("\033OH", KEY_HOME);
	define_key("\033[4~", KEY_END);
	define_key("\033[8~", KEY_END);
	define_key("\033[F", KEY_END);
	define_key("\033OF", KEY_END);
	define_key("\033[200~", KEY_PASTE_BEGIN);
	define_key("\033[201~", KEY_PASTE_END);
	printf("%s", PASTE_ON);
	fflush(stdout);

	/* xterm's Alt- and Ctrl-arrows, as extended key codes. */
	if ((seq = tigetstr("kLFT3")) != NULL && seq != (char *)-1)
		key_alt_left = key_defined(seq);
	if ((seq = tigetstr("kRIT3")) != NULL && seq != (char *)-1)
		key_alt_right = key_defined(seq);
	if ((seq = tigetstr("kLFT5")) != NULL && seq != (char *)-1)
		key_ctl_left = key_defined(seq);
	if ((seq = tigetstr("kRIT5")) != NULL && seq != (char *)-1)
		key_ctl_right = key_defined(seq);

	/* Focus reports: a message in view while the user is elsewhere
	 * still notifies (notify.c). */
	define_key("\033[I", UI_KEY_FOCUS_IN);
	define_key("\033[O", UI_KEY_FOCUS_OUT);
	seq = getenv("TMUX");
	ui_tmux = seq != NULL && seq[0] != '\0';
	term_write(FOCUS_ON, sizeof(FOCUS_ON) - 1);
}

void
ui_fini(void)
{
	if (ui_started && !isendwin()) {
		endwin();
		if (ui_title != -1)
			term_write(TITLE_POP, sizeof(TITLE_POP) - 1);
		term_write(FOCUS_OFF, sizeof(FOCUS_OFF) - 1);
		term_write(PASTE_OFF, sizeof(PASTE_OFF) - 1);
	}
}

void
ui_set_server_locked(const char *label)
{
	snprintf(ui_server, sizeof(ui_server), "%s", label);
}

void
ui_resize_locked(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

/* Decodes one UTF-8 character of s[0..len); invalid bytes give
 * U+FFFD and 1.  Returns the bytes taken. */
static size_t
utf8_decode(const char *s, size_t len, wchar_t *wc)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long c;
	size_t n, i;

	if (u[0] < 0x80) {
		*wc = u[0];
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2;
		c = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		c = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		c = u[0] & 0x07;
	} else
		goto bad;
	if (n > len)
		goto bad;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (u[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		goto bad;
	*wc = (wchar_t)c;
	return n;
bad:
	*wc = 0xfffd;
	return 1;
}

/* curses attributes for a mIRC style on top of base. */
static void
style_set(const struct mirc_style *st, attr_t base, short basepair)
{
	attr_t a = base;
	short pair = basepair, fg, bg;

	if (ui_colour) {
		if (st->attrs & MIRC_BOLD)
			a |= A_BOLD;
		if (st->attrs & MIRC_ITALIC)
			a |= A_ITALIC;
		if (st->attrs & MIRC_UNDERLINE)
			a |= A_UNDERLINE;
		if (st->attrs & MIRC_REVERSE)
			a |= A_REVERSE;
		if (st->fg >= 0 || st->bg >= 0) {
			fg = mirc_colour(st->fg);
			bg = mirc_colour(st->bg);
			pair = colour_pair(fg, bg);
		}
	}
	attr_set(a, pair, NULL);
}

/*
 * Walks s[from..to), applying mIRC codes to st, and (when draw) writes
 * the characters at the cursor, at most maxcols columns.  Returns the
 * columns written.
 */
static int
text_run(const char *s, size_t from, size_t to, struct mirc_style *st,
    int draw, int maxcols, attr_t base, short basepair)
{
	wchar_t wc, buf[2];
	size_t i = from, n;
	int cols = 0, w;

	if (draw)
		style_set(st, base, basepair);
	while (i < to) {
		n = mirc_code(s + i, to - i, st);
		if (n > 0) {
			i += n;
			if (draw)
				style_set(st, base, basepair);
			continue;
		}
		n = utf8_decode(s + i, to - i, &wc);
		i += n;
		if (wc == L'\t')
			wc = L' ';
		if (wc < 0x20 || wc == 0x7f || (wc >= 0x80 && wc < 0xa0))
			continue;
		w = wcwidth(wc);
		if (w < 0) {
			wc = 0xfffd;
			w = 1;
		}
		if (cols + w > maxcols)
			break;
		if (draw) {
			buf[0] = wc;
			buf[1] = L'\0';
			addnwstr(buf, 1);
		}
		cols += w;
	}
	return cols;
}

/* Writes plain UTF-8 text (no formatting) at the cursor, clipped. */
static int
put_text(const char *s, int maxcols)
{
	struct mirc_style st;
	attr_t a;
	short pair;

	mirc_reset(&st);
	attr_get(&a, &pair, NULL);
	return text_run(s, 0, strlen(s), &st, 1, maxcols, a, pair);
}

/* The prefix of a line ("HH:MM <nick> "), drawn when draw is set;
 * returns its width. */
static int
line_prefix(const struct line *l, int draw, int maxcols)
{
	struct tm tm;
	char stamp[16];
	const char *open = "", *close = "";
	char pfx[2] = "";
	attr_t base = l->history || l->pending ? A_DIM : A_NORMAL, na = base;
	short np = 0;
	int cols;

	/* <@alice>: her prefix when she said it (actions and notices
	 * show the bare nick, as irssi's do). */
	if (ui_prefixes && l->kind == LINE_MSG &&
	    (l->prefix == '@' || l->prefix == '+'))
		pfx[0] = l->prefix;

	localtime_r(&l->when, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M ", &tm);
	if (l->nick != NULL) {
		switch (l->kind) {
		case LINE_MSG:
			open = "<";
			close = "> ";
			break;
		case LINE_ACTION:
			open = "* ";
			close = " ";
			break;
		case LINE_NOTICE:
			open = "-";
			close = "- ";
			break;
		default:
			open = "";
			close = " ";
			break;
		}
	}
	if (!draw) {
		cols = text_width(stamp, strlen(stamp));
		if (l->nick != NULL)
			cols += text_width(open, strlen(open)) +
			    (int)strlen(pfx) +
			    text_width(l->nick, strlen(l->nick)) +
			    text_width(close, strlen(close));
		return cols < maxcols ? cols : maxcols;
	}
	attr_set(base, 0, NULL);
	cols = put_text(stamp, maxcols);
	if (l->nick == NULL)
		return cols;
	cols += put_text(open, maxcols - cols);
	cols += put_text(pfx, maxcols - cols);
	if (l->highlight && !l->self) {
		if (ui_colour)
			np = colour_pair(COLOR_BLACK, COLOR_YELLOW);
		else
			na |= A_REVERSE;
	} else if (ui_colour) {
		np = nick_pair(l->nick);
	} else if (l->self)
		na |= A_BOLD;
	attr_set(na, np, NULL);
	cols += put_text(l->nick, maxcols - cols);
	attr_set(base, 0, NULL);
	cols += put_text(close, maxcols - cols);
	return cols;
}

/* Base attributes of a line's text. */
static void
line_base(const struct line *l, attr_t *a, short *pair)
{
	*a = A_NORMAL;
	*pair = 0;
	switch (l->kind) {
	case LINE_ERROR:
		if (ui_colour)
			*pair = colour_pair(COLOR_RED, -1);
		else
			*a = A_BOLD;
		break;
	case LINE_EVENT:
		if (ui_colour)
			*pair = colour_pair(COLORS >= 16 ? 8 : COLOR_CYAN, -1);
		break;
	case LINE_NOTICE:
	case LINE_INFO:
		if (ui_colour)
			*pair = colour_pair(COLOR_CYAN, -1);
		break;
	default:
		break;
	}
	/* Replayed history, and our lines not sent yet, are dimmed,
	 * whatever their kind. */
	if (l->history || l->pending)
		*a |= A_DIM;
}

static size_t rowstart[ROWS_MAX + 1];

/* The rule above replayed history: "──── history ────". */
static void
divider_draw(const struct line *l, int y, int cols)
{
	const char *rule = ui_utf8 ? "\u2500\u2500\u2500\u2500" : "----";
	char text[128];

	snprintf(text, sizeof(text), "%s %s %s", rule, l->text, rule);
	move(y, 0);
	attr_set(A_DIM, 0, NULL);
	put_text(text, cols);
	attr_set(A_NORMAL, 0, NULL);
}

/* The read marker: "──── new ────" above the first unread line. */
static void
marker_draw(int y, int cols)
{
	struct line l;

	memset(&l, 0, sizeof(l));
	l.kind = LINE_DIVIDER;
	l.text = (char *)"new";
	divider_draw(&l, y, cols);
}

/* Wraps line l for the pane width; fills rowstart; returns the rows. */
static int
line_rows(const struct line *l, int cols, int *pre)
{
	size_t len = strlen(l->text);
	int width, n;

	if (l->kind == LINE_DIVIDER) {
		*pre = 0;
		return 1;
	}
	*pre = line_prefix(l, 0, cols);
	if (cols - *pre < 10)
		*pre = 0;	/* too narrow to indent */
	width = cols - *pre;
	if (width < 1)
		width = 1;
	n = wrap_rows(l->text, len, width, 0, rowstart, ROWS_MAX);
	if (n < 1)
		n = 1;
	rowstart[n] = len;
	return n;
}

/* Draws rows [skip..n) of line l from screen row y. */
static void
line_draw(const struct line *l, int y, int skip, int n, int pre, int cols)
{
	struct mirc_style st;
	attr_t a;
	short pair;
	int r;

	if (l->kind == LINE_DIVIDER) {
		if (skip == 0)
			divider_draw(l, y, cols);
		return;
	}
	mirc_reset(&st);
	line_base(l, &a, &pair);
	for (r = 0; r < n; r++) {
		if (r < skip) {
			text_run(l->text, rowstart[r], rowstart[r + 1], &st, 0,
			    cols, a, pair);
			continue;
		}
		move(y + r - skip, 0);
		if (r == 0 && pre > 0)
			line_prefix(l, 1, cols);
		else
			move(y + r - skip, pre);
		text_run(l->text, rowstart[r], rowstart[r + 1], &st, 1,
		    cols - pre, a, pair);
	}
	attr_set(A_NORMAL, 0, NULL);
}

/* The message pane: rows top..bottom (inclusive), cols wide. */
static void
draw_pane(struct window *w, int top, int bottom, int cols)
{
	const struct line *l;
	int y = bottom, i, n, pre, unread;

	if (bottom < top)
		return;
	if (w->sb.offset > 0) {
		move(bottom, 0);
		if (ui_colour)
			attr_set(A_BOLD, colour_pair(COLOR_YELLOW, -1), NULL);
		else
			attr_set(A_REVERSE, 0, NULL);
		put_text("-- more below (PgDn) --", cols);
		attr_set(A_NORMAL, 0, NULL);
		y--;
	}
	unread = w->marker_on ? window_first_unread(w) : -1;
	for (i = w->sb.count - 1 - w->sb.offset; i >= 0 && y >= top; i--) {
		if ((l = scroll_get(&w->sb, i)) == NULL || l->text == NULL)
			continue;
		n = line_rows(l, cols, &pre);
		if (n > y - top + 1) {
			line_draw(l, top, n - (y - top + 1), n, pre, cols);
			break;
		}
		line_draw(l, y - n + 1, 0, n, pre, cols);
		y -= n;
		if (i == unread && y >= top)
			marker_draw(y--, cols);
	}
}

/* 1 if rooms show the nick list (nicklist -1: the terminal is wide
 * enough). */
static int
nicklist_on(const struct session *s)
{
	return s->nicklist == 1 || (s->nicklist == -1 &&
	    COLS >= NICKLIST_MIN_COLS);
}

/* 1 if the nick list shows beside window w. */
static int
nicklist_shown(const struct session *s, const struct window *w)
{
	return w->kind == WIN_ROOM && nicklist_on(s);
}

/* Columns the nick list takes (its rule included), 0 when hidden: as
 * wide as the longest prefix and nick, within bounds, and never so wide
 * that the messages get cramped. */
static int
nicklist_width(const struct session *s, const struct window *w)
{
	int i, width = NICKLIST_WIDTH_MIN, n;

	if (!nicklist_shown(s, w))
		return 0;
	for (i = 0; i < w->nnicks; i++) {
		n = 1 + text_width(w->nicks[i], strlen(w->nicks[i]));
		if (n > width)
			width = n;
	}
	if (width > NICKLIST_WIDTH_MAX)
		width = NICKLIST_WIDTH_MAX;
	if (COLS - (width + 1) < PANE_COLS_MIN)
		return 0;
	return width + 1;
}

/* The message pane's width for window w. */
static int
pane_cols(const struct session *s, const struct window *w)
{
	return COLS - nicklist_width(s, w);
}

/* The nick list: ops, voices, the others, each alphabetical (the list
 * is kept sorted); away nicks dimmed; "+N more" when they do not fit. */
static void
draw_nicklist(struct session *s, struct window *w, int top, int bottom)
{
	static const char order[] = { '@', '+', ' ' };
	const char *rule = ui_utf8 ? "\u2502" : "|";
	char entry[2];
	size_t k;
	int width = nicklist_width(s, w), x, y, i, rows, shown, more;

	if (width == 0 || bottom < top)
		return;
	x = COLS - width;
	for (y = top; y <= bottom; y++) {
		move(y, x);
		attr_set(A_NORMAL, 0, NULL);
		put_text(rule, 1);
	}
	rows = bottom - top + 1;
	shown = w->nnicks <= rows ? w->nnicks : rows - 1;
	more = w->nnicks - shown;
	y = top;
	for (k = 0; k < sizeof(order); k++)
		for (i = 0; i < w->nnicks && y < top + shown; i++) {
			if (w->prefixes[i] != order[k])
				continue;
			entry[0] = order[k];
			entry[1] = '\0';
			move(y++, x + 1);
			attr_set(w->away[i] ? A_DIM : A_NORMAL, 0, NULL);
			put_text(entry, 1);
			put_text(w->nicks[i], width - 2);
		}
	if (more > 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "+%d more", more);
		move(bottom, x + 1);
		attr_set(A_NORMAL, 0, NULL);
		put_text(buf, width - 1);
	}
	attr_set(A_NORMAL, 0, NULL);
}

/* The key for the nick list: on if it is off now, else off. */
static void
nicklist_toggle(struct session *s)
{
	s->nicklist = !nicklist_on(s);
}

static void
draw_title(struct session *s, struct window *w)
{
	char buf[512];

	move(0, 0);
	bar_attr();
	hline(' ', COLS);
	switch (w->kind) {
	case WIN_STATUS:
		snprintf(buf, sizeof(buf), "%s%s%s%s%s%s", NATTER_VERSION,
		    ui_server[0] != '\0' ? " - " : "", ui_server,
		    s->server_name[0] != '\0' ? " (" : "", s->server_name,
		    s->server_name[0] != '\0' ? ")" : "");
		put_text(buf, COLS);
		break;
	case WIN_ROOM:
		snprintf(buf, sizeof(buf), "%s%s", w->name,
		    w->topic != NULL && w->topic[0] != '\0' ? ": " : "");
		move(0, put_text(buf, COLS));
		if (w->topic != NULL) {
			struct mirc_style st;
			attr_t a;
			short pair;

			mirc_reset(&st);
			attr_get(&a, &pair, NULL);
			text_run(w->topic, 0, strlen(w->topic), &st, 1,
			    COLS - getcurx(stdscr), a, pair);
		}
		break;
	case WIN_QUERY:
		snprintf(buf, sizeof(buf), "Query: %s", w->name);
		put_text(buf, COLS);
		break;
	case WIN_LIST:
		put_text("Rooms on this server (/list)", COLS);
		break;
	}
	attr_set(A_NORMAL, 0, NULL);
}

/* " [queued N]" while N lines wait in the send queue (sendq.c). */
static void
draw_queued(struct session *s, int maxcols)
{
	char	buf[32];

	if (s->sendq.nlines == 0)
		return;
	snprintf(buf, sizeof(buf), " [queued %d]", s->sendq.nlines);
	put_text(buf, maxcols);
}

/* " [away]" while we are marked away; returns the columns. */
static int
draw_away(const struct session *s, int maxcols)
{
	if (!s->away || maxcols <= 0)
		return 0;
	return put_text(" [away]", maxcols);
}

/* "[12:34] [alice] [2:#lobby] [Act: 3,4*]", with "[account alice]"
 * after the nick while logged in, "[TLS]" while the link is TLS and
 * "[away]" after the window while away. */
static void
draw_status(struct session *s, int y)
{
	struct windows *ws = &s->wins;
	struct window *w = ws->v[ws->cur];
	char buf[384];
	struct tm tm;
	time_t now = time(NULL);
	int i, x, first = 1;
	attr_t a;
	short pair;

	move(y, 0);
	bar_attr();
	hline(' ', COLS);
	localtime_r(&now, &tm);
	snprintf(buf, sizeof(buf), "[%02d:%02d] [%s]%s%s%s%s%s%s [%d:%s]",
	    tm.tm_hour, tm.tm_min, s->nick,
	    s->account[0] != '\0' ? " [account " : "", s->account,
	    s->account[0] != '\0' ? "]" : "", s->link[0] != '\0' ? " [" : "",
	    s->link, s->link[0] != '\0' ? "]" : "", ws->cur + 1, w->name);
	x = put_text(buf, COLS);
	x += draw_away(s, COLS - x);
	if (link_status(s, link_clock_ms(), buf, sizeof(buf)) > 0)
		x += put_text(buf, COLS - x);
	for (i = 0; i < ws->n && x < COLS; i++) {
		if (ws->v[i]->act < ACT_MSG || i == ws->cur)
			continue;
		x += put_text(first ? " [Act: " : ",", COLS - x);
		first = 0;
		snprintf(buf, sizeof(buf), "%d%s", i + 1,
		    ws->v[i]->act == ACT_HIGHLIGHT ? "*" : "");
		attr_get(&a, &pair, NULL);
		if (ws->v[i]->act == ACT_HIGHLIGHT) {
			if (ui_colour)
				attr_set(A_BOLD, colour_pair(COLOR_YELLOW,
				    COLOR_BLUE), NULL);
			else
				attr_set(A_BOLD | A_REVERSE, 0, NULL);
		}
		x += put_text(buf, COLS - x);
		attr_set(a, pair, NULL);
	}
	if (!first && x < COLS)
		x += put_text("]", COLS - x);
	if (x < COLS)
		draw_queued(s, COLS - x);
	attr_set(A_NORMAL, 0, NULL);
}

/* The input line, scrolled sideways to keep the cursor on screen. */
static void
draw_input(struct edit *e, int y)
{
	wchar_t buf[2];
	size_t i;
	int x = 0, w, cx, cols = COLS;

	if (ui_hscroll > e->pos)
		ui_hscroll = e->pos;
	if (ui_hscroll > e->len)
		ui_hscroll = 0;
	while (ui_hscroll < e->pos &&
	    edit_width(e, ui_hscroll, e->pos) > cols - 1)
		ui_hscroll++;
	move(y, 0);
	clrtoeol();
	attr_set(A_NORMAL, 0, NULL);
	cx = edit_width(e, ui_hscroll, e->pos);
	for (i = ui_hscroll; i < e->len; i++) {
		w = wcwidth(e->buf[i]);
		if (w < 0)
			w = 1;
		if (x + w > cols)
			break;
		/* A password prompt shows a star per character. */
		buf[0] = e->secret ? L'*' : e->buf[i];
		buf[1] = L'\0';
		addnwstr(buf, 1);
		x += w;
	}
	if (cx >= cols)
		cx = cols - 1;
	move(y, cx);
}

void
ui_draw_locked(struct session *s, struct edit *e)
{
	struct window *w;

	if (!ui_started || isendwin())
		return;
	if (s->wins.n == 0)
		return;
	w = s->wins.v[s->wins.cur];
	ui_prefixes = s->show_prefixes;
	erase();
	if (LINES >= 1)
		draw_title(s, w);
	if (LINES >= 4) {
		draw_pane(w, 1, LINES - 3, pane_cols(s, w));
		draw_nicklist(s, w, 1, LINES - 3);
	}
	if (LINES >= 3)
		draw_status(s, LINES - 2);
	draw_input(e, LINES - 1);
	refresh();
	title_sync(s);
	s->dirty = 0;
}

static void
win_switch(struct session *s, int i)
{
	if (i >= 0 && i < s->wins.n)
		windows_switch(&s->wins, i);
}

static int
pane_rows(void)
{
	return LINES - 3 > 2 ? LINES - 4 : 1;
}

/* The furthest back the view goes: the oldest line at the top of the
 * pane (with the marker row at the bottom). */
static int
offset_max(struct session *s, struct window *w)
{
	const struct line *l;
	int i, rows = 0, pre, height = LINES - 4, cols = pane_cols(s, w);

	for (i = 0; i < w->sb.count; i++) {
		if ((l = scroll_get(&w->sb, i)) != NULL && l->text != NULL)
			rows += line_rows(l, cols, &pre);
		if (rows >= height)
			return w->sb.count - 1 - i;
	}
	return 0;
}

/* Alt-key (ESC then ch). */
static void
key_meta(struct session *s, struct edit *e, int fkey, wint_t ch)
{
	struct windows *ws = &s->wins;

	if (fkey) {
		if (ch == KEY_LEFT)
			win_switch(s, (ws->cur + ws->n - 1) % ws->n);
		else if (ch == KEY_RIGHT)
			win_switch(s, (ws->cur + 1) % ws->n);
		return;
	}
	if (ch >= L'1' && ch <= L'9')
		win_switch(s, (int)(ch - L'1'));
	else if (ch == L'0')
		win_switch(s, 9);
	else if (ch == L'b' || ch == L'B')
		edit_do(e, EDIT_WORD_LEFT);
	else if (ch == L'f' || ch == L'F')
		edit_do(e, EDIT_WORD_RIGHT);
	else if (ch == L'a' || ch == L'A')
		win_switch(s, windows_next_active(ws));
	else if (ch == 0x7f || ch == 0x08)
		edit_do(e, EDIT_KILL_WORD);
	else if (ch == L'n' || ch == L'N')
		nicklist_toggle(s);
}

/* A function key (KEY_*). */
static int
key_code(struct session *s, struct edit *e, wint_t ch, ui_line_cb *cb,
    void *arg, char *line)
{
	struct windows *ws = &s->wins;
	struct window *w = ws->v[ws->cur];

	switch (ch) {
	case KEY_LEFT:
		edit_do(e, EDIT_LEFT);
		break;
	case KEY_RIGHT:
		edit_do(e, EDIT_RIGHT);
		break;
	case KEY_HOME:
		edit_do(e, EDIT_HOME);
		break;
	case KEY_END:
		edit_do(e, EDIT_END);
		break;
	case KEY_BACKSPACE:
		edit_do(e, EDIT_BACKSPACE);
		break;
	case KEY_DC:
		edit_do(e, EDIT_DELETE);
		break;
	case KEY_UP:
		edit_do(e, EDIT_HIST_PREV);
		break;
	case KEY_DOWN:
		edit_do(e, EDIT_HIST_NEXT);
		break;
	case KEY_PPAGE:
		scroll_move(&w->sb, pane_rows());
		if (w->sb.offset > offset_max(s, w))
			scroll_move(&w->sb, offset_max(s, w) - w->sb.offset);
		break;
	case KEY_NPAGE:
		scroll_move(&w->sb, -pane_rows());
		break;
	case KEY_ENTER:
		edit_get(e, line, UI_LINE_MAX);
		if (line[0] != '\0') {
			edit_commit(e);
			cb(line, arg);
			explicit_bzero(line, UI_LINE_MAX);
		}
		break;
	case KEY_RESIZE:
		return 1;
	case KEY_F(7):
		nicklist_toggle(s);
		break;
	default:
		if (ch == (wint_t)key_alt_left && key_alt_left != 0)
			win_switch(s, (ws->cur + ws->n - 1) % ws->n);
		else if (ch == (wint_t)key_alt_right && key_alt_right != 0)
			win_switch(s, (ws->cur + 1) % ws->n);
		else if (ch == (wint_t)key_ctl_left && key_ctl_left != 0)
			edit_do(e, EDIT_WORD_LEFT);
		else if (ch == (wint_t)key_ctl_right && key_ctl_right != 0)
			edit_do(e, EDIT_WORD_RIGHT);
		else if (ch == UI_KEY_FOCUS_IN)
			notify_focus(s, 1);
		else if (ch == UI_KEY_FOCUS_OUT)
			notify_focus(s, 0);
		break;
	}
	return 0;
}

/* An ordinary character or control key. */
static void
key_char(struct session *s, struct edit *e, struct complete *c, wint_t ch,
    ui_line_cb *cb, void *arg, char *line)
{
	struct windows *ws = &s->wins;

	switch (ch) {
	case 0x01:			/* C-a */
		edit_do(e, EDIT_HOME);
		break;
	case 0x02:			/* C-b */
		edit_do(e, EDIT_LEFT);
		break;
	case 0x04:			/* C-d */
		edit_do(e, EDIT_DELETE);
		break;
	case 0x05:			/* C-e */
		edit_do(e, EDIT_END);
		break;
	case 0x06:			/* C-f */
		edit_do(e, EDIT_RIGHT);
		break;
	case 0x08:			/* C-h */
	case 0x7f:			/* DEL, as most terminals send */
		edit_do(e, EDIT_BACKSPACE);
		break;
	case 0x09:			/* Tab */
		if (complete_word(c, e, ws, s->rooms, s->nrooms) < 0)
			beep();
		return;			/* keeps the completion state */
	case 0x0a:			/* Enter (LF: also pasted newlines) */
	case 0x0d:
		edit_get(e, line, UI_LINE_MAX);
		if (line[0] != '\0') {
			edit_commit(e);
			cb(line, arg);
			explicit_bzero(line, UI_LINE_MAX);
		}
		break;
	case 0x0b:			/* C-k */
		edit_do(e, EDIT_KILL_END);
		break;
	case 0x0c:			/* C-l */
		clearok(curscr, TRUE);
		break;
	case 0x0e:			/* C-n */
		win_switch(s, (ws->cur + 1) % ws->n);
		break;
	case 0x10:			/* C-p */
		win_switch(s, (ws->cur + ws->n - 1) % ws->n);
		break;
	case 0x14:			/* C-t */
		edit_do(e, EDIT_TRANSPOSE);
		break;
	case 0x15:			/* C-u */
		edit_do(e, EDIT_KILL_START);
		break;
	case 0x17:			/* C-w */
		edit_do(e, EDIT_KILL_WORD);
		break;
	case 0x19:			/* C-y */
		edit_do(e, EDIT_YANK);
		break;
	default:
		if (ch >= 0x20 && ch != 0x7f)
			edit_insert(e, (wchar_t)ch);
		break;
	}
	complete_reset(c);
}

void
ui_set_paste_cb(ui_paste_cb *cb)
{
	paste_cb = cb;
}

/* A character of a paste, kept as UTF-8 while it fits. */
static void
paste_add(wint_t ch)
{
	char mb[MB_LEN_MAX];
	mbstate_t ps;
	size_t n, cap;
	char *v;

	if (paste_over)
		return;
	memset(&ps, 0, sizeof(ps));
	if ((n = wcrtomb(mb, (wchar_t)ch, &ps)) == (size_t)-1)
		return;
	if (paste_len + n > PASTE_BYTES_MAX) {
		paste_over = 1;
		return;
	}
	if (paste_len + n > paste_cap) {
		cap = paste_cap ? paste_cap * 2 : 4096;
		if (cap > PASTE_BYTES_MAX)
			cap = PASTE_BYTES_MAX;
		if ((v = realloc(paste_buf, cap)) == NULL) {
			paste_over = 1;
			return;
		}
		paste_buf = v;
		paste_cap = cap;
	}
	memcpy(paste_buf + paste_len, mb, n);
	paste_len += n;
}

/* ESC[201~: the paste goes to paste_cb, whole (or refused). */
static void
paste_end(void *arg)
{
	if (paste_cb != NULL)
		paste_cb(paste_over ? UI_PASTE_TOO_BIG : UI_PASTE_TEXT,
		    paste_buf != NULL ? paste_buf : "", paste_len, arg);
	if (paste_buf != NULL)
		explicit_bzero(paste_buf, paste_len);
	free(paste_buf);
	paste_buf = NULL;
	paste_len = 0;
	paste_cap = 0;
	paste_over = 0;
	pasting = 0;
}

int
ui_pasting_locked(void)
{
	return pasting;
}

/* A terminal sends a paste in one go: PASTE_IDLE_MS without a byte of
 * it means its end was lost, and every key after would be swallowed
 * as pasted text. */
void
ui_paste_timeout_locked(void *arg)
{
	if (pasting)
		paste_end(arg);
}

/* A key while a long paste asks "(y/n)": y or n answers, anything
 * else is not taken. */
static void
paste_answer(wint_t ch, void *arg)
{
	if (ch == L'y' || ch == L'Y')
		paste_cb(UI_PASTE_YES, NULL, 0, arg);
	else if (ch == L'n' || ch == L'N')
		paste_cb(UI_PASTE_NO, NULL, 0, arg);
	else
		beep();
}

/* Takes the keys of a paste and its answer; 1 if ch was one. */
static int
paste_key(struct session *s, int r, wint_t ch, void *arg)
{
	if (r == KEY_CODE_YES && ch == KEY_PASTE_BEGIN) {
		pasting = 1;
		return 1;
	}
	if (pasting) {
		if (r == KEY_CODE_YES && ch == KEY_PASTE_END)
			paste_end(arg);
		else if (r == OK)
			paste_add(ch);
		return 1;
	}
	if (r == KEY_CODE_YES && ch == KEY_PASTE_END)
		return 1;		/* an end without a start */
	if (s->paste_ask && paste_cb != NULL && r == OK) {
		paste_answer(ch, arg);
		return 1;
	}
	return 0;
}

int
ui_keys_locked(struct session *s, struct edit *e, struct complete *c,
    ui_line_cb *cb, void *arg)
{
	static char line[UI_LINE_MAX];
	wint_t ch;
	int r, resized = 0;

	if (!ui_started || isendwin())
		return 0;
	while ((r = get_wch(&ch)) != ERR) {
		if (s->wins.n == 0)
			continue;
		if (paste_key(s, r, ch, arg))
			continue;
		if (r == OK && ch == 0x1b) {
			ui_meta = 1;
			continue;
		}
		if (ui_meta) {
			ui_meta = 0;
			key_meta(s, e, r == KEY_CODE_YES, ch);
			complete_reset(c);
			continue;
		}
		if (r == KEY_CODE_YES) {
			if (key_code(s, e, ch, cb, arg, line))
				resized = 1;
			complete_reset(c);
		} else
			key_char(s, e, c, ch, cb, arg, line);
	}
	if (resized)
		ui_resize_locked();
	ui_draw_locked(s, e);
	return resized;
}
