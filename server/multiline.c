/*
 * multiline.c: IRCv3 draft/multiline.
 *
 * A client with the cap (and batch) sends BATCH +ref draft/multiline
 * <target>, PRIVMSG lines tagged batch=ref, then BATCH -ref.  Each line
 * is checked as it arrives and its text kept on its connection (struct
 * mlbatch, [T]: only the connection's own thread touches it); at the
 * close the whole is handed to command.c (message_multiline), which
 * checks the target as for a PRIVMSG (and that a nick is still held by
 * whoever held it at the open), stores it as ONE message with one
 * msgid and posts it through the one fan-out.  Anything wrong answers
 * FAIL BATCH MULTILINE_* and nothing of that batch is delivered; its
 * later lines are dropped until its BATCH -ref.
 *
 * The body of a multiline message, as a post carries it and the store
 * keeps it (the text after "target :"): its lines joined by LF, a line
 * sent with draft/multiline-concat joined to the one before by CR
 * instead.  No IRC line can hold either byte, so the body keeps the
 * lines exactly as the client split them, and a stored row with one of
 * them is a multiline message.  multiline_lines() turns a body back
 * into wire lines: a batch for clients with the cap, and for the
 * others the lines alone, blank ones left out (the spec's fallback:
 * the client's own line composition, msgid on the first line).
 *
 * Bounds: one open batch a connection; it holds at most
 * MULTILINE_MAX_BYTES of text plus one byte a line (ML_BODY_MAX), its
 * client-only tags (at most CLIENT_TAGS_MAX) and its struct; it is
 * freed at its close, at any FAIL, when the client sends another
 * command than PING or PONG, after MULTILINE_TIMEOUT_MS, and at
 * teardown.  What all open batches hold is counted (ml_held) and logged
 * (-v) whenever one is dropped undelivered.
 *
 * Flood control (client.c asks multiline_cost): BATCH +ref and BATCH
 * -ref cost one line each; a line of the open batch costs nothing; the
 * close costs ceil(B / MULTILINE_FLOOD_BYTES) lines more, B being the
 * bytes of its texts each plus one, and waits until the bucket holds
 * all of that (at most the burst).  A full batch costs 2 + 8 lines.
 */
#include <sys/types.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "natterd.h"

#define ML_TYPE		"draft/multiline"
#define ML_CONCAT	"draft/multiline-concat"
#define ML_BODY_MAX	(MULTILINE_MAX_BYTES + MULTILINE_MAX_LINES)
#define ML_BODY_FIRST	512	/* first allocation of a body */
#define ML_TARGET_MAX	(ROOM_NAME_MAX + NICK_MAX + 2)
#define ML_LINE_EXTRA	64	/* " BATCH +", " draft/multiline ", tag
				   names, " :" and CRLF on one line */

/* An open batch of one connection ([T]). */
struct mlbatch {
	char		 ref[MULTILINE_REF_MAX + 1];
	char		 target[ML_TARGET_MAX + 1];	/* as the client gave
							   it */
	char		 label[LABEL_MAX + 1];	/* of the BATCH +ref, or "" */
	char		*ctags;		/* its client-only tags, or NULL */
	char		*body;		/* the lines so far (heap) */
	size_t		 len;
	size_t		 cap;
	int		 nlines;
	int		 blank;		/* lines with no text */
	size_t		 bytes;		/* as max-bytes counts them */
	size_t		 flood;		/* B, for flood control */
	int		 failed;	/* FAIL sent: drop its lines */
	uint64_t	 to_id;		/* who had the target nick, or
					   which room the name was, at
					   the open (message_target_id) */
	long long	 deadline;	/* monotonic ms */
	size_t		 held;		/* what it counts in ml_held */
};

/* Every open batch: how many, and the bytes they hold. */
static atomic_long	 ml_open;
static atomic_long	 ml_held;

static void
ml_count(struct mlbatch *b, size_t now_held)
{
	atomic_fetch_add(&ml_held, (long)now_held - (long)b->held);
	b->held = now_held;
}

