/*
 * internal.h - what the analysis .c files share and nobody else sees.
 *
 * Time arithmetic, small statistics helpers, the change-point estimators
 * used by the detector online and by the offline refinement, and the
 * detector's hooks for the offline driver (events.c).
 */
#ifndef SPAMTIDE_ANALYSIS_INTERNAL_H
#define SPAMTIDE_ANALYSIS_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"

#define AN_DAY 86400
#define AN_HOUR 3600

/* an_err: fills err (if any) and returns status. */
enum analysis_status an_err(char *err, size_t errlen, enum analysis_status status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* floor division for times before 1970 too */
static inline int64_t an_floor(int64_t t, int64_t unit)
{
	int64_t q = t / unit;

	return (t % unit != 0 && t < 0) ? (q - 1) * unit : q * unit;
}

/* an_median: the median of x[0..n) (reordered in place); NAN for n == 0. */
double an_median(double *x, size_t n);

/* an_total_slots: the sum over families per slot (n_slots doubles),
 * leaving out family `without` (or none: (size_t)-1). Caller frees. */
double *an_total_slots(const struct analysis_input *in, size_t without);

/* an_hourly: per-hour sums of slot counts x[n_slots] starting at start with
 * step: out[n_hours] (hours as in analysis_input_hours). */
void an_hourly(const struct analysis_input *in, const double *x, double *out);

/*
 * Change points over a window of counts x[0..n) with expected shape mu[0..n)
 * (expected counts per slot at level 1, all > 0). Two levels a (before) and
 * b (after), each fitted by maximum likelihood (Poisson); the split k (the
 * first slot of the second segment, lo <= k <= hi) that maximises the
 * likelihood is returned.
 */
size_t an_change_point(const double *x, const double *mu, size_t n, size_t lo, size_t hi);

/*
 * an_change_point_quiet: the same, among the splits whose quiet side (after
 * the split when quiet_after, else before it) has a level at most max_ratio
 * times the other's: where a family fell silent (or came back), not where
 * it merely slowed down before. When no split qualifies: hi (quiet_after)
 * or lo.
 */
size_t an_change_point_quiet(const double *x, const double *mu, size_t n, size_t lo, size_t hi, double max_ratio,
			     bool quiet_after);

/*
 * an_scan_stragglers: from x[from] towards x[to] (either way, both
 * included), the message where the messages from `from` to it are least
 * likely to be stragglers, a Poisson of cease_fraction x mu: the scan
 * statistic. Its surprise (-log p) in *s when s is not NULL; `from` when
 * no message lies between.
 */
size_t an_scan_stragglers(const double *x, const double *mu, size_t from, size_t to, double cease_fraction,
			  double *s);
/*
 * an_scan_bunched: stragglers while a family is away are few and scattered,
 * at a rate that neither stops nor starts. From x[from] towards x[to]
 * (either way), the message k (before `to`) where a higher rate up to k
 * (at least min_rate x mu: slower, they are stragglers whatever they do)
 * and a lower one after it explain the messages better than one steady
 * rate over the whole stretch; the log likelihood ratio of the two Poisson
 * rates against one in *lr. Messages bunched after a fall and then gone
 * are the family's last lull; bunched before the change point of a return,
 * its first messages.
 */
size_t an_scan_bunched(const double *x, const double *mu, size_t from, size_t to, double min_rate, double *lr);
#define AN_BUNCHED_LR 6.9    /* log 1000 */

/* stragglers after a fall end a silence early: the window a ceased
 * event's change point is sought in reaches back, at most this many hours,
 * to where the family was still sending: o messages where its profile
 * expects e, a quarter of them at least, and enough expected to tell
 * (a window that is mostly its sleep says nothing) */
#define AN_REACH_BACK_H 48

static inline bool an_still_sending(double o, double e)
{
	return e >= 50 && o >= 0.25 * e;
}

/* an_cease_last: the last message before a fall, at the two-level split
 * `at` of x (n slots) or later: the messages after the split, when they
 * are too many to be stragglers, or when they come together and stop
 * before the silence (a lull before the end is not the end; stragglers are
 * isolated). */
size_t an_cease_last(size_t at, const double *x, const double *mu, size_t n, double cease_fraction);

/* an_nb_zero_surprise: -log P(X = 0) for X of mean lam and variance
 * lam + inv_k * lam^2 (negative binomial; Poisson when inv_k == 0). */
double an_nb_zero_surprise(double lam, double inv_k);
/* an_nb_tail_gain: log P(X <= o) - log P(X = 0) for that distribution. */
double an_nb_tail_gain(unsigned long o, double lam, double inv_k);

/*
 * Within an hour, bursts share one rate over a stretch of minutes, so a
 * silence of ten minutes is far likelier than ten independent silent
 * minutes. A family's over-dispersion within hours is measured at three
 * scales (1/k of a gamma multiplier per slot, per 10-minute and per
 * 30-minute stretch of the clock); the excess variance of a sum of slot
 * expectations is the largest of the three views (the view whose stretch
 * matches the bursts' gives the largest; the others underestimate it).
 */
struct an_disp {
	double km, k10, k30;
};

/* sums of squared expectations: per slot, per 10- and 30-minute stretch */
struct an_sumsq {
	double q, q10, q30;    /* closed stretches */
	double c10, c30;       /* the open stretches' sums */
	int64_t s10, s30;      /* and their ids (time / 600, time / 1800) */
	bool open;
};

void an_sumsq_add(struct an_sumsq *s, int64_t t, double mu);
/* an_sumsq_excess: the variance beyond Poisson of the sum, under disp. */
double an_sumsq_excess(const struct an_sumsq *s, const struct an_disp *disp);

/*
 * Weekly rhythm. an_weekly_factors: from daily totals tot[0..n) (of days
 * day0 .. day0 + n - 1; valid[i] false where a day is not known), over the
 * last eight weeks of them: each day's total against the median of the
 * seven days centred on it (weeks whose median is under AN_WEEK_MIN_MEAN
 * left out), grouped by UTC weekday. FOUND when the groups differ beyond
 * chance (an analysis of variance of the log ratios, bounded at +-1.5,
 * p < 0.001) and some weekday is off by 18 % or more: wf[an_weekday(day)]
 * are the weekdays' median ratios, scaled to mean 1. NONE when there is
 * data enough (every weekday seen twice) and no such rhythm; UNKNOWN when
 * there is not. wf all 1 unless FOUND.
 */
enum an_week { AN_WEEK_UNKNOWN, AN_WEEK_NONE, AN_WEEK_FOUND };
#define AN_WEEK_MIN_MEAN 24.0    /* messages a day a week needs to say anything */
enum an_week an_weekly_factors(const double *tot, const bool *valid, size_t n, int64_t day0, double wf[7]);
/* The same, in hindsight: a day's week is the days around it of the same
 * segment seg[] (between known changes of level), four at least, also at
 * the period's ends; from three weeks on, a day more than a factor 2 from
 * its weekday's median (a pause, a return) is left out of the test. */
enum an_week an_weekly_factors_hindsight(const double *tot, const bool *valid, const int *seg, size_t n, int64_t day0,
					 double wf[7]);

static inline int an_weekday(int64_t day)
{
	int64_t r = day % 7;

	return (int)(r < 0 ? r + 7 : r);
}

/* The detector's extra record per event, for the offline refinement. */
struct an_event_extra {
	double level;          /* the family's level (x profile) when it fell */
	double s_req;          /* the surprise the decision needed */
	double inv_kh;         /* dispersion then: of hours, */
	struct an_disp disp;   /* and within them */
	double clump;          /* messages an arrival brings (>= 1; 0: 1) */
	int days;              /* ceased: the days its profile was learnt from */
	float *profile;        /* expected count per slot of the day at level 1 */
	float *cess;           /* conservative profile used for silences */
	double wf[7];          /* weekly factors then (expected = profile x wf) */
	int64_t anchor;        /* ceased: first slot of the silence; resumed: the
				  ceased event's at; drop/surge: the hour of the
				  change */
	int64_t pre_from;      /* drop/surge: start of the reference segment */
	bool by_silence;       /* ceased: a silence decided it (not a fall of level) */
	int64_t fed_slot;      /* the slot being fed when it was found: events come
				  in order of it, then of family */
};

/* an_detector_feed_input: every slot of in (same step and families as d,
 * starting at its next slot) into the detector; its gaps are skipped.
 * sensor (same slots and gaps; NULL: in) holds all the sensor's families,
 * when in holds only some: its first message is the sensor's start. */
void an_detector_feed_input(struct analysis_detector *d, const struct analysis_input *in,
			    const struct analysis_input *sensor);
/* an_detector_take: the queued events with their extras (arrays of n,
 * caller frees them and each extra's profiles). */
size_t an_detector_take(struct analysis_detector *d, struct analysis_event **ev, struct an_event_extra **ex);
int an_detector_bins_per_day(const struct analysis_detector *d);
/* an_detector_set_weekly: family f's weekly factors (offline: learnt in
 * hindsight), held until the family's day until_day (INT64_MAX: for good);
 * from then on relearnt at each midnight from the days it has seen. */
void an_detector_set_weekly(struct analysis_detector *d, size_t f, const double wf[7], int64_t until_day);

#endif
