/*
 * series.c - the input's rules, series per bucket, shares, the daily table.
 *
 * Everything here is a sum over the caller's arrays; results are allocated
 * here and freed by the matching *_free. Client counts are distinct
 * estimates from merged HyperLogLog sketches (hll.c), so they are not sums.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum analysis_status an_err(char *err, size_t errlen, enum analysis_status status, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}

/* the k-th smallest of x[0..n) (reordered in place), Hoare's selection */
static double select_kth(double *x, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = x[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;

		while (i <= j) {
			while (x[i] < pivot)
				i++;
			while (x[j] > pivot)
				j--;
			if (i <= j) {
				double t = x[i];

				x[i] = x[j];
				x[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return x[k];
}

double an_median(double *x, size_t n)
{
	double hi, lo;
	size_t i;

	if (n == 0)
		return NAN;
	hi = select_kth(x, n, n / 2);
	if (n % 2)
		return hi;
	/* the lower middle is the largest of the part below */
	lo = x[0];
	for (i = 1; i < n / 2; i++)
		if (x[i] > lo)
			lo = x[i];
	return 0.5 * (lo + hi);
}

static const char *const unit_names[] = {
	[ANALYSIS_UNIT_MESSAGES] = "messages",
	[ANALYSIS_UNIT_RECIPIENTS] = "recipients",
	[ANALYSIS_UNIT_BYTES] = "bytes",
	[ANALYSIS_UNIT_CLIENTS] = "clients",
};

bool analysis_unit_parse(const char *s, enum analysis_unit *out)
{
	size_t i;

	for (i = 0; i < sizeof(unit_names) / sizeof(unit_names[0]); i++)
		if (strcmp(s, unit_names[i]) == 0) {
			*out = (enum analysis_unit)i;
			return true;
		}
	return false;
}

const char *analysis_unit_name(enum analysis_unit u)
{
	if ((size_t)u >= sizeof(unit_names) / sizeof(unit_names[0]))
		panic("analysis_unit_name: unit %d", (int)u);
	return unit_names[u];
}

size_t analysis_input_slots(const struct analysis_input *in)
{
	return (size_t)((in->end - in->start) / in->step);
}

size_t analysis_input_hours(const struct analysis_input *in)
{
	int64_t h0 = an_floor(in->start, AN_HOUR);
	int64_t h1 = an_floor(in->end + AN_HOUR - 1, AN_HOUR);

	return (size_t)((h1 - h0) / AN_HOUR);
}

enum analysis_status analysis_input_check(const struct analysis_input *in, char *err, size_t errlen)
{
	size_t f;

	if (in->step != 60 && in->step != AN_HOUR)
		return an_err(err, errlen, ANALYSIS_EINVAL, "step must be 60 or 3600 seconds, not %d", in->step);
	if (in->start % in->step != 0 || in->end % in->step != 0)
		return an_err(err, errlen, ANALYSIS_EINVAL, "period not aligned to %d-second slots", in->step);
	if (in->end <= in->start)
		return an_err(err, errlen, ANALYSIS_EINVAL, "empty period");
	if ((in->end - in->start) / in->step > ANALYSIS_MAX_SLOTS)
		return an_err(err, errlen, ANALYSIS_EINVAL, "period longer than %d slots", ANALYSIS_MAX_SLOTS);
	if (in->n_families > ANALYSIS_MAX_FAMILIES)
		return an_err(err, errlen, ANALYSIS_EINVAL, "more than %d families", ANALYSIS_MAX_FAMILIES);
	if (in->n_families && !in->families)
		return an_err(err, errlen, ANALYSIS_EINVAL, "no family array");
	for (f = 0; f < in->n_families; f++) {
		if (!in->families[f].counts)
			return an_err(err, errlen, ANALYSIS_EINVAL, "family %zu has no counts", f);
		if (!in->families[f].name)
			return an_err(err, errlen, ANALYSIS_EINVAL, "family %zu has no name", f);
	}
	if (in->n_gaps && !in->gaps)
		return an_err(err, errlen, ANALYSIS_EINVAL, "no gap array");
	for (f = 0; f < in->n_gaps; f++) {
		const struct analysis_gap *g = &in->gaps[f];

		if (g->from % in->step != 0 || g->to % in->step != 0 || g->from >= g->to ||
		    g->from < in->start || g->to > in->end || (f > 0 && g->from <= in->gaps[f - 1].to))
			return an_err(err, errlen, ANALYSIS_EINVAL,
				      "gap %zu is not an aligned span inside the period, after the one before", f);
	}
	return ANALYSIS_OK;
}

double *an_total_slots(const struct analysis_input *in, size_t without)
{
	size_t n = analysis_input_slots(in), f, i;
	double *x = xcalloc(n, sizeof(double));

	for (f = 0; f < in->n_families; f++) {
		const uint32_t *c = in->families[f].counts;

		if (f == without)
			continue;
		for (i = 0; i < n; i++)
			x[i] += c[i];
	}
	return x;
}

void an_hourly(const struct analysis_input *in, const double *x, double *out)
{
	size_t n = analysis_input_slots(in), nh = analysis_input_hours(in), i;
	int64_t h0 = an_floor(in->start, AN_HOUR);

	memset(out, 0, nh * sizeof(double));
	for (i = 0; i < n; i++)
		out[(in->start + (int64_t)i * in->step - h0) / AN_HOUR] += x[i];
}

/* ------------------------------------------------------------------ */

void analysis_series_free(struct analysis_series *s)
{
	free(s->t);
	free(s->total);
	free(s->by_family);
	s->t = NULL;
	s->total = s->by_family = NULL;
	s->n_points = 0;
}

/* merged sketch of family f's hours [h_from, h_to) into acc */
static void merge_hours(const struct analysis_family *fam, size_t h_from, size_t h_to, struct analysis_hll *acc)
{
	size_t h;

	if (!fam->clients)
		return;
	for (h = h_from; h < h_to; h++)
		if (fam->clients[h])
			analysis_hll_merge(acc, fam->clients[h]);
}

enum analysis_status analysis_series_build(const struct analysis_input *in, int bucket, enum analysis_unit unit,
					   struct analysis_series *out, char *err, size_t errlen)
{
	enum analysis_status st = analysis_input_check(in, err, errlen);
	int64_t b0, b1, h0 = an_floor(in->start, AN_HOUR);
	size_t nf = in->n_families, np, nh = analysis_input_hours(in), f, i;

	memset(out, 0, sizeof(*out));
	if (st != ANALYSIS_OK)
		return st;
	if (bucket != 60 && bucket != AN_HOUR && bucket != AN_DAY)
		return an_err(err, errlen, ANALYSIS_EINVAL, "bucket must be 1m, 1h or 1d");
	if (bucket < in->step)
		return an_err(err, errlen, ANALYSIS_EINVAL, "bucket finer than the data (%d s)", in->step);
	if (unit != ANALYSIS_UNIT_MESSAGES && bucket < AN_HOUR)
		return an_err(err, errlen, ANALYSIS_EINVAL, "%s are kept per hour: use a bucket of 1h or 1d",
			      analysis_unit_name(unit));
	b0 = an_floor(in->start, bucket);
	b1 = an_floor(in->end + bucket - 1, bucket);
	np = (size_t)((b1 - b0) / bucket);
	out->bucket = bucket;
	out->unit = unit;
	out->n_points = np;
	out->n_families = nf;
	out->t = xreallocarray(NULL, np, sizeof(int64_t));
	out->total = xcalloc(np, sizeof(double));
	out->by_family = xcalloc(nf * np > 0 ? nf * np : 1, sizeof(double));
	for (i = 0; i < np; i++)
		out->t[i] = b0 + (int64_t)i * bucket;

	if (unit == ANALYSIS_UNIT_MESSAGES) {
		size_t n = analysis_input_slots(in);

		for (f = 0; f < nf; f++) {
			const uint32_t *c = in->families[f].counts;
			double *row = out->by_family + f * np;

			for (i = 0; i < n; i++)
				row[(in->start + (int64_t)i * in->step - b0) / bucket] += c[i];
		}
	} else if (unit == ANALYSIS_UNIT_RECIPIENTS || unit == ANALYSIS_UNIT_BYTES) {
		for (f = 0; f < nf; f++) {
			const uint64_t *v = unit == ANALYSIS_UNIT_BYTES ? in->families[f].bytes
									: in->families[f].recipients;
			double *row = out->by_family + f * np;

			if (!v)
				continue;
			for (i = 0; i < nh; i++)
				row[(h0 + (int64_t)i * AN_HOUR - b0) / bucket] += (double)v[i];
		}
	} else {
		size_t per = (size_t)(bucket / AN_HOUR);

		for (i = 0; i < np; i++) {
			struct analysis_hll *all = analysis_hll_new();
			/* hours of this bucket, clipped to the input's hours */
			int64_t from = b0 + (int64_t)i * bucket;
			size_t hf = from <= h0 ? 0 : (size_t)((from - h0) / AN_HOUR);
			size_t ht = hf + per - (from < h0 ? (size_t)((h0 - from) / AN_HOUR) : 0);

			if (ht > nh)
				ht = nh;
			for (f = 0; f < nf; f++) {
				struct analysis_hll *acc = analysis_hll_new();

				merge_hours(&in->families[f], hf, ht, acc);
				out->by_family[f * np + i] = analysis_hll_estimate(acc);
				analysis_hll_merge(all, acc);
				analysis_hll_free(acc);
			}
			out->total[i] = analysis_hll_estimate(all);
			analysis_hll_free(all);
		}
		return ANALYSIS_OK;
	}
	for (f = 0; f < nf; f++)
		for (i = 0; i < np; i++)
			out->total[i] += out->by_family[f * np + i];
	return ANALYSIS_OK;
}

/* ------------------------------------------------------------------ */

void analysis_shares_free(struct analysis_shares *s)
{
	free(s->family);
	s->family = NULL;
	s->n_families = 0;
}

static double amount_of(const struct analysis_amounts *a, enum analysis_unit unit)
{
	switch (unit) {
	case ANALYSIS_UNIT_MESSAGES: return a->messages;
	case ANALYSIS_UNIT_RECIPIENTS: return a->recipients;
	case ANALYSIS_UNIT_BYTES: return a->bytes;
	case ANALYSIS_UNIT_CLIENTS: return a->clients;
	}
	panic("amount_of: unit %d", (int)unit);
}

enum analysis_status analysis_shares_compute(const struct analysis_input *in, enum analysis_unit unit,
					     struct analysis_shares *out, char *err, size_t errlen)
{
	enum analysis_status st = analysis_input_check(in, err, errlen);
	size_t n = 0, nh, f, i;
	struct analysis_hll *all;
	double tot;

	memset(out, 0, sizeof(*out));
	if (st != ANALYSIS_OK)
		return st;
	n = analysis_input_slots(in);
	nh = analysis_input_hours(in);
	out->unit = unit;
	out->n_families = in->n_families;
	out->family = xcalloc(in->n_families ? in->n_families : 1, sizeof(struct analysis_amounts));
	all = analysis_hll_new();
	for (f = 0; f < in->n_families; f++) {
		const struct analysis_family *fam = &in->families[f];
		struct analysis_amounts *a = &out->family[f];
		struct analysis_hll *acc = analysis_hll_new();
		uint64_t m = 0;

		for (i = 0; i < n; i++)
			m += fam->counts[i];
		a->messages = (double)m;
		for (i = 0; i < nh; i++) {
			if (fam->recipients)
				a->recipients += (double)fam->recipients[i];
			if (fam->bytes)
				a->bytes += (double)fam->bytes[i];
		}
		merge_hours(fam, 0, nh, acc);
		a->clients = analysis_hll_estimate(acc);
		analysis_hll_merge(all, acc);
		analysis_hll_free(acc);
		out->total.messages += a->messages;
		out->total.recipients += a->recipients;
		out->total.bytes += a->bytes;
	}
	out->total.clients = analysis_hll_estimate(all);
	analysis_hll_free(all);
	tot = amount_of(&out->total, unit);
	out->total.share = tot > 0 ? 1.0 : NAN;
	for (f = 0; f < in->n_families; f++)
		out->family[f].share = tot > 0 ? amount_of(&out->family[f], unit) / tot : NAN;
	return ANALYSIS_OK;
}

/* ------------------------------------------------------------------ */

void analysis_daily_free(struct analysis_daily *d)
{
	free(d->days);
	free(d->by_family);
	d->days = NULL;
	d->by_family = NULL;
	d->n_days = 0;
}

enum analysis_status analysis_daily_build(const struct analysis_input *in, struct analysis_daily *out, char *err,
					  size_t errlen)
{
	enum analysis_status st = analysis_input_check(in, err, errlen);
	int64_t d0, d1;
	size_t nd, nf = in->n_families, n, f, i;

	memset(out, 0, sizeof(*out));
	if (st != ANALYSIS_OK)
		return st;
	n = analysis_input_slots(in);
	d0 = an_floor(in->start, AN_DAY);
	d1 = an_floor(in->end + AN_DAY - 1, AN_DAY);
	nd = (size_t)((d1 - d0) / AN_DAY);
	out->n_days = nd;
	out->n_families = nf;
	out->days = xcalloc(nd, sizeof(struct analysis_day));
	out->by_family = xcalloc(nd * nf > 0 ? nd * nf : 1, sizeof(double));
	for (f = 0; f < nf; f++) {
		const uint32_t *c = in->families[f].counts;

		for (i = 0; i < n; i++) {
			size_t d = (size_t)((in->start + (int64_t)i * in->step - d0) / AN_DAY);

			out->by_family[d * nf + f] += c[i];
		}
	}
	for (i = 0; i < nd; i++) {
		struct analysis_day *day = &out->days[i];

		day->date = d0 + (int64_t)i * AN_DAY;
		day->partial = day->date < in->start || day->date + AN_DAY > in->end;
		for (f = 0; f < nf; f++)
			day->total += out->by_family[i * nf + f];
		day->change = (i > 0 && out->days[i - 1].total > 0)
				      ? (day->total - out->days[i - 1].total) / out->days[i - 1].total
				      : NAN;
	}
	return ANALYSIS_OK;
}
