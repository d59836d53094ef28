/*
 * log.h - diagnostics to stderr or syslog, and scrubbing of untrusted bytes.
 *
 * Anything a peer or a file sent goes through log_clean() before it reaches
 * a log line or a reply: control characters become '?', the length is
 * capped, so a hostile HELO cannot forge log lines or flood the log.
 */
#ifndef SPAMTIDE_UTIL_LOG_H
#define SPAMTIDE_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(const char *progname, bool use_syslog);
void log_set_level(enum log_level level);
/* log_reopen: after SIGHUP; reopens syslog (stderr needs nothing). */
void log_reopen(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/*
 * log_clean: copy at most srclen bytes of src into dst (size dstlen > 0),
 * replacing bytes outside printable ASCII with '?', ending with "..." when
 * truncated. Returns dst, always NUL-terminated.
 */
char *log_clean(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
