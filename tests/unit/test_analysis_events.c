/*
 * test_analysis_events.c - ceased, resumed, drop and surge on synthetic
 * series with known truth, offline and online (a simulated clock).
 *
 * The series (test_analysis_synth.h) are gamma-mixed Poisson minute counts
 * with diurnal profiles, daily spikes at wandering hours, a family that
 * sleeps every night, day-to-day levels, and scripted cessations, returns,
 * drops and surges. The bars (issue 6):
 *   - every ceased/resumed found, `at` within 15 minutes of the truth for a
 *     family sending >= 30 an hour around it, within 60 minutes below;
 *   - no ceased/resumed that is not in the truth;
 *   - every drop and surge found (its `at` within 36 hours: a change of
 *     level in a family whose days vary by 20 % cannot be placed to the
 *     hour; the table shows how far each is);
 *   - online, a ceased raised within 30 minutes of the last message for a
 *     family at >= 30 an hour with near-Poisson minutes.
 * Each scenario prints a table of found against true events.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analysis/analysis.h"
#include "test_analysis_synth.h"
#include "util/timeutil.h"

#define LEVEL_TOLERANCE (36 * 3600)

/* Families of the long scenario. The names are labels for shapes; the
 * shapes are invented (illustrative), not measured. */
static const struct synth_family long_families[] = {
	/* spiky: a large daily spike at a wandering hour; a holiday pause of
	 * two weeks, then a takedown */
	{ .name = "rustock", .rate = 600, .diurnal = 0.3, .peak_hour = 15, .sleep_from = -1, .spike_mult = 4,
	  .spike_hour = 13, .spike_len = 2, .spike_jitter = 1.5, .k_min = 2, .k_hour = 8, .day_sd = 0.15,
	  .n_changes = 3,
	  .changes = { { SYNTH_CEASE, 30.43, 0 }, { SYNTH_RESUME, 44.36, 0 }, { SYNTH_CEASE, 75.646, 0 } } },
	/* steady, then halves its output */
	{ .name = "bagle", .rate = 300, .diurnal = 0.2, .peak_hour = 12, .sleep_from = -1, .k_min = 5,
	  .k_hour = 30, .day_sd = 0.08, .n_changes = 1, .changes = { { SYNTH_LEVEL, 50.54, 0.5 } } },
	/* sleeps every night (23:00 to 06:30, +-30 min), then doubles */
	{ .name = "sleeper", .rate = 120, .diurnal = 0.2, .peak_hour = 14, .sleep_from = 23, .sleep_to = 6.5,
	  .sleep_jitter = 0.5, .k_min = 1.5, .k_hour = 10, .day_sd = 0.15, .n_changes = 1,
	  .changes = { { SYNTH_LEVEL, 60.39, 2.0 } } },
	/* 10 an hour, leaves stragglers while away for a week */
	{ .name = "lowrate", .rate = 10, .diurnal = 0.5, .peak_hour = 13, .sleep_from = -1, .k_min = 3,
	  .k_hour = 10, .day_sd = 0.1, .straggle_rate = 0.3, .n_changes = 2,
	  .changes = { { SYNTH_CEASE, 40.54, 0 }, { SYNTH_RESUME, 47.4, 0 } } },
	/* about 40 an hour, over-dispersed, ceases */
	{ .name = "forty", .rate = 40, .diurnal = 0.3, .peak_hour = 11, .sleep_from = -1, .k_min = 3,
	  .k_hour = 20, .day_sd = 0.1, .n_changes = 1, .changes = { { SYNTH_CEASE, 65.47, 0 } } },
	/* very bursty, no event at all */
	{ .name = "noisy", .rate = 50, .diurnal = 0.6, .peak_hour = 20, .sleep_from = -1, .k_min = 1, .k_hour = 4,
	  .day_sd = 0.2 },
	/* unattributed mail, with a small spike; doubles on day 20 */
	{ .name = "unknown", .rate = 200, .diurnal = 0.3, .peak_hour = 9, .sleep_from = -1, .spike_mult = 2,
	  .spike_hour = 6, .spike_len = 1, .spike_jitter = 0.5, .k_min = 2, .k_hour = 10, .day_sd = 0.12,
	  .n_changes = 1, .changes = { { SYNTH_LEVEL, 20.125, 2.0 } } },
};

/* The short scenario: 14 days, the first event after three days. */
static const struct synth_family short_families[] = {
	{ .name = "early", .rate = 90, .diurnal = 0.3, .peak_hour = 10, .sleep_from = -1, .k_min = 3, .k_hour = 15,
	  .day_sd = 0.1, .n_changes = 2, .changes = { { SYNTH_CEASE, 3.45, 0 }, { SYNTH_RESUME, 6.6, 0 } } },
	{ .name = "sleepy", .rate = 200, .diurnal = 0.2, .peak_hour = 15, .sleep_from = 22, .sleep_to = 7,
	  .sleep_jitter = 0.5, .k_min = 2, .k_hour = 12, .day_sd = 0.1, .n_changes = 1,
	  .changes = { { SYNTH_CEASE, 9.5, 0 } } },
	{ .name = "halver", .rate = 150, .diurnal = 0.3, .peak_hour = 13, .sleep_from = -1, .k_min = 4, .k_hour = 25,
	  .day_sd = 0.06, .n_changes = 1, .changes = { { SYNTH_LEVEL, 8.3, 0.5 } } },
	{ .name = "steady", .rate = 35, .diurnal = 0.2, .peak_hour = 12, .sleep_from = -1, .k_min = 4,
	  .k_hour = 20, .day_sd = 0.08 },
};

static const char *type_name(enum analysis_event_type t)
{
	return analysis_event_type_name(t);
}

static bool is_cessation_type(enum analysis_event_type t)
{
	return t == ANALYSIS_EVENT_CEASED || t == ANALYSIS_EVENT_RESUMED;
}

static int64_t tolerance_of(const struct synth_truth *t)
{
	if (!is_cessation_type(t->type))
		return LEVEL_TOLERANCE;
	return t->rate_around >= 30 ? 15 * 60 : 60 * 60;
}

/*
 * Matches events to truth, prints the table, and fails on a miss, an `at`
 * out of tolerance, or a ceased/resumed not in the truth. Extra drops and
 * surges are printed (a day at 60 % of the usual is a drop by the
 * definition) but do not fail.
 */
static int check_events(const char *scenario, const struct synth_series *s, const struct synth_family *fams,
			const struct analysis_event *ev, size_t nev)
{
	bool *used = calloc(nev ? nev : 1, sizeof(bool));
	int misses = 0, false_cessations = 0, extra_levels = 0;
	char a[TIME_ISO_LEN], b[TIME_ISO_LEN], c[TIME_ISO_LEN];
	size_t i, j;

	print_message("%s: found against true events\n", scenario);
	print_message("  %-8s %-8s %-20s %-20s %8s %9s %6s  %s\n", "family", "type", "true at", "found at", "off min",
		      "rate/h", "conf", "detected");
	for (i = 0; i < s->n_truth; i++) {
		const struct synth_truth *t = &s->truth[i];
		int64_t best = INT64_MAX, tol = tolerance_of(t);
		size_t found = nev;
		bool ok;

		for (j = 0; j < nev; j++) {
			int64_t dist;

			if (used[j] || ev[j].family != t->family || ev[j].type != t->type)
				continue;
			dist = ev[j].at > t->at ? ev[j].at - t->at : t->at - ev[j].at;
			if (dist < best) {
				best = dist;
				found = j;
			}
		}
		ok = found < nev && best <= tol;
		if (ok)
			used[found] = true;
		else
			misses++;
		time_format_iso(t->at, a);
		if (found < nev) {
			time_format_iso(ev[found].at, b);
			time_format_iso(ev[found].detected_at, c);
		}
		print_message("  %-8s %-8s %-20s %-20s %+8.0f %9.1f %6.3f  %s%s\n", fams[t->family].name,
			      type_name(t->type), a, found < nev ? b : "-",
			      found < nev ? (double)(ev[found].at - t->at) / 60 : 0.0, t->rate_around,
			      found < nev ? ev[found].confidence : 0.0, found < nev ? c : "-", ok ? "" : "  MISSED");
	}
	for (j = 0; j < nev; j++) {
		if (used[j])
			continue;
		time_format_iso(ev[j].at, b);
		time_format_iso(ev[j].detected_at, c);
		print_message("  %-8s %-8s %-20s %-20s %8s %9s %6.3f  %s  %s\n", fams[ev[j].family].name,
			      type_name(ev[j].type), "-", b, "", "", ev[j].confidence, c,
			      is_cessation_type(ev[j].type) ? "FALSE" : "extra (not a failure)");
		if (is_cessation_type(ev[j].type))
			false_cessations++;
		else
			extra_levels++;
	}
	print_message("  %zu true, %d missed, %d false ceased/resumed, %d extra drop/surge\n", s->n_truth, misses,
		      false_cessations, extra_levels);
	free(used);
	if (misses || false_cessations) {
		print_error("%s: %d missed, %d false ceased/resumed\n", scenario, misses, false_cessations);
		fail();
	}
	return extra_levels;
}

/* the scenario from 2011-01-01 (a Saturday) on seed; the drops and surges
 * found that the truth does not hold */
static int run_offline(const char *scenario, const struct synth_family *fams, size_t nf, int days,
		       unsigned long seed)
{
	struct synth_series s;
	struct analysis_family fa[16];
	struct analysis_input in = { 0 };
	struct analysis_event *ev;
	size_t nev, i;
	char err[256], name[64];
	int extra;

	synth_generate(&s, time_from_parts(2011, 1, 1, 0, 0, 0), days, fams, nf, seed);
	synth_input(&s, fams, fa, &in);
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i + 1 < nev; i++)
		assert_true(ev[i].at <= ev[i + 1].at);
	for (i = 0; i < nev; i++) {
		assert_true(ev[i].confidence >= 0 && ev[i].confidence <= 1);
		assert_true(ev[i].detected_at >= ev[i].at);
		assert_true(ev[i].has_impact == (ev[i].type == ANALYSIS_EVENT_CEASED));
		if (ev[i].type == ANALYSIS_EVENT_CEASED) {
			assert_true(ev[i].before_rate_per_hour > ev[i].after_rate_per_hour);
			/* a cessation of a family's share shows in the total */
			assert_true(isnan(ev[i].impact.total_change_vs_baseline) ||
				    (ev[i].impact.lo95 <= ev[i].impact.total_change_vs_baseline &&
				     ev[i].impact.total_change_vs_baseline <= ev[i].impact.hi95));
		}
	}
	/* per family, a resumed only after a ceased, and later than it */
	for (i = 0; i < nev; i++) {
		size_t j;

		if (ev[i].type != ANALYSIS_EVENT_RESUMED)
			continue;
		for (j = i; j-- > 0 && !(ev[j].family == ev[i].family && is_cessation_type(ev[j].type));)
			;
		assert_true(j < i && ev[j].type == ANALYSIS_EVENT_CEASED && ev[j].at < ev[i].at);
	}
	snprintf(name, sizeof(name), "%s (seed %lu)", scenario, seed);
	extra = check_events(name, &s, fams, ev, nev);
	free(ev);
	synth_free(&s);
	return extra;
}

