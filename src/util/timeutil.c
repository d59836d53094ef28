/*
 * timeutil.c - UTC time parsing and formatting; see timeutil.h.
 *
 * Civil-date arithmetic follows Howard Hinnant's public-domain algorithms
 * (days_from_civil / civil_from_days), so no libc time-zone state is used.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/timeutil.h"
#include "util/banned.h"

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

int64_t time_from_parts(int y, int mon, int day, int h, int mi, int s)
{
	return days_from_civil(y, (unsigned)mon, (unsigned)day) * 86400 +
	       (int64_t)h * 3600 + (int64_t)mi * 60 + s;
}

static bool valid_parts(int y, int mon, int day, int h, int mi, int s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return y >= 0 && y <= 9999 && mon >= 1 && mon <= 12 && day >= 1 &&
	       day <= mdays[mon - 1] && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 &&
	       s >= 0 && s <= 60;
}

static int read_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return 0;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 1;
}

bool time_parse_iso(const char *s, int64_t *out)
{
	int y, mon, day, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, sign = 0, up = 0;
	const char *p = s;

	if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mon) ||
	    *p++ != '-' || !read_digits(&p, 2, &day))
		return false;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!read_digits(&p, 2, &h) || *p++ != ':' || !read_digits(&p, 2, &mi))
			return false;
		if (*p == ':') {
			p++;
			if (!read_digits(&p, 2, &sec))
				return false;
			/* a fraction (up to nanoseconds) rounds up: times are whole
			 * seconds, and t >= A.f or t < B.f for a whole t means the
			 * same with A.f, B.f rounded up */
			if (*p == '.' || *p == ',') {
				int nd = 0;

				for (p++; *p >= '0' && *p <= '9'; p++, nd++)
					if (*p != '0')
						up = 1;
				if (nd == 0 || nd > 9)
					return false;
			}
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (!read_digits(&p, 2, &zh))
				return false;
			if (*p == ':')
				p++;
			if (!read_digits(&p, 2, &zm))
				return false;
		}
	}
	if (*p != '\0' || !valid_parts(y, mon, day, h, mi, sec) || sec == 60)
		return false;
	*out = time_from_parts(y, mon, day, h, mi, sec) + up - sign * (zh * 3600 + zm * 60);
	return true;
}

static void split(int64_t t, int *y, unsigned *m, unsigned *d, int *h, int *mi, int *s)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t rem = t - days * 86400;

	civil_from_days(days, y, m, d);
	*h = (int)(rem / 3600);
	*mi = (int)(rem % 3600 / 60);
	*s = (int)(rem % 60);
}

char *time_format_iso(int64_t t, char *out)
{
	int y, h, mi, s;
	unsigned m, d;
	char tmp[64];

	split(t, &y, &m, &d, &h, &mi, &s);
	snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02d:%02d:%02dZ", y % 10000, m, d, h, mi, s);
	memcpy(out, tmp, TIME_ISO_LEN - 1);
	out[TIME_ISO_LEN - 1] = '\0';
	return out;
}

char *time_format_date(int64_t t, char *out)
{
	int y, h, mi, s;
	unsigned m, d;
	char tmp[64];

	split(t, &y, &m, &d, &h, &mi, &s);
	snprintf(tmp, sizeof(tmp), "%04d-%02u-%02u", y % 10000, m, d);
	memcpy(out, tmp, 10);
	out[10] = '\0';
	return out;
}

char *time_format_human(int64_t t, char *out)
{
	int y, h, mi, s;
	unsigned m, d;
	char tmp[64];

	split(t, &y, &m, &d, &h, &mi, &s);
	snprintf(tmp, sizeof(tmp), "%04d-%02u-%02u %02d:%02d UTC", y % 10000, m, d, h, mi);
	memcpy(out, tmp, 20);
	out[20] = '\0';
	return out;
}

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec" };

static int month_of(const char *w, size_t n)
{
	int i;

	if (n < 3)
		return 0;
	for (i = 0; i < 12; i++)
		if (strncasecmp(w, month_names[i], 3) == 0)
			return i + 1;
	return 0;
}

/* Zone names still seen in mail (RFC 822's and a few common others). */
static bool zone_name(const char *w, size_t n, int *offset)
{
	static const struct { const char *name; int hours; } zones[] = {
		{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -5 }, { "EDT", -4 }, { "CST", -6 }, { "CDT", -5 },
		{ "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
		{ "CET", 1 }, { "CEST", 2 }, { "BST", 1 }, { "JST", 9 },
	};
	size_t i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strlen(zones[i].name) == n && strncasecmp(w, zones[i].name, n) == 0) {
			*offset = zones[i].hours * 3600;
			return true;
		}
	return false;
}

