/*
 * test_sim_scenario.c - the scenario parser: a minimal scenario parses into
 * the sources, events and claims it says; malformed files fail with the
 * file and line of the fault and a message that names it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sim/sim.h"
#include "util/buf.h"
#include "util/timeutil.h"

static const char good[] =
	"# a comment\n"
	"[scenario]\n"
	"name = tiny\n"
	"start = 2011-03-01\n"
	"end = 2011-03-02\n"
	"\n"
	"[template t]\n"
	"domains = a.example\n"
	"subject = Hi {first}\n"
	"body =\n"
	"| line one {url}\n"
	"| line two\n"
	"\n"
	"[family fam]\n"
	"rate = 10\n"
	"pool = 100\n"
	"pause = 2011-03-01T06:00 2011-03-01T08:00 0.5\n"
	"level = 2011-03-01T12:00 2\n"
	"takedown = 2011-03-01T20:00\n"
	"templates = t\n"
	"header = Message-ID: <{hex:8}@x.example>\n"
	"header = Subject: {subject}\n"
	"header@2011-03-01T10:00 = Message-ID: <{hex:12}@x.example>\n"
	"\n"
	"[unknown]\n"
	"rate = 1\n"
	"pool = 10\n"
	"\n"
	"[claim c1]\n"
	"kind = share\n"
	"family = fam\n"
	"from = 2011-03-01\n"
	"to = 2011-03-02\n"
	"value = 0.9\n"
	"tolerance = 0.1\n"
	"source = invented\n";

static void test_good(void **state)
{
	char err[256] = "";
	sim_scenario *s = sim_scenario_parse(good, strlen(good), "tiny.conf", err, sizeof(err));
	const struct sim_event *e;
	const struct sim_claim *c;
	char iso[TIME_ISO_LEN];
	static const struct { const char *type; const char *at; } want[] = {
		{ "ceased", "2011-03-01T06:00:00Z" },
		{ "resumed", "2011-03-01T08:00:00Z" },
		{ "surge", "2011-03-01T12:00:00Z" },
		{ "ceased", "2011-03-01T20:00:00Z" },
	};
	size_t i;

	(void)state;
	if (!s)
		fail_msg("parse: %s", err);
	assert_string_equal(sim_scenario_name(s), "tiny");
	assert_int_equal(sim_source_count(s), 2);
	assert_string_equal(sim_source(s, 0)->label, "fam");
	assert_string_equal(sim_source(s, 1)->label, "unknown");
	assert_int_equal(sim_source_index(s, "unknown"), 1);
	assert_int_equal(sim_source_index(s, "nope"), -1);
	assert_int_equal(sim_event_count(s), 4);
	for (i = 0; i < 4; i++) {
		e = sim_event(s, i);
		time_format_iso(e->at, iso);
		if (strcmp(sim_event_type_name(e->type), want[i].type) || strcmp(iso, want[i].at))
			fail_msg("event %zu: got %s %s, want %s %s", i, sim_event_type_name(e->type), iso,
				 want[i].type, want[i].at);
	}
	assert_int_equal(sim_claim_count(s), 1);
	c = sim_claim(s, 0);
	assert_int_equal(c->kind, SIM_CLAIM_SHARE);
	assert_string_equal(c->family, "fam");
	assert_true(c->value > 0.89 && c->value < 0.91);
	assert_string_equal(c->source, "invented");
	sim_scenario_free(s);
}

/* Each case replaces one line of the good file (or appends) and names the error. */
static void test_malformed(void **state)
{
	static const struct {
		const char *find, *replace;   /* replace the first line holding find */
		const char *want;             /* substring of the error */
	} cases[] = {
		{ "name = tiny", "name tiny", "tiny.conf:3: expected 'key = value'" },
		{ "[scenario]", "[scenery]", "tiny.conf:2: unknown section [scenery]" },
		{ "[family fam]", "[family]", "tiny.conf:14: [family] needs a name" },
		{ "[family fam]", "[family Fam]", "tiny.conf:14: name 'Fam'" },
		{ "rate = 10", "rate = lots", "tiny.conf:15: rate: expected a number" },
		{ "rate = 10", "rate = -1", "tiny.conf:15: rate: expected a number" },
		{ "pool = 100", "pool = 100\ncolour = blue", "tiny.conf:17: unknown key 'colour'" },
		{ "end = 2011-03-02", "end = 2011-02-28", "tiny.conf:5: end must come after start" },
		{ "end = 2011-03-02", "end = tomorrow", "tiny.conf:5: [scenario] needs 'end" },
		{ "pause = 2011-03-01T06:00 2011-03-01T08:00 0.5", "pause = 2011-03-01T08:00 2011-03-01T06:00",
		  "tiny.conf:17: pause: end before start" },
		{ "pause = 2011-03-01T06:00 2011-03-01T08:00 0.5", "pause = 2011-04-01T06:00 2011-04-01T08:00",
		  "tiny.conf:17: pause: time outside the scenario" },
		{ "level = 2011-03-01T12:00 2", "level = 2011-03-01T12:00 1", "tiny.conf:18: level: expected 'AT FACTOR'" },
		{ "level = 2011-03-01T12:00 2", "level = 2011-03-01T07:00 2", "tiny.conf:18: level during a pause" },
		{ "takedown = 2011-03-01T20:00", "takedown = 2011-03-01T11:00",
		  "tiny.conf:19: takedown: events of a family must be in time order" },
		{ "templates = t", "templates = nosuch", "tiny.conf:20: templates: no [template nosuch]" },
		{ "header = Message-ID: <{hex:8}@x.example>", "header = X-Id: <{hex:8}@x.example>",
		  "the header lines need a Message-ID" },
		{ "header = Subject: {subject}", "header = Subject: {subjekt}",
		  "tiny.conf:22: header: unknown template variable {subjekt}" },
		{ "header = Subject: {subject}", "header = Subject: {hex:99}", "tiny.conf:22: header: {hex:N}" },
		{ "header = Subject: {subject}", "header = Subject: {subject", "tiny.conf:22: header: unterminated '{'" },
		{ "header = Subject: {subject}", "header = Subject: }", "tiny.conf:22: header: unmatched '}'" },
		{ "subject = Hi {first}", "subject = Hi {date:martian}", "tiny.conf:9: subject: {date:martian}" },
		{ "| line one {url}", "x line one", "tiny.conf:11: expected 'key = value'" },
		{ "header@2011-03-01T10:00 = Message-ID: <{hex:12}@x.example>",
		  "header@2012-01-01 = Message-ID: <{hex:12}@x.example>", "tiny.conf:23: header@: the date must fall inside" },
		{ "header@2011-03-01T10:00 = Message-ID: <{hex:12}@x.example>",
		  "header@soon = X: y", "tiny.conf:23: 'header@soon': expected an ISO 8601 time" },
		{ "rate = 1\n", "rate = 1\npool = 5", "tiny.conf:28: 'pool' given twice" },
		{ "kind = share", "kind = vibes", "tiny.conf:30: kind: 'vibes' is not share" },
		{ "family = fam", "family = ghost", "tiny.conf:31: family: no family 'ghost'" },
		{ "source = invented", "# no source", "tiny.conf:29: [claim c1] needs 'source'" },
		{ "value = 0.9", "value = 0.9x", "tiny.conf:34: value: expected a number" },
		{ "# a comment", "[scenario]\nstart = 2011-03-01\nend = 2011-03-02", "a second [scenario] section" },
		{ "[unknown]", "[unknown]\nheader = X: y", "tiny.conf:26: unknown key 'header'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		const char *at = strstr(good, cases[i].find);
		const char *eol;
		char err[512] = "";
		sim_scenario *s;

		assert_non_null(at);
		eol = strchr(at, '\n');
		buf_add(&b, good, (size_t)(at - good));
		buf_addstr(&b, cases[i].replace);
		buf_addstr(&b, eol);
		s = sim_scenario_parse(b.data, b.len, "tiny.conf", err, sizeof(err));
		if (s) {
			sim_scenario_free(s);
			fail_msg("case %zu ('%s'): parsed, want error '%s'", i, cases[i].replace, cases[i].want);
		}
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu ('%s'):\n  got  '%s'\n  want '%s'", i, cases[i].replace, err,
				 cases[i].want);
		buf_free(&b);
	}
}

static void test_load_errors(void **state)
{
	char err[512] = "";

	(void)state;
	assert_null(sim_scenario_load("no-such-scenario", err, sizeof(err)));
	assert_non_null(strstr(err, "no-such-scenario"));
	assert_non_null(strstr(err, "rustock-2011"));   /* lists the built-in ones */
	assert_null(sim_scenario_load("/nonexistent/x.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.conf"));
	assert_null(sim_scenario_parse("", 0, "empty.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "empty.conf:1: no [scenario] section"));
	{
		const char *nosrc = "[scenario]\nstart = 2011-01-01\nend = 2011-01-02\n";

		assert_null(sim_scenario_parse(nosrc, strlen(nosrc), "nosrc.conf", err, sizeof(err)));
	}
	assert_non_null(strstr(err, "needs 1 to"));
	assert_null(sim_scenario_parse("[scenario]\nsta\0rt = 1\n", 22, "nul.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "nul.conf:2: NUL byte"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
