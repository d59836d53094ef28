/*
 * hll.c - HyperLogLog sketch of distinct client addresses; see analysis.h.
 *
 * p = 12: 4096 registers; a hash's top 12 bits choose the register, the
 * register keeps the largest "leading zeros + 1" of the other 52 bits
 * (1..53). The estimate is Ertl's improved raw estimator (O. Ertl, "New
 * cardinality estimation algorithms for HyperLogLog sketches", 2017), which
 * corrects the small-range bias (where the classic estimator needs linear
 * counting and empirical bias tables) and the large range alike: relative
 * standard error about 1.04 / sqrt(4096) = 1.6 % from one element up.
 *
 * A sketch starts sparse: a sorted array of (register, value) pairs, exact
 * with respect to the dense registers (same estimate), and turns dense when
 * that array would outgrow the 4096-byte register file. An hour of one
 * family at a trap usually holds tens of clients, so the hundreds of
 * thousands of hourly sketches of a 90-day report stay small.
 *
 * Serialised form (little-endian, version 1):
 *   byte 0 version (1), byte 1 p (12), byte 2 encoding (0 sparse, 1 dense)
 *   sparse: u16 count, then count x (u16 register, u8 value), registers
 *           strictly increasing, values 1..53
 *   dense:  4096 bytes, one value (0..53) per register
 * Deserialising checks all of that and rejects anything else.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define HLL_M (1u << ANALYSIS_HLL_P)
#define HLL_Q (64 - ANALYSIS_HLL_P)              /* bits left for the value */
#define HLL_MAXVAL (HLL_Q + 1)
#define HLL_SPARSE_MAX (HLL_M / 4)               /* 4-byte pairs == dense size */
#define HLL_VERSION 1
#define HLL_SEED 0x6a09e667f3bcc908ULL

struct analysis_hll {
	uint8_t *dense;       /* HLL_M registers, or NULL while sparse */
	uint32_t *sparse;     /* (register << 8) | value, sorted by register */
	size_t n_sparse, cap_sparse;
};

struct analysis_hll *analysis_hll_new(void)
{
	return xcalloc(1, sizeof(struct analysis_hll));
}

void analysis_hll_free(struct analysis_hll *h)
{
	if (!h)
		return;
	free(h->dense);
	free(h->sparse);
	free(h);
}

struct analysis_hll *analysis_hll_clone(const struct analysis_hll *h)
{
	struct analysis_hll *c = analysis_hll_new();

	if (h->dense) {
		c->dense = xmalloc(HLL_M);
		memcpy(c->dense, h->dense, HLL_M);
	} else if (h->n_sparse) {
		c->sparse = xreallocarray(NULL, h->n_sparse, sizeof(uint32_t));
		memcpy(c->sparse, h->sparse, h->n_sparse * sizeof(uint32_t));
		c->n_sparse = c->cap_sparse = h->n_sparse;
	}
	return c;
}

static void to_dense(struct analysis_hll *h)
{
	size_t i;

	h->dense = xcalloc(HLL_M, 1);
	for (i = 0; i < h->n_sparse; i++)
		h->dense[h->sparse[i] >> 8] = (uint8_t)(h->sparse[i] & 0xff);
	free(h->sparse);
	h->sparse = NULL;
	h->n_sparse = h->cap_sparse = 0;
}

