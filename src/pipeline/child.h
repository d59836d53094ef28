/*
 * child.h - the pipeline's reading of a message (features, attribution)
 * in a child process, for the trap.
 *
 * The trap parses bytes any bot on the internet chose. A bug in the MIME
 * parser, or GLib aborting when an allocation fails, must not take the
 * sensor down with every session it holds, nor do so again each time a bot
 * repeats the message. So the trap's store thread hands each message to a
 * child process that runs the same pipeline (no store; the kb shared by
 * fork) and sends the row back; the parent stores it.
 *
 * A child that dies on a message is replaced and the message tried once
 * more (the death may have had another cause: a stray kill, the OOM
 * killer); a second death, or a child that takes longer than
 * LIMIT_PARSE_MS over a message, and the message is stored from its
 * session alone (pipeline_row_unparsed: family from the dialect, its size,
 * MAIL_WARN_UNPARSED), and logged. Nothing is lost: the row is stored and
 * the message is in the spool. When no child can be had, messages are
 * read in the calling process, as before (logged once), except one a child
 * just died on: that one is stored unparsed. A child that died with its
 * zygote is not taken to have died of its message.
 *
 * The child and the zygote ignore SIGINT, SIGTERM and SIGHUP (a
 * terminal's ^C or a service manager signals the whole group: the trap
 * drains and then ends them), die with their parent (PR_SET_PDEATHSIG),
 * and keep no descriptor but their socket and stdio. The calling process
 * becomes the subreaper of its descendants (a child whose zygote died is
 * reaped by it).
 *
 * The children are forked by a helper process (the zygote) that has a
 * single thread, so no lock another thread held is held in a child: call
 * pipeline_child_new while the process still has one thread (the trap:
 * before its writer threads start; after the privilege drop, so the
 * helpers run as the trap's user). m->ctx is not carried (the trap has
 * none).
 */
#ifndef SPAMTIDE_PIPELINE_CHILD_H
#define SPAMTIDE_PIPELINE_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/pipeline.h"

typedef struct pipeline_child pipeline_child;

/* Why a message was stored unparsed. */
enum pipeline_child_failure {
	PIPELINE_CHILD_OK,
	PIPELINE_CHILD_DIED,         /* the child died on it twice */
	PIPELINE_CHILD_TIMEOUT,      /* LIMIT_PARSE_MS passed */
};

struct pipeline_child_options {
	struct pipeline_options pipeline;   /* no store: rows only */
	const char *kb_dir;                 /* what pipeline_child_reload loads
					     * (NULL: the shipped rules) */
	/* tests: called in the child before each message is read */
	void (*before_read)(const struct pipeline_message *m);
	/* tests: called in the zygote before each fork; true makes the fork
	 * fail as it does when memory or processes run out */
	bool (*fork_refused)(void);
};

/* pipeline_child_new: starts the zygote; the child is forked at the first
 * message. Call it while the process has one thread. */
pipeline_child *pipeline_child_new(const struct pipeline_child_options *opt);
/* pipeline_child_reload: kb (the caller's, loaded from kb_dir) for the
 * rows made here, and kb_dir loaded again for the children; the child
 * running now is ended. false, with why in err, when the children keep
 * the old one. */
bool pipeline_child_reload(pipeline_child *c, const attrib_kb *kb, char *err, size_t errlen);
/* pipeline_child_free: ends the child (SIGKILL: it holds nothing). */
void pipeline_child_free(pipeline_child *c);

/* pipeline_child_rows: the rows of m[0..n), in order, never NULL (each for
 * pipeline_add_row to take); failures[i] says whether m[i] was read. The
 * messages stream to the child while the rows come back, so a batch costs
 * the two processes' wake-ups once, not once per message. */
void pipeline_child_rows(pipeline_child *c, const struct pipeline_message *const *m, size_t n,
			 struct pipeline_row **rows, enum pipeline_child_failure *failures);
/* pipeline_child_row: the same for one message. */
struct pipeline_row *pipeline_child_row(pipeline_child *c, const struct pipeline_message *m,
					enum pipeline_child_failure *failure);

/* pipeline_child_pid: the child's pid, 0 when none runs (tests). */
int pipeline_child_pid(const pipeline_child *c);

#endif
