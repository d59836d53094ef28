/*
 * arena.h - a region allocator: many small allocations, one free.
 *
 * A message's features live in one arena; clearing the message is one
 * arena_reset, which keeps the first block for the next message, so steady
 * state allocates nothing. Memory from arena_alloc is 16-byte aligned and
 * valid until the next arena_reset or arena_free.
 */
#ifndef SPAMTIDE_UTIL_ARENA_H
#define SPAMTIDE_UTIL_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
	size_t block_size;
};

void arena_init(struct arena *a, size_t block_size);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* arena_printf: a formatted string in the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
