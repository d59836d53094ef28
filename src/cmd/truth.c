/*
 * truth.c - reading KEY<TAB>family labels and printing the evaluation.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/truth.h"
#include "util/buf.h"
#include "util/strmap.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define TRUTH_LINE_MAX 4096

struct truth {
	struct strmap labels;
	attrib_eval *eval;
};

struct truth *truth_load(const char *path, const attrib_kb *kb, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	struct truth *t;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;

	if (!fp) {
		snprintf(err, errlen, "--truth %s: %s", path, strerror(errno));
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	strmap_init(&t->labels);
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *tab;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		tab = strrchr(line, '\t');
		if (!tab || tab == line || !tab[1] || n > TRUTH_LINE_MAX) {
			snprintf(err, errlen, "--truth %s:%lu: expected KEY<TAB>family", path, lineno);
			free(line);
			fclose(fp);
			truth_free(t);
			return NULL;
		}
		*tab = '\0';
		strmap_put(&t->labels, line, tab + 1);
	}
	free(line);
	fclose(fp);
	t->eval = attrib_eval_new(kb);
	return t;
}

void truth_record(struct truth *t, const char *source, const char *message_id,
		  const char *predicted)
{
	const char *label = strmap_get(&t->labels, source);

	if (!label && message_id)
		label = strmap_get(&t->labels, message_id);
	if (label)
		attrib_eval_add(t->eval, label, predicted);
	else
		attrib_eval_unlabelled(t->eval);
}

static void pct(FILE *out, double v)
{
	if (isnan(v))
		fputs("      -", out);
	else
		fprintf(out, " %5.1f%%", 100 * v);
}

void truth_print_text(struct truth *t, FILE *out)
{
	const struct attrib_eval_family *f;
	const struct attrib_eval_row *rows;
	const char *const *cols;
	size_t nf, nr, nc, i, j;
	double acc, unk;
	unsigned long ln, on, un;

	attrib_eval_summary(t->eval, &acc, &ln, &unk, &on, &un);
	fprintf(out, "messages with a label: %lu (%lu of learned families, %lu others); without: %lu\n",
		ln + on, ln, on, un);
	fputs("accuracy on learned families:", out);
	pct(out, acc);
	fputs("\nothers (never learned, legitimate) called unknown:", out);
	pct(out, unk);
	fputs("\n\nper family (others expect 'unknown'):\n", out);
	fprintf(out, "  %-16s %9s %9s %8s %8s %8s\n", "family", "precision", "recall", "tp", "fp", "fn");
	f = attrib_eval_families(t->eval, &nf);
	for (i = 0; i < nf; i++) {
		fprintf(out, "  %-16.16s  ", f[i].name);
		pct(out, f[i].precision);
		fputs("  ", out);
		pct(out, f[i].recall);
		fprintf(out, " %8lu %8lu %8lu\n", f[i].tp, f[i].fp, f[i].fn);
	}
	rows = attrib_eval_matrix(t->eval, &nr, &cols, &nc);
	fputs("\nconfusion matrix (rows: label, columns: attributed):\n  ", out);
	fprintf(out, "%-16s", "");
	for (j = 0; j < nc; j++)
		fprintf(out, " %10.10s", cols[j]);
	fputc('\n', out);
	for (i = 0; i < nr; i++) {
		fprintf(out, "  %-16.16s", rows[i].label);
		for (j = 0; j < nc; j++)
			fprintf(out, " %10lu", rows[i].predicted[j]);
		fputc('\n', out);
	}
}

static json_t *num(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

void truth_print_json(struct truth *t, FILE *out)
{
	const struct attrib_eval_family *f;
	const struct attrib_eval_row *rows;
	const char *const *cols;
	size_t nf, nr, nc, i, j;
	double acc, unk;
	unsigned long ln, on, un;
	json_t *root = json_object(), *fams = json_object(), *matrix = json_object();

	attrib_eval_summary(t->eval, &acc, &ln, &unk, &on, &un);
	json_object_set_new(root, "labelled", json_integer((json_int_t)(ln + on)));
	json_object_set_new(root, "unlabelled", json_integer((json_int_t)un));
	json_object_set_new(root, "learned_accuracy", num(acc));
	json_object_set_new(root, "others_unknown_rate", num(unk));
	f = attrib_eval_families(t->eval, &nf);
	for (i = 0; i < nf; i++)
		json_object_set_new(fams, f[i].name, json_pack("{s:o,s:o,s:I,s:I,s:I}",
			"precision", num(f[i].precision), "recall", num(f[i].recall),
			"tp", (json_int_t)f[i].tp, "fp", (json_int_t)f[i].fp, "fn", (json_int_t)f[i].fn));
	json_object_set_new(root, "families", fams);
	rows = attrib_eval_matrix(t->eval, &nr, &cols, &nc);
	for (i = 0; i < nr; i++) {
		json_t *r = json_object();

		for (j = 0; j < nc; j++)
			if (rows[i].predicted[j])
				json_object_set_new(r, cols[j], json_integer((json_int_t)rows[i].predicted[j]));
		json_object_set_new(matrix, rows[i].label, r);
	}
	json_object_set_new(root, "confusion", matrix);
	json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	fputc('\n', out);
	json_decref(root);
}

void truth_free(struct truth *t)
{
	if (!t)
		return;
	strmap_free(&t->labels);
	attrib_eval_free(t->eval);
	free(t);
}
