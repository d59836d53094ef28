/*
 * chart.c - time-series charts with cairo, PNG and SVG from one drawing
 * code; see chart.h for the spec and docs/charts.md for the kinds.
 *
 * A call validates the spec, copies its text cleaned and capped, computes
 * the ranges and the layout (measuring text with the same cairo context it
 * draws with, with metric hinting off so PNG and SVG lay out alike), draws,
 * and hands the bytes out. PNG goes through cairo's image surface; SVG
 * through cairo's SVG surface written to our own stream function, which
 * inserts <title> and <desc> after the root element (cairo draws text as
 * glyph outlines) and prefixes ids on request.
 *
 * Everything allocated in a call is freed before it returns; the module
 * holds no state between calls. Errors come back as an enum chart_status
 * with a message in err.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cairo-svg.h>

#include "render/chart.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define FONT "DejaVu Sans"
#define TEXT_CAP (CHART_TEXT_MAX + 4)   /* room for the ellipsis and NUL */
#define NAME_CAP (CHART_NAME_MAX + 4)
#define MARKER_ROWS 8                   /* rows of marker labels above the plot */
#define VALUE_MAX 1e15                  /* |values| beyond are drawn at it: counts never come near */
#define MIN_SPAN 120                    /* seconds: narrower x ranges are widened */

struct rgb {
	double r, g, b;
};

static const struct rgb palette[CHART_COLOR_COUNT] = {
	[CHART_COLOR_AUTO] = { 0.45, 0.45, 0.45 },
	[CHART_BLUE] = { 0x00 / 255.0, 0x72 / 255.0, 0xB2 / 255.0 },
	[CHART_VERMILLION] = { 0xD5 / 255.0, 0x5E / 255.0, 0x00 / 255.0 },
	[CHART_GREEN] = { 0x00 / 255.0, 0x9E / 255.0, 0x73 / 255.0 },
	[CHART_PURPLE] = { 0xCC / 255.0, 0x79 / 255.0, 0xA7 / 255.0 },
	[CHART_ORANGE] = { 0xE6 / 255.0, 0x9F / 255.0, 0x00 / 255.0 },
	[CHART_SKY] = { 0x56 / 255.0, 0xB4 / 255.0, 0xE9 / 255.0 },
	[CHART_BLACK] = { 0, 0, 0 },
	[CHART_YELLOW] = { 0xF0 / 255.0, 0xE4 / 255.0, 0x42 / 255.0 },
};

/* Palette order by series position; yellow only for areas. */
static const enum chart_color line_order[] = {
	CHART_BLUE, CHART_VERMILLION, CHART_GREEN, CHART_PURPLE,
	CHART_ORANGE, CHART_SKY, CHART_BLACK,
};
static const enum chart_color area_order[] = {
	CHART_BLUE, CHART_VERMILLION, CHART_GREEN, CHART_ORANGE,
	CHART_SKY, CHART_PURPLE, CHART_YELLOW, CHART_BLACK,
};

static const struct rgb ink = { 0.13, 0.13, 0.13 };      /* text, axes */
static const struct rgb muted = { 0.40, 0.40, 0.40 };    /* subtitle, tick labels */
static const struct rgb grid = { 0.89, 0.89, 0.89 };     /* grid lines */

/* One call's working state: the cleaned text, ranges, ticks and layout. */
struct chart {
	const struct chart_spec *spec;
	int w, h;
	double s;                 /* scale of fonts and strokes against 1200 x 600 */

	char title[TEXT_CAP], subtitle[TEXT_CAP], x_label[TEXT_CAP], y_label[TEXT_CAP];
	char series_name[CHART_SERIES_MAX][NAME_CAP];
	char band_name[CHART_BANDS_MAX][NAME_CAP];
	char marker_label[CHART_MARKERS_MAX][NAME_CAP];
	char prefix[CHART_PREFIX_MAX + 1];

	bool have_times;          /* any time at all (data or markers) */
	bool have_data;           /* any finite value to draw */
	int64_t from, to;         /* x range */
	double ylo, yhi;          /* data extent before rounding to ticks */
	struct chart_value_ticks yt;
	struct chart_time_ticks xt;

	/* layout, pixels */
	double pad;
	double title_base, subtitle_base;
	double legend_top, legend_row_h;
	int legend_rows;
	double marker_top, marker_row_h;
	int marker_rows;
	int marker_row[CHART_MARKERS_MAX];    /* -1: not drawn */
	double marker_lx[CHART_MARKERS_MAX];  /* label's left edge */
	double px, py, pw, ph;    /* plot area */
};

/* ---- errors and text ---- */

static enum chart_status fail(char *err, size_t errlen, enum chart_status st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum chart_status fail(char *err, size_t errlen, enum chart_status st, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return st;
}

/*
 * utf8_unit: the length of the valid UTF-8 sequence at p (at most avail
 * bytes), with its code point, or 0 when the bytes are not valid UTF-8.
 */
static size_t utf8_unit(const unsigned char *p, size_t avail, unsigned *cp)
{
	unsigned c = p[0], v;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

/*
 * clean_text: in, as valid UTF-8 without control characters (each bad byte
 * or control becomes '?'), cut to cap bytes with an ellipsis. out has room
 * for cap + 4 bytes. NULL gives "".
 */
static void clean_text(const char *in, size_t cap, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, avail, n;
	unsigned cp;

	out[0] = '\0';
	if (!in)
		return;
	avail = strlen(in);
	while (avail > 0) {
		n = utf8_unit(p, avail, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) ||
		    cp == 0xFFFE || cp == 0xFFFF) {
			/* a tab or newline reads as a space; anything else as '?' */
			cp = (n == 1 && (cp == '\t' || cp == '\n' || cp == '\r')) ? ' ' : '?';
			if (n == 0)
				n = 1;
			if (o + 1 > cap)
				goto cut;
			out[o++] = (char)cp;
		} else {
			if (o + n > cap)
				goto cut;
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		avail -= n;
	}
	out[o] = '\0';
	return;
cut:
	memcpy(out + o, "\xE2\x80\xA6", 4);   /* U+2026 and the NUL */
}

/* xml_escape: s as XML character data (element content, not attributes). */
static void xml_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_addstr(b, "&amp;"); break;
		case '<': buf_addstr(b, "&lt;"); break;
		case '>': buf_addstr(b, "&gt;"); break;
		default: buf_addch(b, *s); break;
		}
	}
}

/* ---- validation ---- */

static bool time_ok(int64_t t)
{
	return t >= -CHART_TIME_MAX && t <= CHART_TIME_MAX;
}

static enum chart_status check_times(const char *what, size_t idx, const int64_t *t, size_t n,
				     char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!time_ok(t[i]))
			return fail(err, errlen, CHART_EINVAL, "%s %zu: time %zu out of range", what, idx, i);
		if (i > 0 && t[i] < t[i - 1])
			return fail(err, errlen, CHART_EINVAL, "%s %zu: times not ascending at point %zu",
				    what, idx, i);
	}
	return CHART_OK;
}

static enum chart_status validate(const struct chart_spec *sp, char *err, size_t errlen)
{
	enum chart_status st;
	size_t i, j;
	const char *p;

