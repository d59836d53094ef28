/*
 * pipeline.h - the one path every message takes: features -> attribution
 * -> store.
 *
 * Every source pushes into it: the file readers (mbox, Maildir, .eml),
 * pcap replay and the live trap. A message comes with what its source knows
 * (struct pipeline_message): raw bytes, receive time and session facts when
 * there was an SMTP session, From_ line and mtime for files.
 *
 * Durability: pipeline_push() adds to the current batch; the batch is
 * committed when it is full (LIMIT_COMMIT_BATCH) or on pipeline_commit().
 * A message is durable only after the commit that holds it returned
 * PIPELINE_OK; the trap answers 250 only then (group commit).
 *
 * Errors: a store failure is returned as PIPELINE_STORE_FAILED with the
 * message in err; the caller stops (DESIGN.md: exit 1). Everything
 * committed before stays.
 */
#ifndef SPAMTIDE_PIPELINE_PIPELINE_H
#define SPAMTIDE_PIPELINE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/features.h"
#include "util/hash.h"

struct store;
typedef struct attrib_kb attrib_kb;

/* What an SMTP session (live or from a capture) says about one message. */
struct pipeline_session {
	const char *client_ip;
	const char *helo;
	const char *mail_from;
	unsigned rcpt_count;
	const char *dialect_id;      /* stable id of the normalised dialect */
	const char *dialect_facts;   /* '\n'-joined key=value facts */
	bool encrypted;              /* STARTTLS: no content, dialect only */
	const char *identity;        /* without content: what tells this session
				      * from any other, hashed for de-duplication
				      * (a capture: its flow and time), or NULL */
	int64_t ts;                  /* end of DATA: sensor clock or packet time */
};

struct pipeline_message {
	const char *raw;             /* message bytes; NULL/0 for an encrypted session */
	size_t len;
	const char *source;          /* "file#index", or "trap:sensor#n" */
	const struct mail_context *ctx;          /* may be NULL */
	const struct pipeline_session *session;  /* NULL for files */
	bool dedup;                  /* skip when these exact bytes are stored with
				      * the same receive time */
};

enum pipeline_status {
	PIPELINE_OK,
	PIPELINE_DUPLICATE,          /* already stored (file ingest only) */
	PIPELINE_NOT_MAIL,           /* nothing in it parses as a message */
	PIPELINE_STORE_FAILED,       /* the store could not be written: stop */
};

/* The answer for one message, as stored (and as classify prints it);
 * valid until the next push. */
struct pipeline_result {
	const char *family;          /* "unknown" when no family claims it */
	double confidence;
	const char *campaign;        /* "campaign:xxxxxxxx", NULL without text */
	unsigned warnings;           /* enum mail_warning bits */
	bool encrypted;
	const struct mail_features *features;
	const struct attrib_result *attribution;   /* evidence */
};

struct pipeline_options {
	const char *sensor;          /* sensor name stored with each message */
	const attrib_kb *kb;         /* knowledge base; NULL: everything unknown */
	bool store_thread;           /* rows stored by a thread of their own
				      * (files and captures): pipeline_push
				      * then answers PIPELINE_OK for a row
				      * queued, duplicates are only counted,
				      * and a store failure comes at the next
				      * push or commit */
};

/* What the store made of the rows pushed so far. */
struct pipeline_counts {
	uint64_t committed;          /* durable */
	uint64_t duplicates;         /* already stored: skipped */
	uint64_t fallbacks;          /* durable, stored with a fallback */
};

typedef struct pipeline pipeline;
struct attrib_session;

/* pipeline_session_apply: what a session tells features (ctx) and
 * attribution (as) about its message; both are left as they are for a
 * file (ses NULL). learn uses it too, so a sample is read as the pipeline
 * reads a message. */
void pipeline_session_apply(const struct pipeline_session *ses, struct mail_context *ctx,
			    struct attrib_session *as);

pipeline *pipeline_new(struct store *st, const struct pipeline_options *opt);
enum pipeline_status pipeline_push(pipeline *p, const struct pipeline_message *m,
				   struct pipeline_result *res, char *err, size_t errlen);
/*
 * Rows made on other threads (pipeline/workers.h): pipeline_row copies the
 * row of the message just pushed into a pipeline without a store (opt's
 * sensor is stored with it); pipeline_add_row stores it through a pipeline
 * with one, as pipeline_push would have (it takes the row). Rows are added
 * in the order they come.
 */
struct pipeline_row;
struct pipeline_row *pipeline_row(pipeline *p, const struct pipeline_message *m,
				  const struct pipeline_result *res);
enum pipeline_status pipeline_add_row(pipeline *p, struct pipeline_row *row, char *err, size_t errlen);
/* pipeline_row_unparsed: the row of a message whose bytes could not be read
 * (the parser died on them or ran out of time: pipeline/child.h): family
 * and features from its session alone, its size, MAIL_WARN_UNPARSED. */
struct pipeline_row *pipeline_row_unparsed(pipeline *p, const struct pipeline_message *m);
/* pipeline_message_digest: the hash m is deduplicated by (its bytes, or an
 * encrypted session's identity); false when it is not to be. */
bool pipeline_message_digest(const struct pipeline_message *m, unsigned char digest[HASH_DIGEST_LEN]);
/* pipeline_row_family: the family a row holds. */
const char *pipeline_row_family(const struct pipeline_row *row);
void pipeline_row_free(struct pipeline_row *row);
/* pipeline_flush: do the store's work for what was pushed so far, short of
 * the commit itself (store_flush); nothing when a store worker writes. */
enum pipeline_status pipeline_flush(pipeline *p, char *err, size_t errlen);

/* pipeline_commit: make everything pushed so far durable. */
enum pipeline_status pipeline_commit(pipeline *p, char *err, size_t errlen);
/* pipeline_pending: messages pushed but not yet committed. */
size_t pipeline_pending(const pipeline *p);
/* pipeline_committed: messages made durable so far. */
uint64_t pipeline_committed(const pipeline *p);
void pipeline_counts(const pipeline *p, struct pipeline_counts *out);
void pipeline_free(pipeline *p);

#endif
