/*
 * test_store.c - the SQLite store: rows and rollups in step, de-duplication,
 * series loading, read-only and broken databases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "analysis/analysis.h"
#include "store/store.h"
#include "util/hash.h"
#include "util/timeutil.h"

static char dir[256], url[700], path[600];

/* a store's client sketches brought back to the layouts before 5: a
 * column of hourly, none per day */
#define OLD_CLIENTS                                                                                      \
	"ALTER TABLE hourly ADD COLUMN clients BLOB;"                                                    \
	" UPDATE hourly SET clients = (SELECT c.clients FROM hourly_clients c WHERE c.hour = hourly.hour" \
	" AND c.sensor_id = hourly.sensor_id AND c.family_id = hourly.family_id);"                       \
	" DROP TABLE hourly_clients; DROP TABLE daily_clients;"

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/spamtide-store-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	return 0;
}

static int teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void add(store *st, int64_t ts, const char *family, const char *body, bool dedup,
		enum store_status want)
{
	struct store_message m = { 0 };
	unsigned char h[HASH_DIGEST_LEN];
	char err[256];

	hash_digest(body, strlen(body), h);
	m.ts = ts;
	m.sensor = "trap1";
	m.family = family;
	m.hash = dedup ? h : NULL;
	m.rcpts = 2;
	m.size = strlen(body);
	m.client_ip = "192.0.2.1";
	m.campaign = "campaign:0001";
	assert_int_equal(store_add(st, &m, err, sizeof(err)), want);
}

