/*
 * vector.c - the fingerprint vector of a message; see attrib.h.
 *
 * Kinds (docs/rules.md has the list with examples):
 *   header_order    the sender's header names in order, space-separated
 *   msgid_shape, date_shape, boundary_shape   from the mail module
 *   message_id      as written (for patterns; never constant, never learned)
 *   x_mailer, mime, charset, encoding         as the message has them ("" absent)
 *   helo_shape      the class of the HELO name
 *   greeting        "ehlo" or "helo": the session's, or the receiving hop's "with"
 *   from_shape, to_shape, url_shape, received_shape   coarse shapes
 *   header:NAME     the value of a sender field that software fixes
 *   dialect_id, dialect.KEY                   SMTP session facts
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attrib/attrib.h"
#include "attrib/kb_int.h"
#include "smtp/smtp.h"
#include "util/hash.h"
#include "util/ip.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define VECTOR_HEADER_FIELDS 40   /* header:NAME entries per message at most */

/*
 * How the client greeted: "ehlo" or "helo", from the receiving side's
 * "with" in the client hop's Received: line (ESMTP, ESMTPS, ESMTPSA,
 * UTF8SMTP: Postfix, Exim, Sendmail and the trap write it so), or from a
 * session's own greeting; NULL when neither says.
 */
static const char *greeting_of_with(const char *with)
{
	if (!with)
		return NULL;
	if (strncasecmp(with, "UTF8", 4) == 0)
		with += 4;
	if (strncasecmp(with, "ESMTP", 5) == 0)
		return "ehlo";
	if (strncasecmp(with, "SMTP", 4) == 0)
		return "helo";
	return NULL;
}

static const char *greeting_of_syntax(const char *syntax, size_t n)
{
	if (n >= 4 && strncasecmp(syntax, "ehlo", 4) == 0)
		return "ehlo";
	if (n >= 4 && strncasecmp(syntax, "helo", 4) == 0)
		return "helo";
	return NULL;
}

void attrib_vector_init(struct attrib_vector *v)
{
	memset(v, 0, sizeof(*v));
	arena_init(&v->arena, 8192);
}

void attrib_vector_reset(struct attrib_vector *v)
{
	arena_reset(&v->arena);
	v->n = 0;
	v->have_dialect = false;
	v->encrypted = false;
}

void attrib_vector_free(struct attrib_vector *v)
{
	arena_free(&v->arena);
	if (v->memo) {
		free(v->memo->seqs.s);
		pcre2_match_data_free(v->memo->md);
	}
	free(v->memo);
	free(v->f);
	memset(v, 0, sizeof(*v));
}

void attrib_vector_add(struct attrib_vector *v, const char *kind, const char *value)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->f = xreallocarray(v->f, v->cap, sizeof(*v->f));
	}
	v->f[v->n].kind = arena_strdup(&v->arena, kind);
	v->f[v->n].kind_hash = hash64(kind, strlen(kind), 0);
	v->f[v->n].value = arena_strdup(&v->arena, value ? value : "");
	v->f[v->n].value_hash = hash64(v->f[v->n].value, strlen(v->f[v->n].value), ATTRIB_VALUE_SEED);
	v->n++;
}

const struct attrib_feature *attrib_vector_find(const struct attrib_vector *v, const char *kind,
						uint64_t kind_hash)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (v->f[i].kind_hash == kind_hash && strcmp(v->f[i].kind, kind) == 0)
			return &v->f[i];
	return NULL;
}

const char *attrib_vector_lookup(const struct attrib_vector *v, const char *kind, uint64_t kind_hash)
{
	const struct attrib_feature *f = attrib_vector_find(v, kind, kind_hash);

	return f ? f->value : NULL;
}

const char *attrib_vector_value(const struct attrib_vector *v, const char *kind)
{
	return attrib_vector_lookup(v, kind, hash64(kind, strlen(kind), 0));
}

/* coarse shape: character classes without lengths, repeats collapsed */
static const char *coarse(struct arena *a, const char *s, size_t max)
{
	struct buf b = BUF_INIT;
	const char *last = "", *r;
	size_t i;

	for (i = 0; s[i] && b.len < max; ) {
		unsigned char c = (unsigned char)s[i];
		const char *cls;

		if (isalnum(c)) {
			bool digit = false, alpha = false, upper = false, lower = false, mixed = false;

			while (isalnum((unsigned char)s[i])) {
				unsigned char d = (unsigned char)s[i++];

				if (isdigit(d))
					digit = true;
				else
					mixed |= digit, alpha = true, upper |= isupper(d) != 0, lower |= islower(d) != 0;
			}
			/* a word then a number ("john42", a name with digits) is not
			 * a random mix of the two ("k3x9q2b7") */
			cls = digit && alpha ? (mixed || !isalpha(c) ? "X" : "a9") : digit ? "9" :
			      upper && lower ? "Aa" : upper ? "A" : "a";
			if (strcmp(cls, last) != 0)
				buf_addstr(&b, cls);
			last = cls;
			continue;
		}
		buf_addch(&b, c < 0x20 || c >= 0x7f ? '?' : (char)c);
		last = "";
		i++;
	}
	r = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return r;
}