	if (!sp)
		return fail(err, errlen, CHART_EINVAL, "no chart spec");
	if ((sp->width != 0 && (sp->width < CHART_SIZE_MIN || sp->width > CHART_SIZE_MAX)) ||
	    (sp->height != 0 && (sp->height < CHART_SIZE_MIN || sp->height > CHART_SIZE_MAX)))
		return fail(err, errlen, CHART_EINVAL, "size %dx%d outside %d..%d pixels",
			    sp->width, sp->height, CHART_SIZE_MIN, CHART_SIZE_MAX);
	if (sp->mode != CHART_MODE_LINES && sp->mode != CHART_MODE_STACKED &&
	    sp->mode != CHART_MODE_SHARES)
		return fail(err, errlen, CHART_EINVAL, "unknown chart mode %d", (int)sp->mode);
	if (sp->nseries > CHART_SERIES_MAX || sp->nbands > CHART_BANDS_MAX ||
	    sp->nmarkers > CHART_MARKERS_MAX)
		return fail(err, errlen, CHART_EINVAL,
			    "too many series, bands or markers (%zu, %zu, %zu; at most %d, %d, %d)",
			    sp->nseries, sp->nbands, sp->nmarkers,
			    CHART_SERIES_MAX, CHART_BANDS_MAX, CHART_MARKERS_MAX);
	if ((sp->nseries && !sp->series) || (sp->nbands && !sp->bands) ||
	    (sp->nmarkers && !sp->markers))
		return fail(err, errlen, CHART_EINVAL, "a count is set but its array is NULL");
	if (sp->nbands && sp->mode != CHART_MODE_LINES)
		return fail(err, errlen, CHART_EINVAL, "bands are drawn only in line charts");
	for (i = 0; i < sp->nseries; i++) {
		const struct chart_series *s = &sp->series[i];

		if (s->n && (!s->t || !s->v))
			return fail(err, errlen, CHART_EINVAL, "series %zu: NULL times or values", i);
		if ((unsigned)s->color >= CHART_COLOR_COUNT || (unsigned)s->dash > CHART_DASH_DASHDOT)
			return fail(err, errlen, CHART_EINVAL, "series %zu: unknown colour or dash", i);
		if ((st = check_times("series", i, s->t, s->n, err, errlen)) != CHART_OK)
			return st;
		if (sp->mode != CHART_MODE_LINES && i > 0) {
			const struct chart_series *s0 = &sp->series[0];

			if (s->n != s0->n)
				return fail(err, errlen, CHART_EINVAL,
					    "series %zu: %zu points, series 0 has %zu (stacked series share one grid)",
					    i, s->n, s0->n);
			for (j = 0; j < s->n; j++)
				if (s->t[j] != s0->t[j])
					return fail(err, errlen, CHART_EINVAL,
						    "series %zu: time %zu differs from series 0 (stacked series share one grid)",
						    i, j);
		}
	}
	for (i = 0; i < sp->nbands; i++) {
		const struct chart_band *b = &sp->bands[i];

		if (b->n && (!b->t || !b->lo || !b->hi))
			return fail(err, errlen, CHART_EINVAL, "band %zu: NULL times or bounds", i);
		if ((unsigned)b->color >= CHART_COLOR_COUNT)
			return fail(err, errlen, CHART_EINVAL, "band %zu: unknown colour", i);
		if (!(b->opacity >= 0 && b->opacity <= 1))
			return fail(err, errlen, CHART_EINVAL, "band %zu: opacity not in [0, 1]", i);
		if ((st = check_times("band", i, b->t, b->n, err, errlen)) != CHART_OK)
			return st;
	}
	for (i = 0; i < sp->nmarkers; i++)
		if (!time_ok(sp->markers[i].t))
			return fail(err, errlen, CHART_EINVAL, "marker %zu: time out of range", i);
	if (sp->t_from != 0 || sp->t_to != 0) {
		if (!time_ok(sp->t_from) || !time_ok(sp->t_to) || sp->t_from >= sp->t_to)
			return fail(err, errlen, CHART_EINVAL, "time range: t_from must be before t_to");
	}
	if (sp->svg_id_prefix) {
		if (strlen(sp->svg_id_prefix) > CHART_PREFIX_MAX)
			return fail(err, errlen, CHART_EINVAL, "svg_id_prefix longer than %d bytes",
				    CHART_PREFIX_MAX);
		for (p = sp->svg_id_prefix; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
				return fail(err, errlen, CHART_EINVAL,
					    "svg_id_prefix: only letters, digits, '-' and '_'");
		/* an XML name starts with a letter or '_' */
		if ((sp->svg_id_prefix[0] >= '0' && sp->svg_id_prefix[0] <= '9') ||
		    sp->svg_id_prefix[0] == '-')
			return fail(err, errlen, CHART_EINVAL,
				    "svg_id_prefix must start with a letter or '_'");
	}
	return CHART_OK;
}

/* ---- ranges ---- */

static double val_clamped(double v)
{
	return (isfinite(v) && v > 0) ? fmin(v, VALUE_MAX) : 0;
}

static enum chart_color series_color(const struct chart *c, size_t i)
{
	const struct chart_series *s = &c->spec->series[i];

	if (s->color != CHART_COLOR_AUTO)
		return s->color;
	if (c->spec->mode == CHART_MODE_LINES)
		return line_order[i % (sizeof(line_order) / sizeof(line_order[0]))];
	return area_order[i % (sizeof(area_order) / sizeof(area_order[0]))];
}

static void extend(double *lo, double *hi, bool *any, double v)
{
	if (!isfinite(v))
		return;
	v = fmax(-VALUE_MAX, fmin(v, VALUE_MAX));
	if (!*any || v < *lo)
		*lo = v;
	if (!*any || v > *hi)
		*hi = v;
	*any = true;
}

static void x_range(struct chart *c)
{
	const struct chart_spec *sp = c->spec;
	int64_t lo = 0, hi = 0;
	bool any = false;
	size_t i;

#define TAKE(tv) do { int64_t t_ = (tv); \
		if (!any || t_ < lo) lo = t_; \
		if (!any || t_ > hi) hi = t_; \
		any = true; } while (0)
	if (sp->t_from != 0 || sp->t_to != 0) {
		lo = sp->t_from;
		hi = sp->t_to;
		any = true;
	} else {
		for (i = 0; i < sp->nseries; i++)
			if (sp->series[i].n) {
				TAKE(sp->series[i].t[0]);
				TAKE(sp->series[i].t[sp->series[i].n - 1]);
			}
		for (i = 0; i < sp->nbands; i++)
			if (sp->bands[i].n) {
				TAKE(sp->bands[i].t[0]);
				TAKE(sp->bands[i].t[sp->bands[i].n - 1]);
			}
		if (!any && sp->nmarkers) {
			/* nothing but markers: keep them off the frame */
			for (i = 0; i < sp->nmarkers; i++)
				TAKE(sp->markers[i].t);
			lo -= (hi - lo) / 20;
			hi += (hi - lo) / 20;
		}
	}
#undef TAKE
	c->have_times = any;
	if (!any) {
		lo = 0;
		hi = 86400;
	}
	if (hi - lo < MIN_SPAN) {
		int64_t mid = lo + (hi - lo) / 2;

		lo = mid - 3600;
		hi = mid + 3600;
	}
	c->from = lo;
	c->to = hi;
}

static bool in_range(const struct chart *c, int64_t t)
{
	return t >= c->from && t <= c->to;
}

