/*
 * test_sim_gen.c - the message stream: deterministic for a seed, different
 * across seeds, unique Message-IDs, envelopes that match the commands and
 * headers, events at the minutes the messages show, sandbox mode, --max.
 * Uses the small built-in scenario three-day.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "sim/sim.h"
#include "util/hash.h"
#include "util/ip.h"
#include "util/timeutil.h"

static sim_scenario *load(const char *name)
{
	char err[512];
	sim_scenario *s = sim_scenario_load(name, err, sizeof(err));

	if (!s)
		fail_msg("load %s: %s", name, err);
	return s;
}

/* digest: a hash of everything the stream says about every message. */
static uint64_t digest(const sim_scenario *s, uint64_t seed, bool envelope_only, size_t *count)
{
	struct sim_options o = { .seed = seed, .envelope_only = envelope_only };
	char err[256];
	sim_gen *g = sim_gen_new(s, &o, err, sizeof(err));
	const struct sim_message *m;
	uint64_t h = 7;
	size_t i;

	assert_non_null(g);
	*count = 0;
	while ((m = sim_gen_next(g))) {
		h = hash64(&m->time, sizeof(m->time), h);
		h = hash64(m->label, strlen(m->label), h);
		h = hash64(m->client_text, strlen(m->client_text), h);
		h = hash64(m->helo, strlen(m->helo), h);
		h = hash64(m->message_id, strlen(m->message_id), h);
		for (i = 0; i < m->ncommands; i++)
			h = hash64(m->commands[i], strlen(m->commands[i]), h);
		if (!envelope_only)
			h = hash64(m->data, m->len, h);
		(*count)++;
	}
	sim_gen_free(g);
	return h;
}

static void test_deterministic(void **state)
{
	sim_scenario *s = load("three-day");
	size_t n1, n2, n3;
	uint64_t a = digest(s, 1, false, &n1), b = digest(s, 1, false, &n2), c = digest(s, 2, false, &n3);

	(void)state;
	printf("seed 1: %zu messages, seed 2: %zu\n", n1, n3);
	assert_true(n1 > 3000);
	assert_int_equal(n1, n2);
	assert_true(a == b);
	assert_true(a != c);
	sim_scenario_free(s);
}

/* envelope_only gives the same envelopes and Message-IDs, without bytes. */
static void test_envelope_only(void **state)
{
	sim_scenario *s = load("three-day");
	size_t n1, n2;

	(void)state;
	assert_true(digest(s, 5, true, &n1) == digest(s, 5, true, &n2));
	{
		struct sim_options full = { .seed = 5 }, env = { .seed = 5, .envelope_only = true };
		char err[256];
		sim_gen *g1 = sim_gen_new(s, &full, err, sizeof(err));
		sim_gen *g2 = sim_gen_new(s, &env, err, sizeof(err));
		const struct sim_message *a, *b;

		while ((a = sim_gen_next(g1))) {
			char ida[256];

			snprintf(ida, sizeof(ida), "%s", a->message_id);
			b = sim_gen_next(g2);
			assert_non_null(b);
			assert_string_equal(ida, b->message_id);
			assert_int_equal(b->len, 0);
		}
		assert_null(sim_gen_next(g2));
		sim_gen_free(g1);
		sim_gen_free(g2);
	}
	sim_scenario_free(s);
}

