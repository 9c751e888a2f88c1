/*
 * net.c: the message thread.  It owns the socket: connects (again, with
 * backoff, when the connection is lost), speaks TLS when asked (the
 * handshake, then the trust decision: --tls-insecure, --tls-fingerprint,
 * known_servers, the CA store, else the user is asked), registers,
 * reads, applies each line to the model with handle_line under ui_lock,
 * draws, and sends what handle_line asked for once the lock is
 * released.
 *
 * IRCv3 sts: a plain connection whose CAP LS says sts=port=P is left
 * at once for TLS on P; a TLS connection whose certificate we accepted
 * (not --tls-insecure) stores sts=duration=N in sts_policies, and a
 * live policy there turns TLS on before dialling.  Once on, TLS stays
 * on for the rest of the run: no fallback to plain text.
 *
 * With no host given, each attempt tries natterd's Unix socket first
 * (the places net_local() was given, in order) and then TCP; the status
 * window names the one that answered.  A login that fails (handle.c
 * sets login_failed) ends the attempts, like a refused certificate.
 *
 * Dead links: after ping_timeout seconds without a line from the server
 * natter sends a PING, and after as many again the link is dead (closed,
 * said, and dialled again with the backoff); a registration that takes
 * that long is dead too.  The PING's PONG measures the lag (handle.c).
 * Replies that no retry mends (464, 465, TLS against a plain-text port
 * or plain text against a TLS port, a host name that does not exist)
 * set ns->fault: natter says what to change, in one sentence
 * (link_fault_sentence), and waits for /reconnect (net_reconnect), which
 * also cuts a live connection short and skips the wait between tries.
 *
 * Locks, in the order they are taken:
 *   send_mutex	guards sock_fd and sock_ssl for every writer (both
 *		threads send), held for a whole write, waits included: one
 *		writer at a time, so a TLS record SSL_write left half sent
 *		is finished by the same writer with the same bytes, as
 *		OpenSSL requires.
 *   ssl_mutex	guards every call on the SSL object (it is not safe to
 *		use from two threads at once: the message thread reads
 *		while the input thread writes).  Held for one call only,
 *		never while waiting in poll.
 * Neither is ever taken with ui_lock held, nor ui_lock under them.
 * With TLS the socket is non-blocking and every wait is a poll.
 */

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "casemap.h"
#include "frame.h"
#include "irc.h"
#include "natter.h"
#include "sockpath.h"
#include "tls.h"

#define BACKOFF_MAX	60	/* seconds between attempts, at most */
#define CONNECT_TIMEOUT	15000	/* ms, for connect() and the handshake */
#define SEND_TIMEOUT	10000	/* ms a stuck peer may hold a sender */
#define DRAIN_TIMEOUT	1000	/* ms to wait for the server after QUIT */
#define OUT_MAX		32	/* lines handle_line may ask for at once */
#define TICK_MS		1000	/* redraws while a countdown or lag shows */
#define LAG_TICK_MS	200	/* ... and while a PING is unanswered */

static struct session	*ns;		/* guarded by ui_lock */
static struct edit	*ned;		/* guarded by ui_lock */
static char		 nhost[256];
static char		 nport[16];
static char		 nlabel[300];	/* what we are connected to */
static char		 tcplabel[300];	/* host:port */
/* The Unix sockets to try before TCP (set before the thread starts). */
static char		 local_paths[SOCKPATH_CANDIDATES][SOCKPATH_MAX];
static int		 nlocal;
_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == SOCKPATH_MAX,
    "a local path fills a sun_path");
static int		 on_local;	/* message thread: this connection is
					   a Unix socket */
static char		 nkey[PIN_KEY_MAX];	/* known_servers key */
static pthread_t	 net_thread;
static int		 net_running;
static int		 wake[2] = { -1, -1 };	/* net_stop writes here */
static atomic_int	 stopping;
static atomic_int	 redial;		/* /reconnect (net_reconnect) */
static int		 ping_timeout = PING_TIMEOUT_DEFAULT;	/* seconds */
static unsigned		 ping_seq;		/* message thread only */
static atomic_int	 connected;
static int		 ever_registered;	/* message thread only */
/* Message thread only: TLS for the next connection (tls.on, or sts
 * turned it on), the port an sts upgrade asks for (0: none) and the
 * notices said once a run. */
static int		 use_tls;
static int		 sts_upgrade;
static int		 sts_noticed;
/* Message thread only: the port the user asked for, and what sts did
 * to it: sts_from 1 for a stored policy (until sts_until), 2 for a
 * server's upgrade. */
static char		 asked_port[16];
static int		 sts_from;
#define STS_POLICY	1
#define STS_UPGRADE	2
static time_t		 sts_until;

/* Set before the thread starts, read-only after. */
static struct net_tls	 tls;
static SSL_CTX		*tls_ctx;
/* A certificate the user trusted that known_servers could not keep:
 * reconnects accept it.  Message thread only. */
static char		 trusted_fp[TLS_FP_LEN + 1];

/* Guards sock_fd (-1 while not connected) and sock_ssl (NULL without
 * TLS), and serialises writers; see the top. */
static pthread_mutex_t	 send_mutex = PTHREAD_MUTEX_INITIALIZER;
static int		 sock_fd = -1;
static SSL		*sock_ssl;
/* Guards every SSL_* call on the connection's SSL object. */
static pthread_mutex_t	 ssl_mutex = PTHREAD_MUTEX_INITIALIZER;

/* The trust question (tls_ask).  Guarded by ui_lock; the answer also
 * wakes the message thread through answer_pipe. */
static int		 asking;
static int		 answer = -1;	/* 1 yes, 0 no, -1 none yet */
static int		 answer_pipe[2] = { -1, -1 };

/* What one read produced: lines to send and log lines. */
struct netctx {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	struct chatlog	*log;
	int		 plain;		/* TCP without TLS */
};

