/*
 * natter.c: main, flags, signals, the input thread and chat logs.
 *
 * Threads: main (takes every asynchronous signal with sigwait: resize,
 * quit), the input thread (keyboard, line editor, commands; below) and
 * the message thread (net.c).  The session, editor and completion state
 * below belong to the model and are guarded by ui_lock (ui.c).
 */

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "casemap.h"
#include "irc.h"
#include "natter.h"
#include "tls.h"

#define TLS_PORT	6697	/* IRC over TLS (RFC 7194): TLS by default */

/* Guarded by ui_lock. */
static struct session	 sess;
static struct edit	 edit;
static struct complete	 comp;

static const char	*log_dir;	/* set once in main */
static atomic_int	 quit_sent;	/* the QUIT went out */

/* What the input thread does once it let go of ui_lock: the QUIT
 * (past the send queue), connecting, the log. */
struct outbox {
	char		(*lines)[512];
	int		 n;
	int		 cap;
	int		 quit;
	int		 start_net;	/* the password came: connect now */
	struct chatlog	*log;
};

static void	 outbox_add(struct outbox *, const char *);

struct chatlog {
	struct chatlog	*next;
	char		*window;
	time_t		 when;
	enum line_kind	 kind;
	char		*nick;
	char		*text;
};

#define USAGE	"usage: natter [-hV] [-j rooms] [-n nick] [-p port] " \
		"[--socket path] [--log-dir dir] [--no-color]\n" \
		"              [--notify list] [--password pass] [--realname name] " \
		"[--ping-timeout sec] [login options] [TLS options] " \
		"[host[:port]]\n"

static _Noreturn void
usage(void)
{
	fprintf(stderr, "%s", USAGE);
	exit(2);
}

static void
help(void)
{
	printf("%s", USAGE);
	printf("\n"
	    "Connects to an IRC server.  Without a host, natterd's Unix "
	    "socket first\n"
	    "($XDG_RUNTIME_DIR/natterd/natterd.sock, then "
	    "/run/natterd/natterd.sock),\n"
	    "else 127.0.0.1 port 6667.\n"
	    "\n"
	    "  -n, --nick NICK       nickname (default: $USER, else natter)\n"
	    "  -j, --join ROOMS      rooms to join, comma separated; a bare "
	    "number N\n"
	    "                        means #N (default: none)\n"
	    "  -p, --port PORT       server port (default 6667, or the one "
	    "in host:port)\n"
	    "      --password PASS   server password sent with PASS "
	    "(default: none)\n"
	    "      --realname NAME   real name (default: the nick)\n"
	    "      --no-color        no colours; mIRC formatting is "
	    "stripped\n"
	    "      --log-dir DIR     append each window's lines to "
	    "DIR/<window>.log\n"
	    "                        (default: no logs)\n"
	    "      --notify LIST     how a mention or private message out "
	    "of view tells\n"
	    "                        you: a comma list of bell, osc777, "
	    "osc9, title,\n"
	    "                        or none (default: bell,osc777,title)\n"
	    "      --socket PATH     natterd's Unix socket, tried before "
	    "127.0.0.1:6667\n"
	    "                        (default: $NATTER_SOCKET, else the "
	    "places above)\n"
	    "      --ping-timeout SEC\n"
	    "                        send a PING after SEC seconds without "
	    "a word from\n"
	    "                        the server; SEC more without an answer "
	    "and the link\n"
	    "                        is dead: natter reconnects (default 30, "
	    "1-3600)\n"
	    "  -h, --help            print this help and exit\n"
	    "  -V, --version         print the version and exit\n"
	    "\n"
	    "Login options:\n"
	    "      --sasl-user NAME  log in to account NAME (SASL PLAIN); the "
	    "password\n"
	    "                        comes from --sasl-password-file, "
	    "$NATTER_PASSWORD\n"
	    "                        or a prompt with typing hidden\n"
	    "      --sasl-password-file FILE\n"
	    "                        read the SASL password from the first "
	    "line of FILE\n"
	    "\n"
	    "TLS options (any --tls-* option implies --tls):\n"
	    "      --tls             connect with TLS (default: only on port "
	    "6697)\n"
	    "      --no-tls          plain text, even on port 6697 or when "
	    "the server\n"
	    "                        asks for TLS (sts)\n"
	    "      --tls-ca FILE     verify the server against the CA "
	    "certificates in\n"
	    "                        FILE (default: the system CA store)\n"
	    "      --tls-fingerprint SHA256\n"
	    "                        accept only the certificate with this "
	    "SHA-256\n"
	    "                        fingerprint (hex, colons optional)\n"
	    "      --tls-insecure    accept any certificate: encrypted, but "
	    "anyone on\n"
	    "                        the path could pose as the server\n"
	    "      --tls-cert FILE   client certificate (PEM), with "
	    "--tls-key; without\n"
	    "                        --sasl-user it logs in (SASL "
	    "EXTERNAL)\n"
	    "      --tls-key FILE    the client certificate's key (PEM)\n"
	    "\n"
	    "A certificate that cannot be verified is shown with its "
	    "fingerprint and,\n"
	    "if you trust it, remembered in "
	    "$XDG_CONFIG_HOME/natter/known_servers\n"
	    "(default ~/.config/natter/known_servers); a changed one is "
	    "refused.\n"
	    "\n"
	    "A server that asks for TLS (IRCv3 sts) gets it: natter leaves "
	    "a plain\n"
	    "connection for its TLS port and, once the certificate is "
	    "trusted, uses\n"
	    "only TLS for that host until the server's policy expires "
	    "(kept in\n"
	    "$XDG_CONFIG_HOME/natter/sts_policies).  --no-tls "
	    "overrides both.\n");
}

/* --- chat logs --- */

void
chatlog_add(struct chatlog **q, const char *window, time_t when,
    enum line_kind kind, const char *nick, const char *text)
{
	struct chatlog *c;

	if (log_dir == NULL)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->window = strdup(window);
	c->nick = strdup(nick != NULL ? nick : "");
	c->text = strdup(text);
	if (c->window == NULL || c->nick == NULL || c->text == NULL) {
		free(c->window);
		free(c->nick);
		free(c->text);
		free(c);
		return;
	}
	c->when = when;
	c->kind = kind;
	c->next = *q;
	*q = c;
}

