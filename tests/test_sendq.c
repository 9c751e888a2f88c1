/*
 * test_sendq.c: the send queue (tui/sendq.c): its bounds, the token
 * bucket that paces it, draft/multiline batches (limits, splitting,
 * concat, blank lines) and how a paste becomes lines; and the pending
 * lines of the scrollback (tui/scroll.c) that show what waits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../tui/natter.h"

static void
test_bounds(void **state)
{
	struct sendq		 q;
	struct sendq_item	*it, *first;
	char			 big[1024];
	int			 i;

	(void)state;
	sendq_init(&q);
	for (i = 0; i < SENDQ_LINES_MAX; i++)
		assert_non_null(sendq_push(&q, "PRIVMSG #a :x", 1, 1, 1));
	assert_int_equal(q.nlines, SENDQ_LINES_MAX);
	/* One past the bound is refused, and nothing changes. */
	assert_false(sendq_fits(&q, 1, 13));
	assert_null(sendq_push(&q, "PRIVMSG #a :y", 1, 1, 1));
	assert_int_equal(q.nitems, SENDQ_LINES_MAX);
	/* Unlinking the head makes room for one. */
	first = q.head;
	sendq_unlink(&q, first);
	sendq_item_free(first);
	assert_non_null(it = sendq_push(&q, "PRIVMSG #a :z", 1, 1, 1));
	assert_ptr_equal(q.tail, it);
	assert_null(sendq_push(&q, "PRIVMSG #a :w", 1, 1, 1));
	sendq_free(&q);
	assert_int_equal(q.nitems, 0);
	assert_null(q.head);

	/* The byte bound. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < SENDQ_BYTES_MAX / (int)(sizeof(big) - 1); i++)
		assert_non_null(sendq_push(&q, big, 1, 0, 1));
	assert_null(sendq_push(&q, big, 1, 0, 1));
	assert_true(q.bytes <= SENDQ_BYTES_MAX);
	sendq_free(&q);
}

static void
test_unlink_middle_and_tail(void **state)
{
	struct sendq		 q;
	struct sendq_item	*a, *b, *c;

	(void)state;
	sendq_init(&q);
	a = sendq_push(&q, "A", 1, 1, 1);
	b = sendq_push(&q, "B", 1, 1, 1);
	c = sendq_push(&q, "C", 1, 1, 1);
	sendq_unlink(&q, b);
	sendq_item_free(b);
	assert_ptr_equal(q.head, a);
	assert_ptr_equal(a->next, c);
	sendq_unlink(&q, c);
	sendq_item_free(c);
	assert_ptr_equal(q.tail, a);
	assert_non_null(c = sendq_push(&q, "D", 1, 1, 1));
	assert_ptr_equal(a->next, c);
	assert_int_equal(q.nlines, 2);
	sendq_free(&q);
}

static void
test_bucket(void **state)
{
	struct sendq	q;
	long long	t = 1000000;
	int		i, sent;

	(void)state;
	sendq_init(&q);
	/* The burst goes at once, then nothing. */
	for (i = 0; i < SENDQ_BURST; i++)
		assert_int_equal(sendq_take(&q, t, 1), 0);
	assert_int_equal(sendq_take(&q, t, 1), -1);
	assert_int_equal(sendq_wait(&q, t, 1), 1000 / SENDQ_RATE + 1);
	/* Then SENDQ_RATE lines a second, never more. */
	assert_int_equal(sendq_take(&q, t + 1000 / SENDQ_RATE - 10, 1), -1);
	assert_int_equal(sendq_take(&q, t + 1000 / SENDQ_RATE + 1, 1), 0);
	sent = 0;
	for (i = 1; i <= 10000; i++)	/* 10 s in 1 ms steps */
		if (sendq_take(&q, t + 1000 / SENDQ_RATE + 1 + i, 1) == 0)
			sent++;
	assert_true(sent >= 10 * SENDQ_RATE - 1 &&
	    sent <= 10 * SENDQ_RATE);
	/* An idle bucket refills to the burst, not beyond. */
	t += 3600 * 1000;
	for (i = 0; i < SENDQ_BURST; i++)
		assert_int_equal(sendq_take(&q, t, 1), 0);
	assert_int_equal(sendq_take(&q, t, 1), -1);
	assert_int_equal(sendq_wait(&q, t + 1000000, 1), 0);
}

