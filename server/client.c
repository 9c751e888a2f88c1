/*
 * client.c: one thread per connection.  The thread owns its socket: it
 * reads, splits lines, dispatches commands, flushes its output queue
 * when others have queued more than the socket took at once, runs the
 * registration and ping timers and its person's nick grace (owner.c),
 * and tears the client down.  A client idle for a second after doing
 * anything moves to a fresh thread (client_renew says why): one thread
 * per client at any time, not always the same one.
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
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "natterd.h"
#include "str.h"
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

struct conn *
client_new(int fd, const char *ip, int tls)
{
	struct conn *c;
	struct client *cl;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		free(c);
		return NULL;
	}
	if ((rc = pthread_mutex_init(&c->out_lock, NULL)) != 0) {
		log_warnx("client_new: pthread_mutex_init: %s", strerror(rc));
		free(cl);
		free(c);
		return NULL;
	}
	/* Called under server.lock. */
	atomic_init(&c->refs, 1);
	c->id = ++server.next_id;
	c->fd = fd;
	c->tls = tls;
	c->cl = cl;
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	frame_init(&c->frame);
	clock_gettime(CLOCK_MONOTONIC, &c->connected);
	c->last_read = c->connected;
	c->tokens = config.flood_burst;
	c->tokens_ms = ts_ms(&c->connected);
	c->flood_need = 1;
	c->drained_ms = ts_ms(&c->connected);
	if (config.password == NULL)
		c->reg |= REG_PASS;

	if ((rc = pthread_mutex_init(&cl->act, NULL)) != 0) {
		log_warnx("client_new: pthread_mutex_init: %s", strerror(rc));
		pthread_mutex_destroy(&c->out_lock);
		free(cl);
		free(c);
		return NULL;
	}
	atomic_init(&cl->refs, 1);	/* c's */
	cl->id = ++server.next_id;
	snprintf(cl->host, sizeof(cl->host), "%s", ip);
	snprintf(cl->nick, sizeof(cl->nick), "*");
	cl->signon = time(NULL);
	cl->last_spoke = cl->signon;
	cl->conns = c;
	cl->nconns = 1;
	return c;
}

struct client *
client_ref(struct client *cl)
{
	atomic_fetch_add_explicit(&cl->refs, 1, memory_order_relaxed);
	return cl;
}

void
client_unref(struct client *cl)
{
	if (atomic_fetch_sub_explicit(&cl->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	pthread_mutex_destroy(&cl->act);
	account_unref(cl->account);
	account_unref(cl->grace_owner);
	free(cl->away);
	free(cl->rooms);
	free(cl);
}

void
conn_discard(struct conn *c)
{
	web_free(c);
	frame_free(&c->frame);
	pthread_mutex_destroy(&c->out_lock);
	pthread_mutex_destroy(&c->cl->act);
	free(c->cl);
	free(c);
}

void
conn_free(struct conn *c)
{
	SSL_free(c->ssl);
	web_free(c);
	close(c->fd);
	outq_clear(&c->q);
	frame_free(&c->frame);
	free(c->rq);
	multiline_free(c);
	pthread_mutex_destroy(&c->out_lock);
	free(c->close_reason);
	sasl_free(c->sasl);
	client_unref(c->cl);
	free(c);
}

/* The connection this thread serves, or NULL. */
static _Thread_local struct conn *client_self;

void
conn_wake_locked(struct conn *c)
{
	int rc;

	/* A thread never signals itself. */
	if (c == client_self)
		return;
	if (c->left)
		return;
	/* Not started yet: the accept thread signals it once it is. */
	if (!c->started) {
		c->wake_missed = 1;
		return;
	}
	if ((rc = pthread_kill(c->thread, SIGUSR1)) != 0)
		log_warnx("pthread_kill: %s", strerror(rc));
}

void
conn_kill_locked(struct conn *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->close_reason = strdup(reason);
	conn_wake_locked(c);
}

void
conn_kill(struct conn *c, const char *reason)
{
	pthread_mutex_lock(&c->out_lock);
	conn_kill_locked(c, reason);
	pthread_mutex_unlock(&c->out_lock);
}

void
client_kill_locked(struct client *cl, const char *reason)
{
	struct conn *k;

	for (k = cl->conns; k != NULL; k = k->cnext)
		conn_kill(k, reason);
}

static int
conn_closing(struct conn *c)
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
	/* Before USER, "*" stands for the user name. */
	str_join(buf, len, c->nick, "!", c->user[0] != '\0' ? c->user : "*",
	    "@", c->host, (char *)NULL);
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

static void
people_key(const struct account *a, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)account_id(a));
}

void
client_people_add_locked(struct client *cl)
{
	char key[32];

	if (cl->account == NULL || !(cl->flags & CLIENT_REGISTERED) ||
	    (cl->flags & CLIENT_GONE))
		return;
	people_key(cl->account, key, sizeof(key));
	if (map_get(server.people, key) == NULL &&
	    map_put(server.people, key, cl) == -1)
		log_warnx("%s: out of memory for its devices", cl->nick);
}

