/*
 * test_analysis_hw.c - Holt-Winters and the projection against statsmodels
 * and against sums done by hand.
 *
 * The reference values come from tests/data/analysis/hw_reference.json,
 * written by make_hw_reference.py with statsmodels; the integration test
 * test_analysis_statsmodels.py regenerates that file and runs this binary
 * against the fresh copy (TESTDATA points at it).
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

#include <jansson.h>

#include "analysis/analysis.h"
#include "util/timeutil.h"

static json_t *reference;

static json_t *load_reference(void)
{
	const char *dir = getenv("TESTDATA");
	char path[4096];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/analysis/hw_reference.json", dir ? dir : "tests/data");
	j = json_load_file(path, 0, &jerr);
	if (!j)
		fail_msg("cannot read %s: %s (line %d)", path, jerr.text, jerr.line);
	return j;
}

static double *array_of(json_t *a, size_t *n)
{
	double *x;
	size_t i;

	assert_true(json_is_array(a));
	*n = json_array_size(a);
	x = malloc(*n * sizeof(double));
	for (i = 0; i < *n; i++)
		x[i] = json_number_value(json_array_get(a, i));
	return x;
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		fail_msg("reference lacks %s", key);
	return json_number_value(v);
}

static void close_to(const char *what, double got, double want, double rel)
{
	double tol = rel * fmax(1, fabs(want));

	if (!(fabs(got - want) <= tol)) {
		print_error("%s: got %.12g want %.12g\n", what, got, want);
		fail();
	}
}

/* the recursion with known parameters and states equals statsmodels' */
static void test_smooth_matches_statsmodels(void **state)
{
	json_t *k = json_object_get(reference, "known");
	size_t n, ns, nf, i;
	double *y = array_of(json_object_get(k, "y"), &n);
	double *s0 = array_of(json_object_get(k, "s0"), &ns);
	double *want_fit = array_of(json_object_get(k, "fitted"), &i);
	double *want_fc = array_of(json_object_get(k, "forecast"), &nf);
	double *fit = malloc(n * sizeof(double)), *fc = malloc(nf * sizeof(double));
	struct analysis_hw hw;
	int m = (int)num(k, "m");

	(void)state;
	assert_int_equal(ns, (size_t)m);
	analysis_hw_smooth(y, n, m, num(k, "alpha"), num(k, "beta"), num(k, "gamma"), num(k, "l0"), num(k, "b0"), s0,
			   fit, &hw);
	for (i = 0; i < n; i++)
		close_to("fitted value", fit[i], want_fit[i], 1e-9);
	close_to("sse", hw.sse, num(k, "sse"), 1e-9);
	close_to("final level", hw.level, num(k, "level"), 1e-9);
	close_to("final trend", hw.trend, num(k, "trend"), 1e-9);
	analysis_hw_forecast(&hw, nf, fc, NULL);
	for (i = 0; i < nf; i++) {
		/* statsmodels 0.13 takes the seasonal state one season too old
		 * when h is a multiple of m (statsmodels issue #9538); we use the
		 * latest, as Hyndman's formula does */
		if ((i + 1) % (size_t)m == 0)
			continue;
		close_to("forecast", fc[i], want_fc[i], 1e-9);
	}
	analysis_hw_free(&hw);
	free(y);
	free(s0);
	free(want_fit);
	free(want_fc);
	free(fit);
	free(fc);
}

