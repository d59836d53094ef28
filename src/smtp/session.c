/*
 * session.c - the SMTP server state machine of the trap (see smtp.h).
 *
 * Bytes in, replies out, no I/O. Commands are assembled line by line (LF
 * or CRLF; a line longer than LIMIT_SMTP_LINE is skipped to its end and
 * answered 500 5.5.2), dispatched through the verb table below (flags as
 * in Postfix's smtpd: allowed before STARTTLS, counted as junk, needs a
 * transaction, last in a pipelined group), and every line is shown to the
 * dialect recorder (dialect.c). Message data is dot-unstuffed byte by byte
 * into the message's own buffer, which the driver takes without a copy.
 *
 * The core never says 250 to a message by itself: at the final "." it
 * hands the message over and waits for smtp_session_stored(). Likewise it
 * waits for smtp_session_greet() before the banner and for
 * smtp_session_tls_done() after STARTTLS; while it waits it consumes no
 * bytes, so pipelined commands are answered in order afterwards.
 *
 * Memory per session: one command line (LIMIT_SMTP_LINE), one message
 * (LIMIT_MESSAGE_SIZE), its recipients (LIMIT_SMTP_RCPTS) and the
 * recorder's bounded lines. Errors are SMTP replies; a broken driver
 * contract (stored() with no message) is a panic.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_int.h"
#include "util/limits.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum state {
	ST_GREET,        /* before the banner */
	ST_CMD,          /* reading commands */
	ST_DATA,         /* reading message data */
	ST_BDAT,         /* discarding a refused BDAT chunk */
	ST_WAIT_STORE,   /* message handed over; waiting for stored() */
	ST_WAIT_TLS,     /* STARTTLS accepted; waiting for tls_done() */
	ST_CLOSING,      /* QUIT, 421 or gone: nothing more is read */
};

/* where the data scanner is within a line of message data */
enum dstate { D_BOL, D_MID, D_DOT, D_DOTCR };

#define PATH_MAX_LEN 256     /* RFC 5321 4.5.3.1.3 */
#define QUEUE_ID_MAX 32

struct smtp_session {
	char hostname[SMTP_HOSTNAME_MAX + 1];
	bool tls_available, tls_required;
	size_t max_line, max_commands, max_junk, max_rcpts, max_messages, max_size;

	enum state st;
	enum smtp_end end;
	int64_t start_ms;

	/* the command line being assembled: at most max_line bytes kept */
	struct buf line;
	size_t line_total;       /* bytes of the line so far, kept or not */
	char line_last;          /* its last byte */
	bool line_nul;

	/* replies: out[out_off..] not yet taken; byte counters for pipelining */
	struct buf out;
	size_t out_off;
	uint64_t produced, flushed;
	uint64_t banner_end;     /* produced after the banner; 0 before greet */
	uint64_t ehlo_end;       /* produced after the last EHLO reply; 0 if none */
	uint64_t group_end;      /* produced after the last last-in-group reply */
	uint64_t data354_end;
	long cur_line;           /* recorder index of the line being answered */
	int cur_reply;           /* first reply code to it */

	/* session state */
	bool tls;
	struct buf helo;
	size_t commands, recipients;
	size_t junk;             /* in a row: reset by each stored message */
	size_t junk_total;
	unsigned messages;       /* handed to the driver */

	/* the transaction: from MAIL until handed over or reset */
	struct smtp_message *msg;
	size_t rcpts_cap;
	enum dstate dstate;
	char data_last;
	bool too_big;
	bool first_data_byte;
	uint64_t bdat_left;

	struct smtp_message *ready;   /* complete, not yet taken */
	bool awaiting_store;
	long dot_line;                /* recorder index of the "." awaiting its reply */

	struct smtp_rec rec;
};

/* ---- replies ---- */

static void reply_raw(struct smtp_session *s, int code, const char *text, size_t len)
{
	buf_add(&s->out, text, len);
	s->produced += len;
	if (s->cur_reply == 0)
		s->cur_reply = code;
	rec_reply(&s->rec, s->cur_line, code);
}

