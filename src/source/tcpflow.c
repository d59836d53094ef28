/*
 * tcpflow.c - the flow table: chained hash buckets and an LRU list; see
 * tcpflow.h.
 */
#include <stdlib.h>
#include <string.h>

#include "source/tcpflow.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MIN_BUCKETS 256

struct tcpflow_table {
	struct tcpflow_node **buckets;
	size_t nbuckets;            /* a power of two */
	size_t count;
	struct tcpflow_node *oldest, *newest;
};

void tcpflow_key_make(struct tcpflow_key *k, const struct ip_addr *a, uint16_t pa,
		      const struct ip_addr *b, uint16_t pb)
{
	int c = memcmp(a->b, b->b, sizeof(a->b));

	memset(k, 0, sizeof(*k));
	if (c < 0 || (c == 0 && pa <= pb)) {
		k->lo = *a, k->lo_port = pa;
		k->hi = *b, k->hi_port = pb;
	} else {
		k->lo = *b, k->lo_port = pb;
		k->hi = *a, k->hi_port = pa;
	}
}

static bool key_eq(const struct tcpflow_key *x, const struct tcpflow_key *y)
{
	return x->lo_port == y->lo_port && x->hi_port == y->hi_port &&
	       memcmp(x->lo.b, y->lo.b, 16) == 0 && memcmp(x->hi.b, y->hi.b, 16) == 0;
}

uint64_t tcpflow_key_hash(const struct tcpflow_key *k)
{
	uint8_t b[36];

	memcpy(b, k->lo.b, 16);
	memcpy(b + 16, k->hi.b, 16);
	b[32] = (uint8_t)(k->lo_port >> 8), b[33] = (uint8_t)k->lo_port;
	b[34] = (uint8_t)(k->hi_port >> 8), b[35] = (uint8_t)k->hi_port;
	return hash64(b, sizeof(b), 0x7463706677ULL);
}

tcpflow_table *tcpflow_new(void)
{
	tcpflow_table *t = xcalloc(1, sizeof(*t));

	t->nbuckets = MIN_BUCKETS;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

void tcpflow_free(tcpflow_table *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t);
}

static void grow(tcpflow_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct tcpflow_node **b = xcalloc(n, sizeof(*b));

	for (i = 0; i < t->nbuckets; i++) {
		struct tcpflow_node *x = t->buckets[i], *next;

		for (; x; x = next) {
			next = x->chain;
			x->chain = b[x->hash & (n - 1)];
			b[x->hash & (n - 1)] = x;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

struct tcpflow_node *tcpflow_find(tcpflow_table *t, const struct tcpflow_key *k)
{
	uint64_t h = tcpflow_key_hash(k);
	struct tcpflow_node *x = t->buckets[h & (t->nbuckets - 1)];

	for (; x; x = x->chain)
		if (x->hash == h && key_eq(&x->key, k))
			return x;
	return NULL;
}

static void lru_unlink(tcpflow_table *t, struct tcpflow_node *n)
{
	if (n->older)
		n->older->newer = n->newer;
	else
		t->oldest = n->newer;
	if (n->newer)
		n->newer->older = n->older;
	else
		t->newest = n->older;
	n->older = n->newer = NULL;
}

static void lru_append(tcpflow_table *t, struct tcpflow_node *n)
{
	n->older = t->newest;
	n->newer = NULL;
	if (t->newest)
		t->newest->newer = n;
	else
		t->oldest = n;
	t->newest = n;
}

void tcpflow_insert(tcpflow_table *t, struct tcpflow_node *n, int64_t now_ms)
{
	size_t b;

	if (t->count + 1 > t->nbuckets)
		grow(t);
	n->hash = tcpflow_key_hash(&n->key);
	b = n->hash & (t->nbuckets - 1);
	n->chain = t->buckets[b];
	t->buckets[b] = n;
	n->last_ms = now_ms;
	lru_append(t, n);
	t->count++;
}

void tcpflow_touch(tcpflow_table *t, struct tcpflow_node *n, int64_t now_ms)
{
	n->last_ms = now_ms;
	if (t->newest != n) {
		lru_unlink(t, n);
		lru_append(t, n);
	}
}

void tcpflow_remove(tcpflow_table *t, struct tcpflow_node *n)
{
	struct tcpflow_node **at = &t->buckets[n->hash & (t->nbuckets - 1)];

	while (*at && *at != n)
		at = &(*at)->chain;
	if (!*at)
		panic("tcpflow_remove: node not in the table");
	*at = n->chain;
	n->chain = NULL;
	lru_unlink(t, n);
	t->count--;
}

struct tcpflow_node *tcpflow_oldest(const tcpflow_table *t)
{
	return t->oldest;
}

size_t tcpflow_count(const tcpflow_table *t)
{
	return t->count;
}