static void y_range(struct chart *c)
{
	const struct chart_spec *sp = c->spec;
	double lo = 0, hi = 0;
	bool any = false;
	size_t i, j, k;

	if (sp->mode == CHART_MODE_LINES) {
		for (i = 0; i < sp->nseries; i++)
			for (j = 0; j < sp->series[i].n; j++)
				if (in_range(c, sp->series[i].t[j]))
					extend(&lo, &hi, &any, sp->series[i].v[j]);
		for (i = 0; i < sp->nbands; i++)
			for (j = 0; j < sp->bands[i].n; j++)
				if (in_range(c, sp->bands[i].t[j]) && isfinite(sp->bands[i].lo[j]) &&
				    isfinite(sp->bands[i].hi[j])) {
					extend(&lo, &hi, &any, sp->bands[i].lo[j]);
					extend(&lo, &hi, &any, sp->bands[i].hi[j]);
				}
	} else if (sp->nseries > 0) {
		for (j = 0; j < sp->series[0].n; j++) {
			double sum = 0;
			bool finite = false;

			if (!in_range(c, sp->series[0].t[j]))
				continue;
			for (k = 0; k < sp->nseries; k++) {
				if (isfinite(sp->series[k].v[j]))
					finite = true;
				sum += val_clamped(sp->series[k].v[j]);
			}
			if (sp->mode == CHART_MODE_SHARES && !(sum > 0))
				continue;
			if (finite)
				extend(&lo, &hi, &any, sp->mode == CHART_MODE_SHARES ? 100 : sum);
		}
	}
	c->have_data = any;
	if (lo > 0)
		lo = 0;
	if (hi < 0)
		hi = 0;
	if (sp->mode == CHART_MODE_SHARES) {
		lo = 0;
		hi = 100;
	}
	if (!(hi > lo))
		hi = lo + 1;
	/* headroom, so that the highest point does not sit on the frame */
	if (sp->mode != CHART_MODE_SHARES && hi > 0)
		hi += (hi - lo) * 0.04;
	c->ylo = lo;
	c->yhi = hi;
}

/* ---- text with cairo ---- */

