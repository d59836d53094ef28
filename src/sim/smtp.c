/*
 * smtp.c - the stream as live SMTP sessions: a load generator for a trap.
 *
 * Each session connects from 127.F.x.y, F being 1 + the source's index and
 * x.y the bot's pool index (mod 65536), so a trap sees one address per
 * simulated bot; each client sends its family's command lines exactly as
 * the stream gives them and waits for each reply (no pipelining). Sessions
 * run concurrently on non-blocking sockets under poll(2); new sessions
 * start at the requested rate of messages per second.
 *
 * STARTTLS is not spoken live: a session that would use it sends its
 * commands in clear text (the stream's STARTTLS and second greeting are
 * left out). A message counts as delivered on a 2xx reply after its final
 * dot; anything else (refusal, timeout, lost connection) counts as failed
 * for every message of the session not yet delivered.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "sim/internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_CONCURRENCY 4096

struct step {
	size_t off, len;     /* bytes to send from the script (len 0: just wait) */
	int expect;          /* first digit of the reply wanted: 2 or 3 */
	int message;         /* index of the message this step delivers, or -1 */
};

struct live {
	int fd;
	struct buf script;   /* everything to send */
	struct step *steps;
	size_t nsteps, capsteps, cur;
	size_t nmsgs, delivered;
	struct buf in;
	size_t sent;         /* bytes of the current step sent */
	bool sending;
	int64_t deadline_ms;
	uint32_t src_ip;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_step(struct live *l, const char *p, size_t n, int expect, int message)
{
	struct step *s;

	if (l->nsteps == l->capsteps) {
		l->capsteps = l->capsteps ? 2 * l->capsteps : 16;
		l->steps = xreallocarray(l->steps, l->capsteps, sizeof(*l->steps));
	}
	s = &l->steps[l->nsteps++];
	s->off = l->script.len;
	s->len = n;
	s->expect = expect;
	s->message = message;
	buf_add(&l->script, p, n);
}

static void add_line(struct live *l, const char *cmd, int expect)
{
	size_t n = strlen(cmd);

	add_step(l, cmd, n, expect, -1);
	buf_add(&l->script, "\r\n", 2);
	l->steps[l->nsteps - 1].len += 2;
}

/* add_message: the commands and data of one message to the session's script. */
static void add_message(struct live *l, const struct sim_message *m)
{
	size_t i;
	bool skip_greeting = false;

	for (i = 0; i < m->ncommands; i++) {
		const char *c = m->commands[i];

		if (!strcasecmp(c, "STARTTLS")) {
			skip_greeting = true;   /* and the greeting repeated after it */
			continue;
		}
		if (skip_greeting && (!strncasecmp(c, "EHLO", 4) || !strncasecmp(c, "HELO", 4))) {
			skip_greeting = false;
			continue;
		}
		if (!strncasecmp(c, "QUIT", 4)) {
			add_line(l, c, 2);
			continue;
		}
		if (!strcmp(c, "DATA")) {
			const char *p = m->data, *end = m->data + m->len;

			add_line(l, c, 3);
			/* the data, dot-stuffed, then the final dot */
			add_step(l, "", 0, 2, (int)l->nmsgs);
			while (p < end) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);

				if (*p == '.')
					buf_addch(&l->script, '.');
				buf_add(&l->script, p, n);
				p += n;
			}
			if (m->len && m->data[m->len - 1] != '\n')
				buf_add(&l->script, "\r\n", 2);
			buf_add(&l->script, ".\r\n", 3);
			l->steps[l->nsteps - 1].len = l->script.len - l->steps[l->nsteps - 1].off;
			continue;
		}
		add_line(l, c, 2);
	}
	l->nmsgs++;
}

