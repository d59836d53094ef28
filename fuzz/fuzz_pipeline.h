/*
 * fuzz_pipeline.h - the pipeline the message and file targets push into:
 * made once per fuzzing process, with the shipped families, no store.
 */
#ifndef SPAMTIDE_FUZZ_PIPELINE_H
#define SPAMTIDE_FUZZ_PIPELINE_H

#include <stdlib.h>

#include "attrib/attrib.h"
#include "mail/features.h"
#include "pipeline/pipeline.h"

/* the process's pipeline, made at the first call; aborts when the
 * knowledge base cannot be loaded */
static inline pipeline *fuzz_pipeline(void)
{
	static pipeline *pl;

	if (!pl) {
		struct pipeline_options popt = { 0 };
		char err[256];

		mail_init();
		popt.kb = attrib_kb_load(NULL, err, sizeof(err));
		if (!popt.kb)
			abort();
		pl = pipeline_new(NULL, &popt);
	}
	return pl;
}

#endif
