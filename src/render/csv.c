/*
 * csv.c - the series as CSV: a header row, then one row per bucket with the
 * total and a column per family (RFC 4180 quoting of names).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "render/render.h"
#include "util/timeutil.h"
#include "util/banned.h"

static void field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

int render_csv(const struct report *r, FILE *out)
{
	size_t i, k;
	char t[TIME_ISO_LEN];

	fputs("t,total", out);
	for (k = 0; k < r->nfamilies; k++) {
		fputc(',', out);
		field(out, r->families[k].name);
	}
	fputs("\r\n", out);
	for (i = 0; i < r->npoints; i++) {
		fprintf(out, "%s,%llu", time_format_iso(r->points[i].t, t),
			(unsigned long long)r->points[i].total);
		for (k = 0; k < r->nfamilies; k++)
			fprintf(out, ",%llu", (unsigned long long)(r->points[i].by_family ?
								  r->points[i].by_family[k] : 0));
		fputs("\r\n", out);
	}
	if (ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