/* How a connection attempt ended before converse. */
enum trust {
	TRUST_OK,		/* go on */
	TRUST_RETRY,		/* failed: try again after the backoff */
	TRUST_REFUSE		/* refused: do not try again */
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
	snprintf(tcplabel, sizeof(tcplabel), "%s", nlabel);
	snprintf(asked_port, sizeof(asked_port), "%s", port);
	if (pin_key(host, port, nkey, sizeof(nkey)) == -1)
		nkey[0] = '\0';
}

void
net_ping_timeout(int sec)
{
	ping_timeout = sec;
}

void
net_local(char paths[][SOCKPATH_MAX], int n)
{
	int	i;

	nlocal = n < SOCKPATH_CANDIDATES ? n : SOCKPATH_CANDIDATES;
	for (i = 0; i < nlocal; i++)
		snprintf(local_paths[i], sizeof(local_paths[i]), "%s",
		    paths[i]);
}

/* Connects to the first Unix socket that answers; its fd (blocking,
 * with the send timeout), or -1. */
static int
dial_local(void)
{
	struct sockaddr_un sa;
	struct timeval tv;
	int fd, i;

	for (i = 0; i < nlocal; i++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1)
			return -1;
		/* connect() on a Unix socket honours it when the server's
		 * backlog is full. */
		tv.tv_sec = SEND_TIMEOUT / 1000;
		tv.tv_usec = 0;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		/* NUL-terminated, and the same size (sockpath.h). */
		memcpy(sa.sun_path, local_paths[i], sizeof(sa.sun_path));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			snprintf(nlabel, sizeof(nlabel), "%s", local_paths[i]);
			return fd;
		}
		close(fd);
	}
	return -1;
}

int
net_tls_init(const struct net_tls *t, char *why, size_t whylen)
{
	tls = *t;
	use_tls = tls.on;
	if (tls.no_tls)
		return 0;
	if ((tls_ctx = tls_client_ctx(tls.cafile, tls.cert, tls.key, why,
	    whylen)) == NULL) {
		/* Only an sts upgrade would need it: that then fails
		 * (tls_connect says why) rather than natter now. */
		if (!tls.on) {
			ERR_clear_error();
			return 0;
		}
		return -1;
	}
	return 0;
}

int
net_asking_locked(void)
{
	return asking;
}