static size_t
ml_size(const struct mlbatch *b)
{
	return sizeof(*b) + b->cap + (b->ctags != NULL ?
	    strlen(b->ctags) + 1 : 0);
}

/* Frees c's batch; why (if not NULL) is logged with the counts. */
static void
ml_drop(struct conn *c, const char *why)
{
	struct mlbatch *b = c->ml;

	if (b == NULL)
		return;
	c->ml = NULL;
	ml_count(b, 0);
	atomic_fetch_sub(&ml_open, 1);
	if (why != NULL)
		log_debug("%s: multiline batch %s dropped (%s); open batches "
		    "%ld, holding %ld bytes", c->ip, b->ref, why,
		    atomic_load(&ml_open), atomic_load(&ml_held));
	free(b->ctags);
	free(b->body);
	free(b);
}

void
multiline_free(struct conn *c)
{
	ml_drop(c, c->ml != NULL && !c->ml->failed ? "connection closed" :
	    NULL);
}

/* The lines of flood control b's size costs, on top of its BATCH
 * lines. */
static double
ml_flood_lines(const struct mlbatch *b)
{
	return (double)((b->flood + MULTILINE_FLOOD_BYTES - 1) /
	    MULTILINE_FLOOD_BYTES);
}

/* FAIL BATCH code [args] :text to t's client, labeled as the batch's
 * opening line was; the batch keeps only its reference.  Its lines
 * cost what they would have at its close: a refused batch is no way
 * round flood control. */
static void
ml_fail(struct turn *t, const char *code, const char *args,
    const char *text)
{
	struct mlbatch *b = t->conn->ml;

	turn_command_begin(t, b != NULL && b->label[0] != '\0' ? b->label :
	    NULL);
	turn_sendf(t, ":%s FAIL BATCH %s%s%s :%s", config.server_name, code,
	    args[0] != '\0' ? " " : "", args, text);
	turn_command_end(t);
	if (b == NULL)
		return;
	b->failed = 1;
	conn_flood_charge(t->conn, ml_flood_lines(b));
	b->flood = 0;
	free(b->body);
	free(b->ctags);
	b->body = b->ctags = NULL;
	b->len = b->cap = 0;
	ml_count(b, ml_size(b));
	log_debug("%s: multiline batch %s refused (%s); open batches %ld, "
	    "holding %ld bytes", t->conn->ip, b->ref, code,
	    atomic_load(&ml_open), atomic_load(&ml_held));
}

/* BATCH +ref draft/multiline target */
static void
ml_open_batch(struct turn *t, struct irc_msg *m, const char *label)
{
	struct conn *c = t->conn;
	struct mlbatch *b;
	char ctags[IRC_TAGS_MAX + 1];
	const char *ref = m->params[0] + 1;

	/* One at a time: the batch left open is refused, this one goes
	 * on. */
	if (c->ml != NULL) {
		if (!c->ml->failed)
			ml_fail(t, "MULTILINE_INVALID", "",
			    "Multiline batch not closed");
		ml_drop(c, "another batch opened");
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		turn_command_begin(t, label);
		turn_sendf(t, ":%s FAIL BATCH MULTILINE_INVALID :Out of "
		    "memory", config.server_name);
		turn_command_end(t);
		return;
	}
	snprintf(b->ref, sizeof(b->ref), "%s", ref);
	if (label != NULL)
		snprintf(b->label, sizeof(b->label), "%s", label);
	b->deadline = mono_ms() + MULTILINE_TIMEOUT_MS;
	c->ml = b;
	atomic_fetch_add(&ml_open, 1);
	ml_count(b, ml_size(b));
	if (ref[0] == '\0' || strlen(ref) > MULTILINE_REF_MAX) {
		ml_fail(t, "MULTILINE_INVALID", "", "Invalid batch reference");
		return;
	}
	if (m->nparams < 3 || strcmp(m->params[1], ML_TYPE) != 0) {
		ml_fail(t, "MULTILINE_INVALID", "",
		    "Only draft/multiline batches with a target are "
		    "supported");
		return;
	}
	if (m->params[2][0] == '\0' || strchr(m->params[2], ',') != NULL ||
	    strlen(m->params[2]) > ML_TARGET_MAX) {
		ml_fail(t, "MULTILINE_INVALID", "",
		    "A multiline batch has one target");
		return;
	}
	snprintf(b->target, sizeof(b->target), "%s", m->params[2]);
	b->to_id = message_target_id(b->target);
	/* Client-only tags of the message go on the BATCH line. */
	if ((c->caps & CAP(CAP_MESSAGE_TAGS)) &&
	    tags_client_only(m->tags, ctags, sizeof(ctags)) == 0 &&
	    ctags[0] != '\0' && (b->ctags = strdup(ctags)) == NULL) {
		ml_fail(t, "MULTILINE_INVALID", "", "Out of memory");
		return;
	}
	ml_count(b, ml_size(b));
}

