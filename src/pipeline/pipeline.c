/*
 * pipeline.c - features -> attribution -> store, for every source; see
 * pipeline.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib/attrib.h"
#include "pipeline/pipeline.h"
#include "pipeline/store_worker.h"
#include "store/store.h"
#include "util/hash.h"
#include "util/limits.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct pipeline {
	store *st;
	struct pipeline_options opt;
	struct mail_features f;
	struct attrib_vector vec;
	struct attrib_result attribution;
	struct buf serialized;
	store_worker *worker;        /* with opt.store_thread */
	size_t pending;
	uint64_t pending_fallbacks;
	struct pipeline_counts counts;
};

pipeline *pipeline_new(struct store *st, const struct pipeline_options *opt)
{
	pipeline *p = xcalloc(1, sizeof(*p));

	p->st = st;
	if (opt)
		p->opt = *opt;
	mail_features_init(&p->f);
	attrib_vector_init(&p->vec);
	buf_init(&p->serialized);
	if (st && p->opt.store_thread)
		p->worker = store_worker_start(st, (size_t)limit(LIMIT_COMMIT_BATCH));
	return p;
}

void pipeline_free(pipeline *p)
{
	if (!p)
		return;
	store_worker_stop(p->worker);
	mail_features_free(&p->f);
	attrib_vector_free(&p->vec);
	buf_free(&p->serialized);
	free(p);
}

size_t pipeline_pending(const pipeline *p)
{
	return p->worker ? store_worker_pending(p->worker) : p->pending;
}

void pipeline_counts(const pipeline *p, struct pipeline_counts *out)
{
	struct store_worker_counts wc;

	if (!p->worker) {
		*out = p->counts;
		return;
	}
	store_worker_counts(p->worker, &wc);
	out->committed = wc.committed;
	out->duplicates = wc.duplicates;
	out->fallbacks = wc.fallbacks;
}

uint64_t pipeline_committed(const pipeline *p)
{
	struct pipeline_counts c;

	pipeline_counts(p, &c);
	return c.committed;
}

enum pipeline_status pipeline_flush(pipeline *p, char *err, size_t errlen)
{
	if (p->worker || !p->st || p->pending == 0)
		return PIPELINE_OK;
	return store_flush(p->st, err, errlen) == STORE_OK ? PIPELINE_OK : PIPELINE_STORE_FAILED;
}

enum pipeline_status pipeline_commit(pipeline *p, char *err, size_t errlen)
{
	if (p->worker)
		return store_worker_commit(p->worker, err, errlen) ? PIPELINE_OK : PIPELINE_STORE_FAILED;
	if (!p->st || p->pending == 0)
		return PIPELINE_OK;
	if (store_commit(p->st, err, errlen) != STORE_OK)
		return PIPELINE_STORE_FAILED;
	p->counts.committed += p->pending;
	p->counts.fallbacks += p->pending_fallbacks;
	p->pending = 0;
	p->pending_fallbacks = 0;
	return PIPELINE_OK;
}

void pipeline_session_apply(const struct pipeline_session *ses, struct mail_context *ctx,
			    struct attrib_session *as)
{
	if (!ses)
		return;
	ctx->have_ts = true;
	ctx->ts = ses->ts;
	ctx->client_ip = ses->client_ip;
	ctx->helo = ses->helo;
	ctx->envelope_from = ses->mail_from;
	as->dialect_id = ses->dialect_id;
	as->dialect_facts = ses->dialect_facts;
	as->encrypted = ses->encrypted;
}

/* the row of the message just pushed (valid until the next push) */
bool pipeline_message_digest(const struct pipeline_message *m, unsigned char digest[HASH_DIGEST_LEN])
{
	const struct pipeline_session *ses = m->session;

	if (!m->dedup)
		return false;
	if (m->raw)
		hash_digest(m->raw, m->len, digest);
	else if (ses && ses->identity)
		/* an encrypted session read twice is still one session */
		hash_digest(ses->identity, strlen(ses->identity), digest);
	else
		return false;
	return true;
}

static void row_of(pipeline *p, const struct pipeline_message *m, const struct pipeline_result *res,
		   struct store_message *sm, unsigned char digest[HASH_DIGEST_LEN])
{
	const struct pipeline_session *ses = m->session;
	struct mail_features *f = &p->f;

	attrib_vector_serialize(&p->vec, &p->serialized);
	memset(sm, 0, sizeof(*sm));
	sm->ts = f->ts;
	sm->sensor = p->opt.sensor;
	sm->source = m->source;
	sm->hash = pipeline_message_digest(m, digest) ? digest : NULL;
	sm->family = res->family;
	sm->confidence = res->confidence;
	sm->campaign = res->campaign;
	sm->features = p->serialized.data;
	sm->features_len = p->serialized.len;
	sm->client_ip = f->client_ip;
	sm->helo = f->helo;
	sm->envelope_from = f->envelope_from;
	sm->rcpts = ses && ses->rcpt_count ? ses->rcpt_count : mail_features_recipients(f);
	if (sm->rcpts == 0)
		sm->rcpts = 1;
	sm->size = ses && !m->raw ? 0 : m->len;
	sm->message_id = f->message_id;
	sm->msgid_shape = f->msgid_shape;
	sm->subject = f->subject;
	sm->x_mailer = f->x_mailer;
	sm->dialect_id = ses ? ses->dialect_id : NULL;
	sm->dialect = ses ? ses->dialect_facts : NULL;
	sm->encrypted = ses && ses->encrypted;
	sm->warnings = f->warnings;
}

