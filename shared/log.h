/*
 * log.h: one line per event on stderr, "2026-11-26T02:20:00Z natterd[pid]:
 * level: text".  Safe to call from any thread (one write(2) per line).
 * The text is written through log_escape, so what a client sent can
 * never end the line early, nor reach the terminal as a control.
 */
#ifndef NATTER_LOG_H
#define NATTER_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE
};

void	 log_init(const char *progname, enum log_level level);
/*
 * Copies src[0..n) to dst (size > 0 bytes, NUL-terminated) as text that
 * is safe on one line of a terminal: C0 controls and DEL become \xNN, a
 * backslash \\, and every byte that is not part of well-formed UTF-8,
 * or is part of a C1 control (U+0080 to U+009F), \xNN; other UTF-8
 * passes as it is.  Never splits a character or an escape.  Returns 0,
 * or -1 with errno ENOSPC if only the start of src fit.
 */
int	 log_escape(char *dst, size_t size, const char *src, size_t n);
int	 log_enabled(enum log_level level);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_trace(const char *, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
