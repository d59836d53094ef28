/*
 * pcap.c - the stream as a packet capture of SMTP sessions.
 *
 * Each session is a TCP connection from the bot's address to the trap's
 * port 25: three-way handshake, the server's 220 banner, every command of
 * the client and the reply of a simulated server (an accept-all trap),
 * the message data (dot-stuffed) in segments of at most 1460 bytes, and
 * the close (FIN both ways). Ethernet/IPv4/TCP with valid checksums,
 * microsecond timestamps, classic pcap format (written here; it is a
 * 24-byte header and a 16-byte record header per packet).
 *
 * The data's final segment carries the message's own time, so a reader
 * taking packet times sees the time the truth and the mbox give. Packets of
 * overlapping sessions are held and written in time order.
 *
 * A STARTTLS session is clear text up to the server's "220 Ready"; after
 * that both directions carry TLS application-data records of opaque
 * bytes, as a capture of real TLS would (the content cannot be read).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/internal.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MSS 1460
#define STEP_US 1500   /* between packets of one session */

struct pkt {
	int64_t t_us;
	uint64_t seq;      /* arrival order, for a stable sort */
	size_t off, len;
};

struct flow {
	uint32_t cip, sip;
	uint16_t cport, sport;
	uint32_t cseq, sseq;     /* next sequence numbers */
	uint16_t cipid, sipid;
	bool tls;                /* after STARTTLS: payloads become TLS records */
	int64_t t;               /* cursor (µs) */
};

struct sim_pcap {
	FILE *out;
	const sim_scenario *s;
	uint64_t seed;
	struct buf bytes;        /* pending frames */
	struct pkt *pk;
	size_t npk, cappk;
	uint64_t nseq;
	struct flow f;
	struct buf tmp, line;
	bool failed;
};

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t csum_add(uint32_t sum, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

enum { F_FIN = 1, F_SYN = 2, F_PSH = 8, F_ACK = 16 };

/* emit: one segment from the client (dir 0) or the server (dir 1). */
static void emit(sim_pcap *w, int dir, unsigned flags, const void *payload, size_t plen)
{
	struct flow *f = &w->f;
	unsigned char h[14 + 20 + 24];
	size_t thl = (flags & F_SYN) ? 24 : 20, hl = 14 + 20 + thl;
	uint32_t src = dir ? f->sip : f->cip, dst = dir ? f->cip : f->sip;
	uint16_t sport = dir ? f->sport : f->cport, dport = dir ? f->cport : f->sport;
	uint32_t seq = dir ? f->sseq : f->cseq, ack = dir ? f->cseq : f->sseq;
	uint32_t sum;
	unsigned char pseudo[12];
	struct pkt *p;

	memset(h, 0, sizeof(h));
	/* Ethernet: locally administered MACs derived from the addresses */
	h[0] = 0x02; put32(h + 1, dst); h[5] = 0x01;
	h[6] = 0x02; put32(h + 7, src); h[11] = 0x01;
	put16(h + 12, 0x0800);
	/* IPv4 */
	h[14] = 0x45;
	put16(h + 16, (unsigned)(20 + thl + plen));
	put16(h + 18, dir ? f->sipid++ : f->cipid++);
	put16(h + 20, 0x4000);   /* don't fragment */
	h[22] = dir ? 64 : 118;
	h[23] = 6;
	put32(h + 26, src);
	put32(h + 30, dst);
	put16(h + 24, csum_fold(csum_add(0, h + 14, 20)));
	/* TCP */
	put16(h + 34, sport);
	put16(h + 36, dport);
	put32(h + 38, seq);
	put32(h + 42, (flags & F_SYN) && !dir ? 0 : ack);
	h[46] = (unsigned char)((thl / 4) << 4);
	h[47] = (unsigned char)(flags | ((flags & F_SYN) && !dir ? 0 : F_ACK));
	put16(h + 48, dir ? 29200 : 65535);
	if (flags & F_SYN) {
		h[54] = 2;
		h[55] = 4;
		put16(h + 56, MSS);
	}
	put32(pseudo, src);
	put32(pseudo + 4, dst);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, (unsigned)(thl + plen));
	sum = csum_add(0, pseudo, 12);
	sum = csum_add(sum, h + 34, thl);
	sum = csum_add(sum, payload, plen);
	put16(h + 50, csum_fold(sum));
	/* record */
	if (w->npk == w->cappk) {
		w->cappk = w->cappk ? 2 * w->cappk : 1024;
		w->pk = xreallocarray(w->pk, w->cappk, sizeof(*w->pk));
	}
	p = &w->pk[w->npk++];
	p->t_us = f->t;
	p->seq = w->nseq++;
	p->off = w->bytes.len;
	p->len = hl + plen;
	buf_add(&w->bytes, h, hl);
	buf_add(&w->bytes, payload, plen);
	/* advance */
	if (dir)
		f->sseq += (uint32_t)plen + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
	else
		f->cseq += (uint32_t)plen + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
	f->t += STEP_US;
}

