/*
 * json.c - the report as JSON, DESIGN.md schema 1, through jansson.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>

#include "render/render.h"
#include "util/timeutil.h"
#include "util/banned.h"

static json_t *iso(int64_t t)
{
	char b[TIME_ISO_LEN];

	return json_string(time_format_iso(t, b));
}

static json_t *date(int64_t t)
{
	char b[11];

	return json_string(time_format_date(t, b));
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *count(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *by_family(const struct report *r, const uint64_t *v)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < r->nfamilies; i++)
		json_object_set_new(o, r->families[i].name, count(v ? v[i] : 0));
	return o;
}

static json_t *totals(const struct report_totals *t)
{
	return json_pack("{s:o,s:o,s:o,s:o}", "messages", count(t->messages), "recipients",
			 count(t->recipients), "bytes", count(t->bytes), "clients", count(t->clients));
}

int render_json(const struct report *r, FILE *out)
{
	json_t *root = json_object(), *a;
	size_t i;
	int rc;

	json_object_set_new(root, "schema", json_integer(REPORT_SCHEMA));
	json_object_set_new(root, "unit", json_string(analysis_unit_name(r->unit)));
	json_object_set_new(root, "period", r->has_period ?
		json_pack("{s:o,s:o}", "from", iso(r->from), "to", iso(r->to)) :
		json_pack("{s:n,s:n}", "from", "to"));
	json_object_set_new(root, "total", totals(&r->total));

	a = json_array();
	for (i = 0; i < r->nsensors; i++)
		json_array_append_new(a, json_pack("{s:s,s:o}", "name", r->sensors[i].name,
						   "messages", count(r->sensors[i].messages)));
	json_object_set_new(root, "sensors", a);

	a = json_array();
	for (i = 0; i < r->nfamilies; i++) {
		const struct report_family *f = &r->families[i];
		json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "name", f->name,
				      "messages", count(f->t.messages), "recipients", count(f->t.recipients),
				      "bytes", count(f->t.bytes), "clients", count(f->t.clients),
				      "share", num(f->share));

		json_object_set_new(o, "consistency", f->consistency.known ?
			json_pack("{s:o,s:o,s:o}", "cv_hourly", num(f->consistency.cv_hourly),
				  "peak_to_median", num(f->consistency.peak_to_median),
				  "diurnal_acf", num(f->consistency.diurnal_acf)) :
			json_pack("{s:n,s:n,s:n}", "cv_hourly", "peak_to_median", "diurnal_acf"));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "families", a);

	a = json_array();
	for (i = 0; i < r->nevents; i++) {
		const struct report_event *e = &r->events[i];
		json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "family", e->family, "type", e->type,
				      "at", iso(e->at), "before_rate_per_hour", num(e->before_rate_per_hour),
				      "after_rate_per_hour", num(e->after_rate_per_hour),
				      "confidence", num(e->confidence));

		json_object_set_new(o, "impact", e->impact.known ?
			json_pack("{s:o,s:o,s:o,s:o}", "total_change_day_over_day", num(e->impact.day_over_day),
				  "total_change_vs_baseline", num(e->impact.vs_baseline),
				  "lo95", num(e->impact.lo95), "hi95", num(e->impact.hi95)) : json_null());
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "events", a);

	a = json_array();
	for (i = 0; i < r->ndays; i++) {
		const struct report_day *d = &r->days[i];

		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o}", "date", date(d->date),
			"total", count(d->total), "change", d->has_change ? num(d->change) : json_null(),
			"by_family", by_family(r, d->by_family)));
	}
	json_object_set_new(root, "daily", a);

	a = json_array();
	for (i = 0; i < r->npoints; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}", "t", iso(r->points[i].t),
			"total", count(r->points[i].total), "by_family", by_family(r, r->points[i].by_family)));
	json_object_set_new(root, "series", json_pack("{s:s,s:o}", "bucket",
		report_bucket_name(r->bucket_seconds), "points", a));

	a = json_array();
	for (i = 0; i < r->ncampaigns; i++) {
		const struct report_campaign *c = &r->campaigns[i];
		json_t *fam = json_object();
		size_t k;

		for (k = 0; k < c->nfamilies; k++)
			json_object_set_new(fam, c->family[k], count(c->count[k]));
		json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "id", c->id, "messages",
						   count(c->messages), "families", fam));
	}
	json_object_set_new(root, "campaigns", a);

	a = json_array();
	for (i = 0; i < r->nprojection; i++) {
		const struct report_projection_point *p = &r->projection[i];

		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "date", date(p->date),
			"total", num(p->total), "lo80", num(p->lo80), "hi80", num(p->hi80),
			"lo95", num(p->lo95), "hi95", num(p->hi95)));
	}
	json_object_set_new(root, "projection", json_pack("{s:s,s:o,s:o,s:o}",
		"unit", r->projection_unit ? r->projection_unit : "day",
		"scale", num(r->scale > 0 ? r->scale : 1),
		"without", r->without ? json_string(r->without) : json_null(), "points", a));

	rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(root);
	if (rc != 0 || fputc('\n', out) == EOF || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
