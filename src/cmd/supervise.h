/*
 * supervise.h - a command's reading run in a child process, run again
 * without the message that crashed it.
 *
 * `ingest` reads archives whose bytes bots chose. Should a message crash
 * the parser (a signal: a bug in GMime, an abort when an allocation
 * fails), the rows committed before it are in the store, but the run would
 * end there, and end there again each time it was run. So the reading is
 * done by a child; the parent waits. When the child dies of a signal while
 * messages were being read (pipeline/inflight.h), the parent runs it again
 * from the start, on one thread (so that the next death names one message)
 * and with the messages in flight marked suspect; a suspect in flight at a
 * second death is skipped from then on: the next child does not read it
 * (ingest stores it from its size alone, unparsed) and reads on. Messages stored by an earlier child
 * are duplicates to the next (ingest de-duplicates by their bytes), so
 * nothing is stored twice and nothing committed is lost.
 *
 * A death in the reading itself (an mbox split, a capture's reassembly:
 * between messages) names where in which file the reading was, after which
 * message (cmd/inputs.c); that place is a suspect as a message is, and
 * twice there, the next child stores the messages before it and leaves the
 * rest of that file (said on stderr with the file and the last message),
 * then reads on with the next file.
 *
 * SIGINT, SIGTERM and SIGHUP sent to the parent are passed on to the
 * child, which ends as it would have alone; a child ended so, one that
 * dies with nothing in flight, or one that dies again where it was told to
 * skip, is not run again. A signal the parent was
 * started ignoring stays ignored. A child whose parent dies gets SIGTERM
 * (it stops reading, keeps what it stored): no reading goes on unwatched.
 */
#ifndef SPAMTIDE_CMD_SUPERVISE_H
#define SPAMTIDE_CMD_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/inflight.h"

#define SUPERVISE_MAX_SKIPS 64      /* then the run stops: not one bad message */
#define SUPERVISE_NOTES 4096        /* notes remembered; those after are said again */

struct supervised {
	struct inflight inflight;
	bool one_thread;            /* a child died: read on one thread */
	unsigned long long answered; /* messages whose answer the parent wrote
				      * (relay); the next child passes over them */
	bool partial;               /* a child skipped input: exit 3 at least
				     * (an answered message's skip is not
				     * seen again by the next child) */
	/* the notes on stderr (cmd/inputs.h) the children said, by a hash
	 * of their text (which names the input and the place in it): a
	 * child says none an earlier one did. Not by their number: a later
	 * child may say others (a skip, a message passed over unread). */
	int nnoted;
	uint64_t noted[SUPERVISE_NOTES];
	int nskip;
	char skip[SUPERVISE_MAX_SKIPS][INFLIGHT_NAME];
};

struct supervise_options {
	const char *note;           /* added to what is said at a death (ingest:
				     * what became of the rows stored), or NULL */
	bool relay;                 /* answers through supervised_answer */
};

/*
 * supervise: in the child, returns true with *sv the shared state (NULL
 * when no child could be had: the command then runs in this process, as
 * before, said on stderr). In the parent, once the last child ended,
 * returns false with *status the exit status to return (the last child's,
 * or 1 when it died and is not run again; 3 at least when a message was
 * skipped). cmd names the command in messages.
 */
bool supervise(const char *cmd, const struct supervise_options *o, struct supervised **sv,
	       int *status);
/*
 * With o->relay, each message's answer (n bytes, maybe none) goes through
 * supervised_answer, in the input's order, and the child passes over the
 * first sv->answered messages: they were answered by an earlier one. The
 * parent writes an answer to stdout only once it has it whole, so a child
 * that dies leaves no half answer and none is written twice. Without a
 * supervisor (sv NULL) the answer goes straight to stdout. The child calls
 * supervised_flush before it ends. False when the answer cannot go out.
 */
bool supervised_answer(struct supervised *sv, const void *p, size_t n);
bool supervised_flush(struct supervised *sv);
/* supervised_skip: name was skipped (store it unparsed, do not read it) */
bool supervised_skip(const struct supervised *sv, const char *name);
/* supervised_partial: the child skipped some input (sv may be NULL) */
void supervised_partial(struct supervised *sv);

#endif
