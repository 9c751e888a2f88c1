/*
 * fsutil.c: file-system helpers shared by natterd and natter.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fsutil.h"

int
fs_mkparents(const char *path, char *why, size_t whylen)
{
	char		 dir[PATH_MAX];
	char		*p, c;
	struct stat	 sb;
	int		 n;

	n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		snprintf(why, whylen, "%s: path too long", path);
		return -1;
	}
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST &&
		    (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode))) {
			snprintf(why, whylen, "%s: cannot create folder %s: %s",
			    path, dir, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}