/* BATCH -ref: the message goes out, or its FAIL. */
static void
ml_close_batch(struct turn *t, struct irc_msg *m, const char *label)
{
	struct conn *c = t->conn;
	struct mlbatch *b = c->ml;
	const char *ref = m->params[0] + 1;

	if (b == NULL || strcmp(b->ref, ref) != 0) {
		turn_command_begin(t, label);
		turn_sendf(t, ":%s FAIL BATCH MULTILINE_INVALID :No open "
		    "batch %s", config.server_name, ref);
		turn_command_end(t);
		return;
	}
	if (b->failed) {
		/* Its FAIL went out; a label here gets its ACK. */
		turn_command_begin(t, label);
		turn_command_end(t);
		ml_drop(c, NULL);
		return;
	}
	if (b->nlines == 0 || b->blank == b->nlines) {
		ml_fail(t, "MULTILINE_INVALID", "",
		    "A multiline message needs a line that is not blank");
		ml_drop(c, NULL);
		return;
	}
	/* The echo answers the label of the opening line (the spec), or
	 * else that of this one. */
	turn_command_begin(t, b->label[0] != '\0' ? b->label : label);
	message_multiline(t, b->target, b->body, b->ctags != NULL ?
	    b->ctags : "", b->to_id);
	turn_command_end(t);
	ml_drop(c, NULL);
}

/* Appends n bytes of s to b's body; -1 when out of memory. */
static int
ml_append(struct mlbatch *b, const char *s, size_t n)
{
	size_t ncap;
	char *nb;

	if (b->len + n + 1 > b->cap) {
		ncap = b->cap == 0 ? ML_BODY_FIRST : b->cap;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if (ncap > ML_BODY_MAX + 1)
			ncap = ML_BODY_MAX + 1;
		if (b->len + n + 1 > ncap ||
		    (nb = realloc(b->body, ncap)) == NULL)
			return -1;
		b->body = nb;
		b->cap = ncap;
	}
	memcpy(b->body + b->len, s, n);
	b->len += n;
	b->body[b->len] = '\0';
	return 0;
}

