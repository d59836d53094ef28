/*
 * pcapsrc.c - SMTP sessions out of a packet capture; see pcapsrc.h.
 *
 * One loop: read a packet (libpcap), finish flows idle in packet time,
 * decode the frame, find or start its flow, feed the acknowledgement and
 * the payload to the two reassemblers, which hand contiguous bytes to the
 * flow's pcapsmtp, and turn what pcapsmtp reports into queued outputs
 * (items and skips). pcapsrc_next() returns queued outputs first and reads
 * packets only when the queue is empty, so memory holds the flow table,
 * the sessions in it and what one packet produced. At the end of the file
 * the remaining flows are finished one at a time, oldest first.
 *
 * Flows: a SYN starts one (a second SYN with another sequence number on a
 * known 4-tuple is port reuse: the old one is finished first); a SYN-ACK
 * without its SYN starts one too. A flow to an SMTP port whose client
 * sends bytes without a SYN in the capture is reported once ("joined in
 * the middle") and otherwise ignored. A flow ends when the client's FIN is
 * reached in order (or the server's, once the session is over: after
 * QUIT or a 421), on RST, when idle, when evicted from a full table (the
 * least recently active one), or at the end of the capture.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "source/pcapdec.h"
#include "source/pcapsmtp.h"
#include "source/pcapsrc.h"
#include "source/tcpflow.h"
#include "source/tcpreasm.h"
#include "util/limits.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct flow {
	struct tcpflow_node node;  /* first: the table links flows through it */
	struct ip_addr cli, srv;
	uint16_t cport, sport;
	bool syn_seen;
	uint32_t cli_isn;
	struct tcpreasm c2s, s2c;
	pcapsmtp *smtp;
	const char *loss_why;      /* why the client stream was declared lost */
	bool snapped;              /* a segment of it was cut by the snaplen */
};

struct out {
	struct out *next;
	bool skip;
	struct buf text;           /* skip: the account */
	struct pcapsmtp_result r;  /* item: what pcapsmtp handed over */
	char client[IP_TEXT_LEN];
	char identity[2 * IP_TEXT_LEN + 48];   /* ENCRYPTED: flow and time */
	uint64_t offset;           /* of the packet record */
	struct pipeline_session ses;
};

/*
 * Connections not (or no longer) in the flow table whose packets are to be
 * passed over in silence, by key hash: those just finished (a client's
 * data still in flight after the server's RST, a retransmitted FIN, the
 * rest of an evicted session must not look like a session joined in the
 * middle, nor a late SYN-ACK start one again) and those joined in the
 * middle, once reported. An entry lives while its connection sends within
 * LIMIT_PCAP_FLOW_IDLE_S. A 4-way set-associative cache with a slot per
 * flow the table may hold (at least RECENT_MIN, 1 MB; at most 16 MB), the
 * oldest of a set replaced: a miss costs at most one account too many,
 * never memory.
 */
#define RECENT_MIN 65536
#define RECENT_WAYS 4
#define RECENT_MAX_SETS (1u << 18)

struct recent {
	uint64_t hash;
	int64_t t_ms;
};

struct pcapsrc {
	char *path;
	int64_t mtime;
	pcap_t *pc;
	FILE *fp;                  /* pcap's own stream (for the position) */
	int dlt;
	uint8_t ports[8192];
	size_t max_flows, max_pending;
	int64_t idle_ms;

	uint64_t packet;           /* number of the packet being processed, 1-based */
	uint64_t packet_offset;    /* where its record starts */
	uint64_t pos;              /* bytes of the file read */
	int64_t clock_ms;          /* the latest packet time seen */
	bool eof;
	bool summary_done;

	tcpflow_table *flows;
	struct out *head, *tail;
	struct out *current;       /* returned last; freed at the next call */
	unsigned long index;       /* items handed out */

	struct recent *recent;
	size_t recent_sets;        /* a power of two */

	/* counts for the account at the end */
	uint64_t fragments, first_fragment;
};