static void
chatlog_write(const struct chatlog *c)
{
	char path[PATH_MAX], name[WIN_NAME_MAX], stamp[32], *text;
	struct tm tm;
	size_t i, len;
	FILE *fp;

	len = strlen(c->window);
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	for (i = 0; i < len; i++) {
		name[i] = (char)casemap_lower((unsigned char)c->window[i]);
		if (name[i] == '/' || (i == 0 && name[i] == '.'))
			name[i] = '_';
	}
	name[len] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s.log", log_dir, name) >=
	    (int)sizeof(path))
		return;
	len = strlen(c->text) + 1;
	if ((text = malloc(len)) == NULL)
		return;
	mirc_strip(c->text, text, len);
	localtime_r(&c->when, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	if ((fp = fopen(path, "a")) != NULL) {
		switch (c->kind) {
		case LINE_MSG:
			fprintf(fp, "%s <%s> %s\n", stamp, c->nick, text);
			break;
		case LINE_ACTION:
			fprintf(fp, "%s * %s %s\n", stamp, c->nick, text);
			break;
		case LINE_NOTICE:
			fprintf(fp, "%s -%s- %s\n", stamp, c->nick, text);
			break;
		default:
			fprintf(fp, "%s %s\n", stamp, text);
			break;
		}
		fclose(fp);
	}
	free(text);
}

void
chatlog_flush(struct chatlog **q)
{
	struct chatlog *c, *next, *rev = NULL;

	/* Queued newest first. */
	for (c = *q; c != NULL; c = next) {
		next = c->next;
		c->next = rev;
		rev = c;
	}
	*q = NULL;
	for (c = rev; c != NULL; c = next) {
		next = c->next;
		chatlog_write(c);
		free(c->window);
		free(c->nick);
		free(c->text);
		free(c);
	}
}

void
say_locked(struct session *s, int i, enum line_kind kind, const char *fmt,
    ...)
{
	char buf[1024];
	va_list ap;
	time_t now = time(NULL);
	int k;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (k = 0; k < s->wins.n; k++)
		if (i == -1 || k == i)
			scroll_push(&s->wins.v[k]->sb, now, kind, NULL, buf,
			    0, 0);
	s->dirty = 1;
}

/* --- the input thread --- */

/*
 * Sending.  Everything the user sends but QUIT waits in sess.sendq
 * (sendq.c) and goes out paced by its token bucket.  The input thread
 * adds to the queue and is also the one that sends from it: input_main
 * polls the keyboard with a timeout that is the time until the next
 * token (or SENDQ_RECHECK_MS while the head waits for a reconnect or a
 * rejoin), and an empty queue sleeps on the keyboard alone.  That needs
 * no second thread and no hand-over: only this thread ever removes
 * from the queue, so an item it picked stays while it sends without
 * ui_lock (the message thread only reads the count to draw it).
 *
 * A PRIVMSG or NOTICE is shown at once in its window as a pending line
 * (dimmed).  It is kept across a reconnect and goes once we are
 * registered again and, for a room, its JOIN's 366 came; it becomes a
 * normal line when sent (with echo-message, when the echo comes back:
 * handle.c).  One that cannot go (a room we left, one not rejoined
 * within SENDQ_ROOM_WAIT, a closed window, a /quit) says "not sent".
 * Other commands are not kept across a disconnect.
 */
#define SENDQ_RECHECK_MS	250

static int	 reg_seen;	/* input thread: sess.nregistered seen */
static time_t	 reg_since;	/* when it last changed */

static int
is_room(const char *name)
{
	return name[0] == '#' || name[0] == '&';
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A PRIVMSG or NOTICE line, parsed into copy: its target, text and how
 * it is shown.  Returns 1 if it is shown, 0 if it is a message shown
 * nowhere (a CTCP other than ACTION), -1 if it is not a message.
 */
static int
msg_parts(const char *line, char *copy, size_t copylen,
    enum line_kind *kind, const char **target, const char **text)
{
	struct irc_msg m;
	char *t, *end;

	snprintf(copy, copylen, "%s", line);
	if (irc_parse(copy, &m) == -1 || m.nparams < 2)
		return -1;
	if (strcmp(m.command, "PRIVMSG") == 0)
		*kind = LINE_MSG;
	else if (strcmp(m.command, "NOTICE") == 0)
		*kind = LINE_NOTICE;
	else
		return -1;
	*target = m.params[0];
	t = m.params[1];
	if (t[0] == '\001') {
		if (*kind != LINE_MSG || strncmp(t, "\001ACTION ", 8) != 0)
			return 0;	/* CTCP: not shown */
		*kind = LINE_ACTION;
		t += 8;
		if ((end = strchr(t, '\001')) != NULL)
			*end = '\0';
	}
	*text = t;
	return 1;
}

/* Shows a line of ours to target as pending (dimmed) in its window;
 * returns its id, 0 if it could not be shown. */
static unsigned
pending_locked(const char *target, enum line_kind kind, const char *text)
{
	struct line l;
	struct window *w;
	int i;

	if ((i = windows_find(&sess.wins, target)) == -1) {
		if (is_room(target) || kind == LINE_NOTICE)
			i = sess.wins.cur;
		else if ((i = windows_open(&sess.wins, target,
		    WIN_QUERY)) == -1)
			i = sess.wins.cur;
	}
	w = sess.wins.v[i];
	memset(&l, 0, sizeof(l));
	l.when = time(NULL);
	l.kind = kind;
	l.self = 1;
	l.nick = sess.nick;
	l.text = (char *)text;
	l.pending = sendq_new_id(&sess.sendq);
	/* Our prefix in the room as we type (as handle.c keeps for
	 * others' lines). */
	if (w->kind == WIN_ROOM) {
		l.prefix = window_nick_prefix(w, sess.nick);
		if (l.prefix != '@' && l.prefix != '+')
			l.prefix = 0;
	}
	if (scroll_insert(&w->sb, w->sb.count, &l) == -1)
		return 0;
	if (i != sess.wins.cur)
		windows_mark(&sess.wins, i, ACT_MSG);
	sess.dirty = 1;
	return l.pending;
}

/* The window showing pending line id (and the line's index in *li),
 * or -1. */
static int
pending_find_locked(unsigned id, int *li)
{
	int i;

	if (id == 0)
		return -1;
	for (i = 0; i < sess.wins.n; i++)
		if ((*li = scroll_find_pending(&sess.wins.v[i]->sb, id)) != -1)
			return i;
	return -1;
}

/* An item that will never go: its line says "not sent" (in the log
 * too), and it leaves the queue. */
static void
not_sent_locked(struct chatlog **log, struct sendq_item *it)
{
	const struct line *l;
	int wi, li;

	if ((wi = pending_find_locked(it->id, &li)) != -1) {
		scroll_not_sent(&sess.wins.v[wi]->sb, li);
		l = scroll_get(&sess.wins.v[wi]->sb, li);
		chatlog_add(log, sess.wins.v[wi]->name, time(NULL),
		    LINE_ERROR, NULL, l->text);
	} else if (it->msg && !it->secret)
		say_locked(&sess, 0, LINE_ERROR, "not sent to %s: a line",
		    it->target);
	sendq_unlink(&sess.sendq, it);
	sendq_item_free(it);
	sess.dirty = 1;
}

/* Gone: its line becomes a sent one (unless the echo does that) and
 * goes to the log. */
static void
sent_locked(struct outbox *ob, struct sendq_item *it)
{
	const struct line *l;
	struct window *w;
	int wi, li;

	if (!(sess.caps & CAP_ECHO_MESSAGE) &&
	    (wi = pending_find_locked(it->id, &li)) != -1) {
		w = sess.wins.v[wi];
		scroll_sent(&w->sb, li);
		l = scroll_get(&w->sb, li);
		chatlog_add(&ob->log, w->name, time(NULL), l->kind, l->nick,
		    l->text);
	}
	sendq_unlink(&sess.sendq, it);
	sendq_item_free(it);
	sess.dirty = 1;
}

/* Every queued item will never go (we are leaving). */
static void
abandon_locked(struct chatlog **log)
{
	while (sess.sendq.head != NULL)
		not_sent_locked(log, sess.sendq.head);
}

/* Queues line; a secret one (a password) is sent, never shown.  0, or
 * -1 when the queue is full (and says so).  (ob: the caller's outbox,
 * which only the QUIT uses now; kept so callers stay as they were.) */
static int
queue_locked(struct outbox *ob, const char *line, int secret)
{
	struct sendq_item *it;
	const char *target = "", *text = "";
	enum line_kind kind = LINE_MSG;
	char copy[512], labeled[512 + REPLY_LABEL_LEN + 8];
	int shown;

	(void)ob;
	shown = msg_parts(line, copy, sizeof(copy), &kind, &target, &text);
	/* labeled-response: the replies come back to this window. */
	reply_label(&sess, sess.wins.v[sess.wins.cur]->name, line, labeled,
	    sizeof(labeled));
	if ((it = sendq_push(&sess.sendq, labeled, 1, 1, 1)) == NULL) {
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "Send queue "
		    "full (%d lines waiting): not sent: %s",
		    sess.sendq.nlines, secret ? "(a password)" :
		    shown == 1 ? text : line);
		return -1;
	}
	it->secret = secret;
	if (shown == -1)
		return 0;
	it->msg = 1;
	snprintf(it->target, sizeof(it->target), "%s", target);
	if (shown && !secret)
		it->id = pending_locked(target, kind, text);
	return 0;
}

