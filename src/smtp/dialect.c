/*
 * dialect.c - the dialect recorder: how a client speaks SMTP, normalised
 * into facts and an id (see smtp.h and docs/dialect.md).
 *
 * session.c reports what it sees (lines, verbs, the first HELO, MAIL and
 * RCPT lines, pipelining, line ends); this file keeps the lines (bounded
 * by LIMIT_SMTP_DIALECT_LINES x LIMIT_SMTP_LINE), turns the first
 * commands into shapes with everything per-session taken out (addresses,
 * names, counts, timing), and hashes the shapes into the id. Snapshots
 * belong to the caller and live in one arena.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_int.h"
#include "util/hash.h"
#include "util/ip.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Changing the seed or the canonical form changes every id ever stored. */
#define DIALECT_SEED 0x5350414d44314131ULL   /* "SPAMD1A1" */
#define SHAPE_MAX 96                          /* bytes of one syntax shape */
#define TOKENS_MAX 24                         /* verb tokens in pre= and txn= */

void rec_init(struct smtp_rec *r, size_t max_lines, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->max_lines = max_lines;
	r->max_line = max_line;
	buf_init(&r->text);
	buf_init(&r->helo_verb);
	buf_init(&r->helo_syntax);
	buf_init(&r->pre);
	buf_init(&r->txn);
	buf_init(&r->mail_syntax);
	buf_init(&r->rcpt_syntax);
	r->helo_shape = NULL;
	r->helo_case = "none";
	r->data_early = -1;
	r->after_dot = -1;
}

void rec_free(struct smtp_rec *r)
{
	free(r->lines);
	buf_free(&r->text);
	buf_free(&r->helo_verb);
	buf_free(&r->helo_syntax);
	buf_free(&r->pre);
	buf_free(&r->txn);
	buf_free(&r->mail_syntax);
	buf_free(&r->rcpt_syntax);
}

long rec_line(struct smtp_rec *r, const char *p, size_t len, int64_t t_ms, unsigned flags)
{
	struct smtp_rec_line *l;

	if (r->nlines >= r->max_lines) {
		r->dropped++;
		return -1;
	}
	if (r->nlines == r->lines_cap) {
		r->lines_cap = r->lines_cap ? r->lines_cap * 2 : 16;
		if (r->lines_cap > r->max_lines)
			r->lines_cap = r->max_lines;
		r->lines = xreallocarray(r->lines, r->lines_cap, sizeof(*r->lines));
	}
	if (len > r->max_line)
		len = r->max_line;
	l = &r->lines[r->nlines++];
	l->off = r->text.len;
	l->len = len;
	l->t_ms = t_ms;
	l->reply = 0;
	l->flags = flags;
	buf_add(&r->text, p, len);
	return (long)(r->nlines - 1);
}

void rec_reply(struct smtp_rec *r, long idx, int code)
{
	if (idx >= 0 && (size_t)idx < r->nlines && r->lines[idx].reply == 0)
		r->lines[idx].reply = code;
}

void rec_gap(struct smtp_rec *r, int64_t t_ms)
{
	if (r->have_last_cmd) {
		int64_t gap = t_ms - r->last_cmd_ms, lim = 1;
		int b = 0;

		while (b < REC_GAP_BUCKETS - 1 && gap >= lim) {
			b++;
			lim *= 10;
		}
		r->gap_hist[b]++;
	}
	r->last_cmd_ms = t_ms;
	r->have_last_cmd = true;
}

/* escape_add: bytes as printable ASCII; backslash and the rest as escapes. */
static void escape_add(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\')
			buf_addstr(b, "\\\\");
		else if (c >= 0x20 && c < 0x7f)
			buf_addch(b, c);
		else
			buf_printf(b, "\\x%02x", c);
	}
}

/* cap_shape: a shape is at most SHAPE_MAX bytes, then "...". */
static void cap_shape(struct buf *b)
{
	if (b->len > SHAPE_MAX) {
		buf_setlen(b, SHAPE_MAX);
		buf_addstr(b, "...");
	}
}

