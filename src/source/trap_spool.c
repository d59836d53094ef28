/*
 * trap_spool.c - the trap's Maildir: directories, file names, and the two
 * header lines the trap puts before the bytes a client sent.
 *
 * A spool file is "Return-Path: <FROM>", the trap's "Received:" line and
 * then exactly the bytes after DATA, dot-unstuffed, line ends as sent.
 * The Received: line has the form DESIGN.md gives, "from HELO (unknown
 * [IP])", so a file read back later (ingest) keeps the client's HELO and
 * address. Whatever the client chose (HELO, addresses) is reduced to
 * printable non-space ASCII and bounded (TRAP_HELO_MAX, TRAP_ADDRESS_MAX)
 * so it cannot add header lines or break the trace syntax.
 *
 * Files are named "SEC.QUEUEID.HOST" (Maildir's time.unique.host): the
 * queue id is the one the client saw in "250 ... queued as".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/trap_int.h"
#include "util/timeutil.h"
#include "util/banned.h"

/* safe_add: the printable non-space ASCII of s, others as '?', at most max bytes */
static void safe_add(struct buf *out, const char *s, size_t max, const char *also_bad)
{
	size_t n = 0;

	for (; s && *s && n < max; s++, n++) {
		unsigned char c = (unsigned char)*s;

		buf_addch(out, c > 0x20 && c < 0x7f && !strchr(also_bad, c) ? (char)c : '?');
	}
}

static void add_date(struct buf *out, int64_t t)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400;
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	buf_printf(out, "%s, %u %s %d %02d:%02d:%02d +0000", wday[((days % 7) + 11) % 7],
		   d, mon[m - 1], y, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

void trap_spool_header(struct buf *out, const struct trap_trace *tr)
{
	/* '(' ')' ';' would end the clause early for a trace parser; '<' '>'
	 * would end an address */
	buf_addstr(out, "Return-Path: <");
	safe_add(out, tr->mail_from, TRAP_ADDRESS_MAX, "<>");
	buf_addstr(out, ">\r\nReceived: from ");
	if (tr->helo && *tr->helo)
		safe_add(out, tr->helo, TRAP_HELO_MAX, "();");
	else
		buf_addstr(out, "unknown");
	buf_addstr(out, " (unknown [");
	if (tr->client_ip && strchr(tr->client_ip, ':'))
		buf_addstr(out, "IPv6:");
	safe_add(out, tr->client_ip, IP_TEXT_LEN, "()[];");
	buf_addstr(out, "])\r\n\tby ");
	safe_add(out, tr->hostname && *tr->hostname ? tr->hostname : "localhost",
		 SMTP_HOSTNAME_MAX, "();");
	buf_printf(out, " (spamtide) with %s id ",
		   tr->tls ? "ESMTPS" : tr->esmtp ? "ESMTP" : "SMTP");
	safe_add(out, tr->queue_id, TRAP_QUEUE_ID_LEN, "();");
	if (tr->nrcpts == 1) {
		buf_addstr(out, "\r\n\tfor <");
		safe_add(out, tr->rcpts[0], TRAP_ADDRESS_MAX, "<>");
		buf_addstr(out, ">; ");
	} else {
		buf_addstr(out, ";\r\n\t");
	}
	add_date(out, tr->ts);
	buf_addstr(out, "\r\n");
}

void trap_queue_id(char out[TRAP_QUEUE_ID_LEN], int64_t sec, long usec, unsigned seq)
{
	snprintf(out, TRAP_QUEUE_ID_LEN, "%08llX%05lX%04X",
		 (unsigned long long)sec & 0xffffffffULL, (unsigned long)usec & 0xfffff,
		 seq & 0xffff);
}

void trap_spool_name(const struct trap_spool *sp, int64_t sec, const char *queue_id,
		     char *out, size_t outlen)
{
	snprintf(out, outlen, "%lld.%s.%s", (long long)sec, queue_id, sp->host);
}

static int open_subdir(int parent, const char *name, bool chown_dirs, uid_t uid, gid_t gid,
		       const char *dir, char *err, size_t errlen)
{
	int fd;

	if (mkdirat(parent, name, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "spool %s/%s: cannot create: %s", dir, name, strerror(errno));
		return -1;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "spool %s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	if (chown_dirs && fchown(fd, uid, gid) != 0) {
		snprintf(err, errlen, "spool %s/%s: cannot give it to uid %ld: %s", dir, name,
			 (long)uid, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

bool trap_spool_open(struct trap_spool *sp, const char *dir, const char *hostname,
		     bool chown_dirs, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	size_t i, n = 0;

	sp->dir = sp->tmp = sp->new_ = sp->cur = -1;
	/* Maildir host part: no '/' or ':' (nor anything odd) */
	for (i = 0; hostname && hostname[i] && n + 1 < sizeof(sp->host); i++) {
		unsigned char c = (unsigned char)hostname[i];

		sp->host[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || c == '-' || c == '.' ? (char)c : '_';
	}
	if (n == 0)
		sp->host[n++] = '_';
	sp->host[n] = '\0';
	if ((sp->dir = open_subdir(AT_FDCWD, dir, chown_dirs, uid, gid, dir, err, errlen)) < 0 ||
	    (sp->tmp = open_subdir(sp->dir, "tmp", chown_dirs, uid, gid, dir, err, errlen)) < 0 ||
	    (sp->new_ = open_subdir(sp->dir, "new", chown_dirs, uid, gid, dir, err, errlen)) < 0 ||
	    (sp->cur = open_subdir(sp->dir, "cur", chown_dirs, uid, gid, dir, err, errlen)) < 0) {
		trap_spool_close(sp);
		return false;
	}
	return true;
}

void trap_spool_close(struct trap_spool *sp)
{
	if (sp->dir >= 0)
		close(sp->dir);
	if (sp->tmp >= 0)
		close(sp->tmp);
	if (sp->new_ >= 0)
		close(sp->new_);
	if (sp->cur >= 0)
		close(sp->cur);
	sp->dir = sp->tmp = sp->new_ = sp->cur = -1;
}