/* Over any window, what goes never passes natterd's default flood
 * control: a bucket of 10 filling at 2 a second. */
static void
test_bucket_under_natterd(void **state)
{
	struct sendq	q;
	double		server = 10;
	long long	t, last = 0;
	int		cost;

	(void)state;
	sendq_init(&q);
	for (t = 0; t < 600 * 1000; t += 7) {
		server += (double)(t - last) * 2 / 1000.0;
		if (server > 10)
			server = 10;
		last = t;
		/* Lines and the dearest batches, mixed. */
		cost = (t / 7) % 3 == 0 ? sendq_batch_cost(4096) : 1;
		if (sendq_take(&q, t, cost) == 0) {
			server -= cost;
			assert_true(server >= -0.01);
		}
	}
}

static void
test_big_batch_debt(void **state)
{
	struct sendq	q;
	int		cost = sendq_batch_cost(4096);

	(void)state;
	assert_int_equal(cost, 10);
	assert_int_equal(sendq_batch_cost(1), 3);
	assert_int_equal(sendq_batch_cost(512), 3);
	assert_int_equal(sendq_batch_cost(513), 4);
	sendq_init(&q);
	assert_int_equal(sendq_take(&q, 0, 1), 0);
	/* Dearer than the burst: waits for a full bucket ... */
	assert_int_equal(sendq_take(&q, 0, cost), -1);
	assert_int_equal(sendq_wait(&q, 0, cost), 1000 / SENDQ_RATE + 1);
	assert_int_equal(sendq_take(&q, 1000 / SENDQ_RATE + 1, cost), 0);
	/* ... and leaves it in debt: the next line waits it out. */
	assert_int_equal(sendq_wait(&q, 1000 / SENDQ_RATE + 1, 1),
	    (cost - SENDQ_BURST + 1) * 1000 / SENDQ_RATE + 1);
}

/* What sendq_batches produced, for the tests. */
struct got {
	int	 n;
	char	*wire[16];
	char	*shown[16];
	int	 nwire[16];
	int	 ntext[16];
	int	 cost[16];
};

static int
collect(const char *buf, int nwire, int ntext, const char *shown, int cost,
    void *arg)
{
	struct got *g = arg;

	if (g->n == 16)
		return -1;
	g->wire[g->n] = strdup(buf);
	g->shown[g->n] = strdup(shown);
	g->nwire[g->n] = nwire;
	g->ntext[g->n] = ntext;
	g->cost[g->n] = cost;
	g->n++;
	return 0;
}

static void
got_free(struct got *g)
{
	int i;

	for (i = 0; i < g->n; i++) {
		free(g->wire[i]);
		free(g->shown[i]);
	}
	memset(g, 0, sizeof(*g));
}

static void
test_batch_simple(void **state)
{
	struct sendq	q;
	struct got	g = { 0 };

	(void)state;
	sendq_init(&q);
	assert_int_equal(sendq_batches(&q, "PRIVMSG", "#a",
	    "one\n\ntwo  \nthree", 4096, 100, collect, &g), 1);
	assert_string_equal(g.wire[0],
	    "BATCH +ml1 draft/multiline #a\n"
	    "@batch=ml1 PRIVMSG #a :one\n"
	    "@batch=ml1 PRIVMSG #a :\n"
	    "@batch=ml1 PRIVMSG #a :two  \n"
	    "@batch=ml1 PRIVMSG #a :three\n"
	    "BATCH -ml1");
	assert_string_equal(g.shown[0], "one\n\ntwo  \nthree");
	assert_int_equal(g.nwire[0], 6);
	assert_int_equal(g.ntext[0], 4);
	/* 3 + 0 + 5 + 5 bytes of text, plus 4 newlines. */
	assert_int_equal(g.cost[0], sendq_batch_cost(17));
	got_free(&g);
}