static void live_free(struct live *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	buf_free(&l->script);
	buf_free(&l->in);
	free(l->steps);
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

static int live_connect(struct live *l, const struct sockaddr_in *dst, char *err, size_t errlen)
{
	struct sockaddr_in src;
	int one = 1;

	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
#ifdef IP_BIND_ADDRESS_NO_PORT
	setsockopt(l->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#else
	(void)one;
#endif
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(l->src_ip);
	if (bind(l->fd, (const struct sockaddr *)&src, sizeof(src)) < 0) {
		snprintf(err, errlen, "bind to a 127/8 source address: %s", strerror(errno));
		return -1;
	}
	if (connect(l->fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* reply_code: the code of a complete reply at the start of in, 0 if incomplete. */
static int reply_code(struct buf *in)
{
	size_t pos = 0;

	while (pos < in->len) {
		char *nl = memchr(in->data + pos, '\n', in->len - pos);
		size_t l;

		if (!nl)
			return 0;
		l = (size_t)(nl - (in->data + pos)) + 1;
		if (l < 4 || in->data[pos + 3] != '-') {
			int code = l >= 3 ? atoi(in->data + pos) : -1;
			size_t rest = in->len - (pos + l);

			memmove(in->data, in->data + pos + l, rest);
			buf_setlen(in, rest);
			return code > 0 ? code : -1;
		}
		pos += l;
	}
	return 0;
}

int sim_smtp_run(sim_gen *g, const struct sim_smtp_options *o, struct sim_smtp_stats *st,
		 char *err, size_t errlen)
{
	unsigned conc = o->concurrency ? o->concurrency : 64;
	unsigned timeout = o->timeout_ms ? o->timeout_ms : 10000;
	struct sockaddr_in dst;
	struct live *ls;
	struct pollfd *pfd;
	size_t active = 0, i, started_msgs = 0;
	const struct sim_message *m = NULL;
	int64_t t0 = now_ms();
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (conc > MAX_CONCURRENCY)
		conc = MAX_CONCURRENCY;
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &dst.sin_addr) != 1) {
		snprintf(err, errlen, "--smtp %s: expected a numeric IPv4 address", o->host);
		return -1;
	}
	ls = xcalloc(conc, sizeof(*ls));
	pfd = xcalloc(conc, sizeof(*pfd));
	for (i = 0; i < conc; i++)
		ls[i].fd = -1;
	m = sim_gen_next(g);
	while (m || active) {
		int64_t now = now_ms();
		int wait = 100;

		/* start sessions while the rate and the concurrency allow */
		while (m && active < conc &&
		       (o->rate <= 0 || (double)started_msgs < o->rate * (double)(now - t0) / 1000.0 + 1)) {
			struct live *l = NULL;

			for (i = 0; i < conc; i++)
				if (ls[i].fd < 0 && !ls[i].steps) {
					l = &ls[i];
					break;
				}
			if (!l)
				break;
			l->src_ip = (127u << 24) | ((uint32_t)(m->source + 1) << 16) | (m->bot & 0xffff);
			add_step(l, "", 0, 2, -1);   /* the banner */
			for (;;) {
				uint64_t session = m->session;
				bool last = m->last_in_session;

				if (o->truth)
					sim_truth_write(o->truth, m);
				add_message(l, m);
				started_msgs++;
				m = sim_gen_next(g);
				if (last || !m || m->session != session)
					break;
			}
			st->sessions++;
			if (live_connect(l, &dst, err, errlen) < 0) {
				rc = -1;
				st->failed += l->nmsgs;
				live_free(l);
				goto out;
			}
			l->deadline_ms = now + timeout;
			l->cur = 0;
			l->sent = 0;
			l->sending = false;
			active++;
		}
		if (!active)
			continue;
		if (m && o->rate > 0) {
			double due = (double)t0 + (double)started_msgs * 1000.0 / o->rate - (double)now;

			if (due < wait)
				wait = due < 1 ? 1 : (int)due;
		}
		for (i = 0; i < conc; i++) {
			pfd[i].fd = ls[i].fd;
			pfd[i].events = ls[i].fd < 0 ? 0 : ls[i].sending ? POLLOUT : POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, conc, wait) < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			rc = -1;
			goto out;
		}
		now = now_ms();
		for (i = 0; i < conc; i++) {
			struct live *l = &ls[i];
			bool fail = false, finished = false;

			if (l->fd < 0)
				continue;
			if (pfd[i].revents & POLLOUT) {
				struct step *s = &l->steps[l->cur];
				ssize_t n = send(l->fd, l->script.data + s->off + l->sent, s->len - l->sent,
						 MSG_NOSIGNAL);

				if (n < 0 && errno != EAGAIN && errno != EINTR)
					fail = true;
				else if (n > 0) {
					l->sent += (size_t)n;
					l->deadline_ms = now + timeout;
					if (l->sent == s->len)
						l->sending = false;
				}
			} else if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				char chunk[4096];
				ssize_t n = recv(l->fd, chunk, sizeof(chunk), 0);

				if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
					fail = true;
				} else if (n > 0) {
					int code;

					buf_add(&l->in, chunk, (size_t)n);
					l->deadline_ms = now + timeout;
					while (!fail && !finished && (code = reply_code(&l->in)) != 0) {
						struct step *s = &l->steps[l->cur];

						if (code / 100 != s->expect) {
							fail = true;
							break;
						}
						if (s->message >= 0) {
							l->delivered++;
							st->delivered++;
						}
						if (++l->cur == l->nsteps) {
							finished = true;
							break;
						}
						/* the next step: send (a pure wait has nothing to send) */
						l->sent = 0;
						l->sending = l->steps[l->cur].len > 0;
					}
				}
			}
			if (!fail && !finished && now > l->deadline_ms)
				fail = true;
			if (fail || finished) {
				if (fail)
					st->failed += l->nmsgs - l->delivered;
				live_free(l);
				active--;
			}
		}
	}
out:
	for (i = 0; i < conc; i++)
		if (ls[i].fd >= 0 || ls[i].steps) {
			st->failed += ls[i].nmsgs - ls[i].delivered;
			live_free(&ls[i]);
		}
	free(ls);
	free(pfd);
	return rc;
}
