/*
 * workers.c - features and attribution on several threads; see workers.h.
 *
 * The messages in flight sit in a ring of WORKERS_WINDOW slots: the reader
 * fills the slot at tail, a worker claims the slot at claim and marks it
 * done, the reader emits the slot at head once it is done. head <= claim <=
 * tail, all three counting up; one mutex guards them and the slots' done
 * flags. A note (workers_note) takes a slot too, done from the start: a
 * worker claims it and passes on, so that it is emitted in its turn. A slot's contents belong to the reader until tail passes it, then
 * to the worker that claimed it until done, then to the reader again.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/inflight.h"
#include "pipeline/workers.h"
#include "util/limits.h"
#include "util/pack.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct slot {
	char *mem;                       /* the message and its strings */
	size_t bytes;
	const char *name;
	struct source_item item;         /* as pushed, pointing into mem */
	struct pipeline_message m;
	struct pipeline_session session;
	enum pipeline_status status;
	struct buf out;
	struct pipeline_row *row;
	bool note;                       /* mem holds a note's text, not a message */
	bool done;
};

struct worker {
	struct workers *w;
	pthread_t thread;
	pipeline *pl;
	void *local;                     /* the work function's */
	bool started;
};

struct workers {
	pthread_mutex_t mu;
	pthread_cond_t work_cv;          /* a slot to claim, or stop */
	pthread_cond_t done_cv;          /* the slot at head is done */
	struct slot ring[WORKERS_WINDOW];
	uint64_t head, claim, tail;
	size_t bytes;                    /* in flight */
	bool stop, stopped_by_emit;
	struct workers_config cfg;
	struct worker *wk;
};

