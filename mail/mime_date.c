/*
 * mime_date - the Date field: RFC 5322 section 3.3 date-time to time_t,
 * with the obsolete forms of section 4.3 (two- and three-digit years,
 * alphabetic zones, comments and white space anywhere, no seconds) and
 * the asctime() order some old mailers use ("Thu Feb 15 01:02:03 2007").
 * The time is computed here, without the process's time zone.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"

struct date_lex {
	const char *p;
};

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
				     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* Zones by name, in minutes east of UTC (military letters count as -0000, RFC 5322 4.3). */
static const struct {
	const char *name;
	int minutes;
} zones[] = {
    {"ut", 0},	      {"utc", 0},	{"gmt", 0},	  {"z", 0},
    {"edt", -4 * 60}, {"est", -5 * 60}, {"cdt", -5 * 60}, {"cst", -6 * 60},
    {"mdt", -6 * 60}, {"mst", -7 * 60}, {"pdt", -7 * 60}, {"pst", -8 * 60},
};

/* skip - white space, commas and comments. */
static void skip(struct date_lex *lx)
{
	int depth;

	for (;;) {
		while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' || *lx->p == '\n' ||
		       *lx->p == ',')
			lx->p++;
		if (*lx->p != '(')
			return;
		depth = 0;
		while (*lx->p != '\0') {
			if (*lx->p == '\\' && lx->p[1] != '\0')
				lx->p++;
			else if (*lx->p == '(')
				depth++;
			else if (*lx->p == ')' && --depth == 0) {
				lx->p++;
				break;
			}
			lx->p++;
		}
	}
}

/* number - up to max digits; -1 when none. *ndigits_r: how many. */
static long number(struct date_lex *lx, int max, int *ndigits_r)
{
	long n = 0;
	int i = 0;

	skip(lx);
	while (i < max && isdigit((unsigned char)lx->p[i])) {
		n = n * 10 + (lx->p[i] - '0');
		i++;
	}
	if (i == 0 || isdigit((unsigned char)lx->p[i]))
		return -1;
	lx->p += i;
	if (ndigits_r != NULL)
		*ndigits_r = i;
	return n;
}

/* word - an alphabetic word (at most size-1 letters kept, lower case); its length. */
static size_t word(struct date_lex *lx, char *buf, size_t size)
{
	size_t n = 0, i = 0;

	skip(lx);
	while (isalpha((unsigned char)lx->p[i])) {
		if (n + 1 < size)
			buf[n++] = (char)tolower((unsigned char)lx->p[i]);
		i++;
	}
	buf[n] = '\0';
	lx->p += i;
	return i;
}

static int month_of(const char *w)
{
	int i;

	for (i = 0; i < 12; i++) {
		if (strncmp(w, months[i], 3) == 0 && strlen(w) >= 3)
			return i + 1;
	}
	return 0;
}

static bool is_day_name(const char *w)
{
	size_t i;

	for (i = 0; i < 7; i++) {
		if (strlen(w) >= 3 && strncmp(w, days[i], 3) == 0)
			return true;
	}
	return false;
}

/* time_of_day - hh:mm[:ss]; -1 when not one. */
static long time_of_day(struct date_lex *lx)
{
	long h, m, s = 0;

	if ((h = number(lx, 2, NULL)) < 0 || *lx->p != ':')
		return -1;
	lx->p++;
	if ((m = number(lx, 2, NULL)) < 0)
		return -1;
	if (*lx->p == ':') {
		lx->p++;
		if ((s = number(lx, 2, NULL)) < 0)
			return -1;
	}
	if (h > 23 || m > 59 || s > 60)
		return -1;
	if (s == 60)
		s = 59;
	return h * 3600 + m * 60 + s;
}

/* zone - the offset in seconds east of UTC; 0 for an unknown or missing zone. */
static long zone(struct date_lex *lx)
{
	char w[8];
	long z;
	int sign, n;
	size_t i;

	skip(lx);
	if (*lx->p == '+' || *lx->p == '-') {
		sign = *lx->p == '-' ? -1 : 1;
		lx->p++;
		z = number(lx, 4, &n);
		if (z < 0 || n != 4 || z % 100 > 59)
			return 0;
		return sign * ((z / 100) * 3600 + (z % 100) * 60);
	}
	if (word(lx, w, sizeof(w)) == 0)
		return 0;
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strcmp(w, zones[i].name) == 0)
			return zones[i].minutes * 60L;
	}
	return 0;
}

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date. */
static long long days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (long long)era * 146097 + doe - 719468;
}

static int month_days(long y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return len[m - 1];
}

static long full_year(long y, int ndigits)
{
	if (ndigits == 2)
		return y < 50 ? 2000 + y : 1900 + y;
	if (ndigits == 3)
		return 1900 + y;
	return y;
}

time_t mime_parse_date(const char *value)
{
	struct date_lex lx = {value};
	const char *save;
	char w[16];
	long day, year, secs;
	int month, ndigits;

	save = lx.p;
	if (word(&lx, w, sizeof(w)) > 0) {
		if (!is_day_name(w))
			return -1;
		save = lx.p;
		if (word(&lx, w, sizeof(w)) > 0) {
			/* asctime order: month day time year */
			if ((month = month_of(w)) == 0 || (day = number(&lx, 2, NULL)) < 0 ||
			    (secs = time_of_day(&lx)) < 0 || (year = number(&lx, 4, &ndigits)) < 0)
				return -1;
			goto done;
		}
	}
	lx.p = save;
	if ((day = number(&lx, 2, NULL)) < 0)
		return -1;
	skip(&lx);
	if (*lx.p == '-')
		lx.p++; /* "15-Feb-2007" */
	if (word(&lx, w, sizeof(w)) == 0 || (month = month_of(w)) == 0)
		return -1;
	skip(&lx);
	if (*lx.p == '-')
		lx.p++;
	if ((year = number(&lx, 4, &ndigits)) < 0 || (secs = time_of_day(&lx)) < 0)
		return -1;
done:
	year = full_year(year, ndigits);
	if (day < 1 || day > month_days(year, month) || year < 1900 || year > 9999)
		return -1;
	return (time_t)(days_from_civil(year, month, day) * 86400 + secs - zone(&lx));
}
