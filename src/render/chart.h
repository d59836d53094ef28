/*
 * chart.h - time-series charts drawn with cairo, as PNG or SVG from one
 * drawing code.
 *
 * The module knows nothing of the store or the analysis: the caller fills a
 * struct chart_spec with arrays (times in seconds UTC, values as doubles) and
 * asks for a PNG or an SVG, into a file or into a memory buffer. One spec
 * covers every chart of the report: lines (a family's volume, families
 * compared, total spam), stacked areas (absolute, or shares summing to
 * 100 %), shaded bands (prediction intervals) and vertical event markers with
 * labels. docs/charts.md shows each kind.
 *
 * Ownership: the spec and everything it points to stay the caller's; the
 * module keeps nothing after a call returns and has no global state, so
 * calls may run in parallel on different specs.
 *
 * Errors: every call returns an enum chart_status and, unless CHART_OK,
 * writes a one-line message into err (when err is not NULL). Nothing is
 * printed, nothing exits.
 *
 * Untrusted text: names and labels usually come from data (family names).
 * They are cleaned before use: invalid UTF-8 and control characters become
 * '?', and they are cut at the CHART_*_MAX byte caps below (with an
 * ellipsis). In SVG they are XML-escaped.
 *
 * Robust inputs: NaN or infinite values are gaps (a line breaks, a lone
 * point gets a dot); negative values extend the y axis below zero in line
 * charts and count as 0 in stacked charts; magnitudes beyond 1e15 are drawn
 * at that bound; an empty chart draws its frame
 * and "no data"; a zero-width time span is widened to two hours around the
 * instant; a long series (hundreds of thousands of points) is reduced per
 * pixel column to its first, lowest, highest and last point, so spikes stay
 * visible and drawing stays linear in n.
 */
#ifndef SPAMTIDE_RENDER_CHART_H
#define SPAMTIDE_RENDER_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Caps on what a spec may hold; each protects layout or memory. */
#define CHART_TEXT_MAX    200  /* bytes of a title, subtitle or axis label */
#define CHART_NAME_MAX     48  /* bytes of a series, band or marker label: a legend entry */
#define CHART_SERIES_MAX   16  /* series in one chart: more is unreadable */
#define CHART_BANDS_MAX     8  /* shaded bands in one chart */
#define CHART_MARKERS_MAX  24  /* event markers in one chart */
#define CHART_PREFIX_MAX   32  /* bytes of svg_id_prefix */
#define CHART_SIZE_MIN    200  /* smallest width and height, pixels */
#define CHART_SIZE_MAX  10000  /* largest width and height: 400 MB of pixels */
#define CHART_TIME_MAX  253402300799LL /* 9999-12-31T23:59:59Z: |t| beyond is refused */

#define CHART_WIDTH_DEFAULT  1200
#define CHART_HEIGHT_DEFAULT  600

enum chart_status {
	CHART_OK = 0,
	CHART_EINVAL,   /* the spec is malformed (err says which field) */
	CHART_EIO,      /* the file could not be written */
	CHART_ECAIRO,   /* cairo failed (out of memory, surface error) */
};

enum chart_format {
	CHART_PNG,
	CHART_SVG,
};

/* How the series are drawn. */
enum chart_mode {
	CHART_MODE_LINES = 0,  /* one line per series; bands behind them */
	CHART_MODE_STACKED,    /* stacked areas, first series at the bottom */
	CHART_MODE_SHARES,     /* stacked areas normalised to 100 % at each time */
};

/*
 * Colours: the Okabe-Ito palette, distinguishable with the common forms of
 * colour blindness. AUTO takes them in this order by series position.
 */
enum chart_color {
	CHART_COLOR_AUTO = 0,
	CHART_BLUE,        /* #0072B2 */
	CHART_VERMILLION,  /* #D55E00 */
	CHART_GREEN,       /* #009E73 (bluish green) */
	CHART_PURPLE,      /* #CC79A7 (reddish purple) */
	CHART_ORANGE,      /* #E69F00 */
	CHART_SKY,         /* #56B4E9 (sky blue) */
	CHART_BLACK,       /* #000000 */
	CHART_YELLOW,      /* #F0E442: for areas; too pale for a line */
	CHART_COLOR_COUNT
};

enum chart_dash {
	CHART_DASH_SOLID = 0,
	CHART_DASH_DASHED,
	CHART_DASH_DOTTED,
	CHART_DASH_DASHDOT,
};

/*
 * A series: n points (t[i], v[i]), t non-decreasing (else CHART_EINVAL).
 * In the stacked modes every series must have the same n and the same times
 * (one grid), else CHART_EINVAL.
 */
struct chart_series {
	const char *name;         /* legend label; NULL or "" = not in the legend */
	const int64_t *t;         /* seconds UTC */
	const double *v;
	size_t n;
	enum chart_color color;   /* AUTO: palette by position */
	enum chart_dash dash;     /* lines only */
};

/*
 * A shaded band between lo[i] and hi[i] at t[i] (a prediction interval),
 * drawn behind the lines. Points where lo or hi is not finite are gaps.
 */
