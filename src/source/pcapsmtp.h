/*
 * pcapsmtp.h - internal to src/source: one SMTP session seen in a capture,
 * driving the trap's own core (smtp/smtp.h) from the two reassembled
 * streams, so a captured session yields the dialect and the message a
 * live one does.
 *
 * The driver calls, in packet order: pcapsmtp_client() with client bytes
 * as they become contiguous, pcapsmtp_server() whenever the server's bytes
 * appear (NULL data: bytes known to exist, not captured), the _lost()
 * calls when a direction has a hole that will never be filled, and
 * pcapsmtp_end() when the connection is over. After each call it drains
 * pcapsmtp_take(). Times are packet times in milliseconds.
 *
 * How the core is driven (docs/dialect.md, "Driving the core"): the
 * server's first bytes are the banner (smtp_session_greet), every server
 * byte appearing is a flush (smtp_session_flushed: what the client sent
 * before it was pipelined); a message is "stored" at once; after an
 * accepted STARTTLS the server's next bytes start TLS
 * (smtp_session_tls_done UNSEEN; a reply other than 220 there is
 * SMTP_TLS_FAILED). The core's own replies are discarded; the captured
 * server's replies are only read for three things: whether it offered
 * STARTTLS (the core must offer it too, or the id's starttls fact would
 * differ from a live trap's), whether a session on a port not listed as
 * SMTP opens with a 220 banner, and the reply to STARTTLS.
 *
 * Until those are known the events are held (at most max_held bytes,
 * LIMIT_PCAP_FLOW_BYTES) and replayed in order with their own times, so
 * holding changes nothing in what the core sees. Whether STARTTLS was
 * offered is known at the first STARTTLS capability line, at the end of
 * a multi-line 250 reply (EHLO) without one, at a second 220 (STARTTLS
 * accepted), at the first 354, or at the end.
 *
 * A loss in the client stream ends parsing: a message inside DATA at
 * that point is reported cut, not stored (no bytes are invented). When
 * the captured server has answered 354 more often than the core (it took
 * a transaction the core refused: DSN or SMTPUTF8 parameters), or the
 * client sent BDAT (CHUNKING, which the core refuses), that is reported
 * once (DIVERGED): the message is lost to the core.
 *
 * Ownership: a result's msg, facts and helo become the caller's.
 */
#ifndef SPAMTIDE_SOURCE_PCAPSMTP_H
#define SPAMTIDE_SOURCE_PCAPSMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp.h"

enum pcapsmtp_kind {
	PCAPSMTP_MESSAGE,          /* a message the core handed over */
	PCAPSMTP_ENCRYPTED,        /* the session went on inside TLS: dialect only */
	PCAPSMTP_CUT,              /* a message cut inside DATA (loss or end): not stored */
	PCAPSMTP_TOO_BIG,          /* a message over LIMIT_MESSAGE_SIZE: the core refused it */
	PCAPSMTP_UNPARSED,         /* client bytes after a loss, outside DATA, not parsed */
	PCAPSMTP_TLS_REFUSED,      /* the server refused STARTTLS: the rest is not parsed */
	PCAPSMTP_ONE_SIDED,        /* the server never spoke: client bytes not parsed */
	PCAPSMTP_UNFINISHED,       /* ended early (evicted) between commands: the rest is lost */
	PCAPSMTP_DIVERGED,         /* the captured server took a message the core refused */
};

struct pcapsmtp_result {
	enum pcapsmtp_kind kind;
	int64_t t_ms;              /* MESSAGE: the end of DATA; else when it happened */
	struct smtp_message *msg;  /* MESSAGE: the caller's (smtp_message_free) */
	char dialect_id[SMTP_DIALECT_ID_LEN];   /* MESSAGE, ENCRYPTED */
	char *facts;               /* MESSAGE, ENCRYPTED: '\n'-joined; the caller's (free) */
	char *helo;                /* ENCRYPTED: the last HELO/EHLO argument; the caller's */
	unsigned transaction;      /* CUT, TOO_BIG: which message of the session (1-based) */
	uint64_t bytes;            /* UNPARSED, ONE_SIDED: client bytes not parsed */
};

/* Whether the session is SMTP at all. */
enum pcapsmtp_smtp {
	PCAPSMTP_SMTP_UNKNOWN,     /* a session on another port, before the server spoke */
	PCAPSMTP_SMTP_YES,
	PCAPSMTP_SMTP_NO,          /* no 220 banner: drop the flow */
};

typedef struct pcapsmtp pcapsmtp;

/* pcapsmtp_new: banner_check: not an SMTP port, so SMTP only with a 220 banner. */
pcapsmtp *pcapsmtp_new(bool banner_check, size_t max_held, int64_t now_ms);
void pcapsmtp_free(pcapsmtp *p);

void pcapsmtp_client(pcapsmtp *p, const uint8_t *data, size_t n, int64_t now_ms);
/* pcapsmtp_server: n server bytes appeared; data NULL when not captured. */
void pcapsmtp_server(pcapsmtp *p, const uint8_t *data, size_t n, int64_t now_ms);
/* pcapsmtp_client_lost: the client stream has a hole: nothing more to parse. */
void pcapsmtp_client_lost(pcapsmtp *p, int64_t now_ms);
/* pcapsmtp_server_lost: the server stream has a hole: its replies can no longer be read. */
void pcapsmtp_server_lost(pcapsmtp *p);
/*
 * pcapsmtp_end: the connection is over, or its reader gives up on it
 * (early: the rest of it, if any, will not be seen); unparsed: client
 * bytes known beyond a loss.
 */
void pcapsmtp_end(pcapsmtp *p, uint64_t unparsed, bool early, int64_t now_ms);

enum pcapsmtp_smtp pcapsmtp_is_smtp(const pcapsmtp *p);
/* pcapsmtp_over: nothing the client may still send can matter (QUIT, 421, not SMTP). */
bool pcapsmtp_over(const pcapsmtp *p);
/* pcapsmtp_in_data: a message is being received (what an end would cut). */
bool pcapsmtp_in_data(const pcapsmtp *p);
/* pcapsmtp_take: the next result, oldest first; false when there is none. */
bool pcapsmtp_take(pcapsmtp *p, struct pcapsmtp_result *r);
/* pcapsmtp_result_free: what a result still owns (after take, if unused). */
void pcapsmtp_result_free(struct pcapsmtp_result *r);

#endif
