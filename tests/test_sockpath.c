/*
 * test_sockpath.c: where natterd's Unix socket is by default
 * (shared/sockpath.c), for the server and for natter, which tries the
 * user's own server, then the system service.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "sockpath.h"

static void
test_default_root(void **state)
{
	char out[SOCKPATH_MAX];

	(void)state;
	/* Root is the system service, whatever XDG_RUNTIME_DIR says. */
	assert_int_equal(sockpath_default(0, "/run/user/0", out, sizeof(out)),
	    0);
	assert_string_equal(out, "/run/natterd/natterd.sock");
	assert_int_equal(sockpath_default(0, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, SOCKPATH_SYSTEM);
}

static void
test_default_user(void **state)
{
	static const struct {
		const char	*xdg;
		const char	*want;	/* NULL: none */
	} cases[] = {
		{ "/run/user/1000", "/run/user/1000/natterd/natterd.sock" },
		{ "/run/user/1000/", "/run/user/1000/natterd/natterd.sock" },
		{ "/run/user/1000//", "/run/user/1000/natterd/natterd.sock" },
		{ "/", "/natterd/natterd.sock" },
		{ NULL, NULL },			/* unset: no socket */
		{ "", NULL },
		{ "run/user/1000", NULL },	/* relative: ignored */
	};
	char out[SOCKPATH_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = sockpath_default(1000, cases[i].xdg, out,
		    sizeof(out));

		if (cases[i].want == NULL)
			assert_int_equal(rc, -1);
		else {
			assert_int_equal(rc, 0);
			assert_string_equal(out, cases[i].want);
		}
	}
}

static void
test_default_too_long(void **state)
{
	char xdg[200], out[SOCKPATH_MAX], small[16];

	(void)state;
	/* 107 bytes fit a sun_path, 108 do not. */
	memset(xdg, 'a', sizeof(xdg));
	xdg[0] = '/';
	xdg[107 - strlen("/" SOCKPATH_USER)] = '\0';
	assert_int_equal(sockpath_default(1000, xdg, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 107);
	xdg[107 - strlen("/" SOCKPATH_USER)] = 'a';
	xdg[108 - strlen("/" SOCKPATH_USER)] = '\0';
	assert_int_equal(sockpath_default(1000, xdg, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	/* Nor does a path longer than the caller's buffer. */
	assert_int_equal(sockpath_default(1000, "/run/user/1000", small,
	    sizeof(small)), -1);
}

static void
test_candidates(void **state)
{
	char out[SOCKPATH_CANDIDATES][SOCKPATH_MAX], longp[200];

	(void)state;
	/* A user: their own server first, then the system's. */
	assert_int_equal(sockpath_candidates(1000, "/run/user/1000", NULL,
	    NULL, out, SOCKPATH_CANDIDATES), 2);
	assert_string_equal(out[0], "/run/user/1000/natterd/natterd.sock");
	assert_string_equal(out[1], "/run/natterd/natterd.sock");
	/* Without XDG_RUNTIME_DIR, or as root: the system's alone. */
	assert_int_equal(sockpath_candidates(1000, NULL, NULL, NULL, out,
	    SOCKPATH_CANDIDATES), 1);
	assert_string_equal(out[0], SOCKPATH_SYSTEM);
	assert_int_equal(sockpath_candidates(0, "/run/user/0", NULL, NULL,
	    out, SOCKPATH_CANDIDATES), 1);
	assert_string_equal(out[0], SOCKPATH_SYSTEM);
	/* $NATTER_SOCKET alone; --socket wins over it; "" is unset. */
	assert_int_equal(sockpath_candidates(1000, "/run/user/1000", NULL,
	    "/srv/chat/n.sock", out, SOCKPATH_CANDIDATES), 1);
	assert_string_equal(out[0], "/srv/chat/n.sock");
	assert_int_equal(sockpath_candidates(1000, "/run/user/1000",
	    "/tmp/mine/n.sock", "/srv/chat/n.sock", out,
	    SOCKPATH_CANDIDATES), 1);
	assert_string_equal(out[0], "/tmp/mine/n.sock");
	assert_int_equal(sockpath_candidates(1000, NULL, NULL, "", out,
	    SOCKPATH_CANDIDATES), 1);
	assert_string_equal(out[0], SOCKPATH_SYSTEM);
	/* An explicit path that cannot be a socket: nothing to try. */
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(sockpath_candidates(1000, NULL, longp, NULL, out,
	    SOCKPATH_CANDIDATES), 0);
	/* Room for one only. */
	assert_int_equal(sockpath_candidates(1000, "/run/user/1000", NULL,
	    NULL, out, 1), 1);
	assert_int_equal(sockpath_candidates(1000, "/x", NULL, NULL, out, 0),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_root),
		cmocka_unit_test(test_default_user),
		cmocka_unit_test(test_default_too_long),
		cmocka_unit_test(test_candidates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
