/*
 * chart_axis.c - tick placement and labels for chart axes; see chart.h.
 *
 * Pure: no cairo, no I/O. The time axis picks the finest step of a fixed
 * ladder that keeps the tick count within what the caller can fit (the
 * renderer measures its labels); ticks fall on round UTC times (hours on
 * multiples of the step, weeks on Mondays, months on the first). The value
 * axis uses 1, 2, 5 x 10^k steps.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render/chart.h"
#include "util/timeutil.h"
#include "util/banned.h"

enum label_kind { LABEL_MINUTE, LABEL_DAY, LABEL_MONTH, LABEL_YEAR };

struct time_step {
	const char *name;
	int64_t secs;      /* fixed-length steps */
	int months;        /* calendar steps (secs == 0) */
	int64_t offset;    /* seconds from the epoch of an aligned tick */
	enum label_kind label;
};

#define DAY 86400
#define MONDAY (4 * DAY)   /* 1970-01-05, the first Monday after the epoch */

static const struct time_step time_steps[] = {
	{ "1min", 60, 0, 0, LABEL_MINUTE },
	{ "2min", 120, 0, 0, LABEL_MINUTE },
	{ "5min", 300, 0, 0, LABEL_MINUTE },
	{ "10min", 600, 0, 0, LABEL_MINUTE },
	{ "15min", 900, 0, 0, LABEL_MINUTE },
	{ "30min", 1800, 0, 0, LABEL_MINUTE },
	{ "1h", 3600, 0, 0, LABEL_MINUTE },
	{ "2h", 7200, 0, 0, LABEL_MINUTE },
	{ "3h", 10800, 0, 0, LABEL_MINUTE },
	{ "6h", 21600, 0, 0, LABEL_MINUTE },
	{ "12h", 43200, 0, 0, LABEL_MINUTE },
	{ "1d", DAY, 0, 0, LABEL_DAY },
	{ "2d", 2 * DAY, 0, 0, LABEL_DAY },
	{ "1w", 7 * DAY, 0, MONDAY, LABEL_DAY },
	{ "2w", 14 * DAY, 0, MONDAY, LABEL_DAY },
	{ "1mo", 0, 1, 0, LABEL_MONTH },
	{ "2mo", 0, 2, 0, LABEL_MONTH },
	{ "3mo", 0, 3, 0, LABEL_MONTH },
	{ "6mo", 0, 6, 0, LABEL_MONTH },
	{ "1y", 0, 12, 0, LABEL_YEAR },
	{ "2y", 0, 24, 0, LABEL_YEAR },
	{ "5y", 0, 60, 0, LABEL_YEAR },
	{ "10y", 0, 120, 0, LABEL_YEAR },
	{ "20y", 0, 240, 0, LABEL_YEAR },
	{ "50y", 0, 600, 0, LABEL_YEAR },
	{ "100y", 0, 1200, 0, LABEL_YEAR },
	{ "200y", 0, 2400, 0, LABEL_YEAR },
	{ "500y", 0, 6000, 0, LABEL_YEAR },
	{ "1000y", 0, 12000, 0, LABEL_YEAR },
	{ "2000y", 0, 24000, 0, LABEL_YEAR },
	{ "5000y", 0, 60000, 0, LABEL_YEAR },
};

static const char month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static void format_tick(int64_t t, enum label_kind kind, char *out, size_t len)
{
	int64_t days = floor_div(t, DAY);
	int64_t sod = t - days * DAY;
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	switch (kind) {
	case LABEL_MINUTE:
		snprintf(out, len, "%s %u %02d:%02d", month_names[m - 1], d,
			 (int)(sod / 3600), (int)(sod % 3600 / 60));
		break;
	case LABEL_DAY:
		snprintf(out, len, "%s %u", month_names[m - 1], d);
		break;
	case LABEL_MONTH:
		snprintf(out, len, "%04d-%02u", y, m);
		break;
	case LABEL_YEAR:
		snprintf(out, len, "%d", y);
		break;
	}
}

/* The months since year 0 of a time (floored to its month). */
static int64_t month_index(int64_t t)
{
	int y;
	unsigned m, d;

	civil_from_days(floor_div(t, DAY), &y, &m, &d);
	return (int64_t)y * 12 + (m - 1);
}

static int64_t month_start(int64_t idx)
{
	int64_t y = floor_div(idx, 12);
	unsigned m = (unsigned)(idx - y * 12) + 1;

	return days_from_civil(y, m, 1) * DAY;
}

/*
 * step_ticks: the ticks of one step in [from, to], at most cap of them
 * stored; returns how many there are, counting stops at cap + 1.
 */
static size_t step_ticks(const struct time_step *s, int64_t from, int64_t to,
			 int64_t *t, size_t cap)
{
	size_t n = 0;

	if (s->secs > 0) {
		int64_t k = floor_div(from - s->offset, s->secs);
		int64_t x = k * s->secs + s->offset;

		if (x < from)
			x += s->secs;
		for (; x <= to && n <= cap; x += s->secs) {
			if (n < cap)
				t[n] = x;
			n++;
		}
	} else {
		int64_t idx = month_index(from);
		int64_t x;

		idx = floor_div(idx, s->months) * s->months;
		for (;; idx += s->months) {
			x = month_start(idx);
			if (x < from)
				continue;
			if (x > to || n > cap)
				break;
			if (n < cap)
				t[n] = x;
			n++;
		}
	}
	return n;
}