static const char *field(const struct mail_features *f, const char *name)
{
	unsigned i;

	for (i = 0; i < f->nheaders; i++)
		if (strcasecmp(f->header_names[i], name) == 0)
			return f->header_values[i];
	return NULL;
}

/* an address field's form: quoting, brackets, classes of the local part */
static const char *address_shape(struct arena *a, const char *v)
{
	const char *lt, *at;
	struct buf b = BUF_INIT;
	const char *r;

	if (!v)
		return "";
	lt = strchr(v, '<');
	if (lt) {
		if (lt > v) {
			const char *p = v;

			while (p < lt && *p == ' ')
				p++;
			if (p < lt)
				buf_addstr(&b, *p == '"' ? "\"NAME\" " : "NAME ");
		}
		buf_addch(&b, '<');
		v = lt + 1;
	}
	at = strchr(v, '@');
	if (at) {
		char local[128];
		size_t n = (size_t)(at - v) < sizeof(local) - 1 ? (size_t)(at - v) : sizeof(local) - 1;

		memcpy(local, v, n);
		local[n] = '\0';
		buf_addstr(&b, coarse(a, local, 32));
		buf_addstr(&b, "@DOMAIN");
	} else {
		buf_addstr(&b, "NOADDR");
	}
	if (lt)
		buf_addch(&b, '>');
	if (strchr(v, ','))
		buf_addstr(&b, ",...");
	r = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return r;
}

static const char *url_shape(struct arena *a, const char *url)
{
	const char *p = strstr(url, "://"), *host, *path;
	struct buf b = BUF_INIT;
	struct ip_addr ip;
	char h[256];
	size_t n, dots = 0, i;
	const char *r;

	if (!url || !*url)
		return "";
	if (p) {
		buf_add(&b, url, (size_t)(p - url) + 3);
		host = p + 3;
	} else {
		host = url;
	}
	path = host + strcspn(host, "/?#");
	n = (size_t)(path - host) < sizeof(h) - 1 ? (size_t)(path - host) : sizeof(h) - 1;
	memcpy(h, host, n);
	h[n] = '\0';
	for (i = 0; i < n; i++)
		dots += h[i] == '.';
	if (ip_parse(h, &ip))
		buf_addstr(&b, "IP");
	else
		buf_printf(&b, "HOST%zu", dots + 1);
	buf_addstr(&b, coarse(a, path, 48));
	r = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return r;
}

