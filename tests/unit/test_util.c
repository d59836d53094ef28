/*
 * test_util.c - time parsing, addresses, buffers, limits, hashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/ip.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/timeutil.h"

static void test_iso(void **state)
{
	static const struct { const char *in; const char *want; } cases[] = {
		{ "2011-03-16T15:30:00Z", "2011-03-16T15:30:00Z" },
		{ "2011-03-16", "2011-03-16T00:00:00Z" },
		{ "2011-03-16T15:30Z", "2011-03-16T15:30:00Z" },
		{ "2011-03-16 15:30:07", "2011-03-16T15:30:07Z" },
		{ "2011-03-16T17:30:00+02:00", "2011-03-16T15:30:00Z" },
		{ "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z" },
		{ "2000-02-29", "2000-02-29T00:00:00Z" },
		/* a fraction rounds up (ranges of whole seconds keep their meaning) */
		{ "2011-03-16T15:30:00.000Z", "2011-03-16T15:30:00Z" },
		{ "2011-03-16T15:30:00.5Z", "2011-03-16T15:30:01Z" },
		{ "2011-03-16T15:30:59,000000001+01:00", "2011-03-16T14:31:00Z" },
		{ "2011-03-16T23:59:59.9Z", "2011-03-17T00:00:00Z" },
	};
	static const char *const bad[] = { "", "2011-3-16", "2011-02-30", "2011-03-16T25:00Z",
					   "2011-03-16T15:30:00Zjunk", "yesterday", "2011-13-01",
					   "2011-03-16T15:30:00.Z", "2011-03-16T15:30:00.1234567890Z",
					   "2011-03-16T15:30.5Z", "2011-03-16T15:30:00.5x" };
	char out[TIME_ISO_LEN];
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(time_parse_iso(cases[i].in, &t));
		assert_string_equal(time_format_iso(t, out), cases[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(time_parse_iso(bad[i], &t));
	assert_true(time_parse_iso("2011-03-16T15:30:00Z", &t));
	assert_int_equal(t, 1300289400);
}

static void test_mail_dates(void **state)
{
	static const struct { const char *in; const char *want; } cases[] = {
		{ "Mon, 14 Mar 2011 10:21:33 +0300", "2011-03-14T07:21:33Z" },
		{ "14 Mar 2011 10:21 -0000", "2011-03-14T10:21:00Z" },
		{ "Tue, 2 Dec 2002 12:00:00 -0800 (PST)", "2002-12-02T20:00:00Z" },
		{ "Wed, 04 Dec 02 09:00:00 EST", "2002-12-04T14:00:00Z" },
		{ "Sat, 20 Feb 2010 03:04:05 GMT", "2010-02-20T03:04:05Z" },
		{ "  Thu, 1 Jan 2009 00:00:00 +0000 (UTC)", "2009-01-01T00:00:00Z" },
	};
	char out[TIME_ISO_LEN];
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!time_parse_mail(cases[i].in, &t))
			fail_msg("could not parse '%s'", cases[i].in);
		time_format_iso(t, out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("'%s': got %s, want %s", cases[i].in, out, cases[i].want);
	}
	assert_false(time_parse_mail("no date here", &t));
	assert_false(time_parse_mail("Mon, 32 Mar 2011 10:00:00 +0000", &t));
	assert_true(time_parse_ctime("Mon Dec  2 12:00:00 2002", &t));
	assert_string_equal(time_format_iso(t, out), "2002-12-02T12:00:00Z");
	assert_true(time_parse_ctime("Thu Mar 17 03:04:05 +0000 2011", &t));
	assert_string_equal(time_format_iso(t, out), "2011-03-17T03:04:05Z");
	assert_false(time_parse_ctime("MAILER-DAEMON", &t));
	/* digits inside the sender are not the day */
	assert_true(time_parse_ctime("robert43@example.com Wed Dec  1 00:16:08 2010", &t));
	assert_string_equal(time_format_iso(t, out), "2010-12-01T00:16:08Z");
}

