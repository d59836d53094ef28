/*
 * strmap.h - a hash map from strings to strings, both copied.
 *
 * For lookups by Message-ID or source name over hundreds of thousands of
 * entries (classify --truth). strmap_get returns the stored value or NULL.
 */
#ifndef SPAMTIDE_UTIL_STRMAP_H
#define SPAMTIDE_UTIL_STRMAP_H

#include <stddef.h>

struct strmap_entry {
	char *key;
	char *value;
};

struct strmap {
	struct strmap_entry *slot;
	size_t cap, count;
};

void strmap_init(struct strmap *m);
/* strmap_put: insert or replace. */
void strmap_put(struct strmap *m, const char *key, const char *value);
const char *strmap_get(const struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

#endif