bool pcapsrc_parse_ports(const char *list, uint8_t set[8192], struct buf *err)
{
	const char *p = list;
	bool any = false;

	memset(set, 0, 8192);
	while (*p) {
		unsigned long v = 0;
		const char *start;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p >= '0' && *p <= '9' && p - start < 6)
			v = v * 10 + (unsigned long)(*p++ - '0');
		if (p == start || v == 0 || v > 65535 || (*p && *p != ',' && *p != ' ')) {
			buf_printf(err, "SMTP ports '%.100s': not a list of ports 1-65535 such as "
				   "25,587,2525", list);
			return false;
		}
		set[v >> 3] |= (uint8_t)(1u << (v & 7));
		any = true;
	}
	if (!any) {
		buf_printf(err, "SMTP ports '%.100s': no port given", list);
		return false;
	}
	return true;
}

static bool smtp_port(const pcapsrc *c, uint16_t port)
{
	return c->ports[port >> 3] & (1u << (port & 7));
}

pcapsrc *pcapsrc_open(const char *path, int fd, int64_t mtime, const char *smtp_ports,
		      struct buf *err)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcapsrc *c = xcalloc(1, sizeof(*c));
	int dupfd;
	FILE *f;

	if (!pcapsrc_parse_ports(smtp_ports ? smtp_ports : PCAPSRC_DEFAULT_PORTS, c->ports, err)) {
		buf_printf(err, "; %s skipped", path);
		free(c);
		return NULL;
	}
	if ((dupfd = dup(fd)) < 0 || !(f = fdopen(dupfd, "rb"))) {
		buf_printf(err, "%s: cannot open: %s", path, strerror(errno));
		if (dupfd >= 0)
			close(dupfd);
		free(c);
		return NULL;
	}
	rewind(f);
	if (!(c->pc = pcap_fopen_offline(f, perr))) {
		buf_printf(err, "%s: not a readable capture: %s; skipped", path, perr);
		fclose(f);
		free(c);
		return NULL;
	}
	c->dlt = pcap_datalink(c->pc);
	if (!pcapdec_link_supported(c->dlt)) {
		const char *name = pcap_datalink_val_to_name(c->dlt);

		buf_printf(err, "%s: link type %s (%d) is not supported (Ethernet, Linux cooked, "
			   "raw IP and loopback are); skipped", path, name ? name : "unknown", c->dlt);
		pcap_close(c->pc);
		free(c);
		return NULL;
	}
	c->fp = pcap_file(c->pc);
	c->pos = c->fp ? (uint64_t)ftell(c->fp) : 0;
	c->path = xstrdup(path);
	c->mtime = mtime;
	c->max_flows = (size_t)limit(LIMIT_PCAP_FLOWS);
	c->max_pending = (size_t)limit(LIMIT_PCAP_FLOW_BYTES);
	c->idle_ms = limit(LIMIT_PCAP_FLOW_IDLE_S) * 1000;
	c->flows = tcpflow_new();
	c->recent_sets = RECENT_MIN / RECENT_WAYS;
	while (c->recent_sets * RECENT_WAYS < c->max_flows && c->recent_sets < RECENT_MAX_SETS)
		c->recent_sets *= 2;
	c->recent = xcalloc(c->recent_sets * RECENT_WAYS, sizeof(*c->recent));
	return c;
}

/* ---- outputs ---- */

static struct out *out_new(pcapsrc *c, bool skip)
{
	struct out *o = xcalloc(1, sizeof(*o));

	o->skip = skip;
	buf_init(&o->text);
	o->offset = c->packet_offset;
	if (c->tail)
		c->tail->next = o;
	else
		c->head = o;
	c->tail = o;
	return o;
}

static void out_free(struct out *o)
{
	if (!o)
		return;
	buf_free(&o->text);
	pcapsmtp_result_free(&o->r);
	free(o);
}

static void endpoint(struct buf *b, const struct ip_addr *a, uint16_t port)
{
	char t[IP_TEXT_LEN];

	ip_format(a, t);
	if (ip_is_v4(a))
		buf_printf(b, "%s:%u", t, port);
	else
		buf_printf(b, "[%s]:%u", t, port);
}

/* skip: "PATH: packet N: CLIENT > SERVER: " and the account */
static struct out *skip(pcapsrc *c, const struct flow *f)
{
	struct out *o = out_new(c, true);

	buf_printf(&o->text, "%s: packet %llu: ", c->path, (unsigned long long)c->packet);
	if (f) {
		endpoint(&o->text, &f->cli, f->cport);
		buf_addstr(&o->text, " > ");
		endpoint(&o->text, &f->srv, f->sport);
		buf_addstr(&o->text, ": ");
	}
	return o;
}

