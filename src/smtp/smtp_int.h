/*
 * smtp_int.h - private to src/smtp: the dialect recorder shared by
 * session.c (which observes) and dialect.c (which normalises, names and
 * hashes). Not an interface: nothing outside src/smtp includes it.
 *
 * The recorder's memory is bounded: at most max_lines lines of at most
 * max_line bytes each, and short, capped shape strings.
 */
#ifndef SPAMTIDE_SMTP_SMTP_INT_H
#define SPAMTIDE_SMTP_SMTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp.h"
#include "util/buf.h"

struct smtp_rec_line {
	size_t off, len;          /* in smtp_rec.text */
	int64_t t_ms;
	int reply;
	unsigned flags;
};

enum smtp_rec_tls { REC_TLS_NOT_OFFERED, REC_TLS_OFFERED, REC_TLS_USED };

/* inter-command gap buckets: <1 ms, <10, <100, <1 s, <10 s, more */
#define REC_GAP_BUCKETS 6

struct smtp_rec {
	size_t max_lines, max_line;

	struct smtp_rec_line *lines;
	size_t nlines, lines_cap, dropped;
	struct buf text;

	/* id facts; frozen at the first end of DATA or accepted STARTTLS */
	bool frozen;
	bool helo_seen;
	struct buf helo_verb, helo_syntax;
	const char *helo_shape;
	const char *helo_case;
	struct buf pre, txn;      /* verb tokens, consecutive repeats collapsed */
	char last_tok[20];
	unsigned npre, ntxn;
	bool in_txn;
	struct buf mail_syntax, rcpt_syntax;
	bool pipelined, blind, unsafe;
	int data_early;           /* -1 no DATA yet */
	unsigned cmd_crlf, cmd_lf, data_crlf, data_lf;
	enum smtp_rec_tls starttls;

	/* optional facts */
	bool pregreet;
	size_t pregreet_bytes;
	bool rset, noop, vrfy, help, quit, nul, long_line, tls, starttls_injection;
	int after_dot;            /* -1 unknown, 0 waited for the 250, 1 pipelined */
	bool awaiting_after_dot;
	unsigned gap_hist[REC_GAP_BUCKETS];
	int64_t last_cmd_ms;
	bool have_last_cmd;
	size_t max_rcpts_txn;
};

void rec_init(struct smtp_rec *r, size_t max_lines, size_t max_line);
void rec_free(struct smtp_rec *r);
/* rec_line: keep a command line (cut to max_line); its index or -1 when full. */
long rec_line(struct smtp_rec *r, const char *p, size_t len, int64_t t_ms, unsigned flags);
void rec_reply(struct smtp_rec *r, long idx, int code);
/* rec_gap: a command line arrived at t_ms. */
void rec_gap(struct smtp_rec *r, int64_t t_ms);
/* rec_token: the verb of a command, as typed, or a marker like "<empty>". */
void rec_token(struct smtp_rec *r, const char *verb, size_t len, bool is_mail);
/* rec_helo: the first HELO/EHLO line; verb_len bytes of verb, then arg at arg_off. */
void rec_helo(struct smtp_rec *r, const char *line, size_t len, size_t verb_len,
	      size_t arg_off, size_t arg_len);
/* rec_path_syntax: the shape of the first MAIL (keyword "FROM") or RCPT ("TO") line. */
void rec_path_syntax(struct smtp_rec *r, const char *line, size_t len, bool mail);
void rec_freeze(struct smtp_rec *r);

/*
 * smtp_path_at: in "MAIL FROM:<a>" or "RCPT TO: <b>": after the verb,
 * blanks, KEYWORD (any case), blanks, ':' and blanks, the offset of the
 * path; 0 if the line is not shaped so.
 */
size_t smtp_path_at(const char *line, size_t len, const char *keyword);

/* What the session knows beyond the recorder, for facts and snapshots. */
struct smtp_rec_summary {
	size_t commands, junk, recipients;
	unsigned messages;
	enum smtp_end end;
};

/* rec_id: the dialect id of the id facts so far, into out[SMTP_DIALECT_ID_LEN]. */
char *rec_id(const struct smtp_rec *r, char *out);
struct smtp_dialect *rec_snapshot(const struct smtp_rec *r, const struct smtp_rec_summary *sum);
/* rec_facts: the snapshot's facts joined by '\n' (the caller's), its id into id */
char *rec_facts(const struct smtp_rec *r, const struct smtp_rec_summary *sum, char *id);

#endif
