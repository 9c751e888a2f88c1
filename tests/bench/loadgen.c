/*
 * loadgen: IRC load generator for the natterd benchmarks.
 *
 * Single-threaded, epoll-based.  Opens N connections to 127.0.0.1:PORT,
 * registers them (at most K registrations in flight), joins them round-robin
 * to R rooms, waits for every join to be confirmed, then lets S senders send
 * PRIVMSGs carrying "SENDER SEQ TIMESTAMP" (CLOCK_MONOTONIC, ns).  Every
 * receiver records the delivery latency.  IRC does not echo a message to its
 * sender, so a sender's window is acknowledged by one designated receiver in
 * the same room.
 *
 * Scenarios: fanout, rooms, paced, slow, connect, idle (see usage()).
 * Registration time is from a connection's connect() to the 001 that
 * ends its registration (the same point for every server: the rest of
 * the welcome differs between them); connect reports its p50 and p99.
 * The last line of output is "RESULT key=value ..."; idle also prints what
 * the clients cost the whole machine, "SYSMEM key=value ..." (sysmem_read).
 *
 * With --ws PATH every connection is a WebSocket instead (natterd's web
 * port): an HTTP upgrade to PATH offering text.ircv3.net, the 101 and its
 * Sec-WebSocket-Accept checked (SHA-1 from libcrypto), then one IRC line
 * per masked text frame, without CR LF, and the server's frames taken
 * apart into lines for the same handling.  Registration time then
 * includes the upgrade.
 */

#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

enum scenario {
	SC_FANOUT,
	SC_ROOMS,
	SC_PACED,
	SC_SLOW,
	SC_CONNECT,
	SC_IDLE,
	SC_LOGIN
};

static const char *const scenario_names[] = {
	"fanout", "rooms", "paced", "slow", "connect", "idle", "login"
};

enum cstate {
	CS_NONE,
	CS_CONNECTING,
	CS_REGISTERING,
	CS_REGISTERED,
	CS_JOINING,
	CS_JOINED,
	CS_DEAD
};

#define PARTIAL_MAX	1024		/* longest line kept across reads */
#define SCRATCH_SIZE	(256 * 1024)
#define PAD_MAX		400	/* keeps a padded PRIVMSG under 512 bytes */
#define HIST_LINEAR	(1u << 21)	/* exact histogram up to ~2.1 s */
#define MAX_EVENTS	512
#define NS_PER_S	1000000000ULL
#define NS_PER_MS	1000000ULL
#define WS_LINE_MAX	1024		/* longest line sent as one frame */
#define WS_KEY_LEN	24		/* base64 of 16 bytes */
#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct conn {
	int		 fd;
	int		 idx;
	int		 room;
	int		 sender;	/* index into senders, or -1 */
	enum cstate	 state;
	bool		 stalled;	/* stops reading once messages start */
	bool		 pollout;
	bool		 ignore;	/* no longer counted (stalled, dead) */
	uint32_t	*next_seq;	/* per sender slot of the room */
	uint64_t	 got;
	uint64_t	 launch_ns;	/* connect() called */
	char		*wbuf;
	size_t		 wlen;
	size_t		 wcap;
	size_t		 plen;
	char		 nick[16];
	size_t		 nicklen;
	char		 partial[PARTIAL_MAX];
	/* --ws */
	bool		 ws_open;	/* 101 received */
	uint64_t	 ws_skip;	/* bytes left of an overlong frame */
	char		*line;		/* the line being sent (WS_LINE_MAX) */
	size_t		 llen;
	char		 ws_key[WS_KEY_LEN + 1];
};

struct sender {
	struct conn	*c;
	int		 room;
	int		 slot;		/* index among the room's senders */
	uint32_t	 sent;
	uint32_t	 acked;
	uint64_t	 next_ns;	/* paced: when to send next */
	bool		 dirty;
};

struct room {
	int		 members;	/* joined, counted receivers */
	int		 nsenders;
	struct conn	*ack;		/* designated receiver */
};

struct opts {
	enum scenario	 sc;
	int		 port;
	int		 nclients;
	int		 nrooms;
	int		 nsenders;
	int		 msgs;
	int		 window;
	double		 rate;
	int		 nstalled;
	int		 pad;		/* bytes of padding per message */
	int		 inflight;
	long		 server_pid;
	int		 timeout;	/* seconds, whole message phase */
	int		 stall;		/* seconds without progress */
	double		 max_secs;	/* stop sending after this long */
	int		 reg_timeout;	/* seconds for all registrations */
	double		 idle_secs;
	const char	*label;
	const char	*sasl_user;	/* login */
	const char	*sasl_pass;
	char		 sasl_b64[512];	/* "\0user\0pass", base64 */
	const char	*ws_path;	/* --ws: WebSocket upgrade to this path */
};

static struct opts	 o;
static struct conn	*conns;
static struct sender	*senders;
static struct room	*rooms;
static int		 epfd;
static char		*scratch;
static char		 padding[PAD_MAX];

static struct sender	**dirty;
static int		 ndirty;

/* Counters. */
static uint64_t		 progress;	/* bumps on any input */
static int		 nlaunched;
static int		 nregistered;
static int		 njoined;
static int		 ndead;
static int		 nstalled_dropped;
static bool		 in_messages;
static bool		 capped;	/* --max-secs reached */
static bool		 receiver_lost;
static uint64_t		 delivered;
static uint64_t		 reordered;
static uint64_t		 first_send_ns;
static uint64_t		 last_delivery_ns;
static uint64_t		 reg_start_ns;
static uint64_t		 last_reg_ns;
static uint32_t		*reg_us;	/* connect() to 001, per client */
static uint64_t		 now_ns;
static uint64_t		 mask_state;	/* xorshift64 for frame masks */

static uint32_t		*hist;
static uint32_t		*overflow;
static size_t		 noverflow;
static size_t		 overflow_cap;
static uint64_t		 max_us;

static void	usage(void) __attribute__((noreturn));
static void	fatal(const char *, ...)
		    __attribute__((noreturn, format(printf, 1, 2)));
