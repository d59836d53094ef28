/*
 * test_mail.c - message features: shapes, Received: parsing, receive time
 * and client rules, header order, text, URLs, warnings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/features.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/timeutil.h"

static int setup(void **state)
{
	(void)state;
	mail_init();
	limit_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mail_shutdown();
	return 0;
}

static void test_shapes(void **state)
{
	static const struct { const char *in; bool domain; const char *want; } cases[] = {
		{ "<4D7A2C1B.3F09@mail.example.com>", true, "<UHEX8.UHEX4@DOMAIN>" },
		{ "<000001c9a4b5$3e8f2c00$0100007f@hostname>", true, "<HEX12$HEX8$HEX8@DOMAIN>" },
		{ "<20110316152941.12345@[192.0.2.7]>", true, "<DIGIT14.DIGIT5@IP>" },
		{ "<abcdefgh@x>", true, "<LOWER8@DOMAIN>" },
		{ "<Q7xR2@x>", true, "<ALNUM5@DOMAIN>" },
		{ "----=_NextPart_000_0012_01C9A4B5.3E8F2C00", false,
		  "----=_ALPHA8_DIGIT3_DIGIT4_UHEX8.UHEX8" },
		{ "", true, "" },
	};
	struct arena a;
	size_t i;

	(void)state;
	arena_init(&a, 1024);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = mail_shape(&a, cases[i].in, strlen(cases[i].in), cases[i].domain);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("shape of '%s': got '%s', want '%s'", cases[i].in, got, cases[i].want);
	}
	arena_free(&a);
}

static void test_date_shapes(void **state)
{
	static const struct { const char *in; const char *want; } cases[] = {
		{ "Mon, 14 Mar 2011 10:21:33 +0300", "Www, D Mmm YYYY HH:MM:SS +ZZZZ" },
		{ "Mon, 4 Mar 2011 10:21:33 +0300", "Www, D Mmm YYYY HH:MM:SS +ZZZZ" },
		{ "Mon, 04 Mar 2011 10:21:33 -0000", "Www, 0D Mmm YYYY HH:MM:SS -0000" },
		{ "14 Mar 2011 10:21 +0000 (UTC)", "D Mmm YYYY HH:MM +0000 (UTC)" },
		{ "Wed, 16 Mar 11 9:05:00 GMT", "Www, D Mmm YY H:MM:SS GMT" },
	};
	struct arena a;
	size_t i;

	(void)state;
	arena_init(&a, 1024);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = mail_date_shape(&a, cases[i].in);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("date shape of '%s': got '%s', want '%s'", cases[i].in, got, cases[i].want);
	}
	arena_free(&a);
}

static void test_received(void **state)
{
	static const struct {
		const char *in, *helo, *ip, *ts, *with;
	} cases[] = {
		{ "from bot-PC (unknown [192.0.2.7])\r\n\tby trap.example.net (spamtide) with SMTP id 1\r\n"
		  "\tfor <a@b>; Wed, 16 Mar 2011 15:29:41 +0000", "bot-PC", "192.0.2.7", "2011-03-16T15:29:41Z",
		  "SMTP" },
		{ "from mtnl.net.in (triband-mum-120.60.8.28.mtnl.net.in [120.60.8.28])\n"
		  "\tby mx2.csmining.org (csminingorg MX Server2) with ESMTP id 421E96D\n"
		  "\tfor <hibody@csmining.org>; Thu, 15 Apr 2010 21:14:10 +0900 (JST)",
		  "mtnl.net.in", "120.60.8.28", "2010-04-15T12:14:10Z", "ESMTP" },
		{ "from host.example ([198.51.100.4] helo=Hello.World) by mx with esmtp (Exim 4.69); "
		  "Tue, 2 Mar 2010 10:00:00 +0100", "Hello.World", "198.51.100.4", "2010-03-02T09:00:00Z", "esmtp" },
		{ "from unknown (HELO qmailbot) (203.0.113.9) by mail.example with SMTP; 1 Feb 2009 08:00:00 -0000",
		  "qmailbot", "203.0.113.9", "2009-02-01T08:00:00Z", "SMTP" },
		{ "from [203.0.113.77] (HELO winxp) by cgp.example (CommuniGate Pro SMTP 5.2)",
		  "winxp", "203.0.113.77", NULL, "" },
		{ "from WIN-SRV ([10.1.2.3]) by EXCH1 with Microsoft SMTPSVC(6.0.3790.3959); "
		  "Mon, 1 Mar 2010 01:02:03 -0800", "WIN-SRV", "10.1.2.3", "2010-03-01T09:02:03Z", "Microsoft" },
		{ "(qmail 12345 invoked from network); 1 Feb 2009 08:00:00 -0000", "", NULL,
		  "2009-02-01T08:00:00Z", "" },
		{ "from mail.example.org (mail.example.org. [2001:db8::25]) by mx.google.com",
		  "mail.example.org", "2001:db8::25", NULL, "" },
		{ "from x.example (x.example [192.0.2.9]) by mx.example (Postfix) with ESMTPSA id 4F2;"
		  " Tue, 2 Mar 2010 10:00:00 +0000", "x.example", "192.0.2.9", "2010-03-02T10:00:00Z", "ESMTPSA" },
	};
	struct mail_received r;
	char t[TIME_ISO_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(mail_parse_received(cases[i].in, strlen(cases[i].in), &r));
		if (strcmp(r.helo, cases[i].helo) != 0)
			fail_msg("case %zu: helo '%s', want '%s'", i, r.helo, cases[i].helo);
		if (cases[i].ip ? !r.have_ip || strcmp(r.ip, cases[i].ip) != 0 : r.have_ip)
			fail_msg("case %zu: ip '%s', want '%s'", i, r.have_ip ? r.ip : "(none)",
				 cases[i].ip ? cases[i].ip : "(none)");
		if (cases[i].ts) {
			assert_true(r.have_ts);
			assert_string_equal(time_format_iso(r.ts, t), cases[i].ts);
		}
		if (strcmp(r.with, cases[i].with) != 0)
			fail_msg("case %zu: with '%s', want '%s'", i, r.with, cases[i].with);
	}
}

/* a message as a quarantine keeps it: delivery headers, local hops, the
 * external hop, then the sender's own headers */
