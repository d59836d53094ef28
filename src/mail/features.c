/*
 * features.c - describe one raw message; see features.h.
 *
 * Two passes: our own scan of the raw header block (names in order, the
 * Received: chain, raw values as the sender wrote them: GMime would refold
 * and decode them), then GMime for what needs MIME (structure, decoded text
 * in UTF-8, addresses, RFC 2047 subjects).
 */
#include <ctype.h>
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "mail/features.h"
#include "mail/text.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define PLAUSIBLE_FROM 788918400   /* 1995-01-01: before it, a date is forged or broken */
#define STRUCTURE_MAX 512          /* bytes of the MIME structure string */
#define VALUE_MAX 998              /* RFC 5322 line length: values kept as features */
#define HEADER_VALUE_MAX 256       /* per sender field, for fingerprints: quirks are short */

static GMimeParserOptions *parser_options;

static void filters_free(struct filters *fl);

/*
 * glibc unloads a charset's gconv module when its last descriptor closes,
 * and GMime opens and closes one per text part: a dlopen per message. One
 * descriptor held per charset seen keeps its module loaded.
 */
#define HELD_CHARSETS_MAX 48
static struct {
	char *name;
	iconv_t cd;
} held[HELD_CHARSETS_MAX];
static size_t nheld;
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

static void hold_charset(const char *charset)
{
	iconv_t cd;
	size_t i;

	/* held by the name the message gives (an alias of a charset held
	 * already holds its module again: harmless). GMime's own name for it
	 * comes from a cache GMime guards with a lock a thread sanitizer
	 * cannot see inside an uninstrumented GLib: only iconv_open reads it */
	pthread_mutex_lock(&held_mu);
	for (i = 0; i < nheld; i++)
		if (g_ascii_strcasecmp(held[i].name, charset) == 0)
			break;
	if (i == nheld && nheld < HELD_CHARSETS_MAX &&
	    (cd = iconv_open("UTF-8", g_mime_charset_iconv_name(charset))) != (iconv_t)-1) {
		held[nheld].name = xstrdup(charset);
		held[nheld++].cd = cd;
	}
	pthread_mutex_unlock(&held_mu);
}

/*
 * GObject makes a class the first time an object of it is made. GLib
 * guards that, but with atomics and locks a thread sanitizer cannot see
 * inside an uninstrumented GLib; one message of every kind of part,
 * parsed before any thread starts, makes them all here, once.
 */
static void warm_up(void)
{
	static const char sample[] =
		"Received: from a.example ([192.0.2.1]) by b.example with ESMTP; Tue, 15 Mar 2011 10:00:00 +0000\r\n"
		"From: \"A\" <a@example.com>\r\n"
		"To: friends: b@example.com, c@example.com;, d@example.com\r\n"
		"Cc: =?utf-8?B?w6k=?= <e@example.com>\r\n"
		"Subject: =?iso-8859-1?Q?caf=E9?=\r\n"
		"Message-ID: <1@example.com>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
		"--o\r\nContent-Type: multipart/alternative; boundary=\"i\"\r\n\r\n"
		"--i\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 http://a.example/\r\n"
		"--i\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		"PGI+aGk8L2I+\r\n--i--\r\n"
		"--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: f@example.com\r\nSubject: x\r\n\r\ny\r\n"
		"--o\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		"AAEC\r\n--o--\r\n";
	struct mail_features f;

	mail_features_init(&f);
	mail_features_extract(&f, sample, sizeof(sample) - 1, NULL);
	(void)mail_features_recipients(&f);
	mail_features_free(&f);
}

