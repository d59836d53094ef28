/*
 * store.h - where attributed messages live, and the rollups analysis reads.
 *
 * A backend-neutral interface: store_open() picks the backend from the URL
 * ("sqlite:PATH", or a bare path; "clickhouse://" arrives with the fleet).
 * Writers add messages inside a batch (store_begin .. store_commit); every
 * add updates, in the same transaction, the per-minute counts per (sensor,
 * family, day), the hourly and daily rollups and the campaign counts, so a
 * reader never sees a message without its counts.
 *
 * De-duplication: a message added with a hash is skipped (STORE_DUPLICATE)
 * when a message with the same hash and the same receive time is stored;
 * the trap adds without a hash and is never de-duplicated.
 *
 * Errors: functions return STORE_ERROR with a message in err; the caller
 * stops (DESIGN.md: exit 1). A failed commit rolls its batch back; earlier
 * commits stay. Readers (STORE_READ) never create or change a database and
 * can run while a writer is active (SQLite WAL).
 */
#ifndef SPAMTIDE_STORE_STORE_H
#define SPAMTIDE_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 4
#define STORE_MINUTES_PER_DAY 1440

enum store_status {
	STORE_OK,
	STORE_DUPLICATE,
	STORE_ERROR,
};

enum store_mode {
	STORE_READ,        /* never creates; fails on a missing database */
	STORE_WRITE,       /* creates and migrates as needed */
	STORE_WRITE_DURABLE, /* as WRITE, and every commit is on disk (the trap) */
	STORE_UPDATE,      /* as WRITE, but fails on a missing database (what
			    * changes rows has none to change there) */
};

/* One message as stored. Strings may be NULL. */
struct store_message {
	int64_t ts;
	const char *sensor;
	const char *source;
	const unsigned char *hash;     /* 16 bytes, or NULL: never de-duplicated */
	const char *family;            /* "unknown" when none */
	double confidence;
	const char *campaign;
	const char *client_ip;
	const char *helo;
	const char *envelope_from;
	unsigned rcpts;
	uint64_t size;
	const char *message_id;
	const char *msgid_shape;
	const char *subject;
	const char *x_mailer;
	const char *dialect_id;
	const char *dialect;           /* the dialect facts, '\n'-joined */
	bool encrypted;
	unsigned warnings;
	const void *features;          /* attribution's serialised features */
	size_t features_len;
};

typedef struct store store;

enum store_status store_open(const char *url, enum store_mode mode, store **out,
			     char *err, size_t errlen);
void store_close(store *st);

enum store_status store_begin(store *st, char *err, size_t errlen);
enum store_status store_add(store *st, const struct store_message *m, char *err, size_t errlen);
/* store_flush: write the open batch's rollups into it now, so that the
 * store_commit that follows has only the commit left (the trap does the
 * rest while it waits for its spool files to be synced). A failure rolls
 * the batch back, as a failed commit does. */
enum store_status store_flush(store *st, char *err, size_t errlen);
enum store_status store_commit(store *st, char *err, size_t errlen);
/* store_rollback: drop the open batch (after an error). */
void store_rollback(store *st);

/* ---- reading ---- */

/* store_span: first and last message time; false when the store is empty. */
enum store_status store_span(store *st, int64_t *first, int64_t *last, bool *empty,
			     char *err, size_t errlen);

/* Names known to the store, by id (ids are dense from 1). */
struct store_names {
	char **name;       /* name[id], name[0] unused */
	size_t count;      /* highest id + 1 */
};
enum store_status store_families(store *st, struct store_names *out, char *err, size_t errlen);
enum store_status store_sensors(store *st, struct store_names *out, char *err, size_t errlen);
void store_names_free(struct store_names *n);

/* Minute counts of one (sensor, family, day): counts[1440]. */
typedef void store_minutes_fn(void *ctx, int sensor_id, int family_id, int64_t day,
			      const uint32_t *counts);
/* store_minutes: every row with day in [day_from, day_to) (of family_id
 * alone when it is > 0), any order. */
