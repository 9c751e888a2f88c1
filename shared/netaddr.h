/*
 * netaddr.h: which group a client address counts against for per-address
 * limits.  Nothing here prints or exits.
 *
 * An IPv4 address is its own group.  An IPv6 address is grouped by its
 * first bits (one subscriber usually holds a whole /64 or more and can
 * use every address in it), except an IPv4-mapped one, which is the
 * IPv4 address it carries.
 */
#ifndef NATTER_NETADDR_H
#define NATTER_NETADDR_H

#include <stddef.h>

#include <netinet/in.h>

/* "ffff:...:255.255.255.255/128" and its NUL */
#define NETADDR_GROUP_MAX	(INET6_ADDRSTRLEN + 4)

/*
 * Writes the group key of addr, a numeric IPv4 or IPv6 address (an
 * IPv6 zone, "%eth0", is ignored), into key: the network in canonical
 * form and its length, "192.0.2.7/32", "2001:db8:1:2::/64".  v6bits
 * (1 to 128) is the IPv6 prefix length.  Returns 0, or -1 with errno
 * EINVAL (addr is not a numeric address, v6bits out of range) or
 * ENOSPC (len is too small; NETADDR_GROUP_MAX always fits).
 */
int	 netaddr_group(const char *addr, int v6bits, char *key, size_t len);

#endif