/* take the results of a flow's session into the queue; why: how it ended */
static void collect(pcapsrc *c, struct flow *f, const char *why)
{
	struct pcapsmtp_result r;

	while (pcapsmtp_take(f->smtp, &r)) {
		struct out *o;

		switch (r.kind) {
		case PCAPSMTP_MESSAGE:
		case PCAPSMTP_ENCRYPTED:
			o = out_new(c, false);
			o->r = r;
			ip_format(&f->cli, o->client);
			if (r.kind == PCAPSMTP_ENCRYPTED) {
				char srv[IP_TEXT_LEN];

				ip_format(&f->srv, srv);
				snprintf(o->identity, sizeof(o->identity), "encrypted %s:%u %s:%u %lld",
					 o->client, (unsigned)f->cport, srv, (unsigned)f->sport,
					 (long long)r.t_ms);
			}
			continue;
		case PCAPSMTP_CUT:
			buf_printf(&skip(c, f)->text, "message %u of the session cut by %s inside "
				   "DATA; not stored", r.transaction, f->c2s.lost && f->loss_why ?
				   f->loss_why : why);
			break;
		case PCAPSMTP_TOO_BIG:
			buf_printf(&skip(c, f)->text, "message %u of the session is larger than the "
				   "message_size limit of %lld bytes; not stored", r.transaction,
				   limit(LIMIT_MESSAGE_SIZE));
			break;
		case PCAPSMTP_UNPARSED:
			buf_printf(&skip(c, f)->text, "%llu bytes from the client after %s were not "
				   "parsed; messages in them are lost", (unsigned long long)r.bytes,
				   f->loss_why ? f->loss_why : "a gap");
			break;
		case PCAPSMTP_ONE_SIDED:
			buf_printf(&skip(c, f)->text, "the server's side of the session is not in the "
				   "capture; %llu bytes from the client were not parsed",
				   (unsigned long long)r.bytes);
			break;
		case PCAPSMTP_UNFINISHED:
			buf_printf(&skip(c, f)->text, "the session was still open at %s; what it "
				   "sent after that is not parsed", why);
			break;
		case PCAPSMTP_DIVERGED:
			buf_printf(&skip(c, f)->text, "message %u of the session came in a way "
				   "spamtide's SMTP core refuses (BDAT, or SMTPUTF8 or DSN parameters) "
				   "and the server took it; not stored", r.transaction);
			break;
		case PCAPSMTP_TLS_REFUSED:
			buf_addstr(&skip(c, f)->text, "the server refused STARTTLS; the rest of the "
				   "session is not parsed");
			break;
		}
		pcapsmtp_result_free(&r);
	}
}

/* ---- flows ---- */

static void remember(pcapsrc *c, uint64_t h)
{
	struct recent *set = &c->recent[(h & (c->recent_sets - 1)) * RECENT_WAYS];
	int i, oldest = 0;

	for (i = 0; i < RECENT_WAYS; i++) {
		if (set[i].hash == h) {
			oldest = i;
			break;
		}
		if (set[i].t_ms < set[oldest].t_ms)
			oldest = i;
	}
	set[oldest].hash = h;
	set[oldest].t_ms = c->clock_ms;
}

static void flow_free(struct flow *f)
{
	tcpreasm_free(&f->c2s);
	tcpreasm_free(&f->s2c);
	pcapsmtp_free(f->smtp);
	free(f);
}

static void client_lost(pcapsrc *c, struct flow *f, const char *why, int64_t t)
{
	if (f->c2s.lost)
		return;
	f->loss_why = f->snapped ? "the capture's snaplen (packets cut short)" : why;
	tcpreasm_lose(&f->c2s);
	pcapsmtp_client_lost(f->smtp, t);
	collect(c, f, why);
}

/*
 * finish: the connection is over, or given up (early: the rest of it may
 * still come, and will not be parsed); why says how. Its flow goes.
 */
static void finish(pcapsrc *c, struct flow *f, const char *why, bool early)
{
	int64_t t = c->clock_ms;

	if (tcpreasm_has_hole(&f->c2s))
		client_lost(c, f, "bytes missing from the capture", t);
	pcapsmtp_end(f->smtp, f->c2s.lost && f->c2s.high > f->c2s.next ?
		     f->c2s.high - f->c2s.next : 0, early, t);
	collect(c, f, why);
	remember(c, f->node.hash);
	tcpflow_remove(c->flows, &f->node);
	flow_free(f);
}

