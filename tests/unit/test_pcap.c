/*
 * test_pcap.c - captures: frame decoding for every link type (and every
 * shorter cut of each frame), TCP reassembly (order, duplicates, overlaps,
 * wrap-around, holes and losses), the flow table, the SMTP driver on
 * transcripts of real clients (the dialect and the messages must equal
 * those of the core fed directly, however the bytes are split), STARTTLS,
 * probing ports that are not SMTP's, cut messages; and the whole reader
 * on live captures made with tcpdump (tests/data/pcap/capture.sh) against
 * the core fed the same sessions as tshark reassembles them.
 *
 * Helper mode for tests/integration/test_pcap_live.py:
 *   test_pcap --replay TRANSCRIPT...
 * feeds each transcript straight to the core (the contract of
 * docs/dialect.md, not src/source) and prints one line per message:
 * dialect id, size, the first 16 bytes of SHA-256 in hex, HELO, MAIL
 * FROM, recipients, encrypted (0/1), tab-separated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <pcap/dlt.h>

#include "smtp/smtp.h"
#include "source/pcapdec.h"
#include "source/pcapsmtp.h"
#include "source/pcapsrc.h"
#include "source/source.h"
#include "source/tcpflow.h"
#include "source/tcpreasm.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/limits.h"

/* ---- transcripts (tests/data/smtp, tests/data/pcap) ---- */

struct event {
	char side;           /* 'C' client, 'S' server */
	struct buf bytes;
};

struct transcript {
	struct event *ev;
	size_t n;
};

static void unescape(struct buf *out, const char *p)
{
	for (; *p && *p != '\n'; p++) {
		unsigned v;

		if (*p != '\\') {
			buf_addch(out, *p);
			continue;
		}
		switch (*++p) {
		case 'r': buf_addch(out, '\r'); break;
		case 'n': buf_addch(out, '\n'); break;
		case 't': buf_addch(out, '\t'); break;
		case '\\': buf_addch(out, '\\'); break;
		case 'x':
			if (sscanf(p + 1, "%2x", &v) != 1)
				fail_msg("bad escape in transcript");
			buf_addch(out, (int)v);
			p += 2;
			break;
		default:
			fail_msg("bad escape \\%c in transcript", *p);
		}
	}
}

static bool load(const char *rel, struct transcript *t)
{
	const char *dir = getenv("TESTDATA");
	char path[1024];
	static char line[262144];
	FILE *f;

	memset(t, 0, sizeof(*t));
	if (rel[0] == '/')
		snprintf(path, sizeof(path), "%s", rel);
	else
		snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", rel);
	if (!(f = fopen(path, "r")))
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || strlen(line) < 2)
			continue;
		t->ev = realloc(t->ev, (t->n + 1) * sizeof(*t->ev));
		t->ev[t->n].side = line[0];
		buf_init(&t->ev[t->n].bytes);
		unescape(&t->ev[t->n].bytes, line + 2);
		t->n++;
	}
	fclose(f);
	return true;
}

static void transcript_free(struct transcript *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		buf_free(&t->ev[i].bytes);
	free(t->ev);
	memset(t, 0, sizeof(*t));
}

/* ---- the core fed directly (docs/dialect.md, "Driving the core") ---- */

struct msg {
	char id[SMTP_DIALECT_ID_LEN];
	struct buf data;
	char helo[300], from[300];
	unsigned rcpts;
	bool encrypted;
};

struct msgs {
	struct msg m[32];
	size_t n;
};

static void msgs_free(struct msgs *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		buf_free(&w->m[i].data);
	w->n = 0;
}

struct direct {
	smtp_session *s;
	struct buf in;
	struct msgs *out;
};

static void direct_pump(struct direct *d, int64_t now)
{
	for (;;) {
		size_t len, used = d->in.len ? smtp_session_feed(d->s, d->in.data, d->in.len, now) : 0;

		memmove(d->in.data, d->in.data + used, d->in.len - used);
		buf_setlen(&d->in, d->in.len - used);
		smtp_session_output(d->s, &len);
		smtp_session_output_taken(d->s, len);
		if (smtp_session_want(d->s) == SMTP_WANT_STORE) {
			struct smtp_message *m = smtp_session_take_message(d->s);
			struct msg *o = &d->out->m[d->out->n++];

			assert_true(d->out->n < 32);
			memset(o, 0, sizeof(*o));
			snprintf(o->id, sizeof(o->id), "%s", m->dialect_id);
			buf_init(&o->data);
			buf_add(&o->data, m->data.data, m->data.len);
			snprintf(o->helo, sizeof(o->helo), "%s", m->helo);
			snprintf(o->from, sizeof(o->from), "%s", m->mail_from);
			o->rcpts = (unsigned)m->nrcpts;
			smtp_message_free(m);
			smtp_session_stored(d->s, true, "Q", now);
			continue;
		}
		return;
	}
}

/* the HELO argument of the transcript's last HELO/EHLO line before STARTTLS */
static void transcript_helo(const struct transcript *t, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < t->n; i++) {
		const char *p = t->ev[i].bytes.data;

		if (t->ev[i].side != 'C')
			continue;
		if (strncasecmp(p, "STARTTLS", 8) == 0)
			return;
		if (strncasecmp(p, "EHLO ", 5) == 0 || strncasecmp(p, "HELO ", 5) == 0) {
			size_t n = strcspn(p + 5, "\r\n");

			snprintf(out, outlen, "%.*s", (int)n, p + 5);
		}
	}
}

static bool offers_starttls(const struct transcript *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->ev[i].side == 'S' && (strcasestr(t->ev[i].bytes.data, "250-STARTTLS") ||
					     strcasestr(t->ev[i].bytes.data, "250 STARTTLS")))
			return true;
	return false;
}

static void replay_direct(const struct transcript *t, struct msgs *out)
{
	struct smtp_config cfg = { NULL, offers_starttls(t), false };
	struct direct d = { smtp_session_new(&cfg, 1000), BUF_INIT, out };
	bool greeted = false;
	int64_t now = 1000;
	size_t i;

	for (i = 0; i < t->n; i++, now += 3) {
		const struct buf *b = &t->ev[i].bytes;

		if (t->ev[i].side == 'C') {
			buf_add(&d.in, b->data, b->len);
			direct_pump(&d, now);
			continue;
		}
		if (!greeted) {
			smtp_session_greet(d.s, now);
			direct_pump(&d, now);
			greeted = true;
		}
		smtp_session_flushed(d.s, now);
		if (smtp_session_want(d.s) == SMTP_WANT_TLS) {
			struct msg *o = &out->m[out->n++];

			assert_memory_equal(b->data, "220", 3);
			smtp_session_tls_done(d.s, SMTP_TLS_UNSEEN, now);
			memset(o, 0, sizeof(*o));
			buf_init(&o->data);
			smtp_session_dialect_id(d.s, o->id);
			transcript_helo(t, o->helo, sizeof(o->helo));
			o->encrypted = true;
			direct_pump(&d, now);
		}
	}
	smtp_session_closed(d.s, now);
	smtp_session_free(d.s);
	buf_free(&d.in);
}