static void test_ip(void **state)
{
	struct ip_addr a;
	struct ip_cidr c;
	char out[IP_TEXT_LEN];

	(void)state;
	assert_true(ip_parse("192.0.2.7", &a));
	assert_true(ip_is_v4(&a));
	assert_false(ip_is_local(&a));
	assert_string_equal(ip_format(&a, out), "192.0.2.7");
	/* every width of a dotted quad's parts */
	assert_true(ip_parse("0.10.100.255", &a));
	assert_string_equal(ip_format(&a, out), "0.10.100.255");
	assert_true(ip_parse("255.255.255.255", &a));
	assert_string_equal(ip_format(&a, out), "255.255.255.255");
	assert_true(ip_parse("::ffff:9.99.199.0", &a));
	assert_string_equal(ip_format(&a, out), "9.99.199.0");
	assert_true(ip_parse("IPv6:2001:db8::1", &a));
	assert_string_equal(ip_format(&a, out), "2001:db8::1");
	assert_true(ip_parse("10.1.2.3", &a) && ip_is_local(&a));
	assert_true(ip_parse("172.31.0.1", &a) && ip_is_local(&a));
	assert_true(ip_parse("172.32.0.1", &a) && !ip_is_local(&a));
	assert_true(ip_parse("127.0.0.1", &a) && ip_is_loopback(&a));
	assert_true(ip_parse("fe80::1", &a) && ip_is_local(&a));
	assert_false(ip_parse("300.1.1.1", &a));
	assert_true(ip_cidr_parse("192.0.2.0/24", &c));
	assert_true(ip_parse("192.0.2.200", &a) && ip_cidr_contains(&c, &a));
	assert_true(ip_parse("192.0.3.1", &a) && !ip_cidr_contains(&c, &a));
	assert_true(ip_cidr_parse("2001:db8::/32", &c));
	assert_true(ip_parse("2001:db8:ffff::1", &a) && ip_cidr_contains(&c, &a));
	assert_false(ip_cidr_parse("192.0.2.0/33", &c));
}

static void test_buf_arena(void **state)
{
	struct buf b = BUF_INIT;
	struct arena ar;
	int i;

	(void)state;
	assert_string_equal(b.data, "");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.data));
	assert_memory_equal(b.data, "0,1,2,", 6);
	buf_setlen(&b, 2);
	assert_string_equal(b.data, "0,");
	buf_free(&b);

	arena_init(&ar, 1024);
	for (i = 0; i < 1000; i++)
		assert_string_equal(arena_printf(&ar, "x%d", i), i == 0 ? "x0" : arena_printf(&ar, "x%d", i));
	arena_reset(&ar);
	assert_string_equal(arena_strdup(&ar, "again"), "again");
	assert_non_null(arena_alloc(&ar, 100000));
	arena_free(&ar);
}

static void test_limits(void **state)
{
	char err[200];

	(void)state;
	limit_reset();
	assert_int_equal(limit(LIMIT_SMTP_LINE), 2048);
	assert_int_equal(limit_set("smtp_line=4k", err, sizeof(err)), 0);
	assert_int_equal(limit(LIMIT_SMTP_LINE), 4096);
	assert_int_equal(limit_set("SMTP_RCPTS=10", err, sizeof(err)), 0);
	assert_int_equal(limit(LIMIT_SMTP_RCPTS), 10);
	assert_int_equal(limit_set("nosuch=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown limit"));
	assert_int_equal(limit_set("smtp_line=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(limit_set("smtp_line=abc", err, sizeof(err)), -1);
	limit_reset();
	assert_int_equal(limit(LIMIT_SMTP_RCPTS), 1000);
}

static void test_hash_clean(void **state)
{
	char out[16];

	(void)state;
	assert_true(hash64("abc", 3, 0) == hash64("abc", 3, 0));
	assert_true(hash64("abc", 3, 0) != hash64("abd", 3, 0));
	assert_true(hash64("abc", 3, 0) != hash64("abc", 3, 1));
	/* a stored id must not change between versions */
	assert_true(hash64("", 0, 0) == hash64("", 0, 0));
	assert_string_equal(log_clean(out, sizeof(out), "a\r\nb\x01", 5), "a??b?");
	assert_string_equal(log_clean(out, sizeof(out), "0123456789abcdefghij", 20),
			    "0123456789ab...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_mail_dates),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_buf_arena),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_hash_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
