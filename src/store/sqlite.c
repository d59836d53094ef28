/*
 * sqlite.c - the embedded store: SQLite in WAL mode.
 *
 * Layout (schema version 4):
 *   messages       one row per message: features, attribution, session facts
 *   minute_counts  one row per (sensor, family, UTC day): 1,440 little-endian
 *                  uint32 message counts, so a year of one family is 365 rows
 *   hourly, daily  messages, recipients and bytes per (sensor, family, bucket)
 *   campaign_daily messages per (campaign, family, day)
 *   uptime         one row per run of a trap: its sensor, start and last
 *                  sign of life (store_mark_up)
 * The rollups are updated in the same transaction as the rows: a batch
 * accumulates its deltas in memory and applies them once at commit.
 *
 * Durability: WAL with synchronous=NORMAL for ingest (a crash may lose the
 * last commits but never corrupts; ingest is idempotent), FULL for the trap
 * (STORE_WRITE_DURABLE: a commit is on disk when it returns).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analysis/analysis.h"
#include "store/backend.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define BUSY_TIMEOUT_MS 10000   /* a reader or the trap may hold the lock briefly */

static const char *const migrations[] = {
	/* 1: the first layout */
	"CREATE TABLE sensors (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
	"CREATE TABLE families (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, sensor_id INTEGER NOT NULL,"
	"  family_id INTEGER NOT NULL, confidence REAL NOT NULL DEFAULT 0, campaign TEXT,"
	"  hash BLOB, source TEXT, client_ip TEXT, helo TEXT, envelope_from TEXT,"
	"  rcpts INTEGER NOT NULL DEFAULT 1, size INTEGER NOT NULL DEFAULT 0,"
	"  message_id TEXT, msgid_shape TEXT, subject TEXT, x_mailer TEXT,"
	"  dialect_id TEXT, dialect TEXT, encrypted INTEGER NOT NULL DEFAULT 0,"
	"  warnings INTEGER NOT NULL DEFAULT 0, features BLOB);"
	"CREATE INDEX messages_ts ON messages(ts);"
	"CREATE UNIQUE INDEX messages_hash ON messages(hash) WHERE hash IS NOT NULL;"
	"CREATE TABLE minute_counts (sensor_id INTEGER NOT NULL, family_id INTEGER NOT NULL,"
	"  day INTEGER NOT NULL, counts BLOB NOT NULL,"
	"  PRIMARY KEY (day, sensor_id, family_id)) WITHOUT ROWID;"
	"CREATE TABLE hourly (hour INTEGER NOT NULL, sensor_id INTEGER NOT NULL,"
	"  family_id INTEGER NOT NULL, messages INTEGER NOT NULL, recipients INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL, PRIMARY KEY (hour, sensor_id, family_id)) WITHOUT ROWID;"
	"CREATE TABLE daily (day INTEGER NOT NULL, sensor_id INTEGER NOT NULL,"
	"  family_id INTEGER NOT NULL, messages INTEGER NOT NULL, recipients INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL, PRIMARY KEY (day, sensor_id, family_id)) WITHOUT ROWID;"
	"CREATE TABLE campaign_daily (campaign TEXT NOT NULL, family_id INTEGER NOT NULL,"
	"  day INTEGER NOT NULL, messages INTEGER NOT NULL,"
	"  PRIMARY KEY (day, campaign, family_id)) WITHOUT ROWID;",
	/* 2: distinct clients per (sensor, family, hour) as a HyperLogLog sketch */
	"ALTER TABLE hourly ADD COLUMN clients BLOB;",
	/* 3: the same bytes are the same delivery only at the same time: an
	 * identical spam received twice counts twice, a file or capture read
	 * twice counts once */
	"DROP INDEX messages_hash;"
	"CREATE UNIQUE INDEX messages_hash ON messages(hash, ts) WHERE hash IS NOT NULL;",
	/* 4: when a trap watched, so that its downtime is not read as silence */
	"CREATE TABLE uptime (sensor_id INTEGER NOT NULL, start INTEGER NOT NULL,"
	"  last INTEGER NOT NULL, PRIMARY KEY (sensor_id, start)) WITHOUT ROWID;",
	/* 5: the client sketches in tables of their own, per hour and per
	 * day (the day's filled from its hours' when migrated:
	 * backfill_day_clients). A report over months merges a sketch a day,
	 * not one an hour, and reads the hourly counts without the sketches
	 * beside them: a year of a hundred busy families held 1.8 GB of hourly
	 * sketches, and its report took 4 s instead of under 1 */
	"CREATE TABLE hourly_clients (hour INTEGER NOT NULL, sensor_id INTEGER NOT NULL,"
	"  family_id INTEGER NOT NULL, clients BLOB NOT NULL,"
	"  PRIMARY KEY (hour, sensor_id, family_id)) WITHOUT ROWID;"
	"INSERT INTO hourly_clients SELECT hour, sensor_id, family_id, clients FROM hourly"
	"  WHERE clients IS NOT NULL;"
	"ALTER TABLE hourly DROP COLUMN clients;"
	"CREATE TABLE daily_clients (day INTEGER NOT NULL, sensor_id INTEGER NOT NULL,"
	"  family_id INTEGER NOT NULL, clients BLOB NOT NULL,"
	"  PRIMARY KEY (day, sensor_id, family_id)) WITHOUT ROWID;",
};
#define CLIENT_TABLES_FROM 5
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
/* the oldest layout a reader can read as it is (what came later, the
 * uptime, it reads as absent): a report needs no write access */
#define READABLE_FROM 3

/* ---- in-memory deltas of a batch ---- */

struct delta {
	int64_t k1, k2, k3;     /* (sensor, family, day|hour) or (family, day, -) */
	char *campaign;         /* campaign rows only */
	uint64_t messages, recipients, bytes;
	uint32_t *minutes;      /* minute rows only: [1440] */
	struct analysis_hll *clients;  /* hour and day rows only */
	bool used;
};

struct delta_map {
	struct delta *slot;
	size_t cap, used;
};

static uint64_t delta_hash(int64_t a, int64_t b, int64_t c, const char *s)
{
	int64_t k[3] = { a, b, c };
	uint64_t h = hash64(k, sizeof(k), 7);

	return s ? hash64(s, strlen(s), h) : h;
}

static void delta_grow(struct delta_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i, j;
	struct delta *slot = xcalloc(cap, sizeof(struct delta));

	for (i = 0; i < m->cap; i++) {
		struct delta *d = &m->slot[i];

		if (!d->used)
			continue;
		j = delta_hash(d->k1, d->k2, d->k3, d->campaign) & (cap - 1);
		while (slot[j].used)
			j = (j + 1) & (cap - 1);
		slot[j] = *d;
	}
	free(m->slot);
	m->slot = slot;
	m->cap = cap;
}

