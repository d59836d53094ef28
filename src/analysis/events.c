/*
 * events.c - events offline: the online detector fed a whole period, then
 * each event refined with the data after it, and the impact of each
 * cessation on total spam.
 *
 * Refinement keeps the detector's decision (which events, of which type)
 * and re-estimates `at` with the same two-level change point over a longer
 * window (24 h after a cessation or a return, 48 h after a level change,
 * never past the family's next event), the rates over those windows, and a
 * cessation's confidence from its whole silence.
 *
 * A second pass runs when the first one's events reveal a weekly rhythm
 * the detector did not start from (rhythm_after): the whole of it again,
 * those families' rhythms held from the start.
 *
 * Impact (docs/analysis.md): day over day, the UTC day after the event's
 * day against the event's day (both wholly inside the period); against the
 * baseline, the total O of the 24 h after `at` against the same had the
 * family sent its usual messages of those hours, the others as they were:
 * O / (O - F + B) - 1, F its own messages there, B the geometric mean of
 * its messages in the same hours of up to 7 days before (impact_of says
 * which days); the 95 % interval puts B x exp(+-q) in its place, q from the
 * t quantile of the baseline days' spread (a prediction interval for one
 * more day) and B's counting noise.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "analysis/internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define REFINE_AFTER_H 24
#define ASLEEP 0.05                /* of the profile's mean: a slot of its sleep */
#define AWAKE_ARRIVALS 10          /* a bin's worth learnt: see awake_profile */
#define AWAKE_HALF_S (30 * 60)     /* averaged over this much either side at most */
#define REFINE_LEVEL_AFTER_H 72
#define REFINE_LEVEL_BEFORE_H 24   /* the change point may move this much earlier */
#define REFINE_LEVEL_LATER_H 36    /* or this much later */
#define SHAPE_CHANGE_S (24 * AN_HOUR)  /* a change back this soon may be the first one's shape */
#define WEEK_AGAIN_S (3 * AN_HOUR) /* a change a week later, this near in time of week: the same */
#define BASELINE_DAYS 7

struct ctx {
	const struct analysis_input *in;
	const struct analysis_detector_config *cfg;
	int64_t n_slots, spd, spb, sph;
	unsigned char *down;    /* [n_slots]: 1 in the input's gaps; NULL when none */
};

/* slot i lies in a gap: nothing was watched, nothing expected */
static bool is_down(const struct ctx *c, int64_t i)
{
	return c->down && c->down[i];
}

static int64_t slot_of(const struct ctx *c, int64_t t)
{
	return (t - c->in->start) / c->in->step;
}

static int bin_of_index(const struct ctx *c, int64_t i)
{
	int64_t abs = c->in->start / c->in->step + i;
	int64_t r = abs % c->spd;

	return (int)((r < 0 ? r + c->spd : r) / c->spb);
}

/* the weekly factor of slot i's day, as the detector had it */
static double weekly(const struct ctx *c, const double *wf, int64_t i)
{
	return wf[an_weekday(an_floor(c->in->start + i * c->in->step, AN_DAY) / AN_DAY)];
}

/* the family's messages in slots [from, to); none in a gap: what was stored
 * there (an archive of the downtime) is counted in volume, not in events */
static double count_sum(const struct ctx *c, size_t f, int64_t from, int64_t to)
{
	const uint32_t *x = c->in->families[f].counts;
	double s = 0;
	int64_t i;

	if (from < 0)
		from = 0;
	if (to > c->n_slots)
		to = c->n_slots;
	for (i = from; i < to; i++)
		if (!is_down(c, i))
			s += x[i];
	return s;
}

/* the mean of a profile: expected messages per slot over the day */
static double profile_mean(const struct ctx *c, const float *prof)
{
	int b, bins = (int)(c->spd / c->spb);
	double mean = 0;

	for (b = 0; b < bins; b++)
		mean += prof[b];
	return mean / bins;
}

/*
 * x and mu over slots [w0, w1) of family f; slots where less than `asleep`
 * is expected are left out (nothing expected, nothing counted).
 */
static void window(const struct ctx *c, size_t f, const float *prof, const double *wf, int64_t w0, int64_t w1,
		   double asleep, double **x, double **mu)
{
	size_t n = (size_t)(w1 - w0), i;

	*x = xmalloc((n ? n : 1) * sizeof(double));
	*mu = xmalloc((n ? n : 1) * sizeof(double));
	for (i = 0; i < n; i++) {
		bool down = is_down(c, w0 + (int64_t)i);

		/* a gap: nothing watched, nothing expected, nothing counted */
		(*x)[i] = down ? 0 : c->in->families[f].counts[w0 + (int64_t)i];
		(*mu)[i] = down ? 0 : prof[bin_of_index(c, w0 + (int64_t)i)] * weekly(c, wf, w0 + (int64_t)i);
		if ((*mu)[i] < asleep)
			(*x)[i] = (*mu)[i] = 0;
		if ((*mu)[i] <= 0)
			(*mu)[i] = 1e-9;
	}
}

/* the index of the next event of ev[i]'s family, n when none */
static size_t next_of_family(const struct analysis_event *ev, size_t n, size_t i)
{
	size_t j;

	for (j = i + 1; j < n && ev[j].family != ev[i].family; j++)
		;
	return j;
}

/* the next event of ev[i]'s family (its at), or the period end */
static int64_t next_at(const struct analysis_event *ev, size_t n, size_t i, int64_t end)
{
	size_t j = next_of_family(ev, n, i);

	return j < n ? ev[j].at : end;
}

/* surprise of the silence [w0, w1) with its stragglers, under the model
 * the detector used (blocks of one hour) */
static double silence_surprise(const struct ctx *c, size_t f, const struct an_event_extra *ex, int64_t w0, int64_t w1)
{
	const uint32_t *x = c->in->families[f].counts;
	struct an_sumsq sq = { 0 }, sq_b = { 0 };
	double s = 0, lam = 0, lb2 = 0, lam_b = 0, inv, clump = ex->clump >= 1 ? ex->clump : 1;
	unsigned long obs = 0;
	int64_t i, block = INT64_MIN;

	for (i = w0; i < w1; i++) {
		int64_t t = c->in->start + i * c->in->step, b = (c->in->start / c->in->step + i) / c->sph;
		double mu;

		if (is_down(c, i))
			continue;
		mu = ex->level * ex->cess[bin_of_index(c, i)] * weekly(c, ex->wf, i);

		if (b != block) {
			if (lam_b > 0)
				s += an_nb_zero_surprise(lam_b / clump, ex->inv_kh + an_sumsq_excess(&sq_b, &ex->disp) /
							 (lam_b * lam_b));
			lb2 += lam_b * lam_b;
			lam_b = 0;
			memset(&sq_b, 0, sizeof(sq_b));
			block = b;
		}
		lam_b += mu;
		an_sumsq_add(&sq_b, t, mu);
		lam += mu;
		an_sumsq_add(&sq, t, mu);
		obs += x[i];
	}
	if (lam_b > 0)
		s += an_nb_zero_surprise(lam_b / clump, ex->inv_kh + an_sumsq_excess(&sq_b, &ex->disp) /
					 (lam_b * lam_b));
	lb2 += lam_b * lam_b;
	if (obs > 0 && lam > 0) {
		inv = (lb2 * ex->inv_kh + an_sumsq_excess(&sq, &ex->disp)) / (lam * lam);
		s -= an_nb_tail_gain(obs, lam / clump, inv);
	}
	return s > 0 ? s : 0;
}

/* the level (count over profile) of family f over slots [a, b); its
 * messages in *o and, when e is not NULL, their expectation in *e */
