/*
 * figures.h - internal to src/render: the report's charts as chart specs.
 *
 *   a-event    a family's volume by hour around its takedown (or first cessation)
 *   b-weeks    the spikiest large family by hour over three weeks
 *   c-compare  the two largest families by hour over two weeks
 *   d-total    total volume with every event marked
 *   e-projection  daily totals and the projection with 80 % and 95 % bands
 *   f-shares   shares of the largest families per day, stacked to 100 %
 * A figure whose data is missing (no event, no projection) is left out.
 */
#ifndef SPAMTIDE_RENDER_FIGURES_H
#define SPAMTIDE_RENDER_FIGURES_H

#include "render/chart.h"
#include "render/render.h"

#define FIGURES_MAX 6
#define FIGURE_SERIES_MAX 8

struct figure {
	char name[32];                 /* file name without extension */
	char title[160];
	char subtitle[240];
	char y_label[64];
	char caption[400];             /* what the reader should see */
	struct chart_spec spec;
	struct chart_series series[FIGURE_SERIES_MAX];
	char series_name[FIGURE_SERIES_MAX][64];
	struct chart_band bands[2];
	struct chart_marker markers[32];
	char marker_label[32][80];
	/* owned arrays the series and bands point into */
	int64_t *t[FIGURE_SERIES_MAX + 1];
	double *v[FIGURE_SERIES_MAX + 4];
};

/* figures_build: the figures r has data for, into out[FIGURES_MAX]. */
size_t figures_build(const struct report *r, struct figure *out);
void figures_free(struct figure *f, size_t n);

#endif