/* A companion that does nothing of note, beside the family under test. */
#define STEADY_FAMILY                                                                                   \
	{ .name = "steady", .rate = 120, .diurnal = 0.3, .peak_hour = 12, .sleep_from = -1, .k_min = 4, \
	  .k_hour = 20, .day_sd = 0.08 }

/* Two drops in a row, the second to under a tenth of the first level: a
 * fall that is no cessation, though for a while the family is near silent
 * at its old level (illustrative shapes). */
static const struct synth_family deep_families[] = {
	{ .name = "faller", .rate = 67, .diurnal = 0.2, .peak_hour = 14, .sleep_from = -1, .spike_mult = 3,
	  .spike_hour = 20, .spike_len = 2, .spike_jitter = 1, .k_min = 4, .k_hour = 30, .day_sd = 0.08,
	  .n_changes = 2, .changes = { { SYNTH_LEVEL, 8.52, 0.4 }, { SYNTH_LEVEL, 15.15, 0.2 } } },
	STEADY_FAMILY,
};

/* A drop a few hours after the three days of history the profile is
 * learnt from: those days are its reference (illustrative shape). */
static const struct synth_family early_families[] = {
	{ .name = "early", .rate = 300, .diurnal = 0.3, .peak_hour = 10, .sleep_from = -1, .k_min = 6,
	  .k_hour = 30, .day_sd = 0.06, .n_changes = 1, .changes = { { SYNTH_LEVEL, 3.35, 0.47 } } },
	STEADY_FAMILY,
};

/* Taken down as it goes to sleep, stragglers (about 1 % of its rate)
 * while it is away, back two days later (illustrative shapes): the
 * stragglers of the next morning are neither its last messages nor its
 * return. */
static const struct synth_family straggled_families[] = {
	{ .name = "napper", .rate = 480, .diurnal = 0.1, .peak_hour = 9, .sleep_from = 16, .sleep_to = 1,
	  .sleep_jitter = 0.1, .k_min = 4, .k_hour = 30, .day_sd = 0.08, .straggle_rate = 5, .n_changes = 2,
	  .changes = { { SYNTH_CEASE, 12.66, 0 }, { SYNTH_RESUME, 14.4, 0 } } },
	STEADY_FAMILY,
};

/* an offline scenario: its families, its length, run on seeds 1..seeds */
struct scenario {
	const char *name;
	const struct synth_family *fams;
	size_t nf;
	int days;
	unsigned long seeds;
};
#define SCENARIO(name, fams, days, seeds) { name, fams, sizeof(fams) / sizeof(fams[0]), days, seeds }

static const struct scenario long_scenario = SCENARIO("90 days, 7 families", long_families, 90, 3);
static const struct scenario short_scenario = SCENARIO("14 days, first event on day 3", short_families, 14, 3);
static const struct scenario deep_fall = SCENARIO("a fall to 8 % in two drops", deep_families, 27, 6);
static const struct scenario early_drop = SCENARIO("a drop on day 3", early_families, 20, 3);
static const struct scenario stragglers = SCENARIO("stragglers while away", straggled_families, 24, 4);

static void test_scenario(void **state)
{
	const struct scenario *sc = *state;
	unsigned long seed;

	for (seed = 1; seed <= sc->seeds; seed++)
		run_offline(sc->name, sc->fams, sc->nf, sc->days, seed);
}
#define SCENARIO_TEST(name, sc) { name, test_scenario, NULL, NULL, (void *)(uintptr_t)&(sc) }

/* the events analysis_events_detect finds in a synthetic series from start */
static size_t synth_events(const struct synth_family *fams, size_t nf, int64_t start, int days, unsigned long seed,
			   struct analysis_event **ev)
{
	struct synth_series s;
	struct analysis_family fa[16];
	struct analysis_input in = { 0 };
	size_t nev;
	char err[256];

	synth_generate(&s, start, days, fams, nf, seed);
	synth_input(&s, fams, fa, &in);
	assert_int_equal(analysis_events_detect(&in, NULL, ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	synth_free(&s);
	return nev;
}

/* synth_events from 2011-01-01, each event printed with the seed */
static size_t seed_events(const struct synth_family *fams, size_t nf, int days, unsigned long seed,
			  struct analysis_event **ev)
{
	size_t nev = synth_events(fams, nf, time_from_parts(2011, 1, 1, 0, 0, 0), days, seed, ev), i;

	for (i = 0; i < nev; i++) {
		char at[TIME_ISO_LEN];

		time_format_iso((*ev)[i].at, at);
		print_message("seed %lu: %s %s at %s\n", seed, fams[(*ev)[i].family].name, type_name((*ev)[i].type), at);
	}
	return nev;
}

/*
 * A family that doubles its output while it sleeps (22:00 to 08:00, the
 * change at 03:00): nothing shows until it wakes, and any hour of its
 * sleep splits its counts as well as another. The surge is placed in the
 * middle of that sleep, within 3 hours of the truth, not at its waking
 * (5 hours late). Illustrative shape.
 */
static void test_change_in_sleep(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "sleeper", .rate = 200, .diurnal = 0.2, .peak_hour = 14, .sleep_from = 22, .sleep_to = 8,
		  .k_min = 4, .k_hour = 20, .day_sd = 0.05, .n_changes = 1,
		  .changes = { { SYNTH_LEVEL, 10.125, 2.0 } } },
		STEADY_FAMILY,
	};
	struct analysis_event *ev;
	size_t nev, i, surges = 0;

	(void)state;
	nev = synth_events(fams, 2, time_from_parts(2011, 1, 1, 0, 0, 0), 20, 1, &ev);
	for (i = 0; i < nev; i++) {
		if (ev[i].family != 0 || ev[i].type != ANALYSIS_EVENT_SURGE)
			continue;
		surges++;
		assert_true(llabs(ev[i].at - time_from_parts(2011, 1, 11, 3, 0, 0)) <= 3 * 3600);
	}
	assert_int_equal(surges, 1);
	free(ev);
}

/*
 * Families that appear during the period, one at a midnight and one in
 * the afternoon (a new botnet, a new sensor's first clients): neither has
 * surged, the hours before its first message being no level of its own.
 * Illustrative shapes.
 */
static void test_newcomers(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "newcomer", .rate = 40, .diurnal = 0.2, .peak_hour = 14, .sleep_from = -1, .spike_mult = 4,
		  .spike_hour = 15, .spike_len = 2, .k_min = 4, .k_hour = 20, .day_sd = 0.05, .start_day = 6 },
		{ .name = "latecomer", .rate = 300, .diurnal = 0.3, .peak_hour = 9, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .start_day = 9.55 },
		STEADY_FAMILY,
	};
	struct analysis_event *ev;
	size_t nev, i;
	unsigned long seed;

	(void)state;
	for (seed = 1; seed <= 3; seed++) {
		nev = seed_events(fams, 3, 24, seed, &ev);
		for (i = 0; i < nev; i++)
			assert_true(ev[i].family == 2);
		free(ev);
	}
}

/*
 * Families that send in campaigns: runs of about 4.5 hours (0.9-8.1), then
 * rests of about 5 (1-9), at any time of day, no event. A rest of six
 * hours or more is a fall to nothing for that long, which the level test
 * read as a cessation (its safety net for low-rate families whose silences
 * stragglers break: 9 false pairs in these 6 seeds) though the family's
 * own hours rest that long often. Illustrative shapes.
 */
static void test_campaigns(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "campaigner", .rate = 30, .diurnal = 0.3, .peak_hour = 14, .sleep_from = -1, .k_min = 3,
		  .k_hour = 3, .day_sd = 0.1, .campaign_on = 4.5, .campaign_off = 5 },
		{ .name = "mailer", .rate = 300, .diurnal = 0.3, .peak_hour = 9, .sleep_from = -1, .k_min = 3,
		  .k_hour = 3, .day_sd = 0.1, .campaign_on = 4.5, .campaign_off = 5 },
		STEADY_FAMILY,
	};
	struct analysis_event *ev;
	size_t nev, i, found = 0;
	unsigned long seed;

	(void)state;
	for (seed = 1; seed <= 6; seed++) {
		nev = seed_events(fams, 3, 28, seed, &ev);
		for (i = 0; i < nev; i++)
			if (is_cessation_type(ev[i].type))
				found++;
		free(ev);
	}
	assert_int_equal(found, 0);
}

/*
 * A family at 1,500 an hour (Poisson) that rests three or four hours a
 * day, each day at another time: on day 4 it rests at 19:00, an hour its
 * first days always sent at. The conservative profile, learnt from days
 * that each explain their own rest, expected the rate there; the rests
 * its history held, judged by the other days, tell that this family rests
 * at any time. No cessation there (there was one, at 2011-01-05 18:59);
 * its takedown on day 11 at 14:00 is still found, `at` its last message
 * (known 20 hours later: a family that rests for hours cannot be told
 * from a taken-down one sooner). Illustrative shape.
 */
static void test_rests_at_new_hours(void **state)
{
	enum { DAYS = 14 };
	static const int rest_at[DAYS] = { 2, 9, 15, 5, 19, 11, 1, 16, 7, 13, 3, 20, 10, 6 };
	static const int rest_len[DAYS] = { 3, 3, 3, 4, 4, 3, 4, 3, 3, 4, 3, 3, 4, 3 };
	int64_t start = time_from_parts(2011, 1, 1, 0, 0, 0), stop = (11 * 24 + 14) * 60, last = -1;
	size_t n = DAYS * 1440, i, nev;
	uint32_t *c = calloc(n, sizeof(uint32_t));
	struct analysis_family fa = { .name = "rester", .counts = c };
	struct analysis_input in = { .start = start, .end = start + (int64_t)n * 60, .step = 60, .n_families = 1,
				     .families = &fa };
	struct analysis_event *ev;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int ceased = 0;
	char err[256];

	(void)state;
	gsl_rng_set(rng, 7);
	for (i = 0; i < n; i++) {
		int day = (int)(i / 1440), hour = (int)(i % 1440) / 60;

		if ((int64_t)i >= stop || (hour >= rest_at[day] && hour < rest_at[day] + rest_len[day]))
			continue;
		c[i] = gsl_ran_poisson(rng, 25);
		if (c[i] > 0)
			last = (int64_t)i;
	}
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++) {
		char at[TIME_ISO_LEN];

		time_format_iso(ev[i].at, at);
		print_message("%s at %s\n", type_name(ev[i].type), at);
		assert_true(ev[i].type != ANALYSIS_EVENT_RESUMED);
		if (ev[i].type == ANALYSIS_EVENT_CEASED) {
			assert_true(llabs(ev[i].at - (start + last * 60)) <= 15 * 60);
			ceased++;
		}
	}
	assert_int_equal(ceased, 1);
	free(ev);
	gsl_rng_free(rng);
	free(c);
}

