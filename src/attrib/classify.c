/*
 * classify.c - scoring a message's vector against every family; see
 * attrib.h for the model.
 *
 * Per family, each feature group (the lines of one kind) that applies to
 * the message contributes weight × match, match in [0, 1]:
 *   exact values      1 when equal;
 *   header_order and shapes: partial credit for near values (seq.c);
 *   patterns          1 when the PCRE2 pattern matches;
 *   has NAME          1 when the header is present.
 * A group the family's samples nearly always matched (consistency >= 0.9)
 * that the message answers with another value altogether counts against the
 * family (-MISMATCH_PENALTY × weight, less as a partial match nears
 * RESEMBLES): a bot writes its quirks every time,
 * so a different Message-ID shape or charset means different software. A
 * field present on one side only (an added or dropped header, the usual bot
 * update) only misses its credit.
 * A group applies when the message can have the kind: dialect kinds only
 * with an SMTP session, content kinds only with content, helo_shape and
 * greeting when the message says them. score = Σ weight·match / Σ weight over applying groups.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib/kb_int.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define AMBIGUOUS_MARGIN 0.02   /* two families this close: say unknown, not a coin toss */
#define CLEAR_MARGIN 0.15       /* a lead this large gives full confidence */
#define MIN_COVERAGE 0.25       /* share of a family's weight that must apply */
#define CONSISTENT 0.9          /* a group the family (nearly) always matches... */
#define MISMATCH_PENALTY 2.0    /* ...counts against it this much when nothing matches */
#define RESEMBLES 0.25          /* a partial match below this: another form, not an update */
#define TOLD_APART 2.0          /* fixed traits for one of two near families, against the other's */

/* the message's tokens of one kind, cut once per classification */
struct msg_seq {
	const char *value;
	struct seq seq;
	struct seq_token tok[SEQ_MAX_TOKENS];
};

struct msg_seqs {
	struct msg_seq *s;
	size_t n, cap;
};

static const struct seq *message_seq(struct msg_seqs *ms, const char *value, bool shapes)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (ms->s[i].value == value)
			return &ms->s[i].seq;
	if (ms->n == ms->cap) {
		ms->cap = ms->cap ? ms->cap * 2 : 8;
		ms->s = xreallocarray(ms->s, ms->cap, sizeof(*ms->s));
		/* tokens live inside the entries: re-point them after the move */
		for (i = 0; i < ms->n; i++)
			ms->s[i].seq.t = ms->s[i].tok;
	}
	ms->s[ms->n].value = value;
	seq_tokenize(&ms->s[ms->n].seq, ms->s[ms->n].tok, value, shapes);
	return &ms->s[ms->n++].seq;
}

struct ctx {
	const attrib_kb *kb;
	struct attrib_memo *memo;
	struct msg_seqs *ms;       /* in the memo: its room is kept between messages */
};

static double partial(struct ctx *c, const struct rule_line *l, const char *value, uint64_t h)
{
	struct memo_entry *e = &c->memo->e[(h ^ (uintptr_t)l * 0x9e3779b97f4a7c15ULL) >> 51 &
					     (MEMO_SLOTS - 1)];

	if (e->generation == c->kb->generation && e->line == l && e->value == h)
		return e->credit;
	e->generation = c->kb->generation;
	e->line = l;
	e->value = h;
	e->credit = seq_credit(&l->seq, message_seq(c->ms, value, l->shapes), l->shapes);
	return e->credit;
}