/* fields whose value differs from message to message by nature */
static bool variable_field(const char *name)
{
	static const char *const names[] = {
		"Received", "Message-ID", "Date", "Subject", "From", "To", "Cc", "Bcc", "Reply-To",
		"Sender", "Content-Type", "References", "In-Reply-To", "Return-Path", "Thread-Index",
		"DKIM-Signature", "DomainKey-Signature", "Content-ID", "Content-Disposition",
		"Comments", "Keywords", "List-Unsubscribe", "X-Originating-IP",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* kind_of: prefix and s[0..n) into kind[size], cut as snprintf would cut
 * (a hot path: a message's every header and dialect fact is named so) */
static void kind_of(char *kind, size_t size, const char *prefix, const char *s, size_t n)
{
	size_t p = strlen(prefix);

	if (p >= size)
		p = size - 1;
	memcpy(kind, prefix, p);
	if (n > size - 1 - p)
		n = size - 1 - p;
	memcpy(kind + p, s, n);
	kind[p + n] = '\0';
}

void attrib_vector_build(struct attrib_vector *v, const struct mail_features *f,
			 const struct attrib_session *s)
{
	attrib_vector_reset(v);
	if (f && (!s || !s->encrypted)) {
		struct buf order = BUF_INIT;
		const char *p, *to;
		unsigned i, fields = 0;
		char kind[96];

		/* without Received: whether a bot's forged hop lies below the
		 * client hop or is taken for it depends on the route (a sandbox's
		 * private sink, a trap, a capture), not on the bot */
		for (p = f->header_order ? f->header_order : ""; *p; p = *to ? to + 1 : to) {
			to = strchr(p, '\n');
			if (!to)
				to = p + strlen(p);
			if ((size_t)(to - p) == 8 && strncasecmp(p, "Received", 8) == 0)
				continue;
			if (order.len)
				buf_addch(&order, ' ');
			buf_add(&order, p, (size_t)(to - p));
		}
		attrib_vector_add(v, "header_order", order.data);
		buf_free(&order);
		attrib_vector_add(v, "msgid_shape", f->msgid_shape);
		attrib_vector_add(v, "message_id", f->message_id);
		attrib_vector_add(v, "date_shape", f->date_shape);
		attrib_vector_add(v, "x_mailer", f->x_mailer);
		attrib_vector_add(v, "mime", f->mime_structure);
		attrib_vector_add(v, "boundary_shape", f->boundary_shape);
		attrib_vector_add(v, "charset", f->charset);
		attrib_vector_add(v, "encoding", f->transfer_encoding);
		attrib_vector_add(v, "from_shape", address_shape(&v->arena, field(f, "From")));
		to = field(f, "To");
		attrib_vector_add(v, "to_shape", address_shape(&v->arena, to));
		attrib_vector_add(v, "url_shape", f->nurls ? url_shape(&v->arena, f->urls[0]) : "");
		for (i = 0; i < f->nheaders; i++)
			if (strcasecmp(f->header_names[i], "Received") == 0) {
				const char *val = f->header_values[i], *semi = strrchr(val, ';');
				char *cut = arena_strndup(&v->arena, val, semi ? (size_t)(semi - val) : strlen(val));

				attrib_vector_add(v, "received_shape", coarse(&v->arena, cut, 160));
				break;
			}
		for (i = 0; i < f->nheaders && fields < VECTOR_HEADER_FIELDS; i++) {
			if (variable_field(f->header_names[i]))
				continue;
			kind_of(kind, sizeof(kind), "header:", f->header_names[i], strlen(f->header_names[i]));
			if (attrib_vector_value(v, kind))
				continue;
			attrib_vector_add(v, kind, f->header_values[i]);
			fields++;
		}
	}
	if (f && f->helo)
		attrib_vector_add(v, "helo_shape", smtp_helo_shape(f->helo, strlen(f->helo)));
	/* a session says how it greeted (below); a file, through the receiving
	 * hop's Received: line */
	if (f && !s && greeting_of_with(f->client_with))
		attrib_vector_add(v, "greeting", greeting_of_with(f->client_with));
	if (s) {
		v->encrypted = s->encrypted;
		attrib_vector_add_dialect(v, s->dialect_id, s->dialect_facts);
	}
}

void attrib_vector_add_dialect(struct attrib_vector *v, const char *dialect_id, const char *facts)
{
	const char *p = facts;

	if (dialect_id) {
		v->have_dialect = true;
		attrib_vector_add(v, "dialect_id", dialect_id);
	}
	while (p && *p) {
		const char *nl = strchr(p, '\n'), *eq;
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char kind[96];

		eq = memchr(p, '=', n);
		if (eq && (size_t)(eq - p) < sizeof(kind) - 9) {
			const char *g;

			kind_of(kind, sizeof(kind), "dialect.", p, (size_t)(eq - p));
			attrib_vector_add(v, kind, arena_strndup(&v->arena, eq + 1, n - (size_t)(eq - p) - 1));
			v->have_dialect = true;
			if ((size_t)(eq - p) == 11 && strncmp(p, "helo_syntax", 11) == 0 &&
			    (g = greeting_of_syntax(eq + 1, n - 12)) != NULL && !attrib_vector_value(v, "greeting"))
				attrib_vector_add(v, "greeting", g);
		}
		p += n + (nl ? 1 : 0);
	}
}

static void escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_addstr(out, "\\\\");
		else if (*s == '\t')
			buf_addstr(out, "\\t");
		else if (*s == '\n')
			buf_addstr(out, "\\n");
		else
			buf_addch(out, *s);
	}
}

void attrib_vector_serialize(const struct attrib_vector *v, struct buf *out)
{
	size_t i;

	buf_reset(out);
	if (v->encrypted)
		buf_addstr(out, "#encrypted\n");
	for (i = 0; i < v->n; i++) {
		/* the store keeps the dialect in columns of its own */
		if (strncmp(v->f[i].kind, "dialect", 7) == 0)
			continue;
		escape(out, v->f[i].kind);
		buf_addch(out, '\t');
		escape(out, v->f[i].value);
		buf_addch(out, '\n');
	}
}

static char *unescape(struct arena *a, const char *p, size_t n)
{
	char *out = arena_alloc(a, n + 1);
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			i++;
			out[o++] = p[i] == 't' ? '\t' : p[i] == 'n' ? '\n' : p[i];
		} else {
			out[o++] = p[i];
		}
	}
	out[o] = '\0';
	return out;
}

bool attrib_vector_parse(struct attrib_vector *v, const char *p, size_t n)
{
	const char *end = p + n;

	attrib_vector_reset(v);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *tab;
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (len == 10 && memcmp(p, "#encrypted", 10) == 0) {
			v->encrypted = true;
		} else if (len > 0) {
			tab = memchr(p, '\t', len);
			if (!tab)
				return false;
			{
				const char *kind = unescape(&v->arena, p, (size_t)(tab - p));
				const char *val = unescape(&v->arena, tab + 1, len - (size_t)(tab - p) - 1);

				attrib_vector_add(v, kind, val);
				if (strncmp(kind, "dialect", 7) == 0)
					v->have_dialect = true;
			}
		}
		p += len + 1;
	}
	return true;
}