struct pipeline_row *pipeline_row(pipeline *p, const struct pipeline_message *m,
				  const struct pipeline_result *res)
{
	struct store_message sm;
	unsigned char digest[HASH_DIGEST_LEN];

	row_of(p, m, res, &sm, digest);
	return (struct pipeline_row *)store_worker_copy(&sm);
}

struct pipeline_row *pipeline_row_unparsed(pipeline *p, const struct pipeline_message *m)
{
	struct pipeline_message bare = *m;
	struct pipeline_session ses;
	struct pipeline_result res;
	struct store_message sm;
	unsigned char digest[HASH_DIGEST_LEN];
	store *st = p->st;
	char err[8];

	/* the session's facts through the same path, without the bytes: as
	 * for an encrypted session, content rules do not apply */
	bare.raw = NULL;
	bare.len = 0;
	if (m->session) {
		ses = *m->session;
		ses.encrypted = true;
		bare.session = &ses;
	}
	p->st = NULL;
	if (pipeline_push(p, &bare, &res, err, sizeof(err)) != PIPELINE_OK) {
		/* no session either: nothing but its size */
		memset(&res, 0, sizeof(res));
		res.family = "unknown";
	}
	p->st = st;
	row_of(p, &bare, &res, &sm, digest);
	/* de-duplicated by its bytes, as it would have been when read */
	sm.hash = pipeline_message_digest(m, digest) ? digest : NULL;
	sm.encrypted = m->session && m->session->encrypted;
	sm.size = m->len;
	sm.warnings = MAIL_WARN_UNPARSED;    /* not what reading nothing found */
	return (struct pipeline_row *)store_worker_copy(&sm);
}

const char *pipeline_row_family(const struct pipeline_row *row)
{
	return store_worker_row_message((const struct store_worker_row *)row)->family;
}

void pipeline_row_free(struct pipeline_row *row)
{
	store_worker_row_free((struct store_worker_row *)row);
}

/* a row stored: counted; the batch committed when full */
static enum pipeline_status stored(pipeline *p, const struct store_message *sm, char *err, size_t errlen)
{
	enum store_status st = store_add(p->st, sm, err, errlen);

	if (st == STORE_ERROR)
		return PIPELINE_STORE_FAILED;
	if (st == STORE_DUPLICATE) {
		p->counts.duplicates++;
		return PIPELINE_DUPLICATE;
	}
	if (sm->warnings)
		p->pending_fallbacks++;
	if (++p->pending >= (size_t)limit(LIMIT_COMMIT_BATCH))
		return pipeline_commit(p, err, errlen);
	return PIPELINE_OK;
}

enum pipeline_status pipeline_add_row(pipeline *p, struct pipeline_row *row, char *err, size_t errlen)
{
	struct store_worker_row *r = (struct store_worker_row *)row;
	enum pipeline_status st;

	if (p->worker)
		return store_worker_add_copy(p->worker, r, err, errlen) ? PIPELINE_OK : PIPELINE_STORE_FAILED;
	st = p->st ? stored(p, store_worker_row_message(r), err, errlen) : PIPELINE_OK;
	store_worker_row_free(r);
	return st;
}

enum pipeline_status pipeline_push(pipeline *p, const struct pipeline_message *m,
				   struct pipeline_result *res, char *err, size_t errlen)
{
	const struct pipeline_session *ses = m->session;
	struct mail_context ctx;
	struct attrib_session as = { 0 };
	struct store_message sm;
	unsigned char digest[HASH_DIGEST_LEN];
	struct mail_features *f = &p->f;
	bool is_mail;

	memset(&ctx, 0, sizeof(ctx));
	if (m->ctx)
		ctx = *m->ctx;
	pipeline_session_apply(ses, &ctx, &as);
	is_mail = mail_features_extract(f, m->raw ? m->raw : "", m->raw ? m->len : 0, &ctx);
	/* a message a session delivered is stored whatever it holds: the
	 * trap said 250 for it; a file that is not mail is not */
	if (!is_mail && !ses)
		return PIPELINE_NOT_MAIL;

	attrib_vector_build(&p->vec, f, ses ? &as : NULL);
	attrib_classify(p->opt.kb, &p->vec, &p->attribution);
	if (m->raw)
		attrib_campaign(f, p->attribution.campaign);
	else
		p->attribution.campaign[0] = '\0';
	memset(res, 0, sizeof(*res));
	res->family = p->attribution.family;
	res->confidence = p->attribution.confidence;
	res->campaign = p->attribution.campaign[0] ? p->attribution.campaign : NULL;
	res->warnings = f->warnings;
	res->encrypted = ses && ses->encrypted;
	res->features = f;
	res->attribution = &p->attribution;

	if (!p->st)
		return PIPELINE_OK;
	row_of(p, m, res, &sm, digest);
	if (p->worker)
		return store_worker_add(p->worker, &sm, err, errlen) ? PIPELINE_OK : PIPELINE_STORE_FAILED;
	return stored(p, &sm, err, errlen);
}