static void font(cairo_t *cr, double size, bool bold)
{
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

static double text_w(cairo_t *cr, const char *s)
{
	cairo_text_extents_t te;

	cairo_text_extents(cr, s, &te);
	return te.x_advance;
}

/* fit: s shortened (with an ellipsis) to at most maxw wide, into out[TEXT_CAP]. */
static void fit(cairo_t *cr, const char *s, double maxw, char *out)
{
	size_t n = strlen(s);

	if (n >= TEXT_CAP)
		n = TEXT_CAP - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	if (text_w(cr, out) <= maxw)
		return;
	while (n > 0) {
		n--;
		while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
			n--;   /* back to the start of a UTF-8 sequence */
		if (n + 4 > TEXT_CAP)
			continue;
		memcpy(out + n, "\xE2\x80\xA6", 4);
		if (text_w(cr, out) <= maxw)
			return;
	}
	out[0] = '\0';
}

static void show(cairo_t *cr, double x, double y, const char *s)
{
	cairo_move_to(cr, x, y);
	cairo_show_text(cr, s);
}

static void color(cairo_t *cr, struct rgb c, double alpha)
{
	cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

static void dash(cairo_t *cr, enum chart_dash d, double s)
{
	double pat[4];

	switch (d) {
	case CHART_DASH_SOLID:
		cairo_set_dash(cr, NULL, 0, 0);
		return;
	case CHART_DASH_DASHED:
		pat[0] = 7 * s;
		pat[1] = 4 * s;
		cairo_set_dash(cr, pat, 2, 0);
		return;
	case CHART_DASH_DOTTED:
		pat[0] = 1.5 * s;
		pat[1] = 3 * s;
		cairo_set_dash(cr, pat, 2, 0);
		return;
	case CHART_DASH_DASHDOT:
		pat[0] = 8 * s;
		pat[1] = 3 * s;
		pat[2] = 1.5 * s;
		pat[3] = 3 * s;
		cairo_set_dash(cr, pat, 4, 0);
		return;
	}
	panic("chart: dash %d", (int)d);
}

/* ---- layout ---- */

static double x_of(const struct chart *c, double t)
{
	return c->px + (t - (double)c->from) / (double)(c->to - c->from) * c->pw;
}

static double y_of(const struct chart *c, double v)
{
	double y;

	v = fmax(-VALUE_MAX, fmin(v, VALUE_MAX));
	y = c->py + c->ph - (v - c->yt.lo) / (c->yt.hi - c->yt.lo) * c->ph;

	/* far outside the plot a point is clipped anyway; keep cairo's fixed
	 * point coordinates in range */
	return fmax(c->py - 4 * c->ph, fmin(y, c->py + 5 * c->ph));
}

/* The legend: every named series and band, in rows from the left margin. */
struct legend_entry {
	const char *name;
	bool band;
	size_t idx;
};

#define LEGEND_MAX (CHART_SERIES_MAX + CHART_BANDS_MAX)
#define SWATCH_W 26
#define LEGEND_GAP 24

static size_t legend_entries(const struct chart *c, struct legend_entry *e)
{
	size_t i, n = 0;

	for (i = 0; i < c->spec->nseries; i++)
		if (c->series_name[i][0])
			e[n++] = (struct legend_entry){ c->series_name[i], false, i };
	for (i = 0; i < c->spec->nbands; i++)
		if (c->band_name[i][0])
			e[n++] = (struct legend_entry){ c->band_name[i], true, i };
	return n;
}

/* legend_place: the left edge and row of each entry; returns the rows used. */
static int legend_place(cairo_t *cr, const struct chart *c, const struct legend_entry *e,
			size_t n, double *ex, int *erow)
{
	double x = c->pad, right = c->w - c->pad, w;
	int row = 0;
	size_t i;

	if (n == 0)
		return 0;
	font(cr, 13 * c->s, false);
	for (i = 0; i < n; i++) {
		w = (SWATCH_W + 7) * c->s + text_w(cr, e[i].name);
		if (i > 0 && x + w > right) {
			row++;
			x = c->pad;
		}
		ex[i] = x;
		erow[i] = row;
		x += w + LEGEND_GAP * c->s;
	}
	return row + 1;
}

/*
 * Marker labels sit in rows above the plot (row 0 nearest to it), each
 * beside its own line; a line runs from its label's row down through the
 * plot. A label may cross neither another label in its row nor a line that
 * runs through its row, and its own line may not cross a label below.
 * Placing the rightmost marker first makes a cluster a staircase rising to
 * the left, each label clear of the lines to its right.
 */
static bool marker_fits(const struct chart *c, const double *mx, const double *mw,
			size_t m, int row, double lx)
{
	double gap = 10 * c->s, rx = lx + mw[m];
	size_t k;

	for (k = 0; k < c->spec->nmarkers; k++) {
		int r = c->marker_row[k];

		if (r < 0 || k == m)
			continue;
		if (r == row && lx < c->marker_lx[k] + mw[k] + gap && c->marker_lx[k] < rx + gap)
			return false;
		if (r > row && mx[k] > lx && mx[k] < rx)
			return false;
		if (r < row && mx[m] > c->marker_lx[k] && mx[m] < c->marker_lx[k] + mw[k])
			return false;
	}
	return true;
}

/* marker_place: rows and label positions for the plot's current x extent. */
static int marker_place(cairo_t *cr, struct chart *c)
{
	const struct chart_spec *sp = c->spec;
	double mx[CHART_MARKERS_MAX], mw[CHART_MARKERS_MAX], lx, off = 5 * c->s;
	size_t order[CHART_MARKERS_MAX], m, j, k;
	int rows = 0, r;

	font(cr, 12 * c->s, false);
	for (m = 0; m < sp->nmarkers; m++) {
		c->marker_row[m] = -1;
		mx[m] = x_of(c, (double)sp->markers[m].t);
		mw[m] = text_w(cr, c->marker_label[m]);
		/* insertion sort by x, rightmost first; ties keep their order */
		for (j = m; j > 0 && mx[order[j - 1]] < mx[m]; j--)
			order[j] = order[j - 1];
		order[j] = m;
	}
	for (k = 0; k < sp->nmarkers; k++) {
		m = order[k];
		if (!in_range(c, sp->markers[m].t))
			continue;
		lx = mx[m] + off;
		if (lx + mw[m] > c->w - c->pad)
			lx = mx[m] - off - mw[m];   /* no room on the right: left of the line */
		if (lx < c->pad)
			lx = c->pad;
		for (r = 0; r < MARKER_ROWS; r++)
			if (marker_fits(c, mx, mw, m, r, lx))
				break;
		if (r == MARKER_ROWS)
			r = MARKER_ROWS - 1;   /* crowded: overlap rather than drop */
		c->marker_row[m] = r;
		c->marker_lx[m] = lx;
		if (r + 1 > rows)
			rows = r + 1;
	}
	return rows;
}

static void font_box(cairo_t *cr, double size, bool bold, double *ascent, double *height)
{
	cairo_font_extents_t fe;

	font(cr, size, bold);
	cairo_font_extents(cr, &fe);
	*ascent = fe.ascent;
	*height = fe.ascent + fe.descent;
}

static enum chart_status layout(struct chart *c, cairo_t *cr, char *err, size_t errlen)
{
	struct legend_entry e[LEGEND_MAX];
	double ex[LEGEND_MAX];
	int erow[LEGEND_MAX];
	double s = c->s, y, asc, hgt, bottom, maxw, tick_h, axis_h;
	int iter, rows = 0, max_ticks;
	size_t i;

	c->pad = 16 * s;
	y = c->pad;
	if (c->title[0]) {
		font_box(cr, 20 * s, true, &asc, &hgt);
		c->title_base = y + asc;
		y += hgt + 2 * s;
	}
	if (c->subtitle[0]) {
		font_box(cr, 14 * s, false, &asc, &hgt);
		c->subtitle_base = y + asc;
		y += hgt;
	}
	c->legend_rows = legend_place(cr, c, e, legend_entries(c, e), ex, erow);
	c->legend_row_h = 21 * s;
	if (c->legend_rows) {
		y += 8 * s;
		c->legend_top = y;
		y += c->legend_rows * c->legend_row_h;
	}
	y += 8 * s;
	c->marker_top = y;
	c->marker_row_h = 17 * s;

	font_box(cr, 12 * s, false, &asc, &tick_h);
	font_box(cr, 13 * s, false, &asc, &axis_h);
	bottom = c->h - c->pad - axis_h - 6 * s - tick_h - 9 * s;
	/*
	 * The rows of marker labels depend on where the plot starts, which
	 * depends on the y labels, which depend on the plot's height: iterate
	 * until the rows reserved are the rows used; if that does not settle,
	 * reserve the most there can be.
	 */
	rows = c->spec->nmarkers ? 1 : 0;
	for (iter = 0;; iter++) {
		c->py = c->marker_top + rows * c->marker_row_h;
		c->ph = bottom - c->py;
		max_ticks = (int)(c->ph / (48 * s)) + 1;
		if (max_ticks > 10)
			max_ticks = 10;
		chart_value_ticks(c->ylo, c->yhi, max_ticks, c->spec->mode == CHART_MODE_SHARES, &c->yt);
		font(cr, 12 * s, false);
		maxw = 0;
		for (i = 0; i < c->yt.n; i++)
			maxw = fmax(maxw, text_w(cr, c->yt.label[i]));
		c->px = c->pad + axis_h + 10 * s + maxw + 9 * s;
		c->pw = c->w - c->pad - 8 * s - c->px;
		if (c->ph < 40 * s || c->pw < 80 * s)
			return fail(err, errlen, CHART_EINVAL,
				    "chart %dx%d too small for its legend and labels", c->w, c->h);
		c->marker_rows = marker_place(cr, c);
		if (c->marker_rows == rows || (iter >= 4 && c->marker_rows < rows))
			break;
		rows = iter >= 4 ? MARKER_ROWS : c->marker_rows;
	}

	/* x ticks: as many as fit side by side with room between labels */
	font(cr, 12 * s, false);
	for (max_ticks = (int)(c->pw / (36 * s)); max_ticks >= 2; max_ticks--) {
		chart_time_ticks(c->from, c->to, max_ticks, &c->xt);
		maxw = 0;
		for (i = 0; i < c->xt.n; i++)
			maxw = fmax(maxw, text_w(cr, c->xt.label[i]));
		if ((double)c->xt.n * (maxw + 18 * s) <= c->pw)
			break;
	}
	if (!c->have_times)
		c->xt.n = 0;
	return CHART_OK;
}

/* ---- drawing ---- */

static void draw_axes(const struct chart *c, cairo_t *cr)
{
	double s = c->s, x, y, asc, hgt, lw, left;
	cairo_text_extents_t te;
	char label[TEXT_CAP];
	size_t i;

	cairo_set_line_width(cr, 1 * s);
	cairo_set_dash(cr, NULL, 0, 0);
	/* grid */
	color(cr, grid, 1);
	if (c->have_data)
		for (i = 0; i < c->yt.n; i++) {
			y = round(y_of(c, c->yt.v[i])) + 0.5;
			cairo_move_to(cr, c->px, y);
			cairo_line_to(cr, c->px + c->pw, y);
		}
	for (i = 0; i < c->xt.n; i++) {
		x = round(x_of(c, (double)c->xt.t[i])) + 0.5;
		cairo_move_to(cr, x, c->py);
		cairo_line_to(cr, x, c->py + c->ph);
	}
	cairo_stroke(cr);

	/* the frame: left and bottom axis, a zero line when values go negative */
	color(cr, muted, 1);
	cairo_move_to(cr, round(c->px) + 0.5, c->py);
	cairo_line_to(cr, round(c->px) + 0.5, c->py + c->ph);
	cairo_line_to(cr, c->px + c->pw, c->py + c->ph);
	cairo_stroke(cr);
	if (c->have_data && c->yt.lo < 0) {
		y = round(y_of(c, 0)) + 0.5;
		cairo_move_to(cr, c->px, y);
		cairo_line_to(cr, c->px + c->pw, y);
		cairo_stroke(cr);
	}

	/* tick marks and labels */
	font_box(cr, 12 * s, false, &asc, &hgt);
	for (i = 0; i < c->xt.n; i++) {
		x = round(x_of(c, (double)c->xt.t[i])) + 0.5;
		color(cr, muted, 1);
		cairo_move_to(cr, x, c->py + c->ph);
		cairo_line_to(cr, x, c->py + c->ph + 5 * s);
		cairo_stroke(cr);
		lw = text_w(cr, c->xt.label[i]);
		left = x - lw / 2;
		if (left < c->pad / 2)
			left = c->pad / 2;
		if (left + lw > c->w - c->pad)
			left = c->w - c->pad - lw;
		color(cr, ink, 1);
		show(cr, left, c->py + c->ph + 8 * s + asc, c->xt.label[i]);
	}
	if (c->have_data) {
		for (i = 0; i < c->yt.n; i++) {
			y = y_of(c, c->yt.v[i]);
			cairo_text_extents(cr, c->yt.label[i], &te);
			color(cr, ink, 1);
			show(cr, c->px - 8 * s - te.x_advance, y + te.height / 2, c->yt.label[i]);
		}
	}

	/* axis labels */
	font_box(cr, 13 * s, false, &asc, &hgt);
	color(cr, ink, 1);
	fit(cr, c->x_label, c->pw, label);
	show(cr, c->px + c->pw / 2 - text_w(cr, label) / 2, c->h - c->pad - (hgt - asc), label);
	if (c->y_label[0]) {
		fit(cr, c->y_label, c->ph, label);
		cairo_save(cr);
		cairo_translate(cr, c->pad + asc, c->py + c->ph / 2 + text_w(cr, label) / 2);
		cairo_rotate(cr, -M_PI / 2);
		show(cr, 0, 0, label);
		cairo_restore(cr);
	}
}

/* ---- lines: reduced per pixel column to first, min, max, last ---- */

struct pen {
	cairo_t *cr;
	size_t pts;      /* points in the current subpath */
};

static void pen_to(struct pen *p, double x, double y)
{
	if (p->pts == 0)
		cairo_move_to(p->cr, x, y);
	else
		cairo_line_to(p->cr, x, y);
	p->pts++;
}

struct column {
	bool used;
	long col;
	size_t first, min, max, last;
};

static void column_flush(const struct chart *c, const struct chart_series *s, struct column *b,
			 struct pen *p)
{
	size_t idx[4], i, j, tmp;

	if (!b->used)
		return;
	idx[0] = b->first;
	idx[1] = b->min;
	idx[2] = b->max;
	idx[3] = b->last;
	for (i = 1; i < 4; i++)   /* four items: insertion sort */
		for (j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
			tmp = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = tmp;
		}
	for (i = 0; i < 4; i++)
		if (i == 0 || idx[i] != idx[i - 1])
			pen_to(p, x_of(c, (double)s->t[idx[i]]), y_of(c, s->v[idx[i]]));
	b->used = false;
}

/* first index with t[i] >= t0 */
static size_t lower_bound(const int64_t *t, size_t n, int64_t t0)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t[mid] < t0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* visible: the points i0 <= i < i1 of t[n] that lie in the x range */
static void visible(const struct chart *c, const int64_t *t, size_t n, size_t *i0, size_t *i1)
{
	*i0 = lower_bound(t, n, c->from);
	*i1 = lower_bound(t, n, c->to + 1);
}

/*
 * area: the polygon between top[] and bottom[] (values) over the points
 * a <= i < e, added to the current path; a lone point is a thin bar.
 */
static void area(const struct chart *c, cairo_t *cr, const double *x, const double *top,
		 const double *bottom, size_t a, size_t e)
{
	size_t i;

	if (e - a == 1) {
		cairo_rectangle(cr, x[a] - 1.5 * c->s, y_of(c, top[a]), 3 * c->s,
				y_of(c, bottom[a]) - y_of(c, top[a]));
		return;
	}
	for (i = a; i < e; i++)
		(i == a ? cairo_move_to : cairo_line_to)(cr, x[i], y_of(c, top[i]));
	for (i = e; i-- > a;)
		cairo_line_to(cr, x[i], y_of(c, bottom[i]));
	cairo_close_path(cr);
}

/* the value at time tb on the segment from point a to point b */
static double interp(const int64_t *t, const double *v, size_t a, size_t b, int64_t tb)
{
	if (t[b] == t[a])
		return v[b];
	return v[a] + (v[b] - v[a]) * (double)(tb - t[a]) / (double)(t[b] - t[a]);
}

static void draw_line_series(const struct chart *c, cairo_t *cr, size_t si)
{
	const struct chart_series *s = &c->spec->series[si];
	struct pen p = { cr, 0 };
	struct column b = { 0 };
	size_t i0, i1, i;   /* points i0 <= i < i1 lie in the x range */
	long col;

	if (s->n == 0)
		return;
	visible(c, s->t, s->n, &i0, &i1);
	color(cr, palette[series_color(c, si)], 1);
	cairo_set_line_width(cr, 1.6 * c->s);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	dash(cr, s->dash, c->s);
	/* a segment entering the range from the left: start on the edge */
	if (i0 > 0 && i0 < s->n && isfinite(s->v[i0 - 1]) && isfinite(s->v[i0]))
		pen_to(&p, c->px, y_of(c, interp(s->t, s->v, i0 - 1, i0, c->from)));
	for (i = i0; i < i1; i++) {
		double v = s->v[i];

		if (!isfinite(v)) {
			column_flush(c, s, &b, &p);
			p.pts = 0;
			continue;
		}
		col = (long)floor(x_of(c, (double)s->t[i]) - c->px);
		if (b.used && col != b.col)
			column_flush(c, s, &b, &p);
		if (!b.used) {
			b = (struct column){ true, col, i, i, i, i };
			continue;
		}
		if (v < s->v[b.min])
			b.min = i;
		if (v > s->v[b.max])
			b.max = i;
		b.last = i;
	}
	column_flush(c, s, &b, &p);
	/* a segment leaving the range on the right: end on the edge */
	if (i1 > 0 && i1 < s->n && isfinite(s->v[i1 - 1]) && isfinite(s->v[i1]))
		pen_to(&p, c->px + c->pw, y_of(c, interp(s->t, s->v, i1 - 1, i1, c->to)));
	cairo_stroke(cr);

	/* a point with no finite neighbour would draw nothing: give it a dot */
	cairo_set_dash(cr, NULL, 0, 0);
	for (i = i0; i < i1; i++) {
		if (!isfinite(s->v[i]))
			continue;
		if ((i > 0 && isfinite(s->v[i - 1])) || (i + 1 < s->n && isfinite(s->v[i + 1])))
			continue;
		cairo_new_sub_path(cr);
		cairo_arc(cr, x_of(c, (double)s->t[i]), y_of(c, s->v[i]), 2.8 * c->s, 0, 2 * M_PI);
	}
	cairo_fill(cr);
}

/* ---- bands: reduced per pixel column to the lowest lo and highest hi ---- */

static void draw_band(const struct chart *c, cairo_t *cr, size_t bi)
{
	const struct chart_band *b = &c->spec->bands[bi];
	size_t i0, i1, i, m = 0, a, k;
	double *x, *lo, *hi, xi;
	bool *brk, gap = true;
	long col, prev_col = 0;

	if (b->n == 0)
		return;
	visible(c, b->t, b->n, &i0, &i1);
	if (i1 <= i0)
		return;
	x = xcalloc(i1 - i0, sizeof(*x));
	lo = xcalloc(i1 - i0, sizeof(*lo));
	hi = xcalloc(i1 - i0, sizeof(*hi));
	brk = xcalloc(i1 - i0, sizeof(*brk));   /* brk[k]: a gap before point k */
	for (i = i0; i < i1; i++) {
		if (!isfinite(b->lo[i]) || !isfinite(b->hi[i])) {
			gap = true;
			continue;
		}
		xi = x_of(c, (double)b->t[i]);
		col = (long)floor(xi - c->px);
		if (!gap && m > 0 && col == prev_col) {
			lo[m - 1] = fmin(lo[m - 1], fmin(b->lo[i], b->hi[i]));
			hi[m - 1] = fmax(hi[m - 1], fmax(b->lo[i], b->hi[i]));
			continue;
		}
		x[m] = xi;
		lo[m] = fmin(b->lo[i], b->hi[i]);
		hi[m] = fmax(b->lo[i], b->hi[i]);
		brk[m] = gap;
		gap = false;
		prev_col = col;
		m++;
	}
	color(cr, palette[b->color], b->opacity > 0 ? b->opacity : 0.25);
	for (a = 0; a < m; a = k) {
		for (k = a + 1; k < m && !brk[k]; k++)
			;
		area(c, cr, x, hi, lo, a, k);
	}
	cairo_fill(cr);
	free(x);
	free(lo);
	free(hi);
	free(brk);
}

/* ---- stacked areas: one grid, reduced per pixel column to its means ---- */

static void draw_stacked(const struct chart *c, cairo_t *cr)
{
	const struct chart_spec *sp = c->spec;
	const struct chart_series *s0 = &sp->series[0];
	size_t ns = sp->nseries, i0, i1, i, k, m = 0, a, e, j;
	double *x, *val, *cum, *top, *cnt;
	bool *ok;
	long col, prev_col = 0;

	if (ns == 0 || s0->n == 0)
		return;
	visible(c, s0->t, s0->n, &i0, &i1);
	if (i1 <= i0)
		return;
	x = xcalloc(i1 - i0, sizeof(*x));
	cnt = xcalloc(i1 - i0, sizeof(*cnt));
	ok = xcalloc(i1 - i0, sizeof(*ok));
	cum = xcalloc(i1 - i0, sizeof(*cum));
	top = xcalloc(i1 - i0, sizeof(*top));
	val = xcalloc(i1 - i0, ns * sizeof(*val));
	for (i = i0; i < i1; i++) {
		double xi = x_of(c, (double)s0->t[i]);
		bool finite = false;

		col = (long)floor(xi - c->px);
		if (m == 0 || col != prev_col) {
			m++;
			prev_col = col;
		}
		x[m - 1] += xi;
		cnt[m - 1] += 1;
		for (k = 0; k < ns; k++) {
			if (isfinite(sp->series[k].v[i]))
				finite = true;
			val[(m - 1) * ns + k] += val_clamped(sp->series[k].v[i]);
		}
		if (finite)
			ok[m - 1] = true;
	}
	for (j = 0; j < m; j++) {
		double total = 0;

		x[j] /= cnt[j];
		for (k = 0; k < ns; k++) {
			val[j * ns + k] /= cnt[j];
			total += val[j * ns + k];
		}
		if (sp->mode == CHART_MODE_SHARES) {
			if (!(total > 0))
				ok[j] = false;
			else
				for (k = 0; k < ns; k++)
					val[j * ns + k] *= 100 / total;
		}
	}
	for (k = 0; k < ns; k++) {
		for (j = 0; j < m; j++)
			top[j] = cum[j] + val[j * ns + k];
		color(cr, palette[series_color(c, k)], 1);
		for (a = 0; a < m; a = e) {
			if (!ok[a]) {
				e = a + 1;
				continue;
			}
			for (e = a + 1; e < m && ok[e]; e++)
				;
			area(c, cr, x, top, cum, a, e);
		}
		cairo_fill(cr);
		memcpy(cum, top, m * sizeof(*cum));
	}
	/* thin white seams between layers help where colours are close; on
	 * dense data (under 3 pixels a point) they would only add noise */
	if ((double)m * 3 > c->pw)
		ns = 1;
	cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
	cairo_set_line_width(cr, 0.8 * c->s);
	for (j = 0; j < m; j++)
		cum[j] = 0;
	for (k = 0; k + 1 < ns; k++) {
		for (j = 0; j < m; j++)
			cum[j] += val[j * ns + k];
		for (a = 0; a < m; a = e) {
			if (!ok[a]) {
				e = a + 1;
				continue;
			}
			for (e = a + 1; e < m && ok[e]; e++)
				;
			for (i = a; i < e; i++)
				(i == a ? cairo_move_to : cairo_line_to)(cr, x[i], y_of(c, cum[i]));
		}
		cairo_stroke(cr);
	}
	free(x);
	free(cnt);
	free(ok);
	free(cum);
	free(top);
	free(val);
}

static void draw_markers(const struct chart *c, cairo_t *cr)
{
	static const enum chart_dash marker_dash[] = {
		CHART_DASH_DASHED, CHART_DASH_DOTTED, CHART_DASH_DASHDOT,
	};
	double s = c->s, x, top, asc, hgt;
	size_t m;

	font_box(cr, 12 * s, false, &asc, &hgt);
	for (m = 0; m < c->spec->nmarkers; m++) {
		if (c->marker_row[m] < 0)
			continue;
		x = round(x_of(c, (double)c->spec->markers[m].t)) + 0.5;
		top = c->py - (c->marker_row[m] + 1) * c->marker_row_h;
		color(cr, ink, 0.85);
		cairo_set_line_width(cr, 1.4 * s);
		dash(cr, marker_dash[m % 3], s);
		cairo_move_to(cr, x, top + 2 * s);
		cairo_line_to(cr, x, c->py + c->ph);
		cairo_stroke(cr);
		color(cr, ink, 1);
		show(cr, c->marker_lx[m], top + (c->marker_row_h - hgt) / 2 + asc, c->marker_label[m]);
	}
	cairo_set_dash(cr, NULL, 0, 0);
}

static void draw_legend(const struct chart *c, cairo_t *cr)
{
	struct legend_entry e[LEGEND_MAX] = { 0 };   /* gcc -O3 cannot see legend_entries fill it */
	double ex[LEGEND_MAX], s = c->s, cy, asc, hgt;
	int erow[LEGEND_MAX];
	size_t n = legend_entries(c, e), i;

	legend_place(cr, c, e, n, ex, erow);
	font_box(cr, 13 * s, false, &asc, &hgt);
	for (i = 0; i < n; i++) {
		cy = c->legend_top + erow[i] * c->legend_row_h + c->legend_row_h / 2;
		if (e[i].band) {
			const struct chart_band *b = &c->spec->bands[e[i].idx];

			color(cr, palette[b->color], b->opacity > 0 ? b->opacity : 0.25);
			cairo_rectangle(cr, ex[i], cy - 6 * s, SWATCH_W * s, 12 * s);
			cairo_fill(cr);
		} else if (c->spec->mode != CHART_MODE_LINES) {
			color(cr, palette[series_color(c, e[i].idx)], 1);
			cairo_rectangle(cr, ex[i], cy - 6 * s, SWATCH_W * s, 12 * s);
			cairo_fill(cr);
		} else {
			color(cr, palette[series_color(c, e[i].idx)], 1);
			cairo_set_line_width(cr, 2.6 * s);
			dash(cr, c->spec->series[e[i].idx].dash, s);
			cairo_move_to(cr, ex[i], cy);
			cairo_line_to(cr, ex[i] + SWATCH_W * s, cy);
			cairo_stroke(cr);
			cairo_set_dash(cr, NULL, 0, 0);
		}
		color(cr, ink, 1);
		show(cr, ex[i] + (SWATCH_W + 7) * s, cy - hgt / 2 + asc, e[i].name);
	}
}

static void draw(struct chart *c, cairo_t *cr)
{
	double s = c->s, asc, hgt;
	char line[TEXT_CAP];
	size_t i;

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	draw_axes(c, cr);

	cairo_save(cr);
	cairo_rectangle(cr, c->px - 3 * s, c->py - 3 * s, c->pw + 6 * s, c->ph + 6 * s);
	cairo_clip(cr);
	if (c->have_data) {
		for (i = 0; i < c->spec->nbands; i++)
			draw_band(c, cr, i);
		if (c->spec->mode == CHART_MODE_LINES)
			for (i = 0; i < c->spec->nseries; i++)
				draw_line_series(c, cr, i);
		else
			draw_stacked(c, cr);
	}
	cairo_restore(cr);
	draw_markers(c, cr);
	if (!c->have_data) {
		font_box(cr, 16 * s, false, &asc, &hgt);
		color(cr, muted, 1);
		show(cr, c->px + c->pw / 2 - text_w(cr, "no data") / 2,
		     c->py + c->ph / 2 - hgt / 2 + asc, "no data");
	}
	draw_legend(c, cr);
	if (c->title[0]) {
		font(cr, 20 * s, true);
		fit(cr, c->title, c->w - 2 * c->pad, line);
		color(cr, ink, 1);
		show(cr, c->pad, c->title_base, line);
	}
	if (c->subtitle[0]) {
		font(cr, 14 * s, false);
		fit(cr, c->subtitle, c->w - 2 * c->pad, line);
		color(cr, muted, 1);
		show(cr, c->pad, c->subtitle_base, line);
	}
}

/*
 * spec_digest: a hash of everything that shapes the drawing. cairo numbers
 * glyphs glyph0-1, glyph0-2, ... afresh in every SVG, so two SVGs inlined
 * in one page clash; ids prefixed with this digest differ between charts
 * that differ, and charts that do not differ have the same glyphs anyway.
 */
static uint64_t spec_digest(const struct chart_spec *sp)
{
	uint64_t h = 0x63686172745f6964ULL;   /* "chart_id" */
	int64_t nums[5] = { sp->mode, sp->width, sp->height, sp->t_from, sp->t_to };
	const char *texts[4] = { sp->title, sp->subtitle, sp->x_label, sp->y_label };
	size_t i;

#define HASH_STR(str) do { if (str) h = hash64((str), strlen(str) + 1, h); \
			   else h = hash_mix(h + 1); } while (0)
	h = hash64(nums, sizeof(nums), h);
	for (i = 0; i < 4; i++)
		HASH_STR(texts[i]);
	for (i = 0; i < sp->nseries; i++) {
		const struct chart_series *s = &sp->series[i];

		HASH_STR(s->name);
		h = hash64(s->t, s->n * sizeof(*s->t), hash_mix(h + s->n));
		h = hash64(s->v, s->n * sizeof(*s->v), h ^ (uint64_t)(s->color * 16 + s->dash));
	}
	for (i = 0; i < sp->nbands; i++) {
		const struct chart_band *b = &sp->bands[i];

		HASH_STR(b->name);
		h = hash64(b->t, b->n * sizeof(*b->t), hash_mix(h + b->n));
		h = hash64(b->lo, b->n * sizeof(*b->lo), h);
		h = hash64(b->hi, b->n * sizeof(*b->hi), h ^ (uint64_t)b->color);
		h = hash64(&b->opacity, sizeof(b->opacity), h);
	}
	for (i = 0; i < sp->nmarkers; i++) {
		HASH_STR(sp->markers[i].label);
		h = hash64(&sp->markers[i].t, sizeof(sp->markers[i].t), h);
	}
#undef HASH_STR
	return h;
}

/* ---- setup shared by every entry point ---- */

static void prepare(struct chart *c, const struct chart_spec *sp)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->spec = sp;
	c->w = sp->width ? sp->width : CHART_WIDTH_DEFAULT;
	c->h = sp->height ? sp->height : CHART_HEIGHT_DEFAULT;
	c->s = fmin(c->w / (double)CHART_WIDTH_DEFAULT, c->h / (double)CHART_HEIGHT_DEFAULT);
	c->s = fmax(0.6, fmin(c->s, 3.0));
	clean_text(sp->title, CHART_TEXT_MAX, c->title);
	clean_text(sp->subtitle, CHART_TEXT_MAX, c->subtitle);
	clean_text(sp->x_label ? sp->x_label : "time (UTC)", CHART_TEXT_MAX, c->x_label);
	clean_text(sp->y_label ? sp->y_label : sp->mode == CHART_MODE_SHARES ? "share of total" : NULL,
		   CHART_TEXT_MAX, c->y_label);
	for (i = 0; i < sp->nseries; i++)
		clean_text(sp->series[i].name, CHART_NAME_MAX, c->series_name[i]);
	for (i = 0; i < sp->nbands; i++)
		clean_text(sp->bands[i].name, CHART_NAME_MAX, c->band_name[i]);
	for (i = 0; i < sp->nmarkers; i++)
		clean_text(sp->markers[i].label, CHART_NAME_MAX, c->marker_label[i]);
	if (sp->svg_id_prefix)
		clean_text(sp->svg_id_prefix, CHART_PREFIX_MAX, c->prefix);
	else
		snprintf(c->prefix, sizeof(c->prefix), "c%012llx-",
			 (unsigned long long)(spec_digest(sp) >> 16));
	x_range(c);
	y_range(c);
}

