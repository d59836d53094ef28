/*
 * holtwinters.c - additive Holt-Winters and the projection of total volume.
 *
 * The recursion is the error-correction form statsmodels uses (and
 * Hyndman & Athanasopoulos, "Forecasting: principles and practice", 8.3):
 *   yhat_t = l + b + s[t mod m]
 *   l'     = alpha (y - s) + (1 - alpha) (l + b)
 *   b'     = beta (l' - l) + (1 - beta) b
 *   s'     = gamma (y - l - b) + (1 - gamma) s
 * with 0 < alpha < 1, 0 < beta <= alpha, 0 < gamma <= 1 - alpha (as
 * statsmodels bounds them). Forecasts h steps ahead use the latest seasonal
 * state of that phase (Hyndman's formula; statsmodels 0.13 uses the one
 * before it when h is a multiple of m, statsmodels issue #9538).
 * Initial seasonal states: the mean deviation of each phase from a line
 * through the means of the first (up to ten) seasons. The smoothing
 * parameters and the initial level and trend minimise the sum of squared
 * one-step errors with GSL's Nelder-Mead simplex, started from the best
 * points of a coarse grid (statsmodels also fits the initial seasonal
 * states; on our series that buys no accuracy out of sample).
 * Forecast variance (ETS(A,A,A), Hyndman et al. 2008, table 6.1):
 *   var_h = sigma^2 (1 + sum_{j=1}^{h-1} c_j^2),  c_j = alpha (1 + j beta)
 *   + gamma [j mod m == 0],  sigma^2 = SSE / (n - 3);
 * a sum of forecasts (a day of hours) adds up the shared innovations.
 *
 * analysis_hw_* allocate the season array; analysis_hw_free releases it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_vector.h>

#include "analysis/internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define HW_GRID_A 6
#define HW_GRID_B 3
#define HW_GRID_G 5
#define HW_STARTS 3
#define HW_INIT_SEASONS 10
#define HW_MAX_ITER 2000

void analysis_hw_free(struct analysis_hw *hw)
{
	free(hw->season);
	hw->season = NULL;
}

/* the recursion; returns the SSE; s is scratch of m holding s0 on entry */
static double hw_run(const double *y, size_t n, int m, double a, double b, double g, double l, double tr, double *s,
		     double *fitted)
{
	double sse = 0;
	size_t t;
	int i = 0;

	for (t = 0; t < n; t++) {
		double f = l + tr + s[i], e = y[t] - f, ln;

		if (fitted)
			fitted[t] = f;
		sse += e * e;
		ln = a * (y[t] - s[i]) + (1 - a) * (l + tr);
		s[i] = g * (y[t] - l - tr) + (1 - g) * s[i];
		tr = b * (ln - l) + (1 - b) * tr;
		l = ln;
		if (++i == m)
			i = 0;
	}
	/* leave the final level and trend in s[m], s[m + 1] */
	s[m] = l;
	s[m + 1] = tr;
	return sse;
}

void analysis_hw_smooth(const double *y, size_t n, int m, double alpha, double beta, double gamma, double l0,
			double b0, const double *s0, double *fitted, struct analysis_hw *out)
{
	double *s = xmalloc(((size_t)m + 2) * sizeof(double));
	int i;

	memcpy(s, s0, (size_t)m * sizeof(double));
	memset(out, 0, sizeof(*out));
	out->m = m;
	out->alpha = alpha;
	out->beta = beta;
	out->gamma = gamma;
	out->n = n;
	out->sse = hw_run(y, n, m, alpha, beta, gamma, l0, b0, s, fitted);
	out->level = s[m];
	out->trend = s[m + 1];
	out->sigma2 = n > 3 ? out->sse / (double)(n - 3) : 0;
	out->season = xmalloc((size_t)m * sizeof(double));
	/* season[i] belongs to observation n - m + i, phase (n - m + i) mod m */
	for (i = 0; i < m; i++)
		out->season[i] = s[(n + (size_t)i) % (size_t)m];
	free(s);
}