enum store_status store_minutes(store *st, int64_t day_from, int64_t day_to, int family_id,
				store_minutes_fn *fn, void *ctx, char *err, size_t errlen);

/* Hourly rollup row; hour = unix time / 3600. */
struct store_hour {
	int sensor_id, family_id;
	int64_t hour;
	uint64_t messages, recipients, bytes;
	const void *clients;       /* serialised HyperLogLog of client addresses, or NULL */
	size_t clients_len;
};
typedef void store_hours_fn(void *ctx, const struct store_hour *h);
/* store_hours: every row with hour in [hour_from, hour_to), any order; the
 * rows in [bare_from, bare_to) without their sketch (clients NULL). A
 * row's sketch may come in a call of its own, with no counts (zero). */
enum store_status store_hours(store *st, int64_t hour_from, int64_t hour_to, int64_t bare_from,
			      int64_t bare_to, store_hours_fn *fn, void *ctx, char *err, size_t errlen);

/* The union of a (sensor, family, day)'s hourly client sketches, kept
 * beside the daily rollup (serialised HyperLogLog). */
typedef void store_day_clients_fn(void *ctx, int sensor_id, int family_id, int64_t day,
				  const void *clients, size_t clients_len);
/* store_day_clients: every sketch with day in [day_from, day_to); *have
 * false (and no call) when the store's layout keeps none (read as it is,
 * not migrated: its hourly sketches are all there is). */
enum store_status store_day_clients(store *st, int64_t day_from, int64_t day_to, bool *have,
				    store_day_clients_fn *fn, void *ctx, char *err, size_t errlen);


/* Campaigns by size in [from, to) (seconds): per (campaign, family), the
 * top largest. Whole days from the daily rollup, the parts of days at the
 * ends from the messages themselves. */
struct store_campaign {
	const char *campaign;
	int family_id;
	uint64_t messages;
};
typedef void store_campaigns_fn(void *ctx, const struct store_campaign *c);
enum store_status store_campaigns(store *st, int64_t from, int64_t to, size_t top,
				  store_campaigns_fn *fn, void *ctx, char *err, size_t errlen);

/* What the hourly rollup counts of one message, for the part of an hour
 * a period cuts (the rollup holds whole hours). */
struct store_brief {
	int sensor_id, family_id;
	unsigned rcpts;
	uint64_t size;
	const char *client_ip;     /* or NULL */
};
typedef void store_briefs_fn(void *ctx, const struct store_brief *b);
/* store_briefs: every message with ts in [from, to), any order */
enum store_status store_briefs(store *st, int64_t from, int64_t to, store_briefs_fn *fn, void *ctx,
			       char *err, size_t errlen);
/* store_any: whether a message has ts in [from, to) */
enum store_status store_any(store *st, int64_t from, int64_t to, bool *any, char *err, size_t errlen);


/* ---- rows, for learning and re-attribution ---- */

struct store_row {
	int64_t id;
	int64_t ts;
	const char *client_ip;
	const char *family;
	double confidence;
	const char *source;
	const char *message_id;
	const void *features;          /* attribution's serialised vector */
	size_t features_len;
	const char *dialect_id;        /* the session's, or NULL */
	const char *dialect;           /* its facts, '\n'-joined, or NULL */
};
/* Return false to stop. Strings are valid during the call only. */
typedef bool store_rows_fn(void *ctx, const struct store_row *r);
/* store_rows: messages with from <= ts < to and id > after_id, by id, at
 * most max of them. */
enum store_status store_rows(store *st, int64_t from, int64_t to, int64_t after_id, size_t max,
			     store_rows_fn *fn, void *ctx, char *err, size_t errlen);
/* store_set_family: a stored message attributed again (inside a batch). */
enum store_status store_set_family(store *st, int64_t id, const char *family, double confidence,
				   char *err, size_t errlen);
/* store_rebuild_rollups: recount the rollups of the whole UTC days that
 * [from, to) touches from the rows (inside a batch). */
