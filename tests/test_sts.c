/*
 * test_sts.c: IRCv3 sts (tui/sts.c): where sts_policies lives, the
 * capability value (port, duration, unknown keys, bad values), lookups
 * (hit, miss, expiry, case, malformed lines skipped), storing (one line
 * a host, directories 0700, file 0600, other lines kept) and removing;
 * and that handle_line keeps the value CAP LS carries for net.c.
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

static void
test_path(void **state)
{
	char p[64];

	(void)state;
	assert_int_equal(sts_path("/x/conf", "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/x/conf/natter/sts_policies");
	assert_int_equal(sts_path(NULL, "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/a/.config/natter/sts_policies");
	/* A relative XDG_CONFIG_HOME is ignored. */
	assert_int_equal(sts_path("conf", "/home/a", p, sizeof(p)), 0);
	assert_string_equal(p, "/home/a/.config/natter/sts_policies");
	assert_int_equal(sts_path(NULL, NULL, p, sizeof(p)), -1);
	assert_int_equal(sts_path(NULL, "", p, sizeof(p)), -1);
	assert_int_equal(sts_path("/a/very/long/config/folder/name", NULL, p,
	    20), -1);
}

static void
test_parse(void **state)
{
	static const struct {
		const char	*value;
		int		 port;
		long		 duration;
	} t[] = {
		{ "port=6697", 6697, -1 },
		{ "duration=300", 0, 300 },
		{ "duration=0", 0, 0 },
		{ "port=6697,duration=300", 6697, 300 },
		{ "duration=86400,port=7000", 7000, 86400 },
		/* Unknown keys are ignored, with or without values. */
		{ "preload,port=6697", 6697, -1 },
		{ "foo=bar,duration=60,baz", 0, 60 },
		/* Values that do not parse are ignored. */
		{ "port=0", 0, -1 },
		{ "port=65536", 0, -1 },
		{ "port=66x", 0, -1 },
		{ "port=", 0, -1 },
		{ "duration=-1", 0, -1 },
		{ "duration=1e3", 0, -1 },
		{ "duration=99999999999999", 0, -1 },
		{ "", 0, -1 },
		{ "port", 0, -1 },
		{ "Port=6697", 0, -1 },
		{ "ports=6697,xduration=5", 0, -1 },
	};
	struct sts_value v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sts_parse(t[i].value, &v);
		if (v.port != t[i].port || v.duration != t[i].duration)
			fail_msg("\"%s\": port %d duration %ld, want %d %ld",
			    t[i].value, v.port, v.duration, t[i].port,
			    t[i].duration);
	}
}

static void
test_lookup(void **state)
{
	char path[PATH_MAX], why[512];
	time_t expiry;
	int port;

	(void)state;
	snprintf(path, sizeof(path), "%s/sts_policies", tmpdir);
	/* No file: no policy, not an error. */
	assert_int_equal(sts_lookup(path, "irc.example", 1000, &port,
	    &expiry, why, sizeof(why)), 0);
	write_file(path,
	    "# comment\n"
	    "\n"
	    "irc.example 6697 2000\n"
	    "old.example 6697 500\n"
	    "127.0.0.1 7000 3000\n"
	    "::1 7001 3000\n"
	    "broken.example 6697\n"
	    "broken.example 6697 2000 extra\n"
	    "broken.example x 2000\n"
	    "broken.example 70000 2000\n"
	    "broken.example 6697 -5\n"
	    "broken.example 6697 20x0\n"
	    "  tabbed.example\t6698\t2500  \n"
	    "nonl.example 6699 2600");
	port = 0;
	expiry = 0;
	assert_int_equal(sts_lookup(path, "irc.example", 1000, &port,
	    &expiry, why, sizeof(why)), 1);
	assert_int_equal(port, 6697);
	assert_int_equal((long)expiry, 2000);
	/* Host names compare without regard to case. */
	assert_int_equal(sts_lookup(path, "IRC.Example", 1000, &port,
	    &expiry, why, sizeof(why)), 1);
	/* Expired: at or after the expiry there is no policy. */
	assert_int_equal(sts_lookup(path, "irc.example", 2000, &port,
	    &expiry, why, sizeof(why)), 0);
	assert_int_equal(sts_lookup(path, "old.example", 1000, &port,
	    &expiry, why, sizeof(why)), 0);
	/* A policy is per host, not per port. */
	assert_int_equal(sts_lookup(path, "127.0.0.1", 1000, &port, &expiry,
	    why, sizeof(why)), 1);
	assert_int_equal(port, 7000);
	assert_int_equal(sts_lookup(path, "::1", 1000, &port, &expiry, why,
	    sizeof(why)), 1);
	assert_int_equal(port, 7001);
	/* Malformed lines are skipped, never matched. */
	assert_int_equal(sts_lookup(path, "broken.example", 1000, &port,
	    &expiry, why, sizeof(why)), 0);
	assert_int_equal(sts_lookup(path, "tabbed.example", 1000, &port,
	    &expiry, why, sizeof(why)), 1);
	assert_int_equal(port, 6698);
	assert_int_equal(sts_lookup(path, "nonl.example", 1000, &port,
	    &expiry, why, sizeof(why)), 1);
	assert_int_equal(port, 6699);
	assert_int_equal((long)expiry, 2600);
	assert_int_equal(sts_lookup(path, "missing.example", 1000, &port,
	    &expiry, why, sizeof(why)), 0);
	/* A folder is not a policy file. */
	assert_int_equal(sts_lookup(tmpdir, "irc.example", 1000, &port,
	    &expiry, why, sizeof(why)), -1);
	assert_non_null(strstr(why, tmpdir));
}

