/*
 * expand.c - the simulator's random numbers, template compilation and
 * expansion, and mail dates.
 *
 * Templates are compiled once when a scenario loads (so an unknown variable
 * is a parse error with a line number) and expanded per message into a buf.
 * Compiled templates live in the scenario's arena. Expansion never fails;
 * its output is bounded by the template (a variable expands to at most a
 * few hundred bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/internal.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/timeutil.h"
#include "util/banned.h"

/* --- random numbers ------------------------------------------------------ */

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	r->s[0] = splitmix(&seed);
	r->s[1] = splitmix(&seed);
	r->s[2] = splitmix(&seed);
	r->s[3] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	/* Lemire's multiply-shift; the bias is below 2^-32 for our n. */
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

int rng_range(struct rng *r, int lo, int hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1));
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t sim_seed_mix(uint64_t a, uint64_t b)
{
	return hash_mix(a ^ hash_mix(b + 0x632be59bd9b4e019ULL));
}

uint64_t sim_seed_str(uint64_t a, const char *s)
{
	return hash64(s, strlen(s), a);
}

const char *sim_pick(struct rng *r, const char *const *list, size_t n)
{
	return list[rng_below(r, (uint32_t)n)];
}

/* --- compilation ------------------------------------------------------------ */

struct var_def {
	const char *name;
	enum tpl_op op;
	int args;       /* 0 none, 1 length N or N-M, 2 range A-B, 3 date style, 4 choice */
};

static const struct var_def vars[] = {
	{ "hex", OP_HEX, 1 }, { "HEX", OP_HEXU, 1 }, { "digits", OP_DIGITS, 1 },
	{ "alnum", OP_ALNUM, 1 }, { "lower", OP_LOWER, 1 }, { "upper", OP_UPPER, 1 },
	{ "first", OP_FIRST, 0 }, { "last", OP_LAST, 0 }, { "first_lc", OP_FIRST_LC, 0 },
	{ "last_lc", OP_LAST_LC, 0 }, { "name", OP_NAME, 0 }, { "word", OP_WORD, 0 },
	{ "Word", OP_WORD_CAP, 0 }, { "words", OP_WORDS, 1 }, { "sentence", OP_SENTENCE, 0 },
	{ "product", OP_PRODUCT, 0 }, { "amount", OP_AMOUNT, 0 }, { "pct", OP_PCT, 0 },
	{ "int", OP_INT, 2 }, { "url", OP_URL, 0 }, { "domain", OP_DOMAIN, 0 },
	{ "rcpt", OP_RCPT, 0 }, { "rcpt_local", OP_RCPT_LOCAL, 0 },
	{ "rcpt_domain", OP_RCPT_DOMAIN, 0 }, { "to", OP_TO, 0 }, { "to_angle", OP_TO_ANGLE, 0 },
	{ "from", OP_FROM, 0 }, { "from_local", OP_FROM_LOCAL, 0 },
	{ "from_domain", OP_FROM_DOMAIN, 0 }, { "helo", OP_HELO, 0 }, { "ip", OP_IP, 0 },
	{ "date", OP_DATE, 3 }, { "subject", OP_SUBJECT, 0 }, { "choice", OP_CHOICE, 4 },
	{ "boundary", OP_BOUNDARY, 0 }, { "trap", OP_TRAP, 0 }, { "rand_ip", OP_RAND_IP, 0 },
	{ "rand_host", OP_RAND_HOST, 0 }, { "content_type", OP_CONTENT_TYPE, 0 },
	{ "cte", OP_CTE, 0 }, { "charset", OP_CHARSET, 0 }, { "sfirst", OP_SFIRST, 0 },
	{ "slast", OP_SLAST, 0 }, { "sfirst_lc", OP_SFIRST_LC, 0 }, { "slast_lc", OP_SLAST_LC, 0 },
	{ "org", OP_ORG, 0 },
};

static const char *const date_styles[] = { "utc", "local", "local-noday", "gmt", "2digit", NULL };

static bool parse_len(const char *s, int *a, int *b)
{
	char *end;
	long x = strtol(s, &end, 10), y;

	if (end == s || x < 0)
		return false;
	y = x;
	if (*end == '-') {
		const char *p = end + 1;

		y = strtol(p, &end, 10);
		if (end == p)
			return false;
	}
	if (*end != '\0' || y < x || y > 100000)
		return false;
	*a = (int)x;
	*b = (int)y;
	return true;
}

