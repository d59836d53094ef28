/*
 * learn.c - a family's profile from labelled samples; see attrib.h.
 *
 * For every kind in the samples' vectors we count the values. A kind whose
 * few most common values cover most samples is characteristic of the
 * software and becomes feature lines (at most LEARN_VALUES values, each seen
 * in at least 2 % of the samples); a kind whose values scatter (subjects,
 * per-message shapes) is left out. Header fields the sender fixes become
 * `header:NAME = "value"` when constant, `has NAME` when present but
 * varying. The group's weight is the kind's default scaled by how much of
 * the family it describes: coverage × presence / sqrt(number of values).
 *
 * An existing rule file is extended, not replaced: its comments, hand-written
 * lines, patterns and weights stay; learned lines get their `seen` counts
 * raised; new values are appended.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attrib/kb_int.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define LEARN_VALUES 8          /* values kept per kind */
#define LEARN_MIN_SHARE 0.02    /* a value seen in fewer samples is noise */
#define LEARN_MIN_COVERAGE 0.5  /* kept values must describe this share of samples */
#define LEARN_MIN_PRESENCE 0.5  /* a header in fewer samples is not the family's */
#define LEARN_CONSTANT 0.8      /* a header value this common is the family's value */

struct value_count {
	char *value;
	unsigned long count;
};

struct kind_stats {
	char *kind;
	unsigned long present;         /* samples having this kind */
	struct value_count *v;         /* open addressing by value hash */
	size_t cap, used;
};

struct attrib_learner {
	char *family;
	unsigned long samples;
	struct kind_stats *k;
	size_t nk, capk;
};

attrib_learner *attrib_learner_new(const char *family)
{
	attrib_learner *l = xcalloc(1, sizeof(*l));

	l->family = xstrdup(family);
	return l;
}

void attrib_learner_free(attrib_learner *l)
{
	size_t i, j;

	if (!l)
		return;
	for (i = 0; i < l->nk; i++) {
		for (j = 0; j < l->k[i].cap; j++)
			free(l->k[i].v[j].value);
		free(l->k[i].v);
		free(l->k[i].kind);
	}
	free(l->k);
	free(l->family);
	free(l);
}

size_t attrib_learner_samples(const attrib_learner *l)
{
	return l->samples;
}

static struct kind_stats *kind_of(attrib_learner *l, const char *kind)
{
	size_t i;

	for (i = 0; i < l->nk; i++)
		if (strcmp(l->k[i].kind, kind) == 0)
			return &l->k[i];
	if (l->nk == l->capk) {
		l->capk = l->capk ? l->capk * 2 : 32;
		l->k = xreallocarray(l->k, l->capk, sizeof(*l->k));
	}
	memset(&l->k[l->nk], 0, sizeof(l->k[0]));
	l->k[l->nk].kind = xstrdup(kind);
	return &l->k[l->nk++];
}

static void count_value(struct kind_stats *k, const char *value)
{
	size_t i;

	if ((k->used + 1) * 2 > k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16, j;
		struct value_count *nv = xcalloc(cap, sizeof(*nv));

		for (j = 0; j < k->cap; j++) {
			if (!k->v[j].value)
				continue;
			i = hash64(k->v[j].value, strlen(k->v[j].value), 1) & (cap - 1);
			while (nv[i].value)
				i = (i + 1) & (cap - 1);
			nv[i] = k->v[j];
		}
		free(k->v);
		k->v = nv;
		k->cap = cap;
	}
	i = hash64(value, strlen(value), 1) & (k->cap - 1);
	while (k->v[i].value && strcmp(k->v[i].value, value) != 0)
		i = (i + 1) & (k->cap - 1);
	if (!k->v[i].value) {
		k->v[i].value = xstrdup(value);
		k->used++;
	}
	k->v[i].count++;
}

void attrib_learner_add(attrib_learner *l, const struct attrib_vector *v)
{
	size_t i;

	l->samples++;
	for (i = 0; i < v->n; i++) {
		struct kind_stats *k = kind_of(l, v->f[i].kind);

		/* a kind appears once per sample (header:NAME keeps the first field) */
		if (i > 0 && attrib_vector_value(v, v->f[i].kind) != v->f[i].value)
			continue;
		k->present++;
		count_value(k, v->f[i].value);
	}
}

static int by_count(const void *a, const void *b)
{
	const struct value_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->value, y->value);
}

/* a learned line: kind, value, count; has = "has NAME" */
struct learned {
	const char *kind;
	const char *value;
	unsigned long count;
	bool has;
	double weight;          /* on the group's first line, else < 0 */
};

