/*
 * metrics.c - the metric registry, its Prometheus text rendering, and the
 * evhttp server that serves it; see web.h.
 *
 * A metric family keeps its series (one per label value) in an array with
 * an open-addressing index on the label's hash, so a dialect id seen for
 * the thousandth time costs one probe. Series are never removed.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "util/hash.h"
#include "util/xalloc.h"
#include "web/web.h"
#include "util/banned.h"

#define OTHER_LABEL "other"
#define HTTP_TIMEOUT_S 10          /* a scraper that stalls is dropped */
#define HTTP_MAX_HEADERS 8192      /* a scrape request is a few hundred bytes */
#define HTTP_BACKLOG 64            /* scrapers are few */

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct series {
	char *label;                   /* NULL for the metric without labels */
	double v;
};

struct web_metric {
	enum metric_type type;
	char *name, *help, *label;     /* label name, NULL: no labels */
	struct series *s;
	size_t n, cap;
	size_t *index;                 /* open addressing: series index + 1, 0 empty */
	size_t index_cap;              /* a power of two, at least 2n */
	size_t max_series, top;
	/* histograms */
	double *bounds;
	unsigned long long *buckets;   /* nbounds + 1 (+Inf) */
	size_t nbounds;
	double sum;
	unsigned long long count;
	struct web_metric *next;
};

struct web_metrics {
	struct web_metric *head, *tail;
};

web_metrics *web_metrics_new(void)
{
	return xcalloc(1, sizeof(struct web_metrics));
}

void web_metrics_free(web_metrics *m)
{
	struct web_metric *x, *next;
	size_t i;

	if (!m)
		return;
	for (x = m->head; x; x = next) {
		next = x->next;
		for (i = 0; i < x->n; i++)
			free(x->s[i].label);
		free(x->s);
		free(x->index);
		free(x->bounds);
		free(x->buckets);
		free(x->name);
		free(x->help);
		free(x->label);
		free(x);
	}
	free(m);
}

static struct web_metric *metric_new(web_metrics *m, enum metric_type type, const char *name,
				     const char *help, const char *label)
{
	struct web_metric *x = xcalloc(1, sizeof(*x));

	x->type = type;
	x->name = xstrdup(name);
	x->help = xstrdup(help);
	x->label = label ? xstrdup(label) : NULL;
	x->max_series = WEB_MAX_SERIES;
	if (m->tail)
		m->tail->next = x;
	else
		m->head = x;
	m->tail = x;
	return x;
}

struct web_metric *web_metrics_counter(web_metrics *m, const char *name, const char *help,
				       const char *label)
{
	return metric_new(m, METRIC_COUNTER, name, help, label);
}

struct web_metric *web_metrics_gauge(web_metrics *m, const char *name, const char *help,
				     const char *label)
{
	return metric_new(m, METRIC_GAUGE, name, help, label);
}

