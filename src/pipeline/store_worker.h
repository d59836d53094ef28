/*
 * store_worker.h - the store's half of the pipeline in a thread of its own
 * (internal to src/pipeline/).
 *
 * When a pipeline reads files or captures, reading, features and
 * attribution of the next messages need not wait for SQLite to take the
 * last ones: the rows go through a bounded queue (its jobs hold copies of
 * everything a row needs) to one thread that owns the store from then on,
 * adds them in order and commits every batch. The caller learns of a
 * store failure at its next push or commit; what was committed before
 * stays (DESIGN.md: exit 1).
 */
#ifndef SPAMTIDE_PIPELINE_STORE_WORKER_H
#define SPAMTIDE_PIPELINE_STORE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct store_worker store_worker;

struct store_worker_counts {
	uint64_t committed;       /* rows made durable */
	uint64_t duplicates;      /* rows the store already held */
	uint64_t fallbacks;       /* committed rows with a fallback (warnings) */
};

/* A row's copy, ready to queue: made on any thread (store_worker_copy),
 * queued by one (store_worker_add_copy, which takes it), or freed. */
struct store_worker_row;
struct store_worker_row *store_worker_copy(const struct store_message *m);
const struct store_message *store_worker_row_message(const struct store_worker_row *r);
void store_worker_row_free(struct store_worker_row *r);

/* store_worker_start: the thread takes st until store_worker_stop. */
store_worker *store_worker_start(store *st, size_t batch);
/* store_worker_add: queue a copy of m (waits while the queue is full).
 * false, with the store's message in err, once the store has failed. */
bool store_worker_add(store_worker *w, const struct store_message *m, char *err, size_t errlen);
/* store_worker_add_copy: the same with a copy made before (taken, also on failure). */
bool store_worker_add_copy(store_worker *w, struct store_worker_row *r, char *err, size_t errlen);
/* store_worker_commit: wait until every queued row is added, then commit. */
bool store_worker_commit(store_worker *w, char *err, size_t errlen);
void store_worker_counts(store_worker *w, struct store_worker_counts *out);
/* store_worker_pending: rows queued or added but not committed. */
size_t store_worker_pending(store_worker *w);
/* store_worker_stop: rows not committed are dropped (as by a failed
 * commit); the store is the caller's again. */
void store_worker_stop(store_worker *w);

#endif
