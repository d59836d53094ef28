/*
 * eval.c - attribution measured against labels; see attrib.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attrib/kb_int.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct attrib_eval {
	const attrib_kb *kb;
	char **columns;              /* predicted names seen */
	size_t ncolumns;
	struct attrib_eval_row *rows;
	size_t nrows;
	struct attrib_eval_family *fams;
	size_t nfams;
	unsigned long learned_n, learned_ok, other_n, other_unknown, unlabelled;
};

attrib_eval *attrib_eval_new(const attrib_kb *kb)
{
	attrib_eval *e = xcalloc(1, sizeof(*e));

	e->kb = kb;
	return e;
}

static bool in_kb(const attrib_kb *kb, const char *name)
{
	size_t i;

	for (i = 0; kb && i < kb->n; i++)
		if (strcmp(kb->fam[i].name, name) == 0)
			return true;
	return false;
}

static size_t column(attrib_eval *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->ncolumns; i++)
		if (strcmp(e->columns[i], name) == 0)
			return i;
	e->columns = xreallocarray(e->columns, e->ncolumns + 1, sizeof(char *));
	e->columns[e->ncolumns] = xstrdup(name);
	for (i = 0; i < e->nrows; i++) {
		e->rows[i].predicted = xreallocarray(e->rows[i].predicted, e->ncolumns + 1,
						     sizeof(unsigned long));
		e->rows[i].predicted[e->ncolumns] = 0;
	}
	return e->ncolumns++;
}

static struct attrib_eval_row *row(attrib_eval *e, const char *label)
{
	size_t i;

	for (i = 0; i < e->nrows; i++)
		if (strcmp(e->rows[i].label, label) == 0)
			return &e->rows[i];
	e->rows = xreallocarray(e->rows, e->nrows + 1, sizeof(*e->rows));
	e->rows[e->nrows].label = xstrdup(label);
	e->rows[e->nrows].predicted = xcalloc(e->ncolumns + 1, sizeof(unsigned long));
	e->rows[e->nrows].total = 0;
	return &e->rows[e->nrows++];
}

static struct attrib_eval_family *fam(attrib_eval *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nfams; i++)
		if (strcmp(e->fams[i].name, name) == 0)
			return &e->fams[i];
	e->fams = xreallocarray(e->fams, e->nfams + 1, sizeof(*e->fams));
	memset(&e->fams[e->nfams], 0, sizeof(e->fams[0]));
	e->fams[e->nfams].name = xstrdup(name);
	return &e->fams[e->nfams++];
}

void attrib_eval_add(attrib_eval *e, const char *truth_label, const char *predicted)
{
	bool learned = in_kb(e->kb, truth_label);
	const char *expected = learned ? truth_label : ATTRIB_UNKNOWN;
	size_t c = column(e, predicted);
	struct attrib_eval_row *r = row(e, truth_label);

	r->predicted[c]++;
	r->total++;
	if (strcmp(expected, predicted) == 0) {
		fam(e, expected)->tp++;
	} else {
		fam(e, expected)->fn++;
		fam(e, predicted)->fp++;
	}
	if (learned) {
		e->learned_n++;
		e->learned_ok += strcmp(expected, predicted) == 0;
	} else {
		e->other_n++;
		e->other_unknown += strcmp(predicted, ATTRIB_UNKNOWN) == 0;
	}
}

void attrib_eval_unlabelled(attrib_eval *e)
{
	e->unlabelled++;
}

static int by_name(const void *a, const void *b)
{
	const struct attrib_eval_family *x = a, *y = b;

	return strcmp(x->name, y->name);
}

const struct attrib_eval_family *attrib_eval_families(attrib_eval *e, size_t *n)
{
	size_t i;

	for (i = 0; i < e->nfams; i++) {
		struct attrib_eval_family *f = &e->fams[i];

		f->precision = f->tp + f->fp ? (double)f->tp / (double)(f->tp + f->fp) : NAN;
		f->recall = f->tp + f->fn ? (double)f->tp / (double)(f->tp + f->fn) : NAN;
	}
	qsort(e->fams, e->nfams, sizeof(*e->fams), by_name);
	*n = e->nfams;
	return e->fams;
}

const struct attrib_eval_row *attrib_eval_matrix(const attrib_eval *e, size_t *nrows,
						 const char *const **columns, size_t *ncolumns)
{
	*nrows = e->nrows;
	*columns = (const char *const *)e->columns;
	*ncolumns = e->ncolumns;
	return e->rows;
}

void attrib_eval_summary(const attrib_eval *e, double *learned_accuracy, unsigned long *learned_n,
			 double *unknown_rate, unsigned long *other_n, unsigned long *unlabelled)
{
	*learned_accuracy = e->learned_n ? (double)e->learned_ok / (double)e->learned_n : NAN;
	*learned_n = e->learned_n;
	*unknown_rate = e->other_n ? (double)e->other_unknown / (double)e->other_n : NAN;
	*other_n = e->other_n;
	*unlabelled = e->unlabelled;
}

void attrib_eval_free(attrib_eval *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->ncolumns; i++)
		free(e->columns[i]);
	for (i = 0; i < e->nrows; i++) {
		free((char *)e->rows[i].label);
		free(e->rows[i].predicted);
	}
	for (i = 0; i < e->nfams; i++)
		free((char *)e->fams[i].name);
	free(e->columns);
	free(e->rows);
	free(e->fams);
	free(e);
}
