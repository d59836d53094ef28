/*
 * report.c - the whole analysis of a period, into the report the
 * renderers print; see analysis.h ("The report").
 *
 * Families are those with messages in the period, ordered by their share
 * of the chosen unit (largest first); every per-family array of the report
 * follows that order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/internal.h"
#include "attrib/attrib.h"
#include "render/render.h"
#include "store/store.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct fam {
	size_t id;                 /* store family id */
	size_t in;                 /* index in the analysis input */
	struct analysis_amounts a;
	double unit;
};

static int by_unit_desc(const void *x, const void *y)
{
	const struct fam *a = x, *b = y;

	if (a->unit != b->unit)
		return a->unit < b->unit ? 1 : -1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* the detector as the report's options ask for it */
static void detector_config_of(const struct analysis_report_options *o, struct analysis_detector_config *cfg)
{
	analysis_detector_config_default(cfg);
	if (o->alerts) {
		cfg->false_alarms_per_year = ANALYSIS_ONLINE_FALSE_ALARMS;
		cfg->bursts_once = true;
	}
	if (o->false_alarms > 0)
		cfg->false_alarms_per_year = o->false_alarms;
	if (o->threads > 1)
		cfg->threads = o->threads;
}

#define MINUTE_MATCH_S (2 * 3600)   /* the minute run's event this near the hour's */
#define MINUTE_WINDOW_BEFORE 14     /* days: a profile and a weekly rhythm */
#define MINUTE_WINDOW_AFTER 3

/* minute_of: the minute of one ceased or resumed found per hour (at: its
 * hour), from the family's minutes in w (analysis.h,
 * analysis_report_events_to_minute); *placed when they held any of its
 * messages to place it by */
static int64_t minute_of(const struct store_series *w, const struct analysis_report_options *o,
			 const char *family, enum analysis_event_type t, int64_t at, bool *placed)
{
	struct analysis_detector_config cfg;
	struct analysis_family fam;
	struct analysis_input in;
	struct analysis_event *ev = NULL;
	size_t f, n = 0, i;
	int64_t best = at, off = INT64_MAX;

	*placed = false;
	if (w->step != 60)
		return at;
	for (f = 0; f < w->families.count; f++)
		if (w->families.name[f] && w->counts[f] && strcmp(w->families.name[f], family) == 0)
			break;
	if (f == w->families.count)
		return at;
	for (i = 0; i < w->nslots && !w->counts[f][i]; i++)
		;
	if (i == w->nslots)
		return at;   /* no minute counts there (a store kept per hour) */
	*placed = true;
	memset(&fam, 0, sizeof(fam));
	fam.name = family;
	fam.counts = w->counts[f];
	memset(&in, 0, sizeof(in));
	in.start = w->from;
	in.end = w->to;
	in.step = 60;
	in.n_families = 1;
	in.families = &fam;
	in.gaps = w->gaps;
	in.n_gaps = w->n_gaps;
	detector_config_of(o, &cfg);
	cfg.threads = 1;
	if (analysis_events_detect(&in, &cfg, &ev, &n, NULL, 0) == ANALYSIS_OK)
		for (i = 0; i < n; i++) {
			int64_t d = llabs(ev[i].at - (at + 1800));

			if (ev[i].type == t && d <= MINUTE_MATCH_S && d < off) {
				off = d;
				best = ev[i].at;
			}
		}
	free(ev);
	if (off == INT64_MAX)
		best = analysis_event_minute(t, at, 3600, w->counts[f], w->from, w->nslots);
	return best;
}

enum analysis_status analysis_report_events_to_minute(struct report *r, const struct analysis_report_options *o,
						      int64_t from, int64_t to, analysis_minutes_fn *load, void *ctx,
						      size_t *unplaced, char *err, size_t errlen)
{
	size_t i, j;

	*unplaced = 0;
	for (i = 0; i < r->nevents; i++) {
		struct report_event *e = &r->events[i];
		struct store_series w;
		int64_t day = an_floor(e->at, AN_DAY);
		int64_t lo = day - MINUTE_WINDOW_BEFORE * AN_DAY, hi = day + MINUTE_WINDOW_AFTER * AN_DAY;
		enum analysis_event_type t;
		bool placed;

		if (strcmp(e->type, "ceased") == 0)
			t = ANALYSIS_EVENT_CEASED;
		else if (strcmp(e->type, "resumed") == 0)
			t = ANALYSIS_EVENT_RESUMED;
		else
			continue;
		if (lo < from)
			lo = from;
		if (hi > to)
			hi = to;
		if (!load(ctx, e->family, lo, hi, &w, err, errlen))
			return ANALYSIS_EINVAL;
		e->at = minute_of(&w, o, e->family, t, e->at, &placed);
		if (!placed)
			(*unplaced)++;
		store_series_free(&w);
	}
	/* in time order again, ties as they were (two families' events of
	 * one hour may swap; the order within a minute is the detector's) */
	for (i = 1; i < r->nevents; i++) {
		struct report_event e = r->events[i];

		for (j = i; j > 0 && r->events[j - 1].at > e.at; j--)
			r->events[j] = r->events[j - 1];
		r->events[j] = e;
	}
	return ANALYSIS_OK;
}

static uint64_t whole(double v)
{
	return isfinite(v) && v > 0 ? (uint64_t)llround(v) : 0;
}

/* not_tiny: a projected count, with what smoothing leaves of zero (1e-161) as 0 */
static double not_tiny(double v)
{
	return fabs(v) < 1e-6 ? 0 : v;
}

static double unit_of(const struct analysis_amounts *a, enum analysis_unit u)
{
	switch (u) {
	case ANALYSIS_UNIT_MESSAGES: return a->messages;
	case ANALYSIS_UNIT_RECIPIENTS: return a->recipients;
	case ANALYSIS_UNIT_BYTES: return a->bytes;
	case ANALYSIS_UNIT_CLIENTS: return a->clients;
	}
	return 0;
}

/* events_with_history: the events of h (analysis_report_options.events_from)
 * at or after from; *fams the families their indexes name (names borrowed
 * from h) */
static enum analysis_status events_with_history(const struct store_series *h, int64_t from,
						const struct analysis_detector_config *cfg,
						struct analysis_event **events, size_t *nevents,
						struct analysis_family **fams, char *err, size_t errlen)
{
	struct analysis_input in = { 0 };
	enum analysis_status st;
	size_t f, i, n = 0, kept = 0;

	*fams = xcalloc(h->families.count + 1, sizeof(**fams));
	for (f = 1; f < h->families.count; f++) {
		if (!h->counts[f] || !h->families.name[f])
			continue;
		for (i = 0; i < h->nslots && !h->counts[f][i]; i++)
			;
		if (i == h->nslots)
			continue;
		(*fams)[n].name = h->families.name[f];
		(*fams)[n].no_events = strcmp(h->families.name[f], ATTRIB_UNKNOWN) == 0;
		(*fams)[n].counts = h->counts[f];
		n++;
	}
	in.start = h->from;
	in.end = h->to;
	in.step = h->step;
	in.n_families = n;
	in.families = *fams;
	in.gaps = h->gaps;
	in.n_gaps = h->n_gaps;
	if (n == 0)
		return ANALYSIS_OK;
	if ((st = analysis_events_detect(&in, cfg, events, nevents, err, errlen)) != ANALYSIS_OK)
		return st;
	for (i = 0; i < *nevents; i++)
		if ((*events)[i].at >= from)
			(*events)[kept++] = (*events)[i];
	*nevents = kept;
	return ANALYSIS_OK;
}

enum analysis_status analysis_report(const struct store_series *s,
				     const struct analysis_report_options *o, struct report *r,
				     char *err, size_t errlen)
{
	size_t nf = 0, f, i, k, *order_of_in = NULL;
	struct analysis_family *fams = NULL;
	struct analysis_hll ***period_clients = NULL;
	struct fam *fm = NULL;
	struct analysis_input in = { 0 };
	struct analysis_shares shares = { 0 };
	struct analysis_daily daily = { 0 };
	struct analysis_series series = { 0 }, hourly = { 0 };
	struct analysis_event *events = NULL;
	struct analysis_family *ev_fams = NULL;   /* events_from's families */
	size_t nevents = 0;
	struct analysis_projection proj = { 0 };
	struct analysis_projection_config pc;
	enum analysis_status st = ANALYSIS_OK;

	memset(r, 0, sizeof(*r));
	r->unit = o->unit;
	r->from = s->from;
	r->to = s->to;
	r->bucket_seconds = o->bucket;
	r->scale = o->scale > 0 ? o->scale : 1;
	r->projection_unit = "day";
	r->without = o->without ? xstrdup(o->without) : NULL;

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

	/* the input: the families with messages in the period */
	fams = xcalloc(s->families.count + 1, sizeof(*fams));
	fm = xcalloc(s->families.count + 1, sizeof(*fm));
	period_clients = xcalloc(s->families.count + 1, sizeof(*period_clients));
	for (f = 1; f < s->families.count; f++) {
		uint64_t sum = 0;

		if (!s->counts[f])
			continue;
		for (i = 0; i < s->nslots && !sum; i++)
			sum += s->counts[f][i];
		if (!sum)
			continue;
		fams[nf].name = s->families.name[f];
		/* "a message no family claims is unknown" (DESIGN.md): many
		 * senders, whose sum neither ceases nor resumes as a botnet
		 * does (its chance silences were judged as one) */
		fams[nf].no_events = strcmp(fams[nf].name, ATTRIB_UNKNOWN) == 0;
		fams[nf].counts = s->counts[f];
		fams[nf].recipients = s->hour_recipients[f];
		fams[nf].bytes = s->hour_bytes[f];
		if (s->hour_clients) {
			fams[nf].clients = s->hour_clients[f];
		} else {
			/* one sketch for the whole period, in its first hour: enough
			 * for shares and totals (they merge the hours) */
			period_clients[nf] = xcalloc(s->nhours + 1, sizeof(struct analysis_hll *));
			period_clients[nf][0] = s->clients[f];
			fams[nf].clients = period_clients[nf];
		}
		fm[nf].id = f;
		fm[nf].in = nf;
		nf++;
	}
	if (o->without) {
		r->without_absent = true;
		for (f = 0; f < nf; f++)
			if (strcmp(fams[f].name, o->without) == 0)
				r->without_absent = false;
	}
	r->hour0 = s->hour0;
	in.start = s->from;
	in.end = s->to;
	in.step = s->step;
	in.n_families = nf;
	in.families = fams;
	in.gaps = s->gaps;
	in.n_gaps = s->n_gaps;
	r->unwatched = s->unwatched;
	r->unwatched_spans = s->n_gaps;
	if (nf == 0 || s->nslots == 0) {
		r->empty = true;
		goto done;
	}
	if ((st = analysis_input_check(&in, err, errlen)) != ANALYSIS_OK)
		goto done;
	if (o->bucket < 3600 && o->unit != ANALYSIS_UNIT_MESSAGES) {
		snprintf(err, errlen, "--unit %s needs a bucket of 1h or 1d", analysis_unit_name(o->unit));
		st = ANALYSIS_EINVAL;
		goto done;
	}

	/* shares, and the families in share order */
	if ((st = analysis_shares_compute(&in, o->unit, &shares, err, errlen)) != ANALYSIS_OK)
		goto done;
	for (f = 0; f < nf; f++) {
		fm[f].a = shares.family[f];
		fm[f].unit = unit_of(&shares.family[f], o->unit);
	}
	qsort(fm, nf, sizeof(*fm), by_unit_desc);
	order_of_in = xcalloc(nf + 1, sizeof(size_t));
	for (f = 0; f < nf; f++)
		order_of_in[fm[f].in] = f;
	r->total.messages = whole(shares.total.messages);
	r->total.recipients = whole(shares.total.recipients);
	r->total.bytes = whole(shares.total.bytes);
	r->total.clients = whole(shares.total.clients);
	r->nfamilies = nf;
	r->families = xcalloc(nf + 1, sizeof(*r->families));
	for (f = 0; f < nf; f++) {
		struct report_family *rf = &r->families[f];
		struct analysis_consistency c;

		rf->name = xstrdup(s->families.name[fm[f].id]);
		rf->t.messages = whole(fm[f].a.messages);
		rf->t.recipients = whole(fm[f].a.recipients);
		rf->t.bytes = whole(fm[f].a.bytes);
		rf->t.clients = whole(fm[f].a.clients);
		rf->share = isfinite(fm[f].a.share) ? fm[f].a.share : 0;
		if (analysis_consistency_family(&in, fm[f].in, &c, NULL, 0) == ANALYSIS_OK &&
		    isfinite(c.cv_hourly)) {
			rf->consistency.known = true;
			rf->consistency.cv_hourly = c.cv_hourly;
			rf->consistency.peak_to_median = c.peak_to_median;
			rf->consistency.diurnal_acf = c.diurnal_acf;
		}
	}

	/* the daily table (messages) */
	if ((st = analysis_daily_build(&in, &daily, err, errlen)) != ANALYSIS_OK)
		goto done;
	r->ndays = daily.n_days;
	r->days = xcalloc(r->ndays + 1, sizeof(*r->days));
	for (i = 0; i < daily.n_days; i++) {
		r->days[i].date = daily.days[i].date;
		r->days[i].total = whole(daily.days[i].total);
		r->days[i].has_change = isfinite(daily.days[i].change);
		r->days[i].change = daily.days[i].change;
		r->days[i].partial = daily.days[i].partial;
		r->days[i].by_family = xcalloc(nf + 1, sizeof(uint64_t));
		for (f = 0; f < nf; f++)
			r->days[i].by_family[order_of_in[f]] = whole(daily.by_family[i * nf + f]);
	}

	/* the series printed, in the unit asked for */
	if ((st = analysis_series_build(&in, o->bucket, o->unit, &series, err, errlen)) != ANALYSIS_OK)
		goto done;
	r->npoints = series.n_points;
	r->points = xcalloc(r->npoints + 1, sizeof(*r->points));
	for (i = 0; i < series.n_points; i++) {
		r->points[i].t = series.t[i];
		r->points[i].total = whole(series.total[i]);
		r->points[i].by_family = xcalloc(nf + 1, sizeof(uint64_t));
		for (f = 0; f < nf; f++)
			r->points[i].by_family[order_of_in[f]] = whole(series.by_family[f * series.n_points + i]);
	}

	/* hourly messages for the charts, when asked for */
	if (o->hourly &&
	    (st = analysis_series_build(&in, 3600, ANALYSIS_UNIT_MESSAGES, &hourly, err, errlen)) !=
	    ANALYSIS_OK)
		goto done;
	r->hour0 = hourly.n_points ? hourly.t[0] / 3600 : s->hour0;
	r->nhours = hourly.n_points;
	r->hourly = xcalloc(nf + 1, sizeof(double *));
	r->hourly_total = xcalloc(r->nhours + 1, sizeof(double));
	for (f = 0; f < nf; f++) {
		double *row = xcalloc(r->nhours + 1, sizeof(double));

		if (hourly.n_points)
			memcpy(row, &hourly.by_family[f * hourly.n_points], hourly.n_points * sizeof(double));
		r->hourly[order_of_in[f]] = row;
	}
	if (hourly.n_points)	/* no chart asked for: the series was never built */
		memcpy(r->hourly_total, hourly.total, hourly.n_points * sizeof(double));

	/* events, at minute resolution, with the impact of each cessation */
	{
		struct analysis_detector_config cfg;

		detector_config_of(o, &cfg);
		if (o->events_from)
			st = events_with_history(o->events_from, s->from, &cfg, &events, &nevents,
						 &ev_fams, err, errlen);
		else
			st = analysis_events_detect(&in, &cfg, &events, &nevents, err, errlen);
		if (st != ANALYSIS_OK)
			goto done;
	}
	r->nevents = nevents;
	r->events = xcalloc(nevents + 1, sizeof(*r->events));
	for (i = 0; i < nevents; i++) {
		const struct analysis_event *e = &events[i];
		struct report_event *re = &r->events[i];

		re->family = xstrdup(ev_fams ? ev_fams[e->family].name : fams[e->family].name);
		re->type = xstrdup(analysis_event_type_name(e->type));
		re->at = e->at;
		re->before_rate_per_hour = e->before_rate_per_hour;
		re->after_rate_per_hour = e->after_rate_per_hour;
		re->confidence = e->confidence;
		re->p_value = e->type == ANALYSIS_EVENT_CEASED ? 1 - e->confidence : 0;
		re->impact.known = e->has_impact;   /* an object for each ceased, nulls in it */
		re->impact.day_over_day = e->impact.total_change_day_over_day;
		re->impact.vs_baseline = e->impact.total_change_vs_baseline;
		re->impact.lo95 = e->impact.lo95;
		re->impact.hi95 = e->impact.hi95;
		re->impact.hours = e->impact.hours;
	}

	/* the projection */
	analysis_projection_config_default(&pc);
	if (o->projection_days > 0)
		pc.days = o->projection_days;
	pc.scale = r->scale;
	pc.without = -1;
	if (o->without)
		for (f = 0; f < nf; f++)
			if (strcmp(fams[f].name, o->without) == 0)
				pc.without = (long)f;
	if (analysis_project(&in, &pc, &proj, NULL, 0) == ANALYSIS_OK) {
		r->nprojection = proj.n_points;
		r->projection = xcalloc(proj.n_points + 1, sizeof(*r->projection));
		for (i = 0; i < proj.n_points; i++) {
			r->projection[i].date = proj.points[i].date;
			r->projection[i].total = not_tiny(proj.points[i].total);
			r->projection[i].lo80 = not_tiny(proj.points[i].lo80);
			r->projection[i].hi80 = not_tiny(proj.points[i].hi80);
			r->projection[i].lo95 = not_tiny(proj.points[i].lo95);
			r->projection[i].hi95 = not_tiny(proj.points[i].hi95);
		}
	}

done:
	/* the largest campaigns, as the store counted them */
	r->ncampaigns = s->ncampaigns;
	r->campaigns = xcalloc(s->ncampaigns + 1, sizeof(*r->campaigns));
	for (i = 0; i < s->ncampaigns; i++) {
		const struct store_series_campaign *c = &s->campaigns[i];
		struct report_campaign *rc = &r->campaigns[i];

		rc->id = xstrdup(c->id);
		rc->messages = c->messages;
		rc->nfamilies = c->n;
		rc->family = xcalloc(c->n + 1, sizeof(char *));
		rc->count = xcalloc(c->n + 1, sizeof(uint64_t));
		for (k = 0; k < c->n; k++) {
			int id = c->family_id[k];

			rc->family[k] = xstrdup(id > 0 && (size_t)id < s->families.count &&
						s->families.name[id] ? s->families.name[id] : "?");
			rc->count[k] = c->count[k];
		}
	}
	if (r->empty)
		r->nevents = 0;
	for (f = 0; f < nf; f++)
		free(period_clients[f]);
	free(period_clients);
	free(order_of_in);
	free(fams);
	free(ev_fams);
	free(fm);
	free(events);
	analysis_shares_free(&shares);
	analysis_daily_free(&daily);
	analysis_series_free(&series);
	analysis_series_free(&hourly);
	if (proj.points || proj.hw.season)
		analysis_projection_free(&proj);
	return st;
}
