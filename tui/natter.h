/*
 * natter.h: the natter client's one internal header.
 *
 * Threads (natter.c): the input thread owns the keyboard and the input
 * line; the message thread owns the socket and appends to windows.  One
 * mutex, ui_lock (ui.c), guards every curses call AND the model below
 * (struct session, its windows, the editor): take it, change the model,
 * draw, release.  Never block (socket, disk, sleep) while holding it.
 *
 * Everything above the "ui.c" banner is plain C with no curses, tested
 * by cmocka (tests/test_edit.c, test_wrap.c, test_scroll.c, test_cmd.c,
 * test_complete.c, test_window.c, test_mirc.c, test_handle.c,
 * test_pin.c, test_sts.c, test_notify.c, test_reply.c, test_link.c,
 * test_sendq.c, test_presence.c).
 */
#ifndef NATTER_H
#define NATTER_H

#include <stddef.h>
#include <time.h>
#include <wchar.h>

#include "irc.h"
#include "sockpath.h"

#define NATTER_VERSION	"natter-0.1.0"

#define EDIT_MAX	2048	/* wide characters in the input line */
#define HISTORY_MAX	200	/* remembered input lines */
#define SCROLL_MAX	2000	/* lines kept per window */
#define WIN_NAME_MAX	64
#define WINDOWS_MAX	256	/* windows open at once, status included */
#define TEXT_CHUNK	400	/* bytes of text per PRIVMSG when splitting */
#define MSGID_MAX	64	/* a msgid tag value, NUL included */
#define SEEN_MAX	512	/* msgids remembered per window, for dedupe */
#define BATCH_OPEN_MAX	8	/* batches open at once that we follow */
#define NICKS_MAX	20000	/* members of one room we keep (a server's
				   353s could name millions) */
#define CHATHISTORY_DEFAULT	100	/* lines per CHATHISTORY query */
#define NICKLIST_MIN_COLS	100	/* nicklist -1: shown from this wide */
#define NICKLIST_WIDTH_MAX	16	/* columns of the nick list, at most */
#define MARKREAD_INTERVAL_MS	1000	/* MARKREAD per window, at most */

/* --- edit.c: the line editor (wchar_t) and input history --- */
enum edit_op {
	EDIT_HOME,		/* C-a, Home */
	EDIT_END,		/* C-e, End */
	EDIT_LEFT,		/* C-b, Left */
	EDIT_RIGHT,		/* C-f, Right */
	EDIT_WORD_LEFT,		/* M-b */
	EDIT_WORD_RIGHT,	/* M-f */
	EDIT_BACKSPACE,		/* Backspace, C-h */
	EDIT_DELETE,		/* Del, C-d */
	EDIT_KILL_END,		/* C-k */
	EDIT_KILL_START,	/* C-u */
	EDIT_KILL_WORD,		/* C-w: the word before the cursor */
	EDIT_YANK,		/* C-y: paste what was killed last */
	EDIT_TRANSPOSE,		/* C-t */
	EDIT_HIST_PREV,		/* Up */
	EDIT_HIST_NEXT		/* Down */
};

struct edit {
	wchar_t		 buf[EDIT_MAX];
	size_t		 len;
	size_t		 pos;		/* cursor, 0..len */
	wchar_t		 kill[EDIT_MAX];
	size_t		 killlen;
	char		*hist[HISTORY_MAX];	/* UTF-8, oldest first */
	int		 nhist;
	int		 histpos;	/* nhist when not browsing */
	char		*draft;		/* the line being typed before Up */
	int		 secret;	/* a password prompt: shown as '*',
					   never kept in history */
};

void	 edit_init(struct edit *);
void	 edit_free(struct edit *);
/* Inserts wc at the cursor; -1 if the line is full or wc is a control
 * character. */
int	 edit_insert(struct edit *, wchar_t wc);
void	 edit_do(struct edit *, enum edit_op);
/* The line as UTF-8 into out (always NUL-terminated); returns its byte
 * length. */
size_t	 edit_get(const struct edit *, char *out, size_t outlen);
void	 edit_set(struct edit *, const char *utf8);
/* Adds the current line to history (if non-empty, not equal to the
 * last entry, not secret and not a line that carries a password,
 * cmd_is_secret) and clears it; a secret line is wiped, and so is the
 * kill buffer that may hold part of it. */
void	 edit_commit(struct edit *);
/* Display columns of buf[from..to). */
int	 edit_width(const struct edit *, size_t from, size_t to);

/* --- wrap.c: display width and word wrap --- */
/* Display width of UTF-8 text, skipping mIRC format codes; invalid bytes
 * count as one column each (they are shown as U+FFFD). */
int	 text_width(const char *s, size_t len);
/*
 * Breaks s (len bytes, UTF-8, may hold mIRC codes) into rows: the first
 * at most width columns, the others at most width - indent columns.
 * Breaks after a space when one is in the row, else between characters
 * (never inside a character or between a base and its combining marks).
 * A '\n' (a multiline message) always ends a row; the row after it
 * keeps its leading spaces.
 * Writes the byte offset where each row starts into starts (starts[0] is
 * 0) and returns the row count (at least 1; at most maxrows, the last
 * row then holds the rest).  Leading spaces of continuation rows are
 * skipped.
 */
int	 wrap_rows(const char *s, size_t len, int width, int indent,
	    size_t *starts, int maxrows);

/* --- mirc.c: mIRC formatting codes --- */
#define MIRC_BOLD	0x01
#define MIRC_ITALIC	0x02
#define MIRC_UNDERLINE	0x04
#define MIRC_REVERSE	0x08
#define MIRC_STRIKE	0x10
#define MIRC_MONOSPACE	0x20

struct mirc_style {
	unsigned	 attrs;
	int		 fg;		/* 0-98, or -1 default */
	int		 bg;
};

void	 mirc_reset(struct mirc_style *);
/* If s[0..len) starts with a format code (^B ^C[fg[,bg]] ^D ^F ^I? no:
 * ^] ^_ ^V ^O ^Q ^^ ^X ^R), applies it to st and returns the bytes it
 * takes; else returns 0. */
size_t	 mirc_code(const char *s, size_t len, struct mirc_style *st);
/* Copies in to out without format codes; returns the length. */
size_t	 mirc_strip(const char *in, char *out, size_t outlen);

/* --- scroll.c: a window's scrollback ring --- */
enum line_kind {
	LINE_MSG,		/* <nick> text */
	LINE_ACTION,		/* * nick text */
	LINE_NOTICE,		/* -nick- text */
	LINE_EVENT,		/* joins, parts, quits, nicks, modes, topics */
	LINE_INFO,		/* client messages, server numerics */
	LINE_ERROR,		/* errors, shown in the error colour */
	LINE_DIVIDER		/* "---- history ----" before history lines */
};

