/*
 * gen.c - the message stream of a scenario.
 *
 * Each source's expected volume is its base rate times its time-of-day
 * shape and its current level (level changes, the level after a pause),
 * zero while paused or after a takedown. Day by day, the expected number of
 * connections is rounded (carrying the fraction) and the connections are
 * spread over the day's minutes at random in proportion to that intensity
 * times a gamma burst multiplier per burst slot: minute counts are
 * over-dispersed like a gamma-mixed Poisson, daily totals follow the
 * scenario (see plan_day). Each connection carries one or more messages.
 * A minute's connections are sorted by start time, then emitted message
 * by message.
 *
 * Determinism: every random draw comes from a stream seeded by (seed,
 * source, minute) or (connection, message), so the stream depends only on
 * the scenario and the seed, and on nothing else (not on envelope_only:
 * envelope, Message-ID and content draw from separate streams).
 *
 * The generator counts messages per source and minute; sim_gen_events turns
 * the scenario's planned events into events at the actual minutes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "sim/internal.h"
#include "util/hash.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct conn {
	int64_t t_us;
	uint32_t src;
	uint32_t bot;
	uint32_t nmsg;
	uint64_t seed;
};

struct sim_gen {
	const sim_scenario *s;
	struct sim_options o;
	gsl_rng **grng;            /* per source: burst multipliers */
	double *carry;             /* per source: fraction of a connection carried */
	uint16_t *day_conns;       /* [source][minute of the day]: connections */
	double weights[1440];
	int64_t minute;            /* next minute to draw */
	struct conn *conns;
	size_t nconns, capconns, pos;
	/* the session in progress */
	bool in_session;
	struct conn cur;
	uint32_t cur_index;
	int64_t next_us;
	struct rng sess_rng;
	struct style style;
	struct tpl *hdrs[BUILTIN_MAX_HEADERS];
	struct arena sess_arena, msg_arena;
	const char *helo, *ip_text;
	uint32_t ip;
	int zone;
	bool starttls;
	uint64_t session_id;
	/* the message in progress */
	struct buf data, tmp, text;
	struct sim_message msg;
	const char **cmds;
	size_t capcmds;
	const char **rcpts;
	/* bookkeeping */
	uint32_t *counts;          /* [minute][source] */
	size_t nminutes;
	size_t total;
	size_t *per_source;
	int64_t last_minute_drawn;
	uint64_t *ids;             /* Message-ID hashes, open addressing */
	size_t idcap, nids;
	int sandbox;               /* source index, or -1 */
	bool done;
};

/* --- addresses ------------------------------------------------------------- */

/* First octets of addresses used for bots: public unicast, none reserved. */
static const uint8_t *public_octets(size_t *n)
{
	static uint8_t oct[224];
	static size_t count;

	if (!count) {
		size_t i;

		for (i = 1; i < 224; i++)
			if (i != 10 && i != 100 && i != 127 && i != 169 && i != 172 && i != 192 &&
			    i != 198 && i != 203)
				oct[count++] = (uint8_t)i;
	}
	*n = count;
	return oct;
}

static uint32_t feistel(uint32_t x)
{
	static const uint64_t keys[4] = { 0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL,
					  0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL };
	uint32_t l = x >> 16, r = x & 0xffff;
	int i;

	for (i = 0; i < 4; i++) {
		uint32_t f = (uint32_t)hash_mix(r ^ keys[i]) & 0xffff;
		uint32_t nl = r;

		r = l ^ f;
		l = nl;
	}
	return (l << 16) | r;
}

uint32_t sim_address(const sim_scenario *s, uint32_t index)
{
	size_t n;
	const uint8_t *oct = public_octets(&n);
	uint64_t m = (uint64_t)n << 24;
	uint32_t y = feistel(index);

	(void)s;
	while (y >= m)   /* cycle-walk into [0, m): a bijection on it */
		y = feistel(y);
	return ((uint32_t)oct[y >> 24] << 24) | (y & 0xffffff);
}

void sim_ip_text(uint32_t ip, char out[16])
{
	char *p = out;
	int i;

	for (i = 3; i >= 0; i--) {
		unsigned v = (ip >> (i * 8)) & 255;

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		if (i)
			*p++ = '.';
	}
	*p = '\0';
}

/* --- rates -------------------------------------------------------------------- */

/* level_at: the source's level at t (0 while paused or after a takedown). */
static double level_at(const struct source *src, int64_t t)
{
	double level = 1;
	size_t i;

	for (i = 0; i < src->nplans; i++) {
		const struct plan *p = &src->plans[i];

		if (t < p->t1)
			break;
		switch (p->type) {
		case PLAN_PAUSE:
			if (t < p->t2)
				return 0;
			level *= p->factor;
			break;
		case PLAN_TAKEDOWN:
			return 0;
		case PLAN_LEVEL:
			level *= p->factor;
			break;
		}
	}
	return level;
}

static const struct style *style_at(const struct source *src, int64_t t)
{
	size_t i = src->nstyles;

	while (i > 1 && src->styles[i - 1].since > t)
		i--;
	return &src->styles[i - 1];
}

static void add_conn(sim_gen *g, const struct conn *c)
{
	if (g->nconns == g->capconns) {
		g->capconns = g->capconns ? 2 * g->capconns : 64;
		g->conns = xreallocarray(g->conns, g->capconns, sizeof(*g->conns));
	}
	g->conns[g->nconns++] = *c;
}

static int cmp_conn(const void *a, const void *b)
{
	const struct conn *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->src < y->src ? -1 : x->src > y->src;
}

