/*
 * received.c - reading Received: lines.
 *
 * Every MTA writes its own dialect of the trace line; what we need from each
 * is the from-name (the HELO the client gave), the connecting IP, and the
 * date after the last ';'. Forms handled, as written by:
 *   Postfix, sendmail  from HELO (rdns [IP]) by ...; date
 *   Exim               from rdns ([IP] helo=HELO) / from [IP] (helo=HELO)
 *   qmail              from rdns (HELO name) (IP)
 *   CommuniGate        from [IP] (HELO name) by ...
 *   Exchange           from HELO ([IP]) by ...
 *   Gmail              from HELO (rdns. [IP]) by ...
 * A clause without any address gives a HELO only.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mail/features.h"
#include "util/timeutil.h"
#include "util/banned.h"

/* find a case-insensitive word w in [p, end) preceded by space/paren */
static const char *find_word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);
	const char *q;

	for (q = p; q + n <= end; q++) {
		if ((*q | 0x20) != (w[0] | 0x20) || strncasecmp(q, w, n) != 0)
			continue;
		if (q > p && !isspace((unsigned char)q[-1]) && q[-1] != '(')
			continue;
		return q;
	}
	return NULL;
}

static void copy_token(char *dst, size_t dstlen, const char *p, const char *end)
{
	size_t n = 0;

	while (p < end && !isspace((unsigned char)*p) && *p != ')' && *p != '(' &&
	       *p != ';' && n + 1 < dstlen) {
		unsigned char c = (unsigned char)*p++;

		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
}

static bool try_ip(const char *p, size_t n, struct mail_received *out)
{
	char tmp[IP_TEXT_LEN + 8];
	struct ip_addr a;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (!ip_parse(tmp, &a))
		return false;
	ip_format(&a, out->ip);
	out->have_ip = true;
	return true;
}

static void find_ip(const char *p, const char *end, struct mail_received *out)
{
	const char *q;

	/* 1: a bracketed literal anywhere in the clause */
	for (q = p; q < end; q++) {
		if (*q == '[') {
			const char *c = memchr(q, ']', (size_t)(end - q));

			if (c && try_ip(q + 1, (size_t)(c - q - 1), out))
				return;
		}
	}
	/* 2: a bare address as a token (qmail's "(1.2.3.4)", "from 1.2.3.4") */
	for (q = p; q < end; q++) {
		if (isxdigit((unsigned char)*q) &&
		    (q == p || *(q - 1) == '(' || isspace((unsigned char)*(q - 1)) || *(q - 1) == '@')) {
			const char *e = q;

			while (e < end && (isxdigit((unsigned char)*e) || *e == '.' || *e == ':'))
				e++;
			if (try_ip(q, (size_t)(e - q), out))
				return;
			q = e;
		}
	}
}

bool mail_parse_received(const char *value, size_t len, struct mail_received *out)
{
	return mail_parse_received_part(value, len, true, out);
}

bool mail_parse_received_part(const char *value, size_t len, bool want_date,
			      struct mail_received *out)
{
	const char *p = value, *end = value + len, *semi, *clause_end, *h;

	memset(out, 0, sizeof(*out));
	semi = NULL;
	for (h = value; h < end; h++)
		if (*h == ';')
			semi = h;
	if (semi && want_date) {
		char date[128];
		size_t n = (size_t)(end - semi - 1);

		if (n >= sizeof(date))
			n = sizeof(date) - 1;
		memcpy(date, semi + 1, n);
		date[n] = '\0';
		out->have_ts = time_parse_mail(date, &out->ts);
	}
	while (p < end && isspace((unsigned char)*p))
		p++;
	if ((size_t)(end - p) < 5 || strncasecmp(p, "from", 4) != 0 ||
	    !isspace((unsigned char)p[4]))
		return out->have_ts;
	p += 5;
	while (p < end && isspace((unsigned char)*p))
		p++;
	clause_end = find_word(p, semi ? semi : end, "by ");
	if (!clause_end)
		clause_end = semi ? semi : end;

	if ((h = find_word(p, clause_end, "helo=")) != NULL)
		copy_token(out->helo, sizeof(out->helo), h + 5, clause_end);
	else if ((h = find_word(p, clause_end, "HELO ")) != NULL ||
		 (h = find_word(p, clause_end, "EHLO ")) != NULL)
		copy_token(out->helo, sizeof(out->helo), h + 5, clause_end);
	else
		copy_token(out->helo, sizeof(out->helo), p, clause_end);
	find_ip(p, clause_end, out);
	/* "by HOST with PROTOCOL": how the receiving side says the client
	 * greeted it (ESMTP after EHLO, SMTP after HELO) */
	if ((h = find_word(clause_end, semi ? semi : end, "with ")) != NULL)
		copy_token(out->with, sizeof(out->with), h + 5, semi ? semi : end);
	return true;
}
