/*
 * trap_writer.c - the trap's writer: group commit of spool files and store
 * rows, in two threads that work on the same batches at the same time.
 *
 * The event loop submits one job per finished message.
 *
 *   spool thread: takes every job queued (at most LIMIT_COMMIT_BATCH - 1;
 *     if other sessions are receiving message data at that moment, it
 *     waits for those messages, up to LIMIT_COMMIT_MS) and writes each
 *     message into tmp/. It
 *     hands the batch to the store thread, makes every file's data durable
 *     with one syncfs(), renames the files into new/, fsyncs new/, and goes
 *     on with the next batch.
 *   store thread: takes every batch handed over and pushes their messages
 *     through the pipeline (features, attribution, rows in one open
 *     transaction) while the files are synced. Once the files' data is
 *     durable it commits (the store runs with synchronous=FULL), while new/
 *     is being synced; once both are done it answers.
 *
 * So a job is ok (250) only when its file is durable in new/ and its row
 * is committed, and a row is never committed before its file's data is on
 * disk. When the sync of the data, a rename or the commit fails, the
 * transaction is rolled back and the files are removed: 451, nothing
 * kept. When only the sync of new/ fails after the commit, file and row
 * stay, unacknowledged (451), as for a client that vanished before its
 * 250. A file that could not be written fails only its own job, at once.
 * The parse and attribution of a batch overlap its sync, and its commit
 * overlaps both the sync of new/ and the writing of the next batch.
 *
 * Every commit also moves this run's last sign of life on (store_mark_up),
 * and so does a minute's heartbeat when nothing is committed, so that a
 * report knows when the trap was down (store.h).
 *
 * The answers go back to the loop through the done list and a write to
 * notify_fd (an eventfd). One mutex guards the job queue, the done list,
 * the in-data hint and a knowledge base waiting to be swapped in; a second
 * guards the batches' states between the two threads. A job's message and
 * envelope are read-only once handed over; its file fields belong to the
 * spool thread until its batch is durable or failed, then to the store
 * thread. The pipeline and the store belong to the store thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/child.h"
#include "pipeline/pipeline.h"
#include "source/trap_int.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum batch_state {
	BATCH_WRITTEN,                /* files in tmp/ */
	BATCH_DATA_DURABLE,           /* file data synced, files renamed into new/ */
	BATCH_DURABLE,                /* new/ synced too */
	BATCH_FAILED,                 /* a sync or rename failed */
};

struct batch {
	struct batch *next;
	struct trap_job *jobs;
	enum batch_state state;       /* guarded by smu */
};

struct trap_writer {
	pthread_t spool_thread, store_thread;
	bool spool_started, store_started;

	pthread_mutex_t mu;           /* queue, done list, hint, new kb */
	pthread_cond_t cv;
	struct trap_job *head, *tail;
	size_t queued;
	struct trap_job *done_head, *done_tail;
	long in_data;                 /* sessions receiving message data now */
	unsigned long data_ended;     /* times a session stopped receiving data */
	bool stop;
	attrib_kb *new_kb;
	bool have_new_kb;

	pthread_mutex_t smu;          /* batches: spool thread -> store thread */
	pthread_cond_t scv;
	struct batch *batches, *batches_tail;
	bool spool_done;              /* the spool thread has exited */
	bool mark_pending;            /* a heartbeat asked for */

	/* the spool stage's own */
	struct trap_spool *sp;
	char *hostname;
	unsigned seq;
	struct buf header;

	/* the store stage's own */
	store *st;
	pipeline *pl;
	pipeline_child *parser;       /* reads each message in a child process */
	attrib_kb *kb;
	char *sensor;
	struct buf source;
	int64_t up_since;
	bool mark_failed;             /* said once in the log */

	int notify_fd;
};

void trap_job_free(struct trap_job *j)
{
	if (!j)
		return;
	smtp_message_free(j->msg);
	free(j->dialect_facts);
	free(j);
}