/*
 * plan_day: how many connections each source opens in each minute of the
 * day starting at day_start. The day's expected number of connections
 * (rate, time-of-day shape, level) is rounded with a carry from day to day,
 * so daily totals follow the rates closely; the connections are spread
 * over the minutes at random in proportion to the intensity times a gamma
 * burst multiplier per burst slot (normalised over the day), so minute
 * counts are over-dispersed like a gamma-mixed Poisson while the day's
 * total stays what the scenario asks for.
 */
static void plan_day(sim_gen *g, int64_t day_start)
{
	const sim_scenario *s = g->s;
	double *w = g->weights;
	size_t i;
	int m;

	for (i = 0; i < s->nsources; i++) {
		const struct source *src = &s->sources[i];
		uint16_t *cnt = g->day_conns + i * 1440;
		double total = 0, cv = src->info.burstiness, sum1 = 0, sum2 = 0;
		struct rng r;
		uint64_t n, k;

		memset(cnt, 0, 1440 * sizeof(*cnt));
		for (m = 0; m < 1440; m++) {
			int64_t t = day_start + m * 60;
			int mod = (int)(((t / 60) % 1440 + 1440) % 1440);
			const struct style *st;

			w[m] = 0;
			if (t >= s->end)
				continue;
			st = style_at(src, t);
			w[m] = src->info.rate_per_hour / 60 * src->shape[mod] * level_at(src, t) /
			       ((st->conn_min + st->conn_max) / 2.0);
		}
		if (cv > 0) {
			double gmul = 1;

			for (m = 0; m < 1440; m++) {
				if (m % src->burst_minutes == 0)
					gmul = gsl_ran_gamma(g->grng[i], 1 / (cv * cv), cv * cv);
				sum1 += w[m];
				w[m] *= gmul;
				sum2 += w[m];
			}
			if (sum2 > 0)
				for (m = 0; m < 1440; m++)
					w[m] *= sum1 / sum2;
		}
		for (m = 0; m < 1440; m++) {
			total += w[m];
			w[m] = total;   /* cumulative */
		}
		g->carry[i] += total;
		n = (uint64_t)g->carry[i];
		g->carry[i] -= (double)n;
		if (!n || total <= 0)
			continue;
		rng_seed(&r, sim_seed_mix(sim_seed_mix(g->o.seed, src->salt), (uint64_t)day_start));
		for (k = 0; k < n; k++) {
			double u = rng_unit(&r) * total;
			int lo = 0, hi = 1439;

			while (lo < hi) {
				int mid = (lo + hi) / 2;

				if (w[mid] > u)
					hi = mid;
				else
					lo = mid + 1;
			}
			if (cnt[lo] < UINT16_MAX)
				cnt[lo]++;
		}
	}
}

/* draw_minute: the connections starting in minute g->minute. */
static void draw_minute(sim_gen *g)
{
	const sim_scenario *s = g->s;
	int64_t t = g->minute;
	int64_t rel = (t - s->start) / 60;
	size_t i;

	if (rel % 1440 == 0)
		plan_day(g, t);
	g->nconns = g->pos = 0;
	for (i = 0; i < s->nsources; i++) {
		const struct source *src = &s->sources[i];
		const struct style *st;
		unsigned k, n = g->day_conns[i * 1440 + (size_t)(rel % 1440)];
		struct rng r;

		if (!n)
			continue;
		st = style_at(src, t);
		rng_seed(&r, sim_seed_mix(sim_seed_mix(g->o.seed, src->salt), (uint64_t)t));
		for (k = 0; k < n; k++) {
			struct conn c;

			c.t_us = t * 1000000 + (int64_t)rng_below(&r, 60000000);
			c.src = (uint32_t)i;
			c.bot = rng_below(&r, src->info.pool);
			c.nmsg = (uint32_t)rng_range(&r, st->conn_min, st->conn_max);
			c.seed = rng_next(&r);
			add_conn(g, &c);
		}
	}
	if (g->nconns > 1)
		qsort(g->conns, g->nconns, sizeof(*g->conns), cmp_conn);
}

/* --- building a message ---------------------------------------------------------- */

static const int zones[] = { -480, -420, -360, -300, -300, -240, -180, 0, 0, 60, 60, 60, 120,
			     120, 180, 180, 240, 300, 330, 420, 480, 480, 540 };

static void add_cmd(sim_gen *g, const char *line)
{
	if (g->msg.ncommands + 1 >= g->capcmds) {
		g->capcmds = g->capcmds ? 2 * g->capcmds : 16;
		g->cmds = xreallocarray(g->cmds, g->capcmds, sizeof(*g->cmds));
	}
	g->cmds[g->msg.ncommands++] = line;
}

static char *expand_to(struct arena *a, struct buf *tmp, const struct tpl *t, struct msg_ctx *c)
{
	buf_reset(tmp);
	tpl_expand(tmp, t, c);
	return arena_strndup(a, tmp->data, tmp->len);
}

static void start_session(sim_gen *g)
{
	const sim_scenario *s = g->s;
	const struct source *src = &s->sources[g->cur.src];
	struct msg_ctx c;
	char iptext[16];

	arena_reset(&g->sess_arena);
	rng_seed(&g->sess_rng, g->cur.seed);
	g->in_session = true;
	g->cur_index = 0;
	g->session_id++;
	g->next_us = g->cur.t_us;
	if (g->sandbox >= 0) {
		g->ip = (10u << 24) | (66u << 16) | (6u << 8) | 6u;   /* one sandboxed host */
	} else {
		g->ip = sim_address(s, src->pool_base + g->cur.bot);
	}
	sim_ip_text(g->ip, iptext);
	g->ip_text = arena_strdup(&g->sess_arena, iptext);
	g->zone = zones[hash_mix(src->salt ^ g->cur.bot) % (sizeof(zones) / sizeof(zones[0]))];
	if (src->info.kind == SIM_FAMILY) {
		g->style = *style_at(src, g->cur.t_us / 1000000);
	} else {
		builtin_style(s->builtin, src->info.kind, &g->sess_rng, &g->style, g->hdrs);
		g->style.rcpt_min = src->styles[0].rcpt_min;
		g->style.rcpt_max = src->styles[0].rcpt_max;
		g->style.starttls = src->styles[0].starttls;
	}
	g->starttls = g->style.starttls > 0 && rng_unit(&g->sess_rng) < g->style.starttls;
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.r = &g->sess_rng;
	c.bot_seed = sim_seed_mix(src->salt, g->cur.bot);
	c.t = g->cur.t_us / 1000000;
	c.zone_min = g->zone;
	c.ip = g->ip_text;
	c.style = &g->style;
	if (s->nrcpt_domains)
		c.domain = s->rcpt_domains[0];
	g->helo = expand_to(&g->sess_arena, &g->tmp, g->style.helo, &c);
}