/* find or add; a new campaign key is copied */
static struct delta *delta_get(struct delta_map *m, int64_t a, int64_t b, int64_t c,
			       const char *s, bool minutes)
{
	size_t i;

	if ((m->used + 1) * 2 > m->cap)
		delta_grow(m);
	i = delta_hash(a, b, c, s) & (m->cap - 1);
	for (;;) {
		struct delta *d = &m->slot[i];

		if (!d->used) {
			d->used = true;
			d->k1 = a, d->k2 = b, d->k3 = c;
			d->campaign = s ? xstrdup(s) : NULL;
			d->minutes = minutes ? xcalloc(1440, sizeof(uint32_t)) : NULL;
			m->used++;
			return d;
		}
		if (d->k1 == a && d->k2 == b && d->k3 == c &&
		    (s ? d->campaign && strcmp(d->campaign, s) == 0 : !d->campaign))
			return d;
		i = (i + 1) & (m->cap - 1);
	}
}

static void delta_clear(struct delta_map *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		free(m->slot[i].campaign);
		free(m->slot[i].minutes);
		if (m->slot[i].clients)
			analysis_hll_free(m->slot[i].clients);
	}
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* ---- the store ---- */

struct name_cache {
	char **name;
	int *id;
	size_t count, cap;
};

/* statements of the write path, prepared once and kept (stmt()) */
enum sq_stmt {
	ST_MINUTES_GET, ST_MINUTES_PUT, ST_CLIENTS_GET, ST_CLIENTS_PUT, ST_DCLIENTS_GET, ST_DCLIENTS_PUT,
	ST_HOURLY, ST_DAILY,
	ST_CAMPAIGN, ST_NAME_INSERT_SENSORS, ST_NAME_SELECT_SENSORS, ST_NAME_INSERT_FAMILIES,
	ST_NAME_SELECT_FAMILIES, ST_UPTIME, ST_COUNT
};

struct sq {
	sqlite3 *db;
	sqlite3_stmt *stmts[ST_COUNT];
	char *path;
	enum store_mode mode;
	int version;            /* the layout's, once open */
	bool in_batch;
	bool snapshot;          /* STORE_READ: its reads are one transaction */
	sqlite3_stmt *insert;
	struct delta_map minutes, hours, days, campaigns;
	struct name_cache sensors, families;
};

static enum store_status fail(struct sq *s, char *err, size_t errlen, const char *what)
{
	int code = s->db ? sqlite3_extended_errcode(s->db) : SQLITE_ERROR;
	const char *msg = s->db ? sqlite3_errmsg(s->db) : "out of memory";

	if ((code & 0xff) == SQLITE_FULL)
		snprintf(err, errlen, "%s: %s: %s (disk full?)", s->path, what, msg);
	else if ((code & 0xff) == SQLITE_READONLY ||
		 (s->mode != STORE_READ && (code & 0xff) == SQLITE_CANTOPEN &&
		  access(s->path, F_OK) == 0 && access(s->path, W_OK) != 0))
		snprintf(err, errlen, "%s: %s: %s (database is read-only)", s->path, what, msg);
	else if ((code & 0xff) == SQLITE_NOTADB || (code & 0xff) == SQLITE_CORRUPT)
		snprintf(err, errlen, "%s: %s: %s (not a spamtide database, or corrupt)", s->path,
			 what, msg);
	else
		snprintf(err, errlen, "%s: %s: %s", s->path, what, msg);
	return STORE_ERROR;
}

static int exec(struct sq *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* range_query: sql prepared, its ?1 and ?2 bound to [a, b) (times, hours
 * or days); NULL when it does not prepare */
static sqlite3_stmt *range_query(struct sq *s, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	return st;
}

/* stmt: the kept statement id, reset, prepared from sql on first use */
static sqlite3_stmt *stmt(struct sq *s, enum sq_stmt id, const char *sql)
{
	if (!s->stmts[id]) {
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id],
				       NULL) != SQLITE_OK)
			return NULL;
	} else {
		sqlite3_reset(s->stmts[id]);
		sqlite3_clear_bindings(s->stmts[id]);
	}
	return s->stmts[id];
}

