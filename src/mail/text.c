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

	/* the second character tells most candidates apart at once */
	return (size_t)(end - p) >= n && (p[1] | 0x20) == (w[1] | 0x20) &&
	       strncasecmp(p, w, n) == 0;
}

void text_strip_html(struct buf *out, const char *p, size_t n, size_t max)
{
	const char *end = p + n;
	static const struct { const char *name; size_t len; char c; } entities[] = {
		{ "&amp;", 5, '&' }, { "&lt;", 4, '<' }, { "&gt;", 4, '>' }, { "&nbsp;", 6, ' ' },
		{ "&quot;", 6, '"' }, { "&#39;", 5, '\'' }, { "&apos;", 6, '\'' },
	};

	buf_grow(out, n < max ? n : max);
	while (p < end && out->len < max) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		const char *amp = memchr(p, '&', (size_t)((lt ? lt : end) - p));
		const char *stop = amp ? amp : lt ? lt : end;
		size_t run = (size_t)(stop - p);

		/* the text up to the next tag or entity, in one copy */
		if (run > max - out->len)
			run = max - out->len;
		buf_add(out, p, run);
		p = stop;
		if (p >= end || out->len >= max)
			break;
		if (*p == '&') {
			size_t i;

			for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
				if ((size_t)(end - p) >= entities[i].len &&
				    strncasecmp(p, entities[i].name, entities[i].len) == 0)
					break;
			if (i < sizeof(entities) / sizeof(entities[0])) {
				buf_addch(out, entities[i].c);
				p += entities[i].len;
			} else {
				buf_addch(out, '&');
				p++;
			}
			continue;
		}
		/* a tag; script, style and comments with their content */
		{
			const char *skip_to = NULL, *q;

			if (starts_ci(p, end, "<script"))
				skip_to = "</script";
			else if (starts_ci(p, end, "<style"))
				skip_to = "</style";
			else if (starts_ci(p, end, "<!--"))
				skip_to = "-->";
			if (skip_to) {
				size_t k = strlen(skip_to);

				for (q = p + 1; q < end; q++) {
					q = memchr(q, skip_to[0], (size_t)(end - q));
					if (!q || (size_t)(end - q) < k || strncasecmp(q, skip_to, k) == 0)
						break;
				}
				p = q ? q : end;
			}
			q = p < end ? memchr(p, '>', (size_t)(end - p)) : NULL;
			p = q ? q + 1 : end;
			buf_addch(out, ' ');
		}
	}
}

static bool white[256];

void text_init(void)
{
	size_t i;

	for (i = 0; i < 256; i++)
		white[i] = isspace((int)i) || i == 0;
}

void text_squeeze(struct buf *b)
{
	char *d = b->data;
	size_t i, o = 0;
	bool space = true;

	/* without branches: which byte is white is the text's, not predictable */
	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)d[i];
		bool w = white[c];

		d[o] = w ? ' ' : (char)c;
		o += !(w & space);
		space = w;
	}
	while (o > 0 && d[o - 1] == ' ')
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

/*
 * Links start with "http://", "https://" or "www.": found from their ':'
 * or '.', which memchr finds fast, then checked backwards.
 */
unsigned text_find_urls(const char *p, size_t n, struct text_url_sink *sink)
{
	const char *end = p + n, *q = p;
	const char *colon = memchr(p, ':', n), *dot = memchr(p, '.', n);
	unsigned found = 0;

	while (sink->count(sink) < sink->max) {
		const char *start = NULL, *hostp = NULL, *cand;
		char host[256];

		if (colon && colon < q)
			colon = memchr(q, ':', (size_t)(end - q));
		if (dot && dot < q)
			dot = memchr(q, '.', (size_t)(end - q));
		if (!colon && !dot)
			break;
		cand = !dot || (colon && colon < dot) ? colon : dot;
		if (cand == colon) {
			if ((size_t)(end - cand) >= 3 && cand[1] == '/' && cand[2] == '/') {
				if (cand - 5 >= q && strncasecmp(cand - 5, "https", 5) == 0)
					start = cand - 5;
				else if (cand - 4 >= q && strncasecmp(cand - 4, "http", 4) == 0)
					start = cand - 4;
				hostp = cand + 3;
			}
		} else if (cand - 3 >= q && strncasecmp(cand - 3, "www", 3) == 0 &&
			   (cand - 3 == p || !isalnum((unsigned char)cand[-4]))) {
			start = hostp = cand - 3;
		}
		if (!start) {
			q = cand + 1;
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
			q = e > cand ? e : cand + 1;
		}
	}
	return found;
}
