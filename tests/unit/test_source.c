/*
 * test_source.c - mbox splitting and quoting, single files with From_
 * lines, Maildir, directory walks, and the inputs that must be skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "source/source.h"
#include "util/limits.h"
#include "util/timeutil.h"

static char dir[256];

static void write_file(const char *name, const char *content, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
}

static char *path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

struct got {
	int items, skips;
	char raw[8][512];
	unsigned long index[8];
	bool from_ok[8];
	int64_t from_ts[8];
	char skip[8][512];
};

static void read_all(const char *path, struct got *g)
{
	source *s = source_open(path, NULL);
	struct source_item it;
	struct buf err = BUF_INIT;
	enum source_status st;

	memset(g, 0, sizeof(*g));
	while ((st = source_next(s, &it, &err)) != SOURCE_END) {
		if (st == SOURCE_SKIP) {
			if (g->skips < 8)
				snprintf(g->skip[g->skips], sizeof(g->skip[0]), "%s", err.data);
			g->skips++;
			continue;
		}
		if (g->items < 8) {
			snprintf(g->raw[g->items], sizeof(g->raw[0]), "%.*s", (int)it.len, it.raw);
			g->index[g->items] = it.index;
			g->from_ok[g->items] = it.ctx.have_from_line && it.ctx.from_line_ts_ok;
			g->from_ts[g->items] = it.ctx.from_line_ts;
		}
		g->items++;
	}
	source_close(s);
	buf_free(&err);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/spamtide-src-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	limit_reset();
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_mbox(void **state)
{
	static const char mbox[] =
		"From alice@example.com Mon Dec  2 12:00:00 2002\n"
		"Subject: one\n\nbody one\n>From the desk of\n>>From quoted twice\n"
		"From here on, not a separator (no date)\n\n"
		"From bob43@example.com Tue Dec  3 13:00:00 2002\n"
		"Subject: two\n\nbody two\n\n"
		"From - Wed Dec 04 14:00:00 2002\n"
		"Subject: three\n\nbody three\n";
	struct got g;
	char t[TIME_ISO_LEN];

	(void)state;
	write_file("a.mbox", mbox, sizeof(mbox) - 1);
	read_all(path_of("a.mbox"), &g);
	assert_int_equal(g.skips, 0);
	assert_int_equal(g.items, 3);
	assert_string_equal(g.raw[0], "Subject: one\n\nbody one\nFrom the desk of\n>From quoted twice\n"
			    "From here on, not a separator (no date)\n");
	assert_string_equal(g.raw[1], "Subject: two\n\nbody two\n");
	assert_string_equal(g.raw[2], "Subject: three\n\nbody three\n");
	assert_int_equal(g.index[2], 3);
	assert_true(g.from_ok[0]);
	assert_string_equal(time_format_iso(g.from_ts[1], t), "2002-12-03T13:00:00Z");
	assert_string_equal(time_format_iso(g.from_ts[2], t), "2002-12-04T14:00:00Z");
}

static void test_mbox_crlf(void **state)
{
	static const char mbox[] =
		"From a@b Mon Dec  2 12:00:00 2002\r\nSubject: one\r\n\r\nbody\r\n\r\n"
		"From a@b Mon Dec  2 12:00:01 2002\r\nSubject: two\r\n\r\nbody\r\n";
	struct got g;

	(void)state;
	write_file("crlf.mbox", mbox, sizeof(mbox) - 1);
	read_all(path_of("crlf.mbox"), &g);
	assert_int_equal(g.items, 2);
	assert_string_equal(g.raw[0], "Subject: one\r\n\r\nbody\r\n");
	assert_string_equal(g.raw[1], "Subject: two\r\n\r\nbody\r\n");
}

static void test_single_files(void **state)
{
	static const char eml[] = "Subject: plain\n\nFrom the start of a line\n";
	static const char mozilla[] = "From - Mon Dec 02 12:00:00 2002\nX-Mozilla-Status: 0001\nSubject: m\n\nb\n";
	struct got g;

	(void)state;
	write_file("plain.eml", eml, sizeof(eml) - 1);
	read_all(path_of("plain.eml"), &g);
	assert_int_equal(g.items, 1);
	assert_string_equal(g.raw[0], eml);
	assert_false(g.from_ok[0]);

	write_file("moz.eml", mozilla, sizeof(mozilla) - 1);
	read_all(path_of("moz.eml"), &g);
	assert_int_equal(g.items, 1);
	assert_string_equal(g.raw[0], "X-Mozilla-Status: 0001\nSubject: m\n\nb\n");
	assert_true(g.from_ok[0]);
}

static void test_maildir(void **state)
{
	struct got g;
	char p[600];

	(void)state;
	snprintf(p, sizeof(p), "%s/md", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/md/cur", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/md/new", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/md/tmp", dir);
	mkdir(p, 0700);
	write_file("md/cur/1.host:2,S", "Subject: c\n\nx\n", 14);
	write_file("md/new/2.host", "Subject: n\n\nFrom y Mon Dec  2 12:00:00 2002\n", 44);
	write_file("md/tmp/3.host", "Subject: t\n\nin delivery\n", 24);
	read_all(path_of("md"), &g);
	assert_int_equal(g.skips, 0);
	assert_int_equal(g.items, 2);
	assert_string_equal(g.raw[0], "Subject: c\n\nx\n");
	/* a Maildir file is one message even with a From_-like body line */
	assert_string_equal(g.raw[1], "Subject: n\n\nFrom y Mon Dec  2 12:00:00 2002\n");
}

