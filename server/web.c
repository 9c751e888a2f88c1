/*
 * web.c: natterd's web listener (--web-port): the chat page, and IRC over
 * WebSocket as the IRCv3 WebSocket specification defines it.
 *
 * A connection to the web port is a client like any other, on its own
 * thread (client.c); this file sits between its socket and the IRC line
 * handling.  Until the request is read, it is HTTP: libhttp-parser
 * parses it, and the answer is a file of the page (compiled in,
 * web_assets), a refusal, or the upgrade to WebSocket.  After the
 * upgrade, wslay frames it: each message in is one IRC line, handed to
 * client.c's line handling with a CRLF added, and each line natterd
 * queues for the client goes out as one message, its CRLF taken off.
 * Queueing and the SendQ stay client.c's and output.c's: lines move from
 * the output queue into wslay a batch at a time, only as fast as the
 * socket takes them.  Everything here runs on the connection's own
 * thread, so a struct web needs no lock.
 *
 * Why these libraries: both are packaged by Debian and keep natterd's own
 * accept loop, OpenSSL certificate and thread per client (see the
 * closing note of issue 15).  libmicrohttpd and libwebsockets run their
 * own event loops and, for HTTPS, their own TLS.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <wslay/wslay.h>

#include "base64.h"
#include "log.h"
#include "natterd.h"
#include "utf8.h"

#define WEB_HEAD_MAX	8192	/* request line and headers */
#define WEB_HEAD_SECS	10	/* to send them, or --reg-timeout if less */
#define WEB_VALUE_MAX	512	/* one header we read */
#define WEB_URL_MAX	512
#define WEB_PING_BURST	20	/* pings answered at once */
#define WEB_PING_RATE	5	/* and then a second */
#define WEB_PONGS_HELD	(2 * WEB_PING_BURST) /* unsent: stop reading */
#define WEB_REASON_MAX	120	/* a close frame's reason (RFC 6455: 123) */

/* The files of the page: web_assets.S, made by the Makefile from web/. */
struct web_asset {
	const char		*name;
	const unsigned char	*data;
	size_t			 len;
};
extern const struct web_asset web_assets[];

/* The headers we look at. */
enum {
	H_OTHER, H_HOST, H_ORIGIN, H_UPGRADE, H_CONNECTION, H_KEY,
	H_VERSION, H_PROTOCOL, H_COUNT
};

static const char *const header_names[H_COUNT] = {
	NULL, "host", "origin", "upgrade", "connection", "sec-websocket-key",
	"sec-websocket-version", "sec-websocket-protocol"
};

/* The request being read: freed once it is answered. */
struct web_http {
	http_parser	 hp;
	size_t		 bytes;		/* fed to the parser so far */
	char		 url[WEB_URL_MAX];
	size_t		 urllen;
	char		 field[32];	/* the header name being read */
	size_t		 fieldlen;
	int		 in_value;	/* the parser is in a value */
	int		 cur;		/* H_*: whose value it is */
	char		 val[H_COUNT][WEB_VALUE_MAX];
	size_t		 vallen[H_COUNT];
	int		 seen[H_COUNT];
	int		 too_long;	/* a value we read was too long */
	int		 headers_done;
	int		 has_body;
	int		 done;		/* the whole request is in */
};

enum web_phase {
	WEB_HTTP,		/* reading the request */
	WEB_ANSWERED,		/* an HTTP answer is going out; then close */
	WEB_WS			/* upgraded */
};

struct web {
	struct conn		*c;
	enum web_phase		 phase;
	struct web_http		*http;
	long long		 deadline;	/* monotonic ms for the request */
	/* Raw bytes that go out before anything else: the HTTP answer
	 * (head, then a compiled-in body), or the 101 of the upgrade. */
	char			*head;
	size_t			 headlen;
	size_t			 headoff;
	const unsigned char	*body;
	size_t			 bodylen;
	size_t			 bodyoff;
	/* WebSocket. */
	wslay_event_context_ptr	 ws;
	int			 binary;	/* binary.ircv3.net */
	const char		*in;		/* for recv_cb: this read */
	size_t			 inlen;
	char			*msg;		/* the data message being read */
	size_t			 msglen;
	int			 ctrl_frame;	/* the frame being read is one */
	char			*lines;		/* decoded, CRLF-ended */
	size_t			 nlines;
	size_t			 caplines;
	int			 oom;
	uint16_t		 close_code;	/* ours to send, or 0 */
	char			 why[WEB_REASON_MAX + 1];
	int			 closed;	/* no more input will come */
	double			 ping_tokens;
	int			 pongs;		/* queued since all was sent */
	int			 swallow;	/* ws_send_cb drops what it gets */
	int			 swallowed;	/* wslay's close went nowhere */
	long long		 ping_ms;
	int			 io_error;
	int			 final_sent;	/* web_final was here */
	/* Frames out, made by wslay's frame layer into this buffer and
	 * written with one call: the event layer sends each frame's head
	 * and payload in two.  Only wslay's own answers (pongs, the reply
	 * to a client's close) go through the event layer, never while
	 * this holds bytes, and nothing is added here while the event
	 * layer holds some: frames never interleave. */
	wslay_frame_context_ptr	 fctx;
	char			*out;
	size_t			 outlen;
	size_t			 outoff;
	size_t			 outcap;
	int			 closing;	/* our close frame is in out */
};

