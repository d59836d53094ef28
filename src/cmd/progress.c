/*
 * progress.c - a progress line on stderr; see progress.h.
 */
#include <stdio.h>

#include "cmd/progress.h"
#include "util/timeutil.h"
#include "util/banned.h"

void progress_start(struct progress *p, bool on, uint64_t total_bytes)
{
	p->on = on;
	p->total = total_bytes;
	p->bytes = 0;
	p->items = 0;
	p->start = p->last = time_mono();
	p->drawn = false;
}

static void draw(struct progress *p, double now)
{
	double el = now - p->start, rate = el > 0 ? p->bytes / el : 0;

	fprintf(stderr, "\r\033[K%10llu messages  %7.1f MB/s", (unsigned long long)p->items, rate / 1e6);
	if (p->total && p->bytes <= p->total && rate > 0) {
		double eta = (double)(p->total - p->bytes) / rate;

		fprintf(stderr, "  %5.1f%%  ETA %d:%02d", 100.0 * (double)p->bytes / (double)p->total,
			(int)eta / 60, (int)eta % 60);
	}
	fflush(stderr);
	p->drawn = true;
}

void progress_update(struct progress *p, uint64_t bytes, uint64_t items)
{
	double now;

	p->bytes = bytes;
	p->items = items;
	if (!p->on || (items & 63) != 0)
		return;
	now = time_mono();
	if (now - p->last < 0.2)
		return;
	p->last = now;
	draw(p, now);
}

void progress_clear(struct progress *p)
{
	if (p->on && p->drawn) {
		fputs("\r\033[K", stderr);
		p->drawn = false;
	}
}

void progress_finish(struct progress *p)
{
	progress_clear(p);
}

double progress_elapsed(const struct progress *p)
{
	return time_mono() - p->start;
}
