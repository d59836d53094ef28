/*
 * text.c - the report for people: sentences first, then tables.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render/format.h"
#include "render/render.h"
#include "util/timeutil.h"
#include "util/banned.h"

#define DAILY_COLUMNS 8     /* families in the daily table: it stays in 100 columns */

/* num: a number in its column, or "-" when it is not one (NaN: too few hours) */
static void num(FILE *out, const char *fmt, double v)
{
	if (isfinite(v))
		fprintf(out, fmt, v);
	else
		fputs("        -", out);
}

static void sentence_event(const struct report_event *e, struct buf *out)
{
	char at[24];

	time_format_human(e->at, at);
	if (strcmp(e->type, "ceased") == 0) {
		buf_printf(out, "%s ceased at %s (last message", e->family, at);
		/* 0 when 1 - confidence rounds to nothing: surer still */
		if (e->p_value >= 0 && e->p_value < 1e-9)
			buf_addstr(out, "; silence this long had probability < 1e-9 at its usual rate");
		else if (e->p_value > 0)
			buf_printf(out, "; silence this long had probability %.2g at its usual rate",
				   e->p_value);
		buf_printf(out, "); it sent %.0f an hour before.", e->before_rate_per_hour);
		if (e->impact.known && isfinite(e->impact.day_over_day))
			buf_printf(out, " Total spam changed by %+.1f %% from that day to the next.",
				   100 * e->impact.day_over_day);
		if (e->impact.known && isfinite(e->impact.vs_baseline))
			buf_printf(out, " In the %.0f hours after, total spam was %+.1f %% against what it "
				   "would have been had %s sent as usual in those hours (95 %% interval "
				   "%+.1f %% to %+.1f %%).", e->impact.hours, 100 * e->impact.vs_baseline,
				   e->family, 100 * e->impact.lo95, 100 * e->impact.hi95);
	} else if (strcmp(e->type, "resumed") == 0) {
		buf_printf(out, "%s resumed at %s (first message of the return), at %.0f an hour.",
			   e->family, at, e->after_rate_per_hour);
	} else {
		buf_printf(out, "%s: %s at about %s, from %.0f to %.0f an hour (%+.0f %%).", e->family,
			   strcmp(e->type, "drop") == 0 ? "output dropped" : "output surged", at,
			   e->before_rate_per_hour, e->after_rate_per_hour,
			   e->before_rate_per_hour > 0 ?
			   100 * (e->after_rate_per_hour / e->before_rate_per_hour - 1) : 0.0);
	}
	buf_addch(out, '\n');
}

/* a trap's downtime worth a sentence (the minute since its last sign of
 * life, at the end of a live store's period, is not) */
#define UNWATCHED_TOLD (10 * 60)

void report_summary(const struct report *r, struct buf *out)
{
	char b1[32], b2[32], b3[32], b4[32];
	size_t i;

	if (r->empty) {
		buf_addstr(out, "No messages are stored in this period.\n");
		return;
	}
	buf_printf(out, "%s messages (%s recipients, %s bytes) from %s client addresses reached "
		   "%zu sensor%s.\n", render_grouped(r->total.messages, b1, sizeof(b1)),
		   render_grouped(r->total.recipients, b2, sizeof(b2)), render_grouped(r->total.bytes, b3, sizeof(b3)),
		   render_grouped(r->total.clients, b4, sizeof(b4)), r->nsensors, r->nsensors == 1 ? "" : "s");
	if (r->data_to > r->data_from && (r->data_from > r->from || r->data_to < r->to)) {
		char a[24], b[24];

		time_format_human(r->data_from, a);
		time_format_human(r->data_to, b);
		buf_printf(out, "The store holds data for %s to %s of this period: the tables, series "
			   "and projection are of those days.\n", a, b);
	}
	if (r->unwatched >= UNWATCHED_TOLD)
		buf_printf(out, "No trap watched for %.1f hours of this period (%zu stretch%s): silence "
			   "there is not read as any family's.\n", (double)r->unwatched / 3600,
			   r->unwatched_spans, r->unwatched_spans == 1 ? "" : "es");
	if (r->nfamilies) {
		const struct report_family *top = &r->families[0];

		buf_printf(out, "The largest source by %s is %s, with %.1f %% of the total.\n",
			   analysis_unit_name(r->unit), top->name, 100 * top->share);
	}
	{
		const struct report_family *steady = NULL, *spiky = NULL;

		for (i = 0; i < r->nfamilies; i++) {
			const struct report_family *f = &r->families[i];

			if (!f->consistency.known || strcmp(f->name, "unknown") == 0 || f->share < 0.05)
				continue;
			if (!steady || f->consistency.cv_hourly < steady->consistency.cv_hourly)
				steady = f;
			if (!spiky || f->consistency.cv_hourly > spiky->consistency.cv_hourly)
				spiky = f;
		}
		if (steady && spiky && steady != spiky)
			buf_printf(out, "Among the large families, %s is the steadiest (hourly CV %.2f) "
				   "and %s the spikiest (hourly CV %.2f, peak %.1f times its median "
				   "hour).\n", steady->name, steady->consistency.cv_hourly, spiky->name,
				   spiky->consistency.cv_hourly, spiky->consistency.peak_to_median);
	}
	for (i = 0; i < r->nevents; i++)
		sentence_event(&r->events[i], out);
	if (!r->nevents)
		buf_addstr(out, "No family ceased, resumed, dropped or surged in this period.\n");
	if (r->nprojection) {
		const struct report_projection_point *p = &r->projection[r->nprojection - 1];
		char d[11];

		buf_printf(out, "Projected total messages%s%s on %s: %.0f a day (95 %% interval %.0f to "
			   "%.0f)%s.\n", r->without ? " without " : "",
			   r->without ? r->without : "", time_format_date(p->date, d), p->total,
			   p->lo95, p->hi95, r->scale != 1 ? ", scaled to global volume" : "");
	}
}