/* set register reg to at least val */
static void raise_register(struct analysis_hll *h, uint32_t reg, uint8_t val)
{
	size_t lo = 0, hi;

	if (h->dense) {
		if (h->dense[reg] < val)
			h->dense[reg] = val;
		return;
	}
	hi = h->n_sparse;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if ((h->sparse[mid] >> 8) < reg)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->n_sparse && (h->sparse[lo] >> 8) == reg) {
		if ((h->sparse[lo] & 0xff) < val)
			h->sparse[lo] = reg << 8 | val;
		return;
	}
	if (h->n_sparse + 1 > HLL_SPARSE_MAX) {
		to_dense(h);
		h->dense[reg] = val;
		return;
	}
	if (h->n_sparse == h->cap_sparse) {
		h->cap_sparse = h->cap_sparse ? 2 * h->cap_sparse : 8;
		h->sparse = xreallocarray(h->sparse, h->cap_sparse, sizeof(uint32_t));
	}
	memmove(h->sparse + lo + 1, h->sparse + lo, (h->n_sparse - lo) * sizeof(uint32_t));
	h->sparse[lo] = reg << 8 | val;
	h->n_sparse++;
}

void analysis_hll_add(struct analysis_hll *h, uint64_t hash)
{
	uint32_t reg = (uint32_t)(hash >> HLL_Q);
	uint64_t rest = hash << ANALYSIS_HLL_P;
	uint8_t val = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : HLL_MAXVAL;

	if (val > HLL_MAXVAL)
		val = HLL_MAXVAL;
	raise_register(h, reg, val);
}

void analysis_hll_add_bytes(struct analysis_hll *h, const void *p, size_t n)
{
	analysis_hll_add(h, hash64(p, n, HLL_SEED));
}

/* d = max(d, s) register by register: a store for each (no branch), the
 * two files distinct (restrict), so the compiler makes it a vector max (a
 * report merges a dense sketch a family-day) */
static void registers_max(uint8_t *restrict d, const uint8_t *restrict s)
{
	size_t i;

	for (i = 0; i < HLL_M; i++)
		d[i] = d[i] > s[i] ? d[i] : s[i];
}

void analysis_hll_merge(struct analysis_hll *dst, const struct analysis_hll *src)
{
	size_t i;

	if (!src || (!src->dense && src->n_sparse == 0))
		return;
	if (src->dense) {
		if (!dst->dense)
			to_dense(dst);
		registers_max(dst->dense, src->dense);
		return;
	}
	if (dst->dense) {
		for (i = 0; i < src->n_sparse; i++)
			raise_register(dst, src->sparse[i] >> 8, (uint8_t)(src->sparse[i] & 0xff));
		return;
	}
	/* sparse into sparse: a merge of two sorted lists */
	{
		size_t cap = dst->n_sparse + src->n_sparse;
		uint32_t *out = xreallocarray(NULL, cap, sizeof(uint32_t));
		size_t a = 0, b = 0, n = 0;

		while (a < dst->n_sparse || b < src->n_sparse) {
			uint32_t ra = a < dst->n_sparse ? dst->sparse[a] >> 8 : UINT32_MAX;
			uint32_t rb = b < src->n_sparse ? src->sparse[b] >> 8 : UINT32_MAX;

			if (ra < rb)
				out[n++] = dst->sparse[a++];
			else if (rb < ra)
				out[n++] = src->sparse[b++];
			else {
				out[n++] = dst->sparse[a] > src->sparse[b] ? dst->sparse[a] : src->sparse[b];
				a++;
				b++;
			}
		}
		free(dst->sparse);
		dst->sparse = out;
		dst->n_sparse = n;
		dst->cap_sparse = cap;
		if (n > HLL_SPARSE_MAX)
			to_dense(dst);
	}
}

/* Ertl's sigma and tau (section 4 of the paper). */
static double hll_sigma(double x)
{
	double y = 1, z = x, old;

	if (x >= 1)
		return INFINITY;
	do {
		x *= x;
		old = z;
		z += x * y;
		y += y;
	} while (z != old);
	return z;
}

static double hll_tau(double x)
{
	double y = 1, z, old;

	if (x <= 0 || x >= 1)
		return 0;
	z = 1 - x;
	do {
		x = sqrt(x);
		old = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != old);
	return z / 3;
}