static void
test_batch_limits(void **state)
{
	struct sendq	q;
	struct got	g = { 0 };
	char		text[200 * 8], *p = text;
	int		i;

	(void)state;
	sendq_init(&q);
	for (i = 0; i < 200; i++)
		p += sprintf(p, "%s%03d", i ? "\n" : "", i);
	/* 200 lines: two batches of at most 100. */
	assert_int_equal(sendq_batches(&q, "PRIVMSG", "#a", text, 4096, 100,
	    collect, &g), 2);
	assert_int_equal(g.ntext[0], 100);
	assert_int_equal(g.ntext[1], 100);
	assert_non_null(strstr(g.wire[1], "BATCH +ml2 draft/multiline #a\n"
	    "@batch=ml2 PRIVMSG #a :100\n"));
	got_free(&g);
	/* 10 lines a batch: 20 batches, more than collect takes; its
	 * failure is ours. */
	assert_int_equal(sendq_batches(&q, "NOTICE", "bob", text, 4096, 10,
	    collect, &g), -1);
	got_free(&g);
	/* Below a piece's size max-bytes is raised to fit one. */
	assert_int_equal(sendq_batches(&q, "NOTICE", "bob", "a\nb", 10, 1,
	    collect, &g), 2);
	assert_string_equal(g.wire[1], "BATCH +ml21 draft/multiline bob\n"
	    "@batch=ml21 NOTICE bob :b\nBATCH -ml21");
	got_free(&g);
}

static void
test_batch_bytes(void **state)
{
	struct sendq	q;
	struct got	g = { 0 };
	char		text[4096], *p = text;
	int		i;

	(void)state;
	sendq_init(&q);
	/* 30 lines of 99 bytes: 100 with the newline, so 10 fit a batch
	 * of max-bytes 1000. */
	for (i = 0; i < 30; i++) {
		if (i)
			*p++ = '\n';
		memset(p, 'a' + i % 26, 99);
		p += 99;
	}
	*p = '\0';
	assert_int_equal(sendq_batches(&q, "PRIVMSG", "#a", text, 1000, 100,
	    collect, &g), 3);
	assert_int_equal(g.ntext[0], 10);
	assert_int_equal(g.ntext[1], 10);
	assert_int_equal(g.ntext[2], 10);
	assert_int_equal(g.cost[0], sendq_batch_cost(1000));
	got_free(&g);
}

static void
test_batch_long_line_concat(void **state)
{
	struct sendq	q;
	struct got	g = { 0 };
	char		text[2000], word[] = "word ", *p = text, *rebuilt;
	size_t		i;

	(void)state;
	sendq_init(&q);
	/* 1000 bytes of words: pieces of at most TEXT_CHUNK, cut after a
	 * space, joined by concat. */
	for (i = 0; i < 200; i++)
		p += sprintf(p, "%s", word);
	assert_int_equal(sendq_batches(&q, "PRIVMSG", "#a", text, 4096, 100,
	    collect, &g), 1);
	assert_int_equal(g.ntext[0], 3);
	assert_string_equal(g.shown[0], text);
	assert_non_null(strstr(g.wire[0], "\n@batch=ml1 PRIVMSG #a :word "));
	assert_non_null(strstr(g.wire[0],
	    "\n@batch=ml1;draft/multiline-concat PRIVMSG #a :word "));
	/* Every piece ends after a space: the first is exactly 400. */
	rebuilt = strstr(g.wire[0], "PRIVMSG #a :") + 12;
	assert_int_equal(strcspn(rebuilt, "\n"), TEXT_CHUNK);
	got_free(&g);

	/* No space: cut between characters, never inside one. */
	p = text;
	for (i = 0; i < 300; i++)
		p += sprintf(p, "\xc3\xa9");		/* é, 2 bytes */
	*p = '\0';
	assert_int_equal(sendq_batches(&q, "PRIVMSG", "#a", text, 4096, 100,
	    collect, &g), 1);
	assert_int_equal(g.ntext[0], 2);
	assert_string_equal(g.shown[0], text);
	rebuilt = strstr(g.wire[0], "PRIVMSG #a :") + 12;
	assert_int_equal(strcspn(rebuilt, "\n"), TEXT_CHUNK);
	got_free(&g);
}

