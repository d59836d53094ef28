/*
 * text.c - decoded text for templates, and the URLs in it.
 *
 * HTML is reduced to its visible words (tags, scripts and styles dropped,
 * a few entities decoded) so a campaign sent as HTML and as plain text has
 * one template. URLs are found in both forms, bounded by LIMIT_URLS.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mail/text.h"
#include "util/banned.h"

static bool starts_ci(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(end - p) >= n && strncasecmp(p, w, n) == 0;
}

void text_strip_html(struct buf *out, const char *p, size_t n, size_t max)
{
	const char *end = p + n;
	static const struct { const char *name; char c; } entities[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&nbsp;", ' ' },
		{ "&quot;", '"' }, { "&#39;", '\'' }, { "&apos;", '\'' },
	};

	while (p < end && out->len < max) {
		if (*p == '<') {
			const char *skip_to = NULL;

			if (starts_ci(p, end, "<script"))
				skip_to = "</script";
			else if (starts_ci(p, end, "<style"))
				skip_to = "</style";
			else if (starts_ci(p, end, "<!--"))
				skip_to = "-->";
			if (skip_to) {
				const char *q = p + 1;

				while (q < end && !starts_ci(q, end, skip_to))
					q++;
				p = q;
			}
			while (p < end && *p != '>')
				p++;
			if (p < end)
				p++;
			buf_addch(out, ' ');
			continue;
		}
		if (*p == '&') {
			size_t i;

			for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
				if (starts_ci(p, end, entities[i].name)) {
					buf_addch(out, entities[i].c);
					p += strlen(entities[i].name);
					break;
				}
			if (i < sizeof(entities) / sizeof(entities[0]))
				continue;
		}
		buf_addch(out, *p++);
	}
}

void text_squeeze(struct buf *b)
{
	size_t i, o = 0;
	bool space = true;

	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (isspace(c) || c == 0) {
			if (!space)
				b->data[o++] = ' ';
			space = true;
		} else {
			b->data[o++] = (char)c;
			space = false;
		}
	}
	while (o > 0 && b->data[o - 1] == ' ')
		o--;
	buf_setlen(b, o);
}

static bool url_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '<' && c != '>' &&
	       c != '(' && c != ')' && c != '[' && c != ']' && c != '{' && c != '}' &&
	       c != '\\' && c != '^' && c != '`' && c != '|';
}

/* the host of a URL body (after "scheme://" or at "www."), lower-cased */
static size_t url_host(const char *p, const char *end, char *host, size_t hostlen)
{
	const char *h = p, *e, *at;
	size_t n = 0;

	e = h;
	while (e < end && url_char((unsigned char)*e) && *e != '/' && *e != '?' && *e != '#')
		e++;
	at = memchr(h, '@', (size_t)(e - h));
	if (at)
		h = at + 1;
	while (h < e && *h != ':' && n + 1 < hostlen)
		host[n++] = (char)tolower((unsigned char)*h++);
	while (n > 0 && host[n - 1] == '.')
		n--;
	host[n] = '\0';
	return n;
}

unsigned text_find_urls(const char *p, size_t n, struct text_url_sink *sink)
{
	const char *end = p + n, *q = p;
	unsigned found = 0;

	while (q < end && sink->count(sink) < sink->max) {
		const char *start = NULL, *hostp = NULL;
		char host[256];

		if ((*q == 'h' || *q == 'H') && starts_ci(q, end, "http")) {
			const char *s = q + 4;

			if (s < end && (*s == 's' || *s == 'S'))
				s++;
			if (starts_ci(s, end, "://"))
				start = q, hostp = s + 3;
		} else if ((*q == 'w' || *q == 'W') && starts_ci(q, end, "www.") &&
			   (q == p || !isalnum((unsigned char)q[-1]))) {
			start = q, hostp = q;
		}
		if (!start) {
			q++;
			continue;
		}
		{
			const char *e = hostp;

			while (e < end && url_char((unsigned char)*e))
				e++;
			/* sentence punctuation is not part of the link */
			while (e > hostp && strchr(".,;:!?", e[-1]))
				e--;
			if (url_host(hostp, e, host, sizeof(host)) > 0 && strchr(host, '.')) {
				sink->add(sink, start, (size_t)(e - start), host);
				found++;
			}
			q = e > q ? e : q + 1;
		}
	}
	return found;
}