struct line {
	time_t		 when;
	int		 msec;		/* 0-999: orders lines within a second */
	enum line_kind	 kind;
	int		 highlight;	/* mentions our nick */
	int		 self;		/* we sent it */
	int		 history;	/* replayed by the server: shown dimmed */
	unsigned	 pending;	/* sendq.c: the id of our line still
					   waiting to go (or for its echo),
					   drawn dimmed; 0 once sent */
	char		 prefix;	/* '@' or '+' the nick had in the room
					   when the line came; 0 none */
	unsigned long	 seq;		/* order of arrival in its window
					   (scroll_insert): the read marker */
	char		*nick;		/* NULL for INFO/ERROR/EVENT */
	char		*text;		/* UTF-8, may hold mIRC codes */
	/* message-redaction: the server's msgid of a message line (a
	 * copy, at most MSGID_MAX), or NULL; a REDACT finds it here. */
	char		*msgid;
};

struct scroll {
	struct line	*lines;		/* ring of SCROLL_MAX */
	int		 head;		/* oldest */
	int		 count;
	int		 offset;	/* lines scrolled up from the bottom */
	unsigned long	 seq;		/* the last line's seq; never reset */
};

void	 scroll_init(struct scroll *);
void	 scroll_free(struct scroll *);
/* Copies nick/text; drops the oldest line when full.  While scrolled up
 * the view stays put (offset grows by one). */
void	 scroll_push(struct scroll *, time_t when, enum line_kind kind,
	    const char *nick, const char *text, int highlight, int self);
/* i-th line, 0 = oldest; NULL out of range. */
const struct line *scroll_get(const struct scroll *, int i);
/* Inserts a copy of l (nick and text copied) before the i-th line
 * (i == count: at the end), dropping the oldest line when full; the
 * view stays put while scrolled up.  Returns the new line's index, or
 * -1. */
int	 scroll_insert(struct scroll *, int i, const struct line *l);
void	 scroll_clear(struct scroll *);
/* Moves the view by n lines (positive: up, back in time), clamped. */
void	 scroll_move(struct scroll *, int n);
/* Pending lines (sendq.c).  The index of the line with pending id, or
 * -1. */
int	 scroll_find_pending(const struct scroll *, unsigned id);
/* The oldest pending line of ours of kind with text: it was echoed, so
 * it is sent (pending cleared, its time set to when).  Its index, or
 * -1 if none matched. */
int	 scroll_echoed(struct scroll *, enum line_kind kind, const char *text,
	    time_t when);
/* Line i's msgid becomes msgid (copied; "" or NULL: none). */
void	 scroll_set_msgid(struct scroll *, int i, const char *msgid);
/* message-redaction: the message line with msgid shows SCROLL_DELETED
 * as its text (nick, time and kind kept).  Its index, or -1 if no line
 * has that msgid. */
#define SCROLL_DELETED	"(message deleted)"
int	 scroll_redact(struct scroll *, const char *msgid);
/* Line i was sent: pending cleared. */
void	 scroll_sent(struct scroll *, int i);
/* Line i will never be sent: it becomes "not sent: <text>"
 * (LINE_ERROR). */
void	 scroll_not_sent(struct scroll *, int i);

/* --- window.c: windows and activity --- */
enum win_kind {
	WIN_STATUS,		/* server messages; always window 1 */
	WIN_ROOM,
	WIN_QUERY,		/* private conversation */
	WIN_LIST		/* the LIST reply (reply.c); input sends
				   nothing there, as in the status window */
};

enum activity {
	ACT_NONE,
	ACT_EVENT,		/* joins/parts only */
	ACT_MSG,		/* unread messages */
	ACT_HIGHLIGHT		/* our nick mentioned, or a private message */
};

struct window {
	char		 name[WIN_NAME_MAX];	/* "status", "#room", "nick" */
	enum win_kind	 kind;
	char		*topic;
	struct scroll	 sb;
	enum activity	 act;
	/* notify.c (notifications): highlights and private messages
	 * not yet seen here, for the title's count. */
	int		 unread;
	int		 joined;	/* rooms: we are in it now */
	/* Presence (issue 12, part 5): we left the room ourselves (PART,
	 * KICK; a dropped link is not leaving), the read marker, and the
	 * WHO natter sent itself to learn who is away. */
	int		 left;
	unsigned long	 read_seq;	/* lines after it are unread ... */
	long long	 read_ms;	/* ... unless not newer than this
					   (ms, MARKREAD from the server) */
	int		 marker_on;	/* draw the marker while current */
	long long	 markread_want;	/* ms to send in MARKREAD, 0 none */
	long long	 markread_sent;	/* ms last sent */
	long long	 markread_at;	/* when (monotonic ms) */
	int		 who_pending;	/* our WHO: its replies are quiet */
	int		 who_asked;	/* since our JOIN (one WHO a join) */
	char		*away;		/* rooms: 1 per nick that is away */
	char		**nicks;	/* rooms: members, no prefixes */
	char		*prefixes;	/* rooms: '@', '+' or ' ' per nick */
	int		 nnicks;
	time_t		 last_seen;	/* newest line time, for catch-up */
	/* The newest message the server stored for this window (from its
	 * msgid and time tags), and the point a reconnect catches up
	 * from (copied at re-registration, used once the JOIN is done). */
	char		 last_msgid[MSGID_MAX];
	long long	 last_ms;	/* ms since the epoch, 0: unknown */
	char		 catch_msgid[MSGID_MAX];
	long long	 catch_ms;
	int		 catch_pending;
	/* Recent msgids (a ring, allocated on first use): a line seen
	 * twice, live and replayed, is shown once. */
	char		(*seen)[MSGID_MAX];
	int		 nseen;
	int		 seenpos;
	int		 plain_hist;	/* between plain-text history NOTICEs */
	int		 names_done;	/* rooms: our JOIN's 366 came (queued
					   lines wait for it, sendq) */
};

struct windows {
	struct window	**v;		/* v[0] is the status window */
	int		 n;
	int		 cur;
};

void	 windows_init(struct windows *);
void	 windows_free(struct windows *);
/* Case-insensitive (rfc1459) lookup; -1 if none. */
int	 windows_find(const struct windows *, const char *name);
/* Finds or opens a window, returns its index; -1 when WINDOWS_MAX are
 * open (or out of memory). */
int	 windows_open(struct windows *, const char *name, enum win_kind);
/* Closes window i (never the status window); fixes cur. */
void	 windows_close(struct windows *, int i);
/* Makes i current and clears its activity.  The window left has been
 * read (window_read_all); the one entered shows its read marker if it
 * holds unread lines. */
