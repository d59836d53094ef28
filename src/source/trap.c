/*
 * trap.c - the trap's event loop: listeners, sessions, timers, TLS,
 * signals and /metrics; see trap.h. The spool is trap_spool.c, the group
 * commit trap_writer.c, privileges trap_priv.c.
 *
 * One struct trap_session per connection holds everything about it: the
 * bufferevent (a socket, or an OpenSSL filter over it after STARTTLS), the
 * SMTP core's session, one timer and the flags below. Callbacks take it;
 * there is no per-connection global. The timer is lazy: it fires at the
 * earliest of the banner delay, the idle deadline, the session deadline
 * and (while closing) the flush deadline, and re-arms itself; reads only
 * note the time.
 *
 * A session's life: accept (or "421 too many connections" and close) ->
 * banner delay (bytes before it are pregreet) -> commands -> a message is
 * complete: the job goes to the writer and the session waits (reading on,
 * up to the input high-water mark) -> the writer's answer comes back
 * through the eventfd -> 250 or 451 -> ... -> close: the connection is
 * freed at once, but the struct lives on while a job of its is with the
 * writer, and its log line is written when the struct goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "analysis/analysis.h"
#include "source/trap_int.h"
#include "util/hash.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "web/web.h"
#include "util/timeutil.h"
#include "util/banned.h"

#define READ_HIGH (64 * 1024)      /* client bytes buffered while the core waits */
#define FEED_CHUNK 4096            /* bytes fed at once, so replies stay bounded */
#define LISTEN_BACKLOG 4096
#define ACCEPT_PAUSE_MS 100        /* out of descriptors: stop accepting this long */
#define DRAIN_FLUSH_MS 1000        /* after the drain: time to deliver the 421 */
#define TLS_CLOSE_POLL_MS 20       /* closing a TLS session: check the socket's buffer */
#define CLIENT_BUCKETS 4096        /* per-client session counts (chained) */
#define MINUTE_FAMILIES 256        /* families counted per minute for the hook */
#define DIALECTS_SHOWN 20          /* /metrics: the most frequent dialect ids */

struct client {
	struct client *next;
	struct ip_addr addr;
	unsigned n;
};

struct minute_count {
	char family[64];
	uint64_t n;
};

struct trap_session;

struct trap {
	struct trap_options opt;
	char hostname[SMTP_HOSTNAME_MAX + 1];
	char kb_path[4096];                 /* the kb as seen after the chroot */
	bool have_kb;
	struct smtp_config smtp_cfg;
	struct trap_user user;

	struct event_base *base;
	struct evconnlistener **ls;
	size_t nls;
	SSL_CTX *ssl;
	store *st;
	struct trap_spool spool;
	attrib_kb *kb;                      /* until the writer takes it */
	trap_writer *writer;
	int efd;
	struct event *ev_done, *ev_term, *ev_int, *ev_hup, *ev_minute, *ev_drain, *ev_resume;

	struct trap_session *sessions;
	size_t nsessions;                   /* structs alive */
	size_t nconns;                      /* connections open */
	struct client *clients[CLIENT_BUCKETS];
	long in_data;
	bool draining, drain_expired;

	int64_t idle_ms, session_ms, banner_ms;
	long long max_sessions, max_per_client;

	web_metrics *metrics;
	web_server *web;
	struct web_metric *m_messages, *m_bytes, *m_sessions, *m_active, *m_rejections,
		*m_failures, *m_unparsed, *m_commit, *m_batch, *m_ack, *m_dialects, *m_connections;

	int64_t minute;                     /* start of the current minute */
	trap_online *online;                /* the event detector, or NULL */
	struct web_metric *m_events, *m_state;
	struct minute_count minute_counts[MINUTE_FAMILIES];
	size_t nminute;
	uint64_t minute_sessions, minute_rejected;
};

struct trap_session {
	struct trap *t;
	struct trap_session *prev, *next;
	struct bufferevent *bev;            /* NULL once the connection is gone */
	struct event *timer;
	smtp_session *smtp;
	struct ip_addr addr;
	char ip[IP_TEXT_LEN];
	int64_t start_ms, last_ms, banner_at, close_at;
	bool storing;                       /* a job of this session is with the writer */
	bool in_data;                       /* after a 354, before the message ends */
	bool tls_handshake;
	bool closing;                       /* delivering the last replies */
	bool read_blocked;                  /* too many replies pending */
	bool eof;                           /* the client closed its side */
	bool drain_close;                   /* answer the store, then 421 */
	bool sent_direct;                   /* replies sent without the bufferevent */
	unsigned messages;
	uint64_t bytes;
	char helo[80];                      /* cleaned, for the log line */
	char family[64];
};

static void pump(struct trap_session *ses);
static bool start_tls(struct trap_session *ses);
static void end_conn(struct trap_session *ses);
static void begin_close(struct trap_session *ses, int64_t now, int64_t grace);
static void arm(struct trap_session *ses, int64_t now);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- addresses ---- */

bool trap_parse_endpoint(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
			 char *err, size_t errlen)
{
	char host[128];
	const char *colon, *port;
	struct addrinfo hints, *res = NULL;
	size_t hl;
	int rc;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "'%s': expected [ADDRESS]:PORT", spec);
			return false;
		}
		hl = (size_t)(close - spec - 1);
		if (hl >= sizeof(host))
			hl = sizeof(host) - 1;
		memcpy(host, spec + 1, hl);
		port = close + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || strchr(spec, ':') != colon) {
			snprintf(err, errlen, "'%s': expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)",
				 spec);
			return false;
		}
		hl = (size_t)(colon - spec);
		if (hl >= sizeof(host))
			hl = sizeof(host) - 1;
		memcpy(host, spec, hl);
		port = colon + 1;
	}
	host[hl] = '\0';
	if (!*port || strspn(port, "0123456789") != strlen(port) || atol(port) > 65535) {
		snprintf(err, errlen, "'%s': bad port '%s'", spec, port);
		return false;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "'%s': '%s' is not an IP address", spec, host);
		if (res)
			freeaddrinfo(res);
		return false;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

