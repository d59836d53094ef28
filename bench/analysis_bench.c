/*
 * analysis_bench.c - how long a full analysis takes, and its peak memory.
 *
 *   build/analysis_bench [days] [families] [part]   (default 90 100, both parts)
 *
 * Part 1: `families` synthetic families (tests/unit/test_analysis_synth.h
 * shapes, rates from 5 to 2000 an hour, some with cessations and level
 * changes) at minute resolution over `days` days; times every stage of a
 * report (hourly series, shares, daily table, consistency of each family
 * and of the total, events at minute resolution with refinement and impact,
 * projection) on one core. Part 2: one year of hourly counts for the same
 * number of families (input step 3600), the same stages. Generating the
 * data is not timed. Prints the CPU time of each stage (one core; the wall
 * time beside it depends on what else the machine runs), the totals, and
 * the peak resident set size (getrusage). Targets (issue 6): part 1 under
 * 2 s, part 2 under 1 s, peak RSS under 256 MB. `part` 1 or 2 runs only
 * that part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "analysis/analysis.h"
#include "../tests/unit/test_analysis_synth.h"
#include "util/timeutil.h"

/* seconds of CPU this process has used: the work done on one core, whatever
 * else the machine runs (wall time is printed beside it) */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double stage(const char *name, double t0)
{
	double t = now_s();

	printf("  %-28s %8.3f s cpu\n", name, t - t0);
	return t;
}

/* every stage of a report over in; returns seconds */
static double run_all(const struct analysis_input *in, int events_bucket)
{
	struct analysis_series ser;
	struct analysis_shares sh;
	struct analysis_daily daily;
	struct analysis_consistency cons;
	struct analysis_event *ev;
	struct analysis_projection proj;
	char err[256];
	size_t nev, f, i, counts[4] = { 0 };
	double t0 = now_s(), t = t0, w0 = wall_s();

	if (analysis_series_build(in, events_bucket, ANALYSIS_UNIT_MESSAGES, &ser, err, sizeof(err)))
		printf("series: %s\n", err);
	t = stage("series (1h buckets)", t);
	if (analysis_shares_compute(in, ANALYSIS_UNIT_MESSAGES, &sh, err, sizeof(err)))
		printf("shares: %s\n", err);
	t = stage("shares", t);
	if (analysis_daily_build(in, &daily, err, sizeof(err)))
		printf("daily: %s\n", err);
	t = stage("daily table", t);
	for (f = 0; f < in->n_families; f++)
		analysis_consistency_family(in, f, &cons, err, sizeof(err));
	analysis_consistency_family(in, (size_t)-1, &cons, err, sizeof(err));
	t = stage("consistency (all + total)", t);
	if (analysis_events_detect(in, NULL, &ev, &nev, err, sizeof(err)))
		printf("events: %s\n", err);
	for (i = 0; i < nev; i++)
		counts[ev[i].type]++;
	t = stage("events (detect + refine)", t);
	printf("    %zu events: %zu ceased, %zu resumed, %zu drop, %zu surge\n", nev, counts[0], counts[1], counts[2],
	       counts[3]);
	if (analysis_project(in, NULL, &proj, err, sizeof(err)))
		printf("projection: %s\n", err);
	t = stage("projection", t);
	printf("  (wall clock %.3f s)\n", wall_s() - w0);
	analysis_series_free(&ser);
	analysis_shares_free(&sh);
	analysis_daily_free(&daily);
	analysis_projection_free(&proj);
	free(ev);
	return t - t0;
}

static struct synth_family family_shape(size_t i, gsl_rng *rng)
{
	static const double rates[] = { 5, 12, 30, 60, 120, 300, 600, 2000 };
	struct synth_family f;

