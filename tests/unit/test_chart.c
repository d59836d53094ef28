/*
 * test_chart.c - charts: axis ticks and labels, the six chart kinds of the
 * report rendered as PNG and SVG from normal data, a single point, empty
 * series and a 200,000-point series, malformed specs and hostile text.
 *
 * The PNG checks read the picture back with cairo: its size, that it is
 * not blank, and that each series' colour appears inside the plot area.
 * The SVG checks look for the <title> and <desc> that name the families,
 * dates and events. Every rendering is also written to build/chart-samples/
 * (or $CHART_SAMPLES_DIR) for a person to look at and for
 * tests/integration/test_chart_svg.py to parse as XML.
 *
 * The data are synthetic and illustrative: shaped after the published
 * Rustock story (DESIGN.md: ceased about 2011-03-16 15:30 UTC, quiet over
 * the 2010 holidays, a daily spike; Bagle steadier), not measured volumes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>
#include <errno.h>
#include <float.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <cairo.h>
#include <dlfcn.h>

#include "render/chart.h"
#include "util/buf.h"
#include "util/timeutil.h"

#define HOUR 3600
#define DAY 86400
#define T_CEASE 1300289400   /* 2011-03-16T15:30:00Z */

static char samples_dir[PATH_MAX];

/* ---- axis ticks ---- */

static int64_t iso(const char *s)
{
	int64_t t;

	if (!time_parse_iso(s, &t))
		fail_msg("bad time in test table: %s", s);
	return t;
}

static void test_time_ticks(void **state)
{
	static const struct {
		const char *from, *to;
		int max;
		const char *step;
		size_t n;
		const char *first, *last;
	} cases[] = {
		/* minutes */
		{ "2011-03-16T15:03:10Z", "2011-03-16T15:12:00Z", 10, "1min", 9, "Mar 16 15:04", "Mar 16 15:12" },
		{ "2011-03-16T15:00:00Z", "2011-03-16T15:30:00Z", 8, "5min", 7, "Mar 16 15:00", "Mar 16 15:30" },
		{ "2011-03-16T14:50:00Z", "2011-03-16T16:10:00Z", 8, "15min", 5, "Mar 16 15:00", "Mar 16 16:00" },
		/* hours */
		{ "2011-03-16T00:00:00Z", "2011-03-16T10:00:00Z", 11, "1h", 11, "Mar 16 00:00", "Mar 16 10:00" },
		{ "2011-03-16T00:00:00Z", "2011-03-17T00:00:00Z", 10, "3h", 9, "Mar 16 00:00", "Mar 17 00:00" },
		{ "2011-03-13T00:00:00Z", "2011-03-16T00:00:00Z", 13, "6h", 13, "Mar 13 00:00", "Mar 16 00:00" },
		{ "2011-03-13T05:00:00Z", "2011-03-16T00:00:00Z", 8, "12h", 6, "Mar 13 12:00", "Mar 16 00:00" },
		/* days and weeks (weeks start on Mondays: 2011-03-14 was one) */
		{ "2011-03-12T00:00:00Z", "2011-03-20T00:00:00Z", 10, "1d", 9, "Mar 12", "Mar 20" },
		{ "2011-03-01T00:00:00Z", "2011-03-15T00:00:00Z", 10, "2d", 8, "Mar 1", "Mar 15" },
		{ "2011-02-01T00:00:00Z", "2011-03-20T00:00:00Z", 10, "1w", 6, "Feb 7", "Mar 14" },
		{ "2010-12-01T00:00:00Z", "2011-03-31T00:00:00Z", 10, "2w", 8, "Dec 13", "Mar 21" },
		/* months and years */
		{ "2010-10-01T00:00:00Z", "2011-04-01T00:00:00Z", 10, "1mo", 7, "2010-10", "2011-04" },
		{ "2010-06-15T00:00:00Z", "2011-06-14T00:00:00Z", 8, "2mo", 6, "2010-07", "2011-05" },
		{ "2010-03-16T00:00:00Z", "2011-03-16T00:00:00Z", 5, "3mo", 4, "2010-04", "2011-01" },
		{ "2005-01-01T00:00:00Z", "2011-03-16T00:00:00Z", 8, "1y", 7, "2005", "2011" },
		{ "1990-01-01T00:00:00Z", "2011-03-16T00:00:00Z", 8, "5y", 5, "1990", "2010" },
		/* before the epoch: negative times floor correctly */
		{ "1969-12-31T22:00:00Z", "1970-01-01T02:00:00Z", 5, "1h", 5, "Dec 31 22:00", "Jan 1 02:00" },
	};
	struct chart_time_ticks tt;
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		chart_time_ticks(iso(cases[i].from), iso(cases[i].to), cases[i].max, &tt);
		if (strcmp(tt.step, cases[i].step) != 0 || tt.n != cases[i].n ||
		    (tt.n > 0 && (strcmp(tt.label[0], cases[i].first) != 0 ||
				  strcmp(tt.label[tt.n - 1], cases[i].last) != 0))) {
			print_error("%s .. %s max %d: got %s x%zu '%s'..'%s', want %s x%zu '%s'..'%s'\n",
				    cases[i].from, cases[i].to, cases[i].max, tt.step, tt.n,
				    tt.n ? tt.label[0] : "", tt.n ? tt.label[tt.n - 1] : "",
				    cases[i].step, cases[i].n, cases[i].first, cases[i].last);
			bad++;
		}
		/* invariants: within range, ascending, within the cap */
		for (size_t k = 0; k < tt.n; k++) {
			assert_true(tt.t[k] >= iso(cases[i].from) && tt.t[k] <= iso(cases[i].to));
			if (k)
				assert_true(tt.t[k] > tt.t[k - 1]);
		}
		assert_true(tt.n <= (size_t)cases[i].max);
	}
	assert_int_equal(bad, 0);

	/* degenerate input */
	chart_time_ticks(100, 50, 10, &tt);
	assert_int_equal(tt.n, 0);
	chart_time_ticks(0, 2 * CHART_TIME_MAX, 10, &tt);
	assert_int_equal(tt.n, 0);
	chart_time_ticks(-CHART_TIME_MAX, CHART_TIME_MAX, 3, &tt);
	assert_true(tt.n >= 2 && tt.n <= 3);
}

