/*
 * backend.h - internal to src/store: what a backend implements.
 */
#ifndef SPAMTIDE_STORE_BACKEND_H
#define SPAMTIDE_STORE_BACKEND_H

#include "store/store.h"

struct store_backend {
	const char *scheme;
	enum store_status (*open)(const char *location, enum store_mode mode, void **impl,
				  char *err, size_t errlen);
	void (*close)(void *impl);
	enum store_status (*begin)(void *impl, char *err, size_t errlen);
	enum store_status (*add)(void *impl, const struct store_message *m, char *err, size_t errlen);
	/* flush: the open batch's rollups into it, so that commit has little left */
	enum store_status (*flush)(void *impl, char *err, size_t errlen);
	enum store_status (*commit)(void *impl, char *err, size_t errlen);
	void (*rollback)(void *impl);
	enum store_status (*span)(void *impl, int64_t *first, int64_t *last, bool *empty,
				  char *err, size_t errlen);
	enum store_status (*names)(void *impl, const char *table, struct store_names *out,
				   char *err, size_t errlen);
	enum store_status (*minutes)(void *impl, int64_t day_from, int64_t day_to, int family_id,
				     store_minutes_fn *fn, void *ctx, char *err, size_t errlen);
	enum store_status (*hours)(void *impl, int64_t hour_from, int64_t hour_to, int64_t bare_from,
				   int64_t bare_to, store_hours_fn *fn, void *ctx, char *err, size_t errlen);
	enum store_status (*day_clients)(void *impl, int64_t day_from, int64_t day_to, bool *have,
					 store_day_clients_fn *fn, void *ctx, char *err, size_t errlen);
	enum store_status (*campaigns)(void *impl, int64_t from, int64_t to, size_t top,
				       store_campaigns_fn *fn, void *ctx, char *err, size_t errlen);
	enum store_status (*briefs)(void *impl, int64_t from, int64_t to, store_briefs_fn *fn, void *ctx,
				    char *err, size_t errlen);
	enum store_status (*any)(void *impl, int64_t from, int64_t to, bool *any, char *err, size_t errlen);
	enum store_status (*rows)(void *impl, int64_t from, int64_t to, int64_t after_id, size_t max,
				  store_rows_fn *fn, void *ctx, char *err, size_t errlen);
	enum store_status (*set_family)(void *impl, int64_t id, const char *family, double confidence,
					char *err, size_t errlen);
	enum store_status (*rebuild)(void *impl, int64_t from, int64_t to, char *err, size_t errlen);
	enum store_status (*mark_up)(void *impl, const char *sensor, int64_t start, int64_t last,
				     char *err, size_t errlen);
	enum store_status (*runs)(void *impl, store_runs_fn *fn, void *ctx, char *err, size_t errlen);
	enum store_status (*last_before)(void *impl, int64_t t, int64_t *last, bool *found,
					 char *err, size_t errlen);
};

extern const struct store_backend store_sqlite_backend;

#endif
