/*
 * test_link.c: the link's health (tui/link.c) and the replies that feed
 * it (tui/handle.c): the status bar's piece for each state (lag shown
 * only above a second, a PING not yet answered counting as lag, the
 * retry countdown in whole seconds rounded up), the tests for a TLS /
 * plain-text mix-up and a refused password, the one sentence for each
 * fault, a PONG settling our PING (and no other), 464 and 465 ending
 * the retries, and /reconnect parsed.
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
#define NOW	1000000LL	/* a link_clock_ms() reading */

static struct session	sess;
static char		out[OUT_MAX][512];
static int		nout;

static int
setup(void **state)
{
	(void)state;
	session_init(&sess);
	snprintf(sess.nick, sizeof(sess.nick), "alice");
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

static const char *
bar(long long now)
{
	static char buf[128];
	int n;

	n = link_status(&sess, now, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	return buf;
}

static void
test_status_states(void **state)
{
	(void)state;
	sess.link_state = LINK_CONNECTING;
	assert_string_equal(bar(NOW), " [connecting]");
	sess.link_state = LINK_DOWN;
	assert_string_equal(bar(NOW), " [disconnected]");
	sess.link_state = LINK_WAIT;
	sess.retry_at = NOW + 4000;
	assert_string_equal(bar(NOW), " [disconnected, retry in 4 s]");
	/* Rounded up: 3.5 s left reads 4, 1 ms reads 1. */
	assert_string_equal(bar(NOW + 500), " [disconnected, retry in 4 s]");
	assert_string_equal(bar(NOW + 1000), " [disconnected, retry in 3 s]");
	assert_string_equal(bar(NOW + 3999), " [disconnected, retry in 1 s]");
	assert_string_equal(bar(NOW + 9000), " [disconnected, retry in 0 s]");
	sess.link_state = LINK_UP;
	assert_string_equal(bar(NOW), "");
}

static void
test_status_lag(void **state)
{
	(void)state;
	sess.link_state = LINK_UP;
	sess.lag_ms = 900;
	assert_string_equal(bar(NOW), "");
	assert_int_equal(link_lag(&sess, NOW), 900);
	sess.lag_ms = LAG_SHOW_MS;
	assert_string_equal(bar(NOW), "");
	sess.lag_ms = 2468;
	assert_string_equal(bar(NOW), " [lag 2.4 s]");
	sess.lag_ms = 61234;
	assert_string_equal(bar(NOW), " [lag 61.2 s]");
	/* A PING out for 1.5 s: the lag is at least that. */
	sess.lag_ms = 10;
	sess.ping_at = NOW - 1500;
	assert_string_equal(bar(NOW), " [lag 1.5 s]");
	assert_string_equal(bar(NOW + 1000), " [lag 2.5 s]");
	/* ... but never less than the last one measured. */
	sess.lag_ms = 5000;
	assert_string_equal(bar(NOW), " [lag 5.0 s]");
	/* Disconnected: no lag, the state says it. */
	sess.link_state = LINK_WAIT;
	sess.retry_at = NOW + 2000;
	assert_int_equal(link_lag(&sess, NOW), -1);
	assert_string_equal(bar(NOW), " [disconnected, retry in 2 s]");
}

static void
test_status_small_buffer(void **state)
{
	char buf[8];

	(void)state;
	sess.link_state = LINK_DOWN;
	assert_int_equal(link_status(&sess, NOW, buf, sizeof(buf)), 7);
	assert_string_equal(buf, " [disco");
}

static void
test_mixups(void **state)
{
	static const char alert[] = { 0x15, 0x03, 0x01, 0x00, 0x02, 0x02,
	    0x46 };
	static const char hello[] = { 0x16, 0x03, 0x03, 0x00, 0x7a };

	(void)state;
	assert_true(link_plain_reply("wrong version number"));
	assert_true(link_plain_reply("error:0A00010B:SSL routines::wrong "
	    "version number"));
	assert_true(link_plain_reply("packet length too long"));
	assert_true(link_plain_reply("record layer failure"));
	assert_false(link_plain_reply("certificate verify failed"));
	assert_false(link_plain_reply("the server closed the connection"));
	assert_false(link_plain_reply("timed out after 15 s"));

	assert_true(link_tls_bytes(alert, sizeof(alert)));
	assert_true(link_tls_bytes(hello, sizeof(hello)));
	assert_false(link_tls_bytes(alert, 1));
	assert_false(link_tls_bytes(":irc.test NOTICE", 16));
	assert_false(link_tls_bytes("\x15\x04", 2));

	assert_true(link_tls_error("Closing Link: 127.0.0.1 (This port "
	    "speaks TLS only; use TLS, or the plain port 6667)"));
	assert_false(link_tls_error("Closing Link: 127.0.0.1 (Bad "
	    "password)"));
	assert_true(link_password_error("Access denied: Bad password?"));
	assert_false(link_password_error("Closing Link: (Excess Flood)"));
}

static void
test_sentences(void **state)
{
	char s[1024];

	(void)state;
	link_fault_sentence(FAULT_PASSWORD, "h:6667", "h", "", 1, 0, s,
	    sizeof(s));
	assert_string_equal(s, "h:6667 refused the server password: check "
	    "--password. Not retrying; /reconnect tries again.");
	link_fault_sentence(FAULT_PASSWORD, "h:6667", "h", "", 0, 0, s,
	    sizeof(s));
	assert_string_equal(s, "h:6667 asks for a server password: give it "
	    "with --password. Not retrying; /reconnect tries again.");
	link_fault_sentence(FAULT_BANNED, "h:6667", "h", "spam", 0, 0, s,
	    sizeof(s));
	assert_string_equal(s, "h:6667 has banned this connection (spam): "
	    "ask its operators, or use another server. Not retrying; "
	    "/reconnect tries again.");
	link_fault_sentence(FAULT_BANNED, "h:6667", "h", "", 0, 0, s,
	    sizeof(s));
	assert_string_equal(s, "h:6667 has banned this connection: ask its "
	    "operators, or use another server. Not retrying; /reconnect "
	    "tries again.");
	link_fault_sentence(FAULT_NOT_TLS, "127.0.0.1:6667", "127.0.0.1", "",
	    0, 0, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1:6667 is not a TLS port: leave out "
	    "--tls (or use the server's TLS port). Not retrying; /reconnect "
	    "tries again.");
	link_fault_sentence(FAULT_NOT_TLS, "h:6697", "h", "", 0, 1, s,
	    sizeof(s));
	assert_string_equal(s, "h:6697 is not a TLS port: add --no-tls (or "
	    "use the server's TLS port). Not retrying; /reconnect tries "
	    "again.");
	link_fault_sentence(FAULT_TLS_PORT, "h:6697", "h", "", 0, 0, s,
	    sizeof(s));
	assert_string_equal(s, "h:6697 is a TLS port: add --tls (or use the "
	    "server's plain-text port). Not retrying; /reconnect tries "
	    "again.");
	link_fault_sentence(FAULT_NO_HOST, "x.invalid:6667", "x.invalid", "",
	    0, 0, s, sizeof(s));
	assert_string_equal(s, "There is no host called x.invalid: check the "
	    "name (natter host[:port]). Not retrying; /reconnect tries "
	    "again.");
	link_fault_sentence(FAULT_NONE, "h:1", "h", "", 0, 0, s, sizeof(s));
	assert_string_equal(s, "");
}

static void
test_pong(void **state)
{
	long long t0;
	int before;

	(void)state;
	sess.registered = 1;
	sess.link_state = LINK_UP;
	before = sess.wins.v[0]->sb.count;
	/* Someone else's token (or none) settles nothing. */
	t0 = link_clock_ms() - 2400;
	sess.ping_at = t0;
	snprintf(sess.ping_token, sizeof(sess.ping_token), "natter-7");
	feed(":irc.test PONG irc.test :natter-6");
	assert_true(sess.ping_at == t0);
	feed(":irc.test PONG irc.test");
	assert_true(sess.ping_at == t0);
	feed(":irc.test PONG irc.test :natter-7");
	assert_true(sess.ping_at == 0);
	assert_true(sess.lag_ms >= 2400 && sess.lag_ms < 2400 + 5000);
	assert_int_equal(nout, 0);
	/* A PONG is never shown. */
	assert_int_equal(sess.wins.v[0]->sb.count, before);
	/* A second PONG for it changes nothing. */
	sess.lag_ms = 7;
	feed(":irc.test PONG irc.test :natter-7");
	assert_int_equal(sess.lag_ms, 7);
}

static void
test_password_and_ban(void **state)
{
	int before;

	(void)state;
	/* 464 while registering: the password; net.c says it. */
	before = sess.wins.v[0]->sb.count;
	feed(":irc.test 464 * :Password incorrect");
	assert_int_equal(sess.fault, FAULT_PASSWORD);
	assert_string_equal(sess.fault_text, "Password incorrect");
	assert_int_equal(sess.wins.v[0]->sb.count, before);
	/* 464 once registered (a wrong OPER password) is only shown. */
	sess.fault = FAULT_NONE;
	sess.registered = 1;
	feed(":irc.test 464 alice :Password incorrect");
	assert_int_equal(sess.fault, FAULT_NONE);
	assert_int_equal(sess.wins.v[0]->sb.count, before + 1);
	/* 465 at any time. */
	feed(":irc.test 465 alice :You are banned from this server: spam");
	assert_int_equal(sess.fault, FAULT_BANNED);
	assert_string_equal(sess.fault_text,
	    "You are banned from this server: spam");
}

static void
test_reconnect_command(void **state)
{
	struct cmd_result r;

	(void)state;
	cmd_parse("/reconnect", NULL, &r);
	assert_int_equal(r.action, CMD_RECONNECT);
	assert_int_equal(r.nlines, 0);
	cmd_parse("/reconnect", "#lobby", &r);
	assert_int_equal(r.action, CMD_RECONNECT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_states, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_status_lag, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_status_small_buffer,
		    setup, teardown),
		cmocka_unit_test(test_mixups),
		cmocka_unit_test(test_sentences),
		cmocka_unit_test_setup_teardown(test_pong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_and_ban, setup,
		    teardown),
		cmocka_unit_test(test_reconnect_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
