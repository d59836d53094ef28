/*
 * series.c - a period's volume in memory, from the rollups; see store.h.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "store/store.h"
#include "util/xalloc.h"
#include "util/banned.h"

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

struct load {
	struct store_series *s;
	bool per_hour;
	/* the period cuts its first (last) hour: the rollup's row for it is
	 * not used, its messages are read one by one (on_brief) */
	bool cut_first, cut_last;
	size_t hour;          /* on_brief: the hour index its messages go to */
};

/* a cut hour: its row is the whole hour's */
static bool cut(const struct load *l, size_t i)
{
	return (l->cut_first && i == 0) || (l->cut_last && i + 1 == l->s->nhours);
}

static void on_minutes(void *ctx, int sensor_id, int family_id, int64_t day,
		       const uint32_t *counts)
{
	struct store_series *s = ((struct load *)ctx)->s;
	int64_t t0 = day * 86400;
	int k;

	if (family_id <= 0 || (size_t)family_id >= s->families.count || !s->counts[family_id])
		return;
	for (k = 0; k < 1440; k++) {
		int64_t t = t0 + 60 * k;

		if (!counts[k] || t < s->from || t >= s->to)
			continue;
		s->counts[family_id][(t - s->from) / 60] += counts[k];
		if (sensor_id > 0 && (size_t)sensor_id < s->sensors.count)
			s->sensor_messages[sensor_id] += counts[k];
	}
}

static void merge_into(struct analysis_hll **dst, const struct analysis_hll *src)
{
	if (!*dst)
		*dst = analysis_hll_clone(src);
	else
		analysis_hll_merge(*dst, src);
}

/* a stored sketch into *dst (and into *also, when given); a damaged one
 * counts no clients (its messages still count) */
static void merge_serialised(struct analysis_hll **dst, struct analysis_hll **also, const void *data, size_t n)
{
	struct analysis_hll *sk;

	if (!data || !n || !(sk = analysis_hll_deserialise(data, n, NULL, 0)))
		return;
	merge_into(dst, sk);
	if (also)
		merge_into(also, sk);
	analysis_hll_free(sk);
}

static void on_hour(void *ctx, const struct store_hour *h)
{
	struct load *l = ctx;
	struct store_series *s = l->s;
	size_t i;

	if (h->family_id <= 0 || (size_t)h->family_id >= s->families.count ||
	    !s->hour_recipients[h->family_id] || h->hour < s->hour0)
		return;
	i = (size_t)(h->hour - s->hour0);
	if (i >= s->nhours || (s->step == 60 && cut(l, i)))
		return;
	s->hour_recipients[h->family_id][i] += h->recipients;
	s->hour_bytes[h->family_id][i] += h->bytes;
	if (s->step == 3600) {
		s->counts[h->family_id][i] += (uint32_t)h->messages;
		if (h->sensor_id > 0 && (size_t)h->sensor_id < s->sensors.count)
			s->sensor_messages[h->sensor_id] += h->messages;
	}
	merge_serialised(&s->clients[h->family_id], l->per_hour ? &s->hour_clients[h->family_id][i] : NULL,
			 h->clients, h->clients_len);
}

/* a client address into *h, made when it is the first */
static void add_client(struct analysis_hll **h, const char *ip, size_t n)
{
	if (!*h)
		*h = analysis_hll_new();
	analysis_hll_add_bytes(*h, ip, n);
}

static void on_brief(void *ctx, const struct store_brief *b)
{
	struct load *l = ctx;
	struct store_series *s = l->s;
	size_t n;

	if (b->family_id <= 0 || (size_t)b->family_id >= s->families.count ||
	    !s->hour_recipients[b->family_id])
		return;
	s->hour_recipients[b->family_id][l->hour] += b->rcpts;
	s->hour_bytes[b->family_id][l->hour] += b->size;
	if (!b->client_ip)
		return;
	n = strlen(b->client_ip);
	add_client(&s->clients[b->family_id], b->client_ip, n);
	if (l->per_hour)
		add_client(&s->hour_clients[b->family_id][l->hour], b->client_ip, n);
}

