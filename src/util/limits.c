/*
 * limits.c - the limit table; see limits.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/limits.h"
#include "util/banned.h"

#define KiB 1024LL
#define MiB (1024LL * 1024)

static const struct limit_def defs[LIMIT_COUNT] = {
	[LIMIT_MESSAGE_SIZE] = { "message_size", 32 * MiB, 1024, 1024 * MiB,
		"larger than any mail provider accepts (25 MB is common); spam is rarely over 1 MB" },
	[LIMIT_HEADER_COUNT] = { "header_count", 1000, 10, 1000000,
		"real mail has under 100 header fields; a flood of them is an attack on the parser" },
	[LIMIT_HEADER_LINE] = { "header_line", 8 * KiB, 256, 16 * MiB,
		"RFC 5322 caps lines at 998 bytes; longer folded values still fit in 8 KiB" },
	[LIMIT_MIME_DEPTH] = { "mime_depth", 20, 1, 1000,
		"legitimate nesting stays under 10; deep nesting exhausts stacks (rspamd's max_nested)" },
	[LIMIT_MIME_PARTS] = { "mime_parts", 256, 1, 100000,
		"attachments and alternatives rarely exceed a few dozen parts" },
	[LIMIT_BODY_TEXT] = { "body_text", 4 * KiB, 1024, 16 * MiB,
		"templates are recognised from the first screens of text (campaigns read 400 words)" },
	[LIMIT_URLS] = { "urls", 64, 1, 100000,
		"spam links to a handful of sites; more adds nothing but cost" },
	[LIMIT_RECEIVED] = { "received", 64, 1, 10000,
		"real paths have under 20 hops; forged headers may add many more" },
	[LIMIT_SMTP_LINE] = { "smtp_line", 2048, 512, 1 * MiB,
		"RFC 5321 4.5.3.1.4: 512 bytes per command line; extensions need a little more" },
	[LIMIT_SMTP_COMMANDS] = { "smtp_commands", 10000, 10, 10000000,
		"a session of 1,000 messages with several recipients each still fits" },
	[LIMIT_SMTP_JUNK] = { "smtp_junk", 20, 1, 100000,
		"Postfix's smtpd_hard_error_limit is 20: unknown verbs in a row mean a scanner" },
	[LIMIT_SMTP_RCPTS] = { "smtp_rcpts", 1000, 1, 1000000,
		"RFC 5321 4.5.3.1.8 asks servers to accept at least 100; bots send more" },
	[LIMIT_SMTP_TRANSACTIONS] = { "smtp_transactions", 1000, 1, 1000000,
		"Lethic-like bots pack many messages per connection; beyond this it is a flood" },
	[LIMIT_SMTP_DIALECT_LINES] = { "smtp_dialect_lines", 64, 4, 100000,
		"the dialect shows in the first transaction or two; later lines repeat it" },
	[LIMIT_SMTP_IDLE_MS] = { "smtp_idle_ms", 300000, 10, 3600000,
		"RFC 5321 4.5.3.2.7: the server timeout should be at least 5 minutes" },
	[LIMIT_SMTP_SESSION_MS] = { "smtp_session_ms", 3600000, 100, 86400000,
		"slow-drip clients must not hold a slot forever" },
	[LIMIT_SMTP_BANNER_DELAY_MS] = { "smtp_banner_delay_ms", 1000, 0, 60000,
		"postscreen-style pregreet detection; at most 1 s so real clients do not time out" },
	[LIMIT_SESSIONS] = { "sessions", 20000, 1, 1000000,
		"bounded by file descriptors and memory; 10,000 idle sessions fit in 256 MB" },
	[LIMIT_SESSIONS_PER_CLIENT] = { "sessions_per_client", 50, 1, 1000000,
		"Postfix's smtpd_client_connection_count_limit is 50: one bot must not take all slots" },
	[LIMIT_DRAIN_MS] = { "drain_ms", 10000, 0, 600000,
		"on SIGTERM, sessions in flight may finish this long before they get 421" },
	[LIMIT_COMMIT_MS] = { "commit_ms", 5, 0, 1000,
		"one fsync covers every message of this window: latency against throughput" },
	[LIMIT_COMMIT_BATCH] = { "commit_batch", 4096, 1, 1000000,
		"bounds the memory held by one group commit" },
	[LIMIT_PARSE_MS] = { "parse_ms", 10000, 1, 600000,
		"a message parses in milliseconds; one that takes seconds holds its whole commit" },
	[LIMIT_PCAP_FLOWS] = { "pcap_flows", 65536, 16, 10000000,
		"concurrent TCP flows tracked; the oldest idle one is closed beyond this" },
	[LIMIT_PCAP_FLOW_IDLE_S] = { "pcap_flow_idle_s", 600, 1, 86400,
		"a flow silent this long (packet time) is finished as incomplete" },
	[LIMIT_PCAP_FLOW_BYTES] = { "pcap_flow_bytes", 1 * MiB, 4096, 1024 * MiB,
		"out-of-order bytes buffered per direction before a gap is declared" },
};

static long long values[LIMIT_COUNT];
static int values_set;

static void ensure(void)
{
	if (!values_set)
		limit_reset();
}

void limit_reset(void)
{
	int i;

	for (i = 0; i < LIMIT_COUNT; i++)
		values[i] = defs[i].def;
	values_set = 1;
}

long long limit(enum limit_id id)
{
	ensure();
	return values[id];
}

const struct limit_def *limit_def(enum limit_id id)
{
	return &defs[id];
}

int limit_set(const char *assignment, char *err, size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	long long v;
	char *end;
	int i;

	ensure();
	if (!eq || eq == assignment) {
		snprintf(err, errlen, "limit '%s': expected NAME=VALUE", assignment);
		return -1;
	}
	for (i = 0; i < LIMIT_COUNT; i++)
		if (strlen(defs[i].name) == (size_t)(eq - assignment) &&
		    strncasecmp(defs[i].name, assignment, (size_t)(eq - assignment)) == 0)
			break;
	if (i == LIMIT_COUNT) {
		snprintf(err, errlen, "unknown limit '%.*s' (see --limit help)",
			 (int)(eq - assignment), assignment);
		return -1;
	}
	errno = 0;
	v = strtoll(eq + 1, &end, 10);
	if (end == eq + 1 || errno) {
		snprintf(err, errlen, "limit %s: '%s' is not a number", defs[i].name, eq + 1);
		return -1;
	}
	if (*end == 'k' || *end == 'K')
		v *= KiB, end++;
	else if (*end == 'M')
		v *= MiB, end++;
	else if (*end == 'G')
		v *= 1024 * MiB, end++;
	if (*end) {
		snprintf(err, errlen, "limit %s: '%s' is not a number", defs[i].name, eq + 1);
		return -1;
	}
	if (v < defs[i].min || v > defs[i].max) {
		snprintf(err, errlen, "limit %s=%lld out of range [%lld, %lld]", defs[i].name, v,
			 defs[i].min, defs[i].max);
		return -1;
	}
	values[i] = v;
	return 0;
}

void limit_print(FILE *out)
{
	int i;

	ensure();
	for (i = 0; i < LIMIT_COUNT; i++)
		fprintf(out, "%-22s %12lld  %s\n", defs[i].name, values[i], defs[i].why);
}
