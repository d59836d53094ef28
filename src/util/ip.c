/*
 * ip.c - addresses and CIDR ranges; see ip.h.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/ip.h"
#include "util/banned.h"

static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool ip_parse(const char *s, struct ip_addr *out)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (strncasecmp(s, "IPv6:", 5) == 0)
		s += 5;
	if (inet_pton(AF_INET, s, &v4) == 1) {
		memcpy(out->b, v4_prefix, 12);
		memcpy(out->b + 12, &v4, 4);
		return true;
	}
	if (inet_pton(AF_INET6, s, &v6) == 1) {
		memcpy(out->b, &v6, 16);
		return true;
	}
	return false;
}

bool ip_is_v4(const struct ip_addr *a)
{
	return memcmp(a->b, v4_prefix, 12) == 0;
}

char *ip_format(const struct ip_addr *a, char *out)
{
	if (ip_is_v4(a)) {
		/* glibc's inet_ntop goes through sprintf: 20× this, on every Received: hop */
		char *o = out;
		int i;

		for (i = 12; i < 16; i++) {
			unsigned v = a->b[i];

			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
			*o++ = i < 15 ? '.' : '\0';
		}
	} else
		inet_ntop(AF_INET6, a->b, out, IP_TEXT_LEN);
	return out;
}

bool ip_is_loopback(const struct ip_addr *a)
{
	static const uint8_t v6_loop[16] = { [15] = 1 };

	if (ip_is_v4(a))
		return a->b[12] == 127;
	return memcmp(a->b, v6_loop, 16) == 0;
}

bool ip_is_local(const struct ip_addr *a)
{
	static const uint8_t zero[16];

	if (ip_is_loopback(a) || memcmp(a->b, zero, 16) == 0)
		return true;
	if (ip_is_v4(a)) {
		const uint8_t *q = a->b + 12;

		return q[0] == 10 || q[0] == 0 ||
		       (q[0] == 172 && (q[1] & 0xf0) == 16) ||
		       (q[0] == 192 && q[1] == 168) ||
		       (q[0] == 169 && q[1] == 254) ||
		       (q[0] == 100 && (q[1] & 0xc0) == 64);   /* RFC 6598 CGN */
	}
	return (a->b[0] & 0xfe) == 0xfc ||                     /* ULA fc00::/7 */
	       (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80);  /* fe80::/10 */
}

bool ip_cidr_parse(const char *s, struct ip_cidr *out)
{
	char tmp[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	long bits;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!ip_parse(tmp, &out->addr))
		return false;
	if (!slash) {
		out->prefix = 128;
		return true;
	}
	bits = strtol(slash + 1, &end, 10);
	if (end == slash + 1 || *end)
		return false;
	if (ip_is_v4(&out->addr)) {
		if (bits < 0 || bits > 32)
			return false;
		bits += 96;
	} else if (bits < 0 || bits > 128) {
		return false;
	}
	out->prefix = (int)bits;
	return true;
}

bool ip_cidr_contains(const struct ip_cidr *c, const struct ip_addr *a)
{
	int full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr.b, a->b, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr.b[full] ^ a->b[full]) & (0xff << (8 - rest))) == 0;
}
