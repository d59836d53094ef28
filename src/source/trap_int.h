/*
 * trap_int.h - what the trap's files share and nothing else includes:
 * the spool (trap_spool.c), the writer thread with its group commit
 * (trap_writer.c) and privileges (trap_priv.c). The event loop is trap.c.
 */
#ifndef SPAMTIDE_SOURCE_TRAP_INT_H
#define SPAMTIDE_SOURCE_TRAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attrib/attrib.h"
#include "pipeline/child.h"
#include "smtp/smtp.h"
#include "source/trap.h"
#include "store/store.h"
#include "util/ip.h"

/* ---- the spool: a Maildir opened as directory descriptors ---- */

struct trap_spool {
	int dir, tmp, new_, cur;      /* O_DIRECTORY descriptors, -1 when closed */
	char host[64];                /* the host part of file names, sanitised */
};

/*
 * trap_spool_open: create DIR, DIR/tmp, DIR/new and DIR/cur when missing
 * (mode 0700) and open them. With owner set, the directories are given to
 * that user so the trap can still write them after dropping privileges.
 */
bool trap_spool_open(struct trap_spool *sp, const char *dir, const char *hostname,
		     bool chown_dirs, uid_t uid, gid_t gid, char *err, size_t errlen);
void trap_spool_close(struct trap_spool *sp);
/* trap_spool_name: "SEC.QUEUEID.HOST" into out. */
void trap_spool_name(const struct trap_spool *sp, int64_t sec, const char *queue_id,
		     char *out, size_t outlen);

/* ---- the writer thread ---- */

/* One message on its way to the disk; the loop allocates and frees it. */
struct trap_job {
	struct trap_job *next;
	void *owner;                  /* the session; the writer never touches it */
	struct smtp_message *msg;
	char *dialect_facts;          /* '\n'-joined, malloc'd */
	char client_ip[IP_TEXT_LEN];
	bool esmtp;
	int64_t ts;                   /* sensor clock at the end of DATA, unix seconds */
	double submitted;             /* monotonic seconds, when it was submitted */
	/* filled in by the writer */
	bool ok;                      /* durable: file in new/ and row committed */
	char queue_id[TRAP_QUEUE_ID_LEN];
	char family[64];
	enum pipeline_child_failure unparsed;   /* why it was stored unparsed */
	double waited;                /* seconds from submission to the answer */
	double commit_seconds;        /* the store commit that held it */
	size_t commit_size;           /* messages in that commit */
	bool commit_first;            /* the first job of its commit (count commits once) */
	/* the writer's own */
	char name[160];               /* file name in tmp/ and new/ */
	int fd;
	bool spooled;                 /* in new/, durable */
};

void trap_job_free(struct trap_job *j);

typedef struct trap_writer trap_writer;

struct trap_writer_config {
	store *st;                    /* the writer's from now on, until stop */
	struct trap_spool *spool;     /* borrowed */
	const char *sensor;
	const char *hostname;
	attrib_kb *kb;                /* the writer's (may be NULL) */
	const char *kb_dir;           /* where kb came from, for the parser
				       * children's reload (NULL: shipped rules) */
	int notify_fd;                /* an eventfd: written after each batch */
	int64_t up_since;             /* this run's start (store_mark_up), UTC seconds */
};

trap_writer *trap_writer_start(const struct trap_writer_config *cfg, char *err, size_t errlen);
/* trap_writer_submit: queue a job (the loop's thread). */
void trap_writer_submit(trap_writer *w, struct trap_job *j);
/* trap_writer_take_done: every finished job, in order, now the caller's. */
struct trap_job *trap_writer_take_done(trap_writer *w);
/* trap_writer_in_data: how many sessions are receiving message data now;
 * a batch waits for the messages in flight when it starts, at most
 * LIMIT_COMMIT_MS. */
void trap_writer_in_data(trap_writer *w, long n);
/* trap_writer_set_kb: use kb from the next batch on (the writer frees the old one). */
void trap_writer_set_kb(trap_writer *w, attrib_kb *kb);
/* trap_writer_mark_up: record in the store, soon, that the trap is up now
 * (every commit does too; this is for the quiet minutes). */
void trap_writer_mark_up(trap_writer *w);
/* trap_writer_stop: finish what is queued, stop the thread, free it (not the store). */
void trap_writer_stop(trap_writer *w);

/* ---- privileges ---- */

struct trap_user {
	bool set;
	uid_t uid;
	gid_t gid;
	char name[64];
};

bool trap_user_lookup(const char *name, struct trap_user *u, char *err, size_t errlen);
/* trap_drop_privileges: chroot (when dir is set), then become u; checked. */
bool trap_drop_privileges(const struct trap_user *u, const char *chroot_dir, char *err,
			  size_t errlen);
/* trap_db_path: the file of an sqlite store URL, or NULL for another backend. */
const char *trap_db_path(const char *url);

/* ---- the online detector (trap_online.c) ---- */

struct analysis_event;
typedef struct trap_online trap_online;

/*
 * trap_online_new: the event detector of src/analysis, seeded with the
 * store's last TRAP_ONLINE_HISTORY_DAYS days of minute counts, ready for
 * the minute starting at start (unix seconds, a multiple of 60). NULL with
 * err when the store cannot be read.
 */
#define TRAP_ONLINE_HISTORY_DAYS ANALYSIS_HISTORY_DAYS
trap_online *trap_online_new(store *st, int64_t start, double false_alarms, char *err,
			     size_t errlen);
/*
 * trap_online_feed: one minute's messages per family (families not named
 * sent none); returns how many events it raised, in *events (valid until
 * the next call), with their families' names in *names.
 */
size_t trap_online_feed(trap_online *o, int64_t minute, const char *const *family,
			const uint64_t *messages, size_t nfamilies,
			const struct analysis_event **events, const char *const **names);
size_t trap_online_count(const trap_online *o);
const char *trap_online_family(const trap_online *o, size_t i);
/* trap_online_state: 0 learning, 1 active, 2 ceased (analysis_family_state) */
int trap_online_state(const trap_online *o, size_t i);
void trap_online_free(trap_online *o);

#endif
