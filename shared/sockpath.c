/*
 * sockpath.c: the default places of natterd's local socket.
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "sockpath.h"

/* a (alen bytes), then "/b" unless b is empty, into out if it fits
 * both out and a sun_path. */
static int
put(char *out, size_t outlen, const char *a, size_t alen, const char *b)
{
	int n;

	n = snprintf(out, outlen, "%.*s%s%s", (int)alen, a,
	    b[0] != '\0' ? "/" : "", b);
	if (n < 0 || (size_t)n >= outlen || n >= SOCKPATH_MAX) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int
sockpath_default(uid_t uid, const char *xdg, char *out, size_t outlen)
{
	size_t len;

	if (uid == 0)
		return put(out, outlen, SOCKPATH_SYSTEM,
		    strlen(SOCKPATH_SYSTEM), "");
	/* The XDG base directory spec: a relative value is ignored. */
	if (xdg == NULL || xdg[0] != '/')
		return -1;
	/* "/run/user/1000/" and "/run/user/1000" give the same path. */
	len = strlen(xdg);
	while (len > 1 && xdg[len - 1] == '/')
		len--;
	if (len > SOCKPATH_MAX)
		return -1;
	return put(out, outlen, xdg, len == 1 ? 0 : len, SOCKPATH_USER);
}

int
sockpath_candidates(uid_t uid, const char *xdg, const char *explicit,
    const char *env, char out[][SOCKPATH_MAX], int max)
{
	int n = 0;

	if (max <= 0)
		return 0;
	if (explicit == NULL && env != NULL && env[0] != '\0')
		explicit = env;
	if (explicit != NULL)
		return put(out[0], SOCKPATH_MAX, explicit, strlen(explicit),
		    "") == 0 ? 1 : 0;
	if (uid != 0 && sockpath_default(uid, xdg, out[n], SOCKPATH_MAX) == 0)
		n++;
	if (n < max && put(out[n], SOCKPATH_MAX, SOCKPATH_SYSTEM,
	    strlen(SOCKPATH_SYSTEM), "") == 0)
		n++;
	return n;
}
