/*
 * store.c - the backend-neutral store interface: picks a backend by URL
 * and forwards; see store.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/backend.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct store {
	const struct store_backend *be;
	void *impl;
};

enum store_status store_open(const char *url, enum store_mode mode, store **out,
			     char *err, size_t errlen)
{
	const struct store_backend *be = &store_sqlite_backend;
	const char *location = url;
	enum store_status st;
	void *impl = NULL;

	*out = NULL;
	if (strncmp(url, "sqlite:", 7) == 0) {
		location = url + 7;
	} else if (strstr(url, "://")) {
		snprintf(err, errlen, "database URL '%s': only sqlite:PATH is supported "
			 "(ClickHouse arrives with the fleet backend)", url);
		return STORE_ERROR;
	}
	if (!*location) {
		snprintf(err, errlen, "database URL '%s': no path", url);
		return STORE_ERROR;
	}
	st = be->open(location, mode, &impl, err, errlen);
	if (st != STORE_OK)
		return st;
	*out = xcalloc(1, sizeof(**out));
	(*out)->be = be;
	(*out)->impl = impl;
	return STORE_OK;
}

void store_close(store *st)
{
	if (!st)
		return;
	st->be->close(st->impl);
	free(st);
}

enum store_status store_begin(store *st, char *err, size_t errlen)
{
	return st->be->begin(st->impl, err, errlen);
}

enum store_status store_add(store *st, const struct store_message *m, char *err, size_t errlen)
{
	return st->be->add(st->impl, m, err, errlen);
}

enum store_status store_flush(store *st, char *err, size_t errlen)
{
	return st->be->flush(st->impl, err, errlen);
}

enum store_status store_commit(store *st, char *err, size_t errlen)
{
	return st->be->commit(st->impl, err, errlen);
}

void store_rollback(store *st)
{
	st->be->rollback(st->impl);
}

enum store_status store_span(store *st, int64_t *first, int64_t *last, bool *empty,
			     char *err, size_t errlen)
{
	return st->be->span(st->impl, first, last, empty, err, errlen);
}

enum store_status store_families(store *st, struct store_names *out, char *err, size_t errlen)
{
	return st->be->names(st->impl, "families", out, err, errlen);
}

enum store_status store_sensors(store *st, struct store_names *out, char *err, size_t errlen)
{
	return st->be->names(st->impl, "sensors", out, err, errlen);
}

void store_names_free(struct store_names *n)
{
	size_t i;

	for (i = 0; i < n->count; i++)
		free(n->name[i]);
	free(n->name);
	n->name = NULL;
	n->count = 0;
}

enum store_status store_minutes(store *st, int64_t day_from, int64_t day_to, int family_id,
				store_minutes_fn *fn, void *ctx, char *err, size_t errlen)
{
	return st->be->minutes(st->impl, day_from, day_to, family_id, fn, ctx, err, errlen);
}

enum store_status store_hours(store *st, int64_t hour_from, int64_t hour_to, int64_t bare_from,
			      int64_t bare_to, store_hours_fn *fn, void *ctx, char *err, size_t errlen)
{
	return st->be->hours(st->impl, hour_from, hour_to, bare_from, bare_to, fn, ctx, err, errlen);
}

enum store_status store_day_clients(store *st, int64_t day_from, int64_t day_to, bool *have,
				    store_day_clients_fn *fn, void *ctx, char *err, size_t errlen)
{
	return st->be->day_clients(st->impl, day_from, day_to, have, fn, ctx, err, errlen);
}

enum store_status store_campaigns(store *st, int64_t from, int64_t to, size_t top,
				  store_campaigns_fn *fn, void *ctx, char *err, size_t errlen)
{
	return st->be->campaigns(st->impl, from, to, top, fn, ctx, err, errlen);
}

enum store_status store_any(store *st, int64_t from, int64_t to, bool *any, char *err, size_t errlen)
{
	return st->be->any(st->impl, from, to, any, err, errlen);
}

enum store_status store_briefs(store *st, int64_t from, int64_t to, store_briefs_fn *fn, void *ctx,
			       char *err, size_t errlen)
{
	return st->be->briefs(st->impl, from, to, fn, ctx, err, errlen);
}

enum store_status store_rows(store *st, int64_t from, int64_t to, int64_t after_id, size_t max,
			     store_rows_fn *fn, void *ctx, char *err, size_t errlen)
{
	return st->be->rows(st->impl, from, to, after_id, max, fn, ctx, err, errlen);
}

enum store_status store_set_family(store *st, int64_t id, const char *family, double confidence,
				   char *err, size_t errlen)
{
	return st->be->set_family(st->impl, id, family, confidence, err, errlen);
}

enum store_status store_rebuild_rollups(store *st, int64_t from, int64_t to, char *err,
					size_t errlen)
{
	return st->be->rebuild(st->impl, from, to, err, errlen);
}

enum store_status store_mark_up(store *st, const char *sensor, int64_t start, int64_t last,
			       char *err, size_t errlen)
{
	return st->be->mark_up(st->impl, sensor, start, last, err, errlen);
}

enum store_status store_runs(store *st, store_runs_fn *fn, void *ctx, char *err, size_t errlen)
{
	return st->be->runs(st->impl, fn, ctx, err, errlen);
}

enum store_status store_last_before(store *st, int64_t t, int64_t *last, bool *found, char *err,
				    size_t errlen)
{
	return st->be->last_before(st->impl, t, last, found, err, errlen);
}