/*
 * A lull, then silent minutes: a family at 300 an hour bursting by 10-minute
 * stretches (cv 0.5) sends at 30 % of its rate for the first 7 minutes of
 * a stretch, then nothing for 10 minutes. At its usual rate that silence
 * would be very unlikely (50 expected); at the lull's rate, with the next
 * stretch free to be as low as its bursts go, it is not rare enough for
 * the report's budget. Not a cessation. (With the
 * bursts within the hour counted once, as tried in the eighth session, it
 * was one, with its resumed 10 minutes later; docs/analysis.md, "Two
 * budgets".) Illustrative shape (bench/events drew one like it, at
 * 30-minute stretches: seed 11 with BENCH_EVENTS_MILD=1).
 */
static void test_silence_after_a_lull(void **state)
{
	enum { DAYS = 14, LULL = 10 * 1440 + 30, GAP = LULL + 7, GAP_LEN = 10 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "bursty", .counts = counts };
	struct analysis_input in = { .start = time_from_parts(2011, 8, 17, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_event *ev;
	double mult = 1;
	size_t nev, i;
	int64_t m;
	char err[256], at[TIME_ISO_LEN];

	(void)state;
	gsl_rng_set(rng, 11);
	for (m = 0; m < DAYS * 1440; m++) {
		if (m % 10 == 0)
			mult = m == LULL ? 0.3 : gsl_ran_gamma(rng, 1 / (0.5 * 0.5), 0.5 * 0.5);
		counts[m] = m >= GAP && m < GAP + GAP_LEN ? 0 : gsl_ran_poisson(rng, 5 * mult);
	}
	for (m = LULL; m < GAP; m++)
		counts[m] = counts[m] ? counts[m] : 1;   /* the lull is not itself a silence */
	in.end = in.start + DAYS * 86400;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++) {
		time_format_iso(ev[i].at, at);
		print_message("%s at %s\n", type_name(ev[i].type), at);
		assert_false(is_cessation_type(ev[i].type));
	}
	free(ev);
	gsl_rng_free(rng);
}

/*
 * A first takedown on day 3, before the detector has three days to judge
 * by: the day closes as history, silent from 14:00, and was kept there
 * once the cessation was sure (the next morning). For a week every
 * afternoon's conservative profile was nothing (twice its quietest day's),
 * and a second takedown at 16:30 on day 10 was known only after midnight,
 * 9 hours later. The days a cessation's silence began on are no history:
 * now it is known within the hour. Steady, 60 an hour (illustrative; the
 * two-week demo scenario's kestrel did this). The first takedown itself
 * can be known only once the detector arms, at the midnight after day 3;
 * it was known at 03:10, its silence that day (ending it, still going on)
 * taken for a rest the family takes, and is known within the hour now.
 */
static void test_takedown_before_armed(void **state)
{
	enum { DAYS = 14 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "twice", .counts = counts };
	struct analysis_input in = { .start = time_from_parts(2011, 2, 1, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	const int64_t away = 2 * 1440 + 14 * 60, back = 3 * 1440 + 9 * 60, stop = 9 * 1440 + 16 * 60 + 30;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_event *ev;
	int64_t m, last = -1;
	size_t nev, i, ceased = 0;
	char err[256], at[TIME_ISO_LEN], known[TIME_ISO_LEN];

	(void)state;
	gsl_rng_set(rng, 3);
	for (m = 0; m < DAYS * 1440; m++) {
		counts[m] = (m >= away && m < back) || m >= stop ? 0 : gsl_ran_poisson(rng, 1);
		if (counts[m] && m < stop)
			last = m;
	}
	in.end = in.start + DAYS * 86400;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++) {
		time_format_iso(ev[i].at, at);
		time_format_iso(ev[i].detected_at, known);
		print_message("%s at %s, known %s\n", type_name(ev[i].type), at, known);
		assert_false(ev[i].type == ANALYSIS_EVENT_DROP || ev[i].type == ANALYSIS_EVENT_SURGE);
		if (ev[i].type != ANALYSIS_EVENT_CEASED)
			continue;
		if (++ceased == 1) {
			/* the first: known within the hour after the detector
			 * armed (the midnight after day 3) */
			assert_true(ev[i].detected_at <= in.start + 3 * 86400 + 60 * 60);
			continue;
		}
		assert_int_equal(ev[i].at, in.start + last * 60);
		assert_true(ev[i].detected_at - ev[i].at <= 60 * 60);
	}
	assert_int_equal(ceased, 2);
	free(ev);
	gsl_rng_free(rng);
}

/*
 * The events of a family taken down once: printed under `label`, exactly
 * one ceased, at its last message (slot `last` of in), and no resumed.
 */
static void assert_one_ceased_at_last(const struct analysis_input *in, const struct analysis_event *ev, size_t nev,
				      int64_t last, const char *label)
{
	char at[TIME_ISO_LEN], want[TIME_ISO_LEN];
	size_t i, ceased = 0;

	time_format_iso(in->start + last * in->step, want);
	for (i = 0; i < nev; i++) {
		time_format_iso(ev[i].at, at);
		print_message("%s: %s at %s (last message %s)\n", label, type_name(ev[i].type), at, want);
		assert_int_not_equal(ev[i].type, ANALYSIS_EVENT_RESUMED);
		if (ev[i].type != ANALYSIS_EVENT_CEASED)
			continue;
		ceased++;
		assert_int_equal(ev[i].at, in->start + last * in->step);
	}
	assert_int_equal(ceased, 1);
}

/* a family that sends in sessions: one a minute with probability 1/60,
 * of 4 to 8 messages, until minute stop; returns its last minute */
static int64_t sessions(gsl_rng *rng, uint32_t *counts, int64_t n, int64_t stop)
{
	int64_t m, last = -1;

	for (m = 0; m < n; m++) {
		counts[m] = 0;
		if (m < stop && gsl_rng_uniform(rng) < 1.0 / 60) {
			counts[m] = 4 + (uint32_t)gsl_rng_uniform_int(rng, 5);
			last = m;
		}
	}
	return last;
}

/*
 * A sparse family that sends its messages in sessions: 6 an hour, 4 to 8
 * a connection (the rustock-2011 scenario's lethic; illustrative). Learnt
 * from a week, the trimmed mean leaves most of its 10-minute bins empty,
 * and an empty bin read as sleep: its last sessions were left out of the
 * split and `at` came hours early (seed 6 of that scenario: 06:19 for a
 * last message at 08:56). Its profile is now averaged over neighbouring
 * bins first; `at` is its last message, seed after seed.
 */
static void test_sparse_sessions(void **state)
{
	enum { DAYS = 14, SEEDS = 8 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "sparse", .counts = counts };
	struct analysis_input in = { .start = time_from_parts(2010, 12, 15, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	const int64_t stop = 10 * 1440 + 9 * 60;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_event *ev;
	int64_t last;
	size_t nev;
	char err[256], label[32];
	unsigned long seed;

	(void)state;
	in.end = in.start + DAYS * 86400;
	for (seed = 1; seed <= SEEDS; seed++) {
		gsl_rng_set(rng, seed);
		last = sessions(rng, counts, DAYS * 1440, stop);
		assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
		snprintf(label, sizeof(label), "seed %lu", seed);
		assert_one_ceased_at_last(&in, ev, nev, last, label);
		free(ev);
	}
	gsl_rng_free(rng);
}

/*
 * A bursty family at 90 an hour (its rate swings by 70 % every 10
 * minutes; illustrative) is taken down at 16:30 on day 10. Its last
 * message comes alone after a lull of 16 minutes, as kestrel's did in the
 * two-week scenario at seed 11: read as a straggler, `at` was the message
 * before the lull, 16 minutes early. A lull that long comes about once a
 * day in such a family, and stragglers do not stop after one: the lone
 * message is its last. A lone message an hour after the last one is a
 * straggler still.
 */
static void test_lone_last_message(void **state)
{
	enum { DAYS = 14, SEEDS = 4 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "lull", .counts = counts };
	struct analysis_input in = { .start = time_from_parts(2011, 2, 1, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	const int64_t down = 10 * 1440 + 16 * 60 + 30;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_event *ev;
	double mult = 1;
	int64_t m, before;
	size_t nev;
	char err[256], label[48];
	unsigned long seed;
	int kind;

	(void)state;
	in.end = in.start + DAYS * 86400;
	for (seed = 1; seed <= SEEDS; seed++) {
		for (kind = 0; kind < 2; kind++) {
			gsl_rng_set(rng, seed);
			for (m = 0; m < DAYS * 1440; m++) {
				if (m % 10 == 0)
					mult = gsl_ran_gamma(rng, 1 / (0.7 * 0.7), 0.7 * 0.7);
				counts[m] = m < down ? gsl_ran_poisson(rng, 1.5 * mult) : 0;
			}
			/* the lull: 16 minutes before the last message (kind 0), or
			 * its last message then one alone an hour later (kind 1) */
			before = down - 6 - 17;
			for (m = before + 1; m < down; m++)
				counts[m] = 0;
			counts[before] = counts[before] > 3 ? counts[before] : 3;
			if (kind == 0)
				counts[down - 6] = 1;
			else
				counts[before + 60] = 1;
			assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
			snprintf(label, sizeof(label), "seed %lu, %s", seed, kind == 0 ? "lone last" : "straggler");
			assert_one_ceased_at_last(&in, ev, nev, kind == 0 ? down - 6 : before, label);
			free(ev);
		}
	}
	gsl_rng_free(rng);
}

/*
 * The same sparse family in sessions, taken down: its silence takes many
 * hours to be sure (an arrival an hour), and meanwhile the silence pulls
 * the level of the hours since some change point down. It was read as a
 * drop too, once enough of the silence was in its later side
 * (rustock-2011 seed 1: lethic, a drop at 20:06 the evening before its
 * takedown at 08:23). Its takedown is a cessation only, seed after seed:
 * no drop in the days before it.
 */
static void test_no_drop_before_a_slow_cessation(void **state)
{
	enum { DAYS = 14, SEEDS = 30 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "sparse", .counts = counts };
	struct analysis_input in = { .start = time_from_parts(2010, 12, 15, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	const int64_t stop = 10 * 1440 + 8 * 60 + 23;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_event *ev;
	int64_t last;
	size_t nev, i, ceased;
	char err[256], label[32];
	unsigned long seed;

	(void)state;
	in.end = in.start + DAYS * 86400;
	for (seed = 1; seed <= SEEDS; seed++) {
		gsl_rng_set(rng, 100 + seed);
		last = sessions(rng, counts, DAYS * 1440, stop);
		assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
		snprintf(label, sizeof(label), "seed %lu", 100 + seed);
		/* one ceased, and no drop in the two days before it (a drop and
		 * surge of the family's noise elsewhere is another matter; so is
		 * `at`, which test_sparse_sessions checks) */
		for (i = 0, ceased = 0; i < nev; i++) {
			char at[TIME_ISO_LEN];

			time_format_iso(ev[i].at, at);
			print_message("%s: %s at %s\n", label, type_name(ev[i].type), at);
			ceased += ev[i].type == ANALYSIS_EVENT_CEASED;
			assert_false(ev[i].type == ANALYSIS_EVENT_DROP &&
				     ev[i].at > in.start + (last - 2 * 1440) * in.step);
		}
		assert_int_equal(ceased, 1);
		free(ev);
	}
	gsl_rng_free(rng);
}

/*
 * A steady family at 5 messages an hour (120 a day, Poisson) pauses for
 * 8.5 hours on day 7 and comes back. At 5 an hour the 70-minute windows
 * of the conservative profile hold 6 messages a day: their medians and
 * dips were noise read as edges, and the silence was judged at a third of
 * the rate: sure after 4 hours at the trap's budget, never at the
 * report's (bench/events RATES=1-10, seed 38). The windows now widen until
 * a day's holds 12 arrivals: found, both ends, seed after seed.
 */
static void test_sparse_pause(void **state)
{
	enum { DAYS = 21, SEEDS = 6 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "five", .counts = counts };
	struct analysis_input in = { .start = time_from_parts(2013, 1, 23, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	const int64_t away = 7 * 1440 + 15 * 60 + 17, back = 7 * 1440 + 23 * 60 + 50;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_event *ev;
	int64_t m, last, first;
	size_t nev, i, ceased, resumed;
	char err[256], at[TIME_ISO_LEN];
	unsigned long seed;

	(void)state;
	in.end = in.start + DAYS * 86400;
	for (seed = 1; seed <= SEEDS; seed++) {
		gsl_rng_set(rng, seed);
		last = first = -1;
		for (m = 0; m < DAYS * 1440; m++) {
			counts[m] = m >= away && m < back ? 0 : gsl_ran_poisson(rng, 5.0 / 60);
			if (counts[m] && m < away)
				last = m;
			if (counts[m] && m >= back && first < 0)
				first = m;
		}
		assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
		for (i = 0, ceased = resumed = 0; i < nev; i++) {
			time_format_iso(ev[i].at, at);
			print_message("seed %lu: %s at %s\n", seed, type_name(ev[i].type), at);
			if (ev[i].type == ANALYSIS_EVENT_CEASED) {
				ceased++;
				assert_true(llabs(ev[i].at - (in.start + last * 60)) <= 60 * 60);
			} else if (ev[i].type == ANALYSIS_EVENT_RESUMED) {
				resumed++;
				assert_true(llabs(ev[i].at - (in.start + first * 60)) <= 60 * 60);
			}
		}
		assert_int_equal(ceased, 1);
		assert_int_equal(resumed, 1);
		free(ev);
	}
	gsl_rng_free(rng);
}

/*
 * A family that sleeps from 22:00 to 06:00, whose sleep came an hour late
 * the day it was taken down: it sent until 23:00, in slots its profile
 * calls asleep. Its last message is the ceased's `at` (the split leaves
 * its sleep out, and used to give the last message before 22:00).
 * Illustrative shape: Poisson at 300 an hour while awake.
 */
static void test_ceased_in_late_sleep(void **state)
{
	enum { DAYS = 14 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "late", .counts = counts };
	struct analysis_input in = { .start = time_from_parts(2011, 1, 1, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_event *ev;
	int64_t last = -1, m;
	size_t nev;
	char err[256];

	(void)state;
	gsl_rng_set(rng, 7);
	for (m = 0; m < DAYS * 1440; m++) {
		int64_t day = m / 1440, minute = m % 1440;
		bool awake = minute >= 6 * 60 && minute < (day == 9 ? 23 : 22) * 60;

		counts[m] = day <= 9 && awake ? gsl_ran_poisson(rng, 5) : 0;
		if (counts[m])
			last = m;
	}
	in.end = in.start + DAYS * 86400;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	assert_one_ceased_at_last(&in, ev, nev, last, "late sleep");
	free(ev);
	gsl_rng_free(rng);
}

/* run_offline over seeds 1..seeds: the extra drops and surges, summed */
static int offline_extras(const char *scenario, const struct synth_family *fams, size_t nf, int days,
			  unsigned long seeds)
{
	unsigned long seed;
	int extra = 0;

	for (seed = 1; seed <= seeds; seed++)
		extra += run_offline(scenario, fams, nf, days, seed);
	return extra;
}

/*
 * A family at half its level on weekends, paused twice over the end of a
 * week (Thursday to Saturday, Friday to Saturday), 29 days: the pauses
 * and returns in its daily totals hide the rhythm from the weekly test,
 * and its weekends read as drops and surges. In hindsight, with its
 * ceased days left out, the week explains them: none is reported, and the
 * pauses are found. Illustrative shape (bench/events seed 36's family).
 */
static void test_week_after_pauses(void **state)
{
	/* from Saturday 2011-01-01: the pauses from a Thursday and a Friday
	 * morning or evening to the Saturday after */
	static const struct synth_family fams[] = {
		{ .name = "weekday", .rate = 340, .diurnal = 0.1, .peak_hour = 14, .sleep_from = -1, .k_min = 6,
		  .k_hour = 30, .day_sd = 0.04, .weekend = 0.45, .n_changes = 4,
		  .changes = { { SYNTH_CEASE, 5.41, 0 }, { SYNTH_RESUME, 7.79, 0 }, { SYNTH_CEASE, 13.81, 0 },
			       { SYNTH_RESUME, 14.71, 0 } } },
		STEADY_FAMILY,
	};

	(void)state;
	assert_int_equal(offline_extras("quiet weekends, paused twice", fams, 2, 29, 3), 0);
}

/*
 * Quiet weekends (at half the weekday rate) in a short period with a change
 * of level: the strict weekly test the detector starts from (every day of
 * each centred week known, each ratio against that week's median) sees a
 * surge move the medians of the days around it and finds no rhythm. A
 * second pass learns the rhythm with the robust test, the first pass's
 * surge a boundary of segments, and runs again. Ten seeds: the surge
 * found, no other drop or surge (with one pass, seed 10's surge was
 * missed). Illustrative shape.
 */
static void test_week_with_a_surge(void **state)
{
	/* from Saturday 2011-01-01, 23 days: the surge on Wednesday 12 January */
	static const struct synth_family fams[] = {
		{ .name = "weekday", .rate = 300, .diurnal = 0.3, .peak_hour = 14, .sleep_from = -1, .k_min = 3,
		  .k_hour = 12, .day_sd = 0.08, .weekend = 0.5, .n_changes = 1,
		  .changes = { { SYNTH_LEVEL, 11.55, 2.0 } } },
		STEADY_FAMILY,
	};

	(void)state;
	assert_int_equal(offline_extras("quiet weekends, a surge", fams, 2, 23, 10), 0);
}

/*
 * Families judged in threads (analysis_detector_config.threads, report
 * --jobs) give the events one thread gives, in the same order, with the
 * same rates and confidence: the long scenario with the trap down for 5
 * hours on day 40, and the quiet weekends with a surge (a second pass,
 * its rhythm held from the start), each in 1 to 8 threads (more threads
 * than families too).
 */
static void test_threads(void **state)
{
	static const struct synth_family weekly_fams[] = {
		{ .name = "weekday", .rate = 300, .diurnal = 0.3, .peak_hour = 14, .sleep_from = -1, .k_min = 3,
		  .k_hour = 12, .day_sd = 0.08, .weekend = 0.5, .n_changes = 1,
		  .changes = { { SYNTH_LEVEL, 11.55, 2.0 } } },
		STEADY_FAMILY,
	};
	static const struct {
		const struct synth_family *fams;
		size_t nf;
		int days;
		unsigned long seed;
	} cases[] = {
		{ long_families, sizeof(long_families) / sizeof(long_families[0]), 90, 1 },
		{ weekly_fams, 2, 23, 10 },
	};
	static const int threads[] = { 2, 3, 8 };
	size_t c, t, i;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct synth_series s;
		struct analysis_family fa[16];
		struct analysis_input in = { 0 };
		struct analysis_gap gap;
		struct analysis_detector_config cfg;
		struct analysis_event *one, *many;
		size_t n_one, n_many;
		int64_t start = time_from_parts(2011, 1, 1, 0, 0, 0);
		char err[256];

		synth_generate(&s, start, cases[c].days, cases[c].fams, cases[c].nf, cases[c].seed);
		synth_input(&s, cases[c].fams, fa, &in);
		if (c == 0) {
			gap.from = start + 40 * 86400 + 9 * 3600;
			gap.to = gap.from + 5 * 3600;
			in.gaps = &gap;
			in.n_gaps = 1;
		}
		analysis_detector_config_default(&cfg);
		assert_int_equal(cfg.threads, 1);
		assert_int_equal(analysis_events_detect(&in, &cfg, &one, &n_one, err, sizeof(err)), ANALYSIS_OK);
		assert_true(n_one >= (c == 0 ? 6 : 1));
		for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
			cfg.threads = threads[t];
			assert_int_equal(analysis_events_detect(&in, &cfg, &many, &n_many, err, sizeof(err)),
					 ANALYSIS_OK);
			assert_int_equal(n_many, n_one);
			for (i = 0; i < n_one; i++) {
				assert_int_equal(many[i].family, one[i].family);
				assert_int_equal(many[i].type, one[i].type);
				assert_int_equal(many[i].at, one[i].at);
				assert_int_equal(many[i].detected_at, one[i].detected_at);
				assert_true(many[i].before_rate_per_hour == one[i].before_rate_per_hour);
				assert_true(many[i].after_rate_per_hour == one[i].after_rate_per_hour);
				assert_true(many[i].confidence == one[i].confidence);
				assert_true(memcmp(&many[i].impact, &one[i].impact, sizeof(one[i].impact)) == 0);
			}
			free(many);
		}
		free(one);
		synth_free(&s);
	}
}

/*
 * The trap's model (bursts_once): a bursty family's silence is judged with
 * its bursts within the hour counted once, not twice, and its takedown is
 * known sooner than under the report's model, at the same budget; no
 * other cessation comes in either. A family at 120 an hour whose rate is
 * multiplied every 10 minutes by a gamma of cv 0.8 (as bench/events'
 * bursty families), taken down on day 16 at 14:40, 20 days, six seeds:
 * never later, 2 minutes sooner or more on average (3 when written: 25-33
 * minutes after the last message against 29-38). Illustrative shape.
 */
static void test_bursts_once(void **state)
{
	enum { DAYS = 20, STOP = 16 * 1440 + 14 * 60 + 40 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "bursty", .counts = counts };
	struct analysis_input in = { .start = 1300000000 / 86400 * 86400, .step = 60, .n_families = 1,
				     .families = &fa };
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int64_t sooner = 0;
	unsigned long seed;
	int once;

	(void)state;
	in.end = in.start + DAYS * 86400;
	for (seed = 1; seed <= 6; seed++) {
		int64_t delay[2] = { -1, -1 }, last = 0;
		double g = 1;
		size_t m;
		char err[256];

		gsl_rng_set(rng, seed);
		for (m = 0; m < DAYS * 1440; m++) {
			if (m % 10 == 0)
				g = gsl_ran_gamma(rng, 1 / (0.8 * 0.8), 0.8 * 0.8);
			counts[m] = m < STOP ? gsl_ran_poisson(rng, 2 * g) : 0;
			if (counts[m])
				last = (int64_t)m;
		}
		for (once = 0; once < 2; once++) {
			struct analysis_detector_config cfg;
			struct analysis_event *ev;
			size_t nev, i, ceased = 0;

			analysis_detector_config_default(&cfg);
			cfg.false_alarms_per_year = ANALYSIS_ONLINE_FALSE_ALARMS;
			cfg.bursts_once = once;
			assert_int_equal(analysis_events_detect(&in, &cfg, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
			for (i = 0; i < nev; i++) {
				if (ev[i].type != ANALYSIS_EVENT_CEASED)
					continue;
				ceased++;
				assert_true(llabs(ev[i].at - (in.start + last * 60)) <= 15 * 60);
				delay[once] = (ev[i].detected_at - (in.start + last * 60)) / 60;
			}
			assert_int_equal(ceased, 1);
			free(ev);
		}
		print_message("seed %lu: known %lld minutes after the last message (%lld counted twice)\n", seed,
			      (long long)delay[1], (long long)delay[0]);
		assert_true(delay[1] <= delay[0]);
		sooner += delay[0] - delay[1];
	}
	assert_true(sooner >= 2 * 6);
	gsl_rng_free(rng);
}

/* The takedown story: the total falls by the ceased family's share. */
static void test_impact_of_takedown(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "rustock", .rate = 400, .diurnal = 0.3, .peak_hour = 15, .sleep_from = -1, .k_min = 3,
		  .k_hour = 20, .day_sd = 0.05, .n_changes = 1, .changes = { { SYNTH_CEASE, 15.646, 0 } } },
		{ .name = "bagle", .rate = 600, .diurnal = 0.2, .peak_hour = 12, .sleep_from = -1, .k_min = 5,
		  .k_hour = 30, .day_sd = 0.05 },
	};
	struct analysis_event *ev;
	size_t nev, i, ceased = 0;
	char err[TIME_ISO_LEN];

	(void)state;
	nev = synth_events(fams, 2, time_from_parts(2011, 3, 1, 0, 0, 0), 20, 11, &ev);
	for (i = 0; i < nev; i++) {
		if (ev[i].type != ANALYSIS_EVENT_CEASED)
			continue;
		ceased++;
		print_message("  ceased at %s: day over day %+.3f, vs baseline %+.3f [%+.3f, %+.3f]\n",
			      time_format_iso(ev[i].at, err), ev[i].impact.total_change_day_over_day,
			      ev[i].impact.total_change_vs_baseline, ev[i].impact.lo95, ev[i].impact.hi95);
		/* rustock was 40 % of the total: the 24 h after fall by about that */
		assert_true(ev[i].impact.lo95 < -0.4 + 0.06 && ev[i].impact.hi95 > -0.4 - 0.06);
		assert_true(ev[i].impact.total_change_vs_baseline < -0.3);
		/* the day after against the day (which still had 15.5 h of it) */
		assert_true(ev[i].impact.total_change_day_over_day < -0.1);
	}
	assert_int_equal(ceased, 1);
	free(ev);
}

/*
 * Online: seeded with a week of history, fed minute by minute with a
 * simulated clock; the events are those the offline run decides (same
 * families, types, detection times), and a cessation of a family at about
 * 55 an hour with near-Poisson minutes (and of one at 900 an hour with
 * bursty ones) is raised within 30 minutes of its last message. (At 30 to
 * 40 an hour the decision takes 25 to 40 minutes: see docs/analysis.md.)
 */
static void test_online(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "near50", .rate = 48, .diurnal = 0.2, .peak_hour = 12, .sleep_from = -1, .k_min = 20,
		  .k_hour = 60, .day_sd = 0.04, .n_changes = 2,
		  .changes = { { SYNTH_CEASE, 9.517, 0 }, { SYNTH_RESUME, 11.4, 0 } } },
		{ .name = "busy", .rate = 900, .diurnal = 0.3, .peak_hour = 16, .sleep_from = -1, .k_min = 2,
		  .k_hour = 10, .day_sd = 0.1, .n_changes = 1, .changes = { { SYNTH_CEASE, 12.7, 0 } } },
		{ .name = "sleeper", .rate = 150, .diurnal = 0.2, .peak_hour = 14, .sleep_from = 23, .sleep_to = 6,
		  .sleep_jitter = 0.5, .k_min = 2, .k_hour = 12, .day_sd = 0.1 },
	};
	enum { NF = 3, DAYS = 14, HISTORY_DAYS = 7 };
	struct synth_series s;
	struct analysis_family fa[NF], hist_fa[NF];
	struct analysis_input in = { 0 }, hist = { 0 };
	struct analysis_detector *d;
	struct analysis_event online[32], *offline;
	size_t n_online = 0, n_offline, i, j, f;
	uint32_t row[NF];
	int64_t t, last_seen[NF];
	char err[256], a[TIME_ISO_LEN], b[TIME_ISO_LEN];

	(void)state;
	synth_generate(&s, time_from_parts(2011, 3, 1, 0, 0, 0), DAYS, fams, NF, 5);
	synth_input(&s, fams, fa, &in);
	assert_int_equal(analysis_events_detect(&in, NULL, &offline, &n_offline, err, sizeof(err)), ANALYSIS_OK);

	/* history: the first week, as the store would hand it to the trap */
	hist = in;
	hist.end = hist.start + HISTORY_DAYS * 86400;
	for (f = 0; f < NF; f++)
		hist_fa[f] = fa[f];
	hist.families = hist_fa;
	d = analysis_detector_new(NULL, hist.start, 60, NF, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(analysis_detector_seed(d, &hist, err, sizeof(err)), ANALYSIS_OK);
	assert_int_equal(analysis_detector_next(d), hist.end);
	for (f = 0; f < NF; f++)
		assert_int_equal(analysis_detector_state(d, f), ANALYSIS_STATE_ACTIVE);
	/* the clock runs on from the end of the history */
	for (t = hist.end; t < in.end; t += 60) {
		size_t k = (size_t)((t - in.start) / 60), got;

		for (f = 0; f < NF; f++) {
			row[f] = s.counts[f][k];
			if (row[f])
				last_seen[f] = t;
		}
		assert_int_equal(analysis_detector_feed(d, t, row, err, sizeof(err)), ANALYSIS_OK);
		got = analysis_detector_poll(d, online + n_online, 32 - n_online);
		for (i = n_online; i < n_online + got; i++) {
			time_format_iso(online[i].at, a);
			time_format_iso(t + 60, b);
			print_message("  clock %s: %s %s at %s (%.0f minutes after the last message)\n", b,
				      fams[online[i].family].name, type_name(online[i].type), a,
				      (double)(t + 60 - last_seen[online[i].family]) / 60);
			if (online[i].type == ANALYSIS_EVENT_CEASED) {
				assert_int_equal(analysis_detector_state(d, online[i].family), ANALYSIS_STATE_CEASED);
				assert_true(t + 60 - online[i].at <= 30 * 60);
			}
			assert_int_equal(online[i].detected_at, t + 60);
		}
		n_online += got;
	}
	/* the same decisions as offline (which saw the same slots) */
	{
		size_t n_off_late = 0;

		for (j = 0; j < n_offline; j++)
			if (offline[j].detected_at > hist.end)
				n_off_late++;
		assert_int_equal(n_online, n_off_late);
		for (i = 0, j = 0; j < n_offline; j++) {
			if (offline[j].detected_at <= hist.end)
				continue;
			/* offline is ordered by at, online by detection; match */
			for (i = 0; i < n_online; i++)
				if (online[i].family == offline[j].family && online[i].type == offline[j].type &&
				    online[i].detected_at == offline[j].detected_at)
					break;
			assert_true(i < n_online);
			/* refinement moves at by little */
			assert_true(llabs(online[i].at - offline[j].at) <= 15 * 60);
		}
	}
	/* near50 and busy ceased, near50 came back, the sleeper did nothing */
	check_events("online, 7 days seeded + 7 days fed", &s, fams, online, n_online);

	/* misuse: out of order, misaligned, a history that does not fit */
	assert_int_equal(analysis_detector_feed(d, in.start, row, err, sizeof(err)), ANALYSIS_EINVAL);
	assert_int_equal(analysis_detector_feed(d, in.end + 30, row, err, sizeof(err)), ANALYSIS_EINVAL);
	assert_int_equal(analysis_detector_seed(d, &hist, err, sizeof(err)), ANALYSIS_EINVAL);
	/* a family new to the trap starts learning; slots skipped are silent */
	assert_int_equal(analysis_detector_add_family(d), NF);
	assert_int_equal(analysis_detector_state(d, NF), ANALYSIS_STATE_LEARNING);
	assert_int_equal(analysis_detector_feed(d, in.end + 3600, NULL, err, sizeof(err)), ANALYSIS_OK);
	assert_int_equal(analysis_detector_next(d), in.end + 3660);
	analysis_detector_free(d);
	assert_null(analysis_detector_new(NULL, 30, 60, 1, err, sizeof(err)));
	assert_null(analysis_detector_new(NULL, 0, 300, 1, err, sizeof(err)));
	free(offline);
	synth_free(&s);
}

/* Hourly input: events at hour resolution. */
static void test_hourly_step(void **state)
{
	enum { DAYS = 30, H = DAYS * 24 };
	static uint32_t c[2][H];
	struct analysis_family fa[2] = { { .name = "gone", .counts = c[0] }, { .name = "stays", .counts = c[1] } };
	struct analysis_input in = { .start = time_from_parts(2011, 1, 1, 0, 0, 0), .step = 3600, .n_families = 2,
				     .families = fa };
	struct analysis_event *ev;
	size_t nev, i, ceased = 0;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int64_t stop = time_from_parts(2011, 1, 20, 14, 0, 0);
	char err[256];

	(void)state;
	gsl_rng_set(rng, 3);
	in.end = in.start + H * 3600LL;
	for (i = 0; i < H; i++) {
		double shape = 1 + 0.3 * cos(2 * M_PI * (double)(i % 24) / 24);

		c[0][i] = in.start + (int64_t)i * 3600 < stop ? gsl_ran_poisson(rng, 300 * shape) : 0;
		c[1][i] = gsl_ran_poisson(rng, 100 * shape * gsl_ran_gamma(rng, 20, 0.05));
	}
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++) {
		print_message("  hourly: %s %s at %s\n", fa[ev[i].family].name, type_name(ev[i].type),
			      time_format_iso(ev[i].at, err));
		assert_true(ev[i].family == 0);
		if (ev[i].type == ANALYSIS_EVENT_CEASED) {
			ceased++;
			assert_int_equal(ev[i].at, stop - 3600);
			assert_true(ev[i].detected_at <= stop + 2 * 3600);
		}
	}
	assert_int_equal(ceased, 1);
	free(ev);
	gsl_rng_free(rng);
}

/*
 * "unknown" (no_events): the mixture of senders no family claims is judged
 * like any family (one code) but its events are dropped; its volume stays
 * in the totals, so the impact of another family's cessation is the same
 * as when it is an ordinary family. Hourly input, both stop.
 */
static void test_no_events(void **state)
{
	enum { DAYS = 30, H = DAYS * 24 };
	static uint32_t c[2][H];
	struct analysis_family fa[2] = { { .name = "gone", .counts = c[0] }, { .name = "unknown", .counts = c[1] } };
	struct analysis_input in = { .start = time_from_parts(2011, 1, 1, 0, 0, 0), .step = 3600, .n_families = 2,
				     .families = fa };
	struct analysis_event *ev[2];
	size_t nev[2], i, k;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int64_t stop[2] = { time_from_parts(2011, 1, 20, 14, 0, 0), time_from_parts(2011, 1, 25, 10, 0, 0) };
	char err[256];

	(void)state;
	gsl_rng_set(rng, 5);
	in.end = in.start + H * 3600LL;
	for (i = 0; i < H; i++)
		for (k = 0; k < 2; k++)
			c[k][i] = in.start + (int64_t)i * 3600 < stop[k] ? gsl_ran_poisson(rng, 200) : 0;
	for (k = 0; k < 2; k++) {
		fa[1].no_events = k == 0;
		assert_int_equal(analysis_events_detect(&in, NULL, &ev[k], &nev[k], err, sizeof(err)), ANALYSIS_OK);
		for (i = 0; i < nev[k]; i++)
			print_message("  %s: %s %s at %s\n", k == 0 ? "no_events" : "judged", fa[ev[k][i].family].name,
				      type_name(ev[k][i].type), time_format_iso(ev[k][i].at, err));
	}
	/* as a family: both ceased; as a mixture: only "gone" */
	assert_int_equal(nev[1], 2);
	assert_int_equal(nev[0], 1);
	assert_int_equal(ev[0][0].family, 0);
	assert_int_equal(ev[0][0].type, ANALYSIS_EVENT_CEASED);
	assert_int_equal(ev[0][0].at, ev[1][0].at);
	assert_true(ev[0][0].has_impact);
	assert_float_equal(ev[0][0].impact.total_change_day_over_day, ev[1][0].impact.total_change_day_over_day, 1e-12);
	assert_float_equal(ev[0][0].impact.total_change_vs_baseline, ev[1][0].impact.total_change_vs_baseline, 1e-12);
	free(ev[0]);
	free(ev[1]);
	gsl_rng_free(rng);
}

/*
 * Minute counts from tests/data/analysis/NAME (simulator output: lines
 * "start S minutes N", then "MINUTE COUNT" for each minute with any) into
 * counts[max]; in gets their start and end. Returns N.
 */
static long long read_minutes(const char *name, uint32_t *const *cols, int ncols, long long max,
			       struct analysis_input *in)
{
	const char *dir = getenv("TESTDATA");
	char path[4096], line[256];
	long long start = 0, minutes = 0, m, c[3];
	FILE *fp;
	int k;

	assert_true(ncols >= 1 && ncols <= 3);
	snprintf(path, sizeof(path), "%s/analysis/%s", dir ? dir : "tests/data", name);
	fp = fopen(path, "r");
	if (!fp)
		fail_msg("cannot read %s", path);
	while (fgets(line, sizeof(line), fp)) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "start %lld minutes %lld", &start, &minutes) == 2)
			continue;
		assert_int_equal(sscanf(line, "%lld %lld %lld %lld", &m, &c[0], &c[1], &c[2]), 1 + ncols);
		assert_true(m >= 0 && m < minutes && m < max);
		for (k = 0; k < ncols; k++)
			cols[k][m] = (uint32_t)c[k];
	}
	fclose(fp);
	assert_true(minutes > 0 && minutes <= max);
	in->start = start;
	in->end = start + minutes * 60;
	return minutes;
}

/* An archive that begins at 00:58, its first day's first hour not
 * watched (tests/data/analysis/ibis-late-start.txt: ibis, egret and
 * unknown); ibis stops at 23:58 five days on and the data end an hour
 * later (the period runs two hours past them, not watched). The first day counted as whole
 * history taught ibis's profile a lull in its first hour, and the hour of
 * silence after midnight was no surprise: not ceased (test_trap_online.py
 * failed so when run at about 02:58 UTC). Judged by the day's own rate,
 * that day leaves the history. */
static void test_late_first_message(void **state)
{
	enum { MAX = 8000 };
	static uint32_t c[3][MAX];
	uint32_t *cols[3] = { c[0], c[1], c[2] };
	struct analysis_family fa[3] = { { .name = "ibis", .counts = c[0] }, { .name = "egret", .counts = c[1] },
					 { .name = "unknown", .counts = c[2], .no_events = true } };
	struct analysis_input in = { .step = 60, .n_families = 3, .families = fa };
	struct analysis_gap gap;
	struct analysis_event *ev;
	size_t nev, i, ceased = 0;
	char err[256];

	(void)state;
	memset(c, 0, sizeof(c));
	read_minutes("ibis-late-start.txt", cols, 3, MAX - 120, &in);
	gap.from = in.end;
	in.end += 120 * 60;
	gap.to = in.end;
	in.gaps = &gap;
	in.n_gaps = 1;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++) {
		print_message("  late first message: %s %s at %s\n", fa[ev[i].family].name, type_name(ev[i].type),
			      time_format_iso(ev[i].at, err));
		assert_true(ev[i].family == 0 && ev[i].type == ANALYSIS_EVENT_CEASED);
		ceased++;
	}
	assert_int_equal(ceased, 1);
	free(ev);
}

/* the events of a family that has none, from tests/data/analysis/NAME */
static void assert_no_events(const char *name)
{
	static uint32_t counts[29 * 1440];
	struct analysis_family fa = { .name = "lethic", .counts = counts };
	struct analysis_input in = { .step = 60, .n_families = 1, .families = &fa };
	struct analysis_event *ev;
	char err[256];
	size_t nev, i;

	memset(counts, 0, sizeof(counts));
	{
		uint32_t *col = counts;

		read_minutes(name, &col, 1, (long long)(sizeof(counts) / sizeof(counts[0])), &in);
	}
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++)
		print_message("  %s: %s at %s\n", name, type_name(ev[i].type), time_format_iso(ev[i].at, err));
	assert_int_equal(nev, 0);
	free(ev);
}

/*
 * A dip that does not last: the rustock-2011 scenario's lethic (seed 13;
 * sessions of 4-8 messages, 16 an hour) fell to a quarter for 5 h 18 min
 * on 21 February and came back. Refined, the drop and the surge back came
 * 5 h 18 min apart: a change of level lasts 6 hours (DESIGN.md), so both
 * are false. No event.
 */
static void test_dip_that_does_not_last(void **state)
{
	(void)state;
	assert_no_events("lethic-dip.txt");
}

/*
 * No change at all: the same family at seed 20, 20 days at one level.
 * The detector found a drop on the ninth day (the hours it weighed were
 * noise), whose rates either side were 5.7 and 6.8 an hour. A change the
 * offline split does not see (its two levels apart by half of
 * level_change, the right way) goes.
 */
static void test_change_the_split_does_not_see(void **state)
{
	(void)state;
	assert_no_events("lethic-flat.txt");
}

/*
 * A surge that changes the family's shape of the day: the rustock-2011
 * scenario's maazben (seed 2), asleep 23:00-07:00, sends about three
 * times as much from 2011-01-04 18:00 on, with mornings it never had. Over
 * its old profile the mornings read as a surge (placed in the sleep
 * before them, 10 hours late) and its afternoons as a drop from them.
 * A change back within a day that leaves the family still above where it
 * was is the first change's shape: it goes, and the surge is placed again
 * with the hours after it. One surge, within the hour.
 */
static void test_surge_that_changes_shape(void **state)
{
	static uint32_t counts[42 * 1440];
	uint32_t *col = counts;
	struct analysis_family fa = { .name = "maazben", .counts = counts };
	struct analysis_input in = { .step = 60, .n_families = 1, .families = &fa };
	struct analysis_event *ev;
	char err[256];
	size_t nev, i;

	(void)state;
	memset(counts, 0, sizeof(counts));
	read_minutes("maazben-shape.txt", &col, 1, 42 * 1440, &in);
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++)
		print_message("  maazben: %s at %s\n", type_name(ev[i].type), time_format_iso(ev[i].at, err));
	assert_int_equal(nev, 1);
	assert_int_equal(ev[0].type, ANALYSIS_EVENT_SURGE);
	assert_true(llabs(ev[0].at - time_from_parts(2011, 1, 4, 18, 0, 0)) <= 3600);
	free(ev);
}

/*
 * A family at 30 an hour, bursting by 10 minutes (cv 0.4), falls to a
 * quarter for 5 hours (12:00-17:00 on day 10) and comes back. The dip's
 * first silence read as a cessation and its return as a resumption; seen
 * with hindsight the pair was a fall of the rate, and became a drop,
 * measured over the 6 hours after the return, most of them in the dip:
 * a drop with no surge back, the family's level misread from then on. Or
 * the pair went, and the detector's new level, begun at the return, made
 * the end of the dip a surge with no drop before it. Now the later half
 * of those hours must show the fall too, and a change measured from a
 * pair that went goes with it. No cessation, and never a lone drop or
 * surge: none, or the drop and the surge back (a dip of 5 hours whose
 * ends are placed 6.5 hours apart is read as a change that lasted).
 * Illustrative; seed after seed.
 */
static void test_dip_read_as_a_pair(void **state)
{
	enum { DAYS = 14, SEEDS = 20 };
	static uint32_t counts[DAYS * 1440];
	struct analysis_family fa = { .name = "dips", .counts = counts };
	struct analysis_input in = { .start = time_from_parts(2011, 1, 1, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	const int64_t dip = 9 * 1440 + 12 * 60, len = 5 * 60;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_event *ev;
	char err[256];
	unsigned long seed;
	size_t nev, i;
	int64_t m;
	double g = 1;

	(void)state;
	in.end = in.start + DAYS * 86400;
	for (seed = 1; seed <= SEEDS; seed++) {
		gsl_rng_set(rng, seed);
		for (m = 0; m < DAYS * 1440; m++) {
			if (m % 10 == 0)
				g = gsl_ran_gamma(rng, 1 / 0.16, 0.16);
			counts[m] = gsl_ran_poisson(rng, 0.5 * g * (m >= dip && m < dip + len ? 0.25 : 1));
		}
		assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
		for (i = 0; i < nev; i++)
			print_message("  seed %lu: %s at %s\n", seed, type_name(ev[i].type), time_format_iso(ev[i].at, err));
		assert_true(nev == 0 || nev == 2);
		if (nev == 2) {
			assert_int_equal(ev[0].type, ANALYSIS_EVENT_DROP);
			assert_int_equal(ev[1].type, ANALYSIS_EVENT_SURGE);
		}
		free(ev);
	}
	gsl_rng_free(rng);
}

/* offline_levels: the events of in, checked against the truth; the
 * drops and surges among them */
static size_t offline_levels(const char *scenario, const struct synth_series *s,
			     const struct synth_family *fams, const struct analysis_input *in)
{
	struct analysis_event *ev;
	size_t nev, i, levels = 0;
	char err[256];

	assert_int_equal(analysis_events_detect(in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	check_events(scenario, s, fams, ev, nev);
	for (i = 0; i < nev; i++)
		if (ev[i].type == ANALYSIS_EVENT_DROP || ev[i].type == ANALYSIS_EVENT_SURGE)
			levels++;
	free(ev);
	return levels;
}

/* offline_levels of the families over days from Monday 2011-03-07 */
static size_t monday_levels(const char *scenario, const struct synth_family *fams, size_t nf, int days,
			    unsigned long seed)
{
	struct synth_series s;
	struct analysis_family fa[16];
	struct analysis_input in = { 0 };
	size_t levels;

	synth_generate(&s, time_from_parts(2011, 3, 7, 0, 0, 0), days, fams, nf, seed);
	synth_input(&s, fams, fa, &in);
	levels = offline_levels(scenario, &s, fams, &in);
	synth_free(&s);
	return levels;
}

/*
 * A weekly rhythm: a family at half its level on weekends, one nearly
 * silent on weekends (taken down on a Thursday of week 5), and one
 * without. Offline (the rhythm learnt in hindsight) no weekend is a drop
 * or a surge, and a silent weekend is no cessation; online (learnt from
 * the days seen) the same once three weeks are in.
 */
static void test_weekly(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "weekday", .rate = 200, .diurnal = 0.3, .peak_hour = 14, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .weekend = 0.5 },
		{ .name = "office", .rate = 120, .diurnal = 0.5, .peak_hour = 11, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .weekend = 0.03, .n_changes = 1,
		  .changes = { { SYNTH_CEASE, 30.6, 0 } } },
		{ .name = "steady", .rate = 300, .diurnal = 0.2, .peak_hour = 18, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05 },
	};
	enum { NF = 3, DAYS = 35 };
	struct synth_series s;
	struct analysis_family fa[NF];
	struct analysis_input in = { 0 };
	struct analysis_event polled[16];
	struct analysis_detector *d;
	size_t i, late_levels = 0, late_cess = 0;
	uint32_t row[NF];
	int64_t t, learnt;
	char err[256], a[TIME_ISO_LEN];

	(void)state;
	/* (seed 17 draws a 12-minute silence at 2 an hour on a Sunday, a one
	 * in ten years fluke under the generator's own dispersion that the
	 * detector rightly calls: a test of the rhythm needs another seed) */
	synth_generate(&s, time_from_parts(2011, 3, 1, 0, 0, 0), DAYS, fams, NF, 18);
	synth_input(&s, fams, fa, &in);
	assert_int_equal(offline_levels("weekly rhythm, offline", &s, fams, &in), 0);

	/* online, from the first minute: three weeks to learn the rhythm */
	learnt = in.start + 21 * 86400;
	d = analysis_detector_new(NULL, in.start, 60, NF, err, sizeof(err));
	assert_non_null(d);
	for (t = in.start; t < in.end; t += 60) {
		size_t k = (size_t)((t - in.start) / 60), got, f;

		for (f = 0; f < NF; f++)
			row[f] = s.counts[f][k];
		assert_int_equal(analysis_detector_feed(d, t, row, err, sizeof(err)), ANALYSIS_OK);
		got = analysis_detector_poll(d, polled, 16);
		for (i = 0; i < got; i++) {
			print_message("  online: %s %s at %s\n", fams[polled[i].family].name,
				      type_name(polled[i].type), time_format_iso(polled[i].at, a));
			if (polled[i].at < learnt)
				continue;
			if (polled[i].type == ANALYSIS_EVENT_DROP || polled[i].type == ANALYSIS_EVENT_SURGE)
				late_levels++;
			else if (!(polled[i].family == 1 && polled[i].type == ANALYSIS_EVENT_CEASED))
				late_cess++;
		}
	}
	assert_int_equal(late_levels, 0);
	assert_int_equal(late_cess, 0);
	assert_int_equal(analysis_detector_state(d, 1), ANALYSIS_STATE_CEASED);
	analysis_detector_free(d);
	synth_free(&s);
}

/*
 * A weekly rhythm over more than the eight weeks read in hindsight: a
 * family at half its level on weekends, paused over the weekend of weeks
 * 2 and 3, for 13 weeks. In hindsight its rhythm is plain; the detector's
 * own window holds the same weeks only from week 9, and with the pauses
 * in few weeks it sees no rhythm. The rhythm found in hindsight is held
 * until then: no weekend is a drop or a surge.
 */
static void test_weekly_long(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "weekday", .rate = 300, .diurnal = 0.3, .peak_hour = 14, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .weekend = 0.5, .n_changes = 4,
		  .changes = { { SYNTH_CEASE, 11.4, 0 }, { SYNTH_RESUME, 13.6, 0 },
			       { SYNTH_CEASE, 18.5, 0 }, { SYNTH_RESUME, 20.4, 0 } } },
		{ .name = "steady", .rate = 300, .diurnal = 0.2, .peak_hour = 18, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05 },
	};
	(void)state;
	/* from Monday 7 March 2011: the pauses run Friday to Sunday */
	assert_int_equal(monday_levels("weekly rhythm, 13 weeks", fams, sizeof(fams) / sizeof(fams[0]), 91, 5), 0);
}

/*
 * A weekly rhythm the weekly test cannot confirm: a family at half its
 * level on weekends, paused for two days in the second of three and a half
 * weeks (the weeks left are too few for the test). Its weekends read as
 * drops and surges to the detector; in hindsight a drop, a surge and a
 * drop a week after the first (or a surge, a drop, a surge) are its
 * rhythm, and none is reported. Another family's drop is still found.
 */
static void test_weekly_short(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "weekday", .rate = 300, .diurnal = 0.3, .peak_hour = 14, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .weekend = 0.5, .n_changes = 2,
		  .changes = { { SYNTH_CEASE, 8.4, 0 }, { SYNTH_RESUME, 10.6, 0 } } },
		{ .name = "dropper", .rate = 200, .diurnal = 0.3, .peak_hour = 10, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .n_changes = 1, .changes = { { SYNTH_LEVEL, 16.5, 0.4 } } },
	};
	(void)state;
	/* from Monday 7 March 2011: the pause runs Tuesday to Thursday; the
	 * one drop reported is the dropper's (check_events fails on a miss) */
	assert_int_equal(monday_levels("weekly rhythm, 25 days, a pause", fams, sizeof(fams) / sizeof(fams[0]), 25, 3), 1);
}

