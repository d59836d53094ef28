/*
 * json.c - the report as JSON, DESIGN.md schema 1, through jansson.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
		json_object_set_new_nocheck(o, r->families[i].name, count(v ? v[i] : 0));
	return o;
}

static json_t *totals(const struct report_totals *t)
{
	return json_pack("{s:o,s:o,s:o,s:o}", "messages", count(t->messages), "recipients",
			 count(t->recipients), "bytes", count(t->bytes), "clients", count(t->clients));
}

/* one top-level member: the value dumped by jansson after its fixed key;
 * reals with 10 significant digits (a total times --scale 1000000 is in
 * the billions: 6 would round it to thousands) */
static int member(FILE *out, const char *key, json_t *value, bool last)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) |
				       JSON_ENCODE_ANY);
	const char *p, *nl;

	json_decref(value);
	if (!text)
		return -1;
	/* indented one level more, as a member is (a string holds no raw
	 * newline: JSON escapes it) */
	fprintf(out, "  \"%s\": ", key);
	for (p = text; (nl = strchr(p, '\n')); p = nl + 1) {
		fwrite(p, 1, (size_t)(nl - p), out);
		fputs("\n  ", out);
	}
	fputs(p, out);
	free(text);
	fputs(last ? "\n" : ",\n", out);
	return 0;
}

/*
 * The series points are streamed one by one through one reused point
 * object: a year of hourly points for a hundred families is close to a
 * million values, too many to build as one tree.
 */
static int series_member(const struct report *r, FILE *out)
{
	json_t *point = json_object(), *fam = json_object(), *t = json_string(""),
	       *total = json_integer(0), **vals = calloc(r->nfamilies + 1, sizeof(json_t *));
	size_t i, k;
	struct buf text = BUF_INIT;
	int rc = 0;
	char ts[TIME_ISO_LEN];

	for (k = 0; k < r->nfamilies; k++) {
		vals[k] = json_integer(0);
		json_object_set_nocheck(fam, r->families[k].name, vals[k]);
	}
	json_object_set_nocheck(point, "t", t);
	json_object_set_nocheck(point, "total", total);
	json_object_set_nocheck(point, "by_family", fam);
	fprintf(out, "  \"series\": {\"bucket\": \"%s\", \"points\": [", report_bucket_name(r->bucket_seconds));
	for (i = 0; i < r->npoints && rc == 0; i++) {
		json_string_set(t, time_format_iso(r->points[i].t, ts));
		json_integer_set(total, (json_int_t)r->points[i].total);
		for (k = 0; k < r->nfamilies; k++)
			json_integer_set(vals[k], (json_int_t)(r->points[i].by_family ?
							       r->points[i].by_family[k] : 0));
		fputs(i ? ",\n    " : "\n    ", out);
		rc = render_json_value(out, point, JSON_COMPACT | JSON_PRESERVE_ORDER, &text);
	}
	buf_free(&text);
	fputs(r->npoints ? "\n  ]},\n" : "]},\n", out);
	for (k = 0; k < r->nfamilies; k++)
		json_decref(vals[k]);
	free(vals);
	json_decref(t);
	json_decref(total);
	json_decref(fam);
	json_decref(point);
	return rc;
}

int render_json_append(struct buf *out, const json_t *v, size_t flags)
{
	size_t room = 4096, need;

	for (;;) {
		buf_grow(out, room);
		need = json_dumpb(v, out->data + out->len, room, flags);
		if (need == 0)
			return -1;
		if (need <= room)
			break;
		room = need;
	}
	buf_setlen_grown(out, out->len + need);
	return 0;
}

int render_json_value(FILE *out, const json_t *v, size_t flags, struct buf *scratch)
{
	buf_reset(scratch);
	if (render_json_append(scratch, v, flags) != 0 ||
	    fwrite(scratch->data, 1, scratch->len, out) != scratch->len)
		return -1;
	return 0;
}

int render_json(const struct report *r, FILE *out)
{
	json_t *a;
	size_t i;
	int rc = 0;

	fputs("{\n", out);
	rc |= member(out, "schema", json_integer(REPORT_SCHEMA), false);
	rc |= member(out, "unit", json_string(analysis_unit_name(r->unit)), false);
	rc |= member(out, "period", r->has_period ?
		json_pack("{s:o,s:o}", "from", iso(r->from), "to", iso(r->to)) :
		json_pack("{s:n,s:n}", "from", "to"), false);
	rc |= member(out, "total", totals(&r->total), false);

	a = json_array();
	for (i = 0; i < r->nsensors; i++)
		json_array_append_new(a, json_pack("{s:s,s:o}", "name", r->sensors[i].name,
						   "messages", count(r->sensors[i].messages)));
	rc |= member(out, "sensors", a, false);
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
	rc |= member(out, "families", a, false);

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
	rc |= member(out, "events", a, false);

	a = json_array();
	for (i = 0; i < r->ndays; i++) {
		const struct report_day *d = &r->days[i];

		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o}", "date", date(d->date),
			"total", count(d->total), "change", d->has_change ? num(d->change) : json_null(),
			"by_family", by_family(r, d->by_family)));
	}
	rc |= member(out, "daily", a, false);

	rc |= series_member(r, out);

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
	rc |= member(out, "campaigns", a, false);

	a = json_array();
	for (i = 0; i < r->nprojection; i++) {
		const struct report_projection_point *p = &r->projection[i];

		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "date", date(p->date),
			"total", num(p->total), "lo80", num(p->lo80), "hi80", num(p->hi80),
			"lo95", num(p->lo95), "hi95", num(p->hi95)));
	}
	rc |= member(out, "projection", json_pack("{s:s,s:o,s:o,s:o}",
		"unit", r->projection_unit ? r->projection_unit : "day",
		"scale", num(r->scale > 0 ? r->scale : 1),
		"without", r->without ? json_string(r->without) : json_null(), "points", a), true);
	if (rc != 0 || fputs("}\n", out) == EOF || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
