/*
 * render.h - the report as values, and its renderers: text for people,
 * JSON (DESIGN.md schema 1), CSV (the series).
 *
 * struct report is what `spamtide report` found; it owns nothing the
 * renderers free: report_free() releases it. Renderers write to a FILE and
 * return 0, or -1 when writing failed (errno set); they never exit.
 *
 * JSON: every key of schema 1 is always present; null where a value cannot
 * exist (daily change on the first day, impact of non-cessation events,
 * consistency of a family with too little data).
 */
#ifndef SPAMTIDE_RENDER_RENDER_H
#define SPAMTIDE_RENDER_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/analysis.h"
#include "util/buf.h"

#define REPORT_SCHEMA 1


struct report_totals {
	uint64_t messages, recipients, bytes, clients;
};

struct report_sensor {
	char *name;
	uint64_t messages;
};

struct report_consistency {
	bool known;
	double cv_hourly, peak_to_median, diurnal_acf;
};

struct report_family {
	char *name;
	struct report_totals t;
	double share;
	struct report_consistency consistency;
};

struct report_impact {
	bool known;
	double day_over_day, vs_baseline, lo95, hi95;
	double hours;            /* the hours after the event vs_baseline weighed */
};

struct report_event {
	char *family;
	char *type;              /* ceased, resumed, drop, surge */
	int64_t at;
	double before_rate_per_hour, after_rate_per_hour;
	double confidence;
	double p_value;          /* for the text: how unlikely under the model */
	struct report_impact impact;
};

struct report_day {
	int64_t date;            /* midnight UTC */
	uint64_t total;
	bool has_change;
	double change;
	bool partial;            /* the period covers only part of it */
	uint64_t *by_family;     /* [nfamilies], in families[] order */
};

struct report_point {
	int64_t t;
	uint64_t total;
	uint64_t *by_family;     /* [nfamilies] */
};

struct report_campaign {
	char *id;
	uint64_t messages;
	size_t nfamilies;
	char **family;
	uint64_t *count;
};

struct report_projection_point {
	int64_t date;
	double total, lo80, hi80, lo95, hi95;
};

struct report {
	enum analysis_unit unit;
	int64_t from, to;               /* the period, half-open */
	int64_t data_from, data_to;     /* the part of it the tables cover: the
					 * days the store holds data for */
	bool has_period;                /* false: an empty store and no --from/--to */
	bool empty;                     /* nothing stored in the period */
	struct report_totals total;
	struct report_sensor *sensors;
	size_t nsensors;
	int64_t unwatched;              /* seconds of the period no trap watched */
	size_t unwatched_spans;         /* in how many stretches */
	struct report_family *families;
	size_t nfamilies;
	struct report_event *events;
	size_t nevents;
	struct report_day *days;
	size_t ndays;
	int bucket_seconds;             /* 60, 3600, 86400 */
	struct report_point *points;
	size_t npoints;
	struct report_campaign *campaigns;
	size_t ncampaigns;
	/* hourly volume of the period, for charts: hourly[f][h] is family f's
	 * (families[] order) messages in hour hour0 + h; hourly_total the sum */
	int64_t hour0;                  /* unix time / 3600 */
	size_t nhours;
	double **hourly;
	double *hourly_total;
	/* projection */
	const char *projection_unit;    /* "day" */
	double scale;
	char *without;                  /* NULL: all families */
	bool without_absent;            /* it sent nothing in the period */
	struct report_projection_point *projection;
	size_t nprojection;
};

void report_free(struct report *r);
const char *report_bucket_name(int seconds);

int render_json(const struct report *r, FILE *out);
/*
 * render_json_value: one JSON value (jansson's json_t) as text, written to
 * out in one fwrite, through scratch (kept by the caller between calls:
 * json_dumpf would write it token by token, json_dumps allocate each time).
 * No newline added. 0, or -1 when it cannot be dumped or written.
 */
struct json_t;
int render_json_value(FILE *out, const struct json_t *v, size_t flags, struct buf *scratch);
/* render_json_append: the same, appended to out. 0, or -1. */
int render_json_append(struct buf *out, const struct json_t *v, size_t flags);
int render_text(const struct report *r, FILE *out);
int render_csv(const struct report *r, FILE *out);
/*
 * render_html: DIR/report.html (one self-contained file: inline SVG, no
 * network fetches) and every chart as DIR/NAME.png and DIR/NAME.svg. The
 * directory is created if missing. Returns 0, or -1 with err filled.
 */
int render_html(const struct report *r, const char *dir, char *err, size_t errlen);
/* report_summary: the findings in sentences, one per line (text and HTML). */
void report_summary(const struct report *r, struct buf *out);

#endif
