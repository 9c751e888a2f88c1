/*
 * test_pin.c: known_servers (tui/pin.c): where the file lives, server
 * keys, lookups (hit, miss, port, IPv6, comments, malformed lines,
 * case), the line reported for a changed certificate, and appending
 * (directories 0700, file 0600, line numbers, a missing newline).
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../tui/natter.h"
#include "tmpdir.h"

#define FP_A	"AA:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:" \
		"10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F"
#define FP_B	"BB:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:" \
		"10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F"
#define FP_C	"CC:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:" \
		"10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F"

static void
test_path(void **state)
{
	char p[64];

	(void)state;
	assert_int_equal(pin_path("/x/conf", "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/x/conf/natter/known_servers");
	assert_int_equal(pin_path(NULL, "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/a/.config/natter/known_servers");
	/* Relative and empty XDG_CONFIG_HOME are ignored (XDG spec). */
	assert_int_equal(pin_path("conf", "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/a/.config/natter/known_servers");
	assert_int_equal(pin_path("", "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/a/.config/natter/known_servers");
	assert_int_equal(pin_path(NULL, NULL, p, sizeof(p)), -1);
	assert_int_equal(pin_path(NULL, "", p, sizeof(p)), -1);
	assert_int_equal(pin_path("/a/very/long/config/directory/name/that/"
	    "does/not/fit", NULL, p, sizeof(p)), -1);
}

static void
test_key(void **state)
{
	char k[PIN_KEY_MAX];

	(void)state;
	assert_int_equal(pin_key("Chat.LAN", "6697", k, sizeof(k)), 0);
	assert_string_equal(k, "chat.lan:6697");
	assert_int_equal(pin_key("127.0.0.1", "7000", k, sizeof(k)), 0);
	assert_string_equal(k, "127.0.0.1:7000");
	assert_int_equal(pin_key("::1", "6697", k, sizeof(k)), 0);
	assert_string_equal(k, "[::1]:6697");
	assert_int_equal(pin_key("FE80::1", "6697", k, sizeof(k)), 0);
	assert_string_equal(k, "[fe80::1]:6697");
	assert_int_equal(pin_key("host", "6697", k, 8), -1);
}

/* Lookups in one file: {key, fingerprint, status, line}. */
static void
test_check(void **state)
{
	static const char text[] =
	    "# natter known_servers\n"				/* 1 */
	    "\n"						/* 2 */
	    "chat.lan:6697 SHA256:" FP_A "\n"			/* 3 */
	    "chat.lan:7000 SHA256:" FP_B "\n"			/* 4 */
	    "   # an indented comment\n"			/* 5 */
	    "[::1]:6697 SHA256:" FP_C "\n"			/* 6 */
	    "broken line without a fingerprint\n"		/* 7 */
	    "bad.example:6697 SHA256:12:34\n"			/* 8 */
	    "nofp.example:6697 " FP_A "\n"			/* 9 */
	    "noport.example SHA256:" FP_A "\n"			/* 10 */
	    "::1:6697 SHA256:" FP_A "\n"			/* 11 */
	    "extra.example:6697 SHA256:" FP_A " junk\n"	/* 12 */
	    "Mixed.Case.LAN:6697 sha256:" FP_B "\n"		/* 13 */
	    "\tspaced.lan:6697 \t SHA256:aa0102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f  \r\n"		/* 14 */
	    "rotated.lan:6697 SHA256:" FP_A "\n"		/* 15 */
	    "rotated.lan:6697 SHA256:" FP_B "\n"		/* 16 */
	    "last.lan:6697 SHA256:" FP_C;			/* 17 */
	static const struct {
		const char	*key;
		const char	*fp;
		enum pin_status	 want;
		int		 line;
		const char	*pinned;
	} t[] = {
		{ "chat.lan:6697", FP_A, PIN_MATCH, 3, NULL },
		{ "chat.lan:6697", FP_B, PIN_CHANGED, 3, FP_A },
		/* The port is part of the key. */
		{ "chat.lan:7000", FP_B, PIN_MATCH, 4, NULL },
		{ "chat.lan:7000", FP_A, PIN_CHANGED, 4, FP_B },
		{ "chat.lan:6667", FP_A, PIN_NONE, 0, NULL },
		{ "other.lan:6697", FP_A, PIN_NONE, 0, NULL },
		/* IPv6 in brackets; the unbracketed line 11 is malformed. */
		{ "[::1]:6697", FP_C, PIN_MATCH, 6, NULL },
		{ "[::1]:6697", FP_A, PIN_CHANGED, 6, FP_C },
		/* Comments and malformed lines are skipped. */
		{ "#", FP_A, PIN_NONE, 0, NULL },
		{ "broken", FP_A, PIN_NONE, 0, NULL },
		{ "bad.example:6697", FP_A, PIN_NONE, 0, NULL },
		{ "nofp.example:6697", FP_A, PIN_NONE, 0, NULL },
		{ "noport.example", FP_A, PIN_NONE, 0, NULL },
		{ "extra.example:6697", FP_A, PIN_NONE, 0, NULL },
		/* Host names compare without case, either way round. */
		{ "mixed.case.lan:6697", FP_B, PIN_MATCH, 13, NULL },
		{ "CHAT.LAN:6697", FP_A, PIN_MATCH, 3, NULL },
		/* Tabs, lower-case hex without colons, CRLF. */
		{ "spaced.lan:6697", FP_A, PIN_MATCH, 14, NULL },
		/* Any line that matches will do; else the first is named. */
		{ "rotated.lan:6697", FP_B, PIN_MATCH, 16, NULL },
		{ "rotated.lan:6697", FP_C, PIN_CHANGED, 15, FP_A },
		/* The last line needs no newline. */
		{ "last.lan:6697", FP_C, PIN_MATCH, 17, NULL },
	};
	char path[PATH_MAX], pinned[PIN_FP_LEN + 1], why[256];
	enum pin_status st;
	size_t i;
	int line;

	(void)state;
	snprintf(path, sizeof(path), "%s/known_servers", tmpdir);
	write_file(path, text);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pinned[0] = '\0';
		line = -1;
		st = pin_check(path, t[i].key, t[i].fp, &line, pinned,
		    sizeof(pinned), why, sizeof(why));
		if (st != t[i].want || line != t[i].line)
			fail_msg("%s %.2s: status %d line %d, want %d line %d",
			    t[i].key, t[i].fp, st, line, t[i].want,
			    t[i].line);
		if (t[i].pinned != NULL)
			assert_string_equal(pinned, t[i].pinned);
	}
}

