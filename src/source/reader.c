/*
 * reader.c - lines in pieces from a file descriptor; see reader.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/reader.h"
#include "util/xalloc.h"
#include "util/banned.h"

bool reader_open(struct line_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->buf = xmalloc(READER_BUF);
	r->at_line_start = true;
	return true;
}

static void fill(struct line_reader *r)
{
	ssize_t got;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	while (!r->eof && r->len < READER_BUF) {
		got = read(r->fd, r->buf + r->len, READER_BUF - r->len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r->error = errno;
			r->eof = true;
			break;
		}
		if (got == 0) {
			r->eof = true;
			break;
		}
		r->len += (size_t)got;
		if (memchr(r->buf + r->len - (size_t)got, '\n', (size_t)got))
			break;
	}
}

bool reader_piece(struct line_reader *r, const char **p, size_t *n, bool *complete)
{
	char *nl;

	if (r->pos == r->len || !memchr(r->buf + r->pos, '\n', r->len - r->pos))
		fill(r);
	if (r->pos == r->len)
		return false;
	nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
	*p = r->buf + r->pos;
	if (nl) {
		*n = (size_t)(nl - (r->buf + r->pos)) + 1;
		*complete = true;
	} else {
		*n = r->len - r->pos;
		*complete = r->eof;     /* the last line of a file without '\n' */
	}
	r->pos += *n;
	r->consumed += *n;
	r->at_line_start = *complete;
	return true;
}

void reader_close(struct line_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->buf);
	r->buf = NULL;
}