struct client *
client_people_find_locked(const struct account *a)
{
	char key[32];

	people_key(a, key, sizeof(key));
	return map_get(server.people, key);
}

void
client_people_del_locked(struct client *cl)
{
	struct client *o;
	char key[32];

	if (cl->account == NULL)
		return;
	people_key(cl->account, key, sizeof(key));
	if (map_get(server.people, key) != cl)
		return;
	map_del(server.people, key);
	/* Another person logged in to the account (one that came past
	 * --max-devices) takes the next devices now. */
	for (o = server.clients; o != NULL; o = o->next)
		if (o != cl && o->account == cl->account &&
		    (o->flags & (CLIENT_REGISTERED | CLIENT_GONE)) ==
		    CLIENT_REGISTERED) {
			if (map_put(server.people, key, o) == -1)
				log_warnx("%s: out of memory for its devices",
				    o->nick);
			break;
		}
}

/*
 * Makes t's connection, which has just logged in to an account whose
 * person to is online, another device of to: it leaves its own
 * unregistered person and gets to's nick and rooms, with the welcome
 * and, for each room, what a JOIN gives the joiner (its JOIN line,
 * read marker, topic, NAMES and replay).  Nobody else sees anything.
 * All of it goes with one post made here, under the same lock as the
 * move, so every line to's rooms say after it reaches this connection
 * after its burst, and nothing said before it arrives twice.  Caller holds
 * server.lock and the old person's act lock.  -1 if to cannot take
 * another device.
 */
int
client_attach_locked(struct turn *t, struct client *to)
{
	struct conn *c = t->conn;
	struct client *old = c->cl;
	char mask[MASK_MAX + 1], line[OUT_LINE_MAX];
	struct line l;
	struct room *r;
	struct gen *g;
	int64_t upto;
	int i;

	if ((to->flags & (CLIENT_REGISTERED | CLIENT_GONE)) !=
	    CLIENT_REGISTERED || to->nconns >= config.max_devices)
		return -1;
	if (old->nickkey[0] != '\0' &&
	    map_get(server.nicks, old->nickkey) == old)
		map_del(server.nicks, old->nickkey);
	if (old->prev != NULL)
		old->prev->next = old->next;
	else if (server.clients == old)
		server.clients = old->next;
	if (old->next != NULL)
		old->next->prev = old->prev;
	old->flags |= CLIENT_GONE;
	old->conns = NULL;
	old->nconns = 0;
	c->cl = client_ref(to);
	c->cnext = to->conns;
	to->conns = c;
	to->nconns++;
	client_unref(old);	/* c's; client_line holds one more */
	t->c = to;

	memset(&l, 0, sizeof(l));
	l.text = "";		/* no recipients: only its place counts */
	(void)post_new_locked(t, &l);
	upto = store_last_seq();
	send_welcome_locked(t);
	client_mask(to, mask, sizeof(mask));
	for (i = 0; i < to->nrooms; i++) {
		r = to->rooms[i];
		if (c->caps & CAP(CAP_EXTENDED_JOIN))
			turn_sendf(t, ":%s JOIN %s %s :%s", mask,
			    room_name(r), to->account != NULL ?
			    account_name(to->account) : "*", to->realname);
		else
			turn_sendf(t, ":%s JOIN %s", mask, room_name(r));
		if (c->caps & CAP(CAP_READ_MARKER)) {
			markread_line_locked(to, r, line, sizeof(line));
			turn_sendf(t, "%s", line);
		}
		room_send_topic_locked(t, r, 0);
		send_names_locked(t, r);
		if ((g = history_replay_gen(r, upto)) != NULL)
			turn_gen(t, g);
	}
	if (to->away != NULL)
		reply(t, RPL_NOWAWAY);
	return 0;
}

static void	 local_login(struct turn *);