double analysis_hll_estimate(const struct analysis_hll *h)
{
	double count[HLL_MAXVAL + 1] = { 0 };
	double m = HLL_M, z;
	size_t i;
	int k;

	if (h->dense) {
		for (i = 0; i < HLL_M; i++)
			count[h->dense[i]]++;
	} else {
		for (i = 0; i < h->n_sparse; i++)
			count[h->sparse[i] & 0xff]++;
		count[0] = m - (double)h->n_sparse;
	}
	if (count[0] == m)
		return 0;
	z = m * hll_tau(1 - count[HLL_MAXVAL] / m);
	for (k = HLL_Q; k >= 1; k--)
		z = 0.5 * (z + count[k]);
	z += m * hll_sigma(count[0] / m);
	return m * m / (2 * log(2)) / z;
}

static void put16(struct buf *out, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v & 0xff), (unsigned char)(v >> 8) };

	buf_add(out, b, 2);
}

void analysis_hll_serialise(const struct analysis_hll *h, struct buf *out)
{
	unsigned char head[3] = { HLL_VERSION, ANALYSIS_HLL_P, h->dense ? 1 : 0 };
	size_t i;

	buf_add(out, head, 3);
	if (h->dense) {
		buf_add(out, h->dense, HLL_M);
		return;
	}
	put16(out, (unsigned)h->n_sparse);
	for (i = 0; i < h->n_sparse; i++) {
		unsigned char v = (unsigned char)(h->sparse[i] & 0xff);

		put16(out, h->sparse[i] >> 8);
		buf_add(out, &v, 1);
	}
}

static struct analysis_hll *hll_error(struct analysis_hll *h, char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "client sketch: %s", why);
	analysis_hll_free(h);
	return NULL;
}

struct analysis_hll *analysis_hll_deserialise(const void *data, size_t n, char *err, size_t errlen)
{
	const unsigned char *p = data;
	struct analysis_hll *h;
	size_t i, count;

	if (n < 3)
		return hll_error(NULL, err, errlen, "truncated header");
	if (p[0] != HLL_VERSION)
		return hll_error(NULL, err, errlen, "unknown version");
	if (p[1] != ANALYSIS_HLL_P)
		return hll_error(NULL, err, errlen, "unsupported precision");
	h = analysis_hll_new();
	if (p[2] == 1) {
		uint8_t top = 0;

		if (n != 3 + HLL_M)
			return hll_error(h, err, errlen, "dense sketch of wrong length");
		/* the largest register, then one test (a loop the compiler
		 * vectorises, where a test per register it did not) */
		for (i = 0; i < HLL_M; i++)
			top = p[3 + i] > top ? p[3 + i] : top;
		if (top > HLL_MAXVAL)
			return hll_error(h, err, errlen, "register value out of range");
		h->dense = xmalloc(HLL_M);
		memcpy(h->dense, p + 3, HLL_M);
		return h;
	}
	if (p[2] != 0)
		return hll_error(h, err, errlen, "unknown encoding");
	if (n < 5)
		return hll_error(h, err, errlen, "truncated sparse count");
	count = (size_t)p[3] | (size_t)p[4] << 8;
	if (count > HLL_SPARSE_MAX || n != 5 + 3 * count)
		return hll_error(h, err, errlen, "sparse sketch of wrong length");
	if (count) {
		h->sparse = xreallocarray(NULL, count, sizeof(uint32_t));
		h->cap_sparse = count;
	}
	for (i = 0; i < count; i++) {
		const unsigned char *e = p + 5 + 3 * i;
		uint32_t reg = (uint32_t)e[0] | (uint32_t)e[1] << 8;

		if (reg >= HLL_M || e[2] == 0 || e[2] > HLL_MAXVAL)
			return hll_error(h, err, errlen, "sparse entry out of range");
		if (i > 0 && reg <= (h->sparse[i - 1] >> 8))
			return hll_error(h, err, errlen, "sparse entries out of order");
		h->sparse[i] = reg << 8 | e[2];
		h->n_sparse = i + 1;
	}
	return h;
}
