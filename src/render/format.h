/*
 * format.h - internal to src/render: number formatting shared by the
 * text and HTML renderers.
 */
#ifndef SPAMTIDE_RENDER_FORMAT_H
#define SPAMTIDE_RENDER_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* render_grouped: 1234567 -> "1,234,567" into b[n]; returns b. */
const char *render_grouped(uint64_t v, char *b, size_t n);

#endif
