/*
 * imap_date - parsing and formatting of IMAP dates and date-times with
 * civil-calendar arithmetic (days from 1970-01-01). See imap_date.h.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_date.h"
#include "util/strbuf.h"

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int64_t imap_date_days(const struct imap_date *date)
{
	int64_t y = date->year - (date->month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (date->month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + date->day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void imap_date_from_days(int64_t days, struct imap_date *date)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	date->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	date->month = (int)m;
	date->year = (int)(yoe + era * 400 + (m <= 2));
}

/* digits - n decimal digits at s: their value, or -1. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* month_rest - "-Mon-YYYY" at s (9 bytes): fills month and year, checks the day. */
static int month_rest(const char *s, struct imap_date *date)
{
	int m;

	if (s[0] != '-' || s[4] != '-')
		return -1;
	for (m = 0; m < 12; m++)
		if (strncasecmp(s + 1, months[m], 3) == 0)
			break;
	if (m == 12)
		return -1;
	date->month = m + 1;
	date->year = digits(s + 5, 4);
	if (date->year < 0 || date->day < 1 || date->day > month_days(date->year, date->month))
		return -1;
	return 0;
}

int imap_date_parse(const char *s, size_t len, struct imap_date *date)
{
	size_t dlen;

	if (len != 10 && len != 11)
		return -1;
	dlen = len - 9;
	date->day = digits(s, dlen);
	return month_rest(s + dlen, date);
}

int imap_datetime_parse(const char *s, size_t len, time_t *t_r, int *tz_r)
{
	struct imap_date date;
	int h, m, sec, zh, zm, tz;
	size_t dlen;
	const char *p;

	/* "DD-Mon-YYYY HH:MM:SS +ZZZZ" is 26 bytes; " D" counts as DD; "D" is 25. */
	if (len != 25 && len != 26)
		return -1;
	dlen = len - 24;
	if (dlen == 2 && s[0] == ' ')
		date.day = digits(s + 1, 1);
	else
		date.day = digits(s, dlen);
	if (month_rest(s + dlen, &date) < 0)
		return -1;
	p = s + dlen + 9;
	if (p[0] != ' ' || p[3] != ':' || p[6] != ':' || p[9] != ' ' ||
	    (p[10] != '+' && p[10] != '-'))
		return -1;
	h = digits(p + 1, 2);
	m = digits(p + 4, 2);
	sec = digits(p + 7, 2);
	zh = digits(p + 11, 2);
	zm = digits(p + 13, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60 || zh < 0 || zh > 23 ||
	    zm < 0 || zm > 59)
		return -1;
	tz = (zh * 60 + zm) * (p[10] == '-' ? -1 : 1);
	*t_r = (time_t)(imap_date_days(&date) * 86400 + h * 3600 + m * 60 + sec - tz * 60);
	*tz_r = tz;
	return 0;
}

/* floor_div - division rounding toward minus infinity. */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void imap_datetime_format(struct strbuf *out, time_t t, int tz)
{
	int64_t local = (int64_t)t + (int64_t)tz * 60;
	int64_t days = floor_div(local, 86400);
	int64_t secs = local - days * 86400;
	struct imap_date date;
	int atz = tz < 0 ? -tz : tz;

	imap_date_from_days(days, &date);
	strbuf_printf(out, "\"%02d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", date.day,
		      months[date.month - 1], date.year, (int)(secs / 3600), (int)(secs / 60 % 60),
		      (int)(secs % 60), tz < 0 ? '-' : '+', atz / 60 % 100, atz % 60);
}

void imap_date_format(struct strbuf *out, const struct imap_date *date)
{
	strbuf_printf(out, "%d-%s-%04d", date->day, months[(date->month - 1) % 12], date->year);
}