/*
 * The sensor down for a while (analysis_detector_skip): the skipped minutes
 * are no family's silence. A steady family sends before and after a gap of
 * five hours across midnight, and after one of thirty days: nothing is
 * raised for it. A family that stopped before the first gap has ceased.
 */
static void test_skip(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "steady", .rate = 120, .diurnal = 0.2, .peak_hour = 12, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05 },
		{ .name = "stopper", .rate = 90, .diurnal = 0.2, .peak_hour = 15, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .n_changes = 1, .changes = { { SYNTH_CEASE, 4.5, 0 } } },
	};
	enum { NF = 2, DAYS = 8 };
	struct synth_series s;
	struct analysis_detector *d;
	struct analysis_event ev[16];
	int64_t start, t, gap1_from, gap1_to, gap2_from, gap2_to;
	uint32_t row[NF];
	size_t got, i, steady_events = 0, stopper_ceased = 0;
	char err[256], a[TIME_ISO_LEN];

	(void)state;
	start = time_from_parts(2011, 3, 1, 0, 0, 0);
	synth_generate(&s, start, DAYS, fams, NF, 23);
	d = analysis_detector_new(NULL, start, 60, NF, err, sizeof(err));
	assert_non_null(d);
	gap1_from = start + (int64_t)(4.9 * 86400) / 60 * 60;
	gap1_to = gap1_from + 5 * 3600;
	gap2_from = start + 6 * 86400 + 7 * 3600;
	gap2_to = gap2_from + 30 * 86400;
	for (t = start; t < start + DAYS * 86400; t += 60) {
		size_t k = (size_t)((t - start) / 60);

		if (t == gap1_from) {
			assert_int_equal(analysis_detector_skip(d, gap1_to, err, sizeof(err)), ANALYSIS_OK);
			t = gap1_to - 60;
			continue;
		}
		if (t == gap2_from) {
			/* thirty days down, then the two days left, thirty days on */
			assert_int_equal(analysis_detector_skip(d, gap2_to, err, sizeof(err)), ANALYSIS_OK);
			break;
		}
		row[0] = s.counts[0][k];
		row[1] = s.counts[1][k];
		assert_int_equal(analysis_detector_feed(d, t, row, err, sizeof(err)), ANALYSIS_OK);
		got = analysis_detector_poll(d, ev, 16);
		for (i = 0; i < got; i++) {
			print_message("  %s %s at %s\n", fams[ev[i].family].name, type_name(ev[i].type),
				      time_format_iso(ev[i].at, a));
			steady_events += ev[i].family == 0;
			stopper_ceased += ev[i].family == 1 && ev[i].type == ANALYSIS_EVENT_CEASED;
		}
	}
	/* the misuse of skip: back in time, misaligned */
	assert_int_equal(analysis_detector_skip(d, start, err, sizeof(err)), ANALYSIS_EINVAL);
	assert_int_equal(analysis_detector_skip(d, gap2_to + 30, err, sizeof(err)), ANALYSIS_EINVAL);
	for (t = gap2_to; t < gap2_to + 2 * 86400; t += 60) {
		size_t k = (size_t)((t - gap2_to) / 60 + (gap2_from - start) / 60);

		row[0] = k < s.n_minutes ? s.counts[0][k] : s.counts[0][k % 1440 + 1440];
		row[1] = 0;
		assert_int_equal(analysis_detector_feed(d, t, row, err, sizeof(err)), ANALYSIS_OK);
		got = analysis_detector_poll(d, ev, 16);
		for (i = 0; i < got; i++) {
			print_message("  after 30 days: %s %s at %s\n", fams[ev[i].family].name,
				      type_name(ev[i].type), time_format_iso(ev[i].at, a));
			steady_events += ev[i].family == 0;
		}
	}
	assert_int_equal(steady_events, 0);
	assert_int_equal(stopper_ceased, 1);
	assert_int_equal(analysis_detector_state(d, 0), ANALYSIS_STATE_ACTIVE);
	assert_int_equal(analysis_detector_state(d, 1), ANALYSIS_STATE_CEASED);
	analysis_detector_free(d);
	synth_free(&s);
}