static int user_version(struct sq *s, int *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static bool backfill_day_clients(struct sq *s);

static enum store_status migrate(struct sq *s, char *err, size_t errlen)
{
	int v = 0;
	size_t i;
	char sql[64];

	if (user_version(s, &v) != SQLITE_OK)
		return fail(s, err, errlen, "reading the schema version");
	if (v > (int)NMIGRATIONS) {
		snprintf(err, errlen, "%s: schema version %d is newer than this spamtide "
			 "understands (%d); upgrade spamtide", s->path, v, (int)NMIGRATIONS);
		return STORE_ERROR;
	}
	s->version = v;
	if (v == (int)NMIGRATIONS || (s->mode == STORE_READ && v >= READABLE_FROM))
		return STORE_OK;
	if (s->mode == STORE_READ) {
		snprintf(err, errlen, "%s: schema version %d is older than %d; run 'spamtide "
			 "ingest' once to migrate it", s->path, v, (int)NMIGRATIONS);
		return STORE_ERROR;
	}
	if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK)
		return fail(s, err, errlen, "starting the migration");
	for (i = (size_t)v; i < NMIGRATIONS; i++) {
		if (exec(s, migrations[i]) != SQLITE_OK) {
			enum store_status st = fail(s, err, errlen, "migrating the schema");

			exec(s, "ROLLBACK");
			return st;
		}
	}
	s->version = (int)NMIGRATIONS;
	if (v < CLIENT_TABLES_FROM && !backfill_day_clients(s)) {
		enum store_status st = fail(s, err, errlen, "migrating the schema (the daily client sketches)");

		exec(s, "ROLLBACK");
		s->version = v;
		return st;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", (int)NMIGRATIONS);
	if (exec(s, sql) != SQLITE_OK || exec(s, "COMMIT") != SQLITE_OK) {
		enum store_status st = fail(s, err, errlen, "migrating the schema");

		exec(s, "ROLLBACK");
		s->version = v;
		return st;
	}
	return STORE_OK;
}

/* clear_deltas: the batch's rollup deltas forgotten (applied, dropped or freed) */
static void clear_deltas(struct sq *s)
{
	delta_clear(&s->minutes);
	delta_clear(&s->hours);
	delta_clear(&s->days);
	delta_clear(&s->campaigns);
}

static void sq_free(struct sq *s)
{
	size_t i;

	if (s->insert)
		sqlite3_finalize(s->insert);
	for (i = 0; i < ST_COUNT; i++)
		if (s->stmts[i])
			sqlite3_finalize(s->stmts[i]);
	if (s->db)
		sqlite3_close(s->db);
	clear_deltas(s);
	for (i = 0; i < s->sensors.count; i++)
		free(s->sensors.name[i]);
	for (i = 0; i < s->families.count; i++)
		free(s->families.name[i]);
	free(s->sensors.name), free(s->sensors.id);
	free(s->families.name), free(s->families.id);
	free(s->path);
	free(s);
}

static enum store_status sq_open(const char *path, enum store_mode mode, void **impl,
				 char *err, size_t errlen)
{
	struct sq *s = xcalloc(1, sizeof(*s));
	int flags = mode == STORE_READ ? SQLITE_OPEN_READONLY
		    : mode == STORE_UPDATE ? SQLITE_OPEN_READWRITE
		    : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct stat stb;

	s->path = xstrdup(path);
	s->mode = mode;
	if ((mode == STORE_READ || mode == STORE_UPDATE) && stat(path, &stb) != 0) {
		snprintf(err, errlen, "%s: no such database (%s)", path, strerror(errno));
		sq_free(s);
		return STORE_ERROR;
	}
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		enum store_status st;

		if (mode != STORE_READ && access(path, F_OK) == 0 && access(path, W_OK) != 0) {
			snprintf(err, errlen, "%s: cannot open for writing: %s (database is read-only)",
				 path, strerror(errno));
			st = STORE_ERROR;
		} else {
			st = fail(s, err, errlen, "cannot open");
		}
		sq_free(s);
		return st;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 1);
	if (mode != STORE_READ) {
		sqlite3_stmt *st;
		const char *jm = "";

		/* journal_mode answers with the mode it ended up in */
		if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW) {
			enum store_status r = fail(s, err, errlen, "cannot open");

			sqlite3_finalize(st);
			sq_free(s);
			return r;
		}
		jm = (const char *)sqlite3_column_text(st, 0);
		if (!jm || strcmp(jm, "wal") != 0) {
			snprintf(err, errlen, "%s: cannot switch to WAL mode (got '%s')", path,
				 jm ? jm : "?");
			sqlite3_finalize(st);
			sq_free(s);
			return STORE_ERROR;
		}
		sqlite3_finalize(st);
		exec(s, mode == STORE_WRITE_DURABLE ? "PRAGMA synchronous=FULL"
						    : "PRAGMA synchronous=NORMAL");
		/* a bigger cache and fewer checkpoints (each one an fsync) for
		 * batches of thousands of rows; both stay within the RSS budget */
		exec(s, "PRAGMA cache_size=-16384");
		exec(s, "PRAGMA wal_autocheckpoint=4096");
	} else {
		int v;

		/* A WAL database on a read-only medium, or in a directory this
		 * user may not write (a reader other than the trap's user),
		 * cannot get its -shm file (SQLITE_CANTOPEN, or one of the
		 * SQLITE_READONLY codes): when the file is not ours to write
		 * either, read it as immutable. */
		int rc = user_version(s, &v) & 0xff;

		if ((rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY) && access(path, W_OK) != 0) {
			struct buf uri = BUF_INIT;
			const char *c;

			buf_addstr(&uri, "file:");
			for (c = path; *c; c++) {
				if (*c == '%' || *c == '?' || *c == '#')
					buf_printf(&uri, "%%%02X", (unsigned char)*c);
				else
					buf_addch(&uri, *c);
			}
			buf_addstr(&uri, "?immutable=1");
			sqlite3_close(s->db);
			s->db = NULL;
			if (sqlite3_open_v2(uri.data, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
					    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
				enum store_status st = fail(s, err, errlen, "cannot open");

				buf_free(&uri);
				sq_free(s);
				return st;
			}
			buf_free(&uri);
		}
		exec(s, "PRAGMA query_only=1");
	}
	if (migrate(s, err, errlen) != STORE_OK) {
		sq_free(s);
		return STORE_ERROR;
	}
	/* a reader (a report) sees one state of the store from its first
	 * read to its close: the minute counts, the hours and the messages
	 * it reads agree while a trap goes on writing (WAL: the writer is not
	 * held up) */
	if (mode == STORE_READ && exec(s, "BEGIN") == SQLITE_OK)
		s->snapshot = true;
	*impl = s;
	return STORE_OK;
}

static void sq_close(void *impl)
{
	struct sq *s = impl;

	if (s->in_batch || s->snapshot)
		exec(s, "ROLLBACK");
	sq_free(s);
}

static void clear_cache(struct name_cache *c)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		free(c->name[i]);
	c->count = 0;
}

static void sq_rollback(void *impl)
{
	struct sq *s = impl;

	if (s->in_batch)
		exec(s, "ROLLBACK");
	s->in_batch = false;
	clear_deltas(s);
	/* ids handed out inside the dropped transaction are gone with it */
	clear_cache(&s->sensors);
	clear_cache(&s->families);
}

static enum store_status sq_begin(void *impl, char *err, size_t errlen)
{
	struct sq *s = impl;

	if (s->in_batch)
		return STORE_OK;
	if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK)
		return fail(s, err, errlen, "starting a transaction");
	s->in_batch = true;
	return STORE_OK;
}

