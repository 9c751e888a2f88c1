/*
 * net.c: the message thread.  It owns the socket: connects (again, with
 * backoff, when the connection is lost), registers, reads, applies each
 * line to the model with handle_line under ui_lock, draws, and sends
 * what handle_line asked for once the lock is released.
 *
 * Locks: send_mutex guards sock_fd for every writer (both threads
 * send).  It is never taken with ui_lock held, nor ui_lock under it.
 */

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "casemap.h"
#include "frame.h"
#include "irc.h"
#include "natter.h"

#define BACKOFF_MAX	60	/* seconds between attempts, at most */
#define CONNECT_TIMEOUT	15000	/* ms */
#define DRAIN_TIMEOUT	1000	/* ms to wait for the server after QUIT */
#define OUT_MAX		32	/* lines handle_line may ask for at once */

static struct session	*ns;		/* guarded by ui_lock */
static struct edit	*ned;		/* guarded by ui_lock */
static char		 nhost[256];
static char		 nport[16];
static char		 nlabel[300];
static pthread_t	 net_thread;
static int		 net_running;
static int		 wake[2] = { -1, -1 };	/* net_stop writes here */
static atomic_int	 stopping;
static atomic_int	 connected;
static int		 ever_registered;	/* message thread only */

/* Guards sock_fd, which is -1 while not connected. */
static pthread_mutex_t	 send_mutex = PTHREAD_MUTEX_INITIALIZER;
static int		 sock_fd = -1;

/* What one read produced: lines to send and log lines. */
struct netctx {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	struct chatlog	*log;
};

void
net_init(struct session *s, struct edit *e, const char *host,
    const char *port)
{
	ns = s;
	ned = e;
	snprintf(nhost, sizeof(nhost), "%s", host);
	snprintf(nport, sizeof(nport), "%s", port);
	if (strchr(host, ':') != NULL)
		snprintf(nlabel, sizeof(nlabel), "[%s]:%s", host, port);
	else
		snprintf(nlabel, sizeof(nlabel), "%s:%s", host, port);
}

int
net_connected(void)
{
	return atomic_load(&connected);
}

static int
send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
send_raw(const char *p, size_t len)
{
	int rc = -1;

	pthread_mutex_lock(&send_mutex);
	if (sock_fd != -1)
		rc = send_all(sock_fd, p, len);
	pthread_mutex_unlock(&send_mutex);
	return rc;
}

int
net_send(const char *line)
{
	char buf[IRC_LINE_MAX + 1];
	int n;

	n = snprintf(buf, sizeof(buf), "%s\r\n", line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return send_raw(buf, (size_t)n);
}

static void
ctx_add(struct netctx *c, const char *line)
{
	size_t n = strlen(line) + 2, cap;
	char *v;

	if (c->len + n > c->cap) {
		cap = c->cap ? c->cap * 2 : 1024;
		while (cap < c->len + n)
			cap *= 2;
		if ((v = realloc(c->buf, cap)) == NULL)
			return;
		c->buf = v;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, line, n - 2);
	memcpy(c->buf + c->len + n - 2, "\r\n", 2);
	c->len += n;
}

/* Milliseconds to the next minute, for the clock. */
static int
clock_wait(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int)(60 - ts.tv_sec % 60) * 1000 -
	    (int)(ts.tv_nsec / 1000000) + 20;
}

static void
redraw(void)
{
	ui_lock();
	ui_draw_locked(ns, ned);
	ui_unlock();
}

/* Sleeps ms (ticking the clock); 1 if net_stop came meanwhile. */
static int
nap(int ms)
{
	struct pollfd pfd = { .fd = wake[0], .events = POLLIN };
	struct timespec t0, t1;
	int left = ms, step, rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0 && !atomic_load(&stopping)) {
		step = clock_wait();
		if (step > left)
			step = left;
		rc = poll(&pfd, 1, step);
		if (rc > 0)
			return 1;
		if (rc == 0 && step < left)
			redraw();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
	return atomic_load(&stopping);
}