/* initial states: a straight line through the means of the first (up to
 * ten) whole seasons, and the mean deviation from it of each phase */
static void hw_init(const double *y, size_t n, int m, double *l0, double *b0, double *s0)
{
	size_t k = n / (size_t)m, j;
	double sx = 0, sy = 0, sxx = 0, sxy = 0, a, avg = 0;
	int i;

	if (k > HW_INIT_SEASONS)
		k = HW_INIT_SEASONS;
	for (j = 0; j < k; j++) {
		double mean = 0, c = (double)j * m + (m - 1) / 2.0;

		for (i = 0; i < m; i++)
			mean += y[j * (size_t)m + (size_t)i];
		mean /= m;
		sx += c;
		sy += mean;
		sxx += c * c;
		sxy += c * mean;
	}
	*b0 = k >= 2 ? (sxy - sx * sy / (double)k) / (sxx - sx * sx / (double)k) : 0;
	a = sy / (double)k - *b0 * sx / (double)k;      /* the line at t = 0 */
	*l0 = a - *b0;                                  /* so that l0 + b0 is the level at t = 0 */
	for (i = 0; i < m; i++) {
		s0[i] = 0;
		for (j = 0; j < k; j++) {
			size_t t = j * (size_t)m + (size_t)i;

			s0[i] += y[t] - (a + *b0 * (double)t);
		}
		s0[i] /= (double)k;
		avg += s0[i] / m;
	}
	for (i = 0; i < m; i++)
		s0[i] -= avg;
}

/* The fit's unknowns: alpha, beta, gamma through logistic maps onto their
 * admissible ranges, and the initial level and trend, scaled by the data's
 * size so every coordinate moves on the same scale. */
#define HW_NPAR 5

struct hw_problem {
	const double *y;
	size_t n;
	int m;
	double l0, b0, scale;   /* heuristic initial states, size of the data */
	const double *s0;
	double *scratch;
};

static double logistic(double u)
{
	return 1 / (1 + exp(-u));
}

static double logit(double p)
{
	return log(p / (1 - p));
}

struct hw_params {
	double a, b, g, l0, b0;
};

static struct hw_params params_of(const struct hw_problem *p, const double *u)
{
	struct hw_params q;

	q.a = logistic(u[0]);
	q.b = q.a * logistic(u[1]);
	q.g = (1 - q.a) * logistic(u[2]);
	q.l0 = p->l0 + u[3] * p->scale;
	q.b0 = p->b0 + u[4] * p->scale / p->m;
	return q;
}

static double hw_sse_params(const struct hw_problem *p, const double *u)
{
	struct hw_params q = params_of(p, u);

	memcpy(p->scratch, p->s0, (size_t)p->m * sizeof(double));
	return hw_run(p->y, p->n, p->m, q.a, q.b, q.g, q.l0, q.b0, p->scratch, NULL);
}

static double hw_objective(const gsl_vector *v, void *arg)
{
	double u[HW_NPAR];
	int j;

	for (j = 0; j < HW_NPAR; j++)
		u[j] = gsl_vector_get(v, (size_t)j);
	return hw_sse_params(arg, u);
}

