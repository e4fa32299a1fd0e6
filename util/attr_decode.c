/*
 * attr_decode - the incremental decoder of the attribute IPC codec.
 *
 * A byte-driven state machine: each netstring is a length (LEN), a body
 * (BODY) and a comma (COMMA), in name or value position. Every length is
 * checked against its limit before any byte of the body is stored, so a
 * hostile peer can make the decoder hold no more than the limits allow.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/attr.h"
#include "util/msg.h"
#include "util/mymalloc.h"

enum dec_state {
	ST_LEN,	  /* digits of a length, up to ':' */
	ST_BODY,  /* the bytes of a netstring */
	ST_COMMA, /* the ',' after them */
};

struct attr_decoder {
	struct attr_recv *spec; /* a copy; destinations belong to the caller */
	size_t nspec;
	bool *seen; /* per spec entry, in the current record */
	size_t max_record;
	size_t max_attrs;
	/* the current record */
	enum dec_state state;
	bool in_value;		     /* the netstring is a value, not a name */
	size_t len;		     /* its length */
	size_t digits;		     /* digits of len read so far */
	size_t got;		     /* body bytes read so far */
	size_t record_bytes;	     /* bytes of the record read so far */
	size_t nattrs;		     /* attributes begun */
	const struct attr_recv *cur; /* spec of the attribute whose value is read */
	struct strbuf name;	     /* the name being read */
	struct strbuf scratch;	     /* an INT value being read */
	char *error;		     /* set once the decoder failed */
};

/* value_limit - the longest value that spec accepts. */
static size_t value_limit(const struct attr_recv *spec)
{
	if (spec->type == ATTR_TYPE_INT && spec->max_len > ATTR_INT_MAX_LEN)
		return ATTR_INT_MAX_LEN;
	return spec->max_len;
}

/* check_spec - panic on a receive spec that no peer could satisfy sanely. */
static void check_spec(const struct attr_recv *spec, size_t n)
{
	const struct attr_recv *r = &spec[n];
	size_t i;

	if (r->name == NULL || !attr_name_valid(r->name, strlen(r->name)))
		msg_panic("attr_decoder: bad attribute name \"%s\" in receive spec",
			  r->name != NULL ? r->name : "(null)");
	switch (r->type) {
	case ATTR_TYPE_STR:
	case ATTR_TYPE_DATA:
		if (r->buf == NULL)
			msg_panic("attr_decoder: attribute %s: NULL destination", r->name);
		break;
	case ATTR_TYPE_INT:
		if (r->num == NULL)
			msg_panic("attr_decoder: attribute %s: NULL destination", r->name);
		break;
	default:
		msg_panic("attr_decoder: attribute %s: bad type %d", r->name, (int)r->type);
	}
	for (i = 0; i < n; i++)
		if (strcmp(spec[i].name, r->name) == 0)
			msg_panic("attr_decoder: attribute %s given twice in receive spec",
				  r->name);
}

struct attr_decoder *attr_decoder_create(const struct attr_recv *spec)
{
	struct attr_decoder *dec = xcalloc(1, sizeof(*dec));
	size_t n;

	for (n = 0; spec[n].type != ATTR_TYPE_END; n++)
		check_spec(spec, n);
	dec->spec = xmemdup(spec, (n + 1) * sizeof(*spec));
	dec->nspec = n;
	dec->seen = xcalloc(n + 1, sizeof(*dec->seen));
	dec->max_record = ATTR_DEFAULT_MAX_RECORD;
	dec->max_attrs = ATTR_DEFAULT_MAX_ATTRS;
	strbuf_init(&dec->name, ATTR_NAME_MAX);
	strbuf_init(&dec->scratch, ATTR_INT_MAX_LEN);
	attr_decoder_reset(dec);
	return dec;
}

void attr_decoder_destroy(struct attr_decoder **decp)
{
	struct attr_decoder *dec = *decp;

	if (dec == NULL)
		return;
	free(dec->spec);
	free(dec->seen);
	strbuf_free(&dec->name);
	strbuf_free(&dec->scratch);
	free(dec->error);
	free(dec);
	*decp = NULL;
}

void attr_decoder_set_limits(struct attr_decoder *dec, size_t max_record, size_t max_attrs)
{
	if (max_record == 0 || max_attrs == 0 || max_record > SIZE_MAX / 2)
		msg_panic("attr_decoder_set_limits: bad limits %zu, %zu", max_record, max_attrs);
	dec->max_record = max_record;
	dec->max_attrs = max_attrs;
}

/* start_record - forget the record in progress. */
static void start_record(struct attr_decoder *dec)
{
	memset(dec->seen, 0, (dec->nspec + 1) * sizeof(*dec->seen));
	dec->state = ST_LEN;
	dec->in_value = false;
	dec->len = dec->digits = dec->got = 0;
	dec->record_bytes = dec->nattrs = 0;
	dec->cur = NULL;
	strbuf_reset(&dec->name);
	strbuf_reset(&dec->scratch);
}

