/*
 * log.h: one line per event on stderr, "2026-11-26T02:20:00Z natterd[pid]:
 * level: text".  Safe to call from any thread (one write(2) per line).
 */
#ifndef NATTER_LOG_H
#define NATTER_LOG_H

enum log_level {
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE
};

void	 log_init(const char *progname, enum log_level level);
int	 log_enabled(enum log_level level);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_trace(const char *, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
