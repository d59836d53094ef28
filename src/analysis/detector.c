/*
 * detector.c - ceased / resumed / drop / surge, one slot at a time.
 *
 * The same code runs online (the trap feeds a slot of every family as its
 * clock advances) and offline (events.c feeds a whole period, then refines
 * each event's time with the data after it). docs/analysis.md explains the
 * model; in short:
 *
 * Per family: a ring of recent slot counts, the current day's counts per
 * 10-minute bin and per hour, and up to history_days recent *active* days
 * (days with messages and without a cessation). At every UTC midnight the
 * family's model is refitted from those days (refit):
 *
 *   profile   expected count per slot by time of day at level 1: the
 *             (trimmed) mean over the days of each 10-minute bin;
 *   cess      a conservative profile for judging silences: per day, 70-minute
 *             window sums; their median over days, capped at twice their
 *             minimum; then, near an edge (the profile within +-90 minutes
 *             falls below 70 % of here), the minimum over those +-90
 *             minutes, so a nightly sleep that starts a little early, or a
 *             daily spike that comes late, is not evidence;
 *   disp      over-dispersion within an hour (1/k of a negative
 *             binomial): of slot counts, and of 10- and 30-minute sums
 *             around the profile's shape of the hour, from the within-hour
 *             variances (bursts last minutes: internal.h);
 *   inv_kh    over-dispersion of hourly counts around the day's level x
 *             profile, from the hours below it (Anscombe's transform);
 *   sd2_day   the day-to-day variance of the log level (out of sample,
 *             robust), and sd2_block that of 6-hour blocks within a day;
 *   s_req     the surprise (-log probability) a silence needs: the log of the
 *             family's expected number of silence openings a year (slots
 *             with a message) over false_alarms_per_year; at least the
 *             largest surprise of a silence its recent history closed, plus
 *             log 20: as judged then, or, where a model learnt from the
 *             other days would have called it a cessation, as that model
 *             judges it (a family that rests for hours at any time).
 *
 * Silences. A silence is the run of slots since the last message ("plain"),
 * or since an earlier point with a few stragglers allowed (at most 5 % of
 * what is expected, plus one: "tolerant", which needs log 2 more surprise
 * as a second test of the same silence). Its probability is a product over
 * UTC hours: each hour's rate is cess x a gamma multiplier (shape 1/inv_kh)
 * of mean the family's current level (observed over profile, weighted over
 * ~3 h, at most 1); the hour the silence began in uses the multiplier's
 * posterior given that hour so far, where the rate there is steady. Within
 * an hour the slot-level dispersion adds (moment-matched negative binomial).
 * When the surprise reaches s_req the family has ceased; `at` is its last
 * message before the change point (two levels, the later one near zero).
 *
 * Returns. Once ceased, a sliding window of W slots (about 60 messages at
 * the old level) counts messages, capped per slot so one burst of one
 * straggler counts once; when that count is very unlikely for a Poisson of
 * 5 % of the old level, the family has resumed; `at` is the first message
 * after the change point.
 *
 * Levels. At each hour's end the level series (hourly counts over the
 * profile) is scanned for a split into two levels, each side at least
 * level_min_hours and expecting something (sleep says nothing), differing
 * by level_change, with z >= 3.5 on the log ratio (day-to-day, 6-hour-block
 * and counting variances), most later hours on the new side, and the
 * median hour moved too; confirmed if the same change still passes 12 h
 * later. A fall to under twice the cease fraction is a cessation (the safety
 * net for low-rate families whose silences stragglers keep breaking); else
 * a drop or a surge, `at` refined to the slot within +-1 h.
 *
 * Weekly rhythm. Each day's total goes into a ring of eight weeks; at
 * midnight an_weekly_factors looks for a weekday pattern there (stats.c).
 * When there is one, what is expected of a slot is profile x its weekday's
 * factor everywhere (silences, levels, the day-to-day deviations), and the
 * history days are brought to the week's mean level before the profile is
 * learnt. Offline the factors are learnt in hindsight from the first
 * eight weeks of the period (events.c): fixed when that is the whole
 * period, a start to go on from otherwise.
 *
 * Memory: about 40 KB per family, fixed. Errors: a slot fed out of order or
 * misaligned (analysis_detector_feed), a history that does not fit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "analysis/internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define RING 4096                 /* slots of recent counts (68 h of minutes) */
#define HRING 512                 /* hours of level series (> scan back + reference) */
#define MAX_HIST 14               /* history_days is clamped to this */
#define MAX_BINS 144              /* 10-minute bins, or 24 hours */
#define WK_DAYS 62                /* daily totals kept for the weekly rhythm (8 weeks) */
#define WK_LETGO 3                /* midnights without a rhythm before it is let go */
#define WF_LEARN 0.25             /* a day expecting less is not learnt from (profile) */
#define LEVEL_TAU_S (3 * 3600.0)  /* time constant of the current level */
#define LEVEL_FAST_TAU_S 3600.0   /* and of its fast view (a recent drop) */
#define LEVEL_PRIOR 3.0           /* messages of prior weight on level 1 */
#define LEVEL_MIN 0.1             /* the level is not trusted lower */
#define HIST_MARGIN 3.0           /* log 20: beyond what recent history closed */
#define LEVEL_Z 3.5               /* z a change of level needs (twice: confirmed) */
#define LEVEL_CONFIRM_H 12        /* hours after which it must still pass */
#define SD_DAY_PRIOR 0.15         /* log-sd of daily levels before data */
#define SD_BLOCK_PRIOR 0.12       /* log-sd of 6-hour blocks within a day */
#define SD_PRIOR_DAYS 3           /* weight of those priors, in days */
#define SD_PRIOR_BLOCKS 12        /* ... and in blocks */
#define DEV_DAYS 28               /* days of out-of-sample level deviations kept */
#define LEVEL_SCAN_BACK 168       /* hours a change point may lie back */
#define LEVEL_PRE_HOURS 168       /* hours of reference before it */
#define LEVEL_SUSTAINED 0.6       /* share of later hours on the new side */
#define RESUME_MIN_MSGS 3         /* messages a return needs at least */
#define CP_BEFORE_HOURS 6         /* hours before a silence the change point sees */
#define JITTER_EDGE 0.7           /* the profile within +-90 min falls this low: an edge */
#define JIT_MIN_DAYS 4            /* recent days needed to tell how far edges stray */
#define JIT_MIN_MSGS 50           /* a day with fewer messages cannot tell */
#define JIT_LL 2.0                /* a shift this close to the best fit is possible */
#define JIT_MARGIN_S (20 * 60)    /* beyond the widest shift seen */
#define SLEEP_LEVEL 0.05          /* of the mean: a stretch of the day this quiet is a sleep */
#define WINDOW_ARRIVALS 12.0      /* cess's windows hold this many arrivals a day at least */
#define WINDOW_MAX_S (3 * 3600)   /* and reach this far either side at most */
#define STEADY_MEAN 1.3           /* a mean this far above the median: not steady */
#define FAST_FALL_Z 1.645         /* the last hour's count this far low (p 0.05): the rate fell */
#define POST_TRUST 2.0            /* an hour above twice cess is not learnt from */
#define CLUMP_MIN_MSGS 50         /* messages in isolated minutes the history needs */
#define CLUMP_MAX 20.0            /* messages an arrival is taken to bring at most */

enum fstate { ST_ACTIVE, ST_CEASED };

/*
 * A silence window, cut into UTC hours (blocks). Each hour's rate has a
 * gamma multiplier; the hour the silence starts in has the posterior given
 * the part of that hour before the silence (n messages where cess predicted
 * m: shape k + n, mean (k + n) / (k + m)); later hours have the prior
 * (shape k, mean: the level).
 */
struct gap {
	int64_t start;        /* first slot of the window */
	int64_t blk;          /* UTC hour of the block being summed */
	int64_t first_blk;    /* the hour the window started in */
	double level;         /* level snapshot when the window opened (<= 1) */
	double raw;           /* the same, uncapped (0.1..2): the old level */
	double post_mean, post_inv;   /* first block's multiplier: mean, 1/shape */
	double acc;           /* surprise of the finished blocks */
	double lam_b, inv_b;  /* this block: sum mu, 1/shape */
	struct an_sumsq sq_b; /* and its squares */
	double lam, lb2i;     /* window: sum mu, sum lam_b^2 / shape */
	struct an_sumsq sq;
	double lam_lvl;       /* window: expected at the current level */
	unsigned long obs;    /* messages in the window */
};

struct hist_day {
	int64_t day;          /* absolute day index */
	uint32_t bins[MAX_BINS];
	double hsum[24], hsq[24];
	double max_gap;
	double iso_x, iso_e;  /* its isolated minutes (both neighbours empty, a
				 message or more): their messages, and what
				 Poisson arrivals would put there (see refit) */
	int strayed;          /* bins its edges strayed from the profile then, or -1: not known */
};

struct fam {
	/* what every slot touches comes first, together (a report runs through
	 * a hundred families a minute: their big arrays, last, stay cold) */
	int64_t day;          /* the day being accumulated */
	bool cur_excluded;
	bool cur_partial;         /* the first day, not seen from its start */
	int n_hist, hist_next;
	/* state */
	enum fstate state;
	bool armed;
	int64_t armed_from;       /* the first slot judged since it last armed */
	bool sent;                /* a message has come */
	/* current level */
	double ew_obs, ew_exp;
	double fw_obs, fw_exp;    /* the same, fast */
	double hour_x;
	/* silences */
	double pre_n, pre_m;  /* this hour so far: messages, and what cess predicted */
	struct gap plain, tol;
	/* model */
	double wf[7];             /* weekly factors by weekday: expected = profile x wf */
	double wf_cum[8];         /* their running sums: wf_cum[w] = wf[0] + ... + wf[w - 1] */
	int64_t wf_held_until;    /* set in hindsight (offline): not relearnt until this day */
	double prof_max, prof_mean;
	struct an_disp disp;
	double inv_kh, kh, sd2_day, sd2_block;
	struct an_disp sdisp;     /* what a silence is judged by: disp and inv_kh, */
	double inv_ks;            /* or with the bursts counted once (bursts_once) */
	double clump;             /* messages an arrival brings (>= 1): see refit */
	int prof_days;            /* the days the profile was learnt from */
	int sw;                   /* cess's windows reach this many bins either side */
	int64_t tail_day;         /* the newest history day ended in a silence from */
	int tail_bin;             /* its bin tail_bin, still going on (INT64_MIN: none) */
	double s_req, s_hist;
	float prof[MAX_BINS], cess[MAX_BINS];
	bool steady[MAX_BINS];    /* the rate here is steady enough to learn from */
	bool has_edge, sleeps;    /* the profile has an edge (a spike, a sleep); a sleep */
	double lprof[MAX_BINS];   /* log of the profile's share of the day, per bin */
	/* while ceased */
	int64_t cease_slot, cease_at;
	float ref[MAX_BINS];
	int64_t res_w;
	double res_cap, res_null, res_o, res_e, res_s, stragglers;
	/* out-of-sample log deviations of recent days' totals from the
	 * profile (a ring; for the day-to-day variance) */
	double dev[DEV_DAYS];
	int64_t dev_day[DEV_DAYS];
	int n_dev, dev_next;
	/* hourly level series */
	float hx[HRING];
	double hcum[HRING];   /* running total of hx up to each hour */
	double ecum[25];      /* cumulative ehod over the hours of a day */
	double ehod[24];      /* expected per hour of day at level 1 (current profile) */
	double ehod_mean;
	int64_t r0;           /* first hour of the current regime */
	int pend_type;        /* a change seen once (its event type), or -1 */
	int64_t pend_c, pend_hour;
	int64_t hours_seen;   /* hours completed since the detector started */
	/* the day being accumulated, and the recent active days, newest at
	 * hist[(hist_next - 1) % MAX_HIST] */
	struct hist_day cur;
	struct hist_day hist[MAX_HIST];
	/* daily totals, raw (a rebase leaves them), ceased days included: the
	 * weekly rhythm's data */
	double wk_tot[WK_DAYS];
	bool wk_valid[WK_DAYS];
	int64_t wk_last;          /* the newest day in them */
	bool wk_any;
	int wk_fails;             /* midnights in a row that found no rhythm */
	uint32_t ring[RING];
};

struct queued {
	struct analysis_event ev;
	struct an_event_extra ex;
};

