/*
 * smtp.h - the pure SMTP server core of the trap, and its dialect recorder.
 *
 * One session is one smtp_session. The core does no I/O and reads no
 * clock: the driver (the live trap on libevent, or the pcap reader on
 * reassembled TCP streams) passes client bytes and the time in
 * milliseconds in, and takes reply bytes, finished messages and dialect
 * facts out. A session captured in a sandbox and one seen live therefore
 * yield the same facts.
 *
 * The trap accepts every recipient for any domain and never relays. It
 * answers HELO, EHLO (PIPELINING, SIZE, 8BITMIME, STARTTLS when the driver
 * offers TLS, ENHANCEDSTATUSCODES), MAIL, RCPT, DATA, RSET, NOOP, VRFY
 * (252), HELP, QUIT and STARTTLS; BDAT, EXPN, AUTH and unknown verbs are
 * refused cleanly. Replies are fixed texts: nothing the client sent is
 * echoed back except a sanitised queue id the driver chose.
 *
 * Driving a session (every call takes the time, now_ms, in any epoch that
 * is the same for the whole session):
 *
 *   s = smtp_session_new(&cfg, now);
 *   ...banner delay...            smtp_session_greet(s, now);
 *   on bytes from the client:     used = smtp_session_feed(s, p, n, now);
 *   after every call:             send smtp_session_output(), then
 *                                 smtp_session_output_taken();
 *   when the output reached the client (write callback):
 *                                 smtp_session_flushed(s, now);
 *   then act on smtp_session_want(s):
 *     SMTP_WANT_GREET   the banner has not been sent: call greet when the
 *                       banner delay ends;
 *     SMTP_WANT_INPUT   read more;
 *     SMTP_WANT_STORE   a message is complete: smtp_session_take_message,
 *                       make it durable, then smtp_session_stored(ok); the
 *                       "250 ... queued as" (or 451) is only emitted then;
 *     SMTP_WANT_TLS     flush the output, run the TLS handshake, then
 *                       smtp_session_tls_done;
 *     SMTP_WANT_CLOSE   flush the output, then close.
 *
 * feed() consumes bytes only while the session can act on them: it stops
 * (returning fewer than n) before the banner, after the final "." of a
 * message until stored(), and after an accepted STARTTLS. The driver keeps
 * the unconsumed bytes and offers them again, with any newer ones, after
 * greet(), stored() or tls_done(); so commands pipelined behind a "." are
 * answered in order and only after the 250. Bytes offered before the banner
 * are recorded as pregreet (offer each time all bytes not yet consumed).
 * After QUIT or a 421 every byte is consumed and ignored.
 *
 * Limits (read from util/limits.h when the session is created):
 * LIMIT_SMTP_LINE (longer lines are skipped to their end: 500 5.5.2),
 * LIMIT_SMTP_COMMANDS (421), LIMIT_SMTP_JUNK (errors and refused verbs in
 * a row, reset by each delivered message: 421), LIMIT_SMTP_RCPTS (452
 * 4.5.3), LIMIT_SMTP_TRANSACTIONS (messages, 421), LIMIT_MESSAGE_SIZE
 * (552 5.3.4; also the most message bytes ever buffered) and
 * LIMIT_SMTP_DIALECT_LINES (lines recorded). So a session's memory is
 * bounded: one command line, the recorded lines, one message.
 *
 * Ownership: a session owns everything it points to until
 * smtp_session_free. A message from smtp_session_take_message and a
 * dialect from smtp_session_dialect belong to the caller, who frees them
 * with smtp_message_free and smtp_dialect_free. Nothing here fails
 * except by panic on exhausted memory: protocol errors are SMTP replies.
 * No globals: sessions are independent (limits are read at creation).
 */
#ifndef SPAMTIDE_SMTP_SMTP_H
#define SPAMTIDE_SMTP_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"

/* ---- the session ---- */

#define SMTP_HOSTNAME_MAX 255
#define SMTP_DIALECT_ID_LEN 24    /* "dialect:" + 8 hex digits + NUL, with room */

struct smtp_config {
	const char *hostname;     /* in the banner, EHLO and 421 replies; copied; NULL: "localhost" */
	bool tls_available;       /* the driver can do TLS: EHLO advertises STARTTLS */
	bool tls_required;        /* refuse (530) verbs not allowed before STARTTLS */
};

