/*
 * text.c - the report for people: sentences first, then tables.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render/render.h"
#include "util/timeutil.h"
#include "util/banned.h"

/* 1234567 -> "1,234,567" */
static const char *grouped(uint64_t v, char *b, size_t n)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), i, o = 0;

	for (i = 0; i < len && (size_t)o + 2 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			b[o++] = ',';
		b[o++] = tmp[i];
	}
	b[o] = '\0';
	return b;
}

static uint64_t unit_value(const struct report_totals *t, enum report_unit u)
{
	switch (u) {
	case UNIT_MESSAGES: return t->messages;
	case UNIT_RECIPIENTS: return t->recipients;
	case UNIT_BYTES: return t->bytes;
	case UNIT_CLIENTS: return t->clients;
	}
	return 0;
}

static void sentence_event(const struct report_event *e, FILE *out)
{
	char at[24];

	time_format_human(e->at, at);
	if (strcmp(e->type, "ceased") == 0) {
		fprintf(out, "- %s ceased at %s (last message", e->family, at);
		if (e->p_value > 0 && e->p_value < 1e-9)
			fputs("; silence this long had probability < 1e-9 at its usual rate", out);
		else if (e->p_value > 0)
			fprintf(out, "; silence this long had probability %.2g at its usual rate", e->p_value);
		fprintf(out, "); it sent %.0f an hour before.", e->before_rate_per_hour);
		if (e->impact.known)
			fprintf(out, " Total spam changed by %+.1f %% from that day to the next, and by "
				"%+.1f %% against the usual level (95 %% interval %+.1f %% to %+.1f %%).",
				100 * e->impact.day_over_day, 100 * e->impact.vs_baseline,
				100 * e->impact.lo95, 100 * e->impact.hi95);
		fputc('\n', out);
	} else if (strcmp(e->type, "resumed") == 0) {
		fprintf(out, "- %s resumed at %s (first message of the return), at %.0f an hour.\n",
			e->family, at, e->after_rate_per_hour);
	} else {
		fprintf(out, "- %s: %s at about %s, from %.0f to %.0f an hour (%+.0f %%).\n",
			e->family, strcmp(e->type, "drop") == 0 ? "output dropped" : "output surged", at,
			e->before_rate_per_hour, e->after_rate_per_hour,
			e->before_rate_per_hour > 0 ?
			100 * (e->after_rate_per_hour / e->before_rate_per_hour - 1) : 0.0);
	}
}

