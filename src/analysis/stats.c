/*
 * stats.c - the small statistics the detector and its refinement share:
 * negative-binomial silence probabilities and two-level change points.
 *
 * Pure functions of their arguments; nothing allocated except scratch
 * freed before returning.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "analysis/internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WEEK_P 1e-3          /* a weekly rhythm this unlikely by chance */
#define WEEK_MATTERS 0.18    /* log 1.2: some day off by this much */
#define WEEK_FLOOR 0.01      /* a silent day still expects a little */
#define WEEK_SPAN 56         /* days looked at: the last eight weeks */
#define WEEK_MIN_WEEKS 2     /* each weekday seen this often */
#define WEEK_CLAMP 1.5       /* log ratios bounded: a day at 0.22-4.5 x its week */
#define WEEK_ODD 0.7         /* a day this far (log 2) from its weekday's median: not the rhythm */

/*
 * The cheap look first (the detector asks every midnight for every family),
 * over the days whose week around them could send enough for the test
 * below (a median of 7 at least the minimum needs 4 days at it; a
 * takedown's weeks, a new family's, are left out as there): too few such
 * days of some weekday, UNKNOWN; no weekday's mean 6 % off the mean of all,
 * where a rhythm the test accepts has one off by 18 %, NONE; else worth the
 * test (FOUND here).
 */
static enum an_week weekly_look(const double *tot, const bool *valid, const int *seg, size_t n, size_t from,
				int64_t day0, size_t need)
{
	double sum[7] = { 0 }, all = 0, win = 0;
	size_t cnt[7] = { 0 }, i, j, m = 0;
	int w;

	/* need < 7 (in hindsight): the days at the ends too, with the part
	 * of their week that is there */
	for (i = need < 7 ? from : from + 3; need < 7 ? i < n : i + 3 < n; i++) {
		size_t known = 0;

		win = 0;
		for (j = i >= from + 3 ? i - 3 : from; j <= i + 3 && j < n; j++)
			if (valid[j] && (!seg || seg[j] == seg[i])) {
				known++;
				win += tot[j];
			}
		if (!valid[i] || known < need || win < 4 * AN_WEEK_MIN_MEAN * (double)known / 7)
			continue;
		w = an_weekday(day0 + (int64_t)i);
		sum[w] += tot[i];
		cnt[w]++;
		all += tot[i];
		m++;
	}
	for (w = 0; w < 7; w++)
		if (cnt[w] < WEEK_MIN_WEEKS)
			return AN_WEEK_UNKNOWN;
	for (w = 0; w < 7; w++)
		if (fabs(log((sum[w] / (double)cnt[w] + 0.5) / (all / (double)m + 0.5))) >= WEEK_MATTERS / 3)
			return AN_WEEK_FOUND;
	return AN_WEEK_NONE;
}