/* A recipient address at the trap's domains, harvested-list style. */
static void make_rcpt(struct buf *b, struct rng *r, const sim_scenario *s)
{
	const char *first = sim_pick(r, sim_first_names, sim_nfirst_names);
	const char *last = sim_pick(r, sim_last_names, sim_nlast_names);
	const char *p;

	buf_reset(b);
	switch (rng_below(r, 6)) {
	case 0:
		for (p = first; *p; p++)
			buf_addch(b, *p | 0x20);
		break;
	case 1:
		for (p = first; *p; p++)
			buf_addch(b, *p | 0x20);
		buf_addch(b, '.');
		for (p = last; *p; p++)
			buf_addch(b, *p | 0x20);
		break;
	case 2:
		buf_addch(b, first[0] | 0x20);
		for (p = last; *p; p++)
			buf_addch(b, *p | 0x20);
		break;
	case 3:
		buf_addstr(b, sim_pick(r, sim_words, sim_nwords));
		buf_printf(b, "%u", rng_below(r, 100));
		break;
	case 4:
		for (p = first; *p; p++)
			buf_addch(b, *p | 0x20);
		buf_printf(b, "%u", 1950 + rng_below(r, 60));
		break;
	default:
		for (p = last; *p; p++)
			buf_addch(b, *p | 0x20);
		buf_addch(b, '_');
		buf_addch(b, first[0] | 0x20);
		break;
	}
	buf_addch(b, '@');
	buf_addstr(b, s->rcpt_domains[rng_below(r, (uint32_t)s->nrcpt_domains)]);
}

static bool id_insert(sim_gen *g, uint64_t h)
{
	size_t i;

	if (!h)
		h = 1;
	if ((g->nids + 1) * 2 > g->idcap) {
		size_t oldcap = g->idcap, k;
		uint64_t *old = g->ids;

		g->idcap = g->idcap ? 2 * g->idcap : 1 << 16;
		g->ids = xcalloc(g->idcap, sizeof(*g->ids));
		for (k = 0; k < oldcap; k++)
			if (old[k]) {
				for (i = old[k] & (g->idcap - 1); g->ids[i]; i = (i + 1) & (g->idcap - 1))
					;
				g->ids[i] = old[k];
			}
		free(old);
	}
	for (i = h & (g->idcap - 1); g->ids[i]; i = (i + 1) & (g->idcap - 1))
		if (g->ids[i] == h)
			return false;
	g->ids[i] = h;
	g->nids++;
	return true;
}

static const char *cte_name(enum cte c)
{
	static const char *const names[] = { "7bit", "8bit", "quoted-printable", "base64" };

	return names[c];
}

static void add_crlf_text(struct buf *out, const char *t, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++)
		if (t[i] == '\n') {
			buf_add(out, t + start, i - start);
			buf_add(out, "\r\n", 2);
			start = i + 1;
		}
	buf_add(out, t + start, n - start);
	if (n && t[n - 1] != '\n')
		buf_add(out, "\r\n", 2);
}

static void add_qp(struct buf *out, const char *t, size_t n)
{
	static const char hx[] = "0123456789ABCDEF";
	char line[128];
	size_t i, col = 0, k = 0;

	/* a line is built in line[] and added at once: buf_addch per byte is slow */
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)t[i];

		if (ch == '\n') {
			line[k++] = '\r';
			line[k++] = '\n';
			buf_add(out, line, k);
			k = col = 0;
			continue;
		}
		if (col >= 72) {
			line[k++] = '=';
			line[k++] = '\r';
			line[k++] = '\n';
			buf_add(out, line, k);
			k = col = 0;
		}
		if ((ch >= 33 && ch <= 126 && ch != '=') || (ch == ' ' && i + 1 < n && t[i + 1] != '\n')) {
			line[k++] = (char)ch;
			col++;
		} else {
			line[k++] = '=';
			line[k++] = hx[ch >> 4];
			line[k++] = hx[ch & 15];
			col += 3;
		}
	}
	if (k || (n && t[n - 1] != '\n')) {
		line[k++] = '\r';
		line[k++] = '\n';
		buf_add(out, line, k);
	}
}

static void add_base64(struct buf *out, const char *t, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct buf crlf = BUF_INIT;
	size_t i, col = 0;

	add_crlf_text(&crlf, t, n);
	for (i = 0; i < crlf.len; i += 3) {
		unsigned char a = (unsigned char)crlf.data[i];
		unsigned char b = i + 1 < crlf.len ? (unsigned char)crlf.data[i + 1] : 0;
		unsigned char c = i + 2 < crlf.len ? (unsigned char)crlf.data[i + 2] : 0;
		char q[4] = { b64[a >> 2], b64[((a & 3) << 4) | (b >> 4)],
			      i + 1 < crlf.len ? b64[((b & 15) << 2) | (c >> 6)] : '=',
			      i + 2 < crlf.len ? b64[c & 63] : '=' };

		buf_add(out, q, 4);
		col += 4;
		if (col >= 76) {
			buf_add(out, "\r\n", 2);
			col = 0;
		}
	}
	if (col)
		buf_add(out, "\r\n", 2);
	buf_free(&crlf);
}

