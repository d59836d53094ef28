/*
 * html.c - the report as one self-contained HTML file (inline SVG charts,
 * no script, no network fetch) plus every chart as PNG and SVG beside it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "render/chart.h"
#include "render/figures.h"
#include "render/format.h"
#include "render/render.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/banned.h"

/* num_cell: a number's cell, or "-" when it is not one (NaN: too few hours) */
static void num_cell(struct buf *h, const char *fmt, double v)
{
	buf_addstr(h, "<td>");
	if (isfinite(v))
		buf_printf(h, fmt, v);
	else
		buf_addstr(h, "-");
	buf_addstr(h, "</td>");
}

static void esc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_addstr(b, "&amp;"); break;
		case '<': buf_addstr(b, "&lt;"); break;
		case '>': buf_addstr(b, "&gt;"); break;
		case '"': buf_addstr(b, "&quot;"); break;
		default: buf_addch(b, *s);
		}
	}
}

static const char style[] =
	"body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1240px;margin:2em auto;"
	"padding:0 1em;color:#222;line-height:1.45}"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;"
	"border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse;margin:.5em 0;font-size:.9em}"
	"th,td{padding:.25em .7em;border-bottom:1px solid #e4e4e4;text-align:right}"
	"th:first-child,td:first-child{text-align:left}"
	"figure{margin:1.5em 0}figcaption{color:#555;font-size:.9em}"
	"figure svg{width:100%;height:auto;border:1px solid #eee}"
	".summary li{margin:.3em 0}.muted{color:#777}";

static bool write_file(const char *path, const struct buf *b, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return false;
	}
	return true;
}

static void pct(struct buf *h, double v)
{
	buf_printf(h, "<td>%.1f %%</td>", 100 * v);
}