static void
test_store(void **state)
{
	char path[PATH_MAX], dir[512], text[1024], why[512];
	struct stat st;
	time_t expiry;
	int port;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/conf/natter", tmpdir);
	snprintf(path, sizeof(path), "%s/sts_policies", dir);
	assert_int_equal(sts_store(path, "IRC.Example", 6697, 5000, why,
	    sizeof(why)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "irc.example 6697 5000\n");

	/* Upsert: one line a host, the new one last. */
	assert_int_equal(sts_store(path, "other.example", 7000, 6000, why,
	    sizeof(why)), 0);
	assert_int_equal(sts_store(path, "irc.example", 6698, 9000, why,
	    sizeof(why)), 0);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "other.example 7000 6000\n"
	    "irc.example 6698 9000\n");
	assert_int_equal(sts_lookup(path, "irc.example", 8999, &port,
	    &expiry, why, sizeof(why)), 1);
	assert_int_equal(port, 6698);
	assert_int_equal((long)expiry, 9000);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Comments, malformed lines and a missing newline are kept. */
	write_file(path, "# mine\nirc.example 1 2 3\nirc.example 6697 10\n"
	    "a.example 6697 20");
	assert_int_equal(sts_store(path, "irc.example", 6697, 30, why,
	    sizeof(why)), 0);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "# mine\nirc.example 1 2 3\n"
	    "a.example 6697 20\nirc.example 6697 30\n");

	/* Not a policy. */
	assert_int_equal(sts_store(path, "a b", 6697, 30, why, sizeof(why)),
	    -1);
	assert_int_equal(sts_store(path, "", 6697, 30, why, sizeof(why)), -1);
	assert_int_equal(sts_store(path, "c.example", 0, 30, why,
	    sizeof(why)), -1);
	/* A folder that cannot be made: a file is in the way. */
	snprintf(path, sizeof(path), "%s/x/natter/sts_policies", tmpdir);
	snprintf(dir, sizeof(dir), "%s/x", tmpdir);
	write_file(dir, "");
	assert_int_equal(sts_store(path, "irc.example", 6697, 30, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, dir));
}

static void
test_remove(void **state)
{
	char path[PATH_MAX], text[1024], why[512];
	time_t expiry;
	int port;

	(void)state;
	snprintf(path, sizeof(path), "%s/sts_policies", tmpdir);
	/* No file: nothing to remove, and no file made. */
	assert_int_equal(sts_remove(path, "irc.example", why, sizeof(why)),
	    0);
	assert_int_equal(access(path, F_OK), -1);
	write_file(path, "irc.example 6697 5000\n# keep\n"
	    "b.example 6697 5000\nIRC.EXAMPLE 6698 6000\n");
	assert_int_equal(sts_remove(path, "Irc.Example", why, sizeof(why)),
	    0);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "# keep\nb.example 6697 5000\n");
	assert_int_equal(sts_lookup(path, "irc.example", 0, &port, &expiry,
	    why, sizeof(why)), 0);
	/* Removing what is not there leaves the file alone. */
	assert_int_equal(sts_remove(path, "irc.example", why, sizeof(why)),
	    0);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "# keep\nb.example 6697 5000\n");
}

static void
feed(struct session *s, const char *text, char out[][512], int *nout)
{
	char line[512];
	struct irc_msg m;

	snprintf(line, sizeof(line), "%s", text);
	assert_int_equal(irc_parse(line, &m), 0);
	*nout = 0;
	handle_line(s, &m, 1000, out, nout, 8);
}

static void
test_cap_ls(void **state)
{
	struct session s;
	char out[8][512];
	int nout;

	(void)state;
	session_init(&s);
	session_hello(&s, out, &nout, 8);
	assert_int_equal(s.sts_seen, 0);
	/* A first LS line without sts, then one with it. */
	feed(&s, ":irc.test CAP * LS * :server-time batch", out, &nout);
	assert_int_equal(s.sts_seen, 0);
	feed(&s, ":irc.test CAP * LS :echo-message sts=port=6697,x=y", out,
	    &nout);
	assert_int_equal(s.sts_seen, 1);
	assert_string_equal(s.sts, "port=6697,x=y");
	/* sts is never requested. */
	assert_int_equal(nout, 1);
	assert_string_equal(out[0], "CAP REQ :server-time batch "
	    "echo-message");
	/* ACK does not set it; a new connection forgets it. */
	s.sts_seen = 0;
	feed(&s, ":irc.test CAP * ACK :sts=duration=5", out, &nout);
	assert_int_equal(s.sts_seen, 0);
	session_hello(&s, out, &nout, 8);
	assert_string_equal(s.sts, "");
	feed(&s, ":irc.test CAP * LS :sts=duration=300", out, &nout);
	assert_int_equal(s.sts_seen, 1);
	assert_string_equal(s.sts, "duration=300");
	assert_string_equal(out[0], "CAP END");
	session_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cap_ls),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
