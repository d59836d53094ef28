/*
 * ip.h - IPv4/IPv6 addresses and CIDR ranges as values.
 *
 * Addresses are kept as 16 bytes (IPv4 as ::ffff:a.b.c.d) so one type serves
 * both families. Parsing accepts the textual forms found in Received:
 * lines: "192.0.2.7", "IPv6:2001:db8::1", "2001:db8::1".
 */
#ifndef SPAMTIDE_UTIL_IP_H
#define SPAMTIDE_UTIL_IP_H

#include <stdbool.h>
#include <stdint.h>

#define IP_TEXT_LEN 46   /* INET6_ADDRSTRLEN */

struct ip_addr {
	uint8_t b[16];
};

struct ip_cidr {
	struct ip_addr addr;
	int prefix;          /* bits, counted on the 128-bit form */
};

bool ip_parse(const char *s, struct ip_addr *out);
bool ip_is_v4(const struct ip_addr *a);
/* ip_format: "192.0.2.7" or "2001:db8::1" into out[IP_TEXT_LEN]. */
char *ip_format(const struct ip_addr *a, char *out);
/* ip_is_local: loopback, private (RFC 1918, ULA), link-local, unspecified. */
bool ip_is_local(const struct ip_addr *a);
bool ip_is_loopback(const struct ip_addr *a);
/* ip_cidr_parse: "10.0.0.0/8", "2001:db8::/32", or a bare address. */
bool ip_cidr_parse(const char *s, struct ip_cidr *out);
bool ip_cidr_contains(const struct ip_cidr *c, const struct ip_addr *a);

#endif
