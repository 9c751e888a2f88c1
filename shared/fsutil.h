/*
 * fsutil.h: file-system helpers both programs use for the files they
 * keep (natterd's history database, natter's pins and sts policies).
 */
#ifndef NATTER_FSUTIL_H
#define NATTER_FSUTIL_H

#include <stddef.h>

/* Creates the missing folders above path, each 0700 ("mkdir -p" of its
 * directory); -1 with why ("path: cannot create folder dir: reason"). */
int	 fs_mkparents(const char *path, char *why, size_t whylen);

#endif
