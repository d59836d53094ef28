/*
 * test_attrib.c - rule files (and their errors), scoring, learning that
 * keeps hand edits, campaign ids.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "attrib/attrib.h"
#include "mail/features.h"
#include "util/buf.h"

static int setup(void **state)
{
	(void)state;
	mail_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mail_shutdown();
	return 0;
}

static void test_rule_errors(void **state)
{
	static const struct { const char *text; const char *want; } cases[] = {
		{ "", "no 'family NAME' statement" },
		{ "# only a comment\n", "no 'family NAME' statement" },
		{ "description x\nfamily a\n", "x.rule:1: the first statement must be 'family NAME'" },
		{ "family Bad\n", "x.rule:1: family names are lower-case words" },
		{ "family unknown\n", "x.rule:1: 'unknown' is not a family name" },
		{ "family a\n", "family a has no feature lines" },
		{ "family a\n\nbogus_kind = \"x\"\n", "x.rule:3: unknown feature 'bogus_kind'" },
		{ "family a\nx_mailer \"x\"\n", "x.rule:2: expected = or ~" },
		{ "family a\nx_mailer = \"unterminated\n", "x.rule:2: unterminated quoted value" },
		{ "family a\nx_mailer = bare\n", "x.rule:2: expected a quoted value" },
		{ "family a\nx_mailer ~ /(unclosed/\n", "x.rule:2: bad pattern at offset" },
		{ "family a\nx_mailer ~ /x/z\n", "x.rule:2: unknown pattern flag" },
		{ "family a\nx_mailer = \"x\" weight\n", "x.rule:2: weight needs a number" },
		{ "family a\nx_mailer = \"x\" weight -1\n", "x.rule:2: weight: not a non-negative number" },
		{ "family a\nx_mailer = \"x\" colour red\n", "x.rule:2: unexpected 'colour'" },
		{ "family a\nthreshold 2\nx_mailer = \"x\"\n", "x.rule:2: threshold above 1" },
		{ "family a\nfamily b\n", "x.rule:2: a second 'family' statement" },
		{ "family a\nhas\n", "x.rule:2: has needs a header name" },
		{ "family a\nheader: = \"x\"\n", "x.rule:2: unknown feature 'header:'" },
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		attrib_kb *kb = attrib_kb_parse("x.rule", cases[i].text, strlen(cases[i].text), err,
						sizeof(err));

		if (kb) {
			attrib_kb_free(kb);
			fail_msg("case %zu parsed but should not: %s", i, cases[i].text);
		}
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
	}
	{
		static const char nul[] = "family a\0x";
		attrib_kb *kb = attrib_kb_parse("x.rule", nul, sizeof(nul) - 1, err, sizeof(err));

		assert_null(kb);
		assert_non_null(strstr(err, "NUL"));
	}
}

/* a small hand-made family: header order and Message-ID shape */
static const char rule[] =
	"# a test family\n"
	"family alpha\n"
	"description test\n"
	"source unit test\n"
	"header_order = \"Message-ID Date From To Subject MIME-Version Content-Type\" weight 3\n"
	"msgid_shape = \"<HEX16@DOMAIN>\" weight 2\n"
	"x_mailer = \"\" weight 1\n"
	"x_mailer ~ /^AlphaMailer [0-9.]+$/\n"
	"has X-Alpha\n";

static void vec(struct attrib_vector *v, const char *order, const char *msgid, const char *xm,
		bool alpha_header)
{
	attrib_vector_reset(v);
	attrib_vector_add(v, "header_order", order);
	attrib_vector_add(v, "msgid_shape", msgid);
	attrib_vector_add(v, "x_mailer", xm);
	if (alpha_header)
		attrib_vector_add(v, "header:X-Alpha", "1");
}

