/*
 * test_notify.c: notifications (tui/notify.c) and /set (tui/settings.c):
 * the --notify list, the exact bytes of the bell, OSC 777, OSC 9 and
 * their tmux passthrough, the title's unread count, which messages
 * notify (out of view or unfocused, never in view and focused), and
 * the settings /set lists and changes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../tui/natter.h"

#define OUT_MAX	8

static struct session	sess;

static void
feed(const char *raw)
{
	struct irc_msg	m;
	char		line[1024], out[OUT_MAX][512];
	int		nout = 0;

	snprintf(line, sizeof(line), "%s", raw);
	assert_int_equal(irc_parse(line, &m), 0);
	handle_line(&sess, &m, 1000, out, &nout, OUT_MAX);
}

static void
test_parse(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		unsigned	 bits;
		const char	*names;
	} t[] = {
		{ "bell", 0, NOTIFY_BELL, "bell" },
		{ "bell,osc9", 0, NOTIFY_BELL | NOTIFY_OSC9, "bell,osc9" },
		{ "title,osc777,bell", 0, NOTIFY_DEFAULT,
		    "bell,osc777,title" },
		{ "osc9,osc9", 0, NOTIFY_OSC9, "osc9" },
		{ "none", 0, 0, "none" },
		{ "", -1, 0, NULL },
		{ "bell,", -1, 0, NULL },
		{ ",bell", -1, 0, NULL },
		{ "bell,none", -1, 0, NULL },
		{ "Bell", -1, 0, NULL },
		{ "osc", -1, 0, NULL },
		{ "bells", -1, 0, NULL },
	};
	char		names[64];
	unsigned	bits;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bits = 0xff;
		assert_int_equal(notify_parse(t[i].in, &bits), t[i].rc);
		if (t[i].rc == -1) {
			assert_int_equal(bits, 0xff);	/* untouched */
			continue;
		}
		assert_int_equal(bits, t[i].bits);
		notify_names(bits, names, sizeof(names));
		assert_string_equal(names, t[i].names);
	}
}

static void
test_clean(void **state)
{
	char	out[NOTIFY_BODY_MAX + 1], in[600];
	size_t	n;

	(void)state;
	/* mIRC codes, controls (ESC, BEL, CR) and C1 go; a tab is a
	 * space. */
	n = notify_clean("\002bold\002 \00304red\003\tx\033]0;y\007z\r\n"
	    "\xc2\x9b!", out, sizeof(out), NOTIFY_BODY_MAX);
	assert_string_equal(out, "bold red x]0;yz!");
	assert_int_equal(n, strlen(out));
	/* Invalid UTF-8 is dropped; valid stays. */
	notify_clean("caf\xc3\xa9 \xff\xc3(", out, sizeof(out),
	    NOTIFY_BODY_MAX);
	assert_string_equal(out, "caf\xc3\xa9 (");
	/* Cut at the bound, between characters: 199 bytes of 'a' and a
	 * two-byte character that would end at byte 201. */
	memset(in, 'a', 199);
	memcpy(in + 199, "\xc3\xa9tail", 7);
	n = notify_clean(in, out, sizeof(out), NOTIFY_BODY_MAX);
	assert_int_equal(n, 199);
	/* Exactly at the bound. */
	memset(in, 'b', 500);
	in[500] = '\0';
	n = notify_clean(in, out, sizeof(out), NOTIFY_BODY_MAX);
	assert_int_equal(n, NOTIFY_BODY_MAX);
	/* A small buffer bounds it too. */
	n = notify_clean("hello", out, 4, NOTIFY_BODY_MAX);
	assert_string_equal(out, "hel");
}