/*
 * Offline over a period with gaps (a trap that was down, as the store's
 * uptime says): five hours down on day 5 and the last three hours of the
 * period. Read as silence, the gap makes the steady family cease and
 * resume; skipped, it raises nothing. A family that stops for good inside
 * the first gap has ceased at its last message before it, and one that
 * stops on day 6 is found as without gaps.
 */
static void test_offline_gaps(void **state)
{
	static const struct synth_family fams[] = {
		{ .name = "steady", .rate = 120, .diurnal = 0.2, .peak_hour = 12, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05 },
		{ .name = "inside", .rate = 90, .diurnal = 0.2, .peak_hour = 15, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .n_changes = 1, .changes = { { SYNTH_CEASE, 5.5, 0 } } },
		{ .name = "stopper", .rate = 60, .diurnal = 0.3, .peak_hour = 9, .sleep_from = -1, .k_min = 4,
		  .k_hour = 20, .day_sd = 0.05, .n_changes = 1, .changes = { { SYNTH_CEASE, 6.3, 0 } } },
	};
	enum { NF = 3, DAYS = 10 };
	struct synth_series s;
	struct analysis_family fa[NF];
	struct analysis_input in = { 0 };
	struct analysis_gap gaps[2], bad[2];
	struct analysis_event *ev;
	size_t nev, i, f, k, steady = 0, inside = 0, stopper = 0;
	int64_t start = time_from_parts(2011, 3, 1, 0, 0, 0), last_inside = 0, last_stopper = 0;
	char err[256], a[TIME_ISO_LEN];

	(void)state;
	synth_generate(&s, start, DAYS, fams, NF, 31);
	gaps[0].from = start + 5 * 86400 + 9 * 3600;
	gaps[0].to = gaps[0].from + 5 * 3600;
	gaps[1].from = start + DAYS * 86400 - 3 * 3600;
	gaps[1].to = start + DAYS * 86400;
	/* nothing was received while the trap was down */
	for (i = 0; i < 2; i++)
		for (f = 0; f < NF; f++)
			memset(s.counts[f] + (gaps[i].from - start) / 60, 0,
			       (size_t)(gaps[i].to - gaps[i].from) / 60 * sizeof(uint32_t));
	for (k = 0; k < s.n_minutes; k++) {
		if (s.counts[1][k])
			last_inside = start + (int64_t)k * 60;
		if (s.counts[2][k])
			last_stopper = start + (int64_t)k * 60;
	}
	assert_true(last_inside < gaps[0].from);
	synth_input(&s, fams, fa, &in);

	/* read as silence, the first gap is a false cessation of the steady family */
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++)
		steady += ev[i].family == 0 && ev[i].type == ANALYSIS_EVENT_CEASED;
	assert_true(steady >= 1);
	free(ev);

	in.gaps = gaps;
	in.n_gaps = 2;
	steady = 0;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	for (i = 0; i < nev; i++) {
		print_message("  gaps skipped: %s %s at %s\n", fams[ev[i].family].name, type_name(ev[i].type),
			      time_format_iso(ev[i].at, a));
		if (ev[i].family == 0)
			steady++;
		if (ev[i].family == 1) {
			assert_int_equal(ev[i].type, ANALYSIS_EVENT_CEASED);
			assert_true(ev[i].at <= last_inside && ev[i].at >= last_inside - 15 * 60);
			/* the day after meets the gap at the end: no impact */
			inside++;
		}
		if (ev[i].family == 2) {
			assert_int_equal(ev[i].type, ANALYSIS_EVENT_CEASED);
			assert_true(ev[i].at <= last_stopper && ev[i].at >= last_stopper - 15 * 60);
			stopper++;
		}
	}
	assert_int_equal(steady, 0);
	assert_int_equal(inside, 1);
	assert_int_equal(stopper, 1);
	free(ev);

	/* messages stored in the gaps anyway (an archive of the downtime,
	 * ingested later): counted in volume, not in events; the family that
	 * stopped inside the first gap has ceased at its last message watched */
	{
		struct synth_series full;
		int64_t last_watched = 0;

		synth_generate(&full, start, DAYS, fams, NF, 31);
		for (k = 0; k < (size_t)((gaps[0].from - start) / 60); k++)
			if (full.counts[1][k])
				last_watched = start + (int64_t)k * 60;
		for (i = 0; i < NF; i++)
			memcpy(s.counts[i], full.counts[i], full.n_minutes * sizeof(uint32_t));
		steady = inside = stopper = 0;
		assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
		for (i = 0; i < nev; i++) {
			print_message("  messages in the gaps: %s %s at %s\n", fams[ev[i].family].name,
				      type_name(ev[i].type), time_format_iso(ev[i].at, a));
			steady += ev[i].family == 0;
			if (ev[i].family == 1) {
				assert_int_equal(ev[i].type, ANALYSIS_EVENT_CEASED);
				assert_true(ev[i].at <= last_watched && ev[i].at >= last_watched - 15 * 60);
				inside++;
			}
			stopper += ev[i].family == 2;
		}
		assert_int_equal(steady, 0);
		assert_int_equal(inside, 1);
		assert_int_equal(stopper, 1);
		free(ev);
		synth_free(&full);
	}

	/* gaps that break the rules */
	bad[0] = gaps[0];
	bad[1] = gaps[0];
	in.gaps = bad;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_EINVAL);
	in.n_gaps = 1;
	bad[0].from += 30;
	assert_int_equal(analysis_input_check(&in, err, sizeof(err)), ANALYSIS_EINVAL);
	bad[0].from = start - 60;
	assert_int_equal(analysis_input_check(&in, err, sizeof(err)), ANALYSIS_EINVAL);
	in.gaps = NULL;
	assert_int_equal(analysis_input_check(&in, err, sizeof(err)), ANALYSIS_EINVAL);
	synth_free(&s);
}