static uint64_t	mono_ns(void);
static void	*xcalloc(size_t, size_t);
static void	conn_send(struct conn *, const char *, size_t);
static void	conn_send_raw(struct conn *, const char *, size_t);
static void	conn_register(struct conn *);
static void	ws_frame(struct conn *, int, const char *, size_t);
static void	ws_input(struct conn *, char *, char *);
static void	b64_encode(const unsigned char *, size_t, char *);
static void	conn_printf(struct conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	conn_flush(struct conn *);
static void	conn_update_events(struct conn *);
static void	conn_dead(struct conn *, const char *);
static void	conn_launch(struct conn *);
static void	conn_connected(struct conn *);
static void	conn_read(struct conn *);
static void	handle_line(struct conn *, char *, size_t);
static void	handle_privmsg(struct conn *, const char *, const char *);
static void	join_confirmed(struct conn *);
static void	hist_add(uint64_t);
static uint64_t	hist_percentile(double);
static uint64_t	reg_percentile(double);
static void	sender_fill(struct sender *);
static void	flush_dirty(void);
static void	paced_tick(void);
static uint64_t	paced_next(void);
static void	poll_once(int);
static bool	run_phase(const char *, bool (*)(void), int, int, bool);
static bool	done_registered(void);
static bool	done_joined(void);
static bool	done_messages(void);
static uint64_t	expected_deliveries(void);
static long	proc_status_kb(const char *);
static void	sasl_plain_b64(const char *, const char *, char *, size_t);
static void	reset_peak_rss(void);
static double	proc_cpu_s(void);
static double	self_cpu_s(double *);
static long	proc_field_kb(const char *, const char *);
static bool	register_all(void);
static void	join_all(void);
static void	settle(int, int);
static void	assign_roles(void);
static void	drain_stalled(void);
static void	raise_nofile(void);
static void	close_all(void);
static long	parse_num(const char *, const char *, long, long);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -p port [options] scenario\n"
	    "scenarios: fanout rooms paced slow connect idle login\n"
	    "  -n, --clients N      connections (fanout/paced 500, rooms/slow "
	    "1000,\n"
	    "                       connect 2000, idle 10000)\n"
	    "  -r, --rooms R        rooms (fanout/paced 1, rooms/slow 100)\n"
	    "  -s, --senders S      senders (fanout/paced 5, rooms/slow 100)\n"
	    "  -m, --messages M     messages per sender (2000; paced 100)\n"
	    "  -w, --window W       messages in flight per sender (20)\n"
	    "      --rate R         paced: messages/s per sender (20)\n"
	    "      --stalled K      slow: receivers that stop reading (5); they\n"
	    "                       connect with a 4 KiB receive buffer\n"
	    "      --pad N          add N bytes of text to each message (0)\n"
	    "  -k, --inflight K     registrations in flight (200)\n"
	    "      --server-pid PID read VmHWM/VmRSS and CPU time of PID\n"
	    "      --timeout SEC    message phase limit (120)\n"
	    "      --stall SEC      give up after SEC without progress (10)\n"
	    "      --idle-secs SEC  idle: hold time for the CPU figure (2);\n"
	    "                       memory is read at its end, the machine's\n"
	    "                       (/proc/meminfo) against before connecting\n"
	    "      --max-secs SEC   stop sending after SEC (0: send all)\n"
	    "      --reg-timeout SEC  registration limit (120); connect and\n"
	    "                       idle report what registered by then\n"
	    "      --label NAME     server name shown in the output\n"
	    "      --sasl-user NAME, --sasl-pass PASS  login: the account\n"
	    "                       every client logs in to (SASL PLAIN before\n"
	    "                       registration); 500 clients by default\n"
	    "      --ws PATH        connect by WebSocket (HTTP upgrade to PATH,\n"
	    "                       e.g. /irc, subprotocol text.ircv3.net):\n"
	    "                       -p is then natterd's --web-port\n");
	exit(2);
}

static void
fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "loadgen: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	printf("RESULT scenario=%s server=%s ok=0\n", scenario_names[o.sc],
	    o.label);
	exit(1);
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void *
xcalloc(size_t n, size_t sz)
{
	void *p;

	if ((p = calloc(n ? n : 1, sz)) == NULL)
		fatal("out of memory");
	return p;
}

static long
parse_num(const char *name, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "loadgen: bad %s: %s\n", name, s);
		exit(2);
	}
	return v;
}

/* Output. */

static void
conn_update_events(struct conn *c)
{
	struct epoll_event ev;
	bool want;

	want = c->wlen > 0 || c->state == CS_CONNECTING;
	if (want == c->pollout)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		fatal("epoll_ctl: %s", strerror(errno));
	c->pollout = want;
}

static void
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->wlen > 0) {
		n = write(c->fd, c->wbuf, c->wlen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_dead(c, strerror(errno));
			return;
		}
		c->wlen -= (size_t)n;
		if (c->wlen > 0)
			memmove(c->wbuf, c->wbuf + n, c->wlen);
	}
	conn_update_events(c);
}

/* Room for len more bytes in c's output buffer; returns where they go. */
static char *
conn_reserve(struct conn *c, size_t len)
{
	size_t cap;

	if (c->wlen + len > c->wcap) {
		cap = c->wcap ? c->wcap : 256;
		while (cap < c->wlen + len)
			cap *= 2;
		if ((c->wbuf = realloc(c->wbuf, cap)) == NULL)
			fatal("out of memory");
		c->wcap = cap;
	}
	return c->wbuf + c->wlen;
}

static void
conn_send_raw(struct conn *c, const char *buf, size_t len)
{
	if (c->state == CS_DEAD)
		return;
	memcpy(conn_reserve(c, len), buf, len);
	c->wlen += len;
}

/*
 * IRC output: as it is over TCP; with --ws, each line (up to its LF, the
 * CR LF left out) becomes one text frame once the line is complete.
 */
static void
conn_send(struct conn *c, const char *buf, size_t len)
{
	const char *nl;
	size_t n;

	if (o.ws_path == NULL) {
		conn_send_raw(c, buf, len);
		return;
	}
	if (c->state == CS_DEAD)
		return;
	while (len > 0) {
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) : len;
		if (c->llen + n > WS_LINE_MAX)
			fatal("line too long");
		memcpy(c->line + c->llen, buf, n);
		c->llen += n;
		if (nl == NULL)
			break;
		if (c->llen > 0 && c->line[c->llen - 1] == '\r')
			c->llen--;
		ws_frame(c, 1, c->line, c->llen);
		c->llen = 0;
		buf = nl + 1;
		len -= n + 1;
	}
}

/* A client frame: FIN, opcode op, masked with a fresh key. */
static void
ws_frame(struct conn *c, int op, const char *payload, size_t len)
{
	unsigned char *p;
	uint8_t mask[4];
	size_t i, hl;

	if (c->state == CS_DEAD)
		return;
	p = (unsigned char *)conn_reserve(c, 14 + len);
	p[0] = (unsigned char)(0x80 | op);
	if (len < 126) {
		p[1] = (unsigned char)(0x80 | len);
		hl = 2;
	} else if (len <= 0xffff) {
		p[1] = 0x80 | 126;
		p[2] = (unsigned char)(len >> 8);
		p[3] = (unsigned char)len;
		hl = 4;
	} else {
		p[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			p[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	mask_state ^= mask_state << 13;
	mask_state ^= mask_state >> 7;
	mask_state ^= mask_state << 17;
	memcpy(mask, &mask_state, 4);
	memcpy(p + hl, mask, 4);
	hl += 4;
	for (i = 0; i < len; i++)
		p[hl + i] = (unsigned char)payload[i] ^ mask[i & 3];
	c->wlen += hl + len;
}

static void
conn_printf(struct conn *c, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		fatal("line too long");
	conn_send(c, buf, (size_t)n);
}

/* Connection life. */

static void
conn_dead(struct conn *c, const char *why)
{
	struct linger l;

	if (c->state == CS_DEAD)
		return;
	if (!in_messages || !c->stalled) {
		if (c->state == CS_CONNECTING || c->state == CS_REGISTERING)
			fatal("connection %d closed during registration: %s",
			    c->idx, why);
		if (!in_messages)
			fatal("connection %d (%s) closed before the message "
			    "phase: %s", c->idx, c->nick, why);
		fprintf(stderr, "loadgen: connection %d (%s) closed: %s\n",
		    c->idx, c->nick, why);
		receiver_lost = true;
	} else
		nstalled_dropped++;
	l.l_onoff = 1;
	l.l_linger = 0;
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(c->fd);
	c->fd = -1;
	c->state = CS_DEAD;
	c->ignore = true;
	c->wlen = 0;
	ndead++;
}

static void
conn_launch(struct conn *c)
{
	struct sockaddr_in sin;
	struct epoll_event ev;
	int one = 1, small = 4096;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1)
		fatal("socket: %s", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A stalled reader's kernel buffer stays small, as a real slow
	 * link's would, so the server's own queue (SendQ) fills. */
	if (c->stalled)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)o.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->state = CS_CONNECTING;
	c->launch_ns = mono_ns();
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS)
		fatal("connect to 127.0.0.1 port %d: %s", o.port,
		    strerror(errno));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		fatal("epoll_ctl: %s", strerror(errno));
	c->pollout = true;
	nlaunched++;
}

static void
conn_connected(struct conn *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0)
		fatal("connect to 127.0.0.1 port %d: %s", o.port,
		    strerror(err));
	c->state = CS_REGISTERING;
	if (o.ws_path != NULL) {
		unsigned char key[16];
		char req[512];
		int n;

		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
			fatal("getrandom: %s", strerror(errno));
		b64_encode(key, sizeof(key), c->ws_key);
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
		    "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n",
		    o.ws_path, o.port, c->ws_key);
		if (n < 0 || (size_t)n >= sizeof(req))
			fatal("--ws path too long");
		conn_send_raw(c, req, (size_t)n);
		conn_flush(c);
		return;
	}
	conn_register(c);
}