struct chart_band {
	const char *name;         /* legend label, e.g. "95 % interval" */
	const int64_t *t;
	const double *lo;
	const double *hi;
	size_t n;
	enum chart_color color;   /* AUTO: grey */
	double opacity;           /* 0 < opacity <= 1; 0 means 0.25 */
};

/* A vertical event marker with its label, e.g. "rustock ceased". */
struct chart_marker {
	int64_t t;
	const char *label;
};

struct chart_spec {
	const char *title;        /* bold, top left; NULL = none */
	const char *subtitle;     /* one grey line under the title */
	const char *x_label;      /* NULL: "time (UTC)" */
	const char *y_label;      /* e.g. "messages per hour"; SHARES: NULL = "share of total" */
	enum chart_mode mode;
	const struct chart_series *series;
	size_t nseries;
	const struct chart_band *bands;   /* CHART_MODE_LINES only */
	size_t nbands;
	const struct chart_marker *markers;
	size_t nmarkers;
	int64_t t_from, t_to;     /* the x range; both 0: from the data (else t_from < t_to) */
	int width, height;        /* pixels (in SVG, px); 0 = 1200 x 600 */
	/*
	 * Prepended to every id in the SVG, so that several SVGs inlined in
	 * one HTML page do not share glyph ids: letters, digits, '-' and '_',
	 * starting with a letter or '_'. NULL: "c" and 12 hex digits of a hash
	 * of the spec, then '-' (charts that differ get different ids); ""
	 * keeps cairo's bare ids.
	 */
	const char *svg_id_prefix;
};

/*
 * chart_render: draw spec as fmt into the file at path (created or
 * truncated). On failure the file may be left partial.
 */
enum chart_status chart_render(const struct chart_spec *spec, enum chart_format fmt,
			       const char *path, char *err, size_t errlen);

/*
 * chart_render_buf: draw spec as fmt, appending the bytes (PNG, or an SVG
 * document as UTF-8 text) to out. On failure out is left as it was.
 *
 * The SVG carries, right after its root element, a <title> (the chart's
 * title) and a <desc> naming the series, the bands, the time range and each
 * marker with its time, since cairo draws text as glyph outlines that
 * neither readers nor search can see.
 */
enum chart_status chart_render_buf(const struct chart_spec *spec, enum chart_format fmt,
				   struct buf *out, char *err, size_t errlen);

/*
 * chart_plot_area: where the plot area (inside the axes) of spec lies on the
 * canvas, in pixels, the same for PNG and SVG. For tests and image maps.
 */
enum chart_status chart_plot_area(const struct chart_spec *spec, double *x, double *y,
				  double *w, double *h, char *err, size_t errlen);

/* ---- axes: pure functions, exposed for tests ---- */

#define CHART_TICKS_MAX 64
#define CHART_LABEL_LEN 24

/* Ticks on a UTC time axis. */
struct chart_time_ticks {
	const char *step;     /* "1min", "15min", "1h", "6h", "1d", "1w", "1mo", "1y", ... */
	size_t n;
	int64_t t[CHART_TICKS_MAX];
	/* "Mar 16 12:00" (steps under a day), "Mar 16" (days, weeks),
	 * "2011-03" (months), "2011" (years) */
	char label[CHART_TICKS_MAX][CHART_LABEL_LEN];
};

/*
 * chart_time_ticks: the finest step from a fixed ladder (1, 2, 5, 10, 15,
 * 30 min; 1, 2, 3, 6, 12 h; 1, 2 days; 1, 2 weeks starting Mondays; 1, 2, 3,
 * 6 months; 1, 2, 5, 10, ... years) that puts at most max_ticks ticks in
 * [from, to], and those ticks, aligned to round UTC times.
 * max_ticks is clamped to [2, CHART_TICKS_MAX]; to < from gives no ticks.
 */
void chart_time_ticks(int64_t from, int64_t to, int max_ticks, struct chart_time_ticks *out);

/* Ticks on a value axis. */
struct chart_value_ticks {
	double lo, hi;        /* the axis range: first and last tick */
	double step;          /* 1, 2 or 5 times a power of ten */
	size_t n;
	double v[CHART_TICKS_MAX];
	char label[CHART_TICKS_MAX][CHART_LABEL_LEN];
};

/*
 * chart_value_ticks: round ticks covering [lo, hi] with at most max_ticks
 * ticks (clamped to [2, CHART_TICKS_MAX]); labels as chart_format_value
 * writes them. Not finite or hi <= lo is treated as [lo, lo + 1].
 */
void chart_value_ticks(double lo, double hi, int max_ticks, bool percent,
		       struct chart_value_ticks *out);

/*
 * chart_format_value: v as an axis label, given the tick step and the
 * largest |value| on the axis: "2,500" below 10,000; "20k", "1.5k" from
 * 10,000; "1.2M" from a million; "40 %" when percent (v in percent);
 * decimals only as many as the step needs.
 */
void chart_format_value(double v, double step, double axis_max, bool percent,
			char *out, size_t len);

#endif