static void format_sockaddr(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, outlen, "?");
		return;
	}
	snprintf(out, outlen, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/* bound_socket: a socket bound to spec; its actual address in name */
static int bound_socket(const char *spec, char *name, size_t namelen, char *err, size_t errlen)
{
	struct sockaddr_storage ss, got;
	socklen_t len, glen = sizeof(got);
	int fd, one = 1;

	if (!trap_parse_endpoint(spec, &ss, &len, err, errlen))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", spec, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] means IPv6 only: 0.0.0.0 can be listened on beside it */
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		snprintf(err, errlen, "%s: cannot bind: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&got, &glen) == 0)
		format_sockaddr((struct sockaddr *)&got, name, namelen);
	else
		snprintf(name, namelen, "%s", spec);
	return fd;
}

static void sockaddr_ip(const struct sockaddr *sa, struct ip_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		a->b[10] = a->b[11] = 0xff;
		memcpy(a->b + 12, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

/* ---- per-client counts ---- */

static size_t client_bucket(const struct ip_addr *a)
{
	return (size_t)hash_mix(hash64(a->b, sizeof(a->b), 0)) & (CLIENT_BUCKETS - 1);
}

static unsigned client_count(struct trap *t, const struct ip_addr *a)
{
	struct client *c;

	for (c = t->clients[client_bucket(a)]; c; c = c->next)
		if (memcmp(&c->addr, a, sizeof(*a)) == 0)
			return c->n;
	return 0;
}

static void client_add(struct trap *t, const struct ip_addr *a, int delta)
{
	struct client **pp = &t->clients[client_bucket(a)], *c;

	for (; (c = *pp) != NULL; pp = &c->next)
		if (memcmp(&c->addr, a, sizeof(*a)) == 0)
			break;
	if (!c) {
		if (delta < 0)
			panic("trap: client count below zero");
		c = xcalloc(1, sizeof(*c));
		c->addr = *a;
		c->next = t->clients[client_bucket(a)];
		t->clients[client_bucket(a)] = c;
		pp = &t->clients[client_bucket(a)];
	}
	c->n = (unsigned)((int)c->n + delta);
	if (c->n == 0) {
		*pp = c->next;
		free(c);
	}
}

/* ---- metrics ---- */

/* the limits that refuse something, listed in /metrics from the start */
static const char *const limit_names[] = {
	"sessions", "sessions_per_client", "smtp_line", "smtp_rcpts", "message_size",
	"smtp_commands", "smtp_transactions", "smtp_junk", "smtp_idle_ms", "smtp_session_ms",
	"drain_ms",
};

static void setup_metrics(struct trap *t)
{
	size_t i;

	static const double commit_bounds[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
						0.05, 0.1, 0.2, 0.5, 1, 2, 5 };
	static const double batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 };

	t->metrics = web_metrics_new();
	t->m_messages = web_metrics_counter(t->metrics, "spamtide_trap_messages_total",
		"Messages stored (file durable, row committed), by family.", "family");
	t->m_bytes = web_metrics_counter(t->metrics, "spamtide_trap_bytes_total",
		"Bytes of the messages stored (as received after DATA), by family.", "family");
	t->m_sessions = web_metrics_counter(t->metrics, "spamtide_trap_sessions_total",
		"Sessions ended, by how they ended.", "outcome");
	t->m_active = web_metrics_gauge(t->metrics, "spamtide_trap_sessions_active",
		"Sessions open now.", NULL);
	t->m_connections = web_metrics_counter(t->metrics, "spamtide_trap_connections_total",
		"Connections accepted (including those refused for a limit).", NULL);
	t->m_rejections = web_metrics_counter(t->metrics, "spamtide_trap_rejections_total",
		"Commands, messages and connections refused, by the limit that refused them.",
		"limit");
	t->m_failures = web_metrics_counter(t->metrics, "spamtide_trap_store_failures_total",
		"Messages answered 451 because they could not be made durable.", NULL);
	t->m_unparsed = web_metrics_counter(t->metrics, "spamtide_trap_unparsed_total",
		"Messages stored from their session alone: the parser child died on them "
		"twice, or gave no answer within parse_ms.", "reason");
	web_metric_add(t->m_unparsed, "died", 0);
	web_metric_add(t->m_unparsed, "timeout", 0);
	t->m_commit = web_metrics_histogram(t->metrics, "spamtide_trap_commit_seconds",
		"Store commits (one per group of messages): rows pushed and committed.",
		commit_bounds, sizeof(commit_bounds) / sizeof(commit_bounds[0]));
	t->m_batch = web_metrics_histogram(t->metrics, "spamtide_trap_commit_messages",
		"Messages per store commit.", batch_bounds,
		sizeof(batch_bounds) / sizeof(batch_bounds[0]));
	t->m_ack = web_metrics_histogram(t->metrics, "spamtide_trap_durable_seconds",
		"Per message, from the end of DATA to the answer: file synced, row committed.",
		commit_bounds, sizeof(commit_bounds) / sizeof(commit_bounds[0]));
	t->m_dialects = web_metrics_counter(t->metrics, "spamtide_trap_dialect_sessions_total",
		"Sessions by dialect id (the most frequent ones).", "dialect");
	web_metric_limit(t->m_dialects, WEB_MAX_SERIES, DIALECTS_SHOWN);
	t->m_events = web_metrics_counter(t->metrics, "spamtide_trap_events_total",
		"Events the online detector raised: \"family type\" (ceased, resumed, drop, surge).",
		"event");
	t->m_state = web_metrics_gauge(t->metrics, "spamtide_trap_family_state",
		"The online detector's view of each family: 0 learning, 1 active, 2 ceased.",
		"family");
	for (i = 0; i < sizeof(limit_names) / sizeof(limit_names[0]); i++)
		web_metric_add(t->m_rejections, limit_names[i], 0);
}

static void reject_count(struct trap *t, const char *limit_name)
{
	web_metric_add(t->m_rejections, limit_name, 1);
}

/* ---- the per-minute hook ---- */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void minute_add(struct trap *t, const char *family)
{
	size_t i;

	for (i = 0; i < t->nminute; i++)
		if (strcmp(t->minute_counts[i].family, family) == 0)
			break;
	if (i == t->nminute) {
		if (t->nminute == MINUTE_FAMILIES)
			i = MINUTE_FAMILIES - 1;   /* the rest share the last slot */
		else
			snprintf(t->minute_counts[t->nminute++].family,
				 sizeof(t->minute_counts[0].family), "%s", family);
	}
	t->minute_counts[i].n++;
}

static void arm_minute(struct trap *t)
{
	int64_t now = wall_ms();
	struct timeval tv;
	int64_t wait = 60000 - now % 60000;

	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(t->ev_minute, &tv);
}

static void on_minute(evutil_socket_t fd, short what, void *arg)
{
	struct trap *t = arg;
	const char *names[MINUTE_FAMILIES];
	uint64_t counts[MINUTE_FAMILIES];
	struct trap_minute m;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < t->nminute; i++) {
		names[i] = t->minute_counts[i].family;
		counts[i] = t->minute_counts[i].n;
	}
	m.minute = t->minute;
	m.family = names;
	m.messages = counts;
	m.nfamilies = t->nminute;
	m.sessions = t->minute_sessions;
	/* the online detector, minute by minute: an event is logged and counted
	 * the moment it is sure */
	if (t->online) {
		const struct analysis_event *ev;
		const char *const *evname;
		size_t n = trap_online_feed(t->online, m.minute, m.family, m.messages, m.nfamilies,
					    &ev, &evname);
		char at[24], label[128];

		for (i = 0; i < n; i++) {
			log_info("event: %s %s at %s (before %.0f an hour, after %.0f; confidence %.4f)",
				 evname[i], analysis_event_type_name(ev[i].type),
				 time_format_human(ev[i].at, at), ev[i].before_rate_per_hour,
				 ev[i].after_rate_per_hour, ev[i].confidence);
			snprintf(label, sizeof(label), "%s %s", evname[i],
				 analysis_event_type_name(ev[i].type));
			web_metric_add(t->m_events, label, 1);
		}
		for (i = 0; i < trap_online_count(t->online); i++)
			web_metric_set(t->m_state, trap_online_family(t->online, i),
				       trap_online_state(t->online, i));
	}
	if (t->opt.on_minute)
		t->opt.on_minute(t->opt.minute_ctx, &m);
	if (t->writer)
		trap_writer_mark_up(t->writer);
	if (t->minute_rejected)
		log_info("%llu connections refused in the last minute (too many connections)",
			 (unsigned long long)t->minute_rejected);
	t->nminute = 0;
	t->minute_sessions = 0;
	t->minute_rejected = 0;
	t->minute = wall_ms() / 60000 * 60;
	arm_minute(t);
}

/* ---- sessions ---- */

static void set_in_data(struct trap_session *ses, bool on)
{
	struct trap *t = ses->t;

	if (ses->in_data == on)
		return;
	ses->in_data = on;
	t->in_data += on ? 1 : -1;
	trap_writer_in_data(t->writer, t->in_data);
}

/*
 * Replies the core gave that mean a limit was hit; the texts are the
 * core's (src/smtp/session.c), checked by tests/integration/test_trap_abuse.py.
 */
static const struct {
	const char *code;
	const char *text;
	const char *limit;
} limit_replies[] = {
	{ "500", "line too long", "smtp_line" },
	{ "452", "too many recipients", "smtp_rcpts" },
	{ "552", "5.3.4", "message_size" },
	{ "421", "too many commands", "smtp_commands" },
	{ "421", "too many messages", "smtp_transactions" },
	{ "421", "too many errors", "smtp_junk" },
};

static void scan_replies(struct trap_session *ses, const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		size_t i;

		if (line_end - p >= 4 && p[3] != '-') {
			if (memcmp(p, "354", 3) == 0)
				set_in_data(ses, true);
			else
				set_in_data(ses, false);
			if (p[0] == '4' || p[0] == '5')
				for (i = 0; i < sizeof(limit_replies) / sizeof(limit_replies[0]); i++)
					if (memcmp(p, limit_replies[i].code, 3) == 0 &&
					    memmem(p, (size_t)(line_end - p), limit_replies[i].text,
						   strlen(limit_replies[i].text))) {
						reject_count(ses->t, limit_replies[i].limit);
						break;
					}
		}
		p = nl ? nl + 1 : end;
	}
}

/*
 * take_output: the core's replies to the client. On a plain connection
 * with nothing queued they are sent at once (no write event, no extra
 * turn of the loop); what the socket does not take, and everything under
 * TLS, goes through the bufferevent, whose write callback reports the
 * flush. A direct send is reported by flush_direct() once the input at
 * hand has been fed, so commands that came in one read still count as
 * pipelined.
 */
static void take_output(struct trap_session *ses)
{
	size_t len;
	const char *p = smtp_session_output(ses->smtp, &len);

	if (!len)
		return;
	scan_replies(ses, p, len);
	if (ses->bev) {
		struct evbuffer *out = bufferevent_get_output(ses->bev);
		ssize_t sent = 0;

		if (!bufferevent_get_underlying(ses->bev) && evbuffer_get_length(out) == 0) {
			sent = send(bufferevent_getfd(ses->bev), p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (sent < 0)
				sent = 0;     /* EAGAIN, or an error the bufferevent will report */
			ses->sent_direct = true;
		}
		if ((size_t)sent < len)
			bufferevent_write(ses->bev, p + sent, len - (size_t)sent);
	}
	smtp_session_output_taken(ses->smtp, len);
}

/* flush_direct: replies sent directly have reached the client's socket */
static void flush_direct(struct trap_session *ses, int64_t now)
{
	if (ses->sent_direct && ses->bev &&
	    evbuffer_get_length(bufferevent_get_output(ses->bev)) == 0)
		smtp_session_flushed(ses->smtp, now);
	ses->sent_direct = false;
}

/* output_pending: reply bytes not yet written to the socket (with TLS,
 * also those already encrypted into the socket's buffer) */
static size_t output_pending(const struct trap_session *ses)
{
	struct bufferevent *under;
	size_t n;

	if (!ses->bev)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(ses->bev));
	under = bufferevent_get_underlying(ses->bev);
	if (under)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

static void helo_from_dialect(const struct smtp_dialect *d, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < d->nlines; i++) {
		const char *s = d->lines[i].text;
		size_t n = d->lines[i].len, k = 4;

		if (n < 4 || (strncasecmp(s, "helo", 4) != 0 && strncasecmp(s, "ehlo", 4) != 0))
			continue;
		if (n > 4 && s[4] != ' ')
			continue;
		while (k < n && s[k] == ' ')
			k++;
		log_clean(out, outlen, s + k, n - k);
		return;
	}
}

static void session_finish(struct trap_session *ses)
{
	struct trap *t = ses->t;
	char id[SMTP_DIALECT_ID_LEN];
	const char *outcome;

	if (ses->bev || ses->storing)
		panic("trap: session finished while still in use");
	smtp_session_dialect_id(ses->smtp, id);
	if (!ses->messages) {
		struct smtp_dialect *d = smtp_session_dialect(ses->smtp);

		helo_from_dialect(d, ses->helo, sizeof(ses->helo));
		smtp_dialect_free(d);
	}
	outcome = smtp_end_name(smtp_session_end(ses->smtp));
	log_info("session client=%s helo=%s dialect=%s family=%s size=%llu messages=%u outcome=%s",
		 ses->ip, ses->helo[0] ? ses->helo : "-", id, ses->family[0] ? ses->family : "-",
		 (unsigned long long)ses->bytes, ses->messages, outcome);
	web_metric_add(t->m_sessions, outcome, 1);
	web_metric_add(t->m_dialects, id, 1);
	t->minute_sessions++;
	if (ses->prev)
		ses->prev->next = ses->next;
	else
		t->sessions = ses->next;
	if (ses->next)
		ses->next->prev = ses->prev;
	t->nsessions--;
	event_free(ses->timer);
	smtp_session_free(ses->smtp);
	free(ses);
	if (t->draining && t->nsessions == 0)
		event_base_loopbreak(t->base);
}

/* end_conn: the connection goes; the struct too unless the writer has a job of it */
static void end_conn(struct trap_session *ses)
{
	struct trap *t = ses->t;

	smtp_session_closed(ses->smtp, now_ms());
	{
		size_t len;

		smtp_session_output(ses->smtp, &len);
		smtp_session_output_taken(ses->smtp, len);
	}
	if (ses->bev) {
		bufferevent_free(ses->bev);
		ses->bev = NULL;
		client_add(t, &ses->addr, -1);
		t->nconns--;
		web_metric_set(t->m_active, NULL, (double)t->nconns);
	}
	set_in_data(ses, false);
	evtimer_del(ses->timer);
	if (!ses->storing)
		session_finish(ses);
}

static void begin_close(struct trap_session *ses, int64_t now, int64_t grace)
{
	if (!ses->bev) {
		end_conn(ses);
		return;
	}
	if (!ses->closing) {
		ses->closing = true;
		bufferevent_disable(ses->bev, EV_READ);
		evbuffer_drain(bufferevent_get_input(ses->bev),
			       evbuffer_get_length(bufferevent_get_input(ses->bev)));
		ses->close_at = now + grace;
	} else if (now + grace < ses->close_at) {
		ses->close_at = now + grace;
	}
	if (output_pending(ses) == 0 || ses->tls_handshake) {
		end_conn(ses);
		return;
	}
	arm(ses, now);
}

static void timeout(struct trap_session *ses, const char *limit_name, int64_t now)
{
	reject_count(ses->t, limit_name);
	smtp_session_timeout(ses->smtp, now);
	if (ses->tls_handshake) {
		end_conn(ses);
		return;
	}
	take_output(ses);
	begin_close(ses, now, ses->t->drain_expired ? DRAIN_FLUSH_MS : ses->t->idle_ms);
}

static int64_t next_deadline(const struct trap_session *ses, int64_t now)
{
	const struct trap *t = ses->t;
	int64_t d;

	if (ses->closing) {
		/* with TLS no callback says the socket's buffer drained: look again soon */
		if (bufferevent_get_underlying(ses->bev) && now + TLS_CLOSE_POLL_MS < ses->close_at)
			return now + TLS_CLOSE_POLL_MS;
		return ses->close_at;
	}
	if (ses->storing)
		return now + t->idle_ms;            /* the writer's time is not the client's */
	d = ses->start_ms + t->session_ms;
	if (smtp_session_want(ses->smtp) == SMTP_WANT_GREET && ses->banner_at < d)
		d = ses->banner_at;
	if (ses->last_ms + t->idle_ms < d)
		d = ses->last_ms + t->idle_ms;
	return d;
}

static void arm(struct trap_session *ses, int64_t now)
{
	int64_t at = next_deadline(ses, now), wait = at > now ? at - now : 0;
	struct timeval tv;

	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(ses->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct trap_session *ses = arg;
	struct trap *t = ses->t;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	if (ses->closing) {
		if (now >= ses->close_at || output_pending(ses) == 0)
			end_conn(ses);
		else
			arm(ses, now);
		return;
	}
	if (!ses->bev)
		return;
	if (smtp_session_want(ses->smtp) == SMTP_WANT_TLS && !ses->tls_handshake &&
	    output_pending(ses) == 0) {
		if (start_tls(ses))
			arm(ses, now);
		return;
	}
	if (!ses->storing) {
		if (now >= ses->start_ms + t->session_ms) {
			timeout(ses, "smtp_session_ms", now);
			return;
		}
		if (now >= ses->last_ms + t->idle_ms) {
			timeout(ses, "smtp_idle_ms", now);
			return;
		}
	}
	arm(ses, now);
	if (smtp_session_want(ses->smtp) == SMTP_WANT_GREET && now >= ses->banner_at) {
		smtp_session_greet(ses->smtp, now);
		take_output(ses);
		pump(ses);      /* bytes that came early are commands now */
	}
}

static void submit(struct trap_session *ses, int64_t now)
{
	struct trap *t = ses->t;
	struct smtp_message *m = smtp_session_take_message(ses->smtp);
	struct trap_job *j;
	char id[SMTP_DIALECT_ID_LEN];

	(void)now;
	if (!m)
		panic("trap: the core wants a store but has no message");
	j = xcalloc(1, sizeof(*j));
	j->owner = ses;
	j->msg = m;
	j->fd = -1;
	/* the facts, joined; the first is helo_verb (dialect.c) */
	j->dialect_facts = smtp_session_facts(ses->smtp, id);
	j->esmtp = strncasecmp(j->dialect_facts, "helo_verb=ehlo", 14) == 0 &&
		   (j->dialect_facts[14] == '\n' || !j->dialect_facts[14]);
	snprintf(j->client_ip, sizeof(j->client_ip), "%s", ses->ip);
	j->ts = wall_ms() / 1000;
	log_clean(ses->helo, sizeof(ses->helo), m->helo, strlen(m->helo));
	ses->storing = true;
	set_in_data(ses, false);
	trap_writer_submit(t->writer, j);
}

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* start_tls: the handshake begins; false when the session is gone (freed) */
static bool start_tls(struct trap_session *ses)
{
	struct trap *t = ses->t;
	struct evbuffer *in = bufferevent_get_input(ses->bev);
	struct bufferevent *f;
	SSL *ssl = SSL_new(t->ssl);

	/* plaintext sent behind STARTTLS was recorded; it is never executed */
	evbuffer_drain(in, evbuffer_get_length(in));
	if (!ssl) {
		smtp_session_tls_done(ses->smtp, SMTP_TLS_FAILED, now_ms());
		end_conn(ses);
		return false;
	}
	f = bufferevent_openssl_filter_new(t->base, ses->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
					   BEV_OPT_CLOSE_ON_FREE);
	if (!f) {
		SSL_free(ssl);
		smtp_session_tls_done(ses->smtp, SMTP_TLS_FAILED, now_ms());
		end_conn(ses);
		return false;
	}
	ses->bev = f;
	ses->tls_handshake = true;
	bufferevent_setcb(f, on_read, on_write, on_event, ses);
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	bufferevent_setwatermark(f, EV_READ, 0, READ_HIGH);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	return true;
}

static void pump(struct trap_session *ses)
{
	int64_t now = now_ms();
	struct evbuffer *in;

	if (!ses->bev || ses->closing)
		return;
	in = bufferevent_get_input(ses->bev);
	for (;;) {
		enum smtp_want w = smtp_session_want(ses->smtp);
		size_t n, used;

		if (w == SMTP_WANT_GREET) {
			n = evbuffer_get_length(in);
			if (n)
				smtp_session_feed(ses->smtp, evbuffer_pullup(in, (ssize_t)n), n, now);
			break;
		}
		if (w == SMTP_WANT_STORE) {
			if (!ses->storing)
				submit(ses, now);
			break;
		}
		if (w == SMTP_WANT_TLS) {
			n = evbuffer_get_length(in);
			if (n) {
				smtp_session_feed(ses->smtp, evbuffer_pullup(in, (ssize_t)n), n, now);
				evbuffer_drain(in, n);
			}
			bufferevent_disable(ses->bev, EV_READ);
			break;
		}
		if (w == SMTP_WANT_CLOSE)
			break;
		if (output_pending(ses) >= TRAP_OUTPUT_HIGH) {
			/* the client is not reading its replies: stop reading it */
			if (!ses->read_blocked) {
				ses->read_blocked = true;
				bufferevent_disable(ses->bev, EV_READ);
			}
			break;
		}
		n = evbuffer_get_contiguous_space(in);
		if (n == 0)
			break;
		if (n > FEED_CHUNK)
			n = FEED_CHUNK;
		used = smtp_session_feed(ses->smtp, evbuffer_pullup(in, (ssize_t)n), n, now);
		evbuffer_drain(in, used);
		take_output(ses);
		if (used == 0 && smtp_session_want(ses->smtp) == SMTP_WANT_INPUT)
			break;
	}
	take_output(ses);
	flush_direct(ses, now);
	if (ses->eof && smtp_session_want(ses->smtp) == SMTP_WANT_INPUT &&
	    evbuffer_get_length(in) == 0)
		smtp_session_closed(ses->smtp, now);
	if (smtp_session_want(ses->smtp) == SMTP_WANT_TLS && output_pending(ses) == 0)
		event_active(ses->timer, EV_TIMEOUT, 1);    /* the 220 is out: start TLS */
	if (smtp_session_want(ses->smtp) == SMTP_WANT_CLOSE)
		begin_close(ses, now, ses->t->drain_expired ? DRAIN_FLUSH_MS : ses->t->idle_ms);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct trap_session *ses = arg;

	(void)bev;
	ses->last_ms = now_ms();
	pump(ses);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct trap_session *ses = arg;
	int64_t now = now_ms();

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	smtp_session_flushed(ses->smtp, now);
	if (ses->closing) {
		if (output_pending(ses) == 0)
			end_conn(ses);
		return;
	}
	if (smtp_session_want(ses->smtp) == SMTP_WANT_TLS && !ses->tls_handshake) {
		start_tls(ses);
		return;
	}
	if (ses->read_blocked) {
		ses->read_blocked = false;
		if (!ses->eof)
			bufferevent_enable(ses->bev, EV_READ);
		pump(ses);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct trap_session *ses = arg;
	int64_t now = now_ms();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS handshake is done; the session starts again (RFC 3207) */
		ses->tls_handshake = false;
		ses->last_ms = now;
		smtp_session_tls_done(ses->smtp, SMTP_TLS_OK, now);
		bufferevent_enable(ses->bev, EV_READ);
		pump(ses);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	if (ses->tls_handshake) {
		unsigned long e;

		while ((e = bufferevent_get_openssl_error(ses->bev)) != 0)
			log_debug("client=%s TLS handshake: %s", ses->ip, ERR_reason_error_string(e));
		smtp_session_tls_done(ses->smtp, SMTP_TLS_FAILED, now);
		end_conn(ses);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !ses->closing) {
		/* the client closed its side: answer what it sent, then close */
		ses->eof = true;
		if (ses->storing || evbuffer_get_length(bufferevent_get_input(ses->bev)) > 0) {
			if (smtp_session_want(ses->smtp) != SMTP_WANT_GREET)
				return;
		}
		smtp_session_closed(ses->smtp, now);
		take_output(ses);
		begin_close(ses, now, ses->t->idle_ms);
		return;
	}
	end_conn(ses);
}

static void refuse(struct trap *t, evutil_socket_t fd, const char *limit_name)
{
	char line[SMTP_HOSTNAME_MAX + 64];
	int n = snprintf(line, sizeof(line), "421 4.7.0 %s Error: too many connections\r\n",
			 t->hostname);

	(void)!send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	evutil_closesocket(fd);
	reject_count(t, limit_name);
	t->minute_rejected++;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct trap *t = arg;
	struct trap_session *ses;
	int64_t now = now_ms();
	int one = 1;

	(void)l;
	(void)salen;
	web_metric_add(t->m_connections, NULL, 1);
	if (t->draining) {
		evutil_closesocket(fd);
		return;
	}
	ses = xcalloc(1, sizeof(*ses));
	sockaddr_ip(sa, &ses->addr);
	if ((long long)t->nconns >= t->max_sessions) {
		free(ses);
		refuse(t, fd, "sessions");
		return;
	}
	if ((long long)client_count(t, &ses->addr) >= t->max_per_client) {
		free(ses);
		refuse(t, fd, "sessions_per_client");
		return;
	}
	ip_format(&ses->addr, ses->ip);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ses->t = t;
	ses->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!ses->bev) {
		evutil_closesocket(fd);
		free(ses);
		return;
	}
	ses->timer = evtimer_new(t->base, on_timer, ses);
	ses->smtp = smtp_session_new(&t->smtp_cfg, now);
	ses->start_ms = ses->last_ms = now;
	ses->banner_at = now + t->banner_ms;
	ses->next = t->sessions;
	if (t->sessions)
		t->sessions->prev = ses;
	t->sessions = ses;
	t->nsessions++;
	t->nconns++;
	client_add(t, &ses->addr, 1);
	web_metric_set(t->m_active, NULL, (double)t->nconns);
	bufferevent_setcb(ses->bev, on_read, on_write, on_event, ses);
	bufferevent_setwatermark(ses->bev, EV_READ, 0, READ_HIGH);
	bufferevent_enable(ses->bev, EV_READ | EV_WRITE);
	if (t->banner_ms == 0) {
		smtp_session_greet(ses->smtp, now);
		take_output(ses);
		flush_direct(ses, now);
	}
	arm(ses, now);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct trap *t = arg;
	size_t i;

	(void)fd;
	(void)what;
	if (t->draining)
		return;
	for (i = 0; i < t->nls; i++)
		evconnlistener_enable(t->ls[i]);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct trap *t = arg;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };
	size_t i;

	(void)l;
	log_warn("accept: %s; pausing for %d ms", evutil_socket_error_to_string(e), ACCEPT_PAUSE_MS);
	for (i = 0; i < t->nls; i++)
		evconnlistener_disable(t->ls[i]);
	evtimer_add(t->ev_resume, &tv);
}

/* ---- the writer's answers ---- */

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct trap *t = arg;
	struct trap_job *j, *next;
	uint64_t v;

	(void)what;
	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	for (j = trap_writer_take_done(t->writer); j; j = next) {
		struct trap_session *ses = j->owner;
		int64_t now = now_ms();

		next = j->next;
		if (j->commit_first) {
			web_metric_observe(t->m_commit, j->commit_seconds);
			web_metric_observe(t->m_batch, (double)j->commit_size);
		}
		web_metric_observe(t->m_ack, j->waited);
		if (j->ok) {
			web_metric_add(t->m_messages, j->family, 1);
			web_metric_add(t->m_bytes, j->family, (double)j->msg->data.len);
			minute_add(t, j->family);
			ses->messages++;
			ses->bytes += j->msg->data.len;
			snprintf(ses->family, sizeof(ses->family), "%s", j->family);
			if (j->unparsed != PIPELINE_CHILD_OK)
				web_metric_add(t->m_unparsed, j->unparsed == PIPELINE_CHILD_TIMEOUT ?
					       "timeout" : "died", 1);
		} else {
			web_metric_add(t->m_failures, NULL, 1);
		}
		ses->storing = false;
		smtp_session_stored(ses->smtp, j->ok, j->queue_id, now);
		trap_job_free(j);
		if (!ses->bev) {
			session_finish(ses);
			continue;
		}
		if (ses->drain_close) {
			take_output(ses);
			timeout(ses, "drain_ms", now);
			continue;
		}
		ses->last_ms = now;
		take_output(ses);
		pump(ses);
	}
}

