/*
 * inflight.h - which message each reading thread is in the middle of, kept
 * where a supervising process can see it after this one died.
 *
 * A file from a quarantine holds bytes some bot chose. Should one of them
 * crash the parser (a bug in GMime, an allocation that fails), the process
 * that ran `ingest` is gone with it; the process that supervises it
 * (cmd/supervise.h) reads here which messages were being read, and runs
 * the reading again without them. The slots live in memory shared with
 * that process (mmap, MAP_SHARED); a thread writes only its own slot.
 * Slot 0 is the reading thread's (one thread), slot 1 + i worker i's.
 * Slot INFLIGHT_READ says where in its input the reading thread is while
 * it reads the next message out of it (an mbox split, a capture's TCP
 * reassembly): "path#K+", the file and the last message it gave (0: at its
 * start); no message's name ("path#K") ends so.
 */
#ifndef SPAMTIDE_PIPELINE_INFLIGHT_H
#define SPAMTIDE_PIPELINE_INFLIGHT_H

#include <stddef.h>
#include <string.h>

#include "pipeline/workers.h"

#define INFLIGHT_SLOTS (WORKERS_MAX + 2)
#define INFLIGHT_READ (WORKERS_MAX + 1)
#define INFLIGHT_NAME 1024    /* a name longer than this keeps its end */

struct inflight {
	struct {
		int busy;
		char name[INFLIGHT_NAME];
	} slot[INFLIGHT_SLOTS];
};

/* inflight_key: name as a slot holds it: whole, or "..." and its end when
 * too long (the end, "#N", tells the messages of one long path apart) */
static inline void inflight_key(const char *name, char out[INFLIGHT_NAME])
{
	size_t n = strlen(name);

	if (n < INFLIGHT_NAME) {
		memcpy(out, name, n + 1);
		return;
	}
	memcpy(out, "...", 3);
	memcpy(out + 3, name + n - (INFLIGHT_NAME - 4), INFLIGHT_NAME - 4);
	out[INFLIGHT_NAME - 1] = '\0';
}

/* inflight_begin: slot i reads name now (f may be NULL: not supervised) */
static inline void inflight_begin(struct inflight *f, size_t i, const char *name)
{
	if (!f || i >= INFLIGHT_SLOTS)
		return;
	inflight_key(name, f->slot[i].name);
	/* the name is whole before the slot says busy */
	__atomic_store_n(&f->slot[i].busy, 1, __ATOMIC_RELEASE);
}

static inline void inflight_end(struct inflight *f, size_t i)
{
	if (f && i < INFLIGHT_SLOTS)
		__atomic_store_n(&f->slot[i].busy, 0, __ATOMIC_RELEASE);
}

#endif
