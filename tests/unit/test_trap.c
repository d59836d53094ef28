/*
 * test_trap.c - the trap's pieces without sockets: listen addresses, the
 * spool header (and that a mail parser reads the HELO and address back
 * from it), queue ids, Maildir names, chroot path checks, and the writer's
 * group commit: every message durable and committed, or, when the spool
 * or the store fails, neither file nor row and every message not ok.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mail/features.h"
#include "source/trap.h"
#include "source/trap_int.h"
#include "store/store.h"
#include "util/limits.h"

static void test_endpoints(void **state)
{
	static const struct { const char *in; int family; int port; } good[] = {
		{ "127.0.0.1:25", AF_INET, 25 },
		{ "0.0.0.0:0", AF_INET, 0 },
		{ "[::1]:2525", AF_INET6, 2525 },
		{ "[::]:65535", AF_INET6, 65535 },
	};
	static const char *const bad[] = {
		"127.0.0.1", "localhost:25", "[::1]25", "[::1", "::1:25", "1.2.3.4:99999",
		"1.2.3.4:", "1.2.3.4:2x", ":25", "300.1.1.1:25", "",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int port;

		if (!trap_parse_endpoint(good[i].in, &ss, &len, err, sizeof(err)))
			fail_msg("%s: refused: %s", good[i].in, err);
		assert_int_equal(ss.ss_family, good[i].family);
		port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
					       : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		if (port != good[i].port)
			fail_msg("%s: port got %d want %d", good[i].in, port, good[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (trap_parse_endpoint(bad[i], &ss, &len, err, sizeof(err)))
			fail_msg("'%s': accepted, want refused", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static const char *one_rcpt[] = { "v@example.com" };
static const char *two_rcpts[] = { "a@example.com", "b@example.com" };
static const char *odd_rcpt[] = { "x>\r\nBcc: <y@example.com" };

static void test_spool_header(void **state)
{
	static const struct {
		struct trap_trace tr;
		const char *want;
	} cases[] = {
		{ { "bot.example", "192.0.2.7", "trap.test", "4D80D7781E2400007", "a@b.example",
		    one_rcpt, 1, false, false, 1300289400 },
		  "Return-Path: <a@b.example>\r\n"
		  "Received: from bot.example (unknown [192.0.2.7])\r\n"
		  "\tby trap.test (spamtide) with SMTP id 4D80D7781E2400007\r\n"
		  "\tfor <v@example.com>; Wed, 16 Mar 2011 15:30:00 +0000\r\n" },
		{ { "[192.0.2.7]", "192.0.2.7", "trap.test", "Q1", "", two_rcpts, 2, true, false, 0 },
		  "Return-Path: <>\r\n"
		  "Received: from [192.0.2.7] (unknown [192.0.2.7])\r\n"
		  "\tby trap.test (spamtide) with ESMTP id Q1;\r\n"
		  "\tThu, 1 Jan 1970 00:00:00 +0000\r\n" },
		{ { "x", "2001:db8::1", "trap.test", "Q2", "s@x", one_rcpt, 1, true, true, 951782400 },
		  "Return-Path: <s@x>\r\n"
		  "Received: from x (unknown [IPv6:2001:db8::1])\r\n"
		  "\tby trap.test (spamtide) with ESMTPS id Q2\r\n"
		  "\tfor <v@example.com>; Tue, 29 Feb 2000 00:00:00 +0000\r\n" },
		/* hostile bytes cannot add lines or end the clause */
		{ { "evil\r\nX-Injected: yes (a;b)", "192.0.2.9", "trap.test", "Q3", "f<o>o\x01",
		    odd_rcpt, 1, false, false, 1300289400 },
		  "Return-Path: <f?o?o?>\r\n"
		  "Received: from evil??X-Injected:?yes??a?b? (unknown [192.0.2.9])\r\n"
		  "\tby trap.test (spamtide) with SMTP id Q3\r\n"
		  "\tfor <x???Bcc:??y@example.com>; Wed, 16 Mar 2011 15:30:00 +0000\r\n" },
		/* no HELO at all */
		{ { "", "192.0.2.9", "trap.test", "Q4", "f@x", NULL, 0, false, false, 1300289400 },
		  "Return-Path: <f@x>\r\n"
		  "Received: from unknown (unknown [192.0.2.9])\r\n"
		  "\tby trap.test (spamtide) with SMTP id Q4;\r\n"
		  "\tWed, 16 Mar 2011 15:30:00 +0000\r\n" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = BUF_INIT;

		trap_spool_header(&out, &cases[i].tr);
		if (strcmp(out.data, cases[i].want) != 0)
			fail_msg("case %zu:\n got %s\nwant %s", i, out.data, cases[i].want);
		buf_free(&out);
	}
}