static void test_roundtrip(void **state)
{
	store *st;
	char err[256];
	int64_t t0, first, last;
	bool empty;
	struct store_series s;
	uint64_t sum = 0;
	size_t i, f, rustock = 0;

	(void)state;
	assert_true(time_parse_iso("2011-03-16T15:29:00Z", &t0));
	assert_int_equal(store_open(url, STORE_WRITE, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_begin(st, err, sizeof(err)), STORE_OK);
	add(st, t0, "rustock", "a", true, STORE_OK);
	add(st, t0 + 30, "rustock", "b", true, STORE_OK);
	add(st, t0 + 30, "rustock", "b", true, STORE_DUPLICATE);   /* same bytes */
	/* the rollups written early (as the trap does) and added to after */
	assert_int_equal(store_flush(st, err, sizeof(err)), STORE_OK);
	add(st, t0 + 30, "rustock", "b", false, STORE_OK);         /* the trap never de-duplicates */
	add(st, t0 + 60, "bagle", "c", true, STORE_OK);
	add(st, t0 + 86400, "bagle", "d", true, STORE_OK);
	assert_int_equal(store_commit(st, err, sizeof(err)), STORE_OK);
	/* a second batch sees the first: duplicates across commits */
	add(st, t0, "rustock", "a", true, STORE_DUPLICATE);
	assert_int_equal(store_commit(st, err, sizeof(err)), STORE_OK);
	/* a batch rolled back after its rollups were flushed leaves nothing */
	assert_int_equal(store_begin(st, err, sizeof(err)), STORE_OK);
	add(st, t0 + 60, "rustock", "e", true, STORE_OK);
	assert_int_equal(store_flush(st, err, sizeof(err)), STORE_OK);
	store_rollback(st);
	store_close(st);

	assert_int_equal(store_open(url, STORE_READ, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_span(st, &first, &last, &empty, err, sizeof(err)), STORE_OK);
	assert_false(empty);
	assert_int_equal(first, t0);
	assert_int_equal(last, t0 + 86400);
	assert_int_equal(store_load_series(st, t0 - 29 * 60 - 15 * 3600, t0 + 2 * 86400, true, &s,
					   err, sizeof(err)), STORE_OK);
	for (f = 1; f < s.families.count; f++)
		if (s.families.name[f] && strcmp(s.families.name[f], "rustock") == 0)
			rustock = f;
	assert_true(rustock > 0);
	assert_int_equal(s.step, 60);
	for (i = 0; i < s.nslots; i++)
		sum += s.counts[rustock][i];
	assert_int_equal(sum, 3);
	/* 15:29 is minute 15*60+29 of the day; the period starts at midnight */
	assert_int_equal(s.counts[rustock][15 * 60 + 29], 3);
	sum = 0;
	for (i = 0; i < s.nhours; i++)
		sum += s.hour_recipients[rustock][i];
	assert_int_equal(sum, 6);
	/* one client address, seen by the per-hour and the period sketches */
	assert_true(fabs(analysis_hll_estimate(s.clients[rustock]) - 1) < 0.01);
	{
		double est = 0;

		for (i = 0; i < s.nhours; i++)
			if (s.hour_clients[rustock][i])
				est += analysis_hll_estimate(s.hour_clients[rustock][i]);
		assert_true(fabs(est - 1) < 0.01);
	}
	assert_int_equal(s.ncampaigns, 1);
	assert_string_equal(s.campaigns[0].id, "campaign:0001");
	assert_int_equal(s.campaigns[0].messages, 5);
	assert_int_equal(s.sensor_messages[1], 5);
	store_series_free(&s);
	/* a long period is read per hour, from the hourly rollup */
	assert_int_equal(store_load_series(st, t0 - 300 * 86400, t0 + 2 * 86400, false, &s, err,
					   sizeof(err)), STORE_OK);
	assert_int_equal(s.step, 3600);
	sum = 0;
	for (i = 0; i < s.nslots; i++)
		sum += s.counts[rustock][i];
	assert_int_equal(sum, 3);
	assert_int_equal(s.sensor_messages[1], 5);
	store_series_free(&s);
	/* the read-only store refuses to write */
	assert_int_equal(store_begin(st, err, sizeof(err)), STORE_ERROR);
	store_close(st);
}

/*
 * Uptime: a store without runs (ingested archives) was watched up to its
 * last message: one gap after it, none in a period that ends before it.
 * Archived messages until 10:00,
 * a trap run from 12:00:30 to 13:00:10 (a mark inside a batch and one on
 * its own), another from 14:00 to 14:59:59: unwatched are 10:01-12:00 (the
 * minute of 12:00:30 was watched in part), 13:01-14:00 and from 15:00.
 */
static void test_uptime_gaps(void **state)
{
	store *st;
	char err[256];
	int64_t day, t;
	struct store_series s;
	char up[800];

	(void)state;
	snprintf(up, sizeof(up), "sqlite:%s/uptime.db", dir);
	assert_true(time_parse_iso("2011-03-16T00:00:00Z", &day));
	assert_int_equal(store_open(up, STORE_WRITE, &st, err, sizeof(err)), STORE_OK);
	for (t = day + 9 * 3600; t <= day + 10 * 3600; t += 600)
		add(st, t, "rustock", "x", false, STORE_OK);
	assert_int_equal(store_commit(st, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_load_series(st, day, day + 86400, false, &s, err, sizeof(err)), STORE_OK);
	assert_false(s.has_runs);
	assert_int_equal(s.n_gaps, 1);
	assert_int_equal(s.gaps[0].from, day + 10 * 3600 + 60);
	assert_int_equal(s.gaps[0].to, day + 86400);
	store_series_free(&s);
	assert_int_equal(store_load_series(st, day, day + 9 * 3600 + 1800, false, &s, err, sizeof(err)), STORE_OK);
	assert_int_equal(s.n_gaps, 0);
	store_series_free(&s);

	assert_int_equal(store_mark_up(st, "trap1", day + 12 * 3600 + 30, day + 12 * 3600 + 30, err,
				       sizeof(err)), STORE_OK);
	assert_int_equal(store_begin(st, err, sizeof(err)), STORE_OK);
	add(st, day + 12 * 3600 + 40, "rustock", "y", false, STORE_OK);
	assert_int_equal(store_mark_up(st, "trap1", day + 12 * 3600 + 30, day + 12 * 3600 + 40, err,
				       sizeof(err)), STORE_OK);
	assert_int_equal(store_commit(st, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_mark_up(st, "trap1", day + 12 * 3600 + 30, day + 13 * 3600 + 10, err,
				       sizeof(err)), STORE_OK);
	/* a late mark never moves the last sign of life back */
	assert_int_equal(store_mark_up(st, "trap1", day + 12 * 3600 + 30, day + 12 * 3600 + 50, err,
				       sizeof(err)), STORE_OK);
	assert_int_equal(store_mark_up(st, "trap1", day + 14 * 3600, day + 15 * 3600 - 1, err,
				       sizeof(err)), STORE_OK);
	store_close(st);

	assert_int_equal(store_open(up, STORE_READ, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_load_series(st, day, day + 86400, false, &s, err, sizeof(err)), STORE_OK);
	assert_true(s.has_runs);
	assert_int_equal(s.n_gaps, 3);
	assert_int_equal(s.gaps[0].from, day + 10 * 3600 + 60);
	assert_int_equal(s.gaps[0].to, day + 12 * 3600);
	assert_int_equal(s.gaps[1].from, day + 13 * 3600 + 60);
	assert_int_equal(s.gaps[1].to, day + 14 * 3600);
	assert_int_equal(s.gaps[2].from, day + 15 * 3600);
	assert_int_equal(s.gaps[2].to, day + 86400);
	assert_int_equal(s.unwatched, (119 + 59) * 60 + 9 * 3600);
	store_series_free(&s);
	/* per hour (a long period): only whole hours are gaps */
	assert_int_equal(store_load_series(st, day - 300 * 86400, day + 86400, false, &s, err, sizeof(err)),
			 STORE_OK);
	assert_int_equal(s.step, 3600);
	assert_int_equal(s.n_gaps, 2);     /* 13:00-14:00 was watched in part */
	assert_int_equal(s.gaps[0].from, day + 11 * 3600);
	assert_int_equal(s.gaps[0].to, day + 12 * 3600);
	assert_int_equal(s.gaps[1].from, day + 15 * 3600);
	store_series_free(&s);
	store_close(st);

	/* a store of the layout before (3: no uptime table) is read as it is,
	 * without runs (watched up to its last message, 12:00:40); a writer
	 * migrates it */
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(up + strlen("sqlite:"), &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "DROP TABLE uptime; " OLD_CLIENTS " PRAGMA user_version = 3",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(store_open(up, STORE_READ, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_load_series(st, day, day + 86400, false, &s, err, sizeof(err)), STORE_OK);
	assert_false(s.has_runs);
	assert_int_equal(s.n_gaps, 1);
	assert_int_equal(s.gaps[0].from, day + 12 * 3600 + 60);
	assert_int_equal(s.gaps[0].to, day + 86400);
	assert_int_equal(s.counts[1][9 * 60], 1);
	store_series_free(&s);
	store_close(st);
	assert_int_equal(store_open(up, STORE_WRITE, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_mark_up(st, "trap1", day + 20 * 3600, day + 21 * 3600, err, sizeof(err)), STORE_OK);
	store_close(st);
}

static void test_missing_and_broken(void **state)
{
	store *st;
	char err[256], u[800], p[700];
	struct stat sb;
	FILE *f;

	(void)state;
	snprintf(p, sizeof(p), "%s/missing.db", dir);
	snprintf(u, sizeof(u), "sqlite:%s", p);
	assert_int_equal(store_open(u, STORE_READ, &st, err, sizeof(err)), STORE_ERROR);
	assert_non_null(strstr(err, "no such database"));
	assert_int_equal(stat(p, &sb), -1);     /* nothing created */

	snprintf(p, sizeof(p), "%s/garbage.db", dir);
	snprintf(u, sizeof(u), "sqlite:%s", p);
	f = fopen(p, "wb");
	assert_non_null(f);
	for (int i = 0; i < 4096; i++)
		fputc((i * 31) & 0xff, f);
	fclose(f);
	assert_int_equal(store_open(u, STORE_WRITE, &st, err, sizeof(err)), STORE_ERROR);
	assert_non_null(strstr(err, "not a spamtide database, or corrupt"));
	assert_int_equal(store_open(u, STORE_READ, &st, err, sizeof(err)), STORE_ERROR);

	assert_int_equal(store_open("clickhouse://localhost:8123/x", STORE_READ, &st, err, sizeof(err)),
			 STORE_ERROR);
	assert_non_null(strstr(err, "only sqlite:PATH"));
}

/* the period's distinct clients of family f, through the daily sketches
 * (per_hour false) or the hourly ones only (true) */
static double period_clients(store *st, int64_t from, int64_t to, bool per_hour, const char *family)
{
	struct store_series s;
	char err[256];
	double est = -1;
	size_t f;

	assert_int_equal(store_load_series(st, from, to, per_hour, &s, err, sizeof(err)), STORE_OK);
	for (f = 1; f < s.families.count; f++)
		if (s.families.name[f] && strcmp(s.families.name[f], family) == 0 && s.clients[f])
			est = analysis_hll_estimate(s.clients[f]);
	store_series_free(&s);
	return est;
}

/*
 * Distinct clients per day (layout 5): the union of the day's hourly
 * sketches, kept beside the daily rollup, so that a report over months
 * merges a sketch a day (and the hourly sketches have a table of their
 * own, so that the hourly counts are read without them). A period's clients are the same through them
 * (the days it holds whole) as through the hourly sketches alone, for
 * periods that start and end at midnight or within a day, and in a store
 * of the layout before (4), read as it is and then migrated (its daily
 * sketches filled from the hourly ones).
 */
static void test_day_clients(void **state)
{
	static const char *const fams[] = { "rustock", "bagle" };
	int64_t day;
	store *st;
	char err[256], u[800], p[700];
	size_t i, k;
	sqlite3 *db;
	int pass;

	(void)state;
	assert_true(time_parse_iso("2011-03-14T00:00:00Z", &day));
	snprintf(p, sizeof(p), "%s/clients.db", dir);
	snprintf(u, sizeof(u), "sqlite:%s", p);
	assert_int_equal(store_open(u, STORE_WRITE, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_begin(st, err, sizeof(err)), STORE_OK);
	/* three days; rustock from 600 addresses, bagle from 40, each
	 * address back on other hours and days */
	for (i = 0; i < 3000; i++) {
		struct store_message m = { 0 };
		char ip[32];
		size_t a;

		k = i % 2;
		a = (i / 2 * 7) % (k ? 40 : 600);
		snprintf(ip, sizeof(ip), "198.51.%zu.%zu", a / 200, a % 200);
		m.ts = day + (int64_t)(i * 86) % (3 * 86400);
		m.sensor = "trap1";
		m.family = fams[k];
		m.rcpts = 1;
		m.client_ip = ip;
		assert_int_equal(store_add(st, &m, err, sizeof(err)), STORE_OK);
	}
	assert_int_equal(store_commit(st, err, sizeof(err)), STORE_OK);
	store_close(st);

	for (pass = 0; pass < 3; pass++) {
		/* 0: as written; 1: the layout before, read as it is; 2: that
		 * store migrated by a writer */
		if (pass == 1) {
			assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
			assert_int_equal(sqlite3_exec(db, OLD_CLIENTS " PRAGMA user_version = 4", NULL, NULL, NULL),
					 SQLITE_OK);
			sqlite3_close(db);
		}
		if (pass == 2) {
			assert_int_equal(store_open(u, STORE_WRITE, &st, err, sizeof(err)), STORE_OK);
			store_close(st);
			assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
			{
				sqlite3_stmt *q;

				assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM daily_clients", -1, &q, NULL),
						 SQLITE_OK);
				assert_int_equal(sqlite3_step(q), SQLITE_ROW);
				assert_int_equal(sqlite3_column_int(q, 0), 6);     /* 3 days x 2 families */
				sqlite3_finalize(q);
			}
			sqlite3_close(db);
		}
		assert_int_equal(store_open(u, STORE_READ, &st, err, sizeof(err)), STORE_OK);
		for (k = 0; k < 2; k++) {
			static const int64_t periods[][2] = {
				{ 0, 3 * 86400 }, { 0, 2 * 86400 + 12 * 3600 }, { 13 * 3600, 3 * 86400 },
				{ 13 * 3600, 86400 + 7 * 3600 }, { 5 * 3600, 9 * 3600 },
			};
			size_t j;

			for (j = 0; j < sizeof(periods) / sizeof(periods[0]); j++) {
				double by_day = period_clients(st, day + periods[j][0], day + periods[j][1], false, fams[k]),
				       by_hour = period_clients(st, day + periods[j][0], day + periods[j][1], true, fams[k]);

				assert_true(by_day > 0);
				assert_true(by_day == by_hour);
			}
			/* the whole store: 600 and 40 addresses */
			assert_true(fabs(period_clients(st, day, day + 3 * 86400, false, fams[k]) / (k ? 40 : 600) - 1) <
				    0.05);
		}
		store_close(st);
	}
}

/* a reader sees one state of the store from its first read to its close,
 * whatever a writer commits meanwhile (a report's minute counts, hours and
 * messages agree); a reader opened after sees the new state */
static void test_read_snapshot(void **state)
{
	char u[700], err[256];
	store *w, *r;
	int64_t t0, first, last;
	bool empty;
	struct store_series s;

	(void)state;
	snprintf(u, sizeof(u), "sqlite:%s/snap.db", dir);
	assert_true(time_parse_iso("2011-03-16T15:00:00Z", &t0));
	assert_int_equal(store_open(u, STORE_WRITE, &w, err, sizeof(err)), STORE_OK);
	add(w, t0, "rustock", "first", true, STORE_OK);
	assert_int_equal(store_commit(w, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_open(u, STORE_READ, &r, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_span(r, &first, &last, &empty, err, sizeof(err)), STORE_OK);
	assert_int_equal(last, t0);
	/* the trap goes on: a message of a minute later */
	add(w, t0 + 60, "rustock", "second", true, STORE_OK);
	assert_int_equal(store_commit(w, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_span(r, &first, &last, &empty, err, sizeof(err)), STORE_OK);
	assert_int_equal(last, t0);
	assert_int_equal(store_load_series(r, t0, t0 + 3600, false, &s, err, sizeof(err)), STORE_OK);
	assert_int_equal(s.counts[1][0] + s.counts[1][1], 1);
	store_series_free(&s);
	store_close(r);
	assert_int_equal(store_open(u, STORE_READ, &r, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_span(r, &first, &last, &empty, err, sizeof(err)), STORE_OK);
	assert_int_equal(last, t0 + 60);
	store_close(r);
	store_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_uptime_gaps),
		cmocka_unit_test(test_missing_and_broken),
		cmocka_unit_test(test_day_clients),
		cmocka_unit_test(test_read_snapshot),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
