/*
 * mime_field - structured header fields for the MIME parser: the lexer of
 * RFC 5322 section 3.2 (white space, comments, quoted strings) and RFC
 * 2045 tokens, Content-Type, Content-Transfer-Encoding and
 * Content-Disposition values, and their parameters with RFC 2231
 * continuations, charsets and languages.
 *
 * Parsing is lenient where mail in the wild needs it: a parameter value
 * that is neither a token nor a quoted string is taken up to the next
 * ';', white space or comment (boundary=----=_Part_1 is common), and a
 * parameter without a value is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/mymalloc.h"

/* Highest RFC 2231 section number taken ("name*999"). */
#define SECTION_MAX 999

void mime_lex_init(struct mime_lex *lx, const void *data, size_t len)
{
	lx->p = data;
	lx->end = lx->p + len;
}

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* is_tspecial - RFC 2045 tspecials (RFC 5322 specials plus '/', '?', '='). */
static bool is_tspecial(unsigned char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

void mime_lex_cfws(struct mime_lex *lx, struct strbuf *comment)
{
	int depth;

	for (;;) {
		while (lx->p < lx->end && is_wsp(*lx->p))
			lx->p++;
		if (lx->p == lx->end || *lx->p != '(')
			return;
		if (comment != NULL)
			strbuf_reset(comment);
		depth = 0;
		while (lx->p < lx->end) {
			unsigned char c = *lx->p++;

			if (c == '\\' && lx->p < lx->end) {
				c = *lx->p++;
			} else if (c == '(') {
				if (depth++ == 0)
					continue;
			} else if (c == ')') {
				if (--depth == 0)
					break;
			} else if (c == '\r' || c == '\n') {
				continue;
			}
			if (comment != NULL)
				strbuf_putc(comment, c);
		}
	}
}

size_t mime_lex_token(struct mime_lex *lx, struct strbuf *out, bool lower)
{
	const unsigned char *start = lx->p;

	while (lx->p < lx->end && is_token_char(*lx->p)) {
		unsigned char c = *lx->p++;

		strbuf_putc(out, lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	return (size_t)(lx->p - start);
}

void mime_lex_quoted(struct mime_lex *lx, struct strbuf *out)
{
	const unsigned char *run;

	lx->p++; /* the opening quote */
	while (lx->p < lx->end) {
		run = lx->p;
		while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\\' && *lx->p != '\r' &&
		       *lx->p != '\n')
			lx->p++;
		strbuf_append(out, run, (size_t)(lx->p - run));
		if (lx->p == lx->end)
			return;
		switch (*lx->p++) {
		case '"':
			return;
		case '\\':
			if (lx->p < lx->end)
				strbuf_putc(out, *lx->p++);
			break;
		default:
			break; /* folding: the line end goes, the white space after it stays */
		}
	}
}

void mime_unfold(const char *value, size_t len, struct strbuf *out)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (value[i] == '\n' || value[i] == '\0') {
			strbuf_append(out, value + start,
				      i - start -
					  (value[i] == '\n' && i > start && value[i - 1] == '\r'));
			start = i + 1;
		}
	}
	strbuf_append(out, value + start, len - start);
}

void mime_trim(const char **data, size_t *len)
{
	while (*len > 0 && is_wsp((unsigned char)**data)) {
		(*data)++;
		(*len)--;
	}
	while (*len > 0 && is_wsp((unsigned char)(*data)[*len - 1]))
		(*len)--;
}

/* One parameter as written, before RFC 2231 sections are joined. */
struct raw_param {
	char *name;    /* lower case, without "*n" and "*" */
	int section;   /* n of "name*n", -1 without one */
	bool extended; /* "name*" or "name*n*": charset'language'%xx */
	char *value;
	size_t value_len;
	size_t order; /* position in the field */
};

/* lenient_value - a parameter value that is neither a token nor a quoted string. */
static void lenient_value(struct mime_lex *lx, struct strbuf *out)
{
	while (lx->p < lx->end && *lx->p != ';' && *lx->p != '(' && *lx->p != '"' &&
	       *lx->p > 0x20 && *lx->p != 0x7f)
		strbuf_putc(out, *lx->p++);
	/* 8-bit bytes (RFC 6532 values) are kept too */
	while (lx->p < lx->end && *lx->p >= 0x80) {
		strbuf_putc(out, *lx->p++);
		lenient_value(lx, out);
	}
}