static void expire(pcapsrc *c)
{
	struct tcpflow_node *n;

	while ((n = tcpflow_oldest(c->flows)) && n->last_ms + c->idle_ms < c->clock_ms)
		finish(c, (struct flow *)n, "the session going idle (pcap_flow_idle_s)", false);
}

static struct flow *flow_new(pcapsrc *c, const struct tcpflow_key *k,
			     const struct ip_addr *cli, uint16_t cport,
			     const struct ip_addr *srv, uint16_t sport)
{
	struct flow *f;

	while (tcpflow_count(c->flows) >= c->max_flows)
		finish(c, (struct flow *)tcpflow_oldest(c->flows),
		       "eviction from the full flow table (pcap_flows)", true);
	f = xcalloc(1, sizeof(*f));
	f->node.key = *k;
	f->cli = *cli, f->cport = cport;
	f->srv = *srv, f->sport = sport;
	tcpreasm_init(&f->c2s, c->max_pending);
	tcpreasm_init(&f->s2c, c->max_pending);
	f->smtp = pcapsmtp_new(!smtp_port(c, sport), c->max_pending, c->clock_ms);
	tcpflow_insert(c->flows, &f->node, c->clock_ms);
	return f;
}

struct sink_ctx {
	pcapsrc *c;
	struct flow *f;
	int64_t t;
};

static void to_client_side(void *ctx, const uint8_t *p, size_t n)
{
	struct sink_ctx *s = ctx;

	pcapsmtp_client(s->f->smtp, p, n, s->t);
}

static void to_server_side(void *ctx, const uint8_t *p, size_t n)
{
	struct sink_ctx *s = ctx;

	pcapsmtp_server(s->f->smtp, p, n, s->t);
}

/* not_smtp: a flow on another port whose server did not open with 220 */
static bool not_smtp(pcapsrc *c, struct flow *f)
{
	if (pcapsmtp_is_smtp(f->smtp) != PCAPSMTP_SMTP_NO)
		return false;
	tcpflow_remove(c->flows, &f->node);
	flow_free(f);
	return true;
}

static void session_packet(pcapsrc *c, struct flow *f, const struct pcapdec_segment *g,
			   bool from_client, int64_t t)
{
	struct sink_ctx ctx = { c, f, t };
	struct tcpreasm *mine = from_client ? &f->c2s : &f->s2c;
	struct tcpreasm *peer = from_client ? &f->s2c : &f->c2s;

	if (g->flags & PCAPDEC_SYN) {
		/* SYN-ACK: the server's first sequence number, and the client's */
		if (!from_client && (g->flags & PCAPDEC_ACK)) {
			if (!f->s2c.started)
				tcpreasm_start(&f->s2c, g->seq + 1);
			if (!f->c2s.started)
				tcpreasm_start(&f->c2s, g->ack);
		}
		return;
	}
	if (g->flags & PCAPDEC_ACK) {
		if (from_client && !f->s2c.started && f->syn_seen)
			tcpreasm_start(&f->s2c, g->ack);    /* its SYN-ACK was not captured */
		if (from_client) {
			uint64_t seen = tcpreasm_ack(peer, g->ack);

			if (seen) {
				/* the client has server bytes the capture missed */
				if (!peer->lost) {
					tcpreasm_lose(peer);
					pcapsmtp_server_lost(f->smtp);
				}
				pcapsmtp_server(f->smtp, NULL, (size_t)seen, t);
				collect(c, f, "");
				if (not_smtp(c, f))
					return;
			}
		} else {
			tcpreasm_ack(peer, g->ack);
		}
	}
	if (!mine->started)
		tcpreasm_start(mine, g->seq);
	if (g->len || (g->flags & PCAPDEC_FIN)) {
		uint64_t high = mine->high;
		struct tcpreasm_result r;

		if (g->caplen < g->len)
			f->snapped = true;
		r = tcpreasm_segment(mine, g->seq, g->payload, g->caplen, g->len,
				     (g->flags & PCAPDEC_FIN) != 0,
				     from_client ? to_client_side : to_server_side, &ctx);
		if (!from_client && mine->lost && mine->high > high)
			pcapsmtp_server(f->smtp, NULL, (size_t)(mine->high - high), t);
		collect(c, f, "");
		if (not_smtp(c, f))
			return;
		if (r.overflow) {
			if (from_client) {
				client_lost(c, f, "a hole with more than pcap_flow_bytes waiting "
					    "behind it", t);
			} else {
				tcpreasm_lose(mine);
				pcapsmtp_server_lost(f->smtp);
				collect(c, f, "");
				if (not_smtp(c, f))
					return;
			}
		}
		if (from_client && r.fin_reached) {
			finish(c, f, "the client closing the connection", false);
			return;
		}
		if (!from_client && r.fin_reached && pcapsmtp_over(f->smtp)) {
			finish(c, f, "the server closing the connection", false);
			return;
		}
	}
	if (tcpreasm_ack_proves_loss(&f->c2s, false))
		client_lost(c, f, "bytes the capture missed (the server acknowledged them)", t);
	if (f->c2s.lost && f->c2s.fin)
		finish(c, f, "the client closing the connection", false);
}

