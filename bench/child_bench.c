/*
 * child_bench.c - what reading messages in the trap's parser child costs
 * (src/pipeline/child.h), against reading them in the process itself.
 *
 *   build/child_bench [MESSAGES [FILE]]
 *
 * The same message (FILE, else a 2 KB message as smtp-source sends it)
 * with a session, read MESSAGES times (default 20,000) three ways: by a
 * pipeline in this process (what the trap did before the child), by the
 * child one message at a time, and by the child in batches of 16 (the
 * trap streams each commit's messages). Prints microseconds per message
 * and the ratios, three rounds. Wall time, so both processes count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attrib/attrib.h"
#include "mail/features.h"
#include "pipeline/child.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/banned.h"

#define BATCH 16

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void read_file(const char *path, struct buf *b)
{
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		exit(1);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(b, chunk, n);
	fclose(f);
}

/* a 2 KB message: headers, then lines of text */
static void make_message(struct buf *b)
{
	buf_addstr(b, "From: bench@sender.example\r\nTo: victim@example.com\r\n"
		      "Subject: cheap watches\r\nMessage-ID: <1.2@sender.example>\r\n"
		      "Date: Wed, 16 Mar 2011 15:30:00 +0000\r\n\r\n");
	while (b->len < 2048)
		buf_addstr(b, "Replica watches at a fraction of the price http://x.example/\r\n");
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000, i;
	struct buf raw = BUF_INIT;
	struct pipeline_session ses = {
		.client_ip = "192.0.2.7", .helo = "WIN-8K2J3H4G5F6", .mail_from = "bench@sender.example",
		.rcpt_count = 1, .dialect_id = "dialect:c20d7625", .dialect_facts = "helo_verb=EHLO",
		.ts = 1300289400,
	};
	struct pipeline_message m;
	const struct pipeline_message *batch[BATCH];
	struct pipeline_row *rows[BATCH];
	enum pipeline_child_failure why[BATCH];
	struct pipeline_options po = { .sensor = "bench" };
	struct pipeline_child_options co;
	struct pipeline_result res;
	pipeline_child *c;
	pipeline *p;
	char err[256];
	int round, k;

	if (n < BATCH)
		n = BATCH;
	log_init("child_bench", false);
	mail_init();
	if (argc > 2)
		read_file(argv[2], &raw);
	else
		make_message(&raw);
	po.kb = attrib_kb_load(NULL, err, sizeof(err));
	if (!po.kb) {
		fprintf(stderr, "child_bench: %s\n", err);
		return 1;
	}
	memset(&m, 0, sizeof(m));
	m.raw = raw.data;
	m.len = raw.len;
	m.source = "trap:bench#1";
	m.session = &ses;
	for (k = 0; k < BATCH; k++)
		batch[k] = &m;
	p = pipeline_new(NULL, &po);
	memset(&co, 0, sizeof(co));
	co.pipeline = po;
	c = pipeline_child_new(&co);
	printf("%ld messages of %zu bytes, per message:\n", n, raw.len);
	for (round = 1; round <= 3; round++) {
		double t0, t1, t2, t3;

		t0 = now_s();
		for (i = 0; i < n; i++) {
			pipeline_push(p, &m, &res, err, sizeof(err));
			pipeline_row_free(pipeline_row(p, &m, &res));
		}
		t1 = now_s();
		for (i = 0; i < n; i++)
			pipeline_row_free(pipeline_child_row(c, &m, why));
		t2 = now_s();
		for (i = 0; i + BATCH <= n; i += BATCH) {
			pipeline_child_rows(c, batch, BATCH, rows, why);
			for (k = 0; k < BATCH; k++)
				pipeline_row_free(rows[k]);
		}
		t3 = now_s();
		printf("round %d: in this process %.1f us; child, one at a time %.1f us (x%.2f); "
		       "child, batches of %d %.1f us (x%.2f)\n", round, (t1 - t0) / n * 1e6,
		       (t2 - t1) / n * 1e6, (t2 - t1) / (t1 - t0), BATCH,
		       (t3 - t2) / (double)(i) * 1e6, (t3 - t2) / (double)i / ((t1 - t0) / n));
	}
	pipeline_child_free(c);
	pipeline_free(p);
	attrib_kb_free((attrib_kb *)po.kb);
	buf_free(&raw);
	return 0;
}