/* ---- helper mode ---- */

static int replay_main(int argc, char **argv)
{
	int i;

	limit_reset();
	for (i = 2; i < argc; i++) {
		struct transcript t;
		struct msgs w = { .n = 0 };
		size_t k, j;

		if (!load(argv[i], &t)) {
			fprintf(stderr, "test_pcap: cannot read %s\n", argv[i]);
			return 1;
		}
		replay_direct(&t, &w);
		for (k = 0; k < w.n; k++) {
			unsigned char dg[HASH_DIGEST_LEN];

			hash_digest(w.m[k].data.data, w.m[k].data.len, dg);
			printf("%s\t%zu\t", w.m[k].id, w.m[k].data.len);
			for (j = 0; j < HASH_DIGEST_LEN; j++)
				printf("%02X", dg[j]);
			printf("\t%s\t%s\t%u\t%d\n", w.m[k].helo, w.m[k].from, w.m[k].rcpts,
			       w.m[k].encrypted);
		}
		msgs_free(&w);
		transcript_free(&t);
	}
	return 0;
}

/* ---- pcapdec: frames ---- */

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
	return 4;
}

/* tcp_header: ports 40001 -> 25, seq 0x01020304, ack 0x0a0b0c0d, PSH|ACK, payload */
static size_t tcp_header(uint8_t *p, const char *payload)
{
	size_t n = strlen(payload);

	memset(p, 0, 20);
	put16(p, 40001);
	put16(p + 2, 25);
	put32(p + 4, 0x01020304);
	put32(p + 8, 0x0a0b0c0d);
	p[12] = 5 << 4;
	p[13] = 0x18;
	memcpy(p + 20, payload, n);
	return 20 + n;
}

static size_t ipv4_packet(uint8_t *p, const char *payload, unsigned frag)
{
	size_t n;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[8] = 64;
	p[9] = 6;
	put16(p + 6, frag);
	memcpy(p + 12, "\xc0\x00\x02\x07", 4);        /* 192.0.2.7 */
	memcpy(p + 16, "\xc6\x33\x64\x19", 4);        /* 198.51.100.25 */
	n = 20 + tcp_header(p + 20, payload);
	put16(p + 2, (unsigned)n);
	return n;
}

/* ipv6_packet: with hop-by-hop and destination options before TCP when ext */
static size_t ipv6_packet(uint8_t *p, const char *payload, bool ext)
{
	size_t off = 40, n;

	memset(p, 0, 40);
	p[0] = 0x60;
	p[7] = 64;
	memcpy(p + 8, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07", 16);
	memcpy(p + 24, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x25", 16);
	if (ext) {
		p[6] = 0;                           /* hop-by-hop */
		memset(p + off, 0, 16);
		p[off] = 60;                        /* then destination options, 16 bytes */
		p[off + 8] = 6;
		p[off + 9] = 1;
		off += 24;
	} else {
		p[6] = 6;
	}
	n = off + tcp_header(p + off, payload);
	put16(p + 4, (unsigned)(n - 40));
	return n;
}

struct link_case {
	const char *name;
	int dlt;
	const char *head;        /* link header bytes */
	size_t head_len;
	bool v6, ext;
};

static void check_segment(const struct link_case *c, const struct pcapdec_segment *g)
{
	char a[IP_TEXT_LEN], b[IP_TEXT_LEN];

	ip_format(&g->src, a);
	ip_format(&g->dst, b);
	if (strcmp(a, c->v6 ? "2001:db8::7" : "192.0.2.7") != 0 ||
	    strcmp(b, c->v6 ? "2001:db8::25" : "198.51.100.25") != 0 || g->sport != 40001 ||
	    g->dport != 25 || g->seq != 0x01020304 || g->ack != 0x0a0b0c0d ||
	    g->flags != PCAPDEC_ACK || g->len != 10 || g->caplen != 10 ||
	    memcmp(g->payload, "EHLO x\r\nQU", 10) != 0)
		fail_msg("%s: got %s:%u > %s:%u seq %x ack %x flags %x len %u/%u", c->name, a,
			 g->sport, b, g->dport, g->seq, g->ack, g->flags, g->caplen, g->len);
}

static void test_decode_links(void **state)
{
	static const struct link_case cases[] = {
		{ "ethernet", DLT_EN10MB, "\2\0\0\0\0\2\2\0\0\0\0\1\x08\x00", 14, false, false },
		{ "ethernet v6", DLT_EN10MB, "\2\0\0\0\0\2\2\0\0\0\0\1\x86\xdd", 14, true, false },
		{ "802.1Q", DLT_EN10MB, "\2\0\0\0\0\2\2\0\0\0\0\1\x81\x00\x00\x07\x08\x00", 18,
		  false, false },
		{ "QinQ", DLT_EN10MB, "\2\0\0\0\0\2\2\0\0\0\0\1\x88\xa8\x00\x05\x81\x00\x00\x07"
		  "\x86\xdd", 22, true, true },
		{ "old QinQ", DLT_EN10MB, "\2\0\0\0\0\2\2\0\0\0\0\1\x91\x00\x00\x05\x81\x00\x00\x07"
		  "\x08\x00", 22, false, false },
		{ "sll", DLT_LINUX_SLL, "\0\0\0\1\0\6\2\0\0\0\0\1\0\0\x08\x00", 16, false, false },
		{ "sll v6", DLT_LINUX_SLL, "\0\0\0\1\0\6\2\0\0\0\0\1\0\0\x86\xdd", 16, true, true },
		{ "sll2", DLT_LINUX_SLL2, "\x08\x00\0\0\0\0\0\1\0\1\0\6\2\0\0\0\0\1\0\0", 20, false,
		  false },
		{ "sll2 v6", DLT_LINUX_SLL2, "\x86\xdd\0\0\0\0\0\1\0\1\0\6\2\0\0\0\0\1\0\0", 20,
		  true, false },
		{ "raw", DLT_RAW, "", 0, false, false },
		{ "raw v6", DLT_RAW, "", 0, true, true },
		{ "ipv4", DLT_IPV4, "", 0, false, false },
		{ "ipv6", DLT_IPV6, "", 0, true, false },
		{ "null LE", DLT_NULL, "\2\0\0\0", 4, false, false },
		{ "null BE", DLT_NULL, "\0\0\0\2", 4, false, false },
		{ "null v6 (macOS)", DLT_NULL, "\x1e\0\0\0", 4, true, false },
		{ "null v6 (FreeBSD)", DLT_NULL, "\x1c\0\0\0", 4, true, true },
		{ "loop", DLT_LOOP, "\0\0\0\2", 4, false, false },
		{ "loop v6", DLT_LOOP, "\0\0\0\x18", 4, true, false },
	};
	size_t i, cut;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct link_case *c = &cases[i];
		uint8_t f[256];
		size_t n = c->head_len;
		struct pcapdec_segment g;
		enum pcapdec_status st;

		assert_true(pcapdec_link_supported(c->dlt));
		memcpy(f, c->head, c->head_len);
		n += c->v6 ? ipv6_packet(f + n, "EHLO x\r\nQU", c->ext)
			   : ipv4_packet(f + n, "EHLO x\r\nQU", 0);
		st = pcapdec_frame(c->dlt, f, n, &g);
		if (st != PCAPDEC_TCP)
			fail_msg("%s: status %d, want a TCP segment", c->name, st);
		check_segment(c, &g);
		/* padding after the datagram is not payload */
		memset(f + n, 0xee, 30);
		assert_int_equal(pcapdec_frame(c->dlt, f, n + 30, &g), PCAPDEC_TCP);
		check_segment(c, &g);
		/* every shorter cut: never a read beyond it; a cut payload is caplen < len */
		for (cut = 0; cut < n; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);

			memcpy(copy, f, cut);
			st = pcapdec_frame(c->dlt, copy, cut, &g);
			if (st == PCAPDEC_TCP && (g.len != 10 || g.caplen >= 10))
				fail_msg("%s cut at %zu: caplen %u len %u", c->name, cut, g.caplen, g.len);
			if (st != PCAPDEC_TCP && st != PCAPDEC_TRUNCATED && st != PCAPDEC_OTHER)
				fail_msg("%s cut at %zu: status %d", c->name, cut, st);
			free(copy);
		}
	}
}