/* 1 if every line of r is a PRIVMSG or NOTICE. */
static int
all_messages(const struct cmd_result *r)
{
	int i;

	for (i = 0; i < r->nlines; i++)
		if (strncmp(r->lines[i], "PRIVMSG ", 8) != 0 &&
		    strncmp(r->lines[i], "NOTICE ", 7) != 0)
			return 0;
	return 1;
}

/* Queues r's lines.  While disconnected only messages wait (for the
 * reconnect); anything else is refused, saying why.  Returns 0 if they
 * were queued. */
static int
queue_all_locked(struct outbox *ob, const struct cmd_result *r)
{
	int i;

	if (r->nlines == 0)
		return 0;
	if (!net_connected() && (r->secret || !all_messages(r))) {
		say_locked(&sess, sess.wins.cur, LINE_ERROR,
		    "Not connected: nothing sent");
		return -1;
	}
	for (i = 0; i < r->nlines; i++)
		if (queue_locked(ob, r->lines[i], r->secret) == -1)
			return -1;
	return 0;
}

/* /close: what still waits for the window's room or nick will not go
 * there now; the status window says so. */
static void
drop_for_window_locked(struct window *w)
{
	struct sendq_item *it, *next;
	const struct line *l;
	int wi, li;

	for (it = sess.sendq.head; it != NULL; it = next) {
		next = it->next;
		if (!it->msg || casemap_cmp(it->target, w->name) != 0)
			continue;
		if ((wi = pending_find_locked(it->id, &li)) != -1 &&
		    (l = scroll_get(&sess.wins.v[wi]->sb, li)) != NULL)
			say_locked(&sess, 0, LINE_ERROR, "not sent to %s: %s",
			    it->target, l->text);
		else if (!it->secret)
			say_locked(&sess, 0, LINE_ERROR, "not sent to %s: a "
			    "line", it->target);
		sendq_unlink(&sess.sendq, it);
		sendq_item_free(it);
	}
}

/* 1 if room is one we mean to be in (sess.rooms). */
static int
in_rooms(const char *room)
{
	int i;

	for (i = 0; i < sess.nrooms; i++)
		if (casemap_cmp(sess.rooms[i], room) == 0)
			return 1;
	return 0;
}

/*
 * 1 if the command in buf (after its tags) may go before registration
 * ends: a NICK when ours is taken, and what registration itself uses.
 * Anything else (a /join or /whois typed while a slow server looks up
 * our ident) would only get 451, so it waits for 001.
 */
static int
before_registration(const char *buf)
{
	static const char *const verbs[] = { "NICK", "PASS", "CAP",
	    "AUTHENTICATE", NULL };
	const char *p = buf;
	size_t n;
	int i;

	if (*p == '@')
		p += strcspn(p, " ");
	p += strspn(p, " ");
	n = strcspn(p, " \n");
	for (i = 0; verbs[i] != NULL; i++)
		if (strlen(verbs[i]) == n && strncasecmp(p, verbs[i], n) == 0)
			return 1;
	return 0;
}

/* Whether the queue's head may go now: 1 yes, 0 not yet, -1 never. */
static int
head_ready_locked(const struct sendq_item *it, time_t now)
{
	struct window *w;
	int i;

	if (!net_connected())
		return it->msg ? 0 : -1;
	if (!it->msg)
		return sess.registered || before_registration(it->buf);
	if (!sess.registered)
		return 0;
	if (!is_room(it->target) ||
	    (i = windows_find(&sess.wins, it->target)) <= 0 ||
	    sess.wins.v[i]->kind != WIN_ROOM)
		return 1;	/* not a room we show: the server decides */
	w = sess.wins.v[i];
	if (w->joined && w->names_done)
		return 1;
	if (!w->joined && !in_rooms(w->name))
		return -1;	/* we left it */
	/* Being rejoined after a reconnect, for a while. */
	return now - reg_since > SENDQ_ROOM_WAIT ? -1 : 0;
}

/* Sends buf's lines ('\n' between) in one write; 0, or -1. */
static int
send_lines(char *buf)
{
	return net_send_lines(buf);
}

/*
 * Sends what the queue lets go now, never holding ui_lock while
 * sending.  Returns the ms until it may send more (-1: nothing waits).
 */