/* One line with batch=ref of the open batch. */
static void
ml_add_line(struct turn *t, struct irc_msg *m, int valid)
{
	struct mlbatch *b = t->conn->ml;
	char fa[ML_TARGET_MAX + 1], fb[ML_TARGET_MAX + 1];
	char args[2 * ML_TARGET_MAX + 2], num[16], flag[2], sep;
	const char *text;
	size_t len, add;
	int concat;

	if (strcmp(m->command, "PRIVMSG") != 0) {
		ml_fail(t, "MULTILINE_INVALID", "",
		    "Only PRIVMSG lines may be in a multiline batch");
		return;
	}
	if (m->nparams < 2 || !valid) {
		ml_fail(t, "MULTILINE_INVALID", "", "Invalid multiline line");
		return;
	}
	casemap_fold(fa, b->target, sizeof(fa));
	casemap_fold(fb, m->params[0], sizeof(fb));
	if (strcmp(fa, fb) != 0) {
		snprintf(args, sizeof(args), "%s %.*s", b->target,
		    ML_TARGET_MAX, m->params[0]);
		ml_fail(t, "MULTILINE_INVALID_TARGET", args,
		    "Invalid multiline target");
		return;
	}
	text = m->params[1];
	len = strlen(text);
	/* The first line has nothing to be joined to. */
	concat = b->nlines > 0 && m->tags != NULL &&
	    irc_tag_get(m->tags, ML_CONCAT, flag, sizeof(flag)) != 0;
	if (concat && len == 0) {
		ml_fail(t, "MULTILINE_INVALID", "",
		    "A concatenated line may not be blank");
		return;
	}
	if (b->nlines + 1 > MULTILINE_MAX_LINES) {
		snprintf(num, sizeof(num), "%d", MULTILINE_MAX_LINES);
		ml_fail(t, "MULTILINE_MAX_LINES", num,
		    "Multiline batch max-lines exceeded");
		return;
	}
	/* Each line feed joining two lines counts one byte. */
	add = len + (b->nlines > 0 && !concat ? 1 : 0);
	if (b->bytes + add > MULTILINE_MAX_BYTES) {
		snprintf(num, sizeof(num), "%d", MULTILINE_MAX_BYTES);
		ml_fail(t, "MULTILINE_MAX_BYTES", num,
		    "Multiline batch max-bytes exceeded");
		return;
	}
	sep = concat ? '\r' : '\n';
	if ((b->nlines > 0 && ml_append(b, &sep, 1) == -1) ||
	    ml_append(b, text, len) == -1) {
		ml_fail(t, "MULTILINE_INVALID", "", "Out of memory");
		return;
	}
	b->nlines++;
	b->blank += len == 0;
	b->bytes += add;
	b->flood += len + 1;
	ml_count(b, ml_size(b));
}

int
multiline_line(struct turn *t, struct irc_msg *m, const char *label,
    int valid)
{
	struct conn *c = t->conn;
	char ref[MULTILINE_REF_MAX + 2];
	const unsigned want = CAP(CAP_MULTILINE) | CAP(CAP_BATCH);
	const char *p;
	int tagged = 0;

	if ((c->caps & want) != want ||
	    !(t->c->flags & CLIENT_REGISTERED))
		return 0;
	if (strcmp(m->command, "BATCH") == 0) {
		if (!valid)
			return 0;	/* FAIL BATCH INVALID_UTF8 */
		if (m->nparams < 1 || (m->params[0][0] != '+' &&
		    m->params[0][0] != '-')) {
			turn_command_begin(t, label);
			turn_sendf(t, ":%s FAIL BATCH MULTILINE_INVALID "
			    ":Invalid BATCH", config.server_name);
			turn_command_end(t);
		} else if (m->params[0][0] == '+')
			ml_open_batch(t, m, label);
		else
			ml_close_batch(t, m, label);
		return 1;
	}
	/* A batch tag too long for any batch of ours names none. */
	if (m->tags != NULL && (tagged = irc_tag_get(m->tags, "batch", ref,
	    sizeof(ref))) == -1)
		ref[0] = '\0';
	if (tagged != 0) {
		if (c->ml == NULL || strcmp(c->ml->ref, ref) != 0) {
			/* The value is unescaped: "\r\n" in it would end
			 * the FAIL line and start one of the client's own
			 * making.  Such a reference is not named. */
			for (p = ref; *p != '\0' && (unsigned char)*p > ' ';
			    p++)
				;
			if (*p != '\0')
				ref[0] = '\0';
			turn_command_begin(t, label);
			turn_sendf(t, ":%s FAIL BATCH MULTILINE_INVALID :No "
			    "open batch%s%.*s", config.server_name,
			    ref[0] != '\0' ? " " : "", MULTILINE_REF_MAX, ref);
			turn_command_end(t);
		} else if (!c->ml->failed)
			ml_add_line(t, m, valid);
		return 1;
	}
	/* Anything else but PING and PONG ends an open batch, undelivered
	 * (the spec: nothing but its lines while it is open). */
	if (c->ml != NULL && strcmp(m->command, "PING") != 0 &&
	    strcmp(m->command, "PONG") != 0) {
		if (!c->ml->failed)
			ml_fail(t, "MULTILINE_INVALID", "",
			    "Multiline batch not closed");
		ml_drop(c, "not closed");
	}
	return 0;
}