void
net_answer_locked(int yes)
{
	if (!asking)
		return;
	answer = yes;
	asking = 0;
	/* The pipe is non-blocking and nearly empty: this never waits. */
	if (write(answer_pipe[1], "a", 1) == -1) {
		/* A wake-up is already waiting there. */
	}
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
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int)((t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Writes all of p through TLS; send_mutex held, so this writer alone
 * retries a record SSL_write could not finish. */
static int
tls_send_all(int fd, SSL *ssl, const char *p, size_t len)
{
	struct pollfd pfd = { .fd = fd };
	struct timespec t0;
	int n, e, left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len > 0) {
		pthread_mutex_lock(&ssl_mutex);
		ERR_clear_error();
		n = SSL_write(ssl, p, len > INT_MAX ? INT_MAX : (int)len);
		e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, n);
		ERR_clear_error();
		pthread_mutex_unlock(&ssl_mutex);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (e == SSL_ERROR_WANT_WRITE)
			pfd.events = POLLOUT;
		else if (e == SSL_ERROR_WANT_READ)
			pfd.events = POLLIN;	/* the reader may get there
						   first: poll() is capped */
		else
			return -1;
		if ((left = SEND_TIMEOUT - elapsed_ms(&t0)) <= 0)
			return -1;
		if (pfd.events == POLLIN && left > 50)
			left = 50;
		if (poll(&pfd, 1, left) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

static int
send_raw(const char *p, size_t len)
{
	int rc = -1;

	pthread_mutex_lock(&send_mutex);
	if (sock_ssl != NULL)
		rc = tls_send_all(sock_fd, sock_ssl, p, len);
	else if (sock_fd != -1)
		rc = send_all(sock_fd, p, len);
	pthread_mutex_unlock(&send_mutex);
	return rc;
}

int
net_send(const char *line)
{
	char buf[IRC_TAGS_MAX + IRC_LINE_MAX + 1];	/* a label, a batch */
	int n;

	n = snprintf(buf, sizeof(buf), "%s\r\n", line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return send_raw(buf, (size_t)n);
}

int
net_send_lines(const char *lines)
{
	size_t n = strlen(lines), i, k = 0, start = 0;
	char *buf;
	int rc;

	/* Each '\n' becomes CRLF, and one more ends the last line. */
	if ((buf = malloc(2 * n + 3)) == NULL)
		return -1;
	for (i = 0; i <= n; i++) {
		if (lines[i] != '\n' && lines[i] != '\0') {
			buf[k++] = lines[i];
			continue;
		}
		if (i - start > IRC_TAGS_MAX + IRC_LINE_MAX - 2) {
			free(buf);
			return -1;
		}
		buf[k++] = '\r';
		buf[k++] = '\n';
		start = i + 1;
	}
	/* One write under send_mutex: all of it goes to one connection. */
	rc = send_raw(buf, k);
	free(buf);
	return rc;
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

/* Empties the wake pipe (net_stop, net_reconnect); the flags say
 * what woke us. */
static void
wake_drain(void)
{
	char buf[16];

	while (read(wake[0], buf, sizeof(buf)) > 0)
		;
}

/* 1 once net_stop or net_reconnect asked the thread to stop waiting. */
static int
woken(void)
{
	return atomic_load(&stopping) || atomic_load(&redial);
}

/* Sleeps ms, redrawing on the minute (the clock) and on each whole
 * second left (the status bar's countdown); 1 if net_stop or
 * net_reconnect came meanwhile. */
static int
nap(int ms)
{
	struct pollfd pfd = { .fd = wake[0], .events = POLLIN };
	long long end = link_clock_ms() + ms;
	int left = ms, step, rc;

	while (left > 0 && !woken()) {
		step = clock_wait();
		if (step > left % TICK_MS + 1)
			step = left % TICK_MS + 1;
		if (step > left)
			step = left;
		rc = poll(&pfd, 1, step);
		if (rc > 0)
			wake_drain();
		else if (rc == 0 && step < left)
			redraw();
		left = (int)(end - link_clock_ms());
	}
	return woken();
}

/* Connects to nhost:nport; -1 with a reason, and with the errno that
 * ended the last try in *err (0 if the name did not resolve) or a
 * fault that no retry mends in *fault. */
static int
dial(char *why, size_t whylen, int *err, enum link_fault *fault)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd[2];
	struct timeval tv;
	socklen_t sl;
	int fd = -1, rc, e = 0, fl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	*err = 0;
	if ((rc = getaddrinfo(nhost, nport, &hints, &res)) != 0) {
		snprintf(why, whylen, "%s", gai_strerror(rc));
		/* EAI_AGAIN (no answer from DNS: offline, say) may mend;
		 * a name that DNS says does not exist will not. */
		if (rc == EAI_NONAME)
			*fault = FAULT_NO_HOST;
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
		*err = e ? e : ECONNREFUSED;
		snprintf(why, whylen, "%s", strerror(*err));
		return -1;
	}
	/* TLS stays non-blocking (see the top).  Plain text blocks from
	 * now on, but a stuck peer cannot hold a sender for long. */
	if (use_tls)
		return fd;
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	tv.tv_sec = SEND_TIMEOUT / 1000;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* "TLSv1.3" -> "TLS 1.3" */
static void
tls_version(SSL *ssl, char *out, size_t outlen)
{
	const char *v = SSL_get_version(ssl);

	if (strncmp(v, "TLSv", 4) == 0)
		snprintf(out, outlen, "TLS %s", v + 4);
	else
		snprintf(out, outlen, "%s", v);
}

/*
 * The TLS handshake on fd (non-blocking) within CONNECT_TIMEOUT;
 * net_stop cancels it.  The certificate is not judged here (see
 * tls_trust).  NULL with why.
 */
static SSL *
tls_connect(int fd, char *why, size_t whylen)
{
	struct pollfd pfd[2];
	struct timespec t0;
	unsigned char addr[16];
	char name[256];
	size_t n;
	SSL *ssl;
	int rc, e, left;

	if (tls_ctx == NULL) {
		snprintf(why, whylen, "no TLS context");
		return NULL;
	}
	ERR_clear_error();
	if ((ssl = SSL_new(tls_ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		tls_error(why, whylen, "SSL_new");
		SSL_free(ssl);
		return NULL;
	}
	/* An address literal is checked against the certificate's IP
	 * addresses and gets no SNI; a name gets both (without the dot
	 * of a fully qualified "host."). */
	if (inet_pton(AF_INET, nhost, addr) == 1 ||
	    inet_pton(AF_INET6, nhost, addr) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    nhost) != 1) {
			tls_error(why, whylen, "TLS address check");
			goto fail;
		}
	} else {
		snprintf(name, sizeof(name), "%s", nhost);
		if ((n = strlen(name)) > 1 && name[n - 1] == '.')
			name[n - 1] = '\0';
		if (SSL_set_tlsext_host_name(ssl, name) != 1 ||
		    SSL_set1_host(ssl, name) != 1) {
			tls_error(why, whylen, "TLS host name");
			goto fail;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((rc = SSL_connect(ssl)) == 1)
			return ssl;
		e = SSL_get_error(ssl, rc);
		if (e == SSL_ERROR_WANT_READ)
			pfd[0].events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			pfd[0].events = POLLOUT;
		else if (e == SSL_ERROR_SYSCALL && errno != 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			goto fail;
		} else if (e == SSL_ERROR_SYSCALL || ERR_GET_REASON(
		    ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			snprintf(why, whylen, "the server closed the "
			    "connection");
			goto fail;
		} else {
			tls_error(why, whylen, "TLS");
			/* "TLS: wrong version number" -> the reason alone */
			if (strncmp(why, "TLS: ", 5) == 0)
				memmove(why, why + 5, strlen(why + 5) + 1);
			goto fail;
		}
		if ((left = CONNECT_TIMEOUT - elapsed_ms(&t0)) <= 0) {
			snprintf(why, whylen, "timed out after %d s",
			    CONNECT_TIMEOUT / 1000);
			goto fail;
		}
		pfd[0].fd = fd;
		pfd[1].fd = wake[0];
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, left) == -1 && errno != EINTR) {
			snprintf(why, whylen, "poll: %s", strerror(errno));
			goto fail;
		}
		if (pfd[1].revents & POLLIN) {
			snprintf(why, whylen, "cancelled");
			goto fail;
		}
	}
fail:
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

/* Says lines[] in every window, in the error colour, and draws. */
static void
say_all(enum line_kind kind, const char *const *lines, int n)
{
	int i;

	ui_lock();
	for (i = 0; i < n; i++)
		say_locked(ns, -1, kind, "%s", lines[i]);
	ui_draw_locked(ns, ned);
	ui_unlock();
}

/*
 * Asks the user whether to trust the certificate (fingerprint fp)
 * that failed verification for reason, and remembers it if so.
 * Waits for the answer (net_answer_locked) or net_stop.
 */
static enum trust
tls_ask(const char *reason, const char *fp)
{
	struct pollfd pfd[2];
	char l1[1024], l2[256], l3[512], why[512], c;
	const char *lines[3] = { l1, l2, l3 };
	int rc, yes, line;

	snprintf(l1, sizeof(l1), "The TLS certificate of %s is not trusted: "
	    "%s", nlabel, reason);
	snprintf(l2, sizeof(l2), "Fingerprint: SHA256:%s", fp);
	snprintf(l3, sizeof(l3), "Trust this certificate and remember it "
	    "for %s? Type yes or no.", nlabel);
	while (read(answer_pipe[0], &c, 1) == 1)
		;		/* an answer to an older question */
	ui_lock();
	for (rc = 0; rc < 3; rc++)
		say_locked(ns, -1, LINE_ERROR, "%s", lines[rc]);
	answer = -1;
	asking = 1;
	ui_draw_locked(ns, ned);
	ui_unlock();

	for (;;) {
		pfd[0].fd = answer_pipe[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = wake[0];
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		rc = poll(pfd, 2, clock_wait());
		if (rc == -1 && errno != EINTR)
			break;
		if ((pfd[1].revents & POLLIN) || atomic_load(&stopping))
			break;
		if (rc == 0) {
			redraw();	/* the clock */
			continue;
		}
		while (read(answer_pipe[0], &c, 1) == 1)
			;
		ui_lock();
		yes = answer;
		ui_unlock();
		if (yes == -1)
			continue;
		if (!yes) {
			snprintf(l1, sizeof(l1), "Certificate not trusted.");
			say_all(LINE_ERROR, lines, 1);
			return TRUST_REFUSE;
		}
		snprintf(trusted_fp, sizeof(trusted_fp), "%s", fp);
		if (tls.pinfile == NULL || nkey[0] == '\0')
			return TRUST_OK;
		if ((line = pin_add(tls.pinfile, nkey, fp, why,
		    sizeof(why))) == -1) {
			snprintf(l1, sizeof(l1), "Cannot remember the "
			    "certificate: %s (trusted until natter exits)",
			    why);
			say_all(LINE_ERROR, lines, 1);
		} else {
			snprintf(l1, sizeof(l1), "Certificate trusted and "
			    "remembered (line %d of %s)", line, tls.pinfile);
			say_all(LINE_INFO, lines, 1);
		}
		return TRUST_OK;
	}
	ui_lock();
	asking = 0;
	ui_unlock();
	return TRUST_REFUSE;
}

/*
 * Decides whether to go on with the server's certificate: accept
 * anything (--tls-insecure), its fingerprint (--tls-fingerprint), its
 * pin in known_servers, verification against the CA store and the
 * host name, else ask the user.  how gets what the "Connected to"
 * line says.
 */
static enum trust
tls_trust(SSL *ssl, char *how, size_t howlen)
{
	char fp[TLS_FP_LEN + 1], pinned[TLS_FP_LEN + 1], ver[32];
	char l[5][1024], why[512];
	const char *lines[5];
	enum pin_status st = PIN_NONE;
	X509 *cert;
	long vr;
	int i, line = 0;

	for (i = 0; i < 5; i++)
		lines[i] = l[i];
	tls_version(ssl, ver, sizeof(ver));
	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		snprintf(how, howlen, "the server sent no certificate");
		return TRUST_RETRY;
	}
	i = tls_fingerprint(cert, fp, sizeof(fp));
	X509_free(cert);
	if (i == -1) {
		tls_error(how, howlen, "certificate fingerprint");
		return TRUST_RETRY;
	}
	vr = SSL_get_verify_result(ssl);

	if (tls.insecure) {
		snprintf(l[0], sizeof(l[0]), "TLS without certificate checks "
		    "(--tls-insecure): the link is encrypted, but anyone on "
		    "the network path could pose as the server");
		say_all(LINE_ERROR, lines, 1);
		snprintf(how, howlen, "%s, certificate not checked", ver);
		return TRUST_OK;
	}
	if (tls.fingerprint != NULL) {
		if (strcmp(fp, tls.fingerprint) == 0) {
			snprintf(how, howlen, "%s, certificate matches "
			    "--tls-fingerprint", ver);
			return TRUST_OK;
		}
		snprintf(l[0], sizeof(l[0]), "The TLS certificate of %s does "
		    "not match --tls-fingerprint", nlabel);
		snprintf(l[1], sizeof(l[1]), "Expected: SHA256:%s",
		    tls.fingerprint);
		snprintf(l[2], sizeof(l[2]), "Got:      SHA256:%s", fp);
		say_all(LINE_ERROR, lines, 3);
		return TRUST_REFUSE;
	}
	if (tls.pinfile != NULL && nkey[0] != '\0')
		st = pin_check(tls.pinfile, nkey, fp, &line, pinned,
		    sizeof(pinned), why, sizeof(why));
	switch (st) {
	case PIN_MATCH:
		snprintf(how, howlen, "%s, pinned certificate", ver);
		return TRUST_OK;
	case PIN_CHANGED:
		snprintf(l[0], sizeof(l[0]), "WARNING: THE TLS CERTIFICATE OF "
		    "%s HAS CHANGED", nlabel);
		snprintf(l[1], sizeof(l[1]), "Pinned: SHA256:%s", pinned);
		snprintf(l[2], sizeof(l[2]), "Now:    SHA256:%s", fp);
		snprintf(l[3], sizeof(l[3]), "Someone may be intercepting the "
		    "connection (or the server got a new certificate).");
		snprintf(l[4], sizeof(l[4]), "If you trust the change, remove "
		    "line %d of %s and start natter again.", line,
		    tls.pinfile);
		say_all(LINE_ERROR, lines, 5);
		return TRUST_REFUSE;
	case PIN_ERROR:
		if (vr == X509_V_OK) {
			snprintf(l[0], sizeof(l[0]), "Cannot read the pinned "
			    "certificates: %s", why);
			say_all(LINE_ERROR, lines, 1);
			break;
		}
		snprintf(l[0], sizeof(l[0]), "Cannot read the pinned "
		    "certificates: %s; the certificate of %s is not "
		    "trusted: %s", why, nlabel,
		    X509_verify_cert_error_string(vr));
		say_all(LINE_ERROR, lines, 1);
		return TRUST_REFUSE;
	case PIN_NONE:
		break;
	}
	if (vr == X509_V_OK) {
		snprintf(how, howlen, "%s, certificate verified", ver);
		return TRUST_OK;
	}
	/* Trusted by the user this run, but known_servers failed us. */
	if (strcmp(fp, trusted_fp) == 0) {
		snprintf(how, howlen, "%s, trusted certificate", ver);
		return TRUST_OK;
	}
	if (tls.pinfile == NULL) {
		snprintf(l[0], sizeof(l[0]), "The TLS certificate of %s is not "
		    "trusted: %s", nlabel, X509_verify_cert_error_string(vr));
		snprintf(l[1], sizeof(l[1]), "Fingerprint: SHA256:%s", fp);
		snprintf(l[2], sizeof(l[2]), "No known_servers file (HOME is "
		    "not set): use --tls-fingerprint to trust it.");
		say_all(LINE_ERROR, lines, 3);
		return TRUST_REFUSE;
	}
	if (tls_ask(X509_verify_cert_error_string(vr), fp) != TRUST_OK)
		return TRUST_REFUSE;
	snprintf(how, howlen, "%s, pinned certificate", ver);
	return TRUST_OK;
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
	/* An ERROR before registering that says why: natterd's in plain
	 * text on its TLS port; ngIRCd's for a wrong password (it sends
	 * no 464). */
	if (!was && ns->fault == FAULT_NONE && m.command != NULL &&
	    strcmp(m.command, "ERROR") == 0 && m.nparams > 0) {
		if (c->plain && link_tls_error(m.params[0]))
			ns->fault = FAULT_TLS_PORT;
		else if (link_password_error(m.params[0]))
			ns->fault = FAULT_PASSWORD;
	}
	handle_line(ns, &m, now, out, &nout, OUT_MAX);
	/* Replayed history was logged when it was live. */
	if (!ns->line_history)
		log_message_locked(c, &m, now);
	for (i = 0; i < nout; i++)
		ctx_add(c, out[i]);
	if (!was && ns->registered) {
		ns->link_state = LINK_UP;
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
	ns->link[0] = '\0';
	ns->ping_at = 0;
	for (i = 0; i < ns->wins.n; i++) {
		w = ns->wins.v[i];
		if (w->kind == WIN_ROOM) {
			w->joined = 0;
			window_nicks_clear(w);
		}
	}
}

/* Gives the server a moment to see our QUIT (after a TLS close_notify,
 * best effort), then returns. */
static void
drain(int fd, SSL *ssl)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec t0;
	char buf[4096];
	int left = DRAIN_TIMEOUT;

	if (ssl != NULL) {
		/* Not in the middle of another writer's record. */
		pthread_mutex_lock(&send_mutex);
		pthread_mutex_lock(&ssl_mutex);
		ERR_clear_error();
		SSL_shutdown(ssl);
		ERR_clear_error();
		pthread_mutex_unlock(&ssl_mutex);
		pthread_mutex_unlock(&send_mutex);
	}
	shutdown(fd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* What comes back is not read as TLS: it is thrown away. */
	while (left > 0 && poll(&pfd, 1, left) > 0) {
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
		left = DRAIN_TIMEOUT - elapsed_ms(&t0);
	}
}

/*
 * Reads what the connection has into buf: >0 bytes, 0 at the end, -1
 * on an error (why), -2 if nothing is there yet (poll for *events).
 * *more: TLS holds decrypted or buffered bytes poll() cannot see.
 */
static ssize_t
conn_read(int fd, SSL *ssl, char *buf, size_t len, short *events,
    int *more, char *why, size_t whylen)
{
	ssize_t n;
	int rc, e, reason = 0;

	*more = 0;
	*events = POLLIN;
	if (ssl == NULL) {
		if ((n = read(fd, buf, len)) == -1 && (errno == EINTR ||
		    errno == EAGAIN))
			return -2;
		if (n == -1)
			snprintf(why, whylen, "%s", strerror(errno));
		return n;
	}
	pthread_mutex_lock(&ssl_mutex);
	ERR_clear_error();
	errno = 0;
	rc = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	e = rc > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
	if (rc > 0)
		*more = SSL_has_pending(ssl);
	else if (e == SSL_ERROR_SSL)
		reason = ERR_GET_REASON(ERR_peek_last_error());
	pthread_mutex_unlock(&ssl_mutex);
	switch (e) {
	case SSL_ERROR_NONE:
		return rc;
	case SSL_ERROR_WANT_READ:
		return -2;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return -2;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == 0)
			return 0;
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	default:
		/* Many servers close without a close_notify. */
		if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return 0;
		}
		tls_error(why, whylen, "TLS");
		return -1;
	}
}

/* Dials port from now on (an sts upgrade or policy). */
static void
set_port(int port)
{
	snprintf(nport, sizeof(nport), "%d", port);
	if (strchr(nhost, ':') != NULL)
		snprintf(nlabel, sizeof(nlabel), "[%s]:%s", nhost, nport);
	else
		snprintf(nlabel, sizeof(nlabel), "%s:%s", nhost, nport);
	snprintf(tcplabel, sizeof(tcplabel), "%s", nlabel);
	if (pin_key(nhost, nport, nkey, sizeof(nkey)) == -1)
		nkey[0] = '\0';
	ui_lock();
	ui_set_server_locked(nlabel);
	ui_unlock();
}

static void
say_line(enum line_kind kind, const char *line)
{
	const char *lines[1] = { line };

	say_all(kind, lines, 1);
}

static void
local_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

/*
 * Before each attempt: a live sts policy for the host turns TLS on (on
 * the policy's port, unless TLS was asked for on a port of the user's
 * own); with --no-tls the user overrides it, and is told once.
 */
static void
sts_policy(void)
{
	char line[1024], when[64], why[512];
	time_t expiry;
	int port, rc;

	if (use_tls || tls.stsfile == NULL)
		return;
	if ((rc = sts_lookup(tls.stsfile, nhost, time(NULL), &port, &expiry,
	    why, sizeof(why))) == -1) {
		if (!sts_noticed) {
			snprintf(line, sizeof(line), "Cannot read the sts "
			    "policies: %s", why);
			say_line(LINE_ERROR, line);
			sts_noticed = 1;
		}
		return;
	}
	if (rc == 0)
		return;
	local_time(expiry, when, sizeof(when));
	if (tls.no_tls) {
		if (!sts_noticed) {
			snprintf(line, sizeof(line), "%s has an sts policy "
			    "(TLS on port %d until %s); connecting without "
			    "TLS (--no-tls)", nhost, port, when);
			say_line(LINE_ERROR, line);
			sts_noticed = 1;
		}
		return;
	}
	use_tls = 1;
	sts_from = STS_POLICY;
	sts_until = expiry;
	set_port(port);
	if (strcmp(nport, asked_port) == 0)
		snprintf(line, sizeof(line), "Using TLS on %s port %d (sts "
		    "policy until %s)", nhost, port, when);
	else
		snprintf(line, sizeof(line), "Using TLS on %s port %d instead "
		    "of %s (sts policy until %s)", nhost, port, asked_port,
		    when);
	say_line(LINE_INFO, line);
}

/*
 * The sts value a CAP LS carried (value).  Plain text: with port=P,
 * returns P (leave for TLS on P) unless --no-tls (then says so once).
 * TLS whose certificate we accepted: duration=N stores the policy,
 * duration=0 removes it.  Returns 0 to carry on.
 */
static int
sts_act(int secure, const char *value)
{
	struct sts_value v;
	char line[1024], why[512];
	int rc;

	sts_parse(value, &v);
	if (!secure) {
		if (v.port == 0)
			return 0;
		if (tls.no_tls) {
			if (!sts_noticed) {
				snprintf(line, sizeof(line), "The server "
				    "offers TLS on port %d (sts); staying on "
				    "plain text (--no-tls)", v.port);
				say_line(LINE_INFO, line);
				sts_noticed = 1;
			}
			return 0;
		}
		snprintf(line, sizeof(line), "The server requires TLS (sts): "
		    "reconnecting to %s port %d with TLS instead of %s",
		    nhost, v.port, nport);
		say_line(LINE_INFO, line);
		sts_from = STS_UPGRADE;
		return v.port;
	}
	/* A policy only from a server we know is the server. */
	if (tls.insecure || v.duration < 0 || tls.stsfile == NULL)
		return 0;
	if (v.duration == 0)
		rc = sts_remove(tls.stsfile, nhost, why, sizeof(why));
	else
		rc = sts_store(tls.stsfile, nhost, atoi(nport), time(NULL) +
		    (time_t)v.duration, why, sizeof(why));
	if (rc == -1) {
		snprintf(line, sizeof(line), "Cannot %s the sts policy: %s",
		    v.duration == 0 ? "remove" : "store", why);
		say_line(LINE_ERROR, line);
	}
	return 0;
}

/*
 * Is the link alive?  A server silent for ping_timeout gets a PING
 * (its time in *ping_at and ns->ping_at, for the lag); silent for twice
 * that, or not done registering by then, it is dead: -1 with why.
 * Else the ms poll may wait before asking again.
 */
static int
alive(long long start, int registered, long long heard, long long *ping_at,
    char *why, size_t whylen)
{
	long long now = link_clock_ms(), bound = ping_timeout * 1000LL;
	long long next;
	char line[64];
	int wait;

	if (now - heard >= 2 * bound) {
		snprintf(why, whylen, "no answer from %s for %lld s", nlabel,
		    (now - heard) / 1000);
		return -1;
	}
	if (!registered && now - start >= 2 * bound) {
		snprintf(why, whylen, "%s did not finish registering in %lld s",
		    nlabel, (now - start) / 1000);
		return -1;
	}
	/* One PING a silence; one never answered is given up on. */
	if (now - heard >= bound && (*ping_at == 0 || now - *ping_at >=
	    2 * bound)) {
		*ping_at = now;
		ui_lock();
		ns->ping_at = now;
		snprintf(ns->ping_token, sizeof(ns->ping_token), "natter-%u",
		    ++ping_seq);
		snprintf(line, sizeof(line), "PING :%s\r\n", ns->ping_token);
		ui_unlock();
		send_raw(line, strlen(line));
	}
	next = *ping_at != 0 ? heard + 2 * bound : heard + bound;
	if (!registered && start + 2 * bound < next)
		next = start + 2 * bound;
	wait = clock_wait();
	if (next - now + 1 < wait)
		wait = (int)(next - now + 1);
	/* The lag in the status bar grows while the PONG is late. */
	if (*ping_at != 0 && wait > LAG_TICK_MS)
		wait = LAG_TICK_MS;
	return wait;
}

/* One connection, registration to end; ssl is NULL for plain text and
 * how says what the TLS link is.  Returns 1 if it registered; why says
 * how it ended. */
static int
converse(int fd, SSL *ssl, const char *how, char *why, size_t whylen)
{
	struct pollfd pfd[2];
	struct netctx c;
	struct frame fr;
	/* Smaller than the records natterd writes (4 KB and more): the
	 * path for bytes TLS holds back (more) runs all the time, not
	 * once in a while. */
	char buf[2048], out[OUT_MAX][512], stsval[128];
	ssize_t n;
	short events = POLLIN;
	int rc, registered = 0, nout, i, more = 0, undrawn = 0, sts = 0;
	int fault = 0, heard_any = 0, wait;
	long long start = link_clock_ms(), heard = start, ping_at = 0;

	memset(&c, 0, sizeof(c));
	c.plain = ssl == NULL && !on_local;
	frame_init(&fr);
	pthread_mutex_lock(&send_mutex);
	sock_fd = fd;
	sock_ssl = ssl;
	pthread_mutex_unlock(&send_mutex);
	atomic_store(&connected, 1);

	ui_lock();
	ns->registered = 0;
	ns->ping_at = 0;
	ns->lag_ms = 0;
	if (ssl != NULL) {
		say_locked(ns, 0, LINE_INFO, "Connected to %s (%s)", nlabel,
		    how);
		snprintf(ns->link, sizeof(ns->link), "%s", tls.insecure ?
		    "TLS unchecked" : "TLS");
	} else
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
		/* TLS held back the end of a record that then was not
		 * whole: draw what came before waiting. */
		if (undrawn && !more) {
			redraw();
			undrawn = 0;
		}
		if ((wait = alive(start, registered, heard, &ping_at, why,
		    whylen)) == -1)
			break;
		pfd[0].fd = fd;
		pfd[0].events = events;
		pfd[1].fd = wake[0];
		pfd[1].events = POLLIN;
		/* Bytes TLS already holds do not make poll() fire. */
		rc = poll(pfd, 2, more ? 0 : wait);
		if (rc == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, whylen, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN) {
			wake_drain();
			if (!woken())
				continue;
			if (!atomic_load(&stopping))
				net_send("QUIT :Reconnecting");
			drain(fd, ssl);
			snprintf(why, whylen, "%s", atomic_load(&stopping) ?
			    "quit" : "reconnecting (/reconnect)");
			break;
		}
		if (rc == 0 && !more) {
			redraw();
			continue;
		}
		n = conn_read(fd, ssl, buf, sizeof(buf), &events, &more, why,
		    whylen);
		if (n == -2)
			continue;
		if (n <= 0) {
			/* Many TLS servers close on plain text without a
			 * word; so may a server in trouble: a hint, not a
			 * reason to stop. */
			if (n == 0 && c.plain && !heard_any)
				snprintf(why, whylen, "%s closed the connection "
				    "without a word (a TLS port? add --tls)",
				    nlabel);
			else if (n == 0)
				snprintf(why, whylen, "connection closed by "
				    "the server");
			break;
		}
		heard = link_clock_ms();
		ui_lock();
		/* A TLS alert (or handshake) answering our plain text. */
		if (c.plain && !heard_any && link_tls_bytes(buf, (size_t)n))
			ns->fault = FAULT_TLS_PORT;
		heard_any = 1;
		frame_feed(&fr, buf, (size_t)n, on_frame, &c);
		if (ns->registered)
			registered = 1;
		ping_at = ns->ping_at;	/* a PONG settled it */
		fault = ns->fault != FAULT_NONE;
		ui_notify_locked(ns);
		/* A local socket is not the network sts guards. */
		if (ns->sts_seen && !on_local) {
			ns->sts_seen = 0;
			snprintf(stsval, sizeof(stsval), "%s", ns->sts);
			sts = 1;
		}
		/* One draw for a burst (see undrawn above). */
		if (more)
			undrawn = 1;
		else
			ui_draw_locked(ns, ned);
		ui_unlock();
		/* Disk I/O and messages: outside ui_lock.  An upgrade
		 * leaves before CAP END, so nothing registers in plain
		 * text. */
		if (sts && (sts_upgrade = sts_act(ssl != NULL, stsval)) != 0) {
			snprintf(why, whylen, "sts upgrade");
			break;
		}
		sts = 0;
		/* No retry mends it: net_main says what will. */
		if (fault) {
			snprintf(why, whylen, "fault");
			break;
		}
	}

	atomic_store(&connected, 0);
	pthread_mutex_lock(&send_mutex);
	sock_fd = -1;
	sock_ssl = NULL;
	pthread_mutex_unlock(&send_mutex);
	/* No writer can hold ssl now. */
	SSL_free(ssl);
	close(fd);
	frame_free(&fr);
	chatlog_flush(&c.log);
	free(c.buf);
	return registered;
}

/*
 * Refused, or a fault no retry mends: says so (sentence, else that
 * natter stops) and waits without trying again.  1 when /reconnect
 * asks for another try, 0 for net_stop (/quit).
 */
static int
refused(const char *sentence)
{
	struct pollfd pfd = { .fd = wake[0], .events = POLLIN };
	int rc;

	ui_lock();
	lost_locked();
	ns->link_state = LINK_DOWN;
	ui_set_server_locked(nlabel);
	if (sentence != NULL)
		say_locked(ns, -1, LINE_ERROR, "%s", sentence);
	else
		say_locked(ns, -1, LINE_ERROR, "Not connecting to %s again; "
		    "/quit leaves.", nlabel);
	ui_draw_locked(ns, ned);
	ui_unlock();
	while (!woken()) {
		rc = poll(&pfd, 1, clock_wait());
		if (rc > 0)
			wake_drain();
		else if (rc == 0)
			redraw();
	}
	return !atomic_load(&stopping);
}

/* "host:port" for the command line ("[addr]:port" for IPv6). */
static void
host_port(const char *port, char *out, size_t outlen)
{
	if (strchr(nhost, ':') != NULL)
		snprintf(out, outlen, "[%s]:%s", nhost, port);
	else
		snprintf(out, outlen, "%s:%s", nhost, port);
}

/* The sts port refused the connection: say that the policy (or the
 * server's upgrade) sent us there and how to connect without it. */
static void
sts_refused(char *fail, size_t faillen)
{
	char when[64], asked[300];

	host_port(asked_port, asked, sizeof(asked));
	if (sts_from == STS_POLICY) {
		local_time(sts_until, when, sizeof(when));
		snprintf(fail, faillen, "%s port %s refused the connection; "
		    "its sts policy (until %s) asks for TLS there. natter %s "
		    "--no-tls connects in plain text.", nhost, nport, when,
		    asked);
	} else
		snprintf(fail, faillen, "%s port %s refused the connection; "
		    "the server asked for TLS there (sts). natter %s --no-tls "
		    "connects in plain text.", nhost, nport, asked);
}

static void *
net_main(void *arg)
{
	char why[512], how[256], fail[1400], sentence[1024];
	unsigned int seed;
	enum trust t;
	enum link_fault fault;
	SSL *ssl;
	int backoff = 1, fd, ms, lost, failed, err;

	(void)arg;
	seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	while (!atomic_load(&stopping)) {
		/* /reconnect: a fresh start, at once. */
		if (atomic_exchange(&redial, 0)) {
			wake_drain();
			backoff = 1;
		}
		lost = 0;
		ssl = NULL;
		t = TRUST_OK;
		fd = -1;
		fault = FAULT_NONE;
		ui_lock();
		ns->fault = FAULT_NONE;
		ns->fault_text[0] = '\0';
		ns->login_failed = 0;
		ns->link_state = LINK_CONNECTING;
		ui_draw_locked(ns, ned);
		ui_unlock();
		/* The local socket first, then TCP (as TCP alone does). */
		if ((on_local = nlocal > 0 && (fd = dial_local()) != -1) == 0)
			snprintf(nlabel, sizeof(nlabel), "%s", tcplabel);
		ui_lock();
		ui_set_server_locked(nlabel);
		ui_unlock();
		if (!on_local)
			sts_policy();
		if (!on_local && (fd = dial(why, sizeof(why), &err,
		    &fault)) == -1) {
			if (err == ECONNREFUSED && sts_from != 0)
				sts_refused(fail, sizeof(fail));
			else
				snprintf(fail, sizeof(fail), "Cannot connect "
				    "to %s: %s", nlabel, why);
		} else if (!on_local && use_tls && (ssl = tls_connect(fd, why,
		    sizeof(why))) == NULL) {
			snprintf(fail, sizeof(fail), "TLS handshake with %s "
			    "failed: %s", nlabel, why);
			if (link_plain_reply(why))
				fault = FAULT_NOT_TLS;
			close(fd);
			fd = -1;
		} else if (ssl != NULL && (t = tls_trust(ssl, how,
		    sizeof(how))) != TRUST_OK) {
			if (t == TRUST_RETRY)
				snprintf(fail, sizeof(fail), "TLS with %s "
				    "failed: %s", nlabel, how);
			SSL_free(ssl);
			close(fd);
			fd = -1;
		}
		if (atomic_load(&stopping))
			break;
		/* /reconnect cut the attempt (or the trust question)
		 * short: start again. */
		if (fd == -1 && atomic_load(&redial))
			continue;
		if (t == TRUST_REFUSE) {
			if (refused(NULL))
				continue;
			break;
		}
		if (fd != -1) {
			if (converse(fd, ssl, how, why, sizeof(why)))
				backoff = 1;
			lost = 1;
		}
		if (atomic_load(&stopping))
			break;
		/* A login that failed fails again: say why and stop. */
		ui_lock();
		failed = ns->login_failed;
		if (fault == FAULT_NONE)
			fault = ns->fault;
		link_fault_sentence(fault, nlabel, nhost, ns->fault_text,
		    ns->password != NULL, sts_from != 0 ||
		    strcmp(asked_port, "6697") == 0, sentence,
		    sizeof(sentence));
		ui_unlock();
		if (failed || fault != FAULT_NONE) {
			if (refused(failed ? NULL : sentence))
				continue;
			break;
		}
		if (atomic_load(&redial)) {
			ui_lock();
			lost_locked();
			say_locked(ns, -1, LINE_INFO, "Reconnecting to %s",
			    tcplabel);
			ui_unlock();
			continue;
		}
		if (sts_upgrade != 0) {
			/* At once, and TLS for good. */
			ui_lock();
			lost_locked();
			ui_unlock();
			use_tls = 1;
			set_port(sts_upgrade);
			sts_upgrade = 0;
			continue;
		}
		/* 1 s doubling to a minute, up to a quarter less (said as
		 * the backoff, which the wait never passes, so that the
		 * countdown starts there). */
		ms = backoff * 1000 - rand_r(&seed) % (backoff * 250 + 1);
		ui_lock();
		lost_locked();
		ns->link_state = LINK_WAIT;
		ns->retry_at = link_clock_ms() + ms;
		if (lost)
			say_locked(ns, -1, LINE_ERROR,
			    "Disconnected: %s. Reconnecting in %d s\u2026",
			    why, backoff);
		else
			say_locked(ns, -1, LINE_ERROR,
			    "%s%s Reconnecting in %d s\u2026", fail,
			    fail[strlen(fail) - 1] == '.' ? "" : ".",
			    backoff);
		ui_draw_locked(ns, ned);
		ui_unlock();
		if (nap(ms) && atomic_load(&stopping))
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

	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    pipe2(answer_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	if ((rc = pthread_create(&net_thread, NULL, net_main, NULL)) != 0) {
		errno = rc;
		return -1;
	}
	pthread_setname_np(net_thread, "net");
	net_running = 1;
	return 0;
}

int
net_reconnect(void)
{
	if (!net_running)
		return -1;
	atomic_store(&redial, 1);
	/* Non-blocking: a full pipe already holds a wake-up. */
	if (write(wake[1], "r", 1) == -1) {
		/* The thread sees redial at its next wake-up. */
	}
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