static void add_encoded(struct buf *out, enum cte cte, const char *t, size_t n)
{
	switch (cte) {
	case CTE_QP:
		add_qp(out, t, n);
		break;
	case CTE_BASE64:
		add_base64(out, t, n);
		break;
	default:
		add_crlf_text(out, t, n);
		break;
	}
}

/* html_of: the text as simple HTML, URLs as links. */
static void html_of(struct buf *out, const char *t, size_t n)
{
	size_t i = 0, run = 0;

	buf_add(out, "<html><body>\n", 13);
	while (i < n) {
		const char *rep = NULL;
		size_t j;

		if (n - i > 7 && t[i] == 'h' && memcmp(t + i, "http://", 7) == 0) {
			buf_add(out, t + run, i - run);
			for (j = i; j < n && t[j] != ' ' && t[j] != '\n'; j++)
				;
			buf_add(out, "<a href=\"", 9);
			buf_add(out, t + i, j - i);
			buf_add(out, "\">", 2);
			buf_add(out, t + i, j - i);
			buf_add(out, "</a>", 4);
			i = run = j;
			continue;
		}
		switch (t[i]) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '\n': rep = "<br>\n"; break;
		default: break;
		}
		if (rep) {
			buf_add(out, t + run, i - run);
			buf_addstr(out, rep);
			run = i + 1;
		}
		i++;
	}
	buf_add(out, t + run, n - run);
	buf_add(out, "</body></html>\n", 15);
}

static void add_part_header(struct buf *out, const char *sub, const char *charset, enum cte cte)
{
	buf_addstr(out, "\r\nContent-Type: text/");
	buf_addstr(out, sub);
	buf_addstr(out, "; charset=\"");
	buf_addstr(out, charset);
	buf_addstr(out, "\"\r\nContent-Transfer-Encoding: ");
	buf_addstr(out, cte_name(cte));
	buf_addstr(out, "\r\n\r\n");
}

void sim_body(struct buf *out, struct msg_ctx *c, enum mime_shape mime, enum cte cte,
	      const char *text, size_t textlen, struct rng *r)
{
	struct buf html = BUF_INIT;

	(void)r;
	switch (mime) {
	case MIME_PLAIN:
		add_encoded(out, cte, text, textlen);
		break;
	case MIME_HTML:
		html_of(&html, text, textlen);
		add_encoded(out, cte, html.data, html.len);
		break;
	case MIME_ALTERNATIVE:
		html_of(&html, text, textlen);
		buf_addstr(out, "This is a multi-part message in MIME format.\r\n\r\n--");
		buf_addstr(out, c->boundary);
		add_part_header(out, "plain", c->charset, cte);
		add_encoded(out, cte, text, textlen);
		buf_addstr(out, "\r\n--");
		buf_addstr(out, c->boundary);
		add_part_header(out, "html", c->charset, cte);
		add_encoded(out, cte, html.data, html.len);
		buf_addstr(out, "\r\n--");
		buf_addstr(out, c->boundary);
		buf_addstr(out, "--\r\n");
		break;
	}
	buf_free(&html);
}

static const struct campaign *pick_campaign(const sim_gen *g, const struct source *src,
					    struct rng *r, int64_t t)
{
	const sim_scenario *s = g->s;
	size_t valid[64], n = 0, i;

	if (src->info.kind != SIM_FAMILY)
		return builtin_campaign(s->builtin, src->info.kind, r);
	for (i = 0; i < g->style.ncampaigns && n < 64; i++) {
		const struct campaign *c = &s->campaigns[g->style.campaigns[i]];

		if ((!c->from || t >= c->from) && (!c->until || t < c->until))
			valid[n++] = g->style.campaigns[i];
	}
	if (!n)   /* every campaign out of its window: the first one still runs */
		return &s->campaigns[g->style.campaigns[0]];
	return &s->campaigns[valid[rng_below(r, (uint32_t)n)]];
}