int render_html(const struct report *r, const char *dir, char *err, size_t errlen)
{
	struct figure figs[FIGURES_MAX];
	size_t nfig = 0, i, k;
	struct buf h = BUF_INIT, svg = BUF_INIT, path = BUF_INIT, sum = BUF_INIT;
	char from[24], to[24], b1[32], b2[32], b3[32], b4[32];
	int rc = -1;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	buf_addstr(&h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width\">");
	if (r->has_period) {
		time_format_human(r->from, from);
		time_format_human(r->to, to);
	} else {
		snprintf(from, sizeof(from), "-");
		snprintf(to, sizeof(to), "-");
	}
	buf_printf(&h, "<title>spamtide report, %s to %s</title><style>%s</style></head><body>\n",
		   from, to, style);
	buf_printf(&h, "<h1>spamtide report</h1><p class=\"muted\">%s to %s, share of %s</p>\n",
		   from, to, analysis_unit_name(r->unit));

	/* the findings in sentences */
	report_summary(r, &sum);
	buf_addstr(&h, "<h2>Findings</h2><ul class=\"summary\">");
	{
		char *line = sum.data, *nl;

		while (*line && (nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			buf_addstr(&h, "<li>");
			esc(&h, line);
			buf_addstr(&h, "</li>");
			line = nl + 1;
		}
	}
	buf_addstr(&h, "</ul>\n");

	/* the charts: files beside the page, SVG inline */
	nfig = figures_build(r, figs);
	if (nfig)
		buf_addstr(&h, "<h2>Charts</h2>\n");
	for (i = 0; i < nfig; i++) {
		const char *p;

		buf_reset(&path);
		buf_printf(&path, "%s/%s.png", dir, figs[i].name);
		if (chart_render(&figs[i].spec, CHART_PNG, path.data, err, errlen) != CHART_OK)
			goto out;
		buf_reset(&path);
		buf_printf(&path, "%s/%s.svg", dir, figs[i].name);
		buf_reset(&svg);
		if (chart_render_buf(&figs[i].spec, CHART_SVG, &svg, err, errlen) != CHART_OK ||
		    !write_file(path.data, &svg, err, errlen))
			goto out;
		/* inline: without the XML declaration */
		p = svg.data;
		if (strncmp(p, "<?xml", 5) == 0 && strchr(p, '>'))
			p = strchr(p, '>') + 1;
		buf_addstr(&h, "<figure>");
		buf_addstr(&h, p);
		buf_addstr(&h, "<figcaption>");
		esc(&h, figs[i].caption);
		buf_printf(&h, " (<a href=\"%s.png\">PNG</a>, <a href=\"%s.svg\">SVG</a>)</figcaption>"
			   "</figure>\n", figs[i].name, figs[i].name);
	}

	/* events with their impact */
	buf_addstr(&h, "<h2>Events</h2>");
	if (!r->nevents) {
		buf_addstr(&h, "<p>No family ceased, resumed, dropped or surged in this period.</p>\n");
	} else {
		buf_addstr(&h, "<table><tr><th>family</th><th>event</th><th>at (UTC)</th>"
			       "<th>before /h</th><th>after /h</th><th>confidence</th>"
			       "<th>total, day over day</th><th>the day after, vs as usual</th><th>95 % interval</th></tr>\n");
		for (i = 0; i < r->nevents; i++) {
			const struct report_event *e = &r->events[i];
			char at[24];

			buf_addstr(&h, "<tr><td>");
			esc(&h, e->family);
			buf_printf(&h, "</td><td>%s</td><td>%s</td><td>%.0f</td><td>%.0f</td><td>%.3f</td>",
				   e->type, time_format_human(e->at, at), e->before_rate_per_hour,
				   e->after_rate_per_hour, e->confidence);
			if (e->impact.known && isfinite(e->impact.day_over_day))
				buf_printf(&h, "<td>%+.1f %%</td>", 100 * e->impact.day_over_day);
			else
				buf_addstr(&h, "<td>-</td>");
			if (e->impact.known && isfinite(e->impact.vs_baseline))
				buf_printf(&h, "<td>%+.1f %% (%.0f h)</td><td>%+.1f %% to %+.1f %%</td>",
					   100 * e->impact.vs_baseline, e->impact.hours, 100 * e->impact.lo95,
					   100 * e->impact.hi95);
			else
				buf_addstr(&h, "<td>-</td><td>-</td>");
			buf_addstr(&h, "</tr>\n");
		}
		buf_addstr(&h, "</table>\n");
	}

	/* shares and consistency */
	buf_printf(&h, "<h2>Families</h2><table><tr><th>family</th><th>messages</th><th>share of %s</th>"
		       "<th>recipients</th><th>bytes</th><th>clients</th><th>hourly CV</th>"
		       "<th>peak / median</th><th>daily autocorrelation</th></tr>\n",
		   analysis_unit_name(r->unit));
	for (i = 0; i < r->nfamilies; i++) {
		const struct report_family *f = &r->families[i];

		buf_addstr(&h, "<tr><td>");
		esc(&h, f->name);
		buf_printf(&h, "</td><td>%s</td>", render_grouped(f->t.messages, b1, sizeof(b1)));
		pct(&h, f->share);
		buf_printf(&h, "<td>%s</td><td>%s</td><td>%s</td>", render_grouped(f->t.recipients, b2, sizeof(b2)),
			   render_grouped(f->t.bytes, b3, sizeof(b3)), render_grouped(f->t.clients, b4, sizeof(b4)));
		if (f->consistency.known) {
			num_cell(&h, "%.2f", f->consistency.cv_hourly);
			num_cell(&h, "%.1f", f->consistency.peak_to_median);
			num_cell(&h, "%.2f", f->consistency.diurnal_acf);
		} else {
			buf_addstr(&h, "<td>-</td><td>-</td><td>-</td>");
		}
		buf_addstr(&h, "</tr>\n");
	}
	buf_addstr(&h, "</table>\n");

	/* daily table */
	buf_addstr(&h, "<h2>Daily volume (messages)</h2><table><tr><th>date</th><th>total</th>"
		       "<th>change</th>");
	for (k = 0; k < r->nfamilies; k++) {
		buf_addstr(&h, "<th>");
		esc(&h, r->families[k].name);
		buf_addstr(&h, "</th>");
	}
	buf_addstr(&h, "</tr>\n");
	for (i = 0; i < r->ndays; i++) {
		const struct report_day *d = &r->days[i];
		char dt[11];

		buf_printf(&h, "<tr><td>%s%s</td><td>%s</td>", time_format_date(d->date, dt),
			   d->partial ? " (part of the day)" : "", render_grouped(d->total, b1, sizeof(b1)));
		if (d->has_change && isfinite(d->change))
			buf_printf(&h, "<td>%+.1f %%</td>", 100 * d->change);
		else
			buf_addstr(&h, "<td>-</td>");
		for (k = 0; k < r->nfamilies; k++)
			buf_printf(&h, "<td>%s</td>", render_grouped(d->by_family[k], b1, sizeof(b1)));
		buf_addstr(&h, "</tr>\n");
	}
	buf_addstr(&h, "</table>\n");

	/* campaigns */
	buf_addstr(&h, "<h2>Largest campaigns</h2>");
	if (!r->ncampaigns) {
		buf_addstr(&h, "<p>None in this period.</p>\n");
	} else {
		buf_addstr(&h, "<table><tr><th>campaign</th><th>messages</th><th>families</th></tr>\n");
		for (i = 0; i < r->ncampaigns; i++) {
			const struct report_campaign *c = &r->campaigns[i];

			buf_addstr(&h, "<tr><td>");
			esc(&h, c->id);
			buf_printf(&h, "</td><td>%s</td><td>", render_grouped(c->messages, b1, sizeof(b1)));
			for (k = 0; k < c->nfamilies; k++) {
				if (k)
					buf_addstr(&h, ", ");
				esc(&h, c->family[k]);
				buf_printf(&h, " %s", render_grouped(c->count[k], b2, sizeof(b2)));
			}
			buf_addstr(&h, "</td></tr>\n");
		}
		buf_addstr(&h, "</table>\n");
	}

	/* projection */
	if (r->nprojection) {
		buf_printf(&h, "<h2>Projection</h2><p>Total messages per day%s%s%s.</p><table><tr>"
			       "<th>date</th><th>expected</th><th>80 %% interval</th><th>95 %% interval</th>"
			       "</tr>\n", r->without ? " without " : "",
			   r->without ? r->without : "", r->scale != 1 ? ", scaled to global volume" : "");
		for (i = 0; i < r->nprojection; i++) {
			const struct report_projection_point *p = &r->projection[i];
			char dt[11];

			buf_printf(&h, "<tr><td>%s</td><td>%.0f</td><td>%.0f to %.0f</td><td>%.0f to %.0f</td>"
				       "</tr>\n", time_format_date(p->date, dt), p->total, p->lo80, p->hi80,
				   p->lo95, p->hi95);
		}
		buf_addstr(&h, "</table>\n");
	}
	buf_addstr(&h, "<p class=\"muted\">Made by spamtide " SPAMTIDE_VERSION ".</p></body></html>\n");

	buf_reset(&path);
	buf_printf(&path, "%s/report.html", dir);
	if (!write_file(path.data, &h, err, errlen))
		goto out;
	rc = 0;
out:
	figures_free(figs, nfig);
	buf_free(&h);
	buf_free(&svg);
	buf_free(&path);
	buf_free(&sum);
	return rc;
}