static int
web_head_secs(void)
{
	return config.reg_timeout < WEB_HEAD_SECS ? config.reg_timeout :
	    WEB_HEAD_SECS;
}

int
web_open(struct conn *c)
{
	struct web *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	if ((w->http = calloc(1, sizeof(*w->http))) == NULL) {
		free(w);
		return -1;
	}
	w->c = c;
	http_parser_init(&w->http->hp, HTTP_REQUEST);
	w->http->hp.data = w;
	w->deadline = mono_ms() + web_head_secs() * 1000LL;
	w->ping_tokens = WEB_PING_BURST;
	w->ping_ms = mono_ms();
	c->web = w;
	return 0;
}

void
web_free(struct conn *c)
{
	struct web *w = c->web;

	if (w == NULL)
		return;
	if (w->ws != NULL)
		wslay_event_context_free(w->ws);
	if (w->fctx != NULL)
		wslay_frame_context_free(w->fctx);
	free(w->out);
	free(w->http);
	free(w->head);
	free(w->lines);
	free(w->msg);
	free(w);
	c->web = NULL;
}

/*
 * The answer to an HTTP request.
 */

#define WEB_CSP	"default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self'; manifest-src 'self'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static const char *
content_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".webmanifest", "application/manifest+json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Queues an HTTP answer (head, extra header lines, body) and closes
 * once it is out.  body is static or NULL (then the text is the body). */
static void
web_answer(struct web *w, int status, const char *extra,
    const unsigned char *body, size_t bodylen, const char *type,
    const char *text, int head_only)
{
	char *h;
	int n;

	/* A text body goes in the same allocation as the head. */
	if (body == NULL) {
		bodylen = text != NULL ? strlen(text) : 0;
		type = "text/plain; charset=utf-8";
	}
	n = asprintf(&h, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Content-Security-Policy: " WEB_CSP "\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Cache-Control: no-cache\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "\r\n%s", status, status_text(status), type, bodylen,
	    extra != NULL ? extra : "", body == NULL && text != NULL &&
	    !head_only ? text : "");
	w->phase = WEB_ANSWERED;
	free(w->http);
	w->http = NULL;
	if (n < 0) {
		conn_kill(w->c, "Out of memory");
		return;
	}
	w->head = h;
	w->headlen = (size_t)n;
	if (!head_only && body != NULL) {
		w->body = body;
		w->bodylen = bodylen;
	}
}

static void
web_refuse(struct web *w, int status, const char *why)
{
	char text[160];
	/* No body for a HEAD (RFC 9110 9.3.2), once we know it is one. */
	int head_only = w->http != NULL && w->http->headers_done &&
	    w->http->hp.method == HTTP_HEAD;

	log_info("%s: HTTP %d: %s", w->c->ip, status, why);
	snprintf(text, sizeof(text), "%s\n", why);
	web_answer(w, status, status == 426 ?
	    "Sec-WebSocket-Version: 13\r\n" : NULL, NULL, 0, NULL, text,
	    head_only);
}

/* 1 if the comma-separated list s holds token (case-insensitive). */
static int
has_token(const char *s, const char *token)
{
	size_t n = strlen(token), i;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		for (i = 0; s[i] != '\0' && s[i] != ',' && s[i] != ' ' &&
		    s[i] != '\t'; i++)
			;
		if (i == n && strncasecmp(s, token, n) == 0)
			return 1;
		s += i;
		while (*s != '\0' && *s != ',')
			s++;
	}
	return 0;
}

/*
 * 1 if a request from origin may open a WebSocket: --web-origin's list
 * ("*": any), or else an Origin naming the host the request was sent to
 * (the page's own).  No Origin at all: not a browser, which is not the
 * cross-site case the check is for.
 */
static int
origin_allowed(const char *origin, int has_origin, const char *host)
{
	const char *p, *e, *o;
	size_t n;

	if (config.web_origin != NULL) {
		for (p = config.web_origin; *p != '\0'; p = *e ? e + 1 : e) {
			for (e = p; *e != '\0' && *e != ','; e++)
				;
			n = (size_t)(e - p);
			if ((n == 1 && *p == '*') ||
			    (has_origin && n == strlen(origin) &&
			    strncasecmp(p, origin, n) == 0))
				return 1;
		}
		return !has_origin;
	}
	if (!has_origin)
		return 1;
	if (strncasecmp(origin, "http://", 7) == 0)
		o = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		o = origin + 8;
	else
		return 0;
	return host[0] != '\0' && strcasecmp(o, host) == 0;
}