static void test_decode_odd(void **state)
{
	uint8_t f[256];
	struct pcapdec_segment g;
	size_t n;

	(void)state;
	/* IPv4 fragments: the first (more fragments) and a later one */
	n = ipv4_packet(f, "EHLO x\r\n", 0x2000);
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n, &g), PCAPDEC_FRAGMENT);
	n = ipv4_packet(f, "EHLO x\r\n", 0x0010);
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n, &g), PCAPDEC_FRAGMENT);
	/* don't-fragment is not a fragment */
	n = ipv4_packet(f, "EHLO x\r\n", 0x4000);
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n, &g), PCAPDEC_TCP);
	/* UDP */
	n = ipv4_packet(f, "EHLO x\r\n", 0);
	f[9] = 17;
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n, &g), PCAPDEC_OTHER);
	/* a header length below 20, a total length below the header, a TCP offset beyond */
	n = ipv4_packet(f, "EHLO x\r\n", 0);
	f[0] = 0x44;
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n, &g), PCAPDEC_MALFORMED);
	n = ipv4_packet(f, "EHLO x\r\n", 0);
	put16(f + 2, 12);
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n, &g), PCAPDEC_MALFORMED);
	n = ipv4_packet(f, "EHLO x\r\n", 0);
	f[32] = 15 << 4;
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n, &g), PCAPDEC_MALFORMED);
	/* total length 0 (TSO): as captured */
	n = ipv4_packet(f, "EHLO x\r\n", 0);
	put16(f + 2, 0);
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n, &g), PCAPDEC_TCP);
	assert_int_equal(g.len, 8);
	/* IPv6 fragment header: a later fragment; an atomic one is followed */
	n = ipv6_packet(f, "", false);
	memmove(f + 48, f + 40, n - 40);
	f[6] = 44;
	memset(f + 40, 0, 8);
	f[40] = 6;
	put16(f + 42, 0x0009);                          /* offset 1, more */
	put16(f + 4, (unsigned)(n - 40 + 8));
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n + 8, &g), PCAPDEC_FRAGMENT);
	put16(f + 42, 0);
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n + 8, &g), PCAPDEC_TCP);
	/* an authentication header (length in 4-byte words: (1 + 2) * 4 = 12 bytes) */
	n = ipv6_packet(f, "hi", false);
	memmove(f + 52, f + 40, n - 40);
	memset(f + 40, 0, 12);
	f[6] = 51;
	f[40] = 6;
	f[41] = 1;
	put16(f + 4, (unsigned)(n - 40 + 12));
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n + 12, &g), PCAPDEC_TCP);
	assert_int_equal(g.len, 2);
	assert_memory_equal(g.payload, "hi", 2);
	/* ESP: not ours; too many VLAN tags; an unknown link type; ARP */
	f[6] = 50;
	assert_int_equal(pcapdec_frame(DLT_RAW, f, n + 8, &g), PCAPDEC_OTHER);
	memcpy(f, "\2\0\0\0\0\2\2\0\0\0\0\1", 12);
	for (n = 12; n < 12 + 4 * (PCAPDEC_MAX_TAGS + 1); n += 4)
		memcpy(f + n, "\x81\x00\x00\x07", 4);
	memcpy(f + n, "\x08\x00", 2);
	assert_int_equal(pcapdec_frame(DLT_EN10MB, f, n + 2 + 40, &g), PCAPDEC_MALFORMED);
	assert_false(pcapdec_link_supported(DLT_IEEE802_11));
	memcpy(f + 12, "\x08\x06", 2);
	assert_int_equal(pcapdec_frame(DLT_EN10MB, f, 60, &g), PCAPDEC_OTHER);
}

/* ---- tcpreasm ---- */

struct seg {
	uint32_t rel;            /* sequence number relative to the start */
	const char *data;        /* NULL: an acknowledgement (of rel) from the peer */
	uint32_t cut;            /* bytes captured, when fewer than the data */
	bool fin;
};

struct reasm_case {
	const char *name;
	uint32_t isn;            /* sequence number of the first byte */
	size_t max_pending;
	struct seg segs[8];
	const char *want;        /* what was delivered, in order */
	bool want_lost;          /* a loss was declared (overflow or proved by an ACK) */
	bool want_fin;           /* the FIN was reached */
	bool want_hole;          /* at the end, bytes wait behind a hole */
};