static int kind_rank(const char *kind)
{
	static const char *const order[] = {
		"dialect_id", "header_order", "msgid_shape", "x_mailer", "date_shape",
		"boundary_shape", "mime", "charset", "encoding", "from_shape", "to_shape",
		"url_shape", "received_shape", "helo_shape", "greeting",
	};
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(kind, order[i]) == 0)
			return (int)i;
	return strncmp(kind, "header:", 7) == 0 ? 100 : 200;
}

static int by_kind(const void *a, const void *b)
{
	const struct kind_stats *x = *(struct kind_stats *const *)a, *y = *(struct kind_stats *const *)b;
	int rx = kind_rank(x->kind), ry = kind_rank(y->kind);

	return rx != ry ? rx - ry : strcmp(x->kind, y->kind);
}

/* choose the lines; summary gets one line per kind considered */
static struct learned *choose(attrib_learner *l, size_t *count, struct buf *summary,
			      double *consistency)
{
	struct learned *out = NULL;
	struct kind_stats **sorted = xcalloc(l->nk + 1, sizeof(*sorted));
	size_t n = 0, i, j, kinds = 0;
	double cons_sum = 0;

	for (i = 0; i < l->nk; i++)
		sorted[i] = &l->k[i];
	qsort(sorted, l->nk, sizeof(*sorted), by_kind);
	for (i = 0; i < l->nk; i++) {
		struct kind_stats *k = sorted[i];
		struct value_count *vals = xcalloc(k->used + 1, sizeof(*vals));
		size_t nv = 0, keep = 0;
		unsigned long covered = 0, min_count;
		double presence = l->samples ? (double)k->present / (double)l->samples : 0;
		double coverage, weight;
		bool header = strncmp(k->kind, "header:", 7) == 0;

		for (j = 0; j < k->cap; j++)
			if (k->v[j].value)
				vals[nv++] = k->v[j];
		qsort(vals, nv, sizeof(*vals), by_count);
		min_count = (unsigned long)ceil(LEARN_MIN_SHARE * (double)k->present);
		if (min_count < 2 && k->present >= 10)
			min_count = 2;
		if (min_count < 1)
			min_count = 1;
		for (j = 0; j < nv && keep < LEARN_VALUES && vals[j].count >= min_count; j++) {
			covered += vals[j].count;
			keep++;
		}
		coverage = k->present ? (double)covered / (double)k->present : 0;
		if (header) {
			double top = k->present ? (double)vals[0].count / (double)k->present : 0;

			if (presence < LEARN_MIN_PRESENCE) {
				free(vals);
				continue;       /* not the family's header: not even worth a line */
			}
			out = xreallocarray(out, n + keep + 1, sizeof(*out));
			weight = kb_base_weight(k->kind) * presence;
			if (top >= LEARN_CONSTANT) {
				out[n++] = (struct learned){ k->kind, vals[0].value, vals[0].count, false,
							     weight };
				buf_printf(summary, "  %-28s constant in %3.0f%% of samples\n", k->kind,
					   100 * presence * top);
			} else {
				out[n++] = (struct learned){ k->kind, "", k->present, true, weight };
				buf_printf(summary, "  %-28s present in %3.0f%%, value varies\n", k->kind,
					   100 * presence);
			}
			cons_sum += presence;
			kinds++;
			free(vals);
			continue;
		}
		if (coverage < LEARN_MIN_COVERAGE || keep == 0) {
			buf_printf(summary, "  %-28s left out: %zu values, the most common cover %2.0f%%\n",
				   k->kind, nv, 100 * coverage);
			free(vals);
			continue;
		}
		weight = kb_base_weight(k->kind) * coverage * presence / sqrt((double)keep);
		out = xreallocarray(out, n + keep + 1, sizeof(*out));
		for (j = 0; j < keep; j++)
			out[n++] = (struct learned){ k->kind, vals[j].value, vals[j].count, false,
						     j == 0 ? weight : -1 };
		buf_printf(summary, "  %-28s %zu value%s covering %3.0f%% (weight %.2f)\n", k->kind, keep,
			   keep == 1 ? "" : "s", 100 * coverage, weight);
		cons_sum += coverage * presence;
		kinds++;
		free(vals);
	}
	free(sorted);
	*count = n;
	*consistency = kinds ? cons_sum / (double)kinds : 0;
	return out;
}