static double line_match(struct ctx *c, const struct rule_line *l,
			 const struct attrib_feature *feat)
{
	const char *value = feat ? feat->value : NULL;

	if (l->op == RULE_HAS)
		return value ? 1 : 0;
	if (!value)
		return 0;
	if (l->op == RULE_RE)
		return pcre2_match(l->re, (PCRE2_SPTR)value, strlen(value), 0, 0, c->memo->md, NULL) >= 0;
	if (l->value_hash == feat->value_hash && strcmp(l->value, value) == 0)
		return 1;
	if (l->is_seq && *l->value && *value)
		return partial(c, l, value, feat->value_hash);
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

static bool group_applies(const struct rule_group *g, const struct attrib_vector *v, bool content,
			  const struct attrib_feature *feat)
{
	switch (g->scope) {
	case SCOPE_DIALECT: return v->have_dialect;
	case SCOPE_PRESENT: return feat != NULL;
	default: return content;
	}
}

struct scored {
	double score;
	double coverage;     /* applying weight / family weight */
};

/* group_match: how well the message answers one group; false when the
 * group does not apply to it */
static bool group_match(const struct family *f, const struct rule_group *gr, const struct attrib_vector *v,
			bool content, struct ctx *c, double *match, const char **value_out)
{
	const struct attrib_feature *feat = attrib_vector_find(v, gr->kind, gr->kind_hash);
	const char *value;
	double best = 0;
	size_t k;

	if (!group_applies(gr, v, content, feat))
		return false;
	value = feat ? feat->value : NULL;
	/* an exact value first: most groups end here */
	for (k = 0; value && k < gr->nlines && best < 1; k++) {
		const struct rule_line *l = &f->lines[gr->lines[k]];

		if (l->op == RULE_EQ && strcmp(l->value, value) == 0)
			best = 1;
	}
	for (k = 0; k < gr->nlines && best < 1; k++) {
		double m = line_match(c, &f->lines[gr->lines[k]], feat);

		if (m > best)
			best = m;
	}
	*match = best;
	*value_out = value;
	return true;
}

static struct scored score_family(const struct family *f, const struct attrib_vector *v,
				  bool content, struct ctx *c, char evidence[][128],
				  size_t *nevidence)
{
	struct scored s = { 0, 0 };
	double num = 0, den = 0;
	size_t g;

	for (g = 0; g < f->ngroups; g++) {
		const struct rule_group *gr = &f->groups[g];
		const char *value;
		double best;

		if (!group_match(f, gr, v, content, c, &best, &value))
			continue;
		/* What the family always writes, written otherwise: other software.
		 * Written in another form altogether counts so too (a Message-ID
		 * of other parts, not of another length: a partial match under
		 * RESEMBLES), the less the nearer it comes. A field added or
		 * dropped (absent on one side) is what a bot update looks like,
		 * and costs only the missing credit. */
		if (best < RESEMBLES && gr->consistency >= CONSISTENT && value && *value &&
		    !group_has_absent(f, gr))
			num += gr->effective * best - MISMATCH_PENALTY * gr->effective * (1 - best / RESEMBLES);
		else
			num += gr->effective * best;
		den += gr->effective;
		if (evidence && *nevidence < ATTRIB_MAX_EVIDENCE && gr->effective >= 0.5)
			snprintf(evidence[(*nevidence)++], 128, "%s %s %s (%.2f)", gr->kind,
				 best >= 0.999 ? "matches" : best > 0 ? "resembles" : "differs from",
				 f->name, best);
	}
	s.score = den > 0 && num > 0 ? num / den : 0;
	s.coverage = f->total_weight > 0 ? den / f->total_weight : 0;
	return s;
}

/*
 * Kinds whose value is the machine's or the victim's as much as the
 * software's: the Date's zone is the infected machine's (a sandbox shows
 * one zone, the wild all of them), the HELO and forged hops often name the
 * machine, URLs are the campaign's, To: forms follow the harvested
 * addresses. They score as any kind, but never alone tell two near
 * families apart.
 */
static bool can_decide(const char *kind)
{
	static const char *const machine[] = { "date_shape", "helo_shape", "received_shape", "url_shape",
						"to_shape" };
	size_t i;

	for (i = 0; i < sizeof(machine) / sizeof(machine[0]); i++)
		if (strcmp(kind, machine[i]) == 0)
			return false;
	return true;
}

/*
 * decisive: how much the kinds tell a from b, just behind it, and the one
 * that tells most in *kind: a kind a always gives one value of (one line,
 * consistent) that the message matches better than b's, which always
 * writes the kind too; each counts its weight times the difference of the
 * two matches (a header order as written against one with two fields
 * swapped; after an added field, the nearer order). Two families alike in
 * all but a trait each writes every time are told apart by it, as an
 * analyst would; twins that differ only in how often they wrote some
 * value are not. Only kinds that can_decide().
 */
static double decisive(const struct family *a, const struct family *b, const struct attrib_vector *v,
		       bool content, struct ctx *c, const char **kind)
{
	double w = 0, top = 0;
	size_t g, h;

	for (g = 0; g < a->ngroups; g++) {
		const struct rule_group *ga = &a->groups[g];
		const char *value;
		double ma, mb;

		if (ga->nlines != 1 || ga->consistency < CONSISTENT || !can_decide(ga->kind) ||
		    !group_match(a, ga, v, content, c, &ma, &value) || !value)
			continue;
		for (h = 0; h < b->ngroups; h++) {
			const struct rule_group *gb = &b->groups[h];
			double d;

			if (gb->kind_hash != ga->kind_hash || strcmp(gb->kind, ga->kind) != 0)
				continue;
			if (gb->consistency >= CONSISTENT && group_match(b, gb, v, content, c, &mb, &value) &&
			    mb < ma) {
				d = ga->effective * (ma - mb);
				w += d;
				if (d > top) {
					top = d;
					*kind = ga->kind;
				}
			}
			break;
		}
	}
	return w;
}

static bool has_content(const struct attrib_vector *v)
{
	return !v->encrypted && attrib_vector_value(v, "header_order") != NULL;
}

void attrib_classify(const attrib_kb *kb, struct attrib_vector *v, struct attrib_result *out)
{
	bool content = has_content(v);
	size_t i, best = (size_t)-1, second = (size_t)-1;
	double bs = -1, ss = -1;
	const char *told_by = NULL;
	struct scored sc;
	struct ctx c = { kb, NULL, NULL };

	out->family = ATTRIB_UNKNOWN;
	out->confidence = 0;
	out->score = 0;
	out->runner_up = NULL;
	out->runner_up_score = 0;
	out->nevidence = 0;
	if (!v->memo) {
		v->memo = xcalloc(1, sizeof(*v->memo));
		/* whether a pattern matches, not where: one pair is room enough */
		v->memo->md = pcre2_match_data_create(1, NULL);
		if (!v->memo->md)
			panic("out of memory (pcre2 match data)");
	}
	c.memo = v->memo;
	c.ms = (struct msg_seqs *)&v->memo->seqs;
	c.ms->n = 0;          /* tokens of the previous message's values are stale */
	for (i = 0; kb && i < kb->n; i++) {
		sc = score_family(&kb->fam[i], v, content, &c, NULL, NULL);
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
	if (second != (size_t)-1 && bs - ss < CLEAR_MARGIN) {
		/* near alike: told apart by the traits each writes every time,
		 * those on one side weighing twice those on the other at least.
		 * When they are the runner-up's, its score is near enough: the
		 * best's lead came from what is the machine's (a Date zone) or
		 * from traits other families share. */
		const char *kind_b = NULL, *kind_s = NULL;
		double wb = decisive(&kb->fam[best], &kb->fam[second], v, content, &c, &kind_b);
		double ws = decisive(&kb->fam[second], &kb->fam[best], v, content, &c, &kind_s);

		if (ws > 0 && ws >= TOLD_APART * wb && ss >= kb->fam[second].threshold) {
			size_t t = best;
			double ts = bs;

			best = second, bs = ss;
			second = t, ss = ts;
			out->score = bs;
			out->runner_up = kb->fam[second].name;
			out->runner_up_score = ss;
			told_by = kind_s;
		} else if (wb > 0 && wb >= TOLD_APART * ws) {
			told_by = kind_b;
		}
	}
	if (second != (size_t)-1 && bs - ss < AMBIGUOUS_MARGIN && !told_by) {
		out->confidence = 1 - bs + (bs - ss);
		snprintf(out->evidence[out->nevidence++], 128,
			 "ambiguous: %s %.2f and %s %.2f", kb->fam[best].name, bs,
			 kb->fam[second].name, ss);
		return;
	}
	out->family = kb->fam[best].name;
	{
		double margin = second == (size_t)-1 ? 1 : fabs(bs - ss);

		out->confidence = bs * (margin >= CLEAR_MARGIN ? 1 : 0.5 + 0.5 * margin / CLEAR_MARGIN);
	}
	snprintf(out->evidence[out->nevidence++], 128, "%s scores %.2f%s%s%s%s", out->family, bs,
		 out->runner_up ? ", next " : "", out->runner_up ? out->runner_up : "",
		 told_by ? ", told apart by " : "", told_by ? told_by : "");
	score_family(&kb->fam[best], v, content, &c, out->evidence, &out->nevidence);
}