/* Connects to nhost:nport; -1 with a reason. */
static int
dial(char *why, size_t whylen)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd[2];
	struct timeval tv;
	socklen_t sl;
	int fd = -1, rc, e = 0, fl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(nhost, nport, &hints, &res)) != 0) {
		snprintf(why, whylen, "%s", gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			e = errno;
			goto next;
		}
		pfd[0].fd = fd;
		pfd[0].events = POLLOUT;
		pfd[1].fd = wake[0];
		pfd[1].events = POLLIN;
		do
			rc = poll(pfd, 2, CONNECT_TIMEOUT);
		while (rc == -1 && errno == EINTR);
		if (rc == 0) {
			e = ETIMEDOUT;
			goto next;
		}
		if (rc == -1 || (pfd[1].revents & POLLIN)) {
			e = rc == -1 ? errno : ECANCELED;
			goto next;
		}
		sl = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
			e = errno;
		if (e == 0)
			break;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(why, whylen, "%s", strerror(e ? e : ECONNREFUSED));
		return -1;
	}
	/* Blocking from now on, but a stuck peer cannot hold a sender
	 * for long. */
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	tv.tv_sec = 10;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
is_room(const char *name)
{
	return name[0] == '#' || name[0] == '&';
}

/* Queues a log line for a PRIVMSG or NOTICE from someone. */
static void
log_message_locked(struct netctx *c, struct irc_msg *m, time_t now)
{
	char from[64], *text, *bang, *end;
	char buf[IRC_LINE_MAX];
	enum line_kind kind;
	size_t n;

	if (m->prefix == NULL || m->nparams < 2 ||
	    (bang = strchr(m->prefix, '!')) == NULL)
		return;
	if (strcmp(m->command, "PRIVMSG") == 0)
		kind = LINE_MSG;
	else if (strcmp(m->command, "NOTICE") == 0)
		kind = LINE_NOTICE;
	else
		return;
	n = (size_t)(bang - m->prefix);
	if (n >= sizeof(from))
		n = sizeof(from) - 1;
	memcpy(from, m->prefix, n);
	from[n] = '\0';
	snprintf(buf, sizeof(buf), "%s", m->params[1]);
	text = buf;
	if (text[0] == '\001') {
		if (kind != LINE_MSG || strncmp(text, "\001ACTION ", 8) != 0)
			return;
		kind = LINE_ACTION;
		text += 8;
		if ((end = strchr(text, '\001')) != NULL)
			*end = '\0';
	}
	/* Our own message echoed back (echo-message) belongs with whom
	 * we sent it to. */
	if (is_room(m->params[0]) || casemap_cmp(from, ns->nick) == 0)
		chatlog_add(&c->log, m->params[0], now, kind, from, text);
	else
		chatlog_add(&c->log, from, now, kind, from, text);
}

static int
on_frame(void *arg, enum frame_event ev, char *line, size_t len)
{
	struct netctx *c = arg;
	struct irc_msg m;
	char out[OUT_MAX][512];
	time_t now = time(NULL);
	int nout = 0, i, was;

	(void)len;
	if (ev != FRAME_LINE || irc_parse(line, &m) == -1)
		return 0;
	was = ns->registered;
	handle_line(ns, &m, now, out, &nout, OUT_MAX);
	/* Replayed history was logged when it was live. */
	if (!ns->line_history)
		log_message_locked(c, &m, now);
	for (i = 0; i < nout; i++)
		ctx_add(c, out[i]);
	if (!was && ns->registered) {
		if (ever_registered)
			say_locked(ns, -1, LINE_INFO, "Reconnected to %s",
			    nlabel);
		ever_registered = 1;
	}
	return 0;
}

static void
lost_locked(void)
{
	struct window *w;
	int i;

	ns->registered = 0;
	for (i = 0; i < ns->wins.n; i++) {
		w = ns->wins.v[i];
		if (w->kind == WIN_ROOM) {
			w->joined = 0;
			window_nicks_clear(w);
		}
	}
}