/* send: bytes in one direction, as segments (or TLS records after STARTTLS). */
static void send_bytes(sim_pcap *w, int dir, const char *p, size_t n)
{
	struct flow *f = &w->f;

	while (n) {
		if (f->tls) {
			/* a TLS application-data record of opaque bytes per chunk */
			unsigned char rec[MSS];
			size_t chunk = n > MSS - 5 - 29 ? MSS - 5 - 29 : n, i, rl = chunk + 29;
			uint64_t h = hash64(p, chunk, f->cseq ^ ((uint64_t)f->sseq << 32));

			rec[0] = 0x17;
			rec[1] = 3;
			rec[2] = 3;
			put16(rec + 3, (unsigned)rl);
			for (i = 0; i < rl; i++) {
				if (i % 8 == 0)
					h = hash_mix(h + i);
				rec[5 + i] = (unsigned char)(h >> ((i % 8) * 8));
			}
			emit(w, dir, F_PSH, rec, rl + 5);
			p += chunk;
			n -= chunk;
		} else {
			size_t chunk = n > MSS ? MSS : n;

			emit(w, dir, n > MSS ? 0 : F_PSH, p, chunk);
			p += chunk;
			n -= chunk;
		}
	}
}

static void send_str(sim_pcap *w, int dir, const char *s)
{
	send_bytes(w, dir, s, strlen(s));
}

sim_pcap *sim_pcap_new(FILE *out, const sim_scenario *s, uint64_t seed)
{
	sim_pcap *w = xcalloc(1, sizeof(*w));
	unsigned char gh[24];

	w->out = out;
	w->s = s;
	w->seed = seed;
	buf_init(&w->bytes);
	buf_init(&w->tmp);
	buf_init(&w->line);
	le32(gh, 0xa1b2c3d4);
	gh[4] = 2; gh[5] = 0; gh[6] = 4; gh[7] = 0;   /* version 2.4, little-endian */
	le32(gh + 8, 0);
	le32(gh + 12, 0);
	le32(gh + 16, 65535);
	le32(gh + 20, 1);                          /* Ethernet */
	if (fwrite(gh, 1, sizeof(gh), out) != sizeof(gh))
		w->failed = true;
	return w;
}

static int cmp_pkt(const void *a, const void *b)
{
	const struct pkt *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* flush: write the held packets earlier than before_us, in time order. */
static void flush(sim_pcap *w, int64_t before_us)
{
	struct buf keep = BUF_INIT;
	size_t i, nk = 0;

	if (w->npk > 1)
		qsort(w->pk, w->npk, sizeof(*w->pk), cmp_pkt);
	for (i = 0; i < w->npk; i++) {
		struct pkt *p = &w->pk[i];

		if (p->t_us < before_us) {
			unsigned char rh[16];

			le32(rh, (uint32_t)(p->t_us / 1000000));
			le32(rh + 4, (uint32_t)(p->t_us % 1000000));
			le32(rh + 8, (uint32_t)p->len);
			le32(rh + 12, (uint32_t)p->len);
			if (fwrite(rh, 1, 16, w->out) != 16 ||
			    fwrite(w->bytes.data + p->off, 1, p->len, w->out) != p->len)
				w->failed = true;
		} else {
			struct pkt q = *p;

			q.off = keep.len;
			buf_add(&keep, w->bytes.data + p->off, p->len);
			w->pk[nk++] = q;
		}
	}
	w->npk = nk;
	buf_free(&w->bytes);
	w->bytes = keep;
}

static const char *reply_for(sim_pcap *w, const char *cmd, const struct sim_message *m, char *tmp,
			     size_t tmplen)
{
	const char *host = w->s->trap_host;

	if (!strncasecmp(cmd, "EHLO", 4)) {
		snprintf(tmp, tmplen, "250-%s\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n%s"
			 "250-8BITMIME\r\n250 DSN\r\n", host, w->f.tls ? "" : "250-STARTTLS\r\n");
		return tmp;
	}
	if (!strncasecmp(cmd, "HELO", 4)) {
		snprintf(tmp, tmplen, "250 %s\r\n", host);
		return tmp;
	}
	if (!strncasecmp(cmd, "STARTTLS", 8))
		return "220 2.0.0 Ready to start TLS\r\n";
	if (!strncasecmp(cmd, "MAIL", 4))
		return "250 2.1.0 Ok\r\n";
	if (!strncasecmp(cmd, "RCPT", 4))
		return "250 2.1.5 Ok\r\n";
	if (!strncasecmp(cmd, "DATA", 4))
		return "354 End data with <CR><LF>.<CR><LF>\r\n";
	if (!strncasecmp(cmd, "QUIT", 4))
		return "221 2.0.0 Bye\r\n";
	if (!strncasecmp(cmd, "RSET", 4))
		return "250 2.0.0 Ok\r\n";
	(void)m;
	return "502 5.5.2 Error: command not recognized\r\n";
}

/* dot_stuff: the data as sent after DATA, ending with CRLF.CRLF. */
static void dot_stuff(struct buf *out, const char *p, size_t n)
{
	const char *end = p + n;

	buf_reset(out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);

		if (*p == '.')
			buf_addch(out, '.');
		buf_add(out, p, l);
		p += l;
	}
	if (out->len && out->data[out->len - 1] != '\n')
		buf_add(out, "\r\n", 2);
	buf_add(out, ".\r\n", 3);
}

