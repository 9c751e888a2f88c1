/*
 * netaddr.c: turns a numeric client address into the key of the group
 * it counts against (netaddr.h), with inet_pton and inet_ntop only: no
 * name lookups, no state.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

static void	 netaddr_mask(unsigned char *, size_t, int);

/* Clears every bit of a (size bytes) after the first bits. */
static void
netaddr_mask(unsigned char *a, size_t size, int bits)
{
	size_t	 i;

	for (i = 0; i < size; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		a[i] &= (unsigned char)(0xff00 >> bits);
		bits = 0;
	}
}

int
netaddr_group(const char *addr, int v6bits, char *key, size_t len)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		 bare[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
	const char	*zone;
	const void	*a;
	size_t		 n;
	int		 af, bits, r;

	if (v6bits < 1 || v6bits > 128) {
		errno = EINVAL;
		return -1;
	}
	/* getnameinfo writes a link-local address with its zone. */
	zone = strchr(addr, '%');
	n = zone != NULL ? (size_t)(zone - addr) : strlen(addr);
	if (n >= sizeof(bare)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(bare, addr, n);
	bare[n] = '\0';

	if (zone == NULL && inet_pton(AF_INET, bare, &a4) == 1) {
		af = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, bare, &a6) != 1) {
		errno = EINVAL;
		return -1;
	} else if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		/* What an IPv6 socket shows of an IPv4 client. */
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		af = AF_INET;
		bits = 32;
	} else {
		netaddr_mask(a6.s6_addr, sizeof(a6.s6_addr), v6bits);
		af = AF_INET6;
		bits = v6bits;
	}

	a = af == AF_INET ? (const void *)&a4 : (const void *)&a6;
	if (inet_ntop(af, a, net, sizeof(net)) == NULL)
		return -1;
	r = snprintf(key, len, "%s/%d", net, bits);
	if (r < 0 || (size_t)r >= len) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}