static int
sendq_pump(struct outbox *ob)
{
	struct sendq_item *it;
	long long t, wait = -1;
	time_t now;
	char *copy;
	int r = 0, rc, dropped = 0, secret;

	ui_lock();
	for (;;) {
		now = time(NULL);
		if (sess.nregistered != reg_seen) {
			reg_seen = sess.nregistered;
			reg_since = now;
		}
		while ((it = sess.sendq.head) != NULL &&
		    (r = head_ready_locked(it, now)) == -1) {
			if (it->msg) {
				not_sent_locked(&ob->log, it);
				continue;
			}
			dropped++;
			sendq_unlink(&sess.sendq, it);
			sendq_item_free(it);
			sess.dirty = 1;
		}
		if (it == NULL)
			break;
		if (r == 0) {
			wait = SENDQ_RECHECK_MS;
			break;
		}
		t = now_ms();
		if (sendq_take(&sess.sendq, t, it->cost) == -1) {
			wait = sendq_wait(&sess.sendq, t, it->cost);
			break;
		}
		if ((copy = strdup(it->buf)) == NULL) {
			wait = SENDQ_RECHECK_MS;
			break;
		}
		secret = it->secret;
		ui_unlock();
		rc = send_lines(copy);
		if (secret)
			explicit_bzero(copy, strlen(copy));
		free(copy);
		ui_lock();
		/* Still the head: only this thread removes items. */
		if (rc == -1) {
			wait = SENDQ_RECHECK_MS;
			break;
		}
		sent_locked(ob, it);
		ui_draw_locked(&sess, &edit);
	}
	if (dropped > 0)
		say_locked(&sess, sess.wins.cur, LINE_ERROR,
		    "Not connected: %d line%s not sent", dropped,
		    dropped == 1 ? "" : "s");
	if (sess.dirty)
		ui_draw_locked(&sess, &edit);
	ui_unlock();
	chatlog_flush(&ob->log);
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* An answer to "Trust this certificate ...?": yes or no. */
static void
answer_locked(const char *text)
{
	char word[8];
	size_t n;

	while (*text == ' ')
		text++;
	n = strcspn(text, " ");
	if (n < sizeof(word) && text[n + strspn(text + n, " ")] == '\0') {
		memcpy(word, text, n);
		word[n] = '\0';
		if (strcasecmp(word, "yes") == 0) {
			net_answer_locked(1);
			return;
		}
		if (strcasecmp(word, "no") == 0) {
			net_answer_locked(0);
			return;
		}
	}
	say_locked(&sess, sess.wins.cur, LINE_ERROR,
	    "Type yes or no (or /quit to leave).");
}

/* /set: each line of the answer, or its one-line error. */
static void
set_locked(const char *args)
{
	char msg[1024], *p, *nl;

	if (settings_set(&sess, args, msg, sizeof(msg)) == -1) {
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "%s", msg);
		return;
	}
	for (p = msg; p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		say_locked(&sess, sess.wins.cur, LINE_INFO, "%s", p);
	}
}

/*
 * The target of r's PRIVMSG or NOTICE line i, copied into target; NULL
 * if the line is neither.
 */
static const char *
msg_target(const struct cmd_result *r, int i, char *target, size_t len)
{
	const char *p = r->lines[i];
	size_t n;

	if (strncmp(p, "PRIVMSG ", 8) == 0)
		p += 8;
	else if (strncmp(p, "NOTICE ", 7) == 0)
		p += 7;
	else
		return NULL;
	n = strcspn(p, " ");
	if (n >= len)
		n = len - 1;
	memcpy(target, p, n);
	target[n] = '\0';
	return target;
}

/* A room we left ourselves (PART, KICK) takes no lines: say so and
 * send nothing.  Returns 1 if r was refused. */
static int
left_refuse_locked(const struct cmd_result *r)
{
	char target[WIN_NAME_MAX];
	int i, k;

	if (r->secret)
		return 0;
	for (i = 0; i < r->nlines; i++) {
		if (msg_target(r, i, target, sizeof(target)) == NULL ||
		    (k = windows_find(&sess.wins, target)) <= 0 ||
		    !sess.wins.v[k]->left)
			continue;
		say_locked(&sess, sess.wins.cur, LINE_ERROR,
		    "You are not in %s: /join %s to rejoin",
		    sess.wins.v[k]->name, sess.wins.v[k]->name);
		return 1;
	}
	return 0;
}

/* "-> bob: hi" in the window where /msg bob hi was typed, when that
 * is not bob's (bob's window gets the line itself). */
static void
feedback_locked(const struct cmd_result *r)
{
	struct window *w = sess.wins.v[sess.wins.cur];
	char target[WIN_NAME_MAX];
	const char *text;
	int i;

	if (r->secret)
		return;
	for (i = 0; i < r->nlines; i++) {
		if (msg_target(r, i, target, sizeof(target)) == NULL ||
		    casemap_cmp(target, w->name) == 0 ||
		    (text = strstr(r->lines[i], " :")) == NULL ||
		    text[2] == '\001')
			continue;
		say_locked(&sess, sess.wins.cur, LINE_INFO, "-> %s: %s",
		    target, text + 2);
	}
}

/* MARKREAD for the windows left (draft/read-marker), as the bound
 * allows. */
static void
markread_locked(struct outbox *ob)
{
	char out[8][512];
	int nout = 0, i;

	markread_flush(&sess, link_clock_ms(), out, &nout, 8);
	for (i = 0; i < nout; i++)
		queue_locked(ob, out[i], 0);
}

/* What the user entered (ui_line_cb, ui_lock held). */
static void
input_line_locked(const char *text, void *arg)
{
	static struct cmd_result r;
	struct outbox *ob = arg;
	struct window *w = sess.wins.v[sess.wins.cur];
	char *p, *nl;
	int i;

	/* The password prompt (--sasl-user): the line is the password.
	 * It was shown as stars and kept nowhere; connect now. */
	if (edit.secret) {
		edit.secret = 0;
		free(sess.sasl_pass);
		if ((sess.sasl_pass = strdup(text)) == NULL) {
			say_locked(&sess, 0, LINE_ERROR, "Out of memory");
			return;
		}
		ob->start_net = 1;
		return;
	}
	/* While a certificate waits for the user's word, a line that is
	 * not a command answers; nothing goes to the server. */
	if (net_asking_locked() && text[0] != '/') {
		answer_locked(text);
		return;
	}
	cmd_parse(text, w->kind == WIN_STATUS || w->kind == WIN_LIST ? NULL :
	    w->name, &r);
	switch (r.action) {
	case CMD_NONE:
		break;
	case CMD_SEND:
		if (left_refuse_locked(&r))
			break;
		if (queue_all_locked(ob, &r) == 0)
			feedback_locked(&r);
		break;
	case CMD_ERROR:
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "%s", r.msg);
		break;
	case CMD_INFO:
		for (p = r.msg; p != NULL; p = nl) {
			if ((nl = strchr(p, '\n')) != NULL)
				*nl++ = '\0';
			say_locked(&sess, sess.wins.cur, LINE_INFO, "%s", p);
		}
		break;
	case CMD_WIN:
		if (r.arg >= 1 && r.arg <= sess.wins.n)
			windows_switch(&sess.wins, r.arg - 1);
		else
			say_locked(&sess, sess.wins.cur, LINE_ERROR,
			    "No window %d (there are %d)", r.arg,
			    sess.wins.n);
		break;
	case CMD_QUERY:
		if ((i = windows_open(&sess.wins, r.target, WIN_QUERY)) != -1)
			windows_switch(&sess.wins, i);
		else
			say_locked(&sess, sess.wins.cur, LINE_ERROR, "No window "
			    "for %s: %d are open, /close some", r.target,
			    sess.wins.n);
		queue_all_locked(ob, &r);
		break;
	case CMD_CLOSE:
		if (sess.wins.cur == 0) {
			say_locked(&sess, 0, LINE_ERROR,
			    "The status window cannot be closed");
			break;
		}
		drop_for_window_locked(w);
		/* A room we left already: no PART for the server to
		 * refuse. */
		if (r.nlines > 0 && net_connected() && !w->left)
			queue_all_locked(ob, &r);
		windows_close(&sess.wins, sess.wins.cur);
		break;
	case CMD_CLEAR:
		scroll_clear(&w->sb);
		break;
	case CMD_SET:
		set_locked(r.msg);
		break;
	case CMD_QUIT:
		/* At once, past the queue: what still waits is not sent. */
		abandon_locked(&ob->log);
		if (net_connected())
			for (i = 0; i < r.nlines; i++)
				outbox_add(ob, r.lines[i]);
		ob->quit = 1;
		break;
	case CMD_RECONNECT:
		/* Never blocks: safe under ui_lock. */
		if (net_reconnect() == -1)
			say_locked(&sess, sess.wins.cur, LINE_ERROR,
			    "Not started yet: nothing to reconnect");
		break;
	}
}

