/*
 * pcapsmtp.c - one captured SMTP session through the trap's core; see
 * pcapsmtp.h.
 *
 * Two phases. While it is not known whether the session is SMTP (a port
 * not listed) or whether the server offered STARTTLS, events are held in
 * one buffer as records (kind, time, length, reply code, bytes). Once both
 * are known the core is created and the held events are replayed through
 * the same handlers that take live events afterwards. The server's bytes
 * are scanned as they arrive (the first bytes of each line are enough);
 * the core's own output is scanned for its reply codes, which say whether
 * it is inside DATA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source/pcapsmtp.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum ev_kind { EV_CLIENT, EV_SERVER, EV_CLIENT_LOST };

struct ev_hdr {
	int64_t t_ms;
	uint32_t n;               /* bytes following (client) or bytes seen (server) */
	int32_t code;             /* server: the first reply code completed in it, 0 */
	uint32_t n354;            /* server: 354 replies completed in it */
	uint8_t kind;
};

#define HEAD_MAX 16           /* bytes of a server line kept: "250-STARTTLS\r\n" */

struct pcapsmtp {
	int64_t start_ms;
	size_t max_held;
	enum pcapsmtp_smtp smtp;
	bool tls_known, tls_offered;
	bool decided;             /* the core runs; nothing is held */
	struct buf held;

	/* the server's replies as they arrive */
	char head[HEAD_MAX];
	size_t head_len;
	unsigned server_lines;
	unsigned chunk_354;       /* 354 replies in the chunk being scanned */
	bool banner_done, multi250, server_lost;

	/* the core */
	smtp_session *s;
	struct buf in;            /* client bytes the core has not consumed */
	bool greeted;
	bool in_data;             /* the core's last reply was 354 */
	bool dead;                /* the client stream lost: nothing more is parsed */
	bool lost_outside_data;
	bool one_sided;           /* dead because the server never spoke */
	uint64_t ignored;         /* client bytes not offered to the core once dead */
	unsigned handed;          /* messages handed over */
	unsigned core_354, server_354;
	bool diverged;

	struct pcapsmtp_result *res;
	size_t nres, res_head, res_cap;
};

pcapsmtp *pcapsmtp_new(bool banner_check, size_t max_held, int64_t now_ms)
{
	pcapsmtp *p = xcalloc(1, sizeof(*p));

	p->start_ms = now_ms;
	p->max_held = max_held;
	p->smtp = banner_check ? PCAPSMTP_SMTP_UNKNOWN : PCAPSMTP_SMTP_YES;
	buf_init(&p->held);
	buf_init(&p->in);
	return p;
}

void pcapsmtp_result_free(struct pcapsmtp_result *r)
{
	smtp_message_free(r->msg);
	free(r->facts);
	free(r->helo);
	memset(r, 0, sizeof(*r));
}

void pcapsmtp_free(pcapsmtp *p)
{
	size_t i;

	if (!p)
		return;
	for (i = p->res_head; i < p->nres; i++)
		pcapsmtp_result_free(&p->res[i]);
	free(p->res);
	smtp_session_free(p->s);
	buf_free(&p->held);
	buf_free(&p->in);
	free(p);
}

enum pcapsmtp_smtp pcapsmtp_is_smtp(const pcapsmtp *p)
{
	return p->smtp;
}

bool pcapsmtp_over(const pcapsmtp *p)
{
	return p->smtp == PCAPSMTP_SMTP_NO ||
	       (p->s && smtp_session_want(p->s) == SMTP_WANT_CLOSE && p->nres == p->res_head);
}

bool pcapsmtp_in_data(const pcapsmtp *p)
{
	return p->s && p->in_data && !p->dead && smtp_session_want(p->s) != SMTP_WANT_CLOSE;
}

bool pcapsmtp_take(pcapsmtp *p, struct pcapsmtp_result *r)
{
	if (p->res_head == p->nres) {
		p->res_head = p->nres = 0;
		return false;
	}
	*r = p->res[p->res_head];
	memset(&p->res[p->res_head], 0, sizeof(p->res[0]));
	p->res_head++;
	return true;
}

static struct pcapsmtp_result *result(pcapsmtp *p, enum pcapsmtp_kind kind, int64_t t_ms)
{
	struct pcapsmtp_result *r;