static void
test_alert_bytes(void **state)
{
	char	out[NOTIFY_OUT_MAX], big[NOTIFY_OUT_MAX];

	(void)state;
	assert_int_equal(notify_alert(NOTIFY_BELL, 0, NULL, NULL, out,
	    sizeof(out)), 1);
	assert_string_equal(out, "\a");
	notify_alert(NOTIFY_DEFAULT, 0, "natter: bob in #lobby", "hi there",
	    out, sizeof(out));
	assert_string_equal(out,
	    "\a\033]777;notify;natter: bob in #lobby;hi there\a");
	notify_alert(NOTIFY_OSC9, 0, "natter: bob (private)", "psst", out,
	    sizeof(out));
	assert_string_equal(out, "\033]9;natter: bob (private): psst\a");
	/* tmux: each OSC wrapped, its ESC doubled; the bell is not. */
	notify_alert(NOTIFY_BELL | NOTIFY_OSC777 | NOTIFY_OSC9, 1, "t", "b",
	    out, sizeof(out));
	assert_string_equal(out, "\a"
	    "\033Ptmux;\033\033]777;notify;t;b\a\033\\"
	    "\033Ptmux;\033\033]9;t: b\a\033\\");
	/* The title alone (no alert text): nothing but the bell. */
	assert_int_equal(notify_alert(NOTIFY_OSC777, 0, NULL, NULL, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Never half a sequence. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(notify_alert(NOTIFY_OSC777, 1, "t", big, out, 64),
	    0);
	assert_string_equal(out, "");

	assert_int_equal(notify_title(0, out, sizeof(out)), 11);
	assert_string_equal(out, "\033]2;natter\a");
	notify_title(3, out, sizeof(out));
	assert_string_equal(out, "\033]2;natter (3)\a");
	assert_int_equal(notify_title(3, out, 5), 0);
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
	feed(":me!u@h JOIN #b");
	sess.bell = 0;
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
test_events(void **state)
{
	int	a, b, q;

	(void)state;
	a = windows_find(&sess.wins, "#a");
	b = windows_find(&sess.wins, "#b");
	assert_int_equal(sess.focused, 1);
	assert_int_equal(sess.notify, NOTIFY_DEFAULT);
	windows_switch(&sess.wins, a);

	/* In view and focused: nothing at all. */
	feed(":bob!b@h PRIVMSG #a :me: hi");
	assert_int_equal(sess.bell, 0);
	assert_int_equal(sess.alert, 0);
	assert_int_equal(notify_unread(&sess.wins), 0);

	/* Another window: bell, alert, unread. */
	feed(":bob!b@h PRIVMSG #b :\002me\002, look\a");
	assert_int_equal(sess.bell, 1);
	assert_int_equal(sess.alert, 1);
	assert_string_equal(sess.alert_title, "natter: bob in #b");
	assert_string_equal(sess.alert_body, "me, look");
	assert_int_equal(notify_unread(&sess.wins), 1);
	sess.bell = sess.alert = 0;
	/* Not a mention: nothing. */
	feed(":bob!b@h PRIVMSG #b :meh");
	assert_int_equal(sess.bell, 0);
	assert_int_equal(notify_unread(&sess.wins), 1);
	/* A private message; a /me. */
	feed(":carol!c@h PRIVMSG me :psst");
	q = windows_find(&sess.wins, "carol");
	assert_string_equal(sess.alert_title, "natter: carol (private)");
	assert_string_equal(sess.alert_body, "psst");
	feed(":carol!c@h PRIVMSG me :\001ACTION waves\001");
	assert_string_equal(sess.alert_body, "* carol waves");
	assert_int_equal(notify_unread(&sess.wins), 3);
	/* Our own echo never notifies. */
	sess.bell = sess.alert = 0;
	feed(":me!u@h PRIVMSG carol :me too");
	assert_int_equal(sess.bell, 0);

	/* Unfocused: the window in view notifies too. */
	notify_focus(&sess, 0);
	feed(":bob!b@h PRIVMSG #a :me?");
	assert_int_equal(sess.alert, 1);
	assert_int_equal(notify_unread(&sess.wins), 4);
	/* Focus back: the window in view is read; switching reads the
	 * others. */
	notify_focus(&sess, 1);
	assert_int_equal(notify_unread(&sess.wins), 3);
	windows_switch(&sess.wins, q);
	assert_int_equal(notify_unread(&sess.wins), 1);
	windows_switch(&sess.wins, b);
	assert_int_equal(notify_unread(&sess.wins), 0);

	/* A room name with ';' cannot split OSC 777's fields. */
	feed(":me!u@h JOIN #x;y");
	windows_switch(&sess.wins, a);
	feed(":bob!b@h PRIVMSG #x;y :me");
	assert_string_equal(sess.alert_title, "natter: bob in #x y");

	/* A hostile server's nick and room: no C1 (CSI, OSC), no byte
	 * that is not UTF-8, no ESC in the title's OSC string. */
	feed(":me!u@h JOIN #r\xc2\x9d\xc2\x9b\x9b\x9d\x1b]2;x");
	windows_switch(&sess.wins, a);
	sess.alert = 0;
	feed(":b\xc2\x9do\x9b" "b!b@h PRIVMSG #r\xc2\x9d\xc2\x9b\x9b\x9d"
	    "\x1b]2;x :me");
	assert_int_equal(sess.alert, 1);
	assert_string_equal(sess.alert_title, "natter: bob in #r]2 x");
	feed(":\xc2\x9b\x1b[2Jeve!e@h PRIVMSG me :hi");
	assert_string_equal(sess.alert_title, "natter: [2Jeve (private)");

	/* Replayed history never notifies. */
	sess.bell = sess.alert = 0;
	feed(":irc.test BATCH +h1 chathistory #b");
	feed("@batch=h1 :bob!b@h PRIVMSG #b :me old");
	feed(":irc.test BATCH -h1");
	assert_int_equal(sess.alert, 0);
}

/* The count stops at its bound. */
static void
test_unread_bound(void **state)
{
	int	i, b;

	(void)state;
	b = windows_find(&sess.wins, "#b");
	notify_focus(&sess, 0);
	for (i = 0; i < NOTIFY_UNREAD_MAX + 5; i++)
		notify_event(&sess, b, "bob", "#b", 0, "me");
	assert_int_equal(sess.wins.v[b]->unread, NOTIFY_UNREAD_MAX);
	notify_event(&sess, 0, "bob", NULL, 0, "me");
	assert_int_equal(notify_unread(&sess.wins), NOTIFY_UNREAD_MAX);
}

static void
test_set(void **state)
{
	char	msg[1024];

	(void)state;
	assert_int_equal(settings_set(&sess, "", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "notify = bell,osc777,title\n"
	    "nicklist = auto\nprefixes = on");
	assert_int_equal(settings_set(&sess, "notify bell,osc9", msg,
	    sizeof(msg)), 0);
	assert_string_equal(msg, "notify = bell,osc9");
	assert_int_equal(sess.notify, NOTIFY_BELL | NOTIFY_OSC9);
	assert_int_equal(settings_set(&sess, "notify", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "notify = bell,osc9");
	assert_int_equal(settings_set(&sess, "notify none", msg,
	    sizeof(msg)), 0);
	assert_int_equal(sess.notify, 0);
	assert_int_equal(settings_set(&sess, "nicklist on", msg,
	    sizeof(msg)), 0);
	assert_int_equal(sess.nicklist, 1);
	assert_int_equal(settings_set(&sess, "nicklist off", msg,
	    sizeof(msg)), 0);
	assert_int_equal(sess.nicklist, 0);
	assert_int_equal(settings_set(&sess, "nicklist  auto", msg,
	    sizeof(msg)), 0);
	assert_int_equal(sess.nicklist, -1);
	assert_int_equal(settings_set(&sess, "prefixes on", msg,
	    sizeof(msg)), 0);
	assert_int_equal(sess.show_prefixes, 1);
	assert_string_equal(msg, "prefixes = on");

	/* Errors: one line, nothing changed. */
	assert_int_equal(settings_set(&sess, "colour on", msg, sizeof(msg)),
	    -1);
	assert_string_equal(msg, "/set: no setting colour (there are "
	    "notify, nicklist, prefixes)");
	assert_int_equal(settings_set(&sess, "nicklist maybe", msg,
	    sizeof(msg)), -1);
	assert_string_equal(msg, "/set nicklist maybe: use on, off or auto");
	assert_int_equal(sess.nicklist, -1);
	assert_int_equal(settings_set(&sess, "notify bell osc9", msg,
	    sizeof(msg)), -1);
	assert_string_equal(msg, "/set notify bell osc9: use a list of bell, "
	    "osc777, osc9, title, or none");
	assert_int_equal(sess.notify, 0);
}

/* /set reaches natter.c as CMD_SET with its arguments. */
static void
test_set_cmd(void **state)
{
	struct cmd_result	r;

	(void)state;
	cmd_parse("/set notify bell", "#a", &r);
	assert_int_equal(r.action, CMD_SET);
	assert_string_equal(r.msg, "notify bell");
	cmd_parse("/set", NULL, &r);
	assert_int_equal(r.action, CMD_SET);
	assert_string_equal(r.msg, "");
	cmd_parse("/raw PING x", NULL, &r);
	assert_int_equal(r.action, CMD_SEND);
	assert_string_equal(r.lines[0], "PING x");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_alert_bytes),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test(test_set_cmd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
