/*
 * classify.c - scoring a message's vector against every family; see
 * attrib.h for the model.
 *
 * Per family, each feature group (the lines of one kind) that applies to
 * the message contributes weight × match, match in [0, 1]:
 *   exact values      1 when equal;
 *   header_order      2·LCS/(m+n) over header names (an added header keeps
 *                     most of the credit), names equal but for case count half;
 *   shapes            the same over shape tokens, where a token of the same
 *                     class and another length (HEX8 vs HEX12) counts half;
 *   patterns          1 when the PCRE2 pattern matches;
 *   has NAME          1 when the header is present.
 * A group the family's samples nearly always matched (consistency >= 0.9)
 * that the message answers with another value altogether counts against the
 * family (-MISMATCH_PENALTY × weight): a bot writes its quirks every time,
 * so a different Message-ID shape or charset means different software. A
 * field present on one side only (an added or dropped header, the usual bot
 * update) only misses its credit.
 * A group applies when the message can have the kind: dialect kinds only
 * with an SMTP session, content kinds only with content, helo_shape when a
 * HELO is known. score = Σ weight·match / Σ weight over applying groups.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attrib/kb_int.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_TOKENS 96           /* tokens compared per value: bounds the O(m·n) LCS */
#define AMBIGUOUS_MARGIN 0.02   /* two families this close: say unknown, not a coin toss */
#define CLEAR_MARGIN 0.15       /* a lead this large gives full confidence */
#define MIN_COVERAGE 0.25       /* share of a family's weight that must apply */
#define CONSISTENT 0.9          /* a group the family (nearly) always matches... */
#define MISMATCH_PENALTY 2.0    /* ...counts against it this much when nothing matches */

struct token {
	const char *p;
	size_t n;
	size_t cls;      /* length of the class prefix (letters before digits), shapes only */
	double w;        /* what matching it is worth */
};

#define PARTIAL_FLOOR 0.6     /* below this similarity a value is another program's */
#define FRAME_WEIGHT 0.3      /* punctuation and DOMAIN/IP: every identifier has them */

static size_t tokenize_words(const char *s, struct token *t, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		t[n].p = s;
		while (*s && *s != ' ')
			s++;
		t[n].n = (size_t)(s - t[n].p);
		t[n].cls = 0;
		t[n].w = 1;
		n++;
	}
	return n;
}

/* shape tokens: "HEX8" (class + length) or single punctuation characters */
static size_t tokenize_shape(const char *s, struct token *t, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		t[n].p = s;
		if (isupper((unsigned char)*s)) {
			while (isupper((unsigned char)*s))
				s++;
			t[n].cls = (size_t)(s - t[n].p);
			while (isdigit((unsigned char)*s))
				s++;
		} else {
			s++;
			t[n].cls = 0;
		}
		t[n].n = (size_t)(s - t[n].p);
		t[n].w = !t[n].cls || (t[n].n == 6 && memcmp(t[n].p, "DOMAIN", 6) == 0) ||
			 (t[n].n == 2 && memcmp(t[n].p, "IP", 2) == 0) ? FRAME_WEIGHT : 1;
		n++;
	}
	return n;
}

/*
 * The characters a shape class may hold (mail_shape's classes): a random
 * string drawn from a larger alphabet lands in a smaller class now and then
 * (12 random hex digits are all decimal one time in 300), so a class inside
 * the other's alphabet is a near match.
 */
static unsigned class_chars(const char *p, size_t n)
{
	static const struct { const char *name; unsigned chars; } classes[] = {
		{ "DIGIT", 1 }, { "HEX", 1 | 2 }, { "UHEX", 1 | 4 }, { "LOWER", 2 | 8 },
		{ "UPPER", 4 | 16 }, { "ALPHA", 2 | 4 | 8 | 16 }, { "ALNUM", 31 },
	};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == n && memcmp(classes[i].name, p, n) == 0)
			return classes[i].chars;
	return 0;
}