/*
 * Skips the tags of the raw line at *p (up to end); returns the value
 * of its batch tag in ref (NUL-terminated, "" if none or too long).
 * It reads the tag as irc_tag_get() does for multiline_line() (leading
 * spaces skipped, the last batch key wins even when empty, its value
 * unescaped): a line this finds free of charge is one that joins the
 * batch, never one answered "No open batch" for nothing.
 */
static void
raw_batch_tag(const char **pp, const char *end, char *ref, size_t len)
{
	const char *p = *pp, *tag, *te, *eq, *v = NULL, *ve = NULL;
	char raw[2 * (MULTILINE_REF_MAX + 2)];
	size_t n;

	ref[0] = '\0';
	while (p < end && *p == ' ')
		p++;
	if (p >= end || *p != '@') {
		*pp = p;
		return;
	}
	for (tag = p + 1; tag < end && *tag != ' '; tag = te + 1) {
		for (te = tag; te < end && *te != ';' && *te != ' '; te++)
			;
		eq = memchr(tag, '=', (size_t)(te - tag));
		if ((eq != NULL ? eq : te) - tag == 5 &&
		    memcmp(tag, "batch", 5) == 0) {
			v = eq != NULL ? eq + 1 : te;
			ve = te;
		}
		if (te >= end || *te == ' ')
			break;
	}
	/* A value this long unescapes to more than any reference. */
	if (v != NULL && (n = (size_t)(ve - v)) < sizeof(raw)) {
		memcpy(raw, v, n);
		raw[n] = '\0';
		if (irc_tag_unescape(raw, ref, len) == -1)
			ref[0] = '\0';
	}
	while (p < end && *p != ' ')
		p++;
	*pp = p;
}

double
multiline_cost(struct conn *c, const char *line, size_t len)
{
	struct mlbatch *b = c->ml;
	const char *p = line, *end = line + len, *w;
	char ref[MULTILINE_REF_MAX + 2];
	size_t n;

	if (b == NULL || b->failed || line == NULL)
		return 1;
	raw_batch_tag(&p, end, ref, sizeof(ref));
	if (strcmp(ref, b->ref) == 0)
		return 0;
	/* BATCH -ref, after an optional source. */
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == ':') {
		while (p < end && *p != ' ')
			p++;
		while (p < end && *p == ' ')
			p++;
	}
	if ((size_t)(end - p) < 7 || strncasecmp(p, "BATCH ", 6) != 0)
		return 1;
	for (p += 6; p < end && *p == ' '; p++)
		;
	if (p >= end || *p != '-')
		return 1;
	w = ++p;
	while (p < end && *p != ' ')
		p++;
	n = (size_t)(p - w);
	if (n != strlen(b->ref) || memcmp(w, b->ref, n) != 0)
		return 1;
	return 1 + ml_flood_lines(b);
}

long long
multiline_deadline(struct conn *c)
{
	return c->ml != NULL ? c->ml->deadline : 0;
}

