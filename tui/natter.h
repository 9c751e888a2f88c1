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
 * test_pin.c, test_sts.c, test_presence.c).
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
#define TEXT_CHUNK	400	/* bytes of text per PRIVMSG when splitting */
#define MSGID_MAX	64	/* a msgid tag value, NUL included */
#define SEEN_MAX	512	/* msgids remembered per window, for dedupe */
#define BATCH_OPEN_MAX	8	/* batches open at once that we follow */
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
	char		 prefix;	/* '@' or '+' the nick had in the room
					   when the line came; 0 none */
	unsigned long	 seq;		/* order of arrival in its window
					   (scroll_insert): the read marker */
	char		*nick;		/* NULL for INFO/ERROR/EVENT */
	char		*text;		/* UTF-8, may hold mIRC codes */
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

/* --- window.c: windows and activity --- */
enum win_kind {
	WIN_STATUS,		/* server messages; always window 1 */
	WIN_ROOM,
	WIN_QUERY		/* private conversation */
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
/* Finds or opens a window, returns its index. */
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
	CMD_QUIT		/* lines[] holds the QUIT */
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
 * /close /clear /help /quit (and aliases /j /q /w? see cmd.c).  A bare
 * number N as a room means #N.  Wrong usage gives CMD_ERROR with a
 * one-line message; nothing malformed is ever put in lines[].
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

/* --- handle.c: what the server sent, applied to the model --- */
/* IRCv3 capabilities natter asks for (struct session caps). */
#define CAP_SERVER_TIME		0x01
#define CAP_BATCH		0x02
#define CAP_ECHO_MESSAGE	0x04
#define CAP_MESSAGE_TAGS	0x08
#define CAP_CHATHISTORY		0x10
#define CAP_AWAY_NOTIFY		0x1000	/* presence: the nick list dims */
#define CAP_READ_MARKER		0x2000	/* draft/read-marker */

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
	int		 dirty;		/* the screen needs a redraw */
	char		 link[24];	/* "TLS", "TLS unchecked" while
					   connected over TLS; "" else */
	char		*log_dir;	/* NULL: no logs */
	int		 nregistered;	/* 001s seen: > 1 after a reconnect */
	unsigned	 caps;		/* CAP_* the server ACKed */
	unsigned	 caps_offered;	/* CAP_* in CAP LS (so far) */
	int		 cap_busy;	/* negotiating: CAP END not sent */
	char		 sts[128];	/* the sts value in CAP LS, for net.c */
	int		 sts_seen;	/* set with sts; net.c clears it */
	int		 chathistory_max;	/* ISUPPORT CHATHISTORY */
	struct batch	 batches[BATCH_OPEN_MAX];
	int		 nbatches;
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
 * appended (and says so), 001 joins sess->rooms, numerics and notices
 * go to the status (or current) window.  CAP LS/ACK/NAK negotiate
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
void	 ui_bell_locked(void);
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
int	 net_connected(void);

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