/* Nelder-Mead from u (in place); returns the SSE reached */
static double hw_minimise(struct hw_problem *p, double *u)
{
	const gsl_multimin_fminimizer_type *T = gsl_multimin_fminimizer_nmsimplex2;
	gsl_multimin_fminimizer *mz = gsl_multimin_fminimizer_alloc(T, HW_NPAR);
	gsl_vector *x = gsl_vector_alloc(HW_NPAR), *ss = gsl_vector_alloc(HW_NPAR);
	gsl_multimin_function fn = { .f = hw_objective, .n = HW_NPAR, .params = p };
	double fval;
	int iter, j;

	for (j = 0; j < HW_NPAR; j++)
		gsl_vector_set(x, (size_t)j, u[j]);
	gsl_vector_set_all(ss, 1.0);
	gsl_vector_set(ss, 3, 0.1);
	gsl_vector_set(ss, 4, 0.01);
	gsl_multimin_fminimizer_set(mz, &fn, x, ss);
	for (iter = 0; iter < HW_MAX_ITER; iter++) {
		if (gsl_multimin_fminimizer_iterate(mz))
			break;
		if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(mz), 1e-8) == GSL_SUCCESS)
			break;
	}
	for (j = 0; j < HW_NPAR; j++)
		u[j] = gsl_vector_get(mz->x, (size_t)j);
	fval = mz->fval;
	gsl_vector_free(x);
	gsl_vector_free(ss);
	gsl_multimin_fminimizer_free(mz);
	return fval;
}

enum analysis_status analysis_hw_fit(const double *y, size_t n, int m, struct analysis_hw *out, char *err,
				     size_t errlen)
{
	static const double grid_a[HW_GRID_A] = { 0.02, 0.1, 0.25, 0.45, 0.7, 0.9 };
	static const double grid_b[HW_GRID_B] = { 0.001, 0.05, 0.3 };     /* as a fraction of alpha */
	static const double grid_g[HW_GRID_G] = { 0.01, 0.05, 0.15, 0.4, 0.8 };  /* of 1 - alpha */
	struct hw_problem p;
	double *s0, best_sse[HW_STARTS], best_u[HW_STARTS][HW_NPAR], fin_u[HW_NPAR] = { 0 }, fin_sse = INFINITY;
	struct hw_params q;
	size_t t;
	int ia, ib, ig, k, j;

	memset(out, 0, sizeof(*out));
	if (m < 2 || n < 2 * (size_t)m + 1)
		return an_err(err, errlen, ANALYSIS_ETOOLITTLE, "Holt-Winters needs at least %d points, have %zu",
			      2 * m + 1, n);
	s0 = xmalloc((size_t)m * sizeof(double));
	hw_init(y, n, m, &p.l0, &p.b0, s0);
	p.y = y;
	p.n = n;
	p.m = m;
	p.s0 = s0;
	p.scratch = xmalloc(((size_t)m + 2) * sizeof(double));
	p.scale = 0;
	for (t = 0; t < n; t++)
		p.scale += fabs(y[t]) / (double)n;
	if (p.scale <= 0)
		p.scale = 1;

	/* a coarse grid of smoothing parameters, the best few as starts */
	for (k = 0; k < HW_STARTS; k++)
		best_sse[k] = INFINITY;
	for (ia = 0; ia < HW_GRID_A; ia++)
		for (ib = 0; ib < HW_GRID_B; ib++)
			for (ig = 0; ig < HW_GRID_G; ig++) {
				double u[HW_NPAR] = { logit(grid_a[ia]), logit(grid_b[ib]), logit(grid_g[ig]), 0, 0 };
				double sse = hw_sse_params(&p, u);

				/* keep the HW_STARTS best, sorted */
				for (k = 0; k < HW_STARTS && sse >= best_sse[k]; k++)
					;
				if (k == HW_STARTS)
					continue;
				for (j = HW_STARTS - 1; j > k; j--) {
					best_sse[j] = best_sse[j - 1];
					memcpy(best_u[j], best_u[j - 1], sizeof(best_u[j]));
				}
				best_sse[k] = sse;
				memcpy(best_u[k], u, sizeof(u));
			}
	for (k = 0; k < HW_STARTS; k++) {
		double sse;

		if (!isfinite(best_sse[k]))
			continue;
		/* twice: Nelder-Mead restarted where it stopped escapes a
		 * collapsed simplex */
		sse = hw_minimise(&p, best_u[k]);
		sse = hw_minimise(&p, best_u[k]);
		if (sse < fin_sse) {
			fin_sse = sse;
			memcpy(fin_u, best_u[k], sizeof(fin_u));
		}
	}
	q = params_of(&p, fin_u);
	analysis_hw_smooth(y, n, m, q.a, q.b, q.g, q.l0, q.b0, s0, NULL, out);
	free(s0);
	free(p.scratch);
	return ANALYSIS_OK;
}

