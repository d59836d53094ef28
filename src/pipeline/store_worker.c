/*
 * store_worker.c - the store in a thread of its own; see store_worker.h.
 *
 * One mutex guards the queue and the state; the store itself belongs to
 * the thread. A commit request waits for the queue to empty, so rows are
 * committed in the order they were pushed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/store_worker.h"
#include "util/hash.h"
#include "util/pack.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define QUEUE_MAX 256             /* rows waiting: a few hundred KB */

struct store_worker_row {
	struct store_worker_row *next;
	struct store_message m;
	unsigned char hash[HASH_DIGEST_LEN];
	char data[];                  /* the strings and the features, packed */
};

struct store_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t more, room, done;
	store *st;
	size_t batch;
	struct store_worker_row *head, *tail;
	size_t queued;
	bool commit_asked, committing, stop, failed;
	size_t uncommitted;           /* added since the last commit */
	uint64_t fallbacks_uncommitted;
	struct store_worker_counts counts;
	char err[1024];
};

static void fail(store_worker *w, const char *err)
{
	pthread_mutex_lock(&w->mu);
	if (!w->failed) {
		w->failed = true;
		snprintf(w->err, sizeof(w->err), "%s", err);
	}
	pthread_cond_broadcast(&w->room);
	pthread_cond_broadcast(&w->done);
	pthread_mutex_unlock(&w->mu);
}

/* commit what was added; the thread's own call, the lock not held.
 * The counters are only written by the thread, under the lock. */
static bool commit(store_worker *w)
{
	char err[1024];

	if (w->uncommitted == 0)
		return true;
	if (store_commit(w->st, err, sizeof(err)) != STORE_OK) {
		fail(w, err);
		return false;
	}
	pthread_mutex_lock(&w->mu);
	w->counts.committed += w->uncommitted;
	w->counts.fallbacks += w->fallbacks_uncommitted;
	w->uncommitted = 0;
	w->fallbacks_uncommitted = 0;
	pthread_mutex_unlock(&w->mu);
	return true;
}

static bool add(store_worker *w, struct store_worker_row *j)
{
	char err[1024];
	enum store_status st = store_add(w->st, &j->m, err, sizeof(err));

	if (st != STORE_OK && st != STORE_DUPLICATE) {
		fail(w, err);
		return false;
	}
	pthread_mutex_lock(&w->mu);
	if (st == STORE_DUPLICATE) {
		w->counts.duplicates++;
	} else {
		w->uncommitted++;
		if (j->m.warnings)
			w->fallbacks_uncommitted++;
	}
	pthread_mutex_unlock(&w->mu);
	return w->uncommitted < w->batch || commit(w);
}

static void *worker_main(void *arg)
{
	store_worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct store_worker_row *jobs;
		bool ok;

		while (!w->head && !w->commit_asked && !w->stop)
			pthread_cond_wait(&w->more, &w->mu);
		ok = !w->failed;
		if (!w->head) {
			if (w->stop)
				break;
			/* a commit asked for, the queue empty: every row is added */
			w->committing = true;
			pthread_mutex_unlock(&w->mu);
			if (ok)
				commit(w);
			pthread_mutex_lock(&w->mu);
			w->committing = false;
			w->commit_asked = false;
			pthread_cond_broadcast(&w->done);
			continue;
		}
		jobs = w->head;
		w->head = w->tail = NULL;
		w->queued = 0;
		pthread_cond_broadcast(&w->room);
		pthread_mutex_unlock(&w->mu);
		while (jobs) {
			struct store_worker_row *next = jobs->next;

			if (ok)
				ok = add(w, jobs);
			free(jobs);
			jobs = next;
		}
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

store_worker *store_worker_start(store *st, size_t batch)
{
	store_worker *w = xcalloc(1, sizeof(*w));
	int rc;

	w->st = st;
	w->batch = batch ? batch : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->more, NULL);
	pthread_cond_init(&w->room, NULL);
	pthread_cond_init(&w->done, NULL);
	if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0)
		panic("store worker: pthread_create: %s", strerror(rc));
	return w;
}