#define D(rel, s) { rel, s, 0, false }
#define DF(rel, s) { rel, s, 0, true }
#define CUT(rel, s, n) { rel, s, n, false }
#define A(rel) { rel, NULL, 0, false }

static void sink(void *ctx, const uint8_t *p, size_t n)
{
	buf_add(ctx, p, n);
}

static void test_reasm(void **state)
{
	static const struct reasm_case cases[] = {
		{ "in order", 1000, 64, { D(0, "HELO a\r\n"), DF(8, "QUIT\r\n") },
		  "HELO a\r\nQUIT\r\n", false, true, false },
		{ "out of order", 1000, 64, { D(4, "efgh"), D(8, "ijk"), D(0, "abcd") },
		  "abcdefghijk", false, false, false },
		{ "duplicates and retransmissions", 7, 64,
		  { D(0, "abcd"), D(0, "abcd"), D(4, "efgh"), D(2, "cdef"), D(4, "efgh") },
		  "abcdefgh", false, false, false },
		{ "overlap: the bytes delivered first stay", 7, 64,
		  { D(0, "abcdef"), D(3, "XXXghi") }, "abcdefghi", false, false, false },
		{ "overlap among pending segments: first stays", 7, 64,
		  { D(4, "EFGH"), D(2, "cdXX"), D(6, "YYIJ"), D(0, "ab") },
		  "abcdEFGHIJ", false, false, false },
		{ "a segment covering several pending ones", 7, 64,
		  { D(2, "c"), D(5, "f"), D(1, "XXXXXXg"), D(0, "a") },
		  "aXcXXfXg", false, false, false },
		{ "wrap-around of the sequence number", 0xfffffffa, 64,
		  { D(0, "abcd"), D(8, "ijkl"), D(4, "efgh"), DF(12, "mn") },
		  "abcdefghijklmn", false, true, false },
		{ "starting right at 2^32", 0, 64, { D(0, "ab"), D(2, "cd") }, "abcd", false,
		  false, false },
		{ "bytes before the start are dropped", 100, 64, { D((uint32_t)-3, "xyzab") },
		  "ab", false, false, false },
		{ "too much waiting behind a hole", 1, 6, { D(0, "ab"), D(4, "efgh"), D(8, "ijk") },
		  "ab", true, false, false },
		{ "a hole the peer acknowledged, bytes after it here", 1, 64,
		  { D(0, "ab"), D(4, "ef"), A(6) }, "ab", true, false, false },
		{ "an ACK shown before the segment it acknowledges", 1, 64,
		  { D(0, "ab"), D(4, "ef"), A(4), D(2, "cd") }, "abcdef", false, false, false },
		{ "acknowledged but nothing after it yet: may be late", 1, 64,
		  { D(0, "ab"), A(4) }, "ab", false, false, true },
		{ "a late copy after its acknowledgement", 1, 64,
		  { D(0, "ab"), A(4), D(2, "cd") }, "abcd", false, false, false },
		{ "the snaplen cut a segment", 1, 64, { CUT(0, "abcdef", 2), D(6, "gh") }, "ab",
		  false, false, true },
		{ "a FIN behind a hole is not reached", 1, 64, { D(0, "ab"), DF(4, "ef") },
		  "ab", false, false, true },
		{ "the lost hole stays lost", 1, 64,
		  { D(0, "ab"), D(4, "ef"), A(6), D(2, "cd"), D(6, "gh") }, "ab", true,
		  false, false },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct reasm_case *c = &cases[i];
		struct tcpreasm r;
		struct buf got = BUF_INIT;
		bool lost = false, fin = false;

		tcpreasm_init(&r, c->max_pending);
		tcpreasm_start(&r, c->isn);
		for (k = 0; k < 8 && (c->segs[k].data || c->segs[k].rel); k++) {
			const struct seg *s = &c->segs[k];
			struct tcpreasm_result res;
			uint32_t len;

			if (!s->data) {
				tcpreasm_ack(&r, c->isn + s->rel);
				if (tcpreasm_ack_proves_loss(&r, false)) {
					tcpreasm_lose(&r);
					lost = true;
				}
				continue;
			}
			len = (uint32_t)strlen(s->data);
			res = tcpreasm_segment(&r, c->isn + s->rel, (const uint8_t *)s->data,
					       s->cut ? s->cut : len, len, s->fin, sink, &got);
			if (res.overflow) {
				tcpreasm_lose(&r);
				lost = true;
			}
			fin = fin || res.fin_reached;
		}
		if (strcmp(got.data, c->want) != 0 || lost != c->want_lost || fin != c->want_fin ||
		    tcpreasm_has_hole(&r) != c->want_hole)
			fail_msg("%s:\n got '%s' lost=%d fin=%d hole=%d\nwant '%s' lost=%d fin=%d "
				 "hole=%d", c->name, got.data, lost, fin, tcpreasm_has_hole(&r), c->want,
				 c->want_lost, c->want_fin, c->want_hole);
		tcpreasm_free(&r);
		buf_free(&got);
	}
}

/* many out-of-order segments in a random order: delivered once, in order */
static void test_reasm_shuffle(void **state)
{
	enum { N = 2000, SEG = 7 };
	static uint8_t stream[N * SEG];
	uint32_t order[N];
	struct tcpreasm r;
	struct buf got = BUF_INIT;
	uint64_t x = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(i * 31 + 7);
	for (i = 0; i < N; i++)
		order[i] = (uint32_t)i;
	for (i = N - 1; i > 0; i--) {
		size_t j;
		uint32_t t;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		j = (size_t)(x >> 33) % (i + 1);
		t = order[i], order[i] = order[j], order[j] = t;
	}
	tcpreasm_init(&r, sizeof(stream));
	tcpreasm_start(&r, 0xffff0000u);
	for (i = 0; i < N; i++) {
		uint32_t o = order[i] * SEG;
		/* every segment also overlaps its neighbour by 3 bytes */
		uint32_t len = o + SEG + 3 <= sizeof(stream) ? SEG + 3 : SEG;

		tcpreasm_segment(&r, 0xffff0000u + o, stream + o, len, len, false, sink, &got);
	}
	assert_int_equal(got.len, sizeof(stream));
	assert_memory_equal(got.data, stream, sizeof(stream));
	assert_int_equal(r.pending_bytes, 0);
	tcpreasm_free(&r);
	buf_free(&got);
}

/* ---- tcpflow ---- */

struct tflow {
	struct tcpflow_node node;
	int id;
};