void	 windows_switch(struct windows *, int i);
/* Raises window i's activity to at least act unless it is current. */
void	 windows_mark(struct windows *, int i, enum activity act);
/* The next window after cur with activity, highlights first; -1 if
 * none. */
int	 windows_next_active(const struct windows *);
/* Adds nick in order (or updates its prefix); -1 if out of memory or
 * the room already has NICKS_MAX. */
int	 window_nick_add(struct window *, const char *nick, char prefix);
void	 window_nick_del(struct window *, const char *nick);
void	 window_nick_rename(struct window *, const char *from,
	    const char *to);
void	 window_nicks_clear(struct window *);
/* Marks nick away (1) or back (0) in w; 0, or -1 if it is not there. */
int	 window_nick_away(struct window *, const char *nick, int away);
/* nick's prefix in w ('@', '+' or ' '), 0 if it is not there. */
char	 window_nick_prefix(const struct window *, const char *nick);
/* 1 if line l of w is unread (see the read marker above). */
int	 window_unread(const struct window *, const struct line *l);
/* The index of w's first unread line, -1 if none. */
int	 window_first_unread(const struct window *);
/* Every line of w is read; the newest message's time is to go to the
 * server (markread_want). */
void	 window_read_all(struct window *);
/* 1 if msgid was recorded in w (window_seen_add); "" is never seen. */
int	 window_seen(const struct window *w, const char *msgid);
void	 window_seen_add(struct window *w, const char *msgid);

/* --- complete.c: Tab completion --- */
struct complete {
	int		 active;	/* cycling through candidates */
	size_t		 start;		/* word start in the edit buffer */
	char		 prefix[128];	/* what was typed */
	int		 index;		/* last candidate used */
};

/* Completes the word before the cursor: a command if the line starts
 * with '/' and the word is the first, a room if the word starts with
 * '#' or '&' (the open room windows, then the other rooms, nrooms of
 * them, we are in), else a nick of the current window of ws (", "
 * appended at the line start, " " elsewhere).  Repeated calls cycle.
 * Returns 0, or -1 if nothing matched. */
int	 complete_word(struct complete *, struct edit *,
	    const struct windows *ws, char *const *rooms, int nrooms);
void	 complete_reset(struct complete *);

/* --- cmd.c: what the user typed --- */
enum cmd_action {
	CMD_NONE,
	CMD_SEND,		/* send lines[] */
	CMD_ERROR,		/* show msg as an error in the window */
	CMD_INFO,		/* show msg (e.g. /help lines, '\n' separated) */
	CMD_WIN,		/* switch to window number arg (1-based) */
	CMD_QUERY,		/* open (and switch to) a window for target;
				   lines[] may hold a PRIVMSG too */
	CMD_CLOSE,		/* close the current window (PART a room) */
	CMD_CLEAR,		/* clear the current window */
	CMD_SET,		/* /set: msg holds its arguments */
	CMD_QUIT,		/* lines[] holds the QUIT */
	CMD_RECONNECT		/* drop the link and dial again now */
};

#define CMD_LINES_MAX	16

struct cmd_result {
	enum cmd_action	 action;
	char		 lines[CMD_LINES_MAX][512];	/* without CRLF */
	int		 nlines;
	char		 msg[1024];
	int		 arg;
	char		 target[WIN_NAME_MAX];
	int		 secret;	/* lines[] carry a password: never
					   shown, logged or kept */
};

/*
 * Turns one input line into an action.  target is the current window's
 * name (NULL in the status window).  A plain line (or "//text", which
 * sends "/text") becomes PRIVMSGs to target, split at word boundaries
 * into chunks of at most TEXT_CHUNK bytes.  Commands: /join /part /msg
 * /query /me /nick /topic /names /who /whois /away /back /quote /win
 * /close /clear /help /quit /set (and aliases /j /q /raw, see cmd.c).
 * A bare number N as a room means #N.  Wrong usage gives CMD_ERROR
 * with a one-line message; nothing malformed is ever put in lines[].
 */
void	 cmd_parse(const char *input, const char *target,
	    struct cmd_result *out);
/* 1 if an input line carries a password (/register, /identify, /quote
 * PASS or AUTHENTICATE, /msg NickServ IDENTIFY ...): it never enters
 * the input history. */
int	 cmd_is_secret(const char *line);
/* NULL-terminated list of command names ("join", ...), for completion
 * and /help. */
extern const char *const cmd_names[];

/* --- sendq.c: what we send, queued and paced --- */
/*
 * Everything the user sends waits in one queue, paced by a token bucket
 * that stays under natterd's flood control (burst 10, then 2 lines a
 * second) and that of common servers.  A draft/multiline batch costs
 * its open and close lines plus a line per SENDQ_COST_BYTES of text
 * (each text line with its newline): natterd charges the same.
 */
#define SENDQ_LINES_MAX		2000	/* text lines waiting, at most */
#define SENDQ_BYTES_MAX		(512 * 1024)	/* bytes waiting, at most */
#define SENDQ_BURST		5	/* lines sent at once, at most */
#define SENDQ_RATE		2	/* lines a second after the burst */
#define SENDQ_COST_BYTES	512	/* a batch's text costs a line per */
#define SENDQ_ROOM_WAIT		10	/* s a line waits for its room to be
					   rejoined after registering */
#define PASTE_LINES_MAX		2000	/* lines in one paste, at most */
#define PASTE_BYTES_MAX		(256 * 1024)	/* bytes in one paste */
#define PASTE_ASK_LINES		5	/* more lines than this: ask first */
#define PASTE_IDLE_MS		1000	/* a paste this quiet lost its end */
#define MULTILINE_BYTES_DEFAULT	4096	/* a cap value without max-bytes */
#define MULTILINE_LINES_MAX	100	/* lines per batch we send, at most */
#define MULTILINE_RECV_MAX	(64 * 1024)	/* bytes of a received batch
						   kept */

/* One entry: a line, or a whole draft/multiline batch. */
struct sendq_item {
	struct sendq_item *next;
	char		*buf;		/* wire lines, '\n' between, no CRLF */
	size_t		 len;
	int		 nwire;		/* lines in buf */
	int		 ntext;		/* text lines, for SENDQ_LINES_MAX */
	int		 cost;		/* tokens */
	int		 msg;		/* PRIVMSG/NOTICE (or a batch of
					   them): kept across a reconnect */
	int		 secret;	/* a password: wiped, never shown */
	unsigned	 id;		/* its pending line (0: none) */
	char		 target[WIN_NAME_MAX];	/* msg: its window */
	time_t		 wait_since;	/* sendq_ready: when its room was
					   first missed (0: not yet) */
};

