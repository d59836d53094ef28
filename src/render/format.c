/*
 * format.c - number formatting of the renderers; see format.h.
 */
#include <stdio.h>

#include "render/format.h"
#include "util/banned.h"

const char *render_grouped(uint64_t v, char *b, size_t n)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), i, o = 0;

	for (i = 0; i < len && (size_t)o + 2 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			b[o++] = ',';
		b[o++] = tmp[i];
	}
	b[o] = '\0';
	return b;
}