static void on_day_clients(void *ctx, int sensor_id, int family_id, int64_t day, const void *clients,
			   size_t clients_len)
{
	struct store_series *s = ((struct load *)ctx)->s;

	(void)sensor_id;
	(void)day;
	if (family_id <= 0 || (size_t)family_id >= s->families.count || !s->hour_recipients[family_id])
		return;
	merge_serialised(&s->clients[family_id], NULL, clients, clients_len);
}

static void on_campaign(void *ctx, const struct store_campaign *c)
{
	struct store_series *s = ((struct load *)ctx)->s;
	struct store_series_campaign *sc = s->ncampaigns ? &s->campaigns[s->ncampaigns - 1] : NULL;

	if (!sc || strcmp(sc->id, c->campaign) != 0) {
		s->campaigns = xreallocarray(s->campaigns, s->ncampaigns + 1, sizeof(*s->campaigns));
		sc = &s->campaigns[s->ncampaigns++];
		memset(sc, 0, sizeof(*sc));
		sc->id = xstrdup(c->campaign);
	}
	sc->family_id = xreallocarray(sc->family_id, sc->n + 1, sizeof(int));
	sc->count = xreallocarray(sc->count, sc->n + 1, sizeof(uint64_t));
	sc->family_id[sc->n] = c->family_id;
	sc->count[sc->n++] = c->messages;
	sc->messages += c->messages;
}

/* ---- gaps: the time no trap watched ---- */

struct span {
	int64_t a, b;     /* [a, b) watched */
};

struct runs {
	struct span *v;
	size_t n, cap;
};

static void on_run(void *ctx, const struct store_run *r)
{
	struct runs *rs = ctx;

	if (r->last < r->start)
		return;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 16;
		rs->v = xreallocarray(rs->v, rs->cap, sizeof(*rs->v));
	}
	/* a run watched up to a second after its last sign of life */
	rs->v[rs->n].a = r->start;
	rs->v[rs->n++].b = r->last + 1;
}

static void add_gap(struct store_series *s, int64_t a, int64_t b)
{
	/* only whole slots: a slot watched in part was watched */
	a = floor_div(a + s->step - 1, s->step) * s->step;
	b = floor_div(b, s->step) * s->step;
	if (a < s->from)
		a = s->from;
	if (b > s->to)
		b = s->to;
	if (a >= b)
		return;
	s->gaps = xreallocarray(s->gaps, s->n_gaps + 1, sizeof(*s->gaps));
	s->gaps[s->n_gaps].from = a;
	s->gaps[s->n_gaps++].to = b;
	s->unwatched += b - a;
}

/*
 * The period's gaps: once the store holds runs, the time outside every run
 * (by start, so the union is one sweep). Before the first run, what was
 * stored (ingested) counts as watched up to its last message; in a store
 * no trap ran on, nothing after that was: the end of an archive is no
 * family's cessation (an archive that ended at noon read every family
 * still sending then as ceased), as the trap's detector seeds from it.
 */
static enum store_status load_gaps(store *st, struct store_series *s, char *err, size_t errlen)
{
	struct runs rs = { 0 };
	int64_t covered, last;
	bool found;
	size_t i;

	if (store_runs(st, on_run, &rs, err, errlen) != STORE_OK) {
		free(rs.v);
		return STORE_ERROR;
	}
	if (rs.n == 0) {
		int64_t first;
		bool empty;

		if (store_span(st, &first, &last, &empty, err, errlen) != STORE_OK)
			return STORE_ERROR;
		if (!empty)
			add_gap(s, last + 1, s->to);
		return STORE_OK;
	}
	s->has_runs = true;
	if (store_last_before(st, rs.v[0].a, &last, &found, err, errlen) != STORE_OK) {
		free(rs.v);
		return STORE_ERROR;
	}
	/* watched up to here: before the first run, the archive's last message
	 * (or nothing, when none was stored) */
	covered = found ? last + 1 : s->from;
	for (i = 0; i < rs.n && covered < s->to; i++) {
		if (rs.v[i].a > covered)
			add_gap(s, covered, rs.v[i].a);
		if (rs.v[i].b > covered)
			covered = rs.v[i].b;
	}
	if (covered < s->to)
		add_gap(s, covered, s->to);
	free(rs.v);
	return STORE_OK;
}

/* outside_cut_hours: a cut hour stays cut only when it holds messages
 * outside the period; false when the store failed */