void
client_try_register(struct turn *t)
{
	struct conn *k = t->conn;
	struct client *c = t->c, *to;
	char key[32], old[NICK_MAX + 1], name[NICK_MAX + 1];
	char mask[MASK_MAX + 1];
	struct lusers lu;
	enum owner_state st;
	int renamed = 0;

	if ((k->reg & (REG_NICK | REG_USER)) != (REG_NICK | REG_USER) ||
	    (k->reg & REG_CAP) || (c->flags & CLIENT_REGISTERED))
		return;
	if (!(k->reg & REG_PASS)) {
		reply(t, ERR_PASSWDMISMATCH);
		conn_kill(k, "Bad password");
		return;
	}
	/* sasl 3.1: registration ends an exchange still going on. */
	sasl_abort(t);
	local_login(t);
	pthread_rwlock_wrlock(&server.lock);
	if (c->account != NULL && config.max_devices > 1 &&
	    (to = map_get(server.people, (people_key(c->account, key,
	    sizeof(key)), key))) != NULL && to != c &&
	    client_attach_locked(t, to) == 0) {
		/* Copied under the lock: another device may log the person
		 * out (NickServ LOGOUT, ACCOUNT DELETE) or rename it as soon
		 * as it is released. */
		snprintf(old, sizeof(old), "%s", to->nick);
		snprintf(name, sizeof(name), "%s", account_name(to->account));
		pthread_rwlock_unlock(&server.lock);
		log_info("%s registered as another device of %s (%s)", k->ip,
		    old, name);
		return;
	}
	/* Logged in to one account with a nick another owns, or holding a
	 * nick whose owner is online: it registers as a guest.  Else, not
	 * logged in: a grace starts with the welcome. */
	if (owner_other_locked(c) || owner_online_locked(c, c->nickkey)) {
		snprintf(old, sizeof(old), "%s", c->nick);
		if (owner_guest_locked(t) == -1) {
			pthread_rwlock_unlock(&server.lock);
			conn_kill(k, "Nickname is registered");
			return;
		}
		renamed = 1;
	}
	c->flags |= CLIENT_REGISTERED;
	monitor_online_locked(t, c);
	client_people_add_locked(c);
	c->signon = time(NULL);
	c->last_spoke = c->signon;
	server.nusers++;
	if (server.nusers > server.max_users)
		server.max_users = server.nusers;
	st = owner_check_locked(c);
	client_mask(c, mask, sizeof(mask));
	lusers_get_locked(&lu);
	pthread_rwlock_unlock(&server.lock);
	log_info("%s registered as %s!%s", k->ip, c->nick, c->user);
	send_welcome(t, mask, &lu);
	if (renamed)
		owner_renamed_notice(t, old);
	if (st == OWNER_GRACE)
		owner_grace_notice(t);
}

/*
 * A connection on the Unix socket: who its peer's uid is.  Runs on the
 * client's own thread before its first read, with no lock held, since
 * the lookup may ask a directory service (NSS) and take its time; the
 * accept loop never waits for it.
 */
static void
unix_login(struct conn *c)
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
	/* The login itself waits for registration (local_login), so a
	 * client may still log in with SASL, EXTERNAL included. */
}

/*
 * A connection on the Unix socket that did not log in with SASL is
 * logged in to its Unix user's local account (made on first use) as it
 * registers: 900, then the welcome.  Own thread, no lock held (making
 * the account writes the store).
 */
static void
local_login(struct turn *t)
{
	struct conn *k = t->conn;
	struct client *c = t->c;
	struct account *a;
	char name[NICK_MAX + 1];

	if (!k->local || c->account != NULL || k->peer_name[0] == '\0')
		return;
	if ((a = account_local(k->peer_uid, k->peer_name)) == NULL) {
		log_info("uid %lu (%s): not logged in: %s",
		    (unsigned long)k->peer_uid, k->peer_name, strerror(errno));
		return;
	}
	snprintf(name, sizeof(name), "%s", account_name(a));
	if (login_account(t, a, NULL, 0) == 0)
		log_info("%s (uid %lu) logged in as %s (Unix socket)", c->nick,
		    (unsigned long)k->peer_uid, name);
}

void
client_local_user(const struct conn *c, char *out, size_t len)
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
flood_limited(struct conn *c)
{
	return config.flood_burst > 0 && config.flood_rate > 0 &&
	    !(c->cl->flags & CLIENT_OPER);
}

/* 1 if c may have its next line (it needs flood_need tokens) now. */
static int
flood_ok(struct conn *c, long long now)
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
	return c->tokens >= c->flood_need;
}

void
conn_flood_charge(struct conn *c, double tokens)
{
	if (flood_limited(c))
		c->tokens -= tokens;
}

/*
 * The tokens the line starting at p (n bytes, or the start of the line
 * the frame holds) needs before it is let through: what it costs
 * (multiline_cost: a multiline batch is paid at its close, by its
 * size), but never more than the bucket can hold.
 */
static double
flood_need(struct conn *c, const char *p, size_t n)
{
	double need;

	if (c->frame.len > 0)
		need = multiline_cost(c, c->frame.buf, c->frame.len);
	else
		need = multiline_cost(c, p, n);
	if (need > config.flood_burst)
		need = config.flood_burst;
	return need;
}

/* Milliseconds until c has the tokens its next line needs. */
static long long
flood_wait(struct conn *c)
{
	double need = c->flood_need - c->tokens;

	if (need <= 0 || !flood_limited(c))
		return 0;
	return (long long)(need * 1000.0 / config.flood_rate) + 1;
}

/* 1 if the targets of a PRIVMSG or NOTICE, the word at p, name
 * NickServ. */