/* Registration (after the upgrade, with --ws). */
static void
conn_register(struct conn *c)
{
	/* login: SASL PLAIN before registration; CAP END after 903. */
	if (o.sc == SC_LOGIN)
		conn_printf(c, "CAP LS 302\r\nCAP REQ :sasl\r\n"
		    "AUTHENTICATE PLAIN\r\n");
	conn_printf(c, "NICK %s\r\nUSER b%d 0 * :loadgen\r\n", c->nick,
	    c->idx);
	conn_flush(c);
}

/* Input. */

static void
hist_add(uint64_t us)
{
	if (us > max_us)
		max_us = us;
	if (us < HIST_LINEAR) {
		hist[us]++;
		return;
	}
	if (noverflow == overflow_cap) {
		overflow_cap = overflow_cap ? overflow_cap * 2 : 1024;
		overflow = realloc(overflow, overflow_cap * sizeof(*overflow));
		if (overflow == NULL)
			fatal("out of memory");
	}
	overflow[noverflow++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
hist_percentile(double p)
{
	uint64_t rank, seen = 0;
	size_t i;

	if (delivered == 0)
		return 0;
	rank = (uint64_t)(p * (double)delivered);
	if (rank >= delivered)
		rank = delivered - 1;
	for (i = 0; i < HIST_LINEAR; i++) {
		seen += hist[i];
		if (seen > rank)
			return i;
	}
	qsort(overflow, noverflow, sizeof(*overflow), cmp_u32);
	i = (size_t)(rank - seen);
	return i < noverflow ? overflow[i] : max_us;
}

/* Registration time (connect() to 001) at percentile p, in us; sorts
 * reg_us. */
static uint64_t
reg_percentile(double p)
{
	size_t rank;

	if (nregistered == 0)
		return 0;
	qsort(reg_us, (size_t)nregistered, sizeof(*reg_us), cmp_u32);
	rank = (size_t)(p * (double)nregistered);
	if (rank >= (size_t)nregistered)
		rank = (size_t)nregistered - 1;
	return reg_us[rank];
}

static uint64_t
parse_u64(const char **pp, const char *end, bool *ok)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p >= end || *p < '0' || *p > '9') {
		*ok = false;
		return 0;
	}
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	while (p < end && *p == ' ')
		p++;
	*pp = p;
	return v;
}

static void
handle_privmsg(struct conn *c, const char *p, const char *end)
{
	struct sender *s;
	uint64_t sid, seq, ts;
	bool ok = true;

	/* p points at the target: "#rN :SID SEQ TS" */
	if ((p = memchr(p, ':', (size_t)(end - p))) == NULL)
		return;
	p++;
	sid = parse_u64(&p, end, &ok);
	seq = parse_u64(&p, end, &ok);
	ts = parse_u64(&p, end, &ok);
	if (!ok || sid >= (uint64_t)o.nsenders || c->ignore)
		return;
	s = &senders[sid];
	if (s->room != c->room || c->next_seq == NULL)
		return;
	if (seq != c->next_seq[s->slot])
		reordered++;
	c->next_seq[s->slot] = (uint32_t)seq + 1;
	c->got++;
	delivered++;
	hist_add(now_ns > ts ? (now_ns - ts) / 1000 : 0);
	last_delivery_ns = now_ns;
	if (rooms[c->room].ack == c && seq + 1 > s->acked) {
		s->acked = (uint32_t)seq + 1;
		if (!s->dirty && o.sc != SC_PACED) {
			s->dirty = true;
			dirty[ndirty++] = s;
		}
	}
}

static void
join_confirmed(struct conn *c)
{
	if (c->state != CS_JOINING)
		return;
	c->state = CS_JOINED;
	njoined++;
}

static void
handle_line(struct conn *c, char *line, size_t len)
{
	const char *p = line, *end = line + len, *prefix = NULL, *cmd;
	const char *sp;
	size_t plen = 0, cmdlen;
	int num;

	if (p < end && *p == ':') {
		prefix = p + 1;
		if ((sp = memchr(p, ' ', len)) == NULL)
			return;
		plen = (size_t)(sp - prefix);
		p = sp + 1;
	}
	cmd = p;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		sp = end;
	cmdlen = (size_t)(sp - cmd);
	p = sp < end ? sp + 1 : end;

	if (cmdlen == 7 && memcmp(cmd, "PRIVMSG", 7) == 0) {
		handle_privmsg(c, p, end);
		return;
	}
	if (cmdlen == 3 && cmd[0] >= '0' && cmd[0] <= '9') {
		num = (cmd[0] - '0') * 100 + (cmd[1] - '0') * 10 +
		    (cmd[2] - '0');
		switch (num) {
		case 1:
			if (c->state == CS_REGISTERING) {
				c->state = CS_REGISTERED;
				reg_us[nregistered++] = now_ns > c->launch_ns ?
				    (uint32_t)((now_ns - c->launch_ns) / 1000) :
				    0;
				last_reg_ns = now_ns;
			}
			break;
		case 366:
			join_confirmed(c);
			break;
		case 903:
			conn_printf(c, "CAP END\r\n");
			conn_flush(c);
			break;
		case 902: case 904: case 905: case 906: case 907: case 908:
			line[len] = '\0';
			fatal("connection %d (%s): login failed: %s", c->idx,
			    c->nick, line);
		case 403: case 405: case 471: case 473: case 474: case 475:
		case 477: case 432: case 433: case 436: case 437: case 465:
		case 451: case 461:
			line[len] = '\0';
			fatal("connection %d (%s): server refused: %s", c->idx,
			    c->nick, line);
		default:
			break;
		}
		return;
	}
	if (cmdlen == 12 && memcmp(cmd, "AUTHENTICATE", 12) == 0) {
		conn_printf(c, "AUTHENTICATE %s\r\n", o.sasl_b64);
		conn_flush(c);
		return;
	}
	if (cmdlen == 4 && memcmp(cmd, "PING", 4) == 0) {
		conn_send(c, "PONG ", 5);
		conn_send(c, p, (size_t)(end - p));
		conn_send(c, "\r\n", 2);
		conn_flush(c);
		return;
	}
	if (cmdlen == 4 && memcmp(cmd, "JOIN", 4) == 0) {
		/* Our own JOIN echo also confirms the join. */
		if (prefix != NULL && plen > c->nicklen &&
		    prefix[c->nicklen] == '!' &&
		    strncasecmp(prefix, c->nick, c->nicklen) == 0)
			join_confirmed(c);
		return;
	}
	if (cmdlen == 5 && memcmp(cmd, "ERROR", 5) == 0) {
		line[len] = '\0';
		conn_dead(c, line);
		return;
	}
}

