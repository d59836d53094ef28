/*
 * pcapdec.c - link layer, IP and TCP headers of one captured frame; see
 * pcapdec.h. Every read is checked against the captured length first.
 */
#include <string.h>

#include <pcap/dlt.h>

#include "source/pcapdec.h"
#include "util/banned.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100

#define IPPROTO_TCP_ 6

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool pcapdec_link_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

static enum pcapdec_status tcp(const uint8_t *p, size_t cap, size_t len,
			       struct pcapdec_segment *out)
{
	size_t doff;

	if (len < 20)
		return PCAPDEC_MALFORMED;
	if (cap < 20)
		return PCAPDEC_TRUNCATED;
	doff = (size_t)(p[12] >> 4) * 4;
	if (doff < 20 || doff > len)
		return PCAPDEC_MALFORMED;
	if (cap < doff)
		return PCAPDEC_TRUNCATED;
	out->sport = be16(p);
	out->dport = be16(p + 2);
	out->seq = be32(p + 4);
	out->ack = be32(p + 8);
	out->flags = p[13] & (PCAPDEC_FIN | PCAPDEC_SYN | PCAPDEC_RST | PCAPDEC_ACK);
	out->payload = p + doff;
	out->len = (uint32_t)(len - doff);
	out->caplen = (uint32_t)((cap < len ? cap : len) - doff);
	return PCAPDEC_TCP;
}

static void v4_mapped(struct ip_addr *a, const uint8_t *p)
{
	memset(a->b, 0, 10);
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(a->b + 12, p, 4);
}

static enum pcapdec_status ipv4(const uint8_t *p, size_t cap, struct pcapdec_segment *out)
{
	size_t ihl, total;
	uint16_t frag;

	if (cap < 20)
		return PCAPDEC_TRUNCATED;
	if (p[0] >> 4 != 4)
		return PCAPDEC_MALFORMED;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = be16(p + 2);
	if (total == 0)
		total = cap;              /* TSO: the length was never filled in */
	if (ihl < 20 || total < ihl)
		return PCAPDEC_MALFORMED;
	if (cap < ihl)
		return PCAPDEC_TRUNCATED;
	if (p[9] != IPPROTO_TCP_)
		return PCAPDEC_OTHER;
	frag = be16(p + 6);
	if (frag & 0x3fff)            /* more fragments, or an offset */
		return PCAPDEC_FRAGMENT;
	v4_mapped(&out->src, p + 12);
	v4_mapped(&out->dst, p + 16);
	return tcp(p + ihl, cap - ihl, total - ihl, out);
}

static enum pcapdec_status ipv6(const uint8_t *p, size_t cap, struct pcapdec_segment *out)
{
	size_t off = 40, len;
	uint8_t next;
	int i;

	if (cap < 40)
		return PCAPDEC_TRUNCATED;
	if (p[0] >> 4 != 6)
		return PCAPDEC_MALFORMED;
	len = be16(p + 4);
	if (len == 0)
		len = cap - 40;           /* a jumbogram or TSO: as captured */
	len += 40;                    /* from here on: bytes of the whole datagram */
	next = p[6];
	memcpy(out->src.b, p + 8, 16);
	memcpy(out->dst.b, p + 24, 16);
	for (i = 0; i < PCAPDEC_MAX_EXT; i++) {
		size_t hlen;

		switch (next) {
		case IPPROTO_TCP_:
			if (off > len)
				return PCAPDEC_MALFORMED;
			return tcp(p + off, cap > off ? cap - off : 0, len - off, out);
		case 0:     /* hop-by-hop options */
		case 43:    /* routing */
		case 60:    /* destination options */
		case 51:    /* authentication header: its length counts 4-byte words */
			if (off + 8 > len)
				return PCAPDEC_MALFORMED;
			if (off + 2 > cap)
				return PCAPDEC_TRUNCATED;
			hlen = next == 51 ? ((size_t)p[off + 1] + 2) * 4 : ((size_t)p[off + 1] + 1) * 8;
			break;
		case 44:    /* fragment */
			if (off + 8 > len)
				return PCAPDEC_MALFORMED;
			if (off + 8 > cap)
				return PCAPDEC_TRUNCATED;
			if (be16(p + off + 2) & 0xfff9) {       /* an offset or more to come */
				return p[off] == IPPROTO_TCP_ ? PCAPDEC_FRAGMENT : PCAPDEC_OTHER;
			}
			hlen = 8;                               /* an atomic fragment */
			break;
		default:
			return PCAPDEC_OTHER;                   /* ESP, ICMPv6, UDP, no next header */
		}
		if (off + hlen > len)
			return PCAPDEC_MALFORMED;
		next = p[off];
		off += hlen;
	}
	return PCAPDEC_MALFORMED;                       /* a chain no real stack sends */
}

