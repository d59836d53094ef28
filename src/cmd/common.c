/*
 * common.c - what the subcommands share; see cmd.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "pipeline/workers.h"
#include "util/limits.h"
#include "util/timeutil.h"
#include "util/banned.h"

const char cmd_default_db[] = "sqlite:./spamtide.db";
const char cmd_default_kb[] = "./spamtide.kb";

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spamtide %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'spamtide %s --help'.\n", cmd);
	return CMD_USAGE;
}

int cmd_option_error(const char *cmd)
{
	/* getopt said which option and what is wrong with it */
	fprintf(stderr, "Try 'spamtide %s --help'.\n", cmd);
	return CMD_USAGE;
}

int cmd_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spamtide %s: error: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CMD_FAIL;
}

bool cmd_parse_time(const char *cmd, const char *opt, const char *value, int64_t *out)
{
	if (time_parse_iso(value, out))
		return true;
	cmd_usage_error(cmd, "%s '%s': expected an ISO 8601 UTC time such as "
			"2011-03-16T15:30:00Z or a date such as 2011-03-16", opt, value);
	return false;
}

bool cmd_parse_positive(const char *cmd, const char *opt, const char *value, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(value, &end);
	if (end == value || *end || errno || !(*out > 0) || !isfinite(*out)) {
		cmd_usage_error(cmd, "%s '%s': a positive number", opt, value);
		return false;
	}
	return true;
}

bool cmd_apply_limit(const char *cmd, const char *value)
{
	char err[256];

	if (strcmp(value, "help") == 0) {
		limit_print(stdout);
		exit(CMD_OK);
	}
	if (limit_set(value, err, sizeof(err)) == 0)
		return true;
	cmd_usage_error(cmd, "%s", err);
	return false;
}

bool cmd_valid_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '.' && s[n] != '_' && s[n] != '-')
			return false;
	return n > 0 && n <= 64;
}

bool cmd_valid_family(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_' ||
		      s[n] == '-'))
			return false;
	return n > 0 && n <= 64;
}

bool cmd_parse_jobs(const char *cmd, const char *value, size_t *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(value, &end, 10);
	if (end == value || *end || errno || n < 1 || n > WORKERS_MAX || value[0] == '-') {
		cmd_usage_error(cmd, "--jobs '%s': a whole number from 1 to %d", value, WORKERS_MAX);
		return false;
	}
	*out = (size_t)n;
	return true;
}
