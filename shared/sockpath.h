/*
 * sockpath.h: where natterd's local (Unix) socket lives, for the server
 * that makes it and the client that looks for it.  Nothing here prints,
 * exits or touches the file system.
 */
#ifndef NATTER_SOCKPATH_H
#define NATTER_SOCKPATH_H

#include <sys/types.h>

#include <stddef.h>

/* The system service's socket: root's default. */
#define SOCKPATH_SYSTEM		"/run/natterd/natterd.sock"
/* Below XDG_RUNTIME_DIR: a user's own server. */
#define SOCKPATH_USER		"natterd/natterd.sock"
/* sizeof(sun_path) on Linux: a path must fit with its NUL. */
#define SOCKPATH_MAX		108
/* Places natter tries, at most. */
#define SOCKPATH_CANDIDATES	2

/*
 * natterd's default socket for a server running as uid: SOCKPATH_SYSTEM
 * for root, else xdg/SOCKPATH_USER when xdg ($XDG_RUNTIME_DIR) is an
 * absolute path.  0, or -1 when there is none (a user without
 * XDG_RUNTIME_DIR) or it does not fit in outlen or in a sun_path.
 */
int	 sockpath_default(uid_t uid, const char *xdg, char *out,
	    size_t outlen);

/*
 * Where natter looks, in order, into out (each SOCKPATH_MAX bytes):
 * the explicit path (--socket) or else env ($NATTER_SOCKET) alone when
 * given; otherwise the user's own server (xdg/SOCKPATH_USER, not for
 * root) and then the system service (SOCKPATH_SYSTEM).  Returns how
 * many (0 when an explicit path does not fit a sun_path).
 */
int	 sockpath_candidates(uid_t uid, const char *xdg, const char *explicit,
	    const char *env, char out[][SOCKPATH_MAX], int max);

#endif