static const char quarantined[] =
	"Return-Path: <bounce@spam.example>\n"
	"X-Original-To: victim@trap.example\n"
	"Delivered-To: victim@trap.example\n"
	"Received: from localhost (localhost [127.0.0.1])\n"
	"\tby mail.trap.example (Postfix) with ESMTP id AAA; Thu, 17 Mar 2011 10:00:05 +0000\n"
	"Received: from relay.trap.example (relay.trap.example [192.0.2.10])\n"
	"\tby mail.trap.example (Postfix) with ESMTP id BBB; Thu, 17 Mar 2011 10:00:04 +0000\n"
	"Received: from bot-PC (dsl.example.net [198.51.100.23])\n"
	"\tby relay.trap.example (Postfix) with SMTP id CCC; Thu, 17 Mar 2011 10:00:03 +0000\n"
	"X-Spam-Status: Yes, score=12.3\n"
	"Received: from forged.example ([10.0.0.1]) by fake.example; Thu, 17 Mar 2011 09:00:00 +0000\n"
	"Message-ID: <4D7A2C1B.3F09@mail.example.com>\n"
	"Date: Thu, 17 Mar 2011 11:00:02 +0100\n"
	"From: \"Pharmacy\" <Sales@Spam.Example>\n"
	"To: a@trap.example, b@trap.example\n"
	"Cc: Team: c@trap.example, d@trap.example;\n"
	"Subject: =?UTF-8?B?VmlhZ3JhIMOgIHByaXg=?=\n"
	"X-Mailer: Microsoft Outlook Express 6.00.2900.2180\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/alternative; boundary=\"----=_NextPart_000_0012_01C9A4B5.3E8F2C00\"\n"
	"\n"
	"------=_NextPart_000_0012_01C9A4B5.3E8F2C00\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Buy now at http://www.pills.example/buy?id=3D7. Caf=E9!\n"
	"------=_NextPart_000_0012_01C9A4B5.3E8F2C00\n"
	"Content-Type: text/html; charset=iso-8859-1\n"
	"\n"
	"<html><body><a href=\"http://click.example/x\">Buy</a> &amp; save</body></html>\n"
	"------=_NextPart_000_0012_01C9A4B5.3E8F2C00--\n";

