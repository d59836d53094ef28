/*
 * report.c - the report value: freeing and names; see render.h.
 */
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "util/banned.h"

void report_free(struct report *r)
{
	size_t i;

	for (i = 0; i < r->nsensors; i++)
		free(r->sensors[i].name);
	for (i = 0; i < r->nfamilies; i++)
		free(r->families[i].name);
	for (i = 0; i < r->nevents; i++) {
		free(r->events[i].family);
		free(r->events[i].type);
	}
	for (i = 0; i < r->ndays; i++)
		free(r->days[i].by_family);
	for (i = 0; i < r->npoints; i++)
		free(r->points[i].by_family);
	for (i = 0; i < r->ncampaigns; i++) {
		size_t k;

		for (k = 0; k < r->campaigns[i].nfamilies; k++)
			free(r->campaigns[i].family[k]);
		free(r->campaigns[i].family);
		free(r->campaigns[i].count);
		free(r->campaigns[i].id);
	}
	free(r->sensors);
	free(r->families);
	free(r->events);
	free(r->days);
	free(r->points);
	free(r->campaigns);
	for (i = 0; r->hourly && i < r->nfamilies; i++)
		free(r->hourly[i]);
	free(r->hourly);
	free(r->hourly_total);
	free(r->projection);
	free(r->without);
	memset(r, 0, sizeof(*r));
}

const char *report_bucket_name(int seconds)
{
	return seconds == 60 ? "1m" : seconds == 3600 ? "1h" : "1d";
}