/* Sec-WebSocket-Accept for key (RFC 6455 4.2.2). */
static void
accept_key(const char *key, char *out, size_t len)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[SHA_DIGEST_LENGTH];
	char in[WEB_VALUE_MAX + sizeof(guid)];
	int n;

	n = snprintf(in, sizeof(in), "%s%s", key, guid);
	SHA1((const unsigned char *)in, (size_t)n, md);
	(void)base64_encode(md, sizeof(md), out, len);
}

static int	 web_upgrade(struct web *);
int		 web_send(struct conn *);

static void
web_request(struct web *w)
{
	struct web_http *h = w->http;
	const struct web_asset *a;
	const char *path = h->url, *name;
	char *q;
	int head_only = h->hp.method == HTTP_HEAD;

	if ((q = strchr(h->url, '?')) != NULL)
		*q = '\0';
	if (h->hp.http_major != 1) {
		web_refuse(w, 505, "HTTP/1.1 only");
		return;
	}
	if (h->too_long) {
		web_refuse(w, 431, "A header is too long");
		return;
	}
	if (h->hp.method != HTTP_GET && h->hp.method != HTTP_HEAD) {
		log_info("%s: HTTP 405: %s", w->c->ip,
		    http_method_str(h->hp.method));
		web_answer(w, 405, "Allow: GET, HEAD\r\n", NULL, 0, NULL,
		    "Only GET and HEAD\n", 0);
		return;
	}
	if (h->has_body) {
		web_refuse(w, 400, "A request here has no body");
		return;
	}
	if (h->hp.http_minor >= 1 && !h->seen[H_HOST]) {
		web_refuse(w, 400, "No Host header");
		return;
	}
	if (h->seen[H_UPGRADE] || strcmp(path, "/irc") == 0) {
		if (strcmp(path, "/irc") != 0)
			web_refuse(w, 404, "WebSocket is at /irc");
		else if (head_only && h->seen[H_UPGRADE])
			web_refuse(w, 400, "A WebSocket opens with GET");
		else
			(void)web_upgrade(w);
		return;
	}
	name = strcmp(path, "/") == 0 ? "index.html" : path + 1;
	for (a = web_assets; a->name != NULL; a++)
		if (path[0] == '/' && strcmp(a->name, name) == 0)
			break;
	if (a->name == NULL) {
		web_refuse(w, 404, "Not found");
		return;
	}
	web_answer(w, 200, NULL, a->data, a->len, content_type(a->name), NULL,
	    head_only);
}

/* The WebSocket side: wslay's callbacks. */

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct web *w = arg;

	(void)flags;
	if (w->inlen == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > w->inlen)
		len = w->inlen;
	memcpy(buf, w->in, len);
	w->in += len;
	w->inlen -= len;
	return (ssize_t)len;
}

/* Writes to the socket, plain or TLS: bytes written, 0 if it is full,
 * -1 on error. */
static ssize_t
web_write(struct web *w, const void *p, size_t len, int more)
{
	struct conn *c = w->c;
	ssize_t n;
	int e;

	if (len == 0)
		return 0;
	if (c->ssl == NULL) {
		n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL |
		    (more ? MSG_MORE : 0));
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -1;
	}
	if (!SSL_is_init_finished(c->ssl))
		return 0;
	ERR_clear_error();
	n = SSL_write(c->ssl, p, len > 1 << 30 ? 1 << 30 : (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(c->ssl, (int)n);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ||
	    (e == SSL_ERROR_SYSCALL && errno == EINTR))
		return 0;
	return -1;
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct web *w = arg;
	ssize_t n;

	if (w->swallow)
		return (ssize_t)len;
	n = web_write(w, data, len, flags & WSLAY_MSG_MORE);
	if (n > 0)
		return n;
	if (n == 0)
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
	else {
		w->io_error = 1;
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	}
	return -1;
}

/* Ends the WebSocket for bad input: code and why go in the close frame
 * after the ERROR line (web_final). */
static void
ws_fail(struct web *w, uint16_t code, const char *why)
{
	if (w->closed)
		return;
	w->close_code = code;
	snprintf(w->why, sizeof(w->why), "%s", why);
	w->closed = 1;
}

/* Appends n bytes to a growing buffer (first: its first capacity);
 * -1 when out of memory. */