static bool outside_cut_hours(store *st, const struct store_series *out, struct load *l, char *err,
			      size_t errlen)
{
	int64_t h0 = out->hour0 * 3600, h1 = (out->hour0 + (int64_t)out->nhours) * 3600;
	bool before = false, after = false;

	if (store_any(st, h0, out->from, &before, err, errlen) != STORE_OK ||
	    store_any(st, out->to, h1, &after, err, errlen) != STORE_OK)
		return false;
	if (l->cut_first && out->nhours == 1) {
		l->cut_first = before || after;     /* one hour, cut at both ends */
		return true;
	}
	l->cut_first = l->cut_first && before;
	l->cut_last = l->cut_last && after;
	return true;
}

/* load_series: store_load_series, or with counts_only the minute counts
 * and the gaps alone (no hours, sketches or campaigns) */
static enum store_status load_series(store *st, int64_t from, int64_t to, bool per_hour_clients, bool counts_only,
				     const char *family, struct store_series *out, char *err, size_t errlen)
{
	struct load l = { out, per_hour_clients, false, false, 0 };
	int64_t d0, d1;
	bool by_day = false;
	size_t f, id = 0;

	memset(out, 0, sizeof(*out));
	out->step = to - from > (int64_t)STORE_MINUTE_DAYS * 86400 ? 3600 : 60;
	out->from = floor_div(from, out->step) * out->step;
	to = floor_div(to + out->step - 1, out->step) * out->step;
	out->to = to > out->from ? to : out->from;
	out->nslots = (size_t)((out->to - out->from) / out->step);
	out->hour0 = floor_div(out->from, 3600);
	out->nhours = out->to == out->from ? 0 :
		      (size_t)(floor_div(out->to - 1, 3600) - out->hour0 + 1);
	if (store_families(st, &out->families, err, errlen) != STORE_OK ||
	    store_sensors(st, &out->sensors, err, errlen) != STORE_OK) {
		store_series_free(out);
		return STORE_ERROR;
	}
	out->counts = xcalloc(out->families.count + 1, sizeof(uint32_t *));
	out->hour_recipients = xcalloc(out->families.count + 1, sizeof(uint64_t *));
	out->hour_bytes = xcalloc(out->families.count + 1, sizeof(uint64_t *));
	out->clients = xcalloc(out->families.count + 1, sizeof(struct analysis_hll *));
	if (per_hour_clients)
		out->hour_clients = xcalloc(out->families.count + 1, sizeof(struct analysis_hll **));
	out->sensor_messages = xcalloc(out->sensors.count + 1, sizeof(uint64_t));
	/* counts alone, of one family: no other family's array (on_minutes
	 * passes over those rows), no hourly ones */
	for (f = 1; counts_only && family && f < out->families.count; f++)
		if (out->families.name[f] && strcmp(out->families.name[f], family) == 0)
			id = f;
	for (f = 1; f < out->families.count; f++) {
		if (!out->families.name[f])
			continue;
		if (counts_only) {
			if (!family || f == id)
				out->counts[f] = xcalloc(out->nslots + 1, sizeof(uint32_t));
			continue;
		}
		out->counts[f] = xcalloc(out->nslots + 1, sizeof(uint32_t));
		out->hour_recipients[f] = xcalloc(out->nhours + 1, sizeof(uint64_t));
		out->hour_bytes[f] = xcalloc(out->nhours + 1, sizeof(uint64_t));
		if (per_hour_clients)
			out->hour_clients[f] = xcalloc(out->nhours + 1, sizeof(struct analysis_hll *));
	}
	/* hours the period cuts (read per minute: from and to may fall inside
	 * an hour), one when both ends fall in the same */
	l.cut_first = out->step == 60 && out->nhours > 0 && out->from % 3600 != 0;
	l.cut_last = out->step == 60 && out->nhours > 0 && out->to % 3600 != 0 &&
		     !(l.cut_first && out->nhours == 1);
	/* a cut hour with no message outside the period is whole as far as
	 * the rollup knows (a live store's last hour: nothing after now) */
	if (!counts_only && (l.cut_first || l.cut_last) &&
	    !outside_cut_hours(st, out, &l, err, errlen)) {
		store_series_free(out);
		return STORE_ERROR;
	}
	/* the distinct clients of the period: the days wholly inside it from
	 * their daily sketches, the hours of the days it cuts from theirs
	 * (a cut hour's from its messages) */
	d0 = floor_div(out->hour0 + (l.cut_first ? 1 : 0) + 23, 24);
	d1 = floor_div(out->hour0 + (int64_t)out->nhours - (l.cut_last ? 1 : 0), 24);
	if (counts_only) {
		/* a family the store does not know has no minutes to read */
		if ((out->step == 60 && (!family || id) &&
		     store_minutes(st, floor_div(out->from, 86400), floor_div(out->to - 1, 86400) + 1, (int)id,
				   on_minutes, &l, err, errlen) != STORE_OK) ||
		    load_gaps(st, out, err, errlen) != STORE_OK) {
			store_series_free(out);
			return STORE_ERROR;
		}
		return STORE_OK;
	}
	if (!per_hour_clients && d1 > d0 &&
	    store_day_clients(st, d0, d1, &by_day, on_day_clients, &l, err, errlen) != STORE_OK) {
		store_series_free(out);
		return STORE_ERROR;
	}
	if ((out->step == 60 &&
	     store_minutes(st, floor_div(out->from, 86400), floor_div(out->to - 1, 86400) + 1, 0,
			   on_minutes, &l, err, errlen) != STORE_OK) ||
	    store_hours(st, out->hour0, out->hour0 + (int64_t)out->nhours, by_day ? d0 * 24 : 0,
			by_day ? d1 * 24 : 0, on_hour, &l, err, errlen) != STORE_OK ||
	    store_campaigns(st, out->from, out->to, STORE_TOP_CAMPAIGNS, on_campaign, &l, err, errlen) !=
	    STORE_OK ||
	    load_gaps(st, out, err, errlen) != STORE_OK) {
		store_series_free(out);
		return STORE_ERROR;
	}
	if (l.cut_first) {
		l.hour = 0;
		if (store_briefs(st, out->from, out->nhours == 1 ? out->to : (out->hour0 + 1) * 3600,
				 on_brief, &l, err, errlen) != STORE_OK) {
			store_series_free(out);
			return STORE_ERROR;
		}
	}
	if (l.cut_last) {
		l.hour = out->nhours - 1;
		if (store_briefs(st, (out->hour0 + (int64_t)out->nhours - 1) * 3600, out->to, on_brief, &l,
				 err, errlen) != STORE_OK) {
			store_series_free(out);
			return STORE_ERROR;
		}
	}
	return STORE_OK;
}