/* Nothing to see: an empty store, one silent family, bad input. */
static void test_degenerate(void **state)
{
	static uint32_t zeros[3 * 1440];
	struct analysis_family fa = { .name = "unknown", .counts = zeros };
	struct analysis_input in = { .start = time_from_parts(2011, 1, 1, 0, 0, 0), .step = 60, .n_families = 1,
				     .families = &fa };
	struct analysis_event *ev;
	size_t nev;
	char err[256];

	(void)state;
	in.end = in.start + 3 * 86400;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	assert_int_equal(nev, 0);
	free(ev);
	in.n_families = 0;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_OK);
	assert_int_equal(nev, 0);
	free(ev);
	in.step = 7;
	assert_int_equal(analysis_events_detect(&in, NULL, &ev, &nev, err, sizeof(err)), ANALYSIS_EINVAL);
	assert_null(ev);
	assert_int_equal(nev, 0);
	assert_string_equal(analysis_event_type_name(ANALYSIS_EVENT_SURGE), "surge");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SCENARIO_TEST("test_long_scenario", long_scenario),
		SCENARIO_TEST("test_short_scenario", short_scenario),
		SCENARIO_TEST("test_deep_fall", deep_fall),
		SCENARIO_TEST("test_stragglers", stragglers),
		SCENARIO_TEST("test_early_drop", early_drop),
		cmocka_unit_test(test_change_in_sleep),
		cmocka_unit_test(test_newcomers),
		cmocka_unit_test(test_campaigns),
		cmocka_unit_test(test_rests_at_new_hours),
		cmocka_unit_test(test_ceased_in_late_sleep),
		cmocka_unit_test(test_silence_after_a_lull),
		cmocka_unit_test(test_takedown_before_armed),
		cmocka_unit_test(test_sparse_sessions),
		cmocka_unit_test(test_sparse_pause),
		cmocka_unit_test(test_lone_last_message),
		cmocka_unit_test(test_no_drop_before_a_slow_cessation),
		cmocka_unit_test(test_week_after_pauses),
		cmocka_unit_test(test_week_with_a_surge),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bursts_once),
		cmocka_unit_test(test_impact_of_takedown),
		cmocka_unit_test(test_online),
		cmocka_unit_test(test_late_first_message),
		cmocka_unit_test(test_hourly_step),
		cmocka_unit_test(test_no_events),
		cmocka_unit_test(test_dip_that_does_not_last),
		cmocka_unit_test(test_surge_that_changes_shape),
		cmocka_unit_test(test_change_the_split_does_not_see),
		cmocka_unit_test(test_dip_read_as_a_pair),
		cmocka_unit_test(test_weekly),
		cmocka_unit_test(test_weekly_long),
		cmocka_unit_test(test_weekly_short),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_offline_gaps),
		cmocka_unit_test(test_degenerate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