static int
bytes_add(char **buf, size_t *len, size_t *cap, size_t first,
    const void *p, size_t n)
{
	size_t ncap;
	char *nb;

	if (*len + n > *cap) {
		ncap = *cap == 0 ? first : *cap;
		while (ncap < *len + n)
			ncap *= 2;
		if ((nb = realloc(*buf, ncap)) == NULL)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

static int
lines_add(struct web *w, const char *p, size_t n)
{
	if (bytes_add(&w->lines, &w->nlines, &w->caplines, 1024, p, n) == -1)
		return -1;
	if (bytes_add(&w->lines, &w->nlines, &w->caplines, 1024, "\r\n",
	    2) == -1) {
		w->nlines -= n;		/* no line without its end */
		return -1;
	}
	return 0;
}

/*
 * A data message's bytes are gathered here, not by wslay: it keeps each
 * fragment as a chunk of its own (three allocations), so one message of
 * 8703 one-byte fragments held 90 times its size.  Control frames (125
 * bytes at most) stay wslay's.
 */
static void
ws_frame_start_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct web *w = user;

	(void)ctx;
	w->ctrl_frame = (arg->opcode & 0x8) != 0;
	if (arg->opcode == WSLAY_TEXT_FRAME ||
	    arg->opcode == WSLAY_BINARY_FRAME)
		w->msglen = 0;		/* a new message */
}

static void
ws_frame_chunk_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
	struct web *w = user;

	(void)ctx;
	if (w->ctrl_frame || w->closed || arg->data_length == 0)
		return;
	if (arg->data_length > FRAME_MAX - w->msglen) {
		ws_fail(w, WSLAY_CODE_MESSAGE_TOO_BIG, "WebSocket message too "
		    "long");
		return;
	}
	if (w->msg == NULL && (w->msg = malloc(FRAME_MAX)) == NULL) {
		w->oom = 1;
		ws_fail(w, WSLAY_CODE_INTERNAL_SERVER_ERROR, "Out of memory");
		return;
	}
	memcpy(w->msg + w->msglen, arg->data, arg->data_length);
	w->msglen += arg->data_length;
}

static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg
    *arg, void *user)
{
	struct web *w = user;
	const char *p = (const char *)arg->msg;
	size_t n = arg->msg_length;
	long long now;

	if (arg->opcode == WSLAY_TEXT_FRAME ||
	    arg->opcode == WSLAY_BINARY_FRAME) {
		p = w->msg != NULL ? w->msg : "";
		n = w->msglen;
		w->msglen = 0;
	}

	(void)ctx;
	if (w->closed)
		return;
	switch (arg->opcode) {
	case WSLAY_PING:
		/* wslay answers each; they cost like lines. */
		now = mono_ms();
		w->ping_tokens += (double)(now - w->ping_ms) * WEB_PING_RATE /
		    1000.0;
		if (w->ping_tokens > WEB_PING_BURST)
			w->ping_tokens = WEB_PING_BURST;
		w->ping_ms = now;
		if (w->ping_tokens < 1)
			ws_fail(w, WSLAY_CODE_POLICY_VIOLATION, "Ping flood");
		else
			w->ping_tokens -= 1;
		w->pongs++;	/* wslay queued one */
		return;
	case WSLAY_BINARY_FRAME:
		if (!w->binary) {
			ws_fail(w, WSLAY_CODE_UNSUPPORTED_DATA, "Binary message "
			    "on text.ircv3.net");
			return;
		}
		break;
	case WSLAY_TEXT_FRAME:
		if (!utf8_valid(p, n)) {
			ws_fail(w, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA,
			    "Invalid UTF-8");
			return;
		}
		break;
	default:
		return;		/* pong, close: wslay's */
	}
	/* One line, no CR LF; a trailing one is forgiven. */
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL) {
		ws_fail(w, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, "A message "
		    "is one IRC line: CR or LF inside");
		return;
	}
	if (n > 0 && lines_add(w, p, n) == -1)
		w->oom = 1;
	/* An idle connection holds no message buffer. */
	if (p == w->msg) {
		free(w->msg);
		w->msg = NULL;
	}
}

/* Chooses the subprotocol: the first the client lists that natterd
 * speaks.  0 text, 1 binary, -1 none named. */
static int
choose_protocol(const char *list)
{
	const char *p = list;
	size_t i;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		for (i = 0; p[i] != '\0' && p[i] != ',' && p[i] != ' ' &&
		    p[i] != '\t'; i++)
			;
		if (i == 14 && strncmp(p, "text.ircv3.net", 14) == 0)
			return 0;
		if (i == 16 && strncmp(p, "binary.ircv3.net", 16) == 0)
			return 1;
		p += i;
	}
	return -1;
}