static void test_quarantined(void **state)
{
	struct mail_features f;
	struct mail_context ctx = { 0 };
	struct ip_cidr trusted;
	char t[TIME_ISO_LEN];

	(void)state;
	mail_features_init(&f);
	/* the operator's relay 192.0.2.10 is public: without --trusted it is
	 * the last external relay, as SpamAssassin would find it */
	assert_true(mail_features_extract(&f, quarantined, strlen(quarantined), NULL));
	assert_string_equal(f.client_ip, "192.0.2.10");
	assert_string_equal(f.helo, "relay.trap.example");
	assert_int_equal(f.client_hop, 1);

	/* --trusted 192.0.2.0/24: the bot's hop is the client */
	assert_true(ip_cidr_parse("192.0.2.0/24", &trusted));
	ctx.trusted = &trusted;
	ctx.ntrusted = 1;
	assert_true(mail_features_extract(&f, quarantined, strlen(quarantined), &ctx));
	assert_string_equal(time_format_iso(f.ts, t), "2011-03-17T10:00:05Z");
	assert_int_equal(f.ts_source, MAIL_TS_RECEIVED);
	assert_string_equal(f.client_ip, "198.51.100.23");
	assert_string_equal(f.helo, "bot-PC");
	assert_int_equal(f.client_hop, 2);
	assert_int_equal(f.nreceived, 4);
	assert_int_equal(f.sender_received, 1);
	assert_string_equal(f.envelope_from, "<bounce@spam.example>");
	/* receiving-side headers (X-Spam-Status, the hops above the client) are not the sender's */
	assert_string_equal(f.header_order,
		"Received\nMessage-ID\nDate\nFrom\nTo\nCc\nSubject\nX-Mailer\nMIME-Version\nContent-Type");
	assert_string_equal(f.message_id, "<4D7A2C1B.3F09@mail.example.com>");
	assert_string_equal(f.msgid_shape, "<UHEX8.UHEX4@DOMAIN>");
	assert_string_equal(f.date_shape, "Www, D Mmm YYYY HH:MM:SS +ZZZZ");
	assert_string_equal(f.subject, "Viagra \xc3\xa0 prix");
	assert_string_equal(f.x_mailer, "Microsoft Outlook Express 6.00.2900.2180");
	assert_string_equal(f.from_addr, "sales@spam.example");
	assert_string_equal(f.from_domain, "spam.example");
	assert_int_equal(mail_features_recipients(&f), 4);
	assert_string_equal(f.content_type, "multipart/alternative");
	assert_string_equal(f.mime_structure, "multipart/alternative(text/plain,text/html)");
	assert_string_equal(f.boundary_shape, "----=_ALPHA8_DIGIT3_DIGIT4_UHEX8.UHEX8");
	assert_string_equal(f.charset, "iso-8859-1");
	assert_string_equal(f.transfer_encoding, "quoted-printable");
	assert_string_equal(f.body_text, "Buy now at http://www.pills.example/buy?id=7. Caf\xc3\xa9!");
	assert_int_equal(f.nurls, 2);
	assert_string_equal(f.urls[0], "http://www.pills.example/buy?id=7");
	assert_string_equal(f.url_domains[0], "www.pills.example");
	assert_string_equal(f.url_domains[1], "click.example");
	assert_int_equal(f.warnings, 0);
	assert_int_equal(f.size, strlen(quarantined));
	mail_features_free(&f);
}

static void test_sandbox(void **state)
{
	struct mail_features f;
	static const char sandbox[] =
		"Received: from WIN-7X2 (unknown [10.0.2.15]) by sandbox.lab; Mon, 1 Mar 2010 00:00:00 +0000\n"
		"Received: from localhost ([127.0.0.1]) by sandbox.lab; Mon, 1 Mar 2010 00:00:00 +0000\n"
		"Subject: hi\n\nbody\n";

	(void)state;
	mail_features_init(&f);
	/* every hop private: the topmost non-loopback one */
	mail_features_extract(&f, sandbox, strlen(sandbox), NULL);
	assert_string_equal(f.client_ip, "10.0.2.15");
	assert_string_equal(f.helo, "WIN-7X2");
	assert_int_equal(f.client_hop, 0);
	assert_string_equal(f.header_order, "Received\nSubject");
	mail_features_free(&f);
}

static void test_time_fallbacks(void **state)
{
	struct mail_features f;
	struct mail_context ctx = { 0 };
	char t[TIME_ISO_LEN];
	static const char future[] =
		"Received: from x ([192.0.2.1]) by y; Thu, 1 Jan 2099 00:00:00 +0000\n"
		"Date: Thu, 1 Jan 0102 00:00:00 +0000\n"
		"Subject: dates\n\nbody\n";
	static const char dated[] = "Date: Wed, 16 Mar 2011 15:30:00 +0000\nSubject: x\n\nbody\n";

	(void)state;
	mail_features_init(&f);
	ctx.have_mtime = true;
	assert_true(time_parse_iso("2011-04-01", &ctx.mtime));
	/* Received in 2099 and Date in 0102 are implausible: the From_ line wins */
	ctx.have_from_line = true;
	ctx.from_line_ts_ok = true;
	assert_true(time_parse_iso("2011-03-20T01:02:03Z", &ctx.from_line_ts));
	mail_features_extract(&f, future, strlen(future), &ctx);
	assert_string_equal(time_format_iso(f.ts, t), "2011-03-20T01:02:03Z");
	assert_int_equal(f.ts_source, MAIL_TS_FROM_LINE);
	assert_true(f.warnings & MAIL_WARN_DATE);
	/* no From_ line: the mtime */
	ctx.have_from_line = false;
	mail_features_extract(&f, future, strlen(future), &ctx);
	assert_int_equal(f.ts_source, MAIL_TS_MTIME);
	assert_string_equal(time_format_iso(f.ts, t), "2011-04-01T00:00:00Z");
	/* Date: when nothing better */
	mail_features_extract(&f, dated, strlen(dated), &ctx);
	assert_int_equal(f.ts_source, MAIL_TS_DATE);
	assert_string_equal(time_format_iso(f.ts, t), "2011-03-16T15:30:00Z");
	/* the session's clock beats everything */
	ctx.have_ts = true;
	ctx.ts = 1300000000;
	mail_features_extract(&f, dated, strlen(dated), &ctx);
	assert_int_equal(f.ts_source, MAIL_TS_SESSION);
	assert_int_equal(f.ts, 1300000000);
	mail_features_free(&f);
}

