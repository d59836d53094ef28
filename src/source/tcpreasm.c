/*
 * tcpreasm.c - one direction of a TCP stream back in order; see
 * tcpreasm.h. Pending segments are a short sorted list of copies, kept
 * disjoint on insertion (the bytes that arrived first stay).
 */
#include <stdlib.h>
#include <string.h>

#include "source/tcpreasm.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct tcpreasm_seg {
	struct tcpreasm_seg *next;
	uint64_t off;
	size_t len;
	uint8_t data[];
};

void tcpreasm_init(struct tcpreasm *r, size_t max_pending)
{
	memset(r, 0, sizeof(*r));
	r->max_pending = max_pending;
}

void tcpreasm_start(struct tcpreasm *r, uint32_t seq)
{
	r->started = true;
	r->base = seq;
}

int64_t tcpreasm_offset(const struct tcpreasm *r, uint32_t seq)
{
	uint32_t at_next = r->base + (uint32_t)r->next;
	int32_t delta = (int32_t)(seq - at_next);

	return (int64_t)r->next + delta;
}

void tcpreasm_free(struct tcpreasm *r)
{
	struct tcpreasm_seg *s = r->pending, *n;

	for (; s; s = n) {
		n = s->next;
		free(s);
	}
	r->pending = NULL;
	r->pending_bytes = 0;
}

static void insert(struct tcpreasm *r, struct tcpreasm_seg **at, uint64_t off,
		   const uint8_t *p, size_t n)
{
	struct tcpreasm_seg *s = xmalloc(sizeof(*s) + n);

	s->off = off;
	s->len = n;
	memcpy(s->data, p, n);
	s->next = *at;
	*at = s;
	r->pending_bytes += n;
}

/* keep [off, off+n) except where pending segments already hold bytes */
static void add_pending(struct tcpreasm *r, uint64_t off, const uint8_t *p, size_t n)
{
	struct tcpreasm_seg **at = &r->pending;
	uint64_t end = off + n;

	while (off < end) {
		struct tcpreasm_seg *s = *at;

		if (!s || end <= s->off) {
			insert(r, at, off, p + (n - (end - off)), (size_t)(end - off));
			return;
		}
		if (off < s->off) {
			/* the part before s, then continue after it */
			insert(r, at, off, p + (n - (end - off)), (size_t)(s->off - off));
			at = &(*at)->next;
			off = s->off;
			continue;
		}
		if (off < s->off + s->len)
			off = s->off + s->len;
		at = &s->next;
	}
}

static void drain(struct tcpreasm *r, tcpreasm_sink sink, void *ctx, size_t *delivered)
{
	struct tcpreasm_seg *s;

	while ((s = r->pending) && s->off <= r->next) {
		uint64_t end = s->off + s->len;

		if (end > r->next) {
			size_t skip = (size_t)(r->next - s->off);

			sink(ctx, s->data + skip, s->len - skip);
			*delivered += s->len - skip;
			r->next = end;
		}
		r->pending = s->next;
		r->pending_bytes -= s->len;
		free(s);
	}
}

struct tcpreasm_result tcpreasm_segment(struct tcpreasm *r, uint32_t seq, const uint8_t *data,
					uint32_t caplen, uint32_t len, bool fin,
					tcpreasm_sink sink, void *ctx)
{
	struct tcpreasm_result res = { 0, false, false };
	int64_t off = tcpreasm_offset(r, seq);
	uint64_t start, end, full_end;

	if (caplen > len)
		caplen = len;
	/* bytes before the stream began (a confused peer): drop them */
	if (off < 0) {
		if ((int64_t)len <= -off) {
			r->dup_segments++;
			goto out;
		}
		data += -off;
		caplen = (uint32_t)-off < caplen ? caplen - (uint32_t)-off : 0;
		len -= (uint32_t)-off;
		off = 0;
	}
	start = (uint64_t)off;
	end = start + caplen;
	full_end = start + len;
	if (full_end > r->high)
		r->high = full_end;
	if (fin && !r->fin) {
		r->fin = true;
		r->fin_off = full_end;
	}
	if (r->lost || caplen == 0)
		goto out;
	if (end <= r->next) {
		r->dup_segments++;
		goto out;
	}
	if (start <= r->next) {
		size_t skip = (size_t)(r->next - start);

		sink(ctx, data + skip, caplen - skip);
		res.delivered += caplen - skip;
		r->next = end;
		drain(r, sink, ctx, &res.delivered);
	} else {
		r->ooo_segments++;
		add_pending(r, start, data, caplen);
		if (r->pending_bytes > r->max_pending)
			res.overflow = true;
	}
out:
	res.fin_reached = r->fin && !r->lost && r->next >= r->fin_off;
	return res;
}

uint64_t tcpreasm_ack(struct tcpreasm *r, uint32_t ack)
{
	int64_t off;
	uint64_t grew = 0;

	if (!r->started)
		return 0;
	off = tcpreasm_offset(r, ack);
	if (r->fin && off > (int64_t)r->fin_off)
		off = (int64_t)r->fin_off;      /* the FIN takes a sequence number, not a byte */
	if (off <= 0)
		return 0;
	if ((uint64_t)off > r->acked)
		r->acked = (uint64_t)off;
	if (r->acked > r->high) {
		grew = r->acked - r->high;
		r->high = r->acked;
	}
	return grew;
}

bool tcpreasm_ack_proves_loss(const struct tcpreasm *r, bool eager)
{
	if (r->lost || r->acked <= r->next)
		return false;
	if (r->pending && r->pending->off <= r->next)
		return false;
	if (eager)
		return true;
	/*
	 * The peer has the bytes after the hole too (or the FIN): a late copy
	 * of the hole would have come before that acknowledgement. An ACK
	 * that only reaches the start of the waiting bytes is not enough: a
	 * capture may show it before a segment it reordered.
	 */
	return (r->pending && r->acked >= r->pending->off + r->pending->len) ||
	       (r->fin && r->fin_off <= r->acked);
}

bool tcpreasm_has_hole(const struct tcpreasm *r)
{
	if (r->lost)
		return false;
	return r->pending != NULL || r->high > r->next || (r->fin && r->fin_off > r->next);
}

uint64_t tcpreasm_lose(struct tcpreasm *r)
{
	uint64_t beyond = r->high > r->next ? r->high - r->next : 0;

	r->lost = true;
	tcpreasm_free(r);
	return beyond;
}
