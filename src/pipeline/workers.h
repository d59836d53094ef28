/*
 * workers.h - features and attribution on several threads, answers in order.
 *
 * One thread reads the inputs (a file or a capture: its order is the
 * answer's order) and hands each message over with workers_push(); the
 * workers each run a pipeline of their own (no store: classify) over the
 * shared, read-only knowledge base, and turn its result into bytes with
 * the caller's work function, on their thread. The reading thread gets
 * those bytes back through the emit function, in the order the messages
 * came, from within workers_push() and workers_finish().
 *
 * A message is copied when pushed (the source's item is valid only during
 * its callback). At most WORKERS_WINDOW messages or WORKERS_WINDOW_BYTES
 * bytes are in flight (one message at least, whatever its size), so memory
 * stays flat however long the input.
 */
#ifndef SPAMTIDE_PIPELINE_WORKERS_H
#define SPAMTIDE_PIPELINE_WORKERS_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/pipeline.h"
#include "source/source.h"
#include "util/buf.h"

#define WORKERS_WINDOW 256
#define WORKERS_WINDOW_BYTES (16u << 20)
#define WORKERS_MAX 16

/* On a worker's thread: the message's answer into out (empty at the call).
 * *local is the worker's own (NULL at first), for what it keeps between
 * messages; local_free releases it at the end. May be NULL. */
typedef void workers_work_fn(void *ctx, void **local, const char *name, enum pipeline_status st,
			     const struct pipeline_result *res, struct buf *out);
typedef void workers_local_free_fn(void *local);
/* On the reading thread, in input order: the message as pushed (its raw
 * bytes and path copied), what work wrote, and with rows its row (the
 * emitter's: pipeline_add_row or pipeline_row_free; NULL when the message
 * was not mail). False stops the run. */
typedef bool workers_emit_fn(void *ctx, const struct source_item *item, const char *name,
			     enum pipeline_status st, const struct buf *out, struct pipeline_row *row);

/* On the reading thread, in input order: a note pushed with workers_note
 * (an input the source skipped), where it came. False stops the run. */
typedef bool workers_note_fn(void *ctx, const char *text);

struct workers_config {
	size_t n;                            /* threads, 2..WORKERS_MAX */
	const struct pipeline_options *popt; /* each worker's pipeline (no store;
					      * the kb is shared) */
	bool rows;                           /* make each message's row (ingest) */
	bool dedup;                          /* rows carry the bytes' hash (files) */
	workers_work_fn *work;               /* may be NULL */
	workers_local_free_fn *local_free;
	workers_emit_fn *emit;
	workers_note_fn *note;               /* a note pushed, in its turn */
	void *ctx;                           /* of work and emit */
	void *note_ctx;                      /* of note */
	struct inflight *inflight;           /* worker i says there what it
					      * reads (slot 1 + i); may be NULL
					      * (pipeline/inflight.h) */
};

typedef struct workers workers;
struct inflight;

/* workers_count: the threads worth starting here: the processors this
 * process may use, at most WORKERS_MAX; 1 means run inline (no pool). */
size_t workers_count(void);

/* workers_new: NULL when a thread cannot start. */
workers *workers_new(const struct workers_config *cfg);
/* workers_push: hand a message over; emits what is ready. False once emit
 * said stop. */
bool workers_push(workers *w, const struct source_item *item, const char *name);
/* workers_note: text to hand to cfg->note in its turn among the messages
 * (so that what is said on stderr comes in the input's order, as on one
 * thread). False once emit or note said stop. */
bool workers_note(workers *w, const char *text);
/* workers_finish: every message pushed answered and emitted. */
bool workers_finish(workers *w);
/* workers_free: stops the threads (after workers_finish, or dropping what
 * is in flight). */
void workers_free(workers *w);

#endif