static void test_scoring(void **state)
{
	char err[256];
	attrib_kb *kb = attrib_kb_parse("alpha.rule", rule, strlen(rule), err, sizeof(err));
	struct attrib_vector v;
	struct attrib_result r;

	(void)state;
	assert_non_null(kb);
	attrib_vector_init(&v);

	/* everything matches */
	vec(&v, "Message-ID Date From To Subject MIME-Version Content-Type", "<HEX16@DOMAIN>", "", true);
	attrib_classify(kb, &v, &r);
	assert_string_equal(r.family, "alpha");
	assert_true(r.score > 0.99);
	assert_true(r.confidence > 0.9);

	/* a bot update: one header added, a longer Message-ID, a pattern-matched X-Mailer */
	vec(&v, "Message-ID Date From To Subject X-New MIME-Version Content-Type", "<HEX20@DOMAIN>",
	    "AlphaMailer 2.1", true);
	attrib_classify(kb, &v, &r);
	assert_string_equal(r.family, "alpha");
	if (!(r.score > 0.75 && r.score < 0.99))
		fail_msg("updated bot scores %.3f", r.score);

	/* an added X-Mailer is an update (absent on one side): still alpha */
	vec(&v, "Message-ID Date From To Subject X-Mailer MIME-Version Content-Type", "<HEX16@DOMAIN>",
	    "NewMailer 1.0", true);
	attrib_classify(kb, &v, &r);
	assert_string_equal(r.family, "alpha");

	/* the same layout with another Message-ID altogether: other software */
	vec(&v, "Message-ID Date From To Subject MIME-Version Content-Type", "<DIGIT14.DIGIT5@IP>", "",
	    true);
	attrib_classify(kb, &v, &r);
	assert_string_equal(r.family, "unknown");

	/* another program entirely: unknown, never the nearest family */
	vec(&v, "Received From To Subject Date Message-ID", "<DIGIT14.DIGIT5@IP>", "Outlook", false);
	attrib_classify(kb, &v, &r);
	assert_string_equal(r.family, "unknown");
	if (!(r.score < 0.5))
		fail_msg("another program scores %.3f", r.score);

	/* an empty knowledge base claims nothing */
	attrib_classify(NULL, &v, &r);
	assert_string_equal(r.family, "unknown");

	attrib_vector_free(&v);
	attrib_kb_free(kb);
}

/*
 * Near families, alike in all but two traits each always writes, neither
 * written in another form altogether (each a partial match): the order of
 * two of twelve headers (weight 3) and the Date form, UTC or local (weight
 * 1.4). A message with one's order and the other's Date form scores about
 * as well for both; the order tells them apart (the Date's zone is the
 * machine's: it never does), also when the Date form weighs enough to give
 * the other family the higher score. Two families alike in everything:
 * unknown.
 */
#define NEAR_RULE(name, order, date, date_weight) \
	"family " name "\nlearned 300\n" \
	"header_order = \"" order "\" weight 3 seen 300\n" \
	"date_shape = \"" date "\" weight " date_weight " seen 300\n" \
	"msgid_shape = \"<HEX8@DOMAIN>\" weight 2 seen 300\n" \
	"charset = \"koi8-r\" weight 0.5 seen 300\n" \
	"to_shape = \"<a@DOMAIN>\" weight 0.5 seen 160\n" \
	"to_shape = \"<X@DOMAIN>\" seen 140\n"