typedef struct smtp_session smtp_session;

enum smtp_want {
	SMTP_WANT_GREET,          /* waiting for smtp_session_greet */
	SMTP_WANT_INPUT,          /* reading commands or message data */
	SMTP_WANT_STORE,          /* a message is complete; waiting for smtp_session_stored */
	SMTP_WANT_TLS,            /* STARTTLS accepted; waiting for smtp_session_tls_done */
	SMTP_WANT_CLOSE,          /* flush the output and close */
};

/* How the session ended (or SMTP_END_OPEN while it runs). */
enum smtp_end {
	SMTP_END_OPEN,
	SMTP_END_QUIT,            /* the client said QUIT */
	SMTP_END_CLIENT_CLOSE,    /* the client vanished without QUIT */
	SMTP_END_TIMEOUT,         /* the driver's idle timer fired */
	SMTP_END_LIMIT,           /* too many commands or messages */
	SMTP_END_ERRORS,          /* too many junk commands */
	SMTP_END_NOT_SMTP,        /* HTTP or a TLS handshake on the plain port */
	SMTP_END_TLS_FAILED,      /* the STARTTLS handshake failed */
	SMTP_END_TLS_UNSEEN,      /* TLS started; the driver cannot see inside (pcap) */
};

enum smtp_tls_result {
	SMTP_TLS_OK,              /* handshake done; the session restarts (RFC 3207) */
	SMTP_TLS_FAILED,          /* handshake failed; the session ends */
	SMTP_TLS_UNSEEN,          /* a capture: what follows is encrypted; the session ends */
};

smtp_session *smtp_session_new(const struct smtp_config *cfg, int64_t now_ms);
void smtp_session_free(smtp_session *s);

/* smtp_session_greet: the banner delay is over; emits the 220. */
void smtp_session_greet(smtp_session *s, int64_t now_ms);
/*
 * smtp_session_feed: client bytes (any chunking, any bytes). Returns how
 * many were consumed; see above for when that is fewer than n.
 */
size_t smtp_session_feed(smtp_session *s, const void *p, size_t n, int64_t now_ms);
/* smtp_session_output: reply bytes not yet taken; valid until the next call on s. */
const char *smtp_session_output(const smtp_session *s, size_t *len);
/* smtp_session_output_taken: the driver has copied n bytes of the output. */
void smtp_session_output_taken(smtp_session *s, size_t n);
/*
 * smtp_session_flushed: every reply produced so far has reached the client
 * (a capture: the server's bytes appeared). A command that arrives while a
 * reply is not flushed was pipelined.
 */
void smtp_session_flushed(smtp_session *s, int64_t now_ms);
enum smtp_want smtp_session_want(const smtp_session *s);
/*
 * smtp_session_stored: the message taken is durable (ok) or not; emits
 * "250 2.0.0 Ok: queued as QUEUE_ID" or "451 4.3.0 ...". queue_id may be
 * NULL; only its first 32 letters and digits are used.
 */
void smtp_session_stored(smtp_session *s, bool ok, const char *queue_id, int64_t now_ms);
void smtp_session_tls_done(smtp_session *s, enum smtp_tls_result r, int64_t now_ms);
/* smtp_session_timeout: the driver's idle timer fired; emits the 421. */
void smtp_session_timeout(smtp_session *s, int64_t now_ms);
/* smtp_session_closed: the connection is gone (client close, reset, end of capture). */
void smtp_session_closed(smtp_session *s, int64_t now_ms);
enum smtp_end smtp_session_end(const smtp_session *s);
const char *smtp_end_name(enum smtp_end e);

/* ---- messages ---- */

/*
 * A complete message with its envelope. Strings are NUL-terminated and
 * hold the client's bytes as sent (at most LIMIT_SMTP_LINE each); they may
 * hold control characters: clean them (log_clean) before logging.
 */
struct smtp_message {
	const char *helo;         /* the HELO/EHLO argument, "" if none */
	const char *mail_from;    /* the reverse path without <>, "" for <> */
	const char **rcpts;       /* forward paths without <> */
	size_t nrcpts;
	struct buf data;          /* the bytes after DATA, dot-unstuffed, line ends as sent */
	int64_t end_ms;           /* when the final "." arrived */
	unsigned transaction;     /* 1 for the first message of the session */
	bool tls;                 /* received inside TLS */
	bool body_8bitmime;       /* BODY=8BITMIME */
	long long declared_size;  /* SIZE=, or -1 */
	char dialect_id[SMTP_DIALECT_ID_LEN]; /* the session's dialect id */
	struct arena arena;       /* the strings above */
};