void mail_init(void)
{
	static const char *fallback[] = { "UTF-8", "windows-1252", NULL };

	if (parser_options)
		return;
	g_mime_init();
	parser_options = g_mime_parser_options_new();
	g_mime_parser_options_set_address_compliance_mode(parser_options,
							   GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(parser_options,
							     GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_rfc2047_compliance_mode(parser_options,
							   GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(parser_options, TRUE);
	g_mime_parser_options_set_fallback_charsets(parser_options, fallback);
	text_init();
	warm_up();
}

void mail_shutdown(void)
{
	if (!parser_options)
		return;
	g_mime_parser_options_free(parser_options);
	parser_options = NULL;
	while (nheld > 0) {
		nheld--;
		iconv_close(held[nheld].cd);
		free(held[nheld].name);
	}
	g_mime_shutdown();
}

void mail_features_init(struct mail_features *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	arena_init(&f->arena, 64 * 1024);
	for (i = 0; i < MAIL_SCRATCH; i++)
		buf_init(&f->scratch[i]);
}

void mail_features_free(struct mail_features *f)
{
	int i;

	arena_free(&f->arena);
	free(f->scan_fields);
	if (f->parser)
		g_object_unref(f->parser);
	if (f->rest)
		g_object_unref(f->rest);
	filters_free(f->filters);
	for (i = 0; i < MAIL_SCRATCH; i++)
		buf_free(&f->scratch[i]);
	memset(f, 0, sizeof(*f));
}

const char *mail_ts_source_name(enum mail_ts_source s)
{
	static const char *const names[] = { "session", "received", "from_line", "date",
					     "mtime", "none" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *mail_warning_names(struct arena *a, unsigned w)
{
	static const char *const names[] = { "nul", "headers_only", "long_header",
					     "many_headers", "mime_depth", "mime_parts",
					     "bad_encoding", "bad_charset", "date", "no_headers",
					     "unparsed" };
	struct buf b = BUF_INIT;
	const char *r;
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (w & (1u << i))
			buf_printf(&b, "%s%s", b.len ? "," : "", names[i]);
	r = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return r;
}

/* ---- the raw header block ---- */

struct field {
	const char *name;
	size_t name_len;
	const char *value;     /* raw, from after the colon to the end of the field */
	size_t value_len;
};

struct header_scan {
	struct field *fields;
	size_t count, cap;
	size_t body_offset;    /* where the body starts (len if none) */
	bool have_body;
};

static size_t line_end(const char *p, size_t i, size_t len)
{
	const char *nl = memchr(p + i, '\n', len - i);

	return nl ? (size_t)(nl - p) + 1 : len;
}

static bool blank_line(const char *p, size_t i, size_t end)
{
	return end - i == 1 || (end - i == 2 && p[i] == '\r');
}

static void scan_headers(const char *raw, size_t len, struct header_scan *hs,
			 unsigned *warnings)
{
	size_t i = 0, max = (size_t)limit(LIMIT_HEADER_COUNT);
	size_t maxline = (size_t)limit(LIMIT_HEADER_LINE);

	hs->count = 0;
	hs->have_body = false;
	while (i < len) {
		size_t e = line_end(raw, i, len), n = 0;
		struct field *f;

		if (blank_line(raw, i, e)) {
			hs->body_offset = e;
			hs->have_body = true;
			return;
		}
		if (raw[i] == ' ' || raw[i] == '\t') {      /* continuation */
			if (hs->count > 0 && hs->count <= max) {
				f = &hs->fields[hs->count - 1];
				f->value_len = e - (size_t)(f->value - raw);
			}
			i = e;
			continue;
		}
		while (i + n < e && raw[i + n] != ':' && raw[i + n] > 0x20 && raw[i + n] < 0x7f)
			n++;
		if (n == 0 || i + n >= e || raw[i + n] != ':') {
			/* not a field: the header block ends here, as GMime sees it */
			hs->body_offset = i;
			hs->have_body = true;
			return;
		}
		if (hs->count >= max) {
			*warnings |= MAIL_WARN_MANY_HEADERS;
			hs->count = max + 1;       /* remember we went past */
			i = e;
			continue;
		}
		if (hs->count == hs->cap) {
			hs->cap = hs->cap ? hs->cap * 2 : 64;
			hs->fields = xreallocarray(hs->fields, hs->cap, sizeof(*hs->fields));
		}
		f = &hs->fields[hs->count++];
		f->name = raw + i;
		f->name_len = n;
		f->value = raw + i + n + 1;
		f->value_len = e - (i + n + 1);
		if (e - i > maxline)
			*warnings |= MAIL_WARN_LONG_HEADER;
		i = e;
	}
	hs->body_offset = len;
}

static size_t field_count(const struct header_scan *hs)
{
	size_t max = (size_t)limit(LIMIT_HEADER_COUNT);

	return hs->count > max ? max : hs->count;
}

static bool name_is(const struct field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

/* the value unfolded and trimmed, bounded, into the arena */
static const char *unfold(struct arena *a, const char *v, size_t n, size_t max)
{
	char *out = arena_alloc(a, (n < max ? n : max) + 1);
	size_t i, o = 0;
	bool space = true;

	for (i = 0; i < n && o < max; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
		space = false;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/*
 * Header fields the receiving side adds wherever it likes (delivery,
 * quarantine, mail readers): never the sending software's.
 */
static bool receiver_field(const struct field *f)
{
	static const char *const exact[] = {
		"return-path", "delivered-to", "x-original-to", "envelope-to", "received-spf",
		"authentication-results", "status", "x-status", "x-keywords", "x-uid",
		"content-length", "lines", "x-greylist", "x-virus-scanned", "x-scanned-by",
		"x-sieve", "x-spam", "x-evolution-source", "x-account-key", "x-uidl",
		"x-rcpt-to", "x-original-sender", "x-gmail-labels", "x-gm-thrid",
		"x-original-arrival-time",
	};
	static const char *const prefix[] = {
		"x-spam-", "x-virus-", "x-amavis-", "x-quarantine-", "x-mozilla-", "x-spamtide-",
		"x-ms-exchange-organization-", "arc-", "x-envelope-", "x-brightmail-",
		"x-cloudmark-", "x-barracuda-", "x-ironport-", "x-proofpoint-", "x-razor-",
		"x-dspam-", "x-bogosity", "x-filter-", "x-asg-",
	};
	char name[64];
	size_t i, n = f->name_len;

	if (n >= sizeof(name))
		return false;
	for (i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)f->name[i]);
	name[n] = '\0';
	/* every name in the lists starts with one of these letters */
	if (!strchr("rdxeaslc", name[0]))
		return false;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (name[0] == exact[i][0] && strcmp(name, exact[i]) == 0)
			return true;
	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (name[0] == prefix[i][0] && strncmp(name, prefix[i], strlen(prefix[i])) == 0)
			return true;
	return false;
}

static bool plausible(int64_t t, const struct mail_context *ctx)
{
	if (t < PLAUSIBLE_FROM)
		return false;
	if (ctx && ctx->have_mtime && t > ctx->mtime + 86400)
		return false;
	return true;
}

static bool trusted_ip(const struct mail_context *ctx, const struct ip_addr *a)
{
	size_t i;

	for (i = 0; ctx && i < ctx->ntrusted; i++)
		if (ip_cidr_contains(&ctx->trusted[i], a))
			return true;
	return false;
}

/* the Received: chain: time, client hop, and which fields are the sender's */
static size_t read_received(struct mail_features *f, const struct header_scan *hs,
			    const struct mail_context *ctx, bool *time_found)
{
	size_t nf = field_count(hs), i, nrec = 0, maxrec = (size_t)limit(LIMIT_RECEIVED);
	size_t client_field = (size_t)-1, fallback_field = (size_t)-1;
	int fallback_hop = -1;
	struct mail_received r;
	struct ip_addr a;
	bool want_ts = !(ctx && ctx->have_ts);

	f->client_hop = -1;
	for (i = 0; i < nf && nrec < maxrec; i++) {
		const struct field *fl = &hs->fields[i];

		if (!name_is(fl, "Received"))
			continue;
		mail_parse_received_part(fl->value, fl->value_len, want_ts && !*time_found, &r);
		if (want_ts && !*time_found && r.have_ts) {
			if (plausible(r.ts, ctx)) {
				f->ts = r.ts;
				f->ts_source = MAIL_TS_RECEIVED;
				*time_found = true;
			} else {
				f->warnings |= MAIL_WARN_DATE;
			}
		}
		if (r.have_ip && ip_parse(r.ip, &a)) {
			if (ctx && ctx->client_ip) {
				if (client_field == (size_t)-1 && strcmp(ctx->client_ip, r.ip) == 0) {
					client_field = i;
					f->client_hop = (int)nrec;
				}
			} else if (client_field == (size_t)-1 &&
				   (ctx && ctx->sandbox ? !ip_is_loopback(&a) :
				    !ip_is_local(&a) && !trusted_ip(ctx, &a))) {
				client_field = i;
				f->client_hop = (int)nrec;
				f->client_ip = arena_strdup(&f->arena, r.ip);
				f->helo = r.helo[0] ? arena_strdup(&f->arena, r.helo) : NULL;
				f->client_with = r.with[0] ? arena_strdup(&f->arena, r.with) : NULL;
			} else if (fallback_field == (size_t)-1 && !ip_is_loopback(&a)) {
				fallback_field = i;
				fallback_hop = (int)nrec;
				if (!f->client_ip) {
					/* kept only if no external hop turns up */
					f->client_ip = arena_strdup(&f->arena, r.ip);
					f->helo = r.helo[0] ? arena_strdup(&f->arena, r.helo) : NULL;
					f->client_with = r.with[0] ? arena_strdup(&f->arena, r.with) : NULL;
				}
			}
		}
		nrec++;
		/* client and time known: the hops below are only counted */
		if (client_field != (size_t)-1 && (!want_ts || *time_found)) {
			i++;
			break;
		}
	}
	for (; i < nf; i++)
		if (name_is(&hs->fields[i], "Received"))
			nrec++;
	f->nreceived = (unsigned)nrec;
	if (client_field == (size_t)-1 && fallback_field != (size_t)-1 && !(ctx && ctx->client_ip)) {
		client_field = fallback_field;
		f->client_hop = fallback_hop;
	}
	return client_field;
}

static void read_sender_fields(struct mail_features *f, const struct header_scan *hs,
			       size_t client_field)
{
	size_t nf = field_count(hs), i, start = client_field == (size_t)-1 ? 0 : client_field + 1;
	struct buf order = BUF_INIT;
	size_t vmax = (size_t)limit(LIMIT_HEADER_LINE);

	if (vmax > VALUE_MAX)
		vmax = VALUE_MAX;
	f->header_names = arena_alloc(&f->arena, sizeof(char *) * (nf + 1));
	f->header_values = arena_alloc(&f->arena, sizeof(char *) * (nf + 1));
	f->raw_values = arena_alloc(&f->arena, sizeof(char *) * (nf + 1));
	for (i = 0; i < nf; i++) {
		const struct field *fl = &hs->fields[i];

		if (name_is(fl, "Return-Path") && !f->envelope_from)
			f->envelope_from = unfold(&f->arena, fl->value, fl->value_len, vmax);
		if (i < start || receiver_field(fl))
			continue;
		if (order.len < 4096) {
			if (order.len)
				buf_addch(&order, '\n');
			buf_add(&order, fl->name, fl->name_len);
		}
		f->header_names[f->nheaders] = arena_strndup(&f->arena, fl->name, fl->name_len);
		f->raw_values[f->nheaders] = unfold(&f->arena, fl->value, fl->value_len, vmax);
		f->header_values[f->nheaders] = strlen(f->raw_values[f->nheaders]) <= HEADER_VALUE_MAX ?
						f->raw_values[f->nheaders] :
						arena_strndup(&f->arena, f->raw_values[f->nheaders],
							      HEADER_VALUE_MAX);
		f->nheaders++;
		if (name_is(fl, "Received"))
			f->sender_received++;
		else if (name_is(fl, "Message-ID") && !f->message_id)
			f->message_id = unfold(&f->arena, fl->value, fl->value_len, vmax);
		else if (name_is(fl, "Date") && !f->date_raw)
			f->date_raw = unfold(&f->arena, fl->value, fl->value_len, vmax);
		else if ((name_is(fl, "X-Mailer") || name_is(fl, "User-Agent")) && !f->x_mailer)
			f->x_mailer = unfold(&f->arena, fl->value, fl->value_len, vmax);
	}
	f->header_order = arena_strndup(&f->arena, order.data, order.len);
	buf_free(&order);
}

/* ---- MIME, through GMime ---- */

struct walk {
	struct mail_features *f;
	struct buf structure;
	struct buf plain;          /* text/plain, decoded */
	struct buf html;           /* text/html, visible text */
	struct buf raw_text;       /* scratch: one decoded part */
	int max_depth;
	unsigned max_parts;
	size_t max_text;
	bool first_text_seen;
};

struct url_sink {
	struct text_url_sink base;
	struct mail_features *f;
};

/* f->urls and f->url_domains have room for LIMIT_URLS entries */
static void url_add(struct text_url_sink *s, const char *url, size_t len, const char *host)
{
	struct mail_features *f = ((struct url_sink *)s)->f;

	if (f->nurls >= s->max)
		return;
	f->urls[f->nurls] = unfold(&f->arena, url, len, 512);
	f->url_domains[f->nurls] = arena_strdup(&f->arena, host);
	f->nurls++;
}

static unsigned url_count(struct text_url_sink *s)
{
	return ((struct url_sink *)s)->f->nurls;
}

static bool encoding_broken(GMimeDataWrapper *content)
{
	GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(content);
	GMimeStream *raw = g_mime_data_wrapper_get_stream(content);
	char chunk[4096];
	ssize_t n, i;
	gint64 pos;

	if (enc != GMIME_CONTENT_ENCODING_BASE64 && enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
		return false;
	pos = g_mime_stream_tell(raw);
	g_mime_stream_reset(raw);
	n = g_mime_stream_read(raw, chunk, sizeof(chunk));
	g_mime_stream_seek(raw, pos, GMIME_STREAM_SEEK_SET);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)chunk[i];

		if (enc == GMIME_CONTENT_ENCODING_BASE64) {
			if (!isalnum(c) && c != '+' && c != '/' && c != '=' && !isspace(c))
				return true;
		} else if (c == '=' && i + 2 < n && chunk[i + 1] != '\r' && chunk[i + 1] != '\n' &&
			   (!isxdigit((unsigned char)chunk[i + 1]) ||
			    !isxdigit((unsigned char)chunk[i + 2]))) {
			return true;
		}
	}
	return false;
}

/*
 * GMime's decoding filters, kept for the next part (one set per features
 * struct, so per thread) and reset before each use: made and freed per
 * text part, with the filter stream that ran them, they were three of the
 * objects a message cost GObject.
 */
#define KEPT_CHARSETS 16

struct filters {
	GMimeFilter *dec[3];            /* base64, quoted-printable, uuencode */
	struct {
		char *charset;
		GMimeFilter *conv;
	} cs[KEPT_CHARSETS];
	size_t ncs, next;               /* the slot to reuse once all are taken */
};

static void filters_free(struct filters *fl)
{
	size_t i;

	if (!fl)
		return;
	for (i = 0; i < 3; i++)
		if (fl->dec[i])
			g_object_unref(fl->dec[i]);
	for (i = 0; i < fl->ncs; i++) {
		free(fl->cs[i].charset);
		g_object_unref(fl->cs[i].conv);
	}
	free(fl);
}

static GMimeFilter *decoder(struct filters *fl, GMimeContentEncoding enc)
{
	int i = enc == GMIME_CONTENT_ENCODING_BASE64 ? 0 : enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ? 1 :
		enc == GMIME_CONTENT_ENCODING_UUENCODE ? 2 : -1;

	if (i < 0)
		return NULL;
	if (!fl->dec[i])
		fl->dec[i] = g_mime_filter_basic_new(enc, FALSE);
	g_mime_filter_reset(fl->dec[i]);
	return fl->dec[i];
}

/* the filter from charset to UTF-8; NULL when iconv does not know it */
static GMimeFilter *converter(struct filters *fl, const char *charset)
{
	GMimeFilter *conv;
	size_t i;

	for (i = 0; i < fl->ncs; i++)
		if (g_ascii_strcasecmp(fl->cs[i].charset, charset) == 0) {
			g_mime_filter_reset(fl->cs[i].conv);
			return fl->cs[i].conv;
		}
	hold_charset(charset);
	if (!(conv = g_mime_filter_charset_new(charset, "UTF-8")))
		return NULL;
	if (fl->ncs < KEPT_CHARSETS) {
		i = fl->ncs++;
	} else {
		i = fl->next;
		fl->next = (fl->next + 1) % KEPT_CHARSETS;
		free(fl->cs[i].charset);
		g_object_unref(fl->cs[i].conv);
	}
	fl->cs[i].charset = xstrdup(charset);
	fl->cs[i].conv = conv;
	return conv;
}

/* the bytes of raw through the filters of chain[0..n), in order, into out
 * up to window bytes: what a GMimeStreamFilter would read */
static void filter_into(struct buf *out, size_t window, GMimeStream *raw, GMimeFilter *const *chain, int n)
{
	char in[4096];

	while (out->len < window) {
		ssize_t got = g_mime_stream_read(raw, in, sizeof(in));
		char *p = in;
		size_t len = got > 0 ? (size_t)got : 0, pre = 0;
		int i;

		for (i = 0; i < n; i++) {
			if (got > 0)
				g_mime_filter_filter(chain[i], p, len, pre, &p, &len, &pre);
			else   /* the end: each filter lets go of what it held */
				g_mime_filter_complete(chain[i], p, len, pre, &p, &len, &pre);
		}
		buf_add(out, p, len < window - out->len ? len : window - out->len);
		if (got <= 0)
			break;
	}
}

/*
 * Decode the opening of one text part into w->raw_text as UTF-8: the
 * encoded bytes are pulled through GMime's transfer-encoding and charset
 * filters only as far as the window (2 × LIMIT_BODY_TEXT: links are looked
 * for there, text kept from its first half), so a long part costs no
 * more than a short one.
 */
static void decode_text(struct walk *w, GMimePart *part, const char *charset)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *raw;
	GMimeFilter *chain[2];
	size_t window = 2 * w->max_text;
	const char *end;
	bool converted = false;
	int nf = 0;

	buf_reset(&w->raw_text);
	if (!content || !(raw = g_mime_data_wrapper_get_stream(content)))
		return;
	if (encoding_broken(content))
		w->f->warnings |= MAIL_WARN_BAD_ENCODING;
	g_mime_stream_reset(raw);
	if (!w->f->filters)
		w->f->filters = xcalloc(1, sizeof(struct filters));
	if ((chain[nf] = decoder(w->f->filters, g_mime_data_wrapper_get_encoding(content))) != NULL)
		nf++;
	if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
	    g_ascii_strcasecmp(charset, "us-ascii") != 0) {
		if ((chain[nf] = converter(w->f->filters, charset)) != NULL) {
			nf++;
			converted = true;
		} else {
			w->f->warnings |= MAIL_WARN_BAD_CHARSET;
		}
	}
	buf_grow(&w->raw_text, window);
	filter_into(&w->raw_text, window, raw, chain, nf);

	/* iconv's output is UTF-8 already; text taken as is must be checked */
	if (w->raw_text.len && !converted &&
	    !g_utf8_validate(w->raw_text.data, (gssize)w->raw_text.len, &end)) {
		gchar *valid = NULL;
		size_t n = w->raw_text.len;

		/* a cut in the middle of a character is not a broken charset */
		if ((size_t)(end - w->raw_text.data) + 4 < n) {
			w->f->warnings |= MAIL_WARN_BAD_CHARSET;
			/* 8-bit text declared ASCII or UTF-8 is most often Windows-1252 */
			valid = g_convert(w->raw_text.data, (gssize)n, "UTF-8", "WINDOWS-1252", NULL,
					  NULL, NULL);
		}
		if (!valid)
			valid = g_utf8_make_valid(w->raw_text.data, (gssize)n);
		buf_reset(&w->raw_text);
		buf_addstr(&w->raw_text, valid);
		g_free(valid);
	}
}

static void structure_add(struct walk *w, const char *s)
{
	if (w->structure.len < STRUCTURE_MAX)
		buf_addstr(&w->structure, s);
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth);

static void walk_part(struct walk *w, GMimePart *part, GMimeContentType *ct)
{
	const char *type = g_mime_content_type_get_media_type(ct);
	const char *sub = g_mime_content_type_get_media_subtype(ct);
	const char *charset = g_mime_content_type_get_parameter(ct, "charset");
	struct mail_features *f = w->f;
	bool html;

	if (!type || g_ascii_strcasecmp(type, "text") != 0 || !sub)
		return;
	html = g_ascii_strcasecmp(sub, "html") == 0;
	if (!html && g_ascii_strcasecmp(sub, "plain") != 0)
		return;
	if (!w->first_text_seen) {
		GMimeContentEncoding enc = g_mime_part_get_content_encoding(part);

		w->first_text_seen = true;
		if (charset)
			f->charset = arena_strdup(&f->arena, charset);
		f->transfer_encoding = arena_strdup(&f->arena,
			enc == GMIME_CONTENT_ENCODING_DEFAULT ? "7bit" :
			g_mime_content_encoding_to_string(enc));
	}
	if (w->plain.len + w->html.len >= w->max_text && f->nurls >= (unsigned)limit(LIMIT_URLS))
		return;
	decode_text(w, part, charset);
	{
		struct url_sink sink = { { url_add, url_count, (unsigned)limit(LIMIT_URLS) }, f };

		text_find_urls(w->raw_text.data, w->raw_text.len, &sink.base);
	}
	if (html)
		text_strip_html(&w->html, w->raw_text.data, w->raw_text.len, w->max_text);
	else if (w->plain.len < w->max_text)
		buf_add(&w->plain, w->raw_text.data,
			w->raw_text.len < w->max_text - w->plain.len ? w->raw_text.len
								       : w->max_text - w->plain.len);
	buf_addch(html ? &w->html : &w->plain, ' ');
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	struct mail_features *f = w->f;
	char type[128];

	if (depth > w->max_depth) {
		f->warnings |= MAIL_WARN_MIME_DEPTH;
		return;
	}
	if (f->mime_parts >= w->max_parts) {
		f->warnings |= MAIL_WARN_MIME_PARTS;
		return;
	}
	f->mime_parts++;
	snprintf(type, sizeof(type), "%s/%s",
		 ct && g_mime_content_type_get_media_type(ct) ? g_mime_content_type_get_media_type(ct) : "text",
		 ct && g_mime_content_type_get_media_subtype(ct) ? g_mime_content_type_get_media_subtype(ct) : "plain");
	for (char *c = type; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (w->structure.len && w->structure.data[w->structure.len - 1] != '(')
		structure_add(w, ",");
	structure_add(w, type);

	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int i, n = g_mime_multipart_get_count(mp);

		structure_add(w, "(");
		for (i = 0; i < n; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1);
		structure_add(w, ")");
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		GMimeObject *body = inner ? g_mime_message_get_mime_part(inner) : NULL;

		if (body) {
			structure_add(w, "(");
			walk_object(w, body, depth + 1);
			structure_add(w, ")");
		}
	} else if (GMIME_IS_PART(obj) && ct) {
		walk_part(w, GMIME_PART(obj), ct);
	}
}

static unsigned count_addresses(InternetAddressList *list)
{
	unsigned n = 0;
	int i, len;

	if (!list)
		return 0;
	len = internet_address_list_length(list);
	for (i = 0; i < len; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_GROUP(a))
			n += count_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
		else
			n++;
	}
	return n;
}

/* a sender field's raw value (unfolded, bounded): Subject, From, To, Cc */
static const char *sender_field(const struct mail_features *f, const char *name)
{
	unsigned i;

	for (i = 0; i < f->nheaders; i++)
		if (strcasecmp(f->header_names[i], name) == 0)
			return f->raw_values[i];
	return NULL;
}

static void read_addresses(struct mail_features *f)
{
	const char *v;
	InternetAddressList *l;

	if ((v = sender_field(f, "From")) && (l = internet_address_list_parse(parser_options, v))) {
		if (internet_address_list_length(l) > 0) {
			InternetAddress *a = internet_address_list_get_address(l, 0);

			if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
				const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));

				if (addr && *addr) {
					char *lc = (char *)unfold(&f->arena, addr, strlen(addr), 320);
					char *at;

					for (char *c = lc; *c; c++)
						*c = (char)tolower((unsigned char)*c);
					f->from_addr = lc;
					at = strrchr(lc, '@');
					if (at && at[1])
						f->from_domain = at + 1;
				}
			}
		}
		g_object_unref(l);
	}
}

