/*
 * text.h - text helpers of the mail module (internal to src/mail).
 */
#ifndef SPAMTIDE_MAIL_TEXT_H
#define SPAMTIDE_MAIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* text_strip_html: visible text of HTML p[0..n) appended to out, up to max bytes. */
void text_strip_html(struct buf *out, const char *p, size_t n, size_t max);
/* text_init: once, before any thread squeezes (mail_init calls it). */
void text_init(void);
/* text_squeeze: runs of white space (and NULs) become one space; trimmed. */
void text_squeeze(struct buf *b);

/* Where found URLs go: add() receives the URL and its lower-cased host. */
struct text_url_sink {
	void (*add)(struct text_url_sink *s, const char *url, size_t len, const char *host);
	unsigned (*count)(struct text_url_sink *s);
	unsigned max;
};
/* text_find_urls: http(s):// and www. links in p[0..n); returns how many. */
unsigned text_find_urls(const char *p, size_t n, struct text_url_sink *sink);

#endif