static void write_line(struct buf *out, const struct learned *ln, unsigned long seen, double weight)
{
	if (ln->has) {
		buf_printf(out, "has %s", ln->kind + 7);
	} else {
		buf_printf(out, "%s = ", ln->kind);
		kb_quote(out, ln->value);
	}
	if (weight >= 0)
		buf_printf(out, " weight %.2f", weight);
	buf_printf(out, " seen %lu\n", seen);
}

bool attrib_learner_write(attrib_learner *l, const char *existing, size_t existing_len,
			  const char *source_note, struct buf *out, struct buf *summary,
			  char *err, size_t errlen)
{
	struct learned *ln;
	size_t n, i, j;
	double consistency;
	struct family old;
	bool *done;
	char date[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	buf_reset(out);
	buf_printf(summary, "learned %s from %lu samples%s%s:\n", l->family, l->samples,
		   source_note ? " of " : "", source_note ? source_note : "");
	ln = choose(l, &n, summary, &consistency);
	done = xcalloc(n + 1, sizeof(bool));
	buf_printf(summary, "consistency of the samples: %.2f (1 = every chosen feature the same "
		   "in every sample)\n", consistency);

	if (existing) {
		const char *p = existing, *end = existing + existing_len;
		unsigned lineno = 0;
		/* a file without a "learned" line gets one after its family line */
		bool learned_written = false, has_learned = strncmp(existing, "learned ", 8) == 0 ||
							    strstr(existing, "\nlearned ") != NULL;

		if (!kb_parse_family("existing rule file", existing, existing_len, &old, err, errlen)) {
			free(ln);
			free(done);
			return false;
		}
		if (strcmp(old.name, l->family) != 0) {
			snprintf(err, errlen, "the existing file is for family %s, not %s", old.name,
				 l->family);
			kb_family_free(&old);
			free(ln);
			free(done);
			return false;
		}
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			const struct rule_line *match = NULL;

			lineno++;
			for (i = 0; i < old.nlines; i++)
				if (old.lines[i].lineno == lineno)
					match = &old.lines[i];
			if (match && match->op != RULE_RE) {
				/* a learned value seen again: raise its count, keep its weight */
				for (j = 0; j < n; j++) {
					bool same = strcmp(ln[j].kind, match->kind) == 0 &&
						    (ln[j].has ? match->op == RULE_HAS
							       : match->op == RULE_EQ &&
								 strcmp(ln[j].value, match->value) == 0);

					if (same && !done[j]) {
						struct learned keep = ln[j];

						write_line(out, &keep, match->seen + ln[j].count, match->weight);
						done[j] = true;
						break;
					}
				}
				if (j < n) {
					p += len + (nl ? 1 : 0);
					continue;
				}
			}
			if (len >= 8 && strncmp(p, "learned ", 8) == 0) {
				buf_printf(out, "learned %lu\n", old.learned + l->samples);
				learned_written = true;
			} else {
				buf_add(out, p, len);
				buf_addch(out, '\n');
			}
			if (!has_learned && !learned_written && len >= 7 && strncmp(p, "family ", 7) == 0) {
				buf_printf(out, "learned %lu\n", old.learned + l->samples);
				learned_written = true;
			}
			p += len + (nl ? 1 : 0);
		}
		/* new values of kinds the file already has keep the file's weight */
		for (j = 0; j < n; j++)
			for (i = 0; i < old.ngroups; i++)
				if (strcmp(old.groups[i].kind, ln[j].kind) == 0)
					ln[j].weight = -1;
		kb_family_free(&old);
		for (j = 0; j < n && done[j]; j++)
			;
		if (j < n)
			buf_printf(out, "\n# learned %s from %lu samples%s%s\n", date, l->samples,
				   source_note ? " of " : "", source_note ? source_note : "");
	} else {
		buf_printf(out, "# spamtide family fingerprint: learned %s from %lu samples%s%s.\n"
			   "# Edit freely: `spamtide learn` keeps hand-written lines and weights.\n"
			   "# Format: docs/rules.md\n", date, l->samples, source_note ? " of " : "",
			   source_note ? source_note : "");
		buf_printf(out, "family %s\nlearned %lu\n", l->family, l->samples);
		if (source_note)
			buf_printf(out, "source samples: %s\n", source_note);
		buf_addch(out, '\n');
	}
	for (j = 0; j < n; j++)
		if (!done[j])
			write_line(out, &ln[j], ln[j].count, ln[j].weight);
	free(ln);
	free(done);
	if (n == 0) {
		snprintf(err, errlen, "no feature of the %lu samples is consistent enough to learn",
			 l->samples);
		return false;
	}
	return true;
}