void rec_token(struct smtp_rec *r, const char *verb, size_t len, bool is_mail)
{
	struct buf *b;
	unsigned *count;
	char tok[sizeof(r->last_tok)];
	size_t i;

	if (r->frozen)
		return;
	if (len > sizeof(tok) - 1)
		len = sizeof(tok) - 1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)verb[i];

		tok[i] = (c > 0x20 && c < 0x7f && c != '\\') ? (char)c : '?';
	}
	tok[len] = '\0';
	if (is_mail && !r->in_txn) {
		r->in_txn = true;
		r->last_tok[0] = '\0';
	}
	b = r->in_txn ? &r->txn : &r->pre;
	count = r->in_txn ? &r->ntxn : &r->npre;
	if (strcmp(tok, r->last_tok) == 0)
		return;         /* RCPT RCPT RCPT is one RCPT: counts vary per session */
	memcpy(r->last_tok, tok, len + 1);
	if (*count == TOKENS_MAX)
		buf_addstr(b, " ...");
	if (*count >= TOKENS_MAX) {
		(*count)++;
		return;
	}
	if (b->len)
		buf_addch(b, ' ');
	buf_addstr(b, tok);
	(*count)++;
}

static const char *letter_case(const char *p, size_t n)
{
	bool lower = false, upper = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] >= 'a' && p[i] <= 'z')
			lower = true;
		else if (p[i] >= 'A' && p[i] <= 'Z')
			upper = true;
	}
	if (lower && upper)
		return "mixed";
	return lower ? "lower" : upper ? "upper" : "none";
}