/* the projection bar: on the held-out weeks, no worse than statsmodels */
static void test_fit_beats_statsmodels(void **state)
{
	json_t *cases = json_object_get(reference, "fit");
	double sum_ours = 0, sum_sm = 0;
	size_t c, nc = json_array_size(cases);

	(void)state;
	assert_true(nc >= 1);
	print_message("holt-winters, 28 days fitted, 7 held out: MAPE and in-sample SSE\n");
	print_message("  seed  ours (a, b, g)                 sse        statsmodels (a, b, g)          sse\n");
	for (c = 0; c < nc; c++) {
		json_t *f = json_array_get(cases, c), *sm = json_object_get(f, "statsmodels");
		size_t n, nt, i, used = 0;
		double *train = array_of(json_object_get(f, "train"), &n);
		double *test = array_of(json_object_get(f, "test"), &nt);
		double *fc = malloc(nt * sizeof(double)), mape = 0;
		struct analysis_hw hw;
		char err[256];

		assert_int_equal(analysis_hw_fit(train, n, (int)num(f, "m"), &hw, err, sizeof(err)), ANALYSIS_OK);
		analysis_hw_forecast(&hw, nt, fc, NULL);
		for (i = 0; i < nt; i++)
			if (test[i] > 0) {
				mape += fabs(test[i] - fc[i]) / test[i];
				used++;
			}
		mape /= (double)used;
		print_message("  %4d  %.4f (%.3f %.4f %.3f) %.4g   %.4f (%.3f %.4f %.3f) %.4g\n", (int)num(f, "seed"), mape,
			      hw.alpha, hw.beta, hw.gamma, hw.sse, num(sm, "mape"), num(sm, "alpha"), num(sm, "beta"),
			      num(sm, "gamma"), num(sm, "sse"));
		/* a sane fit: in-sample no worse than statsmodels' (which also
		 * fits the initial seasonal states) by more than 5 % */
		assert_true(hw.sse <= 1.05 * num(sm, "sse"));
		sum_ours += mape;
		sum_sm += num(sm, "mape");
		analysis_hw_free(&hw);
		free(train);
		free(test);
		free(fc);
	}
	print_message("  mean  %.4f                                 %.4f\n", sum_ours / (double)nc, sum_sm / (double)nc);
	if (!(sum_ours <= sum_sm)) {
		print_error("mean MAPE %.4f worse than statsmodels' %.4f\n", sum_ours / (double)nc, sum_sm / (double)nc);
		fail();
	}
}

/* forecast variances, by hand: m = 4, alpha .5, beta .2, gamma .1, sigma2 1:
 * c_j = alpha (1 + j beta) + gamma [j % 4 == 0] = .6, .7, .8, 1.0 */
static void test_variance_by_hand(void **state)
{
	double season[4] = { 0, 0, 0, 0 }, mean[5], var[5];
	static const double want[5] = { 1, 1.36, 1.85, 2.49, 3.49 };
	struct analysis_hw hw = { .m = 4, .alpha = 0.5, .beta = 0.2, .gamma = 0.1, .level = 10, .trend = 1,
				  .season = season, .sigma2 = 1, .n = 100 };
	int i;

	(void)state;
	analysis_hw_forecast(&hw, 5, mean, var);
	for (i = 0; i < 5; i++) {
		close_to("mean", mean[i], 10 + (i + 1), 1e-12);
		close_to("variance", var[i], want[i], 1e-12);
		/* one step is its own sum */
		close_to("sum of one", analysis_hw_sum_variance(&hw, (size_t)i + 1, (size_t)i + 1), want[i], 1e-12);
	}
	/* e1 + e2 = 1.6 eps1 + eps2: 2.56 + 1 */
	close_to("sum 1..2", analysis_hw_sum_variance(&hw, 1, 2), 3.56, 1e-12);
	/* e2 + e3 = eps1 (.6 + .7) + eps2 (1 + .6) + eps3: 1.69 + 2.56 + 1 */
	close_to("sum 2..3", analysis_hw_sum_variance(&hw, 2, 3), 5.25, 1e-12);
}

/* the projection: a pure daily cycle is projected as itself; scale
 * multiplies; leaving a family out removes its share */
