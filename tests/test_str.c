/*
 * test_str.c: unit tests for shared/str.c, checked against snprintf,
 * whose results they replace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "str.h"

static void
test_str_copy_like_snprintf(void **state)
{
	static const char *src[] = { "", "a", "hello", "exactly8" };
	char got[16], want[16];
	size_t i, size;

	(void)state;
	for (i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		for (size = 1; size <= 12; size++) {
			memset(got, 'x', sizeof(got));
			memset(want, 'x', sizeof(want));
			assert_int_equal(str_copy(got, size, src[i]),
			    snprintf(want, size, "%s", src[i]));
			assert_memory_equal(got, want, sizeof(got));
		}
}

static void
test_str_join_like_snprintf(void **state)
{
	char got[32], want[32];
	size_t size;

	(void)state;
	for (size = 1; size <= sizeof(got); size++) {
		memset(got, 'x', sizeof(got));
		memset(want, 'x', sizeof(want));
		assert_int_equal(str_join(got, size, ":nick", "!", "user",
		    "@", "", "host.example", NULL),
		    snprintf(want, size, "%s!%s@%s%s", ":nick", "user", "",
		    "host.example"));
		assert_memory_equal(got, want, sizeof(got));
	}
}

static void
test_str_join_size_zero_writes_nothing(void **state)
{
	char buf[4] = "abc";

	(void)state;
	assert_int_equal(str_join(buf, 0, "xyz", "w", NULL), 4);
	assert_int_equal(str_copy(buf, 0, "xyz"), 3);
	assert_string_equal(buf, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_copy_like_snprintf),
		cmocka_unit_test(test_str_join_like_snprintf),
		cmocka_unit_test(test_str_join_size_zero_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
