/*
 * tcpreasm.h - internal to src/source: one direction of a TCP connection
 * put back in order, as a capture saw it.
 *
 * Sequence numbers are placed on a 64-bit stream offset (0 = the first
 * byte after the SYN), unwrapped around the next byte expected, so a
 * connection may cross 2^32 any number of times. Bytes are handed to the
 * sink exactly once and in order:
 *
 *   - retransmitted and duplicated bytes are dropped (what was delivered
 *     stays: the first copy wins, also for overlapping segments that
 *     disagree, and among pending out-of-order segments);
 *   - out-of-order segments wait, copied, until the hole before them is
 *     filled; at most max_pending bytes wait (LIMIT_PCAP_FLOW_BYTES);
 *   - a hole that will never be filled is a loss: nothing after it is
 *     delivered, ever (no bytes are invented). A loss is declared by the
 *     caller (tcpreasm_lose) when the pending bytes overflow, when the
 *     peer acknowledged bytes the capture does not hold
 *     (tcpreasm_ack_proves_loss), or when the connection ends with a hole.
 *
 * A segment whose capture was cut by the snaplen counts with its captured
 * bytes only; the rest is a hole like any other.
 *
 * Memory: the struct plus the pending segments (at most max_pending bytes
 * and their headers). tcpreasm_free releases them.
 */
#ifndef SPAMTIDE_SOURCE_TCPREASM_H
#define SPAMTIDE_SOURCE_TCPREASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tcpreasm_seg;

struct tcpreasm {
	bool started;              /* base is known */
	bool lost;                 /* a hole was declared lost: no more delivery */
	bool fin;                  /* a FIN was seen, at fin_off */
	uint32_t base;             /* sequence number of stream offset 0 */
	uint64_t next;             /* offset of the next byte to deliver */
	uint64_t high;             /* end of the furthest byte known to exist */
	uint64_t acked;            /* the peer acknowledged every byte before this */
	uint64_t fin_off;
	struct tcpreasm_seg *pending;   /* out of order: sorted, disjoint */
	size_t pending_bytes, max_pending;
	/* counts, for accounts and tests */
	uint64_t dup_segments;     /* segments holding only bytes already delivered */
	uint64_t ooo_segments;     /* segments that had to wait */
};

/* What a segment did. */
struct tcpreasm_result {
	size_t delivered;          /* bytes handed to the sink */
	bool overflow;             /* pending bytes went over max_pending: call tcpreasm_lose */
	bool fin_reached;          /* every byte up to the FIN is delivered (now or before) */
};

typedef void (*tcpreasm_sink)(void *ctx, const uint8_t *p, size_t n);

void tcpreasm_init(struct tcpreasm *r, size_t max_pending);
/* tcpreasm_start: the first byte after the SYN has sequence number seq. */
void tcpreasm_start(struct tcpreasm *r, uint32_t seq);
/* tcpreasm_offset: the stream offset of seq (started only); negative before the start. */
int64_t tcpreasm_offset(const struct tcpreasm *r, uint32_t seq);
/*
 * tcpreasm_segment: a segment of len bytes at seq, of which the first
 * caplen are in data; fin: the FIN flag. Hands newly contiguous bytes to
 * sink(ctx, ...). Started only.
 */
struct tcpreasm_result tcpreasm_segment(struct tcpreasm *r, uint32_t seq, const uint8_t *data,
					uint32_t caplen, uint32_t len, bool fin,
					tcpreasm_sink sink, void *ctx);
/*
 * tcpreasm_ack: the peer acknowledged ack. Returns the bytes this proves
 * to exist beyond what was known (high grows), 0 if none.
 */
uint64_t tcpreasm_ack(struct tcpreasm *r, uint32_t ack);
/*
 * tcpreasm_ack_proves_loss: the peer acknowledged bytes at next that the
 * capture does not hold, and (unless eager) also the bytes waiting after
 * them (or the FIN), so the hole will not be filled by a late copy.
 */
bool tcpreasm_ack_proves_loss(const struct tcpreasm *r, bool eager);
/* tcpreasm_has_hole: bytes known to exist (or a FIN) wait behind missing ones. */
bool tcpreasm_has_hole(const struct tcpreasm *r);
/* tcpreasm_lose: the hole at next is lost; returns the bytes known to be beyond it. */
uint64_t tcpreasm_lose(struct tcpreasm *r);
void tcpreasm_free(struct tcpreasm *r);

#endif