static void build_message(sim_gen *g)
{
	const sim_scenario *s = g->s;
	const struct source *src = &s->sources[g->cur.src];
	struct sim_message *m = &g->msg;
	struct arena *a = &g->msg_arena;
	struct rng env, idr, body;
	struct msg_ctx c;
	uint64_t mseed = sim_seed_mix(g->cur.seed, g->cur_index);
	const struct campaign *camp;
	size_t i, nr, idstart;
	int64_t t;
	bool last;

	arena_reset(a);
	rng_seed(&env, sim_seed_mix(mseed, 1));
	rng_seed(&body, sim_seed_mix(mseed, 3));
	/* when: the first message a second or so after connecting, then 1-4 s apart */
	g->next_us += 700000 + (int64_t)rng_below(&env, 2500000);
	t = g->next_us / 1000000;
	/* the session ends here if it is done, at --max, or if its next message
	 * (at most 3.2 s later) could fall after the end of the scenario */
	last = g->cur_index + 1 >= g->cur.nmsg || (g->o.max && g->total + 1 >= g->o.max) ||
	       g->next_us + 3200000 >= g->s->end * 1000000;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.r = &env;
	c.bot_seed = sim_seed_mix(src->salt, g->cur.bot);
	c.t = t;
	c.zone_min = g->zone;
	c.ip = g->ip_text;
	c.helo = g->helo;
	c.style = &g->style;
	camp = pick_campaign(g, src, &env, t);
	c.camp = camp;
	if (camp->ndomains)
		c.domain = camp->domains[rng_below(&env, (uint32_t)camp->ndomains)];
	else {
		buf_reset(&g->tmp);
		buf_addstr(&g->tmp, sim_pick(&env, sim_words, sim_nwords));
		buf_addch(&g->tmp, '-');
		buf_addstr(&g->tmp, sim_pick(&env, sim_words, sim_nwords));
		buf_addstr(&g->tmp, src->info.kind == SIM_LEGIT ? ".example.org" : ".example");
		c.domain = arena_strndup(a, g->tmp.data, g->tmp.len);
	}
	if (camp->nproducts)
		c.product = camp->products[rng_below(&env, (uint32_t)camp->nproducts)];
	c.sfirst = sim_pick(&env, sim_first_names, sim_nfirst_names);
	c.slast = sim_pick(&env, sim_last_names, sim_nlast_names);
	/* envelope */
	nr = (size_t)rng_range(&env, g->style.rcpt_min, g->style.rcpt_max);
	g->rcpts = arena_alloc(a, nr * sizeof(*g->rcpts));
	for (i = 0; i < nr; i++) {
		make_rcpt(&g->tmp, &env, s);
		g->rcpts[i] = arena_strndup(a, g->tmp.data, g->tmp.len);
	}
	c.rcpts = g->rcpts;
	c.nrcpts = nr;
	c.from = expand_to(a, &g->tmp, g->style.from, &c);
	/* commands */
	m->ncommands = 0;
	if (g->cur_index == 0) {
		const char *greet = arena_printf(a, "%s %s", g->style.greet, g->helo);

		add_cmd(g, greet);
		if (g->starttls) {
			add_cmd(g, "STARTTLS");
			add_cmd(g, greet);
		}
	}
	add_cmd(g, expand_to(a, &g->tmp, g->style.mail, &c));
	for (c.cur_rcpt = 0; c.cur_rcpt < nr; c.cur_rcpt++)
		add_cmd(g, expand_to(a, &g->tmp, g->style.rcpt, &c));
	c.cur_rcpt = 0;
	add_cmd(g, "DATA");
	if (!last && g->style.rset)
		add_cmd(g, "RSET");
	if (last && g->style.quit)
		add_cmd(g, "QUIT");
	g->cmds[m->ncommands] = NULL;

	/* the Message-ID, unique in the stream */
	for (i = 0;; i++) {
		const char *v;

		rng_seed(&idr, sim_seed_mix(mseed, 2 + 1000 * i));
		c.r = &idr;
		buf_reset(&g->tmp);
		tpl_expand(&g->tmp, g->style.headers[g->style.msgid_header], &c);
		v = memchr(g->tmp.data, ':', g->tmp.len);
		v = v ? v + 1 : g->tmp.data;
		while (*v == ' ')
			v++;
		idstart = (size_t)(v - g->tmp.data);
		if (id_insert(g, hash64(v, g->tmp.len - idstart, 0x1d)))
			break;
	}
	m->message_id = arena_strndup(a, g->tmp.data + idstart, g->tmp.len - idstart);
	{
		char *msgid_line = arena_strndup(a, g->tmp.data, g->tmp.len);

		/* headers and body */
		buf_reset(&g->data);
		if (!g->o.envelope_only) {
			char *subject, *boundary = NULL;
			bool multi = g->style.mime == MIME_ALTERNATIVE;

			c.r = &body;
			subject = expand_to(a, &g->tmp, camp->subjects[rng_below(&body, (uint32_t)camp->nsubjects)], &c);
			c.subject = subject;
			c.charset = g->style.charset;
			if (multi) {
				boundary = expand_to(a, &g->tmp, g->style.boundary, &c);
				c.boundary = boundary;
				c.content_type = arena_printf(a, "multipart/alternative;\r\n\tboundary=\"%s\"", boundary);
				c.cte = "7bit";
			} else {
				c.content_type = arena_printf(a, "text/%s; charset=\"%s\"",
							      g->style.mime == MIME_HTML ? "html" : "plain",
							      g->style.charset);
				c.cte = cte_name(g->style.cte);
			}
			for (i = 0; i < g->style.nheaders; i++) {
				if (i == g->style.msgid_header)
					buf_addstr(&g->data, msgid_line);
				else
					tpl_expand(&g->data, g->style.headers[i], &c);
				buf_add(&g->data, "\r\n", 2);
			}
			buf_add(&g->data, "\r\n", 2);
			buf_reset(&g->text);
			tpl_expand(&g->text, camp->bodies[rng_below(&body, (uint32_t)camp->nbodies)], &c);
			sim_body(&g->data, &c, g->style.mime, g->style.cte, g->text.data, g->text.len, &body);
		}
	}
	m->time = t;
	m->usec = (uint32_t)(g->next_us % 1000000);
	m->source = g->cur.src;
	m->label = src->info.label;
	m->client_ip = g->ip;
	m->bot = g->cur.bot;
	m->client_text = g->ip_text;
	m->helo = g->helo;
	m->mail_from = c.from;
	m->rcpts = g->rcpts;
	m->nrcpts = nr;
	m->commands = g->cmds;
	m->starttls = g->starttls;
	m->esmtp = strncasecmp(g->style.greet, "EHLO", 4) == 0;
	m->data = g->data.data;
	m->len = g->data.len;
	m->session = g->session_id;
	m->index_in_session = g->cur_index;
	m->last_in_session = last;
}

/* --- the stream ----------------------------------------------------------------- */

