/*
 * conffile.c: where natter keeps its own files ($XDG_CONFIG_HOME/natter,
 * else ~/.config/natter).  No curses, no globals: pin.c and sts.c use
 * it, and shared/fsutil.c's fs_mkparents() for the folders.
 */
#include <stdio.h>

#include "natter.h"

#define CONF_DIR	"natter"

int
conf_path(const char *xdg, const char *home, const char *file, char *out,
    size_t outlen)
{
	int n;

	/* The XDG base directory spec: a relative value is ignored. */
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/%s/%s", xdg, CONF_DIR, file);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(out, outlen, "%s/.config/%s/%s", home, CONF_DIR,
		    file);
	else
		return -1;
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}
