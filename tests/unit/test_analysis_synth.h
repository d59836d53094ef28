/*
 * test_analysis_synth.h - synthetic per-minute family series with known
 * events, for the detector's tests and the analysis benchmark.
 *
 * A family's minute count is Poisson(rate x G_minute) with G_minute ~
 * Gamma(k_min, 1/k_min): over-dispersed ("gamma-mixed") counts. The rate is
 * the family's level x a diurnal sinusoid x an optional nightly sleep (start
 * and end jittered per night) x an optional daily spike (its hour jittered
 * per day) x a per-hour Gamma(k_hour) factor x a per-day log-normal factor,
 * changed by the scripted changes (cease, resume, level factor). After a
 * cessation a family may leave stragglers: isolated single messages at a
 * given rate. Everything is drawn from GSL's mt19937 with the given seed,
 * so a test is reproducible. Header-only: each test includes it once.
 *
 * The names of real families below are labels for shapes (illustrative);
 * the shapes are invented, not measured.
 */
#ifndef SPAMTIDE_TEST_ANALYSIS_SYNTH_H
#define SPAMTIDE_TEST_ANALYSIS_SYNTH_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "analysis/analysis.h"

enum synth_change_type { SYNTH_CEASE, SYNTH_RESUME, SYNTH_LEVEL };

struct synth_change {
	enum synth_change_type type;
	double at_day;         /* days from the series start (fractional) */
	double factor;         /* SYNTH_LEVEL: multiply the level by this */
};

#define SYNTH_MAX_CHANGES 8

struct synth_family {
	const char *name;
	double rate;           /* messages per hour at level 1, daily mean */
	double diurnal;        /* relative amplitude of the daily sinusoid */
	double peak_hour;      /* UTC hour of its maximum */
	double sleep_from, sleep_to, sleep_jitter;   /* hours; from < 0: none */
	double spike_mult, spike_hour, spike_len, spike_jitter;  /* mult 0: none */
	double k_min, k_hour;  /* gamma shapes; 0 = no mixing at that scale */
	double day_sd;         /* sd of the log daily level */
	double straggle_rate;  /* per hour while ceased */
	double start_day;      /* first day it sends (0 = from the start) */
	double weekend;        /* level on UTC Saturdays and Sundays (0: as other days) */
	double campaign_on, campaign_off;   /* hours: sends in runs of about this long, rests
					     * about this long between them (0: always on); each
					     * run drawn in [0.2, 1.8] x its mean */
	int n_changes;
	struct synth_change changes[SYNTH_MAX_CHANGES];
};

/* a true event, from the script and the drawn data */
struct synth_truth {
	size_t family;
	enum analysis_event_type type;
	int64_t at;
	double rate_around;    /* family's expected rate per hour near the event */
};

struct synth_series {
	int64_t start;
	size_t n_minutes, n_families;
	uint32_t **counts;
	struct synth_truth *truth;
	size_t n_truth;
};

static inline double synth_diurnal(const struct synth_family *f, double hour)
{
	return 1 + f->diurnal * cos(2 * M_PI * (hour - f->peak_hour) / 24);
}

static inline void synth_free(struct synth_series *s)
{
	size_t f;

	for (f = 0; f < s->n_families; f++)
		free(s->counts[f]);
	free(s->counts);
	free(s->truth);
	memset(s, 0, sizeof(*s));
}

static inline void synth_add_truth(struct synth_series *s, size_t f, enum analysis_event_type type, int64_t at, double rate)
{
	s->truth = realloc(s->truth, (s->n_truth + 1) * sizeof(*s->truth));
	s->truth[s->n_truth].family = f;
	s->truth[s->n_truth].type = type;
	s->truth[s->n_truth].at = at;
	s->truth[s->n_truth].rate_around = rate;
	s->n_truth++;
}

/* hours within [from, to) of the day, handling wrap past midnight */
static inline int synth_in_range(double h, double from, double to)
{
	if (from <= to)
		return h >= from && h < to;
	return h >= from || h < to;
}