struct web_metric *web_metrics_histogram(web_metrics *m, const char *name, const char *help,
					 const double *bounds, size_t nbounds)
{
	struct web_metric *x = metric_new(m, METRIC_HISTOGRAM, name, help, NULL);
	size_t i;

	for (i = 1; i < nbounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			panic("web_metrics_histogram %s: bounds not ascending", name);
	x->bounds = xreallocarray(NULL, nbounds ? nbounds : 1, sizeof(double));
	if (nbounds)
		memcpy(x->bounds, bounds, nbounds * sizeof(double));
	x->nbounds = nbounds;
	x->buckets = xcalloc(nbounds + 1, sizeof(unsigned long long));
	return x;
}

void web_metric_limit(struct web_metric *x, size_t max_series, size_t top)
{
	x->max_series = max_series ? max_series : 1;
	x->top = top;
}

static uint64_t label_hash(const char *label)
{
	return label ? hash64(label, strlen(label), 0x6d6574726963ULL) : 0;
}

static void index_rebuild(struct web_metric *x, size_t cap)
{
	size_t i;

	free(x->index);
	x->index = xcalloc(cap, sizeof(size_t));
	x->index_cap = cap;
	for (i = 0; i < x->n; i++) {
		size_t h = (size_t)label_hash(x->s[i].label) & (cap - 1);

		while (x->index[h])
			h = (h + 1) & (cap - 1);
		x->index[h] = i + 1;
	}
}

static bool same_label(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* find: the series of label, or NULL */
static struct series *find(const struct web_metric *x, const char *label)
{
	size_t h;

	if (!x->index_cap)
		return NULL;
	for (h = (size_t)label_hash(label) & (x->index_cap - 1); x->index[h];
	     h = (h + 1) & (x->index_cap - 1))
		if (same_label(x->s[x->index[h] - 1].label, label))
			return &x->s[x->index[h] - 1];
	return NULL;
}

/* series_of: the series of label, created (or "other" when full) */
static struct series *series_of(struct web_metric *x, const char *label)
{
	struct series *s;

	if (!x->label)
		label = NULL;
	else if (!label)
		label = "";
	if ((s = find(x, label)) != NULL)
		return s;
	/* the last slot is kept for "other" */
	if (x->label && x->n + 1 >= x->max_series && strcmp(label, OTHER_LABEL) != 0)
		return series_of(x, OTHER_LABEL);
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 8;
		x->s = xreallocarray(x->s, x->cap, sizeof(*x->s));
	}
	x->s[x->n].label = label ? xstrdup(label) : NULL;
	x->s[x->n].v = 0;
	x->n++;
	if (2 * x->n > x->index_cap)
		index_rebuild(x, x->index_cap ? 2 * x->index_cap : 16);
	else {
		size_t h = (size_t)label_hash(label) & (x->index_cap - 1);

		while (x->index[h])
			h = (h + 1) & (x->index_cap - 1);
		x->index[h] = x->n;
	}
	return &x->s[x->n - 1];
}

void web_metric_add(struct web_metric *x, const char *label_value, double v)
{
	if (x->type == METRIC_HISTOGRAM)
		panic("web_metric_add on histogram %s", x->name);
	series_of(x, label_value)->v += v;
}

void web_metric_set(struct web_metric *x, const char *label_value, double v)
{
	if (x->type != METRIC_GAUGE)
		panic("web_metric_set on %s, not a gauge", x->name);
	series_of(x, label_value)->v = v;
}

void web_metric_observe(struct web_metric *x, double v)
{
	size_t i;

	if (x->type != METRIC_HISTOGRAM)
		panic("web_metric_observe on %s, not a histogram", x->name);
	for (i = 0; i < x->nbounds && v > x->bounds[i]; i++)
		;
	x->buckets[i]++;
	x->sum += v;
	x->count++;
}

double web_metric_value(const struct web_metric *x, const char *label_value)
{
	const struct series *s;

	if (x->type == METRIC_HISTOGRAM)
		return (double)x->count;
	if (!x->label)
		label_value = NULL;
	else if (!label_value)
		label_value = "";
	s = find(x, label_value);
	return s ? s->v : 0;
}

/* ---- rendering ---- */

static void add_number(struct buf *out, double v)
{
	if (isnan(v))
		buf_addstr(out, "NaN");
	else if (isinf(v))
		buf_addstr(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(out, "%.0f", v);
	else
		buf_printf(out, "%.9g", v);
}

/* label values: backslash, double quote and line feed are escaped */
static void add_label_value(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_addch(out, '\\'), buf_addch(out, *v);
		else if (*v == '\n')
			buf_addstr(out, "\\n");
		else
			buf_addch(out, *v);
	}
}

/* HELP text: backslash and line feed are escaped */
static void add_help(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			buf_addstr(out, "\\\\");
		else if (*v == '\n')
			buf_addstr(out, "\\n");
		else
			buf_addch(out, *v);
	}
}

static const struct web_metric *sort_metric;

static int by_value_desc(const void *a, const void *b)
{
	const struct series *x = &sort_metric->s[*(const size_t *)a];
	const struct series *y = &sort_metric->s[*(const size_t *)b];

	if (x->v != y->v)
		return x->v < y->v ? 1 : -1;
	return strcmp(x->label ? x->label : "", y->label ? y->label : "");
}