static int
web_upgrade(struct web *w)
{
	static const struct wslay_event_callbacks cb = {
		.recv_callback = ws_recv_cb,
		.send_callback = ws_send_cb,
		.on_msg_recv_callback = ws_msg_cb,
		.on_frame_recv_start_callback = ws_frame_start_cb,
		.on_frame_recv_chunk_callback = ws_frame_chunk_cb,
	};
	struct web_http *h = w->http;
	unsigned char raw[32];
	char acc[BASE64_LEN(SHA_DIGEST_LENGTH)], *head, why[128], retry[48];
	int proto, n, wait;

	if (h->hp.http_minor < 1 || !h->seen[H_UPGRADE] ||
	    !has_token(h->val[H_UPGRADE], "websocket") ||
	    !has_token(h->val[H_CONNECTION], "upgrade")) {
		web_refuse(w, 426, "This is a WebSocket endpoint: use "
		    "Upgrade: websocket");
		return -1;
	}
	if (!h->seen[H_VERSION] || strcmp(h->val[H_VERSION], "13") != 0) {
		web_refuse(w, 426, "WebSocket version 13 only");
		return -1;
	}
	if (!h->seen[H_KEY] || base64_decode(h->val[H_KEY], raw,
	    sizeof(raw)) != 16) {
		web_refuse(w, 400, "Sec-WebSocket-Key must be 16 bytes in "
		    "base64");
		return -1;
	}
	if (!origin_allowed(h->val[H_ORIGIN], h->seen[H_ORIGIN],
	    h->val[H_HOST])) {
		web_refuse(w, 403, "Origin not allowed (natterd --web-origin)");
		return -1;
	}
	/* A page's files count against 10 times --throttle (natterd.c);
	 * a WebSocket is an IRC connection. */
	if ((wait = conn_throttled(w->c)) > 0) {
		snprintf(why, sizeof(why), "Too many new connections from "
		    "your IP; try again in %d seconds", wait);
		snprintf(retry, sizeof(retry), "Retry-After: %d\r\n", wait);
		log_info("%s: HTTP 429: throttled (group %s)", w->c->ip,
		    w->c->ipgroup);
		web_answer(w, 429, retry, NULL, 0, NULL, why, 0);
		return -1;
	}
	proto = h->seen[H_PROTOCOL] ? choose_protocol(h->val[H_PROTOCOL]) : -1;
	if (wslay_event_context_server_init(&w->ws, &cb, w) != 0) {
		web_refuse(w, 500, "Out of memory");
		return -1;
	}
	/* Data messages are gathered in w->msg (ws_frame_chunk_cb), which
	 * checks their length; wslay checks each frame's. */
	wslay_event_config_set_no_buffering(w->ws, 1);
	wslay_event_config_set_max_recv_msg_length(w->ws, FRAME_MAX);
	accept_key(h->val[H_KEY], acc, sizeof(acc));
	n = asprintf(&head, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "%s%s%s"
	    "\r\n", acc, proto >= 0 ? "Sec-WebSocket-Protocol: " : "",
	    proto == 1 ? "binary.ircv3.net" : proto == 0 ? "text.ircv3.net" :
	    "", proto >= 0 ? "\r\n" : "");
	if (n < 0) {
		web_refuse(w, 500, "Out of memory");
		return -1;
	}
	w->binary = proto == 1;
	w->head = head;
	w->headlen = (size_t)n;
	w->headoff = 0;
	w->phase = WEB_WS;
	free(w->http);
	w->http = NULL;
	return 0;
}

/* http_parser's callbacks. */

static int
hp_url(http_parser *hp, const char *at, size_t len)
{
	struct web_http *h = ((struct web *)hp->data)->http;

	if (h->urllen + len >= sizeof(h->url)) {
		h->too_long = 1;
		return 0;
	}
	memcpy(h->url + h->urllen, at, len);
	h->urllen += len;
	h->url[h->urllen] = '\0';
	return 0;
}

static int
hp_field(http_parser *hp, const char *at, size_t len)
{
	struct web_http *h = ((struct web *)hp->data)->http;

	if (h->in_value) {
		h->in_value = 0;
		h->fieldlen = 0;
	}
	if (h->fieldlen + len >= sizeof(h->field))
		h->fieldlen = sizeof(h->field);	/* none of ours */
	else {
		memcpy(h->field + h->fieldlen, at, len);
		h->fieldlen += len;
	}
	return 0;
}

