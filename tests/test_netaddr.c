/*
 * test_netaddr.c: unit tests for the address groups per-IP limits
 * count against (shared/netaddr.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "netaddr.h"

struct group_case {
	const char	*addr;
	int		 bits;
	const char	*key;		/* NULL: -1 with EINVAL */
};

static const struct group_case group_cases[] = {
	/* IPv4: each address its own group, whatever the IPv6 prefix. */
	{ "192.0.2.7", 64, "192.0.2.7/32" },
	{ "192.0.2.8", 64, "192.0.2.8/32" },
	{ "127.0.0.1", 1, "127.0.0.1/32" },
	{ "0.0.0.0", 128, "0.0.0.0/32" },
	{ "255.255.255.255", 48, "255.255.255.255/32" },
	/* IPv4-mapped IPv6: the IPv4 address it carries. */
	{ "::ffff:192.0.2.7", 64, "192.0.2.7/32" },
	{ "::FFFF:c000:0207", 48, "192.0.2.7/32" },
	{ "::ffff:10.1.2.3", 128, "10.1.2.3/32" },
	/* One /64: same key, however the address is written. */
	{ "2001:db8:1:2::a", 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2::b", 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64" },
	{ "2001:0DB8:0001:0002:0000:0000:0000:0001", 64, "2001:db8:1:2::/64" },
	/* Neighbouring /64s: other keys. */
	{ "2001:db8:1:3::a", 64, "2001:db8:1:3::/64" },
	{ "2001:db8:1:1:ffff::1", 64, "2001:db8:1:1::/64" },
	{ "2001:db8:2:2::a", 64, "2001:db8:2:2::/64" },
	/* /48: the two /64s above share one, the third does not. */
	{ "2001:db8:1:2::a", 48, "2001:db8:1::/48" },
	{ "2001:db8:1:3::a", 48, "2001:db8:1::/48" },
	{ "2001:db8:1:ffff:1:2:3:4", 48, "2001:db8:1::/48" },
	{ "2001:db8:2:2::a", 48, "2001:db8:2::/48" },
	/* /128: every address its own group. */
	{ "2001:db8:1:2::a", 128, "2001:db8:1:2::a/128" },
	{ "2001:db8:1:2::b", 128, "2001:db8:1:2::b/128" },
	{ "::1", 128, "::1/128" },
	/* Prefixes that end inside a byte or a group. */
	{ "2001:db8:1:2::a", 60, "2001:db8:1::/60" },
	{ "2001:db8:1:1f::a", 60, "2001:db8:1:10::/60" },
	{ "2001:db8:ffff::", 33, "2001:db8:8000::/33" },
	{ "ffff::", 1, "8000::/1" },
	{ "7fff::", 1, "::/1" },
	/* Loopback, link-local with its zone, and the unspecified address. */
	{ "::1", 64, "::/64" },
	{ "fe80::1%eth0", 64, "fe80::/64" },
	{ "fe80::1:2:3:4%lo", 128, "fe80::1:2:3:4/128" },
	{ "::", 64, "::/64" },
	/* Not numeric addresses. */
	{ "", 64, NULL },
	{ "unknown", 64, NULL },
	{ "localhost", 64, NULL },
	{ "192.0.2", 64, NULL },
	{ "192.0.2.256", 64, NULL },
	{ "192.0.2.7/32", 64, NULL },
	{ "192.0.2.7%eth0", 64, NULL },
	{ " 192.0.2.7", 64, NULL },
	{ "2001:db8::1::2", 64, NULL },
	{ "2001:db8:1:2:3:4:5:6:7", 64, NULL },
	{ "2001:db8::g", 64, NULL },
	{ "2001:db8::/64", 64, NULL },
	{ "%eth0", 64, NULL },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa", 64, NULL },
	/* Prefix lengths out of range. */
	{ "2001:db8::1", 0, NULL },
	{ "2001:db8::1", 129, NULL },
	{ "2001:db8::1", -64, NULL },
	{ "192.0.2.7", 0, NULL },
};

static void
test_group_table(void **state)
{
	char	 key[NETADDR_GROUP_MAX];
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(group_cases) / sizeof(group_cases[0]); i++) {
		const struct group_case *t = &group_cases[i];

		memset(key, 'x', sizeof(key));
		errno = 0;
		rc = netaddr_group(t->addr, t->bits, key, sizeof(key));
		if (t->key == NULL) {
			if (rc != -1 || errno != EINVAL)
				fail_msg("case %zu (\"%s\" /%d): got %d errno "
				    "%d, want -1 EINVAL", i, t->addr, t->bits,
				    rc, errno);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (\"%s\" /%d): got -1 errno %d",
			    i, t->addr, t->bits, errno);
		if (strcmp(key, t->key) != 0)
			fail_msg("case %zu (\"%s\" /%d): got \"%s\", want "
			    "\"%s\"", i, t->addr, t->bits, key, t->key);
	}
}

/* The longest key there is fits NETADDR_GROUP_MAX; a buffer one byte
 * short of a key gets ENOSPC. */
static void
test_group_room(void **state)
{
	const char	*addr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe";
	const char	*want = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128";
	char		 key[NETADDR_GROUP_MAX];

	(void)state;
	assert_int_equal(netaddr_group(addr, 128, key, sizeof(key)), 0);
	assert_string_equal(key, want);
	assert_int_equal(netaddr_group("2001:db8::1", 64, key, 14), 0);
	assert_string_equal(key, "2001:db8::/64");
	errno = 0;
	assert_int_equal(netaddr_group("2001:db8::1", 64, key, 13), -1);
	assert_int_equal(errno, ENOSPC);
	errno = 0;
	assert_int_equal(netaddr_group("192.0.2.7", 64, key, 0), -1);
	assert_int_equal(errno, ENOSPC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_table),
		cmocka_unit_test(test_group_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