static void test_flow_table(void **state)
{
	enum { N = 5000 };
	static struct tflow f[N];
	tcpflow_table *t = tcpflow_new();
	struct ip_addr a, b;
	struct tcpflow_key k1, k2;
	int i;

	(void)state;
	ip_parse("192.0.2.7", &a);
	ip_parse("198.51.100.25", &b);
	/* direction-free keys */
	tcpflow_key_make(&k1, &a, 40001, &b, 25);
	tcpflow_key_make(&k2, &b, 25, &a, 40001);
	assert_memory_equal(&k1, &k2, sizeof(k1));
	for (i = 0; i < N; i++) {
		tcpflow_key_make(&f[i].node.key, &a, (uint16_t)(1024 + i), &b, 25);
		f[i].id = i;
		tcpflow_insert(t, &f[i].node, i);
	}
	assert_int_equal(tcpflow_count(t), N);
	for (i = 0; i < N; i++) {
		tcpflow_key_make(&k1, &b, 25, &a, (uint16_t)(1024 + i));
		assert_ptr_equal(tcpflow_find(t, &k1), &f[i].node);
	}
	/* least recently used first; touching moves a flow to the end */
	assert_ptr_equal(tcpflow_oldest(t), &f[0].node);
	tcpflow_touch(t, &f[0].node, N);
	assert_ptr_equal(tcpflow_oldest(t), &f[1].node);
	for (i = 1; i < N; i++)
		tcpflow_remove(t, &f[i].node);
	assert_int_equal(tcpflow_count(t), 1);
	assert_ptr_equal(tcpflow_oldest(t), &f[0].node);
	tcpflow_key_make(&k1, &a, 1025, &b, 25);
	assert_null(tcpflow_find(t, &k1));
	tcpflow_remove(t, &f[0].node);
	assert_null(tcpflow_oldest(t));
	tcpflow_free(t);
}

/* ---- pcapsmtp ---- */

struct got {
	struct msgs m;
	int kinds[32];           /* results other than messages, in order */
	size_t nkinds;
	char facts[8192];        /* of the last message or encrypted session */
};

static void collect(pcapsmtp *p, struct got *g)
{
	struct pcapsmtp_result r;

	while (pcapsmtp_take(p, &r)) {
		if (r.kind == PCAPSMTP_MESSAGE || r.kind == PCAPSMTP_ENCRYPTED) {
			struct msg *o = &g->m.m[g->m.n++];

			assert_true(g->m.n < 32);
			memset(o, 0, sizeof(*o));
			buf_init(&o->data);
			snprintf(o->id, sizeof(o->id), "%s", r.dialect_id);
			snprintf(g->facts, sizeof(g->facts), "%s", r.facts);
			if (r.kind == PCAPSMTP_MESSAGE) {
				buf_add(&o->data, r.msg->data.data, r.msg->data.len);
				snprintf(o->helo, sizeof(o->helo), "%s", r.msg->helo);
				snprintf(o->from, sizeof(o->from), "%s", r.msg->mail_from);
				o->rcpts = (unsigned)r.msg->nrcpts;
			} else {
				snprintf(o->helo, sizeof(o->helo), "%s", r.helo);
				o->encrypted = true;
			}
		} else {
			assert_true(g->nkinds < 32);
			g->kinds[g->nkinds++] = (int)r.kind;
		}
		pcapsmtp_result_free(&r);
	}
}

/* drive: a transcript through pcapsmtp, client bytes in pieces of csplit, server's of ssplit */
static void drive(const struct transcript *t, size_t csplit, size_t ssplit, bool probe,
		  struct got *g)
{
	pcapsmtp *p = pcapsmtp_new(probe, 1 << 20, 1000);
	int64_t now = 1000;
	size_t i, off;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < t->n; i++, now += 3) {
		const struct buf *b = &t->ev[i].bytes;
		size_t split = t->ev[i].side == 'C' ? csplit : ssplit;

		for (off = 0; off < b->len; off += split ? split : b->len) {
			size_t n = split && b->len - off > split ? split : b->len - off;

			if (t->ev[i].side == 'C')
				pcapsmtp_client(p, (const uint8_t *)b->data + off, n, now);
			else
				pcapsmtp_server(p, (const uint8_t *)b->data + off, n, now);
			collect(p, g);
		}
	}
	pcapsmtp_end(p, 0, false, now);
	collect(p, g);
	pcapsmtp_free(p);
}

static void same_messages(const char *what, const struct msgs *got, const struct msgs *want)
{
	size_t i;

	if (got->n != want->n)
		fail_msg("%s: %zu messages, want %zu", what, got->n, want->n);
	for (i = 0; i < got->n; i++) {
		const struct msg *a = &got->m[i], *b = &want->m[i];

		if (strcmp(a->id, b->id) != 0 || a->data.len != b->data.len ||
		    memcmp(a->data.data, b->data.data, a->data.len) != 0 ||
		    strcmp(a->helo, b->helo) != 0 || strcmp(a->from, b->from) != 0 ||
		    a->rcpts != b->rcpts || a->encrypted != b->encrypted)
			fail_msg("%s: message %zu:\n got %s %zu bytes helo=%s from=%s rcpts=%u enc=%d\n"
				 "want %s %zu bytes helo=%s from=%s rcpts=%u enc=%d", what, i + 1, a->id,
				 a->data.len, a->helo, a->from, a->rcpts, a->encrypted, b->id, b->data.len,
				 b->helo, b->from, b->rcpts, b->encrypted);
	}
}

static const char *const transcripts[] = {
	"smtp/swaks-1.txt", "smtp/swaks-2.txt", "smtp/smtplib-1.txt", "smtp/smtplib-2.txt",
	"smtp/smtp-source-1.txt", "smtp/smtp-source-2.txt",
	"pcap/live-1.txt", "pcap/live-2.txt", "pcap/live-3.txt", "pcap/live-4.txt",
	"pcap/tls-1.txt", "pcap/tls-2.txt",
};