static void
conn_read(struct conn *c)
{
	char *buf = scratch, *p, *end, *nl, *line;
	size_t len;
	ssize_t n;

	memcpy(buf, c->partial, c->plen);
	n = read(c->fd, buf + c->plen, SCRATCH_SIZE - 1 - c->plen);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_dead(c, strerror(errno));
		return;
	}
	if (n == 0) {
		conn_dead(c, "end of file");
		return;
	}
	progress++;
	now_ns = mono_ns();
	p = buf;
	end = buf + c->plen + (size_t)n;
	if (o.ws_path != NULL) {
		ws_input(c, p, end);
		return;
	}
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line = p;
		len = (size_t)(nl - p);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		p = nl + 1;
		handle_line(c, line, len);
		if (c->state == CS_DEAD)
			return;
	}
	len = (size_t)(end - p);
	if (len >= PARTIAL_MAX)
		len = 0;	/* overlong line: drop it */
	memmove(c->partial, p, len);
	c->plen = len;
}

/* --ws: the value of header name in an HTTP head (CR LF lines), or NULL;
 * *len is set to its length. */
static const char *
http_header(const char *head, const char *end, const char *name,
    size_t *len)
{
	const char *p, *eol, *v;
	size_t nlen = strlen(name);

	for (p = head; p < end; p = eol + 2) {
		if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			break;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' &&
		    strncasecmp(p, name, nlen) == 0) {
			v = p + nlen + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*len = (size_t)(eol - v);
			while (*len > 0 && (v[*len - 1] == ' ' ||
			    v[*len - 1] == '\t'))
				(*len)--;
			return v;
		}
	}
	return NULL;
}

/* --ws: the server's answer to the upgrade, head to end (past its blank
 * line): 101, the right Sec-WebSocket-Accept, text.ircv3.net. */
static void
ws_upgraded(struct conn *c, const char *head, const char *end)
{
	unsigned char sha[SHA_DIGEST_LENGTH];
	char in[WS_KEY_LEN + sizeof(WS_GUID)], want[32];
	const char *v, *eol;
	size_t len;

	eol = memmem(head, (size_t)(end - head), "\r\n", 2);
	if (strncmp(head, "HTTP/1.1 101 ", 13) != 0)
		fatal("connection %d: upgrade refused: %.*s", c->idx,
		    (int)(eol - head), head);
	snprintf(in, sizeof(in), "%s%s", c->ws_key, WS_GUID);
	SHA1((const unsigned char *)in, strlen(in), sha);
	b64_encode(sha, sizeof(sha), want);
	if ((v = http_header(head, end, "Sec-WebSocket-Accept", &len)) ==
	    NULL || len != strlen(want) || memcmp(v, want, len) != 0)
		fatal("connection %d: 101 without the right "
		    "Sec-WebSocket-Accept (want %s)", c->idx, want);
	if ((v = http_header(head, end, "Sec-WebSocket-Protocol", &len)) ==
	    NULL || len != 14 || memcmp(v, "text.ircv3.net", 14) != 0)
		fatal("connection %d: 101 without Sec-WebSocket-Protocol: "
		    "text.ircv3.net", c->idx);
	c->ws_open = true;
	conn_register(c);
}

/* --ws: one message from the server (never fragmented). */
static void
ws_message(struct conn *c, unsigned b0, char *payload, size_t len)
{
	char why[160];
	int code;

	switch (b0 & 0x0f) {
	case 1:
	case 2:
		if (!(b0 & 0x80))
			fatal("connection %d: fragmented message", c->idx);
		if (len >= 2 && payload[len - 2] == '\r' &&
		    payload[len - 1] == '\n')
			fatal("connection %d: a message ends in CR LF", c->idx);
		/* handle_line writes a NUL at payload[len] only on its way
		 * to fatal() or conn_dead(). */
		handle_line(c, payload, len);
		break;
	case 8:
		code = len >= 2 ? ((unsigned char)payload[0] << 8 |
		    (unsigned char)payload[1]) : 1005;
		snprintf(why, sizeof(why), "close %d %.*s", code,
		    len > 2 ? (int)(len - 2 > 100 ? 100 : len - 2) : 0,
		    len > 2 ? payload + 2 : "");
		conn_dead(c, why);
		break;
	case 9:
		ws_frame(c, 10, payload, len);
		conn_flush(c);
		break;
	case 10:
		break;
	default:
		fatal("connection %d: frame with opcode %u", c->idx, b0 & 0x0f);
	}
}

/* --ws: input p to end (what was kept of the last read, then this read):
 * the 101, then frames. */
static void
ws_input(struct conn *c, char *p, char *end)
{
	const unsigned char *u;
	uint64_t plen;
	size_t avail, hl, len, i;
	char *hend;

	if (!c->ws_open) {
		hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hend == NULL) {
			if ((size_t)(end - p) >= PARTIAL_MAX)
				fatal("connection %d: upgrade answer too long",
				    c->idx);
			goto keep;
		}
		ws_upgraded(c, p, hend + 4);
		p = hend + 4;
	}
	while (p < end) {
		avail = (size_t)(end - p);
		if (c->ws_skip > 0) {
			len = c->ws_skip < avail ? (size_t)c->ws_skip : avail;
			c->ws_skip -= len;
			p += len;
			continue;
		}
		u = (const unsigned char *)p;
		if (avail < 2)
			break;
		if (u[1] & 0x80)
			fatal("connection %d: masked frame from the server",
			    c->idx);
		plen = u[1] & 0x7f;
		hl = 2;
		if (plen == 126) {
			hl = 4;
			if (avail < hl)
				break;
			plen = (uint64_t)u[2] << 8 | u[3];
		} else if (plen == 127) {
			hl = 10;
			if (avail < hl)
				break;
			for (plen = 0, i = 0; i < 8; i++)
				plen = plen << 8 | u[2 + i];
		}
		if (avail - hl < plen) {
			if (hl + plen <= PARTIAL_MAX)
				break;
			/* Overlong and incomplete: drop it, as an
			 * overlong line is dropped over TCP. */
			c->ws_skip = hl + plen - avail;
			p = end;
			break;
		}
		p += hl + plen;
		ws_message(c, u[0], (char *)u + hl, (size_t)plen);
		if (c->state == CS_DEAD)
			return;
	}