	if (p->nres == p->res_cap) {
		p->res_cap = p->res_cap ? p->res_cap * 2 : 4;
		p->res = xreallocarray(p->res, p->res_cap, sizeof(*p->res));
	}
	r = &p->res[p->nres++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->t_ms = t_ms;
	return r;
}

/* ---- the dialect, for results ---- */

/* last_helo: the argument of the last HELO/EHLO line, as the core keeps it */
static char *last_helo(const struct smtp_dialect *d)
{
	const char *arg = "";
	size_t arg_len = 0, i;

	for (i = 0; i < d->nlines; i++) {
		const char *t = d->lines[i].text;
		size_t n = d->lines[i].len, v = 0, a;

		if (d->lines[i].flags & SMTP_LINE_DATA_END)
			continue;
		while (v < n && t[v] != ' ' && t[v] != '\t')
			v++;
		if (v != 4 || (strncasecmp(t, "HELO", 4) != 0 && strncasecmp(t, "EHLO", 4) != 0))
			continue;
		a = v;
		while (a < n && (t[a] == ' ' || t[a] == '\t'))
			a++;
		arg = t + a;
		arg_len = n - a;
		while (arg_len && (arg[arg_len - 1] == ' ' || arg[arg_len - 1] == '\t'))
			arg_len--;
	}
	return xstrndup(arg, arg_len);
}

static void dialect_into(pcapsmtp *p, struct pcapsmtp_result *r, bool helo)
{
	r->facts = smtp_session_facts(p->s, r->dialect_id);
	if (helo) {   /* the HELO argument is in the command lines: a snapshot */
		struct smtp_dialect *d = smtp_session_dialect(p->s);

		r->helo = last_helo(d);
		smtp_dialect_free(d);
	}
}

/* ---- driving the core ---- */

/* diverge: the client's transaction went where the core did not follow; said once */
static void diverge(pcapsmtp *p, int64_t now_ms)
{
	if (p->diverged || p->dead)
		return;
	p->diverged = true;
	result(p, PCAPSMTP_DIVERGED, now_ms)->transaction = p->handed + 1;
}

/* take_output: discard the core's replies, following whether it is inside DATA */
static void take_output(pcapsmtp *p, int64_t now_ms)
{
	size_t len, i, line = 0;
	const char *o = smtp_session_output(p->s, &len);

	for (i = 0; i < len; i = line) {
		const char *lf = memchr(o + i, '\n', len - i);
		int code;

		line = lf ? (size_t)(lf - o) + 1 : len;
		if (line - i < 4 || o[i + 3] == '-')
			continue;                   /* not the last line of a reply */
		code = (o[i] - '0') * 100 + (o[i + 1] - '0') * 10 + (o[i + 2] - '0');
		if (p->in_data && code == 552 && !p->dead)
			result(p, PCAPSMTP_TOO_BIG, now_ms)->transaction = p->handed + 1;
		/* the core's fixed refusal of BDAT (session.c): a message it will not take */
		if (code == 502 && line - i > 21 && memcmp(o + i + 4, "5.5.1 Error: BDAT", 17) == 0)
			diverge(p, now_ms);
		p->in_data = code == 354;
		p->core_354 += code == 354;
	}
	smtp_session_output_taken(p->s, len);
}

static void hand_over(pcapsmtp *p, int64_t now_ms)
{
	struct smtp_message *m = smtp_session_take_message(p->s);
	struct pcapsmtp_result *r;
	char qid[24];

	if (!m)
		panic("pcapsmtp: the core wants a store but has no message");
	p->in_data = false;
	p->handed++;
	r = result(p, PCAPSMTP_MESSAGE, m->end_ms);
	r->msg = m;
	dialect_into(p, r, false);
	snprintf(r->dialect_id, sizeof(r->dialect_id), "%s", m->dialect_id);
	snprintf(qid, sizeof(qid), "P%u", p->handed);
	smtp_session_stored(p->s, true, qid, now_ms);
}

/* pump: offer the client's bytes until the core waits for something else */
static void pump(pcapsmtp *p, const uint8_t *data, size_t n, int64_t now_ms)
{
	const char *d = (const char *)data;
	bool from_in = p->in.len > 0;

	if (from_in) {
		buf_add(&p->in, data, n);
		d = p->in.data;
		n = p->in.len;
	}
	for (;;) {
		size_t used = n ? smtp_session_feed(p->s, d, n, now_ms) : 0;

		if (used) {   /* d may be NULL when nothing was offered */
			d += used;
			n -= used;
		}
		take_output(p, now_ms);
		if (smtp_session_want(p->s) == SMTP_WANT_STORE) {
			hand_over(p, now_ms);
			continue;
		}
		break;
	}
	if (from_in) {
		memmove(p->in.data, d, n);
		buf_setlen(&p->in, n);
	} else if (n) {
		buf_add(&p->in, d, n);
	}
	if (p->in.len > p->max_held) {
		/* the core waits for the server, which does not speak (a one-sided
		 * capture, or a server silent after STARTTLS): give up parsing */
		p->one_sided = smtp_session_want(p->s) == SMTP_WANT_GREET;
		p->lost_outside_data = true;
		p->ignored += p->in.len;
		p->dead = true;
		buf_free(&p->in);
	}
}

static void on_client(pcapsmtp *p, const uint8_t *data, size_t n, int64_t now_ms)
{
	if (p->dead) {
		p->ignored += n;
		return;
	}
	pump(p, data, n, now_ms);
}

static void on_server(pcapsmtp *p, int code, unsigned n354, int64_t now_ms)
{
	if (!p->greeted) {
		p->greeted = true;
		smtp_session_greet(p->s, now_ms);
		pump(p, NULL, 0, now_ms);      /* bytes offered before the banner: pregreet */
	}
	smtp_session_flushed(p->s, now_ms);
	p->server_354 += n354;
	if (p->server_354 > p->core_354)
		diverge(p, now_ms);
	if (smtp_session_want(p->s) == SMTP_WANT_TLS) {
		if (code == 0 || code == 220) {
			struct pcapsmtp_result *r;

			smtp_session_tls_done(p->s, SMTP_TLS_UNSEEN, now_ms);
			r = result(p, PCAPSMTP_ENCRYPTED, now_ms);
			dialect_into(p, r, true);
		} else {
			smtp_session_tls_done(p->s, SMTP_TLS_FAILED, now_ms);
			if (!p->dead && !p->diverged)
				result(p, PCAPSMTP_TLS_REFUSED, now_ms);
			p->diverged = true;            /* one account of the rest lost */
		}
		pump(p, NULL, 0, now_ms);              /* the rest is consumed and ignored */
	}
}

static void on_client_lost(pcapsmtp *p, int64_t now_ms)
{
	if (p->dead)
		return;
	if (pcapsmtp_in_data(p))
		result(p, PCAPSMTP_CUT, now_ms)->transaction = p->handed + 1;
	else if (smtp_session_want(p->s) != SMTP_WANT_CLOSE)
		p->lost_outside_data = true;
	p->dead = true;
	p->in_data = false;
	buf_free(&p->in);
}

/* ---- holding and deciding ---- */

static void hold(pcapsmtp *p, enum ev_kind kind, const uint8_t *data, size_t n, int code,
		 unsigned n354, int64_t now_ms)
{
	struct ev_hdr h;

	memset(&h, 0, sizeof(h));
	h.t_ms = now_ms;
	h.n = (uint32_t)n;
	h.code = code;
	h.n354 = n354;
	h.kind = (uint8_t)kind;
	buf_add(&p->held, &h, sizeof(h));
	if (kind == EV_CLIENT)
		buf_add(&p->held, data, n);
}

static void decide(pcapsmtp *p)
{
	struct smtp_config cfg = { NULL, false, false };
	size_t off = 0;

	if (p->decided)
		return;
	p->decided = true;
	if (p->smtp == PCAPSMTP_SMTP_UNKNOWN)
		p->smtp = PCAPSMTP_SMTP_NO;
	if (p->smtp == PCAPSMTP_SMTP_NO) {
		buf_free(&p->held);
		return;
	}
	p->tls_known = true;
	cfg.tls_available = p->tls_offered;
	p->s = smtp_session_new(&cfg, p->start_ms);
	while (off < p->held.len) {
		struct ev_hdr h;

		memcpy(&h, p->held.data + off, sizeof(h));
		off += sizeof(h);
		switch ((enum ev_kind)h.kind) {
		case EV_CLIENT:
			on_client(p, (const uint8_t *)p->held.data + off, h.n, h.t_ms);
			off += h.n;
			break;
		case EV_SERVER:
			on_server(p, h.code, h.n354, h.t_ms);
			break;
		case EV_CLIENT_LOST:
			on_client_lost(p, h.t_ms);
			break;
		}
	}
	buf_free(&p->held);
}

static void tls_decide(pcapsmtp *p, bool offered)
{
	if (p->tls_known)
		return;
	p->tls_known = true;
	p->tls_offered = offered;
}

/* is_text: a server line's text after the code is exactly word (spaces, CR allowed) */
static bool is_text(const char *t, size_t n, const char *word)
{
	size_t w = strlen(word);

	if (n < w || strncasecmp(t, word, w) != 0)
		return false;
	for (; w < n; w++)
		if (t[w] != ' ' && t[w] != '\r' && t[w] != '\n')
			return false;
	return true;
}

/* server_line: a complete server line (its first head_len bytes); its code or 0 */
static int server_line(pcapsmtp *p)
{
	const char *h = p->head;
	size_t n = p->head_len;
	bool digits = n >= 3 && h[0] >= '0' && h[0] <= '9' && h[1] >= '0' && h[1] <= '9' &&
		      h[2] >= '0' && h[2] <= '9';
	int code = digits ? (h[0] - '0') * 100 + (h[1] - '0') * 10 + (h[2] - '0') : 0;
	char sep = n > 3 ? h[3] : ' ';

	if (p->server_lines++ == 0 && p->smtp == PCAPSMTP_SMTP_UNKNOWN)
		p->smtp = code == 220 ? PCAPSMTP_SMTP_YES : PCAPSMTP_SMTP_NO;
	if (!p->banner_done) {
		if (sep != '-')
			p->banner_done = true;
		return code;
	}
	if (p->tls_known)
		return code;
	if (code == 220) {
		tls_decide(p, true);               /* a second 220: STARTTLS accepted */
	} else if (code == 250) {
		if (n > 4 && is_text(h + 4, n - 4, "STARTTLS"))
			tls_decide(p, true);
		else if (sep == '-')
			p->multi250 = true;
		else if (p->multi250)
			tls_decide(p, false);      /* the end of an EHLO reply without it */
	} else if (code == 354) {
		tls_decide(p, false);
	}
	return code;
}

/* scan: read the server's bytes for the decisions; the first code completed */
static int scan(pcapsmtp *p, const uint8_t *data, size_t n)
{
	int first = 0;

	while (n) {
		const uint8_t *lf = memchr(data, '\n', n);
		size_t take = lf ? (size_t)(lf - data) + 1 : n;
		size_t room = HEAD_MAX - p->head_len;

		memcpy(p->head + p->head_len, data, take < room ? take : room);
		p->head_len += take < room ? take : room;
		if (p->server_lines == 0 && p->smtp == PCAPSMTP_SMTP_UNKNOWN && p->head_len >= 3)
			p->smtp = memcmp(p->head, "220", 3) == 0 ? PCAPSMTP_SMTP_YES
								 : PCAPSMTP_SMTP_NO;
		if (lf) {
			int code = server_line(p);

			if (!first)
				first = code;
			p->chunk_354 += code == 354 && p->head_len > 3 && p->head[3] != '-';
			p->head_len = 0;
		}
		data += take;
		n -= take;
	}
	return first;
}

static bool ready(const pcapsmtp *p)
{
	return p->smtp == PCAPSMTP_SMTP_NO || (p->smtp == PCAPSMTP_SMTP_YES && p->tls_known);
}

static void check_held(pcapsmtp *p)
{
	if (ready(p) || p->held.len > p->max_held)
		decide(p);
}

void pcapsmtp_client(pcapsmtp *p, const uint8_t *data, size_t n, int64_t now_ms)
{
	if (p->smtp == PCAPSMTP_SMTP_NO || n == 0)
		return;
	if (p->decided) {
		on_client(p, data, n, now_ms);
		return;
	}
	hold(p, EV_CLIENT, data, n, 0, 0, now_ms);
	check_held(p);
}

void pcapsmtp_server(pcapsmtp *p, const uint8_t *data, size_t n, int64_t now_ms)
{
	int code = 0;

	if (p->smtp == PCAPSMTP_SMTP_NO)
		return;
	p->chunk_354 = 0;
	if (data && !p->server_lost)
		code = scan(p, data, n);
	if (p->decided) {
		on_server(p, code, p->chunk_354, now_ms);
		return;
	}
	if (ready(p)) {
		decide(p);
		if (p->s)
			on_server(p, code, p->chunk_354, now_ms);
		return;
	}
	hold(p, EV_SERVER, NULL, n, code, p->chunk_354, now_ms);
	check_held(p);
}

void pcapsmtp_client_lost(pcapsmtp *p, int64_t now_ms)
{
	if (p->smtp == PCAPSMTP_SMTP_NO)
		return;
	if (p->decided)
		on_client_lost(p, now_ms);
	else
		hold(p, EV_CLIENT_LOST, NULL, 0, 0, 0, now_ms);
}

void pcapsmtp_server_lost(pcapsmtp *p)
{
	p->server_lost = true;
	if (p->smtp == PCAPSMTP_SMTP_UNKNOWN)
		p->smtp = PCAPSMTP_SMTP_NO;        /* a banner that cannot be read is no banner */
	tls_decide(p, false);                      /* its replies can no longer tell */
	check_held(p);
}

void pcapsmtp_end(pcapsmtp *p, uint64_t unparsed, bool early, int64_t now_ms)
{
	decide(p);
	if (!p->s)
		return;
	if (pcapsmtp_in_data(p))
		result(p, PCAPSMTP_CUT, now_ms)->transaction = p->handed + 1;
	else if (early && !p->dead && smtp_session_want(p->s) != SMTP_WANT_CLOSE)
		result(p, PCAPSMTP_UNFINISHED, now_ms);
	else if (p->lost_outside_data && unparsed + p->ignored)
		result(p, p->one_sided ? PCAPSMTP_ONE_SIDED : PCAPSMTP_UNPARSED, now_ms)->bytes =
			unparsed + p->ignored;
	p->in_data = false;
	smtp_session_closed(p->s, now_ms);
	take_output(p, now_ms);
}
