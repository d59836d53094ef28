/*
 * smtp_bench.c - how fast the SMTP core runs, without sockets.
 *
 *   build/smtp_bench [SESSIONS]
 *
 * Prints sessions per second for a typical bot session (EHLO, MAIL, three
 * RCPT pipelined, DATA, a 2 KB message, QUIT; the message handed over and
 * stored; the dialect snapshot taken), and the DATA rate in MB/s for one
 * 16 MB message fed in 16 KB chunks (dot-unstuffing included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp/smtp.h"
#include "util/buf.h"
#include "util/banned.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* run: feed everything, storing each message at once; returns bytes of output. */
static size_t run(smtp_session *s, const char *p, size_t n, size_t chunk)
{
	size_t off = 0, out = 0, len;

	while (off < n) {
		size_t want = n - off < chunk ? n - off : chunk;
		size_t used = smtp_session_feed(s, p + off, want, 0);
		struct smtp_message *m;

		off += used;
		smtp_session_output(s, &len);
		out += len;
		smtp_session_output_taken(s, len);
		smtp_session_flushed(s, 0);
		if ((m = smtp_session_take_message(s))) {
			smtp_message_free(m);
			smtp_session_stored(s, true, "Q1", 0);
		} else if (used == 0) {
			break;
		}
	}
	return out;
}

int main(int argc, char **argv)
{
	struct smtp_config cfg = { "trap.example", false, false };
	long sessions = argc > 1 ? atol(argv[1]) : 200000;
	struct buf script = BUF_INIT, big = BUF_INIT;
	double t0, t;
	long i;
	size_t k;

	buf_addstr(&script, "EHLO WIN-8K2J3H4G5F6\r\n");
	buf_addstr(&script, "MAIL FROM:<a@shop.example>\r\nRCPT TO:<b@example.org>\r\n"
			    "RCPT TO:<c@example.org>\r\nRCPT TO:<d@example.org>\r\nDATA\r\n");
	for (k = 0; k < 32; k++)
		buf_addstr(&script, "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed.\r\n");
	buf_addstr(&script, ".\r\nQUIT\r\n");

	t0 = now_s();
	for (i = 0; i < sessions; i++) {
		smtp_session *s = smtp_session_new(&cfg, 0);
		struct smtp_dialect *d;

		smtp_session_greet(s, 0);
		run(s, script.data, script.len, script.len);
		d = smtp_session_dialect(s);
		smtp_dialect_free(d);
		smtp_session_free(s);
	}
	t = now_s() - t0;
	printf("sessions: %ld in %.3f s = %.0f sessions/s (%zu client bytes each)\n", sessions, t,
	       (double)sessions / t, script.len);

	buf_addstr(&big, "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	while (big.len < 16 * 1024 * 1024 - 100)
		buf_addstr(&big, "..stuffed line of message data, long enough to look like text\r\n");
	buf_addstr(&big, ".\r\nQUIT\r\n");
	t0 = now_s();
	{
		smtp_session *s = smtp_session_new(&cfg, 0);

		smtp_session_greet(s, 0);
		run(s, big.data, big.len, 16384);
		if (smtp_session_end(s) != SMTP_END_QUIT)
			return 1;
		smtp_session_free(s);
	}
	t = now_s() - t0;
	printf("data: %.1f MB in %.3f s = %.0f MB/s\n", (double)big.len / 1e6, t,
	       (double)big.len / 1e6 / t);
	buf_free(&script);
	buf_free(&big);
	return 0;
}