static double hw_psi(const struct analysis_hw *hw, size_t j)
{
	if (j == 0)
		return 1;
	return hw->alpha * (1 + (double)j * hw->beta) + (j % (size_t)hw->m == 0 ? hw->gamma : 0);
}

void analysis_hw_forecast(const struct analysis_hw *hw, size_t H, double *mean, double *variance)
{
	double acc = 1;
	size_t h;

	for (h = 1; h <= H; h++) {
		mean[h - 1] = hw->level + (double)h * hw->trend + hw->season[(h - 1) % (size_t)hw->m];
		if (variance) {
			if (h > 1) {
				double c = hw_psi(hw, h - 1);

				acc += c * c;
			}
			variance[h - 1] = hw->sigma2 * acc;
		}
	}
}

double analysis_hw_sum_variance(const struct analysis_hw *hw, size_t h1, size_t h2)
{
	double *cum, v = 0;
	size_t k, j;

	if (h1 < 1)
		h1 = 1;
	if (h2 < h1)
		return 0;
	/* cum[j] = psi_0 + ... + psi_{j-1} */
	cum = xmalloc((h2 + 1) * sizeof(double));
	cum[0] = 0;
	for (j = 0; j < h2; j++)
		cum[j + 1] = cum[j] + hw_psi(hw, j);
	/* innovation k (1..h2) enters forecast h >= k with weight psi_{h-k} */
	for (k = 1; k <= h2; k++) {
		size_t lo = h1 > k ? h1 : k;
		double c = cum[h2 - k + 1] - cum[lo - k];

		v += c * c;
	}
	free(cum);
	return hw->sigma2 * v;
}

/* ------------------------------------------------------------------ */

void analysis_projection_config_default(struct analysis_projection_config *c)
{
	c->model = ANALYSIS_PROJECT_AUTO;
	c->days = 7;
	c->scale = 1;
	c->without = -1;
	c->fit_days = 56;
}

void analysis_projection_free(struct analysis_projection *p)
{
	analysis_hw_free(&p->hw);
	free(p->points);
	p->points = NULL;
	p->n_points = 0;
}

static void fill_point(struct analysis_projection_point *pt, int64_t date, double mean, double var, double scale)
{
	double sd = sqrt(var > 0 ? var : 0);
	double z80 = gsl_cdf_ugaussian_Pinv(0.90), z95 = gsl_cdf_ugaussian_Pinv(0.975);

	if (mean < 0)
		mean = 0;
	pt->date = date;
	pt->total = scale * mean;
	pt->lo80 = scale * fmax(0, mean - z80 * sd);
	pt->hi80 = scale * (mean + z80 * sd);
	pt->lo95 = scale * fmax(0, mean - z95 * sd);
	pt->hi95 = scale * (mean + z95 * sd);
}

/* the sums over the whole buckets of `unit` seconds inside the period;
 * *n of them, the last ending at *t_end */
static double *whole_buckets(const struct analysis_input *in, const double *slots, int64_t unit, size_t *n,
			     int64_t *t_end)
{
	int64_t b0 = an_floor(in->start + unit - 1, unit), b1 = an_floor(in->end, unit);
	size_t per = (size_t)(unit / in->step), from, i;
	double *y;

	*n = b1 > b0 ? (size_t)((b1 - b0) / unit) : 0;
	*t_end = b1;
	y = xcalloc(*n ? *n : 1, sizeof(double));
	from = b1 > b0 ? (size_t)((b0 - in->start) / in->step) : 0;
	for (i = 0; i < *n * per; i++)
		y[i / per] += slots[from + i];
	return y;
}

