/*
 * figures.c - which charts a report shows, built from its values; see
 * figures.h. Pure: no drawing, no files.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/figures.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DAY 86400
#define HOUR 3600

static void init(struct figure *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->spec.title = f->title;
	f->spec.subtitle = f->subtitle;
	f->spec.y_label = f->y_label;
	f->spec.series = f->series;
	f->spec.bands = f->bands;
	f->spec.markers = f->markers;
	f->spec.mode = CHART_MODE_LINES;
}

/* an hourly series of family k (or the total, k < 0) over [from, to) */
static void hourly_series(struct figure *f, const struct report *r, long k, int64_t from,
			  int64_t to, const char *name)
{
	size_t s = f->spec.nseries, n = 0, h;
	int64_t h0 = from / HOUR, h1 = (to + HOUR - 1) / HOUR;

	if (h0 < r->hour0)
		h0 = r->hour0;
	if (h1 > r->hour0 + (int64_t)r->nhours)
		h1 = r->hour0 + (int64_t)r->nhours;
	f->t[s] = xcalloc((size_t)(h1 > h0 ? h1 - h0 : 0) + 1, sizeof(int64_t));
	f->v[s] = xcalloc((size_t)(h1 > h0 ? h1 - h0 : 0) + 1, sizeof(double));
	for (int64_t x = h0; x < h1; x++) {
		h = (size_t)(x - r->hour0);
		f->t[s][n] = x * HOUR;
		f->v[s][n] = k < 0 ? r->hourly_total[h] : r->hourly[k][h];
		n++;
	}
	snprintf(f->series_name[s], sizeof(f->series_name[s]), "%s", name);
	f->series[s].name = f->series_name[s];
	f->series[s].t = f->t[s];
	f->series[s].v = f->v[s];
	f->series[s].n = n;
	f->spec.nseries++;
}

static long family_index(const struct report *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nfamilies; i++)
		if (strcmp(r->families[i].name, name) == 0)
			return (long)i;
	return -1;
}

static void marker(struct figure *f, int64_t t, const char *fmt, const char *a, const char *b)
{
	size_t m = f->spec.nmarkers;

	if (m >= sizeof(f->markers) / sizeof(f->markers[0]))
		return;
	snprintf(f->marker_label[m], sizeof(f->marker_label[m]), fmt, a, b);
	f->markers[m].t = t;
	f->markers[m].label = f->marker_label[m];
	f->spec.nmarkers++;
}

static int64_t clamp(int64_t t, int64_t lo, int64_t hi)
{
	return t < lo ? lo : t > hi ? hi : t;
}

/*
 * The cessation to show: a takedown (a cessation the family never came back
 * from) before a pause, the latest such; else the first cessation.
 */
static const struct report_event *first_ceased(const struct report *r)
{
	const struct report_event *first = NULL, *final = NULL;
	size_t i, k;

	for (i = 0; i < r->nevents; i++) {
		const struct report_event *e = &r->events[i];
		bool back = false;

		if (strcmp(e->type, "ceased") != 0)
			continue;
		if (!first)
			first = e;
		for (k = i + 1; k < r->nevents; k++)
			if (!strcmp(r->events[k].family, e->family) && !strcmp(r->events[k].type, "resumed"))
				back = true;
		if (!back)
			final = e;
	}
	return final ? final : first;
}

/* the largest families other than unknown, in share order */
static size_t top_families(const struct report *r, long *out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < r->nfamilies && n < max; i++)
		if (strcmp(r->families[i].name, "unknown") != 0)
			out[n++] = (long)i;
	return n;
}