static double level_between(const struct ctx *c, size_t f, const float *prof, const double *wf, int64_t a, int64_t b,
			    double *o, double *e)
{
	double expected = 0;
	int64_t i;

	*o = count_sum(c, f, a, b);
	for (i = a < 0 ? 0 : a; i < b && i < c->n_slots; i++)
		if (!is_down(c, i))
			expected += prof[bin_of_index(c, i)] * weekly(c, wf, i);
	if (e)
		*e = expected;
	return expected > 0 ? *o / expected : 0;
}

/*
 * The profile a cessation's split tells sleep by and expects from. A
 * sparse family's bins are noise: learnt from a week, the trimmed mean of
 * a family that sends a session an hour leaves most 10-minute bins empty,
 * and an empty bin reads as sleep (its last sessions were then left out
 * of the split). Its profile is averaged over as many neighbouring bins
 * (up to AWAKE_HALF_S either side) as it takes for the mean bin to have
 * brought AWAKE_ARRIVALS arrivals over the days learnt; a busy family
 * keeps its own bins, and the sharp edges of its sleep.
 */
static float *awake_profile(const struct ctx *c, const struct an_event_extra *ex)
{
	int bins = (int)(c->spd / c->spb), b, j, k = 0;
	int kmax = (int)(AWAKE_HALF_S / (c->spb * c->in->step));
	double per_bin = profile_mean(c, ex->profile) * (double)c->spb * (ex->days > 0 ? ex->days : 1) /
			 (ex->clump >= 1 ? ex->clump : 1);
	float *p = xmalloc((size_t)bins * sizeof(float));

	while (k < kmax && k < bins / 2 && (2 * k + 1) * per_bin < AWAKE_ARRIVALS)
		k++;
	for (b = 0; b < bins; b++) {
		double s = 0;

		for (j = -k; j <= k; j++)
			s += ex->profile[((b + j) % bins + bins) % bins];
		p[b] = (float)(s / (2 * k + 1));
	}
	return p;
}

/*
 * The family's sleep is left out of a cessation's split, but a sleep that
 * came late that day holds its last messages. Through the slots of its
 * sleep right after `at` (up to w1), the end e that best splits them into
 * the rate of the hour before `at` and then the stragglers' (the cease
 * fraction of it), with fixed levels: e when that beats ending at `at` by
 * log(1 / cease_fraction) or more (a straggler alone never does), else at.
 * asleep: the expectation under which the split's window left a slot out.
 */
static int64_t last_in_sleep(const struct ctx *c, size_t f, const struct an_event_extra *ex, const float *prof,
			     int64_t at, int64_t w1, double asleep)
{
	const uint32_t *x = c->in->families[f].counts;
	double frac = c->cfg->cease_fraction;
	int64_t k0 = at + 1 - c->sph < 0 ? 0 : at + 1 - c->sph, k, best_k = at;
	double r = count_sum(c, f, k0, at + 1) / (double)(at + 1 - k0), gain, cum = 0, best = 0;

	if (r <= 0 || frac <= 0)
		return at;
	gain = -log(frac);
	for (k = at + 1; k < w1 && !is_down(c, k); k++) {
		if (prof[bin_of_index(c, k)] * weekly(c, ex->wf, k) >= asleep)
			break;   /* awake again: the split saw these */
		cum += x[k] * gain - r * (1 - frac);
		if (x[k] && cum > best) {
			best = cum;
			best_k = k;
		}
	}
	return best >= gain ? best_k : at;
}

/*
 * One message alone after `at`, then nothing for the rest of the window
 * (an hour at least): a straggler, or the family's last message after a
 * lull? Two readings of the same minutes, weighed by their likelihoods:
 *   last:      the family, still sending, was silent from at to the lone
 *              message (the lull's surprise s under its bursts), and sent
 *              in that slot (1 - e^-mu);
 *   straggler: after `at`, stragglers at the rate that best explains one
 *              in the window of W slots: that one message in that slot
 *              is e^-1 / W, wherever it falls.
 * Stragglers that stop after one, right after the fall, are unlikely; a
 * family's lull is not, when it bursts by minutes. Only a lull while the
 * family is awake: one message after its sleep, then nothing, reads as
 * well as a straggler (bench/events with stragglers at 1 %, seed 37: a
 * takedown at 16:50 before a night's sleep, one straggler on waking).
 */
static int64_t lone_last(const struct ctx *c, size_t f, const struct an_event_extra *ex, const float *prof,
			 int64_t at, int64_t w1, double asleep)
{
	const uint32_t *x = c->in->families[f].counts;
	int64_t k, lone = -1;
	double s, mu;

	for (k = at + 1; k < w1; k++) {
		if (!x[k])
			continue;
		if (lone >= 0 || x[k] > 1)
			return at;
		lone = k;
	}
	if (lone < 0 || w1 - lone < c->sph)
		return at;
	/* a message after the family's sleep is no lull's end: a straggler
	 * keeps its hours as well as the family would */
	for (k = at + 1; k < lone; k++)
		if (prof[bin_of_index(c, k)] * weekly(c, ex->wf, k) < asleep)
			return at;
	s = silence_surprise(c, f, ex, at + 1, lone);
	mu = ex->level * ex->profile[bin_of_index(c, lone)] * weekly(c, ex->wf, lone);
	if (mu <= 0)
		return at;
	return -s + log(-expm1(-mu)) > -1 - log((double)(w1 - at - 1)) ? lone : at;
}

static void refine_ceased(const struct ctx *c, struct analysis_event *ev, const struct an_event_extra *ex,
			  int64_t limit)
{
	int64_t a = slot_of(c, ex->anchor), before = 6 * c->sph, w0, w1, at;
	double *x, *mu, mean = profile_mean(c, ex->profile), asleep, s;
	float *awake;
	size_t cp, n;

	if (mean > 0 && 100 / mean > (double)before)
		before = (int64_t)(100 / mean);
	if (before > 24 * c->sph)
		before = 24 * c->sph;
	w0 = a - before < 0 ? 0 : a - before;
	/* stragglers after the fall end the silence early: reach back, an hour
	 * at a time, to where the family was still sending */
	{
		int64_t floor = a - AN_REACH_BACK_H * c->sph < 0 ? 0 : a - AN_REACH_BACK_H * c->sph;
		double o, e;

		while (w0 > floor) {
			level_between(c, ev->family, ex->profile, ex->wf, w0, a, &o, &e);
			if (an_still_sending(o, e))
				break;
			w0 = w0 - c->sph < floor ? floor : w0 - c->sph;
		}
	}
	w1 = a + REFINE_AFTER_H * c->sph;
	if (w1 > slot_of(c, limit))
		w1 = slot_of(c, limit);
	if (w1 <= a)
		w1 = a + 1 <= c->n_slots ? a + 1 : c->n_slots;
	if (w1 <= w0 + 1 || a <= w0)
		return;
	/* stragglers do not keep the family's hours: one in its sleep would
	 * fit only a family still sending, so its sleep is left out */
	asleep = ASLEEP * mean;
	awake = awake_profile(c, ex);
	window(c, ev->family, awake, ex->wf, w0, w1, asleep, &x, &mu);
	n = (size_t)(w1 - w0);
	cp = an_change_point_quiet(x, mu, n, 1, (size_t)(a - w0), 2 * c->cfg->cease_fraction, true);
	at = w0 + (int64_t)cp - 1;
	while (at > w0 && x[at - w0] == 0)
		at--;
	at = w0 + (int64_t)an_cease_last((size_t)(at - w0), x, mu, n, c->cfg->cease_fraction);
	free(x);
	free(mu);
	at = last_in_sleep(c, ev->family, ex, awake, at, w1, asleep);
	at = lone_last(c, ev->family, ex, awake, at, w1, asleep);
	free(awake);
	if (c->in->families[ev->family].counts[at] == 0)
		return;
	ev->at = c->in->start + at * c->in->step;
	{
		int64_t k = at - 6 * c->sph + 1 < 0 ? 0 : at - 6 * c->sph + 1;

		ev->before_rate_per_hour = count_sum(c, ev->family, k, at + 1) / ((double)(at + 1 - k) / c->sph);
	}
	ev->after_rate_per_hour = w1 > at + 1 ? count_sum(c, ev->family, at + 1, w1) / ((double)(w1 - at - 1) / c->sph)
					      : 0;
	s = silence_surprise(c, ev->family, ex, at + 1, w1);
	{
		double conf = 1 - c->cfg->false_alarms_per_year * exp(ex->s_req - s);

		if (conf > ev->confidence)
			ev->confidence = conf > 1 ? 1 : conf;
	}
}