void attr_decoder_reset(struct attr_decoder *dec)
{
	XFREE(dec->error);
	start_record(dec);
}

bool attr_decoder_idle(const struct attr_decoder *dec)
{
	return dec->error == NULL && dec->record_bytes == 0;
}

/* quote - append bytes to out, printable ASCII as is, the rest as \xNN. */
static void quote(struct strbuf *out, const char *data, size_t len)
{
	size_t i;

	strbuf_putc(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			strbuf_putc(out, c);
		else
			strbuf_printf(out, "\\x%02x", c);
	}
	strbuf_putc(out, '"');
}

/* fail - record the error (sticky) and hand a copy to the caller. */
static enum attr_decode_status fail(struct attr_decoder *dec, char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum attr_decode_status fail(struct attr_decoder *dec, char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(dec->error);
	dec->error = xvasprintf(fmt, ap);
	va_end(ap);
	*error_r = xstrdup(dec->error);
	return ATTR_DECODE_ERROR;
}

/* fail_quoted - fail with "<what> <quoted bytes>". */
static enum attr_decode_status fail_quoted(struct attr_decoder *dec, char **error_r,
					   const char *what, const char *data, size_t len)
{
	struct strbuf q = STRBUF_INIT;
	enum attr_decode_status st;

	quote(&q, data, len);
	st = fail(dec, error_r, "%s %s", what, strbuf_str(&q));
	strbuf_free(&q);
	return st;
}

/* find_spec - the receive spec entry named name, or NULL. */
static const struct attr_recv *find_spec(const struct attr_decoder *dec, const struct strbuf *name)
{
	size_t i;

	for (i = 0; i < dec->nspec; i++)
		if (strlen(dec->spec[i].name) == name->len &&
		    memcmp(dec->spec[i].name, name->data, name->len) == 0)
			return &dec->spec[i];
	return NULL;
}

/* begin_body - after a length's ':': check the length against the limits. */
static enum attr_decode_status begin_body(struct attr_decoder *dec, char **error_r)
{
	/* the record must hold this ':', the body and its ',' */
	if (dec->max_record - dec->record_bytes < 2 ||
	    dec->len > dec->max_record - dec->record_bytes - 2)
		return fail(dec, error_r, "record larger than %zu bytes", dec->max_record);
	dec->got = 0;
	if (!dec->in_value) {
		if (dec->len > ATTR_NAME_MAX)
			return fail(dec, error_r, "attribute name of %zu bytes, longer than %d",
				    dec->len, ATTR_NAME_MAX);
		if (dec->len > 0 && dec->nattrs >= dec->max_attrs)
			return fail(dec, error_r, "record with more than %zu attributes",
				    dec->max_attrs);
		strbuf_reset(&dec->name);
	} else {
		if (dec->len > value_limit(dec->cur))
			return fail(dec, error_r,
				    "attribute %s: value of %zu bytes exceeds the limit of %zu",
				    dec->cur->name, dec->len, value_limit(dec->cur));
		if (dec->cur->type == ATTR_TYPE_INT)
			strbuf_reset(&dec->scratch);
		else
			strbuf_reset(dec->cur->buf);
	}
	dec->state = dec->len > 0 ? ST_BODY : ST_COMMA;
	return ATTR_DECODE_MORE;
}

/* parse_int - the value of a canonical decimal integer in range, into *num. */
static int parse_int(const struct strbuf *text, long long *num)
{
	const char *p = strbuf_str(text);
	const char *digits = p[0] == '-' ? p + 1 : p;
	size_t ndigits = text->len - (size_t)(digits - p);
	size_t i;
	char *end;
	long long val;

	if (ndigits == 0 || (digits[0] == '0' && (ndigits > 1 || digits != p)))
		return -1;
	for (i = 0; i < ndigits; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return -1;
	errno = 0;
	val = strtoll(p, &end, 10);
	if (errno != 0 || end != p + text->len)
		return -1;
	*num = val;
	return 0;
}

/* end_name - after a name's ','. */
static enum attr_decode_status end_name(struct attr_decoder *dec, char **error_r)
{
	const struct attr_recv *spec;

	if (!attr_name_valid(dec->name.data, dec->name.len))
		return fail_quoted(dec, error_r, "invalid attribute name", dec->name.data,
				   dec->name.len);
	if ((spec = find_spec(dec, &dec->name)) == NULL)
		return fail(dec, error_r, "unexpected attribute %s", strbuf_str(&dec->name));
	if (dec->seen[spec - dec->spec])
		return fail(dec, error_r, "duplicate attribute %s", spec->name);
	dec->seen[spec - dec->spec] = true;
	dec->nattrs++;
	dec->cur = spec;
	dec->in_value = true;
	return ATTR_DECODE_MORE;
}

/* end_value - after a value's ',': check and store it. */
static enum attr_decode_status end_value(struct attr_decoder *dec, char **error_r)
{
	const struct attr_recv *spec = dec->cur;

	if (spec->type == ATTR_TYPE_STR && spec->buf->len > 0 &&
	    memchr(spec->buf->data, '\0', spec->buf->len) != NULL)
		return fail(dec, error_r, "attribute %s: string value contains a NUL byte",
			    spec->name);
	if (spec->type == ATTR_TYPE_INT && parse_int(&dec->scratch, spec->num) < 0) {
		struct strbuf what = STRBUF_INIT;
		enum attr_decode_status st;

		strbuf_printf(&what, "attribute %s: not a decimal integer in range:", spec->name);
		st = fail_quoted(dec, error_r, strbuf_str(&what), dec->scratch.data,
				 dec->scratch.len);
		strbuf_free(&what);
		return st;
	}
	dec->cur = NULL;
	dec->in_value = false;
	return ATTR_DECODE_MORE;
}

/* end_record - after the end marker: every required attribute must be there. */
static enum attr_decode_status end_record(struct attr_decoder *dec, char **error_r)
{
	size_t i;

	for (i = 0; i < dec->nspec; i++)
		if (!dec->seen[i] && (dec->spec[i].flags & ATTR_FLAG_OPTIONAL) == 0)
			return fail(dec, error_r, "required attribute %s missing",
				    dec->spec[i].name);
	start_record(dec);
	return ATTR_DECODE_DONE;
}

/* length_char - one byte in ST_LEN. */
static enum attr_decode_status length_char(struct attr_decoder *dec, char c, char **error_r)
{
	if (c == ':') {
		if (dec->digits == 0)
			return fail(dec, error_r, "malformed netstring: no length before ':'");
		return begin_body(dec, error_r);
	}
	if (c < '0' || c > '9')
		return fail_quoted(dec, error_r,
				   "malformed netstring: expected a digit or ':', got", &c, 1);
	if (dec->digits == 1 && dec->len == 0)
		return fail(dec, error_r, "malformed netstring: length with a leading zero");
	if (dec->digits == ATTR_LEN_DIGITS)
		return fail(dec, error_r, "malformed netstring: length of more than %d digits",
			    ATTR_LEN_DIGITS);
	/* where size_t is 32 bits, ten digits could overflow: larger than any record */
	if (dec->record_bytes >= dec->max_record || dec->len > (SIZE_MAX - 9) / 10)
		return fail(dec, error_r, "record larger than %zu bytes", dec->max_record);
	dec->len = dec->len * 10 + (size_t)(c - '0');
	dec->digits++;
	return ATTR_DECODE_MORE;
}

/* body_bytes - store up to len body bytes; returns how many were taken. */
static size_t body_bytes(struct attr_decoder *dec, const char *data, size_t len)
{
	size_t take = dec->len - dec->got < len ? dec->len - dec->got : len;
	struct strbuf *dest;

	if (!dec->in_value)
		dest = &dec->name;
	else if (dec->cur->type == ATTR_TYPE_INT)
		dest = &dec->scratch;
	else
		dest = dec->cur->buf;
	strbuf_append(dest, data, take);
	dec->got += take;
	if (dec->got == dec->len)
		dec->state = ST_COMMA;
	return take;
}

/* comma - the byte in ST_COMMA, which ends a netstring. */
static enum attr_decode_status comma(struct attr_decoder *dec, char c, char **error_r)
{
	enum attr_decode_status st;

	if (c != ',')
		return fail(dec, error_r, "malformed netstring: no ',' after %zu bytes", dec->len);
	if (dec->in_value)
		st = end_value(dec, error_r);
	else if (dec->len == 0)
		return end_record(dec, error_r);
	else
		st = end_name(dec, error_r);
	dec->state = ST_LEN;
	dec->len = dec->digits = 0;
	return st;
}

enum attr_decode_status attr_decoder_feed(struct attr_decoder *dec, const void *data, size_t len,
					  size_t *consumed_r, char **error_r)
{
	const char *p = data;
	enum attr_decode_status st = ATTR_DECODE_MORE;
	size_t i = 0, n;

	*consumed_r = 0;
	if (dec->error != NULL) {
		*error_r = xstrdup(dec->error);
		return ATTR_DECODE_ERROR;
	}
	while (i < len && st == ATTR_DECODE_MORE) {
		switch (dec->state) {
		case ST_LEN:
			st = length_char(dec, p[i], error_r);
			n = 1;
			break;
		case ST_BODY:
			n = body_bytes(dec, p + i, len - i);
			break;
		case ST_COMMA:
		default:
			st = comma(dec, p[i], error_r);
			n = 1;
			break;
		}
		if (st == ATTR_DECODE_ERROR)
			break;
		i += n;
		if (st == ATTR_DECODE_MORE)
			dec->record_bytes += n;
	}
	*consumed_r = i;
	return st;
}
