/*
 * imap_arg - typed reading of parsed IMAP arguments. See imap_arg.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_arg.h"
#include "imap/imap_mailbox.h"
#include "util/mymalloc.h"

/* atom_char - RFC 9051 ATOM-CHAR. */
static int atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* all_chars - every byte of s[0..len) passes ok, extra bytes allowed too. */
static int all_chars(const char *s, size_t len, const char *extra)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!atom_char(c) && (c == '\0' || strchr(extra, c) == NULL))
			return 0;
	}
	return 1;
}

int imap_arg_atom(const struct imap_arg *arg, const char **str_r)
{
	if ((arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL) ||
	    !all_chars(arg->str, arg->len, ""))
		return -1;
	*str_r = arg->str;
	return 0;
}

int imap_arg_atom_is(const struct imap_arg *arg, const char *word)
{
	return (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) &&
	       arg->len == strlen(word) && strcasecmp(arg->str, word) == 0;
}

int imap_arg_string(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg->type == IMAP_ARG_QUOTED ||
	    (arg->type == IMAP_ARG_LITERAL &&
	     (arg->flags & (IMAP_ARG_BINARY | IMAP_ARG_STREAMED)) == 0)) {
		if (memchr(arg->str, '\0', arg->len) != NULL)
			return -1;
		*str_r = arg->str;
		*len_r = arg->len;
		return 0;
	}
	return -1;
}

int imap_arg_astring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) {
		if (!all_chars(arg->str, arg->len, "]"))
			return -1;
		*str_r = arg->str;
		*len_r = arg->len;
		return 0;
	}
	return imap_arg_string(arg, str_r, len_r);
}

int imap_arg_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		*len_r = 0;
		return 0;
	}
	return imap_arg_string(arg, str_r, len_r);
}

int imap_parse_number64(const char *s, uint64_t *n_r)
{
	uint64_t v = 0;
	const char *p;

	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*n_r = v;
	return 0;
}

int imap_parse_number(const char *s, uint32_t *n_r)
{
	uint64_t v;

	if (imap_parse_number64(s, &v) < 0 || v > UINT32_MAX)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

int imap_parse_nz_number(const char *s, uint32_t *n_r)
{
	if (imap_parse_number(s, n_r) < 0 || *n_r == 0)
		return -1;
	return 0;
}

int imap_arg_number(const struct imap_arg *arg, uint32_t *n_r)
{
	return arg->type == IMAP_ARG_ATOM ? imap_parse_number(arg->str, n_r) : -1;
}

int imap_arg_nz_number(const struct imap_arg *arg, uint32_t *n_r)
{
	return arg->type == IMAP_ARG_ATOM ? imap_parse_nz_number(arg->str, n_r) : -1;
}

int imap_arg_number64(const struct imap_arg *arg, uint64_t *n_r)
{
	return arg->type == IMAP_ARG_ATOM ? imap_parse_number64(arg->str, n_r) : -1;
}

int imap_arg_mailbox(const struct imap_arg *arg, int utf8, char **name_r, char **error_r)
{
	const char *s;
	size_t len;

	if (imap_arg_astring(arg, &s, &len) < 0) {
		*error_r = xstrdup("Invalid mailbox name");
		return -1;
	}
	return imap_mailbox_decode(s, len, utf8, name_r, error_r);
}

int imap_arg_list_mailbox(const struct imap_arg *arg, int utf8, char sep, char **pattern_r,
			  char **error_r)
{
	const char *s;
	size_t len;

	if (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) {
		if (!all_chars(arg->str, arg->len, "]%*")) {
			*error_r = xstrdup("Invalid mailbox pattern");
			return -1;
		}
		s = arg->str;
		len = arg->len;
	} else if (imap_arg_string(arg, &s, &len) < 0) {
		*error_r = xstrdup("Invalid mailbox pattern");
		return -1;
	}
	return imap_mailbox_pattern_decode(s, len, utf8, sep, pattern_r, error_r);
}

unsigned imap_flag_system(const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} flags[] = {{"\\Seen", IMAP_FLAG_SEEN},       {"\\Answered", IMAP_FLAG_ANSWERED},
		     {"\\Flagged", IMAP_FLAG_FLAGGED}, {"\\Deleted", IMAP_FLAG_DELETED},
		     {"\\Draft", IMAP_FLAG_DRAFT},     {"\\Recent", IMAP_FLAG_RECENT}};
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcasecmp(name, flags[i].name) == 0)
			return flags[i].bit;
	return 0;
}

int imap_flag_keyword_valid(const char *name)
{
	return all_chars(name, strlen(name), "");
}

void imap_flags_free(struct imap_flags *flags)
{
	size_t i;

	for (i = 0; i < flags->nkeywords; i++)
		free(flags->keywords[i]);
	free(flags->keywords);
	memset(flags, 0, sizeof(*flags));
}

/* add_flag - one flag of a STORE or APPEND. */
static int add_flag(struct imap_flags *flags, const struct imap_arg *arg, char **error_r)
{
	unsigned bit;
	size_t i;

	if (arg->type != IMAP_ARG_ATOM || arg->len == 0) {
		*error_r = xstrdup("Invalid flag");
		return -1;
	}
	if (arg->str[0] == '\\') {
		bit = imap_flag_system(arg->str);
		if (bit == 0 || bit == IMAP_FLAG_RECENT) {
			*error_r = xasprintf("Invalid system flag %.64s", arg->str);
			return -1;
		}
		flags->system |= bit;
		return 0;
	}
	if (!imap_flag_keyword_valid(arg->str)) {
		*error_r = xstrdup("Invalid keyword");
		return -1;
	}
	for (i = 0; i < flags->nkeywords; i++)
		if (strcasecmp(flags->keywords[i], arg->str) == 0)
			return 0;
	if (flags->nkeywords >= IMAP_KEYWORDS_MAX) {
		*error_r = xstrdup("Too many keywords");
		return -1;
	}
	flags->keywords =
	    xreallocarray(flags->keywords, flags->nkeywords + 1, sizeof(*flags->keywords));
	flags->keywords[flags->nkeywords++] = xstrdup(arg->str);
	return 0;
}

int imap_arg_flags(const struct imap_arg *args, size_t count, struct imap_flags *flags_r,
		   char **error_r)
{
	size_t i;

	memset(flags_r, 0, sizeof(*flags_r));
	if (count == 1 && args[0].type == IMAP_ARG_LIST) {
		count = args[0].count;
		args = args[0].list;
	} else if (count == 0) {
		*error_r = xstrdup("Missing flags");
		return -1;
	}
	for (i = 0; i < count; i++)
		if (add_flag(flags_r, &args[i], error_r) < 0)
			return -1;
	return 0;
}

int imap_arg_date(const struct imap_arg *arg, struct imap_date *date_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_QUOTED)
		return -1;
	return imap_date_parse(arg->str, arg->len, date_r);
}

int imap_arg_datetime(const struct imap_arg *arg, time_t *t_r, int *tz_r)
{
	const char *s;
	size_t len;

	if (imap_arg_string(arg, &s, &len) < 0)
		return -1;
	return imap_datetime_parse(s, len, t_r, tz_r);
}
