/*
 * pack.h - copying strings into one allocation: count the room for each
 * with pack_room() (NULL takes none), allocate once, then pack_str() each
 * into it in turn. A copy made so is freed with the one free().
 */
#ifndef SPAMTIDE_UTIL_PACK_H
#define SPAMTIDE_UTIL_PACK_H

#include <stddef.h>
#include <string.h>

static inline size_t pack_room(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* pack_str: s copied at *at, which moves past it; NULL stays NULL. */
static inline const char *pack_str(char **at, const char *s)
{
	char *p = *at;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(p, s, n);
	*at += n;
	return p;
}

#endif
