/*
 * shape.c - normalised shapes of identifiers and dates.
 *
 * A shape keeps what the sending software fixed and drops what it drew at
 * random: "<4D7A2C1B.3F09@mail.example.com>" and "<4E00BB21.0A11@other.net>"
 * have the same shape "<UHEX8.UHEX4@DOMAIN>". Bots are told apart by such
 * shapes (a Message-ID of 16 hex digits vs 12), so lengths are kept.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "mail/features.h"
#include "util/buf.h"
#include "util/ip.h"
#include "util/banned.h"

#define SHAPE_MAX 256   /* bytes of a shape; longer identifiers are cut */

static const char *run_class(const char *s, size_t n)
{
	bool digit = false, lower = false, upper = false, nonhex_lower = false,
	     nonhex_upper = false;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isdigit(c))
			digit = true;
		else if (islower(c))
			lower = true, nonhex_lower |= c > 'f';
		else
			upper = true, nonhex_upper |= c > 'F';
	}
	if (!lower && !upper)
		return "DIGIT";
	if (lower && !upper && !nonhex_lower && (digit || n >= 4))
		return "HEX";
	if (upper && !lower && !nonhex_upper && (digit || n >= 4))
		return "UHEX";
	if (digit)
		return "ALNUM";
	if (lower && upper)
		return "ALPHA";
	return lower ? "LOWER" : "UPPER";
}

static void shape_part(struct buf *out, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && out->len < SHAPE_MAX) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c)) {
			size_t j = i;

			while (j < n && isalnum((unsigned char)s[j]))
				j++;
			buf_printf(out, "%s%zu", run_class(s + i, j - i), j - i);
			i = j;
		} else {
			buf_addch(out, (c >= 0x20 && c < 0x7f) ? c : '?');
			i++;
		}
	}
}

const char *mail_shape(struct arena *a, const char *s, size_t n, bool has_domain)
{
	struct buf out = BUF_INIT;
	const char *at = has_domain ? memchr(s, '@', n) : NULL;
	const char *p;

	if (!at) {
		shape_part(&out, s, n);
	} else {
		const char *dom = at + 1, *end = s + n;
		char host[256];
		struct ip_addr ip;
		size_t hl;

		/* a trailing '>' belongs to the shape, not the domain */
		while (end > dom && (end[-1] == '>' || isspace((unsigned char)end[-1])))
			end--;
		shape_part(&out, s, (size_t)(at - s));
		buf_addch(&out, '@');
		hl = (size_t)(end - dom);
		if (hl >= 2 && dom[0] == '[')
			dom++, hl -= 2;
		if (hl < sizeof(host)) {
			memcpy(host, dom, hl);
			host[hl] = '\0';
		} else {
			host[0] = '\0';
		}
		buf_addstr(&out, hl == 0 ? "" : ip_parse(host, &ip) ? "IP" : "DOMAIN");
		buf_add(&out, end, (size_t)(s + n - end));
	}
	p = arena_strndup(a, out.data, out.len);
	buf_free(&out);
	return p;
}

static bool is_weekday(const char *w, size_t n)
{
	static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
	size_t i;

	if (n < 3)
		return false;
	for (i = 0; i < 7; i++)
		if (strncasecmp(w, days[i], 3) == 0)
			return true;
	return false;
}

static bool is_month(const char *w, size_t n)
{
	static const char *const m[] = { "jan", "feb", "mar", "apr", "may", "jun",
					 "jul", "aug", "sep", "oct", "nov", "dec" };
	size_t i;

	if (n < 3)
		return false;
	for (i = 0; i < 12; i++)
		if (strncasecmp(w, m[i], 3) == 0)
			return true;
	return false;
}

/*
 * Date shape: weekday "Www", month "Mmm", day "D" (or "0D" with a leading
 * zero), year "YYYY"/"YY", time "HH:MM:SS" ("H:" for one digit), zones
 * "+ZZZZ"/"-ZZZZ" except the telling "-0000" and "+0000", names kept,
 * spacing kept.
 */
const char *mail_date_shape(struct arena *a, const char *s)
{
	struct buf out = BUF_INIT;
	const char *p = s, *r;
	int numbers = 0;

	while (*p && isspace((unsigned char)*p))
		p++;
	while (*p && out.len < 80) {
		unsigned char c = (unsigned char)*p;

		if (isalpha(c)) {
			const char *w = p;

			while (isalpha((unsigned char)*p))
				p++;
			if (is_weekday(w, (size_t)(p - w)) && (size_t)(p - w) <= 9)
				buf_addstr(&out, (size_t)(p - w) == 3 ? "Www" : "Weekday");
			else if (is_month(w, (size_t)(p - w)) && (size_t)(p - w) <= 9)
				buf_addstr(&out, (size_t)(p - w) == 3 ? "Mmm" : "Month");
			else
				buf_add(&out, w, (size_t)(p - w) > 8 ? 8 : (size_t)(p - w));
			continue;
		}
		if ((c == '+' || c == '-') && isdigit((unsigned char)p[1])) {
			size_t n = strspn(p + 1, "0123456789");

			if (n == 4 && strncmp(p + 1, "0000", 4) == 0)
				buf_add(&out, p, 5);
			else
				buf_printf(&out, "%c%.*s", c, (int)n, "ZZZZZZZZ");
			p += 1 + n;
			continue;
		}
		if (isdigit(c)) {
			size_t n = strspn(p, "0123456789");

			if (p[n] == ':') {       /* a time: H:MM[:SS] */
				r = p;
				buf_addstr(&out, n == 1 ? "H" : "HH");
				p += n;
				for (int field = 0; *p == ':' && isdigit((unsigned char)p[1]); field++) {
					size_t m = strspn(p + 1, "0123456789");

					buf_addch(&out, ':');
					buf_addstr(&out, field == 0 ? (m == 1 ? "M" : "MM")
								     : (m == 1 ? "S" : "SS"));
					p += 1 + m;
				}
				(void)r;
			} else if (n >= 3) {
				buf_addstr(&out, n == 4 ? "YYYY" : "YYY");
				p += n;
			} else if (numbers == 0) {
				buf_addstr(&out, (n == 2 && p[0] == '0') ? "0D" : "D");
				p += n;
			} else {
				buf_addstr(&out, "YY");
				p += n;
			}
			numbers++;
			continue;
		}
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		buf_addch(&out, c >= 0x20 && c < 0x7f ? c : '?');
		p++;
	}
	/* trailing spaces are folding noise */
	while (out.len && out.data[out.len - 1] == ' ')
		buf_setlen(&out, out.len - 1);
	r = arena_strndup(a, out.data, out.len);
	buf_free(&out);
	return r;
}
