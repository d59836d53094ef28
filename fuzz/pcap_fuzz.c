/*
 * pcap_fuzz.c - libFuzzer target for the capture reader (src/source/pcap*,
 * tcpflow, tcpreasm) and the SMTP core behind it.
 *
 * The input is a whole capture file: it is put in a memfd and read with
 * pcapsrc as `classify` would, every item and skip taken until the end.
 * Invariants checked: an item is a message (bytes, within
 * LIMIT_MESSAGE_SIZE) or an encrypted session (no bytes), never both or
 * neither; the reader ends (at most one item or skip per input byte, plus
 * the sessions still open at the end); memory is freed (ASan/LSan). Small
 * flow limits make the table's eviction paths reachable. Not part of the
 * CMake build; build and run with fuzz/pcap_fuzz.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "source/pcapsrc.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool limited;
	struct buf err;
	pcapsrc *c;
	size_t steps = 0;
	int fd;

	if (!limited) {
		char e[128];

		/* small tables: eviction and the byte bounds come into reach */
		limit_set("pcap_flows=16", e, sizeof(e));
		limit_set("pcap_flow_bytes=4096", e, sizeof(e));
		limited = true;
	}
	fd = memfd_create("capture", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	buf_init(&err);
	c = pcapsrc_open("fuzz.pcap", fd, 0, NULL, &err);
	if (c) {
		for (;;) {
			struct source_item item;
			enum source_status st;

			buf_reset(&err);
			st = pcapsrc_next(c, &item, &err);
			if (st == SOURCE_END)
				break;
			if (st == SOURCE_ITEM) {
				bool encrypted = item.session && item.session->encrypted;

				if (encrypted ? item.len != 0 : !item.raw)
					abort();
				if (item.len > (size_t)limit(LIMIT_MESSAGE_SIZE))
					abort();
			}
			if (++steps > size + 64)
				abort();      /* the reader must end */
		}
		pcapsrc_close(c);
	}
	buf_free(&err);
	close(fd);
	return 0;
}