static void test_hostile(void **state)
{
	struct mail_features f;
	struct buf b = BUF_INIT;
	int i;

	(void)state;
	mail_features_init(&f);

	/* NUL bytes */
	buf_add(&b, "Subject: a\0b\n\nbo\0dy\n", 20);
	assert_true(mail_features_extract(&f, b.data, b.len, NULL));
	assert_true(f.warnings & MAIL_WARN_NUL);

	/* headers only */
	assert_true(mail_features_extract(&f, "Subject: x\nFrom: a@b\n", 21, NULL));
	assert_true(f.warnings & MAIL_WARN_HEADERS_ONLY);

	/* a 1 MB header line */
	buf_reset(&b);
	buf_addstr(&b, "Subject: ");
	for (i = 0; i < 1024 * 1024; i++)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\nMessage-ID: <a@b>\n\nbody\n");
	assert_true(mail_features_extract(&f, b.data, b.len, NULL));
	assert_true(f.warnings & MAIL_WARN_LONG_HEADER);
	assert_true(strlen(f.subject) <= 998);
	assert_string_equal(f.message_id, "<a@b>");

	/* 100,000 headers: the first LIMIT_HEADER_COUNT are examined */
	buf_reset(&b);
	for (i = 0; i < 100000; i++)
		buf_printf(&b, "X-H%d: v\n", i);
	buf_addstr(&b, "\nbody\n");
	assert_true(mail_features_extract(&f, b.data, b.len, NULL));
	assert_true(f.warnings & MAIL_WARN_MANY_HEADERS);
	assert_int_equal(f.nheaders, limit(LIMIT_HEADER_COUNT));

	/* MIME nested 1,000 deep */
	buf_reset(&b);
	buf_addstr(&b, "MIME-Version: 1.0\n");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
	buf_addstr(&b, "Content-Type: text/plain\n\ndeep\n");
	for (i = 999; i >= 0; i--)
		buf_printf(&b, "--b%d--\n", i);
	assert_true(mail_features_extract(&f, b.data, b.len, NULL));
	assert_true(f.warnings & MAIL_WARN_MIME_DEPTH);

	/* broken base64 and quoted-printable, unknown charset */
	assert_true(mail_features_extract(&f,
		"Content-Type: text/plain; charset=x-no-such-charset\n"
		"Content-Transfer-Encoding: base64\n\nSGVsbG8g!!d29ybGQ=\n", 98, NULL));
	assert_true(f.warnings & MAIL_WARN_BAD_ENCODING);
	assert_true(f.warnings & MAIL_WARN_BAD_CHARSET);
	assert_true(mail_features_extract(&f,
		"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
		"bad =ZZ escape\n", 86, NULL));
	assert_true(f.warnings & MAIL_WARN_BAD_ENCODING);

	/* a Content-Type parameter whose name is 31 bytes 0xff then
	 * "boundary" (found by fuzz/mail_fuzz.sh, minimised): there is no
	 * boundary parameter, and GMime's g_mime_multipart_get_boundary made
	 * one up and re-encoded the list, which grew without bound (4 GB
	 * asked for, the process aborted). The parameter as parsed: none,
	 * so no shape. */
	{
		static const char no_boundary[] = "e:\nContent-Type:multipart/e;"
						  "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
						  "boundary=\xa6";

		assert_true(mail_features_extract(&f, no_boundary, sizeof(no_boundary) - 1, NULL));
		assert_null(f.boundary_shape);
	}

	/* binary garbage has no header fields */
	buf_reset(&b);
	for (i = 0; i < 4096; i++)
		buf_addch(&b, (char)((i * 7919) & 0xff) | 1);
	assert_false(mail_features_extract(&f, "\x01\x02\xff\xfe garbage", 12, NULL));
	assert_false(mail_features_extract(&f, "", 0, NULL));

	buf_free(&b);
	mail_features_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_date_shapes),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_quarantined),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_time_fallbacks),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