struct sendq {
	struct sendq_item *head;
	struct sendq_item *tail;
	int		 nitems;
	int		 nlines;	/* text lines (ntext summed) */
	size_t		 bytes;
	double		 tokens;
	long long	 tokens_ms;	/* when tokens was last topped up */
	int		 started;	/* tokens set */
	unsigned	 next_id;	/* pending line ids */
	unsigned	 next_ref;	/* batch references */
};

void	 sendq_init(struct sendq *);
void	 sendq_free(struct sendq *);
/* 1 if ntext more text lines and bytes more bytes fit the bounds. */
int	 sendq_fits(const struct sendq *, int ntext, size_t bytes);
/* Appends buf (nwire lines, '\n' between; copied).  NULL when the queue
 * is full (sendq_fits) or out of memory: nothing was added. */
struct sendq_item *sendq_push(struct sendq *, const char *buf, int nwire,
	    int ntext, int cost);
/* Unlinks it from the queue (the caller frees it). */
void	 sendq_unlink(struct sendq *, struct sendq_item *);
/* Frees an item, wiping a secret one. */
void	 sendq_item_free(struct sendq_item *);
/* A fresh id for a pending line (never 0). */
unsigned sendq_new_id(struct sendq *);
/*
 * The token bucket, at now (monotonic ms): sendq_take spends cost
 * tokens and returns 0, or returns -1 and spends nothing.  A cost above
 * the burst (a big batch) goes once the bucket is full, leaving it in
 * debt.  sendq_wait says how many ms until sendq_take can succeed.
 */
int	 sendq_take(struct sendq *, long long now, int cost);
long long sendq_wait(struct sendq *, long long now, int cost);
/* A batch's cost: 2 + ceil(bytes / SENDQ_COST_BYTES), where bytes is
 * its text plus one per line. */
int	 sendq_batch_cost(size_t bytes);
/*
 * Builds draft/multiline batches from text (lines separated by '\n')
 * to target with cmd (PRIVMSG or NOTICE): each at most max_bytes of
 * text (counting one more per line) and max_lines lines, a text line
 * longer than TEXT_CHUNK bytes split into pieces after a space where
 * one is (else between characters) joined by draft/multiline-concat,
 * blank lines kept inside a batch and dropped at its edges.  For each
 * batch, calls cb with its wire lines (buf, nwire), its text lines,
 * its text as a receiver rebuilds it (shown) and its cost.  Returns the
 * number of batches, or -1 if cb failed (it returns -1) or memory ran
 * out.
 */
typedef int	 sendq_batch_cb(const char *buf, int nwire, int ntext,
		    const char *shown, int cost, void *arg);
int	 sendq_batches(struct sendq *, const char *cmd, const char *target,
	    const char *text, int max_bytes, int max_lines,
	    sendq_batch_cb *cb, void *arg);
/* Splits a paste (CR, LF or CRLF line ends) into lines joined by '\n',
 * without the blank lines at its start and end, other control
 * characters but tab and mIRC codes dropped; returns the line count
 * (0: nothing to send).  out is malloc'd. */
int	 paste_lines(const char *text, size_t len, char **out);

/* --- handle.c: what the server sent, applied to the model --- */
/* IRCv3 capabilities natter asks for (struct session caps). */
#define CAP_SERVER_TIME		0x01
#define CAP_BATCH		0x02
#define CAP_ECHO_MESSAGE	0x04
#define CAP_MESSAGE_TAGS	0x08
#define CAP_CHATHISTORY		0x10
#define CAP_AWAY_NOTIFY		0x1000	/* presence: the nick list dims */
#define CAP_READ_MARKER		0x2000	/* draft/read-marker */
#define CAP_MULTILINE		0x200	/* draft/multiline (sendq) */
#define CAP_LABELED_RESPONSE	0x400	/* reply.c routes replies by label */
#define CAP_MESSAGE_REDACTION	0x4000	/* draft/message-redaction: REDACT
					   shows a line as deleted */

/* --- notify.c: bell, desktop notifications, the title's count --- */
#define NOTIFY_BELL	0x01	/* BEL */
#define NOTIFY_OSC777	0x02	/* ESC]777;notify;<title>;<body> BEL */
#define NOTIFY_OSC9	0x04	/* ESC]9;<title>: <body> BEL */
#define NOTIFY_TITLE	0x08	/* ESC]2;natter (<unread>) BEL */
#define NOTIFY_DEFAULT	(NOTIFY_BELL | NOTIFY_OSC777 | NOTIFY_TITLE)
#define NOTIFY_TITLE_MAX	160	/* "natter: <nick> in <room>" */
#define NOTIFY_BODY_MAX	200	/* bytes of message text shown */
#define NOTIFY_IN_MAX	1024	/* message text looked at */
#define NOTIFY_OUT_MAX	1024	/* bytes of one alert, tmux-wrapped */
#define NOTIFY_UNREAD_MAX	9999	/* the title's count stops here */

struct session;

/* "bell,osc9" (any of bell, osc777, osc9, title) or "none" into
 * NOTIFY_* bits; -1 for an unknown or empty name. */
int	 notify_parse(const char *list, unsigned *bits);
/* The bits as notify_parse reads them ("none" for 0). */
void	 notify_names(unsigned bits, char *out, size_t outlen);
/* in without mIRC codes, control characters or invalid UTF-8, at most
 * max bytes (cut between characters); returns the length. */
size_t	 notify_clean(const char *in, char *out, size_t outlen, size_t max);
/* The bytes for one alert: BEL (NOTIFY_BELL), then OSC 777 and/or
 * OSC 9 with title and body (unless they are NULL), each wrapped in
 * tmux's passthrough (ESC Ptmux; ..., every ESC doubled, ESC \) when
 * tmux is set.  Returns the length (0: nothing, or it did not fit). */
size_t	 notify_alert(unsigned bits, int tmux, const char *title,
	    const char *body, char *out, size_t outlen);
/* ESC]2;natter (N) BEL, or ESC]2;natter BEL when unread is 0. */
size_t	 notify_title(int unread, char *out, size_t outlen);
/* The unread count over every window (at most NOTIFY_UNREAD_MAX). */
int	 notify_unread(const struct windows *);
/* A mention or private message (room NULL) from nick in window i:
 * unless i is in view with the focus, counts it unread and sets bell
 * and the alert for ui_notify_locked.  action: text is a /me. */
void	 notify_event(struct session *, int i, const char *nick,
	    const char *room, int action, const char *text);
/* The terminal gained (1) or lost (0) the focus; gaining it marks the
 * current window read. */
void	 notify_focus(struct session *, int focused);

/* --- settings.c: /set --- */
/* "name value": changes one setting, or lists them all (args empty),
 * into msg ('\n' between lines).  Returns 0, or -1 with a one-line
 * error in msg. */