static void
test_batch_blank_edges(void **state)
{
	struct sendq	q;
	struct got	g = { 0 };

	(void)state;
	sendq_init(&q);
	/* Blank lines at a batch's edges go; a batch of blanks is none. */
	assert_int_equal(sendq_batches(&q, "PRIVMSG", "#a", "\n\na\n\n\nb\n",
	    4096, 2, collect, &g), 2);
	assert_string_equal(g.shown[0], "a");
	assert_string_equal(g.shown[1], "b");
	got_free(&g);
	assert_int_equal(sendq_batches(&q, "PRIVMSG", "#a", "\n\n", 4096, 2,
	    collect, &g), 0);
}

static void
test_paste_lines(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
		int		 n;
	} t[] = {
		{ "one", "one", 1 },
		{ "one\r\ntwo\r\n", "one\ntwo", 2 },
		{ "\n\n  \none\rtwo\n\nthree\n\n", "one\ntwo\n\nthree", 4 },
		{ "  indented\n\tand tab  ", "  indented\n\tand tab  ", 2 },
		{ "bell\a and \002bold\002", "bell and \002bold\002", 1 },
		{ "\n \n\t\n", "", 0 },
		{ "", "", 0 },
	};
	char	*out;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(paste_lines(t[i].in, strlen(t[i].in), &out),
		    t[i].n);
		assert_string_equal(out, t[i].out);
		free(out);
	}
}

static void
test_pending_lines(void **state)
{
	struct scroll		 sb;
	struct line		 l;
	const struct line	*p;
	int			 i;

	(void)state;
	scroll_init(&sb);
	memset(&l, 0, sizeof(l));
	l.kind = LINE_MSG;
	l.self = 1;
	l.nick = (char *)"alice";
	l.text = (char *)"same";
	l.pending = 7;
	scroll_insert(&sb, 0, &l);
	l.pending = 8;
	scroll_insert(&sb, 1, &l);
	l.text = (char *)"other";
	l.pending = 9;
	scroll_insert(&sb, 2, &l);
	assert_int_equal(scroll_find_pending(&sb, 8), 1);
	assert_int_equal(scroll_find_pending(&sb, 0), -1);
	assert_int_equal(scroll_find_pending(&sb, 99), -1);
	/* An echo un-dims the oldest line with its text, in order. */
	assert_int_equal(scroll_echoed(&sb, LINE_MSG, "same", 50), 0);
	assert_int_equal(scroll_get(&sb, 0)->pending, 0);
	assert_int_equal(scroll_get(&sb, 0)->when, 50);
	assert_int_equal(scroll_echoed(&sb, LINE_NOTICE, "same", 50), -1);
	assert_int_equal(scroll_echoed(&sb, LINE_MSG, "same", 51), 1);
	assert_int_equal(scroll_echoed(&sb, LINE_MSG, "same", 52), -1);
	/* Sent without an echo; never sent. */
	i = scroll_find_pending(&sb, 9);
	scroll_not_sent(&sb, i);
	p = scroll_get(&sb, i);
	assert_int_equal(p->kind, LINE_ERROR);
	assert_null(p->nick);
	assert_int_equal(p->pending, 0);
	assert_string_equal(p->text, "not sent: other");
	scroll_free(&sb);
}

static void
test_wrap_newlines(void **state)
{
	size_t	starts[8];
	int	n;

	(void)state;
	/* A multiline message: every '\n' starts a row, whose leading
	 * spaces stay. */
	n = wrap_rows("ab\n  cd\nef gh ij", 16, 5, 0, starts, 8);
	assert_int_equal(n, 4);
	assert_int_equal(starts[1], 3);
	assert_int_equal(starts[2], 8);
	assert_int_equal(starts[3], 14);
	n = wrap_rows("a\nb\nc", 5, 10, 0, starts, 2);
	assert_int_equal(n, 2);
}

/* --- draft/multiline from the server (tui/handle.c) --- */

static struct session	sess;
static char		out[8][512];
static int		nout;

static void
feed(const char *raw)
{
	struct irc_msg	m;
	char		line[1024];

	snprintf(line, sizeof(line), "%s", raw);
	assert_int_equal(irc_parse(line, &m), 0);
	handle_line(&sess, &m, 1000, out, &nout, 8);
}