/* the id of a sensor or family name, created when new */
static int name_id(struct sq *s, struct name_cache *c, const char *table, const char *name)
{
	bool sensors = strcmp(table, "sensors") == 0;
	sqlite3_stmt *st;
	size_t i;
	int id = -1;

	for (i = 0; i < c->count; i++)
		if (strcmp(c->name[i], name) == 0)
			return c->id[i];
	st = sensors ? stmt(s, ST_NAME_INSERT_SENSORS, "INSERT OR IGNORE INTO sensors(name) VALUES (?1)")
		     : stmt(s, ST_NAME_INSERT_FAMILIES, "INSERT OR IGNORE INTO families(name) VALUES (?1)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -1;
	st = sensors ? stmt(s, ST_NAME_SELECT_SENSORS, "SELECT id FROM sensors WHERE name = ?1")
		     : stmt(s, ST_NAME_SELECT_FAMILIES, "SELECT id FROM families WHERE name = ?1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (id < 0)
		return -1;
	if (c->count == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->name = xreallocarray(c->name, c->cap, sizeof(char *));
		c->id = xreallocarray(c->id, c->cap, sizeof(int));
	}
	c->name[c->count] = xstrdup(name);
	c->id[c->count++] = id;
	return id;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* a message's share of the rollups, into the batch's deltas */
static void count_message(struct sq *s, int sensor, int family, int64_t ts, unsigned rcpts,
			  uint64_t size, const char *campaign, const char *client_ip)
{
	int64_t day = floor_div(ts, 86400), hour = floor_div(ts, 3600);
	struct delta *d;

	d = delta_get(&s->minutes, sensor, family, day, NULL, true);
	d->minutes[(ts - day * 86400) / 60]++;
	d = delta_get(&s->hours, sensor, family, hour, NULL, false);
	d->messages++, d->recipients += rcpts, d->bytes += size;
	if (client_ip) {
		if (!d->clients)
			d->clients = analysis_hll_new();
		analysis_hll_add_bytes(d->clients, client_ip, strlen(client_ip));
	}
	d = delta_get(&s->days, sensor, family, day, NULL, false);
	d->messages++, d->recipients += rcpts, d->bytes += size;
	if (client_ip) {
		if (!d->clients)
			d->clients = analysis_hll_new();
		analysis_hll_add_bytes(d->clients, client_ip, strlen(client_ip));
	}
	if (campaign) {
		d = delta_get(&s->campaigns, family, day, 0, campaign, false);
		d->messages++;
	}
}

static enum store_status sq_add(void *impl, const struct store_message *m, char *err,
				size_t errlen)
{
	struct sq *s = impl;
	int sensor, family, rc;
	unsigned rcpts = m->rcpts ? m->rcpts : 1;

	if (!s->in_batch && sq_begin(s, err, errlen) != STORE_OK)
		return STORE_ERROR;
	sensor = name_id(s, &s->sensors, "sensors", m->sensor ? m->sensor : "default");
	family = name_id(s, &s->families, "families", m->family ? m->family : "unknown");
	if (sensor < 0 || family < 0)
		return fail(s, err, errlen, "storing a name");
	if (!s->insert &&
	    sqlite3_prepare_v3(s->db,
		"INSERT OR IGNORE INTO messages (ts, sensor_id, family_id, confidence, campaign,"
		" hash, source, client_ip, helo, envelope_from, rcpts, size, message_id,"
		" msgid_shape, subject, x_mailer, dialect_id, dialect, encrypted, warnings,"
		" features) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"
		"?17,?18,?19,?20,?21)", -1, SQLITE_PREPARE_PERSISTENT, &s->insert, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "preparing the insert");
	sqlite3_reset(s->insert);
	sqlite3_clear_bindings(s->insert);
	sqlite3_bind_int64(s->insert, 1, m->ts);
	sqlite3_bind_int(s->insert, 2, sensor);
	sqlite3_bind_int(s->insert, 3, family);
	sqlite3_bind_double(s->insert, 4, m->confidence);
	bind_text(s->insert, 5, m->campaign);
	if (m->hash)
		sqlite3_bind_blob(s->insert, 6, m->hash, HASH_DIGEST_LEN, SQLITE_STATIC);
	bind_text(s->insert, 7, m->source);
	bind_text(s->insert, 8, m->client_ip);
	bind_text(s->insert, 9, m->helo);
	bind_text(s->insert, 10, m->envelope_from);
	sqlite3_bind_int(s->insert, 11, (int)rcpts);
	sqlite3_bind_int64(s->insert, 12, (sqlite3_int64)m->size);
	bind_text(s->insert, 13, m->message_id);
	bind_text(s->insert, 14, m->msgid_shape);
	bind_text(s->insert, 15, m->subject);
	bind_text(s->insert, 16, m->x_mailer);
	bind_text(s->insert, 17, m->dialect_id);
	bind_text(s->insert, 18, m->dialect);
	sqlite3_bind_int(s->insert, 19, m->encrypted);
	sqlite3_bind_int(s->insert, 20, (int)m->warnings);
	if (m->features)
		sqlite3_bind_blob(s->insert, 21, m->features, (int)m->features_len, SQLITE_STATIC);
	rc = sqlite3_step(s->insert);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "storing a message");
	if (sqlite3_changes(s->db) == 0)
		return STORE_DUPLICATE;

	count_message(s, sensor, family, m->ts, rcpts, m->size, m->campaign, m->client_ip);
	return STORE_OK;
}

static bool apply_minutes(struct sq *s)
{
	sqlite3_stmt *get, *put;
	bool ok = false;
	size_t i;
	int k;

	get = stmt(s, ST_MINUTES_GET, "SELECT counts FROM minute_counts WHERE day=?1 AND "
		   "sensor_id=?2 AND family_id=?3");
	put = stmt(s, ST_MINUTES_PUT, "INSERT OR REPLACE INTO minute_counts(day, sensor_id,"
		   " family_id, counts) VALUES (?1,?2,?3,?4)");
	if (!get || !put)
		goto out;
	for (i = 0; i < s->minutes.cap; i++) {
		struct delta *d = &s->minutes.slot[i];
		unsigned char blob[1440 * 4];

		if (!d->used)
			continue;
		memset(blob, 0, sizeof(blob));
		sqlite3_reset(get);
		sqlite3_bind_int64(get, 1, d->k3);
		sqlite3_bind_int64(get, 2, d->k1);
		sqlite3_bind_int64(get, 3, d->k2);
		if (sqlite3_step(get) == SQLITE_ROW && sqlite3_column_bytes(get, 0) == sizeof(blob))
			memcpy(blob, sqlite3_column_blob(get, 0), sizeof(blob));
		else if (sqlite3_errcode(s->db) != SQLITE_ROW && sqlite3_errcode(s->db) != SQLITE_DONE &&
			 sqlite3_errcode(s->db) != SQLITE_OK)
			goto out;
		for (k = 0; k < 1440; k++) {
			uint32_t v = (uint32_t)blob[4 * k] | (uint32_t)blob[4 * k + 1] << 8 |
				     (uint32_t)blob[4 * k + 2] << 16 | (uint32_t)blob[4 * k + 3] << 24;

			v += d->minutes[k];
			blob[4 * k] = (unsigned char)v;
			blob[4 * k + 1] = (unsigned char)(v >> 8);
			blob[4 * k + 2] = (unsigned char)(v >> 16);
			blob[4 * k + 3] = (unsigned char)(v >> 24);
		}
		sqlite3_reset(put);
		sqlite3_bind_int64(put, 1, d->k3);
		sqlite3_bind_int64(put, 2, d->k1);
		sqlite3_bind_int64(put, 3, d->k2);
		sqlite3_bind_blob(put, 4, blob, sizeof(blob), SQLITE_TRANSIENT);
		if (sqlite3_step(put) != SQLITE_DONE)
			goto out;
	}
	ok = true;
out:
	if (get)
		sqlite3_reset(get);
	return ok;
}

/* the hour's (or the day's) client sketches: read, merged with the
 * batch's, written */
static bool apply_clients(struct sq *s, struct delta_map *m, bool hourly)
{
	sqlite3_stmt *get, *put;
	struct buf blob = BUF_INIT;
	bool ok = false;
	size_t i;

	get = hourly ? stmt(s, ST_CLIENTS_GET, "SELECT clients FROM hourly_clients WHERE hour=?1"
			    " AND sensor_id=?2 AND family_id=?3")
		     : stmt(s, ST_DCLIENTS_GET, "SELECT clients FROM daily_clients WHERE day=?1"
			    " AND sensor_id=?2 AND family_id=?3");
	put = hourly ? stmt(s, ST_CLIENTS_PUT, "INSERT OR REPLACE INTO hourly_clients(hour, sensor_id,"
			    " family_id, clients) VALUES (?1,?2,?3,?4)")
		     : stmt(s, ST_DCLIENTS_PUT, "INSERT OR REPLACE INTO daily_clients(day, sensor_id,"
			    " family_id, clients) VALUES (?1,?2,?3,?4)");
	if (!get || !put)
		goto out;
	for (i = 0; i < m->cap; i++) {
		struct delta *d = &m->slot[i];

		if (!d->used || !d->clients)
			continue;
		sqlite3_reset(get);
		sqlite3_bind_int64(get, 1, d->k3);
		sqlite3_bind_int64(get, 2, d->k1);
		sqlite3_bind_int64(get, 3, d->k2);
		if (sqlite3_step(get) == SQLITE_ROW && sqlite3_column_bytes(get, 0) > 0) {
			struct analysis_hll *old = analysis_hll_deserialise(sqlite3_column_blob(get, 0),
					(size_t)sqlite3_column_bytes(get, 0), NULL, 0);

			/* a damaged sketch is replaced by this batch's rather than stopping */
			if (old) {
				analysis_hll_merge(d->clients, old);
				analysis_hll_free(old);
			}
		}
		buf_reset(&blob);
		analysis_hll_serialise(d->clients, &blob);
		sqlite3_reset(put);
		sqlite3_bind_int64(put, 1, d->k3);
		sqlite3_bind_int64(put, 2, d->k1);
		sqlite3_bind_int64(put, 3, d->k2);
		sqlite3_bind_blob(put, 4, blob.data, (int)blob.len, SQLITE_STATIC);
		if (sqlite3_step(put) != SQLITE_DONE)
			goto out;
	}
	ok = true;
out:
	buf_free(&blob);
	if (get)
		sqlite3_reset(get);
	return ok;
}

/* migration 5: each day's sketch the union of its hours' (a damaged
 * hourly sketch counts no clients, as when a report reads it) */
static bool backfill_day_clients(struct sq *s)
{
	sqlite3_stmt *st;
	int64_t cur = INT64_MIN;
	bool ok = true;
	int rc = SQLITE_DONE;

	if (sqlite3_prepare_v2(s->db, "SELECT hour, sensor_id, family_id, clients FROM hourly_clients"
			       " ORDER BY hour", -1, &st, NULL) != SQLITE_OK)
		return false;
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t day = floor_div(sqlite3_column_int64(st, 0), 24);
		struct analysis_hll *h = analysis_hll_deserialise(sqlite3_column_blob(st, 3),
								  (size_t)sqlite3_column_bytes(st, 3), NULL, 0);
		struct delta *d;

		/* rows come by hour: a day's sketches are written once it is done */
		if (day != cur) {
			ok = apply_clients(s, &s->days, false);
			delta_clear(&s->days);
			cur = day;
		}
		if (!h)
			continue;
		d = delta_get(&s->days, sqlite3_column_int(st, 1), sqlite3_column_int(st, 2), day, NULL, false);
		if (d->clients) {
			analysis_hll_merge(d->clients, h);
			analysis_hll_free(h);
		} else {
			d->clients = h;
		}
	}
	sqlite3_finalize(st);
	ok = ok && rc == SQLITE_DONE && apply_clients(s, &s->days, false);
	delta_clear(&s->days);
	return ok;
}

static bool apply_sums(struct sq *s, struct delta_map *m, bool hourly)
{
	sqlite3_stmt *st;
	size_t i;

	st = hourly ? stmt(s, ST_HOURLY, "INSERT INTO hourly(hour, sensor_id, family_id, messages,"
			   " recipients, bytes) VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT DO UPDATE SET"
			   " messages = messages + excluded.messages,"
			   " recipients = recipients + excluded.recipients,"
			   " bytes = bytes + excluded.bytes")
		    : stmt(s, ST_DAILY, "INSERT INTO daily(day, sensor_id, family_id, messages,"
			   " recipients, bytes) VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT DO UPDATE SET"
			   " messages = messages + excluded.messages,"
			   " recipients = recipients + excluded.recipients,"
			   " bytes = bytes + excluded.bytes");
	if (!st)
		return false;
	for (i = 0; i < m->cap; i++) {
		struct delta *d = &m->slot[i];

		if (!d->used)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, d->k3);
		sqlite3_bind_int64(st, 2, d->k1);
		sqlite3_bind_int64(st, 3, d->k2);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)d->messages);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)d->recipients);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)d->bytes);
		if (sqlite3_step(st) != SQLITE_DONE)
			return false;
	}
	return true;
}

