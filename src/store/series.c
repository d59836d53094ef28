/*
 * series.c - a period's volume in memory, from the rollups; see store.h.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/xalloc.h"
#include "util/banned.h"

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void on_minutes(void *ctx, int sensor_id, int family_id, int64_t day,
		       const uint32_t *counts)
{
	struct store_series *s = ctx;
	int64_t t0 = day * 86400;
	int k;

	if (family_id <= 0 || (size_t)family_id >= s->families.count || !s->minutes[family_id])
		return;
	for (k = 0; k < 1440; k++) {
		int64_t t = t0 + 60 * k;

		if (!counts[k] || t < s->from || t >= s->to)
			continue;
		s->minutes[family_id][(t - s->from) / 60] += counts[k];
		if (sensor_id > 0 && (size_t)sensor_id < s->sensors.count)
			s->sensor_messages[sensor_id] += counts[k];
	}
}

static void on_hour(void *ctx, const struct store_hour *h)
{
	struct store_series *s = ctx;
	size_t i;

	if (h->family_id <= 0 || (size_t)h->family_id >= s->families.count ||
	    !s->hour_recipients[h->family_id] || h->hour < s->hour0)
		return;
	i = (size_t)(h->hour - s->hour0);
	if (i >= s->nhours)
		return;
	s->hour_recipients[h->family_id][i] += h->recipients;
	s->hour_bytes[h->family_id][i] += h->bytes;
}

enum store_status store_load_series(store *st, int64_t from, int64_t to,
				    struct store_series *out, char *err, size_t errlen)
{
	size_t f;

	memset(out, 0, sizeof(*out));
	out->from = from;
	out->to = to > from ? to : from;
	out->nminutes = (size_t)((out->to - out->from) / 60);
	out->hour0 = floor_div(from, 3600);
	out->nhours = (size_t)(floor_div(out->to - 1, 3600) - out->hour0 + 1);
	if (out->to == out->from)
		out->nhours = 0;
	if (store_families(st, &out->families, err, errlen) != STORE_OK ||
	    store_sensors(st, &out->sensors, err, errlen) != STORE_OK) {
		store_series_free(out);
		return STORE_ERROR;
	}
	out->minutes = xcalloc(out->families.count + 1, sizeof(uint32_t *));
	out->hour_recipients = xcalloc(out->families.count + 1, sizeof(uint64_t *));
	out->hour_bytes = xcalloc(out->families.count + 1, sizeof(uint64_t *));
	out->clients = xcalloc(out->families.count + 1, sizeof(uint64_t));
	out->sensor_messages = xcalloc(out->sensors.count + 1, sizeof(uint64_t));
	for (f = 1; f < out->families.count; f++) {
		if (!out->families.name[f])
			continue;
		out->minutes[f] = xcalloc(out->nminutes + 1, sizeof(uint32_t));
		out->hour_recipients[f] = xcalloc(out->nhours + 1, sizeof(uint64_t));
		out->hour_bytes[f] = xcalloc(out->nhours + 1, sizeof(uint64_t));
	}
	if (store_minutes(st, floor_div(out->from, 86400), floor_div(out->to - 1, 86400) + 1,
			  on_minutes, out, err, errlen) != STORE_OK ||
	    store_hours(st, out->hour0, out->hour0 + (int64_t)out->nhours, on_hour, out, err,
			errlen) != STORE_OK ||
	    store_clients(st, out->from, out->to, out->clients, out->families.count, err,
			  errlen) != STORE_OK) {
		store_series_free(out);
		return STORE_ERROR;
	}
	return STORE_OK;
}

void store_series_free(struct store_series *s)
{
	size_t f;

	for (f = 0; s->minutes && f < s->families.count; f++) {
		free(s->minutes[f]);
		free(s->hour_recipients[f]);
		free(s->hour_bytes[f]);
	}
	free(s->minutes);
	free(s->hour_recipients);
	free(s->hour_bytes);
	free(s->clients);
	free(s->sensor_messages);
	store_names_free(&s->families);
	store_names_free(&s->sensors);
	memset(s, 0, sizeof(*s));
}
