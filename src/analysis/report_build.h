/*
 * report_build.h - from a period's series to the report's values (pure).
 */
#ifndef SPAMTIDE_ANALYSIS_REPORT_BUILD_H
#define SPAMTIDE_ANALYSIS_REPORT_BUILD_H

#include "render/render.h"
#include "store/store.h"

struct report_options {
	enum report_unit unit;
	int bucket_seconds;       /* 60, 3600 or 86400 */
	double scale;             /* each trapped message stands for this many */
	const char *without;      /* projection without this family, or NULL */
};

/* report_build: fill r from s (r owns copies of every name). */
void report_build(const struct store_series *s, const struct report_options *o,
		  struct report *r);

#endif