/*
 * A tokenizer shared by both mail date forms: words are runs of letters,
 * numbers are digit runs (with ':' joining a time), signs start zones.
 */
struct date_parts {
	int day, mon, year, h, mi, s;
	int year_digits;
	int zone;
	bool have_day, have_mon, have_year, have_time, have_zone;
};

static bool parse_time_token(const char **pp, struct date_parts *d)
{
	const char *p = *pp;
	int h, mi, s = 0;
	char *end;
	long v;

	v = strtol(p, &end, 10);
	if (end == p || end - p > 2 || *end != ':')
		return false;
	h = (int)v;
	p = end + 1;
	v = strtol(p, &end, 10);
	if (end == p || end - p > 2)
		return false;
	mi = (int)v;
	p = end;
	if (*p == ':') {
		v = strtol(p + 1, &end, 10);
		if (end == p + 1 || end - p - 1 > 2)
			return false;
		s = (int)v;
		p = end;
	}
	d->h = h, d->mi = mi, d->s = s, d->have_time = true;
	*pp = p;
	return true;
}

static void scan_date(const char *s, struct date_parts *d)
{
	const char *p = s;

	memset(d, 0, sizeof(*d));
	while (*p) {
		if (*p == '(') {        /* comment: skip, one level is enough here */
			while (*p && *p != ')')
				p++;
			if (*p)
				p++;
			continue;
		}
		if (isalpha((unsigned char)*p)) {
			const char *w = p;
			int m, off;

			while (isalpha((unsigned char)*p))
				p++;
			if (!d->have_mon && (m = month_of(w, (size_t)(p - w))) != 0) {
				d->mon = m, d->have_mon = true;
			} else if (d->have_time && !d->have_zone &&
				   zone_name(w, (size_t)(p - w), &off)) {
				d->zone = off, d->have_zone = true;
			}
			continue;
		}
		if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) && d->have_time &&
		    !d->have_zone) {
			int sign = *p == '-' ? -1 : 1, n = 0, v = 0;
			const char *q = p + 1;

			while (isdigit((unsigned char)*q) && n < 5)
				v = v * 10 + (*q - '0'), q++, n++;
			if (n == 4 && !isdigit((unsigned char)*q) && v % 100 < 60 && v / 100 <= 14) {
				d->zone = sign * ((v / 100) * 3600 + (v % 100) * 60);
				d->have_zone = true;
				p = q;
				continue;
			}
			p++;
			continue;
		}
		if (isdigit((unsigned char)*p) && p > s && isalnum((unsigned char)p[-1])) {
			/* digits glued to a word ("nguyen43") are not a date field */
			while (isalnum((unsigned char)*p))
				p++;
			continue;
		}
		if (isdigit((unsigned char)*p)) {
			const char *q = p;
			long v;
			char *end;

			if (!d->have_time && parse_time_token(&q, d)) {
				p = q;
				continue;
			}
			v = strtol(p, &end, 10);
			if (end - p <= 2 && !d->have_day && !d->have_mon) {
				d->day = (int)v, d->have_day = true;
			} else if (end - p <= 2 && !d->have_day && d->have_mon) {
				d->day = (int)v, d->have_day = true;      /* "Dec 2" */
			} else if (!d->have_year && (end - p == 4 || end - p == 2 || end - p == 3)) {
				d->year = (int)v, d->have_year = true;
				d->year_digits = (int)(end - p);
			}
			p = end;
			continue;
		}
		p++;
	}
}

static bool finish_date(struct date_parts *d, int64_t *out)
{
	int y;

	if (!d->have_day || !d->have_mon || !d->have_year)
		return false;
	y = d->year;
	if (d->year_digits == 2)        /* RFC 5322 4.3: obsolete two- and three-digit years */
		y += y < 50 ? 2000 : 1900;
	else if (d->year_digits == 3)
		y += 1900;
	if (!d->have_time)
		d->h = d->mi = d->s = 0;
	if (d->s == 60)
		d->s = 59;
	if (!valid_parts(y, d->mon, d->day, d->h, d->mi, d->s))
		return false;
	*out = time_from_parts(y, d->mon, d->day, d->h, d->mi, d->s) - d->zone;
	return true;
}

bool time_parse_mail(const char *s, int64_t *out)
{
	struct date_parts d;

	scan_date(s, &d);
	return finish_date(&d, out);
}

bool time_parse_ctime(const char *s, int64_t *out)
{
	struct date_parts d;

	scan_date(s, &d);
	if (!d.have_time)
		return false;
	return finish_date(&d, out);
}

double time_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