static void test_spool_header_bounds(void **state)
{
	char helo[1000];
	struct trap_trace tr = { helo, "192.0.2.7", "trap.test", "Q", "a@b", one_rcpt, 1,
				 false, false, 0 };
	struct buf out = BUF_INIT;
	const char *from, *end;

	(void)state;
	memset(helo, 'h', sizeof(helo) - 1);
	helo[sizeof(helo) - 1] = '\0';
	trap_spool_header(&out, &tr);
	from = strstr(out.data, "from ") + 5;
	end = strchr(from, ' ');
	assert_int_equal(end - from, TRAP_HELO_MAX);
	buf_free(&out);
}

/* a mail parser reads the client's HELO and address back from a spool file */
static void test_spool_header_parses_back(void **state)
{
	struct trap_trace tr = { "dyn-198-51-100-4.example.net", "198.51.100.4", "trap.test",
				 "Q9", "spammer@example.org", one_rcpt, 1, true, false,
				 1300289400 };
	const char *msg = "From: x@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
	struct mail_features f;
	struct buf file = BUF_INIT;

	(void)state;
	mail_features_init(&f);
	trap_spool_header(&file, &tr);
	buf_addstr(&file, msg);
	assert_true(mail_features_extract(&f, file.data, file.len, NULL));
	assert_non_null(f.helo);
	assert_string_equal(f.helo, "dyn-198-51-100-4.example.net");
	assert_non_null(f.client_ip);
	assert_string_equal(f.client_ip, "198.51.100.4");
	assert_int_equal(f.ts, 1300289400);
	mail_features_free(&f);
	buf_free(&file);
}

static void test_queue_ids(void **state)
{
	char a[TRAP_QUEUE_ID_LEN], b[TRAP_QUEUE_ID_LEN];
	unsigned i;

	(void)state;
	trap_queue_id(a, 1300289400, 123456, 7);
	assert_string_equal(a, "4D80D7781E2400007");
	for (i = 0; i < 70000; i += 997) {
		size_t k;

		trap_queue_id(a, 1300289400, 5, i);
		trap_queue_id(b, 1300289400, 5, i + 1);
		assert_string_not_equal(a, b);
		for (k = 0; a[k]; k++)
			assert_true((a[k] >= '0' && a[k] <= '9') || (a[k] >= 'A' && a[k] <= 'F'));
	}
}

static char tmp_root[256];