static void refine_resumed(const struct ctx *c, struct analysis_event *ev, const struct an_event_extra *ex,
			   int64_t limit)
{
	int64_t w0 = slot_of(c, ex->anchor) + 1, w1 = slot_of(c, ev->at) + REFINE_AFTER_H * c->sph, at;
	double *x, *mu;
	size_t cp, n;

	if (w1 > slot_of(c, limit))
		w1 = slot_of(c, limit);
	if (w0 < 0)
		w0 = 0;
	if (w1 <= w0 + 1)
		return;
	window(c, ev->family, ex->profile, ex->wf, w0, w1, 0, &x, &mu);
	n = (size_t)(w1 - w0);
	cp = an_change_point_quiet(x, mu, n, 0, n - 1, 2 * c->cfg->cease_fraction, false);
	at = w0 + (int64_t)cp;
	while (at < w1 - 1 && x[at - w0] == 0)
		at++;
	/* a return that begins in a lull (a burst's low rate) sits on the
	 * quiet side of the split: its first message is where the messages up
	 * to the split are least likely to be stragglers */
	at = w0 + (int64_t)an_scan_stragglers(x, mu, (size_t)(at - w0), 0, c->cfg->cease_fraction, NULL);
	/* and messages bunched before it, after a silence without stragglers,
	 * are the return's first */
	if (at > w0) {
		double lr;
		size_t k = an_scan_bunched(x, mu, (size_t)(at - w0) - 1, 0, c->cfg->cease_fraction, &lr);

		if (lr >= AN_BUNCHED_LR)
			at = w0 + (int64_t)k;
	}
	free(x);
	free(mu);
	if (c->in->families[ev->family].counts[at] == 0)
		return;
	ev->at = c->in->start + at * c->in->step;
	ev->before_rate_per_hour = at > w0 ? count_sum(c, ev->family, w0, at) / ((double)(at - w0) / c->sph) : 0;
	ev->after_rate_per_hour = count_sum(c, ev->family, at, w1) / ((double)(w1 - at) / c->sph);
}

/*
 * A change of level while the family sleeps shows only when it wakes: any
 * hour of its sleep splits the counts as well as another. The split is
 * put in the middle of the sleep it borders (hours expecting under
 * ASLEEP of the mean hour), not at one end of it.
 */
static size_t mid_of_sleep(const double *he, size_t nh, size_t split)
{
	double mean = 0, asleep;
	size_t from = split, to = split, i;

	for (i = 0; i < nh; i++)
		mean += he[i];
	asleep = ASLEEP * mean / (double)nh;
	while (from > 0 && he[from - 1] < asleep)
		from--;
	while (to < nh && he[to] < asleep)
		to++;
	return from == to ? split : from + (to - from) / 2;
}

static void refine_level(const struct ctx *c, struct analysis_event *ev, const struct an_event_extra *ex,
			 int64_t limit)
{
	int64_t minh = c->cfg->level_min_hours, h0, h1, anchor, k, best_c;
	int64_t in_h0 = c->in->start / AN_HOUR;  /* hour index of slot 0's hour */
	double *hx, *he, o1 = 0, e1 = 0, o2 = 0, e2 = 0, a, b;
	size_t nh, i, lo, hi;

	if (c->in->start % AN_HOUR != 0)
		return;   /* hours must line up with slots; keep the online estimate */
	anchor = ex->anchor / AN_HOUR;
	h0 = ex->pre_from / AN_HOUR;
	h1 = anchor + REFINE_LEVEL_AFTER_H;           /* exclusive */
	if (h1 > limit / AN_HOUR)
		h1 = limit / AN_HOUR;
	if (h1 > c->in->end / AN_HOUR)
		h1 = c->in->end / AN_HOUR;
	if (h0 < in_h0)
		h0 = in_h0;
	if (h1 - h0 < 2 * minh || anchor <= h0 || anchor >= h1)
		return;
	nh = (size_t)(h1 - h0);
	hx = xcalloc(nh, sizeof(double));
	he = xcalloc(nh, sizeof(double));
	for (i = 0; i < nh; i++) {
		int64_t s0 = (h0 + (int64_t)i - in_h0) * c->sph;

		for (k = s0; k < s0 + c->sph; k++)
			if (!is_down(c, k)) {
				hx[i] += c->in->families[ev->family].counts[k];
				he[i] += ex->profile[bin_of_index(c, k)] * weekly(c, ex->wf, k);
			}
	}
	/* the two-level change point of the hourly counts, within a day of the
	 * online estimate, with at least minh hours on either side */
	lo = anchor - REFINE_LEVEL_BEFORE_H - h0 > minh ? (size_t)(anchor - REFINE_LEVEL_BEFORE_H - h0) : (size_t)minh;
	hi = (size_t)(anchor + REFINE_LEVEL_LATER_H - h0);
	if (hi > nh - (size_t)minh)
		hi = nh - (size_t)minh;
	best_c = h0 + (int64_t)an_change_point(hx, he, nh, lo, hi);
	best_c = h0 + (int64_t)mid_of_sleep(he, nh, (size_t)(best_c - h0));
	for (i = 0; i < nh; i++) {
		if (h0 + (int64_t)i < best_c) {
			o1 += hx[i];
			e1 += he[i];
		} else {
			o2 += hx[i];
			e2 += he[i];
		}
	}
	free(hx);
	free(he);
	if (e1 <= 0 || e2 <= 0 || o1 <= 0 || o2 <= 0)
		return;
	a = o1 / e1;
	b = o2 / e2;
	/* the two levels the split found are the change: when they differ by
	 * less than half of level_change (or the other way), the detector's
	 * change was the noise of the hours it weighed, not a level that
	 * moved (rustock-2011 seed 20: lethic's "drop" on its ninth day,
	 * with the days around it at the same level) */
	if (ev->type == ANALYSIS_EVENT_DROP ? b > (1 - c->cfg->level_change / 2) * a
					    : b < (1 + c->cfg->level_change / 2) * a) {
		ev->family = SIZE_MAX;
		return;
	}
	/* to the slot, within +-1 h, levels fixed */
	{
		int64_t s0 = (best_c - in_h0) * c->sph - c->sph, s1 = (best_c - in_h0) * c->sph + c->sph;
		int64_t best_k = (best_c - in_h0) * c->sph;
		double cum = 0, best_v = -INFINITY, la = log(a), lb = log(b);

		if (s0 < 0)
			s0 = 0;
		if (s1 > c->n_slots - 1)
			s1 = c->n_slots - 1;
		for (k = s0; k <= s1; k++) {
			bool down = is_down(c, k);
			double x = down ? 0 : c->in->families[ev->family].counts[k],
			       mu = down ? 0 : ex->profile[bin_of_index(c, k)] * weekly(c, ex->wf, k);

			if (cum > best_v) {
				best_v = cum;
				best_k = k;
			}
			cum += x * (la - lb) - (a - b) * mu;
		}
		ev->at = c->in->start + best_k * c->in->step;
		ev->before_rate_per_hour = count_sum(c, ev->family, (h0 - in_h0) * c->sph, best_k) /
					   ((double)(best_k - (h0 - in_h0) * c->sph) / c->sph);
		ev->after_rate_per_hour = count_sum(c, ev->family, best_k, (h1 - in_h0) * c->sph) /
					  ((double)((h1 - in_h0) * c->sph - best_k) / c->sph);
	}
}

