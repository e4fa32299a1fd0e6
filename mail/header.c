/*
 * header - assemble RFC 5322 header fields from lines (see header.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/header.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

struct header_parser {
	size_t field_limit, count_limit;
	header_field_fn *fn;
	void *ctx;
	struct strbuf field; /* the field being assembled, unfolded */
	size_t name_len;     /* of the field being assembled */
	size_t size;	     /* its bytes as sent */
	size_t lines;	     /* its lines */
	bool in_field;
	size_t count;		   /* fields delivered */
	enum header_status status; /* HEADER_MORE while lines are taken */
};

struct header_parser *header_parser_create(size_t field_limit, size_t count_limit,
					   header_field_fn *fn, void *ctx)
{
	struct header_parser *p = xcalloc(1, sizeof(*p));

	if (field_limit == 0 || count_limit == 0)
		msg_panic("header_parser_create: zero limit");
	p->field_limit = field_limit;
	p->count_limit = count_limit;
	p->fn = fn;
	p->ctx = ctx;
	p->status = HEADER_MORE;
	return p;
}

void header_parser_free(struct header_parser **pp)
{
	struct header_parser *p = *pp;

	if (p == NULL)
		return;
	strbuf_free(&p->field);
	free(p);
	*pp = NULL;
}

size_t header_parser_count(const struct header_parser *p)
{
	return p->count;
}

bool header_parser_in_field(const struct header_parser *p)
{
	return p->in_field;
}

const char *header_parser_partial(const struct header_parser *p, size_t *len_r)
{
	if (!p->in_field)
		return NULL;
	*len_r = p->field.len;
	return p->field.data;
}

size_t header_field_name_len(const char *line, size_t len)
{
	size_t n = 0, i;

	while (n < len && line[n] > ' ' && line[n] < 0x7f && line[n] != ':')
		n++;
	if (n == 0)
		return 0;
	for (i = n; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	return i < len && line[i] == ':' ? n : 0;
}

bool header_name_is(const struct header_field *field, const char *name)
{
	return strlen(name) == field->name_len &&
	       strncasecmp(field->name, name, field->name_len) == 0;
}

/* deliver - hand the field being assembled to the callback. */
static void deliver(struct header_parser *p)
{
	struct header_field f;
	const char *v, *end;

	if (!p->in_field)
		return;
	f.name = p->field.data;
	f.name_len = p->name_len;
	f.raw = p->field.data;
	f.raw_len = p->field.len;
	end = p->field.data + p->field.len;
	v = p->field.data + p->name_len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	v++; /* the colon */
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	f.value = v;
	f.value_len = (size_t)(end - v);
	f.size = p->size;
	f.lines = p->lines;
	p->in_field = false;
	p->count++;
	p->fn(&f, p->ctx);
}

/* stop - the header section is over (or failed): status from now on. */
static enum header_status stop(struct header_parser *p, enum header_status status)
{
	if (status == HEADER_END || status == HEADER_BODY)
		deliver(p);
	p->status = status;
	return status;
}

enum header_status header_parser_line(struct header_parser *p, const char *line, size_t len)
{
	size_t name_len;

	if (p->status != HEADER_MORE)
		msg_panic("header_parser_line: the header section is over");
	if (len == 0)
		return stop(p, HEADER_END);
	if (line[0] == ' ' || line[0] == '\t') {
		if (!p->in_field)
			return stop(p, HEADER_BODY);
		if (len + 2 > p->field_limit - p->size)
			return stop(p, HEADER_TOO_LONG);
		strbuf_append(&p->field, line, len);
		p->size += len + 2;
		p->lines++;
		return HEADER_MORE;
	}
	if ((name_len = header_field_name_len(line, len)) == 0)
		return stop(p, HEADER_BODY);
	deliver(p);
	if (p->count >= p->count_limit)
		return stop(p, HEADER_TOO_MANY);
	if (len + 2 > p->field_limit)
		return stop(p, HEADER_TOO_LONG);
	strbuf_reset(&p->field);
	strbuf_append(&p->field, line, len);
	p->name_len = name_len;
	p->size = len + 2;
	p->lines = 1;
	p->in_field = true;
	return HEADER_MORE;
}

enum header_status header_parser_end(struct header_parser *p)
{
	if (p->status == HEADER_MORE)
		return stop(p, HEADER_END);
	return p->status;
}