static bool apply_campaigns(struct sq *s)
{
	sqlite3_stmt *st;
	size_t i;

	st = stmt(s, ST_CAMPAIGN, "INSERT INTO campaign_daily(campaign, family_id, day, messages)"
		  " VALUES (?1,?2,?3,?4) ON CONFLICT DO UPDATE SET"
		  " messages = messages + excluded.messages");
	if (!st)
		return false;
	for (i = 0; i < s->campaigns.cap; i++) {
		struct delta *d = &s->campaigns.slot[i];

		if (!d->used)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, d->campaign, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, d->k1);
		sqlite3_bind_int64(st, 3, d->k2);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)d->messages);
		if (sqlite3_step(st) != SQLITE_DONE)
			return false;
	}
	sqlite3_reset(st);   /* the bound campaign strings go with the batch */
	return true;
}

/* apply_deltas: the batch's rollup deltas into its transaction, then forgotten */
static bool apply_deltas(struct sq *s)
{
	if (!apply_minutes(s) || !apply_sums(s, &s->hours, true) || !apply_clients(s, &s->hours, true) ||
	    !apply_sums(s, &s->days, false) || !apply_clients(s, &s->days, false) || !apply_campaigns(s))
		return false;
	clear_deltas(s);
	return true;
}

static enum store_status sq_flush(void *impl, char *err, size_t errlen)
{
	struct sq *s = impl;
	enum store_status st;

	if (!s->in_batch || apply_deltas(s))
		return STORE_OK;
	st = fail(s, err, errlen, "writing the rollups");
	sq_rollback(s);
	return st;
}

