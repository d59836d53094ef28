/*
 * scenario.c - reading scenario files (format: docs/scenarios.md).
 *
 * The text is read in two passes: lines into sections of key/value entries
 * (with `key@DATE` for changes over time and `|` continuation lines), then
 * each section into its structure. Every error names the file and line:
 * "rustock-2011.conf:42: pause: end before start". A scenario owns one
 * arena; sim_scenario_free releases everything.
 *
 * Limits: a file of at most SIM_MAX_FILE bytes, SIM_MAX_SOURCES sources,
 * pools summing to at most 2^31 addresses.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/internal.h"
#include "util/embedded.h"
#include "util/hash.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum sect_type { SECT_SCENARIO, SECT_FAMILY, SECT_UNKNOWN, SECT_LEGIT, SECT_TEMPLATE, SECT_CLAIM };

struct entry {
	char *key;
	int64_t since;        /* INT64_MIN: no @DATE */
	struct buf value;
	int line;
	bool used;
};

struct section {
	enum sect_type type;
	char *name;
	int line;
	struct entry *e;
	size_t n, cap;
};

struct parser {
	sim_scenario *s;
	const char *origin;
	char *err;
	size_t errlen;
	struct section *sec;
	size_t nsec, capsec;
	bool failed;
};

static bool perr(struct parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool perr(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return false;
	p->failed = true;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->origin, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return false;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* parse_time: ISO 8601, also without the trailing Z. */
static bool parse_time(const char *v, int64_t *out)
{
	char tmp[40];

	if (time_parse_iso(v, out))
		return true;
	if (strlen(v) + 2 > sizeof(tmp))
		return false;
	snprintf(tmp, sizeof(tmp), "%sZ", v);
	return time_parse_iso(tmp, out);
}

/* --- pass 1: lines into sections ------------------------------------------ */

static bool read_lines(struct parser *p, const char *text, size_t len)
{
	const char *pos = text, *end = text + len;
	int line = 0;
	struct entry *last = NULL;

	while (pos < end) {
		const char *nl = memchr(pos, '\n', (size_t)(end - pos));
		size_t l = nl ? (size_t)(nl - pos) : (size_t)(end - pos);
		char *raw = xstrndup(pos, l), *s = raw;

		line++;
		pos += l + (nl ? 1 : 0);
		if (memchr(raw, '\0', l)) {
			free(raw);
			return perr(p, line, "NUL byte in the file");
		}
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '|') {
			if (!last) {
				free(raw);
				return perr(p, line, "continuation line '|' without a key before it");
			}
			s++;
			if (*s == ' ')
				s++;
			{
				char *e = s + strlen(s);

				while (e > s && e[-1] == '\r')
					*--e = '\0';
			}
			buf_addch(&last->value, '\n');
			buf_addstr(&last->value, s);
			free(raw);
			continue;
		}
		s = trim(s);
		if (*s == '\0' || *s == '#') {
			free(raw);
			continue;
		}
		if (*s == '[') {
			char *close = strchr(s, ']'), *name, *sp;
			struct section *sec;

			if (!close || close[1] != '\0') {
				free(raw);
				return perr(p, line, "section header must be '[type]' or '[type NAME]'");
			}
			*close = '\0';
			name = trim(s + 1);
			sp = strpbrk(name, " \t");
			if (sp)
				*sp++ = '\0';
			if (p->nsec == p->capsec) {
				p->capsec = p->capsec ? 2 * p->capsec : 16;
				p->sec = xreallocarray(p->sec, p->capsec, sizeof(*p->sec));
			}
			sec = &p->sec[p->nsec];
			memset(sec, 0, sizeof(*sec));
			sec->line = line;
			if (strcmp(name, "scenario") == 0)
				sec->type = SECT_SCENARIO;
			else if (strcmp(name, "family") == 0)
				sec->type = SECT_FAMILY;
			else if (strcmp(name, "unknown") == 0)
				sec->type = SECT_UNKNOWN;
			else if (strcmp(name, "legit") == 0)
				sec->type = SECT_LEGIT;
			else if (strcmp(name, "template") == 0)
				sec->type = SECT_TEMPLATE;
			else if (strcmp(name, "claim") == 0)
				sec->type = SECT_CLAIM;
			else {
				perr(p, line, "unknown section [%s] (scenario, family, unknown, legit, "
				     "template, claim)", name);
				free(raw);
				return false;
			}
			sp = sp ? trim(sp) : NULL;
			if (sec->type == SECT_FAMILY || sec->type == SECT_TEMPLATE || sec->type == SECT_CLAIM) {
				const char *c;

				if (!sp || !*sp) {
					perr(p, line, "[%s] needs a name: [%s NAME]", name, name);
					free(raw);
					return false;
				}
				for (c = sp; *c; c++)
					if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
					      *c == '-' || *c == '_'))
						break;
				if (*c || (sec->type == SECT_FAMILY &&
					   (strcmp(sp, "unknown") == 0 || strcmp(sp, "legit") == 0))) {
					perr(p, line, "name '%s': lower-case letters, digits, '-' and '_' only "
					     "(and not unknown or legit)", sp);
					free(raw);
					return false;
				}
				sec->name = xstrdup(sp);
			} else if (sp && *sp) {
				perr(p, line, "[%s] takes no name", name);
				free(raw);
				return false;
			}
			p->nsec++;
			last = NULL;
			free(raw);
			continue;
		}
		{
			char *eq = strchr(s, '='), *key, *at;
			struct section *sec;
			struct entry *e;

			if (!eq) {
				free(raw);
				return perr(p, line, "expected 'key = value', a [section] or '| text'");
			}
			if (!p->nsec) {
				free(raw);
				return perr(p, line, "'key = value' before any [section]");
			}
			*eq = '\0';
			key = trim(s);
			sec = &p->sec[p->nsec - 1];
			if (sec->n == sec->cap) {
				sec->cap = sec->cap ? 2 * sec->cap : 16;
				sec->e = xreallocarray(sec->e, sec->cap, sizeof(*sec->e));
			}
			e = &sec->e[sec->n];
			memset(e, 0, sizeof(*e));
			e->since = INT64_MIN;
			e->line = line;
			at = strchr(key, '@');
			if (at) {
				*at++ = '\0';
				if (!parse_time(trim(at), &e->since)) {
					perr(p, line, "'%s@%s': expected an ISO 8601 time after '@'", key, at);
					free(raw);
					return false;
				}
			}
			if (!*key) {
				free(raw);
				return perr(p, line, "empty key");
			}
			e->key = xstrdup(trim(key));
			buf_init(&e->value);
			buf_addstr(&e->value, trim(eq + 1));
			sec->n++;
			last = e;
		}
		free(raw);
	}
	return true;
}

