/*
 * features.h - what a message says about the software that sent it.
 *
 * mail_features_extract() reads one raw message (as received: delivery
 * headers and the receiving hops' Received: lines included) and fills a
 * struct mail_features: the inputs of attribution, campaign grouping and
 * the store. It does no I/O; GMime parses the message.
 *
 * Ownership: every string in a struct mail_features lives in its arena and
 * is valid until the next mail_features_extract() on the same struct or
 * mail_features_free(). Strings are UTF-8 (invalid bytes replaced) and
 * NUL-terminated; NULL means "absent".
 *
 * Receive time (DESIGN.md): the context's time when the source knows it
 * (trap clock, packet time); for files the date of the topmost Received:
 * line that parses, else the mbox From_ line date, else Date:, else the
 * file's mtime. A date before 1995 or later than mtime plus one day is
 * implausible and skipped (MAIL_WARN_DATE).
 *
 * Client address and HELO: the connecting IP and from-name of the first
 * Received: line from the top whose IP is not loopback, private, link-local
 * or in a trusted range: the last external relay. When every hop is
 * private (a sandbox), the topmost non-loopback hop. The context's values
 * win when the source knows them (an SMTP session).
 *
 * Limits (util/limits.h): header fields examined (LIMIT_HEADER_COUNT),
 * bytes kept per header (LIMIT_HEADER_LINE), MIME depth and parts, text kept
 * for templates (LIMIT_BODY_TEXT), URLs (LIMIT_URLS), Received: lines
 * examined (LIMIT_RECEIVED). Exceeding one sets a warning bit; the message
 * is still described by what was read.
 */
#ifndef SPAMTIDE_MAIL_FEATURES_H
#define SPAMTIDE_MAIL_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/ip.h"

/* Where the receive time came from. */
enum mail_ts_source {
	MAIL_TS_SESSION,     /* the source knew it: trap clock or packet time */
	MAIL_TS_RECEIVED,    /* topmost parsable Received: date */
	MAIL_TS_FROM_LINE,   /* mbox From_ line */
	MAIL_TS_DATE,        /* Date: header */
	MAIL_TS_MTIME,       /* file modification time */
	MAIL_TS_NONE,        /* nothing plausible at all: ts is 0 */
};

/* Warnings: the message was described with a fallback. */
enum mail_warning {
	MAIL_WARN_NUL            = 1u << 0,   /* NUL bytes in the message */
	MAIL_WARN_HEADERS_ONLY   = 1u << 1,   /* no body */
	MAIL_WARN_LONG_HEADER    = 1u << 2,   /* a header beyond LIMIT_HEADER_LINE */
	MAIL_WARN_MANY_HEADERS   = 1u << 3,   /* more than LIMIT_HEADER_COUNT */
	MAIL_WARN_MIME_DEPTH     = 1u << 4,   /* nesting beyond LIMIT_MIME_DEPTH */
	MAIL_WARN_MIME_PARTS     = 1u << 5,   /* parts beyond LIMIT_MIME_PARTS */
	MAIL_WARN_BAD_ENCODING   = 1u << 6,   /* broken base64/quoted-printable */
	MAIL_WARN_BAD_CHARSET    = 1u << 7,   /* unknown charset or invalid bytes */
	MAIL_WARN_DATE           = 1u << 8,   /* an implausible date was skipped */
	MAIL_WARN_NO_HEADERS     = 1u << 9,   /* nothing parsed as a header */
	MAIL_WARN_UNPARSED       = 1u << 10,  /* the parser died or ran out of time on
					       * it: described by its session alone
					       * (pipeline/child.h) */
};

/* What a source knows beyond the message bytes. All fields optional. */
struct mail_context {
	bool have_ts;                  /* receive time known (trap, pcap) */
	int64_t ts;
	bool have_from_line;           /* mbox From_ line present */
	int64_t from_line_ts;          /* its date, when it parsed */
	bool from_line_ts_ok;
	const char *from_line_sender;  /* its sender word, e.g. MAILER-DAEMON */
	bool have_mtime;
	int64_t mtime;                 /* the file's mtime */
	const char *client_ip;         /* from the SMTP session */
	const char *helo;
	const char *envelope_from;
	const struct ip_cidr *trusted; /* --trusted ranges (operator relays) */
	size_t ntrusted;
	/* samples from a sandbox (learn): the topmost hop is the sandbox's own
	 * sink, whatever its address, so the client is the topmost hop that is
	 * not loopback; a public hop below it is the bot's forgery */
	bool sandbox;
};

#define MAIL_SCRATCH 5                 /* the walk's four, GMime's input */

struct filters;

struct mail_features {
	struct arena arena;            /* owns every string below */
	void *scan_fields;             /* internal: the header scan's array, reused */
	size_t scan_cap;
	struct buf scratch[MAIL_SCRATCH]; /* internal: text buffers, reused */
	void *parser;                  /* internal: GMime's parser, reused (one per
					* struct: threads each have their own) */
	void *rest;                    /* internal: the empty stream it rests on */
	struct filters *filters;       /* internal: GMime's decoders, reused */