static enum an_week weekly_factors(const double *tot, const bool *valid, const int *seg, size_t n, int64_t day0,
				   double wf[7], bool odd_out)
{
	double r[7][WEEK_SPAN], raw[7][WEEK_SPAN], g[7] = { 0 }, ssw = 0, ssb = 0, grand = 0, big = 0, sum = 0;
	size_t cnt[7] = { 0 }, from = n > WEEK_SPAN + 6 ? n - WEEK_SPAN - 6 : 0, i, nobs = 0;
	enum an_week look;
	int w;

	for (w = 0; w < 7; w++)
		wf[w] = 1;
	if ((look = weekly_look(tot, valid, seg, n, from, day0, odd_out ? 4 : 7)) != AN_WEEK_FOUND)
		return look;
	/* each day against the week around it (the median of the 7 days
	 * centred on it): a change of level moves only the days next to it,
	 * a pause or a burst of a day is an outlier the median ignores, and
	 * no weekday is favoured; each ratio bounded in the test, so that one
	 * odd day cannot hide a rhythm (the factors take the ratios as they are) */
	for (i = odd_out ? from : from + 3; odd_out ? i < n : i + 3 < n; i++) {
		double win[7], ref;
		size_t j, m = 0;

		for (j = i >= from + 3 ? i - 3 : from; j <= i + 3 && j < n; j++)
			if (valid[j] && (!seg || seg[j] == seg[i]))
				win[m++] = tot[j];
		/* in hindsight a week with days not known (a pause), or cut
		 * by the period's ends, has a median from four days; online
		 * every day of it must be known */
		if (!valid[i] || m < (odd_out ? 4 : 7))
			continue;   /* (weekly_look asks the same) */
		ref = an_median(win, m);
		if (ref < AN_WEEK_MIN_MEAN)
			continue;
		w = an_weekday(day0 + (int64_t)i);
		raw[w][cnt[w]] = log((tot[i] + 0.5) / (ref + 0.5));
		r[w][cnt[w]] = fmax(-WEEK_CLAMP, fmin(WEEK_CLAMP, raw[w][cnt[w]]));
		cnt[w]++;
	}
	/* in hindsight, from three weeks on, a day far from its weekday's
	 * median (a pause, a return, a burst) is left out: one such day in a
	 * group swamps the spread within it and hides a rhythm every other
	 * week shows (a weekday always silent stays: its days agree) */
	for (w = 0; w < 7 && odd_out; w++) {
		double copy[WEEK_SPAN], mid;
		size_t b, kept = 0;

		if (cnt[w] < 3)
			continue;
		memcpy(copy, r[w], cnt[w] * sizeof(double));
		mid = an_median(copy, cnt[w]);
		for (b = 0; b < cnt[w]; b++)
			if (fabs(r[w][b] - mid) <= WEEK_ODD) {
				r[w][kept] = r[w][b];
				raw[w][kept] = raw[w][b];
				kept++;
			}
		cnt[w] = kept;
	}
	for (w = 0; w < 7; w++) {
		size_t b;

		if (cnt[w] < WEEK_MIN_WEEKS)
			return AN_WEEK_UNKNOWN;
		for (b = 0; b < cnt[w]; b++)
			g[w] += r[w][b];
		g[w] /= (double)cnt[w];
		grand += g[w] * (double)cnt[w];
		nobs += cnt[w];
	}
	grand /= (double)nobs;
	for (w = 0; w < 7; w++) {
		size_t b;

		ssb += (double)cnt[w] * (g[w] - grand) * (g[w] - grand);
		for (b = 0; b < cnt[w]; b++)
			ssw += (r[w][b] - g[w]) * (r[w][b] - g[w]);
		if (fabs(g[w] - grand) > big)
			big = fabs(g[w] - grand);
	}
	if (big < WEEK_MATTERS)
		return AN_WEEK_NONE;
	if (ssw > 0 && gsl_cdf_fdist_Q((ssb / 6) / (ssw / (double)(nobs - 7)), 6, (double)(nobs - 7)) >= WEEK_P)
		return AN_WEEK_NONE;
	for (w = 0; w < 7; w++) {
		/* the median week's: from three weeks on, one odd day (a pause,
		 * a surge) does not make a weekday's factor */
		wf[w] = exp(an_median(raw[w], cnt[w]));
		sum += wf[w];
	}
	for (w = 0; w < 7; w++) {
		wf[w] = wf[w] * 7 / sum;
		if (wf[w] < WEEK_FLOOR)
			wf[w] = WEEK_FLOOR;
	}
	return AN_WEEK_FOUND;
}

enum an_week an_weekly_factors(const double *tot, const bool *valid, size_t n, int64_t day0, double wf[7])
{
	return weekly_factors(tot, valid, NULL, n, day0, wf, false);
}

enum an_week an_weekly_factors_hindsight(const double *tot, const bool *valid, const int *seg, size_t n, int64_t day0,
					 double wf[7])
{
	return weekly_factors(tot, valid, seg, n, day0, wf, true);
}

double an_nb_zero_surprise(double lam, double inv_k)
{
	if (lam <= 0)
		return 0;
	if (inv_k <= 1e-12)
		return lam;
	/* P(0) = (1 + lam / k)^-k with k = 1 / inv_k */
	return log1p(lam * inv_k) / inv_k;
}

size_t an_scan_stragglers(const double *x, const double *mu, size_t from, size_t to, double cease_fraction,
			  double *s)
{
	double n = 0, e = 0, best_s = 0, si;
	size_t k = from, best = from;

	for (;;) {
		n += x[k];
		e += cease_fraction * mu[k];
		if (x[k] > 0 && e > 0) {
			si = -log(fmax(gsl_cdf_poisson_Q((unsigned)n - 1, e), 1e-300));
			if (si > best_s) {
				best_s = si;
				best = k;
			}
		}
		if (k == to)
			break;
		k = to > from ? k + 1 : k - 1;
	}
	if (s)
		*s = best_s;
	return best;
}

#define CEASE_LAST_SURPRISE 6.9     /* log 1000: more than stragglers */

static double xlogx_over(double o, double e)
{
	return o > 0 && e > 0 ? o * log(o / e) : 0;
}

