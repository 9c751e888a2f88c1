/*
 * pin.c: known_servers, the TLS certificates the user chose to trust
 * (trust on first use, like ssh's known_hosts).  One pin a line:
 *
 *	host:port SHA256:AB:CD:...		("[::1]:6697" for IPv6)
 *
 * '#' comments and blank lines are ignored, and so are lines that do
 * not parse: a damaged line never stops the client.  Host names
 * compare without regard to case.  No curses and no globals: the
 * message thread calls this without ui_lock (it is disk I/O).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fsutil.h"
#include "natter.h"
#include "tls.h"

_Static_assert(PIN_FP_LEN == TLS_FP_LEN,
    "pin.c keeps fingerprints as tls.c writes them");

#define PIN_FILE	"known_servers"

int
pin_path(const char *xdg, const char *home, char *out, size_t outlen)
{
	return conf_path(xdg, home, PIN_FILE, out, outlen);
}

int
pin_key(const char *host, const char *port, char *out, size_t outlen)
{
	size_t i;
	int n;

	if (strchr(host, ':') != NULL)
		n = snprintf(out, outlen, "[%s]:%s", host, port);
	else
		n = snprintf(out, outlen, "%s:%s", host, port);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return 0;
}

/* "host:port" or "[addr]:port" with a port of 1-5 digits. */
static int
key_valid(const char *k)
{
	const char *colon, *p;

	if ((colon = strrchr(k, ':')) == NULL || colon == k ||
	    colon[1] == '\0' || strlen(colon + 1) > 5)
		return 0;
	for (p = colon + 1; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	if (k[0] == '[')
		return colon - k >= 3 && colon[-1] == ']';
	/* An IPv6 address must be in brackets. */
	return memchr(k, ':', (size_t)(colon - k)) == NULL;
}

/*
 * Splits one line into its key and canonical fingerprint; 0 for a pin,
 * -1 for a comment, a blank or a malformed line.  Changes line.
 */
static int
pin_parse(char *line, char **key, char *fp, size_t fplen)
{
	char *p = line, *k, *f;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return -1;
	k = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return -1;
	*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	f = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0') {
		*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			return -1;	/* a third field */
	}
	if (!key_valid(k) || strncasecmp(f, "SHA256:", 7) != 0 ||
	    tls_fingerprint_parse(f, fp, fplen) == -1)
		return -1;
	*key = k;
	return 0;
}

enum pin_status
pin_check(const char *path, const char *key, const char *fp, int *line,
    char *pinned, size_t pinnedlen, char *why, size_t whylen)
{
	enum pin_status st = PIN_NONE;
	char got[PIN_FP_LEN + 1], *buf = NULL, *k;
	size_t cap = 0;
	FILE *f;
	int n = 0;

	*line = 0;
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return PIN_NONE;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return PIN_ERROR;
	}
	errno = 0;
	while (getline(&buf, &cap, f) != -1) {
		n++;
		if (pin_parse(buf, &k, got, sizeof(got)) == -1 ||
		    strcasecmp(k, key) != 0)
			continue;
		if (strcmp(got, fp) == 0) {
			/* Another line may pin an older certificate: one
			 * that matches is enough (as in known_hosts). */
			st = PIN_MATCH;
			*line = n;
			break;
		}
		if (st == PIN_NONE) {
			st = PIN_CHANGED;
			*line = n;
			snprintf(pinned, pinnedlen, "%s", got);
		}
	}
	if (ferror(f)) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno ? errno :
		    EIO));
		st = PIN_ERROR;
	}
	free(buf);
	fclose(f);
	return st;
}

int
pin_add(const char *path, const char *key, const char *fp, char *why,
    size_t whylen)
{
	char buf[4096], entry[PIN_KEY_MAX + PIN_FP_LEN + 16];
	const char *out;
	ssize_t n, i;
	size_t outlen;
	off_t off = 0;
	int fd, lines = 0, last = '\n', len;

	if ((len = snprintf(entry, sizeof(entry), "\n%s SHA256:%s\n", key,
	    fp)) >= (int)sizeof(entry)) {
		snprintf(why, whylen, "%s: name too long", key);
		return -1;
	}
	if (fs_mkparents(path, why, whylen) == -1)
		return -1;
	if ((fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Count the lines, for the user, and mend a missing newline. */
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				lines++;
		last = (unsigned char)buf[n - 1];
		off += n;
	}
	if (n == -1)
		goto fail;
	out = entry;
	outlen = (size_t)len;
	if (last == '\n') {
		out++;
		outlen--;
	} else
		lines++;
	/* One write: two clients adding at once interleave whole lines. */
	if ((n = write(fd, out, outlen)) != (ssize_t)outlen) {
		if (n != -1)
			errno = EIO;
		goto fail;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return lines + 1;
fail:
	snprintf(why, whylen, "%s: %s", path, strerror(errno ? errno : EIO));
	close(fd);
	return -1;
}