static enum store_status sq_commit(void *impl, char *err, size_t errlen)
{
	struct sq *s = impl;
	enum store_status st;

	if (!s->in_batch)
		return STORE_OK;
	if (!apply_deltas(s) || exec(s, "COMMIT") != SQLITE_OK) {
		st = fail(s, err, errlen, "committing");
		sq_rollback(s);
		return st;
	}
	s->in_batch = false;
	return STORE_OK;
}

/* ---- reading ---- */

static enum store_status sq_span(void *impl, int64_t *first, int64_t *last, bool *empty,
				 char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT min(ts), max(ts) FROM messages", -1, &st, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "reading");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return fail(s, err, errlen, "reading");
	}
	*empty = sqlite3_column_type(st, 0) == SQLITE_NULL;
	*first = sqlite3_column_int64(st, 0);
	*last = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	return STORE_OK;
}

static enum store_status sq_names(void *impl, const char *table, struct store_names *out,
				  char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	char sql[64];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(sql, sizeof(sql), "SELECT id, name FROM %s ORDER BY id", table);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "reading names");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int id = sqlite3_column_int(st, 0);

		if (id <= 0 || id > 1000000)
			continue;
		if ((size_t)id >= out->count) {
			out->name = xreallocarray(out->name, (size_t)id + 1, sizeof(char *));
			memset(out->name + out->count, 0, ((size_t)id + 1 - out->count) * sizeof(char *));
			out->count = (size_t)id + 1;
		}
		out->name[id] = xstrdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_names_free(out);
		return fail(s, err, errlen, "reading names");
	}
	return STORE_OK;
}

static enum store_status sq_minutes(void *impl, int64_t day_from, int64_t day_to, int family_id,
				    store_minutes_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	uint32_t counts[1440];
	int rc, k;

	/* one family's: the other rows' counts (overflow pages) are not read */
	if (!(st = range_query(s, "SELECT sensor_id, family_id, day, counts FROM minute_counts"
			       " WHERE day >= ?1 AND day < ?2 AND (?3 <= 0 OR family_id = ?3)",
			       day_from, day_to)))
		return fail(s, err, errlen, "reading minute counts");
	sqlite3_bind_int(st, 3, family_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *b = sqlite3_column_blob(st, 3);

		if (sqlite3_column_bytes(st, 3) != 1440 * 4)
			continue;
		for (k = 0; k < 1440; k++)
			counts[k] = (uint32_t)b[4 * k] | (uint32_t)b[4 * k + 1] << 8 |
				    (uint32_t)b[4 * k + 2] << 16 | (uint32_t)b[4 * k + 3] << 24;
		fn(ctx, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
		   sqlite3_column_int64(st, 2), counts);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "reading minute counts");
	return STORE_OK;
}

/* the rows of one hourly query (sensor, family, hour, the three counts,
 * and maybe the sketch), to fn */
static bool hour_rows(sqlite3_stmt *st, store_hours_fn *fn, void *ctx)
{
	struct store_hour h;
	bool sketch = sqlite3_column_count(st) > 6;
	int rc;

	memset(&h, 0, sizeof(h));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h.sensor_id = sqlite3_column_int(st, 0);
		h.family_id = sqlite3_column_int(st, 1);
		h.hour = sqlite3_column_int64(st, 2);
		h.messages = (uint64_t)sqlite3_column_int64(st, 3);
		h.recipients = (uint64_t)sqlite3_column_int64(st, 4);
		h.bytes = (uint64_t)sqlite3_column_int64(st, 5);
		if (sketch) {
			h.clients = sqlite3_column_blob(st, 6);
			h.clients_len = (size_t)sqlite3_column_bytes(st, 6);
		}
		fn(ctx, &h);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE;
}

static enum store_status sq_hours(void *impl, int64_t hour_from, int64_t hour_to, int64_t bare_from,
				  int64_t bare_to, store_hours_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;

	if (s->version < CLIENT_TABLES_FROM) {
		/* the layout before 5: the sketches a column of hourly, one not
		 * asked for not read */
		if (!(st = range_query(s, "SELECT sensor_id, family_id, hour, messages, recipients, bytes,"
				       " CASE WHEN hour >= ?3 AND hour < ?4 THEN NULL ELSE clients END"
				       " FROM hourly WHERE hour >= ?1 AND hour < ?2", hour_from, hour_to)))
			return fail(s, err, errlen, "reading hourly counts");
		sqlite3_bind_int64(st, 3, bare_from);
		sqlite3_bind_int64(st, 4, bare_to);
		return hour_rows(st, fn, ctx) ? STORE_OK : fail(s, err, errlen, "reading hourly counts");
	}
	/* the counts, then the sketches asked for, each in a row of its own
	 * with no counts */
	if (!(st = range_query(s, "SELECT sensor_id, family_id, hour, messages, recipients, bytes"
			       " FROM hourly WHERE hour >= ?1 AND hour < ?2", hour_from, hour_to)))
		return fail(s, err, errlen, "reading hourly counts");
	if (!hour_rows(st, fn, ctx))
		return fail(s, err, errlen, "reading hourly counts");
	if (bare_to <= bare_from)
		bare_from = bare_to = hour_to;
	/* before the bare hours, then after them: two ranges of the key (one
	 * query with both read every sketch between) */
	for (int part = 0; part < 2; part++) {
		int64_t a = part ? bare_to : hour_from, b = part ? hour_to : bare_from;

		if (b <= a)
			continue;
		if (!(st = range_query(s, "SELECT sensor_id, family_id, hour, 0, 0, 0, clients FROM hourly_clients"
				       " WHERE hour >= ?1 AND hour < ?2", a, b)))
			return fail(s, err, errlen, "reading hourly client sketches");
		if (!hour_rows(st, fn, ctx))
			return fail(s, err, errlen, "reading hourly client sketches");
	}
	return STORE_OK;
}

static enum store_status sq_day_clients(void *impl, int64_t day_from, int64_t day_to, bool *have,
				       store_day_clients_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	int rc;

	*have = s->version >= CLIENT_TABLES_FROM;
	if (!*have)
		return STORE_OK;
	if (!(st = range_query(s, "SELECT sensor_id, family_id, day, clients FROM daily_clients"
			       " WHERE day >= ?1 AND day < ?2", day_from, day_to)))
		return fail(s, err, errlen, "reading daily client sketches");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2),
		   sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "reading daily client sketches");
	return STORE_OK;
}

/* one number of the messages with ts in [from, to): sql's, ?1 and ?2
 * the range (0 when it is empty) */