static void render_series(const struct web_metric *x, struct buf *out)
{
	size_t *order, i, n = x->n;

	if (x->n == 0 && !x->label) {
		/* a metric without labels exists from the start */
		buf_printf(out, "%s 0\n", x->name);
		return;
	}
	order = xreallocarray(NULL, x->n ? x->n : 1, sizeof(size_t));
	for (i = 0; i < x->n; i++)
		order[i] = i;
	/* not reentrant, but rendering runs on one thread */
	sort_metric = x;
	qsort(order, x->n, sizeof(size_t), by_value_desc);
	sort_metric = NULL;
	if (x->top && n > x->top)
		n = x->top;
	for (i = 0; i < n; i++) {
		const struct series *s = &x->s[order[i]];

		buf_addstr(out, x->name);
		if (x->label) {
			buf_printf(out, "{%s=\"", x->label);
			add_label_value(out, s->label);
			buf_addstr(out, "\"}");
		}
		buf_addch(out, ' ');
		add_number(out, s->v);
		buf_addch(out, '\n');
	}
	free(order);
}

static void render_histogram(const struct web_metric *x, struct buf *out)
{
	unsigned long long cum = 0;
	size_t i;

	for (i = 0; i <= x->nbounds; i++) {
		cum += x->buckets[i];
		buf_printf(out, "%s_bucket{le=\"", x->name);
		add_number(out, i < x->nbounds ? x->bounds[i] : INFINITY);
		buf_printf(out, "\"} %llu\n", cum);
	}
	buf_printf(out, "%s_sum ", x->name);
	add_number(out, x->sum);
	buf_printf(out, "\n%s_count %llu\n", x->name, x->count);
}

void web_metrics_render(const web_metrics *m, struct buf *out)
{
	static const char *const type_name[] = { "counter", "gauge", "histogram" };
	const struct web_metric *x;

	for (x = m->head; x; x = x->next) {
		buf_printf(out, "# HELP %s ", x->name);
		add_help(out, x->help);
		buf_printf(out, "\n# TYPE %s %s\n", x->name, type_name[x->type]);
		if (x->type == METRIC_HISTOGRAM)
			render_histogram(x, out);
		else
			render_series(x, out);
	}
}

/* ---- the HTTP server ---- */

struct web_server {
	struct evhttp *http;
	web_metrics *m;
};

static void serve(struct evhttp_request *req, void *arg)
{
	struct web_server *w = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *body = evbuffer_new();
	struct buf text = BUF_INIT;

	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (!path || strcmp(path, "/metrics") != 0) {
		evbuffer_add_printf(body, "not found; try /metrics\n");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "text/plain; charset=utf-8");
		evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", body);
		evbuffer_free(body);
		return;
	}
	web_metrics_render(w->m, &text);
	evbuffer_add(body, text.data, text.len);
	buf_free(&text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

web_server *web_server_new(struct event_base *base, int fd, web_metrics *m,
			   char *err, size_t errlen)
{
	struct web_server *w = xcalloc(1, sizeof(*w));

	w->m = m;
	w->http = evhttp_new(base);
	if (!w->http) {
		snprintf(err, errlen, "cannot create the HTTP server");
		evutil_closesocket(fd);
		free(w);
		return NULL;
	}
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(w->http, HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(w->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(w->http, 0);
	evhttp_set_gencb(w->http, serve, w);
	if (listen(fd, HTTP_BACKLOG) != 0 || evutil_make_socket_nonblocking(fd) != 0 ||
	    !evhttp_accept_socket_with_handle(w->http, fd)) {
		snprintf(err, errlen, "cannot listen for HTTP");
		evutil_closesocket(fd);
		evhttp_free(w->http);
		free(w);
		return NULL;
	}
	return w;
}

void web_server_free(web_server *w)
{
	if (!w)
		return;
	evhttp_free(w->http);
	free(w);
}