static void text_options(cairo_t *cr)
{
	cairo_font_options_t *fo = cairo_font_options_create();

	/* unhinted metrics: the same text widths on the image and SVG surfaces */
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
	cairo_set_font_options(cr, fo);
	cairo_font_options_destroy(fo);
}

/* ---- SVG: the stream filter and its <title>/<desc> ---- */

struct svg_filter {
	struct buf *out;
	struct buf head;     /* inserted after the root start tag */
	struct buf attrs;    /* inserted into the root start tag */
	const char *prefix;  /* prepended to ids and id references */
	size_t prefix_len;
	int state;           /* 0: before "<svg", 1: in its start tag, 2: past it */
	char quote;          /* the open quote inside the root start tag */
	bool inserted;
	char win[8];         /* the last bytes written, for pattern matching */
};

/* ends_with: whether the window of the last 8 bytes ends with pat */
static bool ends_with(const char win[8], const char *pat)
{
	size_t n = strlen(pat);

	return memcmp(win + 8 - n, pat, n) == 0;
}

static cairo_status_t svg_write(void *closure, const unsigned char *data, unsigned int len)
{
	struct svg_filter *f = closure;
	unsigned int i;
	char ch;

	for (i = 0; i < len; i++) {
		ch = (char)data[i];
		memmove(f->win, f->win + 1, sizeof(f->win) - 1);
		f->win[sizeof(f->win) - 1] = ch;
		if (f->state == 1) {
			if (f->quote) {
				if (ch == f->quote)
					f->quote = 0;
			} else if (ch == '"' || ch == '\'') {
				f->quote = ch;
			} else if (ch == '>') {
				f->state = 2;
				if (f->out->len > 0 && f->out->data[f->out->len - 1] != '/') {
					buf_add(f->out, f->attrs.data, f->attrs.len);
					buf_addch(f->out, '>');
					buf_add(f->out, f->head.data, f->head.len);
					f->inserted = true;
					continue;
				}
			}
		}
		buf_addch(f->out, ch);
		if (f->state == 0 && ends_with(f->win, "<svg"))
			f->state = 1;
		if (f->prefix_len && (ends_with(f->win, " id=\"") || ends_with(f->win, "href=\"#") ||
				      ends_with(f->win, "url(#")))
			buf_add(f->out, f->prefix, f->prefix_len);
	}
	return CAIRO_STATUS_SUCCESS;
}