/* --- pastes --- */

/* Inserts UTF-8 text at the cursor (a tab as a space). */
static void
edit_insert_utf8_locked(const char *s)
{
	mbstate_t ps;
	wchar_t wc;
	size_t n;

	memset(&ps, 0, sizeof(ps));
	while (*s != '\0') {
		n = mbrtowc(&wc, s, strlen(s), &ps);
		if (n == (size_t)-1 || n == (size_t)-2) {
			memset(&ps, 0, sizeof(ps));
			s++;
			continue;
		}
		if (n == 0)
			break;
		edit_insert(&edit, wc == L'\t' ? L' ' : wc);
		s += n;
	}
}

/* One multiline batch of a paste (sendq_batch_cb). */
static int
paste_batch_locked(const char *buf, int nwire, int ntext, const char *shown,
    int cost, void *arg)
{
	struct sendq_item *it;
	const char *target = arg;

	if ((it = sendq_push(&sess.sendq, buf, nwire, ntext, cost)) == NULL)
		return -1;
	it->msg = 1;
	snprintf(it->target, sizeof(it->target), "%s", target);
	it->id = pending_locked(target, LINE_MSG, shown);
	return 0;
}

/* Sends n pasted lines (text, '\n' between) to target as text, never
 * as commands: in draft/multiline batches when the server takes them,
 * else as paced lines. */
static void
paste_send_locked(struct outbox *ob, const char *text, int n,
    const char *target)
{
	static struct cmd_result r;
	char input[UI_LINE_MAX + 2];
	const char *p, *end;
	size_t len;

	/* All of it or none: a paste is not cut at the bound. */
	if (!sendq_fits(&sess.sendq, n, strlen(text) +
	    (size_t)n * (strlen(target) + 64))) {
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "Paste of %d "
		    "lines not sent: the send queue is full (%d lines "
		    "waiting)", n, sess.sendq.nlines);
		return;
	}
	/* A server whose max-bytes is under one piece (TEXT_CHUNK and its
	 * line break) would refuse every batch: paced lines then. */
	if ((sess.caps & CAP_MULTILINE) &&
	    sess.multiline_bytes > TEXT_CHUNK) {
		if (sendq_batches(&sess.sendq, "PRIVMSG", target, text,
		    sess.multiline_bytes, sess.multiline_lines,
		    paste_batch_locked, (void *)target) == -1)
			say_locked(&sess, sess.wins.cur, LINE_ERROR, "Send "
			    "queue full: the rest of the paste not sent");
		return;
	}
	for (p = text; p != NULL; p = end != NULL ? end + 1 : NULL) {
		end = strchr(p, '\n');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			continue;
		/* "//text" sends "/text": a pasted line is text. */
		snprintf(input, sizeof(input), "%s%.*s", p[0] == '/' ? "/" :
		    "", (int)len, p);
		cmd_parse(input, target, &r);
		if (r.action != CMD_SEND) {
			say_locked(&sess, sess.wins.cur, LINE_ERROR, "%s",
			    r.msg);
			continue;
		}
		if (queue_all_locked(ob, &r) == -1)
			return;
	}
}

static void
paste_forget_locked(void)
{
	free(sess.paste);
	sess.paste = NULL;
	sess.paste_n = 0;
	sess.paste_ask = 0;
	sess.dirty = 1;
}

/* A bracketed paste, or the answer to its question (ui_paste_cb). */
/* A pasted line that starts with '/', entered as text ("//..."). */
static void
paste_text_locked(const char *p, struct outbox *ob)
{
	char *line;

	if (asprintf(&line, "/%s", p) == -1) {
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "Out of memory: "
		    "a pasted line not sent");
		return;
	}
	input_line_locked(line, ob);
	free(line);
}

static void
paste_locked(enum ui_paste ev, const char *text, size_t len, void *arg)
{
	struct outbox *ob = arg;
	struct window *w = sess.wins.v[sess.wins.cur];
	char *lines, *p, *end;
	int n;

	switch (ev) {
	case UI_PASTE_TOO_BIG:
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "Paste not "
		    "sent: more than %d KiB", PASTE_BYTES_MAX / 1024);
		return;
	case UI_PASTE_YES:
		if (sess.paste != NULL)
			paste_send_locked(ob, sess.paste, sess.paste_n,
			    sess.paste_target);
		paste_forget_locked();
		return;
	case UI_PASTE_NO:
		say_locked(&sess, sess.wins.cur, LINE_INFO, "Paste of %d "
		    "lines not sent", sess.paste_n);
		paste_forget_locked();
		return;
	case UI_PASTE_TEXT:
		break;
	}
	if ((n = paste_lines(text, len, &lines)) <= 0) {
		free(lines);
		return;
	}
	if (n == 1) {
		/* As if typed. */
		edit_insert_utf8_locked(lines);
		free(lines);
		return;
	}
	if (n > PASTE_LINES_MAX)
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "Paste of %d "
		    "lines not sent: at most %d at once", n, PASTE_LINES_MAX);
	else if (edit.secret || net_asking_locked())
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "Paste of %d "
		    "lines not sent: answer the question first", n);
	else if (n <= PASTE_ASK_LINES && w->kind != WIN_STATUS &&
	    w->kind != WIN_LIST && (sess.caps & CAP_MULTILINE))
		paste_send_locked(ob, lines, n, w->name);
	else if (n <= PASTE_ASK_LINES) {
		/* A few lines: each as if typed and entered, but as text:
		 * a pasted "/quit" is a line about /quit, as it is in a
		 * longer paste ("//" sends a line starting with '/'). */
		for (p = lines; p != NULL; p = end) {
			if ((end = strchr(p, '\n')) != NULL)
				*end++ = '\0';
			if (*p == '/')
				paste_text_locked(p, ob);
			else if (*p != '\0')
				input_line_locked(p, ob);
		}
	} else if (w->kind == WIN_STATUS || w->kind == WIN_LIST)
		/* The LIST window is named "(list)": no one to send to. */
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "Paste of %d "
		    "lines not sent: the %s window sends to no one", n,
		    w->kind == WIN_STATUS ? "status" : "list");
	else if (sess.paste_ask)
		say_locked(&sess, sess.wins.cur, LINE_ERROR, "Paste of %d "
		    "lines not sent: answer y or n to the last one first", n);
	else {
		sess.paste = lines;
		sess.paste_n = n;
		snprintf(sess.paste_target, sizeof(sess.paste_target), "%s",
		    w->name);
		sess.paste_ask = 1;
		say_locked(&sess, sess.wins.cur, LINE_INFO, "Send %d lines to "
		    "%s? (y/n)", n, w->name);
		return;
	}
	free(lines);
}