static const struct line *
last_in(const char *name, int back)
{
	const struct scroll	*sb;
	int			 i = windows_find(&sess.wins, name);

	assert_true(i >= 0);
	sb = &sess.wins.v[i]->sb;
	return scroll_get(sb, sb->count - 1 - back);
}

static int
setup(void **state)
{
	(void)state;
	session_init(&sess);
	snprintf(sess.nick, sizeof(sess.nick), "me");
	snprintf(sess.want_nick, sizeof(sess.want_nick), "me");
	feed(":irc.test 001 me :Welcome");
	feed(":me!u@h JOIN #a");
	feed(":irc.test 366 me #a :End of /NAMES list");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	session_free(&sess);
	return 0;
}

static void
test_multiline_cap(void **state)
{
	(void)state;
	session_hello(&sess, out, &nout, 8);
	feed(":irc.test CAP * LS :batch draft/multiline=max-bytes=2048,"
	    "max-lines=20 server-time");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CAP REQ :server-time batch "
	    "draft/multiline");
	assert_int_equal(sess.multiline_bytes, 2048);
	assert_int_equal(sess.multiline_lines, 20);
	feed(":irc.test CAP * ACK :server-time batch draft/multiline");
	assert_true(sess.caps & CAP_MULTILINE);
	/* Without batch it cannot be used: not asked for. */
	session_hello(&sess, out, &nout, 8);
	feed(":irc.test CAP * LS :draft/multiline=max-bytes=4096");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CAP END");
	/* No max-lines: our own bound. */
	assert_int_equal(sess.multiline_lines, MULTILINE_LINES_MAX);
}

static void
test_multiline_block(void **state)
{
	const struct line	*l;
	int			 before, i = windows_find(&sess.wins, "#a");

	(void)state;
	before = sess.wins.v[i]->sb.count;
	feed("@msgid=M1;time=2026-12-07T08:00:00.000Z :bob!b@h BATCH +x "
	    "draft/multiline #a");
	feed("@batch=x :bob!b@h PRIVMSG #a :hello");
	feed("@batch=x :bob!b@h PRIVMSG #a :  indented, and a long");
	feed("@batch=x;draft/multiline-concat :bob!b@h PRIVMSG #a : line");
	feed("@batch=x :bob!b@h PRIVMSG #a :me: last");
	/* Nothing shows before the batch ends ... */
	assert_int_equal(sess.wins.v[i]->sb.count, before);
	feed(":bob!b@h BATCH -x");
	/* ... then one message. */
	assert_int_equal(sess.wins.v[i]->sb.count, before + 1);
	l = last_in("#a", 0);
	assert_int_equal(l->kind, LINE_MSG);
	assert_string_equal(l->nick, "bob");
	assert_string_equal(l->text,
	    "hello\n  indented, and a long line\nme: last");
	assert_int_equal(l->when, 1796630400);
	/* One highlight for the block. */
	assert_true(l->highlight);
	assert_int_equal(sess.nbatches, 0);
	/* Seen again (a replay in a chathistory batch): shown once. */
	feed(":irc.test BATCH +h chathistory #a");
	feed("@batch=h;msgid=M1 :bob!b@h BATCH +y draft/multiline #a");
	feed("@batch=y :bob!b@h PRIVMSG #a :hello");
	feed(":bob!b@h BATCH -y");
	feed(":irc.test BATCH -h");
	assert_int_equal(sess.wins.v[i]->sb.count, before + 1);
}

