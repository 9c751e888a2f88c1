/*
 * tmpdir.h: a fresh temporary folder per test, and small file helpers,
 * for the cmocka tests of code that keeps files (test_pin.c,
 * test_sts.c).  Include after <cmocka.h>; the functions are static.
 */
#ifndef NATTER_TEST_TMPDIR_H
#define NATTER_TEST_TMPDIR_H

static char	tmpdir[256];	/* short: paths below fit PATH_MAX */

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/natter-test-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
read_file(const char *path, char *out, size_t outlen)
{
	FILE *f;
	size_t n;

	assert_non_null(f = fopen(path, "r"));
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
}

#endif