/* --- pass 2 helpers ---------------------------------------------------------- */

static struct entry *find1(struct parser *p, struct section *sec, const char *key)
{
	struct entry *found = NULL;
	size_t i;

	for (i = 0; i < sec->n; i++)
		if (strcmp(sec->e[i].key, key) == 0 && sec->e[i].since == INT64_MIN) {
			if (found) {
				perr(p, sec->e[i].line, "'%s' given twice", key);
				return NULL;
			}
			found = &sec->e[i];
			found->used = true;
		}
	return found;
}

static bool get_double(struct parser *p, struct entry *e, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(e->value.data, &end);
	if (end == e->value.data || *trim(end) != '\0' || errno || !isfinite(v) || v < lo || v > hi)
		return perr(p, e->line, "%s: expected a number from %g to %g, got '%s'", e->key, lo, hi,
			    e->value.data);
	*out = v;
	return true;
}

/* split_words: the value's whitespace-separated words, in the arena. */
static size_t split_words(struct arena *a, const char *v, const char ***out)
{
	size_t n = 0, cap = 8;
	const char **w = arena_alloc(a, cap * sizeof(*w));

	for (;;) {
		size_t l;

		while (*v == ' ' || *v == '\t' || *v == '\n')
			v++;
		if (!*v)
			break;
		l = strcspn(v, " \t\n");
		if (n == cap) {
			const char **nw = arena_alloc(a, 2 * cap * sizeof(*w));

			memcpy(nw, w, cap * sizeof(*w));
			w = nw;
			cap *= 2;
		}
		w[n++] = arena_strndup(a, v, l);
		v += l;
	}
	*out = w;
	return n;
}

