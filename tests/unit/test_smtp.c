/*
 * test_smtp.c - the SMTP core: exact replies, messages and dialect facts
 * for scripted sessions, each also fed split at every byte position of
 * every client segment and one byte at a time (all must agree), plus
 * limits, the deferred 250, STARTTLS and the driver contract.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp.h"
#include "util/buf.h"
#include "util/limits.h"

#define BANNER "220 trap.example ESMTP\r\n"
#define EHLO_R "250-trap.example\r\n250-PIPELINING\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n" \
	       "250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_TLS_R "250-trap.example\r\n250-PIPELINING\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n" \
		   "250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n"
#define HELO_R "250 trap.example\r\n"
#define MAIL_OK "250 2.1.0 Ok\r\n"
#define RCPT_OK "250 2.1.5 Ok\r\n"
#define DATA_GO "354 End data with <CR><LF>.<CR><LF>\r\n"
#define Q(n) "250 2.0.0 Ok: queued as Q" #n "\r\n"
#define OK "250 2.0.0 Ok\r\n"
#define BYE "221 2.0.0 Bye\r\n"
#define TLS_GO "220 2.0.0 Ready to start TLS\r\n"

/* ---- a driver like the trap's, without sockets ---- */

struct step {
	char op;             /* C client bytes, G greet, S/F stored ok/failed, M manual store,
				L TLS done, U TLS unseen (a capture), Y TLS failed, X closed,
				T timeout, O expect output so far */
	const char *p;
	size_t n;
};

#define C(s) { 'C', s, sizeof(s) - 1 }
#define OP(c) { c, NULL, 0 }
#define OUT(s) { 'O', s, sizeof(s) - 1 }

struct drv {
	smtp_session *s;
	struct buf in;       /* offered, not consumed */
	struct buf out;      /* every reply */
	struct buf msgs;     /* each message: envelope and data, escaped */
	struct smtp_message *first;
	unsigned taken;
	bool manual_store;
	int64_t now;
};

static void esc(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			buf_addstr(b, "\\r");
		else if (c == '\n')
			buf_addstr(b, "\\n");
		else if (c >= 0x20 && c < 0x7f)
			buf_addch(b, c);
		else
			buf_printf(b, "\\x%02x", c);
	}
}

static void keep_message(struct drv *d, struct smtp_message *m)
{
	size_t i;

	d->taken++;
	buf_printf(&d->msgs, "#%u helo=%s from=<%s> rcpts=", m->transaction, m->helo, m->mail_from);
	for (i = 0; i < m->nrcpts; i++)
		buf_printf(&d->msgs, "%s%s", i ? "," : "", m->rcpts[i]);
	buf_printf(&d->msgs, " size=%lld 8bit=%d tls=%d data=", m->declared_size,
		   m->body_8bitmime, m->tls);
	esc(&d->msgs, m->data.data, m->data.len);
	buf_addch(&d->msgs, '\n');
	if (!d->first)
		d->first = m;
	else
		smtp_message_free(m);
}

static void store(struct drv *d, bool ok)
{
	struct smtp_message *m = smtp_session_take_message(d->s);
	char id[16];

	if (m)
		keep_message(d, m);
	snprintf(id, sizeof(id), "Q%u", d->taken);
	smtp_session_stored(d->s, ok, id, d->now);
}

static void take_output(struct drv *d)
{
	size_t len;
	const char *o = smtp_session_output(d->s, &len);

	buf_add(&d->out, o, len);
	smtp_session_output_taken(d->s, len);
}

/* pump: offer what is pending until the session waits for something. */
static void pump(struct drv *d)
{
	for (;;) {
		size_t used = smtp_session_feed(d->s, d->in.data, d->in.len, d->now);

		assert_true(used <= d->in.len);
		memmove(d->in.data, d->in.data + used, d->in.len - used);
		buf_setlen(&d->in, d->in.len - used);
		take_output(d);
		if (smtp_session_want(d->s) == SMTP_WANT_STORE && !d->manual_store) {
			store(d, true);
			continue;
		}
		return;
	}
}

static void drv_init(struct drv *d, const struct smtp_config *cfg)
{
	memset(d, 0, sizeof(*d));
	buf_init(&d->in);
	buf_init(&d->out);
	buf_init(&d->msgs);
	d->now = 1000;
	d->s = smtp_session_new(cfg, d->now);
}

static void drv_greet(struct drv *d)
{
	smtp_session_greet(d->s, d->now);
	pump(d);
	smtp_session_flushed(d->s, d->now);
}

static void drv_send(struct drv *d, const char *p, size_t n)
{
	buf_add(&d->in, p, n);
	pump(d);
	smtp_session_flushed(d->s, d->now);
	d->now += 10;
}

/* drv_start: default limits, a plain session, the banner sent. */
static void drv_start(struct drv *d)
{
	limit_reset();
	drv_init(d, &(struct smtp_config){ "trap.example", false, false });
	drv_greet(d);
}

/* repeat: n copies of byte c. */
static void repeat(struct buf *b, int c, size_t n)
{
	while (n--)
		buf_addch(b, c);
}

#define SEND(d, lit) drv_send(d, lit, sizeof(lit) - 1)

static void drv_free(struct drv *d)
{
	smtp_session_free(d->s);
	smtp_message_free(d->first);
	buf_free(&d->in);
	buf_free(&d->out);
	buf_free(&d->msgs);
}

static void facts_text(const smtp_session *s, struct buf *out)
{
	struct smtp_dialect *dl = smtp_session_dialect(s);
	size_t i;

	buf_printf(out, "%s\n", dl->id);
	for (i = 0; i < dl->nfacts; i++)
		buf_printf(out, "%s\n", dl->facts[i]);
	smtp_dialect_free(dl);
}

static bool has_fact(const char *facts, const char *want)
{
	size_t n = strlen(want);
	const char *p = facts;

	while ((p = strstr(p, want))) {
		if ((p == facts || p[-1] == '\n') && p[n] == '\n')
			return true;
		p += n;
	}
	return false;
}

/* ---- the table ---- */

struct tcase {
	const char *name;
	const char *limits;        /* "name=value" or NULL */
	bool no_greet, tls, tls_required;
	struct step steps[20];
	const char *out;
	const char *facts[20];
	const char *msgs;          /* the messages as keep_message writes them, or NULL */
	enum smtp_end end;
};

