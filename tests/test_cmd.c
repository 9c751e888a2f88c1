/*
 * test_cmd.c: input parsing (tui/cmd.c): every command and alias, their
 * usage errors, bare room numbers, plain text, splitting long text at
 * word boundaries, and keeping CR/LF out of what is sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../tui/natter.h"
#include "utf8.h"

#define WANT_LINES	3

static void
test_parse(void **state)
{
	static const struct {
		const char	*input;
		const char	*target;	/* current window */
		enum cmd_action	 action;
		int		 nlines;
		const char	*lines[WANT_LINES];
		const char	*msg;		/* NULL: not checked */
		const char	*wtarget;	/* NULL: not checked */
		int		 arg;
	} t[] = {
		{ "", "#a", CMD_NONE, 0, { NULL }, NULL, NULL, 0 },
		/* Plain text. */
		{ "hello there", "#a", CMD_SEND, 1,
		    { "PRIVMSG #a :hello there" }, NULL, "#a", 0 },
		{ "hi", "bob", CMD_SEND, 1, { "PRIVMSG bob :hi" }, NULL,
		    "bob", 0 },
		{ "//join is a command", "#a", CMD_SEND, 1,
		    { "PRIVMSG #a :/join is a command" }, NULL, NULL, 0 },
		{ "hello", NULL, CMD_ERROR, 0, { NULL },
		    "You are not in a room: use /join #room", NULL, 0 },
		{ "a\r\nQUIT", "#a", CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		/* Unknown. */
		{ "/foo bar", "#a", CMD_ERROR, 0, { NULL },
		    "Unknown command: /foo (try /help)", NULL, 0 },
		{ "/", "#a", CMD_ERROR, 0, { NULL },
		    "Unknown command: / (try /help)", NULL, 0 },
		/* /join */
		{ "/join #a", NULL, CMD_SEND, 1, { "JOIN #a" }, NULL, "#a",
		    0 },
		{ "/JOIN #a", NULL, CMD_SEND, 1, { "JOIN #a" }, NULL, NULL,
		    0 },
		{ "/join 7", NULL, CMD_SEND, 1, { "JOIN #7" }, NULL, "#7", 0 },
		{ "/j room", NULL, CMD_SEND, 1, { "JOIN #room" }, NULL, NULL,
		    0 },
		{ "/join #a,7,b key1,key2", NULL, CMD_SEND, 1,
		    { "JOIN #a,#7,#b key1,key2" }, NULL, "#a", 0 },
		{ "/join   #a  ", NULL, CMD_SEND, 1, { "JOIN #a" }, NULL,
		    NULL, 0 },
		{ "/join", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /join <#room[,#room...]> [keys]", NULL, 0 },
		{ "/join #a,,#b", NULL, CMD_ERROR, 0, { NULL }, NULL, NULL,
		    0 },
		{ "/join #a\x07", NULL, CMD_ERROR, 0, { NULL },
		    "Not a valid room name: #a\x07", NULL, 0 },
		{ "/join #a key extra", NULL, CMD_ERROR, 0, { NULL }, NULL,
		    NULL, 0 },
		{ "/join #aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    NULL, CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		/* /part */
		{ "/part", "#a", CMD_SEND, 1, { "PART #a" }, NULL, "#a", 0 },
		{ "/part bye now", "#a", CMD_SEND, 1, { "PART #a :bye now" },
		    NULL, NULL, 0 },
		{ "/part #b", "#a", CMD_SEND, 1, { "PART #b" }, NULL, "#b",
		    0 },
		{ "/part 7 gone", "#a", CMD_SEND, 1, { "PART #7 :gone" },
		    NULL, NULL, 0 },
		{ "/part", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /part [#room] [reason]", NULL, 0 },
		{ "/part", "bob", CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		/* /msg */
		{ "/msg bob hi there", NULL, CMD_SEND, 1,
		    { "PRIVMSG bob :hi there" }, NULL, "bob", 0 },
		{ "/msg #a  two  spaces", NULL, CMD_SEND, 1,
		    { "PRIVMSG #a :two  spaces" }, NULL, NULL, 0 },
		{ "/msg 7 hi", NULL, CMD_SEND, 1, { "PRIVMSG #7 :hi" }, NULL,
		    "#7", 0 },
		{ "/msg bob", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /msg <nick|#room> <text>", NULL, 0 },
		{ "/msg", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /msg <nick|#room> <text>", NULL, 0 },
		{ "/msg b@d hi", NULL, CMD_ERROR, 0, { NULL },
		    "Not a valid nick: b@d", NULL, 0 },
		{ "/msg #a\rPRIVMSG hi", NULL, CMD_ERROR, 0, { NULL }, NULL,
		    NULL, 0 },
		/* /query */
		{ "/query bob", NULL, CMD_QUERY, 0, { NULL }, NULL, "bob",
		    0 },
		{ "/q bob hello", NULL, CMD_QUERY, 1,
		    { "PRIVMSG bob :hello" }, NULL, "bob", 0 },
		{ "/query", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /query <nick> [text]", NULL, 0 },
		{ "/query #a", NULL, CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		/* /me */
		{ "/me waves", "#a", CMD_SEND, 1,
		    { "PRIVMSG #a :\001ACTION waves\001" }, NULL, "#a", 0 },
		{ "/me waves", NULL, CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		{ "/me", "#a", CMD_ERROR, 0, { NULL }, "Usage: /me <text>",
		    NULL, 0 },
		/* /nick */
		{ "/nick alice2", NULL, CMD_SEND, 1, { "NICK alice2" }, NULL,
		    NULL, 0 },
		{ "/nick", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /nick <nick>", NULL, 0 },
		{ "/nick 9lives", NULL, CMD_ERROR, 0, { NULL },
		    "Not a valid nick: 9lives", NULL, 0 },
		{ "/nick a b", NULL, CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		/* /topic */
		{ "/topic", "#a", CMD_SEND, 1, { "TOPIC #a" }, NULL, NULL, 0 },
		{ "/topic new topic", "#a", CMD_SEND, 1,
		    { "TOPIC #a :new topic" }, NULL, NULL, 0 },
		{ "/topic x", "bob", CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		{ "/topic", NULL, CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		/* /names, /who, /whois */
		{ "/names", "#a", CMD_SEND, 1, { "NAMES #a" }, NULL, NULL, 0 },
		{ "/names 7", NULL, CMD_SEND, 1, { "NAMES #7" }, NULL, NULL,
		    0 },
		{ "/names", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /names [#room]", NULL, 0 },
		{ "/who", "#a", CMD_SEND, 1, { "WHO #a" }, NULL, NULL, 0 },
		{ "/who", NULL, CMD_SEND, 1, { "WHO" }, NULL, NULL, 0 },
		{ "/who a*", "#a", CMD_SEND, 1, { "WHO a*" }, NULL, NULL, 0 },
		{ "/whois bob", NULL, CMD_SEND, 1, { "WHOIS bob" }, NULL,
		    NULL, 0 },
		{ "/whois", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /whois <nick>", NULL, 0 },
		/* /away, /back */
		{ "/away", NULL, CMD_SEND, 1, { "AWAY :away" }, NULL, NULL,
		    0 },
		{ "/away at lunch", NULL, CMD_SEND, 1, { "AWAY :at lunch" },
		    NULL, NULL, 0 },
		{ "/back", NULL, CMD_SEND, 1, { "AWAY" }, NULL, NULL, 0 },
		/* /quote, /raw */
		{ "/quote MODE #a +o bob", NULL, CMD_SEND, 1,
		    { "MODE #a +o bob" }, NULL, NULL, 0 },
		{ "/raw PRIVMSG bob :x", NULL, CMD_SEND, 1,
		    { "PRIVMSG bob :x" }, NULL, NULL, 0 },
		{ "/quote PING\r\nQUIT", NULL, CMD_ERROR, 0, { NULL }, NULL,
		    NULL, 0 },
		{ "/quote PING\n", NULL, CMD_ERROR, 0, { NULL }, NULL, NULL,
		    0 },
		{ "/quote", NULL, CMD_ERROR, 0, { NULL },
		    "Usage: /quote <raw line>", NULL, 0 },
		/* /win, /close, /clear */
		{ "/win 3", NULL, CMD_WIN, 0, { NULL }, NULL, NULL, 3 },
		{ "/win 0", NULL, CMD_ERROR, 0, { NULL }, "Usage: /win <number>",
		    NULL, 0 },
		{ "/win x", NULL, CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		{ "/win", NULL, CMD_ERROR, 0, { NULL }, NULL, NULL, 0 },
		{ "/close", "#a", CMD_CLOSE, 1, { "PART #a" }, NULL, "#a", 0 },
		{ "/close", "bob", CMD_CLOSE, 0, { NULL }, NULL, "bob", 0 },
		{ "/close", NULL, CMD_CLOSE, 0, { NULL }, NULL, "", 0 },
		{ "/clear", NULL, CMD_CLEAR, 0, { NULL }, NULL, NULL, 0 },
		/* /quit */
		{ "/quit", NULL, CMD_QUIT, 1, { "QUIT" }, NULL, NULL, 0 },
		{ "/quit see you", "#a", CMD_QUIT, 1, { "QUIT :see you" },
		    NULL, NULL, 0 },
		/* /help */
		{ "/help join", NULL, CMD_INFO, 0, { NULL },
		    "/join <#room[,#room...]> [keys]: join rooms; 7 means #7 "
		    "(/j)", NULL, 0 },
		{ "/help /J", NULL, CMD_INFO, 0, { NULL }, NULL, NULL, 0 },
		{ "/help keys", NULL, CMD_INFO, 0, { NULL }, NULL, NULL, 0 },
		{ "/help nope", NULL, CMD_ERROR, 0, { NULL },
		    "No such command: /nope", NULL, 0 },
	};
	struct cmd_result	r;
	size_t			i;
	int			k;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cmd_parse(t[i].input, t[i].target, &r);
		if (r.action != t[i].action)
			fail_msg("case %zu (%s): action %d, want %d (%s)", i,
			    t[i].input, r.action, t[i].action, r.msg);
		if (r.nlines != t[i].nlines)
			fail_msg("case %zu (%s): %d lines, want %d", i,
			    t[i].input, r.nlines, t[i].nlines);
		for (k = 0; k < r.nlines && k < WANT_LINES; k++)
			if (strcmp(r.lines[k], t[i].lines[k]) != 0)
				fail_msg("case %zu: line %d \"%s\", want "
				    "\"%s\"", i, k, r.lines[k], t[i].lines[k]);
		if (t[i].msg != NULL && strcmp(r.msg, t[i].msg) != 0)
			fail_msg("case %zu: msg \"%s\", want \"%s\"", i, r.msg,
			    t[i].msg);
		if (t[i].action == CMD_ERROR && r.msg[0] == '\0')
			fail_msg("case %zu: an error without a message", i);
		if (t[i].wtarget != NULL &&
		    strcmp(r.target, t[i].wtarget) != 0)
			fail_msg("case %zu: target \"%s\", want \"%s\"", i,
			    r.target, t[i].wtarget);
		if (r.arg != t[i].arg)
			fail_msg("case %zu: arg %d, want %d", i, r.arg,
			    t[i].arg);
	}
}

/* Nothing sent ever holds CR, LF or NUL, or passes 510 bytes. */
static void
check_lines(const struct cmd_result *r)
{
	int	k;

	for (k = 0; k < r->nlines; k++) {
		assert_null(strpbrk(r->lines[k], "\r\n"));
		assert_true(strlen(r->lines[k]) <= 510);
	}
}

static void
test_split(void **state)
{
	struct cmd_result	 r;
	char			 in[4096], want[TEXT_CHUNK + 1];
	char			 big[TEXT_CHUNK * (CMD_LINES_MAX + 1) + 1];
	const char		*text;
	size_t			 i, n, total;
	int			 k;

	(void)state;
	/* 100 words of 9 bytes + space: chunks break after a word. */
	in[0] = '\0';
	for (i = 0; i < 100; i++)
		snprintf(in + i * 10, sizeof(in) - i * 10, "word%05zu ", i);
	in[999] = '\0';			/* no trailing space */
	cmd_parse(in, "#a", &r);
	assert_int_equal(r.action, CMD_SEND);
	assert_int_equal(r.nlines, 3);
	check_lines(&r);
	total = 0;
	for (k = 0; k < r.nlines; k++) {
		text = strstr(r.lines[k], " :") + 2;
		n = strlen(text);
		assert_true(n <= TEXT_CHUNK);
		assert_true(n > 0);
		assert_true(text[0] != ' ' && text[n - 1] != ' ');
		assert_int_equal(strncmp(r.lines[k], "PRIVMSG #a :word", 16),
		    0);
		total += n + 1;
	}
	assert_int_equal(total, 1000);	/* every byte but the breaks */
	assert_string_equal(strstr(r.lines[0], " :") + 2 + 390,
	    "word00039");

	/* No spaces, multibyte: cut between characters. */
	in[0] = '\0';
	for (i = 0; i < 300; i++)
		memcpy(in + i * 3, "\xe6\x97\xa5", 3);
	in[900] = '\0';
	cmd_parse(in, "#a", &r);
	assert_int_equal(r.nlines, 3);
	check_lines(&r);
	for (k = 0; k < r.nlines; k++) {
		text = strstr(r.lines[k], " :") + 2;
		assert_true(utf8_valid(text, strlen(text)));
		assert_true(strlen(text) <= TEXT_CHUNK);
	}
	assert_int_equal(strlen(strstr(r.lines[0], " :") + 2), 399);

	/* /me chunks each carry the ACTION wrapper. */
	memset(in, 'x', 500);
	in[500] = '\0';
	cmd_parse(in, "#a", &r);
	assert_int_equal(r.nlines, 2);
	memset(want, 'x', TEXT_CHUNK);
	want[TEXT_CHUNK] = '\0';
	assert_string_equal(strstr(r.lines[0], " :") + 2, want);
	snprintf(in, sizeof(in), "/me ");
	memset(in + 4, 'y', 500);
	in[504] = '\0';
	cmd_parse(in, "#a", &r);
	assert_int_equal(r.nlines, 2);
	check_lines(&r);
	for (k = 0; k < r.nlines; k++) {
		text = strstr(r.lines[k], " :") + 2;
		assert_int_equal(strncmp(text, "\001ACTION y", 9), 0);
		assert_int_equal(text[strlen(text) - 1], '\001');
		assert_true(strlen(text) <= TEXT_CHUNK);
	}

	/* Up to CMD_LINES_MAX lines is fine; more is refused, not cut. */
	memset(big, 'z', TEXT_CHUNK * CMD_LINES_MAX);
	big[TEXT_CHUNK * CMD_LINES_MAX] = '\0';
	cmd_parse(big, "#a", &r);
	assert_int_equal(r.action, CMD_SEND);
	assert_int_equal(r.nlines, CMD_LINES_MAX);
	check_lines(&r);
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cmd_parse(big, "#a", &r);
	assert_int_equal(r.action, CMD_ERROR);
	assert_int_equal(r.nlines, 0);

	/* A line that cannot fit 510 bytes is refused whole. */
	snprintf(big, sizeof(big), "/topic ");
	memset(big + 7, 't', 600);
	big[607] = '\0';
	cmd_parse(big, "#a", &r);
	assert_int_equal(r.action, CMD_ERROR);
	assert_int_equal(r.nlines, 0);
	big[7 + 400] = '\0';
	cmd_parse(big, "#a", &r);
	assert_int_equal(r.action, CMD_SEND);
	check_lines(&r);
}

static void
test_help(void **state)
{
	struct cmd_result	 r;
	const char		*p;
	char			 buf[32];
	int			 i, nl;

	(void)state;
	cmd_parse("/help", NULL, &r);
	assert_int_equal(r.action, CMD_INFO);
	/* One line per command, each naming it. */
	for (i = 0, nl = 0, p = r.msg; *p != '\0'; p++)
		nl += *p == '\n';
	for (i = 0; cmd_names[i] != NULL; i++) {
		snprintf(buf, sizeof(buf), "/%s", cmd_names[i]);
		assert_non_null(strstr(r.msg, buf));
	}
	assert_int_equal(nl + 1, i);
	assert_true(i >= 18);
	/* /help keys: the keys, the nick list's among them. */
	cmd_parse("/help keys", NULL, &r);
	assert_int_equal(r.action, CMD_INFO);
	assert_non_null(strstr(r.msg, "F7, M-n: show or hide the nick list"));
	/* Every name parses as a command. */
	for (i = 0; cmd_names[i] != NULL; i++) {
		snprintf(buf, sizeof(buf), "/%s", cmd_names[i]);
		cmd_parse(buf, "#a", &r);
		assert_true(r.action != CMD_ERROR ||
		    strncmp(r.msg, "Unknown", 7) != 0);
	}
}

/* A hostile window name is not trusted as a target. */
static void
test_bad_target(void **state)
{
	struct cmd_result	r;

	(void)state;
	cmd_parse("hi", "#a\r\nQUIT", &r);
	assert_int_equal(r.action, CMD_ERROR);
	cmd_parse("hi", "", &r);
	assert_int_equal(r.action, CMD_ERROR);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_bad_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