static void rm_tree(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static const char *make_tmp(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/spamtide-unit-trap.XXXXXX");
	assert_non_null(mkdtemp(tmp_root));
	return tmp_root;
}

static void test_paths(void **state)
{
	char root[300], p[400], inside[512], err[512], real_root[400];

	(void)state;
	snprintf(root, sizeof(root), "%s/jail", make_tmp());
	assert_int_equal(mkdir(root, 0755), 0);
	assert_non_null(realpath(root, real_root));
	snprintf(p, sizeof(p), "%s/spool", root);
	assert_true(trap_path_inside(root, p, inside, sizeof(inside), err, sizeof(err)));
	assert_string_equal(inside, "/spool");
	snprintf(p, sizeof(p), "%s/db/sub/t.db", root);
	assert_true(trap_path_inside(root, p, inside, sizeof(inside), err, sizeof(err)));
	assert_string_equal(inside, "/db/sub/t.db");
	assert_true(trap_path_inside(root, root, inside, sizeof(inside), err, sizeof(err)));
	assert_string_equal(inside, "/");
	snprintf(p, sizeof(p), "%s/../outside", root);
	assert_false(trap_path_inside(root, p, inside, sizeof(inside), err, sizeof(err)));
	assert_non_null(strstr(err, "not inside"));
	/* a sibling whose name starts like the jail is outside */
	snprintf(p, sizeof(p), "%s2/x", root);
	assert_false(trap_path_inside(root, p, inside, sizeof(inside), err, sizeof(err)));
	/* a symlink inside that points outside is outside */
	snprintf(p, sizeof(p), "%s/link", root);
	assert_int_equal(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/link/passwd", root);
	assert_false(trap_path_inside(root, p, inside, sizeof(inside), err, sizeof(err)));
	{
		struct trap_options o = { 0 };

		o.chroot = root;
		snprintf(p, sizeof(p), "%s/spool", root);
		o.spool = p;
		o.db = "sqlite:/var/tmp/elsewhere.db";
		assert_false(trap_check_chroot(&o, err, sizeof(err)));
		assert_non_null(strstr(err, "elsewhere.db"));
		o.db = NULL;
		assert_true(trap_check_chroot(&o, err, sizeof(err)));
		o.chroot = "/no/such/dir";
		assert_false(trap_check_chroot(&o, err, sizeof(err)));
	}
	rm_tree(tmp_root);
}

static void test_spool_dirs(void **state)
{
	struct trap_spool sp;
	char dir[300], err[256], name[200];
	struct stat st;
	const char *sub[] = { "tmp", "new", "cur" };
	size_t i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/spool", make_tmp());
	assert_true(trap_spool_open(&sp, dir, "trap/odd:host", false, 0, 0, err, sizeof(err)));
	for (i = 0; i < 3; i++) {
		char p[400];

		snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
		assert_int_equal(stat(p, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	trap_spool_name(&sp, 1300289400, "ABC123", name, sizeof(name));
	assert_string_equal(name, "1300289400.ABC123.trap_odd_host");
	trap_spool_close(&sp);
	/* a spool whose parent is missing is an error, not a crash */
	snprintf(dir, sizeof(dir), "%s/no/such/spool", tmp_root);
	assert_false(trap_spool_open(&sp, dir, "h", false, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create"));
	rm_tree(tmp_root);
}

/* ---- the writer ---- */

/* a message as the SMTP core hands it over */
static struct smtp_message *message(const char *body)
{
	struct smtp_config cfg = { "trap.test", false, false };
	smtp_session *s = smtp_session_new(&cfg, 0);
	struct buf in = BUF_INIT;
	struct smtp_message *m;
	size_t len;

	smtp_session_greet(s, 0);
	buf_printf(&in, "EHLO bot.example\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<v@example.com>\r\n"
		   "DATA\r\n%s.\r\n", body);
	smtp_session_feed(s, in.data, in.len, 1);
	smtp_session_output(s, &len);
	smtp_session_output_taken(s, len);
	assert_int_equal(smtp_session_want(s), SMTP_WANT_STORE);
	m = smtp_session_take_message(s);
	assert_non_null(m);
	smtp_session_free(s);
	buf_free(&in);
	return m;
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static long long count_rows(const char *url)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n;

	assert_int_equal(sqlite3_open_v2(url + 7, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* run n jobs through a writer; returns how many came back ok */
static size_t run_writer(store *st, struct trap_spool *sp, size_t n, bool break_new)
{
	struct trap_writer_config cfg = { 0 };
	trap_writer *w;
	char err[256];
	size_t done = 0, ok = 0, i;
	int efd = eventfd(0, EFD_CLOEXEC);
	int saved_new = sp->new_;

	cfg.st = st;
	cfg.spool = sp;
	cfg.sensor = "unit";
	cfg.hostname = "trap.test";
	cfg.kb = NULL;
	cfg.notify_fd = efd;
	if (break_new)
		sp->new_ = -1;        /* every rename into new/ fails */
	w = trap_writer_start(&cfg, err, sizeof(err));
	assert_non_null(w);
	for (i = 0; i < n; i++) {
		struct trap_job *j = calloc(1, sizeof(*j));
		char body[100];

		snprintf(body, sizeof(body), "Subject: unit %zu\r\n\r\nbody %zu\r\n", i, i);
		j->msg = message(body);
		j->dialect_facts = strdup("helo_verb=EHLO");
		snprintf(j->client_ip, sizeof(j->client_ip), "192.0.2.1");
		j->esmtp = true;
		j->ts = 1300289400;
		j->owner = (void *)(uintptr_t)(i + 1);
		trap_writer_submit(w, j);
	}
	while (done < n) {
		struct pollfd pfd = { efd, POLLIN, 0 };
		struct trap_job *j, *next;
		uint64_t v;

		assert_true(poll(&pfd, 1, 20000) == 1);
		assert_int_equal(read(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
		for (j = trap_writer_take_done(w); j; j = next) {
			next = j->next;
			done++;
			if (j->ok) {
				ok++;
				assert_true(j->queue_id[0] != '\0');
				assert_string_equal(j->family, "unknown");
			}
			trap_job_free(j);
		}
	}
	trap_writer_stop(w);
	sp->new_ = saved_new;
	close(efd);
	return ok;
}

/* expect: files in new/ and tmp/, and rows in the store */
static void expect(const char *dir, const char *db, size_t in_new, size_t in_tmp, long long rows)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/new", dir);
	assert_int_equal(count_dir(p), in_new);
	snprintf(p, sizeof(p), "%s/tmp", dir);
	assert_int_equal(count_dir(p), in_tmp);
	assert_int_equal(count_rows(db), rows);
}

static void test_writer(void **state)
{
	struct trap_spool sp;
	char dir[300], db[320], err[256];
	store *st;

	(void)state;
	limit_reset();
	snprintf(dir, sizeof(dir), "%s/spool", make_tmp());
	snprintf(db, sizeof(db), "sqlite:%s/t.db", tmp_root);
	assert_true(trap_spool_open(&sp, dir, "trap.test", false, 0, 0, err, sizeof(err)));

	/* all good: 200 messages, each a file in new/ and a row */
	assert_int_equal(store_open(db, STORE_WRITE_DURABLE, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(run_writer(st, &sp, 200, false), 200);
	store_close(st);
	expect(dir, db, 200, 0, 200);

	/* the spool cannot rename: nothing ok, no file left anywhere, no row added */
	rm_tree(tmp_root);
	assert_int_equal(mkdir(tmp_root, 0700), 0);
	trap_spool_close(&sp);
	assert_true(trap_spool_open(&sp, dir, "trap.test", false, 0, 0, err, sizeof(err)));
	assert_int_equal(store_open(db, STORE_WRITE_DURABLE, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(run_writer(st, &sp, 50, true), 0);
	store_close(st);
	expect(dir, db, 0, 0, 0);

	/* the store cannot be written: nothing ok, the files are taken back */
	assert_int_equal(store_open(db, STORE_READ, &st, err, sizeof(err)), STORE_OK);
	assert_int_equal(run_writer(st, &sp, 30, false), 0);
	store_close(st);
	expect(dir, db, 0, 0, 0);

	trap_spool_close(&sp);
	rm_tree(tmp_root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_spool_header),
		cmocka_unit_test(test_spool_header_bounds),
		cmocka_unit_test(test_spool_header_parses_back),
		cmocka_unit_test(test_queue_ids),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_spool_dirs),
		cmocka_unit_test(test_writer),
	};

	int rc;

	mail_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mail_shutdown();
	return rc;
}
