/*
 * progress.h - a one-line progress display on a terminal (messages, MB/s,
 * ETA), redrawn at most 5 times a second; silent when not a TTY.
 */
#ifndef SPAMTIDE_CMD_PROGRESS_H
#define SPAMTIDE_CMD_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool on;
	uint64_t total;        /* bytes expected, 0 when unknown */
	uint64_t bytes;        /* bytes done */
	uint64_t items;
	double start, last;
	bool drawn;
};

void progress_start(struct progress *p, bool on, uint64_t total_bytes);
void progress_update(struct progress *p, uint64_t bytes, uint64_t items);
/* progress_clear: erase the line before printing something else */
void progress_clear(struct progress *p);
void progress_finish(struct progress *p);
double progress_elapsed(const struct progress *p);

#endif