static inline void synth_generate(struct synth_series *s, int64_t start, int days, const struct synth_family *fams,
			   size_t nf, unsigned long seed)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	size_t f, n = (size_t)days * 1440;

	gsl_rng_set(rng, seed);
	memset(s, 0, sizeof(*s));
	s->start = start;
	s->n_minutes = n;
	s->n_families = nf;
	s->counts = calloc(nf, sizeof(uint32_t *));
	for (f = 0; f < nf; f++) {
		const struct synth_family *fam = &fams[f];
		uint32_t *c = calloc(n, sizeof(uint32_t));
		double level = 1, day_level = 1, hour_g = 1, spike_at = 0, sl_from = 0, sl_to = 0, mean_diurnal = 0;
		int ceased = 0, ci = 0, pending_resume = 0, resting = 0;
		int64_t cease_minute = -1, campaign_switch = 0;
		size_t i;
		int h;

		/* the diurnal shape (with sleep and spike) averages to 1 */
		for (h = 0; h < 24 * 60; h++) {
			double hr = h / 60.0, v = synth_diurnal(fam, hr);

			if (fam->sleep_from >= 0 && synth_in_range(hr, fam->sleep_from, fam->sleep_to))
				v = 0;
			if (fam->spike_mult > 0 && hr >= fam->spike_hour && hr < fam->spike_hour + fam->spike_len)
				v *= fam->spike_mult;
			mean_diurnal += v / 1440;
		}
		for (i = 0; i < n; i++) {
			double hr = (double)(i % 1440) / 60.0, day = (double)i / 1440.0, rate, v;

			if (i % 1440 == 0) {
				day_level = fam->day_sd > 0 ? exp(gsl_ran_gaussian(rng, fam->day_sd) -
								   fam->day_sd * fam->day_sd / 2)
							    : 1;
				spike_at = fam->spike_hour + (fam->spike_jitter > 0 ? gsl_ran_flat(rng, -fam->spike_jitter,
												  fam->spike_jitter)
										   : 0);
				sl_from = fam->sleep_from + (fam->sleep_jitter > 0
								     ? gsl_ran_flat(rng, -fam->sleep_jitter, fam->sleep_jitter)
								     : 0);
				sl_to = fam->sleep_to + (fam->sleep_jitter > 0
								 ? gsl_ran_flat(rng, -fam->sleep_jitter, fam->sleep_jitter)
								 : 0);
			}
			if (i % 60 == 0)
				hour_g = fam->k_hour > 0 ? gsl_ran_gamma(rng, fam->k_hour, 1 / fam->k_hour) : 1;
			/* scripted changes */
			while (ci < fam->n_changes && fam->changes[ci].at_day <= day) {
				const struct synth_change *ch = &fam->changes[ci];
				int64_t t = start + (int64_t)i * 60;
				double around = fam->rate * level * synth_diurnal(fam, hr) / mean_diurnal;

				if (ch->type == SYNTH_CEASE) {
					ceased = 1;
					cease_minute = (int64_t)i;
				} else if (ch->type == SYNTH_RESUME) {
					ceased = 0;
					pending_resume = 1;
				} else {
					synth_add_truth(s, f, ch->factor < 1 ? ANALYSIS_EVENT_DROP : ANALYSIS_EVENT_SURGE, t,
							around);
					level *= ch->factor;
				}
				if (ch->type == SYNTH_CEASE) {
					/* at = the last message before it */
					int64_t k = (int64_t)i - 1;

					while (k > 0 && c[k] == 0)
						k--;
					synth_add_truth(s, f, ANALYSIS_EVENT_CEASED, start + k * 60, around);
				}
				ci++;
			}
			if (day < fam->start_day) {
				c[i] = 0;
				continue;
			}
			if (ceased) {
				c[i] = fam->straggle_rate > 0 && gsl_rng_uniform(rng) < fam->straggle_rate / 60 ? 1 : 0;
				continue;
			}
			v = synth_diurnal(fam, hr);
			if (fam->campaign_on > 0) {
				/* on and off in runs; the rate while on makes up for the rests */
				if ((int64_t)i >= campaign_switch) {
					double mean = resting ? fam->campaign_on : fam->campaign_off;

					resting = !resting;
					campaign_switch = (int64_t)i + (int64_t)(60 * mean * gsl_ran_flat(rng, 0.2, 1.8));
				}
				v = resting ? 0 : v * (fam->campaign_on + fam->campaign_off) / fam->campaign_on;
			}
			if (fam->sleep_from >= 0 && synth_in_range(hr, sl_from, sl_to))
				v = 0;
			if (fam->spike_mult > 0 && hr >= spike_at && hr < spike_at + fam->spike_len)
				v *= fam->spike_mult;
			rate = fam->rate * level * v / mean_diurnal * day_level * hour_g / 60;
			if (fam->weekend > 0) {
				/* 1970-01-01 was a Thursday: (day + 4) % 7 is 0 on Sundays */
				int64_t wd = ((start + (int64_t)i * 60) / 86400 + 4) % 7;

				if (wd == 0 || wd == 6)
					rate *= fam->weekend;
			}
			if (fam->k_min > 0)
				rate *= gsl_ran_gamma(rng, fam->k_min, 1 / fam->k_min);
			c[i] = rate > 0 ? gsl_ran_poisson(rng, rate) : 0;
			if (pending_resume && c[i] > 0) {
				synth_add_truth(s, f, ANALYSIS_EVENT_RESUMED, start + (int64_t)i * 60,
						fam->rate * level * synth_diurnal(fam, hr) / mean_diurnal);
				pending_resume = 0;
			}
		}
		(void)cease_minute;
		s->counts[f] = c;
	}
	gsl_rng_free(rng);
}

/* an analysis_input over the series (names from fams, no hourly units) */
static inline void synth_input(const struct synth_series *s, const struct synth_family *fams,
			struct analysis_family *fa, struct analysis_input *in)
{
	size_t f;

	for (f = 0; f < s->n_families; f++) {
		memset(&fa[f], 0, sizeof(fa[f]));
		fa[f].name = fams[f].name;
		fa[f].counts = s->counts[f];
	}
	in->start = s->start;
	in->end = s->start + (int64_t)s->n_minutes * 60;
	in->step = 60;
	in->n_families = s->n_families;
	in->families = fa;
}

#endif