/* --- the outbox: QUIT, past the queue --- */

static void
outbox_add(struct outbox *ob, const char *line)
{
	void *v;
	int cap;

	if (ob->n == ob->cap) {
		cap = ob->cap ? ob->cap * 2 : 16;
		if ((v = reallocarray(ob->lines, cap, sizeof(*ob->lines))) ==
		    NULL)
			return;
		ob->lines = v;
		ob->cap = cap;
	}
	snprintf(ob->lines[ob->n++], sizeof(ob->lines[0]), "%s", line);
}

static void
outbox_send(struct outbox *ob)
{
	int i;

	for (i = 0; i < ob->n; i++) {
		if (strncmp(ob->lines[i], "QUIT", 4) == 0)
			atomic_store(&quit_sent, 1);
		(void)net_send(ob->lines[i]);
	}
	ob->n = 0;
	chatlog_flush(&ob->log);
}

static void *
input_main(void *arg)
{
	struct outbox ob;
	struct pollfd pfd;
	int rc, wait, pasting;

	(void)arg;
	memset(&ob, 0, sizeof(ob));
	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	ui_set_paste_cb(paste_locked);
	for (;;) {
		/* The queue's next token (see "Sending" above), or the
		 * end of a paste that lost its end. */
		wait = sendq_pump(&ob);
		ui_lock();
		pasting = ui_pasting_locked();
		ui_unlock();
		if (pasting && (wait < 0 || wait > PASTE_IDLE_MS))
			wait = PASTE_IDLE_MS;
		if ((rc = poll(&pfd, 1, wait)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (rc == 0 && pasting) {
			ui_lock();
			ui_paste_timeout_locked(&ob);
			ui_draw_locked(&sess, &edit);
			ui_unlock();
			outbox_send(&ob);
			continue;
		}
		if (rc == 0)
			continue;
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
		ui_lock();
		ui_keys_locked(&sess, &edit, &comp, input_line_locked, &ob);
		if (net_connected())
			markread_locked(&ob);
		ui_unlock();
		outbox_send(&ob);
		if (ob.start_net) {
			ob.start_net = 0;
			if (net_start() == -1) {
				ui_lock();
				say_locked(&sess, 0, LINE_ERROR, "Cannot start "
				    "the message thread");
				ui_draw_locked(&sess, &edit);
				ui_unlock();
			}
		}
		if (ob.quit) {
			kill(getpid(), SIGUSR1);
			break;
		}
	}
	if (!ob.quit)			/* the terminal went away */
		kill(getpid(), SIGHUP);
	free(ob.lines);
	return NULL;
}

/* --- signals and exit --- */

static void
on_crash(int sig)
{
	ui_fini();
	raise(sig);
}

static void
crash_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Leaves: QUIT (unless sent), close the connection, restore the
 * terminal.  sig 0: exit 0; else die of sig. */
static _Noreturn void
leave(int sig)
{
	struct chatlog *log = NULL;
	sigset_t set;

	if (!atomic_exchange(&quit_sent, 1))
		net_send("QUIT :Leaving");
	net_stop();
	/* Held to the end: the input thread never takes a queued item
	 * back (it may be sending one right now). */
	ui_lock();
	abandon_locked(&log);
	ui_fini();
	chatlog_flush(&log);
	if (sig == 0)
		exit(0);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

/* --- flags --- */

/* "7" -> "#7", "lobby" -> "#lobby"; NULL if not a valid room. */
static char *
room_arg(const char *s)
{
	char buf[ROOM_NAME_MAX + 2];

	if (s[0] == '#' || s[0] == '&')
		snprintf(buf, sizeof(buf), "%s", s);
	else if (snprintf(buf, sizeof(buf), "#%s", s) >= (int)sizeof(buf))
		return NULL;
	if (!casemap_valid_room(buf, ROOM_NAME_MAX))
		return NULL;
	return strdup(buf);
}

static int
add_rooms(const char *list)
{
	char *copy, *p, *word, *room;
	void *v;

	if ((copy = strdup(list)) == NULL)
		return -1;
	p = copy;
	while ((word = strsep(&p, ",")) != NULL) {
		if (word[0] == '\0')
			continue;
		if ((room = room_arg(word)) == NULL) {
			fprintf(stderr, "natter: %s: not a valid room\n",
			    word);
			free(copy);
			return -1;
		}
		v = reallocarray(sess.rooms, sess.nrooms + 1,
		    sizeof(*sess.rooms));
		if (v == NULL) {
			free(room);
			free(copy);
			return -1;
		}
		sess.rooms = v;
		sess.rooms[sess.nrooms++] = room;
	}
	free(copy);
	return 0;
}

static int
valid_port(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	return s[0] != '\0' && *end == '\0' && errno == 0 && n >= 1 &&
	    n <= 65535;
}

/* Exits 1 unless path can be read (OpenSSL would only say "system
 * lib"). */
static void
readable(const char *flag, const char *path)
{
	FILE *f;

	if (path == NULL)
		return;
	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "natter: %s %s: %s\n", flag, path,
		    strerror(errno));
		exit(1);
	}
	fclose(f);
}

/* Long-only TLS flags. */
enum {
	OPT_TLS = 256,
	OPT_NO_TLS,
	OPT_TLS_CA,
	OPT_TLS_FINGERPRINT,
	OPT_TLS_INSECURE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_SOCKET,
	OPT_SASL_USER,
	OPT_SASL_PASSWORD_FILE,
	OPT_NOTIFY,
	OPT_PING_TIMEOUT
};

/* The first line of path (the SASL password), or exits 1 saying why. */
static char *
password_file(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "natter: --sasl-password-file %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0) {
		fprintf(stderr, "natter: --sasl-password-file %s: no password "
		    "on its first line\n", path);
		exit(1);
	}
	return line;
}

