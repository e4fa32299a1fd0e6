/*
 * imap_date - the dates of IMAP (RFC 9051 section 9): "date" as SEARCH
 * takes it (D-Mon-YYYY or DD-Mon-YYYY, month names in any case), and
 * "date-time" as APPEND takes it and INTERNALDATE shows it
 * ("DD-Mon-YYYY HH:MM:SS +ZZZZ", the day may also be SP and one digit).
 * Pure arithmetic on the proleptic Gregorian calendar: no time zone
 * database, no locale.
 */
#ifndef TERN_IMAP_DATE_H
#define TERN_IMAP_DATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct strbuf;

struct imap_date {
	int year;  /* 0..9999 */
	int month; /* 1..12 */
	int day;   /* 1..31, valid for the month */
};

/* imap_date_parse - a date-text (no quotes): 0, or -1 when malformed or impossible (30-Feb). */
int imap_date_parse(const char *s, size_t len, struct imap_date *date);

/* imap_date_days - days from 1970-01-01 to date (negative before). */
int64_t imap_date_days(const struct imap_date *date);

/* imap_date_from_days - the inverse of imap_date_days(). */
void imap_date_from_days(int64_t days, struct imap_date *date);

/*
 * imap_datetime_parse - a date-time without its quotes: *t_r the instant,
 * *tz_r the zone's offset east of UTC in minutes (-0700 gives -420).
 * 0, or -1 when malformed or out of range.
 */
int imap_datetime_parse(const char *s, size_t len, time_t *t_r, int *tz_r);

/*
 * imap_datetime_format - append t as a date-time with its quotes, in the
 * zone tz minutes east of UTC: "\"17-Jul-1996 02:44:25 -0700\"".
 */
void imap_datetime_format(struct strbuf *out, time_t t, int tz);

/* imap_date_format - append "D-Mon-YYYY" (no quotes). */
void imap_date_format(struct strbuf *out, const struct imap_date *date);

#endif