static struct trap_job *list_last(struct trap_job *j)
{
	while (j && j->next)
		j = j->next;
	return j;
}

/* finish: jobs answered (ok or not) go back to the loop */
static void finish(struct trap_writer *w, struct trap_job *jobs)
{
	double now = time_mono();
	struct trap_job *j;
	uint64_t one = 1;

	if (!jobs)
		return;
	for (j = jobs; j; j = j->next)
		j->waited = now - j->submitted;
	pthread_mutex_lock(&w->mu);
	if (w->done_tail)
		w->done_tail->next = jobs;
	else
		w->done_head = jobs;
	w->done_tail = list_last(jobs);
	pthread_mutex_unlock(&w->mu);
	while (write(w->notify_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* remove: the files of jobs, from new/ or tmp/ (a failed batch) */
static void remove_files(struct trap_writer *w, struct trap_job *jobs)
{
	struct trap_job *j;
	bool any = false;

	for (j = jobs; j; j = j->next) {
		if (!j->name[0])
			continue;
		if (j->spooled) {
			unlinkat(w->sp->new_, j->name, 0);
			any = true;
		} else {
			unlinkat(w->sp->tmp, j->name, 0);
		}
		j->spooled = false;
	}
	if (any)
		(void)fsync(w->sp->new_);
}

/* ---- the spool stage ---- */

/* write_file: the job's spool file in tmp/, left open for the sync */
static void write_file(struct trap_writer *w, struct trap_job *j)
{
	struct smtp_message *m = j->msg;
	struct trap_trace tr;
	struct timespec now;
	struct iovec iov[2];
	size_t want, done = 0;
	int tries, k = 0;

	j->fd = -1;
	j->name[0] = '\0';
	for (tries = 0; tries < 16; tries++) {
		clock_gettime(CLOCK_REALTIME, &now);
		trap_queue_id(j->queue_id, now.tv_sec, now.tv_nsec / 1000, w->seq++);
		trap_spool_name(w->sp, j->ts, j->queue_id, j->name, sizeof(j->name));
		j->fd = openat(w->sp->tmp, j->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (j->fd >= 0 || errno != EEXIST)
			break;
	}
	if (j->fd < 0) {
		log_error("spool tmp/%s: cannot create: %s", j->name, strerror(errno));
		j->name[0] = '\0';
		return;
	}
	memset(&tr, 0, sizeof(tr));
	tr.helo = m->helo;
	tr.client_ip = j->client_ip;
	tr.hostname = w->hostname;
	tr.queue_id = j->queue_id;
	tr.mail_from = m->mail_from;
	tr.rcpts = m->rcpts;
	tr.nrcpts = m->nrcpts;
	tr.esmtp = j->esmtp;
	tr.tls = m->tls;
	tr.ts = j->ts;
	buf_reset(&w->header);
	trap_spool_header(&w->header, &tr);
	iov[0].iov_base = w->header.data;
	iov[0].iov_len = w->header.len;
	iov[1].iov_base = m->data.data;
	iov[1].iov_len = m->data.len;
	want = w->header.len + m->data.len;
	while (done < want) {
		ssize_t r = writev(j->fd, iov + k, 2 - k);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_error("spool tmp/%s: cannot write: %s", j->name,
				  r < 0 ? strerror(errno) : "no progress");
			close(j->fd);
			j->fd = -1;
			unlinkat(w->sp->tmp, j->name, 0);
			j->name[0] = '\0';
			return;
		}
		done += (size_t)r;
		while (k < 2 && (size_t)r >= iov[k].iov_len) {
			r -= (ssize_t)iov[k].iov_len;
			iov[k].iov_len = 0;
			k++;
		}
		if (k < 2) {
			iov[k].iov_base = (char *)iov[k].iov_base + r;
			iov[k].iov_len -= (size_t)r;
		}
	}
}

/* write_batch: the files of batch; returns the jobs written, answers the others */
static struct trap_job *write_batch(struct trap_writer *w, struct trap_job *batch)
{
	struct trap_job *j, *next, *good = NULL, *good_tail = NULL, *bad = NULL, *bad_tail = NULL;

	for (j = batch; j; j = next) {
		next = j->next;
		j->next = NULL;
		j->ok = false;
		j->spooled = false;
		snprintf(j->family, sizeof(j->family), "unknown");
		write_file(w, j);
		if (j->fd >= 0) {
			if (good_tail)
				good_tail->next = j;
			else
				good = j;
			good_tail = j;
		} else {
			if (bad_tail)
				bad_tail->next = j;
			else
				bad = j;
			bad_tail = j;
		}
	}
	finish(w, bad);
	return good;
}

static void set_state(struct trap_writer *w, struct batch *b, enum batch_state st)
{
	pthread_mutex_lock(&w->smu);
	b->state = st;
	pthread_cond_broadcast(&w->scv);
	pthread_mutex_unlock(&w->smu);
}

/*
 * sync_batch: one syncfs for every file, rename into new/ (the store
 * thread may commit from here on), fsync new/. The batch ends durable or
 * failed; then it is the store thread's.
 */
static void sync_batch(struct trap_writer *w, struct batch *b)
{
	struct trap_job *j;
	bool ok = true;
	char err[256] = "";

	if (syncfs(w->sp->tmp) != 0) {
		snprintf(err, sizeof(err), "syncfs: %s", strerror(errno));
		ok = false;
	}
	for (j = b->jobs; j && ok; j = j->next) {
		if (renameat(w->sp->tmp, j->name, w->sp->new_, j->name) != 0) {
			snprintf(err, sizeof(err), "rename tmp/%s to new/: %s", j->name, strerror(errno));
			ok = false;
			break;
		}
		j->spooled = true;
	}
	for (j = b->jobs; j; j = j->next) {
		close(j->fd);
		j->fd = -1;
	}
	if (ok) {
		set_state(w, b, BATCH_DATA_DURABLE);
		if (fsync(w->sp->new_) != 0) {
			snprintf(err, sizeof(err), "fsync new/: %s", strerror(errno));
			ok = false;
		}
	}
	if (!ok)
		log_error("spool: messages not made durable (each answered 451): %s", err);
	set_state(w, b, ok ? BATCH_DURABLE : BATCH_FAILED);
}

static void add_ms(struct timespec *ts, long long ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* spool_finished: no more batches will come; the store thread may end */
static void spool_finished(struct trap_writer *w)
{
	pthread_mutex_lock(&w->smu);
	w->spool_done = true;
	pthread_cond_broadcast(&w->scv);
	pthread_mutex_unlock(&w->smu);
}

static void *spool_main(void *arg)
{
	struct trap_writer *w = arg;
	size_t max = (size_t)limit(LIMIT_COMMIT_BATCH);
	long long window = limit(LIMIT_COMMIT_MS);

	if (max > 1)
		max--;        /* the pipeline commits by itself at LIMIT_COMMIT_BATCH */
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct trap_job *batch, *last;
		size_t n;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->head)
			break;
		if (window > 0 && !w->stop && w->queued < max && w->in_data > 0) {
			/* wait for the messages being received now, not for
			 * those that start meanwhile */
			unsigned long target = w->data_ended + (unsigned long)w->in_data;
			struct timespec deadline;

			clock_gettime(CLOCK_REALTIME, &deadline);
			add_ms(&deadline, window);
			while (!w->stop && w->queued < max && (long)(target - w->data_ended) > 0)
				if (pthread_cond_timedwait(&w->cv, &w->mu, &deadline) == ETIMEDOUT)
					break;
		}
		batch = last = w->head;
		for (n = 1; n < max && last->next; n++)
			last = last->next;
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		w->queued -= n;
		pthread_mutex_unlock(&w->mu);

		batch = write_batch(w, batch);
		if (batch) {
			struct batch *b = xcalloc(1, sizeof(*b));

			b->jobs = batch;
			b->state = BATCH_WRITTEN;
			pthread_mutex_lock(&w->smu);
			if (w->batches_tail)
				w->batches_tail->next = b;
			else
				w->batches = b;
			w->batches_tail = b;
			pthread_cond_broadcast(&w->scv);
			pthread_mutex_unlock(&w->smu);
			sync_batch(w, b);
		}
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	spool_finished(w);
	return NULL;
}

/* ---- the store stage ---- */

static void new_pipeline(struct trap_writer *w)
{
	struct pipeline_options popt = { .sensor = w->sensor, .kb = w->kb };

	pipeline_free(w->pl);
	w->pl = pipeline_new(w->st, &popt);
}

/* push: every batch's rows into the open transaction, read by the parser
 * child in one stream; false on a store error */
static bool push(struct trap_writer *w, struct batch *batches, char *err, size_t errlen)
{
	struct pipeline_session *ses;
	struct pipeline_message *pm;
	const struct pipeline_message **mp;
	struct pipeline_row **rows;
	enum pipeline_child_failure *failures;
	struct trap_job **jobs, *j;
	struct batch *b;
	size_t n = 0, i, *off;
	bool ok = true;

	for (b = batches; b; b = b->next)
		for (j = b->jobs; j; j = j->next)
			n++;
	if (n == 0)
		return true;
	ses = xcalloc(n, sizeof(*ses));
	pm = xcalloc(n, sizeof(*pm));
	mp = xcalloc(n, sizeof(*mp));
	rows = xcalloc(n, sizeof(*rows));
	failures = xcalloc(n, sizeof(*failures));
	jobs = xcalloc(n, sizeof(*jobs));
	off = xcalloc(n, sizeof(*off));
	buf_reset(&w->source);
	i = 0;
	for (b = batches; b; b = b->next)
		for (j = b->jobs; j; j = j->next) {
			jobs[i] = j;
			off[i] = w->source.len;
			buf_printf(&w->source, "trap:%s#%s", w->sensor, j->queue_id);
			buf_addch(&w->source, '\0');
			i++;
		}
	for (i = 0; i < n; i++) {
		struct smtp_message *m = jobs[i]->msg;

		ses[i].client_ip = jobs[i]->client_ip;
		ses[i].helo = m->helo;
		ses[i].mail_from = m->mail_from;
		ses[i].rcpt_count = (unsigned)m->nrcpts;
		ses[i].dialect_id = m->dialect_id;
		ses[i].dialect_facts = jobs[i]->dialect_facts;
		ses[i].encrypted = false;
		ses[i].ts = jobs[i]->ts;
		pm[i].raw = m->data.data;
		pm[i].len = m->data.len;
		pm[i].source = w->source.data + off[i];
		pm[i].session = &ses[i];
		pm[i].dedup = false;    /* the trap never de-duplicates */
		mp[i] = &pm[i];
	}
	pipeline_child_rows(w->parser, mp, n, rows, failures);
	for (i = 0; i < n; i++) {
		j = jobs[i];
		j->unparsed = failures[i];
		snprintf(j->family, sizeof(j->family), "%s", pipeline_row_family(rows[i]));
		if (!ok)
			pipeline_row_free(rows[i]);
		else if (pipeline_add_row(w->pl, rows[i], err, errlen) == PIPELINE_STORE_FAILED)
			ok = false;
	}
	free(ses);
	free(pm);
	free(mp);
	free(rows);
	free(failures);
	free(jobs);
	free(off);
	return ok;
}

/* mark_up: this run was up until now (inside the open batch, if any).
 * A failure is logged, never fails messages: the rows matter more. */
static void mark_up(struct trap_writer *w)
{
	struct timespec ts;
	char err[512];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (store_mark_up(w->st, w->sensor, w->up_since, (int64_t)ts.tv_sec, err, sizeof(err)) != STORE_OK) {
		if (!w->mark_failed)
			log_warn("store: cannot record the uptime: %s", err);
		w->mark_failed = true;
	} else {
		w->mark_failed = false;
	}
}

/* wait_batches: until every batch has reached at least state (or failed) */
static bool wait_batches(struct trap_writer *w, struct batch *batches, enum batch_state state)
{
	struct batch *b;
	bool ok = true;

	pthread_mutex_lock(&w->smu);
	for (b = batches; b; b = b->next) {
		while (b->state < state)
			pthread_cond_wait(&w->scv, &w->smu);
		if (b->state == BATCH_FAILED)
			ok = false;
	}
	pthread_mutex_unlock(&w->smu);
	return ok;
}

/*
 * store_batches: push the rows while the files are synced, commit once
 * the files' data is durable (while new/ is synced), answer once both are
 * done. A commit that fails takes the files back; new/ that cannot be
 * synced after the commit leaves file and row, unacknowledged (as for a
 * client gone before its 250).
 */
static void store_batches(struct trap_writer *w, struct batch *batches)
{
	struct trap_job *jobs = NULL, *tail = NULL, *j;
	struct batch *b, *bn;
	char err[512] = "";
	double t0 = time_mono(), secs;
	size_t n = 0;
	bool pushed, committed = false, ok;

	pthread_mutex_lock(&w->mu);
	if (w->have_new_kb) {
		attrib_kb_free(w->kb);
		w->kb = w->new_kb;
		w->new_kb = NULL;
		w->have_new_kb = false;
		pthread_mutex_unlock(&w->mu);
		new_pipeline(w);
		if (!pipeline_child_reload(w->parser, w->kb, err, sizeof(err)))
			log_error("SIGHUP: the parser children keep the old knowledge base: %s", err);
		err[0] = '\0';
	} else {
		pthread_mutex_unlock(&w->mu);
	}
	pushed = push(w, batches, err, sizeof(err));
	if (pushed) {
		/* all but the commit itself, while the files are synced */
		mark_up(w);
		pushed = pipeline_flush(w->pl, err, sizeof(err)) == PIPELINE_OK;
	}
	if (!wait_batches(w, batches, BATCH_DATA_DURABLE)) {
		if (pushed)
			snprintf(err, sizeof(err), "the spool could not be synced");
	} else if (pushed) {
		committed = pipeline_commit(w->pl, err, sizeof(err)) == PIPELINE_OK;
	}
	ok = wait_batches(w, batches, BATCH_DURABLE) && committed;
	if (committed && !ok)
		snprintf(err, sizeof(err), "new/ could not be synced after the rows were committed; "
			 "they stay, unacknowledged");
	for (b = batches; b; b = bn) {
		bn = b->next;
		if (tail)
			tail->next = b->jobs;
		else
			jobs = b->jobs;
		tail = list_last(b->jobs);
		free(b);
	}
	for (j = jobs; j; j = j->next)
		n++;
	if (!ok)
		log_error("store: %zu messages not stored (each answered 451): %s", n, err);
	if (!committed) {
		store_rollback(w->st);
		new_pipeline(w);      /* forget the rolled-back rows */
		remove_files(w, jobs);
	}
	secs = time_mono() - t0;
	for (j = jobs; j; j = j->next) {
		j->ok = ok;
		j->commit_seconds = secs;
		j->commit_size = n;
		j->commit_first = j == jobs;
	}
	finish(w, jobs);
}

static void *store_main(void *arg)
{
	struct trap_writer *w = arg;

	pthread_mutex_lock(&w->smu);
	for (;;) {
		struct batch *batches;

		while (!w->batches && !w->spool_done && !w->mark_pending)
			pthread_cond_wait(&w->scv, &w->smu);
		if (!w->batches && w->mark_pending) {
			w->mark_pending = false;
			pthread_mutex_unlock(&w->smu);
			mark_up(w);    /* committed on its own */
			pthread_mutex_lock(&w->smu);
			continue;
		}
		if (!w->batches)
			break;
		w->mark_pending = false;    /* the commit marks */
		/* every batch handed over meanwhile goes into one commit */
		batches = w->batches;
		w->batches = w->batches_tail = NULL;
		pthread_mutex_unlock(&w->smu);
		store_batches(w, batches);
		pthread_mutex_lock(&w->smu);
	}
	pthread_mutex_unlock(&w->smu);
	mark_up(w);    /* the last sign of life: the trap stops now */
	return NULL;
}

/* ---- the loop's side ---- */

trap_writer *trap_writer_start(const struct trap_writer_config *cfg, char *err, size_t errlen)
{
	struct trap_writer *w = xcalloc(1, sizeof(*w));
	sigset_t all, old;
	int rc;

	w->st = cfg->st;
	w->sp = cfg->spool;
	w->kb = cfg->kb;
	w->sensor = xstrdup(cfg->sensor);
	w->hostname = xstrdup(cfg->hostname);
	w->notify_fd = cfg->notify_fd;
	w->up_since = cfg->up_since;
	buf_init(&w->header);
	buf_init(&w->source);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_mutex_init(&w->smu, NULL);
	pthread_cond_init(&w->scv, NULL);
	new_pipeline(w);
	{
		/* before the threads: the parser's helper is forked now */
		struct pipeline_child_options copt = {
			.pipeline = { .sensor = w->sensor, .kb = w->kb },
			.kb_dir = cfg->kb_dir,
		};

		w->parser = pipeline_child_new(&copt);
	}
	/* signals are the event loop's: the threads block them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((rc = pthread_create(&w->store_thread, NULL, store_main, w)) == 0) {
		w->store_started = true;
		if ((rc = pthread_create(&w->spool_thread, NULL, spool_main, w)) == 0)
			w->spool_started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the writer threads: %s", strerror(rc));
		w->kb = NULL;     /* the caller's again */
		trap_writer_stop(w);
		return NULL;
	}
	return w;
}

void trap_writer_submit(trap_writer *w, struct trap_job *j)
{
	j->next = NULL;
	j->submitted = time_mono();
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->queued++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

struct trap_job *trap_writer_take_done(trap_writer *w)
{
	struct trap_job *j;

	pthread_mutex_lock(&w->mu);
	j = w->done_head;
	w->done_head = w->done_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	return j;
}

void trap_writer_in_data(trap_writer *w, long n)
{
	pthread_mutex_lock(&w->mu);
	if (n < w->in_data) {
		w->data_ended += (unsigned long)(w->in_data - n);
		pthread_cond_signal(&w->cv);
	}
	w->in_data = n;
	pthread_mutex_unlock(&w->mu);
}

void trap_writer_mark_up(trap_writer *w)
{
	pthread_mutex_lock(&w->smu);
	w->mark_pending = true;
	pthread_cond_signal(&w->scv);
	pthread_mutex_unlock(&w->smu);
}

void trap_writer_set_kb(trap_writer *w, attrib_kb *kb)
{
	pthread_mutex_lock(&w->mu);
	if (w->have_new_kb)
		attrib_kb_free(w->new_kb);
	w->new_kb = kb;
	w->have_new_kb = true;
	pthread_mutex_unlock(&w->mu);
}

static void free_list(struct trap_job *j)
{
	struct trap_job *next;

	for (; j; j = next) {
		next = j->next;
		trap_job_free(j);
	}
}

void trap_writer_stop(trap_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->spool_started)
		pthread_join(w->spool_thread, NULL);
	spool_finished(w);      /* also when the spool thread never ran */
	if (w->store_started)
		pthread_join(w->store_thread, NULL);
	free_list(w->done_head);
	free_list(w->head);
	if (w->have_new_kb)
		attrib_kb_free(w->new_kb);
	pipeline_child_free(w->parser);
	pipeline_free(w->pl);
	attrib_kb_free(w->kb);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->smu);
	pthread_cond_destroy(&w->scv);
	buf_free(&w->header);
	buf_free(&w->source);
	free(w->sensor);
	free(w->hostname);
	free(w);
}