static int
hp_value(http_parser *hp, const char *at, size_t len)
{
	struct web_http *h = ((struct web *)hp->data)->http;
	size_t *vl;
	int i;

	if (!h->in_value) {
		h->in_value = 1;
		h->cur = H_OTHER;
		for (i = 1; i < H_COUNT && h->fieldlen < sizeof(h->field); i++)
			if (strlen(header_names[i]) == h->fieldlen &&
			    strncasecmp(h->field, header_names[i],
			    h->fieldlen) == 0)
				h->cur = i;
		if (h->cur != H_OTHER && h->seen[h->cur]) {
			/* Said twice: a list, as RFC 9110 reads it. */
			if (h->cur == H_HOST || h->cur == H_KEY ||
			    h->cur == H_ORIGIN || h->cur == H_VERSION)
				h->too_long = 2;	/* refused */
			vl = &h->vallen[h->cur];
			if (*vl + 2 < WEB_VALUE_MAX) {
				memcpy(h->val[h->cur] + *vl, ", ", 2);
				*vl += 2;
			}
		}
		h->seen[h->cur] = 1;
	}
	if (h->cur == H_OTHER)
		return 0;
	vl = &h->vallen[h->cur];
	if (*vl + len >= WEB_VALUE_MAX) {
		h->too_long = 1;
		return 0;
	}
	memcpy(h->val[h->cur] + *vl, at, len);
	*vl += len;
	h->val[h->cur][*vl] = '\0';
	return 0;
}

static int
hp_headers_done(http_parser *hp)
{
	struct web_http *h = ((struct web *)hp->data)->http;

	h->headers_done = 1;
	h->has_body = (hp->flags & F_CHUNKED) || (hp->content_length > 0 &&
	    hp->content_length != ULLONG_MAX);
	/* No body is read: the request ends here. */
	return h->has_body ? 1 : 0;
}

static int
hp_done(http_parser *hp)
{
	struct web_http *h = ((struct web *)hp->data)->http;

	h->done = 1;
	http_parser_pause(hp, 1);	/* one request a connection */
	return 0;
}

static const http_parser_settings hp_settings = {
	.on_url = hp_url,
	.on_header_field = hp_field,
	.on_header_value = hp_value,
	.on_headers_complete = hp_headers_done,
	.on_message_complete = hp_done,
};

/* Feeds the request's bytes to the parser; what follows an upgrade is
 * left in *rest. */
static void
web_http_input(struct web *w, const char *buf, size_t n, const char **rest,
    size_t *restlen)
{
	struct web_http *h = w->http;
	enum http_errno e;
	size_t took;

	*rest = NULL;
	*restlen = 0;
	took = http_parser_execute(&h->hp, &hp_settings, buf, n);
	e = HTTP_PARSER_ERRNO(&h->hp);
	h->bytes += took;
	if (e == HPE_HEADER_OVERFLOW || (!h->headers_done &&
	    h->bytes > WEB_HEAD_MAX)) {
		web_refuse(w, 431, "Request headers over 8192 bytes");
		return;
	}
	if (e != HPE_OK && e != HPE_PAUSED) {
		web_refuse(w, 400, "Malformed request");
		return;
	}
	if (h->too_long == 2) {
		web_refuse(w, 400, "A header that may appear once appears "
		    "twice");
		return;
	}
	if (h->hp.upgrade || h->done) {
		if (!h->done) {
			/* http_parser stops at the headers of an upgrade. */
			h->done = 1;
		}
		web_request(w);
		if (w->phase == WEB_WS && took < n) {
			*rest = buf + took;
			*restlen = n - took;
		}
	}
}

/* Runs wslay over bytes; decoded lines go to w->lines. */
static void
web_ws_input(struct web *w, const char *buf, size_t n)
{
	uint16_t code;
	int idle = w->outoff == w->outlen && !wslay_event_want_write(w->ws);

	w->in = buf;
	w->inlen = n;
	/* Fails on some protocol errors (a fragmented or long control
	 * frame) after queueing a close without a code: that one is
	 * dropped, and ours says 1002 (web_final). */
	if (wslay_event_recv(w->ws) != 0 && !w->closed) {
		wslay_event_shutdown_write(w->ws);
		ws_fail(w, w->oom ? WSLAY_CODE_INTERNAL_SERVER_ERROR :
		    WSLAY_CODE_PROTOCOL_ERROR, w->oom ? "Out of memory" :
		    "WebSocket protocol error");
		return;
	}
	if (w->oom && !w->closed)
		ws_fail(w, WSLAY_CODE_INTERNAL_SERVER_ERROR, "Out of memory");
	if (w->closed) {
		wslay_event_shutdown_read(w->ws);
		return;
	}
	if (!wslay_event_get_read_enabled(w->ws)) {
		/* The peer's close, or a protocol error wslay answered with
		 * its own close frame: send that now, to name it. */
		w->closed = 1;
		if (wslay_event_get_close_received(w->ws)) {
			snprintf(w->why, sizeof(w->why), "Connection closed");
			return;
		}
		/* Through web_send, after what out holds.  wslay's close
		 * has no reason: when nothing else was waiting, it goes
		 * nowhere, to learn its code, and web_final sends ours
		 * (after the ERROR line, as for the other bad input). */
		w->swallow = idle;
		(void)web_send(w->c);
		w->swallow = 0;
		code = wslay_event_get_status_code_sent(w->ws);
		snprintf(w->why, sizeof(w->why), "%s",
		    code == WSLAY_CODE_MESSAGE_TOO_BIG ?
		    "WebSocket message too long" :
		    code == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA ?
		    "Invalid UTF-8" : "WebSocket protocol error");
		if (idle && wslay_event_get_close_sent(w->ws)) {
			w->swallowed = 1;
			w->close_code = code;
		}
	}
}