static int
trace_to_nickserv(const char *p, const char *end)
{
	char	 target[NICK_MAX + 1];
	size_t	 n;

	while (p < end && *p != ' ') {
		for (n = 0; p + n < end && p[n] != ' ' && p[n] != ','; n++)
			;
		if (n < sizeof(target)) {
			memcpy(target, p, n);
			target[n] = '\0';
			if (nickserv_reserved(target))
				return 1;
		}
		p += n;
		if (p < end && *p == ',')
			p++;
	}
	return 0;
}

/*
 * -vv logs every line, but never a secret: the parameters of the
 * commands that carry passwords (SASL payloads, REGISTER and NickServ
 * commands included) are left out, and so is the text of a PRIVMSG or
 * NOTICE to NickServ.
 */
static void
client_trace(struct client *c, const char *line, size_t len)
{
	static const char *const secret[] = { "AUTHENTICATE", "ACCOUNT",
	    "OPER", "PASS", "REGISTER", "NICKSERV", "NS" };
	static const char *const message[] = { "PRIVMSG", "NOTICE" };
	const char	*p = line, *end = line + len, *q;
	size_t		 i, n;

	if (p < end && *p == '@')
		while (p < end && *p != ' ')
			p++;
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == ':') {
		while (p < end && *p != ' ')
			p++;
		while (p < end && *p == ' ')
			p++;
	}
	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		n = strlen(secret[i]);
		if ((size_t)(end - p) >= n && strncasecmp(p, secret[i],
		    n) == 0 && (p + n == end || p[n] == ' ')) {
			log_trace("%s <- %.*s <hidden>", c->nick, (int)(p +
			    n - line), line);
			return;
		}
	}
	for (i = 0; i < sizeof(message) / sizeof(message[0]); i++) {
		n = strlen(message[i]);
		if ((size_t)(end - p) <= n || strncasecmp(p, message[i],
		    n) != 0 || p[n] != ' ')
			continue;
		for (q = p + n; q < end && *q == ' '; q++)
			;
		if (!trace_to_nickserv(q, end))
			break;
		while (q < end && *q != ' ')
			q++;
		log_trace("%s <- %.*s <hidden>", c->nick, (int)(q - line),
		    line);
		return;
	}
	log_trace("%s <- %.*s", c->nick, (int)len, line);
}

/*
 * Bytes of tag data in line: from after the '@' to the space that ends
 * the tag part, or to the end of a line that is tags alone; 0 for a
 * line without tags.  Leading spaces are skipped, as irc_parse does.
 */
static size_t
client_tags_len(const char *line, size_t len)
{
	const char *p = line, *end = line + len, *sp;

	while (p < end && *p == ' ')
		p++;
	if (p == end || *p != '@')
		return 0;
	p++;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		sp = end;
	return (size_t)(sp - p);
}