/* split_name - "name*2*" into name, section 2, extended. */
static void split_name(struct strbuf *name, struct raw_param *rp)
{
	char *star = strchr(name->data, '*'), *end;
	long n;

	rp->section = -1;
	rp->extended = false;
	if (star != NULL) {
		*star = '\0';
		if (star[1] == '\0') {
			rp->extended = true;
		} else if (star[1] >= '0' && star[1] <= '9') {
			n = strtol(star + 1, &end, 10);
			if ((*end == '\0' || (end[0] == '*' && end[1] == '\0')) &&
			    n <= SECTION_MAX &&
			    !(star[1] == '0' && star[2] >= '0' && star[2] <= '9')) {
				rp->section = (int)n;
				rp->extended = *end == '*';
			} else {
				*star = '*'; /* not RFC 2231: keep the name as written */
			}
		} else {
			*star = '*';
		}
	}
	rp->name = xstrdup(name->data);
}

/* read_param - one "; name=value" (the ';' already passed); false at the end. */
static bool read_param(struct mime_lex *lx, struct raw_param *rp, struct strbuf *tmp)
{
	strbuf_reset(tmp);
	mime_lex_cfws(lx, NULL);
	if (mime_lex_token(lx, tmp, true) == 0)
		return false;
	mime_lex_cfws(lx, NULL);
	if (lx->p == lx->end || *lx->p != '=')
		return false;
	lx->p++;
	split_name(tmp, rp);
	mime_lex_cfws(lx, NULL);
	strbuf_reset(tmp);
	if (lx->p < lx->end && *lx->p == '"')
		mime_lex_quoted(lx, tmp);
	else
		lenient_value(lx, tmp);
	rp->value_len = tmp->len;
	rp->value = strbuf_detach(tmp);
	return true;
}

/* rank - "name*" first, then sections 0, 1, ..., then a plain "name" (RFC 2231 forms win). */
static long rank(const struct raw_param *rp)
{
	if (rp->section >= 0)
		return rp->section;
	return rp->extended ? -1 : SECTION_MAX + 1;
}

static int raw_cmp(const void *a, const void *b)
{
	const struct raw_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	if (rank(x) != rank(y))
		return rank(x) < rank(y) ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

int mime_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void mime_hex_unescape(const char *s, size_t len, char escape, bool underscore, struct strbuf *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (underscore && s[i] == '_') {
			strbuf_putc(out, ' ');
		} else if (s[i] == escape && i + 2 < len &&
			   (hi = mime_hexval((unsigned char)s[i + 1])) >= 0 &&
			   (lo = mime_hexval((unsigned char)s[i + 2])) >= 0) {
			strbuf_putc(out, hi * 16 + lo);
			i += 2;
		} else {
			strbuf_putc(out, s[i]);
		}
	}
}

/*
 * join_sections - the value of the parameter whose raw forms are
 * raw[0..n) (sorted by rank): the single "name*" or plain form, or the
 * RFC 2231 sections from the first one on up to a gap, decoded to UTF-8.
 */
static char *join_sections(const struct raw_param *raw, size_t n)
{
	struct strbuf bytes = STRBUF_INIT, out = STRBUF_INIT;
	char *charset = NULL;
	const char *v, *q1, *q2;
	size_t i, vlen;

	for (i = 0; i < n; i++) {
		if (i > 0 && raw[i].section != raw[i - 1].section + 1)
			break;
		v = raw[i].value;
		vlen = raw[i].value_len;
		if (i == 0 && raw[i].extended) {
			/* charset'language'value */
			q1 = memchr(v, '\'', vlen);
			q2 = q1 != NULL ? memchr(q1 + 1, '\'', vlen - (size_t)(q1 + 1 - v)) : NULL;
			if (q2 != NULL) {
				if (q1 > v)
					charset = xstrndup(v, (size_t)(q1 - v));
				vlen -= (size_t)(q2 + 1 - v);
				v = q2 + 1;
			}
		}
		if (raw[i].extended)
			mime_hex_unescape(v, vlen, '%', false, &bytes);
		else
			strbuf_append(&bytes, v, vlen);
		if (raw[i].section < 0)
			break;
	}
	mime_charset_to_utf8(charset, bytes.data != NULL ? bytes.data : "", bytes.len, &out);
	free(charset);
	strbuf_free(&bytes);
	return strbuf_detach(&out);
}