static void start_session(pcapsrc *c, const struct tcpflow_key *k,
			  const struct pcapdec_segment *g, int64_t t)
{
	struct flow *f;

	if (!(g->flags & PCAPDEC_ACK)) {
		/* SYN: the sender is the client */
		f = flow_new(c, k, &g->src, g->sport, &g->dst, g->dport);
		f->syn_seen = true;
		f->cli_isn = g->seq;
		tcpreasm_start(&f->c2s, g->seq + 1);
	} else {
		/* SYN-ACK without its SYN: the sender is the server */
		f = flow_new(c, k, &g->dst, g->dport, &g->src, g->sport);
		tcpreasm_start(&f->s2c, g->seq + 1);
		tcpreasm_start(&f->c2s, g->ack);
	}
	(void)t;
}

/* passed_over: the connection is in the cache of the recent (refreshed) */
static bool passed_over(pcapsrc *c, const struct tcpflow_key *k)
{
	uint64_t h = tcpflow_key_hash(k);
	struct recent *set = &c->recent[(h & (c->recent_sets - 1)) * RECENT_WAYS];
	int i;

	for (i = 0; i < RECENT_WAYS; i++)
		if (set[i].hash == h && set[i].t_ms + c->idle_ms >= c->clock_ms) {
			set[i].t_ms = c->clock_ms;
			return true;
		}
	return false;
}

static void tcp_packet(pcapsrc *c, const struct pcapdec_segment *g, int64_t t)
{
	struct tcpflow_key k;
	struct flow *f;
	struct out *o;
	bool from_client;

	tcpflow_key_make(&k, &g->src, g->sport, &g->dst, g->dport);
	f = (struct flow *)tcpflow_find(c->flows, &k);
	if (!f) {
		if ((g->flags & (PCAPDEC_SYN | PCAPDEC_RST | PCAPDEC_ACK)) == PCAPDEC_SYN ||
		    ((g->flags & (PCAPDEC_SYN | PCAPDEC_RST)) == PCAPDEC_SYN &&
		     !passed_over(c, &k))) {
			start_session(c, &k, g, t);
			return;
		}
		/* no SYN: only a client talking to an SMTP port is worth a word, once */
		if (g->len == 0 || (g->flags & PCAPDEC_RST) || !smtp_port(c, g->dport) ||
		    passed_over(c, &k))
			return;
		remember(c, tcpflow_key_hash(&k));
		o = skip(c, NULL);
		endpoint(&o->text, &g->src, g->sport);
		buf_addstr(&o->text, " > ");
		endpoint(&o->text, &g->dst, g->dport);
		buf_addstr(&o->text, ": the capture joins this session in the middle (its SYN is "
			   "not in it); not parsed");
		return;
	}
	tcpflow_touch(c->flows, &f->node, c->clock_ms);
	from_client = g->sport == f->cport && memcmp(g->src.b, f->cli.b, 16) == 0;
	if ((g->flags & (PCAPDEC_SYN | PCAPDEC_ACK)) == PCAPDEC_SYN) {
		if (from_client && f->syn_seen && g->seq == f->cli_isn)
			return;                          /* a retransmitted SYN */
		finish(c, f, "a new connection on the same addresses and ports", false);
		start_session(c, &k, g, t);
		return;
	}
	if (g->flags & PCAPDEC_RST) {
		finish(c, f, from_client ? "a reset from the client" : "a reset from the server",
		       false);
		return;
	}
	session_packet(c, f, g, from_client, t);
}