keep:
	len = (size_t)(end - p);
	memmove(c->partial, p, len);
	c->plen = len;
}

/* Senders. */

static void
sender_fill(struct sender *s)
{
	struct conn *c = s->c;
	uint64_t ts;
	char buf[128];
	int n;

	ts = mono_ns();
	while (s->sent < (uint32_t)o.msgs && !capped &&
	    (o.sc == SC_PACED || s->sent - s->acked < (uint32_t)o.window)) {
		n = snprintf(buf, sizeof(buf), "PRIVMSG #r%d :%d %" PRIu32
		    " %" PRIu64 "%s", s->room, (int)(s - senders), s->sent,
		    ts, o.pad > 0 ? " " : "\r\n");
		conn_send(c, buf, (size_t)n);
		if (o.pad > 0) {
			conn_send(c, padding, (size_t)o.pad);
			conn_send(c, "\r\n", 2);
		}
		s->sent++;
		if (o.sc == SC_PACED)
			break;
	}
	conn_flush(c);
}

static void
flush_dirty(void)
{
	int i;

	for (i = 0; i < ndirty; i++) {
		dirty[i]->dirty = false;
		sender_fill(dirty[i]);
	}
	ndirty = 0;
}

static uint64_t
paced_next(void)
{
	uint64_t t = UINT64_MAX;
	int i;

	for (i = 0; i < o.nsenders; i++)
		if (senders[i].sent < (uint32_t)o.msgs && !capped &&
		    senders[i].next_ns < t)
			t = senders[i].next_ns;
	return t;
}

static void
paced_tick(void)
{
	uint64_t now, step;
	int i;

	now = mono_ns();
	step = (uint64_t)((double)NS_PER_S / o.rate);
	for (i = 0; i < o.nsenders; i++) {
		struct sender *s = &senders[i];

		while (s->sent < (uint32_t)o.msgs && !capped &&
		    s->next_ns <= now) {
			sender_fill(s);
			s->next_ns += step;
		}
	}
}

/* Event loop. */

static void
poll_once(int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	struct conn *c;
	int i, n;

	n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
	if (n == -1) {
		if (errno == EINTR)
			return;
		fatal("epoll_wait: %s", strerror(errno));
	}
	for (i = 0; i < n; i++) {
		c = evs[i].data.ptr;
		if (c->state == CS_DEAD)
			continue;
		if (c->state == CS_CONNECTING) {
			if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				conn_connected(c);
			continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			conn_read(c);
		if (c->state != CS_DEAD && (evs[i].events & EPOLLOUT))
			conn_flush(c);
	}
	flush_dirty();
}

/*
 * Run the event loop until done() holds.  Past the limits: exit with an
 * error line, or with soft set, print the line and return false.
 */
static bool
run_phase(const char *name, bool (*done)(void), int limit_s, int stall_s,
    bool soft)
{
	char why[256];
	uint64_t start, last, seen, now, next;
	int wait;

	start = last = mono_ns();
	seen = progress;
	while (!done()) {
		wait = 100;
		if (in_messages && o.sc == SC_PACED) {
			next = paced_next();
			now = mono_ns();
			if (next != UINT64_MAX) {
				if (next <= now)
					wait = 0;
				else if ((next - now) / NS_PER_MS + 1 < 100)
					wait = (int)((next - now) / NS_PER_MS
					    + 1);
			}
		}
		if (o.sc == SC_CONNECT || o.sc == SC_IDLE || !in_messages)
			while (nlaunched < o.nclients &&
			    nlaunched - nregistered < o.inflight)
				conn_launch(&conns[nlaunched]);
		poll_once(wait);
		if (in_messages && o.sc == SC_PACED)
			paced_tick();
		if (in_messages && receiver_lost)
			return false;
		now = mono_ns();
		if (progress != seen) {
			seen = progress;
			last = now;
		}
		why[0] = '\0';
		if (now - last > (uint64_t)stall_s * NS_PER_S &&
		    !(in_messages && o.sc == SC_PACED && paced_next() !=
		    UINT64_MAX))
			snprintf(why, sizeof(why), "no progress for %d s",
			    stall_s);
		else if (now - start > (uint64_t)limit_s * NS_PER_S)
			snprintf(why, sizeof(why), "not done after %d s",
			    limit_s);
		if (why[0] == '\0')
			continue;
		if (!soft)
			fatal("%s: %s (registered %d/%d, joined %d/%d, "
			    "delivered %" PRIu64 "/%" PRIu64 "): server "
			    "stalled?", name, why, nregistered, o.nclients,
			    njoined, o.nclients, delivered,
			    expected_deliveries());
		printf("loadgen: error: %s: %s (registered %d/%d)\n", name,
		    why, nregistered, o.nclients);
		return false;
	}
	return true;
}

static bool
done_registered(void)
{
	return nregistered == o.nclients;
}

static bool
done_joined(void)
{
	return njoined == o.nclients;
}

static uint64_t
expected_deliveries(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < o.nsenders; i++)
		n += (uint64_t)senders[i].sent *
		    (uint64_t)(rooms[senders[i].room].members - 1);
	return n;
}

static bool
done_messages(void)
{
	int i;

	if (!capped && o.max_secs > 0 && mono_ns() - first_send_ns >
	    (uint64_t)(o.max_secs * (double)NS_PER_S)) {
		capped = true;
		printf("time cap of %.0f s reached: senders stop\n",
		    o.max_secs);
	}
	for (i = 0; i < o.nsenders && !capped; i++)
		if (senders[i].sent < (uint32_t)o.msgs)
			return false;
	return delivered >= expected_deliveries();
}

/* Wait until no input arrived for quiet_ms, at most max_ms. */
static void
settle(int quiet_ms, int max_ms)
{
	uint64_t start, last, seen, now;

	start = last = mono_ns();
	seen = progress;
	for (;;) {
		poll_once(10);
		now = mono_ns();
		if (progress != seen) {
			seen = progress;
			last = now;
		}
		if (now - last >= (uint64_t)quiet_ms * NS_PER_MS ||
		    now - start >= (uint64_t)max_ms * NS_PER_MS)
			return;
	}
}

/* /proc readings. */

/* Base64 of n bytes into out (NUL-terminated, (n + 2) / 3 * 4 + 1). */
static void
b64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, k = 0;
	unsigned v;

	for (i = 0; i < n; i += 3) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[k++] = b64[v >> 18 & 63];
		out[k++] = b64[v >> 12 & 63];
		out[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[k] = '\0';
}

/* Base64 of "\0user\0pass" for AUTHENTICATE PLAIN. */
static void
sasl_plain_b64(const char *user, const char *pass, char *out, size_t len)
{
	unsigned char in[300];
	size_t n;

	n = (size_t)snprintf((char *)in + 1, sizeof(in) - 1, "%s", user) + 1;
	in[0] = '\0';
	if (n + 1 + strlen(pass) >= sizeof(in))
		fatal("--sasl-user and --sasl-pass are too long");
	in[n++] = '\0';
	memcpy(in + n, pass, strlen(pass));
	n += strlen(pass);
	if ((n + 2) / 3 * 4 + 1 > len || (n + 2) / 3 * 4 > 400)
		fatal("--sasl-user and --sasl-pass are too long");
	b64_encode(in, n, out);
}