size_t workers_count(void)
{
	cpu_set_t set;
	long n;

	/* the processors this process may run on (a container's share), else
	 * those online */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > WORKERS_MAX ? WORKERS_MAX : (size_t)n;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct workers *w = wk->w;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct slot *s;
		struct pipeline_result res;

		while (w->claim == w->tail && !w->stop)
			pthread_cond_wait(&w->work_cv, &w->mu);
		if (w->claim == w->tail)
			break;
		s = &w->ring[w->claim++ % WORKERS_WINDOW];
		if (s->note) {
			/* done already; now it may be emitted */
			if (s == &w->ring[w->head % WORKERS_WINDOW])
				pthread_cond_signal(&w->done_cv);
			continue;
		}
		pthread_mutex_unlock(&w->mu);

		memset(&res, 0, sizeof(res));
		inflight_begin(w->cfg.inflight, 1 + (size_t)(wk - w->wk), s->name);
		s->status = pipeline_push(wk->pl, &s->m, &res, NULL, 0);
		buf_reset(&s->out);
		if (w->cfg.work)
			w->cfg.work(w->cfg.ctx, &wk->local, s->name, s->status, &res, &s->out);
		s->row = w->cfg.rows && s->status != PIPELINE_NOT_MAIL ? pipeline_row(wk->pl, &s->m, &res) : NULL;
		inflight_end(w->cfg.inflight, 1 + (size_t)(wk - w->wk));

		pthread_mutex_lock(&w->mu);
		s->done = true;
		if (s == &w->ring[w->head % WORKERS_WINDOW])
			pthread_cond_signal(&w->done_cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

workers *workers_new(const struct workers_config *cfg)
{
	struct workers *w = xcalloc(1, sizeof(*w));
	size_t i, n = cfg->n;

	if (n < 2)
		n = 2;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	w->cfg = *cfg;
	w->cfg.n = n;
	(void)limit(LIMIT_MIME_DEPTH);   /* the limits are set before any thread reads them */
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work_cv, NULL);
	pthread_cond_init(&w->done_cv, NULL);
	for (i = 0; i < WORKERS_WINDOW; i++)
		buf_init(&w->ring[i].out);
	w->wk = xcalloc(n, sizeof(*w->wk));
	for (i = 0; i < n; i++) {
		w->wk[i].w = w;
		w->wk[i].pl = pipeline_new(NULL, cfg->popt);
		if (pthread_create(&w->wk[i].thread, NULL, worker_main, &w->wk[i]) != 0) {
			workers_free(w);
			return NULL;
		}
		w->wk[i].started = true;
	}
	return w;
}

/* the room a copy of the item takes: its bytes and strings */
static size_t slot_room(const struct source_item *item, const char *name)
{
	const struct pipeline_session *ses = item->session;
	size_t room = item->len + 1 + pack_room(name) + pack_room(item->path) +
		      pack_room(item->ctx.from_line_sender) + pack_room(item->ctx.client_ip) +
		      pack_room(item->ctx.helo) + pack_room(item->ctx.envelope_from);

	if (ses)
		room += pack_room(ses->client_ip) + pack_room(ses->helo) + pack_room(ses->mail_from) +
			pack_room(ses->dialect_id) + pack_room(ses->dialect_facts) + pack_room(ses->identity);
	return room;
}

/* the item into the slot: one allocation of room bytes */
static void fill(struct slot *s, const struct source_item *item, const char *name, size_t room, bool dedup)
{
	const struct pipeline_session *ses = item->session;
	char *at;

	s->mem = xmalloc(room);
	s->bytes = room;
	at = s->mem;
	if (item->len)
		memcpy(at, item->raw, item->len);
	at[item->len] = '\0';
	at += item->len + 1;
	s->name = pack_str(&at, name);
	s->item = *item;
	s->item.raw = item->raw ? s->mem : NULL;
	s->item.path = pack_str(&at, item->path);
	/* item->ctx.trusted: the caller's ranges, for the whole run */
	s->item.ctx.from_line_sender = pack_str(&at, item->ctx.from_line_sender);
	s->item.ctx.client_ip = pack_str(&at, item->ctx.client_ip);
	s->item.ctx.helo = pack_str(&at, item->ctx.helo);
	s->item.ctx.envelope_from = pack_str(&at, item->ctx.envelope_from);
	if (ses) {
		s->session = *ses;
		s->session.client_ip = pack_str(&at, ses->client_ip);
		s->session.helo = pack_str(&at, ses->helo);
		s->session.mail_from = pack_str(&at, ses->mail_from);
		s->session.dialect_id = pack_str(&at, ses->dialect_id);
		s->session.dialect_facts = pack_str(&at, ses->dialect_facts);
		s->session.identity = pack_str(&at, ses->identity);
		s->item.session = &s->session;
	}
	source_item_message(&s->item, s->name, dedup, &s->m);
	s->row = NULL;
	s->note = false;
	s->done = false;
}

/* emit_ready: the done slots at head, in order (called and returning with
 * the lock held; emits without it). wait: block until at least the head
 * slot is done. */
static bool emit_ready(struct workers *w, bool wait)
{
	for (;;) {
		struct slot *s;
		bool go;

		if (w->head == w->tail)
			return !w->stopped_by_emit;
		s = &w->ring[w->head % WORKERS_WINDOW];
		if (!s->done || w->head == w->claim) {   /* a note: claimed first */
			if (!wait)
				return !w->stopped_by_emit;
			pthread_cond_wait(&w->done_cv, &w->mu);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		if (w->stopped_by_emit) {
			go = false;
			pipeline_row_free(s->row);
		} else if (s->note) {
			go = !w->cfg.note || w->cfg.note(w->cfg.note_ctx, s->mem);
		} else {
			go = w->cfg.emit(w->cfg.ctx, &s->item, s->name, s->status, &s->out, s->row);
		}
		s->row = NULL;
		free(s->mem);
		s->mem = NULL;
		pthread_mutex_lock(&w->mu);
		if (!go)
			w->stopped_by_emit = true;
		w->bytes -= s->bytes;
		w->head++;
		wait = false;     /* one slot freed: enough to go on */
	}
}

/* wait_room: a free slot, and the bytes in flight under the budget (an
 * empty window takes anything); false once emit said stop. Lock held. */
static bool wait_room(struct workers *w, size_t bytes)
{
	while (w->tail - w->head == WORKERS_WINDOW ||
	       (w->tail > w->head && w->bytes + bytes > WORKERS_WINDOW_BYTES))
		emit_ready(w, true);
	return !w->stopped_by_emit;
}

/* hand the filled slot at tail over (lock held), and emit what is ready */
static bool hand_over(struct workers *w, struct slot *s)
{
	w->bytes += s->bytes;
	w->tail++;
	pthread_cond_signal(&w->work_cv);
	return emit_ready(w, false);
}

bool workers_push(workers *w, const struct source_item *item, const char *name)
{
	size_t room = slot_room(item, name);
	struct slot *s;
	bool ok;

	pthread_mutex_lock(&w->mu);
	ok = wait_room(w, room);
	pthread_mutex_unlock(&w->mu);
	if (!ok)
		return false;
	s = &w->ring[w->tail % WORKERS_WINDOW];   /* the reader's until tail passes it */
	fill(s, item, name, room, w->cfg.dedup);
	pthread_mutex_lock(&w->mu);
	ok = hand_over(w, s);
	pthread_mutex_unlock(&w->mu);
	return ok;
}

bool workers_note(workers *w, const char *text)
{
	size_t room = strlen(text) + 1;
	struct slot *s;
	bool ok;

	pthread_mutex_lock(&w->mu);
	ok = wait_room(w, room);
	if (ok) {
		s = &w->ring[w->tail % WORKERS_WINDOW];
		s->mem = xstrdup(text);
		s->bytes = room;
		s->name = s->mem;
		s->row = NULL;
		s->note = true;
		s->done = true;
		ok = hand_over(w, s);
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

bool workers_finish(workers *w)
{
	bool ok;

	pthread_mutex_lock(&w->mu);
	while (w->head != w->tail)
		emit_ready(w, true);
	ok = !w->stopped_by_emit;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

void workers_free(workers *w)
{
	size_t i;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	w->tail = w->claim;      /* what no worker has claimed is dropped */
	pthread_cond_broadcast(&w->work_cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->cfg.n; i++) {
		if (w->wk[i].started)
			pthread_join(w->wk[i].thread, NULL);
		if (w->wk[i].pl)
			pipeline_free(w->wk[i].pl);
		if (w->wk[i].local && w->cfg.local_free)
			w->cfg.local_free(w->wk[i].local);
	}
	for (i = 0; i < WORKERS_WINDOW; i++) {
		free(w->ring[i].mem);
		pipeline_row_free(w->ring[i].row);
		buf_free(&w->ring[i].out);
	}
	pthread_cond_destroy(&w->work_cv);
	pthread_cond_destroy(&w->done_cv);
	pthread_mutex_destroy(&w->mu);
	free(w->wk);
	free(w);
}