static double token_match(const struct token *a, const struct token *b, bool shapes)
{
	if (a->n == b->n && memcmp(a->p, b->p, a->n) == 0)
		return a->w;
	if (shapes) {
		unsigned ca, cb;
		bool same_len;

		if (!a->cls || !b->cls)
			return 0;
		same_len = a->n - a->cls == b->n - b->cls &&
			   memcmp(a->p + a->cls, b->p + b->cls, a->n - a->cls) == 0;
		if (a->cls == b->cls && memcmp(a->p, b->p, a->cls) == 0)
			return 0.5 * a->w;                 /* same class, another length */
		ca = class_chars(a->p, a->cls);
		cb = class_chars(b->p, b->cls);
		if (ca && cb && ((ca & cb) == ca || (ca & cb) == cb))
			return (same_len ? 0.75 : 0.4) * a->w;
	} else if (a->n == b->n && strncasecmp(a->p, b->p, a->n) == 0) {
		return 0.5 * a->w;
	}
	return 0;
}

/*
 * Weighted LCS similarity 2·W / (Wa + Wb), turned into credit: nothing below
 * PARTIAL_FLOOR (another program's value that merely shares the frame),
 * rising linearly to 1 for an identical value.
 */
static double sequence_similarity(const char *x, const char *y, bool shapes)
{
	struct token a[MAX_TOKENS], b[MAX_TOKENS];
	double row[2][MAX_TOKENS + 1], wa = 0, wb = 0, sim;
	size_t m, n, i, j;

	if (strcmp(x, y) == 0)
		return 1;
	m = shapes ? tokenize_shape(x, a, MAX_TOKENS) : tokenize_words(x, a, MAX_TOKENS);
	n = shapes ? tokenize_shape(y, b, MAX_TOKENS) : tokenize_words(y, b, MAX_TOKENS);
	if (m == 0 || n == 0)
		return 0;
	for (i = 0; i < m; i++)
		wa += a[i].w;
	for (j = 0; j < n; j++)
		wb += b[j].w;
	memset(row, 0, sizeof(row));
	for (i = 1; i <= m; i++) {
		double *cur = row[i & 1], *prev = row[(i - 1) & 1];

		cur[0] = 0;
		for (j = 1; j <= n; j++) {
			double best = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
			double diag = prev[j - 1] + token_match(&a[i - 1], &b[j - 1], shapes);

			cur[j] = diag > best ? diag : best;
		}
	}
	sim = 2 * row[m & 1][n] / (wa + wb);
	return sim <= PARTIAL_FLOOR ? 0 : (sim - PARTIAL_FLOOR) / (1 - PARTIAL_FLOOR);
}

static bool shape_kind(const char *kind)
{
	size_t n = strlen(kind);

	return n > 6 && strcmp(kind + n - 6, "_shape") == 0 && strcmp(kind, "helo_shape") != 0;
}

static double line_match(const struct rule_line *l, const char *value)
{
	if (l->op == RULE_HAS)
		return value ? 1 : 0;
	if (!value)
		return 0;
	if (l->op == RULE_RE)
		return pcre2_match(l->re, (PCRE2_SPTR)value, strlen(value), 0, 0, l->md, NULL) >= 0;
	if (strcmp(l->value, value) == 0)
		return 1;
	if (strcmp(l->kind, "header_order") == 0)
		return sequence_similarity(l->value, value, false);
	if (shape_kind(l->kind) && *l->value && *value)
		return sequence_similarity(l->value, value, true);
	return 0;
}

static bool group_has_absent(const struct family *f, const struct rule_group *g)
{
	size_t k;

	for (k = 0; k < g->nlines; k++) {
		const struct rule_line *l = &f->lines[g->lines[k]];

		if (l->op == RULE_HAS || (l->op == RULE_EQ && !*l->value))
			return true;
	}
	return false;
}

static bool group_applies(const struct rule_group *g, const struct attrib_vector *v, bool content)
{
	if (strncmp(g->kind, "dialect", 7) == 0)
		return v->have_dialect;
	if (strcmp(g->kind, "helo_shape") == 0)
		return attrib_vector_value(v, "helo_shape") != NULL;
	return content;
}

struct scored {
	double score;
	double coverage;     /* applying weight / family weight */
};