int	 settings_set(struct session *, const char *args, char *msg,
	    size_t msglen);

/* --- link.c: the link's health, for the status bar and net.c --- */
#define LAG_SHOW_MS	1000	/* the status bar shows a lag above this */

enum link_state {
	LINK_CONNECTING,	/* dialling, TLS, registering */
	LINK_UP,		/* registered */
	LINK_WAIT,		/* lost: the next try is at retry_at */
	LINK_DOWN		/* stopped: only /reconnect tries again */
};

/* Why natter stops retrying (net.c says it in one sentence). */
enum link_fault {
	FAULT_NONE,
	FAULT_PASSWORD,		/* 464: the server password */
	FAULT_BANNED,		/* 465 */
	FAULT_NOT_TLS,		/* TLS to a plain-text port */
	FAULT_TLS_PORT,		/* plain text to a TLS port */
	FAULT_NO_HOST		/* the name does not exist */
};

struct session;

/* Milliseconds on a clock that never jumps (CLOCK_MONOTONIC). */
long long	 link_clock_ms(void);
/*
 * What the status bar adds for the link at now (link_clock_ms): " [lag
 * 2.4 s]" while the lag (the last one measured, or the age of a PING
 * not yet answered) is over LAG_SHOW_MS, " [connecting]", "
 * [disconnected, retry in 4 s]", " [disconnected]"; "" when all is
 * well.  Returns its length.
 */
int		 link_status(const struct session *, long long now, char *out,
		    size_t outlen);
/* The lag at now in ms: the last one measured (0 before the first),
 * or the age of a PING not yet answered if more; -1 while not
 * connected. */
int		 link_lag(const struct session *, long long now);
/* 1 if an OpenSSL handshake error (its reason text) means the peer
 * answered in plain text: TLS was sent to a plain-text port. */
int		 link_plain_reply(const char *why);
/* 1 if the first bytes a plain connection read are a TLS record (an
 * alert or a handshake): the port speaks TLS. */
int		 link_tls_bytes(const char *buf, size_t len);
/* 1 if an ERROR that ended a plain connection before registration
 * says the port speaks TLS (natterd: "This port speaks TLS only"). */
int		 link_tls_error(const char *text);
/*
 * The one sentence for a fault that stops the retries, with what to
 * change: label is "host:port", text the server's words (465) or "";
 * password: a --password was given; tls_default: TLS came from port
 * 6697 or sts, not from --tls.  Ends "Not retrying; /reconnect tries
 * again."
 */
/* 1 if an ERROR before registration blames the password (ngIRCd:
 * "Access denied: Bad password?"). */
int		 link_password_error(const char *text);
void		 link_fault_sentence(enum link_fault, const char *label,
		    const char *host, const char *text, int password,
		    int tls_default, char *out, size_t outlen);

/* --- sasl.c: SASL responses (IRCv3 sasl, AUTHENTICATE) --- */
#define SASL_CHUNK	400	/* bytes of base64 per AUTHENTICATE line */

/* Standard base64 of in[0..len) into out, NUL-terminated; -1 if it
 * does not fit. */
int	 sasl_base64(const unsigned char *in, size_t len, char *out,
	    size_t outlen);
/*
 * The AUTHENTICATE lines that send a PLAIN response ("user\0user\0pass",
 * base64): SASL_CHUNK bytes a line, then "AUTHENTICATE +" when the last
 * line was exactly SASL_CHUNK bytes long.  Returns how many lines, or
 * -1 when they do not fit max (or the credentials are too long).
 * Wipes its own copies of the password.
 */
int	 sasl_plain_lines(const char *user, const char *pass,
	    char out[][512], int max);

/* A batch the server opened (BATCH +ref type params). */
struct batch {
	char		 ref[32];
	int		 history;	/* type chathistory: lines are replays */
	char		 target[WIN_NAME_MAX];	/* its room or nick */
	/* draft/multiline: one message put together from its lines,
	 * shown at BATCH -ref with the tags and source of BATCH +ref. */
	int		 multiline;
	char		*text;		/* malloc'd, '\n' between lines, at
					   most MULTILINE_RECV_MAX bytes */
	size_t		 len;
	size_t		 dropped;	/* bytes past MULTILINE_RECV_MAX */
	int		 nlines;
	int		 notice;	/* its lines are NOTICEs */
	char		 source[256];	/* nick!user@host */
	char		 msgid[MSGID_MAX];
	time_t		 when;
	int		 msec;
	int		 timed;
};

/* --- reply.c: numeric replies, each in its window and readable --- */
#define REPLY_LABELS_MAX	32	/* labeled commands awaiting replies */
#define REPLY_LABEL_LEN		16	/* "n4294967295" and a NUL */
#define REPLY_VERB_LEN		16	/* a command word we note */
#define REPLY_TEXT_MAX		512	/* one WHOIS row's value */
/* The LIST window holds at most this many rooms; one more line says
 * how many were left out.  Its scrollback keeps SCROLL_MAX lines, so
 * more rows would silently push the first ones out. */
#define LIST_ROWS_MAX		(SCROLL_MAX - 8)
#define MOTD_LINES_MAX		500	/* MOTD lines kept while it arrives */
#define LIST_WINDOW		"(list)"	/* never a nick or a room */

/* The rows of a WHOIS block, in the order they are shown. */
enum whois_row {
	WHOIS_NAME,		/* 311 real name */
	WHOIS_ROOMS,		/* 319, appended */
	WHOIS_SERVER,		/* 312 */
	WHOIS_OPER,		/* 313 */
	WHOIS_IDLE,		/* 317: idle time, sign-on time */
	WHOIS_AWAY,		/* 301 inside the block */
	WHOIS_ACCOUNT,		/* 330 */
	WHOIS_HOST,		/* 338, 378: the real address */
	WHOIS_MODES,		/* 379 */
	WHOIS_SECURE,		/* 671 */
	WHOIS_INFO,		/* 307, 320, 276 and others, appended */
	WHOIS_ROWS		/* how many */
};

/* A command sent with a label (IRCv3 labeled-response): its replies go
 * to the window it was typed in. */
struct reply_label {
	char		 id[REPLY_LABEL_LEN];
	char		 window[WIN_NAME_MAX];	/* by name: windows close */
	char		 verb[REPLY_VERB_LEN];	/* "WHOIS" */
	char		 batch[32];	/* its labeled-response batch */
};