int render_text(const struct report *r, FILE *out)
{
	char from[24], to[24], b1[32], b2[32];
	size_t i, k, partial = 0;


	if (r->has_period) {
		time_format_human(r->from, from);
		time_format_human(r->to, to);
		fprintf(out, "spamtide report: %s to %s\n\n", from, to);
	} else {
		fputs("spamtide report: the store is empty\n\n", out);
	}
	{
		struct buf sum = BUF_INIT;

		report_summary(r, &sum);
		fputs(sum.data, out);
		buf_free(&sum);
	}
	if (r->empty)
		return ferror(out) ? -1 : 0;
	fprintf(out, "\nFamilies (share of %s):\n", analysis_unit_name(r->unit));
	fprintf(out, "  %-16s %12s %7s %12s %14s %9s %8s %8s %8s\n", "family", "messages", "share",
		"recipients", "bytes", "clients", "cv_hour", "peak/med", "acf24h");
	for (i = 0; i < r->nfamilies; i++) {
		const struct report_family *f = &r->families[i];
		char m[32], rc[32], by[32], cl[32];

		fprintf(out, "  %-16.16s %12s %6.1f%% %12s %14s %9s", f->name,
			render_grouped(f->t.messages, m, sizeof(m)), 100 * f->share,
			render_grouped(f->t.recipients, rc, sizeof(rc)), render_grouped(f->t.bytes, by, sizeof(by)),
			render_grouped(f->t.clients, cl, sizeof(cl)));
		if (f->consistency.known) {
			num(out, " %8.2f", f->consistency.cv_hourly);
			num(out, " %8.1f", f->consistency.peak_to_median);
			num(out, " %8.2f", f->consistency.diurnal_acf);
			fputc('\n', out);
		} else {
			fputs("        -        -        -\n", out);
		}
	}

	fputs("\nSensors:\n", out);
	for (i = 0; i < r->nsensors; i++)
		fprintf(out, "  %-24.24s %12s\n", r->sensors[i].name,
			render_grouped(r->sensors[i].messages, b1, sizeof(b1)));

	fprintf(out, "\nDaily totals (messages%s):\n",
		r->nfamilies > DAILY_COLUMNS ? "; the largest families: all are in --format json, csv "
		"or html" : "");
	fprintf(out, "  %-10s %10s %8s", "date", "total", "change");
	for (k = 0; k < r->nfamilies && k < DAILY_COLUMNS; k++)
		fprintf(out, " %10.10s", r->families[k].name);
	fputc('\n', out);
	for (i = 0; i < r->ndays; i++) {
		const struct report_day *d = &r->days[i];
		char dt[11];

		fprintf(out, "  %-10s%c%10s", time_format_date(d->date, dt), d->partial ? '*' : ' ',
			render_grouped(d->total, b1, sizeof(b1)));
		partial += d->partial;
		if (d->has_change && isfinite(d->change))
			fprintf(out, " %+7.1f%%", 100 * d->change);
		else
			fputs("        -", out);
		for (k = 0; k < r->nfamilies && k < DAILY_COLUMNS; k++)
			fprintf(out, " %10s", render_grouped(d->by_family[k], b2, sizeof(b2)));
		fputc('\n', out);
	}
	if (partial)
		fputs("  * part of the day: the period begins or ends in it (its change is not a "
		      "whole day's)\n", out);

	if (r->ncampaigns) {
		fputs("\nLargest campaigns:\n", out);
		for (i = 0; i < r->ncampaigns; i++) {
			const struct report_campaign *c = &r->campaigns[i];

			fprintf(out, "  %-22s %10s ", c->id, render_grouped(c->messages, b1, sizeof(b1)));
			for (k = 0; k < c->nfamilies; k++)
				fprintf(out, "%s%s %s", k ? ", " : "", c->family[k],
					render_grouped(c->count[k], b2, sizeof(b2)));
			fputc('\n', out);
		}
	}
	if (r->nprojection) {
		fprintf(out, "\nProjection of total messages per day%s%s%s",
			r->without ? " without " : "", r->without ? r->without : "",
			r->scale != 1 ? " (scaled to global volume)" : "");
		fputs(":\n", out);
		fprintf(out, "  %-10s %12s %25s %25s\n", "date", "expected", "80% interval", "95% interval");
		for (i = 0; i < r->nprojection; i++) {
			const struct report_projection_point *p = &r->projection[i];
			char dt[11];

			fprintf(out, "  %-10s %12.0f %12.0f - %10.0f %12.0f - %10.0f\n",
				time_format_date(p->date, dt), p->total, p->lo80, p->hi80, p->lo95, p->hi95);
		}
	}
	if (ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