static const struct tcase cases[] = {
	{ "normal session", NULL, false, false, false,
	  { C("EHLO client.example.net\r\n"), C("MAIL FROM:<a@b.example>\r\n"),
	    C("RCPT TO:<x@y.example>\r\n"), C("DATA\r\n"), C("Subject: t\r\n\r\nbody\r\n.\r\n"),
	    C("QUIT\r\n") },
	  BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO Q(1) BYE,
	  { "helo_verb=EHLO", "helo_syntax=EHLO <host>", "helo_shape=dotted", "pre=EHLO",
	    "mail_syntax=MAIL FROM:<addr>", "rcpt_syntax=RCPT TO:<addr>", "txn=MAIL RCPT DATA",
	    "pipelining=no", "data_early=no", "line_end=crlf", "data_line_end=crlf",
	    "starttls=not-offered", "quit=yes", "end=quit", "after_dot=waited", "messages=1",
	    "pregreet=no", "rcpts_max=1", "helo_case=lower" },
	  "#1 helo=client.example.net from=<a@b.example> rcpts=x@y.example size=-1 8bit=0 tls=0 "
	  "data=Subject: t\\r\\n\\r\\nbody\\r\\n\n",
	  SMTP_END_QUIT },
	{ "pipelined after EHLO", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n"),
	    C("body\r\n.\r\nQUIT\r\n") },
	  BANNER EHLO_R MAIL_OK RCPT_OK RCPT_OK DATA_GO Q(1) BYE,
	  { "pipelining=yes", "data_early=no", "after_dot=pipelined", "rcpts_max=2-5",
	    "helo_shape=word", "txn=MAIL RCPT DATA" },
	  "#1 helo=x from=<a@b> rcpts=c@d,e@f size=-1 8bit=0 tls=0 data=body\\r\\n\n",
	  SMTP_END_QUIT },
	{ "blind pipelining after HELO, body before 354", NULL, false, false, false,
	  { C("HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nbody\r\n.\r\nQUIT\r\n") },
	  BANNER HELO_R MAIL_OK RCPT_OK DATA_GO Q(1) BYE,
	  { "pipelining=blind", "data_early=yes", "helo_verb=HELO", "pre=HELO", "quit=yes" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=body\\r\\n\n",
	  SMTP_END_QUIT },
	{ "NOOP then MAIL in one segment is unsafe pipelining", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("NOOP\r\nMAIL FROM:<a@b>\r\n") },
	  BANNER EHLO_R OK MAIL_OK,
	  { "pipelining=unsafe", "pre=EHLO NOOP", "noop=yes" },
	  "", SMTP_END_OPEN },
	{ "pregreet", NULL, true, false, false,
	  { C("EHLO x\r\n"), OP('G'), C("QUIT\r\n") },
	  BANNER EHLO_R BYE,
	  { "pregreet=yes", "pipelining=no", "pre=EHLO QUIT", "txn=none", "quit=yes" },
	  "", SMTP_END_QUIT },
	{ "bare LF everywhere", NULL, false, false, false,
	  { C("HELO x\n"), C("MAIL FROM:<a@b>\n"), C("RCPT TO:<c@d>\n"), C("DATA\n"),
	    C("line one\nline two\n.\n"), C("QUIT\n") },
	  BANNER HELO_R MAIL_OK RCPT_OK DATA_GO Q(1) BYE,
	  { "line_end=lf", "data_line_end=lf", "helo_verb=HELO" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=line one\\nline two\\n\n",
	  SMTP_END_QUIT },
	{ "mixed line ends", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("MAIL FROM:<a@b>\n") },
	  BANNER EHLO_R MAIL_OK,
	  { "line_end=mixed", "data_line_end=n/a", "data_early=n/a", "end=open" },
	  "", SMTP_END_OPEN },
	{ "bad sequences", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("DATA\r\n"), C("RCPT TO:<a@b>\r\n"), C("MAIL FROM:<a@b>\r\n"),
	    C("MAIL FROM:<a@b>\r\n"), C("DATA\r\n"), C("RCPT TO:<>\r\n"), C("RCPT TO:x@y\r\n"),
	    C("DATA extra\r\n") },
	  BANNER EHLO_R "503 5.5.1 Error: need MAIL command\r\n"
	  "503 5.5.1 Error: need MAIL command\r\n" MAIL_OK "503 5.5.1 Error: nested MAIL command\r\n"
	  "503 5.5.1 Error: need RCPT command\r\n" "501 5.1.3 Bad recipient address syntax\r\n"
	  RCPT_OK "501 5.5.4 Syntax: DATA\r\n",
	  { "pre=EHLO DATA RCPT", "txn=MAIL DATA RCPT DATA", "rcpt_syntax=RCPT TO:<addr>",
	    "junk=6-20" },
	  "", SMTP_END_OPEN },
	{ "MAIL and RCPT syntax and parameters", NULL, false, false, false,
	  { C("MAIL FROM <a@b>\r\n"), C("MAIL FROM:<a@b> SIZE=99999999999\r\n"),
	    C("MAIL FROM:<a@b> FOO=1\r\n"), C("MAIL FROM:<a@b> BODY=BINARYMIME\r\n"),
	    C("MAIL FROM:<a@b\r\n"), C("mail from: <> size=100 body=8bitmime\r\n"),
	    C("RCPT TO:<a@b> NOTIFY=NEVER\r\n"), C("RCPT TO: c@d\r\n"), C("DATA\r\n"), C(".\r\n") },
	  BANNER "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
	  "552 5.3.4 Message size exceeds fixed limit\r\n" "555 5.5.4 Unsupported option\r\n"
	  "501 5.5.4 Unsupported BODY parameter\r\n" "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
	  MAIL_OK "555 5.5.4 Unsupported option\r\n" RCPT_OK DATA_GO Q(1),
	  { "helo_verb=none", "helo_shape=none", "pre=none", "mail_syntax=MAIL <malformed>",
	    "rcpt_syntax=RCPT TO:<addr> NOTIFY=v", "txn=MAIL mail RCPT DATA", "junk=2-5" },
	  "#1 helo= from=<> rcpts=c@d size=100 8bit=1 tls=0 data=\n",
	  SMTP_END_OPEN },
	{ "NUL byte in a command", NULL, false, false, false,
	  { C("HELO a\0b\r\n"), C("HELO ok\r\n") },
	  BANNER "500 5.5.2 Error: NUL character in command\r\n" HELO_R,
	  { "nul=yes", "pre=<nul> HELO", "helo_syntax=HELO <host>", "helo_shape=word" },
	  "", SMTP_END_OPEN },
	{ "TLS ClientHello instead of a command", NULL, false, false, false,
	  { C("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x0a\x5d\x00\x17\r\n\x16"), C("more") },
	  BANNER "421 4.7.0 trap.example Error: TLS handshake without STARTTLS\r\n",
	  { "pre=<tls>", "end=not-smtp", "quit=no" },
	  "", SMTP_END_NOT_SMTP },
	{ "HTTP request on the SMTP port", NULL, false, false, false,
	  { C("GET / HTTP/1.1\r\nHost: trap\r\n\r\n") },
	  BANNER "421 4.7.0 trap.example Error: this is an SMTP server\r\n",
	  { "pre=GET", "end=not-smtp" },
	  "", SMTP_END_NOT_SMTP },
	{ "client vanishes mid-DATA", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"), C("DATA\r\n"),
	    C("partial\r\nbo"), OP('X') },
	  BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO,
	  { "quit=no", "end=client-close", "messages=0", "txn=MAIL RCPT DATA" },
	  "", SMTP_END_CLIENT_CLOSE },
	{ "dot-unstuffing, final dot split", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"), C("DATA\r\n"),
	    C("..leading\r\na . b\r\n.x\r\n...\r\n..\r\nend\r\n."), C("\r"), C("\n"),
	    C("QUIT\r\n") },
	  BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO Q(1) BYE,
	  { "data_line_end=crlf" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 "
	  "data=.leading\\r\\na . b\\r\\nx\\r\\n..\\r\\n.\\r\\nend\\r\\n\n",
	  SMTP_END_QUIT },
	{ "dot, CR, not LF", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"), C("DATA\r\n"),
	    C("a\r\n.\rb\r\n.\r\n") },
	  BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO Q(1),
	  { "data_line_end=crlf" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=a\\r\\n\\rb\\r\\n\n",
	  SMTP_END_OPEN },
	{ "three transactions with RSET", NULL, false, false, false,
	  { C("EHLO x\r\n"),
	    C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"), C("DATA\r\n"), C("one\r\n.\r\n"),
	    C("RSET\r\n"),
	    C("MAIL FROM:<e@f>\r\n"), C("RCPT TO:<g@h>\r\n"), C("RCPT TO:<i@j>\r\n"), C("DATA\r\n"),
	    C("two\r\n.\r\n"), C("RSET\r\n"),
	    C("MAIL FROM:<k@l>\r\n"), C("RCPT TO:<m@n>\r\n"), C("DATA\r\n"), C("three\r\n.\r\n"),
	    C("QUIT\r\n") },
	  BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO Q(1) OK MAIL_OK RCPT_OK RCPT_OK DATA_GO Q(2) OK
	  MAIL_OK RCPT_OK DATA_GO Q(3) BYE,
	  { "messages=2-5", "rset=yes", "txn=MAIL RCPT DATA", "rcpts_max=2-5", "after_dot=waited" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=one\\r\\n\n"
	  "#2 helo=x from=<e@f> rcpts=g@h,i@j size=-1 8bit=0 tls=0 data=two\\r\\n\n"
	  "#3 helo=x from=<k@l> rcpts=m@n size=-1 8bit=0 tls=0 data=three\\r\\n\n",
	  SMTP_END_QUIT },
	{ "deferred 250 with commands pipelined after the dot", NULL, false, false, false,
	  { OP('M'), C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"),
	    C("DATA\r\n"), C("body\r\n.\r\nMAIL FROM:<e@f>\r\nRCPT TO:<g@h>\r\n"),
	    OUT(BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO), OP('S'), C("DATA\r\n"), C("b2\r\n.\r\n"),
	    OUT(BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO Q(1) MAIL_OK RCPT_OK DATA_GO),
	    OP('S'), C("QUIT\r\n") },
	  BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO Q(1) MAIL_OK RCPT_OK DATA_GO Q(2) BYE,
	  { "after_dot=pipelined", "pipelining=no", "messages=2-5" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=body\\r\\n\n"
	  "#2 helo=x from=<e@f> rcpts=g@h size=-1 8bit=0 tls=0 data=b2\\r\\n\n",
	  SMTP_END_QUIT },
	{ "store fails: 451, session goes on", NULL, false, false, false,
	  { OP('M'), C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"),
	    C("DATA\r\n"), C("body\r\n.\r\n"), OP('F'), C("NOOP\r\n") },
	  BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO
	  "451 4.3.0 Error: message not stored, try again later\r\n" OK,
	  { "messages=1" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=body\\r\\n\n",
	  SMTP_END_OPEN },
	{ "client gone while the message is stored", NULL, false, false, false,
	  { OP('M'), C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"),
	    C("DATA\r\n"), C("body\r\n.\r\n"), OP('X'), OP('S') },
	  BANNER EHLO_R MAIL_OK RCPT_OK DATA_GO,
	  { "end=client-close", "quit=no" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=body\\r\\n\n",
	  SMTP_END_CLIENT_CLOSE },
	{ "STARTTLS resets the session", NULL, false, true, false,
	  { C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("STARTTLS\r\n"), OP('L'),
	    C("RCPT TO:<c@d>\r\n"), C("EHLO y\r\n"), C("STARTTLS\r\n"),
	    C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"), C("DATA\r\n"), C("secret\r\n.\r\n"),
	    C("QUIT\r\n") },
	  BANNER EHLO_TLS_R MAIL_OK TLS_GO "503 5.5.1 Error: need MAIL command\r\n" EHLO_R
	  "554 5.5.1 Error: TLS already active\r\n" MAIL_OK RCPT_OK DATA_GO Q(1) BYE,
	  { "starttls=yes", "tls=yes", "pre=EHLO", "txn=MAIL STARTTLS", "rcpt_syntax=none",
	    "mail_syntax=MAIL FROM:<addr>", "starttls_injection=no", "data_early=n/a" },
	  "#1 helo=y from=<a@b> rcpts=c@d size=-1 8bit=0 tls=1 data=secret\\r\\n\n",
	  SMTP_END_QUIT },
	{ "plaintext pipelined behind STARTTLS is dropped", NULL, false, true, false,
	  { C("EHLO x\r\n"), C("STARTTLS\r\nMAIL FROM:<evil@x>\r\n"), OP('L'), C("QUIT\r\n") },
	  BANNER EHLO_TLS_R TLS_GO BYE,
	  { "starttls_injection=yes", "starttls=yes", "pre=EHLO STARTTLS" },
	  "", SMTP_END_QUIT },
	{ "a capture cannot see inside TLS", NULL, false, true, false,
	  { C("EHLO x\r\n"), C("STARTTLS\r\n"), OP('U'), C("\x16\x03\x01 encrypted") },
	  BANNER EHLO_TLS_R TLS_GO,
	  { "starttls=yes", "tls=no", "end=tls-unseen", "pre=EHLO STARTTLS" },
	  "", SMTP_END_TLS_UNSEEN },
	{ "TLS handshake fails", NULL, false, true, false,
	  { C("EHLO x\r\n"), C("STARTTLS\r\n"), OP('Y'), C("QUIT\r\n") },
	  BANNER EHLO_TLS_R TLS_GO,
	  { "end=tls-failed", "quit=no" },
	  "", SMTP_END_TLS_FAILED },
	{ "STARTTLS offered, not used", NULL, false, true, false,
	  { C("EHLO x\r\n"), C("QUIT\r\n") },
	  BANNER EHLO_TLS_R BYE,
	  { "starttls=no", "tls=no" },
	  "", SMTP_END_QUIT },
	{ "TLS required", NULL, false, true, true,
	  { C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("NOOP\r\n") },
	  BANNER EHLO_TLS_R "530 5.7.0 Must issue a STARTTLS command first\r\n" OK,
	  { "junk=1" },
	  "", SMTP_END_OPEN },
	{ "idle timeout", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("MAIL FROM:<a@b>\r\n"), OP('T'), C("RCPT TO:<c@d>\r\n") },
	  BANNER EHLO_R MAIL_OK "421 4.4.2 trap.example Error: timeout exceeded\r\n",
	  { "end=timeout", "quit=no" },
	  "", SMTP_END_TIMEOUT },
	{ "the other verbs", NULL, false, false, false,
	  { C("EHLO x\r\n"), C("NOOP\r\n"), C("VRFY root\r\n"), C("VRFY\r\n"), C("HELP\r\n"),
	    C("EXPN list\r\n"), C("AUTH LOGIN\r\n"), C("XYZZY\r\n"), C("\r\n"), C("RSET\r\n"),
	    C("RSET now\r\n"), C("BDAT 5\r\nab"), C("cde"), C("BDAT x\r\n"), C("STARTTLS\r\n"),
	    C("QUIT\r\n") },
	  BANNER EHLO_R OK "252 2.0.0 Cannot VRFY user, but will accept message\r\n"
	  "501 5.5.4 Syntax: VRFY address\r\n"
	  "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT\r\n"
	  "502 5.5.1 Error: command not implemented\r\n"
	  "503 5.5.1 Error: authentication not enabled\r\n"
	  "500 5.5.2 Error: command not recognized\r\n" "500 5.5.2 Error: bad syntax\r\n" OK
	  "501 5.5.4 Syntax: RSET\r\n" "502 5.5.1 Error: BDAT not supported\r\n"
	  "501 5.5.4 Syntax: BDAT size [LAST]\r\n" "502 5.5.1 Error: command not implemented\r\n"
	  BYE,
	  { "noop=yes", "vrfy=yes", "help=yes", "rset=yes", "junk=6-20",
	    "pre=EHLO NOOP VRFY HELP EXPN AUTH XYZZY <empty> RSET BDAT STARTTLS QUIT" },
	  "", SMTP_END_QUIT },
	{ "junk limit", "smtp_junk=3", false, false, false,
	  { C("A\r\nB\r\nC\r\nD\r\n") },
	  BANNER "500 5.5.2 Error: command not recognized\r\n"
	  "500 5.5.2 Error: command not recognized\r\n" "500 5.5.2 Error: command not recognized\r\n"
	  "421 4.7.0 trap.example Error: too many errors\r\n",
	  { "end=errors", "pre=A B C" },
	  "", SMTP_END_ERRORS },
	{ "a stored message resets the junk count", "smtp_junk=2", false, false, false,
	  { C("XX\r\n"), C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"), C(".\r\n"),
	    C("YY\r\n"), C("ZZ\r\n") },
	  BANNER "500 5.5.2 Error: command not recognized\r\n" MAIL_OK RCPT_OK DATA_GO Q(1)
	  "500 5.5.2 Error: command not recognized\r\n" "500 5.5.2 Error: command not recognized\r\n"
	  "421 4.7.0 trap.example Error: too many errors\r\n",
	  { "end=errors", "junk=2-5" },
	  "#1 helo= from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=\n",
	  SMTP_END_ERRORS },
	{ "transaction limit", "smtp_transactions=1", false, false, false,
	  { C("HELO x\r\n"), C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<c@d>\r\n"), C("DATA\r\n"),
	    C("x\r\n.\r\n"), C("MAIL FROM:<a@b>\r\n") },
	  BANNER HELO_R MAIL_OK RCPT_OK DATA_GO Q(1)
	  "421 4.7.0 trap.example Error: too many messages in one session\r\n",
	  { "end=limit" },
	  "#1 helo=x from=<a@b> rcpts=c@d size=-1 8bit=0 tls=0 data=x\\r\\n\n",
	  SMTP_END_LIMIT },
	{ "command limit", "smtp_commands=10", false, false, false,
	  { C("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"
	      "NOOP\r\nNOOP\r\n") },
	  BANNER OK OK OK OK OK OK OK OK OK OK "421 4.7.0 trap.example Error: too many commands\r\n",
	  { "end=limit", "pre=NOOP" },
	  "", SMTP_END_LIMIT },
	{ "recipient limit", "smtp_rcpts=2", false, false, false,
	  { C("MAIL FROM:<a@b>\r\n"), C("RCPT TO:<1@b>\r\nRCPT TO:<2@b>\r\nRCPT TO:<3@b>\r\n"),
	    C("DATA\r\n"), C(".\r\n") },
	  BANNER MAIL_OK RCPT_OK RCPT_OK "452 4.5.3 Error: too many recipients\r\n" DATA_GO Q(1),
	  { "rcpts_max=2-5", "junk=0" },
	  "#1 helo= from=<a@b> rcpts=1@b,2@b size=-1 8bit=0 tls=0 data=\n",
	  SMTP_END_OPEN },
	{ "line at the length limit and one byte over", "smtp_line=512", false, false, false,
	  { C("HELO "
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaa\r\n"),
	    C("HELO "
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	      "aaaaaa\r\n"),
	    C("QUIT\r\n") },
	  BANNER HELO_R "500 5.5.2 Error: line too long\r\n" BYE,
	  { "long_line=yes", "pre=HELO <long> QUIT" },
	  "", SMTP_END_QUIT },
};

/* run: one case; split_step/split_at cut one client segment in two (0: none;
 * split_at == SIZE_MAX: one byte at a time). Fills out, msgs, facts. */
static void run(const struct tcase *tc, size_t split_step, size_t split_at,
		struct buf *out, struct buf *msgs, struct buf *facts, enum smtp_end *end)
{
	struct smtp_config cfg = { "trap.example", tc->tls, tc->tls_required };
	struct drv d;
	size_t i, k;
	char err[128];

	limit_reset();
	if (tc->limits && limit_set(tc->limits, err, sizeof(err)) != 0)
		fail_msg("%s: %s", tc->name, err);
	drv_init(&d, &cfg);
	if (!tc->no_greet)
		drv_greet(&d);
	for (i = 0; i < sizeof(tc->steps) / sizeof(tc->steps[0]) && tc->steps[i].op; i++) {
		const struct step *st = &tc->steps[i];

		switch (st->op) {
		case 'C':
			if (i + 1 != split_step) {
				drv_send(&d, st->p, st->n);
			} else if (split_at == SIZE_MAX) {
				for (k = 0; k < st->n; k++) {
					buf_add(&d.in, st->p + k, 1);
					pump(&d);
				}
				smtp_session_flushed(d.s, d.now);
				d.now += 10;
			} else {
				buf_add(&d.in, st->p, split_at);
				pump(&d);
				buf_add(&d.in, st->p + split_at, st->n - split_at);
				pump(&d);
				smtp_session_flushed(d.s, d.now);
				d.now += 10;
			}
			break;
		case 'G':
			drv_greet(&d);
			break;
		case 'M':
			d.manual_store = true;
			break;
		case 'S':
		case 'F':
			store(&d, st->op == 'S');
			pump(&d);
			smtp_session_flushed(d.s, d.now);
			break;
		case 'L':
			assert_int_equal(smtp_session_want(d.s), SMTP_WANT_TLS);
			buf_reset(&d.in);       /* the rest belongs to the TLS layer */
			smtp_session_tls_done(d.s, SMTP_TLS_OK, d.now);
			pump(&d);
			break;
		case 'U':
		case 'Y':
			smtp_session_tls_done(d.s, st->op == 'U' ? SMTP_TLS_UNSEEN : SMTP_TLS_FAILED, d.now);
			pump(&d);
			break;
		case 'X':
			smtp_session_closed(d.s, d.now);
			break;
		case 'T':
			smtp_session_timeout(d.s, d.now);
			take_output(&d);
			break;
		case 'O':
			if (d.out.len != st->n || memcmp(d.out.data, st->p, st->n) != 0) {
				struct buf g = BUF_INIT, w = BUF_INIT;

				esc(&g, d.out.data, d.out.len);
				esc(&w, st->p, st->n);
				fail_msg("%s: output so far\n got: %s\nwant: %s", tc->name, g.data, w.data);
			}
			break;
		default:
			fail_msg("bad step %c", st->op);
		}
	}
	buf_add(out, d.out.data, d.out.len);
	buf_add(msgs, d.msgs.data, d.msgs.len);
	facts_text(d.s, facts);
	*end = smtp_session_end(d.s);
	drv_free(&d);
	limit_reset();
}

static void test_table(void **state)
{
	size_t c, i, k, variants = 0;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct tcase *tc = &cases[c];
		struct buf out = BUF_INIT, msgs = BUF_INIT, facts = BUF_INIT;
		struct buf g = BUF_INIT, w = BUF_INIT;
		enum smtp_end end;

		run(tc, 0, 0, &out, &msgs, &facts, &end);
		if (strlen(tc->out) != out.len || memcmp(out.data, tc->out, out.len) != 0) {
			esc(&g, out.data, out.len);
			esc(&w, tc->out, strlen(tc->out));
			fail_msg("%s: replies\n got: %s\nwant: %s", tc->name, g.data, w.data);
		}
		if (strcmp(msgs.data, tc->msgs) != 0)
			fail_msg("%s: messages\n got: %s\nwant: %s", tc->name, msgs.data, tc->msgs);
		for (i = 0; i < sizeof(tc->facts) / sizeof(tc->facts[0]) && tc->facts[i]; i++)
			if (!has_fact(facts.data, tc->facts[i]))
				fail_msg("%s: fact %s missing; got:\n%s", tc->name, tc->facts[i], facts.data);
		if (end != tc->end)
			fail_msg("%s: end %s, want %s", tc->name, smtp_end_name(end), smtp_end_name(tc->end));

		/* every split of every client segment gives the same session */
		for (i = 0; i < sizeof(tc->steps) / sizeof(tc->steps[0]) && tc->steps[i].op; i++) {
			if (tc->steps[i].op != 'C')
				continue;
			for (k = 0; k <= tc->steps[i].n; k++) {
				struct buf o2 = BUF_INIT, m2 = BUF_INIT, f2 = BUF_INIT;
				size_t at = k == tc->steps[i].n ? SIZE_MAX : k;
				enum smtp_end e2;

				run(tc, i + 1, at, &o2, &m2, &f2, &e2);
				variants++;
				if (o2.len != out.len || memcmp(o2.data, out.data, out.len) != 0 ||
				    strcmp(m2.data, msgs.data) != 0 || strcmp(f2.data, facts.data) != 0 ||
				    e2 != end)
					fail_msg("%s: segment %zu split at %zu differs:\n%s%s%s\nvs whole:\n%s%s%s",
						 tc->name, i, k, o2.data, m2.data, f2.data, out.data,
						 msgs.data, facts.data);
				buf_free(&o2);
				buf_free(&m2);
				buf_free(&f2);
			}
		}
		buf_free(&out);
		buf_free(&msgs);
		buf_free(&facts);
		buf_free(&g);
		buf_free(&w);
	}
	print_message("%zu cases, %zu split variants\n", sizeof(cases) / sizeof(cases[0]), variants);
}

/* ---- sessions too big for the table ---- */

static size_t count(const char *hay, size_t n, const char *needle)
{
	size_t c = 0, k = strlen(needle);
	const char *p = hay, *end = hay + n;

	while (p < end && (p = memmem(p, (size_t)(end - p), needle, k))) {
		c++;
		p += k;
	}
	return c;
}

static void test_long_line(void **state)
{
	struct drv d;
	struct buf line = BUF_INIT;
	struct smtp_dialect *dl;
	size_t i;

	(void)state;
	drv_start(&d);
	buf_addstr(&line, "HELO ");
	repeat(&line, 'a', 100000);
	buf_addstr(&line, "\r\n");
	/* in 1000-byte chunks: the core keeps only LIMIT_SMTP_LINE of it */
	for (i = 0; i < line.len; i += 1000)
		drv_send(&d, line.data + i, line.len - i < 1000 ? line.len - i : 1000);
	SEND(&d, "HELO short\r\n");
	assert_string_equal(d.out.data, BANNER "500 5.5.2 Error: line too long\r\n" HELO_R);
	dl = smtp_session_dialect(d.s);
	assert_int_equal(dl->nlines, 2);
	assert_int_equal(dl->lines[0].len, (size_t)limit(LIMIT_SMTP_LINE));
	assert_true(dl->lines[0].flags & SMTP_LINE_TOO_LONG);
	assert_int_equal(dl->lines[0].reply, 500);
	assert_string_equal(dl->lines[1].text, "HELO short");
	assert_int_equal(dl->lines[1].reply, 250);
	smtp_dialect_free(dl);
	buf_free(&line);
	drv_free(&d);
}

static void test_ten_thousand_rcpts(void **state)
{
	struct drv d;
	struct buf cmds = BUF_INIT;
	size_t i;

	(void)state;
	drv_start(&d);
	buf_addstr(&cmds, "EHLO x\r\nMAIL FROM:<a@b>\r\n");
	for (i = 0; i < 10000; i++)
		buf_printf(&cmds, "RCPT TO:<r%zu@example.org>\r\n", i);
	drv_send(&d, cmds.data, cmds.len);
	/* 1,000 accepted (LIMIT_SMTP_RCPTS), then 452 until command 10,000 */
	assert_int_equal(count(d.out.data, d.out.len, RCPT_OK), 1000);
	assert_int_equal(count(d.out.data, d.out.len, "452 4.5.3 Error: too many recipients\r\n"),
			 10000 - 2 - 1000);
	assert_int_equal(count(d.out.data, d.out.len, "\r\n"), 1 + 5 + 1 + 9998 + 1);
	assert_true(d.out.len > 60);
	assert_string_equal(d.out.data + d.out.len - 49,
			    "421 4.7.0 trap.example Error: too many commands\r\n");
	assert_int_equal(smtp_session_end(d.s), SMTP_END_LIMIT);
	assert_int_equal(smtp_session_want(d.s), SMTP_WANT_CLOSE);
	buf_free(&cmds);
	drv_free(&d);
}

static void test_message_too_big(void **state)
{
	struct drv d;
	struct buf body = BUF_INIT;
	char err[64];
	size_t i;

	(void)state;
	limit_reset();
	assert_int_equal(limit_set("message_size=2048", err, sizeof(err)), 0);
	drv_init(&d, &(struct smtp_config){ "trap.example", false, false });
	drv_greet(&d);
	SEND(&d, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	for (i = 0; i < 100; i++)
		buf_addstr(&body, "0123456789012345678901234567890123456789\r\n");
	buf_addstr(&body, ".\r\n");
	drv_send(&d, body.data, body.len);
	SEND(&d, "MAIL FROM:<a@b> SIZE=2049\r\n");
	SEND(&d, "MAIL FROM:<a@b> SIZE=2048\r\n");
	assert_string_equal(d.out.data,
			    BANNER "250-trap.example\r\n250-PIPELINING\r\n250-SIZE 2048\r\n"
			    "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n" MAIL_OK RCPT_OK DATA_GO
			    "552 5.3.4 Error: message file too big\r\n"
			    "552 5.3.4 Message size exceeds fixed limit\r\n" MAIL_OK);
	assert_int_equal(d.taken, 0);
	buf_free(&body);
	drv_free(&d);
	limit_reset();
}

static void test_dialect_lines(void **state)
{
	struct drv d;
	struct smtp_dialect *dl;
	char err[64];
	size_t i;

	(void)state;
	limit_reset();
	drv_init(&d, &(struct smtp_config){ "trap.example", false, false });
	SEND(&d, "ehlo  [192.0.2.1] \n");          /* before the banner */
	drv_greet(&d);
	SEND(&d, "mail from: <a@b>\r\nrcpt to:<c@d>\r\n");
	SEND(&d, "data\r\n");
	SEND(&d, "x\r\n.\r\n");
	dl = smtp_session_dialect(d.s);
	assert_int_equal(dl->nlines, 5);
	assert_string_equal(dl->lines[0].text, "ehlo  [192.0.2.1] ");
	assert_int_equal(dl->lines[0].flags, SMTP_LINE_BARE_LF | SMTP_LINE_PREGREET);
	assert_int_equal(dl->lines[0].reply, 250);
	assert_int_equal(dl->lines[1].flags, 0);
	assert_int_equal(dl->lines[2].flags, SMTP_LINE_PIPELINED);
	assert_string_equal(dl->lines[4].text, ".");
	assert_int_equal(dl->lines[4].flags, SMTP_LINE_DATA_END);
	assert_int_equal(dl->lines[4].reply, 250);
	assert_int_equal(dl->pregreet_bytes, 19);
	assert_int_equal(dl->messages, 1);
	assert_int_equal(dl->recipients, 1);
	assert_int_equal(dl->commands, 4);
	assert_int_equal(dl->nid_facts, 12);
	assert_string_equal(dl->facts[1], "helo_syntax=ehlo  <host> ");
	assert_string_equal(dl->facts[2], "helo_shape=ip-literal");
	assert_string_equal(dl->facts[4], "mail_syntax=mail from: <addr>");
	assert_string_equal(dl->facts[5], "rcpt_syntax=rcpt to:<addr>");
	assert_string_equal(dl->facts[6], "txn=mail rcpt data");
	assert_string_equal(dl->facts[10], "data_line_end=crlf");
	assert_non_null(strstr(dl->canonical, "pipelining=yes\n"));
	assert_int_equal(strncmp(dl->id, "dialect:", 8), 0);
	assert_int_equal(strlen(dl->id), 16);
	smtp_dialect_free(dl);
	drv_free(&d);

	/* the record is bounded by LIMIT_SMTP_DIALECT_LINES */
	assert_int_equal(limit_set("smtp_dialect_lines=4", err, sizeof(err)), 0);
	drv_init(&d, &(struct smtp_config){ "trap.example", false, false });
	drv_greet(&d);
	for (i = 0; i < 10; i++)
		SEND(&d, "NOOP\r\n");
	dl = smtp_session_dialect(d.s);
	assert_int_equal(dl->nlines, 4);
	assert_int_equal(dl->lines_dropped, 6);
	assert_int_equal(dl->commands, 10);
	smtp_dialect_free(dl);
	drv_free(&d);
	limit_reset();
}

static void test_shape_caps(void **state)
{
	struct drv d;
	struct buf line = BUF_INIT;
	struct smtp_dialect *dl;

	(void)state;
	drv_start(&d);
	buf_addstr(&line, "HELO");
	repeat(&line, '\t', 1000);
	buf_addstr(&line, "x\r\nMAIL");
	repeat(&line, ' ', 1000);
	buf_addstr(&line, "FROM:<a@b>\r\n");
	drv_send(&d, line.data, line.len);
	assert_string_equal(d.out.data, BANNER HELO_R MAIL_OK);
	dl = smtp_session_dialect(d.s);
	/* shapes are capped (96 bytes and "..."), whatever the line holds */
	assert_int_equal(strlen(dl->facts[1]), strlen("helo_syntax=") + 96 + 3);
	assert_int_equal(strlen(dl->facts[4]), strlen("mail_syntax=") + 96 + 3);
	assert_int_equal(strncmp(dl->facts[1], "helo_syntax=HELO\\x09\\x09", 24), 0);
	smtp_dialect_free(dl);
	buf_free(&line);
	drv_free(&d);
}

static void test_driver_contract(void **state)
{
	smtp_session *s;
	size_t len;
	struct smtp_config cfg = { "bad host\r\nname", false, false };

	(void)state;
	limit_reset();
	s = smtp_session_new(&cfg, 0);
	assert_int_equal(smtp_session_want(s), SMTP_WANT_GREET);
	/* before the banner nothing is consumed, but it is seen */
	assert_int_equal(smtp_session_feed(s, "EHLO x\r\n", 8, 5), 0);
	assert_int_equal(smtp_session_feed(s, "EHLO x\r\nQUIT\r\n", 14, 6), 0);
	smtp_session_greet(s, 10);
	/* the hostname cannot inject a line */
	assert_string_equal(smtp_session_output(s, &len), "220 bad-host--name ESMTP\r\n");
	smtp_session_output_taken(s, 4);
	assert_string_equal(smtp_session_output(s, &len), "bad-host--name ESMTP\r\n");
	assert_int_equal(smtp_session_feed(s, "EHLO x\r\nQUIT\r\n", 14, 11), 14);
	assert_int_equal(smtp_session_want(s), SMTP_WANT_CLOSE);
	/* after the end, bytes are swallowed */
	assert_int_equal(smtp_session_feed(s, "NOOP\r\n", 6, 12), 6);
	assert_null(smtp_session_take_message(s));
	smtp_session_free(s);
	smtp_session_free(NULL);
	smtp_message_free(NULL);
	smtp_dialect_free(NULL);
}

/* ---- dialect: shapes, stability, real clients ---- */

static void test_helo_shapes(void **state)
{
	static const struct { const char *in; const char *want; } shapes[] = {
		{ "", "empty" },
		{ "[192.0.2.7]", "ip-literal" },
		{ "[IPv6:2001:db8::1]", "ip6-literal" },
		{ "[2001:db8::1]", "bad-literal" },
		{ "[300.1.1.1]", "bad-literal" },
		{ "[192.0.2.7", "bad-literal" },
		{ "192.0.2.7", "bare-ip" },
		{ "2001:db8::1", "bare-ip" },
		{ "JOHN-PC", "windows-pc" },
		{ "john-pc", "windows-pc" },
		{ "WIN-8K2J3H4G5F6", "windows-pc" },
		{ "DESKTOP-AB12CD3", "windows-pc" },
		{ "localhost", "word" },
		{ "xqzvbnm", "word" },
		{ "mail.example.net", "dotted" },
		{ "mail.example.net.", "dotted" },
		{ "gmail.com", "wellknown" },
		{ "mx.Yahoo.COM", "wellknown" },
		{ "notgmail.com", "dotted" },
		{ "host-192-0-2-7.dyn.example.net", "dynamic-rdns" },
		{ "7.2.0.192.in-addr.example.net", "dynamic-rdns" },
		{ "1-2-3.example.net", "dotted" },
		{ "a..b", "other" },
		{ ".example", "other" },
		{ "bad name", "other" },
		{ "x@y", "other" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const char *got = smtp_helo_shape(shapes[i].in, strlen(shapes[i].in));

		if (strcmp(got, shapes[i].want) != 0)
			fail_msg("helo '%s': got %s, want %s", shapes[i].in, got, shapes[i].want);
	}
	assert_string_equal(smtp_helo_shape("a\0b", 3), "other");
}

/* facts_of: a live-style session from client segments; "" ends the list. */
static char *session_id(const char *const *segs, bool pregreet, int64_t step_ms, char *facts_out,
			size_t facts_len)
{
	static char id[SMTP_DIALECT_ID_LEN];
	struct drv d;
	struct smtp_dialect *dl;
	size_t i;

	drv_init(&d, &(struct smtp_config){ "trap.example", false, false });
	if (pregreet)
		drv_send(&d, segs[0], strlen(segs[0]));
	drv_greet(&d);
	for (i = pregreet ? 1 : 0; segs[i]; i++) {
		drv_send(&d, segs[i], strlen(segs[i]));
		d.now += step_ms;
	}
	smtp_session_closed(d.s, d.now);
	dl = smtp_session_dialect(d.s);
	memcpy(id, dl->id, sizeof(id));
	if (facts_out) {
		struct buf b = BUF_INIT;

		for (i = 0; i < dl->nfacts; i++)
			buf_printf(&b, "%s\n", dl->facts[i]);
		snprintf(facts_out, facts_len, "%s", b.data);
		buf_free(&b);
	}
	smtp_dialect_free(dl);
	drv_free(&d);
	return id;
}

/*
 * An illustrative bot (not a real family's dialect): lower-case helo with a
 * random word, the envelope pipelined in one write without waiting for
 * PIPELINING, "MAIL FROM: <...>" with a space, bare LF in the body, no QUIT.
 */
static const char *const bot_a1[] = {
	"helo qwzkrt\r\n",
	"MAIL FROM: <jane@shop.example>\r\nRCPT TO: <u1@example.org>\r\nDATA\r\n",
	"Subject: pills\n\nbuy\n.\r\n",
	NULL,
};
static const char *const bot_a2[] = {       /* other name, more rcpts, two messages, QUIT */
	"helo mmbvxa\r\n",
	"MAIL FROM: <otto@deals.example>\r\nRCPT TO: <x@example.com>\r\nRCPT TO: <y@example.net>\r\n"
	"RCPT TO: <z@example.com>\r\nDATA\r\n",
	"Subject: watches\n\ncheap\n.\r\n",
	"MAIL FROM: <otto@deals.example>\r\nRCPT TO: <w@example.com>\r\nDATA\r\n",
	"Subject: watches\n\ncheap\n.\r\n",
	"QUIT\r\n",
	NULL,
};
/* a bot that differs in one habit only: HELO in upper case */
static const char *const bot_b[] = {
	"HELO qwzkrt\r\n",
	"MAIL FROM: <jane@shop.example>\r\nRCPT TO: <u1@example.org>\r\nDATA\r\n",
	"Subject: pills\n\nbuy\n.\r\n",
	NULL,
};
/* ... or no space after the colon */
static const char *const bot_c[] = {
	"helo qwzkrt\r\n",
	"MAIL FROM:<jane@shop.example>\r\nRCPT TO: <u1@example.org>\r\nDATA\r\n",
	"Subject: pills\n\nbuy\n.\r\n",
	NULL,
};
/* ... or waits for every reply */
static const char *const bot_d[] = {
	"helo qwzkrt\r\n", "MAIL FROM: <jane@shop.example>\r\n", "RCPT TO: <u1@example.org>\r\n",
	"DATA\r\n", "Subject: pills\n\nbuy\n.\r\n",
	NULL,
};
/* ... or CRLF in the body */
static const char *const bot_e[] = {
	"helo qwzkrt\r\n",
	"MAIL FROM: <jane@shop.example>\r\nRCPT TO: <u1@example.org>\r\nDATA\r\n",
	"Subject: pills\r\n\r\nbuy\r\n.\r\n",
	NULL,
};

static void test_fingerprint_stability(void **state)
{
	char a1[SMTP_DIALECT_ID_LEN], facts[2048];
	const char *const *others[] = { bot_b, bot_c, bot_d, bot_e };
	size_t i, j;

	(void)state;
	limit_reset();
	snprintf(a1, sizeof(a1), "%s", session_id(bot_a1, false, 10, facts, sizeof(facts)));
	print_message("bot a: %s\n%s", a1, facts);
	/* same software: other addresses, names, counts, timing, pregreet */
	assert_string_equal(session_id(bot_a2, false, 10, NULL, 0), a1);
	assert_string_equal(session_id(bot_a1, false, 5000, NULL, 0), a1);
	assert_string_equal(session_id(bot_a1, true, 0, facts, sizeof(facts)), a1);
	assert_true(has_fact(facts, "pregreet=yes"));
	/* one habit changed: another id, and each pair differs */
	for (i = 0; i < 4; i++) {
		char x[SMTP_DIALECT_ID_LEN];

		snprintf(x, sizeof(x), "%s", session_id(others[i], false, 10, NULL, 0));
		if (strcmp(x, a1) == 0)
			fail_msg("variant %zu has bot a's id %s", i, a1);
		for (j = 0; j < i; j++)
			assert_string_not_equal(x, session_id(others[j], false, 10, NULL, 0));
	}
}

/* ---- transcripts of real clients (tests/data/smtp, see capture.sh) ---- */

static void unescape(struct buf *out, const char *p)
{
	for (; *p && *p != '\n'; p++) {
		if (*p != '\\') {
			buf_addch(out, *p);
			continue;
		}
		p++;
		switch (*p) {
		case 'r': buf_addch(out, '\r'); break;
		case 'n': buf_addch(out, '\n'); break;
		case 't': buf_addch(out, '\t'); break;
		case '\\': buf_addch(out, '\\'); break;
		case 'x': {
			unsigned v;

			if (sscanf(p + 1, "%2x", &v) != 1)
				fail_msg("bad escape in transcript");
			buf_addch(out, (int)v);
			p += 2;
			break;
		}
		default:
			fail_msg("bad escape \\%c in transcript", *p);
		}
	}
}

/*
 * replay: a transcript as the pcap reader will drive it (greet and flush
 * when the server's bytes appear; capture_style) or as the live trap does
 * (flush after each client segment). Returns the dialect; the core's
 * replies must equal the server's recorded ones (mimic.py answers alike).
 */
static struct smtp_dialect *replay(const char *name, bool capture_style)
{
	const char *dir = getenv("TESTDATA");
	char path[512], line[65536];
	struct buf want = BUF_INIT, seg = BUF_INIT;
	struct smtp_dialect *dl;
	struct drv d;
	bool greeted = false;
	FILE *f;

	if (!dir)
		fail_msg("TESTDATA is not set");
	snprintf(path, sizeof(path), "%s/smtp/%s", dir, name);
	if (!(f = fopen(path, "r")))
		fail_msg("cannot open %s", path);
	drv_init(&d, &(struct smtp_config){ "trap.example", false, false });
	if (!capture_style) {
		drv_greet(&d);
		greeted = true;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		buf_reset(&seg);
		unescape(&seg, line + 2);
		if (line[0] == 'S') {
			buf_add(&want, seg.data, seg.len);
			if (capture_style) {
				if (!greeted) {
					smtp_session_greet(d.s, d.now);
					pump(&d);
					greeted = true;
				}
				smtp_session_flushed(d.s, d.now);
			}
		} else if (capture_style) {
			buf_add(&d.in, seg.data, seg.len);
			pump(&d);
		} else {
			drv_send(&d, seg.data, seg.len);
		}
		d.now += 3;
	}
	fclose(f);
	smtp_session_closed(d.s, d.now);
	if (d.out.len != want.len || memcmp(d.out.data, want.data, want.len) != 0)
		fail_msg("%s: the core answered\n%s\nthe capture has\n%s", name, d.out.data, want.data);
	dl = smtp_session_dialect(d.s);
	buf_free(&want);
	buf_free(&seg);
	drv_free(&d);
	return dl;
}

static void test_real_clients(void **state)
{
	static const char *const programs[] = { "swaks", "smtplib", "smtp-source" };
	char ids[3][SMTP_DIALECT_ID_LEN];
	size_t p, i;

	(void)state;
	limit_reset();
	for (p = 0; p < 3; p++) {
		char name[64];
		struct smtp_dialect *one, *two, *live;

		snprintf(name, sizeof(name), "%s-1.txt", programs[p]);
		one = replay(name, true);
		live = replay(name, false);
		snprintf(name, sizeof(name), "%s-2.txt", programs[p]);
		two = replay(name, true);
		print_message("%s: %s\n", programs[p], one->id);
		for (i = 0; i < one->nid_facts; i++)
			print_message("  %s\n", one->facts[i]);
		/* the same program, other addresses and counts: one dialect */
		assert_string_equal(one->id, two->id);
		/* the same session seen live or in a capture: one dialect */
		assert_string_equal(one->id, live->id);
		assert_string_equal(one->canonical, live->canonical);
		snprintf(ids[p], sizeof(ids[p]), "%s", one->id);
		smtp_dialect_free(one);
		smtp_dialect_free(two);
		smtp_dialect_free(live);
	}
	assert_string_not_equal(ids[0], ids[1]);
	assert_string_not_equal(ids[0], ids[2]);
	assert_string_not_equal(ids[1], ids[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_ten_thousand_rcpts),
		cmocka_unit_test(test_message_too_big),
		cmocka_unit_test(test_dialect_lines),
		cmocka_unit_test(test_shape_caps),
		cmocka_unit_test(test_driver_contract),
		cmocka_unit_test(test_helo_shapes),
		cmocka_unit_test(test_fingerprint_stability),
		cmocka_unit_test(test_real_clients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
