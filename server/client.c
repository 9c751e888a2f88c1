/*
 * client.c: one thread per connection.  The thread owns its socket: it
 * reads, splits lines, dispatches commands, flushes its output queue
 * when others have queued more than the socket took at once, runs the
 * registration and ping timers, and tears the client down.
 *
 * Other threads reach a client only through server.lock (nick table,
 * rooms, the client list) and its out_lock (client_send, client_kill),
 * and wake it with SIGUSR1, which stays blocked except inside ppoll(),
 * so a wake-up can never be lost between checking the queue and
 * sleeping.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "natterd.h"
#include "tls.h"
#include "utf8.h"

#define READ_CHUNK	8192
#define OUT_GATHER	8192	/* replies gathered per read */
#define PAGE_TRIM	4096
#define CLIENT_EOF	(-2)	/* client_recv: the peer closed */

#define CLIENT_TAGS_MAX	4094	/* tag data a client may send (between
				   the '@' and the space) */

static long long
ts_ms(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

struct client *
client_new(int fd, const char *ip, int tls)
{
	struct client *c;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((rc = pthread_mutex_init(&c->out_lock, NULL)) != 0) {
		log_warnx("client_new: pthread_mutex_init: %s", strerror(rc));
		free(c);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	c->id = ++server.next_id;	/* called under server.lock */
	c->fd = fd;
	c->tls = tls;
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	snprintf(c->host, sizeof(c->host), "%s", ip);
	snprintf(c->nick, sizeof(c->nick), "*");
	c->signon = time(NULL);
	c->last_spoke = c->signon;
	frame_init(&c->frame);
	clock_gettime(CLOCK_MONOTONIC, &c->connected);
	c->last_read = c->connected;
	c->tokens = config.flood_burst;
	c->tokens_ms = ts_ms(&c->connected);
	c->drained_ms = ts_ms(&c->connected);
	if (config.password == NULL)
		c->reg |= REG_PASS;
	return c;
}

void
client_free(struct client *c)
{
	SSL_free(c->ssl);
	close(c->fd);
	outq_clear(&c->q);
	frame_free(&c->frame);
	free(c->rq);
	pthread_mutex_destroy(&c->out_lock);
	free(c->close_reason);
	free(c->away);
	free(c->rooms);
	free(c);
}

void
client_wake_locked(struct client *c)
{
	int rc;

	/* A thread never signals itself. */
	if (pthread_equal(c->thread, pthread_self()))
		return;
	if ((rc = pthread_kill(c->thread, SIGUSR1)) != 0)
		log_warnx("pthread_kill: %s", strerror(rc));
}

void
client_kill_locked(struct client *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->close_reason = strdup(reason);
	client_wake_locked(c);
}

void
client_kill(struct client *c, const char *reason)
{
	pthread_mutex_lock(&c->out_lock);
	client_kill_locked(c, reason);
	pthread_mutex_unlock(&c->out_lock);
}

static int
client_closing(struct client *c)
{
	int closing;

	pthread_mutex_lock(&c->out_lock);
	closing = c->closing;
	pthread_mutex_unlock(&c->out_lock);
	return closing;
}

struct client *
client_find_locked(const char *nick)
{
	char key[NICK_MAX + 1];

	if (casemap_fold(key, nick, sizeof(key)) >= sizeof(key))
		return NULL;
	return map_get(server.nicks, key);
}

void
client_mask(struct client *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s!%s@%s", c->nick, c->user, c->host);
}

void
whowas_add_locked(struct client *c)
{
	struct whowas *w = &server.whowas[server.whowas_next];

	snprintf(w->nick, sizeof(w->nick), "%s", c->nick);
	snprintf(w->user, sizeof(w->user), "%s", c->user);
	snprintf(w->host, sizeof(w->host), "%s", c->host);
	snprintf(w->realname, sizeof(w->realname), "%s", c->realname);
	w->when = time(NULL);
	server.whowas_next = (server.whowas_next + 1) % WHOWAS_MAX;
}

void
client_try_register(struct turn *t)
{
	struct client *c = t->c;

	if ((c->reg & (REG_NICK | REG_USER)) != (REG_NICK | REG_USER) ||
	    (c->reg & REG_CAP) || (c->flags & CLIENT_REGISTERED))
		return;
	if (!(c->reg & REG_PASS)) {
		reply(t, ERR_PASSWDMISMATCH);
		client_kill(c, "Bad password");
		return;
	}
	pthread_mutex_lock(&server.lock);
	c->flags |= CLIENT_REGISTERED;
	c->signon = time(NULL);
	c->last_spoke = c->signon;
	server.nusers++;
	if (server.nusers > server.max_users)
		server.max_users = server.nusers;
	pthread_mutex_unlock(&server.lock);
	log_info("%s registered as %s!%s", c->ip, c->nick, c->user);
	send_welcome(t);
}

/*
 * A connection on the Unix socket: who its peer's uid is.  Runs on the
 * client's own thread before its first read, with no lock held, since
 * the lookup may ask a directory service (NSS) and take its time; the
 * accept loop never waits for it.
 */
static void
unix_login(struct client *c)
{
	struct passwd pw, *res = NULL;
	long max;
	size_t len;
	char *buf;
	int rc;

	max = sysconf(_SC_GETPW_R_SIZE_MAX);
	len = max > 0 && max < 65536 ? (size_t)max : 16384;
	/* Not on the client's small stack. */
	if ((buf = malloc(len)) == NULL) {
		log_warnx("uid %lu: out of memory for its user name",
		    (unsigned long)c->peer_uid);
		return;
	}
	rc = getpwuid_r(c->peer_uid, &pw, buf, len, &res);
	if (rc == 0 && res != NULL && strlen(pw.pw_name) < sizeof(c->peer_name))
		snprintf(c->peer_name, sizeof(c->peer_name), "%s", pw.pw_name);
	else if (rc != 0)
		log_warnx("uid %lu: getpwuid_r: %s", (unsigned long)c->peer_uid,
		    strerror(rc));
	free(buf);
	log_info("local connection from uid %lu (%s), pid %ld",
	    (unsigned long)c->peer_uid, c->peer_name[0] != '\0' ?
	    c->peer_name : "no user name", (long)c->peer_pid);
	/* account_local() goes here once accounts land: the uid's user
	 * logs in to the local account c->peer_name, made on first use. */
}

void
client_local_user(const struct client *c, char *out, size_t len)
{
	const char *s;
	int ok = c->peer_name[0] != '\0' &&
	    strlen(c->peer_name) <= USER_MAX;

	for (s = c->peer_name; ok && *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-_.", *s) != NULL))
			ok = 0;
	if (ok)
		snprintf(out, len, "%s", c->peer_name);
	else
		snprintf(out, len, "uid%lu", (unsigned long)c->peer_uid);
}

/* 1 if s looks like a command name (letters and digits only). */
static int
command_is_word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

/* 1 if the token bucket applies to c (operators are exempt). */
static int
flood_limited(struct client *c)
{
	return config.flood_burst > 0 && config.flood_rate > 0 &&
	    !(c->flags & CLIENT_OPER);
}

/* 1 if c may have one more line now. */
static int
flood_ok(struct client *c, long long now)
{
	if (!flood_limited(c))
		return 1;
	if (now > c->tokens_ms) {
		c->tokens += (double)(now - c->tokens_ms) *
		    config.flood_rate / 1000.0;
		if (c->tokens > config.flood_burst)
			c->tokens = config.flood_burst;
		c->tokens_ms = now;
	}
	return c->tokens >= 1.0;
}

/* Milliseconds until c has a token again. */
static long long
flood_wait(struct client *c)
{
	double need = 1.0 - c->tokens;

	if (need <= 0 || !flood_limited(c))
		return 0;
	return (long long)(need * 1000.0 / config.flood_rate) + 1;
}

/* frame_cb: one complete line, or notice of an overlong one. */
static int
client_line(void *arg, enum frame_event ev, char *line, size_t len)
{
	struct turn *t = arg;
	struct client *c = t->c;
	struct irc_msg m;
	char *p, label[LABEL_MAX + 1];
	int valid, labeled;

	if (flood_limited(c))
		c->tokens -= 1;
	if (ev == FRAME_TOOLONG) {
		reply(t, ERR_INPUTTOOLONG);
		return client_closing(c);
	}
	if (log_enabled(LOG_LVL_TRACE))
		log_trace("%s <- %.*s", c->nick, (int)len, line);
	if (memchr(line, '\0', len) != NULL) {
		reply(t, ERR_UNKNOWNERROR, "*", "Line contains a NUL byte");
		return client_closing(c);
	}
	valid = utf8_valid(line, len);
	if (irc_parse(line, &m) == -1)
		return 0;
	for (p = m.command; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	/* message-tags: a client's tag data is at most 4094 bytes, so
	 * nothing stored or relayed carries more. */
	if (m.tags != NULL && strlen(m.tags) > CLIENT_TAGS_MAX) {
		reply(t, ERR_INPUTTOOLONG);
		return client_closing(c);
	}
	/* A QUIT always quits; a reason that is not UTF-8 is not relayed. */
	if (!valid && strcmp(m.command, "QUIT") == 0) {
		client_kill(c, "Quit");
		return 1;
	}
	labeled = (c->caps & CAP(CAP_LABELED_RESPONSE)) && m.tags != NULL &&
	    irc_tag_get(m.tags, "label", label, sizeof(label)) == 1 &&
	    label[0] != '\0';
	turn_command_begin(t, labeled ? label : NULL);
	/* NICK answers bad bytes with 432 itself. */
	if (!valid && strcmp(m.command, "NICK") != 0)
		/* Never echo the bad bytes: a garbled command shows as *. */
		turn_sendf(t, ":%s FAIL %s INVALID_UTF8 :Message rejected, "
		    "your IRC software must use UTF-8 on this network",
		    config.server_name, command_is_word(m.command) ?
		    m.command : "*");
	else
		command_dispatch(t, &m);
	turn_command_end(t);
	return client_closing(c);
}

/* Milliseconds until the next timer is due, at least 0. */
static long long
client_next_timer(struct client *c, long long now, int held)
{
	long long due, stall;

	if (c->rqlen > 0 && !held) {
		/* The held-back input is the next thing to do. */
		(void)flood_ok(c, now);
		return flood_wait(c);
	}
	if (!(c->flags & CLIENT_REGISTERED))
		due = ts_ms(&c->connected) + config.reg_timeout * 1000LL;
	else if (!c->ping_sent)
		due = ts_ms(&c->last_read) + config.ping_interval * 1000LL;
	else
		due = ts_ms(&c->last_read) +
		    (config.ping_interval + config.ping_timeout) * 1000LL;
	if ((stall = client_stall_deadline(c)) != 0 && stall < due)
		due = stall;
	return due > now ? due - now : 0;
}

static void
client_timers(struct client *c, long long now)
{
	char why[64], line[128];
	long long idle = now - ts_ms(&c->last_read), stall;
	int len;

	/* Over its SendQ and not draining: a reader that stopped. */
	if ((stall = client_stall_deadline(c)) != 0 && now >= stall) {
		client_kill(c, "SendQ exceeded");
		return;
	}
	if (!(c->flags & CLIENT_REGISTERED)) {
		if (now - ts_ms(&c->connected) >= config.reg_timeout * 1000LL)
			client_kill(c, "Registration timed out");
		return;
	}
	if (!c->ping_sent && idle >= config.ping_interval * 1000LL) {
		len = snprintf(line, sizeof(line), "PING :%s\r\n",
		    config.server_name);
		if (len > 0 && (size_t)len < sizeof(line))
			(void)client_send_direct(c, line, (size_t)len);
		c->ping_sent = 1;
	} else if (c->ping_sent && idle >=
	    (config.ping_interval + config.ping_timeout) * 1000LL) {
		snprintf(why, sizeof(why), "Ping timeout: %d seconds",
		    config.ping_timeout);
		client_kill(c, why);
	}
}

/*
 * Unlinks c from every shared structure and tells its rooms, as one
 * last turn: its QUIT post is delivered before turn_end() returns, and
 * with it every post made before c left the tables, which are all the
 * posts that can hold c.  Then it says goodbye on the socket.
 */
static void
client_teardown(struct client *c)
{
	char mask[MASK_MAX + 1], line[OUT_LINE_MAX], drain[512], chunk[512];
	const char *reason;
	struct turn t;
	struct line l;
	uintptr_t n;
	int len, queued;

	pthread_mutex_lock(&c->out_lock);
	reason = c->close_reason != NULL ? c->close_reason : "Connection closed";
	pthread_mutex_unlock(&c->out_lock);

	turn_begin(&t, c, chunk, sizeof(chunk));
	memset(&l, 0, sizeof(l));
	pthread_mutex_lock(&server.lock);
	if (c->flags & CLIENT_REGISTERED) {
		client_mask(c, mask, sizeof(mask));
		snprintf(line, sizeof(line), ":%s QUIT :%s", mask, reason);
		l.text = line;
		(void)room_fanout_locked(&t, NULL, &l, 0, 0, NULL);
		whowas_add_locked(c);
		server.nusers--;
		if (c->flags & CLIENT_INVISIBLE)
			server.ninvisible--;
		if (c->flags & CLIENT_OPER)
			server.nopers--;
	} else {
		l.text = "";	/* no recipients: only its place counts */
		(void)post_new_locked(&t, &l);
	}
	while (c->nrooms > 0)
		room_remove_locked(c->rooms[c->nrooms - 1], c);
	c->flags |= CLIENT_GONE;	/* for listings that still hold it */
	if (c->nickkey[0] != '\0' && map_get(server.nicks, c->nickkey) == c)
		map_del(server.nicks, c->nickkey);
	n = (uintptr_t)map_get(server.ips, c->ipgroup);
	if (n <= 1)
		map_del(server.ips, c->ipgroup);
	else
		map_put(server.ips, c->ipgroup, (void *)(n - 1));
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		server.clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&server.lock);
	turn_command_end(&t);
	turn_end(&t);

	log_info("%s (%s) closed: %s", c->ip, c->nick, reason);

	/* Best effort: what is queued, then the ERROR line. */
	queued = !client_flush_final(c);
	len = snprintf(line, sizeof(line), "ERROR :Closing Link: %s (%s)\r\n",
	    c->host, reason);
	if (len > 0 && (size_t)len < sizeof(line) && !queued) {
		if (c->ssl == NULL)
			(void)send(c->fd, line, (size_t)len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		else if (SSL_is_init_finished(c->ssl))
			(void)SSL_write(c->ssl, line, len);
	}
	if (c->ssl != NULL && SSL_is_init_finished(c->ssl))
		(void)SSL_shutdown(c->ssl);	/* close_notify */
	ERR_clear_error();
	shutdown(c->fd, SHUT_WR);
	/* Unread input would turn our FIN into a RST that can destroy the
	 * ERROR line before the peer reads it. */
	while (recv(c->fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		;
	/* A pushlist elsewhere may still hold c; it sees c->closing. */
	client_unref(c);

	/* Counted until now so that shutdown waits for the ERROR line. */
	pthread_mutex_lock(&server.lock);
	if (--server.nclients == 0)
		pthread_cond_broadcast(&server.drained);
	pthread_mutex_unlock(&server.lock);
}

/*
 * A plain-text line sent to the TLS port: say so in plain text, which
 * is all such a client can read.  1 if it was that.
 */
static int
client_tls_misdialed(struct client *c)
{
	char why[128];
	unsigned char first;

	if (recv(c->fd, &first, 1, MSG_PEEK | MSG_DONTWAIT) != 1 ||
	    first == 0x16)	/* a TLS handshake record */
		return 0;
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (strcmp(config.port, "0") != 0)
		snprintf(why, sizeof(why), "This port speaks TLS only; use "
		    "TLS, or the plain port %s", config.port);
	else
		snprintf(why, sizeof(why), "This port speaks TLS only");
	client_kill(c, why);
	return 1;
}

/*
 * One read: from the socket, or one TLS record.  Returns the bytes
 * read, 0 if there is nothing yet, CLIENT_EOF when the peer closed, -1
 * when the connection failed (c is killed with the reason).
 */
static ssize_t
client_recv(struct client *c, char *buf, size_t len)
{
	char why[160];
	ssize_t n;
	int e;

	if (c->ssl == NULL) {
		if ((n = read(c->fd, buf, len)) > 0)
			return n;
		if (n == 0)
			return CLIENT_EOF;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		snprintf(why, sizeof(why), "Read error: %s", strerror(errno));
		client_kill(c, why);
		return -1;
	}
	if (SSL_in_before(c->ssl) && client_tls_misdialed(c))
		return -1;
	c->tls_want_write = 0;
	ERR_clear_error();
	errno = 0;
	if ((n = SSL_read(c->ssl, buf, (int)len)) > 0)
		return n;
	switch ((e = SSL_get_error(c->ssl, (int)n))) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->tls_want_write = 1;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return CLIENT_EOF;
	case SSL_ERROR_SYSCALL:
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == 0)
			return CLIENT_EOF;
		if (errno == ECONNRESET || errno == EPIPE)
			snprintf(why, sizeof(why), "Connection closed");
		else
			snprintf(why, sizeof(why), "Read error: %s",
			    strerror(errno));
		ERR_clear_error();
		break;
	default:
		tls_error(why, sizeof(why), SSL_is_init_finished(c->ssl) ?
		    "TLS error" : "TLS handshake failed");
		break;
	}
	client_kill(c, why);
	return -1;
}

/*
 * 1 while c has more output waiting than its SendQ: it takes no more
 * input until its reader catches up, so a client that asks and never
 * reads is bounded by what it already asked for.  (What others queue
 * for c during one read counts from the next one.)
 */
static int
client_held(struct turn *t)
{
	return turn_pending(t) + t->backlog > config.sendq;
}

/*
 * Hands data to the framer a line at a time while the token bucket and
 * the SendQ let lines through.  Returns the bytes taken (the rest waits
 * in the receive queue), or -1 when out of memory.
 */
static ssize_t
client_input(struct turn *t, const char *data, size_t n)
{
	struct client *c = t->c;
	long long now = mono_ms();
	size_t i = 0, j;
	int rc;

	while (i < n) {
		for (j = i; j < n && data[j] != '\r' && data[j] != '\n'; j++)
			;
		/* A partial line, or the LF of a CRLF, costs nothing. */
		if (j < n && !(j == i && c->frame.len == 0) &&
		    (!flood_ok(c, now) || client_held(t)))
			break;
		if (j < n)
			j++;
		rc = frame_feed(&c->frame, data + i, j - i, client_line, t);
		if (rc == -1)
			return -1;
		if (rc != 0)
			return (ssize_t)n;	/* closing: the rest is moot */
		i = j;
	}
	return (ssize_t)i;
}

/* Holds data back in the receive queue; -1 when out of memory. */
static int
rq_append(struct client *c, const char *data, size_t n)
{
	char *nrq;

	if (n == 0)
		return 0;
	if ((nrq = realloc(c->rq, c->rqlen + n)) == NULL)
		return -1;
	memcpy(nrq + c->rqlen, data, n);
	c->rq = nrq;
	c->rqlen += n;
	return 0;
}

/* Lets through what the token bucket and SendQ allow of the receive
 * queue. */
static int
rq_process(struct turn *t)
{
	struct client *c = t->c;
	ssize_t took;

	if ((took = client_input(t, c->rq, c->rqlen)) == -1)
		return -1;
	c->rqlen -= (size_t)took;
	if (c->rqlen == 0) {
		free(c->rq);
		c->rq = NULL;
	} else if (took > 0)
		memmove(c->rq, c->rq + took, c->rqlen);
	return 0;
}

/* The receive queue's turn, when a token is back or the queue drained. */
static __attribute__((noinline)) void
client_backlog_turn(struct client *c)
{
	char out[OUT_GATHER];
	struct turn t;
	int rc;

	turn_begin(&t, c, out, sizeof(out));
	rc = rq_process(&t);
	turn_end(&t);
	if (rc == -1)
		client_kill(c, "Out of memory");
	else if (c->eof && c->rqlen == 0)
		client_kill(c, "Connection closed");
}

/*
 * Reads once and handles every complete line the token bucket and the
 * SendQ let through, as one turn; the rest waits in the receive queue,
 * and a queue past --recvq is an Excess Flood.  Its own frame holds the
 * read buffer, so the loop's frame stays small and an idle thread can
 * give these pages back (stack_trim).  On TLS it goes on while OpenSSL
 * holds decrypted bytes, which poll() cannot see.  Returns -1 when the
 * connection is done.
 */
static __attribute__((noinline)) int
client_read(struct client *c)
{
	char buf[READ_CHUNK], out[OUT_GATHER];
	struct turn t;
	ssize_t n, took;
	int rc;

	do {
		n = client_recv(c, buf, sizeof(buf));
		if (n == CLIENT_EOF) {
			/* What was said before the close still counts. */
			if (c->rqlen > 0) {
				c->eof = 1;
				return 0;
			}
			client_kill(c, "Connection closed");
			return -1;
		}
		if (n <= 0)
			return (int)n;
		clock_gettime(CLOCK_MONOTONIC, &c->last_read);
		c->ping_sent = 0;
		turn_begin(&t, c, out, sizeof(out));
		if (c->rqlen > 0) {
			if ((rc = rq_append(c, buf, (size_t)n)) == 0)
				rc = rq_process(&t);
		} else if ((took = client_input(&t, buf, (size_t)n)) == -1)
			rc = -1;
		else
			rc = rq_append(c, buf + took, (size_t)(n - took));
		turn_end(&t);
		if (rc == -1) {
			client_kill(c, "Out of memory");
			return -1;
		}
		/* Input held back for flood control, not for output the
		 * client has yet to read (then it stops being read). */
		if (c->rqlen > config.recvq &&
		    client_backlog(c) <= config.sendq) {
			client_kill(c, "Excess Flood");
			return -1;
		}
	} while (c->ssl != NULL && SSL_pending(c->ssl) > 0 &&
	    !client_closing(c) && client_backlog(c) <= config.sendq);
	return 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STACK_TRIM	0	/* the sanitizers keep their own stack state */
#else
#define STACK_TRIM	1
#endif

/*
 * Gives back the stack pages below the caller's frame that deeper calls
 * touched (registration, a burst of commands): an idle client then
 * holds about one page of stack instead of four.  Rate-limited, since a
 * busy thread would only fault them in again.
 */
static __attribute__((noinline)) void
stack_trim(char *stack_lo)
{
	char here;
	uintptr_t top;

	if (!STACK_TRIM || stack_lo == NULL)
		return;
	/* Keep the page this frame is on: ppoll() runs there. */
	top = (uintptr_t)&here & ~(uintptr_t)(PAGE_TRIM - 1);
	if (top > (uintptr_t)stack_lo)
		(void)madvise(stack_lo, top - (uintptr_t)stack_lo,
		    MADV_DONTNEED);
}

/* The lowest address of this thread's stack, or NULL. */
static char *
stack_low(void)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return NULL;
	if (pthread_attr_getstack(&attr, &addr, &size) != 0)
		addr = NULL;
	pthread_attr_destroy(&attr);
	return addr;
}

void *
client_main(void *arg)
{
	struct client *c = arg;
	struct pollfd pfd;
	struct timespec ts;
	sigset_t waitmask;
	long long now, wait, trimmed = 0;
	char why[128], *stack_lo;
	int closing, busy = 1, held;

	/* The accept thread published c, c->thread included, under this
	 * lock: taking it once orders those writes before ours. */
	pthread_mutex_lock(&server.lock);
	pthread_mutex_unlock(&server.lock);
	pthread_setname_np(pthread_self(), "natterd-client");
	pthread_sigmask(SIG_SETMASK, NULL, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	stack_lo = stack_low();
	trimmed = mono_ms();	/* a new thread has nothing to give back */
	/* The handshake happens in the first reads, under the
	 * registration timeout like any silent connection. */
	if (c->tls && (c->ssl = tls_accept_new(c->fd)) == NULL)
		client_kill(c, "TLS is not available");
	if (c->local)
		unix_login(c);

	for (;;) {
		now = mono_ms();
		client_timers(c, now);
		/* Output past the SendQ: no more input until it drains. */
		held = client_backlog(c) > config.sendq;
		if (c->rqlen > 0 && !held && flood_ok(c, now)) {
			client_backlog_turn(c);
			busy = 1;
			held = client_backlog(c) > config.sendq;
		}
		/* After the peer's close, only the receive queue is left.
		 * While output is held, and while held-back input that flood
		 * control would let through waits for it, the kernel holds
		 * the rest of the input. */
		pfd.fd = c->eof ? -1 : c->fd;
		pfd.events = held || (c->rqlen > 0 && flood_ok(c, now)) ? 0 :
		    POLLIN;
		pthread_mutex_lock(&c->out_lock);
		closing = c->closing;
		/* While another thread writes for c, it wakes c if needed. */
		c->want_out = c->q.count > 0 && !c->writing &&
		    (c->ssl == NULL || SSL_is_init_finished(c->ssl));
		if (c->want_out || c->tls_want_write)
			pfd.events |= POLLOUT;
		pthread_mutex_unlock(&c->out_lock);
		if (closing)
			break;
		wait = client_next_timer(c, now, held);
		/* Records OpenSSL decrypted but we left while held: poll()
		 * cannot see them. */
		if ((pfd.events & POLLIN) && c->ssl != NULL &&
		    SSL_pending(c->ssl) > 0)
			wait = 0;
		if (busy) {
			/* Trim at most once a second; come back to do it. */
			if (now - trimmed >= 1000) {
				stack_trim(stack_lo);
				trimmed = now;
				busy = 0;
			} else if (wait > 1000 - (now - trimmed))
				wait = 1000 - (now - trimmed);
		}
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000;
		pfd.revents = 0;
		if (ppoll(&pfd, 1, &ts, &waitmask) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, sizeof(why), "Poll error: %s",
			    strerror(errno));
			client_kill(c, why);
			break;
		}
		if (pfd.revents == 0 && (pfd.events & POLLIN) &&
		    c->ssl != NULL && SSL_pending(c->ssl) > 0)
			pfd.revents = POLLIN;
		if (pfd.revents == 0)
			continue;
		busy = 1;
		if ((pfd.revents & POLLOUT) && client_flush(c) == -1) {
			client_kill(c, "Write error");
			break;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL) ||
		    (c->tls_want_write && (pfd.revents & POLLOUT))) &&
		    client_read(c) == -1)
			break;
	}
	client_teardown(c);
	return NULL;
}