static void packet(pcapsrc *c, const struct pcap_pkthdr *h, const uint8_t *data)
{
	struct pcapdec_segment g;
	int64_t t = (int64_t)h->ts.tv_sec * 1000 + h->ts.tv_usec / 1000;

	if (t > c->clock_ms || c->packet == 1)
		c->clock_ms = t;
	expire(c);
	switch (pcapdec_frame(c->dlt, data, h->caplen, &g)) {
	case PCAPDEC_TCP:
		break;
	case PCAPDEC_FRAGMENT:
		if (!c->fragments++)
			c->first_fragment = c->packet;
		return;
	default:
		return;
	}
	tcp_packet(c, &g, t);
}

/* ---- reading ---- */

static void fill_item(pcapsrc *c, struct out *o, struct source_item *item)
{
	struct pcapsmtp_result *r = &o->r;
	struct pipeline_session *s = &o->ses;

	memset(item, 0, sizeof(*item));
	memset(s, 0, sizeof(*s));
	s->client_ip = o->client;
	s->dialect_id = r->dialect_id;
	s->dialect_facts = r->facts;
	s->ts = r->t_ms >= 0 ? r->t_ms / 1000 : -((-r->t_ms + 999) / 1000);
	if (r->kind == PCAPSMTP_MESSAGE) {
		s->helo = r->msg->helo;
		s->mail_from = r->msg->mail_from;
		s->rcpt_count = (unsigned)r->msg->nrcpts;
		item->raw = r->msg->data.data;
		item->len = r->msg->data.len;
	} else {
		s->helo = r->helo;
		s->encrypted = true;
		s->identity = o->identity;
	}
	item->path = c->path;
	item->index = ++c->index;
	item->offset = o->offset;
	item->format = SOURCE_FORMAT_PCAP;
	item->ctx.have_mtime = true;
	item->ctx.mtime = c->mtime;
	item->session = s;
}

static void summary(pcapsrc *c)
{
	struct out *o;

	if (c->fragments) {
		o = out_new(c, true);
		buf_printf(&o->text, "%s: %llu IP fragments of TCP segments skipped (the first is "
			   "packet %llu): fragments are not reassembled", c->path,
			   (unsigned long long)c->fragments, (unsigned long long)c->first_fragment);
	}
}

enum source_status pcapsrc_next(pcapsrc *c, struct source_item *item, struct buf *err)
{
	out_free(c->current);
	c->current = NULL;
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int rc;

		if (c->head) {
			struct out *o = c->head;

			c->head = o->next;
			if (!c->head)
				c->tail = NULL;
			c->current = o;
			if (o->skip) {
				buf_add(err, o->text.data, o->text.len);
				return SOURCE_SKIP;
			}
			fill_item(c, o, item);
			return SOURCE_ITEM;
		}
		if (c->eof) {
			struct tcpflow_node *n = tcpflow_oldest(c->flows);

			if (n) {
				finish(c, (struct flow *)n, "the end of the capture", false);
				continue;
			}
			if (!c->summary_done) {
				c->summary_done = true;
				summary(c);
				continue;
			}
			return SOURCE_END;
		}
		c->packet_offset = c->pos;
		rc = pcap_next_ex(c->pc, &h, &data);
		if (c->fp) {
			long at = ftell(c->fp);

			if (at >= 0)
				c->pos = (uint64_t)at;
		}
		if (rc == 1) {
			c->packet++;
			packet(c, h, data);
			continue;
		}
		c->eof = true;
		if (rc != PCAP_ERROR_BREAK) {
			struct out *o = out_new(c, true);

			buf_printf(&o->text, "%s: after packet %llu: %s; the rest of the file is not "
				   "read", c->path, (unsigned long long)c->packet, pcap_geterr(c->pc));
		}
	}
}

uint64_t pcapsrc_bytes_read(const pcapsrc *c)
{
	return c->pos;
}

void pcapsrc_close(pcapsrc *c)
{
	struct tcpflow_node *n;

	if (!c)
		return;
	while ((n = tcpflow_oldest(c->flows))) {
		struct flow *f = (struct flow *)n;

		tcpflow_remove(c->flows, n);
		flow_free(f);
	}
	tcpflow_free(c->flows);
	free(c->recent);
	out_free(c->current);
	while (c->head) {
		struct out *o = c->head;

		c->head = o->next;
		out_free(o);
	}
	pcap_close(c->pc);
	free(c->path);
	free(c);
}