int render_text(const struct report *r, FILE *out)
{
	char from[24], to[24], b1[32], b2[32];
	size_t i, k;

	if (r->has_period) {
		time_format_human(r->from, from);
		time_format_human(r->to, to);
		fprintf(out, "spamtide report: %s to %s\n\n", from, to);
	} else {
		fputs("spamtide report: the store is empty\n\n", out);
	}
	if (r->empty) {
		fputs("No messages are stored in this period.\n", out);
		return ferror(out) ? -1 : 0;
	}
	fprintf(out, "%s messages (%s recipients, %s bytes) from %s client addresses",
		grouped(r->total.messages, b1, sizeof(b1)), grouped(r->total.recipients, b2, sizeof(b2)),
		grouped(r->total.bytes, from, sizeof(from)), grouped(r->total.clients, to, sizeof(to)));
	fprintf(out, " reached %zu sensor%s.\n", r->nsensors, r->nsensors == 1 ? "" : "s");
	if (r->nfamilies) {
		const struct report_family *top = &r->families[0];

		fprintf(out, "The largest source by %s is %s, with %.1f %% of the total.\n",
			report_unit_name(r->unit), top->name, 100 * top->share);
	}
	{
		const struct report_family *steady = NULL, *spiky = NULL;

		for (i = 0; i < r->nfamilies; i++) {
			const struct report_family *f = &r->families[i];

			if (!f->consistency.known || strcmp(f->name, "unknown") == 0 ||
			    f->share < 0.05)
				continue;
			if (!steady || f->consistency.cv_hourly < steady->consistency.cv_hourly)
				steady = f;
			if (!spiky || f->consistency.cv_hourly > spiky->consistency.cv_hourly)
				spiky = f;
		}
		if (steady && spiky && steady != spiky)
			fprintf(out, "Among the large families, %s is the steadiest (hourly CV %.2f) and "
				"%s the spikiest (hourly CV %.2f, peak %.1f times its median hour).\n",
				steady->name, steady->consistency.cv_hourly, spiky->name,
				spiky->consistency.cv_hourly, spiky->consistency.peak_to_median);
	}
	if (r->nevents) {
		fputs("\nEvents:\n", out);
		for (i = 0; i < r->nevents; i++)
			sentence_event(&r->events[i], out);
	} else {
		fputs("\nNo family ceased, resumed, dropped or surged in this period.\n", out);
	}

	fprintf(out, "\nFamilies (share of %s):\n", report_unit_name(r->unit));
	fprintf(out, "  %-16s %12s %7s %12s %14s %9s %8s %8s %8s\n", "family", "messages", "share",
		"recipients", "bytes", "clients", "cv_hour", "peak/med", "acf24h");
	for (i = 0; i < r->nfamilies; i++) {
		const struct report_family *f = &r->families[i];
		char m[32], rc[32], by[32], cl[32];

		fprintf(out, "  %-16.16s %12s %6.1f%% %12s %14s %9s", f->name,
			grouped(f->t.messages, m, sizeof(m)), 100 * f->share,
			grouped(f->t.recipients, rc, sizeof(rc)), grouped(f->t.bytes, by, sizeof(by)),
			grouped(f->t.clients, cl, sizeof(cl)));
		if (f->consistency.known)
			fprintf(out, " %8.2f %8.1f %8.2f\n", f->consistency.cv_hourly,
				f->consistency.peak_to_median, f->consistency.diurnal_acf);
		else
			fputs("        -        -        -\n", out);
	}
	(void)unit_value;

	fputs("\nSensors:\n", out);
	for (i = 0; i < r->nsensors; i++)
		fprintf(out, "  %-24.24s %12s\n", r->sensors[i].name,
			grouped(r->sensors[i].messages, b1, sizeof(b1)));

	fputs("\nDaily totals:\n", out);
	fprintf(out, "  %-10s %10s %8s", "date", "total", "change");
	for (k = 0; k < r->nfamilies && k < 8; k++)
		fprintf(out, " %10.10s", r->families[k].name);
	fputc('\n', out);
	for (i = 0; i < r->ndays; i++) {
		const struct report_day *d = &r->days[i];
		char dt[11];

		fprintf(out, "  %-10s %10s", time_format_date(d->date, dt),
			grouped(d->total, b1, sizeof(b1)));
		if (d->has_change && isfinite(d->change))
			fprintf(out, " %+7.1f%%", 100 * d->change);
		else
			fputs("        -", out);
		for (k = 0; k < r->nfamilies && k < 8; k++)
			fprintf(out, " %10s", grouped(d->by_family[k], b2, sizeof(b2)));
		fputc('\n', out);
	}

	if (r->ncampaigns) {
		fputs("\nLargest campaigns:\n", out);
		for (i = 0; i < r->ncampaigns; i++) {
			const struct report_campaign *c = &r->campaigns[i];

			fprintf(out, "  %-22s %10s ", c->id, grouped(c->messages, b1, sizeof(b1)));
			for (k = 0; k < c->nfamilies; k++)
				fprintf(out, "%s%s %s", k ? ", " : "", c->family[k],
					grouped(c->count[k], b2, sizeof(b2)));
			fputc('\n', out);
		}
	}
	if (r->nprojection) {
		fprintf(out, "\nProjection of total %s per day%s%s%s", report_unit_name(r->unit),
			r->without ? " without " : "", r->without ? r->without : "",
			r->scale > 1 ? " (scaled to global volume)" : "");
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
