/*
 * web.h - what spamtide serves over HTTP: /metrics in the Prometheus text
 * format (version 0.0.4). The live dashboard comes later.
 *
 * A registry (web_metrics) holds metric families: counters, gauges and
 * histograms, each with at most one label. The owner updates them from
 * one thread (the trap's event loop) and web_metrics_render() writes the
 * exposition text; nothing here locks.
 *
 *   web_metrics *m = web_metrics_new();
 *   struct web_metric *msgs = web_metrics_counter(m, "spamtide_trap_messages_total",
 *                                                 "Messages stored.", "family");
 *   web_metric_add(msgs, "rustock", 1);
 *   web_server *w = web_server_new(base, fd, m, err, sizeof(err));
 *
 * Limits: a label's values come from the outside world (dialect ids,
 * family names of a knowledge base), so each metric keeps at most
 * max_series label values (web_metric_limit; default WEB_MAX_SERIES);
 * later values are counted under the value "other". Label values are
 * escaped as the format requires; names are the caller's constants.
 *
 * Ownership: the registry owns its metrics; web_metrics_free frees them.
 * web_server_new takes a bound socket (it listens on it) and serves until
 * web_server_free; it borrows the registry, which must outlive it.
 * Errors: web_server_new returns NULL with err filled.
 */
#ifndef SPAMTIDE_WEB_WEB_H
#define SPAMTIDE_WEB_WEB_H

#include <stddef.h>

#include "util/buf.h"

#define WEB_MAX_SERIES 1000   /* label values kept per metric */

struct event_base;

typedef struct web_metrics web_metrics;
struct web_metric;

web_metrics *web_metrics_new(void);
void web_metrics_free(web_metrics *m);

/* label: the label's name, or NULL for a metric without labels. */
struct web_metric *web_metrics_counter(web_metrics *m, const char *name, const char *help,
				       const char *label);
struct web_metric *web_metrics_gauge(web_metrics *m, const char *name, const char *help,
				     const char *label);
/* bounds: the upper bounds of the buckets, ascending (+Inf is added). */
struct web_metric *web_metrics_histogram(web_metrics *m, const char *name, const char *help,
					 const double *bounds, size_t nbounds);

/* web_metric_limit: keep at most max_series label values; print only the
 * top values by size (0: all). */
void web_metric_limit(struct web_metric *x, size_t max_series, size_t top);

/* label_value: NULL (or anything) for a metric without labels. */
void web_metric_add(struct web_metric *x, const char *label_value, double v);
void web_metric_set(struct web_metric *x, const char *label_value, double v);
void web_metric_observe(struct web_metric *x, double v);
/* web_metric_value: the current value (histograms: the count); 0 if unseen. */
double web_metric_value(const struct web_metric *x, const char *label_value);

/* web_metrics_render: the exposition text, appended to out. */
void web_metrics_render(const web_metrics *m, struct buf *out);

/* ---- the HTTP server ---- */

typedef struct web_server web_server;

/* fd: a bound stream socket, now the server's. Serves GET /metrics. */
web_server *web_server_new(struct event_base *base, int fd, web_metrics *m,
			   char *err, size_t errlen);
void web_server_free(web_server *w);

#endif