/*
 * smtp_session_take_message: the message waiting to be stored, now the
 * caller's (its data buffer is handed over, not copied), or NULL.
 */
struct smtp_message *smtp_session_take_message(smtp_session *s);
void smtp_message_free(struct smtp_message *m);

/* ---- the dialect ---- */

/*
 * A session's dialect: how the client speaks SMTP (after B@bel, Stringhini
 * et al., USENIX Security 2012; docs/dialect.md). facts are "key=value"
 * strings; the first nid_facts are the normalised command shapes that make
 * the id ("dialect:" and 8 hex digits) and are the same whether the session
 * was seen live or in a capture; the rest are optional (timing, counts,
 * pregreet, what only a live server sees) and never change the id. The id
 * facts are frozen at the first end of DATA (or at STARTTLS), so every
 * message of a session carries the same id.
 */

enum {
	SMTP_LINE_BARE_LF   = 1 << 0,  /* ended by LF alone */
	SMTP_LINE_PIPELINED = 1 << 1,  /* arrived before the previous reply was flushed */
	SMTP_LINE_PREGREET  = 1 << 2,  /* arrived before the banner was flushed */
	SMTP_LINE_TOO_LONG  = 1 << 3,  /* longer than LIMIT_SMTP_LINE; text cut */
	SMTP_LINE_NUL       = 1 << 4,  /* held a NUL byte */
	SMTP_LINE_TLS       = 1 << 5,  /* inside TLS */
	SMTP_LINE_DATA_END  = 1 << 6,  /* the "." ending a message */
};

struct smtp_line {
	const char *text;         /* the line without its end; any bytes; NUL-terminated */
	size_t len;
	int64_t t_ms;             /* since the session started */
	int reply;                /* the reply code given, 0 if none (yet) */
	unsigned flags;           /* SMTP_LINE_* */
};

struct smtp_dialect {
	char id[SMTP_DIALECT_ID_LEN];
	const char **facts;       /* "key=value", escaped to printable ASCII */
	size_t nfacts;
	size_t nid_facts;         /* facts[0 .. nid_facts) make the id */
	const char *canonical;    /* the id facts, one per line: what is hashed */
	struct smtp_line *lines;  /* the client's command lines, in order */
	size_t nlines;
	size_t lines_dropped;     /* beyond LIMIT_SMTP_DIALECT_LINES */
	size_t commands;          /* command lines seen */
	size_t junk;              /* errors and refused verbs */
	unsigned messages;        /* handed to the driver */
	size_t recipients;        /* accepted, over all transactions */
	size_t pregreet_bytes;    /* offered before the banner */
	enum smtp_end end;
	struct arena arena;       /* everything above */
};

/* smtp_session_dialect: a snapshot of the dialect so far, the caller's. */
struct smtp_dialect *smtp_session_dialect(const smtp_session *s);
/* smtp_session_facts: the snapshot's facts, "key=value" lines joined by
 * '\n' (the caller frees them), and its id into id[SMTP_DIALECT_ID_LEN],
 * without the copy of its command lines. */
char *smtp_session_facts(const smtp_session *s, char *id);
/* smtp_session_dialect_id: just the id, into out[SMTP_DIALECT_ID_LEN]. */
char *smtp_session_dialect_id(const smtp_session *s, char *out);
void smtp_dialect_free(struct smtp_dialect *d);

/*
 * smtp_helo_shape: the shape of a HELO argument: "empty", "ip-literal"
 * ([192.0.2.1]), "ip6-literal" ([IPv6:...]), "bad-literal", "bare-ip",
 * "windows-pc" (JOHN-PC, WIN-..., DESKTOP-...), "word" (no dot),
 * "wellknown" (a big provider's domain, often forged), "dynamic-rdns" (a
 * dotted name carrying an IPv4 address), "dotted", "other" (bytes no host
 * name has). Also for HELO names read from Received: lines.
 */
const char *smtp_helo_shape(const char *helo, size_t len);

#endif