/* ip: by the version nibble, for link types that do not say */
static enum pcapdec_status ip(const uint8_t *p, size_t cap, struct pcapdec_segment *out)
{
	if (cap < 1)
		return PCAPDEC_TRUNCATED;
	switch (p[0] >> 4) {
	case 4: return ipv4(p, cap, out);
	case 6: return ipv6(p, cap, out);
	default: return PCAPDEC_OTHER;
	}
}

/* ethertype: after the link header; VLAN tags are stepped over */
static enum pcapdec_status ethertype(uint16_t type, const uint8_t *p, size_t cap,
				     struct pcapdec_segment *out)
{
	int tags = 0;

	while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
		if (++tags > PCAPDEC_MAX_TAGS)
			return PCAPDEC_MALFORMED;
		if (cap < 4)
			return PCAPDEC_TRUNCATED;
		type = be16(p + 2);
		p += 4;
		cap -= 4;
	}
	switch (type) {
	case ETH_IPV4: return ipv4(p, cap, out);
	case ETH_IPV6: return ipv6(p, cap, out);
	default: return PCAPDEC_OTHER;
	}
}

/* BSD loopback family values of IPv6 (NetBSD/OpenBSD 24, FreeBSD 28, macOS 30) */
static bool af_inet6(uint32_t v)
{
	return v == 24 || v == 28 || v == 30;
}

static enum pcapdec_status loopback(const uint8_t *p, size_t cap, bool network_order,
				    struct pcapdec_segment *out)
{
	uint32_t be, le;

	if (cap < 4)
		return PCAPDEC_TRUNCATED;
	be = be32(p);
	le = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	if (network_order)
		le = be;
	if (be == 2 || le == 2)
		return cap > 4 ? ipv4(p + 4, cap - 4, out) : PCAPDEC_TRUNCATED;
	if (af_inet6(be) || af_inet6(le))
		return cap > 4 ? ipv6(p + 4, cap - 4, out) : PCAPDEC_TRUNCATED;
	return PCAPDEC_OTHER;
}

enum pcapdec_status pcapdec_frame(int dlt, const uint8_t *p, size_t cap,
				  struct pcapdec_segment *out)
{
	memset(out, 0, sizeof(*out));
	switch (dlt) {
	case DLT_EN10MB:
		if (cap < 14)
			return PCAPDEC_TRUNCATED;
		return ethertype(be16(p + 12), p + 14, cap - 14, out);
	case DLT_LINUX_SLL:
		if (cap < 16)
			return PCAPDEC_TRUNCATED;
		return ethertype(be16(p + 14), p + 16, cap - 16, out);
	case DLT_LINUX_SLL2:
		if (cap < 20)
			return PCAPDEC_TRUNCATED;
		return ethertype(be16(p), p + 20, cap - 20, out);
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return ip(p, cap, out);
	case DLT_NULL:
		return loopback(p, cap, false, out);
	case DLT_LOOP:
		return loopback(p, cap, true, out);
	default:
		return PCAPDEC_OTHER;
	}
}