static void svg_head(const struct chart *c, struct svg_filter *f)
{
	const struct chart_spec *sp = c->spec;
	char a[TIME_ISO_LEN + 4], b[TIME_ISO_LEN + 4];
	const char *title = c->title[0] ? c->title : "Time-series chart";
	size_t i, n;

	buf_printf(&f->attrs, " role=\"img\" aria-labelledby=\"%schart-title %schart-desc\"",
		   c->prefix, c->prefix);
	buf_printf(&f->head, "\n<title id=\"%schart-title\">", c->prefix);
	xml_escape(&f->head, title);
	buf_printf(&f->head, "</title>\n<desc id=\"%schart-desc\">", c->prefix);
	xml_escape(&f->head, title);
	buf_addstr(&f->head, ".");
	if (c->subtitle[0]) {
		buf_addch(&f->head, ' ');
		xml_escape(&f->head, c->subtitle);
		buf_addstr(&f->head, ".");
	}
	buf_addstr(&f->head, sp->mode == CHART_MODE_LINES ? " Lines: " :
		   sp->mode == CHART_MODE_STACKED ? " Stacked areas: " : " Shares of total (stacked to 100 %): ");
	for (i = n = 0; i < sp->nseries; i++) {
		if (!c->series_name[i][0])
			continue;
		buf_addstr(&f->head, n++ ? ", " : "");
		xml_escape(&f->head, c->series_name[i]);
	}
	buf_addstr(&f->head, n ? "." : "none.");
	if (sp->nbands) {
		buf_addstr(&f->head, " Bands: ");
		for (i = n = 0; i < sp->nbands; i++) {
			if (!c->band_name[i][0])
				continue;
			buf_addstr(&f->head, n++ ? ", " : "");
			xml_escape(&f->head, c->band_name[i]);
		}
		buf_addstr(&f->head, n ? "." : "unnamed.");
	}
	if (c->y_label[0]) {
		buf_addstr(&f->head, " Y axis: ");
		xml_escape(&f->head, c->y_label);
		buf_addstr(&f->head, ".");
	}
	if (c->have_times)
		buf_printf(&f->head, " Time range: %s to %s.", time_format_human(c->from, a),
			   time_format_human(c->to, b));
	if (!c->have_data)
		buf_addstr(&f->head, " No data.");
	for (i = 0; i < sp->nmarkers; i++) {
		buf_addstr(&f->head, i == 0 ? " Events: " : "; ");
		xml_escape(&f->head, c->marker_label[i][0] ? c->marker_label[i] : "event");
		buf_printf(&f->head, " at %s", time_format_human(sp->markers[i].t, a));
		if (!in_range(c, sp->markers[i].t))
			buf_addstr(&f->head, " (outside the plotted range)");
	}
	if (sp->nmarkers)
		buf_addstr(&f->head, ".");
	buf_addstr(&f->head, "</desc>\n");
}