/* the same transcript through pcapsmtp and straight into the core: the same results */
static void test_driver_transcripts(void **state)
{
	static const size_t splits[][2] = { { 0, 0 }, { 1, 0 }, { 7, 1 }, { 0, 1 }, { 3, 5 } };
	size_t i, k;

	(void)state;
	limit_reset();
	for (i = 0; i < sizeof(transcripts) / sizeof(transcripts[0]); i++) {
		struct transcript t;
		struct msgs want = { .n = 0 };

		if (!load(transcripts[i], &t))
			fail_msg("cannot read %s (TESTDATA)", transcripts[i]);
		replay_direct(&t, &want);
		assert_true(want.n > 0);
		for (k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
			struct got g;
			char what[256];

			snprintf(what, sizeof(what), "%s split %zu/%zu", transcripts[i], splits[k][0],
				 splits[k][1]);
			drive(&t, splits[k][0], splits[k][1], false, &g);
			same_messages(what, &g.m, &want);
			assert_int_equal(g.nkinds, 0);
			msgs_free(&g.m);
			/* a port not listed: the 220 banner makes it SMTP all the same */
			drive(&t, splits[k][0], splits[k][1], true, &g);
			same_messages(what, &g.m, &want);
			msgs_free(&g.m);
		}
		print_message("%s: %zu messages, %s\n", transcripts[i], want.n, want.m[0].id);
		msgs_free(&want);
		transcript_free(&t);
	}
}

/* a transcript written inline: "C..." and "S..." strings */
static void inline_transcript(struct transcript *t, const char *const *ev)
{
	memset(t, 0, sizeof(*t));
	for (; *ev; ev++) {
		t->ev = realloc(t->ev, (t->n + 1) * sizeof(*t->ev));
		t->ev[t->n].side = (*ev)[0];
		buf_init(&t->ev[t->n].bytes);
		buf_addstr(&t->ev[t->n].bytes, *ev + 1);
		t->n++;
	}
}