/* ------------------------------------------------------------------ */
/* impact */

static double total_between(const struct analysis_input *in, const double *tot, int64_t from, int64_t to)
{
	int64_t i0 = (from - in->start) / in->step, i1 = (to - in->start) / in->step, i;
	double s = 0;

	for (i = i0; i < i1; i++)
		s += tot[i];
	return s;
}

/* [from, to) meets one of the input's gaps: its total is not what was sent */
static bool meets_gap(const struct analysis_input *in, int64_t from, int64_t to)
{
	size_t g;

	for (g = 0; g < in->n_gaps; g++)
		if (in->gaps[g].from < to && in->gaps[g].to > from)
			return true;
	return false;
}

static double family_between(const struct analysis_input *in, size_t f, int64_t from, int64_t to)
{
	int64_t i0 = (from - in->start) / in->step, i1 = (to - in->start) / in->step, i;
	const uint32_t *c = in->families[f].counts;
	double s = 0;

	for (i = i0; i < i1; i++)
		s += c[i];
	return s;
}

/* What the family's earlier events say about its baseline days: the
 * silences it kept (a day in one is not what it usually sends) and when
 * its level last changed (days since then are what it sent last). */
struct impact_history {
	const struct analysis_gap *silences;
	size_t n_silences;
	int64_t since;
};

static bool meets_silence(const struct impact_history *h, int64_t from, int64_t to)
{
	size_t i;

	for (i = 0; h && i < h->n_silences; i++)
		if (h->silences[i].from < to && h->silences[i].to > from)
			return true;
	return false;
}

/*
 * impact_of: the impact of family f's cessation at `at` on the total (tot,
 * per slot). Day over day: the totals of the day after and the day of the
 * event. Against the baseline: the total O of the 24 h after against the
 * same total had the family sent what it usually sends in those hours, the
 * others as they were: O / (O - F + B) - 1, F the family's messages in
 * those hours (stragglers, a return), B the geometric mean of its messages
 * in the same hours of up to BASELINE_DAYS days before (none in a gap or
 * in a silence of its own; only those since its level last changed when
 * there are two of them). The cessation's effect is told from the other
 * families' own changes that way (a holiday when several pause at once),
 * which a baseline of the total would count to it. The interval carries
 * the spread of the baseline days (a prediction for one more day) and
 * B's counting noise. docs/analysis.md gives the reasons.
 */
static void impact_of(const struct analysis_input *in, const double *tot, size_t f, int64_t at,
		      const struct impact_history *h, struct analysis_impact *out)
{
	int64_t day = an_floor(at, AN_DAY), from = at + in->step, len, to;
	double o, fa, b, y[BASELINE_DAYS], cnt[BASELINE_DAYS], mean = 0, var = 0, q;
	int64_t bf[BASELINE_DAYS];
	int n = 0, k = 0, m = 0, i;
	bool recent;

	out->total_change_day_over_day = out->total_change_vs_baseline = NAN;
	out->lo95 = out->hi95 = out->hours = NAN;
	if (day >= in->start && day + 2 * AN_DAY <= in->end && !meets_gap(in, day, day + 2 * AN_DAY)) {
		double d0 = total_between(in, tot, day, day + AN_DAY);
		double d1 = total_between(in, tot, day + AN_DAY, day + 2 * AN_DAY);

		if (d0 > 0)
			out->total_change_day_over_day = (d1 - d0) / d0;
	}
	to = from + AN_DAY;
	if (to > in->end)
		to = in->end;
	len = to - from;
	if (len < 6 * AN_HOUR || meets_gap(in, from, to))
		return;
	o = total_between(in, tot, from, to);
	fa = family_between(in, f, from, to);
	for (i = 1; i <= BASELINE_DAYS; i++) {
		int64_t t = from - (int64_t)i * AN_DAY;

		if (t < in->start)
			break;
		if (meets_gap(in, t, t + len) || meets_silence(h, t, t + len))
			continue;
		cnt[n] = family_between(in, f, t, t + len);
		if (cnt[n] <= 0)
			continue;
		bf[n++] = t;
		if (h && t >= h->since)
			k++;
	}
	/* the days since the level last changed, when there are two */
	recent = k >= 2;
	for (i = 0; i < n; i++)
		if (!recent || bf[i] >= h->since)
			y[m++] = log(cnt[i]);
	if (m < 2)
		return;   /* o may be 0: the family was all there was, -100 % */
	for (i = 0; i < m; i++)
		mean += y[i] / m;
	for (i = 0; i < m; i++)
		var += (y[i] - mean) * (y[i] - mean) / (m - 1);
	b = exp(mean);
	out->hours = (double)len / AN_HOUR;
	out->total_change_vs_baseline = o / (o - fa + b) - 1;
	q = gsl_cdf_tdist_Pinv(0.975, m - 1) * sqrt(var * (1 + 1.0 / m) + 1 / b);
	out->lo95 = o / (o - fa + b * exp(q)) - 1;
	out->hi95 = o / (o - fa + b * exp(-q)) - 1;
}

/* impact_with_events: impact_of, the history read from ev[0..n) (sorted by
 * time; only family f's events before at count) into sil (room for n). */
static void impact_with_events(const struct analysis_input *in, const double *tot, size_t f, int64_t at,
			       const struct analysis_event *ev, size_t n, struct analysis_gap *sil,
			       struct analysis_impact *out)
{
	struct impact_history h = { .silences = sil, .n_silences = 0, .since = in->start };
	size_t j;

	for (j = 0; j < n && ev[j].at < at; j++) {
		if (ev[j].family != f)
			continue;
		if (ev[j].type == ANALYSIS_EVENT_CEASED) {
			sil[h.n_silences].from = ev[j].at + in->step;
			sil[h.n_silences++].to = at;   /* until its return, below */
		} else {
			if (ev[j].type == ANALYSIS_EVENT_RESUMED && h.n_silences)
				sil[h.n_silences - 1].to = ev[j].at;
			h.since = ev[j].at;
		}
	}
	impact_of(in, tot, f, at, &h, out);
}

int64_t analysis_event_minute(enum analysis_event_type type, int64_t at, int slot, const uint32_t *minutes,
			      int64_t start, size_t n)
{
	int64_t lo = (at - slot - start) / 60, hi = (at + 2 * (int64_t)slot - start) / 60, i, m, best_m = -1;
	double total = 0, before = 0, best = -INFINITY;
	bool ceased = type == ANALYSIS_EVENT_CEASED;

	if (!ceased && type != ANALYSIS_EVENT_RESUMED)
		return at;
	if (lo < 0)
		lo = 0;
	if (hi > (int64_t)n)
		hi = (int64_t)n;
	if (hi - lo < 2)
		return at;
	for (i = lo; i < hi; i++)
		total += minutes[i];
	/* split at m: [lo, m) at rate before / (m - lo), [m, hi) at the rest;
	 * the log-likelihood up to terms that do not depend on m */
	for (m = lo + 1; m < hi; m++) {
		double after, l1, l2, ll;

		before += minutes[m - 1];
		after = total - before;
		l1 = before / (double)(m - lo);
		l2 = after / (double)(hi - m);
		if (ceased ? l1 <= l2 : l1 >= l2)
			continue;   /* the busy side must be the family's */
		ll = (before > 0 ? before * log(l1) : 0) + (after > 0 ? after * log(l2) : 0);
		if (ll > best) {
			best = ll;
			best_m = m;
		}
	}
	if (best_m < 0)
		return at;
	if (ceased) {
		for (i = best_m - 1; i >= lo; i--)
			if (minutes[i])
				return start + i * 60;
	} else {
		for (i = best_m; i < hi; i++)
			if (minutes[i])
				return start + i * 60;
	}
	return at;
}