struct replies {
	struct reply_label labels[REPLY_LABELS_MAX];	/* oldest first */
	int		 nlabels;
	unsigned	 seq;		/* the last label's number */
	/* The line being applied answers a labeled command typed in win
	 * ("" when it carries no known label). */
	char		 win[WIN_NAME_MAX];
	char		 verb[REPLY_VERB_LEN];
	/* The WHOIS (or WHOWAS) block being gathered until 318/369. */
	int		 whois_open;
	int		 whowas;
	char		 whois_win[WIN_NAME_MAX];
	char		 whois_nick[64];
	char		 whois_head[REPLY_TEXT_MAX];	/* nick (user@host) */
	char		 whois[WHOIS_ROWS][REPLY_TEXT_MAX];
	/* WHO rows shown since the last 315, and their window. */
	int		 who_rows;
	char		 who_win[WIN_NAME_MAX];
	/* LIST: rows shown, rows left out past LIST_ROWS_MAX. */
	int		 list_open;
	int		 list_rows;
	int		 list_more;
	int		 list_asked;	/* /list typed: show the window */
	/* The MOTD: its lines while it arrives, a hash of the last one
	 * shown (FNV-1a), and how many /motd the user typed. */
	char		**motd;
	int		 nmotd;
	int		 motd_more;	/* lines past MOTD_LINES_MAX */
	int		 motd_open;
	unsigned long long motd_hash;
	unsigned long long motd_last;
	int		 motd_known;	/* motd_last is set */
	int		 motd_asked;
};

/* The login natter asks for while registering (handle.c). */
enum sasl_mech {
	SASL_NONE,		/* none: no --sasl-user, no --tls-cert */
	SASL_PLAIN,		/* --sasl-user and a password */
	SASL_EXTERNAL		/* --tls-cert: the certificate is the login */
};

enum sasl_state {
	SASL_IDLE,		/* nothing asked on this connection */
	SASL_REQ,		/* CAP REQ with sasl sent */
	SASL_START,		/* AUTHENTICATE <mech> sent, waiting for + */
	SASL_SENT,		/* the response went: waiting for 903/904 */
	SASL_DONE		/* 903 or 907: logged in */
};

struct session {
	char		 nick[64];	/* our current nick */
	char		 want_nick[64];	/* the nick we asked for */
	char		 user[64];
	char		 realname[128];
	char		*password;
	char		 server_name[128];
	int		 registered;
	struct windows	 wins;
	char		**rooms;	/* rooms to (re)join */
	int		 nrooms;
	int		 bell;		/* set when a highlight should ring */
	/* notify.c (notifications): whether the terminal has the focus
	 * (ESC[I, ESC[O), and the desktop notification handle_line
	 * leaves for the message thread to write (ui_notify_locked). */
	int		 focused;	/* 1 at start */
	int		 alert;		/* alert_title/body wait */
	char		 alert_title[NOTIFY_TITLE_MAX];
	char		 alert_body[NOTIFY_BODY_MAX + 1];
	int		 dirty;		/* the screen needs a redraw */
	char		 link[24];	/* "TLS", "TLS unchecked" while
					   connected over TLS; "" else */
	/* Dead links and errors that stop the retry loop (issue 12,
	 * link): net.c sets the state and the PING, handle.c settles a
	 * PONG and notes a fault, ui.c shows link_status. */
	enum link_state	 link_state;
	long long	 retry_at;	/* LINK_WAIT: when (link_clock_ms) */
	long long	 ping_at;	/* our PING went then; 0: none out */
	char		 ping_token[16];	/* what its PONG carries */
	int		 lag_ms;	/* the last PING to its PONG (0: none) */
	enum link_fault	 fault;		/* a reply that ends the retries */
	char		 fault_text[256];	/* the server's words for it */
	char		*log_dir;	/* NULL: no logs */
	int		 nregistered;	/* 001s seen: > 1 after a reconnect */
	unsigned	 caps;		/* CAP_* the server ACKed */
	unsigned	 caps_offered;	/* CAP_* in CAP LS (so far) */
	int		 cap_busy;	/* negotiating: CAP END not sent */
	char		 sts[128];	/* the sts value in CAP LS, for net.c */
	int		 sts_seen;	/* set with sts; net.c clears it */
	int		 chathistory_max;	/* ISUPPORT CHATHISTORY */
	/* The send queue and pastes (sendq.c, natter.c): what waits to
	 * be sent, the multiline limits the server offered (0: no
	 * draft/multiline), and a paste waiting for its y/n. */
	struct sendq	 sendq;
	int		 multiline_bytes;
	int		 multiline_lines;
	int		 paste_ask;	/* "Send N lines to T? (y/n)" shown */
	char		*paste;		/* its lines, '\n' between */
	int		 paste_n;
	char		 paste_target[WIN_NAME_MAX];
	struct batch	 batches[BATCH_OPEN_MAX];
	int		 nbatches;
	/* Issue 12, replies (reply.c): labels, WHOIS/WHO/LIST/MOTD. */
	struct replies	 reply;
	/* The line handle_line is applying: its server time, msgid, and
	 * whether it is a history replay. */
	time_t		 line_when;
	int		 line_msec;
	char		 line_msgid[MSGID_MAX];
	int		 line_history;
	int		 line_timed;	/* it had a time tag */
	int		 line_stored;	/* a kind of line the server stores */
	char		 line_target[WIN_NAME_MAX];	/* a replay's window */
	/* Logging in (SASL at registration) and the account we are
	 * logged in to (900 sets it, 901 clears it). */
	enum sasl_mech	 sasl_mech;
	char		 sasl_user[128];
	char		*sasl_pass;	/* PLAIN only; never shown */
	enum sasl_state	 sasl_state;
	int		 sasl_offered;	/* sasl in CAP LS */
	char		 sasl_mechs[128];	/* its value, or 908's list */
	char		 account[64];	/* "" when not logged in */
	/* Presence (issue 12, part 5). */
	int		 away;		/* 306 seen; 305 or a new connection
					   clears it */
	/* A login that failed (904, 902, no sasl, no mechanism): the
	 * connection is closed and net.c does not dial again. */
	int		 login_failed;
	char		 login_why[512];
	/* Issue 12 settings (/set, flags). */
	int		 nicklist;	/* -1: when COLS >= 100, 0 off, 1 on */
	int		 show_prefixes;	/* 1: <@alice> in rooms */
	unsigned	 notify;	/* NOTIFY_* bits (notify.c) */
};

void	 session_init(struct session *);
void	 session_free(struct session *);
/*
 * A new connection: forgets what the last one negotiated and fills out
 * with the registration (CAP LS 302, PASS if set, NICK, USER).  With
 * a sasl_mech it asks for the sasl cap, logs in (AUTHENTICATE) and
 * only then ends CAP; a failure sets login_failed and sends QUIT.  The
 * server holds registration until CAP END, which handle_line sends
 * once the capabilities are settled; a server that ignores CAP just
 * registers.
 */
void	 session_hello(struct session *, char out[][512], int *nout,
	    int maxout);