static bool compile_var(struct arena *ar, char *spec, struct tpl_seg *seg, char *err, size_t errlen);

static bool compile_var(struct arena *ar, char *spec, struct tpl_seg *seg, char *err, size_t errlen)
{
	char *arg = strchr(spec, ':');
	size_t i, n;

	memset(seg, 0, sizeof(*seg));
	if (arg)
		*arg++ = '\0';
	if (strcmp(spec, "botchoice") == 0) {
		seg->bot = true;
		spec = (char *)"choice";
	}
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strcmp(vars[i].name, spec) == 0)
			break;
	if (i == sizeof(vars) / sizeof(vars[0])) {
		snprintf(err, errlen, "unknown template variable {%s}", spec);
		return false;
	}
	seg->op = vars[i].op;
	if (vars[i].args != 4 && arg) {
		/* a trailing ":bot" makes the value stable per bot */
		char *last = strrchr(arg, ':');

		if (strcmp(last ? last + 1 : arg, "bot") == 0) {
			seg->bot = true;
			if (last)
				*last = '\0';
			else
				arg = NULL;
		}
	}
	switch (vars[i].args) {
	case 0:
		if (arg) {
			snprintf(err, errlen, "{%s} takes no argument", spec);
			return false;
		}
		return true;
	case 1:
		if (!arg || !parse_len(arg, &seg->a, &seg->b) || seg->b > 64 || seg->b < 1) {
			snprintf(err, errlen, "{%s:N} needs a length N or N-M up to 64", spec);
			return false;
		}
		return true;
	case 2:
		if (!arg || !parse_len(arg, &seg->a, &seg->b)) {
			snprintf(err, errlen, "{%s:A-B} needs a range such as 1-99", spec);
			return false;
		}
		return true;
	case 3:
		seg->a = DATE_UTC;
		if (!arg)
			return true;
		for (n = 0; date_styles[n]; n++)
			if (strcmp(date_styles[n], arg) == 0) {
				seg->a = (int)n;
				return true;
			}
		snprintf(err, errlen, "{date:%s}: style must be utc, local, local-noday, gmt or 2digit",
			 arg);
		return false;
	default: {
		/* alternatives split at '|' outside nested braces; each is a template */
		char *p, *start;
		int depth = 0;

		if (!arg || !*arg) {
			snprintf(err, errlen, "{choice:a|b|...} needs alternatives");
			return false;
		}
		for (n = 1, p = arg; *p; p++) {
			depth += (*p == '{') - (*p == '}');
			n += (*p == '|' && depth == 0);
		}
		seg->opts = arena_alloc(ar, n * sizeof(*seg->opts));
		seg->nopts = 0;
		depth = 0;
		for (start = p = arg;; p++) {
			if (*p == '\0' || (*p == '|' && depth == 0)) {
				char save = *p;

				*p = '\0';
				seg->opts[seg->nopts] = tpl_compile(ar, start, err, errlen);
				*p = save;
				if (!seg->opts[seg->nopts])
					return false;
				seg->nopts++;
				if (!save)
					break;
				start = p + 1;
				continue;
			}
			depth += (*p == '{') - (*p == '}');
		}
		return true;
	}
	}
}

struct tpl *tpl_compile(struct arena *a, const char *text, char *err, size_t errlen)
{
	struct tpl *t = arena_alloc(a, sizeof(*t));
	struct tpl_seg segs[256];
	struct buf lit = BUF_INIT;
	size_t n = 0;
	const char *p = text;
	bool ok = true;