static void reply(struct smtp_session *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply(struct smtp_session *s, int code, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	buf_printf(&b, "%03d ", code);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_addstr(&b, "\r\n");
	reply_raw(s, code, b.data, b.len);
	buf_free(&b);
}

/* close_with: "421 ENH HOST Error: WHY" and the end of the session. */
static void close_with(struct smtp_session *s, enum smtp_end end, const char *enh, const char *why)
{
	reply(s, 421, "%s %s Error: %s", enh, s->hostname, why);
	s->st = ST_CLOSING;
	if (s->end == SMTP_END_OPEN)
		s->end = end;
}

/* ---- transactions ---- */

static void txn_drop(struct smtp_session *s)
{
	smtp_message_free(s->msg);
	s->msg = NULL;
	s->rcpts_cap = 0;
}

static struct smtp_message *txn_new(struct smtp_session *s)
{
	struct smtp_message *m = xcalloc(1, sizeof(*m));

	arena_init(&m->arena, 1024);
	buf_init(&m->data);
	m->declared_size = -1;
	m->helo = arena_strndup(&m->arena, s->helo.data, s->helo.len);
	m->mail_from = "";
	return m;
}

void smtp_message_free(struct smtp_message *m)
{
	if (!m)
		return;
	free(m->rcpts);
	buf_free(&m->data);
	arena_free(&m->arena);
	free(m);
}

/* ---- parsing helpers ---- */

struct cmd {
	const char *line;        /* without its line end */
	size_t len;
	size_t verb_len;
	size_t arg_off;          /* after the verb and its separating blanks */
	size_t arg_len;          /* trailing blanks trimmed */
};

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * parse_path: after "MAIL"/"RCPT": blanks, keyword, blanks, ':', blanks,
 * then <path> or a bare path, then parameters. Tolerant of the spacing bots
 * use (Postfix without strict_rfc821_envelopes is too).
 */
static bool parse_path(const struct cmd *c, const char *keyword, const char **path,
		       size_t *path_len, size_t *params_off)
{
	const char *p = c->line;
	size_t n = c->len, i = smtp_path_at(p, n, keyword);

	if (i == 0)
		return false;
	if (i < n && p[i] == '<') {
		const char *gt = memchr(p + i, '>', n - i);

		if (!gt)
			return false;
		*path = p + i + 1;
		*path_len = (size_t)(gt - (p + i + 1));
		i = (size_t)(gt - p) + 1;
	} else {
		size_t s = i;

		while (i < n && !blank(p[i]))
			i++;
		if (i == s)
			return false;
		*path = p + s;
		*path_len = i - s;
	}
	if (i < n && !blank(p[i]))
		return false;
	*params_off = i;
	return true;
}

static bool path_ok(const char *p, size_t n)
{
	size_t i;

	if (n > PATH_MAX_LEN)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '<')
			return false;
	return true;
}

/* next_param: the next blank-separated parameter after *off, or false. */
static bool next_param(const struct cmd *c, size_t *off, const char **p, size_t *n)
{
	size_t i = *off, s;

	while (i < c->len && blank(c->line[i]))
		i++;
	if (i == c->len)
		return false;
	s = i;
	while (i < c->len && !blank(c->line[i]))
		i++;
	*p = c->line + s;
	*n = i - s;
	*off = i;
	return true;
}

static bool param_is(const char *p, size_t n, const char *key, const char **val, size_t *vlen)
{
	size_t k = strlen(key);

	if (n <= k || p[k] != '=' || strncasecmp(p, key, k) != 0)
		return false;
	*val = p + k + 1;
	*vlen = n - k - 1;
	return true;
}

static bool parse_size(const char *p, size_t n, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (n == 0 || n > 19)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long long)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* ---- verbs ---- */

static void do_helo(struct smtp_session *s, const struct cmd *c);
static void do_ehlo(struct smtp_session *s, const struct cmd *c);
static void do_mail(struct smtp_session *s, const struct cmd *c);
static void do_rcpt(struct smtp_session *s, const struct cmd *c);
static void do_data(struct smtp_session *s, const struct cmd *c);
static void do_bdat(struct smtp_session *s, const struct cmd *c);
static void do_rset(struct smtp_session *s, const struct cmd *c);
static void do_noop(struct smtp_session *s, const struct cmd *c);
static void do_vrfy(struct smtp_session *s, const struct cmd *c);
static void do_expn(struct smtp_session *s, const struct cmd *c);
static void do_help(struct smtp_session *s, const struct cmd *c);
static void do_quit(struct smtp_session *s, const struct cmd *c);
static void do_starttls(struct smtp_session *s, const struct cmd *c);
static void do_auth(struct smtp_session *s, const struct cmd *c);
static void do_not_smtp(struct smtp_session *s, const struct cmd *c);

enum {
	VF_PRE_TLS = 1 << 0,     /* allowed before STARTTLS when TLS is required */
	VF_JUNK = 1 << 1,        /* counts toward LIMIT_SMTP_JUNK however answered */
	VF_TXN = 1 << 2,         /* needs MAIL first: 503 5.5.1 otherwise */
	VF_GROUP_END = 1 << 3,   /* last in a pipelined group (RFC 2920 3.1) */
	VF_NOT_SMTP = 1 << 4,    /* another protocol on our port */
};

