/*
 * roofline.c: the least an IRC server can do for make bench's
 * scenarios, as the practical upper bound on this machine.
 *
 * One thread, one epoll set, non-blocking sockets.  It registers a
 * client at USER (001, nothing checked), answers PING, JOINs rooms (the
 * JOIN to every member, the joiner included) and relays PRIVMSG to a
 * room's other members.  Each line is formatted once and appended to
 * each recipient's output buffer; buffers are written once per pass of
 * the event loop, so a burst costs one write per recipient, not one per
 * line.  A client whose buffer passes --sendq is dropped, as a stalled
 * reader is by a real server.  Nothing else: no modes, no flood control,
 * no history, no checks a real server needs.  Not a server to run.
 *
 *   roofline -p PORT [--sendq BYTES]
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_IN	8192	/* a partial line kept between reads */
#define ROOMS_MAX	4096	/* rooms, open addressing */
#define NICK_LEN	32
#define EVENTS		256

struct client {
	int		 fd;
	int		 registered;
	int		 dirty;		/* on the flush list */
	int		 dead;		/* past sendq: closed at the flush */
	char		 nick[NICK_LEN + 1];
	char		 in[LINE_MAX_IN];
	size_t		 inlen;
	char		*out;
	size_t		 outlen, outcap;
	struct client	*next_dirty;
};

struct room {
	char		 name[64];
	struct client	**m;
	int		 n, cap;
};

static struct room	 rooms[ROOMS_MAX];
static struct client	*dirty;
static size_t		 sendq = 4 << 20;
static int		 ep;

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static struct room *
room_get(const char *name)
{
	unsigned h = 5381;
	const char *p;
	int i;

	for (p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (i = 0; i < ROOMS_MAX; i++) {
		struct room *r = &rooms[(h + (unsigned)i) % ROOMS_MAX];

		if (r->name[0] == '\0') {
			snprintf(r->name, sizeof(r->name), "%s", name);
			return r;
		}
		if (strcmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

static void	client_close(struct client *);

static void
mark_dirty(struct client *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		c->next_dirty = dirty;
		dirty = c;
	}
}

/* Appends len bytes to c's output; past sendq c is dropped at the next
 * flush (not now: a fan-out may be walking the room's members). */
static void
queue(struct client *c, const char *s, size_t len)
{
	if (c->fd < 0 || c->dead)
		return;
	if (c->outlen + len > sendq) {
		c->dead = 1;
		mark_dirty(c);
		return;
	}
	if (c->outlen + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *p;

		while (cap < c->outlen + len)
			cap *= 2;
		if ((p = realloc(c->out, cap)) == NULL)
			die("realloc");
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, s, len);
	c->outlen += len;
	mark_dirty(c);
}

static void
flush(struct client *c)
{
	ssize_t n;

	while (c->fd >= 0 && c->outlen > 0) {
		n = write(c->fd, c->out, c->outlen);
		if (n > 0) {
			memmove(c->out, c->out + n, c->outlen - (size_t)n);
			c->outlen -= (size_t)n;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && errno == EAGAIN) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
			    .data.ptr = c };

			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		} else {
			client_close(c);
			return;
		}
	}
}

static void
client_close(struct client *c)
{
	int i, j;

	if (c->fd < 0)
		return;
	for (i = 0; i < ROOMS_MAX; i++)
		for (j = 0; j < rooms[i].n; j++)
			if (rooms[i].m[j] == c)
				rooms[i].m[j] = rooms[i].m[--rooms[i].n];
	close(c->fd);
	c->fd = -1;		/* freed once off the flush list */
	mark_dirty(c);
}

static void
line(struct client *c, char *s)
{
	char out[1024], *sp, *text;
	struct room *r;
	int n, i;

	if (strncmp(s, "NICK ", 5) == 0) {
		snprintf(c->nick, sizeof(c->nick), "%s", s + 5);
	} else if (strncmp(s, "USER ", 5) == 0 && !c->registered) {
		c->registered = 1;
		n = snprintf(out, sizeof(out), ":roof 001 %s :Welcome\r\n",
		    c->nick);
		queue(c, out, (size_t)n);
	} else if (strncmp(s, "PING ", 5) == 0) {
		n = snprintf(out, sizeof(out), ":roof PONG roof %s\r\n", s + 5);
		queue(c, out, (size_t)n);
	} else if (strncmp(s, "JOIN ", 5) == 0) {
		if ((r = room_get(s + 5)) == NULL)
			return;
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 16;
			if ((r->m = realloc(r->m, (size_t)r->cap *
			    sizeof(*r->m))) == NULL)
				die("realloc");
		}
		r->m[r->n++] = c;
		n = snprintf(out, sizeof(out), ":%s!u@h JOIN %s\r\n", c->nick,
		    r->name);
		for (i = 0; i < r->n; i++)
			queue(r->m[i], out, (size_t)n);
	} else if (strncmp(s, "PRIVMSG ", 8) == 0) {
		if ((sp = strchr(s + 8, ' ')) == NULL)
			return;
		*sp = '\0';
		text = sp + 1;
		if ((r = room_get(s + 8)) == NULL)
			return;
		n = snprintf(out, sizeof(out), ":%s!u@h PRIVMSG %s %s\r\n",
		    c->nick, r->name, text);
		if (n >= (int)sizeof(out))
			return;
		for (i = 0; i < r->n; i++)
			if (r->m[i] != c)
				queue(r->m[i], out, (size_t)n);
	} else if (strncmp(s, "QUIT", 4) == 0)
		client_close(c);
}

static void
client_read(struct client *c)
{
	char *p, *nl;
	ssize_t n;

	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	p = c->in;
	while (c->fd >= 0 && (nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		line(c, p);
		p = nl + 1;
	}
	c->inlen -= (size_t)(p - c->in);
	memmove(c->in, p, c->inlen);
	if (c->inlen == sizeof(c->in) - 1)
		c->inlen = 0;		/* an overlong line: dropped */
}

int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[EVENTS];
	struct sockaddr_in sin;
	struct client *c, *next;
	int lfd, fd, one = 1, port = 0, i, n;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--sendq") == 0 && i + 1 < argc)
			sendq = (size_t)atol(argv[++i]);
		else {
			fprintf(stderr, "usage: roofline -p port "
			    "[--sendq bytes]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: roofline -p port [--sendq bytes]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1)
		die("bind/listen");
	if ((ep = epoll_create1(0)) == -1)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		if ((n = epoll_wait(ep, evs, EVENTS, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) != -1) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
					    &one, sizeof(one));
					if ((c = calloc(1, sizeof(*c))) == NULL)
						die("calloc");
					c->fd = fd;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT) {
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				flush(c);
			}
			if (c->fd >= 0 && (evs[i].events &
			    (EPOLLIN | EPOLLHUP | EPOLLERR)))
				client_read(c);
		}
		/* One write per client with output, for this pass. */
		for (c = dirty, dirty = NULL; c != NULL; c = next) {
			next = c->next_dirty;
			/* Still marked: a close does not put it on the
			 * list again. */
			if (c->dead)
				client_close(c);
			else
				flush(c);
			c->dirty = 0;
			if (c->fd < 0) {
				free(c->out);
				free(c);
			}
		}
	}
}
