/*
 * pcap_read.c - bench helper: the capture reader alone (decode, flows,
 * reassembly, the SMTP core), without features, attribution or the store.
 * Prints "ITEMS SKIPS BYTES" for the files given. Not a test.
 */
#include <stdio.h>

#include "source/source.h"
#include "util/buf.h"
#include "util/banned.h"

int main(int argc, char **argv)
{
	unsigned long long items = 0, skips = 0, bytes = 0;
	struct buf err = BUF_INIT;
	int i;

	for (i = 1; i < argc; i++) {
		source *s = source_open(argv[i], NULL);
		struct source_item item;
		enum source_status st;

		while ((st = source_next(s, &item, &err)) != SOURCE_END) {
			if (st == SOURCE_SKIP) {
				skips++;
				continue;
			}
			items++;
			bytes += item.len;
		}
		source_close(s);
	}
	buf_free(&err);
	printf("%llu %llu %llu\n", items, skips, bytes);
	return 0;
}
