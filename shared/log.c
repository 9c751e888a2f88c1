/*
 * log.c: the only shared code allowed to print.  Each event becomes one
 * line built in a local buffer and handed to a single write(2), so lines
 * from different threads never interleave and no lock is needed.  The
 * text of every line is escaped (log_escape): it often carries what a
 * client sent (nicks, OPER names, QUIT reasons), and a raw newline would
 * forge a line, an escape sequence drive the terminal reading the log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "utf8.h"

#define LOG_LINE_MAX	1024
/* Ends a line that did not fit.  log_escape writes a backslash only in
 * \\ or \xNN, so read escape by escape no message can end in it. */
#define LOG_CUT		"\\[...]"

/*
 * Set once by log_init before any thread starts, then only read, so
 * plain statics suffice.
 */
static const char	*log_prog = "natter";
static enum log_level	 log_maxlevel = LOG_LVL_INFO;

static size_t		 log_plain(const unsigned char *, size_t);
static const char	*log_strerror_xsi(int, char *);
static const char	*log_strerror_gnu(char *, char *);
static void		 log_vemit(const char *, int, const char *, va_list)
			    __attribute__((format(printf, 3, 0)));

/*
 * strerror(3) shares a static buffer between threads.  strerror_r is
 * the XSI (int) or GNU (char *) flavour depending on feature macros;
 * pick the matching adapter at compile time instead of guessing.
 */
static const char *
log_strerror_xsi(int rv, char *buf)
{
	return rv == 0 ? buf : "Unknown error";
}

static const char *
log_strerror_gnu(char *rv, char *buf)
{
	(void)buf;
	return rv != NULL ? rv : "Unknown error";
}

#define LOG_STRERROR(e, b, l)						\
	_Generic(strerror_r((e), (b), (l)),				\
	    char *: log_strerror_gnu,					\
	    default: log_strerror_xsi)(strerror_r((e), (b), (l)), (b))

void
log_init(const char *progname, enum log_level level)
{
	const char	*slash;

	if (progname != NULL) {
		/* argv[0] may be a path; the basename reads better. */
		slash = strrchr(progname, '/');
		log_prog = slash != NULL && slash[1] != '\0' ?
		    slash + 1 : progname;
	}
	log_maxlevel = level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_maxlevel;
}

/*
 * The length of the character at p (n bytes left) if it may be written
 * as it is, else 0.  Bytes that are not well-formed UTF-8 are escaped
 * too: a terminal in another charset could read them as C1 controls,
 * and escaping keeps the log valid UTF-8 for whatever reads it next.
 */
static size_t
log_plain(const unsigned char *p, size_t n)
{
	size_t	 len;

	if (p[0] < 0x80)
		return p[0] >= 0x20 && p[0] < 0x7f && p[0] != '\\';
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n || !utf8_valid((const char *)p, len))
		return 0;
	/* U+0080 to U+009F: C1 controls (U+009B is CSI to xterm). */
	if (p[0] == 0xc2 && p[1] < 0xa0)
		return 0;
	return len;
}

int
log_escape(char *dst, size_t size, const char *src, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)src;
	size_t			 i = 0, o = 0, len;

	if (size == 0) {
		errno = ENOSPC;
		return -1;
	}
	while (i < n) {
		if ((len = log_plain(p + i, n - i)) > 0) {
			if (size - o <= len)
				goto full;
			memcpy(dst + o, p + i, len);
			o += len;
			i += len;
			continue;
		}
		if (p[i] == '\\') {
			if (size - o <= 2)
				goto full;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (size - o <= 4)
				goto full;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[p[i] >> 4];
			dst[o++] = hex[p[i] & 0xf];
		}
		i++;
	}
	dst[o] = '\0';
	return 0;

full:
	dst[o] = '\0';
	errno = ENOSPC;
	return -1;
}

/*
 * Builds and writes one line.  errnum < 0 means no strerror suffix.
 * errno is preserved so logging never disturbs the caller's error path.
 */
static void
log_vemit(const char *lvl, int errnum, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE_MAX], text[LOG_LINE_MAX], ebuf[128];
	struct tm	 tm;
	time_t		 now;
	size_t		 off, room, len;
	int		 n, cut = 0, saved = errno;
	ssize_t		 w;

	/* Reserve the end for the cut marker and the newline. */
	room = sizeof(line) - sizeof(LOG_CUT);
	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
	    (off = strftime(line, room, "%Y-%m-%dT%H:%M:%SZ", &tm)) == 0)
		off = (size_t)snprintf(line, room, "0000-00-00T00:00:00Z");

	n = snprintf(line + off, room - off, " %s[%ld]: %s: ", log_prog,
	    (long)getpid(), lvl);
	if (n < 0)
		n = 0;
	off += (size_t)n;
	if (off >= room)
		off = room - 1;		/* snprintf cut; keep its NUL out */

	/* The text apart, then escaped into the line after the prefix. */
	n = vsnprintf(text, sizeof(text), fmt, ap);
	len = n < 0 ? 0 : (size_t)n;
	if (errnum >= 0 && len < sizeof(text)) {
		n = snprintf(text + len, sizeof(text) - len, ": %s",
		    LOG_STRERROR(errnum, ebuf, sizeof(ebuf)));
		len += n < 0 ? 0 : (size_t)n;
	}
	if (len >= sizeof(text)) {
		len = sizeof(text) - 1;		/* snprintf cut it */
		cut = 1;
	}
	if (log_escape(line + off, room - off + 1, text, len) == -1)
		cut = 1;
	off += strlen(line + off);
	if (cut) {
		memcpy(line + off, LOG_CUT, sizeof(LOG_CUT) - 1);
		off += sizeof(LOG_CUT) - 1;
	}
	line[off++] = '\n';

	/* One write keeps the line atomic; only a signal is worth a retry. */
	do {
		w = write(STDERR_FILENO, line, off);
	} while (w == -1 && errno == EINTR);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vemit("warn", saved, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit("warn", -1, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(LOG_LVL_INFO))
		return;
	va_start(ap, fmt);
	log_vemit("info", -1, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	va_start(ap, fmt);
	log_vemit("debug", -1, fmt, ap);
	va_end(ap);
}

void
log_trace(const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(LOG_LVL_TRACE))
		return;
	va_start(ap, fmt);
	log_vemit("trace", -1, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vemit("fatal", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit("fatal", -1, fmt, ap);
	va_end(ap);
	exit(1);
}
