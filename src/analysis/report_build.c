/*
 * report_build.c - totals, shares, daily table and series of a report,
 * from the in-memory series of a period; see report_build.h.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/report_build.h"
#include "util/xalloc.h"
#include "util/banned.h"

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

struct fam {
	size_t id;
	uint64_t messages, recipients, bytes, clients, unit;
};

static int by_unit_desc(const void *a, const void *b)
{
	const struct fam *x = a, *y = b;

	if (x->unit != y->unit)
		return x->unit < y->unit ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

void report_build(const struct store_series *s, const struct report_options *o,
		  struct report *r)
{
	size_t nf = s->families.count, f, i, k, n = 0;
	struct fam *fams = xcalloc(nf + 1, sizeof(*fams));
	uint64_t unit_total = 0;
	int64_t day0, day1, b0;
	size_t bucket = (size_t)o->bucket_seconds;

	r->unit = o->unit;
	r->from = s->from;
	r->to = s->to;
	r->bucket_seconds = o->bucket_seconds;
	r->scale = o->scale > 0 ? o->scale : 1;
	r->projection_unit = "day";
	r->without = o->without ? xstrdup(o->without) : NULL;

	/* totals per family over the period */
	for (f = 1; f < nf; f++) {
		struct fam *fm = &fams[n];

		if (!s->minutes[f])
			continue;
		memset(fm, 0, sizeof(*fm));
		fm->id = f;
		for (i = 0; i < s->nminutes; i++)
			fm->messages += s->minutes[f][i];
		for (i = 0; i < s->nhours; i++) {
			fm->recipients += s->hour_recipients[f][i];
			fm->bytes += s->hour_bytes[f][i];
		}
		fm->clients = s->clients[f];
		if (fm->messages == 0)
			continue;
		r->total.messages += fm->messages;
		r->total.recipients += fm->recipients;
		r->total.bytes += fm->bytes;
		fm->unit = o->unit == UNIT_MESSAGES ? fm->messages :
			   o->unit == UNIT_RECIPIENTS ? fm->recipients :
			   o->unit == UNIT_BYTES ? fm->bytes : fm->clients;
		unit_total += fm->unit;
		n++;
	}
	r->total.clients = s->clients[0];
	r->empty = r->total.messages == 0;
	if (o->unit == UNIT_CLIENTS)
		unit_total = r->total.clients;
	qsort(fams, n, sizeof(*fams), by_unit_desc);
	r->nfamilies = n;
	r->families = xcalloc(n + 1, sizeof(*r->families));
	for (i = 0; i < n; i++) {
		struct report_family *rf = &r->families[i];

		rf->name = xstrdup(s->families.name[fams[i].id]);
		rf->t.messages = fams[i].messages;
		rf->t.recipients = fams[i].recipients;
		rf->t.bytes = fams[i].bytes;
		rf->t.clients = fams[i].clients;
		rf->share = unit_total ? (double)fams[i].unit / (double)unit_total : 0;
	}

	/* sensors */
	for (k = 1; k < s->sensors.count; k++)
		if (s->sensors.name[k] && s->sensor_messages[k])
			r->nsensors++;
	r->sensors = xcalloc(r->nsensors + 1, sizeof(*r->sensors));
	for (k = 1, i = 0; k < s->sensors.count; k++)
		if (s->sensors.name[k] && s->sensor_messages[k]) {
			r->sensors[i].name = xstrdup(s->sensors.name[k]);
			r->sensors[i++].messages = s->sensor_messages[k];
		}

	/* daily table */
	if (s->nminutes > 0) {
		day0 = floor_div(s->from, 86400);
		day1 = floor_div(s->to - 1, 86400) + 1;
		r->ndays = (size_t)(day1 - day0);
		r->days = xcalloc(r->ndays + 1, sizeof(*r->days));
		for (i = 0; i < r->ndays; i++) {
			r->days[i].date = (day0 + (int64_t)i) * 86400;
			r->days[i].by_family = xcalloc(n + 1, sizeof(uint64_t));
		}
		for (k = 0; k < n; k++) {
			const uint32_t *m = s->minutes[fams[k].id];

			for (i = 0; i < s->nminutes; i++) {
				size_t d = (size_t)(floor_div(s->from + 60 * (int64_t)i, 86400) - day0);

				r->days[d].by_family[k] += m[i];
				r->days[d].total += m[i];
			}
		}
		for (i = 1; i < r->ndays; i++) {
			r->days[i].has_change = r->days[i - 1].total > 0;
			if (r->days[i].has_change)
				r->days[i].change = (double)r->days[i].total / (double)r->days[i - 1].total - 1;
		}

		/* series per bucket */
		b0 = floor_div(s->from, (int64_t)bucket);
		r->npoints = (size_t)(floor_div(s->to - 1, (int64_t)bucket) - b0 + 1);
		r->points = xcalloc(r->npoints + 1, sizeof(*r->points));
		for (i = 0; i < r->npoints; i++) {
			r->points[i].t = (b0 + (int64_t)i) * (int64_t)bucket;
			r->points[i].by_family = xcalloc(n + 1, sizeof(uint64_t));
		}
		for (k = 0; k < n; k++) {
			const uint32_t *m = s->minutes[fams[k].id];

			for (i = 0; i < s->nminutes; i++) {
				size_t p;

				if (!m[i])
					continue;
				p = (size_t)(floor_div(s->from + 60 * (int64_t)i, (int64_t)bucket) - b0);
				r->points[p].by_family[k] += m[i];
				r->points[p].total += m[i];
			}
		}
	}
	/* hourly volume for charts */
	r->hour0 = floor_div(s->from, 3600);
	r->nhours = s->nminutes ? (size_t)(floor_div(s->to - 1, 3600) - r->hour0 + 1) : 0;
	r->hourly = xcalloc(n + 1, sizeof(double *));
	r->hourly_total = xcalloc(r->nhours + 1, sizeof(double));
	for (k = 0; k < n; k++) {
		const uint32_t *m = s->minutes[fams[k].id];

		r->hourly[k] = xcalloc(r->nhours + 1, sizeof(double));
		for (i = 0; i < s->nminutes; i++) {
			size_t h;

			if (!m[i])
				continue;
			h = (size_t)(floor_div(s->from + 60 * (int64_t)i, 3600) - r->hour0);
			r->hourly[k][h] += m[i];
			r->hourly_total[h] += m[i];
		}
	}
	free(fams);
}