enum store_status store_load_series(store *st, int64_t from, int64_t to, bool per_hour_clients,
				    struct store_series *out, char *err, size_t errlen)
{
	return load_series(st, from, to, per_hour_clients, false, NULL, out, err, errlen);
}

enum store_status store_load_minutes(store *st, int64_t from, int64_t to, const char *family,
				     struct store_series *out, char *err, size_t errlen)
{
	if (to - from > (int64_t)STORE_MINUTE_DAYS * 86400)
		to = from + (int64_t)STORE_MINUTE_DAYS * 86400;
	return load_series(st, from, to, false, true, family, out, err, errlen);
}

void store_series_free(struct store_series *s)
{
	size_t f, h;

	for (f = 0; s->counts && f < s->families.count; f++) {
		free(s->counts[f]);
		free(s->hour_recipients[f]);
		free(s->hour_bytes[f]);
		if (s->clients[f])
			analysis_hll_free(s->clients[f]);
		if (s->hour_clients && s->hour_clients[f]) {
			for (h = 0; h < s->nhours; h++)
				if (s->hour_clients[f][h])
					analysis_hll_free(s->hour_clients[f][h]);
			free(s->hour_clients[f]);
		}
	}
	for (f = 0; f < s->ncampaigns; f++) {
		free(s->campaigns[f].id);
		free(s->campaigns[f].family_id);
		free(s->campaigns[f].count);
	}
	free(s->campaigns);
	free(s->counts);
	free(s->hour_recipients);
	free(s->hour_bytes);
	free(s->hour_clients);
	free(s->clients);
	free(s->sensor_messages);
	free(s->gaps);
	store_names_free(&s->families);
	store_names_free(&s->sensors);
	memset(s, 0, sizeof(*s));
}
