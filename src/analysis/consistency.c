/*
 * consistency.c - how spiky or steady a family is, in three numbers.
 *
 * Over the family's active hours (analysis.h, docs/analysis.md): the
 * coefficient of variation of hourly counts, the typical daily peak over the
 * median hour, and the autocorrelation at lag 24 h. Pure arithmetic over an
 * hourly array; nothing is allocated beyond scratch space freed here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define PAUSE_HOURS 24        /* a silent run this long is a pause, not rhythm */
#define PEAK_DAY_MIN_HOURS 12 /* a day's peak counts with this many active hours */

/* active[i] = 1 for the active hours of x[0..n) */
static size_t mark_active(const double *x, size_t n, unsigned char *active)
{
	size_t first = n, last = 0, i, count = 0;

	memset(active, 0, n);
	for (i = 0; i < n; i++)
		if (x[i] > 0) {
			if (first == n)
				first = i;
			last = i;
		}
	if (first == n)
		return 0;
	for (i = first; i <= last; i++)
		active[i] = 1;
	/* runs of silence of PAUSE_HOURS or more inside [first, last] */
	for (i = first; i <= last;) {
		size_t j = i;

		if (x[i] > 0) {
			i++;
			continue;
		}
		while (j <= last && x[j] <= 0)
			j++;
		if (j - i >= PAUSE_HOURS)
			memset(active + i, 0, j - i);
		i = j;
	}
	for (i = first; i <= last; i++)
		count += active[i];
	return count;
}

void analysis_consistency_hourly(const double *x, size_t n, int64_t t0, struct analysis_consistency *out)
{
	unsigned char *active = xmalloc(n ? n : 1);
	double *tmp = xmalloc((n ? n : 1) * sizeof(double));
	size_t na, i, k;
	double sum = 0, mean, ss = 0, num = 0, median;

	out->cv_hourly = out->peak_to_median = out->diurnal_acf = NAN;
	na = out->active_hours = mark_active(x, n, active);
	if (na < 2)
		goto done;
	for (i = 0; i < n; i++)
		if (active[i])
			sum += x[i];
	mean = sum / (double)na;
	for (i = 0; i < n; i++)
		if (active[i])
			ss += (x[i] - mean) * (x[i] - mean);
	if (mean > 0)
		out->cv_hourly = sqrt(ss / (double)na) / mean;

	/* peak to median */
	for (i = 0, k = 0; i < n; i++)
		if (active[i])
			tmp[k++] = x[i];
	median = an_median(tmp, k);
	{
		size_t nd = 0;
		int64_t cur = INT64_MIN;
		size_t day_active = 0;
		double day_max = 0;

		for (i = 0; i <= n; i++) {
			int64_t day = i < n ? an_floor(t0 + (int64_t)i * AN_HOUR, AN_DAY) : INT64_MAX;

			if (day != cur) {
				if (cur != INT64_MIN && day_active >= PEAK_DAY_MIN_HOURS)
					tmp[nd++] = day_max;
				cur = day;
				day_active = 0;
				day_max = 0;
			}
			if (i < n && active[i]) {
				day_active++;
				if (x[i] > day_max)
					day_max = x[i];
			}
		}
		if (nd > 0 && median > 0)
			out->peak_to_median = an_median(tmp, nd) / median;
	}

	/* autocorrelation at lag 24 */
	if (na >= 48 && ss > 0) {
		for (i = 0; i + 24 < n; i++)
			if (active[i] && active[i + 24])
				num += (x[i] - mean) * (x[i + 24] - mean);
		out->diurnal_acf = num / ss;
	}
done:
	free(active);
	free(tmp);
}

enum analysis_status analysis_consistency_family(const struct analysis_input *in, size_t f,
						 struct analysis_consistency *out, char *err, size_t errlen)
{
	enum analysis_status st = analysis_input_check(in, err, errlen);
	size_t n, nh, i;
	double *x, *h;

	out->cv_hourly = out->peak_to_median = out->diurnal_acf = NAN;
	out->active_hours = 0;
	if (st != ANALYSIS_OK)
		return st;
	if (f != (size_t)-1 && f >= in->n_families)
		return an_err(err, errlen, ANALYSIS_EINVAL, "no family %zu", f);
	n = analysis_input_slots(in);
	nh = analysis_input_hours(in);
	if (f == (size_t)-1) {
		x = an_total_slots(in, (size_t)-1);
	} else {
		x = xmalloc(n * sizeof(double));
		for (i = 0; i < n; i++)
			x[i] = in->families[f].counts[i];
	}
	h = xmalloc(nh * sizeof(double));
	an_hourly(in, x, h);
	analysis_consistency_hourly(h, nh, an_floor(in->start, AN_HOUR), out);
	free(x);
	free(h);
	return ANALYSIS_OK;
}
