/*
 * tcpflow.h - internal to src/source: a table of TCP flows keyed by their
 * 4-tuple, in least-recently-used order.
 *
 * The table is intrusive: the caller's flow struct holds a struct
 * tcpflow_node and owns the memory; the table only links nodes (a hash
 * chain and the LRU list) and never frees one. The key is direction-free:
 * both directions of a connection find the same node.
 *
 * The caller keeps the table bounded (LIMIT_PCAP_FLOWS): before inserting
 * into a full table it finishes tcpflow_oldest(); and it finishes flows
 * idle in packet time (LIMIT_PCAP_FLOW_IDLE_S) from tcpflow_oldest() on.
 * The bucket array doubles as the count grows; lookups and LRU moves are
 * O(1).
 */
#ifndef SPAMTIDE_SOURCE_TCPFLOW_H
#define SPAMTIDE_SOURCE_TCPFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ip.h"

/* the two endpoints, the lower (address, port) first */
struct tcpflow_key {
	struct ip_addr lo, hi;
	uint16_t lo_port, hi_port;
};

struct tcpflow_node {
	struct tcpflow_key key;
	uint64_t hash;
	int64_t last_ms;                       /* packet time of the last packet */
	struct tcpflow_node *chain;            /* hash bucket */
	struct tcpflow_node *older, *newer;    /* LRU list */
};

typedef struct tcpflow_table tcpflow_table;

/* tcpflow_key_make: the key of a packet from (a, pa) to (b, pb). */
void tcpflow_key_make(struct tcpflow_key *k, const struct ip_addr *a, uint16_t pa,
		      const struct ip_addr *b, uint16_t pb);

/* tcpflow_key_hash: the hash the table files k under (stable, well spread). */
uint64_t tcpflow_key_hash(const struct tcpflow_key *k);

tcpflow_table *tcpflow_new(void);
/* tcpflow_free: the table only; the nodes belong to the caller. */
void tcpflow_free(tcpflow_table *t);
struct tcpflow_node *tcpflow_find(tcpflow_table *t, const struct tcpflow_key *k);
/* tcpflow_insert: n->key set by the caller; becomes the newest, at now_ms. */
void tcpflow_insert(tcpflow_table *t, struct tcpflow_node *n, int64_t now_ms);
/* tcpflow_touch: a packet of n at now_ms: n becomes the newest. */
void tcpflow_touch(tcpflow_table *t, struct tcpflow_node *n, int64_t now_ms);
void tcpflow_remove(tcpflow_table *t, struct tcpflow_node *n);
/* tcpflow_oldest: the least recently used node, or NULL when empty. */
struct tcpflow_node *tcpflow_oldest(const tcpflow_table *t);
size_t tcpflow_count(const tcpflow_table *t);

#endif