static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int len)
{
	buf_add(closure, data, len);
	return CAIRO_STATUS_SUCCESS;
}

/* ---- entry points ---- */

static enum chart_status finish(cairo_t *cr, cairo_surface_t *surface, char *err, size_t errlen)
{
	cairo_status_t st = cairo_status(cr);

	cairo_destroy(cr);
	if (st == CAIRO_STATUS_SUCCESS) {
		cairo_surface_flush(surface);
		st = cairo_surface_status(surface);
	}
	if (st != CAIRO_STATUS_SUCCESS)
		return fail(err, errlen, CHART_ECAIRO, "cairo: %s", cairo_status_to_string(st));
	return CHART_OK;
}

enum chart_status chart_render_buf(const struct chart_spec *spec, enum chart_format fmt,
				   struct buf *out, char *err, size_t errlen)
{
	struct chart *c;
	struct buf bytes = BUF_INIT;
	struct svg_filter f = { 0 };
	cairo_surface_t *surface;
	cairo_status_t cst;
	cairo_t *cr;
	enum chart_status st;

	if (!out)
		return fail(err, errlen, CHART_EINVAL, "no output buffer");
	if (fmt != CHART_PNG && fmt != CHART_SVG)
		return fail(err, errlen, CHART_EINVAL, "unknown chart format %d", (int)fmt);
	if ((st = validate(spec, err, errlen)) != CHART_OK)
		return st;
	c = xcalloc(1, sizeof(*c));
	prepare(c, spec);
	if (fmt == CHART_PNG) {
		surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, c->w, c->h);
	} else {
		buf_init(&f.head);
		buf_init(&f.attrs);
		f.out = &bytes;
		f.prefix = c->prefix;
		f.prefix_len = strlen(c->prefix);
		surface = cairo_svg_surface_create_for_stream(svg_write, &f, c->w, c->h);
		cairo_svg_surface_restrict_to_version(surface, CAIRO_SVG_VERSION_1_1);
		cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX);
	}
	cr = cairo_create(surface);
	text_options(cr);
	st = layout(c, cr, err, errlen);
	if (st == CHART_OK) {
		if (fmt == CHART_SVG)
			svg_head(c, &f);
		draw(c, cr);
		st = finish(cr, surface, err, errlen);
	} else {
		cairo_destroy(cr);
	}
	if (st == CHART_OK) {
		if (fmt == CHART_PNG) {
			cst = cairo_surface_write_to_png_stream(surface, png_write, &bytes);
			if (cst != CAIRO_STATUS_SUCCESS)
				st = fail(err, errlen, CHART_ECAIRO, "cairo: PNG: %s",
					  cairo_status_to_string(cst));
		} else {
			cairo_surface_finish(surface);
			cst = cairo_surface_status(surface);
			if (cst != CAIRO_STATUS_SUCCESS)
				st = fail(err, errlen, CHART_ECAIRO, "cairo: SVG: %s",
					  cairo_status_to_string(cst));
			else if (!f.inserted)
				st = fail(err, errlen, CHART_ECAIRO,
					  "SVG from cairo has no root element to describe");
		}
	}
	cairo_surface_destroy(surface);
	buf_free(&f.head);
	buf_free(&f.attrs);
	free(c);
	if (st == CHART_OK)
		buf_add(out, bytes.data, bytes.len);
	buf_free(&bytes);
	return st;
}