/* One line, with its person's act lock held. */
static int
client_line_locked(struct turn *t, enum frame_event ev, char *line,
    size_t len)
{
	struct conn *c = t->conn;
	struct irc_msg m;
	char *p, label[LABEL_MAX + 1];
	double cost;
	int valid, labeled;

	cost = ev == FRAME_TOOLONG ? 1 : multiline_cost(c, line, len);
	if (flood_limited(c))
		c->tokens -= cost;
	if (ev == FRAME_TOOLONG) {
		reply(t, ERR_INPUTTOOLONG);
		return conn_closing(c);
	}
	if (log_enabled(LOG_LVL_TRACE))
		client_trace(t->c, line, len);
	if (memchr(line, '\0', len) != NULL) {
		reply(t, ERR_UNKNOWNERROR, "*", "Line contains a NUL byte");
		return conn_closing(c);
	}
	/* message-tags: a client's tag data is at most 4094 bytes, so
	 * nothing stored or relayed carries more.  Over it the line gets
	 * 417, a command after the tags or not: a tag part alone would
	 * otherwise go unanswered. */
	if (client_tags_len(line, len) > CLIENT_TAGS_MAX) {
		if (cost == 0)
			conn_flood_charge(c, 1);
		reply(t, ERR_INPUTTOOLONG);
		return conn_closing(c);
	}
	valid = utf8_valid(line, len);
	if (irc_parse(line, &m) == -1) {
		/* Tagged for the open batch but no command: it joins
		 * nothing, so it was not free. */
		if (cost == 0)
			conn_flood_charge(c, 1);
		return 0;
	}
	for (p = m.command; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	/* A QUIT always quits; a reason that is not UTF-8 is not relayed. */
	if (!valid && strcmp(m.command, "QUIT") == 0) {
		conn_kill(c, "Quit");
		return 1;
	}
	labeled = (c->caps & CAP(CAP_LABELED_RESPONSE)) && m.tags != NULL &&
	    irc_tag_get(m.tags, "label", label, sizeof(label)) == 1 &&
	    label[0] != '\0';
	/* draft/multiline: BATCH and the lines of a batch. */
	if (multiline_line(t, &m, labeled ? label : NULL, valid))
		return conn_closing(c);
	turn_command_begin(t, labeled ? label : NULL);
	/* NICK answers bad bytes with 432 itself; USER keeps what is
	 * UTF-8 and registers, as a FAIL would leave registration hanging. */
	if (!valid && strcmp(m.command, "NICK") != 0 &&
	    strcmp(m.command, "USER") != 0)
		/* Never echo the bad bytes: a garbled command shows as *. */
		turn_sendf(t, ":%s FAIL %s INVALID_UTF8 :Message rejected, "
		    "your IRC software must use UTF-8 on this network",
		    config.server_name, command_is_word(m.command) ?
		    m.command : "*");
	else
		command_dispatch(t, &m);
	turn_command_end(t);
	return conn_closing(c);
}

/*
 * frame_cb: one complete line, or notice of an overlong one.  Its
 * person may have changed with the line before (a device attached to
 * its account's person), and may change in this one: the act lock and
 * a reference are taken on the one it starts with.
 */
static int
client_line(void *arg, enum frame_event ev, char *line, size_t len)
{
	struct turn *t = arg;
	struct client *actor;
	int rc;

	actor = t->c = client_ref(t->conn->cl);
	pthread_mutex_lock(&actor->act);
	rc = client_line_locked(t, ev, line, len);
	pthread_mutex_unlock(&actor->act);
	client_unref(actor);
	return rc;
}

/* Milliseconds until the next timer is due, at least 0. */
static long long
client_next_timer(struct conn *c, long long now, int held)
{
	long long due, stall, grace, batch, web;

	if (c->rqlen > 0 && !held) {
		/* The held-back input is the next thing to do. */
		(void)flood_ok(c, now);
		return flood_wait(c);
	}
	if (!(c->cl->flags & CLIENT_REGISTERED))
		due = ts_ms(&c->connected) + config.reg_timeout * 1000LL;
	else if (!c->ping_sent)
		due = ts_ms(&c->last_read) + config.ping_interval * 1000LL;
	else
		due = ts_ms(&c->last_read) +
		    (config.ping_interval + config.ping_timeout) * 1000LL;
	/* Its person's grace for an owned nick (owner.c). */
	if ((grace = atomic_load_explicit(&c->cl->grace_ms,
	    memory_order_relaxed)) != 0 && grace < due)
		due = grace;
	if ((stall = conn_stall_deadline(c)) != 0 && stall < due)
		due = stall;
	if (c->web != NULL && (web = web_deadline(c)) != 0 && web < due)
		due = web;
	if ((batch = multiline_deadline(c)) != 0 && batch < due)
		due = batch;
	return due > now ? due - now : 0;
}

static void
client_timers(struct conn *c, long long now)
{
	char why[64], line[128];
	long long idle = now - ts_ms(&c->last_read), stall, grace;
	int len;

	/* Over its SendQ and not draining: a reader that stopped. */
	if ((stall = conn_stall_deadline(c)) != 0 && now >= stall) {
		conn_kill(c, "SendQ exceeded");
		return;
	}
	if (!(c->cl->flags & CLIENT_REGISTERED)) {
		if (c->web != NULL)
			web_timer(c, now);
		if (now - ts_ms(&c->connected) >= config.reg_timeout * 1000LL)
			conn_kill(c, "Registration timed out");
		return;
	}
	if ((grace = atomic_load_explicit(&c->cl->grace_ms,
	    memory_order_relaxed)) != 0 && now >= grace)
		owner_timer(c);
	multiline_timer(c, now);
	if (!c->ping_sent && idle >= config.ping_interval * 1000LL) {
		len = snprintf(line, sizeof(line), "PING :%s\r\n",
		    config.server_name);
		if (len > 0 && (size_t)len < sizeof(line))
			(void)conn_send_direct(c, line, (size_t)len);
		c->ping_sent = 1;
	} else if (c->ping_sent && idle >=
	    (config.ping_interval + config.ping_timeout) * 1000LL) {
		snprintf(why, sizeof(why), "Ping timeout: %d seconds",
		    config.ping_timeout);
		conn_kill(c, why);
	}
}

/*
 * Unlinks c from every shared structure and, if it was its person's
 * last connection, unlinks the person and tells its rooms, as one last
 * turn: its QUIT post is delivered before turn_end() returns, and with
 * it every post made before c left the tables, which are all the posts
 * that can hold c.  A connection that leaves others of its person (one
 * device of several) makes an empty post for the same reason, and the
 * rooms see nothing.  Then it says goodbye on the socket.
 */
void
client_teardown(struct conn *c)
{
	char mask[MASK_MAX + 1], line[OUT_LINE_MAX], drain[512], chunk[512];
	char nick[NICK_MAX + 1], host[HOST_MAX];
	struct client *cl = c->cl;
	struct conn **kp;
	const char *reason;
	struct turn t;
	struct line l;
	uintptr_t n;
	int len, queued, last, empty;

	pthread_mutex_lock(&c->out_lock);
	reason = c->close_reason != NULL ? c->close_reason : "Connection closed";
	c->left = 1;	/* the thread may be gone before it is signalled */
	pthread_mutex_unlock(&c->out_lock);

	turn_begin(&t, c, chunk, sizeof(chunk));
	memset(&l, 0, sizeof(l));
	pthread_rwlock_wrlock(&server.lock);
	for (kp = &cl->conns; *kp != NULL; kp = &(*kp)->cnext)
		if (*kp == c) {
			*kp = c->cnext;
			break;
		}
	cl->nconns--;
	last = cl->nconns == 0;
	monitor_conn_gone_locked(c);
	/* Another device may rename cl once the lock is dropped. */
	snprintf(nick, sizeof(nick), "%s", cl->nick);
	snprintf(host, sizeof(host), "%s", cl->host);
	if (last && (cl->flags & CLIENT_REGISTERED)) {
		client_mask(cl, mask, sizeof(mask));
		snprintf(line, sizeof(line), ":%s QUIT :%s", mask, reason);
		l.text = line;
		l.src = cl;
		(void)room_fanout_locked(&t, NULL, &l, 0, 0, NULL);
		if (map_get(server.nicks, cl->nickkey) == cl)
			monitor_offline_locked(&t, cl->nick, cl->nickkey);
		whowas_add_locked(cl);
		server.nusers--;
		if (cl->flags & CLIENT_INVISIBLE)
			server.ninvisible--;
		if (cl->flags & CLIENT_OPER)
			server.nopers--;
	} else {
		l.text = "";	/* no recipients: only its place counts */
		(void)post_new_locked(&t, &l);
	}
	if (last) {
		client_people_del_locked(cl);
		while (cl->nrooms > 0)
			room_remove_locked(cl->rooms[cl->nrooms - 1], cl);
		cl->flags |= CLIENT_GONE; /* for listings that still hold it */
		if (cl->nickkey[0] != '\0' &&
		    map_get(server.nicks, cl->nickkey) == cl)
			map_del(server.nicks, cl->nickkey);
		if (cl->prev != NULL)
			cl->prev->next = cl->next;
		else if (server.clients == cl)
			server.clients = cl->next;
		if (cl->next != NULL)
			cl->next->prev = cl->prev;
	}
	n = (uintptr_t)map_get(server.ips, c->ipgroup);
	if (n <= 1)
		map_del(server.ips, c->ipgroup);
	else
		map_put(server.ips, c->ipgroup, (void *)(n - 1));
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		server.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_rwlock_unlock(&server.lock);
	turn_command_end(&t);
	turn_end(&t);

	log_info("%s (%s) closed: %s", c->ip, nick, reason);

	/* Best effort: what is queued, then the ERROR line. */
	queued = !conn_flush_final(c);
	len = snprintf(line, sizeof(line), "ERROR :Closing Link: %s (%s)\r\n",
	    host, reason);
	if (c->web != NULL) {
		/* As a WebSocket message, then the close frame. */
		web_final(c, len > 0 && (size_t)len < sizeof(line) &&
		    !queued ? line : NULL, (size_t)len, reason);
	} else if (len > 0 && (size_t)len < sizeof(line) && !queued) {
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
	conn_unref(c);

	/* Counted until now so that shutdown waits for the ERROR line. */
	pthread_rwlock_wrlock(&server.lock);
	empty = --server.nclients == 0;
	pthread_rwlock_unlock(&server.lock);
	if (empty) {
		pthread_mutex_lock(&server.drain_lock);
		pthread_cond_broadcast(&server.drained);
		pthread_mutex_unlock(&server.drain_lock);
	}
}

/*
 * A plain-text line sent to the TLS port: say so in plain text, which
 * is all such a client can read.  1 if it was that.
 */
static int
client_tls_misdialed(struct conn *c)
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
	conn_kill(c, why);
	return 1;
}

/*
 * One read: from the socket, or one TLS record.  Returns the bytes
 * read, 0 if there is nothing yet, CLIENT_EOF when the peer closed, -1
 * when the connection failed (c is killed with the reason).
 */
static ssize_t
client_recv(struct conn *c, char *buf, size_t len)
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
		conn_kill(c, why);
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
	conn_kill(c, why);
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
	struct conn *c = t->conn;
	long long now = mono_ms();
	size_t i = 0, j;
	int rc;

	while (i < n) {
		for (j = i; j < n && data[j] != '\r' && data[j] != '\n'; j++)
			;
		/* A partial line, or the LF of a CRLF, costs nothing; nor
		 * does a line of an open multiline batch. */
		if (j < n && !(j == i && c->frame.len == 0)) {
			c->flood_need = flood_need(c, data + i, j - i);
			if ((c->flood_need > 0 && !flood_ok(c, now)) ||
			    client_held(t))
				break;
		}
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
rq_append(struct conn *c, const char *data, size_t n)
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
	struct conn *c = t->conn;
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
client_backlog_turn(struct conn *c)
{
	char out[OUT_GATHER];
	const char *why;
	struct turn t;
	int rc;

	turn_begin(&t, c, out, sizeof(out));
	t.may_leave = 1;
	rc = rq_process(&t);
	turn_end(&t);
	if (rc == -1)
		conn_kill(c, "Out of memory");
	else if (c->eof && c->rqlen == 0)
		conn_kill(c, c->web != NULL && web_closed(c, &why) ? why :
		    "Connection closed");
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
client_read(struct conn *c)
{
	char buf[READ_CHUNK], out[OUT_GATHER];
	const char *in, *why;
	struct turn t;
	size_t inlen;
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
			conn_kill(c, "Connection closed");
			return -1;
		}
		if (n <= 0)
			return (int)n;
		clock_gettime(CLOCK_MONOTONIC, &c->last_read);
		c->ping_sent = 0;
		in = buf;
		inlen = (size_t)n;
		/* The web port: HTTP, then IRC lines out of WebSocket
		 * messages. */
		if (c->web != NULL)
			(void)web_input(c, buf, (size_t)n, &in, &inlen);
		turn_begin(&t, c, out, sizeof(out));
		t.may_leave = 1;
		if (c->rqlen > 0) {
			if ((rc = rq_append(c, in, inlen)) == 0)
				rc = rq_process(&t);
		} else if ((took = client_input(&t, in, inlen)) == -1)
			rc = -1;
		else
			rc = rq_append(c, in + took, inlen - (size_t)took);
		turn_end(&t);
		if (rc != -1 && c->web != NULL && web_closed(c, &why)) {
			/* Lines before the close still count. */
			if (c->rqlen > 0) {
				c->eof = 1;
				return 0;
			}
			conn_kill(c, why);
			return -1;
		}
		if (rc == -1) {
			conn_kill(c, "Out of memory");
			return -1;
		}
		/* Input held back for flood control, not for output the
		 * client has yet to read (then it stops being read).  A
		 * client that may send multiline batches may have one more
		 * waiting behind the close of the one before. */
		if (c->rqlen > config.recvq + ((c->caps &
		    CAP(CAP_MULTILINE)) ? MULTILINE_WIRE_MAX : 0) &&
		    conn_backlog(c) <= config.sendq) {
			conn_kill(c, "Excess Flood");
			return -1;
		}
	} while (c->ssl != NULL && SSL_pending(c->ssl) > 0 &&
	    !conn_closing(c) && conn_backlog(c) <= config.sendq);
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
 * holds about one page of stack instead of four.  Done a second after
 * the thread's last work, since a busy thread would only fault them in
 * again, and only when no fresh thread could be had (client_renew).
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

/* The lowest address of thread t's stack, or NULL. */
static char *
stack_low(pthread_t t)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size;

	if (pthread_getattr_np(t, &attr) != 0)
		return NULL;
	if (pthread_attr_getstack(&attr, &addr, &size) != 0)
		addr = NULL;
	pthread_attr_destroy(&attr);
	return addr;
}

/* What a client thread's ppoll() lets through: its mask less SIGUSR1
 * (conn_wake_locked). */
static pthread_once_t	 waitmask_once = PTHREAD_ONCE_INIT;
static sigset_t		 client_waitmask;

static void
waitmask_make(void)
{
	pthread_sigmask(SIG_SETMASK, NULL, &client_waitmask);
	sigdelset(&client_waitmask, SIGUSR1);
}

/*
 * Hands c to a fresh thread; 0 when it did, and this thread must then
 * return without touching c again.  Why: the first time a thread writes
 * to a TCP socket, the kernel gives it a 32 KiB page to copy the data
 * into (current->task_frag), and keeps that page until the thread exits.
 * A client thread writes its registration replies, then may sleep for
 * days: the page would be its largest cost, more than its kernel stack
 * and task together.  A fresh thread has no page, and starts with only
 * the stack pages it touches.  Done once a client has been idle for a
 * second after doing anything (see client_loop), like stack_trim;
 * -1 (c closing, no thread to be had) leaves c to this thread.
 */
static void	*client_renewed(void *);

static int
client_renew(struct conn *c)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
	    pthread_attr_setstacksize(&attr, NATTERD_STACK_SIZE) != 0) {
		pthread_attr_destroy(&attr);
		return -1;
	}
	/* Whoever wakes c reads c->thread under out_lock; the new thread
	 * takes it before it starts, so no wake-up finds this thread gone
	 * (one sent to it before is moot: the new thread looks at
	 * everything afresh). */
	pthread_mutex_lock(&c->out_lock);
	rc = c->closing ? -1 : pthread_create(&t, &attr, client_renewed, c);
	if (rc == 0) {
		/* Started already, or the accept thread would set
		 * c->thread after us (natterd.c accept_one). */
		c->thread = t;
		c->started = 1;
		c->wake_missed = 0;
		/* Found here, as pthread_getattr_np() calls malloc(): an
		 * idle thread that never does keeps no malloc cache
		 * (about 650 bytes a thread). */
		c->stack_lo = stack_low(t);
	}
	pthread_mutex_unlock(&c->out_lock);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