void analysis_impact_compute(const struct analysis_input *in, size_t family, int64_t at,
			     const struct analysis_event *earlier, size_t n_earlier, struct analysis_impact *out)
{
	struct analysis_gap *sil;
	double *tot;

	if (analysis_input_check(in, NULL, 0) != ANALYSIS_OK || family >= in->n_families || at < in->start ||
	    at >= in->end) {
		out->total_change_day_over_day = out->total_change_vs_baseline = NAN;
		out->lo95 = out->hi95 = out->hours = NAN;
		return;
	}
	tot = an_total_slots(in, (size_t)-1);
	sil = xmalloc((n_earlier ? n_earlier : 1) * sizeof(*sil));
	impact_with_events(in, tot, family, at, earlier, n_earlier, sil, out);
	free(sil);
	free(tot);
}

/* fill_impacts: the impact of each cessation among the final events
 * (sorted by time), each judged with its family's events before it. */
static void fill_impacts(const struct analysis_input *in, struct analysis_event *ev, size_t n)
{
	struct analysis_gap *sil = xmalloc((n ? n : 1) * sizeof(*sil));
	double *tot = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ev[i].type != ANALYSIS_EVENT_CEASED || !ev[i].has_impact)
			continue;
		if (!tot)
			tot = an_total_slots(in, (size_t)-1);
		impact_with_events(in, tot, ev[i].family, ev[i].at, ev, i, sil, &ev[i].impact);
	}
	free(tot);
	free(sil);
}


/* ------------------------------------------------------------------ */

/* the level over the later half of [r, r + span) is still a fall from
 * `before` (whatever events come there: a cessation after keeps it low,
 * a dip's end, read as another pair, does not) */
static bool fall_lasts(const struct ctx *c, size_t f, const struct an_event_extra *cx, double before, int64_t r,
		       int64_t span)
{
	int64_t end = r + span < c->n_slots ? r + span : c->n_slots;
	double o, late = level_between(c, f, cx->profile, cx->wf, r + span / 2, end, &o, NULL);

	return end <= r + span / 2 || late <= (1 - c->cfg->level_change) * before;
}

/*
 * A ceased and its resumed, seen with hindsight: when the silence between
 * is no surprise at the level the family had around it (a fall of the
 * rate, then a lull), it was no cessation. That level is the one it came
 * back at when lower than before (scaled from the detector's), and never
 * more than what it sent on either side: the detector may not have caught
 * up with an earlier fall. The pair is dropped, and becomes a drop when
 * the fall is one. Returns true when the pair goes.
 */
static bool pair_in_hindsight(const struct ctx *c, const struct analysis_event *prev, struct analysis_event *ce,
			      const struct an_event_extra *cx, struct analysis_event *re, int64_t limit)
{
	int64_t a = slot_of(c, ce->at), r = slot_of(c, re->at), span = 6 * c->sph;
	double before, after, ob, oa, ratio, s, z;
	struct an_event_extra lower = *cx;

	if (!cx->by_silence)
		return false;   /* the level's fall decided it, not a silence */
	before = level_between(c, ce->family, cx->profile, cx->wf, a + 1 - span, a + 1, &ob, NULL);
	after = level_between(c, re->family, cx->profile, cx->wf, r, r + span < slot_of(c, limit) ? r + span : slot_of(c, limit),
			      &oa, NULL);
	if (before <= 0 || after <= 0)
		return false;
	ratio = after / before;
	lower.level = fmin(cx->level * fmin(ratio, 1), fmax(before, after));
	s = silence_surprise(c, ce->family, &lower, a + 1, r);
	if (s >= cx->s_req)
		return false;
	/* a fall found already (a drop within the hours weighed before) is
	 * this one: it is not found twice; and a fall that does not last (the
	 * level back in the later half of the hours weighed after) is no
	 * drop: a dip of 5 hours read as one */
	if (ratio <= 1 - c->cfg->level_change && fall_lasts(c, ce->family, cx, before, r, span) &&
	    !(prev && prev->type == ANALYSIS_EVENT_DROP && slot_of(c, prev->at) > a + 1 - span)) {
		z = fabs(log(ratio)) / sqrt(1 / fmax(ob, 1) + 1 / fmax(oa, 1));
		ce->type = ANALYSIS_EVENT_DROP;
		ce->after_rate_per_hour = re->after_rate_per_hour;
		ce->confidence = 1 - erfc(z / sqrt(2.0));
		ce->has_impact = false;
		re->family = SIZE_MAX;
	} else {
		ce->family = re->family = SIZE_MAX;
	}
	return true;
}

static bool is_level(const struct analysis_event *e)
{
	return e->family != SIZE_MAX && (e->type == ANALYSIS_EVENT_DROP || e->type == ANALYSIS_EVENT_SURGE);
}

/*
 * Changes of level that come back every week, in hindsight: a family's
 * drop (or surge) a week after another of its drops (or surges), at the
 * same time of the week within WEEK_AGAIN_S, with a change the other way
 * between them, is a weekly rhythm the weekly test could not confirm (a
 * short period, a pause in it), not sustained changes; the three are
 * dropped. Two drops in a row a week apart are two drops. ev sorted by
 * time.
 */
static void weekly_in_hindsight(struct analysis_event *ev, size_t n)
{
	bool *weekly = xcalloc(n ? n : 1, sizeof(bool));
	size_t i, j, k;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n && is_level(&ev[i]); j++) {
			bool back = false;

			if (!is_level(&ev[j]) || ev[j].family != ev[i].family || ev[j].type != ev[i].type ||
			    llabs(ev[j].at - ev[i].at - 7 * AN_DAY) > WEEK_AGAIN_S)
				continue;
			/* a rhythm goes and comes back: two drops in a row are two drops */
			for (k = i + 1; k < j; k++)
				if (is_level(&ev[k]) && ev[k].family == ev[i].family && ev[k].type != ev[i].type)
					back = weekly[k] = true;
			if (back)
				weekly[i] = weekly[j] = true;
		}
	for (i = 0; i < n; i++)
		if (weekly[i])
			ev[i].family = SIZE_MAX;
	free(weekly);
}

/* family f's messages on each whole day first + i (i < nd), and whether
 * the sensor watched all of that day */
static void family_days(const struct analysis_input *in, const unsigned char *down, size_t f, int64_t first,
			size_t nd, double *tot, bool *valid)
{
	const uint32_t *x = in->families[f].counts;
	int64_t spd = AN_DAY / in->step, k;
	size_t i;

	for (i = 0; i < nd; i++) {
		int64_t s0 = ((first + (int64_t)i) * AN_DAY - in->start) / in->step;

		tot[i] = 0;
		valid[i] = true;
		for (k = s0; k < s0 + spd; k++) {
			tot[i] += x[k];
			if (down && down[k])
				valid[i] = false;   /* a day the sensor was partly down */
		}
	}
}

/* within WEEKEND_EDGE_S of a UTC midnight, where a weekday's factor changes */
#define WEEKEND_EDGE_S (3 * AN_HOUR)

static bool near_midnight(int64_t t)
{
	return llabs(t - (t + AN_DAY / 2) / AN_DAY * AN_DAY) <= WEEKEND_EDGE_S;
}