/* Gives the server a moment to see our QUIT, then returns. */
static void
drain(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec t0, t1;
	char buf[4096];
	int left = DRAIN_TIMEOUT;

	shutdown(fd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0 && poll(&pfd, 1, left) > 0) {
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = DRAIN_TIMEOUT - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
}

/* One connection, registration to end.  Returns 1 if it registered;
 * why says how it ended. */
static int
converse(int fd, char *why, size_t whylen)
{
	struct pollfd pfd[2];
	struct netctx c;
	struct frame fr;
	char buf[4096], out[OUT_MAX][512];
	ssize_t n;
	int rc, registered = 0, nout, i;

	memset(&c, 0, sizeof(c));
	frame_init(&fr);
	pthread_mutex_lock(&send_mutex);
	sock_fd = fd;
	pthread_mutex_unlock(&send_mutex);
	atomic_store(&connected, 1);

	ui_lock();
	ns->registered = 0;
	say_locked(ns, 0, LINE_INFO, "Connected to %s", nlabel);
	/* CAP LS 302 with NICK and USER at once: a server without CAP
	 * registers us straight away. */
	session_hello(ns, out, &nout, OUT_MAX);
	for (i = 0; i < nout; i++)
		ctx_add(&c, out[i]);
	ui_draw_locked(ns, ned);
	ui_unlock();

	for (;;) {
		if (c.len > 0) {
			send_raw(c.buf, c.len);
			c.len = 0;
		}
		chatlog_flush(&c.log);
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = wake[0];
		pfd[1].events = POLLIN;
		rc = poll(pfd, 2, clock_wait());
		if (rc == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, whylen, "poll: %s", strerror(errno));
			break;
		}
		if (rc == 0) {
			redraw();
			continue;
		}
		if (pfd[1].revents & POLLIN) {
			drain(fd);
			snprintf(why, whylen, "quit");
			break;
		}
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "%s", n == 0 ?
			    "connection closed by the server" :
			    strerror(errno));
			break;
		}
		ui_lock();
		frame_feed(&fr, buf, (size_t)n, on_frame, &c);
		if (ns->registered)
			registered = 1;
		if (ns->bell) {
			ui_bell_locked();
			ns->bell = 0;
		}
		ui_draw_locked(ns, ned);
		ui_unlock();
	}

	atomic_store(&connected, 0);
	pthread_mutex_lock(&send_mutex);
	sock_fd = -1;
	pthread_mutex_unlock(&send_mutex);
	close(fd);
	frame_free(&fr);
	chatlog_flush(&c.log);
	free(c.buf);
	return registered;
}

static void *
net_main(void *arg)
{
	char why[256];
	unsigned int seed;
	int backoff = 1, fd, ms, lost;

	(void)arg;
	seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	while (!atomic_load(&stopping)) {
		lost = 0;
		if ((fd = dial(why, sizeof(why))) != -1) {
			if (converse(fd, why, sizeof(why)))
				backoff = 1;
			lost = 1;
		}
		if (atomic_load(&stopping))
			break;
		/* 1 s doubling to a minute, up to a quarter more. */
		ms = backoff * 1000 + rand_r(&seed) % (backoff * 250 + 1);
		ui_lock();
		lost_locked();
		if (lost)
			say_locked(ns, -1, LINE_ERROR,
			    "Disconnected: %s. Reconnecting in %d s\u2026",
			    why, (ms + 500) / 1000);
		else
			say_locked(ns, -1, LINE_ERROR,
			    "Cannot connect to %s: %s. Reconnecting in %d "
			    "s\u2026", nlabel, why, (ms + 500) / 1000);
		ui_draw_locked(ns, ned);
		ui_unlock();
		if (nap(ms))
			break;
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
		    backoff * 2;
	}
	return NULL;
}

int
net_start(void)
{
	int rc;

	if (pipe2(wake, O_CLOEXEC) == -1)
		return -1;
	if ((rc = pthread_create(&net_thread, NULL, net_main, NULL)) != 0) {
		errno = rc;
		return -1;
	}
	pthread_setname_np(net_thread, "net");
	net_running = 1;
	return 0;
}

void
net_stop(void)
{
	if (!net_running)
		return;
	atomic_store(&stopping, 1);
	if (write(wake[1], "x", 1) == -1) {
		/* The thread sees stopping at its next wake-up. */
	}
	pthread_join(net_thread, NULL);
	net_running = 0;
}