/* "2026-11-26T02:20:00.123Z" -> seconds and milliseconds; -1 if it is
 * not such a time. */
int	 parse_server_time(const char *s, time_t *when, int *msec);
/*
 * Applies one parsed server line: PING is answered through out/nout
 * (lines to send, like cmd_result), messages go to their windows with
 * activity and highlights, JOIN/PART/KICK/QUIT/NICK/TOPIC/353/366/332/
 * 333/MODE update the windows, 433 during registration retries with '_'
 * appended (and says so), 001 joins sess->rooms, notices go to the
 * status (or current) window, other numerics where reply.c's table
 * says (a labeled reply to its command's window).  CAP LS/ACK/NAK negotiate
 * (see session_hello); an sts value in CAP LS is kept in sts (with
 * sts_seen set) for net.c, which acts on it.  With server-time a line's time is its time
 * tag; lines in a chathistory batch (or between the plain-text
 * history NOTICEs) are history lines, put in time order under a
 * divider and dropped when their msgid was seen.  After a reconnect,
 * with draft/chathistory, 366 of a rejoined room sends CHATHISTORY
 * AFTER the last msgid (or time) seen there.
 */
void	 handle_line(struct session *, struct irc_msg *m, time_t now,
	    char out[][512], int *nout, int maxout);
/* The MARKREAD lines due (draft/read-marker, logged in): for each
 * window read since its last one, at most one a MARKREAD_INTERVAL_MS
 * (now_ms: a monotonic clock); the others wait for a later call. */
void	 markread_flush(struct session *, long long now_ms,
	    char out[][512], int *nout, int maxout);
/* 1 if text mentions nick as a word (case-insensitive). */
int	 mentions(const char *text, const char *nick);
/* A stable colour index 0..n-1 for nick. */
int	 nick_colour(const char *nick, int n);

/* --- reply.c (continued): functions --- */
/* Where a numeric shows (reply_find). */
enum reply_where {
	REPLY_STATUS,		/* the status window */
	REPLY_COMMAND,		/* the window of the command (its label),
				   else the current window */
	REPLY_TARGET,		/* the window of the room in param 1, else
				   as REPLY_COMMAND */
	REPLY_AWAY,		/* 301: a WHOIS row, else the nick's query
				   window, else as REPLY_COMMAND */
	REPLY_WHOIS,		/* a row of the WHOIS block */
	REPLY_WHO,		/* an aligned WHO row */
	REPLY_LIST,		/* the LIST window */
	REPLY_MOTD,		/* the status window, once */
	REPLY_HIDE		/* nothing (handled elsewhere or noise) */
};

struct reply_def {
	int		 num;
	enum reply_where where;
	enum line_kind	 kind;
	/* The text: $1..$9 a parameter (0 is our nick), $t the last,
	 * $m the middle ones (1 .. last-1), $r those after param 1 but
	 * the last, $g "$m: $t" (or $t alone), $@N param N as a Unix
	 * time, $%N param N as a duration. */
	const char	*fmt;
};

/* The table's entry for num; unknown numerics get a generic one (the
 * status window, or for 400-599 an error in the command's window). */
const struct reply_def *reply_find(int num, struct reply_def *generic);
/* Expands a reply_def fmt with m's parameters; returns the length (the
 * text is cut to fit). */
size_t	 reply_format(const char *fmt, const struct irc_msg *m, char *out,
	    size_t outlen);
/* "45s", "2m 3s", "1h 2m", "3d 4h". */
void	 reply_duration(long long secs, char *out, size_t outlen);
/*
 * The line to send for line, typed in window: with labeled-response
 * (CAP_LABELED_RESPONSE) and a command whose replies we route (not
 * PRIVMSG, NOTICE, PONG, QUIT, JOIN ...), "@label=<id> line", its
 * label remembered (REPLY_LABELS_MAX, the oldest dropped); else line
 * as it is.  Notes a /motd or /list either way.
 */
void	 reply_label(struct session *, const char *window, const char *line,
	    char *out, size_t outlen);
/* The labeled-response side of a line from the server: sets reply.win
 * for its replies, frees a label once answered (one labeled line, the
 * end of its batch, or ACK).  Returns 1 if nothing else is to be done
 * with the line (an ACK). */
int	 reply_route(struct session *, const struct irc_msg *);
/* The window of the command the line being applied answers (its
 * label's), else the current one. */
int	 reply_window(const struct session *);
/* Shows numeric m per the table (handle.c's on_numeric calls it for
 * every numeric it has no handler of its own for). */
void	 reply_numeric(struct session *, const struct irc_msg *, int num,
	    time_t now);
/* A new connection: labels and half-gathered replies are void. */
void	 reply_reset(struct session *);
void	 reply_free(struct session *);

/* --- conffile.c: natter's own files --- */
/* xdg/natter/file when xdg ($XDG_CONFIG_HOME) is an absolute path,
 * else home/.config/natter/file; -1 if neither is usable or the path
 * does not fit. */
int	 conf_path(const char *xdg, const char *home, const char *file,
	    char *out, size_t outlen);

/* --- pin.c: known_servers, the TLS certificates the user trusts --- */
#define PIN_FP_LEN	95	/* "AB:CD:...", SHA-256 (TLS_FP_LEN) */
#define PIN_KEY_MAX	300	/* "host:port" or "[addr]:port" */

enum pin_status {
	PIN_ERROR = -1,		/* the file could not be read */
	PIN_NONE,		/* no line for the server */
	PIN_MATCH,		/* a line for it holds this fingerprint */
	PIN_CHANGED		/* its lines hold other fingerprints only */
};

/* The pin file: xdg/natter/known_servers when xdg ($XDG_CONFIG_HOME)
 * is an absolute path, else home/.config/natter/known_servers; -1 if
 * neither is usable or the path does not fit. */
int	 pin_path(const char *xdg, const char *home, char *out,
	    size_t outlen);
/* The server's key: "host:port" in lower case, "[addr]:port" for an
 * IPv6 address; -1 if it does not fit. */
int	 pin_key(const char *host, const char *port, char *out,
	    size_t outlen);
/*
 * Looks key up in the pin file at path (a missing file holds no pins)
 * for fp, a canonical fingerprint (tls_fingerprint).  PIN_MATCH sets
 * *line to the matching line; PIN_CHANGED sets *line and pinned to the
 * first line for key.  PIN_ERROR fills why.
 */
enum pin_status	 pin_check(const char *path, const char *key,
	    const char *fp, int *line, char *pinned, size_t pinnedlen,
	    char *why, size_t whylen);
/* Appends "key SHA256:fp", creating missing directories (0700) and the
 * file (0600).  Returns the new line's number, or -1 with why. */