/* parsed only when asked: classify never needs it, a trap's session knows */
unsigned mail_features_recipients(const struct mail_features *f)
{
	static const char *const fields[] = { "To", "Cc" };
	unsigned n = 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *v = sender_field(f, fields[i]);
		InternetAddressList *l;

		if (v && (l = internet_address_list_parse(parser_options, v))) {
			n += count_addresses(l);
			g_object_unref(l);
		}
	}
	return n;
}

/*
 * What GMime is given: the top-level fields that shape the MIME tree
 * (Content-*), then the body. The others are read from the raw scan; given
 * to GMime they would each cost it a header object, made and freed: a
 * quarter of the time of a short captured message.
 */
static void mime_input(struct buf *in, const char *raw, size_t len,
		       const struct header_scan *hs)
{
	size_t i, n = field_count(hs);

	buf_reset(in);
	for (i = 0; i < n; i++) {
		const struct field *fl = &hs->fields[i];

		if (fl->name_len > 8 && strncasecmp(fl->name, "Content-", 8) == 0)
			buf_add(in, fl->name, (size_t)(fl->value + fl->value_len - fl->name));
	}
	buf_add(in, "\n", 1);
	if (hs->body_offset < len)
		buf_add(in, raw + hs->body_offset, len - hs->body_offset);
}