sim_gen *sim_gen_new(const sim_scenario *s, const struct sim_options *o, char *err, size_t errlen)
{
	sim_gen *g = xcalloc(1, sizeof(*g));
	size_t i;

	g->s = s;
	if (o)
		g->o = *o;
	if (!g->o.seed)
		g->o.seed = 1;
	g->sandbox = -1;
	if (g->o.sandbox) {
		g->sandbox = sim_source_index(s, g->o.sandbox);
		if (g->sandbox < 0 || s->sources[g->sandbox].info.kind != SIM_FAMILY) {
			snprintf(err, errlen, "--sandbox %s: no family of that name in scenario %s",
				 g->o.sandbox, s->name);
			free(g);
			return NULL;
		}
		if (!g->o.count)
			g->o.count = 300;
		if (!g->o.max || g->o.max > g->o.count)
			g->o.max = g->o.count;
	}
	g->grng = xcalloc(s->nsources, sizeof(*g->grng));
	g->carry = xcalloc(s->nsources, sizeof(*g->carry));
	g->day_conns = xcalloc(s->nsources * 1440, sizeof(*g->day_conns));
	g->per_source = xcalloc(s->nsources, sizeof(*g->per_source));
	for (i = 0; i < s->nsources; i++) {
		g->grng[i] = gsl_rng_alloc(gsl_rng_mt19937);
		gsl_rng_set(g->grng[i], (unsigned long)(sim_seed_mix(g->o.seed, s->sources[i].salt) & 0xffffffffUL));
		g->carry[i] = gsl_rng_uniform(g->grng[i]);
	}
	g->nminutes = (size_t)((s->end - s->start) / 60);
	g->counts = xcalloc(g->nminutes * s->nsources, sizeof(*g->counts));
	g->minute = s->start;
	arena_init(&g->sess_arena, 4096);
	arena_init(&g->msg_arena, 16384);
	buf_init(&g->data);
	buf_init(&g->tmp);
	buf_init(&g->text);
	return g;
}

void sim_gen_free(sim_gen *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->s->nsources; i++)
		gsl_rng_free(g->grng[i]);
	free(g->grng);
	free(g->carry);
	free(g->day_conns);
	free(g->per_source);
	free(g->counts);
	free(g->conns);
	free(g->cmds);
	free(g->ids);
	arena_free(&g->sess_arena);
	arena_free(&g->msg_arena);
	buf_free(&g->data);
	buf_free(&g->tmp);
	buf_free(&g->text);
	free(g);
}

/* next_conn: the next connection to run, false at the end. */
static bool next_conn(sim_gen *g)
{
	const sim_scenario *s = g->s;

	if (g->sandbox >= 0) {
		/* sandbox: sessions one after another, every 20-90 s */
		const struct source *src = &s->sources[g->sandbox];
		struct rng r;
		const struct style *st;

		rng_seed(&r, sim_seed_mix(g->o.seed, g->session_id + 77));
		g->cur.t_us = g->session_id ? g->next_us + 20000000 + (int64_t)rng_below(&r, 70000000)
					    : s->start * 1000000;
		if (g->cur.t_us >= s->end * 1000000)
			return false;
		st = style_at(src, g->cur.t_us / 1000000);
		g->cur.src = (uint32_t)g->sandbox;
		g->cur.bot = 0;
		g->cur.nmsg = (uint32_t)rng_range(&r, st->conn_min, st->conn_max);
		g->cur.seed = rng_next(&r);
		return true;
	}
	while (g->pos >= g->nconns) {
		if (g->minute >= s->end)
			return false;
		draw_minute(g);
		g->minute += 60;
	}
	g->cur = g->conns[g->pos++];
	return true;
}

const struct sim_message *sim_gen_next(sim_gen *g)
{
	const sim_scenario *s = g->s;
	int64_t mi;

	if (g->done || (g->o.max && g->total >= g->o.max)) {
		g->done = true;
		return NULL;
	}
	for (;;) {
		if (!g->in_session || g->cur_index >= g->cur.nmsg) {
			g->in_session = false;
			if (!next_conn(g)) {
				g->done = true;
				return NULL;
			}
			start_session(g);
		}
		build_message(g);
		g->cur_index++;
		if (g->msg.last_in_session)
			g->cur_index = g->cur.nmsg;
		if (g->msg.time < s->end)
			break;
		/* a session starting too late for the scenario is left out whole */
		g->cur_index = g->cur.nmsg;
	}
	mi = (g->msg.time - s->start) / 60;
	if (mi >= 0 && (size_t)mi < g->nminutes)
		g->counts[(size_t)mi * s->nsources + g->msg.source]++;
	g->total++;
	g->per_source[g->msg.source]++;
	return &g->msg;
}

size_t sim_gen_count(const sim_gen *g)
{
	return g->total;
}

size_t sim_gen_label_count(const sim_gen *g, size_t i)
{
	return i < g->s->nsources ? g->per_source[i] : 0;
}

int sim_run(sim_gen *g, sim_message_fn *fn, void *ctx)
{
	const struct sim_message *m;

	while ((m = sim_gen_next(g))) {
		int rc = fn(m, ctx);

		if (rc)
			return rc;
	}
	return 0;
}

/* --- events as generated ----------------------------------------------------------- */

static uint64_t count_range(const sim_gen *g, size_t src, int64_t from_min, int64_t to_min)
{
	uint64_t n = 0;
	int64_t m;

	if (from_min < 0)
		from_min = 0;
	if (to_min > (int64_t)g->nminutes)
		to_min = (int64_t)g->nminutes;
	for (m = from_min; m < to_min; m++)
		n += g->counts[(size_t)m * g->s->nsources + src];
	return n;
}

static double rate_in(const sim_gen *g, size_t src, int64_t from_min, int64_t to_min)
{
	if (from_min < 0)
		from_min = 0;
	if (to_min > (int64_t)g->nminutes)
		to_min = (int64_t)g->nminutes;
	if (to_min <= from_min)
		return 0;
	return round(10.0 * (double)count_range(g, src, from_min, to_min) * 60.0 /
		     (double)(to_min - from_min)) / 10.0;
}