/*
 * Family f's daily totals on whole days first + i (i < nd), as the week
 * sees them given its events (all but ev[skip]): the days the sensor was
 * partly down, or the family ceased (from the ceased's day to its
 * resumed's), are not known; a change of level not near a midnight (not
 * the week's) starts a new segment (seg), and its day is not known.
 */
static void family_days_known(const struct analysis_input *in, const unsigned char *down,
			      const struct analysis_event *ev, size_t n, size_t f, size_t skip, int64_t first, size_t nd,
			      double *tot, bool *valid, int *seg)
{
	size_t j, k;

	family_days(in, down, f, first, nd, tot, valid);
	memset(seg, 0, nd * sizeof(int));
	for (j = 0; j < n; j++) {
		int64_t a, b;
		size_t r;

		if (ev[j].family != f || j == skip)
			continue;
		a = ev[j].at / AN_DAY - first;
		if (is_level(&ev[j])) {
			if (near_midnight(ev[j].at))
				continue;
			for (k = a < 0 ? 0 : (size_t)a; k < nd; k++)
				seg[k]++;
			b = a;
		} else if (ev[j].type == ANALYSIS_EVENT_CEASED) {
			r = next_of_family(ev, n, j);
			b = r < n && ev[r].type == ANALYSIS_EVENT_RESUMED ? ev[r].at / AN_DAY - first : (int64_t)nd - 1;
		} else {
			continue;
		}
		for (; a <= b; a++)
			if (a >= 0 && a < (int64_t)nd)
				valid[a] = false;
	}
}

/*
 * Changes of level the week explains, in hindsight. The detector judges
 * each weekday by weekly factors learnt from the period's daily totals,
 * but a pause and its return in those totals can hide a rhythm every
 * other week shows: a quiet weekend then reads as a drop on Saturday and
 * a surge on Monday. The factors are learnt again around each drop or
 * surge within WEEKEND_EDGE_S of a UTC midnight (the eight weeks around
 * it; the family's ceased days, and days a factor 2 from their weekday's
 * median, left out; its other changes of level bound the weeks whose
 * medians the days are held against); when they change across that
 * midnight in the event's direction, and the day after against the day
 * before, each over its weekday's factor, changed by less than
 * level_change, the event goes. Only drops and surges: a cessation is
 * never judged by this.
 */
#define WEEKEND_FACTOR_MOVES 0.1   /* log: the factors change across the midnight by this much */

static void week_explains(const struct ctx *c, struct analysis_event *ev, size_t n)
{
	const struct analysis_input *in = c->in;
	int64_t first = (in->start + AN_DAY - 1) / AN_DAY, last = in->end / AN_DAY;   /* whole days [first, last) */
	size_t nd, i;
	double *tot, wf[7], lc = c->cfg->level_change;
	bool *valid;
	int *seg;

	if (in->start < 0 || last - first < 14)
		return;
	nd = (size_t)(last - first);
	tot = xcalloc(nd, sizeof(double));
	valid = xcalloc(nd, sizeof(bool));
	seg = xcalloc(nd, sizeof(int));
	for (i = 0; i < n; i++) {
		int64_t mid = (ev[i].at + AN_DAY / 2) / AN_DAY, before = mid - 1 - first, after = mid - first, end, from;
		double moved, adj;
		size_t f = ev[i].family;

		if (!is_level(&ev[i]) || !near_midnight(ev[i].at) || before < 0 || after >= (int64_t)nd)
			continue;
		family_days_known(in, c->down, ev, n, f, i, first, nd, tot, valid, seg);
		if (!valid[before] || !valid[after] || tot[before] <= 0 || tot[after] <= 0)
			continue;
		/* the eight weeks around the event (an_weekly_factors reads the last
		 * WEEK_SPAN + 6 days it is given) */
		end = after + 29 < (int64_t)nd ? after + 29 : (int64_t)nd;
		from = end - 62 > 0 ? end - 62 : 0;
		if (an_weekly_factors_hindsight(tot + from, valid + from, seg + from, (size_t)(end - from), first + from,
						wf) != AN_WEEK_FOUND)
			continue;
		moved = log(wf[an_weekday(first + after)] / wf[an_weekday(first + before)]);
		adj = (tot[after] / tot[before]) / exp(moved);
		if (ev[i].type == ANALYSIS_EVENT_DROP ? moved <= -WEEKEND_FACTOR_MOVES && adj > 1 - lc
						      : moved >= WEEKEND_FACTOR_MOVES && adj < 1 / (1 - lc))
			ev[i].family = SIZE_MAX;
	}
	free(tot);
	free(valid);
	free(seg);
}

static int cmp_event(const void *pa, const void *pb)
{
	const struct analysis_event *a = pa, *b = pb;

	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return (int)a->type - (int)b->type;
}

/*
 * A weekly rhythm, in hindsight: each family's from the first eight weeks
 * of the period's whole days (what an_weekly_factors reads at most), given
 * to the detector before it runs, so that the first weekends are judged
 * as the later ones. A period of at most those eight weeks is wholly seen:
 * the answer, rhythm or none, is fixed. A longer one starts with it, held
 * through those eight weeks; after them the detector goes on learning from
 * the days it passes, as online, over as many weeks.
 */
#define HINDSIGHT_DAYS 62

/* the whole days the weekly rhythm is learnt from in hindsight: nd from
 * *first, at most HINDSIGHT_DAYS; 0 when the period holds under 14 */
static size_t hindsight_days(const struct analysis_input *in, int64_t *first)
{
	int64_t last = in->end / AN_DAY;      /* exclusive */

	*first = (in->start + AN_DAY - 1) / AN_DAY;
	if (in->start < 0 || last - *first < 14)
		return 0;
	return (size_t)(last - *first <= HINDSIGHT_DAYS ? last - *first : HINDSIGHT_DAYS);
}

static void hindsight_weekly(struct analysis_detector *d, const struct analysis_input *in,
			     const unsigned char *down, const bool *held, const double (*held_wf)[7], bool *found)
{
	int64_t first;
	size_t nd = hindsight_days(in, &first), f;
	double *tot, wf[7];
	bool *valid, whole = first + (int64_t)nd == in->end / AN_DAY;

	if (nd == 0)
		return;
	tot = xcalloc(nd, sizeof(double));
	valid = xcalloc(nd, sizeof(bool));
	for (f = 0; f < in->n_families; f++) {
		/* rhythm or none, held until the detector's own window (the
		 * days it has passed) is as long as what was seen here: early
		 * on, it sees fewer weeks than the hindsight did */
		if (held && held[f]) {
			an_detector_set_weekly(d, f, held_wf[f], whole ? INT64_MAX : first + (int64_t)nd - 1);
			continue;
		}
		family_days(in, down, f, first, nd, tot, valid);
		switch (an_weekly_factors(tot, valid, nd, first, wf)) {
		case AN_WEEK_FOUND:
			if (found)
				found[f] = true;
			/* fall through */
		case AN_WEEK_NONE:
			an_detector_set_weekly(d, f, wf, whole ? INT64_MAX : first + (int64_t)nd - 1);
			break;
		case AN_WEEK_UNKNOWN:
			break;
		}
	}
	free(tot);
	free(valid);
}

/*
 * A change of level is one that lasts (DESIGN.md: at least 6 hours,
 * level_min_hours). The detector saw each side of it last that long, but
 * refined, a drop and the surge back (or a surge and the drop back) may
 * come closer: the rustock-2011 scenario's lethic (sessions of 4-8
 * messages, 16 an hour) fell to a quarter for 5 h 18 min and came back,
 * a false drop and a false surge. Both go, as the dip they bound did not
 * last.
 */