enum store_status store_rebuild_rollups(store *st, int64_t from, int64_t to, char *err,
					size_t errlen);

/* ---- when a trap watched ----
 *
 * A trap records each of its runs: the sensor, its start, and its last
 * sign of life, which it moves on with every commit and every minute
 * (store_mark_up: inside the open batch, or on its own). Once a store holds
 * runs, a minute outside every run was watched by no trap: analysis skips
 * it rather than read it as every family's silence. Messages stored before
 * the first run (ingested archives) count as watched up to the last of them.
 */
struct store_run {
	int sensor_id;
	int64_t start, last;
};
enum store_status store_mark_up(store *st, const char *sensor, int64_t start, int64_t last,
				char *err, size_t errlen);
typedef void store_runs_fn(void *ctx, const struct store_run *r);
/* store_runs: every run, by start. */
enum store_status store_runs(store *st, store_runs_fn *fn, void *ctx, char *err, size_t errlen);
/* store_last_before: the time of the last message before t; found false when none. */
enum store_status store_last_before(store *st, int64_t t, int64_t *last, bool *found, char *err,
				    size_t errlen);

/*
 * A period's volume in memory, loaded from the rollups (never by scanning
 * messages): per family, messages per minute; per family and hour,
 * recipients and bytes; distinct clients as HyperLogLog sketches (analysis.h),
 * merged over the period per family, and per hour too when asked for (they
 * cost up to 4 KB each). Family index f runs over families.name[] (store ids
 * are dense; unused ids have NULL rows); sensors likewise.
 *
 * Message counts come per minute (step 60) for periods up to
 * STORE_MINUTE_DAYS days, where events are timed to the minute; longer
 * periods come per hour (step 3600) from the hourly rollup, which keeps a
 * year of a hundred families fast. Slot i covers [from + step i,
 * from + step (i+1)); hour h is hour0 + h. With step 3600, from and to are
 * whole hours.
 */
struct analysis_hll;
struct analysis_gap;

struct store_series_campaign {
	char *id;
	uint64_t messages;
	size_t n;
	int *family_id;
	uint64_t *count;
};

struct store_series {
	int64_t from, to;          /* aligned to step, half-open */
	int step;                  /* 60 or 3600 */
	size_t nslots, nhours;
	int64_t hour0;             /* first hour: unix time / 3600 */
	struct store_names families, sensors;
	uint32_t **counts;         /* [families.count][nslots]: messages per slot */
	uint64_t **hour_recipients;/* [families.count][nhours] */
	uint64_t **hour_bytes;     /* [families.count][nhours] */
	struct analysis_hll ***hour_clients;  /* [families.count][nhours], or NULL */
	struct analysis_hll **clients;        /* [families.count]: over the period */
	uint64_t *sensor_messages; /* [sensors.count] */
	struct store_series_campaign *campaigns;   /* the largest, by messages */
	size_t ncampaigns;
	bool has_runs;             /* a trap recorded when it watched */
	struct analysis_gap *gaps; /* slots no trap watched (whole slots), by time */
	size_t n_gaps;
	int64_t unwatched;         /* seconds of the period in gaps */
};

#define STORE_TOP_CAMPAIGNS 10
#define STORE_MINUTE_DAYS 200     /* longer periods are read per hour */

/* store_load_series: fill out for [from, to) (both minute-aligned; widened
 * to whole hours when read per hour); per_hour_clients keeps a sketch per
 * family and hour. */
enum store_status store_load_series(store *st, int64_t from, int64_t to, bool per_hour_clients,
				    struct store_series *out, char *err, size_t errlen);
/* store_load_minutes: the messages per minute of [from, to) (at most
 * STORE_MINUTE_DAYS days: cut there) of the family named (NULL: all) and
 * the gaps, alone: other families' counts and the hourly arrays are NULL,
 * no sketch, no campaign. For a window around one event of a long period. */
enum store_status store_load_minutes(store *st, int64_t from, int64_t to, const char *family,
				     struct store_series *out, char *err, size_t errlen);
void store_series_free(struct store_series *s);

#endif