int sim_pcap_write(sim_pcap *w, const struct sim_message *m)
{
	struct flow *f = &w->f;
	int64_t msg_us = m->time * 1000000 + m->usec;
	size_t i, before_dot = 0;
	char rbuf[512];
	bool after_data = false;

	dot_stuff(&w->tmp, m->data, m->len);
	/* count the packets before the final data segment, to time them */
	for (i = 0; i < m->ncommands && strcmp(m->commands[i], "DATA") != 0; i++)
		before_dot += 2;
	before_dot += 2 + (w->tmp.len + MSS - 1) / MSS;
	if (m->index_in_session == 0) {
		uint64_t h = hash_mix(w->seed ^ (m->session * 0x9e3779b97f4a7c15ULL));

		before_dot += 4;   /* SYN, SYN-ACK, ACK, banner */
		flush(w, msg_us - 4000000);
		memset(f, 0, sizeof(*f));
		f->cip = m->client_ip;
		f->sip = w->s->trap_ip;
		f->cport = (uint16_t)(1025 + h % 64000);
		f->sport = 25;
		f->cseq = (uint32_t)(h >> 16);
		f->sseq = (uint32_t)(h >> 40) * 977u;
		f->cipid = (uint16_t)(h >> 8);
		f->sipid = (uint16_t)(h >> 24);
		f->t = msg_us - (int64_t)before_dot * STEP_US;
		emit(w, 0, F_SYN, NULL, 0);
		emit(w, 1, F_SYN, NULL, 0);
		emit(w, 0, 0, NULL, 0);
		snprintf(rbuf, sizeof(rbuf), "220 %s ESMTP spamtide\r\n", w->s->trap_host);
		send_str(w, 1, rbuf);
	} else {
		f->t = msg_us - (int64_t)before_dot * STEP_US;
	}
	for (i = 0; i < m->ncommands; i++) {
		const char *cmd = m->commands[i];

		buf_reset(&w->line);
		buf_addstr(&w->line, cmd);
		buf_add(&w->line, "\r\n", 2);
		send_bytes(w, 0, w->line.data, w->line.len);
		send_str(w, 1, reply_for(w, cmd, m, rbuf, sizeof(rbuf)));
		if (!strncasecmp(cmd, "STARTTLS", 8))
			f->tls = true;
		if (!after_data && strcmp(cmd, "DATA") == 0) {
			after_data = true;
			f->t = msg_us - (int64_t)((w->tmp.len + MSS - 1) / MSS - 1) * STEP_US;
			if (f->tls)
				f->t = msg_us - (int64_t)((w->tmp.len + MSS - 35) / (MSS - 34) - 1) * STEP_US;
			send_bytes(w, 0, w->tmp.data, w->tmp.len);
			snprintf(rbuf, sizeof(rbuf), "250 2.0.0 Ok: queued as %010llX\r\n",
				 (unsigned long long)(hash_mix(m->session * 1000003ULL + m->index_in_session) &
						      0xffffffffffULL));
			send_str(w, 1, rbuf);
		}
	}
	if (m->last_in_session) {
		bool quit = m->ncommands && strcasecmp(m->commands[m->ncommands - 1], "QUIT") == 0;
		int closer = quit ? 1 : 0;

		emit(w, closer, F_FIN, NULL, 0);
		emit(w, !closer, F_FIN, NULL, 0);
		emit(w, closer, 0, NULL, 0);
	}
	return w->failed ? -1 : 0;
}

int sim_pcap_finish(sim_pcap *w)
{
	flush(w, INT64_MAX);
	return w->failed ? -1 : 0;
}

void sim_pcap_free(sim_pcap *w)
{
	if (!w)
		return;
	buf_free(&w->bytes);
	buf_free(&w->tmp);
	buf_free(&w->line);
	free(w->pk);
	free(w);
}