/* ---- signals and the drain ---- */

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct trap *t = arg;
	struct trap_session *ses, *next;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	t->drain_expired = true;
	log_info("drain time is over: closing %zu sessions with 421", t->nconns);
	for (ses = t->sessions; ses; ses = next) {
		next = ses->next;
		if (!ses->bev)
			continue;
		if (ses->storing) {
			ses->drain_close = true;
			continue;
		}
		if (ses->closing) {
			begin_close(ses, now, DRAIN_FLUSH_MS);
			continue;
		}
		timeout(ses, "drain_ms", now);
	}
}

static void on_terminate(evutil_socket_t sig, short what, void *arg)
{
	struct trap *t = arg;
	struct timeval tv;
	long long ms = limit(LIMIT_DRAIN_MS);
	size_t i;

	(void)what;
	if (t->draining)
		return;
	t->draining = true;
	for (i = 0; i < t->nls; i++)
		evconnlistener_free(t->ls[i]);
	t->nls = 0;
	log_info("%s: no longer accepting; draining %zu sessions for up to %lld ms",
		 sig == SIGINT ? "SIGINT" : "SIGTERM", t->nconns, ms);
	if (t->nsessions == 0) {
		event_base_loopbreak(t->base);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(t->ev_drain, &tv);
}

static void on_hangup(evutil_socket_t sig, short what, void *arg)
{
	struct trap *t = arg;
	char err[512];
	attrib_kb *kb;

	(void)sig;
	(void)what;
	log_reopen();
	kb = attrib_kb_load(t->have_kb ? t->kb_path : NULL, err, sizeof(err));
	if (!kb) {
		log_error("SIGHUP: knowledge base not reloaded, keeping the old one: %s", err);
		return;
	}
	log_info("SIGHUP: log reopened; knowledge base reloaded (%zu families)",
		 attrib_kb_count(kb));
	trap_writer_set_kb(t->writer, kb);
}

/* ---- opening, running, closing ---- */

static SSL_CTX *tls_context(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned long e;

	if (!ctx) {
		snprintf(err, errlen, "TLS: cannot create a context");
		return NULL;
	}
	/* a trap wants to see every bot, also those with old TLS stacks: it
	 * protects no mail, so old protocols and ciphers are fine here */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		snprintf(err, errlen, "TLS: %s / %s: %s", cert, key,
			 e ? ERR_reason_error_string(e) : "cannot load");
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static enum trap_status fail(trap *t, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum trap_status fail(trap *t, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	trap_close(t);
	return TRAP_FAILED;
}

enum trap_status trap_open(const struct trap_options *opt, trap **out, char *err, size_t errlen)
{
	struct trap *t = xcalloc(1, sizeof(*t));
	char e[1024], name[128], spool_inside[4096] = "";
	bool chown_dirs;
	int64_t up_since;
	size_t i;

	*out = NULL;
	t->opt = *opt;
	t->efd = -1;
	t->spool.dir = t->spool.tmp = t->spool.new_ = t->spool.cur = -1;
	t->idle_ms = limit(LIMIT_SMTP_IDLE_MS);
	t->session_ms = limit(LIMIT_SMTP_SESSION_MS);
	t->banner_ms = limit(LIMIT_SMTP_BANNER_DELAY_MS);
	t->max_sessions = limit(LIMIT_SESSIONS);
	t->max_per_client = limit(LIMIT_SESSIONS_PER_CLIENT);
	raise_fd_limit();
	if (opt->hostname && *opt->hostname)
		snprintf(t->hostname, sizeof(t->hostname), "%s", opt->hostname);
	else if (gethostname(t->hostname, sizeof(t->hostname) - 1) != 0 || !t->hostname[0])
		snprintf(t->hostname, sizeof(t->hostname), "localhost");
	t->smtp_cfg.hostname = t->hostname;
	if (opt->user && !trap_user_lookup(opt->user, &t->user, e, sizeof(e)))
		return fail(t, err, errlen, "%s", e);
	if (opt->kb) {
		t->have_kb = true;
		if (opt->chroot) {
			if (!trap_path_inside(opt->chroot, opt->kb, t->kb_path, sizeof(t->kb_path),
					      e, sizeof(e)))
				return fail(t, err, errlen, "%s", e);
		} else {
			snprintf(t->kb_path, sizeof(t->kb_path), "%s", opt->kb);
		}
	}
	if (opt->chroot && !trap_path_inside(opt->chroot, opt->spool, spool_inside,
					     sizeof(spool_inside), e, sizeof(e)))
		return fail(t, err, errlen, "%s", e);

	t->base = event_base_new();
	if (!t->base)
		return fail(t, err, errlen, "cannot create the event loop");
	setup_metrics(t);

	/* bind */
	if (opt->nlisten == 0)
		return fail(t, err, errlen, "no --listen address");
	t->ls = xcalloc(opt->nlisten, sizeof(*t->ls));
	for (i = 0; i < opt->nlisten; i++) {
		int fd = bound_socket(opt->listen[i], name, sizeof(name), e, sizeof(e));

		if (fd < 0)
			return fail(t, err, errlen, "--listen %s", e);
		t->ls[i] = evconnlistener_new(t->base, on_accept, t,
					      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
					      LISTEN_BACKLOG, fd);
		if (!t->ls[i]) {
			close(fd);
			return fail(t, err, errlen, "--listen %s: cannot listen: %s", opt->listen[i],
				    strerror(errno));
		}
		t->nls++;
		evconnlistener_set_error_cb(t->ls[i], on_accept_error);
		log_info("listening on %s", name);
	}
	if (opt->http) {
		int fd = bound_socket(opt->http, name, sizeof(name), e, sizeof(e));

		if (fd < 0)
			return fail(t, err, errlen, "--http %s", e);
		t->web = web_server_new(t->base, fd, t->metrics, e, sizeof(e));
		if (!t->web)
			return fail(t, err, errlen, "--http %s: %s", opt->http, e);
		log_info("metrics on http://%s/metrics", name);
	}

	/* open */
	if (opt->tls_cert && opt->tls_key) {
		t->ssl = tls_context(opt->tls_cert, opt->tls_key, e, sizeof(e));
		if (!t->ssl)
			return fail(t, err, errlen, "%s", e);
		t->smtp_cfg.tls_available = true;
	}
	chown_dirs = t->user.set && geteuid() == 0;
	if (!trap_spool_open(&t->spool, opt->spool, t->hostname, chown_dirs, t->user.uid,
			     t->user.gid, e, sizeof(e)))
		return fail(t, err, errlen, "%s", e);
	if (store_open(opt->db, STORE_WRITE_DURABLE, &t->st, e, sizeof(e)) != STORE_OK)
		return fail(t, err, errlen, "%s", e);
	/* the detector starts where the stored history ends: now */
	t->online = trap_online_new(t->st, wall_ms() / 60000 * 60, t->opt.false_alarms, e, sizeof(e));
	if (!t->online)
		log_warn("no online event detection: %s", e);
	else
		for (size_t f = 0; f < trap_online_count(t->online); f++) {
			int state = trap_online_state(t->online, f);

			/* what the history says of each family, from the first scrape */
			web_metric_set(t->m_state, trap_online_family(t->online, f), state);
			log_info("online detector: %s %s", trap_online_family(t->online, f),
				 state == 1 ? "active" : state == 2 ? "ceased" : "learning");
		}
	/* this run begins: from now on the store knows the trap is watching */
	up_since = wall_ms() / 1000;
	if (store_mark_up(t->st, opt->sensor, up_since, up_since, e, sizeof(e)) != STORE_OK)
		return fail(t, err, errlen, "%s", e);
	t->kb = attrib_kb_load(opt->kb, e, sizeof(e));
	if (!t->kb)
		return fail(t, err, errlen, "knowledge base: %s", e);
	t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->efd < 0)
		return fail(t, err, errlen, "eventfd: %s", strerror(errno));

	/* drop */
	if (opt->chroot) {
		char tmpdir[4200];

		/* SQLite's temporary files: /var/tmp is outside; the spool's tmp/
		 * is ours (SQLite unlinks them at once) */
		snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", spool_inside);
		setenv("SQLITE_TMPDIR", tmpdir, 1);
	}
	if (!trap_drop_privileges(&t->user, opt->chroot, e, sizeof(e)))
		return fail(t, err, errlen, "%s", e);
	if (geteuid() == 0 && !t->user.set)
		log_warn("running as root (no --user)");
	{
		/* can we still write the spool? */
		int fd = openat(t->spool.tmp, ".spamtide-probe", O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0)
			return fail(t, err, errlen, "spool %s/tmp: cannot write as uid %ld: %s",
				    opt->spool, (long)geteuid(), strerror(errno));
		close(fd);
		unlinkat(t->spool.tmp, ".spamtide-probe", 0);
	}
	if (t->user.set)
		log_info("running as user %s (uid %ld)%s%s", t->user.name, (long)getuid(),
			 opt->chroot ? ", chroot " : "", opt->chroot ? opt->chroot : "");

	/* the loop's events; the writer's threads only after the drop */
	t->ev_done = event_new(t->base, t->efd, EV_READ | EV_PERSIST, on_done, t);
	t->ev_term = evsignal_new(t->base, SIGTERM, on_terminate, t);
	t->ev_int = evsignal_new(t->base, SIGINT, on_terminate, t);
	t->ev_hup = evsignal_new(t->base, SIGHUP, on_hangup, t);
	t->ev_minute = evtimer_new(t->base, on_minute, t);
	t->ev_drain = evtimer_new(t->base, on_drain, t);
	t->ev_resume = evtimer_new(t->base, on_resume, t);
	if (!t->ev_done || !t->ev_term || !t->ev_int || !t->ev_hup || !t->ev_minute ||
	    !t->ev_drain || !t->ev_resume)
		return fail(t, err, errlen, "cannot create events");
	event_add(t->ev_done, NULL);
	event_add(t->ev_term, NULL);
	event_add(t->ev_int, NULL);
	event_add(t->ev_hup, NULL);
	t->minute = wall_ms() / 60000 * 60;
	arm_minute(t);
	{
		struct trap_writer_config wc = {
			.st = t->st, .spool = &t->spool, .sensor = opt->sensor,
			.hostname = t->hostname, .kb = t->kb, .notify_fd = t->efd,
			.kb_dir = t->have_kb ? t->kb_path : NULL,
			.up_since = up_since,
		};

		t->writer = trap_writer_start(&wc, e, sizeof(e));
		if (!t->writer) {
			t->kb = NULL;    /* freed by the writer */
			return fail(t, err, errlen, "%s", e);
		}
		t->kb = NULL;
	}
	*out = t;
	return TRAP_OK;
}

enum trap_status trap_run(trap *t, char *err, size_t errlen)
{
	if (event_base_dispatch(t->base) < 0) {
		snprintf(err, errlen, "the event loop failed");
		return TRAP_FAILED;
	}
	log_info("stopped: every session has ended");
	return TRAP_OK;
}

void trap_close(trap *t)
{
	struct trap_session *ses, *next;
	size_t i;

	if (!t)
		return;
	/* sessions still open (trap_run failed): their jobs finish first */
	trap_writer_stop(t->writer);
	t->writer = NULL;
	for (ses = t->sessions; ses; ses = next) {
		next = ses->next;
		if (ses->bev)
			bufferevent_free(ses->bev);
		event_free(ses->timer);
		smtp_session_free(ses->smtp);
		free(ses);
	}
	for (i = 0; i < CLIENT_BUCKETS; i++) {
		struct client *c, *cn;

		for (c = t->clients[i]; c; c = cn) {
			cn = c->next;
			free(c);
		}
	}
	for (i = 0; i < t->nls; i++)
		evconnlistener_free(t->ls[i]);
	free(t->ls);
	web_server_free(t->web);
	web_metrics_free(t->metrics);
	{
		struct event *evs[] = { t->ev_done, t->ev_term, t->ev_int, t->ev_hup,
					t->ev_minute, t->ev_drain, t->ev_resume };

		for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
			if (evs[i])
				event_free(evs[i]);
	}
	if (t->base)
		event_base_free(t->base);
	if (t->ssl)
		SSL_CTX_free(t->ssl);
	attrib_kb_free(t->kb);
	trap_online_free(t->online);
	store_close(t->st);
	trap_spool_close(&t->spool);
	if (t->efd >= 0)
		close(t->efd);
	free(t);
}