static const struct verb {
	const char *name;
	void (*fn)(struct smtp_session *s, const struct cmd *c);
	unsigned flags;
} verbs[] = {
	{ "HELO", do_helo, VF_PRE_TLS | VF_GROUP_END },
	{ "EHLO", do_ehlo, VF_PRE_TLS | VF_GROUP_END },
	{ "MAIL", do_mail, 0 },
	{ "RCPT", do_rcpt, VF_TXN },
	{ "DATA", do_data, VF_TXN | VF_GROUP_END },
	{ "BDAT", do_bdat, VF_JUNK },
	{ "RSET", do_rset, VF_PRE_TLS },
	{ "NOOP", do_noop, VF_PRE_TLS | VF_GROUP_END },
	{ "VRFY", do_vrfy, VF_GROUP_END },
	{ "EXPN", do_expn, VF_JUNK | VF_GROUP_END },
	{ "HELP", do_help, VF_PRE_TLS },
	{ "QUIT", do_quit, VF_PRE_TLS | VF_GROUP_END },
	{ "STARTTLS", do_starttls, VF_PRE_TLS | VF_GROUP_END },
	{ "AUTH", do_auth, VF_JUNK | VF_GROUP_END },
	{ "GET", do_not_smtp, VF_PRE_TLS | VF_NOT_SMTP },
	{ "POST", do_not_smtp, VF_PRE_TLS | VF_NOT_SMTP },
	{ "HEAD", do_not_smtp, VF_PRE_TLS | VF_NOT_SMTP },
	{ "PUT", do_not_smtp, VF_PRE_TLS | VF_NOT_SMTP },
	{ "OPTIONS", do_not_smtp, VF_PRE_TLS | VF_NOT_SMTP },
	{ "CONNECT", do_not_smtp, VF_PRE_TLS | VF_NOT_SMTP },
};

static const struct verb *verb_find(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == n && strncasecmp(verbs[i].name, p, n) == 0)
			return &verbs[i];
	return NULL;
}

static void helo_common(struct smtp_session *s, const struct cmd *c)
{
	txn_drop(s);
	buf_reset(&s->helo);
	buf_add(&s->helo, c->line + c->arg_off, c->arg_len);
	rec_helo(&s->rec, c->line, c->len, c->verb_len, c->arg_off, c->arg_len);
}

static void do_helo(struct smtp_session *s, const struct cmd *c)
{
	helo_common(s, c);
	s->ehlo_end = 0;
	reply(s, 250, "%s", s->hostname);
}

static void do_ehlo(struct smtp_session *s, const struct cmd *c)
{
	struct buf b = BUF_INIT;
	bool starttls = s->tls_available && !s->tls;

	helo_common(s, c);
	buf_printf(&b, "250-%s\r\n250-PIPELINING\r\n250-SIZE %zu\r\n250-8BITMIME\r\n",
		   s->hostname, s->max_size);
	if (starttls)
		buf_addstr(&b, "250-STARTTLS\r\n");
	buf_addstr(&b, "250 ENHANCEDSTATUSCODES\r\n");
	reply_raw(s, 250, b.data, b.len);
	buf_free(&b);
	s->ehlo_end = s->produced;
	if (starttls && !s->rec.frozen && s->rec.starttls == REC_TLS_NOT_OFFERED)
		s->rec.starttls = REC_TLS_OFFERED;
}