static void levels_that_last(const struct ctx *c, struct analysis_event *ev, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!is_level(&ev[i]))
			continue;
		for (j = i + 1; j < n && ev[j].family != ev[i].family; j++)
			;
		if (j == n || !is_level(&ev[j]) || ev[j].type == ev[i].type ||
		    ev[j].at - ev[i].at >= (int64_t)c->cfg->level_min_hours * AN_HOUR)
			continue;
		ev[i].family = ev[j].family = SIZE_MAX;
	}
}

/*
 * The detector's part of a pass: some of the input's families (every
 * nth), judged in a thread of their own. Families are judged apart (a
 * detector holds nothing of one family that another reads, but for the
 * sensor's first message, which the whole input gives), so the parts'
 * events, put back in the order one detector finds them (the slot being
 * fed, then the family), are that detector's.
 */
struct part {
	const struct analysis_input *whole;
	struct analysis_input in;           /* the part's families */
	struct analysis_family *fams;
	size_t *map;                        /* the part's family -> the whole's */
	const unsigned char *down;
	bool *held, *found;                 /* NULL when the pass has none */
	double (*held_wf)[7];
	struct analysis_detector *d;
	struct analysis_event *ev;
	struct an_event_extra *ex;
	size_t n;
};

static void *part_run(void *arg)
{
	struct part *p = arg;

	hindsight_weekly(p->d, &p->in, p->down, p->held, (const double (*)[7])p->held_wf, p->found);
	an_detector_feed_input(p->d, &p->in, p->whole);
	p->n = an_detector_take(p->d, &p->ev, &p->ex);
	return NULL;
}

struct order {
	int64_t fed_slot;
	size_t family, seq, part;
};