	while (ok) {
		if (*p == '{' && p[1] == '{') {
			buf_addch(&lit, '{');
			p += 2;
			continue;
		}
		if (*p == '}' && p[1] == '}') {
			buf_addch(&lit, '}');
			p += 2;
			continue;
		}
		if (*p == '}') {
			snprintf(err, errlen, "unmatched '}' (write '}}' for a brace)");
			ok = false;
			break;
		}
		if ((*p == '{' || *p == '\0') && lit.len) {
			if (n == sizeof(segs) / sizeof(segs[0]))
				goto too_long;
			memset(&segs[n], 0, sizeof(segs[n]));
			segs[n].op = OP_LIT;
			segs[n].lit = arena_strndup(a, lit.data, lit.len);
			segs[n].litlen = lit.len;
			n++;
			buf_reset(&lit);
		}
		if (*p == '\0')
			break;
		if (*p == '{') {
			const char *end = p + 1;
			char *spec;
			int depth = 1;

			for (; *end; end++) {
				if (*end == '{')
					depth++;
				else if (*end == '}' && --depth == 0)
					break;
			}
			if (!*end)
				end = NULL;
			if (!end) {
				snprintf(err, errlen, "unterminated '{' (write '{{' for a brace)");
				ok = false;
				break;
			}
			if (n == sizeof(segs) / sizeof(segs[0]))
				goto too_long;
			spec = xstrndup(p + 1, (size_t)(end - p - 1));
			ok = compile_var(a, spec, &segs[n], err, errlen);
			free(spec);
			n++;
			p = end + 1;
			continue;
		}
		buf_addch(&lit, *p++);
	}
	buf_free(&lit);
	if (!ok)
		return NULL;
	t->segs = arena_alloc(a, (n ? n : 1) * sizeof(*t->segs));
	memcpy(t->segs, segs, n * sizeof(*segs));
	t->nsegs = n;
	t->src = arena_strdup(a, text);
	t->salt = hash64(text, strlen(text), 0x5eed);
	return t;
too_long:
	buf_free(&lit);
	snprintf(err, errlen, "template has more than %zu parts", sizeof(segs) / sizeof(segs[0]));
	return NULL;
}

/* --- dates ------------------------------------------------------------------ */

