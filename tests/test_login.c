/*
 * test_login.c: the pure parts of logging in with natter: base64 and
 * the 400-byte AUTHENTICATE chunks (tui/sasl.c), /register and
 * /identify (tui/cmd.c), and that no line carrying a password reaches
 * the input history or the kill buffer (cmd_is_secret, tui/edit.c).
 * The SASL exchange itself is in test_handle.c.
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
test_base64(void **state)
{
	/* RFC 4648, section 10. */
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		assert_int_equal(sasl_base64((const unsigned char *)vec[i][0],
		    strlen(vec[i][0]), out, sizeof(out)), 0);
		assert_string_equal(out, vec[i][1]);
	}
	/* Bytes above 0x7f and NULs. */
	assert_int_equal(sasl_base64((const unsigned char *)"\0\xff\xfe", 3,
	    out, sizeof(out)), 0);
	assert_string_equal(out, "AP/+");
	/* Exactly full (4 + NUL), and one short. */
	assert_int_equal(sasl_base64((const unsigned char *)"foo", 3, out, 5),
	    0);
	assert_int_equal(sasl_base64((const unsigned char *)"foo", 3, out, 4),
	    -1);
}

static void
test_plain_lines(void **state)
{
	char out[4][512], pass[700];
	int n;

	(void)state;
	n = sasl_plain_lines("alice", "sesame", out, 4);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "AUTHENTICATE YWxpY2UAYWxpY2UAc2VzYW1l");
	/* 300 bytes of response: 400 of base64, then "+". */
	memset(pass, 'p', sizeof(pass));
	pass[300 - 2 - 2] = '\0';
	n = sasl_plain_lines("a", pass, out, 4);
	assert_int_equal(n, 2);
	assert_int_equal(strlen(out[0]), 13 + 400);
	assert_string_equal(out[1], "AUTHENTICATE +");
	/* 301 bytes: 400, then 4, no "+". */
	pass[300 - 2 - 2] = 'p';
	pass[301 - 2 - 2] = '\0';
	n = sasl_plain_lines("a", pass, out, 4);
	assert_int_equal(n, 2);
	assert_int_equal(strlen(out[1]), 13 + 4);
	/* 600 bytes: 800 of base64, two full lines and "+". */
	pass[600 - 2 - 2] = '\0';
	memset(pass, 'p', 600 - 4);
	n = sasl_plain_lines("a", pass, out, 4);
	assert_int_equal(n, 3);
	assert_string_equal(out[2], "AUTHENTICATE +");
	/* Not enough room for the lines, or far too long. */
	assert_int_equal(sasl_plain_lines("a", pass, out, 2), -1);
	memset(pass, 'p', sizeof(pass) - 1);
	pass[sizeof(pass) - 1] = '\0';
	assert_int_equal(sasl_plain_lines("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    pass, out, 4), -1);
}

static void
test_register_identify(void **state)
{
	struct cmd_result r;

	(void)state;
	cmd_parse("/register sesame", NULL, &r);
	assert_int_equal(r.action, CMD_SEND);
	assert_true(r.secret);
	assert_int_equal(r.nlines, 1);
	assert_string_equal(r.lines[0], "REGISTER * * sesame");
	cmd_parse("/register sesame alice@example.org", "#a", &r);
	assert_string_equal(r.lines[0],
	    "REGISTER * alice@example.org sesame");
	cmd_parse("/identify sesame", NULL, &r);
	assert_int_equal(r.action, CMD_SEND);
	assert_true(r.secret);
	assert_string_equal(r.lines[0], "PRIVMSG NickServ :IDENTIFY sesame");
	cmd_parse("/IDENTIFY alice sesame", NULL, &r);
	assert_string_equal(r.lines[0],
	    "PRIVMSG NickServ :IDENTIFY alice sesame");
	/* Wrong use: the usage, and the password in no message. */
	cmd_parse("/register", NULL, &r);
	assert_int_equal(r.action, CMD_ERROR);
	assert_string_equal(r.msg, "Usage: /register <password> [email]");
	cmd_parse("/register sesame a@b extra", NULL, &r);
	assert_int_equal(r.action, CMD_ERROR);
	assert_null(strstr(r.msg, "sesame"));
	cmd_parse("/identify", NULL, &r);
	assert_int_equal(r.action, CMD_ERROR);
	cmd_parse("/identify a b c", NULL, &r);
	assert_int_equal(r.action, CMD_ERROR);
	assert_null(strstr(r.msg, "b"));
	/* Other commands are not secret. */
	cmd_parse("/msg alice hi", NULL, &r);
	assert_false(r.secret);
}

static void
test_is_secret(void **state)
{
	static const struct {
		const char	*line;
		int		 secret;
	} cases[] = {
		{ "/register pw", 1 }, { "/REGISTER pw a@b", 1 },
		{ "/identify pw", 1 }, { "/identify", 1 },
		{ "/quote PASS pw", 1 }, { "/raw authenticate abc", 1 },
		{ "/quote REGISTER * * pw", 1 },
		{ "/msg NickServ IDENTIFY pw", 1 },
		{ "/msg nickserv identify alice pw", 1 },
		{ "/query NickServ register pw a@b", 1 },
		{ "/msg NickServ DROP pw", 1 },
		{ "/msg NickServ INFO alice", 0 },
		{ "/msg alice identify pw", 0 },
		{ "/quote PRIVMSG #a :PASS", 0 },
		{ "/join #a", 0 }, { "hello", 0 }, { "//register x", 0 },
		{ "", 0 }, { "/", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cmd_is_secret(cases[i].line) != cases[i].secret)
			fail_msg("cmd_is_secret(\"%s\") != %d", cases[i].line,
			    cases[i].secret);
}

static void
type(struct edit *e, const char *s)
{
	for (; *s != '\0'; s++)
		assert_int_equal(edit_insert(e, (wchar_t)*s), 0);
}

static void
test_edit_keeps_no_password(void **state)
{
	struct edit e;
	char buf[64];
	size_t i;

	(void)state;
	edit_init(&e);
	type(&e, "/join #a");
	edit_commit(&e);
	type(&e, "/identify sesame");
	edit_commit(&e);
	type(&e, "/msg NickServ IDENTIFY sesame");
	edit_commit(&e);
	assert_int_equal(e.nhist, 1);
	assert_string_equal(e.hist[0], "/join #a");
	/* The prompt: no history, no draft, kill buffer wiped. */
	e.secret = 1;
	type(&e, "sesame");
	edit_do(&e, EDIT_HIST_PREV);
	edit_get(&e, buf, sizeof(buf));
	assert_string_equal(buf, "sesame");
	assert_null(e.draft);
	edit_do(&e, EDIT_KILL_START);
	edit_do(&e, EDIT_YANK);
	edit_commit(&e);
	assert_int_equal(e.nhist, 1);
	assert_int_equal(e.killlen, 0);
	for (i = 0; i < EDIT_MAX; i++)
		assert_true(e.buf[i] == 0 && e.kill[i] == 0);
	edit_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_plain_lines),
		cmocka_unit_test(test_register_identify),
		cmocka_unit_test(test_is_secret),
		cmocka_unit_test(test_edit_keeps_no_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
