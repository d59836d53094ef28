/*
 * trap.h - the live SMTP spam trap: sockets, TLS, spool, group commit.
 *
 * The trap listens on one or more addresses, drives the pure SMTP core
 * (smtp/smtp.h) from libevent bufferevents, one state struct per session
 * with its own timer, and accepts every message for any recipient; it
 * never relays. Each message becomes a Maildir file in the spool (the
 * bytes after DATA, preceded only by Return-Path: and the trap's own
 * Received: line) and a row in the store (features, attribution, dialect)
 * through the pipeline.
 *
 * Durability: the "250 ... queued as ID" for a message is sent only after
 * its spool file is on disk and its row is committed. A writer thread
 * owns the spool, the pipeline and the store; it flushes many sessions'
 * messages with one set of syncs (group commit, docs/trap.md) and hands
 * the results back to the event loop. A failure answers 451 and claims
 * nothing: the batch's files are removed and its rows rolled back.
 *
 * Signals (while trap_run runs): SIGTERM and SIGINT drain (stop
 * accepting; sessions get LIMIT_DRAIN_MS to finish, then 421; whatever
 * was acknowledged is durable) and trap_run returns TRAP_OK; SIGHUP
 * reopens the log and reloads the knowledge base.
 *
 * Limits (util/limits.h, read when trap_open runs): the SMTP core's, plus
 * LIMIT_SMTP_IDLE_MS, LIMIT_SMTP_SESSION_MS, LIMIT_SMTP_BANNER_DELAY_MS,
 * LIMIT_SESSIONS and LIMIT_SESSIONS_PER_CLIENT (beyond them: "421 4.7.0
 * ... too many connections" and close), LIMIT_DRAIN_MS, LIMIT_COMMIT_MS
 * and LIMIT_COMMIT_BATCH. A client that does not read its replies stops
 * being read (TRAP_OUTPUT_HIGH bytes of replies pending at most).
 *
 * Least privilege: trap_open binds the sockets and opens the store, spool,
 * TLS key and knowledge base, then chroots (optional) and drops to the
 * user (setgroups, setgid, setuid, checked). Nothing is served before
 * trap_run, so no client is ever served with the rights trap_open had.
 *
 * Errors: trap_open and trap_run return TRAP_FAILED with err filled; the
 * library prints nothing except through util/log.h (one line per session,
 * and the trap's own notices).
 */
#ifndef SPAMTIDE_SOURCE_TRAP_H
#define SPAMTIDE_SOURCE_TRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/buf.h"

#define TRAP_OUTPUT_HIGH (64 * 1024)  /* reply bytes pending before reading stops */
#define TRAP_QUEUE_ID_LEN 24          /* 17 hex digits and room, with the NUL */
#define TRAP_HELO_MAX 255             /* HELO bytes kept in a Received: line */
#define TRAP_ADDRESS_MAX 512          /* envelope address bytes kept in the header */

/*
 * The per-minute hook: where the online detector will plug in. Called on
 * the event loop once a minute (wall clock, minute-aligned) with the
 * messages stored in that minute per family.
 */
struct trap_minute {
	int64_t minute;               /* start of the minute, unix seconds */
	const char *const *family;    /* families with messages in it */
	const uint64_t *messages;     /* messages per family */
	size_t nfamilies;
	uint64_t sessions;            /* sessions that ended in it */
};
typedef void trap_minute_fn(void *ctx, const struct trap_minute *m);

struct trap_options {
	const char *const *listen;    /* "ADDR:PORT" or "[ADDR]:PORT"; port 0: any */
	size_t nlisten;
	const char *http;             /* ADDR:PORT for /metrics, or NULL */
	const char *tls_cert;         /* PEM chain; with tls_key: STARTTLS offered */
	const char *tls_key;
	const char *sensor;           /* stored with each message */
	const char *hostname;         /* banner, EHLO and Received:; NULL: gethostname */
	const char *spool;            /* the Maildir; created when missing */
	const char *db;               /* store URL, opened STORE_WRITE_DURABLE */
	const char *kb;               /* knowledge base directory, or NULL */
	const char *user;             /* drop to this user, or NULL */
	const char *chroot;           /* chroot here after opening, or NULL */
	bool syslog;                  /* logs go to syslog (the caller set log_init) */
	double false_alarms;          /* online detector; 0: ANALYSIS_ONLINE_FALSE_ALARMS */
	trap_minute_fn *on_minute;    /* NULL: none */
	void *minute_ctx;
};

enum trap_status {
	TRAP_OK,
	TRAP_FAILED,
};

typedef struct trap trap;

/*
 * trap_open: bind, open, chroot and drop privileges; logs each address
 * bound as "listening on ADDR:PORT" (also "metrics on ..."). Nothing is
 * served until trap_run.
 */
enum trap_status trap_open(const struct trap_options *opt, trap **out, char *err, size_t errlen);
/* trap_run: serve until SIGTERM/SIGINT has drained every session. */
enum trap_status trap_run(trap *t, char *err, size_t errlen);
void trap_close(trap *t);

/* ---- pieces with no sockets (tests) ---- */

/*
 * trap_parse_endpoint: "192.0.2.1:25", "[2001:db8::1]:25", "[::]:0" into
 * a socket address. Host names are refused: a trap binds addresses.
 */
bool trap_parse_endpoint(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
			 char *err, size_t errlen);

/*
 * trap_check_chroot: with opt->chroot set, the spool, the store (sqlite)
 * and the knowledge base must lie inside it; false with err otherwise
 * (a usage error). True without a chroot.
 */
bool trap_check_chroot(const struct trap_options *opt, char *err, size_t errlen);

/*
 * trap_path_inside: where path will be once root is the chroot: its real
 * path with root's real path cut off ("/spool"); false when it is outside.
 * path need not exist yet; its closest existing parent decides.
 */
bool trap_path_inside(const char *root, const char *path, char *inside, size_t insidelen,
		      char *err, size_t errlen);

/* What the spool header says about one message. */
struct trap_trace {
	const char *helo;             /* as the client sent it (sanitised here) */
	const char *client_ip;        /* text form */
	const char *hostname;         /* the trap's */
	const char *queue_id;
	const char *mail_from;        /* without <> */
	const char *const *rcpts;     /* "for <rcpt>" when there is exactly one */
	size_t nrcpts;
	bool esmtp;                   /* EHLO was used */
	bool tls;                     /* received inside TLS */
	int64_t ts;                   /* unix seconds */
};

/*
 * trap_spool_header: "Return-Path: <FROM>\r\n" and "Received: from HELO
 * (unknown [IP])\r\n\tby HOST (spamtide) with ESMTPS id ID\r\n\tfor
 * <RCPT>; DATE\r\n", appended to out. HELO and addresses keep only
 * printable non-space ASCII (others become '?'), bounded by TRAP_HELO_MAX
 * and TRAP_ADDRESS_MAX; an empty HELO is written "unknown"; an IPv6
 * client is [IPv6:...].
 */
void trap_spool_header(struct buf *out, const struct trap_trace *tr);

/* trap_queue_id: a queue id from a time and a sequence number. */
void trap_queue_id(char out[TRAP_QUEUE_ID_LEN], int64_t sec, long usec, unsigned seq);

#endif