size_t an_scan_bunched(const double *x, const double *mu, size_t from, size_t to, double min_rate, double *lr)
{
	double o = 0, e = 0, o_all = 0, e_all = 0, r, best_lr = 0;
	size_t k, best = from;

	for (k = from;; k = to > from ? k + 1 : k - 1) {
		o_all += x[k];
		e_all += mu[k];
		if (k == to)
			break;
	}
	for (k = from; k != to; k = to > from ? k + 1 : k - 1) {
		o += x[k];
		e += mu[k];
		/* denser up to k than after it: two rates against one */
		if (x[k] <= 0 || e <= 0 || e_all - e <= 0 || o / e <= (o_all - o) / (e_all - e) || o / e < min_rate)
			continue;
		r = xlogx_over(o, e) + xlogx_over(o_all - o, e_all - e) - xlogx_over(o_all, e_all);
		if (r > best_lr) {
			best_lr = r;
			best = k;
		}
	}
	*lr = best_lr;
	return best;
}

size_t an_cease_last(size_t at, const double *x, const double *mu, size_t n, double cease_fraction)
{
	double s, lr;
	size_t last, end;

	if (at + 1 >= n)
		return at;
	last = an_scan_stragglers(x, mu, at + 1, n - 1, cease_fraction, &s);
	end = an_scan_bunched(x, mu, at + 1, n - 1, cease_fraction, &lr);
	if (lr >= AN_BUNCHED_LR && (s < CEASE_LAST_SURPRISE || end > last))
		return end;
	return s >= CEASE_LAST_SURPRISE ? last : at;
}

void an_sumsq_add(struct an_sumsq *s, int64_t t, double mu)
{
	int64_t s10 = t / 600, s30 = t / 1800;

	if (!s->open || s10 != s->s10) {
		s->q10 += s->c10 * s->c10;
		s->c10 = 0;
		s->s10 = s10;
	}
	if (!s->open || s30 != s->s30) {
		s->q30 += s->c30 * s->c30;
		s->c30 = 0;
		s->s30 = s30;
	}
	s->open = true;
	s->q += mu * mu;
	s->c10 += mu;
	s->c30 += mu;
}

double an_sumsq_excess(const struct an_sumsq *s, const struct an_disp *disp)
{
	double e = s->q * disp->km;
	double e10 = (s->q10 + s->c10 * s->c10) * disp->k10;
	double e30 = (s->q30 + s->c30 * s->c30) * disp->k30;

	return fmax(e, fmax(e10, e30));
}

double an_nb_tail_gain(unsigned long o, double lam, double inv_k)
{
	double sum = 1, term = 1, scale = 0, k, q;
	unsigned long j;

	if (o == 0 || lam <= 0)
		return 0;
	/* sum_{j=0}^{o} pmf(j) / pmf(0), the terms built by their ratios
	 * pmf(j) / pmf(j-1) = (k + j - 1) / j * lam / (k + lam) (negative
	 * binomial, k = 1/inv_k) or lam / j (Poisson), rescaled as they grow */
	k = inv_k > 1e-12 ? 1.0 / inv_k : 0;
	q = inv_k > 1e-12 ? lam / (k + lam) : 0;
	for (j = 1; j <= o; j++) {
		term *= inv_k > 1e-12 ? (k + (double)j - 1) / (double)j * q : lam / (double)j;
		sum += term;
		if (sum > 1e250) {
			sum *= 1e-250;
			term *= 1e-250;
			scale += 250 * M_LN10;
		}
	}
	return log(sum) + scale;
}

size_t an_change_point(const double *x, const double *mu, size_t n, size_t lo, size_t hi)
{
	return an_change_point_quiet(x, mu, n, lo, hi, INFINITY, true);
}

size_t an_change_point_quiet(const double *x, const double *mu, size_t n, size_t lo, size_t hi, double max_ratio,
			     bool quiet_after)
{
	double o_all = 0, e_all = 0, o1 = 0, e1 = 0, best = -INFINITY;
	size_t i, k, arg = quiet_after ? hi : lo;

	if (hi > n)
		hi = n;
	if (lo > hi)
		return hi;
	for (i = 0; i < n; i++) {
		o_all += x[i];
		e_all += mu[i];
	}
	for (i = 0; i < lo; i++) {
		o1 += x[i];
		e1 += mu[i];
	}
	for (k = lo; k <= hi; k++) {
		double o2 = o_all - o1, e2 = e_all - e1;
		double r1 = e1 > 0 ? o1 / e1 : 0, r2 = e2 > 0 ? o2 / e2 : 0;
		bool quiet = isinf(max_ratio) || (quiet_after ? r2 <= max_ratio * r1 : r1 <= max_ratio * r2);

		if (quiet) {
			double ll = xlogx_over(o1, e1) + xlogx_over(o2, e2);

			if (ll > best + 1e-9) {
				best = ll;
				arg = k;
			}
		}
		if (k < n) {
			o1 += x[k];
			e1 += mu[k];
		}
	}
	return arg;
}