/* indexed by days since 1970-01-01 (a Thursday) modulo 7, and month - 1 */
const char sim_wday_names[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
const char sim_mon_names[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static char *put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

void sim_format_date(struct buf *out, int64_t t, int zone_min, enum date_style st)
{
	char tmp[48], *p = tmp;
	int64_t lt, days, sod;
	int y, zone = st == DATE_UTC || st == DATE_GMT ? 0 : zone_min;
	unsigned m, d, az;

	lt = t + zone * 60;
	days = lt >= 0 ? lt / 86400 : (lt - 86399) / 86400;
	sod = lt - days * 86400;
	civil_from_days(days, &y, &m, &d);
	if (st != DATE_LOCAL_NODAY) {
		memcpy(p, sim_wday_names[((days % 7) + 7) % 7], 3);
		p[3] = ',';
		p[4] = ' ';
		p += 5;
	}
	if (d >= 10 || st == DATE_GMT)
		p = put2(p, d);
	else
		*p++ = (char)('0' + d);
	*p++ = ' ';
	memcpy(p, sim_mon_names[m - 1], 3);
	p += 3;
	*p++ = ' ';
	if (st != DATE_2DIGIT)
		p = put2(p, (unsigned)(y / 100));
	p = put2(p, (unsigned)(y % 100));
	*p++ = ' ';
	p = put2(p, (unsigned)(sod / 3600));
	*p++ = ':';
	p = put2(p, (unsigned)(sod / 60 % 60));
	*p++ = ':';
	p = put2(p, (unsigned)(sod % 60));
	if (st == DATE_GMT) {
		memcpy(p, " GMT", 4);
		p += 4;
	} else {
		*p++ = ' ';
		*p++ = zone < 0 ? '-' : '+';
		az = (unsigned)(zone < 0 ? -zone : zone);
		p = put2(p, az / 60);
		p = put2(p, az % 60);
	}
	buf_add(out, tmp, (size_t)(p - tmp));
}

/* add_int: a decimal number without printf. */
static void add_int(struct buf *out, long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	buf_add(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* --- expansion --------------------------------------------------------------- */

static const char hexl[] = "0123456789abcdef";
static const char hexu[] = "0123456789ABCDEF";
static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static void add_random(struct buf *out, struct rng *r, const char *set, uint32_t setlen, int n)
{
	char tmp[64];
	int i;

	for (i = 0; i < n; i++)
		tmp[i] = set[rng_below(r, setlen)];
	buf_add(out, tmp, (size_t)n);
}

static void add_lower(struct buf *out, const char *s)
{
	for (; *s; s++)
		buf_addch(out, (*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
}

static const char *addr_domain(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at ? at + 1 : "";
}

static void add_local(struct buf *out, const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (at)
		buf_add(out, addr, (size_t)(at - addr));
	else if (addr)
		buf_addstr(out, addr);
}

static void add_public_ip(struct buf *out, struct rng *r)
{
	/* a plausible public address for forged relay lines (never local) */
	static const unsigned char firsts[] = { 24, 41, 58, 59, 61, 62, 77, 78, 79, 81, 83,
						85, 87, 89, 91, 93, 95, 109, 113, 117, 118,
						121, 123, 178, 186, 187, 189, 190, 201, 212 };

	buf_printf(out, "%u.%u.%u.%u", firsts[rng_below(r, sizeof(firsts))],
		   rng_below(r, 256), rng_below(r, 256), 1 + rng_below(r, 254));
}

void tpl_expand(struct buf *out, const struct tpl *t, struct msg_ctx *c)
{
	size_t i;
	struct rng botr;

	for (i = 0; i < t->nsegs; i++) {
		const struct tpl_seg *g = &t->segs[i];
		struct rng *r = c->r;
		int n;

		if (g->op == OP_LIT) {
			buf_add(out, g->lit, g->litlen);
			continue;
		}
		if (g->bot) {
			rng_seed(&botr, sim_seed_mix(c->bot_seed, t->salt + i));
			r = &botr;
		}
		n = g->a;
		switch (g->op) {
		case OP_HEX: case OP_HEXU: case OP_DIGITS: case OP_ALNUM: case OP_LOWER: case OP_UPPER:
			n = rng_range(r, g->a, g->b);
			break;
		default:
			break;
		}
		switch (g->op) {
		case OP_LIT:
			break;
		case OP_HEX:
			add_random(out, r, hexl, 16, n);
			break;
		case OP_HEXU:
			add_random(out, r, hexu, 16, n);
			break;
		case OP_DIGITS:
			add_random(out, r, alnum + 52, 10, n);
			break;
		case OP_ALNUM:
			add_random(out, r, alnum, 62, n);
			break;
		case OP_LOWER:
			add_random(out, r, alnum, 26, n);
			break;
		case OP_UPPER:
			add_random(out, r, alnum + 26, 26, n);
			break;
		case OP_FIRST:
			buf_addstr(out, sim_pick(r, sim_first_names, sim_nfirst_names));
			break;
		case OP_LAST:
			buf_addstr(out, sim_pick(r, sim_last_names, sim_nlast_names));
			break;
		case OP_FIRST_LC:
			add_lower(out, sim_pick(r, sim_first_names, sim_nfirst_names));
			break;
		case OP_LAST_LC:
			add_lower(out, sim_pick(r, sim_last_names, sim_nlast_names));
			break;
		case OP_NAME:
			buf_addstr(out, sim_pick(r, sim_first_names, sim_nfirst_names));
			buf_addch(out, ' ');
			buf_addstr(out, sim_pick(r, sim_last_names, sim_nlast_names));
			break;
		case OP_WORD:
			buf_addstr(out, sim_pick(r, sim_words, sim_nwords));
			break;
		case OP_WORD_CAP: {
			const char *w = sim_pick(r, sim_words, sim_nwords);

			buf_addch(out, w[0] - 32);
			buf_addstr(out, w + 1);
			break;
		}
		case OP_WORDS: {
			int k, m = rng_range(r, g->a, g->b);

			for (k = 0; k < m; k++) {
				if (k)
					buf_addch(out, ' ');
				buf_addstr(out, sim_pick(r, sim_words, sim_nwords));
			}
			break;
		}
		case OP_SENTENCE: {
			int k, m = rng_range(r, 5, 14);

			for (k = 0; k < m; k++) {
				const char *w = sim_pick(r, sim_words, sim_nwords);

				if (k == 0) {
					buf_addch(out, w[0] - 32);
					buf_addstr(out, w + 1);
				} else {
					buf_addch(out, ' ');
					buf_addstr(out, w);
				}
			}
			buf_addch(out, '.');
			break;
		}
		case OP_PRODUCT:
			if (c->product)
				buf_addstr(out, c->product);
			else
				buf_addstr(out, sim_pick(r, sim_words, sim_nwords));
			break;
		case OP_AMOUNT:
		{
			static const int cents[] = { 95, 99, 0, 49, 50, 90 };

			char c2[3];
			int cv = cents[rng_below(r, 6)];

			add_int(out, rng_range(r, 9, 399));
			c2[0] = '.';
			c2[1] = (char)('0' + cv / 10);
			c2[2] = (char)('0' + cv % 10);
			buf_add(out, c2, 3);
		}
			break;
		case OP_PCT:
			add_int(out, rng_range(r, 2, 16) * 5);
			break;
		case OP_INT:
			add_int(out, rng_range(r, g->a, g->b));
			break;
		case OP_URL: {
			const struct campaign *cp = c->camp;

			buf_addstr(out, "http://");
			buf_addstr(out, c->domain ? c->domain : "www.example.com");
			buf_addch(out, '/');
			if (cp && cp->npaths)
				buf_addstr(out, cp->paths[rng_below(r, (uint32_t)cp->npaths)]);
			else
				add_random(out, r, alnum, 26, rng_range(r, 3, 8));
			buf_addstr(out, "?id=");
			add_random(out, r, alnum, 62, 8);
			break;
		}
		case OP_DOMAIN:
			buf_addstr(out, c->domain ? c->domain : "www.example.com");
			break;
		case OP_RCPT:
			if (c->nrcpts)
				buf_addstr(out, c->rcpts[c->cur_rcpt < c->nrcpts ? c->cur_rcpt : 0]);
			break;
		case OP_RCPT_LOCAL:
			if (c->nrcpts)
				add_local(out, c->rcpts[c->cur_rcpt < c->nrcpts ? c->cur_rcpt : 0]);
			break;
		case OP_RCPT_DOMAIN:
			if (c->nrcpts)
				buf_addstr(out, addr_domain(c->rcpts[c->cur_rcpt < c->nrcpts ? c->cur_rcpt : 0]));
			else if (c->s->nrcpt_domains)
				buf_addstr(out, c->s->rcpt_domains[0]);
			break;
		case OP_TO: case OP_TO_ANGLE: {
			size_t k;

			for (k = 0; k < c->nrcpts; k++) {
				if (k)
					buf_add(out, ", ", 2);
				if (g->op == OP_TO_ANGLE)
					buf_addch(out, '<');
				buf_addstr(out, c->rcpts[k]);
				if (g->op == OP_TO_ANGLE)
					buf_addch(out, '>');
			}
			break;
		}
		case OP_FROM:
			if (c->from)
				buf_addstr(out, c->from);
			break;
		case OP_FROM_LOCAL:
			add_local(out, c->from);
			break;
		case OP_FROM_DOMAIN:
			buf_addstr(out, addr_domain(c->from));
			break;
		case OP_HELO:
			if (c->helo)
				buf_addstr(out, c->helo);
			break;
		case OP_IP:
			if (c->ip)
				buf_addstr(out, c->ip);
			break;
		case OP_DATE:
			sim_format_date(out, c->t, c->zone_min, (enum date_style)g->a);
			break;
		case OP_SUBJECT:
			if (c->subject)
				buf_addstr(out, c->subject);
			break;
		case OP_CHOICE: {
			struct tpl *alt = g->opts[rng_below(r, (uint32_t)g->nopts)];

			if (g->bot) {
				struct rng *saved = c->r;

				c->r = r;
				tpl_expand(out, alt, c);
				c->r = saved;
			} else {
				tpl_expand(out, alt, c);
			}
			break;
		}
		case OP_BOUNDARY:
			if (c->boundary)
				buf_addstr(out, c->boundary);
			break;
		case OP_TRAP:
			buf_addstr(out, c->s->trap_host);
			break;
		case OP_RAND_IP:
			add_public_ip(out, r);
			break;
		case OP_RAND_HOST:
			add_random(out, r, alnum, 26, rng_range(r, 4, 9));
			buf_addch(out, '.');
			add_random(out, r, alnum, 26, rng_range(r, 4, 9));
			buf_addstr(out, rng_below(r, 2) ? ".example.net" : ".example.com");
			break;
		case OP_CONTENT_TYPE:
			if (c->content_type)
				buf_addstr(out, c->content_type);
			break;
		case OP_CTE:
			if (c->cte)
				buf_addstr(out, c->cte);
			break;
		case OP_CHARSET:
			if (c->charset)
				buf_addstr(out, c->charset);
			break;
		case OP_ORG: {
			/* a name stable per bot across templates: the bot's own domain */
			struct rng orgr;

			rng_seed(&orgr, sim_seed_mix(c->bot_seed, 0x0e6));
			add_random(out, &orgr, alnum, 26, rng_range(&orgr, 4, 9));
			break;
		}
		case OP_SFIRST:
			buf_addstr(out, c->sfirst ? c->sfirst : "");
			break;
		case OP_SLAST:
			buf_addstr(out, c->slast ? c->slast : "");
			break;
		case OP_SFIRST_LC:
			add_lower(out, c->sfirst ? c->sfirst : "");
			break;
		case OP_SLAST_LC:
			add_lower(out, c->slast ? c->slast : "");
			break;
		}
	}
}
