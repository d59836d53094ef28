/*
 * truth.h - classify --truth: reading labels and printing the evaluation.
 */
#ifndef SPAMTIDE_CMD_TRUTH_H
#define SPAMTIDE_CMD_TRUTH_H

#include <stdio.h>

#include "attrib/attrib.h"

struct truth;

/* truth_load: lines KEY<TAB>family; NULL with err (file:line) when bad. */
struct truth *truth_load(const char *path, const attrib_kb *kb, char *err, size_t errlen);
/* truth_record: a classified message, looked up by source then Message-ID. */
void truth_record(struct truth *t, const char *source, const char *message_id,
		  const char *predicted);
void truth_print_text(struct truth *t, FILE *out);
void truth_print_json(struct truth *t, FILE *out);
void truth_free(struct truth *t);

#endif
