/*
 * child.h - the pipeline's reading of a message (features, attribution)
 * in a child process, for the trap.
 *
 * The trap parses bytes any bot on the internet chose. A bug in the MIME
 * parser, or GLib aborting when an allocation fails, must not take the
 * sensor down with every session it holds, nor do so again each time a bot
 * repeats the message. So the trap's store thread hands each message to a
 * forked child that runs the same pipeline (no store; the kb is the
 * parent's, shared by fork) and sends the row back; the parent stores it.
 *
 * A child that dies on a message is replaced and the message tried once
 * more (the death may have had another cause: a stray kill, the OOM
 * killer); a second death, or a child that takes longer than
 * LIMIT_PARSE_MS over a message, and the message is stored from its
 * session alone (pipeline_row_unparsed: family from the dialect, its size,
 * MAIL_WARN_UNPARSED), and logged. Nothing is lost: the row is stored and
 * the message is in the spool. When no child can be forked, the message
 * is read in the calling process, as before (logged once).
 *
 * The child ignores SIGINT, SIGTERM and SIGHUP (a terminal's ^C or a
 * service manager signals the whole group: the trap drains and then ends
 * it), dies with the thread that forked it (PR_SET_PDEATHSIG), and keeps
 * no descriptor but its socket and stdio.
 *
 * Fork from the one thread that reads messages (the trap's store thread):
 * it is then the only thread that was inside GMime, so no lock of the
 * parser's is held when the child starts. m->ctx is not carried (the trap
 * has none).
 */
#ifndef SPAMTIDE_PIPELINE_CHILD_H
#define SPAMTIDE_PIPELINE_CHILD_H

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
	/* tests: called in the child before each message is read */
	void (*before_read)(const struct pipeline_message *m);
};

/* pipeline_child_new: the child is forked at the first message. */
pipeline_child *pipeline_child_new(const struct pipeline_child_options *opt);
/* pipeline_child_free: ends the child (SIGKILL: it holds nothing). */
void pipeline_child_free(pipeline_child *c);

/* pipeline_child_row: m's row, never NULL (pipeline_add_row takes it);
 * *failure says whether it was read. */
struct pipeline_row *pipeline_child_row(pipeline_child *c, const struct pipeline_message *m,
					enum pipeline_child_failure *failure);

/* pipeline_child_pid: the child's pid, 0 when none runs (tests). */
int pipeline_child_pid(const pipeline_child *c);

#endif