static void write_rule(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.rule", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *near_family(const char *dir, const char *order, const char *date, struct attrib_result *r)
{
	struct attrib_vector v;
	char err[256];
	attrib_kb *kb = attrib_kb_load(dir, err, sizeof(err));

	assert_non_null(kb);
	attrib_vector_init(&v);
	attrib_vector_add(&v, "header_order", order);
	attrib_vector_add(&v, "date_shape", date);
	attrib_vector_add(&v, "msgid_shape", "<HEX8@DOMAIN>");
	attrib_vector_add(&v, "charset", "koi8-r");
	attrib_vector_add(&v, "to_shape", "<a@DOMAIN>");
	attrib_classify(kb, &v, r);
	print_message("  %s %.3f, next %s %.3f: %s\n", r->family, r->score,
		      r->runner_up ? r->runner_up : "-", r->runner_up_score, r->evidence[0]);
	/* the names are the kb's: compare before it goes */
	r->family = strcmp(r->family, "unknown") == 0 ? "unknown" : strcmp(r->family, "wren") == 0 ? "wren" :
		    strcmp(r->family, "robin") == 0 ? "robin" : "other";
	attrib_vector_free(&v);
	attrib_kb_free(kb);
	return r->family;
}

#define WREN_ORDER "Received Message-ID Date From To Subject X-Priority X-MSMail-Priority X-Mailer " \
	"MIME-Version Content-Type Content-Transfer-Encoding"
#define ROBIN_ORDER "Received Message-ID Date To From Subject X-Priority X-MSMail-Priority X-Mailer " \
	"MIME-Version Content-Type Content-Transfer-Encoding"
#define UTC "Www, D Mmm YYYY HH:MM:SS +0000"
#define LOCAL "Www, D Mmm YYYY HH:MM:SS -ZZZZ"

static void test_near_families(void **state)
{
	char dir[] = "/tmp/spamtide-near-XXXXXX", cmd[64];
	struct attrib_result r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_rule(dir, "wren", NEAR_RULE("wren", WREN_ORDER, UTC, "1.4"));
	write_rule(dir, "robin", NEAR_RULE("robin", ROBIN_ORDER, LOCAL, "1.4"));
	assert_string_equal(near_family(dir, WREN_ORDER, UTC, &r), "wren");
	assert_string_equal(near_family(dir, ROBIN_ORDER, LOCAL, &r), "robin");
	/* the order against the Date form: the order's family */
	assert_string_equal(near_family(dir, WREN_ORDER, LOCAL, &r), "wren");
	assert_true(fabs(r.score - r.runner_up_score) < 0.02);
	assert_non_null(strstr(r.evidence[0], "told apart by header_order"));
	assert_string_equal(near_family(dir, ROBIN_ORDER, UTC, &r), "robin");
	assert_non_null(strstr(r.evidence[0], "told apart by header_order"));
	/* the Date form weighing more, the local one gives robin the higher
	 * score; the order, wren's, still tells them apart */
	write_rule(dir, "wren", NEAR_RULE("wren", WREN_ORDER, UTC, "3"));
	write_rule(dir, "robin", NEAR_RULE("robin", ROBIN_ORDER, LOCAL, "3"));
	assert_string_equal(near_family(dir, WREN_ORDER, LOCAL, &r), "wren");
	assert_true(r.runner_up_score > r.score);
	assert_non_null(strstr(r.evidence[0], "told apart by header_order"));
	/* alike in everything: neither */
	write_rule(dir, "robin", NEAR_RULE("robin", WREN_ORDER, UTC, "3"));
	assert_string_equal(near_family(dir, WREN_ORDER, UTC, &r), "unknown");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_vector_roundtrip(void **state)
{
	struct attrib_vector a, b;
	struct buf s = BUF_INIT;

	(void)state;
	attrib_vector_init(&a);
	attrib_vector_init(&b);
	attrib_vector_add(&a, "header_order", "A B\tC");
	attrib_vector_add(&a, "x_mailer", "back\\slash\nnewline");
	attrib_vector_add(&a, "dialect.helo_verb", "EHLO");
	attrib_vector_serialize(&a, &s);
	assert_true(attrib_vector_parse(&b, s.data, s.len));
	/* the dialect is left to the store's own columns... */
	assert_int_equal(b.n, 2);
	assert_string_equal(attrib_vector_value(&b, "header_order"), "A B\tC");
	assert_string_equal(attrib_vector_value(&b, "x_mailer"), "back\\slash\nnewline");
	assert_false(b.have_dialect);
	/* ...and given back from them */
	attrib_vector_add_dialect(&b, "dialect:0011aabb", "helo_verb=EHLO\nmail_syntax=MAIL FROM:<addr>");
	assert_true(b.have_dialect);
	assert_string_equal(attrib_vector_value(&b, "dialect_id"), "dialect:0011aabb");
	assert_string_equal(attrib_vector_value(&b, "dialect.mail_syntax"), "MAIL FROM:<addr>");
	assert_false(attrib_vector_parse(&b, "no tab here\n", 12));
	buf_free(&s);
	attrib_vector_free(&a);
	attrib_vector_free(&b);
}

/*
 * The greeting, the same whatever the route: a session's own (its
 * helo_syntax fact) and a file's, from the receiving hop's "with".
 */
static void test_greeting(void **state)
{
	static const char with_esmtp[] =
		"Received: from bot1 (unknown [198.51.100.7])\n"
		"\tby mx.example.net (Postfix) with ESMTPS id 1A2B; Wed, 16 Mar 2011 15:29:41 +0000\n"
		"From: <a@example.com>\nTo: <b@example.org>\nSubject: hi\nMessage-ID: <1@x>\n\nbody\n";
	static const char with_smtp[] =
		"Received: from bot2 (unknown [198.51.100.8])\n"
		"\tby mx.example.net with SMTP; Wed, 16 Mar 2011 15:29:41 +0000\n"
		"From: <a@example.com>\nSubject: hi\nMessage-ID: <2@x>\n\nbody\n";
	static const char no_hop[] = "From: <a@example.com>\nSubject: hi\nMessage-ID: <3@x>\n\nbody\n";
	struct mail_features f;
	struct attrib_vector v;
	struct attrib_session ses = { "dialect:01020304", "helo_syntax=helo <host>\nmail_syntax=MAIL FROM:<addr>",
				       false };

	(void)state;
	mail_features_init(&f);
	attrib_vector_init(&v);
	assert_true(mail_features_extract(&f, with_esmtp, sizeof(with_esmtp) - 1, NULL));
	attrib_vector_build(&v, &f, NULL);
	assert_string_equal(attrib_vector_value(&v, "greeting"), "ehlo");
	assert_true(mail_features_extract(&f, with_smtp, sizeof(with_smtp) - 1, NULL));
	attrib_vector_build(&v, &f, NULL);
	assert_string_equal(attrib_vector_value(&v, "greeting"), "helo");
	assert_true(mail_features_extract(&f, no_hop, sizeof(no_hop) - 1, NULL));
	attrib_vector_build(&v, &f, NULL);
	assert_null(attrib_vector_value(&v, "greeting"));
	/* a session says it itself, whatever the message holds */
	attrib_vector_build(&v, &f, &ses);
	assert_string_equal(attrib_vector_value(&v, "greeting"), "helo");
	attrib_vector_free(&v);
	mail_features_free(&f);
}

static void test_learn_keeps_edits(void **state)
{
	attrib_learner *l = attrib_learner_new("beta");
	struct attrib_vector v;
	struct buf out = BUF_INIT, sum = BUF_INIT, out2 = BUF_INIT, edited = BUF_INIT;
	char err[256];
	attrib_kb *kb;
	const char *p;
	int i;

	(void)state;
	attrib_vector_init(&v);
	for (i = 0; i < 50; i++) {
		vec(&v, "From To Subject Date", i % 10 == 0 ? "<DIGIT8@DOMAIN>" : "<HEX12@DOMAIN>",
		    "BetaMail", true);
		attrib_vector_add(&v, "url_shape", i % 2 ? "http://HOST2/a" : "http://IP/9");
		attrib_learner_add(l, &v);
	}
	assert_true(attrib_learner_write(l, NULL, 0, "unit", &out, &sum, err, sizeof(err)));
	assert_non_null(strstr(out.data, "family beta\n"));
	assert_non_null(strstr(out.data, "header_order = \"From To Subject Date\""));
	assert_non_null(strstr(out.data, "msgid_shape = \"<HEX12@DOMAIN>\""));
	assert_non_null(strstr(out.data, "seen 45"));
	assert_non_null(strstr(out.data, "x_mailer = \"BetaMail\""));
	kb = attrib_kb_parse("beta.rule", out.data, out.len, err, sizeof(err));
	if (!kb)
		fail_msg("learned file does not parse: %s\n%s", err, out.data);
	attrib_kb_free(kb);

	/* an analyst edits the file: a comment, a weight, a pattern */
	p = strstr(out.data, "x_mailer = \"BetaMail\"");
	assert_non_null(p);
	buf_add(&edited, out.data, (size_t)(p - out.data));
	buf_addstr(&edited, "# analyst: BetaMail is the tell\nx_mailer = \"BetaMail\" weight 9\n"
			    "x_mailer ~ /^BetaMail/i\n");
	p = strchr(p, '\n') + 1;
	buf_addstr(&edited, p);

	/* more samples, with a new Message-ID shape */
	attrib_learner_free(l);
	l = attrib_learner_new("beta");
	for (i = 0; i < 20; i++) {
		vec(&v, "From To Subject Date", "<HEX14@DOMAIN>", "BetaMail", true);
		attrib_learner_add(l, &v);
	}
	buf_reset(&sum);
	assert_true(attrib_learner_write(l, edited.data, edited.len, "unit 2", &out2, &sum, err,
					 sizeof(err)));
	if (!strstr(out2.data, "# analyst: BetaMail is the tell\n") ||
	    !strstr(out2.data, "x_mailer = \"BetaMail\" weight 9.00 seen 20\n") ||
	    strstr(out2.data, "learned 70\nlearned") ||
	    !strstr(out2.data, "x_mailer ~ /^BetaMail/i\n") ||
	    !strstr(out2.data, "msgid_shape = \"<HEX14@DOMAIN>\" seen 20") ||
	    !strstr(out2.data, "learned 70\n"))
		fail_msg("extended file lost something:\n%s", out2.data);
	kb = attrib_kb_parse("beta.rule", out2.data, out2.len, err, sizeof(err));
	if (!kb)
		fail_msg("extended file does not parse: %s\n%s", err, out2.data);
	attrib_kb_free(kb);

	/* the existing file must be the same family */
	buf_reset(&out2);
	attrib_learner_free(l);
	l = attrib_learner_new("gamma");
	attrib_learner_add(l, &v);
	assert_false(attrib_learner_write(l, edited.data, edited.len, NULL, &out2, &sum, err,
					  sizeof(err)));
	assert_non_null(strstr(err, "for family beta"));

	attrib_learner_free(l);
	attrib_vector_free(&v);
	buf_free(&edited);
	buf_free(&out);
	buf_free(&out2);
	buf_free(&sum);
}

static void test_campaign(void **state)
{
	struct mail_features f;
	char a[24], b[24], c[24];
	static const char m1[] = "Subject: Cheap meds for John\n\nDear John, our online pharmacy has the "
				 "best prices on all medications. Visit http://a1.example/x?id=1 today "
				 "and save 80 percent on every order you place with us this week.\n";
	static const char m2[] = "Subject: Cheap meds for Mary\n\nDear Mary, our online pharmacy has the "
				 "best prices on all medications. Visit http://b7.example/y?id=99 today "
				 "and save 75 percent on every order you place with us this week.\n";
	static const char m3[] = "Subject: Meeting notes\n\nHi team, attached are the notes from "
				 "yesterday's planning meeting about the quarterly budget review.\n";

	(void)state;
	mail_features_init(&f);
	mail_features_extract(&f, m1, strlen(m1), NULL);
	attrib_campaign(&f, a);
	mail_features_extract(&f, m2, strlen(m2), NULL);
	attrib_campaign(&f, b);
	mail_features_extract(&f, m3, strlen(m3), NULL);
	attrib_campaign(&f, c);
	assert_int_equal(strncmp(a, "campaign:", 9), 0);
	assert_int_equal(strlen(a), 17);
	assert_string_equal(a, b);      /* one template, other names, numbers and links */
	assert_string_not_equal(a, c);
	/* the same message gives the same id every time */
	mail_features_extract(&f, m1, strlen(m1), NULL);
	attrib_campaign(&f, b);
	assert_string_equal(a, b);
	mail_features_extract(&f, "Subject: \n\n12345\n", 16, NULL);
	attrib_campaign(&f, c);
	assert_string_equal(c, "");
	mail_features_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_scoring),
		cmocka_unit_test(test_near_families),
		cmocka_unit_test(test_vector_roundtrip),
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_learn_keeps_edits),
		cmocka_unit_test(test_campaign),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