static void test_value_ticks(void **state)
{
	static const struct {
		double lo, hi;
		int max;
		bool percent;
		double step, axis_lo, axis_hi;
		const char *first, *last;
	} cases[] = {
		{ 0, 7.3, 10, false, 1, 0, 8, "0", "8" },
		{ 0, 2437, 6, false, 500, 0, 2500, "0", "2,500" },
		{ 0, 9100, 8, false, 2000, 0, 10000, "0", "10k" },
		{ 0, 23000, 6, false, 5000, 0, 25000, "0", "25k" },
		{ 0, 1.5e6, 8, false, 500000, 0, 1.5e6, "0", "1.5M" },
		{ 0, 1.5e6, 10, false, 200000, 0, 1.6e6, "0", "1.6M" },
		{ 0, 0.042, 6, false, 0.01, 0, 0.05, "0", "0.05" },
		{ -0.14, 0.06, 6, false, 0.05, -0.15, 0.1, "-0.15", "0.10" },
		{ -1200, 3000, 10, false, 500, -1500, 3000, "-1,500", "3,000" },
		{ 0, 100, 6, true, 20, 0, 100, "0 %", "100 %" },
		{ 0, 1, 3, false, 0.5, 0, 1, "0", "1.0" },
		{ 5, 5, 6, false, 0.2, 5, 6, "5.0", "6.0" },   /* hi <= lo: [lo, lo+1] */
	};
	struct chart_value_ticks vt;
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		chart_value_ticks(cases[i].lo, cases[i].hi, cases[i].max, cases[i].percent, &vt);
		if (fabs(vt.step - cases[i].step) > 1e-12 || fabs(vt.lo - cases[i].axis_lo) > 1e-9 ||
		    fabs(vt.hi - cases[i].axis_hi) > 1e-9 || vt.n == 0 ||
		    strcmp(vt.label[0], cases[i].first) != 0 ||
		    strcmp(vt.label[vt.n - 1], cases[i].last) != 0) {
			print_error("[%g, %g] max %d: got step %g axis [%g, %g] '%s'..'%s', "
				    "want step %g axis [%g, %g] '%s'..'%s'\n",
				    cases[i].lo, cases[i].hi, cases[i].max, vt.step, vt.lo, vt.hi,
				    vt.n ? vt.label[0] : "", vt.n ? vt.label[vt.n - 1] : "",
				    cases[i].step, cases[i].axis_lo, cases[i].axis_hi,
				    cases[i].first, cases[i].last);
			bad++;
		}
		assert_true(vt.n <= (size_t)cases[i].max);
		assert_true(vt.lo <= cases[i].lo && vt.hi >= cases[i].hi);
	}
	assert_int_equal(bad, 0);

	chart_value_ticks(NAN, INFINITY, 6, false, &vt);
	assert_true(vt.n >= 2);
	assert_true(vt.lo == 0 && vt.hi == 1);
}

