/*
 * timeutil.h - UTC time: ISO 8601 in and out, mail date parsing.
 *
 * Times are int64_t seconds since 1970-01-01T00:00:00Z. Nothing here reads
 * the clock or the time zone: parsing and formatting are pure.
 */
#ifndef SPAMTIDE_UTIL_TIMEUTIL_H
#define SPAMTIDE_UTIL_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

#define TIME_ISO_LEN 21   /* "2011-03-16T15:30:00Z" plus NUL */

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
int64_t time_from_parts(int y, int mon, int day, int h, int mi, int s);

/*
 * time_parse_iso: "2011-03-16T15:30:00Z", "2011-03-16T15:30Z",
 * "2011-03-16 15:30:00", or a bare date "2011-03-16" (its midnight).
 * A fraction of a second ("15:30:00.250Z", up to 9 digits) rounds up to the
 * next whole second. A zone other than Z/+00:00 is applied. Returns false
 * on anything else.
 */
/* time_mono: monotonic seconds, for durations and deadlines. */
double time_mono(void);

bool time_parse_iso(const char *s, int64_t *out);
/* time_format_iso: "2011-03-16T15:30:00Z" into out[TIME_ISO_LEN]. */
char *time_format_iso(int64_t t, char *out);
/* time_format_date: "2011-03-16" into out[11]. */
char *time_format_date(int64_t t, char *out);
/* time_format_human: "2011-03-16 15:30 UTC" into out[21]. */
char *time_format_human(int64_t t, char *out);

/*
 * time_parse_mail: an RFC 5322 date as found in Date: and Received: headers,
 * leniently: optional weekday, 2- or 4-digit year, missing seconds, numeric
 * or named zones (UT, GMT, EST, ...; unknown names count as UTC), trailing
 * comments. Returns false when no date can be read.
 */
bool time_parse_mail(const char *s, int64_t *out);

/*
 * time_parse_ctime: the date of an mbox "From " line, "Mon Dec  2 12:00:00
 * 2002" (asctime; no zone, read as UTC), also with a numeric zone before or
 * after the year. Returns false when no date can be read.
 */
bool time_parse_ctime(const char *s, int64_t *out);

#endif
