/*
 * smtp_fuzz.c - libFuzzer target for the SMTP core (src/smtp).
 *
 * The input is a script: each chunk starts with a control byte whose low
 * bits choose an event (feed the next n bytes, flush, store ok/failed,
 * TLS done, timeout) and whose high bits the chunk length, so the fuzzer
 * explores chunking, pipelining, the deferred 250 and STARTTLS, not just
 * the bytes. Invariants checked: feed never consumes more than offered,
 * output is always CRLF-terminated reply lines, and a session's memory
 * is freed (ASan/LSan). Not part of the CMake build; build and run with
 * fuzz/smtp_fuzz.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_output(smtp_session *s)
{
	size_t len;
	const char *o = smtp_session_output(s, &len);

	if (len && (len < 6 || o[len - 2] != '\r' || o[len - 1] != '\n' || o[0] < '2' || o[0] > '5'))
		abort();
	smtp_session_output_taken(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool limited;
	struct smtp_config cfg = { "fuzz.example", true, false };
	smtp_session *s;
	struct smtp_message *m;
	struct smtp_dialect *d;
	unsigned char pending[4096];
	size_t npending = 0, i = 0;
	int64_t now = 0;
	char err[64];

	if (!limited) {
		/* small limits so the fuzzer reaches them */
		limit_set("smtp_line=512", err, sizeof(err));
		limit_set("smtp_commands=64", err, sizeof(err));
		limit_set("smtp_rcpts=4", err, sizeof(err));
		limit_set("smtp_transactions=3", err, sizeof(err));
		limit_set("message_size=1024", err, sizeof(err));
		limit_set("smtp_dialect_lines=8", err, sizeof(err));
		limited = true;
	}
	if (size && (data[0] & 1))
		cfg.tls_required = true;
	s = smtp_session_new(&cfg, now);
	while (i < size) {
		unsigned ctl = data[i++];
		size_t n = ctl >> 3;

		now += ctl & 7;
		switch (ctl & 7) {
		case 0: case 1: case 2:
			if (n > size - i)
				n = size - i;
			if (n > sizeof(pending) - npending)
				n = sizeof(pending) - npending;
			memcpy(pending + npending, data + i, n);
			npending += n;
			i += n;
			break;
		case 3:
			smtp_session_greet(s, now);
			smtp_session_flushed(s, now);
			break;
		case 4:
			if ((m = smtp_session_take_message(s)))
				smtp_message_free(m);
			if (smtp_session_want(s) == SMTP_WANT_STORE)
				smtp_session_stored(s, (ctl >> 3) & 1, "Q1", now);
			break;
		case 5:
			if (smtp_session_want(s) == SMTP_WANT_TLS) {
				npending = 0;
				smtp_session_tls_done(s, (enum smtp_tls_result)((ctl >> 3) % 3), now);
			}
			break;
		case 6:
			smtp_session_flushed(s, now);
			break;
		case 7:
			if ((ctl >> 3) == 31)
				smtp_session_timeout(s, now);
			break;
		}
		{
			size_t used = smtp_session_feed(s, pending, npending, now);

			if (used > npending)
				abort();
			memmove(pending, pending + used, npending - used);
			npending -= used;
		}
		check_output(s);
	}
	smtp_session_closed(s, now);
	if ((m = smtp_session_take_message(s)))
		smtp_message_free(m);
	d = smtp_session_dialect(s);
	if (strncmp(d->id, "dialect:", 8) != 0 || d->nid_facts == 0 || d->nid_facts > d->nfacts)
		abort();
	smtp_dialect_free(d);
	smtp_session_free(s);
	return 0;
}
