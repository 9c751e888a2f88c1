/*
 * test_reply.c: numeric replies (tui/reply.c) through handle_line: the
 * table and its formats, errors with ": ", the WHOIS block, WHO rows,
 * the LIST window and its bound, the MOTD once per connection, away
 * replies, and labeled-response (labels, their window, the bound of
 * REPLY_LABELS_MAX, batches and ACK).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../tui/natter.h"

#define OUT_MAX	8

static struct session	sess;
static char		out[OUT_MAX][512];
static int		nout;

static void
feed(const char *raw)
{
	struct irc_msg	m;
	char		line[1024];

	snprintf(line, sizeof(line), "%s", raw);
	assert_int_equal(irc_parse(line, &m), 0);
	nout = -1;
	handle_line(&sess, &m, 1000, out, &nout, OUT_MAX);
	assert_true(nout >= 0 && nout <= OUT_MAX);
}

static void
feedf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
feedf(const char *fmt, ...)
{
	char	line[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	feed(line);
}

static int
win(const char *name)
{
	int	i = windows_find(&sess.wins, name);

	if (i < 0)
		fail_msg("no window %s", name);
	return i;
}

static int
count(int i)
{
	return sess.wins.v[i]->sb.count;
}

/* The n-th line from the end of window i (0: the last). */
static const char *
back(int i, int n)
{
	const struct scroll	*sb = &sess.wins.v[i]->sb;
	const struct line	*l = scroll_get(sb, sb->count - 1 - n);

	if (l == NULL)
		fail_msg("window %d has no line %d from the end", i, n);
	return l->text;
}

/* Registered as "me" in #a (current) with labeled-response. */
static int
setup(void **state)
{
	(void)state;
	session_init(&sess);
	snprintf(sess.nick, sizeof(sess.nick), "me");
	sess.registered = 1;
	sess.caps = CAP_BATCH | CAP_LABELED_RESPONSE | CAP_MESSAGE_TAGS;
	windows_switch(&sess.wins, windows_open(&sess.wins, "#a", WIN_ROOM));
	windows_open(&sess.wins, "#b", WIN_ROOM);
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
test_format(void **state)
{
	static const struct {
		const char	*line, *fmt, *want;
	} t[] = {
		{ ":s 401 me bob :No such nick/channel", "$g",
		    "bob: No such nick/channel" },
		{ ":s 441 me bob #a :They aren't on that channel", "$g",
		    "bob #a: They aren't on that channel" },
		{ ":s 412 me :No text to send", "$g", "No text to send" },
		{ ":s 005 me A=1 B :are supported", "Supported: $m",
		    "Supported: A=1 B" },
		{ ":s 324 me #a +kl key 5", "Modes of $1: $r",
		    "Modes of #a: +kl key" },
		{ ":s 354 me 1 bob h", "$*1", "1 bob h" },
		{ ":s 317 me bob 123 0 :idle", "$%2", "2m 3s" },
		{ ":s 999 me", "[$1][$9][$t]", "[][][me]" },
		{ ":s 1 me x", "$$ $x 5$", "$$ $x 5$" },
	};
	struct irc_msg	m;
	char		line[512], text[512];
	size_t		k;

	(void)state;
	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		snprintf(line, sizeof(line), "%s", t[k].line);
		assert_int_equal(irc_parse(line, &m), 0);
		reply_format(t[k].fmt, &m, text, sizeof(text));
		assert_string_equal(text, t[k].want);
	}
	/* Cut to fit, never past the buffer. */
	snprintf(line, sizeof(line), ":s 401 me bob :No such nick");
	assert_int_equal(irc_parse(line, &m), 0);
	assert_int_equal(reply_format("$g", &m, text, 6), 5);
	assert_string_equal(text, "bob: ");
}