size_t figures_build(const struct report *r, struct figure *out)
{
	const struct report_event *ev = first_ceased(r);
	int64_t p0 = r->hour0 * HOUR, p1 = (r->hour0 + (int64_t)r->nhours) * HOUR;
	long top[FIGURE_SERIES_MAX];
	size_t ntop = top_families(r, top, 6), n = 0, i;
	char d1[24], d2[24];
	struct figure *f;

	if (r->empty || r->nhours == 0)
		return 0;

	/* (a) the takedown (or the first cessation), by hour, three days either side */
	if (ev && family_index(r, ev->family) >= 0) {
		int64_t from = clamp(ev->at - 3 * DAY, p0, p1), to = clamp(ev->at + 3 * DAY, p0, p1);

		f = &out[n++];
		init(f, "a-event");
		time_format_human(ev->at, d1);
		snprintf(f->title, sizeof(f->title), "%s ceased at %s", ev->family, d1);
		snprintf(f->subtitle, sizeof(f->subtitle), "Messages per hour attributed to %s, "
			 "three days either side", ev->family);
		snprintf(f->y_label, sizeof(f->y_label), "messages per hour");
		snprintf(f->caption, sizeof(f->caption), "%s's hourly volume around its cessation; "
			 "the dashed line is the minute of its last message.", ev->family);
		hourly_series(f, r, family_index(r, ev->family), from, to, ev->family);
		marker(f, ev->at, "%s %s", ev->family, "ceased");
	}

	/* (b) the spikiest large family over three weeks: its spikes are its normal */
	{
		long pick = -1;
		int64_t end, from;

		for (i = 0; i < ntop; i++) {
			const struct report_family *fa = &r->families[top[i]];

			if (fa->share < 0.05 || !fa->consistency.known)
				continue;
			if (pick < 0 || fa->consistency.cv_hourly > r->families[pick].consistency.cv_hourly)
				pick = top[i];
		}
		if (pick < 0 && ntop)
			pick = top[0];
		if (pick >= 0) {
			end = ev && strcmp(ev->family, r->families[pick].name) == 0 ? ev->at : p1;
			/* before a holiday or takedown, three full weeks */
			from = clamp(end - 21 * DAY, p0, p1);
			f = &out[n++];
			init(f, "b-weeks");
			{
				double days = (double)(end - from) / DAY;

				if (days >= 20.5)
					snprintf(f->title, sizeof(f->title), "%s over three weeks",
						 r->families[pick].name);
				else
					snprintf(f->title, sizeof(f->title), "%s over %.0f day%s",
						 r->families[pick].name, days < 1 ? 1.0 : days,
						 days < 1.5 ? "" : "s");
			}
			if (r->families[pick].consistency.known)
				snprintf(f->subtitle, sizeof(f->subtitle), "Messages per hour; hourly CV %.2f, "
					 "peak %.1f times the median hour, daily autocorrelation %.2f",
					 r->families[pick].consistency.cv_hourly,
					 r->families[pick].consistency.peak_to_median,
					 r->families[pick].consistency.diurnal_acf);
			else
				snprintf(f->subtitle, sizeof(f->subtitle), "Messages per hour");
			snprintf(f->y_label, sizeof(f->y_label), "messages per hour");
			snprintf(f->caption, sizeof(f->caption), "The daily shape of %s: spikes that come "
				 "back day after day are its normal behaviour, not events.",
				 r->families[pick].name);
			hourly_series(f, r, pick, from, end, r->families[pick].name);
		}
	}

	/* (c) the two largest families, two weeks */
	if (ntop >= 2) {
		int64_t end = ev ? clamp(ev->at, p0, p1) : p1, from = clamp(end - 14 * DAY, p0, p1);

		f = &out[n++];
		init(f, "c-compare");
		snprintf(f->title, sizeof(f->title), "%s and %s compared", r->families[top[0]].name,
			 r->families[top[1]].name);
		/* the window's own length in the subtitle below */
		if (r->families[top[0]].consistency.known && r->families[top[1]].consistency.known)
			snprintf(f->subtitle, sizeof(f->subtitle), "Messages per hour over %.0f days; "
				 "hourly CV %s %.2f, %s %.2f", (double)(end - from) / DAY, r->families[top[0]].name,
				 r->families[top[0]].consistency.cv_hourly, r->families[top[1]].name,
				 r->families[top[1]].consistency.cv_hourly);
		else
			snprintf(f->subtitle, sizeof(f->subtitle), "Messages per hour over %.0f days",
				 (double)(end - from) / DAY);
		snprintf(f->y_label, sizeof(f->y_label), "messages per hour");
		snprintf(f->caption, sizeof(f->caption), "Which of the two is spiky and which is "
			 "steady (the lower coefficient of variation).");
		hourly_series(f, r, top[0], from, end, r->families[top[0]].name);
		hourly_series(f, r, top[1], from, end, r->families[top[1]].name);
	}

	/* (d) total volume with every event */
	{
		bool hourly = r->nhours <= 24 * 21;

		f = &out[n++];
		init(f, "d-total");
		time_format_date(p0, d1);
		time_format_date(p1 - 1, d2);
		snprintf(f->title, sizeof(f->title), "Total spam, %s to %s", d1, d2);
		snprintf(f->subtitle, sizeof(f->subtitle), "Messages per %s at the sensors, with the "
			 "cessations and returns found", hourly ? "hour" : "day");
		snprintf(f->y_label, sizeof(f->y_label), "messages per %s", hourly ? "hour" : "day");
		snprintf(f->caption, sizeof(f->caption), "All families together; the lines mark the "
			 "cessations and returns of the events table (drops and surges are listed there).");
		if (hourly) {
			hourly_series(f, r, -1, p0, p1, "total");
		} else {
			size_t s = 0;

			f->t[0] = xcalloc(r->ndays + 1, sizeof(int64_t));
			f->v[0] = xcalloc(r->ndays + 1, sizeof(double));
			for (i = 0; i < r->ndays; i++) {
				f->t[0][s] = r->days[i].date;
				f->v[0][s++] = (double)r->days[i].total;
			}
			snprintf(f->series_name[0], sizeof(f->series_name[0]), "total");
			f->series[0] = (struct chart_series){ f->series_name[0], f->t[0], f->v[0], s,
							      CHART_COLOR_AUTO, CHART_DASH_SOLID };
			f->spec.nseries = 1;
		}
		/* the cessations and returns; drops and surges are in the table */
		for (i = 0; i < r->nevents; i++)
			if (!strcmp(r->events[i].type, "ceased") || !strcmp(r->events[i].type, "resumed"))
				marker(f, r->events[i].at, "%s %s", r->events[i].family, r->events[i].type);
	}

	/* (e) the projection with its bands */
	if (r->nprojection && r->ndays) {
		size_t hist = r->ndays < 28 ? r->ndays : 28, k = 0, np = r->nprojection;

		f = &out[n++];
		init(f, "e-projection");
		snprintf(f->title, sizeof(f->title), "Projected total spam%s%s", r->without ? " without " : "",
			 r->without ? r->without : "");
		snprintf(f->subtitle, sizeof(f->subtitle), "Messages per day%s, with 80 %% and 95 %% "
			 "prediction intervals", r->scale != 1 ? " (scaled to global volume)" : "");
		snprintf(f->y_label, sizeof(f->y_label), "messages per day");
		snprintf(f->caption, sizeof(f->caption), "The last four weeks as observed, then the "
			 "projection: 80 %% of the coming days should fall in the darker band, 95 %% in the lighter one.");
		f->t[0] = xcalloc(hist + 1, sizeof(int64_t));
		f->v[0] = xcalloc(hist + 1, sizeof(double));
		for (i = r->ndays - hist; i < r->ndays; i++) {
			f->t[0][k] = r->days[i].date;
			f->v[0][k++] = (double)r->days[i].total * (r->scale > 0 ? r->scale : 1);
		}
		snprintf(f->series_name[0], sizeof(f->series_name[0]), "observed");
		f->series[0] = (struct chart_series){ f->series_name[0], f->t[0], f->v[0], k,
						      CHART_COLOR_AUTO, CHART_DASH_SOLID };
		f->t[1] = xcalloc(np + 1, sizeof(int64_t));
		for (i = 0; i < 5; i++)
			f->v[1 + i] = xcalloc(np + 1, sizeof(double));
		for (i = 0; i < np; i++) {
			f->t[1][i] = r->projection[i].date;
			f->v[1][i] = r->projection[i].total;
			f->v[2][i] = r->projection[i].lo80;
			f->v[3][i] = r->projection[i].hi80;
			f->v[4][i] = r->projection[i].lo95;
			f->v[5][i] = r->projection[i].hi95;
		}
		snprintf(f->series_name[1], sizeof(f->series_name[1]), "projection");
		f->series[1] = (struct chart_series){ f->series_name[1], f->t[1], f->v[1], np,
						      CHART_COLOR_AUTO, CHART_DASH_DASHED };
		f->spec.nseries = 2;
		f->bands[0] = (struct chart_band){ "95 % interval", f->t[1], f->v[4], f->v[5], np,
						   CHART_COLOR_AUTO, 0.25 };
		f->bands[1] = (struct chart_band){ "80 % interval", f->t[1], f->v[2], f->v[3], np,
						   CHART_COLOR_AUTO, 0.45 };
		f->spec.nbands = 2;
	}

	/* (f) shares per day, stacked */
	if (r->ndays >= 2) {
		size_t nf = r->nfamilies < FIGURE_SERIES_MAX - 1 ? r->nfamilies : FIGURE_SERIES_MAX - 1;
		size_t s;

		f = &out[n++];
		init(f, "f-shares");
		f->spec.mode = CHART_MODE_SHARES;
		snprintf(f->title, sizeof(f->title), "Share of total spam per day");
		snprintf(f->subtitle, sizeof(f->subtitle), "By family, stacked to 100 %%");
		snprintf(f->y_label, sizeof(f->y_label), "share of total");
		snprintf(f->caption, sizeof(f->caption), "How the mix of families changed from day to "
			 "day.");
		for (s = 0; s <= nf && s < FIGURE_SERIES_MAX; s++) {
			bool other = s == nf;

			if (other && r->nfamilies <= nf)
				break;
			f->t[s] = xcalloc(r->ndays + 1, sizeof(int64_t));
			f->v[s] = xcalloc(r->ndays + 1, sizeof(double));
			for (i = 0; i < r->ndays; i++) {
				double v = 0;

				if (other)
					for (size_t k = nf; k < r->nfamilies; k++)
						v += (double)r->days[i].by_family[k];
				else
					v = (double)r->days[i].by_family[s];
				f->t[s][i] = r->days[i].date;
				f->v[s][i] = v;
			}
			snprintf(f->series_name[s], sizeof(f->series_name[s]), "%s",
				 other ? "other families" : r->families[s].name);
			f->series[s] = (struct chart_series){ f->series_name[s], f->t[s], f->v[s],
							      r->ndays, CHART_COLOR_AUTO, CHART_DASH_SOLID };
			f->spec.nseries++;
		}
	}
	return n;
}

void figures_free(struct figure *f, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(f[i].t) / sizeof(f[i].t[0]); k++)
			free(f[i].t[k]);
		for (k = 0; k < sizeof(f[i].v) / sizeof(f[i].v[0]); k++)
			free(f[i].v[k]);
	}
}
