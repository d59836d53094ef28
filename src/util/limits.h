/*
 * limits.h - every bound on untrusted input, with its default and reason.
 *
 * One home for all limits (SQLite's sqliteLimit.h is the model). Each has a
 * name usable on the command line, `--limit NAME=VALUE`, so tests can use
 * short ones and operators can widen them. Values are read through limit().
 * The table with defaults and reasons is in limits.c; `spamtide trap
 * --limit help` prints it.
 */
#ifndef SPAMTIDE_UTIL_LIMITS_H
#define SPAMTIDE_UTIL_LIMITS_H

#include <stddef.h>
#include <stdio.h>

enum limit_id {
	/* messages, whatever their source */
	LIMIT_MESSAGE_SIZE,        /* bytes of one message */
	LIMIT_HEADER_COUNT,        /* header fields examined per message */
	LIMIT_HEADER_LINE,         /* bytes of one header field kept as a feature */
	LIMIT_MIME_DEPTH,          /* nesting of multiparts and message/rfc822 */
	LIMIT_MIME_PARTS,          /* MIME parts examined per message */
	LIMIT_BODY_TEXT,           /* decoded text bytes kept for templates */
	LIMIT_URLS,                /* URLs kept per message */
	LIMIT_RECEIVED,            /* Received: lines examined per message */
	/* SMTP sessions (trap and pcap replay) */
	LIMIT_SMTP_LINE,           /* bytes of one command line */
	LIMIT_SMTP_COMMANDS,       /* commands per session */
	LIMIT_SMTP_JUNK,           /* unknown/bad commands before disconnect */
	LIMIT_SMTP_RCPTS,          /* recipients per transaction */
	LIMIT_SMTP_TRANSACTIONS,   /* messages per session */
	LIMIT_SMTP_DIALECT_LINES,  /* command lines recorded per session */
	LIMIT_SMTP_IDLE_MS,        /* idle time before 421 */
	LIMIT_SMTP_SESSION_MS,     /* total session time */
	LIMIT_SMTP_BANNER_DELAY_MS,/* wait before the 220 to catch pregreeters */
	LIMIT_SESSIONS,            /* concurrent sessions overall */
	LIMIT_SESSIONS_PER_CLIENT, /* concurrent sessions per client address */
	LIMIT_DRAIN_MS,            /* time SIGTERM gives sessions in flight */
	LIMIT_COMMIT_MS,           /* group commit window */
	LIMIT_COMMIT_BATCH,        /* messages per group commit at most */
	LIMIT_PARSE_MS,            /* the trap's parser child, per message */
	/* captures */
	LIMIT_PCAP_FLOWS,          /* TCP flows tracked at once */
	LIMIT_PCAP_FLOW_IDLE_S,    /* packet-time idle before a flow is closed */
	LIMIT_PCAP_FLOW_BYTES,     /* bytes buffered per flow direction */
	LIMIT_COUNT
};

struct limit_def {
	const char *name;
	long long def;
	long long min;
	long long max;
	const char *why;
};

/* limit: the current value of a limit. */
long long limit(enum limit_id id);
/* limit_def: the table entry (name, default, reason). */
const struct limit_def *limit_def(enum limit_id id);
/*
 * limit_set: apply "NAME=VALUE" (NAME case-insensitive, VALUE an integer
 * with an optional k/M/G suffix). Returns 0, or -1 with err filled.
 */
int limit_set(const char *assignment, char *err, size_t errlen);
/* limit_reset: every limit back to its default (tests). */
void limit_reset(void);
/* limit_print: the table with current values and reasons. */
void limit_print(FILE *out);

#endif