/*
 * The MIME tree through GMime: the message is parsed as a part (its
 * headers are the top-level entity's), which skips the message-level
 * header processing we do not need; Subject and addresses are decoded from
 * the raw fields with GMime's decoders.
 */
static void read_mime(struct mail_features *f, const char *raw, size_t len,
		      const struct header_scan *hs)
{
	struct buf *in = &f->scratch[4];
	GByteArray *bytes;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeObject *body;
	struct walk w;
	const char *s;

	mime_input(in, raw, len, hs);
	/* GMime reads our bytes in place: the array wraps them and is released
	 * without freeing them (g_byte_array_free(..., FALSE)) */
	bytes = g_byte_array_new_take((guint8 *)in->data, in->len);
	stream = g_mime_stream_mem_new_with_byte_array(bytes);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	if (!f->parser) {
		f->parser = g_mime_parser_new();
		f->rest = g_mime_stream_mem_new();
	}
	parser = f->parser;
	g_mime_parser_init_with_stream(parser, stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	body = g_mime_parser_construct_part(parser, parser_options);
	g_object_unref(stream);

	if ((s = sender_field(f, "Subject")) != NULL) {
		char *dec = g_mime_utils_header_decode_text(parser_options, s);
		gchar *valid = g_utf8_make_valid(dec ? dec : s, -1);

		f->subject = unfold(&f->arena, valid, strlen(valid), VALUE_MAX);
		g_free(valid);
		g_free(dec);
	}
	read_addresses(f);

	if (body) {
		GMimeContentType *ct = g_mime_object_get_content_type(body);

		memset(&w, 0, sizeof(w));
		w.f = f;
		/* the text buffers are the features', reused message after message */
		w.structure = f->scratch[0];
		w.plain = f->scratch[1];
		w.html = f->scratch[2];
		w.raw_text = f->scratch[3];
		buf_reset(&w.structure);
		buf_reset(&w.plain);
		buf_reset(&w.html);
		buf_reset(&w.raw_text);
		w.max_depth = (int)limit(LIMIT_MIME_DEPTH);
		w.max_parts = (unsigned)limit(LIMIT_MIME_PARTS);
		w.max_text = (size_t)limit(LIMIT_BODY_TEXT);
		f->urls = arena_alloc(&f->arena, sizeof(char *) * (size_t)limit(LIMIT_URLS));
		f->url_domains = arena_alloc(&f->arena, sizeof(char *) * (size_t)limit(LIMIT_URLS));
		if (ct) {
			char *mt = g_mime_content_type_get_mime_type(ct);

			for (char *c = mt; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			f->content_type = arena_strdup(&f->arena, mt);
			g_free(mt);
		}
		if (GMIME_IS_MULTIPART(body) && ct) {
			/* the parameter as parsed: g_mime_multipart_get_boundary
			 * makes one up when there is none and re-encodes the
			 * header, which on some hostile parameter lists grows
			 * without bound (a 224-byte message asked for 4 GB;
			 * tests/data/mail/boundary-encode.eml) */
			const char *b = g_mime_content_type_get_parameter(ct, "boundary");

			if (b)
				f->boundary_shape = mail_shape(&f->arena, b, strlen(b), false);
		}
		walk_object(&w, body, 0);
		f->mime_structure = arena_strndup(&f->arena, w.structure.data, w.structure.len);
		{
			struct buf *text = w.plain.len ? &w.plain : &w.html;

			text_squeeze(text);
			f->body_text = arena_strndup(&f->arena, text->data, text->len);
			f->body_text_len = text->len;
		}
		f->scratch[0] = w.structure;
		f->scratch[1] = w.plain;
		f->scratch[2] = w.html;
		f->scratch[3] = w.raw_text;
		g_object_unref(body);
	}
	/* the parts read the stream lazily: the bytes stay until they are gone;
	 * then the parser lets go of the stream for an empty one */
	g_mime_parser_init_with_stream(parser, f->rest);
	g_byte_array_free(bytes, FALSE);
}

bool mail_features_extract(struct mail_features *f, const char *raw, size_t len,
			   const struct mail_context *ctx)
{
	struct arena keep = f->arena;
	void *fields = f->scan_fields;
	size_t fields_cap = f->scan_cap;
	void *parser = f->parser, *rest = f->rest;
	struct filters *filters = f->filters;
	struct buf scratch[MAIL_SCRATCH];

	memcpy(scratch, f->scratch, sizeof(scratch));
	struct header_scan hs = { fields, 0, fields_cap, 0, false };
	size_t client_field;
	bool time_found = false;

	arena_reset(&keep);
	memset(f, 0, sizeof(*f));
	f->arena = keep;
	f->scan_fields = fields;
	f->scan_cap = fields_cap;
	f->parser = parser;
	f->rest = rest;
	f->filters = filters;
	memcpy(f->scratch, scratch, sizeof(scratch));
	f->size = len;
	f->client_hop = -1;
	f->ts_source = MAIL_TS_NONE;
	if (memchr(raw, '\0', len))
		f->warnings |= MAIL_WARN_NUL;

	scan_headers(raw, len, &hs, &f->warnings);
	if (ctx && ctx->have_ts) {
		f->ts = ctx->ts;
		f->ts_source = MAIL_TS_SESSION;
		time_found = true;
	}
	client_field = read_received(f, &hs, ctx, &time_found);
	if (ctx && ctx->client_ip) {
		f->client_ip = arena_strdup(&f->arena, ctx->client_ip);
		f->helo = ctx->helo ? arena_strdup(&f->arena, ctx->helo) : NULL;
	}
	read_sender_fields(f, &hs, client_field);
	if (ctx && ctx->envelope_from)
		f->envelope_from = arena_strdup(&f->arena, ctx->envelope_from);
	else if (!f->envelope_from && ctx && ctx->from_line_sender)
		f->envelope_from = arena_strdup(&f->arena, ctx->from_line_sender);

	if (f->message_id) {
		const char *lt = strchr(f->message_id, '<'), *gt;
		const char *id = lt ? lt : f->message_id;

		gt = strchr(id, '>');
		f->msgid_shape = mail_shape(&f->arena, id, gt ? (size_t)(gt - id + 1) : strlen(id), true);
	}
	if (f->date_raw) {
		f->date_shape = mail_date_shape(&f->arena, f->date_raw);
		if (!time_parse_mail(f->date_raw, &f->date_ts))
			f->date_ts = 0;
	}

	/* receive time: Received:, then From_ line, then Date:, then mtime */
	if (!time_found && ctx && ctx->have_from_line && ctx->from_line_ts_ok) {
		if (plausible(ctx->from_line_ts, ctx)) {
			f->ts = ctx->from_line_ts;
			f->ts_source = MAIL_TS_FROM_LINE;
			time_found = true;
		} else {
			f->warnings |= MAIL_WARN_DATE;
		}
	}
	if (!time_found && f->date_ts) {
		if (plausible(f->date_ts, ctx)) {
			f->ts = f->date_ts;
			f->ts_source = MAIL_TS_DATE;
			time_found = true;
		} else {
			f->warnings |= MAIL_WARN_DATE;
		}
	}
	if (!time_found && ctx && ctx->have_mtime) {
		f->ts = ctx->mtime;
		f->ts_source = MAIL_TS_MTIME;
		time_found = true;
	}

	if (!hs.have_body || hs.body_offset >= len)
		f->warnings |= MAIL_WARN_HEADERS_ONLY;
	if (field_count(&hs) == 0)
		f->warnings |= MAIL_WARN_NO_HEADERS;
	else
		read_mime(f, raw, len, &hs);
	f->scan_fields = hs.fields;    /* kept for the next message */
	f->scan_cap = hs.cap;
	return field_count(&hs) > 0;
}