static enum store_status number_in(struct sq *s, const char *sql, int64_t from, int64_t to, int64_t *v,
				   char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	*v = 0;
	if (to <= from)
		return STORE_OK;
	if (!(st = range_query(s, sql, from, to)))
		return fail(s, err, errlen, "reading messages");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? STORE_OK : fail(s, err, errlen, "reading messages");
}

static enum store_status sq_any(void *impl, int64_t from, int64_t to, bool *any, char *err, size_t errlen)
{
	int64_t v;
	enum store_status rc = number_in(impl, "SELECT EXISTS (SELECT 1 FROM messages WHERE ts >= ?1 AND ts < ?2)",
					 from, to, &v, err, errlen);

	*any = v != 0;
	return rc;
}

static enum store_status count_in(struct sq *s, int64_t from, int64_t to, int64_t *n, char *err,
				  size_t errlen)
{
	return number_in(s, "SELECT count(*) FROM messages WHERE ts >= ?1 AND ts < ?2", from, to, n, err, errlen);
}

/* a range of messages counted into campaigns, +1 or -1 each */
struct signed_range {
	int64_t a, b;
	int sign;
};

/*
 * A day the period cuts, [ds, ds + 1 day): inside it [in_a, in_b), the
 * rest outside. Counted from whichever side holds fewer messages: none
 * outside, the day's rollup as it is (a live store's today: nothing
 * after now); fewer inside, those messages; else the rollup less those
 * outside. True in *rollup when the day's rollup row is to be read.
 */
static enum store_status cut_day(struct sq *s, int64_t ds, int64_t in_a, int64_t in_b, bool *rollup,
				 struct signed_range *r, size_t *nr, char *err, size_t errlen)
{
	int64_t inside, before, after;

	if (count_in(s, in_a, in_b, &inside, err, errlen) != STORE_OK ||
	    count_in(s, ds, in_a, &before, err, errlen) != STORE_OK ||
	    count_in(s, in_b, ds + 86400, &after, err, errlen) != STORE_OK)
		return STORE_ERROR;
	*rollup = before + after == 0 || inside > before + after;
	if (!*rollup) {
		r[(*nr)++] = (struct signed_range){ in_a, in_b, 1 };
	} else {
		if (before)
			r[(*nr)++] = (struct signed_range){ ds, in_a, -1 };
		if (after)
			r[(*nr)++] = (struct signed_range){ in_b, ds + 86400, -1 };
	}
	return STORE_OK;
}

static enum store_status sq_campaigns(void *impl, int64_t from, int64_t to, size_t top,
				      store_campaigns_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	struct store_campaign c;
	struct signed_range r[4];
	size_t nr = 0, i;
	/* whole days [d0, d1) from the rollup; the days cut at either end
	 * by cut_day */
	int64_t d0 = floor_div(from + 86399, 86400), d1 = floor_div(to, 86400);
	bool roll;
	int rc;

	if (to <= from)
		return STORE_OK;
	if (d1 < d0) {           /* within one day */
		d0 = d1 = floor_div(from, 86400);
		if (cut_day(s, d0 * 86400, from, to, &roll, r, &nr, err, errlen) != STORE_OK)
			return STORE_ERROR;
		d1 += roll;
	} else {
		if (from < d0 * 86400) {
			if (cut_day(s, (d0 - 1) * 86400, from, d0 * 86400, &roll, r, &nr, err, errlen) != STORE_OK)
				return STORE_ERROR;
			d0 -= roll;
		}
		if (to > d1 * 86400) {
			if (cut_day(s, d1 * 86400, d1 * 86400, to, &roll, r, &nr, err, errlen) != STORE_OK)
				return STORE_ERROR;
			d1 += roll;
		}
	}
	for (i = nr; i < 4; i++)
		r[i] = (struct signed_range){ 0, 0, 1 };
	/* each range of messages grouped before the union: the union is
	 * then the rollup's rows and a few more */
	if (sqlite3_prepare_v2(s->db,
		"WITH c(campaign, family_id, n) AS ("
		"  SELECT campaign, family_id, messages FROM campaign_daily WHERE day >= ?1 AND day < ?2"
		"  UNION ALL SELECT campaign, family_id, ?6 * count(*) FROM messages"
		"    WHERE ts >= ?4 AND ts < ?5 AND campaign IS NOT NULL GROUP BY campaign, family_id"
		"  UNION ALL SELECT campaign, family_id, ?9 * count(*) FROM messages"
		"    WHERE ts >= ?7 AND ts < ?8 AND campaign IS NOT NULL GROUP BY campaign, family_id"
		"  UNION ALL SELECT campaign, family_id, ?12 * count(*) FROM messages"
		"    WHERE ts >= ?10 AND ts < ?11 AND campaign IS NOT NULL GROUP BY campaign, family_id"
		"  UNION ALL SELECT campaign, family_id, ?15 * count(*) FROM messages"
		"    WHERE ts >= ?13 AND ts < ?14 AND campaign IS NOT NULL GROUP BY campaign, family_id),"
		" s AS (SELECT campaign, family_id, sum(n) AS n FROM c GROUP BY campaign, family_id"
		"  HAVING sum(n) > 0),"
		" top AS (SELECT campaign, sum(n) AS n FROM s GROUP BY campaign"
		"  ORDER BY n DESC, campaign LIMIT ?3)"
		" SELECT s.campaign, s.family_id, s.n, top.n FROM s JOIN top ON top.campaign = s.campaign"
		" ORDER BY top.n DESC, s.campaign, s.family_id",
		-1, &st, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "reading campaigns");
	sqlite3_bind_int64(st, 1, d0);
	sqlite3_bind_int64(st, 2, d1);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)top);
	for (i = 0; i < 4; i++) {
		sqlite3_bind_int64(st, 4 + 3 * (int)i, r[i].a);
		sqlite3_bind_int64(st, 5 + 3 * (int)i, r[i].b);
		sqlite3_bind_int(st, 6 + 3 * (int)i, r[i].sign);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c.campaign = (const char *)sqlite3_column_text(st, 0);
		c.family_id = sqlite3_column_int(st, 1);
		c.messages = (uint64_t)sqlite3_column_int64(st, 2);
		fn(ctx, &c);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "reading campaigns");
	return STORE_OK;
}

static enum store_status sq_briefs(void *impl, int64_t from, int64_t to, store_briefs_fn *fn, void *ctx,
				   char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	struct store_brief b;
	int rc;

	if (!(st = range_query(s, "SELECT sensor_id, family_id, rcpts, size, client_ip FROM messages"
			       " WHERE ts >= ?1 AND ts < ?2", from, to)))
		return fail(s, err, errlen, "reading messages");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rcpts = sqlite3_column_int64(st, 2);

		b.sensor_id = sqlite3_column_int(st, 0);
		b.family_id = sqlite3_column_int(st, 1);
		/* as the rollup counted it (sq_add) */
		b.rcpts = rcpts > 0 && rcpts < UINT32_MAX ? (unsigned)rcpts : 1;
		b.size = (uint64_t)sqlite3_column_int64(st, 3);
		b.client_ip = (const char *)sqlite3_column_text(st, 4);
		fn(ctx, &b);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "reading messages");
	return STORE_OK;
}

