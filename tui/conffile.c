/*
 * conffile.c: where natter keeps its own files ($XDG_CONFIG_HOME/natter,
 * else ~/.config/natter) and making the directories for them.  No
 * curses, no globals: pin.c and sts.c use it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

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

int
conf_mkdirs(const char *path, char *why, size_t whylen)
{
	char dir[PATH_MAX], *p, c;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		snprintf(why, whylen, "%s: path too long", path);
		return -1;
	}
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			snprintf(why, whylen, "%s: %s", dir, strerror(errno));
			return -1;
		}
		if (c == '\0')
			return 0;
		*p = c;
	}
}
