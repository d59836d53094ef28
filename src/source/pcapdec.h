/*
 * pcapdec.h - internal to src/source: one captured frame down to its TCP
 * segment.
 *
 * Link types: Ethernet (with 802.1Q VLAN tags, QinQ 802.1ad and the old
 * 0x9100 tag, stacked up to PCAPDEC_MAX_TAGS deep), Linux cooked capture
 * (SLL and SLL2), raw IP (DLT_RAW, DLT_IPV4, DLT_IPV6), BSD loopback
 * (DLT_NULL, family in the capturing host's byte order, either order
 * accepted) and OpenBSD loopback (DLT_LOOP, network order). IPv4 and IPv6;
 * IPv6 extension headers (hop-by-hop, routing, destination options,
 * fragment with offset 0 and no more fragments, AH) are skipped.
 *
 * The payload length comes from the IP header, not from the captured
 * length (Ethernet pads short frames; a snaplen cuts long ones): len is
 * what the packet carried, caplen how much of it the capture kept. A
 * total length of 0 (TSO, jumbograms) means "as captured".
 *
 * Nothing is allocated; the segment points into the frame. No checksums
 * are verified (captures on the sending host see offloaded, unfinished
 * ones).
 */
#ifndef SPAMTIDE_SOURCE_PCAPDEC_H
#define SPAMTIDE_SOURCE_PCAPDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ip.h"

#define PCAPDEC_MAX_TAGS 4         /* VLAN tags followed at most */
#define PCAPDEC_MAX_EXT 16         /* IPv6 extension headers followed at most */

enum pcapdec_status {
	PCAPDEC_TCP,               /* a TCP segment: out is filled */
	PCAPDEC_OTHER,             /* not IP, or not TCP: not ours */
	PCAPDEC_FRAGMENT,          /* a fragment of a TCP datagram (not reassembled) */
	PCAPDEC_TRUNCATED,         /* the headers themselves were cut by the snaplen */
	PCAPDEC_MALFORMED,         /* header fields that do not add up */
};

enum {
	PCAPDEC_FIN = 0x01,
	PCAPDEC_SYN = 0x02,
	PCAPDEC_RST = 0x04,
	PCAPDEC_ACK = 0x10,
};

struct pcapdec_segment {
	struct ip_addr src, dst;   /* IPv4 as ::ffff:a.b.c.d */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;             /* PCAPDEC_* TCP flags */
	const uint8_t *payload;
	uint32_t len;              /* payload bytes the packet carried */
	uint32_t caplen;           /* of them, bytes captured (<= len) */
};

/* pcapdec_link_supported: whether frames of this DLT_ link type decode. */
bool pcapdec_link_supported(int dlt);
/* pcapdec_frame: decode one frame of link type dlt; see the statuses. */
enum pcapdec_status pcapdec_frame(int dlt, const uint8_t *frame, size_t caplen,
				  struct pcapdec_segment *out);

#endif
