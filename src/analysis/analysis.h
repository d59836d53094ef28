/*
 * analysis.h - per-family volume series in, what an analyst writes up out.
 *
 * Pure code over in-memory arrays: no I/O, no store, no clock. The store's
 * rollups are wired into a struct analysis_input by the caller (report, the
 * trap); every function here reads that input and returns values. The
 * definitions (active hours, peak-to-median, the event model, the impact
 * baseline, Holt-Winters) are written out in docs/analysis.md.
 *
 * Ownership: the input is borrowed (never freed or kept past the call).
 * Results are owned by the caller and released with the matching *_free
 * (which accept NULL members and may be called twice). Sketches
 * (struct analysis_hll) are owned by whoever created them.
 *
 * Errors: functions that can fail return enum analysis_status and write a
 * one-line reason into err[errlen] (err may be NULL). A value that cannot
 * exist (a change on the first day, a ratio over zero) is NAN, which the
 * JSON renderer prints as null (isnan()).
 *
 * Limits: the period holds at most ANALYSIS_MAX_SLOTS slots and
 * ANALYSIS_MAX_FAMILIES families (checked, with a message, before anything is
 * allocated). 90 days x 100 families at minute resolution (13 M cells, 52 MB
 * of counts held by the caller) or a year x 100 families at hourly
 * resolution is well inside them.
 */
#ifndef SPAMTIDE_ANALYSIS_ANALYSIS_H
#define SPAMTIDE_ANALYSIS_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum analysis_status {
	ANALYSIS_OK = 0,
	ANALYSIS_EINVAL,     /* the input breaks a rule stated here */
	ANALYSIS_ETOOLITTLE, /* valid, but too little data for this estimate */
};

/* Bounds on the input (both far above real use; they cap allocations). */
#define ANALYSIS_MAX_SLOTS    (2 * 366 * 1440)   /* two years of minutes */
#define ANALYSIS_MAX_FAMILIES 4096

/* ------------------------------------------------------------------ */
/* HyperLogLog: distinct client addresses, mergeable across hours and
 * families. Precision p = 12 (4096 registers): standard error 1.04/sqrt(4096)
 * = 1.6 % over the whole range (Ertl's improved estimator, which needs no
 * bias table and no switch to linear counting). Small sketches are kept
 * sparse (3 bytes per non-empty register), large ones dense (4 KB). */

struct analysis_hll;

#define ANALYSIS_HLL_P 12
#define ANALYSIS_HLL_REL_ERROR 0.01625   /* 1.04 / sqrt(2^p) */

struct analysis_hll *analysis_hll_new(void);
struct analysis_hll *analysis_hll_clone(const struct analysis_hll *h);
void analysis_hll_free(struct analysis_hll *h);
/* analysis_hll_add: a well-mixed 64-bit hash (util/hash.h hash64). */
void analysis_hll_add(struct analysis_hll *h, uint64_t hash);
/* analysis_hll_add_bytes: hash64 of the bytes with the sketch's fixed seed
 * (e.g. the 16 bytes of a struct ip_addr), so every writer agrees. */
void analysis_hll_add_bytes(struct analysis_hll *h, const void *p, size_t n);
/* analysis_hll_merge: dst becomes the union of dst and src. */
void analysis_hll_merge(struct analysis_hll *dst, const struct analysis_hll *src);
double analysis_hll_estimate(const struct analysis_hll *h);
/* analysis_hll_serialise: appends the sketch's bytes (versioned, at most
 * 4099 bytes) to out. */
void analysis_hll_serialise(const struct analysis_hll *h, struct buf *out);
/* analysis_hll_deserialise: a new sketch from serialised bytes, or NULL with
 * err filled when they are malformed (wrong version or precision, bad
 * length, registers out of order or out of range). */