int
web_input(struct conn *c, const char *buf, size_t n, const char **out,
    size_t *outlen)
{
	struct web *w = c->web;
	const char *rest;
	size_t restlen;

	*out = NULL;
	*outlen = 0;
	/* The last call's lines are handled by now: an idle connection
	 * keeps no buffer for them. */
	free(w->lines);
	w->lines = NULL;
	w->nlines = w->caplines = 0;
	switch (w->phase) {
	case WEB_HTTP:
		web_http_input(w, buf, n, &rest, &restlen);
		if (w->phase != WEB_WS || restlen == 0)
			return 0;
		buf = rest;
		n = restlen;
		/* FALLTHROUGH */
	case WEB_WS:
		if (w->closed)
			break;
		web_ws_input(w, buf, n);
		*out = w->lines;
		*outlen = w->nlines;
		break;
	case WEB_ANSWERED:
		break;		/* what comes after the request is moot */
	}
	return 0;
}

int
web_closed(struct conn *c, const char **why)
{
	struct web *w = c->web;

	*why = w->why[0] != '\0' ? w->why : "Connection closed";
	return w->phase == WEB_WS && w->closed;
}

long long
web_deadline(struct conn *c)
{
	return c->web->phase == WEB_HTTP ? c->web->deadline : 0;
}

void
web_timer(struct conn *c, long long now)
{
	struct web *w = c->web;

	if (w->phase != WEB_HTTP || now < w->deadline)
		return;
	if (c->ssl != NULL && !SSL_is_init_finished(c->ssl)) {
		/* No 408 can go out before the handshake ends: it would
		 * wait for the registration timeout. */
		conn_kill(c, "TLS handshake timed out");
		return;
	}
	web_refuse(w, 408, "The request took too long");
}

int
web_want_write(struct conn *c)
{
	struct web *w = c->web;

	return w->headoff < w->headlen || w->bodyoff < w->bodylen ||
	    w->outoff < w->outlen ||
	    (w->ws != NULL && wslay_event_want_write(w->ws));
}

/*
 * Sends what is waiting here: the raw HTTP bytes, the frames in out,
 * then wslay's own.  1 when all went, 0 when the socket is full, -1 on
 * error.
 */
int
web_send(struct conn *c)
{
	struct web *w = c->web;
	ssize_t n;

	while (w->headoff < w->headlen) {
		n = web_write(w, w->head + w->headoff, w->headlen - w->headoff,
		    w->bodylen > 0);
		if (n <= 0)
			return (int)n;
		w->headoff += (size_t)n;
	}
	while (w->bodyoff < w->bodylen) {
		n = web_write(w, w->body + w->bodyoff, w->bodylen - w->bodyoff,
		    0);
		if (n <= 0)
			return (int)n;
		w->bodyoff += (size_t)n;
	}
	while (w->outoff < w->outlen) {
		n = web_write(w, w->out + w->outoff, w->outlen - w->outoff, 0);
		if (n <= 0)
			return (int)n;
		w->outoff += (size_t)n;
	}
	if (w->out != NULL) {
		/* An idle client keeps neither. */
		free(w->out);
		w->out = NULL;
		w->outlen = w->outoff = w->outcap = 0;
		if (w->fctx != NULL) {
			wslay_frame_context_free(w->fctx);
			w->fctx = NULL;
		}
	}
	if (w->ws != NULL && wslay_event_want_write(w->ws)) {
		if (wslay_event_send(w->ws) != 0)
			return w->io_error ? -1 : 0;
		if (wslay_event_want_write(w->ws))
			return 0;
	}
	w->pongs = 0;
	return 1;
}

/*
 * 1 while the pongs wslay holds for c, unsent, are too many: c takes no
 * more input until its reader catches up (as past its SendQ), which
 * its Ping timeout ends if it never does.  wslay answers each ping
 * before natterd sees it, and nothing else counts those answers.
 */
int
web_held(struct conn *c)
{
	return c->web->phase == WEB_WS && c->web->pongs > WEB_PONGS_HELD;
}

int
web_framing(struct conn *c)
{
	struct web *w = c->web;

	return w->phase == WEB_WS && !w->final_sent &&
	    !wslay_event_get_close_received(w->ws) &&
	    wslay_event_get_write_enabled(w->ws);
}

/* wslay's frame layer writes here. */
static ssize_t
out_cb(const uint8_t *data, size_t len, int flags, void *arg)
{
	struct web *w = arg;

	(void)flags;
	if (bytes_add(&w->out, &w->outlen, &w->outcap, 4096, data, len) == -1)
		return -1;
	return (ssize_t)len;
}