void chart_time_ticks(int64_t from, int64_t to, int max_ticks, struct chart_time_ticks *out)
{
	size_t i, n, cap;
	const struct time_step *s = NULL;

	if (max_ticks < 2)
		max_ticks = 2;
	if (max_ticks > CHART_TICKS_MAX)
		max_ticks = CHART_TICKS_MAX;
	cap = (size_t)max_ticks;
	memset(out, 0, sizeof(*out));
	out->step = time_steps[0].name;
	if (to < from)
		return;
	/* Times beyond the supported calendar would overflow the month ladder. */
	if (from < -CHART_TIME_MAX || to > CHART_TIME_MAX)
		return;
	for (i = 0; i < sizeof(time_steps) / sizeof(time_steps[0]); i++) {
		n = step_ticks(&time_steps[i], from, to, out->t, cap);
		if (n <= cap) {
			s = &time_steps[i];
			break;
		}
	}
	if (!s)
		return;
	out->step = s->name;
	out->n = n;
	for (i = 0; i < n; i++)
		format_tick(out->t[i], s->label, out->label[i], sizeof(out->label[i]));
}

/* ---- value axis ---- */

static double nice_step(double lo, double hi, int max_ticks)
{
	double raw = (hi - lo) / (max_ticks - 1);
	double p = pow(10.0, floor(log10(raw)) - 1);
	static const double mult[] = { 1, 2, 5 };
	int i, k;

	for (k = 0; k < 40; k++, p *= 10) {
		for (i = 0; i < 3; i++) {
			double s = mult[i] * p;
			double n = ceil(hi / s - 1e-9) - floor(lo / s + 1e-9) + 1;

			if (n <= max_ticks)
				return s;
		}
	}
	return hi - lo;
}

void chart_value_ticks(double lo, double hi, int max_ticks, bool percent,
		       struct chart_value_ticks *out)
{
	double first, last, amax;
	int64_t k, k0, k1;

	if (max_ticks < 2)
		max_ticks = 2;
	if (max_ticks > CHART_TICKS_MAX)
		max_ticks = CHART_TICKS_MAX;
	memset(out, 0, sizeof(*out));
	if (!isfinite(lo))
		lo = 0;
	if (!isfinite(hi) || hi <= lo)
		hi = lo + 1;
	/* Keep k*step exact enough: refuse ranges a double cannot split. */
	if (hi - lo < fabs(hi) * 1e-12)
		hi = lo + fabs(lo) * 1e-6 + 1e-300;
	out->step = nice_step(lo, hi, max_ticks);
	k0 = (int64_t)floor(lo / out->step + 1e-9);
	k1 = (int64_t)ceil(hi / out->step - 1e-9);
	first = (double)k0 * out->step;
	last = (double)k1 * out->step;
	out->lo = first;
	out->hi = last;
	amax = fmax(fabs(first), fabs(last));
	for (k = k0; k <= k1 && out->n < CHART_TICKS_MAX; k++) {
		double v = (double)k * out->step;

		if (fabs(v) < out->step * 1e-9)
			v = 0;
		out->v[out->n] = v;
		chart_format_value(v, out->step, amax, percent, out->label[out->n],
				   sizeof(out->label[out->n]));
		out->n++;
	}
}

/* decimals: the fewest digits after the point that show multiples of step exactly. */
static int decimals(double step)
{
	int d;

	if (!(step > 0) || !isfinite(step))
		return 0;
	for (d = 0; d < 12; d++) {
		double x = step * pow(10, d);

		if (fabs(x - round(x)) <= 1e-6 * x)
			return d;
	}
	return 12;
}

/* group: "1234567.5" -> "1,234,567.5". */
static void group_thousands(const char *in, char *out, size_t len)
{
	const char *p = in, *dot;
	size_t digits, o = 0, i;

	if (len == 0)
		return;
	if (*p == '-') {
		if (o + 1 < len)
			out[o++] = '-';
		p++;
	}
	dot = strchr(p, '.');
	digits = dot ? (size_t)(dot - p) : strlen(p);
	for (i = 0; i < digits; i++) {
		if (i > 0 && (digits - i) % 3 == 0 && o + 1 < len)
			out[o++] = ',';
		if (o + 1 < len)
			out[o++] = p[i];
	}
	for (p += digits; *p && o + 1 < len; p++)
		out[o++] = *p;
	out[o] = '\0';
}

void chart_format_value(double v, double step, double axis_max, bool percent,
			char *out, size_t len)
{
	char tmp[64];
	double scale = 1;
	const char *suffix = "";

	if (len == 0)
		return;
	if (!isfinite(v)) {
		snprintf(out, len, "%s", "?");
		return;
	}
	if (fabs(v) < fabs(step) * 1e-9) {
		/* zero reads best bare, whatever the other labels' decimals */
		snprintf(out, len, "%s", percent ? "0 %" : "0");
		return;
	}
	if (percent) {
		snprintf(tmp, sizeof(tmp), "%.*f", decimals(step), v);
		snprintf(out, len, "%s %%", tmp);
		return;
	}
	axis_max = fabs(axis_max);
	if (axis_max >= 1e6) {
		scale = 1e6;
		suffix = "M";
	} else if (axis_max >= 1e4) {
		scale = 1e3;
		suffix = "k";
	}
	snprintf(tmp, sizeof(tmp), "%.*f", decimals(step / scale), v / scale);
	if (strcmp(tmp, "-0") == 0)
		snprintf(tmp, sizeof(tmp), "0");
	group_thousands(tmp, out, len);
	if (v != 0 && *suffix) {
		size_t l = strlen(out);

		snprintf(out + l, len - l, "%s", suffix);
	}
}
