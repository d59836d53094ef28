/*
 * strmap.c - string to string hash map; see strmap.h.
 */
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/strmap.h"
#include "util/xalloc.h"
#include "util/banned.h"

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

static size_t find(const struct strmap *m, const char *key)
{
	size_t i = hash64(key, strlen(key), 17) & (m->cap - 1);

	while (m->slot[i].key && strcmp(m->slot[i].key, key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void strmap_put(struct strmap *m, const char *key, const char *value)
{
	size_t i;

	if ((m->count + 1) * 2 > m->cap) {
		struct strmap bigger = { xcalloc(m->cap ? m->cap * 2 : 64, sizeof(struct strmap_entry)),
					 m->cap ? m->cap * 2 : 64, m->count };

		for (i = 0; i < m->cap; i++)
			if (m->slot[i].key)
				bigger.slot[find(&bigger, m->slot[i].key)] = m->slot[i];
		free(m->slot);
		*m = bigger;
	}
	i = find(m, key);
	if (m->slot[i].key) {
		free(m->slot[i].value);
	} else {
		m->slot[i].key = xstrdup(key);
		m->count++;
	}
	m->slot[i].value = xstrdup(value);
}

const char *strmap_get(const struct strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = find(m, key);
	return m->slot[i].key ? m->slot[i].value : NULL;
}

void strmap_free(struct strmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		free(m->slot[i].key);
		free(m->slot[i].value);
	}
	free(m->slot);
	memset(m, 0, sizeof(*m));
}