static struct scored score_family(const struct family *f, const struct attrib_vector *v,
				  bool content, char evidence[][128], size_t *nevidence)
{
	struct scored s = { 0, 0 };
	double num = 0, den = 0;
	size_t g, k;

	for (g = 0; g < f->ngroups; g++) {
		const struct rule_group *gr = &f->groups[g];
		const char *value;
		double best = 0;

		if (!group_applies(gr, v, content))
			continue;
		value = attrib_vector_value(v, gr->kind);
		for (k = 0; k < gr->nlines; k++) {
			double m = line_match(&f->lines[gr->lines[k]], value);

			if (m > best)
				best = m;
		}
		/* What the family always writes, written otherwise: other software.
		 * A field added or dropped (absent on one side) is what a bot
		 * update looks like, and costs only the missing credit. */
		if (best == 0 && gr->consistency >= CONSISTENT && value && *value &&
		    !group_has_absent(f, gr))
			num -= MISMATCH_PENALTY * gr->effective;
		else
			num += gr->effective * best;
		den += gr->effective;
		if (evidence && *nevidence < ATTRIB_MAX_EVIDENCE && gr->effective >= 0.5) {
			char shown[48];

			snprintf(shown, sizeof(shown), "%s", value ? value : "(absent)");
			for (char *c = shown; *c; c++)
				if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
					*c = '?';
			snprintf(evidence[(*nevidence)++], 128, "%s %s %s%s (%.2f)", gr->kind,
				 best >= 0.999 ? "matches" : best > 0 ? "resembles" : "differs from",
				 f->name, best >= 0.999 ? "" : shown[0] ? "" : "", best);
		}
	}
	s.score = den > 0 && num > 0 ? num / den : 0;
	s.coverage = f->total_weight > 0 ? den / f->total_weight : 0;
	return s;
}

static bool has_content(const struct attrib_vector *v)
{
	return !v->encrypted && attrib_vector_value(v, "header_order") != NULL;
}

void attrib_classify(const attrib_kb *kb, const struct attrib_vector *v, struct attrib_result *out)
{
	bool content = has_content(v);
	size_t i, best = (size_t)-1, second = (size_t)-1;
	double bs = -1, ss = -1;
	struct scored sc;

	out->family = ATTRIB_UNKNOWN;
	out->confidence = 0;
	out->score = 0;
	out->runner_up = NULL;
	out->runner_up_score = 0;
	out->nevidence = 0;
	for (i = 0; kb && i < kb->n; i++) {
		sc = score_family(&kb->fam[i], v, content, NULL, NULL);
		if (sc.coverage < MIN_COVERAGE)
			continue;
		if (sc.score > bs) {
			second = best, ss = bs;
			best = i, bs = sc.score;
		} else if (sc.score > ss) {
			second = i, ss = sc.score;
		}
	}
	if (best == (size_t)-1) {
		snprintf(out->evidence[out->nevidence++], 128, "no family's features apply");
		out->confidence = 1;
		return;
	}
	out->score = bs;
	if (second != (size_t)-1) {
		out->runner_up = kb->fam[second].name;
		out->runner_up_score = ss;
	}
	if (bs < kb->fam[best].threshold) {
		/* how sure we are that it is none of them */
		out->confidence = 1 - bs;
		snprintf(out->evidence[out->nevidence++], 128,
			 "closest family %s scores %.2f, below its threshold %.2f", kb->fam[best].name,
			 bs, kb->fam[best].threshold);
		return;
	}
	if (second != (size_t)-1 && bs - ss < AMBIGUOUS_MARGIN) {
		out->confidence = 1 - bs + (bs - ss);
		snprintf(out->evidence[out->nevidence++], 128,
			 "ambiguous: %s %.2f and %s %.2f", kb->fam[best].name, bs,
			 kb->fam[second].name, ss);
		return;
	}
	out->family = kb->fam[best].name;
	{
		double margin = second == (size_t)-1 ? 1 : bs - ss;

		out->confidence = bs * (margin >= CLEAR_MARGIN ? 1 : 0.5 + 0.5 * margin / CLEAR_MARGIN);
	}
	snprintf(out->evidence[out->nevidence++], 128, "%s scores %.2f%s%s%s", out->family, bs,
		 out->runner_up ? ", next " : "", out->runner_up ? out->runner_up : "",
		 out->runner_up ? "" : "");
	score_family(&kb->fam[best], v, content, out->evidence, &out->nevidence);
}