static void test_projection(void **state)
{
	enum { DAYS = 21 };
	static uint32_t a[DAYS * 24], b[DAYS * 24];
	struct analysis_family fam[2] = { { .name = "a", .counts = a }, { .name = "b", .counts = b } };
	struct analysis_input in = { .start = time_from_parts(2011, 3, 1, 0, 0, 0), .step = 3600, .n_families = 2,
				     .families = fam };
	struct analysis_projection_config cfg;
	struct analysis_projection p;
	char err[256], date[11];
	size_t i;

	(void)state;
	in.end = in.start + DAYS * 86400;
	for (i = 0; i < DAYS * 24; i++) {
		a[i] = 100 + 50 * (i % 24 >= 8 && i % 24 < 20);   /* 3000 a day */
		b[i] = 25;                                         /* 600 a day */
	}
	analysis_projection_config_default(&cfg);
	cfg.model = ANALYSIS_PROJECT_HOURLY;
	cfg.days = 3;
	assert_int_equal(analysis_project(&in, &cfg, &p, err, sizeof(err)), ANALYSIS_OK);
	assert_int_equal(p.n_points, 3);
	assert_int_equal(p.m, 24);
	for (i = 0; i < 3; i++) {
		print_message("  %s total %.1f 80%% [%.1f, %.1f] 95%% [%.1f, %.1f]\n",
			      time_format_date(p.points[i].date, date), p.points[i].total, p.points[i].lo80,
			      p.points[i].hi80, p.points[i].lo95, p.points[i].hi95);
		assert_int_equal(p.points[i].date, in.end + (int64_t)i * 86400);
		close_to("projected total", p.points[i].total, 3600, 1e-3);
		assert_true(p.points[i].lo95 <= p.points[i].lo80 && p.points[i].lo80 <= p.points[i].total);
		assert_true(p.points[i].total <= p.points[i].hi80 && p.points[i].hi80 <= p.points[i].hi95);
	}
	analysis_projection_free(&p);

	cfg.scale = 1000;
	cfg.without = 1;
	assert_int_equal(analysis_project(&in, &cfg, &p, err, sizeof(err)), ANALYSIS_OK);
	close_to("scaled, without b", p.points[0].total, 3000 * 1000.0, 1e-3);
	analysis_projection_free(&p);

	/* weekly seasonality on daily totals: needs 3 weeks */
	cfg.model = ANALYSIS_PROJECT_DAILY;
	cfg.scale = 1;
	cfg.without = -1;
	assert_int_equal(analysis_project(&in, &cfg, &p, err, sizeof(err)), ANALYSIS_OK);
	assert_int_equal(p.m, 7);
	close_to("daily model", p.points[0].total, 3600, 1e-3);
	analysis_projection_free(&p);
	in.end = in.start + 20 * 86400;
	assert_int_equal(analysis_project(&in, &cfg, &p, err, sizeof(err)), ANALYSIS_ETOOLITTLE);
	assert_int_equal(p.n_points, 0);
	/* bad arguments */
	cfg.without = 2;
	assert_int_equal(analysis_project(&in, &cfg, &p, err, sizeof(err)), ANALYSIS_EINVAL);
	cfg.without = -1;
	cfg.scale = 0;
	assert_int_equal(analysis_project(&in, &cfg, &p, err, sizeof(err)), ANALYSIS_EINVAL);
	/* too short for any model */
	cfg.scale = 1;
	cfg.model = ANALYSIS_PROJECT_HOURLY;
	in.end = in.start + 2 * 86400;
	assert_int_equal(analysis_project(&in, &cfg, &p, err, sizeof(err)), ANALYSIS_ETOOLITTLE);
	{
		double y[10] = { 0 };
		struct analysis_hw hw;

		assert_int_equal(analysis_hw_fit(y, 10, 24, &hw, err, sizeof(err)), ANALYSIS_ETOOLITTLE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smooth_matches_statsmodels),
		cmocka_unit_test(test_fit_beats_statsmodels),
		cmocka_unit_test(test_variance_by_hand),
		cmocka_unit_test(test_projection),
	};
	int rc;

	reference = load_reference();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(reference);
	return rc;
}
