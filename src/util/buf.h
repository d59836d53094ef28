/*
 * buf.h - a growable byte buffer.
 *
 * A buf owns its bytes. data is never NULL and always NUL-terminated, so it
 * can be printed as a string (it may also hold NULs). Every append may move
 * data: never keep a pointer into a buf across an append; keep offsets.
 *
 *   struct buf b = BUF_INIT;
 *   buf_addstr(&b, "HELO ");
 *   buf_printf(&b, "%d", n);
 *   use(b.data, b.len);
 *   buf_free(&b);
 */
#ifndef SPAMTIDE_UTIL_BUF_H
#define SPAMTIDE_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;   /* 0 while data points at the shared empty string */
};

extern char buf_empty[];
#define BUF_INIT { buf_empty, 0, 0 }

void buf_init(struct buf *b);
/* buf_grow: make room for at least extra more bytes (plus the NUL). */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_setlen(struct buf *b, size_t len);
/* buf_setlen_grown: after writing into the room buf_grow made, up to len
 * (which may exceed the old length but not the room). */
void buf_setlen_grown(struct buf *b, size_t len);
void buf_reset(struct buf *b);
/* buf_detach: hand the bytes to the caller (free() them); b is reset. */
char *buf_detach(struct buf *b, size_t *len);
void buf_free(struct buf *b);

#endif