/* A full-screen client on a pipe would only write escape codes into
 * it and wait for keys that never come.  After the flags and the files
 * they name, so --help, --version and every error about them still
 * work in a pipe. */
static void
need_tty(void)
{
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "natter: standard input is not a terminal\n");
		exit(1);
	}
	if (!isatty(STDOUT_FILENO)) {
		fprintf(stderr, "natter: standard output is not a "
		    "terminal\n");
		exit(1);
	}
}

/* One clear line, then the usage. */
static _Noreturn void
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "natter: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage();
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "nick", required_argument, NULL, 'n' },
		{ "join", required_argument, NULL, 'j' },
		{ "port", required_argument, NULL, 'p' },
		{ "password", required_argument, NULL, 'P' },
		{ "realname", required_argument, NULL, 'R' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "no-colour", no_argument, NULL, 'C' },
		{ "log-dir", required_argument, NULL, 'L' },
		{ "tls", no_argument, NULL, OPT_TLS },
		{ "no-tls", no_argument, NULL, OPT_NO_TLS },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "tls-fingerprint", required_argument, NULL,
		    OPT_TLS_FINGERPRINT },
		{ "tls-insecure", no_argument, NULL, OPT_TLS_INSECURE },
		{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "sasl-user", required_argument, NULL, OPT_SASL_USER },
		{ "sasl-password-file", required_argument, NULL,
		    OPT_SASL_PASSWORD_FILE },
		{ "notify", required_argument, NULL, OPT_NOTIFY },
		{ "ping-timeout", required_argument, NULL, OPT_PING_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static char fingerprint[TLS_FP_LEN + 1], pinfile[PATH_MAX];
	static char stsfile[PATH_MAX];
	char hostbuf[256], label[320], why[PATH_MAX + 256], *p;
	const char *nick = NULL, *realname = NULL, *password = NULL;
	const char *host = "127.0.0.1", *port = NULL, *hostport = "6667";
	const char *user, *tls_flag = NULL, *socket_flag = NULL;
	const char *sasl_user = NULL, *sasl_file = NULL, *env;
	char paths[SOCKPATH_CANDIDATES][SOCKPATH_MAX];
	int npaths = 0, prompt = 0;
	struct net_tls tls;
	sigset_t set;
	pthread_t input;
	int ch, colour = 1, sig, rc, want_tls = 0, no_tls = 0;
	int ping_timeout = PING_TIMEOUT_DEFAULT;
	char *end;
	long n;

	/* No OpenSSL clean-up at exit: exit() runs while the input
	 * thread may still be about, and there is nothing to flush. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	setlocale(LC_ALL, "");
	session_init(&sess);
	memset(&tls, 0, sizeof(tls));
	while ((ch = getopt_long(argc, argv, "hVn:j:p:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'n':
			if (!casemap_valid_nick(optarg, NICK_MAX)) {
				fprintf(stderr, "natter: %s: not a valid "
				    "nick\n", optarg);
				usage();
			}
			nick = optarg;
			break;
		case 'j':
			if (add_rooms(optarg) == -1)
				usage();
			break;
		case 'p':
			if (!valid_port(optarg)) {
				fprintf(stderr, "natter: %s: not a valid "
				    "port\n", optarg);
				usage();
			}
			port = optarg;
			break;
		case 'P':
			password = optarg;
			break;
		case 'R':
			realname = optarg;
			break;
		case 'C':
			colour = 0;
			break;
		case 'L':
			log_dir = optarg;
			break;
		case OPT_TLS:
			want_tls = 1;
			break;
		case OPT_NO_TLS:
			no_tls = 1;
			break;
		case OPT_TLS_CA:
			tls.cafile = optarg;
			tls_flag = "--tls-ca";
			break;
		case OPT_TLS_FINGERPRINT:
			if (tls_fingerprint_parse(optarg, fingerprint,
			    sizeof(fingerprint)) == -1)
				usage_error("%s: not a SHA-256 fingerprint "
				    "(64 hex digits, colons optional)",
				    optarg);
			tls.fingerprint = fingerprint;
			tls_flag = "--tls-fingerprint";
			break;
		case OPT_TLS_INSECURE:
			tls.insecure = 1;
			tls_flag = "--tls-insecure";
			break;
		case OPT_TLS_CERT:
			tls.cert = optarg;
			tls_flag = "--tls-cert";
			break;
		case OPT_TLS_KEY:
			tls.key = optarg;
			tls_flag = "--tls-key";
			break;
		case OPT_SOCKET:
			if (optarg[0] != '/' || strlen(optarg) >= SOCKPATH_MAX)
				usage_error("--socket %s: not an absolute path "
				    "of at most %d bytes", optarg,
				    SOCKPATH_MAX - 1);
			socket_flag = optarg;
			break;
		case OPT_SASL_USER:
			if (optarg[0] == '\0' || strlen(optarg) >=
			    sizeof(sess.sasl_user) ||
			    strpbrk(optarg, " \r\n") != NULL)
				usage_error("--sasl-user %s: not an account "
				    "name", optarg);
			sasl_user = optarg;
			break;
		case OPT_SASL_PASSWORD_FILE:
			sasl_file = optarg;
			break;
		case OPT_NOTIFY:
			if (notify_parse(optarg, &sess.notify) == -1)
				usage_error("--notify %s: not a comma list of "
				    "bell, osc777, osc9, title, or none",
				    optarg);
			break;
		case OPT_PING_TIMEOUT:
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (optarg[0] == '\0' || *end != '\0' || errno != 0 ||
			    n < 1 || n > PING_TIMEOUT_MAX)
				usage_error("--ping-timeout %s: not a number of "
				    "seconds from 1 to %d", optarg,
				    PING_TIMEOUT_MAX);
			ping_timeout = (int)n;
			break;
		case 'h':
			help();
			exit(0);
		case 'V':
			puts(NATTER_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	if (argc == 1) {
		snprintf(hostbuf, sizeof(hostbuf), "%s", argv[0]);
		host = hostbuf;
		if (hostbuf[0] == '[' && (p = strchr(hostbuf, ']')) != NULL) {
			*p++ = '\0';
			host = hostbuf + 1;
			if (*p == ':')
				hostport = p + 1;
			else if (*p != '\0')
				usage();
		} else if ((p = strchr(hostbuf, ':')) != NULL &&
		    strchr(p + 1, ':') == NULL) {
			*p = '\0';
			hostport = p + 1;
		}
		if (host[0] == '\0' || !valid_port(hostport)) {
			fprintf(stderr, "natter: %s: not host[:port]\n",
			    argv[0]);
			usage();
		}
	}
	if (socket_flag != NULL && (argc == 1 || port != NULL))
		usage_error("--socket and a host or port cannot be used "
		    "together");
	if (socket_flag != NULL && (want_tls || tls_flag != NULL))
		usage_error("--socket and TLS cannot be used together");
	if (sasl_file != NULL && sasl_user == NULL)
		usage_error("--sasl-password-file needs --sasl-user");
	/* No host, port or TLS: natterd's Unix socket first. */
	if (socket_flag != NULL || (argc == 0 && port == NULL && !want_tls &&
	    tls_flag == NULL)) {
		env = getenv("NATTER_SOCKET");
		npaths = sockpath_candidates(geteuid(),
		    getenv("XDG_RUNTIME_DIR"), socket_flag, env, paths,
		    SOCKPATH_CANDIDATES);
		if (npaths == 0 && env != NULL && env[0] != '\0' &&
		    socket_flag == NULL) {
			fprintf(stderr, "natter: $NATTER_SOCKET %s: not an "
			    "absolute path of at most %d bytes\n", env,
			    SOCKPATH_MAX - 1);
			exit(1);
		}
	}
	if (port == NULL)
		port = hostport;
	if (no_tls && want_tls)
		usage_error("--tls and --no-tls cannot be used together");
	if (no_tls && tls_flag != NULL)
		usage_error("--no-tls and %s cannot be used together",
		    tls_flag);
	if (tls.insecure && tls.fingerprint != NULL)
		usage_error("--tls-insecure and --tls-fingerprint cannot be "
		    "used together");
	if (tls.insecure && tls.cafile != NULL)
		usage_error("--tls-insecure and --tls-ca cannot be used "
		    "together");
	if (tls.cert != NULL && tls.key == NULL)
		usage_error("--tls-cert needs --tls-key");
	if (tls.key != NULL && tls.cert == NULL)
		usage_error("--tls-key needs --tls-cert");
	tls.on = !no_tls && (want_tls || tls_flag != NULL ||
	    strtol(port, NULL, 10) == TLS_PORT);
	tls.no_tls = no_tls;
	/* Without --no-tls, TLS may come later (IRCv3 sts). */
	if (!no_tls && pin_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"),
	    pinfile, sizeof(pinfile)) == 0)
		tls.pinfile = pinfile;
	if (sts_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"), stsfile,
	    sizeof(stsfile)) == 0)
		tls.stsfile = stsfile;
	/* A CA file or key that cannot be read stops us here, before
	 * the screen is taken. */
	readable("--tls-ca", tls.cafile);
	readable("--tls-cert", tls.cert);
	readable("--tls-key", tls.key);
	if (net_tls_init(&tls, why, sizeof(why)) == -1) {
		fprintf(stderr, "natter: %s\n", why);
		exit(1);
	}
	if (nick == NULL) {
		user = getenv("USER");
		nick = user != NULL && casemap_valid_nick(user, NICK_MAX) ?
		    user : "natter";
	}
	if (log_dir != NULL && mkdir(log_dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "natter: %s: %s\n", log_dir, strerror(errno));
		exit(1);
	}
	snprintf(sess.nick, sizeof(sess.nick), "%s", nick);
	snprintf(sess.want_nick, sizeof(sess.want_nick), "%s", nick);
	snprintf(sess.user, sizeof(sess.user), "%s", nick);
	snprintf(sess.realname, sizeof(sess.realname), "%s",
	    realname != NULL ? realname : nick);
	if (password != NULL && (sess.password = strdup(password)) == NULL) {
		fprintf(stderr, "natter: out of memory\n");
		exit(1);
	}
	if (log_dir != NULL && (sess.log_dir = strdup(log_dir)) == NULL) {
		fprintf(stderr, "natter: out of memory\n");
		exit(1);
	}
	/* The login: PLAIN with --sasl-user, else EXTERNAL with a client
	 * certificate.  The password: the file, the environment, else a
	 * prompt once the screen is up. */
	if (sasl_user != NULL) {
		sess.sasl_mech = SASL_PLAIN;
		snprintf(sess.sasl_user, sizeof(sess.sasl_user), "%s",
		    sasl_user);
		if (sasl_file != NULL)
			sess.sasl_pass = password_file(sasl_file);
		else if ((env = getenv("NATTER_PASSWORD")) != NULL &&
		    env[0] != '\0') {
			if ((sess.sasl_pass = strdup(env)) == NULL) {
				fprintf(stderr, "natter: out of memory\n");
				exit(1);
			}
		} else
			prompt = 1;
	} else if (tls.cert != NULL)
		sess.sasl_mech = SASL_EXTERNAL;
	need_tty();
	edit_init(&edit);
	memset(&comp, 0, sizeof(comp));
	complete_reset(&comp);

	/* Every asynchronous signal is taken here with sigwait; threads
	 * inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGUSR1);
	if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0) {
		fprintf(stderr, "natter: pthread_sigmask: %s\n", strerror(rc));
		exit(1);
	}
	signal(SIGPIPE, SIG_IGN);
	crash_handlers();
	atexit(ui_fini);
	ui_init(colour);

	if (strchr(host, ':') != NULL)
		snprintf(label, sizeof(label), "[%s]:%s", host, port);
	else
		snprintf(label, sizeof(label), "%s:%s", host, port);
	ui_lock();
	ui_set_server_locked(label);
	if (npaths > 0)
		say_locked(&sess, 0, LINE_INFO, "%s: connecting to %s%s%s, "
		    "else %s, as %s", NATTER_VERSION, paths[0],
		    npaths > 1 ? " or " : "", npaths > 1 ? paths[1] : "",
		    label, sess.nick);
	else
		say_locked(&sess, 0, LINE_INFO, "%s: connecting to %s%s as %s",
		    NATTER_VERSION, label, tls.on ? " with TLS" : "",
		    sess.nick);
	if (prompt) {
		/* The input line takes it, shown as stars, kept nowhere. */
		edit.secret = 1;
		say_locked(&sess, 0, LINE_INFO, "Password for account %s "
		    "(typing is hidden):", sess.sasl_user);
	}
	ui_draw_locked(&sess, &edit);
	ui_unlock();

	net_init(&sess, &edit, host, port);
	net_local(paths, npaths);
	net_ping_timeout(ping_timeout);
	if (!prompt && net_start() == -1) {
		ui_fini();
		fprintf(stderr, "natter: cannot start the message thread\n");
		exit(1);
	}
	if ((rc = pthread_create(&input, NULL, input_main, NULL)) != 0) {
		ui_fini();
		fprintf(stderr, "natter: pthread_create: %s\n", strerror(rc));
		exit(1);
	}
	pthread_setname_np(input, "input");
	/* Never joined: it may sit in poll() when we leave. */
	pthread_detach(input);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		switch (sig) {
		case SIGWINCH:
			ui_lock();
			ui_resize_locked();
			ui_draw_locked(&sess, &edit);
			ui_unlock();
			break;
		case SIGINT:
		case SIGUSR1:
			leave(0);
		default:
			leave(sig);
		}
	}
}