/* group_params - the sorted raw parameters grouped by name into params (first position kept). */
static void group_params(struct raw_param *raw, size_t nraw, struct mime_param **params_r,
			 size_t *count_r)
{
	struct mime_param *params = xcalloc(nraw, sizeof(*params));
	size_t *order = xcalloc(nraw, sizeof(*order));
	size_t i = 0, j, k, n = 0;

	while (i < nraw) {
		j = i + 1;
		order[n] = raw[i].order;
		while (j < nraw && strcmp(raw[j].name, raw[i].name) == 0) {
			if (raw[j].order < order[n])
				order[n] = raw[j].order;
			j++;
		}
		/* a plain name=value after an RFC 2231 form of the same name is ignored */
		params[n].name = xstrdup(raw[i].name);
		params[n].value = join_sections(raw + i, j - i);
		n++;
		i = j;
	}
	/* back to the order of the field (insertion sort: few parameters) */
	for (i = 1; i < n; i++) {
		struct mime_param p = params[i];
		size_t o = order[i];

		for (k = i; k > 0 && order[k - 1] > o; k--) {
			params[k] = params[k - 1];
			order[k] = order[k - 1];
		}
		params[k] = p;
		order[k] = o;
	}
	free(order);
	if (n == 0) {
		free(params);
		params = NULL;
	}
	*params_r = params;
	*count_r = n;
}

void mime_parse_params(struct mime_lex *lx, struct mime_param **params_r, size_t *count_r)
{
	struct raw_param *raw = NULL;
	struct strbuf tmp = STRBUF_INIT;
	size_t nraw = 0, alloc = 0, i;

	for (;;) {
		mime_lex_cfws(lx, NULL);
		/* skip to the next ';' (garbage between parameters is ignored) */
		while (lx->p < lx->end && *lx->p != ';')
			lx->p++;
		if (lx->p == lx->end)
			break;
		lx->p++;
		if (nraw == alloc) {
			alloc = alloc == 0 ? 4 : alloc * 2;
			raw = xreallocarray(raw, alloc, sizeof(*raw));
		}
		if (read_param(lx, &raw[nraw], &tmp)) {
			raw[nraw].order = nraw;
			nraw++;
		}
	}
	strbuf_free(&tmp);
	if (nraw > 1)
		qsort(raw, nraw, sizeof(*raw), raw_cmp);
	group_params(raw, nraw, params_r, count_r);
	for (i = 0; i < nraw; i++) {
		free(raw[i].name);
		free(raw[i].value);
	}
	free(raw);
}

void mime_params_free(struct mime_param *params, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
}

const char *mime_param_get(const struct mime_param *params, size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (strcmp(params[i].name, name) == 0)
			return params[i].value;
	}
	return NULL;
}

int mime_content_type(const char *value, size_t len, char **type_r, char **subtype_r,
		      struct mime_param **params_r, size_t *count_r)
{
	struct strbuf type = STRBUF_INIT, subtype = STRBUF_INIT;
	struct mime_lex lx;

	mime_lex_init(&lx, value, len);
	mime_lex_cfws(&lx, NULL);
	if (mime_lex_token(&lx, &type, true) == 0)
		goto bad;
	mime_lex_cfws(&lx, NULL);
	if (lx.p == lx.end || *lx.p != '/')
		goto bad;
	lx.p++;
	mime_lex_cfws(&lx, NULL);
	if (mime_lex_token(&lx, &subtype, true) == 0)
		goto bad;
	*type_r = strbuf_detach(&type);
	*subtype_r = strbuf_detach(&subtype);
	mime_parse_params(&lx, params_r, count_r);
	return 0;
bad:
	strbuf_free(&type);
	strbuf_free(&subtype);
	return -1;
}

char *mime_content_token(const char *value, size_t len)
{
	struct strbuf tok = STRBUF_INIT;
	struct mime_lex lx;

	mime_lex_init(&lx, value, len);
	mime_lex_cfws(&lx, NULL);
	if (mime_lex_token(&lx, &tok, true) == 0) {
		strbuf_free(&tok);
		return NULL;
	}
	return strbuf_detach(&tok);
}

int mime_content_disposition(const char *value, size_t len, char **disposition_r,
			     struct mime_param **params_r, size_t *count_r)
{
	struct mime_lex lx;
	struct strbuf tok = STRBUF_INIT;

	mime_lex_init(&lx, value, len);
	mime_lex_cfws(&lx, NULL);
	if (mime_lex_token(&lx, &tok, true) == 0) {
		strbuf_free(&tok);
		return -1;
	}
	*disposition_r = strbuf_detach(&tok);
	mime_parse_params(&lx, params_r, count_r);
	return 0;
}
