/*
 * reader.h - internal to src/source: a buffered reader handing out lines
 * in pieces, so a line of any length costs bounded memory.
 */
#ifndef SPAMTIDE_SOURCE_READER_H
#define SPAMTIDE_SOURCE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READER_BUF (256 * 1024)

struct line_reader {
	int fd;
	char *buf;
	size_t pos, len;
	bool eof;
	int error;            /* errno of a failed read, 0 */
	uint64_t consumed;    /* bytes handed out so far */
	bool at_line_start;   /* the next piece starts a line */
};

bool reader_open(struct line_reader *r, int fd);
/*
 * reader_piece: the next piece of a line: *p, *n; *complete is true when it
 * ends the line (with its '\n', or the last bytes of the file). A line
 * longer than READER_BUF comes in several pieces. Returns false at the end
 * of the file or on a read error (r->error).
 */
bool reader_piece(struct line_reader *r, const char **p, size_t *n, bool *complete);
void reader_close(struct line_reader *r);

#endif