enum analysis_status analysis_project(const struct analysis_input *in, const struct analysis_projection_config *cfg_in,
				      struct analysis_projection *out, char *err, size_t errlen)
{
	enum analysis_status st = analysis_input_check(in, err, errlen);
	struct analysis_projection_config cfg;
	enum analysis_projection_model model;
	int64_t first_day, t_end, unit;
	double *slots, *y, *mean;
	size_t n, min_n, max_n, H, per_day;
	int d, m;

	memset(out, 0, sizeof(*out));
	if (st != ANALYSIS_OK)
		return st;
	if (cfg_in)
		cfg = *cfg_in;
	else
		analysis_projection_config_default(&cfg);
	if (cfg.without >= (long)in->n_families)
		return an_err(err, errlen, ANALYSIS_EINVAL, "no family %ld to leave out", cfg.without);
	if (cfg.days < 1 || cfg.days > 366)
		return an_err(err, errlen, ANALYSIS_EINVAL, "projection of %d days", cfg.days);
	if (!(cfg.scale > 0))
		return an_err(err, errlen, ANALYSIS_EINVAL, "scale must be positive");
	if (cfg.fit_days < 3)
		cfg.fit_days = 3;
	out->scale = cfg.scale;
	out->without = cfg.without;
	model = cfg.model;
	if (model == ANALYSIS_PROJECT_AUTO)
		model = in->end - in->start >= 56 * (int64_t)AN_DAY ? ANALYSIS_PROJECT_DAILY : ANALYSIS_PROJECT_HOURLY;
	if (model == ANALYSIS_PROJECT_HOURLY) {
		unit = AN_HOUR;
		m = 24;
		min_n = 72;                        /* three days */
		max_n = (size_t)cfg.fit_days * 24;
	} else {
		unit = AN_DAY;
		m = 7;
		min_n = 21;                        /* three weeks */
		max_n = (size_t)-1;
	}
	slots = an_total_slots(in, cfg.without < 0 ? (size_t)-1 : (size_t)cfg.without);
	y = whole_buckets(in, slots, unit, &n, &t_end);
	free(slots);
	if (n < min_n) {
		free(y);
		return an_err(err, errlen, ANALYSIS_ETOOLITTLE, "projection needs %zu whole %s of data", min_n,
			      unit == AN_HOUR ? "hours" : "days");
	}
	/* the most recent max_n buckets */
	st = analysis_hw_fit(n > max_n ? y + (n - max_n) : y, n > max_n ? max_n : n, m, &out->hw, err, errlen);
	free(y);
	if (st != ANALYSIS_OK)
		return st;
	out->m = m;
	/* whole days from the first midnight at or after the period's end;
	 * the forecast runs from the last whole bucket */
	first_day = an_floor(in->end + AN_DAY - 1, AN_DAY);
	per_day = (size_t)(AN_DAY / unit);
	H = (size_t)((first_day + (int64_t)cfg.days * AN_DAY - t_end) / unit);
	mean = xmalloc(H * sizeof(double));
	analysis_hw_forecast(&out->hw, H, mean, NULL);
	out->points = xcalloc((size_t)cfg.days, sizeof(struct analysis_projection_point));
	out->n_points = (size_t)cfg.days;
	for (d = 0; d < cfg.days; d++) {
		int64_t day = first_day + (int64_t)d * AN_DAY;
		size_t a = (size_t)((day - t_end) / unit), b = a + per_day, k;
		double sum = 0;

		/* steps a+1 .. b ahead; their errors share innovations */
		for (k = a; k < b; k++)
			sum += mean[k];
		fill_point(&out->points[d], day, sum, analysis_hw_sum_variance(&out->hw, a + 1, b), cfg.scale);
	}
	free(mean);
	return ANALYSIS_OK;
}