struct store_worker_row *store_worker_copy(const struct store_message *m)
{
	const char *strs[] = { m->sensor, m->source, m->family, m->campaign, m->client_ip, m->helo,
			       m->envelope_from, m->message_id, m->msgid_shape, m->subject, m->x_mailer,
			       m->dialect_id, m->dialect };
	size_t need = m->features_len, i;
	struct store_worker_row *j;
	char *at;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		need += pack_room(strs[i]);
	j = xmalloc(sizeof(*j) + need);
	j->next = NULL;
	j->m = *m;
	at = j->data;
	if (m->features_len) {
		memcpy(at, m->features, m->features_len);
		j->m.features = at;
		at += m->features_len;
	}
	if (m->hash) {
		memcpy(j->hash, m->hash, HASH_DIGEST_LEN);
		j->m.hash = j->hash;
	}
	j->m.sensor = pack_str(&at, m->sensor);
	j->m.source = pack_str(&at, m->source);
	j->m.family = pack_str(&at, m->family);
	j->m.campaign = pack_str(&at, m->campaign);
	j->m.client_ip = pack_str(&at, m->client_ip);
	j->m.helo = pack_str(&at, m->helo);
	j->m.envelope_from = pack_str(&at, m->envelope_from);
	j->m.message_id = pack_str(&at, m->message_id);
	j->m.msgid_shape = pack_str(&at, m->msgid_shape);
	j->m.subject = pack_str(&at, m->subject);
	j->m.x_mailer = pack_str(&at, m->x_mailer);
	j->m.dialect_id = pack_str(&at, m->dialect_id);
	j->m.dialect = pack_str(&at, m->dialect);
	return j;
}

const struct store_message *store_worker_row_message(const struct store_worker_row *r)
{
	return &r->m;
}

void store_worker_row_free(struct store_worker_row *r)
{
	free(r);
}

bool store_worker_add(store_worker *w, const struct store_message *m, char *err, size_t errlen)
{
	return store_worker_add_copy(w, store_worker_copy(m), err, errlen);
}

bool store_worker_add_copy(store_worker *w, struct store_worker_row *j, char *err, size_t errlen)
{
	pthread_mutex_lock(&w->mu);
	while (w->queued >= QUEUE_MAX && !w->failed)
		pthread_cond_wait(&w->room, &w->mu);
	if (w->failed) {
		snprintf(err, errlen, "%s", w->err);
		pthread_mutex_unlock(&w->mu);
		free(j);
		return false;
	}
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->queued++;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mu);
	return true;
}

bool store_worker_commit(store_worker *w, char *err, size_t errlen)
{
	bool ok;

	pthread_mutex_lock(&w->mu);
	if (!w->failed) {
		w->commit_asked = true;
		pthread_cond_signal(&w->more);
		while (w->commit_asked && !w->failed)
			pthread_cond_wait(&w->done, &w->mu);
	}
	/* a failure while committing ends the wait at once: let the thread
	 * finish that commit before the caller looks at the counts */
	while (w->committing)
		pthread_cond_wait(&w->done, &w->mu);
	ok = !w->failed;
	if (!ok)
		snprintf(err, errlen, "%s", w->err);
	pthread_mutex_unlock(&w->mu);
	return ok;
}

void store_worker_counts(store_worker *w, struct store_worker_counts *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->counts;
	pthread_mutex_unlock(&w->mu);
}

size_t store_worker_pending(store_worker *w)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->queued + w->uncommitted;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void store_worker_stop(store_worker *w)
{
	struct store_worker_row *j;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	/* what is still queued is dropped, as uncommitted rows are */
	w->failed = true;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	while ((j = w->head)) {
		w->head = j->next;
		free(j);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->more);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->done);
	free(w);
}