static void test_format_value(void **state)
{
	static const struct {
		double v, step, max;
		bool percent;
		const char *want;
	} cases[] = {
		{ 0, 500, 2500, false, "0" },
		{ 2500, 500, 2500, false, "2,500" },
		{ 1500, 500, 9500, false, "1,500" },
		{ 20000, 5000, 25000, false, "20k" },
		{ 12500, 2500, 25000, false, "12.5k" },
		{ 1.2e6, 2e5, 1.6e6, false, "1.2M" },
		{ 3e9, 1e9, 5e9, false, "3,000M" },
		{ -1500, 500, 3000, false, "-1,500" },
		{ 0.25, 0.05, 1, false, "0.25" },
		{ -1e-17, 0.1, 1, false, "0" },
		{ 40, 20, 100, true, "40 %" },
		{ 12.5, 2.5, 100, true, "12.5 %" },
		{ NAN, 1, 1, false, "?" },
	};
	char out[CHART_LABEL_LEN];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		chart_format_value(cases[i].v, cases[i].step, cases[i].max, cases[i].percent,
				   out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0) {
			print_error("format %g (step %g, max %g): got '%s', want '%s'\n",
				    cases[i].v, cases[i].step, cases[i].max, out, cases[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ---- synthetic data (illustrative) ---- */

/* a small deterministic generator: the same pictures every run */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double noise(uint64_t *s)   /* uniform in [-1, 1) */
{
	return (double)(rng_next(s) >> 11) / (double)(1ULL << 52) - 1.0;
}

/* hour of day, fractional */
static double hod(int64_t t)
{
	return (double)(((t % DAY) + DAY) % DAY) / HOUR;
}

/* Rustock: a large daily spike around 14:00-17:00 UTC; quiet over the
 * 2010 holidays; ceased 2011-03-16 15:30 UTC. Messages per hour. */
static double rustock(int64_t t, uint64_t *rng)
{
	double h = hod(t), base = 1700, spike;

	if (t >= iso("2010-12-25") && t < iso("2011-01-10"))
		return 40 * (1 + 0.5 * noise(rng));
	if (t >= T_CEASE)
		return t < T_CEASE + 900 ? 300 : 0;
	spike = 4200 * exp(-0.5 * pow((h - 15.5) / 1.2, 2));
	return base * (1 + 0.25 * noise(rng)) + spike * (1 + 0.2 * noise(rng));
}

/* Bagle: smaller spikes, steadier, and lately above Rustock. */
static double bagle(int64_t t, uint64_t *rng)
{
	double h = hod(t);
	double trend = t > iso("2011-02-15") ? 1.35 : 1.0;

	return trend * (1900 + 450 * sin((h - 8) / 24 * 2 * M_PI)) * (1 + 0.08 * noise(rng));
}

static double cutwail(int64_t t, uint64_t *rng)
{
	return 900 * (1 + 0.3 * sin(hod(t) / 24 * 2 * M_PI)) * (1 + 0.15 * noise(rng));
}

static double lethic(int64_t t, uint64_t *rng)
{
	(void)t;
	return 520 * (1 + 0.12 * noise(rng));
}

static double other(int64_t t, uint64_t *rng)
{
	return 700 * (1 + 0.1 * sin(hod(t) / 24 * 2 * M_PI)) * (1 + 0.1 * noise(rng));
}

static double total(int64_t t, uint64_t *rng)
{
	return rustock(t, rng) + bagle(t, rng) + cutwail(t, rng) + lethic(t, rng) + other(t, rng);
}

enum variant { V_NORMAL, V_SINGLE, V_EMPTY, V_LONG, V_COUNT };
static const char *const variant_name[V_COUNT] = { "normal", "single", "empty", "long" };
#define LONG_N 200000

struct sample {
	const char *kind;
	struct chart_spec spec;
	struct chart_series series[6];
	struct chart_band bands[2];
	struct chart_marker markers[4];
	/* what the SVG's desc must name */
	const char *want[8];
	/* owned arrays */
	int64_t *t[4];
	double *v[10];
};

/* grid: n times from t0 by step; LONG_N points by the minute for V_LONG,
 * one for V_SINGLE (at single_at), none for V_EMPTY. */
static int64_t *grid(enum variant var, int64_t t0, int64_t step, size_t n, int64_t single_at,
		     size_t *out_n)
{
	int64_t *t;
	size_t i;

	if (var == V_LONG) {
		/* by the minute, ending where the normal grid ends */
		t0 += (int64_t)n * step - (int64_t)LONG_N * 60;
		n = LONG_N;
		step = 60;
	} else if (var == V_SINGLE) {
		n = 1;
		t0 = single_at;
	} else if (var == V_EMPTY) {
		n = 0;
	}
	t = calloc(n ? n : 1, sizeof(*t));
	for (i = 0; i < n; i++)
		t[i] = t0 + (int64_t)i * step;
	*out_n = n;
	return t;
}

static double *values(const int64_t *t, size_t n, double (*f)(int64_t, uint64_t *), uint64_t seed)
{
	double *v = calloc(n ? n : 1, sizeof(*v));
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = f(t[i], &seed);
	return v;
}

static void add_series(struct sample *s, size_t i, const char *name, const int64_t *t, double *v,
		       size_t n)
{
	s->v[i] = v;
	s->series[i] = (struct chart_series){ .name = name, .t = t, .v = v, .n = n };
	s->spec.nseries = i + 1;
}

/* (a) a family's volume by hour around an event, the event marked */
static void kind_event(struct sample *s, enum variant var)
{
	size_t n;

	s->kind = "a-rustock-cessation";
	s->t[0] = grid(var, iso("2011-03-13"), HOUR, 7 * 24, T_CEASE - 600, &n);
	add_series(s, 0, "rustock", s->t[0], values(s->t[0], n, rustock, 1), n);
	s->markers[0] = (struct chart_marker){ T_CEASE, "rustock ceased" };
	s->spec.markers = s->markers;
	s->spec.nmarkers = 1;
	s->spec.title = "Rustock ceased on 16 March 2011 at about 15:30 UTC";
	s->spec.subtitle = "Messages per hour attributed to Rustock at the sensors (illustrative synthetic data)";
	s->spec.y_label = "messages per hour";
	s->want[0] = "rustock";
	s->want[1] = "rustock ceased at 2011-03-16 15:30 UTC";
}

/* (b) one family over weeks: its daily spike is normal */
static void kind_weeks(struct sample *s, enum variant var)
{
	size_t n;

	s->kind = "b-rustock-weeks";
	s->t[0] = grid(var, iso("2011-01-31"), HOUR, 6 * 7 * 24, iso("2011-02-14T15:00:00Z"), &n);
	add_series(s, 0, "rustock", s->t[0], values(s->t[0], n, rustock, 2), n);
	s->spec.title = "Rustock's daily spike is its normal rhythm";
	s->spec.subtitle = "Messages per hour, six weeks before the takedown (illustrative synthetic data)";
	s->spec.y_label = "messages per hour";
	s->want[0] = "rustock";
}

/* (c) two families compared */
static void kind_compare(struct sample *s, enum variant var)
{
	size_t n;

	s->kind = "c-rustock-vs-bagle";
	s->t[0] = grid(var, iso("2011-03-02"), HOUR, 14 * 24, iso("2011-03-09T12:00:00Z"), &n);
	add_series(s, 0, "rustock", s->t[0], values(s->t[0], n, rustock, 3), n);
	add_series(s, 1, "bagle", s->t[0], values(s->t[0], n, bagle, 4), n);
	s->spec.title = "Rustock spikes daily; Bagle sends more steadily";
	s->spec.subtitle = "Messages per hour, 2-16 March 2011 (illustrative synthetic data)";
	s->spec.y_label = "messages per hour";
	s->want[0] = "rustock";
	s->want[1] = "bagle";
}

/* (d) total spam with events marked */
static void kind_total(struct sample *s, enum variant var)
{
	size_t n;

	s->kind = "d-total-events";
	s->t[0] = grid(var, iso("2010-12-01"), HOUR, 120 * 24, iso("2011-01-20"), &n);
	add_series(s, 0, "all spam", s->t[0], values(s->t[0], n, total, 5), n);
	s->series[0].color = CHART_BLACK;
	s->markers[0] = (struct chart_marker){ iso("2010-12-25"), "rustock paused" };
	s->markers[1] = (struct chart_marker){ iso("2011-01-10"), "rustock resumed" };
	s->markers[2] = (struct chart_marker){ T_CEASE, "rustock ceased" };
	s->spec.markers = s->markers;
	s->spec.nmarkers = 3;
	s->spec.title = "Total spam at the sensors, December 2010 to March 2011";
	s->spec.subtitle = "Messages per hour, all families (illustrative synthetic data)";
	s->spec.y_label = "messages per hour";
	s->want[0] = "all spam";
	s->want[1] = "rustock paused at 2010-12-25 00:00 UTC";
	s->want[2] = "rustock resumed at 2011-01-10 00:00 UTC";
	s->want[3] = "rustock ceased at 2011-03-16 15:30 UTC";
}

/* (e) a projection with its 80 % and 95 % bands */
static void kind_projection(struct sample *s, enum variant var)
{
	size_t nh, nf, i;
	uint64_t rng = 6;
	double *lo80, *hi80, *lo95, *hi95, *f;
	int64_t f0 = iso("2011-03-21");

	s->kind = "e-projection";
	s->t[0] = grid(var, iso("2011-02-01"), DAY, 48, iso("2011-03-20"), &nh);
	s->t[1] = grid(var == V_LONG ? V_NORMAL : var, f0, DAY, 21, f0, &nf);
	s->v[0] = calloc(nh ? nh : 1, sizeof(double));
	for (i = 0; i < nh; i++) {
		double day = 0;
		int64_t h;

		for (h = 0; h < DAY; h += 4 * HOUR)
			day += total(s->t[0][i] + h, &rng) * 4;
		s->v[0][i] = day;
	}
	f = s->v[1] = calloc(nf ? nf : 1, sizeof(double));
	lo80 = s->v[2] = calloc(nf ? nf : 1, sizeof(double));
	hi80 = s->v[3] = calloc(nf ? nf : 1, sizeof(double));
	lo95 = s->v[4] = calloc(nf ? nf : 1, sizeof(double));
	hi95 = s->v[5] = calloc(nf ? nf : 1, sizeof(double));
	for (i = 0; i < nf; i++) {
		double sd = 6000 * sqrt((double)i + 1);

		f[i] = 118000 - 300 * (double)i + 3000 * sin((double)i / 7 * 2 * M_PI);
		lo80[i] = f[i] - 1.2816 * sd;
		hi80[i] = f[i] + 1.2816 * sd;
		lo95[i] = f[i] - 1.96 * sd;
		hi95[i] = f[i] + 1.96 * sd;
	}
	add_series(s, 0, "observed", s->t[0], s->v[0], nh);
	add_series(s, 1, "projection", s->t[1], f, nf);
	s->series[0].color = CHART_BLACK;
	s->series[1].color = CHART_BLUE;
	s->series[1].dash = CHART_DASH_DASHED;
	s->bands[0] = (struct chart_band){ "95 % interval", s->t[1], lo95, hi95, nf, CHART_BLUE, 0.15 };
	s->bands[1] = (struct chart_band){ "80 % interval", s->t[1], lo80, hi80, nf, CHART_BLUE, 0.3 };
	s->spec.bands = s->bands;
	s->spec.nbands = 2;
	s->markers[0] = (struct chart_marker){ T_CEASE, "rustock ceased" };
	s->spec.markers = s->markers;
	s->spec.nmarkers = 1;
	s->spec.title = "Projected spam volume after the Rustock takedown";
	s->spec.subtitle = "Messages per day with 80 % and 95 % prediction intervals (illustrative synthetic data)";
	s->spec.y_label = "messages per day";
	s->want[0] = "observed";
	s->want[1] = "projection";
	s->want[2] = "80 % interval";
	s->want[3] = "95 % interval";
}

/* (f) shares over time, stacked to 100 % */
static void kind_shares(struct sample *s, enum variant var)
{
	static double (*const fam[])(int64_t, uint64_t *) = { rustock, bagle, cutwail, lethic, other };
	static const char *const names[] = { "rustock", "bagle", "cutwail", "lethic", "other" };
	size_t n, i, k;

	s->kind = "f-shares";
	s->t[0] = grid(var, iso("2010-12-01"), DAY, 120, iso("2011-01-20"), &n);
	for (k = 0; k < 5; k++) {
		uint64_t rng = 10 + k;
		double *v = calloc(n ? n : 1, sizeof(double));

		for (i = 0; i < n; i++) {
			int64_t h;

			/* a day's volume from six samples; the long variant is per minute */
			if (var == V_LONG) {
				v[i] = fam[k](s->t[0][i], &rng);
				continue;
			}
			for (h = 0; h < DAY; h += 4 * HOUR)
				v[i] += fam[k](s->t[0][i] + h, &rng) * 4;
		}
		add_series(s, k, names[k], s->t[0], v, n);
	}
	s->spec.mode = CHART_MODE_SHARES;
	s->spec.title = "Share of spam by family";
	s->spec.subtitle = "Share of messages per day (illustrative synthetic data)";
	for (k = 0; k < 5; k++)
		s->want[k] = names[k];
}

static void (*const kinds[])(struct sample *, enum variant) = {
	kind_event, kind_weeks, kind_compare, kind_total, kind_projection, kind_shares,
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static void sample_free(struct sample *s)
{
	size_t i;

	for (i = 0; i < 4; i++)
		free(s->t[i]);
	for (i = 0; i < 10; i++)
		free(s->v[i]);
}

static void sample_build(struct sample *s, size_t kind, enum variant var)
{
	memset(s, 0, sizeof(*s));
	s->spec.series = s->series;
	kinds[kind](s, var);
	if (var == V_LONG)
		s->spec.subtitle = "Stress test: 200,000 points by the minute (illustrative synthetic data)";
}

/* ---- reading pictures back ---- */

struct reader {
	const unsigned char *p;
	size_t left;
};

static cairo_status_t read_mem(void *closure, unsigned char *data, unsigned int len)
{
	struct reader *r = closure;

	if (len > r->left)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->p, len);
	r->p += len;
	r->left -= len;
	return CAIRO_STATUS_SUCCESS;
}

static cairo_surface_t *png_load(const struct buf *b)
{
	struct reader r = { (const unsigned char *)b->data, b->len };
	cairo_surface_t *img = cairo_image_surface_create_from_png_stream(read_mem, &r);

	assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
	cairo_surface_flush(img);
	return img;
}

static uint32_t pixel(cairo_surface_t *img, int x, int y)
{
	const unsigned char *d = cairo_image_surface_get_data(img);
	int stride = cairo_image_surface_get_stride(img);

	return *(const uint32_t *)(d + (size_t)y * (size_t)stride + (size_t)x * 4) & 0xFFFFFF;
}

static const uint32_t okabe_ito[CHART_COLOR_COUNT] = {
	[CHART_BLUE] = 0x0072B2, [CHART_VERMILLION] = 0xD55E00, [CHART_GREEN] = 0x009E73,
	[CHART_PURPLE] = 0xCC79A7, [CHART_ORANGE] = 0xE69F00, [CHART_SKY] = 0x56B4E9,
	[CHART_BLACK] = 0x000000, [CHART_YELLOW] = 0xF0E442,
};

static bool near(uint32_t a, uint32_t b, int tol)
{
	int dr = (int)((a >> 16) & 255) - (int)((b >> 16) & 255);
	int dg = (int)((a >> 8) & 255) - (int)((b >> 8) & 255);
	int db = (int)(a & 255) - (int)(b & 255);

	return abs(dr) <= tol && abs(dg) <= tol && abs(db) <= tol;
}

/* pixels of colour rgb in the rectangle */
static long count_color(cairo_surface_t *img, double x0, double y0, double w, double h,
			uint32_t rgb, int tol)
{
	long n = 0;
	int x, y;

	for (y = (int)ceil(y0); y < (int)floor(y0 + h); y++)
		for (x = (int)ceil(x0); x < (int)floor(x0 + w); x++)
			if (near(pixel(img, x, y), rgb, tol))
				n++;
	return n;
}

static long count_non_white(cairo_surface_t *img)
{
	int w = cairo_image_surface_get_width(img), h = cairo_image_surface_get_height(img);

	return w * h - count_color(img, 0, 0, w, h, 0xFFFFFF, 8);
}

/* the palette colour the module gives series i when AUTO */
static uint32_t series_rgb(const struct chart_spec *sp, size_t i)
{
	static const enum chart_color lines[] = { CHART_BLUE, CHART_VERMILLION, CHART_GREEN,
						  CHART_PURPLE, CHART_ORANGE, CHART_SKY, CHART_BLACK };
	static const enum chart_color areas[] = { CHART_BLUE, CHART_VERMILLION, CHART_GREEN,
						  CHART_ORANGE, CHART_SKY, CHART_PURPLE, CHART_YELLOW,
						  CHART_BLACK };

	if (sp->series[i].color != CHART_COLOR_AUTO)
		return okabe_ito[sp->series[i].color];
	return okabe_ito[sp->mode == CHART_MODE_LINES ? lines[i % 7] : areas[i % 8]];
}

static void write_sample(const char *name, const char *ext, const struct buf *b)
{
	char path[PATH_MAX + 64];
	FILE *fp;

	if (!samples_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/%s.%s", samples_dir, name, ext);
	fp = fopen(path, "wb");
	if (!fp)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fwrite(b->data, 1, b->len, fp), b->len);
	assert_int_equal(fclose(fp), 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every kind, every variant: PNG read back and checked, SVG described. */
static void test_kinds(void **state)
{
	struct sample s;
	size_t k, i, j;
	int var;
	char err[256], name[128];

	(void)state;
	for (k = 0; k < NKINDS; k++) {
		for (var = 0; var < V_COUNT; var++) {
			struct buf png = BUF_INIT, svg = BUF_INIT;
			double px, py, pw, ph, t0, dt;
			cairo_surface_t *img;
			long ink, colored;

			sample_build(&s, k, (enum variant)var);
			snprintf(name, sizeof(name), "%s-%s", s.kind, variant_name[var]);
			t0 = now_s();
			if (chart_render_buf(&s.spec, CHART_PNG, &png, err, sizeof(err)) != CHART_OK)
				fail_msg("%s: PNG: %s", name, err);
			dt = now_s() - t0;
			if (chart_render_buf(&s.spec, CHART_SVG, &svg, err, sizeof(err)) != CHART_OK)
				fail_msg("%s: SVG: %s", name, err);
			if (var == V_LONG)
				print_message("%s: %d points drawn as PNG in %.3f s\n", name, LONG_N, dt);
			/* a 200,000-point series stays well under a second optimised;
			 * the bound leaves room for sanitizer builds */
			assert_true(dt < 10.0);
			write_sample(name, "png", &png);
			write_sample(name, "svg", &svg);

			/* PNG: size, not blank, the series inside the plot area */
			img = png_load(&png);
			assert_int_equal(cairo_image_surface_get_width(img), CHART_WIDTH_DEFAULT);
			assert_int_equal(cairo_image_surface_get_height(img), CHART_HEIGHT_DEFAULT);
			ink = count_non_white(img);
			if (ink < 3000)
				fail_msg("%s: only %ld non-white pixels", name, ink);
			assert_int_equal(chart_plot_area(&s.spec, &px, &py, &pw, &ph, err, sizeof(err)),
					 CHART_OK);
			assert_true(pw > 900 && ph > 300);
			for (i = 0; i < s.spec.nseries; i++) {
				uint32_t rgb = series_rgb(&s.spec, i);
				long want = var == V_EMPTY ? 0 : var == V_SINGLE ? 5 :
					    s.spec.series[i].dash ? 50 : 300;

				/* a lone point on the edge of the range is a dot on the frame */
				colored = count_color(img, px - 3, py - 3, pw + 6, ph + 6, rgb, 24);
				if (var == V_EMPTY ? colored > 0 : colored < want)
					fail_msg("%s: series %zu colour %06x: %ld pixels in the plot area, want %s%ld",
						 name, i, rgb, colored, var == V_EMPTY ? "0, got " : ">= ", want);
			}
			if (var == V_EMPTY) {
				/* "no data" in the middle of the plot */
				colored = count_color(img, px + pw / 2 - 60, py + ph / 2 - 15, 120, 30,
						      0x666666, 40);
				if (colored < 30)
					fail_msg("%s: no 'no data' text (%ld grey pixels)", name, colored);
			}
			cairo_surface_destroy(img);

			/* SVG: title and desc name the families, dates, events */
			assert_non_null(strstr(svg.data, "<?xml"));
			assert_non_null(strstr(svg.data, "chart-title\">"));
			assert_non_null(strstr(svg.data, s.spec.title));
			for (j = 0; j < 8 && s.want[j]; j++) {
				char *desc = strstr(svg.data, "<desc");
				char *end = desc ? strstr(desc, "</desc>") : NULL;

				assert_non_null(end);
				*end = '\0';
				if (!strstr(desc, s.want[j]))
					fail_msg("%s: desc lacks '%s': %s", name, s.want[j], desc);
				*end = '<';
			}
			if (var == V_EMPTY)
				assert_non_null(strstr(svg.data, "No data."));
			else
				assert_non_null(strstr(svg.data, "Time range: "));
			buf_free(&png);
			buf_free(&svg);
			sample_free(&s);
		}
	}
}

/* The time range in the desc, for a known case. */
static void test_desc_range(void **state)
{
	struct sample s;
	struct buf svg = BUF_INIT;
	char err[256];

	(void)state;
	sample_build(&s, 0, V_NORMAL);
	assert_int_equal(chart_render_buf(&s.spec, CHART_SVG, &svg, err, sizeof(err)), CHART_OK);
	assert_non_null(strstr(svg.data, "Time range: 2011-03-13 00:00 UTC to 2011-03-19 23:00 UTC."));
	assert_non_null(strstr(svg.data, "Y axis: messages per hour."));
	assert_non_null(strstr(svg.data, "-chart-desc\">"));
	assert_non_null(strstr(svg.data, " role=\"img\" aria-labelledby=\"c"));
	buf_free(&svg);
	sample_free(&s);
}

/* ---- robustness ---- */

static void test_nan_negative_zero_span(void **state)
{
	int64_t t[8];
	double v[8] = { 5, NAN, 7, -3, INFINITY, 4, NAN, 2 };
	struct chart_series se = { "x", t, v, 8, 0, 0 };
	struct chart_spec sp = { .title = "gaps", .series = &se, .nseries = 1 };
	struct buf svg = BUF_INIT, png = BUF_INIT;
	double px, py, pw, ph;
	cairo_surface_t *img;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < 8; i++)
		t[i] = T_CEASE + (int64_t)i * HOUR;
	assert_int_equal(chart_render_buf(&sp, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
	img = png_load(&png);
	assert_int_equal(chart_plot_area(&sp, &px, &py, &pw, &ph, err, sizeof(err)), CHART_OK);
	/* the lone points at 5 and 2 get dots; the 7 -> -3 segment is a line */
	assert_true(count_color(img, px, py, pw, ph, 0x0072B2, 24) > 50);
	cairo_surface_destroy(img);
	write_sample("robust-nan-negative", "png", &png);

	/* every point at one instant: a two-hour range around it */
	for (i = 0; i < 8; i++)
		t[i] = T_CEASE;
	assert_int_equal(chart_render_buf(&sp, CHART_SVG, &svg, err, sizeof(err)), CHART_OK);
	assert_non_null(strstr(svg.data, "Time range: 2011-03-16 14:30 UTC to 2011-03-16 16:30 UTC."));
	buf_free(&svg);

	/* all values NaN: no data, but the time axis is known */
	for (i = 0; i < 8; i++)
		v[i] = NAN;
	assert_int_equal(chart_render_buf(&sp, CHART_SVG, &svg, err, sizeof(err)), CHART_OK);
	assert_non_null(strstr(svg.data, "No data."));
	buf_free(&svg);
	buf_free(&png);

	/* absurd magnitudes: drawn at the clamp, the axis stays finite */
	{
		double big[4] = { 1e300, -DBL_MAX, 5, DBL_MAX };
		struct chart_series sb = { "big", t, big, 4, 0, 0 };
		struct chart_spec bs = { .series = &sb, .nseries = 1 };

		for (i = 0; i < 4; i++)
			t[i] = T_CEASE + (int64_t)i * HOUR;
		assert_int_equal(chart_render_buf(&bs, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
		write_sample("robust-huge-values", "png", &png);
		buf_reset(&png);
	}

	/* a spec with nothing at all */
	struct chart_spec bare = { 0 };
	assert_int_equal(chart_render_buf(&bare, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
	img = png_load(&png);
	assert_int_equal(cairo_image_surface_get_width(img), 1200);
	cairo_surface_destroy(img);
	buf_free(&png);
}

/* One minute's spike among 200,000 flat points stays visible: the reduction
 * keeps each pixel column's highest point (striding would drop it). */
static void test_spike_survives(void **state)
{
	int64_t *t = calloc(LONG_N, sizeof(*t));
	double *v = calloc(LONG_N, sizeof(*v));
	struct chart_series se = { "x", t, v, LONG_N, CHART_VERMILLION, 0 };
	struct chart_spec sp = { .series = &se, .nseries = 1 };
	struct buf png = BUF_INIT;
	double px, py, pw, ph;
	cairo_surface_t *img;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < LONG_N; i++) {
		t[i] = T_CEASE + (int64_t)i * 60;
		v[i] = 100;
	}
	v[123457] = 10000;
	assert_int_equal(chart_render_buf(&sp, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
	img = png_load(&png);
	assert_int_equal(chart_plot_area(&sp, &px, &py, &pw, &ph, err, sizeof(err)), CHART_OK);
	/* the upper half of the plot (above 5,000 on an axis to 10,000 or 12,000)
	 * holds only the spike, a vertical line in one or two columns */
	if (count_color(img, px, py, pw, ph / 2, 0xD55E00, 30) < ph / 4)
		fail_msg("the spike at point 123457 is not drawn");
	write_sample("robust-spike", "png", &png);
	cairo_surface_destroy(img);
	buf_free(&png);
	free(t);
	free(v);
}

/* Stacked areas (absolute): the axis covers the sum, each layer shows. */
static void test_stacked_absolute(void **state)
{
	int64_t t[48];
	double a[48], b[48];
	struct chart_series se[2] = { { "bagle", t, a, 48, 0, 0 }, { "rustock", t, b, 48, 0, 0 } };
	struct chart_spec sp = { .title = "stacked", .mode = CHART_MODE_STACKED, .series = se,
				 .nseries = 2, .y_label = "messages per hour" };
	struct buf png = BUF_INIT, svg = BUF_INIT;
	double px, py, pw, ph;
	cairo_surface_t *img;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < 48; i++) {
		t[i] = T_CEASE + (int64_t)i * HOUR;
		a[i] = 2000;
		b[i] = i == 5 ? NAN : i == 6 ? -50 : 3000;   /* gaps count as 0 */
	}
	assert_int_equal(chart_render_buf(&sp, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
	assert_int_equal(chart_render_buf(&sp, CHART_SVG, &svg, err, sizeof(err)), CHART_OK);
	assert_non_null(strstr(svg.data, "Stacked areas: bagle, rustock."));
	img = png_load(&png);
	assert_int_equal(chart_plot_area(&sp, &px, &py, &pw, &ph, err, sizeof(err)), CHART_OK);
	/* the axis reaches 5,000 or more: bagle's 2,000 is the lower 40 % or less */
	assert_true(count_color(img, px, py + ph * 0.65, pw, ph * 0.3, 0x0072B2, 24) > pw * ph * 0.2);
	assert_true(count_color(img, px, py + ph * 0.15, pw, ph * 0.3, 0xD55E00, 24) > pw * ph * 0.1);
	write_sample("robust-stacked", "png", &png);
	cairo_surface_destroy(img);
	buf_free(&png);
	buf_free(&svg);
}

/* An explicit range narrower than the data: lines end on the plot edges. */
static void test_explicit_range(void **state)
{
	int64_t t[3] = { T_CEASE - 10 * DAY, T_CEASE, T_CEASE + 10 * DAY };
	double v[3] = { 10, 20, 10 };
	struct chart_series se = { "x", t, v, 3, CHART_VERMILLION, 0 };
	struct chart_spec sp = { .series = &se, .nseries = 1,
				 .t_from = T_CEASE - DAY, .t_to = T_CEASE + DAY };
	struct buf png = BUF_INIT;
	double px, py, pw, ph;
	cairo_surface_t *img;
	char err[256];

	(void)state;
	/* the cessation chart zoomed to two days: hour ticks, the event centred */
	{
		struct sample z;

		sample_build(&z, 0, V_NORMAL);
		z.spec.t_from = T_CEASE - DAY;
		z.spec.t_to = T_CEASE + DAY;
		z.spec.subtitle = "The same, zoomed to the day before and after (illustrative synthetic data)";
		assert_int_equal(chart_render_buf(&z.spec, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
		write_sample("a-rustock-cessation-zoom", "png", &png);
		buf_reset(&png);
		sample_free(&z);
	}
	assert_int_equal(chart_render_buf(&sp, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
	img = png_load(&png);
	assert_int_equal(chart_plot_area(&sp, &px, &py, &pw, &ph, err, sizeof(err)), CHART_OK);
	/* the line crosses the whole plot: coloured pixels near both edges */
	assert_true(count_color(img, px + 2, py, 20, ph, 0xD55E00, 30) > 5);
	assert_true(count_color(img, px + pw - 22, py, 20, ph, 0xD55E00, 30) > 5);
	cairo_surface_destroy(img);
	buf_free(&png);
}

static void test_malformed(void **state)
{
	int64_t t_up[3] = { 1, 2, 3 }, t_down[3] = { 3, 2, 1 }, t_far[1] = { CHART_TIME_MAX + 1 };
	double v[3] = { 1, 2, 3 };
	struct chart_series ok = { "a", t_up, v, 3, 0, 0 };
	struct chart_series down = { "a", t_down, v, 3, 0, 0 };
	struct chart_series far = { "a", t_far, v, 1, 0, 0 };
	struct chart_series null_t = { "a", NULL, v, 3, 0, 0 };
	struct chart_series short2[2] = { { "a", t_up, v, 3, 0, 0 }, { "b", t_up, v, 2, 0, 0 } };
	int64_t t_later[3] = { 2, 3, 4 };
	struct chart_series shift2[2] = { { "a", t_up, v, 3, 0, 0 }, { "b", t_later, v, 3, 0, 0 } };
	struct chart_series bad_color = { "a", t_up, v, 3, CHART_COLOR_COUNT, 0 };
	struct chart_band band = { "b", t_up, v, v, 3, 0, 2.0 };
	struct chart_series many[CHART_SERIES_MAX + 1];
	static const struct {
		const char *what;
		int field;
		const char *want;
	} cases[] = {
		{ "no spec", 0, "no chart spec" },
		{ "tiny", 1, "size" },
		{ "huge", 2, "size" },
		{ "mode", 3, "mode" },
		{ "too many series", 4, "too many" },
		{ "descending times", 5, "not ascending" },
		{ "time beyond 9999", 6, "out of range" },
		{ "NULL times", 7, "NULL" },
		{ "stack of unequal n", 8, "share one grid" },
		{ "stack of other times", 9, "share one grid" },
		{ "bands on stacks", 10, "bands" },
		{ "opacity", 11, "opacity" },
		{ "range backwards", 12, "t_from" },
		{ "bad prefix", 13, "svg_id_prefix" },
		{ "count without array", 14, "NULL" },
		{ "colour", 15, "colour" },
		{ "digit prefix", 16, "svg_id_prefix" },
	};
	struct chart_spec sp;
	struct buf out = BUF_INIT;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i <= CHART_SERIES_MAX; i++)
		many[i] = ok;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&sp, 0, sizeof(sp));
		sp.series = &ok;
		sp.nseries = 1;
		switch (cases[i].field) {
		case 1: sp.width = 10; break;
		case 2: sp.height = CHART_SIZE_MAX + 1; break;
		case 3: sp.mode = (enum chart_mode)7; break;
		case 4: sp.series = many; sp.nseries = CHART_SERIES_MAX + 1; break;
		case 5: sp.series = &down; break;
		case 6: sp.series = &far; break;
		case 7: sp.series = &null_t; break;
		case 8: sp.series = short2; sp.nseries = 2; sp.mode = CHART_MODE_STACKED; break;
		case 9: sp.series = shift2; sp.nseries = 2; sp.mode = CHART_MODE_SHARES; break;
		case 10: sp.mode = CHART_MODE_SHARES; sp.bands = &band; sp.nbands = 1; break;
		case 11: sp.bands = &band; sp.nbands = 1; break;
		case 12: sp.t_from = 100; sp.t_to = 50; break;
		case 13: sp.svg_id_prefix = "a b"; break;
		case 14: sp.markers = NULL; sp.nmarkers = 2; break;
		case 15: sp.series = &bad_color; break;
		case 16: sp.svg_id_prefix = "1x"; break;
		}
		err[0] = '\0';
		enum chart_status st = chart_render_buf(cases[i].field ? &sp : NULL, CHART_SVG, &out,
							err, sizeof(err));
		if (st != CHART_EINVAL || !strstr(err, cases[i].want))
			fail_msg("%s: got status %d '%s', want %d with '%s'", cases[i].what, st, err,
				 CHART_EINVAL, cases[i].want);
		assert_int_equal(out.len, 0);   /* untouched on failure */
	}
	assert_int_equal(chart_render_buf(&sp, (enum chart_format)9, &out, err, sizeof(err)), CHART_EINVAL);
	assert_int_equal(chart_render(&sp, CHART_PNG, "", err, sizeof(err)), CHART_EINVAL);
	/* a canvas too small for its legend says so instead of drawing over itself */
	for (i = 0; i < CHART_SERIES_MAX; i++)
		many[i].name = "a-rather-long-family-name-for-the-legend-row";
	memset(&sp, 0, sizeof(sp));
	sp.series = many;
	sp.nseries = CHART_SERIES_MAX;
	sp.width = 200;
	sp.height = 200;
	assert_int_equal(chart_render_buf(&sp, CHART_PNG, &out, err, sizeof(err)), CHART_EINVAL);
	assert_non_null(strstr(err, "too small"));
	buf_free(&out);
}

/* Names from data: capped, cleaned, escaped. */
static void test_hostile_text(void **state)
{
	char longname[600];
	int64_t t[2] = { T_CEASE, T_CEASE + HOUR };
	double v[2] = { 1, 2 };
	struct chart_series se[3] = {
		{ "<b>&\"evil\"</b>", t, v, 2, 0, 0 },
		{ "bad\xff\xfe utf8\r\nline\x1b[31m", t, v, 2, 0, 0 },
		{ longname, t, v, 2, 0, 0 },
	};
	struct chart_marker mk = { T_CEASE, "ceased ]]> <!--" };
	struct chart_spec sp = { .title = "T & <T>", .series = se, .nseries = 3,
				 .markers = &mk, .nmarkers = 1, .svg_id_prefix = "" };
	struct buf svg = BUF_INIT, png = BUF_INIT;
	char err[256], *desc;

	(void)state;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(chart_render_buf(&sp, CHART_SVG, &svg, err, sizeof(err)), CHART_OK);
	assert_int_equal(chart_render_buf(&sp, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
	desc = strstr(svg.data, "<desc");
	assert_non_null(desc);
	assert_non_null(strstr(svg.data, "<title id=\"chart-title\">T &amp; &lt;T&gt;</title>"));
	assert_non_null(strstr(desc, "&lt;b&gt;&amp;\"evil\"&lt;/b&gt;"));
	assert_non_null(strstr(desc, "bad?? utf8  line?[31m"));
	assert_non_null(strstr(desc, "ceased ]]&gt; &lt;!--"));
	assert_null(strstr(svg.data, "<b>"));
	/* capped: CHART_NAME_MAX x's and an ellipsis, not 599 */
	{
		char want[CHART_NAME_MAX + 8];

		memset(want, 'x', CHART_NAME_MAX);
		memcpy(want + CHART_NAME_MAX, "\xE2\x80\xA6,", 5);
		assert_non_null(strstr(desc, want) ? strstr(desc, want) : strstr(desc, "x\xE2\x80\xA6."));
		memset(want, 'x', CHART_NAME_MAX + 1);
		want[CHART_NAME_MAX + 1] = '\0';
		assert_null(strstr(desc, want));
	}
	write_sample("robust-hostile-text", "png", &png);
	write_sample("robust-hostile-text", "svg", &svg);
	buf_free(&svg);
	buf_free(&png);
}

/* Markers close together: labels stack in rows above the plot. */
static void test_crowded_markers(void **state)
{
	struct sample s;
	struct chart_marker mk[7] = {
		{ T_CEASE - 3 * HOUR, "sensor 2 offline" },
		{ T_CEASE, "rustock ceased" },
		{ T_CEASE, "total drop (same minute)" },
		{ T_CEASE + 2 * HOUR, "bagle surge" },
		{ T_CEASE + 5 * HOUR, "cutwail drop" },
		{ iso("2011-03-19T22:00:00Z"), "at the right edge" },
		{ iso("2011-03-25"), "outside the range" },
	};
	struct buf png = BUF_INIT, svg = BUF_INIT;
	double px, py, pw, ph, px0, py0, pw0, ph0;
	char err[256];

	(void)state;
	sample_build(&s, 0, V_NORMAL);
	assert_int_equal(chart_plot_area(&s.spec, &px0, &py0, &pw0, &ph0, err, sizeof(err)), CHART_OK);
	s.spec.markers = mk;
	s.spec.nmarkers = 7;
	assert_int_equal(chart_render_buf(&s.spec, CHART_PNG, &png, err, sizeof(err)), CHART_OK);
	assert_int_equal(chart_render_buf(&s.spec, CHART_SVG, &svg, err, sizeof(err)), CHART_OK);
	assert_int_equal(chart_plot_area(&s.spec, &px, &py, &pw, &ph, err, sizeof(err)), CHART_OK);
	/* more rows of labels than the single marker needed: a lower plot top */
	if (!(py > py0 + 20))
		fail_msg("plot top %g with seven markers, %g with one: no rows added", py, py0);
	assert_non_null(strstr(svg.data, "outside the range at 2011-03-25 00:00 UTC (outside the plotted range)"));
	assert_non_null(strstr(svg.data, "total drop (same minute) at 2011-03-16 15:30 UTC"));
	write_sample("robust-crowded-markers", "png", &png);
	buf_free(&png);
	buf_free(&svg);
	sample_free(&s);
}

/* svg_id_prefix: every id and reference carries it. */
static void test_id_prefix(void **state)
{
	struct sample s;
	struct buf svg = BUF_INIT;
	char err[256];
	const char *p;
	int ids = 0;

	(void)state;
	sample_build(&s, 2, V_NORMAL);
	s.spec.svg_id_prefix = "c3-";
	assert_int_equal(chart_render_buf(&s.spec, CHART_SVG, &svg, err, sizeof(err)), CHART_OK);
	for (p = svg.data; (p = strstr(p, " id=\"")) != NULL; p++, ids++)
		if (strncmp(p + 5, "c3-", 3) != 0)
			fail_msg("id without prefix: %.40s", p);
	for (p = svg.data; (p = strstr(p, "href=\"#")) != NULL; p++)
		assert_int_equal(strncmp(p + 7, "c3-", 3), 0);
	for (p = svg.data; (p = strstr(p, "url(#")) != NULL; p++)
		assert_int_equal(strncmp(p + 5, "c3-", 3), 0);
	assert_true(ids > 10);   /* glyphs, clips and our title/desc */
	assert_non_null(strstr(svg.data, "aria-labelledby=\"c3-chart-title c3-chart-desc\""));
	write_sample("robust-id-prefix-c3", "svg", &svg);
	buf_free(&svg);
	sample_free(&s);
}

/* Without a prefix, ids carry a digest of the spec: charts that differ
 * never share glyph ids when inlined in one page; "" keeps bare ids. */
static void test_default_prefix(void **state)
{
	struct sample a, b;
	struct buf sa = BUF_INIT, sb = BUF_INIT, sc = BUF_INIT;
	char err[256], pa[32], pb[32], pc[32];
	const char *p;

	(void)state;
	sample_build(&a, 0, V_NORMAL);
	sample_build(&b, 0, V_NORMAL);
	b.v[0][10] += 1;   /* one value differs */
	assert_int_equal(chart_render_buf(&a.spec, CHART_SVG, &sa, err, sizeof(err)), CHART_OK);
	assert_int_equal(chart_render_buf(&b.spec, CHART_SVG, &sb, err, sizeof(err)), CHART_OK);
	assert_int_equal(chart_render_buf(&a.spec, CHART_SVG, &sc, err, sizeof(err)), CHART_OK);
	p = strstr(sa.data, "<title id=\"");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "<title id=\"%14[0-9a-fc-]", pa), 1);
	assert_int_equal(sscanf(strstr(sb.data, "<title id=\""), "<title id=\"%14[0-9a-fc-]", pb), 1);
	assert_int_equal(sscanf(strstr(sc.data, "<title id=\""), "<title id=\"%14[0-9a-fc-]", pc), 1);
	if (strlen(pa) != 14 || pa[0] != 'c' || pa[13] != '-')
		fail_msg("default prefix '%s', want c + 12 hex digits + '-'", pa);
	if (strcmp(pa, pb) == 0 || strcmp(pa, pc) != 0)
		fail_msg("prefixes: a %s, a changed %s, a again %s", pa, pb, pc);
	for (p = sa.data; (p = strstr(p, " id=\"")) != NULL; p++)
		assert_int_equal(strncmp(p + 5, pa, 14), 0);
	buf_free(&sa);
	buf_free(&sb);
	buf_free(&sc);
	a.spec.svg_id_prefix = "";
	assert_int_equal(chart_render_buf(&a.spec, CHART_SVG, &sa, err, sizeof(err)), CHART_OK);
	assert_non_null(strstr(sa.data, "<title id=\"chart-title\">"));
	assert_non_null(strstr(sa.data, " id=\"glyph0-1\""));
	buf_free(&sa);
	sample_free(&a);
	sample_free(&b);
}

/* Files: the bytes of chart_render_buf; an unwritable path is EIO. */
static void test_files(void **state)
{
	struct sample s;
	struct buf mem = BUF_INIT;
	char err[256], dir[] = "/tmp/test_chart.XXXXXX", path[300];
	FILE *fp;
	char *got;
	long n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	sample_build(&s, 0, V_NORMAL);
	/* PNG: cairo numbers SVG surfaces with a process-wide counter, so two
	 * SVGs of one spec differ in an id; PNGs are byte for byte the same */
	snprintf(path, sizeof(path), "%s/a.png", dir);
	assert_int_equal(chart_render(&s.spec, CHART_PNG, path, err, sizeof(err)), CHART_OK);
	assert_int_equal(chart_render_buf(&s.spec, CHART_PNG, &mem, err, sizeof(err)), CHART_OK);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	got = malloc((size_t)n);
	assert_int_equal(fread(got, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	assert_int_equal((size_t)n, mem.len);
	assert_memory_equal(got, mem.data, mem.len);
	free(got);
	unlink(path);

	snprintf(path, sizeof(path), "%s/missing/a.png", dir);
	assert_int_equal(chart_render(&s.spec, CHART_PNG, path, err, sizeof(err)), CHART_EIO);
	assert_non_null(strstr(err, "missing/a.png"));
	rmdir(dir);
	buf_free(&mem);
	sample_free(&s);
}

/* Sizes other than the default scale the layout. */
static void test_sizes(void **state)
{
	static const int sizes[][2] = { { 200, 200 }, { 640, 320 }, { 2400, 1200 }, { 1200, 900 } };
	struct sample s;
	struct buf png = BUF_INIT;
	cairo_surface_t *img;
	char err[256], name[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		sample_build(&s, 3, V_NORMAL);
		s.spec.width = sizes[i][0];
		s.spec.height = sizes[i][1];
		if (chart_render_buf(&s.spec, CHART_PNG, &png, err, sizeof(err)) != CHART_OK)
			fail_msg("%dx%d: %s", sizes[i][0], sizes[i][1], err);
		img = png_load(&png);
		assert_int_equal(cairo_image_surface_get_width(img), sizes[i][0]);
		assert_int_equal(cairo_image_surface_get_height(img), sizes[i][1]);
		cairo_surface_destroy(img);
		snprintf(name, sizeof(name), "size-%dx%d", sizes[i][0], sizes[i][1]);
		write_sample(name, "png", &png);
		buf_reset(&png);
		sample_free(&s);
	}
	buf_free(&png);
}

static void find_samples_dir(void)
{
	const char *env = getenv("CHART_SAMPLES_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(samples_dir, sizeof(samples_dir), "%s", env);
	} else {
		/* the test binary lives in build/tests/: samples go to build/chart-samples/ */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return;
		exe[n] = '\0';
		for (int up = 0; up < 2; up++) {
			slash = strrchr(exe, '/');
			if (!slash)
				return;
			*slash = '\0';
		}
		snprintf(samples_dir, sizeof(samples_dir), "%.*s/chart-samples", PATH_MAX - 20, exe);
	}
	if (mkdir(samples_dir, 0777) != 0 && errno != EEXIST)
		samples_dir[0] = '\0';
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_ticks),
		cmocka_unit_test(test_value_ticks),
		cmocka_unit_test(test_format_value),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_desc_range),
		cmocka_unit_test(test_nan_negative_zero_span),
		cmocka_unit_test(test_explicit_range),
		cmocka_unit_test(test_spike_survives),
		cmocka_unit_test(test_stacked_absolute),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_crowded_markers),
		cmocka_unit_test(test_id_prefix),
		cmocka_unit_test(test_default_prefix),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_sizes),
	};

	int failed;

	find_samples_dir();
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	/* cairo's and fontconfig's caches live for the process; free them so
	 * that LeakSanitizer sees only what the module itself might leak */
	cairo_debug_reset_static_data();
	/* FcFini, looked up because the test links cairo, not fontconfig */
	void *fc_fini = dlsym(RTLD_DEFAULT, "FcFini");
	if (fc_fini)
		((void (*)(void))fc_fini)();
	return failed;
}