/* messages_in: messages of every source in [from, to) minutes, legitimate
 * mail too or not (a report's total counts it; the claims on spam do not) */
static uint64_t messages_in(const sim_gen *g, int64_t from, int64_t to, bool legit_too)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < g->s->nsources; i++)
		if (legit_too || g->s->sources[i].info.kind != SIM_LEGIT)
			n += count_range(g, i, from, to);
	return n;
}

/* expected_in: the messages source src would have sent in [from, to)
 * minutes at level `level`, by its rate and time-of-day shape (the mean of
 * what plan_day draws: bursts and the daily carry average out). */
static double expected_in(const sim_gen *g, size_t src, double level, int64_t from, int64_t to)
{
	const struct source *so = &g->s->sources[src];
	double e = 0;
	int64_t m;

	for (m = from; m < to; m++) {
		int64_t t = g->s->start + m * 60;
		int mod = (int)(((t / 60) % 1440 + 1440) % 1440);

		e += so->shape[mod];
	}
	return e * so->info.rate_per_hour / 60 * level;
}

/*
 * truth_impact: what a cessation of source src (its last message in minute
 * last, the level it went away from `level`) did to the total, in the
 * fields of the report's impact. total_change_day_over_day is the
 * definition applied to what was generated (the UTC day after the event's
 * day against that day, both generated whole). total_change_vs_baseline is
 * the causal effect the report's seasonal baseline estimates: the total of
 * the 24 hours after the last message (at least 6 of them generated)
 * against the same total had the family gone on at its level, the other
 * sources as they were. The truth is known, so it has no interval: lo95
 * and hi95 are null; so is a field whose days were not generated.
 */
static json_t *truth_impact(const sim_gen *g, size_t src, int64_t last, double level, int64_t gen_end)
{
	const int64_t day = 1440;
	int64_t d0 = (((g->s->start / 60 + last) / day) * day) - g->s->start / 60;
	int64_t from = last + 1, to = from + day < gen_end ? from + day : gen_end;
	json_t *o;
	double dod = NAN, vs = NAN;

	if (d0 >= 0 && d0 + 2 * day <= gen_end) {
		uint64_t a = messages_in(g, d0, d0 + day, true), b = messages_in(g, d0 + day, d0 + 2 * day, true);

		if (a)
			dod = ((double)b - (double)a) / (double)a;
	}
	if (to - from >= 6 * 60) {
		double o_all = (double)messages_in(g, from, to, true);
		double cf = o_all - (double)count_range(g, src, from, to) + expected_in(g, src, level, from, to);

		if (cf > 0)
			vs = o_all / cf - 1;
	}
	o = json_object();
	json_object_set_new(o, "total_change_day_over_day", isnan(dod) ? json_null() : json_real(dod));
	json_object_set_new(o, "total_change_vs_baseline", isnan(vs) ? json_null() : json_real(vs));
	json_object_set_new(o, "lo95", json_null());
	json_object_set_new(o, "hi95", json_null());
	return o;
}

/* add_event: one event of the truth; impact (a reference stolen) is NULL
 * but for ceased. */
static void add_event(json_t *arr, const sim_scenario *s, const char *family, enum sim_event_type type,
		      int64_t at_min, double before, double after, json_t *impact)
{
	char iso[TIME_ISO_LEN];
	json_t *o = json_object();

	time_format_iso(s->start + at_min * 60, iso);
	json_object_set_new(o, "family", json_string(family));
	json_object_set_new(o, "type", json_string(sim_event_type_name(type)));
	json_object_set_new(o, "at", json_string(iso));
	json_object_set_new(o, "before_rate_per_hour", json_real(before));
	json_object_set_new(o, "after_rate_per_hour", json_real(after));
	json_object_set_new(o, "confidence", json_real(1));
	json_object_set_new(o, "impact", impact ? impact : json_null());
	json_array_append_new(arr, o);
}

static int cmp_json_at(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(json_string_value(json_object_get(x, "at")),
		       json_string_value(json_object_get(y, "at")));

	return c ? c : strcmp(json_string_value(json_object_get(x, "family")),
			      json_string_value(json_object_get(y, "family")));
}