static int cmp_order(const void *pa, const void *pb)
{
	const struct order *a = pa, *b = pb;

	if (a->fed_slot != b->fed_slot)
		return a->fed_slot < b->fed_slot ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * The detector over every family of in, in cfg->threads parts at once:
 * its events and their extras in the order it found them (families as
 * in's), *bins its bins a day. SIZE_MAX when it cannot be made.
 */
static size_t detect_families(const struct analysis_input *in, const struct analysis_detector_config *cfg,
			      const unsigned char *down, const bool *held, const double (*held_wf)[7], bool *found,
			      struct analysis_event **ev_out, struct an_event_extra **ex_out, int *bins,
			      char *err, size_t errlen)
{
	size_t np = cfg->threads > 1 ? (size_t)cfg->threads : 1, p, f, i, n = 0;
	struct part *parts;
	pthread_t *tid;
	bool *started;
	struct order *ord;

	if (np > in->n_families)
		np = in->n_families ? in->n_families : 1;
	parts = xcalloc(np, sizeof(*parts));
	tid = xcalloc(np, sizeof(*tid));
	started = xcalloc(np, sizeof(*started));
	for (p = 0; p < np; p++) {
		struct part *pt = &parts[p];
		size_t nf = in->n_families / np + (p < in->n_families % np);

		pt->whole = in;
		pt->in = *in;
		pt->fams = xcalloc(nf ? nf : 1, sizeof(*pt->fams));
		pt->map = xcalloc(nf ? nf : 1, sizeof(*pt->map));
		pt->held = held ? xcalloc(nf ? nf : 1, sizeof(bool)) : NULL;
		pt->held_wf = held ? xcalloc(nf ? nf : 1, sizeof(*pt->held_wf)) : NULL;
		pt->found = found ? xcalloc(nf ? nf : 1, sizeof(bool)) : NULL;
		for (f = p, i = 0; f < in->n_families; f += np, i++) {
			pt->fams[i] = in->families[f];
			pt->map[i] = f;
			if (held) {
				pt->held[i] = held[f];
				memcpy(pt->held_wf[i], held_wf[f], sizeof(pt->held_wf[i]));
			}
		}
		pt->in.families = pt->fams;
		pt->in.n_families = nf;
		pt->down = down;
		pt->d = analysis_detector_new(cfg, in->start, in->step, nf, err, errlen);
		if (!pt->d)
			n = SIZE_MAX;
	}
	if (n != SIZE_MAX) {
		*bins = an_detector_bins_per_day(parts[0].d);
		/* the first part in this thread; a part whose thread cannot
		 * start too, after it */
		for (p = 1; p < np; p++)
			started[p] = pthread_create(&tid[p], NULL, part_run, &parts[p]) == 0;
		part_run(&parts[0]);
		for (p = 1; p < np; p++) {
			if (started[p])
				pthread_join(tid[p], NULL);
			else
				part_run(&parts[p]);
		}
		for (p = 0; p < np; p++)
			n += parts[p].n;
		ord = xcalloc(n ? n : 1, sizeof(*ord));
		for (p = 0, i = 0; p < np; p++)
			for (f = 0; f < parts[p].n; f++, i++) {
				ord[i].fed_slot = parts[p].ex[f].fed_slot;
				ord[i].family = parts[p].map[parts[p].ev[f].family];
				ord[i].seq = f;
				ord[i].part = p;
			}
		qsort(ord, n, sizeof(*ord), cmp_order);
		*ev_out = xcalloc(n ? n : 1, sizeof(**ev_out));
		*ex_out = xcalloc(n ? n : 1, sizeof(**ex_out));
		for (i = 0; i < n; i++) {
			(*ev_out)[i] = parts[ord[i].part].ev[ord[i].seq];
			(*ev_out)[i].family = ord[i].family;
			(*ex_out)[i] = parts[ord[i].part].ex[ord[i].seq];
		}
		free(ord);
		if (found)
			for (p = 0; p < np; p++)
				for (i = 0; i < parts[p].in.n_families; i++)
					found[parts[p].map[i]] = parts[p].found[i];
	}
	for (p = 0; p < np; p++) {
		if (parts[p].d)
			analysis_detector_free(parts[p].d);
		free(parts[p].ev);
		free(parts[p].ex);
		free(parts[p].fams);
		free(parts[p].map);
		free(parts[p].held);
		free(parts[p].held_wf);
		free(parts[p].found);
	}
	free(parts);
	free(tid);
	free(started);
	return n;
}

/*
 * One run of the detector over the input and the refinements in hindsight:
 * the events, sorted, the ones dropped in hindsight gone. held[f] (when
 * held): family f's weekly rhythm is held_wf[f] from the start, not what
 * hindsight_weekly would learn; found[f] (when found) is set where that
 * found one. NULL when the detector cannot be made.
 */
static struct analysis_event *detect_pass(const struct analysis_input *in, const struct analysis_detector_config *cfg,
					  unsigned char *down, const bool *held, const double (*held_wf)[7], bool *found,
					  size_t *n_out, char *err, size_t errlen)
{
	struct analysis_event *ev = NULL;
	struct an_event_extra *ex = NULL;
	struct ctx c;
	int64_t *limits;
	size_t n, i, ns, kept;
	int bins;

	n = detect_families(in, cfg, down, held, held_wf, found, &ev, &ex, &bins, err, errlen);
	if (n == SIZE_MAX)
		return NULL;
	ns = analysis_input_slots(in);
	c.down = down;
	c.in = in;
	c.cfg = cfg;
	c.n_slots = (int64_t)ns;
	c.spd = AN_DAY / in->step;
	c.sph = AN_HOUR / in->step;
	c.spb = c.spd / bins;

	/* each event is refined up to the next of its family as the detector
	 * placed it; the returns first, so that a cessation's last message is
	 * sought only before the first message of the return after it (the
	 * return's messages are not the last lull before the end) */
	limits = xmalloc((n ? n : 1) * sizeof(*limits));
	for (i = 0; i < n; i++)
		limits[i] = next_at(ev, n, i, in->end);
	for (i = 0; i < n; i++)
		if (ev[i].type == ANALYSIS_EVENT_RESUMED)
			refine_resumed(&c, &ev[i], &ex[i], limits[i]);
	for (i = 0; i < n; i++) {
		size_t j = next_of_family(ev, n, i);

		switch (ev[i].type) {
		case ANALYSIS_EVENT_CEASED:
			if (j < n && ev[j].type == ANALYSIS_EVENT_RESUMED && ev[j].at < limits[i])
				limits[i] = ev[j].at;
			refine_ceased(&c, &ev[i], &ex[i], limits[i]);
			ev[i].has_impact = true;   /* filled when the events are final */
			break;
		case ANALYSIS_EVENT_RESUMED:
			break;
		case ANALYSIS_EVENT_DROP:
		case ANALYSIS_EVENT_SURGE:
			refine_level(&c, &ev[i], &ex[i], limits[i]);
			break;
		}
	}
	/* a surge whose change back within a day leaves the family still
	 * above where it was (or a drop, still below) changed the family's
	 * shape of the day, not its level twice: the new traffic came with
	 * hours of its own (rustock-2011, seed 2: maazben, asleep at night,
	 * tripled from an evening on with mornings it never had; the mornings
	 * over its old profile read as a surge, its afternoons as a drop from
	 * them). The change back goes, and the change is placed again with
	 * the hours after it up to the next event. */
	for (i = 0; i < n; i++) {
		size_t j;

		if (ev[i].family == SIZE_MAX || !is_level(&ev[i]))
			continue;
		j = next_of_family(ev, n, i);
		if (j >= n || !is_level(&ev[j]) || ev[j].type == ev[i].type ||
		    ev[j].at - ev[i].at > SHAPE_CHANGE_S)
			continue;
		if (ev[i].type == ANALYSIS_EVENT_SURGE
			    ? ev[j].after_rate_per_hour >= (1 + cfg->level_change) * ev[i].before_rate_per_hour
			    : ev[j].after_rate_per_hour <= (1 - cfg->level_change) * ev[i].before_rate_per_hour) {
			ev[j].family = SIZE_MAX;
			refine_level(&c, &ev[i], &ex[i], next_at(ev, n, j, in->end));
		}
	}
	free(limits);
	for (i = 0; i < n; i++) {
		size_t j = next_of_family(ev, n, i), p;

		if (ev[i].type != ANALYSIS_EVENT_CEASED || ev[i].family == SIZE_MAX)
			continue;
		for (p = i; p-- > 0 && ev[p].family != ev[i].family;)
			;
		if (j < n && ev[j].type == ANALYSIS_EVENT_RESUMED) {
			size_t f = ev[i].family, k;
			int64_t from = ev[i].at, back = ev[j].at;

			if (!pair_in_hindsight(&c, p < i ? &ev[p] : NULL, &ev[i], &ex[i], &ev[j],
					       next_at(ev, n, j, in->end)) || ev[i].family != SIZE_MAX)
				continue;
			/* neither a cessation nor a drop: the detector began a new
			 * level at its return, and a change measured from there is
			 * measured from inside a dip (the return from it read as a
			 * surge) */
			for (k = j + 1; k < n; k++)
				if (ev[k].family == f && is_level(&ev[k]) && ex[k].pre_from >= from &&
				    ex[k].pre_from <= back + 2 * AN_HOUR)
					ev[k].family = SIZE_MAX;
		}
	}
	week_explains(&c, ev, n);
	for (i = 0; i < n; i++) {
		free(ex[i].profile);
		free(ex[i].cess);
	}
	free(ex);
	qsort(ev, n, sizeof(*ev), cmp_event);
	weekly_in_hindsight(ev, n);
	levels_that_last(&c, ev, n);
	/* the events dropped in hindsight leave (the rest stay in order) */
	for (i = kept = 0; i < n; i++)
		if (ev[i].family != SIZE_MAX)
			ev[kept++] = ev[i];
	*n_out = kept;
	return ev;
}

/*
 * The weekly rhythm again, given a first pass's events. The rhythm the
 * detector starts from is learnt before any event is known, by the strict
 * test (every day of each centred week known): a pause or a change of
 * level in a period of three or four weeks hides a rhythm from it, and
 * the family's quiet weekends read as drops and surges, or a change near
 * one is missed. With the first pass's events the robust test of
 * hindsight can be used: the days of its cessations not known, its
 * changes of level as segments (family_days_known); before they are
 * known, the days a pause cut short are taken for a rhythm. For each
 * family whose strict test found no rhythm (found[f] false), and this one
 * does, held[f] and held_wf[f] are set; true when any is.
 */
static bool rhythm_after(const struct analysis_input *in, const unsigned char *down, const struct analysis_event *ev,
			 size_t n, const bool *found, bool *held, double (*held_wf)[7])
{
	int64_t first;
	size_t nd = hindsight_days(in, &first), f;
	double *tot, wf[7];
	bool *valid, any = false;
	int *seg;

	if (nd == 0)
		return false;
	tot = xcalloc(nd, sizeof(double));
	valid = xcalloc(nd, sizeof(bool));
	seg = xcalloc(nd, sizeof(int));
	for (f = 0; f < in->n_families; f++) {
		if (found[f])
			continue;
		family_days_known(in, down, ev, n, f, SIZE_MAX, first, nd, tot, valid, seg);
		if (an_weekly_factors_hindsight(tot, valid, seg, nd, first, wf) != AN_WEEK_FOUND)
			continue;
		held[f] = true;
		memcpy(held_wf[f], wf, sizeof(wf));
		any = true;
	}
	free(tot);
	free(valid);
	free(seg);
	return any;
}

enum analysis_status analysis_events_detect(const struct analysis_input *in,
					    const struct analysis_detector_config *cfg_in,
					    struct analysis_event **out, size_t *n_out, char *err, size_t errlen)
{
	enum analysis_status st = analysis_input_check(in, err, errlen);
	struct analysis_detector_config cfg;
	struct analysis_event *ev;
	unsigned char *down = NULL;
	double (*held_wf)[7];
	bool *held, *found;
	size_t n, i;

	*out = NULL;
	*n_out = 0;
	if (st != ANALYSIS_OK)
		return st;
	if (cfg_in)
		cfg = *cfg_in;
	else
		analysis_detector_config_default(&cfg);
	if (in->n_gaps) {
		down = xcalloc(analysis_input_slots(in), 1);
		for (i = 0; i < in->n_gaps; i++)
			memset(down + (in->gaps[i].from - in->start) / in->step, 1,
			       (size_t)((in->gaps[i].to - in->gaps[i].from) / in->step));
	}
	found = xcalloc(in->n_families ? in->n_families : 1, sizeof(bool));
	held = xcalloc(in->n_families ? in->n_families : 1, sizeof(bool));
	held_wf = xcalloc(in->n_families ? in->n_families : 1, sizeof(*held_wf));
	ev = detect_pass(in, &cfg, down, NULL, NULL, found, &n, err, errlen);
	/* a second pass when the first one's events reveal a rhythm */
	if (ev && rhythm_after(in, down, ev, n, found, held, held_wf)) {
		free(ev);
		ev = detect_pass(in, &cfg, down, held, (const double (*)[7])held_wf, NULL, &n, err, errlen);
	}
	free(found);
	free(held);
	free(held_wf);
	free(down);
	if (!ev)
		return ANALYSIS_EINVAL;
	/* a mixture of senders was judged with the rest (its model is the
	 * same code), but its events are no family's */
	for (i = 0, *n_out = 0; i < n; i++)
		if (!in->families[ev[i].family].no_events)
			ev[(*n_out)++] = ev[i];
	fill_impacts(in, ev, *n_out);
	*out = ev;
	return ANALYSIS_OK;
}