void
multiline_timer(struct conn *c, long long now)
{
	char line[OUT_LINE_MAX], esc[LABEL_MAX * 2 + 1];
	struct mlbatch *b = c->ml;
	int n;

	if (b == NULL || now < b->deadline)
		return;
	if (!b->failed) {
		esc[0] = '\0';
		if (b->label[0] != '\0' &&
		    irc_tag_escape(b->label, esc, sizeof(esc)) == -1)
			esc[0] = '\0';
		n = snprintf(line, sizeof(line), "%s%s%s:%s FAIL BATCH "
		    "MULTILINE_INVALID :Multiline batch %s timed out\r\n",
		    esc[0] != '\0' ? "@label=" : "", esc,
		    esc[0] != '\0' ? " " : "", config.server_name, b->ref);
		if (n > 0 && (size_t)n < sizeof(line))
			(void)conn_send_direct(c, line, (size_t)n);
		conn_flood_charge(c, ml_flood_lines(b));
	}
	ml_drop(c, "timed out");
}

int
multiline_is_body(const char *text)
{
	return strpbrk(text, "\r\n") != NULL;
}

/* --- the wire form --- */

struct mlout {
	struct buf	*b;
	size_t		 cap;
};

static void
mo_put(struct mlout *o, const char *s, size_t n)
{
	if (o->b->len + n > o->cap)
		fatalx("multiline_lines: %zu bytes past its bound",
		    o->b->len + n - o->cap);
	memcpy(o->b->data + o->b->len, s, n);
	o->b->len += n;
}

static void
mo_str(struct mlout *o, const char *s)
{
	mo_put(o, s, strlen(s));
}

/* "@batch=outer;tags " or any part of it, or nothing. */
static void
mo_tags(struct mlout *o, const char *outer, const char *tags)
{
	if (outer == NULL && tags[0] == '\0')
		return;
	mo_str(o, "@");
	if (outer != NULL) {
		mo_str(o, "batch=");
		mo_str(o, outer);
		if (tags[0] != '\0')
			mo_str(o, ";");
	}
	mo_str(o, tags);
	mo_str(o, " ");
}

struct buf *
multiline_lines(const char *head, const char *body, const char *tags,
    const char *more, const char *ref, const char *outer)
{
	const char *sp, *target, *p, *e;
	size_t srclen, nlines = 1, per;
	struct mlout o;
	int first = 1, concat = 0;

	/* head: ":source CMD target" */
	if ((sp = strchr(head, ' ')) == NULL ||
	    (target = strchr(sp + 1, ' ')) == NULL)
		fatalx("multiline_lines: bad head");
	target++;
	srclen = (size_t)(sp - head);
	for (p = body; *p != '\0'; p++)
		nlines += *p == '\n' || *p == '\r';
	per = strlen(head) + strlen(tags) + strlen(more) +
	    (ref != NULL ? strlen(ref) : 0) +
	    (outer != NULL ? strlen(outer) : 0) + sizeof(ML_CONCAT) +
	    ML_LINE_EXTRA;
	o.cap = strlen(body) + (nlines + 2) * per;
	o.b = buf_new(o.cap);
	o.b->len = 0;
	if (ref != NULL) {
		mo_tags(&o, outer, tags);
		mo_put(&o, head, srclen);
		mo_str(&o, " BATCH +");
		mo_str(&o, ref);
		mo_str(&o, " " ML_TYPE " ");
		mo_str(&o, target);
		mo_str(&o, "\r\n");
	}
	for (p = body;; p = e + 1) {
		e = p + strcspn(p, "\r\n");
		if (ref != NULL) {
			mo_str(&o, "@batch=");
			mo_str(&o, ref);
			if (concat)
				mo_str(&o, ";" ML_CONCAT);
			mo_str(&o, " ");
		} else if (e == p)
			goto next;	/* never a blank line without the cap */
		else {
			mo_tags(&o, outer, first ? tags : more);
			first = 0;
		}
		mo_str(&o, head);
		mo_str(&o, " :");
		mo_put(&o, p, (size_t)(e - p));
		mo_str(&o, "\r\n");
next:
		if (*e == '\0')
			break;
		concat = *e == '\r';
	}
	if (ref != NULL) {
		mo_tags(&o, outer, "");
		mo_put(&o, head, srclen);
		mo_str(&o, " BATCH -");
		mo_str(&o, ref);
		mo_str(&o, "\r\n");
	}
	return o.b;
}