void rec_helo(struct smtp_rec *r, const char *line, size_t len, size_t verb_len,
	      size_t arg_off, size_t arg_len)
{
	if (r->frozen || r->helo_seen)
		return;
	r->helo_seen = true;
	buf_add(&r->helo_verb, line, verb_len);
	/* verb, the separator as typed, a placeholder, whatever trails */
	if (arg_len) {
		escape_add(&r->helo_syntax, line, arg_off);
		buf_addstr(&r->helo_syntax, "<host>");
		escape_add(&r->helo_syntax, line + arg_off + arg_len, len - arg_off - arg_len);
	} else {
		escape_add(&r->helo_syntax, line, len);
	}
	cap_shape(&r->helo_syntax);
	r->helo_shape = smtp_helo_shape(line + arg_off, arg_len);
	r->helo_case = letter_case(line + arg_off, arg_len);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool all_digits(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/*
 * path_shape: "MAIL FROM:<a@b> SIZE=12" -> "MAIL FROM:<addr> SIZE=n".
 * Everything up to the address stays as typed (verb case, spaces, the
 * colon); the address becomes <addr>, <> or addr; each parameter keeps
 * its keyword as typed, BODY its value, other values become n (digits) or v.
 */
size_t smtp_path_at(const char *p, size_t n, const char *keyword)
{
	size_t i = 0, kw = strlen(keyword);

	while (i < n && !is_space(p[i]))
		i++;
	while (i < n && is_space(p[i]))
		i++;
	if (n - i < kw || strncasecmp(p + i, keyword, kw) != 0)
		return 0;
	i += kw;
	while (i < n && is_space(p[i]))
		i++;
	if (i == n || p[i] != ':')
		return 0;
	i++;
	while (i < n && is_space(p[i]))
		i++;
	return i;
}

static void path_shape(struct buf *out, const char *p, size_t n, const char *keyword)
{
	size_t i = smtp_path_at(p, n, keyword), a;

	if (i == 0)
		goto malformed;
	escape_add(out, p, i);
	if (i < n && p[i] == '<') {
		const char *gt = memchr(p + i, '>', n - i);

		if (!gt) {
			buf_addstr(out, "<addr");
			return;
		}
		a = (size_t)(gt - p) + 1;
		buf_addstr(out, a - i == 2 ? "<>" : "<addr>");
	} else {
		a = i;
		while (a < n && !is_space(p[a]))
			a++;
		if (a > i)
			buf_addstr(out, "addr");
	}
	/* parameters */
	while (a < n) {
		size_t s = a, e, eq;

		while (a < n && is_space(p[a]))
			a++;
		escape_add(out, p + s, a - s);
		if (a == n)
			break;
		e = a;
		while (e < n && !is_space(p[e]))
			e++;
		eq = a;
		while (eq < e && p[eq] != '=')
			eq++;
		escape_add(out, p + a, eq - a);
		if (eq < e) {
			buf_addch(out, '=');
			if (eq - a == 4 && strncasecmp(p + a, "BODY", 4) == 0)
				escape_add(out, p + eq + 1, e - eq - 1);
			else
				buf_addstr(out, all_digits(p + eq + 1, e - eq - 1) ? "n" : "v");
		}
		a = e;
	}
	return;
malformed:
	i = 0;
	while (i < n && !is_space(p[i]))
		i++;
	escape_add(out, p, i < SHAPE_MAX ? i : SHAPE_MAX);
	buf_addstr(out, " <malformed>");
}

void rec_path_syntax(struct smtp_rec *r, const char *line, size_t len, bool mail)
{
	struct buf *b = mail ? &r->mail_syntax : &r->rcpt_syntax;

	if (r->frozen || b->len)
		return;
	path_shape(b, line, len, mail ? "FROM" : "TO");
	cap_shape(b);
}

void rec_freeze(struct smtp_rec *r)
{
	r->frozen = true;
}

/* ---- HELO shapes ---- */

static const char *const wellknown[] = {
	"gmail.com", "google.com", "googlemail.com", "yahoo.com", "yahoo.co.uk",
	"yahoo.co.jp", "ymail.com", "hotmail.com", "hotmail.co.uk", "outlook.com",
	"live.com", "msn.com", "microsoft.com", "aol.com", "mail.ru", "yandex.ru",
	"gmx.net", "gmx.de", "web.de", "apple.com", "icloud.com", "facebook.com",
	"amazon.com", "paypal.com", "ebay.com",
};

static bool ends_with_label(const char *name, size_t n, const char *dom)
{
	size_t d = strlen(dom);

	if (n < d || strncasecmp(name + n - d, dom, d) != 0)
		return false;
	return n == d || name[n - d - 1] == '.';
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* windows_name: JOHN-PC, WIN-1A2B3C4D5E6, DESKTOP-AB12CD3 (Windows defaults). */
static bool windows_name(const char *p, size_t n)
{
	size_t i;

	if (n > 3 && strncasecmp(p + n - 3, "-PC", 3) == 0)
		return true;
	if (n == 15 && strncasecmp(p, "WIN-", 4) == 0) {
		for (i = 4; i < n; i++)
			if (!is_alnum(p[i]))
				return false;
		return true;
	}
	if (n == 15 && strncasecmp(p, "DESKTOP-", 8) == 0) {
		for (i = 8; i < n; i++)
			if (!is_alnum(p[i]))
				return false;
		return true;
	}
	return false;
}

/* carries_ipv4: four runs of 1-3 digits in a row, split by '-' or '.' (rDNS of a dial-up). */
static bool carries_ipv4(const char *p, size_t n)
{
	size_t i = 0;
	int runs = 0;

	while (i < n) {
		size_t s = i;

		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i > s && i - s <= 3) {
			if (++runs == 4)
				return true;
			if (i < n && (p[i] == '-' || p[i] == '.')) {
				i++;
				continue;
			}
		}
		runs = 0;
		if (i == s)
			i++;
	}
	return false;
}

const char *smtp_helo_shape(const char *p, size_t n)
{
	char tmp[64];
	struct ip_addr ip;
	size_t i;
	bool dot = false;

	if (n == 0)
		return "empty";
	if (p[0] == '[') {
		if (n < 3 || p[n - 1] != ']' || n - 2 >= sizeof(tmp))
			return "bad-literal";
		memcpy(tmp, p + 1, n - 2);
		tmp[n - 2] = '\0';
		if (memchr(tmp, '\0', n - 2) || !ip_parse(tmp, &ip))
			return "bad-literal";
		if (strncasecmp(tmp, "IPv6:", 5) == 0 && !ip_is_v4(&ip))
			return "ip6-literal";
		return ip_is_v4(&ip) && !strchr(tmp, ':') ? "ip-literal" : "bad-literal";
	}
	if (n < sizeof(tmp)) {
		memcpy(tmp, p, n);
		tmp[n] = '\0';
		if (!memchr(tmp, '\0', n) && strncasecmp(tmp, "IPv6:", 5) != 0 && ip_parse(tmp, &ip))
			return "bare-ip";
	}
	for (i = 0; i < n; i++) {
		if (p[i] == '.')
			dot = true;
		else if (!is_alnum(p[i]) && p[i] != '-' && p[i] != '_')
			return "other";
	}
	if (!dot)
		return windows_name(p, n) ? "windows-pc" : "word";
	if (p[0] == '.')
		return "other";
	for (i = 1; i < n; i++)
		if (p[i] == '.' && p[i - 1] == '.')
			return "other";
	if (p[n - 1] == '.')
		n--;
	for (i = 0; i < sizeof(wellknown) / sizeof(wellknown[0]); i++)
		if (ends_with_label(p, n, wellknown[i]))
			return "wellknown";
	if (carries_ipv4(p, n))
		return "dynamic-rdns";
	return "dotted";
}

/* ---- facts, canonical form, id ---- */

static const char *bucket(size_t v)
{
	return v == 0 ? "0" : v == 1 ? "1" : v <= 5 ? "2-5" : v <= 20 ? "6-20" :
	       v <= 100 ? "21-100" : "101+";
}

static const char *line_ends(unsigned crlf, unsigned lf)
{
	if (crlf && lf)
		return "mixed";
	return crlf ? "crlf" : lf ? "lf" : "n/a";
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static const char *gap_median(const struct smtp_rec *r)
{
	static const char *const names[REC_GAP_BUCKETS] = {
		"<1ms", "1-10ms", "10-100ms", "100ms-1s", "1-10s", "10s+",
	};
	unsigned total = 0, seen = 0;
	int b;

	for (b = 0; b < REC_GAP_BUCKETS; b++)
		total += r->gap_hist[b];
	if (total == 0)
		return "n/a";
	for (b = 0; b < REC_GAP_BUCKETS; b++) {
		seen += r->gap_hist[b];
		if (2 * seen >= total)
			return names[b];
	}
	return names[REC_GAP_BUCKETS - 1];
}

/* fact: "key=value\n" (as "%s=%s\n", without printf's cost: a capture's
 * every session writes about thirty) */
static void fact(struct buf *out, const char *key, const char *value)
{
	buf_addstr(out, key);
	buf_addch(out, '=');
	buf_addstr(out, value);
	buf_addch(out, '\n');
}

/* id_facts: the facts that make the id, "key=value\n" each, into out. */
static void id_facts(const struct smtp_rec *r, struct buf *out)
{
	buf_addstr(out, "helo_verb=");
	if (r->helo_seen)
		escape_add(out, r->helo_verb.data, r->helo_verb.len);
	else
		buf_addstr(out, "none");
	buf_addch(out, '\n');
	fact(out, "helo_syntax", r->helo_seen ? r->helo_syntax.data : "none");
	fact(out, "helo_shape", r->helo_seen ? r->helo_shape : "none");
	fact(out, "pre", r->pre.len ? r->pre.data : "none");
	fact(out, "mail_syntax", r->mail_syntax.len ? r->mail_syntax.data : "none");
	fact(out, "rcpt_syntax", r->rcpt_syntax.len ? r->rcpt_syntax.data : "none");
	fact(out, "txn", r->txn.len ? r->txn.data : "none");
	fact(out, "pipelining", r->blind ? "blind" : r->unsafe ? "unsafe" : r->pipelined ? "yes" : "no");
	fact(out, "data_early", r->data_early < 0 ? "n/a" : yes_no(r->data_early));
	fact(out, "line_end", line_ends(r->cmd_crlf, r->cmd_lf));
	fact(out, "data_line_end", line_ends(r->data_crlf, r->data_lf));
	fact(out, "starttls",
	     r->starttls == REC_TLS_USED ? "yes" : r->starttls == REC_TLS_OFFERED ? "no" : "not-offered");
}

static void optional_facts(const struct smtp_rec *r, const struct smtp_rec_summary *sum,
			   struct buf *out)
{
	fact(out, "pregreet", yes_no(r->pregreet));
	fact(out, "after_dot", r->after_dot < 0 ? "n/a" : r->after_dot ? "pipelined" : "waited");
	fact(out, "quit", yes_no(r->quit));
	fact(out, "end", smtp_end_name(sum->end));
	fact(out, "rset", yes_no(r->rset));
	fact(out, "noop", yes_no(r->noop));
	fact(out, "vrfy", yes_no(r->vrfy));
	fact(out, "help", yes_no(r->help));
	fact(out, "messages", bucket(sum->messages));
	fact(out, "rcpts_max", bucket(r->max_rcpts_txn));
	fact(out, "junk", bucket(sum->junk));
	fact(out, "gap_median", gap_median(r));
	fact(out, "helo_case", r->helo_case);
	fact(out, "tls", yes_no(r->tls));
	fact(out, "starttls_injection", yes_no(r->starttls_injection));
	fact(out, "long_line", yes_no(r->long_line));
	fact(out, "nul", yes_no(r->nul));
}

static char *id_of(const char *canonical, size_t len, char *out)
{
	uint64_t h = hash64(canonical, len, DIALECT_SEED);

	snprintf(out, SMTP_DIALECT_ID_LEN, "dialect:%08" PRIx32, (uint32_t)(h >> 32));
	return out;
}

char *rec_id(const struct smtp_rec *r, char *out)
{
	struct buf b = BUF_INIT;

	id_facts(r, &b);
	id_of(b.data, b.len, out);
	buf_free(&b);
	return out;
}

char *rec_facts(const struct smtp_rec *r, const struct smtp_rec_summary *sum, char *id)
{
	struct buf b = BUF_INIT;

	buf_grow(&b, 1024);
	id_facts(r, &b);
	id_of(b.data, b.len, id);
	optional_facts(r, sum, &b);
	if (b.len)
		buf_setlen(&b, b.len - 1);   /* joined: no newline after the last */
	return buf_detach(&b, NULL);
}

/* split_lines: "a\nb\n" into arena strings; returns the count. */
static size_t split_lines(struct arena *a, const char *p, const char ***out)
{
	size_t n = 0, i = 0;
	const char *q;

	for (q = p; *q; q++)
		n += *q == '\n';
	*out = arena_alloc(a, (n ? n : 1) * sizeof(**out));
	while (*p) {
		const char *e = strchr(p, '\n');

		(*out)[i++] = arena_strndup(a, p, (size_t)(e - p));
		p = e + 1;
	}
	return n;
}

struct smtp_dialect *rec_snapshot(const struct smtp_rec *r, const struct smtp_rec_summary *sum)
{
	struct smtp_dialect *d = xcalloc(1, sizeof(*d));
	struct buf ids = BUF_INIT, opt = BUF_INIT;
	const char **idf, **optf;
	size_t nid, nopt, i;

	arena_init(&d->arena, 8192);
	buf_grow(&ids, 512);
	buf_grow(&opt, 512);
	id_facts(r, &ids);
	optional_facts(r, sum, &opt);
	id_of(ids.data, ids.len, d->id);
	d->canonical = arena_strndup(&d->arena, ids.data, ids.len);
	nid = split_lines(&d->arena, ids.data, &idf);
	nopt = split_lines(&d->arena, opt.data, &optf);
	d->facts = arena_alloc(&d->arena, (nid + nopt) * sizeof(*d->facts));
	memcpy(d->facts, idf, nid * sizeof(*idf));
	memcpy(d->facts + nid, optf, nopt * sizeof(*optf));
	d->nfacts = nid + nopt;
	d->nid_facts = nid;
	buf_free(&ids);
	buf_free(&opt);

	d->nlines = r->nlines;
	d->lines = arena_alloc(&d->arena, (r->nlines ? r->nlines : 1) * sizeof(*d->lines));
	for (i = 0; i < r->nlines; i++) {
		const struct smtp_rec_line *l = &r->lines[i];

		d->lines[i].text = arena_strndup(&d->arena, r->text.data + l->off, l->len);
		d->lines[i].len = l->len;
		d->lines[i].t_ms = l->t_ms;
		d->lines[i].reply = l->reply;
		d->lines[i].flags = l->flags;
	}
	d->lines_dropped = r->dropped;
	d->commands = sum->commands;
	d->junk = sum->junk;
	d->messages = sum->messages;
	d->recipients = sum->recipients;
	d->pregreet_bytes = r->pregreet_bytes;
	d->end = sum->end;
	return d;
}

void smtp_dialect_free(struct smtp_dialect *d)
{
	if (!d)
		return;
	arena_free(&d->arena);
	free(d);
}