static void do_mail(struct smtp_session *s, const struct cmd *c)
{
	const char *path, *p, *v;
	size_t plen, off, n, vlen;
	unsigned long long size = 0;
	bool has_size = false, body8 = false;

	if (s->msg) {
		reply(s, 503, "5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->messages >= s->max_messages) {
		close_with(s, SMTP_END_LIMIT, "4.7.0", "too many messages in one session");
		return;
	}
	if (!parse_path(c, "FROM", &path, &plen, &off)) {
		reply(s, 501, "5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (!path_ok(path, plen)) {
		reply(s, 501, "5.1.7 Bad sender address syntax");
		return;
	}
	while (next_param(c, &off, &p, &n)) {
		if (param_is(p, n, "SIZE", &v, &vlen)) {
			if (!parse_size(v, vlen, &size)) {
				reply(s, 501, "5.5.4 Bad SIZE parameter syntax");
				return;
			}
			has_size = true;
		} else if (param_is(p, n, "BODY", &v, &vlen)) {
			if (vlen == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
				body8 = true;
			else if (!(vlen == 4 && strncasecmp(v, "7BIT", 4) == 0)) {
				reply(s, 501, "5.5.4 Unsupported BODY parameter");
				return;
			}
		} else {
			reply(s, 555, "5.5.4 Unsupported option");
			return;
		}
	}
	if (has_size && size > s->max_size) {
		reply(s, 552, "5.3.4 Message size exceeds fixed limit");
		return;
	}
	s->msg = txn_new(s);
	s->msg->mail_from = arena_strndup(&s->msg->arena, path, plen);
	s->msg->declared_size = has_size ? (long long)size : -1;
	s->msg->body_8bitmime = body8;
	reply(s, 250, "2.1.0 Ok");
}

static void do_rcpt(struct smtp_session *s, const struct cmd *c)
{
	struct smtp_message *m = s->msg;
	const char *path, *p;
	size_t plen, off, n;

	if (!parse_path(c, "TO", &path, &plen, &off)) {
		reply(s, 501, "5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (plen == 0 || !path_ok(path, plen)) {
		reply(s, 501, "5.1.3 Bad recipient address syntax");
		return;
	}
	if (next_param(c, &off, &p, &n)) {
		reply(s, 555, "5.5.4 Unsupported option");
		return;
	}
	if (m->nrcpts >= s->max_rcpts) {
		reply(s, 452, "4.5.3 Error: too many recipients");
		return;
	}
	if (m->nrcpts == s->rcpts_cap) {
		s->rcpts_cap = s->rcpts_cap ? s->rcpts_cap * 2 : 8;
		m->rcpts = xreallocarray(m->rcpts, s->rcpts_cap, sizeof(*m->rcpts));
	}
	m->rcpts[m->nrcpts++] = arena_strndup(&m->arena, path, plen);
	s->recipients++;
	if (m->nrcpts > s->rec.max_rcpts_txn)
		s->rec.max_rcpts_txn = m->nrcpts;
	reply(s, 250, "2.1.5 Ok");
}

static void do_data(struct smtp_session *s, const struct cmd *c)
{
	if (c->arg_len) {
		reply(s, 501, "5.5.4 Syntax: DATA");
		return;
	}
	if (s->msg->nrcpts == 0) {
		reply(s, 503, "5.5.1 Error: need RCPT command");
		return;
	}
	reply(s, 354, "End data with <CR><LF>.<CR><LF>");
	s->data354_end = s->produced;
	s->st = ST_DATA;
	s->dstate = D_BOL;
	s->data_last = '\n';
	s->too_big = false;
	s->first_data_byte = true;
}

static void do_bdat(struct smtp_session *s, const struct cmd *c)
{
	unsigned long long size;
	size_t i = 0;

	while (i < c->arg_len && c->line[c->arg_off + i] >= '0' && c->line[c->arg_off + i] <= '9')
		i++;
	if (!parse_size(c->line + c->arg_off, i, &size)) {
		reply(s, 501, "5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	/* CHUNKING is not offered: discard the chunk to stay in sync, then refuse */
	if (size == 0) {
		reply(s, 502, "5.5.1 Error: BDAT not supported");
		return;
	}
	s->bdat_left = size;
	s->st = ST_BDAT;
}

static void do_rset(struct smtp_session *s, const struct cmd *c)
{
	s->rec.rset = true;
	if (c->arg_len) {
		reply(s, 501, "5.5.4 Syntax: RSET");
		return;
	}
	txn_drop(s);
	reply(s, 250, "2.0.0 Ok");
}

static void do_noop(struct smtp_session *s, const struct cmd *c)
{
	s->rec.noop = true;
	reply(s, 250, "2.0.0 Ok");
}

static void do_vrfy(struct smtp_session *s, const struct cmd *c)
{
	s->rec.vrfy = true;
	if (c->arg_len == 0) {
		reply(s, 501, "5.5.4 Syntax: VRFY address");
		return;
	}
	reply(s, 252, "2.0.0 Cannot VRFY user, but will accept message");
}

static void do_expn(struct smtp_session *s, const struct cmd *c)
{
	reply(s, 502, "5.5.1 Error: command not implemented");
}

static void do_help(struct smtp_session *s, const struct cmd *c)
{
	s->rec.help = true;
	reply(s, 214, "2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT%s",
	      s->tls_available && !s->tls ? " STARTTLS" : "");
}

static void do_quit(struct smtp_session *s, const struct cmd *c)
{
	s->rec.quit = true;
	txn_drop(s);
	reply(s, 221, "2.0.0 Bye");
	s->st = ST_CLOSING;
	s->end = SMTP_END_QUIT;
}

static void do_starttls(struct smtp_session *s, const struct cmd *c)
{
	if (c->arg_len) {
		reply(s, 501, "5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->tls) {
		reply(s, 554, "5.5.1 Error: TLS already active");
		return;
	}
	if (!s->tls_available) {
		reply(s, 502, "5.5.1 Error: command not implemented");
		return;
	}
	txn_drop(s);
	reply(s, 220, "2.0.0 Ready to start TLS");
	if (!s->rec.frozen)
		s->rec.starttls = REC_TLS_USED;
	rec_freeze(&s->rec);       /* a capture sees nothing beyond this */
	s->st = ST_WAIT_TLS;
}

static void do_auth(struct smtp_session *s, const struct cmd *c)
{
	reply(s, 503, "5.5.1 Error: authentication not enabled");
}

static void do_not_smtp(struct smtp_session *s, const struct cmd *c)
{
	close_with(s, SMTP_END_NOT_SMTP, "4.7.0", "this is an SMTP server");
}

/* ---- command lines ---- */

/* note_arrival: pipelining and pregreet flags of a line arriving now. */
static unsigned note_arrival(struct smtp_session *s)
{
	struct smtp_rec *r = &s->rec;
	unsigned flags = 0;

	if (s->flushed < s->banner_end) {
		flags |= SMTP_LINE_PREGREET;
		r->pregreet = true;
	} else if (s->flushed < s->produced) {
		flags |= SMTP_LINE_PIPELINED;
		if (!r->frozen) {
			r->pipelined = true;
			if (s->ehlo_end == 0 || s->flushed < s->ehlo_end)
				r->blind = true;       /* PIPELINING not (yet) seen by the client */
			else if (s->flushed < s->group_end)
				r->unsafe = true;      /* behind a command that ends a group */
		}
	}
	if (s->tls)
		flags |= SMTP_LINE_TLS;
	return flags;
}

static void command(struct smtp_session *s, bool bare_lf, int64_t now_ms)
{
	struct smtp_rec *r = &s->rec;
	bool too_long = s->line_total + 1 > s->max_line;
	unsigned flags = note_arrival(s);
	const struct verb *v = NULL;
	struct cmd c;
	size_t i;

	if (!bare_lf && s->line.len == s->line_total && s->line.len > 0)
		buf_setlen(&s->line, s->line.len - 1);        /* the CR of CRLF */
	if (bare_lf)
		flags |= SMTP_LINE_BARE_LF;
	if (too_long)
		flags |= SMTP_LINE_TOO_LONG;
	if (s->line_nul)
		flags |= SMTP_LINE_NUL;
	s->cur_line = rec_line(r, s->line.data, s->line.len, now_ms - s->start_ms, flags);
	s->cur_reply = 0;
	rec_gap(r, now_ms);
	if (r->awaiting_after_dot) {
		r->awaiting_after_dot = false;
		r->after_dot = (flags & SMTP_LINE_PIPELINED) != 0;
	}
	if (!r->frozen) {
		if (bare_lf)
			r->cmd_lf++;
		else
			r->cmd_crlf++;
	}

	c.line = s->line.data;
	c.len = s->line.len;
	for (i = 0; i < c.len && !blank(c.line[i]); i++)
		;
	c.verb_len = i;
	while (i < c.len && blank(c.line[i]))
		i++;
	c.arg_off = i;
	c.arg_len = c.len - i;
	while (c.arg_len && blank(c.line[c.arg_off + c.arg_len - 1]))
		c.arg_len--;

	if (++s->commands > s->max_commands) {
		close_with(s, SMTP_END_LIMIT, "4.7.0", "too many commands");
		goto done;
	}
	if (too_long) {
		r->long_line = true;
		rec_token(r, "<long>", 6, false);
		reply(s, 500, "5.5.2 Error: line too long");
	} else if (s->line_nul) {
		r->nul = true;
		rec_token(r, "<nul>", 5, false);
		reply(s, 500, "5.5.2 Error: NUL character in command");
	} else if (c.len == 0) {
		rec_token(r, "<empty>", 7, false);
		reply(s, 500, "5.5.2 Error: bad syntax");
	} else if (!(v = verb_find(c.line, c.verb_len))) {
		rec_token(r, c.line, c.verb_len, false);
		reply(s, 500, "5.5.2 Error: command not recognized");
	} else {
		rec_token(r, c.line, c.verb_len, v->fn == do_mail);
		if (v->fn == do_mail || v->fn == do_rcpt)
			rec_path_syntax(r, c.line, c.len, v->fn == do_mail);
		if (s->tls_required && !s->tls && !(v->flags & VF_PRE_TLS))
			reply(s, 530, "5.7.0 Must issue a STARTTLS command first");
		else if ((v->flags & VF_TXN) && !s->msg)
			reply(s, 503, "5.5.1 Error: need MAIL command");
		else
			v->fn(s, &c);
		if (v->flags & VF_GROUP_END)
			s->group_end = s->produced;
	}
	if (s->st != ST_CLOSING &&
	    (!v || (v->flags & VF_JUNK) || (s->cur_reply >= 500 && s->cur_reply != 552))) {
		s->junk_total++;
		if (++s->junk >= s->max_junk)
			close_with(s, SMTP_END_ERRORS, "4.7.0", "too many errors");
	}
done:
	buf_reset(&s->line);
	s->line_total = 0;
	s->line_nul = false;
	s->line_last = 0;
	s->cur_line = -1;
}

/* tls_record: a TLS handshake record (ClientHello) where a command should be. */
static bool tls_record(const struct buf *line)
{
	return line->len >= 2 && (unsigned char)line->data[0] == 0x16 && line->data[1] == 0x03;
}

static size_t feed_cmd(struct smtp_session *s, const char *p, size_t n, int64_t now_ms)
{
	const char *lf = memchr(p, '\n', n);
	size_t chunk = lf ? (size_t)(lf - p) : n, keep = 0;

	if (s->line.len < s->max_line)
		keep = chunk < s->max_line - s->line.len ? chunk : s->max_line - s->line.len;
	buf_add(&s->line, p, keep);
	if (chunk) {
		s->line_total += chunk;
		s->line_last = p[chunk - 1];
		if (memchr(p, '\0', chunk))
			s->line_nul = true;
	}
	if (s->line_total >= 2 && tls_record(&s->line)) {
		unsigned flags = note_arrival(s) | SMTP_LINE_NUL;

		s->cur_line = rec_line(&s->rec, s->line.data, s->line.len, now_ms - s->start_ms, flags);
		rec_token(&s->rec, "<tls>", 5, false);
		s->commands++;
		close_with(s, SMTP_END_NOT_SMTP, "4.7.0", "TLS handshake without STARTTLS");
		s->cur_line = -1;
		return n;
	}
	if (!lf)
		return n;
	command(s, !(s->line_total > 0 && s->line_last == '\r'), now_ms);
	return chunk + 1;
}

/* ---- message data ---- */

static void data_add(struct smtp_session *s, const char *p, size_t n)
{
	struct buf *d = &s->msg->data;

	if (s->too_big || n == 0)
		return;
	if (n > s->max_size - d->len) {
		s->too_big = true;
		buf_free(d);            /* let the memory go now; the message is refused */
		return;
	}
	buf_add(d, p, n);
}

static void data_line_end(struct smtp_session *s, bool crlf)
{
	if (s->rec.frozen)
		return;
	if (crlf)
		s->rec.data_crlf++;
	else
		s->rec.data_lf++;
}

static void data_end(struct smtp_session *s, bool bare_lf, int64_t now_ms)
{
	struct smtp_rec *r = &s->rec;
	unsigned flags = SMTP_LINE_DATA_END | (bare_lf ? SMTP_LINE_BARE_LF : 0) |
			 (s->tls ? SMTP_LINE_TLS : 0);
	struct smtp_message *m = s->msg;

	s->cur_line = rec_line(r, ".", 1, now_ms - s->start_ms, flags);
	s->cur_reply = 0;
	if (s->too_big) {
		reply(s, 552, "5.3.4 Error: message file too big");
		txn_drop(s);
		rec_freeze(r);
		s->st = ST_CMD;
		s->cur_line = -1;
		return;
	}
	if (!r->frozen)
		r->awaiting_after_dot = true;
	rec_freeze(r);
	m->end_ms = now_ms;
	m->transaction = ++s->messages;
	m->tls = s->tls;
	rec_id(r, m->dialect_id);
	s->ready = m;
	s->msg = NULL;
	s->rcpts_cap = 0;
	s->awaiting_store = true;
	s->dot_line = s->cur_line;
	s->cur_line = -1;
	s->st = ST_WAIT_STORE;
}

/*
 * feed_data: dot-unstuffing, byte by byte at line starts and with memchr
 * within lines. A line is ".", then CRLF or LF, ends the message; a line
 * starting with "." loses that dot (RFC 5321 4.5.2).
 */
static size_t feed_data(struct smtp_session *s, const char *p, size_t n, int64_t now_ms)
{
	size_t i = 0;

	if (s->first_data_byte && n) {
		s->first_data_byte = false;
		if (!s->rec.frozen)
			s->rec.data_early = s->flushed < s->data354_end;
	}
	while (i < n && s->st == ST_DATA) {
		char ch = p[i];

		switch (s->dstate) {
		case D_MID: {
			const char *lf = memchr(p + i, '\n', n - i);
			size_t len = lf ? (size_t)(lf - (p + i)) + 1 : n - i;

			data_add(s, p + i, len);
			if (lf) {
				data_line_end(s, len >= 2 ? p[i + len - 2] == '\r' : s->data_last == '\r');
				s->dstate = D_BOL;
			}
			s->data_last = p[i + len - 1];
			i += len;
			continue;
		}
		case D_BOL:
			if (ch == '.') {
				s->dstate = D_DOT;
				s->data_last = ch;
				i++;
				continue;
			}
			s->dstate = D_MID;
			continue;       /* the same byte, in the middle of a line */
		case D_DOT:
			if (ch == '\n') {
				i++;
				data_end(s, true, now_ms);
				continue;
			}
			if (ch == '\r') {
				s->dstate = D_DOTCR;
				s->data_last = ch;
				i++;
				continue;
			}
			s->dstate = D_MID;      /* the stuffed dot is dropped */
			continue;
		case D_DOTCR:
			if (ch == '\n') {
				i++;
				data_end(s, false, now_ms);
				continue;
			}
			data_add(s, "\r", 1);   /* ".\rX": the dot goes, the CR stays */
			s->dstate = D_MID;
			continue;
		}
	}
	return i;
}

/* ---- the driver's calls ---- */

smtp_session *smtp_session_new(const struct smtp_config *cfg, int64_t now_ms)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	const char *host = cfg && cfg->hostname && *cfg->hostname ? cfg->hostname : "localhost";
	size_t i, n = strlen(host);

	if (n > SMTP_HOSTNAME_MAX)
		n = SMTP_HOSTNAME_MAX;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)host[i];

		s->hostname[i] = c > 0x20 && c < 0x7f ? (char)c : '-';
	}
	s->hostname[n] = '\0';
	s->tls_available = cfg && cfg->tls_available;
	s->tls_required = cfg && cfg->tls_required && cfg->tls_available;
	s->max_line = (size_t)limit(LIMIT_SMTP_LINE);
	s->max_commands = (size_t)limit(LIMIT_SMTP_COMMANDS);
	s->max_junk = (size_t)limit(LIMIT_SMTP_JUNK);
	s->max_rcpts = (size_t)limit(LIMIT_SMTP_RCPTS);
	s->max_messages = (size_t)limit(LIMIT_SMTP_TRANSACTIONS);
	s->max_size = (size_t)limit(LIMIT_MESSAGE_SIZE);
	s->st = ST_GREET;
	s->end = SMTP_END_OPEN;
	s->start_ms = now_ms;
	buf_init(&s->line);
	buf_init(&s->out);
	buf_init(&s->helo);
	s->cur_line = -1;
	s->dot_line = -1;
	rec_init(&s->rec, (size_t)limit(LIMIT_SMTP_DIALECT_LINES), s->max_line);
	return s;
}

void smtp_session_free(smtp_session *s)
{
	if (!s)
		return;
	buf_free(&s->line);
	buf_free(&s->out);
	buf_free(&s->helo);
	smtp_message_free(s->msg);
	smtp_message_free(s->ready);
	rec_free(&s->rec);
	free(s);
}

void smtp_session_greet(smtp_session *s, int64_t now_ms)
{
	if (s->st != ST_GREET)
		return;
	reply(s, 220, "%s ESMTP", s->hostname);
	s->banner_end = s->produced;
	s->st = ST_CMD;
}

size_t smtp_session_feed(smtp_session *s, const void *data, size_t n, int64_t now_ms)
{
	const char *p = data;
	size_t i = 0;

	while (i < n) {
		switch (s->st) {
		case ST_GREET:
			if (n > 0) {
				s->rec.pregreet = true;
				if (n > s->rec.pregreet_bytes)
					s->rec.pregreet_bytes = n;
			}
			return i;
		case ST_WAIT_TLS:
			s->rec.starttls_injection = true;   /* plaintext behind STARTTLS */
			return i;
		case ST_WAIT_STORE:
			return i;
		case ST_CLOSING:
			return n;
		case ST_CMD:
			i += feed_cmd(s, p + i, n - i, now_ms);
			break;
		case ST_DATA:
			i += feed_data(s, p + i, n - i, now_ms);
			break;
		case ST_BDAT: {
			size_t skip = n - i < s->bdat_left ? n - i : (size_t)s->bdat_left;

			i += skip;
			s->bdat_left -= skip;
			if (s->bdat_left == 0) {
				s->st = ST_CMD;
				reply(s, 502, "5.5.1 Error: BDAT not supported");
			}
			break;
		}
		}
	}
	return i;
}

const char *smtp_session_output(const smtp_session *s, size_t *len)
{
	*len = s->out.len - s->out_off;
	return s->out.data + s->out_off;
}

void smtp_session_output_taken(smtp_session *s, size_t n)
{
	if (n > s->out.len - s->out_off)
		panic("smtp_session_output_taken: %zu bytes, only %zu pending", n,
		      s->out.len - s->out_off);
	s->out_off += n;
	if (s->out_off == s->out.len) {
		buf_reset(&s->out);
		s->out_off = 0;
	}
}

void smtp_session_flushed(smtp_session *s, int64_t now_ms)
{
	s->flushed = s->produced;
}

enum smtp_want smtp_session_want(const smtp_session *s)
{
	switch (s->st) {
	case ST_GREET:
		return SMTP_WANT_GREET;
	case ST_CMD:
	case ST_DATA:
	case ST_BDAT:
		return SMTP_WANT_INPUT;
	case ST_WAIT_STORE:
		return SMTP_WANT_STORE;
	case ST_WAIT_TLS:
		return SMTP_WANT_TLS;
	case ST_CLOSING:
		return SMTP_WANT_CLOSE;
	}
	panic("smtp_session_want: state %d", (int)s->st);
}

struct smtp_message *smtp_session_take_message(smtp_session *s)
{
	struct smtp_message *m = s->ready;

	s->ready = NULL;
	return m;
}

void smtp_session_stored(smtp_session *s, bool ok, const char *queue_id, int64_t now_ms)
{
	char id[QUEUE_ID_MAX + 1];
	size_t n = 0;

	if (!s->awaiting_store)
		panic("smtp_session_stored: no message was handed over");
	s->awaiting_store = false;
	for (; queue_id && *queue_id && n < QUEUE_ID_MAX; queue_id++)
		if ((*queue_id >= '0' && *queue_id <= '9') || (*queue_id >= 'A' && *queue_id <= 'Z') ||
		    (*queue_id >= 'a' && *queue_id <= 'z'))
			id[n++] = *queue_id;
	id[n] = '\0';
	s->cur_line = s->dot_line;
	s->dot_line = -1;
	if (s->st != ST_WAIT_STORE) {
		/* gone or timed out meanwhile: nothing more to say */
		rec_reply(&s->rec, s->cur_line, ok ? 250 : 451);
		s->cur_line = -1;
		return;
	}
	s->cur_reply = 0;
	if (ok) {
		reply(s, 250, "2.0.0 Ok: queued as %s", n ? id : "0");
		s->junk = 0;
	} else {
		reply(s, 451, "4.3.0 Error: message not stored, try again later");
	}
	s->cur_line = -1;
	s->st = ST_CMD;
}

void smtp_session_tls_done(smtp_session *s, enum smtp_tls_result r, int64_t now_ms)
{
	if (s->st != ST_WAIT_TLS)
		return;
	switch (r) {
	case SMTP_TLS_OK:
		/* RFC 3207 4.2: forget everything the client said before */
		s->tls = true;
		s->rec.tls = true;
		buf_reset(&s->helo);
		txn_drop(s);
		s->ehlo_end = 0;
		s->group_end = 0;
		s->flushed = s->produced;
		s->st = ST_CMD;
		return;
	case SMTP_TLS_FAILED:
		s->st = ST_CLOSING;
		s->end = SMTP_END_TLS_FAILED;
		return;
	case SMTP_TLS_UNSEEN:
		s->st = ST_CLOSING;
		s->end = SMTP_END_TLS_UNSEEN;
		return;
	}
	panic("smtp_session_tls_done: result %d", (int)r);
}

void smtp_session_timeout(smtp_session *s, int64_t now_ms)
{
	if (s->st == ST_CLOSING)
		return;
	txn_drop(s);
	close_with(s, SMTP_END_TIMEOUT, "4.4.2", "timeout exceeded");
}

void smtp_session_closed(smtp_session *s, int64_t now_ms)
{
	if (s->st != ST_CLOSING && s->end == SMTP_END_OPEN)
		s->end = SMTP_END_CLIENT_CLOSE;
	txn_drop(s);             /* a message cut off mid-DATA is never handed over */
	s->st = ST_CLOSING;
}

enum smtp_end smtp_session_end(const smtp_session *s)
{
	return s->end;
}

const char *smtp_end_name(enum smtp_end e)
{
	static const char *const names[] = {
		[SMTP_END_OPEN] = "open",
		[SMTP_END_QUIT] = "quit",
		[SMTP_END_CLIENT_CLOSE] = "client-close",
		[SMTP_END_TIMEOUT] = "timeout",
		[SMTP_END_LIMIT] = "limit",
		[SMTP_END_ERRORS] = "errors",
		[SMTP_END_NOT_SMTP] = "not-smtp",
		[SMTP_END_TLS_FAILED] = "tls-failed",
		[SMTP_END_TLS_UNSEEN] = "tls-unseen",
	};

	if ((unsigned)e >= sizeof(names) / sizeof(names[0]))
		panic("smtp_end_name: %d", (int)e);
	return names[e];
}

/* ---- the dialect ---- */

static void summary(const struct smtp_session *s, struct smtp_rec_summary *sum)
{
	sum->commands = s->commands;
	sum->junk = s->junk_total;
	sum->recipients = s->recipients;
	sum->messages = s->messages;
	sum->end = s->end;
}

struct smtp_dialect *smtp_session_dialect(const smtp_session *s)
{
	struct smtp_rec_summary sum;

	summary(s, &sum);
	return rec_snapshot(&s->rec, &sum);
}

char *smtp_session_facts(const smtp_session *s, char *id)
{
	struct smtp_rec_summary sum;

	summary(s, &sum);
	return rec_facts(&s->rec, &sum, id);
}

char *smtp_session_dialect_id(const smtp_session *s, char *out)
{
	return rec_id(&s->rec, out);
}