static enum store_status sq_rows(void *impl, int64_t from, int64_t to, int64_t after_id,
				 size_t max, store_rows_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	struct store_row r;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT m.id, m.ts, m.client_ip, f.name, m.confidence,"
			       " m.source, m.message_id, m.features, m.dialect_id, m.dialect"
			       " FROM messages m JOIN families f"
			       " ON f.id = m.family_id WHERE m.id > ?1 AND m.ts >= ?2 AND m.ts < ?3"
			       " ORDER BY m.id LIMIT ?4", -1, &st, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "reading messages");
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.ts = sqlite3_column_int64(st, 1);
		r.client_ip = (const char *)sqlite3_column_text(st, 2);
		r.family = (const char *)sqlite3_column_text(st, 3);
		r.confidence = sqlite3_column_double(st, 4);
		r.source = (const char *)sqlite3_column_text(st, 5);
		r.message_id = (const char *)sqlite3_column_text(st, 6);
		r.features = sqlite3_column_blob(st, 7);
		r.features_len = (size_t)sqlite3_column_bytes(st, 7);
		r.dialect_id = (const char *)sqlite3_column_text(st, 8);
		r.dialect = (const char *)sqlite3_column_text(st, 9);
		if (!fn(ctx, &r)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "reading messages");
	return STORE_OK;
}

static enum store_status sq_set_family(void *impl, int64_t id, const char *family,
				       double confidence, char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	int fam, rc;

	if (!s->in_batch && sq_begin(s, err, errlen) != STORE_OK)
		return STORE_ERROR;
	fam = name_id(s, &s->families, "families", family);
	if (fam < 0)
		return fail(s, err, errlen, "storing a name");
	if (sqlite3_prepare_v2(s->db, "UPDATE messages SET family_id = ?1, confidence = ?2 WHERE"
			       " id = ?3", -1, &st, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "updating a message");
	sqlite3_bind_int(st, 1, fam);
	sqlite3_bind_double(st, 2, confidence);
	sqlite3_bind_int64(st, 3, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "updating a message");
	return STORE_OK;
}

static enum store_status sq_rebuild(void *impl, int64_t from, int64_t to, char *err, size_t errlen)
{
	struct sq *s = impl;
	int64_t day0 = floor_div(from, 86400), day1 = floor_div(to - 1, 86400) + 1;
	sqlite3_stmt *st;
	char sql[256];
	static const char *const tables[] = { "minute_counts", "daily", "daily_clients", "campaign_daily" };
	static const char *const hour_tables[] = { "hourly", "hourly_clients" };
	size_t i;
	int rc;

	if (!s->in_batch && sq_begin(s, err, errlen) != STORE_OK)
		return STORE_ERROR;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE day >= %lld AND day < %lld", tables[i],
			 (long long)day0, (long long)day1);
		if (exec(s, sql) != SQLITE_OK)
			return fail(s, err, errlen, "rebuilding rollups");
	}
	for (i = 0; i < sizeof(hour_tables) / sizeof(hour_tables[0]); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE hour >= %lld AND hour < %lld", hour_tables[i],
			 (long long)day0 * 24, (long long)day1 * 24);
		if (exec(s, sql) != SQLITE_OK)
			return fail(s, err, errlen, "rebuilding rollups");
	}
	if (!(st = range_query(s, "SELECT sensor_id, family_id, ts, rcpts, size, campaign,"
			       " client_ip FROM messages WHERE ts >= ?1 AND ts < ?2",
			       day0 * 86400, day1 * 86400)))
		return fail(s, err, errlen, "rebuilding rollups");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		count_message(s, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
			      sqlite3_column_int64(st, 2), (unsigned)sqlite3_column_int(st, 3),
			      (uint64_t)sqlite3_column_int64(st, 4),
			      (const char *)sqlite3_column_text(st, 5),
			      (const char *)sqlite3_column_text(st, 6));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "rebuilding rollups");
	return STORE_OK;
}

static enum store_status sq_mark_up(void *impl, const char *sensor, int64_t start, int64_t last,
				   char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	int id, rc;

	id = name_id(s, &s->sensors, "sensors", sensor);
	if (id < 0)
		return fail(s, err, errlen, "storing a name");
	st = stmt(s, ST_UPTIME, "INSERT INTO uptime(sensor_id, start, last) VALUES (?1, ?2, ?3)"
		  " ON CONFLICT(sensor_id, start) DO UPDATE SET last = max(last, excluded.last)");
	if (!st)
		return fail(s, err, errlen, "recording the uptime");
	sqlite3_bind_int(st, 1, id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, last);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "recording the uptime");
	return STORE_OK;
}

static enum store_status sq_runs(void *impl, store_runs_fn *fn, void *ctx, char *err,
				 size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;
	int rc;

	if (s->version < 4)
		return STORE_OK;     /* written before traps recorded their runs */
	if (sqlite3_prepare_v2(s->db, "SELECT sensor_id, start, last FROM uptime ORDER BY start",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "reading the uptime");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_run r = {
			.sensor_id = sqlite3_column_int(st, 0),
			.start = sqlite3_column_int64(st, 1),
			.last = sqlite3_column_int64(st, 2),
		};

		fn(ctx, &r);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, err, errlen, "reading the uptime");
	return STORE_OK;
}

static enum store_status sq_last_before(void *impl, int64_t t, int64_t *last, bool *found,
					char *err, size_t errlen)
{
	struct sq *s = impl;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "SELECT max(ts) FROM messages WHERE ts < ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return fail(s, err, errlen, "reading");
	sqlite3_bind_int64(st, 1, t);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return fail(s, err, errlen, "reading");
	}
	*found = sqlite3_column_type(st, 0) != SQLITE_NULL;
	*last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return STORE_OK;
}

const struct store_backend store_sqlite_backend = {
	.scheme = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.add = sq_add,
	.flush = sq_flush,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.span = sq_span,
	.names = sq_names,
	.minutes = sq_minutes,
	.hours = sq_hours,
	.day_clients = sq_day_clients,
	.campaigns = sq_campaigns,
	.briefs = sq_briefs,
	.any = sq_any,
	.rows = sq_rows,
	.set_family = sq_set_family,
	.rebuild = sq_rebuild,
	.mark_up = sq_mark_up,
	.runs = sq_runs,
	.last_before = sq_last_before,
};