	size_t size;                   /* bytes of the raw message */
	unsigned warnings;             /* enum mail_warning bits */

	int64_t ts;                    /* receive time, UTC seconds */
	enum mail_ts_source ts_source;

	const char *client_ip;         /* textual address, NULL when unknown */
	const char *helo;              /* HELO the client gave, as recorded */
	int client_hop;                /* Received: index (0 = top) it came from; -1 */
	const char *envelope_from;     /* Return-Path or From_ sender */

	const char *message_id;        /* "<...>" as written (unfolded, bounded) */
	const char *msgid_shape;       /* e.g. "<HEX8.DIGIT4@DOMAIN>" */
	const char *date_raw;          /* Date: header as written */
	const char *date_shape;        /* e.g. "Www, D Mmm YYYY HH:MM:SS +ZZZZ" */
	int64_t date_ts;               /* Date: parsed, 0 when not */
	const char *from_addr;         /* From: address, lower-cased */
	const char *from_domain;
	const char *subject;           /* RFC 2047 decoded, UTF-8 */
	const char *x_mailer;          /* X-Mailer or User-Agent */

	/* The sender's header names in order, '\n'-joined, as written (case
	 * kept). Receiving-side headers (delivery headers, the receiving hops'
	 * Received: lines, quarantine X-Spam-*) are left out: they are not the
	 * sending software's. */
	const char *header_order;
	unsigned nheaders;             /* sender header fields */
	const char **header_names;     /* the sender's fields: names as written */
	const char **header_values;    /* values unfolded, bounded to 256 bytes */
	const char **raw_values;       /* the same, bounded to 998 bytes (for decoding) */
	unsigned nreceived;            /* all Received: lines */
	unsigned sender_received;      /* Received: lines below the client hop */

	const char *content_type;      /* top-level "type/subtype" */
	const char *charset;           /* of the first text part, lower-cased */
	const char *mime_structure;    /* e.g. "multipart/alternative(text/plain,text/html)" */
	const char *boundary_shape;    /* top-level boundary, normalised */
	const char *transfer_encoding; /* of the first text part */
	unsigned mime_parts;

	const char *client_with;       /* the client hop's "with" protocol (ESMTP, SMTP, ...), or NULL */
	const char *body_text;         /* decoded text (HTML tags stripped), bounded */
	size_t body_text_len;

	const char **urls;             /* as found, bounded */
	const char **url_domains;      /* host of each URL, lower-cased */
	unsigned nurls;

};

/* mail_init: once per process, before any extract (initialises GMime).
 * Then threads may extract at once, each into its own struct mail_features. */
void mail_init(void);
void mail_shutdown(void);

void mail_features_init(struct mail_features *f);
/*
 * mail_features_extract: describe raw[0..len). Never fails: a message GMime
 * cannot parse still gets size, time, client and warnings. Returns true when
 * the message had at least one header field, false when nothing in it looks
 * like mail (the caller decides whether to store it).
 */
bool mail_features_extract(struct mail_features *f, const char *raw, size_t len,
			   const struct mail_context *ctx);
/* mail_features_recipients: the addresses in the last message's To: and
 * Cc: (groups counted by member); parsed on demand, valid as f is. */
unsigned mail_features_recipients(const struct mail_features *f);
void mail_features_free(struct mail_features *f);

/* mail_shape: the normalised shape of an identifier (Message-ID, boundary):
 * runs of digits become DIGITn, hex HEXn, letters ALPHAn (or UPPERn /
 * LOWERn), mixed ALNUMn; punctuation stays; a domain part becomes DOMAIN or
 * IP. Written into the arena. */
const char *mail_shape(struct arena *a, const char *s, size_t n, bool has_domain);
/* mail_date_shape: the shape of a Date: value, e.g. "Www, D Mmm YYYY HH:MM:SS +ZZZZ". */
const char *mail_date_shape(struct arena *a, const char *s);
/* mail_ts_source_name: "received", "from_line", ... */
const char *mail_ts_source_name(enum mail_ts_source s);
/* mail_warning_names: the set bits of w as "nul,long_header", in the arena. */
const char *mail_warning_names(struct arena *a, unsigned w);

/*
 * One parsed Received: line (exposed for tests): the from-name (HELO), the
 * connecting address, and the date after the last ';'.
 */
struct mail_received {
	char helo[256];
	char with[24];         /* the protocol after "with" (ESMTP, SMTP, ...), or "" */
	char ip[IP_TEXT_LEN];
	bool have_ip;
	int64_t ts;
	bool have_ts;
};
bool mail_parse_received(const char *value, size_t len, struct mail_received *out);
/* mail_parse_received_part: the same; the date only when want_date. */
bool mail_parse_received_part(const char *value, size_t len, bool want_date,
			      struct mail_received *out);

#endif
