/*
 * log.c - diagnostics to stderr or syslog; see log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "util/log.h"

static const char *log_progname = "spamtide";
static bool log_syslog;
static enum log_level log_threshold = LOG_LEVEL_INFO;

void log_init(const char *progname, bool use_syslog)
{
	log_progname = progname;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_reopen(void)
{
	if (log_syslog) {
		closelog();
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const word[] = { "error: ", "warning: ", "", "debug: " };
	char line[2048];
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(prio[level], "%s", line);
	else
		fprintf(stderr, "%s: %s%s\n", log_progname, word[level], line);
}

char *log_clean(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t i, o = 0;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < srclen && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];

		if (o + 1 >= dstlen) {
			if (dstlen > 4)
				memcpy(dst + dstlen - 4, "...", 3), o = dstlen - 1;
			break;
		}
		dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[o] = '\0';
	return dst;
}