int	 pin_add(const char *path, const char *key, const char *fp,
	    char *why, size_t whylen);

/* --- sts.c: IRCv3 Strict Transport Security (sts_policies) --- */
#define STS_HOST_MAX	256	/* a host name in the policy file */

/* What an sts capability value says. */
struct sts_value {
	int		 port;		/* port=: 1-65535, or 0 if absent */
	long		 duration;	/* duration=: seconds, or -1 */
};

/* The policy file: xdg/natter/sts_policies when xdg ($XDG_CONFIG_HOME)
 * is an absolute path, else home/.config/natter/sts_policies; -1 if
 * neither is usable or the path does not fit. */
int	 sts_path(const char *xdg, const char *home, char *out,
	    size_t outlen);
/* Parses "port=6697,duration=300" (unknown keys and bad values are
 * ignored). */
void	 sts_parse(const char *value, struct sts_value *);
/* The policy for host: 1 if one is live at now (port and expiry set),
 * 0 if none or expired (a missing file holds none), -1 with why. */
int	 sts_lookup(const char *path, const char *host, time_t now,
	    int *port, time_t *expiry, char *why, size_t whylen);
/* Replaces host's policy with "host port expiry" (host in lower case),
 * creating missing directories (0700) and the file (0600). */
int	 sts_store(const char *path, const char *host, int port,
	    time_t expiry, char *why, size_t whylen);
/* Removes host's policy (none is not an error). */
int	 sts_remove(const char *path, const char *host, char *why,
	    size_t whylen);

/* ui.c: the only file that includes curses.  ui_lock guards every
 * curses call and the model above; the *_locked functions expect it
 * held. */
#define UI_LINE_MAX	(EDIT_MAX * 4 + 1)	/* an input line as UTF-8 */

typedef void	ui_line_cb(const char *line, void *arg);
/* A bracketed paste (ESC[200~ ... ESC[201~), and the y/n answer to
 * the question a long one asks (session paste_ask). */
enum ui_paste {
	UI_PASTE_TEXT,		/* text[0..len): what was pasted */
	UI_PASTE_TOO_BIG,	/* more than PASTE_BYTES_MAX: dropped */
	UI_PASTE_YES,
	UI_PASTE_NO
};
typedef void	ui_paste_cb(enum ui_paste, const char *text, size_t len,
		    void *arg);

void	 ui_lock(void);
void	 ui_unlock(void);
/* Starts curses (before any thread).  colour 0: monochrome, no mIRC
 * formatting. */
void	 ui_init(int colour);
/* Ends curses; idempotent, takes no lock (atexit and crash paths). */
void	 ui_fini(void);
/* What the status window's title line shows ("host:port"). */
void	 ui_set_server_locked(const char *label);
void	 ui_resize_locked(void);
void	 ui_draw_locked(struct session *, struct edit *);
/* Writes what the session's bell and alert ask for (NOTIFY_* bits),
 * after curses' own output, and clears them. */
void	 ui_notify_locked(struct session *);
/* Where ui_keys_locked hands pastes (with its arg); before any key. */
void	 ui_set_paste_cb(ui_paste_cb *);
/* 1 between a paste's start and its end. */
int	 ui_pasting_locked(void);
/* A paste whose end (ESC[201~) never came: what it holds goes to the
 * paste callback (with arg) as if it had ended. */
void	 ui_paste_timeout_locked(void *arg);
/* Reads every key waiting (never blocks) and applies it; each line
 * entered goes to cb, in order.  Returns 1 if the terminal was
 * resized. */
int	 ui_keys_locked(struct session *, struct edit *, struct complete *,
	    ui_line_cb *cb, void *arg);

/* net.c: the message thread (socket, TLS, reading, reconnect). */
struct net_tls {
	int		 on;		/* connect with TLS */
	int		 insecure;	/* --tls-insecure: no checks at all */
	const char	*cafile;	/* --tls-ca; NULL: the system store */
	const char	*cert;		/* --tls-cert and --tls-key, or NULL */
	const char	*key;
	const char	*fingerprint;	/* --tls-fingerprint, canonical */
	const char	*pinfile;	/* known_servers; NULL: none */
	int		 no_tls;	/* --no-tls: never TLS, not even for
					   sts */
	const char	*stsfile;	/* sts_policies; NULL: none */
};

void	 net_init(struct session *, struct edit *, const char *host,
	    const char *port);
/* The TLS settings (copied; the strings must outlive the thread), set
 * before net_start: 0, or -1 with why when the context cannot be made
 * (an unreadable CA file or key, say).  Without on (and without
 * no_tls) TLS may still come: an sts policy or a server's sts upgrade
 * (IRCv3 sts) switches to it for good. */
int	 net_tls_init(const struct net_tls *, char *why, size_t whylen);
/* natterd's Unix sockets to try, in order, before host:port on every
 * attempt (none: TCP alone).  Before net_start. */
void	 net_local(char paths[][SOCKPATH_MAX], int n);
/* 1 while the message thread waits for the user to say whether to
 * trust a certificate; the next line typed answers
 * (net_answer_locked). */
int	 net_asking_locked(void);
/* The answer: 1 trust it, 0 do not. */
void	 net_answer_locked(int yes);
/* Starts the message thread; -1 on failure. */
int	 net_start(void);
/* Closes the connection (after sending what is queued) and joins the
 * thread. */
void	 net_stop(void);
/* Sends line plus CRLF; 0, or -1 when not connected.  Never call with
 * ui_lock held. */
int	 net_send(const char *line);
/* Sends lines ('\n' between them) in one write, so that all of them go
 * to the same connection (a multiline batch never straddles a
 * reconnect); 0, or -1. */
int	 net_send_lines(const char *lines);
int	 net_connected(void);
#define PING_TIMEOUT_DEFAULT	30	/* seconds; --ping-timeout */
#define PING_TIMEOUT_MAX	3600

/* Seconds of silence from the server before natter sends a PING, and
 * as many again without an answer before the link is declared dead
 * (--ping-timeout).  Before net_start. */
void	 net_ping_timeout(int sec);
/* /reconnect: drops the connection (if any) and dials again now, even
 * after an error that stopped the retries.  Never blocks; -1 if the
 * message thread is not running. */
int	 net_reconnect(void);

/* natter.c: logs, messages to the user, the input thread. */
struct chatlog;

/* Queues a log line (under ui_lock); chatlog_flush writes and frees
 * the queue (without it: disk I/O). */
void	 chatlog_add(struct chatlog **, const char *window, time_t when,
	    enum line_kind kind, const char *nick, const char *text);
void	 chatlog_flush(struct chatlog **);
/* A client message in window i (-1: every window). */
void	 say_locked(struct session *, int i, enum line_kind kind,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
