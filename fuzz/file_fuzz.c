/*
 * file_fuzz.c - libFuzzer target for a file's way in, as `ingest` and
 * `classify` read one: format detection, the mbox splitter ("From " lines,
 * their dates, ">From " unquoting, LF and CRLF, a message over the size
 * limit), a single .eml, then each message through the pipeline (GMime,
 * features, the receive time from Received:, the From_ line or Date:, and
 * attribution).
 *
 * The input is a whole file: it is put in a memfd and opened by its
 * /proc/self/fd path. Invariants checked: an item has bytes within
 * LIMIT_MESSAGE_SIZE; the reader ends (at most one item or skip per input
 * byte, plus one); a message taken has a family and a confidence in
 * [0, 1]; memory is freed (ASan/LSan). A small message size limit makes
 * the oversize path reachable. Not part of the CMake build; build and run
 * with fuzz/file_fuzz.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_pipeline.h"
#include "source/source.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pipeline *pl;
	char path[64], err[256];
	struct buf serr;
	source *s;
	size_t steps = 0;
	int fd;

	if (!pl) {
		/* 16 KB: a message over the limit is within the fuzzer's reach */
		if (limit_set("message_size=16384", err, sizeof(err)) != 0)
			abort();
		pl = fuzz_pipeline();
	}
	fd = memfd_create("file", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	buf_init(&serr);
	s = source_open(path, NULL);
	for (;;) {
		struct source_item item;
		enum source_status st;

		buf_reset(&serr);
		st = source_next(s, &item, &serr);
		if (st == SOURCE_END)
			break;
		if (st == SOURCE_ITEM) {
			struct pipeline_message m;
			struct pipeline_result res;

			if (!item.raw || item.len > (size_t)limit(LIMIT_MESSAGE_SIZE))
				abort();
			source_item_message(&item, "fuzz", false, &m);
			if (pipeline_push(pl, &m, &res, err, sizeof(err)) == PIPELINE_OK &&
			    (!res.family || res.confidence < 0 || res.confidence > 1))
				abort();
		}
		if (++steps > size + 1)
			abort();      /* the reader must end */
	}
	source_close(s);
	buf_free(&serr);
	close(fd);
	return 0;
}
