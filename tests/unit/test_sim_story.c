/*
 * test_sim_story.c - the rustock-2011 scenario, generated in full (envelope
 * only), shows what its claims say: shares, the 12% fall, Bagle steadier
 * and at least Rustock, Rustock's rate, and the events at the right minutes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sim/sim.h"
#include "util/timeutil.h"

static void test_rustock_claims(void **state)
{
	char err[512];
	sim_scenario *s = sim_scenario_load("rustock-2011", err, sizeof(err));
	struct sim_options o = { .seed = 1, .envelope_only = true };
	sim_gen *g;
	size_t i, failures = 0;

	(void)state;
	if (!s)
		fail_msg("load: %s", err);
	assert_true(sim_claim_count(s) >= 8);
	g = sim_gen_new(s, &o, err, sizeof(err));
	assert_non_null(g);
	while (sim_gen_next(g))
		;
	printf("rustock-2011: %zu messages\n", sim_gen_count(g));
	assert_true(sim_gen_count(g) >= 300000);
	assert_true(sim_gen_count(g) <= 450000);
	for (i = 0; i < sim_claim_count(s); i++) {
		const struct sim_claim *c = sim_claim(s, i);
		double v = 0;
		bool ok = sim_gen_claim_value(g, c, &v) && sim_claim_holds(c, v);

		printf("%-26s %-9s got %9.4f want %9.4f (+-%g) %s\n", c->name, sim_claim_kind_name(c->kind),
		       v, c->value, c->tolerance, ok ? "ok" : "FAILS");
		assert_non_null(c->source);
		failures += !ok;
	}
	assert_int_equal(failures, 0);
	sim_gen_free(g);
	sim_scenario_free(s);
}

/* Every built-in scenario loads, and its sources and events are listed. */
static void test_builtins_load(void **state)
{
	char err[512];
	size_t i, n = 0;

	(void)state;
	for (i = 0; sim_scenario_builtin(i); i++) {
		sim_scenario *s = sim_scenario_load(sim_scenario_builtin(i), err, sizeof(err));

		if (!s)
			fail_msg("%s: %s", sim_scenario_builtin(i), err);
		assert_true(sim_source_count(s) > 0);
		assert_true(sim_scenario_end(s) > sim_scenario_start(s));
		assert_int_equal(sim_source_index(s, "legit") >= 0, 1);
		sim_scenario_free(s);
		n++;
	}
	assert_true(n >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins_load),
		cmocka_unit_test(test_rustock_claims),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
