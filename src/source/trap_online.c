/*
 * trap_online.c - the trap's online event detector: the same detector as
 * `report` (src/analysis), seeded from what the store holds of the last
 * days and fed minute by minute as the trap's clock advances. See
 * trap_int.h. Runs on the event loop; the store is read only at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "attrib/attrib.h"
#include "source/trap_int.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define ONLINE_EVENTS_MAX 64      /* events taken from the detector per minute */

struct trap_online {
	struct analysis_detector *det;
	char **name;                  /* the detector's families, by index */
	size_t n;
	uint32_t *counts;             /* one minute's counts, [n] */
	struct analysis_event events[ONLINE_EVENTS_MAX];
	const char *event_names[ONLINE_EVENTS_MAX];
};

/* "unknown" (no family claims it) is many senders: no events, as in
 * `report` (analysis_family.no_events), and no state of its own */
static bool judged(const char *family)
{
	return strcmp(family, ATTRIB_UNKNOWN) != 0;
}

static size_t family_index(trap_online *o, const char *family)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->name[i], family) == 0)
			return i;
	/* a family the history never saw: silent until now */
	i = analysis_detector_add_family(o->det);
	o->name = xreallocarray(o->name, o->n + 1, sizeof(char *));
	o->counts = xreallocarray(o->counts, o->n + 1, sizeof(uint32_t));
	o->name[o->n] = xstrdup(family);
	o->counts[o->n] = 0;
	o->n++;
	return i;
}

/* the end of the minute of the last message stored, or from when none */
static int64_t history_end(const struct analysis_family *fams, size_t n, int64_t from, int64_t start)
{
	int64_t minutes = (start - from) / 60, m, last = -1;
	size_t f;

	for (f = 0; f < n; f++)
		for (m = minutes - 1; m > last; m--)
			if (fams[f].counts[m]) {
				last = m;
				break;
			}
	return from + (last + 1) * 60;
}

trap_online *trap_online_new(store *st, int64_t start, double false_alarms, char *err,
			     size_t errlen)
{
	struct analysis_detector_config cfg;
	int64_t from = start - (int64_t)TRAP_ONLINE_HISTORY_DAYS * 86400;
	struct store_series s;
	struct analysis_family *fams;
	struct analysis_input in = { 0 };
	trap_online *o;
	size_t f, n = 0;

	if (store_load_series(st, from, start, false, &s, err, errlen) != STORE_OK)
		return NULL;
	fams = xcalloc(s.families.count + 1, sizeof(*fams));
	o = xcalloc(1, sizeof(*o));
	for (f = 1; f < s.families.count; f++) {
		if (!s.counts[f] || !judged(s.families.name[f]))
			continue;
		fams[n].name = s.families.name[f];
		fams[n].counts = s.counts[f];
		o->name = xreallocarray(o->name, n + 1, sizeof(char *));
		o->name[n] = xstrdup(s.families.name[f]);
		n++;
	}
	o->n = n;
	o->counts = xcalloc(n + 1, sizeof(uint32_t));
	analysis_detector_config_default(&cfg);
	cfg.false_alarms_per_year = false_alarms > 0 ? false_alarms : ANALYSIS_ONLINE_FALSE_ALARMS;
	cfg.bursts_once = true;
	o->det = analysis_detector_new(&cfg, from, 60, n, err, errlen);
	/* The history as far as the store knows it was watched: the minutes
	 * no trap watched (the runs recorded, store.h) are skipped, not fed as
	 * silent, else every family would be ceased at a restart, and resume
	 * with the first messages. A store no trap has run on yet (ingested
	 * archives) was watched up to its last message. */
	in.start = from;
	in.step = 60;
	in.n_families = n;
	in.families = fams;
	if (s.has_runs) {
		in.end = start;
		in.gaps = s.gaps;
		in.n_gaps = s.n_gaps;
	} else {
		in.end = history_end(fams, n, from, start);
	}
	if (!o->det ||
	    (n && in.end > in.start && analysis_detector_seed(o->det, &in, err, errlen) != ANALYSIS_OK) ||
	    analysis_detector_skip(o->det, start, err, errlen) != ANALYSIS_OK) {
		free(fams);
		store_series_free(&s);
		trap_online_free(o);
		return NULL;
	}
	free(fams);
	store_series_free(&s);
	return o;
}

size_t trap_online_feed(trap_online *o, int64_t minute, const char *const *family,
			const uint64_t *messages, size_t nfamilies,
			const struct analysis_event **events, const char *const **names)
{
	size_t i, got;

	/* a minute the detector has already passed (the clock went back) is dropped */
	if (minute < analysis_detector_next(o->det))
		return 0;
	for (i = 0; i < nfamilies; i++)
		if (judged(family[i]))
			family_index(o, family[i]);
	memset(o->counts, 0, o->n * sizeof(uint32_t));
	for (i = 0; i < nfamilies; i++)
		if (judged(family[i]))
			o->counts[family_index(o, family[i])] = messages[i] > UINT32_MAX ? UINT32_MAX
											 : (uint32_t)messages[i];
	if (analysis_detector_feed(o->det, minute, o->counts, NULL, 0) != ANALYSIS_OK)
		return 0;
	got = analysis_detector_poll(o->det, o->events, ONLINE_EVENTS_MAX);
	for (i = 0; i < got; i++)
		o->event_names[i] = o->events[i].family < o->n ? o->name[o->events[i].family] : "?";
	*events = o->events;
	*names = o->event_names;
	return got;
}

size_t trap_online_count(const trap_online *o)
{
	return o->n;
}

const char *trap_online_family(const trap_online *o, size_t i)
{
	return o->name[i];
}

int trap_online_state(const trap_online *o, size_t i)
{
	return (int)analysis_detector_state(o->det, i);
}

void trap_online_free(trap_online *o)
{
	size_t i;

	if (!o)
		return;
	if (o->det)
		analysis_detector_free(o->det);
	for (i = 0; i < o->n; i++)
		free(o->name[i]);
	free(o->name);
	free(o->counts);
	free(o);
}
