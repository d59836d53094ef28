/*
 * test_trap_web.c - the trap's /metrics registry (web/web.h): the
 * Prometheus text it renders, escaping of label values from the outside
 * world, the cap on label values and the top-N view.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "web/web.h"

static void check_render(const web_metrics *m, const char *want)
{
	struct buf out = BUF_INIT;

	web_metrics_render(m, &out);
	if (strcmp(out.data, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", out.data, want);
	buf_free(&out);
}

static void test_render(void **state)
{
	static const double bounds[] = { 0.001, 0.01, 0.1 };
	web_metrics *m = web_metrics_new();
	struct web_metric *msgs = web_metrics_counter(m, "t_messages_total", "Messages.", "family");
	struct web_metric *active = web_metrics_gauge(m, "t_active", "Open\nnow \\o/", NULL);
	struct web_metric *lat = web_metrics_histogram(m, "t_seconds", "Latency.", bounds, 3);

	(void)state;
	/* before anything: no series for a labelled metric, 0 for the others */
	check_render(m,
		"# HELP t_messages_total Messages.\n# TYPE t_messages_total counter\n"
		"# HELP t_active Open\\nnow \\\\o/\n# TYPE t_active gauge\nt_active 0\n"
		"# HELP t_seconds Latency.\n# TYPE t_seconds histogram\n"
		"t_seconds_bucket{le=\"0.001\"} 0\nt_seconds_bucket{le=\"0.01\"} 0\n"
		"t_seconds_bucket{le=\"0.1\"} 0\nt_seconds_bucket{le=\"+Inf\"} 0\n"
		"t_seconds_sum 0\nt_seconds_count 0\n");
	web_metric_add(msgs, "rustock", 3);
	web_metric_add(msgs, "bagle", 5);
	web_metric_add(msgs, "rustock", 4);
	web_metric_add(msgs, "we\"ird\\fam\nily", 1);
	web_metric_set(active, NULL, 12);
	web_metric_observe(lat, 0.0005);
	web_metric_observe(lat, 0.05);
	web_metric_observe(lat, 2);
	check_render(m,
		"# HELP t_messages_total Messages.\n# TYPE t_messages_total counter\n"
		"t_messages_total{family=\"rustock\"} 7\n"
		"t_messages_total{family=\"bagle\"} 5\n"
		"t_messages_total{family=\"we\\\"ird\\\\fam\\nily\"} 1\n"
		"# HELP t_active Open\\nnow \\\\o/\n# TYPE t_active gauge\nt_active 12\n"
		"# HELP t_seconds Latency.\n# TYPE t_seconds histogram\n"
		"t_seconds_bucket{le=\"0.001\"} 1\nt_seconds_bucket{le=\"0.01\"} 1\n"
		"t_seconds_bucket{le=\"0.1\"} 2\nt_seconds_bucket{le=\"+Inf\"} 3\n"
		"t_seconds_sum 2.0505\nt_seconds_count 3\n");
	assert_true(web_metric_value(msgs, "rustock") == 7);
	assert_true(web_metric_value(msgs, "nobody") == 0);
	assert_true(web_metric_value(lat, NULL) == 3);
	web_metrics_free(m);
}

static void test_limits(void **state)
{
	web_metrics *m = web_metrics_new();
	struct web_metric *d = web_metrics_counter(m, "t_dialects_total", "Dialects.", "dialect");
	struct buf out = BUF_INIT;
	char label[32];
	int i;

	(void)state;
	web_metric_limit(d, 100, 3);
	/* 10,000 distinct values from a hostile world: 99 kept, the rest in "other" */
	for (i = 0; i < 10000; i++) {
		snprintf(label, sizeof(label), "dialect:%08x", i);
		web_metric_add(d, label, i < 5 ? 1000 - i : 1);
	}
	assert_true(web_metric_value(d, "dialect:00000000") == 1000);
	assert_true(web_metric_value(d, "other") == 10000 - 99);
	web_metrics_render(m, &out);
	/* the top 3 only */
	assert_string_equal(out.data,
		"# HELP t_dialects_total Dialects.\n# TYPE t_dialects_total counter\n"
		"t_dialects_total{dialect=\"other\"} 9901\n"
		"t_dialects_total{dialect=\"dialect:00000000\"} 1000\n"
		"t_dialects_total{dialect=\"dialect:00000001\"} 999\n");
	buf_free(&out);
	web_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
