/*
 * inputs.h - what ingest, classify and learn share: walking the FILE/DIR
 * arguments as messages, and the --trusted ranges.
 */
#ifndef SPAMTIDE_CMD_INPUTS_H
#define SPAMTIDE_CMD_INPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/progress.h"
#include "source/source.h"
#include "util/ip.h"

struct supervised;
struct workers;

struct inputs {
	const char *cmd;                  /* for messages: "ingest" */
	struct workers *workers;          /* the messages' workers, or NULL: the
					   * walk hands them each message (not to
					   * its fn) and says a skip in its turn
					   * through them */
	struct source_options sopt;
	struct ip_cidr *trusted;
	size_t ntrusted;
	struct supervised *sv;            /* the supervisor's shared state, or
					   * NULL: where the reading is, and the
					   * files whose rest is not read */
	bool progress;                    /* a progress line on a terminal */
	uint64_t skipped;                 /* inputs reported and skipped */
	int noted_before;                 /* sv->nnoted when this process began:
					   * the notes earlier ones said */
	struct progress prog;
};

/* Called per message; name is "path#index". Return false to stop. */
typedef bool inputs_fn(void *ctx, const struct source_item *item, const char *name);

/* inputs_add_trusted: a --trusted CIDR; false (usage error printed) when bad. */
bool inputs_add_trusted(struct inputs *in, const char *cidr);
/*
 * inputs_option: the options every command reading files shares, as
 * getopt_long returned them: 't' --trusted, 'p' --smtp-ports, 'l' --limit.
 * Any other option, or a bad value, is a usage error: printed, and false.
 */
bool inputs_option(struct inputs *in, int c, const char *arg);
/* inputs_supervised: the reading runs under a supervisor (sv, or NULL:
 * not): where it is, the files whose rest is not read, the notes said */
void inputs_supervised(struct inputs *in, struct supervised *sv);
/* inputs_walk: every message of every path; skips are reported on stderr
 * and counted (inputs_skipped; through in->workers when set). Returns false when fn asked to stop
 * or a signal came. SIGINT and SIGTERM only end the walk, until
 * inputs_free: what was read can still be finished and committed. */
bool inputs_walk(struct inputs *in, char **paths, int npaths, inputs_fn *fn, void *ctx);
/* inputs_skipped: an input the source skipped (its account), said and
 * counted; a workers_note_fn, ctx the struct inputs. */
bool inputs_skipped(void *in, const char *account);
/* inputs_note: print a line on stderr without breaking the progress line;
 * under a supervisor, not one an earlier reading process said (a reading
 * again from the start comes to the same notes) */
void inputs_note(struct inputs *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void inputs_free(struct inputs *in);
/* inputs_interrupted: SIGINT or SIGTERM arrived during a walk. */
bool inputs_interrupted(void);

#endif