struct check {
	size_t n;
	char **ids;
	size_t per_label[8];
	size_t rcpt_cmds, rcpts;
	uint32_t *minutes;     /* per message: minute since start */
	size_t *sources;
	int64_t start;
	const char *bad;
	uint64_t prev_session;
	unsigned prev_index;
	bool prev_last;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(const struct sim_message *m, void *ctx)
{
	struct check *c = ctx;
	size_t i, rc = 0;
	struct ip_addr ip;
	const char *hdr_end = strstr(m->data, "\r\n\r\n");

	c->ids = realloc(c->ids, (c->n + 1) * sizeof(*c->ids));
	c->minutes = realloc(c->minutes, (c->n + 1) * sizeof(*c->minutes));
	c->sources = realloc(c->sources, (c->n + 1) * sizeof(*c->sources));
	c->ids[c->n] = strdup(m->message_id);
	c->minutes[c->n] = (uint32_t)((m->time - c->start) / 60);
	c->sources[c->n] = m->source;
	c->n++;
	if (m->source < 8)
		c->per_label[m->source]++;
	if (m->message_id[0] != '<' || m->message_id[strlen(m->message_id) - 1] != '>')
		c->bad = "Message-ID without angle brackets";
	if (!strstr(m->data, m->message_id))
		c->bad = "Message-ID not in the message";
	for (i = 0; i < m->ncommands; i++)
		if (!strncasecmp(m->commands[i], "RCPT", 4))
			rc++;
	if (rc != m->nrcpts)
		c->bad = "one RCPT per recipient";
	for (i = 0; i < m->nrcpts && hdr_end; i++) {
		const char *p = strstr(m->data, m->rcpts[i]);

		if (!p || p > hdr_end)
			c->bad = "a recipient missing from the header";
	}
	if (!hdr_end)
		c->bad = "no end of header";
	if (!ip_parse(m->client_text, &ip) || ip_is_local(&ip))
		c->bad = "client address local or unreadable";
	/* sessions are contiguous, numbered from 0, and end with a last message */
	if (c->n > 1 && m->session != c->prev_session && (!c->prev_last || m->index_in_session != 0))
		c->bad = "a session left open or not starting at message 0";
	if (c->n > 1 && m->session == c->prev_session &&
	    (c->prev_last || m->index_in_session != c->prev_index + 1))
		c->bad = "messages of a session not in sequence";
	c->prev_session = m->session;
	c->prev_index = m->index_in_session;
	c->prev_last = m->last_in_session;
	if (m->index_in_session == 0 && strncasecmp(m->commands[0], "EHLO", 4) &&
	    strncasecmp(m->commands[0], "HELO", 4))
		c->bad = "a session that does not start with a greeting";
	return 0;
}

/* count_of: messages of source src (SIZE_MAX: all) in [from, to) UTC. */
static double count_of(const struct check *c, size_t src, int64_t from, int64_t to)
{
	double n = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		int64_t t = c->start + (int64_t)c->minutes[i] * 60;

		if (t >= from && t < to && (src == SIZE_MAX || c->sources[i] == src))
			n++;
	}
	return n;
}

/*
 * check_truth_impact: the impact of a ceased in the truth, worked out again
 * from the messages collected: day over day exactly; against the baseline,
 * the 24 hours after the last message against the same with the family's
 * messages of the 24 hours before it in place of its own (the family sends
 * the same shape every day here, so its count of the day before is its
 * expected count, give or take its bursts). Returns 1.
 */
static int check_truth_impact(const struct check *c, size_t src, int64_t at, json_t *imp)
{
	const int64_t day = 86400;
	int64_t from = at + 60, d0 = at - at % day;
	json_t *dod, *vs;

	assert_true(json_is_object(imp));
	assert_true(json_is_null(json_object_get(imp, "lo95")));
	assert_true(json_is_null(json_object_get(imp, "hi95")));
	dod = json_object_get(imp, "total_change_day_over_day");
	vs = json_object_get(imp, "total_change_vs_baseline");
	if (json_is_real(dod)) {
		double a = count_of(c, SIZE_MAX, d0, d0 + day), b = count_of(c, SIZE_MAX, d0 + day, d0 + 2 * day);

		printf("  day over day %.4f, by hand %.4f\n", json_real_value(dod), (b - a) / a);
		assert_true(fabs(json_real_value(dod) - (b - a) / a) < 1e-9);
	} else {
		assert_true(json_is_null(dod));
	}
	if (json_is_real(vs)) {
		double o = count_of(c, SIZE_MAX, from, from + day);
		double cf = o - count_of(c, src, from, from + day) + count_of(c, src, from - day, from);

		printf("  vs baseline %.4f, by hand %.4f\n", json_real_value(vs), o / cf - 1);
		assert_true(json_real_value(vs) < 0 && json_real_value(vs) > -1);
		assert_true(fabs(json_real_value(vs) - (o / cf - 1)) < 0.05);
	} else {
		assert_true(json_is_null(vs));
	}
	return 1;
}