enum chart_status chart_render(const struct chart_spec *spec, enum chart_format fmt,
			       const char *path, char *err, size_t errlen)
{
	struct buf bytes = BUF_INIT;
	enum chart_status st;
	FILE *fp;
	bool ok;

	if (!path || !*path)
		return fail(err, errlen, CHART_EINVAL, "no output path");
	st = chart_render_buf(spec, fmt, &bytes, err, errlen);
	if (st != CHART_OK) {
		buf_free(&bytes);
		return st;
	}
	fp = fopen(path, "wb");
	if (!fp) {
		st = fail(err, errlen, CHART_EIO, "%.200s: %s", path, strerror(errno));
		buf_free(&bytes);
		return st;
	}
	ok = fwrite(bytes.data, 1, bytes.len, fp) == bytes.len;
	ok = (fflush(fp) == 0) && ok;
	if (!ok)
		st = fail(err, errlen, CHART_EIO, "%.200s: %s", path, strerror(errno));
	if (fclose(fp) != 0 && st == CHART_OK)
		st = fail(err, errlen, CHART_EIO, "%.200s: %s", path, strerror(errno));
	buf_free(&bytes);
	return st;
}

enum chart_status chart_plot_area(const struct chart_spec *spec, double *x, double *y,
				  double *w, double *h, char *err, size_t errlen)
{
	struct chart *c;
	cairo_surface_t *surface;
	cairo_t *cr;
	enum chart_status st;

	if ((st = validate(spec, err, errlen)) != CHART_OK)
		return st;
	c = xcalloc(1, sizeof(*c));
	prepare(c, spec);
	surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
	cr = cairo_create(surface);
	text_options(cr);
	st = layout(c, cr, err, errlen);
	if (st == CHART_OK) {
		*x = c->px;
		*y = c->py;
		*w = c->pw;
		*h = c->ph;
	}
	cairo_destroy(cr);
	cairo_surface_destroy(surface);
	free(c);
	return st;
}