static void
test_multiline_history_and_bound(void **state)
{
	const struct line	*l;
	char			 line[600];
	size_t			 n;
	int			 k;

	(void)state;
	/* Nested in a chathistory batch: a history line. */
	feed(":irc.test BATCH +h chathistory #a");
	feed("@batch=h;msgid=M2;time=2026-12-07T07:00:00.000Z "
	    ":carol!c@h BATCH +z draft/multiline #a");
	feed("@batch=z :carol!c@h PRIVMSG #a :old one");
	feed("@batch=z :carol!c@h PRIVMSG #a :old two");
	feed(":carol!c@h BATCH -z");
	feed(":irc.test BATCH -h");
	l = last_in("#a", 0);
	assert_true(l->history);
	assert_string_equal(l->text, "old one\nold two");
	/* A batch past MULTILINE_RECV_MAX keeps what fits, no more. */
	feed(":bob!b@h BATCH +big draft/multiline #a");
	memset(line, 'x', 400);
	for (k = 0; k < 400; k++) {
		snprintf(line, sizeof(line), "@batch=big :bob!b@h PRIVMSG #a "
		    ":%0400d", k);
		feed(line);
	}
	assert_true(sess.batches[0].len <= MULTILINE_RECV_MAX);
	feed(":bob!b@h BATCH -big");
	l = last_in("#a", 0);
	/* What fits, then one line saying how much did not. */
	assert_non_null(strstr(l->text, "\n["));
	n = strstr(l->text, "\n[") - l->text;
	assert_true(n <= MULTILINE_RECV_MAX);
	assert_true(n > MULTILINE_RECV_MAX - 402);
	snprintf(line, sizeof(line), "\n[%zu more bytes not shown: over 64 "
	    "KiB]", (size_t)(400 - (n + 1) / 401) * 400);
	assert_string_equal(l->text + n, line);
}

static void
test_echo_replaces_pending(void **state)
{
	struct line		 l;
	int			 i = windows_find(&sess.wins, "#a"), before;

	(void)state;
	sess.caps |= CAP_ECHO_MESSAGE;
	memset(&l, 0, sizeof(l));
	l.kind = LINE_MSG;
	l.self = 1;
	l.nick = (char *)"me";
	l.text = (char *)"one\ntwo";
	l.pending = 5;
	scroll_insert(&sess.wins.v[i]->sb, sess.wins.v[i]->sb.count, &l);
	before = sess.wins.v[i]->sb.count;
	/* Our batch echoed: the pending block becomes the sent one. */
	feed("@msgid=E1 :me!u@h BATCH +e draft/multiline #a");
	feed("@batch=e :me!u@h PRIVMSG #a :one");
	feed("@batch=e :me!u@h PRIVMSG #a :two");
	feed(":me!u@h BATCH -e");
	assert_int_equal(sess.wins.v[i]->sb.count, before);
	assert_int_equal(last_in("#a", 0)->pending, 0);
	assert_true(window_seen(sess.wins.v[i], "E1"));
	/* An echo with nothing pending is a line of its own. */
	feed("@msgid=E2 :me!u@h PRIVMSG #a :from another device");
	assert_int_equal(sess.wins.v[i]->sb.count, before + 1);
	/* Refused (404): no echo will come, the oldest pending line
	 * there says so. */
	l.text = (char *)"refused";
	l.pending = 6;
	scroll_insert(&sess.wins.v[i]->sb, sess.wins.v[i]->sb.count, &l);
	l.text = (char *)"later";
	l.pending = 7;
	scroll_insert(&sess.wins.v[i]->sb, sess.wins.v[i]->sb.count, &l);
	/* (The error itself is the window's last line.) */
	feed(":irc.test 404 me #a :Cannot send to channel");
	assert_string_equal(last_in("#a", 2)->text, "not sent: refused");
	assert_int_equal(last_in("#a", 2)->kind, LINE_ERROR);
	assert_int_equal(last_in("#a", 1)->pending, 7);
	/* A 401 for a nick we have no window for changes nothing. */
	feed(":irc.test 401 me nobody :No such nick/channel");
	assert_int_equal(last_in("#a", 2)->pending, 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_unlink_middle_and_tail),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_bucket_under_natterd),
		cmocka_unit_test(test_big_batch_debt),
		cmocka_unit_test(test_batch_simple),
		cmocka_unit_test(test_batch_limits),
		cmocka_unit_test(test_batch_bytes),
		cmocka_unit_test(test_batch_long_line_concat),
		cmocka_unit_test(test_batch_blank_edges),
		cmocka_unit_test(test_paste_lines),
		cmocka_unit_test(test_pending_lines),
		cmocka_unit_test(test_wrap_newlines),
		cmocka_unit_test_setup_teardown(test_multiline_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_multiline_block, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_multiline_history_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_replaces_pending,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