static bool has_fact(const char *facts, const char *fact)
{
	size_t n = strlen(fact);
	const char *p = facts;

	while ((p = strstr(p, fact))) {
		if ((p == facts || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
		p++;
	}
	return false;
}

#define BANNER "S220 mx.example ESMTP\r\n"
#define EHLO_TLS "S250-mx.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
#define EHLO_PLAIN "S250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define ONE_MSG "CMAIL FROM:<a@example.net>\r\n", "S250 ok\r\n", "CRCPT TO:<b@example.org>\r\n", \
	"S250 ok\r\n", "CDATA\r\n", "S354 go\r\n", "CSubject: x\r\n\r\nhi\r\n.\r\n", "S250 ok\r\n"

struct tls_case {
	const char *name;
	const char *ev[24];
	size_t messages, encrypted;
	const char *facts[4];
	int kind;                 /* a result other than messages, or -1 */
};

static void test_driver_starttls(void **state)
{
	static const struct tls_case cases[] = {
		{ "offered and used", { BANNER, "CEHLO box.example.net\r\n", EHLO_TLS,
		  "CSTARTTLS\r\n", "S220 2.0.0 go ahead\r\n", "C\x16\x03\x01\x02\x00\x01", NULL },
		  0, 1, { "starttls=yes", "end=tls-unseen", "starttls_injection=no" }, -1 },
		{ "offered, not used", { BANNER, "CEHLO box.example.net\r\n", EHLO_TLS, ONE_MSG,
		  NULL }, 1, 0, { "starttls=no" }, -1 },
		{ "not offered", { BANNER, "CEHLO box.example.net\r\n", EHLO_PLAIN, ONE_MSG, NULL },
		  1, 0, { "starttls=not-offered" }, -1 },
		{ "HELO only: decided at the 354", { BANNER, "CHELO box\r\n", "S250 mx\r\n", ONE_MSG,
		  NULL }, 1, 0, { "starttls=not-offered", "helo_verb=HELO" }, -1 },
		{ "STARTTLS without the capability, refused alike", { BANNER, "CEHLO box\r\n",
		  EHLO_PLAIN, "CSTARTTLS\r\n", "S502 5.5.1 not implemented\r\n", ONE_MSG, NULL },
		  1, 0, { "starttls=not-offered", "pre=EHLO STARTTLS" }, -1 },
		{ "a second 220 before any EHLO reply: STARTTLS accepted", { BANNER,
		  "CHELO box\r\n", "S250 mx\r\n", "CSTARTTLS\r\n", "S220 go\r\n", NULL }, 0, 1,
		  { "starttls=yes", "helo_verb=HELO" }, -1 },
		{ "plaintext injected behind STARTTLS", { BANNER, "CEHLO box\r\n", EHLO_TLS,
		  "CSTARTTLS\r\nMAIL FROM:<x@example.net>\r\n", "S220 go\r\n", NULL }, 0, 1,
		  { "starttls_injection=yes" }, -1 },
		{ "the server refuses STARTTLS", { BANNER, "CEHLO box\r\n", EHLO_TLS,
		  "CSTARTTLS\r\n", "S454 4.7.0 TLS not available\r\n", ONE_MSG, NULL }, 0, 0, { NULL },
		  PCAPSMTP_TLS_REFUSED },
		{ "a message before STARTTLS, then TLS", { BANNER, "CEHLO box\r\n", EHLO_TLS, ONE_MSG,
		  "CSTARTTLS\r\n", "S220 go\r\n", NULL }, 1, 1, { "starttls=no" }, -1 },
		{ "pregreet", { "CEHLO box\r\n", BANNER, EHLO_PLAIN, ONE_MSG, NULL }, 1, 0,
		  { "pregreet=yes" }, -1 },
		{ "a transaction the core refuses, the server took", { BANNER, "CEHLO box\r\n",
		  EHLO_PLAIN, "CMAIL FROM:<a@example.net> RET=HDRS\r\n", "S250 ok\r\n",
		  "CRCPT TO:<b@example.org> NOTIFY=NEVER\r\n", "S250 ok\r\n", "CDATA\r\n",
		  "S354 go\r\n", "CSubject: x\r\n\r\nhi\r\n.\r\n", "S250 ok\r\n", NULL }, 0, 0,
		  { NULL }, PCAPSMTP_DIVERGED },
		{ "BDAT", { BANNER, "CEHLO box\r\n", "S250-mx\r\n250-CHUNKING\r\n250 8BITMIME\r\n",
		  "CMAIL FROM:<a@example.net>\r\n", "S250 ok\r\n", "CRCPT TO:<b@example.org>\r\n",
		  "S250 ok\r\n", "CBDAT 20 LAST\r\nSubject: xy\r\n\r\nhi!\r\n", "S250 ok\r\n", NULL },
		  0, 0, { NULL }, PCAPSMTP_DIVERGED },
		{ "AUTH is refused as junk; the transaction goes on", { BANNER, "CEHLO box\r\n",
		  EHLO_PLAIN, "CAUTH LOGIN\r\n", "S334 VXNlcm5hbWU6\r\n", "CdXNlcg==\r\n",
		  "S334 UGFzc3dvcmQ6\r\n", "CcGFzcw==\r\n", "S235 ok\r\n", ONE_MSG, NULL }, 1, 0,
		  { "junk=2-5" }, -1 },
		{ "the message before the 354", { BANNER, "CHELO box\r\n", "S250 mx\r\n",
		  "CMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
		  "Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
		  "S250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n221 bye\r\n", NULL }, 1, 0,
		  { "data_early=yes", "pipelining=blind" }, -1 },
		{ "pipelined", { BANNER, "CEHLO box\r\n", EHLO_PLAIN,
		  "CMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
		  "S250 ok\r\n250 ok\r\n354 go\r\n", "CSubject: x\r\n\r\nhi\r\n.\r\n", "S250 ok\r\n",
		  NULL }, 1, 0, { "pipelining=yes" }, -1 },
	};
	size_t i, k, enc;

	(void)state;
	limit_reset();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tls_case *c = &cases[i];
		struct transcript t;
		struct got g;

		inline_transcript(&t, c->ev);
		drive(&t, 0, 0, false, &g);
		for (k = enc = 0; k < g.m.n; k++)
			enc += g.m.m[k].encrypted;
		if (g.m.n - enc != c->messages || enc != c->encrypted)
			fail_msg("%s: %zu messages and %zu encrypted, want %zu and %zu", c->name,
				 g.m.n - enc, enc, c->messages, c->encrypted);
		for (k = 0; k < 4 && c->facts[k]; k++)
			if (!has_fact(g.facts, c->facts[k]))
				fail_msg("%s: no fact %s in\n%s", c->name, c->facts[k], g.facts);
		if (c->kind >= 0 && (g.nkinds != 1 || g.kinds[0] != c->kind))
			fail_msg("%s: %zu other results, want kind %d", c->name, g.nkinds, c->kind);
		if (c->encrypted)
			assert_string_equal(g.m.m[g.m.n - 1].helo, strstr(c->ev[1], "box.example.net")
					    ? "box.example.net" : "box");
		msgs_free(&g.m);
		transcript_free(&t);
	}
}

static void test_driver_probe(void **state)
{
	static const char *const http[] = { "CGET / HTTP/1.1\r\nHost: x\r\n\r\n",
					    "SHTTP/1.1 200 OK\r\n\r\n", NULL };
	static const char *const ssh[] = { "SSSH-2.0-OpenSSH_9.2\r\n", "CSSH-2.0-Go\r\n", NULL };
	static const char *const smtp[] = { "S220-mx.example\r\n", "S220 ESMTP\r\n",
					    "CHELO box\r\n", "S250 mx\r\n", ONE_MSG, NULL };
	const char *const *cases[] = { http, ssh, smtp };
	const enum pcapsmtp_smtp want[] = { PCAPSMTP_SMTP_NO, PCAPSMTP_SMTP_NO, PCAPSMTP_SMTP_YES };
	size_t i, k;

	(void)state;
	limit_reset();
	for (i = 0; i < 3; i++) {
		pcapsmtp *p = pcapsmtp_new(true, 1 << 20, 0);
		struct transcript t;
		struct got g;

		memset(&g, 0, sizeof(g));
		inline_transcript(&t, cases[i]);
		for (k = 0; k < t.n; k++) {
			if (t.ev[k].side == 'C')
				pcapsmtp_client(p, (const uint8_t *)t.ev[k].bytes.data,
						t.ev[k].bytes.len, (int64_t)k);
			else
				pcapsmtp_server(p, (const uint8_t *)t.ev[k].bytes.data,
						t.ev[k].bytes.len, (int64_t)k);
			collect(p, &g);
		}
		assert_int_equal(pcapsmtp_is_smtp(p), want[i]);
		assert_int_equal(g.m.n, want[i] == PCAPSMTP_SMTP_YES ? 1 : 0);
		pcapsmtp_free(p);
		msgs_free(&g.m);
		transcript_free(&t);
	}
}

#define SAY(p, side, s) pcapsmtp_##side(p, (const uint8_t *)(s), strlen(s), 5)

/* a session inside DATA, its envelope pipelined */
static pcapsmtp *into_data(void)
{
	pcapsmtp *p = pcapsmtp_new(false, 1 << 20, 0);

	SAY(p, server, "220 mx\r\n");
	SAY(p, client, "HELO box\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
	SAY(p, server, "250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	assert_true(pcapsmtp_in_data(p));
	return p;
}

/* end_expect: end p; want the messages and at most one other result, kind (-1: none) */
static void end_expect(pcapsmtp *p, uint64_t unparsed, struct got *g, size_t messages,
		       int kind)
{
	pcapsmtp_end(p, unparsed, false, 10);
	collect(p, g);
	pcapsmtp_free(p);
	if (g->m.n != messages || g->nkinds != (kind < 0 ? 0u : 1u) ||
	    (kind >= 0 && g->kinds[0] != kind))
		fail_msg("%zu messages and %zu other results (first %d), want %zu and kind %d",
			 g->m.n, g->nkinds, g->nkinds ? g->kinds[0] : -1, messages, kind);
	msgs_free(&g->m);
	memset(g, 0, sizeof(*g));
}

/* losses and ends: what is cut is reported, nothing is invented */
static void test_driver_cuts(void **state)
{
	pcapsmtp *p;
	struct got g;
	static const char big[] = "Subject: big\r\n\r\n"
		"0123456789012345678901234567890123456789012345678901234567890123456789\r\n";
	char err[256];
	size_t i;

	(void)state;
	limit_reset();
	memset(&g, 0, sizeof(g));
	/* a loss inside DATA: cut at once; the session's earlier message stands */
	p = pcapsmtp_new(false, 1 << 20, 0);
	SAY(p, server, "220 mx\r\n");
	SAY(p, client, "HELO box\r\n");
	SAY(p, server, "250 mx\r\n");
	SAY(p, client, "MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
	SAY(p, server, "250 ok\r\n250 ok\r\n354 go\r\n");
	SAY(p, client, "Subject: one\r\n\r\n1\r\n.\r\nMAIL FROM:<a@x.example>\r\n");
	SAY(p, server, "250 ok\r\n250 ok\r\n");
	SAY(p, client, "RCPT TO:<b@y.example>\r\nDATA\r\n");
	SAY(p, server, "250 ok\r\n354 go\r\n");
	SAY(p, client, "Subject: two\r\n\r\nhalf of it");
	assert_true(pcapsmtp_in_data(p));
	pcapsmtp_client_lost(p, 9);
	collect(p, &g);
	assert_int_equal(g.nkinds, 1);
	SAY(p, client, "more\r\n.\r\n");       /* (a reassembler would not deliver this) */
	end_expect(p, 100, &g, 1, PCAPSMTP_CUT);   /* and no second account of the same loss */

	/* the end of the capture inside DATA */
	p = into_data();
	SAY(p, client, "Subject: cut\r\n");
	end_expect(p, 0, &g, 0, PCAPSMTP_CUT);

	/* a loss between commands, more client bytes after it: unparsed */
	p = pcapsmtp_new(false, 1 << 20, 0);
	SAY(p, server, "220 mx\r\n");
	SAY(p, client, "HELO box\r\n");
	pcapsmtp_client_lost(p, 9);
	end_expect(p, 1234, &g, 0, PCAPSMTP_UNPARSED);

	/* ... but not after QUIT */
	p = pcapsmtp_new(false, 1 << 20, 0);
	SAY(p, server, "220 mx\r\n");
	SAY(p, client, "QUIT\r\n");
	pcapsmtp_client_lost(p, 9);
	end_expect(p, 10, &g, 0, -1);

	/* a server that never speaks: the client's bytes are held, then given up */
	p = pcapsmtp_new(false, 4096, 0);
	for (i = 0; i < 100; i++)
		SAY(p, client, "HELO box\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n");
	end_expect(p, 0, &g, 0, PCAPSMTP_ONE_SIDED);

	/* over the message size limit */
	assert_int_equal(limit_set("message_size=1024", err, sizeof(err)), 0);
	p = into_data();
	for (i = 0; i < 20; i++)
		SAY(p, client, big);
	SAY(p, client, ".\r\nQUIT\r\n");
	end_expect(p, 0, &g, 0, PCAPSMTP_TOO_BIG);
	limit_reset();
}
#undef SAY

/* ---- the reader on live captures (tests/data/pcap/capture.sh) ---- */

struct capture_case {
	const char *pcap;
	const char *transcripts[8];
};

static void test_live_captures(void **state)
{
	static const struct capture_case cases[] = {
		{ "pcap/live.pcap", { "pcap/live-1.txt", "pcap/live-2.txt", "pcap/live-3.txt",
				      "pcap/live-4.txt" } },
		{ "pcap/tls.pcap", { "pcap/tls-1.txt", "pcap/tls-2.txt" } },
	};
	const char *dir = getenv("TESTDATA");
	size_t i, k;

	(void)state;
	limit_reset();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct msgs want = { .n = 0 }, got = { .n = 0 };
		struct source_item item;
		struct buf err = BUF_INIT;
		enum source_status st;
		char path[1024];
		source *src;
		int64_t prev_ts = 0;

		for (k = 0; cases[i].transcripts[k]; k++) {
			struct transcript t;

			if (!load(cases[i].transcripts[k], &t))
				fail_msg("cannot read %s", cases[i].transcripts[k]);
			replay_direct(&t, &want);
			transcript_free(&t);
		}
		snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", cases[i].pcap);
		src = source_open(path, NULL);
		while ((st = source_next(src, &item, &err)) != SOURCE_END) {
			struct msg *o = &got.m[got.n++];
			const struct pipeline_session *s = item.session;

			if (st == SOURCE_SKIP)
				fail_msg("%s: skip: %s", path, err.data);
			assert_true(got.n < 32);
			assert_int_equal(item.format, SOURCE_FORMAT_PCAP);
			assert_int_equal(item.index, got.n);
			assert_string_equal(item.path, path);
			assert_non_null(s);
			assert_string_equal(s->client_ip, "127.0.0.1");
			/* packet times of this century, in order of the end of DATA */
			assert_true(s->ts > 1600000000 && s->ts >= prev_ts);
			prev_ts = s->ts;
			assert_true(has_fact(s->dialect_facts, "helo_verb=EHLO") ||
				    has_fact(s->dialect_facts, "helo_verb=HELO") ||
				    has_fact(s->dialect_facts, "helo_verb=ehlo"));
			memset(o, 0, sizeof(*o));
			buf_init(&o->data);
			buf_add(&o->data, item.raw, item.len);
			snprintf(o->id, sizeof(o->id), "%s", s->dialect_id);
			snprintf(o->helo, sizeof(o->helo), "%s", s->helo);
			snprintf(o->from, sizeof(o->from), "%s", s->mail_from ? s->mail_from : "");
			o->rcpts = s->rcpt_count;
			o->encrypted = s->encrypted;
			if (s->encrypted)
				assert_true(item.raw == NULL && item.len == 0);
		}
		assert_int_equal(source_bytes_read(src), source_size_estimate(path));
		source_close(src);
		same_messages(cases[i].pcap, &got, &want);
		for (k = 0; k < got.n; k++)
			print_message("%s#%zu: %s %zu bytes%s\n", cases[i].pcap, k + 1, got.m[k].id,
				      got.m[k].data.len, got.m[k].encrypted ? " (encrypted)" : "");
		msgs_free(&got);
		msgs_free(&want);
		buf_free(&err);
	}
}

static void test_ports(void **state)
{
	uint8_t set[8192];
	struct buf err = BUF_INIT;

	(void)state;
	assert_true(pcapsrc_parse_ports("25, 587,2525", set, &err));
	assert_true(set[25 >> 3] & (1 << (25 & 7)));
	assert_true(set[2525 >> 3] & (1 << (2525 & 7)));
	assert_false(set[26 >> 3] & (1 << (26 & 7)));
	assert_true(pcapsrc_parse_ports("65535", set, &err));
	assert_false(pcapsrc_parse_ports("0", set, &err));
	assert_false(pcapsrc_parse_ports("65536", set, &err));
	assert_false(pcapsrc_parse_ports("25;587", set, &err));
	assert_false(pcapsrc_parse_ports("smtp", set, &err));
	assert_false(pcapsrc_parse_ports("", set, &err));
	assert_false(pcapsrc_parse_ports("1234567", set, &err));
	buf_free(&err);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_links),
		cmocka_unit_test(test_decode_odd),
		cmocka_unit_test(test_reasm),
		cmocka_unit_test(test_reasm_shuffle),
		cmocka_unit_test(test_flow_table),
		cmocka_unit_test(test_driver_transcripts),
		cmocka_unit_test(test_driver_starttls),
		cmocka_unit_test(test_driver_probe),
		cmocka_unit_test(test_driver_cuts),
		cmocka_unit_test(test_live_captures),
		cmocka_unit_test(test_ports),
	};

	if (argc > 1 && strcmp(argv[1], "--replay") == 0)
		return replay_main(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