struct analysis_hll *analysis_hll_deserialise(const void *p, size_t n, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Input */

/*
 * One family's series over the period. counts has one entry per slot
 * (n_slots = (end - start) / step). The hourly arrays cover the UTC hours
 * that intersect the period, n_hours = analysis_input_hours(); each may be
 * NULL (that unit is then 0 for the family); entries of clients may be NULL
 * (no client seen that hour).
 */
struct analysis_family {
	const char *name;                       /* "rustock", "unknown", ... */
	const uint32_t *counts;                 /* messages per slot */
	const uint64_t *recipients;             /* per hour, or NULL */
	const uint64_t *bytes;                  /* per hour, or NULL */
	struct analysis_hll *const *clients;    /* per hour, or NULL */
	bool no_events;                         /* no family but a mixture of
						   senders ("unknown"): in the
						   totals and impacts, never
						   judged ceased or changed */
};

/* Slots [from, to) no sensor watched (a trap that was down): the event
 * detector skips them (analysis_detector_skip), so no silence grows there.
 * Both ends are multiples of the input's step. */
struct analysis_gap {
	int64_t from, to;
};

/*
 * The period [start, end) in UTC seconds, both multiples of step; step is 60
 * (minute counts: events at minute resolution) or 3600 (hourly counts: events
 * at hour resolution, for long periods). Totals are the sums over families.
 * gaps (n_gaps of them, may be 0) lie inside the period, sorted, apart.
 */
struct analysis_input {
	int64_t start, end;
	int step;
	size_t n_families;
	const struct analysis_family *families;
	const struct analysis_gap *gaps;
	size_t n_gaps;
};

enum analysis_unit {
	ANALYSIS_UNIT_MESSAGES,
	ANALYSIS_UNIT_RECIPIENTS,
	ANALYSIS_UNIT_BYTES,
	ANALYSIS_UNIT_CLIENTS,
};

/* analysis_input_check: ANALYSIS_OK when the input obeys the rules above. */
enum analysis_status analysis_input_check(const struct analysis_input *in, char *err, size_t errlen);
size_t analysis_input_slots(const struct analysis_input *in);
size_t analysis_input_hours(const struct analysis_input *in);
/* analysis_unit_parse: "messages", "recipients", "bytes", "clients". */
bool analysis_unit_parse(const char *s, enum analysis_unit *out);
const char *analysis_unit_name(enum analysis_unit u);

/* ------------------------------------------------------------------ */
/* Series: one value per bucket of `bucket` seconds (60, 3600 or 86400,
 * and not finer than the input's step; recipients, bytes and clients need
 * bucket >= 3600). Buckets are aligned to UTC (t = multiple of bucket); the
 * first and last may be partial (they cover only the period's part). */

struct analysis_series {
	int bucket;
	enum analysis_unit unit;
	size_t n_points, n_families;
	int64_t *t;          /* bucket start, n_points */
	double *total;       /* n_points (clients: distinct over all families) */
	double *by_family;   /* n_families rows of n_points: [f * n_points + i] */
};

enum analysis_status analysis_series_build(const struct analysis_input *in, int bucket,
					   enum analysis_unit unit, struct analysis_series *out,
					   char *err, size_t errlen);
void analysis_series_free(struct analysis_series *s);

/* ------------------------------------------------------------------ */
/* Shares over the whole period. share is the family's part of the unit's
 * total; it sums to 1 over families except for clients (one address may
 * send for several families; the total is the distinct count of the union).
 * share is NAN when the total is 0. */

struct analysis_amounts {
	double messages, recipients, bytes, clients;
	double share;
};

struct analysis_shares {
	enum analysis_unit unit;
	struct analysis_amounts total;
	size_t n_families;
	struct analysis_amounts *family;   /* n_families, input order */
};

enum analysis_status analysis_shares_compute(const struct analysis_input *in, enum analysis_unit unit,
					     struct analysis_shares *out, char *err, size_t errlen);
void analysis_shares_free(struct analysis_shares *s);

/* ------------------------------------------------------------------ */
/* Daily table: messages per UTC day intersecting the period. change is
 * (total - previous total) / previous total, NAN on the first day and after a
 * day with no messages. partial marks a day the period covers only in part. */

struct analysis_day {
	int64_t date;        /* midnight UTC */
	double total;
	double change;
	bool partial;
};

struct analysis_daily {
	size_t n_days, n_families;
	struct analysis_day *days;
	double *by_family;   /* n_days rows of n_families: [d * n_families + f] */
};

enum analysis_status analysis_daily_build(const struct analysis_input *in, struct analysis_daily *out,
					  char *err, size_t errlen);
void analysis_daily_free(struct analysis_daily *d);

/* ------------------------------------------------------------------ */
/* Consistency of hourly counts over the family's active hours: the hours
 * from its first to its last message, less runs of 24 or more silent hours
 * (a pause is not part of its rhythm; a night's sleep is).
 *   cv_hourly      population standard deviation / mean
 *   peak_to_median median over days (with >= 12 active hours) of the day's
 *                  largest hourly count, over the median hourly count
 *   diurnal_acf    sample autocorrelation at lag 24 h (pairs of active hours)
 * Each is NAN when it cannot exist (fewer than 2 active hours, a zero median,
 * fewer than 48 active hours for the autocorrelation). */

struct analysis_consistency {
	double cv_hourly, peak_to_median, diurnal_acf;
	size_t active_hours;
};

/* analysis_consistency_hourly: over hourly counts x[0..n), x[0] being the
 * hour that starts at UTC time t0 (a multiple of 3600). */
void analysis_consistency_hourly(const double *x, size_t n, int64_t t0, struct analysis_consistency *out);
/* analysis_consistency_family: of family f, or of the total when f ==
 * (size_t)-1. */
enum analysis_status analysis_consistency_family(const struct analysis_input *in, size_t f,
						 struct analysis_consistency *out, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Events (DESIGN.md "Events"): ceased, resumed, drop, surge. */

enum analysis_event_type {
	ANALYSIS_EVENT_CEASED,
	ANALYSIS_EVENT_RESUMED,
	ANALYSIS_EVENT_DROP,
	ANALYSIS_EVENT_SURGE,
};

/* Impact of a ceased event on total spam; a field is NAN when it cannot be
 * computed (the day after the event is not in the period; fewer than two
 * baseline days). */
struct analysis_impact {
	double total_change_day_over_day;   /* day after the event vs its day */
	double total_change_vs_baseline;    /* the 24 h after vs the same with the
					       family's usual messages of those
					       hours (the same hours before) */
	double lo95, hi95;                  /* interval of the latter */
	double hours;                       /* the hours after it weighed: 24, or
					       fewer (6 at least) where the
					       period ends sooner */
};

struct analysis_event {
	size_t family;                      /* index into the input's families */
	enum analysis_event_type type;
	int64_t at;                         /* UTC seconds, a slot start */
	double before_rate_per_hour, after_rate_per_hour;
	double confidence;                  /* 0..1 */
	int64_t detected_at;                /* end of the slot that made it sure */
	bool has_impact;                    /* ceased events in offline results */
	struct analysis_impact impact;
};

const char *analysis_event_type_name(enum analysis_event_type t);

/*
 * Tuning of the detector. analysis_detector_config_default() fills the
 * values the design asks for; tests and operators may change them.
 */
struct analysis_detector_config {
	double false_alarms_per_year;   /* per family, under its own model: 0.1
					   (report); the trap alerts at 1 */
	int history_days;               /* recent active days modelled: 7 */
	int min_history_days;           /* days before the detector judges: 3 */
	double cease_fraction;          /* "below 5 %": 0.05 */
	double level_change;            /* drop/surge: 0.30 */
	int level_min_hours;            /* sustained for: 6 */
	bool bursts_once;               /* silences judged with the bursts
					   within the hour counted once, not
					   twice: sooner, less sure (the
					   trap's alerts); false: the report */
	int threads;                    /* analysis_events_detect: families
					   judged in this many threads at once
					   (same events); 1, the default: the
					   caller's only */
};

void analysis_detector_config_default(struct analysis_detector_config *c);

/* The online detector's budget: an alert is worth more early, and a false
 * one is taken back by `resumed` within the hour; the report, written
 * after the fact, asks ten times the evidence (docs/analysis.md). */
#define ANALYSIS_ONLINE_FALSE_ALARMS 1.0
/* the days of history the detector is given before the time it judges:
 * the trap's seed, and a report's days before its --from (four weeks: a
 * weekly rhythm, a profile of the day) */
#define ANALYSIS_HISTORY_DAYS 28

/* Online detector: the trap feeds it one slot at a time. */
struct analysis_detector;

/*
 * analysis_detector_new: for n_families families (indices 0..n-1), slots of
 * step seconds (60 or 3600), the first slot starting at start. cfg NULL means
 * the defaults. Returns NULL with err filled on a bad argument.
 */
struct analysis_detector *analysis_detector_new(const struct analysis_detector_config *cfg, int64_t start,
						int step, size_t n_families, char *err, size_t errlen);
/* analysis_detector_add_family: one more family (new in the trap); returns
 * its index. Its past slots count as silent. */
size_t analysis_detector_add_family(struct analysis_detector *d);
/*
 * analysis_detector_feed: the counts of every family (counts[n_families]) in
 * the slot starting at t. t must be the detector's next slot or later (the
 * slots in between count as silent for every family); an earlier t is
 * ANALYSIS_EINVAL. Events raised are queued for analysis_detector_poll.
 */
enum analysis_status analysis_detector_feed(struct analysis_detector *d, int64_t t, const uint32_t *counts,
					    char *err, size_t errlen);
/* analysis_detector_seed: feeds the whole history in (same families, same
 * step, history->start = the detector's next slot) and drops the events it
 * raises: the detector starts in the state the history leaves it in. */
enum analysis_status analysis_detector_seed(struct analysis_detector *d, const struct analysis_input *history,
					    char *err, size_t errlen);
/* analysis_detector_skip: slots up to t (excluded) the sensor did not watch
 * (the trap was down): no silence grows in them; the detector's next slot
 * is t. The slots skipped leave the day's history. */
enum analysis_status analysis_detector_skip(struct analysis_detector *d, int64_t t, char *err, size_t errlen);
/* analysis_detector_poll: moves up to max queued events into out, oldest
 * first; returns how many. */
size_t analysis_detector_poll(struct analysis_detector *d, struct analysis_event *out, size_t max);
/* analysis_detector_next: the start of the next slot to feed. */
int64_t analysis_detector_next(const struct analysis_detector *d);

enum analysis_family_state {
	ANALYSIS_STATE_LEARNING,   /* too little history to judge yet */
	ANALYSIS_STATE_ACTIVE,
	ANALYSIS_STATE_CEASED,
};
enum analysis_family_state analysis_detector_state(const struct analysis_detector *d, size_t family);
void analysis_detector_free(struct analysis_detector *d);

/*
 * analysis_events_detect: offline, over the whole input: the same detector
 * fed every slot, then each event's `at`, rates and confidence refined with
 * the data after it, and the impact of each ceased event filled. Events are
 * ordered by at. *out is the caller's to free().
 */
enum analysis_status analysis_events_detect(const struct analysis_input *in,
					    const struct analysis_detector_config *cfg,
					    struct analysis_event **out, size_t *n_out,
					    char *err, size_t errlen);

/* analysis_event_minute: the minute of a ceased or resumed event found on
 * coarser slots of `slot` seconds (its slot at). minutes[n] are the
 * family's counts per minute from start, covering at least
 * [at - slot, at + 2 slot). The change point is the minute that best
 * splits them into two Poisson rates (most likely; the busier side first
 * for ceased, last for resumed), so stragglers on the quiet side are not
 * taken for the family: ceased is the last message before it, resumed the
 * first from it. `at` itself when no message fits, or for any other type. */
int64_t analysis_event_minute(enum analysis_event_type type, int64_t at, int slot, const uint32_t *minutes,
			      int64_t start, size_t n);

/* analysis_impact_compute: the impact on total spam of family's cessation
 * with its last message in the slot at (see docs/analysis.md for the
 * baseline and the interval). earlier[0..n_earlier): events before it,
 * sorted by time (any families; may be NULL, 0): the family's baseline
 * days leave out its earlier silences and keep to those since its level
 * last changed (when two are left). analysis_events_detect fills each
 * cessation's impact so, from the events before it. */
void analysis_impact_compute(const struct analysis_input *in, size_t family, int64_t at,
			     const struct analysis_event *earlier, size_t n_earlier, struct analysis_impact *out);

/* ------------------------------------------------------------------ */
/* Projection: additive Holt-Winters (level, trend, season) fitted by least
 * squares, with prediction intervals from the residual variance. */

/* A fitted model; season[] holds the last m seasonal states, season[i]
 * belonging to the observation n - m + i. */
struct analysis_hw {
	int m;
	double alpha, beta, gamma;
	double level, trend;
	double *season;
	double sse;
	double sigma2;     /* residual variance, sse / (n - 3) */
	size_t n;
};

/*
 * analysis_hw_smooth: runs the recursion with given parameters and initial
 * states (l0, b0, s0[m]) over y[0..n); fills the final states, sse, and
 * fitted[n] (one-step forecasts) when not NULL. out->season is allocated.
 */
void analysis_hw_smooth(const double *y, size_t n, int m, double alpha, double beta, double gamma, double l0,
			double b0, const double *s0, double *fitted, struct analysis_hw *out);
/* analysis_hw_fit: initial seasonal states by the heuristic in
 * docs/analysis.md; alpha, beta, gamma, the initial level and trend by
 * minimising the SSE (GSL multimin). Needs n >= 2m+1. */
enum analysis_status analysis_hw_fit(const double *y, size_t n, int m, struct analysis_hw *out, char *err,
				     size_t errlen);
/* analysis_hw_forecast: mean[h-1] and variance[h-1] of the forecast h steps
 * ahead, h = 1..H (variance may be NULL). */
void analysis_hw_forecast(const struct analysis_hw *hw, size_t H, double *mean, double *variance);
/* analysis_hw_sum_variance: variance of the sum of the forecasts for
 * steps h1..h2 (1-based, inclusive), their errors being correlated. */
double analysis_hw_sum_variance(const struct analysis_hw *hw, size_t h1, size_t h2);
void analysis_hw_free(struct analysis_hw *hw);

enum analysis_projection_model {
	ANALYSIS_PROJECT_AUTO,     /* hourly for periods under 8 weeks, else daily */
	ANALYSIS_PROJECT_HOURLY,   /* hourly totals, daily season (m = 24) */
	ANALYSIS_PROJECT_DAILY,    /* daily totals, weekly season (m = 7) */
};

struct analysis_projection_config {
	enum analysis_projection_model model;
	int days;              /* whole days projected after the period: 7 */
	double scale;          /* each trapped message stands for scale: 1 */
	long without;          /* family index left out, or -1 */
	int fit_days;          /* hourly model: fit on at most the last 56 days */
};

void analysis_projection_config_default(struct analysis_projection_config *c);

struct analysis_projection_point {
	int64_t date;          /* midnight UTC */
	double total, lo80, hi80, lo95, hi95;
};

struct analysis_projection {
	double scale;
	long without;
	int m;                 /* 24 or 7: the model used */
	struct analysis_hw hw;
	size_t n_points;
	struct analysis_projection_point *points;
};

/* analysis_project: ANALYSIS_ETOOLITTLE (and no points) when the period is
 * too short for the model (hourly: 3 days; daily: 3 weeks). */
enum analysis_status analysis_project(const struct analysis_input *in, const struct analysis_projection_config *cfg,
				      struct analysis_projection *out, char *err, size_t errlen);
void analysis_projection_free(struct analysis_projection *p);

/* ------------------------------------------------------------------ */
/* The report: everything above over a period the store loaded, into the
 * values the renderers print (render.h). Pure: the caller loads the series
 * (store_load_series) and renders the result. */

struct store_series;
struct report;

struct analysis_report_options {
	enum analysis_unit unit;     /* of shares and the series */
	int bucket;                  /* of the series printed: 60, 3600 or 86400 */
	double scale;                /* projection: each trapped message stands for this many */
	const char *without;         /* projection without this family, or NULL */
	int projection_days;         /* 0: 7 */
	bool hourly;                 /* fill r->hourly (the charts need it) */
	double false_alarms;         /* of the event detector; 0: its default */
	bool alerts;                 /* events judged as the trap alerts them:
					its budget (unless false_alarms) and
					model (bursts_once) */
	int threads;                 /* events judged in this many threads; 0: 1 */
	/* the minutes the events are judged on, when they reach back before
	 * the period (the days before it are the families' history: "three
	 * days of history before an event are enough to judge it", and a
	 * period begun the day before a takedown has one): counts of every
	 * family, step 60, ending where the period ends (store.h,
	 * store_load_minutes). NULL: the period's own. Only the events in
	 * the period are reported. */
	const struct store_series *events_from;
};

/* analysis_report: fills r (which owns copies of every name); r->from and
 * r->to are the series' period. ANALYSIS_EINVAL with err when the input
 * breaks a rule (too long a period, a unit finer than its data). */
enum analysis_status analysis_report(const struct store_series *s,
				     const struct analysis_report_options *o, struct report *r,
				     char *err, size_t errlen);

/* analysis_minutes_fn: the shell's loader of one family's minutes over
 * [from, to) into w (step 60; store.h's store_load_minutes); false with err
 * filled when they cannot be read. */
typedef bool analysis_minutes_fn(void *ctx, const char *family, int64_t from, int64_t to,
				 struct store_series *w, char *err, size_t errlen);

/* analysis_report_events_to_minute: r's ceased and resumed, found per hour
 * over a long period [from, to) (store.h, STORE_MINUTE_DAYS), each put on
 * the minute DESIGN.md asks for: the family's minutes from 14 days before
 * its day to 3 after, inside the period, that load gives, are judged again
 * by the same detector and options, and the event of the same type within
 * two hours of its hour gives the minute; when that run finds none, the
 * change point of the minutes of the hours around it
 * (analysis_event_minute). Then in time order again (ties as they were).
 * *unplaced counts those whose minutes held none of the family's messages
 * (their hour stays). ANALYSIS_EINVAL with err when load fails. */
enum analysis_status analysis_report_events_to_minute(struct report *r, const struct analysis_report_options *o,
						      int64_t from, int64_t to, analysis_minutes_fn *load, void *ctx,
						      size_t *unplaced, char *err, size_t errlen);

#endif