/*
 * The client's life on one thread: returns 0 when the connection is
 * done (the caller tears it down), 1 when a fresh thread took it over
 * (client_renew).  busy: the thread has done something already;
 * stack_lo: the lowest address of its stack (stack_trim), or NULL.
 */
static int
client_loop(struct conn *c, int busy, char *stack_lo)
{
	struct pollfd pfd;
	struct timespec ts;
	sigset_t waitmask;
	long long now, wait, idle_since;
	char why[128];
	int closing, held;

	/* Every client thread has the accept thread's mask: ask once. */
	pthread_once(&waitmask_once, waitmask_make);
	waitmask = client_waitmask;
	idle_since = mono_ms();
	/* A fresh thread may run on a stack glibc kept from one that
	 * exited, with the pages that one touched. */
	if (!busy)
		stack_trim(stack_lo);

	for (;;) {
		now = mono_ms();
		client_timers(c, now);
		/* Output past the SendQ (or pongs on the web port): no more
		 * input until it drains. */
		held = conn_backlog(c) > config.sendq ||
		    (c->web != NULL && web_held(c));
		if (c->rqlen > 0 && !held && flood_ok(c, now)) {
			client_backlog_turn(c);
			busy = 1;
			idle_since = now;
			held = conn_backlog(c) > config.sendq;
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
		c->want_out = (c->q.count > 0 || (c->web != NULL &&
		    web_want_write(c))) && !c->writing &&
		    (c->ssl == NULL || SSL_is_init_finished(c->ssl));
		if (c->want_out || c->tls_want_write)
			pfd.events |= POLLOUT;
		pthread_mutex_unlock(&c->out_lock);
		if (closing)
			return 0;
		wait = client_next_timer(c, now, held);
		/* Records OpenSSL decrypted but we left while held: poll()
		 * cannot see them. */
		if ((pfd.events & POLLIN) && c->ssl != NULL &&
		    SSL_pending(c->ssl) > 0)
			wait = 0;
		if (busy) {
			/* A second after the last thing it did: come back
			 * then to hand over, or at least trim. */
			if (now - idle_since >= 1000) {
				if (client_renew(c) == 0) {
					/* Fewer pages in glibc's cache. */
					stack_trim(stack_lo);
					return 1;
				}
				stack_trim(stack_lo);
				busy = 0;
			} else if (wait > 1000 - (now - idle_since))
				wait = 1000 - (now - idle_since);
		}
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000;
		pfd.revents = 0;
		if (ppoll(&pfd, 1, &ts, &waitmask) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, sizeof(why), "Poll error: %s",
			    strerror(errno));
			conn_kill(c, why);
			return 0;
		}
		if (pfd.revents == 0 && (pfd.events & POLLIN) &&
		    c->ssl != NULL && SSL_pending(c->ssl) > 0)
			pfd.revents = POLLIN;
		if (pfd.revents == 0)
			continue;
		busy = 1;
		idle_since = mono_ms();
		if ((pfd.revents & POLLOUT) && conn_flush(c) == -1) {
			conn_kill(c, "Write error");
			return 0;
		}
		/* An HTTP answer, or a close frame, all sent. */
		if (c->web != NULL && web_finished(c)) {
			conn_kill(c, "Connection closed");
			return 0;
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL) ||
		    (c->tls_want_write && (pfd.revents & POLLOUT))) &&
		    client_read(c) == -1)
			return 0;
	}
}

/* A client's thread after the first (client_renew). */
static void *
client_renewed(void *arg)
{
	struct conn *c = arg;
	char *stack_lo;

	/* The thread before published this one under out_lock. */
	pthread_mutex_lock(&c->out_lock);
	stack_lo = c->stack_lo;
	pthread_mutex_unlock(&c->out_lock);
	client_self = c;
	pthread_setname_np(pthread_self(), "natterd-client");
	if (client_loop(c, 0, stack_lo) == 0)
		client_teardown(c);
	return NULL;
}

void *
client_main(void *arg)
{
	struct conn *c = arg;

	/* The accept thread published c before it created this thread,
	 * which orders those writes before ours. */
	client_self = c;
	pthread_setname_np(pthread_self(), "natterd-client");
	/* The handshake happens in the first reads, under the
	 * registration timeout like any silent connection. */
	if (c->tls && (c->ssl = tls_accept_new(c->fd)) == NULL)
		conn_kill(c, "TLS is not available");
	if (c->local)
		unix_login(c);
	if (client_loop(c, 1, stack_low(pthread_self())) == 0)
		client_teardown(c);
	return NULL;
}