static void
test_table(void **state)
{
	struct reply_def	 g;
	const struct reply_def	*d;
	char			 buf[32];

	(void)state;
	/* Every numeric natterd sends has an entry or a handler. */
	static const int natterd[] = { 2, 3, 4, 5, 221, 251, 252, 253, 254,
	    255, 256, 257, 258, 259, 265, 266, 301, 302, 303, 305, 306, 311,
	    312, 313, 314, 315, 317, 318, 319, 321, 322, 323, 324, 329, 330,
	    338, 341, 351, 352, 367, 368, 369, 371, 372, 374, 375, 376, 381,
	    391, 422 };
	size_t k;

	for (k = 0; k < sizeof(natterd) / sizeof(natterd[0]); k++) {
		d = reply_find(natterd[k], &g);
		if (d == &g)
			fail_msg("numeric %d has no entry", natterd[k]);
	}
	d = reply_find(482, &g);
	assert_ptr_equal(d, &g);
	assert_int_equal(d->where, REPLY_COMMAND);
	assert_int_equal(d->kind, LINE_ERROR);
	d = reply_find(601, &g);
	assert_int_equal(d->where, REPLY_STATUS);
	assert_int_equal(d->kind, LINE_INFO);

	reply_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	reply_duration(59, buf, sizeof(buf));
	assert_string_equal(buf, "59s");
	reply_duration(3600 + 120, buf, sizeof(buf));
	assert_string_equal(buf, "1h 2m");
	reply_duration(3 * 86400 + 4 * 3600 + 5, buf, sizeof(buf));
	assert_string_equal(buf, "3d 4h");
	reply_duration(-5, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
}

static void
test_errors_and_generic(void **state)
{
	int	a = win("#a"), n0;

	(void)state;
	feed(":irc.test 401 me bob :No such nick/channel");
	assert_string_equal(back(a, 0), "bob: No such nick/channel");
	assert_int_equal(scroll_get(&sess.wins.v[a]->sb, count(a) - 1)->kind,
	    LINE_ERROR);
	/* Unknown numerics: never the raw "me me ..." */
	n0 = count(0);
	feed(":irc.test 608 me alpha beta :some text");
	assert_int_equal(count(0), n0 + 1);
	assert_string_equal(back(0, 0), "alpha beta: some text");
	feed(":irc.test 004 me irc.test natterd-1 io bklmnt");
	assert_string_equal(back(0, 0),
	    "irc.test runs natterd-1 (user modes io, room modes bklmnt)");
	feed(":irc.test 252 me 2 :operator(s) online");
	assert_string_equal(back(0, 0), "2 operator(s) online");
	feed(":irc.test 324 me #b +nt");
	assert_string_equal(back(win("#b"), 0), "Modes of #b: +nt");
	feed(":irc.test 305 me :You are no longer marked as being away");
	assert_string_equal(back(a, 0),
	    "You are no longer marked as being away");
}

static void
test_whois_block(void **state)
{
	int	a = win("#a"), n0 = count(a), n;

	(void)state;
	feed(":irc.test 311 me bob bob 127.0.0.1 * :Bob Smith");
	feed(":irc.test 319 me bob :@#lobby");
	feed(":irc.test 319 me bob :#dev");
	feed(":irc.test 312 me bob irc.test :natter chat server");
	feed(":irc.test 301 me bob :lunch");
	feed(":irc.test 330 me bob bobacct :is logged in as");
	feed(":irc.test 338 me bob 10.0.0.1 :actually using host");
	feed(":irc.test 671 me bob :is using a secure connection");
	feed(":irc.test 320 me bob :is a bot");
	feed(":irc.test 317 me bob 123 0 :seconds idle, signon time");
	/* Nothing shows until the end. */
	assert_int_equal(count(a), n0);
	feed(":irc.test 318 me bob :End of /WHOIS list");
	n = count(a) - n0;
	assert_int_equal(n, 11);
	assert_string_equal(back(a, 10), "bob (bob@127.0.0.1)");
	assert_string_equal(back(a, 9), "  name:    Bob Smith");
	assert_string_equal(back(a, 8), "  rooms:   @#lobby #dev");
	assert_string_equal(back(a, 7),
	    "  server:  irc.test (natter chat server)");
	assert_string_equal(back(a, 6), "  idle:    2m 3s");
	assert_string_equal(back(a, 5), "  away:    lunch");
	assert_string_equal(back(a, 4), "  account: bobacct");
	assert_string_equal(back(a, 3), "  host:    10.0.0.1");
	assert_string_equal(back(a, 2), "  secure:  TLS");
	assert_string_equal(back(a, 1), "  info:    is a bot");
	assert_string_equal(back(a, 0), "End of WHOIS");

	/* A missing nick: the error alone. */
	n0 = count(a);
	feed(":irc.test 401 me zed :No such nick/channel");
	feed(":irc.test 318 me zed :End of /WHOIS list");
	assert_int_equal(count(a), n0 + 1);
	assert_string_equal(back(a, 0), "zed: No such nick/channel");

	/* WHOWAS. */
	feed(":irc.test 314 me old o host * :Old One");
	feed(":irc.test 369 me old :End of WHOWAS");
	assert_string_equal(back(a, 2), "old was (o@host)");
	assert_string_equal(back(a, 0), "End of WHOWAS");
}

static void
test_away_reply(void **state)
{
	int	a = win("#a"), q;

	(void)state;
	/* No query window: where the user is. */
	feed(":irc.test 301 me bob :gone fishing");
	assert_string_equal(back(a, 0), "bob is away: gone fishing");
	/* With one: there. */
	q = windows_open(&sess.wins, "bob", WIN_QUERY);
	feed(":irc.test 301 me bob :gone fishing");
	assert_string_equal(back(q, 0), "bob is away: gone fishing");
	assert_int_equal(sess.wins.v[q]->act, ACT_MSG);
}

static void
test_who_rows(void **state)
{
	int	a = win("#a");

	(void)state;
	feed(":irc.test 352 me #a bob 127.0.0.1 irc.test bob H@ :0 Bob");
	feed(":irc.test 352 me #a carol h irc.test carol G :0 Carol C");
	feed(":irc.test 315 me #a :End of WHO list");
	assert_string_equal(back(a, 3),
	    "Nick            User@host                Flags Name");
	assert_string_equal(back(a, 2),
	    "bob             bob@127.0.0.1            H@    Bob");
	assert_string_equal(back(a, 1),
	    "carol           carol@h                  G     Carol C");
	assert_string_equal(back(a, 0), "End of WHO #a");
	feed(":irc.test 315 me nobody :End of WHO list");
	assert_string_equal(back(a, 0), "Nobody matches nobody");
}

static void
test_list_window(void **state)
{
	char	want[64];
	int	l, k;

	(void)state;
	reply_label(&sess, "#a", "LIST", out[0], sizeof(out[0]));
	feed(":irc.test 321 me Channel :Users  Name");
	l = win(LIST_WINDOW);
	assert_int_equal(sess.wins.v[l]->kind, WIN_LIST);
	assert_int_equal(sess.wins.cur, l);
	feed(":irc.test 322 me #lobby 3 :the lobby");
	feed(":irc.test 322 me #dev 12 :");
	feed(":irc.test 323 me :End of /LIST");
	assert_int_equal(count(l), 4);
	assert_string_equal(back(l, 3), "Room                 Users  Topic");
	assert_string_equal(back(l, 2), "#lobby                   3  the lobby");
	assert_string_equal(back(l, 1), "#dev                    12");
	assert_string_equal(back(l, 0), "End of LIST: 2 rooms");

	/* A second LIST starts afresh; past LIST_ROWS_MAX one line says
	 * how many more there were. */
	feed(":irc.test 321 me Channel :Users  Name");
	for (k = 0; k < LIST_ROWS_MAX + 7; k++)
		feedf(":irc.test 322 me #r%d 1 :t", k);
	feed(":irc.test 323 me :End of /LIST");
	assert_int_equal(count(l), LIST_ROWS_MAX + 3);
	assert_true(count(l) <= SCROLL_MAX);
	assert_string_equal(back(l, 1), "7 more rooms not shown");
	snprintf(want, sizeof(want), "End of LIST: %d rooms",
	    LIST_ROWS_MAX + 7);
	assert_string_equal(back(l, 0), want);
}

static void
test_motd_once(void **state)
{
	int	n0;

	(void)state;
	n0 = count(0);
	feed(":irc.test 375 me :- irc.test Message of the day -");
	feed(":irc.test 372 me :- hello");
	assert_int_equal(count(0), n0);
	feed(":irc.test 376 me :End of /MOTD command.");
	assert_int_equal(count(0), n0 + 3);
	assert_string_equal(back(0, 1), "- hello");
	/* A reconnect with the same MOTD: one line, not the MOTD. */
	session_hello(&sess, out, &nout, OUT_MAX);
	feed(":irc.test 375 me :- irc.test Message of the day -");
	feed(":irc.test 372 me :- hello");
	feed(":irc.test 376 me :End of /MOTD command.");
	assert_int_equal(count(0), n0 + 4);
	assert_string_equal(back(0, 0),
	    "The message of the day has not changed (/motd shows it)");
	/* /motd shows it, wherever typed. */
	reply_label(&sess, "#a", "MOTD", out[0], sizeof(out[0]));
	feed(":irc.test 375 me :- irc.test Message of the day -");
	feed(":irc.test 372 me :- hello");
	feed(":irc.test 376 me :End of /MOTD command.");
	assert_int_equal(count(0), n0 + 7);
	assert_string_equal(back(0, 1), "- hello");
	/* A changed one shows. */
	feed(":irc.test 375 me :- irc.test Message of the day -");
	feed(":irc.test 372 me :- new text");
	feed(":irc.test 376 me :End of /MOTD command.");
	assert_string_equal(back(0, 1), "- new text");
	/* Its lines are bounded. */
	n0 = count(0);
	feed(":irc.test 375 me :- start");
	for (int k = 0; k < MOTD_LINES_MAX + 5; k++)
		feedf(":irc.test 372 me :- line %d", k);
	feed(":irc.test 376 me :End");
	assert_int_equal(count(0), n0 + MOTD_LINES_MAX + 1);
	assert_string_equal(back(0, 0),
	    "(7 more lines of the MOTD not shown)");
	/* No MOTD: said once. */
	feed(":irc.test 422 me :MOTD File is missing");
	assert_string_equal(back(0, 0), "MOTD File is missing");
}

static void
test_labels(void **state)
{
	char	line[512];
	int	a = win("#a"), b = win("#b"), k;

	(void)state;
	/* Routed commands get a label; messages and the like do not. */
	reply_label(&sess, "#b", "WHOIS bob", line, sizeof(line));
	assert_string_equal(line, "@label=n1 WHOIS bob");
	reply_label(&sess, "#b", "PRIVMSG bob :hi", line, sizeof(line));
	assert_string_equal(line, "PRIVMSG bob :hi");
	reply_label(&sess, "#b", "@batch=x PRIVMSG bob :hi", line,
	    sizeof(line));
	assert_string_equal(line, "@batch=x PRIVMSG bob :hi");
	assert_int_equal(sess.reply.nlabels, 1);

	/* A batch answers it in #b, though #a is current. */
	feed("@label=n1 :irc.test BATCH +L1 labeled-response");
	feed("@batch=L1 :irc.test 311 me bob bob h * :Bob");
	feed("@batch=L1 :irc.test 318 me bob :End of /WHOIS list");
	feed(":irc.test BATCH -L1");
	assert_string_equal(back(b, 0), "End of WHOIS");
	assert_string_equal(back(b, 2), "bob (bob@h)");
	assert_int_equal(sess.reply.nlabels, 0);

	/* A labeled batch of another type is the answer too. */
	reply_label(&sess, "#b", "WHO #b", line, sizeof(line));
	feed("@label=n2 :irc.test BATCH +W1 example/who");
	feed("@batch=W1 :irc.test 315 me #b :End of WHO list");
	feed(":irc.test BATCH -W1");
	assert_string_equal(back(b, 0), "Nobody matches #b");
	assert_int_equal(sess.reply.nlabels, 0);

	/* One labeled line, then the label is free. */
	reply_label(&sess, "#b", "TIME", line, sizeof(line));
	feed("@label=n3 :irc.test 391 me irc.test :noon");
	assert_string_equal(back(b, 0), "Time on irc.test: noon");
	assert_int_equal(sess.reply.nlabels, 0);
	/* An error to a labeled command: its window. */
	reply_label(&sess, "#b", "MODE #zz", line, sizeof(line));
	feed("@label=n4 :irc.test 403 me #zz :No such channel");
	assert_string_equal(back(b, 0), "#zz: No such channel");
	/* NAMES and TOPIC of a room without a window: the command's. */
	reply_label(&sess, "#b", "NAMES #x", line, sizeof(line));
	feed("@label=n5 :irc.test 353 me = #x :bob carol");
	assert_string_equal(back(b, 0), "Nicks on #x: bob carol");
	reply_label(&sess, "#b", "TOPIC #x", line, sizeof(line));
	feed("@label=n6 :irc.test 332 me #x :hi there");
	assert_string_equal(back(b, 0), "Topic for #x: hi there");
	/* ACK: nothing shown, the label freed. */
	reply_label(&sess, "#b", "AWAY", line, sizeof(line));
	k = count(a) + count(b) + count(0);
	feed("@label=n7 :irc.test ACK");
	assert_int_equal(count(a) + count(b) + count(0), k);
	assert_int_equal(sess.reply.nlabels, 0);
	/* A closed window: the current one. */
	reply_label(&sess, "#b", "TIME", line, sizeof(line));
	windows_close(&sess.wins, b);
	feed("@label=n8 :irc.test 391 me irc.test :one");
	assert_string_equal(back(win("#a"), 0), "Time on irc.test: one");

	/* The table is bounded: the oldest label goes. */
	for (k = 0; k < REPLY_LABELS_MAX + 3; k++)
		reply_label(&sess, "#a", "TIME", line, sizeof(line));
	assert_int_equal(sess.reply.nlabels, REPLY_LABELS_MAX);
	assert_string_equal(sess.reply.labels[0].id, "n12");

	/* Without the cap: no label, but /motd is still noted. */
	sess.caps &= ~CAP_LABELED_RESPONSE;
	reply_label(&sess, "#a", "MOTD", line, sizeof(line));
	assert_string_equal(line, "MOTD");
	assert_int_equal(sess.reply.motd_asked, 1);
	/* A line too long for a label goes without. */
	sess.caps |= CAP_LABELED_RESPONSE;
	memset(line, 'x', 505);
	memcpy(line, "WHO ", 4);
	line[505] = '\0';
	{
		char	o[512], copy[512];

		snprintf(copy, sizeof(copy), "%s", line);
		reply_label(&sess, "#a", copy, o, sizeof(o));
		assert_string_equal(o, copy);
	}
}

static void
test_cap_request(void **state)
{
	(void)state;
	session_free(&sess);
	session_init(&sess);
	snprintf(sess.nick, sizeof(sess.nick), "me");
	session_hello(&sess, out, &nout, OUT_MAX);
	feed(":irc.test CAP * LS :batch labeled-response server-time");
	assert_int_equal(nout, 1);
	assert_string_equal(out[0],
	    "CAP REQ :server-time batch labeled-response");
	/* Without batch a labeled answer of many lines could not be
	 * told apart: not asked for. */
	session_hello(&sess, out, &nout, OUT_MAX);
	feed(":irc.test CAP * LS :labeled-response server-time");
	assert_string_equal(out[0], "CAP REQ :server-time");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_table),
		cmocka_unit_test_setup_teardown(test_errors_and_generic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_whois_block, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_away_reply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_who_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_motd_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_request, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