	memset(&f, 0, sizeof(f));
	f.name = "family";
	f.rate = rates[i % 8] * (0.8 + 0.4 * gsl_rng_uniform(rng));
	f.diurnal = 0.1 + 0.5 * gsl_rng_uniform(rng);
	f.peak_hour = 24 * gsl_rng_uniform(rng);
	f.sleep_from = i % 5 == 0 ? 23 : -1;
	f.sleep_to = 6;
	f.sleep_jitter = 0.5;
	f.spike_mult = i % 4 == 0 ? 3 : 0;
	f.spike_hour = 12;
	f.spike_len = 2;
	f.spike_jitter = 1;
	f.k_min = 1 + 4 * gsl_rng_uniform(rng);
	f.k_hour = 5 + 20 * gsl_rng_uniform(rng);
	f.day_sd = 0.05 + 0.1 * gsl_rng_uniform(rng);
	f.straggle_rate = 0.1;
	if (i % 10 == 3) {
		f.n_changes = 2;
		f.changes[0] = (struct synth_change){ SYNTH_CEASE, 30.4, 0 };
		f.changes[1] = (struct synth_change){ SYNTH_RESUME, 44.3, 0 };
	} else if (i % 10 == 6) {
		f.n_changes = 1;
		f.changes[0] = (struct synth_change){ SYNTH_LEVEL, 50.5, 0.5 };
	}
	return f;
}

static long peak_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	int days = argc > 1 ? atoi(argv[1]) : 90;
	size_t nf = argc > 2 ? (size_t)atol(argv[2]) : 100, f, i;
	int part = argc > 3 ? atoi(argv[3]) : 0;
	int64_t start = time_from_parts(2011, 1, 1, 0, 0, 0);
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct analysis_family *fa = calloc(nf, sizeof(*fa));
	struct analysis_input in = { 0 };
	double secs;

	if (days < 7 || nf < 1) {
		fprintf(stderr, "usage: analysis_bench [days >= 7] [families >= 1]\n");
		return 2;
	}
	gsl_rng_set(rng, 42);
	if (part == 2)
		goto part2;
	printf("part 1: %d days x %zu families at minute resolution (%zu cells)\n", days, nf,
	       (size_t)days * 1440 * nf);
	for (f = 0; f < nf; f++) {
		struct synth_family shape = family_shape(f, rng);
		struct synth_series s;

		synth_generate(&s, start, days, &shape, 1, 1000 + f);
		fa[f].name = "family";
		fa[f].counts = s.counts[0];
		s.counts[0] = NULL;
		synth_free(&s);
	}
	in.start = start;
	in.end = start + (int64_t)days * 86400;
	in.step = 60;
	in.n_families = nf;
	in.families = fa;
	secs = run_all(&in, 3600);
	printf("  total %.3f s (target < 2 s), peak RSS so far %ld MB\n", secs, peak_rss_kb() / 1024);
	for (f = 0; f < nf; f++)
		free((void *)fa[f].counts);

	if (part == 1)
		goto done;
part2:
	/* part 2: a year of hourly counts */
	printf("part 2: 365 days x %zu families at hourly resolution (%zu cells)\n", nf, (size_t)365 * 24 * nf);
	for (f = 0; f < nf; f++) {
		struct synth_family shape = family_shape(f, rng);
		uint32_t *c = calloc(365 * 24, sizeof(uint32_t));

		for (i = 0; i < 365 * 24; i++) {
			double hr = (double)(i % 24), rate = shape.rate * synth_diurnal(&shape, hr);

			if (shape.sleep_from >= 0 && synth_in_range(hr, shape.sleep_from, shape.sleep_to))
				rate = 0;
			rate *= gsl_ran_gamma(rng, shape.k_hour, 1 / shape.k_hour);
			c[i] = rate > 0 ? gsl_ran_poisson(rng, rate) : 0;
		}
		fa[f].name = "family";
		fa[f].counts = c;
	}
	in.start = start;
	in.end = start + 365 * 86400LL;
	in.step = 3600;
	in.n_families = nf;
	in.families = fa;
	secs = run_all(&in, 3600);
	printf("  total %.3f s (target < 1 s)\n", secs);
	for (f = 0; f < nf; f++)
		free((void *)fa[f].counts);
done:
	printf("peak RSS %ld MB (target < 256 MB)\n", peak_rss_kb() / 1024);
	free(fa);
	gsl_rng_free(rng);
	return 0;
}
