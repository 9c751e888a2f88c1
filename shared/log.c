/*
 * log.c: the only shared code allowed to print.  Each event becomes one
 * line built in a local buffer and handed to a single write(2), so lines
 * from different threads never interleave and no lock is needed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	1024

/*
 * Set once by log_init before any thread starts, then only read, so
 * plain statics suffice.
 */
static const char	*log_prog = "natter";
static enum log_level	 log_maxlevel = LOG_LVL_INFO;

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
 * Builds and writes one line.  errnum < 0 means no strerror suffix.
 * errno is preserved so logging never disturbs the caller's error path.
 */
static void
log_vemit(const char *lvl, int errnum, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE_MAX], ebuf[128];
	struct tm	 tm;
	time_t		 now;
	size_t		 off, room;
	int		 n, saved = errno;
	ssize_t		 w;

	/* Reserve the last byte for the newline. */
	room = sizeof(line) - 1;
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

	n = vsnprintf(line + off, room - off, fmt, ap);
	if (n < 0)
		n = 0;
	off += (size_t)n;
	if (off >= room)
		off = room - 1;

	if (errnum >= 0) {
		n = snprintf(line + off, room - off, ": %s",
		    LOG_STRERROR(errnum, ebuf, sizeof(ebuf)));
		if (n < 0)
			n = 0;
		off += (size_t)n;
		if (off >= room)
			off = room - 1;
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
