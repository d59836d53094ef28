/*
 * mbox.c - the stream as a quarantine keeps it (mbox), and truth lines.
 *
 * Each message: a "From " separator line (envelope sender and asctime
 * date), the delivery headers a local delivery adds (Return-Path,
 * X-Original-To, Delivered-To), the trap's own Received line in the form
 * DESIGN.md fixes, `from HELO (unknown [IP])`, then the bytes the client
 * sent. Line ends are LF; body lines starting with "From " are quoted as
 * ">From " (mboxo, as Python's mailbox reads it); a blank line ends each
 * message. Write errors are reported by the return value (-1) and by
 * ferror on the caller's FILE.
 */
#include <stdio.h>
#include <string.h>

#include "sim/internal.h"
#include "util/hash.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct sim_mbox {
	FILE *out;
	const sim_scenario *s;
	struct buf b;
};

sim_mbox *sim_mbox_new(FILE *out, const sim_scenario *s)
{
	sim_mbox *w = xcalloc(1, sizeof(*w));

	w->out = out;
	w->s = s;
	buf_init(&w->b);
	return w;
}

void sim_mbox_free(sim_mbox *w)
{
	if (!w)
		return;
	buf_free(&w->b);
	free(w);
}

static void asctime_utc(struct buf *b, int64_t t)
{
	int64_t days = t / 86400, sod = t % 86400;
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	buf_printf(b, "%s %s %2u %02d:%02d:%02d %d", sim_wday_names[days % 7], sim_mon_names[m - 1], d,
		   (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), y);
}

/* The trap's queue id of a message: stable, 10 upper-case hex digits. */
static void queue_id(char out[11], const struct sim_message *m)
{
	static const char hx[] = "0123456789ABCDEF";
	uint64_t h = hash_mix(m->session * 1000003ULL + m->index_in_session);
	int i;

	for (i = 0; i < 10; i++)
		out[i] = hx[(h >> (i * 4)) & 15];
	out[10] = '\0';
}

static const char *protocol(const struct sim_message *m)
{
	if (!m->esmtp)
		return "SMTP";
	return m->starttls ? "ESMTPS" : "ESMTP";
}

/* sim_trap_received: the trap's Received line (folded with LF + tab). */
static void trap_received(struct buf *b, const sim_scenario *s, const struct sim_message *m)
{
	char id[11];

	queue_id(id, m);
	buf_addstr(b, "Received: from ");
	buf_addstr(b, m->helo);
	buf_addstr(b, " (unknown [");
	buf_addstr(b, m->client_text);
	buf_addstr(b, "])\n\tby ");
	buf_addstr(b, s->trap_host);
	buf_addstr(b, " (spamtide) with ");
	buf_addstr(b, protocol(m));
	buf_addstr(b, " id ");
	buf_add(b, id, 10);
	if (m->nrcpts == 1) {
		buf_addstr(b, "\n\tfor <");
		buf_addstr(b, m->rcpts[0]);
		buf_addstr(b, ">; ");
	} else
		buf_addstr(b, ";\n\t");
	sim_format_date(b, m->time, 0, DATE_UTC);
	buf_addch(b, '\n');
}

int sim_mbox_write(sim_mbox *w, const struct sim_message *m)
{
	struct buf *b = &w->b;
	const char *p = m->data, *end = m->data + m->len;

	buf_reset(b);
	buf_addstr(b, "From ");
	buf_addstr(b, *m->mail_from ? m->mail_from : "MAILER-DAEMON");
	buf_addch(b, ' ');
	asctime_utc(b, m->time);
	buf_addstr(b, "\nReturn-Path: <");
	buf_addstr(b, m->mail_from);
	buf_addstr(b, ">\n");
	if (m->nrcpts) {
		buf_addstr(b, "X-Original-To: ");
		buf_addstr(b, m->rcpts[0]);
		buf_addstr(b, "\nDelivered-To: ");
		buf_addstr(b, m->rcpts[0]);
		buf_addch(b, '\n');
	}
	trap_received(b, w->s, m);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t l = (size_t)(le - p);

		if (l && p[l - 1] == '\r')
			l--;
		if (l >= 5 && memcmp(p, "From ", 5) == 0)
			buf_addch(b, '>');
		if (nl && l + 1 == (size_t)(nl - p + 1)) {
			buf_add(b, p, l + 1);   /* a bare LF line: as it is */
		} else {
			buf_add(b, p, l);
			buf_add(b, "\n", 1);
		}
		p = nl ? nl + 1 : end;
	}
	buf_addch(b, '\n');
	if (fwrite(b->data, 1, b->len, w->out) != b->len)
		return -1;
	return 0;
}

int sim_truth_write(FILE *out, const struct sim_message *m)
{
	return fprintf(out, "%s\t%s\n", m->message_id, m->label) < 0 ? -1 : 0;
}