static void test_stream_properties(void **state)
{
	sim_scenario *s = load("three-day");
	struct sim_options o = { .seed = 3 };
	struct check c = { .start = 0 };
	char err[256];
	sim_gen *g = sim_gen_new(s, &o, err, sizeof(err));
	json_t *events, *e;
	size_t i, k;
	int impact_checked = 0;

	(void)state;
	c.start = sim_scenario_start(s);
	assert_int_equal(sim_run(g, collect, &c), 0);
	if (!c.prev_last)
		c.bad = "the last session is left open";
	if (c.bad)
		fail_msg("%s", c.bad);
	/* unique Message-IDs */
	qsort(c.ids, c.n, sizeof(*c.ids), cmp_str);
	for (i = 1; i < c.n; i++)
		if (!strcmp(c.ids[i - 1], c.ids[i]))
			fail_msg("Message-ID %s twice", c.ids[i]);
	for (i = 0; i < sim_source_count(s); i++) {
		assert_true(c.per_label[i] > 0);
		assert_int_equal(c.per_label[i], sim_gen_label_count(g, i));
	}
	/* events: silence between ceased and resumed, messages just before ceased */
	events = sim_gen_events(g);
	assert_true(json_array_size(events) >= 3);
	json_array_foreach(events, k, e) {
		const char *fam = json_string_value(json_object_get(e, "family"));
		const char *type = json_string_value(json_object_get(e, "type"));
		int src = sim_source_index(s, fam);
		int64_t at, until = sim_scenario_end(s);
		size_t j, before = 0, inside = 0;
		json_t *n;

		assert_true(time_parse_iso(json_string_value(json_object_get(e, "at")), &at));
		assert_true(json_is_real(json_object_get(e, "confidence")));
		assert_true(json_real_value(json_object_get(e, "confidence")) == 1.0);
		if (strcmp(type, "ceased")) {
			assert_true(json_is_null(json_object_get(e, "impact")));
			continue;
		}
		impact_checked += check_truth_impact(&c, (size_t)src, at, json_object_get(e, "impact"));
		for (j = k + 1; (n = json_array_get(events, j)); j++)
			if (!strcmp(json_string_value(json_object_get(n, "family")), fam) &&
			    !strcmp(json_string_value(json_object_get(n, "type")), "resumed")) {
				time_parse_iso(json_string_value(json_object_get(n, "at")), &until);
				break;
			}
		for (i = 0; i < c.n; i++) {
			int64_t t = c.start + (int64_t)c.minutes[i] * 60;

			if ((int)c.sources[i] != src)
				continue;
			if (t > at && t < until)
				inside++;
			if (t <= at && t > at - 30 * 60)
				before++;
		}
		printf("%s ceased at %s: %zu messages in the 30 minutes before, %zu during the silence\n", fam,
		       json_string_value(json_object_get(e, "at")), before, inside);
		assert_int_equal(inside, 0);
		assert_true(before > 0);
	}
	assert_true(impact_checked > 0);
	json_decref(events);
	for (i = 0; i < c.n; i++)
		free(c.ids[i]);
	free(c.ids);
	free(c.minutes);
	free(c.sources);
	sim_gen_free(g);
	sim_scenario_free(s);
}

static void test_sandbox_and_max(void **state)
{
	sim_scenario *s = load("three-day");
	struct sim_options o = { .seed = 1, .sandbox = "wren" };
	char err[256];
	sim_gen *g = sim_gen_new(s, &o, err, sizeof(err));
	const struct sim_message *m;
	size_t n = 0;
	json_t *ev;

	(void)state;
	assert_non_null(g);
	while ((m = sim_gen_next(g))) {
		assert_string_equal(m->label, "wren");
		assert_string_equal(m->client_text, "10.66.6.6");
		n++;
	}
	assert_int_equal(n, 300);
	ev = sim_gen_events(g);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	sim_gen_free(g);

	o.sandbox = "nosuch";
	assert_null(sim_gen_new(s, &o, err, sizeof(err)));
	assert_non_null(strstr(err, "nosuch"));
	o.sandbox = "unknown";
	assert_null(sim_gen_new(s, &o, err, sizeof(err)));

	o.sandbox = NULL;
	o.max = 77;
	g = sim_gen_new(s, &o, err, sizeof(err));
	n = 0;
	while ((m = sim_gen_next(g))) {
		n++;
		if (n == 77)
			assert_true(m->last_in_session);
	}
	assert_int_equal(n, 77);
	sim_gen_free(g);

	/* cut short just after heron's pause began (message 2,900 of about
	 * 4,900): its ceased is in the truth, its impact an object whose
	 * fields the generated days cannot give are null */
	o.max = 2900;
	g = sim_gen_new(s, &o, err, sizeof(err));
	while (sim_gen_next(g))
		;
	ev = sim_gen_events(g);
	{
		json_t *e, *imp = NULL;
		size_t k;

		json_array_foreach(ev, k, e)
			if (!strcmp(json_string_value(json_object_get(e, "type")), "ceased"))
				imp = json_object_get(e, "impact");
		assert_non_null(imp);
		assert_true(json_is_object(imp));
		assert_true(json_is_null(json_object_get(imp, "total_change_day_over_day")));
		assert_true(json_is_null(json_object_get(imp, "lo95")));
	}
	json_decref(ev);
	sim_gen_free(g);
	sim_scenario_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_envelope_only),
		cmocka_unit_test(test_stream_properties),
		cmocka_unit_test(test_sandbox_and_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