json_t *sim_gen_events(const sim_gen *g)
{
	const sim_scenario *s = g->s;
	json_t *arr = json_array(), *sorted;
	json_t **items;
	int64_t gen_end;
	size_t i, j, n;
	const int64_t day = 1440;

	if (g->sandbox >= 0)
		return arr;
	/* generated up to the minute being drawn (or the end) */
	gen_end = g->done && !(g->o.max && g->total >= g->o.max) ? (int64_t)g->nminutes
		: (g->minute - s->start) / 60 - 1;
	for (i = 0; i < s->nsources; i++) {
		const struct source *src = &s->sources[i];
		int64_t prev = 0;   /* minute of the previous event of this family */

		for (j = 0; j < src->nplans; j++) {
			const struct plan *p = &src->plans[j];
			int64_t t1 = (p->t1 - s->start) / 60, t2 = (p->t2 - s->start) / 60;
			int64_t next = j + 1 < src->nplans ? (src->plans[j + 1].t1 - s->start) / 60
							   : (int64_t)g->nminutes;
			int64_t last = -1, first = -1, m;

			if (p->type == PLAN_LEVEL) {
				if (t1 >= gen_end)
					break;
				add_event(arr, s, src->info.label, p->factor < 1 ? SIM_DROP : SIM_SURGE, t1,
					  rate_in(g, i, t1 - day > prev ? t1 - day : prev, t1),
					  rate_in(g, i, t1, t1 + day < next ? t1 + day : next), NULL);
				prev = t1;
				continue;
			}
			/* the last message before the silence ends */
			{
				int64_t stop = p->type == PLAN_PAUSE ? t2 : next;

				if (t1 >= gen_end)
					break;
				for (m = (stop < gen_end ? stop : gen_end) - 1; m >= prev; m--)
					if (g->counts[(size_t)m * s->nsources + i]) {
						last = m;
						break;
					}
			}
			if (last < 0)
				break;   /* it never sent: there is nothing to cease */
			add_event(arr, s, src->info.label, SIM_CEASED, last,
				  rate_in(g, i, last + 1 - day > prev ? last + 1 - day : prev, last + 1),
				  rate_in(g, i, last + 1, p->type == PLAN_PAUSE ? (t2 < last + 1 + day ? t2 : last + 1 + day)
									 : last + 1 + day),
				  truth_impact(g, i, last, level_at(src, p->t1 - 1), gen_end));
			if (p->type != PLAN_PAUSE)
				break;
			for (m = t2; m < next && m < gen_end; m++)
				if (g->counts[(size_t)m * s->nsources + i]) {
					first = m;
					break;
				}
			if (first < 0)
				break;
			add_event(arr, s, src->info.label, SIM_RESUMED, first,
				  rate_in(g, i, last + 1, first),
				  rate_in(g, i, first, first + day < next ? first + day : next), NULL);
			prev = first;
		}
	}
	/* in time order */
	n = json_array_size(arr);
	items = xcalloc(n ? n : 1, sizeof(*items));
	for (i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(arr, i));
	qsort(items, n, sizeof(*items), cmp_json_at);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(sorted, items[i]);
	free(items);
	json_decref(arr);
	return sorted;
}

/* --- claims measured on what was generated ------------------------------------------ */

static int64_t minute_of(const sim_gen *g, int64_t t)
{
	int64_t m = (t - g->s->start) / 60;

	if (m < 0)
		m = 0;
	if (m > (int64_t)g->nminutes)
		m = (int64_t)g->nminutes;
	return m;
}



static bool hourly_cv(const sim_gen *g, size_t src, int64_t from, int64_t to, double *cv)
{
	double sum = 0, sq = 0, n = 0, mean;
	int64_t h;

	for (h = from; h + 60 <= to; h += 60) {
		double c = (double)count_range(g, src, h, h + 60);

		sum += c;
		sq += c * c;
		n++;
	}
	if (n < 2 || sum <= 0)
		return false;
	mean = sum / n;
	*cv = sqrt(fmax(0, sq / n - mean * mean)) / mean;
	return true;
}

bool sim_gen_claim_value(const sim_gen *g, const struct sim_claim *c, double *value)
{
	int64_t from = minute_of(g, c->from), to = minute_of(g, c->to);
	int fi = c->family ? sim_source_index(g->s, c->family) : -1;
	int oi = c->other ? sim_source_index(g->s, c->other) : -1;

	switch (c->kind) {
	case SIM_CLAIM_SHARE: {
		uint64_t all = messages_in(g, from, to, false);

		if (fi < 0 || !all)
			return false;
		*value = (double)count_range(g, (size_t)fi, from, to) / (double)all;
		return true;
	}
	case SIM_CLAIM_CHANGE: {
		uint64_t a = messages_in(g, from, from + 1440, false), b = messages_in(g, to, to + 1440, false);

		if (!a)
			return false;
		*value = ((double)b - (double)a) / (double)a;
		return true;
	}
	case SIM_CLAIM_STEADIER: {
		double x, y;

		if (fi < 0 || oi < 0 || !hourly_cv(g, (size_t)fi, from, to, &x) ||
		    !hourly_cv(g, (size_t)oi, from, to, &y))
			return false;
		*value = x - y;
		return true;
	}
	case SIM_CLAIM_AT_LEAST: {
		uint64_t b;

		if (fi < 0 || oi < 0 || !(b = count_range(g, (size_t)oi, from, to)))
			return false;
		*value = (double)count_range(g, (size_t)fi, from, to) / (double)b;
		return true;
	}
	case SIM_CLAIM_RATE:
		if (fi < 0 || to <= from)
			return false;
		*value = (double)count_range(g, (size_t)fi, from, to) * 60.0 / (double)(to - from);
		return true;
	case SIM_CLAIM_CEASED:
	case SIM_CLAIM_RESUMED: {
		json_t *ev = sim_gen_events(g), *e;
		const char *want = c->kind == SIM_CLAIM_CEASED ? "ceased" : "resumed";
		bool found = false;
		size_t k;

		json_array_foreach(ev, k, e) {
			int64_t at;
			double d;

			if (strcmp(json_string_value(json_object_get(e, "family")), c->family) ||
			    strcmp(json_string_value(json_object_get(e, "type")), want) ||
			    !time_parse_iso(json_string_value(json_object_get(e, "at")), &at))
				continue;
			d = (double)(at - c->at) / 60.0;
			if (!found || fabs(d) < fabs(*value))
				*value = d;
			found = true;
		}
		json_decref(ev);
		return found;
	}
	}
	return false;
}

bool sim_claim_holds(const struct sim_claim *c, double v)
{
	switch (c->kind) {
	case SIM_CLAIM_SHARE:
	case SIM_CLAIM_CHANGE:
		return fabs(v - c->value) <= c->tolerance;
	case SIM_CLAIM_STEADIER:
		return v < 0;
	case SIM_CLAIM_AT_LEAST:
		return v >= 1;
	case SIM_CLAIM_RATE:
		return v >= c->value;
	case SIM_CLAIM_CEASED:
	case SIM_CLAIM_RESUMED:
		return fabs(v) <= c->tolerance;
	}
	return false;
}
