/*
 * sts.c: IRCv3 Strict Transport Security.  The value of the sts
 * capability (key=value pairs, comma separated) and sts_policies, the
 * hosts a server told to be reached with TLS only, one policy a line:
 *
 *	host port expiry		(expiry: Unix seconds)
 *
 * A policy applies to a host name, whatever port was dialled; port is
 * the one last used securely.  Blank, '#' and malformed lines are
 * skipped (and kept when the file is rewritten): a damaged line never
 * stops the client.  Host names compare without regard to case.  No
 * curses and no globals: the message thread calls this without
 * ui_lock (it is disk I/O).
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

#define STS_FILE	"sts_policies"
#define STS_DURATION_MAX	(100L * 365 * 86400)	/* a century */

int
sts_path(const char *xdg, const char *home, char *out, size_t outlen)
{
	return conf_path(xdg, home, STS_FILE, out, outlen);
}

/* s as a decimal number in [lo, hi]; -1 otherwise. */
static long
number(const char *s, size_t len, long lo, long hi)
{
	long n = 0;
	size_t i;

	if (len == 0 || len > 12)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return n >= lo && n <= hi ? n : -1;
}

void
sts_parse(const char *value, struct sts_value *v)
{
	const char *p = value, *key, *eq, *end;
	size_t klen, vlen;
	long n;

	v->port = 0;
	v->duration = -1;
	while (p != NULL && *p != '\0') {
		key = p;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		p = *end == ',' ? end + 1 : NULL;
		if ((eq = memchr(key, '=', (size_t)(end - key))) == NULL)
			continue;	/* a key without a value */
		klen = (size_t)(eq - key);
		vlen = (size_t)(end - eq - 1);
		/* The spec: unknown keys are ignored; so is a known key
		 * whose value does not parse. */
		if (klen == 4 && strncmp(key, "port", 4) == 0) {
			if ((n = number(eq + 1, vlen, 1, 65535)) != -1)
				v->port = (int)n;
		} else if (klen == 8 && strncmp(key, "duration", 8) == 0) {
			if ((n = number(eq + 1, vlen, 0, STS_DURATION_MAX)) !=
			    -1)
				v->duration = n;
		}
	}
}

/*
 * Splits one line of the file: 0 for a policy (host points into line),
 * -1 for a comment, a blank or a malformed line.  Changes line.
 */
static int
policy_parse(char *line, char **host, int *port, time_t *expiry)
{
	char *f[4], *p = line;
	long n;
	int i;

	for (i = 0; i < 4; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n' || *p == '#')
			break;
		f[i] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	if (i != 3)
		return -1;
	if ((n = number(f[1], strlen(f[1]), 1, 65535)) == -1)
		return -1;
	*port = (int)n;
	if (strlen(f[2]) > 18 || (n = number(f[2], strlen(f[2]), 0,
	    LONG_MAX / 10)) == -1)
		return -1;
	*expiry = (time_t)n;
	*host = f[0];
	return 0;
}

int
sts_lookup(const char *path, const char *host, time_t now, int *port,
    time_t *expiry, char *why, size_t whylen)
{
	char *buf = NULL, *h;
	size_t cap = 0;
	time_t e;
	FILE *f;
	int found = 0, p;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	while (getline(&buf, &cap, f) != -1) {
		if (policy_parse(buf, &h, &p, &e) == -1 ||
		    strcasecmp(h, host) != 0)
			continue;
		/* The last line for the host wins (sts_store keeps one). */
		found = e > now;
		*port = p;
		*expiry = e;
	}
	if (ferror(f)) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno ? errno :
		    EIO));
		found = -1;
	}
	free(buf);
	fclose(f);
	return found;
}

/*
 * Rewrites path without host's lines, plus entry (NULL: none) at the
 * end, through a temporary file renamed over it: a reader never sees
 * half a file.
 */
static int
sts_rewrite(const char *path, const char *host, const char *entry,
    char *why, size_t whylen)
{
	char tmp[PATH_MAX], *buf = NULL, *copy = NULL, *h;
	size_t cap = 0, len;
	time_t e;
	FILE *in, *out = NULL;
	int fd, p, changed = entry != NULL;

	if ((in = fopen(path, "re")) == NULL && errno != ENOENT) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (in == NULL && entry == NULL)
		return 0;		/* nothing to remove */
	if (fs_mkparents(path, why, whylen) == -1)
		goto fail;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    (int)sizeof(tmp)) {
		snprintf(why, whylen, "%s: path too long", path);
		goto fail;
	}
	/* mkstemp makes it 0600. */
	if ((fd = mkstemp(tmp)) == -1 || (out = fdopen(fd, "w")) == NULL) {
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		goto fail;
	}
	while (in != NULL && getline(&buf, &cap, in) != -1) {
		len = strlen(buf);
		free(copy);
		if ((copy = strdup(buf)) == NULL) {
			snprintf(why, whylen, "%s", strerror(errno));
			goto fail_tmp;
		}
		if (policy_parse(copy, &h, &p, &e) == 0 &&
		    strcasecmp(h, host) == 0) {
			changed = 1;
			continue;
		}
		fputs(buf, out);
		if (len > 0 && buf[len - 1] != '\n')
			fputc('\n', out);
	}
	if (in != NULL && ferror(in)) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno ? errno :
		    EIO));
		goto fail_tmp;
	}
	if (!changed) {
		fclose(out);
		unlink(tmp);
		goto done;
	}
	if (entry != NULL)
		fputs(entry, out);
	if (fflush(out) == EOF || fsync(fileno(out)) == -1 ||
	    ferror(out)) {
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno ? errno :
		    EIO));
		goto fail_tmp;
	}
	if (fclose(out) == EOF) {
		out = NULL;
		snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
		goto fail_tmp;
	}
	out = NULL;
	if (rename(tmp, path) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto fail_tmp;
	}
done:
	free(copy);
	free(buf);
	if (in != NULL)
		fclose(in);
	return 0;
fail_tmp:
	if (out != NULL)
		fclose(out);
	unlink(tmp);
fail:
	free(copy);
	free(buf);
	if (in != NULL)
		fclose(in);
	return -1;
}

int
sts_store(const char *path, const char *host, int port, time_t expiry,
    char *why, size_t whylen)
{
	char entry[STS_HOST_MAX + 48];
	size_t i, n;

	if (host[0] == '\0' || strcspn(host, " \t\r\n#") != strlen(host) ||
	    port < 1 || port > 65535 || expiry < 0) {
		snprintf(why, whylen, "%s: not a policy", host);
		return -1;
	}
	n = (size_t)snprintf(entry, sizeof(entry), "%s %d %lld\n", host, port,
	    (long long)expiry);
	if (n >= sizeof(entry)) {
		snprintf(why, whylen, "%s: name too long", host);
		return -1;
	}
	for (i = 0; entry[i] != ' '; i++)
		entry[i] = (char)tolower((unsigned char)entry[i]);
	return sts_rewrite(path, host, entry, why, whylen);
}

int
sts_remove(const char *path, const char *host, char *why, size_t whylen)
{
	return sts_rewrite(path, host, NULL, why, whylen);
}