/* Resets the server's VmHWM to its current RSS (Linux clear_refs 5);
 * quietly does nothing where that is not allowed. */
static void
reset_peak_rss(void)
{
	char path[64];
	FILE *f;

	if (o.server_pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", o.server_pid);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fputs("5", f);
	fclose(f);
}

/* The value of "key:" in a /proc file of that form, or -1. */
static long
proc_field_kb(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long
proc_status_kb(const char *key)
{
	char path[64];

	if (o.server_pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", o.server_pid);
	return proc_field_kb(path, key);
}

static double
proc_cpu_s(void)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	if (o.server_pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", o.server_pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name: state is field 3, utime 14. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
self_cpu_s(double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    *sys;
}

/*
 * The whole machine's memory (idle): /proc/meminfo in kB, and the free
 * pages the kernel holds on its per-CPU lists (the "count:" lines of
 * /proc/zoneinfo), which MemFree and MemAvailable leave out.  Read before
 * the first connect and once every idle client is registered, so the
 * difference is what the clients cost the machine: the server's share
 * (its threads' kernel stacks and tasks, its sockets, its pages) and the
 * generator's (the other end of each socket, its own pages).
 */
struct sysmem {
	long	avail, kstack, sunreclaim, sreclaim, pagetables, pcp, self_rss;
};

static bool
sysmem_read(struct sysmem *m)
{
	char line[256];
	long pages = 0, n;
	FILE *f;

	m->avail = proc_field_kb("/proc/meminfo", "MemAvailable");
	m->kstack = proc_field_kb("/proc/meminfo", "KernelStack");
	m->sunreclaim = proc_field_kb("/proc/meminfo", "SUnreclaim");
	m->sreclaim = proc_field_kb("/proc/meminfo", "SReclaimable");
	m->pagetables = proc_field_kb("/proc/meminfo", "PageTables");
	m->self_rss = proc_field_kb("/proc/self/status", "VmRSS");
	m->pcp = -1;
	if ((f = fopen("/proc/zoneinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, " count: %ld", &n) == 1)
				pages += n;
		fclose(f);
		m->pcp = pages * (sysconf(_SC_PAGESIZE) / 1024);
	}
	return m->avail >= 0 && m->kstack >= 0 && m->sunreclaim >= 0 &&
	    m->sreclaim >= 0 && m->pagetables >= 0 && m->self_rss >= 0;
}

/* Per client, in kB, of a growth from a to b. */
static double
per_client(long a, long b)
{
	return (double)(b - a) / nregistered;
}

/*
 * The idle clients' cost to the machine, per client: the drop in
 * MemAvailable, and where it went.  A line "SYSMEM key=value ..." for
 * run.sh.  The generator's own sockets and pages are in it (so is any
 * other program's activity meanwhile: run it on a quiet machine).
 */
static void
print_sysmem(const struct sysmem *a, const struct sysmem *b,
    double server_rss)
{
	double pcp = a->pcp >= 0 && b->pcp >= 0 ? per_client(a->pcp, b->pcp) :
	    0;

	printf("machine (/proc/meminfo, generator's own sockets included): "
	    "MemAvailable -%.2f kB/client (%.2f kB of it free pages held on "
	    "per-CPU lists); KernelStack +%.2f, SUnreclaim +%.2f, "
	    "SReclaimable +%.2f, PageTables +%.2f, server RSS +%.2f, "
	    "generator RSS +%.2f kB/client\n", per_client(b->avail, a->avail),
	    pcp, per_client(a->kstack, b->kstack),
	    per_client(a->sunreclaim, b->sunreclaim),
	    per_client(a->sreclaim, b->sreclaim),
	    per_client(a->pagetables, b->pagetables),
	    server_rss,
	    per_client(a->self_rss, b->self_rss));
	printf("SYSMEM avail_drop_kb=%.2f used_kb=%.2f pcp_kb=%.2f "
	    "kstack_kb=%.2f "
	    "sunreclaim_kb=%.2f sreclaim_kb=%.2f pagetables_kb=%.2f "
	    "gen_rss_kb=%.2f\n", per_client(b->avail, a->avail),
	    per_client(b->avail, a->avail) - pcp, pcp,
	    per_client(a->kstack, b->kstack),
	    per_client(a->sunreclaim, b->sunreclaim),
	    per_client(a->sreclaim, b->sreclaim),
	    per_client(a->pagetables, b->pagetables),
	    per_client(a->self_rss, b->self_rss));
}

/* Phases. */

static bool
register_all(void)
{
	bool soft = o.sc == SC_CONNECT || o.sc == SC_IDLE || o.sc == SC_LOGIN;

	reg_start_ns = mono_ns();
	return run_phase("registration", done_registered, o.reg_timeout,
	    o.stall, soft);
}

static void
assign_roles(void)
{
	struct conn *c;
	int i, r;

	for (i = 0; i < o.nclients; i++) {
		conns[i].room = i % o.nrooms;
		conns[i].sender = -1;
	}
	for (i = 0; i < o.nsenders; i++) {
		c = &conns[i];
		c->sender = i;
		senders[i].c = c;
		senders[i].room = c->room;
		senders[i].slot = rooms[c->room].nsenders++;
	}
	if (o.sc == SC_SLOW)
		for (i = 0; i < o.nstalled; i++)
			conns[o.nclients - 1 - i].stalled = true;
	for (i = 0; i < o.nclients; i++) {
		c = &conns[i];
		r = c->room;
		if (!c->stalled)
			rooms[r].members++;
		if (rooms[r].ack == NULL && c->sender < 0 && !c->stalled)
			rooms[r].ack = c;
	}
	for (i = 0; i < o.nsenders; i++) {
		r = senders[i].room;
		if (rooms[r].ack == NULL)
			fatal("room #r%d has a sender but no receiver: use "
			    "more clients", r);
	}
	for (i = 0; i < o.nclients; i++) {
		c = &conns[i];
		if (rooms[c->room].nsenders > 0)
			c->next_seq = xcalloc((size_t)rooms[c->room].nsenders,
			    sizeof(uint32_t));
	}
}

static void
join_all(void)
{
	struct conn *c;
	int i;

	for (i = 0; i < o.nclients; i++) {
		c = &conns[i];
		c->state = CS_JOINING;
		conn_printf(c, "JOIN #r%d\r\n", c->room);
		conn_flush(c);
	}
	run_phase("join", done_joined, 120, o.stall, false);
}

static void
drain_stalled(void)
{
	struct conn *c;
	ssize_t n;
	size_t total;
	int i;

	for (i = 0; i < o.nclients; i++) {
		c = &conns[i];
		if (!c->stalled || c->state == CS_DEAD)
			continue;
		total = 0;
		for (;;) {
			n = read(c->fd, scratch, SCRATCH_SIZE);
			if (n > 0) {
				total += (size_t)n;
				if (memmem(scratch, (size_t)n, "\nERROR ",
				    7) != NULL) {
					conn_dead(c, "ERROR");
					break;
				}
				continue;
			}
			if (n == 0) {
				conn_dead(c, "end of file");
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_dead(c, strerror(errno));
			break;
		}
		printf("stalled client %s: %zu bytes pending, %s\n", c->nick,
		    total, c->state == CS_DEAD ? "dropped by the server" :
		    "still connected");
	}
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("setrlimit: %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)o.nclients + 16)
		fatal("RLIMIT_NOFILE hard limit %llu is below %d clients",
		    (unsigned long long)rl.rlim_cur, o.nclients);
}

static void
close_all(void)
{
	struct linger l = { 1, 0 };
	int i;

	for (i = 0; i < o.nclients; i++)
		if (conns[i].fd != -1) {
			setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &l,
			    sizeof(l));
			close(conns[i].fd);
		}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "clients", required_argument, NULL, 'n' },
		{ "rooms", required_argument, NULL, 'r' },
		{ "senders", required_argument, NULL, 's' },
		{ "messages", required_argument, NULL, 'm' },
		{ "window", required_argument, NULL, 'w' },
		{ "inflight", required_argument, NULL, 'k' },
		{ "rate", required_argument, NULL, 'R' },
		{ "stalled", required_argument, NULL, 'K' },
		{ "pad", required_argument, NULL, 'D' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "stall", required_argument, NULL, 'S' },
		{ "idle-secs", required_argument, NULL, 'I' },
		{ "label", required_argument, NULL, 'L' },
		{ "sasl-user", required_argument, NULL, 'U' },
		{ "sasl-pass", required_argument, NULL, 'W' },
		{ "max-secs", required_argument, NULL, 'X' },
		{ "reg-timeout", required_argument, NULL, 'G' },
		{ "ws", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	double cpu0, cpu1, self0, self1, phase_s, dps, reg_s, reg_per_s;
	double rss_per_client, sys0 = 0, sys1 = 0;
	struct sysmem mem0, mem1;
	bool reg_ok, ok, mem_ok = false;
	long rss0, rss1, hwm;
	uint64_t t0, t1, expected, lost, sent, reg_p50, reg_p99, reg_max;
	int ch, i, nclients = -1, nrooms = -1, nsenders = -1, msgs = -1;
	size_t si;

	memset(&o, 0, sizeof(o));
	memset(padding, 'x', sizeof(padding));
	o.window = 20;
	o.rate = 20;
	o.nstalled = 5;
	o.inflight = 200;
	o.timeout = 120;
	o.stall = 10;
	o.idle_secs = 2;
	o.reg_timeout = 120;
	o.label = "server";
	while ((ch = getopt_long(argc, argv, "p:n:r:s:m:w:k:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'p':
			o.port = (int)parse_num("port", optarg, 1, 65535);
			break;
		case 'n':
			nclients = (int)parse_num("clients", optarg, 1,
			    1000000);
			break;
		case 'r':
			nrooms = (int)parse_num("rooms", optarg, 1, 100000);
			break;
		case 's':
			nsenders = (int)parse_num("senders", optarg, 0,
			    100000);
			break;
		case 'm':
			msgs = (int)parse_num("messages", optarg, 0,
			    100000000);
			break;
		case 'w':
			o.window = (int)parse_num("window", optarg, 1,
			    1000000);
			break;
		case 'k':
			o.inflight = (int)parse_num("inflight", optarg, 1,
			    1000000);
			break;
		case 'R':
			o.rate = (double)parse_num("rate", optarg, 1,
			    1000000);
			break;
		case 'K':
			o.nstalled = (int)parse_num("stalled", optarg, 0,
			    100000);
			break;
		case 'D':
			o.pad = (int)parse_num("pad", optarg, 0, PAD_MAX);
			break;
		case 'P':
			o.server_pid = parse_num("server-pid", optarg, 1,
			    0x7fffffff);
			break;
		case 'T':
			o.timeout = (int)parse_num("timeout", optarg, 1,
			    86400);
			break;
		case 'S':
			o.stall = (int)parse_num("stall", optarg, 1, 86400);
			break;
		case 'I':
			o.idle_secs = (double)parse_num("idle-secs", optarg,
			    0, 86400);
			break;
		case 'L':
			o.label = optarg;
			break;
		case 'U':
			o.sasl_user = optarg;
			break;
		case 'W':
			o.sasl_pass = optarg;
			break;
		case 'G':
			o.reg_timeout = (int)parse_num("reg-timeout", optarg,
			    1, 86400);
			break;
		case 'V':
			if (optarg[0] != '/')
				usage();
			o.ws_path = optarg;
			break;
		case 'X':
			o.max_secs = (double)parse_num("max-secs", optarg, 0,
			    86400);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || o.port == 0)
		usage();
	for (si = 0; si < sizeof(scenario_names) / sizeof(*scenario_names);
	    si++)
		if (strcmp(argv[0], scenario_names[si]) == 0)
			break;
	if (si == sizeof(scenario_names) / sizeof(*scenario_names))
		usage();
	o.sc = (enum scenario)si;

	switch (o.sc) {
	case SC_FANOUT:
	case SC_PACED:
		o.nclients = 500;
		o.nrooms = 1;
		o.nsenders = 5;
		o.msgs = o.sc == SC_PACED ? 100 : 2000;
		break;
	case SC_ROOMS:
	case SC_SLOW:
		o.nclients = 1000;
		o.nrooms = 100;
		o.nsenders = 100;
		o.msgs = 2000;
		break;
	case SC_CONNECT:
		o.nclients = 2000;
		o.nrooms = 1;
		break;
	case SC_IDLE:
		o.nclients = 10000;
		o.nrooms = 1;
		break;
	case SC_LOGIN:
		o.nclients = 500;
		o.nrooms = 1;
		if (o.sasl_user == NULL || o.sasl_pass == NULL)
			fatal("login needs --sasl-user and --sasl-pass");
		sasl_plain_b64(o.sasl_user, o.sasl_pass, o.sasl_b64,
		    sizeof(o.sasl_b64));
		break;
	}
	if (nclients >= 0)
		o.nclients = nclients;
	if (nrooms >= 0)
		o.nrooms = nrooms;
	if (nsenders >= 0)
		o.nsenders = nsenders;
	if (msgs >= 0)
		o.msgs = msgs;
	if (o.sc == SC_CONNECT || o.sc == SC_IDLE || o.sc == SC_LOGIN)
		o.nsenders = 0;
	if (o.sc != SC_SLOW)
		o.nstalled = 0;
	if (o.nsenders > o.nclients || o.nstalled + o.nsenders > o.nclients)
		fatal("more senders and stalled clients than clients");

	raise_nofile();
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	scratch = xcalloc(1, SCRATCH_SIZE);
	hist = xcalloc(HIST_LINEAR, sizeof(*hist));
	reg_us = xcalloc((size_t)o.nclients, sizeof(*reg_us));
	conns = xcalloc((size_t)o.nclients, sizeof(*conns));
	senders = xcalloc((size_t)o.nsenders, sizeof(*senders));
	dirty = xcalloc((size_t)o.nsenders, sizeof(*dirty));
	rooms = xcalloc((size_t)o.nrooms, sizeof(*rooms));
	if (o.ws_path != NULL) {
		if (getrandom(&mask_state, sizeof(mask_state), 0) !=
		    (ssize_t)sizeof(mask_state))
			fatal("getrandom: %s", strerror(errno));
		mask_state |= 1;
	}
	for (i = 0; i < o.nclients; i++) {
		if (o.ws_path != NULL)
			conns[i].line = xcalloc(1, WS_LINE_MAX);
		conns[i].fd = -1;
		conns[i].idx = i;
		snprintf(conns[i].nick, sizeof(conns[i].nick), "b%d", i);
		conns[i].nicklen = strlen(conns[i].nick);
	}
	assign_roles();

	printf("loadgen: %s against %s on 127.0.0.1 port %d%s%s: %d clients, "
	    "%d rooms, %d senders x %d msgs, window %d, %d in flight\n",
	    scenario_names[o.sc], o.label, o.port,
	    o.ws_path != NULL ? ", WebSocket " : "",
	    o.ws_path != NULL ? o.ws_path : "", o.nclients, o.nrooms,
	    o.nsenders, o.msgs, o.window, o.inflight);
	fflush(stdout);

	/* login: the peak RSS of the burst itself, not of start-up. */
	if (o.sc == SC_LOGIN)
		reset_peak_rss();
	rss0 = proc_status_kb("VmRSS");
	if (o.sc == SC_IDLE)
		mem_ok = sysmem_read(&mem0);
	cpu0 = proc_cpu_s();
	self0 = self_cpu_s(&sys0);
	t0 = mono_ns();
	reg_ok = register_all();
	reg_s = (double)(last_reg_ns - reg_start_ns) / 1e9;
	reg_per_s = reg_s > 0 ? nregistered / reg_s : 0;
	printf("%s %d/%d clients in %.3f s: %.0f %s/s\n", o.sc == SC_LOGIN ?
	    "logged in (SASL PLAIN) and registered" : "registered",
	    nregistered, o.nclients, reg_s, reg_per_s, o.sc == SC_LOGIN ?
	    "logins" : "registrations");
	reg_p50 = reg_percentile(0.50);
	reg_p99 = reg_percentile(0.99);
	reg_max = reg_percentile(1.0);
	if (o.sc == SC_CONNECT)
		printf("registration time (connect() to 001): p50 %" PRIu64
		    " us, p99 %" PRIu64 " us, max %" PRIu64 " us\n", reg_p50,
		    reg_p99, reg_max);
	t1 = mono_ns();

	if (o.sc != SC_CONNECT && o.sc != SC_IDLE && o.sc != SC_LOGIN) {
		join_all();
		printf("joined %d clients to %d rooms\n", njoined, o.nrooms);
	}
	settle(200, 5000);
	rss1 = proc_status_kb("VmRSS");
	if (o.sc == SC_CONNECT || o.sc == SC_LOGIN) {
		cpu1 = proc_cpu_s();
		self1 = self_cpu_s(&sys1);
	} else {
		cpu0 = proc_cpu_s();
		self0 = self_cpu_s(&sys0);
		t0 = mono_ns();
		if (o.sc == SC_IDLE) {
			while (mono_ns() - t0 < (uint64_t)(o.idle_secs *
			    (double)NS_PER_S))
				poll_once(100);
			/* Memory per client is what an idle one holds. */
			rss1 = proc_status_kb("VmRSS");
			mem_ok = mem_ok && sysmem_read(&mem1);
		} else {
			for (i = 0; i < o.nclients; i++)
				if (conns[i].stalled) {
					epoll_ctl(epfd, EPOLL_CTL_DEL,
					    conns[i].fd, NULL);
					conns[i].ignore = true;
				}
			in_messages = true;
			first_send_ns = mono_ns();
			if (o.sc == SC_PACED) {
				for (i = 0; i < o.nsenders; i++)
					senders[i].next_ns = first_send_ns +
					    (uint64_t)((double)NS_PER_S /
					    o.rate * i / o.nsenders);
				paced_tick();
			} else {
				for (i = 0; i < o.nsenders; i++)
					sender_fill(&senders[i]);
			}
			run_phase("messages", done_messages, o.timeout,
			    o.stall, false);
		}
		t1 = mono_ns();
		cpu1 = proc_cpu_s();
		self1 = self_cpu_s(&sys1);
	}
	if (o.sc == SC_SLOW)
		drain_stalled();
	hwm = proc_status_kb("VmHWM");

	expected = expected_deliveries();
	lost = expected > delivered ? expected - delivered : 0;
	phase_s = (double)(t1 - t0) / 1e9;
	dps = 0;
	if (in_messages && last_delivery_ns > first_send_ns)
		dps = (double)delivered / ((double)(last_delivery_ns -
		    first_send_ns) / 1e9);
	rss_per_client = rss0 >= 0 && rss1 >= 0 && nregistered > 0 ?
	    (double)(rss1 - rss0) / nregistered : -1;
	ok = reg_ok && !receiver_lost && lost == 0;

	if (in_messages) {
		for (i = 0, sent = 0; i < o.nsenders; i++)
			sent += senders[i].sent;
		printf("sent %" PRIu64 "/%" PRIu64 " messages; delivered %"
		    PRIu64 "/%" PRIu64 " in %.3f s: %.0f deliveries/s, lost %"
		    PRIu64 ", out of order %" PRIu64 "\n", sent,
		    (uint64_t)o.nsenders * (uint64_t)o.msgs, delivered,
		    expected, (double)(last_delivery_ns - first_send_ns) / 1e9,
		    dps, lost, reordered);
		printf("latency: p50 %" PRIu64 " us, p99 %" PRIu64 " us, max %"
		    PRIu64 " us\n", hist_percentile(0.50),
		    hist_percentile(0.99), max_us);
	}
	if (o.sc == SC_SLOW)
		printf("stalled clients dropped by the server: %d/%d\n",
		    nstalled_dropped, o.nstalled);
	if (o.server_pid > 0)
		printf("server: VmRSS %ld -> %ld kB (%.2f kB/client), VmHWM %ld "
		    "kB, CPU %.2f s in %.2f s\n", rss0, rss1, rss_per_client,
		    hwm, cpu1 - cpu0, phase_s);
	if (mem_ok && nregistered > 0)
		print_sysmem(&mem0, &mem1, rss_per_client);
	printf("loadgen CPU %.2f s (%.2f s system) in %.2f s (%.0f%%)\n",
	    self1 - self0, sys1 - sys0, phase_s,
	    phase_s > 0 ? 100 * (self1 - self0) / phase_s : 0);
	printf("RESULT scenario=%s server=%s ok=%d clients=%d "
	    "deliveries=%" PRIu64 " deliveries_per_s=%.0f p50_us=%" PRIu64
	    " p99_us=%" PRIu64 " max_us=%" PRIu64 " lost=%" PRIu64
	    " reg_per_s=%.0f rss_per_client_kb=%.2f peak_rss_kb=%ld cpu_s=%.2f"
	    " gen_cpu_s=%.2f phase_s=%.2f stalled_dropped=%d reg_p50_us=%"
	    PRIu64 " reg_p99_us=%" PRIu64 " reg_max_us=%" PRIu64 "\n",
	    scenario_names[o.sc], o.label, ok ? 1 : 0, nregistered, delivered, dps, hist_percentile(0.50),
	    hist_percentile(0.99), max_us, lost, reg_per_s, rss_per_client,
	    hwm, o.server_pid > 0 ? cpu1 - cpu0 : -1.0, self1 - self0, phase_s,
	    nstalled_dropped, reg_p50, reg_p99, reg_max);
	fflush(stdout);
	close_all();
	return ok ? 0 : 1;
}