static bool parse_hhmm(const char *s, int *min)
{
	int h, m;
	char tail;

	if (sscanf(s, "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
		return false;
	*min = h * 60 + m;
	return true;
}

static struct tpl *compile(struct parser *p, struct entry *e, const char *text)
{
	char msg[200];
	struct tpl *t = tpl_compile(&p->s->arena, text, msg, sizeof(msg));

	if (!t)
		perr(p, e->line, "%s: %s", e->key, msg);
	return t;
}

static bool get_range(struct parser *p, struct entry *e, int lo, int hi, int *a, int *b)
{
	int x, y, n;
	char tail;

	n = sscanf(e->value.data, "%d %d%c", &x, &y, &tail);
	if (n == 1)
		y = x;
	if ((n != 1 && n != 2) || x < lo || y > hi || y < x)
		return perr(p, e->line, "%s: expected 'MIN MAX' (or one number) within %d..%d, got '%s'",
			    e->key, lo, hi, e->value.data);
	*a = x;
	*b = y;
	return true;
}

static bool check_unused(struct parser *p, struct section *sec)
{
	size_t i;

	for (i = 0; i < sec->n; i++)
		if (!sec->e[i].used)
			return perr(p, sec->e[i].line, "unknown key '%s'%s", sec->e[i].key,
				    sec->e[i].since != INT64_MIN ? " (or it takes no @DATE)" : "");
	return true;
}

/* --- [scenario] ---------------------------------------------------------------- */

static bool do_scenario(struct parser *p, struct section *sec)
{
	sim_scenario *s = p->s;
	struct entry *e;

	if ((e = find1(p, sec, "name")))
		s->name = arena_strdup(&s->arena, e->value.data);
	if ((e = find1(p, sec, "title")))
		s->title = arena_strdup(&s->arena, e->value.data);
	if (!(e = find1(p, sec, "start")) || !parse_time(e->value.data, &s->start))
		return perr(p, e ? e->line : sec->line, "[scenario] needs 'start = ISO 8601 time'");
	if (!(e = find1(p, sec, "end")) || !parse_time(e->value.data, &s->end))
		return perr(p, e ? e->line : sec->line, "[scenario] needs 'end = ISO 8601 time' (exclusive)");
	if (s->end <= s->start || s->start % 60 || s->end % 60)
		return perr(p, e->line, "end must come after start, both on whole minutes");
	if (s->end - s->start > 400LL * 86400)
		return perr(p, e->line, "a scenario spans at most 400 days");
	s->trap_host = "trap.example.net";
	if ((e = find1(p, sec, "trap")))
		s->trap_host = arena_strdup(&s->arena, e->value.data);
	s->trap_ip = (192u << 24) | (0u << 16) | (2u << 8) | 25u;
	if ((e = find1(p, sec, "trap_ip"))) {
		unsigned a, b, c, d;
		char tail;

		if (sscanf(e->value.data, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 ||
		    b > 255 || c > 255 || d > 255)
			return perr(p, e->line, "trap_ip: expected an IPv4 address");
		s->trap_ip = (a << 24) | (b << 16) | (c << 8) | d;
	}
	if ((e = find1(p, sec, "rcpt_domains")))
		s->nrcpt_domains = split_words(&s->arena, e->value.data, &s->rcpt_domains);
	if (!s->nrcpt_domains) {
		static const char *def[] = { "example.com" };

		s->rcpt_domains = def;
		s->nrcpt_domains = 1;
	}
	return !p->failed && check_unused(p, sec);
}

/* --- [template NAME] ------------------------------------------------------------- */

static bool do_template(struct parser *p, struct section *sec, struct campaign *c)
{
	struct arena *a = &p->s->arena;
	struct entry *e;
	size_t i, ns = 0, nb = 0;

	c->name = arena_strdup(a, sec->name);
	if ((e = find1(p, sec, "valid"))) {
		char t1[64], t2[64], tail;
		int n = sscanf(e->value.data, "%63s %63s %c", t1, t2, &tail);

		if ((n != 1 && n != 2) || !parse_time(t1, &c->from) ||
		    (n == 2 && !parse_time(t2, &c->until)) || (n == 2 && c->until <= c->from))
			return perr(p, e->line, "valid: expected 'FROM [UNTIL]' ISO 8601 times, FROM before UNTIL");
	}
	if ((e = find1(p, sec, "domains")))
		c->ndomains = split_words(a, e->value.data, &c->domains);
	if ((e = find1(p, sec, "products"))) {
		/* products are separated by '|' so they may hold spaces */
		const char *v = e->value.data;
		size_t n = 1, k = 0;
		const char *q;

		for (q = v; *q; q++)
			n += *q == '|';
		c->products = arena_alloc(a, n * sizeof(*c->products));
		for (;;) {
			const char *bar = strchr(v, '|');
			size_t l = bar ? (size_t)(bar - v) : strlen(v);
			char *w = arena_strndup(a, v, l);

			c->products[k++] = trim(w);
			if (!bar)
				break;
			v = bar + 1;
		}
		c->nproducts = k;
	}
	if ((e = find1(p, sec, "paths")))
		c->npaths = split_words(a, e->value.data, &c->paths);
	for (i = 0; i < sec->n; i++) {
		if (strcmp(sec->e[i].key, "subject") == 0)
			ns++;
		else if (strcmp(sec->e[i].key, "body") == 0)
			nb++;
	}
	if (!ns || !nb)
		return perr(p, sec->line, "[template %s] needs at least one 'subject' and one 'body'",
			    sec->name);
	c->subjects = arena_alloc(a, ns * sizeof(*c->subjects));
	c->bodies = arena_alloc(a, nb * sizeof(*c->bodies));
	for (i = 0; i < sec->n && !p->failed; i++) {
		e = &sec->e[i];
		if (strcmp(e->key, "subject") == 0) {
			e->used = true;
			if (strchr(e->value.data, '\n'))
				return perr(p, e->line, "subject: one line only");
			c->subjects[c->nsubjects++] = compile(p, e, e->value.data);
		} else if (strcmp(e->key, "body") == 0) {
			const char *v = e->value.data;

			e->used = true;
			if (*v == '\n')
				v++;   /* "body =" followed by '|' lines */
			c->bodies[c->nbodies++] = compile(p, e, v);
		}
	}
	return !p->failed && check_unused(p, sec);
}

/* --- sources -------------------------------------------------------------------- */

static bool parse_plans(struct parser *p, struct section *sec, struct source *src)
{
	sim_scenario *s = p->s;
	size_t i, n = 0;

	for (i = 0; i < sec->n; i++)
		if (!strcmp(sec->e[i].key, "pause") || !strcmp(sec->e[i].key, "takedown") ||
		    !strcmp(sec->e[i].key, "level"))
			n++;
	src->plans = arena_alloc(&s->arena, (n ? n : 1) * sizeof(*src->plans));
	for (i = 0; i < sec->n; i++) {
		struct entry *e = &sec->e[i];
		struct plan *pl = &src->plans[src->nplans];
		char t1[64], t2[64], tail;
		double f = 1;
		int k;

		memset(pl, 0, sizeof(*pl));
		if (strcmp(e->key, "pause") == 0) {
			k = sscanf(e->value.data, "%63s %63s %lf %c", t1, t2, &f, &tail);
			if ((k != 2 && k != 3) || !parse_time(t1, &pl->t1) || !parse_time(t2, &pl->t2) ||
			    f <= 0 || f > 100)
				return perr(p, e->line, "pause: expected 'FROM UNTIL [LEVEL]', ISO 8601 "
					    "times and a level factor > 0 on return");
			if (pl->t2 <= pl->t1)
				return perr(p, e->line, "pause: end before start");
			pl->type = PLAN_PAUSE;
		} else if (strcmp(e->key, "takedown") == 0) {
			k = sscanf(e->value.data, "%63s %c", t1, &tail);
			if (k != 1 || !parse_time(t1, &pl->t1))
				return perr(p, e->line, "takedown: expected one ISO 8601 time");
			pl->type = PLAN_TAKEDOWN;
			f = 0;
		} else if (strcmp(e->key, "level") == 0) {
			k = sscanf(e->value.data, "%63s %lf %c", t1, &f, &tail);
			if (k != 2 || !parse_time(t1, &pl->t1) || f <= 0 || f > 100 || f == 1)
				return perr(p, e->line, "level: expected 'AT FACTOR', a factor > 0 other than 1");
			pl->type = PLAN_LEVEL;
		} else {
			continue;
		}
		e->used = true;
		if (e->since != INT64_MIN)
			return perr(p, e->line, "%s takes no @DATE (its times are in the value)", e->key);
		if (pl->t1 < s->start || pl->t1 >= s->end || (pl->type == PLAN_PAUSE && pl->t2 > s->end))
			return perr(p, e->line, "%s: time outside the scenario's period", e->key);
		if (pl->t1 % 60 || pl->t2 % 60)
			return perr(p, e->line, "%s: times must be whole minutes", e->key);
		pl->factor = f;
		if (src->nplans && src->plans[src->nplans - 1].t1 >= pl->t1)
			return perr(p, e->line, "%s: events of a family must be in time order", e->key);
		if (src->nplans) {
			const struct plan *prev = &src->plans[src->nplans - 1];

			if (prev->type == PLAN_TAKEDOWN)
				return perr(p, e->line, "%s after a takedown", e->key);
			if (prev->type == PLAN_PAUSE && pl->t1 < prev->t2)
				return perr(p, e->line, "%s during a pause", e->key);
		}
		src->nplans++;
	}
	return true;
}

static bool parse_rates(struct parser *p, struct section *sec, struct source *src)
{
	struct arena *a = &p->s->arena;
	struct entry *e;
	size_t i;
	double sum = 0;
	int m;

	if (!(e = find1(p, sec, "rate")))
		return perr(p, sec->line, "needs 'rate = MESSAGES_PER_HOUR'");
	if (!get_double(p, e, 0, 1e6, &src->info.rate_per_hour))
		return false;
	if (!(e = find1(p, sec, "pool")))
		return perr(p, sec->line, "needs 'pool = ADDRESSES' (the bots' pool size)");
	{
		double v;

		if (!get_double(p, e, 1, 1e9, &v))
			return false;
		src->info.pool = (uint32_t)v;
	}
	for (i = 0; i < 24; i++)
		src->profile[i] = 1;
	if ((e = find1(p, sec, "profile"))) {
		const char *v = e->value.data;
		char *end;

		for (i = 0; i < 24; i++) {
			src->profile[i] = strtod(v, &end);
			if (end == v || src->profile[i] < 0 || !isfinite(src->profile[i]))
				return perr(p, e->line, "profile: expected 24 numbers >= 0 (one per UTC hour)");
			v = end;
		}
		if (*trim((char *)v))
			return perr(p, e->line, "profile: expected 24 numbers >= 0 (one per UTC hour)");
	}
	src->info.burstiness = 0;
	if ((e = find1(p, sec, "burstiness")) && !get_double(p, e, 0, 5, &src->info.burstiness))
		return false;
	src->burst_minutes = 10;
	if ((e = find1(p, sec, "burst_minutes"))) {
		double v;

		if (!get_double(p, e, 1, 1440, &v))
			return false;
		src->burst_minutes = (int)v;
	}
	src->sleep_from = src->sleep_to = -1;
	if ((e = find1(p, sec, "sleep"))) {
		char t1[16], t2[16], tail;

		if (sscanf(e->value.data, "%15s %15s %c", t1, t2, &tail) != 2 ||
		    !parse_hhmm(t1, &src->sleep_from) || !parse_hhmm(t2, &src->sleep_to) ||
		    src->sleep_from == src->sleep_to)
			return perr(p, e->line, "sleep: expected 'HH:MM HH:MM' (UTC, from and until)");
		src->info.sleeps = true;
	}
	for (i = 0; i < sec->n; i++)
		if (strcmp(sec->e[i].key, "spike") == 0)
			src->nspikes++;
	src->spikes = arena_alloc(a, (src->nspikes ? src->nspikes : 1) * sizeof(*src->spikes));
	src->nspikes = 0;
	for (i = 0; i < sec->n; i++) {
		struct spike *sp = &src->spikes[src->nspikes];
		char t1[16], tail;

		e = &sec->e[i];
		if (strcmp(e->key, "spike") != 0)
			continue;
		e->used = true;
		if (sscanf(e->value.data, "%15s %d %lf %c", t1, &sp->minutes, &sp->factor, &tail) != 3 ||
		    !parse_hhmm(t1, &sp->start_min) || sp->minutes < 1 || sp->minutes > 1440 ||
		    sp->factor <= 0 || sp->factor > 1000)
			return perr(p, e->line, "spike: expected 'HH:MM MINUTES FACTOR'");
		src->nspikes++;
	}
	/* the time-of-day shape: profile interpolated between hour centres */
	for (m = 0; m < 1440; m++) {
		double x = (m - 30) / 60.0, frac;
		int h0 = (int)floor(x), h1;
		size_t k;

		frac = x - h0;
		h1 = (h0 + 1 + 24) % 24;
		h0 = (h0 + 24) % 24;
		src->shape[m] = src->profile[h0] * (1 - frac) + src->profile[h1] * frac;
		for (k = 0; k < src->nspikes; k++) {
			int d = (m - src->spikes[k].start_min + 1440) % 1440;

			if (d < src->spikes[k].minutes)
				src->shape[m] *= src->spikes[k].factor;
		}
		if (src->sleep_from >= 0) {
			bool asleep = src->sleep_from < src->sleep_to
				? (m >= src->sleep_from && m < src->sleep_to)
				: (m >= src->sleep_from || m < src->sleep_to);

			if (asleep)
				src->shape[m] = 0;
		}
		sum += src->shape[m];
	}
	if (sum <= 0)
		return perr(p, sec->line, "the time-of-day shape (profile, sleep) is zero all day");
	for (m = 0; m < 1440; m++)
		src->shape[m] *= 1440 / sum;
	return parse_plans(p, sec, src);
}

/* A key of the dialect/header style, possibly changing over time. */
static bool is_style_key(const char *k)
{
	static const char *const keys[] = { "helo", "greet", "mail", "rcpt", "from", "rset", "quit",
					    "starttls", "header", "add_header", "mime", "charset",
					    "encoding", "boundary", "recipients", "per_connection",
					    "templates", NULL };
	size_t i;

	for (i = 0; keys[i]; i++)
		if (strcmp(keys[i], k) == 0)
			return true;
	return false;
}

/* latest: the latest entry of key with since <= at, or NULL; marks used. */
static struct entry *latest(struct section *sec, const char *key, int64_t at)
{
	struct entry *best = NULL;
	size_t i;

	for (i = 0; i < sec->n; i++) {
		struct entry *e = &sec->e[i];

		if (strcmp(e->key, key) != 0 || e->since > at)
			continue;
		e->used = true;
		if (!best || e->since > best->since)
			best = e;
	}
	return best;
}

static bool get_bool(struct parser *p, struct entry *e, bool *out)
{
	if (!strcmp(e->value.data, "yes") || !strcmp(e->value.data, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(e->value.data, "no") || !strcmp(e->value.data, "false")) {
		*out = false;
		return true;
	}
	return perr(p, e->line, "%s: expected yes or no", e->key);
}

static bool header_is(const struct tpl *t, const char *name)
{
	size_t l = strlen(name);

	return strncasecmp(t->src, name, l) == 0 && t->src[l] == ':';
}

static bool build_style(struct parser *p, struct section *sec, struct style *st, int64_t at)
{
	struct arena *a = &p->s->arena;
	struct entry *e, *hdr;
	size_t i, n;

	st->since = at;
	st->greet = "EHLO";
	if ((e = latest(sec, "greet", at))) {
		if (!*e->value.data || strpbrk(e->value.data, " \t"))
			return perr(p, e->line, "greet: one word such as EHLO or HELO");
		st->greet = arena_strdup(a, e->value.data);
	}
#define TPL_KEY(field, key, def)                                                        \
	do {                                                                            \
		e = latest(sec, key, at);                                               \
		st->field = e ? compile(p, e, e->value.data)                            \
			      : tpl_compile(a, def, p->err, p->errlen);                 \
		if (!st->field)                                                         \
			return false;                                                   \
	} while (0)
	TPL_KEY(helo, "helo", "{lower:6-10:bot}");
	TPL_KEY(mail, "mail", "MAIL FROM:<{from}>");
	TPL_KEY(rcpt, "rcpt", "RCPT TO:<{rcpt}>");
	TPL_KEY(from, "from", "{first_lc}.{last_lc}@{rcpt_domain}");
	TPL_KEY(boundary, "boundary", "----=_Part_{digits:5}_{digits:9}.{digits:13}");
#undef TPL_KEY
	st->quit = true;
	if ((e = latest(sec, "rset", at)) && !get_bool(p, e, &st->rset))
		return false;
	if ((e = latest(sec, "quit", at)) && !get_bool(p, e, &st->quit))
		return false;
	if ((e = latest(sec, "starttls", at)) && !get_double(p, e, 0, 1, &st->starttls))
		return false;
	st->mime = MIME_PLAIN;
	if ((e = latest(sec, "mime", at))) {
		if (!strcmp(e->value.data, "plain"))
			st->mime = MIME_PLAIN;
		else if (!strcmp(e->value.data, "html"))
			st->mime = MIME_HTML;
		else if (!strcmp(e->value.data, "alternative"))
			st->mime = MIME_ALTERNATIVE;
		else
			return perr(p, e->line, "mime: plain, html or alternative");
	}
	st->charset = "us-ascii";
	if ((e = latest(sec, "charset", at)))
		st->charset = arena_strdup(a, e->value.data);
	st->cte = CTE_7BIT;
	if ((e = latest(sec, "encoding", at))) {
		if (!strcmp(e->value.data, "7bit"))
			st->cte = CTE_7BIT;
		else if (!strcmp(e->value.data, "8bit"))
			st->cte = CTE_8BIT;
		else if (!strcmp(e->value.data, "quoted-printable"))
			st->cte = CTE_QP;
		else if (!strcmp(e->value.data, "base64"))
			st->cte = CTE_BASE64;
		else
			return perr(p, e->line, "encoding: 7bit, 8bit, quoted-printable or base64");
	}
	st->rcpt_min = st->rcpt_max = st->conn_min = st->conn_max = 1;
	if ((e = latest(sec, "recipients", at)) && !get_range(p, e, 1, 100, &st->rcpt_min, &st->rcpt_max))
		return false;
	if ((e = latest(sec, "per_connection", at)) &&
	    !get_range(p, e, 1, 100, &st->conn_min, &st->conn_max))
		return false;
	/* headers: the latest 'header' set, then every add_header so far */
	hdr = latest(sec, "header", at);
	n = 0;
	for (i = 0; i < sec->n; i++) {
		e = &sec->e[i];
		if ((hdr && !strcmp(e->key, "header") && e->since == hdr->since) ||
		    (!strcmp(e->key, "add_header") && e->since <= at))
			n++;
	}
	if (!hdr)
		return perr(p, sec->line, "[family %s] needs its 'header' lines (one of them Message-ID)",
			    sec->name);
	st->headers = arena_alloc(a, n * sizeof(*st->headers));
	for (int pass = 0; pass < 2; pass++)
		for (i = 0; i < sec->n; i++) {
			e = &sec->e[i];
			if (pass == 0 ? (strcmp(e->key, "header") || e->since != hdr->since)
				      : (strcmp(e->key, "add_header") || e->since > at))
				continue;
			e->used = true;
			if (!strchr(e->value.data, ':') || strchr(e->value.data, '\n') ||
			    e->value.data[0] == ' ')
				return perr(p, e->line, "%s: expected 'Name: value' on one line", e->key);
			if (!(st->headers[st->nheaders] = compile(p, e, e->value.data)))
				return false;
			st->nheaders++;
		}
	st->msgid_header = st->nheaders;
	for (i = 0; i < st->nheaders; i++)
		if (header_is(st->headers[i], "Message-ID"))
			st->msgid_header = i;
	if (st->msgid_header == st->nheaders)
		return perr(p, hdr->line, "[family %s]: the header lines need a Message-ID", sec->name);
	/* campaigns */
	e = latest(sec, "templates", at);
	if (!e)
		return perr(p, sec->line, "[family %s] needs 'templates = NAME...'", sec->name);
	{
		const char **names;
		size_t k, j;

		n = split_words(a, e->value.data, &names);
		if (!n)
			return perr(p, e->line, "templates: name at least one [template]");
		st->campaigns = arena_alloc(a, n * sizeof(*st->campaigns));
		for (k = 0; k < n; k++) {
			for (j = 0; j < p->s->ncampaigns; j++)
				if (strcmp(p->s->campaigns[j].name, names[k]) == 0)
					break;
			if (j == p->s->ncampaigns)
				return perr(p, e->line, "templates: no [template %s] in this file", names[k]);
			st->campaigns[k] = j;
		}
		st->ncampaigns = n;
	}
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static bool do_source(struct parser *p, struct section *sec, struct source *src)
{
	sim_scenario *s = p->s;
	struct arena *a = &s->arena;
	size_t i, nd = 0;
	int64_t *dates;

	src->line = sec->line;
	src->info.kind = sec->type == SECT_FAMILY ? SIM_FAMILY
		       : sec->type == SECT_UNKNOWN ? SIM_UNKNOWN : SIM_LEGIT;
	src->info.label = sec->type == SECT_FAMILY ? arena_strdup(a, sec->name)
			: sec->type == SECT_UNKNOWN ? "unknown" : "legit";
	src->salt = sim_seed_str(0x51d, src->info.label);
	if (!parse_rates(p, sec, src))
		return false;
	if (src->info.kind != SIM_FAMILY) {
		/* built-in styles; only sizes and STARTTLS can be set */
		struct style *st = arena_alloc(a, sizeof(*st));
		struct entry *e;

		memset(st, 0, sizeof(*st));
		st->since = s->start;
		st->rcpt_min = st->rcpt_max = st->conn_min = st->conn_max = 1;
		st->starttls = src->info.kind == SIM_LEGIT ? 0.3 : 0;
		if ((e = find1(p, sec, "recipients")) && !get_range(p, e, 1, 100, &st->rcpt_min, &st->rcpt_max))
			return false;
		if ((e = find1(p, sec, "per_connection")) &&
		    !get_range(p, e, 1, 100, &st->conn_min, &st->conn_max))
			return false;
		if ((e = find1(p, sec, "starttls")) && !get_double(p, e, 0, 1, &st->starttls))
			return false;
		src->styles = st;
		src->nstyles = 1;
		return !p->failed && check_unused(p, sec);
	}
	/* the dates at which the style changes */
	dates = xmalloc((sec->n + 1) * sizeof(*dates));
	dates[nd++] = s->start;
	for (i = 0; i < sec->n; i++) {
		struct entry *e = &sec->e[i];

		if (!is_style_key(e->key))
			continue;
		if (e->since == INT64_MIN)
			continue;
		if (e->since <= s->start || e->since >= s->end) {
			free(dates);
			return perr(p, e->line, "%s@: the date must fall inside the scenario's period", e->key);
		}
		dates[nd++] = e->since;
	}
	qsort(dates, nd, sizeof(*dates), cmp_i64);
	src->styles = arena_alloc(a, nd * sizeof(*src->styles));
	for (i = 0; i < nd; i++) {
		if (i && dates[i] == dates[i - 1])
			continue;
		memset(&src->styles[src->nstyles], 0, sizeof(struct style));
		if (!build_style(p, sec, &src->styles[src->nstyles], dates[i])) {
			free(dates);
			return false;
		}
		src->nstyles++;
	}
	free(dates);
	return check_unused(p, sec);
}

/* --- [claim NAME] ------------------------------------------------------------------ */

static const char *const claim_kinds[] = { "share", "change", "steadier", "at_least", "ceased",
					   "resumed", "rate", NULL };

const char *sim_claim_kind_name(enum sim_claim_kind k)
{
	return claim_kinds[k];
}

static bool claim_family(struct parser *p, struct entry *e, const char **out)
{
	sim_scenario *s = p->s;
	size_t i;

	for (i = 0; i < s->nsources; i++)
		if (strcmp(s->sources[i].info.label, e->value.data) == 0) {
			*out = s->sources[i].info.label;
			return true;
		}
	return perr(p, e->line, "%s: no family '%s' in this scenario", e->key, e->value.data);
}

static bool do_claim(struct parser *p, struct section *sec, struct sim_claim *c)
{
	struct arena *a = &p->s->arena;
	struct entry *e;
	size_t k;
	bool need_family, need_other, need_period, need_at, need_value;

	c->name = arena_strdup(a, sec->name);
	if (!(e = find1(p, sec, "kind")))
		return perr(p, sec->line, "[claim %s] needs 'kind' (share, change, steadier, at_least, "
			    "ceased, resumed, rate)", sec->name);
	for (k = 0; claim_kinds[k]; k++)
		if (strcmp(claim_kinds[k], e->value.data) == 0)
			break;
	if (!claim_kinds[k])
		return perr(p, e->line, "kind: '%s' is not share, change, steadier, at_least, ceased, "
			    "resumed or rate", e->value.data);
	c->kind = (enum sim_claim_kind)k;
	need_family = c->kind != SIM_CLAIM_CHANGE;
	need_other = c->kind == SIM_CLAIM_STEADIER || c->kind == SIM_CLAIM_AT_LEAST;
	need_at = c->kind == SIM_CLAIM_CEASED || c->kind == SIM_CLAIM_RESUMED;
	need_period = !need_at;
	need_value = c->kind == SIM_CLAIM_SHARE || c->kind == SIM_CLAIM_CHANGE || c->kind == SIM_CLAIM_RATE;
	if ((e = find1(p, sec, "family"))) {
		if (!need_family)
			return perr(p, e->line, "family: a '%s' claim is about total spam", claim_kinds[k]);
		if (!claim_family(p, e, &c->family))
			return false;
	} else if (need_family) {
		return perr(p, sec->line, "[claim %s] needs 'family'", sec->name);
	}
	if ((e = find1(p, sec, "other"))) {
		if (!need_other)
			return perr(p, e->line, "other: only steadier and at_least compare two families");
		if (!claim_family(p, e, &c->other))
			return false;
	} else if (need_other) {
		return perr(p, sec->line, "[claim %s] needs 'other' (the family compared with)", sec->name);
	}
	if (need_period) {
		struct entry *f = find1(p, sec, "from"), *t = find1(p, sec, "to");

		if (!f || !t || !parse_time(f->value.data, &c->from) || !parse_time(t->value.data, &c->to) ||
		    c->to <= c->from)
			return perr(p, f ? f->line : sec->line, "[claim %s] needs 'from' and 'to', "
				    "ISO 8601, from before to", sec->name);
	}
	if (need_at) {
		if (!(e = find1(p, sec, "at")) || !parse_time(e->value.data, &c->at))
			return perr(p, e ? e->line : sec->line, "[claim %s] needs 'at = ISO 8601 time'",
				    sec->name);
	}
	if ((e = find1(p, sec, "value"))) {
		if (!need_value)
			return perr(p, e->line, "value: a '%s' claim has none", claim_kinds[k]);
		if (!get_double(p, e, -1e9, 1e9, &c->value))
			return false;
	} else if (need_value) {
		return perr(p, sec->line, "[claim %s] needs 'value'", sec->name);
	}
	if ((e = find1(p, sec, "tolerance")) && !get_double(p, e, 0, 1e9, &c->tolerance))
		return false;
	if ((e = find1(p, sec, "text")))
		c->text = arena_strdup(a, e->value.data);
	if (!(e = find1(p, sec, "source")))
		return perr(p, sec->line, "[claim %s] needs 'source' (where the figure comes from)",
			    sec->name);
	c->source = arena_strdup(a, e->value.data);
	return !p->failed && check_unused(p, sec);
}

static void free_sections(struct parser *p)
{
	size_t i, j;

	for (i = 0; i < p->nsec; i++) {
		for (j = 0; j < p->sec[i].n; j++) {
			free(p->sec[i].e[j].key);
			buf_free(&p->sec[i].e[j].value);
		}
		free(p->sec[i].e);
		free(p->sec[i].name);
	}
	free(p->sec);
}

/* --- assembly ------------------------------------------------------------------------ */

static int cmp_event(const void *a, const void *b)
{
	const struct sim_event *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return strcmp(x->family, y->family);
}

static void build_events(sim_scenario *s)
{
	size_t i, j, n = 0;

	for (i = 0; i < s->nsources; i++)
		for (j = 0; j < s->sources[i].nplans; j++)
			n += s->sources[i].plans[j].type == PLAN_PAUSE ? 2 : 1;
	s->events = arena_alloc(&s->arena, (n ? n : 1) * sizeof(*s->events));
	for (i = 0; i < s->nsources; i++) {
		const struct source *src = &s->sources[i];

		for (j = 0; j < src->nplans; j++) {
			const struct plan *pl = &src->plans[j];
			struct sim_event *ev = &s->events[s->nevents++];

			ev->family = src->info.label;
			ev->at = pl->t1;
			switch (pl->type) {
			case PLAN_PAUSE:
				ev->type = SIM_CEASED;
				ev->factor = 0;
				ev = &s->events[s->nevents++];
				ev->family = src->info.label;
				ev->type = SIM_RESUMED;
				ev->at = pl->t2;
				ev->factor = pl->factor;
				break;
			case PLAN_TAKEDOWN:
				ev->type = SIM_CEASED;
				ev->factor = 0;
				break;
			case PLAN_LEVEL:
				ev->type = pl->factor < 1 ? SIM_DROP : SIM_SURGE;
				ev->factor = pl->factor;
				break;
			}
		}
	}
	qsort(s->events, s->nevents, sizeof(*s->events), cmp_event);
}

sim_scenario *sim_scenario_parse(const char *text, size_t len, const char *origin, char *err,
				 size_t errlen)
{
	struct parser p;
	sim_scenario *s = xcalloc(1, sizeof(*s));
	size_t i, nsrc = 0, ncamp = 0, nclaim = 0;
	bool seen_scenario = false;
	uint64_t pool_sum = 0;

	memset(&p, 0, sizeof(p));
	arena_init(&s->arena, 64 * 1024);
	p.s = s;
	p.origin = origin;
	p.err = err;
	p.errlen = errlen;
	s->origin = arena_strdup(&s->arena, origin);
	if (len > SIM_MAX_FILE) {
		perr(&p, 0, "larger than %u bytes", SIM_MAX_FILE);
		goto fail;
	}
	if (!read_lines(&p, text, len))
		goto fail;
	for (i = 0; i < p.nsec; i++) {
		size_t j;

		switch (p.sec[i].type) {
		case SECT_SCENARIO:
			if (seen_scenario) {
				perr(&p, p.sec[i].line, "a second [scenario] section");
				goto fail;
			}
			seen_scenario = true;
			if (!do_scenario(&p, &p.sec[i]))
				goto fail;
			break;
		case SECT_TEMPLATE:
			ncamp++;
			break;
		case SECT_CLAIM:
			nclaim++;
			break;
		default:
			nsrc++;
			break;
		}
		for (j = 0; j < i; j++)
			if (p.sec[j].type == p.sec[i].type &&
			    ((p.sec[i].name && p.sec[j].name && !strcmp(p.sec[i].name, p.sec[j].name)) ||
			     (!p.sec[i].name && p.sec[i].type != SECT_SCENARIO))) {
				perr(&p, p.sec[i].line, "a second section of that name (first at line %d)",
				     p.sec[j].line);
				goto fail;
			}
	}
	if (!seen_scenario) {
		perr(&p, 1, "no [scenario] section (start, end)");
		goto fail;
	}
	if (!s->name)
		s->name = s->origin;
	if (!s->title)
		s->title = s->name;
	if (nsrc == 0 || nsrc > SIM_MAX_SOURCES) {
		perr(&p, 1, "a scenario needs 1 to %d sources ([family], [unknown], [legit])", SIM_MAX_SOURCES);
		goto fail;
	}
	s->campaigns = arena_alloc(&s->arena, (ncamp ? ncamp : 1) * sizeof(*s->campaigns));
	memset(s->campaigns, 0, (ncamp ? ncamp : 1) * sizeof(*s->campaigns));
	for (i = 0; i < p.nsec; i++)
		if (p.sec[i].type == SECT_TEMPLATE &&
		    !do_template(&p, &p.sec[i], &s->campaigns[s->ncampaigns++]))
			goto fail;
	s->sources = arena_alloc(&s->arena, nsrc * sizeof(*s->sources));
	memset(s->sources, 0, nsrc * sizeof(*s->sources));
	for (i = 0; i < p.nsec; i++) {
		struct source *src;

		if (p.sec[i].type != SECT_FAMILY && p.sec[i].type != SECT_UNKNOWN &&
		    p.sec[i].type != SECT_LEGIT)
			continue;
		src = &s->sources[s->nsources++];
		if (!do_source(&p, &p.sec[i], src))
			goto fail;
		src->pool_base = (uint32_t)pool_sum;
		pool_sum += src->info.pool;
		if (pool_sum > (1ULL << 31)) {
			perr(&p, p.sec[i].line, "pools add up to more than 2^31 addresses");
			goto fail;
		}
	}
	s->claims = arena_alloc(&s->arena, (nclaim ? nclaim : 1) * sizeof(*s->claims));
	memset(s->claims, 0, (nclaim ? nclaim : 1) * sizeof(*s->claims));
	for (i = 0; i < p.nsec; i++)
		if (p.sec[i].type == SECT_CLAIM && !do_claim(&p, &p.sec[i], &s->claims[s->nclaims++]))
			goto fail;
	build_events(s);
	s->builtin = builtin_compile(&s->arena);
	free_sections(&p);
	return s;
fail:
	free_sections(&p);
	sim_scenario_free(s);
	return NULL;
}

const char *sim_scenario_builtin(size_t i)
{
	size_t n;

	for (n = 0; embedded_scenarios[n].name; n++)
		if (n == i)
			return embedded_scenarios[n].name;
	return NULL;
}

sim_scenario *sim_scenario_load(const char *name, char *err, size_t errlen)
{
	struct buf b = BUF_INIT;
	sim_scenario *s;
	FILE *f;
	size_t i;
	char chunk[65536];

	if (!strchr(name, '/') && !strstr(name, ".conf")) {
		for (i = 0; embedded_scenarios[i].name; i++)
			if (strcmp(embedded_scenarios[i].name, name) == 0) {
				char origin[300];

				snprintf(origin, sizeof(origin), "%s.conf", name);
				return sim_scenario_parse(embedded_scenarios[i].bytes,
							  embedded_scenarios[i].len, origin, err, errlen);
			}
	}
	f = fopen(name, "rb");
	if (!f) {
		struct buf names = BUF_INIT;

		for (i = 0; embedded_scenarios[i].name; i++)
			buf_printf(&names, "%s%s", i ? ", " : "", embedded_scenarios[i].name);
		snprintf(err, errlen, "%s: %s (built-in scenarios: %s)", name, strerror(errno),
			 names.len ? names.data : "none");
		buf_free(&names);
		return NULL;
	}
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f);

		buf_add(&b, chunk, n);
		if (n < sizeof(chunk) || b.len > SIM_MAX_FILE)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", name);
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	s = sim_scenario_parse(b.data, b.len, name, err, errlen);
	buf_free(&b);
	return s;
}

void sim_scenario_free(sim_scenario *s)
{
	if (!s)
		return;
	arena_free(&s->arena);
	free(s);
}

const char *sim_scenario_name(const sim_scenario *s) { return s->name; }
const char *sim_scenario_title(const sim_scenario *s) { return s->title; }
int64_t sim_scenario_start(const sim_scenario *s) { return s->start; }
int64_t sim_scenario_end(const sim_scenario *s) { return s->end; }
size_t sim_source_count(const sim_scenario *s) { return s->nsources; }
size_t sim_event_count(const sim_scenario *s) { return s->nevents; }
size_t sim_claim_count(const sim_scenario *s) { return s->nclaims; }

const struct sim_source_info *sim_source(const sim_scenario *s, size_t i)
{
	return i < s->nsources ? &s->sources[i].info : NULL;
}

int sim_source_index(const sim_scenario *s, const char *label)
{
	size_t i;

	for (i = 0; i < s->nsources; i++)
		if (strcmp(s->sources[i].info.label, label) == 0)
			return (int)i;
	return -1;
}

const struct sim_event *sim_event(const sim_scenario *s, size_t i)
{
	return i < s->nevents ? &s->events[i] : NULL;
}

const struct sim_claim *sim_claim(const sim_scenario *s, size_t i)
{
	return i < s->nclaims ? &s->claims[i] : NULL;
}

const char *sim_event_type_name(enum sim_event_type t)
{
	static const char *const names[] = { "ceased", "resumed", "drop", "surge" };

	return names[t];
}
