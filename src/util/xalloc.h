/*
 * xalloc.h - allocation that never returns NULL.
 *
 * Running out of memory is not a condition spamtide can recover from in the
 * middle of a message; like Postfix's mymalloc, these panic with a message
 * instead of letting a NULL travel. Sizes are checked for overflow.
 */
#ifndef SPAMTIDE_UTIL_XALLOC_H
#define SPAMTIDE_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* xreallocarray: p resized to count*size bytes; panics on overflow. */
void *xreallocarray(void *p, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* panic: a broken invariant or exhausted memory; prints and aborts. */
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