static void
test_check_missing_and_unreadable(void **state)
{
	char path[PATH_MAX], pinned[PIN_FP_LEN + 1], why[256];
	int line = -1;

	(void)state;
	snprintf(path, sizeof(path), "%s/none/known_servers", tmpdir);
	assert_int_equal(pin_check(path, "a:1", FP_A, &line, pinned,
	    sizeof(pinned), why, sizeof(why)), PIN_NONE);
	assert_int_equal(line, 0);
	/* A directory where the file should be: an error, with a reason
	 * (as root, permissions would not stop the read). */
	snprintf(path, sizeof(path), "%s", tmpdir);
	why[0] = '\0';
	assert_int_equal(pin_check(path, "a:1", FP_A, &line, pinned,
	    sizeof(pinned), why, sizeof(why)), PIN_ERROR);
	assert_non_null(strstr(why, tmpdir));
	assert_non_null(strstr(why, "directory"));
}

static void
test_add(void **state)
{
	char path[PATH_MAX], dir[512], text[1024], why[256];
	char pinned[PIN_FP_LEN + 1];
	struct stat st;
	int line;

	(void)state;
	/* Two directory levels to make, as for ~/.config/natter. */
	snprintf(dir, sizeof(dir), "%s/config/natter", tmpdir);
	snprintf(path, sizeof(path), "%s/known_servers", dir);
	assert_int_equal(pin_add(path, "chat.lan:6697", FP_A, why,
	    sizeof(why)), 1);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(text, sizeof(text), "%s/config", tmpdir);
	assert_int_equal(stat(text, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "chat.lan:6697 SHA256:" FP_A "\n");

	assert_int_equal(pin_add(path, "[::1]:6697", FP_B, why, sizeof(why)),
	    2);
	assert_int_equal(pin_check(path, "[::1]:6697", FP_B, &line, pinned,
	    sizeof(pinned), why, sizeof(why)), PIN_MATCH);
	assert_int_equal(line, 2);
	assert_int_equal(pin_check(path, "chat.lan:6697", FP_C, &line, pinned,
	    sizeof(pinned), why, sizeof(why)), PIN_CHANGED);
	assert_int_equal(line, 1);
	assert_string_equal(pinned, FP_A);

	/* A file someone edited, without a final newline: the new pin
	 * goes on a line of its own. */
	write_file(path, "# mine\nold.lan:6697 SHA256:" FP_C);
	assert_int_equal(pin_add(path, "new.lan:6697", FP_A, why,
	    sizeof(why)), 3);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "# mine\nold.lan:6697 SHA256:" FP_C "\n"
	    "new.lan:6697 SHA256:" FP_A "\n");
	assert_int_equal(pin_check(path, "new.lan:6697", FP_A, &line, pinned,
	    sizeof(pinned), why, sizeof(why)), PIN_MATCH);
	assert_int_equal(line, 3);
	assert_int_equal(pin_check(path, "old.lan:6697", FP_C, &line, pinned,
	    sizeof(pinned), why, sizeof(why)), PIN_MATCH);
	assert_int_equal(line, 2);
}

static void
test_add_fails(void **state)
{
	char path[PATH_MAX], why[256];

	(void)state;
	/* A file where a directory should be. */
	snprintf(path, sizeof(path), "%s/plain", tmpdir);
	write_file(path, "x\n");
	snprintf(path, sizeof(path), "%s/plain/natter/known_servers", tmpdir);
	why[0] = '\0';
	assert_int_equal(pin_add(path, "a.lan:1", FP_A, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "plain"));
	assert_non_null(strstr(why, "Not a directory"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_key),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_check_missing_and_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_fails, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