/* One frame into out; -1 when out of memory, or while wslay's event
 * layer has a frame on its way (frames must not interleave). */
static int
out_frame(struct web *w, uint8_t opcode, const void *p, size_t n)
{
	static const struct wslay_frame_callbacks cb = {
		.send_callback = out_cb,
	};
	struct wslay_frame_iocb io;
	ssize_t r;

	if (wslay_event_want_write(w->ws) && wslay_event_get_write_enabled(
	    w->ws))
		return -1;
	if (w->fctx == NULL && wslay_frame_context_init(&w->fctx, &cb,
	    w) != 0)
		return -1;
	memset(&io, 0, sizeof(io));
	io.fin = 1;
	io.opcode = opcode;
	io.payload_length = n;
	io.data = p;
	io.data_length = n;
	r = wslay_frame_send(w->fctx, &io);
	/* out_cb takes everything or fails. */
	return r == (ssize_t)n ? 0 : -1;
}

/* One line (CRLF-ended) to go out as one message. */
int
web_queue_line(struct conn *c, const char *p, size_t n)
{
	struct web *w = c->web;
	char *copy = NULL;
	int rc;

	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (!w->binary && !utf8_valid(p, n)) {
		/* Never non-UTF-8 in a text message (the browser would
		 * drop the connection). */
		if ((copy = malloc(n)) == NULL)
			return -1;
		memcpy(copy, p, n);
		utf8_scrub(copy, n);
		p = copy;
	}
	rc = out_frame(w, w->binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME,
	    p, n);
	free(copy);
	return rc;
}

/* 1 once an HTTP answer or a close frame is all out: the connection is
 * done. */
int
web_finished(struct conn *c)
{
	struct web *w = c->web;

	if (w->phase == WEB_ANSWERED)
		return w->headoff == w->headlen && w->bodyoff == w->bodylen;
	if (w->phase == WEB_WS)
		return (w->closing && w->outoff == w->outlen) ||
		    (wslay_event_get_close_sent(w->ws) && !w->swallowed &&
		    !wslay_event_want_write(w->ws));
	return 0;
}

/*
 * The goodbye, best effort: the ERROR line as a message, then a close
 * frame (bad input: its code; otherwise 1000, or 1001 when the server
 * stops).  Nothing more after a close wslay sent (its answer to the
 * client's), or when the socket is full.
 */
void
web_final(struct conn *c, const char *line, size_t len, const char *reason)
{
	struct web *w = c->web;
	uint16_t code = w->close_code;
	unsigned char frame[2 + WEB_REASON_MAX + 1];
	size_t n;

	if (w->phase != WEB_WS || w->final_sent) {
		(void)web_send(c);
		return;
	}
	w->final_sent = 1;
	if (wslay_event_get_close_received(w->ws) ||
	    (wslay_event_get_close_sent(w->ws) && !w->swallowed) ||
	    web_send(c) != 1) {
		(void)web_send(c);
		return;
	}
	if (line != NULL)
		(void)web_queue_line(c, line, len);
	if (code == 0) {
		if (strcmp(reason, "Server shutting down") == 0)
			code = WSLAY_CODE_GOING_AWAY;
		else if (strcmp(reason, "Excess Flood") == 0 ||
		    strcmp(reason, "SendQ exceeded") == 0)
			code = WSLAY_CODE_POLICY_VIOLATION;
		else
			code = WSLAY_CODE_NORMAL_CLOSURE;
	}
	frame[0] = (unsigned char)(code >> 8);
	frame[1] = (unsigned char)(code & 0xff);
	/* The reason is UTF-8 (natterd takes no other): cut between
	 * characters. */
	if (w->why[0] != '\0')
		reason = w->why;
	n = utf8_cut(reason, strlen(reason), WEB_REASON_MAX);
	memcpy(frame + 2, reason, n);
	/* Ours, not wslay's queue: no pong after it, and after the line. */
	wslay_event_shutdown_write(w->ws);
	if (out_frame(w, WSLAY_CONNECTION_CLOSE, frame, 2 + n) == 0)
		w->closing = 1;
	(void)web_send(c);
}

/* The refusal at accept (server full, too many from the address), on
 * the plain web port. */
const char *
web_refusal(const char *why)
{
	static _Thread_local char line[384];
	size_t n = strcspn(why, "\r\n");

	if (n > 200)
		n = 200;
	snprintf(line, sizeof(line), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Content-Security-Policy: " WEB_CSP "\r\n"
	    "Connection: close\r\n"
	    "\r\n%.*s\n", n + 1, (int)n, why);
	return line;
}

void
web_init(void)
{
	http_parser_set_max_header_size(WEB_HEAD_MAX);
}