struct analysis_detector {
	struct analysis_detector_config cfg;
	int step, sph, spd, bins, spb;
	int sw_bins, jit_bins;
	int64_t first_slot, next_slot;
	bool sensor_started;          /* a message of any family has come in */
	int64_t late_start_day;       /* the day it came after its first hour, or INT64_MIN */
	int64_t first_msg_slot;       /* the sensor's first message */
	double first_day_msgs;        /* the sensor's messages of that day since */
	bool first_day_judged;        /* whether that day was seen whole is known */
	double decay, fast_decay;
	size_t n_fam, cap_fam;
	struct fam **fam;
	struct queued *q;
	size_t n_q, cap_q;
};

void analysis_detector_config_default(struct analysis_detector_config *c)
{
	c->false_alarms_per_year = 0.1;
	c->history_days = 7;
	c->min_history_days = 3;
	c->cease_fraction = 0.05;
	c->level_change = 0.30;
	c->level_min_hours = 6;
	c->threads = 1;
	c->bursts_once = false;
}

const char *analysis_event_type_name(enum analysis_event_type t)
{
	switch (t) {
	case ANALYSIS_EVENT_CEASED: return "ceased";
	case ANALYSIS_EVENT_RESUMED: return "resumed";
	case ANALYSIS_EVENT_DROP: return "drop";
	case ANALYSIS_EVENT_SURGE: return "surge";
	}
	panic("analysis_event_type_name: type %d", (int)t);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t mod_pos(int64_t a, int64_t b)
{
	int64_t r = a % b;

	return r < 0 ? r + b : r;
}

static int bin_of(const struct analysis_detector *d, int64_t slot)
{
	return (int)(mod_pos(slot, d->spd) / d->spb);
}

struct slot {
	int64_t k;      /* absolute slot index (time / step) */
	int64_t hour;   /* absolute hour index */
	int64_t day;    /* absolute day index */
	int bin, hod;   /* bin of the day, hour of the day */
	int pos;        /* k mod slots per hour */
};

static void gap_open(const struct analysis_detector *d, const struct fam *f, struct gap *g, int64_t slot,
		     double raw);
static void refit(struct analysis_detector *d, struct fam *f);
static void gap_open_at(const struct fam *f, struct gap *g, int64_t slot, int64_t hour, bool learn, double raw);
static void gap_add(const struct analysis_detector *d, const struct fam *f, struct gap *g, int64_t k,
		    int64_t blk, double mu_c, double mu_l);
static double gap_surprise(const struct fam *f, const struct gap *g);

static void wf_changed(struct fam *f)
{
	int w;

	f->wf_cum[0] = 0;
	for (w = 0; w < 7; w++)
		f->wf_cum[w + 1] = f->wf_cum[w] + f->wf[w];
}

static struct fam *fam_new(const struct analysis_detector *d, int64_t slot)
{
	struct fam *f = xcalloc(1, sizeof(*f));

	f->day = floor_div(slot, d->spd);
	/* a day the detector did not see from its start is not history */
	f->cur_excluded = f->cur_partial = mod_pos(slot, d->spd) != 0;
	gap_open(d, f, &f->plain, slot, 1);
	gap_open(d, f, &f->tol, slot, 1);
	f->r0 = floor_div(slot, d->sph);
	f->state = ST_ACTIVE;
	f->pend_type = -1;
	f->wf_held_until = INT64_MIN;
	f->tail_day = INT64_MIN;
	for (int w = 0; w < 7; w++)
		f->wf[w] = 1;
	wf_changed(f);
	return f;
}

struct analysis_detector *analysis_detector_new(const struct analysis_detector_config *cfg, int64_t start, int step,
						size_t n_families, char *err, size_t errlen)
{
	struct analysis_detector *d;
	size_t i;

	if (step != 60 && step != AN_HOUR) {
		an_err(err, errlen, ANALYSIS_EINVAL, "step must be 60 or 3600 seconds, not %d", step);
		return NULL;
	}
	if (start % step != 0) {
		an_err(err, errlen, ANALYSIS_EINVAL, "start not aligned to %d-second slots", step);
		return NULL;
	}
	if (n_families > ANALYSIS_MAX_FAMILIES) {
		an_err(err, errlen, ANALYSIS_EINVAL, "more than %d families", ANALYSIS_MAX_FAMILIES);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	if (cfg)
		d->cfg = *cfg;
	else
		analysis_detector_config_default(&d->cfg);
	if (d->cfg.history_days > MAX_HIST)
		d->cfg.history_days = MAX_HIST;
	if (d->cfg.history_days < 1)
		d->cfg.history_days = 1;
	if (d->cfg.min_history_days < 1)
		d->cfg.min_history_days = 1;
	if (d->cfg.min_history_days > d->cfg.history_days)
		d->cfg.min_history_days = d->cfg.history_days;
	if (!(d->cfg.false_alarms_per_year > 0))
		d->cfg.false_alarms_per_year = 0.1;
	if (d->cfg.level_min_hours < 1)
		d->cfg.level_min_hours = 1;
	d->step = step;
	d->sph = AN_HOUR / step;
	d->spd = AN_DAY / step;
	d->spb = step == 60 ? 10 : 1;
	d->bins = d->spd / d->spb;
	/* +-30 minutes of smoothing and of jitter, at least one bin */
	d->sw_bins = (30 * 60 + d->spb * step / 2) / (d->spb * step);
	if (d->sw_bins < 1)
		d->sw_bins = 1;
	/* jitter: +-90 minutes */
	d->jit_bins = (90 * 60 + d->spb * step / 2) / (d->spb * step);
	d->first_slot = d->next_slot = start / step;
	d->late_start_day = INT64_MIN;
	d->decay = exp(-(double)step / LEVEL_TAU_S);
	d->fast_decay = exp(-(double)step / LEVEL_FAST_TAU_S);
	d->n_fam = d->cap_fam = n_families;
	d->fam = xcalloc(n_families ? n_families : 1, sizeof(struct fam *));
	if (!n_families)
		d->cap_fam = 1;
	for (i = 0; i < n_families; i++)
		d->fam[i] = fam_new(d, d->next_slot);
	return d;
}

size_t analysis_detector_add_family(struct analysis_detector *d)
{
	if (d->n_fam == d->cap_fam) {
		d->cap_fam *= 2;
		d->fam = xreallocarray(d->fam, d->cap_fam, sizeof(struct fam *));
	}
	d->fam[d->n_fam] = fam_new(d, d->next_slot);
	return d->n_fam++;
}

void analysis_detector_free(struct analysis_detector *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n_fam; i++)
		free(d->fam[i]);
	for (i = 0; i < d->n_q; i++) {
		free(d->q[i].ex.profile);
		free(d->q[i].ex.cess);
	}
	free(d->fam);
	free(d->q);
	free(d);
}

int64_t analysis_detector_next(const struct analysis_detector *d)
{
	return d->next_slot * d->step;
}

enum analysis_family_state analysis_detector_state(const struct analysis_detector *d, size_t family)
{
	const struct fam *f;

	if (family >= d->n_fam)
		return ANALYSIS_STATE_LEARNING;
	f = d->fam[family];
	if (f->state == ST_CEASED)
		return ANALYSIS_STATE_CEASED;
	return f->armed ? ANALYSIS_STATE_ACTIVE : ANALYSIS_STATE_LEARNING;
}

void an_detector_set_weekly(struct analysis_detector *d, size_t fi, const double wf[7], int64_t until_day)
{
	struct fam *f = d->fam[fi];

	memcpy(f->wf, wf, sizeof(f->wf));
	wf_changed(f);
	f->wf_held_until = until_day;
	refit(d, f);
}

int an_detector_bins_per_day(const struct analysis_detector *d)
{
	return d->bins;
}

/* ------------------------------------------------------------------ */
/* the model */

static void sort_small(double *x, int n)
{
	int i, j;

	for (i = 1; i < n; i++) {
		double v = x[i];

		for (j = i; j > 0 && x[j - 1] > v; j--)
			x[j] = x[j - 1];
		x[j] = v;
	}
}

static double median_small(double *x, int n)
{
	sort_small(x, n);
	return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/*
 * 1/k of the 10- and 30-minute sums within hours: each stretch's count
 * against its share of the hour's count by the profile's shape (so a
 * sleep or a spike that begins within the hour is not taken for a burst),
 * by moments: E (x - e)^2 = e + e^2 / k, the hour's count fitted from the
 * same stretches (n / (n - 1)).
 */
static void within_hour_stretches(struct fam *f, const struct hist_day *const *days, int n)
{
	static const int per[2] = { 1, 3 };     /* 10-minute bins per stretch */
	int v, i, h, j, b;

	for (v = 0; v < 2; v++) {
		int m = 6 / per[v];
		double num = 0, den = 0, k;

		for (i = 0; i < n; i++)
			for (h = 0; h < 24; h++) {
				double s = days[i]->hsum[h], ps = 0, x[6], p[6];

				if (s <= 0)
					continue;
				for (j = 0; j < m; j++) {
					x[j] = p[j] = 0;
					for (b = 0; b < per[v]; b++) {
						x[j] += days[i]->bins[h * 6 + j * per[v] + b];
						p[j] += f->prof[h * 6 + j * per[v] + b];
					}
					ps += p[j];
				}
				if (ps <= 0)
					continue;
				for (j = 0; j < m; j++) {
					double e = s * p[j] / ps;

					num += ((x[j] - e) * (x[j] - e) * m / (m - 1) - e);
					den += e * e;
				}
			}
		k = den > 0 && num > 0 ? fmin(num / den, 20) : 0;
		if (v == 0)
			f->disp.k10 = k;
		else
			f->disp.k30 = k;
	}
}

/*
 * How far in time a day's edges (a spike, waking) strayed from the
 * family's profile, in bins, judged when the day closes (out of sample):
 * the shifts of the profile, up to jit_bins either way, that fit the day's
 * 10-minute counts nearly as well as the best one (within JIT_LL, on a
 * quasi-likelihood: multinomial over the day's bins, divided by the
 * over-dispersion of 10-minute counts at the day's typical count); the
 * widest of them. -1 when it cannot tell: no profile yet, other bins, a
 * day too thin.
 */
static int day_strayed(const struct analysis_detector *d, const struct fam *f, const struct hist_day *day)
{
	const uint32_t *x = day->bins;
	double ll[2 * MAX_BINS + 1], best = -INFINITY, sx = 0, sxx = 0, phi;
	int B = d->bins, J = d->jit_bins, widest = 0, b, s;

	if (!f->armed || d->spb * d->step != 600 || !f->has_edge || f->sleeps)
		return -1;   /* (a sleeper's edges, or none, need no stray) */
	for (b = 0; b < B; b++) {
		sx += x[b];
		sxx += (double)x[b] * x[b];
	}
	if (sx < JIT_MIN_MSGS)
		return -1;
	phi = 1 + f->disp.k10 * sxx / sx;
	for (s = -J; s <= J; s++) {
		/* bin b against the profile's bin b - s, around the clock:
		 * the bins that wrap, then the rest (J < B) */
		int lo = s > 0 ? s : 0, hi = s < 0 ? B + s : B;
		double v = 0;

		for (b = 0; b < lo; b++)
			v += x[b] * f->lprof[b - s + B];
		for (b = lo; b < hi; b++)
			v += x[b] * f->lprof[b - s];
		for (b = hi; b < B; b++)
			v += x[b] * f->lprof[b - s - B];
		ll[s + J] = v;
		if (v > best)
			best = v;
	}
	for (s = -J; s <= J; s++)
		if ((best - ll[s + J]) / phi <= JIT_LL && abs(s) > widest)
			widest = abs(s);
	return widest;
}

/*
 * How far an edge may stray, in bins: the widest a recent day strayed,
 * plus JIT_MARGIN_S; jit_bins (90 minutes) while fewer than JIT_MIN_DAYS
 * recent days could tell.
 */
static int edge_jitter(const struct analysis_detector *d, const struct hist_day *const *days, int n)
{
	int widest = 0, known = 0, margin, i;

	for (i = 0; i < n; i++)
		if (days[i]->strayed >= 0) {
			known++;
			if (days[i]->strayed > widest)
				widest = days[i]->strayed;
		}
	if (known < JIT_MIN_DAYS)
		return d->jit_bins;
	margin = (JIT_MARGIN_S + d->spb * d->step - 1) / (d->spb * d->step);
	return widest + margin < d->jit_bins ? widest + margin : d->jit_bins;
}

/* the least of v[b - half .. b + half], around the clock of B bins (half < B) */
static double circular_min(const double *v, int B, int b, int half)
{
	double m = v[b];
	int k;

	if (b - half >= 0 && b + half < B) {   /* no wrap: the usual case */
		for (k = b - half; k <= b + half; k++)
			m = v[k] < m ? v[k] : m;
		return m;
	}
	for (k = b - half; k <= b + half; k++) {
		int kk = k < 0 ? k + B : k >= B ? k - B : k;

		if (v[kk] < m)
			m = v[kk];
	}
	return m;
}

/* bin b's median over days (all but day `skip`, or -1: all) of the
 * windowed sums (capped: at most twice the quietest), as a rate per slot;
 * windows of sw bins either side */
static inline double window_median(const struct analysis_detector *d, int sw, const double (*win)[MAX_BINS], int n,
				   int skip, bool capped, int b)
{
	double v[MAX_HIST], lo = INFINITY, x;
	int i, m = 0;

	for (i = 0; i < n; i++) {
		if (i == skip)
			continue;
		v[m] = win[i][b];
		lo = v[m] < lo ? v[m] : lo;
		m++;
	}
	/* the median day, but no more than twice the quietest: where the
	 * family was (nearly) silent on one of its recent days (asleep
	 * early, a spike elsewhere), a silence is not news */
	x = median_small(v, m);
	if (capped && x > 2 * lo)
		x = 2 * lo;
	return x / ((2 * sw + 1) * d->spb);
}

/* cess of bin b from the medians: near an edge (the medians within
 * +-jit_bins dip under JITTER_EDGE of here), their minimum over +-jit
 * bins; *dip: the minimum over +-jit_bins */
static inline double cess_of(const struct analysis_detector *d, const double *med, int b, int jit, double *dip)
{
	double m = circular_min(med, d->bins, b, d->jit_bins), mj;

	mj = jit == d->jit_bins ? m : circular_min(med, d->bins, b, jit);
	*dip = m;
	/* only an edge counts (sleep, a spike): where the profile nearby
	 * stays within 30 % of here, the dip of the minimum is noise */
	return mj < JITTER_EDGE * med[b] ? mj : med[b];
}

/*
 * How surprising the silences of history day i were to a model learnt
 * from the other days (out of sample): the largest surprise of a run of
 * its empty bins, each judged as a silence opened at the day's level (at
 * most 1) with no hour before it to learn from, under cess made from the
 * other days' medians, uncapped (the cap at twice the quietest day lets
 * any one day's rest explain a silence: a family that rests a few hours
 * at random times rests near any hour on one day of three). A family's
 * sleep, or a daily lull, is in the other days too, and an edge that
 * strays is given its margin as in cess: they surprise no one. A family
 * that rests for hours at any time (campaigns) shows it here, and only
 * out of sample (in sample a day explains itself). Only runs between
 * two messages of the day are judged (one cut by midnight may be the start
 * of a cessation found the next day, or the end of one), and only those
 * whose bound (the largest day's windows) can reach `floor`.
 */
static double history_silence(const struct analysis_detector *d, const struct fam *f, const double (*win)[MAX_BINS],
			      const double *wmax, int n, int i, const struct hist_day *hd, double level, int jit,
			      double floor)
{
	double wd = f->wf[an_weekday(hd->day)], best = 0, med[MAX_BINS], dip;
	bool have[MAX_BINS] = { false };
	int64_t slot0 = hd->day * d->spd;
	int b, r0, r1, j, k, B = d->bins, reach = jit > d->jit_bins ? jit : d->jit_bins;

	if (n < 3)
		return 0;
	if (level > 1)
		level = 1;
	for (b = 0; b < B && hd->bins[b] == 0; b++)
		;   /* a run from midnight is not judged */
	for (r0 = b; r0 < B; r0 = r1) {
		double bound = 0;
		struct gap g;

		while (r0 < B && hd->bins[r0] > 0)
			r0++;
		for (r1 = r0; r1 < B && hd->bins[r1] == 0; r1++)
			bound += wmax[r1] * d->spb;
		/* a run to midnight is not judged; nor one that can surprise no
		 * more than it expects, below floor */
		if (r1 == B || bound * wd * level < floor)
			continue;
		gap_open_at(f, &g, slot0 + (int64_t)r0 * d->spb, floor_div(slot0 + (int64_t)r0 * d->spb, d->sph), false,
			    level);
		for (b = r0; b < r1; b++) {
			double mu_c;

			/* the other days' medians, as far as cess looks */
			for (k = b - reach; k <= b + reach; k++) {
				int kk = k < 0 ? k + B : k >= B ? k - B : k;

				if (!have[kk]) {
					med[kk] = window_median(d, f->sw, win, n, i, false, kk);
					have[kk] = true;
				}
			}
			mu_c = cess_of(d, med, b, jit, &dip) * wd;
			for (j = 0; j < d->spb; j++) {
				int64_t slot = slot0 + (int64_t)b * d->spb + j;

				gap_add(d, f, &g, slot, floor_div(slot, d->sph), mu_c, f->prof[b] * wd);
			}
		}
		{
			double sg = gap_surprise(f, &g);

			if (sg > best)
				best = sg;
		}
	}
	return best;
}

/* the longest run of empty bins in any of days[0..n) */
static int longest_empty_run(const struct hist_day *const *days, int n, int B)
{
	int longest = 0, i, b, run;

	for (i = 0; i < n; i++)
		for (b = 0, run = 0; b < B; b++) {
			run = days[i]->bins[b] ? 0 : run + 1;
			longest = run > longest ? run : longest;
		}
	return longest;
}

/*
 * The dispersion a silence is judged by. The hours' (inv_kh) is learnt
 * from hourly counts, and so holds the bursts within the hour too (a
 * burst multiplier of inverse shape v per 10 minutes adds v / 6 to the
 * hour's); a silence adds those bursts again from the within-hour
 * estimates (disp). Counted twice, the model is conservative: the report
 * keeps it so (no false cessation is its bar). With bursts_once (the
 * trap's alerts, whose budget is ten times the report's and whose false
 * ones a return takes back), the within-hour part is taken out of the
 * hours': inv_kh less the largest of km / 60, k10 / 6, k30 / 2, each
 * within-hour estimate first corrected for its bias (given the hour's
 * total, its m shares vary as a Dirichlet's, so the estimate is
 * v / (1 + v / m), not v).
 */
static double unbiased_within(double est, double m)
{
	if (est <= 0)
		return 0;
	return est < 0.95 * m ? fmin(est / (1 - est / m), 20) : 20;
}

static void silence_dispersion(const struct analysis_detector *d, struct fam *f)
{
	double within;

	f->sdisp = f->disp;
	f->inv_ks = f->inv_kh;
	if (!d->cfg.bursts_once)
		return;
	f->sdisp.km = unbiased_within(f->disp.km, d->sph);
	f->sdisp.k10 = unbiased_within(f->disp.k10, 6);
	f->sdisp.k30 = unbiased_within(f->disp.k30, 2);
	within = fmax(f->sdisp.km / d->sph, fmax(f->sdisp.k10 / 6, f->sdisp.k30 / 2));
	f->inv_ks = f->inv_kh > within ? f->inv_kh - within : 0;
}

static void refit(struct analysis_detector *d, struct fam *f)
{
	const struct hist_day *days[MAX_HIST];
	double win[MAX_HIST][MAX_BINS], med[MAX_BINS], wmax[MAX_BINS], sc[MAX_HIST], day_level[MAX_HIST];
	double eh[24], num, den, tot, opp, sum_prof, floored;
	int n = 0, b, i, h, B = d->bins, jit;
	bool tail_open;

	/* each day brought to the week's mean level (its weekly factor); a
	 * day of the week the family (nearly) rests says nothing of its shape */
	for (i = 0; i < f->n_hist && n < d->cfg.history_days; i++) {
		const struct hist_day *hd = &f->hist[mod_pos(f->hist_next - 1 - i, MAX_HIST)];
		double w = f->wf[an_weekday(hd->day)];

		if (w < WF_LEARN)
			continue;
		sc[n] = 1 / w;
		days[n++] = hd;
	}
	if (n < d->cfg.min_history_days) {
		f->armed = false;
		return;
	}
	/* arming, when the newest day ended in a silence that still goes on
	 * and is longer, by the 90 minutes an edge may stray, than any the
	 * other days held (see below; a sleeper's, whose start wanders, or a
	 * rest like the family's others is its own; once armed, the detector
	 * judged that silence as it came) */
	tail_open = !f->armed && n >= 2 && days[0]->day == f->tail_day &&
		    B - f->tail_bin > longest_empty_run(days + 1, n - 1, B) + d->jit_bins;

	/* profile: trimmed mean per bin, per slot */
	sum_prof = 0;
	f->prof_max = 0;
	for (b = 0; b < B; b++) {
		double s = 0;

		double lo = INFINITY, hi = -INFINITY;

		for (i = 0; i < n; i++) {
			double x = days[i]->bins[b] * sc[i];

			s += x;
			lo = x < lo ? x : lo;
			hi = x > hi ? x : hi;
		}
		/* trimmed: without the largest and the smallest day from five on */
		s = n >= 5 ? (s - lo - hi) / (n - 2) : s / n;
		f->prof[b] = (float)(s / d->spb);
		if (b == 0)
			memset(f->ehod, 0, sizeof(f->ehod));
		f->ehod[b * 24 / B] += s;
		sum_prof += s;
	}
	f->prof_mean = sum_prof / d->spd;
	f->prof_days = n;
	for (i = 0; i < n; i++) {
		double t = 0;

		for (b = 0; b < B; b++)
			t += days[i]->bins[b];
		day_level[i] = sum_prof > 0 ? t * sc[i] / sum_prof : 1;
	}
	floored = 0;
	for (b = 0; b < B; b++) {
		/* a floor, so that a message at a quiet time is not impossible */
		if (f->prof[b] < 0.02 * f->prof_mean)
			f->prof[b] = (float)(0.02 * f->prof_mean);
		if (f->prof[b] > f->prof_max)
			f->prof_max = f->prof[b];
		floored += f->prof[b];
	}

	/* hourly expectation, before the floor: sleep hours expect nothing */
	f->ehod_mean = sum_prof / 24;
	f->ecum[0] = 0;
	for (h = 0; h < 24; h++)
		f->ecum[h + 1] = f->ecum[h] + f->ehod[h];

	/* dispersion within hours */
	memset(&f->disp, 0, sizeof(f->disp));
	if (d->sph > 1) {
		num = den = 0;
		for (i = 0; i < n; i++)
			for (h = 0; h < 24; h++) {
				double s = days[i]->hsum[h], m = s / d->sph;

				if (s <= 0)
					continue;
				num += (days[i]->hsq[h] - s * s / d->sph) / (d->sph - 1) - m;
				den += m * m;
			}
		if (den > 0 && num > 0)
			f->disp.km = fmin(num / den, 20);
		if (d->spb * d->step == 600)   /* minute slots: 10-minute bins */
			within_hour_stretches(f, days, n);
	}

	/* arrivals in clumps: a bot that sends several messages a connection
	 * brings them in the same minute. A silence is judged by the
	 * arrivals it misses, not the messages: its expected count over the
	 * messages an arrival brings. They show in the isolated minutes (a
	 * message or more, both neighbours empty): a Poisson family at m a
	 * minute (the rate of the hour either side) puts m / (1 - e^-m) in
	 * such a minute, a family in clumps of c nearly c times that where its
	 * arrivals are sparse. An edge of the day (a sleep's start) is no
	 * isolated minute, nor is a busy family's burst (its neighbours are
	 * seldom empty). In the two-week scenario: kestrel (one message a
	 * connection) 1, plover (1-3) 1.7, linnet (2-3) 2.1, avocet (4-8) 4.4;
	 * bench/events' families are Poisson at the minute (1). */
	f->clump = 1;
	{
		double ix = 0, ie = 0;

		for (i = 0; i < n; i++) {
			ix += days[i]->iso_x;
			ie += days[i]->iso_e;
		}
		/* the excess beyond two of its standard deviations (about
		 * sqrt(ie) for Poisson arrivals): a family that sends one
		 * message a connection is not made slower by chance */
		if (ix >= CLUMP_MIN_MSGS && ie > 0 && ix - ie > 2 * sqrt(ie))
			f->clump = fmin(1 + (ix - ie - 2 * sqrt(ie)) / ie, CLUMP_MAX);
	}

	/* conservative profile: windowed sums (a sliding window around the
	 * clock), median over days, min over jitter. A window of +-30
	 * minutes, or wider for a sparse family: the median and the dips of
	 * a window that holds a few arrivals a day are Poisson noise, and
	 * read as edges they made the silences of a family at 5 an hour
	 * judged at a third of its rate. As wide as it takes to hold
	 * WINDOW_ARRIVALS arrivals on a mean day: a family at 10 arrivals an
	 * hour or more keeps +-30 minutes. One too sparse to fill even
	 * +-WINDOW_MAX_S (under 2 an hour) keeps them too: its windows are
	 * mostly empty, cess near nothing, and its cessations are found by
	 * the fall of its level, as before (wider windows judged its
	 * silences at nearly its full rate, and one after a drop read as a
	 * cessation). */
	{
		double per_bin = f->prof_mean * d->spb / f->clump;
		int sw_max = (int)(WINDOW_MAX_S / (d->spb * d->step));

		if (2 * sw_max + 1 >= B)
			sw_max = (B - 2) / 2;
		f->sw = d->sw_bins;
		if ((2 * sw_max + 1) * per_bin >= WINDOW_ARRIVALS)
			while (f->sw < sw_max && (2 * f->sw + 1) * per_bin < WINDOW_ARRIVALS)
				f->sw++;
	}
	for (i = 0; i < n; i++) {
		double sum = 0;
		int k;

		for (k = -f->sw; k <= f->sw; k++)
			sum += days[i]->bins[(k + B) % B];
		for (b = 0; b < B; b++) {
			win[i][b] = sum * sc[i];
			sum += days[i]->bins[(b + f->sw + 1) % B];
			sum -= days[i]->bins[(b - f->sw + B) % B];
		}
	}
	for (b = 0; b < B; b++) {
		/* a silence the newest day ended in, still going on, is no
		 * rest of the family's until it ends: where a window holds
		 * it, that day is left out (else, capped at twice it, a
		 * family taken down in the afternoon of the day the detector
		 * armed on was judged at nothing until the next morning); so
		 * are its hours in the dispersion of hours, below */
		int skip = tail_open && (b + f->sw >= f->tail_bin || b - f->sw < 0) ? 0 : -1;

		med[b] = window_median(d, f->sw, (const double (*)[MAX_BINS])win, n, skip, true, b);
		wmax[b] = 0;
		for (i = 0; i < n; i++)
			if (win[i][b] > wmax[b])
				wmax[b] = win[i][b];
		wmax[b] /= (2 * f->sw + 1) * d->spb;
	}
	/* a family that sleeps (a stretch of its day near silent): each of its
	 * edges is given 90 minutes beyond the windows' reach (125), for its
	 * sleep to come early or end late (bots on home PCs sleep an hour
	 * earlier in UTC when their clocks change); another family's edges
	 * (spikes on a rate that goes on) only as far as its recent days
	 * strayed */
	jit = edge_jitter(d, days, n);
	f->sleeps = false;
	for (b = 0; b < B; b++)
		if (f->prof[b] < SLEEP_LEVEL * f->prof_mean)
			f->sleeps = true;
	if (f->sleeps)
		jit = d->jit_bins + f->sw;
	f->has_edge = false;
	for (b = 0; b < B; b++) {
		double m, pmax = 0;
		int k;

		f->cess[b] = (float)cess_of(d, med, b, jit, &m);
		if (m < JITTER_EDGE * med[b])
			f->has_edge = true;
		for (k = b - d->jit_bins; k <= b + d->jit_bins; k++) {
			int kk = k < 0 ? k + B : k >= B ? k - B : k;

			if (f->prof[kk] > pmax)
				pmax = f->prof[kk];
		}
		/* the hour before a silence is learnt from only where the rate is
		 * steady: no edge, and the mean nowhere near well above the median
		 * (a spike that comes at another hour each day) */
		f->steady[b] = m >= JITTER_EDGE * med[b] && pmax <= STEADY_MEAN * med[b];
	}
	/* the log profile, for how far the next days' edges stray (only an
	 * edge that is no sleep's asks) */
	if (f->has_edge && !f->sleeps)
		for (b = 0; b < B; b++)
			f->lprof[b] = log(f->prof[b] / floored);

	/* hour-level dispersion, day levels */
	for (h = 0; h < 24; h++) {
		eh[h] = 0;
		for (i = 0; i < n; i++)
			eh[h] += days[i]->hsum[h];
		eh[h] /= n;
	}
	f->inv_kh = 0;
	f->sd2_day = SD_DAY_PRIOR * SD_DAY_PRIOR;
	f->sd2_block = SD_BLOCK_PRIOR * SD_BLOCK_PRIOR;
	if (n >= 2) {
		double corr = (double)n / (n - 1), lvl[MAX_HIST], vlog, vb = 0, eb[4] = { 0 };
		int nb = 0, j;

		num = den = 0;
		tot = 0;
		for (h = 0; h < 24; h++) {
			tot += eh[h];
			eb[h / 6] += eh[h];
		}
		for (i = 0; i < n; i++) {
			double s = 0;

			for (h = 0; h < 24; h++)
				s += days[i]->hsum[h];
			lvl[i] = tot > 0 ? s / tot : 1;
			if (lvl[i] <= 0)
				lvl[i] = 1e-3;
		}
		/* hour-level dispersion for silences, from the hours that fell
		 * below their day's level x profile: on Anscombe's scale,
		 * z = 2 (sqrt(x + 3/8) - sqrt(lambda + 3/8)) has variance 1 for
		 * Poisson counts and about 1 + lambda / k for gamma-mixed ones, so
		 * 1/k is the excess of z^2 over 1, per unit lambda. Only the lower
		 * side: what matters for a silence is how low an hour can go, and
		 * the upper side (a spike that came at another hour) says nothing
		 * about that. */
		{
			double zn = 0, zd = 0;
			int nlow = 0;

			for (i = 0; i < n; i++)
				for (h = 0; h < 24; h++) {
					double lam = lvl[i] * eh[h], x = days[i]->hsum[h], z;

					if (lam < 2 || x >= lam ||
					    (i == 0 && tail_open && (h + 1) * B / 24 > f->tail_bin))
						continue;
					z = 2 * (sqrt(x + 0.375) - sqrt(lam + 0.375));
					zn += z * z - 1;
					zd += lam;
					nlow++;
				}
			if (nlow >= 12 && zd > 0) {
				f->inv_kh = zn / zd * corr;
				if (f->inv_kh < 0)
					f->inv_kh = 0;
				if (f->inv_kh > 10)
					f->inv_kh = 10;
			}
		}
		/* day-to-day variance of the log level: how far recent days fell
		 * from what the profile before them predicted (out of sample),
		 * robustly (median absolute deviation: a change of level is one
		 * outlier, not a larger variance) */
		if (f->n_dev >= 3) {
			int nd = f->n_dev < DEV_DAYS ? f->n_dev : DEV_DAYS;
			double dv[DEV_DAYS], mid;

			for (i = 0; i < nd; i++)
				dv[i] = f->dev[i];
			mid = an_median(dv, (size_t)nd);
			for (i = 0; i < nd; i++)
				dv[i] = fabs(f->dev[i] - mid);
			vlog = 1.4826 * an_median(dv, (size_t)nd);
			vlog *= vlog;
			f->sd2_day = (nd * vlog + SD_PRIOR_DAYS * SD_DAY_PRIOR * SD_DAY_PRIOR) / (nd + SD_PRIOR_DAYS);
		}
		/* 6-hour blocks against their day: spikes that wander, bursts,
		 * counting noise (blocks expecting little are left out) */
		for (i = 0; i < n; i++)
			for (j = 0; j < 4; j++) {
				double x = 0, r;

				if (eb[j] < 0.1 * tot || eb[j] < 5)
					continue;
				for (h = 6 * j; h < 6 * j + 6; h++)
					x += days[i]->hsum[h];
				r = (x + 0.5) / (eb[j] * lvl[i] + 0.5);
				vb += log(r) * log(r);
				nb++;
			}
		f->sd2_block = (vb + SD_PRIOR_BLOCKS * SD_BLOCK_PRIOR * SD_BLOCK_PRIOR) / (nb + SD_PRIOR_BLOCKS);
	}

	/* the surprise a silence needs */
	opp = 0;
	for (b = 0; b < B; b++)
		opp += d->spb * (1 - exp(-(double)f->prof[b]));
	opp *= 365.25;
	if (opp < 365)
		opp = 365;
	f->s_req = log(opp / d->cfg.false_alarms_per_year);
	silence_dispersion(d, f);
	f->kh = f->inv_ks > 0 ? 1 / f->inv_ks : 0;
	/* the silences recent days held: as the detector judged them then,
	 * and as a model learnt from the other days judges them (a family
	 * that rests for hours between campaigns rested so before it was
	 * armed too, and the profile learnt with a rest in it explains it) */
	f->s_hist = 0;
	for (i = 0; i < n; i++) {
		double s = history_silence(d, f, (const double (*)[MAX_BINS])win, wmax, n, i, days[i],
					   day_level[i], jit, f->s_req);

		/* out of sample, only a silence this model would have called a
		 * cessation (a false alarm) counts: lesser ones are within its
		 * budget */
		if (s < f->s_req)
			s = 0;
		if (days[i]->max_gap > s)
			s = days[i]->max_gap;
		if (s > f->s_hist)
			f->s_hist = s;
	}
	if (!f->armed)
		f->armed_from = (f->day + 1) * d->spd;
	f->armed = true;
}

/* this hour's messages and cess prediction, up to slot k, from the ring */
static void pre_recompute(const struct analysis_detector *d, struct fam *f, int64_t k)
{
	int64_t j;

	f->pre_n = f->pre_m = 0;
	for (j = floor_div(k, d->sph) * d->sph; j <= k; j++) {
		if (j < d->first_slot)
			continue;
		f->pre_n += f->ring[j & (RING - 1)];
		f->pre_m += f->armed ? f->cess[bin_of(d, j)] * f->wf[an_weekday(floor_div(j, d->spd))] : 0;
	}
}

/* the day's total into the weekly rhythm's ring; the rhythm relearnt */
static void weekly_learn(struct fam *f, double total)
{
	double tot[WK_DAYS], wf[7];
	bool valid[WK_DAYS];
	int64_t day;
	size_t i = 0;

	if (f->wk_any)
		for (day = f->wk_last + 1; day < f->day && day <= f->wk_last + WK_DAYS; day++)
			f->wk_valid[mod_pos(day, WK_DAYS)] = false;   /* days never closed */
	/* days in the ceased state count too: a family that rests every
	 * weekend is called ceased on its first ones, and only its weekends
	 * show the rhythm (a takedown's silent weeks say nothing: a week
	 * sending less than AN_WEEK_MIN_MEAN a day is left out) */
	f->wk_tot[mod_pos(f->day, WK_DAYS)] = total;
	f->wk_valid[mod_pos(f->day, WK_DAYS)] = !f->cur_partial;
	f->cur_partial = false;
	if (!f->wk_any) {
		for (day = f->day - WK_DAYS + 1; day < f->day; day++)
			f->wk_valid[mod_pos(day, WK_DAYS)] = false;
		f->wk_any = true;
	}
	f->wk_last = f->day;
	if (f->day <= f->wf_held_until)
		return;
	for (day = f->day - WK_DAYS + 1; day <= f->day; day++, i++) {
		tot[i] = f->wk_tot[mod_pos(day, WK_DAYS)];
		valid[i] = f->wk_valid[mod_pos(day, WK_DAYS)];
	}
	/* a rhythm held is let go only after WK_LETGO midnights in a row
	 * that find none (each flip rescales the whole model); too little
	 * data changes nothing */
	switch (an_weekly_factors(tot, valid, WK_DAYS, f->day - WK_DAYS + 1, wf)) {
	case AN_WEEK_FOUND:
		memcpy(f->wf, wf, sizeof(f->wf));
		f->wk_fails = 0;
		break;
	case AN_WEEK_NONE:
		if (++f->wk_fails >= WK_LETGO)
			memcpy(f->wf, wf, sizeof(f->wf));
		break;
	case AN_WEEK_UNKNOWN:
		break;
	}
	wf_changed(f);
}

/* the day's isolated minutes (see refit: clumps), each against the rate
 * around it (its bin and six either side, within the day) */
static void isolated_minutes(const struct analysis_detector *d, const struct fam *f, struct hist_day *hd)
{
	enum { SIDE = 6 };
	int64_t k0 = f->day * d->spd, k;

	hd->iso_x = hd->iso_e = 0;
	if (d->step != 60 || d->spd > RING)
		return;
	for (k = k0 + 1; k < k0 + d->spd - 1; k++) {
		uint32_t x = f->ring[k & (RING - 1)];
		int b, b0, b1;
		double win = 0, m;

		if (x == 0 || f->ring[(k - 1) & (RING - 1)] || f->ring[(k + 1) & (RING - 1)] || k <= d->first_slot)
			continue;
		b = (int)((k - k0) / d->spb);
		b0 = b - SIDE < 0 ? 0 : b - SIDE;
		b1 = b + SIDE >= d->bins ? d->bins - 1 : b + SIDE;
		for (b = b0; b <= b1; b++)
			win += hd->bins[b];
		m = (win - x) / (double)((b1 - b0 + 1) * d->spb - 1);
		hd->iso_x += x;
		hd->iso_e += m > 1e-9 ? m / -expm1(-m) : 1;
	}
}

static void close_day(struct analysis_detector *d, struct fam *f, int64_t k)
{
	double total = 0, w;
	int h;

	for (h = 0; h < 24; h++)
		total += f->cur.hsum[h];
	w = f->wf[an_weekday(f->day)];
	if (f->armed && !f->cur_excluded && total > 0 && f->ehod_mean > 0 && w >= WF_LEARN) {
		/* against what the profile and the weekday predicted */
		f->dev[f->dev_next] = log(total / (24 * f->ehod_mean * w));
		f->dev_day[f->dev_next] = f->day;
		f->dev_next = (f->dev_next + 1) % DEV_DAYS;
		if (f->n_dev < DEV_DAYS)
			f->n_dev++;
	}
	if (!f->cur_excluded && total > 0) {
		isolated_minutes(d, f, &f->cur);
		f->cur.day = f->day;
		f->cur.strayed = day_strayed(d, f, &f->cur);
		f->hist[f->hist_next] = f->cur;
		f->hist_next = (f->hist_next + 1) % MAX_HIST;
		if (f->n_hist < MAX_HIST)
			f->n_hist++;
		for (f->tail_bin = d->bins; f->tail_bin > 0 && f->cur.bins[f->tail_bin - 1] == 0; f->tail_bin--)
			;
		f->tail_day = f->tail_bin < d->bins ? f->day : INT64_MIN;
	}
	weekly_learn(f, total);
	memset(&f->cur, 0, sizeof(f->cur));
	f->cur_excluded = f->state == ST_CEASED;
	refit(d, f);
	pre_recompute(d, f, k - 1);
}

/* ------------------------------------------------------------------ */
/* silences */

static double s_req_of(const struct fam *f)
{
	double s = f->s_req;

	if (f->s_hist + HIST_MARGIN > s)
		s = f->s_hist + HIST_MARGIN;
	return s;
}

static double current_level(const struct fam *f)
{
	double slow = (f->ew_obs + LEVEL_PRIOR) / (f->ew_exp + LEVEL_PRIOR);
	double fast = (f->fw_obs + LEVEL_PRIOR) / (f->fw_exp + LEVEL_PRIOR);

	/* a silence just after a fall of the rate is judged by the rate after
	 * the fall; but only a fall the last hour shows (its count unlikely at
	 * the slow level): the lower of two noisy views, always, would
	 * understate a steady family's rate by a tenth and delay every
	 * cessation by as much */
	if (fast < slow) {
		double m = f->fw_exp * slow, short_by = m - f->fw_obs;

		/* (m - obs) / sqrt(m) > z: the normal approximation of the
		 * Poisson test (it runs at every message; squared, no root) */
		if (short_by > 0 && short_by * short_by > FAST_FALL_Z * FAST_FALL_Z * m)
			return fast;
	}
	return slow;
}

static void gap_open_at(const struct fam *f, struct gap *g, int64_t slot, int64_t hour, bool learn, double raw)
{
	static const struct an_sumsq no_sq;

	/* field by field: this runs at every slot with a message, and a memset
	 * of the whole window is a `rep stos`, slow to start */
	g->acc = g->lam_b = g->lam = g->lb2i = g->lam_lvl = 0;
	g->obs = 0;
	g->sq_b = no_sq;
	g->sq = no_sq;
	g->start = slot;
	g->blk = g->first_blk = hour;
	g->raw = raw < LEVEL_MIN ? LEVEL_MIN : raw > 2 ? 2 : raw;
	g->level = g->raw > 1 ? 1 : g->raw;
	/* the posterior, when the hour so far is one to learn from: not the
	 * first slot of an hour, and not far above what cess predicts (a spike
	 * or a burst that has just ended says nothing of the rate after it) */
	if (f->inv_ks > 0 && learn && f->pre_m > 0 && f->pre_n <= POST_TRUST * f->pre_m) {
		g->post_mean = (f->kh + f->pre_n) / (f->kh + f->pre_m);
		g->post_inv = 1 / (f->kh + f->pre_n);
	} else {
		g->post_mean = 1;
		g->post_inv = f->inv_ks;
	}
	/* never above the family's current level (at most 1) */
	if (g->post_mean > g->level)
		g->post_mean = g->level;
	g->inv_b = g->post_inv;
}

static void gap_open(const struct analysis_detector *d, const struct fam *f, struct gap *g, int64_t slot, double raw)
{
	gap_open_at(f, g, slot, floor_div(slot, d->sph), false, raw);
}

/* the gap that opens after slot sl */
static void gap_open_after(const struct analysis_detector *d, const struct fam *f, struct gap *g,
			   const struct slot *sl, double raw)
{
	bool next_hour = sl->pos == d->sph - 1;

	gap_open_at(f, g, sl->k + 1, next_hour ? sl->hour + 1 : sl->hour, !next_hour && f->armed && f->steady[sl->bin],
		    raw);
}

static double block_surprise(const struct fam *f, double lam, const struct an_sumsq *sq, double inv_shape)
{
	if (lam <= 0)
		return 0;
	/* the arrivals' count: messages over the clump index (the excess
	 * per mean squared is the same on either scale) */
	return an_nb_zero_surprise(lam / f->clump, inv_shape + an_sumsq_excess(sq, &f->sdisp) / (lam * lam));
}

/* one more slot k of silence (or of stragglers), in hour blk, with cess
 * mu_c and profile mu_l */
static void gap_add(const struct analysis_detector *d, const struct fam *f, struct gap *g, int64_t k,
		    int64_t blk, double mu_c, double mu_l)
{
	double mu;

	if (blk != g->blk) {
		g->acc += block_surprise(f, g->lam_b, &g->sq_b, g->inv_b);
		g->lb2i += g->lam_b * g->lam_b * g->inv_b;
		g->lam_b = 0;
		memset(&g->sq_b, 0, sizeof(g->sq_b));
		g->blk = blk;
		g->inv_b = f->inv_ks;
	}
	mu = (blk == g->first_blk ? g->post_mean : g->level) * mu_c;
	g->lam_b += mu;
	an_sumsq_add(&g->sq_b, k * d->step, mu);
	g->lam += mu;
	an_sumsq_add(&g->sq, k * d->step, mu);
	g->lam_lvl += g->raw * mu_l;
}

/* the surprise of a silence window under the family's model */
static double gap_surprise(const struct fam *f, const struct gap *g)
{
	double s = g->acc + block_surprise(f, g->lam_b, &g->sq_b, g->inv_b);

	if (g->obs > 0 && g->lam > 0) {
		double lb2i = g->lb2i + g->lam_b * g->lam_b * g->inv_b;
		double inv = (lb2i + an_sumsq_excess(&g->sq, &f->sdisp)) / (g->lam * g->lam);

		s -= an_nb_tail_gain(g->obs, g->lam / f->clump, inv);
		if (s < 0)
			s = 0;
	}
	return s;
}

static bool gap_allows(const struct analysis_detector *d, const struct gap *g)
{
	/* stragglers: at most the cease fraction of the smaller expectation
	 * (the silence model's, or the profile's at the current level) */
	return (double)g->obs <= floor(d->cfg.cease_fraction * fmin(g->lam, g->lam_lvl)) + 1;
}

/* ------------------------------------------------------------------ */
/* events */

static struct queued *queue_event(struct analysis_detector *d, size_t fi, enum analysis_event_type type)
{
	struct queued *qe;

	if (d->n_q == d->cap_q) {
		d->cap_q = d->cap_q ? 2 * d->cap_q : 8;
		d->q = xreallocarray(d->q, d->cap_q, sizeof(struct queued));
	}
	qe = &d->q[d->n_q++];
	memset(qe, 0, sizeof(*qe));
	qe->ev.family = fi;
	qe->ev.type = type;
	qe->ev.impact.total_change_day_over_day = NAN;
	qe->ev.impact.total_change_vs_baseline = NAN;
	qe->ev.impact.lo95 = qe->ev.impact.hi95 = qe->ev.impact.hours = NAN;
	qe->ex.fed_slot = d->next_slot;
	return qe;
}

static float *copy_profile(const struct analysis_detector *d, const float *p)
{
	float *c = xreallocarray(NULL, (size_t)d->bins, sizeof(float));

	memcpy(c, p, (size_t)d->bins * sizeof(float));
	return c;
}

static double ring_sum(const struct fam *f, int64_t from, int64_t to)
{
	double s = 0;
	int64_t k;

	for (k = from; k <= to; k++)
		s += f->ring[k & (RING - 1)];
	return s;
}

/* the messages of slots [a, b] from the ring, and the profile's
 * expectation of them in *e */
static double ring_expected(const struct analysis_detector *d, const struct fam *f, int64_t a, int64_t b, double *e)
{
	double o = 0;
	int64_t k;

	*e = 0;
	for (k = a; k <= b; k++) {
		o += f->ring[k & (RING - 1)];
		*e += f->prof[bin_of(d, k)] * f->wf[an_weekday(floor_div(k, d->spd))];
	}
	return o;
}

/* slots [w0, now] from the ring: counts and the profile's expectation */
static size_t ring_window(const struct analysis_detector *d, const struct fam *f, const float *profile, int64_t w0,
			  int64_t now, double **x, double **mu)
{
	size_t n = (size_t)(now - w0 + 1), i;

	*x = xmalloc(n * sizeof(double));
	*mu = xmalloc(n * sizeof(double));
	for (i = 0; i < n; i++) {
		(*x)[i] = f->ring[(w0 + (int64_t)i) & (RING - 1)];
		(*mu)[i] = profile[bin_of(d, w0 + (int64_t)i)] *
			   f->wf[an_weekday(floor_div(w0 + (int64_t)i, d->spd))];
	}
	return n;
}

static double clamp01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/*
 * A pause teaches no model that silence is normal: a day with a cessation
 * is no history. But a silence that began before the detector could judge
 * (its first event on day 3, with two days of history) leaves its day in
 * the history, closed as active, silent from the afternoon on: for as long
 * as it is history it caps the conservative profile of every afternoon at
 * nothing (twice its quietest day's), and a takedown there would wait for
 * midnight. So when such a cessation is sure, the days from the one its
 * silence began on are taken out of the history (and of the day-to-day
 * deviations) and the model refitted without them. The weekly rhythm
 * keeps them: a family that rests at weekends shows its rhythm only so.
 * (Done for every cessation, it moved the `at` of slow families and of
 * families that rest for hours: bench/events with 1-10 an hour, and with
 * campaigns, got false ceased.)
 */
static void unlearn_since(struct analysis_detector *d, struct fam *f, int64_t day0)
{
	bool dropped = false;

	while (f->n_hist > 0 && f->hist[mod_pos(f->hist_next - 1, MAX_HIST)].day >= day0) {
		f->hist_next = mod_pos(f->hist_next - 1, MAX_HIST);
		f->n_hist--;
		dropped = true;
	}
	while (f->n_dev > 0 && f->dev_day[mod_pos(f->dev_next - 1, DEV_DAYS)] >= day0) {
		f->dev_next = mod_pos(f->dev_next - 1, DEV_DAYS);
		f->n_dev--;
	}
	if (dropped)
		refit(d, f);
}

/* the family has ceased: g is the silence (or the low segment) that made it
 * sure, conf the confidence, need the surprise the decision needed */
static void cease(struct analysis_detector *d, size_t fi, int64_t now, const struct gap *g, double conf, double need,
		  bool by_silence)
{
	struct fam *f = d->fam[fi];
	int64_t before = (int64_t)CP_BEFORE_HOURS * d->sph, w0, k, at, floor;
	double raw = g->raw, mean_rate, *x, *mu;
	size_t n, cp, i;
	struct queued *qe;

	/* the window for the change point: enough before the silence to hold
	 * about 100 messages, within the ring */
	if (f->prof_mean > 0 && 100 / f->prof_mean > (double)before)
		before = (int64_t)(100 / f->prof_mean);
	if (before > 24 * d->sph)
		before = 24 * d->sph;
	w0 = g->start - before;
	if (now - w0 + 1 > RING - 1)
		w0 = now - (RING - 2);
	if (w0 < d->first_slot)
		w0 = d->first_slot;
	/* stragglers after the fall end the silence early: reach back, an hour
	 * at a time, to where the family was still sending */
	floor = g->start - AN_REACH_BACK_H * d->sph;
	if (floor < now - (RING - 2))
		floor = now - (RING - 2);
	if (floor < d->first_slot)
		floor = d->first_slot;
	while (w0 > floor) {
		double e, o = ring_expected(d, f, w0, g->start - 1, &e);

		if (an_still_sending(o, e))
			break;
		w0 = w0 - d->sph < floor ? floor : w0 - d->sph;
	}
	n = ring_window(d, f, f->prof, w0, now, &x, &mu);
	if (g->start - w0 >= 1) {
		cp = an_change_point_quiet(x, mu, n, 1, (size_t)(g->start - w0), 2 * d->cfg.cease_fraction, true);
		at = w0 + (int64_t)cp - 1;
		while (at > w0 && x[at - w0] == 0)
			at--;
		if (x[at - w0] == 0)
			at = g->start - 1;
		else
			at = w0 + (int64_t)an_cease_last((size_t)(at - w0), x, mu, n, d->cfg.cease_fraction);
	} else {
		at = g->start - 1;   /* older than the ring: the offline refinement places it */
	}
	free(x);
	free(mu);
	if (at + 1 < f->armed_from)
		unlearn_since(d, f, floor_div(at + 1, d->spd));

	qe = queue_event(d, fi, ANALYSIS_EVENT_CEASED);
	qe->ev.at = at * d->step;
	qe->ev.detected_at = (now + 1) * d->step;
	k = at - (int64_t)CP_BEFORE_HOURS * d->sph + 1;
	if (k < d->first_slot)
		k = d->first_slot;
	if (now - k >= RING)
		k = now - RING + 1;
	qe->ev.before_rate_per_hour = at >= k ? ring_sum(f, k, at) / ((double)(at - k + 1) / d->sph) : 0;
	qe->ev.after_rate_per_hour = now > at ? ring_sum(f, at + 1, now) / ((double)(now - at) / d->sph) : 0;
	qe->ev.confidence = conf;
	/* the old level to come back to is the one before the fall, not that
	 * of the stragglers after it, which the silence may have opened at */
	if (at >= k) {
		double e, o = ring_expected(d, f, k, at, &e);

		if (e > 0 && o / e > raw)
			raw = o / e > 2 ? 2 : o / e;
	}
	qe->ex.level = g->level;
	qe->ex.s_req = need;
	qe->ex.inv_kh = f->inv_ks;
	qe->ex.clump = f->clump;
	qe->ex.days = f->prof_days;
	qe->ex.disp = f->sdisp;
	qe->ex.profile = copy_profile(d, f->prof);
	memcpy(qe->ex.wf, f->wf, sizeof(qe->ex.wf));
	qe->ex.cess = copy_profile(d, f->cess);
	qe->ex.anchor = g->start * d->step;
	qe->ex.by_silence = by_silence;

	/* the ceased state: the old level to come back to */
	for (i = 0; i < (size_t)d->bins; i++)
		f->ref[i] = (float)(raw * f->prof[i]);
	mean_rate = raw * f->prof_mean;
	f->res_w = (int64_t)ceil(60 / (mean_rate > 1e-9 ? mean_rate : 1e-9));
	if (f->res_w < (15 * 60) / d->step)
		f->res_w = (15 * 60) / d->step;
	if (f->res_w > 12 * d->sph)
		f->res_w = 12 * d->sph;
	if (f->res_w < 1)
		f->res_w = 1;
	f->res_cap = ceil(3 * raw * f->prof_max);
	if (f->res_cap < 1)
		f->res_cap = 1;
	f->res_o = f->res_e = 0;
	f->res_null = d->cfg.cease_fraction * mean_rate;
	/* tests: one per tenth of a window (they overlap) */
	f->res_s = log(365.25 * d->spd / fmax(1, f->res_w / 10.0) / d->cfg.false_alarms_per_year);
	f->stragglers = 0;
	f->cease_slot = now;
	f->cease_at = at;
	f->state = ST_CEASED;
	f->cur_excluded = true;
}

static void resume(struct analysis_detector *d, size_t fi, int64_t now, double s)
{
	struct fam *f = d->fam[fi];
	int64_t w0, at, k;
	double *x, *mu, tail;
	size_t n, cp;
	struct queued *qe;

	w0 = now - 3 * f->res_w - (int64_t)CP_BEFORE_HOURS * d->sph;
	if (w0 <= f->cease_slot)
		w0 = f->cease_slot + 1;
	if (now - w0 + 1 > RING - 1)
		w0 = now - (RING - 2);
	n = ring_window(d, f, f->ref, w0, now, &x, &mu);
	cp = an_change_point_quiet(x, mu, n, 0, n - 1, 2 * d->cfg.cease_fraction, false);
	at = w0 + (int64_t)cp;
	while (at < now && x[at - w0] == 0)
		at++;
	free(x);
	free(mu);
	tail = ring_sum(f, at, now);

	qe = queue_event(d, fi, ANALYSIS_EVENT_RESUMED);
	qe->ev.at = at * d->step;
	qe->ev.detected_at = (now + 1) * d->step;
	k = at - f->cease_at - 1;
	qe->ev.before_rate_per_hour = k > 0 ? (f->stragglers - tail) / ((double)k / d->sph) : 0;
	if (qe->ev.before_rate_per_hour < 0)
		qe->ev.before_rate_per_hour = 0;
	qe->ev.after_rate_per_hour = tail / ((double)(now - at + 1) / d->sph);
	qe->ev.confidence = clamp01(1 - d->cfg.false_alarms_per_year * exp(f->res_s - s));
	qe->ex.level = 1;
	qe->ex.profile = copy_profile(d, f->ref);
	memcpy(qe->ex.wf, f->wf, sizeof(qe->ex.wf));
	qe->ex.cess = copy_profile(d, f->ref);
	qe->ex.anchor = f->cease_at * d->step;

	f->state = ST_ACTIVE;
	f->cur_excluded = true;
	f->ew_obs = f->ew_exp = f->fw_obs = f->fw_exp = 0;
	pre_recompute(d, f, now);
	gap_open(d, f, &f->plain, now + 1, 1);
	gap_open(d, f, &f->tol, now + 1, 1);
	f->r0 = floor_div(at, d->sph) + 1;
}

/* the level (sum x / sum e) of hours [a, b] of the hourly ring */
struct seg {
	double o, e;
};

/* expected count of hours [a, b] at level 1 */
/* the weekly factors summed over days [d, d + n) */
static double wf_days(const struct fam *f, int64_t d, int64_t n)
{
	int w = an_weekday(d), rest = (int)(n % 7), end = w + rest;
	double part = end <= 7 ? f->wf_cum[end] - f->wf_cum[w]
			       : f->wf_cum[7] - f->wf_cum[w] + f->wf_cum[end - 7];

	return (double)(n / 7) * f->wf_cum[7] + part;
}

static double esum(const struct fam *f, int64_t a, int64_t b)
{
	int64_t da = floor_div(a, 24), db = floor_div(b, 24);
	int ha = (int)mod_pos(a, 24), hb = (int)mod_pos(b, 24);

	if (b < a)
		return 0;
	if (da == db)
		return (f->ecum[hb + 1] - f->ecum[ha]) * f->wf[an_weekday(da)];
	return (f->ecum[24] - f->ecum[ha]) * f->wf[an_weekday(da)] +
	       wf_days(f, da + 1, db - da - 1) * f->ecum[24] + f->ecum[hb + 1] * f->wf[an_weekday(db)];
}

/* the expected count of hour h at level 1 */
static double ehour(const struct fam *f, int64_t h)
{
	return f->ehod[mod_pos(h, 24)] * f->wf[an_weekday(floor_div(h, 24))];
}

static struct seg hseg(const struct fam *f, int64_t a, int64_t b)
{
	struct seg s = { 0, 0 };

	if (b < a)
		return s;
	s.o = f->hcum[b & (HRING - 1)] - f->hcum[(a - 1) & (HRING - 1)];
	s.e = esum(f, a, b);
	return s;
}

/* variance of the log level of hours [a, b]: the day-to-day variance
 * weighted by each day's share of the expectation, the 6-hour block
 * variance for the segment's length, and counting noise */
static double hseg_var(const struct fam *f, int64_t a, int64_t b, struct seg s)
{
	double w2 = 0, len = (double)(b - a + 1);
	int64_t day;

	if (s.e <= 0)
		return INFINITY;
	/* each day's share of the segment's expectation */
	for (day = floor_div(a, 24); day <= floor_div(b, 24); day++) {
		int64_t from = day * 24 > a ? day * 24 : a, to = day * 24 + 23 < b ? day * 24 + 23 : b;
		double part = esum(f, from, to) / s.e;

		w2 += part * part;
	}
	return f->sd2_day * w2 + f->sd2_block * (len < 6 ? 1 : 6 / len) + 1 / (s.o > 1 ? s.o : 1);
}

/* the median over hours [a, b] (not sleeping ones) of count / expected */
static double hour_median_ratio(const struct fam *f, int64_t a, int64_t b)
{
	double r[HRING];
	int n = 0;
	int64_t h;

	for (h = a; h <= b && n < HRING; h++) {
		double e = ehour(f, h);

		if (e >= 0.25 * f->ehod_mean && e > 0)
			r[n++] = f->hx[h & (HRING - 1)] / e;
	}
	if (n == 0)
		return NAN;
	return an_median(r, (size_t)n);
}

static double xlogy_ratio(double o, double r)
{
	return o > 0 && r > 0 ? o * log(r) : 0;
}

/* the hours of day hd before hour of day `until` (all: 24), times r */
static void scale_day(const struct analysis_detector *d, struct hist_day *hd, int until, double r)
{
	int h, b, bph = d->bins / 24;

	for (h = 0; h < until; h++) {
		for (b = h * bph; b < (h + 1) * bph; b++)
			hd->bins[b] = (uint32_t)lround(hd->bins[b] * r);
		hd->hsum[h] *= r;
		hd->hsq[h] *= r * r;
	}
}

/*
 * A change of level by r at hour c, confirmed: the history before it is
 * brought to the new level, so the model expects the new level at once
 * (else for a week of refits every day would look off by part of r, and
 * those days would inflate the day-to-day variance that the next change is
 * judged by); the days since the change were judged by the old level, and
 * are forgotten as deviations.
 */
static void level_rebase(struct analysis_detector *d, struct fam *f, int64_t now, int64_t c, double r)
{
	int64_t cday = floor_div(c, 24);
	int ch = (int)mod_pos(c, 24), i, n = 0;

	for (i = 0; i < f->n_hist; i++) {
		struct hist_day *hd = &f->hist[mod_pos(f->hist_next - 1 - i, MAX_HIST)];

		if (hd->day <= cday)
			scale_day(d, hd, hd->day < cday ? 24 : ch, r);
	}
	if (f->day == cday)
		scale_day(d, &f->cur, ch, r);
	for (i = 0; i < (f->n_dev < DEV_DAYS ? f->n_dev : DEV_DAYS); i++)
		if (f->dev_day[i] < cday) {
			f->dev[n] = f->dev[i];
			f->dev_day[n++] = f->dev_day[i];
		}
	f->n_dev = n;
	f->dev_next = n % DEV_DAYS;
	f->ew_obs = f->ew_exp = f->fw_obs = f->fw_exp = 0;
	refit(d, f);
	pre_recompute(d, f, now);
}

/*
 * Hours [c, hour] held o messages where the old level a expected more: is
 * so few as surprising as a silence must be (s_req_of), under the
 * family's hour-level dispersion (each hour's own gamma multiplier: a
 * moment-matched negative binomial over the hours)?
 */
static bool fall_beyond_bursts(const struct fam *f, int64_t c, int64_t hour, double a, double o)
{
	double lam = 0, lam2 = 0, inv;
	int64_t h;

	for (h = c; h <= hour; h++) {
		double e = a * ehour(f, h);

		lam += e;
		lam2 += e * e;
	}
	if (lam <= 0)
		return false;
	inv = f->inv_kh * lam2 / (lam * lam);
	lam /= f->clump;   /* arrivals, not messages */
	o /= f->clump;
	return an_nb_zero_surprise(lam, inv) - an_nb_tail_gain((unsigned long)(o + 0.5), lam, inv) >= s_req_of(f);
}

/*
 * A drop whose later hours end in a silence still going on may be a
 * cessation that the silence test has not decided yet: a sparse family's
 * takes many hours, and meanwhile the silence pulls the later level down
 * (rustock-2011 seed 1: lethic, 6 an hour in clumps of 4-8, taken down at
 * 08:23, read as a drop at 20:06 the evening before once 16 hours of its
 * silence were in the later side). It must be a drop without the
 * silence: the hours up to its last message pass on their own (at least
 * level_min_hours of them, the fall, z). A silence that expected little
 * (a sleep) is left in. pre and post: hours [pa, c) and [c, hour].
 */
static bool drop_before_silence(const struct analysis_detector *d, const struct fam *f, int64_t now, int64_t c,
				int64_t hour, double a, int64_t pa, struct seg pre, struct seg post)
{
	int64_t k, lim = now - RING + 1 > c * d->sph ? now - RING + 1 : c * d->sph, hk;
	struct seg seg;
	double b, z;

	for (k = now; k >= lim && f->ring[k & (RING - 1)] == 0; k--)
		;
	if (k < lim)
		return false;
	hk = floor_div(k, d->sph);
	if (hk >= hour)
		return true;
	if (esum(f, hk + 1, hour) < post.e / 3)
		return true;
	if (hk - c + 1 < d->cfg.level_min_hours)
		return false;
	seg = hseg(f, c, hk);
	if (seg.e <= 0 || seg.o <= 0)
		return false;
	b = seg.o / seg.e;
	z = fabs(log(b / a)) / sqrt(hseg_var(f, pa, c - 1, pre) + hseg_var(f, c, hk, seg));
	return b <= (1 - d->cfg.level_change) * a && z >= LEVEL_Z;
}

/* scan the level series ending with hour `hour` (just completed) */
static void level_scan(struct analysis_detector *d, size_t fi, int64_t now, int64_t hour)
{
	static const int64_t filter_len[] = { 6, 24, 72 };
	struct fam *f = d->fam[fi];
	int64_t minh = d->cfg.level_min_hours, c, c_lo, c_hi, best_c = -1, lo, i;
	double best = -INFINITY, lo_ratio = 1 - d->cfg.level_change, hi_ratio = 1 + d->cfg.level_change;
	double min_e = 0.5 * (double)minh * f->ehod_mean;
	struct seg pre, post;
	double a, b, r, z, v, mid;
	int on_side = 0, counted = 0;
	bool drop, suspect = false;
	enum analysis_event_type type;
	int64_t best_k;
	double conf;
	struct queued *qe;

	if (hour - f->r0 + 1 < 2 * minh || f->hours_seen < 2 * minh)
		return;
	/* the hours that can matter */
	lo = hour - LEVEL_SCAN_BACK - LEVEL_PRE_HOURS + 1;
	if (lo < f->r0)
		lo = f->r0;
#define SEG_O(x, y) (f->hcum[(y) & (HRING - 1)] - f->hcum[((x) - 1) & (HRING - 1)])
#define SEG_E(x, y) esum(f, (x), (y))
	/* cheap filter: the last 6, 24 or 72 hours against the week before */
	for (i = 0; i < (int64_t)(sizeof(filter_len) / sizeof(filter_len[0])) && !suspect; i++) {
		int64_t from = hour - filter_len[i] + 1, pa = from - LEVEL_PRE_HOURS;
		double eo, ee, ro, re;

		if (from - lo < minh)
			break;
		if (pa < lo)
			pa = lo;
		eo = SEG_O(from, hour);
		ee = SEG_E(from, hour);
		ro = SEG_O(pa, from - 1);
		re = SEG_E(pa, from - 1);
		if (ee < min_e || re < min_e || ro <= 0)
			continue;
		r = (eo / ee) / (ro / re);
		if (r > 0.85 && r < 1.18)
			continue;
		/* and not hopeless: near the z a change needs */
		post.o = eo;
		post.e = ee;
		pre.o = ro;
		pre.e = re;
		v = hseg_var(f, pa, from - 1, pre) + hseg_var(f, from, hour, post);
		suspect = fabs(log(r > 0 ? r : 1e-3)) / sqrt(v) >= LEVEL_Z - 1;
	}
	if (!suspect)
		return;

	c_lo = hour - LEVEL_SCAN_BACK + 1;
	if (c_lo < f->r0 + minh)
		c_lo = f->r0 + minh;
	c_hi = hour - minh + 1;
	for (c = c_lo; c <= c_hi; c++) {
		int64_t pa = c - LEVEL_PRE_HOURS < lo ? lo : c - LEVEL_PRE_HOURS;
		double m, ll;

		pre.o = SEG_O(pa, c - 1);
		pre.e = SEG_E(pa, c - 1);
		post.o = SEG_O(c, hour);
		post.e = SEG_E(c, hour);
		/* each side must expect at least half its minimum length of
		 * average hours: six hours of sleep say nothing of the level */
		if (pre.e < min_e || post.e < min_e)
			continue;
		a = pre.o / pre.e;
		b = post.o / post.e;
		m = (pre.o + post.o) / (pre.e + post.e);
		if (m <= 0)
			continue;
		ll = xlogy_ratio(pre.o, a / m) + xlogy_ratio(post.o, b / m);
		if (ll > best) {
			best = ll;
			best_c = c;
		}
	}
#undef SEG_O
#undef SEG_E
	if (best_c < 0)
		return;
	c = best_c;
	{
		int64_t pa = c - LEVEL_PRE_HOURS < f->r0 ? f->r0 : c - LEVEL_PRE_HOURS;

		pre = hseg(f, pa, c - 1);
		post = hseg(f, c, hour);
		if (pre.o <= 0)
			return;
		a = pre.o / pre.e;
		b = post.o / post.e;
		r = b / a;
		/* a fall to almost nothing is a cessation (over so few messages a
		 * rate cannot tell 5 % from 10 %): the safety net of low-rate
		 * families, whose silences are broken by stragglers */
		if (r <= 2 * d->cfg.cease_fraction)
			type = ANALYSIS_EVENT_CEASED;
		else if (r <= lo_ratio)
			type = ANALYSIS_EVENT_DROP;
		else if (r >= hi_ratio)
			type = ANALYSIS_EVENT_SURGE;
		else
			return;
		drop = r <= lo_ratio;
		v = hseg_var(f, pa, c - 1, pre) + hseg_var(f, c, hour, post);
		z = post.o > 0 ? fabs(log(r)) / sqrt(v) : INFINITY;
		if (z < LEVEL_Z)
			return;
		/* sustained: most later hours on the new side */
		mid = sqrt(a * (b > 0 ? b : a * 1e-3));
		for (int64_t h = c; h <= hour; h++) {
			double e = ehour(f, h), x = f->hx[h & (HRING - 1)];

			if (e < 0.1 * post.e / (double)(hour - c + 1))
				continue;
			counted++;
			if (drop ? x / e < mid : x / e > mid)
				on_side++;
		}
		if (counted == 0 || on_side < LEVEL_SUSTAINED * counted)
			return;
		/* and the typical hour moved too, not a few extreme ones (a daily
		 * spike that came early or late, a burst) */
		{
			double rm = hour_median_ratio(f, c, hour) / hour_median_ratio(f, pa, c - 1);

			if (!(drop ? rm <= lo_ratio : rm >= hi_ratio))
				return;
		}

		/* a fall to almost nothing is a cessation only as unlikely under
		 * the family's hour-level bursts as a silence must be: a family
		 * that sends in campaigns rests for hours at a time */
		if (type == ANALYSIS_EVENT_CEASED && !fall_beyond_bursts(f, c, hour, a, post.o))
			return;
		if (type == ANALYSIS_EVENT_DROP && !drop_before_silence(d, f, now, c, hour, a, pa, pre, post))
			return;
		/* confirmed: the same change (type, change point within half a
		 * day) still passes every test LEVEL_CONFIRM_H hours after it
		 * first did; a single odd day does not */
		if (f->pend_type < 0 || hour - f->pend_hour > LEVEL_CONFIRM_H * 3 || f->pend_type != (int)type ||
		    llabs(c - f->pend_c) > LEVEL_CONFIRM_H) {
			f->pend_type = (int)type;
			f->pend_c = c;
			f->pend_hour = hour;
			return;
		}
		if (hour - f->pend_hour < LEVEL_CONFIRM_H)
			return;
		f->pend_type = -1;
		conf = clamp01(1 - erfc(z / sqrt(2.0)) * (double)(c_hi - c_lo + 1));
		/* refine to the slot within +-1 h of the hour boundary */
		{
			int64_t s0 = c * d->sph - d->sph, s1 = c * d->sph + d->sph, k;
			double cum = 0, best_v = -INFINITY, la = log(a), lb = log(b > 0 ? b : 1e-9);

			best_k = c * d->sph;
			if (s0 < d->first_slot)
				s0 = d->first_slot;
			if (now - s0 >= RING)
				s0 = now - RING + 1;
			if (s1 > now)
				s1 = now;
			/* ll(k) = sum_{s0<=t<k} (x la - a mu) + sum_{k<=t<=s1} (x lb - b mu);
			 * up to a constant, cum(k) = sum_{t<k} [x (la - lb) - (a - b) mu] */
			for (k = s0; k <= s1; k++) {
				double x = f->ring[k & (RING - 1)],
				       mu = f->prof[bin_of(d, k)] * f->wf[an_weekday(floor_div(k, d->spd))];

				if (cum > best_v) {
					best_v = cum;
					best_k = k;
				}
				cum += x * (la - lb) - (a - b) * mu;
			}
		}
		if (type == ANALYSIS_EVENT_CEASED) {
			struct gap g;

			memset(&g, 0, sizeof(g));
			g.start = best_k;
			g.raw = a < LEVEL_MIN ? LEVEL_MIN : a > 2 ? 2 : a;
			g.level = g.raw > 1 ? 1 : g.raw;
			cease(d, fi, now, &g, conf, s_req_of(f), false);
			return;
		}
		qe = queue_event(d, fi, type);
		qe->ev.at = best_k * d->step;
		qe->ev.detected_at = (now + 1) * d->step;
		qe->ev.before_rate_per_hour = pre.o / (double)(c - pa);
		qe->ev.after_rate_per_hour = post.o / (double)(hour - c + 1);
		qe->ev.confidence = conf;
		qe->ex.level = a;
		qe->ex.profile = copy_profile(d, f->prof);
		memcpy(qe->ex.wf, f->wf, sizeof(qe->ex.wf));
		qe->ex.cess = copy_profile(d, f->cess);
		qe->ex.anchor = c * AN_HOUR;
		qe->ex.pre_from = pa * AN_HOUR;
		f->r0 = c;
		level_rebase(d, f, now, c, r);
	}
}

/* ------------------------------------------------------------------ */
/* one slot of one family */

static void step_family(struct analysis_detector *d, size_t fi, const struct slot *sl, uint32_t c)
{
	struct fam *f = d->fam[fi];
	int64_t k = sl->k, hour = sl->hour;
	int bin = sl->bin, hod = sl->hod;
	double mu_l, mu_c, wd;

	if (sl->day != f->day) {
		close_day(d, f, k);
		f->day = sl->day;
	}
	/* the day the sensor started late (its first message, of any family,
	 * after the first hour) is not history: what came before was not
	 * watched, and a partial day would teach the profile a sleep the
	 * families do not have (a store begins when its trap was started) */
	if (sl->day == d->late_start_day && !f->cur_partial) {
		f->cur_excluded = f->cur_partial = true;
	}
	/* so is the first day of a family that appears after the detector's
	 * first day, when its first message comes after the day's first hour:
	 * it had not begun (on the first day, a quiet morning may be its sleep) */
	if (c > 0 && !f->sent) {
		f->sent = true;
		if (hod >= 1 && sl->day != floor_div(d->first_slot, d->spd))
			f->cur_excluded = f->cur_partial = true;
	}
	if (c > 0)
		f->tail_day = INT64_MIN;   /* the silence a day ended in is over */
	f->ring[k & (RING - 1)] = c;
	f->cur.bins[bin] += c;
	f->cur.hsum[hod] += c;
	f->cur.hsq[hod] += (double)c * c;
	wd = f->wf[an_weekday(sl->day)];
	mu_l = f->armed ? f->prof[bin] * wd : 0;
	f->hour_x += c;

	if (f->state == ST_CEASED) {
		/* the null: 5 % of the old level, on this weekday */
		double cc = c < f->res_cap ? c : f->res_cap, e = f->res_null * wd;
		int64_t old = k - f->res_w;

		f->stragglers += c;
		f->res_o += cc;
		f->res_e += e;
		if (old > f->cease_slot) {
			double oc = f->ring[old & (RING - 1)];

			f->res_o -= oc < f->res_cap ? oc : f->res_cap;
			f->res_e -= f->res_null * f->wf[an_weekday(floor_div(old, d->spd))];
		}
		/* the count's surprise grows only when a message comes */
		if (c > 0 && f->res_o >= RESUME_MIN_MSGS && f->res_o > f->res_e && f->res_e > 0) {
			/* arrivals, not messages: one straggling bot's connection
			 * of six messages is one arrival */
			double ao = f->res_o / f->clump, ae = f->res_e / f->clump;
			double p = ao >= 1 ? gsl_cdf_poisson_Q((unsigned)(ao + 0.5) - 1, ae) : 1;
			double s = p > 0 ? -log(p) : 745;

			if (s >= f->res_s)
				resume(d, fi, k, s);
		}
	} else if (f->armed) {
		double lvl;
		f->ew_obs = f->ew_obs * d->decay + c;
		f->ew_exp = f->ew_exp * d->decay + mu_l;
		f->fw_obs = f->fw_obs * d->fast_decay + c;
		f->fw_exp = f->fw_exp * d->fast_decay + mu_l;
		mu_c = f->cess[bin] * wd;
		/* this hour so far */
		if (sl->pos == 0)
			f->pre_n = f->pre_m = 0;
		f->pre_n += c;
		f->pre_m += mu_c;
		if (c == 0) {
			double need = s_req_of(f);

			gap_add(d, f, &f->plain, k, hour, mu_c, mu_l);
			gap_add(d, f, &f->tol, k, hour, mu_c, mu_l);
			/* the surprise of a silence never exceeds its mean count */
			if (f->plain.lam >= need) {
				double s = gap_surprise(f, &f->plain);

				if (s >= need) {
					cease(d, fi, k, &f->plain,
					      clamp01(1 - d->cfg.false_alarms_per_year * exp(need - s)), need, true);
					goto hour_end;
				}
			}
			/* the tolerant window is a second test of the same silence:
			 * it needs twice the evidence (Bonferroni) */
			need += M_LN2;
			if (f->tol.obs > 0 && f->tol.lam >= need) {
				double s = gap_surprise(f, &f->tol);

				if (s >= need) {
					cease(d, fi, k, &f->tol,
					      clamp01(1 - d->cfg.false_alarms_per_year * exp(need - s)), need, true);
					goto hour_end;
				}
			}
		} else {
			/* the plain silence ends: remember how surprising it was */
			if (f->plain.lam > f->cur.max_gap) {
				double s = gap_surprise(f, &f->plain);

				if (s > f->cur.max_gap)
					f->cur.max_gap = s;
			}
			f->tol.obs += c;
			gap_add(d, f, &f->tol, k, hour, mu_c, mu_l);
			lvl = current_level(f);
			if (!gap_allows(d, &f->tol))
				gap_open_after(d, f, &f->tol, sl, lvl);
			gap_open_after(d, f, &f->plain, sl, lvl);
		}
	} else if (c > 0) {
		gap_open_after(d, f, &f->plain, sl, 1);
		gap_open_after(d, f, &f->tol, sl, 1);
	}
hour_end:
	if (sl->pos == d->sph - 1) {
		f->hx[hour & (HRING - 1)] = (float)f->hour_x;
		f->hcum[hour & (HRING - 1)] = f->hcum[(hour - 1) & (HRING - 1)] + f->hour_x;
		f->hour_x = 0;
		f->hours_seen++;
		if (f->armed && f->state == ST_ACTIVE)
			level_scan(d, fi, k, hour);
		else if (f->state == ST_CEASED || (!f->armed && (f->cur_excluded || !f->sent)))
			/* the history days the profile is learnt from stay, as
			 * reference; the hours before the family's first message
			 * do not (a family that appears has not surged) */
			f->r0 = hour + 1;
	}
}

static void slot_of(const struct analysis_detector *d, int64_t k, struct slot *sl)
{
	int64_t in_day = mod_pos(k, d->spd);

	sl->k = k;
	sl->day = floor_div(k, d->spd);
	sl->hour = floor_div(k, d->sph);
	sl->bin = (int)(in_day / d->spb);
	sl->hod = (int)(in_day / d->sph);
	sl->pos = (int)(in_day % d->sph);
}

/* the slot starting at t, which must be aligned and not before the next */
static bool next_slot_at(const struct analysis_detector *d, int64_t t, int64_t *k, char *err, size_t errlen)
{
	if (t % d->step != 0) {
		an_err(err, errlen, ANALYSIS_EINVAL, "slot time not aligned to %d seconds", d->step);
		return false;
	}
	*k = floor_div(t, d->step);
	if (*k < d->next_slot) {
		an_err(err, errlen, ANALYSIS_EINVAL, "slot fed out of order");
		return false;
	}
	return true;
}

/* slot k (aligned, not before the next) fed; any: a message of any of
 * the sensor's families came in it (which may be more families than d's) */
/*
 * The sensor's first day, judged at its end: its first message came within
 * the first hour, but later than the day's own rate makes likely (an
 * archive that begins at 00:58 with 200 messages an hour): the minutes
 * before it were not watched, and the day leaves the history as a late
 * start's does (else its first hour teaches the profile a lull, and a
 * silence at that hour five days on is no surprise).
 */
#define LATE_START_GAPS 20.0   /* expected arrivals missing before the first: e^-20 */

static void judge_first_day(struct analysis_detector *d, const struct slot *sl)
{
	int64_t day = floor_div(d->first_msg_slot, d->spd), m0 = mod_pos(d->first_msg_slot, d->spd);
	size_t i;

	if (d->first_day_judged || !d->sensor_started || sl->day == day)
		return;
	d->first_day_judged = true;
	if (m0 == 0 || m0 >= d->sph || d->late_start_day == day ||
	    d->first_day_msgs / (double)(d->spd - m0) * (double)m0 < LATE_START_GAPS)
		return;
	for (i = 0; i < d->n_fam; i++) {
		struct fam *f = d->fam[i];

		if (f->day != day)
			continue;
		f->cur_excluded = f->cur_partial = true;
		if (f->r0 < sl->hour)
			f->r0 = sl->hour;
	}
}

static void feed_slot(struct analysis_detector *d, int64_t k, const uint32_t *counts, bool any, double sensor_msgs)
{
	struct slot sl;
	size_t i;

	/* slots skipped count as silent */
	for (; d->next_slot < k; d->next_slot++) {
		slot_of(d, d->next_slot, &sl);
		judge_first_day(d, &sl);
		for (i = 0; i < d->n_fam; i++)
			step_family(d, i, &sl, 0);
	}
	slot_of(d, k, &sl);
	judge_first_day(d, &sl);
	if (any && !d->sensor_started) {
		d->sensor_started = true;
		d->first_msg_slot = k;
		/* the sensor's first message, after the first hour of its day:
		 * that day was only partly watched, for every family */
		d->late_start_day = mod_pos(k, d->spd) >= d->sph ? sl.day : INT64_MIN;
	}
	if (d->sensor_started && !d->first_day_judged)
		d->first_day_msgs += sensor_msgs;
	for (i = 0; i < d->n_fam; i++)
		step_family(d, i, &sl, counts ? counts[i] : 0);
	d->next_slot = k + 1;
}

enum analysis_status analysis_detector_feed(struct analysis_detector *d, int64_t t, const uint32_t *counts, char *err,
					    size_t errlen)
{
	int64_t k;
	bool any = false;
	size_t i;

	if (!next_slot_at(d, t, &k, err, errlen))
		return ANALYSIS_EINVAL;
	double msgs = 0;

	for (i = 0; counts && i < d->n_fam; i++)
		msgs += counts[i];
	any = msgs > 0;
	feed_slot(d, k, counts, any, msgs);
	return ANALYSIS_OK;
}

/*
 * Slots the sensor did not watch: nothing is learnt from them and no
 * silence grows in them. The family's current hour and day are cut short
 * (the day leaves the history, as a day not seen whole), the hours skipped
 * read as empty to the level series, whose regime starts again after the
 * gap (no change of level is judged across it), and a ceased family's
 * return is judged from the first slot watched again. A silence that began
 * before the gap goes on after it, counting only the slots watched.
 */
enum analysis_status analysis_detector_skip(struct analysis_detector *d, int64_t t, char *err, size_t errlen)
{
	int64_t k, h, first_h, last_h;
	size_t i;

	if (!next_slot_at(d, t, &k, err, errlen))
		return ANALYSIS_EINVAL;
	if (k == d->next_slot)
		return ANALYSIS_OK;
	first_h = floor_div(d->next_slot, d->sph);
	last_h = floor_div(k, d->sph);            /* the hour watched again, maybe in part */
	for (i = 0; i < d->n_fam; i++) {
		struct fam *f = d->fam[i];
		int64_t j;

		for (j = d->next_slot; j < k && j < d->next_slot + RING; j++)
			f->ring[j & (RING - 1)] = 0;
		/* the hours from the one cut short to the one resumed in: empty */
		for (h = first_h; h < last_h && h < first_h + HRING; h++) {
			f->hx[h & (HRING - 1)] = (float)(h == first_h ? f->hour_x : 0);
			f->hcum[h & (HRING - 1)] = f->hcum[(h - 1) & (HRING - 1)] + f->hx[h & (HRING - 1)];
		}
		if (last_h - first_h >= HRING)
			for (h = last_h - HRING; h < last_h; h++)
				f->hcum[h & (HRING - 1)] = f->hcum[(first_h - 1) & (HRING - 1)];
		if (last_h > first_h)
			f->hour_x = 0;
		f->r0 = last_h + 1;
		f->pend_type = -1;
		f->cur_excluded = f->cur_partial = true;
		if (f->state == ST_CEASED) {
			f->res_o = f->res_e = 0;
			f->cease_slot = k - 1;
		}
	}
	d->next_slot = k;
	/* the day watched again: seen in part too */
	d->late_start_day = mod_pos(k, d->spd) >= d->sph ? floor_div(k, d->spd) : INT64_MIN;
	for (i = 0; i < d->n_fam; i++)
		d->fam[i]->pre_n = d->fam[i]->pre_m = 0;   /* this hour so far: not seen */
	return ANALYSIS_OK;
}

void an_detector_feed_input(struct analysis_detector *d, const struct analysis_input *in,
			   const struct analysis_input *sensor)
{
	size_t n = analysis_input_slots(in), i, f, g = 0;
	uint32_t *row = xcalloc(d->n_fam ? d->n_fam : 1, sizeof(uint32_t));

	if (!sensor)
		sensor = in;
	for (i = 0; i < n; i++) {
		int64_t t = in->start + (int64_t)i * d->step;
		bool any = false;
		double msgs;

		if (g < in->n_gaps && t == in->gaps[g].from) {
			/* the sensor was down: skipped, not silent */
			analysis_detector_skip(d, in->gaps[g].to, NULL, 0);
			i = (size_t)((in->gaps[g].to - in->start) / d->step) - 1;
			g++;
			continue;
		}
		for (f = 0; f < d->n_fam; f++)
			row[f] = in->families[f].counts[i];
		/* the whole sensor's, until its first day is judged (the same
		 * in every part of a threaded run) */
		msgs = 0;
		for (f = 0; !d->first_day_judged && f < sensor->n_families; f++)
			msgs += sensor->families[f].counts[i];
		any = msgs > 0;
		feed_slot(d, t / d->step, row, any, msgs);
	}
	free(row);
}

enum analysis_status analysis_detector_seed(struct analysis_detector *d, const struct analysis_input *history,
					    char *err, size_t errlen)
{
	enum analysis_status st = analysis_input_check(history, err, errlen);
	size_t i;

	if (st != ANALYSIS_OK)
		return st;
	if (history->step != d->step || history->n_families != d->n_fam)
		return an_err(err, errlen, ANALYSIS_EINVAL, "history does not match the detector's step and families");
	if (history->start / d->step != d->next_slot)
		return an_err(err, errlen, ANALYSIS_EINVAL, "history does not start at the detector's next slot");
	an_detector_feed_input(d, history, NULL);
	for (i = 0; i < d->n_q; i++) {
		free(d->q[i].ex.profile);
		free(d->q[i].ex.cess);
	}
	d->n_q = 0;
	return ANALYSIS_OK;
}

size_t analysis_detector_poll(struct analysis_detector *d, struct analysis_event *out, size_t max)
{
	size_t n = d->n_q < max ? d->n_q : max, i;

	for (i = 0; i < n; i++) {
		out[i] = d->q[i].ev;
		free(d->q[i].ex.profile);
		free(d->q[i].ex.cess);
	}
	if (n > 0 && n < d->n_q)
		memmove(d->q, d->q + n, (d->n_q - n) * sizeof(struct queued));
	d->n_q -= n;
	return n;
}

size_t an_detector_take(struct analysis_detector *d, struct analysis_event **ev, struct an_event_extra **ex)
{
	size_t n = d->n_q, i;

	*ev = xreallocarray(NULL, n ? n : 1, sizeof(struct analysis_event));
	*ex = xreallocarray(NULL, n ? n : 1, sizeof(struct an_event_extra));
	for (i = 0; i < n; i++) {
		(*ev)[i] = d->q[i].ev;
		(*ex)[i] = d->q[i].ex;
	}
	d->n_q = 0;
	return n;
}