static void test_bad_inputs(void **state)
{
	struct got g;
	char p[600], q[600];

	(void)state;
	snprintf(p, sizeof(p), "%s/bad", dir);
	mkdir(p, 0700);
	write_file("bad/empty.eml", "", 0);
	write_file("bad/truncated.eml", "Subject: cut\nFrom: a@b\nTo: som", 31);
	write_file("bad/ok.eml", "Subject: fine\n\nok\n", 18);
	snprintf(p, sizeof(p), "%s/bad/loop", dir);
	assert_int_equal(symlink(".", p), 0);
	snprintf(q, sizeof(q), "%s/bad/dangling", dir);
	assert_int_equal(symlink("/nonexistent/spamtide", q), 0);
	snprintf(q, sizeof(q), "%s/bad/fifo", dir);
	assert_int_equal(mkfifo(q, 0600), 0);
	read_all(path_of("bad"), &g);
	assert_int_equal(g.items, 1);
	assert_string_equal(g.raw[0], "Subject: fine\n\nok\n");
	assert_int_equal(g.skips, 5);
	{
		const char *want[] = { "dangling: No such file", "empty.eml: empty file", "fifo: not a regular",
				       "loop: symlink loop", "truncated.eml: message 1 at line 1 (byte 0): truncated" };
		int i;

		for (i = 0; i < 5; i++)
			if (!strstr(g.skip[i], want[i]))
				fail_msg("skip %d: '%s' lacks '%s'", i, g.skip[i], want[i]);
	}
	read_all(path_of("no-such-file"), &g);
	assert_int_equal(g.items, 0);
	assert_int_equal(g.skips, 1);
	assert_non_null(strstr(g.skip[0], "No such file"));
}

static void test_oversize(void **state)
{
	char err[100], *big;
	struct got g;
	size_t n = 5000, i;

	(void)state;
	assert_int_equal(limit_set("message_size=2048", err, sizeof(err)), 0);
	big = malloc(n + 200);
	i = (size_t)snprintf(big, 200, "From a@b Mon Dec  2 12:00:00 2002\nSubject: big\n\n");
	memset(big + i, 'x', n);
	i += n;
	i += (size_t)snprintf(big + i, 200, "\n\nFrom a@b Mon Dec  2 12:00:01 2002\nSubject: small\n\nok\n");
	write_file("big.mbox", big, i);
	free(big);
	read_all(path_of("big.mbox"), &g);
	assert_int_equal(g.items, 1);
	assert_int_equal(g.skips, 1);
	assert_non_null(strstr(g.skip[0], "larger than the message_size limit"));
	assert_string_equal(g.raw[0], "Subject: small\n\nok\n");
	limit_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mbox),
		cmocka_unit_test(test_mbox_crlf),
		cmocka_unit_test(test_single_files),
		cmocka_unit_test(test_maildir),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_oversize),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
